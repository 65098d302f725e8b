#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* unshare, setresuid, struct in6_pktinfo */
#endif

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/can.h>
#include <linux/can/j1939.h>
#include <linux/if_alg.h>
#include <linux/if_packet.h>
#include <linux/in6.h>
#include <linux/ip_vs.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>
#include <linux/net_tstamp.h>
#include <linux/netfilter_arp/arp_tables.h>
#include <linux/netfilter_bridge/ebtables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sctp.h>

#include "base64.h"
#include "daemon/sockopt.h"
#include "unit.h"
#include "util.h"

static json_object *J(const char *text)
{
	json_object *j = json_tokener_parse(text);

	ck_assert_msg(j != NULL || strcmp(text, "null") == 0, "bad JSON in test: %s", text);
	return j;
}

/* The compact text of j, in a static buffer (for comparisons and messages). */
static const char *S(json_object *j)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	return buf;
}

/* Encodes text for (level, opt); asserts success and returns the length. */
static socklen_t enc(int level, int opt, const char *text, unsigned char *buf)
{
	json_object *v = J(text);
	char err[256] = "";
	socklen_t len = 12345;
	int r = sockopt_encode(level, opt, v, buf, &len, err, sizeof(err));

	ck_assert_msg(r == 0, "encode %s: %d %s", text, r, err);
	json_object_put(v);
	return len;
}

/* Encoding text must fail with -EINVAL and a sentence holding `needle`. */
static void enc_bad(int level, int opt, const char *text, const char *needle)
{
	unsigned char buf[SOCKOPT_MAX_LEN];
	json_object *v = J(text);
	char err[256] = "";
	socklen_t len;
	int r = sockopt_encode(level, opt, v, buf, &len, err, sizeof(err));

	ck_assert_msg(r == -EINVAL, "encode %s gave %d", text, r);
	ck_assert_msg(strstr(err, needle) != NULL, "message for %s: \"%s\" lacks \"%s\"", text, err, needle);
	json_object_put(v);
}

/* Encoded bytes equal the hand-built struct. */
static void enc_eq(int level, int opt, const char *text, const void *want, size_t wantlen)
{
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len = enc(level, opt, text, buf);

	ck_assert_msg(len == wantlen, "%s: length %u, want %zu", text, (unsigned)len, wantlen);
	ck_assert_msg(memcmp(buf, want, wantlen) == 0, "%s: bytes differ", text);
}

