/* Hostile (issue 10, item 2): the control socket's path is raced by a process
 * that keeps putting a symlink to a victim file where the socket goes, while
 * the daemon is started again and again. The daemon must never change the
 * victim: it gives the socket its mode at bind time and follows no link on
 * that path, and it refuses a socket directory that another user can write.
 * Bounded by a count of restarts; every wait is on an event (readiness, the
 * daemon's exit), never a sleep. Needs root (the racer drops to nobody). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness.h"

#define NOBODY 65534
/* Restarts per test: the unfixed daemon lost the victim within about a
 * hundred on an idle machine. */
#define RESTARTS 400

struct race {
	char dir[64], sockdir[96], sock[128], victim[96], pol[96], notify[96], log[96];
	int notify_fd;
	pid_t racer;                /* 0: none */
	const char *mode;           /* --socket-mode, NULL: the default */
	bool keep;                  /* leave a started daemon running (kept) */
	pid_t kept;
	int started, refused;
};

/* The racer: a symlink to the victim renamed onto the socket's path, then
 * removed so that the daemon finds the path free again, for ever. */
static void racer_main(struct race *r, bool as_nobody)
{
	char tmp[160];

	if (as_nobody && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0))
		_exit(2);
	snprintf(tmp, sizeof(tmp), "%s/.link", r->sockdir);
	for (;;) {
		if (symlink(r->victim, tmp) < 0 && errno != EEXIST)
			_exit(3);
		if (rename(tmp, r->sock) < 0)
			_exit(4);
		unlink(r->sock);
	}
}

