/* Where a call's reply goes (call.h's struct reply_sink): straight to its
 * connection, or into a batch, which answers with one array once its last
 * element is done (JSON-RPC 2.0 section 6). Either way the call leaves its
 * connection's in-flight list and a failure is counted. */
#ifndef SBD_REPLY_H
#define SBD_REPLY_H

#include <stddef.h>

struct conn;
struct reply_sink;
struct batch;

/* The sink of a request that came alone: its reply is queued at once. */
struct reply_sink *reply_conn_sink(void);

/* A batch of n elements answering on c; NULL on ENOMEM. It frees itself when
 * its last element is done. */
struct batch *batch_new(struct conn *c, size_t n);
/* The sink its elements' calls finish into (each with its sink_idx). */
struct reply_sink *batch_sink(struct batch *b);
/* Element idx gets no call (out of memory making one): done, no reply. */
void batch_skip(struct batch *b, size_t idx);

#endif
