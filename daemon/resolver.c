#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "addr.h"
#include "loop.h"
#include "resolver.h"
#include "util.h"

/* A job's life: submitted (QUEUED) -> a worker takes it (RUNNING) -> finished
 * and waiting for the loop thread (FINISHED) -> delivered (IDLE again). Every
 * state change happens under the mutex; `cancelled` is only touched on the
 * loop thread. */
enum {
	RJ_IDLE = 0,
	RJ_QUEUED,
	RJ_RUNNING,
	RJ_FINISHED,
};

struct resolver {
	struct loop *loop;
	int efd;                        /* workers -> loop: "finished jobs are waiting" */
	struct loop_io io;
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* queue not empty, or stopping */
	struct resolve_job *q_head, **q_tail;     /* waiting, FIFO */
	struct resolve_job *f_head, **f_tail;     /* finished, FIFO */
	unsigned owned;                 /* submitted and not yet delivered or destroyed */
	unsigned max_queue, share;
	struct share *shares;           /* one per owner holding jobs; at most max_queue */
	unsigned nshares;
	bool stopping;
	pthread_t *threads;
	unsigned nthreads;
};

/* What one owner holds: jobs in (any state) and jobs running. */
struct share {
	uid_t owner;
	unsigned held, running;
};

static unsigned queue_share(const struct resolver *r)
{
	return r->share;
}

static unsigned run_share(const struct resolver *r)
{
	return r->nthreads / 2 ? r->nthreads / 2 : 1;
}

/* Under the mutex. NULL when the owner holds nothing (and !add) */
static struct share *share_of(struct resolver *r, uid_t owner, bool add)
{
	for (unsigned i = 0; i < r->nshares; i++)
		if (r->shares[i].owner == owner)
			return &r->shares[i];
	if (!add || r->nshares >= r->max_queue)
		return NULL;
	r->shares[r->nshares] = (struct share){ owner, 0, 0 };
	return &r->shares[r->nshares++];
}

/* Under the mutex: job leaves the resolver. */
static void share_release(struct resolver *r, struct resolve_job *job)
{
	struct share *sh = share_of(r, job->owner, false);

	r->owned--;
	if (sh && --sh->held == 0)
		*sh = r->shares[--r->nshares];
}

/* Under the mutex: the first queued job whose owner runs fewer than its share
 * of the workers, taken off the queue; NULL when none may run now. */
static struct resolve_job *next_runnable(struct resolver *r)
{
	unsigned limit = run_share(r);

	for (struct resolve_job **pp = &r->q_head; *pp; pp = &(*pp)->next) {
		struct resolve_job *job = *pp;
		struct share *sh = share_of(r, job->owner, false);
		if (sh && sh->running >= limit)
			continue;
		*pp = job->next;
		if (r->q_tail == &job->next)
			r->q_tail = pp;
		job->next = NULL;
		if (sh)
			sh->running++;
		return job;
	}
	return NULL;
}

/* Removes job from the singly linked FIFO (head, tail). true if it was there. */
static bool fifo_remove(struct resolve_job **head, struct resolve_job ***tail, struct resolve_job *job)
{
	for (struct resolve_job **pp = head; *pp; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			if (*tail == &job->next)
				*tail = pp;
			job->next = NULL;
			return true;
		}
	return false;
}

static void fifo_push(struct resolve_job ***tail, struct resolve_job *job)
{
	job->next = NULL;
	**tail = job;
	*tail = &job->next;
}

static struct resolve_job *fifo_pop(struct resolve_job **head, struct resolve_job ***tail)
{
	struct resolve_job *job = *head;

	if (!job)
		return NULL;
	*head = job->next;
	if (!*head)
		*tail = head;
	job->next = NULL;
	return job;
}

/* Wakes the loop thread. An eventfd counter cannot realistically overflow
 * (2^64 - 2 posts), so a failed write needs no retry. */
static void post(struct resolver *r)
{
	uint64_t one = 1;
	ssize_t n = write(r->efd, &one, sizeof(one));

	(void)n;
}

/* A worker: takes jobs until told to stop. Jobs still queued at stop are left
 * for resolver_free to destroy. */
static void *worker_main(void *arg)
{
	struct resolver *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct resolve_job *job = NULL;
		struct share *sh;

		while (!r->stopping && !(job = next_runnable(r)))
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stopping)
			break;
		job->state = RJ_RUNNING;
		pthread_mutex_unlock(&r->mu);

		job->work(job);

		pthread_mutex_lock(&r->mu);
		if ((sh = share_of(r, job->owner, false)))
			sh->running--;
		/* Its owner may run another now. */
		pthread_cond_broadcast(&r->cv);
		job->state = RJ_FINISHED;
		fifo_push(&r->f_tail, job);
		pthread_mutex_unlock(&r->mu);
		post(r);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Loop thread: delivers finished jobs one at a time, so that a done callback
 * that cancels another finished job (a connection closing) finds it still in
 * the list. Only jobs finished before the eventfd was drained are handled here;
 * later ones posted again and come with the next wake-up. */
