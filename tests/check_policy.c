/* Unit tests of the policy module (daemon/policy.c): the contract's example
 * (with names every Debian system has: www-data, the "daemon" group, numeric
 * ids where the example names sandbox and nagios) and its decisions, each
 * match member, deny beating allow, limits, host pinning, directory loading,
 * the embedded default, and every load error with its file and position. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon/policy.h"
#include "daemon/policy-lint.h"
#include "unit.h"

static char tmpdir[] = "/tmp/check_policy.XXXXXX";
static int serial;

/* Writes text to a new file in tmpdir (mode given) and returns its path (static buffer per call slot). */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char paths[8][512];
	static int slot;
	char *p = paths[slot++ % 8];
	FILE *f;

	if (name)
		snprintf(p, 512, "%s/%s", tmpdir, name);
	else
		snprintf(p, 512, "%s/p%d.json", tmpdir, serial++);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(p, mode), 0);
	return p;
}

static const char *mkdir_new(void)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/d%d", tmpdir, serial++);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	return p;
}

static struct policy *load_text(const char *text)
{
	struct policy_error err;
	struct policy *p = NULL;
	int r = policy_load(write_file(NULL, text, 0644), false, &p, &err);

	ck_assert_msg(r == 0, "load failed: %s", err.text);
	return p;
}

static const char example[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"limits\": { \"handles\": 64, \"connections\": 16, \"pending\": 64 },\n"
	"  \"rules\": [\n"
	"    {\n"
	"      \"name\": \"web servers bind 80 and 443\",\n"
	"      \"match\": { \"user\": \"www-data\" },\n"
	"      \"allow\": [\n"
	"        { \"action\": \"bind\", \"family\": [\"AF_INET\", \"AF_INET6\"], \"type\": \"SOCK_STREAM\",\n"
	"          \"address\": [\"0.0.0.0/0\", \"::/0\"], \"port\": [80, 443] }\n"
	"      ],\n"
	"      \"limits\": { \"handles\": 1024 }\n"
	"    },\n"
	"    {\n"
	"      \"name\": \"sandboxed apps reach the local API only\",\n"
	"      \"match\": { \"gid\": 4242 },\n"
	"      \"allow\": [\n"
	"        { \"action\": \"connect\", \"family\": \"AF_INET\", \"address\": \"127.0.0.1/32\", \"port\": \"8000-8999\" },\n"
	"        { \"action\": \"connect\", \"host\": \"api.example.com\", \"port\": 443 },\n"
	"        { \"action\": \"resolve\" }\n"
	"      ],\n"
	"      \"deny\": [ { \"action\": \"connect\", \"port\": 25 } ]\n"
	"    },\n"
	"    { \"name\": \"monitoring may ping\",\n"
	"      \"match\": { \"uid\": 4343 },\n"
	"      \"allow\": [ { \"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"SOCK_RAW\", \"proto\": \"IPPROTO_ICMP\" } ] },\n"
	"    { \"name\": \"admins\", \"match\": { \"group\": \"daemon\" }, \"allow\": [ { \"action\": \"admin\" } ] }\n"
	"  ]\n"
	"}\n";

#define WWW 33
#define NOBODY 65534

static struct policy_subject subj(uid_t uid, gid_t gid)
{
	return (struct policy_subject){ .uid = uid, .gid = gid };
}

static struct policy_request req(enum policy_action a, int family, int type, int proto)
{
	return (struct policy_request){ .action = a, .family = family, .type = type, .proto = proto };
}

/* Sets an INET or INET6 address (by the literal) and port on a request. */
static void set_addr(struct policy_request *q, const char *host, unsigned port)
{
	memset(&q->addr, 0, sizeof(q->addr));
	q->have_addr = true;
	if (strchr(host, ':')) {
		struct sockaddr_in6 *in6 = (void *)&q->addr;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET6, host, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (void *)&q->addr;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET, host, &in->sin_addr), 1);
	}
}

static bool decide(const struct policy *p, const struct policy_subject *who, const struct policy_request *q,
                   struct policy_decision *d)
{
	ck_assert_int_eq(policy_decide(p, who, q, d), 0);
	ck_assert(d->reason[0]);
	return d->allowed;
}

static bool addr_ok(const struct policy *p, const struct policy_subject *who, enum policy_action a, int family,
                    int type, const char *host, unsigned port)
{
	struct policy_decision d;
	struct policy_request q = req(a, family, type, 0);

	set_addr(&q, host, port);
	return decide(p, who, &q, &d);
}

START_TEST(example_web)
{
	struct policy *p = load_text(example);
	struct policy_subject w = subj(WWW, WWW);
	struct policy_decision d;
	struct policy_request q;

	ck_assert(!policy_is_default(p));
	ck_assert_uint_eq(policy_nrules(p), 4);
	ck_assert(addr_ok(p, &w, POLICY_BIND, AF_INET, SOCK_STREAM, "0.0.0.0", 80));
	ck_assert(addr_ok(p, &w, POLICY_BIND, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, "0.0.0.0", 443));
	ck_assert(addr_ok(p, &w, POLICY_BIND, AF_INET6, SOCK_STREAM, "::", 443));
	ck_assert(!addr_ok(p, &w, POLICY_BIND, AF_INET, SOCK_STREAM, "0.0.0.0", 8080));
	ck_assert(!addr_ok(p, &w, POLICY_BIND, AF_INET, SOCK_DGRAM, "0.0.0.0", 80));
	ck_assert(!addr_ok(p, &w, POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 80));
	/* The bind entry grants create of its family and type, not of others. */
	q = req(POLICY_CREATE, AF_INET6, SOCK_STREAM, 0);
	ck_assert(decide(p, &w, &q, &d));
	ck_assert_str_eq(d.rule, "web servers bind 80 and 443");
	q = req(POLICY_CREATE, AF_INET, SOCK_DGRAM, 0);
	ck_assert(!decide(p, &w, &q, &d));
	ck_assert_ptr_null(d.rule);
	ck_assert_msg(strstr(d.reason, "no rule allows create of AF_INET SOCK_DGRAM"), "%s", d.reason);
	/* A bind with no address (have_addr false) is not covered by an entry that names ports. */
	q = req(POLICY_BIND, AF_INET, SOCK_STREAM, 0);
	ck_assert(!decide(p, &w, &q, &d));
	policy_free(p);
}
END_TEST

