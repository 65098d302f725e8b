#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
/* Socket address codecs (protocol section 3): the object form and Python's
 * tuple form, written as JSON, to and from struct sockaddr.
 *
 * Each family is one entry of `codecs`: its members (with their place in the
 * tuple form), a decoder that reads the collected members and an encoder that
 * writes the object form. The shape checks common to every family (object or
 * array, unknown members, tuple length, missing members) happen once, in
 * collect(). Every error leaves a sentence in err->msg that starts with the
 * family ("AF_INET address: port must be an integer 0-65535, got 70000") and,
 * when one member is at fault, its path in err->path ("port", or "[1]" in the
 * tuple form). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <stdarg.h>
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
#include <linux/netlink.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>

#include "addr.h"
#include "base64.h"
#include "consts.h"
#include "decerr.h"
#include "util.h"

#define MAX_FIELDS 8
#define SHOWN_MAX 48          /* bytes of a client's value quoted in a message */

struct ctx {
	const char *fam;              /* "AF_INET": every message starts with it */
	const struct codec *cd;       /* NULL before the family's codec is known */
	bool tuple;                   /* the value is in the tuple form */
	const char *member;           /* the member the next fail() is about, if any */
	struct decode_error *err;
	char shown[SHOWN_MAX + 8];    /* the value describe() quoted last */
};

struct field {
	const char *name;
	int pos;                      /* place in the tuple form; -1 for object-only members */
	bool required;                /* in the object form (the tuple form checks its length) */
};

/* Members collected from either form, indexed like the codec's fields. */
struct vals {
	json_object *v[MAX_FIELDS];
	bool has[MAX_FIELDS];
	bool tuple;
};

struct codec {
	int family;
	const char *name;
	const struct field *fields;
	size_t nfields;
	size_t tuple_min, tuple_max;  /* tuple_max 0: no tuple (array) form */
	const char *tuple_form;       /* for messages: "[host, port]" */
	/* Field index of tuple element i of n, or -1 if n elements is no valid tuple. */
	int (*tuple_map)(size_t n, size_t i);
	int (*decode)(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host);
	json_object *(*encode)(const struct sockaddr_storage *ss, socklen_t len);
};

/* ------------------------------------------------------------ messages */

static int fail(struct ctx *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The path of member name in the value's form: "port", or "[1]" in a tuple. */
static void member_path(const struct ctx *c, const char *name, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!name || !c->cd)
		return;
	for (size_t i = 0; i < c->cd->nfields; i++) {
		const struct field *f = &c->cd->fields[i];

		if (strcmp(f->name, name) != 0)
			continue;
		if (!c->tuple)
			snprintf(buf, size, "%s", name);
		else if (f->pos >= 0 && !c->cd->tuple_map)
			snprintf(buf, size, "[%d]", f->pos);
		return;
	}
}

/* Fills err with "<family> address: <sentence>" and the path of c->member
 * (then forgotten), and returns r. */
static int fail(struct ctx *c, int r, const char *fmt, ...)
{
	char path[SHOWN_MAX + 8], msg[DECERR_MSG_MAX];
	va_list ap;

	member_path(c, c->member, path, sizeof(path));
	c->member = NULL;
	if (!c->err)
		return r;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return decode_fail(c->err, r, path, "%s address: %s", c->fam, msg);
}

/* Copies s[0..len) as printable ASCII (other bytes as \xHH), cut with "..." when long. */
static void ascii(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (o + 4 + 3 + 1 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch >= 0x20 && ch < 0x7f)
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	buf[o] = '\0';
}

/* A short printable rendering of a client's JSON value, for messages. */
static const char *describe(struct ctx *c, json_object *v)
{
	const char *s;

	if (json_object_is_type(v, json_type_string)) {
		c->shown[0] = '"';
		ascii(json_object_get_string(v), (size_t)json_object_get_string_len(v), c->shown + 1,
		      sizeof(c->shown) - 2);
		strcat(c->shown, "\"");
		return c->shown;
	}
	s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
	      : "null";
	ascii(s, strlen(s), c->shown, sizeof(c->shown));
	return c->shown;
}

/* ------------------------------------------------------------ reading members */

/* A JSON integer in [0, max]. */
static int get_uint(struct ctx *c, const char *what, json_object *v, uint64_t max, uint64_t *out)
{
	*out = 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t s = json_object_get_int64(v);

		if (s >= 0) {
			/* json-c reports INT64_MAX for larger integers, which it keeps as uint64. */
			uint64_t u = s == INT64_MAX ? json_object_get_uint64(v) : (uint64_t)s;

			if (u <= max) {
				*out = u;
				return 0;
			}
		}
	}
	c->member = what;
	return fail(c, -EINVAL, "%s must be an integer 0-%" PRIu64 ", got %s", what, max,
	            describe(c, v));
}

/* Like get_uint, for an optional member: def when absent. */
static int get_uint_opt(struct ctx *c, const struct vals *v, size_t i, const char *what,
                        uint64_t max, uint64_t def, uint64_t *out)
{
	if (!v->has[i]) {
		*out = def;
		return 0;
	}
	return get_uint(c, what, v->v[i], max, out);
}

/* A JSON string without NUL bytes. */
static int get_str(struct ctx *c, const char *what, json_object *v, const char **s, size_t *len)
{
	*s = "";
	*len = 0;
	c->member = what;
	if (!json_object_is_type(v, json_type_string))
		return fail(c, -EINVAL, "%s must be a string, got %s", what, describe(c, v));
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (memchr(*s, '\0', *len))
		return fail(c, -EINVAL, "%s must not contain a NUL byte, got %s", what, describe(c, v));
	c->member = NULL;
	return 0;
}

/* Base64 (a JSON string) into buf; at most max bytes. tl is the error for too long. */
static int get_b64(struct ctx *c, const char *what, json_object *v, void *buf, size_t max,
                   int tl, size_t *len)
{
	ssize_t n;

	*len = 0;
	c->member = what;
	if (!json_object_is_type(v, json_type_string))
		return fail(c, -EINVAL, "%s must be a base64 string, got %s", what, describe(c, v));
	n = b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), buf, max);
	if (n == -ENOBUFS)
		return fail(c, tl, "%s holds more than %zu bytes", what, max);
	if (n < 0)
		return fail(c, -EINVAL, "%s is not valid base64 (RFC 4648, with padding), got %s", what,
		            describe(c, v));
	*len = (size_t)n;
	c->member = NULL;
	return 0;
}

