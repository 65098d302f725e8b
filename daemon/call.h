/* One request in flight: from dispatch to its reply. A call owns the request's
 * descriptors (the framework closes those the handler did not take), the
 * descriptors it will answer with, and its result or error. A handler either
 * finishes synchronously or parks the call (CALL_PENDING) and finishes it later;
 * a parked call sets a cancel hook, run if its connection goes first. */
#ifndef SBD_CALL_H
#define SBD_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "decerr.h"
#include "rpc.h"

#define CALL_PENDING 1
/* Returned by call_error(): the call's err_* members hold the error. */
#define CALL_ERR_SET (-100000)

struct conn;
struct conn_sender;
struct batch;

struct call {
	struct conn *conn;          /* NULL once cancelled */
	struct batch *batch;        /* NULL for a single request */
	size_t batch_idx;
	json_object *id;            /* own reference; NULL for id null */
	json_object *request;       /* own reference: params point into it, and a parked
	                             * call may read them again (a re-run after resolving) */
	bool notification;
	const struct rpc_method *method;
	void *params;               /* the method's typed params struct */
	int *fds;                   /* received with the request; -1 once taken */
	size_t nfds;
	int *out_fds;               /* to send with the reply */
	size_t n_out_fds;
	json_object *result;
	int err_code;
	char *err_msg;
	json_object *err_data;
	int kept_code;              /* call_error_keep() */
	char *kept_msg;
	json_object *kept_data;
	void *resolved;             /* an address resolved for a re-run of the handler (rpc-socket.c) */
	void (*cancel)(struct call *call);  /* set by a handler that parks */
	void *park;                 /* the parking handler's state */
	struct call *prev, *next;   /* the connection's in-flight list */
	struct conn_sender *sender; /* own reference: the process that wrote the request, when
	                             * not the one that connected (conn.h); NULL otherwise */
};

/* The result object, created on first use (NULL only on ENOMEM). */
json_object *call_result(struct call *call);
/* Sets a protocol error; data is taken. Returns CALL_ERR_SET for the handler to return. */
int call_error(struct call *call, int code, json_object *data, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Set aside the error set last (keep), bring it back (restore: returns
 * CALL_ERR_SET, or -EPERM if none was kept), or forget any (clear): for a
 * handler that tries alternatives and answers with the first failure. */
void call_error_keep(struct call *call);
int call_error_restore(struct call *call);
void call_error_clear(struct call *call);
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

/* -32012 with {"limit": name, "max": max}. */
int call_error_limit(struct call *call, const char *limit, unsigned long long max);

/* Descriptors received with the request: peek lends, take hands over (-1 if
 * out of range or already taken). */
int call_peek_fd(const struct call *call, size_t i);
int call_take_fd(struct call *call, size_t i);
/* Queues fd (taken) to go out with the reply; the reply gets "fds": n. 0 or -ENOMEM
 * (fd closed on error). */
int call_push_fd(struct call *call, int fd);

/* Ends a call with rc (0, -errno, or CALL_ERR_SET): builds and queues the reply
 * (nothing for a notification), closes untaken descriptors, frees the call. */
void call_finish(struct call *call, int rc);

/* Maps a handler's rc into a JSON-RPC error response for id. */
json_object *call_error_response(struct call *call, int rc);

struct resolve_job;
/* Hands job to the daemon's resolver and parks the call on it (call->park is
 * the job, which must be the first member of what its callbacks free); if the
 * client leaves, the job is cancelled. The job is taken either way: on failure
 * its destroy runs and the error (-32012 for a full queue) is returned;
 * otherwise CALL_PENDING. Its done must clear call->park before finishing. */
int call_park_resolve(struct call *call, struct resolve_job *job);

/* Frees a call that will never be answered (its connection is gone): runs the
 * cancel hook, closes descriptors. */
void call_cancel(struct call *call);

#endif
