#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authz.h"
#include "call.h"
#include "conn.h"
#include "dispatch.h"
#include "fdpass.h"
#include "jsonrpc.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "server.h"
#include "util.h"

/* Members of params the framework owns, not the method. */
static const char *const framework_params[] = { "fds", NULL };

/* An error before any call exists (a parse error, a batch refused whole):
 * counted as a request of no known method. */
static void send_error(struct conn *c, json_object *id, int code, const char *msg, json_object *data)
{
	json_object *resp = jrpc_error_new(id, code, msg, data);

	c->srv->stats.errors++;
	metrics_call_end(c->env->metrics, NULL, code, 0);
	if (resp)
		conn_queue_reply(c, resp, NULL, 0);
}

/* Checks the descriptors that came with a request against its "fds" member and
 * the method's flags (protocol section 2). */
static int check_fds(struct call *call, json_object *params, bool fd_error)
{
	const struct rpc_method *m = call->method;
	json_object *jn = NULL;
	bool declared = params && json_object_object_get_ex(params, "fds", &jn);
	int64_t n = 0;

	if (fd_error)
		return call_error(call, JRPC_INVALID_PARAMS, NULL,
		                  "the descriptors sent with this message were truncated, over the limit of %u, "
		                  "or do not match the counts its requests declare; all were closed",
		                  call->conn->srv->cfg.max_fds);
	if (declared) {
		if (!json_object_is_type(jn, json_type_int) || (n = json_object_get_int64(jn)) < 1)
			return call_error(call, JRPC_INVALID_PARAMS, NULL, "fds must be an integer >= 1");
	}
	if (!(m->flags & RPC_TAKES_FDS) && (declared || call->nfds))
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "%s takes no descriptors (%zu arrived)",
		                  m->name, call->nfds);
	if ((size_t)n != call->nfds)
		return call_error(call, JRPC_INVALID_PARAMS, NULL,
		                  "params declare %lld descriptors but %zu arrived with the message",
		                  (long long)n, call->nfds);
	return 0;
}

/* Runs one request (a message or a batch element) written by sender (NULL:
 * the process that connected; else a reference is taken). fds are taken. */
static void dispatch_one(struct conn *c, struct conn_sender *sender, json_object *elem, struct batch *b,
                         size_t idx, int *fds, size_t nfds, bool fd_error)
{
	struct jrpc_request req;
	struct decode_error perr;
	const char *why = NULL;
	struct call *call;
	int rc;

	c->srv->stats.requests++;
	c->requests++;
	call = calloc(1, sizeof(*call));
	if (!call) {
		if (fds)
			close_fds(fds, nfds);
		free(fds);
		if (b)
			batch_skip(b, idx);
		return;
	}
	call->started_ns = loop_now();
	call->fds = fds;
	call->nfds = nfds;
	call->sink = b ? batch_sink(b) : reply_conn_sink();
	call->sink_idx = idx;
	conn_call_add(c, call);
	if (sender) {
		sender->refs++;
		call->sender = sender;
	}

	call->request = json_object_get(elem);
	rc = jrpc_validate_request(elem, &req, &why);
	call->id = req.id ? json_object_get(req.id) : NULL;
	call->notification = req.notification;
	if (rc != 0) {
		/* An invalid request is answered even without an id; a well-formed
		 * notification with positional params is not (it is a notification). */
		if (rc == JRPC_INVALID_REQUEST)
			call->notification = false;
		rc = call_error(call, rc, NULL, "%s: %s", jrpc_code_name(rc), why);
		goto done;
	}
	call->method = rpc_lookup(req.method);
	if (!call->method) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "method", json_object_new_string(req.method));
		rc = call_error(call, JRPC_METHOD_NOT_FOUND, d, "no method named '%.100s' (see rpc.discover)",
		                req.method);
		goto done;
	}
	if (c->no_fds && (call->method->flags & (RPC_TAKES_FDS | RPC_RETURNS_FDS))) {
		/* Descriptors cross only a UNIX socket (SCM_RIGHTS). */
		json_object *d = json_object_new_object();
		json_object_object_add(d, "method", json_object_new_string(call->method->name));
		json_object_object_add(d, "use", json_object_new_string("control socket"));
		rc = call_error(call, JRPC_INVALID_REQUEST, d, "%s passes descriptors, which only the control "
		                "socket can carry: call it there", call->method->name);
		goto done;
	}
	if (c->no_fds && (call->method->flags & RPC_CONTROL_ONLY)) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "method", json_object_new_string(call->method->name));
		json_object_object_add(d, "use", json_object_new_string("control socket"));
		rc = call_error(call, JRPC_INVALID_REQUEST, d, "%s ends the process that serves HTTP before it "
		                "could answer: call it on the control socket", call->method->name);
		goto done;
	}
	rc = check_fds(call, req.params, fd_error);
	if (rc)
		goto done;
	if (c->pending > c->lim_pending) {
		rc = call_error_limit(call, "pending", c->lim_pending);
		goto done;
	}
	rc = authz_gate(call);
	if (rc)
		goto done;
	call->params = calloc(1, call->method->params_size ? call->method->params_size : 1);
	if (!call->params) {
		rc = -ENOMEM;
		goto done;
	}
	rc = params_parse(call->method->params, req.params, framework_params, call->params, &perr);
	if (rc == -EINVAL) {
		rc = call_error_decode(call, &perr);
		goto done;
	}
	if (rc == -ENAMETOOLONG) {
		rc = call_error_os(call, rc, "%s: %s", call->method->name, perr.msg);
		goto done;
	}
	if (rc < 0)
		goto done;
	rc = rpc_run(call);
	if (rc == CALL_PENDING)
		return;