START_TEST(example_sandbox)
{
	struct policy *p = load_text(example);
	gid_t groups[] = { 100, 4242 };
	struct policy_subject s = subj(5000, 5000), plain = subj(5000, 5000);
	struct policy_decision d;
	struct policy_request q;

	s.groups = groups;   /* membership through a supplementary group */
	s.ngroups = 2;
	ck_assert(addr_ok(p, &s, POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 8000));
	ck_assert(addr_ok(p, &s, POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 8999));
	ck_assert(!addr_ok(p, &s, POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 9000));
	ck_assert(!addr_ok(p, &s, POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.2", 8000));
	ck_assert(!addr_ok(p, &plain, POLICY_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", 8000));
	/* port 25: the deny entry names the rule. */
	q = req(POLICY_CONNECT, AF_INET, SOCK_STREAM, 0);
	set_addr(&q, "127.0.0.1", 25);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "sandboxed apps reach the local API only");
	ck_assert_msg(strstr(d.reason, "denies connect of AF_INET SOCK_STREAM to 127.0.0.1:25"), "%s", d.reason);
	/* host pinning: the daemon's own resolution (host set) passes, the same
	 * address without the name does not, another name does not. */
	set_addr(&q, "93.184.216.34", 443);
	q.host = "API.example.com.";
	ck_assert(decide(p, &s, &q, &d));
	q.host = NULL;
	ck_assert(!decide(p, &s, &q, &d));
	q.host = "evil.example.com";
	ck_assert(!decide(p, &s, &q, &d));
	q.host = "api.example.com";
	set_addr(&q, "93.184.216.34", 25);
	ck_assert(!decide(p, &s, &q, &d));
	/* resolve */
	q = req(POLICY_RESOLVE, -1, -1, -1);
	q.host = "anything.example";
	ck_assert(decide(p, &s, &q, &d));
	ck_assert(!decide(p, &plain, &q, &d));
	policy_free(p);
}
END_TEST

START_TEST(example_monitor_admin_others)
{
	struct policy *p = load_text(example);
	struct policy_subject m = subj(4343, 4343), a = subj(6000, 6000), n = subj(NOBODY, NOBODY);
	gid_t daemon_gid[] = { 1 };
	struct policy_decision d;
	struct policy_request q;
	const char *names[4];

	q = req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	ck_assert(decide(p, &m, &q, &d));
	ck_assert_str_eq(d.rule, "monitoring may ping");
	q.proto = IPPROTO_TCP;
	ck_assert(!decide(p, &m, &q, &d));
	q = req(POLICY_CREATE, AF_PACKET, SOCK_RAW, 0);
	ck_assert(!decide(p, &m, &q, &d));
	ck_assert_ptr_null(d.rule);
	ck_assert_msg(strstr(d.reason, "no rule allows create of AF_PACKET SOCK_RAW to uid 4343"), "%s", d.reason);

	a.groups = daemon_gid;
	a.ngroups = 1;
	q = req(POLICY_ADMIN, -1, -1, -1);
	ck_assert(decide(p, &a, &q, &d));
	ck_assert_str_eq(d.rule, "admins");
	ck_assert(!decide(p, &m, &q, &d));

	/* nobody: nothing at all, each with a reason. */
	for (int act = 0; act < POLICY_ACTION_MAX; act++) {
		q = req((enum policy_action)act, AF_INET, SOCK_STREAM, 0);
		set_addr(&q, "127.0.0.1", 8000);
		ck_assert(!decide(p, &n, &q, &d));
		ck_assert_ptr_null(d.rule);
		ck_assert_msg(!strncmp(d.reason, "no rule allows ", 15), "%s", d.reason);
	}
	ck_assert_uint_eq(policy_matching_rules(p, &n, names, 4), 0);
	ck_assert_uint_eq(policy_matching_rules(p, &a, names, 4), 1);
	ck_assert_str_eq(names[0], "admins");
	q.action = POLICY_ACTION_MAX;
	ck_assert_int_eq(policy_decide(p, &n, &q, &d), -EINVAL);
	ck_assert(!d.allowed);
	policy_free(p);
}
END_TEST

START_TEST(match_members)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"all\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]},"
		"{\"name\":\"exe\",\"match\":{\"exe\":[\"/usr/bin/a\",\"/usr/bin/b\"]},\"allow\":[{\"action\":\"listen\"}]},"
		"{\"name\":\"unit+user\",\"match\":{\"unit\":\"x.service\",\"user\":[\"root\",\"nobody\"]},"
		" \"allow\":[{\"action\":\"adopt\"}]},"
		"{\"name\":\"cg\",\"match\":{\"cgroup\":\"/system.slice/app\"},\"allow\":[{\"action\":\"sethostname\"}]},"
		"{\"name\":\"lbl\",\"match\":{\"label\":\"unconfined\",\"group\":\"nogroup\"},\"allow\":[{\"action\":\"admin\"}]}"
		"]}");
	struct policy_subject s = subj(7777, 7777);
	struct policy_decision d;
	struct policy_request q = req(POLICY_RESOLVE, -1, -1, -1);
	const char *names[8];

	ck_assert(decide(p, &s, &q, &d));   /* empty match: everyone */
	ck_assert_str_eq(d.rule, "all");
	q.action = POLICY_LISTEN;
	ck_assert(!decide(p, &s, &q, &d));
	s.exe = "/usr/bin/b";
	ck_assert(decide(p, &s, &q, &d));
	s.exe = "/usr/bin/bb";
	ck_assert(!decide(p, &s, &q, &d));
	q.action = POLICY_ADOPT;
	s.unit = "x.service";
	ck_assert(!decide(p, &s, &q, &d));   /* all members must hold: user too */
	s.uid = NOBODY;
	ck_assert(decide(p, &s, &q, &d));
	q.action = POLICY_SETHOSTNAME;
	s.cgroup = "/system.slice/application";
	ck_assert(!decide(p, &s, &q, &d));   /* prefix only at a path boundary */
	s.cgroup = "/system.slice/app/sub";
	ck_assert(decide(p, &s, &q, &d));
	q.action = POLICY_ADMIN;
	s.label = "unconfined";
	ck_assert(!decide(p, &s, &q, &d));
	s.gid = NOBODY;
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_uint_eq(policy_matching_rules(p, &s, names, 8), 4);
	ck_assert_str_eq(names[0], "all");
	ck_assert_str_eq(names[3], "lbl");
	ck_assert_uint_eq(policy_matching_rules(p, &s, names, 2), 4);   /* count beyond max */
	policy_free(p);
}
END_TEST

/* A member of the caller the daemon could not read (exe without
 * CAP_SYS_PTRACE) is unknown: an allow whose rule names it does not apply, a
 * deny does (fail closed), rules that do not name it are unaffected, and a
 * rule that names it can lower limits, never raise them. */
START_TEST(unknown_members)
{
	struct policy *p = load_text(
		"{\"version\":1,\"limits\":{\"pending\":8},\"rules\":["
		"{\"name\":\"nobody binds\",\"match\":{\"uid\":65534},"
		" \"allow\":[{\"action\":\"bind\",\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}]},"
		"{\"name\":\"foo connects\",\"match\":{\"uid\":65534,\"exe\":\"/usr/bin/foo\"},"
		" \"allow\":[{\"action\":\"connect\"}],\"limits\":{\"handles\":3,\"pending\":1000}},"
		"{\"name\":\"foo never binds 25\",\"match\":{\"exe\":[\"/usr/bin/foo\",\"/usr/bin/baz\"]},"
		" \"deny\":[{\"action\":\"bind\",\"port\":25}]},"
		"{\"name\":\"uid 1000's foo never binds 81\",\"match\":{\"uid\":1000,\"exe\":\"/usr/bin/foo\"},"
		" \"deny\":[{\"action\":\"bind\",\"port\":81}],\"limits\":{\"handles\":1}},"
		"{\"name\":\"by label\",\"match\":{\"label\":\"app_t\"},\"allow\":[{\"action\":\"admin\"}]},"
		"{\"name\":\"by unit\",\"match\":{\"unit\":\"app.service\"},\"deny\":[{\"action\":\"sethostname\"}]},"
		"{\"name\":\"by cgroup\",\"match\":{\"cgroup\":\"/system.slice\"},\"deny\":[{\"action\":\"resolve\"}]},"
		"{\"name\":\"anyone\",\"match\":{},\"allow\":[{\"action\":\"resolve\"},{\"action\":\"sethostname\"}]}"
		"]}");
	struct policy_subject s = subj(NOBODY, NOBODY);
	struct policy_request q = req(POLICY_CONNECT, AF_INET, SOCK_STREAM, 0);
	struct policy_decision d;
	struct policy_limits l, cap;
	const char *names[8];

	s.exe_unknown = "cannot read /proc/9/exe: Permission denied";

	/* An allow whose rule names the unknown exe does not apply. */
	set_addr(&q, "192.0.2.1", 80);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_ptr_null(d.rule);
	ck_assert_msg(strstr(d.reason, "rule \"foo connects\" would, but its match names exe, which is unknown "
	                               "(cannot read /proc/9/exe: Permission denied)"), "%s", d.reason);
	q.host = "api.example.com";
	ck_assert(!policy_may_allow(p, &s, &q, 80));
	q.host = NULL;

	/* A deny whose rule names it applies. */
	q.action = POLICY_BIND;
	set_addr(&q, "0.0.0.0", 25);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "foo never binds 25");
	ck_assert_msg(strstr(d.reason, "whose exe is unknown (cannot read /proc/9/exe: Permission denied)"), "%s",
	              d.reason);

	/* A rule that does not name it is unaffected; nor is one that another
	 * member already rules out (uid 1000). */
	set_addr(&q, "0.0.0.0", 80);
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "nobody binds");
	set_addr(&q, "0.0.0.0", 81);
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_uint_eq(policy_matching_rules(p, &s, names, 8), 2);
	ck_assert_str_eq(names[0], "nobody binds");
	ck_assert_str_eq(names[1], "anyone");
	ck_assert_uint_eq(policy_unknown_rules(p, &s, names, 8), 2);
	ck_assert_str_eq(names[0], "foo connects");
	ck_assert_str_eq(names[1], "foo never binds 25");

	/* Limits: the rule that may match lowers handles, and cannot raise pending. */
	policy_limits(p, &s, &l);
	ck_assert_int_eq(l.handles, -1);
	ck_assert_int_eq(l.pending, 8);
	policy_limits_cap(p, &s, &cap);
	ck_assert_int_eq(cap.handles, 3);
	ck_assert_int_eq(cap.pending, 1000);   /* a cap above the limit changes nothing */
	ck_assert_int_eq(cap.connections, -1);

	/* The same caller with its exe known: the rules hold as written. */
	s.exe_unknown = NULL;
	s.exe = "/usr/bin/foo";
	ck_assert(decide(p, &s, &q, &d));      /* bind 81: the uid 1000 rule still does not match */
	set_addr(&q, "0.0.0.0", 25);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.reason, "rule \"foo never binds 25\" denies bind of AF_INET SOCK_STREAM on 0.0.0.0:25 "
	                           "to uid 65534");
	q.action = POLICY_CONNECT;
	set_addr(&q, "192.0.2.1", 80);
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "foo connects");
	policy_limits_cap(p, &s, &cap);
	ck_assert_int_eq(cap.handles, -1);
	s.exe = "/usr/bin/bar";
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.reason, "no rule allows connect of AF_INET SOCK_STREAM to 192.0.2.1:80 to uid 65534");
	q.action = POLICY_BIND;
	set_addr(&q, "0.0.0.0", 25);
	ck_assert(decide(p, &s, &q, &d));
	/* No exe at all (not unknown: there is none) matches no rule naming one. */
	s.exe = NULL;
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_uint_eq(policy_unknown_rules(p, &s, names, 8), 0);

	/* label, unit and cgroup alike. */
	q = req(POLICY_ADMIN, -1, -1, -1);
	s.label_unknown = "cannot read the security label of the client: Invalid argument";
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "rule \"by label\" would, but its match names label, which is unknown"), "%s",
	              d.reason);
	s.label_unknown = NULL;
	s.label = "app_t";
	ck_assert(decide(p, &s, &q, &d));
	q.action = POLICY_SETHOSTNAME;
	ck_assert(decide(p, &s, &q, &d));
	s.unit_unknown = s.cgroup_unknown = "cannot read /proc/9/cgroup: Permission denied";
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "by unit");
	ck_assert_msg(strstr(d.reason, "whose unit is unknown (cannot read /proc/9/cgroup"), "%s", d.reason);
	q.action = POLICY_RESOLVE;
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "by cgroup");
	s.unit_unknown = s.cgroup_unknown = NULL;
	s.cgroup = "/user.slice";
	ck_assert(decide(p, &s, &q, &d));
	policy_free(p);
}
END_TEST

START_TEST(deny_wins)
{
	/* The deny sits in a rule before and in a rule after the allow. */
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"no smtp\",\"match\":{\"uid\":1000},\"deny\":[{\"action\":\"connect\",\"port\":[25,\"465-465\"]}]},"
		"{\"name\":\"anything\",\"match\":{},\"allow\":[{\"action\":\"connect\"},{\"action\":\"bind\"}]},"
		"{\"name\":\"no v6 link\",\"match\":{},\"deny\":[{\"action\":\"bind\",\"address\":\"fe80::/10\"},"
		"  {\"action\":\"bind\",\"address\":\"10.0.0.0/8\"}]}"
		"]}");
	struct policy_subject u = subj(1000, 1000), o = subj(1001, 1001);
	struct policy_decision d;
	struct policy_request q = req(POLICY_CONNECT, AF_INET, SOCK_STREAM, 0);

	set_addr(&q, "192.0.2.1", 25);
	ck_assert(!decide(p, &u, &q, &d));
	ck_assert_str_eq(d.rule, "no smtp");
	ck_assert(decide(p, &o, &q, &d));
	ck_assert_str_eq(d.rule, "anything");
	set_addr(&q, "192.0.2.1", 465);
	ck_assert(!decide(p, &u, &q, &d));
	/* a deny on connect does not deny create */
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0);
	ck_assert(decide(p, &u, &q, &d));
	ck_assert(!addr_ok(p, &o, POLICY_BIND, AF_INET6, SOCK_DGRAM, "fe80::1", 1));
	ck_assert(addr_ok(p, &o, POLICY_BIND, AF_INET6, SOCK_DGRAM, "2001:db8::1", 1));
	ck_assert(!addr_ok(p, &o, POLICY_BIND, AF_INET, SOCK_DGRAM, "10.1.2.3", 1));
	/* a v4-mapped address is judged by the v4 CIDRs as well */
	ck_assert(!addr_ok(p, &o, POLICY_BIND, AF_INET6, SOCK_DGRAM, "::ffff:10.1.2.3", 1));
	ck_assert(addr_ok(p, &o, POLICY_BIND, AF_INET6, SOCK_DGRAM, "::ffff:11.1.2.3", 1));
	policy_free(p);
}
END_TEST

START_TEST(hosts_and_options)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":[{\"name\":\"r\",\"match\":{},\"allow\":["
		"{\"action\":\"connect\",\"host\":[\"*.example.com\",\"exact.org\"]},"
		"{\"action\":\"setsockopt\",\"option\":[\"SO_MARK\",\"IP_TRANSPARENT\"]},"
		"{\"action\":\"setsockopt\",\"level\":\"SOL_SOCKET\",\"option\":36}"
		"]}]}");
	struct policy_subject s = subj(7777, 7777);
	struct policy_decision d;
	struct policy_request q = req(POLICY_CONNECT, AF_INET, SOCK_STREAM, 0);

	set_addr(&q, "192.0.2.1", 1);
	q.host = "a.b.example.com";
	ck_assert(decide(p, &s, &q, &d));
	q.host = "example.com";
	ck_assert(!decide(p, &s, &q, &d));
	q.host = "badexample.com";
	ck_assert(!decide(p, &s, &q, &d));
	q.host = "exact.org";
	ck_assert(decide(p, &s, &q, &d));
	q.host = "sub.exact.org";
	ck_assert(!decide(p, &s, &q, &d));
	q = req(POLICY_SETSOCKOPT, AF_INET, SOCK_STREAM, 0);
	q.level = SOL_SOCKET;
	q.option = SO_MARK;
	ck_assert(decide(p, &s, &q, &d));
	q.option = SO_PRIORITY;   /* 12, not granted */
	ck_assert(!decide(p, &s, &q, &d));
	q.option = 36;
	ck_assert(decide(p, &s, &q, &d));
	q.level = IPPROTO_IP;
	q.option = IP_TRANSPARENT;
	ck_assert(decide(p, &s, &q, &d));
	q.level = IPPROTO_IPV6;   /* same number at another level: no */
	ck_assert(!decide(p, &s, &q, &d));
	policy_free(p);
}
END_TEST

