#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

int hx_dirlog_fd = -1;

#ifndef SBD_PATH
#define SBD_PATH "daemon/sockbrokerd"
#endif

long long hx_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline)
{
	long long r = deadline - hx_mono_ms();

	return r < 0 ? 0 : (int)r;
}

const char *sbd_path(void)
{
	const char *p = getenv("SBD");

	return p && *p ? p : SBD_PATH;
}

int sbd_wait_notify(struct sbd *d, const char *what, int timeout_ms)
{
	long long deadline = hx_mono_ms() + timeout_ms;
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = d->notify_fd, .events = POLLIN };
		int r = poll(&p, 1, remaining(deadline));
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -ETIMEDOUT;
		n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (strstr(buf, what))
			return 0;
	}
}

int sbd_start(struct sbd *d, const char *const *extra_args)
{
	return sbd_start_prefixed(d, NULL, extra_args);
}

int sbd_start_prefixed(struct sbd *d, const char *const *prefix, const char *const *extra_args)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char notify[300], sockets_dir[300];
	const char *argv[64];
	size_t argc = 0;
	bool own_policy = false, own_sockets = false;
	int r;

	memset(d, 0, sizeof(*d));
	d->notify_fd = -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/sbtest.XXXXXX");
	if (!mkdtemp(d->dir))
		return -errno;
	/* Other users (tests that drop privileges) must reach the socket. */
	chmod(d->dir, 0755);
	snprintf(d->sock, sizeof(d->sock), "%s/control.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	snprintf(notify, sizeof(notify), "%s/notify.sock", d->dir);

	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->notify_fd < 0)
		return -errno;
	memcpy(sa.sun_path, notify, strlen(notify));
	if (bind(d->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;

	for (size_t i = 0; prefix && prefix[i] && argc < 32; i++)
		argv[argc++] = prefix[i];
	argv[argc++] = sbd_path();
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	for (size_t i = 0; extra_args && extra_args[i] && argc < 60; i++) {
		if (!strcmp(extra_args[i], "--policy"))
			own_policy = true;
		if (!strcmp(extra_args[i], "--sockets"))
			own_sockets = true;
		argv[argc++] = extra_args[i];
	}
	/* Hermetic: never the host's /etc/sockbroker. An empty directory of our
	 * own gives the embedded default, as a host without a policy would. */
	if (!own_policy) {
		snprintf(d->policy_dir, sizeof(d->policy_dir), "%s/policy.d", d->dir);
		if (mkdir(d->policy_dir, 0700) < 0)
			return -errno;
		argv[argc++] = "--policy";
		argv[argc++] = d->policy_dir;
	}
	/* Nor the host's declared sockets (/etc/sockbroker/sockets.d). */
	if (!own_sockets) {
		snprintf(sockets_dir, sizeof(sockets_dir), "%s/sockets.d", d->dir);
		if (mkdir(sockets_dir, 0700) < 0)
			return -errno;
		argv[argc++] = "--sockets";
		argv[argc++] = sockets_dir;
	}
	argv[argc] = NULL;

	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		int lfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (lfd >= 0 && !getenv("SBTEST_STDERR"))
			dup2(lfd, STDERR_FILENO);
		setenv("NOTIFY_SOCKET", notify, 1);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		if (prefix)
			execvp(argv[0], (char *const *)argv);
		else
			execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	hx_note_dir(d->dir, d->pid);
	r = sbd_wait_notify(d, "READY=1", 30000);
	if (r < 0) {
		fprintf(stderr, "harness: the daemon did not become ready: %s\n", strerror(-r));
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	return r;
}

void hx_remove_tree(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char p[600];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		/* The private policy directory is empty (or holds what a test wrote). */
		if (unlink(p) < 0 && (errno == EISDIR || errno == EPERM))
			hx_remove_tree(p);
	}
	closedir(dp);
	rmdir(dir);
}

static int wait_exit(pid_t pid, int timeout_ms)
{
	int st, pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	/* The pidfd becomes readable when the process exits: a bounded wait on
	 * the event itself. */
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int r;
		do
			r = poll(&p, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		close(pfd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -ETIMEDOUT;
		}
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int sbd_kill_wait(struct sbd *d, int sig)
{
	int r;

	if (d->pid <= 0)
		return -ESRCH;
	kill(d->pid, sig);
	r = wait_exit(d->pid, 30000);
	d->pid = 0;
	if (getenv("SBTEST_KEEP_LOG") || r != 0) {
		/* Show the daemon's log when something went wrong. */
		FILE *f = fopen(d->log, "r");
		char line[1024];
		if (f) {
			fprintf(stderr, "---- daemon log (%s, exit %d) ----\n", d->log, r);
			while (fgets(line, sizeof(line), f))
				fputs(line, stderr);
			fclose(f);
		}
	}
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	d->notify_fd = -1;
	hx_remove_tree(d->dir);
	return r;
}

int sbd_stop(struct sbd *d)
{
	return sbd_kill_wait(d, SIGTERM);
}

void hx_start(struct sbd *d, const char *const *args)
{
	int r = sbd_start(d, args);

	ck_assert_msg(r == 0, "the daemon did not start: %s", strerror(-r));
}

void hx_stop(struct sbd *d)
{
	ck_assert_int_eq(sbd_stop(d), 0);
}

void hx_note_dir(const char *dir, pid_t pid)
{
	char line[320];
	int n;

	if (hx_dirlog_fd < 0 || !dir[0])
		return;
	n = snprintf(line, sizeof(line), "%d %s\n", (int)pid, dir);
	/* One short write to a pipe is atomic; losing it only costs the sweep. */
	if (n > 0 && n < (int)sizeof(line) && write(hx_dirlog_fd, line, (size_t)n) < 0)
		n = 0;
}

void hx_private_dir(char *path, size_t n, const char *name, mode_t mode)
{
	ck_assert_int_lt(snprintf(path, n, "/tmp/%s.XXXXXX", name), (int)n);
	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s: %s", path, strerror(errno));
	hx_note_dir(path, 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Whether process pid runs with dir on its command line: the daemon we
 * started, not a process that reused its pid. */
static bool runs_in(pid_t pid, const char *dir)
{
	char p[64], cmd[2048];
	FILE *cf;
	size_t k;

	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	cf = fopen(p, "re");
	if (!cf)
		return false;
	k = fread(cmd, 1, sizeof(cmd) - 1, cf);
	fclose(cf);
	for (size_t i = 0; i < k; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	cmd[k] = '\0';
	return k && strstr(cmd, dir);
}

void hx_sweep_dirs(int fd)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;
	char *save = NULL;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *dir = strchr(line, ' ');
		pid_t pid = (pid_t)atoi(line);
		char p[600];
		FILE *lf;

		if (!dir)
			continue;
		dir++;
		if (access(dir, F_OK) < 0)
			continue; /* removed by its test */
		/* Its test failed before stopping the daemon, which outlived the
		 * test's process: stop it, by its pid. */
		if (pid > 0 && runs_in(pid, dir))
			kill(pid, SIGTERM);
		snprintf(p, sizeof(p), "%s/daemon.log", dir);
		lf = fopen(p, "re");
		if (lf) {
			char l[1024];
			int k = 0;
			fprintf(stderr, "---- daemon log of a failed test (%s) ----\n", dir);
			while (k++ < 100 && fgets(l, sizeof(l), lf))
				fputs(l, stderr);
			fclose(lf);
		}
		hx_remove_tree(dir);
	}
}

bool hx_need_root(const char *what)
{
	const char *ci = getenv("CI");

	if (geteuid() == 0)
		return true;
	ck_assert_msg(!(ci && strcmp(ci, "true") == 0), "%s needs root, and CI must run it as root", what);
	printf("SKIP: %s: needs root\n", what);
	return false;
}

int sbd_fd_count(const struct sbd *d)
{
	char p[64];
	DIR *dp;
	struct dirent *e;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)d->pid);
	dp = opendir(p);
	if (!dp)
		return -errno;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

int self_fd_count(void)
{
	DIR *dp = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -errno;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dp);
	return n - 1; /* the directory's own descriptor */
}

bool sbd_log_line_has(const struct sbd *d, const char *a, const char *b, const char *c)
{
	FILE *f = fopen(d->log, "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && (!b || strstr(line, b)) && (!c || strstr(line, c));
	fclose(f);
	return found;
}

bool sbd_log_contains(const struct sbd *d, const char *needle)
{
	return sbd_log_line_has(d, needle, NULL, NULL);
}

int tconn_open(struct tconn *t, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(t, 0, sizeof(*t));
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return -errno;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(t->fd);
		t->fd = -1;
		return r;
	}
	return 0;
}

void tconn_close(struct tconn *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	for (size_t i = 0; i < t->nfds; i++)
		close(t->fds[i]);
	t->nfds = 0;
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

int tconn_write(struct tconn *t, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = send(t->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tconn_send(struct tconn *t, const char *line)
{
	size_t n = strlen(line);
	char *b = malloc(n + 1);
	int r;

	if (!b)
		return -ENOMEM;
	memcpy(b, line, n);
	b[n] = '\n';
	r = tconn_write(t, b, n + 1);
	free(b);
	return r;
}

int tconn_send_fds(struct tconn *t, const char *line, const int *fds, size_t nfds)
{
	size_t n = strlen(line);
	char *b = malloc(n + 1);
	char cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov;
	struct msghdr mh = { 0 };
	ssize_t w;

	if (!b || nfds > 64) {
		free(b);
		return -EINVAL;
	}
	memcpy(b, line, n);
	b[n] = '\n';
	iov.iov_base = b;
	iov.iov_len = n + 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *cm;
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	w = sendmsg(t->fd, &mh, MSG_NOSIGNAL);
	if (w < 0) {
		int r = -errno;
		free(b);
		return r;
	}
	if ((size_t)w < n + 1) {
		int r = tconn_write(t, b + w, n + 1 - (size_t)w);
		free(b);
		return r;
	}
	free(b);
	return 0;
}

/* One recvmsg into the buffer, keeping any descriptors. */
static ssize_t fill(struct tconn *t)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov;
	struct msghdr mh = { 0 };
	ssize_t n;

	if (t->cap - t->len < 65536) {
		size_t cap = t->cap ? t->cap * 2 : 131072;
		char *nb = realloc(t->buf, cap);
		if (!nb)
			return -ENOMEM;
		t->buf = nb;
		t->cap = cap;
	}
	iov.iov_base = t->buf + t->len;
	iov.iov_len = t->cap - t->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(t->fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *p = (int *)CMSG_DATA(cm);
			for (size_t i = 0; i < k; i++) {
				if (t->nfds < 64)
					t->fds[t->nfds++] = p[i];
				else
					close(p[i]);
			}
		}
	}
	t->len += (size_t)n;
	return n;
}

char *tconn_recv_line(struct tconn *t, int timeout_ms)
{
	long long deadline = hx_mono_ms() + timeout_ms;

	for (;;) {
		char *nl = t->len ? memchr(t->buf, '\n', t->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - t->buf);
			char *line = malloc(n + 1);
			if (!line)
				return NULL;
			memcpy(line, t->buf, n);
			line[n] = '\0';
			memmove(t->buf, nl + 1, t->len - n - 1);
			t->len -= n + 1;
			return line;
		}
		struct pollfd p = { .fd = t->fd, .events = POLLIN };
		int r = poll(&p, 1, remaining(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			errno = ETIMEDOUT;
			return NULL;
		}
		ssize_t n = fill(t);
		if (n < 0) {
			errno = (int)-n;
			return NULL;
		}
		if (n == 0) {
			errno = 0;
			return NULL;
		}
	}
}

json_object *tconn_recv_json(struct tconn *t, int timeout_ms)
{
	char *line = tconn_recv_line(t, timeout_ms);
	json_object *j;

	if (!line)
		return NULL;
	j = json_tokener_parse(line);
	free(line);
	if (!j)
		errno = EBADMSG;
	return j;
}

json_object *tconn_call(struct tconn *t, const char *line, int timeout_ms)
{
	if (tconn_send(t, line) < 0)
		return NULL;
	return tconn_recv_json(t, timeout_ms);
}

bool tconn_wait_eof(struct tconn *t, int timeout_ms)
{
	long long deadline = hx_mono_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = t->fd, .events = POLLIN };
		int r = poll(&p, 1, remaining(deadline));
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return false;
		t->len = 0;
		n = fill(t);
		if (n == 0 || n == -ECONNRESET)
			return true;
		if (n < 0)
			return false;
		t->len = 0;
	}
}

int reply_error_code(json_object *reply)
{
	return (int)jpath_int(reply, "error.code", 0);
}

json_object *jpath(json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			long i = strtol(key, &end, 10);
			if (*end)
				return NULL;
			o = json_object_array_get_idx(o, (size_t)i);
		} else if (!json_object_object_get_ex(o, key, &o)) {
			return NULL;
		}
		path += n + (dot != NULL);
	}
	return o;
}

const char *jpath_str(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

long long jpath_int(json_object *o, const char *path, long long dflt)
{
	json_object *v = jpath(o, path);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : dflt;
}

void harness_raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

void harness_require_root(const char *what)
{
	const char *ci = getenv("CI");

	if (geteuid() == 0)
		return;
	if (ci && strcmp(ci, "true") == 0) {
		printf("FAIL: %s needs root, and CI must run it as root\n", what);
		exit(99);
	}
	printf("SKIP: needs root (%s)\n", what);
	exit(77);
}