/* The decoded value of getsockopt(level, opt) with the default length. */
static json_object *get(int fd, int level, int opt)
{
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len = sockopt_default_len(level, opt);
	json_object *j;

	ck_assert_uint_le(len, SOCKOPT_MAX_LEN);
	ck_assert_msg(getsockopt(fd, level, opt, buf, &len) == 0, "getsockopt %d/%d: %s", level, opt,
	              strerror(errno));
	j = sockopt_decode(level, opt, buf, len);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* setsockopt with the encoded bytes, then getsockopt+decode gives `want`. */
static void roundtrip(int fd, int level, int opt, const char *text, const char *want)
{
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len = enc(level, opt, text, buf);
	json_object *got;

	ck_assert_msg(setsockopt(fd, level, opt, buf, len) == 0, "setsockopt %s: %s", text, strerror(errno));
	got = get(fd, level, opt);
	ck_assert_msg(strcmp(S(got), want) == 0, "%s came back as %s, want %s", text, S(got), want);
	json_object_put(got);
}

static int int_of(json_object *j)
{
	ck_assert_msg(json_object_is_type(j, json_type_int), "not an int: %s", S(j));
	return json_object_get_int(j);
}

/* A connected loopback TCP pair: c (client) and a (accepted). */
static void tcp_pair(int *c, int *a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*c, 0);
	ck_assert_int_eq(connect(*c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*a, 0);
	close(l);
}

/* ---- encoding to bytes ---- */

START_TEST(test_encode_ints)
{
	int one = 1, zero = 0, neg = -5, big = 0x7fffffff;
	uint32_t umax = 0xffffffffu;

	enc_eq(SOL_SOCKET, SO_REUSEADDR, "1", &one, sizeof(int));
	enc_eq(SOL_SOCKET, SO_REUSEADDR, "true", &one, sizeof(int));
	enc_eq(SOL_SOCKET, SO_KEEPALIVE, "false", &zero, sizeof(int));
	enc_eq(IPPROTO_TCP, TCP_NODELAY, "1", &one, sizeof(int));
	enc_eq(IPPROTO_IP, IP_MULTICAST_TTL, "1", &one, sizeof(int));
	enc_eq(SOL_SOCKET, SO_PRIORITY, "-5", &neg, sizeof(int));
	enc_eq(SOL_SOCKET, SO_MARK, "4294967295", &umax, sizeof(int));
	enc_eq(IPPROTO_IPV6, IPV6_MULTICAST_IF, "2147483647", &big, sizeof(int));
	/* an option nobody named: still a C int */
	enc_eq(SOL_SOCKET, 9999, "7", (int[]){ 7 }, sizeof(int));
	enc_eq(277, 1, "7", (int[]){ 7 }, sizeof(int));
}
END_TEST

START_TEST(test_encode_structs)
{
	struct linger l = { .l_onoff = 1, .l_linger = 7 };
	struct linger l0 = { .l_onoff = 0, .l_linger = 0 };
	struct ip_mreq m = { 0 };
	struct ip_mreqn mn = { 0 };
	struct ip_mreq_source ms = { 0 };
	struct ipv6_mreq m6 = { 0 };
	struct in_addr a;
	struct timeval tv = { .tv_sec = 2, .tv_usec = 500000 };
	struct timeval tv0 = { 0 };
	struct timeval tvtiny = { .tv_sec = 0, .tv_usec = 1 };
	unsigned char raw[3] = { 1, 2, 3 };

	enc_eq(SOL_SOCKET, SO_LINGER, "{\"onoff\": true, \"linger\": 7}", &l, sizeof(l));
	enc_eq(SOL_SOCKET, SO_LINGER, "{\"linger\": 7, \"onoff\": 1}", &l, sizeof(l));
	enc_eq(SOL_SOCKET, SO_LINGER, "{\"onoff\": false, \"linger\": 0}", &l0, sizeof(l0));

	enc_eq(SOL_SOCKET, SO_BINDTODEVICE, "\"lo\"", "lo", 3);
	enc_eq(SOL_SOCKET, SO_BINDTODEVICE, "\"\"", "", 1);
	enc_eq(IPPROTO_TCP, TCP_CONGESTION, "\"reno\"", "reno", 4);

	enc_eq(SOL_SOCKET, SO_RCVTIMEO, "2.5", &tv, sizeof(tv));
	enc_eq(SOL_SOCKET, SO_SNDTIMEO, "0", &tv0, sizeof(tv0));
	enc_eq(SOL_SOCKET, SO_SNDTIMEO, "null", &tv0, sizeof(tv0));
	enc_eq(SOL_SOCKET, SO_SNDTIMEO, "0.0000001", &tvtiny, sizeof(tvtiny));

	inet_pton(AF_INET, "224.1.2.3", &m.imr_multiaddr);
	m.imr_interface.s_addr = htonl(INADDR_ANY);
	enc_eq(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{\"multiaddr\": \"224.1.2.3\", \"interface\": \"0.0.0.0\"}", &m,
	       sizeof(m));
	enc_eq(IPPROTO_IP, IP_DROP_MEMBERSHIP, "{\"multiaddr\": \"224.1.2.3\"}", &m, sizeof(m));
	inet_pton(AF_INET, "127.0.0.1", &m.imr_interface);
	enc_eq(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{\"multiaddr\": \"224.1.2.3\", \"interface\": \"127.0.0.1\"}", &m,
	       sizeof(m));

	inet_pton(AF_INET, "224.1.2.3", &mn.imr_multiaddr);
	inet_pton(AF_INET, "10.0.0.1", &mn.imr_address);
	mn.imr_ifindex = 3;
	enc_eq(IPPROTO_IP, IP_ADD_MEMBERSHIP,
	       "{\"multiaddr\": \"224.1.2.3\", \"interface\": \"10.0.0.1\", \"ifindex\": 3}", &mn, sizeof(mn));

	inet_pton(AF_INET, "232.1.1.1", &ms.imr_multiaddr);
	inet_pton(AF_INET, "192.0.2.9", &ms.imr_sourceaddr);
	enc_eq(IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, "{\"multiaddr\": \"232.1.1.1\", \"sourceaddr\": \"192.0.2.9\"}",
	       &ms, sizeof(ms));

	inet_pton(AF_INET, "127.0.0.1", &a);
	enc_eq(IPPROTO_IP, IP_MULTICAST_IF, "\"127.0.0.1\"", &a, sizeof(a));
	a.s_addr = 0;
	enc_eq(IPPROTO_IP, IP_MULTICAST_IF, "\"\"", &a, sizeof(a));
	memset(&mn, 0, sizeof(mn));
	mn.imr_ifindex = 1;
	enc_eq(IPPROTO_IP, IP_MULTICAST_IF, "{\"ifindex\": 1}", &mn, sizeof(mn));
	inet_pton(AF_INET, "127.0.0.1", &mn.imr_address);
	enc_eq(IPPROTO_IP, IP_MULTICAST_IF, "{\"address\": \"127.0.0.1\", \"ifindex\": 1}", &mn, sizeof(mn));

	inet_pton(AF_INET6, "ff02::1", &m6.ipv6mr_multiaddr);
	m6.ipv6mr_interface = 2;
	enc_eq(IPPROTO_IPV6, IPV6_JOIN_GROUP, "{\"multiaddr\": \"ff02::1\", \"ifindex\": 2}", &m6, sizeof(m6));
	enc_eq(IPPROTO_IPV6, IPV6_LEAVE_GROUP, "{\"multiaddr\": \"ff02::1\", \"ifindex\": 2}", &m6, sizeof(m6));
	m6.ipv6mr_interface = 0;
	enc_eq(IPPROTO_IPV6, IPV6_JOIN_GROUP, "{\"multiaddr\": \"ff02::1\"}", &m6, sizeof(m6));

	/* raw bytes for any option, typed or not */
	enc_eq(SOL_SOCKET, SO_LINGER, "{\"data\": \"AQID\"}", raw, 3);
	enc_eq(IPPROTO_TCP, 250, "{\"data\": \"AQID\"}", raw, 3);
	enc_eq(IPPROTO_TCP, TCP_NODELAY, "{\"data\": \"\"}", raw, 0);
}
END_TEST

START_TEST(test_encode_data_limit)
{
	unsigned char bytes[SOCKOPT_MAX_LEN + 1], buf[SOCKOPT_MAX_LEN];
	char text[2 * SOCKOPT_MAX_LEN + 32], b64[2 * SOCKOPT_MAX_LEN];

	memset(bytes, 0xab, sizeof(bytes));
	b64_encode(bytes, SOCKOPT_MAX_LEN, b64);
	snprintf(text, sizeof(text), "{\"data\": \"%s\"}", b64);
	ck_assert_uint_eq(enc(SOL_SOCKET, 200, text, buf), SOCKOPT_MAX_LEN);
	ck_assert(memcmp(buf, bytes, SOCKOPT_MAX_LEN) == 0);
	b64_encode(bytes, SOCKOPT_MAX_LEN + 1, b64);
	snprintf(text, sizeof(text), "{\"data\": \"%s\"}", b64);
	enc_bad(SOL_SOCKET, 200, text, "longer than 1024 bytes");
}
END_TEST

START_TEST(test_encode_bad)
{
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "\"yes\"", "SO_REUSEADDR takes an integer or a boolean");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "1.5", "SO_REUSEADDR takes an integer");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "null", "not null");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "[1]", "not an array");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "4294967296", "out of the range");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "-2147483649", "out of the range");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "18446744073709551615", "out of the range");
	enc_bad(IPPROTO_TCP, TCP_NODELAY, "{\"onoff\": 1}", "TCP_NODELAY takes");
	enc_bad(SOL_SOCKET, 9999, "\"x\"", "option 9999 at level SOL_SOCKET");
	enc_bad(277, 5, "\"x\"", "option 5 at level SOL_IUCV");

	enc_bad(SOL_SOCKET, SO_LINGER, "{\"onoff\": true}", "\"linger\" is missing");
	enc_bad(SOL_SOCKET, SO_LINGER, "{\"linger\": 3}", "\"onoff\" is missing");
	enc_bad(SOL_SOCKET, SO_LINGER, "{\"onoff\": true, \"linger\": 3, \"x\": 1}", "\"x\" is not a member");
	enc_bad(SOL_SOCKET, SO_LINGER, "{\"onoff\": true, \"linger\": -1}", "\"linger\" must be");
	enc_bad(SOL_SOCKET, SO_LINGER, "{\"onoff\": true, \"linger\": 1.5}", "\"linger\" must be");
	enc_bad(SOL_SOCKET, SO_LINGER, "{\"onoff\": \"on\", \"linger\": 1}", "\"onoff\" must be");
	enc_bad(SOL_SOCKET, SO_LINGER, "5", "SO_LINGER takes {\"onoff\": bool, \"linger\": seconds}");

	enc_bad(SOL_SOCKET, SO_REUSEADDR, "{\"data\": \"AQI\"}", "not valid base64");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "{\"data\": \"!!!!\"}", "not valid base64");
	enc_bad(SOL_SOCKET, SO_REUSEADDR, "{\"data\": 5}", "must be a base64 string");
	enc_bad(SOL_SOCKET, SO_LINGER, "{\"data\": \"AQID\", \"onoff\": 1}", "has no other members");

	enc_bad(SOL_SOCKET, SO_BINDTODEVICE, "5", "SO_BINDTODEVICE takes an interface name");
	enc_bad(SOL_SOCKET, SO_BINDTODEVICE, "\"abcdefghijklmnop\"", "16 bytes long");
	enc_bad(SOL_SOCKET, SO_BINDTODEVICE, "\"a\\u0000b\"", "holds a NUL");
	enc_bad(IPPROTO_TCP, TCP_CONGESTION, "1", "TCP_CONGESTION takes a name");

	enc_bad(SOL_SOCKET, SO_RCVTIMEO, "-1", "negative or too large");
	enc_bad(SOL_SOCKET, SO_RCVTIMEO, "-0.5", "negative or too large");
	enc_bad(SOL_SOCKET, SO_RCVTIMEO, "\"1\"", "SO_RCVTIMEO takes a number of seconds");

	enc_bad(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{}", "\"multiaddr\" is missing");
	enc_bad(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{\"multiaddr\": \"example.com\"}", "not an IPv4 address");
	enc_bad(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{\"multiaddr\": \"224.0.0.1\", \"interface\": \"::1\"}",
	        "\"interface\" is not an IPv4 address");
	enc_bad(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{\"multiaddr\": \"224.0.0.1\", \"ifindex\": -1}",
	        "\"ifindex\" must be");
	enc_bad(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{\"multiaddr\": \"224.0.0.1\", \"group\": 1}",
	        "\"group\" is not a member");
	enc_bad(IPPROTO_IP, IP_ADD_MEMBERSHIP, "\"224.0.0.1\"", "IP_ADD_MEMBERSHIP takes {\"multiaddr\"");
	enc_bad(IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, "{\"multiaddr\": \"232.1.1.1\"}", "\"sourceaddr\" is missing");
	enc_bad(IPPROTO_IP, IP_MULTICAST_IF, "\"lo\"", "not an IPv4 address");
	enc_bad(IPPROTO_IP, IP_MULTICAST_IF, "0", "IP_MULTICAST_IF takes an IPv4 address");
	enc_bad(IPPROTO_IPV6, IPV6_JOIN_GROUP, "{\"multiaddr\": \"224.0.0.1\"}", "not an IPv6 address");
	enc_bad(IPPROTO_IPV6, IPV6_JOIN_GROUP, "{\"ifindex\": 1}", "\"multiaddr\" is missing");
	enc_bad(IPPROTO_IPV6, IPV6_JOIN_GROUP, "{\"multiaddr\": \"ff02::1\", \"ifindex\": \"lo\"}",
	        "\"ifindex\" must be");
}
END_TEST

/* NULL err is fine. */
START_TEST(test_encode_null_err)
{
	unsigned char buf[SOCKOPT_MAX_LEN];
	json_object *v = J("\"x\"");
	socklen_t len;

	ck_assert_int_eq(sockopt_encode(SOL_SOCKET, SO_REUSEADDR, v, buf, &len, NULL, 0), -EINVAL);
	json_object_put(v);
}
END_TEST

/* ---- round trips on real sockets ---- */

START_TEST(test_roundtrip_socket_level)
{
	int base = count_fds();
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned char buf[SOCKOPT_MAX_LEN];
	json_object *got;
	socklen_t len;

	ck_assert_int_ge(s, 0);
	roundtrip(s, SOL_SOCKET, SO_REUSEADDR, "1", "1");
	roundtrip(s, SOL_SOCKET, SO_REUSEADDR, "false", "0");
	roundtrip(s, SOL_SOCKET, SO_REUSEPORT, "true", "1");
	roundtrip(s, SOL_SOCKET, SO_KEEPALIVE, "true", "1");
	roundtrip(s, SOL_SOCKET, SO_RCVLOWAT, "10", "10");
	roundtrip(s, SOL_SOCKET, SO_LINGER, "{\"onoff\": false, \"linger\": 0}", "{\"onoff\":false,\"linger\":0}");
	roundtrip(s, SOL_SOCKET, SO_LINGER, "{\"onoff\": true, \"linger\": 5}", "{\"onoff\":true,\"linger\":5}");
	/* turning lingering off leaves the kernel's time as it was */
	roundtrip(s, SOL_SOCKET, SO_LINGER, "{\"onoff\": false, \"linger\": 0}", "{\"onoff\":false,\"linger\":5}");
	roundtrip(s, SOL_SOCKET, SO_RCVTIMEO, "2.5", "2.5");
	roundtrip(s, SOL_SOCKET, SO_SNDTIMEO, "3", "3");
	roundtrip(s, SOL_SOCKET, SO_SNDTIMEO, "null", "0");
	roundtrip(s, SOL_SOCKET, SO_PRIORITY, "3", "3");

	/* the kernel doubles buffer sizes */
	len = enc(SOL_SOCKET, SO_RCVBUF, "65536", buf);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_RCVBUF, buf, len), 0);
	got = get(s, SOL_SOCKET, SO_RCVBUF);
	ck_assert_int_ge(int_of(got), 65536);
	json_object_put(got);
	len = enc(SOL_SOCKET, SO_SNDBUF, "65536", buf);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_SNDBUF, buf, len), 0);
	got = get(s, SOL_SOCKET, SO_SNDBUF);
	ck_assert_int_ge(int_of(got), 65536);
	json_object_put(got);

	/* read-only values, by name */
	got = get(s, SOL_SOCKET, SO_TYPE);
	ck_assert_str_eq(S(got), "\"SOCK_STREAM\"");
	json_object_put(got);
	got = get(s, SOL_SOCKET, SO_DOMAIN);
	ck_assert_str_eq(S(got), "\"AF_INET\"");
	json_object_put(got);
	got = get(s, SOL_SOCKET, SO_PROTOCOL);
	ck_assert_str_eq(S(got), "\"IPPROTO_TCP\"");
	json_object_put(got);
	got = get(s, SOL_SOCKET, SO_ERROR);
	ck_assert_str_eq(S(got), "0");
	json_object_put(got);
	got = get(s, SOL_SOCKET, SO_ACCEPTCONN);
	ck_assert_str_eq(S(got), "0");
	json_object_put(got);
	ck_assert_int_eq(listen(s, 1), 0);
	got = get(s, SOL_SOCKET, SO_ACCEPTCONN);
	ck_assert_str_eq(S(got), "1");
	json_object_put(got);
	close(s);

	s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		got = get(s, SOL_SOCKET, SO_TYPE);
		ck_assert_str_eq(S(got), "\"SOCK_DGRAM\"");
		json_object_put(got);
		got = get(s, SOL_SOCKET, SO_DOMAIN);
		ck_assert_str_eq(S(got), "\"AF_INET6\"");
		json_object_put(got);
		got = get(s, SOL_SOCKET, SO_PROTOCOL);
		ck_assert_str_eq(S(got), "\"IPPROTO_UDP\"");
		json_object_put(got);
		close(s);
	}
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_roundtrip_tcp)
{
	int base = count_fds();
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	roundtrip(s, IPPROTO_TCP, TCP_NODELAY, "1", "1");
	roundtrip(s, IPPROTO_TCP, TCP_NODELAY, "false", "0");
	roundtrip(s, IPPROTO_TCP, TCP_KEEPIDLE, "30", "30");
	roundtrip(s, IPPROTO_TCP, TCP_KEEPINTVL, "5", "5");
	roundtrip(s, IPPROTO_TCP, TCP_KEEPCNT, "3", "3");
	roundtrip(s, IPPROTO_TCP, TCP_USER_TIMEOUT, "10000", "10000");
	roundtrip(s, IPPROTO_TCP, TCP_CORK, "1", "1");
	roundtrip(s, IPPROTO_TCP, TCP_CONGESTION, "\"reno\"", "\"reno\"");
	close(s);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_roundtrip_ip)
{
	int base = count_fds();
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len;

	ck_assert_int_ge(t, 0);
	ck_assert_int_ge(u, 0);
	roundtrip(t, IPPROTO_IP, IP_TTL, "42", "42");
	roundtrip(t, IPPROTO_IP, IP_TOS, "16", "16");
	roundtrip(u, IPPROTO_IP, IP_TTL, "9", "9");
	roundtrip(u, IPPROTO_IP, IP_MULTICAST_TTL, "7", "7");
	roundtrip(u, IPPROTO_IP, IP_MULTICAST_LOOP, "0", "0");
	roundtrip(u, IPPROTO_IP, IP_MULTICAST_LOOP, "true", "1");
	roundtrip(u, IPPROTO_IP, IP_MULTICAST_IF, "\"127.0.0.1\"", "\"127.0.0.1\"");
	roundtrip(u, IPPROTO_IP, IP_PKTINFO, "1", "1");
	roundtrip(u, IPPROTO_IP, IP_RECVERR, "1", "1");
	roundtrip(u, IPPROTO_IP, IP_FREEBIND, "1", "1");

	/* a 1-byte buffer: the kernel answers IP_MULTICAST_TTL with one byte */
	{
		unsigned char b = 0;
		json_object *got;

		len = 1;
		ck_assert_int_eq(getsockopt(u, IPPROTO_IP, IP_MULTICAST_TTL, &b, &len), 0);
		ck_assert_uint_eq(len, 1);
		got = sockopt_decode(IPPROTO_IP, IP_MULTICAST_TTL, &b, len);
		ck_assert_str_eq(S(got), "7");
		json_object_put(got);
	}

	/* joining a group on lo: either it works, or the kernel says why (lo may
	 * lack IFF_MULTICAST); the encoded bytes never make it EINVAL/EFAULT */
	len = enc(IPPROTO_IP, IP_ADD_MEMBERSHIP, "{\"multiaddr\": \"224.0.0.251\", \"interface\": \"127.0.0.1\"}",
	          buf);
	if (setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, buf, len) == 0) {
		len = enc(IPPROTO_IP, IP_DROP_MEMBERSHIP,
		          "{\"multiaddr\": \"224.0.0.251\", \"interface\": \"127.0.0.1\"}", buf);
		ck_assert_int_eq(setsockopt(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, buf, len), 0);
	} else {
		ck_assert_msg(errno != EINVAL && errno != EFAULT, "IP_ADD_MEMBERSHIP: %s", strerror(errno));
		printf("note: IP_ADD_MEMBERSHIP on lo: %s\n", strerror(errno));
	}
	len = enc(IPPROTO_IP, IP_ADD_MEMBERSHIP,
	          "{\"multiaddr\": \"224.0.0.252\", \"ifindex\": 1}", buf);
	if (setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, buf, len) != 0)
		ck_assert_msg(errno != EINVAL && errno != EFAULT, "IP_ADD_MEMBERSHIP mreqn: %s", strerror(errno));
	close(t);
	close(u);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_roundtrip_ipv6)
{
	int base = count_fds();
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned char buf[SOCKOPT_MAX_LEN];
	char text[128];
	socklen_t len;

	if (s < 0) {
		printf("skipped IPv6 options: %s\n", strerror(errno));
		return;
	}
	roundtrip(s, IPPROTO_IPV6, IPV6_V6ONLY, "1", "1");
	roundtrip(s, IPPROTO_IPV6, IPV6_V6ONLY, "false", "0");
	roundtrip(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, "33", "33");
	roundtrip(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, "4", "4");
	roundtrip(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, "0", "0");
	roundtrip(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, "1", "1");
	roundtrip(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, "1", "1");
	snprintf(text, sizeof(text), "{\"multiaddr\": \"ff02::1:3\", \"ifindex\": %u}", if_nametoindex("lo"));
	len = enc(IPPROTO_IPV6, IPV6_JOIN_GROUP, text, buf);
	if (setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, buf, len) == 0)
		ck_assert_int_eq(setsockopt(s, IPPROTO_IPV6, IPV6_LEAVE_GROUP, buf, len), 0);
	else
		ck_assert_msg(errno != EINVAL && errno != EFAULT, "IPV6_JOIN_GROUP: %s", strerror(errno));
	close(s);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_peercred)
{
	int base = count_fds(), sv[2];
	json_object *got, *m;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	got = get(sv[0], SOL_SOCKET, SO_PEERCRED);
	ck_assert(json_object_object_get_ex(got, "pid", &m));
	ck_assert_int_eq(json_object_get_int(m), getpid());
	ck_assert(json_object_object_get_ex(got, "uid", &m));
	ck_assert_int_eq(json_object_get_int64(m), getuid());
	ck_assert(json_object_object_get_ex(got, "gid", &m));
	ck_assert_int_eq(json_object_get_int64(m), getgid());
	json_object_put(got);

	got = get(sv[0], SOL_SOCKET, SO_DOMAIN);
	ck_assert_str_eq(S(got), "\"AF_UNIX\"");
	json_object_put(got);

#ifdef SO_PEERGROUPS
	{
		unsigned char buf[SOCKOPT_MAX_LEN];
		socklen_t len = sockopt_default_len(SOL_SOCKET, SO_PEERGROUPS);

		if (getsockopt(sv[0], SOL_SOCKET, SO_PEERGROUPS, buf, &len) == 0) {
			got = sockopt_decode(SOL_SOCKET, SO_PEERGROUPS, buf, len);
			ck_assert(json_object_is_type(got, json_type_array));
			ck_assert_uint_eq(json_object_array_length(got), len / sizeof(gid_t));
			json_object_put(got);
		}
	}
#endif
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_tcp_info)
{
	int base = count_fds(), c, a;
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len = sockopt_default_len(IPPROTO_TCP, TCP_INFO);
	json_object *got, *m;

	tcp_pair(&c, &a);
	ck_assert_int_eq(write(c, "x", 1), 1);
	ck_assert_int_eq(getsockopt(c, IPPROTO_TCP, TCP_INFO, buf, &len), 0);
	got = sockopt_decode(IPPROTO_TCP, TCP_INFO, buf, len);
	ck_assert(json_object_object_get_ex(got, "state", &m));
	ck_assert_str_eq(json_object_get_string(m), "TCP_ESTABLISHED");
	ck_assert(json_object_object_get_ex(got, "ca_state", &m));
	ck_assert_str_eq(json_object_get_string(m), "TCP_CA_Open");
	ck_assert(json_object_object_get_ex(got, "snd_mss", &m));
	ck_assert_int_gt(json_object_get_int(m), 0);
	ck_assert(json_object_object_get_ex(got, "rcv_wscale", &m));
	ck_assert(json_object_object_get_ex(got, "total_retrans", &m));
	if (len >= 232)
		ck_assert(json_object_object_get_ex(got, "snd_wnd", &m));
	json_object_put(got);

	/* only the fields inside len */
	got = sockopt_decode(IPPROTO_TCP, TCP_INFO, buf, 8);
	ck_assert(json_object_object_get_ex(got, "state", NULL));
	ck_assert(json_object_object_get_ex(got, "fastopen_client_fail", NULL));
	ck_assert(!json_object_object_get_ex(got, "rto", NULL));
	json_object_put(got);
	got = sockopt_decode(IPPROTO_TCP, TCP_INFO, buf, 11);
	ck_assert(!json_object_object_get_ex(got, "rto", NULL));
	json_object_put(got);
	got = sockopt_decode(IPPROTO_TCP, TCP_INFO, buf, 0);
	ck_assert_str_eq(S(got), "{}");
	json_object_put(got);

	/* listening socket state */
	{
		int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		ck_assert_int_eq(listen(l, 1), 0);
		got = get(l, IPPROTO_TCP, TCP_INFO);
		ck_assert(json_object_object_get_ex(got, "state", &m));
		ck_assert_str_eq(json_object_get_string(m), "TCP_LISTEN");
		json_object_put(got);
		close(l);
	}
	close(c);
	close(a);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_bindtodevice)
{
	int base = count_fds();
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	if (geteuid() != 0) {
		printf("skipped SO_BINDTODEVICE/SO_MARK round trips: not root\n");
		close(s);
		return;
	}
	roundtrip(s, SOL_SOCKET, SO_BINDTODEVICE, "\"lo\"", "\"lo\"");
	roundtrip(s, SOL_SOCKET, SO_BINDTODEVICE, "\"\"", "\"\"");
	roundtrip(s, SOL_SOCKET, SO_MARK, "4294967280", "4294967280");
	roundtrip(s, SOL_SOCKET, SO_MARK, "0", "0");
	close(s);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_decode_forms)
{
	json_object *got;
	int v = 77;
	unsigned char odd[3] = { 1, 2, 3 }, name[16] = "cubic", bin[4] = { 'a', 0xff, 'b', 0 };
	struct in_addr a;
	struct ip_mreq m;
	struct ipv6_mreq m6 = { 0 };

	got = sockopt_decode(SOL_SOCKET, 9999, (unsigned char *)&v, sizeof(v));
	ck_assert_str_eq(S(got), "77");
	json_object_put(got);
	got = sockopt_decode(SOL_SOCKET, SO_REUSEADDR, odd, 3);
	ck_assert_str_eq(S(got), "{\"data\":\"AQID\"}");
	json_object_put(got);
	got = sockopt_decode(SOL_SOCKET, SO_LINGER, odd, 3);
	ck_assert_str_eq(S(got), "{\"data\":\"AQID\"}");
	json_object_put(got);
	got = sockopt_decode(SOL_SOCKET, SO_PEERCRED, odd, 3);
	ck_assert_str_eq(S(got), "{\"data\":\"AQID\"}");
	json_object_put(got);
	got = sockopt_decode(SOL_SOCKET, SO_PEERGROUPS, odd, 3);
	ck_assert_str_eq(S(got), "{\"data\":\"AQID\"}");
	json_object_put(got);
	got = sockopt_decode(SOL_SOCKET, SO_PEERGROUPS, odd, 0);
	ck_assert_str_eq(S(got), "[]");
	json_object_put(got);
	got = sockopt_decode(IPPROTO_TCP, TCP_CONGESTION, name, sizeof(name));
	ck_assert_str_eq(S(got), "\"cubic\"");
	json_object_put(got);
	got = sockopt_decode(IPPROTO_TCP, TCP_CONGESTION, name, 3);   /* no NUL inside len */
	ck_assert_str_eq(S(got), "\"cub\"");
	json_object_put(got);
	got = sockopt_decode(SOL_SOCKET, SO_BINDTODEVICE, bin, sizeof(bin));
	ck_assert_str_eq(S(got), "{\"data\":\"Yf9iAA==\"}");
	json_object_put(got);
	got = sockopt_decode(SOL_SOCKET, SO_BINDTODEVICE, name, 0);
	ck_assert_str_eq(S(got), "\"\"");
	json_object_put(got);
	v = 12345;
	got = sockopt_decode(SOL_SOCKET, SO_TYPE, (unsigned char *)&v, sizeof(v));
	ck_assert_str_eq(S(got), "12345");
	json_object_put(got);
	v = -1;
	got = sockopt_decode(SOL_SOCKET, SO_MARK, (unsigned char *)&v, sizeof(v));
	ck_assert_str_eq(S(got), "4294967295");
	json_object_put(got);

	/* the membership structs decode to their encode forms */
	inet_pton(AF_INET, "224.1.2.3", &m.imr_multiaddr);
	inet_pton(AF_INET, "127.0.0.1", &m.imr_interface);
	got = sockopt_decode(IPPROTO_IP, IP_ADD_MEMBERSHIP, (unsigned char *)&m, sizeof(m));
	ck_assert_str_eq(S(got), "{\"multiaddr\":\"224.1.2.3\",\"interface\":\"127.0.0.1\"}");
	json_object_put(got);
	inet_pton(AF_INET6, "ff02::1", &m6.ipv6mr_multiaddr);
	m6.ipv6mr_interface = 4;
	got = sockopt_decode(IPPROTO_IPV6, IPV6_JOIN_GROUP, (unsigned char *)&m6, sizeof(m6));
	ck_assert_str_eq(S(got), "{\"multiaddr\":\"ff02::1\",\"ifindex\":4}");
	json_object_put(got);
	inet_pton(AF_INET, "10.1.2.3", &a);
	got = sockopt_decode(IPPROTO_IP, IP_MULTICAST_IF, (unsigned char *)&a, sizeof(a));
	ck_assert_str_eq(S(got), "\"10.1.2.3\"");
	json_object_put(got);
}
END_TEST