START_TEST(limits)
{
	struct policy *p = load_text(
		"{\"version\":1,\"limits\":{\"handles\":64,\"pending\":8},\"rules\":["
		"{\"name\":\"a\",\"match\":{},\"limits\":{\"handles\":10,\"connections\":3}},"
		"{\"name\":\"b\",\"match\":{\"uid\":1000},\"limits\":{\"handles\":1000}},"
		"{\"name\":\"c\",\"match\":{\"uid\":[1000,1001]},\"limits\":{\"connections\":0}}"
		"]}");
	struct policy_subject u = subj(1000, 1000), v = subj(1001, 1), w = subj(1002, 1);
	struct policy_limits l;

	policy_limits(p, &u, &l);
	ck_assert_int_eq(l.handles, 1000);
	ck_assert_int_eq(l.connections, 0);
	ck_assert_int_eq(l.pending, 8);
	policy_limits(p, &v, &l);
	ck_assert_int_eq(l.handles, 10);
	ck_assert_int_eq(l.connections, 0);
	policy_limits(p, &w, &l);
	ck_assert_int_eq(l.handles, 10);
	ck_assert_int_eq(l.connections, 3);
	policy_free(p);

	p = load_text(example);
	policy_limits(p, &w, &l);
	ck_assert_int_eq(l.handles, 64);
	ck_assert_int_eq(l.connections, 16);
	w.uid = WWW;
	policy_limits(p, &w, &l);
	ck_assert_int_eq(l.handles, 1024);
	policy_free(p);

	p = load_text("{\"version\":1,\"rules\":[{\"name\":\"x\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]}]}");
	policy_limits(p, &w, &l);
	ck_assert_int_eq(l.handles, -1);   /* unset: the daemon's own */
	ck_assert_int_eq(l.connections, -1);
	ck_assert_int_eq(l.pending, -1);
	policy_free(p);
}
END_TEST

/* ---- load errors ---- */

#define RULE(m, a) "{\"version\":1,\"rules\":[{\"name\":\"r\",\"match\":" m ",\"allow\":[" a "]}]}"

static const struct {
	const char *text;
	int err;
	const char *where;   /* JSON path, or NULL */
	const char *msg;     /* substring of msg */
} bad[] = {
	{ "{\"version\":1,\"rules\":[],\"extra\":1}", -EINVAL, "extra", "unknown member \"extra\"" },
	{ RULE("{}", "{\"action\":\"bind\",\"colour\":1}"), -EINVAL, "rules[0].allow[0].colour", "unknown member" },
	{ RULE("{\"shoe\":1}", "{\"action\":\"bind\"}"), -EINVAL, "rules[0].match.shoe", "unknown member" },
	{ RULE("{}", "{\"action\":\"bind\",\"port\":true}"), -EINVAL, "rules[0].allow[0].port", "not boolean" },
	{ RULE("{\"uid\":\"root\"}", "{\"action\":\"bind\"}"), -EINVAL, "rules[0].match.uid", "is a number" },
	{ "{\"version\":1,\"rules\":{}}", -EINVAL, "rules", "is a list" },
	{ RULE("{}", "{\"action\":\"bind\",\"port\":70000}"), -EINVAL, "rules[0].allow[0].port", "70000 is out of range" },
	{ RULE("{}", "{\"action\":\"bind\",\"port\":[80,\"1-70000\"]}"), -EINVAL, "rules[0].allow[0].port[1]", "out of range" },
	{ RULE("{}", "{\"action\":\"bind\",\"port\":\"9-1\"}"), -EINVAL, "rules[0].allow[0].port", "empty" },
	{ RULE("{}", "{\"action\":\"bind\",\"address\":\"10.0.0.0/33\"}"), -EINVAL, "rules[0].allow[0].address", "0-32" },
	{ RULE("{}", "{\"action\":\"bind\",\"address\":\"::/129\"}"), -EINVAL, "rules[0].allow[0].address", "0-128" },
	{ RULE("{}", "{\"action\":\"bind\",\"address\":\"300.0.0.0/8\"}"), -EINVAL, "rules[0].allow[0].address", "not an IPv4" },
	{ RULE("{}", "{\"action\":\"bind\",\"family\":\"AF_NOPE\"}"), -EINVAL, "rules[0].allow[0].family", "unknown family \"AF_NOPE\"" },
	{ RULE("{}", "{\"action\":\"create\",\"type\":[\"SOCK_STREAM\",\"SOCK_X\"]}"), -EINVAL, "rules[0].allow[0].type[1]", "unknown socket type" },
	{ RULE("{}", "{\"action\":\"create\",\"proto\":\"IPPROTO_NOPE\"}"), -EINVAL, "rules[0].allow[0].proto", "unknown protocol" },
	{ "{\"version\":2,\"rules\":[]}", -EINVAL, "version", "unsupported version 2" },
	{ "{\"rules\":[]}", -EINVAL, NULL, "\"version\" is missing" },
	{ "{\"version\":1,\"rules\":[]}", -EINVAL, "rules", "rules list is empty" },
	{ RULE("{}", "{\"action\":\"fly\"}"), -EINVAL, "rules[0].allow[0].action", "unknown action \"fly\"" },
	{ RULE("{}", "{\"action\":\"admin\",\"port\":80}"), -EINVAL, "rules[0].allow[0].port", "takes no \"port\"" },
	{ RULE("{}", "{\"action\":\"setsockopt\",\"option\":7}"), -EINVAL, "rules[0].allow[0].option", "needs \"level\"" },
	{ RULE("{}", "{\"action\":\"connect\",\"host\":\"a*.b\"}"), -EINVAL, "rules[0].allow[0].host", "not a host name" },
	{ RULE("{\"user\":[]}", "{\"action\":\"bind\"}"), -EINVAL, "rules[0].match.user", "empty list" },
	{ RULE("{\"exe\":\"bin/x\"}", "{\"action\":\"bind\"}"), -EINVAL, "rules[0].match.exe", "absolute path" },
	{ "{\"version\":1,\"rules\":[{\"name\":\"r\",\"allow\":[]}]}", -EINVAL, "rules[0]", "\"match\" is missing" },
	{ "{\"version\":1,\"rules\":[{\"match\":{},\"allow\":[{\"action\":\"bind\"}]}]}", -EINVAL, "rules[0]", "\"name\" is missing" },
	{ "{\"version\":1,\"rules\":[{\"name\":\"r\",\"match\":{}}]}", -EINVAL, "rules[0]", "does nothing" },
	{ "{\"version\":1,\"limits\":{\"handles\":-1},\"rules\":[]}", -EINVAL, "limits.handles", "out of range" },
	{ "{\"version\":1,\"limits\":{\"sockets\":1},\"rules\":[]}", -EINVAL, "limits.sockets", "unknown member" },
	{ "[1]", -EINVAL, NULL, "is an object" },
	{ "{\"version\":1,\"rules\":[{\"name\":\"r\",\"match\":{},\"allow\":[{\"action\":\"bind\"}]},"
	  "{\"name\":\"r\",\"match\":{},\"allow\":[{\"action\":\"bind\"}]}]}", -EINVAL, "rules[1].name", "unique" },
	{ "{\"version\":1,\"rules\":[{\"name\":\"r\",\"match\":{},\"allow\":[{\"action\":\"bind\"}],"
	  "\"deny\":[{\"action\":\"connect\",\"host\":\"localhost\"}]}]}", -EINVAL, "rules[0].deny[0].host", "cannot name hosts" },
	{ "{\"version\":1,\"limits\":{\"pending\":0},\"rules\":[]}", -EINVAL, "limits.pending", "out of range 1-" },
	{ RULE("{\"user\":\"root\\u0000x\"}", "{\"action\":\"bind\"}"), -EINVAL, NULL, "NUL" },
	{ RULE("{\"exe\":\"/bin/\xff\xfe\"}", "{\"action\":\"bind\"}"), -EINVAL, NULL, "invalid JSON" },
	/* send, message, netlink names */
	{ RULE("{}", "{\"action\":\"send\",\"message\":\"RTM_NEWLINK\"}"), -EINVAL, "rules[0].allow[0].message",
	  "needs exactly one netlink \"proto\"" },
	{ RULE("{}", "{\"action\":\"send\",\"proto\":[\"NETLINK_ROUTE\",\"NETLINK_GENERIC\"],\"message\":[16,\"RTM_NEWLINK\"]}"),
	  -EINVAL, "rules[0].allow[0].message[1]", "needs exactly one" },
	{ RULE("{}", "{\"action\":\"send\",\"proto\":\"IPPROTO_IP\",\"message\":\"RTM_NEWLINK\"}"), -EINVAL,
	  "rules[0].allow[0].message", "needs exactly one netlink" },
	{ RULE("{}", "{\"action\":\"send\",\"proto\":\"NETLINK_GENERIC\",\"message\":\"RTM_NEWLINK\"}"), -EINVAL,
	  "rules[0].allow[0].message", "NETLINK_GENERIC has no message names" },
	{ RULE("{}", "{\"action\":\"send\",\"proto\":\"NETLINK_ROUTE\",\"message\":\"SOCK_DESTROY\"}"), -EINVAL,
	  "rules[0].allow[0].message", "unknown message \"SOCK_DESTROY\" for NETLINK_ROUTE" },
	{ RULE("{}", "{\"action\":\"send\",\"message\":70000}"), -EINVAL, "rules[0].allow[0].message", "out of range 0-65535" },
	{ RULE("{}", "{\"action\":\"send\",\"message\":true}"), -EINVAL, "rules[0].allow[0].message", "name or a number" },
	{ RULE("{}", "{\"action\":\"send\",\"family\":\"AF_INET\",\"message\":16}"), -EINVAL, "rules[0].allow[0].message",
	  "for AF_NETLINK sockets" },
	{ RULE("{}", "{\"action\":\"connect\",\"message\":16}"), -EINVAL, "rules[0].allow[0].message", "takes no \"message\"" },
	{ RULE("{}", "{\"action\":\"send\",\"host\":\"a.example\"}"), -EINVAL, "rules[0].allow[0].host", "takes no \"host\"" },
	{ RULE("{}", "{\"action\":\"create\",\"proto\":[\"NETLINK_ROUTE\",\"NETLINK_NOPE\"]}"), -EINVAL,
	  "rules[0].allow[0].proto[1]", "unknown protocol \"NETLINK_NOPE\"" },
	{ RULE("{}", "{\"action\":\"sned\"}"), -EINVAL, "rules[0].allow[0].action", "send," },
	/* path */
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"run/app.sock\"}"), -EINVAL, "rules[0].allow[0].path", "neither an absolute path" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":[\"/run/a\",\"/run/../a\"]}"), -EINVAL, "rules[0].allow[0].path[1]", "\"..\" component" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"/run/./a\"}"), -EINVAL, "rules[0].allow[0].path", "\".\" or" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"/run/..\"}"), -EINVAL, "rules[0].allow[0].path", "component" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"/run/x/.\"}"), -EINVAL, "rules[0].allow[0].path", "component" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"/run//a\"}"), -EINVAL, "rules[0].allow[0].path", "\"//\"" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"//\"}"), -EINVAL, "rules[0].allow[0].path", "\"//\"" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"@\"}"), -EINVAL, "rules[0].allow[0].path", "names no abstract" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"@a\\u00e9\"}"), -EINVAL, "rules[0].allow[0].path", "printable ASCII" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"/a\\u0001\"}"), -EINVAL, "rules[0].allow[0].path", "control characters" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"), -EINVAL, "rules[0].allow[0].path", "longer than 108 bytes" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":5}"), -EINVAL, "rules[0].allow[0].path", "a path is a string" },
	{ RULE("{}", "{\"action\":\"connect\",\"path\":[]}"), -EINVAL, "rules[0].allow[0].path", "empty list" },
	{ RULE("{}", "{\"action\":\"bind\",\"port\":80,\"path\":\"/a\"}"), -EINVAL, "rules[0].allow[0].path", "cannot go with \"port\"" },
	{ RULE("{}", "{\"action\":\"connect\",\"address\":\"::1\",\"path\":\"/a\"}"), -EINVAL, "rules[0].allow[0].path", "cannot go with \"address\"" },
	{ RULE("{}", "{\"action\":\"connect\",\"host\":\"a.b\",\"path\":\"/a\"}"), -EINVAL, "rules[0].allow[0].path", "cannot go with \"host\"" },
	{ RULE("{}", "{\"action\":\"connect\",\"family\":\"AF_INET\",\"path\":\"/a\"}"), -EINVAL, "rules[0].allow[0].path", "family excludes" },
	{ RULE("{}", "{\"action\":\"create\",\"path\":\"/a\"}"), -EINVAL, "rules[0].allow[0].path", "takes no \"path\"" },
	{ "{\"version\":1,\"rules\":[{\"name\":\"r\",\"match\":{},\"deny\":[{\"action\":\"send\",\"path\":\"x\"}]}]}", -EINVAL,
	  "rules[0].deny[0].path", "neither" },	/* token, http_rpc */
	{ RULE("{}", "{\"action\":\"http_rpc\",\"port\":80}"), -EINVAL, "rules[0].allow[0].port", "action \"http_rpc\" takes no \"port\"" },
	{ RULE("{}", "{\"action\":\"http_rpc\",\"family\":\"AF_INET\"}"), -EINVAL, "rules[0].allow[0].family", "takes no \"family\"" },
	{ RULE("{}", "{\"action\":\"rpc\"}"), -EINVAL, "rules[0].allow[0].action", "http_rpc, hold, retrieve)" },
	/* hold, retrieve and their name selector */
	{ RULE("{}", "{\"action\":\"hold\",\"name\":\"\"}"), -EINVAL, "rules[0].allow[0].name", "1 to 200 bytes" },
	{ RULE("{}", "{\"action\":\"retrieve\",\"name\":\"a/b\"}"), -EINVAL, "rules[0].allow[0].name", "'/'" },
	{ RULE("{}", "{\"action\":\"retrieve\",\"name\":7}"), -EINVAL, "rules[0].allow[0].name", "a name is a string" },
	{ RULE("{}", "{\"action\":\"retrieve\",\"port\":80}"), -EINVAL, "rules[0].allow[0].port", "takes no \"port\"" },
	{ RULE("{}", "{\"action\":\"connect\",\"name\":\"web\"}"), -EINVAL, "rules[0].allow[0].name", "takes no \"name\"" },
	{ RULE("{\"token\":[]}", "{\"action\":\"http_rpc\"}"), -EINVAL, "rules[0].match.token", "empty list" },
	{ RULE("{\"token\":\"\"}", "{\"action\":\"http_rpc\"}"), -EINVAL, "rules[0].match.token", "non-empty" },
	{ RULE("{\"token\":7}", "{\"action\":\"http_rpc\"}"), -EINVAL, "rules[0].match.token", "expected a string" },
	{ RULE("{\"token\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	       "{\"action\":\"http_rpc\"}"), -EINVAL, "rules[0].match.token", "at most 200 bytes" },
	{ RULE("{\"tokens\":\"x\"}", "{\"action\":\"http_rpc\"}"), -EINVAL, "rules[0].match.tokens", "label, token)" },
};