/* Interface name -> index: "" is 0 (any interface), as Python does for AF_CAN. */
static int ifname_index(struct ctx *c, json_object *v, int *index)
{
	const char *s;
	size_t len;
	unsigned idx;
	int r;

	*index = 0;
	r = get_str(c, "ifname", v, &s, &len);
	if (r < 0)
		return r;
	if (len == 0) {
		*index = 0;
		return 0;
	}
	c->member = "ifname";
	if (len >= IF_NAMESIZE)
		return fail(c, -EINVAL, "ifname must be shorter than %d bytes, got %s", IF_NAMESIZE,
		            describe(c, v));
	idx = if_nametoindex(s);
	c->member = "ifname";
	if (idx == 0 || idx > INT_MAX)
		return fail(c, -ENODEV, "no network interface is named %s", describe(c, v));
	*index = (int)idx;
	c->member = NULL;
	return 0;
}

/* The interface of PACKET and CAN addresses: "ifname", or the "ifindex" extension. */
static int get_ifindex(struct ctx *c, const struct vals *v, size_t name_i, size_t index_i, int *index)
{
	uint64_t u;
	int r;

	*index = 0;
	if (v->has[name_i] && v->has[index_i])
		return fail(c, -EINVAL, "give ifname or ifindex, not both");
	if (v->has[name_i])
		return ifname_index(c, v->v[name_i], index);
	if (!v->has[index_i])
		return fail(c, -EINVAL, "member \"ifname\" (or \"ifindex\") is missing");
	r = get_uint(c, "ifindex", v->v[index_i], INT_MAX, &u);
	if (r < 0)
		return r;
	*index = (int)u;
	return 0;
}

/* A host that is not a numeric literal: handed back to be resolved, or refused. */
static int host_name(struct ctx *c, json_object *v, const char *s, size_t len, char **host)
{
	c->member = "host";
	if (len >= NI_MAXHOST)
		return fail(c, -EINVAL, "host name is longer than %d bytes", NI_MAXHOST - 1);
	if (!host)
		return fail(c, -EINVAL, "host names are not resolved here; give a numeric address, got %s",
		            describe(c, v));
	*host = strdup(s);
	if (!*host)
		return fail(c, -ENOMEM, "out of memory");
	c->member = NULL;
	return SBADDR_NEEDS_RESOLVE;
}

/* ------------------------------------------------------------ building objects */

/* Adds v (which may be NULL after a failed allocation) to o; false on failure. */
static bool put(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return false;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* Adds an unsigned number. */
static bool put_u(json_object *o, const char *key, uint64_t u)
{
	return put(o, key, u <= INT64_MAX ? json_object_new_int64((int64_t)u) : json_object_new_uint64(u));
}

/* Adds a string of len bytes (which may hold NULs). */
static bool put_str(json_object *o, const char *key, const char *s, size_t len)
{
	return put(o, key, json_object_new_string_len(s, (int)len));
}

/* Adds base64 of data; anything a sockaddr_storage holds fits the buffer. */
static bool put_b64(json_object *o, const char *key, const void *data, size_t len)
{
	char buf[4 * (sizeof(struct sockaddr_storage) + 2) / 3 + 4];

	if (b64_encoded_len(len) >= sizeof(buf))
		return false;
	return put_str(o, key, buf, b64_encode(data, len, buf));
}

/* Strict UTF-8: no overlong forms, surrogates or code points above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char ch = s[i];
		size_t k;
		uint32_t cp, min;

		if (ch < 0x80) {
			i++;
			continue;
		} else if ((ch & 0xe0) == 0xc0) {
			k = 1, cp = ch & 0x1f, min = 0x80;
		} else if ((ch & 0xf0) == 0xe0) {
			k = 2, cp = ch & 0x0f, min = 0x800;
		} else if ((ch & 0xf8) == 0xf0) {
			k = 3, cp = ch & 0x07, min = 0x10000;
		} else
			return false;
		if (n - i <= k)
			return false;
		for (size_t m = 1; m <= k; m++) {
			if ((s[i + m] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + m] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* Any address this file has no codec for: {"family", "data": base64 of the bytes after sa_family}. */
static json_object *encode_generic(const struct sockaddr *sa, socklen_t len)
{
	json_object *o = json_object_new_object();
	int family = len >= sizeof(sa_family_t) ? sa->sa_family : AF_UNSPEC;
	size_t n = len > sizeof(sa_family_t) ? len - sizeof(sa_family_t) : 0;

	if (n > sizeof(struct sockaddr_storage) - sizeof(sa_family_t))
		n = sizeof(struct sockaddr_storage) - sizeof(sa_family_t);
	if (!o || !put(o, "family", sbc_to_json(SBC_AF, family)) ||
	    !put_b64(o, "data", (const char *)sa + sizeof(sa_family_t), n)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* "ifname" for a named interface ("" for index 0), else the "ifindex" extension. */
static bool put_ifindex(json_object *o, int index)
{
	char name[IF_NAMESIZE];

	if (index == 0)
		return put_str(o, "ifname", "", 0);
	if (index > 0 && if_indextoname((unsigned)index, name))
		return put(o, "ifname", json_object_new_string(name));
	return put(o, "ifindex", json_object_new_int64(index));
}

/* ------------------------------------------------------------ AF_UNIX */

enum { UN_PATH, UN_ABSTRACT, UN_ABSTRACT_DATA, UN_PATH_DATA };
static const struct field unix_fields[] = {
	[UN_PATH] = { "path", -1, false },
	[UN_ABSTRACT] = { "abstract", -1, false },
	[UN_ABSTRACT_DATA] = { "abstract_data", -1, false },
	[UN_PATH_DATA] = { "path_data", -1, false },
};

#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/* A filesystem path: length offsetof(sun_path) + strlen + 1; "" is the unnamed address. */
static int unix_path(struct ctx *c, const char *p, size_t len, struct sbaddr *out)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;

	if (memchr(p, '\0', len))
		return fail(c, -EINVAL, "path must not contain a NUL byte (use \"abstract\" for the abstract namespace)");
	if (len >= SUN_PATH_MAX)
		return fail(c, -ENAMETOOLONG, "path is %zu bytes; a socket path holds at most %zu", len,
		            SUN_PATH_MAX - 1);
	memcpy(sun->sun_path, p, len);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (len ? len + 1 : 0));
	return 0;
}

/* An abstract name: a NUL, then the name's bytes; length offsetof(sun_path) + 1 + namelen. */
static int unix_abstract(struct ctx *c, const char *name, size_t len, struct sbaddr *out)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;

	if (len > SUN_PATH_MAX - 1)
		return fail(c, -ENAMETOOLONG, "abstract name is %zu bytes; it holds at most %zu", len,
		            SUN_PATH_MAX - 1);
	sun->sun_path[0] = '\0';
	memcpy(sun->sun_path + 1, name, len);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
	return 0;
}

