/* Unit tests of the resolver pool (daemon/resolver.c) driven by a real loop:
 * work runs on workers and done on the loop thread, the queue limit, cancel
 * of a queued, running or finished job, re-entrant cancel from a done
 * callback, and resolver_free with jobs in flight; resolve_among (connect's
 * `resolved`). Jobs are heap-allocated and
 * freed only by done or destroy, so a job handled twice or never shows up
 * under ASan/LSan. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "daemon/loop.h"
#include "daemon/resolver.h"
#include "unit.h"

/* Shared by workers and the test: a gate jobs wait at, and counters. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int started, finished;
/* Loop thread only. */
static int ndone, ndestroy, done_off_loop, last_done_id;
static pthread_t main_thread;
static struct resolver *R;

struct tjob {
	struct resolve_job job;
	int id;
	bool gated;
	pthread_t worker;
	struct tjob *victim;    /* cancelled by this job's done callback */
};

static void tjob_work(struct resolve_job *j)
{
	struct tjob *t = (struct tjob *)j;

	t->worker = pthread_self();
	pthread_mutex_lock(&mu);
	started++;
	pthread_cond_broadcast(&cv);
	while (t->gated && !gate_open)
		pthread_cond_wait(&cv, &mu);
	finished++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void tjob_done(struct resolve_job *j)
{
	struct tjob *t = (struct tjob *)j;

	if (!pthread_equal(pthread_self(), main_thread) || pthread_equal(t->worker, main_thread))
		done_off_loop++;
	ndone++;
	last_done_id = t->id;
	if (t->victim)
		resolver_cancel(R, &t->victim->job);
	free(t);
}

static void tjob_destroy(struct resolve_job *j)
{
	if (!pthread_equal(pthread_self(), main_thread))
		done_off_loop++;
	ndestroy++;
	free(j);
}

static struct tjob *tjob_new(int id, bool gated)
{
	struct tjob *t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	t->id = id;
	t->gated = gated;
	t->job.owner = (uid_t)id;   /* one owner each, unless a test says otherwise */
	t->job.work = tjob_work;
	t->job.done = tjob_done;
	t->job.destroy = tjob_destroy;
	return t;
}

static void reset(void)
{
	gate_open = false;
	started = finished = 0;
	ndone = ndestroy = done_off_loop = last_done_id = 0;
	main_thread = pthread_self();
}

static void open_gate(void)
{
	pthread_mutex_lock(&mu);
	gate_open = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits (on the condition variable, no polling) until *counter reaches n. */
static void wait_count(int *counter, int n)
{
	pthread_mutex_lock(&mu);
	while (*counter < n)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

/* Runs the loop until *counter reaches n (10 s at most). */
static void run_until(struct loop *l, int *counter, int n)
{
	uint64_t end = loop_now() + 10000000000ull;

	while (*counter < n && loop_now() < end)
		ck_assert_int_eq(loop_run_once(l, 100), 0);
	ck_assert_int_eq(*counter, n);
}

/* Number of eventfds open, and whether all of them are close-on-exec. */
static int eventfds(bool *all_cloexec)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	*all_cloexec = true;
	while ((e = readdir(d))) {
		char target[64];
		ssize_t k;
		if (e->d_name[0] == '.')
			continue;
		k = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		if (strstr(target, "eventfd")) {
			n++;
			if (!(fcntl(atoi(e->d_name), F_GETFD) & FD_CLOEXEC))
				*all_cloexec = false;
		}
	}
	closedir(d);
	return n;
}

START_TEST(work_on_workers_done_on_loop)
{
	struct loop *l;
	int base = count_fds();
	bool cloexec;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 4, 64, 64, &R), 0);
	ck_assert_int_eq(eventfds(&cloexec), 1);
	ck_assert(cloexec);
	for (int i = 1; i <= 32; i++)
		ck_assert_int_eq(resolver_submit(R, &tjob_new(i, false)->job), 0);
	run_until(l, &ndone, 32);
	ck_assert_int_eq(done_off_loop, 0);
	ck_assert_int_eq(ndestroy, 0);
	ck_assert_uint_eq(resolver_pending(R), 0);
	resolver_free(R);
	resolver_free(NULL);
	loop_free(l);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(bad_arguments)
{
	struct loop *l;
	struct resolver *r = NULL;

	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 0, 8, 8, &r), -EINVAL);
	ck_assert_int_eq(resolver_new(l, 1, 0, 8, &r), -EINVAL);
	ck_assert_int_eq(resolver_new(l, 1, 8, 0, &r), -EINVAL);
	ck_assert_ptr_null(r);
	loop_free(l);
}
END_TEST

