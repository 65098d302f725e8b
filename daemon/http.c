/* The HTTP face (http.h). libmicrohttpd runs in "external" mode with its own
 * epoll set: that epoll descriptor is one descriptor of our loop, MHD_run
 * runs when it is readable, and MHD_get_timeout arms one timer of ours. So
 * every callback below runs on the loop's thread, between other events, and
 * touches daemon state as any handler does.
 *
 * A request that shows daemon state is a JSON-RPC request run as the caller
 * on a virtual connection (conn_new_virtual): the dispatcher, the policy,
 * the limits and the audit are those of the control socket. A request whose
 * method parks (a look-up) suspends its HTTP connection until the call
 * ends. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "authz.h"
#include "conn.h"
#include "dispatch.h"
#include "http.h"
#include "http-token.h"
#include "http-ui.h"
#include "identity.h"
#include "jsonrpc.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "sock.h"
#include "util.h"

/* An idle audit stream gets a comment this often: a client that went away
 * is noticed by the write that fails. */
#define HTTP_STREAM_KEEPALIVE_NS (15ull * 1000000000ull)
/* The HTTP face's share of the loop is measured over windows this long. */
#define HTTP_BUDGET_WINDOW_NS (100ull * 1000000ull)

struct http_listener {
	struct http_server *h;
	struct MHD_Daemon *d;
	bool is_unix;
	char *name;                 /* "unix:/path" or "tcp:127.0.0.1:8780", as bound */
	char *path;                 /* the UNIX socket we made (removed at stop); NULL otherwise */
	char *spec;                 /* the --http it serves; NULL: activated */
	dev_t dev;
	ino_t ino;
	struct loop_io io;          /* MHD's epoll descriptor */
	bool io_added;
	struct loop_timer timer;    /* MHD's next timeout */
	struct loop_defer kick;     /* MHD_run after a resume */
	unsigned nconns;            /* connections after the last run */
};

struct http_req;

struct http_stream;

struct http_server {
	struct server *srv;
	struct http_listener l[SBD_HTTP_MAX_LISTENERS];
	size_t n;
	struct conn_ops vops;       /* of the virtual connections */
	struct http_req *reqs;      /* requests alive, for http_stop */
	struct http_stream *streams;    /* audit streams alive */
	struct http_tokens tokens;  /* --http-token-file */
	bool stopping;
	/* The loop time MHD may take (--http-max-cpu-percent): used in the
	 * current window; past the budget the listeners pause until it ends. */
	uint64_t window_start, window_used;
	bool paused;
	bool frozen;                /* http_freeze: a restart is under way */
	struct loop_timer unpause;
	uint64_t pauses;
};

/* One GET /v1/audit/stream: records as Server-Sent Events, queued up to
 * --http-max-stream-bytes for a client that reads slower than they come. */
struct http_stream {
	struct http_server *h;
	struct http_listener *l;
	struct MHD_Connection *mc;
	struct http_stream *prev, *next;
	struct audit_sub sub;
	char *q;
	size_t qlen, qoff, qcap;
	bool suspended;
	bool ended;                 /* over its queue limit, or the daemon stops: the stream ends */
	struct loop_timer keepalive;
	struct identity caller;     /* judged again when the policy changes */
};

/* Who is on the other end of one HTTP connection (a unix: listener's peer). */
struct http_peer {
	struct identity id;
};

enum route_kind {
	R_HEALTH, R_INFO, R_WHOAMI, R_CLIENTS, R_CLIENT, R_SOCKETS, R_SOCKET, R_POLICY, R_POLICY_CHECK,
	R_AUDIT, R_AUDIT_STREAM, R_METRICS, R_RPC, R_UI, R_OPENAPI,
};

struct route {
	const char *path;           /* exact; with has_id, the prefix before "/{id}" */
	bool has_id;
	bool post;                  /* POST (else GET and HEAD) */
	bool anonymous;             /* open to a tcp: caller without a token (unless --http-anonymous=none) */
	enum route_kind kind;
	const char *method;         /* the JSON-RPC method it runs; NULL: none */
};

static const struct route routes[] = {
	{ "/healthz", false, false, true, R_HEALTH, NULL },
	{ "/v1/info", false, false, true, R_INFO, "daemon.info" },
	{ "/v1/whoami", false, false, false, R_WHOAMI, "daemon.whoami" },
	{ "/v1/clients", false, false, false, R_CLIENTS, "admin.clients" },
	{ "/v1/clients", true, false, false, R_CLIENT, "admin.clients" },
	{ "/v1/sockets", false, false, false, R_SOCKETS, "admin.sockets" },
	{ "/v1/sockets", true, false, false, R_SOCKET, "admin.sockets" },
	{ "/v1/policy", false, false, false, R_POLICY, "policy.rules" },
	{ "/v1/policy/check", false, true, false, R_POLICY_CHECK, "policy.check" },
	{ "/v1/audit", false, false, false, R_AUDIT, "admin.audit" },
	{ "/v1/audit/stream", false, false, false, R_AUDIT_STREAM, "admin.audit" },
	{ "/metrics", false, false, true, R_METRICS, NULL },
	{ "/rpc", false, true, false, R_RPC, NULL },
	/* The page holds no data: what it shows it asks for, as its caller. */
	{ "/", false, false, true, R_UI, NULL },
	{ "/v1/openapi.json", false, false, true, R_OPENAPI, NULL },
};

struct http_req {
	struct http_listener *l;
	struct MHD_Connection *mc;
	struct http_req *prev, *next;
	char *uri;                  /* as sent, before unescaping */
	const struct route *route;
	uint64_t id;                /* the route's {id} */
	bool started;               /* the first call of the handler is over */
	bool is_head;
	/* The body, up to --http-max-body-bytes. */
	char *body;
	size_t len;
	bool too_big;
	/* The caller. */
	struct identity caller;
	/* The JSON-RPC call run for it. */
	struct conn *vc;
	json_object *reply;
	bool rpc_ended;
	bool suspended;
	/* The response, once known. */
	unsigned status;
	char *resp;                 /* malloc'd body, or a constant one (resp_const) */
	size_t resp_len;
	bool resp_const;
	const char *csp;            /* Content-Security-Policy, for the page */
	const char *ctype;
	const char *allow;          /* for 405 */
	bool www_auth;              /* for 401 */
};

static void listener_run(struct http_listener *l);
static int req_may_rpc(struct http_req *r);

/* ---- responses ---- */

static void req_set(struct http_req *r, unsigned status, const char *ctype, char *body, size_t len)
{
	if (!r->resp_const)
		free(r->resp);
	r->resp_const = false;
	r->status = status;
	r->ctype = ctype;
	r->resp = body;
	r->resp_len = len;
}

