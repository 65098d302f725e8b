/* Introspection methods: rpc.discover, daemon.info, daemon.whoami, daemon.ping. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "authz.h"
#include "call.h"
#include "conn.h"
#include "http.h"
#include "jsonrpc.h"
#include "server.h"
#include "util.h"

/* Adds a member under a literal key that is new to obj (no copy, no lookup). */
static void add_const_key(json_object *obj, const char *key, json_object *val)
{
	json_object_object_add_ex(obj, key, val, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}

static struct server *srv_of(struct call *call)
{
	return call->conn->srv;
}

/* ---- rpc.discover ---- */

static json_object *method_doc(const struct rpc_method *m)
{
	json_object *o = json_object_new_object();
	json_object *params = json_object_new_array();
	json_object *result = json_object_new_object();
	json_object *schema = NULL;
	json_object *x = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "summary", json_object_new_string(m->summary));
	json_object_object_add(o, "paramStructure", json_object_new_string("by-name"));
	for (const struct param_desc *d = m->params; d && d->name; d++) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "name", json_object_new_string(d->name));
		json_object_object_add(p, "required", json_object_new_boolean(d->flags & PF_REQUIRED));
		json_object_object_add(p, "schema", params_schema(d));
		json_object_array_add(params, p);
	}
	if (m->flags & RPC_TAKES_FDS) {
		json_object *p = json_object_new_object();
		json_object *s = json_object_new_object();
		json_object_object_add(s, "type", json_object_new_string("integer"));
		json_object_object_add(s, "minimum", json_object_new_int(1));
		json_object_object_add(s, "description",
		                       json_object_new_string("descriptors sent with the request (SCM_RIGHTS)"));
		json_object_object_add(p, "name", json_object_new_string("fds"));
		json_object_object_add(p, "schema", s);
		json_object_array_add(params, p);
	}
	json_object_object_add(o, "params", params);
	if (m->result_schema)
		schema = json_tokener_parse(m->result_schema);
	json_object_object_add(result, "name", json_object_new_string("result"));
	json_object_object_add(result, "schema", schema ? schema : json_object_new_object());
	json_object_object_add(o, "result", result);
	/* sockbroker's own facts about the method, as an OpenRPC extension. */
	json_object_object_add(x, "introspection", json_object_new_boolean(m->flags & RPC_INTROSPECT));
	json_object_object_add(x, "admin", json_object_new_boolean(m->plan == plan_admin));
	json_object_object_add(x, "governed", json_object_new_string(m->flags & RPC_INTROSPECT ? "introspection"
	                                                             : m->plan ? "plan" : "own_state"));
	json_object_object_add(x, "takes_fds", json_object_new_boolean(m->flags & RPC_TAKES_FDS));
	json_object_object_add(x, "returns_fds", json_object_new_boolean(m->flags & RPC_RETURNS_FDS));
	json_object_object_add(x, "may_block", json_object_new_boolean(m->flags & RPC_MAY_BLOCK));
	json_object_object_add(o, "x-sockbroker", x);
	return o;
}

