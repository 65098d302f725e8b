#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* bench_preload: what the preload shim libsockbroker-preload.so costs
 * (issue 16; docs/launcher.md, "The preload shim"), each figure against a
 * baseline measured in the same run; nothing is asserted about times.
 *
 * 1. Privileged bind as nobody: socket + SO_REUSEADDR + bind(127.0.0.1:P)
 *    + close, P below 1024, under the shim (the kernel refuses, the daemon
 *    binds under its policy, the shim dup3s its socket in) against the same
 *    under `authbind --deep` (libauthbind.so runs its setuid helper for each
 *    bind). Ratio shim/authbind.
 * 2. Non-intercepted bind: the same on 127.0.0.1:0, which the kernel grants,
 *    with the shim loaded against without. Target: within 5 %.
 * 3. Non-intercepted connect: socket + connect(127.0.0.1:L) + SO_LINGER 0
 *    (no TIME_WAIT piles up over the run) + close, to a listener of this
 *    program's whose thread accepts and closes, with the shim loaded
 *    (SOCKBROKER_CONNECT unset) against without. Target: within 5 %.
 * 4. Intercepted connect: the same with SOCKBROKER_CONNECT=1 (the daemon
 *    makes, connects and hands out the socket) against case 3's no-shim
 *    figure. How many daemon connections each case made (admin.stats) is
 *    printed beside it: a shim without connect() makes none, and then this
 *    case measures a direct connect with the shim loaded, and says so.
 *
 * Each worker is this program re-executed (`--worker`) as nobody with the
 * case's environment; it checks that the library it expects is mapped (a
 * preload the loader could not read is ignored with only a message), times
 * each operation with CLOCK_MONOTONIC after a warm-up, and writes the
 * samples to a pipe. Compared cases run in interleaved rounds (the order
 * reversed every other round) so that the drift of a shared VM falls on
 * both; medians and p99 are of all rounds' samples, with the spread of the
 * per-round medians and ratios. On two or more CPUs the workers (and
 * authbind's helpers) run on CPU 0, the daemon and the accepting thread on
 * CPU 1.
 *
 * The daemon is started on a private socket in a temporary directory with a
 * policy of its own granting nobody create, bind of 127.0.0.1:P and connect
 * to 127.0.0.1:L. This program and the shim are copied there, where nobody
 * can run and read them. For authbind, /etc/authbind/byport/P (!P for
 * 512-1023) is created for the run, owned by nobody, mode 0500, and removed
 * at exit: the one file a benchmark writes outside its temporary directory,
 * because authbind reads only /etc/authbind. Needs root (exit 77 without).
 *
 * Usage: bench_preload [OPTION]... [DAEMON] (--help) */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

#define WORKER_FLAG "--worker"
#define SHIM_NAME "libsockbroker-preload.so"
#define AUTHBIND_PATH "/usr/bin/authbind"
#define AUTHBIND_BYPORT "/etc/authbind/byport"
#define PRIV_PORT_FIRST 910
#define PRIV_PORT_LAST 919
#define TARGET 1.05
#define WORKER_TIMEOUT_MS 300000
#define IO_TIMEOUT_S 10

extern char **environ;

/* ------------------------------------------------------------ the operations */

static void loopback(struct sockaddr_in *sa, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* socket + SO_REUSEADDR + bind(127.0.0.1:port) + close; with check, the
 * bound port must be port (or any, for 0). 0, or -errno of the step. */
static int op_bind(uint16_t port, bool check)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0), e;

	if (fd < 0)
		return -errno;
	loopback(&sa, port);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto bad;
	if (check) {
		if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
			goto bad;
		if (sa.sin_port == 0 || (port && ntohs(sa.sin_port) != port)) {
			close(fd);
			return -EPROTO;
		}
	}
	close(fd);
	return 0;
bad:
	e = errno;
	close(fd);
	return -e;
}

/* socket + connect(127.0.0.1:port) + SO_LINGER 0 + close (a reset: the
 * listener's thread closes its end whenever). 0, or -errno of the step. */
static int op_connect(uint16_t port, bool check)
{
	struct sockaddr_in sa;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), e;

	if (fd < 0)
		return -errno;
	loopback(&sa, port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto bad;
	if (check) {
		if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0)
			goto bad;
		if (ntohs(sa.sin_port) != port) {
			close(fd);
			return -EPROTO;
		}
	}
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		goto bad;
	close(fd);
	return 0;
