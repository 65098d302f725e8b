/* policy.check: the policy's decision for a caller and a request, asked
 * on their behalf (action `admin`). It reads the request the way its method
 * would, with the socket described by family/type/proto in place of a
 * handle, resolves a host name off the loop as the method would, and
 * decides the method's own plan (plan.h) for that caller without auditing
 * or counting. */
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
#include "http-token.h"
#include "consts.h"
#include "jsonrpc.h"
#include "log.h"
#include "resolver.h"
#include "rpc-socket.h"
#include "server.h"
#include "sock.h"
#include "sockopt.h"
#include "util.h"

/* The largest uid/gid a person can mean: (uid_t)-1 is "no id" to the kernel. */
#define ID_MAX 4294967294LL
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

/* What policy.check read of the request: the method's params (with the
 * socket's family/type/proto in place of a handle), its address, and a host
 * name to resolve as the method would. */
struct req_view {
	struct param_desc *descs;   /* terminated; NULL when the method has none */
	char *buf;                  /* the method's params struct, then struct p_kind */
	size_t kind_off;
	bool kind;                  /* family/type/proto were read */
};

struct check {
	struct resolve_job job;     /* first: the resolver hands this back */
	struct call *call;
	const struct rpc_method *target;   /* the method judged */
	struct check_subject subj;
	struct req_view view;
	struct plan_in in;          /* the request as its plan reads it */
	struct sbaddr addr, source;
	/* A host name to resolve: the first answer for the socket's family (every
	 * method but connect_to), or every address (connect_to, `all`). */
	char *host;
	bool all;
	struct sbaddr tmpl;         /* family, port, flowinfo, scope of the first-answer form */
	char port[8];
	struct sbaddr addrs[RESOLVE_STREAM_MAX];
	size_t naddrs;
	int gai, err;
	/* connect_to's source_address name (ck->source holds its port): looked
	 * up for AF_INET (0) and AF_INET6 (1) as the method does. */
	char *src_host;
	struct sbaddr srcs[2];
	int src_gai[2], src_err[2];
	/* connect's `resolved` (in addr): judged with host when host's look-up
	 * gives it (found), else as a literal. */
	bool pin, found;
};

static void view_free(struct req_view *v);

static void check_free(struct check *ck)
{
	if (!ck)
		return;
	free(ck->subj.groups);
	free(ck->subj.user);
	view_free(&ck->view);
	free(ck->host);
	free(ck->src_host);
	free(ck);
}

/* -- who: `as` -- */

struct p_as {
	int64_t uid, gid;
	const char *user, *group, *exe, *unit, *cgroup, *label, *token;
	struct param_list groups;   /* of gid_t */
	struct param_list unknown;  /* of int: enum as_part */
};

/* The parts of an identity that may be unknown (daemon.whoami's `unknown`). */
enum as_part { AS_EXE, AS_UNIT, AS_CGROUP, AS_LABEL, AS_PART_MAX };
static const char *const as_part_names[AS_PART_MAX] = { "exe", "unit", "cgroup", "label" };

/* What a decision says of a part policy.check is told is unknown. */
#define AS_UNKNOWN_WHY "as.unknown names it"

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

/* Converter of one of as.unknown: a part's name (int, enum as_part). */
static int conv_part(const struct param_desc *d, json_object *v, void *field, const void *base,
                     const struct param_ctx *ctx, struct decode_error *err)
{
	(void)d, (void)base, (void)ctx;
	if (json_object_is_type(v, json_type_string))
		for (int i = 0; i < AS_PART_MAX; i++)
			if (!strcmp(json_object_get_string(v), as_part_names[i])) {
				*(int *)field = i;
				return 0;
			}
	return decode_fail(err, -EINVAL, NULL, "a part that may be unknown is \"exe\", \"unit\", \"cgroup\" or \"label\"");
}

static void schema_part(const struct param_desc *d, json_object *s)
{
	json_object *e = json_object_new_array();

	(void)d;
	for (int i = 0; i < AS_PART_MAX; i++)
		json_object_array_add(e, json_object_new_string(as_part_names[i]));
	json_object_object_add(s, "enum", e);
}

