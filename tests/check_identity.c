/* Unit tests of daemon/identity.c: the pure parsers (pidfd fdinfo and its
 * NSpid, the cgroup file, systemd unit names, /proc/<pid>/stat and status),
 * identity_read on real sockets: ourselves, a peer that exec'd another
 * program, a peer that exited (reaped or zombie) before its identity was
 * read, with and without a pidfd, and a reader that may not see the peer's
 * executable; identity_read_sender for the writer of bytes (ourselves, ids
 * that changed, no pidfd, a writer in a nested pid namespace);
 * identity_read_socket when out of descriptors and again after; and the
 * policy lint of daemon/policy-lint.c. Every case that opens descriptors
 * checks they are back to their count at the end. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/identity.h"
#include "daemon/policy-lint.h"
#include "fdpass.h"
#include "unit.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define EXITED "the client process exited before its identity could be read"

/* A recycled pid, made to order. identity_read opens /proc/<pid> with open();
 * this definition takes the place of libc's in this program, and when
 * recycle.from is opened it first kills and reaps recycle.victim, then opens
 * /proc/<recycle.to> instead: as if the client died just after its pid was
 * read and the pid now named another process. Everything else passes through
 * (by the raw syscall, so no libc or sanitizer wrapper is re-entered). */
static struct {
	char from[64];
	pid_t victim, to;
	int hits;
} recycle;

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	char to[64];

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (recycle.from[0] && !strcmp(path, recycle.from)) {
		recycle.from[0] = '\0';
		recycle.hits++;
		kill(recycle.victim, SIGKILL);
		waitpid(recycle.victim, NULL, 0);
		snprintf(to, sizeof(to), "/proc/%d", (int)recycle.to);
		path = to;
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static bool ci(void)
{
	const char *v = getenv("CI");

	return v && strcmp(v, "true") == 0;
}

/* Whole small file as a static string ("" when unreadable). */
static const char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* readlink into a static buffer; NULL on failure. */
static const char *link_of(const char *path)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* The path of the "0::" line of /proc/<pid>/cgroup, found independently of the
 * parser under test; NULL when there is none. */
static char *v2_line(const char *cgroup_file)
{
	const char *t = slurp(cgroup_file), *p;
	size_t len;

	if (!strncmp(t, "0::", 3))
		p = t + 3;
	else if ((p = strstr(t, "\n0::")))
		p += 4;
	else
		return NULL;
	len = strcspn(p, "\n");
	return strndup(p, len);
}

/* The peer's pidfd, or -1 after printing why there is none. Fails when the
 * kernel lacks SO_PEERPIDFD and CI=true (CI kernels have it). */
static int peer_pidfd(int fd)
{
	int pidfd = -1;
	socklen_t l = sizeof(pidfd);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &l) == 0)
		return pidfd;
	ck_assert_msg(errno == ENOPROTOOPT, "SO_PEERPIDFD: %s", strerror(errno));
	if (ci())
		ck_abort_msg("SO_PEERPIDFD is not supported by this kernel, and CI=true requires it");
	printf("SKIP (pidfd part): SO_PEERPIDFD not supported by this kernel (%s)\n", strerror(errno));
	return -1;
}

static struct ucred peer_cred(int fd)
{
	struct ucred c;
	socklen_t l = sizeof(c);

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &l), 0);
	return c;
}

/* The peer's supplementary groups as the daemon reads them (malloc'd). */
static gid_t *peer_groups(int fd, size_t *n)
{
	socklen_t l = 64 * sizeof(gid_t);
	gid_t *g = malloc(l);

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &l), 0);
	*n = l / sizeof(gid_t);
	return g;
}

/* ------------------------------------------------------------ fdinfo */

START_TEST(fdinfo_normal)
{
	pid_t pid = 0;

	ck_assert_int_eq(identity_pid_from_fdinfo("pos:\t0\nflags:\t02000002\nmnt_id:\t15\n"
	                                          "ino:\t1057\nPid:\t5348\nNSpid:\t5348\n", &pid), 0);
	ck_assert_int_eq(pid, 5348);
	/* Spaces, no trailing newline, first line. */
	ck_assert_int_eq(identity_pid_from_fdinfo("Pid:  42", &pid), 0);
	ck_assert_int_eq(pid, 42);
	ck_assert_int_eq(identity_pid_from_fdinfo("Pid:\t7\t\nNSpid:\t7\t1\n", &pid), 0);
	ck_assert_int_eq(pid, 7);
	ck_assert_int_eq(identity_pid_from_fdinfo("Pid:\t2147483647\n", &pid), 0);
	ck_assert_int_eq(pid, 2147483647);
}
END_TEST

START_TEST(fdinfo_exited_and_missing)
{
	pid_t pid = 99;

	ck_assert_int_eq(identity_pid_from_fdinfo("pos:\t0\nPid:\t-1\nNSpid:\t-1\n", &pid), -ESRCH);
	ck_assert_int_eq(identity_pid_from_fdinfo("Pid:\t0\n", &pid), -EREMOTE);
	ck_assert_int_eq(identity_pid_from_fdinfo("pos:\t0\nflags:\t02\n", &pid), -ENOENT);
	ck_assert_int_eq(identity_pid_from_fdinfo("", &pid), -ENOENT);
	/* NSpid is not Pid, nor is a Pid: that does not start its line. */
	ck_assert_int_eq(identity_pid_from_fdinfo("NSpid:\t5\n", &pid), -ENOENT);
	ck_assert_int_eq(identity_pid_from_fdinfo("xPid:\t5\n", &pid), -ENOENT);
	ck_assert_int_eq(identity_pid_from_fdinfo("pid:\t5\n", &pid), -ENOENT);
	ck_assert_int_eq(pid, 99);
}
END_TEST

