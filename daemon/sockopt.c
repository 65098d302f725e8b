#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
/* Typed socket option values and ancillary data (see sockopt.h). Each option
 * the protocol gives a typed form has a kind in opt_kind(); everything else is
 * a C int or raw bytes. Structures are built with the libc's own definitions
 * (struct linger, ip_mreqn, ipv6_mreq, ...) so that the bytes are this
 * platform's; only struct tcp_info is spelled out here, because <linux/tcp.h>
 * and <netinet/tcp.h> cannot both be included and glibc's copy stops at
 * tcpi_total_retrans. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* struct ucred, struct ip_mreqn */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
/* Kernel ABI numbers of the options the kernel reserves to privilege. */
#include <linux/can/j1939.h>
#include <linux/if_alg.h>
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
#include "consts.h"
#include "sockopt.h"
#include "util.h"

/* Numbers newer than the oldest kernel headers in use (the kernel's ABI). */
#ifndef TCP_AO_REPAIR
#define TCP_AO_REPAIR 42               /* Linux 6.7 */
#endif
#ifndef ALG_SET_KEY_BY_KEY_SERIAL
#define ALG_SET_KEY_BY_KEY_SERIAL 7    /* Linux 6.2 */
#endif
#define SOCK_TYPE_MASK 0xf             /* the type without SOCK_NONBLOCK/SOCK_CLOEXEC */

/* What the value of one (level, option) looks like. */
enum okind {
	K_INT,        /* a C int (the default for every option not listed) */
	K_UINT,       /* a C unsigned int (SO_MARK): decoded without sign */
	K_SOCKTYPE,   /* SO_TYPE: int in, name out */
	K_FAMILY,     /* SO_DOMAIN */
	K_PROTO,      /* SO_PROTOCOL */
	K_LINGER,     /* struct linger <-> {"onoff", "linger"} */
	K_IFNAME,     /* SO_BINDTODEVICE: interface name */
	K_NAME16,     /* TCP_CONGESTION, TCP_ULP: a name of at most 15 bytes */
	K_LABEL,      /* SO_PEERSEC: a security label, read only */
	K_TIMEVAL,    /* SO_RCVTIMEO/SO_SNDTIMEO: struct timeval <-> seconds */
	K_TIMEVAL64,  /* SO_RCVTIMEO_NEW/SO_SNDTIMEO_NEW: two int64 <-> seconds */
	K_MREQ,       /* IP_ADD/DROP_MEMBERSHIP: ip_mreq or ip_mreqn */
	K_MREQ_SRC,   /* IP_{ADD,DROP}_SOURCE_MEMBERSHIP, IP_{BLOCK,UNBLOCK}_SOURCE: ip_mreq_source */
	K_MCAST_IF,   /* IP_MULTICAST_IF: in_addr or ip_mreqn */
	K_MREQ6,      /* IPV6_JOIN_GROUP/LEAVE_GROUP: ipv6_mreq */
	K_PEERCRED,   /* struct ucred, read only */
	K_PEERGROUPS, /* gid_t[], read only */
	K_TCP_INFO,   /* struct tcp_info, read only */
};

static enum okind opt_kind(int level, int option)
{
	switch (level) {
	case SOL_SOCKET:
		switch (option) {
		case SO_MARK: return K_UINT;
		case SO_TYPE: return K_SOCKTYPE;
		case SO_DOMAIN: return K_FAMILY;
		case SO_PROTOCOL: return K_PROTO;
		case SO_LINGER: return K_LINGER;
		case SO_BINDTODEVICE: return K_IFNAME;
		case SO_PEERCRED: return K_PEERCRED;
#ifdef SO_PEERGROUPS
		case SO_PEERGROUPS: return K_PEERGROUPS;
#endif
		case SO_PEERSEC: return K_LABEL;
		/* glibc's SO_RCVTIMEO is whichever of _OLD/_NEW matches its struct timeval */
		case SO_RCVTIMEO:
		case SO_SNDTIMEO: return K_TIMEVAL;
#if defined(SO_RCVTIMEO_NEW) && defined(SO_SNDTIMEO_NEW)
#if SO_RCVTIMEO_NEW != SO_RCVTIMEO
		case SO_RCVTIMEO_NEW:
		case SO_SNDTIMEO_NEW: return K_TIMEVAL64;
#endif
#endif
		}
		break;
	case IPPROTO_TCP:
		switch (option) {
		case TCP_INFO: return K_TCP_INFO;
		case TCP_CONGESTION: return K_NAME16;
#ifdef TCP_ULP
		case TCP_ULP: return K_NAME16;
#endif
		}
		break;
	case IPPROTO_IP:
		switch (option) {
		case IP_ADD_MEMBERSHIP:
		case IP_DROP_MEMBERSHIP: return K_MREQ;
		case IP_ADD_SOURCE_MEMBERSHIP:
		case IP_DROP_SOURCE_MEMBERSHIP:
		case IP_BLOCK_SOURCE:
		case IP_UNBLOCK_SOURCE: return K_MREQ_SRC;
		case IP_MULTICAST_IF: return K_MCAST_IF;
		}
		break;
	case IPPROTO_IPV6:
		switch (option) {
		case IPV6_JOIN_GROUP:   /* == IPV6_ADD_MEMBERSHIP */
		case IPV6_LEAVE_GROUP:  /* == IPV6_DROP_MEMBERSHIP */
			return K_MREQ6;
		}
		break;
	}
	return K_INT;
}

/* What each typed kind takes, for error sentences. */
static const char *kind_takes(enum okind k)
{
	switch (k) {
	case K_LINGER: return "{\"onoff\": bool, \"linger\": seconds}";
	case K_IFNAME: return "an interface name (a string of at most 15 bytes; \"\" unbinds)";
	case K_NAME16: return "a name (a string of at most 15 bytes)";
	case K_TIMEVAL:
	case K_TIMEVAL64: return "a number of seconds (0 or null: no timeout)";
	case K_MREQ: return "{\"multiaddr\": IPv4 address, \"interface\"?: IPv4 address, \"ifindex\"?: n}";
	case K_MREQ_SRC: return "{\"multiaddr\": IPv4 address, \"interface\"?: IPv4 address, \"sourceaddr\": IPv4 address}";
	case K_MCAST_IF: return "an IPv4 address or {\"address\"?: IPv4 address, \"ifindex\"?: n}";
	case K_MREQ6: return "{\"multiaddr\": IPv6 address, \"ifindex\"?: n}";
	default: return "an integer or a boolean";
	}
}

/* Writes a sentence into err (which may be NULL) and returns -EINVAL. */
__attribute__((format(printf, 2, 3)))
static int fail(struct decode_error *err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = decode_vfail(err, -EINVAL, NULL, fmt, ap);
	va_end(ap);
	return r;
}

/* The option's name for messages: "SO_LINGER", else "option 99 at level 6". */
static const char *opt_name(int level, int option, char *tmp, size_t n)
{
	int kind = sbc_option_kind(level);
	const char *name = kind >= 0 ? sbc_name((enum sbc_kind)kind, option) : NULL;
	const char *lname = sbc_name(SBC_SOL, level);

	if (name)
		return name;
	if (lname)
		snprintf(tmp, n, "option %d at level %s", option, lname);
	else
		snprintf(tmp, n, "option %d at level %d", option, level);
	return tmp;
}

/* A JSON integer (or boolean, when bool_ok) within [min, max]: 0, -EINVAL for
 * another type, -ERANGE. */
