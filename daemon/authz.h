/* Authorisation: the daemon's side of the policy. It holds the loaded policy
 * (swapped whole on reload), turns a connection's identity into a policy
 * subject, asks the policy, writes the audit record of every decision, counts
 * allows and denies per rule, and turns a denial into the -32010 error.
 *
 * Where checks sit: each method's plan (plan.h) lists the questions its
 * request asks; the framework decides them before the handler, or the
 * handler does once it knows the address (RPC_PLAN_IN_HANDLER), before any
 * socket is made. */
#ifndef SBD_AUTHZ_H
#define SBD_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "audit-ring.h"
#include "log.h"
#include "policy.h"

struct conn;
struct call;
struct sbd_config;

/* Allows and denies decided by one rule of the current policy. */
struct authz_counter {
	char *rule;                 /* NULL: decisions no rule covered */
	uint64_t allowed, denied;
};

/* One per daemon (struct server's); connections reach it through their
 * conn_env, so this file needs no server. */
struct authz {
	const struct sbd_config *cfg;   /* the paths and default limits it reads */
	struct policy *policy;
	char *source;               /* what was loaded: a path, or "embedded default" */
	bool strict_owner;          /* running as root: refuse files others may write */
	uid_t daemon_uid;           /* the daemon's own user: it keeps `admin`, as root does */
	struct authz_counter *counters;   /* [0] = no rule, then one per rule in policy order */
	size_t ncounters;
	uint64_t generation;        /* 1 at start, +1 per successful reload */
	uint64_t reloads, reload_failures;
	int audit_fd;               /* --audit-log, O_APPEND; -1 when none */
	uint64_t audit_failures;    /* records that could not be written */
	uint64_t audit_refused;     /* allowed requests refused for that (--audit-failure=refuse) */
	bool audit_failing;         /* the last record failed: the next success is logged */
	struct log_ratelimit audit_warn;   /* one warning per 10 s while writes fail */
	uint64_t audit_seq;         /* the last record's number: 1, 2, ... from start, never reused */
	char **warnings;            /* per rule in policy order: policy_lint_rule's, or NULL */
	size_t nwarnings;
	struct audit_ring ring;     /* the last --audit-ring records, and the live subscribers */
	char last_reason[512];      /* authz_check_identity's *reason */
};

/* Loads the policy given by cfg->policy_path (NULL: /etc/sockbroker) and opens
 * the audit log; cfg outlives a. A policy that does not load is fatal at
 * start: 0 or -errno, the error logged. */
int authz_init(struct authz *a, const struct sbd_config *cfg);
void authz_free(struct authz *a);

/* Loads the policy again and swaps it in at once; on error the old policy
 * stays and err says what and where. The audit log is reopened (for log
 * rotation). Connections' limits are the caller's to recompute
 * (authz_conn_update; server_reload_policy does both). 0 or -errno. */
int authz_reload(struct authz *a, struct policy_error *err);

/* Opens --audit-log again (log rotation: SIGUSR1, and every reload): the
 * next record goes to the file now at that path. On error the old file stays
 * in use. why: for the log line ("SIGUSR1"). 0 or -errno. */
int authz_reopen_audit(struct authz *a, const char *why);

struct identity;

/* The subject an identity is (pointers into id). */
void authz_subject_from(const struct identity *id, struct policy_subject *out);

/* Recomputes a connection's limits and matching rules from the current policy
 * (at accept and after each reload). */
void authz_conn_update(struct conn *c);

/* The identity call is judged as: that of the process that wrote it (its
 * connection's, or another writer's, conn.h), and in *nrules (may be NULL)
 * how many rules of the current policy match it. */
const struct identity *authz_call_identity(struct call *call, size_t *nrules);

/* Decides q for the call's connection, audits and counts it. 0 when allowed,
 * else the value of call_error() with -32010 {reason, rule}, or -32000
 * {errno, name, audit: true} when the policy allowed it but its record could
 * not be written to --audit-log (unless --audit-failure=allow). */
int authz_check(struct call *call, const struct policy_request *q);

/* authz_check for a caller without a connection's call (the HTTP face: a
 * bearer token's identity, or an HTTP peer's): decides q for id, audits the
 * decision (method: the JSON-RPC method or "POST /rpc", serial: the
 * connection it is recorded under, 0 none) and counts it, as authz_check
 * does. A caller whose identity has an error (anonymous) is denied without a
 * rule. *rule: the deciding rule (owned by the policy: valid until the next
 * reload; NULL when none), *reason: a sentence (valid until the next call).
 * 0 allowed, -EACCES denied, or another -errno when the policy allowed it
 * but its record could not be written (refused, unless
 * --audit-failure=allow; *reason says so). */
