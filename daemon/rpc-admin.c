/* Administration: every client and socket of the daemon, closing them,
 * counters, reloading the policy, and asking the policy on someone else's
 * behalf (policy.check). All of them are action `admin`, decided by the
 * dispatcher from the table's gate before a handler runs. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "authz.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "log.h"
#include "resolver.h"
#include "server.h"
#include "sock.h"
#include "sockopt.h"
#include "util.h"

#define TYPE_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)
/* The largest uid/gid a person can mean: (uid_t)-1 is "no id" to the kernel. */
#define ID_MAX 4294967294LL
/* Addresses of one name policy.check judges (connect_to tries as many). */
#define CHECK_MAX_ADDRS 16
/* Supplementary groups policy.check accepts or reads for a user. */
#define CHECK_MAX_GROUPS 65536

static struct server *srv_of(struct call *call)
{
	return call->conn->srv;
}

/* A decoder's failure inside the member `prefix`: data.param is the whole
 * path ("request.params.family"), or prefix itself for the value as a whole. */
static int nested_param_error(struct call *call, const char *prefix, struct decode_error *e)
{
	decode_error_prefix(e, prefix);
	return call_error_decode(call, e);
}

/* Connections in the order they came (the server's list holds the newest first). */
static int cmp_conn(const void *a, const void *b)
{
	const struct conn *x = *(const struct conn *const *)a, *y = *(const struct conn *const *)b;

	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static struct conn **conns_sorted(struct server *s, size_t *n)
{
	struct conn **v;
	size_t k = 0;

	*n = 0;
	v = calloc(s->nconns ? s->nconns : 1, sizeof(*v));
	if (!v)
		return NULL;
	for (struct conn *c = s->conns; c && k < s->nconns; c = c->next)
		if (!c->dead)
			v[k++] = c;
	qsort(v, k, sizeof(*v), cmp_conn);
	*n = k;
	return v;
}

static struct conn *conn_by_serial(struct server *s, int64_t serial)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (!c->dead && c->serial == (uint64_t)serial)
			return c;
	return NULL;
}

/* ---- admin.clients ---- */

static json_object *client_json(struct server *s, const struct conn *c, const struct conn *self)
{
	json_object *o = json_object_new_object(), *rules;
	size_t total;

	if (!o)
		return NULL;
	json_object_object_add(o, "connection", json_object_new_uint64(c->serial));
	authz_identity_json(o, &c->id);
	json_object_object_add(o, "handles", json_object_new_uint64(c->nsocks));
	json_object_object_add(o, "pending", json_object_new_uint64(c->pending));
	json_object_object_add(o, "requests", json_object_new_uint64(c->requests));
	json_object_object_add(o, "connected", json_seconds(c->connected));
	json_object_object_add(o, "self", json_object_new_boolean(c == self));
	rules = authz_rules_json(s, c, SIZE_MAX, &total);
	if (!rules) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "rules", rules);
	return o;
}

static int rpc_admin_clients(struct call *call, void *params)
{
	struct server *s = srv_of(call);
	json_object *r = call_result(call), *arr = json_object_new_array();
	struct conn **v;
	size_t n;

	if (!r || !arr || !(v = conns_sorted(s, &n))) {
		json_object_put(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = client_json(s, v[i], call->conn);
		if (!o) {
			free(v);
			json_object_put(arr);
			return -ENOMEM;
		}
		json_object_array_add(arr, o);
	}
	free(v);
	json_object_object_add(r, "clients", arr);
	return 0;
}

/* ---- admin.sockets ---- */

static int cmp_sock(const void *a, const void *b)
{
	const struct sock *x = *(const struct sock *const *)a, *y = *(const struct sock *const *)b;

	return x->handle < y->handle ? -1 : x->handle > y->handle;
}

static int rpc_admin_sockets(struct call *call, void *params)
{
	struct server *s = srv_of(call);
	json_object *r = call_result(call), *arr = json_object_new_array();
	struct sock **v;
	size_t n = 0;

	v = calloc(s->nsocks ? s->nsocks : 1, sizeof(*v));
	if (!r || !arr || !v) {
		free(v);
		json_object_put(arr);
		return -ENOMEM;
	}
	for (struct conn *c = s->conns; c; c = c->next)
		for (struct sock *sk = c->dead ? NULL : c->socks; sk && n < s->nsocks; sk = sk->conn_next)
			v[n++] = sk;
	qsort(v, n, sizeof(*v), cmp_sock);
	for (size_t i = 0; i < n; i++) {
		json_object *o = sock_info(v[i]);
		if (!o) {
			free(v);
			json_object_put(arr);
			return -ENOMEM;
		}
		json_object_object_add(o, "connection", json_object_new_uint64(v[i]->owner->serial));
		json_object_object_add(o, "uid", json_object_new_int64(v[i]->owner->id.uid));
		json_object_array_add(arr, o);
	}
	free(v);
	json_object_object_add(r, "sockets", arr);
	return 0;
}

/* ---- admin.close_client, admin.close_socket ---- */

struct p_connection {
	int64_t connection;
};

static const struct param_desc close_client_params[] = {
	{ "connection", PT_INT, offsetof(struct p_connection, connection), PF_REQUIRED, 1, INT64_MAX,
	  .doc = "the client's connection number (admin.clients)" },
	{ 0 }
};

static int rpc_admin_close_client(struct call *call, void *params)
{
	struct p_connection *p = params;
	struct server *s = srv_of(call);
	struct conn *c = conn_by_serial(s, p->connection);

	if (!c)
		return call_error_param(call, "connection", "no client on connection %lld (see admin.clients)",
		                        (long long)p->connection);
	/* Tearing down the connection this call answers on would leave the call
	 * nowhere to go; a client ends its own connection by closing it. */
	if (c == call->conn)
		return call_error_param(call, "connection",
		                        "connection %lld is the caller's own: close the control socket to end it",
		                        (long long)p->connection);
	log_notice("client %llu (uid %u pid %d) closed by an administrator (client %llu, uid %u)",
	           (unsigned long long)c->serial, (unsigned)c->id.uid, (int)c->id.pid,
	           (unsigned long long)call->conn->serial, (unsigned)call->conn->id.uid);
	conn_close(c, "closed by an administrator (admin.close_client)");
	return call_result(call) ? 0 : -ENOMEM;
}

struct p_handle {
	int64_t handle;
};

static const struct param_desc close_socket_params[] = {
	{ "handle", PT_INT, offsetof(struct p_handle, handle), PF_REQUIRED, 1, INT64_MAX,
	  .doc = "the socket's handle, of any connection (admin.sockets)" },
	{ 0 }
};

static int rpc_admin_close_socket(struct call *call, void *params)
{
	struct p_handle *p = params;
	struct sock *found = sock_find(srv_of(call), p->handle);
	json_object *d;

	if (!found) {
		d = json_object_new_object();
		json_object_object_add(d, "handle", json_object_new_int64(p->handle));
		return call_error(call, SB_ERR_NO_HANDLE, d, "no socket with handle %lld (closed, or never made)",
		                  (long long)p->handle);
	}
	log_notice("socket %llu of client %llu (uid %u) closed by an administrator (client %llu, uid %u)",
	           (unsigned long long)found->handle, (unsigned long long)found->owner->serial,
	           (unsigned)found->owner->id.uid, (unsigned long long)call->conn->serial,
	           (unsigned)call->conn->id.uid);
	/* Its owner's waiting operations fail with EBADF, as with socket.close. */
	sock_close(found);
	return call_result(call) ? 0 : -ENOMEM;
}

/* ---- admin.stats ---- */

static json_object *policy_summary(const struct authz *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "source", json_object_new_string(a->source ? a->source : ""));
	json_object_object_add(o, "rules", json_object_new_uint64(policy_nrules(a->policy)));
	json_object_object_add(o, "generation", json_object_new_uint64(a->generation));
	return o;
}

