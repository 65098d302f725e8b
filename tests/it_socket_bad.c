/* Integration: bad input to the socket methods through the real daemon:
 * the handle limit, bad names, ports and addresses, bad sizes and bytes,
 * another client's handle and a missing family. Every test ends with the
 * daemon serving and its descriptor count back at its baseline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

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

	hx_start(&d2, args);
	ck_assert_int_eq(tconn_open(&c2, d2.sock), 0);
	hx_ping(&c2);
	base = sbd_fd_count(&d2);
	r = hx_expect_ok(hx_rpc(&c2, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}"), "listen_on");
	hl = hx_geti(r, "handle");
	port = hx_result_local_port(r);
	/* One left: a pair does not fit, and neither of its ends stays. */
	e = hx_expect_err(hx_rpc(&c2, "socket.pair", "{}"), -32012, "pair over the limit");
	hx_expect_str(e, "data.limit", "handles");
	ck_assert_int_eq(hx_geti(e, "data.max"), 2);
	r = hx_expect_ok(hx_rpc(&c2, "socket.create", "{}"), "create");
	h2 = hx_geti(r, "handle");
	hx_expect_err(hx_rpc(&c2, "socket.create", "{}"), -32012, "create over the limit");
	hx_expect_err(hx_rpc(&c2, "socket.dup", "{\"handle\":%lld}", h2), -32012, "dup over the limit");
	hx_expect_err(hx_rpc(&c2, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", port), -32012,
	           "connect_to over the limit");
	/* pass needs no handle. */
	r = hx_expect_ok(hx_rpc(&c2, "socket.create", "{\"pass\":true}"), "create with pass at the limit");
	close(hx_take_fd(&c2));
	/* accept over the limit: the accepted connection is closed, not kept. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	hx_expect_err(hx_rpc(&c2, "socket.accept", "{\"handle\":%lld}", hl), -32012, "accept over the limit");
	{
		char c;
		hx_wait_fd(fd, POLLIN);
		ck_assert_int_le(recv(fd, &c, 1, 0), 0);
	}
	close(fd);
	/* adopt over the limit: refused, the descriptor closed. */
	{
		int sv[2];
		char c;
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		hx_send_fds(&c2, "ad", "socket.adopt", "{\"fds\":1}", &sv[0], 1);
		hx_expect_err(hx_await(&c2, "ad"), -32012, "adopt over the limit");
		close(sv[0]);
		hx_wait_fd(sv[1], POLLIN);
		ck_assert_int_eq(recv(sv[1], &c, 1, 0), 0);
		close(sv[1]);
	}
	hx_expect_ok(hx_rpc(&c2, "socket.close", "{\"handle\":%lld}", h2), "close");
	hx_expect_ok(hx_rpc(&c2, "socket.close", "{\"handle\":%lld}", hl), "close");
	{
		int n = -1;
		for (int i = 0; i < 200 && n != base; i++) {
			hx_ping(&c2);
			n = sbd_fd_count(&d2);
		}
		ck_assert_msg(n == base, "the daemon has %d descriptors, want %d", n, base);
	}
	tconn_close(&c2);
	ck_assert_int_eq(sbd_stop(&d2), 0);
}
END_TEST

/* ---- 15. bad input ---- */

