/* Blocking look-ups off the event loop: a small pool of worker threads with a
 * bounded queue. A job's `work` runs on a worker (it may block: getaddrinfo,
 * gethostbyname_r, ...; it must not touch daemon state); its `done` runs
 * afterwards on the loop thread, woken through an eventfd. */
#ifndef SBD_RESOLVER_H
#define SBD_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct loop;
struct resolver;

struct resolve_job {
	void (*work)(struct resolve_job *job);     /* worker thread */
	void (*done)(struct resolve_job *job);     /* loop thread, unless cancelled */
	void (*destroy)(struct resolve_job *job);  /* loop thread, for a cancelled job, after its work (if started) ended */
	uid_t owner;                               /* whose share of the queue it uses */
	/* private to resolver.c */
	struct resolve_job *next;
	int state;
	bool cancelled;
};

/* threads workers; at most max_queue jobs held at once (waiting, running, or
 * finished and not yet handed to done/destroy), at most share of them by one
 * owner. 0 or -errno (-EINVAL for 0). */
int resolver_new(struct loop *l, unsigned threads, unsigned max_queue, unsigned share, struct resolver **out);
/* Stops the workers (waiting for jobs already running), destroys every job
 * left. NULL is fine. */
void resolver_free(struct resolver *r);
/* 0, -EAGAIN when max_queue jobs are already in, or -EDQUOT when job->owner
 * already holds its share (resolver_share): the caller answers with a limit
 * error. The job belongs to the resolver until done or destroy runs. */
int resolver_submit(struct resolver *r, struct resolve_job *job);
/* Jobs one owner may hold at once (the share given to resolver_new), so that
 * one user's slow look-ups cannot take the queue from everyone else. And an
 * owner's jobs run on at most half the workers (at least 1) at once; the
 * others wait while other owners' jobs run. */
unsigned resolver_share(const struct resolver *r);
/* The caller no longer wants the result (its client left): a queued job is
 * destroyed at once; a running one is destroyed, not done, when it returns. */
void resolver_cancel(struct resolver *r, struct resolve_job *job);
/* The max_queue it was made with (for the limit error). */
unsigned resolver_max_queue(const struct resolver *r);
/* Jobs held: waiting, running, or finished and not yet delivered (for
 * daemon.info and tests). */
unsigned resolver_pending(const struct resolver *r);
/* Jobs a worker is running now (for metrics). */
unsigned resolver_running(const struct resolver *r);
/* Worker threads (the threads given to resolver_new). */
unsigned resolver_workers(const struct resolver *r);

/* -- look-ups as the socket methods make them, for a job's work (they block) --
 * One coding, so that policy.check resolves a name exactly as the method it
 * judges would. Each returns 0 or a getaddrinfo code, with errno in *err. */

struct sbaddr;

/* The addresses of one name create_connection tries at most (and policy.check
 * judges): the first this many IPv4 and IPv6 answers, in getaddrinfo's
 * order; later ones are neither judged nor tried (Python tries them all:
 * docs/protocol.md section 11). */
#define RESOLVE_STREAM_MAX 16

/* CPython's setipaddr: host for the family of *a (AF_INET or AF_INET6),
 * whose address is replaced by the first answer; EAI_ADDRFAMILY when the
 * answer is of another family. */
int resolve_first(const char *host, struct sbaddr *a, int *err);

/* Whether want's address (AF_INET or AF_INET6; its port and scope aside) is
 * among every answer getaddrinfo gives for host in want's family, in *found.
 * Nothing is kept of the answers but that: a name's address list bounds
 * nothing here. */
int resolve_among(const char *host, const struct sbaddr *want, bool *found, int *err);

/* Python's create_connection: getaddrinfo(host, port, AF_UNSPEC,
 * SOCK_STREAM), its IPv4 and IPv6 addresses in order, at most max of them
 * into out (*n of them; EAI_NONAME-like 0 addresses are the caller's to
 * report), and in *left (when not NULL) how many more there were, left out. */
int resolve_stream(const char *host, const char *port, struct sbaddr *out, size_t max, size_t *n, size_t *left,
                   int *err);

/* create_connection's source_address name, as Python's sock.bind on each
 * candidate's socket looks it up (setipaddr: the socket's family, the first
 * answer): for AF_INET (out[0]) and AF_INET6 (out[1]; gai, err of 2 too) when one of the n
 * candidates is of that family, with tmpl's port. gai[i] 0 when out[i] is
 * filled; a family no candidate has is EAI_FAMILY, not looked up. */
void resolve_sources(const char *name, const struct sbaddr *tmpl, const struct sbaddr *cands, size_t n,
                     struct sbaddr *out, int *gai, int *err);

#endif
