/* Integration, as root: per-user connection limits across users and the
 * daemon's view of an unprivileged caller, with a child that drops to
 * nobody (uid 65534) and talks to the real daemon. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534

/* ---- the unprivileged child ---- */

/* The child cannot use ck_assert (it is not the test process): it reports
 * its first failure with hx_child_fail, and calls through hx_child_call. */
/* Drops to nobody, fills its per-uid quota, shows the refusal, then holds
 * its connections until the parent says "done" on go_fd. */
static void child_main(const struct sbd *d, int ready_fd, int go_fd, int max)
{
	struct tconn t[8], extra;
	json_object *j;
	char c;

	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		hx_child_fail("cannot drop to uid %d: %s", NOBODY, strerror(errno));
	if (getuid() != NOBODY || geteuid() != NOBODY)
		hx_child_fail("still uid %u", (unsigned)geteuid());
	for (int i = 0; i < max; i++) {
		hx_child_open(&t[i], d);
		j = hx_child_call(&t[i], 0, "daemon.whoami", NULL);
		if (jpath_int(j, "result.uid", -1) != NOBODY || jpath_int(j, "result.gid", -1) != NOBODY)
			hx_child_fail("whoami: %s", json_object_to_json_string(j));
		if (!jpath(j, "result.privileged") || json_object_get_boolean(jpath(j, "result.privileged")))
			hx_child_fail("nobody is privileged: %s", json_object_to_json_string(j));
		if (jpath_int(j, "result.pid", -1) != getpid())
			hx_child_fail("whoami pid: %s", json_object_to_json_string(j));
		if (json_object_array_length(jpath(j, "result.groups")) != 0)
			hx_child_fail("groups after setgroups(0): %s", json_object_to_json_string(j));
		/* Introspection is open to everyone. */
		j = hx_child_call(&t[i], 0, "daemon.info", NULL);
		if (jpath_int(j, "result.protocol", 0) != 1)
			hx_child_fail("daemon.info: %s", json_object_to_json_string(j));
	}
	/* One more than the quota: refused with a reason, then closed. */
	hx_child_open(&extra, d);
	j = tconn_recv_json(&extra, hx_timeout_ms);
	if (!j || reply_error_code(j) != -32012 || !jpath_str(j, "error.data.limit") ||
	    strcmp(jpath_str(j, "error.data.limit"), "connections_per_uid") != 0 ||
	    jpath_int(j, "error.data.max", -1) != max)
		hx_child_fail("want a connections_per_uid refusal: %s",
		           j ? json_object_to_json_string(j) : "(nothing)");
	json_object_put(j);
	if (!tconn_wait_eof(&extra, hx_timeout_ms))
		hx_child_fail("the refused connection stayed open");
	tconn_close(&extra);
	if (write(ready_fd, "R", 1) != 1)
		hx_child_fail("ready pipe: %s", strerror(errno));
	/* Hold the quota while root connects. */
	if (read(go_fd, &c, 1) != 1)
		hx_child_fail("go pipe closed early");
	for (int i = 0; i < max; i++) {
		hx_child_call(&t[i], 0, "daemon.ping", NULL);
		tconn_close(&t[i]);
	}
	_exit(0);
}

static const char *const peruid2_args[] = { "--max-connections-per-uid", "2", NULL };

