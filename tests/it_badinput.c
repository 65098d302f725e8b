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

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",", -32700, NULL);
	hx_expect_error(&c, "not json at all", -32700, NULL);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}}", -32700, NULL);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1} x", -32700, NULL);
	hx_expect_error(&c, "{'jsonrpc':'2.0'}", -32700, NULL);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":01}", -32700, NULL);
	/* Valid JSON that is not a request object. */
	hx_expect_error(&c, "\"daemon.info\"", -32600, NULL);
	hx_expect_error(&c, "42", -32600, NULL);
	hx_expect_error(&c, "null", -32600, NULL);
	/* A parse error does not end the connection. */
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(invalid_utf8)
{
	struct sbd d;
	struct tconn c;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"a\xff\xfe\"}", -32700, NULL);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.\xff\xfe\",\"id\":1}", -32700, NULL);
	/* An overlong encoding of '/' and a lone continuation byte. */
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"\xc0\xaf\"}", -32700, NULL);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"\x80\"}", -32700, NULL);
	/* Valid multi-byte UTF-8 in an id comes back intact. */
	{
		json_object *j = hx_call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"\xc3\xa9\xe2\x82\xac\"}");
		ck_assert_int_eq(reply_error_code(j), 0);
		ck_assert_str_eq(jpath_str(j, "id"), "\xc3\xa9\xe2\x82\xac");
		json_object_put(j);
	}
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
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
	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	/* Unterminated: DEPTH opening brackets. */
	memset(buf, '[', DEPTH);
	buf[DEPTH] = '\0';
	hx_expect_error(&c, buf, -32700, NULL);
	/* Balanced: [[[...]]]. */
	memset(buf + DEPTH, ']', DEPTH);
	buf[2 * DEPTH] = '\0';
	hx_expect_error(&c, buf, -32700, NULL);
	/* Deep objects inside params. */
	{
		size_t n = 0;
		n += (size_t)sprintf(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1,\"params\":");
		for (int i = 0; i < 4000 && n < 2 * DEPTH; i++)
			n += (size_t)sprintf(buf + n, "{\"a\":");
		buf[n] = '\0';
		hx_expect_error(&c, buf, -32700, NULL);
	}
	hx_info_ok(&c);
	tconn_close(&c);
	free(buf);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(params_array)
{
	struct sbd d;
	struct tconn c;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":[0],\"id\":1}", -32602, "1");
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"params\":[],\"id\":\"x\"}", -32602, "\"x\"");
	/* params that is neither object nor array is an invalid request. */
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"params\":5,\"id\":2}", -32600, "2");
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(unknown_method)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	j = hx_call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"no.such.method\",\"params\":{},\"id\":7}");
	hx_check_error(j, -32601, "7");
	ck_assert_str_eq(jpath_str(j, "error.data.method"), "no.such.method");
	json_object_put(j);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":8}", -32601, "8");
	/* method must be a string */
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":9}", -32600, "9");
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(unknown_param)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	j = hx_call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"bogus\":1},\"id\":1}");
	hx_check_error(j, -32602, "1");
	ck_assert_msg(jpath_str(j, "error.data.param") &&
	              strcmp(jpath_str(j, "error.data.param"), "bogus") == 0,
	              "an unknown parameter should be named in error.data.param: %s",
	              json_object_to_json_string(j));
	json_object_put(j);
	/* A known parameter with a bad value is named. */
	j = hx_call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":\"x\"},\"id\":2}");
	hx_check_error(j, -32602, "2");
	ck_assert_str_eq(jpath_str(j, "error.data.param"), "delay");
	json_object_put(j);
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(unknown_member)
{
	struct sbd d;
	struct tconn c;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":3,\"extra\":1}", -32600, "3");
	/* Without an id it is still answered (an invalid request is not a notification). */
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"extra\":1}", -32600, NULL);
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* The id a client can match on must not depend on where the unknown member
 * stands in the object: a client waiting for id 4 would wait for ever. */
START_TEST(unknown_member_before_id)
{
	struct sbd d;
	struct tconn c;

	hx_start(&d, NULL);
	hx_open_conn(&c, &d);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"extra\":1,\"method\":\"daemon.info\",\"id\":4}", -32600, "4");
	tconn_close(&c);
	hx_stop(&d);
}
END_TEST