bad:
	e = errno;
	close(fd);
	return -e;
}

/* ------------------------------------------------------------ worker mode */

/* A worker run of n timed operations makes 1 checked + warm_of(n) before. */
static long warm_of(long n)
{
	return n / 10 > 10 ? n / 10 : 10;
}

/* Whether /proc/self/maps names a file containing what. */
static bool mapped(const char *what)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

/* `bench_preload --worker bind|connect N PORT none|shim|authbind`: N timed
 * operations after a warm-up, their nanoseconds written to stdout as N
 * uint64_t. Exit 1 with the reason on stderr. */
static int worker_main(char **argv)
{
	const char *kind = argv[0], *expect = argv[3];
	long n = strtol(argv[1], NULL, 10), port = strtol(argv[2], NULL, 10), warm;
	bool is_bind = !strcmp(kind, "bind");
	int (*op)(uint16_t, bool) = is_bind ? op_bind : op_connect;
	bool want_shim = !strcmp(expect, "shim"), want_ab = !strcmp(expect, "authbind");
	uint64_t *s;
	int r;

	bench_init("bench_preload worker");
	if ((!is_bind && strcmp(kind, "connect")) || n < 1 || port < 0 || port > 65535 ||
	    (!want_shim && !want_ab && strcmp(expect, "none")))
		fail("bad worker arguments");
	if (mapped(SHIM_NAME) != want_shim || mapped("libauthbind") != want_ab) {
		fprintf(stderr, "bench_preload worker (uid %d): expected %s preloaded, /proc/self/maps has %s%s\n",
		        (int)getuid(), expect, mapped(SHIM_NAME) ? "the shim " : "",
		        mapped("libauthbind") ? "libauthbind" : "");
		return 1;
	}
	/* The first call is checked (the port bound or connected to), then a
	 * warm-up of a tenth, at least 10. */
	r = op((uint16_t)port, true);
	if (r < 0) {
		fprintf(stderr, "bench_preload worker (uid %d, %s): %s 127.0.0.1:%ld: %s\n", (int)getuid(), expect,
		        kind, port, strerror(-r));
		return 1;
	}
	warm = warm_of(n);
	for (long i = 0; i < warm; i++)
		if ((r = op((uint16_t)port, false)) < 0)
			goto failed;
	s = samples((size_t)n);
	for (long i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		r = op((uint16_t)port, false);
		s[i] = bench_now_ns() - t0;
		if (r < 0)
			goto failed;
	}
	for (size_t off = 0, len = (size_t)n * sizeof(*s); off < len;) {
		ssize_t w = write(STDOUT_FILENO, (const char *)s + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write the samples");
		off += (size_t)w;
	}
	return 0;
failed:
	fprintf(stderr, "bench_preload worker (uid %d, %s): %s 127.0.0.1:%ld: %s\n", (int)getuid(), expect, kind,
	        port, strerror(-r));
	return 1;
}

/* ------------------------------------------------------------ set-up */

static int server_cpu = -1, client_cpu = -1;
/* The authbind permission this run made (bench_undo removes it). */
static const char *byport = "";
static uid_t nobody_uid;
static gid_t nobody_gid;

/* Copies src to dst, mode 0755. */
static void copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), o;
	struct stat st;
	off_t off = 0;

	if (in < 0 || fstat(in, &st) < 0) {
		fprintf(stderr, "bench_preload: cannot read %s: %s\n", src, strerror(errno));
		exit(1);
	}
	o = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (o < 0)
		die(dst);
	while (off < st.st_size) {
		ssize_t n = sendfile(o, in, &off, (size_t)(st.st_size - off));
		if (n <= 0)
			die(dst);
	}
	close(in);
	if (fchmod(o, 0755) < 0 || close(o) < 0)
		die(dst);
}

/* A listener on 127.0.0.1:port as root (SO_REUSEADDR), or -errno. */
static int listener(uint16_t port, int backlog)
{
	struct sockaddr_in sa;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	if (fd < 0)
		return -errno;
	loopback(&sa, port);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (backlog && listen(fd, backlog) < 0)) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The connect cases' peer: accepts and closes until the listener is shut
 * down. */
static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;

	pin(0, server_cpu);
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
		else if (errno == EINVAL || errno == EBADF)
			return NULL;
	}
}