START_TEST(fdinfo_garbage_and_huge)
{
	static const char *const bad[] = {
		"Pid:\n", "Pid:", "Pid:\tabc\n", "Pid:\t12x\n", "Pid:\t1 2\n", "Pid:\t+5\n",
		"Pid:\t-\n", "Pid:\t-2\n", "Pid:\t--1\n", "Pid:\t0x10\n",
		"Pid:\t2147483648\n", "Pid:\t99999999999999999999999999\n", "Pid:\t-99999999999\n",
		"Pid:\t5\nPid:\t6\n",   /* which one? */
	};
	pid_t pid = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(identity_pid_from_fdinfo(bad[i], &pid) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(pid, 99);
}
END_TEST

/* ------------------------------------------------------------ cgroup file */

static void cg_is(const char *text, int want_r, const char *want)
{
	char *cg = (char *)"untouched";
	int r = identity_cgroup_from_text(text, &cg);

	ck_assert_msg(r == want_r, "\"%s\": %d, want %d", text, r, want_r);
	if (want_r == 0) {
		ck_assert_str_eq(cg, want);
		free(cg);
	} else {
		ck_assert_str_eq(cg, "untouched");
	}
}

START_TEST(cgroup_text)
{
	/* Hybrid: v2 line among v1 lines (this is what this host's /proc/self/cgroup looks like). */
	cg_is("12:pids:/system.slice/x.service\n1:name=systemd:/system.slice/x.service\n"
	      "0::/system.slice/x.service\n", 0, "/system.slice/x.service");
	cg_is("9:name=systemd:/\n4:memory:/a/b\n0::/\n", 0, "/");
	cg_is("0::/user.slice/user-1000.slice/session-2.scope", 0, "/user.slice/user-1000.slice/session-2.scope");
	cg_is("0::/a b/c:d\n", 0, "/a b/c:d");
	/* v1 only: no v2 line. "10::" is hierarchy 10, not 0. */
	cg_is("3:cpu,cpuacct:/\n1:name=systemd:/init.scope\n", -ENOENT, NULL);
	cg_is("10::/x\n", -ENOENT, NULL);
	cg_is("", -ENOENT, NULL);
	/* Malformed v2 lines, and two of them. */
	cg_is("0::\n", -EINVAL, NULL);
	cg_is("0::relative\n", -EINVAL, NULL);
	cg_is("0::/a\n0::/system.slice/root.service\n", -EINVAL, NULL);
}
END_TEST

/* ------------------------------------------------------------ units */

static void unit_is(const char *cgroup, const char *want)
{
	char *u = (char *)"untouched";

	ck_assert_int_eq(identity_unit_from_cgroup(cgroup, &u), 0);
	if (want) {
		ck_assert_msg(u && !strcmp(u, want), "\"%s\" -> \"%s\", want \"%s\"", cgroup ? cgroup : "(null)",
		              u ? u : "(null)", want);
		free(u);
	} else {
		ck_assert_msg(u == NULL, "\"%s\" -> \"%s\", want none", cgroup ? cgroup : "(null)", u);
	}
}

START_TEST(unit_examples)
{
	unit_is("/system.slice/nginx.service", "nginx.service");
	unit_is("/system.slice/nginx.service/child", "nginx.service");
	unit_is("/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", "user@1000.service");
	unit_is("/user.slice/user-1000.slice/session-3.scope", "session-3.scope");
	unit_is("/init.scope", "init.scope");
	unit_is("/system.slice/dbus.socket", "dbus.socket");
	unit_is("/system.slice/home.mount", "home.mount");
	unit_is("/system.slice/dev-sda2.swap", "dev-sda2.swap");
	unit_is("/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service");
	/* Escapes in unit names stay verbatim; a leading '_' is systemd's cgroup escape. */
	unit_is("/system.slice/system-systemd\\x2dfsck.slice/systemd-fsck@dev-disk-by\\x2duuid-1a2b.service",
	        "systemd-fsck@dev-disk-by\\x2duuid-1a2b.service");
	unit_is("/system.slice/_cpu.service", "cpu.service");
}
END_TEST

START_TEST(unit_edges)
{
	unit_is(NULL, NULL);
	unit_is("", NULL);
	unit_is("/", NULL);                /* the root cgroup is no unit (kernel threads, hybrid hosts) */
	unit_is("//", NULL);
	unit_is("/foo", NULL);
	unit_is("/x.slice", NULL);
	unit_is("x.slice", NULL);
	unit_is("/system.slice/", NULL);
	unit_is("/a.slice/b.slice/c.slice", NULL);
	unit_is("/system.slice/nginx.service/", "nginx.service");
	unit_is("//system.slice//nginx.service//", "nginx.service");
	unit_is("system.slice/nginx.service", "nginx.service");
	/* After the slices the next component is the unit or there is none:
	 * names further down are chosen by whoever the cgroup was delegated to. */
	unit_is("/foo/x.service", NULL);
	unit_is("/system.slice/foo/x.service", NULL);
	/* Not unit names. */
	unit_is("/system.slice/getty@.service", NULL);
	unit_is("/system.slice/@x.service", NULL);
	unit_is("/system.slice/.service", NULL);
	unit_is("/system.slice/a@b@c.service", NULL);
	unit_is("/system.slice/foo bar.service", NULL);
	unit_is("/system.slice/foo.unknown", NULL);
	unit_is("/system.slice/foo.service (deleted)", NULL);
	unit_is("/system.slice/a@b.slice/x.service", NULL);   /* a slice is never an instance */
	unit_is("/system.slice/sub.slice", NULL);
}
END_TEST

START_TEST(unit_name_length)
{
	char path[400] = "/system.slice/";
	size_t base = strlen(path);

	/* 255 characters is the longest unit name. */
	memset(path + base, 'a', 247);
	strcpy(path + base + 247, ".service");
	unit_is(path, path + base);
	memset(path + base, 'a', 248);
	strcpy(path + base + 248, ".service");
	unit_is(path, NULL);
}
END_TEST

/* ------------------------------------------------------------ stat */

START_TEST(stat_text)
{
	char state = 0;
	unsigned long long st = 0;

	ck_assert_int_eq(identity_stat_parse("123 (bash) S 1 123 123 34816 123 4194304 1 2 3 4 5 6 7 8 "
	                                     "20 0 1 0 98765 1000 200 18446744073709551615\n", &state, &st), 0);
	ck_assert_int_eq(state, 'S');
	ck_assert_uint_eq(st, 98765);
	/* comm may hold spaces and parentheses: fields count from the last ')'. */
	ck_assert_int_eq(identity_stat_parse("9 (a) Z 1 (b)) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 0",
	                                     &state, &st), 0);
	ck_assert_int_eq(state, 'Z');
	ck_assert_uint_eq(st, 424242);
	/* Ends before field 22, no parenthesis, bad start time, long state. */
	ck_assert_int_eq(identity_stat_parse("1 (x) S 1 2 3", &state, &st), -EINVAL);
	ck_assert_int_eq(identity_stat_parse("1 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", &state, &st),
	                 -EINVAL);
	ck_assert_int_eq(identity_stat_parse("1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18z", &state, &st),
	                 -EINVAL);
	ck_assert_int_eq(identity_stat_parse("1 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18", &state, &st),
	                 -EINVAL);
	ck_assert_int_eq(identity_stat_parse("1 (x)  S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18", &state, &st),
	                 -EINVAL);
	/* Our own. */
	ck_assert_int_eq(identity_stat_parse(slurp("/proc/self/stat"), &state, &st), 0);
	ck_assert_int_eq(state, 'R');
	ck_assert_uint_gt(st, 0);
}
END_TEST

/* ------------------------------------------------------------ identity_read */

START_TEST(free_is_safe)
{
	struct identity id = { .pidfd = -1 };

	identity_free(&id);
	identity_free(&id);
	ck_assert_int_eq(id.pidfd, -1);
	ck_assert_ptr_null(id.error);
}
END_TEST

/* Checks id against what we know of ourselves. */
static void expect_self(const struct identity *id)
{
	char *cg = v2_line("/proc/self/cgroup");
	const char *exe = link_of("/proc/self/exe");
	char *unit = NULL;

	ck_assert_msg(id->error == NULL, "error: %s", id->error);
	ck_assert_msg(!id->exe_unknown && !id->cgroup_unknown && !id->unit_unknown && !id->label_unknown,
	              "unknown: exe %s, cgroup %s, unit %s, label %s", id->exe_unknown, id->cgroup_unknown,
	              id->unit_unknown, id->label_unknown);
	ck_assert_int_eq(id->pid, getpid());
	ck_assert_int_eq(id->uid, geteuid());
	ck_assert_int_eq(id->gid, getegid());
	ck_assert_ptr_nonnull(exe);
	ck_assert_ptr_nonnull(id->exe);
	ck_assert_str_eq(id->exe, exe);
	if (cg) {
		ck_assert_ptr_nonnull(id->cgroup);
		ck_assert_str_eq(id->cgroup, cg);
		ck_assert_int_eq(identity_unit_from_cgroup(cg, &unit), 0);
		if (unit)
			ck_assert_str_eq(id->unit, unit);
		else
			ck_assert_ptr_null(id->unit);
		if (!strcmp(cg, "/"))
			ck_assert_ptr_null(id->unit);
	} else {
		ck_assert_ptr_null(id->cgroup);
		ck_assert_ptr_null(id->unit);
	}
	free(unit);
	free(cg);
}

/* The label must be what SO_PEERSEC says, and nothing where it says nothing. */
static void expect_label(int fd, const struct identity *id)
{
	char buf[4097];
	socklen_t l = sizeof(buf) - 1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERSEC, buf, &l) < 0) {
		ck_assert_msg(errno == ENOPROTOOPT || errno == EINVAL, "SO_PEERSEC: %s", strerror(errno));
		ck_assert_ptr_null(id->label);
		return;
	}
	buf[l] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!buf[0]) {
		ck_assert_ptr_null(id->label);
	} else {
		ck_assert_ptr_nonnull(id->label);
		ck_assert_str_eq(id->label, buf);
	}
}

