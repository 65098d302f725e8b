#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "util.h"

int sd_notify_address(struct sockaddr_un *sa, socklen_t *salen)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t plen;

	if (!path || !path[0])
		return -ENOENT;
	plen = strlen(path);
	/* Only a path or an abstract name (leading '@'); vsock targets are not for us. */
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa->sun_path))
		return -EAFNOSUPPORT;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, plen);
	if (path[0] == '@')
		sa->sun_path[0] = '\0';
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
	return 0;
}

int sd_notify_send_fds(int sock, const char *state, const int *fds, size_t nfds)
{
	struct sockaddr_un sa;
	socklen_t salen;
	struct iovec iov = { .iov_base = (void *)state, .iov_len = strlen(state) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * SD_NOTIFY_MAX_FDS)];
	} cm;
	_cleanup_close_ int own = -1;
	int r;

	if (nfds > SD_NOTIFY_MAX_FDS)
		return -E2BIG;
	r = sd_notify_address(&sa, &salen);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (sock < 0) {
		sock = own = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (sock < 0)
			return -errno;
	}
	mh.msg_name = &sa;
	mh.msg_namelen = salen;
	if (nfds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int sd_notify_send(const char *state)
{
	return sd_notify_send_fds(-1, state, NULL, 0);
}

int sd_notifyf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return sd_notify_send(buf);
}

static int parse_pos_long(const char *s, long *v)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno || *end || *v <= 0)
		return -EINVAL;
	return 0;
}

int sd_listen_fds_take(char **names)
{
	long pid, n;
	int r = 0;

	if (names) {
		const char *v = getenv("LISTEN_FDNAMES");
		*names = v ? strdup(v) : NULL;
	}

	if (parse_pos_long(getenv("LISTEN_PID"), &pid) < 0 || pid != (long)getpid())
		goto out;
	if (parse_pos_long(getenv("LISTEN_FDS"), &n) < 0 || n > SD_LISTEN_FDS_MAX)
		goto out;
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			r = -errno;
			goto out;
		}
	}
	r = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}