static void req_set_json(struct http_req *r, unsigned status, json_object *o)
{
	size_t len = 0;
	const char *t = o ? json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	                                                      &len) : NULL;
	char *copy = t ? malloc(len + 2) : NULL;

	if (!copy) {
		json_object_put(o);
		req_set(r, 500, "application/json", strdup("{\"error\":{\"status\":500,\"reason\":\"out of memory\"}}"),
		        0);
		if (r->resp)
			r->resp_len = strlen(r->resp);
		return;
	}
	memcpy(copy, t, len);
	copy[len++] = '\n';
	copy[len] = '\0';
	json_object_put(o);
	req_set(r, status, "application/json", copy, len);
}

/* {"error": {"status", "reason"} + extra's members}; extra taken. */
static void req_error(struct http_req *r, unsigned status, json_object *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void req_error(struct http_req *r, unsigned status, json_object *extra, const char *fmt, ...)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	json_object_object_add(e, "status", json_object_new_int((int)status));
	json_object_object_add(e, "reason", json_object_new_string(reason));
	if (extra) {
		json_object_object_foreach(extra, k, v) json_object_object_add(e, k, json_object_get(v));
		json_object_put(extra);
	}
	json_object_object_add(o, "error", e);
	req_set_json(r, status, o);
}

static unsigned status_of_rpc_error(int code)
{
	switch (code) {
	case SB_ERR_DENIED:
		return 403;
	case SB_ERR_NO_HANDLE:
	case JRPC_METHOD_NOT_FOUND:
		return 404;
	case SB_ERR_LIMIT:
		return 429;
	case JRPC_INVALID_PARAMS:
	case JRPC_INVALID_REQUEST:
	case JRPC_PARSE_ERROR:
		return 400;
	case SB_ERR_TIMEOUT:
		return 504;
	default:
		return 500;
	}
}

static enum MHD_Result queue(struct http_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->resp_len, r->resp,
	                                       r->resp_const ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
	if (!resp)
		return MHD_NO;
	r->resp = NULL;
	r->resp_const = false;
	if (r->csp)
		MHD_add_response_header(resp, "Content-Security-Policy", r->csp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->www_auth)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"sockbroker\"");
	ret = MHD_queue_response(r->mc, r->status, resp);
	MHD_destroy_response(resp);
	metrics_http_response(r->l->h->srv->metrics, r->status);
	return ret;
}

/* ---- the JSON-RPC bridge ---- */

static void vconn_deliver(struct conn *c, json_object *reply)
{
	struct http_req *r = c->owner;

	if (!r || r->reply) {
		json_object_put(reply);
		return;
	}
	r->reply = reply;
}

static void req_resume(struct http_req *r)
{
	if (!r->suspended)
		return;
	r->suspended = false;
	MHD_resume_connection(r->mc);
	/* In external mode MHD picks a resumed connection up on its next run. */
	loop_defer(r->l->h->srv->loop, &r->l->kick);
}

static void vconn_gone(struct conn *c)
{
	struct http_req *r = c->owner;

	/* Handles close with their connection, as on the control socket. */
	sock_close_all(c);
	if (!r)
		return;
	c->owner = NULL;
	r->vc = NULL;
	r->rpc_ended = true;
	req_resume(r);
}

static void vconn_identity(struct conn *c)
{
	authz_conn_update(c);
}

/* Runs text (a JSON-RPC message, single or batch) as the caller. When it
 * ends at once, r->rpc_ended is set on return; else the call is parked and
 * vconn_gone resumes the request. 0 or -errno. */
static int req_dispatch(struct http_req *r, const char *text, size_t len)
{
	struct http_server *h = r->l->h;
	struct identity id;
	struct frame_msg msg = { .data = text, .len = len, .sender = CONN_TOKEN_SELF };
	int e;

	e = identity_copy(&r->caller, &id);
	if (e < 0)
		return e;
	e = conn_new_virtual(&h->srv->conn_env, &h->vops, &id, vconn_deliver, r, &r->vc);
	if (e < 0) {
		identity_free(&id);
		return e;
	}
	authz_conn_update(r->vc);
	dispatch_message(r->vc, &msg);
	if (r->vc)
		conn_check_done(r->vc);
	return 0;
}

static int req_run_method(struct http_req *r, const char *method, json_object *params)
{
	json_object *o = json_object_new_object();
	const char *text;
	size_t len;
	int e;

	if (!o) {
		json_object_put(params);
		return -ENOMEM;
	}
	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", json_object_new_int(1));
	json_object_object_add(o, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(o, "params", params);
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	e = text ? req_dispatch(r, text, len) : -ENOMEM;
	json_object_put(o);
	return e;
}

/* ---- what each route makes of its method's result ---- */

static json_object *find_by(json_object *arr, const char *key, uint64_t id)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i), *v;
		if (json_object_object_get_ex(e, key, &v) && (uint64_t)json_object_get_uint64(v) == id)
			return e;
	}
	return NULL;
}

static const char *sock_state(json_object *s)
{
	json_object *v;

	if (json_object_object_get_ex(s, "listening", &v) && json_object_get_boolean(v))
		return "listening";
	if (json_object_object_get_ex(s, "peer", &v) && v)
		return "connected";
	return "open";
}

/* "AF_INET", "INET", "inet" and "2" all name AF_INET. */
static bool family_matches(json_object *fam, const char *want)
{
	const char *name = json_object_get_string(fam);
	char num[24];

	if (!name)
		return false;
	if (strncasecmp(want, "AF_", 3) == 0)
		want += 3;
	if (strncasecmp(name, "AF_", 3) == 0)
		name += 3;
	if (strcasecmp(name, want) == 0)
		return true;
	if (json_object_is_type(fam, json_type_int)) {
		snprintf(num, sizeof(num), "%d", json_object_get_int(fam));
		return strcmp(num, want) == 0;
	}
	return false;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static void sockets_result(struct http_req *r, json_object *result)
{
	json_object *arr = NULL, *out = json_object_new_array(), *o;
	const char *client = MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, "client");
	const char *family = MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, "family");
	const char *state = MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, "state");
	uint64_t cid = 0;
	size_t n;

	json_object_object_get_ex(result, "sockets", &arr);
	n = arr ? json_object_array_length(arr) : 0;
	if (client && parse_u64(client, &cid) < 0) {
		json_object_put(out);
		req_error(r, 400, NULL, "client: '%.64s' is not a connection number", client);
		return;
	}
	if (state && strcmp(state, "listening") && strcmp(state, "connected") && strcmp(state, "open")) {
		json_object_put(out);
		req_error(r, 400, NULL, "state: '%.64s' is none of listening, connected, open", state);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(arr, i), *v;
		const char *st = sock_state(s);

		if (client && (!json_object_object_get_ex(s, "connection", &v) || (uint64_t)json_object_get_uint64(v) != cid))
			continue;
		if (family && (!json_object_object_get_ex(s, "family", &v) || !family_matches(v, family)))
			continue;
		if (state && strcmp(state, st) != 0)
			continue;
		json_object_object_add(s, "state", json_object_new_string(st));
		json_object_array_add(out, json_object_get(s));
	}
	if (r->route->kind == R_SOCKET) {
		json_object *one = find_by(out, "handle", r->id);
		if (!one) {
			json_object_put(out);
			req_error(r, 404, NULL, "no socket with handle %llu", (unsigned long long)r->id);
			return;
		}
		req_set_json(r, 200, json_object_get(one));
		json_object_put(out);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "sockets", out);
	req_set_json(r, 200, o);
}

