/* Integration: the policy (issue 4) through the real daemon. Decisions at
 * each of the kernel's check points, a denied request leaving nothing behind
 * (no handle, no descriptor, no half-made socket), host pinning, resolve
 * rules, ungoverned methods, daemon.whoami, the policy's limits (each reached
 * and recovered, other users served throughout), match variants, the audit
 * trail, loading errors with their positions, --check-policy, and reloads.
 *
 * Policies grant the test's own uid, so the suite runs as root (CI) and as
 * any other user. Parts that need a second user fork a child that drops to
 * nobody (65534); without root they print "SKIP: ..." — under CI=true a
 * missing root is a failure, never a skip. No sleeps: every wait is on a
 * reply, an sd_notify datagram, a process exit or a socket event. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "harness.h"

#define NOBODY 65534
#define DENIED -32010
#define LIMIT -32012

/* ---- JSON-RPC (replies are held until the teardown's hx_release_all) ---- */

static void limit_reached(json_object *data, const char *limit, long long max)
{
	ck_assert_msg(jpath_str(data, "limit") && strcmp(jpath_str(data, "limit"), limit) == 0,
	              "want limit \"%s\": %s", limit, json_object_to_json_string(data));
	ck_assert_msg(jpath_int(data, "max", -1) == max, "want max %lld: %s", max, json_object_to_json_string(data));
}

static long long create(struct tconn *t, const char *family, const char *type)
{
	long long h = hx_new_handle(t, hx_fmt("{\"family\":\"%s\",\"type\":\"%s\"}", family, type));

	ck_assert_int_gt(h, 0);
	return h;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The caller's handles, as "1,3,4" in ascending order. */
static const char *handles(struct tconn *t)
{
	long long h[64];
	char buf[1024] = "";
	size_t o = 0, n = hx_list_handles(t, h, 64);

	qsort(h, n, sizeof(h[0]), cmp_ll);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%lld", i ? "," : "", h[i]);
	return hx_fmt("%s", buf);
}


static const char *str_array(json_object *a)
{
	char buf[2048] = "";
	size_t o = 0;

	ck_assert_msg(a && json_object_is_type(a, json_type_array), "not an array: %s",
	              a ? json_object_to_json_string(a) : "(none)");
	for (size_t i = 0; i < json_object_array_length(a) && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "|" : "",
		                      json_object_get_string(json_object_array_get_idx(a, i)));
	return hx_fmt("%s", buf);
}

/* ---- policy files in a directory of the test's own ---- */

struct pdir {
	char path[64];
};

static void pdir_new(struct pdir *p)
{
	/* A child dropped to nobody may have to read the audit log's directory. */
	hx_private_dir(p->path, sizeof(p->path), "sbpolicy", 0755);
}

static void pdir_remove(struct pdir *p)
{
	DIR *dp = opendir(p->path);
	struct dirent *e;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ck_assert_int_eq(unlinkat(dirfd(dp), e->d_name, 0), 0);
	}
	closedir(dp);
	ck_assert_int_eq(rmdir(p->path), 0);
}

/* Writes name in the directory, whole (a temporary file renamed over it, so
 * a reload never reads half a file); returns its path. */
static const char *pfile(const struct pdir *p, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *pfile(const struct pdir *p, const char *name, const char *fmt, ...)
{
	const char *path = hx_fmt("%s/%s", p->path, name), *tmp = hx_fmt("%s/.%s.tmp", p->path, name);
	va_list ap;
	FILE *f = fopen(tmp, "w");

	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	ck_assert_int_ge(vfprintf(f, fmt, ap), 0);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(tmp, 0644), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	return path;
}

static void start_with(struct sbd *d, const char *policy, const char *audit)
{
	const char *args[6];
	int n = 0;

	args[n++] = "--policy";
	args[n++] = policy;
	if (audit) {
		args[n++] = "--audit-log";
		args[n++] = audit;
	}
	args[n] = NULL;
	hx_start(d, args);
}

/* ---- the fixture: a policy directory, and a daemon once the test starts it ----
 * policy_setup makes the test's policy directory P; the test writes its
 * policy there and starts D with policy_start, which takes D's baseline
 * of descriptors. The teardown (reached only when the test passed) checks
 * that D serves a fresh client with its descriptors back at that baseline,
 * stops D (it must exit 0) and removes P. */

static struct pdir P;
static struct sbd D;
static int base = -1;

static void policy_setup(void)
{
	pdir_new(&P);
	base = -1;
}

static void policy_start(const char *policy, const char *audit)
{
	start_with(&D, policy, audit);
	base = hx_baseline_fds(&D);
}

static void policy_teardown(void)
{
	if (base >= 0) {
		hx_check_recovered(&D, base);
		hx_stop(&D);
	}
	pdir_remove(&P);
	hx_release_all();
}

/* ---- sockets of the test process ---- */

static int inet_sock(int type, const char *ip, int port, int *bound_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s:%d: %s", ip, port, strerror(errno));
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 16), 0);
	if (bound_port)
		*bound_port = hx_fd_port(fd);
	return fd;
}

static int tcp_listener(int *port)
{
	return inet_sock(SOCK_STREAM, "127.0.0.1", 0, port);
}

/* Whether a connection waits on listener lfd, waiting at most ms; accepts and
 * closes it. */
static bool accepted(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int c;

	if (poll(&p, 1, ms) <= 0)
		return false;
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0)
		return false;
	close(c);
	return true;
}

/* A direct connect() from the test to ip:port: 0 or the errno. */
static int direct_connect(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	r = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : errno;
	close(fd);
	return r;
}


/* ---- the daemon's log and the audit file ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n = 0, cap = 65536;

	if (!f)
		return hx_hold_mem(strdup(""));
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	for (size_t r; (r = fread(buf + n, 1, cap - 1 - n, f)) > 0;) {
		n += r;
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap *= 2);
			ck_assert_ptr_nonnull(nb);
			buf = nb;
		}
	}
	fclose(f);
	buf[n] = '\0';
	return hx_hold_mem(buf);
}

/* The audit file's records, parsed (each line must be one JSON object). */
static json_object *audit_records(const char *path)
{
	char *text = slurp(path), *save = NULL;
	json_object *arr = hx_hold(json_object_new_array());

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *j = json_tokener_parse(line);
		ck_assert_msg(j && json_object_is_type(j, json_type_object), "audit line is not a JSON object: %s", line);
		json_object_array_add(arr, j);
	}
	return arr;
}

/* ---- root-only parts: a child that is another user ---- */


typedef void (*child_body)(const struct sbd *d, void *arg);

/* Runs body in a child that is uid/gid with the given supplementary groups,
 * and waits for it: the test fails with the child's message if it fails. */
static void as_user(const struct sbd *d, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
                    child_body body, void *arg)
{
	int report[2], st;
	char msg[1024];
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(report[0]);
		hx_child_report_fd = report[1];
		if (setgroups(ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			hx_child_fail("cannot become uid %u gid %u: %s", (unsigned)uid, (unsigned)gid, strerror(errno));
		if (getuid() != uid || geteuid() != uid || getgid() != gid)
			hx_child_fail("still uid %u", (unsigned)geteuid());
		body(d, arg);
		_exit(0);
	}
	close(report[1]);
	n = read(report[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(report[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the uid %u child failed (status %d): %s",
	              (unsigned)uid, st, msg);
}

static void as_nobody(const struct sbd *d, child_body body, void *arg)
{
	as_user(d, NOBODY, NOBODY, NULL, 0, body, arg);
}

/* ---- identity of this process, as the kernel would tell the daemon ---- */

static const char *self_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return hx_fmt("%s", buf);
}

/* The path of the "0::" line of /proc/self/cgroup (cgroup v2), or NULL. */
static const char *self_cgroup(void)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[4096];
	const char *found = NULL;

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			found = hx_fmt("%s", line + 3);
		}
	}
	fclose(f);
	return found;
}

/* A gid this process is not in (neither primary nor supplementary). */
static gid_t foreign_gid(void)
{
	gid_t g[NGROUPS_MAX + 1];
	int n = getgroups(NGROUPS_MAX, g);

	ck_assert_int_ge(n, 0);
	for (gid_t cand = 4243;; cand++) {
		bool mine = cand == getgid();
		for (int i = 0; i < n; i++)
			mine |= g[i] == cand;
		if (!mine)
			return cand;
	}
}

/* ==================================================================== 1 */

/* Everything the caller may or may not do in test 1: creates of AF_INET and
 * AF_UNIX stream/datagram sockets; bind on 127.0.0.1 and 127.0.0.2, port 0 or
 * 1024 and up; listen on 127.0.0.1 but not 127.0.0.2 (denied explicitly: a
 * bind grant may imply listen on what it binds); connect anywhere in 127/8
 * except the deny rule's ports (a TCP and a UDP one); adopt of AF_UNIX stream
 * sockets. No setsockopt rule. */
static const char *policy_checkpoints(const struct pdir *p, int deny_port, int deny_port_udp)
{
	return pfile(p, "policy.json",
	             "{\"version\": 1,\n"
	             " \"rules\": [\n"
	             "  {\"name\": \"checkpoints\", \"match\": {\"uid\": %u},\n"
	             "   \"allow\": [\n"
	             "    {\"action\": \"create\", \"family\": [\"AF_INET\", \"AF_UNIX\"], \"type\": [\"SOCK_STREAM\", \"SOCK_DGRAM\"]},\n"
	             "    {\"action\": \"bind\", \"family\": \"AF_INET\", \"type\": [\"SOCK_STREAM\", \"SOCK_DGRAM\"],\n"
	             "     \"address\": [\"127.0.0.1/32\", \"127.0.0.2/32\"], \"port\": [0, \"1024-65535\"]},\n"
	             "    {\"action\": \"listen\", \"family\": \"AF_INET\", \"address\": \"127.0.0.1\", \"port\": [0, \"1024-65535\"]},\n"
	             "    {\"action\": \"connect\", \"family\": \"AF_INET\", \"type\": [\"SOCK_STREAM\", \"SOCK_DGRAM\"], \"address\": \"127.0.0.0/8\"},\n"
	             "    {\"action\": \"adopt\", \"family\": \"AF_UNIX\", \"type\": \"SOCK_STREAM\"}\n"
	             "   ],\n"
	             "   \"deny\": [ {\"action\": \"connect\", \"port\": [%d, %d]},\n"
	             "             {\"action\": \"listen\", \"address\": \"127.0.0.2\"} ]}\n"
	             " ]}\n",
	             (unsigned)getuid(), deny_port, deny_port_udp);
}

/* A denied request on t left the handles and the daemon's descriptors as
 * they were. */
struct before {
	const char *handles;
	int fds;
};

static struct before snapshot(const struct sbd *d, struct tconn *t)
{
	struct before b;

	b.handles = handles(t);
	b.fds = sbd_fd_count(d);
	ck_assert_int_gt(b.fds, 0);
	return b;
}

static void unchanged(const struct sbd *d, struct tconn *t, struct before b, const char *what)
{
	const char *now = handles(t);
	int fds = sbd_fd_count(d);

	ck_assert_msg(strcmp(now, b.handles) == 0, "%s: handles were [%s], now [%s]", what, b.handles, now);
	ck_assert_msg(fds == b.fds, "%s: the daemon had %d descriptors, now %d", what, b.fds, fds);
}