START_TEST(read_self)
{
	int before = count_fds(), sv[2], pidfd;
	struct identity id;
	struct ucred cred;
	gid_t *groups;
	size_t ngroups;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cred = peer_cred(sv[0]);
	ck_assert_int_eq(cred.pid, getpid());

	/* With a pidfd (where the kernel has SO_PEERPIDFD). */
	pidfd = peer_pidfd(sv[0]);
	if (pidfd >= 0) {
		groups = peer_groups(sv[0], &ngroups);
		ck_assert_int_eq(identity_read(sv[0], &cred, groups, ngroups, pidfd, &id), 0);
		expect_self(&id);
		expect_label(sv[0], &id);
		ck_assert_int_eq(id.pidfd, pidfd);      /* taken, not copied */
		ck_assert_ptr_eq(id.groups, groups);
		ck_assert_uint_eq(id.ngroups, ngroups);
		identity_free(&id);
		ck_assert_int_eq(id.pidfd, -1);
		ck_assert_int_eq(fcntl(pidfd, F_GETFD), -1);   /* closed by identity_free */
	}

	/* Without: the pid from SO_PEERCRED and the start-time check. */
	ck_assert_int_eq(identity_read(sv[0], &cred, NULL, 0, -1, &id), 0);
	expect_self(&id);
	expect_label(sv[0], &id);
	ck_assert_ptr_null(id.groups);
	identity_free(&id);

	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* A connection made by a child process: the child connects to an abstract
 * socket we listen on, then execs argv (when given) or waits for a byte on
 * *go (or its closing) and exits. Returns our end; *child is its pid. With
 * argv, returns only once the exec has happened. */
static int child_connection(pid_t *child, int *go, char *const argv[])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static int serial;
	socklen_t salen;
	int lfd, fd, p[2], done[2];
	char c;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "sbd-check-identity-%d-%d", (int)getpid(), serial++);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, salen), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(done, O_CLOEXEC), 0);
	*child = fork();
	ck_assert_int_ge(*child, 0);
	if (*child == 0) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);   /* no CLOEXEC: it lives on in argv */

		close(p[1]);
		close(done[0]);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, salen) < 0)
			_exit(2);
		if (argv) {
			execvp(argv[0], argv);
			_exit(3);
		}
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	close(done[1]);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(lfd);
	/* EOF once the child has exec'd (the CLOEXEC write end is gone). */
	if (argv)
		ck_assert_int_eq(read(done[0], &c, 1), 0);
	close(done[0]);
	*go = p[1];
	return fd;
}

