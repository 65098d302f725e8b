/* Integration: what a hostile or broken client can send, against the real
 * daemon. Every test takes an error path, then checks that the daemon still
 * serves a fresh client and that its descriptors are back where they were. */
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

static void expect_error(struct tconn *t, const char *line, int code, const char *want_id)
{
	json_object *j = call(t, line);

	check_error(j, code, want_id);
	json_object_put(j);
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

/* Writes raw bytes in pieces of at most `piece` bytes, one write each. */
static void write_pieces(struct tconn *t, const char *buf, size_t n, size_t piece)
{
	for (size_t off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		ck_assert_int_eq(tconn_write(t, buf + off, k), 0);
	}
}

static int write_str(struct tconn *t, const char *s)
{
	return tconn_write(t, s, strlen(s));
}

/* Copies s to the front of buf, without its terminator. */
static void put_str(char *buf, const char *s)
{
	memcpy(buf, s, strlen(s));
}

/* ---- parse and envelope errors ---- */

START_TEST(invalid_json)
{
	struct sbd d;
	struct tconn c;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",", -32700, NULL);
	expect_error(&c, "not json at all", -32700, NULL);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}}", -32700, NULL);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1} x", -32700, NULL);
	expect_error(&c, "{'jsonrpc':'2.0'}", -32700, NULL);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":01}", -32700, NULL);
	/* Valid JSON that is not a request object. */
	expect_error(&c, "\"daemon.info\"", -32600, NULL);
	expect_error(&c, "42", -32600, NULL);
	expect_error(&c, "null", -32600, NULL);
	/* A parse error does not end the connection. */
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(invalid_utf8)
{
	struct sbd d;
	struct tconn c;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"a\xff\xfe\"}", -32700, NULL);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.\xff\xfe\",\"id\":1}", -32700, NULL);
	/* An overlong encoding of '/' and a lone continuation byte. */
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"\xc0\xaf\"}", -32700, NULL);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"\x80\"}", -32700, NULL);
	/* Valid multi-byte UTF-8 in an id comes back intact. */
	{
		json_object *j = call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"\xc3\xa9\xe2\x82\xac\"}");
		ck_assert_int_eq(reply_error_code(j), 0);
		ck_assert_str_eq(jpath_str(j, "id"), "\xc3\xa9\xe2\x82\xac");
		json_object_put(j);
	}
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(deep_nesting)
{
	enum { DEPTH = 10000 };
	struct sbd d;
	struct tconn c;
	char *buf = malloc(2 * DEPTH + 64);
	int base;

	ck_assert_ptr_nonnull(buf);
	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	/* Unterminated: DEPTH opening brackets. */
	memset(buf, '[', DEPTH);
	buf[DEPTH] = '\0';
	expect_error(&c, buf, -32700, NULL);
	/* Balanced: [[[...]]]. */
	memset(buf + DEPTH, ']', DEPTH);
	buf[2 * DEPTH] = '\0';
	expect_error(&c, buf, -32700, NULL);
	/* Deep objects inside params. */
	{
		size_t n = 0;
		n += (size_t)sprintf(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1,\"params\":");
		for (int i = 0; i < 4000 && n < 2 * DEPTH; i++)
			n += (size_t)sprintf(buf + n, "{\"a\":");
		buf[n] = '\0';
		expect_error(&c, buf, -32700, NULL);
	}
	info_ok(&c);
	tconn_close(&c);
	free(buf);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(params_array)
{
	struct sbd d;
	struct tconn c;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":[0],\"id\":1}", -32602, "1");
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"params\":[],\"id\":\"x\"}", -32602, "\"x\"");
	/* params that is neither object nor array is an invalid request. */
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"params\":5,\"id\":2}", -32600, "2");
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(unknown_method)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	j = call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"no.such.method\",\"params\":{},\"id\":7}");
	check_error(j, -32601, "7");
	ck_assert_str_eq(jpath_str(j, "error.data.method"), "no.such.method");
	json_object_put(j);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":8}", -32601, "8");
	/* method must be a string */
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":9}", -32600, "9");
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(unknown_param)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	j = call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"bogus\":1},\"id\":1}");
	check_error(j, -32602, "1");
	ck_assert_msg(jpath_str(j, "error.data.param") &&
	              strcmp(jpath_str(j, "error.data.param"), "bogus") == 0,
	              "an unknown parameter should be named in error.data.param: %s",
	              json_object_to_json_string(j));
	json_object_put(j);
	/* A known parameter with a bad value is named. */
	j = call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":\"x\"},\"id\":2}");
	check_error(j, -32602, "2");
	ck_assert_str_eq(jpath_str(j, "error.data.param"), "delay");
	json_object_put(j);
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(unknown_member)
{
	struct sbd d;
	struct tconn c;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":3,\"extra\":1}", -32600, "3");
	/* Without an id it is still answered (an invalid request is not a notification). */
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"extra\":1}", -32600, NULL);
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* The id a client can match on must not depend on where the unknown member
 * stands in the object: a client waiting for id 4 would wait for ever. */