START_TEST(load_errors)
{
	struct policy_error err;
	struct policy *p = (struct policy *)1;
	const char *path = write_file(NULL, bad[_i].text, 0644);
	int r = policy_load(path, false, &p, &err);

	ck_assert_msg(r == bad[_i].err, "case %d: %d (%s)", _i, r, err.text);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.file, path);
	ck_assert_msg(err.line > 0 && err.column > 0, "case %d: no position: %s", _i, err.text);
	ck_assert_str_eq(err.at.path, bad[_i].where ? bad[_i].where : "");
	ck_assert_msg(strstr(err.at.msg, bad[_i].msg), "case %d: \"%s\" lacks \"%s\"", _i, err.at.msg, bad[_i].msg);
	ck_assert_msg(!strncmp(err.text, path, strlen(path)) && err.text[strlen(path)] == ':', "%s", err.text);
	if (bad[_i].where)
		ck_assert_msg(strstr(err.text, bad[_i].where), "%s", err.text);
}
END_TEST

/* A user or group the databases do not hold (yet) is no load error: the
 * value matches nobody, the rule's warning names it, and the rest of the
 * rule holds. */
START_TEST(unknown_names_match_nobody)
{
	struct policy *p = load_text("{\"version\":1,\"rules\":["
	                             "{\"name\":\"ghost\",\"match\":{\"user\":\"no-such-user-sbk\"},"
	                             "\"allow\":[{\"action\":\"resolve\"}]},"
	                             "{\"name\":\"root or ghosts\",\"match\":{\"group\":[\"root\",\"no-such-group-sbk\"]},"
	                             "\"allow\":[{\"action\":\"bind\"}]}]}");
	struct policy_subject root = subj(0, 0), other = subj(4711, 4711);
	struct policy_rule_view v;
	struct policy_decision d;
	struct policy_request q = req(POLICY_RESOLVE, -1, -1, -1);
	char *w = NULL;

	ck_assert_int_eq(policy_rule_view(p, 0, &v), 0);
	ck_assert_uint_eq(v.nunknown, 1);
	ck_assert_str_eq(v.unknown[0], "user \"no-such-user-sbk\"");
	ck_assert_int_eq(policy_rule_view(p, 1, &v), 0);
	ck_assert_uint_eq(v.nunknown, 1);
	ck_assert_str_eq(v.unknown[0], "group \"no-such-group-sbk\"");
	ck_assert_int_eq(policy_lint_rule(p, 0, &w), 0);
	ck_assert_msg(w && strstr(w, "rule \"ghost\" names user \"no-such-user-sbk\", unknown to this system") &&
	              strstr(w, "reload"), "%s", w ? w : "(none)");
	free(w);
	/* Nobody matches "ghost"; "root or ghosts" still matches gid 0. */
	ck_assert(!decide(p, &other, &q, &d));
	ck_assert(!decide(p, &root, &q, &d));
	q = req(POLICY_BIND, AF_INET, SOCK_STREAM, 0);
	ck_assert(decide(p, &root, &q, &d));
	ck_assert(!decide(p, &other, &q, &d));
	policy_free(p);
}
END_TEST

/* A value-level error points at the member it is about. */
START_TEST(semantic_position)
{
	const char *text =
		"{\"version\": 1,\n"
		" \"rules\": [\n"
		"  {\"name\": \"a\", \"match\": {}, \"allow\": [{\"action\": \"resolve\"}]},\n"
		"  {\"name\": \"b[1]\", \"match\": {\"user\": [\"root\", \"x\", 3]},\n"
		"   \"allow\": [{\"action\": \"resolve\"}, {\"action\": \"bind\",\n"
		"      \"port\": [1, \"2-3\", 70000]}]}]}\n";
	const char *path = write_file(NULL, text, 0644);
	struct policy_error err;
	struct policy *p;
	char want[700];

	/* The unknown user "x" is no error (it matches nobody): the number is. */
	ck_assert_int_eq(policy_load(path, false, &p, &err), -EINVAL);
	ck_assert_str_eq(err.at.path, "rules[1].match.user[2]");
	ck_assert_msg(err.line == 4 && err.column == 52, "%s", err.text);
	snprintf(want, sizeof(want), "%s:4:52: rules[1].match.user[2]: ", path);
	ck_assert_msg(!strncmp(err.text, want, strlen(want)), "%s", err.text);

	text = "{\"version\": 1,\n"
	       " \"rules\": [\n"
	       "  {\"name\": \"a\", \"match\": {}, \"allow\": [{\"action\": \"resolve\"}]},\n"
	       "  {\"name\": \"b[1]\", \"match\": {},\n"
	       "   \"allow\": [{\"action\": \"resolve\"}, {\"action\": \"bind\",\n"
	       "      \"port\": [1, \"2-3\", 70000]}]}]}\n";
	path = write_file(NULL, text, 0644);
	ck_assert_int_eq(policy_load(path, false, &p, &err), -EINVAL);
	ck_assert_str_eq(err.at.path, "rules[1].allow[1].port[2]");
	ck_assert_msg(err.line == 6 && err.column == 26, "%s", err.text);
}
END_TEST

START_TEST(syntax_errors)
{
	static const struct {
		const char *text;
		int line, column;
		const char *msg;
	} cases[] = {
		{ "{\n  \"version\": 1,\n  \"rules\": [ ,\n", 3, 14, "invalid JSON" },
		{ "{\n  \"version\": 1,\n  \"rules\": [\n", 4, 1, "unexpected end" },
		{ "{\"version\": 1, \"rules\": [{\"name\":\"r\",\"match\":{},\"allow\":[{\"action\":\"admin\"}]}]}\n x", 2, 2, "text after" },
		{ "", 1, 1, "unexpected end" },
		{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {},\n \"allow\": [{\"action\": \"bind\"}],\n \"allow\": []}]}", 3, 2, "duplicate member \"allow\"" },
		{ "{\n\"version\": 1,\n\"rules\": [1,]}", 3, 13, "invalid JSON" },
	};
	struct policy_error err;
	struct policy *p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file(NULL, cases[i].text, 0644);
		char prefix[600];
		ck_assert_int_eq(policy_load(path, false, &p, &err), -EINVAL);
		ck_assert_msg(err.line == cases[i].line && err.column == cases[i].column, "case %zu: %d:%d (%s)", i,
		              err.line, err.column, err.text);
		ck_assert_msg(strstr(err.at.msg, cases[i].msg), "%s", err.text);
		snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", path, cases[i].line, cases[i].column);
		ck_assert_msg(!strncmp(err.text, prefix, strlen(prefix)), "%s", err.text);
	}
}
END_TEST

