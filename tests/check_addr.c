#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
/* Check suite for proto/addr.c: every family of protocol section 3 in both
 * forms, the bytes of the sockaddr each gives (field by field, in network byte
 * order where the kernel wants it), the object form that comes back, and every
 * malformed shape with its error and message. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <linux/can.h>
#include <linux/if_alg.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>

#include "addr.h"
#include "util.h"
#include "unit.h"

#ifndef AF_BLUETOOTH
#define AF_BLUETOOTH 31
#endif

static json_object *parse(const char *text)
{
	json_object *j = json_tokener_parse(text);

	ck_assert_msg(j != NULL || strcmp(text, "null") == 0, "bad test JSON: %s", text);
	return j;
}

static unsigned lo_index(void)
{
	unsigned i = if_nametoindex("lo");

	ck_assert_msg(i != 0, "the loopback interface \"lo\" is needed by this test");
	return i;
}

/* Decodes text for family and expects success (0, not a name to resolve). */
static void decode_ok(int family, const char *text, struct sbaddr *a)
{
	json_object *j = parse(text);
	struct sbaddr_error err = { "" };
	char *host = NULL;
	int r = sbaddr_decode(family, j, a, &host, &err);

	ck_assert_msg(r == 0, "%s: %d (%s)", text, r, err.msg);
	ck_assert_ptr_null(host);
	ck_assert_int_eq(a->ss.ss_family, family);
	json_object_put(j);
}

static const char *show(json_object *j)
{
	return json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
}

/* Encodes a and compares with the JSON text want. */
static void check_encode(const struct sockaddr *sa, socklen_t len, const char *want)
{
	json_object *w = parse(want), *e = sbaddr_encode(sa, len);

	ck_assert_ptr_nonnull(e);
	ck_assert_msg(json_object_equal(e, w), "encoded %s, want %s", show(e), want);
	json_object_put(e);
	json_object_put(w);
}

/* ------------------------------------------------------------ round trips */

struct rt {
	int family;
	const char *json;
};

/* Each is in the object form the encoder writes, so object -> sockaddr -> object is the identity. */
static const struct rt round_trips[] = {
	{ AF_UNIX, "{\"path\": \"/run/x.sock\"}" },
	{ AF_UNIX, "{\"path\": \"relative/p\"}" },
	{ AF_UNIX, "{\"path\": \"\"}" },
	{ AF_UNIX, "{\"path\": \"/tmp/h\u00e9llo\"}" },
	{ AF_UNIX, "{\"path_data\": \"L3RtcC//\"}" },            /* "/tmp/\xff": not UTF-8 */
	{ AF_UNIX, "{\"abstract\": \"name\"}" },
	{ AF_UNIX, "{\"abstract\": \"\"}" },
	{ AF_UNIX, "{\"abstract\": \"caf\u00e9\"}" },
	{ AF_UNIX, "{\"abstract_data\": \"AP8A\"}" },            /* 00 ff 00 */
	{ AF_UNIX, "{\"abstract_data\": \"YQBi\"}" },            /* "a\0b": UTF-8 but holds a NUL */
	{ AF_INET, "{\"host\": \"127.0.0.1\", \"port\": 80}" },
	{ AF_INET, "{\"host\": \"0.0.0.0\", \"port\": 0}" },
	{ AF_INET, "{\"host\": \"255.255.255.255\", \"port\": 65535}" },
	{ AF_INET, "{\"host\": \"10.1.2.3\", \"port\": 8080}" },
	{ AF_INET6, "{\"host\": \"::1\", \"port\": 80, \"flowinfo\": 0, \"scope_id\": 0}" },
	{ AF_INET6, "{\"host\": \"::\", \"port\": 0, \"flowinfo\": 0, \"scope_id\": 0}" },
	{ AF_INET6, "{\"host\": \"fe80::1\", \"port\": 443, \"flowinfo\": 1048575, \"scope_id\": 4294967295}" },
	{ AF_INET6, "{\"host\": \"2001:db8::a:b\", \"port\": 65535, \"flowinfo\": 12345, \"scope_id\": 7}" },
	{ AF_INET6, "{\"host\": \"::ffff:1.2.3.4\", \"port\": 1, \"flowinfo\": 0, \"scope_id\": 0}" },
	{ AF_NETLINK, "{\"pid\": 0, \"groups\": 0}" },
	{ AF_NETLINK, "{\"pid\": 4294967295, \"groups\": 4294967295}" },
	{ AF_NETLINK, "{\"pid\": 1234, \"groups\": 5}" },
	{ AF_PACKET, "{\"ifname\": \"lo\", \"proto\": 768, \"pkttype\": 0, \"hatype\": 772, \"addr\": \"\"}" },
	{ AF_PACKET, "{\"ifname\": \"lo\", \"proto\": 2048, \"pkttype\": 4, \"hatype\": 1, \"addr\": \"AAECAwQF\"}" },
	{ AF_PACKET, "{\"ifname\": \"lo\", \"proto\": 65535, \"pkttype\": 255, \"hatype\": 65535, \"addr\": \"AQIDBAUGBwg=\"}" },
	{ AF_PACKET, "{\"ifindex\": 2147483647, \"proto\": 3, \"pkttype\": 0, \"hatype\": 0, \"addr\": \"\"}" },
	{ AF_PACKET, "{\"ifname\": \"\", \"proto\": 0, \"pkttype\": 0, \"hatype\": 0, \"addr\": \"\"}" },
	{ AF_CAN, "{\"ifname\": \"lo\"}" },
	{ AF_CAN, "{\"ifname\": \"\"}" },
	{ AF_CAN, "{\"ifindex\": 2147483647}" },
	{ AF_CAN, "{\"ifname\": \"lo\", \"rx_addr\": 291, \"tx_addr\": 1110}" },
	{ AF_CAN, "{\"ifname\": \"lo\", \"rx_addr\": 4294967295}" },
	{ AF_CAN, "{\"ifname\": \"lo\", \"tx_addr\": 2147485696}" },
	{ AF_VSOCK, "{\"cid\": 2, \"port\": 1234}" },
	{ AF_VSOCK, "{\"cid\": 4294967295, \"port\": 4294967295}" },
	{ AF_VSOCK, "{\"cid\": 0, \"port\": 0}" },
#ifdef VMADDR_FLAG_TO_HOST
	{ AF_VSOCK, "{\"cid\": 3, \"port\": 5, \"flags\": 1}" },
#endif
	{ AF_ALG, "{\"type\": \"hash\", \"name\": \"sha256\", \"feat\": 0, \"mask\": 0}" },
	{ AF_ALG, "{\"type\": \"skcipher\", \"name\": \"cbc(aes)\", \"feat\": 4294967295, \"mask\": 7}" },
	{ AF_ALG, "{\"type\": \"0123456789abc\", \"name\": \"012345678901234567890123456789012345678901234567890123456789012\", \"feat\": 1, \"mask\": 2}" },
	{ AF_ALG, "{\"type\": \"\", \"name\": \"\", \"feat\": 0, \"mask\": 0}" },
	{ AF_TIPC, "{\"addr_type\": \"TIPC_ADDR_NAME\", \"v1\": 1, \"v2\": 2, \"v3\": 0, \"scope\": \"TIPC_CLUSTER_SCOPE\"}" },
	{ AF_TIPC, "{\"addr_type\": \"TIPC_ADDR_NAME\", \"v1\": 18888, \"v2\": 17, \"v3\": 4711, \"scope\": \"TIPC_ZONE_SCOPE\"}" },
	{ AF_TIPC, "{\"addr_type\": \"TIPC_ADDR_NAMESEQ\", \"v1\": 18888, \"v2\": 10, \"v3\": 20, \"scope\": \"TIPC_NODE_SCOPE\"}" },
	{ AF_TIPC, "{\"addr_type\": \"TIPC_ADDR_ID\", \"v1\": 16781313, \"v2\": 4294967295, \"v3\": 0, \"scope\": \"TIPC_CLUSTER_SCOPE\"}" },
	{ AF_TIPC, "{\"addr_type\": \"TIPC_ADDR_NAME\", \"v1\": 1, \"v2\": 2, \"v3\": 3, \"scope\": 0}" },
	{ AF_TIPC, "{\"addr_type\": \"TIPC_ADDR_NAME\", \"v1\": 1, \"v2\": 2, \"v3\": 3, \"scope\": 255}" },
};

