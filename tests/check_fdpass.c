#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "unit.h"
#include "util.h"

static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void make_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

static bool is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	ck_assert_int_ge(fl, 0);
	return fl & FD_CLOEXEC;
}

static ino_t inode_of(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

/* A pipe's write end crosses the socket, arrives CLOEXEC, and still works. */
START_TEST(test_pipe_roundtrip)
{
	int base = count_fds(), sv[2], p[2], fds[4] = { -1, -1, -1, -1 };
	char buf[16] = "";
	size_t nfds = 99;
	bool trunc = true;

	make_pair(sv);
	make_pipe(p);
	/* send an inheritable copy, so CLOEXEC on arrival comes from us */
	{
		int inh = dup(p[1]);

		ck_assert_int_ge(inh, 0);
		ck_assert(!is_cloexec(inh));
		ck_assert_int_eq(fdpass_send(sv[0], "hi", 2, 0, &inh, 1), 2);
		close(inh);
	}
	close(p[1]);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, fds, 4, &nfds, &trunc), 2);
	ck_assert(memcmp(buf, "hi", 2) == 0);
	ck_assert_uint_eq(nfds, 1);
	ck_assert(!trunc);
	ck_assert(is_cloexec(fds[0]));
	ck_assert_int_eq(write(fds[0], "xyz", 3), 3);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 3);
	ck_assert(memcmp(buf, "xyz", 3) == 0);
	close(fds[0]);
	/* the only write end is gone: EOF on the pipe */
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Several descriptors keep their order. */
START_TEST(test_order)
{
	int base = count_fds(), sv[2], p[3][2], out[3], in[8];
	ino_t ino[3];
	size_t nfds;
	bool trunc;
	char c;

	make_pair(sv);
	for (int i = 0; i < 3; i++) {
		make_pipe(p[i]);
		out[i] = p[i][1];
		ino[i] = inode_of(p[i][1]);
	}
	ck_assert_int_eq(fdpass_send(sv[0], "m", 1, 0, out, 3), 1);
	ck_assert_int_eq(fdpass_recv(sv[1], &c, 1, 0, in, 8, &nfds, &trunc), 1);
	ck_assert_uint_eq(nfds, 3);
	ck_assert(!trunc);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(inode_of(in[i]), ino[i]);
		ck_assert(is_cloexec(in[i]));
		close(in[i]);
		close(p[i][0]);
		close(p[i][1]);
	}
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_zero_fds)
{
	int base = count_fds(), sv[2], fds[2] = { -7, -7 };
	char buf[8];
	size_t nfds = 5;
	bool trunc = true;

	make_pair(sv);
	ck_assert_int_eq(fdpass_send(sv[0], "abc", 3, 0, NULL, 0), 3);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, fds, 2, &nfds, &trunc), 3);
	ck_assert_uint_eq(nfds, 0);
	ck_assert(!trunc);
	ck_assert_int_eq(fds[0], -7);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Sends n copies of a pipe end, receives with maxfds: truncated, nothing kept. */
static void check_too_many(size_t sent, size_t maxfds)
{
	int base = count_fds(), sv[2], p[2], out[8], in[8];
	char buf[8];
	size_t nfds = 42;
	bool trunc = false;

	make_pair(sv);
	make_pipe(p);
	for (size_t i = 0; i < sent; i++)
		out[i] = p[1];
	ck_assert_int_eq(fdpass_send(sv[0], "abcd", 4, 0, out, sent), 4);
	close(p[1]);
	for (size_t i = 0; i < 8; i++)
		in[i] = -1;
	/* the bytes still come */
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, in, maxfds, &nfds, &trunc), 4);
	ck_assert(memcmp(buf, "abcd", 4) == 0);
	ck_assert_uint_eq(nfds, 0);
	ck_assert(trunc);
	/* every copy of the write end was closed: the pipe reads EOF */
	ck_assert_int_eq(read(p[0], buf, 1), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}

/* CMSG_SPACE(1 int) has room for 2: the kernel delivers both, we drop them. */
START_TEST(test_more_than_maxfds)
{
	check_too_many(2, 1);
}
END_TEST

/* CMSG_SPACE(2 ints) holds exactly 2: the kernel truncates (MSG_CTRUNC). */
START_TEST(test_ctrunc)
{
	check_too_many(3, 2);
	check_too_many(8, 3);
}
END_TEST