static json_object *counts_json(const char *rule, uint64_t allowed, uint64_t denied)
{
	json_object *o = json_object_new_object();

	if (rule)
		json_object_object_add(o, "rule", json_object_new_string(rule));
	json_object_object_add(o, "allowed", json_object_new_uint64(allowed));
	json_object_object_add(o, "denied", json_object_new_uint64(denied));
	return o;
}

static int rpc_admin_stats(struct call *call, void *params)
{
	struct server *s = srv_of(call);
	const struct server_stats *st = &s->stats;
	const struct authz *a = &s->authz;
	json_object *r = call_result(call), *srv = json_object_new_object(), *pol, *rules = json_object_new_array();

	if (!r || !srv || !rules) {
		json_object_put(srv);
		json_object_put(rules);
		return -ENOMEM;
	}
	json_object_object_add(srv, "uptime", json_seconds(server_uptime(s)));
	json_object_object_add(srv, "connections", json_object_new_uint64(s->nconns));
	json_object_object_add(srv, "sockets", json_object_new_uint64(s->nsocks));
	json_object_object_add(srv, "connections_accepted", json_object_new_uint64(st->connections_accepted));
	json_object_object_add(srv, "connections_refused", json_object_new_uint64(st->connections_refused));
	json_object_object_add(srv, "requests", json_object_new_uint64(st->requests));
	json_object_object_add(srv, "errors", json_object_new_uint64(st->errors));
	json_object_object_add(srv, "slow_disconnects", json_object_new_uint64(st->slow_disconnects));
	json_object_object_add(srv, "oversize_messages", json_object_new_uint64(st->oversize_messages));
	json_object_object_add(srv, "accept_pauses", json_object_new_uint64(st->accept_pauses));
	json_object_object_add(srv, "loop_events", json_object_new_uint64(loop_event_count(s->loop)));
	json_object_object_add(srv, "resolver_pending", json_object_new_uint64(resolver_pending(s->resolver)));
	json_object_object_add(r, "server", srv);
	pol = policy_summary(a);
	json_object_object_add(pol, "default", json_object_new_boolean(policy_is_default(a->policy)));
	json_object_object_add(pol, "reloads", json_object_new_uint64(a->reloads));
	json_object_object_add(pol, "reload_failures", json_object_new_uint64(a->reload_failures));
	json_object_object_add(pol, "audit_log", json_string_or_null(s->cfg.audit_log_path));
	json_object_object_add(pol, "audit_failure", json_object_new_string(s->cfg.audit_failure_allow ? "allow" : "refuse"));
	json_object_object_add(pol, "audit_failures", json_object_new_uint64(a->audit_failures));
	json_object_object_add(pol, "audit_refused", json_object_new_uint64(a->audit_refused));
	json_object_object_add(r, "policy", pol);
	for (size_t i = 1; i < a->ncounters; i++) {
		json_object_array_add(rules, counts_json(a->counters[i].rule, a->counters[i].allowed,
		                                         a->counters[i].denied));
	}
	json_object_object_add(r, "rules", rules);
	json_object_object_add(r, "unmatched", a->ncounters ? counts_json(NULL, a->counters[0].allowed,
	                                                                          a->counters[0].denied)
	                                                    : counts_json(NULL, 0, 0));
	return 0;
}

/* ---- daemon.reload ---- */

static int rpc_daemon_reload(struct call *call, void *params)
{
	struct server *s = srv_of(call);
	struct policy_error err;
	json_object *d;
	int r;

	r = authz_reload(s, &err);
	if (r < 0) {
		const char *name = sbc_errno_name(-r);
		d = json_object_new_object();
		json_object_object_add(d, "errno", json_object_new_int(-r));
		json_object_object_add(d, "name", name ? json_object_new_string(name) : json_object_new_int(-r));
		json_object_object_add(d, "file", json_object_new_string(err.file));
		json_object_object_add(d, "line", json_object_new_int(err.line));
		json_object_object_add(d, "column", json_object_new_int(err.column));
		json_object_object_add(d, "where", json_object_new_string(err.at.path));
		json_object_object_add(d, "reason", json_object_new_string(err.text));
		return call_error(call, SB_ERR_OS, d, "policy reload failed, the old policy stays: %s", err.text);
	}
	json_object_put(call->result);
	call->result = policy_summary(&s->authz);
	return call->result ? 0 : -ENOMEM;
}

/* ---- policy.check ----
 *
 * Reads the request the way its method would (with the socket described by
 * family/type/proto in place of a handle), builds the policy requests the
 * daemon would ask at its check points, resolves a host name off the loop as
 * the method would, and decides each without auditing or counting. */

/* The subject policy.check judges, with what it owns. */
struct check_subject {
	struct policy_subject who;
	gid_t *groups;
	char *user;                 /* the user database's name, when known */
};

