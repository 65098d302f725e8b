/* Integration: parked operations through the real daemon: two recvs on one
 * socket, a close, a detach or a leaving client with operations parked, a
 * stop with operations parked. Every test ends with the daemon serving and
 * its descriptor count back at its baseline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- 12. parked operations ---- */

START_TEST(two_recvs_parked_on_one_socket)
{
	int base = hx_fd_mark();
	json_object *r, *r1, *r2;
	long long ha, hb;
	int pa;

	ha = hx_new_handle(&hx_c, "{\"type\":\"SOCK_DGRAM\"}");
	hb = hx_new_handle(&hx_c, "{\"type\":\"SOCK_DGRAM\"}");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", ha);
	pa = hx_handle_port(&hx_c, ha);
	hx_send(&hx_c, "r1", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":100}", ha));
	hx_send(&hx_c, "r2", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":100}", ha));
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(hx_geti(r, "pending"), 2);
	hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"one\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"two\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	r1 = hx_expect_ok(hx_await(&hx_c, "r1"), "first parked recv");
	r2 = hx_expect_ok(hx_await(&hx_c, "r2"), "second parked recv");
	/* Oldest first. */
	hx_expect_str(r1, "data", "b25l");
	hx_expect_str(r2, "data", "dHdv");
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(hx_geti(r, "pending"), 0);

	/* A parked recv and a parked accept at once on different sockets, and
	 * other requests served meanwhile from another connection too. */
	{
		struct tconn c2;
		hx_open_conn(&c2, &hx_d);
		hx_send(&hx_c, "r3", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":100}", ha));
		hx_ping(&c2);
		hx_ping(&hx_c);
		hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"three\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
		hx_expect_str(hx_expect_ok(hx_await(&hx_c, "r3"), "third recv"), "data", "dGhyZWU=");
		tconn_close(&c2);
	}
	hx_close_handle(&hx_c, ha);
	hx_close_handle(&hx_c, hb);
	hx_fd_back(base);
}
END_TEST

