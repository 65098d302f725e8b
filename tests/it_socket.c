/* Integration: the socket API through the real daemon (issue 3). The seeds'
 * examples (echo over IPv4 by handles and by a passed descriptor, UDP,
 * descriptor passing over an AF_UNIX pair, a netlink route dump, raw capture,
 * AF_ALG sha256, AF_CAN on vcan, a dual-stack server), timeouts, parked
 * operations, options, pass/fd/detach/adopt and bad input. Every test ends
 * with the daemon serving and its descriptor count back at the baseline taken
 * before the test's sockets existed; waits are bounded round trips or waits on
 * an event, never sleeps. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/can.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hx.h"

#define T_MS 10000

/* ---- the test's daemon and client (what a test allocates is held until teardown) ---- */

static struct sbd D;
static struct tconn C;
static int dirlog_fd = -1;

/* ---- base64 (RFC 4648 with padding) ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char *b64enc(const void *data, size_t n)
{
	const unsigned char *p = data;
	char *out = hx_hold_mem(malloc(4 * ((n + 2) / 3) + 1)), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		*o++ = B64[v >> 18 & 63];
		*o++ = B64[v >> 12 & 63];
		*o++ = i + 1 < n ? B64[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? B64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Decodes s (asserting it is valid); *len gets the length. */
static unsigned char *b64dec(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out = hx_hold_mem(malloc(n / 4 * 3 + 1));
	size_t k = 0;

	ck_assert_msg(n % 4 == 0, "base64 of length %zu: %s", n, s);
	for (size_t i = 0; i < n; i += 4) {
		unsigned v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			const char *c = strchr(B64, s[i + j]);
			if (s[i + j] == '=') {
				pad++;
				v <<= 6;
				continue;
			}
			ck_assert_msg(c && s[i + j] && !pad, "bad base64: %s", s);
			v = v << 6 | (unsigned)(c - B64);
		}
		out[k++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[k++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[k++] = (unsigned char)v;
	}
	*len = k;
	return out;
}

/* ---- requests and replies (matched by id; others are kept for later) ---- */

struct stashed {
	struct tconn *t;
	json_object *j;
};
static struct stashed stash[256];
static size_t nstash;
static unsigned long long next_id;

static bool id_is(json_object *j, const char *id)
{
	json_object *v = jpath(j, "id");

	return v && !json_object_is_type(v, json_type_null) && strcmp(json_object_get_string(v), id) == 0;
}

static const char *request_line(const char *id, const char *method, const char *params)
{
	return hx_fmt("{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"%s\"%s%s}", id, method,
	         params ? ",\"params\":" : "", params ? params : "");
}

/* Sends a request with a string id and does not wait. */
static void send_req(struct tconn *t, const char *id, const char *method, const char *params)
{
	int r = tconn_send(t, request_line(id, method, params));

	ck_assert_msg(r == 0, "send %s: %s", method, strerror(-r));
}

static void send_req_fds(struct tconn *t, const char *id, const char *method, const char *params,
                         const int *fds, size_t nfds)
{
	int r = tconn_send_fds(t, request_line(id, method, params), fds, nfds);

	ck_assert_msg(r == 0, "send %s with descriptors: %s", method, strerror(-r));
}

/* The reply with that id, waiting at most T_MS. */
static json_object *await_reply(struct tconn *t, const char *id)
{
	for (size_t i = 0; i < nstash; i++)
		if (stash[i].t == t && id_is(stash[i].j, id)) {
			json_object *j = stash[i].j;
			stash[i] = stash[--nstash];
			return j;
		}
	for (;;) {
		json_object *j = tconn_recv_json(t, T_MS);
		ck_assert_msg(j != NULL, "no reply with id %s (errno %d %s)", id, errno, strerror(errno));
		hx_hold(j);
		if (id_is(j, id))
			return j;
		ck_assert_msg(nstash < sizeof(stash) / sizeof(stash[0]), "too many stray replies");
		stash[nstash].t = t;
		stash[nstash++].j = j;
	}
}

static json_object *rpc(struct tconn *t, const char *method, const char *params)
{
	const char *id = hx_fmt("%llu", ++next_id);

	send_req(t, id, method, params);
	return await_reply(t, id);
}

static json_object *expect_ok(json_object *reply, const char *what)
{
	json_object *res = jpath(reply, "result");

	ck_assert_msg(res != NULL && reply_error_code(reply) == 0, "%.300s: want a result, got %.600s", what,
	              json_object_to_json_string(reply));
	return res;
}

static json_object *expect_err(json_object *reply, int code, const char *what)
{
	json_object *e = jpath(reply, "error");

	ck_assert_msg(e != NULL && reply_error_code(reply) == code, "%.300s: want error %d, got %.600s", what,
	              code, json_object_to_json_string(reply));
	ck_assert_msg(jpath_str(reply, "error.message") != NULL, "%.300s: error without a message", what);
	return e;
}

/* An OS error (-32000) named name; returns the error object. */
static json_object *expect_os(json_object *reply, const char *name, const char *what)
{
	json_object *e = expect_err(reply, -32000, what);
	const char *got = jpath_str(e, "data.name");

	ck_assert_msg(got && strcmp(got, name) == 0, "%.300s: want %s, got %.600s", what, name,
	              json_object_to_json_string(reply));
	return e;
}

static json_object *ok_(struct tconn *t, const char *method, const char *params)
{
	return expect_ok(rpc(t, method, params), hx_fmt("%s %.300s", method, params));
}

static json_object *err_(struct tconn *t, int code, const char *method, const char *params)
{
	return expect_err(rpc(t, method, params), code, hx_fmt("%s %.300s", method, params));
}

static json_object *os_(struct tconn *t, const char *name, const char *method, const char *params)
{
	return expect_os(rpc(t, method, params), name, hx_fmt("%s %.300s", method, params));
}

#define OK(t, m, ...) ok_((t), (m), hx_fmt(__VA_ARGS__))
#define ERR(t, code, m, ...) err_((t), (code), (m), hx_fmt(__VA_ARGS__))
#define OSERR(t, name, m, ...) os_((t), (name), (m), hx_fmt(__VA_ARGS__))

static long long geti(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);

	ck_assert_msg(v && json_object_is_type(v, json_type_int), "want an integer at %s in %.600s", path,
	              json_object_to_json_string(o));
	return json_object_get_int64(v);
}

static const char *gets_(json_object *o, const char *path)
{
	const char *s = jpath_str(o, path);

	ck_assert_msg(s != NULL, "want a string at %s in %.600s", path, json_object_to_json_string(o));
	return s;
}

static double getd(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);

	ck_assert_msg(v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)),
	              "want a number at %s in %.600s", path, json_object_to_json_string(o));
	return json_object_get_double(v);
}

static void expect_str(json_object *o, const char *path, const char *want)
{
	const char *s = gets_(o, path);

	ck_assert_msg(strcmp(s, want) == 0, "%s: want \"%s\", got \"%s\" in %.600s", path, want, s,
	              json_object_to_json_string(o));
}

/* The one descriptor a reply brought (t->fds), claimed by the caller. */
static int take_fd(struct tconn *t)
{
	int fd;

	ck_assert_msg(t->nfds == 1, "want one descriptor received, have %zu", t->nfds);
	fd = t->fds[0];
	t->nfds = 0;
	return fd;
}

/* ---- descriptor accounting ---- */

static void ping(struct tconn *t)
{
	json_object *r = OK(t, "daemon.ping", "{}");

	ck_assert(json_object_get_boolean(jpath(r, "pong")));
}

/* The daemon's descriptors now, after a round trip on C. */
static int fd_base(void)
{
	int n;

	ping(&C);
	n = sbd_fd_count(&D);
	ck_assert_int_gt(n, 0);
	return n;
}

/* The daemon serves C and its descriptor count comes back to base, with
 * bounded round trips in between (closes of other clients are processed in
 * the loop's order). */
static void fd_back(int base)
{
	int n = -1;

	for (int i = 0; i < 200; i++) {
		ping(&C);
		n = sbd_fd_count(&D);
		if (n == base)
			break;
	}
	ck_assert_msg(n == base, "the daemon has %d descriptors, want %d", n, base);
}

/* ---- fixture ---- */

static void note_daemon(const struct sbd *d)
{
	if (dirlog_fd >= 0 && d->dir[0]) {
		char line[320];
		int n = snprintf(line, sizeof(line), "%d %s\n", (int)d->pid, d->dir);
		/* One short write to a pipe is atomic; losing it only costs the sweep. */
		if (n > 0 && n < (int)sizeof(line) && write(dirlog_fd, line, (size_t)n) < 0)
			n = 0;
	}
}

static void start(struct sbd *d, const char *const *args)
{
	int r = sbd_start(d, args);

	note_daemon(d);
	ck_assert_msg(r == 0, "the daemon did not start: %s", strerror(-r));
}

static void open_conn(struct tconn *t)
{
	int r = tconn_open(t, D.sock);

	ck_assert_msg(r == 0, "connect: %s", strerror(-r));
}

static void setup(void)
{
	start(&D, NULL);
	open_conn(&C);
}

static void teardown(void)
{
	tconn_close(&C);
	for (size_t i = 0; i < nstash; i++)
		stash[i].j = NULL;
	nstash = 0;
	hx_release_all();
	ck_assert_int_eq(sbd_stop(&D), 0);
}

/* ---- small socket helpers ---- */

static long long new_handle(struct tconn *t, const char *params)
{
	json_object *r = ok_(t, "socket.create", params);

	return geti(r, "handle");
}

static void close_handle(struct tconn *t, long long h)
{
	json_object *r = OK(t, "socket.close", "{\"handle\":%lld}", h);

	ck_assert_int_eq(json_object_object_length(r), 0);
}

static int local_port(struct tconn *t, long long h)
{
	json_object *r = OK(t, "socket.getsockname", "{\"handle\":%lld}", h);

	return (int)geti(r, "address.port");
}

/* Receives exactly n bytes on a stream handle (several recvs if need be). */
static void recv_exact(struct tconn *t, long long h, const void *want, size_t n)
{
	unsigned char got[4096];
	size_t have = 0;

	ck_assert(n <= sizeof(got));
	for (int i = 0; i < 100 && have < n; i++) {
		json_object *r = OK(t, "socket.recv", "{\"handle\":%lld,\"bufsize\":%zu}", h, n - have);
		size_t k;
		unsigned char *d = b64dec(gets_(r, "data"), &k);
		ck_assert_msg(k > 0, "recv on %lld: EOF after %zu of %zu bytes", h, have, n);
		memcpy(got + have, d, k);
		have += k;
	}
	ck_assert_int_eq(have, n);
	ck_assert_msg(memcmp(got, want, n) == 0, "recv on %lld: other bytes than sent", h);
}

static void wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, T_MS);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == 1, "descriptor %d not ready for %d within %d ms", fd, ev, T_MS);
}

static bool daemon_has_ipv6(void)
{
	json_object *r = OK(&C, "daemon.info", "{}");
	json_object *v = jpath(r, "has_ipv6");

	ck_assert_msg(v && json_object_is_type(v, json_type_boolean), "daemon.info has no has_ipv6");
	return json_object_get_boolean(v);
}

/* A loopback listener (through the daemon, backlog 0) whose accept queue is
 * full, so that the next SYN to it is dropped: a blackhole on 127.0.0.1 only.
 * Filled with plain connects from the test, each waited for (an event); the
 * queue's fill is read from the listener's TCP_INFO (tcpi_unacked is the
 * queue's length, tcpi_sacked its limit) after every connect. */
struct blackhole {
	long long h;
	int port;
	int fds[10];
	int n;
};

static void blackhole_open(struct tconn *t, struct blackhole *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool full = false;

	memset(b, 0, sizeof(*b));
	b->h = new_handle(t, "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	OK(t, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", b->h);
	OK(t, "socket.listen", "{\"handle\":%lld,\"backlog\":0}", b->h);
	b->port = local_port(t, b->h);
	sin.sin_port = htons((uint16_t)b->port);
	for (int i = 0; i <= 10; i++) {
		json_object *r = OK(t, "socket.getsockopt",
		                    "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_INFO\"}", b->h);
		int fd, e = 0;
		socklen_t l = sizeof(e);

		expect_str(r, "value.state", "TCP_LISTEN");
		if (geti(r, "value.unacked") > geti(r, "value.sacked")) {
			full = true;
			break;
		}
		if (i == 10)
			break;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		b->fds[b->n++] = fd;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			ck_assert_msg(errno == EINPROGRESS, "connect to 127.0.0.1:%d: %s", b->port, strerror(errno));
			wait_fd(fd, POLLOUT);
			ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l), 0);
			ck_assert_msg(e == 0, "connect to the listener: %s", strerror(e));
		}
	}
	ck_assert_msg(full, "the listener's queue did not fill with %d connections", b->n);
}

