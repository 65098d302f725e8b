/* The annotated example policies of examples/policy/ (found through $SRCDIR,
 * as make check sets it): every file loads with policy_load, and each does
 * what its README.md section says it does.
 *
 * The examples name users and groups (www-data, nagios, sandbox,
 * sockbroker-admin) that a machine may lack. The loader resolves names at
 * load time and loads a name it does not find as matching nobody (a warning):
 * the test says which name is missing and loads the file again with that name
 * replaced by a fixed numeric id, so its decisions are still checked on every
 * machine. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/policy.h"
#include "unit.h"

static char tmpdir[] = "/tmp/check_policy_examples.XXXXXX";
static char exdir[4096];

static const char *const expected_files[] = {
	"privileged-ports.json", "sandboxed-app.json", "icmp-monitor.json", "admin-group.json", "complete.json",
};

/* Ids used in place of names this machine does not have. */
static const struct {
	const char *name;
	bool group;
	long id;
} fallback_ids[] = {
	{ "www-data", false, 4333 },
	{ "nagios", false, 4343 },
	{ "sandbox", true, 4242 },
	{ "sockbroker-admin", true, 4444 },
};

/* The uid of a user or the gid of a group the examples name: the machine's,
 * else the fallback the test loads the example with. */
static long id_of(const char *name, bool group)
{
	if (group) {
		struct group *g = getgrnam(name);
		if (g)
			return (long)g->gr_gid;
	} else {
		struct passwd *pw = getpwnam(name);
		if (pw)
			return (long)pw->pw_uid;
	}
	for (size_t i = 0; i < sizeof(fallback_ids) / sizeof(fallback_ids[0]); i++)
		if (fallback_ids[i].group == group && !strcmp(fallback_ids[i].name, name))
			return fallback_ids[i].id;
	ck_abort_msg("the examples name %s \"%s\", which neither this machine nor the test knows",
	             group ? "group" : "user", name);
	return -1;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Replaces every `from` in *text by `to`; false when there is none. */
static bool replace_all(char **text, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	char *out, *o;
	const char *s;

	for (s = strstr(*text, from); s; s = strstr(s + fl, from))
		n++;
	if (!n)
		return false;
	out = malloc(strlen(*text) + n * tl + 1);
	ck_assert_ptr_nonnull(out);
	o = out;
	for (s = *text;;) {
		const char *hit = strstr(s, from);
		size_t head = hit ? (size_t)(hit - s) : strlen(s);
		memcpy(o, s, head);
		o += head;
		if (!hit)
			break;
		memcpy(o, to, tl);
		o += tl;
		s = hit + fl;
	}
	*o = '\0';
	free(*text);
	*text = out;
	return true;
}

/* Says once per file and name that the machine lacks it. */
static void note_missing(const char *file, bool group, const char *name, long id)
{
	static char seen[32][300];
	static size_t nseen;
	char key[300];

	snprintf(key, sizeof(key), "%s %s", file, name);
	for (size_t i = 0; i < nseen; i++)
		if (!strcmp(seen[i], key))
			return;
	if (nseen < 32)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s", key);
	fprintf(stderr, "check_policy_examples: %s: this machine has no %s \"%s\"; checking the file with %s %ld\n",
	        file, group ? "group" : "user", name, group ? "gid" : "uid", id);
}

/* The first user or group the loaded file names that this machine lacks
 * (the loader loads it, matching nobody, and records it): false when none. */
static bool unknown_name(const struct policy *p, char *name, size_t len, bool *group)
{
	struct policy_rule_view v;
	const char *q;

	for (size_t i = 0; policy_rule_view(p, i, &v) == 0; i++) {
		if (!v.nunknown)
			continue;
		*group = !strncmp(v.unknown[0], "group \"", 7);
		q = strchr(v.unknown[0], '"') + 1;
		ck_assert_uint_lt(strlen(q), len);
		snprintf(name, len, "%.*s", (int)(strlen(q) - 1), q);
		return true;
	}
	return false;
}

/* Loads examples/policy/<file>. Fails on any load error other than an unknown
 * user or group; for those, loads a copy with the name replaced by its id
 * everywhere. */
static struct policy *load_example(const char *file)
{
	char path[4096 + 256], copy[sizeof(tmpdir) + 256];
	struct policy_error err;
	struct policy *p = NULL;
	char *text = NULL;
	const char *at = path;
	int r;

	snprintf(path, sizeof(path), "%s/%s", exdir, file);
	for (int round = 0; round < 8; round++) {
		char name[256], from[300], to[64];
		bool group;
		long id;
		FILE *f;

		r = policy_load(at, false, &p, &err);
		ck_assert_msg(r == 0, "%s does not load%s: %s", file,
		              at == path ? "" : " (checked as a copy with ids in place of names)", err.text);
		ck_assert_ptr_nonnull(p);
		ck_assert(!policy_is_default(p));
		if (!unknown_name(p, name, sizeof(name), &group)) {
			free(text);
			return p;
		}
		policy_free(p);
		id = id_of(name, group);
		note_missing(file, group, name, id);
		if (!text)
			text = read_all(path);
		snprintf(from, sizeof(from), "\"%s\": \"%s\"", group ? "group" : "user", name);
		snprintf(to, sizeof(to), "\"%s\": %ld", group ? "gid" : "uid", id);
		ck_assert_msg(replace_all(&text, from, to), "%s: cannot find %s to replace", file, from);
		snprintf(copy, sizeof(copy), "%s/%s", tmpdir, file);
		f = fopen(copy, "w");
		ck_assert_ptr_nonnull(f);
		fputs(text, f);
		fclose(f);
		at = copy;
	}
	ck_abort_msg("%s: too many unknown names", file);
	return NULL;
}

/* ---- requests ---- */

static struct policy_subject user(const char *name)
{
	long id = id_of(name, false);

	return (struct policy_subject){ .uid = (uid_t)id, .gid = (gid_t)id };
}

/* Someone whose primary group is their own and who is in `group` as a
 * supplementary group. */
static struct policy_subject member(uid_t uid, const char *group, gid_t *store)
{
	*store = (gid_t)id_of(group, true);
	return (struct policy_subject){ .uid = uid, .gid = uid, .groups = store, .ngroups = 1 };
}

#define NOBODY 65534

static struct policy_request req(enum policy_action a, int family, int type, int proto)
{
	return (struct policy_request){ .action = a, .family = family, .type = type, .proto = proto, .level = -1,
		                        .option = -1 };
}

/* The create a descriptor handed to the client asks (pass, socket.fd,
 * socket.detach): only `create` entries cover it, not the create that bind and
 * connect entries imply. */
static struct policy_request hand_out(int family, int type, int proto)
{
	struct policy_request q = req(POLICY_CREATE, family, type, proto);

	q.explicit_create = true;
	return q;
}

static struct policy_request at(enum policy_action a, int family, int type, const char *ip, unsigned port,
                                const char *host)
{
	struct policy_request q = req(a, family, type, 0);

	q.have_addr = true;
	q.host = host;
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (void *)&q.addr;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (void *)&q.addr;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	}
	return q;
}