static int json_int(json_object *j, bool bool_ok, int64_t min, int64_t max, int64_t *out)
{
	int64_t v;

	if (bool_ok && json_object_is_type(j, json_type_boolean)) {
		*out = json_object_get_boolean(j) ? 1 : 0;
		return 0;
	}
	if (!json_object_is_type(j, json_type_int))
		return -EINVAL;
	v = json_object_get_int64(j);
	/* json-c keeps integers above INT64_MAX as uint64 and reports INT64_MAX here */
	if (v == INT64_MAX && json_object_get_uint64(j) > (uint64_t)INT64_MAX)
		return -ERANGE;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static const char *json_kind(json_object *j)
{
	switch (json_object_get_type(j)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "a JSON value";
}

/* Every member of obj is one of allowed[] (NULL-terminated); else the first
 * stranger's name. */
static const char *unknown_member(json_object *obj, const char *const *allowed)
{
	json_object_object_foreach(obj, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (!*a)
			return key;
	}
	return NULL;
}

/* An IPv4 literal ("" is INADDR_ANY, as Python's "" is) -> *a. */
static int parse_in4(json_object *j, struct in_addr *a)
{
	const char *s;

	/* A NUL inside would cut the address short: "224.0.0.1\u0000x" is no address. */
	if (!json_object_is_type(j, json_type_string) ||
	    strlen(json_object_get_string(j)) != (size_t)json_object_get_string_len(j))
		return -EINVAL;
	s = json_object_get_string(j);
	if (!*s) {
		a->s_addr = htonl(INADDR_ANY);
		return 0;
	}
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -EINVAL;
}

static int parse_in6(json_object *j, struct in6_addr *a)
{
	if (!json_object_is_type(j, json_type_string) ||
	    strlen(json_object_get_string(j)) != (size_t)json_object_get_string_len(j))
		return -EINVAL;
	return inet_pton(AF_INET6, json_object_get_string(j), a) == 1 ? 0 : -EINVAL;
}

/* {"data": base64} for any option: at most SOCKOPT_MAX_LEN bytes. */
static int encode_data(const char *name, json_object *value, unsigned char *buf, socklen_t *len,
                       struct decode_error *err)
{
	static const char *const allowed[] = { "data", NULL };
	json_object *d = json_object_object_get(value, "data");
	const char *bad = unknown_member(value, allowed);
	const char *s;
	size_t slen;
	ssize_t n;

	if (bad)
		return fail(err, "%s: {\"data\": base64} has no other members, but \"%s\" was given", name, bad);
	if (!json_object_is_type(d, json_type_string))
		return fail(err, "%s: \"data\" must be a base64 string, not %s", name, json_kind(d));
	s = json_object_get_string(d);
	slen = (size_t)json_object_get_string_len(d);
	if (b64_decoded_maxlen(slen) > SOCKOPT_MAX_LEN + 2) /* +2: padding makes maxlen overestimate */
		return fail(err, "%s: \"data\" is longer than %d bytes", name, SOCKOPT_MAX_LEN);
	n = b64_decode(s, slen, buf, SOCKOPT_MAX_LEN);
	if (n == -ENOBUFS)
		return fail(err, "%s: \"data\" is longer than %d bytes", name, SOCKOPT_MAX_LEN);
	if (n < 0)
		return fail(err, "%s: \"data\" is not valid base64", name);
	*len = (socklen_t)n;
	return 0;
}

/* Seconds (a JSON number >= 0, or null for none) -> sec, usec, rounding a
 * nonzero value up to at least 1 us so that it never becomes "no timeout". */
static int parse_seconds(json_object *j, int64_t *sec, int64_t *usec)
{
	double d, frac;

	if (json_object_is_type(j, json_type_null)) {
		*sec = *usec = 0;
		return 0;
	}
	if (json_object_is_type(j, json_type_int)) {
		int64_t v;
		int r = json_int(j, false, 0, INT_MAX, &v);

		if (r < 0)
			return r;
		*sec = v;
		*usec = 0;
		return 0;
	}
	if (!json_object_is_type(j, json_type_double))
		return -EINVAL;
	d = json_object_get_double(j);
	if (!isfinite(d) || d < 0 || d > INT_MAX)
		return -ERANGE;
	*sec = (int64_t)d;
	frac = (d - (double)*sec) * 1e6;
	*usec = (int64_t)frac;
	if ((double)*usec < frac)   /* round up, without libm's ceil */
		(*usec)++;
	if (*usec >= 1000000) {
		*sec += 1;
		*usec = 0;
	}
	return 0;
}

int sockopt_encode(int level, int option, json_object *value, unsigned char *buf,
                   socklen_t *len, char *err, size_t errlen)
{
	struct decode_error e;
	int r;

	decode_error_clear(&e);
	r = sockopt_encode_value(level, option, value, buf, len, &e);
	if (r < 0 && e.msg[0] && err && errlen)
		snprintf(err, errlen, "%s", e.msg);
	return r;
}

int sockopt_encode_value(int level, int option, json_object *value, unsigned char *buf,
                         socklen_t *len, struct decode_error *err)
{
	char tmp[64];
	const char *name = opt_name(level, option, tmp, sizeof(tmp));
	enum okind k = opt_kind(level, option);
	const char *takes = kind_takes(k);
	int64_t v;
	int r;

	*len = 0;
	if (json_object_is_type(value, json_type_object) && json_object_object_get_ex(value, "data", NULL))
		return encode_data(name, value, buf, len, err);

	switch (k) {
	case K_LINGER: {
		static const char *const allowed[] = { "onoff", "linger", NULL };
		json_object *on, *sec;
		struct linger l = { 0 };
		const char *bad;
		int64_t o;

		if (!json_object_is_type(value, json_type_object))
			return fail(err, "%s takes %s or {\"data\": base64}, not %s", name, takes, json_kind(value));
		if ((bad = unknown_member(value, allowed)))
			return fail(err, "%s takes %s: \"%s\" is not a member", name, takes, bad);
		if (!json_object_object_get_ex(value, "onoff", &on) || !json_object_object_get_ex(value, "linger", &sec))
			return fail(err, "%s takes %s: \"%s\" is missing", name, takes,
			            json_object_object_get_ex(value, "onoff", NULL) ? "linger" : "onoff");
		if (json_int(on, true, INT_MIN, INT_MAX, &o) < 0)
			return fail(err, "%s takes %s: \"onoff\" must be a boolean or an integer", name, takes);
		if (json_int(sec, false, 0, INT_MAX, &v) < 0)
			return fail(err, "%s takes %s: \"linger\" must be a whole number of seconds, 0 or more", name, takes);
		l.l_onoff = (int)o;
		l.l_linger = (int)v;
		memcpy(buf, &l, sizeof(l));
		*len = sizeof(l);
		return 0;
	}
	case K_IFNAME:
	case K_NAME16: {
		const char *s;
		size_t n;

		if (!json_object_is_type(value, json_type_string))
			return fail(err, "%s takes %s or {\"data\": base64}, not %s", name, takes, json_kind(value));
		s = json_object_get_string(value);
		n = (size_t)json_object_get_string_len(value);
		if (strlen(s) != n)
			return fail(err, "%s takes %s: the name holds a NUL", name, takes);
		if (n >= 16)   /* IFNAMSIZ, TCP_CA_NAME_MAX and TCP_ULP_NAME_MAX are all 16 */
			return fail(err, "%s takes %s: \"%s\" is %zu bytes long", name, takes, s, n);
		/* the interface name goes with its NUL, as getsockopt returns it;
		 * "" is then one NUL byte, which unbinds. Congestion names go without,
		 * as Python programs pass them (the kernel copies at most optlen). */
		memcpy(buf, s, n + 1);
		*len = (socklen_t)(k == K_IFNAME ? n + 1 : n);
		return 0;
	}
	case K_TIMEVAL:
	case K_TIMEVAL64: {
		int64_t sec, usec;

		r = parse_seconds(value, &sec, &usec);
		if (r == -ERANGE)
			return fail(err, "%s takes %s: the number is negative or too large", name, takes);
		if (r < 0)
			return fail(err, "%s takes %s, not %s", name, takes, json_kind(value));
		if (k == K_TIMEVAL) {
			struct timeval tv = { .tv_sec = (time_t)sec, .tv_usec = (suseconds_t)usec };

			memcpy(buf, &tv, sizeof(tv));
			*len = sizeof(tv);
		} else {
			int64_t t[2] = { sec, usec };   /* struct __kernel_sock_timeval */

			memcpy(buf, t, sizeof(t));
			*len = sizeof(t);
		}
		return 0;
	}
	case K_MREQ:
	case K_MREQ_SRC:
	case K_MCAST_IF: {
		static const char *const mreq_allowed[] = { "multiaddr", "interface", "ifindex", NULL };
		static const char *const src_allowed[] = { "multiaddr", "interface", "sourceaddr", NULL };
		static const char *const if_allowed[] = { "address", "ifindex", NULL };
		const char *const *allowed = k == K_MREQ ? mreq_allowed : k == K_MREQ_SRC ? src_allowed : if_allowed;
		const char *ifmember = k == K_MCAST_IF ? "address" : "interface";
		struct in_addr group = { 0 }, iface = { htonl(INADDR_ANY) }, source = { 0 };
		json_object *j;
		const char *bad;
		bool has_index;

		if (k == K_MCAST_IF && json_object_is_type(value, json_type_string)) {
			if (parse_in4(value, &iface) < 0)
				return fail(err, "%s takes %s: \"%s\" is not an IPv4 address", name, takes,
				            json_object_get_string(value));
			memcpy(buf, &iface, sizeof(iface));
			*len = sizeof(iface);
			return 0;
		}
		if (!json_object_is_type(value, json_type_object))
			return fail(err, "%s takes %s or {\"data\": base64}, not %s", name, takes, json_kind(value));
		if ((bad = unknown_member(value, allowed)))
			return fail(err, "%s takes %s: \"%s\" is not a member", name, takes, bad);
		if (k != K_MCAST_IF) {
			if (!json_object_object_get_ex(value, "multiaddr", &j))
				return fail(err, "%s takes %s: \"multiaddr\" is missing", name, takes);
			if (parse_in4(j, &group) < 0)
				return fail(err, "%s takes %s: \"multiaddr\" is not an IPv4 address", name, takes);
		}
		if (json_object_object_get_ex(value, ifmember, &j) && parse_in4(j, &iface) < 0)
			return fail(err, "%s takes %s: \"%s\" is not an IPv4 address", name, takes, ifmember);
		if (k == K_MREQ_SRC) {
			struct ip_mreq_source m = { 0 };

			if (!json_object_object_get_ex(value, "sourceaddr", &j))
				return fail(err, "%s takes %s: \"sourceaddr\" is missing", name, takes);
			if (parse_in4(j, &source) < 0)
				return fail(err, "%s takes %s: \"sourceaddr\" is not an IPv4 address", name, takes);
			m.imr_multiaddr = group;
			m.imr_interface = iface;
			m.imr_sourceaddr = source;
			memcpy(buf, &m, sizeof(m));
			*len = sizeof(m);
			return 0;
		}
		has_index = json_object_object_get_ex(value, "ifindex", &j);
		if (has_index && json_int(j, false, 0, INT_MAX, &v) < 0)
			return fail(err, "%s takes %s: \"ifindex\" must be an integer 0 or more", name, takes);
		if (has_index || k == K_MCAST_IF) {
			/* ip_mreqn: the kernel tells it from ip_mreq by its length */
			struct ip_mreqn m = { 0 };

			m.imr_multiaddr = group;
			m.imr_address = iface;
			m.imr_ifindex = has_index ? (int)v : 0;
			memcpy(buf, &m, sizeof(m));
			*len = sizeof(m);
		} else {
			struct ip_mreq m = { 0 };

			m.imr_multiaddr = group;
			m.imr_interface = iface;
			memcpy(buf, &m, sizeof(m));
			*len = sizeof(m);
		}
		return 0;
	}
	case K_MREQ6: {
		static const char *const allowed[] = { "multiaddr", "ifindex", NULL };
		struct ipv6_mreq m = { 0 };
		json_object *j;
		const char *bad;

		if (!json_object_is_type(value, json_type_object))
			return fail(err, "%s takes %s or {\"data\": base64}, not %s", name, takes, json_kind(value));
		if ((bad = unknown_member(value, allowed)))
			return fail(err, "%s takes %s: \"%s\" is not a member", name, takes, bad);
		if (!json_object_object_get_ex(value, "multiaddr", &j))
			return fail(err, "%s takes %s: \"multiaddr\" is missing", name, takes);
		if (parse_in6(j, &m.ipv6mr_multiaddr) < 0)
			return fail(err, "%s takes %s: \"multiaddr\" is not an IPv6 address", name, takes);
		if (json_object_object_get_ex(value, "ifindex", &j)) {
			if (json_int(j, false, 0, UINT_MAX, &v) < 0)
				return fail(err, "%s takes %s: \"ifindex\" must be an integer 0 or more", name, takes);
			m.ipv6mr_interface = (unsigned)v;
		}
		memcpy(buf, &m, sizeof(m));
		*len = sizeof(m);
		return 0;
	}
	default: {
		/* every other option is a C int, as Python's setsockopt(level, opt, int);
		 * up to UINT_MAX too, for unsigned options such as SO_MARK */
		uint32_t u;

		r = json_int(value, true, INT_MIN, UINT_MAX, &v);
		if (r == -ERANGE)
			return fail(err, "%s takes an integer or a boolean: %s is out of the range of a C int",
			            name, json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
		if (r < 0)
			return fail(err, "%s takes %s or {\"data\": base64}, not %s", name, takes, json_kind(value));
		u = (uint32_t)v;   /* the int's bit pattern, for negative values too */
		memcpy(buf, &u, sizeof(u));
		*len = sizeof(int);
		return 0;
	}
	}
}

/* ---- decoding ---- */

/* The kernel's struct tcp_info (include/uapi/linux/tcp.h, as of Linux 5.x/6.x
 * headers: up to tcpi_snd_wnd). The ABI only grows at the end; a kernel with
 * more fields truncates to the length we ask for, one with fewer returns less,
 * and only the fields inside the returned length are reported. */
struct sockopt_tcp_info {
	uint8_t state, ca_state, retransmits, probes, backoff, options;
	uint8_t snd_wscale : 4, rcv_wscale : 4;
	uint8_t delivery_rate_app_limited : 1, fastopen_client_fail : 2;
	uint32_t rto, ato, snd_mss, rcv_mss;
	uint32_t unacked, sacked, lost, retrans, fackets;
	uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
	uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
	uint32_t rcv_rtt, rcv_space;
	uint32_t total_retrans;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in;
	uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate;
	uint64_t busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen;
	uint32_t rcv_ooopack;
	uint32_t snd_wnd;
};
_Static_assert(offsetof(struct sockopt_tcp_info, rto) == 8, "tcp_info layout");
_Static_assert(offsetof(struct sockopt_tcp_info, pacing_rate) == 104, "tcp_info layout");
_Static_assert(sizeof(struct sockopt_tcp_info) == 232, "tcp_info layout");

#define TI(f) { #f, offsetof(struct sockopt_tcp_info, f), sizeof(((struct sockopt_tcp_info *)0)->f) }
static const struct {
	const char *name;
	size_t off, size;
} tcp_info_fields[] = {
	/* state, ca_state and the bit fields in bytes 6 and 7 are done by hand */
	TI(retransmits), TI(probes), TI(backoff), TI(options),
	TI(rto), TI(ato), TI(snd_mss), TI(rcv_mss),
	TI(unacked), TI(sacked), TI(lost), TI(retrans), TI(fackets),
	TI(last_data_sent), TI(last_ack_sent), TI(last_data_recv), TI(last_ack_recv),
	TI(pmtu), TI(rcv_ssthresh), TI(rtt), TI(rttvar), TI(snd_ssthresh), TI(snd_cwnd), TI(advmss),
	TI(reordering), TI(rcv_rtt), TI(rcv_space), TI(total_retrans),
	TI(pacing_rate), TI(max_pacing_rate), TI(bytes_acked), TI(bytes_received),
	TI(segs_out), TI(segs_in), TI(notsent_bytes), TI(min_rtt), TI(data_segs_in), TI(data_segs_out),
	TI(delivery_rate), TI(busy_time), TI(rwnd_limited), TI(sndbuf_limited),
	TI(delivered), TI(delivered_ce), TI(bytes_sent), TI(bytes_retrans),
	TI(dsack_dups), TI(reord_seen), TI(rcv_ooopack), TI(snd_wnd),
};
#undef TI

/* TCP states as TCP_INFO and /proc/net/tcp number them (the kernel's
 * include/net/tcp_states.h, a stable ABI); the names are the kernel's. */
static const char *const tcp_state_names[] = {
	[1] = "TCP_ESTABLISHED", [2] = "TCP_SYN_SENT", [3] = "TCP_SYN_RECV",
	[4] = "TCP_FIN_WAIT1", [5] = "TCP_FIN_WAIT2", [6] = "TCP_TIME_WAIT",
	[7] = "TCP_CLOSE", [8] = "TCP_CLOSE_WAIT", [9] = "TCP_LAST_ACK",
	[10] = "TCP_LISTEN", [11] = "TCP_CLOSING", [12] = "TCP_NEW_SYN_RECV",
	[13] = "TCP_BOUND_INACTIVE",
};
/* enum tcp_ca_state, include/uapi/linux/tcp.h */
static const char *const tcp_ca_state_names[] = {
	"TCP_CA_Open", "TCP_CA_Disorder", "TCP_CA_CWR", "TCP_CA_Recovery", "TCP_CA_Loss",
};

/* Adds key: val to obj, taking val; -ENOMEM when val is NULL or adding fails. */
static int put(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static json_object *name_or_int(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] ? json_object_new_string(names[v]) : json_object_new_int64(v);
}

static json_object *decode_tcp_info(const unsigned char *buf, socklen_t len)
{
	struct sockopt_tcp_info ti;
	json_object *o = json_object_new_object();
	size_t n = SB_MIN((size_t)len, sizeof(ti));

	if (!o)
		return NULL;
	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, buf, n);
	if (n >= 1 && put(o, "state", name_or_int(tcp_state_names, ARRAY_SIZE(tcp_state_names), ti.state)) < 0)
		goto nomem;
	if (n >= 2 && put(o, "ca_state", name_or_int(tcp_ca_state_names, ARRAY_SIZE(tcp_ca_state_names),
	                                             ti.ca_state)) < 0)
		goto nomem;
	for (size_t i = 0; i < ARRAY_SIZE(tcp_info_fields); i++) {
		const unsigned char *p = (const unsigned char *)&ti + tcp_info_fields[i].off;
		json_object *val;

		if (tcp_info_fields[i].off + tcp_info_fields[i].size > n)
			break;
		if (tcp_info_fields[i].size == 1) {
			val = json_object_new_int64(*p);
		} else if (tcp_info_fields[i].size == 4) {
			uint32_t u;

			memcpy(&u, p, sizeof(u));
			val = json_object_new_int64(u);
		} else {
			uint64_t u;

			memcpy(&u, p, sizeof(u));
			val = json_object_new_uint64(u);
		}
		if (put(o, tcp_info_fields[i].name, val) < 0)
			goto nomem;
		if (strcmp(tcp_info_fields[i].name, "options") == 0) {
			/* bytes 6 and 7 follow options */
			if (n >= 7 && (put(o, "snd_wscale", json_object_new_int(ti.snd_wscale)) < 0 ||
			               put(o, "rcv_wscale", json_object_new_int(ti.rcv_wscale)) < 0))
				goto nomem;
			if (n >= 8 && (put(o, "delivery_rate_app_limited",
			                   json_object_new_int(ti.delivery_rate_app_limited)) < 0 ||
			               put(o, "fastopen_client_fail", json_object_new_int(ti.fastopen_client_fail)) < 0))
				goto nomem;
		}
	}
	return o;
nomem:
	json_object_put(o);
	return NULL;
}

static json_object *data_object(const unsigned char *buf, size_t len)
{
	json_object *o = json_object_new_object();
	char *s = b64_encode_alloc(buf, len);

	if (!o || !s || put(o, "data", json_object_new_string(s)) < 0) {
		free(s);
		json_object_put(o);
		return NULL;
	}
	free(s);
	return o;
}

/* A NUL-padded name: printable ASCII up to the first NUL becomes a string;
 * anything else (which JSON could not carry as text) stays bytes. */
static json_object *decode_name(const unsigned char *buf, socklen_t len)
{
	const unsigned char *nul = memchr(buf, 0, len);
	size_t n = nul ? (size_t)(nul - buf) : len;

	for (size_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return data_object(buf, len);
	return json_object_new_string_len((const char *)buf, (int)n);
}

static json_object *decode_in4(const struct in_addr *a)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, a, s, sizeof(s));
	return json_object_new_string(s);
}

static json_object *decode_seconds(int64_t sec, int64_t usec)
{
	if (usec == 0)
		return json_object_new_int64(sec);
	return json_object_new_double((double)sec + (double)usec / 1e6);
}

/* An object built from members; NULL (and nothing leaked) if any is NULL. */
static json_object *object_of(size_t n, const char *const *keys, json_object **vals)
{
	json_object *o = json_object_new_object();
	size_t i = 0;

	if (o)
		for (; i < n; i++)
			if (put(o, keys[i], vals[i]) < 0)
				break;
	if (!o || i < n) {
		for (size_t j = o ? i + 1 : 0; j < n; j++)
			json_object_put(vals[j]);
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *sockopt_decode(int level, int option, const unsigned char *buf, socklen_t len)
{
	static const unsigned char none[1];
	enum okind k = opt_kind(level, option);
	int iv;

	if (!buf || len == 0) {   /* memcpy/memchr want a real pointer even for 0 bytes */
		buf = none;
		len = 0;
	}
	switch (k) {
	case K_LINGER:
		if (len == sizeof(struct linger)) {
			static const char *const keys[] = { "onoff", "linger" };
			struct linger l;
			json_object *vals[2];

			memcpy(&l, buf, sizeof(l));
			vals[0] = json_object_new_boolean(l.l_onoff != 0);
			vals[1] = json_object_new_int64(l.l_linger);
			return object_of(2, keys, vals);
		}
		break;
	case K_PEERCRED:
		if (len == sizeof(struct ucred)) {
			static const char *const keys[] = { "pid", "uid", "gid" };
			struct ucred c;
			json_object *vals[3];

			memcpy(&c, buf, sizeof(c));
			vals[0] = json_object_new_int64(c.pid);
			vals[1] = json_object_new_int64(c.uid);
			vals[2] = json_object_new_int64(c.gid);
			return object_of(3, keys, vals);
		}
		break;
	case K_PEERGROUPS:
		if (len % sizeof(gid_t) == 0) {
			json_object *a = json_object_new_array();

			if (!a)
				return NULL;
			for (size_t i = 0; i < len / sizeof(gid_t); i++) {
				gid_t g;

				memcpy(&g, buf + i * sizeof(g), sizeof(g));
				if (json_object_array_add(a, json_object_new_int64(g)) < 0) {
					json_object_put(a);
					return NULL;
				}
			}
			return a;
		}
		break;
	case K_TCP_INFO:
		return decode_tcp_info(buf, len);
	case K_IFNAME:
	case K_NAME16:
	case K_LABEL:
		return decode_name(buf, len);
	case K_TIMEVAL:
		if (len == sizeof(struct timeval)) {
			struct timeval tv;

			memcpy(&tv, buf, sizeof(tv));
			return decode_seconds(tv.tv_sec, tv.tv_usec);
		}
		break;
	case K_TIMEVAL64:
		if (len == 2 * sizeof(int64_t)) {
			int64_t t[2];

			memcpy(t, buf, sizeof(t));
			return decode_seconds(t[0], t[1]);
		}
		break;
	case K_MCAST_IF:
		if (len == sizeof(struct in_addr)) {
			struct in_addr a;

			memcpy(&a, buf, sizeof(a));
			return decode_in4(&a);
		}
		break;
	case K_MREQ:
		/* the kernel has no getsockopt for these; decoded for symmetry */
		if (len == sizeof(struct ip_mreq)) {
			static const char *const keys[] = { "multiaddr", "interface" };
			struct ip_mreq m;
			json_object *vals[2];

			memcpy(&m, buf, sizeof(m));
			vals[0] = decode_in4(&m.imr_multiaddr);
			vals[1] = decode_in4(&m.imr_interface);
			return object_of(2, keys, vals);
		}
		if (len == sizeof(struct ip_mreqn)) {
			static const char *const keys[] = { "multiaddr", "interface", "ifindex" };
			struct ip_mreqn m;
			json_object *vals[3];

			memcpy(&m, buf, sizeof(m));
			vals[0] = decode_in4(&m.imr_multiaddr);
			vals[1] = decode_in4(&m.imr_address);
			vals[2] = json_object_new_int64(m.imr_ifindex);
			return object_of(3, keys, vals);
		}
		break;
	case K_MREQ6:
		if (len == sizeof(struct ipv6_mreq)) {
			static const char *const keys[] = { "multiaddr", "ifindex" };
			struct ipv6_mreq m;
			char s[INET6_ADDRSTRLEN];
			json_object *vals[2];

			memcpy(&m, buf, sizeof(m));
			inet_ntop(AF_INET6, &m.ipv6mr_multiaddr, s, sizeof(s));
			vals[0] = json_object_new_string(s);
			vals[1] = json_object_new_int64(m.ipv6mr_interface);
			return object_of(2, keys, vals);
		}
		break;
	default:
		/* integer options: an int, or one byte where the kernel answers a
		 * short buffer with one (IP_TOS, IP_TTL, IP_MULTICAST_TTL/LOOP, ...) */
		if (len == sizeof(int)) {
			memcpy(&iv, buf, sizeof(iv));
			switch (k) {
			case K_UINT: return json_object_new_int64((unsigned)iv);
			case K_SOCKTYPE: return sbc_to_json(SBC_SOCK, iv);
			case K_FAMILY: return sbc_to_json(SBC_AF, iv);
			case K_PROTO: return sbc_to_json(SBC_IPPROTO, iv);
			default: return json_object_new_int(iv);
			}
		}
		if (len == 1)
			return json_object_new_int(buf[0]);
		break;
	}
	return data_object(buf, len);
}

socklen_t sockopt_default_len(int level, int option)
{
	switch (opt_kind(level, option)) {
	case K_LINGER: return sizeof(struct linger);
	case K_PEERCRED: return sizeof(struct ucred);
	case K_PEERGROUPS: return 256 * sizeof(gid_t);   /* NGROUPS_MAX is 65536: ERANGE past 256 */
	case K_TCP_INFO: return sizeof(struct sockopt_tcp_info);
	case K_IFNAME: return IFNAMSIZ;
	case K_NAME16: return 16;                         /* TCP_CA_NAME_MAX, TCP_ULP_NAME_MAX */
	case K_LABEL: return 256;
	case K_TIMEVAL: return sizeof(struct timeval);
	case K_TIMEVAL64: return 2 * sizeof(int64_t);
	case K_MCAST_IF: return sizeof(struct in_addr);   /* what the kernel answers */
	case K_MREQ: return sizeof(struct ip_mreqn);
	case K_MREQ_SRC: return sizeof(struct ip_mreq_source);
	case K_MREQ6: return sizeof(struct ipv6_mreq);
	default: return sizeof(int);
	}
}

int sockopt_option_from_json(int level, json_object *j, int *option)
{
	int kind = sbc_option_kind(level);
	long v;

	if (json_object_is_type(j, json_type_int)) {
		int64_t x = json_object_get_int64(j);
		if (x < 0 || x > INT32_MAX)
			return -EINVAL;
		*option = (int)x;
		return 0;
	}
	if (kind < 0 || sbc_from_json(kind, j, &v) < 0)
		return -EINVAL;
	*option = (int)v;
	return 0;
}

/* ---- options and control messages the kernel reserves to privilege ----
 *
 * The daemon runs with CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE
 * (or as root), so whatever the kernel checks against a capability, it grants
 * on the daemon's word: for a client, such an option is the policy's
 * `setsockopt` action. The list below was derived from the kernel's own checks
 * (capable(), ns_capable(), sockopt_ns_capable(), netlink_allowed(), ... on
 * the paths setsockopt(2) and sendmsg(2)'s control messages reach), read in
 * Linux 6.12 and checked against the running 6.18 by trying each option as an
 * unprivileged user; docs/privileged.md names the file and function of every
 * check. Over-refusal is acceptable, under-refusal is a hole: where a check
 * depends on state the daemon cannot see cheaply (whether the socket is
 * already bound to a device, the allowed congestion-control list), every
 * value is judged privileged. */

/* What makes a governed option (or control message) privileged. */
enum pcond {
	P_ALWAYS,       /* every value, every socket */
	P_NONZERO,      /* a nonzero int value; turning it off is open to everyone */
	P_PRIORITY,     /* a priority outside 0-6 (TC_PRIO_BESTEFFORT..TC_PRIO_INTERACTIVE) */
	P_TXTIME,       /* struct sock_txtime with a clock other than CLOCK_MONOTONIC */
	P_TCP_ONLY,     /* on a TCP socket: judged for every INET/INET6 stream socket */
	P_IP_OPTIONS,   /* an IPv4 option list with a privileged option */
	P_NL_GROUP,     /* a netlink membership: by protocol and group */
	P_J1939_PRIO,   /* a J1939 priority of 0 or 1 */
};

struct priv_entry {
	int level, first, last;   /* options first..last at level */
	enum pcond cond;
};

/* setsockopt. Ranges are the kernel's own (nf_sockopt_ops set_optmin..
 * set_optmax, ip_mroute_opt()). */
static const struct priv_entry priv_opts[] = {
	/* net/core/sock.c sk_setsockopt, sock_bindtoindex_locked */
	{ SOL_SOCKET, SO_DEBUG, SO_DEBUG, P_NONZERO },                 /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_PRIORITY, SO_PRIORITY, P_PRIORITY },          /* CAP_NET_RAW or CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_SNDBUFFORCE, SO_SNDBUFFORCE, P_ALWAYS },      /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_RCVBUFFORCE, SO_RCVBUFFORCE, P_ALWAYS },      /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_BINDTODEVICE, SO_BINDTODEVICE, P_ALWAYS },    /* CAP_NET_RAW to rebind */
	{ SOL_SOCKET, SO_ATTACH_FILTER, SO_ATTACH_FILTER, P_TCP_ONLY },/* CAP_NET_ADMIN on TCP */
	{ SOL_SOCKET, SO_MARK, SO_MARK, P_ALWAYS },                    /* CAP_NET_RAW or CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_BUSY_POLL, SO_BUSY_POLL, P_ALWAYS },          /* CAP_NET_ADMIN to raise it, before 6.9 */
	{ SOL_SOCKET, SO_TXTIME, SO_TXTIME, P_TXTIME },                /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_BINDTOIFINDEX, SO_BINDTOIFINDEX, P_ALWAYS },  /* CAP_NET_RAW to rebind */
	{ SOL_SOCKET, SO_PREFER_BUSY_POLL, SO_PREFER_BUSY_POLL, P_NONZERO }, /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_BUSY_POLL_BUDGET, SO_BUSY_POLL_BUDGET, P_ALWAYS },  /* CAP_NET_ADMIN to raise it */
	/* net/ipv4/ip_sockglue.c do_ip_setsockopt, ip_options.c, ipmr.c, netfilter */
	{ IPPROTO_IP, IP_OPTIONS, IP_OPTIONS, P_IP_OPTIONS },          /* CAP_NET_RAW */
	{ IPPROTO_IP, IP_IPSEC_POLICY, IP_IPSEC_POLICY, P_ALWAYS },    /* CAP_NET_ADMIN */
	{ IPPROTO_IP, IP_XFRM_POLICY, IP_XFRM_POLICY, P_ALWAYS },      /* CAP_NET_ADMIN */
	{ IPPROTO_IP, IP_TRANSPARENT, IP_TRANSPARENT, P_NONZERO },     /* CAP_NET_RAW or CAP_NET_ADMIN */
	{ IPPROTO_IP, IPT_SO_SET_REPLACE, IPT_SO_SET_MAX, P_ALWAYS },  /* CAP_NET_ADMIN: iptables */
	{ IPPROTO_IP, ARPT_SO_SET_REPLACE, ARPT_SO_SET_MAX, P_ALWAYS },/* CAP_NET_ADMIN: arptables */
	{ IPPROTO_IP, EBT_SO_SET_ENTRIES, EBT_SO_SET_MAX, P_ALWAYS },  /* CAP_NET_ADMIN: ebtables */
	{ IPPROTO_IP, MRT_BASE, MRT_MAX, P_ALWAYS },                   /* CAP_NET_ADMIN, or the MRT_INIT socket */
	{ IPPROTO_IP, IP_VS_BASE_CTL, IP_VS_SO_SET_MAX, P_ALWAYS },    /* CAP_NET_ADMIN: IPVS */
	/* net/ipv6/ipv6_sockglue.c do_ipv6_setsockopt, anycast.c, ip6_flowlabel.c,
	 * datagram.c (through IPV6_2292PKTOPTIONS), ip6mr.c, netfilter */
	{ IPPROTO_IPV6, IPV6_JOIN_ANYCAST, IPV6_JOIN_ANYCAST, P_ALWAYS },     /* CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, IPV6_FLOWLABEL_MGR, P_ALWAYS },   /* CAP_NET_ADMIN for some requests */
	{ IPPROTO_IPV6, IPV6_IPSEC_POLICY, IPV6_IPSEC_POLICY, P_ALWAYS },     /* CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IPV6_XFRM_POLICY, IPV6_XFRM_POLICY, P_ALWAYS },       /* CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IPV6_2292PKTOPTIONS, IPV6_2292PKTOPTIONS, P_ALWAYS }, /* CAP_NET_RAW for the headers inside */
	{ IPPROTO_IPV6, IPV6_HOPOPTS, IPV6_HOPOPTS, P_ALWAYS },               /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, IPV6_RTHDRDSTOPTS, P_ALWAYS },     /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_DSTOPTS, IPV6_DSTOPTS, P_ALWAYS },               /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_TRANSPARENT, IPV6_TRANSPARENT, P_NONZERO },      /* CAP_NET_RAW or CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IP6T_SO_SET_REPLACE, IP6T_SO_SET_MAX, P_ALWAYS },     /* CAP_NET_ADMIN: ip6tables */
	{ IPPROTO_IPV6, MRT6_BASE, MRT6_MAX, P_ALWAYS },                      /* CAP_NET_ADMIN, or the MRT6_INIT socket */
	/* net/ipv4/tcp.c do_tcp_setsockopt, tcp_cong.c, tcp_ulp.c */
	{ IPPROTO_TCP, TCP_CONGESTION, TCP_CONGESTION, P_ALWAYS },     /* CAP_NET_ADMIN outside the allowed list */
	{ IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OPTIONS, P_ALWAYS },     /* CAP_NET_ADMIN (REPAIR; the rest need repair mode) */
	{ IPPROTO_TCP, TCP_REPAIR_WINDOW, TCP_REPAIR_WINDOW, P_ALWAYS },/* repair mode */
	{ IPPROTO_TCP, TCP_ULP, TCP_ULP, P_ALWAYS },                   /* CAP_NET_ADMIN to load a module */
	{ IPPROTO_TCP, TCP_AO_REPAIR, TCP_AO_REPAIR, P_ALWAYS },       /* CAP_NET_ADMIN */
	/* net/sctp/socket.c sctp_do_bind, __sctp_connect: binds and connects in
	 * an option, CAP_NET_BIND_SERVICE for a privileged port */
	{ IPPROTO_SCTP, SCTP_SOCKOPT_BINDX_ADD, SCTP_SOCKOPT_BINDX_ADD, P_ALWAYS },
	{ IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX_OLD, SCTP_SOCKOPT_CONNECTX_OLD, P_ALWAYS },
	{ IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX, SCTP_SOCKOPT_CONNECTX, P_ALWAYS },
	/* net/netlink/af_netlink.c netlink_setsockopt and the protocols' bind hooks */
	{ SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP, P_NL_GROUP }, /* CAP_NET_ADMIN, ... */
	{ SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, NETLINK_LISTEN_ALL_NSID, P_ALWAYS },  /* CAP_NET_BROADCAST */
	/* net/can/j1939/socket.c j1939_sk_setsockopt */
	{ SOL_CAN_J1939, SO_J1939_SEND_PRIO, SO_J1939_SEND_PRIO, P_J1939_PRIO },      /* CAP_NET_ADMIN */
	/* crypto/af_alg.c alg_setsockopt, algif_rng.c */
	{ SOL_ALG, ALG_SET_DRBG_ENTROPY, ALG_SET_DRBG_ENTROPY, P_ALWAYS },            /* CAP_SYS_ADMIN */
	{ SOL_ALG, ALG_SET_KEY_BY_KEY_SERIAL, ALG_SET_KEY_BY_KEY_SERIAL, P_ALWAYS },  /* the daemon's keyrings */
};

