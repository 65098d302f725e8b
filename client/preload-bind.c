/* The shim's bind(): when the kernel refuses the program an address
 * (EACCES, EPERM, or EADDRNOTAVAIL for one only the daemon's namespace
 * has), the daemon makes a socket of the same SO_DOMAIN/SO_TYPE/SO_PROTOCOL
 * with the program's common options (read back with getsockopt, no state
 * kept), binds it there under its policy, and it takes the program's
 * descriptor's place. Denied, or no daemon: the original errno. */

#define _GNU_SOURCE
#include <errno.h>

#include "preload.h"

static bool bind_params(struct buf *b, long long handle, const struct sockaddr *addr, socklen_t len)
{
	put_str(b, "{\"handle\":");
	put_int(b, handle);
	put_str(b, ",\"address\":");
	if (!put_addr(b, addr, len))
		return false;
	put_str(b, "}");
	return !b->over;
}

/* The daemon's socket for FD, bound to ADDR, put at FD: 0; or, with nothing
 * changed, -errno of the daemon's own bind when the policy allowed it and
 * the kernel refused, else -1 (the program's errno stands). */
static int brokered_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct shim_sock s;
	long long handle;
	struct conn c;
	char p[REQ_MAX];
	struct buf b = { p, 0, sizeof(p), false };
	const char *res, *end;
	int r = -1;

	if (shim_describe(fd, &s) < 0)
		return -1;
	if (s.domain != AF_INET && s.domain != AF_INET6 && s.domain != AF_UNIX)
		return -1;
	if (!addr || len < sizeof(sa_family_t) || addr->sa_family != s.domain)
		return -1;
	/* Nothing is asked for an address the shim cannot say. */
	if (!bind_params(&b, 1, addr, len))
		return -1;

	if (conn_open(&c) < 0)
		return -1;
	if (shim_create(&c, fd, &s, 0, &handle) < 0)
		goto out;
	b.len = 0;
	if (!bind_params(&b, handle, addr, len))
		goto out;
	if (call(&c, "socket.bind", p, b.len, &res, &end) < 0) {
		/* Allowed, but the kernel refused the daemon too (EADDRINUSE):
		 * that is the program's answer, as it would be with privilege. */
		if (c.oserr)
			r = -c.oserr;
		goto out;
	}
	if (shim_place(&c, handle, fd, &s) < 0)
		goto out;
	r = 0;
out:
	conn_close(&c);
	return r;
}

SB_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int saved = errno, r = sys_bind(fd, addr, len), e;

	if (r == 0)
		return 0;
	e = errno;
	if (e != EACCES && e != EPERM && e != EADDRNOTAVAIL)
		return r;
	r = brokered_bind(fd, addr, len);
	if (r == 0) {
		errno = saved;    /* as a bind that succeeded leaves it */
		return 0;
	}
	errno = r < -1 ? -r : e;
	return -1;
}
