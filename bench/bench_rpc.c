#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* bench_rpc: round-trip latency and many-client throughput of daemon.info
 * through sockbrokerd, each against a raw AF_UNIX line echo server measured
 * in the same run with the same client code.
 *
 * Fairness. The machine this was written for has two cores. The daemon runs
 * one event-loop thread; the echo server here is likewise one thread with one
 * epoll loop serving every connection, so neither side gets more CPU than the
 * other. The clients are one thread too (the latency client is the main
 * thread; the throughput clients are one epoll loop over N connections), so
 * in both measurements one core serves and one core drives. The client writes
 * the same request line to both servers, reads one reply line and does the
 * same minimal parse (find the line end and the "id" member); only the reply
 * differs, because the echo server returns the request while the daemon
 * returns a daemon.info result.
 *
 * Two echo servers are measured in the same run: one in a child process (the
 * reference, a process like the daemon) and one thread of this process
 * (switching to it does not change address space, so it is cheaper than any
 * separate daemon can be; printed for comparison).
 *
 * Usage: bench_rpc [--socket PATH | DAEMON] [--iterations N] [--seconds S]
 *                  [--clients N] [--method NAME]
 * DAEMON defaults to $SBD, else ./daemon/sockbrokerd. Without --socket the
 * daemon is started on a private socket in a temporary directory and waited
 * for through a private NOTIFY_SOCKET (READY=1), then stopped with SIGTERM. */

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "benchlib.h"

#include "jsonrpc.h"

#define LATENCY_TARGET 1.5
#define IO_TIMEOUT_MS 10000
#define LINE_MAX_BYTES 65536


/* The method every request calls (--method; a method without parameters). */
static const char *bench_method = "daemon.info";

/* What exit() must undo on any path: the daemon we started, our temp dir. */
static pid_t cleanup_pid = -1;
static char cleanup_dir[64];

static void cleanup(void)
{
	char path[128];

	if (cleanup_pid > 0) {
		kill(cleanup_pid, SIGTERM);
		waitpid(cleanup_pid, NULL, 0);
		cleanup_pid = -1;
	}
	if (!cleanup_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/echo.sock", cleanup_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/echo-thread.sock", cleanup_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/notify.sock", cleanup_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/control.sock", cleanup_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/policy.d", cleanup_dir);
	rmdir(path);
	rmdir(cleanup_dir);
}



/* ------------------------------------------------------------ echo server */

struct echo_conn {
	int fd;
	size_t len;
	char buf[LINE_MAX_BYTES];
};

struct echo_server {
	int listen_fd;
	int stop_rd;        /* readable (EOF): stop; the server's end */
	int stop_wr;        /* closed to stop */
	pthread_t thread;
	pid_t pid;          /* the child process, for the process echo */
};

/* Echoes every complete line back; keeps a partial line for the next read.
 * Returns -1 when the connection is done. */
static int echo_conn_io(struct echo_conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	char *end;
	size_t whole;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	c->len += (size_t)n;
	end = memrchr(c->buf, '\n', c->len);
	if (!end)
		return c->len == sizeof(c->buf) ? -1 : 0;
	whole = (size_t)(end - c->buf) + 1;
	/* Replies are small and the client reads before it writes again, so a
	 * blocking-style loop never waits here in practice. */
	for (size_t off = 0; off < whole;) {
		ssize_t w = send(c->fd, c->buf + off, whole - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = c->fd, .events = POLLOUT };
				if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
					return -1;
				continue;
			}
			return -1;
		}
		off += (size_t)w;
	}
	memmove(c->buf, c->buf + whole, c->len - whole);
	c->len -= whole;
	return 0;
}

/* The echo server: one thread, one epoll loop, every connection. */
/* CPU placement: on a 2-core machine the scheduler may put a server on the
 * client's core or the other one, and a round trip costs very different
 * amounts in the two cases. Pinning every server to one core and the client
 * to the other gives all of them the same placement. -1: not pinned. */
static int server_cpu = -1, client_cpu = -1;