START_TEST(test_default_len)
{
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_LINGER), sizeof(struct linger));
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_PEERCRED), sizeof(struct ucred));
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_BINDTODEVICE), IFNAMSIZ);
	ck_assert_uint_eq(sockopt_default_len(IPPROTO_TCP, TCP_CONGESTION), 16);
	ck_assert_uint_ge(sockopt_default_len(IPPROTO_TCP, TCP_INFO), 104);
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_REUSEADDR), sizeof(int));
	ck_assert_uint_eq(sockopt_default_len(99, 99), sizeof(int));
	ck_assert_uint_le(sockopt_default_len(SOL_SOCKET, SO_PEERGROUPS), SOCKOPT_MAX_LEN);

}
END_TEST

/* ---- options and control messages the kernel reserves to privilege ---- */

#ifndef TCP_AO_REPAIR
#define TCP_AO_REPAIR 42
#endif
#ifndef ALG_SET_KEY_BY_KEY_SERIAL
#define ALG_SET_KEY_BY_KEY_SERIAL 7
#endif

struct lo { int level, option; const char *name; };
#define LO(l, o) { l, o, #o }

/* Every option docs/privileged.md lists, spelled out again here (not read
 * from the daemon's table) so that a dropped entry fails. */
static const struct lo listed_opts[] = {
	LO(SOL_SOCKET, SO_DEBUG), LO(SOL_SOCKET, SO_PRIORITY), LO(SOL_SOCKET, SO_SNDBUFFORCE),
	LO(SOL_SOCKET, SO_RCVBUFFORCE), LO(SOL_SOCKET, SO_BINDTODEVICE), LO(SOL_SOCKET, SO_BINDTOIFINDEX),
	LO(SOL_SOCKET, SO_ATTACH_FILTER), LO(SOL_SOCKET, SO_MARK), LO(SOL_SOCKET, SO_BUSY_POLL),
	LO(SOL_SOCKET, SO_PREFER_BUSY_POLL), LO(SOL_SOCKET, SO_BUSY_POLL_BUDGET), LO(SOL_SOCKET, SO_TXTIME),
	LO(IPPROTO_IP, IP_OPTIONS), LO(IPPROTO_IP, IP_TRANSPARENT), LO(IPPROTO_IP, IP_IPSEC_POLICY),
	LO(IPPROTO_IP, IP_XFRM_POLICY),
	LO(IPPROTO_IP, IPT_SO_SET_REPLACE), LO(IPPROTO_IP, IPT_SO_SET_ADD_COUNTERS),
	LO(IPPROTO_IP, ARPT_SO_SET_REPLACE), LO(IPPROTO_IP, ARPT_SO_SET_ADD_COUNTERS),
	LO(IPPROTO_IP, EBT_SO_SET_ENTRIES), LO(IPPROTO_IP, EBT_SO_SET_COUNTERS), LO(IPPROTO_IP, EBT_SO_SET_MAX),
	LO(IPPROTO_IP, MRT_INIT), LO(IPPROTO_IP, MRT_DONE), LO(IPPROTO_IP, MRT_ADD_VIF), LO(IPPROTO_IP, MRT_DEL_VIF),
	LO(IPPROTO_IP, MRT_ADD_MFC), LO(IPPROTO_IP, MRT_DEL_MFC), LO(IPPROTO_IP, MRT_VERSION),
	LO(IPPROTO_IP, MRT_ASSERT), LO(IPPROTO_IP, MRT_PIM), LO(IPPROTO_IP, MRT_TABLE),
	LO(IPPROTO_IP, MRT_ADD_MFC_PROXY), LO(IPPROTO_IP, MRT_DEL_MFC_PROXY), LO(IPPROTO_IP, MRT_FLUSH),
	LO(IPPROTO_IP, IP_VS_SO_SET_NONE), LO(IPPROTO_IP, IP_VS_SO_SET_FLUSH), LO(IPPROTO_IP, IP_VS_SO_SET_ZERO),
	LO(IPPROTO_IPV6, IPV6_JOIN_ANYCAST), LO(IPPROTO_IPV6, IPV6_FLOWLABEL_MGR),
	LO(IPPROTO_IPV6, IPV6_IPSEC_POLICY), LO(IPPROTO_IPV6, IPV6_XFRM_POLICY), LO(IPPROTO_IPV6, IPV6_2292PKTOPTIONS),
	LO(IPPROTO_IPV6, IPV6_HOPOPTS), LO(IPPROTO_IPV6, IPV6_RTHDRDSTOPTS), LO(IPPROTO_IPV6, IPV6_DSTOPTS),
	LO(IPPROTO_IPV6, IPV6_TRANSPARENT), LO(IPPROTO_IPV6, IP6T_SO_SET_REPLACE),
	LO(IPPROTO_IPV6, IP6T_SO_SET_ADD_COUNTERS), LO(IPPROTO_IPV6, MRT6_INIT), LO(IPPROTO_IPV6, MRT6_ADD_MIF),
	LO(IPPROTO_IPV6, MRT6_FLUSH),
	LO(IPPROTO_TCP, TCP_CONGESTION), LO(IPPROTO_TCP, TCP_REPAIR), LO(IPPROTO_TCP, TCP_REPAIR_QUEUE),
	LO(IPPROTO_TCP, TCP_QUEUE_SEQ), LO(IPPROTO_TCP, TCP_REPAIR_OPTIONS), LO(IPPROTO_TCP, TCP_REPAIR_WINDOW),
	LO(IPPROTO_TCP, TCP_ULP), LO(IPPROTO_TCP, TCP_AO_REPAIR),
	LO(IPPROTO_SCTP, SCTP_SOCKOPT_BINDX_ADD), LO(IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX_OLD),
	LO(IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX),
	LO(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP), LO(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP),
	LO(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID),
	LO(SOL_CAN_J1939, SO_J1939_SEND_PRIO),
	LO(SOL_ALG, ALG_SET_DRBG_ENTROPY), LO(SOL_ALG, ALG_SET_KEY_BY_KEY_SERIAL),
};

