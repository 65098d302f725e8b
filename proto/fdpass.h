/* Descriptor passing over AF_UNIX stream sockets (protocol section 2). */
#ifndef SB_FDPASS_H
#define SB_FDPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Hard upper bound on descriptors in one message, whatever the configuration. */
#define FDPASS_MAX_FDS 253 /* SCM_MAX_FD in the kernel */

/* The writer of the bytes one recvmsg returned, as the kernel attaches it to
 * them when the receiving socket has SO_PASSCRED (SCM_CREDENTIALS: pid, and
 * the real uid and gid at the time of writing) and SO_PASSPIDFD (SCM_PIDFD: a
 * pidfd for that process, made at receipt). A stream socket with SO_PASSCRED
 * never returns bytes of two writers from one recvmsg. */
struct fdpass_sender {
	bool have_cred;     /* SCM_CREDENTIALS arrived and names a process (pid > 0) */
	pid_t pid;          /* in the receiver's pid namespace */
	uid_t uid;
	gid_t gid;
	int pidfd;          /* SCM_PIDFD, owned by the caller; -1 when none arrived */
	int pidfd_error;    /* -errno when the kernel could not make the pidfd, else 0 */
};

/* One recvmsg(MSG_CMSG_CLOEXEC|MSG_DONTWAIT is NOT implied) into buf.
 * Descriptors from every SCM_RIGHTS message are stored in fds (room for maxfds);
 * descriptors beyond maxfds are closed. *truncated is set when the kernel
 * reported MSG_CTRUNC or more than maxfds arrived; in that case every received
 * descriptor has already been closed and *nfds is 0.
 * Returns bytes read (0 at EOF) or -errno. Other control messages are ignored. */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int flags,
                    int *fds, size_t maxfds, size_t *nfds, bool *truncated);

/* fdpass_recv that also reports the writer (sender may be NULL: any pidfd is
 * closed then). The control buffer has room for the credentials and the pidfd
 * after maxfds descriptors, so a message within the descriptor limit never
 * loses them. On error sender->pidfd is -1. */
ssize_t fdpass_recv_from(int sock, void *buf, size_t len, int flags, int *fds, size_t maxfds,
                         size_t *nfds, bool *truncated, struct fdpass_sender *sender);

/* One sendmsg(MSG_NOSIGNAL|flags) of buf with fds as one SCM_RIGHTS message
 * (no control message when nfds is 0). Returns bytes sent (may be short) or
 * -errno. The caller keeps its descriptors. */
ssize_t fdpass_send(int sock, const void *buf, size_t len, int flags,
                    const int *fds, size_t nfds);

#endif
