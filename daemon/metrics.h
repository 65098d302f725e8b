/* The daemon's Prometheus metrics: counters the request path bumps as it goes
 * (calls by method and outcome, their latency, relayed bytes, HTTP responses),
 * and a renderer that reads everything else (connections, handles, parked
 * calls, descriptors, the resolver, policy counters) from the server at
 * scrape time, so nothing is counted twice. Loop thread only. The names and
 * their meaning are documented in docs/metrics.md. */
#ifndef SBD_METRICS_H
#define SBD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics;
struct rpc_method;
struct server;

/* metrics_call_end's code for a call that ended with no reply because its
 * client went away (or the daemon stopped): outcome "cancelled". */
#define METRICS_CODE_GONE 1

/* One per server (struct server's `metrics`). 0 or -ENOMEM. */
int metrics_new(struct metrics **out);
/* NULL is fine. */
void metrics_free(struct metrics *m);

/* A call ended (called from the one place every call ends): method may be
 * NULL (unknown method / invalid request), code is 0, the JSON-RPC error code,
 * or METRICS_CODE_GONE; duration from dispatch to reply. m may be NULL. */
void metrics_call_end(struct metrics *m, const struct rpc_method *method, int code, uint64_t duration_ns);
/* An HTTP response went out with status (100-599; others are not counted). */
void metrics_http_response(struct metrics *m, unsigned status);
/* Payload bytes the daemon relayed for a client: sent to a socket (socket.send*)
 * or received from one (socket.recv*). m may be NULL. */
void metrics_bytes(struct metrics *m, bool sent, uint64_t n);

/* Prometheus text exposition format 0.0.4 of everything; *text malloc'd
 * (NUL-terminated, *len bytes before the NUL). 0 or -ENOMEM. */
int metrics_render(struct server *s, char **text, size_t *len);

/* The outcome label of a call that ended with code (as metrics_call_end's). */
const char *metrics_outcome_name(int code);

#endif
