#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* bench_hold: held sockets (docs/held.md), in one run. Every figure is
 * printed with the baseline it is judged against, measured in the same run;
 * nothing is asserted about times.
 *
 * (a) hold.get {pass: true} (the held socket handed out over SCM_RIGHTS)
 *     against s6-fdholderd's retrieve, client library against client
 *     library: N sequential calls on one kept connection each, the descriptor
 *     received and closed, in interleaved rounds; medians, p99 and their
 *     ratio (target: within 1.1x of s6), and daemon.ping's round trip on
 *     the same connection as the protocol's floor. s6-fdholderd is started
 *     here on a private socket with a rules directory of its own
 *     (s6-fdholder-daemon -i) and holds one socket stored by libs6's
 *     s6_fdholder_store; it is driven by s6_fdholder_retrieve. A build
 *     without libs6 (configure found no s6/fdholder.h or -ls6) measures only
 *     sockbroker and says s6 is missing.
 * (b) The daemon's VmRSS (/proc/PID/status) with no socket held and with N
 *     held (UDP sockets this program makes and puts with hold.put fds: 1,
 *     closing its own copy), per held socket; the same for s6-fdholderd
 *     storing N sockets (with libs6); and what one such socket costs the
 *     kernel by the slab object sizes /proc/slabinfo gives (root only), which
 *     neither daemon's RSS shows.
 *
 * Placement: on two or more cores each daemon is pinned to CPU 1 and this
 * process to CPU 0, as bench_http does.
 *
 * Usage: bench_hold [--iterations N] [--held N] [--s6-daemon PATH] [DAEMON]
 * DAEMON defaults to $SBD, else ./daemon/sockbrokerd. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_S6
#include <s6/fdholder.h>
#include <skalibs/tai.h>
#endif

#include "benchlib.h"

#ifndef S6_FDHOLDER_DAEMON
#define S6_FDHOLDER_DAEMON "s6-fdholder-daemon"
#endif

#define ROUNDS 10
#define IO_TIMEOUT_MS 10000
#define RPC_LINE_MAX 65536
#define RATIO_TARGET 1.1
#define HELD_NAME "bench"

static pid_t sbd_pid = -1, s6_pid = -1;
static char cleanup_dir[64];

static void stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = -1;
	}
}

static void cleanup(void)
{
	static const char *const files[] = { "control.sock", "notify.sock", "s6.sock", "s6.sock.lock",
		                             "s6rules/uid/default/env/S6_FDHOLDER_STORE_REGEX",
		                             "s6rules/uid/default/env/S6_FDHOLDER_RETRIEVE_REGEX",
		                             "s6rules/uid/default/allow" };
	static const char *const dirs[] = { "s6rules/uid/default/env", "s6rules/uid/default", "s6rules/uid",
		                            "s6rules", "policy.d", "sockets.d" };
	char path[160];

	stop_child(&sbd_pid);
	stop_child(&s6_pid);
	if (!cleanup_dir[0])
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cleanup_dir, files[i]);
		unlink(path);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cleanup_dir, dirs[i]);
		rmdir(path);
	}
	rmdir(cleanup_dir);
	cleanup_dir[0] = '\0';
}




/* VmRSS of pid in KiB, from /proc/PID/status. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		die(path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		fail("no VmRSS in /proc/PID/status");
	return kib;
}


/* ------------------------------------------------------------ control socket */

/* One kept connection, one request in flight: descriptors a recvmsg brings
 * belong to the reply being read. */
struct rpc_conn {
	int fd;
	long long id;
	size_t len, used;
	int nfds;
	int fds[4];
	char buf[RPC_LINE_MAX];
};

static void rpc_open(struct rpc_conn *c, const char *path)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_MS / 1000 };

	c->fd = bench_unix_connect(path);
	if (c->fd < 0)
		die("connect to the control socket");
	/* A daemon that does not answer ends the benchmark rather than hang it. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	c->id = 0;
	c->len = c->used = 0;
	c->nfds = 0;
}

static void rpc_send(struct rpc_conn *c, const char *req, size_t n, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t w;

	if (fd < 0) {
		bench_write_all(c->fd, req, n);
		return;
	}
	/* The whole message with its descriptor in one sendmsg (protocol.md 2). */
	memset(&u, 0, sizeof(u));
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &fd, sizeof(int));
	do
		w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		die("sendmsg");
	if ((size_t)w < n)
		bench_write_all(c->fd, req + w, n - (size_t)w);
}

