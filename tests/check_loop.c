/* Unit tests of the event loop (daemon/loop.c): timers in deadline order,
 * re-arming and disarming, I/O callbacks, deferred callbacks. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/loop.h"
#include "unit.h"

static int order[64];
static int norder;

struct tt {
	struct loop_timer t;
	int id;
};

static void on_timer(struct loop_timer *t)
{
	order[norder++] = ((struct tt *)t)->id;
}

START_TEST(timers_fire_in_deadline_order)
{
	struct loop *l;
	struct tt ts[40];
	uint64_t now = loop_now();

	ck_assert_int_eq(loop_new(&l), 0);
	norder = 0;
	/* Deadlines in a scrambled order, all already due. */
	for (int i = 0; i < 40; i++) {
		ts[i] = (struct tt){ .t.cb = on_timer, .id = (i * 17) % 40 };
		ck_assert_int_eq(loop_timer_arm(l, &ts[i].t, now - 1000000000ull + (uint64_t)ts[i].id * 1000), 0);
	}
	ck_assert_uint_eq(loop_timer_count(l), 40);
	/* Disarm a few; they must not fire. */
	loop_timer_disarm(l, &ts[3].t);
	loop_timer_disarm(l, &ts[10].t);
	loop_timer_disarm(l, &ts[10].t);
	ck_assert_int_eq(loop_run_once(l, 0), 0);
	ck_assert_int_eq(norder, 38);
	for (int i = 1; i < norder; i++)
		ck_assert_int_lt(order[i - 1], order[i]);
	ck_assert_uint_eq(loop_timer_count(l), 0);
	loop_free(l);
}
END_TEST

START_TEST(rearm_moves_a_timer)
{
	struct loop *l;
	struct tt a = { .t.cb = on_timer, .id = 1 }, b = { .t.cb = on_timer, .id = 2 };
	uint64_t now = loop_now();

	ck_assert_int_eq(loop_new(&l), 0);
	norder = 0;
	loop_timer_arm(l, &a.t, now + 3600ull * 1000000000ull);
	loop_timer_arm(l, &b.t, now - 1);
	ck_assert(loop_timer_armed(&a.t));
	/* Re-arming an armed timer moves it: a is now due first. */
	loop_timer_arm(l, &a.t, now - 2);
	ck_assert_uint_eq(loop_timer_count(l), 2);
	loop_run_once(l, 0);
	ck_assert_int_eq(norder, 2);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert(!loop_timer_armed(&a.t));
	loop_free(l);
}
END_TEST

START_TEST(future_timer_bounds_the_wait)
{
	struct loop *l;
	struct tt a = { .t.cb = on_timer, .id = 5 };
	uint64_t t0 = loop_now();

	ck_assert_int_eq(loop_new(&l), 0);
	norder = 0;
	loop_timer_arm(l, &a.t, t0 + 50ull * 1000000ull);
	/* With no descriptors, the wait ends when the timer is due. */
	while (norder == 0)
		ck_assert_int_eq(loop_run_once(l, -1), 0);
	ck_assert_uint_ge(loop_now() - t0, 50ull * 1000000ull);
	loop_free(l);
}
END_TEST

static int io_hits;
static struct loop *io_loop;

static void on_io(struct loop_io *io, uint32_t ev)
{
	char buf[16];

	io_hits++;
	ck_assert(ev & EPOLLIN);
	ck_assert_int_gt(read(io->fd, buf, sizeof(buf)), 0);
	loop_quit(io_loop);
}

static int deferred;
static void on_defer(struct loop_defer *d)
{
	deferred++;
}

START_TEST(io_and_defer)
{
	struct loop_io io;
	struct loop_defer d = { .cb = on_defer };
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(loop_new(&io_loop), 0);
	ck_assert_int_eq(loop_io_add(io_loop, &io, sv[0], EPOLLIN, on_io), 0);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	loop_defer(io_loop, &d);
	loop_defer(io_loop, &d); /* idempotent while queued */
	ck_assert_int_eq(loop_run(io_loop), 0);
	ck_assert_int_eq(io_hits, 1);
	ck_assert_int_eq(deferred, 1);
	/* A cancelled deferral does not run. */
	loop_defer(io_loop, &d);
	loop_defer_cancel(io_loop, &d);
	loop_run_once(io_loop, 0);
	ck_assert_int_eq(deferred, 1);
	/* Interest 0 silences the descriptor. */
	ck_assert_int_eq(loop_io_mod(io_loop, &io, 0), 0);
	ck_assert_int_eq(write(sv[1], "y", 1), 1);
	loop_run_once(io_loop, 0);
	ck_assert_int_eq(io_hits, 1);
	loop_io_del(io_loop, &io);
	loop_free(io_loop);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, timers_fire_in_deadline_order);
	tcase_add_test(tc, rearm_moves_a_timer);
	tcase_add_test(tc, future_timer_bounds_the_wait);
	tcase_add_test(tc, io_and_defer);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