/* Asserts the decision and, when rule is not NULL, the deciding rule ("" for
 * "no rule"). */
static void expect_at(int line, const struct policy *p, const struct policy_subject *who, struct policy_request q,
                      bool allowed, const char *rule)
{
	struct policy_decision d;

	ck_assert_int_eq(policy_decide(p, who, &q, &d), 0);
	ck_assert_msg(d.allowed == allowed, "line %d: expected %s: %s", line, allowed ? "allowed" : "denied", d.reason);
	if (rule && !rule[0])
		ck_assert_msg(d.rule == NULL, "line %d: expected no deciding rule: %s", line, d.reason);
	else if (rule)
		ck_assert_msg(d.rule && !strcmp(d.rule, rule), "line %d: expected rule \"%s\": %s", line, rule, d.reason);
}
#define expect(...) expect_at(__LINE__, __VA_ARGS__)

/* ---- tests ---- */

static const char R_WWW[] = "www-data binds TCP ports 80 and 443 on any address";
static const char R_SB_LOCAL[] = "sandbox: the local API on 127.0.0.1, ports 8000-8999";
static const char R_SB_API[] = "sandbox: api.example.com on port 443, at the addresses the daemon resolved";
static const char R_SB_RESOLVE[] = "sandbox: name look-ups";
static const char R_SB_SMTP[] = "sandbox: never SMTP, whatever another rule allows";
static const char R_NAGIOS[] = "nagios creates raw ICMP and ICMPv6 sockets to ping";
static const char R_ADMIN[] = "members of sockbroker-admin administer the daemon";

