/* The shim's connect(), with SOCKBROKER_CONNECT=1: every AF_INET/AF_INET6
 * connect of a TCP or datagram socket goes through the daemon, so that a
 * program in an empty network namespace (bwrap --unshare-net) reaches
 * exactly the destinations the policy allows, from the daemon's.
 *
 * The daemon makes a socket of the same kind with the program's options,
 * starts a non-blocking connect under its policy (the destination judged on
 * the socket that exists; with the name the daemon resolved for the
 * program's getaddrinfo when there is one, preload-resolve.c), and hands it
 * out; it takes the program's descriptor's place with its flags. Then:
 *   - a non-blocking socket: -1/EINPROGRESS, as the kernel gives, and the
 *     program polls and reads SO_ERROR of the socket that now connects;
 *   - a blocking one: connect() again on it, so that the kernel itself
 *     waits (SO_SNDTIMEO, signals and SA_RESTART as for any connect) and
 *     answers 0 or the connection's error.
 * A destination the policy denies fails as a firewall's refusal,
 * ECONNREFUSED, with the program's descriptor untouched; the daemon's
 * audit has the reason. An immediate error of the daemon's connect
 * (ENETUNREACH) is the program's. With the daemon unreachable the real
 * connect runs: the program sees what it would without the shim.
 *
 * A socket already connecting or connected (TCP_INFO's state), and any
 * other kind or family, goes to the real connect, which answers EALREADY,
 * EISCONN, ... itself. A local address the program bound in its own
 * namespace is not carried over: the daemon's kernel picks the source. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>

#include "preload.h"

enum { PASS = 1 };

static bool connect_params(struct buf *b, long long handle, const struct sockaddr *addr)
{
	char name[256];
	const void *ip;
	int port;

	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)addr;
		ip = &in->sin_addr;
		port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)addr;
		ip = &in6->sin6_addr;
		port = ntohs(in6->sin6_port);
	}
	put_str(b, "{\"handle\":");
	put_int(b, handle);
	put_str(b, ",\"address\":");
	if (shim_pin_lookup(addr->sa_family, ip, name, sizeof(name))) {
		/* The name the program had the daemon resolve, and the address
		 * it chose among the answers: host pinning holds. */
		put_str(b, "[");
		put_json_str(b, name);
		put_str(b, ",");
		put_int(b, port);
		if (addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)addr;
			put_str(b, ",");
			put_int(b, ntohl(in6->sin6_flowinfo));
			put_str(b, ",");
			put_int(b, in6->sin6_scope_id);
		}
		put_str(b, "],\"resolved\":\"");
		put_ip(b, addr->sa_family, ip);
		put_str(b, "\"}");
	} else {
		put_addr(b, addr, addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		put_str(b, "}");
	}
	return !b->over;
}

/* The program's socket timeouts, carried to the one that replaces it (the
 * kernel's wait in a blocking connect reads SO_SNDTIMEO). */
static const int timeout_names[2] = { SO_SNDTIMEO, SO_RCVTIMEO };

static void read_timeouts(int fd, struct timeval tv[2])
{
	for (size_t i = 0; i < 2; i++) {
		socklen_t l = sizeof(tv[i]);
		if (getsockopt(fd, SOL_SOCKET, timeout_names[i], &tv[i], &l) < 0)
			tv[i].tv_sec = tv[i].tv_usec = 0;
	}
}

static void set_timeouts(int fd, const struct timeval tv[2])
{
	for (size_t i = 0; i < 2; i++)
		if (tv[i].tv_sec || tv[i].tv_usec)
			setsockopt(fd, SOL_SOCKET, timeout_names[i], &tv[i], sizeof(tv[i]));
}

/* 0: connected; 1 (PASS): the real connect decides; else -errno for the
 * program (its descriptor replaced when -EINPROGRESS, else untouched). */
static int brokered_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct shim_sock s;
	struct conn c;
	char p[REQ_MAX];
	struct buf b = { p, 0, sizeof(p), false };
	const char *res, *end;
	long long handle;
	struct timeval tv[2];
	bool in_progress = false;
	int r = PASS;

	if (shim_describe(fd, &s) < 0 || s.domain != addr->sa_family)
		return PASS;
	if (len < (addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)))
		return PASS;
	if (s.type == SOCK_STREAM) {
		struct tcp_info ti;
		socklen_t l = sizeof(ti);
		if (s.proto != 0 && s.proto != IPPROTO_TCP)
			return PASS;
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0 || ti.tcpi_state != TCP_CLOSE)
			return PASS;
	} else if (s.type != SOCK_DGRAM) {
		return PASS;
	}

	if (conn_open(&c) < 0)
		return PASS;
	if (shim_create(&c, fd, &s, SOCK_NONBLOCK, &handle) < 0) {
		if (c.code == -32010)
			r = -ECONNREFUSED;
		goto out;
	}
	if (!connect_params(&b, handle, addr))
		goto out;
	if (call(&c, "socket.connect", p, b.len, &res, &end) < 0) {
		if (c.code == -32010) {
			r = -ECONNREFUSED;
			goto out;
		}
		if (c.oserr != EINPROGRESS) {
			if (c.oserr)
				r = -c.oserr;
			goto out;
		}
		in_progress = true;
	}
	read_timeouts(fd, tv);
	if (shim_place(&c, handle, fd, &s) < 0)
		goto out;
	set_timeouts(fd, tv);
	r = in_progress ? -EINPROGRESS : 0;
out:
	conn_close(&c);
	return r;
}

SB_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int saved = errno, r;

	if (!shim_connect_through || !addr || len < sizeof(sa_family_t) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return sys_connect(fd, addr, len);
	r = brokered_connect(fd, addr, len);
	if (r == PASS)
		return sys_connect(fd, addr, len);
	if (r == 0) {
		errno = saved;
		return 0;
	}
	if (r == -EINPROGRESS) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK)) {
			/* Blocking: the kernel waits on the socket that connects,
			 * as it would for the program's own. */
			r = sys_connect(fd, addr, len);
			if (r == 0 || errno != EALREADY)
				return r;
			/* EALREADY on a blocking socket: its SO_SNDTIMEO ran
			 * out, which the program's first connect reports as
			 * EINPROGRESS. */
			errno = EINPROGRESS;
			return -1;
		}
	}
	errno = -r;
	return -1;
}
