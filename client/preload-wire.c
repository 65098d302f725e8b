/* The shim's wire: requests built by hand, replies read by a scan, one
 * private connection per intercepted call (preload.h for the rules). No
 * json-c: the shim makes only system calls on the way. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "preload.h"

/* ---------------------------------------------------------------- text building */

void put_mem(struct buf *b, const void *s, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void put_str(struct buf *b, const char *s)
{
	put_mem(b, s, strlen(s));
}

void put_int(struct buf *b, long long v)
{
	char t[24];
	size_t i = sizeof(t);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		t[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		t[--i] = '-';
	put_mem(b, t + i, sizeof(t) - i);
}

void put_b64(struct buf *b, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		put_mem(b, q, 4);
	}
}

void put_json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put_str(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };
			put_mem(b, e, 2);
		} else if (ch < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
			put_mem(b, e, 6);
		} else {
			put_mem(b, &ch, 1);
		}
	}
	put_str(b, "\"");
}

/* IPv4 dotted quad and IPv6 in eight uncompressed hex groups, by hand:
 * inet_ntop may format with sprintf, which is not async-signal-safe. */
static void put_ipv4(struct buf *b, const unsigned char *a)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			put_str(b, ".");
		put_int(b, a[i]);
	}
}

static void put_ipv6(struct buf *b, const unsigned char *a)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 16; i += 2) {
		unsigned v = (unsigned)a[i] << 8 | a[i + 1];
		char t[5];
		size_t n = 0;
		int shift = 12;

		if (i)
			t[n++] = ':';
		while (shift > 0 && !(v >> shift & 15))
			shift -= 4;
		for (; shift >= 0; shift -= 4)
			t[n++] = hex[v >> shift & 15];
		put_mem(b, t, n);
	}
}

void put_ip(struct buf *b, int family, const void *addr)
{
	if (family == AF_INET)
		put_ipv4(b, addr);
	else
		put_ipv6(b, addr);
}

bool put_addr(struct buf *b, const struct sockaddr *sa, socklen_t len)
{
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)sa;
		if (len < sizeof(*in))
			return false;
		put_str(b, "[\"");
		put_ipv4(b, (const unsigned char *)&in->sin_addr);
		put_str(b, "\",");
		put_int(b, ntohs(in->sin_port));
		put_str(b, "]");
		return true;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (len < sizeof(*in6))
			return false;
		put_str(b, "[\"");
		put_ipv6(b, (const unsigned char *)&in6->sin6_addr);
		put_str(b, "\",");
		put_int(b, ntohs(in6->sin6_port));
		put_str(b, ",");
		put_int(b, ntohl(in6->sin6_flowinfo));
		put_str(b, ",");
		put_int(b, in6->sin6_scope_id);
		put_str(b, "]");
		return true;
	}
	case AF_UNIX: {
		const struct sockaddr_un *un = (const void *)sa;
		size_t off = offsetof(struct sockaddr_un, sun_path), n;
		if (len <= off || len > sizeof(*un))
			return false;
		n = len - off;
		if (un->sun_path[0] == '\0') {
			put_str(b, "{\"abstract_data\":\"");
			put_b64(b, (const unsigned char *)un->sun_path + 1, n - 1);
		} else {
			n = strnlen(un->sun_path, n);
			put_str(b, "{\"path_data\":\"");
			put_b64(b, (const unsigned char *)un->sun_path, n);
		}
		put_str(b, "\"}");
		return true;
	}
	}
	return false;
}

/* ---------------------------------------------------------------- the reply */

/* The value of member NAME at nesting LEVEL (1: the outermost object) of the
 * JSON text from S, or NULL: a scan that skips strings. Enough for the
 * daemon's replies, {"jsonrpc":..,"result":{..},"id":..}, which it writes
 * itself (json-c); a reply it does not understand fails the call. */
const char *member(const char *s, const char *end, const char *name, int level)
{
	size_t nl = strlen(name);
	int depth = 0;

	for (const char *p = s; p < end; p++) {
		if (*p == '"') {
			const char *q = p + 1;
			while (q < end && *q != '"')
				q += *q == '\\' ? 2 : 1;
			if (q >= end)
				return NULL;
			if (depth == level && (size_t)(q - p - 1) == nl && !memcmp(p + 1, name, nl)) {
				const char *v = q + 1;
				while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
					v++;
				if (v < end && *v == ':') {
					v++;
					while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
						v++;
					return v;
				}
			}
			p = q;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			depth--;
		}
	}
	return NULL;
}

bool parse_int(const char *p, const char *end, long long *out)
{
	long long v = 0;
	bool any = false;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
		any = true;
	}
	*out = v;
	return any;
}

/* Past the JSON value at P (any kind), or NULL when it does not end
 * before END. */
