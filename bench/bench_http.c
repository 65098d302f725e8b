#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* bench_http: the HTTP face against the control socket, in one run. Every
 * figure is printed with the baseline it is judged against, measured in the
 * same run; nothing is asserted about times.
 *
 * (a) GET /v1/info over the unix: HTTP listener (one keep-alive connection,
 *     the minimal HTTP/1.1 client below) against daemon.info over the
 *     control socket: median and p99 round trip, in interleaved rounds.
 * (b) GET /metrics with N handles open (socket.create over the control
 *     socket, --max-handles raised) against /metrics with none: time and
 *     bytes. A build without /metrics (404) says so and goes on.
 * (c) The control socket's median daemon.ping round trip while 64 HTTP
 *     clients hammer GET /v1/info, against the same with the HTTP clients
 *     stopped, in interleaved rounds: the rise in percent, and whether it is
 *     within the target of 10 %.
 *
 * Placement: on two or more cores the daemon is pinned to CPU 1 and this
 * process and the HTTP load processes to CPU 0, so the daemon has a core of
 * its own. The load is forked processes (--load-procs, each one epoll loop
 * over its share of the --clients keep-alive connections, each connection
 * with one request in flight); between loaded rounds they are stopped with
 * SIGSTOP, so the same connections stay open and idle in the quiet rounds.
 *
 * Usage: bench_http [--iterations N] [--load-iterations N] [--clients N]
 *                   [--load-procs N] [--handles N] [DAEMON]
 * DAEMON defaults to $SBD, else ./daemon/sockbrokerd. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

#define RISE_TARGET_PCT 10.0
#define ROUNDS 10
#define IO_TIMEOUT_MS 10000
#define RPC_LINE_MAX 65536
/* The largest HTTP response the client takes (a /metrics of many handles). */
#define HTTP_RESPONSE_MAX (64u << 20)
#define MAX_LOAD_PROCS 64

static pid_t cleanup_pid = -1;
static char cleanup_dir[64];
static pid_t load_pid[MAX_LOAD_PROCS];
static int nload;