static void *echo_main(void *arg)
{
	struct echo_server *es = arg;
	struct epoll_event evs[128];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	/* A thread (the in-process echo) pins itself; a forked child already is. */
	pin((pid_t)syscall(SYS_gettid), server_cpu);
	if (ep < 0)
		die("epoll_create1");
	ev.data.ptr = &es->listen_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, es->listen_fd, &ev) < 0)
		die("epoll_ctl");
	ev.data.ptr = &es->stop_rd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, es->stop_rd, &ev) < 0)
		die("epoll_ctl");
	for (;;) {
		int n = epoll_wait(ep, evs, 128, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &es->stop_rd) {
				close(ep);
				return NULL;
			}
			if (p == &es->listen_fd) {
				int fd = accept4(es->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				struct echo_conn *c;
				if (fd < 0)
					continue;
				c = malloc(sizeof(*c));
				if (!c)
					die("malloc");
				c->fd = fd;
				c->len = 0;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
					die("epoll_ctl");
				continue;
			}
			{
				struct echo_conn *c = p;
				if (echo_conn_io(c) < 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					close(c->fd);
					free(c);
				}
			}
		}
	}
}

static void echo_start(struct echo_server *es, const char *path, bool forked)
{
	int pfd[2];
	int r;

	es->listen_fd = bench_unix_bind(path, SOCK_STREAM | SOCK_NONBLOCK);
	if (es->listen_fd < 0 || listen(es->listen_fd, SOMAXCONN) < 0)
		die("echo server: bind/listen");
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe2");
	es->stop_rd = pfd[0];
	es->stop_wr = pfd[1];
	es->pid = -1;
	if (forked) {
		es->pid = fork();
		if (es->pid < 0)
			die("fork");
		if (es->pid == 0) {
			close(pfd[1]);
			pin(0, server_cpu);
			echo_main(es);
			_exit(0);
		}
		close(pfd[0]);
		es->stop_rd = -1;
		close(es->listen_fd);
		es->listen_fd = -1;
	} else {
		r = pthread_create(&es->thread, NULL, echo_main, es);
		if (r) {
			errno = r;
			die("pthread_create");
		}
	}
}

static void echo_stop(struct echo_server *es)
{
	close(es->stop_wr);
	if (es->pid > 0) {
		waitpid(es->pid, NULL, 0);
	} else {
		pthread_join(es->thread, NULL);
		close(es->stop_rd);
		close(es->listen_fd);
	}
}

/* ------------------------------------------------------------ client side */

struct client {
	int fd;
	long long id;
	size_t len;                 /* bytes of reply held */
	size_t reqlen;
	char req[128];
	char buf[LINE_MAX_BYTES];
};

static void client_prepare(struct client *c, long long id)
{
	int n = snprintf(c->req, sizeof(c->req),
	                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"%s\"}\n", id, bench_method);

	c->id = id;
	c->reqlen = (size_t)n;
}

/* The minimal parse every reply gets, the same for both servers: the line
 * carries "id":<the id we sent>. Returns 0 or -1. */
static int reply_check(const struct client *c, const char *line, size_t len)
{
	static const char key[] = "\"id\":";
	const char *p = memmem(line, len, key, sizeof(key) - 1);
	char *end;
	long long id;

	if (!p)
		return -1;
	p += sizeof(key) - 1;
	id = strtoll(p, &end, 10);
	if (end == p || id != c->id)
		return -1;
	return 0;
}

/* Takes one complete line from the buffer, if there is one. Returns its
 * length without '\n' (the line starts at c->buf), or -1. */
static ssize_t client_line(struct client *c)
{
	char *nl = memchr(c->buf, '\n', c->len);

	return nl ? nl - c->buf : -1;
}

static void client_consume(struct client *c, size_t linelen)
{
	size_t used = linelen + 1;

	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
}

/* One blocking round trip: write the request line, read the reply line,
 * check it. */
static void round_trip(struct client *c)
{
	ssize_t ll;

	bench_write_all(c->fd, c->req, c->reqlen);
	while ((ll = client_line(c)) < 0) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0)
			fail("the server closed the connection");
		c->len += (size_t)n;
		if (c->len == sizeof(c->buf))
			fail("reply line too long");
	}
	if (reply_check(c, c->buf, (size_t)ll) < 0)
		fail("a reply does not carry the id of its request");
	client_consume(c, (size_t)ll);
	client_prepare(c, c->id + 1);
}