/* Options the kernel checks no capability for, on every path setsockopt
 * reaches (IP_TOS, IPV6_TCLASS and the multicast joins included). */
static const struct lo open_opts[] = {
	LO(SOL_SOCKET, SO_REUSEADDR), LO(SOL_SOCKET, SO_REUSEPORT), LO(SOL_SOCKET, SO_KEEPALIVE),
	LO(SOL_SOCKET, SO_SNDBUF), LO(SOL_SOCKET, SO_RCVBUF), LO(SOL_SOCKET, SO_LINGER), LO(SOL_SOCKET, SO_BROADCAST),
	LO(SOL_SOCKET, SO_RCVTIMEO), LO(SOL_SOCKET, SO_TIMESTAMP), LO(SOL_SOCKET, SO_ATTACH_BPF),
	LO(SOL_SOCKET, SO_DETACH_FILTER), LO(SOL_SOCKET, SO_PASSCRED), LO(SOL_SOCKET, SO_ZEROCOPY),
	LO(SOL_SOCKET, SO_MAX_PACING_RATE), LO(SOL_SOCKET, SO_RCVMARK),
	LO(IPPROTO_TCP, TCP_NODELAY), LO(IPPROTO_TCP, TCP_KEEPIDLE), LO(IPPROTO_TCP, TCP_MAXSEG),
	LO(IPPROTO_TCP, TCP_USER_TIMEOUT), LO(IPPROTO_TCP, TCP_MD5SIG), LO(IPPROTO_TCP, TCP_FASTOPEN),
	LO(IPPROTO_TCP, TCP_TX_DELAY),
	LO(IPPROTO_IP, IP_TOS), LO(IPPROTO_IP, IP_TTL), LO(IPPROTO_IP, IP_FREEBIND), LO(IPPROTO_IP, IP_PKTINFO),
	LO(IPPROTO_IP, IP_RETOPTS), LO(IPPROTO_IP, IP_RECVOPTS), LO(IPPROTO_IP, IP_ROUTER_ALERT),
	LO(IPPROTO_IP, IP_HDRINCL), LO(IPPROTO_IP, IP_ADD_MEMBERSHIP), LO(IPPROTO_IP, IP_MULTICAST_IF),
	LO(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT), LO(IPPROTO_IP, IP_LOCAL_PORT_RANGE), LO(IPPROTO_IP, MCAST_JOIN_GROUP),
	LO(IPPROTO_IPV6, IPV6_V6ONLY), LO(IPPROTO_IPV6, IPV6_TCLASS), LO(IPPROTO_IPV6, IPV6_PKTINFO),
	LO(IPPROTO_IPV6, IPV6_LEAVE_ANYCAST), LO(IPPROTO_IPV6, IPV6_RTHDR), LO(IPPROTO_IPV6, IPV6_FREEBIND),
	LO(IPPROTO_IPV6, IPV6_2292HOPOPTS), LO(IPPROTO_IPV6, IPV6_2292DSTOPTS), LO(IPPROTO_IPV6, IPV6_JOIN_GROUP),
	LO(IPPROTO_IPV6, IPV6_ROUTER_ALERT), LO(IPPROTO_IPV6, IPV6_UNICAST_HOPS), LO(IPPROTO_IPV6, IPV6_RECVPKTINFO),
	LO(IPPROTO_SCTP, SCTP_SOCKOPT_BINDX_REM),
	LO(SOL_NETLINK, NETLINK_PKTINFO), LO(SOL_NETLINK, NETLINK_EXT_ACK), LO(SOL_NETLINK, NETLINK_NO_ENOBUFS),
	LO(SOL_CAN_J1939, SO_J1939_PROMISC),
	LO(SOL_ALG, ALG_SET_KEY), LO(SOL_ALG, ALG_SET_AEAD_AUTHSIZE),
	LO(SOL_PACKET, PACKET_ADD_MEMBERSHIP), LO(SOL_PACKET, PACKET_FANOUT),
	LO(99, SO_MARK),
};

/* v as an int value of the option, on a socket of (family, type, proto). */
static bool vpriv_int(int family, int type, int proto, int level, int option, int v)
{
	return sockopt_value_privileged(family, type, proto, level, option, &v, sizeof(v));
}

START_TEST(test_privileged_listed)
{
	for (size_t i = 0; i < ARRAY_SIZE(listed_opts); i++) {
		const struct lo *o = &listed_opts[i];

		ck_assert_msg(sockopt_privileged(o->level, o->option), "%s is not judged privileged", o->name);
		/* and for a socket of some kind, with some value, it is governed */
		ck_assert_msg(sockopt_value_privileged(AF_INET, SOCK_STREAM, IPPROTO_TCP, o->level, o->option, NULL, 0) ||
		              sockopt_value_privileged(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC, o->level, o->option, NULL, 0),
		              "%s is never governed", o->name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(open_opts); i++) {
		const struct lo *o = &open_opts[i];
		int one = 1;

		ck_assert_msg(!sockopt_privileged(o->level, o->option), "%s is judged privileged", o->name);
		ck_assert_msg(!sockopt_value_privileged(AF_INET6, SOCK_DGRAM, 0, o->level, o->option, &one, sizeof(one)),
		              "%s = 1 is judged privileged", o->name);
		ck_assert_msg(!sockopt_value_privileged(AF_INET, SOCK_STREAM, 0, o->level, o->option, NULL, 0),
		              "%s (any value) is judged privileged", o->name);
	}
}
END_TEST

/* The conditions the kernel puts on a value or on the kind of socket. */
START_TEST(test_privileged_values)
{
	struct sock_txtime t = { .clockid = CLOCK_MONOTONIC, .flags = 0 };
	unsigned char b = 1;

	/* SO_PRIORITY: 0-6 open (sk_set_prio_allowed), the rest and short values not */
	for (int v = 0; v <= 6; v++)
		ck_assert(!vpriv_int(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_PRIORITY, v));
	ck_assert(vpriv_int(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_PRIORITY, 7));
	ck_assert(vpriv_int(AF_UNIX, SOCK_DGRAM, 0, SOL_SOCKET, SO_PRIORITY, -1));
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_PRIORITY, &b, 1));
	/* turning off is open, turning on is not */
	ck_assert(!vpriv_int(AF_INET, SOCK_STREAM, 0, SOL_SOCKET, SO_DEBUG, 0));
	ck_assert(vpriv_int(AF_INET, SOCK_STREAM, 0, SOL_SOCKET, SO_DEBUG, 1));
	ck_assert(!vpriv_int(AF_INET, SOCK_STREAM, 0, SOL_SOCKET, SO_PREFER_BUSY_POLL, 0));
	ck_assert(vpriv_int(AF_INET, SOCK_STREAM, 0, SOL_SOCKET, SO_PREFER_BUSY_POLL, 2));
	ck_assert(!vpriv_int(AF_INET, SOCK_STREAM, 0, IPPROTO_IP, IP_TRANSPARENT, 0));
	ck_assert(vpriv_int(AF_INET, SOCK_STREAM, 0, IPPROTO_IP, IP_TRANSPARENT, 1));
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_STREAM, 0, IPPROTO_IP, IP_TRANSPARENT, &b, 1));
	ck_assert(!vpriv_int(AF_INET6, SOCK_DGRAM, 0, IPPROTO_IPV6, IPV6_TRANSPARENT, 0));
	ck_assert(vpriv_int(AF_INET6, SOCK_DGRAM, 0, IPPROTO_IPV6, IPV6_TRANSPARENT, 1));
	/* whatever the value */
	ck_assert(vpriv_int(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_MARK, 0));
	ck_assert(vpriv_int(AF_INET6, SOCK_DGRAM, 0, IPPROTO_IPV6, IPV6_JOIN_ANYCAST, 0));
	ck_assert(vpriv_int(AF_INET, SOCK_STREAM, 0, IPPROTO_TCP, TCP_REPAIR, 0));
	ck_assert(vpriv_int(AF_INET, SOCK_RAW, IPPROTO_IGMP, IPPROTO_IP, MRT_INIT, 1));
	/* SO_TXTIME: only CLOCK_MONOTONIC is open */
	ck_assert(!sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_TXTIME, &t, sizeof(t)));
	t.clockid = CLOCK_TAI;
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_TXTIME, &t, sizeof(t)));
	t.clockid = CLOCK_REALTIME;
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_TXTIME, &t, sizeof(t)));
	t.clockid = CLOCK_MONOTONIC;
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_TXTIME, &t, 4));
	/* SO_ATTACH_FILTER: on TCP sockets only (MPTCP's counted in) */
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_STREAM, 0, SOL_SOCKET, SO_ATTACH_FILTER, NULL, 0));
	ck_assert(sockopt_value_privileged(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP, SOL_SOCKET,
	                                   SO_ATTACH_FILTER, NULL, 0));
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_STREAM, IPPROTO_MPTCP, SOL_SOCKET, SO_ATTACH_FILTER, NULL, 0));
	ck_assert(!sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, SOL_SOCKET, SO_ATTACH_FILTER, NULL, 0));
	ck_assert(!sockopt_value_privileged(AF_UNIX, SOCK_STREAM, 0, SOL_SOCKET, SO_ATTACH_FILTER, NULL, 0));
	ck_assert(!sockopt_value_privileged(AF_PACKET, SOCK_RAW, 0, SOL_SOCKET, SO_ATTACH_FILTER, NULL, 0));
	/* SO_J1939_SEND_PRIO: 0 and 1 are CAP_NET_ADMIN's */
	ck_assert(vpriv_int(AF_CAN, SOCK_DGRAM, CAN_J1939, SOL_CAN_J1939, SO_J1939_SEND_PRIO, 0));
	ck_assert(vpriv_int(AF_CAN, SOCK_DGRAM, CAN_J1939, SOL_CAN_J1939, SO_J1939_SEND_PRIO, 1));
	for (int v = 2; v <= 7; v++)
		ck_assert(!vpriv_int(AF_CAN, SOCK_DGRAM, CAN_J1939, SOL_CAN_J1939, SO_J1939_SEND_PRIO, v));
	ck_assert(vpriv_int(AF_CAN, SOCK_DGRAM, CAN_J1939, SOL_CAN_J1939, SO_J1939_SEND_PRIO, 8));
}
END_TEST

