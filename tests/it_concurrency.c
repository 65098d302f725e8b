/* Integration: many clients at once, requests that finish out of order on
 * one connection, batches that wait for their slowest element, and a stop
 * with requests in flight, against the real daemon. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define T_MS 5000

/* ---- helpers (static: the harness is shared and not ours to grow) ---- */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Temporary directories of the daemons this program starts. A failed check
 * ends the forked test with _exit(), before sbd_stop() can remove its
 * directory; main() sweeps what is left once every test has run. */
static int dirlog_fd = -1;

static void start(struct sbd *d, const char *const *args)
{
	int r = sbd_start(d, args);

	if (dirlog_fd >= 0 && d->dir[0]) {
		char line[300];
		int n = snprintf(line, sizeof(line), "%s\n", d->dir);
		/* One short write to a pipe is atomic; losing it only costs the sweep. */
		if (n > 0 && n < (int)sizeof(line) && write(dirlog_fd, line, (size_t)n) < 0)
			n = 0;
	}
	ck_assert_msg(r == 0, "the daemon did not start: %s", strerror(-r));
}

static void open_conn(struct tconn *t, const struct sbd *d)
{
	int r = tconn_open(t, d->sock);

	ck_assert_msg(r == 0, "connect: %s", strerror(-r));
}

/* Sends line and returns the reply; fails the test when none comes. */
static json_object *call(struct tconn *t, const char *line)
{
	json_object *j = tconn_call(t, line, T_MS);

	ck_assert_msg(j != NULL, "no reply to %.200s (errno %d %s)", line, errno, strerror(errno));
	return j;
}

static json_object *recv_json(struct tconn *t)
{
	json_object *j = tconn_recv_json(t, T_MS);

	ck_assert_msg(j != NULL, "no reply (errno %d %s)", errno, strerror(errno));
	return j;
}

/* The reply is an error with code and an id equal to want_id (NULL: id null). */
static void check_error(json_object *j, int code, const char *want_id)
{
	json_object *id;

	ck_assert_msg(reply_error_code(j) == code, "want error %d, got %s", code,
	              json_object_to_json_string(j));
	ck_assert_str_eq(jpath_str(j, "jsonrpc"), "2.0");
	ck_assert_ptr_nonnull(jpath_str(j, "error.message"));
	ck_assert_msg(json_object_object_get_ex(j, "id", &id), "no id member: %s",
	              json_object_to_json_string(j));
	if (!want_id) {
		ck_assert_msg(id == NULL, "want id null: %s", json_object_to_json_string(j));
	} else {
		json_object *w = json_tokener_parse(want_id);
		ck_assert_msg(json_object_equal(id, w), "want id %s: %s", want_id,
		              json_object_to_json_string(j));
		json_object_put(w);
	}
}

/* daemon.info works on t (the connection is healthy). */
static void info_ok(struct tconn *t)
{
	json_object *j = call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"ok\"}");

	ck_assert_msg(jpath_int(j, "result.protocol", 0) == 1, "daemon.info: %s",
	              json_object_to_json_string(j));
	ck_assert_str_eq(jpath_str(j, "id"), "ok");
	json_object_put(j);
}

/* Descriptors the daemon spends on one client: the socket, plus the pidfd
 * where the kernel gives one. */
static int conn_cost(struct tconn *t)
{
	json_object *j = call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":0}");
	json_object *p = jpath(j, "result.pidfd");
	int cost;

	ck_assert_ptr_nonnull(p);
	cost = json_object_get_boolean(p) ? 2 : 1;
	json_object_put(j);
	return cost;
}

/* The daemon's descriptors with no client at all; measured through a
 * client's round trip so that start-up is certainly over. */
static int baseline_fds(const struct sbd *d)
{
	struct tconn t;
	int n, cost;

	open_conn(&t, d);
	cost = conn_cost(&t);
	n = sbd_fd_count(d);
	ck_assert_int_gt(n, 0);
	tconn_close(&t);
	return n - cost;
}

/* A fresh client is served, and once the daemon has processed every close
 * the descriptor count is back to baseline (plus the fresh client). Bounded
 * by round trips, never by sleeping. */
