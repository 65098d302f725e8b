#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include "call.h"
#include "conn.h"
#include "reply.h"
#include "server.h"
#include "util.h"

/* A batch collects its elements' replies in request order and sends them as
 * one array once the last element is done. */
struct batch {
	struct reply_sink sink;
	struct conn *conn;
	size_t n, remaining;
	json_object **replies;      /* NULL for notifications */
	int **fds;
	size_t *nfds;
};

/* What every sink does first: the call is no longer in flight on its
 * connection, and a failure the client will hear of is counted. */
static struct conn *call_leaves(struct call *call, int rc)
{
	struct conn *c = call->conn;

	authz_call_ends(call, rc);
	conn_call_remove(c, call);
	if (rc != 0 && rc != CALL_GONE && !call->notification)
		c->srv->stats.errors++;
	return c;
}

static void conn_put(struct reply_sink *sink, struct call *call, int rc, json_object *resp, int *fds,
                     size_t nfds)
{
	struct conn *c = call_leaves(call, rc);

	(void)sink;
	if (resp)
		conn_queue_reply(c, resp, fds, nfds);
	/* Later, not now: the handler that finished may still be iterating. */
	conn_check_done_later(c);
}

struct reply_sink *reply_conn_sink(void)
{
	static struct reply_sink sink = { .put = conn_put };

	return &sink;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		json_object_put(b->replies[i]);
		if (b->fds[i])
			close_fds(b->fds[i], b->nfds[i]);
		free(b->fds[i]);
	}
	free(b->replies);
	free(b->fds);
	free(b->nfds);
	free(b);
}

static void batch_send(struct batch *b)
{
	json_object *arr = json_object_new_array();
	size_t total = 0, k = 0;
	int *fds = NULL;

	for (size_t i = 0; i < b->n; i++)
		total += b->nfds[i];
	if (total)
		fds = malloc(total * sizeof(int));
	if (!arr || (total && !fds)) {
		json_object_put(arr);
		free(fds);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (!b->replies[i])
			continue;
		json_object_array_add(arr, TAKE_PTR(b->replies[i]));
		for (size_t j = 0; j < b->nfds[i]; j++)
			fds[k++] = TAKE_FD(b->fds[i][j]);
	}
	/* A batch of notifications only gets nothing back (JSON-RPC 2.0 section 6). */
	if (json_object_array_length(arr) == 0) {
		json_object_put(arr);
		free(fds);
		return;
	}
	conn_queue_reply(b->conn, arr, fds, k);
}

/* Element idx is done with resp (taken, NULL for none) and fds (taken); the
 * last one sends the whole and frees the batch. */
static void batch_done(struct batch *b, size_t idx, json_object *resp, int *fds, size_t nfds)
{
	b->replies[idx] = resp;
	b->fds[idx] = fds;
	b->nfds[idx] = nfds;
	if (--b->remaining > 0)
		return;
	if (!b->conn->dead)
		batch_send(b);
	batch_free(b);
}

static void batch_put(struct reply_sink *sink, struct call *call, int rc, json_object *resp, int *fds,
                      size_t nfds)
{
	struct batch *b = (struct batch *)((char *)sink - offsetof(struct batch, sink));
	struct conn *c = call_leaves(call, rc);

	batch_done(b, call->sink_idx, resp, fds, nfds);
	conn_check_done_later(c);
}

struct batch *batch_new(struct conn *c, size_t n)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->replies = calloc(n, sizeof(*b->replies));
	b->fds = calloc(n, sizeof(*b->fds));
	b->nfds = calloc(n, sizeof(*b->nfds));
	if (!b->replies || !b->fds || !b->nfds) {
		batch_free(b);
		return NULL;
	}
	b->sink.put = batch_put;
	b->conn = c;
	b->n = b->remaining = n;
	return b;
}

struct reply_sink *batch_sink(struct batch *b)
{
	return &b->sink;
}

void batch_skip(struct batch *b, size_t idx)
{
	batch_done(b, idx, NULL, NULL, 0);
}
