/* Helpers shared by the benchmarks: a monotonic clock, UNIX socket set-up,
 * full writes, a sort comparator and pidfd_open. They print and exit on
 * failure (benchmarks, not library code). */
#ifndef SB_BENCHLIB_H
#define SB_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

uint64_t bench_now_ns(void);
int bench_unix_connect(const char *path);
int bench_unix_bind(const char *path, int type);
void bench_write_all(int fd, const char *p, size_t n);
int bench_cmp_u64(const void *a, const void *b);

/* Starts the daemon under test on sock (plus extra_args, NULL-terminated; may
 * be NULL), pinned to cpu (-1: not pinned), and waits for READY=1 on the
 * private NOTIFY_SOCKET notify. Without --policy in extra_args, the daemon
 * gets an empty policy.d beside notify (the caller removes it). Exits the
 * program if it does not come. */
pid_t bench_daemon_start(const char *exe, const char *sock, const char *notify,
                         const char *const *extra_args, int cpu);
/* SIGTERM and wait: 0 on a clean exit 0, -1 otherwise. */
int bench_daemon_stop(pid_t pid);

#endif