START_TEST(bad_names_ports_addresses)
{
	int base = hx_fd_mark();
	json_object *e;
	long long h, u, x6;

	hx_err(&hx_c, -32602, "socket.create", "{\"family\":\"AF_BOGUS\"}");
	hx_fd_back(base);
	hx_err(&hx_c, -32602, "socket.create", "{\"type\":\"SOCK_BOGUS\"}");
	hx_err(&hx_c, -32602, "socket.create", "{\"proto\":\"IPPROTO_BOGUS\"}");
	hx_err(&hx_c, -32602, "socket.create", "{\"family\":\"AF_INET\",\"bogus\":1}");
	hx_fd_back(base);

	e = hx_err(&hx_c, -32602, "socket.listen_on", "{\"address\":[\"127.0.0.1\",70000]}");
	ck_assert_msg(strstr(hx_gets(e, "message"), "70000") != NULL, "message quotes the port: %s",
	              json_object_to_json_string(e));
	hx_err(&hx_c, -32602, "socket.listen_on", "{\"address\":{\"host\":\"127.0.0.1\",\"port\":-1}}");
	hx_err(&hx_c, -32602, "socket.connect_to", "{\"address\":[\"127.0.0.1\",70000]}");
	hx_fd_back(base);

	h = hx_new_handle(&hx_c, "{\"family\":\"AF_INET\"}");
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",70000]}", h);
	e = hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":[\"x\"]}", h);
	ck_assert_msg(strstr(hx_gets(e, "message"), "AF_INET") != NULL, "message names the family: %s",
	              json_object_to_json_string(e));
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\"}}", h);
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"127.0.0.1\",\"port\":1,\"bogus\":2}}", h);
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":5}", h);
	hx_err(&hx_c, -32602, "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",\"eighty\"]}", h);
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld}", h);
	hx_close_handle(&hx_c, h);
	hx_fd_back(base);

	u = hx_new_handle(&hx_c, "{\"family\":\"AF_UNIX\"}");
	e = hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":5}", u);
	ck_assert_msg(strstr(hx_gets(e, "message"), "AF_UNIX") != NULL, "message names the family: %s",
	              json_object_to_json_string(e));
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"path\":\"/tmp/x\",\"abstract\":\"y\"}}", u);
	hx_close_handle(&hx_c, u);
	hx_fd_back(base);

	x6 = hx_new_handle(&hx_c, "{\"family\":\"AF_INET6\"}");
	e = hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"host\":\"::1\"}}", x6);
	ck_assert_msg(strstr(hx_gets(e, "message"), "port") != NULL, "message names the missing port: %s",
	              json_object_to_json_string(e));
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":[\"::1\",1,2,3,4]}", x6);
	hx_close_handle(&hx_c, x6);

	/* Netlink and ALG shapes too (no socket of those families needed to
	 * check the decoding: the address is decoded for the handle's family). */
	h = hx_new_handle(&hx_c, "{\"family\":\"AF_NETLINK\",\"type\":\"SOCK_RAW\",\"proto\":0}");
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":{\"pid\":-1,\"groups\":0}}", h);
	hx_err(&hx_c, -32602, "socket.bind", "{\"handle\":%lld,\"address\":\"lo\"}", h);
	hx_close_handle(&hx_c, h);
	hx_fd_back(base);

	/* Handles: not positive, unknown, wrong type. */
	hx_err(&hx_c, -32602, "socket.info", "{\"handle\":0}");
	hx_err(&hx_c, -32602, "socket.info", "{\"handle\":-3}");
	hx_err(&hx_c, -32602, "socket.info", "{\"handle\":\"1\"}");
	hx_err(&hx_c, -32602, "socket.info", "{}");
	e = hx_err(&hx_c, -32011, "socket.info", "{\"handle\":987654321}");
	ck_assert_int_eq(hx_geti(e, "data.handle"), 987654321);
	hx_fd_back(base);
}
END_TEST