START_TEST(file_errors)
{
	struct policy_error err;
	struct policy *p;
	char path[600], a[600], b[600];
	const char *f, *d;

	snprintf(path, sizeof(path), "%s/does-not-exist.json", tmpdir);
	ck_assert_int_eq(policy_load(path, false, &p, &err), -ENOENT);
	ck_assert_str_eq(err.file, path);
	ck_assert(strstr(err.text, "no such file"));

	/* world-writable: refused with strict_owner, loaded without */
	f = write_file(NULL, example, 0666);
	ck_assert_int_eq(policy_load(f, true, &p, &err), -EPERM);
	ck_assert_str_eq(err.file, f);
	/* as root the mode is the reason; otherwise the owner already is */
	ck_assert_msg(strstr(err.at.msg, geteuid() == 0 ? "writable by every user" : "not root"), "%s", err.text);
	ck_assert_int_eq(policy_load(f, false, &p, &err), 0);
	policy_free(p);
	ck_assert_int_eq(chmod(f, 0644), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(policy_load(f, true, &p, &err), 0);
		policy_free(p);
		ck_assert_int_eq(chown(f, NOBODY, NOBODY), 0);
		ck_assert_int_eq(policy_load(f, true, &p, &err), -EPERM);
		ck_assert_msg(strstr(err.at.msg, "not root"), "%s", err.text);
		ck_assert_int_eq(chmod(f, 0664), 0);
		ck_assert_int_eq(chown(f, 0, NOBODY), 0);
		ck_assert_int_eq(policy_load(f, true, &p, &err), -EPERM);
		ck_assert_msg(strstr(err.at.msg, "writable by group"), "%s", err.text);
		/* a good file in a directory someone else may write: they could rename
		 * another file over it */
		d = mkdir_new();
		snprintf(a, sizeof(a), "%s/p.json", d);
		f = write_file("p.json", example, 0644);
		ck_assert_int_eq(rename(f, a), 0);
		ck_assert_int_eq(policy_load(a, true, &p, &err), 0);
		policy_free(p);
		ck_assert_int_eq(chown(d, NOBODY, NOBODY), 0);
		ck_assert_int_eq(policy_load(a, true, &p, &err), -EPERM);
		ck_assert_str_eq(err.file, d);
		ck_assert_msg(strstr(err.at.msg, "not root"), "%s", err.text);
		/* every directory above counts, however the path is written */
		{
			char top[512], sub[600], file[700], slash[700], link[700], pd[600];
			snprintf(top, sizeof(top), "%s", mkdir_new());
			snprintf(sub, sizeof(sub), "%s/sub", top);
			ck_assert_int_eq(mkdir(sub, 0755), 0);
			snprintf(file, sizeof(file), "%s/p.json", sub);
			ck_assert_int_eq(rename(write_file("q.json", example, 0644), file), 0);
			snprintf(slash, sizeof(slash), "%s/", sub);
			ck_assert_int_eq(policy_load(file, true, &p, &err), 0);
			policy_free(p);
			ck_assert_int_eq(chmod(top, 0777), 0);
			ck_assert_int_eq(policy_load(file, true, &p, &err), -EPERM);
			ck_assert_str_eq(err.file, top);
			ck_assert_msg(strstr(err.at.msg, "writable by every user"), "%s", err.text);
			ck_assert_int_eq(policy_load(slash, true, &p, &err), -EPERM);
			ck_assert_str_eq(err.file, top);
			/* a symlink from a safe place to a file below the unsafe one */
			snprintf(link, sizeof(link), "%s/link.json", mkdir_new());
			ck_assert_int_eq(symlink(file, link), 0);
			ck_assert_int_eq(policy_load(link, true, &p, &err), -EPERM);
			ck_assert_str_eq(err.file, top);
			/* and inside a policy directory */
			snprintf(pd, sizeof(pd), "%s", mkdir_new());
			snprintf(link, sizeof(link), "%s/10-x.json", pd);
			ck_assert_int_eq(symlink(file, link), 0);
			ck_assert_int_eq(policy_load(pd, true, &p, &err), -EPERM);
			ck_assert_str_eq(err.file, top);
			ck_assert_int_eq(chmod(top, 0755), 0);
			ck_assert_int_eq(policy_load(pd, true, &p, &err), 0);
			policy_free(p);
		}
	}

	/* a symlink loop inside a directory */
	d = mkdir_new();
	write_file(NULL, example, 0644);
	snprintf(a, sizeof(a), "%s/a.json", d);
	snprintf(b, sizeof(b), "%s/b.json", d);
	ck_assert_int_eq(symlink(b, a), 0);
	ck_assert_int_eq(symlink(a, b), 0);
	ck_assert_int_eq(policy_load(d, false, &p, &err), -ELOOP);
	ck_assert_str_eq(err.file, a);
	ck_assert_msg(strstr(err.text, "symlink loop"), "%s", err.text);

	/* a file too large */
	{
		char *big = malloc(POLICY_MAX_FILE_SIZE + 2);
		memset(big, ' ', POLICY_MAX_FILE_SIZE + 1);
		big[POLICY_MAX_FILE_SIZE + 1] = '\0';
		f = write_file(NULL, big, 0644);
		free(big);
		ck_assert_int_eq(policy_load(f, false, &p, &err), -EFBIG);
	}

	/* a directory where a file is expected inside policy.d */
	d = mkdir_new();
	snprintf(a, sizeof(a), "%s/x.json", d);
	ck_assert_int_eq(mkdir(a, 0755), 0);
	ck_assert_int_eq(policy_load(d, false, &p, &err), -EINVAL);
	ck_assert_str_eq(err.file, a);
	ck_assert(strstr(err.at.msg, "not a regular file"));
}
END_TEST

START_TEST(directory_order)
{
	const char *d = mkdir_new();
	struct policy_subject s = subj(7777, 7777);
	struct policy_limits l;
	struct policy_error err;
	struct policy *p;
	const char *names[8];
	char name[600];
	static const char *const files[][2] = {
		{ "b.json", "{\"version\":1,\"limits\":{\"handles\":2},\"rules\":[{\"name\":\"b\",\"match\":{},\"limits\":{\"pending\":2}}]}" },
		{ "a.json", "{\"version\":1,\"limits\":{\"handles\":1,\"connections\":1},\"rules\":[{\"name\":\"a\",\"match\":{},\"limits\":{\"pending\":1}}]}" },
		{ "B.json", "{\"version\":1,\"rules\":[{\"name\":\"B\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]}]}" },
		{ "10.json", "{\"version\":1,\"rules\":[{\"name\":\"10\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]}]}" },
		{ "c.json.bak", "not json" },
		{ ".hidden.json", "not json" },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(name, sizeof(name), "%s/%s", d + strlen(tmpdir) + 1, files[i][0]);
		write_file(name, files[i][1], 0644);
	}
	ck_assert_int_eq(policy_load(d, false, &p, &err), 0);
	ck_assert_uint_eq(policy_matching_rules(p, &s, names, 8), 4);
	ck_assert_str_eq(names[0], "10");   /* byte order: digits, upper, lower */
	ck_assert_str_eq(names[1], "B");
	ck_assert_str_eq(names[2], "a");
	ck_assert_str_eq(names[3], "b");
	policy_limits(p, &s, &l);
	ck_assert_int_eq(l.handles, 2);       /* later file's top level */
	ck_assert_int_eq(l.connections, 1);   /* member by member */
	ck_assert_int_eq(l.pending, 2);       /* last matching rule */
	policy_free(p);

	/* one bad file fails the whole directory, naming that file */
	snprintf(name, sizeof(name), "%s/10.json", d + strlen(tmpdir) + 1);
	write_file(name, "{\"version\":1,\"rules\":[{\"name\":\"x\",\"match\":{},\"allow\":[{\"action\":\"bind\",\"port\":70000}]}]}", 0644);
	ck_assert_int_eq(policy_load(d, false, &p, &err), -EINVAL);
	ck_assert_msg(strstr(err.file, "/10.json"), "%s", err.text);
}
END_TEST

/* The finite bounds: files per directory, rules in all. */
START_TEST(bounds)
{
	const char *d = mkdir_new();
	const char *one = "{\"version\":1,\"rules\":[{\"name\":\"x\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]}]}";
	struct policy_error err;
	struct policy *p;
	char name[600];
	size_t cap = 100 * (POLICY_MAX_RULES + 1) + 64, o;
	char *big;

	for (int i = 0; i <= POLICY_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "%s/%04d.json", d + strlen(tmpdir) + 1, i);
		write_file(name, one, 0644);
	}
	ck_assert_int_eq(policy_load(d, false, &p, &err), -E2BIG);
	ck_assert_msg(strstr(err.at.msg, "policy files"), "%s", err.text);

	big = malloc(cap);
	o = (size_t)snprintf(big, cap, "{\"version\":1,\"rules\":[");
	for (int i = 0; i <= POLICY_MAX_RULES; i++)
		o += (size_t)snprintf(big + o, cap - o, "%s{\"name\":\"r%d\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]}",
		                      i ? "," : "", i);
	snprintf(big + o, cap - o, "]}");
	ck_assert_int_eq(policy_load(write_file(NULL, big, 0644), false, &p, &err), -E2BIG);
	ck_assert_str_eq(err.at.path, "rules[4096]");
	free(big);
}
END_TEST

START_TEST(embedded_default)
{
	const char *d = mkdir_new();
	struct policy_subject root = subj(0, 0), self = subj(geteuid(), getegid()), other = subj(7777, 7777);
	struct policy_decision dec;
	struct policy_request q;
	struct policy_error err;
	struct policy_limits l;
	struct policy *p;
	const char *names[2];

	/* An empty directory (no *.json) means no policy at all. */
	ck_assert_int_eq(policy_load(d, false, &p, &err), 0);
	ck_assert(policy_is_default(p));
	for (int a = 0; a < POLICY_ACTION_MAX; a++) {
		q = req((enum policy_action)a, AF_PACKET, SOCK_RAW, 0);
		set_addr(&q, "0.0.0.0", 1);
		ck_assert(decide(p, &root, &q, &dec));
		ck_assert_str_eq(dec.rule, POLICY_DEFAULT_RULE);
		ck_assert(decide(p, &self, &q, &dec));
		ck_assert(!decide(p, &other, &q, &dec));
		ck_assert_str_eq(dec.rule, POLICY_DEFAULT_RULE);
		ck_assert_msg(strstr(dec.reason, "introspection"), "%s", dec.reason);
	}
	ck_assert_uint_eq(policy_matching_rules(p, &other, names, 2), 0);
	ck_assert_uint_eq(policy_matching_rules(p, &root, names, 2), 1);
	policy_limits(p, &root, &l);
	ck_assert_int_eq(l.handles, -1);
	policy_free(p);

	/* NULL: the system paths; only checkable where they do not exist. */
	if (access(POLICY_DEFAULT_FILE, F_OK) < 0 && access(POLICY_DEFAULT_DIR, F_OK) < 0) {
		ck_assert_int_eq(policy_load(NULL, true, &p, &err), 0);
		ck_assert(policy_is_default(p));
		policy_free(p);
	}
	policy_free(NULL);
}
END_TEST

/* Each rule as written, with its file and the line it starts on, across the
 * files of a directory; the embedded default as a file would hold it. */
START_TEST(rule_sources)
{
	const char *d = mkdir_new();
	struct policy_error err;
	struct policy *p;
	json_object *j, *v;
	const char *file;
	char name[600];
	int line;

	snprintf(name, sizeof(name), "%s/a.json", d + strlen(tmpdir) + 1);
	write_file(name, "{\"version\":1,\"rules\":[{\"name\":\"a\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]}]}", 0644);
	snprintf(name, sizeof(name), "%s/b.json", d + strlen(tmpdir) + 1);
	write_file(name,
	           "{\n"
	           "  \"version\": 1,\n"
	           "  \"rules\": [\n"
	           "    { \"name\": \"b1\", \"match\": { \"uid\": 5 },\n"
	           "      \"deny\": [ { \"action\": \"connect\", \"port\": 25 } ] },\n"
	           "\n"
	           "    {\n"
	           "      \"name\": \"b2\", \"match\": {}, \"limits\": { \"handles\": 3 } }\n"
	           "  ]\n"
	           "}\n", 0644);
	ck_assert_int_eq(policy_load(d, false, &p, &err), 0);
	ck_assert_int_eq(policy_rule_source(p, 0, &j, &file, &line), 0);
	ck_assert_ptr_nonnull(strstr(file, "/a.json"));
	ck_assert_int_eq(line, 1);
	ck_assert_str_eq(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
	                 "{\"name\":\"a\",\"match\":{},\"allow\":[{\"action\":\"resolve\"}]}");
	ck_assert_int_eq(policy_rule_source(p, 1, &j, &file, &line), 0);
	ck_assert_ptr_nonnull(strstr(file, "/b.json"));
	ck_assert_int_eq(line, 4);
	ck_assert(json_object_object_get_ex(j, "deny", &v));
	ck_assert_int_eq(json_object_array_length(v), 1);
	ck_assert_int_eq(policy_rule_source(p, 2, &j, &file, &line), 0);
	ck_assert_int_eq(line, 7);
	ck_assert(json_object_object_get_ex(j, "limits", &v));
	ck_assert_int_eq(policy_rule_source(p, 3, &j, &file, &line), -ENOENT);
	policy_free(p);

	/* The embedded default. */
	d = mkdir_new();
	ck_assert_int_eq(policy_load(d, false, &p, &err), 0);
	ck_assert(policy_is_default(p));
	ck_assert_int_eq(policy_rule_source(p, 0, &j, &file, &line), 0);
	ck_assert_ptr_null(file);
	ck_assert_int_eq(line, 0);
	ck_assert(json_object_object_get_ex(j, "allow", &v));
	ck_assert_int_eq(json_object_array_length(v), POLICY_ACTION_MAX);
	ck_assert(json_object_object_get_ex(j, "match", &v));
	ck_assert(json_object_object_get_ex(v, "uid", &v));
	ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(v, 0)), 0);
	policy_free(p);
}
END_TEST