struct check_step {
	struct policy_request q;
	bool from_name;             /* the address comes from resolving check->host */
	bool any;                   /* connect_to's candidates: one allowed suffices */
	bool each_family;           /* once per family among the resolved addresses */
	bool has_path;              /* an AF_UNIX address: q.path is path (set at decision time) */
	char path[2 * sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct check {
	struct resolve_job job;     /* first: the resolver hands this back */
	struct call *call;
	const struct rpc_method *target;   /* the method judged */
	struct check_subject subj;
	struct check_step *steps;
	size_t nsteps, capsteps;
	const char *note;           /* why a request with no check is decided as it is */
	/* A host name to resolve: the first answer for the socket's family (every
	 * method but connect_to), or every address (connect_to, `all`). */
	char *host;
	bool all;
	struct sbaddr tmpl;         /* family, port, flowinfo, scope of the first-answer form */
	char port[8];
	struct sbaddr addrs[CHECK_MAX_ADDRS];
	size_t naddrs;
	int gai, err;
};

static void check_free(struct check *ck)
{
	if (!ck)
		return;
	free(ck->subj.groups);
	free(ck->subj.user);
	free(ck->steps);
	free(ck->host);
	free(ck);
}

static struct check_step *add_step(struct check *ck, enum policy_action a, int family, int type, int proto)
{
	struct check_step *st;

	if (ck->nsteps == ck->capsteps) {
		size_t n = ck->capsteps ? ck->capsteps * 2 : 4;
		struct check_step *v = realloc(ck->steps, n * sizeof(*v));
		if (!v)
			return NULL;
		ck->steps = v;
		ck->capsteps = n;
	}
	st = &ck->steps[ck->nsteps++];
	memset(st, 0, sizeof(*st));
	st->q = (struct policy_request){ .action = a, .family = family, .type = type < 0 ? -1 : type & ~TYPE_FLAGS,
	                                 .proto = proto, .level = -1, .option = -1 };
	return st;
}

/* 0, or -EINVAL for an AF_UNIX address the methods refuse (sbaddr_unix_name). */
static int step_set_addr(struct check_step *st, const struct sbaddr *a)
{
	st->q.have_addr = true;
	memcpy(&st->q.addr, &a->ss, sizeof(st->q.addr));
	if (a->ss.ss_family != AF_UNIX)
		return 0;
	st->has_path = true;
	return sbaddr_unix_name(a, st->path, sizeof(st->path));
}

/* A descriptor handed to the client needs an explicit create grant, as the
 * methods ask it (gate_hand_out in rpc-socket.c). */
static struct check_step *add_hand_out(struct check *ck, int family, int type, int proto)
{
	struct check_step *st = add_step(ck, POLICY_CREATE, family, type, proto);

	if (st)
		st->q.explicit_create = true;
	return st;
}

/* -- who: `as` -- */

struct p_as {
	int64_t uid, gid;
	const char *user, *group, *exe, *unit, *cgroup, *label;
	struct param_list groups;   /* of gid_t */
};

/* Converter of one of as.groups: a numeric id or a name of the group
 * database (gid_t). */
static int conv_gid(const struct param_desc *d, json_object *v, void *field, const void *base,
                    const struct param_ctx *ctx, struct decode_error *err)
{
	int r;

	(void)d, (void)base, (void)ctx;
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x < 0 || x > ID_MAX)
			return decode_fail(err, -EINVAL, NULL, "a gid must be in 0-%lld", ID_MAX);
		*(gid_t *)field = (gid_t)x;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return decode_fail(err, -EINVAL, NULL, "a group must be a gid or a group name");
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return decode_fail(err, -EINVAL, NULL, "a group name must not contain a NUL byte");
	r = policy_lookup_group(json_object_get_string(v), field);
	if (r == -ENOENT)
		return decode_fail(err, -EINVAL, NULL, "no group named '%.100s' in the group database",
		                   json_object_get_string(v));
	return r;
}

static void schema_gid(const struct param_desc *d, json_object *s)
{
	json_object *t = json_object_new_array();

	(void)d;
	json_object_array_add(t, json_object_new_string("integer"));
	json_object_array_add(t, json_object_new_string("string"));
	json_object_object_add(s, "type", t);
}

static const struct param_converter conv_group = {
	.name = "gid or group name", .decode = conv_gid, .schema = schema_gid,
};

static const struct param_desc group_item = { "groups", &conv_group, 0, 0 };

static const struct param_desc as_params[] = {
	{ "uid", PT_INT, offsetof(struct p_as, uid), 0, 0, ID_MAX, -1, .doc = "the caller's uid (or user)" },
	{ "user", PT_STRING, offsetof(struct p_as, user), 0, .doc = "the caller's user name (or uid)" },
	{ "gid", PT_INT, offsetof(struct p_as, gid), 0, 0, ID_MAX, -1,
	  .doc = "primary gid (default: the user's, from the user database)" },
	{ "group", PT_STRING, offsetof(struct p_as, group), 0, .doc = "primary group by name (or gid)" },
	{ "groups", PT_LIST, offsetof(struct p_as, groups), 0, .max = CHECK_MAX_GROUPS, .fields = &group_item,
	  .size = sizeof(gid_t), .doc = "supplementary groups, numbers or names (default: the user's, from the group database)" },
	{ "exe", PT_STRING, offsetof(struct p_as, exe), 0, .doc = "the executable's path" },
	{ "unit", PT_STRING, offsetof(struct p_as, unit), 0, .doc = "the systemd unit" },
	{ "cgroup", PT_STRING, offsetof(struct p_as, cgroup), 0, .doc = "the cgroup path" },
	{ "label", PT_STRING, offsetof(struct p_as, label), 0, .doc = "the LSM label" },
	{ 0 }
};

/* Fills the subject from `as`. Names are looked up in the user and group
 * databases here, on the loop: for the local files that is a read of
 * /etc/passwd and /etc/group, and policy.check is an administrator's tool,
 * not a path clients take. 0, or call_error()'s value / -errno. */
static int subject_parse(struct call *call, const struct p_as *as, struct check_subject *out)
{
	const struct p_as p = *as;
	struct passwd pw;
	_cleanup_free_ char *pwbuf = NULL;
	bool have_pw = false;
	int r;

	memset(out, 0, sizeof(*out));
	if (p.user && p.uid >= 0)
		return call_error_param(call, "as.user", "as: give uid or user, not both");
	if (!p.user && p.uid < 0)
		return call_error_param(call, "as", "as needs uid or user");
	if (p.group && p.gid >= 0)
		return call_error_param(call, "as.group", "as: give gid or group, not both");
	if (p.user) {
		r = policy_lookup_user(p.user, 0, &pw, &pwbuf);
		if (r == -ENOENT)
			return call_error_param(call, "as.user", "as.user: no user named '%.100s' in the user database", p.user);
		if (r < 0)
			return r;
		have_pw = true;
	} else {
		r = policy_lookup_user(NULL, (uid_t)p.uid, &pw, &pwbuf);
		if (r < 0 && r != -ENOENT)
			return r;
		have_pw = r == 0;
	}
	out->who.uid = have_pw ? pw.pw_uid : (uid_t)p.uid;
	if (p.group) {
		gid_t g;
		r = policy_lookup_group(p.group, &g);
		if (r == -ENOENT)
			return call_error_param(call, "as.group", "as.group: no group named '%.100s' in the group database",
			                        p.group);
		if (r < 0)
			return r;
		out->who.gid = g;
	} else if (p.gid >= 0) {
		out->who.gid = (gid_t)p.gid;
	} else {
		/* A uid the user database does not know: its user-private group. */
		out->who.gid = have_pw ? pw.pw_gid : (gid_t)out->who.uid;
	}
	if (p.groups.items) {
		out->groups = calloc(p.groups.n ? p.groups.n : 1, sizeof(gid_t));
		if (!out->groups)
			return -ENOMEM;
		memcpy(out->groups, p.groups.items, p.groups.n * sizeof(gid_t));
		out->who.ngroups = p.groups.n;
	} else if (have_pw) {
		/* As a login session would have them (initgroups). */
		int n = 64;
		for (;;) {
			gid_t *g = realloc(out->groups, (size_t)n * sizeof(gid_t));
			int got = n;
			if (!g)
				return -ENOMEM;
			out->groups = g;
			if (getgrouplist(pw.pw_name, out->who.gid, g, &got) >= 0) {
				out->who.ngroups = (size_t)got;
				break;
			}
			if (got <= n || got > CHECK_MAX_GROUPS)
				break;   /* no answer: no supplementary groups */
			n = got;
		}
	}
	out->who.groups = out->groups;
	/* Strings stay in the request, which the call holds until it ends. */
	out->who.exe = p.exe;
	out->who.unit = p.unit;
	out->who.cgroup = p.cgroup;
	out->who.label = p.label;
	if (have_pw && !(out->user = strdup(pw.pw_name)))
		return -ENOMEM;
	return 0;
}

static json_object *subject_json(const struct check_subject *s)
{
	json_object *o = json_object_new_object(), *g = json_object_new_array();

	json_object_object_add(o, "uid", json_object_new_int64(s->who.uid));
	if (s->user)
		json_object_object_add(o, "user", json_object_new_string(s->user));
	json_object_object_add(o, "gid", json_object_new_int64(s->who.gid));
	for (size_t i = 0; i < s->who.ngroups; i++)
		json_object_array_add(g, json_object_new_int64(s->who.groups[i]));
	json_object_object_add(o, "groups", g);
	if (s->who.exe)
		json_object_object_add(o, "exe", json_object_new_string(s->who.exe));
	if (s->who.unit)
		json_object_object_add(o, "unit", json_object_new_string(s->who.unit));
	if (s->who.cgroup)
		json_object_object_add(o, "cgroup", json_object_new_string(s->who.cgroup));
	if (s->who.label)
		json_object_object_add(o, "label", json_object_new_string(s->who.label));
	return o;
}

/* -- what: `request` -- */

/* How policy.check reads a request of a method the handler gates itself
 * (RPC_GATE_HANDLER); the other gates need only the method. */
enum judge {
	J_GATE,
	J_CREATE,           /* create(family, type, proto) of its own params */
	J_ADOPT,            /* adopt(family, type, proto) */
	J_BIND,
	J_LISTEN,           /* listen on the socket's bound address ("address", default any:0) */
	J_CONNECT,
	J_SENDTO,
	J_SENDMSG,
	J_SETSOCKOPT,
	J_LISTEN_ON,
	J_CONNECT_TO,
	J_ACCEPT,           /* a hand-out when "pass" */
	J_HAND_OUT,         /* socket.fd, socket.detach: the descriptor leaves */
	J_RESOLVE_HOST,     /* net.getaddrinfo: "host", a string or null */
	J_RESOLVE_HOSTNAME, /* "hostname" */
	J_RESOLVE_FQDN,     /* "name"; empty means this host */
};

static const struct {
	const char *method;
	enum judge j;
} judges[] = {
	{ "socket.create", J_CREATE },
	{ "socket.pair", J_CREATE },
	{ "socket.adopt", J_ADOPT },
	{ "socket.bind", J_BIND },
	{ "socket.listen", J_LISTEN },
	{ "socket.connect", J_CONNECT },
	{ "socket.connect_ex", J_CONNECT },
	{ "socket.sendto", J_SENDTO },
	{ "socket.sendmsg", J_SENDMSG },
	{ "socket.setsockopt", J_SETSOCKOPT },
	{ "socket.listen_on", J_LISTEN_ON },
	{ "socket.connect_to", J_CONNECT_TO },
	{ "socket.accept", J_ACCEPT },
	{ "socket.fd", J_HAND_OUT },
	{ "socket.detach", J_HAND_OUT },
	{ "net.getaddrinfo", J_RESOLVE_HOST },
	{ "net.gethostbyname", J_RESOLVE_HOSTNAME },
	{ "net.gethostbyname_ex", J_RESOLVE_HOSTNAME },
	{ "net.getfqdn", J_RESOLVE_FQDN },
};

/* What policy.check adds to a method's params in place of its handle. */
struct p_kind {
	int family, type, proto;
	json_object *address;       /* socket.listen: the bound address */
};

static const struct param_desc kind_params[] = {
	{ "family", PT_CONST, offsetof(struct p_kind, family), 0, .def = AF_INET, .kind = SBC_AF,
	  .doc = "the socket's family (default AF_INET)" },
	{ "type", PT_CONST, offsetof(struct p_kind, type), 0, .def = SOCK_STREAM, .kind = SBC_SOCK,
	  .doc = "the socket's type (default SOCK_STREAM)" },
	{ "proto", PT_CONST, offsetof(struct p_kind, proto), 0, .def = 0, .kind = SBC_IPPROTO,
	  .doc = "the socket's protocol (default 0)" },
};

static const struct param_desc listen_address_param = {
	"address", PT_ANY, offsetof(struct p_kind, address), 0, .doc = "the address the socket is bound to"
};

/* The method's params as policy.check reads them: its own parameter table
 * (the same checks, the same defaults), except that a "handle" becomes the
 * socket's family/type/proto and only what the decision needs stays required. */
struct req_view {
	struct param_desc *descs;   /* terminated; NULL when the method has none */
	char *buf;                  /* the method's params struct, then struct p_kind */
	size_t kind_off;
	bool kind;                  /* family/type/proto were read */
};

static void view_free(struct req_view *v)
{
	if (v->descs && v->buf)
		params_free(v->descs, v->buf);
	free(v->descs);
	free(v->buf);
}

static bool keep_required(const char *name)
{
	return !strcmp(name, "address") || !strcmp(name, "level") || !strcmp(name, "option");
}

static int view_build(const struct rpc_method *m, enum judge j, struct req_view *v)
{
	size_t n = 0, k = 0;
	bool handle = false;

	memset(v, 0, sizeof(*v));
	for (const struct param_desc *d = m->params; d && d->name; d++, n++)
		if (!strcmp(d->name, "handle"))
			handle = true;
	v->kind = handle || j == J_ADOPT;
	v->kind_off = (m->params_size + 15) & ~(size_t)15;
	v->descs = calloc(n + ARRAY_SIZE(kind_params) + 2, sizeof(*v->descs));
	v->buf = calloc(1, v->kind_off + sizeof(struct p_kind));
	if (!v->descs || !v->buf)
		return -ENOMEM;
	for (const struct param_desc *d = m->params; d && d->name; d++) {
		if (v->kind && !strcmp(d->name, "handle"))
			continue;
		v->descs[k] = *d;
		if (v->kind && !keep_required(d->name))
			v->descs[k].flags &= ~(unsigned)PF_REQUIRED;
		k++;
	}
	if (v->kind) {
		for (size_t i = 0; i < ARRAY_SIZE(kind_params); i++) {
			v->descs[k] = kind_params[i];
			v->descs[k++].offset += v->kind_off;
		}
		if (j == J_LISTEN) {
			v->descs[k] = listen_address_param;
			v->descs[k++].offset += v->kind_off;
		}
	}
	return 0;
}

static const struct param_desc *view_desc(const struct req_view *v, const char *name)
{
	for (const struct param_desc *d = v->descs; d && d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static json_object *view_json(const struct req_view *v, const char *name)
{
	const struct param_desc *d = view_desc(v, name);

	return d ? *(json_object **)(v->buf + d->offset) : NULL;
}

static int view_int(const struct req_view *v, const char *name, int dflt)
{
	const struct param_desc *d = view_desc(v, name);

	return d && (d->conv == PT_CONST || d->conv == PT_FLAGS) ? *(int *)(v->buf + d->offset) : dflt;
}

static const char *view_str(const struct req_view *v, const char *name)
{
	const struct param_desc *d = view_desc(v, name);

	return d && d->conv == PT_STRING ? *(const char **)(v->buf + d->offset) : NULL;
}

static bool view_bool(const struct req_view *v, const char *name)
{
	const struct param_desc *d = view_desc(v, name);

	return d && d->conv == PT_BOOL ? *(bool *)(v->buf + d->offset) : false;
}

static const struct p_kind *view_kind(const struct req_view *v)
{
	return (const struct p_kind *)(v->buf + v->kind_off);
}

/* Decodes the address in member `member` for family as the method would: 0
 * (a literal in *a), 1 (a name: the check resolves it, first answer), or an
 * error value. name_ok false: a name is malformed there. */
static int check_address(struct call *call, struct check *ck, const char *member, int family, json_object *j,
                         bool name_ok, struct sbaddr *a)
{
	struct decode_error err;
	char path[64], *host = NULL;
	int r;

	snprintf(path, sizeof(path), "request.params.%s", member);
	r = sbaddr_decode(family, j, a, name_ok ? &host : NULL, &err);
	if (r == 0)
		return 0;
	if (r == SBADDR_NEEDS_RESOLVE) {
		free(ck->host);
		ck->host = host;
		ck->tmpl = *a;
		return 1;
	}
	if (r == -ENODEV || r == -ENAMETOOLONG || r == -EAFNOSUPPORT || r == -EINVAL) {
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "%s", name_ok ? "malformed for this family" : "must be a numeric address");
		decode_error_prefix(&err, path);
		return call_error_decode(call, &err);
	}
	return r;
}

/* The option number of setsockopt's "option", as the method reads it. */
static int check_option(struct call *call, int level, json_object *j, int *option)
{
	if (sockopt_option_from_json(level, j, option) == 0)
		return 0;
	return call_error_param(call, "request.params.option",
	                        "request.params.option: '%.60s' is not an option name of this level",
	                        json_object_get_string(j));
}

/* The steps of a request that carries a socket address in `member` (bind,
 * connect, sendto, sendmsg): one check, whose address may come from a name. */
static int plan_addressed(struct call *call, struct check *ck, enum policy_action a, const struct p_kind *k,
                          const char *member, json_object *j)
{
	struct sbaddr addr;
	struct check_step *st;
	int r = check_address(call, ck, member, k->family, j, true, &addr);

	if (r < 0)
		return r;
	st = add_step(ck, a, k->family, k->type, k->proto);
	if (!st)
		return -ENOMEM;
	if (r == 1)
		st->from_name = true;
	else if (step_set_addr(st, &addr) < 0)
		return call_error_param(call, member, "%s: a UNIX path through the daemon must be absolute and canonical, "
		                                      "an abstract name printable", member);
	return 0;
}

static int plan_sendmsg(struct call *call, struct check *ck, const struct req_view *v)
{
	const struct p_kind *k = view_kind(v);
	json_object *addr = view_json(v, "address"), *anc = view_json(v, "ancdata");
	unsigned char *cbuf = NULL;
	size_t clen = 0;
	char err[200] = "";
	int r;

	if (addr && (r = plan_addressed(call, ck, POLICY_CONNECT, k, "address", addr)))
		return r;
	r = ancdata_encode(anc, NULL, 0, &cbuf, &clen, err, sizeof(err));
	if (r == -EINVAL || r == -E2BIG)
		return call_error_param(call, "request.params.ancdata", "request.params.ancdata: %s", err);
	if (r < 0)
		return r;
	/* As the method: control messages the kernel reserves to privilege are
	 * the setsockopt action of the same level and type. */
	struct msghdr mh = { .msg_control = cbuf, .msg_controllen = clen };
	for (struct cmsghdr *cm = clen ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm)) {
		struct check_step *st;
		if (!cmsg_privileged(k->family, k->type, k->proto, cm))
			continue;
		st = add_step(ck, POLICY_SETSOCKOPT, k->family, k->type, k->proto);
		if (!st) {
			free(cbuf);
			return -ENOMEM;
		}
		st->q.level = cm->cmsg_level;
		st->q.option = cm->cmsg_type;
	}
	free(cbuf);
	if (!ck->nsteps && !ck->host)
		ck->note = "without a destination or ancillary data the kernel reserves to privilege, the policy "
		           "does not govern it";
	return 0;
}

/* socket.listen_on: bind and listen on the address (the family from the
 * params, else from the address, as the method picks it). */
static int plan_listen_on(struct call *call, struct check *ck, const struct req_view *v)
{
	json_object *addr = view_json(v, "address");
	int family = view_int(v, "family", AF_UNSPEC), r;
	bool dual = view_bool(v, "dualstack_ipv6");
	struct sbaddr a;
	struct check_step *b, *l;

	if (family == AF_UNSPEC) {
		family = sbaddr_guess_family(addr);
		if (family == AF_UNSPEC)
			family = dual ? AF_INET6 : AF_INET;
	}
	if (dual && family != AF_INET6)
		return call_error_param(call, "request.params.dualstack_ipv6",
		                        "request.params.dualstack_ipv6: dualstack_ipv6 needs an AF_INET6 address");
	r = check_address(call, ck, "address", family, addr, true, &a);
	if (r < 0)
		return r;
	b = add_step(ck, POLICY_BIND, family, SOCK_STREAM, 0);
	l = b ? add_step(ck, POLICY_LISTEN, family, SOCK_STREAM, 0) : NULL;
	if (!l)
		return -ENOMEM;
	b = &ck->steps[ck->nsteps - 2];
	b->from_name = l->from_name = r == 1;
	if (r == 0 && (step_set_addr(b, &a) < 0 || step_set_addr(l, &a) < 0))
		return call_error_param(call, "request.params.address",
		                        "request.params.address: a UNIX path through the daemon must be absolute and "
		                        "canonical, an abstract name printable");
	if (view_bool(v, "pass") && !add_hand_out(ck, family, SOCK_STREAM, 0))
		return -ENOMEM;
	return 0;
}

/* socket.connect_to: the source bind, then a connect per address the name
 * resolves to (SOCK_STREAM), of which one allowed suffices, as the method
 * skips denied addresses. */
static int plan_connect_to(struct call *call, struct check *ck, const struct req_view *v)
{
	json_object *addr = view_json(v, "address"), *src = view_json(v, "source_address"), *jh = NULL, *jp = NULL;
	struct check_step *st;
	struct sbaddr a;
	int64_t port;
	int fam, r;

	if (src) {
		fam = sbaddr_guess_family(src);
		if (fam != AF_INET && fam != AF_INET6)
			return call_error_param(call, "request.params.source_address",
			                        "request.params.source_address must be a numeric [host, port]");
		r = check_address(call, ck, "source_address", fam, src, false, &a);
		if (r)
			return r;
		st = add_step(ck, POLICY_BIND, fam, SOCK_STREAM, 0);
		if (!st)
			return -ENOMEM;
		step_set_addr(st, &a);
	}
	fam = sbaddr_guess_family(addr);
	if (fam == AF_INET || fam == AF_INET6) {
		r = check_address(call, ck, "address", fam, addr, false, &a);
		if (r)
			return r;
		st = add_step(ck, POLICY_CONNECT, fam, SOCK_STREAM, 0);
		if (!st)
			return -ENOMEM;
		step_set_addr(st, &a);
		if (view_bool(v, "pass") && !add_hand_out(ck, fam, SOCK_STREAM, 0))
			return -ENOMEM;
		return 0;
	}
	if (json_object_is_type(addr, json_type_array) && json_object_array_length(addr) == 2) {
		jh = json_object_array_get_idx(addr, 0);
		jp = json_object_array_get_idx(addr, 1);
	} else if (json_object_is_type(addr, json_type_object)) {
		json_object_object_get_ex(addr, "host", &jh);
		json_object_object_get_ex(addr, "port", &jp);
	}
	if (!jh || !json_object_is_type(jh, json_type_string) || !jp || !json_object_is_type(jp, json_type_int) ||
	    (port = json_object_get_int64(jp)) < 0 || port > 65535 || json_object_get_string_len(jh) == 0 ||
	    json_object_get_string_len(jh) > 1024)
		return call_error_param(call, "request.params.address",
		                        "request.params.address must be [host, port] with a host name or literal and a port 0-65535");
	/* The resolver takes a C string: "localhost\u0000x" would be judged as localhost. */
	if (strlen(json_object_get_string(jh)) != (size_t)json_object_get_string_len(jh))
		return call_error_param(call, "request.params.address",
		                        "request.params.address: the host must not contain a NUL byte");
	ck->host = strdup(json_object_get_string(jh));
	if (!ck->host)
		return -ENOMEM;
	ck->all = true;
	snprintf(ck->port, sizeof(ck->port), "%d", (int)port);
	st = add_step(ck, POLICY_CONNECT, AF_UNSPEC, SOCK_STREAM, 0);
	if (!st)
		return -ENOMEM;
	st->from_name = true;
	st->any = true;
	if (view_bool(v, "pass")) {
		/* The families of the addresses it may try must be ones it may hold. */
		st = add_hand_out(ck, AF_UNSPEC, SOCK_STREAM, 0);
		if (!st)
			return -ENOMEM;
		st->each_family = true;
	}
	return 0;
}

static int plan_handler(struct call *call, struct check *ck, enum judge j, const struct req_view *v)
{
	const struct p_kind *k = view_kind(v);
	struct check_step *st;
	const char *name;
	int r, option = 0;

	switch (j) {
	case J_CREATE:
		st = add_step(ck, POLICY_CREATE, view_int(v, "family", AF_INET), view_int(v, "type", SOCK_STREAM),
		              view_int(v, "proto", 0));
		if (st)
			st->q.explicit_create = view_bool(v, "pass");
		return st ? 0 : -ENOMEM;
	case J_ACCEPT:
	case J_HAND_OUT:
		return add_hand_out(ck, k->family, k->type, k->proto) ? 0 : -ENOMEM;
	case J_ADOPT:
		return add_step(ck, POLICY_ADOPT, k->family, k->type, k->proto) ? 0 : -ENOMEM;
	case J_BIND:
		return plan_addressed(call, ck, POLICY_BIND, k, "address", view_json(v, "address"));
	case J_CONNECT:
	case J_SENDTO:
		return plan_addressed(call, ck, POLICY_CONNECT, k, "address", view_json(v, "address"));
	case J_LISTEN: {
		struct sbaddr a;
		memset(&a, 0, sizeof(a));
		st = add_step(ck, POLICY_LISTEN, k->family, k->type, k->proto);
		if (!st)
			return -ENOMEM;
		if (k->address) {
			r = check_address(call, ck, "address", k->family, k->address, false, &a);
			if (r)
				return r;
			if (step_set_addr(&ck->steps[ck->nsteps - 1], &a) < 0)
				return call_error_param(call, "request.params.address",
				                        "request.params.address: a UNIX path through the daemon must be "
				                        "absolute and canonical, an abstract name printable");
		} else if (k->family == AF_INET || k->family == AF_INET6) {
			/* An unbound socket listens where the kernel puts it: any address, a port it picks. */
			a.ss.ss_family = (sa_family_t)k->family;
			step_set_addr(st, &a);
		}
		return 0;
	}
	case J_SENDMSG:
		return plan_sendmsg(call, ck, v);
	case J_SETSOCKOPT: {
		int level = view_int(v, "level", 0);
		json_object *value = view_json(v, "value");
		unsigned char buf[SOCKOPT_MAX_LEN];
		socklen_t len = 0;
		char err[200] = "";
		r = check_option(call, level, view_json(v, "option"), &option);
		if (r)
			return r;
		if (!sockopt_value_privileged(k->family, k->type, k->proto, level, option, NULL, 0)) {
			ck->note = "this option is not one the kernel reserves to privilege on such a socket: the policy does not "
			           "govern it";
			return 0;
		}
		/* Without a value, judged as one that needs the privilege. */
		if (value) {
			r = sockopt_encode(level, option, value, buf, &len, err, sizeof(err));
			if (r == -EINVAL)
				return call_error_param(call, "request.params.value", "request.params.value: %s", err);
			if (r < 0)
				return r;
			if (!sockopt_value_privileged(k->family, k->type, k->proto, level, option, buf, len)) {
				ck->note = "this value is open to every user (the kernel checks no privilege): the policy "
				           "does not govern it";
				return 0;
			}
		}
		st = add_step(ck, POLICY_SETSOCKOPT, k->family, k->type, k->proto);
		if (!st)
			return -ENOMEM;
		st->q.level = level;
		st->q.option = option;
		return 0;
	}
	case J_LISTEN_ON:
		return plan_listen_on(call, ck, v);
	case J_CONNECT_TO:
		return plan_connect_to(call, ck, v);
	case J_RESOLVE_HOST:
	{
		/* net.getaddrinfo's host converter checked it: a string or NULL. */
		const struct param_desc *d = view_desc(v, "host");
		name = d ? *(const char *const *)(v->buf + d->offset) : NULL;
		goto resolve;
	}
	case J_RESOLVE_HOSTNAME:
		name = view_str(v, "hostname");
		goto resolve;
	case J_RESOLVE_FQDN:
		name = view_str(v, "name");
		if (name && !*name)
			name = NULL;
		goto resolve;
	case J_GATE:
		break;
	}
	return 0;
resolve:
	st = add_step(ck, POLICY_RESOLVE, -1, -1, -1);
	if (!st)
		return -ENOMEM;
	st->q.host = name;
	return 0;
}

/* -- deciding -- */

static json_object *check_json(const struct policy_request *q, const struct policy_decision *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "action", json_object_new_string(policy_action_name(q->action)));
	json_object_object_add(o, "allowed", json_object_new_boolean(d->allowed));
	if (d->rule)
		json_object_object_add(o, "rule", json_object_new_string(d->rule));
	json_object_object_add(o, "reason", json_object_new_string(d->reason));
	if (q->family >= 0)
		json_object_object_add(o, "family", sbc_to_json(SBC_AF, q->family));
	if (q->type >= 0)
		json_object_object_add(o, "type", sbc_to_json(SBC_SOCK, q->type));
	if (q->have_addr && (q->addr.ss_family == AF_INET || q->addr.ss_family == AF_INET6))
		json_object_object_add(o, "address", sbaddr_encode((const struct sockaddr *)&q->addr,
		                                                   q->addr.ss_family == AF_INET
		                                                       ? sizeof(struct sockaddr_in)
		                                                       : sizeof(struct sockaddr_in6)));
	if (q->host)
		json_object_object_add(o, "host", json_object_new_string(q->host));
	return o;
}