START_TEST(test_maxfds_zero)
{
	check_too_many(1, 0);
}
END_TEST

START_TEST(test_eof)
{
	int base = count_fds(), sv[2], fds[2];
	char buf[8];
	size_t nfds = 3;
	bool trunc = true;

	make_pair(sv);
	close(sv[0]);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, fds, 2, &nfds, &trunc), 0);
	ck_assert_uint_eq(nfds, 0);
	ck_assert(!trunc);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

START_TEST(test_errors)
{
	int base = count_fds(), sv[2], fds[2], p[2];
	char buf[8];
	size_t nfds;
	bool trunc;
	int many[FDPASS_MAX_FDS + 1];

	make_pair(sv);
	/* caller flags pass through: nothing queued */
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT, fds, 2, &nfds, &trunc),
	                 -EAGAIN);
	/* beyond what the kernel accepts */
	make_pipe(p);
	for (size_t i = 0; i < FDPASS_MAX_FDS + 1; i++)
		many[i] = p[0];
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, 0, many, FDPASS_MAX_FDS + 1), -EINVAL);
	/* no SIGPIPE (the test would die), just -EPIPE */
	close(sv[1]);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, 0, NULL, 0), -EPIPE);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, 0, p, 2), -EPIPE);
	ck_assert_int_eq(fdpass_recv(-1, buf, sizeof(buf), 0, fds, 2, &nfds, &trunc), -EBADF);
	close(sv[0]);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* The full FDPASS_MAX_FDS fit one message and come back in order. */
START_TEST(test_max_fds)
{
	int base = count_fds(), sv[2], p[2], out[FDPASS_MAX_FDS], in[FDPASS_MAX_FDS];
	size_t nfds;
	bool trunc;
	char c;

	make_pair(sv);
	make_pipe(p);
	for (size_t i = 0; i < FDPASS_MAX_FDS; i++)
		out[i] = i % 2 ? p[0] : p[1];
	ck_assert_int_eq(fdpass_send(sv[0], "z", 1, 0, out, FDPASS_MAX_FDS), 1);
	ck_assert_int_eq(fdpass_recv(sv[1], &c, 1, 0, in, FDPASS_MAX_FDS, &nfds, &trunc), 1);
	ck_assert(!trunc);
	ck_assert_uint_eq(nfds, FDPASS_MAX_FDS);
	for (size_t i = 0; i < nfds; i++) {
		ck_assert_uint_eq(inode_of(in[i]), inode_of(out[i]));
		ck_assert(is_cloexec(in[i]));
		ck_assert_int_eq(fcntl(in[i], F_GETFL) & O_ACCMODE, i % 2 ? O_RDONLY : O_WRONLY);
		close(in[i]);
	}
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* The kernel ends a read after a segment carrying descriptors. */
START_TEST(test_read_stops_after_fds)
{
	int base = count_fds(), sv[2], p[2], in[4];
	char buf[64];
	size_t nfds;
	bool trunc;

	make_pair(sv);
	make_pipe(p);
	ck_assert_int_eq(send(sv[0], "A\n", 2, MSG_NOSIGNAL), 2);
	ck_assert_int_eq(fdpass_send(sv[0], "B\n", 2, 0, p, 1), 2);
	ck_assert_int_eq(fdpass_send(sv[0], "C\n", 2, 0, p + 1, 1), 2);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT, in, 4, &nfds, &trunc), 4);
	ck_assert(memcmp(buf, "A\nB\n", 4) == 0);
	ck_assert_uint_eq(nfds, 1);
	ck_assert_uint_eq(inode_of(in[0]), inode_of(p[0]));
	close(in[0]);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT, in, 4, &nfds, &trunc), 2);
	ck_assert_uint_eq(nfds, 1);
	close(in[0]);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Callers that do not want the descriptors get them closed. */
START_TEST(test_null_outputs)
{
	int base = count_fds(), sv[2], p[2], in[2];
	char buf[8];

	make_pair(sv);
	make_pipe(p);
	ck_assert_int_eq(fdpass_send(sv[0], "ab", 2, 0, p, 2), 2);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, in, 2, NULL, NULL), 2);
	close(p[1]);
	ck_assert_int_eq(read(p[0], buf, 1), 0); /* the received write end is gone too */
	ck_assert_int_eq(fdpass_send(sv[0], "c", 1, 0, p, 1), 1);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, NULL, 4, NULL, NULL), 1);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* The control buffer is sized for maxfds only (protocol: CMSG_SPACE(maxfds *
 * sizeof(int))). Other control messages are skipped, but with SO_PASSCRED on
 * the credentials take room the descriptors needed, so they come back as
 * truncated: sockets read with fdpass_recv must not enable SO_PASSCRED. */
