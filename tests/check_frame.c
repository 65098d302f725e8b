#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "frame.h"
#include "unit.h"
#include "util.h"

#define MAXFDS_T 8

/* ---------------------------------------------------------------- helpers */

static int fd_base;

static void fds_setup(void)
{
	fd_base = count_fds();
}

/* Every test must give back every descriptor it made or received. */
static void fds_teardown(void)
{
	ck_assert_int_eq(count_fds(), fd_base);
}

static ino_t inode_of(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

/* A descriptor that is easy to recognise: the write end of a fresh pipe
 * (the read end is closed at once), identified by the pipe's inode. */
static int tagged_fd(ino_t *ino)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	if (ino)
		*ino = inode_of(p[1]);
	return p[1];
}

static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static int feed_str(struct frame_reader *r, const char *s, int *fds, size_t nfds)
{
	return frame_reader_feed(r, s, strlen(s), fds, nfds, false);
}

/* Next message must be `text` with `nfds` descriptors; released afterwards. */
static void expect_msg(struct frame_reader *r, const char *text, size_t nfds)
{
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_next(r, &m), 1);
	ck_assert_uint_eq(m.len, strlen(text));
	ck_assert_msg(memcmp(m.data, text, m.len) == 0, "got \"%.*s\", want \"%s\"",
	              (int)m.len, m.data, text);
	ck_assert_uint_eq(m.nfds, nfds);
	ck_assert(!m.fd_error);
	if (nfds == 0)
		ck_assert_ptr_null(m.fds);
	frame_msg_release(&m);
}

/* Next message must be `text` carrying descriptors with these inodes. */
static void expect_msg_ino(struct frame_reader *r, const char *text, const ino_t *ino, size_t nfds)
{
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_next(r, &m), 1);
	ck_assert_uint_eq(m.len, strlen(text));
	ck_assert(memcmp(m.data, text, m.len) == 0);
	ck_assert(!m.fd_error);
	ck_assert_uint_eq(m.nfds, nfds);
	for (size_t i = 0; i < nfds; i++)
		ck_assert_uint_eq(inode_of(m.fds[i]), ino[i]);
	frame_msg_release(&m);
}

static void expect_fd_error(struct frame_reader *r, const char *text)
{
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_next(r, &m), 1);
	ck_assert_uint_eq(m.len, strlen(text));
	ck_assert(memcmp(m.data, text, m.len) == 0);
	ck_assert(m.fd_error);
	ck_assert_uint_eq(m.nfds, 0);
	frame_msg_release(&m);
}

static void expect_none(struct frame_reader *r)
{
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_next(r, &m), 0);
	ck_assert_ptr_null(m.fds);
}

static uint64_t rng_state;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* ---------------------------------------------------------------- reader */

START_TEST(test_one_message)
{
	struct frame_reader r;

	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	expect_none(&r);
	ck_assert_int_eq(feed_str(&r, "{\"jsonrpc\":\"2.0\"}\n", NULL, 0), 0);
	ck_assert_uint_eq(frame_reader_partial(&r), 0);
	expect_msg(&r, "{\"jsonrpc\":\"2.0\"}", 0);
	expect_none(&r);
	frame_reader_free(&r);
	frame_reader_free(&r); /* zeroed: harmless */
}
END_TEST

START_TEST(test_several_in_one_feed)
{
	struct frame_reader r;

	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	ck_assert_int_eq(feed_str(&r, "a\nbb\nccc\ndd", NULL, 0), 0);
	ck_assert_uint_eq(frame_reader_partial(&r), 2);
	expect_msg(&r, "a", 0);
	expect_msg(&r, "bb", 0);
	expect_msg(&r, "ccc", 0);
	expect_none(&r);
	ck_assert_int_eq(feed_str(&r, "d\ne\n", NULL, 0), 0);
	expect_msg(&r, "ddd", 0);
	expect_msg(&r, "e", 0);
	expect_none(&r);
	frame_reader_free(&r);
}
END_TEST

START_TEST(test_byte_by_byte)
{
	static const char s[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.info\"}\n"
	                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"socket.pair\",\"params\":{\"pass\":true}}\n";
	struct frame_reader r;
	size_t got = 0;

	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	for (size_t i = 0; i < sizeof(s) - 1; i++) {
		struct frame_msg m;
		int ret;

		ck_assert_int_eq(frame_reader_feed(&r, s + i, 1, NULL, 0, false), 0);
		ret = frame_reader_next(&r, &m);
		if (s[i] == '\n') {
			ck_assert_int_eq(ret, 1);
			ck_assert_uint_eq(m.nfds, 0);
			got++;
			frame_msg_release(&m);
		} else {
			ck_assert_int_eq(ret, 0);
		}
	}
	ck_assert_uint_eq(got, 2);
	ck_assert_uint_eq(frame_reader_partial(&r), 0);
	frame_reader_free(&r);
}
END_TEST

/* The same bytes fed one at a time without draining, then all popped. */
START_TEST(test_byte_by_byte_undrained)
{
	static const char s[] = "one\ntwo\n\nfour";
	struct frame_reader r;

	ck_assert_int_eq(frame_reader_init(&r, 16, 4), 0);
	for (size_t i = 0; i < sizeof(s) - 1; i++)
		ck_assert_int_eq(frame_reader_feed(&r, s + i, 1, NULL, 0, false), 0);
	ck_assert_uint_eq(frame_reader_partial(&r), 4);
	expect_msg(&r, "one", 0);
	expect_msg(&r, "two", 0);
	expect_msg(&r, "", 0);
	expect_none(&r);
	frame_reader_free(&r);
}
END_TEST

/* 1 MiB fed a byte at a time, drained each time: quadratic scanning or
 * copying would not finish within the test timeout. */
START_TEST(test_linear_big_message)
{
	const size_t big = 1024 * 1024;
	struct frame_reader r;
	struct frame_msg m;
	char c = 'x';

	ck_assert_int_eq(frame_reader_init(&r, big, 4), 0);
	/* plain checks in the loop: every ck_assert is a write to Check's pipe */
	for (size_t i = 0; i < big; i++)
		if (frame_reader_feed(&r, &c, 1, NULL, 0, false) != 0 || frame_reader_next(&r, &m) != 0)
			ck_abort_msg("byte %zu", i);
	ck_assert_uint_eq(frame_reader_partial(&r), big);
	/* grows on demand, no further than the limit needs */
	ck_assert_uint_le(r.cap, big + 2);
	ck_assert_int_eq(feed_str(&r, "\n", NULL, 0), 0);
	ck_assert_int_eq(frame_reader_next(&r, &m), 1);
	ck_assert_uint_eq(m.len, big);
	frame_msg_release(&m);
	frame_reader_free(&r);
}
END_TEST

START_TEST(test_not_preallocated)
{
	struct frame_reader r;

	ck_assert_int_eq(frame_reader_init(&r, 1 << 20, 4), 0);
	ck_assert_uint_eq(r.cap, 0);
	ck_assert_int_eq(feed_str(&r, "x\n", NULL, 0), 0);
	ck_assert_uint_lt(r.cap, 1 << 16);
	frame_reader_free(&r);
}
END_TEST

/* A partial message of exactly max_msg is fine; one more byte is not. */
START_TEST(test_max_msg_partial)
{
	struct frame_reader r;
	struct frame_msg m;
	int fd;

	ck_assert_int_eq(frame_reader_init(&r, 8, 4), 0);
	ck_assert_int_eq(feed_str(&r, "12345678", NULL, 0), 0);
	ck_assert_uint_eq(frame_reader_partial(&r), 8);
	expect_none(&r);
	ck_assert_int_eq(feed_str(&r, "\n", NULL, 0), 0);
	expect_msg(&r, "12345678", 0);

	/* a complete message before the oversized tail still comes out */
	fd = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "ok\n1234", &fd, 1), 0);
	ck_assert_int_eq(fd, -1); /* taken */
	ck_assert_int_eq(feed_str(&r, "56789", NULL, 0), -EMSGSIZE);
	expect_msg(&r, "ok", 0);
	ck_assert_int_eq(frame_reader_next(&r, &m), -EMSGSIZE);
	ck_assert_int_eq(frame_reader_next(&r, &m), -EMSGSIZE);
	/* dead: further input is refused and its descriptors closed */
	fd = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "\n", &fd, 1), -EMSGSIZE);
	frame_reader_free(&r);
}
END_TEST

