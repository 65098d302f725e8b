#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, asprintf, strndup */
#endif

/* Tests of libsockbroker against a fake daemon: a thread in this process that
 * listens on a socket in a temporary directory, reads requests with its own
 * small framing code (not the library's), records what it saw, and answers as
 * each scenario says. The test thread asserts on the records after joining it. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sockbroker.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A member of a JSON object as integer, or fallback when absent / not an int. */
static long long jint(json_object *o, const char *key, long long fallback)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return fallback;
	return json_object_get_int64(v);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* ---------------------------------------------------------------- fake daemon */

#define SRV_MAXFDS 16
#define SRV_MAXPENDING 64

struct srv_msg {
	json_object *obj;       /* NULL if the line was not JSON */
	char *line;
	int fds[SRV_MAXFDS];
	size_t nfds;
};

struct srv;
typedef void (*scenario_fn)(struct srv *s);

struct srv {
	char dir[64];
	char path[128];
	int lfd, cfd;
	pthread_t thread;
	scenario_fn scenario;
	char err[512];          /* first failed check, "" when all passed */

	/* framing state */
	char *buf;
	size_t len, cap;
	unsigned long long base;        /* stream offset of buf[0] */
	unsigned long long msg_start;   /* stream offset where the current message began */
	struct { unsigned long long at; int fds[SRV_MAXFDS]; size_t n; } pend[SRV_MAXPENDING];
	size_t npend;

	/* scenario parameters and records */
	int nclients;           /* requests a scenario expects before acting */
	int count;              /* requests seen */
	long long ids[2048];
	int sync[2];            /* pipe: the test tells the scenario to go on */
	volatile int phase;     /* scenario progress, polled by the test */
	bool keep;              /* keep copies of requests (free with srv_free_seen) */
	json_object *seen[8];   /* copies of requests kept for the test */
	int nseen;
	size_t seen_nfds[8];
};

#define SRV_CHECK(s, cond) \
	do { if (!(cond)) srv_fail(s, __LINE__, "%s", #cond); } while (0)

static void __attribute__((format(printf, 3, 4))) srv_fail(struct srv *s, int line, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (s->err[0])
		return;
	n = (size_t)snprintf(s->err, sizeof(s->err), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof(s->err) - n, fmt, ap);
	va_end(ap);
}

static void srv_msg_free(struct srv_msg *m)
{
	for (size_t i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	json_object_put(m->obj);
	free(m->line);
	memset(m, 0, sizeof(*m));
}

/* Takes the next complete line out of the buffer, with its descriptors. */
static bool srv_pop(struct srv *s, struct srv_msg *m)
{
	char *nl = s->len ? memchr(s->buf, '\n', s->len) : NULL;
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - s->buf);
	memset(m, 0, sizeof(*m));
	m->line = strndup(s->buf, n);
	m->obj = json_tokener_parse(m->line);
	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].at == s->base) {
			memcpy(m->fds, s->pend[i].fds, s->pend[i].n * sizeof(int));
			m->nfds = s->pend[i].n;
			s->pend[i] = s->pend[--s->npend];
			break;
		}
	memmove(s->buf, nl + 1, s->len - n - 1);
	s->len -= n + 1;
	s->base += n + 1;
	return true;
}

/* One recvmsg(): bytes into the buffer; descriptors to the last message that
 * begins in those bytes (protocol section 2). 1, 0 at EOF, -1 on error. */
static int srv_fill(struct srv *s)
{
	char chunk[65536];
	char cbuf[CMSG_SPACE(SRV_MAXFDS * sizeof(int))];
	struct iovec iov = { chunk, sizeof(chunk) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	unsigned long long at = s->base + s->len, last;
	ssize_t n;

	do
		n = recvmsg(s->cfd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	if (s->len + (size_t)n > s->cap) {
		s->cap = (s->len + (size_t)n) * 2;
		s->buf = realloc(s->buf, s->cap);
	}
	/* Where the last message beginning in this chunk starts. */
	last = s->msg_start;
	for (ssize_t i = 0; i < n; i++) {
		if (at + (unsigned long long)i == s->msg_start)
			last = s->msg_start;
		if (chunk[i] == '\n') {
			s->msg_start = at + (unsigned long long)i + 1;
			if (i + 1 < n)
				last = s->msg_start;
		}
	}
	memcpy(s->buf + s->len, chunk, (size_t)n);
	s->len += (size_t)n;
	SRV_CHECK(s, !(mh.msg_flags & MSG_CTRUNC));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			SRV_CHECK(s, s->npend < SRV_MAXPENDING);
			s->pend[s->npend].at = last;
			memcpy(s->pend[s->npend].fds, CMSG_DATA(c), k * sizeof(int));
			s->pend[s->npend].n = k;
			s->npend++;
		}
	return 1;
}

/* The next request, blocking. 1, or 0 at EOF / error. */
static int srv_next(struct srv *s, struct srv_msg *m)
{
	while (!srv_pop(s, m))
		if (srv_fill(s) <= 0)
			return 0;
	return 1;
}

/* The next request if one is complete or arrives within timeout ms. */
static int srv_next_wait(struct srv *s, struct srv_msg *m, int timeout)
{
	while (!srv_pop(s, m)) {
		struct pollfd p = { .fd = s->cfd, .events = POLLIN };
		if (poll(&p, 1, timeout) <= 0 || srv_fill(s) <= 0)
			return 0;
	}
	return 1;
}

/* Checks the envelope of a request and returns its id (-1 for a notification). */
static long long srv_check_request(struct srv *s, struct srv_msg *m)
{
	SRV_CHECK(s, m->obj != NULL);
	if (!m->obj)
		return -1;
	SRV_CHECK(s, jstr(m->obj, "jsonrpc") && strcmp(jstr(m->obj, "jsonrpc"), "2.0") == 0);
	SRV_CHECK(s, jstr(m->obj, "method") != NULL);
	/* One line of plain JSON: no pretty-printing spaces after separators. */
	SRV_CHECK(s, strstr(m->line, "\": ") == NULL);
	return jint(m->obj, "id", -1);
}

/* Sends text + '\n' with one sendmsg() carrying fds, finishing short writes. */
static void srv_send(struct srv *s, const char *text, const int *fds, size_t nfds)
{
	size_t len = strlen(text), off = 0;
	char *line = malloc(len + 1);

	memcpy(line, text, len);
	line[len] = '\n';
	len++;
	while (off < len) {
		char cbuf[CMSG_SPACE(SRV_MAXFDS * sizeof(int))] = {0};
		struct iovec iov = { line + off, len - off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (off == 0 && nfds) {
			struct cmsghdr *c;
			mh.msg_control = cbuf;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		}
		n = sendmsg(s->cfd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(line);
}

/* Sends {"jsonrpc":"2.0","result":<result>,"id":id}. */
static void srv_result(struct srv *s, long long id, const char *result, const int *fds, size_t nfds)
{
	char *text;

	if (asprintf(&text, "{\"jsonrpc\":\"2.0\",\"result\":%s,\"id\":%lld}", result, id) < 0)
		abort();
	srv_send(s, text, fds, nfds);
	free(text);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	s->cfd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	SRV_CHECK(s, s->cfd >= 0);
	if (s->cfd >= 0)
		s->scenario(s);
	return NULL;
}

/* Binds the fake daemon in a fresh temporary directory and starts its thread. */
static void srv_start(struct srv *s, scenario_fn scenario)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	s->cfd = -1;
	s->scenario = scenario;
	strcpy(s->dir, "/tmp/check_client.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/s.sock", s->dir);
	strcpy(sa.sun_path, s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->lfd, 0);
	ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s->lfd, 8), 0);
	ck_assert_int_eq(pipe2(s->sync, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

/* Joins the fake daemon, releases it, and fails the test if a check failed. */
static void srv_finish(struct srv *s)
{
	pthread_join(s->thread, NULL);
	if (s->cfd >= 0)
		close(s->cfd);
	close(s->lfd);
	close(s->sync[0]);
	close(s->sync[1]);
	for (size_t i = 0; i < s->npend; i++)
		for (size_t k = 0; k < s->pend[i].n; k++)
			close(s->pend[i].fds[k]);
	free(s->buf);
	unlink(s->path);
	rmdir(s->dir);
	ck_assert_msg(s->err[0] == '\0', "fake daemon: %s", s->err);
}

/* Releases the requests kept for the test. */
static void srv_free_seen(struct srv *s)
{
	for (int i = 0; i < s->nseen; i++)
		json_object_put(s->seen[i]);
	s->nseen = 0;
}

/* Lets the scenario go on past srv_wait_go(). */
static void srv_go(struct srv *s)
{
	ck_assert_int_eq(write(s->sync[1], "g", 1), 1);
}

static void srv_wait_go(struct srv *s)
{
	char c;

	SRV_CHECK(s, read(s->sync[0], &c, 1) == 1);
}

/* Waits until the scenario reaches phase p. */
static void wait_phase(struct srv *s, int p)
{
	while (__atomic_load_n(&s->phase, __ATOMIC_ACQUIRE) < p)
		usleep(1000);
}

static void set_phase(struct srv *s, int p)
{
	__atomic_store_n(&s->phase, p, __ATOMIC_RELEASE);
}

/* Keeps a copy of a request for the test to inspect. */
static void srv_keep(struct srv *s, struct srv_msg *m)
{
	if (s->keep && s->nseen < 8 && m->obj) {
		s->seen_nfds[s->nseen] = m->nfds;
		s->seen[s->nseen++] = json_object_get(m->obj);
	}
}

/* ---------------------------------------------------------------- scenarios */

/* Answers every request at once with {"method": m, "params": p, "id": id}. */
static void sc_echo(struct srv *s)
{
	struct srv_msg m;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);
		json_object *res = json_object_new_object(), *p = NULL;

		srv_keep(s, &m);
		s->ids[s->count++ % 2048] = id;
		json_object_object_add(res, "method", json_object_new_string(jstr(m.obj, "method")));
		json_object_object_get_ex(m.obj, "params", &p);
		json_object_object_add(res, "params", json_object_get(p));
		json_object_object_add(res, "id", json_object_new_int64(id));
		if (id >= 0)
			srv_result(s, id, json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN), NULL, 0);
		json_object_put(res);
		srv_msg_free(&m);
	}
}

/* Error replies: "fail" with data, "fail2" without. */
static void sc_errors(struct srv *s)
{
	struct srv_msg m;
	char text[256];

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);

		if (strcmp(jstr(m.obj, "method"), "fail") == 0)
			snprintf(text, sizeof(text),
			         "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"Address already in use.\","
			         "\"data\":{\"errno\":98,\"name\":\"EADDRINUSE\"}},\"id\":%lld}", id);
		else
			snprintf(text, sizeof(text),
			         "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"Method not found.\"},"
			         "\"id\":%lld}", id);
		srv_send(s, text, NULL, 0);
		srv_msg_free(&m);
	}
}

