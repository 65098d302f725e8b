/* Unit tests of the log (daemon/log.c): lines of any length stay whole; the
 * queue's bound, at the byte (debug and info up to half of it, other lines
 * up to all of it, audit records refused beyond), draining from the loop
 * and the report of a burst; the native journal protocol, with a record too
 * large for a datagram sent as a sealed memfd. Each test runs in a process
 * of its own (Check forks), so each starts with a fresh log. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/loop.h"
#include "unit.h"

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

static char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		if (n + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

START_TEST(a_long_line_is_whole)
{
	char path[] = "/tmp/check_log.XXXXXX";
	int fd = mkstemp(path);
	size_t n, big = 100000;
	char *v = malloc(big + 1), *out;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(log_init(), 0);
	memset(v, 'x', big);
	v[big] = '\0';
	log_msg(LOG_NOTICE, "start %s end", v);
	lseek(fd, 0, SEEK_SET);
	out = slurp_fd(fd, &n);
	ck_assert_uint_eq(n, strlen("<5>start  end\n") + big);
	ck_assert(strncmp(out, "<5>start x", 10) == 0);
	ck_assert_str_eq(out + n - 5, " end\n");
	unlink(path);
	free(out);
	free(v);
}
END_TEST

/* Standard error a pipe that holds 4 KiB and nobody reads; the queue 8 KiB. */
START_TEST(the_queue_holds_to_its_bound)
{
	int p[2];
	struct log_stats st;
	struct loop *l;
	char line[100];
	size_t n;
	char *out;
	uint64_t debug_queued;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	setenv(LOG_ENV_QUEUE_BYTES, "8192", 1);
	unsetenv("JOURNAL_STREAM");
	ck_assert_int_eq(log_init(), 0);
	log_set_level(LOG_DEBUG);
	/* Lines of exactly 100 bytes: "<7>" + 96 + "\n". */
	memset(line, 'd', 96);
	line[96] = '\0';
	for (int i = 0; i < 200; i++)
		log_msg(LOG_DEBUG, "%s", line);
	log_get_stats(&st);
	ck_assert_str_eq(st.target, "pipe");
	ck_assert_uint_eq(st.queue_max, 8192);
	/* Half the queue for debug: 40 lines of 100 are queued, the 41st would
	 * pass 4096. */
	ck_assert_uint_eq(st.queued_bytes, 4000);
	ck_assert_uint_gt(st.dropped_minor, 0);
	ck_assert_uint_eq(st.dropped, 0);
	debug_queued = st.queued_bytes;
	/* Notice lines fill the rest, to the byte. */
	line[96] = '\0';
	memset(line, 'n', 96);
	for (int i = 0; i < 60; i++)
		log_msg(LOG_NOTICE, "%s", line);
	log_get_stats(&st);
	ck_assert_uint_eq(st.queued_bytes, debug_queued + 41 * 100);
	ck_assert_uint_eq(st.dropped, 60 - 41);
	/* 92 bytes are left: an audit record of 100 is refused, one of 92 not. */
	ck_assert_int_eq(log_audit("audit: allow 123456789012345678901234567890123456789012345678901234567890"
	                           "1234567890123456789 seq=1", NULL, 0), -ENOBUFS);
	ck_assert_int_eq(log_audit("audit: allow 123456789012345678901234567890123456789012345678901234567890"
	                           "123456789 seq=2", NULL, 0), 0);
	log_get_stats(&st);
	ck_assert_uint_eq(st.queued_bytes, 8192);
	ck_assert_uint_eq(st.audit_refused, 1);

	/* The reader comes back: the loop drains the queue, then the burst is
	 * reported, once. */
	ck_assert_int_eq(loop_new(&l), 0);
	log_attach(l);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	out = malloc(1 << 20);
	n = 0;
	for (int i = 0; i < 1000; i++) {
		ssize_t r = read(p[0], out + n, (1 << 20) - 1 - n);
		if (r > 0)
			n += (size_t)r;
		out[n] = '\0';
		loop_run_once(l, 10);
		log_get_stats(&st);
		if (!st.queued_bytes && r <= 0 && strstr(out, "did not keep up"))
			break;
	}
	out[n] = '\0';
	log_get_stats(&st);
	ck_assert_uint_eq(st.queued_bytes, 0);
	/* Every line whole, in order: the debug lines that went (pipe, then
	 * queue), the notice lines, the audit record, the report. */
	for (char *s = out; *s; s = strchr(s, '\n') + 1) {
		ck_assert_msg(s[0] == '<' && s[2] == '>', "a line without its priority: %.40s", s);
		ck_assert_ptr_nonnull(strchr(s, '\n'));
	}
	ck_assert_ptr_nonnull(strstr(out, "0123456789 seq=2\n"));
	ck_assert_ptr_null(strstr(out, "seq=1"));
	ck_assert_ptr_nonnull(strstr(out, "120 debug/info lines and 19 other lines dropped, 1 audit records refused"));
	ck_assert_str_eq(strstr(out, "seq=2\n") + 6, strstr(out, "<4>log: standard error did not keep up"));
	log_attach(NULL);
	loop_free(l);
	free(out);
}
END_TEST

/* The journal's socket of the process: the one datagram socket that is not
 * the fake journal. */
