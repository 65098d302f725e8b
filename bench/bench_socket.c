#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* bench_socket: what sockets cost through sockbrokerd, each figure against
 * the same work done without the daemon, measured in the same run.
 *
 * 1. Listener handout: socket.listen_on {"address":["127.0.0.1",0],
 *    "pass":true} (request, reply with the descriptor, close it) against
 *    socket()+SO_REUSEADDR+bind(127.0.0.1:0)+listen()+close() in this
 *    process (the same system calls listen_on makes), median and p99.
 * 2. Privileged listener: listen_on {pass:true} on a port below 1024 against
 *    what an unprivileged program pays with authbind: `authbind --deep`
 *    running this binary (re-executed with a hidden flag that does
 *    socket+bind(port)+listen+close) as the user nobody, fork to exit. As
 *    root, with /usr/bin/authbind; /etc/authbind/byport/PORT (!PORT for
 *    ports 512-1023, as authbind wants) is created for the run (owned by
 *    nobody, mode 0500: the helper checks that the real user may execute
 *    it) and removed at the end. The same process start
 *    without authbind (nobody, port 0) is printed too, to show what part is
 *    authbind's own (LD_PRELOAD and its setuid helper).
 * 3. Bytes per second: socket.send of 64 KiB (base64) on one handle of a
 *    socket.pair {} and socket.recv {bufsize 65536} on the other, client
 *    encoding and decoding included, against write/read of 64 KiB chunks on
 *    the descriptors of a socket.pair {"pass":true}.
 *
 * Placement and fairness as in bench_rpc: on two or more CPUs the client is
 * pinned to CPU 0 and the daemon (and the authbind children) to CPU 1; the
 * compared cases run in interleaved rounds so that drifts of a shared VM fall
 * on all of them alike; each has its own warm-up.
 *
 * Usage: bench_socket [--iterations N] [--mib N] [DAEMON]
 * DAEMON defaults to $SBD, else ./daemon/sockbrokerd. The daemon is started
 * on a private socket in a temporary directory, waited for through a private
 * NOTIFY_SOCKET (READY=1), and stopped with SIGTERM. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "benchlib.h"

#include "base64.h"
#include "fdpass.h"
#include "jsonrpc.h"

#define AUTHBIND_TARGET 15.0
#define AUTHBIND_PATH "/usr/bin/authbind"
#define AUTHBIND_BYPORT "/etc/authbind/byport"
#define HELPER_FLAG "--authbind-helper"
#define PRIV_PORT_FIRST 900
#define PRIV_PORT_LAST 909
#define CHUNK 65536
#define ROUNDS 10
#define TPUT_ROUNDS 4
#define REPLY_BUF (1u << 20)

extern char **environ;

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die("malloc");
	return p;
}

/* CPU placement, as in bench_rpc: the client on one core, the daemon (and
 * the processes authbind runs) on the other. -1: not pinned. */
static int server_cpu = -1, client_cpu = -1;


/* ------------------------------------------------------------ in-process listener */

/* What socket.listen_on does for an IPv4 address, without the daemon:
 * socket, SO_REUSEADDR, bind, listen (backlog 128). Returns the descriptor
 * or -errno. */
