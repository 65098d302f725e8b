#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "loop.h"
#include "metrics.h"
#include "util.h"

json_object *call_result(struct call *call)
{
	if (!call->result)
		call->result = json_object_new_object();
	return call->result;
}

int call_error(struct call *call, int code, json_object *data, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(call->err_msg);
	json_object_put(call->err_data);
	call->err_code = code;
	call->err_msg = msg;
	call->err_data = data;
	call->limit = NULL;
	return CALL_ERR_SET;
}

void call_saved_error_free(struct call_saved_error *saved)
{
	free(saved->msg);
	json_object_put(saved->data);
	*saved = (struct call_saved_error){ 0 };
}

void call_error_save(struct call *call, struct call_saved_error *saved)
{
	call_saved_error_free(saved);
	saved->code = call->err_code;
	saved->msg = TAKE_PTR(call->err_msg);
	saved->data = TAKE_PTR(call->err_data);
	saved->limit = call->limit;
	saved->limit_max = call->limit_max;
	call->err_code = 0;
	call->limit = NULL;
}

int call_error_restore(struct call *call, struct call_saved_error *saved)
{
	if (!saved->code)
		return -EPERM;
	call_error_clear(call);
	call->err_code = saved->code;
	call->err_msg = TAKE_PTR(saved->msg);
	call->err_data = TAKE_PTR(saved->data);
	call->limit = saved->limit;
	call->limit_max = saved->limit_max;
	saved->code = 0;
	return CALL_ERR_SET;
}

void call_error_clear(struct call *call)
{
	free(TAKE_PTR(call->err_msg));
	json_object_put(TAKE_PTR(call->err_data));
	call->err_code = 0;
	call->limit = NULL;
}

void call_error_note(struct call *call, const char *fmt, ...)
{
	char note[300], *msg;
	va_list ap;

	if (!call->err_code || !call->err_msg)
		return;
	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	if (asprintf(&msg, "%s%s", call->err_msg, note) < 0)
		return;
	free(call->err_msg);
	call->err_msg = msg;
}

int call_error_param(struct call *call, const char *path, const char *fmt, ...)
{
	json_object *d = NULL;
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && path[0]) {
		d = json_object_new_object();
		if (d)
			json_object_object_add(d, "param", json_object_new_string(path));
	}
	return call_error(call, JRPC_INVALID_PARAMS, d, "%s", msg);
}

int call_error_decode(struct call *call, const struct decode_error *e)
{
	if (strpbrk(e->path, ".["))
		return call_error_param(call, e->path, "%s: %s", e->path, e->msg);
	return call_error_param(call, e->path, "%s", e->msg);
}

static json_object *os_error_data(int e);

int call_error_os(struct call *call, int neg_errno, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return call_error(call, SB_ERR_OS, os_error_data(-neg_errno), "%s", msg);
}

int call_error_gai(struct call *call, int gai, int e, const char *fmt, ...)
{
	json_object *d;
	const char *name;
	char msg[600];
	va_list ap;

	if (gai == EAI_SYSTEM)
		return e > 0 ? -e : -EIO;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d = json_object_new_object();
	name = sbc_name(SBC_EAI, gai);
	if (d) {
		json_object_object_add(d, "gai", json_object_new_int(gai));
		if (name)
			json_object_object_add(d, "name", json_object_new_string(name));
	}
	return call_error(call, SB_ERR_GAI, d, "%s: %s", msg, gai_strerror(gai));
}

int call_error_handle(struct call *call, int64_t handle, const char *fmt, ...)
{
	json_object *d = json_object_new_object();
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d)
		json_object_object_add(d, "handle", json_object_new_int64(handle));
	return call_error(call, SB_ERR_NO_HANDLE, d, "%s", msg);
}

int call_error_limit(struct call *call, const char *limit, unsigned long long max)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "limit", json_object_new_string(limit));
	json_object_object_add(d, "max", json_object_new_uint64(max));
	int rc = call_error(call, SB_ERR_LIMIT, d, "limit reached: at most %llu %s", max, limit);

	call->limit = limit;
	call->limit_max = max;
	return rc;
}

int call_peek_fd(const struct call *call, size_t i)
{
	return i < call->nfds ? call->fds[i] : -1;
}

