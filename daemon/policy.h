/* The policy of shared/policy.md, version 1: loading and strict validation of
 * the policy files, and the decisions and limits they give. A pure module: no
 * daemon state and no I/O except reading the policy files at load time (user
 * and group names are resolved then, never per request), so a loaded policy is
 * immutable and may be shared by readers while a reload builds the next one.
 *
 * Contract with the daemon:
 *  - Introspection methods (rpc.discover, daemon.info, daemon.whoami,
 *    daemon.ping) are not actions: the dispatcher lets them through before
 *    asking the policy. Every other governed method maps to one action.
 *  - A request's `type` may carry SOCK_NONBLOCK/SOCK_CLOEXEC; they are ignored.
 *  - bind/connect/listen: `addr` holds the address and port (INET/INET6; other
 *    families only match entries without address/port selectors).
 *  - host rules (pinning): the daemon resolves a name itself, then asks once
 *    per resolved address with `host` set to the name it resolved and `addr`
 *    set to that address and port. An entry with a `host` selector covers only
 *    requests whose `host` matches it, so an address the client resolved on
 *    its own (host NULL) never gets through a host rule: the socket can reach
 *    only addresses the daemon's resolution returned. Entries without `host`
 *    judge by address as usual, so a deny on a port also applies to names.
 *  - `resolve` requests may set `host` to the name looked up; entries of
 *    action resolve with a host selector cover only those names.
 *  - Addresses are judged as the kernel will use them (bind, connect, listen,
 *    send): an IPv4-mapped IPv6 address is an AF_INET request for its IPv4
 *    address, and the unspecified destination of a connect or send is the
 *    loopback address (0.0.0.0 -> 127.0.0.1, :: -> ::1). The caller passes
 *    the address as the client gave it; the reason shows both.
 *  - AF_UNIX bind/connect/listen/send: `path` holds the address as the client
 *    gave it: an absolute path, "@name" for an abstract name (the bytes after
 *    the leading NUL, printable), "" for an unnamed or autobind address. An
 *    allow entry covers a request with a path only if it has a `path`
 *    selector that matches it ("needs a path grant"); a deny entry without
 *    one covers every path. A path that is not absolute and canonical (with
 *    "/./", "/../", "//", a final "/.", "/.." or "/") is covered by no allow
 *    entry: the daemon should refuse such paths before asking.
 *  - `proto` selectors written as names hold for their own families only:
 *    NETLINK_* names for AF_NETLINK sockets, IPPROTO_* (ETH_P_*, CAN_*) names
 *    for the others, since the numbers overlap; numbers hold for every family.
 *  - send: `message` is the netlink message type (nlmsg_type), -1 when none.
 *    It is read only when action is POLICY_SEND, so callers that zero-fill a
 *    request for another action need not set it.
 */
#ifndef SBD_POLICY_H
#define SBD_POLICY_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "decerr.h"

struct json_object;

#define POLICY_DEFAULT_FILE "/etc/sockbroker/policy.json"
#define POLICY_DEFAULT_DIR  "/etc/sockbroker/policy.d"
#define POLICY_DEFAULT_RULE "embedded default"   /* the embedded rule's name (protocol -32010 data) */

/* Finite bounds on what a policy may hold (a policy is trusted, but a typo
 * must not make the daemon allocate without end). */
#define POLICY_MAX_FILE_SIZE  (1024 * 1024)   /* bytes per file */
#define POLICY_MAX_FILES      256             /* *.json files in a directory */
#define POLICY_MAX_RULES      4096            /* rules in all files together */
#define POLICY_MAX_ENTRIES    256             /* allow + deny entries in one rule */
#define POLICY_MAX_LIST       1024            /* items in one list member */
#define POLICY_MAX_LIMIT      1048576         /* largest value of a limit */

enum policy_action {
	POLICY_CREATE,
	POLICY_BIND,
	POLICY_CONNECT,
	POLICY_LISTEN,
	POLICY_SETSOCKOPT,
	POLICY_ADOPT,
	POLICY_RESOLVE,
	POLICY_SETHOSTNAME,
	POLICY_ADMIN,
	POLICY_SEND,          /* a message sent on a socket (netlink messages, destinations) */
	POLICY_HTTP_RPC,      /* JSON-RPC over the HTTP face's tcp: listener (POST /rpc) */
	POLICY_HOLD,          /* put a socket in the held table, or remove one (by name) */
	POLICY_RETRIEVE,      /* get a held socket (by name) */
	POLICY_ACTION_MAX
};

/* "bind" etc., or NULL. */
const char *policy_action_name(enum policy_action a);

struct policy;