static void blackhole_close(struct tconn *t, struct blackhole *b)
{
	for (int i = 0; i < b->n; i++)
		close(b->fds[i]);
	b->n = 0;
	close_handle(t, b->h);
}

/* The handles socket.list shows, in an array of n (asserting at most max). */
static size_t list_handles(struct tconn *t, long long *out, size_t max)
{
	json_object *r = OK(t, "socket.list", "{}");
	json_object *a = jpath(r, "sockets");
	size_t n;

	ck_assert_msg(a && json_object_is_type(a, json_type_array), "socket.list: %s",
	              json_object_to_json_string(r));
	n = json_object_array_length(a);
	ck_assert(n <= max);
	for (size_t i = 0; i < n; i++)
		out[i] = geti(json_object_array_get_idx(a, i), "handle");
	return n;
}

static bool has(const long long *a, size_t n, long long h)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == h)
			return true;
	return false;
}

/* ---- 1. echo server and client, IPv4, by handles ---- */

START_TEST(echo_ipv4_handles)
{
	int base = fd_base();
	json_object *r, *a, *b;
	long long hl, hc, hs, hs_list[16];
	int port, cport;
	size_t n;

	r = OK(&C, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = geti(r, "handle");
	expect_str(r, "local.host", "127.0.0.1");
	port = (int)geti(r, "local.port");
	ck_assert_int_gt(port, 0);
	ck_assert_msg(jpath(r, "fds") == NULL, "no descriptor without pass: %s", json_object_to_json_string(r));

	r = OK(&C, "socket.create", "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	hc = geti(r, "handle");
	expect_str(r, "family", "AF_INET");
	expect_str(r, "type", "SOCK_STREAM");
	ck_assert_msg(hc != hl, "handles must differ");

	r = OK(&C, "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
	ck_assert_int_eq(json_object_object_length(r), 0);
	cport = local_port(&C, hc);

	r = OK(&C, "socket.accept", "{\"handle\":%lld}", hl);
	hs = geti(r, "handle");
	expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(geti(r, "peer.port"), cport);

	r = OK(&C, "socket.sendall", "{\"handle\":%lld,\"text\":\"hello\"}", hc);
	ck_assert_int_eq(geti(r, "sent"), 5);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":1024}", hs);
	expect_str(r, "data", "aGVsbG8=");
	r = OK(&C, "socket.sendall", "{\"handle\":%lld,\"data\":\"aGVsbG8=\"}", hs);
	ck_assert_int_eq(geti(r, "sent"), 5);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":1024}", hc);
	expect_str(r, "data", "aGVsbG8=");

	/* Names agree from both ends. */
	a = OK(&C, "socket.getsockname", "{\"handle\":%lld}", hc);
	b = OK(&C, "socket.getpeername", "{\"handle\":%lld}", hs);
	ck_assert_msg(json_object_equal(jpath(a, "address"), jpath(b, "address")), "client name %s, server's peer %s",
	              json_object_to_json_string(a), json_object_to_json_string(b));
	a = OK(&C, "socket.getpeername", "{\"handle\":%lld}", hc);
	b = OK(&C, "socket.getsockname", "{\"handle\":%lld}", hs);
	ck_assert_msg(json_object_equal(jpath(a, "address"), jpath(b, "address")), "client peer %s, server name %s",
	              json_object_to_json_string(a), json_object_to_json_string(b));
	ck_assert_int_eq(geti(a, "address.port"), port);

	r = OK(&C, "socket.info", "{\"handle\":%lld}", hc);
	ck_assert_int_eq(geti(r, "handle"), hc);
	expect_str(r, "family", "AF_INET");
	expect_str(r, "type", "SOCK_STREAM");
	ck_assert_msg(jpath(r, "proto") != NULL, "info without proto");
	expect_str(r, "local.host", "127.0.0.1");
	ck_assert_int_eq(geti(r, "local.port"), cport);
	expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(geti(r, "peer.port"), port);
	ck_assert_int_eq(geti(r, "bytes_out"), 5);
	ck_assert_int_eq(geti(r, "bytes_in"), 5);
	ck_assert_int_eq(geti(r, "pending"), 0);
	ck_assert_msg(json_object_object_get_ex(r, "timeout", &a) && a == NULL, "timeout not null: %s",
	              json_object_to_json_string(r));
	ck_assert(json_object_get_boolean(jpath(r, "blocking")));
	ck_assert_msg(getd(r, "created") > 1e9, "created is not a wall-clock time");
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert(json_object_get_boolean(jpath(r, "listening")));
	ck_assert_msg(jpath(r, "peer") == NULL, "a listener has no peer: %s", json_object_to_json_string(r));

	n = list_handles(&C, hs_list, 16);
	ck_assert_int_eq(n, 3);
	ck_assert(has(hs_list, n, hl) && has(hs_list, n, hc) && has(hs_list, n, hs));

	/* shutdown(SHUT_WR): the other end reads EOF (b""), and can still send. */
	ERR(&C, -32602, "socket.shutdown", "{\"handle\":%lld,\"how\":\"SHUT_BOGUS\"}", hc);
	OK(&C, "socket.shutdown", "{\"handle\":%lld,\"how\":\"SHUT_WR\"}", hc);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", hs);
	expect_str(r, "data", "");
	OK(&C, "socket.sendall", "{\"handle\":%lld,\"text\":\"late\"}", hs);
	recv_exact(&C, hc, "late", 4);
	OSERR(&C, "EPIPE", "socket.send", "{\"handle\":%lld,\"text\":\"x\"}", hc);

	close_handle(&C, hc);
	close_handle(&C, hs);
	close_handle(&C, hl);
	n = list_handles(&C, hs_list, 16);
	ck_assert_int_eq(n, 0);
	r = ERR(&C, -32011, "socket.info", "{\"handle\":%lld}", hc);
	ck_assert_int_eq(geti(r, "data.handle"), hc);
	ERR(&C, -32011, "socket.recv", "{\"handle\":%lld,\"bufsize\":1}", hs);
	ERR(&C, -32011, "socket.close", "{\"handle\":%lld}", hl);
	fd_back(base);
}
END_TEST

/* ---- 2. accept parks; replies out of order ---- */

START_TEST(accept_parks)
{
	int base = fd_base();
	json_object *r, *acc, *con;
	long long hl, hc;
	int port;

	r = OK(&C, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = geti(r, "handle");
	port = (int)geti(r, "local.port");
	send_req(&C, "acc", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	/* Answered while the accept waits: the accept is parked, not blocking. */
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(geti(r, "pending"), 1);
	hc = new_handle(&C, "{}");
	send_req(&C, "con", "socket.connect",
	         hx_fmt("{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\",\"port\":%d}}", hc, port));
	con = expect_ok(await_reply(&C, "con"), "connect");
	ck_assert_int_eq(json_object_object_length(con), 0);
	acc = expect_ok(await_reply(&C, "acc"), "parked accept");
	expect_str(acc, "peer.host", "127.0.0.1");
	ck_assert_int_eq(geti(acc, "peer.port"), local_port(&C, hc));
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(geti(r, "pending"), 0);
	r = OK(&C, "socket.sendall", "{\"handle\":%lld,\"text\":\"x\"}", geti(acc, "handle"));
	recv_exact(&C, hc, "x", 1);
	close_handle(&C, geti(acc, "handle"));
	close_handle(&C, hc);
	close_handle(&C, hl);
	fd_back(base);
}
END_TEST

/* ---- 3. the echo with a passed listener ---- */

/* A daemon TCP socket (its handle) connected by socket.connect_to to a
 * listener of ours (*lfd), whose accepted end is *sfd. */
static long long connected_handle(int *lfd, int *sfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	long long h;

	*lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*lfd, 0);
	ck_assert_int_eq(bind(*lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(*lfd, 1), 0);
	ck_assert_int_eq(getsockname(*lfd, (struct sockaddr *)&a, &al), 0);
	h = geti(OK(&C, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", ntohs(a.sin_port)), "handle");
	*sfd = accept4(*lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*sfd, 0);
	return h;
}

/* A socket closed by a request while data for its parked recv arrives:
 * SIGSTOP holds the daemon so that both wait for one epoll batch. The close
 * wins (it came first), the recv fails EBADF, and the daemon goes on; the
 * socket's memory is freed only after the batch (the ASan build checks). */
START_TEST(close_in_same_batch)
{
	int base = fd_base();
	int lfd, sfd, st;
	long long hc = connected_handle(&lfd, &sfd);

	/* A parked recv puts the socket in the daemon's epoll set; the ping's
	 * answer says the recv was read first. */
	send_req(&C, "parked", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":4}", hc));
	ping(&C);
	ck_assert_int_eq(kill(D.pid, SIGSTOP), 0);
	ck_assert_int_eq(waitpid(D.pid, &st, WUNTRACED), D.pid);
	ck_assert(WIFSTOPPED(st));
	send_req(&C, "close", "socket.close", hx_fmt("{\"handle\":%lld}", hc));
	ck_assert_int_eq(send(sfd, "data", 4, MSG_NOSIGNAL), 4);
	ck_assert_int_eq(kill(D.pid, SIGCONT), 0);
	expect_ok(await_reply(&C, "close"), "socket.close");
	expect_os(await_reply(&C, "parked"), "EBADF", "the parked recv of a closed socket");
	ping(&C);
	close(sfd);
	close(lfd);
	fd_back(base);
}
END_TEST

/* A socket reset by its peer while nobody waits on it must not keep the
 * loop busy: EPOLLERR/EPOLLHUP come whatever the interest, so an idle socket
 * leaves the epoll set. Counted through admin.stats' loop_events across a
 * parked 0.2 s ping (a spinning loop delivers thousands). */
START_TEST(reset_socket_stays_quiet)
{
	int base = fd_base();
	struct linger lg = { 1, 0 };
	long long before, after;
	json_object *r;
	int lfd, sfd;
	/* connect_to waits for EPOLLOUT, so the socket has been in the epoll set. */
	long long hc = connected_handle(&lfd, &sfd);

	ck_assert_int_eq(setsockopt(sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(sfd);
	/* The reset has arrived once a recv reports it. */
	OSERR(&C, "ECONNRESET", "socket.recv", "{\"handle\":%lld,\"bufsize\":4}", hc);
	before = geti(OK(&C, "admin.stats", "{}"), "server.loop_events");
	r = OK(&C, "daemon.ping", "{\"delay\":0.2}");
	ck_assert(json_object_get_boolean(jpath(r, "pong")));
	after = geti(OK(&C, "admin.stats", "{}"), "server.loop_events");
	ck_assert_msg(after - before < 50, "%lld descriptor events in a quiet 0.2 s: the loop spins", after - before);
	close_handle(&C, hc);
	close(lfd);
	fd_back(base);
}
END_TEST

START_TEST(echo_passed_listener)
{
	int base = fd_base();
	json_object *r;
	int lfd, sfd, port, fl, e;
	long long hc;
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer), l = sizeof(e);
	char buf[16];

	r = OK(&C, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0],\"pass\":true}");
	ck_assert_int_eq(geti(r, "fds"), 1);
	ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle: %s", json_object_to_json_string(r));
	port = (int)geti(r, "local.port");
	lfd = take_fd(&C);
	fl = fcntl(lfd, F_GETFL);
	ck_assert_msg(fl >= 0 && !(fl & O_NONBLOCK), "a passed socket is in blocking mode");
	ck_assert_int_eq(getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &e, &l), 0);
	ck_assert_int_eq(e, 1);
	/* The daemon keeps no copy. */
	ck_assert_int_eq(list_handles(&C, (long long[4]){ 0 }, 4), 0);
	fd_back(base);

	r = OK(&C, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", port);
	hc = geti(r, "handle");
	expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(geti(r, "peer.port"), port);
	expect_str(r, "local.host", "127.0.0.1");
	wait_fd(lfd, POLLIN);
	sfd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(ntohs(peer.sin_port), geti(r, "local.port"));

	r = OK(&C, "socket.sendall", "{\"handle\":%lld,\"text\":\"ping\"}", hc);
	ck_assert_int_eq(geti(r, "sent"), 4);
	{
		size_t have = 0;
		for (int i = 0; i < 10 && have < 4; i++) {
			ssize_t k;
			wait_fd(sfd, POLLIN);
			k = recv(sfd, buf + have, 4 - have, 0);
			ck_assert_int_gt(k, 0);
			have += (size_t)k;
		}
		ck_assert_int_eq(have, 4);
		ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	}
	ck_assert_int_eq(send(sfd, "pong", 4, MSG_NOSIGNAL), 4);
	recv_exact(&C, hc, "pong", 4);
	close(sfd);
	close(lfd);
	/* The peer closed: recv gives b"" (EOF). */
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", hc);
	expect_str(r, "data", "");
	close_handle(&C, hc);
	fd_back(base);

	/* connect_to and accept with pass, against a daemon-owned listener. */
	{
		long long hl;
		int cfd, afd;
		r = OK(&C, "socket.listen_on", "{\"address\":{\"host\":\"127.0.0.1\",\"port\":0},\"backlog\":5}");
		hl = geti(r, "handle");
		port = (int)geti(r, "local.port");
		r = OK(&C, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d],\"pass\":true,\"timeout\":5}", port);
		ck_assert_int_eq(geti(r, "fds"), 1);
		ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle: %s", json_object_to_json_string(r));
		ck_assert_int_eq(geti(r, "peer.port"), port);
		cfd = take_fd(&C);
		fl = fcntl(cfd, F_GETFL);
		ck_assert_msg(fl >= 0 && !(fl & O_NONBLOCK), "a passed connection is in blocking mode");
		r = OK(&C, "socket.accept", "{\"handle\":%lld,\"pass\":true}", hl);
		ck_assert_int_eq(geti(r, "fds"), 1);
		ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle: %s", json_object_to_json_string(r));
		afd = take_fd(&C);
		ck_assert_int_eq(send(cfd, "abc", 3, MSG_NOSIGNAL), 3);
		ck_assert_int_eq(recv(afd, buf, 3, MSG_WAITALL), 3);
		ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
		close(cfd);
		close(afd);
		/* Only the listener is a handle. */
		ck_assert_int_eq(list_handles(&C, (long long[4]){ 0 }, 4), 1);

		/* connect_ex: 0 on success; the errno, not an error, when refused. */
		hc = new_handle(&C, "{}");
		r = OK(&C, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
		ck_assert_int_eq(geti(r, "errno"), 0);
		close_handle(&C, hc);
		r = OK(&C, "socket.accept", "{\"handle\":%lld}", hl);
		close_handle(&C, geti(r, "handle"));
		close_handle(&C, hl);
		/* The port is free now (nothing listens): refused. */
		hc = new_handle(&C, "{}");
		r = OK(&C, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
		ck_assert_int_eq(geti(r, "errno"), ECONNREFUSED);
		expect_str(r, "name", "ECONNREFUSED");
		close_handle(&C, hc);
		hc = new_handle(&C, "{}");
		OSERR(&C, "ECONNREFUSED", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", hc, port);
		close_handle(&C, hc);
		OSERR(&C, "ECONNREFUSED", "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", port);
		ck_assert_int_eq(list_handles(&C, (long long[4]){ 0 }, 4), 0);
		fd_back(base);
	}
}
END_TEST

/* ---- AF_UNIX listeners and addresses ---- */

START_TEST(unix_listener_and_abstract)
{
	int base = fd_base();
	json_object *r;
	long long hl, hc, hs, hx;
	const char *path = hx_fmt("%s/echo.sock", D.dir);
	const char *abs = hx_fmt("sbtest-%d-%lld", (int)getpid(), hx_mono_ms());

	r = OK(&C, "socket.listen_on", "{\"family\":\"AF_UNIX\",\"address\":\"%s\"}", path);
	hl = geti(r, "handle");
	expect_str(r, "local.path", path);
	r = OK(&C, "socket.create", "{\"family\":\"AF_UNIX\"}");
	hc = geti(r, "handle");
	OK(&C, "socket.connect", "{\"handle\":%lld,\"address\":{\"path\":\"%s\"}}", hc, path);
	r = OK(&C, "socket.accept", "{\"handle\":%lld}", hl);
	hs = geti(r, "handle");
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hs);
	expect_str(r, "family", "AF_UNIX");
	expect_str(r, "local.path", path);
	r = OK(&C, "socket.getpeername", "{\"handle\":%lld}", hc);
	expect_str(r, "address.path", path);
	OK(&C, "socket.sendall", "{\"handle\":%lld,\"text\":\"unix\"}", hc);
	recv_exact(&C, hs, "unix", 4);
	close_handle(&C, hs);
	close_handle(&C, hc);
	close_handle(&C, hl);
	unlink(path);

	/* An abstract name, both ways. */
	hx = new_handle(&C, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":{\"abstract\":\"%s\"}}", hx, abs);
	r = OK(&C, "socket.getsockname", "{\"handle\":%lld}", hx);
	expect_str(r, "address.abstract", abs);
	hc = new_handle(&C, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	r = OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"abs\",\"address\":{\"abstract\":\"%s\"}}", hc, abs);
	ck_assert_int_eq(geti(r, "sent"), 3);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", hx);
	expect_str(r, "data", "YWJz");
	/* Binding the same abstract name again: EADDRINUSE. */
	OSERR(&C, "EADDRINUSE", "socket.bind", "{\"handle\":%lld,\"address\":{\"abstract\":\"%s\"}}", hc, abs);
	close_handle(&C, hc);
	close_handle(&C, hx);
	fd_back(base);
}
END_TEST

/* A datagram with a descriptor to a UNIX path: sent as the caller, off the
 * loop, with the daemon's own duplicate of the descriptor, which it closes
 * once the message is out (the pipe reaches EOF when ours and the receiver's
 * copies close). */
START_TEST(unix_sendmsg_to_path_passes_fd)
{
	int base = fd_base();
	json_object *r;
	long long hr, hs;
	int p[2], got;
	char c = 0;
	const char *path = hx_fmt("%s/dgram.sock", D.dir);

	hr = new_handle(&C, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":{\"path\":\"%s\"}}", hr, path);
	hs = new_handle(&C, "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	send_req_fds(&C, "smp", "socket.sendmsg",
	             hx_fmt("{\"handle\":%lld,\"buffers\":[\"eA==\"],\"address\":{\"path\":\"%s\"},\"fds\":1}", hs, path),
	             &p[1], 1);
	r = expect_ok(await_reply(&C, "smp"), "sendmsg to a path with a descriptor");
	ck_assert_int_eq(geti(r, "sent"), 1);
	close(p[1]);
	r = OK(&C, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16,\"ancbufsize\":64}", hr);
	expect_str(r, "data", "eA==");
	ck_assert_int_eq(geti(r, "fds"), 1);
	got = take_fd(&C);
	ck_assert_int_eq(write(got, "Z", 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'Z');
	close(got);
	/* No copy left in the daemon. */
	wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);
	/* Relative and non-canonical paths are refused before anything is sent. */
	ERR(&C, -32602, "socket.sendto", "{\"handle\":%lld,\"text\":\"x\",\"address\":{\"path\":\"%s/../dgram.sock\"}}",
	    hs, D.dir);
	ERR(&C, -32602, "socket.connect", "{\"handle\":%lld,\"address\":{\"path\":\"dgram.sock\"}}", hs);
	close_handle(&C, hs);
	close_handle(&C, hr);
	unlink(path);
	fd_back(base);
}
END_TEST

/* ---- 4. UDP sendto / recvfrom ---- */

START_TEST(udp_sendto_recvfrom)
{
	int base = fd_base();
	json_object *r;
	long long ha, hb;
	int pa, pb;

	ha = new_handle(&C, "{\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}");
	hb = new_handle(&C, "{\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}");
	r = OK(&C, "socket.info", "{\"handle\":%lld}", ha);
	expect_str(r, "type", "SOCK_DGRAM");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", ha);
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\",\"port\":0}}", hb);
	pa = local_port(&C, ha);
	pb = local_port(&C, hb);
	r = OK(&C, "socket.sendto", "{\"handle\":%lld,\"data\":\"dWRwIQ==\",\"address\":[\"127.0.0.1\",%d]}", ha, pb);
	ck_assert_int_eq(geti(r, "sent"), 4);
	r = OK(&C, "socket.recvfrom", "{\"handle\":%lld,\"bufsize\":100}", hb);
	expect_str(r, "data", "dWRwIQ==");
	expect_str(r, "address.host", "127.0.0.1");
	ck_assert_int_eq(geti(r, "address.port"), pa);
	/* And back, with text. */
	r = OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"back\",\"address\":{\"host\":\"127.0.0.1\",\"port\":%d}}",
	       hb, pa);
	ck_assert_int_eq(geti(r, "sent"), 4);
	r = OK(&C, "socket.recvfrom", "{\"handle\":%lld,\"bufsize\":100}", ha);
	expect_str(r, "data", "YmFjaw==");
	ck_assert_int_eq(geti(r, "address.port"), pb);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(geti(r, "bytes_out"), 4);
	ck_assert_int_eq(geti(r, "bytes_in"), 4);
	close_handle(&C, ha);
	close_handle(&C, hb);
	fd_back(base);
}
END_TEST

/* ---- 5. AF_UNIX pair passing a descriptor with sendmsg / recvmsg ---- */

START_TEST(unix_pair_passes_fd)
{
	int base = fd_base();
	json_object *r;
	long long a, b;
	int p[2], got;
	char c = 0;
	struct pollfd pf;

	r = OK(&C, "socket.pair", "{}");
	a = geti(r, "handles.0");
	b = geti(r, "handles.1");
	expect_str(r, "family", "AF_UNIX");
	ck_assert(a != b);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	send_req_fds(&C, "sm", "socket.sendmsg", hx_fmt("{\"handle\":%lld,\"buffers\":[\"eA==\"],\"fds\":1}", a), &p[1], 1);
	r = expect_ok(await_reply(&C, "sm"), "sendmsg with a descriptor");
	ck_assert_int_eq(geti(r, "sent"), 1);
	close(p[1]);

	r = OK(&C, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16,\"ancbufsize\":64}", b);
	expect_str(r, "data", "eA==");
	ck_assert_int_eq(geti(r, "fds"), 1);
	ck_assert_msg(json_object_is_type(jpath(r, "ancdata"), json_type_array), "ancdata: %s",
	              json_object_to_json_string(r));
	got = take_fd(&C);
	ck_assert_int_eq(write(got, "Z", 1), 1);
	wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'Z');
	close(got);
	/* Every write end is gone: the daemon kept no copy of the pipe. */
	wait_fd(p[0], POLLIN);
	pf.fd = p[0];
	pf.events = POLLIN;
	ck_assert_int_eq(poll(&pf, 1, 0), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);

	/* Both ways: a descriptor sent from b arrives on a too. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	send_req_fds(&C, "sm2", "socket.sendmsg", hx_fmt("{\"handle\":%lld,\"buffers\":[\"eQ==\",\"eg==\"],\"fds\":1}", b),
	             &p[0], 1);
	r = expect_ok(await_reply(&C, "sm2"), "sendmsg with two buffers");
	ck_assert_int_eq(geti(r, "sent"), 2);
	close(p[0]);
	r = OK(&C, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16}", a);
	expect_str(r, "data", "eXo=");
	ck_assert_int_eq(geti(r, "fds"), 1);
	got = take_fd(&C);
	ck_assert_int_eq(write(p[1], "Q", 1), 1);
	ck_assert_int_eq(read(got, &c, 1), 1);
	ck_assert_int_eq(c, 'Q');
	close(got);
	close(p[1]);

	/* Sixteen descriptors in one message (the default per-message limit),
	 * each arriving as its own descriptor. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	{
		int many[16];
		for (int i = 0; i < 16; i++)
			many[i] = p[1];
		send_req_fds(&C, "sm16", "socket.sendmsg", hx_fmt("{\"handle\":%lld,\"buffers\":[\"MTY=\"],\"fds\":16}", a),
		             many, 16);
	}
	expect_ok(await_reply(&C, "sm16"), "sendmsg with 16 descriptors");
	close(p[1]);
	r = OK(&C, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16}", b);
	expect_str(r, "data", "MTY=");
	ck_assert_int_eq(geti(r, "fds"), 16);
	ck_assert_int_eq(C.nfds, 16);
	ck_assert_msg(jpath(r, "msg_flags") != NULL, "recvmsg without msg_flags");
	for (size_t i = 0; i < C.nfds; i++)
		close(C.fds[i]);
	C.nfds = 0;
	wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	close(p[0]);

	/* Descriptors travel only as the request's own: an SCM_RIGHTS entry in
	 * ancdata is refused, and so is SCM_CREDENTIALS. */
	ERR(&C, -32602, "socket.sendmsg",
	    "{\"handle\":%lld,\"buffers\":[\"eA==\"],\"ancdata\":[{\"level\":\"SOL_SOCKET\",\"type\":\"SCM_RIGHTS\",\"data\":\"AAAAAA==\"}]}", a);
	ERR(&C, -32602, "socket.sendmsg",
	    "{\"handle\":%lld,\"buffers\":[\"eA==\"],\"ancdata\":[{\"level\":\"SOL_SOCKET\",\"type\":\"SCM_CREDENTIALS\",\"data\":\"AAAAAAAAAAAAAAAA\"}]}", a);
	/* Nothing went out. */
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", b);
	OSERR(&C, "EAGAIN", "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":16}", b);

	close_handle(&C, a);
	close_handle(&C, b);
	fd_back(base);
}
END_TEST

/* ---- 6. AF_NETLINK route socket: the interface list ---- */

START_TEST(netlink_getlink)
{
	int base = fd_base();
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifm;
	} req;
	json_object *r;
	long long h;
	bool done = false, lo = false;
	int names = 0;

	r = OK(&C, "socket.create", "{\"family\":\"AF_NETLINK\",\"type\":\"SOCK_RAW\",\"proto\":0}");
	h = geti(r, "handle");
	expect_str(r, "family", "AF_NETLINK");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":{\"pid\":0,\"groups\":0}}", h);
	r = OK(&C, "socket.getsockname", "{\"handle\":%lld}", h);
	ck_assert_int_gt(geti(r, "address.pid"), 0);
	ck_assert_int_eq(geti(r, "address.groups"), 0);
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":5}", h);

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 4242;
	req.ifm.ifi_family = AF_UNSPEC;
	r = OK(&C, "socket.send", "{\"handle\":%lld,\"data\":\"%s\"}", h, b64enc(&req, req.nh.nlmsg_len));
	ck_assert_int_eq(geti(r, "sent"), req.nh.nlmsg_len);

	for (int i = 0; i < 100 && !done; i++) {
		size_t len;
		unsigned char *buf;
		struct nlmsghdr *nh;
		int left;

		r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":65536}", h);
		buf = b64dec(gets_(r, "data"), &len);
		ck_assert_msg(len > 0, "netlink: empty read");
		left = (int)len;
		for (nh = (struct nlmsghdr *)(void *)buf; NLMSG_OK(nh, (unsigned)left); nh = NLMSG_NEXT(nh, left)) {
			struct ifinfomsg *ifm;
			struct rtattr *rta;
			int alen;

			ck_assert_int_eq(nh->nlmsg_seq, 4242);
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			ck_assert_msg(nh->nlmsg_type != NLMSG_ERROR, "netlink answered an error");
			if (nh->nlmsg_type != RTM_NEWLINK)
				continue;
			ifm = NLMSG_DATA(nh);
			alen = (int)IFLA_PAYLOAD(nh);
			for (rta = IFLA_RTA(ifm); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
				if (rta->rta_type != IFLA_IFNAME)
					continue;
				names++;
				if (strncmp(RTA_DATA(rta), "lo", RTA_PAYLOAD(rta)) == 0 && RTA_PAYLOAD(rta) == 3)
					lo = true;
			}
		}
	}
	ck_assert_msg(done, "no NLMSG_DONE after 100 reads");
	ck_assert_int_gt(names, 0);
	ck_assert_msg(lo, "\"lo\" is not among the %d interfaces", names);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", h);
	ck_assert_int_gt(geti(r, "bytes_in"), 0);
	close_handle(&C, h);
	fd_back(base);
}
END_TEST