/* The call ended: its reply becomes the response. */
static void req_rpc_response(struct http_req *r)
{
	json_object *err, *result = NULL, *v;

	if (r->route->kind == R_RPC) {
		if (!r->reply) {
			/* Only notifications: nothing to answer (JSON-RPC over HTTP: 204). */
			req_set(r, 204, "application/json", NULL, 0);
			return;
		}
		req_set_json(r, 200, TAKE_PTR(r->reply));
		return;
	}
	if (!r->reply) {
		req_error(r, 500, NULL, "the daemon gave no answer");
		return;
	}
	if (json_object_object_get_ex(r->reply, "error", &err)) {
		json_object *extra = json_object_new_object();
		int code = json_object_object_get_ex(err, "code", &v) ? json_object_get_int(v) : 0;
		const char *msg = json_object_object_get_ex(err, "message", &v) ? json_object_get_string(v) : "error";

		json_object_object_add(extra, "code", json_object_new_int(code));
		json_object_object_add(extra, "message", json_object_new_string(msg));
		if (json_object_object_get_ex(err, "data", &v))
			json_object_object_add(extra, "data", json_object_get(v));
		req_error(r, status_of_rpc_error(code), extra, "%s", msg);
		return;
	}
	json_object_object_get_ex(r->reply, "result", &result);
	switch (r->route->kind) {
	case R_CLIENT: {
		json_object *arr = NULL, *one;
		json_object_object_get_ex(result, "clients", &arr);
		one = find_by(arr, "connection", r->id);
		if (!one)
			req_error(r, 404, NULL, "no client with connection %llu", (unsigned long long)r->id);
		else
			req_set_json(r, 200, json_object_get(one));
		break;
	}
	case R_SOCKETS:
	case R_SOCKET:
		sockets_result(r, result);
		break;
	case R_WHOAMI:
		json_object_object_add(result, "via", json_object_new_string(r->l->is_unix ? "http-unix" : "http-tcp"));
		req_set_json(r, 200, json_object_get(result));
		break;
	default:
		req_set_json(r, 200, json_object_get(result));
		break;
	}
}

/* ---- the audit stream (Server-Sent Events) ---- */

static void stream_wake(struct http_stream *st)
{
	if (!st->suspended)
		return;
	st->suspended = false;
	MHD_resume_connection(st->mc);
	loop_defer(st->h->srv->loop, &st->l->kick);
}

/* Ends a stream whose client does not read: MHD would wait for it to read
 * (a connection blocked in a write has no timeout in libmicrohttpd 0.9.75),
 * so the socket is shut down under it, and MHD closes the connection on
 * the error that follows. The descriptor stays MHD's to close. */
static void stream_end(struct http_stream *st)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(st->mc, MHD_CONNECTION_INFO_CONNECTION_FD);

	st->ended = true;
	authz_audit_unsubscribe(&st->h->srv->authz, &st->sub);
	if (ci)
		shutdown(ci->connect_fd, SHUT_RDWR);
	stream_wake(st);
	loop_defer(st->h->srv->loop, &st->l->kick);
}

/* Appends one event; past the limit the stream ends instead (a client that
 * does not read costs at most --http-max-stream-bytes). */
static void stream_put(struct http_stream *st, const char *text, size_t len)
{
	size_t max = st->h->srv->cfg.http_max_stream_bytes;

	if (st->ended)
		return;
	if (st->qoff && st->qoff == st->qlen)
		st->qoff = st->qlen = 0;
	if (st->qlen - st->qoff + len > max) {
		log_info("http %s: an audit stream's client reads slower than records come (%zu bytes queued); "
		         "ending the stream", st->l->name, st->qlen - st->qoff);
		stream_end(st);
		return;
	}
	if (st->qlen + len > st->qcap) {
		size_t cap;
		char *q;

		if (st->qoff) {
			memmove(st->q, st->q + st->qoff, st->qlen - st->qoff);
			st->qlen -= st->qoff;
			st->qoff = 0;
		}
		cap = st->qcap ? st->qcap : 4096;
		while (cap < st->qlen + len)
			cap *= 2;
		if (cap != st->qcap) {
			q = realloc(st->q, cap);
			if (!q) {
				stream_end(st);
				return;
			}
			st->q = q;
			st->qcap = cap;
		}
	}
	memcpy(st->q + st->qlen, text, len);
	st->qlen += len;
	stream_wake(st);
}

static void stream_event(struct http_stream *st, uint64_t seq, const char *json, size_t len)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "id: %llu\nevent: audit\ndata: ", (unsigned long long)seq);
	char *ev = malloc((size_t)n + len + 3);

	if (!ev)
		return;
	memcpy(ev, head, (size_t)n);
	memcpy(ev + n, json, len);
	memcpy(ev + n + len, "\n\n", 2);
	stream_put(st, ev, (size_t)n + len + 2);
	free(ev);
}

static void stream_on_record(struct audit_sub *sub, uint64_t seq, const char *json, size_t len)
{
	stream_event((struct http_stream *)((char *)sub - offsetof(struct http_stream, sub)), seq, json, len);
}

static void stream_on_keepalive(struct loop_timer *t)
{
	struct http_stream *st = (struct http_stream *)((char *)t - offsetof(struct http_stream, keepalive));

	stream_put(st, ": keepalive\n\n", 13);
	loop_timer_arm(st->h->srv->loop, &st->keepalive, loop_now() + HTTP_STREAM_KEEPALIVE_NS);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *st = cls;
	size_t n = st->qlen - st->qoff;

	(void)pos;
	if (n) {
		if (n > max)
			n = max;
		memcpy(buf, st->q + st->qoff, n);
		st->qoff += n;
		return (ssize_t)n;
	}
	if (st->ended)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	/* Nothing to send: off MHD's loop until a record (or a keep-alive) comes. */
	st->suspended = true;
	MHD_suspend_connection(st->mc);
	return 0;
}