START_TEST(unknown_member_before_id)
{
	struct sbd d;
	struct tconn c;

	start(&d, NULL);
	open_conn(&c, &d);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"extra\":1,\"method\":\"daemon.info\",\"id\":4}", -32600, "4");
	tconn_close(&c);
	stop(&d);
}
END_TEST

START_TEST(wrong_jsonrpc)
{
	struct sbd d;
	struct tconn c;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	expect_error(&c, "{\"jsonrpc\":\"1.0\",\"method\":\"daemon.info\",\"id\":1}", -32600, "1");
	expect_error(&c, "{\"jsonrpc\":2.0,\"method\":\"daemon.info\",\"id\":2}", -32600, "2");
	expect_error(&c, "{\"method\":\"daemon.info\",\"id\":3}", -32600, "3");
	expect_error(&c, "{\"jsonrpc\":\"2.0 \",\"method\":\"daemon.info\",\"id\":4}", -32600, "4");
	/* An id of the wrong type cannot be echoed. */
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":[1]}", -32600, NULL);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":{}}", -32600, NULL);
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* ---- message size ---- */

static void check_oversize_reply(struct tconn *t, long long max)
{
	json_object *j = recv_json(t);

	check_error(j, -32012, NULL);
	ck_assert_str_eq(jpath_str(j, "error.data.limit"), "message_bytes");
	ck_assert_int_eq(jpath_int(j, "error.data.max", -1), max);
	json_object_put(j);
	ck_assert_msg(tconn_wait_eof(t, T_MS), "the daemon did not close an oversize connection");
}

static const char *const small_msg_args[] = { "--max-message-bytes", "4096", NULL };