/* Control messages of sendmsg(2). */
static const struct priv_entry priv_cmsgs[] = {
	/* net/core/sock.c __sock_cmsg_send */
	{ SOL_SOCKET, SO_PRIORITY, SO_PRIORITY, P_PRIORITY },          /* Linux 6.14 and later */
	{ SOL_SOCKET, SO_MARK, SO_MARK, P_ALWAYS },
	/* net/ipv4/ip_sockglue.c ip_cmsg_send -> ip_options_get */
	{ IPPROTO_IP, IP_RETOPTS, IP_RETOPTS, P_IP_OPTIONS },
	/* net/ipv6/datagram.c ip6_datagram_send_ctl: CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_2292HOPOPTS, IPV6_2292DSTOPTS, P_ALWAYS },
	{ IPPROTO_IPV6, IPV6_HOPOPTS, IPV6_HOPOPTS, P_ALWAYS },
	{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, IPV6_RTHDRDSTOPTS, P_ALWAYS },
	{ IPPROTO_IPV6, IPV6_DSTOPTS, IPV6_DSTOPTS, P_ALWAYS },
	/* net/sctp/socket.c sctp_sendmsg_new_asoc: more peers of a new
	 * association, which the connect check of the destination never sees */
	{ IPPROTO_SCTP, SCTP_DSTADDRV4, SCTP_DSTADDRV6, P_ALWAYS },
};

