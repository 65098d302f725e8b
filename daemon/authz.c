/* Authorisation: the policy in force, decisions, audit and counters. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authz.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "declared.h"
#include "http-token.h"
#include "identity.h"
#include "jsonrpc.h"
#include "jsonw.h"
#include "log.h"
#include "loop.h"
#include "policy-lint.h"
#include "sdnotify.h"
#include "settings.h"
#include "util.h"

/* While audit records fail, one warning per this many seconds. */
#define AUDIT_WARN_INTERVAL_S 10

/* An audit record (its JSON, its log line) is made in this many bytes of
 * stack; a longer one on the heap. */
#define AUDIT_JSON_STACK 2048

static const char *source_of(const char *path, const struct policy *p)
{
	if (policy_is_default(p))
		return "embedded default";
	return path ? path : POLICY_DEFAULT_FILE " and " POLICY_DEFAULT_DIR;
}

static void counters_free(struct authz_counter *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].rule);
	free(c);
}

/* One counter per rule of p, plus [0] for "no rule"; counts of rules that keep
 * their name across a reload carry over. */
static int counters_build(const struct policy *p, const struct authz *old, struct authz_counter **out,
                          size_t *nout)
{
	size_t n = policy_nrules(p) + 1;
	struct authz_counter *c = calloc(n, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (old && old->ncounters)
		c[0] = (struct authz_counter){ NULL, old->counters[0].allowed, old->counters[0].denied };
	for (size_t i = 1; i < n; i++) {
		const char *name = policy_rule_name(p, i - 1);
		c[i].rule = strdup(name);
		if (!c[i].rule) {
			counters_free(c, n);
			return -ENOMEM;
		}
		for (size_t k = 1; old && k < old->ncounters; k++)
			if (strcmp(old->counters[k].rule, name) == 0) {
				c[i].allowed = old->counters[k].allowed;
				c[i].denied = old->counters[k].denied;
				break;
			}
	}
	*out = c;
	*nout = n;
	return 0;
}

static int audit_open(struct authz *a)
{
	int fd;

	if (!a->cfg->audit_log_path)
		return 0;
	fd = open(a->cfg->audit_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	safe_close(a->audit_fd);
	a->audit_fd = fd;
	return 0;
}

/* Why the audit log cannot be opened, in words an operator can act on: the
 * directory is not created for the daemon (LogsDirectory= does it under the
 * shipped unit). */
static void audit_open_error(const struct authz *a, int r, const char *what)
{
	_cleanup_free_ char *dir = strdup(a->cfg->audit_log_path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	struct stat st;

	if (slash && slash != dir)
		*slash = '\0';
	if (r == -ENOENT && slash && slash != dir && stat(dir, &st) < 0 && errno == ENOENT)
		log_err("--audit-log %s: %s: the directory %s does not exist; the daemon does not create it "
		        "(LogsDirectory=sockbroker in the unit, or mkdir -m 0750)", a->cfg->audit_log_path, what, dir);
	else
		log_err("--audit-log %s: %s: %s", a->cfg->audit_log_path, what, strerror(-r));
}

int authz_reopen_audit(struct authz *a, const char *why)
{
	int r;

	if (!a->cfg->audit_log_path) {
		log_info("%s: no --audit-log to reopen", why);
		return 0;
	}
	r = audit_open(a);
	if (r < 0) {
		audit_open_error(a, r, "cannot reopen; writing to the old file");
		return r;
	}
	log_notice("%s: reopened the audit log %s (after record %llu)", why, a->cfg->audit_log_path,
	           (unsigned long long)a->audit_seq);
	return 0;
}

static void warnings_free(char **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* policy_lint_rule for every rule of p: NULL entries where there is none. */
static int warnings_build(const struct policy *p, char ***out, size_t *nout)
{
	size_t n = policy_nrules(p);
	char **w = calloc(n ? n : 1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (policy_lint_rule(p, i, &w[i]) < 0) {
			warnings_free(w, n);
			return -ENOMEM;
		}
	*out = w;
	*nout = n;
	return 0;
}

static void warnings_log(char **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i])
			log_warning("policy: %s", w[i]);
}

/* An explicit --policy directory without a *.json file is not an error (an
 * empty policy.d is how a package ships it), but it is rarely meant. */
static void warn_if_empty(const char *path, const struct policy *p)
{
	if (path && policy_is_default(p))
		log_warning("policy: %s holds no *.json file, so the embedded default applies", path);
}

int authz_init(struct authz *a, const struct sbd_config *cfg)
{
	struct policy_error err;
	int r;

	a->cfg = cfg;
	a->audit_fd = -1;
	a->audit_warn = (struct log_ratelimit)LOG_RATELIMIT_INIT(AUDIT_WARN_INTERVAL_S);
	a->strict_owner = geteuid() == 0;
	a->daemon_uid = geteuid();
	r = policy_load(a->cfg->policy_path, a->strict_owner, &a->policy, &err);
	if (r < 0) {
		log_err("policy: %s", err.text);
		return r;
	}
	a->source = strdup(source_of(a->cfg->policy_path, a->policy));
	if (!a->source)
		return -ENOMEM;
	r = counters_build(a->policy, NULL, &a->counters, &a->ncounters);
	if (r < 0)
		return r;
	r = warnings_build(a->policy, &a->warnings, &a->nwarnings);
	if (r < 0)
		return r;
	a->generation = 1;
	r = audit_ring_init(&a->ring, a->cfg->audit_ring, 0);
	if (r < 0)
		return r;
	r = audit_open(a);
	if (r < 0) {
		audit_open_error(a, r, "cannot open");
		return r;
	}
	log_notice("policy: %zu rule%s from %s", policy_nrules(a->policy), policy_nrules(a->policy) == 1 ? "" : "s",
	           a->source);
	warn_if_empty(a->cfg->policy_path, a->policy);
	warnings_log(a->warnings, a->nwarnings);
	return 0;
}

void authz_free(struct authz *a)
{
	if (a->policy)
		policy_free(a->policy);
	counters_free(a->counters, a->ncounters);
	warnings_free(a->warnings, a->nwarnings);
	free(a->source);
	if (a->audit_fd >= 0)
		safe_close(a->audit_fd);
	audit_ring_free(&a->ring);
	memset(a, 0, sizeof(*a));
	a->audit_fd = -1;
}

int authz_reload(struct authz *a, struct policy_error *err)
{	struct policy *p = NULL;
	struct authz_counter *counters = NULL;
	size_t ncounters = 0, nwarnings = 0;
	char **warnings = NULL;
	char *source;
	int r;

	/* systemd's reload protocol: RELOADING=1 with the time, READY=1 after. */
	sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)(loop_now() / 1000));
	r = policy_load(a->cfg->policy_path, a->strict_owner, &p, err);
	if (r < 0) {
		a->reload_failures++;
		log_err("policy reload failed, the old policy stays: %s", err->text);
		sd_notifyf("READY=1\nSTATUS=Policy reload failed (old policy kept): %.200s", err->text);
		return r;
	}
	source = strdup(source_of(a->cfg->policy_path, p));
	r = source ? counters_build(p, a, &counters, &ncounters) : -ENOMEM;
	if (r == 0) {
		r = warnings_build(p, &warnings, &nwarnings);
		if (r < 0)
			counters_free(counters, ncounters);
	}
	if (r < 0) {
		free(source);
		policy_free(p);
		a->reload_failures++;
		memset(err, 0, sizeof(*err));
		snprintf(err->text, sizeof(err->text), "out of memory");
		decode_fail(&err->at, -ENOMEM, NULL, "out of memory");
		log_err("policy reload failed, the old policy stays: out of memory");
		sd_notify_send("READY=1\nSTATUS=Policy reload failed (old policy kept): out of memory");
		return r;
	}
	/* The swap: one assignment on the loop thread, so every request is decided
	 * wholly by the old policy or wholly by the new one. */
	policy_free(a->policy);
	a->policy = p;
	counters_free(a->counters, a->ncounters);
	a->counters = counters;
	a->ncounters = ncounters;
	warnings_free(a->warnings, a->nwarnings);
	a->warnings = warnings;
	a->nwarnings = nwarnings;
	free(a->source);
	a->source = source;
	a->generation++;
	a->reloads++;
	authz_reopen_audit(a, "reload");
	log_notice("policy reloaded: %zu rule%s from %s (generation %llu)", policy_nrules(p),
	           policy_nrules(p) == 1 ? "" : "s", a->source, (unsigned long long)a->generation);
	warn_if_empty(a->cfg->policy_path, p);
	warnings_log(a->warnings, a->nwarnings);
	return 0;
}

void authz_subject_from(const struct identity *id, struct policy_subject *out)
{
	*out = (struct policy_subject){
		.uid = id->uid,
		.gid = id->gid,
		.groups = id->groups,
		.ngroups = id->ngroups,
		.exe = id->exe,
		.unit = id->unit,
		.cgroup = id->cgroup,
		.label = id->label,
		.token = id->token,
		.exe_unknown = id->exe_unknown,
		.unit_unknown = id->unit_unknown,
		.cgroup_unknown = id->cgroup_unknown,
		.label_unknown = id->label_unknown,
	};
}

/* The limit: v, or dflt when unset; at most cap (when set), the lowest a
 * rule that may match the caller sets (policy_limits_cap). */
static unsigned limit_or(long v, unsigned dflt, long cap)
{
	unsigned l = v >= 0 ? (unsigned)v : dflt;

	return cap >= 0 && (unsigned long)cap < l ? (unsigned)cap : l;
}

void authz_conn_update(struct conn *c)
{
	struct authz *a = c->env->authz;
	struct policy_subject who;
	struct policy_limits l, cap;

	authz_subject_from(&c->id, &who);
	policy_limits(a->policy, &who, &l);
	policy_limits_cap(a->policy, &who, &cap);
	c->lim_handles = limit_or(l.handles, a->cfg->max_handles, cap.handles);
	c->lim_pending = limit_or(l.pending, a->cfg->max_pending, cap.pending);
	c->nrules_matching = c->id.error ? 0 : policy_matching_rules(a->policy, &who, NULL, 0);
}

const struct identity *authz_call_identity(struct call *call, size_t *nrules)
{
	struct conn *c = call->conn;
	struct conn_sender *w = call->sender;
	struct policy_subject who;

	if (!w) {
		if (nrules)
			*nrules = c->nrules_matching;
		return &c->id;
	}
	/* A writer's rules are counted when first asked under each policy. */
	if (w->generation != c->env->authz->generation) {
		authz_subject_from(&w->id, &who);
		w->nrules_matching = w->id.error ? 0 : policy_matching_rules(c->env->authz->policy, &who, NULL, 0);
		w->generation = c->env->authz->generation;
	}
	if (nrules)
		*nrules = w->nrules_matching;
	return &w->id;
}

json_object *authz_unknown_json(const struct identity *id)
{
	json_object *u = json_object_new_object();
	const struct {
		const char *name, *why;
	} parts[] = {
		{ "exe", id->exe_unknown }, { "cgroup", id->cgroup_unknown }, { "unit", id->unit_unknown },
		{ "label", id->label_unknown },
	};

	for (size_t i = 0; u && i < ARRAY_SIZE(parts); i++)
		if (parts[i].why)
			json_object_object_add(u, parts[i].name, json_object_new_string(parts[i].why));
	return u;
}

void authz_identity_json(json_object *o, const struct identity *id)
{
	json_object *groups = json_object_new_array();

	json_object_object_add(o, "uid", json_object_new_int64(id->uid));
	json_object_object_add(o, "gid", json_object_new_int64(id->gid));
	json_object_object_add(o, "pid", json_object_new_int64(id->pid));
	for (size_t i = 0; groups && i < id->ngroups; i++)
		json_object_array_add(groups, json_object_new_int64(id->groups[i]));
	json_object_object_add(o, "groups", groups);
	json_object_object_add(o, "exe", json_string_or_null(id->exe));
	json_object_object_add(o, "cgroup", json_string_or_null(id->cgroup));
	json_object_object_add(o, "unit", json_string_or_null(id->unit));
	json_object_object_add(o, "label", json_string_or_null(id->label));
	if (id->token)
		json_object_object_add(o, "token", json_object_new_string(id->token));
	json_object_object_add(o, "unknown", authz_unknown_json(id));
	if (id->error)
		json_object_object_add(o, "identity_error", json_object_new_string(id->error));
}

json_object *authz_rules_json(struct authz *a, const struct conn *c, size_t max, size_t *total)
{
	return authz_rules_json_for(a, &c->id, max, total);
}

/* The names of the rules that match id, in policy order (*names malloc'd, or
 * NULL when none match, as for a caller without an identity), or with maybe
 * those that may match it (policy_unknown_rules): how many in all, or
 * -ENOMEM. */
static long rule_names(struct authz *a, const struct identity *id, bool maybe, const char ***names)
{
	size_t (*list)(const struct policy *, const struct policy_subject *, const char **, size_t) =
		maybe ? policy_unknown_rules : policy_matching_rules;
	struct policy_subject who;
	size_t n;

	*names = NULL;
	if (id->error)
		return 0;
	authz_subject_from(id, &who);
	n = list(a->policy, &who, NULL, 0);
	if (!n)
		return 0;
	*names = calloc(n, sizeof(**names));
	if (!*names)
		return -ENOMEM;
	list(a->policy, &who, *names, n);
	return (long)n;
}

static long matching_rule_names(struct authz *a, const struct identity *id, const char ***names)
{
	return rule_names(a, id, false, names);
}

json_object *authz_warnings_json(struct authz *a, const struct identity *id)
{
	json_object *arr = json_object_new_array();
	const char **names;
	long n = matching_rule_names(a, id, &names);

	if (!arr || n < 0) {
		json_object_put(arr);
		free(names);
		return NULL;
	}
	/* Names are unique, and both lists are in policy order. */
	for (size_t i = 0, k = 0; i < (size_t)n; i++) {
		while (k < a->nwarnings && strcmp(policy_rule_name(a->policy, k), names[i]))
			k++;
		if (k < a->nwarnings && a->warnings[k])
			json_object_array_add(arr, json_object_new_string(a->warnings[k]));
	}
	free(names);
	return arr;
}

json_object *authz_rules_json_for(struct authz *a, const struct identity *id, size_t max, size_t *total)
{
	return authz_rules_json_as(a, id, false, max, total);
}

json_object *authz_rules_json_as(struct authz *a, const struct identity *id, bool maybe, size_t max,
                                 size_t *total)
{
	json_object *arr = json_object_new_array();
	const char **names;
	long n = rule_names(a, id, maybe, &names);

	*total = 0;
	if (!arr || n < 0) {
		json_object_put(arr);
		free(names);
		return NULL;
	}
	*total = (size_t)n;
	for (size_t i = 0; i < SB_MIN((size_t)n, max); i++)
		json_object_array_add(arr, json_object_new_string(names[i]));
	free(names);
	return arr;
}

unsigned authz_connection_limit(struct authz *a, const struct policy_subject *who)
{
	struct policy_limits l, cap;

	policy_limits(a->policy, who, &l);
	policy_limits_cap(a->policy, who, &cap);
	return limit_or(l.connections, a->cfg->max_connections_per_uid, cap.connections);
}

/* The policy's decision, and the one thing no policy decides: root and the
 * daemon's own user keep `admin` (contract v1.1), so that an administrator
 * who writes a rule for someone else does not lose reload, stats and
 * policy.check. */
static void decide(const struct authz *a, const struct policy_subject *who, const struct policy_request *q,
                   struct policy_decision *out)
{
	policy_decide(a->policy, who, q, out);
	if (out->allowed || q->action != POLICY_ADMIN || (who->uid != 0 && who->uid != a->daemon_uid))
		return;
	out->allowed = true;
	out->rule = NULL;
	out->rule_index = -1;
	snprintf(out->reason, sizeof(out->reason), "uid %u keeps admin whatever the policy says (%s)",
	         (unsigned)who->uid, who->uid == 0 ? "root" : "the daemon's own user");
}

void authz_decide_as(struct authz *a, const struct policy_subject *who, const struct policy_request *q,
                     struct policy_decision *out)
{
	decide(a, who, q, out);
}

/* ---- audit ---- */

/* What a call's last allow record was about, so that a refusal after it
 * (a limit the request then hit) can say what it refuses. One allocation,
 * so that the call frees it with free(). */
struct authz_note {
	struct policy_request q;    /* its host points at host below; path dropped */
	uint64_t seq;
	char host[];
};

static void note_allow(struct call *call, const struct policy_request *q, uint64_t seq)
{
	size_t hl = q->host ? strlen(q->host) + 1 : 0;
	struct authz_note *n = malloc(sizeof(*n) + hl);

	free(call->audit_note);
	call->audit_note = n;
	if (!n)
		return;     /* the refusal then names no request, only the method */
	n->q = *q;
	n->q.path = NULL;
	n->q.host = NULL;
	if (hl) {
		memcpy(n->host, q->host, hl);
		n->q.host = n->host;
	}
	n->seq = seq;
}

/* Address and port of q for the audit, when it has an INET one; UNIX paths too. */
static bool request_address(const struct policy_request *q, char *addr, size_t len, int *port)
{
	*port = -1;
	if (!q || !q->have_addr)
		return false;
	if (q->addr.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&q->addr;
		inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)len);
		*port = ntohs(in->sin_port);
		return true;
	}
	if (q->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&q->addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)len);
		*port = ntohs(in6->sin6_port);
		return true;
	}
	if (q->addr.ss_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)&q->addr;
		/* An abstract name starts with a NUL: show it as '@', as ss(8) does. */
		snprintf(addr, len, "%s%.*s", un->sun_path[0] ? "" : "@", (int)sizeof(un->sun_path) - 1,
		         un->sun_path + (un->sun_path[0] ? 0 : 1));
		return true;
	}
	return false;
}

