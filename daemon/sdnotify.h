/* The two small systemd protocols, spoken directly (no libsystemd):
 * sd_notify(3) datagrams to $NOTIFY_SOCKET and sd_listen_fds(3) descriptors. */
#ifndef SBD_SDNOTIFY_H
#define SBD_SDNOTIFY_H

#include <stdbool.h>

/* Sends one state string ("READY=1\nSTATUS=...") when $NOTIFY_SOCKET is set.
 * 0 when sent or when there is nowhere to send; -errno on failure. */
int sd_notify_send(const char *state);
int sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The descriptors passed by socket activation: returns how many (0 when the
 * environment is not for us), first at fd 3, now CLOEXEC, and in *names
 * (may be NULL) a malloc'd copy of LISTEN_FDNAMES, or NULL when it is not
 * set. Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so children do not
 * inherit them. */
int sd_listen_fds_take(char **names);
/* Whether the i-th name of a LISTEN_FDNAMES value (colon-separated) is want. */
bool sd_listen_fd_named(const char *names, int i, const char *want);

#define SD_LISTEN_FDS_START 3

#endif