static void stream_free(void *cls)
{
	struct http_stream *st = cls;
	struct http_server *h = st->h;

	authz_audit_unsubscribe(&h->srv->authz, &st->sub);
	loop_timer_disarm(h->srv->loop, &st->keepalive);
	if (st->prev)
		st->prev->next = st->next;
	else if (h->streams == st)
		h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	identity_free(&st->caller);
	free(st->q);
	free(st);
}

/* admin.audit allowed the caller: the records it returned, then every new
 * one as it is made. */
static enum MHD_Result stream_start(struct http_req *r, json_object *result)
{
	struct http_server *h = r->l->h;
	struct http_stream *st = calloc(1, sizeof(*st));
	struct MHD_Response *resp;
	json_object *recs = NULL;
	enum MHD_Result ret;
	size_t n, recs_from;

	if (!st)
		return MHD_NO;
	if (identity_copy(&r->caller, &st->caller) < 0) {
		free(st);
		return MHD_NO;
	}
	st->h = h;
	st->l = r->l;
	st->mc = r->mc;
	st->sub.on_record = stream_on_record;
	st->keepalive.cb = stream_on_keepalive;
	st->next = h->streams;
	if (st->next)
		st->next->prev = st;
	h->streams = st;
	json_object_object_get_ex(result, "records", &recs);
	n = recs ? json_object_array_length(recs) : 0;
	/* An opening comment, so a client sees the stream is up at once. */
	stream_put(st, ": sockbroker audit stream\n\n", 27);
	/* What came before the stream takes at most half of its queue: the
	 * newest records, and a comment saying where the rest can be read. */
	{
		size_t room = h->srv->cfg.http_max_stream_bytes / 2, used = 0, first = n;

		while (first > 0) {
			size_t len = 0;
			json_object_to_json_string_length(json_object_array_get_idx(recs, first - 1),
			                                  JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
			if (used + len + 48 > room)
				break;
			used += len + 48;
			first--;
		}
		if (first > 0) {
			char note[160];
			json_object *seq = NULL;
			int k;

			json_object_object_get_ex(json_object_array_get_idx(recs, first), "seq", &seq);
			k = snprintf(note, sizeof(note), ": %zu earlier records left out; GET /v1/audit?since=... "
			             "reads them (this stream starts at %llu)\n\n", first,
			             (unsigned long long)json_object_get_uint64(seq));
			stream_put(st, note, (size_t)k);
		}
		recs_from = first;
	}
	for (size_t i = recs_from; i < n; i++) {
		json_object *rec = json_object_array_get_idx(recs, i), *seq;
		size_t len;
		const char *text = json_object_to_json_string_length(rec, JSON_C_TO_STRING_PLAIN |
		                                                     JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		if (text && json_object_object_get_ex(rec, "seq", &seq))
			stream_event(st, json_object_get_uint64(seq), text, len);
	}
	authz_audit_subscribe(&h->srv->authz, &st->sub);
	loop_timer_arm(h->srv->loop, &st->keepalive, loop_now() + HTTP_STREAM_KEEPALIVE_NS);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
	if (!resp) {
		stream_free(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(r->mc, 200, resp);
	MHD_destroy_response(resp);
	metrics_http_response(h->srv->metrics, 200);
	return ret;
}

/* ---- routes ---- */

static json_object *audit_params(struct http_req *r, bool *bad)
{
	const char *since = MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, "since");
	const char *limit = MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, "limit");

	/* A reconnecting EventSource says where it was. */
	if (!since && r->route->kind == R_AUDIT_STREAM)
		since = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, "Last-Event-ID");
	json_object *p = json_object_new_object();
	uint64_t v;

	*bad = false;
	if (since) {
		if (parse_u64(since, &v) < 0 || v > INT64_MAX) {
			req_error(r, 400, NULL, "since: '%.64s' is not a record number", since);
			*bad = true;
		} else {
			json_object_object_add(p, "since", json_object_new_int64((int64_t)v));
		}
	}
	if (limit && !*bad) {
		if (parse_u64(limit, &v) < 0 || v > INT32_MAX) {
			req_error(r, 400, NULL, "limit: '%.64s' is not a count", limit);
			*bad = true;
		} else {
			json_object_object_add(p, "limit", json_object_new_int64((int64_t)v));
		}
	}
	if (*bad) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

static void health(struct http_req *r)
{
	struct server *s = r->l->h->srv;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "uptime", json_seconds(server_uptime(s)));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "loop_events", json_object_new_uint64(loop_event_count(s->loop)));
	req_set_json(r, 200, o);
}

/* Runs the route: either the response is set (r->status) or a call runs. */
static void route_run(struct http_req *r)
{
	const struct route *rt = r->route;
	json_object *params = NULL;
	int e;

	switch (rt->kind) {
	case R_HEALTH:
		health(r);
		return;
	case R_UI:
		req_set(r, 200, "text/html; charset=utf-8", (char *)http_ui_html, http_ui_html_len);
		r->resp_const = true;
		/* Its script and style are inline; it talks only to this daemon. */
		r->csp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
		         "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
		         "frame-ancestors 'none'";
		return;
	case R_OPENAPI:
		req_set(r, 200, "application/json", (char *)http_openapi_json, http_openapi_json_len);
		r->resp_const = true;
		return;
	case R_METRICS: {
		char *text = NULL;
		size_t len = 0;
		e = metrics_render(r->l->h->srv, &text, &len);
		if (e < 0) {
			req_error(r, 500, NULL, "cannot render the metrics: %s", strerror(-e));
			return;
		}
		req_set(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
		return;
	}
	case R_RPC: {
		const char *ct = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
			req_error(r, 415, NULL, "POST /rpc takes Content-Type: application/json");
			return;
		}
		if (!r->body || !r->len) {
			req_error(r, 400, NULL, "POST /rpc needs a JSON-RPC request as its body");
			return;
		}
		/* One message: newlines inside would split it on the control socket. */
		for (size_t i = 0; i < r->len; i++)
			if (r->body[i] == '\n' || r->body[i] == '\r')
				r->body[i] = ' ';
		if (!r->l->is_unix && req_may_rpc(r) < 0)
			return;
		e = req_dispatch(r, r->body, r->len);
		break;
	}
	case R_POLICY_CHECK: {
		enum json_tokener_error jerr;
		params = r->len ? json_tokener_parse_verbose(r->body, &jerr) : NULL;
		if (!params || !json_object_is_type(params, json_type_object)) {
			json_object_put(params);
			req_error(r, 400, NULL, "POST /v1/policy/check takes the params of policy.check as a JSON object");
			return;
		}
		e = req_run_method(r, rt->method, params);
		break;
	}
	case R_AUDIT:
	case R_AUDIT_STREAM: {
		bool bad;
		params = audit_params(r, &bad);
		if (bad)
			return;
		e = req_run_method(r, rt->method, params);
		break;
	}
	default:
		e = req_run_method(r, rt->method, NULL);
		break;
	}
	if (e < 0)
		req_error(r, 500, NULL, "cannot run the request: %s", strerror(-e));
}