static void check_recovered(const struct sbd *d, int baseline)
{
	struct tconn t;
	int cost, n = -1;

	open_conn(&t, d);
	info_ok(&t);
	cost = conn_cost(&t);
	for (int i = 0; i < 200; i++) {
		n = sbd_fd_count(d);
		if (n == baseline + cost)
			break;
		info_ok(&t);
	}
	ck_assert_msg(n == baseline + cost, "daemon has %d descriptors, want %d", n, baseline + cost);
	tconn_close(&t);
}

static void stop(struct sbd *d)
{
	ck_assert_int_eq(sbd_stop(d), 0);
}

static int write_str(struct tconn *t, const char *s)
{
	return tconn_write(t, s, strlen(s));
}

/* ---- many clients ---- */

enum { NCLIENTS = 1000, PER_CLIENT = 3 };

static const char *const many_args[] = { "--max-connections-per-uid", "2000", NULL };

START_TEST(thousand_clients)
{
	struct sbd d;
	struct tconn *cl = calloc(NCLIENTS, sizeof(*cl));
	struct pollfd *p = calloc(NCLIENTS, sizeof(*p));
	int *got = calloc(NCLIENTS, sizeof(int));
	unsigned char *seen = calloc(NCLIENTS * PER_CLIENT, 1);
	long long deadline;
	int done = 0, base;

	ck_assert(cl && p && got && seen);
	harness_raise_nofile(4096);
	start(&d, many_args);
	base = baseline_fds(&d);
	for (int i = 0; i < NCLIENTS; i++) {
		char buf[512];
		open_conn(&cl[i], &d);
		/* Three requests in one write; ids say which client and which request. */
		snprintf(buf, sizeof(buf),
		         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":%d}\n"
		         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":%d}\n"
		         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0},\"id\":%d}\n",
		         i * PER_CLIENT, i * PER_CLIENT + 1, i * PER_CLIENT + 2);
		ck_assert_int_eq(write_str(&cl[i], buf), 0);
	}
	/* Read everything as it comes, over all connections at once. */
	deadline = mono_ms() + 30000;
	while (done < NCLIENTS && mono_ms() < deadline) {
		int n = 0, r;
		int idx[NCLIENTS];
		for (int i = 0; i < NCLIENTS; i++) {
			if (got[i] < PER_CLIENT) {
				p[n] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
				idx[n++] = i;
			}
		}
		r = poll(p, (nfds_t)n, 1000);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		for (int k = 0; k < n; k++) {
			int i = idx[k];
			char *line;
			if (!p[k].revents)
				continue;
			/* All complete lines now buffered; a timeout of 0 never waits. */
			while (got[i] < PER_CLIENT && (line = tconn_recv_line(&cl[i], 0))) {
				json_object *j = json_tokener_parse(line);
				long long id;
				ck_assert_msg(j != NULL, "client %d: bad JSON %s", i, line);
				id = jpath_int(j, "id", -1);
				ck_assert_msg(id >= (long long)i * PER_CLIENT && id < (long long)(i + 1) * PER_CLIENT,
				              "client %d got a reply for id %lld: %s", i, id, line);
				ck_assert_msg(!seen[id], "client %d: id %lld answered twice", i, id);
				seen[id] = 1;
				ck_assert_msg(reply_error_code(j) == 0, "client %d: %s", i, line);
				switch (id % PER_CLIENT) {
				case 0:
					ck_assert_int_eq(jpath_int(j, "result.protocol", 0), 1);
					ck_assert_int_eq(jpath_int(j, "result.pid", 0), d.pid);
					break;
				case 1:
					ck_assert_int_eq(jpath_int(j, "result.uid", -1), (long long)getuid());
					ck_assert_int_eq(jpath_int(j, "result.pid", -1), (long long)getpid());
					break;
				default:
					ck_assert(json_object_get_boolean(jpath(j, "result.pong")));
				}
				json_object_put(j);
				free(line);
				if (++got[i] == PER_CLIENT)
					done++;
			}
			ck_assert_msg(got[i] == PER_CLIENT || errno == ETIMEDOUT,
			              "client %d: connection lost after %d replies (errno %d)", i, got[i], errno);
		}
	}
	ck_assert_msg(done == NCLIENTS, "%d of %d clients got all their replies", done, NCLIENTS);
	{
		json_object *j = call(&cl[0], "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"n\"}");
		ck_assert_int_eq(jpath_int(j, "result.connections", -1), NCLIENTS);
		json_object_put(j);
	}
	for (int i = 0; i < NCLIENTS; i++)
		tconn_close(&cl[i]);
	check_recovered(&d, base);
	stop(&d);
	free(cl);
	free(p);
	free(got);
	free(seen);
}
END_TEST

