#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* See launch.h. Nothing here talks to the daemon: sockbrokerctl run has
 * every socket before it calls these, and execs right after. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launch.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

bool launch_fdname_ok(const char *name, size_t len)
{
	if (!name || len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] < 0x20 || name[i] > 0x7e || name[i] == ':')
			return false;
	return true;
}

int launch_fill_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		n = open("/dev/null", O_RDWR);      /* the lowest free number: fd */
		if (n < 0)
			return -errno;
		if (n != fd) {
			close(n);
			return -EBADF;
		}
	}
	return 0;
}

int launch_cloexec_from(int lo)
{
	DIR *d;
	struct dirent *e;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lo, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
#endif
	d = opendir("/proc/self/fd");       /* its own descriptor is O_CLOEXEC */
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd < lo)
			continue;
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF) {
			int r = -errno;
			closedir(d);
			return r;
		}
	}
	closedir(d);
	return 0;
}

/* Moves *fd to a number from top up, close-on-exec. */
static int move_above(int *fd, int top)
{
	int f;

	if (*fd >= top)
		return 0;
	f = fcntl(*fd, F_DUPFD_CLOEXEC, top);
	if (f < 0)
		return -errno;
	close(*fd);
	*fd = f;
	return 0;
}

int launch_place(int *fds, int n, int *stdio_fd)
{
	int top = LAUNCH_FDS_START + n, r;

	/* First every source above every target: no dup2() below can then
	 * close a descriptor that is still to be placed. */
	for (int i = 0; i < n; i++)
		if ((r = move_above(&fds[i], top)) < 0)
			return r;
	if (stdio_fd && (r = move_above(stdio_fd, top)) < 0)
		return r;
	/* dup2() gives the new number without FD_CLOEXEC, which exec keeps. */
	for (int i = 0; i < n; i++)
		if (dup2(fds[i], LAUNCH_FDS_START + i) < 0)
			return -errno;
	if (stdio_fd && (dup2(*stdio_fd, 0) < 0 || dup2(*stdio_fd, 1) < 0))
		return -errno;
	/* The sources (now above top) go with the rest. */
	return launch_cloexec_from(top);
}

int launch_environment(const char *const *names, const size_t *lens, int n)
{
	static const char *const vars[] = { "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "LISTEN_PIDFDID" };
	char num[32], *joined;
	size_t len = 0;
	int r = 0;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (unsetenv(vars[i]) < 0)
			return -errno;
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		len += lens[i] + 1;
	joined = malloc(len);
	if (!joined)
		return -ENOMEM;
	len = 0;
	for (int i = 0; i < n; i++) {
		memcpy(joined + len, names[i], lens[i]);
		len += lens[i];
		joined[len++] = i + 1 < n ? ':' : '\0';
	}
	snprintf(num, sizeof(num), "%d", n);
	if (setenv("LISTEN_FDS", num, 1) < 0 || setenv("LISTEN_FDNAMES", joined, 1) < 0)
		r = -errno;
	free(joined);
	if (r)
		return r;
	/* exec keeps our pid: it is the program's. */
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	return setenv("LISTEN_PID", num, 1) < 0 ? -errno : 0;
}