/* The object form: exactly one of path, abstract, abstract_data, path_data. */
static int decode_unix(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	char buf[SUN_PATH_MAX];
	size_t n = 0, len;
	int which = -1, r;

	for (size_t i = 0; i < ARRAY_SIZE(unix_fields); i++) {
		if (v->has[i]) {
			n++;
			which = (int)i;
		}
	}
	if (n != 1)
		return fail(c, -EINVAL, "give exactly one of \"path\", \"abstract\", \"abstract_data\", \"path_data\"");
	json_object *j = v->v[which];
	switch (which) {
	case UN_PATH:
	case UN_ABSTRACT:
		c->member = unix_fields[which].name;   /* for the checks of unix_path/unix_abstract too */
		if (!json_object_is_type(j, json_type_string))
			return fail(c, -EINVAL, "%s must be a string, got %s", unix_fields[which].name,
			            describe(c, j));
		if (which == UN_PATH)
			return unix_path(c, json_object_get_string(j), (size_t)json_object_get_string_len(j), out);
		return unix_abstract(c, json_object_get_string(j), (size_t)json_object_get_string_len(j), out);
	case UN_PATH_DATA:
		r = get_b64(c, "path_data", j, buf, sizeof(buf) - 1, -ENAMETOOLONG, &len);
		c->member = "path_data";
		return r < 0 ? r : unix_path(c, buf, len, out);
	default:
		r = get_b64(c, "abstract_data", j, buf, sizeof(buf) - 1, -ENAMETOOLONG, &len);
		c->member = "abstract_data";
		return r < 0 ? r : unix_abstract(c, buf, len, out);
	}
}

/* Python's tuple form: a str; one that starts with NUL is an abstract name. */
static int decode_unix_string(struct ctx *c, json_object *j, struct sbaddr *out)
{
	const char *s = json_object_get_string(j);
	size_t len = (size_t)json_object_get_string_len(j);

	if (len > 0 && s[0] == '\0')
		return unix_abstract(c, s + 1, len - 1, out);
	return unix_path(c, s, len, out);
}

/* path (path_data when not UTF-8), abstract (abstract_data when not UTF-8 or holding a NUL), or "" when unnamed. */
static json_object *encode_unix(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	json_object *o = json_object_new_object();
	size_t n = len > off ? SB_MIN(len - off, SUN_PATH_MAX) : 0;
	bool ok;

	if (!o)
		return NULL;
	if (n == 0) {
		ok = put_str(o, "path", "", 0);            /* unnamed: Python's '' */
	} else if (sun->sun_path[0] != '\0') {
		size_t plen = strnlen(sun->sun_path, n);

		if (utf8_valid((const unsigned char *)sun->sun_path, plen))
			ok = put_str(o, "path", sun->sun_path, plen);
		else
			ok = put_b64(o, "path_data", sun->sun_path, plen);
	} else {
		const char *name = sun->sun_path + 1;

		if (!memchr(name, '\0', n - 1) && utf8_valid((const unsigned char *)name, n - 1))
			ok = put_str(o, "abstract", name, n - 1);
		else
			ok = put_b64(o, "abstract_data", name, n - 1);
	}
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_INET */

enum { IN_HOST, IN_PORT, IN6_FLOWINFO, IN6_SCOPE_ID };
static const struct field inet_fields[] = {
	[IN_HOST] = { "host", 0, true },
	[IN_PORT] = { "port", 1, true },
};

/* host ("" any, "<broadcast>", a dotted quad, else a name) and port. */
static int decode_inet(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	const char *h;
	size_t hlen;
	uint64_t port;
	int r;

	if ((r = get_str(c, "host", v->v[IN_HOST], &h, &hlen)) < 0 ||
	    (r = get_uint(c, "port", v->v[IN_PORT], 65535, &port)) < 0)
		return r;
	sin->sin_port = htons((uint16_t)port);
	out->len = sizeof(*sin);
	if (hlen == 0)
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(h, "<broadcast>") == 0)
		sin->sin_addr.s_addr = htonl(INADDR_BROADCAST);
	else if (inet_pton(AF_INET, h, &sin->sin_addr) != 1)
		return host_name(c, v->v[IN_HOST], h, hlen, host);
	return 0;
}