START_TEST(oversize_unterminated)
{
	struct sbd d;
	struct tconn c, other;
	char buf[5000];
	int base;

	start(&d, small_msg_args);
	base = baseline_fds(&d);
	open_conn(&other, &d);
	info_ok(&other);
	open_conn(&c, &d);
	memset(buf, 'a', sizeof(buf));
	put_str(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1,\"x\":\"");
	ck_assert_int_eq(tconn_write(&c, buf, sizeof(buf)), 0);
	check_oversize_reply(&c, 4096);
	tconn_close(&c);
	/* Nothing else the daemon holds is affected. */
	info_ok(&other);
	tconn_close(&other);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(oversize_line)
{
	struct sbd d;
	struct tconn c;
	char buf[5001];
	int base;

	start(&d, small_msg_args);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	/* A complete, valid request of 5000 bytes and its newline. */
	memset(buf, ' ', sizeof(buf));
	put_str(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}");
	buf[5000] = '\n';
	ck_assert_int_eq(tconn_write(&c, buf, sizeof(buf)), 0);
	check_oversize_reply(&c, 4096);
	tconn_close(&c);

	/* A request within the limit (4096 bytes exactly) is served. */
	open_conn(&c, &d);
	memset(buf, ' ', 4096);
	put_str(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2}");
	buf[4096] = '\n';
	ck_assert_int_eq(tconn_write(&c, buf, 4097), 0);
	{
		json_object *j = recv_json(&c);
		ck_assert_int_eq(reply_error_code(j), 0);
		ck_assert_int_eq(jpath_int(j, "id", -1), 2);
		json_object_put(j);
	}
	/* A request of limit + 1 bytes is not. */
	memset(buf, ' ', 4097);
	put_str(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":3}");
	buf[4097] = '\n';
	ck_assert_int_eq(tconn_write(&c, buf, 4098), 0);
	check_oversize_reply(&c, 4096);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* Bytes trickled in small writes, never a newline: cut off once past the limit. */
START_TEST(oversize_trickle)
{
	struct sbd d;
	struct tconn c;
	char piece[64];
	size_t sent = 0;
	bool refused = false;
	int base;

	start(&d, small_msg_args);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	memset(piece, 'b', sizeof(piece));
	{
		const char *head = "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1,\"x\":\"";
		ck_assert_int_eq(write_str(&c, head), 0);
		sent = strlen(head);
	}
	/* Keep trickling past the limit; stop when the daemon answers. */
	while (sent < 64 * 1024) {
		struct pollfd p = { .fd = c.fd, .events = POLLIN };
		int r = tconn_write(&c, piece, sizeof(piece));
		if (r < 0) {
			ck_assert_msg(r == -EPIPE || r == -ECONNRESET, "write: %s", strerror(-r));
			ck_assert_int_gt(sent, 4096);
			refused = true;
			break;
		}
		sent += sizeof(piece);
		if (poll(&p, 1, 0) == 1) {
			ck_assert_int_gt(sent, 4096);
			refused = true;
			break;
		}
		/* Past the limit, give the daemon a chance to answer: a bounded
		 * wait on the socket itself. */
		if (sent > 4096 + 2 * sizeof(piece) && poll(&p, 1, 20) == 1) {
			refused = true;
			break;
		}
	}
	ck_assert_msg(refused, "no answer after %zu bytes without a newline", sent);
	check_oversize_reply(&c, 4096);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* ---- batches ---- */

static const char *const batch4_args[] = { "--max-batch", "4", NULL };

START_TEST(empty_batch)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	j = call(&c, "[]");
	ck_assert_msg(json_object_is_type(j, json_type_object), "want a single error: %s",
	              json_object_to_json_string(j));
	check_error(j, -32600, NULL);
	json_object_put(j);
	j = call(&c, "  [ ]  ");
	check_error(j, -32600, NULL);
	json_object_put(j);
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(batch_over_limit)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;
	const char *five =
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":3},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":4},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":5}]";
	const char *four =
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":3},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":4}]";

	start(&d, batch4_args);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	j = call(&c, five);
	ck_assert_msg(json_object_is_type(j, json_type_object), "want a single error: %s",
	              json_object_to_json_string(j));
	check_error(j, -32012, NULL);
	ck_assert_str_eq(jpath_str(j, "error.data.limit"), "batch");
	ck_assert_int_eq(jpath_int(j, "error.data.max", -1), 4);
	json_object_put(j);
	/* At the limit the batch is served, one array in request order. */
	j = call(&c, four);
	ck_assert(json_object_is_type(j, json_type_array));
	ck_assert_int_eq(json_object_array_length(j), 4);
	for (int i = 0; i < 4; i++) {
		json_object *e = json_object_array_get_idx(j, (size_t)i);
		ck_assert_int_eq(reply_error_code(e), 0);
		ck_assert_int_eq(jpath_int(e, "id", -1), i + 1);
	}
	json_object_put(j);
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* Proves that nothing was answered: the next line is the marker's reply. */
static void expect_nothing_then_marker(struct tconn *c)
{
	json_object *j = call(c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"marker\"}");

	ck_assert_msg(jpath_str(j, "id") && strcmp(jpath_str(j, "id"), "marker") == 0,
	              "something was answered before the marker: %s", json_object_to_json_string(j));
	json_object_put(j);
}