START_TEST(wrong_jsonrpc)
{
	struct sbd d;
	struct tconn c;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	hx_expect_error(&c, "{\"jsonrpc\":\"1.0\",\"method\":\"daemon.info\",\"id\":1}", -32600, "1");
	hx_expect_error(&c, "{\"jsonrpc\":2.0,\"method\":\"daemon.info\",\"id\":2}", -32600, "2");
	hx_expect_error(&c, "{\"method\":\"daemon.info\",\"id\":3}", -32600, "3");
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0 \",\"method\":\"daemon.info\",\"id\":4}", -32600, "4");
	/* An id of the wrong type cannot be echoed. */
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":[1]}", -32600, NULL);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":{}}", -32600, NULL);
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* ---- message size ---- */

static void check_oversize_reply(struct tconn *t, long long max)
{
	json_object *j = hx_recv_json(t);

	hx_check_error(j, -32012, NULL);
	ck_assert_str_eq(jpath_str(j, "error.data.limit"), "message_bytes");
	ck_assert_int_eq(jpath_int(j, "error.data.max", -1), max);
	json_object_put(j);
	ck_assert_msg(tconn_wait_eof(t, hx_timeout_ms), "the daemon did not close an oversize connection");
}

static const char *const small_msg_args[] = { "--max-message-bytes", "4096", NULL };

START_TEST(oversize_unterminated)
{
	struct sbd d;
	struct tconn c, other;
	char buf[5000];
	int base;

	hx_start(&d, small_msg_args);
	base = hx_baseline_fds(&d);
	hx_open_conn(&other, &d);
	hx_info_ok(&other);
	hx_open_conn(&c, &d);
	memset(buf, 'a', sizeof(buf));
	put_str(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1,\"x\":\"");
	ck_assert_int_eq(tconn_write(&c, buf, sizeof(buf)), 0);
	check_oversize_reply(&c, 4096);
	tconn_close(&c);
	/* Nothing else the daemon holds is affected. */
	hx_info_ok(&other);
	tconn_close(&other);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(oversize_line)
{
	struct sbd d;
	struct tconn c;
	char buf[5001];
	int base;

	hx_start(&d, small_msg_args);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	/* A complete, valid request of 5000 bytes and its newline. */
	memset(buf, ' ', sizeof(buf));
	put_str(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}");
	buf[5000] = '\n';
	ck_assert_int_eq(tconn_write(&c, buf, sizeof(buf)), 0);
	check_oversize_reply(&c, 4096);
	tconn_close(&c);

	/* A request within the limit (4096 bytes exactly) is served. */
	hx_open_conn(&c, &d);
	memset(buf, ' ', 4096);
	put_str(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2}");
	buf[4096] = '\n';
	ck_assert_int_eq(tconn_write(&c, buf, 4097), 0);
	{
		json_object *j = hx_recv_json(&c);
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
	hx_check_recovered(&d, base);
	hx_stop(&d);
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

	hx_start(&d, small_msg_args);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
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
	hx_check_recovered(&d, base);
	hx_stop(&d);
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

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	j = hx_call(&c, "[]");
	ck_assert_msg(json_object_is_type(j, json_type_object), "want a single error: %s",
	              json_object_to_json_string(j));
	hx_check_error(j, -32600, NULL);
	json_object_put(j);
	j = hx_call(&c, "  [ ]  ");
	hx_check_error(j, -32600, NULL);
	json_object_put(j);
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
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

	hx_start(&d, batch4_args);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	j = hx_call(&c, five);
	ck_assert_msg(json_object_is_type(j, json_type_object), "want a single error: %s",
	              json_object_to_json_string(j));
	hx_check_error(j, -32012, NULL);
	ck_assert_str_eq(jpath_str(j, "error.data.limit"), "batch");
	ck_assert_int_eq(jpath_int(j, "error.data.max", -1), 4);
	json_object_put(j);
	/* At the limit the batch is served, one array in request order. */
	j = hx_call(&c, four);
	ck_assert(json_object_is_type(j, json_type_array));
	ck_assert_int_eq(json_object_array_length(j), 4);
	for (int i = 0; i < 4; i++) {
		json_object *e = json_object_array_get_idx(j, (size_t)i);
		ck_assert_int_eq(reply_error_code(e), 0);
		ck_assert_int_eq(jpath_int(e, "id", -1), i + 1);
	}
	json_object_put(j);
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* Proves that nothing was answered: the next line is the marker's reply. */
static void expect_nothing_then_marker(struct tconn *c)
{
	json_object *j = hx_call(c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"marker\"}");

	ck_assert_msg(jpath_str(j, "id") && strcmp(jpath_str(j, "id"), "marker") == 0,
	              "something was answered before the marker: %s", json_object_to_json_string(j));
	json_object_put(j);
}

START_TEST(batch_of_notifications)
{
	struct sbd d;
	struct tconn c;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
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
		json_object *j = hx_call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.2},\"id\":\"late\"}");
		ck_assert_str_eq(jpath_str(j, "id"), "late");
		json_object_put(j);
	}
	expect_nothing_then_marker(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
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
	j = hx_recv_json(c);
	hx_check_error(j, code, id);
	json_object_put(j);
}

START_TEST(fds_to_method_without_fds)
{
	struct sbd d;
	struct tconn c;
	int p[2], base, before = self_fd_count();

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	make_pipe(p);
	send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"params\":{\"fds\":2},\"id\":1}",
	                p, 2, -32602, "1");
	close(p[0]);
	/* The reply leaves before the request's descriptors are dropped: one
	 * more round trip orders the two. */
	hx_info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	/* The connection is still usable and nothing came back to us. */
	ck_assert_int_eq((int)c.nfds, 0);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	ck_assert_int_eq(self_fd_count(), before + 1); /* the notify socket */
	hx_stop(&d);
}
END_TEST