/* getsockopt(2): reads the kernel reserves to privilege (the firewall tables:
 * nf_sockopt_ops get_optmin..get_optmax, each handler asking CAP_NET_ADMIN). */
static const struct priv_entry priv_gets[] = {
	{ IPPROTO_IP, IPT_SO_GET_INFO, IPT_SO_GET_MAX, P_ALWAYS },       /* net/ipv4/netfilter/ip_tables.c */
	{ IPPROTO_IP, ARPT_SO_GET_INFO, ARPT_SO_GET_MAX, P_ALWAYS },     /* net/ipv4/netfilter/arp_tables.c */
	{ IPPROTO_IP, EBT_SO_GET_INFO, EBT_SO_GET_MAX, P_ALWAYS },       /* net/bridge/netfilter/ebtables.c */
	{ IPPROTO_IP, IP_VS_SO_GET_VERSION, IP_VS_SO_GET_MAX, P_ALWAYS },/* net/netfilter/ipvs/ip_vs_ctl.c */
	{ IPPROTO_IPV6, IP6T_SO_GET_INFO, IP6T_SO_GET_MAX, P_ALWAYS },   /* net/ipv6/netfilter/ip6_tables.c */
};

/* getsockopt(2) options that act instead of reading: SCTP's peel-off installs
 * a descriptor in the daemon that no handle would own, and CONNECTX3
 * connects where no connect check looks. */