START_TEST(checkpoints)
{
	struct tconn c;
	struct before b;
	json_object *r;
	int l_ok, l_deny, u_ok, u_deny, p_ok, p_deny, pu_ok, pu_deny, port, sv[2];
	long long h_listen, h_other, h_conn, h_conn2, h_udp, h;
	char buf[16];

	/* The test's own endpoints: for TCP and UDP, one the policy lets the
	 * daemon reach, one on a port of the deny rule. */
	l_ok = tcp_listener(&p_ok);
	l_deny = tcp_listener(&p_deny);
	u_ok = inet_sock(SOCK_DGRAM, "127.0.0.1", 0, &pu_ok);
	u_deny = inet_sock(SOCK_DGRAM, "127.0.0.1", 0, &pu_deny);
	policy_start(policy_checkpoints(&P, p_deny, pu_deny), NULL);
	hx_open_conn(&c, &D);

	/* create: family and type. */
	h_listen = create(&c, "AF_INET", "SOCK_STREAM");
	b = snapshot(&D, &c);
	hx_denied(&c, NULL, "no rule allows create of AF_INET6", "socket.create", "{\"family\":\"AF_INET6\"}");
	unchanged(&D, &c, b, "create AF_INET6");
	hx_denied(&c, NULL, "no rule allows create of AF_INET SOCK_RAW", "socket.create",
	       "{\"family\":\"AF_INET\",\"type\":\"SOCK_RAW\",\"proto\":\"IPPROTO_ICMP\"}");
	unchanged(&D, &c, b, "create SOCK_RAW");
	hx_denied(&c, NULL, NULL, "socket.pair", "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_SEQPACKET\"}");
	unchanged(&D, &c, b, "pair SOCK_SEQPACKET");

	/* bind: address and port. A denied bind binds nothing: the allowed one
	 * after it succeeds (a bound socket could not be bound again). */
	hx_denied(&c, NULL, "no rule allows bind", "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",80]}",
	       h_listen);
	unchanged(&D, &c, b, "bind port 80");
	hx_denied(&c, NULL, NULL, "socket.bind", "{\"handle\":%lld,\"address\":[\"0.0.0.0\",0]}", h_listen);
	unchanged(&D, &c, b, "bind 0.0.0.0");
	hx_ok(&c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", h_listen);

	/* listen: judged by the bound address. Unbound, the socket would listen
	 * on 0.0.0.0, which nothing grants. */
	h_other = create(&c, "AF_INET", "SOCK_STREAM");
	b = snapshot(&D, &c);
	hx_denied(&c, NULL, "no rule allows listen", "socket.listen", "{\"handle\":%lld}", h_other);
	unchanged(&D, &c, b, "listen unbound");
	hx_ok(&c, "socket.close", "{\"handle\":%lld}", h_other);
	hx_ok(&c, "socket.listen", "{\"handle\":%lld}", h_listen);
	ck_assert_int_eq(direct_connect("127.0.0.1", hx_listed_port(&c, h_listen)), 0);
	h_other = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.2\",0]}", h_other);
	port = hx_listed_port(&c, h_other);
	b = snapshot(&D, &c);
	hx_denied(&c, "checkpoints", "denies listen", "socket.listen", "{\"handle\":%lld}", h_other);
	unchanged(&D, &c, b, "listen on 127.0.0.2");
	/* Not listening: the kernel refuses a connection to it. */
	ck_assert_int_eq(direct_connect("127.0.0.2", port), ECONNREFUSED);

	/* connect: an allowed port, and the deny rule's port (deny beats the
	 * allow of 127/8). */
	h_conn = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h_conn, p_ok);
	ck_assert_msg(accepted(l_ok, hx_timeout_ms), "the allowed connect did not arrive");
	h_conn2 = create(&c, "AF_INET", "SOCK_STREAM");
	b = snapshot(&D, &c);
	hx_denied(&c, "checkpoints", "denies connect", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}",
	       h_conn2, p_deny);
	unchanged(&D, &c, b, "connect to the denied port");
	hx_denied(&c, "checkpoints", NULL, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}",
	       h_conn2, p_deny);
	unchanged(&D, &c, b, "connect_ex to the denied port");
	ck_assert_msg(!accepted(l_deny, 0), "a denied connect reached the listener");

	/* connect_to with a literal. */
	r = hx_ok(&c, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", p_ok);
	ck_assert_int_gt(jpath_int(r, "handle", -1), 0);
	ck_assert_msg(accepted(l_ok, hx_timeout_ms), "the allowed connect_to did not arrive");
	b = snapshot(&D, &c);
	hx_denied(&c, "checkpoints", NULL, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", p_deny);
	unchanged(&D, &c, b, "connect_to the denied port");
	/* An allowed destination with a source address the policy refuses. */
	hx_denied(&c, NULL, "no rule allows bind", "socket.connect_to",
	       "{\"address\":[\"127.0.0.1\",%d],\"source_address\":[\"127.0.0.1\",80]}", p_ok);
	unchanged(&D, &c, b, "connect_to from a denied source");
	ck_assert_msg(!accepted(l_deny, 0) && !accepted(l_ok, 0), "a denied connect_to reached a listener");

	/* sendto: the destination of a datagram. */
	h_udp = create(&c, "AF_INET", "SOCK_DGRAM");
	r = hx_ok(&c, "socket.sendto", "{\"handle\":%lld,\"text\":\"ok\",\"address\":[\"127.0.0.1\",%d]}", h_udp, pu_ok);
	ck_assert_int_eq(jpath_int(r, "sent", -1), 2);
	ck_assert_int_eq(recv(u_ok, buf, sizeof(buf), MSG_DONTWAIT), 2);
	ck_assert_int_eq(memcmp(buf, "ok", 2), 0);
	b = snapshot(&D, &c);
	hx_denied(&c, "checkpoints", NULL, "socket.sendto", "{\"handle\":%lld,\"text\":\"no\",\"address\":[\"127.0.0.1\",%d]}",
	       h_udp, pu_deny);
	unchanged(&D, &c, b, "sendto the denied port");
	/* Loopback delivers within sendto: had it been sent, it would be here. */
	ck_assert_int_eq(recv(u_deny, buf, sizeof(buf), MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);

	/* listen_on: bind and listen, both decided before a socket exists. */
	r = hx_ok(&c, "socket.listen_on", "{\"address\":[\"127.0.0.1\",0]}");
	ck_assert_int_eq(direct_connect("127.0.0.1", hx_result_local_port(r)), 0);
	b = snapshot(&D, &c);
	hx_denied(&c, "checkpoints", "denies listen", "socket.listen_on", "{\"address\":[\"127.0.0.2\",0]}");
	unchanged(&D, &c, b, "listen_on 127.0.0.2");
	hx_denied(&c, NULL, "no rule allows bind", "socket.listen_on", "{\"address\":[\"0.0.0.0\",0]}");
	unchanged(&D, &c, b, "listen_on 0.0.0.0");
	hx_denied(&c, NULL, NULL, "socket.listen_on", "{\"address\":[\"127.0.0.1\",80]}");
	unchanged(&D, &c, b, "listen_on port 80");

	/* adopt: an AF_UNIX stream socket is covered... */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	hx_send_fds(&c, "adopt1", "socket.adopt", "{\"fds\":1}", &sv[0], 1);
	h = hx_geti(hx_expect_ok(hx_await(&c, "adopt1"), "adopt"), "handle");
	ck_assert_int_gt(h, 0);
	close(sv[0]);
	hx_ok(&c, "socket.send", "{\"handle\":%lld,\"text\":\"hi\"}", h);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), 0), 2);
	close(sv[1]);
	/* ...a seqpacket one is not, and the daemon closes what it was sent: once
	 * the test closes its copy, the peer sees EOF at once. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	b = snapshot(&D, &c);
	hx_send_fds(&c, "adopt2", "socket.adopt", "{\"fds\":1}", &sv[0], 1);
	r = hx_await(&c, "adopt2");
	hx_check_error(r, DENIED, "\"adopt2\"");
	hx_check_denial(jpath(r, "error.data"), NULL, "no rule allows adopt of AF_UNIX SOCK_SEQPACKET");
	unchanged(&D, &c, b, "adopt of a seqpacket socket");
	close(sv[0]);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 0);
	close(sv[1]);

	/* setsockopt: a privileged option needs a rule; ordinary ones are not governed. */
	b = snapshot(&D, &c);
	hx_denied(&c, NULL, "no rule allows setsockopt", "socket.setsockopt",
	       "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_MARK\",\"value\":1}", h_conn);
	unchanged(&D, &c, b, "setsockopt SO_MARK");
	hx_ok(&c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":1}",
	   h_conn);
	r = hx_ok(&c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\"}", h_conn);
	ck_assert_msg(jpath_int(r, "value", -1) == 1 || json_object_get_boolean(jpath(r, "value")),
	              "SO_REUSEADDR not set: %s", json_object_to_json_string(r));

	tconn_close(&c);
	close(l_ok);
	close(l_deny);
	close(u_ok);
	close(u_deny);
}
END_TEST

/* With a setsockopt rule for SO_MARK the policy allows it; the kernel then
 * decides (EPERM without CAP_NET_ADMIN). Other privileged options stay denied. */
START_TEST(setsockopt_rule)
{
	struct tconn c;
	json_object *j;
	long long h;

	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"marks\", \"match\": {\"uid\": %u},\n"
	                 "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_INET\"},\n"
	                 "              {\"action\": \"setsockopt\", \"level\": \"SOL_SOCKET\", \"option\": \"SO_MARK\"} ]}\n"
	                 "]}\n",
	                 (unsigned)getuid()),
	           NULL);
	hx_open_conn(&c, &D);
	h = create(&c, "AF_INET", "SOCK_STREAM");
	j = hx_rpc(&c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_MARK\",\"value\":1}", h);
	ck_assert_msg(reply_error_code(j) != DENIED, "SO_MARK denied despite the rule: %s", json_object_to_json_string(j));
	if (reply_error_code(j) != 0) {
		/* Only the kernel may refuse now. */
		ck_assert_msg(reply_error_code(j) == -32000 && jpath_int(j, "error.data.errno", -1) == EPERM,
		              "want success or the kernel's EPERM: %s", json_object_to_json_string(j));
	} else {
		j = hx_ok(&c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_MARK\"}", h);
		ck_assert_int_eq(jpath_int(j, "value", -1), 1);
	}
	hx_denied(&c, NULL, "no rule allows setsockopt", "socket.setsockopt",
	       "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_RCVBUFFORCE\",\"value\":65536}", h);
	hx_ok(&c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\",\"value\":1}", h);
	tconn_close(&c);
}
END_TEST

/* nobody may create and bind AF_INET6 datagram sockets, and set no
 * privileged option. */
static const char *policy_anycast(const struct pdir *p)
{
	return pfile(p, "policy.json",
	             "{\"version\": 1,\n"
	             " \"rules\": [\n"
	             "  {\"name\": \"me\", \"match\": {\"uid\": %u}, \"allow\": [ {\"action\": \"admin\"} ]},\n"
	             "  {\"name\": \"nobody\", \"match\": {\"uid\": %u},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_INET6\", \"type\": \"SOCK_DGRAM\"},\n"
	             "              {\"action\": \"bind\", \"family\": \"AF_INET6\", \"type\": \"SOCK_DGRAM\",\n"
	             "               \"address\": \"::1\", \"port\": 0} ]}\n"
	             "]}\n",
	             (unsigned)getuid(), (unsigned)NOBODY);
}

#define ANYCAST_ADDR "fd00:99::5"
#define ANYCAST_HEX "fd000099000000000000000000000005"   /* as /proc/net/anycast6 spells it */

/* The anycast join, as nobody: refused by the policy before the kernel sees
 * it (the daemon's CAP_NET_ADMIN would have let it through); an ordinary
 * option on the same socket is set. */