START_TEST(queue_limit)
{
	struct loop *l;
	struct tjob *extra;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 1, 3, 3, &R), 0);
	for (int i = 1; i <= 3; i++)
		ck_assert_int_eq(resolver_submit(R, &tjob_new(i, true)->job), 0);
	wait_count(&started, 1);
	/* One running, two waiting: the limit counts both. */
	extra = tjob_new(4, true);
	ck_assert_int_eq(resolver_submit(R, &extra->job), -EAGAIN);
	ck_assert_uint_eq(resolver_pending(R), 3);
	open_gate();
	run_until(l, &ndone, 3);
	ck_assert_uint_eq(resolver_pending(R), 0);
	/* Room again: the refused job can go now. */
	ck_assert_int_eq(resolver_submit(R, &extra->job), 0);
	run_until(l, &ndone, 4);
	ck_assert_int_eq(last_done_id, 4);
	ck_assert_int_eq(ndestroy, 0);
	resolver_free(R);
	loop_free(l);
}
END_TEST

START_TEST(owner_share_of_the_queue)
{
	struct loop *l;
	struct tjob *t, *third;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 1, 8, 2, &R), 0);
	ck_assert_uint_eq(resolver_share(R), 2);
	/* Owner 7 holds its quarter of the queue: two jobs. */
	for (int i = 1; i <= 2; i++) {
		t = tjob_new(i, true);
		t->job.owner = 7;
		ck_assert_int_eq(resolver_submit(R, &t->job), 0);
	}
	third = tjob_new(3, true);
	third->job.owner = 7;
	ck_assert_int_eq(resolver_submit(R, &third->job), -EDQUOT);
	/* Everyone else still gets in, up to the whole queue. */
	for (int i = 100; i < 106; i++)
		ck_assert_int_eq(resolver_submit(R, &tjob_new(i, true)->job), 0);
	ck_assert_uint_eq(resolver_pending(R), 8);
	t = tjob_new(200, true);
	ck_assert_int_eq(resolver_submit(R, &t->job), -EAGAIN);
	free(t);
	open_gate();
	run_until(l, &ndone, 8);
	/* Owner 7's share is free again. */
	ck_assert_int_eq(resolver_submit(R, &third->job), 0);
	run_until(l, &ndone, 9);
	ck_assert_int_eq(ndestroy, 0);
	resolver_free(R);
	loop_free(l);
}
END_TEST

START_TEST(owner_share_of_the_workers)
{
	struct loop *l;
	struct tjob *t;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	/* Two workers: one owner's jobs run on one of them at a time. */
	ck_assert_int_eq(resolver_new(l, 2, 16, 16, &R), 0);
	for (int i = 1; i <= 3; i++) {
		t = tjob_new(i, true);
		t->job.owner = 7;
		ck_assert_int_eq(resolver_submit(R, &t->job), 0);
	}
	wait_count(&started, 1);
	/* Another owner's job starts on the second worker, ahead of owner 7's
	 * queued ones, while owner 7's first still blocks. */
	t = tjob_new(4, false);
	ck_assert_int_eq(resolver_submit(R, &t->job), 0);
	run_until(l, &ndone, 1);
	ck_assert_int_eq(last_done_id, 4);
	pthread_mutex_lock(&mu);
	ck_assert_int_eq(started, 2);
	pthread_mutex_unlock(&mu);
	open_gate();
	run_until(l, &ndone, 4);
	resolver_free(R);
	loop_free(l);
}
END_TEST

