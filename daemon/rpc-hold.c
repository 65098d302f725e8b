/* The hold.* methods: sockets held by name in the daemon-wide table (hold.h),
 * put and retrieved under the policy's `hold` and `retrieve` actions. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "authz.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "hold.h"
#include "jsonrpc.h"
#include "log.h"
#include "rpc.h"
#include "server.h"
#include "sock.h"
#include "util.h"

#define R_HELD "{\"type\":\"object\",\"required\":[\"name\",\"family\",\"type\",\"proto\"]}"

static struct hold_table *holds(struct call *call)
{
	return &call->conn->srv->holds;
}

/* The params' name, checked: 0 or -32602 naming "name". */
static int check_name(struct call *call, const char *name)
{
	const char *why;

	if (hold_name_check(name, strlen(name), &why) < 0)
		return call_error_param(call, "name", "name: %s", why);
	return 0;
}

/* A declared socket is the administrator's: it is retrieved, never taken
 * or removed by a client (sockets.d and a reload change it). */
static int read_only(struct call *call, const char *name)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "name", json_object_new_string(name));
	return call_error(call, SB_ERR_HELD_DECLARED, d, "\"%s\" is a declared socket (sockets.d): it can be "
	                  "retrieved, not taken or removed", name);
}

static int no_such(struct call *call, const char *name)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "name", json_object_new_string(name));
	return call_error(call, SB_ERR_NO_HELD, d, "no socket is held under the name \"%s\"", name);
}

/* A step of action about the held socket called name. */
static int ask_name(struct plan *pl, const struct plan_in *in, enum policy_action action, const char *name)
{
	int rc = plan_ask(pl, in, action);

	if (rc == 0)
		pl->steps[pl->n - 1].q.name = name;
	return rc;
}

static int put_error(struct call *call, int rc, const char *name);

/* ---- hold.put ---- */

struct p_put {
	const char *name;
	int64_t handle;
	double expires;
};

static const struct param_desc put_params[] = {
	{ "name", PT_STRING, offsetof(struct p_put, name), PF_REQUIRED,
	  .doc = "the name to hold it under: 1-200 bytes of UTF-8, no '/', not starting with '.'" },
	{ "handle", PT_INT, offsetof(struct p_put, handle), 0, 1, INT64_MAX, 0,
	  .doc = "the caller's handle whose socket to hold (or send one descriptor, fds: 1)" },
	{ "expires", PT_NUMBER, offsetof(struct p_put, expires), PF_NONNEG,
	  .doc = "seconds until the socket is removed (default: never)" },
	{ 0 }
};

/* The socket's own: a `hold` of its name; a descriptor sent with the
 * request comes into the daemon as socket.adopt's does, so `adopt` too. */
static int plan_put(struct plan *pl, const struct plan_in *in)
{
	const struct p_put *p = in->params;
	int rc;

	if (!p->handle && (rc = plan_ask(pl, in, POLICY_ADOPT)))
		return rc;
	return ask_name(pl, in, POLICY_HOLD, p->name);
}