/* ---- 7. a raw socket captures a packet sent over loopback ---- */

START_TEST(raw_capture)
{
	int base, tx, rx, found = 0;
	long long h;
	json_object *r;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sin);
	char payload[64];

	if (geteuid() != 0) {
		printf("SKIP: raw capture needs root\n");
		return;
	}
	base = fd_base();
	r = OK(&C, "socket.create", "{\"family\":\"AF_INET\",\"type\":\"SOCK_RAW\",\"proto\":\"IPPROTO_UDP\"}");
	h = geti(r, "handle");
	expect_str(r, "type", "SOCK_RAW");
	expect_str(r, "proto", "IPPROTO_UDP");
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":5}", h);
	r = OK(&C, "socket.gettimeout", "{\"handle\":%lld}", h);
	ck_assert(getd(r, "timeout") == 5.0);

	/* A receiver, so that no ICMP error comes back. */
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(rx, 0);
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(rx, (struct sockaddr *)&sin, &l), 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(tx, 0);
	snprintf(payload, sizeof(payload), "sockbroker-raw-%d-%lld", (int)getpid(), hx_mono_ms());
	ck_assert_int_eq(sendto(tx, payload, strlen(payload), 0, (struct sockaddr *)&sin, sizeof(sin)),
	                 (ssize_t)strlen(payload));

	for (int i = 0; i < 200 && !found; i++) {
		size_t len, ihl;
		unsigned char *pkt;

		r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":65536}", h);
		pkt = b64dec(gets_(r, "data"), &len);
		ck_assert_int_ge(len, 28);
		ck_assert_int_eq(pkt[0] >> 4, 4);
		ihl = (size_t)(pkt[0] & 15) * 4;
		ck_assert_int_ge(len, ihl + 8);
		if (len - ihl - 8 == strlen(payload) && memcmp(pkt + ihl + 8, payload, strlen(payload)) == 0) {
			uint16_t dport;
			memcpy(&dport, pkt + ihl + 2, 2);
			ck_assert_int_eq(dport, sin.sin_port);
			found = 1;
		}
	}
	ck_assert_msg(found, "the datagram was not captured");
	close(tx);
	close(rx);
	close_handle(&C, h);
	fd_back(base);
}
END_TEST