START_TEST(bad_sizes_and_bytes)
{
	int base = hx_fd_mark();
	json_object *r, *e;
	long long a, b, ha, hb;
	int pa;
	size_t len;
	struct sbd d2;
	struct tconn c2;
	const char *const args[] = { "--max-recv-bytes", "1000", NULL };
	static unsigned char blob[3000];

	r = hx_ok(&hx_c, "socket.pair", "{}");
	a = hx_geti(r, "handles.0");
	b = hx_geti(r, "handles.1");
	e = hx_err(&hx_c, -32602, "socket.recv", "{\"handle\":%lld,\"bufsize\":-1}", a);
	hx_expect_str(e, "data.param", "bufsize");
	hx_err(&hx_c, -32602, "socket.recv", "{\"handle\":%lld}", a);
	hx_err(&hx_c, -32602, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":10,\"ancbufsize\":-1}", a);
	hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"text\":\"abc\"}", b);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":100000000}", a);
	hx_expect_str(r, "data", "YWJj");

	/* base64 that does not decode. */
	e = hx_err(&hx_c, -32602, "socket.send", "{\"handle\":%lld,\"data\":\"!!!!\"}", a);
	hx_expect_str(e, "data.param", "data");
	hx_err(&hx_c, -32602, "socket.sendall", "{\"handle\":%lld,\"data\":\"YWJ\"}", a);
	hx_err(&hx_c, -32602, "socket.sendmsg", "{\"handle\":%lld,\"buffers\":[\"@@@@\"]}", a);
	hx_err(&hx_c, -32602, "socket.sendmsg", "{\"handle\":%lld,\"buffers\":[5]}", a);
	hx_err(&hx_c, -32602, "socket.send", "{\"handle\":%lld,\"data\":\"YWJj\",\"text\":\"abc\"}", a);
	hx_err(&hx_c, -32602, "socket.send", "{\"handle\":%lld}", a);
	hx_err(&hx_c, -32602, "socket.setsockopt",
	    "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_RCVBUF\",\"value\":{\"data\":\"***\"}}", a);
	/* Nothing of the refused sends went out. */
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", b);
	hx_os_err(&hx_c, "EAGAIN", "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", b);
	hx_close_handle(&hx_c, a);
	hx_close_handle(&hx_c, b);
	hx_fd_back(base);

	/* bufsize 0 on a datagram socket: b"" and, as with Python's recv(0), the
	 * datagram stays for the next recv (it_pysem.sh compares with Python). */
	ha = hx_new_handle(&hx_c, "{\"type\":\"SOCK_DGRAM\"}");
	hb = hx_new_handle(&hx_c, "{\"type\":\"SOCK_DGRAM\"}");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", ha);
	pa = hx_handle_port(&hx_c, ha);
	hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"gone\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	hx_ok(&hx_c, "socket.sendto", "{\"handle\":%lld,\"text\":\"next\",\"address\":[\"127.0.0.1\",%d]}", hb, pa);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":0}", ha);
	hx_expect_str(r, "data", "");
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", ha);
	hx_expect_str(r, "data", "Z29uZQ==");
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":10}", ha);
	hx_expect_str(r, "data", "bmV4dA==");
	/* send on an unconnected UDP socket: no destination. */
	hx_os_err(&hx_c, "EDESTADDRREQ", "socket.send", "{\"handle\":%lld,\"text\":\"x\"}", hb);
	/* accept on a UDP socket. */
	e = hx_os_err(&hx_c, "EOPNOTSUPP", "socket.accept", "{\"handle\":%lld}", ha);
	ck_assert_int_eq(hx_geti(e, "data.errno"), EOPNOTSUPP);
	hx_os_err(&hx_c, "EOPNOTSUPP", "socket.listen", "{\"handle\":%lld}", ha);
	hx_close_handle(&hx_c, ha);
	hx_close_handle(&hx_c, hb);
	hx_fd_back(base);

	/* The cap itself, on a daemon whose cap is 1000 bytes. */
	hx_start(&d2, args);
	ck_assert_int_eq(tconn_open(&c2, d2.sock), 0);
	r = hx_expect_ok(hx_rpc(&c2, "daemon.info", "{}"), "daemon.info");
	ck_assert_int_eq(hx_geti(r, "limits.recv_bytes"), 1000);
	r = hx_expect_ok(hx_rpc(&c2, "socket.pair", "{}"), "pair");
	a = hx_geti(r, "handles.0");
	b = hx_geti(r, "handles.1");
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)i;
	r = hx_expect_ok(hx_rpc(&c2, "socket.sendall", "{\"handle\":%lld,\"data\":\"%s\"}", b, hx_b64enc(blob, sizeof(blob))),
	              "sendall");
	ck_assert_int_eq(hx_geti(r, "sent"), sizeof(blob));
	r = hx_expect_ok(hx_rpc(&c2, "socket.recv", "{\"handle\":%lld,\"bufsize\":100000000}", a), "huge recv");
	{
		unsigned char *d = hx_b64dec(hx_gets(r, "data"), &len);
		ck_assert_msg(len == 1000, "a capped recv gave %zu bytes, want 1000", len);
		ck_assert_int_eq(memcmp(d, blob, len), 0);
	}
	r = hx_expect_ok(hx_rpc(&c2, "socket.recvmsg", "{\"handle\":%lld,\"bufsize\":2147483647}", a), "huge recvmsg");
	hx_b64dec(hx_gets(r, "data"), &len);
	ck_assert_int_eq(len, 1000);
	tconn_close(&c2);
	ck_assert_int_eq(sbd_stop(&d2), 0);
	hx_fd_back(base);
}
END_TEST

