/* Unit tests of daemon/http-token.c: the token file (a good one, every load
 * error with its file:line:column, the bounds, owner, mode and symlink
 * refusals), RFC 3339 expiry times, the constant-time look-up (found, not
 * found, a wrong length), the identity a token gives and an anonymous
 * caller's; and authz_check_identity / authz_audit_http (daemon/authz.c):
 * decided, audited (the record shows the token) and counted. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/authz.h"
#include "daemon/http-token.h"
#include "daemon/identity.h"
#include "daemon/settings.h"
#include "unit.h"

#define NOBODY 65534
#define SECRET_A "0123456789abcdef0123456789abcdef"
#define SECRET_B "fedcba9876543210fedcba9876543210xyz"

static char tmpdir[] = "/tmp/check_http_token.XXXXXX";
static int serial;

/* Writes text to a new file in tmpdir with mode, returns its path (8 slots). */
static const char *write_file(const char *text, mode_t mode)
{
	static char paths[8][512];
	static int slot;
	char *p = paths[slot++ % 8];
	FILE *f;

	snprintf(p, 512, "%s/t%d.json", tmpdir, serial++);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(p, mode), 0);
	return p;
}

static const char good[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"tokens\": [\n"
	"    { \"name\": \"grafana\", \"secret\": \"" SECRET_A "\", \"user\": \"nobody\",\n"
	"      \"expires\": \"2027-01-01T00:00:00Z\" },\n"
	"    { \"name\": \"root ops\", \"secret\": \"" SECRET_B "\", \"user\": \"root\" }\n"
	"  ]\n"
	"}\n";

START_TEST(load_good)
{
	struct http_tokens t = { 0 };
	char err[512] = "";

	ck_assert_int_eq(http_tokens_load(write_file(good, 0600), geteuid() == 0, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_str_eq(t.v[0].name, "grafana");
	ck_assert_str_eq(t.v[0].user, "nobody");
	ck_assert_uint_eq(t.v[0].uid, NOBODY);
	ck_assert_int_eq(t.v[0].expires, 1798761600);
	ck_assert_uint_ge(t.v[0].ngroups, 1);     /* a login's groups hold the primary one */
	ck_assert_str_eq(t.v[1].name, "root ops");
	ck_assert_uint_eq(t.v[1].uid, 0);
	ck_assert_uint_eq(t.v[1].gid, 0);
	ck_assert_int_eq(t.v[1].expires, 0);
	/* A second load replaces the set; an empty list is valid (every token revoked). */
	ck_assert_int_eq(http_tokens_load(write_file("{\"version\":1,\"tokens\":[]}", 0600), false, &t, err,
	                                  sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 0);
	http_tokens_free(&t);
	http_tokens_free(&t);   /* harmless twice */
}
END_TEST

#define TOK(body) "{\"version\":1,\"tokens\":[" body "]}"
#define ONE(extra) TOK("{\"name\":\"a\",\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"" extra "}")

static const struct {
	const char *text;
	int r;
	const char *want;   /* in err after "file:" */
} bad[] = {
	{ "{\"version\":1,\"tokens\":[", -EINVAL, ":1:24: unexpected end of file" },
	{ "{\"version\":1,\n \"tokens\":[],\n \"tokens\":[]}", -EINVAL, ":3:2: duplicate member \"tokens\"" },
	{ "{\"version\":2,\"tokens\":[]}", -EINVAL, ":1:2: version: unsupported version" },
	{ "{\"tokens\":[]}", -EINVAL, ":1:1: \"version\" is missing" },
	{ "{\"version\":1}", -EINVAL, ":1:1: \"tokens\" is missing" },
	{ "{\"version\":1,\"tokens\":{}}", -EINVAL, ":1:14: tokens: \"tokens\" is a list, not object" },
	{ "{\"version\":1,\"tokens\":[],\"x\":1}", -EINVAL, ":1:26: x: unknown member \"x\"" },
	{ "[]", -EINVAL, ":1:1: the token file is a JSON object" },
	{ TOK("7"), -EINVAL, ":1:24: tokens[0]: a token is an object, not int" },
	{ TOK("{\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"}"), -EINVAL, ":1:24: tokens[0]: \"name\" is missing" },
	{ TOK("{\"name\":\"a\",\"user\":\"nobody\"}"), -EINVAL, "tokens[0]: \"secret\" is missing" },
	{ TOK("{\"name\":\"a\",\"secret\":\"" SECRET_A "\"}"), -EINVAL, "tokens[0]: \"user\" is missing" },
	{ TOK("{\"name\":\"a\",\"secret\":\"short\",\"user\":\"nobody\"}"), -EINVAL,
	  ":1:36: tokens[0].secret: \"secret\" is 5 bytes; it must have 32 to 4096" },
	{ TOK("{\"name\":\"\",\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"}"), -EINVAL,
	  ":1:25: tokens[0].name: \"name\" is 0 bytes; it must have 1 to 200" },
	{ TOK("{\"name\":1,\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"}"), -EINVAL, "tokens[0].name: \"name\" is a string, not int" },
	{ TOK("{\"name\":\"a\\u0001\",\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"}"), -EINVAL, "no control character" },
	{ TOK("{\"name\":\"a\",\"secret\":\"0123456789abcdef 123456789abcdef0\",\"user\":\"nobody\"}"), -EINVAL,
	  "tokens[0].secret: a secret is visible ASCII" },
	{ ONE(",\"x\":1"), -EINVAL, "tokens[0].x: unknown member \"x\"" },
	{ ONE(",\"expires\":\"2027-01-01\""), -EINVAL, "tokens[0].expires: \"2027-01-01\" is not an RFC 3339 time" },
	{ ONE(",\"expires\":\"2027-01-01T00:00:00+01:00\""), -EINVAL, "tokens[0].expires" },
	{ ONE(",\"expires\":\"1969-12-31T23:59:59Z\""), -EINVAL, "tokens[0].expires: \"1969-12-31T23:59:59Z\" is not an RFC 3339" },
	{ ONE(",\"expires\":\"1970-01-01T00:00:00Z\""), -EINVAL, "is not after 1970-01-01T00:00:00Z" },
	{ TOK("{\"name\":\"a\",\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"},\n"
	      "{\"name\":\"a\",\"secret\":\"" SECRET_B "\",\"user\":\"nobody\"}"), -EINVAL,
	  ":2:2: tokens[1].name: a second token named \"a\" (tokens[0] has that name)" },
	{ TOK("{\"name\":\"a\",\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"},\n"
	      "{\"name\":\"b\",\"secret\":\"" SECRET_A "\",\"user\":\"nobody\"}"), -EINVAL,
	  ":2:13: tokens[1].secret: the same secret as tokens[0] (\"a\")" },
	{ "{\"version\":1,\"tokens\":[]} x", -EINVAL, ":1:27: text after the end" },
};

START_TEST(load_errors)
{
	struct http_tokens t = { 0 };
	char err[1024] = "", want[1024];
	const char *f = write_file(bad[_i].text, 0600);

	ck_assert_int_eq(http_tokens_load(f, false, &t, err, sizeof(err)), bad[_i].r);
	ck_assert_uint_eq(t.n, 0);
	/* ":line:col: ..." right after the file's name, or only somewhere after it */
	snprintf(want, sizeof(want), "%s%s", bad[_i].want[0] == ':' ? f : "", bad[_i].want);
	ck_assert_msg(!strncmp(err, f, strlen(f)) && err[strlen(f)] == ':', "case %d: %s", _i, err);
	ck_assert_msg(strstr(err, want), "case %d: got \"%s\", want \"%s\"", _i, err, want);
	/* A secret is never quoted in an error. */
	ck_assert_msg(!strstr(err, SECRET_A) && !strstr(err, SECRET_B), "%s", err);
}
END_TEST

START_TEST(unknown_user_position)
{
	struct http_tokens t = { 0 };
	char err[1024] = "";
	const char *f = write_file("{\"version\":1,\"tokens\":[\n"
	                           "  {\"name\":\"a\",\"secret\":\"" SECRET_A "\",\n"
	                           "   \"user\":\"no-such-user-here\"}]}\n", 0600);

	ck_assert_int_eq(http_tokens_load(f, false, &t, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, ":3:4: tokens[0].user: no user named \"no-such-user-here\""), "%s", err);
}
END_TEST

/* The old set stays when a load fails (SIGHUP with a broken file). */
START_TEST(failed_load_keeps_old)
{
	struct http_tokens t = { 0 };
	char err[1024];

	ck_assert_int_eq(http_tokens_load(write_file(good, 0600), false, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(http_tokens_load(write_file("{", 0600), false, &t, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_ptr_nonnull(http_tokens_find(&t, SECRET_A, strlen(SECRET_A)));
	http_tokens_free(&t);
}
END_TEST

START_TEST(bounds)
{
	struct http_tokens t = { 0 };
	char err[1024];
	size_t cap = 1100 * 100 + 64, len = 0;
	char *text = malloc(cap);
	const char *f;

	ck_assert_ptr_nonnull(text);
	len += (size_t)snprintf(text + len, cap - len, "{\"version\":1,\"tokens\":[");
	for (int i = 0; i < HTTP_TOKEN_MAX + 1; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s{\"name\":\"t%d\",\"secret\":\"%032d\",\"user\":\"nobody\"}",
		                        i ? "," : "", i, i);
	snprintf(text + len, cap - len, "]}");
	f = write_file(text, 0600);
	ck_assert_int_eq(http_tokens_load(f, false, &t, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "tokens: more than 1024 tokens"), "%s", err);
	/* Exactly the bound loads. */
	len = (size_t)(strrchr(text, '{') - text) - 1;
	snprintf(text + len, cap - len, "]}");
	ck_assert_int_eq(http_tokens_load(write_file(text, 0600), false, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.n, HTTP_TOKEN_MAX);
	ck_assert_str_eq(http_tokens_find(&t, "00000000000000000000000000001023", 32)->name, "t1023");
	http_tokens_free(&t);
	free(text);

	/* A file over 1 MiB is refused before it is parsed. */
	text = malloc(POLICY_MAX_FILE_SIZE + 2);
	ck_assert_ptr_nonnull(text);
	memset(text, ' ', POLICY_MAX_FILE_SIZE + 1);
	text[POLICY_MAX_FILE_SIZE + 1] = '\0';
	ck_assert_int_eq(http_tokens_load(write_file(text, 0600), false, &t, err, sizeof(err)), -EFBIG);
	ck_assert_msg(strstr(err, "larger than 1048576 bytes"), "%s", err);
	free(text);
}
END_TEST

START_TEST(owner_and_mode)
{
	struct http_tokens t = { 0 };
	char err[1024], link[600], dir[600], inner[700];
	const char *f = write_file(good, 0640);

	/* Any bit for group or others: refused, whoever runs the daemon. */
	ck_assert_int_eq(http_tokens_load(f, false, &t, err, sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, "mode 0640 gives its group or others access"), "%s", err);
	ck_assert_int_eq(chmod(f, 0604), 0);
	ck_assert_int_eq(http_tokens_load(f, true, &t, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(chmod(f, 0400), 0);
	ck_assert_int_eq(http_tokens_load(f, geteuid() == 0, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 2);

	/* A symbolic link, even to a good file: refused. */
	snprintf(link, sizeof(link), "%s/link.json", tmpdir);
	ck_assert_int_eq(symlink(f, link), 0);
	ck_assert_int_eq(http_tokens_load(link, false, &t, err, sizeof(err)), -ELOOP);
	ck_assert_msg(strstr(err, "a symbolic link"), "%s", err);
	ck_assert_uint_eq(t.n, 2);   /* the old set stays */

	snprintf(link, sizeof(link), "%s/missing.json", tmpdir);
	ck_assert_int_eq(http_tokens_load(link, false, &t, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(http_tokens_load(tmpdir, false, &t, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "not a regular file"), "%s", err);

	if (geteuid() == 0) {
		/* Owned by another user: refused. */
		ck_assert_int_eq(chown(f, NOBODY, NOBODY), 0);
		ck_assert_int_eq(http_tokens_load(f, true, &t, err, sizeof(err)), -EPERM);
		ck_assert_msg(strstr(err, "owned by uid 65534"), "%s", err);
		ck_assert_int_eq(http_tokens_load(f, false, &t, err, sizeof(err)), -EPERM);
		ck_assert_int_eq(chown(f, 0, 0), 0);
		/* In a directory another user may write (rename another file over it). */
		snprintf(dir, sizeof(dir), "%s/d%d", tmpdir, serial++);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		snprintf(inner, sizeof(inner), "%s/tokens.json", dir);
		ck_assert_int_eq(rename(write_file(good, 0600), inner), 0);
		ck_assert_int_eq(http_tokens_load(inner, true, &t, err, sizeof(err)), 0);
		ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
		ck_assert_int_eq(http_tokens_load(inner, true, &t, err, sizeof(err)), -EPERM);
		ck_assert_msg(strstr(err, dir) && strstr(err, "not root"), "%s", err);
	} else if (getenv("CI") && !strcmp(getenv("CI"), "true")) {
		ck_abort_msg("the owner checks need root (CI=true)");
	}
	http_tokens_free(&t);
}
END_TEST

START_TEST(times)
{
	static const struct {
		const char *s;
		int64_t t;    /* -1: invalid */
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "2027-01-01T00:00:00Z", 1798761600 },
		{ "2027-01-01t00:00:00z", 1798761600 },
		{ "2027-01-01T00:00:00.999Z", 1798761600 },
		{ "2028-02-29T12:00:00Z", 1835438400 },
		{ "2016-12-31T23:59:60Z", 1483228800 },
		{ "2027-02-29T00:00:00Z", -1 },
		{ "2027-04-31T00:00:00Z", -1 },
		{ "2027-13-01T00:00:00Z", -1 },
		{ "2027-01-01T24:00:00Z", -1 },
		{ "2027-01-01T00:60:00Z", -1 },
		{ "2027-01-01T00:00:00", -1 },
		{ "2027-01-01T00:00:00+00:00", -1 },
		{ "2027-01-01 00:00:00Z", -1 },
		{ "2027-01-01T00:00:00.Z", -1 },
		{ "2027-1-01T00:00:00Z", -1 },
		{ "2027-01-01T00:00:00Zx", -1 },
		{ "", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = 42;
		int r = http_token_parse_time(cases[i].s, &t);

		if (cases[i].t < 0) {
			ck_assert_msg(r == -EINVAL, "%s: accepted as %lld", cases[i].s, (long long)t);
		} else {
			ck_assert_msg(r == 0, "%s: refused", cases[i].s);
			ck_assert_msg(t == cases[i].t, "%s: %lld", cases[i].s, (long long)t);
		}
	}
	{
		struct http_token k = { .expires = 1000 };
		ck_assert(!http_token_expired(&k, 999));
		ck_assert(http_token_expired(&k, 1000));
		k.expires = 0;
		ck_assert(!http_token_expired(&k, INT64_MAX));
	}
}
END_TEST

START_TEST(lookup)
{
	struct http_tokens t = { 0 };
	char err[1024], buf[64];

	ck_assert_int_eq(http_tokens_load(write_file(good, 0600), false, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(http_tokens_find(&t, SECRET_A, strlen(SECRET_A))->name, "grafana");
	ck_assert_str_eq(http_tokens_find(&t, SECRET_B, strlen(SECRET_B))->name, "root ops");
	/* Not NUL-terminated: the length is what counts. */
	snprintf(buf, sizeof(buf), "%sXYZ", SECRET_A);
	ck_assert_str_eq(http_tokens_find(&t, buf, strlen(SECRET_A))->name, "grafana");
	/* A longer or shorter offer with the right prefix, one byte off, nothing. */
	ck_assert_ptr_null(http_tokens_find(&t, buf, strlen(buf)));
	ck_assert_ptr_null(http_tokens_find(&t, SECRET_A, strlen(SECRET_A) - 1));
	ck_assert_ptr_null(http_tokens_find(&t, SECRET_A, 1));
	snprintf(buf, sizeof(buf), "%s", SECRET_A);
	buf[31] ^= 1;
	ck_assert_ptr_null(http_tokens_find(&t, buf, 32));
	buf[31] ^= 1;
	buf[0] ^= 1;
	ck_assert_ptr_null(http_tokens_find(&t, buf, 32));
	/* A cyclic repeat of a short offer is not the secret. */
	ck_assert_ptr_null(http_tokens_find(&t, "0123456789abcdef", 16));
	ck_assert_ptr_null(http_tokens_find(&t, "", 0));
	ck_assert_ptr_null(http_tokens_find(&t, NULL, 0));
	http_tokens_free(&t);
	ck_assert_ptr_null(http_tokens_find(&t, SECRET_A, strlen(SECRET_A)));
}
END_TEST

START_TEST(identities)
{
	struct http_tokens t = { 0 };
	struct identity id;
	char err[1024];

	ck_assert_int_eq(http_tokens_load(write_file(good, 0600), false, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(http_token_identity(&t.v[0], &id), 0);
	ck_assert_uint_eq(id.uid, NOBODY);
	ck_assert_uint_eq(id.gid, t.v[0].gid);
	ck_assert_uint_eq(id.ngroups, t.v[0].ngroups);
	ck_assert_int_eq(memcmp(id.groups, t.v[0].groups, id.ngroups * sizeof(gid_t)), 0);
	ck_assert_ptr_ne(id.groups, t.v[0].groups);   /* its own copy */
	ck_assert_int_eq(id.pid, 0);
	ck_assert_int_eq(id.pidfd, -1);
	ck_assert_ptr_null(id.exe);
	ck_assert_ptr_null(id.unit);
	ck_assert_ptr_null(id.cgroup);
	ck_assert_ptr_null(id.label);
	ck_assert_str_eq(id.exe_unknown, HTTP_TOKEN_NO_PROGRAM);
	ck_assert_str_eq(id.unit_unknown, HTTP_TOKEN_NO_PROGRAM);
	ck_assert_str_eq(id.cgroup_unknown, HTTP_TOKEN_NO_PROGRAM);
	ck_assert_str_eq(id.label_unknown, HTTP_TOKEN_NO_PROGRAM);
	ck_assert_str_eq(id.token, "grafana");
	ck_assert_ptr_null(id.error);
	identity_free(&id);
	ck_assert_ptr_null(id.token);
	ck_assert_int_eq(id.pidfd, -1);
	http_tokens_free(&t);

	ck_assert_int_eq(http_anonymous_identity(&id), 0);
	ck_assert_uint_eq(id.uid, (uid_t)-1);
	ck_assert_uint_eq(id.gid, (gid_t)-1);
	ck_assert_int_eq(id.pidfd, -1);
	ck_assert_ptr_null(id.token);
	ck_assert_str_eq(id.error, HTTP_ANONYMOUS_ERROR);
	identity_free(&id);
}
END_TEST

/* Reads the audit log whole (static buffer). */
static const char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

START_TEST(authz_for_identities)
{
	struct sbd_config cfg;
	struct authz a = { 0 };
	struct http_tokens t = { 0 };
	struct identity tok, other, anon;
	struct policy_request q = { .action = POLICY_HTTP_RPC, .family = -1, .type = -1, .proto = -1 };
	const char *rule, *reason, *log;
	char err[1024], audit[600];

	config_defaults(&cfg);
	cfg.policy_path = strdup(write_file(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"grafana may rpc\",\"match\":{\"token\":\"grafana\"},\"allow\":[{\"action\":\"http_rpc\"}]},"
		"{\"name\":\"no rpc from a shell\",\"match\":{\"exe\":\"/bin/sh\"},\"deny\":[{\"action\":\"http_rpc\"}]}"
		"]}", 0600));
	snprintf(audit, sizeof(audit), "%s/audit.log", tmpdir);
	cfg.audit_log_path = strdup(audit);
	ck_assert_int_eq(authz_init(&a, &cfg), 0);
	ck_assert_int_eq(http_tokens_load(write_file(good, 0600), false, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(http_token_identity(&t.v[0], &tok), 0);
	ck_assert_int_eq(http_token_identity(&t.v[1], &other), 0);
	ck_assert_int_eq(http_anonymous_identity(&anon), 0);

	/* The token's rule matches, but the deny naming an exe it lacks applies
	 * (fail closed): the unknown exe "may match" /bin/sh. */
	ck_assert_int_eq(authz_check_identity(&a, 7, &tok, "POST /rpc", &q, &rule, &reason), -EACCES);
	ck_assert_str_eq(rule, "no rpc from a shell");
	ck_assert_msg(strstr(reason, "exe is unknown (a bearer token names no program)"), "%s", reason);
	authz_free(&a);
	free(cfg.policy_path);
	cfg.policy_path = strdup(write_file(
		"{\"version\":1,\"rules\":["
		"{\"name\":\"grafana may rpc\",\"match\":{\"token\":\"grafana\"},\"allow\":[{\"action\":\"http_rpc\"}]}"
		"]}", 0600));
	ck_assert_int_eq(unlink(audit), 0);
	ck_assert_int_eq(authz_init(&a, &cfg), 0);
	ck_assert_int_eq(authz_check_identity(&a, 7, &tok, "POST /rpc", &q, &rule, &reason), 0);
	ck_assert_str_eq(rule, "grafana may rpc");
	/* Root's token has no rule for http_rpc (admin it keeps, as root does). */
	ck_assert_int_eq(authz_check_identity(&a, 8, &other, "POST /rpc", &q, &rule, &reason), -EACCES);
	ck_assert_ptr_null(rule);
	q.action = POLICY_ADMIN;
	ck_assert_int_eq(authz_check_identity(&a, 8, &other, "admin.clients", &q, &rule, &reason), 0);
	ck_assert_msg(strstr(reason, "uid 0 keeps admin"), "%s", reason);
	/* Anonymous: denied without a rule. */
	ck_assert_int_eq(authz_check_identity(&a, 0, &anon, "admin.clients", &q, &rule, &reason), -EACCES);
	ck_assert_ptr_null(rule);
	ck_assert_msg(strstr(reason, HTTP_ANONYMOUS_ERROR), "%s", reason);
	authz_audit_http(&a, NULL, "GET /v1/clients", "no bearer token");
	authz_audit_http(&a, &tok, "GET /v1/audit", "token expired");

	/* Counted: [0] no rule, [1] the rule. */
	ck_assert_uint_eq(a.counters[1].allowed, 1);
	ck_assert_uint_eq(a.counters[1].denied, 0);
	ck_assert_uint_eq(a.counters[0].allowed, 1);   /* root's admin */
	ck_assert_uint_eq(a.counters[0].denied, 4);
	ck_assert_uint_eq(a.audit_seq, 6);
	log = slurp(audit);
	ck_assert_msg(strstr(log, "\"seq\":1,\"decision\":\"allow\",\"rule\":\"grafana may rpc\""), "%s", log);
	ck_assert_msg(strstr(log, "\"connection\":7,\"uid\":65534,"), "%s", log);
	ck_assert_msg(strstr(log, "\"token\":\"grafana\""), "%s", log);
	ck_assert_msg(strstr(log, "\"token\":\"root ops\""), "%s", log);
	ck_assert_msg(strstr(log, "\"action\":\"http_rpc\""), "%s", log);
	ck_assert_msg(strstr(log, "\"connection\":null,\"uid\":null,\"gid\":null"), "%s", log);
	ck_assert_msg(strstr(log, "\"method\":\"GET /v1/clients\",\"action\":null"), "%s", log);
	ck_assert_msg(strstr(log, "\"reason\":\"token expired\""), "%s", log);

	identity_free(&tok);
	identity_free(&other);
	identity_free(&anon);
	http_tokens_free(&t);
	authz_free(&a);
	config_free(&cfg);
}
END_TEST

static Suite *token_suite(void)
{
	Suite *s = suite_create("http-token");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, load_good);
	tcase_add_loop_test(tc, load_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, unknown_user_position);
	tcase_add_test(tc, failed_load_keeps_old);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, owner_and_mode);
	tcase_add_test(tc, times);
	tcase_add_test(tc, lookup);
	tcase_add_test(tc, identities);
	tcase_add_test(tc, authz_for_identities);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run_nofork_in(token_suite(), tmpdir);
}
