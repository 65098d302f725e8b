#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
/* Check suite for proto/consts.c: every table, the name <-> number lookups,
 * the JSON forms of constants and of flag sets. Values are compared with the
 * system headers' macros, never with literals. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/if_ether.h>
#include <linux/can.h>
#include <linux/tipc.h>

#include "consts.h"
#include "util.h"
#include "unit.h"

static const char *const kind_names[SBC_KIND_MAX] = {
	"AF", "SOCK", "SOCKFLAG", "SOL", "SO", "IPPROTO", "TCP", "IP", "IPV6", "MSG",
	"SHUT", "AI", "NI", "EAI", "ERRNO", "SCM", "HERR", "TIPC", "NETLINK",
};

static json_object *parse(const char *text)
{
	json_object *j = json_tokener_parse(text);

	ck_assert_msg(j != NULL || strcmp(text, "null") == 0, "bad test JSON: %s", text);
	return j;
}

/* The first entry of a table with this value: the name replies must use. */
static const char *first_for_value(enum sbc_kind k, long value)
{
	size_t n;
	const struct sbc_entry *t = sbc_table(k, &n);

	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

START_TEST(test_tables_well_formed)
{
	for (int k = 0; k < SBC_KIND_MAX; k++) {
		size_t n;
		const struct sbc_entry *t = sbc_table(k, &n);

		ck_assert_msg(t != NULL && n > 0, "kind %s is empty", kind_names[k]);
		for (size_t i = 0; i < n; i++) {
			ck_assert_ptr_nonnull(t[i].name);
			ck_assert_msg(t[i].name[0] != '\0', "empty name in %s", kind_names[k]);
			for (size_t m = i + 1; m < n; m++)
				ck_assert_msg(strcmp(t[i].name, t[m].name) != 0,
				              "%s listed twice in %s", t[i].name, kind_names[k]);
		}
	}
	size_t n = 99;
	ck_assert_ptr_null(sbc_table(SBC_KIND_MAX, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(sbc_table((enum sbc_kind)-1, NULL));
}
END_TEST

/* Every name resolves to its entry's value; every value names its first entry;
 * the first entry's name survives name -> value -> name. */
START_TEST(test_round_trip_every_kind)
{
	size_t total = 0;

	for (int k = 0; k < SBC_KIND_MAX; k++) {
		size_t n;
		const struct sbc_entry *t = sbc_table(k, &n);

		for (size_t i = 0; i < n; i++) {
			long v = 12345;
			const char *pref;

			ck_assert_int_eq(sbc_value(k, t[i].name, &v), 0);
			ck_assert_msg(v == t[i].value, "%s: %ld != %ld", t[i].name, v, t[i].value);
			pref = sbc_name(k, v);
			ck_assert_ptr_nonnull(pref);
			ck_assert_str_eq(pref, first_for_value(k, v));
			if (strcmp(pref, t[i].name) == 0)
				total++;
			/* The preferred name round-trips through the JSON forms as well. */
			json_object *j = sbc_to_json(k, v);
			ck_assert_ptr_nonnull(j);
			ck_assert(json_object_is_type(j, json_type_string));
			ck_assert_str_eq(json_object_get_string(j), pref);
			long back = 0;
			ck_assert_int_eq(sbc_from_json(k, j, &back), 0);
			ck_assert_int_eq(back, v);
			json_object_put(j);
		}
	}
	ck_assert_uint_gt(total, 400);
}
END_TEST

struct known {
	enum sbc_kind kind;
	const char *name;
	long value;
};

#define K(k, n) { k, #n, (long)(n) }
static const struct known known_values[] = {
	K(SBC_AF, AF_UNSPEC), K(SBC_AF, AF_UNIX), K(SBC_AF, AF_INET), K(SBC_AF, AF_INET6),
	K(SBC_AF, AF_NETLINK), K(SBC_AF, AF_PACKET), K(SBC_AF, AF_CAN), K(SBC_AF, AF_VSOCK),
	K(SBC_AF, AF_ALG), K(SBC_AF, AF_TIPC), K(SBC_AF, AF_BLUETOOTH), K(SBC_AF, AF_XDP),
	K(SBC_AF, AF_QIPCRTR), K(SBC_AF, AF_RDS), K(SBC_AF, AF_KCM), K(SBC_AF, AF_MCTP),
	K(SBC_SOCK, SOCK_STREAM), K(SBC_SOCK, SOCK_DGRAM), K(SBC_SOCK, SOCK_RAW),
	K(SBC_SOCK, SOCK_RDM), K(SBC_SOCK, SOCK_SEQPACKET),
	K(SBC_SOCKFLAG, SOCK_NONBLOCK), K(SBC_SOCKFLAG, SOCK_CLOEXEC),
	K(SBC_SOL, SOL_SOCKET), K(SBC_SOL, IPPROTO_IP), K(SBC_SOL, IPPROTO_TCP),
	K(SBC_SOL, IPPROTO_UDP), K(SBC_SOL, IPPROTO_IPV6), K(SBC_SOL, SOL_IP), K(SBC_SOL, SOL_TCP),
	K(SBC_SOL, SOL_UDP), K(SBC_SOL, SOL_IPV6), K(SBC_SOL, SOL_RAW), K(SBC_SOL, SOL_PACKET),
	K(SBC_SOL, SOL_NETLINK), K(SBC_SOL, SOL_ALG), K(SBC_SOL, SOL_TIPC),
	K(SBC_SOL, SOL_CAN_BASE), { SBC_SOL, "SOL_CAN_RAW", SOL_CAN_BASE + CAN_RAW },
	K(SBC_SO, SO_REUSEADDR), K(SBC_SO, SO_REUSEPORT), K(SBC_SO, SO_KEEPALIVE),
	K(SBC_SO, SO_BROADCAST), K(SBC_SO, SO_RCVBUF), K(SBC_SO, SO_SNDBUF), K(SBC_SO, SO_LINGER),
	K(SBC_SO, SO_BINDTODEVICE), K(SBC_SO, SO_MARK), K(SBC_SO, SO_PRIORITY),
	K(SBC_SO, SO_RCVLOWAT), K(SBC_SO, SO_TYPE), K(SBC_SO, SO_DOMAIN), K(SBC_SO, SO_PROTOCOL),
	K(SBC_SO, SO_ERROR), K(SBC_SO, SO_ACCEPTCONN), K(SBC_SO, SO_PEERCRED), K(SBC_SO, SO_PEERSEC),
	K(SBC_SO, SO_PEERGROUPS), K(SBC_SO, SO_RCVBUFFORCE), K(SBC_SO, SO_SNDBUFFORCE),
	K(SBC_SO, SO_TIMESTAMP), K(SBC_SO, SO_TIMESTAMPNS), K(SBC_SO, SO_TIMESTAMPING),
	K(SBC_SO, SO_RCVTIMEO), K(SBC_SO, SO_SNDTIMEO), K(SBC_SO, SO_PASSCRED),
	K(SBC_IPPROTO, IPPROTO_IP), K(SBC_IPPROTO, IPPROTO_TCP), K(SBC_IPPROTO, IPPROTO_UDP),
	K(SBC_IPPROTO, IPPROTO_ICMPV6), K(SBC_IPPROTO, IPPROTO_SCTP), K(SBC_IPPROTO, IPPROTO_RAW),
	K(SBC_IPPROTO, ETH_P_ALL), K(SBC_IPPROTO, ETH_P_IP), K(SBC_IPPROTO, ETH_P_IPV6),
	K(SBC_IPPROTO, CAN_RAW), K(SBC_IPPROTO, CAN_BCM), K(SBC_IPPROTO, CAN_ISOTP),
	K(SBC_IPPROTO, CAN_J1939),
	K(SBC_TCP, TCP_NODELAY), K(SBC_TCP, TCP_KEEPIDLE), K(SBC_TCP, TCP_KEEPINTVL),
	K(SBC_TCP, TCP_KEEPCNT), K(SBC_TCP, TCP_CORK), K(SBC_TCP, TCP_USER_TIMEOUT),
	K(SBC_TCP, TCP_FASTOPEN), K(SBC_TCP, TCP_INFO), K(SBC_TCP, TCP_CONGESTION),
	K(SBC_TCP, TCP_QUICKACK), K(SBC_TCP, TCP_DEFER_ACCEPT), K(SBC_TCP, TCP_MAXSEG),
	K(SBC_TCP, TCP_NOTSENT_LOWAT),
	K(SBC_IP, IP_TTL), K(SBC_IP, IP_TOS), K(SBC_IP, IP_HDRINCL), K(SBC_IP, IP_MULTICAST_TTL),
	K(SBC_IP, IP_MULTICAST_LOOP), K(SBC_IP, IP_MULTICAST_IF), K(SBC_IP, IP_ADD_MEMBERSHIP),
	K(SBC_IP, IP_DROP_MEMBERSHIP), K(SBC_IP, IP_RECVERR), K(SBC_IP, IP_PKTINFO),
	K(SBC_IP, IP_TRANSPARENT), K(SBC_IP, IP_FREEBIND), K(SBC_IP, IP_RECVTTL),
	K(SBC_IP, IP_RECVTOS), K(SBC_IP, IP_MTU_DISCOVER), K(SBC_IP, IP_BIND_ADDRESS_NO_PORT),
	K(SBC_IP, MCAST_JOIN_GROUP),
	K(SBC_IPV6, IPV6_V6ONLY), K(SBC_IPV6, IPV6_UNICAST_HOPS), K(SBC_IPV6, IPV6_MULTICAST_HOPS),
	K(SBC_IPV6, IPV6_MULTICAST_LOOP), K(SBC_IPV6, IPV6_MULTICAST_IF), K(SBC_IPV6, IPV6_JOIN_GROUP),
	K(SBC_IPV6, IPV6_LEAVE_GROUP), K(SBC_IPV6, IPV6_RECVPKTINFO), K(SBC_IPV6, IPV6_PKTINFO),
	K(SBC_IPV6, IPV6_TCLASS), K(SBC_IPV6, IPV6_RECVERR), K(SBC_IPV6, IPV6_RECVTCLASS),
	K(SBC_IPV6, IPV6_DONTFRAG), K(SBC_IPV6, MCAST_LEAVE_GROUP),
	K(SBC_MSG, MSG_PEEK), K(SBC_MSG, MSG_OOB), K(SBC_MSG, MSG_WAITALL), K(SBC_MSG, MSG_DONTWAIT),
	K(SBC_MSG, MSG_NOSIGNAL), K(SBC_MSG, MSG_TRUNC), K(SBC_MSG, MSG_CTRUNC),
	K(SBC_MSG, MSG_CMSG_CLOEXEC), K(SBC_MSG, MSG_MORE), K(SBC_MSG, MSG_ERRQUEUE),
	K(SBC_SHUT, SHUT_RD), K(SBC_SHUT, SHUT_WR), K(SBC_SHUT, SHUT_RDWR),
	K(SBC_AI, AI_PASSIVE), K(SBC_AI, AI_CANONNAME), K(SBC_AI, AI_NUMERICHOST),
	K(SBC_AI, AI_NUMERICSERV), K(SBC_AI, AI_ADDRCONFIG), K(SBC_AI, AI_V4MAPPED), K(SBC_AI, AI_ALL),
	K(SBC_NI, NI_NUMERICHOST), K(SBC_NI, NI_NUMERICSERV), K(SBC_NI, NI_NAMEREQD),
	K(SBC_NI, NI_NOFQDN), K(SBC_NI, NI_DGRAM),
	K(SBC_EAI, EAI_NONAME), K(SBC_EAI, EAI_AGAIN), K(SBC_EAI, EAI_FAIL), K(SBC_EAI, EAI_FAMILY),
	K(SBC_EAI, EAI_SERVICE), K(SBC_EAI, EAI_SYSTEM), K(SBC_EAI, EAI_ADDRFAMILY),
	K(SBC_EAI, EAI_NODATA), K(SBC_EAI, EAI_BADFLAGS), K(SBC_EAI, EAI_MEMORY),
	K(SBC_ERRNO, EPERM), K(SBC_ERRNO, EADDRINUSE), K(SBC_ERRNO, EAGAIN), K(SBC_ERRNO, EINVAL),
	K(SBC_ERRNO, ECONNREFUSED), K(SBC_ERRNO, EHWPOISON), K(SBC_ERRNO, EOPNOTSUPP),
	K(SBC_ERRNO, EDEADLK),
	K(SBC_SCM, SCM_RIGHTS), K(SBC_SCM, SCM_CREDENTIALS), K(SBC_SCM, SCM_TIMESTAMP),
	K(SBC_HERR, HOST_NOT_FOUND), K(SBC_HERR, TRY_AGAIN), K(SBC_HERR, NO_RECOVERY),
	K(SBC_HERR, NO_DATA),
	K(SBC_TIPC, TIPC_ADDR_NAMESEQ), K(SBC_TIPC, TIPC_ADDR_NAME), K(SBC_TIPC, TIPC_ADDR_ID),
	K(SBC_TIPC, TIPC_ZONE_SCOPE), K(SBC_TIPC, TIPC_CLUSTER_SCOPE), K(SBC_TIPC, TIPC_NODE_SCOPE),
};
#undef K

START_TEST(test_known_values)
{
	const struct known *k = &known_values[_i];
	long v = -999;

	ck_assert_msg(sbc_value(k->kind, k->name, &v) == 0, "%s missing", k->name);
	ck_assert_msg(v == k->value, "%s = %ld, header says %ld", k->name, v, k->value);
}
END_TEST

START_TEST(test_pidfd_fallback)
{
	long v;

	ck_assert_int_eq(sbc_value(SBC_SO, "SO_PEERPIDFD", &v), 0);
#ifdef SO_PEERPIDFD
	ck_assert_int_eq(v, SO_PEERPIDFD);
#elif defined(__x86_64__) || defined(__aarch64__) || defined(__i386__)
	ck_assert_int_eq(v, 77);
#endif
	ck_assert_int_eq(sbc_value(SBC_SO, "SO_PASSPIDFD", &v), 0);
	ck_assert_int_eq(sbc_value(SBC_SCM, "SCM_PIDFD", &v), 0);
}
END_TEST

struct alias {
	enum sbc_kind kind;
	const char *alias;
	const char *preferred;
};

static const struct alias aliases[] = {
	{ SBC_ERRNO, "EWOULDBLOCK", "EAGAIN" },
	{ SBC_ERRNO, "ENOTSUP", "EOPNOTSUPP" },
	{ SBC_ERRNO, "EDEADLOCK", "EDEADLK" },
	{ SBC_AF, "AF_LOCAL", "AF_UNIX" },
	{ SBC_AF, "AF_FILE", "AF_UNIX" },
	{ SBC_AF, "AF_ROUTE", "AF_NETLINK" },
	{ SBC_AF, "PF_INET", "AF_INET" },
	{ SBC_AF, "PF_UNIX", "AF_UNIX" },
	{ SBC_AF, "PF_CAN", "AF_CAN" },
	{ SBC_AF, "PF_PACKET", "AF_PACKET" },
	{ SBC_AF, "PF_RDS", "AF_RDS" },
	{ SBC_IPPROTO, "IPPROTO_HOPOPTS", "IPPROTO_IP" },
	{ SBC_IPPROTO, "CAN_RAW", "IPPROTO_ICMP" },
	{ SBC_SOL, "IPPROTO_HOPOPTS", "IPPROTO_IP" },
	{ SBC_SOL, "SOL_IP", "IPPROTO_IP" },
	{ SBC_SOL, "SOL_TCP", "IPPROTO_TCP" },
	{ SBC_SOL, "SOL_UDP", "IPPROTO_UDP" },
	{ SBC_SOL, "SOL_IPV6", "IPPROTO_IPV6" },
	{ SBC_SOL, "SOL_ICMPV6", "IPPROTO_ICMPV6" },
	{ SBC_SOL, "SOL_RAW", "IPPROTO_RAW" },
	{ SBC_SOL, "IPPROTO_ICMP", "SOL_SOCKET" },
	{ SBC_SO, "SO_GET_FILTER", "SO_ATTACH_FILTER" },
	{ SBC_SO, "SO_DETACH_BPF", "SO_DETACH_FILTER" },
	{ SBC_SO, "SO_TIMESTAMP_OLD", "SO_TIMESTAMP" },
	{ SBC_SO, "SO_RCVTIMEO_OLD", "SO_RCVTIMEO" },
	{ SBC_TCP, "TCP_CM_INQ", "TCP_INQ" },
	{ SBC_IP, "IP_PMTUDISC", "IP_MTU_DISCOVER" },
	{ SBC_IP, "IP_RECVRETOPTS", "IP_RETOPTS" },
	{ SBC_IP, "IP_ORIGDSTADDR", "IP_RECVORIGDSTADDR" },
	{ SBC_IPV6, "IPV6_ADD_MEMBERSHIP", "IPV6_JOIN_GROUP" },
	{ SBC_IPV6, "IPV6_DROP_MEMBERSHIP", "IPV6_LEAVE_GROUP" },
	{ SBC_IPV6, "IPV6_RXHOPOPTS", "IPV6_HOPOPTS" },
	{ SBC_IPV6, "IPV6_ORIGDSTADDR", "IPV6_RECVORIGDSTADDR" },
	{ SBC_MSG, "MSG_TRYHARD", "MSG_DONTROUTE" },
	{ SBC_HERR, "NO_ADDRESS", "NO_DATA" },
	{ SBC_TIPC, "TIPC_ADDR_MCAST", "TIPC_ADDR_NAMESEQ" },
	{ SBC_TIPC, "TIPC_SERVICE_RANGE", "TIPC_ADDR_NAMESEQ" },
	{ SBC_TIPC, "TIPC_SOCKET_ADDR", "TIPC_ADDR_ID" },
	{ SBC_TIPC, "TIPC_ZONE_SCOPE", "TIPC_ADDR_NAMESEQ" },
};

START_TEST(test_aliases)
{
	const struct alias *a = &aliases[_i];
	long va, vp;

	ck_assert_msg(sbc_value(a->kind, a->alias, &va) == 0, "%s missing", a->alias);
	ck_assert_int_eq(sbc_value(a->kind, a->preferred, &vp), 0);
	ck_assert_int_eq(va, vp);
	ck_assert_str_eq(sbc_name(a->kind, va), a->preferred);
}
END_TEST

START_TEST(test_preferred_levels)
{
	ck_assert_str_eq(sbc_name(SBC_SOL, SOL_SOCKET), "SOL_SOCKET");
	ck_assert_str_eq(sbc_name(SBC_SOL, IPPROTO_IP), "IPPROTO_IP");
	ck_assert_str_eq(sbc_name(SBC_SOL, IPPROTO_TCP), "IPPROTO_TCP");
	ck_assert_str_eq(sbc_name(SBC_SOL, IPPROTO_IPV6), "IPPROTO_IPV6");
	ck_assert_str_eq(sbc_name(SBC_SOL, SOL_PACKET), "SOL_PACKET");
	ck_assert_str_eq(sbc_name(SBC_SOL, SOL_ALG), "SOL_ALG");
	ck_assert_str_eq(sbc_name(SBC_SOL, SOL_CAN_BASE + CAN_RAW), "SOL_CAN_RAW");
	ck_assert_str_eq(sbc_name(SBC_IPPROTO, 0), "IPPROTO_IP");
	ck_assert_str_eq(sbc_name(SBC_IPPROTO, ETH_P_ALL), "ETH_P_ALL");
	ck_assert_str_eq(sbc_name(SBC_ERRNO, EWOULDBLOCK), "EAGAIN");
	ck_assert_str_eq(sbc_name(SBC_AF, AF_UNIX), "AF_UNIX");
	/* A SOL_ level that is no IP protocol's keeps its SOL_ name (262 is SOL_X25, not IPPROTO_MPTCP). */
	static const char *const ip_levels[] = { "SOL_IP", "SOL_TCP", "SOL_UDP", "SOL_IPV6", "SOL_ICMPV6", "SOL_RAW" };
	size_t nsol;
	const struct sbc_entry *sol = sbc_table(SBC_SOL, &nsol);
	for (size_t i = 0; i < nsol; i++) {
		bool ip = false;

		for (size_t m = 0; m < ARRAY_SIZE(ip_levels); m++)
			ip = ip || strcmp(sol[i].name, ip_levels[m]) == 0;
		if (strncmp(sol[i].name, "SOL_", 4) == 0 && !ip)
			ck_assert_msg(strncmp(sbc_name(SBC_SOL, sol[i].value), "SOL_", 4) == 0,
			              "level %s is called %s", sol[i].name, sbc_name(SBC_SOL, sol[i].value));
	}
#ifdef SOL_X25
	ck_assert_str_eq(sbc_name(SBC_SOL, SOL_X25), "SOL_X25");
#endif
	/* Every IPPROTO_ name is accepted as a level, at its protocol's number. */
	size_t n;
	const struct sbc_entry *t = sbc_table(SBC_IPPROTO, &n);
	for (size_t i = 0; i < n; i++) {
		long v;

		if (strncmp(t[i].name, "IPPROTO_", 8) != 0)
			continue;
		ck_assert_msg(sbc_value(SBC_SOL, t[i].name, &v) == 0, "%s not a level", t[i].name);
		ck_assert_int_eq(v, t[i].value);
	}
}
END_TEST

START_TEST(test_unknown_names)
{
	long v = 77;
	static const char *const bad[] = { "", "AF_INTE", "af_inet", "AF_INET ", "PF_", "PF_NOPE",
		"SO_REUSEADDR", "X" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_int_eq(sbc_value(SBC_AF, bad[i], &v), -ENOENT);
	ck_assert_int_eq(v, 77);
	ck_assert_int_eq(sbc_value(SBC_AF, NULL, &v), -ENOENT);
	ck_assert_int_eq(sbc_value(SBC_KIND_MAX, "AF_INET", &v), -ENOENT);
	ck_assert_int_eq(sbc_value(SBC_SO, "TCP_NODELAY", &v), -ENOENT);
	ck_assert_int_eq(sbc_value(SBC_TCP, "SO_REUSEADDR", &v), -ENOENT);
	/* A very long PF_ name does not overflow the PF_ -> AF_ rewrite. */
	char longname[300];
	memset(longname, 'X', sizeof(longname) - 1);
	memcpy(longname, "PF_", 3);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(sbc_value(SBC_AF, longname, &v), -ENOENT);
	ck_assert_int_eq(sbc_value(SBC_AF, "AF_INET", NULL), 0);
	ck_assert_ptr_null(sbc_name(SBC_AF, 12345));
	ck_assert_ptr_null(sbc_name(SBC_ERRNO, 0));
	ck_assert_ptr_null(sbc_name(SBC_KIND_MAX, 0));
	ck_assert_ptr_null(sbc_errno_name(-1));
	ck_assert_str_eq(sbc_errno_name(EADDRINUSE), "EADDRINUSE");
	ck_assert_str_eq(sbc_errno_name(EWOULDBLOCK), "EAGAIN");
}
END_TEST

START_TEST(test_option_kind)
{
	ck_assert_int_eq(sbc_option_kind(SOL_SOCKET), SBC_SO);
	ck_assert_int_eq(sbc_option_kind(IPPROTO_TCP), SBC_TCP);
	ck_assert_int_eq(sbc_option_kind(IPPROTO_IP), SBC_IP);
	ck_assert_int_eq(sbc_option_kind(IPPROTO_IPV6), SBC_IPV6);
	ck_assert_int_eq(sbc_option_kind(IPPROTO_UDP), -1);
	ck_assert_int_eq(sbc_option_kind(SOL_PACKET), -1);
	ck_assert_int_eq(sbc_option_kind(-5), -1);
}
END_TEST

struct json_case {
	const char *json;
	int ret;
	long value;
};

START_TEST(test_from_json)
{
	static const struct json_case cases[] = {
		{ "\"AF_INET\"", 0, AF_INET },
		{ "\"PF_INET6\"", 0, AF_INET6 },
		{ "2", 0, 2 },
		{ "-1", 0, -1 },
		{ "4242", 0, 4242 },          /* an unnamed number is passed through */
		{ "2147483647", 0, INT_MAX },
		{ "-2147483648", 0, INT_MIN },
		{ "2147483648", -ERANGE, 0 },
		{ "-2147483649", -ERANGE, 0 },
		{ "9223372036854775807", -ERANGE, 0 },
		{ "18446744073709551615", -ERANGE, 0 },
		{ "\"AF_NOPE\"", -ENOENT, 0 },
		{ "\"\"", -ENOENT, 0 },
		{ "\"AF_INET\\u0000x\"", -ENOENT, 0 },
		{ "2.0", -EINVAL, 0 },
		{ "2.5", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "true", -EINVAL, 0 },
		{ "false", -EINVAL, 0 },
		{ "null", -EINVAL, 0 },
		{ "[\"AF_INET\"]", -EINVAL, 0 },
		{ "{\"AF_INET\": 1}", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *j = parse(cases[i].json);
		long v = 31337;
		int r = sbc_from_json(SBC_AF, j, &v);

		ck_assert_msg(r == cases[i].ret, "%s: %d, want %d", cases[i].json, r, cases[i].ret);
		if (r == 0)
			ck_assert_int_eq(v, cases[i].value);
		else
			ck_assert_int_eq(v, 31337);
		json_object_put(j);
	}
	/* Each kind resolves its own names only. */
	json_object *j = json_object_new_string("EAI_NONAME");
	long v;
	ck_assert_int_eq(sbc_from_json(SBC_EAI, j, &v), 0);
	ck_assert_int_eq(v, EAI_NONAME);
	ck_assert_int_eq(sbc_from_json(SBC_ERRNO, j, &v), -ENOENT);
	json_object_put(j);
	ck_assert_int_eq(sbc_from_json(SBC_KIND_MAX, NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_to_json)
{
	json_object *j = sbc_to_json(SBC_ERRNO, EADDRINUSE);

	ck_assert(json_object_is_type(j, json_type_string));
	ck_assert_str_eq(json_object_get_string(j), "EADDRINUSE");
	json_object_put(j);
	j = sbc_to_json(SBC_AF, 4242);
	ck_assert(json_object_is_type(j, json_type_int));
	ck_assert_int_eq(json_object_get_int64(j), 4242);
	json_object_put(j);
	j = sbc_to_json(SBC_EAI, EAI_NONAME);
	ck_assert_str_eq(json_object_get_string(j), "EAI_NONAME");
	json_object_put(j);
	j = sbc_to_json(SBC_EAI, -12345);
	ck_assert_int_eq(json_object_get_int64(j), -12345);
	json_object_put(j);
}
END_TEST

START_TEST(test_flags_from_json)
{
	static const struct json_case cases[] = {
		{ "[]", 0, 0 },
		{ "0", 0, 0 },
		{ "\"MSG_PEEK\"", 0, MSG_PEEK },
		{ "[\"MSG_PEEK\"]", 0, MSG_PEEK },
		{ "[\"MSG_PEEK\", \"MSG_WAITALL\"]", 0, MSG_PEEK | MSG_WAITALL },
		{ "[\"MSG_PEEK\", \"MSG_PEEK\"]", 0, MSG_PEEK },
		{ "[\"MSG_PEEK\", 1]", 0, MSG_PEEK | 1 },
		{ "3", 0, 3 },
		{ "1099511627776", 0, 1099511627776L },   /* wider than int: fine for a flag set */
		{ "[1099511627776, 1]", 0, 1099511627777L },
		{ "-1", 0, -1 },
		{ "9223372036854775808", -ERANGE, 0 },
		{ "[9223372036854775808]", -ERANGE, 0 },
		{ "[\"MSG_PEEK\", \"NOPE\"]", -ENOENT, 0 },
		{ "\"AI_PASSIVE\"", -ENOENT, 0 },
		{ "[1.5]", -EINVAL, 0 },
		{ "[[\"MSG_PEEK\"]]", -EINVAL, 0 },
		{ "[true]", -EINVAL, 0 },
		{ "[null]", -EINVAL, 0 },
		{ "1.0", -EINVAL, 0 },
		{ "true", -EINVAL, 0 },
		{ "null", -EINVAL, 0 },
		{ "{}", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *j = parse(cases[i].json);
		long v = 31337;
		int r = sbc_flags_from_json(SBC_MSG, j, &v);

		ck_assert_msg(r == cases[i].ret, "%s: %d, want %d", cases[i].json, r, cases[i].ret);
		if (r == 0)
			ck_assert_int_eq(v, cases[i].value);
		else
			ck_assert_int_eq(v, 31337);
		json_object_put(j);
	}
}
END_TEST

static void check_flags_json(enum sbc_kind k, long value, const char *want)
{
	json_object *j = sbc_flags_to_json(k, value);

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), want);
	json_object_put(j);
}

START_TEST(test_flags_to_json)
{
	char want[256];

	check_flags_json(SBC_MSG, 0, "[]");
	check_flags_json(SBC_MSG, MSG_PEEK, "[\"MSG_PEEK\"]");
	check_flags_json(SBC_MSG, MSG_OOB | MSG_PEEK | MSG_WAITALL,
	                 "[\"MSG_OOB\",\"MSG_PEEK\",\"MSG_WAITALL\"]");
	/* An alias never appears: MSG_TRYHARD is MSG_DONTROUTE. */
	check_flags_json(SBC_MSG, MSG_DONTROUTE, "[\"MSG_DONTROUTE\"]");
	check_flags_json(SBC_AI, AI_PASSIVE | AI_NUMERICSERV, "[\"AI_PASSIVE\",\"AI_NUMERICSERV\"]");
	check_flags_json(SBC_NI, NI_NUMERICHOST | NI_NUMERICSERV,
	                 "[\"NI_NUMERICHOST\",\"NI_NUMERICSERV\"]");
	check_flags_json(SBC_SOCKFLAG, SOCK_CLOEXEC, "[\"SOCK_CLOEXEC\"]");
	/* One unnamed bit turns the whole set into the integer. */
	snprintf(want, sizeof(want), "%ld", (long)(MSG_PEEK | (1L << 40)));
	check_flags_json(SBC_MSG, MSG_PEEK | (1L << 40), want);
	snprintf(want, sizeof(want), "%d", AI_PASSIVE | 0x100);
	check_flags_json(SBC_AI, AI_PASSIVE | 0x100, want);
	snprintf(want, sizeof(want), "%d", NI_NUMERICHOST | 0x4000);
	check_flags_json(SBC_NI, NI_NUMERICHOST | 0x4000, want);
	check_flags_json(SBC_MSG, -1, "-1");
	snprintf(want, sizeof(want), "%ld", LONG_MIN);
	check_flags_json(SBC_MSG, LONG_MIN, want);
}
END_TEST

/* For each flag kind: all named single bits together go out as names and come back equal. */
START_TEST(test_flags_round_trip)
{
	static const enum sbc_kind kinds[] = { SBC_MSG, SBC_AI, SBC_NI, SBC_SOCKFLAG };

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t n, bits = 0;
		const struct sbc_entry *t = sbc_table(kinds[i], &n);
		long all = 0, back = 0;

		for (size_t e = 0; e < n; e++) {
			if (t[e].value > 0 && (t[e].value & (t[e].value - 1)) == 0)
				all |= t[e].value;
		}
		for (long b = all; b; b &= b - 1)
			bits++;
		json_object *j = sbc_flags_to_json(kinds[i], all);
		ck_assert(json_object_is_type(j, json_type_array));
		ck_assert_uint_eq(json_object_array_length(j), bits);
		for (size_t e = 0; e < bits; e++) {
			const char *name = json_object_get_string(json_object_array_get_idx(j, e));
			long v;

			ck_assert_int_eq(sbc_value(kinds[i], name, &v), 0);
			ck_assert_str_eq(sbc_name(kinds[i], v), name);
		}
		ck_assert_int_eq(sbc_flags_from_json(kinds[i], j, &back), 0);
		ck_assert_int_eq(back, all);
		json_object_put(j);
	}
}
END_TEST

static void *lookup_thread(void *arg)
{
	long bad = 0;

	for (int i = 0; i < 2000; i++) {
		long v;

		if (sbc_value(SBC_SO, "SO_REUSEADDR", &v) != 0 || v != SO_REUSEADDR)
			bad++;
		const char *n = sbc_name(SBC_ERRNO, EADDRINUSE);
		if (!n || strcmp(n, "EADDRINUSE") != 0)
			bad++;
	}
	return (void *)bad;
}

/* The first lookups of a process race to build the indexes: pthread_once must make that safe. */
START_TEST(test_threads_first_use)
{
	pthread_t t[8];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, lookup_thread, NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		void *bad;

		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

static Suite *consts_suite(void)
{
	Suite *s = suite_create("consts");
	TCase *tc = tcase_create("tables");

	tcase_add_test(tc, test_threads_first_use);   /* first, so it may be the first use in -nofork runs */
	tcase_add_test(tc, test_tables_well_formed);
	tcase_add_test(tc, test_round_trip_every_kind);
	tcase_add_loop_test(tc, test_known_values, 0, ARRAY_SIZE(known_values));
	tcase_add_test(tc, test_pidfd_fallback);
	tcase_add_loop_test(tc, test_aliases, 0, ARRAY_SIZE(aliases));
	tcase_add_test(tc, test_preferred_levels);
	tcase_add_test(tc, test_unknown_names);
	tcase_add_test(tc, test_option_kind);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_from_json);
	tcase_add_test(tc, test_to_json);
	tcase_add_test(tc, test_flags_from_json);
	tcase_add_test(tc, test_flags_to_json);
	tcase_add_test(tc, test_flags_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(consts_suite());
}