/* The private policy: root may ask admin.stats; nobody may create TCP/IPv4
 * sockets (a hand-out needs an explicit create), bind 127.0.0.1:bport and
 * connect to 127.0.0.1:cport. Mode 0600, as the daemon wants. */
static void write_policy(const char *path, uint16_t bport, uint16_t cport)
{
	FILE *f;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || !(f = fdopen(fd, "w")))
		die(path);
	fprintf(f,
	        "{ \"version\": 1,\n"
	        "  \"rules\": [\n"
	        "    { \"name\": \"root\", \"match\": { \"uid\": 0 }, \"allow\": [ { \"action\": \"admin\" } ] },\n"
	        "    { \"name\": \"bench_preload\", \"match\": { \"uid\": %u },\n"
	        "      \"allow\": [ { \"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"SOCK_STREAM\" },\n"
	        "                 { \"action\": \"bind\", \"family\": \"AF_INET\", \"type\": \"SOCK_STREAM\",\n"
	        "                   \"address\": \"127.0.0.1/32\", \"port\": %u },\n"
	        "                 { \"action\": \"connect\", \"family\": \"AF_INET\", \"type\": \"SOCK_STREAM\",\n"
	        "                   \"address\": \"127.0.0.1/32\", \"port\": %u } ] } ] }\n",
	        (unsigned)nobody_uid, (unsigned)bport, (unsigned)cport);
	if (fclose(f) != 0)
		die(path);
}

struct authbind_setup {
	bool usable;
	char why[200];
};

/* /etc/authbind/byport/PORT (!PORT for 512-1023, authbind(1)), owned by
 * nobody, mode 0500: its setuid helper lets the real user bind the port if
 * it may execute that file. Removed by bench_undo. */
static void authbind_prepare(struct authbind_setup *a, uint16_t port)
{
	const char *bang = port >= IPPORT_RESERVED / 2 ? "!" : "";
	int fd;

	a->usable = false;
	if (access(AUTHBIND_PATH, X_OK) < 0) {
		snprintf(a->why, sizeof(a->why), "not measured: %s is missing (apt-get install authbind)",
		         AUTHBIND_PATH);
		return;
	}
	char path[64], *slot;

	snprintf(path, sizeof(path), "%s/%s%u", AUTHBIND_BYPORT, bang, (unsigned)port);
	slot = bench_undo_file(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0500);
	if (fd < 0) {
		int e = errno;
		slot[0] = '\0';   /* not ours: an administrator's, left alone */
		snprintf(a->why, sizeof(a->why), "not measured: cannot create %s: %s", path, strerror(e));
		return;
	}
	byport = slot;
	if (fchown(fd, nobody_uid, nobody_gid) < 0 || fchmod(fd, 0500) < 0)
		die("configure authbind");
	close(fd);
	a->usable = true;
}

/* ------------------------------------------------------------ the daemon's count */

/* One kept control connection for admin.stats: its connections_accepted
 * tells how many times the workers' shim called the daemon. */
static int stats_fd = -1;
static long long stats_id;

static unsigned long long daemon_accepted(void)
{
	static char buf[65536];
	static const char key[] = "\"connections_accepted\":";
	char req[96];
	size_t len = 0;
	char *p;
	int n = snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"admin.stats\"}\n",
	                 ++stats_id);

	bench_write_all(stats_fd, req, (size_t)n);
	while (!memchr(buf, '\n', len)) {
		ssize_t r;
		if (len == sizeof(buf) - 1)
			fail("admin.stats: reply too long");
		r = recv(stats_fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("admin.stats: recv");
		if (r == 0)
			fail("admin.stats: the daemon closed the connection");
		len += (size_t)r;
	}
	buf[len] = '\0';
	p = strstr(buf, key);
	if (!p || !strstr(buf, "\"result\"")) {
		fprintf(stderr, "bench_preload: unexpected reply to admin.stats: %.300s\n", buf);
		exit(1);
	}
	return strtoull(p + sizeof(key) - 1, NULL, 10);
}

/* ------------------------------------------------------------ running workers */

enum { C_PRIV_SHIM, C_PRIV_AUTHBIND, C_BIND_NONE, C_BIND_SHIM, C_CONN_NONE, C_CONN_SHIM, C_CONN_THROUGH, NCASES };

