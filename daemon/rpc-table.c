/* The one method table: every family's slice, in one place. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "call.h"
#include "jsonrpc.h"
#include "log.h"
#include "rpc.h"
#include "sock.h"
#include "util.h"

static const struct rpc_family *const families[] = {
	&rpc_daemon_family,
	&rpc_socket_family,
	&rpc_socket_io_family,
	&rpc_net_family,
	&rpc_admin_family,
	&rpc_policy_family,
	&rpc_hold_family,
};

const struct rpc_method *rpc_lookup(const char *name)
{
	for (size_t f = 0; f < ARRAY_SIZE(families); f++)
		for (size_t i = 0; i < families[f]->n; i++)
			if (strcmp(families[f]->methods[i].name, name) == 0)
				return &families[f]->methods[i];
	return NULL;
}

const struct rpc_method *rpc_method_at(size_t i)
{
	for (size_t f = 0; f < ARRAY_SIZE(families); f++) {
		if (i < families[f]->n)
			return &families[f]->methods[i];
		i -= families[f]->n;
	}
	return NULL;
}

size_t rpc_method_count(void)
{
	size_t n = 0;

	for (size_t f = 0; f < ARRAY_SIZE(families); f++)
		n += families[f]->n;
	return n;
}

size_t rpc_method_index(const struct rpc_method *m)
{
	size_t base = 0;

	for (size_t f = 0; m && f < ARRAY_SIZE(families); f++) {
		/* Compared as integers: the entries of different families are
		 * different arrays. */
		uintptr_t p = (uintptr_t)m, lo = (uintptr_t)families[f]->methods;
		if (p >= lo && p < lo + families[f]->n * sizeof(*m))
			return base + (size_t)(p - lo) / sizeof(*m);
		base += families[f]->n;
	}
	return rpc_method_count();
}

/* The method's "handle" param, or NULL when it has none. */
static const struct param_desc *handle_desc(const struct rpc_method *m)
{
	for (const struct param_desc *d = m->params; d && d->name; d++)
		if (!strcmp(d->name, "handle"))
			return d;
	return NULL;
}

/* call->target from the "handle" param of a method with .target: 0 or -32011. */
static int rpc_find_target(struct call *call)
{
	const struct param_desc *d = handle_desc(call->method);

	call->target = NULL;
	if (call->method->target != RPC_TARGET_HANDLE || !d)
		return 0;
	return sock_get(call, *(const int64_t *)((const char *)call->params + d->offset), &call->target);
}

/* A handler that decides its own plan must have done so by the time it
 * succeeds: anything else is a request nobody judged. (One that parks is
 * decided where it finishes; the differential test covers those.) */
static int run_handler(struct call *call)
{
	const struct rpc_method *m = call->method;
	int rc = m->handler(call, call->params);

	if (rc == 0 && (m->flags & RPC_PLAN_IN_HANDLER) && !call->planned) {
		log_msg(LOG_ERR, "%s: the handler decided no plan; refused", m->name);
		return call_error(call, JRPC_INTERNAL_ERROR, NULL, "%s: decided no policy (a daemon bug)", m->name);
	}
	return rc;
}

/* The addresses the params left for the socket the request is about (the
 * target's family, or the one the method makes): decoded now. */
static int decode_addresses(struct call *call)
{
	const struct rpc_method *m = call->method;
	struct param_ctx ctx;
	struct decode_error err;
	int r;

	if (call->target)
		ctx = (struct param_ctx){ call->target->family, call->target->type, call->target->proto };
	else if (m->family_of)
		ctx = (struct param_ctx){ m->family_of(call->params), SOCK_STREAM, 0 };
	else
		return 0;
	r = params_decode_late(m->params, call->params, &ctx, &err);
	if (r == -ENAMETOOLONG)
		return call_error_os(call, r, "%s: %s", m->name, err.msg);
	return r == -EINVAL ? call_error_decode(call, &err) : r;
}

int rpc_run(struct call *call)
{
	const struct rpc_method *m = call->method;
	int rc = rpc_find_target(call);

	if (rc || (rc = decode_addresses(call)))
		return rc;
	if (!(m->flags & (RPC_INTROSPECT | RPC_PLAN_IN_HANDLER))) {
		struct plan_in in = plan_in_of(call, call->target, NULL, NULL);
		struct plan pl;

		if ((rc = plan_run(call, &in, &pl)))
			return rc;
	}
	return run_handler(call);
}

int rpc_rerun(struct call *call)
{
	int rc = rpc_find_target(call);

	return rc ? rc : run_handler(call);
}