/* ---- 8. AF_ALG sha256 ---- */

START_TEST(alg_sha256)
{
	int base = fd_base();
	json_object *reply, *r;
	long long h, op;

	reply = rpc(&C, "socket.create", "{\"family\":\"AF_ALG\",\"type\":\"SOCK_SEQPACKET\"}");
	if (reply_error_code(reply) == -32000 && jpath_str(reply, "error.data.name") &&
	    strcmp(jpath_str(reply, "error.data.name"), "EAFNOSUPPORT") == 0) {
		ck_assert_msg(strstr(gets_(reply, "error.message"), "AF_ALG") != NULL, "message names the family: %s",
		              json_object_to_json_string(reply));
		printf("SKIP: AF_ALG not in this kernel\n");
		fd_back(base);
		return;
	}
	h = geti(expect_ok(reply, "socket.create AF_ALG"), "handle");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":{\"type\":\"hash\",\"name\":\"sha256\"}}", h);
	r = OK(&C, "socket.accept", "{\"handle\":%lld}", h);
	op = geti(r, "handle");
	r = OK(&C, "socket.send", "{\"handle\":%lld,\"text\":\"abc\"}", op);
	ck_assert_int_eq(geti(r, "sent"), 3);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":32}", op);
	/* ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad */
	expect_str(r, "data", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	close_handle(&C, op);
	close_handle(&C, h);
	fd_back(base);
}
END_TEST

/* ---- 9. AF_CAN on a vcan interface ---- */

static int run_quiet(const char *cmd)
{
	char full[256];

	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	return system(full);
}

START_TEST(can_vcan)
{
	int base = fd_base();
	json_object *reply, *r;
	long long a, b;
	struct can_frame f, *g;
	size_t len;

	if (geteuid() != 0) {
		printf("SKIP: AF_CAN on vcan0: creating vcan0 needs root\n");
		fd_back(base);
		return;
	}
	if (run_quiet("ip link add dev vcan0 type vcan") != 0) {
		printf("SKIP: AF_CAN: 'ip link add dev vcan0 type vcan' failed (no vcan module, no ip, or vcan0 exists)\n");
		fd_back(base);
		return;
	}
	if (run_quiet("ip link set dev vcan0 up") != 0) {
		run_quiet("ip link del dev vcan0");
		ck_abort_msg("ip link set dev vcan0 up failed");
	}
	reply = rpc(&C, "socket.create", "{\"family\":\"AF_CAN\",\"type\":\"SOCK_RAW\",\"proto\":\"CAN_RAW\"}");
	if (reply_error_code(reply) == -32000 && jpath_str(reply, "error.data.name") &&
	    strcmp(jpath_str(reply, "error.data.name"), "EAFNOSUPPORT") == 0) {
		run_quiet("ip link del dev vcan0");
		printf("SKIP: AF_CAN: vcan exists but the kernel has no CAN sockets\n");
		fd_back(base);
		return;
	}
	a = geti(expect_ok(reply, "socket.create AF_CAN"), "handle");
	b = new_handle(&C, "{\"family\":\"AF_CAN\",\"type\":\"SOCK_RAW\",\"proto\":1}");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":{\"ifname\":\"vcan0\"}}", a);
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":[\"vcan0\"]}", b);
	r = OK(&C, "socket.getsockname", "{\"handle\":%lld}", a);
	expect_str(r, "address.ifname", "vcan0");
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":5}", b);
	memset(&f, 0, sizeof(f));
	f.can_id = 0x123;
	f.can_dlc = 4;
	memcpy(f.data, "\x01\x02\x03\x04", 4);
	r = OK(&C, "socket.send", "{\"handle\":%lld,\"data\":\"%s\"}", a, b64enc(&f, sizeof(f)));
	ck_assert_int_eq(geti(r, "sent"), sizeof(f));
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":%zu}", b, sizeof(f));
	g = (struct can_frame *)(void *)b64dec(gets_(r, "data"), &len);
	ck_assert_int_eq(len, sizeof(f));
	ck_assert_int_eq(g->can_id, 0x123);
	ck_assert_int_eq(g->can_dlc, 4);
	ck_assert_int_eq(memcmp(g->data, f.data, 4), 0);
	close_handle(&C, a);
	close_handle(&C, b);
	ck_assert_int_eq(run_quiet("ip link del dev vcan0"), 0);
	fd_back(base);
}
END_TEST

/* ---- 10. create_server with dualstack_ipv6 takes IPv4 ---- */

START_TEST(dualstack_accepts_ipv4)
{
	int base = fd_base();
	json_object *r;
	long long hl, hs;
	int port, fd;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (!daemon_has_ipv6()) {
		printf("SKIP: dualstack_ipv6: the daemon reports has_ipv6 false\n");
		fd_back(base);
		return;
	}
	r = OK(&C, "socket.listen_on", "{\"address\":[\"::\",0],\"dualstack_ipv6\":true}");
	hl = geti(r, "handle");
	expect_str(r, "local.host", "::");
	port = (int)geti(r, "local.port");
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hl);
	expect_str(r, "family", "AF_INET6");
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_IPV6\",\"option\":\"IPV6_V6ONLY\"}", hl);
	ck_assert_msg(json_object_get_int(jpath(r, "value")) == 0, "V6ONLY is on: %s", json_object_to_json_string(r));

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "IPv4 connect: %s", strerror(errno));
	r = OK(&C, "socket.accept", "{\"handle\":%lld}", hl);
	hs = geti(r, "handle");
	expect_str(r, "peer.host", "::ffff:127.0.0.1");
	ck_assert_int_eq(geti(r, "peer.flowinfo"), 0);
	ck_assert_int_eq(geti(r, "peer.scope_id"), 0);
	ck_assert_int_eq(send(fd, "v4", 2, MSG_NOSIGNAL), 2);
	recv_exact(&C, hs, "v4", 2);
	close(fd);
	close_handle(&C, hs);
	close_handle(&C, hl);

	/* Without dualstack the IPv6 listener is V6ONLY. */
	r = OK(&C, "socket.listen_on", "{\"address\":[\"::1\",0]}");
	hl = geti(r, "handle");
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_IPV6\",\"option\":\"IPV6_V6ONLY\"}", hl);
	ck_assert_msg(json_object_get_int(jpath(r, "value")) == 1, "V6ONLY is off: %s", json_object_to_json_string(r));
	close_handle(&C, hl);
	/* dualstack with an IPv4 address is refused. */
	ERR(&C, -32602, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0],\"dualstack_ipv6\":true}");
	fd_back(base);
}
END_TEST

/* ---- 11. timeouts ---- */

