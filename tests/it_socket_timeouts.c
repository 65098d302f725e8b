/* Integration: socket timeouts through the real daemon: accept and recv
 * with timeouts and non-blocking, connect into a blackhole, a partial
 * sendall. Every test ends with the daemon serving and its descriptor count
 * back at its baseline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- 11. timeouts ---- */

START_TEST(timeout_accept_recv_nonblocking)
{
	int base = hx_fd_mark();
	json_object *r, *e;
	long long hl, a, b, t0, dt;

	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = hx_geti(r, "handle");
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.2}", hl);
	r = hx_ok(&hx_c, "socket.gettimeout", "{\"handle\":%lld}", hl);
	ck_assert(hx_getd(r, "timeout") == 0.2);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert(hx_getd(r, "timeout") == 0.2);
	ck_assert(json_object_get_boolean(jpath(r, "blocking")));
	t0 = hx_mono_ms();
	e = hx_err(&hx_c, -32003, "socket.accept", "{\"handle\":%lld}", hl);
	dt = hx_mono_ms() - t0;
	ck_assert_msg(hx_getd(e, "data.timeout") == 0.2, "data.timeout: %s", json_object_to_json_string(e));
	ck_assert_msg(dt >= 150 && dt < 5000, "accept timed out after %lld ms, want about 200", dt);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(hx_geti(r, "pending"), 0);

	r = hx_ok(&hx_c, "socket.pair", "{}");
	a = hx_geti(r, "handles.0");
	b = hx_geti(r, "handles.1");
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.2}", a);
	t0 = hx_mono_ms();
	e = hx_err(&hx_c, -32003, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", a);
	dt = hx_mono_ms() - t0;
	ck_assert(hx_getd(e, "data.timeout") == 0.2);
	ck_assert_msg(dt >= 150 && dt < 5000, "recv timed out after %lld ms, want about 200", dt);

	/* Timeout 0: EAGAIN at once (Python's non-blocking mode). */
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", a);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", a);
	ck_assert(!json_object_get_boolean(jpath(r, "blocking")));
	t0 = hx_mono_ms();
	e = hx_os_err(&hx_c, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", a);
	ck_assert_int_eq(hx_geti(e, "data.errno"), EAGAIN);
	ck_assert_msg(hx_mono_ms() - t0 < 2000, "EAGAIN took %lld ms", hx_mono_ms() - t0);
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", hl);
	hx_os_err(&hx_c, "EAGAIN", "socket.accept", "{\"handle\":%lld}", hl);
	/* setblocking(false) is timeout 0, setblocking(true) is null. */
	hx_ok(&hx_c, "socket.setblocking", "{\"handle\":%lld,\"flag\":false}", b);
	r = hx_ok(&hx_c, "socket.gettimeout", "{\"handle\":%lld}", b);
	ck_assert(hx_getd(r, "timeout") == 0.0);
	hx_os_err(&hx_c, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", b);
	hx_ok(&hx_c, "socket.setblocking", "{\"handle\":%lld,\"flag\":true}", b);
	r = hx_ok(&hx_c, "socket.gettimeout", "{\"handle\":%lld}", b);
	ck_assert_msg(jpath(r, "timeout") == NULL && json_object_object_get_ex(r, "timeout", NULL),
	              "timeout not null: %s", json_object_to_json_string(r));
	/* Data present: recv with timeout 0 works. */
	hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"text\":\"now\"}", b);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", a);
	hx_expect_str(r, "data", "bm93");
	/* A negative timeout is refused, as Python's ValueError. */
	hx_err(&hx_c, -32602, "socket.settimeout", "{\"handle\":%lld,\"timeout\":-1}", a);

	/* net.setdefaulttimeout: the connection's default for new sockets. */
	hx_ok(&hx_c, "net.setdefaulttimeout", "{\"timeout\":0.2}");
	r = hx_ok(&hx_c, "net.getdefaulttimeout", "{}");
	ck_assert(hx_getd(r, "timeout") == 0.2);
	r = hx_ok(&hx_c, "socket.create", "{\"type\":\"SOCK_DGRAM\"}");
	{
		long long u = hx_geti(r, "handle");
		r = hx_ok(&hx_c, "socket.gettimeout", "{\"handle\":%lld}", u);
		ck_assert(hx_getd(r, "timeout") == 0.2);
		hx_close_handle(&hx_c, u);
	}
	hx_ok(&hx_c, "net.setdefaulttimeout", "{\"timeout\":null}");

	hx_close_handle(&hx_c, a);
	hx_close_handle(&hx_c, b);
	hx_close_handle(&hx_c, hl);
	hx_fd_back(base);
}
END_TEST

