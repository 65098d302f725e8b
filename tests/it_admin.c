/* Integration: the administration methods against the real daemon started
 * with --policy: admin.clients sees every connection with its identity,
 * admin.sockets and admin.close_socket reach another client's sockets,
 * admin.close_client drops another client and its handles, admin.stats
 * counts decisions per rule, daemon.reload swaps a valid policy in and keeps
 * the old one when the new one is broken (with the file, line and column),
 * policy.check judges a request for someone else (names resolved as the
 * method would, malformed inner requests named), and a caller the policy
 * gives no admin action gets -32010 from every one of them.
 *
 * Runs as root or not: the policies grant the test's own euid what it needs
 * and judge another uid (OTHER) only through policy.check. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct sbd D;
static char pdir[PATH_MAX];     /* the policy files' directory */
static char ppath[PATH_MAX + 16];    /* the policy the daemon was started with */
static unsigned EUID;
static unsigned OTHER;          /* a uid judged only through policy.check */

/* ---- policy files ---- */

/* Writes text to path whole (a rename, so a reload never sees half a file),
 * mode 0644: as root the daemon refuses files others may write. */
static void write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX + 32];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ck_assert_msg(f != NULL, "%s: %s", tmp, strerror(errno));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(tmp, 0644), 0);
	ck_assert_msg(rename(tmp, path) == 0, "rename: %s", strerror(errno));
}

/* The main policy: the test's euid may administer, create, bind and connect
 * on loopback; OTHER has the contract's example grants; port 25 is denied to
 * both. */
static void write_main_policy(const char *path)
{
	char text[4096];

	snprintf(text, sizeof(text),
	         "{\n"
	         "  \"version\": 1,\n"
	         "  \"rules\": [\n"
	         "    { \"name\": \"tester\", \"match\": { \"uid\": %u },\n"
	         "      \"allow\": [ { \"action\": \"admin\" }, { \"action\": \"create\" }, { \"action\": \"listen\" },\n"
	         "                 { \"action\": \"bind\", \"address\": \"127.0.0.1/32\" },\n"
	         "                 { \"action\": \"connect\", \"address\": \"127.0.0.1/32\" },\n"
	         "                 { \"action\": \"resolve\" } ] },\n"
	         "    { \"name\": \"web servers bind 80 and 443\", \"match\": { \"uid\": %u },\n"
	         "      \"allow\": [ { \"action\": \"bind\", \"family\": [\"AF_INET\", \"AF_INET6\"], \"type\": \"SOCK_STREAM\",\n"
	         "                   \"address\": [\"0.0.0.0/0\", \"::/0\"], \"port\": [80, 443] } ] },\n"
	         "    { \"name\": \"api by name\", \"match\": { \"uid\": %u },\n"
	         "      \"allow\": [ { \"action\": \"connect\", \"type\": \"SOCK_STREAM\", \"host\": \"localhost\", \"port\": 443 },\n"
	         "                 { \"action\": \"resolve\", \"host\": \"localhost\" } ] },\n"
	         "    { \"name\": \"monitoring may ping\", \"match\": { \"uid\": %u, \"exe\": \"/usr/bin/pinger\" },\n"
	         "      \"allow\": [ { \"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"SOCK_RAW\",\n"
	         "                   \"proto\": \"IPPROTO_ICMP\" } ] },\n"
	         "    { \"name\": \"no smtp\", \"match\": { \"uid\": [%u, %u] },\n"
	         "      \"deny\": [ { \"action\": \"connect\", \"port\": 25 } ] }\n"
	         "  ]\n"
	         "}\n",
	         EUID, OTHER, OTHER, OTHER, EUID, OTHER);
	write_file(path, text);
}

/* The daemon with policy_text (NULL: the main policy) and --audit-ring ring
 * (NULL: its default). */
static void start_ring(const char *policy_text, const char *ring)
{
	const char *args[] = { "--policy", ppath, ring ? "--audit-ring" : NULL, ring, NULL };

	if (policy_text)
		write_file(ppath, policy_text);
	else
		write_main_policy(ppath);
	hx_start(&D, args);
}

static void start_with(const char *policy_text)
{
	start_ring(policy_text, NULL);
}

static void setup(void)
{
	EUID = (unsigned)geteuid();
	OTHER = EUID == 65534 ? 65533 : 65534;
	/* 0755: as root, the daemon refuses a directory others may write. */
	hx_private_dir(pdir, sizeof(pdir), "it_admin", 0755);
	snprintf(ppath, sizeof(ppath), "%s/policy.json", pdir);
}

static void teardown(void)
{
	char p[PATH_MAX + 32];

	hx_release_all();
	hx_stop(&D);
	unlink(ppath);
	snprintf(p, sizeof(p), "%s.tmp", ppath);
	unlink(p);
	rmdir(pdir);
}

/* ---- calls ---- */

static long long my_connection(struct tconn *t)
{
	long long n = hx_geti(hx_ok(t, "daemon.whoami", NULL), "connection");

	ck_assert_int_gt(n, 0);
	return n;
}

static long long new_socket(struct tconn *t)
{
	long long h = hx_new_handle(t, "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");

	ck_assert_int_gt(h, 0);
	return h;
}

/* The element of array at path in o whose member key equals v, or NULL. */
static json_object *find_by(json_object *o, const char *path, const char *key, long long v)
{
	json_object *arr = jpath(o, path);

	ck_assert_msg(json_object_is_type(arr, json_type_array), "%s is not an array: %s", path,
	              json_object_to_json_string(o));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i), *m;
		if (json_object_object_get_ex(e, key, &m) && json_object_get_int64(m) == v)
			return e;
	}
	return NULL;
}

/* ---- admin.clients ---- */