/* ---- one connection, many requests ---- */

START_TEST(out_of_order)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	ck_assert_int_eq(write_str(&c,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.3},\"id\":1}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":2}\n"), 0);
	j = recv_json(&c);
	ck_assert_msg(jpath_int(j, "id", -1) == 2, "the fast request waited for the slow one: %s",
	              json_object_to_json_string(j));
	ck_assert_int_eq(jpath_int(j, "result.protocol", 0), 1);
	json_object_put(j);
	/* More fast ones while the first is still parked. */
	for (int i = 3; i < 6; i++) {
		char buf[96];
		snprintf(buf, sizeof(buf), "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":%d}", i);
		j = call(&c, buf);
		ck_assert_int_eq(jpath_int(j, "id", -1), i);
		json_object_put(j);
	}
	j = recv_json(&c);
	ck_assert_int_eq(jpath_int(j, "id", -1), 1);
	ck_assert(json_object_get_boolean(jpath(j, "result.pong")));
	json_object_put(j);
	/* Parked ones finish in deadline order, not request order. */
	ck_assert_int_eq(write_str(&c,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.4},\"id\":\"slow\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.1},\"id\":\"quick\"}\n"), 0);
	j = recv_json(&c);
	ck_assert_str_eq(jpath_str(j, "id"), "quick");
	json_object_put(j);
	j = recv_json(&c);
	ck_assert_str_eq(jpath_str(j, "id"), "slow");
	json_object_put(j);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(batch_waits_for_slowest)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	bool seen[4] = { false };
	long long t0;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	t0 = mono_ms();
	ck_assert_int_eq(write_str(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.3},\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":2},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":3}]\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":4}\n"), 0);
	/* The request after the batch is not held up by it. */
	j = recv_json(&c);
	ck_assert_msg(json_object_is_type(j, json_type_object) && jpath_int(j, "id", -1) == 4,
	              "want the reply to id 4 first: %s", json_object_to_json_string(j));
	json_object_put(j);
	/* The batch comes back whole, once, after its slowest element. */
	j = recv_json(&c);
	ck_assert_int_ge(mono_ms() - t0, 250);
	ck_assert_msg(json_object_is_type(j, json_type_array) && json_object_array_length(j) == 3,
	              "want an array of three: %s", json_object_to_json_string(j));
	for (size_t i = 0; i < 3; i++) {
		json_object *e = json_object_array_get_idx(j, i);
		long long id = jpath_int(e, "id", -1);
		ck_assert(id >= 1 && id <= 3 && !seen[id]);
		seen[id] = true;
		ck_assert_int_eq(reply_error_code(e), 0);
	}
	json_object_put(j);
	/* Nothing else follows: the next line is the marker's. */
	j = call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"marker\"}");
	ck_assert_str_eq(jpath_str(j, "id"), "marker");
	json_object_put(j);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* A batch whose client leaves before the slow element is done. */
START_TEST(batch_client_leaves)
{
	struct sbd d;
	struct tconn c, clock;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	ck_assert_int_eq(write_str(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.2},\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":30},\"id\":2},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":3}]\n"), 0);
	info_ok(&c);
	tconn_close(&c);
	/* Outlast the short element's timer. */
	open_conn(&clock, &d);
	j = call(&clock, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.4},\"id\":1}");
	ck_assert_int_eq(reply_error_code(j), 0);
	json_object_put(j);
	tconn_close(&clock);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* ---- stopping ---- */