START_TEST(test_max_msg_partial_one_feed)
{
	struct frame_reader r;
	struct frame_msg m;
	int sv[2];

	ck_assert_int_eq(frame_reader_init(&r, 8, 4), 0);
	ck_assert_int_eq(feed_str(&r, "123456789", NULL, 0), -EMSGSIZE);
	ck_assert_int_eq(frame_reader_next(&r, &m), -EMSGSIZE);
	make_pair(sv);
	ck_assert_int_eq(send(sv[0], "\n", 1, MSG_NOSIGNAL), 1);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 64), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	frame_reader_free(&r);
}
END_TEST

/* A complete message is judged by frame_reader_next. */
START_TEST(test_max_msg_complete)
{
	struct frame_reader r;
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_init(&r, 8, 4), 0);
	ck_assert_int_eq(feed_str(&r, "12345678\n", NULL, 0), 0);
	expect_msg(&r, "12345678", 0);
	ck_assert_int_eq(feed_str(&r, "a\n123456789\nb\n", NULL, 0), 0);
	expect_msg(&r, "a", 0);
	ck_assert_int_eq(frame_reader_next(&r, &m), -EMSGSIZE);
	ck_assert_ptr_null(m.fds);
	ck_assert_int_eq(frame_reader_next(&r, &m), -EMSGSIZE); /* sticky */
	frame_reader_free(&r);
}
END_TEST

START_TEST(test_max_msg_zero)
{
	struct frame_reader r;
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_init(&r, 0, 4), 0);
	ck_assert_int_eq(feed_str(&r, "\n\nx\n", NULL, 0), 0);
	expect_msg(&r, "", 0);
	expect_msg(&r, "", 0);
	ck_assert_int_eq(frame_reader_next(&r, &m), -EMSGSIZE);
	frame_reader_free(&r);
}
END_TEST

/* Empty lines are zero-length messages; the daemon decides to skip them. */
START_TEST(test_empty_lines)
{
	struct frame_reader r;

	ck_assert_int_eq(frame_reader_init(&r, 64, 4), 0);
	ck_assert_int_eq(feed_str(&r, "\n\na\n\n", NULL, 0), 0);
	expect_msg(&r, "", 0);
	expect_msg(&r, "", 0);
	expect_msg(&r, "a", 0);
	expect_msg(&r, "", 0);
	expect_none(&r);
	frame_reader_free(&r);
}
END_TEST

/* "\r\n" is the JSON layer's business: the '\r' stays (it is JSON whitespace). */
START_TEST(test_crlf)
{
	struct frame_reader r;

	ck_assert_int_eq(frame_reader_init(&r, 64, 4), 0);
	ck_assert_int_eq(feed_str(&r, "{}\r\n\r\n", NULL, 0), 0);
	expect_msg(&r, "{}\r", 0);
	expect_msg(&r, "\r", 0);
	frame_reader_free(&r);
}
END_TEST

/* What Linux does: a plain segment glued before an fd-carrying one, the read
 * ending right after it. A gets nothing, B gets both descriptors. */
START_TEST(test_glued_read_socketpair)
{
	struct frame_reader r;
	int sv[2], fds[2];
	ino_t ino[2];
	const char *a = "{\"id\":1}\n", *b = "{\"id\":2,\"params\":{\"fds\":2}}\n";

	make_pair(sv);
	fds[0] = tagged_fd(&ino[0]);
	fds[1] = tagged_fd(&ino[1]);
	ck_assert_int_eq(send(sv[0], a, strlen(a), MSG_NOSIGNAL), (ssize_t)strlen(a));
	ck_assert_int_eq(fdpass_send(sv[0], b, strlen(b), 0, fds, 2), (ssize_t)strlen(b));
	close(fds[0]);
	close(fds[1]);
	/* a later message with descriptors must not join this read */
	fds[0] = tagged_fd(NULL);
	ck_assert_int_eq(fdpass_send(sv[0], "c\n", 2, 0, fds, 1), 2);
	close(fds[0]);

	ck_assert_int_eq(frame_reader_init(&r, 4096, 4), 0);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 65536), (ssize_t)(strlen(a) + strlen(b)));
	expect_msg(&r, "{\"id\":1}", 0);
	expect_msg_ino(&r, "{\"id\":2,\"params\":{\"fds\":2}}", ino, 2);
	expect_none(&r);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 65536), 2);
	expect_msg(&r, "c", 1);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 65536), -EAGAIN);
	close(sv[0]);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 65536), 0);
	close(sv[1]);
	frame_reader_free(&r);
}
END_TEST