/* Writes "ping" into every descriptor a request brings and answers {"got": n}. */
static void sc_fds_in(struct srv *s)
{
	struct srv_msg m;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);
		char res[64];

		srv_keep(s, &m);
		for (size_t i = 0; i < m.nfds; i++) {
			SRV_CHECK(s, fcntl(m.fds[i], F_GETFD) & FD_CLOEXEC);
			SRV_CHECK(s, write(m.fds[i], "ping", 4) == 4);
		}
		snprintf(res, sizeof(res), "{\"got\":%zu}", m.nfds);
		srv_result(s, id, res, NULL, 0);
		srv_msg_free(&m);
	}
}

/* Answers each request with a new pipe: {"fds": 2}, read end first. */
static void sc_fds_out(struct srv *s)
{
	struct srv_msg m;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);
		int p[2];

		SRV_CHECK(s, pipe(p) == 0);
		srv_result(s, id, "{\"fds\":2,\"what\":\"pipe\"}", p, 2);
		close(p[0]);
		close(p[1]);
		srv_msg_free(&m);
		set_phase(s, ++s->count);
	}
}

/* Replies whose descriptors do not match what they declare, then a good one. */
static void sc_fd_mismatch(struct srv *s)
{
	struct srv_msg m;
	int n = 0;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);
		char text[256];
		int p[2];

		SRV_CHECK(s, pipe(p) == 0);
		switch (n++) {
		case 0: /* declares 2, brings 1 */
			srv_result(s, id, "{\"fds\":2}", p, 1);
			break;
		case 1: /* declares none, brings 2 */
			srv_result(s, id, "{\"x\":1}", p, 2);
			break;
		case 2: /* declares 1, brings none */
			srv_result(s, id, "{\"fds\":1}", NULL, 0);
			break;
		case 3: /* an error reply with a descriptor */
			snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,"
			         "\"message\":\"x\"},\"id\":%lld}", id);
			srv_send(s, text, p, 1);
			break;
		case 4: /* "fds" that is not a count */
			srv_result(s, id, "{\"fds\":\"one\"}", p, 1);
			break;
		default:
			srv_result(s, id, "{\"ok\":true}", NULL, 0);
			break;
		}
		close(p[0]);
		close(p[1]);
		srv_msg_free(&m);
	}
}

/* Collects nclients requests, then answers them in reverse order; requests
 * with an odd "n" get a descriptor (a pipe's read end) with their reply. */
static void sc_reverse(struct srv *s)
{
	struct srv_msg *m = calloc((size_t)s->nclients, sizeof(*m));
	int got = 0;

	while (got < s->nclients && srv_next(s, &m[got]))
		got++;
	SRV_CHECK(s, got == s->nclients);
	set_phase(s, 1);
	if (s->nclients > 64)           /* the in-flight limit test */
		srv_wait_go(s);
	for (int i = got - 1; i >= 0; i--) {
		long long id = srv_check_request(s, &m[i]);
		json_object *params = NULL;
		long long n;
		char res[128];

		json_object_object_get_ex(m[i].obj, "params", &params);
		n = jint(params, "n", -1);
		for (int k = 0; k < i; k++)
			SRV_CHECK(s, jint(m[k].obj, "id", -2) != id);
		if (n % 2) {
			int p[2];
			SRV_CHECK(s, pipe(p) == 0);
			snprintf(res, sizeof(res), "{\"n\":%lld,\"fds\":1}", n);
			srv_result(s, id, res, p, 1);
			close(p[0]);
			close(p[1]);
		} else {
			snprintf(res, sizeof(res), "{\"n\":%lld}", n);
			srv_result(s, id, res, NULL, 0);
		}
		srv_msg_free(&m[i]);
	}
	free(m);
	/* Wait for the client to go away. */
	{
		struct srv_msg x;
		while (srv_next(s, &x))
			srv_msg_free(&x);
	}
}

/* Answers whatever has arrived, in reverse order, in bursts (many replies in
 * one read on the other side); every third reply carries a descriptor. */
static void sc_burst(struct srv *s)
{
	for (;;) {
		struct srv_msg m[64];
		int got = 0;

		if (!srv_next(s, &m[0]))
			break;
		got = 1;
		while (got < 64 && srv_next_wait(s, &m[got], 2))
			got++;
		for (int i = got - 1; i >= 0; i--) {
			long long id = srv_check_request(s, &m[i]);
			json_object *params = NULL;
			char res[128];
			long long n;

			json_object_object_get_ex(m[i].obj, "params", &params);
			n = jint(params, "n", -1);
			s->count++;
			if (n % 3 == 0) {
				int p[2];
				SRV_CHECK(s, pipe(p) == 0);
				snprintf(res, sizeof(res), "{\"n\":%lld,\"fds\":1}", n);
				srv_result(s, id, res, p, 1);
				close(p[0]);
				close(p[1]);
			} else {
				snprintf(res, sizeof(res), "{\"n\":%lld}", n);
				srv_result(s, id, res, NULL, 0);
			}
			srv_msg_free(&m[i]);
		}
	}
}