/* Strings in the log line are quoted with '"' and '\' escaped, so a file name
 * cannot forge a field; whole, whatever their length. Control bytes are '?'
 * and none is "-". Its length; written at o unless o is NULL. */
static size_t quoted(char *o, const char *s)
{
	size_t n = 2;

	if (!s) {
		if (o)
			*o = '-';
		return 1;
	}
	if (o)
		*o++ = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			if (o) {
				*o++ = '\\';
				*o++ = (char)ch;
			}
			n += 2;
		} else {
			if (o)
				*o++ = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
			n++;
		}
	}
	if (o)
		*o = '"';
	return n;
}

/* A field of the log's audit line; quoted: a string from outside; optional:
 * left out of the line when absent. */
struct audit_field {
	struct log_field f;
	bool quoted, optional;
};

/* "audit: DECISION key=value ..." of fl (fl[0] is the decision). Its length
 * without the NUL; written, with the NUL, at o unless o is NULL. */
static size_t audit_line_text(char *o, const struct audit_field *fl, size_t n)
{
	size_t len = 0, k;

#define PUT(s, l) do { k = (l); if (o) memcpy(o + len, (s), k); len += k; } while (0)
	PUT("audit: ", 7);
	PUT(fl[0].f.value, strlen(fl[0].f.value));
	for (size_t i = 1; i < n; i++) {
		const char *v = fl[i].f.value;

		if (fl[i].optional && !v)
			continue;
		PUT(" ", 1);
		PUT(fl[i].f.key, strlen(fl[i].f.key));
		PUT("=", 1);
		if (fl[i].quoted)
			len += quoted(o ? o + len : NULL, v);
		else if (v)
			PUT(v, strlen(v));
		else
			PUT("-", 1);
	}
#undef PUT
	if (o)
		o[len] = '\0';
	return len;
}