static bool ipopt_priv(const unsigned char *o, size_t len)
{
	return sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, IPPROTO_IP, IP_OPTIONS, o, len);
}

/* IP_OPTIONS: ip_options_compile's CAP_NET_RAW cases, and lists it cannot read */
START_TEST(test_privileged_ip_options)
{
	static const unsigned char nop_eol[] = { IPOPT_NOP, IPOPT_NOP, IPOPT_NOP, IPOPT_EOL };
	static const unsigned char rr[] = { IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_EOL };
	static const unsigned char ra[] = { IPOPT_RA, 4, 0, 0 };
	static const unsigned char ts0[] = { IPOPT_TS, 8, 5, IPOPT_TS_TSONLY, 0, 0, 0, 0 };
	static const unsigned char ts1[] = { IPOPT_TS, 12, 5, IPOPT_TS_TSANDADDR, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const unsigned char ts3[] = { IPOPT_TS, 12, 5, IPOPT_TS_PRESPEC, 127, 0, 0, 1, 0, 0, 0, 0 };
	static const unsigned char ts2[] = { IPOPT_TS, 8, 5, 2, 0, 0, 0, 0 };
	static const unsigned char lsrr[] = { IPOPT_LSRR, 7, 4, 192, 0, 2, 1, IPOPT_EOL };
	static const unsigned char ssrr[] = { IPOPT_NOP, IPOPT_SSRR, 7, 4, 192, 0, 2, 1 };
	static const unsigned char cipso[] = { 134, 6, 0, 0, 0, 1, 0, 0 };
	static const unsigned char sec[] = { IPOPT_SEC, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, IPOPT_EOL };
	static const unsigned char sid[] = { IPOPT_SID, 4, 0, 1 };
	static const unsigned char rr_then_lsrr[] = { IPOPT_RR, 3, 4, IPOPT_LSRR, 7, 4, 192, 0, 2, 1, 0, 0 };
	static const unsigned char after_eol[] = { IPOPT_EOL, IPOPT_LSRR, 7, 4, 192, 0, 2, 1 };
	static const unsigned char too_long[] = { IPOPT_RR, 9, 4, 0 };
	static const unsigned char lone_type[] = { IPOPT_RR };
	static const unsigned char short_len[] = { IPOPT_RR, 1, 4, 0 };
	static const unsigned char short_ts[] = { IPOPT_TS, 3, 5, 0 };

	ck_assert(!ipopt_priv(nop_eol, 0));       /* clearing the options */
	ck_assert(sockopt_value_privileged(AF_INET, SOCK_DGRAM, 0, IPPROTO_IP, IP_OPTIONS, NULL, 0)); /* any value */
	ck_assert(!ipopt_priv(nop_eol, sizeof(nop_eol)));
	ck_assert(!ipopt_priv(rr, sizeof(rr)));
	ck_assert(!ipopt_priv(ra, sizeof(ra)));
	ck_assert(!ipopt_priv(ts0, sizeof(ts0)));
	ck_assert(!ipopt_priv(ts1, sizeof(ts1)));
	ck_assert(!ipopt_priv(ts3, sizeof(ts3)));
	ck_assert(!ipopt_priv(after_eol, sizeof(after_eol)));   /* the kernel stops at EOL */
	ck_assert(ipopt_priv(ts2, sizeof(ts2)));
	ck_assert(ipopt_priv(lsrr, sizeof(lsrr)));
	ck_assert(ipopt_priv(ssrr, sizeof(ssrr)));
	ck_assert(ipopt_priv(cipso, sizeof(cipso)));
	ck_assert(ipopt_priv(sec, sizeof(sec)));
	ck_assert(ipopt_priv(sid, sizeof(sid)));
	ck_assert(ipopt_priv(rr_then_lsrr, sizeof(rr_then_lsrr)));
	ck_assert(ipopt_priv(too_long, sizeof(too_long)));
	ck_assert(ipopt_priv(lone_type, sizeof(lone_type)));
	ck_assert(ipopt_priv(short_len, sizeof(short_len)));
	ck_assert(ipopt_priv(short_ts, sizeof(short_ts)));
}
END_TEST

static bool nl_priv(int proto, int option, unsigned group)
{
	return sockopt_value_privileged(AF_NETLINK, SOCK_RAW, proto, SOL_NETLINK, option, &group, sizeof(group));
}

/* Netlink memberships: by the protocol's NL_CFG_F_NONROOT_RECV and bind hook */
START_TEST(test_privileged_netlink)
{
	for (unsigned g = 1; g <= 64; g++) {
		bool mroute = g == RTNLGRP_IPV4_MROUTE_R || g == RTNLGRP_IPV6_MROUTE_R;

		ck_assert_msg(nl_priv(NETLINK_ROUTE, NETLINK_ADD_MEMBERSHIP, g) == mroute, "route group %u", g);
		ck_assert(!nl_priv(NETLINK_ROUTE, NETLINK_DROP_MEMBERSHIP, g));
		ck_assert(!nl_priv(NETLINK_SOCK_DIAG, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(!nl_priv(NETLINK_KOBJECT_UEVENT, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(!nl_priv(NETLINK_SELINUX, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(!nl_priv(NETLINK_RDMA, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(nl_priv(NETLINK_GENERIC, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(nl_priv(NETLINK_AUDIT, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(nl_priv(NETLINK_CONNECTOR, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(nl_priv(NETLINK_USERSOCK, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(nl_priv(NETLINK_NETFILTER, NETLINK_ADD_MEMBERSHIP, g));
		ck_assert(nl_priv(NETLINK_XFRM, NETLINK_DROP_MEMBERSHIP, g));
		ck_assert(nl_priv(31, NETLINK_ADD_MEMBERSHIP, g));
	}
	/* without a value: does some group need it? */
	ck_assert(sockopt_value_privileged(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
	                                   NULL, 0));
	ck_assert(!sockopt_value_privileged(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP,
	                                    NULL, 0));
	ck_assert(!sockopt_value_privileged(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT, SOL_NETLINK,
	                                    NETLINK_ADD_MEMBERSHIP, NULL, 0));
	ck_assert(sockopt_value_privileged(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
	                                   NULL, 0));
	/* a value too short to hold a group, and the option on another family */
	ck_assert(sockopt_value_privileged(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
	                                   "\1", 1));
	ck_assert(vpriv_int(AF_INET, SOCK_DGRAM, 0, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 1));
	ck_assert(vpriv_int(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 0));
	ck_assert(!vpriv_int(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, SOL_NETLINK, NETLINK_EXT_ACK, 1));
}
END_TEST

/* One control message of (level, type) with len bytes of data, in buf. */
static const struct cmsghdr *one_cmsg(unsigned char *buf, int level, int type, const void *data, size_t len)
{
	struct cmsghdr h = { .cmsg_len = CMSG_LEN(len), .cmsg_level = level, .cmsg_type = type };

	memset(buf, 0, CMSG_SPACE(len));
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + CMSG_LEN(0), data, len);
	return (const struct cmsghdr *)buf;
}

START_TEST(test_privileged_cmsgs)
{
	_Alignas(struct cmsghdr) unsigned char buf[CMSG_SPACE(64)];
	static const unsigned char hop[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
	static const unsigned char rr[] = { IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_EOL };
	static const unsigned char lsrr[] = { IPOPT_LSRR, 7, 4, 192, 0, 2, 1, IPOPT_EOL };
	struct in6_pktinfo pi6 = { .ipi6_ifindex = 0 };
	struct in_pktinfo pi4 = { .ipi_ifindex = 0 };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	int fd = 3, v;

	inet_pton(AF_INET6, "2001:db8::99", &pi6.ipi6_addr);   /* a source not on this host */
	inet_pton(AF_INET, "192.0.2.99", &pi4.ipi_spec_dst);
	ck_assert(ancdata_privileged(SOL_SOCKET, SO_MARK));
	ck_assert(ancdata_privileged(SOL_SOCKET, SO_PRIORITY));
	ck_assert(ancdata_privileged(IPPROTO_IP, IP_RETOPTS));
	ck_assert(ancdata_privileged(IPPROTO_IPV6, IPV6_HOPOPTS));
	ck_assert(ancdata_privileged(IPPROTO_IPV6, IPV6_2292HOPOPTS));
	ck_assert(ancdata_privileged(IPPROTO_IPV6, IPV6_DSTOPTS));
	ck_assert(ancdata_privileged(IPPROTO_IPV6, IPV6_2292DSTOPTS));
	ck_assert(ancdata_privileged(IPPROTO_IPV6, IPV6_RTHDRDSTOPTS));
	ck_assert(ancdata_privileged(IPPROTO_SCTP, SCTP_DSTADDRV4));
	ck_assert(ancdata_privileged(IPPROTO_SCTP, SCTP_DSTADDRV6));
	ck_assert(!ancdata_privileged(SOL_SOCKET, SCM_RIGHTS));
	ck_assert(!ancdata_privileged(SOL_SOCKET, SO_TIMESTAMPING));
	ck_assert(!ancdata_privileged(IPPROTO_IP, IP_TTL));
	ck_assert(!ancdata_privileged(IPPROTO_IP, IP_TOS));
	ck_assert(!ancdata_privileged(IPPROTO_IP, IP_PKTINFO));
	ck_assert(!ancdata_privileged(IPPROTO_IPV6, IPV6_PKTINFO));
	ck_assert(!ancdata_privileged(IPPROTO_IPV6, IPV6_TCLASS));
	ck_assert(!ancdata_privileged(IPPROTO_IPV6, IPV6_HOPLIMIT));
	ck_assert(!ancdata_privileged(IPPROTO_IPV6, IPV6_RTHDR));
	ck_assert(!ancdata_privileged(IPPROTO_SCTP, SCTP_SNDINFO));

	v = 3;
	ck_assert(!cmsg_privileged(AF_INET, SOCK_DGRAM, 0, one_cmsg(buf, SOL_SOCKET, SO_PRIORITY, &v, sizeof(v))));
	v = 7;
	ck_assert(cmsg_privileged(AF_INET, SOCK_DGRAM, 0, one_cmsg(buf, SOL_SOCKET, SO_PRIORITY, &v, sizeof(v))));
	v = 0;
	ck_assert(cmsg_privileged(AF_INET6, SOCK_DGRAM, 0, one_cmsg(buf, SOL_SOCKET, SO_MARK, &v, sizeof(v))));
	ck_assert(!cmsg_privileged(AF_UNIX, SOCK_DGRAM, 0, one_cmsg(buf, SOL_SOCKET, SCM_RIGHTS, &fd, sizeof(fd))));
	ck_assert(!cmsg_privileged(AF_INET, SOCK_DGRAM, 0, one_cmsg(buf, IPPROTO_IP, IP_RETOPTS, rr, sizeof(rr))));
	ck_assert(cmsg_privileged(AF_INET, SOCK_DGRAM, 0, one_cmsg(buf, IPPROTO_IP, IP_RETOPTS, lsrr, sizeof(lsrr))));
	ck_assert(cmsg_privileged(AF_INET6, SOCK_DGRAM, 0, one_cmsg(buf, IPPROTO_IPV6, IPV6_HOPOPTS, hop, sizeof(hop))));
	ck_assert(cmsg_privileged(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6,
	                          one_cmsg(buf, IPPROTO_IPV6, IPV6_2292DSTOPTS, hop, sizeof(hop))));
	/* a foreign source: the kernel checks freebind/transparent/ip_nonlocal_bind, no capability */
	ck_assert(!cmsg_privileged(AF_INET6, SOCK_DGRAM, 0, one_cmsg(buf, IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6))));
	ck_assert(!cmsg_privileged(AF_INET, SOCK_DGRAM, 0, one_cmsg(buf, IPPROTO_IP, IP_PKTINFO, &pi4, sizeof(pi4))));
	v = 0xb8;
	ck_assert(!cmsg_privileged(AF_INET6, SOCK_DGRAM, 0, one_cmsg(buf, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v))));
	ck_assert(cmsg_privileged(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP,
	                          one_cmsg(buf, IPPROTO_SCTP, SCTP_DSTADDRV4, &dst.sin_addr, sizeof(dst.sin_addr))));
	/* a header whose length is shorter than a header: no data */
	struct cmsghdr h = { .cmsg_len = 4, .cmsg_level = SOL_SOCKET, .cmsg_type = SO_PRIORITY };
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	ck_assert(cmsg_privileged(AF_INET, SOCK_DGRAM, 0, (const struct cmsghdr *)buf));
}
END_TEST

/* ---- the running kernel against the list ----
 * Each option (and control message) is tried on a fresh socket this test
 * made as root: once by root, once by a helper that dropped to nobody and
 * holds no capability (the daemon's situation: its socket, a client's
 * request). Where the unprivileged try fails and the privileged one does not
 * fail the same way, the kernel checked a capability (or the caller's
 * identity), and the daemon must judge that value privileged on that socket.
 * It runs in a network namespace of its own, so that what root sets there
 * (netfilter tables, multicast routing) touches nothing else. */

struct ktry {
	int cmsg;                     /* 0: setsockopt, 1: sendmsg with one control message */
	int level, option, len;
	unsigned char v[64];
};

static bool ci_run(void)
{
	const char *v = getenv("CI");

	return v && strcmp(v, "true") == 0;
}

/* One try on fd: 0 or the errno. */
static int ktry_run(int fd, const struct ktry *t)
{
	if (!t->cmsg)
		return setsockopt(fd, t->level, t->option, t->v, (socklen_t)t->len) < 0 ? errno : 0;

	_Alignas(struct cmsghdr) unsigned char cbuf[CMSG_SPACE(sizeof(t->v))];
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	struct iovec io = { .iov_base = "x", .iov_len = 1 };
	struct msghdr mh = { .msg_name = &ss, .msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
	                     .msg_controllen = CMSG_SPACE((size_t)t->len) };
	int family = 0;
	socklen_t fl = sizeof(family);

	memset(&ss, 0, sizeof(ss));
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &fl);
	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(9);
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		mh.msg_namelen = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(9);
		a6->sin6_addr = in6addr_loopback;
		mh.msg_namelen = sizeof(*a6);
	}
	one_cmsg(cbuf, t->level, t->option, t->v, (size_t)t->len);
	return sendmsg(fd, &mh, MSG_DONTWAIT) < 0 ? errno : 0;
}

/* The unprivileged helper: takes a descriptor and a try, answers the errno. */
static void khelper(int ch)
{
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		_exit(3);
	for (;;) {
		struct ktry t;
		_Alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec io = { .iov_base = &t, .iov_len = sizeof(t) };
		struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		int fd, e;

		if (recvmsg(ch, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(t) || !(c = CMSG_FIRSTHDR(&mh)))
			_exit(0);
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		e = ktry_run(fd, &t);
		close(fd);
		if (write(ch, &e, sizeof(e)) != sizeof(e))
			_exit(4);
	}
}

static int ktry_unpriv(int ch, int fd, const struct ktry *t)
{
	_Alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec io = { .iov_base = (void *)t, .iov_len = sizeof(*t) };
	struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int e = -1;

	memset(cbuf, 0, sizeof(cbuf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	ck_assert_int_eq(sendmsg(ch, &mh, 0), (ssize_t)sizeof(*t));
	ck_assert_int_eq(read(ch, &e, sizeof(e)), (ssize_t)sizeof(e));
	return e;
}

struct kkind { const char *name; int family, type, proto; };

/* Tries t on fresh sockets of kind k both ways; on a difference, asserts the
 * daemon's judgement. Returns whether they differed. */
static bool ktry_both(int ch, const struct kkind *k, const struct ktry *t)
{
	int fd = socket(k->family, k->type | SOCK_CLOEXEC, k->proto), a, b;
	bool judged;

	ck_assert_msg(fd >= 0, "socket %s: %s", k->name, strerror(errno));
	a = ktry_run(fd, t);
	close(fd);
	fd = socket(k->family, k->type | SOCK_CLOEXEC, k->proto);
	ck_assert_int_ge(fd, 0);
	b = ktry_unpriv(ch, fd, t);
	close(fd);
	if (a == b || b == 0)
		return false;
	if (t->cmsg) {
		_Alignas(struct cmsghdr) unsigned char buf[CMSG_SPACE(sizeof(t->v))];
		judged = cmsg_privileged(k->family, k->type, k->proto, one_cmsg(buf, t->level, t->option, t->v, (size_t)t->len));
	} else {
		judged = sockopt_value_privileged(k->family, k->type, k->proto, t->level, t->option, t->v, (size_t)t->len);
	}
	ck_assert_msg(judged, "%s %s level %d %s %d (%d bytes, first %d): the kernel lets root (%s) but not nobody (%s), "
	              "and the daemon would not ask the policy", k->name, t->cmsg ? "sendmsg" : "setsockopt", t->level,
	              t->cmsg ? "type" : "option", t->option, t->len, t->v[0], a ? strerror(a) : "ok", strerror(b));
	return true;
}

START_TEST(test_privileged_against_kernel)
{
	static const struct kkind kinds[] = {
		{ "tcp4", AF_INET, SOCK_STREAM, 0 }, { "udp4", AF_INET, SOCK_DGRAM, 0 },
		{ "tcp6", AF_INET6, SOCK_STREAM, 0 }, { "udp6", AF_INET6, SOCK_DGRAM, 0 },
		{ "raw4", AF_INET, SOCK_RAW, IPPROTO_RAW }, { "raw6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6 },
		{ "unix", AF_UNIX, SOCK_DGRAM, 0 }, { "packet", AF_PACKET, SOCK_DGRAM, 0 },
		{ "netlink", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE },
	};
	/* option ranges per level: every option the headers know, and the
	 * netfilter and multicast-routing ranges above them */
	static const struct { int level, first, last; } ranges[] = {
		{ SOL_SOCKET, 0, 80 }, { IPPROTO_IP, 0, 70 }, { IPPROTO_IP, 96, 99 }, { IPPROTO_IP, 128, 131 },
		{ IPPROTO_IP, 200, 213 }, { IPPROTO_IP, 1150, 1170 }, { IPPROTO_IPV6, 0, 90 }, { IPPROTO_IPV6, 200, 213 },
		{ IPPROTO_TCP, 0, 50 }, { SOL_NETLINK, 0, 13 }, { SOL_PACKET, 0, 25 },
	};
	static const struct { int len; unsigned char v[16]; } values[] = {
		{ 4, { 0 } }, { 4, { 1 } }, { 4, { 7 } }, { 4, { 0xff, 0xff, 0xff, 0xff } }, { 1, { 1 } },
		{ 16, { 0 } }, { 3, { 'l', 'o', 0 } }, { 8, { IPOPT_LSRR, 7, 4, 127, 0, 0, 1, 0 } },
		{ 8, { 0, 0, 1, 4, 0, 0, 0, 0 } },
	};
	int ch[2], st, differ = 0, mark_differs = 0;
	pid_t pid;

	if (geteuid() != 0) {
		if (ci_run())
			ck_abort_msg("comparing root with nobody needs root, and CI runs as root");
		printf("SKIP: comparing root with nobody needs root\n");
		return;
	}
	if (unshare(CLONE_NEWNET) < 0)
		ck_abort_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	/* lo up, for the control messages' sends */
	{
		struct ifreq ifr;
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		memset(&ifr, 0, sizeof(ifr));
		strcpy(ifr.ifr_name, "lo");
		ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
		ifr.ifr_flags |= IFF_UP;
		ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
		close(s);
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(ch[0]);
		khelper(ch[1]);
	}
	close(ch[1]);
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		for (size_t r = 0; r < ARRAY_SIZE(ranges); r++)
			for (int o = ranges[r].first; o <= ranges[r].last; o++)
				for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
					struct ktry t = { 0, ranges[r].level, o, values[v].len, { 0 } };
					bool d;

					memcpy(t.v, values[v].v, sizeof(values[v].v));
					d = ktry_both(ch[0], &kinds[k], &t);
					differ += d;
					mark_differs += d && t.level == SOL_SOCKET && o == SO_MARK;
				}
	/* control messages on datagram sockets */
	for (size_t k = 1; k < 4; k += 2)
		for (int level = 0; level < 3; level++)
			for (int type = 0; type <= 80; type++)
				for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
					static const int levels[] = { SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6 };
					struct ktry t = { 1, levels[level], type, values[v].len, { 0 } };

					memcpy(t.v, values[v].v, sizeof(values[v].v));
					differ += ktry_both(ch[0], &kinds[k], &t);
				}
	/* every netlink protocol this kernel has, every group */
	for (int proto = 0; proto < 32; proto++) {
		struct kkind nk = { "netlink", AF_NETLINK, SOCK_RAW, proto };
		int probe = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);

		if (probe < 0)
			continue;
		close(probe);
		for (unsigned g = 1; g <= 64; g++) {
			struct ktry t = { 0, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, sizeof(g), { 0 } };

			memcpy(t.v, &g, sizeof(g));
			differ += ktry_both(ch[0], &nk, &t);
		}
	}
	close(ch[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the unprivileged helper failed (status %d)", st);
	/* the comparison itself works: SO_MARK is the kernel's on every socket */
	ck_assert_int_ge(mark_differs, 9);
	ck_assert_int_gt(differ, 50);
}
END_TEST

/* ---- ancillary data ---- */

/* ancdata_encode must fail with r and a message holding needle. */
static void anc_bad(const char *text, const int *fds, size_t nfds, int want, const char *needle)
{
	json_object *j = J(text);
	unsigned char *buf = (unsigned char *)"x";
	size_t len = 99;
	char err[256] = "";
	int r = ancdata_encode(j, fds, nfds, &buf, &len, err, sizeof(err));

	ck_assert_msg(r == want, "%.80s gave %d, want %d (%s)", text, r, want, err);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);
	ck_assert_msg(strstr(err, needle) != NULL, "message for %.80s: \"%s\" lacks \"%s\"", text, err, needle);
	json_object_put(j);
}

static bool is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	ck_assert_int_ge(fl, 0);
	return fl & FD_CLOEXEC;
}

/* Descriptors and a credentials message through an AF_UNIX pair. */
START_TEST(test_anc_unix_rights)
{
	int base = count_fds(), sv[2], p[2], one = 1;
	unsigned char *ctl = NULL, rctl[512];
	size_t clen = 0, nfds = 0;
	int *fds = NULL;
	char err[256] = "", data[8] = "";
	struct iovec iov = { .iov_base = "hello", .iov_len = 5 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	json_object *anc, *e, *m;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe(p), 0);   /* not CLOEXEC: CLOEXEC on arrival is the receiver's doing */
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);

	ck_assert_int_eq(ancdata_encode(NULL, p, 2, &ctl, &clen, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(ctl);
	ck_assert_uint_eq(clen, CMSG_SPACE(2 * sizeof(int)));
	mh.msg_control = ctl;
	mh.msg_controllen = clen;
	ck_assert_int_eq(sendmsg(sv[0], &mh, 0), 5);
	free(ctl);
	/* the descriptors were lent, not taken */
	ck_assert_int_ge(fcntl(p[0], F_GETFD), 0);
	close(p[0]);

	iov.iov_base = data;
	iov.iov_len = sizeof(data);
	mh.msg_control = rctl;
	mh.msg_controllen = sizeof(rctl);
	ck_assert_int_eq(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC), 5);
	ck_assert(!(mh.msg_flags & MSG_CTRUNC));
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_ptr_nonnull(anc);
	ck_assert_uint_eq(nfds, 2);
	ck_assert(is_cloexec(fds[0]));
	ck_assert(is_cloexec(fds[1]));
	/* usable: the received write end reaches the received read end */
	ck_assert_int_eq(write(fds[1], "z", 1), 1);
	ck_assert_int_eq(read(fds[0], data, 1), 1);
	ck_assert_int_eq(data[0], 'z');
	/* SCM_RIGHTS is not in the list; the credentials are */
	ck_assert_uint_eq(json_object_array_length(anc), 1);
	e = json_object_array_get_idx(anc, 0);
	ck_assert(json_object_object_get_ex(e, "level", &m));
	ck_assert_str_eq(json_object_get_string(m), "SOL_SOCKET");
	ck_assert(json_object_object_get_ex(e, "type", &m));
	ck_assert_str_eq(json_object_get_string(m), "SCM_CREDENTIALS");
	ck_assert(json_object_object_get_ex(e, "data", &m));
	{
		struct ucred uc;

		ck_assert_int_eq(b64_decode(json_object_get_string(m), (size_t)json_object_get_string_len(m), &uc,
		                            sizeof(uc)), (ssize_t)sizeof(uc));
		ck_assert_int_eq(uc.pid, getpid());
	}
	json_object_put(anc);
	close(fds[0]);
	close(fds[1]);
	free(fds);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Received descriptors are appended after those already in *fds. */
START_TEST(test_anc_append)
{
	int base = count_fds(), sv[2], p[2];
	unsigned char *ctl = NULL, rctl[256];
	size_t clen = 0, nfds = 1;
	int *fds = malloc(sizeof(int));
	char err[128], c;
	struct iovec iov = { .iov_base = "a", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	json_object *anc;

	fds[0] = -7;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	anc = J("[]");
	ck_assert_int_eq(ancdata_encode(anc, p, 1, &ctl, &clen, err, sizeof(err)), 0);
	json_object_put(anc);
	mh.msg_control = ctl;
	mh.msg_controllen = clen;
	ck_assert_int_eq(sendmsg(sv[0], &mh, 0), 1);
	free(ctl);
	iov.iov_base = &c;
	mh.msg_control = rctl;
	mh.msg_controllen = sizeof(rctl);
	ck_assert_int_eq(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC), 1);
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_str_eq(S(anc), "[]");
	ck_assert_uint_eq(nfds, 2);
	ck_assert_int_eq(fds[0], -7);
	ck_assert(is_cloexec(fds[1]));
	close(fds[1]);
	free(fds);
	json_object_put(anc);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* A UDP datagram on loopback: IP_TTL written as JSON ancdata goes out, and
 * IP_PKTINFO/IP_TTL come back decoded by name. */
START_TEST(test_anc_udp_pktinfo)
{
	int base = count_fds(), one = 1, ttl;
	int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	unsigned char *ctl = NULL, rctl[512];
	size_t clen = 0, nfds = 0;
	int *fds = NULL;
	char err[256] = "", data[8], b64[16], text[256];
	struct iovec iov = { .iov_base = "ping", .iov_len = 4 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	json_object *anc;
	bool saw_pktinfo = false, saw_ttl = false;

	ck_assert_int_ge(r, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(r, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(r, (struct sockaddr *)&sin, &sl), 0);
	ck_assert_int_eq(setsockopt(r, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)), 0);
	ck_assert_int_eq(setsockopt(r, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)), 0);

	ttl = 5;
	b64_encode(&ttl, sizeof(ttl), b64);
	snprintf(text, sizeof(text), "[{\"level\": \"IPPROTO_IP\", \"type\": \"IP_TTL\", \"data\": \"%s\"}]", b64);
	anc = J(text);
	ck_assert_int_eq(ancdata_encode(anc, NULL, 0, &ctl, &clen, err, sizeof(err)), 0);
	json_object_put(anc);
	ck_assert_uint_eq(clen, CMSG_SPACE(sizeof(int)));
	mh.msg_name = &sin;
	mh.msg_namelen = sizeof(sin);
	mh.msg_control = ctl;
	mh.msg_controllen = clen;
	ck_assert_int_eq(sendmsg(s, &mh, 0), 4);
	free(ctl);

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = data;
	iov.iov_len = sizeof(data);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = rctl;
	mh.msg_controllen = sizeof(rctl);
	ck_assert_int_eq(recvmsg(r, &mh, MSG_CMSG_CLOEXEC), 4);
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_ptr_nonnull(anc);
	ck_assert_uint_eq(nfds, 0);
	for (size_t i = 0; i < json_object_array_length(anc); i++) {
		json_object *e = json_object_array_get_idx(anc, i), *lv, *ty, *d;
		unsigned char raw[64];
		ssize_t n;

		ck_assert(json_object_object_get_ex(e, "level", &lv));
		ck_assert(json_object_object_get_ex(e, "type", &ty));
		ck_assert(json_object_object_get_ex(e, "data", &d));
		ck_assert_str_eq(json_object_get_string(lv), "IPPROTO_IP");
		n = b64_decode(json_object_get_string(d), (size_t)json_object_get_string_len(d), raw, sizeof(raw));
		if (strcmp(json_object_get_string(ty), "IP_PKTINFO") == 0) {
			struct in_pktinfo pi;

			ck_assert_int_eq(n, (ssize_t)sizeof(pi));
			memcpy(&pi, raw, sizeof(pi));
			ck_assert_uint_eq(ntohl(pi.ipi_addr.s_addr), INADDR_LOOPBACK);
			saw_pktinfo = true;
		} else if (strcmp(json_object_get_string(ty), "IP_TTL") == 0) {
			ck_assert_int_eq(n, (ssize_t)sizeof(int));
			memcpy(&ttl, raw, sizeof(ttl));
			ck_assert_int_eq(ttl, 5);
			saw_ttl = true;
		}
	}
	ck_assert_msg(saw_pktinfo && saw_ttl, "ancdata: %s", S(anc));
	json_object_put(anc);
	free(fds);
	close(r);
	close(s);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_anc_encode_forms)
{
	unsigned char *ctl = NULL;
	size_t clen = 0;
	char err[256];
	json_object *j;
	struct cmsghdr h;
	int fd3[3] = { 0, 1, 2 }, got[3];

	/* empty */
	ck_assert_int_eq(ancdata_encode(NULL, NULL, 0, &ctl, &clen, err, sizeof(err)), 0);
	ck_assert_ptr_null(ctl);
	ck_assert_uint_eq(clen, 0);
	j = J("null");
	ck_assert_int_eq(ancdata_encode(j, NULL, 0, &ctl, &clen, err, sizeof(err)), 0);
	ck_assert_ptr_null(ctl);

	/* tuple form, numbers, a level without a name table, empty data; SCM_RIGHTS first */
	j = J("[[\"SOL_SOCKET\", \"SO_MARK\", \"AQAAAA==\"], {\"level\": 41, \"type\": \"IPV6_TCLASS\", \"data\": \"\"},"
	      " [279, 3, \"AQID\"]]");
	ck_assert_int_eq(ancdata_encode(j, fd3, 3, &ctl, &clen, err, sizeof(err)), 0);
	json_object_put(j);
	ck_assert_uint_eq(clen, CMSG_SPACE(3 * sizeof(int)) + CMSG_SPACE(4) + CMSG_SPACE(0) + CMSG_SPACE(3));
	{
		struct msghdr mh = { .msg_control = ctl, .msg_controllen = clen };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		ck_assert_ptr_nonnull(c);
		memcpy(&h, c, sizeof(h));
		ck_assert_int_eq(h.cmsg_level, SOL_SOCKET);
		ck_assert_int_eq(h.cmsg_type, SCM_RIGHTS);
		ck_assert_uint_eq(h.cmsg_len, CMSG_LEN(3 * sizeof(int)));
		memcpy(got, CMSG_DATA(c), sizeof(got));
		ck_assert(memcmp(got, fd3, sizeof(got)) == 0);
		c = CMSG_NXTHDR(&mh, c);
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(c->cmsg_level, SOL_SOCKET);
		ck_assert_int_eq(c->cmsg_type, SO_MARK);
		ck_assert_uint_eq(c->cmsg_len, CMSG_LEN(4));
		c = CMSG_NXTHDR(&mh, c);
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(c->cmsg_level, IPPROTO_IPV6);
		ck_assert_int_eq(c->cmsg_type, IPV6_TCLASS);
		ck_assert_uint_eq(c->cmsg_len, CMSG_LEN(0));
		c = CMSG_NXTHDR(&mh, c);
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(c->cmsg_level, 279);
		ck_assert_int_eq(c->cmsg_type, 3);
		ck_assert(memcmp(CMSG_DATA(c), "\1\2\3", 3) == 0);
		ck_assert_ptr_null(CMSG_NXTHDR(&mh, c));

		/* and decoding the same buffer names what it can (the SCM_RIGHTS
		 * "descriptors" here are 0, 1, 2: decode would take them, so skip it) */
	}
	free(ctl);
}
END_TEST

START_TEST(test_anc_refused)
{
	int base = count_fds(), fds[ANCDATA_MAX_FDS + 1];
	char *big;
	size_t n;

	anc_bad("[{\"level\": \"SOL_SOCKET\", \"type\": \"SCM_RIGHTS\", \"data\": \"AAAAAA==\"}]", NULL, 0, -EINVAL,
	        "SCM_RIGHTS cannot be written as data");
	anc_bad("[{\"level\": 1, \"type\": 1, \"data\": \"AAAAAA==\"}]", NULL, 0, -EINVAL, "SCM_RIGHTS");
	anc_bad("[{\"level\": \"SOL_SOCKET\", \"type\": \"SCM_CREDENTIALS\", \"data\": \"\"}]", NULL, 0, -EINVAL,
	        "SCM_CREDENTIALS is refused");
	anc_bad("[[\"SOL_SOCKET\", 2, \"\"]]", NULL, 0, -EINVAL, "SCM_CREDENTIALS");
	anc_bad("{\"level\": 1}", NULL, 0, -EINVAL, "must be an array");
	anc_bad("[5]", NULL, 0, -EINVAL, "ancdata[0] must be");
	anc_bad("[[1, 2]]", NULL, 0, -EINVAL, "ancdata[0] must be");
	anc_bad("[{\"level\": \"IPPROTO_IP\", \"type\": \"IP_TTL\", \"data\": \"\", \"x\": 1}]", NULL, 0, -EINVAL,
	        "unknown member \"x\"");
	anc_bad("[{\"level\": \"IPPROTO_IP\", \"type\": \"IP_TTL\"}]", NULL, 0, -EINVAL, "lacks \"data\"");
	anc_bad("[{\"level\": \"IPPROTO_IP\", \"data\": \"\"}]", NULL, 0, -EINVAL, "lacks \"type\"");
	anc_bad("[{\"level\": \"SOL_NOPE\", \"type\": 1, \"data\": \"\"}]", NULL, 0, -EINVAL, "level must be");
	anc_bad("[{\"level\": \"IPPROTO_IP\", \"type\": \"IPV6_PKTINFO\", \"data\": \"\"}]", NULL, 0, -EINVAL,
	        "type must be");
	anc_bad("[{\"level\": 279, \"type\": \"SCM_RIGHTS\", \"data\": \"\"}]", NULL, 0, -EINVAL, "type must be");
	anc_bad("[{\"level\": \"IPPROTO_IP\", \"type\": \"IP_TTL\", \"data\": \"AQ=\"}]", NULL, 0, -EINVAL,
	        "not valid base64");
	anc_bad("[{\"level\": \"IPPROTO_IP\", \"type\": \"IP_TTL\", \"data\": 5}]", NULL, 0, -EINVAL,
	        "base64 string");
	/* the second entry is the bad one: the first one's data is freed */
	anc_bad("[[0, 2, \"AQID\"], [0, 2, \"@\"]]", NULL, 0, -EINVAL, "ancdata[1]");

	/* limits */
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fds[i] = 0;
	anc_bad("[]", fds, ANCDATA_MAX_FDS + 1, -E2BIG, "descriptors");
	n = 2 + (ANCDATA_MAX_ENTRIES + 1) * 16;
	big = malloc(n);
	strcpy(big, "[");
	for (int i = 0; i <= ANCDATA_MAX_ENTRIES; i++)
		strcat(big, i ? ",[0, 2, \"\"]" : "[0, 2, \"\"]");
	strcat(big, "]");
	anc_bad(big, NULL, 0, -E2BIG, "at most 64");
	free(big);
	{
		/* 64 KiB of data in one entry is over once the header is counted */
		size_t raw = ANCDATA_MAX_LEN;
		unsigned char *bytes = calloc(1, raw);
		char *b64 = malloc(b64_encoded_len(raw) + 1);

		b64_encode(bytes, raw, b64);
		big = malloc(strlen(b64) + 64);
		sprintf(big, "[[0, 2, \"%s\"]]", b64);
		anc_bad(big, NULL, 0, -E2BIG, "65536 bytes");
		free(big);
		/* many entries that add up past the limit */
		b64_encode(bytes, 20000, b64);
		big = malloc(4 * strlen(b64) + 64);
		sprintf(big, "[[0, 2, \"%s\"], [0, 2, \"%s\"], [0, 2, \"%s\"], [0, 2, \"%s\"]]", b64, b64, b64, b64);
		anc_bad(big, NULL, 0, -E2BIG, "65536 bytes");
		free(big);
		free(b64);
		free(bytes);
	}
	/* exactly at the limits is fine */
	{
		unsigned char *ctl = NULL;
		size_t clen = 0;
		char err[256] = "";
		json_object *j;

		n = 2 + ANCDATA_MAX_ENTRIES * 16;
		big = malloc(n);
		strcpy(big, "[");
		for (int i = 0; i < ANCDATA_MAX_ENTRIES; i++)
			strcat(big, i ? ",[0, 2, \"\"]" : "[0, 2, \"\"]");
		strcat(big, "]");
		j = J(big);
		ck_assert_int_eq(ancdata_encode(j, fds, ANCDATA_MAX_FDS, &ctl, &clen, err, sizeof(err)), 0);
		ck_assert_uint_eq(clen, CMSG_SPACE(ANCDATA_MAX_FDS * sizeof(int)) + ANCDATA_MAX_ENTRIES * CMSG_SPACE(0));
		free(ctl);
		json_object_put(j);
		free(big);
	}
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* A control buffer cut short (MSG_CTRUNC): the descriptors that did arrive
 * are handed over, none leak, nothing is read past msg_controllen. */
START_TEST(test_anc_ctrunc)
{
	int base = count_fds(), sv[2], p[2], four[4];
	unsigned char *ctl = NULL;
	size_t clen = 0, nfds = 0;
	int *fds = NULL;
	char err[128], c;
	struct iovec iov = { .iov_base = "a", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	json_object *anc;
	/* room for the header and two of the four descriptors, on the heap so
	 * that ASan sees any read past it */
	size_t small = CMSG_LEN(2 * sizeof(int));
	unsigned char *rctl = malloc(small);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	four[0] = four[2] = p[0];
	four[1] = four[3] = p[1];
	ck_assert_int_eq(ancdata_encode(NULL, four, 4, &ctl, &clen, err, sizeof(err)), 0);
	mh.msg_control = ctl;
	mh.msg_controllen = clen;
	ck_assert_int_eq(sendmsg(sv[0], &mh, 0), 1);
	free(ctl);
	iov.iov_base = &c;
	mh.msg_control = rctl;
	mh.msg_controllen = small;
	ck_assert_int_eq(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC), 1);
	ck_assert(mh.msg_flags & MSG_CTRUNC);
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_ptr_nonnull(anc);
	ck_assert_uint_eq(nfds, 2);
	ck_assert(is_cloexec(fds[0]));
	close(fds[0]);
	close(fds[1]);
	free(fds);
	json_object_put(anc);
	free(rctl);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Hand-made malformed control buffers: lengths past the end, too small, odd. */
START_TEST(test_anc_malformed)
{
	size_t nfds = 0;
	int *fds = NULL;
	json_object *anc;
	struct msghdr mh = { 0 };
	struct cmsghdr h = { 0 };
	unsigned char *b;
	size_t sz = CMSG_SPACE(4) + 7;   /* a second header that does not fit */

	/* first header claims more than the buffer: its data is what fits */
	b = calloc(1, sz);
	h.cmsg_len = 4096;
	h.cmsg_level = IPPROTO_IP;
	h.cmsg_type = IP_TTL;
	memcpy(b, &h, sizeof(h));
	mh.msg_control = b;
	mh.msg_controllen = sz;
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_ptr_nonnull(anc);
	ck_assert_uint_eq(json_object_array_length(anc), 1);
	json_object_put(anc);

	/* a header with cmsg_len below the header size stops the walk */
	h.cmsg_len = 3;
	memcpy(b, &h, sizeof(h));
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_str_eq(S(anc), "[]");
	json_object_put(anc);

	/* a good message followed by a header cut in the middle */
	h.cmsg_len = CMSG_LEN(4);
	memcpy(b, &h, sizeof(h));
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_uint_eq(json_object_array_length(anc), 1);
	ck_assert_str_eq(S(json_object_array_get_idx(anc, 0)),
	                 "{\"level\":\"IPPROTO_IP\",\"type\":\"IP_TTL\",\"data\":\"AAAAAA==\"}");
	json_object_put(anc);

	/* unaligned buffer, unknown level: numbers */
	{
		unsigned char *u = calloc(1, CMSG_SPACE(2) + 1);

		h.cmsg_len = CMSG_LEN(2);
		h.cmsg_level = 4242;
		h.cmsg_type = 7;
		memcpy(u + 1, &h, sizeof(h));
		memcpy(u + 1 + CMSG_LEN(0), "hi", 2);
		mh.msg_control = u + 1;
		mh.msg_controllen = CMSG_LEN(2);
		anc = ancdata_decode(&mh, &fds, &nfds);
		ck_assert_str_eq(S(anc), "[{\"level\":4242,\"type\":7,\"data\":\"aGk=\"}]");
		json_object_put(anc);
		free(u);
	}

	/* no control at all */
	mh.msg_control = NULL;
	mh.msg_controllen = 100;
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_str_eq(S(anc), "[]");
	json_object_put(anc);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_ptr_null(fds);
	free(b);
}
END_TEST

/* SO_PASSPIDFD (Linux 6.5): the pidfd the kernel installs goes to *fds. */
START_TEST(test_anc_pidfd)
{
#if !defined(__alpha__) && !defined(__mips__) && !defined(__hppa__) && !defined(__sparc__)
	int base = count_fds(), sv[2], one = 1;
	unsigned char rctl[256];
	size_t nfds = 0;
	int *fds = NULL;
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = rctl, .msg_controllen = sizeof(rctl) };
	json_object *anc, *e, *m;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	if (setsockopt(sv[1], SOL_SOCKET, 76 /* SO_PASSPIDFD */, &one, sizeof(one)) != 0) {
		printf("skipped SCM_PIDFD: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return;
	}
	ck_assert_int_eq(write(sv[0], "p", 1), 1);
	ck_assert_int_eq(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC), 1);
	anc = ancdata_decode(&mh, &fds, &nfds);
	ck_assert_uint_eq(nfds, 1);
	ck_assert(is_cloexec(fds[0]));
	ck_assert_uint_eq(json_object_array_length(anc), 1);
	e = json_object_array_get_idx(anc, 0);
	ck_assert(json_object_object_get_ex(e, "type", &m));
	ck_assert_str_eq(json_object_get_string(m), "SCM_PIDFD");
	ck_assert(json_object_object_get_ex(e, "fd", &m));
	ck_assert_int_eq(json_object_get_int(m), 0);
	json_object_put(anc);
	close(fds[0]);
	free(fds);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
#endif
}
END_TEST

/* getsockopt: the firewall tables are read only with CAP_NET_ADMIN; SCTP's
 * acting options are refused; ordinary reads are neither. */
START_TEST(test_get_privileged)
{
	ck_assert(sockopt_get_privileged(IPPROTO_IP, IPT_SO_GET_INFO));
	ck_assert(sockopt_get_privileged(IPPROTO_IP, IPT_SO_GET_ENTRIES));
	ck_assert(sockopt_get_privileged(IPPROTO_IP, ARPT_SO_GET_INFO));
	ck_assert(sockopt_get_privileged(IPPROTO_IP, EBT_SO_GET_INFO));
	ck_assert(sockopt_get_privileged(IPPROTO_IP, IP_VS_SO_GET_VERSION));
	ck_assert(sockopt_get_privileged(IPPROTO_IPV6, IP6T_SO_GET_ENTRIES));
	ck_assert(!sockopt_get_privileged(IPPROTO_IP, IP_TOS));
	ck_assert(!sockopt_get_privileged(SOL_SOCKET, SO_PEERCRED));
	ck_assert(!sockopt_get_privileged(IPPROTO_TCP, TCP_INFO));
	ck_assert(sockopt_get_refused(IPPROTO_SCTP, SCTP_SOCKOPT_PEELOFF));
	ck_assert(sockopt_get_refused(IPPROTO_SCTP, SCTP_SOCKOPT_PEELOFF_FLAGS));
	ck_assert(sockopt_get_refused(IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX3));
	ck_assert(!sockopt_get_refused(IPPROTO_SCTP, SCTP_STATUS));
	ck_assert(!sockopt_get_refused(IPPROTO_IP, IPT_SO_GET_INFO));
}
END_TEST

static Suite *sockopt_suite(void)
{
	Suite *s = suite_create("sockopt");
	TCase *tc = tcase_create("options");
	TCase *ta = tcase_create("ancdata");
	TCase *tk = tcase_create("kernel");

	tcase_add_test(tc, test_encode_ints);
	tcase_add_test(tc, test_encode_structs);
	tcase_add_test(tc, test_encode_data_limit);
	tcase_add_test(tc, test_encode_bad);
	tcase_add_test(tc, test_encode_null_err);
	tcase_add_test(tc, test_roundtrip_socket_level);
	tcase_add_test(tc, test_roundtrip_tcp);
	tcase_add_test(tc, test_roundtrip_ip);
	tcase_add_test(tc, test_roundtrip_ipv6);
	tcase_add_test(tc, test_peercred);
	tcase_add_test(tc, test_tcp_info);
	tcase_add_test(tc, test_bindtodevice);
	tcase_add_test(tc, test_decode_forms);
	tcase_add_test(tc, test_default_len);
	tcase_add_test(tc, test_privileged_listed);
	tcase_add_test(tc, test_privileged_values);
	tcase_add_test(tc, test_privileged_ip_options);
	tcase_add_test(tc, test_privileged_netlink);
	tcase_add_test(tc, test_privileged_cmsgs);
	suite_add_tcase(s, tc);
	tcase_add_test(ta, test_anc_unix_rights);
	tcase_add_test(ta, test_anc_append);
	tcase_add_test(ta, test_anc_udp_pktinfo);
	tcase_add_test(ta, test_anc_encode_forms);
	tcase_add_test(ta, test_anc_refused);
	tcase_add_test(ta, test_anc_ctrunc);
	tcase_add_test(ta, test_anc_malformed);
	tcase_add_test(ta, test_anc_pidfd);
	tcase_add_test(ta, test_get_privileged);
	suite_add_tcase(s, ta);
	/* some 100000 socket calls, half of them through a helper process */
	tcase_set_timeout(tk, 120);
	tcase_add_test(tk, test_privileged_against_kernel);
	suite_add_tcase(s, tk);
	return s;
}

int main(void)
{
	return unit_run(sockopt_suite());
}