START_TEST(fds_undeclared)
{
	struct sbd d;
	struct tconn c;
	int p[2], base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	make_pipe(p);
	send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2}", p, 1, -32602, "2");
	send_fds_expect(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{},\"id\":3}", p, 1,
	                -32602, "3");
	/* Descriptors with a notification: no reply, and still closed. */
	ck_assert_int_eq(tconn_send_fds(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\"}", p, 1), 0);
	expect_nothing_then_marker(&c);
	close(p[0]);
	hx_info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(fds_declared_not_sent)
{
	struct sbd d;
	struct tconn c;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":1},\"id\":4}", -32602, "4");
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":0},\"id\":5}", -32602, "5");
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":-1},\"id\":6}", -32602, "6");
	hx_expect_error(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":\"1\"},\"id\":7}", -32602, "7");
	hx_info_ok(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

static const char *const fds2_args[] = { "--max-fds", "2", NULL };

START_TEST(fds_over_limit)
{
	struct sbd d;
	struct tconn c;
	int p[2], three[3], base;

	hx_start(&d, fds2_args);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
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
	hx_info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* A batch whose descriptors do not add up: every element is refused. */
START_TEST(fds_batch_mismatch)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int p[2], base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	make_pipe(p);
	ck_assert_int_eq(tconn_send_fds(&c,
	    "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"fds\":2},\"id\":2}]", p, 1), 0);
	j = hx_recv_json(&c);
	ck_assert_msg(json_object_is_type(j, json_type_array) && json_object_array_length(j) == 2,
	              "want an array of two: %s", json_object_to_json_string(j));
	hx_check_error(json_object_array_get_idx(j, 0), -32602, "1");
	hx_check_error(json_object_array_get_idx(j, 1), -32602, "2");
	json_object_put(j);
	close(p[0]);
	hx_info_ok(&c);
	check_read_end_closed(p[1]);
	close(p[1]);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

/* ---- clients that go away or do not read ---- */

START_TEST(disconnect_mid_request)
{
	struct sbd d;
	struct tconn c, clock;
	json_object *j;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	ck_assert_int_eq(tconn_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":30},\"id\":1}"), 0);
	/* One parked for a short time, too: its timer would fire after the close. */
	ck_assert_int_eq(tconn_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.2},\"id\":2}"), 0);
	/* Both are parked once a later request on the same connection is answered. */
	hx_info_ok(&c);
	tconn_close(&c);
	/* A clock that outlasts the short timer: had the cancelled timer stayed
	 * armed, it would have fired on freed memory by now (sanitizer builds
	 * abort there) and the daemon would be gone. */
	hx_open_conn(&clock, &d);
	{
		long long t0 = hx_mono_ms();
		j = hx_call(&clock, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.4},\"id\":\"clock\"}");
		ck_assert_int_eq(reply_error_code(j), 0);
		ck_assert_int_ge(hx_mono_ms() - t0, 350);
		json_object_put(j);
	}
	/* Fast, and the daemon counts only the clock as connected. */
	{
		long long t0 = hx_mono_ms();
		j = hx_call(&clock, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}");
		ck_assert_int_lt(hx_mono_ms() - t0, 1000);
		ck_assert_int_eq(jpath_int(j, "result.connections", -1), 1);
		json_object_put(j);
	}
	tconn_close(&clock);
	hx_check_recovered(&d, base);
	hx_stop(&d);
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

	hx_start(&d, slow_args);
	base = hx_baseline_fds(&d);
	hx_open_conn(&good, &d);
	hx_info_ok(&good);
	hx_open_conn(&bad, &d);
	deadline = hx_mono_ms() + 15000;
	while (!cut && hx_mono_ms() < deadline) {
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
			hx_info_ok(&good);
			served++;
		}
	}
	ck_assert_msg(cut, "the daemon kept a client that never reads (%d requests sent)", sent);
	ck_assert_msg(tconn_wait_eof(&bad, hx_timeout_ms), "no EOF after the disconnect");
	ck_assert(sbd_log_contains(&d, "reply bytes queued"));
	ck_assert_int_gt(served, 0);
	hx_info_ok(&good);
	tconn_close(&bad);
	tconn_close(&good);
	hx_check_recovered(&d, base);
	hx_stop(&d);
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

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	write_pieces(&c, req, sizeof(req) - 1, 1);
	j = hx_recv_json(&c);
	ck_assert_int_eq(reply_error_code(j), 0);
	ck_assert_str_eq(jpath_str(j, "id"), "one");
	ck_assert_int_eq(jpath_int(j, "result.uid", -1), (long long)getuid());
	json_object_put(j);
	/* A batch in 3-byte pieces. */
	{
		static const char b[] = "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1},"
		                        "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2}]\n";
		write_pieces(&c, b, sizeof(b) - 1, 3);
		j = hx_recv_json(&c);
		ck_assert(json_object_is_type(j, json_type_array));
		ck_assert_int_eq(json_object_array_length(j), 2);
		json_object_put(j);
	}
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
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

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	ck_assert_int_eq(tconn_write(&c, two, sizeof(two) - 1), 0);
	for (int i = 0; i < 2; i++) {
		json_object *j = hx_recv_json(&c);
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
		json_object *j = hx_recv_json(&c);
		ck_assert_int_eq(jpath_int(j, "id", -1), 3);
		json_object_put(j);
	}
	ck_assert_int_eq(tconn_send(&c, "\"method\":\"daemon.ping\",\"id\":4}"), 0);
	{
		json_object *j = hx_recv_json(&c);
		ck_assert_int_eq(jpath_int(j, "id", -1), 4);
		ck_assert_int_eq(reply_error_code(j), 0);
		json_object_put(j);
	}
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

START_TEST(blank_lines_and_crlf)
{
	struct sbd d;
	struct tconn c;
	json_object *j;
	int base;

	hx_start(&d, NULL);
	base = hx_baseline_fds(&d);
	hx_open_conn(&c, &d);
	/* Blank lines are not messages: no reply to them. */
	ck_assert_int_eq(write_str(&c, "\n\n   \n\t\n\r\n"), 0);
	expect_nothing_then_marker(&c);
	/* CRLF ends a message as well. */
	ck_assert_int_eq(write_str(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"crlf\"}\r\n"), 0);
	j = hx_recv_json(&c);
	ck_assert_int_eq(reply_error_code(j), 0);
	ck_assert_str_eq(jpath_str(j, "id"), "crlf");
	json_object_put(j);
	/* Blank lines between glued requests. */
	ck_assert_int_eq(write_str(&c, "\r\n{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":5}\r\n\n \n"), 0);
	j = hx_recv_json(&c);
	ck_assert_int_eq(jpath_int(j, "id", -1), 5);
	json_object_put(j);
	expect_nothing_then_marker(&c);
	tconn_close(&c);
	hx_check_recovered(&d, base);
	hx_stop(&d);
}
END_TEST

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
	return hx_main(suite());
}