/* Where a load failed: file ("" when none), line and column (1-based, in
 * characters; 0 only for errors about a file as a whole: missing, owner,
 * size), `at.path` the JSON path of the member at fault for errors about values
 * ("rules[2].allow[0].port", "" for syntax errors), `at.msg` what is wrong, and all of
 * it as one line in `text`: "policy.json:7:26: rules[2].allow[0].port: port
 * 70000 is out of range 0-65535". Duplicate members are errors too (json-c
 * would keep only the last). */
struct policy_error {
	char file[4096];
	int line, column;
	struct decode_error at;   /* at.path: `where`; at.msg: what is wrong */
	char text[5120];
};

/* Token names (policy member `token`, the HTTP token file): 1 to this many bytes. */
#define POLICY_TOKEN_NAME_MAX 200

/* Loads a policy. path NULL: POLICY_DEFAULT_FILE then every *.json of
 * POLICY_DEFAULT_DIR in lexical (byte) order, each optional. A path: a file,
 * or a directory read like policy.d; it must exist. Rules are appended in that
 * order; a later file's top-level limits override earlier ones member by
 * member. When no file was found at all (or the directory holds no *.json),
 * *out is the embedded default: one rule POLICY_DEFAULT_RULE matching uid 0
 * and the caller's euid that allows every action. strict_owner (set when the
 * daemon runs as root): refuse files and directories that a non-root user can
 * write (owner not root, writable by others, or by a group other than root).
 * 0 with *out set, or -errno with err filled (-EINVAL invalid content, -ENOENT
 * missing file, -ELOOP symlink loop, -EPERM strict_owner refusal, -EFBIG,
 * -E2BIG a bound above, -ENOMEM, other open/read errors). */
int policy_load(const char *path, bool strict_owner, struct policy **out, struct policy_error *err);

void policy_free(struct policy *p);

/* Whether p is the embedded default (no policy file). */
bool policy_is_default(const struct policy *p);
/* Number of rules (for logs), and the name of rule i (0-based, policy order). */
size_t policy_nrules(const struct policy *p);
const char *policy_rule_name(const struct policy *p, size_t i);
/* Rule i as written: *json its object as the loader parsed it (the policy's:
 * take a reference or a copy to keep it), *file the file it is in and *line
 * the line it starts on (NULL and 0 for the embedded default, whose object
 * is written as a file would hold it). 0, or -ENOENT when there is no rule i. */
int policy_rule_source(const struct policy *p, size_t i, struct json_object **json, const char **file, int *line);

/* Who asks: what the daemon established at accept. Strings may be NULL
 * (there is none: no LSM label, no unit), which matches no rule that names
 * that member.
 *
 * A member may also be *unknown*: the daemon could not read it (*_unknown
 * says why; the value is then NULL). A rule whose match names an unknown
 * member, and whose other members all hold, "may match": its deny entries
 * apply (fail closed), its allow entries do not, and its limits may lower
 * the caller's but never raise them (policy_limits_cap). Rules that do not
 * name the member are unaffected. */
struct policy_subject {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;   /* supplementary groups */
	size_t ngroups;
	const char *exe;
	const char *unit;
	const char *cgroup;
	const char *label;
	const char *token;     /* the bearer token an HTTP caller presented (its name); NULL: none */
	const char *exe_unknown, *unit_unknown, *cgroup_unknown, *label_unknown;   /* why; NULL: known */
};

struct policy_request {
	enum policy_action action;
	int family, type, proto;           /* of the socket concerned; -1 unknown */
	bool have_addr;                    /* bind/connect/listen: addr is set */
	struct sockaddr_storage addr;      /* address + port */
	const char *host;                  /* see the pinning contract above; may be NULL */
	int level, option;                 /* setsockopt */
	bool explicit_create;              /* create: only `create` entries cover it, not the
	                                    * create that bind/connect entries imply (for a
	                                    * descriptor that leaves the daemon unconnected) */
	const char *path;                  /* AF_UNIX address (see above); NULL when none */
	long message;                      /* send: netlink message type, -1 when none */
	const char *name;                  /* hold, retrieve: the held socket's name; NULL: none */
};

struct policy_decision {
	bool allowed;
	const char *rule;      /* deciding rule's name (owned by the policy); NULL when no rule
	                        * covers the request, POLICY_DEFAULT_RULE then under the default */
	int rule_index;        /* index of the deciding rule in policy order, -1 when none */
	char reason[512];      /* a sentence for logs and the -32010 error's data */
};

/* Decides: allowed when some matching rule's allow covers the request and no
 * matching rule's deny does (deny wins); a rule that may match (it names a
 * member of who that is unknown) counts with its deny entries only. Allow entries of bind and connect
 * also cover create of their family/type (not an explicit_create hand-out),
 * and allow entries of bind cover listen on the same address. 0, or -EINVAL
 * for a request with an action out of range (then out denies). */