static void reap(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

START_TEST(read_peer_that_execd)
{
	char *argv[] = { (char *)"sleep", (char *)"60", NULL };
	int before = count_fds(), go, fd, pidfd;
	char path[64];
	char *want;
	struct identity id;
	struct ucred cred;
	pid_t child;

	fd = child_connection(&child, &go, argv);
	cred = peer_cred(fd);
	ck_assert_int_eq(cred.pid, child);
	pidfd = peer_pidfd(fd);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)child);
	ck_assert_ptr_nonnull(link_of(path));
	want = strdup(link_of(path));
	ck_assert_ptr_nonnull(want);
	ck_assert_str_ne(want, link_of("/proc/self/exe"));
	ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, pidfd, &id), 0);
	ck_assert_msg(id.error == NULL, "error: %s", id.error);
	ck_assert_int_eq(id.pid, child);
	ck_assert_str_eq(id.exe, want);
	identity_free(&id);

	ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, -1, &id), 0);
	ck_assert_msg(id.error == NULL, "error: %s", id.error);
	ck_assert_str_eq(id.exe, want);
	identity_free(&id);

	free(want);
	kill(child, SIGKILL);
	reap(child);
	close(go);
	close(fd);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

static void expect_exited(const struct identity *id)
{
	ck_assert_ptr_nonnull(id->error);
	ck_assert_str_eq(id->error, EXITED);
	ck_assert_ptr_null(id->exe);
	ck_assert_ptr_null(id->cgroup);
	ck_assert_ptr_null(id->unit);
}

/* The pidfd is taken while the child lives, as at accept; the child exits and
 * is reaped before identity_read: its pid is free, and nothing is believed. */
START_TEST(read_peer_exited_and_reaped)
{
	int before = count_fds(), go, fd, pidfd;
	struct identity id;
	struct ucred cred;
	pid_t child;
	char path[64];

	fd = child_connection(&child, &go, NULL);
	cred = peer_cred(fd);
	ck_assert_int_eq(cred.pid, child);
	pidfd = peer_pidfd(fd);
	close(go);
	reap(child);

	if (pidfd >= 0) {
		ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, pidfd, &id), 0);
		expect_exited(&id);
		identity_free(&id);
	}

	/* Without a pidfd: /proc/<pid> is gone (unless the pid was reused already,
	 * which is the window only a pidfd closes). */
	ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, -1, &id), 0);
	snprintf(path, sizeof(path), "/proc/%d", (int)child);
	if (access(path, F_OK) == 0)
		printf("SKIP (no-pidfd part): pid %d was reused at once\n", (int)child);
	else
		expect_exited(&id);
	identity_free(&id);

	close(fd);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* The client dies between the pidfd's fdinfo and the open of /proc/<pid>, and
 * its pid is taken by another process (here: us). Everything read then is the
 * other process's; the pidfd shows the client is gone, so none of it counts. */
START_TEST(read_peer_pid_recycled)
{
	int before = count_fds(), go, fd, pidfd;
	struct identity id;
	struct ucred cred;
	pid_t child;

	fd = child_connection(&child, &go, NULL);
	cred = peer_cred(fd);
	pidfd = peer_pidfd(fd);
	if (pidfd < 0) {
		close(go);
		reap(child);
		close(fd);
		return;
	}
	snprintf(recycle.from, sizeof(recycle.from), "/proc/%d", (int)child);
	recycle.victim = child;
	recycle.to = getpid();
	recycle.hits = 0;
	ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, pidfd, &id), 0);
	ck_assert_int_eq(recycle.hits, 1);
	expect_exited(&id);
	identity_free(&id);
	close(go);
	close(fd);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* As above, but the child is a zombie (exited, not reaped) when read. */