static const struct priv_entry refused_gets[] = {
	{ IPPROTO_SCTP, SCTP_SOCKOPT_PEELOFF, SCTP_SOCKOPT_PEELOFF, P_ALWAYS },
	{ IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX3, SCTP_SOCKOPT_CONNECTX3, P_ALWAYS },
	{ IPPROTO_SCTP, SCTP_SOCKOPT_PEELOFF_FLAGS, SCTP_SOCKOPT_PEELOFF_FLAGS, P_ALWAYS },
};

static const struct priv_entry *priv_find(const struct priv_entry *t, size_t n, int level, int option)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].level == level && option >= t[i].first && option <= t[i].last)
			return &t[i];
	return NULL;
}

int sockopt_privileged(int level, int option)
{
	return priv_find(priv_opts, ARRAY_SIZE(priv_opts), level, option) != NULL;
}

bool sockopt_get_privileged(int level, int option)
{
	return priv_find(priv_gets, ARRAY_SIZE(priv_gets), level, option) != NULL;
}

bool sockopt_get_refused(int level, int option)
{
	return priv_find(refused_gets, ARRAY_SIZE(refused_gets), level, option) != NULL;
}

int ancdata_privileged(int level, int type)
{
	return priv_find(priv_cmsgs, ARRAY_SIZE(priv_cmsgs), level, type) != NULL;
}