int policy_decide(const struct policy *p, const struct policy_subject *who,
                  const struct policy_request *what, struct policy_decision *out);

/* Whether a request whose address is not known yet (a host name the daemon
 * would have to look up) could be allowed once the name resolves: some rule
 * matching who has an allow entry whose action, family, type, proto, port,
 * host, path and message selectors hold for q (q->family -1: any of AF_INET
 * and AF_INET6; q->type or q->proto -1: any), counting its address CIDRs as
 * "could match". q->have_addr and q->addr are ignored; port is the port the
 * request names, -1 unknown (then every port selector could match). Deny
 * entries are not consulted (they judge addresses): each resolved address
 * still goes through policy_decide. q->action is one of bind, connect,
 * listen and send; false for any other. Lets the daemon refuse a name no
 * rule could allow before looking it up. */
bool policy_may_allow(const struct policy *p, const struct policy_subject *who,
                      const struct policy_request *q, int port);

/* Limits for a subject: -1 means "unset" (use the daemon's own default). */
struct policy_limits {
	long handles, connections, pending;
};

/* Top-level limits, overridden member by member by the last matching rule that
 * sets each. */
void policy_limits(const struct policy *p, const struct policy_subject *who,
                   struct policy_limits *out);
/* The lowest value each member is set to by a rule that only may match who (it
 * names an unknown member), -1 when none: the caller's limit is at most that.
 * Such a rule can lower a limit but never raise it. */
void policy_limits_cap(const struct policy *p, const struct policy_subject *who,
                       struct policy_limits *out);

/* The user database entry of name (or of uid when name is NULL), retrying
 * with a larger buffer (kept in *buf, malloc'd) as NSS asks: 0, -ENOENT, or
 * another -errno. */
int policy_lookup_user(const char *name, uid_t uid, struct passwd *pw, char **buf);
/* The gid of a group name, the same way: 0, -ENOENT or -errno. */
int policy_lookup_group(const char *name, gid_t *gid);

/* Names of the rules that match who, in policy order: up to max pointers
 * (owned by the policy) are stored in names; returns how many match in all. */
size_t policy_matching_rules(const struct policy *p, const struct policy_subject *who,
                             const char **names, size_t max);
/* The same for the rules that only may match who: every member of their match
 * that who's identity knows holds, and they name one it does not know. */
size_t policy_unknown_rules(const struct policy *p, const struct policy_subject *who,
                            const char **names, size_t max);

/* ---- a read-only view of a rule's match, for policy-lint.c ---- */

/* What rule i matches on and what it allows. Strings are the policy's. */
struct policy_rule_view {
	const char *name;
	unsigned allow_actions;         /* 1u << action for each action of its allow entries */
	bool uid, gid;                  /* user/uid, group/gid given */
	const char *const *exe, *const *unit, *const *cgroup, *const *label;
	size_t nexe, nunit, ncgroup, nlabel;    /* 0: the member is not given */
	const char *const *unknown;     /* user/group names not known at load: "user \"x\"" */
	size_t nunknown;
};
/* 0, or -ENOENT when there is no rule i. */
int policy_rule_view(const struct policy *p, size_t i, struct policy_rule_view *out);

/* ---- other files an administrator writes (the HTTP token file), held to
 * the policy files' rules and reporting errors the same way ---- */

#define POLICY_FILE_STRICT_OWNER 1u   /* as policy_load's strict_owner, directories above included */
#define POLICY_FILE_SECRET       2u   /* it holds secrets: refuse a symbolic link, any permission bit
                                       * of group or others, an owner other than root or our euid */
/* Reads the regular file path whole, at most POLICY_MAX_FILE_SIZE bytes
 * (*buf malloc'd and NUL-terminated, *len its length). 0 or -errno with err
 * filled (-EPERM for a refusal, -ELOOP a symlink, -EFBIG, -ENOENT, ...). */
int policy_file_read(const char *path, unsigned flags, char **buf, size_t *len, struct policy_error *err);
struct json_object;
/* Parses buf as strictly as a policy file (RFC 8259 JSON, UTF-8, no text
 * after it, no \u0000, no duplicate member): 0 with *out, or -EINVAL with
 * err's position. file names it in err. */
int policy_json_parse(const char *file, const char *buf, size_t len, struct json_object **out,
                      struct policy_error *err);
/* An error about the member at JSON path where ("tokens[2].secret") of the
 * text buf (may be NULL): err filled as the policy loader fills it, the
 * position that of the member in buf. Returns r. */
int policy_error_at(struct policy_error *err, const char *file, const char *buf, size_t len, int r,
                    const char *where, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#endif