static void on_wake(struct loop_io *io, uint32_t revents)
{
	struct resolver *r = (struct resolver *)((char *)io - offsetof(struct resolver, io));
	uint64_t v;
	unsigned budget;

	if (read(r->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->mu);
	budget = r->owned;
	pthread_mutex_unlock(&r->mu);
	while (budget--) {
		struct resolve_job *job;

		pthread_mutex_lock(&r->mu);
		job = fifo_pop(&r->f_head, &r->f_tail);
		if (job) {
			job->state = RJ_IDLE;
			share_release(r, job);
		}
		pthread_mutex_unlock(&r->mu);
		if (!job)
			break;
		if (job->cancelled)
			job->destroy(job);
		else
			job->done(job);
	}
}

/* Stops and joins the first n workers. */
static void stop_workers(struct resolver *r, unsigned n)
{
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	for (unsigned i = 0; i < n; i++)
		pthread_join(r->threads[i], NULL);
}

int resolver_new(struct loop *l, unsigned threads, unsigned max_queue, unsigned share, struct resolver **out)
{
	struct resolver *r;
	sigset_t all, old;
	int rc;

	if (threads == 0 || max_queue == 0 || share == 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = l;
	r->max_queue = max_queue;
	r->share = share;
	r->q_tail = &r->q_head;
	r->f_tail = &r->f_head;
	r->threads = calloc(threads, sizeof(*r->threads));
	r->shares = calloc(max_queue, sizeof(*r->shares));
	if (!r->threads || !r->shares) {
		free(r->threads);
		free(r->shares);
		free(r);
		return -ENOMEM;
	}
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		rc = -errno;
		goto fail_alloc;
	}
	rc = -pthread_mutex_init(&r->mu, NULL);
	if (rc < 0)
		goto fail_efd;
	rc = -pthread_cond_init(&r->cv, NULL);
	if (rc < 0)
		goto fail_mutex;
	rc = loop_io_add(l, &r->io, r->efd, EPOLLIN, on_wake);
	if (rc < 0)
		goto fail_cond;
	/* Workers start with every signal blocked: signals are the loop thread's
	 * business (signalfd), and a handler must never run in a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (r->nthreads = 0; r->nthreads < threads; r->nthreads++) {
		rc = -pthread_create(&r->threads[r->nthreads], NULL, worker_main, r);
		if (rc < 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		stop_workers(r, r->nthreads);
		loop_io_del(l, &r->io);
		goto fail_cond;
	}
	*out = r;
	return 0;

fail_cond:
	pthread_cond_destroy(&r->cv);
fail_mutex:
	pthread_mutex_destroy(&r->mu);
fail_efd:
	safe_close(r->efd);
fail_alloc:
	free(r->threads);
	free(r->shares);
	free(r);
	return rc;
}

void resolver_free(struct resolver *r)
{
	struct resolve_job *job;

	if (!r)
		return;
	stop_workers(r, r->nthreads);
	/* No worker is left: the lists are ours alone. */
	while ((job = fifo_pop(&r->q_head, &r->q_tail)) || (job = fifo_pop(&r->f_head, &r->f_tail))) {
		job->state = RJ_IDLE;
		job->destroy(job);
	}
	loop_io_del(r->loop, &r->io);
	safe_close(r->efd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->threads);
	free(r->shares);
	free(r);
}

int resolver_submit(struct resolver *r, struct resolve_job *job)
{
	struct share *sh;

	pthread_mutex_lock(&r->mu);
	if (r->owned >= r->max_queue || r->stopping) {
		pthread_mutex_unlock(&r->mu);
		return -EAGAIN;
	}
	sh = share_of(r, job->owner, true);
	if (!sh || sh->held >= queue_share(r)) {
		pthread_mutex_unlock(&r->mu);
		return -EDQUOT;
	}
	sh->held++;
	r->owned++;
	job->cancelled = false;
	job->state = RJ_QUEUED;
	fifo_push(&r->q_tail, job);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void resolver_cancel(struct resolver *r, struct resolve_job *job)
{
	bool now = false;

	pthread_mutex_lock(&r->mu);
	switch (job->state) {
	case RJ_QUEUED:
		now = fifo_remove(&r->q_head, &r->q_tail, job);
		break;
	case RJ_FINISHED:
		now = fifo_remove(&r->f_head, &r->f_tail, job);
		break;
	case RJ_RUNNING:
		/* Its work cannot be interrupted (getaddrinfo has no cancel):
		 * on_wake destroys it when the worker hands it back. */
		job->cancelled = true;
		break;
	default:
		break;
	}
	if (now) {
		job->state = RJ_IDLE;
		share_release(r, job);
	}
	pthread_mutex_unlock(&r->mu);
	if (now)
		job->destroy(job);
}

unsigned resolver_pending(const struct resolver *r)
{
	unsigned n;

	pthread_mutex_lock((pthread_mutex_t *)&r->mu);
	n = r->owned;
	pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
	return n;
}

unsigned resolver_running(const struct resolver *r)
{
	unsigned n = 0;

	pthread_mutex_lock((pthread_mutex_t *)&r->mu);
	for (unsigned i = 0; i < r->nshares; i++)
		n += r->shares[i].running;
	pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
	return n;
}

unsigned resolver_workers(const struct resolver *r)
{
	return r->nthreads;
}

unsigned resolver_max_queue(const struct resolver *r)
{
	return r->max_queue;
}

unsigned resolver_share(const struct resolver *r)
{
	return queue_share(r);
}

int resolve_first(const char *host, struct sbaddr *a, int *err)
{
	struct addrinfo hints = { .ai_family = a->ss.ss_family }, *res = NULL;
	int gai = getaddrinfo(host, NULL, &hints, &res);

	*err = errno;
	if (gai)
		return gai;
	if (res->ai_family == AF_INET && a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	else if (res->ai_family == AF_INET6 && a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_addr = ((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	else
		gai = EAI_ADDRFAMILY;
	freeaddrinfo(res);
	return gai;
}

int resolve_among(const char *host, const struct sbaddr *want, bool *found, int *err)
{
	int family = want->ss.ss_family;
	struct addrinfo hints = { .ai_family = family }, *res = NULL;
	int gai;

	*found = false;
	if (family != AF_INET && family != AF_INET6) {
		*err = 0;
		return EAI_FAMILY;
	}
	gai = getaddrinfo(host, NULL, &hints, &res);
	*err = errno;
	if (gai)
		return gai;
	for (struct addrinfo *ai = res; ai && !*found; ai = ai->ai_next) {
		if (ai->ai_family != family)
			continue;
		if (family == AF_INET)
			*found = !memcmp(&((const struct sockaddr_in *)ai->ai_addr)->sin_addr,
			                 &((const struct sockaddr_in *)&want->ss)->sin_addr, sizeof(struct in_addr));
		else
			*found = !memcmp(&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			                 &((const struct sockaddr_in6 *)&want->ss)->sin6_addr, sizeof(struct in6_addr));
	}
	freeaddrinfo(res);
	return 0;
}

int resolve_stream(const char *host, const char *port, struct sbaddr *out, size_t max, size_t *n, size_t *left,
                   int *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);

	*err = errno;
	*n = 0;
	if (left)
		*left = 0;
	if (gai)
		return gai;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(out->ss))
			continue;
		/* Counted, so that a failure can say what was not tried. */
		if (*n == max) {
			if (!left)
				break;
			(*left)++;
			continue;
		}
		memset(&out[*n], 0, sizeof(out[*n]));
		memcpy(&out[*n].ss, ai->ai_addr, ai->ai_addrlen);
		out[(*n)++].len = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	return 0;
}

void resolve_sources(const char *name, const struct sbaddr *tmpl, const struct sbaddr *cands, size_t n,
                     struct sbaddr *out, int *gai, int *err)
{
	uint16_t port = tmpl->ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&tmpl->ss)->sin6_port
	                                               : ((const struct sockaddr_in *)&tmpl->ss)->sin_port;

	for (int i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;
		bool need = false;

		for (size_t c = 0; c < n && !need; c++)
			need = cands[c].ss.ss_family == family;
		memset(&out[i], 0, sizeof(out[i]));
		gai[i] = EAI_FAMILY;
		err[i] = 0;
		if (!need)
			continue;
		out[i].ss.ss_family = (sa_family_t)family;
		if (i) {
			((struct sockaddr_in6 *)&out[i].ss)->sin6_port = port;
			out[i].len = sizeof(struct sockaddr_in6);
		} else {
			((struct sockaddr_in *)&out[i].ss)->sin_port = port;
			out[i].len = sizeof(struct sockaddr_in);
		}
		gai[i] = resolve_first(name, &out[i], &err[i]);
	}
}
