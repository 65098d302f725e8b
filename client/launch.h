/* What `sockbrokerctl run` does between receiving its sockets and exec:
 * the descriptors put where a socket-activated program looks for them, and
 * the environment that says so, as sd_listen_fds(3) reads it. Internal to
 * sockbrokerctl (and its unit test), not installed. Functions return 0 or
 * -errno. */
#ifndef SB_LAUNCH_H
#define SB_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

/* The first descriptor of LISTEN_FDS (SD_LISTEN_FDS_START). */
#define LAUNCH_FDS_START 3

/* Whether name (len bytes) may stand in LISTEN_FDNAMES: 1-255 printable
 * ASCII characters, no ':' (systemd's fdname_is_valid, less the empty
 * name, which tells a program nothing). */
bool launch_fdname_ok(const char *name, size_t len);

/* Opens /dev/null on each of 0-2 that is closed, so that no descriptor
 * opened later lands there (to be written to as standard error, or handed
 * to the program as its standard input). */
int launch_fill_stdio(void);

/* Marks every descriptor from lo up close-on-exec: close_range(2) with
 * CLOSE_RANGE_CLOEXEC, or on a kernel without it each one /proc/self/fd
 * lists. */
int launch_cloexec_from(int lo);

/* Puts fds[i] at LAUNCH_FDS_START + i (i < n) and, when stdio_fd is not
 * NULL, *stdio_fd at 0 and 1, none of them close-on-exec, whatever numbers
 * they start on (one may sit on another's target); then marks every
 * descriptor from LAUNCH_FDS_START + n up close-on-exec. Descriptors 0-2
 * are not touched otherwise. On return, either way, fds[i] and *stdio_fd
 * hold numbers from LAUNCH_FDS_START + n up, close-on-exec, still the
 * caller's to close (or -1 where none is left). */
int launch_place(int *fds, int n, int *stdio_fd);

/* Sets LISTEN_FDS=n, LISTEN_PID=our pid (exec keeps it) and LISTEN_FDNAMES
 * (names[i], lens[i] bytes each, joined by ':'); n == 0 sets none of them.
 * Either way LISTEN_PIDFDID and any LISTEN_ variable we inherited are
 * removed first: they would describe another process. */
int launch_environment(const char *const *names, const size_t *lens, int n);

#endif