/* Every *.json in the folder loads, the expected ones are there, and the
 * README has a section for each. */
START_TEST(every_example_loads)
{
	char readme_path[4096 + 64];
	char *readme;
	DIR *d = opendir(exdir);
	struct dirent *de;
	int n = 0;

	ck_assert_msg(d != NULL, "%s: %s (is SRCDIR set?)", exdir, strerror(errno));
	snprintf(readme_path, sizeof(readme_path), "%s/README.md", exdir);
	readme = read_all(readme_path);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char heading[600];
		if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		policy_free(load_example(de->d_name));
		snprintf(heading, sizeof(heading), "\n## %s\n", de->d_name);
		ck_assert_msg(strstr(readme, heading), "README.md has no section \"## %s\"", de->d_name);
		n++;
	}
	closedir(d);
	free(readme);
	ck_assert_int_ge(n, (int)(sizeof(expected_files) / sizeof(expected_files[0])));
	for (size_t i = 0; i < sizeof(expected_files) / sizeof(expected_files[0]); i++) {
		char path[4096 + 256];
		snprintf(path, sizeof(path), "%s/%s", exdir, expected_files[i]);
		ck_assert_msg(access(path, R_OK) == 0, "%s is missing", path);
	}
}
END_TEST

static void check_privileged_ports(const struct policy *p)
{
	struct policy_subject www = user("www-data"), nobody = { .uid = NOBODY, .gid = NOBODY };

	expect(p, &www, at(POLICY_BIND, AF_INET, SOCK_STREAM, "0.0.0.0", 80, NULL), true, R_WWW);
	expect(p, &www, at(POLICY_BIND, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, "192.0.2.7", 443, NULL), true, R_WWW);
	expect(p, &www, at(POLICY_BIND, AF_INET6, SOCK_STREAM, "::", 443, NULL), true, R_WWW);
	expect(p, &www, at(POLICY_LISTEN, AF_INET6, SOCK_STREAM, "::", 80, NULL), true, R_WWW);
	expect(p, &www, req(POLICY_CREATE, AF_INET6, SOCK_STREAM, 0), true, R_WWW);
	/* the bind entry grants listen on what it may bind: no listen entry needed */
	expect(p, &www, at(POLICY_LISTEN, AF_INET, SOCK_STREAM, "0.0.0.0", 443, NULL), true, R_WWW);
	/* the create entry lets the listener leave as a descriptor (listen_on with
	 * "pass": true, socket.detach), proto 0 and IPPROTO_TCP alike */
	expect(p, &www, hand_out(AF_INET, SOCK_STREAM, 0), true, R_WWW);
	expect(p, &www, hand_out(AF_INET6, SOCK_STREAM, IPPROTO_TCP), true, R_WWW);
	expect(p, &www, hand_out(AF_INET, SOCK_DGRAM, 0), false, "");
	expect(p, &nobody, hand_out(AF_INET, SOCK_STREAM, 0), false, "");
	/* not port 22, not UDP, not connect, not for others */
	expect(p, &www, at(POLICY_BIND, AF_INET, SOCK_STREAM, "0.0.0.0", 22, NULL), false, "");
	expect(p, &www, at(POLICY_LISTEN, AF_INET, SOCK_STREAM, "0.0.0.0", 8080, NULL), false, "");
	expect(p, &www, at(POLICY_BIND, AF_INET, SOCK_DGRAM, "0.0.0.0", 80, NULL), false, "");
	expect(p, &www, req(POLICY_CREATE, AF_INET, SOCK_DGRAM, 0), false, "");
	expect(p, &www, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 80, NULL), false, "");
	expect(p, &nobody, at(POLICY_BIND, AF_INET, SOCK_STREAM, "0.0.0.0", 80, NULL), false, "");
}