/* Reads nclients requests, then hangs up without answering. */
static void sc_hangup(struct srv *s)
{
	struct srv_msg m;

	for (int i = 0; i < s->nclients && srv_next(s, &m); i++) {
		srv_check_request(s, &m);
		srv_msg_free(&m);
	}
	close(s->cfd);
	s->cfd = -1;
	set_phase(s, 1);
}

/* Leaves the first request unanswered until the second comes, then answers
 * the first (late) and then the second. */
static void sc_late(struct srv *s)
{
	struct srv_msg a, b;
	long long ida, idb;

	if (!srv_next(s, &a))
		return;
	ida = srv_check_request(s, &a);
	if (!srv_next(s, &b)) {
		srv_msg_free(&a);
		return;
	}
	idb = srv_check_request(s, &b);
	SRV_CHECK(s, ida != idb);
	srv_result(s, ida, "{\"which\":\"first\"}", NULL, 0);
	srv_result(s, idb, "{\"which\":\"second\"}", NULL, 0);
	srv_msg_free(&a);
	srv_msg_free(&b);
	while (srv_next(s, &a))
		srv_msg_free(&a);
}

/* Replies that are nobody's (unknown id, id null) before the real one. */
static void sc_strangers(struct srv *s)
{
	struct srv_msg m;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);
		int p[2];

		SRV_CHECK(s, pipe(p) == 0);
		srv_result(s, id + 1000, "{\"fds\":1,\"who\":\"stranger\"}", p, 1);
		srv_send(s, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\"},\"id\":null}",
		         NULL, 0);
		srv_send(s, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{}}", NULL, 0);
		srv_result(s, id, "{\"who\":\"me\"}", NULL, 0);
		close(p[0]);
		close(p[1]);
		srv_msg_free(&m);
	}
}

/* First an invalid response naming the call, then a line that is not JSON. */
static void sc_malformed(struct srv *s)
{
	struct srv_msg m;
	char text[128];

	if (!srv_next(s, &m))
		return;
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%lld}", srv_check_request(s, &m));
	srv_send(s, text, NULL, 0);
	srv_msg_free(&m);
	if (!srv_next(s, &m))
		return;
	srv_send(s, "this is not JSON", NULL, 0);
	srv_msg_free(&m);
	while (srv_next(s, &m))
		srv_msg_free(&m);
}

/* Answers with one line longer than the library's 16 MiB limit. */
static void sc_huge(struct srv *s)
{
	struct srv_msg m;
	size_t n = 17u * 1024 * 1024;
	char *text;

	if (!srv_next(s, &m))
		return;
	text = malloc(n + 64);
	n = (size_t)sprintf(text, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"", srv_check_request(s, &m));
	memset(text + n, 'a', 17u * 1024 * 1024);
	strcpy(text + n + 17u * 1024 * 1024, "\"}");
	srv_send(s, text, NULL, 0); /* stops when the client hangs up */
	free(text);
	srv_msg_free(&m);
}

/* Records what arrives (calls and notifications) and answers calls. */
static void sc_record(struct srv *s)
{
	struct srv_msg m;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);

		srv_keep(s, &m);
		s->count++;
		if (id >= 0)
			srv_result(s, id, "{}", NULL, 0);
		srv_msg_free(&m);
	}
}

/* The typed helpers' daemon: records "method params" lines in helper_log and
 * answers as the real daemon would (a socketpair end for every descriptor it
 * hands out). Addresses decide the outcome: port 1 cannot be bound (EACCES),
 * 10.0.0.1 refuses connections, "nohost.test" does not resolve, family 99 is
 * denied, method socket.fd answers without its descriptor. */
static char helper_log[8192];

static void sc_send_error(struct srv *s, long long id, int code, const char *message, const char *data)
{
	char text[512];

	snprintf(text, sizeof(text),
	         "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":\"%s\"%s%s},\"id\":%lld}",
	         code, message, data ? ",\"data\":" : "", data ? data : "", id);
	srv_send(s, text, NULL, 0);
}

static void sc_send_fd(struct srv *s, long long id)
{
	int sp[2];

	SRV_CHECK(s, socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	srv_result(s, id, "{\"fds\":1}", sp, 1);
	close(sp[0]);
	close(sp[1]);
}

static void sc_helpers(struct srv *s)
{
	struct srv_msg m;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);
		const char *meth = jstr(m.obj, "method");
		json_object *p = NULL, *a = NULL;
		const char *ptext, *host = NULL;
		long long port = -1;

		json_object_object_get_ex(m.obj, "params", &p);
		ptext = p ? json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN) : "-";
		if (strlen(helper_log) + strlen(meth) + strlen(ptext) + 3 < sizeof(helper_log)) {
			strcat(helper_log, meth);
			strcat(helper_log, " ");
			strcat(helper_log, ptext);
			strcat(helper_log, "\n");
		}
		if (p && json_object_object_get_ex(p, "address", &a)) {
			if (json_object_is_type(a, json_type_array)) {
				host = json_object_get_string(json_object_array_get_idx(a, 0));
				port = json_object_get_int64(json_object_array_get_idx(a, 1));
			} else {
				host = jstr(a, "host");
				port = jint(a, "port", -1);
			}
		}
		/* As the daemon: a name it cannot resolve is its gaierror. */
		if ((strcmp(meth, "socket.listen_on") == 0 || strcmp(meth, "socket.connect_to") == 0) && host &&
		    strcmp(host, "nohost.test") == 0) {
			sc_send_error(s, id, -32001, "Name or service not known.", "{\"gai\":-2,\"name\":\"EAI_NONAME\"}");
		} else if (strcmp(meth, "socket.listen_on") == 0 || strcmp(meth, "socket.detach") == 0) {
			sc_send_fd(s, id);
		} else if (strcmp(meth, "socket.create") == 0) {
			json_object *pass = NULL;

			if (jint(p, "family", 0) == 99)
				sc_send_error(s, id, -32010, "Denied.",
				              "{\"reason\":\"not allowed\",\"rule\":\"embedded default\"}");
			else if (json_object_object_get_ex(p, "pass", &pass) && json_object_get_boolean(pass))
				sc_send_fd(s, id);
			else
				srv_result(s, id, "{\"handle\":7,\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\",\"proto\":0}",
				           NULL, 0);
		} else if (strcmp(meth, "socket.bind") == 0) {
			if (port == 1)
				sc_send_error(s, id, -32000, "Permission denied.", "{\"errno\":13,\"name\":\"EACCES\"}");
			else
				srv_result(s, id, "{}", NULL, 0);
		} else if (strcmp(meth, "socket.connect_to") == 0) {
			/* refused.test: every address it resolves to refuses. */
			if (host && (strcmp(host, "10.0.0.1") == 0 || strcmp(host, "refused.test") == 0))
				sc_send_error(s, id, -32000, "Connection refused.",
				              "{\"errno\":111,\"name\":\"ECONNREFUSED\"}");
			else
				sc_send_fd(s, id);
		} else if (strcmp(meth, "net.getaddrinfo") == 0) {
			if (strcmp(jstr(p, "host"), "nohost.test") == 0)
				sc_send_error(s, id, -32001, "Name or service not known.",
				              "{\"gai\":-2,\"name\":\"EAI_NONAME\"}");
			else if (strcmp(jstr(p, "host"), "refused.test") == 0)
				srv_result(s, id, "{\"results\":[{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\","
				           "\"proto\":6,\"canonname\":\"\",\"address\":{\"host\":\"10.0.0.1\",\"port\":80}},"
				           "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\",\"proto\":6,\"canonname\":\"\","
				           "\"address\":{\"host\":\"10.0.0.1\",\"port\":81}}]}", NULL, 0);
			else
				srv_result(s, id, "{\"results\":[{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\","
				           "\"proto\":6,\"canonname\":\"\",\"address\":{\"host\":\"10.0.0.1\",\"port\":80}},"
				           "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\",\"proto\":6,\"canonname\":\"\","
				           "\"address\":{\"host\":\"127.0.0.1\",\"port\":80}}]}", NULL, 0);
		} else if (strcmp(meth, "socket.fd") == 0) {
			srv_result(s, id, "{}", NULL, 0);       /* a pass call without its descriptor */
		} else {
			srv_result(s, id, "{}", NULL, 0);
		}
		srv_msg_free(&m);
	}
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_socket_path)
{
	unsetenv("SOCKBROKER_SOCKET");
	ck_assert_str_eq(sb_socket_path(), SB_DEFAULT_SOCKET);
	setenv("SOCKBROKER_SOCKET", "", 1);
	ck_assert_str_eq(sb_socket_path(), SB_DEFAULT_SOCKET);
	setenv("SOCKBROKER_SOCKET", "/x/y.sock", 1);
	ck_assert_str_eq(sb_socket_path(), "/x/y.sock");
	unsetenv("SOCKBROKER_SOCKET");
}
END_TEST