START_TEST(timeout_accept_recv_nonblocking)
{
	int base = fd_base();
	json_object *r, *e;
	long long hl, a, b, t0, dt;

	r = OK(&C, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = geti(r, "handle");
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.2}", hl);
	r = OK(&C, "socket.gettimeout", "{\"handle\":%lld}", hl);
	ck_assert(getd(r, "timeout") == 0.2);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert(getd(r, "timeout") == 0.2);
	ck_assert(json_object_get_boolean(jpath(r, "blocking")));
	t0 = hx_mono_ms();
	e = ERR(&C, -32003, "socket.accept", "{\"handle\":%lld}", hl);
	dt = hx_mono_ms() - t0;
	ck_assert_msg(getd(e, "data.timeout") == 0.2, "data.timeout: %s", json_object_to_json_string(e));
	ck_assert_msg(dt >= 150 && dt < 5000, "accept timed out after %lld ms, want about 200", dt);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(geti(r, "pending"), 0);

	r = OK(&C, "socket.pair", "{}");
	a = geti(r, "handles.0");
	b = geti(r, "handles.1");
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.2}", a);
	t0 = hx_mono_ms();
	e = ERR(&C, -32003, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", a);
	dt = hx_mono_ms() - t0;
	ck_assert(getd(e, "data.timeout") == 0.2);
	ck_assert_msg(dt >= 150 && dt < 5000, "recv timed out after %lld ms, want about 200", dt);

	/* Timeout 0: EAGAIN at once (Python's non-blocking mode). */
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", a);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", a);
	ck_assert(!json_object_get_boolean(jpath(r, "blocking")));
	t0 = hx_mono_ms();
	e = OSERR(&C, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", a);
	ck_assert_int_eq(geti(e, "data.errno"), EAGAIN);
	ck_assert_msg(hx_mono_ms() - t0 < 2000, "EAGAIN took %lld ms", hx_mono_ms() - t0);
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", hl);
	OSERR(&C, "EAGAIN", "socket.accept", "{\"handle\":%lld}", hl);
	/* setblocking(false) is timeout 0, setblocking(true) is null. */
	OK(&C, "socket.setblocking", "{\"handle\":%lld,\"flag\":false}", b);
	r = OK(&C, "socket.gettimeout", "{\"handle\":%lld}", b);
	ck_assert(getd(r, "timeout") == 0.0);
	OSERR(&C, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", b);
	OK(&C, "socket.setblocking", "{\"handle\":%lld,\"flag\":true}", b);
	r = OK(&C, "socket.gettimeout", "{\"handle\":%lld}", b);
	ck_assert_msg(jpath(r, "timeout") == NULL && json_object_object_get_ex(r, "timeout", NULL),
	              "timeout not null: %s", json_object_to_json_string(r));
	/* Data present: recv with timeout 0 works. */
	OK(&C, "socket.send", "{\"handle\":%lld,\"text\":\"now\"}", b);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", a);
	expect_str(r, "data", "bm93");
	/* A negative timeout is refused, as Python's ValueError. */
	ERR(&C, -32602, "socket.settimeout", "{\"handle\":%lld,\"timeout\":-1}", a);

	/* net.setdefaulttimeout: the connection's default for new sockets. */
	OK(&C, "net.setdefaulttimeout", "{\"timeout\":0.2}");
	r = OK(&C, "net.getdefaulttimeout", "{}");
	ck_assert(getd(r, "timeout") == 0.2);
	r = OK(&C, "socket.create", "{\"type\":\"SOCK_DGRAM\"}");
	{
		long long u = geti(r, "handle");
		r = OK(&C, "socket.gettimeout", "{\"handle\":%lld}", u);
		ck_assert(getd(r, "timeout") == 0.2);
		close_handle(&C, u);
	}
	OK(&C, "net.setdefaulttimeout", "{\"timeout\":null}");

	close_handle(&C, a);
	close_handle(&C, b);
	close_handle(&C, hl);
	fd_back(base);
}
END_TEST

START_TEST(timeout_connect_blackhole)
{
	int base = fd_base();
	struct blackhole bh;
	json_object *e, *r;
	long long h, t0, dt;

	blackhole_open(&C, &bh);
	h = new_handle(&C, "{}");
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.3}", h);
	t0 = hx_mono_ms();
	e = ERR(&C, -32003, "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h, bh.port);
	dt = hx_mono_ms() - t0;
	ck_assert(getd(e, "data.timeout") == 0.3);
	ck_assert_msg(dt >= 250 && dt < 5000, "connect timed out after %lld ms, want about 300", dt);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", h);
	ck_assert_int_eq(geti(r, "pending"), 0);
	close_handle(&C, h);

	/* Timeout 0: EINPROGRESS (connect) or errno EINPROGRESS (connect_ex). */
	h = new_handle(&C, "{}");
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", h);
	OSERR(&C, "EINPROGRESS", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h, bh.port);
	close_handle(&C, h);
	h = new_handle(&C, "{}");
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", h);
	r = OK(&C, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h, bh.port);
	ck_assert_int_eq(geti(r, "errno"), EINPROGRESS);
	expect_str(r, "name", "EINPROGRESS");
	close_handle(&C, h);

	/* create_connection's timeout. */
	t0 = hx_mono_ms();
	e = ERR(&C, -32003, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d],\"timeout\":0.3}", bh.port);
	dt = hx_mono_ms() - t0;
	ck_assert_msg(dt >= 250 && dt < 5000, "connect_to timed out after %lld ms", dt);
	/* Its socket went with the failure. */
	ck_assert_int_eq(list_handles(&C, (long long[4]){ 0 }, 4), 1);

	blackhole_close(&C, &bh);
	fd_back(base);
}
END_TEST

START_TEST(timeout_sendall_partial)
{
	int base = fd_base();
	enum { N = 400000 };
	unsigned char *big = hx_hold_mem(malloc(N));
	json_object *e, *r;
	long long a, b, sent;

	for (size_t i = 0; i < N; i++)
		big[i] = (unsigned char)(i * 7);
	r = OK(&C, "socket.pair", "{}");
	a = geti(r, "handles.0");
	b = geti(r, "handles.1");
	OK(&C, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_SNDBUF\",\"value\":4096}", a);
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.3}", a);
	e = ERR(&C, -32003, "socket.sendall", "{\"handle\":%lld,\"data\":\"%s\"}", a, b64enc(big, N));
	ck_assert(getd(e, "data.timeout") == 0.3);
	sent = geti(e, "data.sent");
	ck_assert_msg(sent > 0 && sent < N, "sent %lld of %d", sent, N);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", a);
	ck_assert_int_eq(geti(r, "bytes_out"), sent);
	/* What was sent is what the peer reads, in order. */
	{
		long long have = 0;
		for (int i = 0; i < 1000 && have < sent; i++) {
			size_t k;
			unsigned char *d;
			r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":65536}", b);
			d = b64dec(gets_(r, "data"), &k);
			ck_assert_msg(k > 0 && have + (long long)k <= sent, "peer read %zu at %lld of %lld", k, have, sent);
			ck_assert_msg(memcmp(d, big + have, k) == 0, "bytes differ at %lld", have);
			have += (long long)k;
		}
		ck_assert_int_eq(have, sent);
	}
	close_handle(&C, a);
	close_handle(&C, b);
	fd_back(base);
}
END_TEST

/* ---- 12. parked operations ---- */

START_TEST(two_recvs_parked_on_one_socket)
{
	int base = fd_base();
	json_object *r, *r1, *r2;
	long long ha, hb;
	int pa;

	ha = new_handle(&C, "{\"type\":\"SOCK_DGRAM\"}");
	hb = new_handle(&C, "{\"type\":\"SOCK_DGRAM\"}");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", ha);
	pa = local_port(&C, ha);
	send_req(&C, "r1", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":100}", ha));
	send_req(&C, "r2", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":100}", ha));
	r = OK(&C, "socket.info", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(geti(r, "pending"), 2);
	OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"one\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"two\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	r1 = expect_ok(await_reply(&C, "r1"), "first parked recv");
	r2 = expect_ok(await_reply(&C, "r2"), "second parked recv");
	/* Oldest first. */
	expect_str(r1, "data", "b25l");
	expect_str(r2, "data", "dHdv");
	r = OK(&C, "socket.info", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(geti(r, "pending"), 0);

	/* A parked recv and a parked accept at once on different sockets, and
	 * other requests served meanwhile from another connection too. */
	{
		struct tconn c2;
		open_conn(&c2);
		send_req(&C, "r3", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":100}", ha));
		ping(&c2);
		ping(&C);
		OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"three\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
		expect_str(expect_ok(await_reply(&C, "r3"), "third recv"), "data", "dGhyZWU=");
		tconn_close(&c2);
	}
	close_handle(&C, ha);
	close_handle(&C, hb);
	fd_back(base);
}
END_TEST