static const struct route *route_find(const char *url, uint64_t *id, bool *bad_id)
{
	*bad_id = false;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);

		if (!rt->has_id) {
			if (strcmp(url, rt->path) == 0)
				return rt;
			continue;
		}
		if (strncmp(url, rt->path, n) == 0 && url[n] == '/' && url[n + 1]) {
			if (parse_u64(url + n + 1, id) < 0)
				*bad_id = true;
			return rt;
		}
	}
	return NULL;
}

/* Dot segments, empty segments and escaped slashes or backslashes are
 * refused, not normalised: no path means two things. */
static const char *path_problem(const char *uri)
{
	size_t n = strcspn(uri, "?#");

	if (n == 0 || uri[0] != '/')
		return "the path must start with /";
	for (size_t i = 0; i < n; i++) {
		if (uri[i] == '%') {
			char a = i + 1 < n ? uri[i + 1] : 0, b = i + 2 < n ? uri[i + 2] : 0;
			if ((a == '2' && (b == 'f' || b == 'F' || b == 'e' || b == 'E')) ||
			    (a == '5' && (b == 'c' || b == 'C')) || (a == '0' && b == '0'))
				return "escaped '/', '\\', '.' or NUL in the path";
		}
		if (uri[i] == '\\')
			return "'\\\\' in the path";
		if (uri[i] == '/' && i + 1 < n && uri[i + 1] == '/')
			return "an empty segment ('//') in the path";
		if (uri[i] == '/' && i + 1 < n && uri[i + 1] == '.' &&
		    (i + 2 == n || uri[i + 2] == '/' || (uri[i + 2] == '.' && (i + 3 == n || uri[i + 3] == '/'))))
			return "a '.' or '..' segment in the path";
	}
	return NULL;
}

/* ---- the caller ---- */

