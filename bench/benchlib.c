#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

static void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static const char *bench_name = "bench";

void bench_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	bench_name = slash ? slash + 1 : argv0 ? argv0 : "bench";
}

void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", bench_name, what, strerror(errno));
	exit(1);
}

void fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", bench_name, what);
	exit(1);
}

long bench_number(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || !*s || v < lo || v > hi) {
		fprintf(stderr, "%s: %s must be an integer in %ld-%ld\n", bench_name, what, lo, hi);
		exit(2);
	}
	return v;
}

void bench_place(int *client_cpu, int *server_cpu)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	*client_cpu = 0;
	*server_cpu = 1;
	pin(0, *client_cpu);
}

void pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(tid, sizeof(set), &set) < 0)
		fprintf(stderr, "%s: cannot pin to CPU %d: %s\n", bench_name, cpu, strerror(errno));
}

struct stats stats_of(uint64_t *s, size_t n)
{
	struct stats st;

	qsort(s, n, sizeof(*s), bench_cmp_u64);
	st.median_us = (double)s[n / 2] / 1e3;
	st.p99_us = (double)s[(size_t)((double)n * 0.99)] / 1e3;
	return st;
}

uint64_t *samples(size_t n)
{
	uint64_t *s = malloc(n * sizeof(*s));

	if (!s)
		die("malloc");
	return s;
}

const char *bench_daemon_arg(int argc, char **argv, int optind)
{
	const char *exe;

	if (optind + 1 < argc)
		return NULL;
	exe = optind < argc ? argv[optind] : getenv("SBD");
	return exe && *exe ? exe : "./daemon/sockbrokerd";
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int bench_unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int bench_unix_bind(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void bench_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			bench_die("send");
		}
		p += w;
		n -= (size_t)w;
	}
}

int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int bench_pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

extern char **environ;

#define READY_TIMEOUT_MS 30000

pid_t bench_daemon_start(const char *exe, const char *sock, const char *notify,
                         const char *const *extra_args, int cpu)
{
	char env_notify[160];
	const char *argv[32] = { exe, "--socket", sock, "--log-level", "warning" };
	size_t argc = 5;
	struct pollfd p[2];
	uint64_t deadline;
	int nfd, pidfd;
	char msg[512];
	bool ready = false;
	pid_t pid;

	static char policy_dir[200];
	bool own_policy = false;

	for (size_t i = 0; extra_args && extra_args[i] && argc < 29; i++) {
		own_policy |= !strcmp(extra_args[i], "--policy");
		argv[argc++] = extra_args[i];
	}
	/* Never the host's /etc/sockbroker: an empty directory of our own beside
	 * the notify socket (the embedded default) unless the caller gives one. */
	if (!own_policy) {
		const char *slash = strrchr(notify, '/');
		snprintf(policy_dir, sizeof(policy_dir), "%.*s/policy.d", slash ? (int)(slash - notify) : 1,
		         slash ? notify : ".");
		if (mkdir(policy_dir, 0700) < 0 && errno != EEXIST)
			bench_die("make the private policy directory");
		argv[argc++] = "--policy";
		argv[argc++] = policy_dir;
	}
	argv[argc] = NULL;
	snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", notify);
	nfd = bench_unix_bind(notify, SOCK_DGRAM);
	if (nfd < 0)
		bench_die("bind the notify socket");
	pid = fork();
	if (pid < 0)
		bench_die("fork");
	if (pid == 0) {
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		putenv(env_notify);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		execve(exe, (char *const *)argv, environ);
		fprintf(stderr, "bench: cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	pidfd = bench_pidfd_open_compat(pid);
	deadline = bench_now_ns() + (uint64_t)READY_TIMEOUT_MS * 1000000ull;
	while (!ready) {
		uint64_t now = bench_now_ns();
		int n;
		if (now >= deadline) {
			/* Never leave a daemon behind. */
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fprintf(stderr, "bench: the daemon did not send READY=1 within 30 s\n");
			exit(1);
		}
		p[0] = (struct pollfd){ .fd = nfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		n = poll(p, pidfd >= 0 ? 2 : 1, (int)((deadline - now) / 1000000ull) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die("poll");
		if (p[0].revents & POLLIN) {
			ssize_t r = recv(nfd, msg, sizeof(msg) - 1, 0);
			if (r > 0) {
				msg[r] = '\0';
				/* READY=1 as a whole line of the datagram. */
				for (char *sv, *l = strtok_r(msg, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv))
					if (strcmp(l, "READY=1") == 0)
						ready = true;
			}
		} else if (pidfd >= 0 && (p[1].revents & POLLIN)) {
			int st;
			waitpid(pid, &st, 0);
			fprintf(stderr, "bench: the daemon exited before READY=1 (status 0x%x)\n", st);
			exit(1);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	close(nfd);
	return pid;
}

int bench_daemon_stop(pid_t pid)
{
	int st;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) < 0)
		bench_die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench: the daemon did not exit cleanly (status 0x%x)\n", st);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- undo */

struct bench_undo bench_undo = { .child = -1, .daemon = -1 };
static pid_t undo_pid;

void bench_undo_run(void)
{
	if (bench_undo.child > 0) {
		kill(bench_undo.child, SIGKILL);
		waitpid(bench_undo.child, NULL, 0);
		bench_undo.child = -1;
	}
	if (bench_undo.daemon > 0) {
		kill(bench_undo.daemon, SIGTERM);
		waitpid(bench_undo.daemon, NULL, 0);
		bench_undo.daemon = -1;
	}
	for (size_t i = BENCH_UNDO_FILES; i-- > 0;)
		if (bench_undo.files[i][0]) {
			unlink(bench_undo.files[i]);
			bench_undo.files[i][0] = '\0';
		}
	for (size_t i = BENCH_UNDO_DIRS; i-- > 0;)
		if (bench_undo.dirs[i][0]) {
			rmdir(bench_undo.dirs[i]);
			bench_undo.dirs[i][0] = '\0';
		}
}

static void undo_at_exit(void)
{
	if (getpid() == undo_pid)
		bench_undo_run();
}

static void undo_on_signal(int sig)
{
	if (getpid() == undo_pid)
		bench_undo_run();
	signal(sig, SIG_DFL);
	raise(sig);
}

void bench_undo_install(void)
{
	undo_pid = getpid();
	atexit(undo_at_exit);
	signal(SIGINT, undo_on_signal);
	signal(SIGTERM, undo_on_signal);
	signal(SIGHUP, undo_on_signal);
}

static char *undo_slot(char (*slots)[BENCH_UNDO_PATH], size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!slots[i][0]) {
			if (strlen(path) >= BENCH_UNDO_PATH)
				fail("a path to clean up is too long");
			strcpy(slots[i], path);
			return slots[i];
		}
	fail("too many paths to clean up");
}

char *bench_undo_file(const char *path)
{
	return undo_slot(bench_undo.files, BENCH_UNDO_FILES, path);
}

char *bench_undo_dir(const char *path)
{
	return undo_slot(bench_undo.dirs, BENCH_UNDO_DIRS, path);
}