static void rpc_fill(struct rpc_conn *c)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = c->buf + c->len, .iov_len = sizeof(c->buf) - c->len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t r;

	if (c->len == sizeof(c->buf))
		fail("a reply line is too long");
	do
		r = recvmsg(c->fd, &m, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("recvmsg from the control socket");
	if (r == 0)
		fail("the daemon closed the control connection");
	if (m.msg_flags & MSG_CTRUNC)
		fail("descriptors truncated (MSG_CTRUNC)");
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			if (c->nfds == (int)(sizeof(c->fds) / sizeof(c->fds[0])))
				fail("more descriptors than a reply carries");
			memcpy(&c->fds[c->nfds++], CMSG_DATA(h) + i * sizeof(int), sizeof(int));
		}
	}
	c->len += (size_t)r;
}

/* One round trip: the request (with send_fd as SCM_RIGHTS unless -1), then
 * its reply line, which must carry its id and a result. The descriptors that
 * came with it are in c->fds[0..nfds). Returns the line (valid until the next
 * call). */
static const char *rpc_call(struct rpc_conn *c, const char *method, const char *params, int send_fd)
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
	c->nfds = 0;
	n = snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"%s\"%s%s}\n", ++c->id, method,
	             params ? ",\"params\":" : "", params ? params : "");
	rpc_send(c, req, (size_t)n, send_fd);
	while (!(nl = memchr(c->buf, '\n', c->len)))
		rpc_fill(c);
	*nl = '\0';
	c->used = (size_t)(nl - c->buf) + 1;
	p = strstr(c->buf, key);
	if (!p || strtoll(p + sizeof(key) - 1, &end, 10) != c->id || !strstr(c->buf, "\"result\":")) {
		fprintf(stderr, "bench_hold: unexpected reply to %s: %.300s\n", method, c->buf);
		exit(1);
	}
	return c->buf;
}

/* hold.get {pass: true}: one descriptor, closed at once. */
static void sbd_retrieve(struct rpc_conn *c)
{
	rpc_call(c, "hold.get", "{\"name\":\"" HELD_NAME "\",\"pass\":true}", -1);
	if (c->nfds != 1)
		fail("hold.get pass did not bring exactly one descriptor");
	close(c->fds[0]);
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	return fd;
}

/* ------------------------------------------------------------ s6-fdholderd */

/* The rules directory: the uid this runs as may connect, store and retrieve
 * every identifier (s6-fdholderd(8), "Configuration"). */
static void s6_rules(const char *dir)
{
	static const char *const mk[] = { "s6rules", "s6rules/uid", "s6rules/uid/default", "s6rules/uid/default/env" };
	static const char *const files[] = { "s6rules/uid/default/allow",
		                             "s6rules/uid/default/env/S6_FDHOLDER_STORE_REGEX",
		                             "s6rules/uid/default/env/S6_FDHOLDER_RETRIEVE_REGEX" };
	char path[160];

	for (size_t i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mk[i]);
		if (mkdir(path, 0700) < 0)
			die(path);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			die(path);
		/* allow may be empty; the regex files must not be. */
		if (i > 0 && write(fd, ".*\n", 3) != 3)
			die(path);
		close(fd);
	}
}

/* Starts s6-fdholder-daemon -1 on sock, pinned to cpu, storing at most
 * maxfds, and waits for the newline -1 writes once it listens. */
static pid_t s6_start(const char *exe, const char *dir, const char *sock, long maxfds, int cpu)
{
	char rules[160], n[32], c;
	int p[2];
	pid_t pid;
	struct pollfd pf;
	int r;

	snprintf(rules, sizeof(rules), "%s/s6rules", dir);
	snprintf(n, sizeof(n), "%ld", maxfds);
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pin(0, cpu);
		if (dup2(p[1], 1) < 0)
			_exit(127);
		execlp(exe, exe, "-1", "-v", "0", "-n", n, "-i", rules, sock, (char *)NULL);
		fprintf(stderr, "bench_hold: cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	do
		r = poll(&pf, 1, 30000);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || read(p[0], &c, 1) != 1 || c != '\n') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail("s6-fdholder-daemon did not say it listens (-1) within 30 s");
	}
	close(p[0]);
	return pid;
}