/* An HTTP-level refusal (401, 403): the response and its audit record. */
static void req_refuse(struct http_req *r, unsigned status, const struct identity *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void req_refuse(struct http_req *r, unsigned status, const struct identity *id, const char *fmt, ...)
{
	char reason[400], what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(what, sizeof(what), "HTTP %s %.200s", r->is_head ? "HEAD" : r->route && r->route->post ? "POST" : "GET",
	         r->route ? r->route->path : "?");
	authz_audit_http(&r->l->h->srv->authz, id, what, reason);
	r->www_auth = status == 401;
	req_error(r, status, NULL, "%s", reason);
}

/* Authorization: Bearer SECRET, over tcp:. 0 with the token's identity, or
 * -1 with the 401 set (and audited). */
static int req_token(struct http_req *r, const char *auth)
{
	struct http_server *h = r->l->h;
	const struct http_token *t;
	const char *secret = auth;

	if (strncasecmp(auth, "Bearer ", 7) != 0) {
		req_refuse(r, 401, NULL, "Authorization must be \"Bearer\" and a token");
		return -1;
	}
	secret += 7;
	while (*secret == ' ')
		secret++;
	t = h->tokens.n ? http_tokens_find(&h->tokens, secret, strlen(secret)) : NULL;
	if (!t) {
		req_refuse(r, 401, NULL, h->tokens.n ? "the bearer token is not one of --http-token-file"
		                                      : "this daemon has no bearer tokens (--http-token-file)");
		return -1;
	}
	if (http_token_identity(t, &r->caller) < 0) {
		req_error(r, 500, NULL, "out of memory");
		return -1;
	}
	if (http_token_expired(t, (int64_t)time(NULL))) {
		req_refuse(r, 401, &r->caller, "the bearer token \"%s\" has expired", t->name);
		return -1;
	}
	return 0;
}

/* POST /rpc over tcp: takes a token whose identity the policy grants
 * http_rpc. 0, or -1 with the response set (audited either way). */
static int req_may_rpc(struct http_req *r)
{
	struct policy_request q = { .action = POLICY_HTTP_RPC, .family = -1, .type = -1, .proto = -1, .message = -1 };
	const char *rule = NULL, *reason = NULL;
	int e = authz_check_identity(&r->l->h->srv->authz, 0, &r->caller, "POST /rpc", &q, &rule, &reason);

	if (e == 0)
		return 0;
	if (e == -EACCES) {
		/* The body of any other 403: code, message and data as -32010's. */
		json_object *extra = json_object_new_object(), *data = json_object_new_object();
		char msg[600];

		if (!reason)
			reason = "POST /rpc over TCP needs the http_rpc action";
		snprintf(msg, sizeof(msg), "denied by policy: %s", reason);
		json_object_object_add(data, "reason", json_object_new_string(reason));
		if (rule)
			json_object_object_add(data, "rule", json_object_new_string(rule));
		json_object_object_add(extra, "code", json_object_new_int(SB_ERR_DENIED));
		json_object_object_add(extra, "message", json_object_new_string(msg));
		json_object_object_add(extra, "data", data);
		req_error(r, 403, extra, "%s", msg);
	} else {
		req_error(r, 500, NULL, "%s", reason ? reason : strerror(-e));
	}
	return -1;
}


/* Who the request is from: the unix: peer, or over tcp: anonymous. 0 when
 * it may go on; else the response is set. */
static int req_caller(struct http_req *r)
{
	const struct sbd_config *cfg = &r->l->h->srv->cfg;
	const char *auth;

	if (r->l->is_unix) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		struct http_peer *p = ci ? ci->socket_context : NULL;
		int e;

		if (!p) {
			req_error(r, 500, NULL, "the caller of this connection is not known");
			return -1;
		}
		e = identity_copy(&p->id, &r->caller);
		if (e < 0) {
			req_error(r, 500, NULL, "out of memory");
			return -1;
		}
			return 0;
	}
	auth = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth)
		return req_token(r, auth);
	if (!r->route->anonymous || cfg->http_anonymous_none) {
		req_refuse(r, 401, NULL, cfg->http_anonymous_none && r->route->anonymous
		           ? "%s needs a bearer token over TCP (--http-anonymous=none)"
		           : "%s needs a bearer token over TCP", r->route->path);
		return -1;
	}
	if (http_anonymous_identity(&r->caller) < 0) {
		req_error(r, 500, NULL, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- MHD callbacks ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct http_listener *l = cls;
	struct http_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->l = l;
	r->mc = mc;
	r->caller.pidfd = -1;
	r->uri = strdup(uri ? uri : "");
	r->next = l->h->reqs;
	if (r->next)
		r->next->prev = r;
	l->h->reqs = r;
	return r;
}

static void req_free(struct http_req *r)
{
	struct http_server *h = r->l->h;

	if (r->vc) {
		struct conn *vc = TAKE_PTR(r->vc);
		vc->owner = NULL;
		conn_close(vc, "HTTP request ended");
	}
	if (r->prev)
		r->prev->next = r->next;
	else if (h->reqs == r)
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	json_object_put(r->reply);
	identity_free(&r->caller);
	free(r->uri);
	free(r->body);
	if (!r->resp_const)
		free(r->resp);
	free(r);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *req_cls;

	(void)cls;
	(void)mc;
	(void)toe;
	if (r)
		req_free(r);
	*req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct http_listener *l = cls;
	struct http_peer *p = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (p) {
			identity_free(&p->id);
			free(p);
		}
		*socket_context = NULL;
		return;
	}
	if (!l->is_unix)
		return;
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->id.pidfd = -1;
	{
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		/* As on the control socket: what the kernel says of the peer at
		 * connect, never what it sends. A peer that cannot be read gets an
		 * identity with its error, which the policy refuses. */
		if (!ci || identity_read_socket(ci->connect_fd, -1, &p->id) < 0) {
			p->id = (struct identity){ .uid = (uid_t)-1, .gid = (gid_t)-1, .pidfd = -1 };
			p->id.error = strdup("the credentials of this HTTP connection's peer could not be read");
		}
	}
	*socket_context = p;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
	struct http_listener *l = cls;
	struct http_req *r = *req_cls;
	const struct sbd_config *cfg = &l->h->srv->cfg;

	(void)version;
	if (!r) {
		/* The URI callback could not allocate. */
		return MHD_NO;
	}
	if (r->status)
		return queue(r);
	if (r->suspended)
		return MHD_YES;
	if (!r->started) {
		const char *why, *cl;
		bool bad_id, is_get, is_post;

		r->started = true;
		r->is_head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
		is_get = r->is_head || strcmp(method, MHD_HTTP_METHOD_GET) == 0;
		is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
		why = path_problem(r->uri);
		if (why) {
			req_error(r, 400, NULL, "%s", why);
			return queue(r);
		}
		r->route = route_find(url, &r->id, &bad_id);
		if (!r->route) {
			req_error(r, 404, NULL, "no such resource: %.200s", url);
			return queue(r);
		}
		if (bad_id) {
			req_error(r, 404, NULL, "no such resource: %.200s (not a number)", url);
			return queue(r);
		}
		if ((r->route->post && !is_post) || (!r->route->post && !is_get)) {
			r->allow = r->route->post ? "POST" : "GET, HEAD";
			req_error(r, 405, NULL, "%s takes %s", r->route->path, r->allow);
			return queue(r);
		}
		cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			uint64_t n;
			if (parse_u64(cl, &n) == 0 && n > cfg->http_max_body_bytes) {
				req_error(r, 413, NULL, "the body is over the limit of %zu bytes", cfg->http_max_body_bytes);
				return queue(r);
			}
		}
		if (req_caller(r) < 0)
			return queue(r);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_big)
			return MHD_YES;
		if (n > cfg->http_max_body_bytes - r->len) {
			/* Chunked, so no Content-Length said so first. */
			r->too_big = true;
			free(TAKE_PTR(r->body));
			r->len = 0;
			return MHD_YES;
		}
		{
			char *b = realloc(r->body, r->len + n + 1);
			if (!b)
				return MHD_NO;
			r->body = b;
			memcpy(r->body + r->len, upload_data, n);
			r->len += n;
			r->body[r->len] = '\0';
		}
		return MHD_YES;
	}
	if (r->too_big) {
		req_error(r, 413, NULL, "the body is over the limit of %zu bytes", cfg->http_max_body_bytes);
		return queue(r);
	}
	if (!r->vc && !r->rpc_ended)
		route_run(r);
	if (r->status)
		return queue(r);
	if (!r->rpc_ended) {
		r->suspended = true;
		MHD_suspend_connection(mc);
		return MHD_YES;
	}
	if (r->route->kind == R_AUDIT_STREAM && r->reply) {
		json_object *result;
		if (json_object_object_get_ex(r->reply, "result", &result))
			return stream_start(r, result);
	}
	req_rpc_response(r);
	return queue(r);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_listener *l = cls;
	char text[512];
	size_t n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	log_info("http %s: %s", l->name, text);
}

/* ---- libmicrohttpd in our loop ---- */

static void listener_arm(struct http_listener *l)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!l->d)
		return;
	if (MHD_get_timeout(l->d, &ms) == MHD_YES)
		loop_timer_arm(l->h->srv->loop, &l->timer, loop_now() + (uint64_t)ms * 1000000ull);
	else
		loop_timer_disarm(l->h->srv->loop, &l->timer);
}

static void budget_pause(struct http_server *h, bool pause)
{
	h->paused = pause;
	for (size_t i = 0; i < h->n; i++)
		if (h->l[i].io_added)
			loop_io_mod(h->srv->loop, &h->l[i].io, pause || h->frozen ? 0 : EPOLLIN);
	if (pause) {
		h->pauses++;
		loop_timer_arm(h->srv->loop, &h->unpause, h->window_start + HTTP_BUDGET_WINDOW_NS);
	}
}

static void on_unpause(struct loop_timer *t)
{
	struct http_server *h = (struct http_server *)((char *)t - offsetof(struct http_server, unpause));

	h->window_start = loop_now();
	h->window_used = 0;
	budget_pause(h, false);
	/* What came meanwhile (resumed calls, timeouts) is picked up now. */
	for (size_t i = 0; i < h->n; i++)
		loop_defer(h->srv->loop, &h->l[i].kick);
}

/* The control socket comes first: MHD gets at most --http-max-cpu-percent
 * of the loop's time in each window, so a busy HTTP face leaves the loop
 * idle for the control socket's requests most of the time. */
static void budget_charge(struct http_server *h, uint64_t start, uint64_t end)
{
	unsigned pct = h->srv->cfg.http_max_cpu_percent;

	if (pct >= 100)
		return;
	if (end - h->window_start >= HTTP_BUDGET_WINDOW_NS) {
		h->window_start = end;
		h->window_used = 0;
	}
	h->window_used += end - start;
	if (h->window_used > HTTP_BUDGET_WINDOW_NS * pct / 100 && !h->stopping)
		budget_pause(h, true);
}