/* An int value as the kernel reads it: 0 or -EINVAL when len cannot hold one. */
static int value_int(const void *val, size_t len, int *v)
{
	if (!val || len < sizeof(int))
		return -EINVAL;
	memcpy(v, val, sizeof(*v));
	return 0;
}

/* ip_options_compile() without a packet lets anyone set end-of-list, no-op,
 * record route, router alert and the TSONLY, TSANDADDR and PRESPEC kinds of
 * timestamp; source routes, CIPSO, security, stream id and unknown types or
 * timestamp flags need CAP_NET_RAW. Anything this walk cannot read as the
 * kernel would is judged privileged. The walk covers the whole buffer even
 * where the kernel reads only its first 40 bytes (the options the kernel sees
 * are a prefix of these). */
static bool ip_options_privileged(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t ol;

		if (p[i] == IPOPT_END)
			return false;   /* the kernel ignores what follows */
		if (p[i] == IPOPT_NOOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return true;
		ol = p[i + 1];
		if (ol < 2 || ol > len - i)
			return true;
		switch (p[i]) {
		case IPOPT_RR:
		case IPOPT_RA:
			break;
		case IPOPT_TS:
			if (ol < 4)
				return true;
			switch (p[i + 3] & 0xf) {
			case IPOPT_TS_TSONLY:
			case IPOPT_TS_TSANDADDR:
			case IPOPT_TS_PRESPEC:
				break;
			default:
				return true;
			}
			break;
		default:
			return true;
		}
		i += ol;
	}
	return false;
}

