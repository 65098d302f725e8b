/* Integration: host names in the socket methods through the real daemon:
 * connect_to tries every address of a name and falls back to the next,
 * an echo over every getaddrinfo address, names where socket methods take
 * addresses, a client leaving while its name is resolved. Every test ends
 * with the daemon serving and its descriptor count back at its baseline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* Python's create_connection behaviour: the name is resolved and each address
 * tried in turn; a listener on 127.0.0.1 only is reached even when ::1 comes
 * first in getaddrinfo's answer. */
START_TEST(connect_to_by_name_tries_every_address)
{
	int base = hx_fd_mark();
	json_object *r;
	long long hl, hc;
	int port;
	size_t n;

	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	hl = hx_geti(r, "handle");
	port = hx_result_local_port(r);
	r = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":%d,\"type\":\"SOCK_STREAM\"}", port);
	n = json_object_array_length(jpath(r, "results"));
	ck_assert_int_ge(n, 1);
	if (n < 2 || strcmp(hx_gets(r, "results.0.family"), "AF_INET6") != 0)
		printf("note: localhost resolves to %zu address(es), first %s: the fallback path is not exercised\n",
		       n, hx_gets(r, "results.0.family"));
	r = hx_ok(&hx_c, "socket.connect_to", "{\"address\":[\"localhost\",%d],\"timeout\":5}", port);
	hc = hx_geti(r, "handle");
	hx_expect_str(r, "peer.host", "127.0.0.1");
	ck_assert_int_eq(hx_geti(r, "peer.port"), port);
	/* A name that does not resolve is a gaierror, and leaves no socket behind. */
	r = hx_err(&hx_c, -32001, "socket.connect_to", "{\"address\":[\"no-such-host.invalid\",80]}");
	ck_assert_ptr_nonnull(hx_gets(r, "data.name"));
	hx_close_handle(&hx_c, hc);
	hx_close_handle(&hx_c, hl);
	r = hx_ok(&hx_c, "socket.list", "{}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "sockets")), 0);
	hx_fd_back(base);
}
END_TEST

/* The socket module documentation's echo server and client "for IPv4 and
 * IPv6": both loop over what getaddrinfo returns and use the first address
 * that works, all through the daemon. */
START_TEST(echo_every_getaddrinfo_address)
{
	int base = hx_fd_mark();
	json_object *r, *res;
	long long hs = 0, hc = 0, ha;
	int port = 0;
	size_t n;

	res = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":null,\"port\":0,\"family\":\"AF_UNSPEC\","
	                                "\"type\":\"SOCK_STREAM\",\"flags\":[\"AI_PASSIVE\"]}");
	n = json_object_array_length(jpath(res, "results"));
	ck_assert_int_ge(n, 1);
	for (size_t i = 0; i < n && !hs; i++) {
		json_object *e = json_object_array_get_idx(jpath(res, "results"), i);
		json_object *cr = hx_ok(&hx_c, "socket.create", "{\"family\":\"%s\",\"type\":\"%s\"}", hx_gets(e, "family"), hx_gets(e, "type"));
		long long h = hx_geti(cr, "handle");
		json_object *br = hx_rpc(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":%s}", h,
		                                          json_object_to_json_string(jpath(e, "address")));
		if (jpath(br, "error")) {
			hx_close_handle(&hx_c, h);
			continue;
		}
		hx_ok(&hx_c, "socket.listen", "{\"handle\":%lld,\"backlog\":1}", h);
		hs = h;
		port = hx_handle_port(&hx_c, h);
	}
	ck_assert_msg(hs, "no passive address could be bound");
	res = hx_ok(&hx_c, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":%d,\"family\":\"AF_UNSPEC\","
	                                "\"type\":\"SOCK_STREAM\"}", port);
	n = json_object_array_length(jpath(res, "results"));
	for (size_t i = 0; i < n && !hc; i++) {
		json_object *e = json_object_array_get_idx(jpath(res, "results"), i);
		long long h = hx_geti(hx_ok(&hx_c, "socket.create", "{\"family\":\"%s\",\"type\":\"%s\"}",
		                                             hx_gets(e, "family"), hx_gets(e, "type")), "handle");
		json_object *cr = hx_rpc(&hx_c, "socket.connect", "{\"handle\":%lld,\"address\":%s}", h,
		                                             json_object_to_json_string(jpath(e, "address")));
		if (jpath(cr, "error")) {
			hx_close_handle(&hx_c, h);
			continue;
		}
		hc = h;
	}
	ck_assert_msg(hc, "the client reached no address of localhost");
	hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"text\":\"Hello, world\"}", hc);
	r = hx_ok(&hx_c, "socket.accept", "{\"handle\":%lld}", hs);
	ha = hx_geti(r, "handle");
	hx_recv_exact(&hx_c, ha, "Hello, world", 12);
	hx_ok(&hx_c, "socket.sendall", "{\"handle\":%lld,\"text\":\"Hello, world\"}", ha);
	hx_recv_exact(&hx_c, hc, "Hello, world", 12);
	hx_close_handle(&hx_c, ha);
	hx_close_handle(&hx_c, hc);
	hx_close_handle(&hx_c, hs);
	hx_fd_back(base);
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

	if (!hx_need_root("connect_to fallback (a private /etc/hosts)"))
		return;
	fd = mkstemp(hosts);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(write(fd, "::1 multi.test\n127.0.0.1 multi.test\n", 36), 0);
	close(fd);
	chmod(hosts, 0644);
	ck_assert_int_eq(sbd_start_prefixed(&d2, prefix, NULL), 0);
	ck_assert_int_eq(tconn_open(&t, d2.sock), 0);
	r = hx_ok(&t, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	port = hx_result_local_port(r);
	r = hx_ok(&t, "net.getaddrinfo", "{\"host\":\"multi.test\",\"port\":%d,\"type\":\"SOCK_STREAM\"}", port);
	ck_assert_int_eq(json_object_array_length(jpath(r, "results")), 2);
	hx_expect_str(r, "results.0.address.host", "::1");
	r = hx_ok(&t, "socket.connect_to", "{\"address\":[\"multi.test\",%d],\"timeout\":5}", port);
	hx_expect_str(r, "peer.host", "127.0.0.1");
	tconn_close(&t);
	ck_assert_int_eq(sbd_stop(&d2), 0);
	unlink(hosts);
}
END_TEST