START_TEST(per_uid_limit_across_users)
{
	enum { MAX = 2 };
	struct sbd d;
	struct tconn root[MAX];
	int ready[2], go[2], report[2], st, base;
	char msg[512] = "", c;
	ssize_t n;
	pid_t pid;

	hx_start(&d, peruid2_args);
	base = hx_baseline_fds(&d);
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		close(report[0]);
		hx_child_report_fd = report[1];
		child_main(&d, ready[1], go[0], MAX);
	}
	close(ready[1]);
	close(go[0]);
	close(report[1]);
	/* The child holds its whole quota (or failed: then read gives EOF). */
	if (read(ready[0], &c, 1) != 1) {
		n = read(report[0], msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
		waitpid(pid, &st, 0);
		ck_abort_msg("the uid %d child failed: %s", NOBODY, msg);
	}
	/* Root has its own count: served, up to its own quota. */
	for (int i = 0; i < MAX; i++) {
		json_object *j;
		hx_open_conn(&root[i], &d);
		j = hx_call(&root[i], "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":1}");
		ck_assert_int_eq(jpath_int(j, "result.uid", -1), 0);
		ck_assert(json_object_get_boolean(jpath(j, "result.privileged")));
		json_object_put(j);
	}
	{
		json_object *j = hx_call(&root[0], "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":2}");
		ck_assert_int_eq(jpath_int(j, "result.connections", -1), 2 * MAX);
		json_object_put(j);
	}
	/* A third root connection is refused in its turn. */
	{
		struct tconn t;
		json_object *j;
		hx_open_conn(&t, &d);
		j = hx_recv_json(&t);
		hx_check_error(j, -32012, NULL);
		ck_assert_str_eq(jpath_str(j, "error.data.limit"), "connections_per_uid");
		json_object_put(j);
		ck_assert(tconn_wait_eof(&t, hx_timeout_ms));
		tconn_close(&t);
	}
	ck_assert_int_eq(write(go[1], "G", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	n = read(report[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the uid %d child failed: %s", NOBODY, msg);
	close(ready[0]);
	close(go[1]);
	close(report[0]);
	/* The child's connections are gone: nobody is served again. */
	for (int i = 0; i < MAX; i++)
		tconn_close(&root[i]);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* A nobody client that leaves gives its per-uid slot back: twenty rounds of
 * filling the quota of 2 and leaving would be refused if a count leaked. */
START_TEST(nobody_slot_freed_on_close)
{
	struct sbd d;
	int st, base;
	pid_t pid;

	hx_start(&d, peruid2_args);
	base = hx_baseline_fds(&d);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Connect and leave, many times over: a leaked count would refuse. */
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(2);
		for (int i = 0; i < 20; i++) {
			struct tconn a, b;
			json_object *j;
			if (tconn_open(&a, d.sock) < 0 || tconn_open(&b, d.sock) < 0)
				_exit(3);
			j = tconn_call(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}", hx_timeout_ms);
			if (!j || reply_error_code(j) != 0)
				_exit(4);
			json_object_put(j);
			j = tconn_call(&a, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}", hx_timeout_ms);
			if (!j || reply_error_code(j) != 0)
				_exit(5);
			/* Both closes are processed before the next round: wait for
			 * the daemon's count to drop through a third connection. */
			json_object_put(j);
			tconn_close(&a);
			tconn_close(&b);
			for (int k = 0; k < 200; k++) {
				struct tconn w;
				long long n;
				if (tconn_open(&w, d.sock) < 0)
					_exit(6);
				j = tconn_call(&w, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}", hx_timeout_ms);
				n = j ? jpath_int(j, "result.connections", -1) : -1;
				json_object_put(j);
				tconn_close(&w);
				if (n == 1)
					break;
				if (k == 199)
					_exit(7);
			}
		}
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* Until the policy lands, socket methods belong to root and the daemon's own
 * user: another user is denied with the deciding rule named, leaves no
 * socket behind, and may still introspect. */
START_TEST(socket_methods_denied_to_others)
{
	struct sbd d;
	int base, st;
	pid_t pid;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static const char *const denied[] = {
			"{\"jsonrpc\":\"2.0\",\"method\":\"socket.create\",\"id\":1}",
			"{\"jsonrpc\":\"2.0\",\"method\":\"socket.pair\",\"params\":{\"pass\":true},\"id\":2}",
			"{\"jsonrpc\":\"2.0\",\"method\":\"socket.listen_on\",\"params\":{\"address\":[\"127.0.0.1\",80]},\"id\":3}",
			"{\"jsonrpc\":\"2.0\",\"method\":\"socket.connect_to\",\"params\":{\"address\":[\"127.0.0.1\",1]},\"id\":4}",
			"{\"jsonrpc\":\"2.0\",\"method\":\"socket.list\",\"id\":5}",
		};
		struct tconn t;
		json_object *j;
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(2);
		if (tconn_open(&t, d.sock) < 0)
			_exit(3);
		for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
			j = tconn_call(&t, denied[i], 5000);
			if (!j || reply_error_code(j) != -32010 || !jpath_str(j, "error.data.rule") ||
			    !jpath_str(j, "error.data.reason") || t.nfds != 0)
				_exit(10 + (int)i);
			json_object_put(j);
		}
		j = tconn_call(&t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":9}", 5000);
		if (!j || jpath_int(j, "result.protocol", 0) != 1)
			_exit(4);
		json_object_put(j);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exit %d", WEXITSTATUS(st));
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_root");
	TCase *users = tcase_create("users");

	tcase_set_timeout(users, 60);
	tcase_add_test(users, per_uid_limit_across_users);
	tcase_add_test(users, nobody_slot_freed_on_close);
	tcase_add_test(users, socket_methods_denied_to_others);
	suite_add_tcase(s, users);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