static void nobody_anycast(const struct sbd *d, void *arg)
{
	struct ipv6_mreq mreq = { .ipv6mr_interface = 1 };   /* lo */
	char params[512], *b64;
	struct tconn t;
	json_object *j;
	long long h;

	(void)arg;
	if (inet_pton(AF_INET6, ANYCAST_ADDR, &mreq.ipv6mr_multiaddr) != 1 ||
	    !(b64 = b64_encode_alloc(&mreq, sizeof(mreq))))
		hx_child_fail("cannot build the ipv6_mreq");
	hx_child_open(&t, d);
	j = hx_child_call(&t, 0, "socket.create", "{\"family\":\"AF_INET6\",\"type\":\"SOCK_DGRAM\"}");
	h = jpath_int(j, "result.handle", -1);
	if (h < 0)
		hx_child_fail("no handle from socket.create");
	snprintf(params, sizeof(params), "{\"handle\":%lld,\"address\":[\"::1\",0]}", h);
	hx_child_call(&t, 0, "socket.bind", "%s", params);
	snprintf(params, sizeof(params),
	         "{\"handle\":%lld,\"level\":\"IPPROTO_IPV6\",\"option\":\"IPV6_JOIN_ANYCAST\",\"value\":{\"data\":\"%s\"}}",
	         h, b64);
	free(b64);
	j = hx_child_call(&t, DENIED, "socket.setsockopt", "%s", params);
	if (!strstr(json_object_to_json_string(j), "setsockopt"))
		hx_child_fail("the denial does not name the action: %s", json_object_to_json_string(j));
	snprintf(params, sizeof(params),
	         "{\"handle\":%lld,\"level\":\"IPPROTO_IPV6\",\"option\":\"IPV6_TCLASS\",\"value\":8}", h);
	hx_child_call(&t, 0, "socket.setsockopt", "%s", params);
	tconn_close(&t);
}

/* Whether the host holds the anycast address (32 hex digits). */
static bool anycast_joined(const char *hex)
{
	FILE *f = fopen("/proc/net/anycast6", "r");
	char line[256];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, hex) != NULL;
	fclose(f);
	return found;
}

/* IPV6_JOIN_ANYCAST needs CAP_NET_ADMIN in the kernel, so a setsockopt grant
 * in the policy: without one, nobody is refused (-32010). */
START_TEST(anycast_needs_setsockopt)
{

	if (!hx_need_root("IPV6_JOIN_ANYCAST refused to nobody"))
		return;
	policy_start(policy_anycast(&P), NULL);
	as_nobody(&D, nobody_anycast, NULL);
	ck_assert_msg(!anycast_joined(ANYCAST_HEX), ANYCAST_ADDR " was joined");
}
END_TEST

/* ==================================================================== 2 */

START_TEST(host_pinning)
{
	struct tconn c;
	struct before b;
	json_object *r;
	int l, port;
	long long h;

	l = tcp_listener(&port);
	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"pinned\", \"match\": {\"uid\": %u},\n"
	                 "   \"allow\": [ {\"action\": \"connect\", \"host\": \"localhost\", \"port\": %d},\n"
	                 "              {\"action\": \"create\", \"family\": [\"AF_INET\", \"AF_INET6\"], \"type\": \"SOCK_STREAM\"} ]}\n"
	                 "]}\n",
	                 (unsigned)getuid(), port),
	           NULL);
	hx_open_conn(&c, &D);

	/* By the granted name: the daemon resolves it and may connect. */
	r = hx_ok(&c, "socket.connect_to", "{\"address\":[\"localhost\",%d]}", port);
	ck_assert_int_gt(jpath_int(r, "handle", -1), 0);
	ck_assert_msg(accepted(l, hx_timeout_ms), "connect_to localhost did not arrive");
	/* The same address resolved by the client itself: the host rule does not cover it. */
	b = snapshot(&D, &c);
	hx_denied(&c, NULL, "no rule allows connect", "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", port);
	unchanged(&D, &c, b, "connect_to 127.0.0.1");
	/* The name on another port. */
	hx_denied(&c, NULL, "localhost", "socket.connect_to", "{\"address\":[\"localhost\",%d]}", port == 65535 ? 1 : port + 1);
	unchanged(&D, &c, b, "connect_to localhost on another port");
	ck_assert_msg(!accepted(l, 0), "a denied connect_to reached the listener");

	/* The same through socket.create + socket.connect. */
	h = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.connect", "{\"handle\":%lld,\"address\":[\"localhost\",%d]}", h, port);
	ck_assert_msg(accepted(l, hx_timeout_ms), "connect to localhost did not arrive");
	h = create(&c, "AF_INET", "SOCK_STREAM");
	b = snapshot(&D, &c);
	hx_denied(&c, NULL, "no rule allows connect", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h,
	       port);
	unchanged(&D, &c, b, "connect 127.0.0.1");
	ck_assert_msg(!accepted(l, 0), "a denied connect reached the listener");
	/* The socket is still unconnected and usable for the allowed name. */
	hx_ok(&c, "socket.connect", "{\"handle\":%lld,\"address\":[\"localhost\",%d]}", h, port);
	ck_assert_msg(accepted(l, hx_timeout_ms), "connect to localhost did not arrive");

	tconn_close(&c);
	close(l);
}
END_TEST

/* socket.connect's `resolved`: a client that resolved a name itself (the
 * preload shim, through net.getaddrinfo) connects to the address it chose
 * and still carries the name. Pinned when the daemon's own look-up of the
 * name gives that address; otherwise judged as the literal it is. */

/* policy.check of socket.connect for this process's uid: the result. */
static json_object *check_connect(struct tconn *c, const char *family, const char *host, int port,
                                  const char *resolved)
{
	return hx_ok(c, "policy.check",
	             "{\"as\":{\"uid\":%u},\"request\":{\"method\":\"socket.connect\",\"params\":"
	             "{\"family\":\"%s\",\"address\":[\"%s\",%d],\"resolved\":\"%s\"}}}",
	             (unsigned)getuid(), family, host, port, resolved);
}

/* The checks of a policy.check result: exactly one, a connect at want_addr
 * carrying host want_host (NULL: none). */
static void check_one_connect(json_object *r, bool allowed, const char *want_addr, int port, const char *want_host)
{
	const char *s = json_object_to_json_string(r);
	json_object *c;

	ck_assert_msg(json_object_get_boolean(jpath(r, "allowed")) == allowed, "allowed: %s", s);
	ck_assert_msg(json_object_array_length(jpath(r, "checks")) == 1, "one check: %s", s);
	c = json_object_array_get_idx(jpath(r, "checks"), 0);
	ck_assert_msg(!strcmp(hx_gets(c, "action"), "connect"), "action: %s", s);
	ck_assert_msg(!strcmp(hx_gets(c, "address.host"), want_addr) && hx_geti(c, "address.port") == port,
	              "address: %s", s);
	if (want_host)
		ck_assert_msg(jpath_str(c, "host") && !strcmp(jpath_str(c, "host"), want_host), "host: %s", s);
	else
		ck_assert_msg(!jpath(c, "host"), "no host for a literal: %s", s);
}

/* The audit records of connect decisions, in order. */
static json_object *connect_records(const char *audit)
{
	json_object *all = audit_records(audit), *out = hx_hold(json_object_new_array());

	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *o = json_object_array_get_idx(all, i);
		if (jpath_str(o, "action") && !strcmp(jpath_str(o, "action"), "connect"))
			json_object_array_add(out, json_object_get(o));
	}
	return out;
}

/* The last connect record: decision, address, and host (NULL: none). */
static void last_connect(const char *audit, const char *decision, const char *method, const char *addr,
                         const char *host)
{
	json_object *recs = connect_records(audit), *o;
	size_t n = json_object_array_length(recs);
	const char *s;

	ck_assert_msg(n > 0, "no connect record");
	o = json_object_array_get_idx(recs, n - 1);
	s = json_object_to_json_string(o);
	ck_assert_msg(!strcmp(hx_gets(o, "decision"), decision), "decision: %s", s);
	ck_assert_msg(!strcmp(hx_gets(o, "method"), method), "method: %s", s);
	ck_assert_msg(!strcmp(hx_gets(o, "address"), addr), "address: %s", s);
	if (host)
		ck_assert_msg(jpath_str(o, "host") && !strcmp(jpath_str(o, "host"), host), "host: %s", s);
	else
		ck_assert_msg(!jpath(o, "host"), "no host for a literal: %s", s);
}

/* The handle's peer is ip:port. */
static void peer_is(struct tconn *c, long long h, const char *ip, int port)
{
	json_object *r = hx_ok(c, "socket.getpeername", "{\"handle\":%lld}", h);

	ck_assert_msg(!strcmp(hx_gets(r, "address.host"), ip) && hx_geti(r, "address.port") == port, "peer: %s",
	              json_object_to_json_string(r));
}