START_TEST(test_round_trip)
{
	const struct rt *t = &round_trips[_i];
	json_object *orig = parse(t->json), *back;
	struct sbaddr a;

	decode_ok(t->family, t->json, &a);
	ck_assert_uint_gt(a.len, sizeof(sa_family_t) - 1);
	ck_assert_uint_le(a.len, sizeof(a.ss));
	back = sbaddr_encode((struct sockaddr *)&a.ss, a.len);
	ck_assert_ptr_nonnull(back);
	ck_assert_msg(json_object_equal(back, orig), "%s came back as %s", t->json, show(back));
	/* A CAN address with only its interface looks like nothing in particular. */
	ck_assert_int_eq(sbaddr_guess_family(orig),
	                 t->family == AF_CAN && !strstr(t->json, "_addr") ? AF_UNSPEC : t->family);
	json_object_put(back);
	json_object_put(orig);
}
END_TEST

/* ------------------------------------------------------------ tuple form == object form */

struct eq {
	int family;
	const char *a;
	const char *b;
};

static const struct eq equivalents[] = {
	{ AF_UNIX, "\"/run/x.sock\"", "{\"path\": \"/run/x.sock\"}" },
	{ AF_UNIX, "\"\"", "{\"path\": \"\"}" },
	{ AF_UNIX, "\"\\u0000abc\"", "{\"abstract\": \"abc\"}" },
	{ AF_UNIX, "\"\\u0000abc\"", "{\"abstract_data\": \"YWJj\"}" },
	{ AF_UNIX, "\"\\u0000\"", "{\"abstract\": \"\"}" },
	{ AF_UNIX, "{\"path_data\": \"L3J1bi94LnNvY2s=\"}", "{\"path\": \"/run/x.sock\"}" },
	{ AF_INET, "[\"127.0.0.1\", 80]", "{\"host\": \"127.0.0.1\", \"port\": 80}" },
	{ AF_INET, "[\"\", 0]", "{\"host\": \"0.0.0.0\", \"port\": 0}" },
	{ AF_INET, "[\"<broadcast>\", 9]", "{\"port\": 9, \"host\": \"255.255.255.255\"}" },
	{ AF_INET6, "[\"::1\", 80]", "{\"host\": \"::1\", \"port\": 80}" },
	{ AF_INET6, "[\"::1\", 80]", "{\"host\": \"::1\", \"port\": 80, \"flowinfo\": 0, \"scope_id\": 0}" },
	{ AF_INET6, "[\"::1\", 80, 5]", "{\"host\": \"::1\", \"port\": 80, \"flowinfo\": 5}" },
	{ AF_INET6, "[\"fe80::1\", 80, 5, 9]", "{\"host\": \"fe80::1\", \"port\": 80, \"flowinfo\": 5, \"scope_id\": 9}" },
	{ AF_INET6, "[\"fe80::1%9\", 80]", "{\"host\": \"fe80::1\", \"port\": 80, \"scope_id\": 9}" },
	{ AF_INET6, "[\"fe80::1%9\", 80, 0, 9]", "{\"host\": \"fe80::1%9\", \"port\": 80}" },
	{ AF_INET6, "[\"\", 80]", "{\"host\": \"::\", \"port\": 80}" },
	{ AF_NETLINK, "[1, 2]", "{\"pid\": 1, \"groups\": 2}" },
	{ AF_PACKET, "[\"lo\", 768]", "{\"ifname\": \"lo\", \"proto\": 768}" },
	{ AF_PACKET, "[\"lo\", 768, 1, 2, \"AQID\"]", "{\"ifname\": \"lo\", \"proto\": 768, \"pkttype\": 1, \"hatype\": 2, \"addr\": \"AQID\"}" },
	{ AF_PACKET, "[\"lo\", 3, 0, 0, \"\"]", "{\"ifname\": \"lo\", \"proto\": 3}" },
	{ AF_CAN, "[\"lo\"]", "{\"ifname\": \"lo\"}" },
	{ AF_CAN, "[\"\"]", "{\"ifindex\": 0}" },
	{ AF_CAN, "[\"lo\", 1, 2]", "{\"ifname\": \"lo\", \"rx_addr\": 1, \"tx_addr\": 2}" },
	{ AF_CAN, "[\"lo\", 1, 2, 3]", "{\"ifname\": \"lo\", \"name\": 1, \"pgn\": 2, \"addr\": 3}" },
	{ AF_CAN, "[\"lo\", 18446744073709551615, 262143, 255]", "{\"ifname\": \"lo\", \"name\": 18446744073709551615, \"pgn\": 262143, \"addr\": 255}" },
	{ AF_VSOCK, "[2, 1234]", "{\"cid\": 2, \"port\": 1234}" },
	{ AF_ALG, "[\"hash\", \"sha256\"]", "{\"type\": \"hash\", \"name\": \"sha256\"}" },
	{ AF_ALG, "[\"hash\", \"sha256\", 1, 2]", "{\"type\": \"hash\", \"name\": \"sha256\", \"feat\": 1, \"mask\": 2}" },
	{ AF_ALG, "[\"hash\", \"sha256\", 1]", "{\"type\": \"hash\", \"name\": \"sha256\", \"feat\": 1, \"mask\": 0}" },
	{ AF_TIPC, "[2, 1, 2, 0]", "{\"addr_type\": \"TIPC_ADDR_NAME\", \"v1\": 1, \"v2\": 2, \"v3\": 0}" },
	{ AF_TIPC, "[2, 1, 2, 0]", "{\"addr_type\": 2, \"v1\": 1, \"v2\": 2, \"v3\": 0, \"scope\": \"TIPC_CLUSTER_SCOPE\"}" },
	{ AF_TIPC, "[\"TIPC_ADDR_NAMESEQ\", 1, 2, 3, \"TIPC_NODE_SCOPE\"]", "[1, 1, 2, 3, 3]" },
	{ AF_TIPC, "[\"TIPC_SERVICE_RANGE\", 1, 2, 3]", "[\"TIPC_ADDR_MCAST\", 1, 2, 3]" },
	{ AF_TIPC, "[3, 7, 8, 0, 1]", "{\"addr_type\": \"TIPC_ADDR_ID\", \"v1\": 7, \"v2\": 8, \"v3\": 99, \"scope\": \"TIPC_ZONE_SCOPE\"}" },
};

START_TEST(test_tuple_equals_object)
{
	const struct eq *t = &equivalents[_i];
	struct sbaddr a, b;

	decode_ok(t->family, t->a, &a);
	decode_ok(t->family, t->b, &b);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_msg(memcmp(&a.ss, &b.ss, sizeof(a.ss)) == 0, "%s and %s differ", t->a, t->b);
}
END_TEST

/* ------------------------------------------------------------ bytes, field by field */

static void expect_bytes(int family, const char *text, const void *want, socklen_t want_len)
{
	struct sbaddr a;

	decode_ok(family, text, &a);
	ck_assert_uint_eq(a.len, want_len);
	ck_assert_msg(memcmp(&a.ss, want, want_len) == 0, "%s: bytes differ", text);
	/* Nothing is left behind the address. */
	for (size_t i = want_len; i < sizeof(a.ss); i++)
		ck_assert_int_eq(((unsigned char *)&a.ss)[i], 0);
}