/* Checks once, outside any measurement, that the daemon really answers the
 * method with a result (and not an error that merely carries the id), and for
 * daemon.info that it speaks protocol 1. */
static void verify_daemon(const char *path)
{
	struct client *c = calloc(1, sizeof(*c));
	json_object *root = NULL, *result, *proto;
	const char *why;
	ssize_t ll;

	if (!c)
		die("calloc");
	c->fd = bench_unix_connect(path);
	if (c->fd < 0)
		die("connect to the daemon");
	client_prepare(c, 1);
	bench_write_all(c->fd, c->req, c->reqlen);
	while ((ll = client_line(c)) < 0) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0)
			fail("no reply to the first request");
		c->len += (size_t)n;
	}
	if (jrpc_parse(c->buf, (size_t)ll, JRPC_MAX_DEPTH, &root, &why) != 0)
		fail("the daemon's reply is not JSON");
	if (!json_object_object_get_ex(root, "result", &result) ||
	    (strcmp(bench_method, "daemon.info") == 0 &&
	     (!json_object_object_get_ex(result, "protocol", &proto) || json_object_get_int(proto) != 1))) {
		fprintf(stderr, "bench_rpc: unexpected reply: %.*s\n", (int)ll, c->buf);
		exit(1);
	}
	json_object_put(root);
	close(c->fd);
	free(c);
}

struct latency {
	double median_us, p99_us;
};

#define LATENCY_ROUNDS 10

/* Latency of several servers measured in interleaved rounds (A, B, C, A, B,
 * C, ...) on one kept connection each, so that slow drifts of this shared
 * 2-core VM (frequency, placement) fall on all of them alike; each server's
 * samples are pooled and its median and p99 taken over the pool. */
static void measure_latencies(const char *const *paths, int n, long iterations, struct latency *out)
{
	struct client *c = calloc((size_t)n, sizeof(*c));
	uint64_t **s = calloc((size_t)n, sizeof(*s));
	long per = iterations / LATENCY_ROUNDS;
	long warm = iterations / 10 > 1000 ? iterations / 10 : 1000;

	if (!c || !s || per < 1)
		die("malloc");
	for (int k = 0; k < n; k++) {
		s[k] = malloc((size_t)(per * LATENCY_ROUNDS) * sizeof(uint64_t));
		if (!s[k])
			die("malloc");
		c[k].fd = bench_unix_connect(paths[k]);
		if (c[k].fd < 0)
			die("connect");
		client_prepare(&c[k], 1);
		for (long i = 0; i < warm; i++)
			round_trip(&c[k]);
	}
	for (int r = 0; r < LATENCY_ROUNDS; r++)
		for (int k = 0; k < n; k++)
			for (long i = 0; i < per; i++) {
				uint64_t t0 = bench_now_ns();
				round_trip(&c[k]);
				s[k][r * per + i] = bench_now_ns() - t0;
			}
	for (int k = 0; k < n; k++) {
		size_t total = (size_t)(per * LATENCY_ROUNDS);
		qsort(s[k], total, sizeof(uint64_t), bench_cmp_u64);
		out[k].median_us = (double)s[k][total / 2] / 1e3;
		out[k].p99_us = (double)s[k][(size_t)((double)total * 0.99)] / 1e3;
		close(c[k].fd);
		free(s[k]);
	}
	free(c);
	free(s);
}

/* nclients connections in one epoll loop, each with one request in flight at
 * a time; runs warm_s seconds unmeasured, then seconds measured. Returns
 * completed requests per second. */
