#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "dispatch.h"
#include "jsonrpc.h"
#include "resolver.h"
#include "server.h"
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
	return CALL_ERR_SET;
}

void call_error_keep(struct call *call)
{
	free(call->kept_msg);
	json_object_put(call->kept_data);
	call->kept_code = call->err_code;
	call->kept_msg = TAKE_PTR(call->err_msg);
	call->kept_data = TAKE_PTR(call->err_data);
	call->err_code = 0;
}

int call_error_restore(struct call *call)
{
	if (!call->kept_code)
		return -EPERM;
	free(call->err_msg);
	json_object_put(call->err_data);
	call->err_code = call->kept_code;
	call->err_msg = TAKE_PTR(call->kept_msg);
	call->err_data = TAKE_PTR(call->kept_data);
	call->kept_code = 0;
	return CALL_ERR_SET;
}

void call_error_clear(struct call *call)
{
	free(call->err_msg);
	json_object_put(call->err_data);
	free(call->kept_msg);
	json_object_put(call->kept_data);
	call->err_msg = call->kept_msg = NULL;
	call->err_data = call->kept_data = NULL;
	call->err_code = call->kept_code = 0;
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

int call_error_limit(struct call *call, const char *limit, unsigned long long max)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "limit", json_object_new_string(limit));
	json_object_object_add(d, "max", json_object_new_uint64(max));
	return call_error(call, SB_ERR_LIMIT, d, "limit reached: at most %llu %s", max, limit);
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
	json_object_put(call->kept_data);
	free(call->kept_msg);
	free(call->resolved);
	free(call);
}

void call_finish(struct call *call, int rc)
{
	struct conn *c = call->conn;
	json_object *resp = NULL;

	if (c)
		conn_call_remove(c, call);
	call->cancel = NULL;
	if (c && !call->notification) {
		if (rc == 0) {
			json_object *res = call_result(call);
			if (call->n_out_fds && json_object_is_type(res, json_type_object))
				json_object_object_add(res, "fds", json_object_new_int((int)call->n_out_fds));
			resp = jrpc_result_new(call->id, TAKE_PTR(call->result));
		} else {
			resp = call_error_response(call, rc);
			call->n_out_fds = call->out_fds ? (close_fds(call->out_fds, call->n_out_fds), 0) : 0;
		}
		if (rc != 0)
			c->srv->stats.errors++;
	}
	if (resp) {
		int *fds = call->n_out_fds ? TAKE_PTR(call->out_fds) : NULL;
		size_t n = call->n_out_fds;
		call->n_out_fds = 0;
		if (call->batch)
			batch_put(call->batch, call->batch_idx, resp, fds, n);
		else
			conn_queue_reply(c, resp, fds, n);
	} else if (call->batch) {
		batch_put(call->batch, call->batch_idx, NULL, NULL, 0);
	}
	call_free(call);
	if (c)
		conn_check_done_later(c);
}

static void call_resolve_cancel(struct call *call)
{
	struct resolve_job *job = call->park;

	call->park = NULL;
	resolver_cancel(call->conn->srv->resolver, job);
}

int call_park_resolve(struct call *call, struct resolve_job *job)
{
	struct resolver *r = call->conn->srv->resolver;
	int rc;

	job->owner = authz_call_identity(call, NULL)->uid;
	rc = resolver_submit(r, job);
	if (rc < 0) {
		job->destroy(job);
		if (rc == -EDQUOT)
			return call_error_limit(call, "resolver_share", resolver_share(r));
		return rc == -EAGAIN ? call_error_limit(call, "resolver_queue", resolver_max_queue(r)) : rc;
	}
	call->park = job;
	call->cancel = call_resolve_cancel;
	return CALL_PENDING;
}

void call_cancel(struct call *call)
{
	void (*cancel)(struct call *) = call->cancel;

	call->cancel = NULL;
	if (cancel)
		cancel(call);
	if (call->conn)
		conn_call_remove(call->conn, call);
	call->conn = NULL;
	if (call->batch)
		batch_put(call->batch, call->batch_idx, NULL, NULL, 0);
	call_free(call);
}