START_TEST(clients_lists_connections)
{
	struct tconn a;
	int to_child[2], from_child[2];
	char self_exe[PATH_MAX], buf[32];
	ssize_t n;
	pid_t child;
	long long mine, theirs = 0;
	json_object *j, *e;

	start_with(NULL);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	ck_assert_int_gt(n, 0);
	self_exe[n] = '\0';
	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(from_child), 0);
	/* A second client in another process: its own pid, the same executable. */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct tconn c;
		json_object *w;
		char line[32];
		close(to_child[1]);
		close(from_child[0]);
		if (tconn_open(&c, D.sock) != 0)
			_exit(1);
		w = tconn_call(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":1}", 10000);
		if (!w)
			_exit(2);
		snprintf(line, sizeof(line), "%lld\n", jpath_int(w, "result.connection", -1));
		if (write(from_child[1], line, strlen(line)) < 0)
			_exit(3);
		/* Stay connected until the parent has looked. */
		if (read(to_child[0], line, 1) < 0)
			_exit(4);
		tconn_close(&c);
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);
	n = read(from_child[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	theirs = atoll(buf);
	ck_assert_int_gt(theirs, 0);

	hx_open_conn(&a, &D);
	mine = my_connection(&a);
	j = hx_ok(&a, "admin.clients", NULL);
	ck_assert_int_eq(json_object_array_length(jpath(j, "clients")), 2);

	e = find_by(j, "clients", "connection", mine);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(jpath_int(e, "uid", -1), EUID);
	ck_assert_int_eq(jpath_int(e, "gid", -1), getegid());
	ck_assert_int_eq(jpath_int(e, "pid", -1), getpid());
	ck_assert_msg(jpath_str(e, "exe") && strcmp(jpath_str(e, "exe"), self_exe) == 0, "exe: want %s: %s",
	              self_exe, json_object_to_json_string(e));
	ck_assert(json_object_get_boolean(jpath(e, "self")));
	ck_assert_int_eq(jpath_int(e, "handles", -1), 0);
	ck_assert_int_eq(jpath_int(e, "pending", -1), 1);          /* this very call */
	ck_assert_int_eq(jpath_int(e, "requests", -1), 2);         /* whoami, clients */
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(jpath(e, "rules"), 0)), "tester");
	ck_assert(json_object_is_type(jpath(e, "groups"), json_type_array));

	e = find_by(j, "clients", "connection", theirs);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(jpath_int(e, "uid", -1), EUID);
	ck_assert_int_eq(jpath_int(e, "pid", -1), child);
	ck_assert_msg(jpath_str(e, "exe") && strcmp(jpath_str(e, "exe"), self_exe) == 0, "exe: want %s: %s",
	              self_exe, json_object_to_json_string(e));
	ck_assert(!json_object_get_boolean(jpath(e, "self")));
	ck_assert_int_eq(jpath_int(e, "pending", -1), 0);
	ck_assert_int_eq(jpath_int(e, "requests", -1), 1);

	ck_assert_int_eq(write(to_child[1], "x", 1), 1);
	close(to_child[1]);
	close(from_child[0]);
	{
		int st;
		ck_assert_int_eq(waitpid(child, &st, 0), child);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	}
	tconn_close(&a);
}
END_TEST

/* ---- admin.sockets, admin.close_socket ---- */