START_TEST(bad_handle_owner_and_missing_family)
{
	int base = hx_fd_mark();
	struct tconn c2;
	json_object *e, *reply;
	long long h, h2;
	const char *lacking = NULL;
	static const char *const tries[][2] = {
		{ "AF_TIPC", "SOCK_RDM" }, { "AF_CAN", "SOCK_RAW" }, { "AF_ALG", "SOCK_SEQPACKET" },
	};

	/* A handle of another connection is invisible: -32011. */
	h = hx_new_handle(&hx_c, "{}");
	hx_open_conn(&c2, &hx_d);
	e = hx_expect_err(hx_rpc(&c2, "socket.info", "{\"handle\":%lld}", h), -32011, "another client's handle");
	ck_assert_int_eq(hx_geti(e, "data.handle"), h);
	hx_expect_err(hx_rpc(&c2, "socket.close", "{\"handle\":%lld}", h), -32011, "closing another client's handle");
	hx_expect_err(hx_rpc(&c2, "socket.detach", "{\"handle\":%lld}", h), -32011, "detaching another client's handle");
	hx_expect_err(hx_rpc(&c2, "socket.recv", "{\"handle\":%lld,\"bufsize\":1}", h), -32011, "recv on another's handle");
	ck_assert_int_eq(hx_list_handles(&c2, (long long[4]){ 0 }, 4), 0);
	/* Handles are never reused: c2's first handle is a new number. */
	h2 = hx_new_handle(&c2, "{}");
	ck_assert(h2 > h);
	tconn_close(&c2);
	hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", h);
	/* c2's handle went with c2. */
	hx_err(&hx_c, -32011, "socket.info", "{\"handle\":%lld}", h2);
	hx_close_handle(&hx_c, h);
	h2 = hx_new_handle(&hx_c, "{}");
	ck_assert(h2 > h);
	hx_close_handle(&hx_c, h2);
	hx_fd_back(base);

	/* A family this kernel lacks: EAFNOSUPPORT with a message naming it. */
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]) && !lacking; i++) {
		reply = hx_rpc(&hx_c, "socket.create", "{\"family\":\"%s\",\"type\":\"%s\"}", tries[i][0], tries[i][1]);
		if (reply_error_code(reply) == 0) {
			hx_close_handle(&hx_c, hx_geti(reply, "result.handle"));
			continue;
		}
		e = hx_expect_os(reply, "EAFNOSUPPORT", hx_fmt("socket.create %s", tries[i][0]));
		ck_assert_int_eq(hx_geti(e, "data.errno"), EAFNOSUPPORT);
		ck_assert_msg(strstr(hx_gets(e, "message"), tries[i][0]) != NULL, "the message does not name %s: %s",
		              tries[i][0], json_object_to_json_string(e));
		lacking = tries[i][0];
	}
	if (!lacking)
		printf("SKIP: this kernel has AF_TIPC, AF_CAN and AF_ALG: no missing family to try\n");
	/* The same through pass. */
	if (lacking)
		hx_expect_os(hx_rpc(&hx_c, "socket.create", "{\"family\":\"%s\",\"type\":\"SOCK_RAW\",\"pass\":true}", lacking), "EAFNOSUPPORT",
		          "socket.create pass of a missing family");
	ck_assert_int_eq(hx_c.nfds, 0);
	hx_fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_bad");
	TCase *tc = hx_tcase(s, "bad_input", hx_setup, hx_teardown);

	tcase_add_test(tc, handle_limit);
	tcase_add_test(tc, bad_names_ports_addresses);
	tcase_add_test(tc, bad_sizes_and_bytes);
	tcase_add_test(tc, bad_handle_owner_and_missing_family);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
