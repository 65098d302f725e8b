#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* Unit tests of client/launch.c, what sockbrokerctl run does between its
 * sockets and exec. Placement changes the process's descriptor table, and
 * Check keeps descriptors of its own, so each case runs in a child of its
 * own that reports through its exit status alone: 0, or the number of the
 * first check that failed. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "unit.h"

/* The inode of fd's open file (0 when it is not open). */
static ino_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static bool cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	return f >= 0 && (f & FD_CLOEXEC);
}

/* Runs fn in a child and asserts it exits 0; a non-zero status is the
 * number of the check that failed. */
static void in_child(int (*fn)(void), const char *what)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "%s: the child died (status %d)", what, st);
	ck_assert_msg(WEXITSTATUS(st) == 0, "%s: check %d failed", what, WEXITSTATUS(st));
}

/* A new socket moved to number at, close-on-exec (as received ones are). */
static int sock_at(int at)
{
	int sv[2], f;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	close(sv[1]);
	if (sv[0] == at)
		return at;
	f = dup3(sv[0], at, O_CLOEXEC);
	close(sv[0]);
	return f;
}

/* Closes everything from 3 up (Check's own descriptors included: the child
 * reports by its exit status only). */
static void clear_from_3(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

/* After placement: fds placed at 3.. hold the inodes want[], are not
 * close-on-exec, and everything from 3 + n up is close-on-exec. Returns 0
 * or base + the failing check. */
static int check_placed(const ino_t *want, int n, int base)
{
	for (int i = 0; i < n; i++) {
		if (ino_of(3 + i) != want[i])
			return base + 1;
		if (cloexec(3 + i))
			return base + 2;
	}
	for (int fd = 3 + n; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0 && !cloexec(fd))
			return base + 3;
	return 0;
}

/* Three sockets in reverse: each one's target is another's number, so a
 * dup2() in order would close the third before it is placed. */
static int reverse(void)
{
	int fds[3];
	ino_t want[3];

	clear_from_3();
	fds[0] = sock_at(5);
	fds[1] = sock_at(4);
	fds[2] = sock_at(3);
	for (int i = 0; i < 3; i++)
		want[i] = ino_of(fds[i]);
	if (fds[0] != 5 || fds[1] != 4 || fds[2] != 3 || !want[0] || !want[2])
		return 1;
	if (launch_place(fds, 3, NULL) != 0)
		return 2;
	for (int i = 0; i < 3; i++)
		if (fds[i] < 6 || !cloexec(fds[i]))
			return 3;       /* the sources are left above the targets, close-on-exec */
	return check_placed(want, 3, 10);
}

/* Shuffled, with gaps, and a descriptor of ours that is not a socket on a
 * target number and another one far above. */
static int shuffled(void)
{
	int fds[3], other;
	ino_t want[3];

	clear_from_3();
	other = open("/dev/null", O_RDONLY);    /* at 3: a target, not a source */
	fds[0] = sock_at(9);
	fds[1] = sock_at(5);
	fds[2] = sock_at(4);
	if (other != 3 || dup2(other, 700) != 700)      /* inherited, not close-on-exec */
		return 1;
	for (int i = 0; i < 3; i++)
		want[i] = ino_of(fds[i]);
	if (launch_place(fds, 3, NULL) != 0)
		return 2;
	if (!cloexec(700))
		return 3;
	return check_placed(want, 3, 10);
}

/* --stdio's socket sits on the first target; it must reach 0 and 1, and
 * the other at 3. */
static int stdio_on_target(void)
{
	int fds[1], st;
	ino_t want[1], want_st;

	clear_from_3();
	st = sock_at(3);
	fds[0] = sock_at(4);
	want[0] = ino_of(fds[0]);
	want_st = ino_of(st);
	if (st != 3 || fds[0] != 4)
		return 1;
	if (launch_place(fds, 1, &st) != 0)
		return 2;
	if (ino_of(0) != want_st || ino_of(1) != want_st || cloexec(0) || cloexec(1))
		return 3;
	if (st < 4 || !cloexec(st))
		return 4;
	return check_placed(want, 1, 10);
}

/* --stdio alone: nothing at 3 and up stays open across exec. */
static int stdio_only(void)
{
	int st;
	ino_t want_st;

	clear_from_3();
	st = sock_at(3);
	want_st = ino_of(st);
	if (launch_place(NULL, 0, &st) != 0)
		return 1;
	if (ino_of(0) != want_st || ino_of(1) != want_st)
		return 2;
	return check_placed(NULL, 0, 10);
}

/* The sources already on their targets (the common case) stay right. */
static int in_place(void)
{
	int fds[2];
	ino_t want[2];

	clear_from_3();
	fds[0] = sock_at(3);
	fds[1] = sock_at(4);
	want[0] = ino_of(3);
	want[1] = ino_of(4);
	if (launch_place(fds, 2, NULL) != 0)
		return 1;
	return check_placed(want, 2, 10);
}

START_TEST(test_place_reverse) { in_child(reverse, "reverse"); }
END_TEST
START_TEST(test_place_shuffled) { in_child(shuffled, "shuffled"); }
END_TEST
START_TEST(test_place_stdio_on_target) { in_child(stdio_on_target, "stdio on a target"); }
END_TEST
START_TEST(test_place_stdio_only) { in_child(stdio_only, "stdio only"); }
END_TEST
START_TEST(test_place_in_place) { in_child(in_place, "in place"); }
END_TEST

/* 0-2 closed are opened on /dev/null; open ones are left alone. */
static int fill_stdio(void)
{
	struct stat null, st;
	int keep = dup(1);

	if (keep < 0 || stat("/dev/null", &null) < 0)
		return 1;
	close(0);
	close(2);
	if (launch_fill_stdio() != 0)
		return 2;
	if (fstat(0, &st) < 0 || st.st_rdev != null.st_rdev || fstat(2, &st) < 0 || st.st_rdev != null.st_rdev)
		return 3;
	if (ino_of(1) != ino_of(keep))
		return 4;
	return 0;
}

START_TEST(test_fill_stdio) { in_child(fill_stdio, "fill stdio"); }
END_TEST

START_TEST(test_fdname)
{
	char name[257];

	ck_assert(launch_fdname_ok("http", 4));
	ck_assert(launch_fdname_ok("a b~!=", 6));
	ck_assert(!launch_fdname_ok("", 0));
	ck_assert(!launch_fdname_ok("a:b", 3));
	ck_assert(!launch_fdname_ok("a\tb", 3));
	ck_assert(!launch_fdname_ok("a\x7f", 2));
	ck_assert(!launch_fdname_ok("\xc3\xa9", 2));
	ck_assert(!launch_fdname_ok(NULL, 0));
	memset(name, 'n', sizeof(name));
	ck_assert(launch_fdname_ok(name, 255));
	ck_assert(!launch_fdname_ok(name, 256));
}
END_TEST

START_TEST(test_environment)
{
	const char *names[] = { "http", "web-main", "echo" };
	const size_t lens[] = { 4, 8, 4 };
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PIDFDID", "12345", 1);
	ck_assert_int_eq(launch_environment(names, lens, 3), 0);
	ck_assert_str_eq(getenv("LISTEN_FDS"), "3");
	ck_assert_str_eq(getenv("LISTEN_FDNAMES"), "http:web-main:echo");
	ck_assert_str_eq(getenv("LISTEN_PID"), pid);
	ck_assert_ptr_null(getenv("LISTEN_PIDFDID"));
	/* A name given with its length: only that many bytes. */
	ck_assert_int_eq(launch_environment((const char *[]){ "http=tcp:127.0.0.1:80" }, (const size_t[]){ 4 }, 1), 0);
	ck_assert_str_eq(getenv("LISTEN_FDNAMES"), "http");
	ck_assert_str_eq(getenv("LISTEN_FDS"), "1");
	/* None: every inherited LISTEN_ variable goes. */
	setenv("LISTEN_PIDFDID", "12345", 1);
	ck_assert_int_eq(launch_environment(NULL, NULL, 0), 0);
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDNAMES"));
	ck_assert_ptr_null(getenv("LISTEN_PIDFDID"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("launch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_place_reverse);
	tcase_add_test(tc, test_place_shuffled);
	tcase_add_test(tc, test_place_stdio_on_target);
	tcase_add_test(tc, test_place_stdio_only);
	tcase_add_test(tc, test_place_in_place);
	tcase_add_test(tc, test_fill_stdio);
	tcase_add_test(tc, test_fdname);
	tcase_add_test(tc, test_environment);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