struct kase {
	const char *label;
	const char *kind;       /* bind | connect */
	const char *expect;     /* none | shim | authbind */
	bool intercepted;       /* -i operations a run, else -n */
	bool through;           /* SOCKBROKER_CONNECT=1 */
	uint64_t *s;            /* every round's samples */
	size_t ns;
	double round_med[64];
	unsigned long long conns;   /* daemon connections during its runs */
	long ops;
};

static struct kase cases[NCASES] = {
	[C_PRIV_SHIM] = { "shim: the daemon binds, dup3", "bind", "shim", true, false },
	[C_PRIV_AUTHBIND] = { "authbind --deep: its setuid helper", "bind", "authbind", true, false },
	[C_BIND_NONE] = { "no shim", "bind", "none", false, false },
	[C_BIND_SHIM] = { "shim loaded", "bind", "shim", false, false },
	[C_CONN_NONE] = { "no shim", "connect", "none", false, false },
	[C_CONN_SHIM] = { "shim loaded, SOCKBROKER_CONNECT unset", "connect", "shim", false, false },
	[C_CONN_THROUGH] = { "shim, SOCKBROKER_CONNECT=1", "connect", "shim", true, true },
};

struct run_env {
	const char *self, *shim, *ctl;
	uint16_t bport, cport;
};

/* One worker run of case k, its samples appended to k's and its median
 * kept as round r's. */
static void run_case(struct kase *k, const struct run_env *e, long n, int r)
{
	char nstr[24], portstr[8], env_pre[200], env_sock[160];
	char *argv[10], *envp[6];
	size_t argc = 0, envc = 0, want = (size_t)n * sizeof(uint64_t), got = 0;
	uint64_t *s = samples((size_t)n), t0;
	unsigned long long before = daemon_accepted();
	sigset_t all, old;
	int p[2], st;

	snprintf(nstr, sizeof(nstr), "%ld", n);
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)(strcmp(k->kind, "bind") ? e->cport :
	                                                    k->intercepted ? e->bport : 0));
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", e->shim);
	snprintf(env_sock, sizeof(env_sock), "SOCKBROKER_SOCKET=%s", e->ctl);
	if (!strcmp(k->expect, "authbind")) {
		argv[argc++] = (char *)AUTHBIND_PATH;
		argv[argc++] = (char *)"--deep";
	}
	argv[argc++] = (char *)e->self;
	argv[argc++] = (char *)WORKER_FLAG;
	argv[argc++] = (char *)k->kind;
	argv[argc++] = nstr;
	argv[argc++] = portstr;
	argv[argc++] = (char *)k->expect;
	argv[argc] = NULL;
	envp[envc++] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
	if (!strcmp(k->expect, "shim")) {
		envp[envc++] = env_pre;
		envp[envc++] = env_sock;
		if (k->through)
			envp[envc++] = (char *)"SOCKBROKER_CONNECT=1";
	}
	envp[envc] = NULL;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2");
	/* Signals wait until bench_undo knows of the worker. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	bench_undo.child = fork();
	if (bench_undo.child < 0)
		die("fork");
	if (bench_undo.child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		pin(0, client_cpu);
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(126);
		if (setgroups(0, NULL) < 0 || setgid(nobody_gid) < 0 || setuid(nobody_uid) < 0) {
			fprintf(stderr, "bench_preload: cannot become nobody: %s\n", strerror(errno));
			_exit(126);
		}
		execve(argv[0], argv, envp);
		fprintf(stderr, "bench_preload: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	t0 = bench_now_ns();
	while (got < want) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		uint64_t spent = (bench_now_ns() - t0) / 1000000u;
		ssize_t rd;
		int pr;

		if (spent >= WORKER_TIMEOUT_MS) {
			fprintf(stderr, "bench_preload: the %s worker (%s) did not finish within %d s\n", k->kind,
			        k->label, WORKER_TIMEOUT_MS / 1000);
			exit(1);
		}
		pr = poll(&pf, 1, (int)(WORKER_TIMEOUT_MS - spent));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			die("poll");
		if (pr == 0)
			continue;
		rd = read(p[0], (char *)s + got, want - got);
		if (rd < 0 && errno == EINTR)
			continue;
		if (rd <= 0)
			break;
		got += (size_t)rd;
	}
	close(p[0]);
	while (waitpid(bench_undo.child, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	bench_undo.child = -1;
	if (got < want || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_preload: the %s worker (%s) failed (status 0x%x, %zu of %zu bytes)\n", k->kind,
		        k->label, st, got, want);
		exit(1);
	}
	/* admin.stats asks on the kept connection: it adds none. */
	k->conns += daemon_accepted() - before;
	k->ops += 1 + warm_of(n) + n;
	memcpy(k->s + k->ns, s, want);
	k->ns += (size_t)n;
	k->round_med[r] = stats_of(s, (size_t)n).median_us;
	free(s);
}