START_TEST(timeout_connect_blackhole)
{
	int base = hx_fd_mark();
	struct hx_blackhole bh;
	json_object *e, *r;
	long long h, t0, dt;

	hx_blackhole_open(&hx_c, &bh);
	h = hx_new_handle(&hx_c, "{}");
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.3}", h);
	t0 = hx_mono_ms();
	e = hx_err(&hx_c, -32003, "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h, bh.port);
	dt = hx_mono_ms() - t0;
	ck_assert(hx_getd(e, "data.timeout") == 0.3);
	ck_assert_msg(dt >= 250 && dt < 5000, "connect timed out after %lld ms, want about 300", dt);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", h);
	ck_assert_int_eq(hx_geti(r, "pending"), 0);
	hx_close_handle(&hx_c, h);

	/* Timeout 0: EINPROGRESS (connect) or errno EINPROGRESS (connect_ex). */
	h = hx_new_handle(&hx_c, "{}");
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", h);
	hx_os_err(&hx_c, "EINPROGRESS", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h, bh.port);
	hx_close_handle(&hx_c, h);
	h = hx_new_handle(&hx_c, "{}");
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", h);
	r = hx_ok(&hx_c, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h, bh.port);
	ck_assert_int_eq(hx_geti(r, "errno"), EINPROGRESS);
	hx_expect_str(r, "name", "EINPROGRESS");
	hx_close_handle(&hx_c, h);

	/* create_connection's timeout. */
	t0 = hx_mono_ms();
	e = hx_err(&hx_c, -32003, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d],\"timeout\":0.3}", bh.port);
	dt = hx_mono_ms() - t0;
	ck_assert_msg(dt >= 250 && dt < 5000, "connect_to timed out after %lld ms", dt);
	/* Its socket went with the failure. */
	ck_assert_int_eq(hx_list_handles(&hx_c, (long long[4]){ 0 }, 4), 1);

	hx_blackhole_close(&hx_c, &bh);
	hx_fd_back(base);
}
END_TEST

START_TEST(timeout_sendall_partial)
{
	int base = hx_fd_mark();
	enum { N = 400000 };
	unsigned char *big = hx_hold_mem(malloc(N));
	json_object *e, *r;
	long long a, b, sent;

	for (size_t i = 0; i < N; i++)
		big[i] = (unsigned char)(i * 7);
	r = hx_ok(&hx_c, "socket.pair", "{}");
	a = hx_geti(r, "handles.0");
	b = hx_geti(r, "handles.1");
	hx_ok(&hx_c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_SNDBUF\",\"value\":4096}", a);
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0.3}", a);
	e = hx_err(&hx_c, -32003, "socket.sendall", "{\"handle\":%lld,\"data\":\"%s\"}", a, hx_b64enc(big, N));
	ck_assert(hx_getd(e, "data.timeout") == 0.3);
	sent = hx_geti(e, "data.sent");
	ck_assert_msg(sent > 0 && sent < N, "sent %lld of %d", sent, N);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", a);
	ck_assert_int_eq(hx_geti(r, "bytes_out"), sent);
	/* What was sent is what the peer reads, in order. */
	{
		long long have = 0;
		for (int i = 0; i < 1000 && have < sent; i++) {
			size_t k;
			unsigned char *d;
			r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":65536}", b);
			d = hx_b64dec(hx_gets(r, "data"), &k);
			ck_assert_msg(k > 0 && have + (long long)k <= sent, "peer read %zu at %lld of %lld", k, have, sent);
			ck_assert_msg(memcmp(d, big + have, k) == 0, "bytes differ at %lld", have);
			have += (long long)k;
		}
		ck_assert_int_eq(have, sent);
	}
	hx_close_handle(&hx_c, a);
	hx_close_handle(&hx_c, b);
	hx_fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_timeouts");
	TCase *tc = hx_tcase(s, "timeouts", hx_setup, hx_teardown);

	tcase_add_test(tc, timeout_accept_recv_nonblocking);
	tcase_add_test(tc, timeout_connect_blackhole);
	tcase_add_test(tc, timeout_sendall_partial);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