/* Decides every step (a name's steps once per resolved address) and sets the
 * result: allowed when each check allows, where connect_to's candidates need
 * only one; rule and reason from the first denial, else the last allow. */
static int check_decide(struct call *call, struct check *ck, const struct rpc_method *target)
{
	struct server *s = srv_of(call);
	json_object *r = call_result(call), *checks = json_object_new_array();
	const char *rule = NULL;
	char reason[sizeof(((struct policy_decision *)0)->reason)] = "";
	bool allowed = true, deny_set = false, any_group = false, group_ok = false, group_first_set = false;
	char group_rule[300] = "", group_reason[sizeof(reason)] = "";
	bool group_has_rule = false, fam_tried[2] = { false, false };
	char rulebuf[300];

	if (!r || !checks) {
		json_object_put(checks);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ck->nsteps; i++) {
		struct check_step *st = &ck->steps[i];
		size_t n = st->from_name ? (st->any ? ck->naddrs : SB_MIN(ck->naddrs, 1)) : 1;

		if (st->each_family)
			n = 2;
		for (size_t k = 0; k < n; k++) {
			struct policy_request q = st->q;
			struct policy_decision d;

			if (st->has_path)
				q.path = st->path;
			if (st->each_family) {
				/* Only the families of addresses the connect step lets it try. */
				if (!fam_tried[k])
					continue;
				q.family = k ? AF_INET6 : AF_INET;
			} else if (st->from_name) {
				q.have_addr = true;
				memcpy(&q.addr, &ck->addrs[k].ss, sizeof(q.addr));
				q.host = ck->host;
				if (st->any)
					q.family = ck->addrs[k].ss.ss_family;
			}
			authz_decide_as(s, &ck->subj.who, &q, &d);
			json_object_array_add(checks, check_json(&q, &d));
			if (st->any) {
				any_group = true;
				/* connect_to: the first allowed address is the one tried; without
				 * one, the first denial answers. */
				if (d.allowed)
					fam_tried[q.family == AF_INET6] = true;
				if (d.allowed && !group_ok) {
					group_ok = true;
					group_has_rule = d.rule != NULL;
					snprintf(group_rule, sizeof(group_rule), "%s", d.rule ? d.rule : "");
					snprintf(group_reason, sizeof(group_reason), "%s", d.reason);
				} else if (!d.allowed && !group_ok && !group_first_set) {
					group_first_set = true;
					group_has_rule = d.rule != NULL;
					snprintf(group_rule, sizeof(group_rule), "%s", d.rule ? d.rule : "");
					snprintf(group_reason, sizeof(group_reason), "%s", d.reason);
				}
				continue;
			}
			if (deny_set)
				continue;
			if (!d.allowed) {
				allowed = false;
				deny_set = true;
			}
			snprintf(rulebuf, sizeof(rulebuf), "%s", d.rule ? d.rule : "");
			rule = d.rule ? rulebuf : NULL;
			snprintf(reason, sizeof(reason), "%s", d.reason);
		}
	}
	if (any_group && !deny_set) {
		allowed = group_ok;
		rule = group_has_rule ? group_rule : NULL;
		snprintf(reason, sizeof(reason), "%s", group_reason);
	}
	if (!json_object_array_length(checks) && !reason[0]) {
		/* Nothing for the policy to decide at a check point. */
		snprintf(reason, sizeof(reason), "%s: %s", target->name, ck->note ? ck->note : "not governed by the policy");
	}
	json_object_object_add(r, "allowed", json_object_new_boolean(allowed));
	if (rule)
		json_object_object_add(r, "rule", json_object_new_string(rule));
	json_object_object_add(r, "reason", json_object_new_string(reason));
	json_object_object_add(r, "checks", checks);
	json_object_object_add(r, "as", subject_json(&ck->subj));
	return 0;
}

