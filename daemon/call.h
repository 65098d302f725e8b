/* One request in flight: from dispatch to its reply. A call owns the request's
 * descriptors (the framework closes those the handler did not take), the
 * descriptors it will answer with, and its result or error. A handler either
 * finishes synchronously or parks the call (CALL_PENDING) and finishes it later;
 * a parked call sets a cancel hook, run if its connection goes first. */
#ifndef SBD_CALL_H
#define SBD_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "decerr.h"
#include "rpc.h"

#define CALL_PENDING 1
/* Returned by call_error(): the call's err_* members hold the error. */
#define CALL_ERR_SET (-100000)
/* call_abort's rc for a call whose client is gone: nobody to answer. */
#define CALL_GONE (-100001)

struct conn;
struct conn_sender;
struct call;
struct sock;
struct authz_note;

/* Where a call's reply goes when it ends: the call knows how to build its
 * reply, not where it is sent (a connection on its own, or a batch that
 * answers in one array). dispatch.c and batch.c make them. */
struct reply_sink {
	/* The call ended with rc: resp (taken) is its reply, NULL when there is
	 * none (a notification, or rc CALL_GONE), with fds (taken). The call is
	 * freed when put returns. */
	void (*put)(struct reply_sink *sink, struct call *call, int rc, json_object *resp, int *fds,
	            size_t nfds);
};

struct call {
	struct conn *conn;          /* the connection it came on; handlers reach the daemon here */
	struct reply_sink *sink;    /* where call_finish delivers the reply */
	size_t sink_idx;            /* the call's place in its sink (a batch's element) */
	json_object *id;            /* own reference; NULL for id null */
	json_object *request;       /* own reference: params point into it, and a parked
	                             * call may read them again (a re-run after resolving) */
	bool notification;
	const struct rpc_method *method;
	void *params;               /* the method's typed params struct */
	struct sock *target;        /* the socket the params' handle names (rpc_method.target) */
	bool planned;               /* the method's plan was decided (plan_run) */
	int *fds;                   /* received with the request; -1 once taken */
	size_t nfds;
	int *out_fds;               /* to send with the reply */
	size_t n_out_fds;
	json_object *result;
	int err_code;
	char *err_msg;
	json_object *err_data;
	void (*cancel)(struct call *call);  /* set by a handler that parks */
	void *park;                 /* the parking handler's state */
	/* The handler's own state across a re-run of it (an address resolved
	 * while parked, say): freed with the call by handler_state_free. */
	void *handler_state;
	void (*handler_state_free)(void *state);
	struct call *prev, *next;   /* the connection's in-flight list */
	struct conn_sender *sender; /* own reference: the process that wrote the request, when
	                             * not the one that connected (conn.h); NULL otherwise */
	const char *limit;          /* the limit of the -32012 error set last (call_error_limit),
	                             * which the error's data may no longer hold; NULL: none */
	unsigned long long limit_max;
	struct authz_note *audit_note;  /* the call's last allow record (authz.c; one allocation,
	                                 * freed with the call); NULL: none */
	uint64_t started_ns;        /* loop_now() at dispatch, for the latency metric; whoever
	                             * makes a call sets it */
};

/* An error set aside (call_error_save) while a handler tries alternatives. */
struct call_saved_error {
	int code;                   /* 0: none saved */
	char *msg;
	json_object *data;
	const char *limit;          /* as call->limit */
	unsigned long long limit_max;
};

/* The result object, created on first use (NULL only on ENOMEM). */
json_object *call_result(struct call *call);
/* Sets a protocol error; data is taken. Returns CALL_ERR_SET for the handler to return. */
int call_error(struct call *call, int code, json_object *data, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* For a handler that tries alternatives and answers with the first failure:
 * save moves the error set last into *saved (dropping what it held), restore
 * moves it back (CALL_ERR_SET, or -EPERM when none was saved), free drops it.
 * The saved error is the handler's, so it lives in the handler's state. */
void call_error_save(struct call *call, struct call_saved_error *saved);
int call_error_restore(struct call *call, struct call_saved_error *saved);
void call_saved_error_free(struct call_saved_error *saved);
/* Forgets the error set last. */
void call_error_clear(struct call *call);
/* Appends the formatted text to the message of the error set last (none
 * set, or out of memory: nothing). */
void call_error_note(struct call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -32602 with {"param": path} (the member at fault as a JSON path from the
 * params object, "address.port", as struct decode_error carries it; NULL or ""
 * for the params as a whole: no data); the message is the formatted text. The
 * one place that builds {"param": ...}. */
int call_error_param(struct call *call, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* call_error_param for a decoder's error (params_parse, sbaddr_decode, ...):
 * data.param is e->path; the message is e->msg, after the path when that goes
 * below a top-level member ("as.groups[2]: no group named ..."). */
int call_error_decode(struct call *call, const struct decode_error *e);
/* -32000 with {"errno": e, "name": "E..."} for neg_errno (-e), with a message
 * that says what failed (the framework's own for a bare -errno only names the
 * method). */
int call_error_os(struct call *call, int neg_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The resolver's error: -32001 with {"gai": code, "name": "EAI_..."} and the
 * message "<formatted text>: <gai_strerror>". EAI_SYSTEM is the OS error e it
 * carries: returns -e (-EIO if e is 0) for the framework's -32000. */
int call_error_gai(struct call *call, int gai, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* -32011 with {"handle": handle}; the message is the formatted text. */
int call_error_handle(struct call *call, int64_t handle, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* -32012 with {"limit": name, "max": max}; name (a string that lives as
 * long as the call) and max are kept in call->limit, call->limit_max. */
int call_error_limit(struct call *call, const char *limit, unsigned long long max);

/* Descriptors received with the request: peek lends, take hands over (-1 if
 * out of range or already taken). */
int call_peek_fd(const struct call *call, size_t i);
int call_take_fd(struct call *call, size_t i);
/* Queues fd (taken) to go out with the reply; the reply gets "fds": n. 0 or -ENOMEM
 * (fd closed on error). */
int call_push_fd(struct call *call, int fd);

/* Ends a call with rc (0, -errno, or CALL_ERR_SET): counts it in the
 * metrics, builds its reply (none for a notification), hands it to the
 * call's sink, closes untaken descriptors, frees the call. */
void call_finish(struct call *call, int rc);

/* Maps a handler's rc into a JSON-RPC error response for id. */
json_object *call_error_response(struct call *call, int rc);

/* Ends a call that will not end by itself (its client went, the daemon
 * stops): its cancel hook drops the parked work first, so nothing finishes
 * it twice; then it ends as call_finish does with rc, or with no reply at
 * all for CALL_GONE. */
void call_abort(struct call *call, int rc);

#endif
