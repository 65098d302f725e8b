/* A watchdog for LeakSanitizer's exit-time leak check, in sanitizer builds.
 *
 * LeakSanitizer suspends the process with a cloned tracer that PTRACE_ATTACHes
 * every thread and waits for each attach stop. On the test machines' kernel
 * (6.18) that stop is sometimes lost: the tracer waits in wait4() for a thread
 * that is traced but running (seen as TracerPid set and State R, spinning in
 * sched_yield until the tracer finishes), and the daemon never exits. A
 * SIGSTOP sent to that thread produces the stop the tracer is waiting for; the
 * leak check then runs to its end as usual.
 *
 * The watchdog starts at exit, after our own cleanup and before the leak check
 * (atexit handlers run in reverse order of registration, and the sanitizer
 * registers its check before main). It only reads /proc and sends that one
 * signal, and never allocates: the tracer holds the allocator's locks. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "lsan-nudge.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
	NUDGE_POLL_MS = 100,
	/* A thread that has not entered its attach stop this long never will:
	 * a running thread acts on a pending SIGSTOP within microseconds. */
	NUDGE_AFTER_POLLS = 20,
	NUDGE_MAX_THREADS = 64,
};

struct traced {
	pid_t tid;
	unsigned polls;
};

static void write_str(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));
	(void)r;
}

/* Unsigned decimal into buf (at least 12 bytes), without stdio. */
static const char *u2s(unsigned long v, char *buf, size_t n)
{
	char *p = buf + n - 1;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v && p > buf);
	return p;
}

/* The value after "Key:" in a /proc status text, or NULL. */
static const char *status_field(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			p += kl + 1;
			while (*p == '\t' || *p == ' ')
				p++;
			return p;
		}
	return NULL;
}

/* Whether thread tid is traced (by anyone) but not in a stop. */
static bool traced_running(pid_t tid)
{
	char path[64] = "/proc/self/task/", num[16], text[2048];
	const char *state, *tracer;
	ssize_t n;
	int fd;

	strcat(path, u2s((unsigned long)tid, num, sizeof(num)));
	strcat(path, "/status");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	state = status_field(text, "State");
	tracer = status_field(text, "TracerPid");
	if (!state || !tracer || *tracer == '0')
		return false;
	return *state == 'R' || *state == 'S' || *state == 'D';
}

static unsigned *polls_of(struct traced *t, size_t *n, pid_t tid)
{
	for (size_t i = 0; i < *n; i++)
		if (t[i].tid == tid)
			return &t[i].polls;
	if (*n == NUDGE_MAX_THREADS)
		return NULL;
	t[*n] = (struct traced){ .tid = tid };
	return &t[(*n)++].polls;
}

/* Set by the watcher once it runs: the sanitizer has registered it. */
static int watcher_running;

static void *watch(void *arg)
{
	struct traced seen[NUDGE_MAX_THREADS];
	size_t nseen = 0;
	pid_t self = (pid_t)syscall(SYS_gettid);
	const struct timespec tick = { 0, NUDGE_POLL_MS * 1000000L };

	(void)arg;
	__atomic_store_n(&watcher_running, 1, __ATOMIC_RELEASE);
	for (;;) {
		char buf[4096];
		long got;
		int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir < 0)
			return NULL;
		while ((got = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < got;) {
				struct dirent64 *d = (struct dirent64 *)(buf + off);
				pid_t tid = (pid_t)atoi(d->d_name);
				unsigned *polls;

				off += d->d_reclen;
				if (tid <= 0 || tid == self)
					continue;
				polls = polls_of(seen, &nseen, tid);
				if (!polls)
					continue;
				*polls = traced_running(tid) ? *polls + 1 : 0;
				if (*polls == NUDGE_AFTER_POLLS) {
					char num[16];

					write_str("<4>lsan-nudge: thread ");
					write_str(u2s((unsigned long)tid, num, sizeof(num)));
					write_str(" is traced but has not stopped for 2 s (a lost attach "
					          "stop): sending it SIGSTOP\n");
					syscall(SYS_tgkill, getpid(), tid, SIGSTOP);
					*polls = 0;
				}
			}
		}
		close(dir);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

void lsan_nudge_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;

	if (pthread_attr_init(&attr))
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, &attr, watch, NULL) == 0) {
		/* Exit goes on only once the watcher runs: a thread still starting
		 * waits for the sanitizer's thread registry, which the leak check
		 * holds locked while it stops the world, and could nudge nothing
		 * (seen once in CI: the watcher in a futex wait, the main thread
		 * traced and running). At most 2 s. */
		const struct timespec wait = { 0, 1000000L };
		for (int i = 0; i < 2000 && !__atomic_load_n(&watcher_running, __ATOMIC_ACQUIRE); i++)
			nanosleep(&wait, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

void lsan_nudge_at_exit(void)
{
#if defined(__SANITIZE_ADDRESS__)
	atexit(lsan_nudge_start);
#endif
}