/* Requests the gate alone decides: introspection, methods on the caller's own
 * state (any matching rule), and the dispatcher's central gates. */
static int check_gate(struct call *call, struct check *ck, const struct rpc_method *target, enum rpc_gate gate)
{
	struct server *s = srv_of(call);
	json_object *r = call_result(call);
	enum policy_action a;
	const char *first = NULL;
	size_t n;

	if (!r)
		return -ENOMEM;
	if (target->flags & RPC_INTROSPECT) {
		json_object_object_add(r, "allowed", json_object_new_boolean(true));
		json_object_object_add(r, "reason", json_object_new_string("introspection is always allowed"));
		json_object_object_add(r, "checks", json_object_new_array());
		json_object_object_add(r, "as", subject_json(&ck->subj));
		return 0;
	}
	switch (gate) {
	case RPC_GATE_NONE: {
		char reason[600];
		n = policy_matching_rules(s->authz.policy, &ck->subj.who, &first, 1);
		if (n && ck->note) {
			snprintf(reason, sizeof(reason), "rule \"%s\" matches uid %u, and %s", first,
			         (unsigned)ck->subj.who.uid, ck->note);
		} else if (n) {
			snprintf(reason, sizeof(reason),
			         "rule \"%s\" matches uid %u: %s works on the caller's own handles or connection and is "
			         "not otherwise governed", first, (unsigned)ck->subj.who.uid, target->name);
		} else {
			snprintf(reason, sizeof(reason), "no rule of the policy matches uid %u%s", (unsigned)ck->subj.who.uid,
			         policy_is_default(s->authz.policy)
			             ? " (no policy file: the embedded default allows only introspection)" : "");
			if (policy_is_default(s->authz.policy))
				first = POLICY_DEFAULT_RULE;
		}
		json_object_object_add(r, "allowed", json_object_new_boolean(n > 0));
		if (first)
			json_object_object_add(r, "rule", json_object_new_string(first));
		json_object_object_add(r, "reason", json_object_new_string(reason));
		json_object_object_add(r, "checks", json_object_new_array());
		json_object_object_add(r, "as", subject_json(&ck->subj));
		return 0;
	}
	case RPC_GATE_RESOLVE:
		a = POLICY_RESOLVE;
		break;
	case RPC_GATE_SETHOSTNAME:
		a = POLICY_SETHOSTNAME;
		break;
	case RPC_GATE_ADMIN:
		a = POLICY_ADMIN;
		break;
	default:
		return -EINVAL;
	}
	if (!add_step(ck, a, -1, -1, -1))
		return -ENOMEM;
	return check_decide(call, ck, target);
}