START_TEST(sockets_of_others_and_close_socket)
{
	struct tconn a, b;
	long long conn_b, h, h_a;
	json_object *j, *e;

	start_with(NULL);
	hx_open_conn(&a, &D);
	hx_open_conn(&b, &D);
	conn_b = my_connection(&b);
	h = new_socket(&b);
	hx_ok(&b, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", h);
	h_a = new_socket(&a);

	/* The owner's handle is invisible to a's own methods... */
	hx_err(&a, -32011, "socket.info", "{\"handle\":%lld}", h);
	/* ...but admin.sockets shows it, with its owner. */
	j = hx_ok(&a, "admin.sockets", NULL);
	e = find_by(j, "sockets", "handle", h);
	ck_assert_msg(e != NULL, "handle %lld not listed: %s", h, json_object_to_json_string(j));
	ck_assert_int_eq(jpath_int(e, "connection", -1), conn_b);
	ck_assert_int_eq(jpath_int(e, "uid", -1), EUID);
	ck_assert_str_eq(jpath_str(e, "family"), "AF_INET");
	ck_assert_str_eq(jpath_str(e, "local.host"), "127.0.0.1");
	ck_assert_ptr_nonnull(find_by(j, "sockets", "handle", h_a));

	j = hx_ok(&a, "admin.close_socket", "{\"handle\":%lld}", h);
	ck_assert_int_eq(json_object_object_length(j), 0);
	/* The owner finds it gone. */
	j = hx_err(&b, -32011, "socket.info", "{\"handle\":%lld}", h);
	ck_assert_int_eq(jpath_int(j, "data.handle", -1), h);
	j = hx_ok(&a, "admin.sockets", NULL);
	ck_assert_ptr_null(find_by(j, "sockets", "handle", h));
	ck_assert_ptr_nonnull(find_by(j, "sockets", "handle", h_a));

	/* An unknown (or already closed) handle. */
	j = hx_err(&a, -32011, "admin.close_socket", "{\"handle\":%lld}", h);
	ck_assert_int_eq(jpath_int(j, "data.handle", -1), h);
	hx_bad_param(&a, "handle", "admin.close_socket", "{\"handle\":0}");
	/* The caller may close its own socket this way too. */
	hx_ok(&a, "admin.close_socket", "{\"handle\":%lld}", h_a);
	hx_err(&a, -32011, "socket.info", "{\"handle\":%lld}", h_a);
	tconn_close(&a);
	tconn_close(&b);
}
END_TEST

/* ---- admin.close_client ---- */

START_TEST(close_client_drops_it_and_its_handles)
{
	struct tconn a, b;
	long long conn_a, conn_b, h1, h2;
	int baseline;
	json_object *j;

	start_with(NULL);
	baseline = hx_baseline_fds(&D);
	hx_open_conn(&a, &D);
	hx_open_conn(&b, &D);
	conn_a = my_connection(&a);
	conn_b = my_connection(&b);
	h1 = new_socket(&b);
	h2 = new_socket(&b);

	/* Not one's own connection, not an unknown one. */
	hx_bad_param(&a, "connection", "admin.close_client", "{\"connection\":%lld}", conn_a);
	hx_bad_param(&a, "connection", "admin.close_client", "{\"connection\":%lld}", conn_b + 1000);
	hx_bad_param(&a, "connection", "admin.close_client", "{\"connection\":\"x\"}");

	hx_ok(&a, "admin.close_client", "{\"connection\":%lld}", conn_b);
	ck_assert_msg(tconn_wait_eof(&b, hx_timeout_ms), "the closed client's socket did not reach EOF");

	j = hx_ok(&a, "admin.clients", NULL);
	ck_assert_ptr_null(find_by(j, "clients", "connection", conn_b));
	ck_assert_ptr_nonnull(find_by(j, "clients", "connection", conn_a));
	j = hx_ok(&a, "admin.sockets", NULL);
	ck_assert_ptr_null(find_by(j, "sockets", "handle", h1));
	ck_assert_ptr_null(find_by(j, "sockets", "handle", h2));
	hx_err(&a, -32011, "admin.close_socket", "{\"handle\":%lld}", h1);
	/* And gone twice is unknown. */
	hx_bad_param(&a, "connection", "admin.close_client", "{\"connection\":%lld}", conn_b);

	tconn_close(&a);
	tconn_close(&b);
	/* Its socket, its pidfd and both handles are closed: back to baseline. */
	hx_check_recovered(&D, baseline);
}
END_TEST

/* ---- admin.stats ---- */

static void counts(json_object *stats, const char *rule, long long *allowed, long long *denied)
{
	json_object *arr = jpath(stats, "rules");

	*allowed = *denied = -1;
	if (!rule) {
		*allowed = jpath_int(stats, "unmatched.allowed", -1);
		*denied = jpath_int(stats, "unmatched.denied", -1);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		if (strcmp(jpath_str(e, "rule"), rule) == 0) {
			*allowed = jpath_int(e, "allowed", -1);
			*denied = jpath_int(e, "denied", -1);
		}
	}
	ck_assert_msg(*allowed >= 0, "no counters of rule %s: %s", rule, json_object_to_json_string(stats));
}

START_TEST(stats_count_decisions)
{
	struct tconn a;
	long long ta0, td0, sa0, sd0, ua0, ud0, ta1, td1, sa1, sd1, ua1, ud1, req0, h;
	json_object *s0, *s1;

	start_with(NULL);
	hx_open_conn(&a, &D);
	s0 = hx_ok(&a, "admin.stats", NULL);
	counts(s0, "tester", &ta0, &td0);
	counts(s0, "no smtp", &sa0, &sd0);
	counts(s0, NULL, &ua0, &ud0);
	req0 = jpath_int(s0, "server.requests", -1);
	ck_assert_int_ge(req0, 1);
	ck_assert_str_eq(jpath_str(s0, "policy.source"), ppath);
	ck_assert_int_eq(jpath_int(s0, "policy.rules", -1), 5);
	ck_assert_int_eq(jpath_int(s0, "policy.generation", -1), 1);
	ck_assert_int_eq(jpath_int(s0, "policy.reloads", -1), 0);
	ck_assert_int_eq(jpath_int(s0, "policy.reload_failures", -1), 0);
	ck_assert_int_eq(jpath_int(s0, "server.connections", -1), 1);

	h = new_socket(&a);                                          /* tester allows */
	/* Deny wins, and names its rule; then a request no rule allows. */
	hx_denied(&a, "no smtp", "denies connect", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",25]}",
	          h);
	hx_denied(&a, NULL, "no rule allows bind", "socket.bind", "{\"handle\":%lld,\"address\":[\"0.0.0.0\",80]}", h);

	s1 = hx_ok(&a, "admin.stats", NULL);
	counts(s1, "tester", &ta1, &td1);
	counts(s1, "no smtp", &sa1, &sd1);
	counts(s1, NULL, &ua1, &ud1);
	/* The create, and this admin.stats itself (decided before it runs). */
	ck_assert_int_eq(ta1 - ta0, 2);
	ck_assert_int_eq(td1 - td0, 0);
	ck_assert_int_eq(sd1 - sd0, 1);
	ck_assert_int_eq(sa1 - sa0, 0);
	ck_assert_int_eq(ud1 - ud0, 1);
	ck_assert_int_eq(ua1 - ua0, 0);
	ck_assert_int_eq(jpath_int(s1, "server.requests", -1) - req0, 4);
	ck_assert_int_eq(jpath_int(s1, "server.sockets", -1), 1);
	tconn_close(&a);
}
END_TEST

/* ---- daemon.reload ---- */

/* The tester's own bind of 127.0.0.1:0 on a fresh socket: allowed, or
 * denied by the policy (nothing else). */
static bool may_bind_loopback(struct tconn *t)
{
	long long h = new_socket(t);
	json_object *j = hx_rpc(t, "socket.bind", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",0]}", h);
	bool allowed = reply_error_code(j) == 0;

	if (allowed)
		hx_expect_ok(j, "bind of 127.0.0.1:0");
	else
		hx_expect_err(j, -32010, "bind of 127.0.0.1:0");
	hx_close_handle(t, h);
	return allowed;
}

START_TEST(reload_switches_policy)
{
	struct tconn a;
	char text[1024];
	json_object *j;

	start_with(NULL);
	hx_open_conn(&a, &D);
	ck_assert(may_bind_loopback(&a));
	/* The same tester, without bind. */
	snprintf(text, sizeof(text),
	         "{ \"version\": 1, \"rules\": [\n"
	         "  { \"name\": \"tester, no bind\", \"match\": { \"uid\": %u },\n"
	         "    \"allow\": [ { \"action\": \"admin\" }, { \"action\": \"create\" } ] } ] }\n", EUID);
	write_file(ppath, text);
	j = hx_ok(&a, "daemon.reload", NULL);
	ck_assert_int_eq(jpath_int(j, "generation", -1), 2);
	ck_assert_int_eq(jpath_int(j, "rules", -1), 1);
	ck_assert_str_eq(jpath_str(j, "source"), ppath);
	ck_assert(!may_bind_loopback(&a));
	/* The connection's matching rules follow the new policy. */
	j = hx_ok(&a, "daemon.whoami", NULL);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(jpath(j, "rules"), 0)),
	                 "tester, no bind");
	j = hx_ok(&a, "admin.stats", NULL);
	ck_assert_int_eq(jpath_int(j, "policy.generation", -1), 2);
	ck_assert_int_eq(jpath_int(j, "policy.reloads", -1), 1);
	tconn_close(&a);
}
END_TEST

START_TEST(reload_broken_keeps_old_policy)
{
	struct tconn a;
	char text[1024];
	const char *reason;
	json_object *j;

	start_with(NULL);
	hx_open_conn(&a, &D);
	/* Line 4 holds the impossible port; its member starts at column 36. */
	snprintf(text, sizeof(text),
	         "{ \"version\": 1, \"rules\": [\n"
	         "  { \"name\": \"broken\", \"match\": { \"uid\": %u },\n"
	         "    \"allow\": [ { \"action\": \"admin\" },\n"
	         "               { \"action\": \"bind\", \"port\": 70000 } ] } ] }\n", EUID);
	write_file(ppath, text);
	j = hx_os_err(&a, "EINVAL", "daemon.reload", NULL);
	ck_assert_int_eq(jpath_int(j, "data.errno", -1), EINVAL);
	ck_assert_str_eq(jpath_str(j, "data.file"), ppath);
	ck_assert_int_eq(jpath_int(j, "data.line", -1), 4);
	ck_assert_int_eq(jpath_int(j, "data.column", -1), 36);
	ck_assert_str_eq(jpath_str(j, "data.where"), "rules[0].allow[1].port");
	reason = jpath_str(j, "data.reason");
	ck_assert_ptr_nonnull(reason);
	ck_assert_msg(strstr(reason, ppath) == reason && strstr(reason, ":4:36: rules[0].allow[1].port: ") &&
	              strstr(reason, "70000"), "reason: %s", reason);
	ck_assert_ptr_nonnull(strstr(jpath_str(j, "message"), "the old policy stays"));

	/* The old policy decides still. */
	ck_assert(may_bind_loopback(&a));
	j = hx_ok(&a, "admin.stats", NULL);
	ck_assert_int_eq(jpath_int(j, "policy.generation", -1), 1);
	ck_assert_int_eq(jpath_int(j, "policy.reloads", -1), 0);
	ck_assert_int_eq(jpath_int(j, "policy.reload_failures", -1), 1);
	ck_assert_int_eq(jpath_int(j, "policy.rules", -1), 5);
	/* A missing file is an error of the file as a whole. */
	ck_assert_int_eq(unlink(ppath), 0);
	j = hx_os_err(&a, "ENOENT", "daemon.reload", NULL);
	ck_assert_int_eq(jpath_int(j, "data.line", -1), 0);
	ck_assert(may_bind_loopback(&a));
	tconn_close(&a);
}
END_TEST