static void cleanup(void)
{
	static const char *const names[] = { "control.sock", "http.sock", "notify.sock" };
	char path[128];

	for (int i = 0; i < nload; i++) {
		if (load_pid[i] > 0) {
			kill(load_pid[i], SIGKILL);
			waitpid(load_pid[i], NULL, 0);
			load_pid[i] = -1;
		}
	}
	if (cleanup_pid > 0) {
		kill(cleanup_pid, SIGTERM);
		waitpid(cleanup_pid, NULL, 0);
		cleanup_pid = -1;
	}
	if (!cleanup_dir[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cleanup_dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/policy.d", cleanup_dir);
	rmdir(path);
	rmdir(cleanup_dir);
	cleanup_dir[0] = '\0';
}




/* A server that does not answer within the I/O timeout ends the benchmark
 * (the read fails with EAGAIN) rather than hanging it. */
static void set_timeout(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_MS / 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
}

/* ------------------------------------------------------------ control socket */

struct rpc_conn {
	int fd;
	long long id;
	size_t len, used;
	char buf[RPC_LINE_MAX];
};

static void rpc_open(struct rpc_conn *c, const char *path)
{
	c->fd = bench_unix_connect(path);
	if (c->fd < 0)
		die("connect to the control socket");
	set_timeout(c->fd);
	c->id = 0;
	c->len = c->used = 0;
}

/* One round trip: the request, then its reply line, which must carry its id
 * and a result. Returns the line (valid until the next call). */
static const char *rpc_call(struct rpc_conn *c, const char *method, const char *params)
{
	static const char key[] = "\"id\":";
	char req[512];
	char *nl, *p, *end;
	int n;

	if (c->used) {
		memmove(c->buf, c->buf + c->used, c->len - c->used);
		c->len -= c->used;
		c->used = 0;
	}
	n = snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"%s\"%s%s}\n", ++c->id, method,
	             params ? ",\"params\":" : "", params ? params : "");
	bench_write_all(c->fd, req, (size_t)n);
	while (!(nl = memchr(c->buf, '\n', c->len))) {
		ssize_t r;
		if (c->len == sizeof(c->buf))
			fail("a reply line is too long");
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read from the control socket");
		if (r == 0)
			fail("the daemon closed the control connection");
		c->len += (size_t)r;
	}
	*nl = '\0';
	c->used = (size_t)(nl - c->buf) + 1;
	p = strstr(c->buf, key);
	if (!p || strtoll(p + sizeof(key) - 1, &end, 10) != c->id || !strstr(c->buf, "\"result\":")) {
		fprintf(stderr, "bench_http: unexpected reply to %s: %.300s\n", method, c->buf);
		exit(1);
	}
	return c->buf;
}

/* ------------------------------------------------------------ HTTP client */

/* A keep-alive HTTP/1.1 connection over a UNIX socket: one request at a
 * time; responses framed by Content-Length or chunked. */
struct http_conn {
	int fd;
	char *buf;
	size_t cap, len, used;
};

static void http_open(struct http_conn *c, const char *path)
{
	c->fd = bench_unix_connect(path);
	if (c->fd < 0)
		die("connect to the HTTP socket");
	set_timeout(c->fd);
	c->cap = 16384;
	c->buf = malloc(c->cap);
	if (!c->buf)
		die("malloc");
	c->len = c->used = 0;
}

static void http_close(struct http_conn *c)
{
	close(c->fd);
	free(c->buf);
	c->buf = NULL;
}

/* Reads more of the response; the buffer grows up to HTTP_RESPONSE_MAX. */
static void http_fill(struct http_conn *c)
{
	ssize_t r;

	if (c->len == c->cap) {
		char *b;
		if (c->cap >= HTTP_RESPONSE_MAX)
			fail("an HTTP response is over 64 MiB");
		b = realloc(c->buf, c->cap * 2);
		if (!b)
			die("realloc");
		c->buf = b;
		c->cap *= 2;
	}
	do
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("read from the HTTP socket");
	if (r == 0)
		fail("the daemon closed the HTTP connection");
	c->len += (size_t)r;
}

static void http_need(struct http_conn *c, size_t n)
{
	while (c->len < n)
		http_fill(c);
}

/* The header's value in the header block [h, h + n), or NULL. */
static const char *header_value(const char *h, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *end = h + n, *line = memchr(h, '\n', n);

	/* Skip the status line. */
	while (line && line + 1 < end) {
		const char *next, *v;
		line++;
		next = memchr(line, '\n', (size_t)(end - line));
		if (!next)
			break;
		if ((size_t)(next - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			v = line + nl + 1;
			while (v < next && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(next - v);
			if (*vlen && v[*vlen - 1] == '\r')
				(*vlen)--;
			return v;
		}
		line = next;
	}
	return NULL;
}

/* Sends GET path and reads the whole response: its status, its body (valid
 * until the next call) and the body's length. */
static const char *http_get(struct http_conn *c, const char *path, int *status, size_t *blen)
{
	char req[256];
	const char *v;
	char *hend;
	size_t hlen, vlen;
	int n;

	if (c->used) {
		memmove(c->buf, c->buf + c->used, c->len - c->used);
		c->len -= c->used;
		c->used = 0;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
	bench_write_all(c->fd, req, (size_t)n);
	while (!(hend = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		http_fill(c);
	hlen = (size_t)(hend - c->buf) + 4;
	if (c->len < 12 || strncmp(c->buf, "HTTP/1.1 ", 9) != 0)
		fail("not an HTTP/1.1 response");
	*status = atoi(c->buf + 9);
	if ((v = header_value(c->buf, hlen, "Content-Length", &vlen))) {
		size_t cl = (size_t)strtoull(v, NULL, 10);
		http_need(c, hlen + cl);
		c->used = hlen + cl;
		*blen = cl;
	} else if ((v = header_value(c->buf, hlen, "Transfer-Encoding", &vlen)) && memmem(v, vlen, "chunked", 7)) {
		/* Decoded in place: the data moves down over the chunk headers. */
		size_t pos = hlen, out = hlen;
		for (;;) {
			char *eol, *endp;
			size_t sz;
			while (!(eol = memmem(c->buf + pos, c->len - pos, "\r\n", 2)))
				http_fill(c);
			sz = (size_t)strtoull(c->buf + pos, &endp, 16);
			pos = (size_t)(eol - c->buf) + 2;
			if (sz == 0) {
				/* No trailers are sent to us: the closing blank line. */
				http_need(c, pos + 2);
				pos += 2;
				break;
			}
			http_need(c, pos + sz + 2);
			memmove(c->buf + out, c->buf + pos, sz);
			out += sz;
			pos += sz + 2;
		}
		c->used = pos;
		*blen = out - hlen;
	} else {
		c->used = hlen;
		*blen = 0;
	}
	return c->buf + hlen;
}

static void http_get_ok(struct http_conn *c, const char *path, const char *must_hold)
{
	size_t blen;
	int status;
	const char *body = http_get(c, path, &status, &blen);

	if (status != 200 || (must_hold && !memmem(body, blen, must_hold, strlen(must_hold)))) {
		fprintf(stderr, "bench_http: GET %s: status %d: %.*s\n", path, status, (int)(blen > 300 ? 300 : blen),
		        body);
		exit(1);
	}
}


/* ------------------------------------------------------------ (a) */

static void bench_info(const char *ctl_path, const char *http_path, long iterations)
{
	struct rpc_conn *rc = calloc(1, sizeof(*rc));
	struct http_conn hc;
	long per = iterations / ROUNDS, warm = iterations / 10 > 1000 ? iterations / 10 : 1000;
	size_t total = (size_t)(per * ROUNDS);
	uint64_t *sr = samples(total), *sh = samples(total);
	struct stats a, b;

	if (!rc)
		die("calloc");
	rpc_open(rc, ctl_path);
	http_open(&hc, http_path);
	for (long i = 0; i < warm; i++) {
		rpc_call(rc, "daemon.info", NULL);
		http_get_ok(&hc, "/v1/info", NULL);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (long i = 0; i < per; i++) {
			uint64_t t0 = bench_now_ns();
			rpc_call(rc, "daemon.info", NULL);
			sr[r * per + i] = bench_now_ns() - t0;
		}
		for (long i = 0; i < per; i++) {
			uint64_t t0 = bench_now_ns();
			http_get_ok(&hc, "/v1/info", NULL);
			sh[r * per + i] = bench_now_ns() - t0;
		}
	}
	a = stats_of(sr, total);
	b = stats_of(sh, total);
	printf("(a) GET /v1/info over unix: HTTP against daemon.info over the control socket\n"
	       "    %ld sequential round trips each, one kept connection, %d interleaved rounds\n",
	       (long)total, ROUNDS);
	printf("    control socket  median %8.2f us   p99 %8.2f us\n", a.median_us, a.p99_us);
	printf("    HTTP unix:      median %8.2f us   p99 %8.2f us\n", b.median_us, b.p99_us);
	printf("    ratio HTTP/control: median %.2fx, p99 %.2fx\n\n", b.median_us / a.median_us, b.p99_us / a.p99_us);
	http_close(&hc);
	close(rc->fd);
	free(rc);
	free(sr);
	free(sh);
}

/* ------------------------------------------------------------ (b) */

struct metrics_run {
	double median_us;
	size_t bytes;
};

static bool metrics_measure(struct http_conn *hc, int gets, struct metrics_run *out)
{
	uint64_t *s = samples((size_t)gets);
	size_t blen = 0;
	int status;

	for (int i = 0; i < gets; i++) {
		uint64_t t0 = bench_now_ns();
		const char *body = http_get(hc, "/metrics", &status, &blen);
		s[i] = bench_now_ns() - t0;
		if (status == 404) {
			free(s);
			return false;
		}
		if (status != 200 || !memmem(body, blen, "# TYPE ", 7)) {
			fprintf(stderr, "bench_http: GET /metrics: status %d: %.*s\n", status,
			        (int)(blen > 300 ? 300 : blen), body);
			exit(1);
		}
	}
	out->median_us = stats_of(s, (size_t)gets).median_us;
	out->bytes = blen;
	free(s);
	return true;
}

static void bench_metrics(const char *ctl_path, const char *http_path, long handles, int gets)
{
	struct rpc_conn *rc = calloc(1, sizeof(*rc));
	struct http_conn hc;
	struct metrics_run m0, m1;
	uint64_t t0, t_create;

	if (!rc)
		die("calloc");
	http_open(&hc, http_path);
	if (!metrics_measure(&hc, gets, &m0)) {
		printf("(b) metrics: not served by this build (GET /metrics is 404)\n\n");
		http_close(&hc);
		free(rc);
		return;
	}
	rpc_open(rc, ctl_path);
	t0 = bench_now_ns();
	/* Kept open by this connection until it closes. */
	for (long i = 0; i < handles; i++)
		rpc_call(rc, "socket.create", "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_DGRAM\"}");
	t_create = bench_now_ns() - t0;
	metrics_measure(&hc, gets, &m1);
	printf("(b) GET /metrics, median of %d, with %ld handles open against with none\n", gets, handles);
	printf("    (the %ld socket.create calls took %.2f s)\n", handles, (double)t_create / 1e9);
	printf("    no handles      %10.1f us   %8zu bytes\n", m0.median_us, m0.bytes);
	printf("    %-6ld handles  %10.1f us   %8zu bytes\n", handles, m1.median_us, m1.bytes);
	printf("    ratio: time %.2fx, bytes %.2fx; %.3f us per handle\n\n", m1.median_us / m0.median_us,
	       (double)m1.bytes / (double)m0.bytes, (m1.median_us - m0.median_us) / (double)handles);
	http_close(&hc);
	close(rc->fd);
	free(rc);
}

/* ------------------------------------------------------------ (c) */

/* One load process: conns keep-alive connections, each with one GET
 * /v1/info in flight, in one epoll loop. It stops itself once connected
 * (the parent continues it) and counts responses in *done. */
static void load_main(const char *http_path, int conns, volatile uint64_t *done)
{
	static const char req[] = "GET /v1/info HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct http_conn *cs = calloc((size_t)conns, sizeof(*cs));
	struct epoll_event evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (!cs || ep < 0)
		die("load setup");
	for (int i = 0; i < conns; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
		http_open(&cs[i], http_path);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
			die("epoll_ctl");
	}
	raise(SIGSTOP);
	for (int i = 0; i < conns; i++)
		bench_write_all(cs[i].fd, req, sizeof(req) - 1);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct http_conn *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
			char *hend;
			size_t v;
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				fail("load: the daemon closed an HTTP connection");
			c->len += (size_t)r;
			/* Every response to /v1/info is small, has Content-Length and
			 * fits in the buffer; one is outstanding per connection. */
			hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (!hend) {
				if (c->len == c->cap)
					fail("load: response headers too long");
				continue;
			}
			{
				size_t hlen = (size_t)(hend - c->buf) + 4, vlen;
				const char *cl = header_value(c->buf, hlen, "Content-Length", &vlen);
				if (!cl || strncmp(c->buf, "HTTP/1.1 200", 12) != 0)
					fail("load: GET /v1/info did not answer 200 with a Content-Length");
				v = hlen + (size_t)strtoull(cl, NULL, 10);
			}
			if (v > c->cap)
				fail("load: response too long");
			if (c->len < v)
				continue;
			if (c->len > v)
				fail("load: more than one response");
			c->len = 0;
			(*done)++;
			bench_write_all(c->fd, req, sizeof(req) - 1);
		}
	}
}

static void load_stop_all(void)
{
	for (int i = 0; i < nload; i++) {
		int st;
		kill(load_pid[i], SIGSTOP);
		if (waitpid(load_pid[i], &st, WUNTRACED) < 0 || !WIFSTOPPED(st))
			fail("a load process did not stop");
	}
}

static uint64_t load_done(volatile uint64_t *done)
{
	uint64_t n = 0;

	for (int i = 0; i < nload; i++)
		n += done[i];
	return n;
}

static void bench_load(const char *ctl_path, const char *http_path, long iterations, int clients, int procs,
                       int client_cpu)
{
	volatile uint64_t *done = mmap(NULL, sizeof(uint64_t) * MAX_LOAD_PROCS, PROT_READ | PROT_WRITE,
	                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct rpc_conn *rc = calloc(1, sizeof(*rc));
	long per = iterations / ROUNDS;
	size_t total = (size_t)(per * ROUNDS);
	uint64_t *quiet = samples(total), *busy = samples(total);
	uint64_t busy_ns = 0, busy_reqs = 0;
	struct stats q, b;
	double rise;

	if (done == MAP_FAILED || !rc)
		die("load setup");
	fflush(stdout);
	nload = procs;
	for (int i = 0; i < procs; i++) {
		int conns = clients / procs + (i < clients % procs);
		int st;
		load_pid[i] = fork();
		if (load_pid[i] < 0)
			die("fork");
		if (load_pid[i] == 0) {
			/* Its exit must not stop the daemon nor remove the directory. */
			cleanup_pid = -1;
			cleanup_dir[0] = '\0';
			nload = 0;
			pin(0, client_cpu);
			load_main(http_path, conns, &done[i]);
			_exit(0);
		}
		if (waitpid(load_pid[i], &st, WUNTRACED) < 0 || !WIFSTOPPED(st))
			fail("a load process did not start");
	}
	rpc_open(rc, ctl_path);
	for (int i = 0; i < 1000; i++)
		rpc_call(rc, "daemon.ping", NULL);
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0, n0, until;

		/* The daemon finishes what the stopped clients had in flight
		 * before these round trips get their turn. */
		for (int i = 0; i < 200; i++)
			rpc_call(rc, "daemon.ping", NULL);
		for (long i = 0; i < per; i++) {
			uint64_t t = bench_now_ns();
			rpc_call(rc, "daemon.ping", NULL);
			quiet[r * per + i] = bench_now_ns() - t;
		}
		for (int i = 0; i < nload; i++)
			kill(load_pid[i], SIGCONT);
		/* Warm: the load is running once it has answers for every client. */
		until = load_done(done) + (uint64_t)clients;
		while (load_done(done) < until)
			rpc_call(rc, "daemon.ping", NULL);
		t0 = bench_now_ns();
		n0 = load_done(done);
		for (long i = 0; i < per; i++) {
			uint64_t t = bench_now_ns();
			rpc_call(rc, "daemon.ping", NULL);
			busy[r * per + i] = bench_now_ns() - t;
		}
		busy_reqs += load_done(done) - n0;
		busy_ns += bench_now_ns() - t0;
		load_stop_all();
	}
	for (int i = 0; i < nload; i++) {
		kill(load_pid[i], SIGKILL);
		waitpid(load_pid[i], NULL, 0);
		load_pid[i] = -1;
	}
	nload = 0;
	q = stats_of(quiet, total);
	b = stats_of(busy, total);
	rise = (b.median_us / q.median_us - 1.0) * 100.0;
	printf("(c) daemon.ping over the control socket with %d HTTP clients on GET /v1/info (%d load processes)\n"
	       "    against the same with the HTTP clients stopped; %ld round trips each, %d interleaved rounds\n",
	       clients, procs, (long)total, ROUNDS);
	printf("    without HTTP load  median %8.2f us   p99 %8.2f us\n", q.median_us, q.p99_us);
	printf("    with HTTP load     median %8.2f us   p99 %8.2f us   (HTTP: %.0f req/s)\n", b.median_us,
	       b.p99_us, (double)busy_reqs / ((double)busy_ns / 1e9));
	printf("    rise of the median: %+.1f %% (p99 %+.1f %%)\n", rise, (b.p99_us / q.p99_us - 1.0) * 100.0);
	printf("    target (median rises by at most %.0f %%): %s\n\n", RISE_TARGET_PCT,
	       rise <= RISE_TARGET_PCT ? "MET" : "NOT MET");
	close(rc->fd);
	free(rc);
	free(quiet);
	free(busy);
	munmap((void *)done, sizeof(uint64_t) * MAX_LOAD_PROCS);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: bench_http [OPTION]... [DAEMON]\n"
	        "The HTTP face against the control socket, ratios against baselines of the same run.\n\n"
	        "  DAEMON               sockbrokerd to start (default $SBD, else ./daemon/sockbrokerd)\n"
	        "  --iterations N       round trips of (a), per side (default 20000)\n"
	        "  --load-iterations N  control round trips of (c), per side (default 5000)\n"
	        "  --clients N          HTTP clients of (c) (default 64)\n"
	        "  --load-procs N       processes the clients of (c) run in (default 4)\n"
	        "  --handles N          handles open for (b) (default 10000)\n"
	        "  --metrics-gets N     GET /metrics per measurement of (b) (default 20)\n"
	        "  --help               this text\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "load-iterations", required_argument, NULL, 'l' },
		{ "clients", required_argument, NULL, 'c' },
		{ "load-procs", required_argument, NULL, 'p' },
		{ "handles", required_argument, NULL, 'n' },
		{ "metrics-gets", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long iterations = 20000, load_iterations = 5000, handles = 10000;
	int clients = 64, procs = 4, gets = 20, o, server_cpu = -1, client_cpu = -1, rc = 0;
	const char *tmp = getenv("TMPDIR"), *exe;
	char dir[64], ctl[128], http[128], notify[128], http_arg[140], max_handles[32];
	struct rlimit rl;
	pid_t pid;

	bench_init(argv[0]);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			iterations = bench_number(optarg, ROUNDS * 10, 100000000, "--iterations");
			break;
		case 'l':
			load_iterations = bench_number(optarg, ROUNDS * 10, 100000000, "--load-iterations");
			break;
		case 'c':
			clients = (int)bench_number(optarg, 1, 1000, "--clients");
			break;
		case 'p':
			procs = (int)bench_number(optarg, 1, MAX_LOAD_PROCS, "--load-procs");
			break;
		case 'n':
			handles = bench_number(optarg, 1, 1000000, "--handles");
			break;
		case 'g':
			gets = (int)bench_number(optarg, 1, 100000, "--metrics-gets");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	exe = bench_daemon_arg(argc, argv, optind);
	if (!exe) {
		usage(stderr);
		return 2;
	}
	if (procs > clients)
		procs = clients;
	signal(SIGPIPE, SIG_IGN);
	bench_place(&client_cpu, &server_cpu);
	/* The daemon inherits the limit and raises its soft limit to the hard
	 * one; it needs a descriptor per handle. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < (rlim_t)handles + 1024) {
		rl.rlim_max = rl.rlim_cur = (rlim_t)handles + 1024;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			fprintf(stderr, "bench_http: cannot raise RLIMIT_NOFILE to %ld (%s); (b) may fail\n",
			        handles + 1024, strerror(errno));
	}

	if (!tmp || tmp[0] != '/' || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/bench_http.XXXXXX", tmp);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(cleanup_dir, sizeof(cleanup_dir), "%s", dir);
	atexit(cleanup);
	snprintf(ctl, sizeof(ctl), "%s/control.sock", dir);
	snprintf(http, sizeof(http), "%s/http.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify.sock", dir);
	snprintf(http_arg, sizeof(http_arg), "unix:%s", http);
	snprintf(max_handles, sizeof(max_handles), "%ld", handles + 16);
	{
		/* Idle HTTP connections must outlive the quiet rounds of (c). */
		const char *extra[] = { "--http", http_arg, "--max-handles", max_handles,
			                "--http-idle-timeout", "3600", "--max-connections-per-uid", "1024", NULL };
		pid = cleanup_pid = bench_daemon_start(exe, ctl, notify, extra, server_cpu);
	}
	printf("daemon:     %s (pid %d), control %s, HTTP unix:%s\n", exe, (int)pid, ctl, http);
	if (server_cpu >= 0)
		printf("placement:  daemon on CPU %d; this process and the HTTP load on CPU %d (%d cores online)\n\n",
		       server_cpu, client_cpu, (int)sysconf(_SC_NPROCESSORS_ONLN));
	else
		printf("placement:  not pinned (one CPU)\n\n");
	{
		/* Once, outside any measurement: both faces answer daemon.info. */
		struct rpc_conn *c = calloc(1, sizeof(*c));
		struct http_conn hc;
		if (!c)
			die("calloc");
		rpc_open(c, ctl);
		if (!strstr(rpc_call(c, "daemon.info", NULL), "\"protocol\":1"))
			fail("daemon.info does not say protocol 1");
		close(c->fd);
		free(c);
		http_open(&hc, http);
		http_get_ok(&hc, "/v1/info", "\"protocol\":1");
		http_close(&hc);
	}
	fflush(stdout);
	bench_info(ctl, http, iterations);
	fflush(stdout);
	/* Its handles close with its connection, before (c). */
	bench_metrics(ctl, http, handles, gets);
	fflush(stdout);
	bench_load(ctl, http, load_iterations, clients, procs, client_cpu);
	if (bench_daemon_stop(pid) < 0)
		rc = 1;
	cleanup_pid = -1;
	return rc;
}