static int find_journal_fd(int except)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int found = -1;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name), type = 0;
		socklen_t l = sizeof(type);
		if (e->d_name[0] == '.' || fd == except || fd == dirfd(d))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 && type == SOCK_DGRAM)
			found = fd;
	}
	closedir(d);
	return found;
}

/* KEY=value or KEY\n<le64>value: the value of key in an entry, malloc'd. */
static char *field(const char *e, size_t len, const char *key)
{
	size_t i = 0, kl = strlen(key);

	while (i < len) {
		const char *nl = memchr(e + i, '\n', len - i);
		const char *eq = memchr(e + i, '=', (size_t)(nl - (e + i)));
		uint64_t n = 0;
		ck_assert_ptr_nonnull(nl);
		if (eq) {
			if ((size_t)(eq - (e + i)) == kl && !memcmp(e + i, key, kl))
				return strndup(eq + 1, (size_t)(nl - eq - 1));
			i = (size_t)(nl - e) + 1;
			continue;
		}
		for (int b = 0; b < 8; b++)
			n |= (uint64_t)(unsigned char)nl[1 + b] << (8 * b);
		if ((size_t)(nl - (e + i)) == kl && !memcmp(e + i, key, kl))
			return strndup(nl + 9, n);
		i = (size_t)(nl - e) + 9 + n + 1;
	}
	return NULL;
}

START_TEST(journal_entries_and_a_memfd)
{
	char dir[] = "/tmp/check_log.XXXXXX", sockp[200], errp[200], env[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int j, efd, jfd, small = 4096;
	struct stat st;
	struct log_stats ls;
	char *text, *buf = malloc(1 << 16), *v;
	const char *exe = "/opt/new\nline/app";
	struct log_field f[] = { { "decision", "allow" }, { "exe", exe }, { "rule", NULL }, { "seq", "7" } };
	ssize_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sockp, sizeof(sockp), "%s/journal", dir);
	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	j = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, sockp);
	ck_assert_int_eq(bind(j, (struct sockaddr *)&sa, sizeof(sa)), 0);
	efd = open(errp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_eq(dup2(efd, STDERR_FILENO), STDERR_FILENO);
	fstat(STDERR_FILENO, &st);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	setenv(LOG_ENV_JOURNAL_SOCKET, sockp, 1);
	ck_assert_int_eq(log_init(), 0);
	log_get_stats(&ls);
	ck_assert(ls.journal);
	ck_assert_str_eq(ls.target, "journal");

	/* A datagram. */
	ck_assert_int_eq(log_audit("audit: allow seq=7", f, 4), 0);
	n = recv(j, buf, 1 << 16, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq((v = field(buf, (size_t)n, "MESSAGE")), "audit: allow seq=7");
	free(v);
	ck_assert_str_eq((v = field(buf, (size_t)n, "PRIORITY")), "5");
	free(v);
	ck_assert_str_eq((v = field(buf, (size_t)n, "SYSLOG_IDENTIFIER")), "sockbrokerd");
	free(v);
	ck_assert_str_eq((v = field(buf, (size_t)n, "SOCKBROKER_EXE")), exe);
	free(v);
	ck_assert_str_eq((v = field(buf, (size_t)n, "SOCKBROKER_SEQ")), "7");
	free(v);
	ck_assert_ptr_null(field(buf, (size_t)n, "SOCKBROKER_RULE"));

	/* Too large for the socket's buffer: a sealed memfd. */
	jfd = find_journal_fd(j);
	ck_assert_int_ge(jfd, 0);
	ck_assert_int_eq(setsockopt(jfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	text = malloc(40001);
	memcpy(text, "audit: deny ", 12);
	memset(text + 12, 'y', 40000 - 12);
	text[40000] = '\0';
	ck_assert_int_eq(log_audit(text, f, 4), 0);
	{
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} u;
		struct iovec iov = { buf, 1 << 16 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
		struct cmsghdr *cm;
		int mfd, seals;
		size_t len;
		char *content;

		n = recvmsg(j, &mh, MSG_CMSG_CLOEXEC);
		ck_assert_int_eq(n, 0);
		cm = CMSG_FIRSTHDR(&mh);
		ck_assert_ptr_nonnull(cm);
		ck_assert_int_eq(cm->cmsg_type, SCM_RIGHTS);
		memcpy(&mfd, CMSG_DATA(cm), sizeof(int));
		seals = fcntl(mfd, F_GET_SEALS);
		ck_assert_int_eq(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);
		/* journald maps it; reading needs the offset back at 0. */
		lseek(mfd, 0, SEEK_SET);
		content = slurp_fd(mfd, &len);
		v = field(content, len, "MESSAGE");
		ck_assert_ptr_nonnull(v);
		/* (Check cannot print a 40 KB string.) */
		ck_assert_msg(strcmp(v, text) == 0, "MESSAGE is %zu bytes, %.20s...", strlen(v), v);
		free(v);
		ck_assert_str_eq((v = field(content, len, "SOCKBROKER_EXE")), exe);
		free(v);
		free(content);
		close(mfd);
	}
	/* Nothing went to standard error. */
	ck_assert_int_eq(lseek(efd, 0, SEEK_END), 0);
	free(text);
	free(buf);
	unlink(sockp);
	unlink(errp);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_long_line_is_whole);
	tcase_add_test(tc, the_queue_holds_to_its_bound);
	tcase_add_test(tc, journal_entries_and_a_memfd);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