START_TEST(cancel_queued_job)
{
	struct loop *l;
	struct tjob *a, *b;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 1, 8, 8, &R), 0);
	a = tjob_new(1, true);
	b = tjob_new(2, true);
	ck_assert_int_eq(resolver_submit(R, &a->job), 0);
	wait_count(&started, 1);
	ck_assert_int_eq(resolver_submit(R, &b->job), 0);
	ck_assert_uint_eq(resolver_pending(R), 2);
	/* Destroyed at once, on the caller's (loop) thread. */
	resolver_cancel(R, &b->job);
	ck_assert_int_eq(ndestroy, 1);
	ck_assert_uint_eq(resolver_pending(R), 1);
	open_gate();
	run_until(l, &ndone, 1);
	ck_assert_int_eq(last_done_id, 1);
	/* b's work never ran. */
	ck_assert_int_eq(started, 1);
	ck_assert_int_eq(ndestroy, 1);
	ck_assert_int_eq(done_off_loop, 0);
	resolver_free(R);
	loop_free(l);
}
END_TEST

START_TEST(cancel_running_job)
{
	struct loop *l;
	struct tjob *a;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 1, 8, 8, &R), 0);
	a = tjob_new(1, true);
	ck_assert_int_eq(resolver_submit(R, &a->job), 0);
	wait_count(&started, 1);
	resolver_cancel(R, &a->job);
	/* Still running: not destroyed until its work returns. */
	ck_assert_int_eq(ndestroy, 0);
	ck_assert_uint_eq(resolver_pending(R), 1);
	ck_assert_int_eq(loop_run_once(l, 0), 0);
	ck_assert_int_eq(ndestroy, 0);
	open_gate();
	run_until(l, &ndestroy, 1);
	ck_assert_int_eq(ndone, 0);
	ck_assert_int_eq(done_off_loop, 0);
	ck_assert_uint_eq(resolver_pending(R), 0);
	resolver_free(R);
	loop_free(l);
}
END_TEST

START_TEST(cancel_finished_job)
{
	struct loop *l;
	struct tjob *a;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 1, 8, 8, &R), 0);
	a = tjob_new(1, false);
	ck_assert_int_eq(resolver_submit(R, &a->job), 0);
	ck_assert_int_eq(resolver_submit(R, &tjob_new(2, true)->job), 0);
	/* The one worker started job 2, so it has handed job 1 back: finished,
	 * not delivered (the loop has not run). */
	wait_count(&started, 2);
	resolver_cancel(R, &a->job);
	ck_assert_int_eq(ndestroy, 1);
	ck_assert_uint_eq(resolver_pending(R), 1);
	/* The eventfd still fires; nothing is delivered for job 1. */
	ck_assert_int_eq(loop_run_once(l, 100), 0);
	ck_assert_int_eq(ndone, 0);
	ck_assert_int_eq(ndestroy, 1);
	open_gate();
	run_until(l, &ndone, 1);
	ck_assert_int_eq(last_done_id, 2);
	resolver_free(R);
	loop_free(l);
}
END_TEST

START_TEST(done_cancels_another_finished_job)
{
	struct loop *l;
	struct tjob *a, *b;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 1, 8, 8, &R), 0);
	a = tjob_new(1, false);
	b = tjob_new(2, false);
	a->victim = b;   /* as when a reply makes a connection close */
	ck_assert_int_eq(resolver_submit(R, &a->job), 0);
	ck_assert_int_eq(resolver_submit(R, &b->job), 0);
	ck_assert_int_eq(resolver_submit(R, &tjob_new(3, true)->job), 0);
	/* The one worker started job 3: a and b are both finished, undelivered. */
	wait_count(&started, 3);
	run_until(l, &ndone, 1);
	ck_assert_int_eq(last_done_id, 1);
	/* b was waiting in the finished list: destroyed at once, never done. */
	ck_assert_int_eq(ndestroy, 1);
	ck_assert_int_eq(loop_run_once(l, 0), 0);
	ck_assert_int_eq(ndone, 1);
	open_gate();
	run_until(l, &ndone, 2);
	ck_assert_int_eq(last_done_id, 3);
	ck_assert_int_eq(ndestroy, 1);
	ck_assert_uint_eq(resolver_pending(R), 0);
	resolver_free(R);
	loop_free(l);
}
END_TEST

static void *open_gate_later(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	open_gate();
	return NULL;
}