START_TEST(test_connect_errors)
{
	char longpath[200];
	sb_client *c = (sb_client *)1;
	int before = count_fds();

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(sb_connect(longpath, &c), -ENAMETOOLONG);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(sb_connect("/nonexistent/sockbroker.sock", &c), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(sb_connect("", &c), -EINVAL);
	ck_assert_int_eq(sb_connect("/x", NULL), -EINVAL);
	setenv("SOCKBROKER_SOCKET", "/nonexistent/env.sock", 1);
	ck_assert_int_eq(sb_connect(NULL, &c), -ENOENT);
	unsetenv("SOCKBROKER_SOCKET");
	ck_assert_int_eq(count_fds(), before);
	sb_close(NULL);
	sb_reply_free(NULL);
}
END_TEST

START_TEST(test_call_explicit_path)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;
	json_object *res, *p;

	srv_start(&s, sc_echo);
	s.keep = true;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	ck_assert_int_eq(sb_call(c, "daemon.info", "{\"a\":[1,\"x/y\"]}", NULL, 0, &r), 0);
	ck_assert(sb_reply_ok(r));
	ck_assert_int_eq(sb_reply_error_code(r), 0);
	ck_assert_ptr_null(sb_reply_error_message(r));
	ck_assert_ptr_null(sb_reply_error_data(r));
	ck_assert_uint_eq(sb_reply_nfds(r), 0);
	ck_assert_int_eq(sb_reply_take_fd(r, 0), -1);
	/* The text is made once and kept: the same string every time. */
	ck_assert_ptr_nonnull(sb_reply_result(r));
	ck_assert_ptr_eq(sb_reply_result(r), sb_reply_result(r));
	res = json_tokener_parse(sb_reply_result(r));
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(jstr(res, "method"), "daemon.info");
	ck_assert(json_object_object_get_ex(res, "params", &p));
	ck_assert_str_eq(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN |
	                 JSON_C_TO_STRING_NOSLASHESCAPE), "{\"a\":[1,\"x/y\"]}");
	json_object_put(res);
	sb_reply_free(r);

	/* No params at all, and ids count up. */
	ck_assert_int_eq(sb_call(c, "daemon.whoami", NULL, NULL, 0, &r), 0);
	res = json_tokener_parse(sb_reply_result(r));
	ck_assert(json_object_object_get_ex(res, "params", &p));
	ck_assert_ptr_null(p);
	json_object_put(res);
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(s.count, 2);
	ck_assert_int_eq(s.ids[0], 1);
	ck_assert_int_eq(s.ids[1], 2);
	/* The raw request: no slash escaping, "params" absent when NULL. */
	ck_assert_int_eq(s.nseen, 2);
	ck_assert(!json_object_object_get_ex(s.seen[1], "params", NULL));
	srv_free_seen(&s);
}
END_TEST

START_TEST(test_call_env)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;

	srv_start(&s, sc_echo);
	setenv("SOCKBROKER_SOCKET", s.path, 1);
	ck_assert_str_eq(sb_socket_path(), s.path);
	ck_assert_int_eq(sb_connect(NULL, &c), 0);
	unsetenv("SOCKBROKER_SOCKET");
	ck_assert_int_eq(sb_call(c, "daemon.ping", "{}", NULL, 0, &r), 0);
	ck_assert(sb_reply_ok(r));
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(s.count, 1);
}
END_TEST

START_TEST(test_error_reply)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;
	json_object *d;

	srv_start(&s, sc_errors);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	ck_assert_int_eq(sb_call(c, "fail", "{}", NULL, 0, &r), 0);
	ck_assert(!sb_reply_ok(r));
	ck_assert_ptr_null(sb_reply_result(r));
	ck_assert_int_eq(sb_reply_error_code(r), SB_OS_ERROR);
	ck_assert_str_eq(sb_reply_error_message(r), "Address already in use.");
	ck_assert_ptr_eq(sb_reply_error_data(r), sb_reply_error_data(r));
	ck_assert_str_eq(sb_reply_error_data(r), "{\"errno\":98,\"name\":\"EADDRINUSE\"}");
	d = json_tokener_parse(sb_reply_error_data(r));
	ck_assert_int_eq(jint(d, "errno", 0), 98);
	ck_assert_str_eq(jstr(d, "name"), "EADDRINUSE");
	json_object_put(d);
	/* sb_reply_errno reads data.errno from the parsed reply. */
	ck_assert_int_eq(sb_reply_errno(r), -EADDRINUSE);
	sb_reply_free(r);

	ck_assert_int_eq(sb_call(c, "fail2", NULL, NULL, 0, &r), 0);
	ck_assert(!sb_reply_ok(r));
	ck_assert_int_eq(sb_reply_error_code(r), SB_METHOD_NOT_FOUND);
	ck_assert_str_eq(sb_reply_error_message(r), "Method not found.");
	ck_assert_ptr_null(sb_reply_error_data(r));
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
}
END_TEST

START_TEST(test_send_fds)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;
	int p1[2], p2[2], fds[2];
	char buf[8];

	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	fds[0] = p1[1];
	fds[1] = p2[1];
	srv_start(&s, sc_fds_in);
	s.keep = true;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	ck_assert_int_eq(sb_call(c, "socket.sendmsg", "{\"x\":1}", fds, 2, &r), 0);
	ck_assert_str_eq(sb_reply_result(r), "{\"got\":2}");
	sb_reply_free(r);
	/* The fake daemon wrote into the descriptors it received. */
	ck_assert_int_eq(read(p1[0], buf, sizeof(buf)), 4);
	ck_assert_int_eq(read(p2[0], buf, sizeof(buf)), 4);
	/* The caller keeps its own. */
	ck_assert(fd_is_open(p1[1]) && fd_is_open(p2[1]));

	/* NULL params with a descriptor become {"fds": 1}. */
	ck_assert_int_eq(sb_call(c, "socket.adopt", NULL, fds, 1, &r), 0);
	ck_assert_str_eq(sb_reply_result(r), "{\"got\":1}");
	sb_reply_free(r);

	/* Bad descriptor arguments are refused before sending. */
	fds[0] = -1;
	ck_assert_int_eq(sb_call(c, "socket.adopt", NULL, fds, 1, &r), -EBADF);
	ck_assert_int_eq(sb_call(c, "socket.adopt", NULL, NULL, 1, &r), -EINVAL);
	ck_assert_int_eq(sb_call(c, "socket.adopt", NULL, fds, 254, &r), -EINVAL);
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(s.nseen, 2);
	ck_assert_int_eq(jint(json_object_object_get(s.seen[0], "params"), "fds", 0), 2);
	ck_assert_int_eq(jint(json_object_object_get(s.seen[0], "params"), "x", 0), 1);
	ck_assert_uint_eq(s.seen_nfds[0], 2);
	ck_assert_int_eq(jint(json_object_object_get(s.seen[1], "params"), "fds", 0), 1);
	ck_assert_uint_eq(s.seen_nfds[1], 1);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	srv_free_seen(&s);
}
END_TEST

