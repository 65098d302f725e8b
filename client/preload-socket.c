/* The shim's socket(): when the kernel refuses the program a kind of socket
 * (EACCES, EPERM, EAFNOSUPPORT: a raw ICMP socket without CAP_NET_RAW, a
 * family a seccomp filter or the network namespace withholds), the daemon
 * makes one of that family, type and protocol under its policy and hands
 * it out with the reply. Denied, or no daemon: the original errno. A
 * socket() the kernel grants never reaches the daemon. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "preload.h"

/* Why the kernel refused: missing privilege (EACCES, EPERM), or a family
 * the sandbox does not have (EAFNOSUPPORT: seccomp filters such as
 * systemd's RestrictAddressFamilies= answer that, and so do families that
 * exist only in the first network namespace). A protocol or type the
 * kernel lacks (EPROTONOSUPPORT, ESOCKTNOSUPPORT, EINVAL) it lacks for the
 * daemon too: not asked. */
static bool refused(int e)
{
	return e == EACCES || e == EPERM || e == EAFNOSUPPORT;
}

/* The daemon's socket of the kind asked, with the caller's SOCK_NONBLOCK
 * and SOCK_CLOEXEC, at the lowest free number: the descriptor, or -1. */
static int brokered_socket(int domain, int type, int proto)
{
	const int flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
	char p[128];
	struct buf b = { p, 0, sizeof(p), false };
	const char *res, *end;
	struct conn c;
	int fd = -1, low;

	put_str(&b, "{\"family\":");
	put_int(&b, domain);
	put_str(&b, ",\"type\":");
	put_int(&b, type & ~flags);
	put_str(&b, ",\"proto\":");
	put_int(&b, proto);
	put_str(&b, ",\"pass\":true}");
	if (b.over || conn_open(&c) < 0)
		return -1;
	if (call(&c, "socket.create", p, b.len, &res, &end) == 0 && c.passed >= 0) {
		fd = c.passed;
		c.passed = -1;
	}
	conn_close(&c);
	if (fd < 0)
		return -1;
	/* It came while the control connection held a lower number: moved to
	 * the lowest free one, which is where socket() would have put it. */
	low = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (low >= 0 && low < fd) {
		close(fd);
		fd = low;
	} else if (low >= 0) {
		close(low);
	}
	/* It arrives close-on-exec (MSG_CMSG_CLOEXEC), in whatever blocking
	 * mode the daemon left it: both as the program asked. */
	if (fcntl(fd, F_SETFL, (type & SOCK_NONBLOCK) ? O_NONBLOCK : 0) < 0 ||
	    ((type & SOCK_CLOEXEC) == 0 && fcntl(fd, F_SETFD, 0) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

SB_EXPORT int socket(int domain, int type, int proto)
{
	int saved = errno, fd = sys_socket(domain, type, proto), e;

	if (fd >= 0)
		return fd;
	e = errno;
	if (!refused(e) || domain == AF_UNIX)
		return -1;
	fd = brokered_socket(domain, type, proto);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	errno = saved;    /* as a socket() that succeeded leaves it */
	return fd;
}