/* ---- policy.check ---- */

/* policy.check as `as` of method with params: the result object, allowed
 * as want, and the deciding rule as rule (NULL: none). */
static json_object *check(struct tconn *t, bool want, const char *rule, const char *as, const char *method,
                          const char *params)
{
	json_object *r = hx_ok(t, "policy.check", "{\"as\":%s,\"request\":{\"method\":\"%s\",\"params\":%s}}", as,
	                       method, params);

	ck_assert_msg(json_object_get_boolean(jpath(r, "allowed")) == want, "%s %s as %s: want %s: %s", method, params,
	              as, want ? "allowed" : "denied", json_object_to_json_string(r));
	if (rule)
		ck_assert_msg(jpath_str(r, "rule") && strcmp(jpath_str(r, "rule"), rule) == 0, "%s %s: want rule %s: %s",
		              method, params, rule, json_object_to_json_string(r));
	else
		ck_assert_msg(jpath(r, "rule") == NULL, "%s %s: want no rule: %s", method, params,
		              json_object_to_json_string(r));
	ck_assert_ptr_nonnull(jpath_str(r, "reason"));
	ck_assert(json_object_is_type(jpath(r, "checks"), json_type_array));
	return r;
}

/* check() when only the decision and its rule matter. */
static void expect(struct tconn *t, bool want, const char *rule, const char *as, const char *method,
                   const char *params)
{
	check(t, want, rule, as, method, params);
}