START_TEST(test_reply_fds)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;
	int before = count_fds(), rd, wr;
	char buf[8];

	srv_start(&s, sc_fds_out);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	ck_assert_int_eq(sb_call(c, "socket.pair", "{\"pass\":true}", NULL, 0, &r), 0);
	ck_assert(sb_reply_ok(r));
	ck_assert_uint_eq(sb_reply_nfds(r), 2);
	rd = r ? sb_reply_take_fd(r, 0) : -1;
	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(sb_reply_take_fd(r, 0), -1);  /* already taken */
	ck_assert_int_eq(sb_reply_take_fd(r, 2), -1);  /* out of range */
	/* Peek at the second without taking it: CLOEXEC and usable. */
	{
		json_object *res = json_tokener_parse(sb_reply_result(r));
		ck_assert_int_eq(jint(res, "fds", 0), 2);
		json_object_put(res);
	}
	wr = sb_reply_take_fd(r, 1);
	ck_assert_int_ge(wr, 0);
	ck_assert(fcntl(rd, F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(wr, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(write(wr, "hi", 2), 2);
	ck_assert_int_eq(read(rd, buf, sizeof(buf)), 2);
	sb_reply_free(r);
	ck_assert(fd_is_open(rd) && fd_is_open(wr));
	close(rd);
	close(wr);

	/* Untaken descriptors are closed by sb_reply_free. */
	ck_assert_int_eq(sb_call(c, "socket.pair", "{\"pass\":true}", NULL, 0, &r), 0);
	ck_assert_uint_eq(sb_reply_nfds(r), 2);
	wait_phase(&s, 2);      /* the fake daemon closed its copies */
	rd = sb_reply_take_fd(r, 0);
	ck_assert_int_ge(rd, 0);
	{
		int held = count_fds();
		sb_reply_free(r);
		ck_assert_int_eq(count_fds(), held - 1);
	}
	ck_assert(fd_is_open(rd));
	close(rd);
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_fd_count_mismatch)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = (sb_reply *)1;
	int before = count_fds();

	srv_start(&s, sc_fd_mismatch);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(sb_call(c, "m", "{}", NULL, 0, &r), -EPROTO);
		ck_assert_ptr_null(r);
	}
	/* The connection is still good. */
	ck_assert_int_eq(sb_call(c, "m", "{}", NULL, 0, &r), 0);
	ck_assert_str_eq(sb_reply_result(r), "{\"ok\":true}");
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

struct worker {
	sb_client *c;
	int n;
	int calls;
	int rc;                 /* first sb_call result that was not 0 */
	int bad;                /* replies that were not this worker's */
	int fds_ok;
};

/* One call with {"n": n}; checks the reply is n's and its descriptors. */
static void *worker_one(void *arg)
{
	struct worker *w = arg;
	char params[64];
	sb_reply *r = NULL;
	json_object *res;

	snprintf(params, sizeof(params), "{\"n\":%d}", w->n);
	w->rc = sb_call(w->c, "echo.n", params, NULL, 0, &r);
	if (w->rc)
		return NULL;
	res = json_tokener_parse(sb_reply_result(r));
	if (jint(res, "n", -1) != w->n)
		w->bad++;
	if (sb_reply_nfds(r) == (size_t)(w->n % 2)) {
		int fd = sb_reply_take_fd(r, 0);
		w->fds_ok = w->n % 2 == 0 || (fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
		if (fd >= 0)
			close(fd);
	}
	json_object_put(res);
	sb_reply_free(r);
	return NULL;
}

START_TEST(test_out_of_order_threads)
{
	struct srv s;
	sb_client *c;
	struct worker w[8];
	pthread_t t[8];
	int before = count_fds();

	srv_start(&s, sc_reverse);
	s.nclients = 8;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ .c = c, .n = i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_one, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].rc == 0, "worker %d: %s", i, sb_strerror(w[i].rc));
		ck_assert_int_eq(w[i].bad, 0);
		ck_assert_msg(w[i].fds_ok, "worker %d: descriptors", i);
	}
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Many calls in a row, each checking its own reply. */
static void *worker_many(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->calls; i++) {
		char params[64];
		sb_reply *r = NULL;
		json_object *res;
		int n = w->n * 1000 + i, rc;

		snprintf(params, sizeof(params), "{\"n\":%d}", n);
		rc = sb_call(w->c, "echo.n", params, NULL, 0, &r);
		if (rc) {
			w->rc = rc;
			return NULL;
		}
		res = json_tokener_parse(sb_reply_result(r));
		if (jint(res, "n", -1) != n || sb_reply_nfds(r) != (n % 3 == 0 ? 1u : 0u))
			w->bad++;
		json_object_put(res);
		sb_reply_free(r);
	}
	return NULL;
}

START_TEST(test_threads_stress)
{
	enum { NT = 16, CALLS = 200 };
	struct srv s;
	sb_client *c;
	struct worker w[NT];
	pthread_t t[NT];
	int before = count_fds();

	srv_start(&s, sc_burst);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	for (int i = 0; i < NT; i++) {
		w[i] = (struct worker){ .c = c, .n = i + 1, .calls = CALLS };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_many, &w[i]), 0);
	}
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].rc == 0, "worker %d: %s", i, sb_strerror(w[i].rc));
		ck_assert_int_eq(w[i].bad, 0);
	}
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(s.count, NT * CALLS);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_connection_lost)
{
	struct srv s;
	sb_client *c;
	struct worker w[4];
	pthread_t t[4];
	sb_reply *r = NULL;
	int rc;

	srv_start(&s, sc_hangup);
	s.nclients = 4;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .c = c, .n = i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_one, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].rc == -ECONNRESET || w[i].rc == -EPIPE,
		              "worker %d: %d %s", i, w[i].rc, sb_strerror(w[i].rc));
	}
	/* Later calls fail at once; no SIGPIPE kills us. */
	rc = sb_call(c, "x", NULL, NULL, 0, &r);
	ck_assert_msg(rc == -ECONNRESET || rc == -EPIPE, "%d", rc);
	ck_assert_ptr_null(r);
	rc = sb_notify(c, "x", NULL);
	ck_assert_msg(rc == -ECONNRESET || rc == -EPIPE, "%d", rc);
	sb_close(c);
	srv_finish(&s);
}
END_TEST

START_TEST(test_hangup_before_request)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;
	int rc;

	srv_start(&s, sc_hangup);
	s.nclients = 0;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	wait_phase(&s, 1);      /* it has hung up */
	rc = sb_call(c, "x", NULL, NULL, 0, &r);
	ck_assert_msg(rc == -ECONNRESET || rc == -EPIPE, "%d", rc);
	ck_assert_ptr_null(r);
	sb_close(c);
	srv_finish(&s);
}
END_TEST

START_TEST(test_timeout)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;
	long long t0, dt;

	srv_start(&s, sc_late);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	sb_set_timeout(c, 200);
	t0 = now_ms();
	ck_assert_int_eq(sb_call(c, "slow", NULL, NULL, 0, &r), -ETIMEDOUT);
	dt = now_ms() - t0;
	ck_assert_ptr_null(r);
	ck_assert_int_ge(dt, 195);
	ck_assert_int_lt(dt, 5000);
	/* The late reply to the first call is dropped; the second gets its own. */
	sb_set_timeout(c, -1);
	ck_assert_int_eq(sb_call(c, "next", NULL, NULL, 0, &r), 0);
	ck_assert_str_eq(sb_reply_result(r), "{\"which\":\"second\"}");
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
}
END_TEST

START_TEST(test_timeout_threads)
{
	/* Waiters that are not the reader time out too. */
	struct srv s;
	sb_client *c;
	struct worker w[4];
	pthread_t t[4];
	long long t0;

	srv_start(&s, sc_hangup);
	s.nclients = 5;         /* reads the calls, never answers */
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	sb_set_timeout(c, 150);
	t0 = now_ms();
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .c = c, .n = i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_one, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].rc, -ETIMEDOUT);
	}
	ck_assert_int_lt(now_ms() - t0, 5000);
	sb_close(c);
	srv_finish(&s);
}
END_TEST