START_TEST(test_bytes_unix)
{
	struct sockaddr_un sun;
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	char longest[sizeof(sun.sun_path)], text[sizeof(longest) + 32];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, "/run/x.sock");
	expect_bytes(AF_UNIX, "\"/run/x.sock\"", &sun, (socklen_t)(off + strlen("/run/x.sock") + 1));
	expect_bytes(AF_UNIX, "{\"path\": \"/run/x.sock\"}", &sun, (socklen_t)(off + 12));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, "\0name", 5);
	expect_bytes(AF_UNIX, "{\"abstract\": \"name\"}", &sun, (socklen_t)(off + 1 + 4));
	memcpy(sun.sun_path, "\0\0\xff\0", 4);
	expect_bytes(AF_UNIX, "{\"abstract_data\": \"AP8A\"}", &sun, (socklen_t)(off + 1 + 3));

	/* The unnamed address: just the family (bind() autobinds). */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	expect_bytes(AF_UNIX, "\"\"", &sun, (socklen_t)sizeof(sa_family_t));
	expect_bytes(AF_UNIX, "{\"abstract\": \"\"}", &sun, (socklen_t)(off + 1));

	/* The longest path (107 bytes and the NUL) and the longest abstract name (107). */
	memset(longest, 'p', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	snprintf(text, sizeof(text), "\"%s\"", longest);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, longest, sizeof(longest) - 1);
	expect_bytes(AF_UNIX, text, &sun, (socklen_t)sizeof(sun));
	snprintf(text, sizeof(text), "{\"abstract\": \"%s\"}", longest);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, longest, sizeof(longest) - 1);
	expect_bytes(AF_UNIX, text, &sun, (socklen_t)sizeof(sun));
}
END_TEST

START_TEST(test_bytes_inet)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(8080);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	expect_bytes(AF_INET, "[\"127.0.0.1\", 8080]", &sin, sizeof(sin));
	ck_assert_int_eq(((unsigned char *)&sin.sin_port)[0], 0x1f);   /* 8080 = 0x1f90, big-endian */
	sin.sin_port = htons(0);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	expect_bytes(AF_INET, "{\"host\": \"\", \"port\": 0}", &sin, sizeof(sin));
	sin.sin_port = htons(65535);
	sin.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	expect_bytes(AF_INET, "[\"<broadcast>\", 65535]", &sin, sizeof(sin));
	sin.sin_port = htons(1);
	sin.sin_addr.s_addr = htonl(0x0a010203);
	expect_bytes(AF_INET, "[\"10.1.2.3\", 1]", &sin, sizeof(sin));
}
END_TEST

START_TEST(test_bytes_inet6)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	sin6.sin6_flowinfo = htonl(0xabcde);
	sin6.sin6_scope_id = 3;
	ck_assert_int_eq(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
	expect_bytes(AF_INET6, "[\"fe80::1\", 443, 703710, 3]", &sin6, sizeof(sin6));
	expect_bytes(AF_INET6, "[\"fe80::1%3\", 443, 703710]", &sin6, sizeof(sin6));
	sin6.sin6_scope_id = lo_index();
	expect_bytes(AF_INET6, "[\"fe80::1%lo\", 443, 703710]", &sin6, sizeof(sin6));
	expect_bytes(AF_INET6, "{\"host\": \"fe80::1%lo\", \"port\": 443, \"flowinfo\": 703710, \"scope_id\": 0}",
	             &sin6, sizeof(sin6));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(80);
	sin6.sin6_addr = in6addr_loopback;
	expect_bytes(AF_INET6, "{\"host\": \"::1\", \"port\": 80}", &sin6, sizeof(sin6));
	sin6.sin6_addr = in6addr_any;
	expect_bytes(AF_INET6, "[\"\", 80]", &sin6, sizeof(sin6));
}
END_TEST

START_TEST(test_bytes_netlink)
{
	struct sockaddr_nl nl;

	memset(&nl, 0, sizeof(nl));
	nl.nl_family = AF_NETLINK;
	nl.nl_pid = 4242;
	nl.nl_groups = 0x80000001u;
	expect_bytes(AF_NETLINK, "[4242, 2147483649]", &nl, sizeof(nl));
}
END_TEST