START_TEST(close_with_operation_parked)
{
	int base = fd_base();
	json_object *r, *e;
	long long a, b, hl;

	r = OK(&C, "socket.pair", "{}");
	a = geti(r, "handles.0");
	b = geti(r, "handles.1");
	send_req(&C, "rp", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", a));
	r = OK(&C, "socket.info", "{\"handle\":%lld}", a);
	ck_assert_int_eq(geti(r, "pending"), 1);
	close_handle(&C, a);
	e = expect_os(await_reply(&C, "rp"), "EBADF", "recv parked on a closed socket");
	ck_assert_int_eq(geti(e, "data.errno"), EBADF);

	/* The same for accept, and for several operations at once. */
	r = OK(&C, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = geti(r, "handle");
	send_req(&C, "ac1", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	send_req(&C, "ac2", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	r = OK(&C, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(geti(r, "pending"), 2);
	close_handle(&C, hl);
	expect_os(await_reply(&C, "ac1"), "EBADF", "accept parked on a closed socket");
	expect_os(await_reply(&C, "ac2"), "EBADF", "second accept parked on a closed socket");

	/* detach with a recv parked: the recv fails, the descriptor comes. (b's
	 * peer is closed, so b reads EOF at once: a fresh pair.) */
	close_handle(&C, b);
	r = OK(&C, "socket.pair", "{}");
	a = geti(r, "handles.0");
	b = geti(r, "handles.1");
	send_req(&C, "rd", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", b));
	r = OK(&C, "socket.info", "{\"handle\":%lld}", b);
	ck_assert_int_eq(geti(r, "pending"), 1);
	send_req(&C, "dt", "socket.detach", hx_fmt("{\"handle\":%lld}", b));
	expect_os(await_reply(&C, "rd"), "EBADF", "recv parked on a detached socket");
	r = expect_ok(await_reply(&C, "dt"), "detach");
	ck_assert_int_eq(geti(r, "fds"), 1);
	close(take_fd(&C));
	close_handle(&C, a);
	ck_assert_int_eq(list_handles(&C, (long long[4]){ 0 }, 4), 0);
	fd_back(base);
}
END_TEST

START_TEST(client_leaves_with_operations_parked)
{
	int base = fd_base();
	struct tconn c2;
	json_object *r;
	long long u, hl, a;
	struct blackhole bh;

	blackhole_open(&C, &bh);
	base = fd_base(); /* the blackhole stays until the end */
	open_conn(&c2);
	u = new_handle(&c2, "{\"type\":\"SOCK_DGRAM\"}");
	OK(&c2, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", u);
	send_req(&c2, "p1", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", u));
	send_req(&c2, "p2", "socket.recvfrom", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", u));
	r = OK(&c2, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = geti(r, "handle");
	send_req(&c2, "p3", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	r = OK(&c2, "socket.pair", "{}");
	a = geti(r, "handles.0");
	send_req(&c2, "p4", "socket.recvmsg", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", a));
	a = new_handle(&c2, "{}");
	send_req(&c2, "p5", "socket.connect", hx_fmt("{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", a, bh.port));
	r = OK(&c2, "socket.info", "{\"handle\":%lld}", u);
	ck_assert_int_eq(geti(r, "pending"), 2);
	tconn_close(&c2);
	fd_back(base);
	blackhole_close(&C, &bh);
}
END_TEST

/* connect_to owns its socket until it answers: a client that leaves while
 * it waits, and a close or detach of that socket's handle meanwhile. */
START_TEST(client_leaves_with_connect_to_parked)
{
	int base;
	struct tconn c2;
	struct blackhole bh;

	blackhole_open(&C, &bh);
	base = fd_base();
	open_conn(&c2);
	send_req(&c2, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	ck_assert_int_eq(list_handles(&c2, (long long[4]){ 0 }, 4), 1);
	tconn_close(&c2);
	fd_back(base);

	/* With a timeout too. */
	open_conn(&c2);
	send_req(&c2, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d],\"timeout\":30}", bh.port));
	ping(&c2);
	tconn_close(&c2);
	fd_back(base);
	blackhole_close(&C, &bh);
}
END_TEST

START_TEST(close_socket_of_parked_connect_to)
{
	int base;
	struct blackhole bh;
	long long hs[4];

	blackhole_open(&C, &bh);
	base = fd_base();
	send_req(&C, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	ck_assert_int_eq(list_handles(&C, hs, 4), 2);
	{
		long long h = hs[0] == bh.h ? hs[1] : hs[0];
		close_handle(&C, h);
	}
	expect_os(await_reply(&C, "ct"), "EBADF", "connect_to whose socket was closed");
	ck_assert_int_eq(list_handles(&C, hs, 4), 1);
	fd_back(base);
	blackhole_close(&C, &bh);
}
END_TEST

START_TEST(detach_socket_of_parked_connect_to)
{
	int base;
	struct blackhole bh;
	long long hs[4], h;
	json_object *r, *ct;

	blackhole_open(&C, &bh);
	base = fd_base();
	send_req(&C, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	ck_assert_int_eq(list_handles(&C, hs, 4), 2);
	h = hs[0] == bh.h ? hs[1] : hs[0];
	send_req(&C, "dt", "socket.detach", hx_fmt("{\"handle\":%lld}", h));
	ct = await_reply(&C, "ct");
	r = await_reply(&C, "dt");
	expect_os(ct, "EBADF", "connect_to whose socket was detached");
	/* Either the detach hands over a working socket, or it fails cleanly. */
	if (reply_error_code(r) == 0) {
		int fd, dom = 0;
		socklen_t l = sizeof(dom);
		ck_assert_int_eq(geti(jpath(r, "result"), "fds"), 1);
		fd = take_fd(&C);
		ck_assert_msg(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) == 0 && dom == AF_INET,
		              "the detached descriptor is not the AF_INET socket");
		close(fd);
	}
	ck_assert_int_eq(list_handles(&C, hs, 4), 1);
	fd_back(base);
	blackhole_close(&C, &bh);
}
END_TEST

/* The daemon stops (SIGTERM) with operations parked: each is answered
 * ECANCELED and the daemon exits 0. */
START_TEST(stop_with_operations_parked)
{
	struct sbd d2;
	struct tconn c2;
	struct blackhole bh;
	json_object *r;
	long long a;
	const char *ids[] = { "ct", "rv", "ac" };

	blackhole_open(&C, &bh);
	start(&d2, NULL);
	ck_assert_int_eq(tconn_open(&c2, d2.sock), 0);
	send_req(&c2, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	r = expect_ok(rpc(&c2, "socket.pair", "{}"), "pair");
	a = geti(r, "handles.0");
	send_req(&c2, "rv", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", a));
	r = expect_ok(rpc(&c2, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}"), "listen_on");
	send_req(&c2, "ac", "socket.accept", hx_fmt("{\"handle\":%lld}", geti(r, "handle")));
	ping(&c2);
	ck_assert_int_eq(sbd_stop(&d2), 0);
	for (size_t i = 0; i < 3; i++)
		expect_os(await_reply(&c2, ids[i]), "ECANCELED", hx_fmt("%s cancelled by the stop", ids[i]));
	tconn_close(&c2);
	blackhole_close(&C, &bh);
}
END_TEST

/* --max-handles: -32012 {"limit":"handles"} for every creating method, and
 * nothing leaks on the way. */
START_TEST(handle_limit)
{
	struct sbd d2;
	struct tconn c2;
	json_object *r, *e;
	long long hl, h2;
	int base, port, fd;
	const char *const args[] = { "--max-handles", "2", NULL };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	start(&d2, args);
	ck_assert_int_eq(tconn_open(&c2, d2.sock), 0);
	ping(&c2);
	base = sbd_fd_count(&d2);
	r = expect_ok(rpc(&c2, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}"), "listen_on");
	hl = geti(r, "handle");
	port = (int)geti(r, "local.port");
	/* One left: a pair does not fit, and neither of its ends stays. */
	e = expect_err(rpc(&c2, "socket.pair", "{}"), -32012, "pair over the limit");
	expect_str(e, "data.limit", "handles");
	ck_assert_int_eq(geti(e, "data.max"), 2);
	r = expect_ok(rpc(&c2, "socket.create", "{}"), "create");
	h2 = geti(r, "handle");
	expect_err(rpc(&c2, "socket.create", "{}"), -32012, "create over the limit");
	expect_err(rpc(&c2, "socket.dup", hx_fmt("{\"handle\":%lld}", h2)), -32012, "dup over the limit");
	expect_err(rpc(&c2, "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", port)), -32012,
	           "connect_to over the limit");
	/* pass needs no handle. */
	r = expect_ok(rpc(&c2, "socket.create", "{\"pass\":true}"), "create with pass at the limit");
	close(take_fd(&c2));
	/* accept over the limit: the accepted connection is closed, not kept. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	expect_err(rpc(&c2, "socket.accept", hx_fmt("{\"handle\":%lld}", hl)), -32012, "accept over the limit");
	{
		char c;
		wait_fd(fd, POLLIN);
		ck_assert_int_le(recv(fd, &c, 1, 0), 0);
	}
	close(fd);
	/* adopt over the limit: refused, the descriptor closed. */
	{
		int sv[2];
		char c;
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		send_req_fds(&c2, "ad", "socket.adopt", "{\"fds\":1}", &sv[0], 1);
		expect_err(await_reply(&c2, "ad"), -32012, "adopt over the limit");
		close(sv[0]);
		wait_fd(sv[1], POLLIN);
		ck_assert_int_eq(recv(sv[1], &c, 1, 0), 0);
		close(sv[1]);
	}
	expect_ok(rpc(&c2, "socket.close", hx_fmt("{\"handle\":%lld}", h2)), "close");
	expect_ok(rpc(&c2, "socket.close", hx_fmt("{\"handle\":%lld}", hl)), "close");
	{
		int n = -1;
		for (int i = 0; i < 200 && n != base; i++) {
			ping(&c2);
			n = sbd_fd_count(&d2);
		}
		ck_assert_msg(n == base, "the daemon has %d descriptors, want %d", n, base);
	}
	tconn_close(&c2);
	ck_assert_int_eq(sbd_stop(&d2), 0);
}
END_TEST

/* ---- 13. options ---- */

START_TEST(options)
{
	int base = fd_base();
	json_object *r, *want;
	long long h, u;
	size_t len;
	int v;

	h = new_handle(&C, "{}");
	OK(&C, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":true}", h);
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\"}", h);
	ck_assert_msg(json_object_is_type(jpath(r, "value"), json_type_int) && geti(r, "value") == 1,
	              "SO_REUSEADDR: %s", json_object_to_json_string(r));
	OK(&C, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":0}", h);
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":1,\"option\":2}", h);
	ck_assert_int_eq(geti(r, "value"), 0);

	OK(&C, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\",\"value\":1}", h);
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\"}", h);
	ck_assert_int_eq(geti(r, "value"), 1);
	OK(&C, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\",\"value\":false}", h);
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\"}", h);
	ck_assert_int_eq(geti(r, "value"), 0);

	OK(&C, "socket.setsockopt",
	   "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\",\"value\":{\"onoff\":true,\"linger\":3}}", h);
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\"}", h);
	want = hx_hold(json_tokener_parse("{\"onoff\":true,\"linger\":3}"));
	ck_assert_msg(json_object_equal(jpath(r, "value"), want), "SO_LINGER: %s", json_object_to_json_string(r));
	ERR(&C, -32602, "socket.setsockopt",
	    "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\",\"value\":{\"onoff\":true}}", h);

	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_TYPE\"}", h);
	expect_str(r, "value", "SOCK_STREAM");
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_DOMAIN\"}", h);
	expect_str(r, "value", "AF_INET");
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_ERROR\"}", h);
	ck_assert_int_eq(geti(r, "value"), 0);

	r = ERR(&C, -32602, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_BOGUS\"}", h);
	expect_str(r, "data.param", "option");
	ERR(&C, -32602, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"TCP_NODELAY\",\"value\":1}", h);
	ERR(&C, -32602, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_BOGUS\",\"option\":\"SO_TYPE\"}", h);
	ERR(&C, -32602, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":\"yes\"}", h);
	ERR(&C, -32602, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\"}", h);

	/* buflen: the raw bytes. */
	OK(&C, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\",\"value\":1}", h);
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\",\"buflen\":4}", h);
	ck_assert_msg(jpath(r, "value") == NULL, "buflen gives data: %s", json_object_to_json_string(r));
	{
		unsigned char *d = b64dec(gets_(r, "data"), &len);
		ck_assert_int_eq(len, 4);
		memcpy(&v, d, 4);
		ck_assert_int_eq(v, 1);
	}
	/* Raw data in: {"data": base64}. */
	v = 0;
	OK(&C, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\",\"value\":{\"data\":\"%s\"}}",
	   h, b64enc(&v, 4));
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\"}", h);
	ck_assert_int_eq(geti(r, "value"), 0);

	/* An option the protocol does not have: the kernel's ENOPROTOOPT. */
	u = new_handle(&C, "{\"type\":\"SOCK_DGRAM\"}");
	{
		/* Linux answers ENOPROTOOPT or (newer kernels) EOPNOTSUPP here. */
		json_object *e = ERR(&C, -32000, "socket.getsockopt",
		                     "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\"}", u);
		const char *name = gets_(e, "data.name");
		ck_assert_msg(strcmp(name, "ENOPROTOOPT") == 0 || strcmp(name, "EOPNOTSUPP") == 0, "got %s", name);
	}
	r = OK(&C, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_TYPE\"}", u);
	expect_str(r, "value", "SOCK_DGRAM");
	close_handle(&C, u);
	close_handle(&C, h);
	fd_back(base);
}
END_TEST

/* ---- 14. pass, fd, detach, adopt, dup ---- */

START_TEST(pass_fd_detach_adopt_dup)
{
	int base = fd_base();
	json_object *r;
	long long h, h2;
	int fd, v, sv[2], p[2], fl;
	socklen_t l = sizeof(v);
	char buf[8];

	/* socket.fd: a duplicate; the handle stays. */
	h = new_handle(&C, "{}");
	r = OK(&C, "socket.fd", "{\"handle\":%lld}", h);
	ck_assert_int_eq(geti(r, "fds"), 1);
	fd = take_fd(&C);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l), 0);
	ck_assert_int_eq(v, AF_INET);
	close(fd);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", h);
	expect_str(r, "family", "AF_INET");

	/* socket.detach: the descriptor, in blocking mode; the handle is gone. */
	r = OK(&C, "socket.detach", "{\"handle\":%lld}", h);
	ck_assert_int_eq(geti(r, "fds"), 1);
	fd = take_fd(&C);
	fl = fcntl(fd, F_GETFL);
	ck_assert_msg(fl >= 0 && !(fl & O_NONBLOCK), "a detached socket is in blocking mode");
	l = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l), 0);
	ck_assert_int_eq(v, SOCK_STREAM);
	close(fd);
	ERR(&C, -32011, "socket.info", "{\"handle\":%lld}", h);
	ERR(&C, -32011, "socket.detach", "{\"handle\":%lld}", h);
	fd_back(base);

	/* pass on create and pair. */
	r = OK(&C, "socket.create", "{\"type\":\"SOCK_DGRAM\",\"pass\":true}");
	ck_assert_int_eq(geti(r, "fds"), 1);
	ck_assert_msg(jpath(r, "handle") == NULL, "pass gives no handle");
	expect_str(r, "type", "SOCK_DGRAM");
	fd = take_fd(&C);
	l = sizeof(v);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l), 0);
	ck_assert_int_eq(v, SOCK_DGRAM);
	close(fd);
	r = OK(&C, "socket.pair", "{\"pass\":true}");
	ck_assert_int_eq(geti(r, "fds"), 2);
	ck_assert_int_eq(C.nfds, 2);
	ck_assert_int_eq(write(C.fds[0], "ab", 2), 2);
	ck_assert_int_eq(read(C.fds[1], buf, 2), 2);
	ck_assert_int_eq(memcmp(buf, "ab", 2), 0);
	close(C.fds[0]);
	close(C.fds[1]);
	C.nfds = 0;
	ck_assert_int_eq(list_handles(&C, (long long[4]){ 0 }, 4), 0);
	fd_back(base);

	/* adopt: family, type and proto read from the descriptor. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	send_req_fds(&C, "ad", "socket.adopt", "{\"fds\":1}", &sv[0], 1);
	r = expect_ok(await_reply(&C, "ad"), "adopt");
	h = geti(r, "handle");
	expect_str(r, "family", "AF_UNIX");
	expect_str(r, "type", "SOCK_DGRAM");
	close(sv[0]);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", h);
	expect_str(r, "family", "AF_UNIX");
	r = OK(&C, "socket.send", "{\"handle\":%lld,\"text\":\"hi\"}", h);
	ck_assert_int_eq(geti(r, "sent"), 2);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 2);
	ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
	ck_assert_int_eq(send(sv[1], "yo", 2, 0), 2);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":8}", h);
	expect_str(r, "data", "eW8=");

	/* dup: a second handle for the same socket. */
	r = OK(&C, "socket.dup", "{\"handle\":%lld}", h);
	h2 = geti(r, "handle");
	ck_assert(h2 != h);
	close_handle(&C, h);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", h2);
	expect_str(r, "family", "AF_UNIX");
	expect_str(r, "type", "SOCK_DGRAM");
	r = OK(&C, "socket.send", "{\"handle\":%lld,\"text\":\"d\"}", h2);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 1);
	close_handle(&C, h2);
	close(sv[1]);
	fd_back(base);

	/* A pipe is not a socket: refused, and the daemon keeps no copy. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	send_req_fds(&C, "ap", "socket.adopt", "{\"fds\":1}", &p[1], 1);
	expect_err(await_reply(&C, "ap"), -32602, "adopt of a pipe");
	close(p[1]);
	wait_fd(p[0], POLLIN);
	ck_assert_int_eq(read(p[0], buf, 1), 0);
	close(p[0]);
	ck_assert_int_eq(list_handles(&C, (long long[4]){ 0 }, 4), 0);
	/* adopt without a descriptor. */
	ERR(&C, -32602, "socket.adopt", "{}");
	fd_back(base);
}
END_TEST

/* ---- 15. bad input ---- */