/* ------------------------------------------------------------ report */

static void print_case(const struct kase *k, int rounds)
{
	struct stats st = stats_of(k->s, k->ns);
	double lo = k->round_med[0], hi = k->round_med[0];

	for (int r = 1; r < rounds; r++) {
		lo = k->round_med[r] < lo ? k->round_med[r] : lo;
		hi = k->round_med[r] > hi ? k->round_med[r] : hi;
	}
	printf("   %-40s %7zu %9.2f %9.2f   %8.2f-%-8.2f %8.2f\n", k->label, k->ns, st.median_us, st.p99_us, lo, hi,
	       (double)k->conns / (double)k->ops);
}

/* Ratio of a's median to b's (all samples), and the spread of the per-round
 * ratios. Returns the former. */
static double print_ratio(const char *what, const struct kase *a, const struct kase *b, int rounds)
{
	double ra = stats_of(a->s, a->ns).median_us, rb = stats_of(b->s, b->ns).median_us;
	double lo = 1e300, hi = 0;

	for (int r = 0; r < rounds; r++) {
		double q = a->round_med[r] / b->round_med[r];
		lo = q < lo ? q : lo;
		hi = q > hi ? q : hi;
	}
	printf("   ratio %s: %.3f (medians); per round %.3f-%.3f\n", what, ra / rb, lo, hi);
	return ra / rb;
}