static int rpc_daemon_discover(struct call *call, void *params)
{
	json_object *r = call_result(call), *info = json_object_new_object(), *methods;

	if (!r || !info)
		return -ENOMEM;
	json_object_object_add(r, "openrpc", json_object_new_string("1.2.6"));
	json_object_object_add(info, "title", json_object_new_string("sockbroker control protocol"));
	json_object_object_add(info, "version", json_object_new_string("1"));
	json_object_object_add(info, "x-daemon-version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(r, "info", info);
	methods = json_object_new_array();
	for (size_t i = 0; rpc_method_at(i); i++)
		json_object_array_add(methods, method_doc(rpc_method_at(i)));
	json_object_object_add(r, "methods", methods);
	return 0;
}

/* ---- daemon.info ---- */

static int rpc_daemon_info(struct call *call, void *params)
{
	struct server *s = srv_of(call);
	json_object *r = call_result(call);

	if (!r)
		return -ENOMEM;
	/* The unchanging members are shared, not rebuilt: json-c counts references. */
	add_const_key(r, "version", json_object_new_string(PACKAGE_VERSION));
	add_const_key(r, "protocol", json_object_new_int(1));
	add_const_key(r, "pid", json_object_new_int((int)s->pid));
	add_const_key(r, "uptime", json_seconds(server_uptime(s)));
	add_const_key(r, "families", json_object_get(s->families));
	add_const_key(r, "has_ipv6", json_object_new_boolean(s->has_ipv6));
	add_const_key(r, "limits", json_object_get(s->info_limits));
	add_const_key(r, "connections", json_object_new_int64(s->nconns));
	add_const_key(r, "http", http_listening_json(s->http));
	return 0;
}

/* ---- daemon.whoami ---- */

/* Rule names daemon.whoami lists; rules_total says how many match beyond. */
#define WHOAMI_MAX_RULES 64

static json_object *limits_json(const struct conn *c, const struct identity *id)
{
	json_object *l = json_object_new_object();
	struct policy_subject who;

	authz_subject_from(id, &who);
	json_object_object_add(l, "handles", json_object_new_int64(c->lim_handles));
	json_object_object_add(l, "pending", json_object_new_int64(c->lim_pending));
	json_object_object_add(l, "connections", json_object_new_int64(authz_connection_limit(&c->srv->authz, &who)));
	return l;
}

static int rpc_daemon_whoami(struct call *call, void *params)
{
	struct conn *c = call->conn;
	struct server *s = srv_of(call);
	json_object *r = call_result(call), *rules, *warnings;
	const struct identity *id;
	size_t total;

	if (!r)
		return -ENOMEM;
	/* The process that wrote this request, as every other request is judged. */
	if (!call->sender)
		conn_identity_retry(c);
	id = authz_call_identity(call, NULL);
	authz_identity_json(r, id);
	json_object_object_add(r, "pidfd", json_object_new_boolean(id->pidfd >= 0));
	json_object_object_add(r, "connection", json_object_new_uint64(c->serial));
	json_object_object_add(r, "opened_connection", json_object_new_boolean(!call->sender));
	/* Whether the embedded default would let this caller do everything. */
	json_object_object_add(r, "privileged", json_object_new_boolean(id->uid == 0 || id->uid == s->self_uid));
	rules = authz_rules_json_for(&s->authz, id, WHOAMI_MAX_RULES, &total);
	if (!rules)
		return -ENOMEM;
	json_object_object_add(r, "rules", rules);
	if (total > WHOAMI_MAX_RULES)
		json_object_object_add(r, "rules_total", json_object_new_uint64(total));
	/* Rules that name a part of the caller the daemon could not read: their
	 * deny entries apply to it, their allow entries do not. */
	rules = authz_rules_json_as(&s->authz, id, true, WHOAMI_MAX_RULES, &total);
	if (!rules)
		return -ENOMEM;
	json_object_object_add(r, "rules_unknown", rules);
	warnings = authz_warnings_json(&s->authz, id);
	if (!warnings)
		return -ENOMEM;
	json_object_object_add(r, "warnings", warnings);
	json_object_object_add(r, "limits", limits_json(c, id));
	return 0;
}

/* ---- daemon.ping ---- */

struct ping_params {
	double delay;
};

struct ping_park {
	struct loop_timer timer;
	struct call *call;
};

static void ping_fire(struct loop_timer *t)
{
	struct ping_park *p = (struct ping_park *)t;
	struct call *call = p->call;

	call->park = NULL;
	free(p);
	json_object_object_add(call_result(call), "pong", json_object_new_boolean(true));
	call_finish(call, 0);
}

static void ping_cancel(struct call *call)
{
	struct ping_park *p = call->park;

	loop_timer_disarm(call->conn->srv->loop, &p->timer);
	call->park = NULL;
	free(p);
}

static int rpc_daemon_ping(struct call *call, void *params)
{
	struct ping_params *pp = params;
	struct server *s = srv_of(call);
	struct ping_park *p;

	if (pp->delay > s->cfg.max_ping_delay_s)
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "delay must be at most %u seconds",
		                  s->cfg.max_ping_delay_s);
	if (pp->delay <= 0) {
		json_object_object_add(call_result(call), "pong", json_object_new_boolean(true));
		return 0;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->call = call;
	p->timer.cb = ping_fire;
	if (loop_timer_arm(s->loop, &p->timer, loop_now() + (uint64_t)(pp->delay * 1e9)) < 0) {
		free(p);
		return -ENOMEM;
	}
	call->park = p;
	call->cancel = ping_cancel;
	return CALL_PENDING;
}

static const struct param_desc ping_params[] = {
	{ "delay", PT_NUMBER, offsetof(struct ping_params, delay), PF_NONNEG,
	  .doc = "seconds to wait before answering (parks the request; at most max_ping_delay)" },
	{ 0 }
};

static const struct param_desc no_params[] = { { 0 } };

static const struct rpc_method methods[] = {
	{ .name = "rpc.discover",
	  .summary = "An OpenRPC document describing every method.",
	  .handler = rpc_daemon_discover,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"openrpc\",\"info\",\"methods\"]}",
	  .flags = RPC_INTROSPECT, },
	{ .name = "daemon.info",
	  .summary = "The daemon's version, protocol, pid, uptime, families and limits.",
	  .handler = rpc_daemon_info,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"version\",\"protocol\",\"pid\",\"uptime\",\"families\","
	  "\"has_ipv6\",\"limits\"],\"properties\":{\"version\":{\"type\":\"string\"},"
	  "\"protocol\":{\"const\":1},\"pid\":{\"type\":\"integer\"},\"uptime\":{\"type\":\"number\"},"
	  "\"families\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"has_ipv6\":{\"type\":\"boolean\"},\"limits\":{\"type\":\"object\"},"
	  "\"connections\":{\"type\":\"integer\"},"
	  "\"http\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}",
	  .flags = RPC_INTROSPECT, },
	{ .name = "daemon.whoami",
	  .summary = "The caller as the daemon sees it: uid, gid, pid, groups, and the rules that match it.",
	  .handler = rpc_daemon_whoami,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"uid\",\"gid\",\"pid\",\"groups\"],"
	  "\"properties\":{\"uid\":{\"type\":\"integer\"},\"gid\":{\"type\":\"integer\"},"
	  "\"pid\":{\"type\":\"integer\"},\"groups\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
	  "\"pidfd\":{\"type\":\"boolean\"},\"connection\":{\"type\":\"integer\"},"
	  "\"opened_connection\":{\"type\":\"boolean\"},"
	  "\"privileged\":{\"type\":\"boolean\"},\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"warnings\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"exe\":{\"type\":[\"string\",\"null\"]},\"cgroup\":{\"type\":[\"string\",\"null\"]},"
	  "\"unit\":{\"type\":[\"string\",\"null\"]},\"label\":{\"type\":[\"string\",\"null\"]},"
	  "\"unknown\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
	  "\"rules_unknown\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"identity_error\":{\"type\":\"string\"},\"limits\":{\"type\":\"object\"}}}",
	  .flags = RPC_INTROSPECT, },
	{ .name = "daemon.ping",
	  .summary = "Answers {pong: true}, after `delay` seconds if given (a parked request).",
	  .handler = rpc_daemon_ping,
	  .params = ping_params, .params_size = sizeof(struct ping_params),
	  .result_schema = "{\"type\":\"object\",\"properties\":{\"pong\":{\"const\":true}}}",
	  .flags = RPC_INTROSPECT | RPC_MAY_BLOCK, },
};

const struct rpc_family rpc_daemon_family = { methods, ARRAY_SIZE(methods) };