START_TEST(sigterm_in_flight)
{
	static const char *const ids[2][3] = { { "a1", "a2", "a3" }, { "b1", "b2", NULL } };
	struct sbd d;
	struct tconn c[2];
	char sock[sizeof(d.sock)];
	siginfo_t si;

	start(&d, NULL);
	memcpy(sock, d.sock, sizeof(sock));
	for (int k = 0; k < 2; k++) {
		open_conn(&c[k], &d);
		for (int i = 0; i < 3 && ids[k][i]; i++) {
			char buf[128];
			snprintf(buf, sizeof(buf),
			         "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":30},\"id\":\"%s\"}",
			         ids[k][i]);
			ck_assert_int_eq(tconn_send(&c[k], buf), 0);
		}
		/* Answered after the pings were read: they are parked. */
		info_ok(&c[k]);
	}
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	for (int k = 0; k < 2; k++) {
		bool seen[3] = { false };
		int n = k == 0 ? 3 : 2;
		for (int i = 0; i < n; i++) {
			json_object *j = recv_json(&c[k]);
			const char *id = jpath_str(j, "id");
			int which = -1;
			for (int m = 0; m < n; m++)
				if (id && strcmp(id, ids[k][m]) == 0)
					which = m;
			ck_assert_msg(which >= 0 && !seen[which], "unexpected reply %s",
			              json_object_to_json_string(j));
			seen[which] = true;
			{
				char want[16];
				snprintf(want, sizeof(want), "\"%s\"", id);
				check_error(j, -32000, want);
			}
			ck_assert_str_eq(jpath_str(j, "error.data.name"), "ECANCELED");
			ck_assert_int_eq(jpath_int(j, "error.data.errno", -1), ECANCELED);
			json_object_put(j);
		}
		ck_assert_msg(tconn_wait_eof(&c[k], T_MS), "connection %d not closed by the stopping daemon", k);
	}
	ck_assert_int_eq(sbd_wait_notify(&d, "STOPPING=1", T_MS), 0);
	/* Wait for the exit without reaping it: the socket must be gone by then. */
	memset(&si, 0, sizeof(si));
	ck_assert_int_eq(waitid(P_PID, (id_t)d.pid, &si, WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(si.si_code, CLD_EXITED);
	ck_assert_int_eq(si.si_status, 0);
	{
		struct stat st;
		ck_assert_msg(lstat(sock, &st) < 0 && errno == ENOENT, "the socket file outlived the daemon");
	}
	for (int k = 0; k < 2; k++)
		tconn_close(&c[k]);
	ck_assert_int_eq(sbd_stop(&d), 0);
}
END_TEST

/* Removes the directories of daemons whose test failed before sbd_stop(),
 * after printing their logs. */
static void sweep_dirs(int fd)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		DIR *dp = opendir(line);
		struct dirent *e;
		char p[600];

		if (!dp)
			continue; /* removed by sbd_stop() */
		/* Its test failed: show what the daemon said before it goes. */
		snprintf(p, sizeof(p), "%s/daemon.log", line);
		{
			FILE *lf = fopen(p, "r");
			char l[1024];
			int k = 0;
			if (lf) {
				fprintf(stderr, "---- daemon log of a failed test (%s) ----\n", line);
				while (k++ < 100 && fgets(l, sizeof(l), lf))
					fputs(l, stderr);
				fclose(lf);
			}
		}
		while ((e = readdir(dp))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", line, e->d_name);
			unlink(p);
		}
		closedir(dp);
		rmdir(line);
	}
}

static Suite *suite(void)
{
	Suite *s = suite_create("it_concurrency");
	TCase *many = tcase_create("many");
	TCase *order = tcase_create("order");
	TCase *life = tcase_create("stop");

	tcase_set_timeout(many, 120);
	tcase_add_test(many, thousand_clients);
	suite_add_tcase(s, many);

	tcase_set_timeout(order, 60);
	tcase_add_test(order, out_of_order);
	tcase_add_test(order, batch_waits_for_slowest);
	tcase_add_test(order, batch_client_leaves);
	suite_add_tcase(s, order);

	tcase_set_timeout(life, 60);
	tcase_add_test(life, sigterm_in_flight);
	suite_add_tcase(s, life);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	{
		int p[2];
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0)
			dirlog_fd = p[1];
		srunner_run_all(sr, CK_NORMAL);
		if (dirlog_fd >= 0) {
			close(dirlog_fd);
			sweep_dirs(p[0]);
			close(p[0]);
		}
	}
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
