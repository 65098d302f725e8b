/* The HTTP face's bearer tokens: loading, look-up, the identity a token gives. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "http-token.h"
#include "identity.h"
#include "policy.h"
#include "util.h"

/* Overwrites a secret before its memory is given back. */
static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

static void token_clear(struct http_token *t)
{
	wipe(t->secret);
	free(t->secret);
	free(t->name);
	free(t->user);
	free(t->groups);
	memset(t, 0, sizeof(*t));
}

void http_tokens_free(struct http_tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		token_clear(&t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static bool two_digits(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

int http_token_parse_time(const char *s, int64_t *t)
{
	int y1, y2, mo, d, h, mi, sec;
	struct tm tm = { 0 }, back;
	const char *p;
	time_t v;

	/* YYYY-MM-DDTHH:MM:SS[.frac]Z */
	if (strlen(s) < 20 || !two_digits(s, &y1) || !two_digits(s + 2, &y2) || s[4] != '-' ||
	    !two_digits(s + 5, &mo) || s[7] != '-' || !two_digits(s + 8, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !two_digits(s + 11, &h) || s[13] != ':' || !two_digits(s + 14, &mi) || s[16] != ':' ||
	    !two_digits(s + 17, &sec))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if ((*p != 'Z' && *p != 'z') || p[1])
		return -EINVAL;
	/* A leap second (:60) is the next second's start, as timegm makes it. */
	if (y1 * 100 + y2 < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y1 * 100 + y2 - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	v = timegm(&tm);
	/* timegm normalises 31 February to 3 March: a day the month lacks is an error. */
	if (v == (time_t)-1 || !gmtime_r(&v, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
		return -EINVAL;
	*t = (int64_t)v + (sec == 60);
	return 0;
}

bool http_token_expired(const struct http_token *t, int64_t now)
{
	return t->expires && now >= t->expires;
}

const struct http_token *http_tokens_find(const struct http_tokens *t, const char *secret, size_t len)
{
	const struct http_token *found = NULL;

	if (!secret || !len)
		return NULL;
	/* Every byte of every secret is looked at, whatever matches, and the
	 * offered bytes are read cyclically so that a shorter offer costs as
	 * much as a right one: nothing in the time says how far a guess got. */
	for (size_t i = 0; i < t->n; i++) {
		const unsigned char *s = (const unsigned char *)t->v[i].secret;
		size_t slen = strlen(t->v[i].secret);
		volatile unsigned char diff = slen != len;

		for (size_t k = 0; k < slen; k++)
			diff |= s[k] ^ (unsigned char)secret[k % len];
		/* Secrets are unique (the loader refuses twins), so at most one matches. */
		found = diff == 0 ? &t->v[i] : found;
	}
	return found;
}

int http_token_identity(const struct http_token *t, struct identity *out)
{
	char **why[] = { &out->exe_unknown, &out->unit_unknown, &out->cgroup_unknown, &out->label_unknown };

	*out = (struct identity){ .uid = t->uid, .gid = t->gid, .pidfd = -1 };
	if (t->ngroups) {
		out->groups = malloc(t->ngroups * sizeof(gid_t));
		if (!out->groups)
			goto nomem;
		memcpy(out->groups, t->groups, t->ngroups * sizeof(gid_t));
		out->ngroups = t->ngroups;
	}
	for (size_t i = 0; i < ARRAY_SIZE(why); i++)
		if (!(*why[i] = strdup(HTTP_TOKEN_NO_PROGRAM)))
			goto nomem;
	out->token = strdup(t->name);
	if (!out->token)
		goto nomem;
	return 0;
nomem:
	identity_free(out);
	return -ENOMEM;
}

int http_anonymous_identity(struct identity *out)
{
	*out = (struct identity){ .uid = (uid_t)-1, .gid = (gid_t)-1, .pidfd = -1 };
	out->error = strdup(HTTP_ANONYMOUS_ERROR);
	return out->error ? 0 : -ENOMEM;
}

/* ---- loading ---- */

struct tld {
	const char *file;
	const char *buf;
	size_t len;
	struct policy_error *err;
};

#define TFAIL(l, r, where, ...) policy_error_at((l)->err, (l)->file, (l)->buf, (l)->len, r, where, __VA_ARGS__)

static const char *jtype(json_object *j)
{
	return json_type_to_name(json_object_get_type(j));
}

/* The user's uid, gid and supplementary groups, as a login would have them. */
static int resolve_user(struct tld *l, struct http_token *t, const char *where)
{
	struct passwd pw;
	_cleanup_free_ char *pwbuf = NULL;
	int r = policy_lookup_user(t->user, 0, &pw, &pwbuf), n = 32;

	if (r == -ENOMEM)
		return TFAIL(l, r, where, "out of memory");
	if (r == -ENOENT)
		return TFAIL(l, -EINVAL, where, "no user named \"%.200s\" in the user database", t->user);
	if (r < 0)
		return TFAIL(l, -EINVAL, where, "cannot look up the user \"%.200s\": %s", t->user, strerror(-r));
	t->uid = pw.pw_uid;
	t->gid = pw.pw_gid;
	for (;;) {
		gid_t *g = realloc(t->groups, (size_t)n * sizeof(gid_t));
		int got = n;

		if (!g)
			return TFAIL(l, -ENOMEM, where, "out of memory");
		t->groups = g;
		if (getgrouplist(pw.pw_name, pw.pw_gid, g, &got) >= 0) {
			t->ngroups = (size_t)got;
			return 0;
		}
		if (got <= n || got > HTTP_TOKEN_MAX_GROUPS)
			return TFAIL(l, -EINVAL, where, "cannot read the groups of the user \"%.200s\"", t->user);
		n = got;
	}
}

/* A string member: 1 to max bytes. */
static int get_str(struct tld *l, json_object *o, const char *key, const char *where, size_t min, size_t max,
                   bool required, const char **out)
{
	char w[300];
	json_object *v;
	size_t n;

	*out = NULL;
	snprintf(w, sizeof(w), "%s.%s", where, key);
	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			return TFAIL(l, -EINVAL, where, "\"%s\" is missing", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return TFAIL(l, -EINVAL, w, "\"%s\" is a string, not %s", key, jtype(v));
	n = (size_t)json_object_get_string_len(v);
	if (n < min || n > max)
		return TFAIL(l, -EINVAL, w, "\"%s\" is %zu bytes; it must have %zu to %zu", key, n, min, max);
	*out = json_object_get_string(v);
	return 0;
}

static int parse_token(struct tld *l, json_object *j, const char *where, struct http_tokens *set)
{
	struct http_token *t = &set->v[set->n];
	const char *name, *secret, *user, *expires;
	char w[300];
	int r;

	if (!json_object_is_type(j, json_type_object))
		return TFAIL(l, -EINVAL, where, "a token is an object, not %s", jtype(j));
	json_object_object_foreach(j, key, val) {
		(void)val;
		if (strcmp(key, "name") && strcmp(key, "secret") && strcmp(key, "user") && strcmp(key, "expires")) {
			snprintf(w, sizeof(w), "%s.%s", where, key);
			return TFAIL(l, -EINVAL, w, "unknown member \"%.100s\" (a token has name, secret, user, expires)",
			             key);
		}
	}
	if ((r = get_str(l, j, "name", where, 1, POLICY_TOKEN_NAME_MAX, true, &name)) < 0 ||
	    (r = get_str(l, j, "secret", where, HTTP_TOKEN_SECRET_MIN, HTTP_TOKEN_SECRET_MAX, true, &secret)) < 0 ||
	    (r = get_str(l, j, "user", where, 1, 256, true, &user)) < 0 ||
	    (r = get_str(l, j, "expires", where, 1, 64, false, &expires)) < 0)
		return r;
	snprintf(w, sizeof(w), "%s.name", where);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return TFAIL(l, -EINVAL, w, "a token name holds no control character");
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].name, name))
			return TFAIL(l, -EINVAL, w, "a second token named \"%s\" (tokens[%zu] has that name)", name, i);
	/* It travels in an Authorization header: visible ASCII only. Never
	 * quoted in a message. */
	snprintf(w, sizeof(w), "%s.secret", where);
	for (const char *p = secret; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return TFAIL(l, -EINVAL, w, "a secret is visible ASCII (no space, no control character, no "
			             "non-ASCII byte), as an Authorization header carries it");
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].secret, secret))
			return TFAIL(l, -EINVAL, w, "the same secret as tokens[%zu] (\"%s\"): each token needs its own",
			             i, set->v[i].name);
	if (expires) {
		snprintf(w, sizeof(w), "%s.expires", where);
		if (http_token_parse_time(expires, &t->expires) < 0)
			return TFAIL(l, -EINVAL, w, "\"%.64s\" is not an RFC 3339 time in UTC (\"2027-01-01T00:00:00Z\")",
			             expires);
		if (t->expires <= 0)
			return TFAIL(l, -EINVAL, w, "\"%.64s\" is not after 1970-01-01T00:00:00Z", expires);
	}
	t->name = strdup(name);
	t->secret = strdup(secret);
	t->user = strdup(user);
	set->n++;   /* from here on, freed with the set */
	if (!t->name || !t->secret || !t->user)
		return TFAIL(l, -ENOMEM, where, "out of memory");
	snprintf(w, sizeof(w), "%s.user", where);
	return resolve_user(l, t, w);
}

static int parse_file(struct tld *l, json_object *top, struct http_tokens *set)
{
	json_object *v, *list = NULL;
	char w[64];
	size_t n;
	int r;

	if (!json_object_is_type(top, json_type_object))
		return TFAIL(l, -EINVAL, "", "the token file is a JSON object, not %s", jtype(top));
	json_object_object_foreach(top, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "tokens"))
			return TFAIL(l, -EINVAL, key, "unknown member \"%.100s\" (the file has version, tokens)", key);
	}
	if (!json_object_object_get_ex(top, "version", &v))
		return TFAIL(l, -EINVAL, "", "\"version\" is missing");
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1)
		return TFAIL(l, -EINVAL, "version", "unsupported version (this daemon reads version 1)");
	if (!json_object_object_get_ex(top, "tokens", &list))
		return TFAIL(l, -EINVAL, "", "\"tokens\" is missing");
	if (!json_object_is_type(list, json_type_array))
		return TFAIL(l, -EINVAL, "tokens", "\"tokens\" is a list, not %s", jtype(list));
	n = json_object_array_length(list);
	if (n > HTTP_TOKEN_MAX)
		return TFAIL(l, -E2BIG, "tokens", "more than %d tokens", HTTP_TOKEN_MAX);
	set->v = calloc(n ? n : 1, sizeof(*set->v));
	if (!set->v)
		return TFAIL(l, -ENOMEM, "tokens", "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "tokens[%zu]", i);
		r = parse_token(l, json_object_array_get_idx(list, i), w, set);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load(const char *path, bool strict_owner, struct http_tokens *out, struct policy_error *err)
{
	struct http_tokens set = { 0 };
	_cleanup_free_ char *buf = NULL;
	json_object *top = NULL;
	size_t len;
	int r;

	r = policy_file_read(path, POLICY_FILE_SECRET | (strict_owner ? POLICY_FILE_STRICT_OWNER : 0), &buf, &len, err);
	if (r == 0)
		r = policy_json_parse(path, buf, len, &top, err);
	if (r == 0) {
		struct tld l = { path, buf, len, err };
		r = parse_file(&l, top, &set);
	}
	json_object_put(top);
	if (buf)
		explicit_bzero(buf, len);
	if (r < 0) {
		http_tokens_free(&set);
		return r;
	}
	http_tokens_free(out);
	*out = set;
	return 0;
}

int http_tokens_load(const char *path, bool strict_owner, struct http_tokens *out, char *err, size_t errlen)
{
	struct policy_error *e = calloc(1, sizeof(*e));
	int r;

	if (!e) {
		if (errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	r = load(path, strict_owner, out, e);
	if (r < 0 && errlen)
		snprintf(err, errlen, "%s", e->text);
	free(e);
	return r;
}

int http_tokens_check_cli(const char *path, bool strict_owner)
{
	struct http_tokens t = { 0 };
	char err[5120];
	int64_t now = (int64_t)time(NULL);

	if (http_tokens_load(path, strict_owner, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s: %zu token%s, valid\n", path, t.n, t.n == 1 ? "" : "s");
	for (size_t i = 0; i < t.n; i++) {
		const struct http_token *k = &t.v[i];
		char when[40] = "";

		if (k->expires) {
			time_t e = (time_t)k->expires;
			struct tm tm;
			gmtime_r(&e, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		printf("  %s: user %s (uid %u)%s%s%s\n", k->name, k->user, (unsigned)k->uid,
		       k->expires ? (http_token_expired(k, now) ? ", expired " : ", expires ") : "", when,
		       k->uid == 0 ? "; root: it gets what root gets, admin included" : "");
	}
	fflush(stdout);
	http_tokens_free(&t);
	return 0;
}