START_TEST(test_passcred)
{
	int base = count_fds(), sv[2], p[2], in[4], one = 1;
	char buf[8];
	size_t nfds;
	bool trunc;

	make_pair(sv);
	make_pipe(p);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	ck_assert_int_eq(fdpass_send(sv[0], "ab", 2, 0, NULL, 0), 2);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, in, 4, &nfds, &trunc), 2);
	ck_assert_uint_eq(nfds, 0);
	ck_assert(!trunc);
	ck_assert_int_eq(fdpass_send(sv[0], "cd", 2, 0, p, 1), 2);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), 0, in, 4, &nfds, &trunc), 2);
	ck_assert_uint_eq(nfds, 0);
	ck_assert(trunc);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif

/* A receiving socket that gets its writer with every read (the daemon's
 * control connections). has_pidfd: the kernel has SO_PASSPIDFD. */
static void make_cred_pair(int sv[2], bool *has_pidfd)
{
	int one = 1;

	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	*has_pidfd = setsockopt(sv[1], SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) == 0;
}

/* The "Pid:" of a pidfd's fdinfo. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[256];
	FILE *f;
	int pid = -2;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

/* Credentials and pidfd come with the bytes, and room for them is kept after
 * as many descriptors as maxfds allows. */
START_TEST(test_recv_from_self)
{
	int base = count_fds(), sv[2], p[2], out[4], in[4];
	struct fdpass_sender who;
	char buf[8];
	size_t nfds;
	bool trunc, has_pidfd;

	make_cred_pair(sv, &has_pidfd);
	make_pipe(p);
	for (int i = 0; i < 4; i++)
		out[i] = p[1];
	for (size_t n = 0; n <= 4; n += 4) {
		ck_assert_int_eq(fdpass_send(sv[0], "ab", 2, 0, n ? out : NULL, n), 2);
		ck_assert_int_eq(fdpass_recv_from(sv[1], buf, sizeof(buf), 0, in, 4, &nfds, &trunc, &who), 2);
		ck_assert(!trunc);
		ck_assert_uint_eq(nfds, n);
		close_fds(in, nfds);
		ck_assert(who.have_cred);
		ck_assert_int_eq(who.pid, getpid());
		ck_assert_uint_eq(who.uid, getuid());
		ck_assert_uint_eq(who.gid, getgid());
		ck_assert_int_eq(who.pidfd_error, 0);
		if (has_pidfd) {
			ck_assert_int_ge(who.pidfd, 0);
			ck_assert(is_cloexec(who.pidfd));
			ck_assert_int_eq(pidfd_pid(who.pidfd), getpid());
			close(who.pidfd);
		} else {
			ck_assert_int_eq(who.pidfd, -1);
		}
	}
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Bytes of two writers never come back from one read, and each names its own. */
START_TEST(test_recv_from_two_writers)
{
	int base = count_fds(), sv[2], status;
	struct fdpass_sender who;
	char buf[16];
	bool has_pidfd;
	pid_t child;

	make_cred_pair(sv, &has_pidfd);
	ck_assert_int_eq(fdpass_send(sv[0], "p1", 2, 0, NULL, 0), 2);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(fdpass_send(sv[0], "c", 1, 0, NULL, 0) == 1 ? 0 : 1);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(fdpass_send(sv[0], "p2", 2, 0, NULL, 0), 2);

	ck_assert_int_eq(fdpass_recv_from(sv[1], buf, sizeof(buf), 0, NULL, 0, NULL, NULL, &who), 2);
	ck_assert(memcmp(buf, "p1", 2) == 0);
	ck_assert_int_eq(who.pid, getpid());
	safe_close(who.pidfd);
	ck_assert_int_eq(fdpass_recv_from(sv[1], buf, sizeof(buf), 0, NULL, 0, NULL, NULL, &who), 1);
	ck_assert_int_eq(buf[0], 'c');
	ck_assert(who.have_cred);
	ck_assert_int_eq(who.pid, child);
	/* The writer is gone (reaped): a kernel may still give a pidfd for it,
	 * or none; either way nothing leaks. */
	safe_close(who.pidfd);
	ck_assert_int_eq(fdpass_recv_from(sv[1], buf, sizeof(buf), 0, NULL, 0, NULL, NULL, &who), 2);
	ck_assert(memcmp(buf, "p2", 2) == 0);
	ck_assert_int_eq(who.pid, getpid());
	safe_close(who.pidfd);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Without SO_PASSCRED nothing names the writer. */
START_TEST(test_recv_from_no_passcred)
{
	int base = count_fds(), sv[2];
	struct fdpass_sender who;
	char buf[8];

	make_pair(sv);
	ck_assert_int_eq(fdpass_send(sv[0], "ab", 2, 0, NULL, 0), 2);
	ck_assert_int_eq(fdpass_recv_from(sv[1], buf, sizeof(buf), 0, NULL, 0, NULL, NULL, &who), 2);
	ck_assert(!who.have_cred);
	ck_assert_int_eq(who.pidfd, -1);
	ck_assert_int_eq(who.pidfd_error, 0);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* More descriptors than maxfds: all of them dropped and the read marked
 * truncated, but the writer's credentials still come, and any pidfd that
 * came is the caller's to close. */
START_TEST(test_recv_from_too_many_fds)
{
	int base = count_fds(), sv[2], p[2], out[8], in[2];
	struct fdpass_sender who;
	char buf[8];
	size_t nfds;
	bool trunc, has_pidfd;

	make_cred_pair(sv, &has_pidfd);
	make_pipe(p);
	for (int i = 0; i < 8; i++)
		out[i] = p[1];
	ck_assert_int_eq(fdpass_send(sv[0], "ab", 2, 0, out, 8), 2);
	close(p[1]);
	ck_assert_int_eq(fdpass_recv_from(sv[1], buf, sizeof(buf), 0, in, 2, &nfds, &trunc, &who), 2);
	ck_assert(trunc);
	ck_assert_uint_eq(nfds, 0);
	ck_assert(who.have_cred);
	ck_assert_int_eq(who.pid, getpid());
	safe_close(who.pidfd);
	/* every copy of the write end was closed */
	ck_assert_int_eq(read(p[0], buf, 1), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), base);
}
END_TEST

/* Out of descriptors, the kernel cannot make the pidfd: it says so with
 * -EMFILE, the bytes and credentials still come. */
START_TEST(test_recv_from_emfile)
{
	int sv[2], status;
	bool has_pidfd;
	pid_t child;

	make_cred_pair(sv, &has_pidfd);
	if (!has_pidfd)
		return; /* nothing to run out of */
	ck_assert_int_eq(fdpass_send(sv[0], "ab", 2, 0, NULL, 0), 2);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct fdpass_sender who;
		struct rlimit rl;
		char buf[8];
		int fd;

		/* Fill the table up to a limit just above what is open. */
		fd = dup(0);
		if (fd < 0)
			_exit(10);
		close(fd);
		rl.rlim_cur = rl.rlim_max = (rlim_t)count_fds() + 2;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(11);
		while (dup(0) >= 0)
			;
		if (errno != EMFILE)
			_exit(12);
		if (fdpass_recv_from(sv[1], buf, sizeof(buf), 0, NULL, 0, NULL, NULL, &who) != 2)
			_exit(13);
		if (!who.have_cred || who.pid != getppid() || who.pidfd != -1 || who.pidfd_error != -EMFILE)
			_exit(14);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *fdpass_suite(void)
{
	Suite *s = suite_create("fdpass");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_pipe_roundtrip);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_zero_fds);
	tcase_add_test(tc, test_more_than_maxfds);
	tcase_add_test(tc, test_ctrunc);
	tcase_add_test(tc, test_maxfds_zero);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_max_fds);
	tcase_add_test(tc, test_read_stops_after_fds);
	tcase_add_test(tc, test_null_outputs);
	tcase_add_test(tc, test_passcred);
	tcase_add_test(tc, test_recv_from_self);
	tcase_add_test(tc, test_recv_from_two_writers);
	tcase_add_test(tc, test_recv_from_no_passcred);
	tcase_add_test(tc, test_recv_from_too_many_fds);
	tcase_add_test(tc, test_recv_from_emfile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(fdpass_suite());
}
