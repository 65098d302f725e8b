/* systemd's file-descriptor store (docs/FILE_DESCRIPTOR_STORE.md in
 * systemd), spoken directly: every held socket goes to the store as
 * FDSTORE=1 FDNAME=held.<enc> when it enters the hold table and leaves it
 * (FDSTOREREMOVE=1) when it is taken, removed or expires; every declared
 * socket as decl.<enc> while it is declared; and a sealed memfd, "state",
 * describes them (fdstate.h), written at most once per FDSTORE_STATE_MIN_NS
 * and at a clean stop. After a crash or a restart systemd hands all of them
 * to the new daemon (LISTEN_FDS, LISTEN_FDNAMES).
 *
 * Nothing here is fatal: a message that cannot be sent is logged (rate
 * limited) and the daemon goes on, only less sure to survive a crash. */
#ifndef SBD_FDSTORE_H
#define SBD_FDSTORE_H

#include <stdbool.h>
#include <stdint.h>

struct server;
struct held;
struct declared_table;
struct declared_set;
struct fdstore;

/* The state memfd is replaced at most this often (a burst of puts writes
 * it once), and at least this long after it cost ten times as much. */
#define FDSTORE_STATE_MIN_NS (200ull * 1000000ull)
/* systemd hands the store on in LISTEN_FDNAMES, one environment string,
 * which execve(2) takes up to MAX_ARG_STRLEN (32 pages: 128 KiB); past it
 * the exec fails (E2BIG) and the service cannot start again. The names we
 * store ("held.web:" ...) stay within this, leaving 4 KiB for the socket
 * unit's own names and "LISTEN_FDNAMES=". */
#define FDSTORE_NAMES_MAX (124u * 1024u)
/* Messages waiting for room in systemd's queue (each with its descriptor). */
#define FDSTORE_QUEUE_MAX 4096
/* How long a reload waits for systemd to let go of declared sockets it is
 * about to make again (BARRIER=1), and a stop for the queue to drain. */
#define FDSTORE_BARRIER_MS 500

struct fdstore_stats {
	uint64_t sent;          /* messages systemd took */
	uint64_t failed;        /* messages lost (an error, the queue full) and sockets not stored for want of room */
	uint64_t state_writes;  /* state memfds sent */
	uint64_t unnamed;       /* sockets whose name cannot be an FDNAME */
	uint64_t queued;        /* waiting now */
	uint64_t stored;        /* sockets in the store, as far as we know */
	uint64_t name_bytes;    /* their names, with a ':' each (FDSTORE_NAMES_MAX) */
};

/* On when s->cfg says so and $NOTIFY_SOCKET is set: 0 with *out, or 0 with
 * *out NULL when off; -errno. Hooks itself to s->holds. */
int fdstore_new(struct server *s, struct fdstore **out);
/* A held socket entered (added) or is leaving the hold table. */
void fdstore_held(struct fdstore *f, struct held *h, bool added);
/* Before declared_apply(t, next): every declared socket about to be closed
 * (one of ours, or one handed over that the files no longer declare as it
 * was made) leaves the store, and systemd is given FDSTORE_BARRIER_MS to
 * let go of it, so that its address is free for the socket that replaces
 * it. */
void fdstore_declared_release(struct fdstore *f, const struct declared_table *t, const struct declared_set *next);
/* After declared_apply: every declared socket made and not stored yet. */
void fdstore_declared_sync(struct fdstore *f, const struct declared_table *t);
/* Once the daemon has taken back what it was handed: every held.* and
 * decl.* socket systemd passed (LISTEN_FDNAMES) that it did not keep leaves
 * the store, so that nothing stays there for ever; the state is rewritten.
 * (What it kept is in the store already and is not sent again.) */
void fdstore_ready(struct fdstore *f);
/* A clean stop: the queue sent (bounded) and the state written now. The
 * store keeps every socket: `systemctl restart` hands them on. */
void fdstore_stop(struct fdstore *f);
void fdstore_free(struct fdstore *f);
/* fdname (held.* or decl.*; others are ignored) is in the store already:
 * systemd passed it back at start, or a restart handed it over as the old
 * process stored it. Kept, it is not sent again; not kept, fdstore_ready
 * removes it. */
void fdstore_handed_add(struct fdstore *f, const char *fdname);
/* Sends what waits, for at most ms (a restart, before the old process hands
 * the main pid over and exits). */
void fdstore_flush(struct fdstore *f, unsigned ms);
/* Whether an FDSTORE=1 of fdname still waits in the queue (at most
 * FDSTORE_QUEUE_MAX to look through; none when the queue is empty, as it
 * is but for a service manager that stopped reading). */
bool fdstore_pending(const struct fdstore *f, const char *fdname);
/* Whether the declared socket stored as fdname is in systemd's store as
 * far as this process knows: sent, not waiting in the queue. */
bool fdstore_has_decl(const struct fdstore *f, const char *fdname);
/* FDSTOREREMOVE=1 of fdname: for what systemd handed over at start that
 * the daemon does not keep (an old version's, a socket no longer declared),
 * so that it does not stay in the store for ever. */
void fdstore_forget(struct fdstore *f, const char *fdname);
/* Zeros when f is NULL (off). */
void fdstore_get_stats(const struct fdstore *f, struct fdstore_stats *out);

#endif