START_TEST(test_invalid_params)
{
	static const char *bad[] = {
		"[1,2]", "nope", "{", "{} x", "\"s\"", "42", "null", "{\"a\":1}}", "",
		"{\"fds\":1}", /* declares descriptors that do not come */
	};
	struct srv s;
	sb_client *c;
	sb_reply *r = (sb_reply *)1;
	int fd = 0;

	srv_start(&s, sc_record);
	s.keep = true;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(sb_call(c, "m", bad[i], NULL, 0, &r) == -EINVAL, "%s", bad[i]);
		ck_assert_ptr_null(r);
		ck_assert_int_eq(sb_notify(c, "m", bad[i]), -EINVAL);
	}
	ck_assert_int_eq(sb_call(c, NULL, "{}", NULL, 0, &r), -EINVAL);
	ck_assert_int_eq(sb_call(c, "", "{}", NULL, 0, &r), -EINVAL);
	ck_assert_int_eq(sb_call(c, "m", "{}", NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(sb_call(c, "m", "[1]", &fd, 1, &r), -EINVAL);
	ck_assert_int_eq(sb_call(c, "ok", "{}", NULL, 0, &r), 0);
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
	/* Nothing reached the daemon before the good call. */
	ck_assert_int_eq(s.count, 1);
	ck_assert_str_eq(jstr(s.seen[0], "method"), "ok");
	srv_free_seen(&s);
}
END_TEST

START_TEST(test_notify)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;

	srv_start(&s, sc_record);
	s.keep = true;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	ck_assert_int_eq(sb_notify(c, "note", "{\"a\":1}"), 0);
	ck_assert_int_eq(sb_notify(c, "bare", NULL), 0);
	ck_assert_int_eq(sb_call(c, "ok", NULL, NULL, 0, &r), 0);
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(s.count, 3);
	ck_assert_str_eq(jstr(s.seen[0], "method"), "note");
	ck_assert(!json_object_object_get_ex(s.seen[0], "id", NULL));
	ck_assert_int_eq(jint(json_object_object_get(s.seen[0], "params"), "a", 0), 1);
	ck_assert(!json_object_object_get_ex(s.seen[1], "params", NULL));
	ck_assert(!json_object_object_get_ex(s.seen[1], "id", NULL));
	ck_assert_int_eq(jint(s.seen[2], "id", -1), 1);
	srv_free_seen(&s);
}
END_TEST

START_TEST(test_unknown_ids_dropped)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;
	int before = count_fds();

	srv_start(&s, sc_strangers);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(sb_call(c, "m", NULL, NULL, 0, &r), 0);
		ck_assert_str_eq(sb_reply_result(r), "{\"who\":\"me\"}");
		ck_assert_uint_eq(sb_reply_nfds(r), 0);
		sb_reply_free(r);
	}
	sb_close(c);
	srv_finish(&s);
	ck_assert_int_eq(count_fds(), before); /* the strangers' descriptors were closed */
}
END_TEST

START_TEST(test_malformed_reply)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;

	srv_start(&s, sc_malformed);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	/* An invalid response that names the call fails that call only. */
	ck_assert_int_eq(sb_call(c, "m", NULL, NULL, 0, &r), -EPROTO);
	/* A line that is not JSON makes the connection untrustworthy. */
	ck_assert_int_eq(sb_call(c, "m", NULL, NULL, 0, &r), -EPROTO);
	ck_assert_int_eq(sb_call(c, "m", NULL, NULL, 0, &r), -EPROTO);
	sb_close(c);
	srv_finish(&s);
}
END_TEST

START_TEST(test_reply_too_long)
{
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;

	srv_start(&s, sc_huge);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	ck_assert_int_eq(sb_call(c, "m", NULL, NULL, 0, &r), -EMSGSIZE);
	ck_assert_ptr_null(r);
	sb_close(c);
	srv_finish(&s);
}
END_TEST

START_TEST(test_inflight_limit)
{
	enum { LIMIT = 1024 };
	struct srv s;
	sb_client *c;
	struct worker *w = calloc(LIMIT, sizeof(*w));
	pthread_t *t = calloc(LIMIT, sizeof(*t));
	pthread_attr_t attr;
	sb_reply *r = NULL;

	srv_start(&s, sc_reverse);
	s.nclients = LIMIT;
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < LIMIT; i++) {
		w[i] = (struct worker){ .c = c, .n = 2 * i }; /* even: no descriptors */
		ck_assert_int_eq(pthread_create(&t[i], &attr, worker_one, &w[i]), 0);
	}
	pthread_attr_destroy(&attr);
	wait_phase(&s, 1);      /* all LIMIT requests are at the daemon */
	ck_assert_int_eq(sb_call(c, "one.too.many", NULL, NULL, 0, &r), -EBUSY);
	ck_assert_ptr_null(r);
	srv_go(&s);
	for (int i = 0; i < LIMIT; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].rc, 0);
		ck_assert_int_eq(w[i].bad, 0);
	}
	/* Room again. */
	sb_set_timeout(c, 100);
	ck_assert_int_eq(sb_call(c, "again", NULL, NULL, 0, &r), -ETIMEDOUT);
	sb_close(c);
	srv_finish(&s);
	free(w);
	free(t);
}
END_TEST

START_TEST(test_strerror)
{
	static const int errs[] = {
		-EINVAL, -ENAMETOOLONG, -ENOENT, -ECONNREFUSED, -EACCES, -EPIPE,
		-ECONNRESET, -EPROTO, -EMSGSIZE, -ETIMEDOUT, -EBUSY, -EBADF, -ENOMEM,
	};

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *m = sb_strerror(errs[i]);
		ck_assert_ptr_nonnull(m);
		ck_assert_int_gt(strlen(m), 10);
		for (size_t k = 0; k < i; k++)
			ck_assert_str_ne(m, sb_strerror(errs[k]));
	}
	ck_assert_ptr_nonnull(sb_strerror(-EXDEV));
	ck_assert_ptr_nonnull(sb_strerror(-123456));
	ck_assert_ptr_nonnull(sb_strerror(5));
}
END_TEST

START_TEST(test_reply_accessors_null)
{
	ck_assert_int_eq(sb_reply_ok(NULL), 0);
	ck_assert_ptr_null(sb_reply_result(NULL));
	ck_assert_int_eq(sb_reply_error_code(NULL), 0);
	ck_assert_ptr_null(sb_reply_error_message(NULL));
	ck_assert_ptr_null(sb_reply_error_data(NULL));
	ck_assert_uint_eq(sb_reply_nfds(NULL), 0);
	ck_assert_int_eq(sb_reply_take_fd(NULL, 0), -1);
	sb_set_timeout(NULL, 5);
	ck_assert_int_eq(sb_notify(NULL, "m", NULL), -EINVAL);
}
END_TEST

