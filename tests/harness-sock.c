/* Socket helpers of the harness: handles through the daemon, ports, exact
 * receives, a blackhole listener, base64 for socket data. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- base64 (RFC 4648 with padding) ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *hx_b64enc(const void *data, size_t n)
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

unsigned char *hx_b64dec(const char *s, size_t *len)
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

/* ---- handles ---- */

long long hx_new_handle(struct tconn *t, const char *params)
{
	json_object *r = hx_ok(t, "socket.create", "%s", params);

	return hx_geti(r, "handle");
}

void hx_close_handle(struct tconn *t, long long h)
{
	json_object *r = hx_ok(t, "socket.close", "{\"handle\":%lld}", h);

	ck_assert_int_eq(json_object_object_length(r), 0);
}

int hx_handle_port(struct tconn *t, long long h)
{
	json_object *r = hx_ok(t, "socket.getsockname", "{\"handle\":%lld}", h);

	return (int)hx_geti(r, "address.port");
}

int hx_listed_port(struct tconn *t, long long h)
{
	json_object *s = jpath(hx_ok(t, "socket.list", "{}"), "sockets");

	for (size_t i = 0; s && i < json_object_array_length(s); i++)
		if (jpath_int(json_object_array_get_idx(s, i), "handle", -1) == h)
			return hx_result_local_port(json_object_array_get_idx(s, i));
	ck_abort_msg("handle %lld is not in socket.list", h);
	return -1;
}

int hx_result_local_port(json_object *result)
{
	long long p = jpath_int(result, "local.port", -1);

	ck_assert_msg(p > 0, "no local port in %s", json_object_to_json_string(result));
	return (int)p;
}

int hx_fd_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	ck_assert_msg(getsockname(fd, (struct sockaddr *)&ss, &l) == 0, "getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void hx_recv_exact(struct tconn *t, long long h, const void *want, size_t n)
{
	unsigned char got[4096];
	size_t have = 0;

	ck_assert(n <= sizeof(got));
	for (int i = 0; i < 100 && have < n; i++) {
		json_object *r = hx_ok(t, "socket.recv", "{\"handle\":%lld,\"bufsize\":%zu}", h, n - have);
		size_t k;
		unsigned char *d = hx_b64dec(hx_gets(r, "data"), &k);
		ck_assert_msg(k > 0, "recv on %lld: EOF after %zu of %zu bytes", h, have, n);
		memcpy(got + have, d, k);
		have += k;
	}
	ck_assert_int_eq(have, n);
	ck_assert_msg(memcmp(got, want, n) == 0, "recv on %lld: other bytes than sent", h);
}

int hx_take_fd(struct tconn *t)
{
	int fd;

	ck_assert_msg(t->nfds == 1, "want one descriptor received, have %zu", t->nfds);
	fd = t->fds[0];
	t->nfds = 0;
	return fd;
}

void hx_wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, hx_timeout_ms);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == 1, "descriptor %d not ready for %d within %d ms", fd, ev, hx_timeout_ms);
}

size_t hx_list_handles(struct tconn *t, long long *out, size_t max)
{
	json_object *r = hx_ok(t, "socket.list", "{}");
	json_object *a = jpath(r, "sockets");
	size_t n;

	ck_assert_msg(a && json_object_is_type(a, json_type_array), "socket.list: %s",
	              json_object_to_json_string(r));
	n = json_object_array_length(a);
	ck_assert(n <= max);
	for (size_t i = 0; i < n; i++)
		out[i] = hx_geti(json_object_array_get_idx(a, i), "handle");
	return n;
}

bool hx_has_handle(const long long *a, size_t n, long long h)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == h)
			return true;
	return false;
}

bool hx_daemon_has_ipv6(struct tconn *t)
{
	json_object *r = hx_ok(t, "daemon.info", "{}");
	json_object *v = jpath(r, "has_ipv6");

	ck_assert_msg(v && json_object_is_type(v, json_type_boolean), "daemon.info has no has_ipv6");
	return json_object_get_boolean(v);
}

/* ---- a blackhole on 127.0.0.1 ----
 * Filled with plain connects from the test, each waited for (an event); the
 * queue's fill is read from the listener's TCP_INFO (tcpi_unacked is the
 * queue's length, tcpi_sacked its limit) after every connect. */

void hx_blackhole_open(struct tconn *t, struct hx_blackhole *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool full = false;

	memset(b, 0, sizeof(*b));
	b->h = hx_new_handle(t, "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	hx_ok(t, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", b->h);
	hx_ok(t, "socket.listen", "{\"handle\":%lld,\"backlog\":0}", b->h);
	b->port = hx_handle_port(t, b->h);
	sin.sin_port = htons((uint16_t)b->port);
	for (int i = 0; i <= 10; i++) {
		json_object *r = hx_ok(t, "socket.getsockopt",
		                       "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_INFO\"}", b->h);
		int fd, e = 0;
		socklen_t l = sizeof(e);

		hx_expect_str(r, "value.state", "TCP_LISTEN");
		if (hx_geti(r, "value.unacked") > hx_geti(r, "value.sacked")) {
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
			hx_wait_fd(fd, POLLOUT);
			ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l), 0);
			ck_assert_msg(e == 0, "connect to the listener: %s", strerror(e));
		}
	}
	ck_assert_msg(full, "the listener's queue did not fill with %d connections", b->n);
}

void hx_blackhole_close(struct tconn *t, struct hx_blackhole *b)
{
	for (int i = 0; i < b->n; i++)
		close(b->fds[i]);
	b->n = 0;
	hx_close_handle(t, b->h);
}