START_TEST(host_pinning_resolved)
{
	struct tconn c;
	struct before b;
	json_object *r, *d;
	const char *audit;
	int l1, l3, port, other, fd, err = -1;
	socklen_t len = sizeof(err);
	struct sockaddr_in peer;
	long long h;

	l1 = tcp_listener(&port);
	l3 = inet_sock(SOCK_STREAM, "127.0.0.3", port, NULL);
	other = port == 65535 ? 1 : port + 1;
	audit = hx_fmt("%s/audit.jsonl", P.path);
	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"pinned\", \"match\": {\"uid\": %u},\n"
	                 "   \"allow\": [ {\"action\": \"connect\", \"host\": \"localhost\", \"port\": %d},\n"
	                 "              {\"action\": \"create\", \"family\": [\"AF_INET\", \"AF_INET6\", \"AF_UNIX\"],"
	                 "               \"type\": \"SOCK_STREAM\"},\n"
	                 "              {\"action\": \"admin\"} ]},\n"
	                 "  {\"name\": \"by address\", \"match\": {\"uid\": %u},\n"
	                 "   \"allow\": [ {\"action\": \"connect\", \"address\": \"127.0.0.3\", \"port\": %d} ]}\n"
	                 "]}\n",
	                 (unsigned)getuid(), port, (unsigned)getuid(), port),
	           audit);
	hx_open_conn(&c, &D);

	/* (1) localhost's own address: allowed by the host rule, connected there. */
	h = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.connect", "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.1\"}", h,
	      port);
	ck_assert_msg(accepted(l1, hx_timeout_ms), "connect to localhost at 127.0.0.1 did not arrive");
	peer_is(&c, h, "127.0.0.1", port);
	last_connect(audit, "allow", "socket.connect", "127.0.0.1", "localhost");
	/* And connect_ex (7): errno 0. */
	h = create(&c, "AF_INET", "SOCK_STREAM");
	r = hx_ok(&c, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.1\"}",
	          h, port);
	ck_assert_int_eq(hx_geti(r, "errno"), 0);
	ck_assert_msg(accepted(l1, hx_timeout_ms), "connect_ex to localhost at 127.0.0.1 did not arrive");
	peer_is(&c, h, "127.0.0.1", port);
	last_connect(audit, "allow", "socket.connect_ex", "127.0.0.1", "localhost");

	/* (2) An address localhost does not resolve to: a literal, which the
	 * host-only grant does not cover; nothing is left behind. */
	h = create(&c, "AF_INET", "SOCK_STREAM");
	b = snapshot(&D, &c);
	d = hx_denied(&c, NULL, "no rule allows connect", "socket.connect",
	              "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.2\"}", h, port);
	ck_assert_msg(!strstr(hx_gets(d, "reason"), "whatever it resolves to"), "%s", json_object_to_json_string(d));
	unchanged(&D, &c, b, "connect localhost resolved 127.0.0.2");
	last_connect(audit, "deny", "socket.connect", "127.0.0.2", NULL);
	hx_denied(&c, NULL, "no rule allows connect", "socket.connect_ex",
	          "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.2\"}", h, port);
	last_connect(audit, "deny", "socket.connect_ex", "127.0.0.2", NULL);
	/* A literal an address rule grants: allowed, as the literal it is. */
	hx_ok(&c, "socket.connect", "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.3\"}", h,
	      port);
	ck_assert_msg(accepted(l3, hx_timeout_ms), "connect to 127.0.0.3 did not arrive");
	peer_is(&c, h, "127.0.0.3", port);
	last_connect(audit, "allow", "socket.connect", "127.0.0.3", NULL);
	ck_assert_msg(!accepted(l1, 0), "a denied connect reached the listener");

	/* (3) A name that does not resolve: the literal, not a gai error. */
	h = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.connect", "{\"handle\":%lld,\"address\":[\"no-such-host.invalid\",%d],\"resolved\":\"127.0.0.3\"}",
	      h, port);
	ck_assert_msg(accepted(l3, hx_timeout_ms), "connect to 127.0.0.3 did not arrive");
	last_connect(audit, "allow", "socket.connect", "127.0.0.3", NULL);
	/* A name no rule could allow (no rule names port other): without
	 * `resolved` refused before any look-up; with it, the literal is
	 * judged, and denied for itself. */
	h = create(&c, "AF_INET", "SOCK_STREAM");
	hx_denied(&c, NULL, "whatever it resolves to", "socket.connect",
	          "{\"handle\":%lld,\"address\":[\"localhost\",%d]}", h, other);
	d = hx_denied(&c, NULL, "no rule allows connect", "socket.connect",
	              "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.1\"}", h, other);
	ck_assert_msg(!strstr(hx_gets(d, "reason"), "whatever it resolves to"), "%s", json_object_to_json_string(d));
	last_connect(audit, "deny", "socket.connect", "127.0.0.1", NULL);

	/* (4) Malformed: -32602 on "resolved". */
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d],\"resolved\":\"127.0.0.1\"}", h, port);
	hx_bad_param(&c, "resolved", "socket.connect_ex",
	             "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d],\"resolved\":\"127.0.0.1\"}", h, port);
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"localhost\"}", h, port);
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"::1\"}", h, port);
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"\"}", h, port);
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"<broadcast>\"}", h, port);
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":1}", h, port);
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.1\"}",
	             create(&c, "AF_INET6", "SOCK_STREAM"), port);
	hx_bad_param(&c, "resolved", "socket.connect",
	             "{\"handle\":%lld,\"address\":\"%s/nowhere\",\"resolved\":\"127.0.0.1\"}",
	             create(&c, "AF_UNIX", "SOCK_STREAM"), P.path);
	/* bind takes no `resolved`. */
	hx_bad_param(&c, "resolved", "socket.bind",
	             "{\"handle\":%lld,\"address\":[\"localhost\",0],\"resolved\":\"127.0.0.1\"}", h);
	/* An IPv4-mapped address on an AF_INET6 socket is an address of its
	 * family, though not one localhost resolves to for AF_INET6: a literal. */
	hx_denied(&c, NULL, "no rule allows connect", "socket.connect",
	          "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"::ffff:127.0.0.1\"}",
	          create(&c, "AF_INET6", "SOCK_STREAM"), port);
	ck_assert_msg(!accepted(l1, 0), "a refused connect reached the listener");

	/* (5) Timeout 0, as the preload shim does it: EINPROGRESS, then the
	 * detached descriptor completes the connection to the chosen address. */
	h = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.settimeout", "{\"handle\":%lld,\"timeout\":0}", h);
	hx_os_err(&c, "EINPROGRESS", "socket.connect",
	          "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.1\"}", h, port);
	last_connect(audit, "allow", "socket.connect", "127.0.0.1", "localhost");
	hx_ok(&c, "socket.detach", "{\"handle\":%lld}", h);
	fd = hx_take_fd(&c);
	hx_wait_fd(fd, POLLOUT);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
	len = sizeof(peer);
	ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
	ck_assert_int_eq(ntohs(peer.sin_port), port);
	ck_assert_uint_eq(ntohl(peer.sin_addr.s_addr), 0x7f000001u);
	ck_assert_msg(accepted(l1, hx_timeout_ms), "the detached connection did not arrive");
	close(fd);
	/* connect_ex on a SOCK_NONBLOCK socket: errno EINPROGRESS. */
	h = hx_new_handle(&c, hx_fmt("{\"family\":\"AF_INET\",\"type\":%d}", SOCK_STREAM | SOCK_NONBLOCK));
	ck_assert_int_gt(h, 0);
	r = hx_ok(&c, "socket.connect_ex", "{\"handle\":%lld,\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.1\"}",
	          h, port);
	ck_assert_int_eq(hx_geti(r, "errno"), EINPROGRESS);
	hx_ok(&c, "socket.detach", "{\"handle\":%lld}", h);
	fd = hx_take_fd(&c);
	hx_wait_fd(fd, POLLOUT);
	len = sizeof(err);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
	ck_assert_msg(accepted(l1, hx_timeout_ms), "the detached connection did not arrive");
	close(fd);

	/* (6) policy.check decides alike. */
	check_one_connect(check_connect(&c, "AF_INET", "localhost", port, "127.0.0.1"), true, "127.0.0.1", port,
	                  "localhost");
	check_one_connect(check_connect(&c, "AF_INET", "localhost", port, "127.0.0.2"), false, "127.0.0.2", port, NULL);
	check_one_connect(check_connect(&c, "AF_INET", "localhost", port, "127.0.0.3"), true, "127.0.0.3", port, NULL);
	check_one_connect(check_connect(&c, "AF_INET", "no-such-host.invalid", port, "127.0.0.3"), true, "127.0.0.3",
	                  port, NULL);
	check_one_connect(check_connect(&c, "AF_INET", "localhost", other, "127.0.0.1"), false, "127.0.0.1", other,
	                  NULL);
	hx_bad_param(&c, "request.params.resolved", "policy.check",
	             "{\"as\":{\"uid\":%u},\"request\":{\"method\":\"socket.connect_ex\",\"params\":"
	             "{\"family\":\"AF_INET\",\"address\":[\"127.0.0.1\",%d],\"resolved\":\"127.0.0.1\"}}}",
	             (unsigned)getuid(), port);
	hx_bad_param(&c, "request.params.resolved", "policy.check",
	             "{\"as\":{\"uid\":%u},\"request\":{\"method\":\"socket.connect\",\"params\":"
	             "{\"family\":\"AF_INET6\",\"address\":[\"localhost\",%d],\"resolved\":\"127.0.0.1\"}}}",
	             (unsigned)getuid(), port);

	tconn_close(&c);
	close(l1);
	close(l3);
}
END_TEST

/* ==================================================================== 3 */

START_TEST(resolve_host_rule)
{
	struct tconn c;
	json_object *r;
	long long t0;

	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"local names\", \"match\": {\"uid\": %u},\n"
	                 "   \"allow\": [ {\"action\": \"resolve\", \"host\": \"localhost\"} ]}\n"
	                 "]}\n",
	                 (unsigned)getuid()),
	           NULL);
	hx_open_conn(&c, &D);
	r = hx_ok(&c, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80,\"type\":\"SOCK_STREAM\"}");
	ck_assert_int_gt(json_object_array_length(jpath(r, "results")), 0);
	/* Denied before any look-up. */
	t0 = hx_mono_ms();
	hx_denied(&c, NULL, "example.invalid", "net.getaddrinfo", "{\"host\":\"example.invalid\",\"port\":80}");
	ck_assert_msg(hx_mono_ms() - t0 < 2000, "the denial took %lld ms", hx_mono_ms() - t0);
	/* A look-up without a name is not covered by a host selector. */
	hx_denied(&c, NULL, "no rule allows resolve", "net.getservbyname", "{\"name\":\"http\"}");
	tconn_close(&c);
}
END_TEST

START_TEST(resolve_plain_rule)
{
	struct tconn c;
	json_object *j;

	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"look-ups\", \"match\": {\"uid\": %u}, \"allow\": [ {\"action\": \"resolve\"} ]}\n"
	                 "]}\n",
	                 (unsigned)getuid()),
	           NULL);
	hx_open_conn(&c, &D);
	j = hx_rpc(&c, "net.getservbyname", "{\"name\":\"http\",\"proto\":\"tcp\"}");
	ck_assert_msg(reply_error_code(j) != DENIED, "denied: %s", json_object_to_json_string(j));
	if (access("/etc/services", R_OK) == 0)
		ck_assert_msg(jpath_int(j, "result.port", -1) == 80, "getservbyname http: %s", json_object_to_json_string(j));
	hx_ok(&c, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":80}");
	tconn_close(&c);
}
END_TEST

/* ==================================================================== 4 */

START_TEST(ungoverned_needs_a_rule)
{
	struct tconn c;
	json_object *r;
	unsigned other = getuid() == 4242 ? 4243 : 4242;

	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"someone else\", \"match\": {\"uid\": %u}, \"allow\": [ {\"action\": \"create\"} ]}\n"
	                 "]}\n",
	                 other),
	           NULL);
	hx_open_conn(&c, &D);
	hx_denied(&c, NULL, hx_fmt("no rule of the policy matches uid %u", (unsigned)getuid()), "socket.list", "{}");
	hx_denied(&c, NULL, "no rule of the policy matches", "net.getdefaulttimeout", NULL);
	hx_denied(&c, NULL, "no rule of the policy matches", "net.setdefaulttimeout", "{\"timeout\":1}");
	hx_denied(&c, NULL, "no rule allows create", "socket.create", "{}");
	/* Introspection stays open. */
	r = hx_ok(&c, "daemon.info", NULL);
	ck_assert_int_eq(jpath_int(r, "protocol", -1), 1);
	r = hx_ok(&c, "rpc.discover", NULL);
	ck_assert_int_gt(json_object_array_length(jpath(r, "methods")), 10);
	r = hx_ok(&c, "daemon.ping", NULL);
	ck_assert(json_object_get_boolean(jpath(r, "pong")));
	r = hx_ok(&c, "daemon.whoami", NULL);
	ck_assert_int_eq(jpath_int(r, "uid", -1), getuid());
	ck_assert_str_eq(str_array(jpath(r, "rules")), "");
	tconn_close(&c);
}
END_TEST

START_TEST(whoami_lists_matching_rules)
{
	struct tconn c;
	json_object *r;
	unsigned other = getuid() == 4242 ? 4243 : 4242;

	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"mine\", \"match\": {\"uid\": %u}, \"allow\": [ {\"action\": \"resolve\"} ]},\n"
	                 "  {\"name\": \"not mine\", \"match\": {\"uid\": %u}, \"allow\": [ {\"action\": \"create\"} ]},\n"
	                 "  {\"name\": \"everyone\", \"match\": {}, \"limits\": {\"handles\": 100}},\n"
	                 "  {\"name\": \"mine again\", \"match\": {\"uid\": [%u, %u]}, \"deny\": [ {\"action\": \"sethostname\"} ]}\n"
	                 "]}\n",
	                 (unsigned)getuid(), other, other, (unsigned)getuid()),
	           NULL);
	hx_open_conn(&c, &D);
	r = hx_ok(&c, "daemon.whoami", NULL);
	ck_assert_str_eq(str_array(jpath(r, "rules")), "mine|everyone|mine again");
	ck_assert_int_eq(jpath_int(r, "limits.handles", -1), 100);
	/* Ungoverned methods now work. */
	ck_assert_str_eq(handles(&c), "");
	hx_ok(&c, "net.getdefaulttimeout", NULL);
	tconn_close(&c);
}
END_TEST

/* ==================================================================== 5 */