/* The descriptor rule when reads do not line up with messages. */
START_TEST(test_fds_attribution)
{
	struct frame_reader r;
	ino_t ino[4];
	int fd;

	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);

	/* no message begins in "def\n": the fd goes to the one it continues */
	ck_assert_int_eq(feed_str(&r, "abc", NULL, 0), 0);
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "def\n", &fd, 1), 0);
	expect_msg_ino(&r, "abcdef", ino, 1);

	/* "c\nxy": xy begins here, so it gets them (not abc) */
	ck_assert_int_eq(feed_str(&r, "ab", NULL, 0), 0);
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "c\nxy", &fd, 1), 0);
	ck_assert_int_eq(feed_str(&r, "z\n", NULL, 0), 0);
	expect_msg(&r, "abc", 0);
	expect_msg_ino(&r, "xyz", ino, 1);

	/* "c\n": what follows the final '\n' has no byte here: abc gets it */
	ck_assert_int_eq(feed_str(&r, "ab", NULL, 0), 0);
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "c\n", &fd, 1), 0);
	ck_assert_int_eq(feed_str(&r, "next\n", NULL, 0), 0);
	expect_msg_ino(&r, "abc", ino, 1);
	expect_msg(&r, "next", 0);

	/* a read starting right after a '\n' begins a message at its first byte */
	ck_assert_int_eq(feed_str(&r, "x\n", NULL, 0), 0);
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "y\n", &fd, 1), 0);
	expect_msg(&r, "x", 0);
	expect_msg_ino(&r, "y", ino, 1);

	/* "\nb" after a partial: b begins here */
	ck_assert_int_eq(feed_str(&r, "q", NULL, 0), 0);
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "\nb\n", &fd, 1), 0);
	expect_msg(&r, "q", 0);
	expect_msg_ino(&r, "b", ino, 1);

	/* "\n" alone after a partial: continues q2 */
	ck_assert_int_eq(feed_str(&r, "q2", NULL, 0), 0);
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "\n", &fd, 1), 0);
	expect_msg_ino(&r, "q2", ino, 1);

	/* "\n" alone at a message boundary: the empty message begins (and ends) here */
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "\n", &fd, 1), 0);
	expect_msg_ino(&r, "", ino, 1);

	/* several messages in one read: only the last that begins gets them */
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "m1\nm2\nm3\n", &fd, 1), 0);
	expect_msg(&r, "m1", 0);
	expect_msg(&r, "m2", 0);
	expect_msg_ino(&r, "m3", ino, 1);

	/* undrained: two messages with descriptors wait in the buffer */
	fd = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "p1\n", &fd, 1), 0);
	ck_assert_int_eq(feed_str(&r, "p2\n", NULL, 0), 0);
	fd = tagged_fd(&ino[1]);
	ck_assert_int_eq(feed_str(&r, "p3\np4", &fd, 1), 0);
	ck_assert_int_eq(feed_str(&r, "\n", NULL, 0), 0);
	expect_msg_ino(&r, "p1", ino, 1);
	expect_msg(&r, "p2", 0);
	expect_msg(&r, "p3", 0);
	expect_msg_ino(&r, "p4", ino + 1, 1);
	expect_none(&r);
	frame_reader_free(&r);
}
END_TEST

/* One message collecting descriptors from two reads: merged, in order. */
START_TEST(test_fds_merge)
{
	struct frame_reader r;
	ino_t ino[3];
	int fds[2];

	ck_assert_int_eq(frame_reader_init(&r, 1024, 3), 0);
	fds[0] = tagged_fd(&ino[0]);
	ck_assert_int_eq(feed_str(&r, "ab", fds, 1), 0);
	fds[0] = tagged_fd(&ino[1]);
	fds[1] = tagged_fd(&ino[2]);
	ck_assert_int_eq(feed_str(&r, "c\n", fds, 2), 0);
	ck_assert_int_eq(fds[0], -1);
	ck_assert_int_eq(fds[1], -1);
	expect_msg_ino(&r, "abc", ino, 3);
	frame_reader_free(&r);
}
END_TEST

/* Past max_fds: the message loses all of them (fd_error), none leak. */
START_TEST(test_fds_overflow)
{
	struct frame_reader r;
	int fds[3];

	ck_assert_int_eq(frame_reader_init(&r, 1024, 2), 0);
	/* across two reads */
	fds[0] = tagged_fd(NULL);
	fds[1] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "ab", fds, 2), 0);
	fds[0] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "c", fds, 1), 0);
	/* once failed, later ones are closed too */
	fds[0] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "d\n", fds, 1), 0);
	expect_fd_error(&r, "abcd");
	/* in one read */
	for (int i = 0; i < 3; i++)
		fds[i] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "e\n", fds, 3), 0);
	expect_fd_error(&r, "e");
	/* the next message is unaffected */
	fds[0] = tagged_fd(NULL);
	fds[1] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "f\n", fds, 2), 0);
	expect_msg(&r, "f", 2);
	frame_reader_free(&r);
}
END_TEST

START_TEST(test_truncated)
{
	struct frame_reader r;
	int fds[2];

	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	ck_assert_int_eq(frame_reader_feed(&r, "a\n", 2, NULL, 0, true), 0);
	expect_fd_error(&r, "a");
	/* descriptors from an earlier read are dropped as well */
	fds[0] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "bb", fds, 1), 0);
	fds[0] = tagged_fd(NULL);
	fds[1] = tagged_fd(NULL);
	ck_assert_int_eq(frame_reader_feed(&r, "b\n", 2, fds, 2, true), 0);
	expect_fd_error(&r, "bbb");
	expect_none(&r);
	frame_reader_free(&r);
}
END_TEST

/* Too many descriptors on a real socket (both kernel paths), and max_fds 0. */
START_TEST(test_fill_too_many)
{
	struct frame_reader r;
	int sv[2], fds[3];

	make_pair(sv);
	for (int i = 0; i < 3; i++)
		fds[i] = tagged_fd(NULL);
	/* CMSG_SPACE(1 int) has room for 2: delivered, then dropped by us */
	ck_assert_int_eq(fdpass_send(sv[0], "a\n", 2, 0, fds, 2), 2);
	/* room for 2, 3 sent: MSG_CTRUNC */
	ck_assert_int_eq(frame_reader_init(&r, 1024, 1), 0);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 4096), 2);
	expect_fd_error(&r, "a");
	frame_reader_free(&r);

	ck_assert_int_eq(fdpass_send(sv[0], "b\n", 2, 0, fds, 3), 2);
	ck_assert_int_eq(frame_reader_init(&r, 1024, 2), 0);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 4096), 2);
	expect_fd_error(&r, "b");
	frame_reader_free(&r);

	ck_assert_int_eq(fdpass_send(sv[0], "c\n", 2, 0, fds, 1), 2);
	ck_assert_int_eq(frame_reader_init(&r, 1024, 0), 0);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 4096), 2);
	expect_fd_error(&r, "c");
	frame_reader_free(&r);

	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Descriptors arrive CLOEXEC through the reader too. */