static int make_listener(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd, e;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The hidden mode: `bench_socket --authbind-helper PORT`, run by authbind.
 * One listener on 127.0.0.1:PORT, closed, exit 0 (1 on failure, with the
 * reason on stderr). */
static int helper_main(const char *portstr)
{
	char *end;
	long port = strtol(portstr, &end, 10);
	int fd;

	if (*end || port < 0 || port > 65535) {
		fprintf(stderr, "bench_socket helper: bad port %s\n", portstr);
		return 2;
	}
	fd = make_listener((uint16_t)port);
	if (fd < 0) {
		fprintf(stderr, "bench_socket helper (uid %d): listen on 127.0.0.1:%ld: %s\n",
		        (int)getuid(), port, strerror(-fd));
		return 1;
	}
	close(fd);
	return 0;
}

/* ------------------------------------------------------------ RPC client */

struct rpc {
	int fd;
	long long id;
	char *buf;              /* reply bytes held */
	size_t len, cap;
	int fds[FDPASS_MAX_FDS];
	size_t nfds;            /* descriptors received and not yet taken */
	struct jrpc_parser *parser;
};

static void rpc_open(struct rpc *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = bench_unix_connect(path);
	if (c->fd < 0)
		die("connect to the daemon");
	c->cap = REPLY_BUF;
	c->buf = xmalloc(c->cap);
	c->id = 1;
	c->parser = jrpc_parser_new(JRPC_MAX_DEPTH);
	if (!c->parser)
		die("jrpc_parser_new");
}

static void rpc_close(struct rpc *c)
{
	for (size_t i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	close(c->fd);
	free(c->buf);
	jrpc_parser_free(c->parser);
}

/* Sends one request line (with its '\n') and reads until one reply line is
 * held; descriptors that came with it are in c->fds. Returns the line length
 * without '\n' (the line starts at c->buf); rpc_consume() drops it. */
static size_t rpc_call(struct rpc *c, const char *req, size_t reqlen)
{
	char *nl;

	bench_write_all(c->fd, req, reqlen);
	while (!(nl = memchr(c->buf, '\n', c->len))) {
		bool trunc = false;
		size_t got = 0;
		ssize_t n;

		if (c->len == c->cap)
			fail("reply line too long");
		n = fdpass_recv(c->fd, c->buf + c->len, c->cap - c->len, 0, c->fds + c->nfds,
		                FDPASS_MAX_FDS - c->nfds, &got, &trunc);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			errno = (int)-n;
			die("recvmsg from the daemon");
		}
		if (n == 0)
			fail("the daemon closed the connection");
		if (trunc)
			fail("descriptors were lost (MSG_CTRUNC)");
		c->nfds += got;
		c->len += (size_t)n;
	}
	return (size_t)(nl - c->buf);
}

static void rpc_consume(struct rpc *c, size_t linelen)
{
	size_t used = linelen + 1;

	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
}

/* The minimal check of a reply on the hot path (as bench_rpc's): it carries
 * our id and a result. */
static void reply_check(const struct rpc *c, size_t len)
{
	static const char key[] = "\"id\":";
	const char *p = memmem(c->buf, len, key, sizeof(key) - 1);
	char *end;

	if (!p || !memmem(c->buf, len, "\"result\"", 8))
		goto bad;
	p += sizeof(key) - 1;
	if (strtoll(p, &end, 10) != c->id || end == p)
		goto bad;
	return;
bad:
	fprintf(stderr, "bench_socket: unexpected reply: %.*s\n", (int)(len > 400 ? 400 : len), c->buf);
	exit(1);
}

/* Parses a whole reply and returns its result (a reference the caller
 * puts), failing on an error reply. */
static json_object *reply_result(struct rpc *c, size_t len, json_object **root)
{
	json_object *res;
	const char *why;

	if (jrpc_parser_parse(c->parser, c->buf, len, root, &why) != 0)
		fail("a reply is not JSON");
	if (!json_object_object_get_ex(*root, "result", &res)) {
		fprintf(stderr, "bench_socket: error reply: %.*s\n", (int)(len > 400 ? 400 : len), c->buf);
		exit(1);
	}
	return res;
}

/* listen_on {"address":["127.0.0.1",port],"pass":true}: one round trip, the
 * descriptor taken, closed, as a client that only wanted to check it would. */
static int listen_on_fd(struct rpc *c, uint16_t port)
{
	char req[160];
	int n = snprintf(req, sizeof(req),
	                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"socket.listen_on\","
	                 "\"params\":{\"address\":[\"127.0.0.1\",%u],\"pass\":true}}\n",
	                 c->id, (unsigned)port);
	size_t ll = rpc_call(c, req, (size_t)n);
	int fd;

	reply_check(c, ll);
	if (c->nfds != 1) {
		fprintf(stderr, "bench_socket: expected one descriptor with %.*s\n", (int)ll, c->buf);
		exit(1);
	}
	fd = c->fds[0];
	c->nfds = 0;
	rpc_consume(c, ll);
	c->id++;
	return fd;
}

/* Once, outside any measurement: listen_on answers "fds":1 and the
 * descriptor is a listening TCP socket on 127.0.0.1 (on port when not 0). */
static void verify_listen_on(struct rpc *c, uint16_t port)
{
	char req[160];
	int n = snprintf(req, sizeof(req),
	                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"socket.listen_on\","
	                 "\"params\":{\"address\":[\"127.0.0.1\",%u],\"pass\":true}}\n",
	                 c->id, (unsigned)port);
	size_t ll = rpc_call(c, req, (size_t)n);
	json_object *root, *res, *j;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int acc = 0;
	socklen_t al = sizeof(acc);

	res = reply_result(c, ll, &root);
	if (!json_object_object_get_ex(res, "fds", &j) || json_object_get_int(j) != 1 || c->nfds != 1 ||
	    json_object_object_get_ex(res, "handle", NULL)) {
		fprintf(stderr, "bench_socket: unexpected listen_on reply: %.*s\n", (int)ll, c->buf);
		exit(1);
	}
	if (getsockname(c->fds[0], (struct sockaddr *)&sa, &sl) < 0 || sa.sin_family != AF_INET ||
	    sa.sin_addr.s_addr != htonl(INADDR_LOOPBACK) || (port && ntohs(sa.sin_port) != port) ||
	    getsockopt(c->fds[0], SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || !acc)
		fail("the passed descriptor is not a listener on the requested address");
	close(c->fds[0]);
	c->nfds = 0;
	json_object_put(root);
	rpc_consume(c, ll);
	c->id++;
}

/* ------------------------------------------------------------ the daemon */

struct daemon_proc {
	pid_t pid;
	char sock[128];
	char notify[128];
};

/* ------------------------------------------------------------ statistics */

struct latency {
	double median_us, p99_us;
};

static struct latency summarize(uint64_t *s, size_t n)
{
	struct latency l;

	qsort(s, n, sizeof(uint64_t), bench_cmp_u64);
	l.median_us = (double)s[n / 2] / 1e3;
	l.p99_us = (double)s[(size_t)((double)n * 0.99)] / 1e3;
	return l;
}

/* ------------------------------------------------------------ 1. listener handout */

static uint64_t time_inproc(uint16_t port)
{
	uint64_t t0 = bench_now_ns();
	int fd = make_listener(port);

	if (fd < 0) {
		errno = -fd;
		die("in-process listener");
	}
	close(fd);
	return bench_now_ns() - t0;
}

static uint64_t time_daemon(struct rpc *c, uint16_t port)
{
	uint64_t t0 = bench_now_ns();

	close(listen_on_fd(c, port));
	return bench_now_ns() - t0;
}

static void bench_listen(struct rpc *c, long iterations, struct latency *inproc, struct latency *daemon)
{
	long per = iterations / ROUNDS;
	long warm = iterations / 10 > 200 ? iterations / 10 : 200;
	size_t total = (size_t)(per * ROUNDS);
	uint64_t *si = xmalloc(total * sizeof(uint64_t)), *sd = xmalloc(total * sizeof(uint64_t));

	for (long i = 0; i < warm; i++) {
		time_inproc(0);
		time_daemon(c, 0);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (long i = 0; i < per; i++)
			si[r * per + i] = time_inproc(0);
		for (long i = 0; i < per; i++)
			sd[r * per + i] = time_daemon(c, 0);
	}
	*inproc = summarize(si, total);
	*daemon = summarize(sd, total);
	free(si);
	free(sd);
}

/* ------------------------------------------------------------ 2. authbind */

struct authbind_setup {
	bool usable;
	char why[256];          /* when not usable */
	uint16_t port;
	uid_t uid;
	gid_t gid;
	char helper[128];       /* this program, at a path nobody can execute */
	char byport[64];        /* the permission made for the run */
};

/* The first port of PRIV_PORT_FIRST..LAST free on 127.0.0.1, or 0. */
static uint16_t free_priv_port(void)
{
	for (unsigned p = PRIV_PORT_FIRST; p <= PRIV_PORT_LAST; p++) {
		int fd = make_listener((uint16_t)p);
		if (fd >= 0) {
			close(fd);
			return (uint16_t)p;
		}
	}
	return 0;
}

/* Runs argv as uid/gid (pinned like the daemon) with stdout to /dev/null;
 * returns its wait status, or -1 if it could not be started. */
static int run_as(uid_t uid, gid_t gid, char *const argv[])
{
	sigset_t all, old;
	pid_t pid;
	int st;

	/* Signals wait until bench_undo knows of the child: an interrupted run
	 * must not leave one behind. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		pin(0, server_cpu);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
			fprintf(stderr, "bench_socket: cannot become uid %d: %s\n", (int)uid, strerror(errno));
			_exit(126);
		}
		execve(argv[0], argv, environ);
		fprintf(stderr, "bench_socket: cannot run %s as uid %d: %s\n", argv[0], (int)uid, strerror(errno));
		_exit(127);
	}
	bench_undo.child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	bench_undo.child = -1;
	return st;
}

/* Whether uid/gid may execute path (every directory on the way included):
 * asked in a child that has become that user. */
static bool can_exec_as(uid_t uid, gid_t gid, const char *path)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(2);
		_exit(access(path, X_OK) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Copies this program into dir (made traversable) when nobody cannot reach
 * it where it is, e.g. under /root. */
static void copy_self(const char *self, const char *dir, char *out, size_t outsz)
{
	int in = open(self, O_RDONLY | O_CLOEXEC), o;
	struct stat st;
	off_t off = 0;

	if (in < 0 || fstat(in, &st) < 0)
		die("open this program");
	snprintf(out, outsz, "%s/bench_socket-helper", dir);
	bench_undo_file(out);
	o = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (o < 0)
		die("create the helper copy");
	while (off < st.st_size) {
		ssize_t n = sendfile(o, in, &off, (size_t)(st.st_size - off));
		if (n <= 0)
			die("copy this program");
	}
	close(in);
	if (fchmod(o, 0755) < 0 || close(o) < 0 || chmod(dir, 0711) < 0)
		die("make the helper copy executable");
}

static void authbind_prepare(struct authbind_setup *a, const char *dir)
{
	struct passwd *pw;
	char self[128], *slot;
	ssize_t n;
	int fd;

	a->usable = false;
	if (access(AUTHBIND_PATH, X_OK) < 0) {
		snprintf(a->why, sizeof(a->why), "not installed (apt-get install authbind)");
		return;
	}
	if (geteuid() != 0) {
		snprintf(a->why, sizeof(a->why),
		         "skipped: not root (configuring %s/PORT and starting processes as nobody need root)",
		         AUTHBIND_BYPORT);
		return;
	}
	pw = getpwnam("nobody");
	if (!pw) {
		snprintf(a->why, sizeof(a->why), "skipped: there is no user nobody");
		return;
	}
	a->uid = pw->pw_uid;
	a->gid = pw->pw_gid;
	a->port = free_priv_port();
	if (!a->port) {
		snprintf(a->why, sizeof(a->why), "skipped: no free port in %d-%d on 127.0.0.1",
		         PRIV_PORT_FIRST, PRIV_PORT_LAST);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0 || (size_t)n >= sizeof(self) - 1) {
		snprintf(a->why, sizeof(a->why), "skipped: cannot find this program (/proc/self/exe)");
		return;
	}
	self[n] = '\0';
	if (can_exec_as(a->uid, a->gid, self)) {
		snprintf(a->helper, sizeof(a->helper), "%s", self);
	} else {
		copy_self(self, dir, a->helper, sizeof(a->helper));
		if (!can_exec_as(a->uid, a->gid, a->helper)) {
			snprintf(a->why, sizeof(a->why), "skipped: nobody cannot execute %s", a->helper);
			return;
		}
	}
	/* The permission for this port: authbind's setuid helper checks that the
	 * real user may execute /etc/authbind/byport/PORT, spelled with a '!'
	 * before the number for ports 512-1023 (authbind(1): the upper half of
	 * the reserved range must be granted explicitly; a plain byport/900 is
	 * not even looked at, and bind fails with EPERM). */
	snprintf(a->byport, sizeof(a->byport), "%s/%s%u", AUTHBIND_BYPORT, a->port >= IPPORT_RESERVED / 2 ? "!" : "",
	         (unsigned)a->port);
	slot = bench_undo_file(a->byport);
	fd = open(a->byport, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0500);
	if (fd < 0) {
		int e = errno;
		slot[0] = '\0';   /* not ours: an administrator's, left alone */
		snprintf(a->why, sizeof(a->why), "skipped: cannot create %s/%s%u: %s", AUTHBIND_BYPORT,
		         a->port >= IPPORT_RESERVED / 2 ? "!" : "", (unsigned)a->port, strerror(e));
		return;
	}
	if (fchown(fd, a->uid, a->gid) < 0 || fchmod(fd, 0500) < 0)
		die("configure authbind");
	close(fd);
	a->usable = true;
}

static uint64_t time_spawn(const struct authbind_setup *a, bool authbind, uint16_t port)
{
	char portstr[8];
	char *with[] = { AUTHBIND_PATH, "--deep", (char *)a->helper, HELPER_FLAG, portstr, NULL };
	char *without[] = { (char *)a->helper, HELPER_FLAG, portstr, NULL };
	uint64_t t0;
	int st;

	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	t0 = bench_now_ns();
	st = run_as(a->uid, a->gid, authbind ? with : without);
	t0 = bench_now_ns() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_socket: %s as nobody on port %u failed (status 0x%x)\n",
		        authbind ? "authbind --deep helper" : "helper", (unsigned)port, st);
		exit(1);
	}
	return t0;
}

/* The daemon's privileged handout, authbind, and the same process start
 * without authbind, in interleaved rounds. */
static void bench_authbind(struct rpc *c, const struct authbind_setup *a, long iterations,
                           struct latency *daemon, struct latency *ab, struct latency *plain)
{
	long per = iterations / ROUNDS;
	long warm = per / 5 > 20 ? per / 5 : 20;
	size_t total = (size_t)(per * ROUNDS);
	uint64_t *sd = xmalloc(total * sizeof(uint64_t)), *sa = xmalloc(total * sizeof(uint64_t));
	uint64_t *sp = xmalloc(total * sizeof(uint64_t));

	for (long i = 0; i < warm; i++) {
		time_daemon(c, a->port);
		time_spawn(a, true, a->port);
		time_spawn(a, false, 0);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (long i = 0; i < per; i++)
			sd[r * per + i] = time_daemon(c, a->port);
		for (long i = 0; i < per; i++)
			sa[r * per + i] = time_spawn(a, true, a->port);
		for (long i = 0; i < per; i++)
			sp[r * per + i] = time_spawn(a, false, 0);
	}
	*daemon = summarize(sd, total);
	*ab = summarize(sa, total);
	*plain = summarize(sp, total);
	free(sd);
	free(sa);
	free(sp);
}

/* ------------------------------------------------------------ 3. bytes per second */

/* socket.pair over RPC: two handles. */
static void pair_handles(struct rpc *c, long long h[2])
{
	char req[128];
	int n = snprintf(req, sizeof(req),
	                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"socket.pair\",\"params\":{}}\n", c->id);
	size_t ll = rpc_call(c, req, (size_t)n);
	json_object *root, *res, *hs;

	res = reply_result(c, ll, &root);
	if (!json_object_object_get_ex(res, "handles", &hs) || !json_object_is_type(hs, json_type_array) ||
	    json_object_array_length(hs) != 2)
		fail("socket.pair did not answer two handles");
	h[0] = json_object_get_int64(json_object_array_get_idx(hs, 0));
	h[1] = json_object_get_int64(json_object_array_get_idx(hs, 1));
	json_object_put(root);
	rpc_consume(c, ll);
	c->id++;
}

/* socket.pair {"pass":true}: two descriptors. */
static void pair_fds(struct rpc *c, int fds[2])
{
	char req[128];
	int n = snprintf(req, sizeof(req),
	                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"socket.pair\",\"params\":{\"pass\":true}}\n",
	                 c->id);
	size_t ll = rpc_call(c, req, (size_t)n);
	json_object *root;

	reply_result(c, ll, &root);
	if (c->nfds != 2)
		fail("socket.pair {pass:true} did not send two descriptors");
	fds[0] = c->fds[0];
	fds[1] = c->fds[1];
	c->nfds = 0;
	json_object_put(root);
	rpc_consume(c, ll);
	c->id++;
}

struct xfer {
	long long h[2];         /* RPC: send on h[0], recv on h[1] */
	int fd[2];              /* direct: write fd[0], read fd[1] */
	unsigned char *chunk;   /* CHUNK bytes of payload */
	unsigned char *in;      /* CHUNK bytes received */
	char *req;              /* request buffer */
	size_t reqcap;
};

/* One socket.send of data[0..n) on h[0]. Returns what was sent. */
static size_t rpc_send(struct rpc *c, struct xfer *x, const unsigned char *data, size_t n)
{
	int hl = snprintf(x->req, x->reqcap,
	                  "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"socket.send\","
	                  "\"params\":{\"handle\":%lld,\"data\":\"", c->id, x->h[0]);
	size_t len = (size_t)hl, ll;
	json_object *root, *res, *j;
	int64_t sent;

	len += b64_encode(data, n, x->req + len);
	memcpy(x->req + len, "\"}}\n", 4);
	len += 4;
	ll = rpc_call(c, x->req, len);
	res = reply_result(c, ll, &root);
	if (!json_object_object_get_ex(res, "sent", &j))
		fail("socket.send answered no \"sent\"");
	sent = json_object_get_int64(j);
	if (sent <= 0 || (size_t)sent > n)
		fail("socket.send answered an impossible \"sent\"");
	json_object_put(root);
	rpc_consume(c, ll);
	c->id++;
	return (size_t)sent;
}

/* One socket.recv {bufsize CHUNK} on h[1] into out. Returns the bytes. */
static size_t rpc_recv(struct rpc *c, struct xfer *x, unsigned char *out)
{
	char req[160];
	int n = snprintf(req, sizeof(req),
	                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"socket.recv\","
	                 "\"params\":{\"handle\":%lld,\"bufsize\":%d}}\n", c->id, x->h[1], CHUNK);
	size_t ll = rpc_call(c, req, (size_t)n);
	json_object *root, *res, *j;
	ssize_t got;

	res = reply_result(c, ll, &root);
	if (!json_object_object_get_ex(res, "data", &j) || !json_object_is_type(j, json_type_string))
		fail("socket.recv answered no \"data\"");
	got = b64_decode(json_object_get_string(j), (size_t)json_object_get_string_len(j), out, CHUNK);
	if (got <= 0)
		fail("socket.recv answered no bytes or bad base64");
	json_object_put(root);
	rpc_consume(c, ll);
	c->id++;
	return (size_t)got;
}

/* Moves one CHUNK through the daemon: send (again for what a short send
 * left), recv until everything sent has arrived. */
static void rpc_chunk(struct rpc *c, struct xfer *x, bool verify)
{
	size_t sent = 0, recvd = 0;

	while (recvd < CHUNK) {
		if (sent < CHUNK && sent == recvd)
			sent += rpc_send(c, x, x->chunk + sent, CHUNK - sent);
		while (recvd < sent) {
			size_t n = rpc_recv(c, x, x->in + recvd);
			if (verify && memcmp(x->in + recvd, x->chunk + recvd, n) != 0)
				fail("bytes through socket.send/socket.recv differ from those sent");
			recvd += n;
		}
	}
}

static void direct_chunk(struct xfer *x, bool verify)
{
	size_t off = 0;

	while (off < CHUNK) {
		ssize_t n = write(x->fd[0], x->chunk + off, CHUNK - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write on the passed descriptor");
		off += (size_t)n;
	}
	for (off = 0; off < CHUNK;) {
		ssize_t n = read(x->fd[1], x->in + off, CHUNK - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("read on the passed descriptor");
		off += (size_t)n;
	}
	if (verify && memcmp(x->in, x->chunk, CHUNK) != 0)
		fail("bytes through the passed descriptors differ from those sent");
}

/* Bytes per second of both ways, in TPUT_ROUNDS interleaved rounds. */
static void bench_bytes(struct rpc *c, long mib, double *rpc_bps, double *direct_bps)
{
	struct xfer x;
	long chunks = mib * (1048576 / CHUNK), per = chunks / TPUT_ROUNDS;
	uint64_t t_rpc = 0, t_direct = 0;

	x.chunk = xmalloc(CHUNK);
	x.in = xmalloc(CHUNK);
	x.reqcap = b64_encoded_len(CHUNK) + 256;
	x.req = xmalloc(x.reqcap);
	for (size_t i = 0; i < CHUNK; i++)
		x.chunk[i] = (unsigned char)((i * 2654435761u) >> 13);
	pair_handles(c, x.h);
	pair_fds(c, x.fd);
	/* Warm-up, with the bytes checked: 2 MiB each way. */
	for (int i = 0; i < 32; i++) {
		rpc_chunk(c, &x, true);
		direct_chunk(&x, true);
	}
	for (int r = 0; r < TPUT_ROUNDS; r++) {
		uint64_t t0 = bench_now_ns();
		for (long i = 0; i < per; i++)
			rpc_chunk(c, &x, false);
		t_rpc += bench_now_ns() - t0;
		t0 = bench_now_ns();
		for (long i = 0; i < per; i++)
			direct_chunk(&x, false);
		t_direct += bench_now_ns() - t0;
	}
	*rpc_bps = (double)(per * TPUT_ROUNDS) * CHUNK / ((double)t_rpc / 1e9);
	*direct_bps = (double)(per * TPUT_ROUNDS) * CHUNK / ((double)t_direct / 1e9);
	close(x.fd[0]);
	close(x.fd[1]);
	free(x.chunk);
	free(x.in);
	free(x.req);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: bench_socket [OPTION]... [DAEMON]\n"
	        "Socket handout latency (also against authbind) and bytes per second through sockbrokerd.\n\n"
	        "  DAEMON            sockbrokerd to start (default $SBD, else ./daemon/sockbrokerd)\n"
	        "  --iterations N    samples of each latency (default 2000)\n"
	        "  --mib N           MiB moved each way for bytes per second (default 64)\n"
	        "  --help            this text\n");
}

static double mib_s(double bps)
{
	return bps / 1048576.0;
}

int main(int argc, char **argv)
{
	int rc_stop;
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "mib", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *exe, *tmp = getenv("TMPDIR");
	long iterations = 2000, mib = 64;
	struct daemon_proc d = { .pid = -1 };
	struct authbind_setup ab = { .usable = false };
	struct latency l_in, l_d, l_dp = { 0 }, l_ab = { 0 }, l_plain = { 0 };
	double rpc_bps, direct_bps;
	char dir[64], *end;
	struct rpc c;
	int o, rc = 0;

	/* The hidden mode authbind runs, before anything else. */
	if (argc == 3 && strcmp(argv[1], HELPER_FLAG) == 0)
		return helper_main(argv[2]);

	bench_init(argv[0]);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			iterations = strtol(optarg, &end, 10);
			if (*end || iterations < ROUNDS * 10 || iterations > 10000000)
				fail("--iterations must be an integer in 100-10000000");
			break;
		case 'm':
			mib = strtol(optarg, &end, 10);
			if (*end || mib < 1 || mib > 1048576)
				fail("--mib must be an integer in 1-1048576");
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

	if (!tmp || tmp[0] != '/' || strlen(tmp) > 30)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/bench_socket.XXXXXX", tmp);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(d.sock, sizeof(d.sock), "%s/control.sock", dir);
	snprintf(d.notify, sizeof(d.notify), "%s/notify.sock", dir);
	bench_undo_dir(dir);
	{
		char pd[sizeof(dir) + 16];
		/* bench_daemon_start's empty policy.d, beside the notify socket. */
		snprintf(pd, sizeof(pd), "%s/policy.d", dir);
		bench_undo_dir(pd);
	}
	bench_undo_file(d.sock);
	bench_undo_file(d.notify);
	bench_undo_install();

	{
		/* Its notify socket is ours only until READY=1: no descriptor store. */
		static const char *const extra[] = { "--fdstore=no", NULL };
		d.pid = bench_undo.daemon = bench_daemon_start(exe, d.sock, d.notify, extra, server_cpu);
	}
	printf("daemon:      %s (pid %d) on %s, running as uid %d\n", exe, (int)d.pid, d.sock, (int)geteuid());
	if (server_cpu >= 0)
		printf("placement:   client on CPU %d; daemon and authbind's processes on CPU %d\n",
		       client_cpu, server_cpu);
	else
		printf("placement:   not pinned (one CPU)\n");
	rpc_open(&c, d.sock);
	verify_listen_on(&c, 0);
	authbind_prepare(&ab, dir);
	if (ab.usable) {
		verify_listen_on(&c, ab.port);
		printf("authbind:    %s --deep %s %s %u, as nobody (uid %d), %s for the run\n", AUTHBIND_PATH,
		       ab.helper, HELPER_FLAG, (unsigned)ab.port, (int)ab.uid, ab.byport);
	} else {
		printf("authbind:    %s\n", ab.why);
	}
	printf("\n");
	fflush(stdout);

	bench_listen(&c, iterations, &l_in, &l_d);
	if (ab.usable)
		bench_authbind(&c, &ab, iterations, &l_dp, &l_ab, &l_plain);
	bench_bytes(&c, mib, &rpc_bps, &direct_bps);

	rpc_close(&c);
	rc_stop = bench_daemon_stop(d.pid);
	d.pid = bench_undo.daemon = -1;
	if (rc_stop < 0)
		rc = 1;
	bench_undo_run();

	printf("1. listener on 127.0.0.1:0, %ld samples each in %d interleaved rounds:\n", iterations / ROUNDS * ROUNDS,
	       ROUNDS);
	printf("  in-process socket+SO_REUSEADDR+bind+listen+close  median %8.2f us   p99 %8.2f us\n",
	       l_in.median_us, l_in.p99_us);
	printf("  daemon listen_on {pass:true}, fd received, closed  median %8.2f us   p99 %8.2f us\n",
	       l_d.median_us, l_d.p99_us);
	printf("  ratio daemon/in-process: median %.2fx, p99 %.2fx\n", l_d.median_us / l_in.median_us,
	       l_d.p99_us / l_in.p99_us);
	if (ab.usable) {
		double ratio = l_ab.median_us / l_dp.median_us;
		printf("2. privileged listener on 127.0.0.1:%u, %ld samples each in %d interleaved rounds:\n",
		       (unsigned)ab.port, iterations / ROUNDS * ROUNDS, ROUNDS);
		printf("  daemon listen_on {pass:true}                       median %8.2f us   p99 %8.2f us\n",
		       l_dp.median_us, l_dp.p99_us);
		printf("  authbind --deep helper as nobody, fork to exit     median %8.2f us   p99 %8.2f us\n",
		       l_ab.median_us, l_ab.p99_us);
		printf("  (same helper without authbind, port 0)             median %8.2f us   p99 %8.2f us\n",
		       l_plain.median_us, l_plain.p99_us);
		printf("  ratio authbind/daemon: median %.1fx, p99 %.1fx\n", ratio, l_ab.p99_us / l_dp.p99_us);
		printf("  target (privileged listener handout at least %.0fx faster than authbind): %s (%.1fx)\n",
		       AUTHBIND_TARGET, ratio >= AUTHBIND_TARGET ? "MET" : "NOT MET", ratio);
	} else {
		printf("2. privileged listener against authbind: %s\n", ab.why);
	}
	printf("3. bytes per second, %ld MiB each way in %d interleaved rounds of 64 KiB chunks:\n",
	       mib, TPUT_ROUNDS);
	printf("  RPC socket.send + socket.recv (base64, parsed)     %10.1f MiB/s\n", mib_s(rpc_bps));
	printf("  passed descriptors, write + read                   %10.1f MiB/s\n", mib_s(direct_bps));
	printf("  ratio RPC/direct: %.3f (direct %.1fx faster)\n", rpc_bps / direct_bps, direct_bps / rpc_bps);
	return rc;
}