START_TEST(test_bytes_packet)
{
	struct sockaddr_ll ll;

	memset(&ll, 0, sizeof(ll));
	ll.sll_family = AF_PACKET;
	ll.sll_protocol = htons(ETH_P_ALL);
	ll.sll_ifindex = (int)lo_index();
	ll.sll_pkttype = PACKET_OUTGOING;
	ll.sll_hatype = 772;
	ll.sll_halen = 6;
	memcpy(ll.sll_addr, "\x00\x01\x02\x03\x04\x05", 6);
	expect_bytes(AF_PACKET, "[\"lo\", 3, 4, 772, \"AAECAwQF\"]", &ll, sizeof(ll));
	ck_assert_int_eq(((unsigned char *)&ll.sll_protocol)[1], ETH_P_ALL);   /* network order */
	ll.sll_ifindex = 77;
	expect_bytes(AF_PACKET, "{\"ifindex\": 77, \"proto\": 3, \"pkttype\": 4, \"hatype\": 772, \"addr\": \"AAECAwQF\"}",
	             &ll, sizeof(ll));
	memset(&ll, 0, sizeof(ll));
	ll.sll_family = AF_PACKET;
	ll.sll_protocol = htons(ETH_P_IP);
	expect_bytes(AF_PACKET, "[\"\", 2048]", &ll, sizeof(ll));
	ll.sll_halen = 8;
	memcpy(ll.sll_addr, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	expect_bytes(AF_PACKET, "[\"\", 2048, 0, 0, \"AQIDBAUGBwg=\"]", &ll, sizeof(ll));
}
END_TEST

START_TEST(test_bytes_can)
{
	struct sockaddr_can can;

	memset(&can, 0, sizeof(can));
	can.can_family = AF_CAN;
	can.can_ifindex = (int)lo_index();
	expect_bytes(AF_CAN, "[\"lo\"]", &can, sizeof(can));
	can.can_addr.tp.rx_id = 0x123;
	can.can_addr.tp.tx_id = 0x80000456u;
	expect_bytes(AF_CAN, "[\"lo\", 291, 2147484758]", &can, sizeof(can));
	memset(&can.can_addr, 0, sizeof(can.can_addr));
	can.can_ifindex = 12;
	can.can_addr.j1939.name = 0x1122334455667788ULL;
	can.can_addr.j1939.pgn = 0x3ffff;
	can.can_addr.j1939.addr = 0xfe;
	expect_bytes(AF_CAN, "{\"ifindex\": 12, \"name\": 1234605616436508552, \"pgn\": 262143, \"addr\": 254}",
	             &can, sizeof(can));
}
END_TEST

START_TEST(test_bytes_vsock)
{
	struct sockaddr_vm vm;

	memset(&vm, 0, sizeof(vm));
	vm.svm_family = AF_VSOCK;
	vm.svm_cid = VMADDR_CID_HOST;
	vm.svm_port = 1234;
	expect_bytes(AF_VSOCK, "[2, 1234]", &vm, sizeof(vm));
	vm.svm_cid = VMADDR_CID_ANY;
	vm.svm_port = VMADDR_PORT_ANY;
	expect_bytes(AF_VSOCK, "{\"cid\": 4294967295, \"port\": 4294967295}", &vm, sizeof(vm));
#ifdef VMADDR_FLAG_TO_HOST
	vm.svm_flags = VMADDR_FLAG_TO_HOST;
	expect_bytes(AF_VSOCK, "{\"cid\": 4294967295, \"port\": 4294967295, \"flags\": 1}", &vm, sizeof(vm));
#endif
}
END_TEST

START_TEST(test_bytes_alg)
{
	struct sockaddr_alg alg;

	memset(&alg, 0, sizeof(alg));
	alg.salg_family = AF_ALG;
	memcpy(alg.salg_type, "hash", 4);
	memcpy(alg.salg_name, "sha256", 6);
	expect_bytes(AF_ALG, "[\"hash\", \"sha256\"]", &alg, sizeof(alg));
	alg.salg_feat = 1;
	alg.salg_mask = 0xffffffffu;
	expect_bytes(AF_ALG, "[\"hash\", \"sha256\", 1, 4294967295]", &alg, sizeof(alg));
}
END_TEST

START_TEST(test_bytes_tipc)
{
	struct sockaddr_tipc t;

	memset(&t, 0, sizeof(t));
	t.family = AF_TIPC;
	t.addrtype = TIPC_ADDR_NAMESEQ;
	t.scope = TIPC_NODE_SCOPE;
	t.addr.nameseq.type = 18888;
	t.addr.nameseq.lower = 10;
	t.addr.nameseq.upper = 20;
	expect_bytes(AF_TIPC, "[1, 18888, 10, 20, 3]", &t, sizeof(t));

	memset(&t, 0, sizeof(t));
	t.family = AF_TIPC;
	t.addrtype = TIPC_ADDR_NAME;
	t.scope = TIPC_CLUSTER_SCOPE;
	t.addr.name.name.type = 18888;
	t.addr.name.name.instance = 17;
	t.addr.name.domain = 4711;
	expect_bytes(AF_TIPC, "[\"TIPC_ADDR_NAME\", 18888, 17, 4711]", &t, sizeof(t));

	memset(&t, 0, sizeof(t));
	t.family = AF_TIPC;
	t.addrtype = TIPC_ADDR_ID;
	t.scope = TIPC_ZONE_SCOPE;
	t.addr.id.node = 0x01001001;      /* v1 is the node, v2 the ref, as Python maps them */
	t.addr.id.ref = 99;
	expect_bytes(AF_TIPC, "[3, 16781313, 99, 0, \"TIPC_ZONE_SCOPE\"]", &t, sizeof(t));
	t.scope = (signed char)0xff;
	expect_bytes(AF_TIPC, "[3, 16781313, 99, 0, 255]", &t, sizeof(t));
}
END_TEST

/* ------------------------------------------------------------ names to resolve */

START_TEST(test_inet_names)
{
	json_object *j = parse("[\"example.com\", 443]");
	struct sbaddr_error err = { "" };
	struct sbaddr a;
	char *host = (char *)"junk";
	struct sockaddr_in want;

	ck_assert_int_eq(sbaddr_decode(AF_INET, j, &a, &host, &err), SBADDR_NEEDS_RESOLVE);
	ck_assert_str_eq(host, "example.com");
	memset(&want, 0, sizeof(want));
	want.sin_family = AF_INET;
	want.sin_port = htons(443);
	ck_assert_uint_eq(a.len, sizeof(want));
	ck_assert_int_eq(memcmp(&a.ss, &want, sizeof(want)), 0);
	free(host);

	/* Without a place for the name, a name is an error. */
	ck_assert_int_eq(sbaddr_decode(AF_INET, j, &a, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not resolved here"));
	ck_assert_ptr_nonnull(strstr(err.msg, "example.com"));
	ck_assert_uint_eq(a.len, 0);
	json_object_put(j);

	/* INET6 keeps port, flowinfo and scope_id for the resolved address. */
	j = parse("{\"host\": \"ip6.example\", \"port\": 80, \"flowinfo\": 5, \"scope_id\": 2}");
	ck_assert_int_eq(sbaddr_decode(AF_INET6, j, &a, &host, &err), SBADDR_NEEDS_RESOLVE);
	ck_assert_str_eq(host, "ip6.example");
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 80);
	ck_assert_uint_eq(ntohl(sin6->sin6_flowinfo), 5);
	ck_assert_uint_eq(sin6->sin6_scope_id, 2);
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
	ck_assert_uint_eq(a.len, sizeof(*sin6));
	free(host);
	json_object_put(j);

	/* A %zone after something that is not an IPv6 literal stays part of the name. */
	j = parse("[\"host%lo\", 80]");
	ck_assert_int_eq(sbaddr_decode(AF_INET6, j, &a, &host, &err), SBADDR_NEEDS_RESOLVE);
	ck_assert_str_eq(host, "host%lo");
	free(host);
	json_object_put(j);

	/* IPv4 literals are names to AF_INET6 (the resolver may map them); odd forms too. */
	j = parse("[\"1.2\", 80]");
	ck_assert_int_eq(sbaddr_decode(AF_INET, j, &a, &host, &err), SBADDR_NEEDS_RESOLVE);
	ck_assert_str_eq(host, "1.2");
	free(host);
	json_object_put(j);
}
END_TEST

/* ------------------------------------------------------------ malformed */

struct bad {
	int family;
	const char *json;
	int error;
	const char *msg;     /* a part the message must hold */
};

static const struct bad bad_cases[] = {
	/* shapes every family shares */
	{ AF_INET, "\"127.0.0.1\"", -EINVAL, "AF_INET address: expected an object or [host, port], got \"127.0.0.1\"" },
	{ AF_INET, "5", -EINVAL, "got 5" },
	{ AF_INET, "null", -EINVAL, "got null" },
	{ AF_INET, "true", -EINVAL, "got true" },
	{ AF_INET, "[\"127.0.0.1\"]", -EINVAL, "the tuple form is [host, port], got 1 element" },
	{ AF_INET, "[\"127.0.0.1\", 80, 0]", -EINVAL, "got 3 elements" },
	{ AF_INET, "[]", -EINVAL, "got 0 elements" },
	{ AF_INET, "{\"host\": \"127.0.0.1\"}", -EINVAL, "member \"port\" is missing" },
	{ AF_INET, "{\"port\": 80}", -EINVAL, "member \"host\" is missing" },
	{ AF_INET, "{\"host\": \"127.0.0.1\", \"port\": 80, \"flowinfo\": 0}", -EINVAL, "unknown member \"flowinfo\"" },
	{ AF_INET, "{\"host\": \"127.0.0.1\", \"port\": 80, \"x\\u00ff\\n\": 0}", -EINVAL, "unknown member \"x\\xc3\\xbf\\x0a\"" },
	/* AF_INET members */
	{ AF_INET, "{\"host\": \"127.0.0.1\", \"port\": 70000}", -EINVAL,
	  "AF_INET address: port must be an integer 0-65535, got 70000" },
	{ AF_INET, "[\"127.0.0.1\", -1]", -EINVAL, "port must be an integer 0-65535, got -1" },
	{ AF_INET, "[\"127.0.0.1\", \"80\"]", -EINVAL, "got \"80\"" },
	{ AF_INET, "[\"127.0.0.1\", 80.0]", -EINVAL, "got 80.0" },
	{ AF_INET, "[\"127.0.0.1\", 8e1]", -EINVAL, "port must be an integer" },
	{ AF_INET, "[\"127.0.0.1\", true]", -EINVAL, "got true" },
	{ AF_INET, "[\"127.0.0.1\", null]", -EINVAL, "got null" },
	{ AF_INET, "[\"127.0.0.1\", 18446744073709551615]", -EINVAL, "got 18446744073709551615" },
	{ AF_INET, "[5, 80]", -EINVAL, "host must be a string, got 5" },
	{ AF_INET, "[[\"127.0.0.1\"], 80]", -EINVAL, "host must be a string" },
	{ AF_INET, "[\"127.0.0.1\\u0000evil\", 80]", -EINVAL, "host must not contain a NUL byte" },
	/* AF_INET6 members */
	{ AF_INET6, "[\"::1\", 80, 1048576]", -EINVAL, "flowinfo must be an integer 0-1048575, got 1048576" },
	{ AF_INET6, "[\"::1\", 80, -1]", -EINVAL, "flowinfo must be an integer" },
	{ AF_INET6, "[\"::1\", 80, 0, -1]", -EINVAL, "scope_id must be an integer 0-4294967295, got -1" },
	{ AF_INET6, "[\"::1\", 80, 0, 4294967296]", -EINVAL, "scope_id must be an integer 0-4294967295" },
	{ AF_INET6, "[\"::1\", 80, 0, 0, 0]", -EINVAL, "the tuple form is [host, port, flowinfo?, scope_id?], got 5" },
	{ AF_INET6, "[\"::1\", 65536]", -EINVAL, "port must be an integer 0-65535, got 65536" },
	{ AF_INET6, "[\"fe80::1%nosuchif0\", 80]", -ENODEV, "no network interface is named after the '%' in host \"fe80::1%nosuchif0\"" },
	{ AF_INET6, "[\"fe80::1%abcdefghijklmnopqrstuvwxyz\", 80]", -ENODEV, "no network interface" },
	{ AF_INET6, "[\"fe80::1%\", 80]", -EINVAL, "empty zone" },
	{ AF_INET6, "[\"fe80::1%4294967296\", 80]", -EINVAL, "zone index is out of range" },
	{ AF_INET6, "[\"fe80::1%3\", 80, 0, 4]", -EINVAL, "scope_id 4 contradicts the zone of host \"fe80::1%3\"" },
	{ AF_INET6, "[\"<broadcast>\", 80]", -EINVAL, "\"<broadcast>\" is an AF_INET address" },
	{ AF_INET6, "{\"host\": \"::1\", \"port\": 80, \"scope\": 0}", -EINVAL, "unknown member \"scope\"" },
	/* AF_UNIX */
	{ AF_UNIX, "\"/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789\"",
	  -ENAMETOOLONG, "AF_UNIX address: path is 110 bytes; a socket path holds at most 107" },
	{ AF_UNIX, "{\"path\": \"/ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp\"}",
	  -ENAMETOOLONG, "path is 108 bytes" },
	{ AF_UNIX, "{\"abstract\": \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678\"}",
	  -ENAMETOOLONG, "abstract name is 109 bytes; it holds at most 107" },
	{ AF_UNIX, "\"\\u00000123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678\"",
	  -ENAMETOOLONG, "abstract name is 109 bytes" },
	{ AF_UNIX, "{\"abstract_data\": \"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3\"}",
	  -ENAMETOOLONG, "abstract_data holds more than 107 bytes" },
	{ AF_UNIX, "{\"abstract_data\": \"not base64!\"}", -EINVAL, "abstract_data is not valid base64" },
	{ AF_UNIX, "{\"abstract_data\": \"YQ\"}", -EINVAL, "not valid base64" },
	{ AF_UNIX, "{\"abstract_data\": 5}", -EINVAL, "abstract_data must be a base64 string, got 5" },
	{ AF_UNIX, "{\"path_data\": \"L3RtcAB4\"}", -EINVAL, "path must not contain a NUL byte" },
	{ AF_UNIX, "{\"path\": \"/tmp/a\\u0000b\"}", -EINVAL, "path must not contain a NUL byte" },
	{ AF_UNIX, "\"/tmp/a\\u0000b\"", -EINVAL, "NUL byte" },
	{ AF_UNIX, "{\"path\": \"/a\", \"abstract\": \"b\"}", -EINVAL, "give exactly one of" },
	{ AF_UNIX, "{}", -EINVAL, "give exactly one of" },
	{ AF_UNIX, "{\"path\": 5}", -EINVAL, "path must be a string, got 5" },
	{ AF_UNIX, "{\"abstract\": null}", -EINVAL, "abstract must be a string, got null" },
	{ AF_UNIX, "{\"file\": \"/a\"}", -EINVAL, "unknown member \"file\"" },
	{ AF_UNIX, "[\"/run/x.sock\"]", -EINVAL, "expected an object or a string path" },
	{ AF_UNIX, "42", -EINVAL, "got 42" },
	/* AF_NETLINK */
	{ AF_NETLINK, "[-1, 0]", -EINVAL, "AF_NETLINK address: pid must be an integer 0-4294967295, got -1" },
	{ AF_NETLINK, "[4294967296, 0]", -EINVAL, "pid must be an integer 0-4294967295" },
	{ AF_NETLINK, "[\"0\", 0]", -EINVAL, "got \"0\"" },
	{ AF_NETLINK, "[0, 1.5]", -EINVAL, "groups must be an integer 0-4294967295, got 1.5" },
	{ AF_NETLINK, "[0]", -EINVAL, "the tuple form is [pid, groups], got 1 element" },
	{ AF_NETLINK, "{\"pid\": 0}", -EINVAL, "member \"groups\" is missing" },
	/* AF_PACKET */
	{ AF_PACKET, "[\"nosuchif0\", 768]", -ENODEV, "AF_PACKET address: no network interface is named \"nosuchif0\"" },
	{ AF_PACKET, "[\"abcdefghijklmnop\", 768]", -EINVAL, "ifname must be shorter than 16 bytes" },
	{ AF_PACKET, "[\"lo\\u0000x\", 768]", -EINVAL, "ifname must not contain a NUL byte" },
	{ AF_PACKET, "[5, 768]", -EINVAL, "ifname must be a string, got 5" },
	{ AF_PACKET, "{\"ifname\": \"lo\", \"ifindex\": 1, \"proto\": 768}", -EINVAL, "give ifname or ifindex, not both" },
	{ AF_PACKET, "{\"proto\": 768}", -EINVAL, "member \"ifname\" (or \"ifindex\") is missing" },
	{ AF_PACKET, "{\"ifname\": \"lo\"}", -EINVAL, "member \"proto\" is missing" },
	{ AF_PACKET, "{\"ifindex\": -1, \"proto\": 768}", -EINVAL, "ifindex must be an integer 0-2147483647, got -1" },
	{ AF_PACKET, "{\"ifindex\": 2147483648, \"proto\": 768}", -EINVAL, "ifindex must be an integer" },
	{ AF_PACKET, "[\"lo\", 65536]", -EINVAL, "proto must be an integer 0-65535, got 65536" },
	{ AF_PACKET, "[\"lo\", 768, 256]", -EINVAL, "pkttype must be an integer 0-255, got 256" },
	{ AF_PACKET, "[\"lo\", 768, 0, 65536]", -EINVAL, "hatype must be an integer 0-65535, got 65536" },
	{ AF_PACKET, "[\"lo\", 768, 0, 0, \"AQIDBAUGBwgJ\"]", -EINVAL, "addr holds more than 8 bytes" },
	{ AF_PACKET, "[\"lo\", 768, 0, 0, \"!!\"]", -EINVAL, "addr is not valid base64" },
	{ AF_PACKET, "[\"lo\", 768, 0, 0, 5]", -EINVAL, "addr must be a base64 string, got 5" },
	{ AF_PACKET, "[\"lo\"]", -EINVAL, "the tuple form is [ifname, proto, pkttype?, hatype?, addr?], got 1 element" },
	{ AF_PACKET, "[\"lo\", 768, 0, 0, \"\", 0]", -EINVAL, "got 6 elements" },
	{ AF_PACKET, "[\"lo\", \"ETH_P_ALL\"]", -EINVAL, "proto must be an integer" },
	/* AF_CAN */
	{ AF_CAN, "[\"lo\", 1]", -EINVAL, "AF_CAN address: the tuple form is [ifname], [ifname, rx_addr, tx_addr] or [ifname, name, pgn, addr], got 2 elements" },
	{ AF_CAN, "[\"lo\", 1, 2, 3, 4]", -EINVAL, "got 5 elements" },
	{ AF_CAN, "[]", -EINVAL, "got 0 elements" },
	{ AF_CAN, "[\"nosuchcan0\"]", -ENODEV, "no network interface is named \"nosuchcan0\"" },
	{ AF_CAN, "[5]", -EINVAL, "ifname must be a string, got 5" },
	{ AF_CAN, "{\"ifname\": \"lo\", \"rx_addr\": 1, \"pgn\": 2}", -EINVAL, "do not mix" },
	{ AF_CAN, "[\"lo\", 4294967296, 0]", -EINVAL, "rx_addr must be an integer 0-4294967295, got 4294967296" },
	{ AF_CAN, "[\"lo\", 0, -1]", -EINVAL, "tx_addr must be an integer" },
	{ AF_CAN, "[\"lo\", -1, 0, 0]", -EINVAL, "name must be an integer 0-18446744073709551615, got -1" },
	{ AF_CAN, "[\"lo\", 0, 4294967296, 0]", -EINVAL, "pgn must be an integer 0-4294967295" },
	{ AF_CAN, "[\"lo\", 0, 0, 256]", -EINVAL, "addr must be an integer 0-255, got 256" },
	{ AF_CAN, "{}", -EINVAL, "member \"ifname\" (or \"ifindex\") is missing" },
	{ AF_CAN, "{\"ifname\": \"lo\", \"proto\": 1}", -EINVAL, "unknown member \"proto\"" },
	/* AF_VSOCK */
	{ AF_VSOCK, "[-1, 0]", -EINVAL, "AF_VSOCK address: cid must be an integer 0-4294967295, got -1" },
	{ AF_VSOCK, "[0, 4294967296]", -EINVAL, "port must be an integer 0-4294967295, got 4294967296" },
	{ AF_VSOCK, "[2]", -EINVAL, "the tuple form is [cid, port], got 1 element" },
	{ AF_VSOCK, "{\"cid\": 2}", -EINVAL, "member \"port\" is missing" },
	{ AF_VSOCK, "[\"2\", 1]", -EINVAL, "got \"2\"" },
#ifdef VMADDR_FLAG_TO_HOST
	{ AF_VSOCK, "{\"cid\": 2, \"port\": 1, \"flags\": 256}", -EINVAL, "flags must be an integer 0-255, got 256" },
#endif
	/* AF_ALG */
	{ AF_ALG, "[\"0123456789abcd\", \"sha256\"]", -EINVAL, "AF_ALG address: type is 14 bytes; it holds at most 13" },
	{ AF_ALG, "[\"hash\", \"0123456789012345678901234567890123456789012345678901234567890123\"]", -EINVAL,
	  "name is 64 bytes; it holds at most 63" },
	{ AF_ALG, "[\"hash\"]", -EINVAL, "the tuple form is [type, name, feat?, mask?], got 1 element" },
	{ AF_ALG, "[\"hash\", \"sha256\", -1]", -EINVAL, "feat must be an integer 0-4294967295, got -1" },
	{ AF_ALG, "[\"hash\", \"sha256\", 0, 4294967296]", -EINVAL, "mask must be an integer" },
	{ AF_ALG, "[5, \"sha256\"]", -EINVAL, "type must be a string, got 5" },
	{ AF_ALG, "[\"hash\", \"sha\\u0000256\"]", -EINVAL, "name must not contain a NUL byte" },
	{ AF_ALG, "{\"type\": \"hash\"}", -EINVAL, "member \"name\" is missing" },
	/* AF_TIPC */
	{ AF_TIPC, "[\"TIPC_CLUSTER_SCOPE\", 1, 2, 3]", -EINVAL,
	  "AF_TIPC address: addr_type \"TIPC_CLUSTER_SCOPE\" is not a TIPC address type (TIPC_ADDR_*) name" },
	{ AF_TIPC, "[\"TIPC_NOPE\", 1, 2, 3]", -EINVAL, "is not a TIPC address type" },
	{ AF_TIPC, "[0, 1, 2, 3]", -EINVAL, "addr_type must be TIPC_ADDR_NAMESEQ (1), TIPC_ADDR_NAME (2) or TIPC_ADDR_ID (3), got 0" },
	{ AF_TIPC, "[4, 1, 2, 3]", -EINVAL, "got 4" },
	{ AF_TIPC, "[256, 1, 2, 3]", -EINVAL, "addr_type must be an integer 0-255, got 256" },
	{ AF_TIPC, "[2, 1, 2, 3, \"TIPC_ADDR_NAME\"]", -EINVAL, "scope \"TIPC_ADDR_NAME\" is not a TIPC scope (TIPC_*_SCOPE) name" },
	{ AF_TIPC, "[2, 1, 2, 3, 256]", -EINVAL, "scope must be an integer 0-255, got 256" },
	{ AF_TIPC, "[2, 1, 2, 3, -1]", -EINVAL, "scope must be an integer 0-255, got -1" },
	{ AF_TIPC, "[2, 1, 2]", -EINVAL, "the tuple form is [addr_type, v1, v2, v3, scope?], got 3 elements" },
	{ AF_TIPC, "[2, 1, 2, 3, 2, 0]", -EINVAL, "got 6 elements" },
	{ AF_TIPC, "[2, -1, 2, 3]", -EINVAL, "v1 must be an integer 0-4294967295, got -1" },
	{ AF_TIPC, "[2, 1, 2.5, 3]", -EINVAL, "v2 must be an integer" },
	{ AF_TIPC, "[2, 1, 2, \"3\"]", -EINVAL, "v3 must be an integer" },
	{ AF_TIPC, "{\"addr_type\": 2, \"v1\": 1, \"v2\": 2}", -EINVAL, "member \"v3\" is missing" },
	{ AF_TIPC, "[true, 1, 2, 3]", -EINVAL, "addr_type must be an integer 0-255, got true" },
	/* families without a codec */
	{ AF_BLUETOOTH, "[\"00:11:22:33:44:55\", 1]", -EAFNOSUPPORT, "AF_BLUETOOTH address: this family has no address codec" },
	{ AF_UNSPEC, "[\"127.0.0.1\", 80]", -EAFNOSUPPORT, "AF_UNSPEC address" },
	{ 12345, "[\"127.0.0.1\", 80]", -EAFNOSUPPORT, "family 12345 address: this family has no address codec" },
	{ -1, "\"/x\"", -EAFNOSUPPORT, "family -1 address" },
};

START_TEST(test_malformed)
{
	const struct bad *t = &bad_cases[_i];
	json_object *j = parse(t->json);
	struct sbaddr_error err;
	struct sbaddr a;
	char *host = (char *)"junk";
	int r;

	memset(&err, 'x', sizeof(err));
	memset(&a, 0x5a, sizeof(a));
	r = sbaddr_decode(t->family, j, &a, &host, &err);
	ck_assert_msg(r == t->error, "%s: %d, want %d (%s)", t->json, r, t->error, err.msg);
	ck_assert_ptr_null(host);
	ck_assert_ptr_nonnull(memchr(err.msg, '\0', sizeof(err.msg)));
	ck_assert_uint_gt(strlen(err.msg), 10);
	ck_assert_msg(strstr(err.msg, t->msg) != NULL, "%s: message \"%s\" lacks \"%s\"", t->json, err.msg, t->msg);
	/* The message is printable ASCII whatever the client sent. */
	for (const char *p = err.msg; *p; p++)
		ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unprintable byte in \"%s\"", err.msg);
	/* A failure leaves no half-built address. */
	ck_assert_uint_eq(a.len, 0);
	for (size_t i = 0; i < sizeof(a.ss); i++)
		ck_assert_int_eq(((unsigned char *)&a.ss)[i], 0);
	/* The same without err and host: same code, nothing written anywhere. */
	ck_assert_int_eq(sbaddr_decode(t->family, j, &a, NULL, NULL), r);
	json_object_put(j);
}
END_TEST

START_TEST(test_long_values_in_messages)
{
	char text[4200];
	json_object *j;
	struct sbaddr_error err;
	struct sbaddr a;
	char *host = NULL;

	/* A 2000-byte host name is refused, and the message stays short. */
	memset(text, 0, sizeof(text));
	strcpy(text, "[\"");
	memset(text + 2, 'h', 2000);
	strcat(text, "\", 80]");
	j = parse(text);
	ck_assert_int_eq(sbaddr_decode(AF_INET, j, &a, &host, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "host name is longer than 1024 bytes"));
	ck_assert_ptr_null(host);
	json_object_put(j);
	/* A long wrong value is quoted in part, with "...", inside the 160 bytes. */
	strcpy(text, "[\"127.0.0.1\", \"");
	for (int i = 0; i < 500; i++)
		strcat(text, "\\u00e9");
	strcat(text, "\"]");
	j = parse(text);
	ck_assert_int_eq(sbaddr_decode(AF_INET, j, &a, &host, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "port must be an integer 0-65535, got \"\\xc3\\xa9"));
	ck_assert_ptr_nonnull(strstr(err.msg, "...\""));
	ck_assert_uint_lt(strlen(err.msg), sizeof(err.msg));
	json_object_put(j);
	/* A long unknown member name, likewise. */
	memset(text, 0, sizeof(text));
	strcpy(text, "{\"host\": \"::1\", \"port\": 1, \"");
	memset(text + strlen(text), 'k', 300);
	strcat(text, "\": 0}");
	j = parse(text);
	ck_assert_int_eq(sbaddr_decode(AF_INET6, j, &a, &host, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown member \"kkkk"));
	ck_assert_ptr_nonnull(strstr(err.msg, "...\""));
	json_object_put(j);
}
END_TEST

/* Errors name the member at fault: its name in the object form, its index
 * in the tuple form, nothing when the value as a whole is wrong. */
START_TEST(test_error_paths)
{
	static const struct { int family; const char *json; const char *path; } cases[] = {
		{ AF_INET, "{\"host\": \"1.2.3.4\", \"port\": 70000}", "port" },
		{ AF_INET, "[\"1.2.3.4\", 70000]", "[1]" },
		{ AF_INET, "{\"host\": 5, \"port\": 1}", "host" },
		{ AF_INET, "[5, 1]", "[0]" },
		{ AF_INET, "{\"host\": \"1.2.3.4\"}", "port" },
		{ AF_INET, "{\"host\": \"1.2.3.4\", \"port\": 1, \"zz\": 1}", "zz" },
		{ AF_INET, "[\"1.2.3.4\"]", "" },
		{ AF_INET, "7", "" },
		{ AF_INET6, "[\"::1\", 1, 0, -1]", "[3]" },
		{ AF_NETLINK, "{\"pid\": 0, \"groups\": -1}", "groups" },
		{ AF_VSOCK, "[1, \"x\"]", "[1]" },
		{ AF_PACKET, "{\"ifname\": \"nosuchif0\", \"proto\": 0}", "ifname" },
		{ AF_UNIX, "{\"path\": 5}", "path" },
		{ AF_ALG, "{\"type\": \"hash\", \"name\": 7}", "name" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *j = parse(cases[i].json);
		struct sbaddr_error err;
		struct sbaddr a;
		char *host = NULL;

		ck_assert_msg(sbaddr_decode(cases[i].family, j, &a, &host, &err) < 0, "%s", cases[i].json);
		ck_assert_msg(strcmp(err.path, cases[i].path) == 0, "%s: path '%s', want '%s' (%s)", cases[i].json,
		              err.path, cases[i].path, err.msg);
		ck_assert_ptr_null(host);
		json_object_put(j);
	}
}
END_TEST

/* ------------------------------------------------------------ encoding */

START_TEST(test_encode_unix)
{
	struct sockaddr_un sun;
	const socklen_t off = offsetof(struct sockaddr_un, sun_path);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* Unnamed (socketpair, unbound): only the family. */
	check_encode((struct sockaddr *)&sun, sizeof(sa_family_t), "{\"path\": \"\"}");
	check_encode((struct sockaddr *)&sun, off, "{\"path\": \"\"}");
	/* A path is read up to its NUL, whatever length the kernel reports. */
	strcpy(sun.sun_path, "/run/a.sock");
	check_encode((struct sockaddr *)&sun, sizeof(sun), "{\"path\": \"/run/a.sock\"}");
	check_encode((struct sockaddr *)&sun, (socklen_t)(off + strlen(sun.sun_path)), "{\"path\": \"/run/a.sock\"}");
	check_encode((struct sockaddr *)&sun, off + 4, "{\"path\": \"/run\"}");
	/* A path that fills sun_path without a NUL. */
	memset(sun.sun_path, 'z', sizeof(sun.sun_path));
	char want[sizeof(sun.sun_path) + 32];
	snprintf(want, sizeof(want), "{\"path\": \"%.*s\"}", (int)sizeof(sun.sun_path), sun.sun_path);
	check_encode((struct sockaddr *)&sun, sizeof(sun), want);
	/* Not UTF-8: base64 in path_data. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, "/tmp/\xff", 6);
	check_encode((struct sockaddr *)&sun, off + 7, "{\"path_data\": \"L3RtcC//\"}");
	memcpy(sun.sun_path, "/tmp/\xc0\xaf", 7);      /* overlong '/' */
	check_encode((struct sockaddr *)&sun, off + 8, "{\"path_data\": \"L3RtcC/Arw==\"}");
	memcpy(sun.sun_path, "/\xed\xa0\x80", 5);      /* a surrogate */
	check_encode((struct sockaddr *)&sun, off + 5, "{\"path_data\": \"L+2ggA==\"}");
	/* Abstract: the bytes after the NUL up to the reported length. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, "\0sock\0et", 8);
	check_encode((struct sockaddr *)&sun, off + 5, "{\"abstract\": \"sock\"}");
	check_encode((struct sockaddr *)&sun, off + 8, "{\"abstract_data\": \"c29jawBldA==\"}");
	check_encode((struct sockaddr *)&sun, off + 1, "{\"abstract\": \"\"}");
	/* A length beyond sockaddr_un is clamped to sun_path. */
	check_encode((struct sockaddr *)&sun, sizeof(sun), "{\"abstract_data\": \"c29jawBldAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}");
}
END_TEST

START_TEST(test_encode_other)
{
	struct sockaddr_storage ss;
	char lo[IF_NAMESIZE], want[256];

	/* Nothing, or less than a family: AF_UNSPEC and no data. */
	check_encode(NULL, 0, "{\"family\": \"AF_UNSPEC\", \"data\": \"\"}");
	memset(&ss, 0, sizeof(ss));
	check_encode((struct sockaddr *)&ss, 1, "{\"family\": \"AF_UNSPEC\", \"data\": \"\"}");
	/* A family without a codec: its name and the bytes after sa_family. */
	ss.ss_family = AF_BLUETOOTH;
	memcpy((char *)&ss + sizeof(sa_family_t), "\x01\x02\x03", 3);
	check_encode((struct sockaddr *)&ss, sizeof(sa_family_t) + 3, "{\"family\": \"AF_BLUETOOTH\", \"data\": \"AQID\"}");
	ss.ss_family = 250;
	check_encode((struct sockaddr *)&ss, sizeof(sa_family_t) + 2, "{\"family\": 250, \"data\": \"AQI=\"}");
	/* A truncated INET address reads as zero-filled. */
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(80);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	check_encode((struct sockaddr *)&ss, 4, "{\"host\": \"0.0.0.0\", \"port\": 80}");
	/* INET6: the host is the plain literal, the zone is scope_id. */
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(22);
	sin6->sin6_flowinfo = htonl(0x12345);
	sin6->sin6_scope_id = lo_index();
	inet_pton(AF_INET6, "fe80::abcd", &sin6->sin6_addr);
	snprintf(want, sizeof(want), "{\"host\": \"fe80::abcd\", \"port\": 22, \"flowinfo\": 74565, \"scope_id\": %u}",
	         lo_index());
	check_encode((struct sockaddr *)&ss, sizeof(*sin6), want);
	/* PACKET and CAN name the interface; an index without a name stays a number. */
	struct sockaddr_ll *ll = (struct sockaddr_ll *)&ss;
	memset(&ss, 0, sizeof(ss));
	ll->sll_family = AF_PACKET;
	ll->sll_ifindex = (int)lo_index();
	ll->sll_protocol = htons(ETH_P_IPV6);
	ll->sll_halen = 200;            /* clamped to sll_addr's 8 bytes */
	ck_assert_ptr_nonnull(if_indextoname(lo_index(), lo));
	snprintf(want, sizeof(want), "{\"ifname\": \"%s\", \"proto\": %d, \"pkttype\": 0, \"hatype\": 0, \"addr\": \"AAAAAAAAAAA=\"}",
	         lo, ETH_P_IPV6);
	check_encode((struct sockaddr *)&ss, sizeof(*ll), want);
	ll->sll_ifindex = -5;
	ll->sll_halen = 0;
	snprintf(want, sizeof(want), "{\"ifindex\": -5, \"proto\": %d, \"pkttype\": 0, \"hatype\": 0, \"addr\": \"\"}",
	         ETH_P_IPV6);
	check_encode((struct sockaddr *)&ss, sizeof(*ll), want);
	/* TIPC with an address type it does not know: the generic form. */
	struct sockaddr_tipc *t = (struct sockaddr_tipc *)&ss;
	memset(&ss, 0, sizeof(ss));
	t->family = AF_TIPC;
	t->addrtype = 9;
	check_encode((struct sockaddr *)&ss, sizeof(*t), "{\"family\": \"AF_TIPC\", \"data\": \"CQAAAAAAAAAAAAAAAAA=\"}");
	/* ALG with bytes that are not UTF-8: the generic form as well. */
	struct sockaddr_alg *alg = (struct sockaddr_alg *)&ss;
	memset(&ss, 0, sizeof(ss));
	alg->salg_family = AF_ALG;
	alg->salg_type[0] = (unsigned char)0xff;
	json_object *e = sbaddr_encode((struct sockaddr *)&ss, sizeof(*alg));
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "family")), "AF_ALG");
	json_object_put(e);
}
END_TEST