static void print_header(void)
{
	printf("   %-40s %7s %9s %9s   %-17s %8s\n", "", "ops", "median us", "p99 us", "round medians us",
	       "conns/op");
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: bench_preload [OPTION]... [DAEMON]\n"
	        "What the preload shim costs: an intercepted privileged bind as nobody against\n"
	        "authbind, an intercepted connect against a direct one, and a bind and a connect\n"
	        "the shim does not intercept with it loaded against without (target: within 5 %%).\n\n"
	        "  DAEMON, --sbd PATH  sockbrokerd to start (default $SBD, else ./daemon/sockbrokerd)\n"
	        "  --shim PATH         the shim (default $SOCKBROKER_PRELOAD, else\n"
	        "                      ./client/.libs/" SHIM_NAME ")\n"
	        "  -n N                operations a worker run, not intercepted (default 20000)\n"
	        "  -i N                operations a worker run, intercepted and authbind (default 100)\n"
	        "  -r N                interleaved rounds (default 10)\n"
	        "  --port N            the privileged port (default: the first free of %d-%d)\n"
	        "  --help              this text\n\n"
	        "Run as root: the workers run as nobody. With authbind installed, %s/PORT\n"
	        "(!PORT for 512-1023) is created for the run and removed at exit, the one file\n"
	        "written outside the temporary directory: authbind reads only /etc/authbind.\n",
	        PRIV_PORT_FIRST, PRIV_PORT_LAST, AUTHBIND_BYPORT);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sbd", required_argument, NULL, 'd' },
		{ "shim", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long n = 20000, ni = 100, rounds = 10, port = 0;
	const char *exe = NULL, *shim = getenv("SOCKBROKER_PRELOAD"), *tmp = getenv("TMPDIR");
	char dir[64], self[256], self_copy[128], shim_copy[128], ctl[128], notify[128], policy[128];
	const char *extra[4];
	struct authbind_setup ab = { .usable = false };
	struct run_env e;
	struct passwd *pw;
	pthread_t acc;
	int lfd, o, rc = 0;
	ssize_t sl;
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	/* The hidden mode, before anything else. */
	if (argc == 6 && !strcmp(argv[1], WORKER_FLAG))
		return worker_main(argv + 2);

	bench_init(argv[0]);
	while ((o = getopt_long(argc, argv, "n:i:r:", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			n = bench_number(optarg, 100, 10000000, "-n");
			break;
		case 'i':
			ni = bench_number(optarg, 10, 1000000, "-i");
			break;
		case 'r':
			rounds = bench_number(optarg, 1, 64, "-r");
			break;
		case 'd':
			exe = optarg;
			break;
		case 's':
			shim = optarg;
			break;
		case 'p':
			port = bench_number(optarg, 1, IPPORT_RESERVED - 1, "--port");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!exe)
		exe = bench_daemon_arg(argc, argv, optind);
	else if (optind < argc)
		exe = NULL;
	if (!exe) {
		usage(stderr);
		return 2;
	}
	if (!shim || !*shim)
		shim = "./client/.libs/" SHIM_NAME;
	if (geteuid() != 0) {
		fprintf(stderr, "bench_preload: needs root: the workers run as nobody, and authbind's\n"
		                "configuration is in /etc/authbind (skipped)\n");
		return 77;
	}
	pw = getpwnam("nobody");
	if (!pw) {
		fprintf(stderr, "bench_preload: there is no user nobody (skipped)\n");
		return 77;
	}
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	if (access(shim, R_OK) < 0) {
		fprintf(stderr, "bench_preload: the shim %s: %s (build it, or give --shim)\n", shim, strerror(errno));
		return 1;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0 || (size_t)sl >= sizeof(self) - 1)
		die("readlink /proc/self/exe");
	self[sl] = '\0';
	signal(SIGPIPE, SIG_IGN);
	bench_place(&client_cpu, &server_cpu);

	/* The privileged port: given, or the first free one. */
	if (port) {
		int fd = listener((uint16_t)port, 0);
		if (fd < 0) {
			fprintf(stderr, "bench_preload: port %ld on 127.0.0.1 is not free: %s\n", port, strerror(-fd));
			return 1;
		}
		close(fd);
	} else {
		for (long p = PRIV_PORT_FIRST; p <= PRIV_PORT_LAST && !port; p++) {
			int fd = listener((uint16_t)p, 0);
			if (fd >= 0) {
				close(fd);
				port = p;
			}
		}
		if (!port) {
			fprintf(stderr, "bench_preload: no free port in %d-%d on 127.0.0.1 (give --port)\n",
			        PRIV_PORT_FIRST, PRIV_PORT_LAST);
			return 1;
		}
	}

	if (!tmp || tmp[0] != '/' || strlen(tmp) > 30)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/bench_preload.XXXXXX", tmp);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(ctl, sizeof(ctl), "%s/control.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify.sock", dir);
	snprintf(policy, sizeof(policy), "%s/policy.json", dir);
	snprintf(self_copy, sizeof(self_copy), "%s/bench_preload", dir);
	snprintf(shim_copy, sizeof(shim_copy), "%s/" SHIM_NAME, dir);
	bench_undo_dir(dir);
	bench_undo_file(ctl);
	bench_undo_file(notify);
	bench_undo_file(policy);
	bench_undo_file(self_copy);
	bench_undo_file(shim_copy);
	bench_undo_install();
	/* Where nobody can run this program and read the shim (the build may
	 * be under /root): the workers use these copies. */
	if (chmod(dir, 0711) < 0)
		die("chmod the temporary directory");
	copy_file(self, self_copy);
	copy_file(shim, shim_copy);

	lfd = listener(0, 4096);
	if (lfd < 0) {
		errno = -lfd;
		die("listen on 127.0.0.1:0");
	}
	{
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		if (getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
			die("getsockname");
		e.cport = ntohs(sa.sin_port);
	}
	if (pthread_create(&acc, NULL, acceptor, &lfd) != 0)
		fail("cannot start the accepting thread");
	e.bport = (uint16_t)port;
	e.self = self_copy;
	e.shim = shim_copy;
	e.ctl = ctl;

	write_policy(policy, e.bport, e.cport);
	extra[0] = "--policy";
	extra[1] = policy;
	/* Its notify socket is ours only until READY=1: no descriptor store. */
	extra[2] = "--fdstore=no";
	extra[3] = NULL;
	bench_undo.daemon = bench_daemon_start(exe, ctl, notify, extra, server_cpu);
	stats_fd = bench_unix_connect(ctl);
	if (stats_fd < 0)
		die("connect to the control socket");
	if (setsockopt(stats_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	authbind_prepare(&ab, e.bport);

	printf("daemon:     %s (pid %d), control %s, policy %s\n", exe, (int)bench_undo.daemon, ctl, policy);
	printf("shim:       %s (a copy of %s)\n", shim_copy, shim);
	printf("workers:    %s %s, as nobody (uid %u)\n", self_copy, WORKER_FLAG, (unsigned)nobody_uid);
	if (ab.usable)
		printf("authbind:   %s --deep, %s created for the run\n", AUTHBIND_PATH, byport);
	else
		printf("authbind:   %s\n", ab.why);
	printf("listener:   127.0.0.1:%u, a thread accepts and closes\n", (unsigned)e.cport);
	if (server_cpu >= 0)
		printf("placement:  workers on CPU %d; the daemon and the accepting thread on CPU %d\n", client_cpu,
		       server_cpu);
	else
		printf("placement:  not pinned (one CPU)\n");
	printf("rounds:     %ld interleaved; a worker run: %ld operations not intercepted, %ld intercepted\n\n",
	       rounds, n, ni);
	fflush(stdout);

	for (int k = 0; k < NCASES; k++) {
		cases[k].s = samples((size_t)(cases[k].intercepted ? ni : n) * (size_t)rounds);
		cases[k].ns = 0;
	}
	for (int r = 0; r < rounds; r++) {
		/* Every other round the other way round: no case always follows
		 * the same one. */
		for (int i = 0; i < NCASES; i++) {
			int k = r % 2 ? NCASES - 1 - i : i;
			if (k == C_PRIV_AUTHBIND && !ab.usable)
				continue;
			run_case(&cases[k], &e, cases[k].intercepted ? ni : n, r);
		}
	}

	close(stats_fd);
	shutdown(lfd, SHUT_RDWR);
	pthread_join(acc, NULL);
	close(lfd);
	if (bench_daemon_stop(bench_undo.daemon) < 0)
		rc = 1;
	bench_undo.daemon = -1;
	bench_undo_run();

	print_header();
	printf("1. privileged bind as nobody: socket + SO_REUSEADDR + bind(127.0.0.1:%u) + close\n",
	       (unsigned)e.bport);
	print_case(&cases[C_PRIV_SHIM], (int)rounds);
	if (ab.usable) {
		print_case(&cases[C_PRIV_AUTHBIND], (int)rounds);
		print_ratio("shim/authbind", &cases[C_PRIV_SHIM], &cases[C_PRIV_AUTHBIND], (int)rounds);
	} else {
		printf("   authbind: %s\n", ab.why);
	}
	printf("2. bind the shim does not intercept: socket + SO_REUSEADDR + bind(127.0.0.1:0) + close\n");
	print_case(&cases[C_BIND_NONE], (int)rounds);
	print_case(&cases[C_BIND_SHIM], (int)rounds);
	printf("   target (shim loaded within %.2fx of none): %s\n",
	       TARGET, print_ratio("shim/none", &cases[C_BIND_SHIM], &cases[C_BIND_NONE], (int)rounds) <= TARGET ?
	       "met" : "missed");
	printf("3. connect the shim does not intercept: socket + connect(127.0.0.1:%u) + SO_LINGER 0 + close\n",
	       (unsigned)e.cport);
	print_case(&cases[C_CONN_NONE], (int)rounds);
	print_case(&cases[C_CONN_SHIM], (int)rounds);
	printf("   target (shim loaded within %.2fx of none): %s\n",
	       TARGET, print_ratio("shim/none", &cases[C_CONN_SHIM], &cases[C_CONN_NONE], (int)rounds) <= TARGET ?
	       "met" : "missed");
	printf("4. intercepted connect: the same, SOCKBROKER_CONNECT=1, against case 3's direct one\n");
	print_case(&cases[C_CONN_NONE], (int)rounds);
	print_case(&cases[C_CONN_THROUGH], (int)rounds);
	print_ratio("intercepted/direct", &cases[C_CONN_THROUGH], &cases[C_CONN_NONE], (int)rounds);
	if (cases[C_CONN_THROUGH].conns == 0)
		printf("   NOTE: no connect reached the daemon: this shim does not intercept connect() (none in\n"
		       "   this build), so case 4 measured a direct connect with the shim loaded\n");
	if (cases[C_PRIV_SHIM].conns < (unsigned long long)cases[C_PRIV_SHIM].ops)
		printf("   WARNING: case 1's shim made fewer daemon connections than binds\n");
	if (cases[C_BIND_SHIM].conns || cases[C_CONN_SHIM].conns)
		printf("   WARNING: a case the shim should not intercept reached the daemon\n");
	printf("   (conns/op: daemon connections accepted during a case's runs per operation made,\n"
	       "   warm-up included: 1 for an intercepted call, 0 when the shim only calls through)\n");
	return rc;
}