START_TEST(policy_check_decisions)
{
	struct tconn a;
	char other[64], pinger[128];
	json_object *j, *r, *c;

	start_with(NULL);
	hx_open_conn(&a, &D);
	snprintf(other, sizeof(other), "{\"uid\":%u}", OTHER);
	snprintf(pinger, sizeof(pinger), "{\"uid\":%u,\"exe\":\"/usr/bin/pinger\"}", OTHER);

	/* bind: the contract's example rule, by port. */
	r = check(&a, true, "web servers bind 80 and 443", other, "socket.bind",
	          "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\",\"address\":[\"0.0.0.0\",80]}");
	ck_assert_ptr_nonnull(strstr(jpath_str(r, "reason"), "allows bind of AF_INET SOCK_STREAM on 0.0.0.0:80"));
	ck_assert_int_eq(json_object_array_length(jpath(r, "checks")), 1);
	c = json_object_array_get_idx(jpath(r, "checks"), 0);
	ck_assert_str_eq(jpath_str(c, "action"), "bind");
	ck_assert(json_object_get_boolean(jpath(c, "allowed")));
	ck_assert_int_eq(jpath_int(r, "as.uid", -1), OTHER);
	/* The socket defaults to AF_INET SOCK_STREAM, as the decisions say. */
	expect(&a, true, "web servers bind 80 and 443", other, "socket.bind",
	                      "{\"address\":[\"0.0.0.0\",443]}");
	r = check(&a, false, NULL, other, "socket.bind", "{\"address\":[\"0.0.0.0\",8080]}");
	ck_assert_ptr_nonnull(strstr(jpath_str(r, "reason"), "no rule allows bind"));
	/* UDP is not in the grant. */
	expect(&a, false, NULL, other, "socket.bind",
	                      "{\"type\":\"SOCK_DGRAM\",\"address\":[\"0.0.0.0\",80]}");

	/* connect with a host name: the daemon resolves it and pins the socket. */
	r = check(&a, true, "api by name", other, "socket.connect_to", "{\"address\":[\"localhost\",443]}");
	ck_assert_int_ge(json_object_array_length(jpath(r, "checks")), 1);
	for (size_t i = 0; i < json_object_array_length(jpath(r, "checks")); i++) {
		c = json_object_array_get_idx(jpath(r, "checks"), i);
		ck_assert_str_eq(jpath_str(c, "action"), "connect");
		ck_assert_str_eq(jpath_str(c, "host"), "localhost");
		ck_assert_int_eq(jpath_int(c, "address.port", -1), 443);
	}
	r = check(&a, true, "api by name", other, "socket.connect", "{\"address\":[\"localhost\",443]}");
	c = json_object_array_get_idx(jpath(r, "checks"), 0);
	ck_assert_str_eq(jpath_str(c, "address.host"), "127.0.0.1");
	/* The same address given as a literal: a host-only grant does not cover it. */
	expect(&a, false, NULL, other, "socket.connect", "{\"address\":[\"127.0.0.1\",443]}");
	/* Another port of the same name: no grant. */
	expect(&a, false, NULL, other, "socket.connect_to", "{\"address\":[\"localhost\",8443]}");
	/* Deny wins, and names its rule. */
	r = check(&a, false, "no smtp", other, "socket.connect", "{\"address\":[\"localhost\",25]}");
	ck_assert_ptr_nonnull(strstr(jpath_str(r, "reason"), "denies connect"));
	/* A name that does not resolve: the method's own error. */
	hx_err(&a, -32001, "policy.check",
	                    "{\"as\":%s,\"request\":{\"method\":\"socket.connect_to\",\"params\":"
	                    "{\"address\":[\"no-such-host.invalid\",443]}}}", other);

	/* create: the rule needs the executable too. */
	expect(&a, true, "monitoring may ping", pinger, "socket.create",
	                      "{\"family\":\"AF_INET\",\"type\":\"SOCK_RAW\",\"proto\":\"IPPROTO_ICMP\"}");
	expect(&a, false, NULL, other, "socket.create",
	                      "{\"family\":\"AF_INET\",\"type\":\"SOCK_RAW\",\"proto\":\"IPPROTO_ICMP\"}");
	/* A bind grant covers create of its family and type. */
	expect(&a, true, "web servers bind 80 and 443", other, "socket.create",
	                      "{\"family\":\"AF_INET6\"}");

	/* resolve: host selectors judge the name asked. */
	r = check(&a, true, "api by name", other, "net.getaddrinfo", "{\"host\":\"localhost\",\"port\":null}");
	c = json_object_array_get_idx(jpath(r, "checks"), 0);
	ck_assert_str_eq(jpath_str(c, "action"), "resolve");
	ck_assert_str_eq(jpath_str(c, "host"), "localhost");
	expect(&a, false, NULL, other, "net.getaddrinfo", "{\"host\":\"example.org\",\"port\":80}");
	expect(&a, true, "api by name", other, "net.gethostbyname", "{\"hostname\":\"localhost\"}");

	/* listen_on is a bind and a listen; a bind grant implies the listen. */
	r = check(&a, true, "web servers bind 80 and 443", other, "socket.listen_on", "{\"address\":[\"0.0.0.0\",80]}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "checks")), 2);
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(r, "checks"), 1), "action"), "listen");
	ck_assert(json_object_get_boolean(jpath(json_object_array_get_idx(jpath(r, "checks"), 1), "allowed")));
	/* Handing the descriptor out needs an explicit create grant, which OTHER lacks. */
	r = check(&a, false, NULL, other, "socket.listen_on", "{\"address\":[\"0.0.0.0\",80],\"pass\":true}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "checks")), 3);
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(r, "checks"), 2), "action"), "create");
	expect(&a, false, NULL, other, "socket.fd", "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	expect(&a, false, NULL, other, "socket.accept", "{\"pass\":true}");
	/* Accepting onto a handle is the caller's own business once a rule matches. */
	expect(&a, true, "web servers bind 80 and 443", other, "socket.accept", "{}");
	snprintf(pinger, sizeof(pinger), "{\"uid\":%u}", EUID);
	expect(&a, true, "tester", pinger, "socket.detach", "{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}");
	expect(&a, true, "tester", pinger, "socket.connect_to", "{\"address\":[\"127.0.0.1\",80],\"pass\":true}");
	expect(&a, false, NULL, other, "socket.connect_to", "{\"address\":[\"localhost\",443],\"pass\":true}");
	expect(&a, true, "api by name", other, "socket.connect_to", "{\"address\":[\"localhost\",443]}");

	/* Socket options: only those the kernel reserves to privilege are governed. */
	snprintf(pinger, sizeof(pinger), "{\"uid\":%u}", EUID);
	r = check(&a, false, NULL, pinger, "socket.setsockopt",
	          "{\"level\":\"SOL_SOCKET\",\"option\":\"SO_MARK\",\"value\":1}");
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(r, "checks"), 0), "action"), "setsockopt");
	r = check(&a, true, "tester", pinger, "socket.setsockopt",
	          "{\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":1}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "checks")), 0);
	ck_assert_ptr_nonnull(strstr(jpath_str(r, "reason"), "does not govern"));
	/* Ungoverned, yet only for a caller some rule matches, as the method. */
	expect(&a, false, NULL, "{\"uid\":4242}", "socket.setsockopt",
	       "{\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":1}");
	expect(&a, false, NULL, "{\"uid\":4242}", "socket.sendmsg", "{\"type\":\"SOCK_DGRAM\",\"buffers\":[]}");
	/* As the kernel: SO_PRIORITY 0-6 is anyone's, 7 needs the privilege. */
	r = check(&a, true, "tester", pinger, "socket.setsockopt",
	          "{\"level\":\"SOL_SOCKET\",\"option\":\"SO_PRIORITY\",\"value\":6}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "checks")), 0);
	expect(&a, false, NULL, pinger, "socket.setsockopt",
	       "{\"level\":\"SOL_SOCKET\",\"option\":\"SO_PRIORITY\",\"value\":7}");
	expect(&a, true, "tester", pinger, "socket.sendmsg",
	       "{\"type\":\"SOCK_DGRAM\",\"address\":[\"127.0.0.1\",53],"
	       "\"ancdata\":[{\"level\":\"SOL_SOCKET\",\"type\":\"SO_PRIORITY\",\"data\":\"AwAAAA==\"}]}");
	/* sendmsg: its destination is a connect; privileged ancillary data a setsockopt. */
	r = check(&a, true, "tester", pinger, "socket.sendmsg",
	          "{\"type\":\"SOCK_DGRAM\",\"buffers\":[],\"address\":[\"127.0.0.1\",53]}");
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(r, "checks"), 0), "action"), "connect");
	r = check(&a, false, NULL, pinger, "socket.sendmsg",
	          "{\"type\":\"SOCK_DGRAM\",\"address\":[\"127.0.0.1\",53],"
	          "\"ancdata\":[{\"level\":\"SOL_SOCKET\",\"type\":\"SO_MARK\",\"data\":\"AQAAAA==\"}]}");
	ck_assert_int_eq(json_object_array_length(jpath(r, "checks")), 2);
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(r, "checks"), 1), "action"), "setsockopt");
	/* sendto to a name: resolved for the socket's family, like the method. */
	expect(&a, true, "tester", pinger, "socket.sendto",
	       "{\"type\":\"SOCK_DGRAM\",\"text\":\"x\",\"address\":[\"localhost\",53]}");

	/* Introspection, admin, and methods on one's own handles. */
	r = check(&a, true, NULL, other, "daemon.info", "{}");
	ck_assert_str_eq(jpath_str(r, "reason"), "introspection is always allowed");
	expect(&a, false, NULL, other, "admin.stats", "{}");
	expect(&a, true, "web servers bind 80 and 443", other, "socket.accept", "{}");
	expect(&a, false, NULL, "{\"uid\":4242}", "socket.accept", "{}");
	/* The tester as a user name from the user database when it has one. */
	if (EUID == 0)
		expect(&a, true, "tester", "{\"user\":\"root\"}", "admin.clients", "{}");
	/* Supplementary groups by number are taken as given. */
	snprintf(pinger, sizeof(pinger), "{\"uid\":%u,\"gid\":5,\"groups\":[7,8]}", EUID);
	r = check(&a, true, "tester", pinger, "socket.accept", "{}");
	ck_assert_int_eq(jpath_int(r, "as.gid", -1), 5);
	ck_assert_int_eq(json_object_array_length(jpath(r, "as.groups")), 2);

	/* policy.check itself decides nothing the daemon counts. */
	j = hx_ok(&a, "admin.stats", NULL);
	{
		long long al, de;
		counts(j, "web servers bind 80 and 443", &al, &de);
		ck_assert_int_eq(al, 0);
		ck_assert_int_eq(de, 0);
	}
	tconn_close(&a);
}
END_TEST