/* Host names in bind, connect, sendto and listen_on are resolved as Python
 * resolves them (the socket's family, the first answer), off the loop. */
START_TEST(names_in_socket_methods)
{
	int base = hx_fd_mark();
	json_object *r;
	long long hl, hc, hu, hr;
	int port, uport;

	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"localhost\",0]}");
	hl = hx_geti(r, "handle");
	hx_expect_str(r, "local.host", "127.0.0.1");
	port = hx_result_local_port(r);
	hc = hx_new_handle(&hx_c, "{}");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":[\"localhost\",0]}", hc);
	r = hx_ok(&hx_c, "socket.getsockname", "{\"handle\":%lld}", hc);
	hx_expect_str(r, "address.host", "127.0.0.1");
	hx_ok(&hx_c, "socket.connect", "{\"handle\":%lld,\"address\":{\"host\":\"localhost\",\"port\":%d}}", hc, port);
	r = hx_ok(&hx_c, "socket.getpeername", "{\"handle\":%lld}", hc);
	ck_assert_int_eq(hx_geti(r, "address.port"), port);

	hr = hx_new_handle(&hx_c, "{\"type\":\"SOCK_DGRAM\"}");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", hr);
	uport = hx_handle_port(&hx_c, hr);
	hu = hx_new_handle(&hx_c, "{\"type\":\"SOCK_DGRAM\"}");
	r = hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"by name\",\"address\":[\"localhost\",%d]}", hu, uport);
	ck_assert_int_eq(hx_geti(r, "sent"), 7);
	hx_recv_exact(&hx_c, hr, "by name", 7);

	/* A name that does not resolve is a gaierror; the socket is untouched. */
	r = hx_err(&hx_c, -32001, "socket.connect", "{\"handle\":%lld,\"address\":[\"no-such-host.invalid\",1]}", hu);
	ck_assert_ptr_nonnull(hx_gets(r, "data.name"));
	hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hu);

	/* The socket closed while its name resolves: the re-run finds no handle. */
	hx_send(&hx_c, "nm", "socket.connect", hx_fmt("{\"handle\":%lld,\"address\":[\"localhost\",%d]}", hr, port));
	hx_send(&hx_c, "cl", "socket.close", hx_fmt("{\"handle\":%lld}", hr));
	{
		json_object *a = hx_await(&hx_c, "cl"), *b = hx_await(&hx_c, "nm");
		hx_expect_ok(a, "close");
		/* Either the connect ran before the close (a UDP connect succeeds)
		 * or it found the handle gone. */
		if (jpath(b, "error"))
			ck_assert_int_eq(hx_geti(b, "error.code"), -32011);
	}
	hx_close_handle(&hx_c, hu);
	hx_close_handle(&hx_c, hc);
	hx_close_handle(&hx_c, hl);
	hx_fd_back(base);
}
END_TEST

/* A client that leaves while a name resolves for it leaves nothing behind. */
START_TEST(leave_while_resolving)
{
	int base = hx_fd_mark();
	struct tconn t;
	long long h;

	hx_open_conn(&t, &hx_d);
	h = hx_new_handle(&t, "{}");
	hx_send(&t, "x", "socket.connect", hx_fmt("{\"handle\":%lld,\"address\":[\"localhost\",1]}", h));
	tconn_close(&t);
	hx_ping(&hx_c);
	hx_fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_names");
	TCase *tc = hx_tcase(s, "names", hx_setup, hx_teardown);

	tcase_add_test(tc, connect_to_by_name_tries_every_address);
	tcase_add_test(tc, echo_every_getaddrinfo_address);
	tcase_add_test(tc, connect_to_falls_back_to_next_address);
	tcase_add_test(tc, names_in_socket_methods);
	tcase_add_test(tc, leave_while_resolving);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
