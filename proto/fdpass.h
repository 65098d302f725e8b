/* Descriptor passing over AF_UNIX stream sockets (protocol section 2). */
#ifndef SB_FDPASS_H
#define SB_FDPASS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Hard upper bound on descriptors in one message, whatever the configuration. */
#define FDPASS_MAX_FDS 253 /* SCM_MAX_FD in the kernel */

/* One recvmsg(MSG_CMSG_CLOEXEC|MSG_DONTWAIT is NOT implied) into buf.
 * Descriptors from every SCM_RIGHTS message are stored in fds (room for maxfds);
 * descriptors beyond maxfds are closed. *truncated is set when the kernel
 * reported MSG_CTRUNC or more than maxfds arrived; in that case every received
 * descriptor has already been closed and *nfds is 0.
 * Returns bytes read (0 at EOF) or -errno. Other control messages are ignored. */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int flags,
                    int *fds, size_t maxfds, size_t *nfds, bool *truncated);

/* One sendmsg(MSG_NOSIGNAL|flags) of buf with fds as one SCM_RIGHTS message
 * (no control message when nfds is 0). Returns bytes sent (may be short) or
 * -errno. The caller keeps its descriptors. */
ssize_t fdpass_send(int sock, const void *buf, size_t len, int flags,
                    const int *fds, size_t nfds);

#endif