/* -- resolving a name, off the loop -- */

static void check_work(struct resolve_job *job)
{
	struct check *ck = (struct check *)job;
	struct addrinfo hints = { 0 }, *res = NULL;

	if (ck->all) {
		/* As connect_to (Python's create_connection). */
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		ck->gai = getaddrinfo(ck->host, ck->port, &hints, &res);
		ck->err = errno;
		if (ck->gai)
			return;
		for (struct addrinfo *ai = res; ai && ck->naddrs < CHECK_MAX_ADDRS; ai = ai->ai_next) {
			if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(ck->addrs[0].ss))
				continue;
			memcpy(&ck->addrs[ck->naddrs].ss, ai->ai_addr, ai->ai_addrlen);
			ck->addrs[ck->naddrs++].len = ai->ai_addrlen;
		}
		freeaddrinfo(res);
		return;
	}
	/* As the methods' own look-up (CPython's setipaddr): the socket's family, the first answer. */
	hints.ai_family = ck->tmpl.ss.ss_family;
	ck->gai = getaddrinfo(ck->host, NULL, &hints, &res);
	ck->err = errno;
	if (ck->gai)
		return;
	ck->addrs[0] = ck->tmpl;
	if (res->ai_family == AF_INET && ck->tmpl.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ck->addrs[0].ss)->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	else if (res->ai_family == AF_INET6 && ck->tmpl.ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ck->addrs[0].ss)->sin6_addr = ((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	else
		ck->gai = EAI_ADDRFAMILY;
	if (!ck->gai)
		ck->naddrs = 1;
	freeaddrinfo(res);
}

/* The method's own answer to a name that does not resolve (-32001). */
static int check_gai_error(struct call *call, struct check *ck)
{
	return call_error_gai(call, ck->gai, ck->err, "getaddrinfo('%.200s')", ck->host);
}

static void check_done(struct resolve_job *job)
{
	struct check *ck = (struct check *)job;
	struct call *call = ck->call;
	int rc;

	call->park = NULL;
	call->cancel = NULL;
	if (ck->gai)
		rc = check_gai_error(call, ck);
	else if (!ck->naddrs)
		rc = call_error(call, SB_ERR_GAI, NULL, "getaddrinfo('%.200s'): no IPv4 or IPv6 address", ck->host);
	else
		rc = check_decide(call, ck, ck->target);
	check_free(ck);
	call_finish(call, rc);
}

static void check_destroy(struct resolve_job *job)
{
	check_free((struct check *)job);
}

/* -- policy.check -- */

struct p_check {
	struct p_as as;
	json_object *request;
};

struct p_request {
	const char *method;
	json_object *params;
};

static const struct param_desc request_params[] = {
	{ "method", PT_STRING, offsetof(struct p_request, method), PF_REQUIRED, .doc = "the method's name" },
	{ "params", PT_ANY, offsetof(struct p_request, params), 0, .doc = "its params (an object)" },
	{ 0 }
};

/* A whole request may be pasted: its envelope members are not judged. */
static const char *const request_extra[] = { "jsonrpc", "id", NULL };
/* Nor are the framework's. */
static const char *const framework_extra[] = { "fds", NULL };

static enum judge judge_of(const struct rpc_method *m)
{
	for (size_t i = 0; i < ARRAY_SIZE(judges); i++)
		if (!strcmp(judges[i].method, m->name))
			return judges[i].j;
	return J_GATE;
}

static int rpc_policy_check(struct call *call, void *params)
{
	struct p_check *p = params;
	struct p_request rq = { 0 };
	struct decode_error perr;
	struct req_view view = { 0 };
	const struct rpc_method *target;
	struct check *ck;
	json_object *jp = NULL;
	enum judge j;
	int rc;

	ck = calloc(1, sizeof(*ck));
	if (!ck)
		return -ENOMEM;
	ck->call = call;
	rc = subject_parse(call, &p->as, &ck->subj);
	if (rc)
		goto out;
	rc = params_parse(request_params, p->request, request_extra, &rq, &perr);
	if (rc == -EINVAL) {
		rc = nested_param_error(call, "request", &perr);
		goto out;
	}
	if (rc < 0)
		goto out;
	target = rpc_lookup(rq.method);
	if (!target) {
		rc = call_error_param(call, "request.method", "request.method: no method named '%.100s' (see rpc.discover)",
		                      rq.method);
		goto out;
	}
	if (json_object_object_get_ex(p->request, "params", &jp) && !json_object_is_type(jp, json_type_object)) {
		rc = call_error_param(call, "request.params", "request.params must be an object (params by name)");
		goto out;
	}
	j = judge_of(target);
	if (target->gate == RPC_GATE_HANDLER && j == J_GATE) {
		rc = call_error(call, JRPC_INTERNAL_ERROR, NULL, "policy.check does not know how %s is decided",
		                target->name);
		goto out;
	}
	/* The params as the method reads them: malformed ones are named. */
	rc = view_build(target, j, &view);
	if (rc < 0)
		goto out;
	rc = params_parse(view.descs, jp, framework_extra, view.buf, &perr);
	if (rc == -EINVAL) {
		rc = nested_param_error(call, "request.params", &perr);
		goto out;
	}
	if (rc < 0)
		goto out;
	if (j == J_GATE || target->gate != RPC_GATE_HANDLER) {
		rc = check_gate(call, ck, target, target->gate);
		goto out;
	}
	if (j == J_ACCEPT && !view_bool(&view, "pass")) {
		/* Onto a new handle: only the caller's own state, like RPC_GATE_NONE. */
		rc = check_gate(call, ck, target, RPC_GATE_NONE);
		goto out;
	}
	rc = plan_handler(call, ck, j, &view);
	if (rc)
		goto out;
	if (!ck->host) {
		/* Nothing the policy governs: as the method, some rule must match. */
		rc = ck->nsteps ? check_decide(call, ck, target) : check_gate(call, ck, target, RPC_GATE_NONE);
		goto out;
	}
	/* A name: resolved off the loop as the method would, then decided. */
	ck->job.work = check_work;
	ck->job.done = check_done;
	ck->job.destroy = check_destroy;
	ck->target = target;
	rc = call_park_resolve(call, &TAKE_PTR(ck)->job);
out:
	view_free(&view);
	check_free(ck);
	return rc;
}

/* ---- the table ---- */

static const struct param_desc check_params[] = {
	{ "as", PT_NESTED, offsetof(struct p_check, as), PF_REQUIRED, .fields = as_params,
	  .doc = "the caller to judge: {uid | user, gid | group, groups, exe, unit, cgroup, label}" },
	{ "request", PT_OBJECT, offsetof(struct p_check, request), PF_REQUIRED,
	  .doc = "the request to judge: {method, params}; a socket is given by family/type/proto instead of a handle" },
	{ 0 }
};

static const struct param_desc no_params[] = { { 0 } };

#define S_EMPTY "{\"type\":\"object\",\"additionalProperties\":false}"
#define S_SUMMARY "{\"type\":\"object\",\"required\":[\"source\",\"rules\",\"generation\"]," \
	"\"properties\":{\"source\":{\"type\":\"string\"},\"rules\":{\"type\":\"integer\"}," \
	"\"generation\":{\"type\":\"integer\"}}}"
#define S_COUNTS "{\"type\":\"object\",\"properties\":{\"allowed\":{\"type\":\"integer\"},\"denied\":{\"type\":\"integer\"}}}"
#define S_CHECK "{\"type\":\"object\",\"required\":[\"action\",\"allowed\",\"reason\"]," \
	"\"properties\":{\"action\":{\"type\":\"string\"},\"allowed\":{\"type\":\"boolean\"}," \
	"\"rule\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"},\"family\":{},\"type\":{}," \
	"\"address\":{\"type\":\"object\"},\"host\":{\"type\":\"string\"}}}"