START_TEST(policy_check_malformed)
{
	struct tconn a;
	char as[64];

	start_with(NULL);
	hx_open_conn(&a, &D);
	snprintf(as, sizeof(as), "{\"uid\":%u}", OTHER);
	hx_bad_param(&a, "request.method", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.nope\",\"params\":{}}}", as);
	hx_bad_param(&a, "request.method", "policy.check", "{\"as\":%s,\"request\":{\"params\":{}}}", as);
	hx_bad_param(&a, "request.params", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.bind\",\"params\":[1]}}", as);
	hx_bad_param(&a, "request.params", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.bind\",\"params\":null}}", as);
	/* data.param names the member inside the address: its port, in the tuple form. */
	hx_bad_param(&a, "request.params.address[1]", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.bind\",\"params\":{\"address\":[\"1.2.3.4\",70000]}}}", as);
	hx_bad_param(&a, "request.params.address", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.bind\",\"params\":{}}}", as);
	hx_bad_param(&a, "request.params.family", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.create\",\"params\":{\"family\":\"AF_NOPE\"}}}", as);
	hx_bad_param(&a, "request.params.family", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.bind\",\"params\":{\"family\":\"AF_NOPE\","
	    "\"address\":[\"1.2.3.4\",80]}}}", as);
	hx_bad_param(&a, "request.params.bogus", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.create\",\"params\":{\"bogus\":1}}}", as);
	hx_bad_param(&a, "request.params.handle", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.bind\",\"params\":{\"handle\":3,\"address\":[\"1.2.3.4\",80]}}}",
	    as);
	hx_bad_param(&a, "request.params.option", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.setsockopt\",\"params\":{\"level\":\"SOL_SOCKET\","
	    "\"option\":\"SO_NOPE\",\"value\":1}}}", as);
	hx_bad_param(&a, "request.params.address", "policy.check",
	    "{\"as\":%s,\"request\":{\"method\":\"socket.connect_to\",\"params\":{\"address\":[\"localhost\",70000]}}}",
	    as);
	/* The caller described wrongly. */
	hx_bad_param(&a, "as", "policy.check", "{\"as\":{},\"request\":{\"method\":\"daemon.ping\"}}");
	hx_bad_param(&a, "as.uid", "policy.check", "{\"as\":{\"uid\":\"x\"},\"request\":{\"method\":\"daemon.ping\"}}");
	hx_bad_param(&a, "as.uid", "policy.check", "{\"as\":{\"uid\":-1},\"request\":{\"method\":\"daemon.ping\"}}");
	hx_bad_param(&a, "as.user", "policy.check",
	    "{\"as\":{\"uid\":1,\"user\":\"root\"},\"request\":{\"method\":\"daemon.ping\"}}");
	hx_bad_param(&a, "as.user", "policy.check",
	    "{\"as\":{\"user\":\"no-such-user-xq\"},\"request\":{\"method\":\"daemon.ping\"}}");
	hx_bad_param(&a, "as.groups[1]", "policy.check",
	    "{\"as\":{\"uid\":1,\"groups\":[1,\"no-such-group-xq\"]},\"request\":{\"method\":\"daemon.ping\"}}");
	hx_bad_param(&a, "as.shoe", "policy.check",
	    "{\"as\":{\"uid\":1,\"shoe\":1},\"request\":{\"method\":\"daemon.ping\"}}");
	hx_bad_param(&a, "as", "policy.check", "{\"request\":{\"method\":\"daemon.ping\"}}");
	/* The connection is fine afterwards. */
	hx_info_ok(&a);
	tconn_close(&a);
}
END_TEST

/* ---- a caller without the admin action: the daemon's own user keeps it ---- */

START_TEST(non_admin_denied)
{
	static const char *const methods[] = {
		"admin.clients", "admin.sockets", "admin.close_client", "admin.close_socket", "admin.stats",
		"daemon.reload", "policy.check", "admin.audit", "policy.rules",
	};
	struct tconn a;
	char text[512];
	unsigned nogrant = 65532;   /* matches no rule */

	while (nogrant == EUID || nogrant == OTHER || nogrant == 0)
		nogrant--;
	snprintf(text, sizeof(text),
	         "{ \"version\": 1, \"rules\": [\n"
	         "  { \"name\": \"tester, no admin\", \"match\": { \"uid\": %u },\n"
	         "    \"allow\": [ { \"action\": \"create\" }, { \"action\": \"resolve\" } ] },\n"
	         "  { \"name\": \"someone else administers\", \"match\": { \"uid\": %u },\n"
	         "    \"allow\": [ { \"action\": \"admin\" } ] } ] }\n",
	         EUID, OTHER);
	start_with(text);
	hx_open_conn(&a, &D);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		json_object *r;
		/* The tester is the daemon's own user (and root under CI): it keeps
		 * admin whatever the policy says (contract v1.1). */
		const char *params = strcmp(methods[i], "policy.check") == 0
		                         ? "{\"as\":{\"uid\":0},\"request\":{\"method\":\"daemon.ping\"}}"
		                     : strcmp(methods[i], "admin.close_client") == 0 ? "{\"connection\":1}"
		                     : strcmp(methods[i], "admin.close_socket") == 0 ? "{\"handle\":1}"
		                                                                     : "{}";
		r = hx_ok(&a, "policy.check", "{\"as\":{\"uid\":%u},\"request\":{\"method\":\"%s\",\"params\":%s}}",
		          EUID, methods[i], params);
		ck_assert_msg(json_object_get_boolean(jpath(r, "allowed")) && !jpath(r, "rule") &&
		              strstr(hx_gets(r, "reason"), "keeps admin"),
		              "%s for the daemon's own user: %s", methods[i], json_object_to_json_string(r));
		/* Anyone else without a grant is refused, and no rule decides. */
		r = hx_ok(&a, "policy.check", "{\"as\":{\"uid\":%u},\"request\":{\"method\":\"%s\",\"params\":%s}}",
		          nogrant, methods[i], params);
		ck_assert_msg(!json_object_get_boolean(jpath(r, "allowed")) && !jpath(r, "rule"),
		              "%s for a uid without a grant: %s", methods[i], json_object_to_json_string(r));
	}
	hx_ok(&a, "admin.stats", NULL);
	/* What the policy does grant still works. */
	new_socket(&a);
	tconn_close(&a);
}
END_TEST


/* ---- admin.audit: the ring of the last records ---- */

static long long rec_seq(json_object *res, size_t i)
{
	return jpath_int(json_object_array_get_idx(jpath(res, "records"), i), "seq", -1);
}

static const char *rec_str(json_object *res, size_t i, const char *key)
{
	return jpath_str(json_object_array_get_idx(jpath(res, "records"), i), key);
}