START_TEST(close_with_operation_parked)
{
	int base = hx_fd_mark();
	json_object *r, *e;
	long long a, b, hl;

	r = hx_ok(&hx_c, "socket.pair", "{}");
	a = hx_geti(r, "handles.0");
	b = hx_geti(r, "handles.1");
	hx_send(&hx_c, "rp", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", a));
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", a);
	ck_assert_int_eq(hx_geti(r, "pending"), 1);
	hx_close_handle(&hx_c, a);
	e = hx_expect_os(hx_await(&hx_c, "rp"), "EBADF", "recv parked on a closed socket");
	ck_assert_int_eq(hx_geti(e, "data.errno"), EBADF);

	/* The same for accept, and for several operations at once. */
	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = hx_geti(r, "handle");
	hx_send(&hx_c, "ac1", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	hx_send(&hx_c, "ac2", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hl);
	ck_assert_int_eq(hx_geti(r, "pending"), 2);
	hx_close_handle(&hx_c, hl);
	hx_expect_os(hx_await(&hx_c, "ac1"), "EBADF", "accept parked on a closed socket");
	hx_expect_os(hx_await(&hx_c, "ac2"), "EBADF", "second accept parked on a closed socket");

	/* detach with a recv parked: the recv fails, the descriptor comes. (b's
	 * peer is closed, so b reads EOF at once: a fresh pair.) */
	hx_close_handle(&hx_c, b);
	r = hx_ok(&hx_c, "socket.pair", "{}");
	a = hx_geti(r, "handles.0");
	b = hx_geti(r, "handles.1");
	hx_send(&hx_c, "rd", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", b));
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", b);
	ck_assert_int_eq(hx_geti(r, "pending"), 1);
	hx_send(&hx_c, "dt", "socket.detach", hx_fmt("{\"handle\":%lld}", b));
	hx_expect_os(hx_await(&hx_c, "rd"), "EBADF", "recv parked on a detached socket");
	r = hx_expect_ok(hx_await(&hx_c, "dt"), "detach");
	ck_assert_int_eq(hx_geti(r, "fds"), 1);
	close(hx_take_fd(&hx_c));
	hx_close_handle(&hx_c, a);
	ck_assert_int_eq(hx_list_handles(&hx_c, (long long[4]){ 0 }, 4), 0);
	hx_fd_back(base);
}
END_TEST

START_TEST(client_leaves_with_operations_parked)
{
	int base = hx_fd_mark();
	struct tconn c2;
	json_object *r;
	long long u, hl, a;
	struct hx_blackhole bh;

	hx_blackhole_open(&hx_c, &bh);
	base = hx_fd_mark(); /* the blackhole stays until the end */
	hx_open_conn(&c2, &hx_d);
	u = hx_new_handle(&c2, "{\"type\":\"SOCK_DGRAM\"}");
	hx_ok(&c2, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", u);
	hx_send(&c2, "p1", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", u));
	hx_send(&c2, "p2", "socket.recvfrom", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", u));
	r = hx_ok(&c2, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = hx_geti(r, "handle");
	hx_send(&c2, "p3", "socket.accept", hx_fmt("{\"handle\":%lld}", hl));
	r = hx_ok(&c2, "socket.pair", "{}");
	a = hx_geti(r, "handles.0");
	hx_send(&c2, "p4", "socket.recvmsg", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", a));
	a = hx_new_handle(&c2, "{}");
	hx_send(&c2, "p5", "socket.connect", hx_fmt("{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", a, bh.port));
	r = hx_ok(&c2, "socket.info", "{\"handle\":%lld}", u);
	ck_assert_int_eq(hx_geti(r, "pending"), 2);
	tconn_close(&c2);
	hx_fd_back(base);
	hx_blackhole_close(&hx_c, &bh);
}
END_TEST

/* connect_to owns its socket until it answers: a client that leaves while
 * it waits, and a close or detach of that socket's handle meanwhile. */
START_TEST(client_leaves_with_connect_to_parked)
{
	int base;
	struct tconn c2;
	struct hx_blackhole bh;

	hx_blackhole_open(&hx_c, &bh);
	base = hx_fd_mark();
	hx_open_conn(&c2, &hx_d);
	hx_send(&c2, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	ck_assert_int_eq(hx_list_handles(&c2, (long long[4]){ 0 }, 4), 1);
	tconn_close(&c2);
	hx_fd_back(base);

	/* With a timeout too. */
	hx_open_conn(&c2, &hx_d);
	hx_send(&c2, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d],\"timeout\":30}", bh.port));
	hx_ping(&c2);
	tconn_close(&c2);
	hx_fd_back(base);
	hx_blackhole_close(&hx_c, &bh);
}
END_TEST

START_TEST(close_socket_of_parked_connect_to)
{
	int base;
	struct hx_blackhole bh;
	long long hs[4];

	hx_blackhole_open(&hx_c, &bh);
	base = hx_fd_mark();
	hx_send(&hx_c, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	ck_assert_int_eq(hx_list_handles(&hx_c, hs, 4), 2);
	{
		long long h = hs[0] == bh.h ? hs[1] : hs[0];
		hx_close_handle(&hx_c, h);
	}
	hx_expect_os(hx_await(&hx_c, "ct"), "EBADF", "connect_to whose socket was closed");
	ck_assert_int_eq(hx_list_handles(&hx_c, hs, 4), 1);
	hx_fd_back(base);
	hx_blackhole_close(&hx_c, &bh);
}
END_TEST

START_TEST(detach_socket_of_parked_connect_to)
{
	int base;
	struct hx_blackhole bh;
	long long hs[4], h;
	json_object *r, *ct;

	hx_blackhole_open(&hx_c, &bh);
	base = hx_fd_mark();
	hx_send(&hx_c, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	ck_assert_int_eq(hx_list_handles(&hx_c, hs, 4), 2);
	h = hs[0] == bh.h ? hs[1] : hs[0];
	hx_send(&hx_c, "dt", "socket.detach", hx_fmt("{\"handle\":%lld}", h));
	ct = hx_await(&hx_c, "ct");
	r = hx_await(&hx_c, "dt");
	hx_expect_os(ct, "EBADF", "connect_to whose socket was detached");
	/* Either the detach hands over a working socket, or it fails cleanly. */
	if (reply_error_code(r) == 0) {
		int fd, dom = 0;
		socklen_t l = sizeof(dom);
		ck_assert_int_eq(hx_geti(jpath(r, "result"), "fds"), 1);
		fd = hx_take_fd(&hx_c);
		ck_assert_msg(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) == 0 && dom == AF_INET,
		              "the detached descriptor is not the AF_INET socket");
		close(fd);
	}
	ck_assert_int_eq(hx_list_handles(&hx_c, hs, 4), 1);
	hx_fd_back(base);
	hx_blackhole_close(&hx_c, &bh);
}
END_TEST

/* The daemon stops (SIGTERM) with operations parked: each is answered
 * ECANCELED and the daemon exits 0. */
START_TEST(stop_with_operations_parked)
{
	struct sbd d2;
	struct tconn c2;
	struct hx_blackhole bh;
	json_object *r;
	long long a;
	const char *ids[] = { "ct", "rv", "ac" };

	hx_blackhole_open(&hx_c, &bh);
	hx_start(&d2, NULL);
	ck_assert_int_eq(tconn_open(&c2, d2.sock), 0);
	hx_send(&c2, "ct", "socket.connect_to", hx_fmt("{\"address\":[\"127.0.0.1\",%d]}", bh.port));
	r = hx_expect_ok(hx_rpc(&c2, "socket.pair", "{}"), "pair");
	a = hx_geti(r, "handles.0");
	hx_send(&c2, "rv", "socket.recv", hx_fmt("{\"handle\":%lld,\"bufsize\":10}", a));
	r = hx_expect_ok(hx_rpc(&c2, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}"), "listen_on");
	hx_send(&c2, "ac", "socket.accept", hx_fmt("{\"handle\":%lld}", hx_geti(r, "handle")));
	hx_ping(&c2);
	ck_assert_int_eq(sbd_stop(&d2), 0);
	for (size_t i = 0; i < 3; i++)
		hx_expect_os(hx_await(&c2, ids[i]), "ECANCELED", hx_fmt("%s cancelled by the stop", ids[i]));
	tconn_close(&c2);
	hx_blackhole_close(&hx_c, &bh);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_parked");
	TCase *tc = hx_tcase(s, "parked", hx_setup, hx_teardown);

	tcase_add_test(tc, two_recvs_parked_on_one_socket);
	tcase_add_test(tc, close_with_operation_parked);
	tcase_add_test(tc, client_leaves_with_operations_parked);
	tcase_add_test(tc, client_leaves_with_connect_to_parked);
	tcase_add_test(tc, close_socket_of_parked_connect_to);
	tcase_add_test(tc, detach_socket_of_parked_connect_to);
	tcase_add_test(tc, stop_with_operations_parked);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