START_TEST(privileged_ports)
{
	struct policy *p = load_example("privileged-ports.json");

	ck_assert_uint_eq(policy_nrules(p), 1);
	check_privileged_ports(p);
	policy_free(p);
}
END_TEST

static void check_sandboxed_app(const struct policy *p)
{
	gid_t g;
	struct policy_subject app = member(5000, "sandbox", &g), other = { .uid = 5001, .gid = 5001 };
	struct policy_request q;

	/* the local API, through a supplementary group */
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 8000, NULL), true, R_SB_LOCAL);
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 8999, NULL), true, R_SB_LOCAL);
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 9000, NULL), false, "");
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.2", 8000, NULL), false, "");
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_DGRAM, "127.0.0.1", 8000, NULL), false, "");
	/* the API by name: the daemon's own resolution passes, the same address
	 * resolved by the client does not, another name does not */
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "192.0.2.10", 443, "api.example.com"), true, R_SB_API);
	expect(p, &app, at(POLICY_CONNECT, AF_INET6, SOCK_STREAM, "2001:db8::10", 443, "api.example.com"), true,
	       R_SB_API);
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "192.0.2.10", 443, NULL), false, "");
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "192.0.2.10", 443, "www.example.com"), false, "");
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "192.0.2.10", 80, "api.example.com"), false, "");
	/* port 25 is denied by its own rule, even where an allow would cover it */
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 25, NULL), false, R_SB_SMTP);
	expect(p, &app, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "192.0.2.10", 25, "api.example.com"), false, R_SB_SMTP);
	/* look-ups */
	q = req(POLICY_RESOLVE, -1, -1, -1);
	q.host = "api.example.com";
	expect(p, &app, q, true, R_SB_RESOLVE);
	/* the connect entries grant creating TCP sockets of their families only */
	expect(p, &app, req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0), true, NULL);
	expect(p, &app, req(POLICY_CREATE, AF_INET6, SOCK_STREAM, 0), true, R_SB_API);
	expect(p, &app, req(POLICY_CREATE, AF_INET, SOCK_DGRAM, 0), false, "");
	expect(p, &app, req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_ICMP), false, "");
	expect(p, &app, req(POLICY_CREATE, AF_PACKET, SOCK_RAW, 0), false, "");
	/* but no descriptor leaves: there is no create entry, so the sandbox
	 * uses its sockets through handles, where every destination is checked */
	expect(p, &app, hand_out(AF_INET, SOCK_STREAM, 0), false, "");
	expect(p, &app, hand_out(AF_INET6, SOCK_STREAM, 0), false, "");
	/* nothing else */
	expect(p, &app, at(POLICY_BIND, AF_INET, SOCK_STREAM, "127.0.0.1", 8000, NULL), false, "");
	expect(p, &app, req(POLICY_ADMIN, -1, -1, -1), false, "");
	expect(p, &app, req(POLICY_SETHOSTNAME, -1, -1, -1), false, "");
	/* and nothing for someone outside the group */
	expect(p, &other, at(POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 8000, NULL), false, "");
	q.host = "api.example.com";
	expect(p, &other, q, false, "");
}

START_TEST(sandboxed_app)
{
	struct policy *p = load_example("sandboxed-app.json");
	gid_t g;
	struct policy_subject app = member(5000, "sandbox", &g);
	const char *names[8];

	check_sandboxed_app(p);
	/* whoami would list the four rules */
	ck_assert_uint_eq(policy_matching_rules(p, &app, names, 8), 4);
	ck_assert_str_eq(names[0], R_SB_LOCAL);
	ck_assert_str_eq(names[3], R_SB_SMTP);
	policy_free(p);
}
END_TEST