START_TEST(free_with_jobs_in_flight)
{
	struct loop *l;
	pthread_t helper;
	int base = count_fds();

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 2, 16, 16, &R), 0);
	/* One finished (perhaps not yet handed back), two running, three waiting. */
	ck_assert_int_eq(resolver_submit(R, &tjob_new(1, false)->job), 0);
	wait_count(&finished, 1);
	for (int i = 2; i <= 6; i++)
		ck_assert_int_eq(resolver_submit(R, &tjob_new(i, true)->job), 0);
	wait_count(&started, 3);
	ck_assert_uint_eq(resolver_pending(R), 6);
	/* resolver_free waits for the running ones: let them end a little later. */
	ck_assert_int_eq(pthread_create(&helper, NULL, open_gate_later, NULL), 0);
	resolver_free(R);
	pthread_join(helper, NULL);
	ck_assert_int_eq(ndone, 0);
	ck_assert_int_eq(ndestroy, 6);
	loop_free(l);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(free_right_after_cancel_of_running_job)
{
	struct loop *l;
	struct tjob *a;
	pthread_t helper;

	reset();
	ck_assert_int_eq(loop_new(&l), 0);
	ck_assert_int_eq(resolver_new(l, 1, 4, 4, &R), 0);
	a = tjob_new(1, true);
	ck_assert_int_eq(resolver_submit(R, &a->job), 0);
	wait_count(&started, 1);
	resolver_cancel(R, &a->job);
	ck_assert_int_eq(pthread_create(&helper, NULL, open_gate_later, NULL), 0);
	resolver_free(R);
	pthread_join(helper, NULL);
	ck_assert_int_eq(ndone, 0);
	ck_assert_int_eq(ndestroy, 1);
	loop_free(l);
}
END_TEST

static struct sbaddr inet_at(int family, const char *ip, int port)
{
	struct sbaddr a = { .len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6) };

	a.ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		((struct sockaddr_in *)&a.ss)->sin_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &((struct sockaddr_in *)&a.ss)->sin_addr), 1);
	} else {
		((struct sockaddr_in6 *)&a.ss)->sin6_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&a.ss)->sin6_addr), 1);
	}
	return a;
}

/* Numeric hosts, so that no name service is asked: found when the address
 * is the host's (whatever the port), not for another or another family. */
START_TEST(among_a_names_addresses)
{
	struct sbaddr a;
	bool found = true;
	int err;

	a = inet_at(AF_INET, "127.0.0.1", 443);
	ck_assert_int_eq(resolve_among("127.0.0.1", &a, &found, &err), 0);
	ck_assert(found);
	a = inet_at(AF_INET, "127.0.0.2", 443);
	ck_assert_int_eq(resolve_among("127.0.0.1", &a, &found, &err), 0);
	ck_assert(!found);
	a = inet_at(AF_INET6, "::1", 0);
	ck_assert_int_eq(resolve_among("::1", &a, &found, &err), 0);
	ck_assert(found);
	a = inet_at(AF_INET6, "::2", 0);
	ck_assert_int_eq(resolve_among("::1", &a, &found, &err), 0);
	ck_assert(!found);
	/* An IPv4 host asked for AF_INET6: no answer of that family. */
	a = inet_at(AF_INET6, "::ffff:127.0.0.1", 0);
	found = true;
	ck_assert_int_ne(resolve_among("127.0.0.1", &a, &found, &err), 0);
	ck_assert(!found);
	memset(&a, 0, sizeof(a));
	a.ss.ss_family = AF_UNIX;
	found = true;
	ck_assert_int_eq(resolve_among("127.0.0.1", &a, &found, &err), EAI_FAMILY);
	ck_assert(!found);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resolver");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, work_on_workers_done_on_loop);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, queue_limit);
	tcase_add_test(tc, owner_share_of_the_queue);
	tcase_add_test(tc, owner_share_of_the_workers);
	tcase_add_test(tc, cancel_queued_job);
	tcase_add_test(tc, cancel_running_job);
	tcase_add_test(tc, cancel_finished_job);
	tcase_add_test(tc, done_cancels_another_finished_job);
	tcase_add_test(tc, free_with_jobs_in_flight);
	tcase_add_test(tc, free_right_after_cancel_of_running_job);
	suite_add_tcase(s, tc);
	tc = tcase_create("lookups");
	tcase_add_test(tc, among_a_names_addresses);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