START_TEST(whoami_identity)
{
	struct tconn c;
	json_object *r, *groups;
	gid_t g[NGROUPS_MAX + 1];
	const char *cg = self_cgroup();
	int n;

	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1,\n"
	                 " \"limits\": {\"handles\": 7, \"pending\": 5, \"connections\": 9},\n"
	                 " \"rules\": [\n"
	                 "  {\"name\": \"me\", \"match\": {\"uid\": %u}, \"allow\": [ {\"action\": \"resolve\"} ],\n"
	                 "   \"limits\": {\"handles\": 11}}\n"
	                 "]}\n",
	                 (unsigned)getuid()),
	           NULL);
	hx_open_conn(&c, &D);
	r = hx_ok(&c, "daemon.whoami", NULL);
	ck_assert_int_eq(jpath_int(r, "uid", -1), getuid());
	ck_assert_int_eq(jpath_int(r, "gid", -1), getgid());
	ck_assert_int_eq(jpath_int(r, "pid", -1), getpid());
	ck_assert_msg(json_object_get_boolean(jpath(r, "pidfd")), "no pidfd: %s", json_object_to_json_string(r));
	/* The supplementary groups, as a set. */
	n = getgroups(NGROUPS_MAX, g);
	ck_assert_int_ge(n, 0);
	groups = jpath(r, "groups");
	ck_assert_ptr_nonnull(groups);
	ck_assert_int_eq((int)json_object_array_length(groups), n);
	for (int i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < json_object_array_length(groups); k++)
			found |= json_object_get_int64(json_object_array_get_idx(groups, k)) == g[i];
		ck_assert_msg(found, "group %u missing: %s", (unsigned)g[i], json_object_to_json_string(r));
	}
	ck_assert_msg(jpath_str(r, "exe") && strcmp(jpath_str(r, "exe"), self_exe()) == 0, "exe: want %s: %s",
	              self_exe(), json_object_to_json_string(r));
	if (cg)
		ck_assert_msg(jpath_str(r, "cgroup") && strcmp(jpath_str(r, "cgroup"), cg) == 0, "cgroup: want %s: %s", cg,
		              json_object_to_json_string(r));
	else
		printf("SKIP: whoami cgroup: this system has no cgroup v2 line in /proc/self/cgroup\n");
	ck_assert_msg(jpath(r, "identity_error") == NULL, "identity error: %s", json_object_to_json_string(r));
	/* Limits: the top level, the rule's handles over it. */
	ck_assert_int_eq(jpath_int(r, "limits.handles", -1), 11);
	ck_assert_int_eq(jpath_int(r, "limits.pending", -1), 5);
	ck_assert_int_eq(jpath_int(r, "limits.connections", -1), 9);
	ck_assert_str_eq(str_array(jpath(r, "rules")), "me");
	tconn_close(&c);
}
END_TEST

/* ==================================================================== 6 */

/* Top level: handles 2, pending 1, connections 2. The test's uid: pending
 * raised to 2. nobody: creates, with the top-level limits. */