const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return NULL;
			if (!depth)
				return p + 1;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (--depth <= 0)
				return depth < 0 ? NULL : p + 1;
		} else if (!depth && (*p == ',' || *p == '}' || *p == ']')) {
			return p;
		} else if (!depth && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			/* A number, true, false or null: up to its end. */
			while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
				p++;
			return p;
		}
	}
	return NULL;
}

/* The JSON string at P, unescaped into OUT (CAP bytes with its NUL):
 * false for anything but a string of plain characters and simple escapes
 * that fits. The daemon's strings here are addresses and names. */
bool get_string(const char *p, const char *end, char *out, size_t cap)
{
	size_t n = 0;

	if (p >= end || *p != '"')
		return false;
	for (p++; p < end && *p != '"'; p++) {
		char ch = *p;
		if (ch == '\\') {
			if (++p >= end)
				return false;
			switch (*p) {
			case '"': case '\\': case '/': ch = *p; break;
			default: return false;
			}
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = ch;
	}
	if (p >= end)
		return false;
	out[n] = '\0';
	return true;
}

/* ---------------------------------------------------------------- the exchange */

int conn_open(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	size_t n = strlen(shim_control_path);

	c->fd = -1;
	c->id = 0;
	c->have = c->line = 0;
	c->passed = -1;
	c->oserr = 0;
	c->code = 0;
	if (!shim_control_path_ok)
		return -1;
	memcpy(sa.sun_path, shim_control_path, n);
	c->fd = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	/* A daemon that stops answering costs the program a bounded wait, not a
	 * hung bind (SO_SNDTIMEO bounds the connect too). */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		if (sys_connect(c->fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) == 0)
			return 0;
		if (errno == EISCONN)   /* an interrupted connect that went through */
			return 0;
		if (errno != EINTR)
			break;
	}
	close(c->fd);
	c->fd = -1;
	return -1;
}

void conn_close(struct conn *c)
{
	if (c->passed >= 0)
		close(c->passed);
	if (c->fd >= 0)
		close(c->fd);
	c->passed = c->fd = -1;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until a whole line is in c->reply; descriptors that come are kept in
 * c->passed (the first) or closed (any other: the shim asked for one). */
static int read_line(struct conn *c)
{
	/* Drop the previous line. */
	if (c->line) {
		memmove(c->reply, c->reply + c->line, c->have - c->line);
		c->have -= c->line;
		c->line = 0;
	}
	for (;;) {
		char *nl = memchr(c->reply, '\n', c->have);
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(4 * sizeof(int))];
		} cm;
		struct iovec iov;
		struct msghdr m = { 0 };
		ssize_t r;

		if (nl) {
			c->line = (size_t)(nl - c->reply) + 1;
			return 0;
		}
		if (c->have == sizeof(c->reply))
			return -1;
		iov.iov_base = c->reply + c->have;
		iov.iov_len = sizeof(c->reply) - c->have;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cm.b;
		m.msg_controllen = sizeof(cm.b);
		r = recvmsg(c->fd, &m, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		for (struct cmsghdr *h = r >= 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
				if (c->passed < 0)
					c->passed = fd;
				else
					close(fd);
			}
		}
		if (r <= 0)
			return -1;
		c->have += (size_t)r;
	}
}

int call(struct conn *c, const char *method, const char *params, size_t plen, const char **result,
		const char **end)
{
	char req[REQ_MAX + 128];
	struct buf b = { req, 0, sizeof(req), false };
	long long id;

	c->id++;
	c->oserr = c->code = 0;
	put_str(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
	put_int(&b, c->id);
	put_str(&b, ",\"method\":\"");
	put_str(&b, method);
	put_str(&b, "\",\"params\":");
	put_mem(&b, params, plen);
	put_str(&b, "}\n");
	if (b.over || send_all(c->fd, req, b.len) < 0 || read_line(c) < 0)
		return -1;
	*end = c->reply + c->line;
	const char *idv = member(c->reply, *end, "id", 1);
	if (!idv || !parse_int(idv, *end, &id) || id != c->id)
		return -1;
	const char *err = member(c->reply, *end, "error", 1);
	if (err) {
		/* The code (-32010: the policy denied it), and an OS error's errno
		 * ({"code":-32000,"data":{"errno":N}}): for a call the policy
		 * allowed but the kernel refused the daemon too. */
		const char *code = member(err, *end, "code", 1), *data = member(err, *end, "data", 1), *en;
		long long v;
		if (code && *code == '-' && parse_int(code + 1, *end, &v) && v < 100000)
			c->code = -(int)v;
		if (c->code == -32000 && data && (en = member(data, *end, "errno", 1)) && parse_int(en, *end, &v) &&
		    v > 0 && v < 4096)
			c->oserr = (int)v;
		return -1;
	}
	*result = member(c->reply, *end, "result", 1);
	if (!*result || **result != '{')
		return -1;
	return 0;
}

int call_handle(struct conn *c, const char *method, const char *params, size_t plen, long long *handle)
{
	const char *res, *end, *h;

	if (call(c, method, params, plen, &res, &end) < 0)
		return -1;
	h = member(res, end, "handle", 1);
	return h && parse_int(h, end, handle) && *handle > 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- the options */

struct opt {
	int level, name;
	bool boolean;   /* sent only when set (the default is off) */
	bool inet_only, inet6_only, stream_only;
};

/* The options a server commonly sets before bind. Buffer sizes are sent
 * when they differ from a fresh socket's (the kernel reports double what
 * was asked, so half is asked again). */
static const struct opt opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR, true, false, false, false },
	{ SOL_SOCKET, SO_REUSEPORT, true, false, false, false },
	{ SOL_SOCKET, SO_KEEPALIVE, true, false, false, false },
	{ SOL_SOCKET, SO_BROADCAST, true, false, false, false },
	{ SOL_SOCKET, SO_RCVBUF, false, false, false, false },
	{ SOL_SOCKET, SO_SNDBUF, false, false, false, false },
	{ IPPROTO_IPV6, IPV6_V6ONLY, false, false, true, false },
	{ IPPROTO_IP, IP_FREEBIND, true, true, false, false },
	{ IPPROTO_IPV6, IPV6_FREEBIND, true, false, true, false },
	{ IPPROTO_TCP, TCP_NODELAY, true, true, false, true },
};