/* Netlink protocols whose multicast groups anyone may join: those created
 * with NL_CFG_F_NONROOT_RECV whose bind hook checks no capability for the
 * group. Everything else (NETLINK_GENERIC, whose groups each may demand
 * CAP_NET_ADMIN or CAP_SYS_ADMIN; NETLINK_AUDIT, CAP_AUDIT_READ;
 * NETLINK_CONNECTOR, whose cn_bind wants CAP_NET_ADMIN for most groups;
 * NETLINK_USERSOCK, NONROOT_SEND only; NETFILTER, XFRM, ... without the
 * flag) needs a capability. group 0: any group (a question without a value). */
static bool netlink_group_privileged(int proto, int option, unsigned group)
{
	switch (proto) {
	case NETLINK_ROUTE:
		/* rtnetlink_bind: the multicast-routing report groups */
		if (option == NETLINK_DROP_MEMBERSHIP)
			return false;
		return group == 0 || group == RTNLGRP_IPV4_MROUTE_R || group == RTNLGRP_IPV6_MROUTE_R;
	case NETLINK_SOCK_DIAG:
	case NETLINK_SELINUX:
	case NETLINK_KOBJECT_UEVENT:
	case NETLINK_RDMA:
		return false;
	default:
		return true;
	}
}

/* The condition of entry e for a socket of (family, type, proto) and a value
 * (val NULL: whether some value is privileged). */
static bool cond_holds(const struct priv_entry *e, int family, int type, int proto, int option,
                       const void *val, size_t len)
{
	int v = 0;

	switch (e->cond) {
	case P_ALWAYS:
		return true;
	case P_NONZERO:
		return !val || value_int(val, len, &v) < 0 || v != 0;
	case P_PRIORITY:
		return !val || value_int(val, len, &v) < 0 || v < 0 || v > 6;
	case P_TXTIME: {
		struct sock_txtime t;

		if (!val || len != sizeof(t))
			return true;
		memcpy(&t, val, sizeof(t));
		return t.clockid != CLOCK_MONOTONIC;
	}
	case P_TCP_ONLY:
		/* sk_is_tcp(); every stream socket of the two families, MPTCP's too */
		return (family == AF_INET || family == AF_INET6) && (type & SOCK_TYPE_MASK) == SOCK_STREAM;
	case P_IP_OPTIONS:
		return !val || ip_options_privileged(val, len);
	case P_NL_GROUP: {
		unsigned group = 0;

		if (family != AF_NETLINK)
			return true;   /* the kernel refuses it anyway; not worth a judgement */
		if (val && len >= sizeof(group)) {
			memcpy(&group, val, sizeof(group));
			if (group == 0)
				return true;   /* EINVAL in the kernel; no need to tell it from "any group" */
		}
		return netlink_group_privileged(proto, option, group);
	}
	case P_J1939_PRIO:
		return !val || len != sizeof(int) || value_int(val, len, &v) < 0 || v < 2 || v > 7;
	}
	return true;
}

bool sockopt_value_privileged(int family, int type, int proto, int level, int option, const void *val, size_t len)
{
	const struct priv_entry *e = priv_find(priv_opts, ARRAY_SIZE(priv_opts), level, option);

	return e && cond_holds(e, family, type, proto, option, val, len);
}

bool cmsg_privileged(int family, int type, int proto, const struct cmsghdr *cm)
{
	const struct priv_entry *e = priv_find(priv_cmsgs, ARRAY_SIZE(priv_cmsgs), cm->cmsg_level, cm->cmsg_type);
	size_t len = cm->cmsg_len > CMSG_LEN(0) ? cm->cmsg_len - CMSG_LEN(0) : 0;

	return e && cond_holds(e, family, type, proto, cm->cmsg_type, CMSG_DATA(cm), len);
}

/* ---- ancillary data ---- */

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04   /* Linux 6.5: a pidfd installed in the receiver */
#endif

/* The cmsg type's name table for a level: SOL_SOCKET types are SCM_ names
 * first, then SO_ (SO_MARK, SO_PRIORITY travel as cmsgs too). */
static int type_from_json(int level, json_object *j, long *v)
{
	int kind = level == SOL_SOCKET ? SBC_SCM : sbc_option_kind(level);
	int64_t i = 0;
	int r;

	if (kind < 0) {   /* a level without a name table: numbers only */
		r = json_int(j, false, INT_MIN, INT_MAX, &i);
		*v = (long)i;
		return r;
	}
	r = sbc_from_json((enum sbc_kind)kind, j, v);
	if (r == -ENOENT && level == SOL_SOCKET)
		r = sbc_from_json(SBC_SO, j, v);
	return r;
}

static json_object *type_to_json(int level, int type)
{
	int kind = level == SOL_SOCKET ? SBC_SCM : sbc_option_kind(level);

	if (level == SOL_SOCKET && !sbc_name(SBC_SCM, type) && sbc_name(SBC_SO, type))
		kind = SBC_SO;
	if (kind < 0)
		return json_object_new_int(type);
	return sbc_to_json((enum sbc_kind)kind, type);
}

struct anc_entry {
	int level, type;
	unsigned char *data;
	size_t len;
};

/* One ancdata entry, {"level", "type", "data"} or [level, type, data] ->
 * *e (data malloc'd). budget: control bytes still allowed. */
static int parse_entry(json_object *j, size_t idx, size_t budget, struct anc_entry *e, struct decode_error *err)
{
	static const char *const allowed[] = { "level", "type", "data", NULL };
	json_object *jl = NULL, *jt = NULL, *jd = NULL;
	const char *bad, *s;
	size_t slen;
	long v;
	int r;

	if (json_object_is_type(j, json_type_array) && json_object_array_length(j) == 3) {
		jl = json_object_array_get_idx(j, 0);
		jt = json_object_array_get_idx(j, 1);
		jd = json_object_array_get_idx(j, 2);
	} else if (json_object_is_type(j, json_type_object)) {
		if ((bad = unknown_member(j, allowed)))
			return fail(err, "ancdata[%zu] has an unknown member \"%s\" (it takes level, type, data)",
			            idx, bad);
		json_object_object_get_ex(j, "level", &jl);
		json_object_object_get_ex(j, "type", &jt);
		json_object_object_get_ex(j, "data", &jd);
		if (!jl || !jt || !jd)
			return fail(err, "ancdata[%zu] lacks \"%s\" (it takes level, type, data)", idx,
			            !jl ? "level" : !jt ? "type" : "data");
	} else {
		return fail(err, "ancdata[%zu] must be {\"level\", \"type\", \"data\"} or [level, type, data]", idx);
	}
	r = sbc_from_json(SBC_SOL, jl, &v);
	if (r < 0)
		return fail(err, "ancdata[%zu]: level must be a level name (\"SOL_SOCKET\", \"IPPROTO_IP\", ...) "
		            "or an integer", idx);
	e->level = (int)v;
	r = type_from_json(e->level, jt, &v);
	if (r < 0)
		return fail(err, "ancdata[%zu]: type must be a known name for its level or an integer", idx);
	e->type = (int)v;
	if (e->level == SOL_SOCKET && e->type == SCM_RIGHTS)
		return fail(err, "ancdata[%zu]: SCM_RIGHTS cannot be written as data; send the descriptors "
		            "with the request (\"fds\") and they go out as SCM_RIGHTS", idx);
	if (e->level == SOL_SOCKET && e->type == SCM_CREDENTIALS)
		return fail(err, "ancdata[%zu]: SCM_CREDENTIALS is refused: the daemon would vouch for "
		            "credentials it has not checked (set SO_PASSCRED on the receiver instead)", idx);
	if (!json_object_is_type(jd, json_type_string))
		return fail(err, "ancdata[%zu]: data must be a base64 string", idx);
	s = json_object_get_string(jd);
	slen = (size_t)json_object_get_string_len(jd);
	if (b64_decoded_maxlen(slen) > budget + 2) /* +2: the bound counts padding as bytes */
		return -E2BIG;
	r = b64_decode_alloc(s, slen, &e->data, &e->len);
	if (r == -EINVAL)
		return fail(err, "ancdata[%zu]: data is not valid base64", idx);
	return r;
}

