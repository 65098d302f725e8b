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
int bench_pidfd_open_compat(pid_t pid);

#endif