int authz_check_identity(struct authz *a, uint64_t serial, const struct identity *id, const char *method,
                         const struct policy_request *q, const char **rule, const char **reason);

/* One deny record for a refusal at the HTTP level that no rule decides (a
 * missing, wrong or expired token; an anonymous caller on a closed
 * endpoint): id NULL for an anonymous caller, what the request ("GET
 * /v1/clients"), reason why. Counted as a denial without a rule. */
void authz_audit_http(struct authz *a, const struct identity *id, const char *what, const char *reason);

/* A refusal that no rule decides (the kernel made another socket than the
 * one asked for, a target the daemon never relays to): audited and counted
 * as a denial without a rule; call_error()'s value with -32010 {reason}. */
int authz_refuse(struct call *call, const struct policy_request *q, const char *reason);

/* The refusal of a request by a limit (-32012, in call->err_*), recorded
 * as decision "refused" with reason "limit: at most N what" and, when the
 * policy had allowed it, what was allowed and "after": that record's seq.
 * The reply sinks call it (authz_call_ends) for governed methods and for
 * calls with an allow record; the refusal itself is not counted as a denial. */
void authz_audit_limit(struct call *call);
/* A call ends with rc: the refusal record of a limit, when it needs one. */
void authz_call_ends(struct call *call, int rc);

/* Whether the policy allows q for the call's caller, without auditing or
 * counting: for choices the daemon makes on the caller's behalf. */
bool authz_allows(struct call *call, const struct policy_request *q);

/* Before looking a name up for q (q->host set, no address yet): 0 when some
 * rule could allow q once the name resolves, else a refusal (audited), so
 * that a name no rule could allow costs no look-up. port: -1 when unknown. */
int authz_check_unresolved(struct call *call, const struct policy_request *q, int port);

/* The dispatcher's first gate for call->method (before its params are
 * parsed): introspection passes; a caller whose identity could not be
 * established is refused everything else. 0 or call_error()'s value. */
int authz_gate(struct call *call);

/* What the gate asks of an ungoverned method (some rule matches the caller),
 * for handlers whose request turns out to be ungoverned (accept onto a
 * handle, an option open to everyone, sendmsg without a destination). */
int authz_require_rule(struct call *call);

/* Adds to o what the identity says of a caller: uid, gid, pid, groups, exe,
 * cgroup, unit, label, unknown (authz_unknown_json), and identity_error when
 * it could not be established. */
void authz_identity_json(json_object *o, const struct identity *id);
/* {part: why} for each part of the identity that could not be read (exe,
 * cgroup, unit, label); {} when none. NULL on ENOMEM. */
json_object *authz_unknown_json(const struct identity *id);

/* The names of the rules that match c, in policy order, at most max of them
 * ([] for a caller without an identity: it may only introspect); *total says
 * how many match in all. NULL on ENOMEM. */
json_object *authz_rules_json(struct authz *a, const struct conn *c, size_t max, size_t *total);
/* The same for an identity. */
json_object *authz_rules_json_for(struct authz *a, const struct identity *id, size_t max, size_t *total);
/* The same, or with maybe the rules that only may match id: those whose
 * match names a part of id that is unknown (policy_unknown_rules). */
json_object *authz_rules_json_as(struct authz *a, const struct identity *id, bool maybe, size_t max,
                                 size_t *total);

/* The load-time warnings (policy-lint.h) of the rules that match id, in
 * policy order: [] when none. NULL on ENOMEM. */
json_object *authz_warnings_json(struct authz *a, const struct identity *id);

/* A decision without auditing or counting, for policy.check. */
void authz_decide_as(struct authz *a, const struct policy_subject *who, const struct policy_request *q,
                     struct policy_decision *out);

/* The per-user connection limit for a new connection of who. */
unsigned authz_connection_limit(struct authz *a, const struct policy_subject *who);

/* The last records (--audit-ring of them) with seq > since, oldest first, at
 * most max, as a JSON array of record objects; *first and *last: the oldest
 * and newest seq the ring holds (0 when none). NULL on ENOMEM. */
json_object *authz_audit_since(struct authz *a, uint64_t since, size_t max, uint64_t *first, uint64_t *last);

/* Every record from now on is handed to s->on_record as it is made, in one
 * line of JSON (audit-ring.h), until authz_audit_unsubscribe. s stays the
 * caller's; it must be unsubscribed before it is freed or authz_free runs. */
void authz_audit_subscribe(struct authz *a, struct audit_sub *s);
void authz_audit_unsubscribe(struct authz *a, struct audit_sub *s);

/* sockbrokerd --check-policy: loads the policy as the daemon would, prints a
 * summary or the error. The exit status: 0 valid, 1 invalid. */
int authz_check_policy_cli(const struct sbd_config *cfg);

#endif