START_TEST(read_peer_zombie)
{
	int before = count_fds(), go, fd, pidfd;
	struct identity id;
	struct ucred cred;
	siginfo_t si;
	pid_t child;

	fd = child_connection(&child, &go, NULL);
	cred = peer_cred(fd);
	pidfd = peer_pidfd(fd);
	close(go);
	memset(&si, 0, sizeof(si));
	ck_assert_int_eq(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(si.si_pid, child);

	if (pidfd >= 0) {
		ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, pidfd, &id), 0);
		expect_exited(&id);
		identity_free(&id);
	}
	ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, -1, &id), 0);
	expect_exited(&id);
	identity_free(&id);

	reap(child);
	close(fd);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* SO_PEERPIDFD asked only after the peer was reaped: kernels that can still
 * hand out a pidfd then give one whose Pid is -1; older ones refuse. Either
 * way no identity is believed. */
START_TEST(pidfd_taken_after_reap)
{
	int before = count_fds(), go, fd, pidfd = -1;
	socklen_t l = sizeof(pidfd);
	struct identity id;
	struct ucred cred;
	pid_t child;

	fd = child_connection(&child, &go, NULL);
	cred = peer_cred(fd);
	close(go);
	reap(child);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &l) == 0) {
		char path[64];
		const char *pl;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
		pl = strstr(slurp(path), "Pid:");
		printf("INFO: SO_PEERPIDFD for a reaped peer gives a pidfd (%.*s)\n", pl ? (int)strcspn(pl, "\n") : 4,
		       pl ? pl : "none");
		ck_assert_int_eq(identity_read(fd, &cred, NULL, 0, pidfd, &id), 0);
		expect_exited(&id);
		identity_free(&id);
	} else {
		ck_assert_msg(errno == EINVAL || errno == ESRCH || errno == ENOPROTOOPT, "SO_PEERPIDFD: %s",
		              strerror(errno));
		printf("INFO: SO_PEERPIDFD for a reaped peer fails: %s\n", strerror(errno));
	}
	close(fd);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* A reader that may not read the peer's executable (the daemon not root, or
 * without CAP_SYS_PTRACE, the client another user) gets no exe, and the exe
 * unknown with the reason; the identity is established. Runs in a child that
 * drops to nobody; the peer is us (root). */
START_TEST(read_peer_exe_unreadable)
{
	int before = count_fds(), sv[2], p[2], st;
	char msg[512] = "";
	ssize_t n;
	pid_t child;

	if (geteuid() != 0) {
		if (ci())
			ck_abort_msg("this case needs root, and CI runs as root");
		printf("SKIP: reading another user's process needs to start as root\n");
		return;
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct ucred cred;
		socklen_t l = sizeof(cred);
		struct identity id;
		int pidfd = -1, r;

		close(p[0]);
		if (getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
			_exit(10);
		l = sizeof(pidfd);
		if (getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &l) < 0)
			pidfd = -1;
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(11);
		r = identity_read(sv[0], &cred, NULL, 0, pidfd, &id);
		dprintf(p[1], "%d|%s|%s|%s|%s", r, id.error ? id.error : "(null)", id.exe ? id.exe : "(null)",
		        id.exe_unknown ? id.exe_unknown : "(null)", id.cgroup ? "cgroup" : "(null)");
		identity_free(&id);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	ck_assert_int_gt(n, 0);
	msg[n] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d: %s", st, msg);
	{
		char want[256];
		char *cg = v2_line("/proc/self/cgroup");

		snprintf(want, sizeof(want), "0|(null)|(null)|cannot read /proc/%d/exe: Permission denied|%s",
		         (int)getpid(), cg ? "cgroup" : "(null)");
		ck_assert_str_eq(msg, want);
		free(cg);
	}
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Not a socket: the label cannot be read, so it is unknown, with the reason;
 * the rest is read, and the identity is established. */
START_TEST(read_label_error)
{
	int before = count_fds(), p[2];
	struct ucred cred = { .pid = getpid(), .uid = geteuid(), .gid = getegid() };
	struct identity id;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(identity_read(p[0], &cred, NULL, 0, -1, &id), 0);
	ck_assert_msg(id.error == NULL, "error: %s", id.error);
	ck_assert_ptr_null(id.label);
	ck_assert_ptr_nonnull(id.label_unknown);
	ck_assert_str_eq(id.label_unknown, "cannot read the security label of the client: Socket operation on non-socket");
	ck_assert_ptr_null(id.exe_unknown);
	ck_assert_ptr_nonnull(id.exe);
	identity_free(&id);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* A pid the kernel did not give (another pid namespace) is never looked up. */
START_TEST(read_no_pid)
{
	int before = count_fds(), sv[2];
	struct ucred cred = { .pid = 0, .uid = geteuid(), .gid = getegid() };
	struct identity id;
	gid_t *groups = malloc(2 * sizeof(gid_t));

	ck_assert_ptr_nonnull(groups);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(identity_read(sv[0], &cred, groups, 2, -1, &id), 0);
	ck_assert_ptr_nonnull(id.error);
	ck_assert_ptr_null(id.exe);
	ck_assert_ptr_eq(id.groups, groups);
	identity_free(&id);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* ------------------------------------------------------------ NSpid, status */

START_TEST(nspid_depth)
{
	unsigned d = 0;

	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("Pid:\t5\nNSpid:\t5\n", &d), 0);
	ck_assert_uint_eq(d, 1);
	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("Pid:\t5\nNSpid:\t5\t3\t1\n", &d), 0);
	ck_assert_uint_eq(d, 3);
	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("NSpid: 17 1", &d), 0);
	ck_assert_uint_eq(d, 2);
	/* An exited process: "-1", one namespace. */
	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("Pid:\t-1\nNSpid:\t-1\n", &d), 0);
	ck_assert_uint_eq(d, 1);
	d = 99;
	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("Pid:\t5\n", &d), -ENOENT);
	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("NSpid:\n", &d), -EINVAL);
	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("NSpid:\t5 x\n", &d), -EINVAL);
	ck_assert_int_eq(identity_nspid_depth_from_fdinfo("NSpid:\t99999999999\n", &d), -EINVAL);
	ck_assert_uint_eq(d, 99);
}
END_TEST