START_TEST(test_spec_valid)
{
	struct sb_spec sp;

	ck_assert_int_eq(sb_parse_spec("tcp:0.0.0.0:80", &sp), 0);
	ck_assert_int_eq(sp.family, AF_INET);
	ck_assert_int_eq(sp.type, SOCK_STREAM);
	ck_assert_str_eq(sp.host, "0.0.0.0");
	ck_assert_int_eq(sp.port, 80);

	ck_assert_int_eq(sb_parse_spec("udp:[::]:53", &sp), 0);
	ck_assert_int_eq(sp.family, AF_INET6);
	ck_assert_int_eq(sp.type, SOCK_DGRAM);
	ck_assert_str_eq(sp.host, "::");
	ck_assert_int_eq(sp.port, 53);

	ck_assert_int_eq(sb_parse_spec("tcp:[fe80::1%eth0]:65535", &sp), 0);
	ck_assert_int_eq(sp.family, AF_INET6);
	ck_assert_str_eq(sp.host, "fe80::1%eth0");
	ck_assert_int_eq(sp.port, 65535);

	ck_assert_int_eq(sb_parse_spec("tcp:localhost:0", &sp), 0);
	ck_assert_int_eq(sp.family, AF_UNSPEC);
	ck_assert_str_eq(sp.host, "localhost");
	ck_assert_int_eq(sp.port, 0);

	ck_assert_int_eq(sb_parse_spec("udp:my-host.example_1.org:00053", &sp), 0);
	ck_assert_int_eq(sp.family, AF_UNSPEC);
	ck_assert_int_eq(sp.port, 53);

	/* An empty host: any IPv4 address. */
	ck_assert_int_eq(sb_parse_spec("tcp::8080", &sp), 0);
	ck_assert_int_eq(sp.family, AF_INET);
	ck_assert_str_eq(sp.host, "");
	ck_assert_int_eq(sp.port, 8080);

	ck_assert_int_eq(sb_parse_spec("unix:/run/x.sock", &sp), 0);
	ck_assert_int_eq(sp.family, AF_UNIX);
	ck_assert_int_eq(sp.type, SOCK_STREAM);
	ck_assert_str_eq(sp.path, "/run/x.sock");
	ck_assert_int_eq(sp.abstract, 0);
	ck_assert_int_eq(sp.port, -1);

	ck_assert_int_eq(sb_parse_spec("unix:@abstract", &sp), 0);
	ck_assert_str_eq(sp.path, "abstract");
	ck_assert_int_eq(sp.abstract, 1);

	/* A relative path is a path. */
	ck_assert_int_eq(sb_parse_spec("unix:x:1", &sp), 0);
	ck_assert_str_eq(sp.path, "x:1");
}
END_TEST

START_TEST(test_spec_invalid)
{
	static const char *const bad[] = {
		"tcp:127.0.0.1",        /* missing port */
		"tcp:127.0.0.1:",       /* empty port */
		"tcp:1.2.3.4:70000",    /* port out of range */
		"tcp:1.2.3.4:123456",
		"udp:1.2.3.4:-1",
		"tcp:1.2.3.4:8o",
		"tcp:1.2.3.4: 80",
		"tcp:[::1:80",          /* bad brackets */
		"tcp:[::1]80",
		"tcp:[::1]",
		"tcp:::1]:80",
		"tcp:a[b]:80",
		"tcp:[1.2.3.4]:80",     /* brackets hold IPv6 only */
		"tcp:[]:80",
		"tcp:[fe80::1%]:80",
		"tcp:::1:80",           /* an IPv6 literal without brackets */
		"tcp:bad host:80",
		"sctp:1.2.3.4:80",      /* unknown scheme */
		"TCP:1.2.3.4:80",
		"1.2.3.4:80",
		"",
		"unix:",
		"unix:@",
	};
	struct sb_spec sp;
	char longpath[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sb_parse_spec(bad[i], &sp) == -EINVAL, "'%s' was accepted", bad[i]);
	ck_assert_int_eq(sb_parse_spec(NULL, &sp), -EINVAL);
	ck_assert_int_eq(sb_parse_spec("tcp:1.2.3.4:80", NULL), -EINVAL);
	strcpy(longpath, "unix:/");
	memset(longpath + 6, 'a', 120);
	longpath[126] = '\0';
	ck_assert_int_eq(sb_parse_spec(longpath, &sp), -ENAMETOOLONG);
	longpath[5] = '@';
	ck_assert_int_eq(sb_parse_spec(longpath, &sp), -ENAMETOOLONG);
	/* 107 bytes fit. */
	longpath[5 + 107] = '\0';
	ck_assert_int_eq(sb_parse_spec(longpath, &sp), 0);
	{
		char host[300] = "tcp:";
		memset(host + 4, 'h', 260);
		strcpy(host + 264, ":80");
		ck_assert_int_eq(sb_parse_spec(host, &sp), -ENAMETOOLONG);
	}
}
END_TEST

/* A descriptor the fake daemon handed over: open, CLOEXEC, a socket. */
static void check_helper_fd(int fd)
{
	int type = 0;
	socklen_t l = sizeof(type);

	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l), 0);
	close(fd);
}

