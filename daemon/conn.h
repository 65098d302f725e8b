/* A client connection: its identity (read once at accept), its framed input
 * and output, its requests in flight, and its limits. */
#ifndef SBD_CONN_H
#define SBD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "frame.h"
#include "identity.h"
#include "loop.h"

struct server;
struct call;
struct sock;

struct conn {
	struct server *srv;
	struct conn *prev, *next;
	uint64_t serial;
	int fd;
	struct loop_io io;
	struct identity id;         /* established at accept (identity.h) */
	/* From the policy for this identity, recomputed on reload (authz.c). */
	unsigned lim_handles, lim_pending;
	size_t nrules_matching;     /* 0: only introspection */
	double connected;           /* wall clock, seconds */
	struct frame_reader rd;
	struct frame_writer wr;
	struct call *calls;         /* requests being worked on */
	unsigned pending;           /* requests accepted and not yet answered */
	uint64_t last_active;
	struct loop_timer idle_timer;
	struct loop_defer free_defer;
	struct loop_defer check_defer;  /* conn_check_done after a call ends, outside any callback */
	struct sock *socks;         /* handles this connection owns */
	unsigned nsocks;
	bool read_done;             /* no more requests will be read (EOF, oversize) */
	/* net.setdefaulttimeout: what new sockets of this connection start with
	 * (Python's socket.setdefaulttimeout, per connection). */
	bool default_block;
	double default_timeout_s;
	bool dead;
	uint64_t requests;
};

/* Takes fd (connected, non-blocking, CLOEXEC) and the identity read from it
 * (its contents are moved; *id is left empty). */
int conn_new(struct server *srv, int fd, struct identity *id, struct conn **out);

/* Queues one reply message (taken) with descriptors (taken) and tries to send. */
void conn_queue_reply(struct conn *c, json_object *msg, int *fds, size_t nfds);

/* Tears the connection down: cancels its calls, closes its socket, frees it
 * after the current loop iteration. */
void conn_close(struct conn *c, const char *why);

/* Links/unlinks a call in the in-flight list (pending counts it). */
void conn_call_add(struct conn *c, struct call *call);
void conn_call_remove(struct conn *c, struct call *call);

/* conn_check_done from a deferred callback: safe to call from deep inside
 * other callbacks (a finishing call must not free what its caller iterates). */
void conn_check_done_later(struct conn *c);

/* No more requests are read from c (the daemon is stopping). */
void conn_stop_reading(struct conn *c);

/* Called when something finished: closes a half-closed connection that has
 * nothing left to do. */
void conn_check_done(struct conn *c);

#endif