static void check_icmp_monitor(const struct policy *p)
{
	struct policy_subject nagios = user("nagios"), nobody = { .uid = NOBODY, .gid = NOBODY };

	expect(p, &nagios, req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_ICMP), true, R_NAGIOS);
	expect(p, &nagios, req(POLICY_CREATE, AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6), true, R_NAGIOS);
	/* create entries: the monitor may take the descriptor */
	expect(p, &nagios, hand_out(AF_INET, SOCK_RAW, IPPROTO_ICMP), true, R_NAGIOS);
	expect(p, &nagios, hand_out(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), true, R_NAGIOS);
	expect(p, &nagios, req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_ICMPV6), false, "");
	expect(p, &nagios, req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_TCP), false, "");
	expect(p, &nagios, req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0), false, "");
	expect(p, &nagios, req(POLICY_CREATE, AF_PACKET, SOCK_RAW, 0), false, "");
	expect(p, &nagios, at(POLICY_BIND, AF_INET, SOCK_RAW, "0.0.0.0", 0, NULL), false, "");
	expect(p, &nobody, req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_ICMP), false, "");
}

START_TEST(icmp_monitor)
{
	struct policy *p = load_example("icmp-monitor.json");

	check_icmp_monitor(p);
	policy_free(p);
}
END_TEST

static void check_admin_group(const struct policy *p)
{
	gid_t g;
	struct policy_subject admin = member(5100, "sockbroker-admin", &g), other = { .uid = 5101, .gid = 5101 };

	expect(p, &admin, req(POLICY_ADMIN, -1, -1, -1), true, R_ADMIN);
	expect(p, &other, req(POLICY_ADMIN, -1, -1, -1), false, "");
	/* admin is not a licence to make sockets */
	expect(p, &admin, req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0), false, "");
	expect(p, &admin, at(POLICY_BIND, AF_INET, SOCK_STREAM, "0.0.0.0", 80, NULL), false, "");
}

START_TEST(admin_group)
{
	struct policy *p = load_example("admin-group.json");

	check_admin_group(p);
	policy_free(p);
}
END_TEST

/* complete.json is the four files together (same rule names in the same
 * order, the same decisions) plus the contract's limits. */
START_TEST(complete)
{
	static const char *const parts[] = { "privileged-ports.json", "sandboxed-app.json", "icmp-monitor.json",
		                             "admin-group.json" };
	struct policy *p = load_example("complete.json");
	struct policy_subject www = user("www-data"), nobody = { .uid = NOBODY, .gid = NOBODY };
	struct policy_limits l;
	size_t k = 0;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		struct policy *part = load_example(parts[i]);
		for (size_t j = 0; j < policy_nrules(part); j++, k++) {
			ck_assert_msg(k < policy_nrules(p), "complete.json lacks rules of %s", parts[i]);
			ck_assert_str_eq(policy_rule_name(p, k), policy_rule_name(part, j));
		}
		policy_free(part);
	}
	ck_assert_uint_eq(policy_nrules(p), k);
	check_privileged_ports(p);
	check_sandboxed_app(p);
	check_icmp_monitor(p);
	check_admin_group(p);

	policy_limits(p, &nobody, &l);
	ck_assert_int_eq(l.handles, 64);
	ck_assert_int_eq(l.connections, 16);
	ck_assert_int_eq(l.pending, 64);
	policy_limits(p, &www, &l);
	ck_assert_int_eq(l.handles, 1024);
	ck_assert_int_eq(l.connections, 16);
	ck_assert_int_eq(l.pending, 64);
	policy_free(p);
}
END_TEST

static Suite *examples_suite(void)
{
	Suite *s = suite_create("policy examples");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_example_loads);
	tcase_add_test(tc, privileged_ports);
	tcase_add_test(tc, sandboxed_app);
	tcase_add_test(tc, icmp_monitor);
	tcase_add_test(tc, admin_group);
	tcase_add_test(tc, complete);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *src = getenv("SRCDIR");
	SRunner *sr;
	int failed;

	snprintf(exdir, sizeof(exdir), "%s/examples/policy", src && src[0] ? src : ".");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	sr = srunner_create(examples_suite());
	/* No fork: ASan/LSan then see every test in one process. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_rf(tmpdir);
	return failed ? 1 : 0;
}
