/* Daemon-owned sockets: handles (never reused), their owner connection, Python
 * timeout state, counters, and parked operations. An operation is a `try`
 * function: it is tried at once, and if the socket would block it is parked
 * until the socket is ready (then tried again), its deadline passes (-32003),
 * the socket is closed, or its client goes. */
#ifndef SBD_SOCK_H
#define SBD_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "loop.h"

struct call;
struct conn;
struct sock_wait;

/* Every connection's handles by number (a chained hash). Handles count up
 * from 1 and are never reused during one run. */
struct sock_table {
	struct loop *loop;          /* the handles' descriptors are watched on it */
	struct sock **buckets;      /* a power of two of them */
	size_t nbuckets, n;
	uint64_t next_handle;
};

struct sock {
	uint64_t handle;
	int fd;                     /* O_NONBLOCK, CLOEXEC */
	int family, type, proto;    /* as the kernel reads them back (SO_DOMAIN, SO_TYPE, SO_PROTOCOL) */
	bool owned_by_caller;       /* made with the caller's fs uid: the kernel's owner checks apply */
	struct sock_table *table;
	struct conn *owner;
	struct sock *conn_prev, *conn_next;
	struct sock *hash_next;
	bool block;                 /* timeout null: wait without limit */
	double timeout_s;           /* when !block; 0 = non-blocking */
	uint64_t bytes_in, bytes_out;
	double created;             /* wall clock, seconds */
	struct loop_io io;
	bool io_added;
	struct sock_wait *waits;    /* parked operations, oldest first */
	struct sock_wait **waits_tail;
	unsigned nwaits;
	unsigned epoch;             /* readiness events seen, for one try each */
	unsigned busy;              /* callbacks running on it: defer the free */
	bool dead;                  /* closed; freed when not busy */
	struct loop_defer free_defer; /* the free runs after the current event batch */
};

/* Tries the operation once: 0 done (result set on w->call), -EAGAIN not yet,
 * CALL_ERR_SET or another -errno: failed. */
typedef int (*sock_try_fn)(struct sock_wait *w);

struct sock_wait {
	struct sock *sk;
	struct call *call;
	uint32_t events;            /* EPOLLIN or EPOLLOUT */
	sock_try_fn try_op;
	void *state;                /* the operation's own, freed with free_state */
	void (*free_state)(void *state);
	/* Extra members for the timeout error's data (e.g. "sent"); may be NULL. */
	void (*timeout_data)(struct sock_wait *w, json_object *data);
	double timeout_s;
	struct loop_timer timer;
	unsigned epoch;
	struct sock_wait *next;
};

/* The server's one table. 0 or -ENOMEM. */
int sock_table_init(struct sock_table *t, struct loop *loop);
void sock_table_free(struct sock_table *t);

/* Makes fd (taken; closed on error) a handle of c, in its env's table, with
 * the connection's default timeout. -EMFILE-like limits: -EDQUOT when c has max handles. */
int sock_new(struct conn *c, int fd, int family, int type, int proto, struct sock **out);
/* Any connection's socket by handle (admin); NULL when there is none. */
struct sock *sock_find(struct sock_table *t, int64_t handle);
/* The caller's socket with that handle, or NULL (other connections' handles
 * are invisible). */
struct sock *sock_lookup(struct conn *c, int64_t handle);
/* Like sock_lookup, but sets the -32011 error on call when there is none. */
int sock_get(struct call *call, int64_t handle, struct sock **out);

/* Closes the socket: parked operations fail (EBADF), the descriptor is closed,
 * the handle is gone. */
void sock_close(struct sock *sk);
/* Hands the descriptor over and forgets the handle (socket.detach). Parked
 * operations fail first; -EBADF when that closed the socket. */
int sock_take_fd(struct sock *sk);
/* Puts a new descriptor (taken, non-blocking) under the same handle, closing
 * the old one: connect_to moving on to the next address. Parked operations
 * stay parked; their epoll interest follows on the next update. */
void sock_replace_fd(struct sock *sk, int fd, int family);

/* Closes every socket of c (its connection is going). */
void sock_close_all(struct conn *c);

/* Runs try_op now; parks it when the socket would block and its timeout
 * allows (never when nowait: the caller's MSG_DONTWAIT). Returns 0 / error for
 * the handler to return, or CALL_PENDING. state is freed (free_state) in every
 * case once the operation ends. */
int sock_op(struct call *call, struct sock *sk, uint32_t events, bool nowait, sock_try_fn try_op,
            void *state, void (*free_state)(void *),
            void (*timeout_data)(struct sock_wait *, json_object *));

/* n payload bytes went to the socket (sent) or came from it for its client:
 * the socket's own counters and the daemon's metrics. The one place relayed
 * bytes are counted. */
void sock_count_bytes(struct sock *sk, bool sent, uint64_t n);

/* The socket's state as socket.info shows it. */
json_object *sock_info(struct sock *sk);
/* Timeout as JSON: null or seconds. */
json_object *sock_timeout_json(const struct sock *sk);

#endif
