#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "loop.h"
#include "util.h"

#define LOOP_MAX_EVENTS 256

struct loop {
	int epfd;
	bool quit;
	struct loop_timer **heap;   /* 1-based: heap[1] is the earliest */
	size_t nheap, capheap;
	struct loop_defer *defer_head, **defer_tail;
	uint64_t events;            /* descriptor events delivered, for admin.stats */
};

uint64_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int r = -errno;
		free(l);
		return r;
	}
	l->defer_tail = &l->defer_head;
	*out = l;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	safe_close(l->epfd);
	free(l->heap);
	free(l);
}

int loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events,
                void (*cb)(struct loop_io *, uint32_t))
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (io->events == events)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	io->events = events;
	return 0;
}

void loop_io_del(struct loop *l, struct loop_io *io)
{
	if (io->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->cb = NULL;
}

static void heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	while (i > 1 && l->heap[i / 2]->deadline > t->deadline) {
		heap_set(l, i, l->heap[i / 2]);
		i /= 2;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i;
		if (c > l->nheap)
			break;
		if (c + 1 <= l->nheap && l->heap[c + 1]->deadline < l->heap[c]->deadline)
			c++;
		if (l->heap[c]->deadline >= t->deadline)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t deadline)
{
	if (t->heap_idx) {
		uint64_t old = t->deadline;
		t->deadline = deadline;
		if (deadline < old)
			heap_up(l, t->heap_idx);
		else
			heap_down(l, t->heap_idx);
		return 0;
	}
	if (l->nheap + 1 >= l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 64;
		struct loop_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->deadline = deadline;
	l->nheap++;
	heap_set(l, l->nheap, t);
	heap_up(l, l->nheap);
	return 0;
}

void loop_timer_disarm(struct loop *l, struct loop_timer *t)
{
	size_t i = t->heap_idx;
	struct loop_timer *last;

	if (!i)
		return;
	t->heap_idx = 0;
	last = l->heap[l->nheap--];
	if (last == t)
		return;
	heap_set(l, i, last);
	if (i > 1 && l->heap[i / 2]->deadline > last->deadline)
		heap_up(l, i);
	else
		heap_down(l, i);
}

uint64_t loop_event_count(const struct loop *l)
{
	return l->events;
}

size_t loop_timer_count(const struct loop *l)
{
	return l->nheap;
}

void loop_defer(struct loop *l, struct loop_defer *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = NULL;
	*l->defer_tail = d;
	l->defer_tail = &d->next;
}

void loop_defer_cancel(struct loop *l, struct loop_defer *d)
{
	struct loop_defer **pp;

	if (!d->queued)
		return;
	for (pp = &l->defer_head; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			if (l->defer_tail == &d->next)
				l->defer_tail = pp;
			break;
		}
	d->queued = false;
}

static void run_deferred(struct loop *l)
{
	while (l->defer_head) {
		struct loop_defer *d = l->defer_head;
		l->defer_head = d->next;
		if (!l->defer_head)
			l->defer_tail = &l->defer_head;
		d->queued = false;
		d->cb(d);
	}
}

static void run_timers(struct loop *l)
{
	uint64_t now = loop_now();

	while (l->nheap && l->heap[1]->deadline <= now) {
		struct loop_timer *t = l->heap[1];
		loop_timer_disarm(l, t);
		t->cb(t);
	}
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int n;

	if (l->nheap) {
		uint64_t now = loop_now(), dl = l->heap[1]->deadline;
		/* Round up so a timer never fires a hair early and spins. */
		int64_t ms = dl <= now ? 0 : (int64_t)((dl - now + 999999) / 1000000);
		if (ms > 3600000)
			ms = 3600000;
		if (timeout_ms < 0 || ms < timeout_ms)
			timeout_ms = (int)ms;
	}
	n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		struct loop_io *io = evs[i].data.ptr;
		/* An earlier callback in this batch may have removed io; removal
		 * clears cb and the owner frees io only from a deferred callback. */
		if (io->cb) {
			l->events++;
			io->cb(io, evs[i].events);
		}
	}
	run_timers(l);
	run_deferred(l);
	return 0;
}

int loop_run(struct loop *l)
{
	l->quit = false;
	while (!l->quit) {
		int r = loop_run_once(l, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void loop_quit(struct loop *l)
{
	l->quit = true;
}
