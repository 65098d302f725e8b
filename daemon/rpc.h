/* The method table: one const entry per method, each family of methods in its
 * own file (rpc-daemon.c, later rpc-socket.c, rpc-net.c, ...). The dispatcher,
 * rpc.discover and the docs all read this table. */
#ifndef SBD_RPC_H
#define SBD_RPC_H

#include <stddef.h>

#include "params.h"

struct call;

/* Handlers return 0 (result set), CALL_PENDING (parked: the handler keeps the
 * call and finishes it later with call_finish), a -errno (an OS error), or the
 * value of call_error() (any other protocol error). */
typedef int (*rpc_handler_fn)(struct call *call, void *params);

enum rpc_flags {
	RPC_INTROSPECT   = 1u << 0,   /* not an action: anyone may call it */
	RPC_TAKES_FDS    = 1u << 2,   /* accepts descriptors with the request ("fds": n) */
	RPC_RETURNS_FDS  = 1u << 3,   /* may answer with descriptors */
	RPC_MAY_BLOCK    = 1u << 4,   /* may park (counts toward the pending limit while parked) */
};

/* How the policy governs a method (authz.h). */
enum rpc_gate {
	RPC_GATE_NONE = 0,       /* works on the caller's own handles or connection state:
	                          * needs only that some rule match the caller */
	RPC_GATE_HANDLER,        /* the handler calls authz_check where the kernel would check */
	RPC_GATE_RESOLVE,        /* a look-up: action resolve, decided by the dispatcher */
	RPC_GATE_SETHOSTNAME,    /* action sethostname, decided by the dispatcher */
	RPC_GATE_ADMIN,          /* action admin, decided by the dispatcher */
};

struct rpc_method {
	const char *name;
	const char *summary;           /* one line, for rpc.discover and the docs */
	rpc_handler_fn handler;
	const struct param_desc *params; /* terminated by an entry with name NULL */
	size_t params_size;            /* sizeof the handler's params struct */
	const char *result_schema;     /* JSON Schema text of the result */
	unsigned flags;
	enum rpc_gate gate;
};

struct rpc_family {
	const struct rpc_method *methods;
	size_t n;
};

/* Each method family file exports one of these. */
extern const struct rpc_family rpc_daemon_family;
extern const struct rpc_family rpc_socket_family;
extern const struct rpc_family rpc_net_family;
extern const struct rpc_family rpc_admin_family;

/* Lookup by name over every family; NULL when unknown. */
const struct rpc_method *rpc_lookup(const char *name);
/* Iteration for rpc.discover and the docs: i from 0 until NULL. */
const struct rpc_method *rpc_method_at(size_t i);

#endif
