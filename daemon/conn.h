/* A client connection: its identity (read at accept, again while the daemon
 * was too short of descriptors to read it whole), the identities of other
 * processes that write on it, its framed input and output, its requests in
 * flight, and its limits.
 *
 * Every request is judged as the process that wrote it: the control socket
 * has SO_PASSCRED, so the kernel attaches its writer (pid, uid, gid) to every
 * read and never returns two writers' bytes from one read. Bytes of the
 * process that connected are judged with the connection's identity (c->id);
 * bytes of another process (one that shares the socket after a fork, say)
 * with that process's own identity, read through its pidfd (SO_PASSPIDFD,
 * turned on when a second writer first shows up) and kept in a small cache
 * (struct conn_sender). A request whose bytes came from more than one
 * process is refused. */
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
struct authz;
struct sock_table;
struct metrics;
struct sbd_config;
struct conn;

/* What a connection hands up to its owner: conn.c frames bytes and queues
 * replies, and knows nothing of what a message means or who keeps count of
 * connections. */
struct conn_ops {
	/* A complete message arrived; what it needs of msg's descriptors it takes. */
	void (*on_message)(struct conn *c, struct frame_msg *msg);
	/* The identity was read again (conn_identity_retry): what depends on it
	 * (limits, matching rules) is to be recomputed. */
	void (*on_identity)(struct conn *c);
	/* The connection is closing: its calls are gone and its descriptor is
	 * closed; the owner lets go of what hangs on it (handles) and unlinks it.
	 * It is freed after the current loop iteration. */
	void (*on_gone)(struct conn *c);
};

/* What an owner lends all of its connections alike (one, shared). conn.c uses
 * the loop, the limits, the counters and the ops. The rest are the daemon's
 * services, which the layers above conn (authz.c, sock.c, the handlers)
 * reach through a call's connection without knowing the server; conn.c does
 * not look at them. */
struct conn_env {
	struct loop *loop;
	const struct conn_ops *ops;
	const struct sbd_config *cfg;   /* idle_timeout_s, max_message_bytes, max_fds, max_queued_bytes */
	uint64_t *slow_disconnects;     /* the owner's counters */
	uint64_t *oversize_messages;
	uint64_t next_serial;
	struct server *srv;
	struct authz *authz;
	struct sock_table *socks;
	struct metrics *metrics;        /* calls and relayed bytes are counted here (metrics.h) */
};

/* Writers a connection remembers at once; a further one evicts the one that
 * wrote least recently (read again if it writes again). Each holds a pidfd. */
#define CONN_SENDERS_MAX 4

/* Tokens of the frame reader for a read's writer (frame_reader_fill_from). */
#define CONN_TOKEN_UNKNOWN 0    /* no writer could be told (c->unknown_why says why) */
#define CONN_TOKEN_SELF 1       /* the process that connected */

/* A process other than the one that connected, that wrote on the connection. */
struct conn_sender {
	unsigned refs;              /* the cache's, and one per call judged as it */
	uint64_t token;             /* > CONN_TOKEN_SELF; CONN_TOKEN_UNKNOWN for a stand-in */
	struct identity id;         /* its pidfd tells whether the process is still the same */
	size_t nrules_matching;     /* as of policy generation `generation` */
	uint64_t generation;
};

struct conn {
	const struct conn_env *env;
	const struct conn_ops *ops;  /* env->ops, or a virtual connection's own */
	struct server *srv;         /* env->srv, for the handlers */
	struct conn *prev, *next;
	uint64_t serial;
	int fd;
	struct loop_io io;
	struct identity id;         /* of the process that connected (identity.h) */
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
	struct loop_defer resume_defer; /* the messages read before a pause, after it */
	bool paused;                /* conn_pause: reading waits (a restart is under way) */
	struct sock *socks;         /* handles this connection owns */
	unsigned nsocks;
	bool read_done;             /* no more requests will be read (EOF, oversize) */
	/* net.setdefaulttimeout: what new sockets of this connection start with
	 * (Python's socket.setdefaulttimeout, per connection). */
	bool default_block;
	double default_timeout_s;
	bool dead;
	uint64_t requests;
	bool pass_pidfd;            /* SO_PASSPIDFD is on: since a second process wrote */
	struct conn_sender *senders[CONN_SENDERS_MAX];  /* most recent writer first */
	unsigned nsenders;
	uint64_t next_token;
	char unknown_why[256];      /* why the last CONN_TOKEN_UNKNOWN read was one */
	/* A virtual connection (conn_new_virtual) has no socket (fd -1): its
	 * replies go to deliver, and it ends once its requests are answered. */
	void (*deliver)(struct conn *c, json_object *reply);
	void *owner;                /* the virtual connection's owner (http.c) */
	bool no_fds;                /* methods that take or return descriptors are refused */
};

/* Takes fd (connected, non-blocking, CLOEXEC) and the identity read from it
 * (its contents are moved; *id is left empty). env outlives the connection;
 * its next_serial counts. */
int conn_new(struct conn_env *env, int fd, struct identity *id, struct conn **out);

/* A connection without a socket, for a request that came another way (an
 * HTTP request, http.c): requests are handed to it with dispatch_message,
 * each reply goes to deliver (taken), methods that pass descriptors are
 * refused, and it closes (ops->on_gone) once no request is left. The
 * identity's contents are moved, as conn_new's. */
int conn_new_virtual(struct conn_env *env, const struct conn_ops *ops, struct identity *id,
                     void (*deliver)(struct conn *c, json_object *reply), void *owner, struct conn **out);

/* Queues one reply message (taken) with descriptors (taken) and tries to send. */
void conn_queue_reply(struct conn *c, json_object *msg, int *fds, size_t nfds);

/* Tears the connection down: cancels its calls, closes its socket, tells its
 * owner (ops->on_gone), frees it after the current loop iteration. */
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
/* Stops reading requests for a while (true), or goes on (false), starting
 * with the messages read already. */
void conn_pause(struct conn *c, bool pause);

/* Who the bytes of msg are judged as: *out NULL for the process that
 * connected, else a reference to a writer (conn_sender_unref), possibly a
 * stand-in whose id.error says why its writer is not known. 0 or -ENOMEM. */
int conn_message_sender(struct conn *c, const struct frame_msg *msg, struct conn_sender **out);
void conn_sender_unref(struct conn_sender *s);

/* Reads the connection's identity again when it failed for the daemon's own
 * shortage of descriptors (id.retry); ops->on_identity recomputes what
 * depends on it. */
void conn_identity_retry(struct conn *c);

/* Sets what a connection socket needs for conn_new: SO_PASSCRED (a listening
 * socket passes it on to the sockets it accepts, so bytes written before
 * accept() returns carry their writer too). 0 or -errno. */
int conn_socket_setup(int fd);

#endif