static const struct param_converter conv_part_name = {
	.name = "part name", .decode = conv_part, .schema = schema_part,
};

static const struct param_desc part_item = { "unknown", &conv_part_name, 0, 0 };

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
	{ "token", PT_STRING, offsetof(struct p_as, token), 0,
	  .doc = "the name of the bearer token an HTTP caller presents (give its user too)" },
	{ "unknown", PT_LIST, offsetof(struct p_as, unknown), 0, .max = AS_PART_MAX, .fields = &part_item,
	  .size = sizeof(int), .doc = "parts the daemon could not read (exe, unit, cgroup, label), judged as unknown" },
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
	out->who.token = p.token;
	/* As the daemon judges a part it could not read: policy.h. */
	for (size_t i = 0; i < p.unknown.n; i++) {
		const char *given[AS_PART_MAX] = { p.exe, p.unit, p.cgroup, p.label };
		const char **why[AS_PART_MAX] = { &out->who.exe_unknown, &out->who.unit_unknown,
		                                  &out->who.cgroup_unknown, &out->who.label_unknown };
		int part = ((const int *)p.unknown.items)[i];

		if (given[part])
			return call_error_param(call, "as.unknown", "as: %s is given, so it cannot be unknown too",
			                        as_part_names[part]);
		*why[part] = AS_UNKNOWN_WHY;
	}
	/* As the HTTP face judges a token's caller (http-token.h): its user, no program. */
	if (p.token) {
		const char *given[AS_PART_MAX] = { p.exe, p.unit, p.cgroup, p.label };

		for (int i = 0; i < AS_PART_MAX; i++)
			if (given[i])
				return call_error_param(call, "as.token", "as: a bearer token names no program, so %s cannot "
				                        "go with token", as_part_names[i]);
		if (!p.token[0] || strlen(p.token) > POLICY_TOKEN_NAME_MAX)
			return call_error_param(call, "as.token", "as.token: a token name has 1 to %d bytes",
			                        POLICY_TOKEN_NAME_MAX);
		out->who.exe_unknown = out->who.unit_unknown = HTTP_TOKEN_NO_PROGRAM;
		out->who.cgroup_unknown = out->who.label_unknown = HTTP_TOKEN_NO_PROGRAM;
	}
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
	if (s->who.token)
		json_object_object_add(o, "token", json_object_new_string(s->who.token));
	if (s->who.exe_unknown || s->who.unit_unknown || s->who.cgroup_unknown || s->who.label_unknown) {
		json_object *u = json_object_new_array();
		const char *why[AS_PART_MAX] = { s->who.exe_unknown, s->who.unit_unknown, s->who.cgroup_unknown,
		                                 s->who.label_unknown };

		for (int i = 0; i < AS_PART_MAX; i++)
			if (why[i])
				json_object_array_add(u, json_object_new_string(as_part_names[i]));
		json_object_object_add(o, "unknown", u);
	}
	return o;
}

/* -- what: `request` -- */

/* What policy.check adds to a method's params in place of its handle. */
struct p_kind {
	int family, type, proto;
	struct param_address address;  /* a method whose params lack its .address (listen: where it is bound) */
};

static const struct param_desc kind_params[] = {
	{ "family", PT_CONST, offsetof(struct p_kind, family), 0, .def = AF_INET, .kind = SBC_AF,
	  .doc = "the socket's family (default AF_INET)" },
	{ "type", PT_CONST, offsetof(struct p_kind, type), 0, .def = SOCK_STREAM, .kind = SBC_SOCK,
	  .doc = "the socket's type (default SOCK_STREAM)" },
	{ "proto", PT_CONST, offsetof(struct p_kind, proto), 0, .def = 0, .kind = SBC_IPPROTO,
	  .doc = "the socket's protocol (default 0)" },
};