/* The records of res are seqs lo..hi, in order. */
static void expect_seqs(json_object *res, long long lo, long long hi)
{
	size_t n = json_object_array_length(jpath(res, "records"));

	ck_assert_msg((long long)n == hi - lo + 1, "want seqs %lld..%lld: %s", lo, hi, json_object_to_json_string(res));
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(rec_seq(res, i), lo + (long long)i);
}

START_TEST(audit_ring_keeps_the_last_n)
{
	struct tconn a;
	long long h, last;
	json_object *j;

	/* A ring of 5: eight creates and the admin.audit make nine records. */
	start_ring(NULL, "5");
	hx_open_conn(&a, &D);
	for (int i = 0; i < 8; i++)
		h = new_socket(&a);
	j = hx_ok(&a, "admin.audit", NULL);
	last = hx_geti(j, "last");
	ck_assert_int_ge(last, 9);
	ck_assert_int_eq(hx_geti(j, "first"), last - 4);
	expect_seqs(j, last - 4, last);
	/* The newest is this very call, decided before it ran; then the creates. */
	ck_assert_str_eq(rec_str(j, 4, "method"), "admin.audit");
	ck_assert_str_eq(rec_str(j, 4, "decision"), "allow");
	ck_assert_str_eq(rec_str(j, 4, "rule"), "tester");
	ck_assert_str_eq(rec_str(j, 3, "method"), "socket.create");
	ck_assert_str_eq(rec_str(j, 3, "action"), "create");
	ck_assert_int_eq(jpath_int(json_object_array_get_idx(jpath(j, "records"), 3), "uid", -1), EUID);
	ck_assert_ptr_nonnull(rec_str(j, 3, "time"));

	/* since: the records after it, oldest first, at most limit. Each call
	 * adds its own record, so the ring moves on by one each time. */
	j = hx_ok(&a, "admin.audit", "{\"since\":%lld,\"limit\":2}", last - 2);
	expect_seqs(j, last - 1, last);
	ck_assert_int_eq(hx_geti(j, "first"), last - 3);
	ck_assert_int_eq(hx_geti(j, "last"), last + 1);
	/* since older than the ring: from the oldest kept. */
	j = hx_ok(&a, "admin.audit", "{\"since\":0,\"limit\":1}");
	expect_seqs(j, last - 2, last - 2);
	/* Nothing after the newest. */
	j = hx_ok(&a, "admin.audit", "{\"since\":%lld}", last + 1000);
	ck_assert_int_eq(json_object_array_length(jpath(j, "records")), 0);
	ck_assert_int_eq(hx_geti(j, "last"), last + 3);
	/* Without since: the newest limit records. */
	j = hx_ok(&a, "admin.audit", "{\"limit\":2}");
	expect_seqs(j, last + 3, last + 4);

	/* A denial, with what it was about. */
	hx_denied(&a, "no smtp", "denies connect", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",25]}",
	          h);
	j = hx_ok(&a, "admin.audit", "{\"limit\":2}");
	ck_assert_str_eq(rec_str(j, 0, "decision"), "deny");
	ck_assert_str_eq(rec_str(j, 0, "rule"), "no smtp");
	ck_assert_str_eq(rec_str(j, 0, "method"), "socket.connect");
	ck_assert_str_eq(rec_str(j, 0, "address"), "127.0.0.1");
	ck_assert_int_eq(jpath_int(json_object_array_get_idx(jpath(j, "records"), 0), "port", -1), 25);

	/* The bounds of the params. */
	hx_bad_param(&a, "limit", "admin.audit", "{\"limit\":0}");
	hx_bad_param(&a, "limit", "admin.audit", "{\"limit\":1001}");
	hx_bad_param(&a, "since", "admin.audit", "{\"since\":-1}");
	hx_bad_param(&a, "since", "admin.audit", "{\"since\":\"x\"}");
	hx_bad_param(&a, "bogus", "admin.audit", "{\"bogus\":1}");
	j = hx_ok(&a, "admin.audit", "{\"limit\":1000}");
	ck_assert_int_eq(json_object_array_length(jpath(j, "records")), 5);
	tconn_close(&a);
}
END_TEST

START_TEST(audit_ring_off)
{
	struct tconn a;
	json_object *j;

	start_ring(NULL, "0");
	hx_open_conn(&a, &D);
	new_socket(&a);
	j = hx_ok(&a, "admin.audit", NULL);
	ck_assert_int_eq(json_object_array_length(jpath(j, "records")), 0);
	ck_assert_int_eq(hx_geti(j, "first"), 0);
	ck_assert_int_eq(hx_geti(j, "last"), 0);
	/* daemon.info shows the limit. */
	j = hx_ok(&a, "daemon.info", NULL);
	ck_assert_int_eq(hx_geti(j, "limits.audit_ring"), 0);
	tconn_close(&a);
}
END_TEST

/* ---- policy.rules ---- */

static json_object *rule_named(json_object *res, const char *name)
{
	json_object *arr = jpath(res, "rules");

	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(jpath_str(json_object_array_get_idx(arr, i), "name"), name) == 0)
			return json_object_array_get_idx(arr, i);
	ck_abort_msg("no rule %s: %s", name, json_object_to_json_string(res));
	return NULL;
}

START_TEST(policy_rules_as_written)
{
	struct tconn a;
	long long h;
	json_object *j, *r;

	start_with(NULL);
	hx_open_conn(&a, &D);
	h = new_socket(&a);
	hx_denied(&a, "no smtp", "denies connect", "socket.connect", "{\"handle\":%lld,\"address\":[\"127.0.0.1\",25]}",
	          h);
	hx_denied(&a, NULL, "no rule allows bind", "socket.bind", "{\"handle\":%lld,\"address\":[\"0.0.0.0\",80]}", h);
	j = hx_ok(&a, "policy.rules", NULL);
	ck_assert_str_eq(hx_gets(j, "source"), ppath);
	ck_assert_int_eq(hx_geti(j, "generation"), 1);
	ck_assert_int_eq(json_object_array_length(jpath(j, "rules")), 5);
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(j, "rules"), 0), "name"), "tester");

	r = rule_named(j, "tester");
	ck_assert_str_eq(hx_gets(r, "file"), ppath);
	ck_assert_int_eq(hx_geti(r, "line"), 4);
	ck_assert_int_eq(hx_geti(r, "match.uid"), EUID);
	ck_assert_int_eq(json_object_array_length(jpath(r, "allow")), 6);
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(r, "allow"), 3), "address"), "127.0.0.1/32");
	ck_assert(json_object_is_type(jpath(r, "deny"), json_type_null));
	ck_assert(json_object_is_type(jpath(r, "limits"), json_type_null));
	/* The create and this call. */
	ck_assert_int_eq(hx_geti(r, "allowed"), 2);
	ck_assert_int_eq(hx_geti(r, "denied"), 0);
	ck_assert_int_eq(json_object_array_length(jpath(r, "warnings")), 0);

	r = rule_named(j, "no smtp");
	ck_assert_int_eq(hx_geti(r, "line"), 18);
	ck_assert_int_eq(json_object_array_length(jpath(r, "match.uid")), 2);
	ck_assert_int_eq(jpath_int(json_object_array_get_idx(jpath(r, "deny"), 0), "port", -1), 25);
	ck_assert(json_object_is_type(jpath(r, "allow"), json_type_null));
	ck_assert_int_eq(hx_geti(r, "denied"), 1);
	ck_assert_int_eq(hx_geti(r, "allowed"), 0);

	r = rule_named(j, "api by name");
	ck_assert_int_eq(hx_geti(r, "line"), 12);
	ck_assert_str_eq(jpath_str(json_object_array_get_idx(jpath(r, "allow"), 0), "host"), "localhost");
	ck_assert_int_eq(hx_geti(j, "unmatched.denied"), 1);
	ck_assert_int_eq(hx_geti(j, "unmatched.allowed"), 0);
	tconn_close(&a);
}
END_TEST