#ifdef HAVE_S6
struct s6c {
	s6_fdholder_t a;
	tain deadline;
};

static void s6c_open(struct s6c *s, const char *sock)
{
	s6_fdholder_t zero = S6_FDHOLDER_ZERO;

	s->a = zero;
	tain_now_g();
	tain_addsec_g(&s->deadline, IO_TIMEOUT_MS / 1000);
	if (!s6_fdholder_start_g(&s->a, sock, &s->deadline))
		die("s6_fdholder_start");
}

/* A deadline for the next call, set before its clock starts. */
static void s6c_arm(struct s6c *s)
{
	tain_now_g();
	tain_addsec_g(&s->deadline, IO_TIMEOUT_MS / 1000);
}

static void s6c_store(struct s6c *s, int fd, const char *id)
{
	tain limit = TAIN_INFINITE;

	if (!s6_fdholder_store_g(&s->a, fd, id, &limit, &s->deadline))
		die("s6_fdholder_store");
}

static void s6c_retrieve(struct s6c *s)
{
	int fd = s6_fdholder_retrieve_g(&s->a, HELD_NAME, &s->deadline);

	if (fd < 0)
		die("s6_fdholder_retrieve");
	close(fd);
}
#endif

/* ------------------------------------------------------------ (a) */

static void bench_get(const char *ctl, const char *s6sock, long iterations)
{
	struct rpc_conn *rc = calloc(1, sizeof(*rc));
	long per = iterations / ROUNDS, warm = iterations / 10 > 1000 ? iterations / 10 : 1000;
	size_t total = (size_t)(per * ROUNDS);
	uint64_t *ss = samples(total), *sp = samples(total);
	struct stats a, f;
	int held = udp_socket();
#ifdef HAVE_S6
	uint64_t *s6s = samples(total);
	struct s6c s6;
	struct stats b;
#endif

	if (!rc)
		die("calloc");
	rpc_open(rc, ctl);
	/* The same socket in both: an unbound UDP socket of ours. */
	rpc_call(rc, "hold.put", "{\"name\":\"" HELD_NAME "\",\"fds\":1}", held);
#ifdef HAVE_S6
	s6c_open(&s6, s6sock);
	s6c_store(&s6, held, HELD_NAME);
#else
	(void)s6sock;
#endif
	close(held);
	for (long i = 0; i < warm; i++) {
		sbd_retrieve(rc);
#ifdef HAVE_S6
		s6c_arm(&s6);
		s6c_retrieve(&s6);
#endif
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (long i = 0; i < per; i++) {
			uint64_t t0 = bench_now_ns();
			sbd_retrieve(rc);
			ss[r * per + i] = bench_now_ns() - t0;
		}
		/* The protocol's floor: a round trip with no descriptor and no
		 * policy question, on the same connection. */
		for (long i = 0; i < per; i++) {
			uint64_t t0 = bench_now_ns();
			rpc_call(rc, "daemon.ping", NULL, -1);
			sp[r * per + i] = bench_now_ns() - t0;
		}
#ifdef HAVE_S6
		for (long i = 0; i < per; i++) {
			uint64_t t0;
			s6c_arm(&s6);
			t0 = bench_now_ns();
			s6c_retrieve(&s6);
			s6s[r * per + i] = bench_now_ns() - t0;
		}
#endif
	}
	a = stats_of(ss, total);
	f = stats_of(sp, total);
	printf("(a) hold.get {pass: true} against s6-fdholderd's retrieve (s6_fdholder_retrieve)\n"
	       "    %ld sequential retrievals each of one held UDP socket, one kept connection,\n"
	       "    the descriptor received and closed, %d interleaved rounds\n",
	       (long)total, ROUNDS);
#ifdef HAVE_S6
	b = stats_of(s6s, total);
	printf("    s6-fdholderd    median %8.2f us   p99 %8.2f us\n", b.median_us, b.p99_us);
	printf("    sockbrokerd     median %8.2f us   p99 %8.2f us\n", a.median_us, a.p99_us);
	printf("    (sockbrokerd daemon.ping, the protocol's floor: median %.2f us, p99 %.2f us)\n", f.median_us,
	       f.p99_us);
	printf("    ratio sockbroker/s6: median %.2fx, p99 %.2fx\n", a.median_us / b.median_us, a.p99_us / b.p99_us);
	printf("    target (median within %.1fx of s6): %s\n\n", RATIO_TARGET,
	       a.median_us / b.median_us <= RATIO_TARGET ? "MET" : "NOT MET");
	s6_fdholder_end(&s6.a);
	free(s6s);
#else
	printf("    sockbrokerd     median %8.2f us   p99 %8.2f us\n", a.median_us, a.p99_us);
	printf("    (sockbrokerd daemon.ping, the protocol's floor: median %.2f us, p99 %.2f us)\n", f.median_us,
	       f.p99_us);
	printf("    s6-fdholderd: not measured, s6 is missing (this build found no libs6 with\n"
	       "    s6/fdholder.h: install Debian's libs6-dev and skalibs-dev, and configure again)\n\n");
#endif
	rpc_call(rc, "hold.remove", "{\"name\":\"" HELD_NAME "\"}", -1);
	close(rc->fd);
	free(rc);
	free(ss);
	free(sp);
}