int call_take_fd(struct call *call, size_t i)
{
	if (i >= call->nfds)
		return -1;
	return TAKE_FD(call->fds[i]);
}

int call_push_fd(struct call *call, int fd)
{
	int *n = realloc(call->out_fds, (call->n_out_fds + 1) * sizeof(int));

	if (!n) {
		safe_close(fd);
		return -ENOMEM;
	}
	call->out_fds = n;
	call->out_fds[call->n_out_fds++] = fd;
	return 0;
}

/* The protocol's OS error object: {"errno": n, "name": "E..."}. */
static json_object *os_error_data(int e)
{
	json_object *d = json_object_new_object();
	const char *name = sbc_errno_name(e);

	json_object_object_add(d, "errno", json_object_new_int(e));
	if (name)
		json_object_object_add(d, "name", json_object_new_string(name));
	return d;
}

json_object *call_error_response(struct call *call, int rc)
{
	if (rc == CALL_ERR_SET)
		return jrpc_error_new(call->id, call->err_code,
		                      call->err_msg ? call->err_msg : jrpc_code_name(call->err_code),
		                      TAKE_PTR(call->err_data));
	if (rc < 0 && rc > -4096) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s: %s", call->method ? call->method->name : "request",
		         strerror(-rc));
		return jrpc_error_new(call->id, SB_ERR_OS, msg, os_error_data(-rc));
	}
	return jrpc_error_new(call->id, JRPC_INTERNAL_ERROR, "internal error", NULL);
}

static void call_free(struct call *call)
{
	if (call->fds)
		close_fds(call->fds, call->nfds);
	free(call->fds);
	if (call->out_fds)
		close_fds(call->out_fds, call->n_out_fds);
	free(call->out_fds);
	if (call->method && call->params)
		params_free(call->method->params, call->params);
	free(call->params);
	json_object_put(call->id);
	json_object_put(call->request);
	json_object_put(call->result);
	json_object_put(call->err_data);
	free(call->err_msg);
	if (call->handler_state_free)
		call->handler_state_free(call->handler_state);
	free(call->audit_note);
	free(call);
}

/* The reply for rc: the result (with "fds": n when descriptors go with it)
 * or the error, whose descriptors are closed (an error carries none). */
static json_object *call_reply(struct call *call, int rc)
{
	json_object *res;

	if (rc != 0) {
		if (call->out_fds)
			close_fds(call->out_fds, call->n_out_fds);
		call->n_out_fds = 0;
		return call_error_response(call, rc);
	}
	res = call_result(call);
	if (call->n_out_fds && json_object_is_type(res, json_type_object))
		json_object_object_add(res, "fds", json_object_new_int((int)call->n_out_fds));
	return jrpc_result_new(call->id, TAKE_PTR(call->result));
}

/* The code a call ends with, as the metrics count it: the JSON-RPC error
 * code its reply carries (none goes out for a notification, but it is
 * counted alike). */
static int call_end_code(const struct call *call, int rc)
{
	if (rc == 0)
		return 0;
	if (rc == CALL_ERR_SET)
		return call->err_code;
	if (rc == CALL_GONE)
		return METRICS_CODE_GONE;
	if (rc < 0 && rc > -4096)
		return SB_ERR_OS;
	return JRPC_INTERNAL_ERROR;
}

void call_finish(struct call *call, int rc)
{
	json_object *resp = NULL;
	int *fds = NULL;
	size_t n = 0;

	call->cancel = NULL;
	/* Every call ends here, whatever sink its reply goes to. */
	if (call->conn)
		metrics_call_end(call->conn->env->metrics, call->method, call_end_code(call, rc),
		                 call->started_ns ? loop_now() - call->started_ns : 0);
	if (!call->notification && rc != CALL_GONE)
		resp = call_reply(call, rc);
	if (resp && call->n_out_fds) {
		fds = TAKE_PTR(call->out_fds);
		n = call->n_out_fds;
		call->n_out_fds = 0;
	}
	call->sink->put(call->sink, call, rc, resp, fds, n);
	call_free(call);
}

void call_abort(struct call *call, int rc)
{
	void (*cancel)(struct call *) = call->cancel;

	call->cancel = NULL;
	if (cancel)
		cancel(call);
	call_finish(call, rc);
}