START_TEST(batch_of_notifications)
{
	struct sbd d;
	struct tconn c;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	ck_assert_int_eq(tconn_send(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"params\":{}},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"no.such.method\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"bogus\":1}}]"), 0);
	expect_nothing_then_marker(&c);
	/* A delayed ping as a notification: still nothing, even after it fires. */
	ck_assert_int_eq(tconn_send(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.05}}]"), 0);
	{
		json_object *j = call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.2},\"id\":\"late\"}");
		ck_assert_str_eq(jpath_str(j, "id"), "late");
		json_object_put(j);
	}
	expect_nothing_then_marker(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* ---- descriptors ---- */

/* A pipe whose read end we give away: once the daemon has closed every copy,
 * writing to our write end fails with EPIPE. */
static void make_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

static void check_read_end_closed(int wfd)
{
	ssize_t w = write(wfd, "x", 1);

	ck_assert_msg(w < 0 && errno == EPIPE,
	              "the daemon still holds the pipe's read end (write returned %zd)", w);
}

static void send_fds_expect(struct tconn *c, const char *line, const int *fds, size_t n,
                            int code, const char *id)
{
	json_object *j;

	ck_assert_int_eq(tconn_send_fds(c, line, fds, n), 0);
	j = recv_json(c);
	check_error(j, code, id);
	json_object_put(j);
}

START_TEST(fds_to_method_without_fds)
{
	struct sbd d;
	struct tconn c;
	int p[2], base, before = self_fd_count();

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	make_pipe(p);
	send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"params\":{\"fds\":2},\"id\":1}",
	                p, 2, -32602, "1");
	close(p[0]);
	/* The reply leaves before the request's descriptors are dropped: one
	 * more round trip orders the two. */
	info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	/* The connection is still usable and nothing came back to us. */
	ck_assert_int_eq((int)c.nfds, 0);
	tconn_close(&c);
	check_recovered(&d, base);
	ck_assert_int_eq(self_fd_count(), before + 1); /* the notify socket */
	stop(&d);
}
END_TEST

START_TEST(fds_undeclared)
{
	struct sbd d;
	struct tconn c;
	int p[2], base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	make_pipe(p);
	send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2}", p, 1, -32602, "2");
	send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{},\"id\":3}", p, 1,
	                -32602, "3");
	/* Descriptors with a notification: no reply, and still closed. */
	ck_assert_int_eq(tconn_send_fds(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\"}", p, 1), 0);
	expect_nothing_then_marker(&c);
	close(p[0]);
	info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(fds_declared_not_sent)
{
	struct sbd d;
	struct tconn c;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":1},\"id\":4}", -32602, "4");
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":0},\"id\":5}", -32602, "5");
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":-1},\"id\":6}", -32602, "6");
	expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":\"1\"},\"id\":7}", -32602, "7");
	info_ok(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

static const char *const fds2_args[] = { "--max-fds", "2", NULL };

START_TEST(fds_over_limit)
{
	struct sbd d;
	struct tconn c;
	int p[2], three[3], base;

	start(&d, fds2_args);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	make_pipe(p);
	three[0] = p[0];
	three[1] = p[0];
	three[2] = p[0];
	send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":3},\"id\":1}",
	                three, 3, -32602, "1");
	/* Far over the limit. */
	{
		int many[40];
		for (int i = 0; i < 40; i++)
			many[i] = p[0];
		send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":40},\"id\":2}",
		                many, 40, -32602, "2");
	}
	close(p[0]);
	info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* A batch whose descriptors do not add up: every element is refused. */
START_TEST(fds_batch_mismatch)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int p[2], base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	make_pipe(p);
	ck_assert_int_eq(tconn_send_fds(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":2},\"id\":2}]", p, 1), 0);
	j = recv_json(&c);
	ck_assert_msg(json_object_is_type(j, json_type_array) && json_object_array_length(j) == 2,
	              "want an array of two: %s", json_object_to_json_string(j));
	check_error(json_object_array_get_idx(j, 0), -32602, "1");
	check_error(json_object_array_get_idx(j, 1), -32602, "2");
	json_object_put(j);
	close(p[0]);
	info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* ---- clients that go away or do not read ---- */