/* ------------------------------------------------------------ guessing */

struct guess {
	const char *json;
	int family;
};

static const struct guess guesses[] = {
	{ "\"/run/x.sock\"", AF_UNIX },
	{ "{\"path\": \"/x\"}", AF_UNIX },
	{ "{\"abstract\": \"x\"}", AF_UNIX },
	{ "{\"abstract_data\": \"eA==\"}", AF_UNIX },
	{ "{\"host\": \"127.0.0.1\", \"port\": 80}", AF_INET },
	{ "{\"host\": \"<broadcast>\", \"port\": 80}", AF_INET },
	{ "{\"host\": \"::1\", \"port\": 80}", AF_INET6 },
	{ "{\"host\": \"fe80::1%lo\", \"port\": 80}", AF_INET6 },
	{ "{\"host\": \"example.com\", \"port\": 80}", AF_UNSPEC },
	{ "{\"host\": \"\", \"port\": 80}", AF_UNSPEC },
	{ "{\"host\": 5, \"port\": 80}", AF_UNSPEC },
	{ "{\"host\": \"127.0.0.1\", \"port\": 80, \"scope_id\": 0}", AF_UNSPEC },
	{ "[\"127.0.0.1\", 80]", AF_INET },
	{ "[\"::1\", 80]", AF_INET6 },
	{ "[\"::1\", 80, 0, 0]", AF_INET6 },
	{ "[\"127.0.0.1\", 80, 0]", AF_UNSPEC },
	{ "[\"example.com\", 80]", AF_UNSPEC },
	{ "[\"eth0\", 768]", AF_UNSPEC },
	{ "[\"can0\", 1, 2]", AF_UNSPEC },
	{ "[\"can0\"]", AF_UNSPEC },
	{ "{\"pid\": 0, \"groups\": 0}", AF_NETLINK },
	{ "{\"cid\": 2, \"port\": 1}", AF_VSOCK },
	{ "[0, 0]", AF_UNSPEC },
	{ "{\"ifname\": \"eth0\", \"proto\": 768}", AF_PACKET },
	{ "{\"ifindex\": 2, \"proto\": 768}", AF_PACKET },
	{ "{\"ifname\": \"can0\", \"rx_addr\": 1, \"tx_addr\": 2}", AF_CAN },
	{ "{\"ifname\": \"can0\"}", AF_UNSPEC },
	{ "{\"type\": \"hash\", \"name\": \"sha256\"}", AF_ALG },
	{ "[\"hash\", \"sha256\"]", AF_ALG },
	{ "{\"addr_type\": \"TIPC_ADDR_NAME\", \"v1\": 1, \"v2\": 2, \"v3\": 0}", AF_TIPC },
	{ "[2, 1, 2, 0]", AF_TIPC },
	{ "[2, 1, 2, 0, 2]", AF_TIPC },
	{ "[\"TIPC_ADDR_NAME\", 1, 2, 0]", AF_TIPC },
	{ "[]", AF_UNSPEC },
	{ "{}", AF_UNSPEC },
	{ "5", AF_UNSPEC },
	{ "null", AF_UNSPEC },
	{ "true", AF_UNSPEC },
};