static void listener_run(struct http_listener *l)
{
	const union MHD_DaemonInfo *di;
	uint64_t start;

	if (!l->d || l->h->paused || l->h->frozen)
		return;
	start = loop_now();
	MHD_run(l->d);
	/* Connections MHD_run closed are only freed (their descriptors closed)
	 * by its next run, or here: in external mode this query cleans them up,
	 * so a closed connection does not wait for the next event to let go. */
	di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	/* At its connection limit MHD takes the listening socket out of its
	 * epoll set, and puts it back only in a run: when one went, run again
	 * so that what waits in the backlog is accepted now. */
	if (di && di->num_connections < l->nconns)
		loop_defer(l->h->srv->loop, &l->kick);
	if (di)
		l->nconns = di->num_connections;
	listener_arm(l);
	budget_charge(l->h, start, loop_now());
}

static void on_mhd_io(struct loop_io *io, uint32_t revents)
{
	(void)revents;
	listener_run((struct http_listener *)((char *)io - offsetof(struct http_listener, io)));
}

static void on_mhd_timer(struct loop_timer *t)
{
	listener_run((struct http_listener *)((char *)t - offsetof(struct http_listener, timer)));
}

static void on_mhd_kick(struct loop_defer *d)
{
	listener_run((struct http_listener *)((char *)d - offsetof(struct http_listener, kick)));
}

/* ---- listeners ---- */

static int bind_tcp(const char *spec, int *out, char **name)
{
	_cleanup_free_ char *host = NULL;
	const char *hp = spec + 4, *colon = strrchr(hp, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char hbuf[NI_MAXHOST], pbuf[NI_MAXSERV];
	_cleanup_close_ int fd = -1;
	int one = 1, e;

	if (!colon)
		return -EINVAL;
	/* [::1]:8080 */
	if (hp[0] == '[' && colon > hp && colon[-1] == ']')
		host = strndup(hp + 1, (size_t)(colon - hp - 2));
	else
		host = strndup(hp, (size_t)(colon - hp));
	if (!host)
		return -ENOMEM;
	e = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (e) {
		log_err("--http %s: %s", spec, gai_strerror(e));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		e = -errno;
		freeaddrinfo(ai);
		return e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		e = -errno;
		log_err("--http %s: %s", spec, strerror(-e));
		freeaddrinfo(ai);
		return e;
	}
	freeaddrinfo(ai);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
	                NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		if (asprintf(name, ss.ss_family == AF_INET6 ? "tcp:[%s]:%s" : "tcp:%s:%s", hbuf, pbuf) < 0)
			return -ENOMEM;
	} else if (!(*name = strdup(spec))) {
		return -ENOMEM;
	}
	*out = TAKE_FD(fd);
	return 0;
}

/* What an activated descriptor is: a UNIX or a TCP stream listener. */
static int activated_kind(int fd, bool *is_unix, char **name)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int v = 0;
	socklen_t l = sizeof(v);
	char hbuf[NI_MAXHOST], pbuf[NI_MAXSERV];

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v)
		return -EINVAL;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != SOCK_STREAM)
		return -EINVAL;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		*is_unix = true;
		if (asprintf(name, "unix:%s", un->sun_path[0] ? un->sun_path : "(activated)") < 0)
			return -ENOMEM;
		return 0;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return -EINVAL;
	*is_unix = false;
	if (getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -EINVAL;
	if (asprintf(name, ss.ss_family == AF_INET6 ? "tcp:[%s]:%s" : "tcp:%s:%s", hbuf, pbuf) < 0)
		return -ENOMEM;
	return 0;
}

/* Starts MHD on fd (taken). */
static int listener_start(struct http_server *h, int fd, bool is_unix, char *name, char *path, dev_t dev,
                          ino_t ino)
{
	struct http_listener *l = &h->l[h->n];
	const struct sbd_config *cfg = &h->srv->cfg;
	const union MHD_DaemonInfo *di;
	int e;

	*l = (struct http_listener){ .h = h, .is_unix = is_unix, .name = name, .path = path, .dev = dev, .ino = ino };
	l->timer.cb = on_mhd_timer;
	l->kick.cb = on_mhd_kick;
	h->n++;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	l->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                        on_request, l,
	                        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l,
	                        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	                        MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
	                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->http_max_connections,
	                        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	                        is_unix ? 0u : (unsigned)cfg->http_max_connections_per_ip,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->http_max_header_bytes,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->http_idle_timeout_s,
	                        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
	                        MHD_OPTION_END);
	if (!l->d) {
		close(fd);
		log_err("http %s: libmicrohttpd did not start", name);
		return -EIO;
	}
	di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!di) {
		log_err("http %s: no epoll descriptor from libmicrohttpd", name);
		return -EIO;
	}
	e = loop_io_add(h->srv->loop, &l->io, di->epoll_fd, EPOLLIN, on_mhd_io);
	if (e < 0)
		return e;
	l->io_added = true;
	listener_arm(l);
	log_info("http: serving on %s", name);
	return 0;
}