static int send_options(struct conn *c, int fd, long long handle, int domain, int type, int proto)
{
	int fresh = -1;

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		int v = 0, d = 0;
		socklen_t l = sizeof(v);

		if (o->inet_only && domain != AF_INET && domain != AF_INET6)
			continue;
		if (o->inet6_only && domain != AF_INET6)
			continue;
		if (o->stream_only && type != SOCK_STREAM)
			continue;
		if (getsockopt(fd, o->level, o->name, &v, &l) < 0 || l != sizeof(v))
			continue;
		if (o->boolean && !v)
			continue;
		if (o->name == SO_RCVBUF || o->name == SO_SNDBUF) {
			if (fresh < 0)
				fresh = sys_socket(domain, type | SOCK_CLOEXEC, proto);
			l = sizeof(d);
			if (fresh < 0 || getsockopt(fresh, o->level, o->name, &d, &l) < 0 || v == d)
				continue;
			v /= 2;
		}

		char p[160];
		struct buf b = { p, 0, sizeof(p), false };
		const char *res, *end;
		put_str(&b, "{\"handle\":");
		put_int(&b, handle);
		put_str(&b, ",\"level\":");
		put_int(&b, o->level);
		put_str(&b, ",\"option\":");
		put_int(&b, o->name);
		put_str(&b, ",\"value\":");
		put_int(&b, v);
		put_str(&b, "}");
		if (b.over || call(c, "socket.setsockopt", p, b.len, &res, &end) < 0) {
			if (fresh >= 0)
				close(fresh);
			return -1;
		}
	}
	if (fresh >= 0)
		close(fresh);
	return 0;
}


/* ---------------------------------------------------------------- the program's socket, in the daemon */

int shim_describe(int fd, struct shim_sock *s)
{
	socklen_t l = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &s->domain, &l) < 0)
		return -1;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &s->type, &l) < 0)
		return -1;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &s->proto, &l) < 0)
		return -1;
	s->fl = fcntl(fd, F_GETFL);
	s->fdfl = fcntl(fd, F_GETFD);
	return s->fl < 0 || s->fdfl < 0 ? -1 : 0;
}

int shim_create(struct conn *c, int fd, const struct shim_sock *s, int type_flags, long long *handle)
{
	char p[128];
	struct buf b = { p, 0, sizeof(p), false };

	put_str(&b, "{\"family\":");
	put_int(&b, s->domain);
	put_str(&b, ",\"type\":");
	put_int(&b, s->type | type_flags);
	put_str(&b, ",\"proto\":");
	put_int(&b, s->proto);
	put_str(&b, "}");
	if (b.over || call_handle(c, "socket.create", p, b.len, handle) < 0)
		return -1;
	return fd >= 0 ? send_options(c, fd, *handle, s->domain, s->type, s->proto) : 0;
}

int shim_place(struct conn *c, long long handle, int fd, const struct shim_sock *s)
{
	char p[64];
	struct buf b = { p, 0, sizeof(p), false };
	const char *res, *end;

	/* Only a descriptor that comes with detach's reply is the socket. */
	if (c->passed >= 0) {
		close(c->passed);
		c->passed = -1;
	}
	put_str(&b, "{\"handle\":");
	put_int(&b, handle);
	put_str(&b, "}");
	if (call(c, "socket.detach", p, b.len, &res, &end) < 0 || c->passed < 0)
		return -1;
	/* The program's descriptor becomes the daemon's socket, with the
	 * program's status flags and close-on-exec. */
	if (fcntl(c->passed, F_SETFL, s->fl & O_NONBLOCK) < 0)
		return -1;
	if (dup3(c->passed, fd, (s->fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		return -1;
	return 0;
}
