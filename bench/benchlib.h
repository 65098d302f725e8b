/* Helpers shared by the benchmarks: a monotonic clock, UNIX socket set-up,
 * full writes, a sort comparator and pidfd_open. They print and exit on
 * failure (benchmarks, not library code). */
#ifndef SB_BENCHLIB_H
#define SB_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The program's name for the messages below (argv[0]'s last component). */
void bench_init(const char *argv0);
/* "NAME: what: strerror(errno)" (die) or "NAME: what" (fail), exit 1. */
__attribute__((noreturn)) void die(const char *what);
__attribute__((noreturn)) void fail(const char *what);
/* The option value s as an integer in lo-hi, or a usage message naming
 * what and exit 2. */
long bench_number(const char *s, long lo, long hi, const char *what);
/* With two CPUs or more: the daemon side on CPU 1, this process pinned to
 * CPU 0 (*client_cpu 0, *server_cpu 1); with one, both left at -1. */
void bench_place(int *client_cpu, int *server_cpu);
/* Binds tid (0: the caller) to cpu; -1: leaves it. A failure is printed. */
void pin(pid_t tid, int cpu);
/* The daemon under test: the one argument left after the options, else
 * $SBD, else ./daemon/sockbrokerd. NULL when more than one is left. */
const char *bench_daemon_arg(int argc, char **argv, int optind);

/* n samples of nanoseconds: malloc'd (die on failure), then sorted in
 * place by stats_of into their median and 99th percentile, in µs. */
struct stats {
	double median_us, p99_us;
};
uint64_t *samples(size_t n);
struct stats stats_of(uint64_t *s, size_t n);

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

/* What exit() or a signal must undo, set before it is needed so that the
 * undoing makes only async-signal-safe calls: a child (SIGKILL, waited
 * for), the daemon under test (SIGTERM, waited for), the files, then the
 * directories, the last registered first. A pid of -1 or an empty path is
 * nothing to undo. */
enum { BENCH_UNDO_FILES = 8, BENCH_UNDO_DIRS = 3, BENCH_UNDO_PATH = 128 };
struct bench_undo {
	pid_t child, daemon;
	char files[BENCH_UNDO_FILES][BENCH_UNDO_PATH];
	char dirs[BENCH_UNDO_DIRS][BENCH_UNDO_PATH];
};
extern struct bench_undo bench_undo;
/* Undoes at exit and on SIGINT, SIGTERM and SIGHUP, in this process only
 * (not in a child between fork and exec). */
void bench_undo_install(void);
/* Registers a file or a directory: its slot, which the caller may empty
 * (slot[0] = '\0') when it turns out not to be its own. Exits when full. */
char *bench_undo_file(const char *path);
char *bench_undo_dir(const char *path);
/* Undoes all now, once. */
void bench_undo_run(void);

#endif