static int rpc_hold_put(struct call *call, void *params)
{
	struct p_put *p = params;
	struct plan_in in = plan_in_of(call, NULL, NULL, NULL);
	const struct identity *id = authz_call_identity(call, NULL);
	struct hold_owner who = { id->uid, id->gid, id->pid, id->exe, id->token };
	struct plan pl;
	struct sock *sk = NULL;
	struct held *h;
	struct stat st;
	int fd, rc;
	socklen_t l = sizeof(int);

	if ((rc = check_name(call, p->name)))
		return rc;
	if (p->expires > HOLD_EXPIRES_MAX)
		return call_error_param(call, "expires", "expires: at most %.0f seconds", HOLD_EXPIRES_MAX);
	if (p->handle && call->nfds)
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "hold.put takes a handle or a descriptor, not both");
	if (p->handle) {
		if ((rc = sock_get(call, p->handle, &sk)))
			return rc;
		fd = sk->fd;
	} else if ((fd = call_peek_fd(call, 0)) < 0) {
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "hold.put needs a handle or a socket sent with it (fds: 1)");
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "hold.put: the descriptor sent is not a socket");
	in.family = sk ? sk->family : -1;
	in.type = sk ? sk->type : -1;
	in.proto = sk ? sk->proto : -1;
	if (!sk && (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &in.family, &l) < 0 ||
	            (l = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &in.type, &l)) < 0 ||
	            (l = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &in.proto, &l)) < 0))
		return -errno;
	if ((rc = plan_run(call, &in, &pl)))
		return rc;
	fd = sk ? fcntl(sk->fd, F_DUPFD_CLOEXEC, 3) : call_take_fd(call, 0);
	if (fd < 0)
		return -errno;
	rc = hold_put(holds(call), p->name, fd, &who, p->expires, &h);
	if (rc)
		return put_error(call, rc, p->name);
	log_msg(LOG_INFO, "held socket \"%s\" put by uid %u pid %d", h->name, (unsigned)h->uid, (int)h->pid);
	json_object_put(call->result);
	call->result = hold_info(h);
	return 0;
}

static int put_error(struct call *call, int rc, const char *name)
{
	if (rc == -EEXIST) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "name", json_object_new_string(name));
		return call_error(call, SB_ERR_HELD_EXISTS, d, "a socket is held under the name \"%s\" already", name);
	}
	if (rc == -EDQUOT)
		return call_error_limit(call, "held", holds(call)->max);
	return rc;
}

int rpc_hold_keep(struct call *call, const char *name, int fd, json_object *r)
{
	const struct identity *id = authz_call_identity(call, NULL);
	struct hold_owner who = { id->uid, id->gid, id->pid, id->exe, id->token };
	struct held *h;
	int rc = hold_put(holds(call), name, fd, &who, 0, &h);

	if (rc)
		return put_error(call, rc, name);
	json_object_object_add(r, "held", json_object_new_string(name));
	return 0;
}

int rpc_hold_check_param(struct call *call, const char *name)
{
	const char *why;

	if (hold_name_check(name, strlen(name), &why) < 0)
		return call_error_param(call, "hold", "hold: %s", why);
	return 0;
}

/* ---- hold.get / hold.take ---- */

struct p_get {
	const char *name;
	bool pass;
};

static const struct param_desc get_params[] = {
	{ "name", PT_STRING, offsetof(struct p_get, name), PF_REQUIRED, .doc = "the held socket's name" },
	{ "pass", PT_BOOL, offsetof(struct p_get, pass), 0,
	  .doc = "answer with a descriptor (SCM_RIGHTS) instead of a new handle" },
	{ 0 }
};

/* A `retrieve` of the name, and, passed, a hand-out of the socket: the
 * descriptor leaves the daemon, which takes an explicit `create` grant as
 * every hand-out does (policy.md section 14). An unknown socket (family -1,
 * no such name) is asked only the retrieve, so that a caller learns whether
 * a name is held only when it may retrieve it. */
static int plan_get_common(struct plan *pl, const struct plan_in *in, bool take)
{
	const struct p_get *p = in->params;
	int rc;

	if ((rc = ask_name(pl, in, POLICY_RETRIEVE, p->name)))
		return rc;
	if (take && (rc = ask_name(pl, in, POLICY_HOLD, p->name)))
		return rc;
	return p->pass && in->family >= 0 ? plan_ask_hand_out(pl, in->family, in->type, in->proto) : 0;
}

static int plan_get(struct plan *pl, const struct plan_in *in)
{
	return plan_get_common(pl, in, false);
}

static int plan_take(struct plan *pl, const struct plan_in *in)
{
	return plan_get_common(pl, in, true);
}

