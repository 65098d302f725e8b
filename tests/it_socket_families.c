/* Integration: the seeds' other address families through the real daemon
 * (issue 3): a netlink route dump, raw capture, AF_ALG sha256, AF_CAN on
 * vcan, a dual-stack server taking IPv4. Every test ends with the daemon
 * serving and its descriptor count back at its baseline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/can.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- 6. AF_NETLINK route socket: the interface list ---- */

START_TEST(netlink_getlink)
{
	int base = hx_fd_mark();
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifm;
	} req;
	json_object *r;
	long long h;
	bool done = false, lo = false;
	int names = 0;

	r = hx_ok(&hx_c, "socket.create", "{\"family\":\"AF_NETLINK\",\"type\":\"SOCK_RAW\",\"proto\":0}");
	h = hx_geti(r, "handle");
	hx_expect_str(r, "family", "AF_NETLINK");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":{\"pid\":0,\"groups\":0}}", h);
	r = hx_ok(&hx_c, "socket.getsockname", "{\"handle\":%lld}", h);
	ck_assert_int_gt(hx_geti(r, "address.pid"), 0);
	ck_assert_int_eq(hx_geti(r, "address.groups"), 0);
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":5}", h);

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 4242;
	req.ifm.ifi_family = AF_UNSPEC;
	r = hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"data\":\"%s\"}", h, hx_b64enc(&req, req.nh.nlmsg_len));
	ck_assert_int_eq(hx_geti(r, "sent"), req.nh.nlmsg_len);

	for (int i = 0; i < 100 && !done; i++) {
		size_t len;
		unsigned char *buf;
		struct nlmsghdr *nh;
		int left;

		r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":65536}", h);
		buf = hx_b64dec(hx_gets(r, "data"), &len);
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
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", h);
	ck_assert_int_gt(hx_geti(r, "bytes_in"), 0);
	hx_close_handle(&hx_c, h);
	hx_fd_back(base);
}
END_TEST

/* ---- 7. a raw socket captures a packet sent over loopback ---- */

START_TEST(raw_capture)
{
	int base, tx, rx, found = 0;
	long long h;
	json_object *r;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char payload[64];

	if (!hx_need_root("raw capture"))
		return;
	base = hx_fd_mark();
	r = hx_ok(&hx_c, "socket.create", "{\"family\":\"AF_INET\",\"type\":\"SOCK_RAW\",\"proto\":\"IPPROTO_UDP\"}");
	h = hx_geti(r, "handle");
	hx_expect_str(r, "type", "SOCK_RAW");
	hx_expect_str(r, "proto", "IPPROTO_UDP");
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":5}", h);
	r = hx_ok(&hx_c, "socket.gettimeout", "{\"handle\":%lld}", h);
	ck_assert(hx_getd(r, "timeout") == 5.0);

	/* A receiver, so that no ICMP error comes back. */
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(rx, 0);
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons((uint16_t)hx_fd_port(rx));
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(tx, 0);
	snprintf(payload, sizeof(payload), "sockbroker-raw-%d-%lld", (int)getpid(), hx_mono_ms());
	ck_assert_int_eq(sendto(tx, payload, strlen(payload), 0, (struct sockaddr *)&sin, sizeof(sin)),
	                 (ssize_t)strlen(payload));

	for (int i = 0; i < 200 && !found; i++) {
		size_t len, ihl;
		unsigned char *pkt;

		r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":65536}", h);
		pkt = hx_b64dec(hx_gets(r, "data"), &len);
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
	hx_close_handle(&hx_c, h);
	hx_fd_back(base);
}
END_TEST

/* ---- 8. AF_ALG sha256 ---- */