/* {"host": dotted quad, "port"}. */
static json_object *encode_inet(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char h[INET_ADDRSTRLEN];
	json_object *o = json_object_new_object();

	if (!o || !inet_ntop(AF_INET, &sin->sin_addr, h, sizeof(h)) ||
	    !put(o, "host", json_object_new_string(h)) || !put_u(o, "port", ntohs(sin->sin_port))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_INET6 */

static const struct field inet6_fields[] = {
	[IN_HOST] = { "host", 0, true },
	[IN_PORT] = { "port", 1, true },
	[IN6_FLOWINFO] = { "flowinfo", 2, false },
	[IN6_SCOPE_ID] = { "scope_id", 3, false },
};

/* "fe80::1%eth0" or "fe80::1%2": 1 with *scope set, 0 if h is no literal with a zone. */
static int inet6_zone(struct ctx *c, json_object *hv, const char *h, struct in6_addr *a, uint32_t *scope)
{
	const char *pct = strchr(h, '%'), *zone;
	char lit[INET6_ADDRSTRLEN + 1];
	size_t zlen;

	if (!pct || (size_t)(pct - h) >= sizeof(lit))
		return 0;
	memcpy(lit, h, (size_t)(pct - h));
	lit[pct - h] = '\0';
	if (inet_pton(AF_INET6, lit, a) != 1)
		return 0;
	zone = pct + 1;
	zlen = strlen(zone);
	if (zlen == 0)
		return fail(c, -EINVAL, "host has an empty zone after '%%', got %s", describe(c, hv));
	if (strspn(zone, "0123456789") == zlen) {
		char *end;
		unsigned long long u;

		errno = 0;
		u = strtoull(zone, &end, 10);
		if (errno || u > UINT32_MAX)
			return fail(c, -EINVAL, "host's zone index is out of range 0-4294967295, got %s",
			            describe(c, hv));
		*scope = (uint32_t)u;
		return 1;
	}
	*scope = zlen < IF_NAMESIZE ? if_nametoindex(zone) : 0;
	if (*scope == 0)
		return fail(c, -ENODEV, "no network interface is named after the '%%' in host %s",
		            describe(c, hv));
	return 1;
}

/* host ("" any, a literal with an optional %zone, else a name), port, flowinfo, scope_id. */
static int decode_inet6(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	const char *h;
	size_t hlen;
	uint64_t port, flow, scope;
	uint32_t zscope = 0;
	int r;

	if ((r = get_str(c, "host", v->v[IN_HOST], &h, &hlen)) < 0 ||
	    (r = get_uint(c, "port", v->v[IN_PORT], 65535, &port)) < 0 ||
	    (r = get_uint_opt(c, v, IN6_FLOWINFO, "flowinfo", 0xfffff, 0, &flow)) < 0 ||
	    (r = get_uint_opt(c, v, IN6_SCOPE_ID, "scope_id", UINT32_MAX, 0, &scope)) < 0)
		return r;
	sin6->sin6_port = htons((uint16_t)port);
	sin6->sin6_flowinfo = htonl((uint32_t)flow);
	sin6->sin6_scope_id = (uint32_t)scope;
	out->len = sizeof(*sin6);
	if (hlen == 0) {
		sin6->sin6_addr = in6addr_any;
		return 0;
	}
	if (strcmp(h, "<broadcast>") == 0)
		return fail(c, -EINVAL, "\"<broadcast>\" is an AF_INET address");
	if (inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1)
		return 0;
	r = inet6_zone(c, v->v[IN_HOST], h, &sin6->sin6_addr, &zscope);
	if (r < 0)
		return r;
	if (r == 0)
		return host_name(c, v->v[IN_HOST], h, hlen, host);
	if (scope != 0 && scope != zscope)
		return fail(c, -EINVAL, "scope_id %" PRIu64 " contradicts the zone of host %s (index %" PRIu32 ")",
		            scope, describe(c, v->v[IN_HOST]), zscope);
	sin6->sin6_scope_id = zscope;
	return 0;
}

/* The host is always the plain literal; the zone is in scope_id. */
static json_object *encode_inet6(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char h[INET6_ADDRSTRLEN];
	json_object *o = json_object_new_object();

	if (!o || !inet_ntop(AF_INET6, &sin6->sin6_addr, h, sizeof(h)) ||
	    !put(o, "host", json_object_new_string(h)) || !put_u(o, "port", ntohs(sin6->sin6_port)) ||
	    !put_u(o, "flowinfo", ntohl(sin6->sin6_flowinfo)) || !put_u(o, "scope_id", sin6->sin6_scope_id)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_NETLINK */

enum { NL_PID, NL_GROUPS };
static const struct field netlink_fields[] = {
	[NL_PID] = { "pid", 0, true },
	[NL_GROUPS] = { "groups", 1, true },
};

/* pid and groups, both 32-bit. */
static int decode_netlink(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_nl *nl = (struct sockaddr_nl *)&out->ss;
	uint64_t pid, groups;
	int r;

	if ((r = get_uint(c, "pid", v->v[NL_PID], UINT32_MAX, &pid)) < 0 ||
	    (r = get_uint(c, "groups", v->v[NL_GROUPS], UINT32_MAX, &groups)) < 0)
		return r;
	nl->nl_pid = (uint32_t)pid;
	nl->nl_groups = (uint32_t)groups;
	out->len = sizeof(*nl);
	return 0;
}

/* {"pid", "groups"}. */
static json_object *encode_netlink(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_nl *nl = (const struct sockaddr_nl *)ss;
	json_object *o = json_object_new_object();

	if (!o || !put_u(o, "pid", nl->nl_pid) || !put_u(o, "groups", nl->nl_groups)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_PACKET */

enum { LL_IFNAME, LL_PROTO, LL_PKTTYPE, LL_HATYPE, LL_ADDR, LL_IFINDEX };
static const struct field packet_fields[] = {
	[LL_IFNAME] = { "ifname", 0, false },     /* or "ifindex": checked by get_ifindex */
	[LL_PROTO] = { "proto", 1, true },
	[LL_PKTTYPE] = { "pkttype", 2, false },
	[LL_HATYPE] = { "hatype", 3, false },
	[LL_ADDR] = { "addr", 4, false },
	[LL_IFINDEX] = { "ifindex", -1, false },
};

#define SLL_ADDR_MAX (sizeof(((struct sockaddr_ll *)0)->sll_addr))

/* ifname or ifindex, proto (host order), pkttype, hatype, addr (up to 8 bytes). */
static int decode_packet(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_ll *ll = (struct sockaddr_ll *)&out->ss;
	uint64_t proto, pkttype, hatype;
	size_t halen = 0;
	int index, r;

	if ((r = get_ifindex(c, v, LL_IFNAME, LL_IFINDEX, &index)) < 0 ||
	    (r = get_uint(c, "proto", v->v[LL_PROTO], 65535, &proto)) < 0 ||
	    (r = get_uint_opt(c, v, LL_PKTTYPE, "pkttype", UINT8_MAX, 0, &pkttype)) < 0 ||
	    (r = get_uint_opt(c, v, LL_HATYPE, "hatype", UINT16_MAX, 0, &hatype)) < 0)
		return r;
	if (v->has[LL_ADDR] &&
	    (r = get_b64(c, "addr", v->v[LL_ADDR], ll->sll_addr, SLL_ADDR_MAX, -EINVAL, &halen)) < 0)
		return r;
	ll->sll_protocol = htons((uint16_t)proto);   /* network order, as socket(AF_PACKET) wants */
	ll->sll_ifindex = index;
	ll->sll_hatype = (unsigned short)hatype;     /* host order, as the kernel reports it */
	ll->sll_pkttype = (unsigned char)pkttype;
	ll->sll_halen = (unsigned char)halen;
	out->len = sizeof(*ll);
	return 0;
}

/* {"ifname" or "ifindex", "proto" (host order), "pkttype", "hatype", "addr"}. */
static json_object *encode_packet(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_ll *ll = (const struct sockaddr_ll *)ss;
	json_object *o = json_object_new_object();

	if (!o || !put_ifindex(o, ll->sll_ifindex) || !put_u(o, "proto", ntohs(ll->sll_protocol)) ||
	    !put_u(o, "pkttype", ll->sll_pkttype) || !put_u(o, "hatype", ll->sll_hatype) ||
	    !put_b64(o, "addr", ll->sll_addr, SB_MIN(ll->sll_halen, SLL_ADDR_MAX))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_CAN */

enum { CAN_F_IFNAME, CAN_F_RX, CAN_F_TX, CAN_F_NAME, CAN_F_PGN, CAN_F_ADDR, CAN_F_IFINDEX };
static const struct field can_fields[] = {
	[CAN_F_IFNAME] = { "ifname", 0, false },  /* or "ifindex" */
	[CAN_F_RX] = { "rx_addr", -1, false },    /* ISO-TP: [ifname, rx_addr, tx_addr] */
	[CAN_F_TX] = { "tx_addr", -1, false },
	[CAN_F_NAME] = { "name", -1, false },     /* J1939: [ifname, name, pgn, addr] */
	[CAN_F_PGN] = { "pgn", -1, false },
	[CAN_F_ADDR] = { "addr", -1, false },
	[CAN_F_IFINDEX] = { "ifindex", -1, false },
};

/* The tuple is (ifname,), (ifname, rx_addr, tx_addr) or (ifname, name, pgn, addr). */
static int can_tuple_map(size_t n, size_t i)
{
	static const int isotp[] = { CAN_F_IFNAME, CAN_F_RX, CAN_F_TX };
	static const int j1939[] = { CAN_F_IFNAME, CAN_F_NAME, CAN_F_PGN, CAN_F_ADDR };

	switch (n) {
	case 1:
		return CAN_F_IFNAME;
	case 3:
		return isotp[i];
	case 4:
		return j1939[i];
	default:
		return -1;
	}
}

/* ifname or ifindex, plus the ISO-TP or the J1939 members. */
static int decode_can(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_can *can = (struct sockaddr_can *)&out->ss;
	bool tp = v->has[CAN_F_RX] || v->has[CAN_F_TX];
	bool j1939 = v->has[CAN_F_NAME] || v->has[CAN_F_PGN] || v->has[CAN_F_ADDR];
	uint64_t a, b, d;
	int index, r;

	if (tp && j1939)
		return fail(c, -EINVAL, "rx_addr/tx_addr (ISO-TP) and name/pgn/addr (J1939) do not mix");
	if ((r = get_ifindex(c, v, CAN_F_IFNAME, CAN_F_IFINDEX, &index)) < 0)
		return r;
	can->can_ifindex = index;
	if (tp) {
		if ((r = get_uint_opt(c, v, CAN_F_RX, "rx_addr", UINT32_MAX, 0, &a)) < 0 ||
		    (r = get_uint_opt(c, v, CAN_F_TX, "tx_addr", UINT32_MAX, 0, &b)) < 0)
			return r;
		can->can_addr.tp.rx_id = (canid_t)a;
		can->can_addr.tp.tx_id = (canid_t)b;
	} else if (j1939) {
		if ((r = get_uint_opt(c, v, CAN_F_NAME, "name", UINT64_MAX, 0, &a)) < 0 ||
		    (r = get_uint_opt(c, v, CAN_F_PGN, "pgn", UINT32_MAX, 0, &b)) < 0 ||
		    (r = get_uint_opt(c, v, CAN_F_ADDR, "addr", UINT8_MAX, 0, &d)) < 0)
			return r;
		can->can_addr.j1939.name = a;
		can->can_addr.j1939.pgn = (uint32_t)b;
		can->can_addr.j1939.addr = (uint8_t)d;
	}
	out->len = sizeof(*can);
	return 0;
}

/* ISO-TP ids when set; J1939 shares those bytes and is not told apart (see docs). */
static json_object *encode_can(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_can *can = (const struct sockaddr_can *)ss;
	json_object *o = json_object_new_object();

	if (!o || !put_ifindex(o, can->can_ifindex) ||
	    (can->can_addr.tp.rx_id && !put_u(o, "rx_addr", can->can_addr.tp.rx_id)) ||
	    (can->can_addr.tp.tx_id && !put_u(o, "tx_addr", can->can_addr.tp.tx_id))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_VSOCK */

enum { VM_CID, VM_PORT, VM_FLAGS };
static const struct field vsock_fields[] = {
	[VM_CID] = { "cid", 0, true },
	[VM_PORT] = { "port", 1, true },
#ifdef VMADDR_FLAG_TO_HOST
	[VM_FLAGS] = { "flags", -1, false },      /* svm_flags, an extension */
#endif
};

/* cid and port, both 32-bit, and the "flags" extension. */
static int decode_vsock(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_vm *vm = (struct sockaddr_vm *)&out->ss;
	uint64_t cid, port;
	int r;

	if ((r = get_uint(c, "cid", v->v[VM_CID], UINT32_MAX, &cid)) < 0 ||
	    (r = get_uint(c, "port", v->v[VM_PORT], UINT32_MAX, &port)) < 0)
		return r;
#ifdef VMADDR_FLAG_TO_HOST
	uint64_t flags;

	if ((r = get_uint_opt(c, v, VM_FLAGS, "flags", UINT8_MAX, 0, &flags)) < 0)
		return r;
	vm->svm_flags = (uint8_t)flags;
#endif
	vm->svm_cid = (unsigned)cid;
	vm->svm_port = (unsigned)port;
	out->len = sizeof(*vm);
	return 0;
}

/* {"cid", "port"}, "flags" when set. */
static json_object *encode_vsock(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_vm *vm = (const struct sockaddr_vm *)ss;
	json_object *o = json_object_new_object();

	if (!o || !put_u(o, "cid", vm->svm_cid) || !put_u(o, "port", vm->svm_port)
#ifdef VMADDR_FLAG_TO_HOST
	    || (vm->svm_flags && !put_u(o, "flags", vm->svm_flags))
#endif
	   ) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_ALG */

enum { ALG_TYPE, ALG_NAME, ALG_FEAT, ALG_MASK };
static const struct field alg_fields[] = {
	[ALG_TYPE] = { "type", 0, true },
	[ALG_NAME] = { "name", 1, true },
	[ALG_FEAT] = { "feat", 2, false },
	[ALG_MASK] = { "mask", 3, false },
};

#define ALG_TYPE_MAX (sizeof(((struct sockaddr_alg *)0)->salg_type) - 1)
#define ALG_NAME_MAX (sizeof(((struct sockaddr_alg *)0)->salg_name) - 1)

/* type and name (NUL-terminated within salg_type and salg_name), feat, mask. */
static int decode_alg(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_alg *alg = (struct sockaddr_alg *)&out->ss;
	const char *type, *name;
	size_t tlen, nlen;
	uint64_t feat, mask;
	int r;

	if ((r = get_str(c, "type", v->v[ALG_TYPE], &type, &tlen)) < 0 ||
	    (r = get_str(c, "name", v->v[ALG_NAME], &name, &nlen)) < 0 ||
	    (r = get_uint_opt(c, v, ALG_FEAT, "feat", UINT32_MAX, 0, &feat)) < 0 ||
	    (r = get_uint_opt(c, v, ALG_MASK, "mask", UINT32_MAX, 0, &mask)) < 0)
		return r;
	if (tlen > ALG_TYPE_MAX)
		return fail(c, -EINVAL, "type is %zu bytes; it holds at most %zu", tlen, ALG_TYPE_MAX);
	if (nlen > ALG_NAME_MAX)
		return fail(c, -EINVAL, "name is %zu bytes; it holds at most %zu", nlen, ALG_NAME_MAX);
	memcpy(alg->salg_type, type, tlen);
	memcpy(alg->salg_name, name, nlen);
	alg->salg_feat = (uint32_t)feat;
	alg->salg_mask = (uint32_t)mask;
	out->len = sizeof(*alg);
	return 0;
}

/* {"type", "name", "feat", "mask"}, or the generic form for bytes that are not UTF-8. */
static json_object *encode_alg(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_alg *alg = (const struct sockaddr_alg *)ss;
	const char *type = (const char *)alg->salg_type, *name = (const char *)alg->salg_name;
	size_t tlen = strnlen(type, sizeof(alg->salg_type));
	size_t nlen = strnlen(name, sizeof(alg->salg_name));
	json_object *o;

	if (!utf8_valid(alg->salg_type, tlen) || !utf8_valid(alg->salg_name, nlen))
		return encode_generic((const struct sockaddr *)ss, len);
	o = json_object_new_object();
	if (!o || !put_str(o, "type", type, tlen) || !put_str(o, "name", name, nlen) ||
	    !put_u(o, "feat", alg->salg_feat) || !put_u(o, "mask", alg->salg_mask)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ AF_TIPC */

enum { TIPC_F_TYPE, TIPC_F_V1, TIPC_F_V2, TIPC_F_V3, TIPC_F_SCOPE };
static const struct field tipc_fields[] = {
	[TIPC_F_TYPE] = { "addr_type", 0, true },
	[TIPC_F_V1] = { "v1", 1, true },
	[TIPC_F_V2] = { "v2", 2, true },
	[TIPC_F_V3] = { "v3", 3, true },
	[TIPC_F_SCOPE] = { "scope", 4, false },
};

/* Whether a SBC_TIPC name is a scope (TIPC_*_SCOPE) rather than an address type. */
static bool is_scope_name(const char *name)
{
	size_t n = strlen(name);

	return n > 6 && strcmp(name + n - 6, "_SCOPE") == 0;
}

/* The SBC_TIPC table holds address types and scopes, whose numbers overlap:
 * the first name of the wanted sort for value, or NULL. */
static const char *tipc_name(long value, bool scope)
{
	size_t n;
	const struct sbc_entry *t = sbc_table(SBC_TIPC, &n);

	for (size_t i = 0; i < n; i++)
		if (t[i].value == value && is_scope_name(t[i].name) == scope)
			return t[i].name;
	return NULL;
}

/* addr_type or scope: a name of the right sort, or an integer. */
static int tipc_value(struct ctx *c, const char *what, json_object *j, bool scope, uint64_t max,
                      uint64_t *out)
{
	long v;

	*out = 0;
	if (!json_object_is_type(j, json_type_string))
		return get_uint(c, what, j, max, out);
	if (sbc_value(SBC_TIPC, json_object_get_string(j), &v) < 0 ||
	    is_scope_name(json_object_get_string(j)) != scope)
		return fail(c, -EINVAL, "%s %s is not a %s name", what, describe(c, j),
		            scope ? "TIPC scope (TIPC_*_SCOPE)" : "TIPC address type (TIPC_ADDR_*)");
	*out = (uint64_t)v;
	return 0;
}

/* v1/v2/v3 as Python maps them: NAMESEQ type/lower/upper, NAME type/instance/domain,
 * ID node/ref (v3 unused). */
static int decode_tipc(struct ctx *c, const struct vals *v, struct sbaddr *out, char **host)
{
	struct sockaddr_tipc *t = (struct sockaddr_tipc *)&out->ss;
	uint64_t type, v1, v2, v3, scope;
	int r;

	if ((r = tipc_value(c, "addr_type", v->v[TIPC_F_TYPE], false, UINT8_MAX, &type)) < 0 ||
	    (r = get_uint(c, "v1", v->v[TIPC_F_V1], UINT32_MAX, &v1)) < 0 ||
	    (r = get_uint(c, "v2", v->v[TIPC_F_V2], UINT32_MAX, &v2)) < 0 ||
	    (r = get_uint(c, "v3", v->v[TIPC_F_V3], UINT32_MAX, &v3)) < 0)
		return r;
	if (!v->has[TIPC_F_SCOPE])
		scope = TIPC_CLUSTER_SCOPE;
	else if ((r = tipc_value(c, "scope", v->v[TIPC_F_SCOPE], true, UINT8_MAX, &scope)) < 0)
		return r;
	switch (type) {
	case TIPC_ADDR_NAMESEQ:
		t->addr.nameseq.type = (uint32_t)v1;
		t->addr.nameseq.lower = (uint32_t)v2;
		t->addr.nameseq.upper = (uint32_t)v3;
		break;
	case TIPC_ADDR_NAME:
		t->addr.name.name.type = (uint32_t)v1;
		t->addr.name.name.instance = (uint32_t)v2;
		t->addr.name.domain = (uint32_t)v3;
		break;
	case TIPC_ADDR_ID:
		t->addr.id.node = (uint32_t)v1;
		t->addr.id.ref = (uint32_t)v2;
		break;
	default:
		return fail(c, -EINVAL, "addr_type must be TIPC_ADDR_NAMESEQ (%d), TIPC_ADDR_NAME (%d) or TIPC_ADDR_ID (%d), got %" PRIu64,
		            TIPC_ADDR_NAMESEQ, TIPC_ADDR_NAME, TIPC_ADDR_ID, type);
	}
	t->family = AF_TIPC;
	t->addrtype = (unsigned char)type;
	t->scope = (signed char)(unsigned char)scope;
	out->len = sizeof(*t);
	return 0;
}

/* The same v1/v2/v3 mapping as decode_tipc, types and scopes by name where known. */
static json_object *encode_tipc(const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_tipc *t = (const struct sockaddr_tipc *)ss;
	unsigned scope = (unsigned char)t->scope;
	const char *type_name = tipc_name(t->addrtype, false), *scope_name = tipc_name(scope, true);
	uint32_t v1, v2, v3;
	json_object *o;

	switch (t->addrtype) {
	case TIPC_ADDR_NAMESEQ:
		v1 = t->addr.nameseq.type, v2 = t->addr.nameseq.lower, v3 = t->addr.nameseq.upper;
		break;
	case TIPC_ADDR_NAME:
		v1 = t->addr.name.name.type, v2 = t->addr.name.name.instance, v3 = t->addr.name.domain;
		break;
	case TIPC_ADDR_ID:
		v1 = t->addr.id.node, v2 = t->addr.id.ref, v3 = 0;
		break;
	default:
		return encode_generic((const struct sockaddr *)ss, len);
	}
	o = json_object_new_object();
	if (!o || !put(o, "addr_type", type_name ? json_object_new_string(type_name)
	                                         : json_object_new_int(t->addrtype)) ||
	    !put_u(o, "v1", v1) || !put_u(o, "v2", v2) || !put_u(o, "v3", v3) ||
	    !put(o, "scope", scope_name ? json_object_new_string(scope_name) : json_object_new_int((int)scope))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ the table */

/* The fields and their count; refuses to compile a table longer than struct vals holds. */
#define FIELDS(f) f, ARRAY_SIZE(f) + 0 * sizeof(char[ARRAY_SIZE(f) <= MAX_FIELDS ? 1 : -1])
static const struct codec codecs[] = {
	{ AF_UNIX, "AF_UNIX", FIELDS(unix_fields), 0, 0, "a string path", NULL, decode_unix, encode_unix },
	{ AF_INET, "AF_INET", FIELDS(inet_fields), 2, 2, "[host, port]", NULL, decode_inet, encode_inet },
	{ AF_INET6, "AF_INET6", FIELDS(inet6_fields), 2, 4, "[host, port, flowinfo?, scope_id?]", NULL,
	  decode_inet6, encode_inet6 },
	{ AF_NETLINK, "AF_NETLINK", FIELDS(netlink_fields), 2, 2, "[pid, groups]", NULL, decode_netlink,
	  encode_netlink },
	{ AF_PACKET, "AF_PACKET", FIELDS(packet_fields), 2, 5, "[ifname, proto, pkttype?, hatype?, addr?]",
	  NULL, decode_packet, encode_packet },
	{ AF_CAN, "AF_CAN", FIELDS(can_fields), 1, 4,
	  "[ifname], [ifname, rx_addr, tx_addr] or [ifname, name, pgn, addr]", can_tuple_map, decode_can,
	  encode_can },
	{ AF_VSOCK, "AF_VSOCK", FIELDS(vsock_fields), 2, 2, "[cid, port]", NULL, decode_vsock, encode_vsock },
	{ AF_ALG, "AF_ALG", FIELDS(alg_fields), 2, 4, "[type, name, feat?, mask?]", NULL, decode_alg,
	  encode_alg },
	{ AF_TIPC, "AF_TIPC", FIELDS(tipc_fields), 4, 5, "[addr_type, v1, v2, v3, scope?]", NULL,
	  decode_tipc, encode_tipc },
};
#undef FIELDS

/* The codec of a family, or NULL. */
static const struct codec *find_codec(int family)
{
	for (size_t i = 0; i < ARRAY_SIZE(codecs); i++)
		if (codecs[i].family == family)
			return &codecs[i];
	return NULL;
}

/* Gathers the members of either form into v, checking the shape every family shares. */
static int collect(const struct codec *cd, struct ctx *c, json_object *j, struct vals *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	if (json_object_is_type(j, json_type_object)) {
		json_object_object_foreach(j, key, val) {
			size_t i = 0;

			while (i < cd->nfields && strcmp(cd->fields[i].name, key) != 0)
				i++;
			if (i == cd->nfields) {
				char k[SHOWN_MAX + 8];

				ascii(key, strlen(key), k, sizeof(k));
				r = fail(c, -EINVAL, "unknown member \"%s\"", k);
				if (c->err)
					snprintf(c->err->path, sizeof(c->err->path), "%s", k);
				return r;
			}
			v->v[i] = val;
			v->has[i] = true;
		}
		for (size_t i = 0; i < cd->nfields; i++)
			if (cd->fields[i].required && !v->has[i] && (c->member = cd->fields[i].name))
				return fail(c, -EINVAL, "member \"%s\" is missing", cd->fields[i].name);
		return 0;
	}
	if (json_object_is_type(j, json_type_array) && cd->tuple_max > 0) {
		size_t n = json_object_array_length(j);

		if (n < cd->tuple_min || n > cd->tuple_max || (cd->tuple_map && cd->tuple_map(n, 0) < 0))
			return fail(c, -EINVAL, "the tuple form is %s, got %zu element%s", cd->tuple_form, n,
			            n == 1 ? "" : "s");
		for (size_t e = 0; e < n; e++) {
			size_t i = 0;

			if (cd->tuple_map)
				i = (size_t)cd->tuple_map(n, e);
			else
				while (cd->fields[i].pos != (int)e)
					i++;
			v->v[i] = json_object_array_get_idx(j, e);
			v->has[i] = true;
		}
		v->tuple = true;
		c->tuple = true;
		return 0;
	}
	return fail(c, -EINVAL, "expected an object or %s, got %s", cd->tuple_form, describe(c, j));
}

int sbaddr_decode(int family, json_object *j, struct sbaddr *out, char **host,
                  struct decode_error *err)
{
	struct ctx c = { .err = err };
	const struct codec *cd = find_codec(family);
	struct vals v;
	int r;

	if (host)
		*host = NULL;
	decode_error_clear(err);
	memset(out, 0, sizeof(*out));
	if (!cd) {
		const char *name = sbc_name(SBC_AF, family);
		char num[32];

		if (!name) {
			snprintf(num, sizeof(num), "family %d", family);
			name = num;
		}
		c.fam = name;
		return fail(&c, -EAFNOSUPPORT, "this family has no address codec (supported: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_CAN, AF_VSOCK, AF_ALG, AF_TIPC)");
	}
	c.fam = cd->name;
	c.cd = cd;
	out->ss.ss_family = (sa_family_t)family;
	if (family == AF_UNIX && json_object_is_type(j, json_type_string))
		r = decode_unix_string(&c, j, out);
	else if ((r = collect(cd, &c, j, &v)) == 0)
		r = cd->decode(&c, &v, out, host);
	if (r < 0) {
		/* No half-filled address and no name escapes a failure. */
		memset(out, 0, sizeof(*out));
		if (host) {
			free(*host);
			*host = NULL;
		}
	}
	return r;
}

json_object *sbaddr_encode(const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss;
	const struct codec *cd;

	if (!sa || len < sizeof(sa_family_t))
		return encode_generic((const struct sockaddr *)&(struct sockaddr_storage){ 0 }, 0);
	/* Short addresses read as zero-filled; the encoders never look past ss. */
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, SB_MIN((size_t)len, sizeof(ss)));
	len = (socklen_t)SB_MIN((size_t)len, sizeof(ss));
	cd = find_codec(ss.ss_family);
	if (!cd)
		return encode_generic((const struct sockaddr *)&ss, len);
	return cd->encode(&ss, len);
}

/* ------------------------------------------------------------ guessing */

/* The family of a host literal: INET, INET6 (with or without a %zone), else AF_UNSPEC. */
static int host_family(json_object *h, bool v6_only)
{
	struct in6_addr a6;
	struct in_addr a4;
	char lit[INET6_ADDRSTRLEN + 1];
	const char *s, *pct;

	if (!json_object_is_type(h, json_type_string))
		return AF_UNSPEC;
	s = json_object_get_string(h);
	if (!v6_only && (strcmp(s, "<broadcast>") == 0 || inet_pton(AF_INET, s, &a4) == 1))
		return AF_INET;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return AF_INET6;
	pct = strchr(s, '%');
	if (pct && (size_t)(pct - s) < sizeof(lit)) {
		memcpy(lit, s, (size_t)(pct - s));
		lit[pct - s] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) == 1)
			return AF_INET6;
	}
	return AF_UNSPEC;
}

/* Whether object o has the member key. */
static bool has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* Whether j is a JSON integer. */
static bool is_int(json_object *j)
{
	return json_object_is_type(j, json_type_int);
}

/* sbaddr_guess_family for the object form: by the members present. */
static int guess_object(json_object *j)
{
	if (has(j, "host"))
		return host_family(json_object_object_get(j, "host"), has(j, "flowinfo") || has(j, "scope_id"));
	if (has(j, "path") || has(j, "abstract") || has(j, "abstract_data") || has(j, "path_data"))
		return AF_UNIX;
	if (has(j, "pid"))
		return AF_NETLINK;
	if (has(j, "cid"))
		return AF_VSOCK;
	if (has(j, "addr_type"))
		return AF_TIPC;
	if (has(j, "type") && has(j, "name"))
		return AF_ALG;
	if (has(j, "ifname") || has(j, "ifindex")) {
		if (has(j, "proto") || has(j, "pkttype") || has(j, "hatype"))
			return AF_PACKET;
		if (has(j, "rx_addr") || has(j, "tx_addr") || has(j, "pgn"))
			return AF_CAN;
	}
	return AF_UNSPEC;
}

/* sbaddr_guess_family for the tuple form: by length and element types. */
static int guess_tuple(json_object *j)
{
	size_t n = json_object_array_length(j);
	json_object *a = json_object_array_get_idx(j, 0), *b = json_object_array_get_idx(j, 1);

	if (n == 0)
		return AF_UNSPEC;
	if (json_object_is_type(a, json_type_string)) {
		if ((n == 4 || n == 5) && strncmp(json_object_get_string(a), "TIPC_", 5) == 0)
			return AF_TIPC;
		if (n >= 2 && n <= 4 && is_int(b))
			return host_family(a, n > 2);   /* names, PACKET and CAN tuples stay AF_UNSPEC */
		if (n >= 2 && n <= 4 && json_object_is_type(b, json_type_string))
			return AF_ALG;
		return AF_UNSPEC;
	}
	if (is_int(a) && (n == 4 || n == 5))
		return AF_TIPC;
	return AF_UNSPEC;   /* [pid, groups] and [cid, port] look alike */
}

int sbaddr_guess_family(json_object *j)
{
	switch (json_object_get_type(j)) {
	case json_type_string:
		return AF_UNIX;
	case json_type_object:
		return guess_object(j);
	case json_type_array:
		return guess_tuple(j);
	default:
		return AF_UNSPEC;
	}
}

int sbaddr_unix_name(const struct sbaddr *a, char *out, size_t outlen)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t n = a->len > off ? a->len - off : 0;
	const char *p = un->sun_path;

	if (outlen == 0)
		return -ENAMETOOLONG;
	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	if (p[0] == '\0') {
		if (n + 1 > outlen)
			return -ENAMETOOLONG;
		out[0] = '@';
		for (size_t i = 1; i < n; i++) {
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f)
				return -EINVAL;
			out[i] = p[i];
		}
		out[n] = '\0';
		return 0;
	}
	n = strnlen(p, n);
	if (n + 1 > outlen)
		return -ENAMETOOLONG;
	memcpy(out, p, n);
	out[n] = '\0';
	if (out[0] != '/' || strstr(out, "//") || strstr(out, "/./") || strstr(out, "/../") ||
	    (n >= 2 && !strcmp(out + n - 2, "/.")) || (n >= 3 && !strcmp(out + n - 3, "/..")))
		return -EINVAL;
	return 0;
}