START_TEST(test_helpers_listen)
{
	struct srv s;
	sb_client *c;
	sb_reply *err = (sb_reply *)1;
	int before = count_fds();

	helper_log[0] = '\0';
	srv_start(&s, sc_helpers);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	check_helper_fd(sb_listen(c, "tcp:127.0.0.1:8080", 5, &err));
	ck_assert_ptr_null(err);
	check_helper_fd(sb_listen(c, "tcp:[::]:80", -1, NULL));
	check_helper_fd(sb_listen(c, "unix:/run/x.sock", -1, &err));
	check_helper_fd(sb_listen(c, "unix:@name", 100000, &err));
	check_helper_fd(sb_listen(c, "udp:0.0.0.0:53", -1, &err));
	check_helper_fd(sb_listen(c, "udp:[::1]:53", -1, &err));
	check_helper_fd(sb_listen(c, "tcp:srv.test:80", -1, &err));
	ck_assert_ptr_null(err);
	/* Refused by the parser: nothing is sent. */
	ck_assert_int_eq(sb_listen(c, "tcp:127.0.0.1:70000", -1, &err), -EINVAL);
	ck_assert_ptr_null(err);
	sb_close(c);
	srv_finish(&s);
	ck_assert_str_eq(helper_log,
		"socket.listen_on {\"address\":[\"127.0.0.1\",8080],\"family\":\"AF_INET\",\"backlog\":5,\"pass\":true}\n"
		"socket.listen_on {\"address\":[\"::\",80],\"family\":\"AF_INET6\",\"pass\":true}\n"
		"socket.listen_on {\"address\":{\"path\":\"\\/run\\/x.sock\"},\"family\":\"AF_UNIX\",\"pass\":true}\n"
		"socket.listen_on {\"address\":{\"abstract\":\"name\"},\"family\":\"AF_UNIX\",\"backlog\":65535,\"pass\":true}\n"
		"socket.create {\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}\n"
		"socket.bind {\"handle\":7,\"address\":[\"0.0.0.0\",53]}\n"
		"socket.detach {\"handle\":7}\n"
		"socket.create {\"family\":\"AF_INET6\",\"type\":\"SOCK_DGRAM\"}\n"
		"socket.setsockopt {\"handle\":7,\"level\":\"IPPROTO_IPV6\",\"option\":\"IPV6_V6ONLY\",\"value\":1}\n"
		"socket.bind {\"handle\":7,\"address\":[\"::1\",53]}\n"
		"socket.detach {\"handle\":7}\n"
		"socket.listen_on {\"address\":[\"srv.test\",80],\"family\":\"AF_INET\",\"pass\":true}\n");
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* The error's data.name. */
static void check_err_name(sb_reply *err, int code, const char *name)
{
	json_object *d;

	ck_assert_ptr_nonnull(err);
	ck_assert(!sb_reply_ok(err));
	ck_assert_int_eq(sb_reply_error_code(err), code);
	d = json_tokener_parse(sb_reply_error_data(err));
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(jstr(d, "name"), name);
	json_object_put(d);
}

START_TEST(test_helpers_listen_errors)
{
	struct srv s;
	sb_client *c;
	sb_reply *err = NULL;
	int before = count_fds();

	helper_log[0] = '\0';
	srv_start(&s, sc_helpers);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	/* bind fails: its error, and the handle is closed. */
	ck_assert_int_eq(sb_listen(c, "udp:127.0.0.1:1", -1, &err), -EACCES);
	check_err_name(err, SB_OS_ERROR, "EACCES");
	ck_assert_int_eq(sb_reply_errno(err), -EACCES);
	sb_reply_free(err);
	/* A name that does not resolve. */
	ck_assert_int_eq(sb_listen(c, "tcp:nohost.test:80", -1, &err), -ENOENT);
	check_err_name(err, SB_GAI_ERROR, "EAI_NONAME");
	sb_reply_free(err);
	sb_close(c);
	srv_finish(&s);
	ck_assert_str_eq(helper_log,
		"socket.create {\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}\n"
		"socket.bind {\"handle\":7,\"address\":[\"127.0.0.1\",1]}\n"
		"socket.close {\"handle\":7}\n"
		"socket.listen_on {\"address\":[\"nohost.test\",80],\"family\":\"AF_INET\",\"pass\":true}\n");
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_helpers_connect)
{
	struct srv s;
	sb_client *c;
	sb_reply *err = (sb_reply *)1;
	int before = count_fds();

	helper_log[0] = '\0';
	srv_start(&s, sc_helpers);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	check_helper_fd(sb_connect_tcp(c, "127.0.0.1", 80, 2.5, &err));
	ck_assert_ptr_null(err);
	check_helper_fd(sb_connect_tcp(c, "::1", 443, 0, &err));
	/* A name goes to the daemon as it is: it resolves and tries each address
	 * (the library never resolves behind the policy's back). */
	check_helper_fd(sb_connect_tcp(c, "two.test", 80, -1, &err));
	ck_assert_ptr_null(err);
	/* Every address refused: the daemon's last error. */
	ck_assert_int_eq(sb_connect_tcp(c, "refused.test", 80, 1, &err), -ECONNREFUSED);
	check_err_name(err, SB_OS_ERROR, "ECONNREFUSED");
	sb_reply_free(err);
	ck_assert_int_eq(sb_connect_tcp(c, "10.0.0.1", 80, 1, NULL), -ECONNREFUSED);
	ck_assert_int_eq(sb_connect_tcp(c, "nohost.test", 80, 1, &err), -ENOENT);
	check_err_name(err, SB_GAI_ERROR, "EAI_NONAME");
	sb_reply_free(err);
	/* Bad arguments: nothing sent. */
	ck_assert_int_eq(sb_connect_tcp(c, "127.0.0.1", 65536, 1, &err), -EINVAL);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sb_connect_tcp(c, "", 80, 1, &err), -EINVAL);
	ck_assert_int_eq(sb_connect_tcp(c, "127.0.0.1", -1, 1, &err), -EINVAL);
	sb_close(c);
	srv_finish(&s);
	ck_assert_str_eq(helper_log,
		"socket.connect_to {\"address\":[\"127.0.0.1\",80],\"pass\":true,\"timeout\":2.5}\n"
		"socket.connect_to {\"address\":[\"::1\",443],\"pass\":true}\n"
		"socket.connect_to {\"address\":[\"two.test\",80],\"pass\":true}\n"
		"socket.connect_to {\"address\":[\"refused.test\",80],\"pass\":true,\"timeout\":1.0}\n"
		"socket.connect_to {\"address\":[\"10.0.0.1\",80],\"pass\":true,\"timeout\":1.0}\n"
		"socket.connect_to {\"address\":[\"nohost.test\",80],\"pass\":true,\"timeout\":1.0}\n");
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_helpers_socket)
{
	struct srv s;
	sb_client *c;
	sb_reply *err = (sb_reply *)1, *r = NULL;
	int before = count_fds();

	helper_log[0] = '\0';
	srv_start(&s, sc_helpers);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	check_helper_fd(sb_socket(c, AF_INET, SOCK_RAW, 1, &err));
	ck_assert_ptr_null(err);
	/* Denied by policy: -EPERM, and the reply says why. */
	ck_assert_int_eq(sb_socket(c, 99, SOCK_STREAM, 0, &err), -EPERM);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(sb_reply_error_code(err), SB_DENIED);
	ck_assert_str_eq(sb_reply_error_message(err), "Denied.");
	ck_assert_int_eq(sb_reply_errno(err), -EPERM);
	sb_reply_free(err);
	ck_assert_int_eq(sb_socket(c, 99, SOCK_STREAM, 0, NULL), -EPERM);
	ck_assert_int_eq(sb_socket(NULL, AF_INET, SOCK_STREAM, 0, &err), -EINVAL);
	ck_assert_ptr_null(err);
	/* sb_reply_errno of a result is 0. */
	ck_assert_int_eq(sb_call(c, "socket.fd", "{\"handle\":1}", NULL, 0, &r), 0);
	ck_assert_int_eq(sb_reply_errno(r), 0);
	ck_assert_int_eq(sb_reply_errno(NULL), 0);
	sb_reply_free(r);
	sb_close(c);
	srv_finish(&s);
	ck_assert_str_eq(helper_log,
		"socket.create {\"family\":2,\"type\":3,\"proto\":1,\"pass\":true}\n"
		"socket.create {\"family\":99,\"type\":1,\"proto\":0,\"pass\":true}\n"
		"socket.create {\"family\":99,\"type\":1,\"proto\":0,\"pass\":true}\n"
		"socket.fd {\"handle\":1}\n");
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Error replies of every code map to the documented -errno. */
static void sc_codes(struct srv *s)
{
	struct srv_msg m;

	while (srv_next(s, &m)) {
		long long id = srv_check_request(s, &m);
		json_object *p = json_object_object_get(m.obj, "params");
		const char *data = jstr(p, "data");

		sc_send_error(s, id, (int)jint(p, "code", 0), "x", data);
		srv_msg_free(&m);
	}
}

START_TEST(test_reply_errno)
{
	static const struct { int code; const char *data; int want; } cases[] = {
		{ -32000, "{\"errno\":98,\"name\":\"EADDRINUSE\"}", -EADDRINUSE },
		{ -32000, NULL, -EIO },
		{ -32000, "{\"errno\":\"x\"}", -EIO },
		{ -32000, "{\"errno\":-5}", -EIO },
		{ -32001, NULL, -ENOENT },
		{ -32002, NULL, -ENOENT },
		{ -32003, "{\"timeout\":1}", -ETIMEDOUT },
		{ -32010, NULL, -EPERM },
		{ -32011, "{\"handle\":9}", -EBADF },
		{ -32012, NULL, -EMFILE },
		{ -32602, NULL, -EINVAL },
		{ -32601, NULL, -ENOSYS },
		{ -32603, NULL, -EPROTO },
	};
	struct srv s;
	sb_client *c;
	sb_reply *r = NULL;

	srv_start(&s, sc_codes);
	ck_assert_int_eq(sb_connect(s.path, &c), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "code", json_object_new_int(cases[i].code));
		if (cases[i].data)
			json_object_object_add(p, "data", json_object_new_string(cases[i].data));
		ck_assert_int_eq(sb_call(c, "m", json_object_to_json_string(p), NULL, 0, &r), 0);
		ck_assert_msg(sb_reply_errno(r) == cases[i].want, "code %d: %d", cases[i].code, sb_reply_errno(r));
		sb_reply_free(r);
		json_object_put(p);
	}
	sb_close(c);
	srv_finish(&s);
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("library");
	TCase *th;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_socket_path);
	tcase_add_test(tc, test_connect_errors);
	tcase_add_test(tc, test_call_explicit_path);
	tcase_add_test(tc, test_call_env);
	tcase_add_test(tc, test_error_reply);
	tcase_add_test(tc, test_send_fds);
	tcase_add_test(tc, test_reply_fds);
	tcase_add_test(tc, test_fd_count_mismatch);
	tcase_add_test(tc, test_out_of_order_threads);
	tcase_add_test(tc, test_threads_stress);
	tcase_add_test(tc, test_connection_lost);
	tcase_add_test(tc, test_hangup_before_request);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_threads);
	tcase_add_test(tc, test_invalid_params);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_unknown_ids_dropped);
	tcase_add_test(tc, test_malformed_reply);
	tcase_add_test(tc, test_reply_too_long);
	tcase_add_test(tc, test_inflight_limit);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_reply_accessors_null);
	suite_add_tcase(s, tc);
	th = tcase_create("helpers");
	tcase_set_timeout(th, 60);
	tcase_add_test(th, test_spec_valid);
	tcase_add_test(th, test_spec_invalid);
	tcase_add_test(th, test_helpers_listen);
	tcase_add_test(th, test_helpers_listen_errors);
	tcase_add_test(th, test_helpers_connect);
	tcase_add_test(th, test_helpers_socket);
	tcase_add_test(th, test_reply_errno);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