START_TEST(test_guess_family)
{
	json_object *j = parse(guesses[_i].json);

	ck_assert_msg(sbaddr_guess_family(j) == guesses[_i].family, "%s: %d, want %d", guesses[_i].json,
	              sbaddr_guess_family(j), guesses[_i].family);
	json_object_put(j);
}
END_TEST

/* sbaddr_unix_name: the name the policy's path selector judges. */
static int unix_name(const char *path, size_t len, char *out, size_t outlen)
{
	struct sbaddr a;
	struct sockaddr_un *un = (struct sockaddr_un *)&a.ss;

	memset(&a, 0, sizeof(a));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, len);
	a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	return sbaddr_unix_name(&a, out, outlen);
}

START_TEST(test_unix_policy_name)
{
	static const char *const refused[] = {
		"relative.sock", "/run//x.sock", "/run/./x.sock", "/run/app/../../etc/x", "/run/app/.", "/run/app/..",
	};
	char out[2 * sizeof(((struct sockaddr_un *)0)->sun_path)];

	ck_assert_int_eq(unix_name("/run/app.sock", strlen("/run/app.sock"), out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/run/app.sock");
	/* With its terminating NUL, as Python sends it, the same path. */
	ck_assert_int_eq(unix_name("/run/app.sock", strlen("/run/app.sock") + 1, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/run/app.sock");
	ck_assert_int_eq(unix_name("\0abc", 4, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "@abc");
	ck_assert_int_eq(unix_name("", 0, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	/* An abstract name that would hide a NUL or a control byte from the log and the policy. */
	ck_assert_int_eq(unix_name("\0ab\0c", 5, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(unix_name("\0ab\nc", 5, out, sizeof(out)), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		ck_assert_msg(unix_name(refused[i], strlen(refused[i]), out, sizeof(out)) == -EINVAL, "%s", refused[i]);
	ck_assert_int_eq(unix_name("/run/app.sock", strlen("/run/app.sock"), out, 5), -ENAMETOOLONG);
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("forms");

	tcase_add_loop_test(tc, test_round_trip, 0, ARRAY_SIZE(round_trips));
	tcase_add_loop_test(tc, test_tuple_equals_object, 0, ARRAY_SIZE(equivalents));
	suite_add_tcase(s, tc);

	tc = tcase_create("bytes");
	tcase_add_test(tc, test_bytes_unix);
	tcase_add_test(tc, test_bytes_inet);
	tcase_add_test(tc, test_bytes_inet6);
	tcase_add_test(tc, test_bytes_netlink);
	tcase_add_test(tc, test_bytes_packet);
	tcase_add_test(tc, test_bytes_can);
	tcase_add_test(tc, test_bytes_vsock);
	tcase_add_test(tc, test_bytes_alg);
	tcase_add_test(tc, test_bytes_tipc);
	tcase_add_test(tc, test_inet_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_malformed, 0, ARRAY_SIZE(bad_cases));
	tcase_add_test(tc, test_long_values_in_messages);
	tcase_add_test(tc, test_error_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, test_encode_unix);
	tcase_add_test(tc, test_encode_other);
	tcase_add_loop_test(tc, test_guess_family, 0, ARRAY_SIZE(guesses));
	tcase_add_test(tc, test_unix_policy_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(addr_suite());
}