static const struct param_desc bound_address_param = {
	"address", PT_ADDRESS, offsetof(struct p_kind, address), PF_OF_SOCKET | PF_NONAME,
	.doc = "the address the socket is bound to"
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

static const struct param_desc *view_desc(const struct req_view *v, const char *name)
{
	for (const struct param_desc *d = v->descs; d && d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* The method's params as policy.check reads them: its own parameter table
 * (the same checks, the same defaults), except that a socket the method
 * works on becomes family/type/proto and only what the decision needs stays
 * required. */
static int view_build(const struct rpc_method *m, struct req_view *v)
{
	size_t n = 0, k = 0;

	memset(v, 0, sizeof(*v));
	for (const struct param_desc *d = m->params; d && d->name; d++)
		n++;
	v->kind = m->target != RPC_TARGET_NONE;
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
	}
	if (m->address && !view_desc(v, m->address)) {
		v->descs[k] = bound_address_param;
		v->descs[k++].offset += v->kind_off;
	}
	return 0;
}

static const struct param_address *view_address(const struct req_view *v, const char *name)
{
	const struct param_desc *d = view_desc(v, name);

	return d && d->conv == PT_ADDRESS ? (const struct param_address *)(v->buf + d->offset) : NULL;
}

static const struct p_kind *view_kind(const struct req_view *v)
{
	return (const struct p_kind *)(v->buf + v->kind_off);
}

/* A plan's error names a member of the method's params: as policy.check
 * reads them, that is request.params.<member>. */
static int in_request(struct call *call, int rc)
{
	json_object *jp;
	char path[300], *msg;

	if (rc != CALL_ERR_SET || call->err_code != JRPC_INVALID_PARAMS || !call->err_data ||
	    !json_object_object_get_ex(call->err_data, "param", &jp))
		return rc;
	snprintf(path, sizeof(path), "request.params.%.200s", json_object_get_string(jp));
	if (asprintf(&msg, "request.params.%s", call->err_msg ? call->err_msg : "") < 0)
		return -ENOMEM;
	json_object_object_add(call->err_data, "param", json_object_new_string(path));
	free(call->err_msg);
	call->err_msg = msg;
	return rc;
}

/* create_connection's address: a literal, or [host, port] whose every
 * address the check resolves (of which one allowed suffices, as the method
 * skips denied ones); and its source_address, numeric or a name looked up
 * for each candidate's family. */
static int read_candidates(struct call *call, struct check *ck, const struct param_host_port *addr,
                           const struct param_address *src)
{
	ck->in.type = SOCK_STREAM;
	ck->in.proto = 0;
	if (src && src->given) {
		int fam = src->a.ss.ss_family;
		if (fam != AF_INET && fam != AF_INET6)
			return call_error_param(call, "request.params.source_address",
			                        "request.params.source_address must be [host, port]");
		ck->source = src->a;
		if (src->host) {
			if (!(ck->src_host = strdup(src->host)))
				return -ENOMEM;
			ck->in.source_host = ck->src_host;
		} else {
			ck->in.source = &ck->source;
		}
	}
	if (addr->literal) {
		ck->addr = addr->a;
		ck->in.family = addr->a.ss.ss_family;
		ck->in.addr = &ck->addr;
		return 0;
	}
	if (!addr->host)
		return 0;
	ck->host = strdup(addr->host);
	if (!ck->host)
		return -ENOMEM;
	ck->all = true;
	snprintf(ck->port, sizeof(ck->port), "%d", addr->port);
	return 0;
}

/* The request as its method's plan reads it: the socket, the address. */
static int read_request(struct call *call, struct check *ck)
{
	const struct rpc_method *m = ck->target;
	const struct p_kind *k = view_kind(&ck->view);
	const struct param_address *pa;
	const struct param_desc *pd;
	const char *res;
	struct decode_error perr;
	int r;

	ck->in = (struct plan_in){ .call = call, .params = ck->view.buf, .family = -1, .type = -1, .proto = -1 };
	if (ck->view.kind) {
		ck->in.family = k->family;
		ck->in.type = k->type;
		ck->in.proto = k->proto;
	} else if (m->family_of) {
		ck->in.family = m->family_of(ck->view.buf);
		ck->in.type = SOCK_STREAM;
		ck->in.proto = 0;
	}
	if (!m->address)
		return 0;
	if (m->candidates) {
		const struct param_desc *d = view_desc(&ck->view, m->address);
		return d && d->conv == PT_HOST_PORT
		           ? read_candidates(call, ck, (const struct param_host_port *)(const void *)(ck->view.buf + d->offset),
		                             view_address(&ck->view, "source_address"))
		           : 0;
	}
	/* As the framework does for the method: for the socket's family. */
	r = params_decode_late(ck->view.descs, ck->view.buf,
	                       &(struct param_ctx){ ck->in.family, ck->in.type, ck->in.proto }, &perr);
	if (r == -EINVAL)
		return nested_param_error(call, "request.params", &perr);
	if (r < 0)
		return r;
	pa = view_address(&ck->view, m->address);
	if (!pa || !pa->given)
		return 0;
	pd = m->pinned ? view_desc(&ck->view, m->pinned) : NULL;
	if (pd && (res = *(const char *const *)(const void *)(ck->view.buf + pd->offset))) {
		/* As the method: the caller's address, the name kept aside. */
		if ((r = pinned_address(call, ck->in.family, pa, res, &ck->addr)))
			return in_request(call, r);
		if (!(ck->host = strdup(pa->host)))
			return -ENOMEM;
		ck->pin = true;
		ck->tmpl = pa->a;
		return 0;
	}
	if (pa->host) {
		/* A name: the check resolves it as the method would, first answer. */
		if (!(ck->host = strdup(pa->host)))
			return -ENOMEM;
		ck->tmpl = pa->a;
		return 0;
	}
	ck->addr = pa->a;
	ck->in.addr = &ck->addr;
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
	if (q->name)
		json_object_object_add(o, "name", json_object_new_string(q->name));
	return o;
}

/* The answer for a request no plan question governs: as every method, some
 * rule must match the caller. note says why nothing else is asked. */
static int check_rule_only(struct call *call, struct check *ck, const char *note)
{
	struct server *s = srv_of(call);
	json_object *r = call_result(call);
	const char *first = NULL;
	char reason[600];
	size_t n;

	if (!r)
		return -ENOMEM;
	n = policy_matching_rules(s->authz.policy, &ck->subj.who, &first, 1);
	if (n && note) {
		snprintf(reason, sizeof(reason), "rule \"%s\" matches uid %u, and %s", first, (unsigned)ck->subj.who.uid,
		         note);
	} else if (n) {
		snprintf(reason, sizeof(reason),
		         "rule \"%s\" matches uid %u: %s works on the caller's own handles or connection and is "
		         "not otherwise governed", first, (unsigned)ck->subj.who.uid, ck->target->name);
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

/* One candidate's verdict: its first denial, else its last allow. */
struct verdict {
	bool allowed, has_rule;
	char rule[300];
	char reason[sizeof(((struct policy_decision *)0)->reason)];
};

static void verdict_set(struct verdict *v, const struct policy_decision *d)
{
	v->allowed = d->allowed;
	v->has_rule = d->rule != NULL;
	snprintf(v->rule, sizeof(v->rule), "%s", d->rule ? d->rule : "");
	snprintf(v->reason, sizeof(v->reason), "%s", d->reason);
}

/* Decides the method's plan, as the method would, for each address it could
 * use (one, or each that connect_to's name resolves to, where the first
 * allowed is the one tried): allowed when every gate of that plan allows.
 * Choice steps are listed ("choice": true) but decide nothing. */
static int check_decide(struct call *call, struct check *ck)
{
	struct server *s = srv_of(call);
	json_object *r = call_result(call), *checks = json_object_new_array();
	size_t ncand = ck->host ? (ck->all ? ck->naddrs : SB_MIN(ck->naddrs, 1)) : 1, gates = 0, judged = 0;
	struct verdict first = { 0 }, chosen = { 0 };
	const char *note = NULL;
	bool any = false;
	int rc, no_src = -1;

	if (!r || !checks) {
		json_object_put(checks);
		return -ENOMEM;
	}
	for (size_t c = 0; c < ncand; c++) {
		struct plan_in in = ck->in;
		struct verdict v = { .allowed = true };
		bool denied = false;
		struct plan pl;

		if (ck->host) {
			in.addr = &ck->addrs[c];
			in.host = ck->host;
			if (ck->all)
				in.family = ck->addrs[c].ss.ss_family;
		}
		if (ck->src_host) {
			/* As the method: a candidate of a family the name has no
			 * address of fails before anything is asked. */
			int i = in.family == AF_INET6 ? 1 : 0;
			if (ck->src_gai[i]) {
				no_src = i;
				continue;
			}
			in.source = &ck->srcs[i];
		}
		pl.n = 0;
		pl.note = NULL;
		rc = ck->target->plan(&pl, &in);
		if (rc == -E2BIG)
			rc = call_error_limit(call, "policy_questions", PLAN_MAX_STEPS);
		if (rc) {
			json_object_put(checks);
			return in_request(call, rc);
		}
		note = pl.note;
		for (size_t i = 0; i < pl.n; i++) {
			struct plan_step *st = &pl.steps[i];
			struct policy_decision d;
			json_object *o;

			authz_decide_as(&s->authz, &ck->subj.who, &st->q, &d);
			o = check_json(&st->q, &d);
			if (st->use == PLAN_CHOICE)
				json_object_object_add(o, "choice", json_object_new_boolean(true));
			json_object_array_add(checks, o);
			if (st->use == PLAN_CHOICE)
				continue;
			gates++;
			if (!denied)
				verdict_set(&v, &d);
			denied = denied || !d.allowed;
		}
		if (judged++ == 0)
			first = v;
		if (v.allowed && !any) {
			any = true;
			chosen = v;
		}
	}
	if (!judged && no_src >= 0) {
		json_object_put(checks);
		return call_error_gai(call, ck->src_gai[no_src], ck->src_err[no_src], "getaddrinfo('%.200s')",
		                      ck->src_host);
	}
	if (!gates) {
		json_object_put(checks);
		return check_rule_only(call, ck, note);
	}
	if (!any)
		chosen = first;
	json_object_object_add(r, "allowed", json_object_new_boolean(any));
	if (chosen.has_rule)
		json_object_object_add(r, "rule", json_object_new_string(chosen.rule));
	json_object_object_add(r, "reason", json_object_new_string(chosen.reason));
	json_object_object_add(r, "checks", checks);
	json_object_object_add(r, "as", subject_json(&ck->subj));
	return 0;
}

/* The answer for a request refused by one question asked before anything
 * else (q, decided d). */
static int check_refused_by(struct call *call, struct check *ck, const struct policy_request *q,
                            const struct policy_decision *d)
{
	json_object *r = call_result(call), *checks = json_object_new_array();

	if (!r || !checks) {
		json_object_put(checks);
		return -ENOMEM;
	}
	json_object_array_add(checks, check_json(q, d));
	json_object_object_add(r, "allowed", json_object_new_boolean(false));
	if (d->rule)
		json_object_object_add(r, "rule", json_object_new_string(d->rule));
	json_object_object_add(r, "reason", json_object_new_string(d->reason));
	json_object_object_add(r, "checks", checks);
	json_object_object_add(r, "as", subject_json(&ck->subj));
	return 0;
}

/* What connect_to decides before its look-ups when source_address is a name
 * (plan_run_unresolved): that name's resolve in full, and the steps of a
 * named host no rule could allow whatever it resolves to. 1 when that
 * refuses the request (answered), 0 to go on, or an error. */
static int check_before_lookup(struct call *call, struct check *ck)
{
	struct server *s = srv_of(call);
	struct plan_in in = ck->in;
	struct sbaddr tmpl = { .len = sizeof(struct sockaddr_in6) };
	struct plan pl = { .n = 0 };
	int rc;

	if (ck->host) {
		((struct sockaddr_in6 *)&tmpl.ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&tmpl.ss)->sin6_port = htons((uint16_t)atoi(ck->port));
		in.addr = &tmpl;
		in.host = ck->host;
		in.unresolved = true;
	}
	rc = ck->target->plan(&pl, &in);
	if (rc == -E2BIG)
		rc = call_error_limit(call, "policy_questions", PLAN_MAX_STEPS);
	if (rc)
		return in_request(call, rc);
	for (size_t i = 0; i < pl.n; i++) {
		const struct plan_step *st = &pl.steps[i];
		struct policy_decision d = { .rule_index = -1 };

		if (st->use != PLAN_GATE)
			continue;
		if (st->q.action == POLICY_RESOLVE) {
			authz_decide_as(&s->authz, &ck->subj.who, &st->q, &d);
		} else if (st->unresolved) {
			d.allowed = policy_may_allow(s->authz.policy, &ck->subj.who, &st->q, st->port);
			snprintf(d.reason, sizeof(d.reason),
			         "no rule could allow %s to \"%.300s\" port %d for uid %u, whatever it resolves to",
			         policy_action_name(st->q.action), st->q.host ? st->q.host : "", st->port,
			         (unsigned)ck->subj.who.uid);
		} else {
			continue;
		}
		if (!d.allowed)
			return (rc = check_refused_by(call, ck, &st->q, &d)) ? rc : 1;
	}
	return 0;
}

/* -- resolving a name, off the loop -- */

static void check_work(struct resolve_job *job)
{
	struct check *ck = (struct check *)job;

	if (ck->src_host) {
		if (ck->host)
			ck->gai = resolve_stream(ck->host, ck->port, ck->addrs, RESOLVE_STREAM_MAX, &ck->naddrs, NULL, &ck->err);
		if (!ck->gai)
			resolve_sources(ck->src_host, &ck->source, ck->host ? ck->addrs : &ck->addr,
			                ck->host ? ck->naddrs : 1, ck->srcs, ck->src_gai, ck->src_err);
		return;
	}
	if (ck->pin) {
		ck->gai = resolve_among(ck->host, &ck->addr, &ck->found, &ck->err);
		return;
	}
	if (ck->all) {
		ck->gai = resolve_stream(ck->host, ck->port, ck->addrs, RESOLVE_STREAM_MAX, &ck->naddrs, NULL, &ck->err);
		return;
	}
	ck->addrs[0] = ck->tmpl;
	ck->gai = resolve_first(ck->host, &ck->addrs[0], &ck->err);
	ck->naddrs = ck->gai ? 0 : 1;
}

/* The method's own answer to a name that does not resolve (-32001). */
static int check_gai_error(struct call *call, struct check *ck)
{
	return call_error_gai(call, ck->gai, ck->err, "getaddrinfo('%.200s')", ck->host);
}

/* connect's `resolved`, decided as the method decides it: at that address
 * with the name when the name resolves to it (named), else as a literal. */
static int check_pinned(struct call *call, struct check *ck, bool named)
{
	if (named) {
		ck->addrs[0] = ck->addr;
		ck->naddrs = 1;
	} else {
		free(ck->host);
		ck->host = NULL;
		ck->in.addr = &ck->addr;
	}
	return check_decide(call, ck);
}

/* Whether the method would look ck's pinned name up at all (a name no rule
 * could allow is not): 1, 0, or an error. */
static int check_may_look_up(struct call *call, struct check *ck)
{
	struct server *s = srv_of(call);
	struct plan_in in = ck->in;
	int rc;

	in.addr = &ck->tmpl;
	in.host = ck->host;
	in.unresolved = true;
	rc = plan_may_look_up(ck->target->plan, &in, &s->authz, &ck->subj.who);
	if (rc == -E2BIG)
		rc = call_error_limit(call, "policy_questions", PLAN_MAX_STEPS);
	return rc < 0 ? in_request(call, rc) : rc;
}

static void check_done(struct resolve_job *job)
{
	struct check *ck = (struct check *)job;
	struct call *call = ck->call;
	int rc;

	call->park = NULL;
	call->cancel = NULL;
	if (ck->pin)
		rc = check_pinned(call, ck, !ck->gai && ck->found);
	else if (ck->gai)
		rc = check_gai_error(call, ck);
	else if (ck->host && !ck->naddrs)
		rc = call_error(call, SB_ERR_GAI, NULL, "getaddrinfo('%.200s'): no IPv4 or IPv6 address", ck->host);
	else
		rc = check_decide(call, ck);
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

static int rpc_policy_check(struct call *call, void *params)
{
	struct p_check *p = params;
	struct p_request rq = { 0 };
	struct decode_error perr;
	const struct rpc_method *target;
	struct check *ck;
	json_object *jp = NULL, *r;
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
	ck->target = target;
	if (json_object_object_get_ex(p->request, "params", &jp) && !json_object_is_type(jp, json_type_object)) {
		rc = call_error_param(call, "request.params", "request.params must be an object (params by name)");
		goto out;
	}
	/* The params as the method reads them: malformed ones are named. */
	rc = view_build(target, &ck->view);
	if (rc < 0)
		goto out;
	rc = params_parse(ck->view.descs, jp, framework_extra, ck->view.buf, &perr);
	if (rc == -EINVAL) {
		rc = nested_param_error(call, "request.params", &perr);
		goto out;
	}
	if (rc < 0)
		goto out;
	if (target->flags & RPC_INTROSPECT) {
		if (!(r = call_result(call))) {
			rc = -ENOMEM;
			goto out;
		}
		json_object_object_add(r, "allowed", json_object_new_boolean(true));
		json_object_object_add(r, "reason", json_object_new_string("introspection is always allowed"));
		json_object_object_add(r, "checks", json_object_new_array());
		json_object_object_add(r, "as", subject_json(&ck->subj));
		goto out;
	}
	if (!target->plan) {
		rc = check_rule_only(call, ck, NULL);
		goto out;
	}
	rc = read_request(call, ck);
	if (rc)
		goto out;
	if (ck->src_host && (rc = check_before_lookup(call, ck))) {
		if (rc > 0)
			rc = 0;
		goto out;
	}
	if (ck->pin && (rc = check_may_look_up(call, ck)) <= 0) {
		if (rc == 0)
			rc = check_pinned(call, ck, false);
		goto out;
	}
	if (!ck->host && !ck->src_host) {
		rc = check_decide(call, ck);
		goto out;
	}
	/* A name: resolved off the loop as the method would, then decided. */
	ck->job.work = check_work;
	ck->job.done = check_done;
	ck->job.destroy = check_destroy;
	rc = call_park_resolve(call, &TAKE_PTR(ck)->job);
out:
	check_free(ck);
	return rc;
}

/* ---- the table ---- */

static const struct param_desc check_params[] = {
	{ "as", PT_NESTED, offsetof(struct p_check, as), PF_REQUIRED, .fields = as_params,
	  .doc = "the caller to judge: {uid | user, gid | group, groups, exe, unit, cgroup, label, unknown}" },
	{ "request", PT_OBJECT, offsetof(struct p_check, request), PF_REQUIRED,
	  .doc = "the request to judge: {method, params}; a socket is given by family/type/proto instead of a handle" },
	{ 0 }
};

#define S_CHECK "{\"type\":\"object\",\"required\":[\"action\",\"allowed\",\"reason\"]," \
	"\"properties\":{\"action\":{\"type\":\"string\"},\"allowed\":{\"type\":\"boolean\"}," \
	"\"rule\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"},\"family\":{},\"type\":{}," \
	"\"address\":{\"type\":\"object\"},\"host\":{\"type\":\"string\"}}}"

/* ---- policy.rules ---- */

/* A copy of member key of the rule as written, or JSON null when it is not
 * written (a copy: the policy is not the reply's to share). */
static json_object *member_copy(json_object *rule, const char *key)
{
	json_object *v, *out = NULL;

	if (!rule || !json_object_object_get_ex(rule, key, &v) || !v)
		return NULL;
	if (json_object_deep_copy(v, &out, NULL) < 0)
		return NULL;
	return out;
}

static json_object *counted(uint64_t allowed, uint64_t denied)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "allowed", json_object_new_uint64(allowed));
	json_object_object_add(o, "denied", json_object_new_uint64(denied));
	return o;
}

static int rpc_policy_rules(struct call *call, void *params)
{
	struct authz *a = &srv_of(call)->authz;
	size_t n = policy_nrules(a->policy);
	json_object *r = call_result(call), *arr = json_object_new_array();

	(void)params;
	if (!r || !arr) {
		json_object_put(arr);
		return -ENOMEM;
	}
	json_object_object_add(r, "source", json_object_new_string(a->source ? a->source : ""));
	json_object_object_add(r, "generation", json_object_new_uint64(a->generation));
	json_object_object_add(r, "rules", arr);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object(), *w = json_object_new_array(), *j = NULL;
		const struct authz_counter *c;
		const char *file = NULL;
		int line = 0;

		if (!o || !w) {
			json_object_put(o);
			json_object_put(w);
			return -ENOMEM;
		}
		(void)policy_rule_source(a->policy, i, &j, &file, &line);
		json_object_object_add(o, "name", json_object_new_string(policy_rule_name(a->policy, i)));
		json_object_object_add(o, "file", file ? json_object_new_string(file) : NULL);
		json_object_object_add(o, "line", json_object_new_int(line));
		json_object_object_add(o, "match", member_copy(j, "match"));
		json_object_object_add(o, "allow", member_copy(j, "allow"));
		json_object_object_add(o, "deny", member_copy(j, "deny"));
		json_object_object_add(o, "limits", member_copy(j, "limits"));
		/* counters[0] is "no rule"; then one per rule in policy order. */
		c = i + 1 < a->ncounters ? &a->counters[i + 1] : NULL;
		json_object_object_add(o, "allowed", json_object_new_uint64(c ? c->allowed : 0));
		json_object_object_add(o, "denied", json_object_new_uint64(c ? c->denied : 0));
		if (i < a->nwarnings && a->warnings[i])
			json_object_array_add(w, json_object_new_string(a->warnings[i]));
		json_object_object_add(o, "warnings", w);
		if (json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			return -ENOMEM;
		}
	}
	json_object_object_add(r, "unmatched", a->ncounters ? counted(a->counters[0].allowed, a->counters[0].denied)
	                                                    : counted(0, 0));
	return 0;
}

static const struct param_desc no_params[] = { { 0 } };

static const struct rpc_method methods[] = {
	{ .name = "policy.check",
	  .summary = "The policy's decision for a caller (as) sending a request: allowed, the deciding rule, the "
	  "reason, and each check; a name is resolved as the method would.",
	  .handler = rpc_policy_check,
	  .params = check_params, .params_size = sizeof(struct p_check),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"allowed\",\"reason\",\"checks\"],"
	  "\"properties\":{\"allowed\":{\"type\":\"boolean\"},\"rule\":{\"type\":\"string\"},"
	  "\"reason\":{\"type\":\"string\"},\"checks\":{\"type\":\"array\",\"items\":" S_CHECK "},"
	  "\"as\":{\"type\":\"object\"}}}",
	  .flags = RPC_MAY_BLOCK,
	  .plan = plan_admin, },
	{ .name = "policy.rules",
	  .summary = "The policy in force: its source and generation, and every rule as written (match, allow, "
	  "deny, limits) with its file and line, its allow and deny counts and its load-time warnings.",
	  .handler = rpc_policy_rules,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"source\",\"generation\",\"rules\",\"unmatched\"],"
	  "\"properties\":{\"source\":{\"type\":\"string\"},\"generation\":{\"type\":\"integer\"},"
	  "\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"name\",\"file\",\"line\","
	  "\"match\",\"allow\",\"deny\",\"limits\",\"allowed\",\"denied\",\"warnings\"],"
	  "\"properties\":{\"name\":{\"type\":\"string\"},\"file\":{\"type\":[\"string\",\"null\"]},"
	  "\"line\":{\"type\":\"integer\"},\"match\":{\"type\":\"object\"},"
	  "\"allow\":{\"type\":[\"array\",\"null\"]},\"deny\":{\"type\":[\"array\",\"null\"]},"
	  "\"limits\":{\"type\":[\"object\",\"null\"]},\"allowed\":{\"type\":\"integer\"},"
	  "\"denied\":{\"type\":\"integer\"},\"warnings\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}},"
	  "\"unmatched\":{\"type\":\"object\",\"required\":[\"allowed\",\"denied\"],"
	  "\"properties\":{\"allowed\":{\"type\":\"integer\"},\"denied\":{\"type\":\"integer\"}}}}}",
	  .plan = plan_admin, },
};

const struct rpc_family rpc_policy_family = { methods, ARRAY_SIZE(methods) };
