#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "fdpass.h"
#include "util.h"

/* Linux 6.5+ can attach a pidfd (SO_PASSPIDFD); one nobody asked for is closed. */
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/* Big enough for the credentials, the most descriptors the kernel puts in one
 * message, and a pidfd (the kernel writes them in that order). */
union fdpass_control {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS) +
	         CMSG_SPACE(sizeof(int))];
};

ssize_t fdpass_recv_from(int sock, void *buf, size_t len, int flags, int *fds, size_t maxfds,
                         size_t *nfds, bool *truncated, struct fdpass_sender *sender)
{
	union fdpass_control control;
	size_t room = fds ? SB_MIN(maxfds, (size_t)FDPASS_MAX_FDS) : 0;
	size_t controllen = 0, got = 0;
	bool over = false;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	if (nfds)
		*nfds = 0;
	if (truncated)
		*truncated = false;
	if (sender)
		*sender = (struct fdpass_sender){ .pidfd = -1 };

	/* Sized for exactly maxfds (CMSG_SPACE may round up by one slot): with
	 * no room at all and no sender wanted the kernel drops the descriptors
	 * and reports MSG_CTRUNC, which is what we want for maxfds == 0. */
	if (room)
		controllen += CMSG_SPACE(room * sizeof(int));
	if (sender)
		controllen += CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int));
	do {
		iov = (struct iovec){ .iov_base = buf, .iov_len = len };
		mh = (struct msghdr){
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = controllen ? control.buf : NULL,
			.msg_controllen = controllen,
		};
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (struct cmsghdr *c = controllen ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		size_t cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_len < CMSG_LEN(0))
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			if (!sender || c->cmsg_len < CMSG_LEN(sizeof(uc)))
				continue;
			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			/* Bytes written with no credentials attached come as pid 0
			 * and the overflow uid: no writer, not uid 65534. */
			sender->have_cred = uc.pid > 0;
			sender->pid = uc.pid;
			sender->uid = uc.uid;
			sender->gid = uc.gid;
			continue;
		}
		if (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			int fd;

			/* CMSG_DATA need not be int-aligned for every walker: copy. */
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (c->cmsg_type == SCM_PIDFD) {
				/* A pidfd the kernel could not make arrives as -errno. */
				if (sender && sender->pidfd < 0 && !sender->pidfd_error) {
					if (fd < 0)
						sender->pidfd_error = fd;
					else
						sender->pidfd = fd;
				} else {
					safe_close(fd);
				}
			} else if (got < maxfds) {
				fds[got++] = fd;
			} else {
				safe_close(fd);
				over = true;
			}
		}
	}

	if (over || (mh.msg_flags & MSG_CTRUNC)) {
		/* Part of the set is gone: none of it is usable, keep nothing. */
		close_fds(fds, got);
		got = 0;
		if (truncated)
			*truncated = true;
	}
	if (nfds)
		*nfds = got;
	else
		close_fds(fds, got);
	return n;
}

ssize_t fdpass_recv(int sock, void *buf, size_t len, int flags,
                    int *fds, size_t maxfds, size_t *nfds, bool *truncated)
{
	return fdpass_recv_from(sock, buf, len, flags, fds, maxfds, nfds, truncated, NULL);
}

ssize_t fdpass_send(int sock, const void *buf, size_t len, int flags,
                    const int *fds, size_t nfds)
{
	union fdpass_control control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > FDPASS_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}

	/* EINTR means nothing was sent (a partial send returns its count). */
	do
		n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}