START_TEST(status_text)
{
	uid_t u = 1;
	gid_t g = 1, *groups = NULL;
	size_t n = 9;

	ck_assert_int_eq(identity_status_parse("Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n"
	                                       "Groups:\t4 24 27 \nNSpid:\t7\n", &u, &g, &groups, &n), 0);
	ck_assert_uint_eq(u, 1000);
	ck_assert_uint_eq(g, 100);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(groups[0], 4);
	ck_assert_uint_eq(groups[2], 27);
	free(groups);
	/* No supplementary groups: an empty line. */
	ck_assert_int_eq(identity_status_parse("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n", &u, &g, &groups, &n),
	                 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(groups);
	ck_assert_int_eq(identity_status_parse("Uid:\t4294967295\t0\t0\t0\nGid:\t1\nGroups:\n", &u, &g, &groups, &n),
	                 0);
	ck_assert_uint_eq(u, 4294967295u);
	free(groups);
}
END_TEST

START_TEST(status_garbage)
{
	static const char *const bad[] = {
		"Gid:\t0\nGroups:\t\n",                             /* no Uid */
		"Uid:\t0\nGroups:\t\n",                             /* no Gid */
		"Uid:\t0\nGid:\t0\n",                               /* no Groups */
		"Uid:\t0\nUid:\t1\nGid:\t0\nGroups:\n",             /* which one? */
		"Uid:\tx\nGid:\t0\nGroups:\n",
		"Uid:\t-1\nGid:\t0\nGroups:\n",
		"Uid:\t4294967296\nGid:\t0\nGroups:\n",
		"Uid:\t0\nGid:\t0\nGroups:\t1 two\n",
		"Uid:\t0\nGid:\t0\nGroups:\t99999999999\n",
		"Uid:\t0\nGid:\t0\nGroups:\t1\nGroups:\t2\n",
	};
	uid_t u = 7;
	gid_t g = 7, *groups = (gid_t *)&g;
	size_t n = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(identity_status_parse(bad[i], &u, &g, &groups, &n) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_uint_eq(u, 7);
	ck_assert_ptr_eq(groups, &g);
}
END_TEST

/* ------------------------------------------------------------ writers */

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif

/* sv[1] reads with its writers attached; fails without pidfds under CI. */
static bool writer_pair(int sv[2])
{
	int one = 1;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	if (setsockopt(sv[1], SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) == 0)
		return true;
	if (ci())
		ck_abort_msg("SO_PASSPIDFD is not supported by this kernel, and CI=true requires it");
	printf("SKIP (writer part): SO_PASSPIDFD not supported by this kernel\n");
	close(sv[0]);
	close(sv[1]);
	return false;
}

/* One read from sv[1] of what the writer wrote: its credentials and pidfd. */
static struct fdpass_sender read_writer(int fd)
{
	struct fdpass_sender who;
	char buf[64];

	ck_assert_int_gt(fdpass_recv_from(fd, buf, sizeof(buf), 0, NULL, 0, NULL, NULL, &who), 0);
	ck_assert(who.have_cred);
	ck_assert_int_ge(who.pidfd, 0);
	return who;
}

START_TEST(read_sender_self)
{
	int before = count_fds(), sv[2], n;
	struct fdpass_sender who;
	struct ucred cred;
	struct identity id;
	gid_t groups[256];

	if (!writer_pair(sv))
		return;
	ck_assert_int_eq(write(sv[0], "x", 1), 1);
	who = read_writer(sv[1]);
	cred = (struct ucred){ .pid = who.pid, .uid = who.uid, .gid = who.gid };
	ck_assert_int_eq(identity_read_sender(&cred, who.pidfd, "the socket's label", NULL, &id), 0);
	ck_assert_msg(id.error == NULL, "error: %s", id.error);
	ck_assert_int_eq(id.pid, getpid());
	ck_assert_int_eq(id.peer_pid, getpid());
	ck_assert_uint_eq(id.uid, getuid());
	ck_assert_uint_eq(id.gid, getgid());
	ck_assert_str_eq(id.exe, link_of("/proc/self/exe"));
	ck_assert_str_eq(id.label, "the socket's label");
	ck_assert_int_eq(id.pidfd, who.pidfd);
	n = getgroups(256, groups);
	ck_assert_int_ge(n, 0);
	ck_assert_uint_eq(id.ngroups, (size_t)n);
	for (int i = 0; i < n; i++)
		ck_assert_uint_eq(id.groups[i], groups[i]);
	identity_free(&id);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* The ids are the kernel's, from the time of writing: a process whose ids
 * are not those now (a set-user-ID program exec'd after writing) is not
 * identified. Without a pidfd nothing is. */
START_TEST(read_sender_ids_changed_or_no_pidfd)
{
	int before = count_fds(), sv[2];
	struct fdpass_sender who;
	struct ucred cred;
	struct identity id;

	if (!writer_pair(sv))
		return;
	ck_assert_int_eq(write(sv[0], "x", 1), 1);
	who = read_writer(sv[1]);
	cred = (struct ucred){ .pid = who.pid, .uid = who.uid + 1, .gid = who.gid };
	ck_assert_int_eq(identity_read_sender(&cred, who.pidfd, NULL, NULL, &id), 0);
	ck_assert_ptr_nonnull(id.error);
	ck_assert_msg(strstr(id.error, "changed its user or group"), "error: %s", id.error);
	ck_assert_ptr_null(id.groups);
	identity_free(&id);

	/* The connection's unknown label is the writer's too. */
	cred.uid = getuid();
	ck_assert_int_eq(identity_read_sender(&cred, -1, NULL, "the label is unknown", &id), 0);
	ck_assert_ptr_nonnull(id.error);
	ck_assert_msg(strstr(id.error, "no pidfd"), "error: %s", id.error);
	ck_assert(!id.retry);
	ck_assert_ptr_null(id.label);
	ck_assert_str_eq(id.label_unknown, "the label is unknown");
	identity_free(&id);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* A writer in a pid namespace nested below ours could be named by any
 * process with CAP_SYS_ADMIN over that namespace: not identified. */
START_TEST(read_sender_nested_pidns)
{
	int before = count_fds(), sv[2], st, hold[2];
	struct fdpass_sender who;
	struct ucred cred;
	struct identity id;
	pid_t child;
	char c;

	if (!writer_pair(sv))
		return;
	ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pid_t inner;

		close(hold[1]);
		/* As root a new pid namespace will do; otherwise a user namespace first. */
		if (unshare(CLONE_NEWPID) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWPID) < 0)
			_exit(2);
		inner = fork();
		if (inner < 0)
			_exit(3);
		if (inner == 0) {
			/* pid 1 of the new namespace writes, then lives until the
			 * test closes its end of hold. */
			if (write(sv[0], "x", 1) != 1)
				_exit(4);
			(void)!read(hold[0], &c, 1);
			_exit(0);
		}
		waitpid(inner, NULL, 0);
		_exit(0);
	}
	close(hold[0]);
	close(sv[0]);
	{
		struct pollfd pfd = { .fd = sv[1], .events = POLLIN };

		/* The child's exit (status 2) means no namespace could be made. */
		while (poll(&pfd, 1, 100) == 0) {
			if (waitpid(child, &st, WNOHANG) == child) {
				ck_assert(WIFEXITED(st));
				if (WEXITSTATUS(st) == 2 && !ci()) {
					printf("SKIP (nested pid namespace): cannot make one here\n");
					close(hold[1]);
					close(sv[1]);
					return;
				}
				ck_abort_msg("the namespace child exited with %d", WEXITSTATUS(st));
			}
		}
	}
	who = read_writer(sv[1]);
	cred = (struct ucred){ .pid = who.pid, .uid = who.uid, .gid = who.gid };
	ck_assert_int_eq(identity_read_sender(&cred, who.pidfd, NULL, NULL, &id), 0);
	ck_assert_ptr_nonnull(id.error);
	ck_assert_msg(strstr(id.error, "pid namespace nested"), "error: %s", id.error);
	identity_free(&id);
	close(hold[1]);
	reap(child);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Out of descriptors, the identity is incomplete but marked for reading
 * again; once descriptors are free, identity_read_socket completes it. */
START_TEST(read_socket_retry)
{
	int sv[2], st;
	pid_t child;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct identity id;
		struct rlimit rl, old;
		int fd, spare[64], n = 0;

		if (getrlimit(RLIMIT_NOFILE, &old) < 0)
			_exit(10);
		rl.rlim_cur = (rlim_t)count_fds() + 8;
		rl.rlim_max = old.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(11);
		/* Leave one descriptor: enough for the pidfd, not for /proc. */
		while ((fd = dup(0)) >= 0 && n < 64)
			spare[n++] = fd;
		if (n == 0)
			_exit(12);
		close(spare[--n]);
		if (identity_read_socket(sv[0], -1, &id) != 0)
			_exit(13);
		if (!id.error || !id.retry || !strstr(id.error, "Too many open files")) {
			fprintf(stderr, "error: %s retry %d\n", id.error ? id.error : "none", id.retry);
			_exit(14);
		}
		/* Descriptors back: the same reading now succeeds, pidfd kept (the
		 * pair was made by the test process: that is the peer). */
		while (n)
			close(spare[--n]);
		fd = id.pidfd;
		id.pidfd = -1;
		identity_free(&id);
		if (identity_read_socket(sv[0], fd, &id) != 0)
			_exit(15);
		if (id.error || id.retry || id.pid != getppid() || id.pidfd != fd) {
			fprintf(stderr, "error: %s\n", id.error ? id.error : "none");
			_exit(16);
		}
		identity_free(&id);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ------------------------------------------------------------ lint */

START_TEST(lint_delegated)
{
	ck_assert(policy_lint_cgroup_delegated("/user.slice/user-1000.slice/user@1000.service/app.slice/x.service"));
	ck_assert(policy_lint_cgroup_delegated("/user.slice/user-1000.slice/user@1000.service"));
	ck_assert(!policy_lint_cgroup_delegated("/user.slice/user-1000.slice/session-3.scope"));
	ck_assert(!policy_lint_cgroup_delegated("/system.slice/nginx.service"));
	ck_assert(!policy_lint_cgroup_delegated("/system.slice/xuser@1000.service"));
	ck_assert(!policy_lint_cgroup_delegated("/user@.service"));
	ck_assert(!policy_lint_cgroup_delegated("/"));
	ck_assert(policy_lint_unit_delegated("user@1000.service"));
	ck_assert(!policy_lint_unit_delegated("user-runtime-dir@1000.service"));
	ck_assert(!policy_lint_unit_delegated("nginx.service"));
	ck_assert(!policy_lint_unit_delegated("user@.service"));
}
END_TEST

/* Which rules get a warning, and what it says. */
START_TEST(lint_rules)
{
	static const char text[] =
	    "{\"version\": 1, \"rules\": ["
	    "{\"name\": \"exe\", \"match\": {\"uid\": 65534, \"exe\": \"/usr/bin/sleep\"}, \"allow\": [{\"action\": \"admin\"}]},"
	    "{\"name\": \"exe anyone\", \"match\": {\"exe\": \"/usr/bin/sleep\"}, \"allow\": [{\"action\": \"resolve\"}, {\"action\": \"admin\"}]},"
	    "{\"name\": \"user cgroup\", \"match\": {\"uid\": 1000, \"cgroup\": \"/user.slice/user-1000.slice/user@1000.service/app.slice\"}, \"allow\": [{\"action\": \"resolve\"}]},"
	    "{\"name\": \"user unit\", \"match\": {\"uid\": 1000, \"unit\": \"user@1000.service\"}, \"allow\": [{\"action\": \"resolve\"}]},"
	    "{\"name\": \"exe and label\", \"match\": {\"exe\": \"/usr/bin/sleep\", \"label\": \"x_t\"}, \"allow\": [{\"action\": \"admin\"}]},"
	    "{\"name\": \"exe and system unit\", \"match\": {\"exe\": \"/usr/bin/sleep\", \"unit\": \"a.service\"}, \"allow\": [{\"action\": \"admin\"}]},"
	    "{\"name\": \"exe and one user cgroup\", \"match\": {\"exe\": \"/usr/bin/sleep\", \"cgroup\": [\"/system.slice/a.service\", \"/user.slice/user-1000.slice/user@1000.service\"]}, \"allow\": [{\"action\": \"admin\"}]},"
	    "{\"name\": \"exe deny only\", \"match\": {\"exe\": \"/usr/bin/sleep\"}, \"deny\": [{\"action\": \"admin\"}]},"
	    "{\"name\": \"uid only\", \"match\": {\"uid\": 65534}, \"allow\": [{\"action\": \"admin\"}]},"
	    "{\"name\": \"session scope\", \"match\": {\"uid\": 1000, \"cgroup\": \"/user.slice/user-1000.slice/session-3.scope\"}, \"allow\": [{\"action\": \"admin\"}]}"
	    "]}";
	static const struct {
		const char *name;
		const char *want;   /* NULL: no warning */
	} cases[] = {
		{ "exe", "allows admin to callers it tells apart, beyond user and group, only by their executable (exe)" },
		{ "exe anyone", "to every process of every user" },
		{ "user cgroup", "a cgroup below a user manager" },
		{ "user unit", "a user manager's unit" },
		{ "exe and label", NULL },
		{ "exe and system unit", NULL },
		{ "exe and one user cgroup", "their executable (exe) and a cgroup below a user manager" },
		{ "exe deny only", NULL },
		{ "uid only", NULL },
		{ "session scope", NULL },
	};
	char dir[] = "/tmp/check-identity-lint.XXXXXX", path[64];
	struct policy_error err;
	struct policy *p = NULL;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.json", dir);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_msg(policy_load(path, false, &p, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(policy_nrules(p), sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < policy_nrules(p); i++) {
		char *w = (char *)"untouched";

		ck_assert_str_eq(policy_rule_name(p, i), cases[i].name);
		ck_assert_int_eq(policy_lint_rule(p, i, &w), 0);
		if (!cases[i].want) {
			ck_assert_msg(w == NULL, "rule \"%s\": %s", cases[i].name, w);
			continue;
		}
		ck_assert_msg(w && strstr(w, cases[i].want), "rule \"%s\": %s", cases[i].name, w ? w : "(none)");
		ck_assert(strstr(w, "section 9"));
		free(w);
	}
	{
		char *w = (char *)"untouched";

		ck_assert_int_eq(policy_lint_rule(p, policy_nrules(p), &w), -ENOENT);
		ck_assert_ptr_null(w);
	}
	policy_free(p);
	rm_rf(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("identity");
	TCase *parse = tcase_create("parse");
	TCase *live = tcase_create("read");

	tcase_add_test(parse, fdinfo_normal);
	tcase_add_test(parse, fdinfo_exited_and_missing);
	tcase_add_test(parse, fdinfo_garbage_and_huge);
	tcase_add_test(parse, cgroup_text);
	tcase_add_test(parse, unit_examples);
	tcase_add_test(parse, unit_edges);
	tcase_add_test(parse, unit_name_length);
	tcase_add_test(parse, stat_text);
	tcase_add_test(parse, nspid_depth);
	tcase_add_test(parse, status_text);
	tcase_add_test(parse, status_garbage);
	tcase_add_test(parse, lint_delegated);
	tcase_add_test(parse, lint_rules);
	suite_add_tcase(s, parse);
	tcase_add_test(live, free_is_safe);
	tcase_add_test(live, read_self);
	tcase_add_test(live, read_peer_that_execd);
	tcase_add_test(live, read_peer_exited_and_reaped);
	tcase_add_test(live, read_peer_zombie);
	tcase_add_test(live, read_peer_pid_recycled);
	tcase_add_test(live, pidfd_taken_after_reap);
	tcase_add_test(live, read_peer_exe_unreadable);
	tcase_add_test(live, read_label_error);
	tcase_add_test(live, read_no_pid);
	tcase_add_test(live, read_sender_self);
	tcase_add_test(live, read_sender_ids_changed_or_no_pidfd);
	tcase_add_test(live, read_sender_nested_pidns);
	tcase_add_test(live, read_socket_retry);
	suite_add_tcase(s, live);
	return unit_run(s);
}