/* What bind and connect entries imply, what explicit_create asks, and proto 0
 * of INET sockets judged as the kernel's pick. */
START_TEST(implied_grants)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"web\",\"match\":{\"uid\":33},\"allow\":[{\"action\":\"bind\",\"family\":\"AF_INET\","
		"\"type\":\"SOCK_STREAM\",\"address\":\"0.0.0.0/0\",\"port\":80}]},"
		"{\"name\":\"tcp\",\"match\":{\"uid\":34},\"allow\":[{\"action\":\"create\",\"family\":\"AF_INET\","
		"\"proto\":\"IPPROTO_TCP\"}]},"
		"{\"name\":\"default proto\",\"match\":{\"uid\":35},\"allow\":[{\"action\":\"create\","
		"\"family\":\"AF_INET\",\"proto\":0}]}]}");
	struct policy_subject web = subj(33, 33), tcp = subj(34, 34), dflt = subj(35, 35);
	struct policy_decision d;
	struct policy_request q;

	q = req(POLICY_LISTEN, AF_INET, SOCK_STREAM, 0);
	set_addr(&q, "0.0.0.0", 80);
	ck_assert(decide(p, &web, &q, &d));
	ck_assert_str_eq(d.rule, "web");
	set_addr(&q, "0.0.0.0", 81);
	ck_assert(!decide(p, &web, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0);
	ck_assert(decide(p, &web, &q, &d));
	q.explicit_create = true;
	ck_assert(!decide(p, &web, &q, &d));
	/* proto 0 of a stream socket is TCP, as the kernel makes it; a datagram one is not. */
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0);
	q.explicit_create = true;
	ck_assert(decide(p, &tcp, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ck_assert(decide(p, &tcp, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_DGRAM, 0);
	ck_assert(!decide(p, &tcp, &q, &d));
	/* An entry's proto 0 is the default protocol, however the request names it. */
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0);
	ck_assert(decide(p, &dflt, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ck_assert(decide(p, &dflt, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	ck_assert(decide(p, &dflt, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	ck_assert(!decide(p, &dflt, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	ck_assert(!decide(p, &dflt, &q, &d));
	policy_free(p);
}
END_TEST

/* Issue 9 item 4: addresses are judged as the kernel uses them. */
START_TEST(address_normalisation)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"out\",\"match\":{\"uid\":[7777,1000]},\"allow\":[{\"action\":\"connect\",\"address\":[\"0.0.0.0/0\",\"::/0\"]},"
		"  {\"action\":\"send\",\"address\":[\"0.0.0.0/0\",\"::/0\"]},"
		"  {\"action\":\"bind\",\"family\":\"AF_INET6\",\"address\":\"::/0\"}],"
		" \"deny\":[{\"action\":\"connect\",\"address\":[\"127.0.0.0/8\",\"::1\"]},"
		"  {\"action\":\"send\",\"address\":[\"127.0.0.0/8\",\"::1\"]}]},"
		"{\"name\":\"v6 deny of mapped\",\"match\":{\"uid\":1000},"
		" \"deny\":[{\"action\":\"connect\",\"address\":\"::ffff:10.0.0.0/104\"}]},"
		"{\"name\":\"v4 bind\",\"match\":{\"uid\":1001},"
		" \"allow\":[{\"action\":\"bind\",\"family\":\"AF_INET\",\"address\":\"0.0.0.0/0\"},"
		"  {\"action\":\"connect\",\"address\":\"::/0\"}]}"
		"]}");
	struct policy_subject s = subj(7777, 7777), u = subj(1000, 1000), v = subj(1001, 1001);
	static const char *const local[] = { "0.0.0.0", "::", "::ffff:0.0.0.0", "::ffff:127.0.0.1", "127.0.0.5", "::1" };
	struct policy_decision d;
	struct policy_request q;

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		int fam = strchr(local[i], ':') ? AF_INET6 : AF_INET;
		ck_assert_msg(!addr_ok(p, &s, POLICY_CONNECT, fam, SOCK_STREAM, local[i], 80), "%s", local[i]);
		ck_assert_msg(!addr_ok(p, &s, POLICY_SEND, fam, SOCK_DGRAM, local[i], 53), "send %s", local[i]);
	}
	ck_assert(addr_ok(p, &s, POLICY_CONNECT, AF_INET, SOCK_STREAM, "8.8.8.8", 80));
	ck_assert(addr_ok(p, &s, POLICY_CONNECT, AF_INET6, SOCK_STREAM, "2001:db8::1", 80));
	ck_assert(addr_ok(p, &s, POLICY_CONNECT, AF_INET6, SOCK_STREAM, "::ffff:8.8.8.8", 80));
	ck_assert(addr_ok(p, &s, POLICY_SEND, AF_INET, SOCK_DGRAM, "8.8.8.8", 53));

	/* The reason shows the judged address and what was asked. */
	q = req(POLICY_CONNECT, AF_INET, SOCK_STREAM, 0);
	set_addr(&q, "0.0.0.0", 80);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "denies connect of AF_INET SOCK_STREAM to 127.0.0.1:80 (asked 0.0.0.0)"), "%s",
	              d.reason);
	q = req(POLICY_CONNECT, AF_INET6, SOCK_STREAM, 0);
	set_addr(&q, "::", 80);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "to [::1]:80 (asked ::)"), "%s", d.reason);
	set_addr(&q, "::ffff:127.0.0.1", 80);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "to 127.0.0.1:80 (asked ::ffff:127.0.0.1, judged as AF_INET)"), "%s", d.reason);
	set_addr(&q, "2001:db8::1", 80);
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_msg(!strstr(d.reason, "asked"), "%s", d.reason);

	/* Bind to the unspecified address stays "any": not the loopback. */
	q = req(POLICY_BIND, AF_INET6, SOCK_STREAM, 0);
	set_addr(&q, "::", 80);
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "on [::]:80") && !strstr(d.reason, "asked"), "%s", d.reason);
	/* A v6-only bind entry does not cover a v4-mapped address: that is a v4 bind. */
	set_addr(&q, "::ffff:127.0.0.1", 80);
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "on 127.0.0.1:80 (asked ::ffff:127.0.0.1, judged as AF_INET)"), "%s", d.reason);
	set_addr(&q, "::ffff:0.0.0.0", 80);
	ck_assert(!decide(p, &s, &q, &d));
	/* and a v4 entry does */
	ck_assert(decide(p, &v, &q, &d));
	ck_assert_str_eq(d.rule, "v4 bind");
	ck_assert_msg(strstr(d.reason, "on 0.0.0.0:80 (asked ::ffff:0.0.0.0"), "%s", d.reason);
	/* listen is judged the same way */
	q.action = POLICY_LISTEN;
	set_addr(&q, "::ffff:127.0.0.1", 80);
	ck_assert(!decide(p, &s, &q, &d));

	/* Both ways: a v6 CIDR inside ::ffff:0:0/96 covers the v4 address... */
	ck_assert(!addr_ok(p, &u, POLICY_CONNECT, AF_INET, SOCK_STREAM, "10.1.2.3", 80));
	ck_assert(!addr_ok(p, &u, POLICY_CONNECT, AF_INET6, SOCK_STREAM, "::ffff:10.1.2.3", 80));
	ck_assert(addr_ok(p, &u, POLICY_CONNECT, AF_INET, SOCK_STREAM, "11.1.2.3", 80));
	/* ...but ::/0 does not: it is outside ::ffff:0:0/96. */
	ck_assert(!addr_ok(p, &v, POLICY_CONNECT, AF_INET, SOCK_STREAM, "11.1.2.3", 80));
	ck_assert(addr_ok(p, &v, POLICY_CONNECT, AF_INET6, SOCK_STREAM, "2001:db8::1", 80));
	policy_free(p);
}
END_TEST