/* A rule's load-time warning, and the embedded default (no file). */
START_TEST(policy_rules_warnings_and_default)
{
	struct tconn a;
	char text[1024];
	json_object *j, *r;

	snprintf(text, sizeof(text),
	         "{ \"version\": 1, \"rules\": [\n"
	         "  { \"name\": \"tester\", \"match\": { \"uid\": %u }, \"allow\": [ { \"action\": \"admin\" } ] },\n"
	         "  { \"name\": \"by exe\", \"match\": { \"exe\": \"/usr/bin/pinger\" },\n"
	         "    \"allow\": [ { \"action\": \"create\" } ] } ] }\n",
	         EUID);
	start_with(text);
	hx_open_conn(&a, &D);
	j = hx_ok(&a, "policy.rules", NULL);
	r = rule_named(j, "by exe");
	ck_assert_int_eq(hx_geti(r, "line"), 3);
	ck_assert_msg(json_object_array_length(jpath(r, "warnings")) == 1, "%s", json_object_to_json_string(r));
	ck_assert_int_eq(json_object_array_length(jpath(rule_named(j, "tester"), "warnings")), 0);
	tconn_close(&a);

	/* No policy file in the directory: the embedded default. */
	{
		char dir[PATH_MAX + 32];
		const char *args[] = { "--policy", dir, NULL };
		struct sbd D2 = { 0 };

		snprintf(dir, sizeof(dir), "%s/empty.d", pdir);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		hx_start(&D2, args);
		hx_open_conn(&a, &D2);
		j = hx_ok(&a, "policy.rules", NULL);
		ck_assert_str_eq(hx_gets(j, "source"), "embedded default");
		ck_assert_int_eq(json_object_array_length(jpath(j, "rules")), 1);
		r = json_object_array_get_idx(jpath(j, "rules"), 0);
		ck_assert_str_eq(hx_gets(r, "name"), "embedded default");
		ck_assert(json_object_is_type(jpath(r, "file"), json_type_null));
		ck_assert_int_eq(hx_geti(r, "line"), 0);
		ck_assert(json_object_is_type(jpath(r, "allow"), json_type_array));
		tconn_close(&a);
		hx_stop(&D2);
		rmdir(dir);
	}
}
END_TEST

/* ---- nobody, whom the policy gives no admin action, is refused ---- */

static void nobody_refused(void)
{
	struct tconn t;
	json_object *j;

	hx_child_open(&t, &D);
	j = hx_child_call(&t, -32010, "admin.audit", "{}");
	if (!jpath_str(j, "error.data.reason"))
		hx_child_fail("admin.audit: no reason: %s", json_object_to_json_string(j));
	hx_child_call(&t, -32010, "admin.audit", "{\"since\":0,\"limit\":5}");
	hx_child_call(&t, -32010, "policy.rules", "{}");
	tconn_close(&t);
}

START_TEST(audit_and_rules_refused_to_nobody)
{
	struct tconn a;
	int report[2], st;
	char msg[1024];
	ssize_t n;
	pid_t pid;
	json_object *j;
	size_t k;

	if (!hx_need_root("admin.audit and policy.rules refused to nobody"))
		return;
	start_with(NULL);
	ck_assert_int_eq(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(report[0]);
		hx_child_report_fd = report[1];
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			hx_child_fail("cannot become nobody: %s", strerror(errno));
		nobody_refused();
		_exit(0);
	}
	close(report[1]);
	n = read(report[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(report[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the nobody child failed (status %d): %s", st, msg);

	/* Each refusal is in the ring, as nobody's. */
	hx_open_conn(&a, &D);
	j = hx_ok(&a, "admin.audit", "{\"limit\":4}");
	ck_assert_int_eq(json_object_array_length(jpath(j, "records")), 4);
	for (k = 0; k < 3; k++) {
		ck_assert_str_eq(rec_str(j, k, "decision"), "deny");
		ck_assert_int_eq(jpath_int(json_object_array_get_idx(jpath(j, "records"), k), "uid", -1), 65534);
	}
	ck_assert_str_eq(rec_str(j, 0, "method"), "admin.audit");
	ck_assert_str_eq(rec_str(j, 2, "method"), "policy.rules");
	tconn_close(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("it_admin");
	TCase *admin = hx_tcase(s, "admin", setup, teardown);
	TCase *reload = hx_tcase(s, "reload", setup, teardown);
	TCase *pcheck = hx_tcase(s, "policy.check", setup, teardown);

	tcase_add_test(admin, clients_lists_connections);
	tcase_add_test(admin, sockets_of_others_and_close_socket);
	tcase_add_test(admin, close_client_drops_it_and_its_handles);
	tcase_add_test(admin, stats_count_decisions);
	tcase_add_test(admin, non_admin_denied);
	tcase_add_test(admin, audit_ring_keeps_the_last_n);
	tcase_add_test(admin, audit_ring_off);
	tcase_add_test(admin, policy_rules_as_written);
	tcase_add_test(admin, policy_rules_warnings_and_default);
	tcase_add_test(admin, audit_and_rules_refused_to_nobody);
	tcase_add_test(reload, reload_switches_policy);
	tcase_add_test(reload, reload_broken_keeps_old_policy);
	tcase_add_test(pcheck, policy_check_decisions);
	tcase_add_test(pcheck, policy_check_malformed);
	return hx_main(s);
}