START_TEST(disconnect_mid_request)
{
	struct sbd d;
	struct tconn c, clock;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	ck_assert_int_eq(tconn_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":30},\"id\":1}"), 0);
	/* One parked for a short time, too: its timer would fire after the close. */
	ck_assert_int_eq(tconn_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.2},\"id\":2}"), 0);
	/* Both are parked once a later request on the same connection is answered. */
	info_ok(&c);
	tconn_close(&c);
	/* A clock that outlasts the short timer: had the cancelled timer stayed
	 * armed, it would have fired on freed memory by now (sanitizer builds
	 * abort there) and the daemon would be gone. */
	open_conn(&clock, &d);
	{
		long long t0 = mono_ms();
		j = call(&clock, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.4},\"id\":\"clock\"}");
		ck_assert_int_eq(reply_error_code(j), 0);
		ck_assert_int_ge(mono_ms() - t0, 350);
		json_object_put(j);
	}
	/* Fast, and the daemon counts only the clock as connected. */
	{
		long long t0 = mono_ms();
		j = call(&clock, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}");
		ck_assert_int_lt(mono_ms() - t0, 1000);
		ck_assert_int_eq(jpath_int(j, "result.connections", -1), 1);
		json_object_put(j);
	}
	tconn_close(&clock);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

static const char *const slow_args[] = { "--max-queued-bytes", "65536", NULL };

START_TEST(reader_never_reads)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"method\":\"rpc.discover\",\"id\":1}\n";
	struct sbd d;
	struct tconn bad, good;
	long long deadline;
	int sent = 0, served = 0, base;
	bool cut = false;

	start(&d, slow_args);
	base = baseline_fds(&d);
	open_conn(&good, &d);
	info_ok(&good);
	open_conn(&bad, &d);
	deadline = mono_ms() + 15000;
	while (!cut && mono_ms() < deadline) {
		struct pollfd p = { .fd = bad.fd, .events = POLLOUT };
		ssize_t w;

		if (poll(&p, 1, 100) < 0)
			continue;
		if (p.revents & (POLLHUP | POLLERR)) {
			cut = true;
			break;
		}
		if (!(p.revents & POLLOUT))
			continue;
		w = send(bad.fd, req, sizeof(req) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			ck_assert_msg(errno == EPIPE || errno == ECONNRESET, "send: %s", strerror(errno));
			cut = true;
			break;
		}
		ck_assert_int_eq(w, (ssize_t)sizeof(req) - 1);
		/* Another client keeps being answered all along. */
		if (++sent % 16 == 0) {
			info_ok(&good);
			served++;
		}
	}
	ck_assert_msg(cut, "the daemon kept a client that never reads (%d requests sent)", sent);
	ck_assert_msg(tconn_wait_eof(&bad, T_MS), "no EOF after the disconnect");
	ck_assert(sbd_log_contains(&d, "reply bytes queued"));
	ck_assert_int_gt(served, 0);
	info_ok(&good);
	tconn_close(&bad);
	tconn_close(&good);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

/* ---- framing ---- */

START_TEST(single_byte_writes)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"params\":{},\"id\":\"one\"}\n";
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	write_pieces(&c, req, sizeof(req) - 1, 1);
	j = recv_json(&c);
	ck_assert_int_eq(reply_error_code(j), 0);
	ck_assert_str_eq(jpath_str(j, "id"), "one");
	ck_assert_int_eq(jpath_int(j, "result.uid", -1), (long long)getuid());
	json_object_put(j);
	/* A batch in 3-byte pieces. */
	{
		static const char b[] = "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1},"
		                        "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2}]\n";
		write_pieces(&c, b, sizeof(b) - 1, 3);
		j = recv_json(&c);
		ck_assert(json_object_is_type(j, json_type_array));
		ck_assert_int_eq(json_object_array_length(j), 2);
		json_object_put(j);
	}
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(glued_requests)
{
	static const char two[] = "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1}\n"
	                          "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":2}\n";
	struct sbd d;
	struct tconn c;
	bool seen[3] = { false };
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	ck_assert_int_eq(tconn_write(&c, two, sizeof(two) - 1), 0);
	for (int i = 0; i < 2; i++) {
		json_object *j = recv_json(&c);
		long long id = jpath_int(j, "id", -1);
		ck_assert_int_eq(reply_error_code(j), 0);
		ck_assert(id == 1 || id == 2);
		ck_assert(!seen[id]);
		seen[id] = true;
		if (id == 1)
			ck_assert(json_object_get_boolean(jpath(j, "result.pong")));
		else
			ck_assert_int_eq(jpath_int(j, "result.protocol", 0), 1);
		json_object_put(j);
	}
	/* A request glued to the start of the next, finished in a second write. */
	ck_assert_int_eq(write_str(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":3}\n{\"jsonrpc\":\"2.0\","), 0);
	{
		json_object *j = recv_json(&c);
		ck_assert_int_eq(jpath_int(j, "id", -1), 3);
		json_object_put(j);
	}
	ck_assert_int_eq(tconn_send(&c, "\"method\":\"daemon.ping\",\"id\":4}"), 0);
	{
		json_object *j = recv_json(&c);
		ck_assert_int_eq(jpath_int(j, "id", -1), 4);
		ck_assert_int_eq(reply_error_code(j), 0);
		json_object_put(j);
	}
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
}
END_TEST