int http_start(struct server *s, struct http_fd *v, size_t n, struct http_server **out)
{
	struct http_server *h;
	size_t next = 0;
	int e = 0;

	*out = NULL;
	if (!s->cfg.n_http && !n)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h) {
		for (size_t i = 0; i < n; i++)
			v[i].fd = safe_close(v[i].fd);
		return -ENOMEM;
	}
	h->srv = s;
	h->vops = (struct conn_ops){ .on_identity = vconn_identity, .on_gone = vconn_gone };
	h->unpause.cb = on_unpause;
	h->window_start = loop_now();
	if (s->cfg.http_token_file) {
		char err[600];
		e = http_tokens_load(s->cfg.http_token_file, geteuid() == 0, &h->tokens, err, sizeof(err));
		if (e < 0)
			log_err("--http-token-file: %s", err);
		else
			log_info("http: %zu bearer token%s from %s", h->tokens.n, h->tokens.n == 1 ? "" : "s",
			         s->cfg.http_token_file);
	}
	for (size_t i = 0; i < s->cfg.n_http && e == 0; i++) {
		const char *spec = s->cfg.http_specs[i];
		char *name = NULL, *path = NULL, *myspec = strdup(spec);
		dev_t dev = 0;
		ino_t ino = 0;
		int fd = -1;
		bool is_unix = strncmp(spec, "unix:", 5) == 0;

		if (h->n == SBD_HTTP_MAX_LISTENERS) {
			log_err("http: at most %d listeners, socket activation included", SBD_HTTP_MAX_LISTENERS);
			free(myspec);
			e = -EINVAL;
			break;
		}
		/* A restart handed over the socket this spec was served on: the
		 * same socket goes on, and what waits in its backlog is served. */
		for (size_t k = 0; k < n && fd < 0; k++)
			if (v[k].fd >= 0 && v[k].spec && !strcmp(v[k].spec, spec) &&
			    activated_kind(v[k].fd, &is_unix, &name) == 0) {
				fd = TAKE_FD(v[k].fd);
				dev = v[k].dev;
				ino = v[k].ino;
				path = is_unix ? strdup(spec + 5) : NULL;
				e = !myspec || (is_unix && !path) ? -ENOMEM : 0;
			}
		if (fd < 0 && is_unix) {
			path = strdup(spec + 5);
			name = strdup(spec);
			e = path && name && myspec ? server_bind_unix(path, s->cfg.socket_mode & 0777, &fd, &dev, &ino)
			                           : -ENOMEM;
		} else if (fd < 0) {
			e = myspec ? bind_tcp(spec, &fd, &name) : -ENOMEM;
		}
		if (e < 0) {
			log_err("http: cannot listen on %s: %s", spec, strerror(-e));
			safe_close(fd);
			free(name);
			free(path);
			free(myspec);
			break;
		}
		e = listener_start(h, fd, is_unix, name, path, dev, ino);
		h->l[h->n - 1].spec = myspec;
	}
	for (; e == 0 && next < n; next++) {
		char *name = NULL;
		bool is_unix = false;

		if (v[next].fd < 0)
			continue;
		if (h->n == SBD_HTTP_MAX_LISTENERS) {
			log_err("http: at most %d listeners, socket activation included", SBD_HTTP_MAX_LISTENERS);
			e = -EINVAL;
			break;
		}
		e = activated_kind(v[next].fd, &is_unix, &name);
		if (e < 0) {
			log_err("http: the activated descriptor %d is not a UNIX or TCP stream listener", v[next].fd);
			free(name);
			break;
		}
		e = listener_start(h, TAKE_FD(v[next].fd), is_unix, name, NULL, 0, 0);
	}
	for (size_t i = 0; i < n; i++)
		v[i].fd = safe_close(v[i].fd);
	if (e < 0) {
		http_stop(h);
		return e;
	}
	*out = h;
	return 0;
}

void http_handover(const struct http_server *h, void (*fn)(void *ctx, int fd, const char *spec, dev_t dev, ino_t ino),
                   void *ctx)
{
	for (size_t i = 0; h && i < h->n; i++) {
		const struct http_listener *l = &h->l[i];
		const union MHD_DaemonInfo *di = l->d ? MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_LISTEN_FD) : NULL;

		if (di && di->listen_fd >= 0)
			fn(ctx, di->listen_fd, l->spec, l->dev, l->ino);
	}
}

void http_freeze(struct http_server *h, bool freeze)
{
	if (!h)
		return;
	h->frozen = freeze;
	for (size_t i = 0; i < h->n; i++) {
		if (h->l[i].io_added)
			loop_io_mod(h->srv->loop, &h->l[i].io, freeze || h->paused ? 0 : EPOLLIN);
		/* What came meanwhile is picked up now. */
		if (!freeze)
			loop_defer(h->srv->loop, &h->l[i].kick);
	}
}

void http_forget_paths(struct http_server *h)
{
	for (size_t i = 0; h && i < h->n; i++) {
		h->l[i].dev = 0;
		h->l[i].ino = 0;
	}
}

json_object *http_listening_json(const struct http_server *h)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; h && a && i < h->n; i++)
		json_object_array_add(a, json_object_new_string(h->l[i].name));
	return a;
}

void http_stop(struct http_server *h)
{
	if (!h)
		return;
	h->stopping = true;
	loop_timer_disarm(h->srv->loop, &h->unpause);
	for (struct http_stream *st = h->streams; st; st = st->next) {
		st->ended = true;
		authz_audit_unsubscribe(&h->srv->authz, &st->sub);
		loop_timer_disarm(h->srv->loop, &st->keepalive);
		if (st->suspended) {
			st->suspended = false;
			MHD_resume_connection(st->mc);
		}
	}
	/* MHD must not be stopped with suspended connections. */
	for (struct http_req *r = h->reqs; r; r = r->next) {
		if (r->vc) {
			struct conn *vc = TAKE_PTR(r->vc);
			vc->owner = NULL;
			conn_close(vc, "daemon stopping");
		}
		if (r->suspended) {
			r->suspended = false;
			MHD_resume_connection(r->mc);
		}
	}
	for (size_t i = 0; i < h->n; i++) {
		struct http_listener *l = &h->l[i];

		if (l->io_added)
			loop_io_del(h->srv->loop, &l->io);
		loop_timer_disarm(h->srv->loop, &l->timer);
		loop_defer_cancel(h->srv->loop, &l->kick);
		if (l->d)
			MHD_stop_daemon(l->d);
		if (l->path)
			server_unlink_unix(l->path, l->dev, l->ino);
		free(l->name);
		free(l->path);
		free(l->spec);
	}
	/* MHD_stop_daemon ended every request (on_completed freed them) and
	 * destroyed every response (stream_free). */
	http_tokens_free(&h->tokens);
	free(h);
}

void http_reload(struct http_server *h)
{
	struct http_tokens t = { 0 };
	char err[600];
	int e;

	if (!h || !h->srv->cfg.http_token_file)
		return;
	e = http_tokens_load(h->srv->cfg.http_token_file, geteuid() == 0, &t, err, sizeof(err));
	if (e < 0) {
		log_err("--http-token-file: %s; the tokens loaded before stay", err);
		http_tokens_free(&t);
		return;
	}
	http_tokens_free(&h->tokens);
	h->tokens = t;
	log_info("http: %zu bearer token%s from %s", t.n, t.n == 1 ? "" : "s", h->srv->cfg.http_token_file);
}

void http_policy_changed(struct http_server *h)
{
	struct policy_request q = { .action = POLICY_ADMIN, .family = -1, .type = -1, .proto = -1, .message = -1 };

	for (struct http_stream *st = h ? h->streams : NULL; st; st = st->next) {
		struct policy_subject who;
		struct policy_decision d;

		if (st->ended)
			continue;
		authz_subject_from(&st->caller, &who);
		authz_decide_as(&h->srv->authz, &who, &q, &d);
		if (d.allowed && !st->caller.error)
			continue;
		log_notice("http %s: an audit stream of uid %u ends: the new policy does not let it see the audit "
		           "(%s)", st->l->name, (unsigned)st->caller.uid, d.reason);
		stream_end(st);
	}
}

uint64_t http_pauses(const struct http_server *h)
{
	return h ? h->pauses : 0;
}