done:
	call_finish(call, rc);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Splits a batch's descriptors among its elements by their declared "fds"
 * counts, in order. Returns false when the counts do not add up. */
static bool batch_split_fds(json_object *arr, size_t nfds, size_t *counts)
{
	size_t n = json_object_array_length(arr), sum = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i), *p, *jn;
		counts[i] = 0;
		if (json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "params", &p) &&
		    json_object_is_type(p, json_type_object) && json_object_object_get_ex(p, "fds", &jn) &&
		    json_object_is_type(jn, json_type_int) && json_object_get_int64(jn) > 0 &&
		    json_object_get_int64(jn) <= FDPASS_MAX_FDS)
			counts[i] = (size_t)json_object_get_int64(jn);
		sum += counts[i];
	}
	return sum == nfds;
}

static void dispatch_batch(struct conn *c, struct conn_sender *sender, json_object *arr, struct frame_msg *msg)
{
	size_t n = json_object_array_length(arr), off = 0;
	_cleanup_free_ size_t *counts = NULL;
	struct batch *b;
	bool fds_ok;

	if (n == 0) {
		send_error(c, NULL, JRPC_INVALID_REQUEST, "Invalid Request: empty batch", NULL);
		return;
	}
	if (n > c->srv->cfg.max_batch) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "limit", json_object_new_string("batch"));
		json_object_object_add(d, "max", json_object_new_int64(c->srv->cfg.max_batch));
		send_error(c, NULL, SB_ERR_LIMIT, "limit reached: a batch holds at most this many requests", d);
		return;
	}
	counts = calloc(n, sizeof(size_t));
	b = counts ? batch_new(c, n) : NULL;
	if (!b) {
		send_error(c, NULL, JRPC_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	fds_ok = !msg->fd_error && batch_split_fds(arr, msg->nfds, counts);
	if (!fds_ok && msg->nfds)
		close_fds(msg->fds, msg->nfds);
	for (size_t i = 0; i < n; i++) {
		int *fds = NULL;
		size_t k = fds_ok ? counts[i] : 0;
		if (k) {
			fds = malloc(k * sizeof(int));
			if (fds)
				for (size_t j = 0; j < k; j++)
					fds[j] = frame_msg_take_fd(msg, off + j);
			else
				k = 0;
			off += counts[i];
		}
		/* Descriptors that do not add up poison every element: none can
		 * be sure which descriptors are its own. */
		dispatch_one(c, sender, json_object_array_get_idx(arr, i), b, i, fds, k,
		             !fds_ok && (msg->nfds || msg->fd_error));
	}
}

void dispatch_message(struct conn *c, struct frame_msg *msg)
{
	_cleanup_json_ json_object *root = NULL;
	struct conn_sender *sender = NULL;
	const char *why;

	if (blank(msg->data, msg->len)) {
		/* Not a message: a blank line between messages is tolerated. */
		return;
	}
	if (jrpc_parser_parse(c->srv->parser, msg->data, msg->len, &root, &why) != 0) {
		char text[120];
		snprintf(text, sizeof(text), "Parse error: %s", why);
		send_error(c, NULL, JRPC_PARSE_ERROR, text, NULL);
		return;
	}
	/* Who wrote it: each of its requests is judged as that process. */
	if (conn_message_sender(c, msg, &sender) < 0) {
		send_error(c, NULL, JRPC_INTERNAL_ERROR, "out of memory", NULL);
		return;
	}
	if (json_object_is_type(root, json_type_array)) {
		dispatch_batch(c, sender, root, msg);
		conn_sender_unref(sender);
		return;
	}
	{
		int *fds = NULL;
		size_t n = msg->nfds;
		if (n) {
			fds = TAKE_PTR(msg->fds);
			msg->nfds = 0;
		}
		dispatch_one(c, sender, root, NULL, 0, fds, n, msg->fd_error);
	}
	conn_sender_unref(sender);
}