START_TEST(blank_lines_and_crlf)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	start(&d, NULL);
	base = baseline_fds(&d);
	open_conn(&c, &d);
	/* Blank lines are not messages: no reply to them. */
	ck_assert_int_eq(write_str(&c, "\n\n   \n\t\n\r\n"), 0);
	expect_nothing_then_marker(&c);
	/* CRLF ends a message as well. */
	ck_assert_int_eq(write_str(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"crlf\"}\r\n"), 0);
	j = recv_json(&c);
	ck_assert_int_eq(reply_error_code(j), 0);
	ck_assert_str_eq(jpath_str(j, "id"), "crlf");
	json_object_put(j);
	/* Blank lines between glued requests. */
	ck_assert_int_eq(write_str(&c, "\r\n{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":5}\r\n\n \n"), 0);
	j = recv_json(&c);
	ck_assert_int_eq(jpath_int(j, "id", -1), 5);
	json_object_put(j);
	expect_nothing_then_marker(&c);
	tconn_close(&c);
	check_recovered(&d, base);
	stop(&d);
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
	Suite *s = suite_create("it_badinput");
	TCase *parse = tcase_create("parse");
	TCase *size = tcase_create("size");
	TCase *batch = tcase_create("batch");
	TCase *fds = tcase_create("fds");
	TCase *peers = tcase_create("peers");
	TCase *framing = tcase_create("framing");

	tcase_set_timeout(parse, 60);
	tcase_add_test(parse, invalid_json);
	tcase_add_test(parse, invalid_utf8);
	tcase_add_test(parse, deep_nesting);
	tcase_add_test(parse, params_array);
	tcase_add_test(parse, unknown_method);
	tcase_add_test(parse, unknown_param);
	tcase_add_test(parse, unknown_member);
	tcase_add_test(parse, unknown_member_before_id);
	tcase_add_test(parse, wrong_jsonrpc);
	suite_add_tcase(s, parse);

	tcase_set_timeout(size, 60);
	tcase_add_test(size, oversize_unterminated);
	tcase_add_test(size, oversize_line);
	tcase_add_test(size, oversize_trickle);
	suite_add_tcase(s, size);

	tcase_set_timeout(batch, 60);
	tcase_add_test(batch, empty_batch);
	tcase_add_test(batch, batch_over_limit);
	tcase_add_test(batch, batch_of_notifications);
	suite_add_tcase(s, batch);

	tcase_set_timeout(fds, 60);
	tcase_add_test(fds, fds_to_method_without_fds);
	tcase_add_test(fds, fds_undeclared);
	tcase_add_test(fds, fds_declared_not_sent);
	tcase_add_test(fds, fds_over_limit);
	tcase_add_test(fds, fds_batch_mismatch);
	suite_add_tcase(s, fds);

	tcase_set_timeout(peers, 60);
	tcase_add_test(peers, disconnect_mid_request);
	tcase_add_test(peers, reader_never_reads);
	suite_add_tcase(s, peers);

	tcase_set_timeout(framing, 60);
	tcase_add_test(framing, single_byte_writes);
	tcase_add_test(framing, glued_requests);
	tcase_add_test(framing, blank_lines_and_crlf);
	suite_add_tcase(s, framing);
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