START_TEST(test_fill_cloexec)
{
	struct frame_reader r;
	struct frame_msg m;
	int sv[2], p[2], fd;
	char buf[4];

	make_pair(sv);
	ck_assert_int_eq(pipe(p), 0); /* inheritable on purpose */
	ck_assert_int_eq(fdpass_send(sv[0], "x\n", 2, 0, &p[1], 1), 2);
	close(p[1]);
	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 4096), 2);
	ck_assert_int_eq(frame_reader_next(&r, &m), 1);
	ck_assert_uint_eq(m.nfds, 1);
	ck_assert(fcntl(m.fds[0], F_GETFD) & FD_CLOEXEC);
	fd = frame_msg_take_fd(&m, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(m.fds[0], -1);
	ck_assert_int_eq(frame_msg_take_fd(&m, 0), -1);
	ck_assert_int_eq(frame_msg_take_fd(&m, 1), -1);
	frame_msg_release(&m);
	ck_assert_int_eq(write(fd, "ok", 2), 2);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 2);
	close(fd);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
	frame_reader_free(&r);
}
END_TEST

/* take_fd hands one over, release closes the rest. */
START_TEST(test_take_and_release)
{
	struct frame_reader r;
	struct frame_msg m;
	int fds[3], kept;
	ino_t ino[3];

	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	for (int i = 0; i < 3; i++)
		fds[i] = tagged_fd(&ino[i]);
	ck_assert_int_eq(feed_str(&r, "t\n", fds, 3), 0);
	ck_assert_int_eq(frame_reader_next(&r, &m), 1);
	ck_assert_uint_eq(m.nfds, 3);
	kept = frame_msg_take_fd(&m, 1);
	ck_assert_uint_eq(inode_of(kept), ino[1]);
	frame_msg_release(&m);
	ck_assert_ptr_null(m.fds);
	ck_assert_uint_eq(m.nfds, 0);
	frame_msg_release(&m); /* twice is fine */
	ck_assert_uint_eq(inode_of(kept), ino[1]);
	close(kept);
	ck_assert_int_eq(frame_msg_take_fd(NULL, 0), -1);
	frame_reader_free(&r);
}
END_TEST

/* frame_reader_free closes descriptors of complete and partial messages. */
START_TEST(test_free_closes)
{
	struct frame_reader r;
	int fds[2];

	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	fds[0] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "a\n", fds, 1), 0);
	fds[0] = tagged_fd(NULL);
	fds[1] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "b\nc", fds, 2), 0);
	fds[0] = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "c", fds, 1), 0);
	frame_reader_free(&r);
}
END_TEST

/* Draining after every read keeps the buffer near max_msg + one chunk. */
START_TEST(test_bounded_memory)
{
	const size_t max = 4096, chunk = 1500;
	struct frame_reader r;
	char *stream;
	size_t len = 0, nmsgs = 0, got = 0;

	rng_state = 42;
	stream = malloc(4u << 20);
	ck_assert_ptr_nonnull(stream);
	while (len < (4u << 20) - max - 1) {
		size_t l = rng() % 8 == 0 ? max : rng() % 300;

		memset(stream + len, 'a' + (int)(nmsgs % 26), l);
		len += l;
		stream[len++] = '\n';
		nmsgs++;
	}
	ck_assert_int_eq(frame_reader_init(&r, max, 4), 0);
	for (size_t off = 0; off < len; off += chunk) {
		struct frame_msg m;
		int ret;

		ck_assert_int_eq(frame_reader_feed(&r, stream + off, len - off < chunk ? len - off : chunk,
		                                   NULL, 0, false), 0);
		while ((ret = frame_reader_next(&r, &m)) == 1) {
			ck_assert(m.len == 0 || m.data[0] == 'a' + (int)(got % 26));
			got++;
		}
		ck_assert_int_eq(ret, 0);
		ck_assert_uint_le(r.cap, max + 1 + chunk);
	}
	ck_assert_uint_eq(got, nmsgs);
	free(stream);
	frame_reader_free(&r);
}
END_TEST

/* Random messages, random descriptor counts, random read boundaries obeying
 * the kernel's rule, random draining: everything comes out right. */
START_TEST(test_random_stream)
{
	enum { NMSG = 400 };
	struct frame_reader r;
	char *stream;
	size_t *start, *mlen, *nfd, len = 0, got = 0;
	ino_t (*ino)[3];
	int (*fdv)[3];

	rng_state = 0xfeedface;
	stream = malloc(NMSG * 64);
	start = calloc(NMSG + 1, sizeof(*start));
	mlen = calloc(NMSG, sizeof(*mlen));
	nfd = calloc(NMSG, sizeof(*nfd));
	ino = calloc(NMSG, sizeof(*ino));
	fdv = calloc(NMSG, sizeof(*fdv));
	ck_assert(stream && start && mlen && nfd && ino && fdv);
	for (size_t i = 0; i < NMSG; i++) {
		start[i] = len;
		mlen[i] = rng() % 40;
		for (size_t k = 0; k < mlen[i]; k++)
			stream[len++] = (char)(' ' + (i + k) % 90);
		stream[len++] = '\n';
		nfd[i] = rng() % 3 == 0 ? 1 + rng() % 3 : 0;
		for (size_t k = 0; k < nfd[i]; k++)
			fdv[i][k] = tagged_fd(&ino[i][k]);
	}
	start[NMSG] = len;

	ck_assert_int_eq(frame_reader_init(&r, 64, 3), 0);
	for (size_t pos = 0, i = 0; pos < len;) {
		/* next read: random length, but it ends within the first message
		 * with descriptors that begins in it (the kernel ends reads there) */
		size_t end = pos + 1 + rng() % 100, owner = SIZE_MAX;
		struct frame_msg m;
		int ret;

		if (end > len)
			end = len;
		while (i < NMSG && start[i] < pos)
			i++;
		for (size_t k = i; k < NMSG && start[k] < end; k++)
			if (nfd[k]) {
				size_t stop = start[k] + 1 + rng() % (mlen[k] + 1);

				if (stop < end)
					end = stop;
				owner = k;
				break;
			}
		ck_assert_int_eq(frame_reader_feed(&r, stream + pos, end - pos,
		                                   owner == SIZE_MAX ? NULL : fdv[owner],
		                                   owner == SIZE_MAX ? 0 : nfd[owner], false), 0);
		pos = end;
		if (rng() % 4 == 0)
			continue; /* leave messages queued now and then */
		while ((ret = frame_reader_next(&r, &m)) == 1) {
			ck_assert_uint_eq(m.len, mlen[got]);
			ck_assert(memcmp(m.data, stream + start[got], m.len) == 0);
			ck_assert(!m.fd_error);
			ck_assert_uint_eq(m.nfds, nfd[got]);
			for (size_t k = 0; k < m.nfds; k++)
				ck_assert_uint_eq(inode_of(m.fds[k]), ino[got][k]);
			frame_msg_release(&m);
			got++;
		}
		ck_assert_int_eq(ret, 0);
	}
	for (;;) {
		struct frame_msg m;
		int ret = frame_reader_next(&r, &m);

		if (ret == 0)
			break;
		ck_assert_int_eq(ret, 1);
		ck_assert_uint_eq(m.len, mlen[got]);
		ck_assert_uint_eq(m.nfds, nfd[got]);
		for (size_t k = 0; k < m.nfds; k++)
			ck_assert_uint_eq(inode_of(m.fds[k]), ino[got][k]);
		frame_msg_release(&m);
		got++;
	}
	ck_assert_uint_eq(got, NMSG);
	frame_reader_free(&r);
	free(stream);
	free(start);
	free(mlen);
	free(nfd);
	free(ino);
	free(fdv);
}
END_TEST