static double measure_throughput(const char *path, int nclients, double seconds, double warm_s)
{
	struct client *cs = calloc((size_t)nclients, sizeof(*cs));
	struct epoll_event *evs = calloc((size_t)nclients, sizeof(*evs));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t t_start, t_measure, t_end, t_stop;
	unsigned long long done = 0;
	bool measuring = false;

	if (!cs || !evs || ep < 0)
		die("throughput setup");
	for (int i = 0; i < nclients; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
		cs[i].fd = bench_unix_connect(path);
		if (cs[i].fd < 0)
			die("connect");
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
			die("epoll_ctl");
		client_prepare(&cs[i], (long long)i * 1000000000ll + 1);
	}
	t_start = bench_now_ns();
	t_measure = t_start + (uint64_t)(warm_s * 1e9);
	t_stop = t_measure + (uint64_t)(seconds * 1e9);
	for (int i = 0; i < nclients; i++)
		bench_write_all(cs[i].fd, cs[i].req, cs[i].reqlen);
	for (;;) {
		uint64_t now = bench_now_ns();
		int n;

		if (!measuring && now >= t_measure) {
			measuring = true;
			done = 0;
			t_measure = now;
		}
		if (now >= t_stop)
			break;
		n = epoll_wait(ep, evs, nclients, IO_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		if (n == 0)
			fail("no reply within the I/O timeout");
		for (int i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			ssize_t ll;
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				die("read");
			if (r == 0)
				fail("the server closed a connection");
			c->len += (size_t)r;
			ll = client_line(c);
			if (ll < 0) {
				if (c->len == sizeof(c->buf))
					fail("reply line too long");
				continue;
			}
			if (reply_check(c, c->buf, (size_t)ll) < 0)
				fail("a reply does not carry the id of its request");
			client_consume(c, (size_t)ll);
			done++;
			client_prepare(c, c->id + 1);
			bench_write_all(c->fd, c->req, c->reqlen);
		}
	}
	t_end = bench_now_ns();
	for (int i = 0; i < nclients; i++)
		close(cs[i].fd);
	close(ep);
	free(cs);
	free(evs);
	return (double)done / ((double)(t_end - t_measure) / 1e9);
}

/* ------------------------------------------------------------ the daemon */

struct daemon_proc {
	pid_t pid;
	char dir[64];
	char sock[128];
	char notify[128];
};

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: bench_rpc [OPTION]... [DAEMON]\n"
	        "Latency and throughput of a request against a raw UNIX-socket echo server.\n\n"
	        "  DAEMON            sockbrokerd to start (default $SBD, else ./daemon/sockbrokerd)\n"
	        "  --socket PATH     use a daemon already listening on PATH instead\n"
	        "  --iterations N    sequential round trips for latency (default 20000)\n"
	        "  --seconds S       duration of each throughput run (default 2)\n"
	        "  --clients N       concurrent connections for throughput (default 64)\n"
	        "  --method NAME     the method to call, without params (default daemon.info)\n"
	        "  --help            this text\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "seconds", required_argument, NULL, 't' },
		{ "clients", required_argument, NULL, 'c' },
		{ "method", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *exe;
	long iterations = 20000;
	double seconds = 2.0;
	int clients = 64, o;
	const char *tmp = getenv("TMPDIR");
	char dir[64];
	char echo_path[128], echo_thread_path[128];
	struct daemon_proc d = { .pid = -1 };
	struct echo_server es, es_thread;
	struct latency le, ld, lt;
	double te, td, tt, lat_ratio, p99_ratio, tput_ratio;
	char *end;
	int rc = 0;

	bench_init(argv[0]);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			sock = optarg;
			break;
		case 'i':
			iterations = strtol(optarg, &end, 10);
			if (*end || iterations < 100)
				fail("--iterations must be an integer >= 100");
			break;
		case 't':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0 && seconds <= 3600))
				fail("--seconds must be a number in (0, 3600]");
			break;
		case 'c':
			clients = (int)strtol(optarg, &end, 10);
			if (*end || clients < 1 || clients > 10000)
				fail("--clients must be an integer in 1-10000");
			break;
		case 'm':
			if (!optarg[0] || strlen(optarg) > 64 || strpbrk(optarg, "\"\\\n"))
				fail("--method must be 1-64 characters without quotes, backslashes or newlines");
			bench_method = optarg;
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
	signal(SIGPIPE, SIG_IGN);
	bench_place(&client_cpu, &server_cpu);

	if (!tmp || tmp[0] != '/' || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/bench_rpc.XXXXXX", tmp);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(cleanup_dir, sizeof(cleanup_dir), "%s", dir);
	atexit(cleanup);
	snprintf(echo_path, sizeof(echo_path), "%s/echo.sock", dir);
	snprintf(echo_thread_path, sizeof(echo_thread_path), "%s/echo-thread.sock", dir);
	if (!sock) {
		static char maxconn[32];
		const char *extra[] = { "--max-connections-per-uid", maxconn, NULL };
		snprintf(d.sock, sizeof(d.sock), "%s/control.sock", dir);
		snprintf(d.notify, sizeof(d.notify), "%s/notify.sock", dir);
		snprintf(maxconn, sizeof(maxconn), "%d", clients + 16);
		d.pid = cleanup_pid = bench_daemon_start(exe, d.sock, d.notify, extra, server_cpu);
		sock = d.sock;
		printf("daemon:      %s (pid %d) on %s\n", exe, (int)d.pid, sock);
	} else {
		printf("daemon:      existing, on %s\n", sock);
	}
	verify_daemon(sock);
	/* Two baselines, both measured in this run. The target is judged against
	 * an echo server in its own process, as the daemon is: a round trip to
	 * another process pays a context switch that a thread of this process
	 * partly avoids (about 7 us on this kind of VM). The thread's figures are
	 * printed too. */
	echo_start(&es, echo_path, true);
	echo_start(&es_thread, echo_thread_path, false);
	printf("echo server: one child process (reference) and one thread, each one epoll loop\n");
	printf("request:     %s, %d cores online\n", bench_method, (int)sysconf(_SC_NPROCESSORS_ONLN));
	if (server_cpu >= 0)
		printf("placement:   client on CPU %d; daemon and both echo servers on CPU %d\n\n", client_cpu, server_cpu);
	else
		printf("placement:   not pinned (one CPU)\n\n");

	/* Each with its own warm-up; the daemon between the two baselines. */
	{
		const char *paths[3] = { echo_path, sock, echo_thread_path };
		struct latency l[3];
		measure_latencies(paths, 3, iterations, l);
		le = l[0];
		ld = l[1];
		lt = l[2];
	}
	te = measure_throughput(echo_path, clients, seconds, 0.3);
	td = measure_throughput(sock, clients, seconds, 0.3);
	tt = measure_throughput(echo_thread_path, clients, seconds, 0.3);

	echo_stop(&es_thread);
	echo_stop(&es);
	if (d.pid > 0 && bench_daemon_stop(d.pid) < 0)
		rc = 1;
	d.pid = cleanup_pid = -1;
	cleanup();

	lat_ratio = ld.median_us / le.median_us;
	p99_ratio = ld.p99_us / le.p99_us;
	tput_ratio = td / te;
	printf("latency, 1 client per server, %ld sequential round trips each, in %d interleaved rounds:\n",
	       iterations, LATENCY_ROUNDS);
	printf("  echo (process) median %8.2f us   p99 %8.2f us\n", le.median_us, le.p99_us);
	printf("  echo (thread)  median %8.2f us   p99 %8.2f us\n", lt.median_us, lt.p99_us);
	printf("  daemon         median %8.2f us   p99 %8.2f us\n", ld.median_us, ld.p99_us);
	printf("  ratio daemon/echo(process): median %.2fx, p99 %.2fx\n", lat_ratio, p99_ratio);
	printf("  ratio daemon/echo(thread):  median %.2fx\n", ld.median_us / lt.median_us);
	printf("throughput, %d clients, %.1f s each:\n", clients, seconds);
	printf("  echo (process) %10.0f req/s\n", te);
	printf("  echo (thread)  %10.0f req/s\n", tt);
	printf("  daemon         %10.0f req/s\n", td);
	printf("  ratio daemon/echo(process): %.2f\n", tput_ratio);
	printf("  ratio daemon/echo(thread):  %.2f\n", td / tt);
	printf("latency target (median within %.1fx of a raw echo process): %s (%.2fx)\n", LATENCY_TARGET,
	       lat_ratio <= LATENCY_TARGET ? "MET" : "NOT MET", lat_ratio);
	return rc;
}