/* Decimal v at b (24 bytes); b. */
static char *udec(char *b, unsigned long long v)
{
	char t[24], *p = t + sizeof(t);

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	memcpy(b, p, (size_t)(t + sizeof(t) - p));
	return b;
}

static char *dec(char *b, long long v)
{
	if (v >= 0)
		return udec(b, (unsigned long long)v);
	b[0] = '-';
	udec(b + 1, 0 - (unsigned long long)v);
	return b;
}

/* Appends one record, whole or not at all: a write cut short (ENOSPC, a
 * quota, the file size limit) is cut back off the file, so that the next
 * record never continues a partial line. The file's end before the write is
 * where it is cut back to; that holds while the daemon is its only writer
 * (rotation by rename and SIGUSR1 or reload, not copytruncate: a truncation
 * under us is seen and left alone). 0 or -errno. */
static int audit_append(int fd, struct iovec *iov, int niov)
{
	size_t total = 0, done = 0;
	off_t end = lseek(fd, 0, SEEK_END);
	int e;

	for (int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	while (done < total) {
		ssize_t w = writev(fd, iov, niov);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			goto partial;
		}
		done += (size_t)w;
		/* A short write: retry the rest once more, to learn why it stopped. */
		while (niov && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			iov++;
			niov--;
		}
		if (niov) {
			iov[0].iov_base = (char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
	return 0;
partial:
	if (done && end >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size == end + (off_t)done && ftruncate(fd, end) < 0)
			log_err("--audit-log: cannot cut back a partial record: %s", strerror(errno));
	}
	return -e;
}

/* One audit record: a decision (allow, deny) or a refusal after the
 * decision (refused: a limit the allowed request hit). */
struct audit_rec {
	const char *decision;
	const char *rule;           /* NULL: no rule decided */
	const char *reason;
	const char *method;
	const struct policy_request *q;   /* NULL: refused before any request was judged */
	uint64_t after;             /* the allow record a refusal follows; 0: none */
	uint64_t seq;
	bool quiet;                 /* a failure to write it is not counted again */
};

/* A short form of a record too long for the ring: what it was, by whom, with
 * which rule, and that the rest is in the log. malloc'd, or NULL. */
static char *audit_stub(const struct audit_rec *rec, const char *when, uint64_t serial,
                        const struct identity *id, size_t len)
{
	json_object *o = json_object_new_object();
	char *text = NULL;

	if (!o)
		return NULL;
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "seq", json_object_new_uint64(rec->seq));
	json_object_object_add(o, "decision", json_object_new_string(rec->decision));
	json_object_object_add(o, "rule", rec->rule ? json_object_new_string(rec->rule) : NULL);
	json_object_object_add(o, "connection", serial ? json_object_new_uint64(serial) : NULL);
	json_object_object_add(o, "uid", id->uid != (uid_t)-1 ? json_object_new_int64(id->uid) : NULL);
	json_object_object_add(o, "method", json_object_new_string(rec->method));
	json_object_object_add(o, "truncated", json_object_new_boolean(true));
	json_object_object_add(o, "bytes", json_object_new_uint64(len));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

/* The time of a record, "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). Records come many
 * a second: the second's part is formatted once per second (per thread). */
static void audit_time(char *when, size_t size)
{
	static _Thread_local time_t sec = -1;
	static _Thread_local char text[64];
	static _Thread_local int len;
	struct timespec ts;
	struct tm tm;
	long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec || len <= 0) {
		gmtime_r(&ts.tv_sec, &tm);
		len = snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		sec = ts.tv_sec;
	}
	ms = ts.tv_nsec / 1000000;
	if (len >= (int)sizeof(text) || (size_t)len + 6 > size) {
		snprintf(when, size, "%s.%03ldZ", text, ms);
		return;
	}
	memcpy(when, text, (size_t)len);
	when += len;
	when[0] = '.';
	when[1] = (char)('0' + ms / 100);
	when[2] = (char)('0' + ms / 10 % 10);
	when[3] = (char)('0' + ms % 10);
	when[4] = 'Z';
	when[5] = '\0';
}

/* The record as one line of JSON, for --audit-log, the ring and its
 * subscribers. 0, or -errno when it could not be written to --audit-log
 * (-ENOMEM when it could not be made while the log wants it). Written with
 * jsonw (one stack buffer, no object per member): the bytes are json-c's
 * plain, no-slash-escape rendering of the same members in the same order,
 * which tests/check_jsonw.c holds it to. */
static int audit_json(struct authz *a, uint64_t serial, const struct identity *id, const struct audit_rec *rec,
                      const char *addr, int port)
{
	const struct policy_request *q = rec->q;
	char when[80], stack[AUDIT_JSON_STACK];
	const char *line, *name;
	size_t len;
	struct jsonw w;
	struct iovec iov[2] = { { 0 }, { (void *)"\n", 1 } };
	int r = 0;

	audit_time(when, sizeof(when));
	jsonw_init(&w, stack, sizeof(stack));
	jsonw_open(&w, NULL);
	jsonw_str(&w, "time", when);
	jsonw_uint(&w, "seq", rec->seq);
	jsonw_str(&w, "decision", rec->decision);
	jsonw_str(&w, "rule", rec->rule);
	jsonw_str(&w, "reason", rec->reason);
	if (rec->after)
		jsonw_uint(&w, "after", rec->after);
	/* 0: an HTTP refusal before any connection of ours (authz_audit_http). */
	if (serial)
		jsonw_uint(&w, "connection", serial);
	else
		jsonw_null(&w, "connection");
	/* (uid_t)-1 is no uid (the kernel gives it nobody): an anonymous HTTP caller. */
	if (id->uid != (uid_t)-1)
		jsonw_int(&w, "uid", id->uid);
	else
		jsonw_null(&w, "uid");
	if (id->gid != (gid_t)-1)
		jsonw_int(&w, "gid", id->gid);
	else
		jsonw_null(&w, "gid");
	jsonw_int(&w, "pid", id->pid);
	if (id->token)
		jsonw_str(&w, "token", id->token);
	jsonw_str(&w, "exe", id->exe);
	jsonw_str(&w, "unit", id->unit);
	if (id->exe_unknown || id->unit_unknown) {
		/* null alone would read as "none": say which were unknown, and why. */
		jsonw_open(&w, "unknown");
		if (id->exe_unknown)
			jsonw_str(&w, "exe", id->exe_unknown);
		if (id->unit_unknown)
			jsonw_str(&w, "unit", id->unit_unknown);
		jsonw_close(&w);
	}
	jsonw_str(&w, "method", rec->method);
	jsonw_str(&w, "action", q ? policy_action_name(q->action) : NULL);
	/* A constant's name, else its number, as sbc_to_json gives them. */
	if (q && q->family >= 0) {
		if ((name = sbc_name(SBC_AF, q->family)))
			jsonw_str(&w, "family", name);
		else
			jsonw_int(&w, "family", q->family);
	}
	if (q && q->type >= 0) {
		if ((name = sbc_name(SBC_SOCK, q->type)))
			jsonw_str(&w, "type", name);
		else
			jsonw_int(&w, "type", q->type);
	}
	if (q && q->proto >= 0)
		jsonw_int(&w, "proto", q->proto);
	if (addr)
		jsonw_str(&w, "address", addr);
	if (port >= 0)
		jsonw_int(&w, "port", port);
	if (q && q->host)
		jsonw_str(&w, "host", q->host);
	if (q && q->name)
		jsonw_str(&w, "name", q->name);
	if (q && q->action == POLICY_SETSOCKOPT) {
		jsonw_int(&w, "level", q->level);
		jsonw_int(&w, "option", q->option);
	}
	jsonw_close(&w);
	line = jsonw_text(&w, &len);
	if (!line) {
		jsonw_fini(&w);
		return a->audit_fd >= 0 ? -ENOMEM : 0;
	}
	iov[0] = (struct iovec){ (void *)line, len };
	/* One write per record, so records never interleave (O_APPEND). */
	if (a->audit_fd >= 0)
		r = audit_append(a->audit_fd, iov, 2);
	/* The ring keeps it (short, if it is long) and subscribers get it whole,
	 * whether or not the file took it: they show what was decided. */
	if (audit_ring_wanted(&a->ring)) {
		_cleanup_free_ char *stub = len > a->ring.record_max ? audit_stub(rec, when, serial, id, len) : NULL;
		(void)audit_ring_push(&a->ring, rec->seq, line, len, stub);
	}
	jsonw_fini(&w);
	return r;
}

/* The record for the log: a line "audit: DECISION key=value ..." (strings
 * quoted, "-" for none), and the same fields for the journal. */
static int audit_line(uint64_t serial, const struct identity *id, const struct audit_rec *rec,
                      const char *addr, int port)
{
	const struct policy_request *q = rec->q;
	char conn[24], uid[24], gid[24], pid[24], proto[24], portb[24], level[24], option[24], after[24], seq[24];
	const char *fam = q && q->family >= 0 ? sbc_name(SBC_AF, q->family) : NULL;
	const char *typ = q && q->type >= 0 ? sbc_name(SBC_SOCK, q->type) : NULL;
	bool sso = q && q->action == POLICY_SETSOCKOPT;
	bool exe_unknown = id->exe_unknown && !id->exe, unit_unknown = id->unit_unknown && !id->unit;
	/* "-": no connection of ours (authz_audit_http), no uid (an anonymous HTTP caller) */
	const struct audit_field fl[] = {
		{ { "decision", rec->decision }, false, true },
		{ { "rule", rec->rule }, true, false },
		{ { "conn", serial ? udec(conn, serial) : "-" }, false, false },
		{ { "uid", id->uid != (uid_t)-1 ? udec(uid, (unsigned)id->uid) : "-" }, false, false },
		{ { "gid", id->gid != (gid_t)-1 ? udec(gid, (unsigned)id->gid) : "-" }, false, false },
		{ { "pid", dec(pid, (int)id->pid) }, false, false },
		/* An unknown part is an unquoted "?": a quoted value cannot pass for it. */
		{ { "exe", exe_unknown ? "?" : id->exe }, !exe_unknown, false },
		{ { "unit", unit_unknown ? "?" : id->unit }, !unit_unknown, false },
		{ { "token", id->token }, true, true },
		{ { "method", rec->method }, false, false },
		{ { "action", q ? policy_action_name(q->action) : NULL }, false, false },
		{ { "family", fam }, false, false },
		{ { "type", typ }, false, false },
		{ { "proto", q ? dec(proto, q->proto) : NULL }, false, false },
		{ { "address", addr }, true, true },
		{ { "port", port >= 0 ? dec(portb, port) : NULL }, false, true },
		{ { "host", q ? q->host : NULL }, true, false },
		{ { "name", q ? q->name : NULL }, true, true },
		{ { "level", sso ? dec(level, q->level) : NULL }, false, true },
		{ { "option", sso ? dec(option, q->option) : NULL }, false, true },
		{ { "reason", rec->reason }, true, false },
		{ { "after", rec->after ? udec(after, rec->after) : NULL }, false, true },
		{ { "seq", udec(seq, rec->seq) }, false, false },
	};
	const size_t n = sizeof(fl) / sizeof(fl[0]);
	struct log_field jf[sizeof(fl) / sizeof(fl[0])];
	/* Made on the stack; a line longer than that (a long path or host) on the heap. */
	char stack[AUDIT_JSON_STACK];
	size_t len = audit_line_text(NULL, fl, n);
	char *text = len < sizeof(stack) ? stack : malloc(len + 1);
	int r;

	if (!text)
		return -ENOMEM;
	audit_line_text(text, fl, n);
	for (size_t i = 0; i < n; i++)
		jf[i] = fl[i].f;
	r = log_audit(text, jf, n);
	if (text != stack)
		free(text);
	return r;
}

/* Counts a record that could not be written and says so, at most once per
 * AUDIT_WARN_INTERVAL_S with the number held back meanwhile. */
static void audit_failed(struct authz *a, int r, const char *where)
{
	uint64_t held;

	a->audit_failures++;
	a->audit_failing = true;
	if (!log_ratelimit(&a->audit_warn, &held))
		return;
	log_warning("audit: a record could not be written to %s: %s; governed requests %s until one can "
	            "(%llu more failures since the last warning)",
	            where, strerror(-r),
	            a->cfg->audit_failure_allow ? "run without records (--audit-failure=allow)" : "are refused",
	            (unsigned long long)held);
}

static void audit_recovered(struct authz *a)
{
	if (!a->audit_failing)
		return;
	a->audit_failing = false;
	log_notice("audit: records are written again (%llu could not be, in all)",
	           (unsigned long long)a->audit_failures);
}

/* Writes rec to the log (the journal or standard error) and to --audit-log.
 * 0, or -errno when it could not be written to one of them. */
static int audit_write(struct authz *a, uint64_t serial, const struct identity *id, struct audit_rec *rec)
{
	char addr[INET6_ADDRSTRLEN + sizeof(((struct sockaddr_un *)0)->sun_path)] = "";
	int port, r = 0, rl = 0;
	bool has_addr = request_address(rec->q, addr, sizeof(addr), &port);

	rec->seq = ++a->audit_seq;
	/* The log's copy follows --log-level, as it always did. */
	if (log_get_level() >= LOG_NOTICE)
		rl = audit_line(serial, id, rec, has_addr ? addr : NULL, port);
	if (a->audit_fd >= 0 || audit_ring_wanted(&a->ring))
		r = audit_json(a, serial, id, rec, has_addr ? addr : NULL, port);
	if (rec->quiet)
		return 0;
	if (r < 0)
		audit_failed(a, r, a->cfg->audit_log_path);
	if (rl < 0)
		audit_failed(a, rl, log_stderr_name());
	if (r == 0 && rl == 0)
		audit_recovered(a);
	return r < 0 ? r : rl;
}

/* The record of a decision. */
static int audit(struct authz *a, uint64_t serial, const struct identity *id, const char *method,
                 const struct policy_request *q, const struct policy_decision *d, uint64_t after)
{
	struct audit_rec rec = {
		.decision = d->allowed ? "allow" : "deny",
		.rule = d->rule,
		.reason = d->reason,
		.method = method,
		.q = q,
		.after = after,
	};

	return audit_write(a, serial, id, &rec);
}

static void count(struct authz *a, const struct policy_decision *d)
{
	size_t i = d->rule_index >= 0 ? (size_t)d->rule_index + 1 : 0;

	if (i >= a->ncounters)
		return;
	if (d->allowed)
		a->counters[i].allowed++;
	else
		a->counters[i].denied++;
}

static int deny_error(struct call *call, const char *rule, const char *reason)
{
	json_object *data = json_object_new_object();

	json_object_object_add(data, "reason", json_object_new_string(reason));
	if (rule)
		json_object_object_add(data, "rule", json_object_new_string(rule));
	return call_error(call, SB_ERR_DENIED, data, "denied by policy: %s", reason);
}

/* -32000 for an allowed request refused because its record could not be
 * written: an OS error of the daemon's, which the caller may retry. */
static int audit_error(struct call *call, int e)
{
	int rc = call_error_os(call, -e, "refused: its audit record could not be written (%s)", strerror(e));

	if (call->err_data)
		json_object_object_add(call->err_data, "audit", json_object_new_boolean(true));
	return rc;
}

static uint64_t allowed_before(const struct call *call)
{
	return call->audit_note ? call->audit_note->seq : 0;
}

int authz_check(struct call *call, const struct policy_request *q)
{
	struct conn *c = call->conn;
	struct authz *a = c->env->authz;
	const struct identity *id = authz_call_identity(call, NULL);
	struct policy_subject who;
	struct policy_decision d;
	int r;

	/* A caller without an established identity never gets here: authz_gate
	 * denies it everything but introspection. */
	authz_subject_from(id, &who);
	decide(a, &who, q, &d);
	r = audit(a, c->serial, id, call->method->name, q, &d, d.allowed ? 0 : allowed_before(call));
	count(a, &d);
	if (!d.allowed)
		return deny_error(call, d.rule, d.reason);
	/* Fail closed: nothing governed happens without its record, unless the
	 * administrator chose otherwise. */
	if (r < 0 && !a->cfg->audit_failure_allow) {
		uint64_t allowed = a->audit_seq;
		char reason[128];
		struct audit_rec rec = {
			.decision = "refused",
			.reason = reason,
			.method = call->method->name,
			.q = q,
			.after = allowed,
			.quiet = true,
		};

		/* The allow record may have reached one of the two: it must not
		 * stand there as a request that ran. */
		snprintf(reason, sizeof(reason), "audit: its record could not be written (%s)", strerror(-r));
		(void)audit_write(a, c->serial, id, &rec);
		a->audit_refused++;
		return audit_error(call, -r);
	}
	note_allow(call, q, a->audit_seq);
	return 0;
}

int authz_check_identity(struct authz *a, uint64_t serial, const struct identity *id, const char *method,
                         const struct policy_request *q, const char **rule, const char **reason)
{
	struct policy_subject who;
	struct policy_decision d;
	int r;

	if (id->error) {
		/* As authz_gate: a caller without an identity (anonymous) gets nothing governed. */
		d = (struct policy_decision){ .allowed = false, .rule_index = -1 };
		snprintf(d.reason, sizeof(d.reason), "the caller's identity could not be established: %s", id->error);
	} else {
		authz_subject_from(id, &who);
		decide(a, &who, q, &d);
	}
	r = audit(a, serial, id, method, q, &d, 0);
	count(a, &d);
	snprintf(a->last_reason, sizeof(a->last_reason), "%s", d.reason);
	*rule = d.rule;
	*reason = a->last_reason;
	if (!d.allowed)
		return -EACCES;
	if (r < 0 && !a->cfg->audit_failure_allow) {
		struct audit_rec rec = {
			.decision = "refused",
			.reason = a->last_reason,
			.method = method,
			.q = q,
			.after = a->audit_seq,
			.quiet = true,
		};

		snprintf(a->last_reason, sizeof(a->last_reason), "audit: its record could not be written (%s)",
		         strerror(-r));
		(void)audit_write(a, serial, id, &rec);
		a->audit_refused++;
		*rule = NULL;
		return r;
	}
	return 0;
}

void authz_audit_http(struct authz *a, const struct identity *id, const char *what, const char *reason)
{
	struct identity anon = { .uid = (uid_t)-1, .gid = (gid_t)-1, .pidfd = -1, .error = (char *)HTTP_ANONYMOUS_ERROR };
	struct policy_decision d = { .allowed = false, .rule_index = -1 };
	struct audit_rec rec = {
		.decision = "deny",
		.reason = reason,
		.method = what,
	};

	/* A refusal stands whether or not its record could be written. */
	(void)audit_write(a, 0, id ? id : &anon, &rec);
	count(a, &d);
}

/* A denial no rule decides, recorded and counted; q may be NULL (refused
 * before a request was judged). A denial stands whether or not its record
 * could be written. */
static int refuse(struct call *call, const struct policy_request *q, const char *rule, const char *reason)
{
	struct conn *c = call->conn;
	struct policy_decision d = { .allowed = false, .rule = rule, .rule_index = -1 };

	snprintf(d.reason, sizeof(d.reason), "%s", reason);
	(void)audit(c->env->authz, c->serial, authz_call_identity(call, NULL), call->method->name, q, &d,
	            allowed_before(call));
	count(c->env->authz, &d);
	return deny_error(call, rule, reason);
}

int authz_refuse(struct call *call, const struct policy_request *q, const char *reason)
{
	return refuse(call, q, NULL, reason);
}

void authz_audit_limit(struct call *call)
{
	struct conn *c = call->conn;
	struct authz_note *n = call->audit_note;
	struct audit_rec rec = {
		.decision = "refused",
		.reason = "limit reached",
		.method = call->method->name,
		.q = n ? &n->q : NULL,
		.after = n ? n->seq : 0,
	};
	char *reason = NULL;

	/* "limit: at most 4 handles", as the -32012 error says it. */
	if (asprintf(&reason, "limit: at most %llu %s", call->limit_max, call->limit) >= 0)
		rec.reason = reason;
	(void)audit_write(c->env->authz, c->serial, authz_call_identity(call, NULL), &rec);
	free(reason);
}

void authz_call_ends(struct call *call, int rc)
{
	/* A limit is a refusal too: it has its record, after the allow record
	 * of the request it refuses, if any. */
	if (rc == CALL_ERR_SET && call->limit && call->method &&
	    (call->audit_note || !(call->method->flags & (RPC_INTROSPECT | RPC_OWN_STATE))))
		authz_audit_limit(call);
}

bool authz_allows(struct call *call, const struct policy_request *q)
{
	struct policy_subject who;
	struct policy_decision d;

	authz_subject_from(authz_call_identity(call, NULL), &who);
	decide(call->conn->env->authz, &who, q, &d);
	return d.allowed;
}

int authz_check_unresolved(struct call *call, const struct policy_request *q, int port)
{
	struct policy_subject who;
	char reason[600];

	authz_subject_from(authz_call_identity(call, NULL), &who);
	if (policy_may_allow(call->conn->env->authz->policy, &who, q, port))
		return 0;
	snprintf(reason, sizeof(reason), "no rule could allow %s to \"%.300s\" port %d for uid %u, whatever it resolves to",
	         policy_action_name(q->action), q->host ? q->host : "", port, (unsigned)who.uid);
	return authz_refuse(call, q, reason);
}

int authz_require_rule(struct call *call)
{
	struct conn *c = call->conn;
	size_t nrules;
	const struct identity *id = authz_call_identity(call, &nrules);
	char reason[600];

	/* A caller no rule matches may only introspect (the embedded default's
	 * "everyone else"). */
	if (nrules)
		return 0;
	snprintf(reason, sizeof(reason), "no rule of the policy matches uid %u%s", (unsigned)id->uid,
	         policy_is_default(c->env->authz->policy)
	             ? " (no policy file: the embedded default allows only introspection)" : "");
	return refuse(call, NULL, policy_is_default(c->env->authz->policy) ? POLICY_DEFAULT_RULE : NULL, reason);
}

int authz_gate(struct call *call)
{
	struct conn *c = call->conn;
	const struct identity *id;
	char reason[600];

	if (call->method->flags & RPC_INTROSPECT)
		return 0;
	/* An identity the daemon was too short of descriptors to read is read
	 * now, so a flood leaves nobody crippled for good. */
	if (!call->sender)
		conn_identity_retry(c);
	id = authz_call_identity(call, NULL);
	if (id->error) {
		snprintf(reason, sizeof(reason), "the caller's identity could not be established: %s", id->error);
		return refuse(call, NULL, NULL, reason);
	}
	return 0;
}

int authz_check_policy_cli(const struct sbd_config *cfg)
{
	struct policy *p = NULL;
	struct policy_error err;
	int r = policy_load(cfg->policy_path, geteuid() == 0, &p, &err);

	if (r < 0) {
		fprintf(stderr, "%s\n", err.text);
		return 1;
	}
	warn_if_empty(cfg->policy_path, p);
	printf("%s: %zu rule%s, valid\n", source_of(cfg->policy_path, p), policy_nrules(p),
	       policy_nrules(p) == 1 ? "" : "s");
	for (size_t i = 0; i < policy_nrules(p); i++)
		printf("  %s\n", policy_rule_name(p, i));
	fflush(stdout);
	for (size_t i = 0; i < policy_nrules(p); i++) {
		_cleanup_free_ char *w = NULL;

		if (policy_lint_rule(p, i, &w) < 0) {
			fprintf(stderr, "out of memory\n");
			policy_free(p);
			return 1;
		}
		if (w)
			fprintf(stderr, "warning: %s\n", w);
	}
	policy_free(p);
	if (cfg->http_token_file && http_tokens_check_cli(cfg->http_token_file, geteuid() == 0))
		return 1;
	/* The declared sockets: when given, or when the default directory is there. */
	if (cfg->sockets_path || (!cfg->policy_path && access(DECLARED_DEFAULT_DIR, F_OK) == 0))
		return declared_check_cli(cfg->sockets_path, geteuid() == 0);
	return 0;
}

json_object *authz_audit_since(struct authz *a, uint64_t since, size_t max, uint64_t *first, uint64_t *last)
{
	return audit_ring_since(&a->ring, since, max, first, last);
}

void authz_audit_subscribe(struct authz *a, struct audit_sub *s)
{
	audit_ring_subscribe(&a->ring, s);
}

void authz_audit_unsubscribe(struct authz *a, struct audit_sub *s)
{
	audit_ring_unsubscribe(&a->ring, s);
}