/* ancdata_encode, reporting through the decoders' one error value. */
static int anc_encode(json_object *ancdata, const int *fds, size_t nfds, unsigned char **buf,
                      size_t *len, struct decode_error *err)
{
	struct anc_entry ents[ANCDATA_MAX_ENTRIES];
	size_t n = 0, done = 0, total = 0, off = 0;
	unsigned char *out = NULL;
	int r = 0;

	*buf = NULL;
	*len = 0;
	memset(ents, 0, sizeof(ents));
	if (ancdata && !json_object_is_type(ancdata, json_type_null)) {
		if (!json_object_is_type(ancdata, json_type_array))
			return fail(err, "ancdata must be an array of {\"level\", \"type\", \"data\"}");
		n = json_object_array_length(ancdata);
	}
	if (n > ANCDATA_MAX_ENTRIES) {
		fail(err, "ancdata has %zu entries; at most %d are allowed", n, ANCDATA_MAX_ENTRIES);
		return -E2BIG;
	}
	if (nfds > ANCDATA_MAX_FDS) {
		fail(err, "%zu descriptors cannot go in one message; the kernel takes at most %d",
		     nfds, ANCDATA_MAX_FDS);
		return -E2BIG;
	}
	if (nfds)
		total = CMSG_SPACE(nfds * sizeof(int));
	for (; done < n; done++) {
		r = parse_entry(json_object_array_get_idx(ancdata, done), done, ANCDATA_MAX_LEN - total,
		                &ents[done], err);
		if (r == 0 && CMSG_SPACE(ents[done].len) > ANCDATA_MAX_LEN - total)
			r = -E2BIG;
		if (r < 0) {
			done++;   /* ents[done] may hold data */
			goto out;
		}
		total += CMSG_SPACE(ents[done].len);
	}
	if (total == 0)
		goto out;
	out = calloc(1, total);   /* zeroed: the padding between messages is clean */
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	if (nfds) {
		struct cmsghdr h = { .cmsg_len = CMSG_LEN(nfds * sizeof(int)), .cmsg_level = SOL_SOCKET,
		                     .cmsg_type = SCM_RIGHTS };

		memcpy(out, &h, sizeof(h));
		memcpy(out + CMSG_LEN(0), fds, nfds * sizeof(int));
		off = CMSG_SPACE(nfds * sizeof(int));
	}
	for (size_t i = 0; i < n; i++) {
		struct cmsghdr h = { .cmsg_len = CMSG_LEN(ents[i].len), .cmsg_level = ents[i].level,
		                     .cmsg_type = ents[i].type };

		memcpy(out + off, &h, sizeof(h));
		if (ents[i].len)
			memcpy(out + off + CMSG_LEN(0), ents[i].data, ents[i].len);
		off += CMSG_SPACE(ents[i].len);
	}
	*buf = TAKE_PTR(out);
	*len = total;
out:
	if (r == -E2BIG)
		fail(err, "ancillary data beyond %d bytes is refused", ANCDATA_MAX_LEN);
	for (size_t i = 0; i < done; i++)
		free(ents[i].data);
	return r;
}

/* Closes the descriptors in a control message's data (an unaligned int array). */
static void close_cmsg_fds(const unsigned char *data, size_t dlen)
{
	for (size_t i = 0; i + sizeof(int) <= dlen; i += sizeof(int)) {
		int fd;

		memcpy(&fd, data + i, sizeof(fd));
		safe_close(fd);
	}
}

/* Appends the descriptors in data to *fds; on ENOMEM closes them. */
static int append_fds(const unsigned char *data, size_t dlen, int **fds, size_t *nfds)
{
	size_t k = dlen / sizeof(int);
	int *grown;

	if (k == 0)
		return 0;
	grown = realloc(*fds, (*nfds + k) * sizeof(int));
	if (!grown) {
		close_cmsg_fds(data, dlen);
		return -ENOMEM;
	}
	*fds = grown;
	memcpy(*fds + *nfds, data, k * sizeof(int));
	*nfds += k;
	return 0;
}

json_object *ancdata_decode(const struct msghdr *mh, int **fds, size_t *nfds)
{
	const unsigned char *ctl = mh->msg_control;
	size_t clen = ctl ? mh->msg_controllen : 0, off = 0, first = *nfds;
	json_object *arr = json_object_new_array();
	bool failed = !arr;

	/* Walked by hand rather than with CMSG_NXTHDR: after MSG_CTRUNC the last
	 * header's cmsg_len may be all that fit, and CMSG_FIRSTHDR does not check
	 * it. Every read stays inside [ctl, ctl + clen); headers are copied out
	 * because the buffer need not be aligned. */
	while (clen - off >= sizeof(struct cmsghdr)) {
		struct cmsghdr h;
		const unsigned char *data;
		size_t avail = clen - off, dlen;
		bool last;

		memcpy(&h, ctl + off, sizeof(h));
		if (h.cmsg_len < CMSG_LEN(0) || CMSG_LEN(0) > avail)
			break;
		last = h.cmsg_len >= avail;
		dlen = SB_MIN((size_t)h.cmsg_len, avail) - CMSG_LEN(0);
		data = ctl + off + CMSG_LEN(0);
		if (h.cmsg_level == SOL_SOCKET && (h.cmsg_type == SCM_RIGHTS || h.cmsg_type == SCM_PIDFD)) {
			size_t at = *nfds;

			if (failed) {
				close_cmsg_fds(data, dlen);
			} else if (append_fds(data, dlen, fds, nfds) < 0) {
				failed = true;
			} else if (h.cmsg_type == SCM_PIDFD && *nfds > at) {
				/* a pidfd is a descriptor the kernel installed in the daemon:
				 * it goes to the client like SCM_RIGHTS, named by its index */
				json_object *e = json_object_new_object();

				if (!e || put(e, "level", sbc_to_json(SBC_SOL, h.cmsg_level)) < 0 ||
				    put(e, "type", type_to_json(h.cmsg_level, h.cmsg_type)) < 0 ||
				    put(e, "fd", json_object_new_int64((int64_t)at)) < 0 ||
				    json_object_array_add(arr, e) < 0) {
					json_object_put(e);
					failed = true;
				}
			}
		} else if (!failed) {
			json_object *e = json_object_new_object();
			char *s = b64_encode_alloc(data, dlen);

			if (!e || !s || put(e, "level", sbc_to_json(SBC_SOL, h.cmsg_level)) < 0 ||
			    put(e, "type", type_to_json(h.cmsg_level, h.cmsg_type)) < 0 ||
			    put(e, "data", json_object_new_string(s)) < 0 || json_object_array_add(arr, e) < 0) {
				json_object_put(e);
				failed = true;
			}
			free(s);
		}
		if (last || CMSG_ALIGN(h.cmsg_len) >= avail)
			break;
		off += CMSG_ALIGN(h.cmsg_len);
	}
	if (failed) {
		for (size_t i = first; i < *nfds; i++)
			safe_close((*fds)[i]);
		*nfds = first;
		json_object_put(arr);
		errno = ENOMEM;
		return NULL;
	}
	return arr;
}

int ancdata_encode(json_object *ancdata, const int *fds, size_t nfds, unsigned char **buf,
                   size_t *len, char *err, size_t errlen)
{
	struct decode_error e;
	int r;

	decode_error_clear(&e);
	r = anc_encode(ancdata, fds, nfds, buf, len, &e);
	if (r < 0 && e.msg[0] && err && errlen)
		snprintf(err, errlen, "%s", e.msg);
	return r;
}