static const char *policy_limits(const struct pdir *p)
{
	return pfile(p, "policy.json",
	             "{\"version\": 1,\n"
	             " \"limits\": {\"handles\": 2, \"pending\": 1, \"connections\": 2},\n"
	             " \"rules\": [\n"
	             "  {\"name\": \"me\", \"match\": {\"uid\": %u},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": [\"AF_INET\", \"AF_UNIX\"]} ],\n"
	             "   \"limits\": {\"pending\": 2}},\n"
	             "  {\"name\": \"nobody\", \"match\": {\"uid\": %u},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_INET\"} ]}\n"
	             "]}\n",
	             (unsigned)getuid(), (unsigned)NOBODY);
}

/* nobody, while the test's uid is at its handle limit: its own two handles,
 * then its own refusal. */
static void nobody_handles(const struct sbd *d, void *arg)
{
	struct tconn t;
	json_object *j;

	hx_child_open(&t, d);
	hx_child_call(&t, 0, "daemon.info", NULL);
	j = hx_child_call(&t, 0, "daemon.whoami", NULL);
	if (jpath_int(j, "result.limits.handles", -1) != 2 || jpath_int(j, "result.limits.pending", -1) != 1)
		hx_child_fail("nobody's limits: %s", json_object_to_json_string(j));
	hx_child_call(&t, 0, "socket.create", "{}");
	hx_child_call(&t, 0, "socket.create", "{}");
	j = hx_child_call(&t, LIMIT, "socket.create", "{}");
	if (!jpath_str(j, "error.data.limit") || strcmp(jpath_str(j, "error.data.limit"), "handles") ||
	    jpath_int(j, "error.data.max", -1) != 2)
		hx_child_fail("nobody's third handle: %s", json_object_to_json_string(j));
	tconn_close(&t);
}

START_TEST(limit_handles)
{
	struct tconn c1, c2;
	json_object *r;
	long long h1, h2;

	policy_start(policy_limits(&P), NULL);
	hx_open_conn(&c1, &D);
	/* The baseline's connection is gone before a second one counts. */
	hx_wait_connections(&c1, 1);
	r = hx_ok(&c1, "daemon.whoami", NULL);
	ck_assert_int_eq(jpath_int(r, "limits.handles", -1), 2);
	ck_assert_int_eq(jpath_int(r, "limits.pending", -1), 2);
	ck_assert_int_eq(jpath_int(r, "limits.connections", -1), 2);
	h1 = create(&c1, "AF_INET", "SOCK_STREAM");
	h2 = create(&c1, "AF_INET", "SOCK_DGRAM");
	limit_reached(hx_err_data(&c1, LIMIT, "socket.create", "{}"), "handles", 2);
	ck_assert_str_eq(handles(&c1), hx_fmt("%lld,%lld", h1, h2));
	/* Per connection: another connection of the same user has its own two. */
	hx_open_conn(&c2, &D);
	create(&c2, "AF_INET", "SOCK_STREAM");
	create(&c2, "AF_INET", "SOCK_STREAM");
	limit_reached(hx_err_data(&c2, LIMIT, "socket.create", "{}"), "handles", 2);
	/* Another user is served throughout. */
	if (hx_need_root("another user served while a handle limit is reached"))
		as_nobody(&D, nobody_handles, NULL);
	/* Below the limit again: served. */
	hx_ok(&c1, "socket.close", "{\"handle\":%lld}", h1);
	create(&c1, "AF_INET", "SOCK_STREAM");
	limit_reached(hx_err_data(&c1, LIMIT, "socket.create", "{}"), "handles", 2);
	/* At most one closing connection when the recovery check connects. */
	tconn_close(&c1);
	hx_wait_connections(&c2, 1);
	tconn_close(&c2);
}
END_TEST

static void nobody_pending(const struct sbd *d, void *arg)
{
	struct tconn t;
	json_object *j;

	hx_child_open(&t, d);
	j = hx_child_call(&t, 0, "daemon.whoami", NULL);
	if (jpath_int(j, "result.limits.pending", -1) != 1)
		hx_child_fail("nobody's pending limit: %s", json_object_to_json_string(j));
	hx_child_call(&t, 0, "daemon.info", NULL);
	hx_child_call(&t, 0, "socket.create", "{}");
	tconn_close(&t);
}

START_TEST(limit_pending)
{
	/* Two recvs park on one end of a pair until the test writes to the other
	 * end, which it holds as a descriptor (socket.fd): the hold ends on an
	 * event of the test's, not on a clock. */
	static const char two_recvs[] =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"socket.recv\",\"params\":{\"handle\":%lld,\"bufsize\":1},\"id\":\"p1\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"socket.recv\",\"params\":{\"handle\":%lld,\"bufsize\":1},\"id\":\"p2\"}\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"p3\"}\n";
	struct tconn c, other;
	json_object *j, *pair;
	const char *line;
	bool seen1 = false, seen2 = false;
	long long ha, hb;
	int bfd;

	policy_start(policy_limits(&P), NULL);
	hx_open_conn(&c, &D);
	hx_wait_connections(&c, 1);
	ck_assert_int_eq(jpath_int(hx_ok(&c, "daemon.whoami", NULL), "limits.pending", -1), 2);
	pair = jpath(hx_ok(&c, "socket.pair", "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_STREAM\"}"), "handles");
	ha = json_object_get_int64(json_object_array_get_idx(pair, 0));
	hb = json_object_get_int64(json_object_array_get_idx(pair, 1));
	hx_ok(&c, "socket.fd", "{\"handle\":%lld}", hb);
	ck_assert_int_eq(c.nfds, 1);
	bfd = c.fds[--c.nfds];
	line = hx_fmt(two_recvs, ha, ha);
	ck_assert_int_eq(tconn_write(&c, line, strlen(line)), 0);
	/* Two parked: the third is refused at once, before either recv ends. */
	j = hx_hold(hx_recv_json(&c));
	hx_check_error(j, LIMIT, "\"p3\"");
	limit_reached(jpath(j, "error.data"), "pending", 2);
	limit_reached(hx_err_data(&c, LIMIT, "socket.create", "{}"), "pending", 2);
	/* Another connection of the same user is served meanwhile... */
	hx_open_conn(&other, &D);
	hx_info_ok(&other);
	create(&other, "AF_INET", "SOCK_STREAM");
	tconn_close(&other);
	/* ...and so is another user. */
	if (hx_need_root("another user served while a pending limit is reached"))
		as_nobody(&D, nobody_pending, NULL);
	{
		/* All of that happened while the recvs were still parked. */
		struct pollfd pf = { .fd = c.fd, .events = POLLIN };
		ck_assert_msg(poll(&pf, 1, 0) == 0, "a parked recv was answered before the test wrote");
	}
	ck_assert_int_eq(write(bfd, "xy", 2), 2);
	for (int i = 0; i < 2; i++) {
		const char *id;
		j = hx_hold(hx_recv_json(&c));
		id = jpath_str(j, "id");
		ck_assert_msg(id && jpath_str(j, "result.data"), "want a recv's data: %s", json_object_to_json_string(j));
		seen1 |= strcmp(id, "p1") == 0;
		seen2 |= strcmp(id, "p2") == 0;
	}
	ck_assert(seen1 && seen2);
	close(bfd);
	/* Below the limit: served again. */
	hx_info_ok(&c);
	hx_ok(&c, "socket.close", "{\"handle\":%lld}", hb);
	create(&c, "AF_INET", "SOCK_STREAM");
	hx_wait_connections(&c, 1);
	tconn_close(&c);
}
END_TEST

static void nobody_connections(const struct sbd *d, void *arg)
{
	struct tconn t[2], extra;
	json_object *j;

	for (int i = 0; i < 2; i++) {
		hx_child_open(&t[i], d);
		hx_child_call(&t[i], 0, "daemon.info", NULL);
		hx_child_call(&t[i], 0, "socket.create", "{}");
	}
	hx_child_open(&extra, d);
	j = tconn_recv_json(&extra, hx_timeout_ms);
	if (!j || reply_error_code(j) != LIMIT || !jpath_str(j, "error.data.limit") ||
	    strcmp(jpath_str(j, "error.data.limit"), "connections_per_uid") || jpath_int(j, "error.data.max", -1) != 2)
		hx_child_fail("nobody's third connection: %s", j ? json_object_to_json_string(j) : "(nothing)");
	json_object_put(j);
	if (!tconn_wait_eof(&extra, hx_timeout_ms))
		hx_child_fail("nobody's refused connection stayed open");
	tconn_close(&extra);
	for (int i = 0; i < 2; i++)
		tconn_close(&t[i]);
}

START_TEST(limit_connections)
{
	struct tconn c1, c2, c3;

	policy_start(policy_limits(&P), NULL);
	hx_open_conn(&c1, &D);
	hx_wait_connections(&c1, 1);
	hx_open_conn(&c2, &D);
	hx_info_ok(&c2);
	hx_expect_refused(&D, "connections_per_uid", 2);
	hx_expect_refused(&D, "connections_per_uid", 2);
	/* The two inside the limit are served. */
	create(&c1, "AF_INET", "SOCK_STREAM");
	create(&c2, "AF_INET", "SOCK_STREAM");
	if (hx_need_root("another user served while a connection limit is reached")) {
		as_nobody(&D, nobody_connections, NULL);
		hx_wait_connections(&c1, 2);
	}
	ck_assert(sbd_log_line_has(&D, hx_fmt("refusing uid %u ", (unsigned)getuid()), "per-user connection limit 2",
	                           NULL));
	/* One goes: room for exactly one more. */
	tconn_close(&c1);
	hx_wait_connections(&c2, 1);
	hx_open_conn(&c3, &D);
	hx_info_ok(&c3);
	create(&c3, "AF_INET", "SOCK_STREAM");
	hx_expect_refused(&D, "connections_per_uid", 2);
	tconn_close(&c3);
	hx_wait_connections(&c2, 1);
	tconn_close(&c2);
}
END_TEST

/* ==================================================================== 7 */

/* Each variant grants a distinct action, so each decision shows whether its
 * rule matched:
 *   {}                       create AF_UNIX SOCK_STREAM
 *   exe = own                create AF_UNIX SOCK_DGRAM
 *   exe = another            create AF_UNIX SOCK_SEQPACKET
 *   gid = own                create AF_INET SOCK_DGRAM
 *   gid = another            resolve
 *   gid 4242 (root part)     create AF_INET SOCK_STREAM
 *   uid = own                connect to 127/8 (stream), and a second rule denies one port */
static const char *policy_match(const struct pdir *p, int deny_port)
{
	return pfile(p, "policy.json",
	             "{\"version\": 1, \"rules\": [\n"
	             "  {\"name\": \"everyone\", \"match\": {},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_UNIX\", \"type\": \"SOCK_STREAM\"} ]},\n"
	             "  {\"name\": \"own exe\", \"match\": {\"exe\": \"%s\"},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_UNIX\", \"type\": \"SOCK_DGRAM\"} ]},\n"
	             "  {\"name\": \"other exe\", \"match\": {\"exe\": \"/nonexistent/bin/other\"},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_UNIX\", \"type\": \"SOCK_SEQPACKET\"} ]},\n"
	             "  {\"name\": \"own gid\", \"match\": {\"gid\": %u},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"SOCK_DGRAM\"} ]},\n"
	             "  {\"name\": \"other gid\", \"match\": {\"gid\": %u}, \"allow\": [ {\"action\": \"resolve\"} ]},\n"
	             "  {\"name\": \"group 4242\", \"match\": {\"gid\": 4242},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"SOCK_STREAM\"} ]},\n"
	             "  {\"name\": \"loopback\", \"match\": {\"uid\": %u},\n"
	             "   \"allow\": [ {\"action\": \"connect\", \"family\": \"AF_INET\", \"type\": \"SOCK_STREAM\", \"address\": \"127.0.0.0/8\"} ]},\n"
	             "  {\"name\": \"not that port\", \"match\": {\"uid\": %u},\n"
	             "   \"deny\": [ {\"action\": \"connect\", \"port\": %d} ]}\n"
	             "]}\n",
	             self_exe(), (unsigned)getgid(), (unsigned)foreign_gid(), (unsigned)getuid(), (unsigned)getuid(),
	             deny_port);
}

START_TEST(match_variants)
{
	struct tconn c;
	int l_ok, l_deny, p_ok, p_deny;

	l_ok = tcp_listener(&p_ok);
	l_deny = tcp_listener(&p_deny);
	policy_start(policy_match(&P, p_deny), NULL);
	hx_open_conn(&c, &D);
	/* An empty match matches the caller. */
	create(&c, "AF_UNIX", "SOCK_STREAM");
	/* gid: the caller's own, yes; another, no. */
	create(&c, "AF_INET", "SOCK_DGRAM");
	hx_denied(&c, NULL, "no rule allows resolve", "net.getservbyname", "{\"name\":\"http\"}");
	/* Deny beats allow across two rules. */
	hx_ok(&c, "socket.connect_to", "{\"address\":[\"127.0.0.1\",%d]}", p_ok);
	ck_assert(accepted(l_ok, hx_timeout_ms));
	hx_denied(&c, "not that port", "rule \"not that port\" denies connect", "socket.connect_to",
	       "{\"address\":[\"127.0.0.1\",%d]}", p_deny);
	ck_assert(!accepted(l_deny, 0));
	/* exe: the caller's own executable, yes; another path, no. */
	hx_denied(&c, NULL, "no rule allows create of AF_UNIX SOCK_SEQPACKET", "socket.create",
	       "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_SEQPACKET\"}");
	create(&c, "AF_UNIX", "SOCK_DGRAM");
	ck_assert_str_eq(str_array(jpath(hx_ok(&c, "daemon.whoami", NULL), "rules")),
	                 "everyone|own exe|own gid|loopback|not that port");
	tconn_close(&c);
	close(l_ok);
	close(l_deny);
}
END_TEST

/* nobody with supplementary group 4242 (primary 65534): the gid rule matches
 * through the supplementary group. */
static void member_of_4242(const struct sbd *d, void *arg)
{
	struct tconn t;
	json_object *j;
	const char *rules;

	hx_child_open(&t, d);
	j = hx_child_call(&t, 0, "daemon.whoami", NULL);
	if (!json_object_is_type(jpath(j, "result.groups"), json_type_array) ||
	    json_object_array_length(jpath(j, "result.groups")) != 1 ||
	    json_object_get_int64(json_object_array_get_idx(jpath(j, "result.groups"), 0)) != 4242)
		hx_child_fail("groups: %s", json_object_to_json_string(j));
	rules = json_object_to_json_string(jpath(j, "result.rules"));
	if (!strstr(rules, "\"group 4242\"") || !strstr(rules, "\"everyone\"") || strstr(rules, "own gid"))
		hx_child_fail("rules of a member of 4242: %s", json_object_to_json_string(j));
	hx_child_call(&t, 0, "socket.create", "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	hx_child_call(&t, DENIED, "socket.create", "{\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}");
	tconn_close(&t);
}

/* The same user without the group: denied what the group rule grants. */
static void not_member_of_4242(const struct sbd *d, void *arg)
{
	struct tconn t;
	json_object *j;

	hx_child_open(&t, d);
	j = hx_child_call(&t, DENIED, "socket.create", "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	if (jpath(j, "error.data.rule"))
		hx_child_fail("a denial no rule decided names one: %s", json_object_to_json_string(j));
	hx_child_call(&t, 0, "socket.create", "{\"family\":\"AF_UNIX\",\"type\":\"SOCK_STREAM\"}");
	tconn_close(&t);
}

START_TEST(match_supplementary_group)
{
	static const gid_t g4242[] = { 4242 };

	if (!hx_need_root("a rule on a supplementary group (a child with setgroups([4242]))"))
		return;
	policy_start(policy_match(&P, 9), NULL);
	as_user(&D, NOBODY, NOBODY, g4242, 1, member_of_4242, NULL);
	as_user(&D, NOBODY, NOBODY, NULL, 0, not_member_of_4242, NULL);
}
END_TEST

/* ==================================================================== 8 */

static json_object *find_record(json_object *recs, const char *decision, const char *action)
{
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		json_object *o = json_object_array_get_idx(recs, i);
		if (jpath_str(o, "decision") && !strcmp(jpath_str(o, "decision"), decision) && jpath_str(o, "action") &&
		    !strcmp(jpath_str(o, "action"), action))
			return o;
	}
	ck_abort_msg("no audit record %s %s in %s", decision, action, json_object_to_json_string(recs));
	return NULL;
}

static void check_record(json_object *o, const char *decision, const char *rule, const char *action,
                         const char *method, const char *addr, int port)
{
	const char *s = json_object_to_json_string(o);

	ck_assert_msg(!strcmp(jpath_str(o, "decision"), decision), "decision: %s", s);
	ck_assert_msg(jpath_str(o, "rule") && !strcmp(jpath_str(o, "rule"), rule), "rule: %s", s);
	ck_assert_msg(!strcmp(jpath_str(o, "action"), action), "action: %s", s);
	ck_assert_msg(jpath_str(o, "method") && !strcmp(jpath_str(o, "method"), method), "method: %s", s);
	ck_assert_msg(jpath_int(o, "uid", -1) == getuid(), "uid: %s", s);
	ck_assert_msg(jpath_int(o, "gid", -1) == getgid(), "gid: %s", s);
	ck_assert_msg(jpath_int(o, "pid", -1) == getpid(), "pid: %s", s);
	ck_assert_msg(jpath_str(o, "family") && !strcmp(jpath_str(o, "family"), "AF_INET"), "family: %s", s);
	ck_assert_msg(jpath_str(o, "type") && !strcmp(jpath_str(o, "type"), "SOCK_STREAM"), "type: %s", s);
	ck_assert_msg(jpath_str(o, "address") && !strcmp(jpath_str(o, "address"), addr), "address: %s", s);
	ck_assert_msg(jpath_int(o, "port", -1) == port, "port: %s", s);
	ck_assert_msg(jpath_str(o, "reason") && *jpath_str(o, "reason"), "reason: %s", s);
	/* RFC 3339 UTC with milliseconds: 2026-01-02T03:04:05.678Z */
	ck_assert_msg(jpath_str(o, "time") && strlen(jpath_str(o, "time")) == 24 && jpath_str(o, "time")[23] == 'Z',
	              "time: %s", s);
}

START_TEST(audit_trail)
{
	struct tconn c;
	json_object *recs, *r;
	const char *audit;
	int l_deny, p_deny, port;
	size_t n;
	long long h, h2;

	l_deny = tcp_listener(&p_deny);
	audit = hx_fmt("%s/audit.jsonl", P.path);
	policy_start(
	           pfile(&P, "policy.json",
	                 "{\"version\": 1, \"rules\": [\n"
	                 "  {\"name\": \"binder\", \"match\": {\"uid\": %u},\n"
	                 "   \"allow\": [ {\"action\": \"bind\", \"family\": \"AF_INET\", \"type\": \"SOCK_STREAM\", \"address\": \"127.0.0.1\"} ]},\n"
	                 "  {\"name\": \"no port %d\", \"match\": {\"uid\": %u},\n"
	                 "   \"deny\": [ {\"action\": \"connect\", \"port\": %d} ]}\n"
	                 "]}\n",
	                 (unsigned)getuid(), p_deny, (unsigned)getuid(), p_deny),
	           audit);
	hx_open_conn(&c, &D);
	h = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", h);
	port = hx_listed_port(&c, h);
	ck_assert_int_gt(port, 0);
	h2 = create(&c, "AF_INET", "SOCK_STREAM");
	hx_denied(&c, hx_fmt("no port %d", p_deny), "denies connect", "socket.connect",
	       "{\"handle\":%lld,\"address\":[\"127.0.0.1\",%d]}", h2, p_deny);

	/* One record per decision: two creates, the bind, the connect. */
	recs = audit_records(audit);
	ck_assert_msg(json_object_array_length(recs) == 4, "want 4 audit records: %s", json_object_to_json_string(recs));
	check_record(find_record(recs, "allow", "bind"), "allow", "binder", "bind", "socket.bind", "127.0.0.1", 0);
	check_record(find_record(recs, "deny", "connect"), "deny", hx_fmt("no port %d", p_deny), "connect",
	             "socket.connect", "127.0.0.1", p_deny);
	r = find_record(recs, "allow", "create");
	ck_assert_str_eq(jpath_str(r, "method"), "socket.create");
	ck_assert_str_eq(jpath_str(r, "rule"), "binder");
	/* The daemon's log has the same decisions. */
	ck_assert(sbd_log_line_has(&D, "audit: allow", "action=bind", "rule=\"binder\""));
	ck_assert(sbd_log_line_has(&D, "audit: allow", "action=bind", "address=\"127.0.0.1\" port=0"));
	ck_assert(sbd_log_line_has(&D, "audit: deny", "action=connect", hx_fmt("port=%d", p_deny)));
	ck_assert(sbd_log_line_has(&D, "audit: deny", "method=socket.connect", hx_fmt("pid=%d", (int)getpid())));

	/* Introspection and ungoverned methods are not audited. */
	n = json_object_array_length(recs);
	hx_ok(&c, "daemon.info", NULL);
	hx_ok(&c, "daemon.whoami", NULL);
	hx_ok(&c, "daemon.ping", NULL);
	hx_ok(&c, "rpc.discover", NULL);
	hx_ok(&c, "socket.list", "{}");
	hx_ok(&c, "socket.getsockname", "{\"handle\":%lld}", h);
	ck_assert_uint_eq(json_object_array_length(audit_records(audit)), n);
	/* ...while every governed decision is, denied ones included. */
	hx_denied(&c, NULL, NULL, "socket.create", "{\"family\":\"AF_UNIX\"}");
	ck_assert_uint_eq(json_object_array_length(audit_records(audit)), n + 1);

	tconn_close(&c);
	close(l_deny);
}
END_TEST

/* ==================================================================== 9 */

struct run {
	int status;          /* exit status, 128+sig */
	const char *out, *err;
	bool ready;          /* sent READY=1 */
};

/* Runs the daemon with args (NULL terminated) to its exit (20 s at most),
 * stdout and stderr to files in p. */
static void run_daemon(const struct pdir *p, const char *const *args, struct run *res)
{
	const char *out = hx_fmt("%s/run.out", p->path), *err = hx_fmt("%s/run.err", p->path);
	const char *ns = hx_fmt("%s/run.notify", p->path);
	const char *argv[32];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int nfd, pfd, st, n = 0;
	char buf[4096];
	pid_t pid;

	argv[n++] = sbd_path();
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	unlink(ns);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(nfd, 0);
	memcpy(sa.sun_path, ns, strlen(ns));
	ck_assert_int_eq(bind(nfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
			_exit(126);
		setenv("NOTIFY_SOCKET", ns, 1);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd pp = { .fd = pfd, .events = POLLIN };
		int r;
		do
			r = poll(&pp, 1, 20000);
		while (r < 0 && errno == EINTR);
		close(pfd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			close(nfd);
			ck_abort_msg("%s did not exit within 20 s (it should have refused its policy)", argv[0]);
		}
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	res->ready = false;
	for (ssize_t k; (k = recv(nfd, buf, sizeof(buf) - 1, 0)) > 0;) {
		buf[k] = '\0';
		res->ready |= strstr(buf, "READY=1") != NULL;
	}
	close(nfd);
	unlink(ns);
	res->out = slurp(out);
	res->err = slurp(err);
	unlink(out);
	unlink(err);
}

/* "file:line:col:" of the first occurrence of needle in text. */
static const char *position(const char *file, const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	int line = 1, col = 1;

	ck_assert_msg(at != NULL, "test bug: %s not in the policy text", needle);
	for (const char *s = text; s < at; s++) {
		if (*s == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return hx_fmt("%s:%d:%d:", file, line, col);
}

/* The daemon refuses to start on path: exit 1, never ready, and its log
 * has want (the position) and phrase. */
static void refuses(const struct pdir *p, const char *path, const char *want, const char *phrase)
{
	const char *sock = hx_fmt("%s/control.sock", p->path);
	const char *args[] = { "--socket", sock, "--policy", path, NULL };
	struct run r;

	run_daemon(p, args, &r);
	ck_assert_msg(r.status == 1, "the daemon exited %d with %s (want 1); stderr:\n%s", r.status, path, r.err);
	ck_assert_msg(!r.ready, "the daemon became ready with a bad policy %s", path);
	ck_assert_msg(strstr(r.err, hx_fmt("policy: %s", want)), "want \"%s\" in the log:\n%s", want, r.err);
	ck_assert_msg(strstr(r.err, phrase), "want \"%s\" in the log:\n%s", phrase, r.err);
	ck_assert_msg(access(sock, F_OK) != 0, "the refusing daemon left its socket %s", sock);
}

static void bad_member(const struct pdir *p, const char *text, const char *needle, const char *phrase)
{
	const char *path = pfile(p, "bad.json", "%s", text);

	refuses(p, path, position(path, text, needle), phrase);
	/* --check-policy says the same, on stderr, with status 1. */
	{
		const char *args[] = { "--check-policy", "--policy", path, NULL };
		struct run r;
		run_daemon(p, args, &r);
		ck_assert_msg(r.status == 1, "--check-policy exited %d for %s", r.status, path);
		ck_assert_msg(strstr(r.err, position(path, text, needle)) && strstr(r.err, phrase),
		              "--check-policy stderr lacks the position or \"%s\":\n%s", phrase, r.err);
	}
	ck_assert_int_eq(unlink(path), 0);
}

#define RULE_HEAD "{\"version\": 1,\n \"rules\": [\n  {\"name\": \"r\", \"match\": {},\n"

START_TEST(load_errors)
{

	bad_member(&P,
	           RULE_HEAD "   \"allow\": [ {\"action\": \"bind\", \"port\": 70000} ]}\n ]}\n",
	           "\"port\"", "port 70000 is out of range");
	bad_member(&P,
	           RULE_HEAD "   \"allow\": [ {\"action\": \"bind\", \"address\": \"10.0.0.0/33\"} ]}\n ]}\n",
	           "\"address\"", "prefix length");
	bad_member(&P,
	           RULE_HEAD "   \"colour\": 1,\n   \"allow\": [ {\"action\": \"create\"} ]}\n ]}\n",
	           "\"colour\"", "unknown member \"colour\"");
	bad_member(&P,
	           "{\"version\": \"1\",\n \"rules\": [ {\"name\": \"r\", \"match\": {}, \"allow\": [ {\"action\": \"create\"} ]} ]}\n",
	           "\"version\"", "unsupported version");
	bad_member(&P,
	           RULE_HEAD "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_NOPE\"} ]}\n ]}\n",
	           "\"family\"", "unknown family \"AF_NOPE\"");
	/* An unknown user or group name is no load error: a warning, and it
	 * matches nobody (tests/it_policy_names.sh). */
	bad_member(&P, "{\"version\": 1,\n \"rules\": []\n}\n", "\"rules\"", "the rules list is empty");
	/* Whole-file errors: the file's name and what is wrong. */
	refuses(&P, hx_fmt("%s/missing.json", P.path), hx_fmt("%s/missing.json:", P.path), "no such file");
}
END_TEST

START_TEST(load_symlink_loop)
{

	/* The directory is the policy: a.json -> b.json -> a.json. */
	ck_assert_int_eq(symlink("b.json", hx_fmt("%s/a.json", P.path)), 0);
	ck_assert_int_eq(symlink("a.json", hx_fmt("%s/b.json", P.path)), 0);
	refuses(&P, P.path, hx_fmt("%s/a.json:", P.path), "symbolic links");
}
END_TEST

START_TEST(load_world_writable)
{
	const char *path;

	if (!hx_need_root("refusal of a world-writable policy file (only a daemon running as root refuses it)"))
		return;
	path = pfile(&P, "policy.json",
	             "{\"version\": 1, \"rules\": [ {\"name\": \"r\", \"match\": {}, \"allow\": [ {\"action\": \"create\"} ]} ]}\n");
	ck_assert_int_eq(chmod(path, 0666), 0);
	refuses(&P, path, hx_fmt("%s:", path), "writable by every user");
}
END_TEST

START_TEST(check_policy_cli)
{
	const char *path;
	struct run r;

	path = pfile(&P, "policy.json",
	             "{\"version\": 1, \"rules\": [\n"
	             "  {\"name\": \"first rule\", \"match\": {\"uid\": 0}, \"allow\": [ {\"action\": \"create\"} ]},\n"
	             "  {\"name\": \"second rule\", \"match\": {}, \"deny\": [ {\"action\": \"connect\", \"port\": 25} ]}\n"
	             "]}\n");
	{
		const char *args[] = { "--check-policy", "--policy", path, NULL };
		run_daemon(&P, args, &r);
	}
	ck_assert_msg(r.status == 0, "--check-policy of a valid file exited %d:\n%s", r.status, r.err);
	ck_assert_msg(!r.ready, "--check-policy started a daemon");
	ck_assert_msg(strstr(r.out, path) && strstr(r.out, "2 rules"), "stdout:\n%s", r.out);
	ck_assert_msg(strstr(r.out, "first rule") && strstr(r.out, "second rule") &&
	              strstr(r.out, "first rule") < strstr(r.out, "second rule"),
	              "the rule names, in order, on stdout:\n%s", r.out);
}
END_TEST

/* --check-policy with --http-token-file: the tokens' names, never a secret;
 * a bad file makes it exit 1 with its position. */
START_TEST(check_policy_token_file)
{
	static const char secret[] = "s3cret-s3cret-s3cret-s3cret-s3cret";
	const char *policy, *tokens;
	struct run r;

	policy = pfile(&P, "policy.json",
	               "{\"version\": 1, \"rules\": [\n"
	               "  {\"name\": \"grafana reads\", \"match\": {\"token\": \"grafana\"},\n"
	               "   \"allow\": [ {\"action\": \"admin\"}, {\"action\": \"http_rpc\"} ]}\n"
	               "]}\n");
	tokens = pfile(&P, "tokens.json",
	               "{\"version\": 1, \"tokens\": [\n"
	               "  {\"name\": \"grafana\", \"secret\": \"%s\", \"user\": \"nobody\"}\n"
	               "]}\n", secret);
	ck_assert_int_eq(chmod(tokens, 0600), 0);
	{
		const char *args[] = { "--check-policy", "--policy", policy, "--http-token-file", tokens, NULL };
		run_daemon(&P, args, &r);
	}
	ck_assert_msg(r.status == 0, "--check-policy exited %d:\n%s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "1 token, valid") && strstr(r.out, "grafana: user nobody (uid 65534)"),
	              "stdout:\n%s", r.out);
	ck_assert_msg(!strstr(r.out, secret) && !strstr(r.err, secret), "a secret was printed:\n%s%s", r.out, r.err);
	/* Readable by others: refused, exit 1. */
	ck_assert_int_eq(chmod(tokens, 0644), 0);
	{
		const char *args[] = { "--check-policy", "--policy", policy, "--http-token-file", tokens, NULL };
		run_daemon(&P, args, &r);
	}
	ck_assert_msg(r.status == 1 && strstr(r.err, "chmod 0600"), "exit %d:\n%s", r.status, r.err);
	tokens = pfile(&P, "tokens.json", "{\"version\": 1, \"tokens\": [\n  {\"name\": \"x\"}]}\n");
	ck_assert_int_eq(chmod(tokens, 0600), 0);
	{
		const char *args[] = { "--check-policy", "--policy", policy, "--http-token-file", tokens, NULL };
		run_daemon(&P, args, &r);
	}
	ck_assert_msg(r.status == 1 && strstr(r.err, ":2:3: tokens[0]: \"secret\" is missing"), "exit %d:\n%s",
	              r.status, r.err);
}
END_TEST

/* policy.check as a token's caller: its user, no program, the token's name. */
START_TEST(policy_check_as_token)
{
	struct tconn c;
	json_object *r;

	policy_start(pfile(&P, "policy.json",
	                   "{\"version\": 1, \"rules\": [\n"
	                   "  {\"name\": \"grafana reads\", \"match\": {\"token\": \"grafana\"},\n"
	                   "   \"allow\": [ {\"action\": \"admin\"} ]},\n"
	                   "  {\"name\": \"curl may rpc\", \"match\": {\"exe\": \"/usr/bin/curl\"},\n"
	                   "   \"allow\": [ {\"action\": \"admin\"} ]},\n"
	                   "  {\"name\": \"root admin\", \"match\": {\"uid\": 0}, \"allow\": [ {\"action\": \"admin\"} ]}\n"
	                   "]}\n"), NULL);
	hx_open_conn(&c, &D);
	r = hx_ok(&c, "policy.check", "{\"as\":{\"user\":\"nobody\",\"token\":\"grafana\"},"
	                              "\"request\":{\"method\":\"admin.stats\"}}");
	ck_assert_msg(json_object_get_boolean(jpath(r, "allowed")) && !strcmp(hx_gets(r, "rule"), "grafana reads"),
	              "%s", json_object_to_json_string(r));
	ck_assert_msg(jpath_str(r, "as.token") && !strcmp(jpath_str(r, "as.token"), "grafana"), "%s",
	              json_object_to_json_string(r));
	/* The same user without the token, or with another: no rule. */
	r = hx_ok(&c, "policy.check", "{\"as\":{\"user\":\"nobody\"},\"request\":{\"method\":\"admin.stats\"}}");
	ck_assert_msg(!json_object_get_boolean(jpath(r, "allowed")), "%s", json_object_to_json_string(r));
	r = hx_ok(&c, "policy.check", "{\"as\":{\"user\":\"nobody\",\"token\":\"loki\"},"
	                              "\"request\":{\"method\":\"admin.stats\"}}");
	ck_assert_msg(!json_object_get_boolean(jpath(r, "allowed")) &&
	              strstr(hx_gets(r, "reason"), "a bearer token names no program"),
	              "the exe rule may match, its allow does not apply: %s", json_object_to_json_string(r));
	/* A token names no program: exe cannot go with it. */
	hx_err_data(&c, -32602, "policy.check", "{\"as\":{\"user\":\"nobody\",\"token\":\"grafana\","
	                                        "\"exe\":\"/usr/bin/curl\"},\"request\":{\"method\":\"admin.stats\"}}");
	tconn_close(&c);
}
END_TEST

/* =================================================================== 10 */

/* v1 grants stream sockets, v2 datagram ones; both give the caller admin. */
static const char *write_version(const struct pdir *p, int v, bool admin)
{
	return pfile(p, "policy.json",
	             "{\"version\": 1, \"rules\": [\n"
	             "  {\"name\": \"v%d\", \"match\": {\"uid\": %u},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"%s\"}%s ]}\n"
	             "]}\n",
	             v, (unsigned)getuid(), v == 1 ? "SOCK_STREAM" : "SOCK_DGRAM",
	             admin ? ", {\"action\": \"admin\"}" : "");
}

static const char *const broken_text =
    "{\"version\": 1, \"rules\": [\n"
    "  {\"name\": \"broken\", \"match\": {},\n"
    "   \"allow\": [ {\"action\": \"bind\", \"port\": 70000} ]}\n"
    "]}\n";

/* Which version decides for connection t: v1 (stream, not dgram) or v2. */
static void decides(struct tconn *t, int v)
{
	const char *yes = v == 1 ? "SOCK_STREAM" : "SOCK_DGRAM", *no = v == 1 ? "SOCK_DGRAM" : "SOCK_STREAM";
	long long h = create(t, "AF_INET", yes);

	hx_ok(t, "socket.close", "{\"handle\":%lld}", h);
	hx_denied(t, NULL, hx_fmt("no rule allows create of AF_INET %s", no), "socket.create",
	       "{\"family\":\"AF_INET\",\"type\":\"%s\"}", no);
	ck_assert_str_eq(str_array(jpath(hx_ok(t, "daemon.whoami", NULL), "rules")), hx_fmt("v%d", v));
}

static void sighup_reload(struct sbd *d)
{
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	ck_assert_int_eq(sbd_wait_notify(d, "RELOADING=1", hx_timeout_ms), 0);
	ck_assert_int_eq(sbd_wait_notify(d, "READY=1", hx_timeout_ms), 0);
}

START_TEST(reload_sighup)
{
	struct tconn c, fresh;
	const char *path;

	path = write_version(&P, 1, false);
	policy_start(path, NULL);
	hx_open_conn(&c, &D);
	decides(&c, 1);
	/* A new policy: decisions switch, on connections already open too. */
	write_version(&P, 2, false);
	sighup_reload(&D);
	decides(&c, 2);
	hx_open_conn(&fresh, &D);
	decides(&fresh, 2);
	tconn_close(&fresh);
	ck_assert(sbd_log_line_has(&D, "policy reloaded: 1 rule from", path, "generation 2"));
	/* A broken one: the old stays, the error is logged with its position. */
	pfile(&P, "policy.json", "%s", broken_text);
	sighup_reload(&D);
	decides(&c, 2);
	ck_assert_msg(sbd_log_line_has(&D, "policy reload failed, the old policy stays",
	                               position(path, broken_text, "\"port\""), "out of range"),
	              "no reload failure with its position in the log");
	/* And a good one again. */
	write_version(&P, 1, false);
	sighup_reload(&D);
	decides(&c, 1);
	tconn_close(&c);
}
END_TEST

/* A reload that leaves a client matched by no rule: it keeps its handles but
 * may do nothing with them, even what no action governs (accept onto a
 * handle, an option open to everyone, sendmsg without a destination). */
START_TEST(reload_orphans_handles)
{
	struct tconn c;
	const char *mine;
	long long tcp, udp;

	mine = pfile(&P, "policy.json",
	             "{\"version\": 1, \"rules\": [\n"
	             "  {\"name\": \"mine\", \"match\": {\"uid\": %u},\n"
	             "   \"allow\": [ {\"action\": \"create\", \"family\": \"AF_INET\"},\n"
	             "              {\"action\": \"bind\", \"address\": \"127.0.0.1/32\"} ]}\n"
	             "]}\n", (unsigned)getuid());
	policy_start(mine, NULL);
	hx_open_conn(&c, &D);
	tcp = create(&c, "AF_INET", "SOCK_STREAM");
	hx_ok(&c, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", tcp);
	hx_ok(&c, "socket.listen", "{\"handle\":%lld}", tcp);
	udp = create(&c, "AF_INET", "SOCK_DGRAM");
	pfile(&P, "policy.json",
	      "{\"version\": 1, \"rules\": [\n"
	      "  {\"name\": \"someone else\", \"match\": {\"uid\": 4242}, \"allow\": [ {\"action\": \"create\"} ]}\n"
	      "]}\n");
	sighup_reload(&D);
	hx_denied(&c, NULL, "no rule of the policy matches", "socket.accept", "{\"handle\":%lld}", tcp);
	hx_denied(&c, NULL, "no rule of the policy matches", "socket.setsockopt",
	       "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":1}", tcp);
	hx_denied(&c, NULL, "no rule of the policy matches", "socket.sendmsg",
	       "{\"handle\":%lld,\"buffers\":[\"aGk=\"]}", udp);
	hx_denied(&c, NULL, "no rule of the policy matches", "socket.info", "{\"handle\":%lld}", tcp);
	ck_assert_str_eq(str_array(jpath(hx_ok(&c, "daemon.whoami", NULL), "rules")), "");
	/* Matched again: the same handles serve. */
	pfile(&P, "policy.json",
	      "{\"version\": 1, \"rules\": [\n"
	      "  {\"name\": \"mine\", \"match\": {\"uid\": %u}, \"allow\": [ {\"action\": \"create\"} ]}\n"
	      "]}\n", (unsigned)getuid());
	sighup_reload(&D);
	hx_ok(&c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":1}",
	   tcp);
	hx_ok(&c, "socket.info", "{\"handle\":%lld}", udp);
	tconn_close(&c);
}
END_TEST

START_TEST(reload_rpc)
{
	struct tconn c;
	json_object *r, *e;
	const char *path;

	path = write_version(&P, 1, true);
	policy_start(path, NULL);
	hx_open_conn(&c, &D);
	r = hx_rpc(&c, "daemon.reload", NULL);
	ck_assert_msg(reply_error_code(r) != -32601, "daemon.reload is not in the method table yet: %s",
	              json_object_to_json_string(r));
	decides(&c, 1);
	write_version(&P, 2, true);
	r = hx_ok(&c, "daemon.reload", NULL);
	ck_assert_str_eq(jpath_str(r, "source"), path);
	ck_assert_int_eq(jpath_int(r, "rules", -1), 1);
	ck_assert_int_ge(jpath_int(r, "generation", -1), 2);
	decides(&c, 2);
	/* A broken file: -32000 with where and what; the old policy decides. */
	pfile(&P, "policy.json", "%s", broken_text);
	e = hx_err_data(&c, -32000, "daemon.reload", NULL);
	ck_assert_msg(jpath_str(e, "file") && !strcmp(jpath_str(e, "file"), path), "file: %s", json_object_to_json_string(e));
	{
		const char *pos = position(path, broken_text, "\"port\"");
		char want[64];
		snprintf(want, sizeof(want), ":%lld:%lld:", jpath_int(e, "line", -1), jpath_int(e, "column", -1));
		ck_assert_msg(strstr(pos, want), "line/column: want %s: %s", pos, json_object_to_json_string(e));
		ck_assert_msg(jpath_str(e, "reason") && strstr(jpath_str(e, "reason"), pos) &&
		              strstr(jpath_str(e, "reason"), "out of range"),
		              "reason: %s", json_object_to_json_string(e));
	}
	ck_assert_msg(jpath_str(e, "name") && !strcmp(jpath_str(e, "name"), "EINVAL"), "name: %s",
	              json_object_to_json_string(e));
	decides(&c, 2);
	/* A policy without the admin grant: loaded; root still reloads (it keeps
	 * admin, contract v1.1), and anyone else would be refused. */
	write_version(&P, 1, false);
	hx_ok(&c, "daemon.reload", NULL);
	decides(&c, 1);
	hx_ok(&c, "daemon.reload", NULL);
	r = hx_ok(&c, "policy.check", "{\"as\":{\"uid\":65534},\"request\":{\"method\":\"daemon.reload\"}}");
	ck_assert_msg(json_object_get_boolean(jpath(r, "allowed")) == 0 && strstr(hx_gets(r, "reason"), "no rule allows admin"),
	              "uid 65534 without an admin grant: %s", json_object_to_json_string(r));
	tconn_close(&c);
}
END_TEST


static Suite *suite(void)
{
	Suite *s = suite_create("it_policy");
	TCase *tc;

	tc = hx_tcase(s, "checkpoints", policy_setup, policy_teardown);
	tcase_add_test(tc, checkpoints);
	tcase_add_test(tc, setsockopt_rule);
	tcase_add_test(tc, anycast_needs_setsockopt);
	tcase_add_test(tc, host_pinning);
	tcase_add_test(tc, host_pinning_resolved);
	tc = hx_tcase(s, "resolve", policy_setup, policy_teardown);
	tcase_add_test(tc, resolve_host_rule);
	tcase_add_test(tc, resolve_plain_rule);
	tc = hx_tcase(s, "ungoverned", policy_setup, policy_teardown);
	tcase_add_test(tc, ungoverned_needs_a_rule);
	tcase_add_test(tc, whoami_lists_matching_rules);
	tcase_add_test(tc, whoami_identity);
	tc = hx_tcase(s, "limits", policy_setup, policy_teardown);
	tcase_add_test(tc, limit_handles);
	tcase_add_test(tc, limit_pending);
	tcase_add_test(tc, limit_connections);
	tc = hx_tcase(s, "match", policy_setup, policy_teardown);
	tcase_add_test(tc, match_variants);
	tcase_add_test(tc, match_supplementary_group);
	tc = hx_tcase(s, "audit", policy_setup, policy_teardown);
	tcase_add_test(tc, audit_trail);
	tc = hx_tcase(s, "loading", policy_setup, policy_teardown);
	tcase_add_test(tc, load_errors);
	tcase_add_test(tc, load_symlink_loop);
	tcase_add_test(tc, load_world_writable);
	tcase_add_test(tc, check_policy_cli);
	tcase_add_test(tc, check_policy_token_file);
	tcase_add_test(tc, policy_check_as_token);
	tc = hx_tcase(s, "reload", policy_setup, policy_teardown);
	tcase_add_test(tc, reload_sighup);
	tcase_add_test(tc, reload_rpc);
	tcase_add_test(tc, reload_orphans_handles);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