/* Issue 9 item 2: messages sent on privileged sockets, netlink names. */
START_TEST(send_messages)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"route reader\",\"match\":{\"uid\":1000},\"allow\":["
		"  {\"action\":\"create\",\"family\":\"AF_NETLINK\",\"proto\":\"NETLINK_ROUTE\"},"
		"  {\"action\":\"send\",\"family\":\"AF_NETLINK\",\"proto\":\"NETLINK_ROUTE\","
		"   \"message\":[\"RTM_GETLINK\",\"RTM_GETADDR\",\"RTM_GETNEXTHOP\",\"NLMSG_DONE\"]},"
		"  {\"action\":\"send\",\"proto\":\"NETLINK_SOCK_DIAG\"},"
		"  {\"action\":\"send\",\"family\":\"AF_NETLINK\",\"proto\":16,\"message\":[28,\"NLMSG_NOOP\"]}]},"
		"{\"name\":\"connect only\",\"match\":{\"uid\":1001},\"allow\":["
		"  {\"action\":\"connect\"},{\"action\":\"bind\"}]},"
		"{\"name\":\"names and numbers\",\"match\":{\"uid\":1002},\"allow\":["
		"  {\"action\":\"create\",\"proto\":\"NETLINK_SOCK_DIAG\"},"
		"  {\"action\":\"create\",\"proto\":[\"IPPROTO_TCP\",\"NETLINK_ROUTE\"]},"
		"  {\"action\":\"adopt\",\"proto\":6}]}"
		"]}");
	struct policy_subject u = subj(1000, 1000), c = subj(1001, 1001), n = subj(1002, 1002);
	struct policy_decision d;
	struct policy_request q;

	ck_assert_str_eq(policy_action_name(POLICY_SEND), "send");
	ck_assert_ptr_null(policy_action_name(POLICY_ACTION_MAX));

	q = req(POLICY_SEND, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	q.message = RTM_GETLINK;
	ck_assert(decide(p, &u, &q, &d));
	ck_assert_str_eq(d.rule, "route reader");
	ck_assert_msg(strstr(d.reason, "allows send of AF_NETLINK SOCK_RAW message RTM_GETLINK (18)"), "%s", d.reason);
	q.message = RTM_GETNEXTHOP;
	ck_assert(decide(p, &u, &q, &d));
	q.message = NLMSG_DONE;
	ck_assert(decide(p, &u, &q, &d));
	q.message = RTM_NEWLINK;
	ck_assert(!decide(p, &u, &q, &d));
	ck_assert_msg(strstr(d.reason, "no rule allows send of AF_NETLINK SOCK_RAW message RTM_NEWLINK (16) to uid 1000"),
	              "%s", d.reason);
	q.message = RTM_NEWROUTE;
	ck_assert(!decide(p, &u, &q, &d));
	q.message = -1;   /* no message: an entry naming messages does not cover it */
	ck_assert(!decide(p, &u, &q, &d));
	/* an entry without message covers every message of its protocol */
	q = req(POLICY_SEND, AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
	q.message = SOCK_DESTROY;
	ck_assert(decide(p, &u, &q, &d));
	ck_assert_msg(strstr(d.reason, "message SOCK_DESTROY (21)"), "%s", d.reason);
	q.message = 12345;
	ck_assert(decide(p, &u, &q, &d));
	ck_assert_msg(strstr(d.reason, "message 12345"), "%s", d.reason);
	/* ...and not of another protocol, not by its IPPROTO twin (4 is IPPROTO_IPIP) */
	q = req(POLICY_SEND, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	q.message = 1000;
	ck_assert(!decide(p, &u, &q, &d));
	q = req(POLICY_SEND, AF_INET, SOCK_RAW, IPPROTO_IPIP);
	q.message = -1;
	ck_assert(!decide(p, &u, &q, &d));
	/* numbers under a protocol without names */
	q = req(POLICY_SEND, AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
	q.message = 28;
	ck_assert(decide(p, &u, &q, &d));
	q.message = NLMSG_NOOP;
	ck_assert(decide(p, &u, &q, &d));
	q.message = 29;
	ck_assert(!decide(p, &u, &q, &d));
	/* create under the netlink name */
	q = req(POLICY_CREATE, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	ck_assert(decide(p, &u, &q, &d));

	/* bind and connect entries do not imply send */
	q = req(POLICY_SEND, AF_INET, SOCK_DGRAM, 0);
	q.message = -1;
	set_addr(&q, "192.0.2.1", 53);
	ck_assert(!decide(p, &c, &q, &d));
	q = req(POLICY_SEND, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	q.message = RTM_GETLINK;
	ck_assert(!decide(p, &c, &q, &d));

	/* A protocol name holds for its own families only; a number for all. */
	q = req(POLICY_CREATE, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
	ck_assert(decide(p, &n, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_RAW, IPPROTO_IPIP);   /* the same number */
	ck_assert(!decide(p, &n, &q, &d));
	q = req(POLICY_CREATE, AF_INET, SOCK_STREAM, 0);   /* NETLINK_ROUTE is 0, not the default protocol */
	ck_assert(decide(p, &n, &q, &d));                  /* (allowed through IPPROTO_TCP) */
	q = req(POLICY_CREATE, AF_INET, SOCK_DGRAM, 0);
	ck_assert(!decide(p, &n, &q, &d));
	q = req(POLICY_CREATE, AF_NETLINK, SOCK_RAW, NETLINK_XFRM);   /* 6, IPPROTO_TCP's number */
	ck_assert(!decide(p, &n, &q, &d));
	q = req(POLICY_CREATE, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	ck_assert(decide(p, &n, &q, &d));
	q = req(POLICY_ADOPT, AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
	ck_assert(decide(p, &n, &q, &d));
	q = req(POLICY_ADOPT, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ck_assert(decide(p, &n, &q, &d));
	policy_free(p);
}
END_TEST

/* Judges an AF_UNIX request of action a at path (NULL: none given). */
static bool unix_ok(const struct policy *p, const struct policy_subject *who, enum policy_action a, const char *path,
                    struct policy_decision *d)
{
	struct policy_request q = req(a, AF_UNIX, SOCK_STREAM, 0);

	q.path = path;
	q.message = -1;
	return decide(p, who, &q, d);
}

/* Issue 9 items 3 and 6: AF_UNIX addresses need a path grant. */
START_TEST(unix_paths)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"paths\",\"match\":{\"uid\":1000},\"allow\":["
		"  {\"action\":\"connect\",\"path\":[\"/run/app.sock\",\"/run/app/\",\"/run/g/*.sock\",\"/run/user/[0-9]*/\","
		"   \"@myapp-*\",\"@exact\"]},"
		"  {\"action\":\"bind\",\"family\":\"AF_UNIX\",\"path\":[\"\",\"/srv/b.sock\"]},"
		"  {\"action\":\"send\",\"path\":\"@dest\"},"
		"  {\"action\":\"connect\",\"family\":[\"AF_INET\",\"AF_INET6\"]}],"
		" \"deny\":[{\"action\":\"connect\",\"path\":\"/run/app/secret.sock\"}]},"
		"{\"name\":\"no path\",\"match\":{\"uid\":1001},\"allow\":[{\"action\":\"connect\"},{\"action\":\"bind\"},"
		"  {\"action\":\"send\"}]},"
		"{\"name\":\"unix denied\",\"match\":{\"uid\":1002},\"allow\":[{\"action\":\"connect\",\"path\":\"/\"}],"
		" \"deny\":[{\"action\":\"connect\",\"family\":\"AF_UNIX\"}]}"
		"]}");
	struct policy_subject u = subj(1000, 1000), n = subj(1001, 1001), x = subj(1002, 1002);
	static const char *const yes[] = {
		"/run/app.sock", "/run/app/a.sock", "/run/app/x/y/z.sock", "/run/g/a.sock", "/run/g/.sock",
		"/run/user/1000/bus", "/run/user/1000/a/b", "@myapp-1", "@myapp-a/b", "@exact",
	};
	static const char *const no[] = {
		"/run/app.sock2", "/run/app", "/run/application/x", "/run/g/x/a.sock", "/run/g/a.sockx",
		"/run/user/x/bus", "/run/user/1000", "@other", "@exactly", "@myapp", "/myapp-1", "myapp-1", "",
		"/run/app/secret.sock",
		/* not canonical: the daemon refuses them, and no allow covers them */
		"/run/app/../etc/x", "/run/app/./a.sock", "/run/app//a.sock", "/run/app/x/..", "/run/app/x/.",
		"/run/app/x/", "run/app/a.sock", "/run/user/1000/../0/bus",
	};
	struct policy_decision d;
	struct policy_request q;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(unix_ok(p, &u, POLICY_CONNECT, yes[i], &d), "%s: %s", yes[i], d.reason);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!unix_ok(p, &u, POLICY_CONNECT, no[i], &d), "%s: %s", no[i], d.reason);
	ck_assert(unix_ok(p, &u, POLICY_CONNECT, "/run/app.sock", &d));
	ck_assert_msg(strstr(d.reason, "allows connect of AF_UNIX SOCK_STREAM to \"/run/app.sock\""), "%s", d.reason);
	ck_assert(!unix_ok(p, &u, POLICY_CONNECT, "/run/app/secret.sock", &d));
	ck_assert_str_eq(d.rule, "paths");
	ck_assert_msg(strstr(d.reason, "denies connect of AF_UNIX SOCK_STREAM to \"/run/app/secret.sock\""), "%s", d.reason);
	ck_assert(!unix_ok(p, &u, POLICY_CONNECT, "/run/app/../etc/x", &d));
	ck_assert_msg(strstr(d.reason, "not absolute and canonical"), "%s", d.reason);
	/* "" is the unnamed (autobind) address: only the "" selector covers it */
	ck_assert(unix_ok(p, &u, POLICY_BIND, "", &d));
	ck_assert_msg(strstr(d.reason, "bind of AF_UNIX SOCK_STREAM on \"\" (unnamed)"), "%s", d.reason);
	ck_assert(unix_ok(p, &u, POLICY_BIND, "/srv/b.sock", &d));
	ck_assert(!unix_ok(p, &u, POLICY_BIND, "/srv/c.sock", &d));
	/* a bind grant is a listen grant on the same path */
	ck_assert(unix_ok(p, &u, POLICY_LISTEN, "/srv/b.sock", &d));
	ck_assert(!unix_ok(p, &u, POLICY_LISTEN, "/srv/c.sock", &d));
	/* send destinations */
	ck_assert(unix_ok(p, &u, POLICY_SEND, "@dest", &d));
	ck_assert_msg(strstr(d.reason, "send of AF_UNIX SOCK_STREAM to \"@dest\""), "%s", d.reason);
	ck_assert(!unix_ok(p, &u, POLICY_SEND, "@dest2", &d));
	/* control bytes never reach the reason */
	ck_assert(!unix_ok(p, &u, POLICY_CONNECT, "/run/a\nb", &d));
	ck_assert_msg(strstr(d.reason, "\"/run/a?b\"") && !strchr(d.reason, '\n'), "%s", d.reason);

	/* A path grant grants create of UNIX sockets only; an INET request has no path. */
	q = req(POLICY_CREATE, AF_UNIX, SOCK_STREAM, 0);
	ck_assert(decide(p, &u, &q, &d));
	q = req(POLICY_CREATE, AF_PACKET, SOCK_RAW, 0);
	ck_assert(!decide(p, &u, &q, &d));
	ck_assert(addr_ok(p, &u, POLICY_CONNECT, AF_INET, SOCK_STREAM, "192.0.2.1", 80));

	/* An allow entry without path covers no AF_UNIX address... */
	ck_assert(!unix_ok(p, &n, POLICY_CONNECT, "/run/app.sock", &d));
	ck_assert_ptr_null(d.rule);
	ck_assert_msg(strstr(d.reason, "no rule allows connect of AF_UNIX SOCK_STREAM to \"/run/app.sock\" to uid 1001: "
	                               "an AF_UNIX address needs a path grant"), "%s", d.reason);
	ck_assert(!unix_ok(p, &n, POLICY_BIND, "", &d));
	ck_assert_msg(strstr(d.reason, "needs a path grant"), "%s", d.reason);
	ck_assert(!unix_ok(p, &n, POLICY_LISTEN, "/x", &d));
	ck_assert(!unix_ok(p, &n, POLICY_SEND, "@x", &d));
	/* ...while network requests (no path) are covered as before */
	ck_assert(addr_ok(p, &n, POLICY_CONNECT, AF_INET, SOCK_STREAM, "192.0.2.1", 80));
	ck_assert(unix_ok(p, &n, POLICY_CONNECT, NULL, &d));

	/* A deny without path covers every path. */
	ck_assert(!unix_ok(p, &x, POLICY_CONNECT, "/run/app.sock", &d));
	ck_assert_str_eq(d.rule, "unix denied");
	ck_assert(!unix_ok(p, &x, POLICY_CONNECT, "@x", &d));
	ck_assert_str_eq(d.rule, "unix denied");
	policy_free(p);

	/* "/" covers every path; a deny without path but with another family does not apply. */
	p = load_text("{\"version\":1,\"rules\":[{\"name\":\"all\",\"match\":{},\"allow\":[{\"action\":\"connect\","
	              "\"path\":[\"/\",\"@*\"]}],\"deny\":[{\"action\":\"connect\",\"family\":\"AF_INET\"}]}]}");
	ck_assert(unix_ok(p, &x, POLICY_CONNECT, "/a/b/c", &d));
	ck_assert(unix_ok(p, &x, POLICY_CONNECT, "@/tmp/.X11-unix/X0", &d));
	ck_assert(!unix_ok(p, &x, POLICY_CONNECT, "", &d));
	ck_assert(!unix_ok(p, &x, POLICY_CONNECT, "/", &d));   /* "/" is not below "/" */
	policy_free(p);

	/* The embedded default lets root reach every AF_UNIX address. */
	{
		const char *dir = mkdir_new();
		struct policy_error err;
		struct policy_subject root = subj(0, 0);
		ck_assert_int_eq(policy_load(dir, false, &p, &err), 0);
		ck_assert(policy_is_default(p));
		ck_assert(unix_ok(p, &root, POLICY_CONNECT, "/run/x.sock", &d));
		ck_assert(unix_ok(p, &root, POLICY_BIND, "", &d));
		ck_assert(!unix_ok(p, &x, POLICY_CONNECT, "/run/x.sock", &d));
		policy_free(p);
	}
}
END_TEST

/* A path error points at the item at fault. */
START_TEST(path_error_position)
{
	const char *text =
		"{\"version\": 1, \"rules\": [\n"
		" {\"name\": \"a\", \"match\": {},\n"
		"  \"allow\": [{\"action\": \"connect\",\n"
		"             \"path\": [\"/run/ok.sock\", \"/run/x/../y.sock\"]}]}]}\n";
	const char *path = write_file(NULL, text, 0644);
	struct policy_error err;
	struct policy *p;
	char want[700];

	ck_assert_int_eq(policy_load(path, false, &p, &err), -EINVAL);
	ck_assert_str_eq(err.at.path, "rules[0].allow[0].path[1]");
	ck_assert_msg(err.line == 4 && err.column == 39, "%s", err.text);
	snprintf(want, sizeof(want), "%s:4:39: rules[0].allow[0].path[1]: \"/run/x/../y.sock\" has a \".\" or \"..\" "
	         "component; write the path it means", path);
	ck_assert_str_eq(err.text, want);
}
END_TEST

/* Issue 9 item 5: a name no rule could allow is refused before any look-up. */
START_TEST(may_allow)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"api\",\"match\":{\"uid\":1000},\"allow\":["
		"  {\"action\":\"connect\",\"host\":[\"api.example.com\",\"*.cdn.example\"],\"port\":443}],"
		" \"deny\":[{\"action\":\"connect\",\"port\":443}]},"
		"{\"name\":\"by address\",\"match\":{\"uid\":1001},\"allow\":["
		"  {\"action\":\"connect\",\"family\":\"AF_INET6\",\"type\":\"SOCK_STREAM\",\"proto\":\"IPPROTO_TCP\","
		"   \"address\":\"2001:db8::/32\",\"port\":\"8000-8999\"},"
		"  {\"action\":\"bind\",\"address\":\"0.0.0.0/0\",\"port\":80},"
		"  {\"action\":\"connect\",\"family\":\"AF_UNIX\",\"path\":\"/run/\"},"
		"  {\"action\":\"send\",\"type\":\"SOCK_DGRAM\",\"port\":53}]},"
		"{\"name\":\"unix only\",\"match\":{\"uid\":1002},\"allow\":["
		"  {\"action\":\"connect\",\"family\":\"AF_UNIX\"},{\"action\":\"create\"}]}"
		"]}");
	struct policy_subject a = subj(1000, 1000), b = subj(1001, 1001), un = subj(1002, 1002), none = subj(7777, 7777);
	struct policy_request q = req(POLICY_CONNECT, -1, SOCK_STREAM, 0);

	q.host = "api.example.com";
	ck_assert(!policy_may_allow(p, &none, &q, 443));   /* matches no rule */
	ck_assert(policy_may_allow(p, &a, &q, 443));       /* the deny is not consulted */
	ck_assert(policy_may_allow(p, &a, &q, -1));        /* port unknown: could be 443 */
	ck_assert(!policy_may_allow(p, &a, &q, 80));
	ck_assert(!policy_may_allow(p, &a, &q, 70000));
	q.host = "API.Example.com.";
	ck_assert(policy_may_allow(p, &a, &q, 443));
	q.host = "img.cdn.example";
	ck_assert(policy_may_allow(p, &a, &q, 443));
	q.host = "evil.example.com";
	ck_assert(!policy_may_allow(p, &a, &q, 443));
	q.host = NULL;
	ck_assert(!policy_may_allow(p, &a, &q, 443));
	q.action = POLICY_BIND;   /* a connect grant is no bind grant */
	q.host = "api.example.com";
	ck_assert(!policy_may_allow(p, &a, &q, 443));

	/* An address-only rule: any host, if port, family, type and proto hold. */
	q = req(POLICY_CONNECT, -1, SOCK_STREAM, 0);
	q.host = "anything.example.org";
	ck_assert(policy_may_allow(p, &b, &q, 8080));
	ck_assert(!policy_may_allow(p, &b, &q, 9000));
	q.family = AF_INET6;
	ck_assert(policy_may_allow(p, &b, &q, 8080));
	q.family = AF_INET;
	ck_assert(!policy_may_allow(p, &b, &q, 8080));
	q.family = -1;
	q.type = SOCK_DGRAM;
	ck_assert(!policy_may_allow(p, &b, &q, 8080));
	q.type = -1;
	ck_assert(policy_may_allow(p, &b, &q, 8080));
	q.type = SOCK_STREAM;
	q.proto = IPPROTO_SCTP;
	ck_assert(!policy_may_allow(p, &b, &q, 8080));
	q.proto = -1;
	ck_assert(policy_may_allow(p, &b, &q, 8080));
	/* bind by name; the bind entry does not cover connect on port 80 */
	q = req(POLICY_BIND, -1, SOCK_STREAM, 0);
	q.host = "localhost";
	ck_assert(policy_may_allow(p, &b, &q, 80));
	ck_assert(!policy_may_allow(p, &b, &q, 81));
	q.action = POLICY_CONNECT;
	ck_assert(!policy_may_allow(p, &b, &q, 80));
	/* send by name */
	q = req(POLICY_SEND, -1, SOCK_DGRAM, 0);
	q.host = "ns.example";
	q.message = -1;
	ck_assert(policy_may_allow(p, &b, &q, 53));
	ck_assert(!policy_may_allow(p, &b, &q, 54));
	/* only network families count for a name: an AF_UNIX grant does not */
	q = req(POLICY_CONNECT, -1, SOCK_STREAM, 0);
	q.host = "anything.example.org";
	ck_assert(!policy_may_allow(p, &un, &q, 80));
	ck_assert(!policy_may_allow(p, &un, &q, -1));
	/* other actions are not asked about */
	q = req(POLICY_CREATE, -1, SOCK_STREAM, 0);
	ck_assert(!policy_may_allow(p, &un, &q, -1));
	q.action = POLICY_ACTION_MAX;
	ck_assert(!policy_may_allow(p, &un, &q, -1));
	policy_free(p);

	/* The embedded default: root may, others may not. */
	{
		const char *dir = mkdir_new();
		struct policy_error err;
		struct policy_subject root = subj(0, 0);
		ck_assert_int_eq(policy_load(dir, false, &p, &err), 0);
		q = req(POLICY_CONNECT, -1, SOCK_STREAM, 0);
		q.host = "example.org";
		ck_assert(policy_may_allow(p, &root, &q, 443));
		ck_assert(!policy_may_allow(p, &none, &q, 443));
		policy_free(p);
	}
}
END_TEST

/* The match member `token`: only an HTTP caller that presented that token
 * matches; a control-socket caller (no token) never does, whatever its uid. */
START_TEST(token_member)
{
	struct policy *p = load_text("{\"version\":1,\"rules\":["
		"{\"name\":\"grafana reads\",\"match\":{\"token\":[\"grafana\",\"loki\"]},"
		"\"allow\":[{\"action\":\"admin\"},{\"action\":\"http_rpc\"}]},"
		"{\"name\":\"nobody by token\",\"match\":{\"uid\":65534,\"token\":\"ci\"},"
		"\"allow\":[{\"action\":\"resolve\"}]}"
		"]}");
	struct policy_subject s = subj(NOBODY, NOBODY);
	struct policy_request q = req(POLICY_ADMIN, -1, -1, -1);
	struct policy_decision d;
	const char *names[4];

	/* A control-socket caller: no token, so neither rule matches it. */
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_ptr_null(d.rule);
	ck_assert_uint_eq(policy_matching_rules(p, &s, names, 4), 0);
	ck_assert_uint_eq(policy_unknown_rules(p, &s, names, 4), 0);
	q.action = POLICY_HTTP_RPC;
	ck_assert(!decide(p, &s, &q, &d));

	/* The token named, as a token's identity is: its user, no program. */
	s.token = "loki";
	s.exe_unknown = s.unit_unknown = s.cgroup_unknown = s.label_unknown = "a bearer token names no program";
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "grafana reads");
	q.action = POLICY_ADMIN;
	ck_assert(decide(p, &s, &q, &d));
	q.action = POLICY_RESOLVE;
	ck_assert(!decide(p, &s, &q, &d));

	/* Another token: no match; names are compared whole. */
	s.token = "grafana2";
	q.action = POLICY_HTTP_RPC;
	ck_assert(!decide(p, &s, &q, &d));
	s.token = "graf";
	ck_assert(!decide(p, &s, &q, &d));

	/* Both members must hold: uid and token. */
	s.token = "ci";
	q.action = POLICY_RESOLVE;
	ck_assert(decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "nobody by token");
	s.uid = WWW;
	ck_assert(!decide(p, &s, &q, &d));
	policy_free(p);
}
END_TEST

/* A token's identity knows no program: a rule naming exe may match it, so
 * its deny applies and its allow does not. */
START_TEST(token_unknown_exe)
{
	struct policy *p = load_text("{\"version\":1,\"rules\":["
		"{\"name\":\"curl may\",\"match\":{\"exe\":\"/usr/bin/curl\"},\"allow\":[{\"action\":\"http_rpc\"}]},"
		"{\"name\":\"not from a shell\",\"match\":{\"exe\":\"/bin/sh\"},\"deny\":[{\"action\":\"admin\"}]},"
		"{\"name\":\"the token\",\"match\":{\"token\":\"ops\"},\"allow\":[{\"action\":\"admin\"}]}"
		"]}");
	struct policy_subject s = subj(NOBODY, NOBODY);
	struct policy_request q = req(POLICY_HTTP_RPC, -1, -1, -1);
	struct policy_decision d;

	s.token = "ops";
	s.exe_unknown = s.unit_unknown = s.cgroup_unknown = s.label_unknown = "a bearer token names no program";
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "rule \"curl may\" would, but its match names exe, which is unknown "
	                               "(a bearer token names no program)"), "%s", d.reason);
	q.action = POLICY_ADMIN;
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "not from a shell");
	/* The same rules for a local caller whose exe is known. */
	s.token = NULL;
	s.exe_unknown = s.unit_unknown = s.cgroup_unknown = s.label_unknown = NULL;
	s.exe = "/usr/bin/curl";
	q.action = POLICY_HTTP_RPC;
	ck_assert(decide(p, &s, &q, &d));
	policy_free(p);
}
END_TEST

/* hold and retrieve: the name selector exact or a glob, an entry without
 * one covering every name, deny winning, family narrowing, and the name in
 * the reason. */
START_TEST(hold_names)
{
	struct policy *p = load_text(
		"{\"version\":1,\"rules\":[{\"name\":\"web\",\"match\":{\"uid\":33},\"allow\":["
		"{\"action\":\"hold\",\"name\":[\"web\",\"web-*\"]},"
		"{\"action\":\"retrieve\",\"name\":\"web-[0-9]\",\"family\":\"AF_INET\"}],"
		"\"deny\":[{\"action\":\"hold\",\"name\":\"web-secret\"}]},"
		"{\"name\":\"all\",\"match\":{\"uid\":34},\"allow\":[{\"action\":\"retrieve\"}]}]}");
	struct policy_subject s = subj(WWW, WWW), t = subj(34, 34);
	struct policy_request q = req(POLICY_HOLD, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	struct policy_decision d;

	q.name = "web";
	ck_assert(decide(p, &s, &q, &d));
	q.name = "web-a";
	ck_assert(decide(p, &s, &q, &d));
	q.name = "webx";
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_msg(strstr(d.reason, "hold of \"webx\""), "%s", d.reason);
	q.name = "web-secret";
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert_str_eq(d.rule, "web");
	q.name = NULL;
	ck_assert(!decide(p, &s, &q, &d));
	q.action = POLICY_RETRIEVE;
	q.name = "web-1";
	ck_assert(decide(p, &s, &q, &d));
	q.name = "web-12";
	ck_assert(!decide(p, &s, &q, &d));
	q.name = "web-1";
	q.family = AF_INET6;
	ck_assert(!decide(p, &s, &q, &d));
	/* hold does not imply retrieve, nor the reverse. */
	q.family = AF_INET;
	q.name = "web";
	ck_assert(!decide(p, &s, &q, &d));
	ck_assert(decide(p, &t, &q, &d));
	q.action = POLICY_HOLD;
	ck_assert(!decide(p, &t, &q, &d));
	policy_free(p);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, example_web);
	tcase_add_test(tc, example_sandbox);
	tcase_add_test(tc, unknown_names_match_nobody);
	tcase_add_test(tc, example_monitor_admin_others);
	tcase_add_test(tc, match_members);
	tcase_add_test(tc, unknown_members);
	tcase_add_test(tc, deny_wins);
	tcase_add_test(tc, hosts_and_options);
	tcase_add_test(tc, limits);
	tcase_add_loop_test(tc, load_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, semantic_position);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, directory_order);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, embedded_default);
	tcase_add_test(tc, rule_sources);
	tcase_add_test(tc, implied_grants);
	tcase_add_test(tc, address_normalisation);
	tcase_add_test(tc, send_messages);
	tcase_add_test(tc, unix_paths);
	tcase_add_test(tc, path_error_position);
	tcase_add_test(tc, may_allow);
	tcase_add_test(tc, token_member);
	tcase_add_test(tc, hold_names);
	tcase_add_test(tc, token_unknown_exe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_nofork_in(policy_suite(), tmpdir);
}
