/* Held sockets: a daemon-wide table, name -> socket, that belongs to no
 * connection. A socket put here outlives the client that put it (and every
 * other client) until it is taken, removed, expires, or the daemon stops.
 * Each keeps the identity of whoever put it, for hold.list and the logs. */
#ifndef SBD_HOLD_H
#define SBD_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "loop.h"

/* Names: 1 to this many bytes of UTF-8, no NUL, no '/', not starting with '.'. */
#define HOLD_NAME_MAX 200
/* The longest expiry hold.put accepts, in seconds (a year). */
#define HOLD_EXPIRES_MAX (86400.0 * 366)

/* Who put a held socket: the identity at put (strings copied). */
struct hold_owner {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	const char *exe;            /* NULL: unknown */
	const char *token;          /* an HTTP caller's token name; NULL: none */
	bool declared;              /* the administrator's (a declared socket): read-only */
};

struct hold_table;

struct held {
	char *name;
	int fd;                     /* the daemon's own duplicate: CLOEXEC, O_NONBLOCK */
	int family, type, proto;    /* read back from the kernel */
	struct sockaddr_storage local;
	socklen_t local_len;        /* 0: getsockname failed */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char *exe, *token;
	double put_time;            /* wall clock, seconds */
	uint64_t retrievals;
	double expires;             /* wall clock; 0: never */
	struct loop_timer timer;    /* armed when expires */
	struct hold_table *table;
	struct held *hash_next;
	struct held *prev, *next;   /* in put order, for hold.list */
	bool declared;              /* the administrator's (sockets.d): retrieved, never taken or removed */
	bool stored;                /* sent to systemd's descriptor store (fdstore.c) */
};

struct hold_table {
	struct loop *loop;          /* expiry timers; NULL: expiry only by hold_expire_due */
	struct held **buckets;      /* a power of two of them */
	size_t nbuckets, n, max;
	struct held *first, *last;
	uint64_t expired;           /* removed by expiry, for the logs and tests */
	/* Told of every socket that enters the table (added, once it is in)
	 * and leaves it by take, remove or expiry (before it goes, its fd
	 * still open); not of hold_table_free. NULL: nobody listens. */
	void (*on_change)(struct hold_table *t, struct held *h, bool added);
	void *userdata;
};

/* 0 or -ENOMEM. max: the most sockets held at once (--max-held). */
int hold_table_init(struct hold_table *t, struct loop *loop, size_t max);
/* Closes every held socket. */
void hold_table_free(struct hold_table *t);

/* Whether name (len bytes, may hold NUL) is a valid held-socket name: 0, or
 * -EINVAL with *why a sentence saying what is wrong. */
int hold_name_check(const char *name, size_t len, const char **why);

/* The socket held under name; NULL when there is none. */
struct held *hold_find(struct hold_table *t, const char *name);

/* Holds fd (taken: closed on every error) under name. expires_s > 0: removed
 * that many seconds from now. -EINVAL (bad name), -EEXIST (name held),
 * -EDQUOT (the table is full), -ENOTSOCK (fd is no socket), -ENOMEM, or
 * another -errno of reading the socket back. */
int hold_put(struct hold_table *t, const char *name, int fd, const struct hold_owner *who, double expires_s,
             struct held **out);

/* A new CLOEXEC descriptor of the held socket (counts a retrieval), or -errno. */
int hold_dup(struct held *h);
/* Removes h from the table and hands its descriptor over (counts a retrieval). */
int hold_take(struct held *h);
/* Removes h and closes its descriptor. */
void hold_remove(struct held *h);

/* Removes every socket whose expiry is at or before now (wall clock): what
 * the timers do, for a table without a loop. The number removed. */
size_t hold_expire_due(struct hold_table *t, double now);

/* h as hold.list shows it. */
json_object *hold_info(const struct held *h);

struct call;
/* For methods that make a socket and hold it at once (`hold: NAME` of
 * socket.create and socket.listen_on; rpc-hold.c): holds fd (taken) under
 * name with the caller as its owner, and adds "held": name to r. 0, or the
 * call's error (-32013, -32012 {"limit":"held"}, -errno). The plan asked
 * `hold` of the name already. */
int rpc_hold_keep(struct call *call, const char *name, int fd, json_object *r);
/* The `hold` param's check, for a plan: 0 or a -32602 naming "hold". */
int rpc_hold_check_param(struct call *call, const char *name);

#endif
