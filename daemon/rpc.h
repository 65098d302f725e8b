/* The method table: one const entry per method, each family of methods in its
 * own file (rpc-daemon.c, later rpc-socket.c, rpc-net.c, ...). The dispatcher,
 * rpc.discover and the docs all read this table. */
#ifndef SBD_RPC_H
#define SBD_RPC_H

#include <stddef.h>

#include "params.h"
#include "plan.h"

struct call;

/* Handlers return 0 (result set), CALL_PENDING (parked: the handler keeps the
 * call and finishes it later with call_finish), a -errno (an OS error), or the
 * value of call_error() (any other protocol error). */
typedef int (*rpc_handler_fn)(struct call *call, void *params);

enum rpc_flags {
	RPC_INTROSPECT   = 1u << 0,   /* not an action: anyone may call it */
	RPC_OWN_STATE    = 1u << 1,   /* works only on the caller's own handles or connection: not
	                               * governed beyond the caller matching some rule */
	RPC_TAKES_FDS    = 1u << 2,   /* accepts descriptors with the request ("fds": n) */
	RPC_RETURNS_FDS  = 1u << 3,   /* may answer with descriptors */
	RPC_MAY_BLOCK    = 1u << 4,   /* may park (counts toward the pending limit while parked) */
	RPC_PLAN_IN_HANDLER = 1u << 5, /* the plan needs what only the handler knows (a decoded,
	                               * maybe resolved address; the kind of a received socket): the
	                               * handler calls plan_run, and the framework checks it did */
	RPC_CONTROL_ONLY = 1u << 6,   /* the control socket's only: its answer would not outlive the
	                               * HTTP face that carries it (daemon.restart) */
};

enum rpc_target {
	RPC_TARGET_NONE = 0,
	RPC_TARGET_HANDLE,     /* the params' "handle": the framework finds it (call->target)
	                        * before the handler runs */
	RPC_TARGET_RECEIVED,   /* a socket that is no handle of the caller's: the one sent with
	                        * the request (adopt), or a held one (hold.*); the handler
	                        * finds it, policy.check is told its family/type/proto */
};

/* One method: name, summary, params, result schema, and how the policy
 * governs it. Every method is RPC_INTROSPECT, RPC_OWN_STATE, or has a plan
 * (check_methods walks the table). Written with designated initialisers. */
struct rpc_method {
	const char *name;
	const char *summary;           /* one line, for rpc.discover and the docs */
	rpc_handler_fn handler;
	const struct param_desc *params; /* terminated by an entry with name NULL */
	size_t params_size;            /* sizeof the handler's params struct */
	const char *result_schema;     /* JSON Schema text of the result */
	unsigned flags;
	/* The socket the method works on; policy.check takes family/type/proto
	 * in its place. */
	enum rpc_target target;
	/* The policy questions the request asks (plan.h). Without
	 * RPC_PLAN_IN_HANDLER the framework decides them before the handler. */
	plan_fn plan;
	/* For policy.check: the member holding the request's address (decoded
	 * for the socket's family, a name resolved as the method would), and for
	 * a method that makes its socket, the family it makes from its params. */
	const char *address;
	int (*family_of)(const void *params);
	/* create_connection: the address is [host, port] whose every address may
	 * be tried (one allowed suffices), after binding "source_address". */
	bool candidates;
	/* connect: the member naming the numeric address the caller chose
	 * among the name's in address (pinned_address); NULL: none. */
	const char *pinned;
};

struct rpc_family {
	const struct rpc_method *methods;
	size_t n;
};

/* Each method family file exports one of these. */
extern const struct rpc_family rpc_daemon_family;
extern const struct rpc_family rpc_socket_family;
extern const struct rpc_family rpc_socket_io_family;
extern const struct rpc_family rpc_net_family;
extern const struct rpc_family rpc_admin_family;
extern const struct rpc_family rpc_policy_family;
extern const struct rpc_family rpc_hold_family;

/* Lookup by name over every family; NULL when unknown. */
const struct rpc_method *rpc_lookup(const char *name);
/* Runs call's method once its params are parsed: finds its target socket,
 * decides its plan (unless the handler does, RPC_PLAN_IN_HANDLER), then the
 * handler. The handler's value. */
int rpc_run(struct call *call);
/* The same for a handler that parked to resolve a name and runs again: the
 * target found afresh (it may be gone), nothing decided twice. */
int rpc_rerun(struct call *call);
/* Iteration for rpc.discover and the docs: i from 0 until NULL. */
const struct rpc_method *rpc_method_at(size_t i);
/* Methods in the table. */
size_t rpc_method_count(void);
/* m's i for rpc_method_at, in constant time (no name compared): for arrays
 * indexed by method. rpc_method_count() for NULL or a method not in the table. */
size_t rpc_method_index(const struct rpc_method *m);

#endif