START_TEST(test_reader_errors)
{
	struct frame_reader r;
	int sv[2], fd;

	/* a zeroed reader refuses input without leaking what came with it */
	memset(&r, 0, sizeof(r));
	fd = tagged_fd(NULL);
	ck_assert_int_eq(feed_str(&r, "a\n", &fd, 1), -EINVAL);
	frame_reader_free(&r);

	ck_assert_int_eq(frame_reader_init(&r, 64, 4), 0);
	make_pair(sv);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 0), -EINVAL);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 64), -EAGAIN);
	ck_assert_int_eq(frame_reader_fill(&r, -1, 64), -EBADF);
	/* EOF in the middle of a message leaves the partial visible */
	ck_assert_int_eq(send(sv[0], "abc", 3, MSG_NOSIGNAL), 3);
	close(sv[0]);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 64), 3);
	ck_assert_int_eq(frame_reader_fill(&r, sv[1], 64), 0);
	ck_assert_uint_eq(frame_reader_partial(&r), 3);
	close(sv[1]);
	frame_reader_free(&r);
}
END_TEST

/* ---------------------------------------------------------------- writer */

struct got_msg {
	char *text;
	size_t len;
	size_t nfds;
	ino_t ino[MAXFDS_T];
	bool fd_error;
};

/* Reads everything available into r and pops the messages into out. */
static size_t drain(struct frame_reader *r, int sock, struct got_msg *out, size_t room, size_t *n)
{
	size_t bytes = 0;

	for (;;) {
		ssize_t k = frame_reader_fill(r, sock, 65536);
		struct frame_msg m;
		int ret;

		if (k == -EAGAIN || k == 0)
			break;
		ck_assert_int_gt(k, 0);
		bytes += (size_t)k;
		while ((ret = frame_reader_next(r, &m)) == 1) {
			struct got_msg *g;

			ck_assert_uint_lt(*n, room);
			g = &out[(*n)++];
			g->text = malloc(m.len + 1);
			ck_assert_ptr_nonnull(g->text);
			memcpy(g->text, m.data, m.len);
			g->text[m.len] = '\0';
			g->len = m.len;
			g->nfds = m.nfds;
			g->fd_error = m.fd_error;
			for (size_t i = 0; i < m.nfds; i++)
				g->ino[i] = inode_of(m.fds[i]);
			frame_msg_release(&m);
		}
		ck_assert_int_eq(ret, 0);
	}
	return bytes;
}

static void free_got(struct got_msg *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].text);
}

