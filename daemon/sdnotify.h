/* The two small systemd protocols, spoken directly (no libsystemd):
 * sd_notify(3) datagrams to $NOTIFY_SOCKET and sd_listen_fds(3) descriptors. */
#ifndef SBD_SDNOTIFY_H
#define SBD_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Sends one state string ("READY=1\nSTATUS=...") when $NOTIFY_SOCKET is set.
 * 0 when sent or when there is nowhere to send; -errno on failure. */
int sd_notify_send(const char *state);
/* The address $NOTIFY_SOCKET names: a path, or an abstract name written
 * with a leading '@'. 0, -ENOENT (not set), -EAFNOSUPPORT (another kind). */
int sd_notify_address(struct sockaddr_un *sa, socklen_t *salen);
/* sd_pid_notify_with_fds(3) spoken directly: state with nfds descriptors
 * (SCM_RIGHTS; the receiver gets duplicates, ours stay open) on sock, a
 * datagram socket of the caller's (-1: one made for this message). 0 when
 * sent or when $NOTIFY_SOCKET is not set; -EAGAIN when the receiver's queue
 * is full; another -errno. */
#define SD_NOTIFY_MAX_FDS 4
int sd_notify_send_fds(int sock, const char *state, const int *fds, size_t nfds);
int sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The descriptors passed by socket activation: returns how many (0 when the
 * environment is not for us), first at fd 3, now CLOEXEC, and in *names
 * (may be NULL) a malloc'd copy of LISTEN_FDNAMES, or NULL when it is not
 * set. Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so children do not
 * inherit them. */
int sd_listen_fds_take(char **names);

#define SD_LISTEN_FDS_START 3
/* More than this many passed descriptors are not taken (LISTEN_FDS is
 * ignored): room for a FileDescriptorStoreMax= of 4096 and the socket
 * unit's. */
#define SD_LISTEN_FDS_MAX 16384

#endif