/* ------------------------------------------------------------ (b) */

/* What one UDP socket's objects weigh in the kernel's slab caches: the
 * socket (UDP), its inode (sock_inode_cache), its open file (filp) and its
 * dentry. 0 when /proc/slabinfo cannot be read (it is root's). */
static long kernel_bytes_per_udp_socket(void)
{
	static const char *const caches[] = { "UDP", "sock_inode_cache", "filp", "dentry" };
	char line[512], name[64];
	long sum = 0, objsize;
	int found = 0;
	FILE *f = fopen("/proc/slabinfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		long active, num;
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num, &objsize) != 4)
			continue;
		for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
			if (strcmp(name, caches[i]) == 0) {
				sum += objsize;
				found++;
			}
		}
	}
	fclose(f);
	return found == (int)(sizeof(caches) / sizeof(caches[0])) ? sum : 0;
}

static void bench_memory(const char *ctl, const char *s6sock, long held)
{
	struct rpc_conn *rc = calloc(1, sizeof(*rc));
	long r0, r1, kb;
	uint64_t t0, t;
	char params[128];

	if (!rc)
		die("calloc");
	rpc_open(rc, ctl);
	/* Held sockets outlive the connection that put them: the same figure
	 * with it closed would differ only by its buffers. */
	r0 = rss_kib(sbd_pid);
	t0 = bench_now_ns();
	for (long i = 0; i < held; i++) {
		int fd = udp_socket();
		snprintf(params, sizeof(params), "{\"name\":\"mem-%ld\",\"fds\":1}", i);
		rpc_call(rc, "hold.put", params, fd);
		close(fd);
	}
	t = bench_now_ns() - t0;
	r1 = rss_kib(sbd_pid);
	printf("(b) memory per held socket: VmRSS with none and with %ld held UDP sockets\n", held);
	printf("    sockbrokerd   %7ld KiB -> %7ld KiB: %6.0f bytes per held socket (%ld hold.put fds:1 in %.2f s)\n",
	       r0, r1, (double)(r1 - r0) * 1024.0 / (double)held, held, (double)t / 1e9);
	close(rc->fd);
	free(rc);
#ifdef HAVE_S6
	{
		struct s6c s6;
		char id[32];
		s6c_open(&s6, s6sock);
		r0 = rss_kib(s6_pid);
		for (long i = 0; i < held; i++) {
			int fd = udp_socket();
			snprintf(id, sizeof(id), "mem-%ld", i);
			s6c_arm(&s6);
			s6c_store(&s6, fd, id);
			close(fd);
		}
		r1 = rss_kib(s6_pid);
		s6_fdholder_end(&s6.a);
		printf("    s6-fdholderd  %7ld KiB -> %7ld KiB: %6.0f bytes per held socket\n", r0, r1,
		       (double)(r1 - r0) * 1024.0 / (double)held);
	}
#else
	(void)s6sock;
	printf("    s6-fdholderd: not measured, s6 is missing\n");
#endif
	kb = kernel_bytes_per_udp_socket();
	if (kb)
		printf("    the kernel, for each UDP socket whichever process holds it: %ld bytes of slab objects\n"
		       "    (UDP + sock_inode_cache + filp + dentry object sizes in /proc/slabinfo), not in any RSS\n\n",
		       kb);
	else
		printf("    the kernel's own cost per socket: /proc/slabinfo unreadable (needs root), not shown\n\n");
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: bench_hold [OPTION]... [DAEMON]\n"
	        "Held sockets: hold.get pass against s6-fdholderd, and memory per held socket.\n\n"
	        "  DAEMON            sockbrokerd to start (default $SBD, else ./daemon/sockbrokerd)\n"
	        "  --iterations N    retrievals of (a), per side (default 20000)\n"
	        "  --held N          sockets held for (b) (default 10000)\n"
	        "  --s6-daemon PATH  s6-fdholder-daemon to start (default %s)\n"
	        "  --help            this text\n",
	        S6_FDHOLDER_DAEMON);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "held", required_argument, NULL, 'n' },
		{ "s6-daemon", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long iterations = 20000, held = 10000;
	int o, server_cpu = -1, client_cpu = -1, rc = 0;
	const char *tmp = getenv("TMPDIR"), *exe, *s6exe = S6_FDHOLDER_DAEMON;
	char dir[64], ctl[128], notify[128], s6sock[128], sockets_d[128], max_held[32];
	struct rlimit rl;

	bench_init(argv[0]);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			iterations = bench_number(optarg, ROUNDS * 10, 100000000, "--iterations");
			break;
		case 'n':
			held = bench_number(optarg, 1, 1000000, "--held");
			break;
		case 's':
			s6exe = optarg;
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
	/* Both daemons inherit the limit (sockbrokerd raises its soft limit to
	 * the hard one; s6-fdholderd's -n must stay below it). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)held + 1024) {
		rl.rlim_max = (rlim_t)held + 1024;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			fprintf(stderr, "bench_hold: cannot raise RLIMIT_NOFILE to %ld (%s); (b) may fail\n", held + 1024,
			        strerror(errno));
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (!tmp || tmp[0] != '/' || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/bench_hold.XXXXXX", tmp);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(cleanup_dir, sizeof(cleanup_dir), "%s", dir);
	atexit(cleanup);
	snprintf(ctl, sizeof(ctl), "%s/control.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify.sock", dir);
	snprintf(s6sock, sizeof(s6sock), "%s/s6.sock", dir);
	snprintf(sockets_d, sizeof(sockets_d), "%s/sockets.d", dir);
	snprintf(max_held, sizeof(max_held), "%ld", held + 16);
	/* Never the host's declared sockets: an empty sockets.d of our own. */
	if (mkdir(sockets_d, 0700) < 0)
		die("mkdir sockets.d");
	{
		/* No --policy: the embedded default (every action for the daemon's
		 * own uid, which is ours), in an empty policy.d beside notify. Its
		 * notify socket is ours only until READY=1: no descriptor store. */
		const char *extra[] = { "--sockets", sockets_d, "--max-held", max_held, "--fdstore=no", NULL };
		sbd_pid = bench_daemon_start(exe, ctl, notify, extra, server_cpu);
	}
	printf("daemon:     %s (pid %d), control %s\n", exe, (int)sbd_pid, ctl);
#ifdef HAVE_S6
	s6_rules(dir);
	s6_pid = s6_start(s6exe, dir, s6sock, held + 16, server_cpu);
	printf("s6:         %s (pid %d) on %s, libs6 client\n", s6exe, (int)s6_pid, s6sock);
#else
	(void)s6_rules;
	(void)s6_start;
	(void)s6exe;
	printf("s6:         missing (built without libs6): only sockbrokerd is measured\n");
#endif
	if (server_cpu >= 0)
		printf("placement:  daemons on CPU %d; this process on CPU %d (%d cores online)\n\n", server_cpu,
		       client_cpu, (int)sysconf(_SC_NPROCESSORS_ONLN));
	else
		printf("placement:  not pinned (one CPU)\n\n");
	fflush(stdout);
	bench_get(ctl, s6sock, iterations);
	fflush(stdout);
	bench_memory(ctl, s6sock, held);
	fflush(stdout);
	if (bench_daemon_stop(sbd_pid) < 0)
		rc = 1;
	sbd_pid = -1;
	return rc;
}
