/* Administration: every client and socket of the daemon, closing them,
 * counters, and reloading the policy. All of them are action `admin`
 * (plan_admin), decided by the framework before a handler runs. */
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
#include "fdstore.h"
#include "log.h"
#include "resolver.h"
#include "restart.h"
#include "server.h"
#include "sock.h"
#include "sockopt.h"
#include "util.h"

static struct server *srv_of(struct call *call)
{
	return call->conn->srv;
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
	rules = authz_rules_json(&s->authz, c, SIZE_MAX, &total);
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

	v = calloc(s->socks.n ? s->socks.n : 1, sizeof(*v));
	if (!r || !arr || !v) {
		free(v);
		json_object_put(arr);
		return -ENOMEM;
	}
	for (struct conn *c = s->conns; c; c = c->next)
		for (struct sock *sk = c->dead ? NULL : c->socks; sk && n < s->socks.n; sk = sk->conn_next)
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
	struct sock *found = sock_find(&srv_of(call)->socks, p->handle);

	if (!found)
		return call_error_handle(call, p->handle, "no socket with handle %lld (closed, or never made)",
		                         (long long)p->handle);
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

/* admin.stats "log": where lines go and what the queue dropped (log.h). */
static json_object *log_stats_json(void)
{
	json_object *o = json_object_new_object();
	struct log_stats ls;

	log_get_stats(&ls);
	json_object_object_add(o, "target", json_object_new_string(ls.target));
	json_object_object_add(o, "journal", json_object_new_boolean(ls.journal));
	json_object_object_add(o, "queued_bytes", json_object_new_uint64(ls.queued_bytes));
	json_object_object_add(o, "queue_max", json_object_new_uint64(ls.queue_max));
	json_object_object_add(o, "dropped_debug", json_object_new_uint64(ls.dropped_minor));
	json_object_object_add(o, "dropped", json_object_new_uint64(ls.dropped));
	json_object_object_add(o, "audit_refused", json_object_new_uint64(ls.audit_refused));
	json_object_object_add(o, "write_errors", json_object_new_uint64(ls.write_errors));
	return o;
}

/* admin.stats "fdstore": systemd's descriptor store (fdstore.h). */
static json_object *fdstore_stats_json(const struct server *s)
{
	json_object *o = json_object_new_object();
	struct fdstore_stats fs;

	fdstore_get_stats(s->fdstore, &fs);
	json_object_object_add(o, "on", json_object_new_boolean(s->fdstore != NULL));
	json_object_object_add(o, "stored", json_object_new_uint64(fs.stored));
	json_object_object_add(o, "name_bytes", json_object_new_uint64(fs.name_bytes));
	json_object_object_add(o, "sent", json_object_new_uint64(fs.sent));
	json_object_object_add(o, "failed", json_object_new_uint64(fs.failed));
	json_object_object_add(o, "queued", json_object_new_uint64(fs.queued));
	json_object_object_add(o, "state_writes", json_object_new_uint64(fs.state_writes));
	json_object_object_add(o, "unnamed", json_object_new_uint64(fs.unnamed));
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
	json_object_object_add(srv, "sockets", json_object_new_uint64(s->socks.n));
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
	json_object_object_add(pol, "audit_records", json_object_new_uint64(a->audit_seq));
	json_object_object_add(r, "policy", pol);
	json_object_object_add(r, "log", log_stats_json());
	json_object_object_add(r, "fdstore", fdstore_stats_json(s));
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

/* ---- admin.audit ---- */

/* Records one admin.audit answer holds at most (and its default). */
#define AUDIT_LIMIT_MAX 1000
#define AUDIT_LIMIT_DEFAULT 100

struct p_audit {
	int64_t since;              /* -1: not given */
	int64_t limit;
};

static const struct param_desc audit_params[] = {
	{ "since", PT_INT, offsetof(struct p_audit, since), 0, 0, INT64_MAX, .def = -1,
	  .doc = "only records with a greater seq, oldest first (to page on, pass the last seq seen); "
	  "without it the newest records" },
	{ "limit", PT_INT, offsetof(struct p_audit, limit), 0, 1, AUDIT_LIMIT_MAX, .def = AUDIT_LIMIT_DEFAULT,
	  .doc = "at most this many records (default 100)" },
	{ 0 }
};

static int rpc_admin_audit(struct call *call, void *params)
{
	struct p_audit *p = params;
	struct authz *a = &srv_of(call)->authz;
	json_object *r = call_result(call), *recs;
	uint64_t first, last, since = (uint64_t)p->since;

	if (!r)
		return -ENOMEM;
	if (p->since < 0) {
		/* The newest: seqs in the ring run without gaps up to last. */
		json_object_put(authz_audit_since(a, UINT64_MAX, 0, &first, &last));
		since = last > (uint64_t)p->limit ? last - (uint64_t)p->limit : 0;
	}
	recs = authz_audit_since(a, since, (size_t)p->limit, &first, &last);
	if (!recs)
		return -ENOMEM;
	json_object_object_add(r, "records", recs);
	json_object_object_add(r, "first", json_object_new_uint64(first));
	json_object_object_add(r, "last", json_object_new_uint64(last));
	return 0;
}

/* ---- daemon.restart ---- */

static int rpc_daemon_restart(struct call *call, void *params)
{
	int r;

	(void)params;
	r = restart_begin(srv_of(call), call);
	if (r == -EBUSY)
		return call_error_os(call, r, "a restart is under way");
	if (r == -ESHUTDOWN)
		return call_error_os(call, r, "the daemon is stopping");
	if (r == -ENOEXEC)
		return call_error_os(call, r, "the daemon does not know where its binary is");
	return r;
}

/* ---- daemon.reload ---- */

static int rpc_daemon_reload(struct call *call, void *params)
{
	struct server *s = srv_of(call);
	struct policy_error err;
	int r;

	r = server_reload_policy(s, &err);
	if (r < 0) {
		/* The OS error, and where in which file the policy is wrong. */
		r = call_error_os(call, r, "policy reload failed, the old policy stays: %s", err.text);
		if (call->err_data) {
			json_object_object_add(call->err_data, "file", json_object_new_string(err.file));
			json_object_object_add(call->err_data, "line", json_object_new_int(err.line));
			json_object_object_add(call->err_data, "column", json_object_new_int(err.column));
			json_object_object_add(call->err_data, "where", json_object_new_string(err.at.path));
			json_object_object_add(call->err_data, "reason", json_object_new_string(err.text));
		}
		return r;
	}
	json_object_put(call->result);
	call->result = policy_summary(&s->authz);
	return call->result ? 0 : -ENOMEM;
}

/* ---- the table ---- */


static const struct param_desc no_params[] = { { 0 } };

#define S_EMPTY "{\"type\":\"object\",\"additionalProperties\":false}"
#define S_SUMMARY "{\"type\":\"object\",\"required\":[\"source\",\"rules\",\"generation\"]," \
	"\"properties\":{\"source\":{\"type\":\"string\"},\"rules\":{\"type\":\"integer\"}," \
	"\"generation\":{\"type\":\"integer\"}}}"
#define S_COUNTS "{\"type\":\"object\",\"properties\":{\"allowed\":{\"type\":\"integer\"},\"denied\":{\"type\":\"integer\"}}}"

static const struct rpc_method methods[] = {
	{ .name = "admin.clients",
	  .summary = "Every client connection: identity, handles, pending requests, and the rules that match it.",
	  .handler = rpc_admin_clients,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"clients\"],\"properties\":{\"clients\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"required\":[\"connection\",\"uid\",\"gid\",\"pid\",\"groups\",\"handles\","
	  "\"pending\",\"requests\",\"rules\"],\"properties\":{\"connection\":{\"type\":\"integer\"},"
	  "\"uid\":{\"type\":\"integer\"},\"gid\":{\"type\":\"integer\"},\"pid\":{\"type\":\"integer\"},"
	  "\"groups\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
	  "\"exe\":{\"type\":[\"string\",\"null\"]},\"unit\":{\"type\":[\"string\",\"null\"]},"
	  "\"cgroup\":{\"type\":[\"string\",\"null\"]},\"label\":{\"type\":[\"string\",\"null\"]},"
	  "\"unknown\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
	  "\"identity_error\":{\"type\":\"string\"},\"handles\":{\"type\":\"integer\"},"
	  "\"pending\":{\"type\":\"integer\"},\"requests\":{\"type\":\"integer\"},\"connected\":{\"type\":\"number\"},"
	  "\"self\":{\"type\":\"boolean\"},\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}}}",
	  .plan = plan_admin, },
	{ .name = "admin.sockets",
	  .summary = "Every socket of every client, as socket.info shows it, with its owner's connection and uid.",
	  .handler = rpc_admin_sockets,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"sockets\"],\"properties\":{\"sockets\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"required\":[\"handle\",\"connection\",\"uid\"]}}}}",
	  .plan = plan_admin, },
	{ .name = "admin.close_client",
	  .summary = "Disconnects another client; its requests are dropped and its sockets closed.",
	  .handler = rpc_admin_close_client,
	  .params = close_client_params, .params_size = sizeof(struct p_connection),
	  .result_schema = S_EMPTY,
	  .plan = plan_admin, },
	{ .name = "admin.close_socket",
	  .summary = "Closes any client's socket; its owner then gets -32011 for the handle.",
	  .handler = rpc_admin_close_socket,
	  .params = close_socket_params, .params_size = sizeof(struct p_handle),
	  .result_schema = S_EMPTY,
	  .plan = plan_admin, },
	{ .name = "admin.stats",
	  .summary = "Counters: the server's, the policy's (source, generation, reloads) and each rule's decisions.",
	  .handler = rpc_admin_stats,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"server\",\"policy\",\"rules\",\"unmatched\"],"
	  "\"properties\":{\"server\":{\"type\":\"object\"},\"policy\":{\"type\":\"object\","
	  "\"required\":[\"source\",\"rules\",\"generation\",\"reloads\",\"reload_failures\"]},"
	  "\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"rule\",\"allowed\",\"denied\"]}},"
	  "\"unmatched\":" S_COUNTS "}}",
	  .plan = plan_admin, },
	{ .name = "admin.audit",
	  .summary = "The last audit records the daemon keeps in memory (--audit-ring): those after since, "
	  "oldest first, or the newest; first and last: the oldest and newest seq it still holds (0: none).",
	  .handler = rpc_admin_audit,
	  .params = audit_params, .params_size = sizeof(struct p_audit),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"records\",\"first\",\"last\"],"
	  "\"properties\":{\"records\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	  "\"required\":[\"seq\",\"time\",\"decision\"],\"properties\":{\"seq\":{\"type\":\"integer\"},"
	  "\"time\":{\"type\":\"string\"},\"decision\":{\"enum\":[\"allow\",\"deny\",\"refused\"]},"
	  "\"rule\":{\"type\":[\"string\",\"null\"]},\"truncated\":{\"type\":\"boolean\"},"
	  "\"bytes\":{\"type\":\"integer\"}}}},"
	  "\"first\":{\"type\":\"integer\"},\"last\":{\"type\":\"integer\"}}}",
	  .plan = plan_admin, },
	{ .name = "daemon.restart",
	  .summary = "Runs the daemon's binary again (the one installed now: an upgrade is a restart), handing "
	  "it every held and declared socket, the control socket and the HTTP listeners; answers once the new "
	  "process serves, then this connection and every other one closes. If the new process fails, exits "
	  "or is not ready within --restart-timeout, this daemon goes on and the error says why.",
	  .handler = rpc_daemon_restart,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"pid\",\"previous_pid\",\"held\",\"declared\","
	  "\"seconds\"],\"properties\":{\"pid\":{\"type\":\"integer\"},\"previous_pid\":{\"type\":\"integer\"},"
	  "\"held\":{\"type\":\"integer\"},\"declared\":{\"type\":\"integer\"},\"seconds\":{\"type\":\"number\"}}}",
	  .flags = RPC_MAY_BLOCK | RPC_CONTROL_ONLY,
	  .plan = plan_admin, },
	{ .name = "daemon.reload",
	  .summary = "Loads the policy again and swaps it in whole; if it is invalid the old one stays (-32000 "
	  "with file, line, column, where and reason).",
	  .handler = rpc_daemon_reload,
	  .params = no_params,
	  .result_schema = S_SUMMARY,
	  .plan = plan_admin, },
};

const struct rpc_family rpc_admin_family = { methods, ARRAY_SIZE(methods) };