START_TEST(bad_names_ports_addresses)
{
	int base = fd_base();
	json_object *e;
	long long h, u, x6;

	ERR(&C, -32602, "socket.create", "{\"family\":\"AF_BOGUS\"}");
	fd_back(base);
	ERR(&C, -32602, "socket.create", "{\"type\":\"SOCK_BOGUS\"}");
	ERR(&C, -32602, "socket.create", "{\"proto\":\"IPPROTO_BOGUS\"}");
	ERR(&C, -32602, "socket.create", "{\"family\":\"AF_INET\",\"bogus\":1}");
	fd_back(base);

	e = ERR(&C, -32602, "socket.listen_on", "{\"address\":[\"127.0.0.1\",70000]}");
	ck_assert_msg(strstr(gets_(e, "message"), "70000") != NULL, "message quotes the port: %s",
	              json_object_to_json_string(e));
	ERR(&C, -32602, "socket.listen_on", "{\"address\":{\"host\":\"127.0.0.1\",\"port\":-1}}");
	ERR(&C, -32602, "socket.connect_to", "{\"address\":[\"127.0.0.1\",70000]}");
	fd_back(base);

	h = new_handle(&C, "{\"family\":\"AF_INET\"}");
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",70000]}", h);
	e = ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":[\"x\"]}", h);
	ck_assert_msg(strstr(gets_(e, "message"), "AF_INET") != NULL, "message names the family: %s",
	              json_object_to_json_string(e));
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\"}}", h);
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\",\"port\":1,\"bogus\":2}}", h);
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":5}", h);
	ERR(&C, -32602, "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",\"eighty\"]}", h);
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld}", h);
	close_handle(&C, h);
	fd_back(base);

	u = new_handle(&C, "{\"family\":\"AF_UNIX\"}");
	e = ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":5}", u);
	ck_assert_msg(strstr(gets_(e, "message"), "AF_UNIX") != NULL, "message names the family: %s",
	              json_object_to_json_string(e));
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"path\":\"/tmp/x\",\"abstract\":\"y\"}}", u);
	close_handle(&C, u);
	fd_back(base);

	x6 = new_handle(&C, "{\"family\":\"AF_INET6\"}");
	e = ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"::1\"}}", x6);
	ck_assert_msg(strstr(gets_(e, "message"), "port") != NULL, "message names the missing port: %s",
	              json_object_to_json_string(e));
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":[\"::1\",1,2,3,4]}", x6);
	close_handle(&C, x6);

	/* Netlink and ALG shapes too (no socket of those families needed to
	 * check the decoding: the address is decoded for the handle's family). */
	h = new_handle(&C, "{\"family\":\"AF_NETLINK\",\"type\":\"SOCK_RAW\",\"proto\":0}");
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"pid\":-1,\"groups\":0}}", h);
	ERR(&C, -32602, "socket.bind", "{\"handle\":%lld,\"address\":\"lo\"}", h);
	close_handle(&C, h);
	fd_back(base);

	/* Handles: not positive, unknown, wrong type. */
	ERR(&C, -32602, "socket.info", "{\"handle\":0}");
	ERR(&C, -32602, "socket.info", "{\"handle\":-3}");
	ERR(&C, -32602, "socket.info", "{\"handle\":\"1\"}");
	ERR(&C, -32602, "socket.info", "{}");
	e = ERR(&C, -32011, "socket.info", "{\"handle\":987654321}");
	ck_assert_int_eq(geti(e, "data.handle"), 987654321);
	fd_back(base);
}
END_TEST

START_TEST(bad_sizes_and_bytes)
{
	int base = fd_base();
	json_object *r, *e;
	long long a, b, ha, hb;
	int pa;
	size_t len;
	struct sbd d2;
	struct tconn c2;
	const char *const args[] = { "--max-recv-bytes", "1000", NULL };
	static unsigned char blob[3000];

	r = OK(&C, "socket.pair", "{}");
	a = geti(r, "handles.0");
	b = geti(r, "handles.1");
	e = ERR(&C, -32602, "socket.recv", "{\"handle\":%lld,\"bufsize\":-1}", a);
	expect_str(e, "data.param", "bufsize");
	ERR(&C, -32602, "socket.recv", "{\"handle\":%lld}", a);
	ERR(&C, -32602, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":10,\"ancbufsize\":-1}", a);
	OK(&C, "socket.send", "{\"handle\":%lld,\"text\":\"abc\"}", b);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":100000000}", a);
	expect_str(r, "data", "YWJj");

	/* base64 that does not decode. */
	e = ERR(&C, -32602, "socket.send", "{\"handle\":%lld,\"data\":\"!!!!\"}", a);
	expect_str(e, "data.param", "data");
	ERR(&C, -32602, "socket.sendall", "{\"handle\":%lld,\"data\":\"YWJ\"}", a);
	ERR(&C, -32602, "socket.sendmsg", "{\"handle\":%lld,\"buffers\":[\"@@@@\"]}", a);
	ERR(&C, -32602, "socket.sendmsg", "{\"handle\":%lld,\"buffers\":[5]}", a);
	ERR(&C, -32602, "socket.send", "{\"handle\":%lld,\"data\":\"YWJj\",\"text\":\"abc\"}", a);
	ERR(&C, -32602, "socket.send", "{\"handle\":%lld}", a);
	ERR(&C, -32602, "socket.setsockopt",
	    "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_RCVBUF\",\"value\":{\"data\":\"***\"}}", a);
	/* Nothing of the refused sends went out. */
	OK(&C, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", b);
	OSERR(&C, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", b);
	close_handle(&C, a);
	close_handle(&C, b);
	fd_back(base);

	/* bufsize 0 on a datagram socket: b"" and the datagram is consumed. */
	ha = new_handle(&C, "{\"type\":\"SOCK_DGRAM\"}");
	hb = new_handle(&C, "{\"type\":\"SOCK_DGRAM\"}");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", ha);
	pa = local_port(&C, ha);
	OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"gone\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"next\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":0}", ha);
	expect_str(r, "data", "");
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", ha);
	expect_str(r, "data", "bmV4dA==");
	/* send on an unconnected UDP socket: no destination. */
	OSERR(&C, "EDESTADDRREQ", "socket.send", "{\"handle\":%lld,\"text\":\"x\"}", hb);
	/* accept on a UDP socket. */
	e = OSERR(&C, "EOPNOTSUPP", "socket.accept", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(geti(e, "data.errno"), EOPNOTSUPP);
	OSERR(&C, "EOPNOTSUPP", "socket.listen", "{\"handle\":%lld}", ha);
	close_handle(&C, ha);
	close_handle(&C, hb);
	fd_back(base);

	/* The cap itself, on a daemon whose cap is 1000 bytes. */
	start(&d2, args);
	ck_assert_int_eq(tconn_open(&c2, d2.sock), 0);
	r = expect_ok(rpc(&c2, "daemon.info", "{}"), "daemon.info");
	ck_assert_int_eq(geti(r, "limits.recv_bytes"), 1000);
	r = expect_ok(rpc(&c2, "socket.pair", "{}"), "pair");
	a = geti(r, "handles.0");
	b = geti(r, "handles.1");
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)i;
	r = expect_ok(rpc(&c2, "socket.sendall", hx_fmt("{\"handle\":%lld,\"data\":\"%s\"}", b, b64enc(blob, sizeof(blob)))),
	              "sendall");
	ck_assert_int_eq(geti(r, "sent"), sizeof(blob));
	r = expect_ok(rpc(&c2, "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":100000000}", a)), "huge recv");
	{
		unsigned char *d = b64dec(gets_(r, "data"), &len);
		ck_assert_msg(len == 1000, "a capped recv gave %zu bytes, want 1000", len);
		ck_assert_int_eq(memcmp(d, blob, len), 0);
	}
	r = expect_ok(rpc(&c2, "socket.recvmsg", hx_fmt("{\"handle\":%lld,\"bufsize\":2147483647}", a)), "huge recvmsg");
	b64dec(gets_(r, "data"), &len);
	ck_assert_int_eq(len, 1000);
	tconn_close(&c2);
	ck_assert_int_eq(sbd_stop(&d2), 0);
	fd_back(base);
}
END_TEST

START_TEST(bad_handle_owner_and_missing_family)
{
	int base = fd_base();
	struct tconn c2;
	json_object *e, *reply;
	long long h, h2;
	const char *lacking = NULL;
	static const char *const tries[][2] = {
		{ "AF_TIPC", "SOCK_RDM" }, { "AF_CAN", "SOCK_RAW" }, { "AF_ALG", "SOCK_SEQPACKET" },
	};

	/* A handle of another connection is invisible: -32011. */
	h = new_handle(&C, "{}");
	open_conn(&c2);
	e = expect_err(rpc(&c2, "socket.info", hx_fmt("{\"handle\":%lld}", h)), -32011, "another client's handle");
	ck_assert_int_eq(geti(e, "data.handle"), h);
	expect_err(rpc(&c2, "socket.close", hx_fmt("{\"handle\":%lld}", h)), -32011, "closing another client's handle");
	expect_err(rpc(&c2, "socket.detach", hx_fmt("{\"handle\":%lld}", h)), -32011, "detaching another client's handle");
	expect_err(rpc(&c2, "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":1}", h)), -32011, "recv on another's handle");
	ck_assert_int_eq(list_handles(&c2, (long long[4]){ 0 }, 4), 0);
	/* Handles are never reused: c2's first handle is a new number. */
	h2 = new_handle(&c2, "{}");
	ck_assert(h2 > h);
	tconn_close(&c2);
	OK(&C, "socket.info", "{\"handle\":%lld}", h);
	/* c2's handle went with c2. */
	ERR(&C, -32011, "socket.info", "{\"handle\":%lld}", h2);
	close_handle(&C, h);
	h2 = new_handle(&C, "{}");
	ck_assert(h2 > h);
	close_handle(&C, h2);
	fd_back(base);

	/* A family this kernel lacks: EAFNOSUPPORT with a message naming it. */
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]) && !lacking; i++) {
		reply = rpc(&C, "socket.create", hx_fmt("{\"family\":\"%s\",\"type\":\"%s\"}", tries[i][0], tries[i][1]));
		if (reply_error_code(reply) == 0) {
			close_handle(&C, geti(reply, "result.handle"));
			continue;
		}
		e = expect_os(reply, "EAFNOSUPPORT", hx_fmt("socket.create %s", tries[i][0]));
		ck_assert_int_eq(geti(e, "data.errno"), EAFNOSUPPORT);
		ck_assert_msg(strstr(gets_(e, "message"), tries[i][0]) != NULL, "the message does not name %s: %s",
		              tries[i][0], json_object_to_json_string(e));
		lacking = tries[i][0];
	}
	if (!lacking)
		printf("SKIP: this kernel has AF_TIPC, AF_CAN and AF_ALG: no missing family to try\n");
	/* The same through pass. */
	if (lacking)
		expect_os(rpc(&C, "socket.create",
		              hx_fmt("{\"family\":\"%s\",\"type\":\"SOCK_RAW\",\"pass\":true}", lacking)), "EAFNOSUPPORT",
		          "socket.create pass of a missing family");
	ck_assert_int_eq(C.nfds, 0);
	fd_back(base);
}
END_TEST

/* ---- suite ---- */

static void sweep(int fd)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *dir = strchr(line, ' ');
		DIR *dp;
		struct dirent *e;
		char p[600];
		pid_t pid = (pid_t)atoi(line);

		if (!dir)
			continue;
		dir++;
		dp = opendir(dir);
		if (!dp)
			continue; /* removed by sbd_stop() */
		/* Its test failed before stopping it: stop that daemon, by its pid,
		 * when that process is still the one we started (its command line
		 * names this directory). */
		snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
		if (pid > 0) {
			FILE *cf = fopen(p, "r");
			char cmd[2048];
			size_t k = cf ? fread(cmd, 1, sizeof(cmd) - 1, cf) : 0;
			if (cf)
				fclose(cf);
			for (size_t i = 0; i < k; i++)
				if (cmd[i] == '\0')
					cmd[i] = ' ';
			cmd[k] = '\0';
			if (k && strstr(cmd, dir))
				kill(pid, SIGTERM);
		}
		snprintf(p, sizeof(p), "%s/daemon.log", dir);
		{
			FILE *lf = fopen(p, "r");
			char l[1024];
			int k = 0;
			if (lf) {
				fprintf(stderr, "---- daemon log of a failed test (%s) ----\n", dir);
				while (k++ < 100 && fgets(l, sizeof(l), lf))
					fputs(l, stderr);
				fclose(lf);
			}
		}
		while ((e = readdir(dp))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(dp);
		rmdir(dir);
	}
}

static TCase *tc(Suite *s, const char *name)
{
	TCase *t = tcase_create(name);

	tcase_set_timeout(t, 60);
	tcase_add_checked_fixture(t, setup, teardown);
	suite_add_tcase(s, t);
	return t;
}

/* Python's create_connection behaviour: the name is resolved and each address
 * tried in turn; a listener on 127.0.0.1 only is reached even when ::1 comes
 * first in getaddrinfo's answer. */