START_TEST(test_writer_order)
{
	struct frame_writer w;
	int sv[2];
	char buf[64];

	make_pair(sv);
	frame_writer_init(&w);
	ck_assert_uint_eq(frame_writer_pending(&w), 0);
	ck_assert_int_eq(frame_writer_flush(&w, sv[0]), 0);
	ck_assert_int_eq(frame_writer_push(&w, "a", 1, NULL, 0), 0);
	ck_assert_int_eq(frame_writer_push(&w, "bb", 2, NULL, 0), 0);
	ck_assert_int_eq(frame_writer_push(&w, "", 0, NULL, 0), 0);
	ck_assert_int_eq(frame_writer_push(&w, "ccc", 3, NULL, 0), 0);
	ck_assert_uint_eq(frame_writer_pending(&w), 10);
	ck_assert_int_eq(frame_writer_flush(&w, sv[0]), 0);
	ck_assert_uint_eq(frame_writer_pending(&w), 0);
	/* plain messages are coalesced: one read gets all of them */
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 10);
	ck_assert(memcmp(buf, "a\nbb\n\nccc\n", 10) == 0);
	frame_writer_free(&w);
	frame_writer_free(&w);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_writer_fds)
{
	struct frame_writer w;
	struct frame_reader r;
	struct got_msg got[8];
	int sv[2], fds[3];
	ino_t ino[3];
	size_t n = 0;

	make_pair(sv);
	frame_writer_init(&w);
	ck_assert_int_eq(frame_reader_init(&r, 1024, 4), 0);
	ck_assert_int_eq(frame_writer_push(&w, "A", 1, NULL, 0), 0);
	fds[0] = tagged_fd(&ino[0]);
	fds[1] = tagged_fd(&ino[1]);
	ck_assert_int_eq(frame_writer_push(&w, "B", 1, fds, 2), 0);
	ck_assert_int_eq(fds[0], -1); /* taken */
	ck_assert_int_eq(frame_writer_push(&w, "C", 1, NULL, 0), 0);
	ck_assert_int_eq(frame_writer_push(&w, "D", 1, NULL, 0), 0);
	fds[2] = tagged_fd(&ino[2]);
	ck_assert_int_eq(frame_writer_push(&w, "E", 1, fds + 2, 1), 0);
	fds[0] = tagged_fd(NULL);
	ck_assert_int_eq(frame_writer_push(&w, "F", 1, fds, 1), 0); /* two marked in a row */
	ck_assert_int_eq(frame_writer_flush(&w, sv[0]), 0);
	/* our copies are closed once sent: only the received ones are open now */
	drain(&r, sv[1], got, 8, &n);
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(got[0].text, "A");
	ck_assert_uint_eq(got[0].nfds, 0);
	ck_assert_str_eq(got[1].text, "B");
	ck_assert_uint_eq(got[1].nfds, 2);
	ck_assert_uint_eq(got[1].ino[0], ino[0]);
	ck_assert_uint_eq(got[1].ino[1], ino[1]);
	ck_assert_uint_eq(got[2].nfds, 0);
	ck_assert_uint_eq(got[3].nfds, 0);
	ck_assert_str_eq(got[4].text, "E");
	ck_assert_uint_eq(got[4].nfds, 1);
	ck_assert_uint_eq(got[4].ino[0], ino[2]);
	ck_assert_str_eq(got[5].text, "F");
	ck_assert_uint_eq(got[5].nfds, 1);
	free_got(got, n);
	frame_reader_free(&r);
	frame_writer_free(&w);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A small send buffer forces short writes, also in the middle of messages
 * that carry descriptors: bytes stay intact, descriptors arrive once. */
START_TEST(test_writer_short_writes)
{
	enum { BIG = 200 * 1024 };
	struct frame_writer w;
	struct frame_reader r;
	struct got_msg got[16];
	int sv[2], sndbuf = 4096, fds[2], rounds = 0;
	ino_t ino[3];
	char *big1 = malloc(BIG), *big2 = malloc(BIG);
	size_t n = 0, total = 0, expect_bytes;
	ssize_t left;

	ck_assert(big1 && big2);
	for (size_t i = 0; i < BIG; i++) {
		big1[i] = (char)('a' + i % 26);
		big2[i] = (char)('A' + i % 23);
	}
	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	frame_writer_init(&w);
	ck_assert_int_eq(frame_reader_init(&r, BIG, 4), 0);

	ck_assert_int_eq(frame_writer_push(&w, "first", 5, NULL, 0), 0);
	fds[0] = tagged_fd(&ino[0]);
	ck_assert_int_eq(frame_writer_push(&w, big1, BIG, fds, 1), 0);
	fds[0] = tagged_fd(&ino[1]);
	fds[1] = tagged_fd(&ino[2]);
	ck_assert_int_eq(frame_writer_push(&w, big2, BIG, fds, 2), 0);
	ck_assert_int_eq(frame_writer_push(&w, "last", 4, NULL, 0), 0);
	expect_bytes = 6 + BIG + 1 + BIG + 1 + 5;

	left = frame_writer_flush(&w, sv[0]);
	ck_assert_int_gt(left, 0); /* the socket cannot take it all */
	ck_assert_uint_eq((size_t)left, frame_writer_pending(&w));
	while (left > 0) {
		total += drain(&r, sv[1], got, 16, &n);
		left = frame_writer_flush(&w, sv[0]);
		ck_assert_int_ge(left, 0);
		rounds++;
		ck_assert_int_lt(rounds, 100000);
	}
	total += drain(&r, sv[1], got, 16, &n);
	ck_assert_int_gt(rounds, 10);
	ck_assert_uint_eq(total, expect_bytes);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(got[0].text, "first");
	ck_assert_uint_eq(got[0].nfds, 0);
	ck_assert_uint_eq(got[1].len, BIG);
	ck_assert(memcmp(got[1].text, big1, BIG) == 0);
	ck_assert(!got[1].fd_error);
	ck_assert_uint_eq(got[1].nfds, 1);
	ck_assert_uint_eq(got[1].ino[0], ino[0]);
	ck_assert_uint_eq(got[2].len, BIG);
	ck_assert(memcmp(got[2].text, big2, BIG) == 0);
	ck_assert_uint_eq(got[2].nfds, 2);
	ck_assert_uint_eq(got[2].ino[0], ino[1]);
	ck_assert_uint_eq(got[2].ino[1], ino[2]);
	ck_assert_str_eq(got[3].text, "last");
	ck_assert_uint_eq(got[3].nfds, 0);
	/* once fully sent the writer holds no big buffer any more */
	ck_assert_uint_eq(w.cap, 0);
	free_got(got, n);
	free(big1);
	free(big2);
	frame_reader_free(&r);
	frame_writer_free(&w);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Random messages and descriptors through a tiny socket buffer, random
 * interleaving of push, flush and fill. */
START_TEST(test_writer_reader_random)
{
	enum { NMSG = 300 };
	struct frame_writer w;
	struct frame_reader r;
	struct got_msg *got = calloc(NMSG, sizeof(*got));
	char **text = calloc(NMSG, sizeof(*text));
	size_t *nfd = calloc(NMSG, sizeof(*nfd));
	ino_t (*ino)[3] = calloc(NMSG, sizeof(*ino));
	int sv[2], sndbuf = 2048;
	size_t pushed = 0, n = 0;

	ck_assert(got && text && nfd && ino);
	rng_state = 7;
	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	frame_writer_init(&w);
	ck_assert_int_eq(frame_reader_init(&r, 20000, 3), 0);
	while (n < NMSG) {
		uint32_t op = rng() % 4;

		if (op == 0 && pushed < NMSG) {
			size_t l = rng() % 8 == 0 ? rng() % 20000 : rng() % 50;
			int fds[3];

			text[pushed] = malloc(l + 1);
			ck_assert_ptr_nonnull(text[pushed]);
			for (size_t k = 0; k < l; k++)
				text[pushed][k] = (char)('0' + (pushed + k) % 64);
			text[pushed][l] = '\0';
			nfd[pushed] = rng() % 3 == 0 ? 1 + rng() % 3 : 0;
			for (size_t k = 0; k < nfd[pushed]; k++)
				fds[k] = tagged_fd(&ino[pushed][k]);
			ck_assert_int_eq(frame_writer_push(&w, text[pushed], l, fds, nfd[pushed]), 0);
			pushed++;
		} else if (op == 1) {
			ck_assert_int_ge(frame_writer_flush(&w, sv[0]), 0);
		} else if (op == 2) {
			drain(&r, sv[1], got, NMSG, &n);
		} else if (pushed == NMSG) {
			ck_assert_int_ge(frame_writer_flush(&w, sv[0]), 0);
			drain(&r, sv[1], got, NMSG, &n);
		}
	}
	ck_assert_uint_eq(frame_writer_pending(&w), 0);
	for (size_t i = 0; i < NMSG; i++) {
		ck_assert_str_eq(got[i].text, text[i]);
		ck_assert(!got[i].fd_error);
		ck_assert_uint_eq(got[i].nfds, nfd[i]);
		for (size_t k = 0; k < nfd[i]; k++)
			ck_assert_uint_eq(got[i].ino[k], ino[i][k]);
		free(text[i]);
	}
	free_got(got, n);
	free(got);
	free(text);
	free(nfd);
	free(ino);
	frame_reader_free(&r);
	frame_writer_free(&w);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_writer_epipe)
{
	struct frame_writer w;
	int sv[2], fd;

	make_pair(sv);
	frame_writer_init(&w);
	ck_assert_int_eq(frame_writer_push(&w, "x", 1, NULL, 0), 0);
	fd = tagged_fd(NULL);
	ck_assert_int_eq(frame_writer_push(&w, "y", 1, &fd, 1), 0);
	close(sv[1]);
	/* no SIGPIPE (the test would die), an error instead; nothing is lost */
	ck_assert_int_eq(frame_writer_flush(&w, sv[0]), -EPIPE);
	ck_assert_uint_eq(frame_writer_pending(&w), 4);
	ck_assert_int_eq(frame_writer_flush(&w, sv[0]), -EPIPE);
	frame_writer_free(&w); /* closes the unsent descriptor */
	close(sv[0]);
}
END_TEST

/* The peer's descriptors went (a marked message was sent), then it died. */
START_TEST(test_writer_epipe_after_fds)
{
	struct frame_writer w;
	int sv[2], fd;
	char buf[16];

	make_pair(sv);
	frame_writer_init(&w);
	fd = tagged_fd(NULL);
	ck_assert_int_eq(frame_writer_push(&w, "y", 1, &fd, 1), 0);
	ck_assert_int_eq(frame_writer_flush(&w, sv[0]), 0);
	ck_assert_int_eq(frame_writer_push(&w, "z", 1, NULL, 0), 0);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 2); /* its descriptor is discarded */
	close(sv[1]);
	ck_assert_int_lt(frame_writer_flush(&w, sv[0]), 0);
	frame_writer_free(&w);
	close(sv[0]);
}
END_TEST

START_TEST(test_writer_free_closes)
{
	struct frame_writer w;
	int fds[3];

	frame_writer_init(&w);
	fds[0] = tagged_fd(NULL);
	fds[1] = tagged_fd(NULL);
	ck_assert_int_eq(frame_writer_push(&w, "a", 1, fds, 2), 0);
	ck_assert_int_eq(frame_writer_push(&w, "b", 1, NULL, 0), 0);
	fds[2] = tagged_fd(NULL);
	ck_assert_int_eq(frame_writer_push(&w, "c", 1, fds + 2, 1), 0);
	frame_writer_free(&w);
}
END_TEST

/* Peer not reading: flush stops without blocking and says how much is left. */
START_TEST(test_writer_eagain)
{
	struct frame_writer w;
	int sv[2], sndbuf = 4096, fd;
	char chunk[1000];
	ssize_t left, before;

	memset(chunk, 'q', sizeof(chunk));
	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	frame_writer_init(&w);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(frame_writer_push(&w, chunk, sizeof(chunk), NULL, 0), 0);
	fd = tagged_fd(NULL);
	ck_assert_int_eq(frame_writer_push(&w, chunk, 10, &fd, 1), 0);
	left = frame_writer_flush(&w, sv[0]);
	ck_assert_int_gt(left, 0);
	ck_assert_uint_eq((size_t)left, frame_writer_pending(&w));
	before = left;
	left = frame_writer_flush(&w, sv[0]);
	ck_assert_int_eq(left, before);
	frame_writer_free(&w); /* the never-sent descriptor is closed */
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_writer_push_invalid)
{
	struct frame_writer w;
	int fds[2];

	frame_writer_init(&w);
	fds[0] = tagged_fd(NULL);
	fds[1] = tagged_fd(NULL);
	ck_assert_int_eq(frame_writer_push(&w, "a\nb", 3, fds, 2), -EINVAL);
	ck_assert_int_eq(fds[0], -1);
	ck_assert_int_eq(fds[1], -1);
	ck_assert_uint_eq(frame_writer_pending(&w), 0);
	{
		int many[FDPASS_MAX_FDS + 1];

		for (size_t i = 0; i < FDPASS_MAX_FDS + 1; i++)
			many[i] = -1;
		many[0] = tagged_fd(NULL);
		ck_assert_int_eq(frame_writer_push(&w, "x", 1, many, FDPASS_MAX_FDS + 1), -EINVAL);
		ck_assert_int_eq(many[0], -1);
	}
	frame_writer_free(&w);
}
END_TEST

/* Many push/flush cycles while the peer drains: the buffer stays small. */
START_TEST(test_writer_bounded)
{
	struct frame_writer w;
	int sv[2], sndbuf = 4096;
	char msg[300], sink[65536];
	size_t sent = 0, recvd = 0;

	memset(msg, 'm', sizeof(msg));
	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	frame_writer_init(&w);
	for (int i = 0; i < 20000; i++) {
		ssize_t k;

		ck_assert_int_eq(frame_writer_push(&w, msg, (size_t)i % sizeof(msg), NULL, 0), 0);
		sent += (size_t)i % sizeof(msg) + 1;
		ck_assert_int_ge(frame_writer_flush(&w, sv[0]), 0);
		if (i % 7 == 0)
			while ((k = recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT)) > 0)
				recvd += (size_t)k;
		ck_assert_uint_le(w.cap, 16384);
	}
	while (frame_writer_pending(&w) > 0) {
		ssize_t k;

		ck_assert_int_ge(frame_writer_flush(&w, sv[0]), 0);
		while ((k = recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			recvd += (size_t)k;
	}
	{
		ssize_t k;

		while ((k = recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			recvd += (size_t)k;
	}
	ck_assert_uint_eq(recvd, sent);
	frame_writer_free(&w);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---------------------------------------------------------------- writers */

/* Pops one message and checks its text and writer. */
static void expect_writer(struct frame_reader *r, const char *text, uint64_t sender, bool mixed)
{
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_next(r, &m), 1);
	ck_assert_uint_eq(m.len, strlen(text));
	ck_assert(memcmp(m.data, text, m.len) == 0);
	ck_assert_uint_eq(m.sender, sender);
	ck_assert_int_eq(m.mixed_senders, mixed);
	frame_msg_release(&m);
}

START_TEST(test_senders_basic)
{
	struct frame_reader r;
	struct frame_msg m;

	ck_assert_int_eq(frame_reader_init(&r, 64, 0), 0);
	ck_assert_int_eq(frame_reader_feed_from(&r, "a\nb", 3, NULL, 0, false, 7), 0);
	ck_assert_int_eq(frame_reader_feed_from(&r, "c\nd\ne", 5, NULL, 0, false, 9), 0);
	/* a newline written by another is a byte of the message too */
	ck_assert_int_eq(frame_reader_feed_from(&r, "\n", 1, NULL, 0, false, 7), 0);
	ck_assert_int_eq(frame_reader_feed_from(&r, "f\n", 2, NULL, 0, false, 7), 0);
	expect_writer(&r, "a", 7, false);
	expect_writer(&r, "bc", 7, true);
	expect_writer(&r, "d", 9, false);
	expect_writer(&r, "e", 9, true);
	expect_writer(&r, "f", 7, false);
	ck_assert_int_eq(frame_reader_next(&r, &m), 0);
	/* plain feeds name no writer */
	ck_assert_int_eq(frame_reader_feed(&r, "g\n", 2, NULL, 0, false), 0);
	expect_writer(&r, "g", 0, false);
	frame_reader_free(&r);
}
END_TEST

/* Random reads of random writers, popped now and then: every message names
 * the writer of its first byte, and is mixed exactly when another wrote any
 * of its other bytes. One writer's stream keeps the records few. */
START_TEST(test_senders_random)
{
	enum { LEN = 20000 };
	struct frame_reader r;
	char *stream = malloc(LEN);
	uint64_t *who = malloc(LEN * sizeof(*who));
	size_t got = 0, mstart = 0;

	ck_assert(stream && who);
	rng_state = 0x5eed5;
	for (size_t i = 0; i < LEN; i++)
		stream[i] = rng() % 6 == 0 ? '\n' : 'x';
	stream[LEN - 1] = '\n';
	ck_assert_int_eq(frame_reader_init(&r, LEN, 0), 0);
	for (size_t pos = 0; pos < LEN;) {
		size_t end = SB_MIN(pos + 1 + rng() % 20, (size_t)LEN);
		uint64_t w = 1 + rng() % 3;
		struct frame_msg m;

		for (size_t i = pos; i < end; i++)
			who[i] = w;
		ck_assert_int_eq(frame_reader_feed_from(&r, stream + pos, end - pos, NULL, 0, false, w), 0);
		pos = end;
		if (rng() % 3 == 0)
			continue;
		while (frame_reader_next(&r, &m) == 1) {
			size_t mend = mstart + m.len;
			bool mixed = false;

			for (size_t i = mstart + 1; i <= mend; i++)
				mixed = mixed || who[i] != who[mstart];
			ck_assert_uint_eq(m.sender, who[mstart]);
			ck_assert_int_eq(m.mixed_senders, mixed);
			frame_msg_release(&m);
			mstart = mend + 1;
			got++;
		}
	}
	ck_assert_uint_gt(got, 1000);
	ck_assert_uint_eq(frame_reader_partial(&r), 0);
	frame_reader_free(&r);

	/* one writer: at most one record however much it sends */
	ck_assert_int_eq(frame_reader_init(&r, LEN, 0), 0);
	for (size_t pos = 0; pos < LEN; pos += 7) {
		ck_assert_int_eq(frame_reader_feed_from(&r, stream + pos, SB_MIN((size_t)7, LEN - pos), NULL, 0,
		                                        false, 5), 0);
		ck_assert_uint_le(r.nsegs, 1);
	}
	frame_reader_free(&r);
	free(stream);
	free(who);
}
END_TEST

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif

struct fill_log {
	pid_t pids[8];
	size_t n;
	int pidfds;
};

/* The writer's pid as its token; the pidfd is counted and closed. */
static uint64_t note_writer(void *ctx, struct fdpass_sender *who)
{
	struct fill_log *l = ctx;

	if (who->pidfd >= 0)
		l->pidfds++;
	safe_close(who->pidfd);
	who->pidfd = -1;
	if (l->n < 8)
		l->pids[l->n++] = who->pid;
	return who->have_cred ? (uint64_t)who->pid : 0;
}

/* A real socket: the kernel's writers become the messages' senders. */
START_TEST(test_senders_fill)
{
	struct fill_log log = { .n = 0 };
	struct frame_reader r;
	int sv[2], one = 1, status;
	bool pidfds;
	pid_t child;

	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	pidfds = setsockopt(sv[1], SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) == 0;
	ck_assert_int_eq(write(sv[0], "mine\nhalf", 9), 9);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(write(sv[0], " theirs\nchild\n", 14) == 14 ? 0 : 1);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(frame_reader_init(&r, 64, 4), 0);
	/* one read per writer, however large the chunk */
	ck_assert_int_eq(frame_reader_fill_from(&r, sv[1], 4096, note_writer, &log), 9);
	ck_assert_int_eq(frame_reader_fill_from(&r, sv[1], 4096, note_writer, &log), 14);
	ck_assert_uint_eq(log.n, 2);
	ck_assert_int_eq(log.pids[0], getpid());
	ck_assert_int_eq(log.pids[1], child);
	if (pidfds)
		ck_assert_int_eq(log.pidfds, 2);
	expect_writer(&r, "mine", (uint64_t)getpid(), false);
	expect_writer(&r, "half theirs", (uint64_t)getpid(), true);
	expect_writer(&r, "child", (uint64_t)child, false);
	frame_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tr = tcase_create("reader");
	TCase *tw = tcase_create("writer");

	tcase_add_checked_fixture(tr, fds_setup, fds_teardown);
	tcase_add_checked_fixture(tw, fds_setup, fds_teardown);
	tcase_set_timeout(tr, 60);
	tcase_set_timeout(tw, 60);

	tcase_add_test(tr, test_one_message);
	tcase_add_test(tr, test_several_in_one_feed);
	tcase_add_test(tr, test_byte_by_byte);
	tcase_add_test(tr, test_byte_by_byte_undrained);
	tcase_add_test(tr, test_linear_big_message);
	tcase_add_test(tr, test_not_preallocated);
	tcase_add_test(tr, test_max_msg_partial);
	tcase_add_test(tr, test_max_msg_partial_one_feed);
	tcase_add_test(tr, test_max_msg_complete);
	tcase_add_test(tr, test_max_msg_zero);
	tcase_add_test(tr, test_empty_lines);
	tcase_add_test(tr, test_crlf);
	tcase_add_test(tr, test_glued_read_socketpair);
	tcase_add_test(tr, test_fds_attribution);
	tcase_add_test(tr, test_fds_merge);
	tcase_add_test(tr, test_fds_overflow);
	tcase_add_test(tr, test_truncated);
	tcase_add_test(tr, test_fill_too_many);
	tcase_add_test(tr, test_fill_cloexec);
	tcase_add_test(tr, test_take_and_release);
	tcase_add_test(tr, test_free_closes);
	tcase_add_test(tr, test_bounded_memory);
	tcase_add_test(tr, test_random_stream);
	tcase_add_test(tr, test_reader_errors);
	tcase_add_test(tr, test_senders_basic);
	tcase_add_test(tr, test_senders_random);
	tcase_add_test(tr, test_senders_fill);
	suite_add_tcase(s, tr);

	tcase_add_test(tw, test_writer_order);
	tcase_add_test(tw, test_writer_fds);
	tcase_add_test(tw, test_writer_short_writes);
	tcase_add_test(tw, test_writer_reader_random);
	tcase_add_test(tw, test_writer_epipe);
	tcase_add_test(tw, test_writer_epipe_after_fds);
	tcase_add_test(tw, test_writer_free_closes);
	tcase_add_test(tw, test_writer_eagain);
	tcase_add_test(tw, test_writer_push_invalid);
	tcase_add_test(tw, test_writer_bounded);
	suite_add_tcase(s, tw);
	return s;
}

int main(void)
{
	return unit_run(frame_suite());
}
