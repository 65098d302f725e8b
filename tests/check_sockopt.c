#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base64.h"
#include "sockopt.h"
#include "unit.h"

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

START_TEST(test_default_len_and_privilege)
{
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_LINGER), sizeof(struct linger));
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_PEERCRED), sizeof(struct ucred));
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_BINDTODEVICE), IFNAMSIZ);
	ck_assert_uint_eq(sockopt_default_len(IPPROTO_TCP, TCP_CONGESTION), 16);
	ck_assert_uint_ge(sockopt_default_len(IPPROTO_TCP, TCP_INFO), 104);
	ck_assert_uint_eq(sockopt_default_len(SOL_SOCKET, SO_REUSEADDR), sizeof(int));
	ck_assert_uint_eq(sockopt_default_len(99, 99), sizeof(int));
	ck_assert_uint_le(sockopt_default_len(SOL_SOCKET, SO_PEERGROUPS), SOCKOPT_MAX_LEN);

	ck_assert(sockopt_privileged(SOL_SOCKET, SO_MARK));
	ck_assert(sockopt_privileged(SOL_SOCKET, SO_BINDTODEVICE));
	ck_assert(sockopt_privileged(SOL_SOCKET, SO_RCVBUFFORCE));
	ck_assert(sockopt_privileged(SOL_SOCKET, SO_SNDBUFFORCE));
	ck_assert(sockopt_privileged(SOL_SOCKET, SO_PRIORITY));
	ck_assert(sockopt_privileged(IPPROTO_IP, IP_TRANSPARENT));
	ck_assert(sockopt_privileged(IPPROTO_IPV6, IPV6_TRANSPARENT));
	ck_assert(sockopt_privileged(IPPROTO_TCP, TCP_REPAIR));
	ck_assert(!sockopt_privileged(IPPROTO_IP, IP_FREEBIND));
	ck_assert(!sockopt_privileged(SOL_SOCKET, SO_REUSEADDR));
	ck_assert(!sockopt_privileged(IPPROTO_TCP, TCP_NODELAY));
	ck_assert(!sockopt_privileged(99, SO_MARK));

	ck_assert(ancdata_privileged(SOL_SOCKET, SO_MARK));
	ck_assert(ancdata_privileged(IPPROTO_IPV6, IPV6_HOPOPTS));
	ck_assert(!ancdata_privileged(SOL_SOCKET, SCM_RIGHTS));
	ck_assert(!ancdata_privileged(IPPROTO_IP, IP_TTL));
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

static Suite *sockopt_suite(void)
{
	Suite *s = suite_create("sockopt");
	TCase *tc = tcase_create("options");
	TCase *ta = tcase_create("ancdata");

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
	tcase_add_test(tc, test_default_len_and_privilege);
	suite_add_tcase(s, tc);
	tcase_add_test(ta, test_anc_unix_rights);
	tcase_add_test(ta, test_anc_append);
	tcase_add_test(ta, test_anc_udp_pktinfo);
	tcase_add_test(ta, test_anc_encode_forms);
	tcase_add_test(ta, test_anc_refused);
	tcase_add_test(ta, test_anc_ctrunc);
	tcase_add_test(ta, test_anc_malformed);
	tcase_add_test(ta, test_anc_pidfd);
	suite_add_tcase(s, ta);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sockopt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