START_TEST(connect_to_by_name_tries_every_address)
{
	int base = fd_base();
	json_object *r;
	long long hl, hc;
	int port;
	size_t n;

	r = OK(&C, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = geti(r, "handle");
	port = (int)geti(r, "local.port");
	r = OK(&C, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":%d,\"type\":\"SOCK_STREAM\"}", port);
	n = json_object_array_length(jpath(r, "results"));
	ck_assert_int_ge(n, 1);
	if (n < 2 || strcmp(gets_(r, "results.0.family"), "AF_INET6") != 0)
		printf("note: localhost resolves to %zu address(es), first %s: the fallback path is not exercised\n",
		       n, gets_(r, "results.0.family"));
	r = OK(&C, "socket.connect_to", "{\"address\":[\"localhost\",%d],\"timeout\":5}", port);
	hc = geti(r, "handle");
	expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(geti(r, "peer.port"), port);
	/* A name that does not resolve is a gaierror, and leaves no socket behind. */
	r = ERR(&C, -32001, "socket.connect_to", "{\"address\":[\"no-such-host.invalid\",80]}");
	ck_assert_ptr_nonnull(gets_(r, "data.name"));
	close_handle(&C, hc);
	close_handle(&C, hl);
	r = OK(&C, "socket.list", "{}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "sockets")), 0);
	fd_back(base);
}
END_TEST

/* The fallback itself: the daemon runs in a private mount namespace whose
 * /etc/hosts gives multi.test ::1 first, where nothing listens, then
 * 127.0.0.1. Needs root (CI runs as root). */
START_TEST(connect_to_falls_back_to_next_address)
{
	char hosts[] = "/tmp/sbhosts.XXXXXX";
	const char *prefix[] = { "unshare", "--mount", "--propagation", "private", "sh", "-c",
	                         "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts, NULL };
	struct sbd d2;
	struct tconn t;
	json_object *r;
	int fd, port;

	if (geteuid() != 0) {
		if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
			ck_abort_msg("connect_to fallback needs root, and CI runs as root");
		printf("SKIP: connect_to fallback needs root (a private /etc/hosts)\n");
		return;
	}
	fd = mkstemp(hosts);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(write(fd, "::1 multi.test\n127.0.0.1 multi.test\n", 36), 0);
	close(fd);
	chmod(hosts, 0644);
	ck_assert_int_eq(sbd_start_prefixed(&d2, prefix, NULL), 0);
	ck_assert_int_eq(tconn_open(&t, d2.sock), 0);
	r = ok_(&t, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	port = (int)geti(r, "local.port");
	r = ok_(&t, "net.getaddrinfo", hx_fmt("{\"host\":\"multi.test\",\"port\":%d,\"type\":\"SOCK_STREAM\"}", port));
	ck_assert_int_eq(json_object_array_length(jpath(r, "results")), 2);
	expect_str(r, "results.0.address.host", "::1");
	r = ok_(&t, "socket.connect_to", hx_fmt("{\"address\":[\"multi.test\",%d],\"timeout\":5}", port));
	expect_str(r, "peer.host", "127.0.0.1");
	tconn_close(&t);
	ck_assert_int_eq(sbd_stop(&d2), 0);
	unlink(hosts);
}
END_TEST

/* The socket module documentation's echo server and client "for IPv4 and
 * IPv6": both loop over what getaddrinfo returns and use the first address
 * that works, all through the daemon. */
START_TEST(echo_every_getaddrinfo_address)
{
	int base = fd_base();
	json_object *r, *res;
	long long hs = 0, hc = 0, ha;
	int port = 0;
	size_t n;

	res = OK(&C, "net.getaddrinfo", "{\"host\":null,\"port\":0,\"family\":\"AF_UNSPEC\","
	                                "\"type\":\"SOCK_STREAM\",\"flags\":[\"AI_PASSIVE\"]}");
	n = json_object_array_length(jpath(res, "results"));
	ck_assert_int_ge(n, 1);
	for (size_t i = 0; i < n && !hs; i++) {
		json_object *e = json_object_array_get_idx(jpath(res, "results"), i);
		json_object *cr = ok_(&C, "socket.create",
		                      hx_fmt("{\"family\":\"%s\",\"type\":\"%s\"}", gets_(e, "family"), gets_(e, "type")));
		long long h = geti(cr, "handle");
		json_object *br = rpc(&C, "socket.bind", hx_fmt("{\"handle\":%lld,\"address\":%s}", h,
		                                          json_object_to_json_string(jpath(e, "address"))));
		if (jpath(br, "error")) {
			close_handle(&C, h);
			continue;
		}
		OK(&C, "socket.listen", "{\"handle\":%lld,\"backlog\":1}", h);
		hs = h;
		port = local_port(&C, h);
	}
	ck_assert_msg(hs, "no passive address could be bound");
	res = OK(&C, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":%d,\"family\":\"AF_UNSPEC\","
	                                "\"type\":\"SOCK_STREAM\"}", port);
	n = json_object_array_length(jpath(res, "results"));
	for (size_t i = 0; i < n && !hc; i++) {
		json_object *e = json_object_array_get_idx(jpath(res, "results"), i);
		long long h = geti(ok_(&C, "socket.create", hx_fmt("{\"family\":\"%s\",\"type\":\"%s\"}",
		                                             gets_(e, "family"), gets_(e, "type"))), "handle");
		json_object *cr = rpc(&C, "socket.connect", hx_fmt("{\"handle\":%lld,\"address\":%s}", h,
		                                             json_object_to_json_string(jpath(e, "address"))));
		if (jpath(cr, "error")) {
			close_handle(&C, h);
			continue;
		}
		hc = h;
	}
	ck_assert_msg(hc, "the client reached no address of localhost");
	OK(&C, "socket.sendall", "{\"handle\":%lld,\"text\":\"Hello, world\"}", hc);
	r = OK(&C, "socket.accept", "{\"handle\":%lld}", hs);
	ha = geti(r, "handle");
	recv_exact(&C, ha, "Hello, world", 12);
	OK(&C, "socket.sendall", "{\"handle\":%lld,\"text\":\"Hello, world\"}", ha);
	recv_exact(&C, hc, "Hello, world", 12);
	close_handle(&C, ha);
	close_handle(&C, hc);
	close_handle(&C, hs);
	fd_back(base);
}
END_TEST

/* Host names in bind, connect, sendto and listen_on are resolved as Python
 * resolves them (the socket's family, the first answer), off the loop. */
START_TEST(names_in_socket_methods)
{
	int base = fd_base();
	json_object *r;
	long long hl, hc, hu, hr;
	int port, uport;

	r = OK(&C, "socket.listen_on", "{\"address\":[\"localhost\",0]}");
	hl = geti(r, "handle");
	expect_str(r, "local.host", "127.0.0.1");
	port = (int)geti(r, "local.port");
	hc = new_handle(&C, "{}");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":[\"localhost\",0]}", hc);
	r = OK(&C, "socket.getsockname", "{\"handle\":%lld}", hc);
	expect_str(r, "address.host", "127.0.0.1");
	OK(&C, "socket.connect", "{\"handle\":%lld,\"address\":{\"host\":\"localhost\",\"port\":%d}}", hc, port);
	r = OK(&C, "socket.getpeername", "{\"handle\":%lld}", hc);
	ck_assert_int_eq(geti(r, "address.port"), port);

	hr = new_handle(&C, "{\"type\":\"SOCK_DGRAM\"}");
	OK(&C, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", hr);
	uport = local_port(&C, hr);
	hu = new_handle(&C, "{\"type\":\"SOCK_DGRAM\"}");
	r = OK(&C, "socket.sendto", "{\"handle\":%lld,\"text\":\"by name\",\"address\":[\"localhost\",%d]}", hu, uport);
	ck_assert_int_eq(geti(r, "sent"), 7);
	recv_exact(&C, hr, "by name", 7);

	/* A name that does not resolve is a gaierror; the socket is untouched. */
	r = ERR(&C, -32001, "socket.connect", "{\"handle\":%lld,\"address\":[\"no-such-host.invalid\",1]}", hu);
	ck_assert_ptr_nonnull(gets_(r, "data.name"));
	OK(&C, "socket.info", "{\"handle\":%lld}", hu);

	/* The socket closed while its name resolves: the re-run finds no handle. */
	send_req(&C, "nm", "socket.connect", hx_fmt("{\"handle\":%lld,\"address\":[\"localhost\",%d]}", hr, port));
	send_req(&C, "cl", "socket.close", hx_fmt("{\"handle\":%lld}", hr));
	{
		json_object *a = await_reply(&C, "cl"), *b = await_reply(&C, "nm");
		expect_ok(a, "close");
		/* Either the connect ran before the close (a UDP connect succeeds)
		 * or it found the handle gone. */
		if (jpath(b, "error"))
			ck_assert_int_eq(geti(b, "error.code"), -32011);
	}
	close_handle(&C, hu);
	close_handle(&C, hc);
	close_handle(&C, hl);
	fd_back(base);
}
END_TEST

/* MSG_DONTWAIT means "do not wait" whatever the socket's timeout (null here). */
START_TEST(msg_dontwait_never_parks)
{
	int base = fd_base();
	json_object *r = OK(&C, "socket.pair", "{}");
	long long a = geti(r, "handles.0"), b = geti(r, "handles.1");

	OSERR(&C, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":8,\"flags\":[\"MSG_DONTWAIT\"]}", b);
	r = OK(&C, "socket.info", "{\"handle\":%lld}", b);
	ck_assert_int_eq(geti(r, "pending"), 0);
	r = OK(&C, "socket.send", "{\"handle\":%lld,\"text\":\"now\",\"flags\":[\"MSG_DONTWAIT\"]}", a);
	ck_assert_int_eq(geti(r, "sent"), 3);
	r = OK(&C, "socket.recv", "{\"handle\":%lld,\"bufsize\":8,\"flags\":[\"MSG_DONTWAIT\"]}", b);
	expect_str(r, "data", "bm93");
	close_handle(&C, a);
	close_handle(&C, b);
	fd_back(base);
}
END_TEST

/* A client that leaves while a name resolves for it leaves nothing behind. */
START_TEST(leave_while_resolving)
{
	int base = fd_base();
	struct tconn t;
	long long h;

	open_conn(&t);
	h = new_handle(&t, "{}");
	send_req(&t, "x", "socket.connect", hx_fmt("{\"handle\":%lld,\"address\":[\"localhost\",1]}", h));
	tconn_close(&t);
	ping(&C);
	fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket");
	TCase *seeds = tc(s, "seeds");
	TCase *timeouts = tc(s, "timeouts");
	TCase *parked = tc(s, "parked");
	TCase *opts = tc(s, "options");
	TCase *fds = tc(s, "descriptors");
	TCase *bad = tc(s, "bad_input");

	tcase_add_test(seeds, echo_ipv4_handles);
	tcase_add_test(seeds, accept_parks);
	tcase_add_test(seeds, echo_passed_listener);
	tcase_add_test(seeds, close_in_same_batch);
	tcase_add_test(seeds, reset_socket_stays_quiet);
	tcase_add_test(seeds, unix_listener_and_abstract);
	tcase_add_test(seeds, unix_sendmsg_to_path_passes_fd);
	tcase_add_test(seeds, udp_sendto_recvfrom);
	tcase_add_test(seeds, unix_pair_passes_fd);
	tcase_add_test(seeds, netlink_getlink);
	tcase_add_test(seeds, raw_capture);
	tcase_add_test(seeds, alg_sha256);
	tcase_add_test(seeds, can_vcan);
	tcase_add_test(seeds, dualstack_accepts_ipv4);
	tcase_add_test(seeds, connect_to_by_name_tries_every_address);
	tcase_add_test(seeds, echo_every_getaddrinfo_address);
	tcase_add_test(seeds, connect_to_falls_back_to_next_address);
	tcase_add_test(seeds, names_in_socket_methods);
	tcase_add_test(seeds, leave_while_resolving);
	tcase_add_test(seeds, msg_dontwait_never_parks);

	tcase_add_test(timeouts, timeout_accept_recv_nonblocking);
	tcase_add_test(timeouts, timeout_connect_blackhole);
	tcase_add_test(timeouts, timeout_sendall_partial);

	tcase_add_test(parked, two_recvs_parked_on_one_socket);
	tcase_add_test(parked, close_with_operation_parked);
	tcase_add_test(parked, client_leaves_with_operations_parked);
	tcase_add_test(parked, client_leaves_with_connect_to_parked);
	tcase_add_test(parked, close_socket_of_parked_connect_to);
	tcase_add_test(parked, detach_socket_of_parked_connect_to);
	tcase_add_test(parked, stop_with_operations_parked);
	tcase_add_test(bad, handle_limit);

	tcase_add_test(opts, options);

	tcase_add_test(fds, pass_fd_detach_adopt_dup);

	tcase_add_test(bad, bad_names_ports_addresses);
	tcase_add_test(bad, bad_sizes_and_bytes);
	tcase_add_test(bad, bad_handle_owner_and_missing_family);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed, p[2];

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0)
		dirlog_fd = p[1];
	srunner_run_all(sr, CK_NORMAL);
	if (dirlog_fd >= 0) {
		close(dirlog_fd);
		sweep(p[0]);
		close(p[0]);
	}
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