static void setup_race(struct race *r, bool hostile_dir, bool with_racer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memset(r, 0, sizeof(*r));
	/* nobody must reach the socket's directory, and nothing else. */
	hx_private_dir(r->dir, sizeof(r->dir), "h10race", 0711);
	snprintf(r->sockdir, sizeof(r->sockdir), "%s/run", r->dir);
	snprintf(r->sock, sizeof(r->sock), "%s/control.sock", r->sockdir);
	snprintf(r->victim, sizeof(r->victim), "%s/victim", r->dir);
	snprintf(r->pol, sizeof(r->pol), "%s/policy.d", r->dir);
	snprintf(r->notify, sizeof(r->notify), "%s/notify.sock", r->dir);
	snprintf(r->log, sizeof(r->log), "%s/daemon.log", r->dir);
	ck_assert_int_eq(mkdir(r->sockdir, 0755), 0);
	if (hostile_dir)
		ck_assert_int_eq(chown(r->sockdir, NOBODY, NOBODY), 0);
	ck_assert_int_eq(mkdir(r->pol, 0755), 0);
	fd = open(r->victim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0600), 0);
	close(fd);
	r->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(r->notify_fd, 0);
	memcpy(sa.sun_path, r->notify, strlen(r->notify));
	ck_assert_int_eq(bind(r->notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (!with_racer)
		return;
	r->racer = fork();
	ck_assert_int_ge(r->racer, 0);
	if (r->racer == 0)
		racer_main(r, hostile_dir);
}

/* One start of the daemon: ready (then stopped with SIGTERM) or refused. */
static void one_start(struct race *r)
{
	char buf[512];
	pid_t pid = fork();
	int pfd, st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int lfd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (lfd >= 0)
			dup2(lfd, STDERR_FILENO);
		setenv("NOTIFY_SOCKET", r->notify, 1);
		unsetenv("LISTEN_FDS");
		execl(sbd_path(), sbd_path(), "--socket", r->sock, "--policy", r->pol, "--log-level", "warning",
		      "--socket-mode", r->mode ? r->mode : "0666", (char *)NULL);
		_exit(127);
	}
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_int_ge(pfd, 0);
	for (;;) {
		struct pollfd p[2] = { { .fd = r->notify_fd, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
		int n = poll(p, 2, 30000);
		ck_assert_msg(n > 0, "the daemon neither became ready nor exited in 30 s");
		if (p[0].revents & POLLIN) {
			ssize_t k = recv(r->notify_fd, buf, sizeof(buf) - 1, 0);
			ck_assert_int_ge(k, 0);
			buf[k] = '\0';
			if (strstr(buf, "READY=1")) {
				r->started++;
				if (r->keep) {
					r->kept = pid;
					close(pfd);
					return;
				}
				kill(pid, SIGTERM);
				break;
			}
			continue;
		}
		r->refused++;
		break;
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(pfd);
	/* Readiness that came after the exit stays queued: drop it. */
	while (recv(r->notify_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void stop_kept(struct race *r)
{
	int st;

	ck_assert_int_gt(r->kept, 0);
	kill(r->kept, SIGTERM);
	ck_assert_int_eq(waitpid(r->kept, &st, 0), r->kept);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the daemon's exit status %d", st);
	r->kept = 0;
}

static void victim_untouched(const struct race *r, int round)
{
	struct stat st;

	ck_assert_int_eq(lstat(r->victim, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0600 && st.st_uid == 0,
	              "after %d restarts the victim is mode %04o uid %u: the daemon changed a file through a symlink",
	              round, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
}

static void teardown_race(struct race *r)
{
	char cmd[200];

	if (r->racer > 0) {
		kill(r->racer, SIGKILL);
		waitpid(r->racer, NULL, 0);
	}
	close(r->notify_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static bool log_has(const struct race *r, const char *needle)
{
	FILE *f = fopen(r->log, "r");
	char line[1024];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* The racer is nobody, in a directory nobody owns: the daemon must not start
 * there at all, and the victim keeps its mode. */
START_TEST(hostile_directory_refused)
{
	struct race r;

	harness_require_root("a racer as another user");
	setup_race(&r, true, true);
	for (int i = 1; i <= RESTARTS; i++) {
		one_start(&r);
		victim_untouched(&r, i);
	}
	ck_assert_msg(r.started == 0, "the daemon started %d times in a directory uid %d can write", r.started,
	              NOBODY);
	ck_assert_msg(log_has(&r, "owned by uid 65534, who could replace it"),
	              "no refusal naming the directory's owner in %s", r.log);
	teardown_race(&r);
}
END_TEST

/* Even a racer the directory's rules cannot stop (root itself, in root's
 * 0755 directory) never gets a mode change through a link: the daemon
 * follows none on that path. */
START_TEST(no_link_followed)
{
	struct race r;

	harness_require_root("a root-owned socket directory");
	setup_race(&r, false, true);
	for (int i = 1; i <= RESTARTS; i++) {
		one_start(&r);
		victim_untouched(&r, i);
	}
	/* Some starts won the race against the racer's link: those are the ones
	 * that matter. */
	ck_assert_msg(r.started > 0, "the daemon never started (%d refused)", r.refused);
	teardown_race(&r);
}
END_TEST

/* A sticky directory owned by root (/tmp) lets nobody rename or remove root's
 * entries: a socket directly in it is fine, and is born with its mode. A
 * plain world-writable one is refused. */
START_TEST(sticky_and_world_writable)
{
	struct race r;
	struct stat st;

	harness_require_root("root-owned directories");
	setup_race(&r, false, false);
	ck_assert_int_eq(chmod(r.sockdir, 01777), 0);
	r.mode = "0660";
	r.keep = true;
	one_start(&r);
	ck_assert_msg(r.started == 1, "no start in a sticky root-owned directory (log %s)", r.log);
	ck_assert_int_eq(lstat(r.sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	stop_kept(&r);
	r.keep = false;
	ck_assert_int_eq(chmod(r.sockdir, 0777), 0);
	one_start(&r);
	ck_assert_msg(r.started == 1 && r.refused == 1, "the daemon started in a world-writable directory");
	ck_assert_msg(log_has(&r, "writable by every user"), "no refusal naming the writable directory in %s", r.log);
	teardown_race(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("h10_socket_race");
	TCase *t = tcase_create("race");

	tcase_set_timeout(t, 300);
	tcase_add_test(t, hostile_directory_refused);
	tcase_add_test(t, no_link_followed);
	tcase_add_test(t, sticky_and_world_writable);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
