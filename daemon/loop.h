/* The daemon's one event loop: epoll for descriptors, a binary heap of
 * monotonic deadlines for timers, and deferred callbacks that run after the
 * current batch of events (so an object can be freed safely mid-batch). */
#ifndef SBD_LOOP_H
#define SBD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

struct loop_io {
	int fd;
	uint32_t events;
	void (*cb)(struct loop_io *io, uint32_t revents);
};

struct loop_timer {
	uint64_t deadline;      /* CLOCK_MONOTONIC, ns */
	size_t heap_idx;        /* 0 = not armed; else 1-based index in the heap */
	void (*cb)(struct loop_timer *t);
};

struct loop_defer {
	struct loop_defer *next;
	bool queued;
	void (*cb)(struct loop_defer *d);
};

/* Current CLOCK_MONOTONIC time in nanoseconds. */
uint64_t loop_now(void);

int loop_new(struct loop **out);
void loop_free(struct loop *l);

int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events,
                void (*cb)(struct loop_io *, uint32_t));
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);
void loop_io_del(struct loop *l, struct loop_io *io);

/* Arms (or re-arms) t for an absolute deadline. 0 or -ENOMEM. */
int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t deadline);
void loop_timer_disarm(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t) { return t->heap_idx != 0; }
size_t loop_timer_count(const struct loop *l);
/* Descriptor events delivered so far (a busy loop shows as a climbing count). */
uint64_t loop_event_count(const struct loop *l);

/* Runs d->cb once after the current event batch (idempotent while queued). */
void loop_defer(struct loop *l, struct loop_defer *d);
void loop_defer_cancel(struct loop *l, struct loop_defer *d);

/* Runs until loop_quit; returns 0 or -errno from epoll_wait. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);
/* One iteration, waiting at most timeout_ms (-1: until an event or timer). */
int loop_run_once(struct loop *l, int timeout_ms);

#endif