START_TEST(alg_sha256)
{
	int base = hx_fd_mark();
	json_object *reply, *r;
	long long h, op;

	reply = hx_rpc(&hx_c, "socket.create", "{\"family\":\"AF_ALG\",\"type\":\"SOCK_SEQPACKET\"}");
	if (reply_error_code(reply) == -32000 && jpath_str(reply, "error.data.name") &&
	    strcmp(jpath_str(reply, "error.data.name"), "EAFNOSUPPORT") == 0) {
		ck_assert_msg(strstr(hx_gets(reply, "error.message"), "AF_ALG") != NULL, "message names the family: %s",
		              json_object_to_json_string(reply));
		printf("SKIP: AF_ALG not in this kernel\n");
		hx_fd_back(base);
		return;
	}
	h = hx_geti(hx_expect_ok(reply, "socket.create AF_ALG"), "handle");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":{\"type\":\"hash\",\"name\":\"sha256\"}}", h);
	r = hx_ok(&hx_c, "socket.accept", "{\"handle\":%lld}", h);
	op = hx_geti(r, "handle");
	r = hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"text\":\"abc\"}", op);
	ck_assert_int_eq(hx_geti(r, "sent"), 3);
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":32}", op);
	/* ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad */
	hx_expect_str(r, "data", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	hx_close_handle(&hx_c, op);
	hx_close_handle(&hx_c, h);
	hx_fd_back(base);
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
	int base = hx_fd_mark();
	json_object *reply, *r;
	long long a, b;
	struct can_frame f, *g;
	size_t len;

	if (!hx_need_root("AF_CAN on vcan0: creating vcan0")) {
		hx_fd_back(base);
		return;
	}
	if (run_quiet("ip link add dev vcan0 type vcan") != 0) {
		printf("SKIP: AF_CAN: 'ip link add dev vcan0 type vcan' failed (no vcan module, no ip, or vcan0 exists)\n");
		hx_fd_back(base);
		return;
	}
	if (run_quiet("ip link set dev vcan0 up") != 0) {
		run_quiet("ip link del dev vcan0");
		ck_abort_msg("ip link set dev vcan0 up failed");
	}
	reply = hx_rpc(&hx_c, "socket.create", "{\"family\":\"AF_CAN\",\"type\":\"SOCK_RAW\",\"proto\":\"CAN_RAW\"}");
	if (reply_error_code(reply) == -32000 && jpath_str(reply, "error.data.name") &&
	    strcmp(jpath_str(reply, "error.data.name"), "EAFNOSUPPORT") == 0) {
		run_quiet("ip link del dev vcan0");
		printf("SKIP: AF_CAN: vcan exists but the kernel has no CAN sockets\n");
		hx_fd_back(base);
		return;
	}
	a = hx_geti(hx_expect_ok(reply, "socket.create AF_CAN"), "handle");
	b = hx_new_handle(&hx_c, "{\"family\":\"AF_CAN\",\"type\":\"SOCK_RAW\",\"proto\":1}");
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":{\"ifname\":\"vcan0\"}}", a);
	hx_ok(&hx_c, "socket.bind", "{\"handle\":%lld,\"address\":[\"vcan0\"]}", b);
	r = hx_ok(&hx_c, "socket.getsockname", "{\"handle\":%lld}", a);
	hx_expect_str(r, "address.ifname", "vcan0");
	hx_ok(&hx_c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":5}", b);
	memset(&f, 0, sizeof(f));
	f.can_id = 0x123;
	f.can_dlc = 4;
	memcpy(f.data, "\x01\x02\x03\x04", 4);
	r = hx_ok(&hx_c, "socket.send", "{\"handle\":%lld,\"data\":\"%s\"}", a, hx_b64enc(&f, sizeof(f)));
	ck_assert_int_eq(hx_geti(r, "sent"), sizeof(f));
	r = hx_ok(&hx_c, "socket.recv", "{\"handle\":%lld,\"bufsize\":%zu}", b, sizeof(f));
	g = (struct can_frame *)(void *)hx_b64dec(hx_gets(r, "data"), &len);
	ck_assert_int_eq(len, sizeof(f));
	ck_assert_int_eq(g->can_id, 0x123);
	ck_assert_int_eq(g->can_dlc, 4);
	ck_assert_int_eq(memcmp(g->data, f.data, 4), 0);
	hx_close_handle(&hx_c, a);
	hx_close_handle(&hx_c, b);
	ck_assert_int_eq(run_quiet("ip link del dev vcan0"), 0);
	hx_fd_back(base);
}
END_TEST

/* ---- 10. create_server with dualstack_ipv6 takes IPv4 ---- */

START_TEST(dualstack_accepts_ipv4)
{
	int base = hx_fd_mark();
	json_object *r;
	long long hl, hs;
	int port, fd;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (!hx_daemon_has_ipv6(&hx_c)) {
		printf("SKIP: dualstack_ipv6: the daemon reports has_ipv6 false\n");
		hx_fd_back(base);
		return;
	}
	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"::\",0],\"dualstack_ipv6\":true}");
	hl = hx_geti(r, "handle");
	hx_expect_str(r, "local.host", "::");
	port = hx_result_local_port(r);
	r = hx_ok(&hx_c, "socket.info", "{\"handle\":%lld}", hl);
	hx_expect_str(r, "family", "AF_INET6");
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_IPV6\",\"option\":\"IPV6_V6ONLY\"}", hl);
	ck_assert_msg(json_object_get_int(jpath(r, "value")) == 0, "V6ONLY is on: %s", json_object_to_json_string(r));

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "IPv4 connect: %s", strerror(errno));
	r = hx_ok(&hx_c, "socket.accept", "{\"handle\":%lld}", hl);
	hs = hx_geti(r, "handle");
	hx_expect_str(r, "peer.host", "::ffff:127.0.0.1");
	ck_assert_int_eq(hx_geti(r, "peer.flowinfo"), 0);
	ck_assert_int_eq(hx_geti(r, "peer.scope_id"), 0);
	ck_assert_int_eq(send(fd, "v4", 2, MSG_NOSIGNAL), 2);
	hx_recv_exact(&hx_c, hs, "v4", 2);
	close(fd);
	hx_close_handle(&hx_c, hs);
	hx_close_handle(&hx_c, hl);

	/* Without dualstack the IPv6 listener is V6ONLY. */
	r = hx_ok(&hx_c, "socket.listen_on", "{\"address\":[\"::1\",0]}");
	hl = hx_geti(r, "handle");
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_IPV6\",\"option\":\"IPV6_V6ONLY\"}", hl);
	ck_assert_msg(json_object_get_int(jpath(r, "value")) == 1, "V6ONLY is off: %s", json_object_to_json_string(r));
	hx_close_handle(&hx_c, hl);
	/* dualstack with an IPv4 address is refused. */
	hx_err(&hx_c, -32602, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0],\"dualstack_ipv6\":true}");
	hx_fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_families");
	TCase *tc = hx_tcase(s, "families", hx_setup, hx_teardown);

	tcase_add_test(tc, netlink_getlink);
	tcase_add_test(tc, raw_capture);
	tcase_add_test(tc, alg_sha256);
	tcase_add_test(tc, can_vcan);
	tcase_add_test(tc, dualstack_accepts_ipv4);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
