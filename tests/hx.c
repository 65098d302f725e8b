#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hx.h"

int hx_timeout_ms = 5000;
int hx_dirlog_fd = -1;
int hx_child_report_fd = -1;

long long hx_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- what a test keeps until its teardown ---- */

#define HX_MAX_KEEP 8192
static json_object *kept_json[HX_MAX_KEEP];
static size_t nkept_json;
static void *kept_mem[HX_MAX_KEEP];
static size_t nkept_mem;

json_object *hx_hold(json_object *j)
{
	if (j && nkept_json < HX_MAX_KEEP)
		kept_json[nkept_json++] = j;
	return j;
}

void *hx_hold_mem(void *p)
{
	ck_assert_ptr_nonnull(p);
	if (nkept_mem < HX_MAX_KEEP)
		kept_mem[nkept_mem++] = p;
	return p;
}

void hx_release_all(void)
{
	while (nkept_json)
		json_object_put(kept_json[--nkept_json]);
	while (nkept_mem)
		free(kept_mem[--nkept_mem]);
}

const char *hx_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	return hx_hold_mem(s);
}

void hx_start(struct sbd *d, const char *const *args)
{
	int r = sbd_start(d, args);

	if (hx_dirlog_fd >= 0 && d->dir[0]) {
		char line[300];
		int n = snprintf(line, sizeof(line), "%s\n", d->dir);
		/* One short write to a pipe is atomic; losing it only costs the sweep. */
		if (n > 0 && n < (int)sizeof(line) && write(hx_dirlog_fd, line, (size_t)n) < 0)
			n = 0;
	}
	ck_assert_msg(r == 0, "the daemon did not start: %s", strerror(-r));
}

void hx_open_conn(struct tconn *t, const struct sbd *d)
{
	int r = tconn_open(t, d->sock);

	ck_assert_msg(r == 0, "connect: %s", strerror(-r));
}

/* Sends line and returns the reply; fails the test when none comes. */
json_object *hx_call(struct tconn *t, const char *line)
{
	json_object *j = tconn_call(t, line, hx_timeout_ms);

	ck_assert_msg(j != NULL, "no reply to %.200s (errno %d %s)", line, errno, strerror(errno));
	return j;
}

json_object *hx_recv_json(struct tconn *t)
{
	json_object *j = tconn_recv_json(t, hx_timeout_ms);

	ck_assert_msg(j != NULL, "no reply (errno %d %s)", errno, strerror(errno));
	return j;
}

json_object *hx_requestv(struct tconn *t, const char *method, const char *pfmt, va_list ap)
{
	static long long next_id = 1;
	char *params = NULL, *line = NULL;
	long long id = next_id++;
	json_object *j;

	if (pfmt)
		ck_assert_int_ge(vasprintf(&params, pfmt, ap), 0);
	ck_assert_int_ge(asprintf(&line, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"%s%s,\"id\":%lld}", method,
	                          params ? ",\"params\":" : "", params ? params : "", id),
	                 0);
	free(params);
	j = hx_call(t, line);
	ck_assert_msg(jpath_int(j, "id", -1) == id, "reply to %s has the wrong id: %s", line,
	              json_object_to_json_string(j));
	free(line);
	return j;
}

/* The reply is an error with code and an id equal to want_id (NULL: id null). */
void hx_check_error(json_object *j, int code, const char *want_id)
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

void hx_expect_error(struct tconn *t, const char *line, int code, const char *want_id)
{
	json_object *j = hx_call(t, line);

	hx_check_error(j, code, want_id);
	json_object_put(j);
}

/* daemon.info works on t (the connection is healthy). */
void hx_info_ok(struct tconn *t)
{
	json_object *j = hx_call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"ok\"}");

	ck_assert_msg(jpath_int(j, "result.protocol", 0) == 1, "daemon.info: %s",
	              json_object_to_json_string(j));
	ck_assert_str_eq(jpath_str(j, "id"), "ok");
	json_object_put(j);
}

/* Descriptors the daemon spends on one client: the socket, plus the pidfd
 * where the kernel gives one. */
int hx_conn_cost(struct tconn *t)
{
	json_object *j = hx_call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":0}");
	json_object *p = jpath(j, "result.pidfd");
	int cost;

	ck_assert_ptr_nonnull(p);
	cost = json_object_get_boolean(p) ? 2 : 1;
	json_object_put(j);
	return cost;
}

/* The daemon's descriptors with no client at all; measured through a
 * client's round trip so that start-up is certainly over. */
int hx_baseline_fds(const struct sbd *d)
{
	struct tconn t;
	int n, cost;

	hx_open_conn(&t, d);
	cost = hx_conn_cost(&t);
	n = sbd_fd_count(d);
	ck_assert_int_gt(n, 0);
	tconn_close(&t);
	return n - cost;
}

/* A fresh client is served, and once the daemon has processed every close
 * the descriptor count is back to baseline (plus the fresh client). Bounded
 * by round trips, never by sleeping. */
void hx_check_recovered(const struct sbd *d, int baseline)
{
	struct tconn t;
	int cost, n = -1;

	hx_open_conn(&t, d);
	hx_info_ok(&t);
	cost = hx_conn_cost(&t);
	for (int i = 0; i < 200; i++) {
		n = sbd_fd_count(d);
		if (n == baseline + cost)
			break;
		hx_info_ok(&t);
	}
	ck_assert_msg(n == baseline + cost, "daemon has %d descriptors, want %d", n, baseline + cost);
	tconn_close(&t);
}

void hx_wait_connections(struct tconn *t, long long n)
{
	long long got = -1;

	for (int i = 0; i < 200 && got != n; i++) {
		json_object *j = hx_call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"n\"}");
		got = jpath_int(j, "result.connections", -1);
		json_object_put(j);
	}
	ck_assert_msg(got == n, "the daemon counts %lld connections, want %lld", got, n);
}

void hx_expect_refused(const struct sbd *d, const char *limit, long long max)
{
	struct tconn t;
	json_object *j;

	hx_open_conn(&t, d);
	j = hx_recv_json(&t);
	hx_check_error(j, -32012, NULL);
	ck_assert_str_eq(jpath_str(j, "error.data.limit"), limit);
	ck_assert_int_eq(jpath_int(j, "error.data.max", -1), max);
	json_object_put(j);
	ck_assert_msg(tconn_wait_eof(&t, hx_timeout_ms), "a refused connection was not closed");
	tconn_close(&t);
}

void hx_stop(struct sbd *d)
{
	ck_assert_int_eq(sbd_stop(d), 0);
}

/* Removes the directories of daemons whose test failed before sbd_stop(),
 * after printing their logs. */
void hx_sweep_dirs(int fd)
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

void hx_child_fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (hx_child_report_fd >= 0 && write(hx_child_report_fd, buf, (size_t)n) < 0) {
		/* the test sees the exit status */
	}
	_exit(1);
}

int hx_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed, p[2];

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0)
		hx_dirlog_fd = p[1];
	srunner_run_all(sr, CK_NORMAL);
	if (hx_dirlog_fd >= 0) {
		close(hx_dirlog_fd);
		hx_dirlog_fd = -1;
		hx_sweep_dirs(p[0]);
		close(p[0]);
	}
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