static int get_common(struct call *call, struct p_get *p, bool take)
{
	struct plan_in in = plan_in_of(call, NULL, NULL, NULL);
	json_object *r = call_result(call);
	struct plan pl;
	struct held *h;
	struct sock *sk;
	int fd, family, type, proto, rc;

	if ((rc = check_name(call, p->name)))
		return rc;
	h = hold_find(holds(call), p->name);
	if (h) {
		in.family = h->family;
		in.type = h->type;
		in.proto = h->proto;
	}
	if ((rc = plan_run(call, &in, &pl)))
		return rc;
	if (!h)
		return no_such(call, p->name);
	if (take && h->declared)
		return read_only(call, p->name);
	family = h->family;
	type = h->type;
	proto = h->proto;
	if (!take) {
		fd = hold_dup(h);
		if (fd < 0)
			return fd;
	}
	if (!p->pass) {
		int fl;
		/* A handle's descriptor is non-blocking; the open file is shared
		 * with the held one (as socket.fd's duplicates are). */
		if (take)
			fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -errno;
		if ((fl = fcntl(fd, F_GETFL)) >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		rc = sock_new(call->conn, fd, family, type, proto, &sk);
		if (rc == -EDQUOT)
			return call_error_limit(call, "handles", call->conn->lim_handles);
		if (rc < 0)
			return rc;
		json_object_object_add(r, "handle", json_object_new_uint64(sk->handle));
		if (take)
			hold_remove(h);
	} else {
		if (take)
			fd = hold_take(h);
		if ((rc = call_push_fd(call, fd)) < 0)
			return rc;
	}
	json_object_object_add(r, "name", json_object_new_string(p->name));
	json_object_object_add(r, "family", sbc_to_json(SBC_AF, family));
	json_object_object_add(r, "type", sbc_to_json(SBC_SOCK, type));
	json_object_object_add(r, "proto", sbc_to_json(SBC_IPPROTO, proto));
	return 0;
}

static int rpc_hold_get(struct call *call, void *params)
{
	return get_common(call, params, false);
}

static int rpc_hold_take(struct call *call, void *params)
{
	return get_common(call, params, true);
}

/* ---- hold.remove ---- */

struct p_name {
	const char *name;
};

static const struct param_desc name_params[] = {
	{ "name", PT_STRING, offsetof(struct p_name, name), PF_REQUIRED, .doc = "the held socket's name" },
	{ 0 }
};

static int plan_remove(struct plan *pl, const struct plan_in *in)
{
	return ask_name(pl, in, POLICY_HOLD, ((const struct p_name *)in->params)->name);
}

static int rpc_hold_remove(struct call *call, void *params)
{
	struct p_name *p = params;
	struct plan_in in = plan_in_of(call, NULL, NULL, NULL);
	struct plan pl;
	struct held *h;
	int rc;

	if ((rc = check_name(call, p->name)))
		return rc;
	h = hold_find(holds(call), p->name);
	if (h) {
		in.family = h->family;
		in.type = h->type;
		in.proto = h->proto;
	}
	if ((rc = plan_run(call, &in, &pl)))
		return rc;
	if (!h)
		return no_such(call, p->name);
	if (h->declared)
		return read_only(call, p->name);
	hold_remove(h);
	call_result(call);
	return 0;
}

/* ---- hold.list ---- */

struct p_list {
	int64_t max;
	const char *after;
};

/* A page of 10000 entries is some 2.5 MB, within --max-queued-bytes'
 * default 4 MiB: a longer list is read page by page (after). */
static const struct param_desc list_params[] = {
	{ "max", PT_INT, offsetof(struct p_list, max), 0, 1, 10000, 1000,
	  .doc = "the most sockets to list (default 1000, at most 10000)" },
	{ "after", PT_STRING, offsetof(struct p_list, after), 0,
	  .doc = "list what was held after this name (the `next` of the page before)" },
	{ 0 }
};

static int plan_list(struct plan *pl, const struct plan_in *in)
{
	(void)in;
	pl->note = "lists only the held sockets the caller may retrieve or hold (judged quietly per name)";
	return 0;
}

/* Whether the caller may retrieve or hold h: what it may see of it. */
static bool visible(struct call *call, const struct held *h)
{
	struct policy_request q = { .action = POLICY_RETRIEVE, .family = h->family, .type = h->type,
	                            .proto = h->proto, .level = -1, .option = -1, .message = -1, .name = h->name };

	if (authz_allows(call, &q))
		return true;
	q.action = POLICY_HOLD;
	return authz_allows(call, &q);
}

static int rpc_hold_list(struct call *call, void *params)
{
	struct p_list *p = params;
	json_object *r = call_result(call), *arr;
	struct held *start = holds(call)->first, *last = NULL;
	size_t total = 0, listed = 0;
	bool before = p->after != NULL, more = false;
	int rc;

	if (p->after) {
		if ((rc = check_name(call, p->after)))
			return rc;
		/* A name gone since the page before: the caller starts again. */
		if (!(start = hold_find(holds(call), p->after)) || !visible(call, start))
			return no_such(call, p->after);
	}
	arr = json_object_new_array();
	/* total counts every visible socket; the page starts after `after` (in
	 * put order, which hold.list keeps). */
	for (struct held *h = holds(call)->first; h; h = h->next) {
		if (!visible(call, h))
			continue;
		total++;
		if (before) {
			before = h != start;
			continue;
		}
		if (listed < (size_t)p->max) {
			json_object_array_add(arr, hold_info(h));
			listed++;
			last = h;
		} else {
			more = true;
		}
	}
	json_object_object_add(r, "held", arr);
	json_object_object_add(r, "total", json_object_new_uint64(total));
	json_object_object_add(r, "truncated", json_object_new_boolean(more));
	/* More follow: the cursor for the next page. */
	if (more)
		json_object_object_add(r, "next", json_object_new_string(last->name));
	return 0;
}

/* ---- the table ---- */

static const struct rpc_method methods[] = {
	{ .name = "hold.put",
	  .summary = "Holds a socket (the caller's handle, or a descriptor sent with fds: 1) under a name, "
	             "beyond every connection.",
	  .handler = rpc_hold_put,
	  .params = put_params, .params_size = sizeof(struct p_put),
	  .result_schema = R_HELD,
	  .flags = RPC_TAKES_FDS | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_RECEIVED,
	  .plan = plan_put, },
	{ .name = "hold.get",
	  .summary = "A held socket: a new handle of the caller's, or with pass a descriptor; it stays held.",
	  .handler = rpc_hold_get,
	  .params = get_params, .params_size = sizeof(struct p_get),
	  .result_schema = R_HELD,
	  .flags = RPC_RETURNS_FDS | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_RECEIVED,
	  .plan = plan_get, },
	{ .name = "hold.take",
	  .summary = "hold.get, and the socket is held no longer.",
	  .handler = rpc_hold_take,
	  .params = get_params, .params_size = sizeof(struct p_get),
	  .result_schema = R_HELD,
	  .flags = RPC_RETURNS_FDS | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_RECEIVED,
	  .plan = plan_take, },
	{ .name = "hold.remove",
	  .summary = "Closes a held socket and forgets its name.",
	  .handler = rpc_hold_remove,
	  .params = name_params, .params_size = sizeof(struct p_name),
	  .result_schema = "{\"type\":\"object\"}",
	  .flags = RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_RECEIVED,
	  .plan = plan_remove, },
	{ .name = "hold.list",
	  .summary = "The held sockets the caller may retrieve or hold: name, kind, local address, owner, "
	             "put time, retrievals, expiry.",
	  .handler = rpc_hold_list,
	  .params = list_params, .params_size = sizeof(struct p_list),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"held\",\"total\",\"truncated\"]}",
	  .plan = plan_list, },
};

const struct rpc_family rpc_hold_family = { methods, ARRAY_SIZE(methods) };