static const struct rpc_method methods[] = {
	{ "admin.clients", "Every client connection: identity, handles, pending requests, and the rules that match it.",
	  rpc_admin_clients, no_params, 0,
	  "{\"type\":\"object\",\"required\":[\"clients\"],\"properties\":{\"clients\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"required\":[\"connection\",\"uid\",\"gid\",\"pid\",\"groups\",\"handles\","
	  "\"pending\",\"requests\",\"rules\"],\"properties\":{\"connection\":{\"type\":\"integer\"},"
	  "\"uid\":{\"type\":\"integer\"},\"gid\":{\"type\":\"integer\"},\"pid\":{\"type\":\"integer\"},"
	  "\"groups\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
	  "\"exe\":{\"type\":[\"string\",\"null\"]},\"unit\":{\"type\":[\"string\",\"null\"]},"
	  "\"cgroup\":{\"type\":[\"string\",\"null\"]},\"label\":{\"type\":[\"string\",\"null\"]},"
	  "\"identity_error\":{\"type\":\"string\"},\"handles\":{\"type\":\"integer\"},"
	  "\"pending\":{\"type\":\"integer\"},\"requests\":{\"type\":\"integer\"},\"connected\":{\"type\":\"number\"},"
	  "\"self\":{\"type\":\"boolean\"},\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}}",
	  0, RPC_GATE_ADMIN },
	{ "admin.sockets", "Every socket of every client, as socket.info shows it, with its owner's connection and uid.",
	  rpc_admin_sockets, no_params, 0,
	  "{\"type\":\"object\",\"required\":[\"sockets\"],\"properties\":{\"sockets\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"required\":[\"handle\",\"connection\",\"uid\"]}}}}",
	  0, RPC_GATE_ADMIN },
	{ "admin.close_client", "Disconnects another client; its requests are dropped and its sockets closed.",
	  rpc_admin_close_client, close_client_params, sizeof(struct p_connection), S_EMPTY, 0, RPC_GATE_ADMIN },
	{ "admin.close_socket", "Closes any client's socket; its owner then gets -32011 for the handle.",
	  rpc_admin_close_socket, close_socket_params, sizeof(struct p_handle), S_EMPTY, 0, RPC_GATE_ADMIN },
	{ "admin.stats", "Counters: the server's, the policy's (source, generation, reloads) and each rule's decisions.",
	  rpc_admin_stats, no_params, 0,
	  "{\"type\":\"object\",\"required\":[\"server\",\"policy\",\"rules\",\"unmatched\"],"
	  "\"properties\":{\"server\":{\"type\":\"object\"},\"policy\":{\"type\":\"object\","
	  "\"required\":[\"source\",\"rules\",\"generation\",\"reloads\",\"reload_failures\"]},"
	  "\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"rule\",\"allowed\",\"denied\"]}},"
	  "\"unmatched\":" S_COUNTS "}}",
	  0, RPC_GATE_ADMIN },
	{ "daemon.reload", "Loads the policy again and swaps it in whole; if it is invalid the old one stays (-32000 "
	  "with file, line, column, where and reason).",
	  rpc_daemon_reload, no_params, 0, S_SUMMARY, 0, RPC_GATE_ADMIN },
	{ "policy.check", "The policy's decision for a caller (as) sending a request: allowed, the deciding rule, the "
	  "reason, and each check; a name is resolved as the method would.",
	  rpc_policy_check, check_params, sizeof(struct p_check),
	  "{\"type\":\"object\",\"required\":[\"allowed\",\"reason\",\"checks\"],"
	  "\"properties\":{\"allowed\":{\"type\":\"boolean\"},\"rule\":{\"type\":\"string\"},"
	  "\"reason\":{\"type\":\"string\"},\"checks\":{\"type\":\"array\",\"items\":" S_CHECK "},"
	  "\"as\":{\"type\":\"object\"}}}",
	  RPC_MAY_BLOCK, RPC_GATE_ADMIN },
};

const struct rpc_family rpc_admin_family = { methods, ARRAY_SIZE(methods) };
