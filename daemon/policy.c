#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "consts.h"
#include "pathwalk.h"
#include "policy.h"
#include "util.h"

/* ---- the loaded form ---- */

enum cond_kind { C_UID, C_GID, C_EXE, C_UNIT, C_CGROUP, C_LABEL, C_TOKEN, C_MAX };

/* One match member: any of its values must hold. */
struct cond {
	enum cond_kind kind;
	size_t n;
	long *ids;      /* C_UID, C_GID */
	char **strs;    /* the others */
};

struct cidr {
	int family;
	unsigned char addr[16];
	int prefix;
};

struct prange {
	unsigned lo, hi;
};

struct optsel {
	long level, option;
};

/* A list selector: n == 0 means "any". */
struct lsel {
	size_t n;
	long *v;
};

/* Where a protocol value came from: netlink protocol numbers overlap IPPROTO
 * ones (NETLINK_SOCK_DIAG is IPPROTO_IPIP, NETLINK_XFRM is IPPROTO_TCP), so a
 * value written as a name holds only for the families that name belongs to;
 * a number holds for every family, as written. */
enum proto_ns { PNS_NUMBER, PNS_IP, PNS_NETLINK };

struct psel {
	long v;
	enum proto_ns ns;
};

struct entry {
	enum policy_action action;
	struct lsel family, type, level, message;
	size_t nprotos;
	struct psel *protos;
	size_t noptions;
	struct optsel *options;
	size_t ncidrs;
	struct cidr *cidrs;
	size_t nports;
	struct prange *ports;
	size_t nhosts;
	char **hosts;
	size_t npaths;
	char **paths;      /* AF_UNIX addresses: "/exact", "/prefix/", globs, "@abstract", "" */
	bool all_paths;    /* the embedded default's entries: every AF_UNIX address */
	size_t nnames;
	char **names;      /* held-socket names: exact or globs */
};

struct rule {
	char *name;
	size_t nconds;
	struct cond conds[C_MAX * 2];   /* user+uid and group+gid are separate members */
	size_t nallow, ndeny;
	struct entry *allow, *deny;
	struct policy_limits limits;   /* -1 = not set by this rule */
	/* user/group names the databases did not know at load ("user \"x\""):
	 * they match nobody until a reload finds them. */
	char **unknown;
	size_t nunknown;
	/* The rule as written, for policy.rules: its object as parsed, and
	 * where it starts (file NULL and line 0 for the embedded default). */
	json_object *json;
	char *file;
	int line;
};

struct policy {
	bool is_default;
	struct policy_limits limits;
	size_t nrules, cap;
	struct rule *rules;
};

static const char *const action_names[POLICY_ACTION_MAX] = {
	[POLICY_CREATE] = "create",
	[POLICY_BIND] = "bind",
	[POLICY_CONNECT] = "connect",
	[POLICY_LISTEN] = "listen",
	[POLICY_SETSOCKOPT] = "setsockopt",
	[POLICY_ADOPT] = "adopt",
	[POLICY_RESOLVE] = "resolve",
	[POLICY_SETHOSTNAME] = "sethostname",
	[POLICY_ADMIN] = "admin",
	[POLICY_SEND] = "send",
	[POLICY_HTTP_RPC] = "http_rpc",
	[POLICY_HOLD] = "hold",
	[POLICY_RETRIEVE] = "retrieve",
};

const char *policy_action_name(enum policy_action a)
{
	return (unsigned)a < POLICY_ACTION_MAX ? action_names[a] : NULL;
}

/* Which selectors each action takes: a selector on an action it cannot
 * narrow (a port on "admin") is a mistake the administrator should hear of. */
enum {
	S_FAMILY = 1 << 0, S_TYPE = 1 << 1, S_PROTO = 1 << 2, S_ADDRESS = 1 << 3,
	S_PORT = 1 << 4, S_HOST = 1 << 5, S_LEVEL = 1 << 6, S_OPTION = 1 << 7, S_MESSAGE = 1 << 8,
	S_PATH = 1 << 9, S_NAME = 1 << 10,
};
#define S_SOCK (S_FAMILY | S_TYPE | S_PROTO)
static const unsigned action_selectors[POLICY_ACTION_MAX] = {
	[POLICY_CREATE] = S_SOCK,
	[POLICY_BIND] = S_SOCK | S_ADDRESS | S_PORT | S_PATH,
	[POLICY_CONNECT] = S_SOCK | S_ADDRESS | S_PORT | S_HOST | S_PATH,
	[POLICY_LISTEN] = S_SOCK | S_ADDRESS | S_PORT | S_PATH,
	[POLICY_SETSOCKOPT] = S_SOCK | S_LEVEL | S_OPTION,
	[POLICY_ADOPT] = S_SOCK,
	[POLICY_RESOLVE] = S_HOST,
	[POLICY_SETHOSTNAME] = 0,
	[POLICY_ADMIN] = 0,
	[POLICY_SEND] = S_SOCK | S_MESSAGE | S_ADDRESS | S_PORT | S_PATH,
	[POLICY_HTTP_RPC] = 0,
	[POLICY_HOLD] = S_SOCK | S_NAME,
	[POLICY_RETRIEVE] = S_SOCK | S_NAME,
};

#define NAMED(n) { #n, (long)(n) }

/* Netlink protocols, for "proto" (the first of a value is its name). */
static const struct sbc_entry netlink_protos[] = {
	NAMED(NETLINK_ROUTE), NAMED(NETLINK_UNUSED), NAMED(NETLINK_USERSOCK), NAMED(NETLINK_FIREWALL),
	NAMED(NETLINK_SOCK_DIAG), NAMED(NETLINK_INET_DIAG), NAMED(NETLINK_NFLOG), NAMED(NETLINK_XFRM),
	NAMED(NETLINK_SELINUX), NAMED(NETLINK_ISCSI), NAMED(NETLINK_AUDIT), NAMED(NETLINK_FIB_LOOKUP),
	NAMED(NETLINK_CONNECTOR), NAMED(NETLINK_NETFILTER), NAMED(NETLINK_IP6_FW), NAMED(NETLINK_DNRTMSG),
	NAMED(NETLINK_KOBJECT_UEVENT), NAMED(NETLINK_GENERIC), NAMED(NETLINK_SCSITRANSPORT),
	NAMED(NETLINK_ECRYPTFS), NAMED(NETLINK_RDMA), NAMED(NETLINK_CRYPTO),
#ifdef NETLINK_SMC
	NAMED(NETLINK_SMC),
#endif
};

/* Netlink message types every netlink protocol shares. */
static const struct sbc_entry nlmsg_common[] = {
	NAMED(NLMSG_NOOP), NAMED(NLMSG_ERROR), NAMED(NLMSG_DONE), NAMED(NLMSG_OVERRUN),
};

/* NETLINK_ROUTE's messages: every RTM_* message type of <linux/rtnetlink.h>
 * (each is an enum value with a #define of its own, so newer ones can be
 * tested for). */
#define RTM(n) NAMED(RTM_##n)
static const struct sbc_entry rtm_messages[] = {
	RTM(NEWLINK), RTM(DELLINK), RTM(GETLINK), RTM(SETLINK),
	RTM(NEWADDR), RTM(DELADDR), RTM(GETADDR),
	RTM(NEWROUTE), RTM(DELROUTE), RTM(GETROUTE),
	RTM(NEWNEIGH), RTM(DELNEIGH), RTM(GETNEIGH),
	RTM(NEWRULE), RTM(DELRULE), RTM(GETRULE),
	RTM(NEWQDISC), RTM(DELQDISC), RTM(GETQDISC),
	RTM(NEWTCLASS), RTM(DELTCLASS), RTM(GETTCLASS),
	RTM(NEWTFILTER), RTM(DELTFILTER), RTM(GETTFILTER),
	RTM(NEWACTION), RTM(DELACTION), RTM(GETACTION),
	RTM(NEWPREFIX), RTM(GETMULTICAST), RTM(GETANYCAST),
	RTM(NEWNEIGHTBL), RTM(GETNEIGHTBL), RTM(SETNEIGHTBL),
	RTM(NEWNDUSEROPT),
	RTM(NEWADDRLABEL), RTM(DELADDRLABEL), RTM(GETADDRLABEL),
	RTM(GETDCB), RTM(SETDCB),
	RTM(NEWNETCONF), RTM(DELNETCONF), RTM(GETNETCONF),
	RTM(NEWMDB), RTM(DELMDB), RTM(GETMDB),
	RTM(NEWNSID), RTM(DELNSID), RTM(GETNSID),
	RTM(NEWSTATS), RTM(GETSTATS),
#ifdef RTM_SETSTATS
	RTM(SETSTATS),
#endif
#ifdef RTM_NEWCACHEREPORT
	RTM(NEWCACHEREPORT),
#endif
#ifdef RTM_NEWCHAIN
	RTM(NEWCHAIN), RTM(DELCHAIN), RTM(GETCHAIN),
#endif
#ifdef RTM_NEWNEXTHOP
	RTM(NEWNEXTHOP), RTM(DELNEXTHOP), RTM(GETNEXTHOP),
#endif
#ifdef RTM_NEWLINKPROP
	RTM(NEWLINKPROP), RTM(DELLINKPROP), RTM(GETLINKPROP),
#endif
#ifdef RTM_NEWVLAN
	RTM(NEWVLAN), RTM(DELVLAN), RTM(GETVLAN),
#endif
#ifdef RTM_NEWNEXTHOPBUCKET
	RTM(NEWNEXTHOPBUCKET), RTM(DELNEXTHOPBUCKET), RTM(GETNEXTHOPBUCKET),
#endif
#ifdef RTM_NEWTUNNEL
	RTM(NEWTUNNEL), RTM(DELTUNNEL), RTM(GETTUNNEL),
#endif
};
#undef RTM

static const struct sbc_entry sock_diag_messages[] = {
	NAMED(SOCK_DIAG_BY_FAMILY), NAMED(SOCK_DESTROY), NAMED(TCPDIAG_GETSOCK), NAMED(DCCPDIAG_GETSOCK),
};

/* The protocols whose message types have names here; the others (generic
 * netlink's are assigned at run time) take numbers. */
static const struct {
	long proto;
	const struct sbc_entry *t;
	size_t n;
} nl_messages[] = {
	{ NETLINK_ROUTE, rtm_messages, ARRAY_SIZE(rtm_messages) },
	{ NETLINK_SOCK_DIAG, sock_diag_messages, ARRAY_SIZE(sock_diag_messages) },
};
#undef NAMED

static const struct sbc_entry *named_find(const struct sbc_entry *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	return NULL;
}

static const char *named_name(const struct sbc_entry *t, size_t n, long v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return NULL;
}

/* The message table of a netlink protocol, or NULL (with *n 0). */
static const struct sbc_entry *nl_message_table(long proto, size_t *n)
{
	for (size_t i = 0; i < ARRAY_SIZE(nl_messages); i++)
		if (nl_messages[i].proto == proto) {
			*n = nl_messages[i].n;
			return nl_messages[i].t;
		}
	*n = 0;
	return NULL;
}

/* The name of message type v under a netlink protocol, or NULL. */
static const char *nl_message_name(long proto, long v)
{
	size_t n;
	const struct sbc_entry *t = nl_message_table(proto, &n);
	const char *name = t ? named_name(t, n, v) : NULL;

	return name ? name : named_name(nlmsg_common, ARRAY_SIZE(nlmsg_common), v);
}

static bool has_long(const long *v, size_t n, long x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* ---- freeing ---- */

static void strs_free(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

static void entry_clear(struct entry *e)
{
	free(e->family.v);
	free(e->type.v);
	free(e->protos);
	free(e->level.v);
	free(e->message.v);
	free(e->options);
	free(e->cidrs);
	free(e->ports);
	strs_free(e->hosts, e->nhosts);
	strs_free(e->paths, e->npaths);
	strs_free(e->names, e->nnames);
}

static void rule_clear(struct rule *r)
{
	free(r->name);
	for (size_t i = 0; i < r->nconds; i++) {
		free(r->conds[i].ids);
		strs_free(r->conds[i].strs, r->conds[i].strs ? r->conds[i].n : 0);
	}
	for (size_t i = 0; i < r->nallow; i++)
		entry_clear(&r->allow[i]);
	for (size_t i = 0; i < r->ndeny; i++)
		entry_clear(&r->deny[i]);
	free(r->allow);
	free(r->deny);
	strs_free(r->unknown, r->nunknown);
	json_object_put(r->json);
	free(r->file);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	free(p);
}

bool policy_is_default(const struct policy *p)
{
	return p && p->is_default;
}

size_t policy_nrules(const struct policy *p)
{
	return p ? p->nrules : 0;
}

const char *policy_rule_name(const struct policy *p, size_t i)
{
	return i < p->nrules ? p->rules[i].name : NULL;
}

int policy_rule_source(const struct policy *p, size_t i, json_object **json, const char **file, int *line)
{
	if (i >= p->nrules)
		return -ENOENT;
	*json = p->rules[i].json;
	*file = p->rules[i].file;
	*line = p->rules[i].line;
	return 0;
}

/* ---- errors ---- */

/* The loader's running state: the file being read and where in it. */
struct ld {
	struct policy *p;
	struct policy_error *err;
	const char *file;
	bool strict_owner;
	bool secret;        /* policy_file_read's POLICY_FILE_SECRET */
};

static void err_fill(struct policy_error *err)
{
	if (err->line > 0 && err->at.path[0])
		snprintf(err->text, sizeof(err->text), "%s:%d:%d: %s: %s", err->file, err->line, err->column,
		         err->at.path, err->at.msg);
	else if (err->line > 0)
		snprintf(err->text, sizeof(err->text), "%s:%d:%d: %s", err->file, err->line, err->column,
		         err->at.msg);
	else if (err->at.path[0])
		snprintf(err->text, sizeof(err->text), "%s: %s: %s", err->file, err->at.path, err->at.msg);
	else
		snprintf(err->text, sizeof(err->text), "%s: %s", err->file, err->at.msg);
}

/* Records an error about the value at JSON path `where` (may be NULL); returns r. */
__attribute__((format(printf, 4, 5)))
static int fail(struct ld *l, int r, const char *where, const char *fmt, ...)
{
	struct policy_error *err = l->err;
	va_list ap;

	if (!err)
		return r;
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", l->file ? l->file : "");
	va_start(ap, fmt);
	decode_vfail(&err->at, r, where, fmt, ap);
	va_end(ap);
	err_fill(err);
	return r;
}

/* JSON paths are for messages: a path cut at the buffer's end is fine (and
 * vsnprintf keeps -Wformat-truncation from saying otherwise). */
__attribute__((format(printf, 3, 4)))
static void pathf(char *w, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w, n, fmt, ap);
	va_end(ap);
}
#define PATHF(w, ...) pathf(w, sizeof(w), __VA_ARGS__)

/* ---- small parsers ---- */

static const char *jtype(json_object *j)
{
	return json_type_to_name(json_object_get_type(j));
}

/* A member that may be one value or a list of them: calls each with every
 * value. Lists must be non-empty (an empty list would silently match nothing
 * or, worse, be read as "any") and at most POLICY_MAX_LIST long. */
typedef int (*item_fn)(struct ld *l, json_object *j, const char *where, void *ctx);

static int each_item(struct ld *l, json_object *j, const char *where, item_fn fn, void *ctx)
{
	char w[300];
	size_t n;
	int r;

	if (!json_object_is_type(j, json_type_array))
		return fn(l, j, where, ctx);
	n = json_object_array_length(j);
	if (n == 0)
		return fail(l, -EINVAL, where, "an empty list matches nothing; omit the member to mean any");
	if (n > POLICY_MAX_LIST)
		return fail(l, -E2BIG, where, "more than %d items", POLICY_MAX_LIST);
	for (size_t i = 0; i < n; i++) {
		PATHF(w, "%s[%zu]", where, i);
		r = fn(l, json_object_array_get_idx(j, i), w, ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

static int push_long(struct lsel *s, long v)
{
	long *n = realloc(s->v, (s->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	n[s->n++] = v;
	s->v = n;
	return 0;
}

static int push_str(char ***arr, size_t *n, const char *s)
{
	char **a = realloc(*arr, (*n + 1) * sizeof(*a));
	char *d;

	if (!a)
		return -ENOMEM;
	*arr = a;
	d = strdup(s);
	if (!d)
		return -ENOMEM;
	a[(*n)++] = d;
	return 0;
}

struct const_ctx {
	enum sbc_kind kind;
	const char *what;
	struct lsel *out;
};

/* family / type / proto / level: a name from the constants tables or a number. */
static int item_const(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct const_ctx *c = vctx;
	long v;
	int r;

	if (!json_object_is_type(j, json_type_string) && !json_object_is_type(j, json_type_int))
		return fail(l, -EINVAL, where, "a %s is a name or a number, not %s", c->what, jtype(j));
	r = sbc_from_json(c->kind, j, &v);
	if (r == -ENOENT)
		return fail(l, -EINVAL, where, "unknown %s \"%s\"", c->what, json_object_get_string(j));
	if (r < 0 || v < 0 || v > INT_MAX)
		return fail(l, -EINVAL, where, "%s %s is out of range", c->what, json_object_to_json_string(j));
	if (push_long(c->out, v) < 0)
		return fail(l, -ENOMEM, where, "out of memory");
	return 0;
}

static int parse_const(struct ld *l, json_object *j, const char *where, enum sbc_kind kind,
                       const char *what, struct lsel *out)
{
	struct const_ctx c = { kind, what, out };

	return each_item(l, j, where, item_const, &c);
}

/* proto: an IPPROTO_* (or ETH_P_*, CAN_*) name, a NETLINK_* name, or a number. */
static int item_proto(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	struct psel ps = { 0, PNS_NUMBER }, *n;

	if (json_object_is_type(j, json_type_string) && !strncmp(json_object_get_string(j), "NETLINK_", 8)) {
		const struct sbc_entry *f = named_find(netlink_protos, ARRAY_SIZE(netlink_protos), json_object_get_string(j));
		if (!f)
			return fail(l, -EINVAL, where, "unknown protocol \"%s\"", json_object_get_string(j));
		ps = (struct psel){ f->value, PNS_NETLINK };
	} else {
		struct lsel one = { 0 };
		struct const_ctx c = { SBC_IPPROTO, "protocol", &one };
		int r = item_const(l, j, where, &c);
		if (r < 0)
			return r;
		ps = (struct psel){ one.v[0], json_object_is_type(j, json_type_string) ? PNS_IP : PNS_NUMBER };
		free(one.v);
	}
	n = realloc(e->protos, (e->nprotos + 1) * sizeof(*n));
	if (!n)
		return fail(l, -ENOMEM, where, "out of memory");
	n[e->nprotos++] = ps;
	e->protos = n;
	return 0;
}

/* message (send): a netlink message type, by number (0-65535) or by name.
 * The number behind a name depends on the netlink protocol (16 is
 * RTM_NEWLINK under NETLINK_ROUTE and something else under each other one),
 * so a name needs the entry to name exactly one protocol; NLMSG_* names are
 * the same under every protocol. */
static int item_message(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	const struct sbc_entry *f;
	const char *s, *pname;
	size_t n;
	long v;

	if (json_object_is_type(j, json_type_int)) {
		int64_t x = json_object_get_int64(j);
		if (x < 0 || x > 65535)
			return fail(l, -EINVAL, where, "message type %" PRId64 " is out of range 0-65535", x);
		v = (long)x;
	} else if (json_object_is_type(j, json_type_string)) {
		s = json_object_get_string(j);
		f = named_find(nlmsg_common, ARRAY_SIZE(nlmsg_common), s);
		if (!f) {
			const struct sbc_entry *t;
			if (e->nprotos != 1 || e->protos[0].ns == PNS_IP)
				return fail(l, -EINVAL, where, "the message name \"%s\" needs exactly one netlink \"proto\" in "
				            "the same entry (message numbers mean different things under different "
				            "protocols)", s);
			t = nl_message_table(e->protos[0].v, &n);
			pname = named_name(netlink_protos, ARRAY_SIZE(netlink_protos), e->protos[0].v);
			if (!t)
				return fail(l, -EINVAL, where, "protocol %s has no message names here; give \"%s\" as a number",
				            pname ? pname : "of this entry", s);
			f = named_find(t, n, s);
			if (!f)
				return fail(l, -EINVAL, where, "unknown message \"%s\" for %s", s, pname);
		}
		v = f->value;
	} else {
		return fail(l, -EINVAL, where, "a message is a name or a number, not %s", jtype(j));
	}
	if (push_long(&e->message, v) < 0)
		return fail(l, -ENOMEM, where, "out of memory");
	return 0;
}

/* "1234" -> 1234 in 0..65535, the whole string. */
static int port_num(const char *s, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (s == end || end - s > 5)
		return -EINVAL;
	for (; s < end; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > 65535)
		return -ERANGE;
	*out = v;
	return 0;
}

static int item_port(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	struct prange pr, *n;

	if (json_object_is_type(j, json_type_int)) {
		int64_t v = json_object_get_int64(j);
		if (v < 0 || v > 65535)
			return fail(l, -EINVAL, where, "port %" PRId64 " is out of range 0-65535", v);
		pr.lo = pr.hi = (unsigned)v;
	} else if (json_object_is_type(j, json_type_string)) {
		const char *s = json_object_get_string(j), *dash = strchr(s, '-');
		int r;
		if (dash) {
			r = port_num(s, dash, &pr.lo);
			if (r == 0)
				r = port_num(dash + 1, s + strlen(s), &pr.hi);
		} else {
			r = port_num(s, s + strlen(s), &pr.lo);
			pr.hi = pr.lo;
		}
		if (r == -ERANGE)
			return fail(l, -EINVAL, where, "port range \"%s\" is out of range 0-65535", s);
		if (r < 0)
			return fail(l, -EINVAL, where, "\"%s\" is not a port or a \"lo-hi\" range", s);
		if (pr.lo > pr.hi)
			return fail(l, -EINVAL, where, "port range \"%s\" is empty (lo > hi)", s);
	} else {
		return fail(l, -EINVAL, where, "a port is a number or a \"lo-hi\" string, not %s", jtype(j));
	}
	n = realloc(e->ports, (e->nports + 1) * sizeof(*n));
	if (!n)
		return fail(l, -ENOMEM, where, "out of memory");
	n[e->nports++] = pr;
	e->ports = n;
	return 0;
}

static void mask_prefix(unsigned char *a, int bytes, int prefix)
{
	for (int i = 0; i < bytes; i++) {
		int keep = prefix - i * 8;
		if (keep >= 8)
			continue;
		a[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

/* "10.0.0.0/8", "::1/128", or an address alone (the whole address). Host bits
 * beyond the prefix are cleared, as ip(8) does. */
static int item_cidr(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	struct cidr c = { 0 }, *n;
	char buf[INET6_ADDRSTRLEN + 8];
	const char *s;
	char *slash;
	int max;

	if (!json_object_is_type(j, json_type_string))
		return fail(l, -EINVAL, where, "an address is a CIDR string like \"10.0.0.0/8\", not %s", jtype(j));
	s = json_object_get_string(j);
	if (strlen(s) >= sizeof(buf))
		return fail(l, -EINVAL, where, "\"%.60s...\" is not a CIDR", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, c.addr) == 1) {
		c.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
		c.family = AF_INET6;
		max = 128;
	} else {
		return fail(l, -EINVAL, where, "\"%s\" is not an IPv4 or IPv6 address", s);
	}
	c.prefix = max;
	if (slash) {
		unsigned v;
		if (port_num(slash + 1, slash + 1 + strlen(slash + 1), &v) < 0 || v > (unsigned)max)
			return fail(l, -EINVAL, where, "\"%s\": the prefix length must be 0-%d", s, max);
		c.prefix = (int)v;
	}
	mask_prefix(c.addr, max / 8, c.prefix);
	n = realloc(e->cidrs, (e->ncidrs + 1) * sizeof(*n));
	if (!n)
		return fail(l, -ENOMEM, where, "out of memory");
	n[e->ncidrs++] = c;
	e->cidrs = n;
	return 0;
}

/* A host name or "*.domain": letters, digits, '-', '_' and dots, at most 253
 * characters, '*' only as a whole first label. Stored lower-case. */
static int item_host(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	char buf[256];
	const char *s;
	size_t len;

	if (!json_object_is_type(j, json_type_string))
		return fail(l, -EINVAL, where, "a host is a name string, not %s", jtype(j));
	s = json_object_get_string(j);
	len = strlen(s);
	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return fail(l, -EINVAL, where, "\"%.64s\" is not a host name", s);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '*' && i == 0 && len > 2 && s[1] == '.')
			;
		else if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
			return fail(l, -EINVAL, where, "\"%s\" is not a host name (\"*.\" only at the start)", s);
		buf[i] = (char)tolower(ch);
	}
	buf[len] = '\0';
	if (strstr(buf, "..") || buf[0] == '.')
		return fail(l, -EINVAL, where, "\"%s\" has an empty label", s);
	if (push_str(&e->hosts, &e->nhosts, buf) < 0)
		return fail(l, -ENOMEM, where, "out of memory");
	return 0;
}

/* The bytes of sun_path: the longest AF_UNIX address there is. */
#define UNIX_PATH_BYTES 108

/* An AF_UNIX address selector: "" (the unnamed or autobind address), an
 * abstract name "@name" (printable bytes; globs allowed), or an absolute
 * path: exact, a prefix ending in "/", or a glob. Paths are compared as
 * written, so one with "." or ".." components or "//" could never match
 * what the daemon asks about (it refuses such paths) and is refused here. */
static int item_path(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	const char *s;
	size_t len;

	if (!json_object_is_type(j, json_type_string))
		return fail(l, -EINVAL, where, "a path is a string (\"/run/app.sock\", \"/run/app/\", \"@name\" or \"\"), not %s",
		            jtype(j));
	s = json_object_get_string(j);
	len = (size_t)json_object_get_string_len(j);
	if (strlen(s) != len)
		return fail(l, -EINVAL, where, "a path cannot contain NUL");
	if (len > UNIX_PATH_BYTES)
		return fail(l, -EINVAL, where, "\"%.40s...\" is longer than %d bytes (sun_path)", s, UNIX_PATH_BYTES);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(l, -EINVAL, where, "a path cannot contain control characters");
	if (s[0] == '@') {
		if (len == 1)
			return fail(l, -EINVAL, where, "\"@\" names no abstract address; write \"@name\"");
		for (size_t i = 1; i < len; i++)
			if ((unsigned char)s[i] > 0x7e)
				return fail(l, -EINVAL, where, "an abstract name is printable ASCII (the daemon refuses others)");
	} else if (s[0] == '/') {
		/* Each component between slashes: not empty (but for the final one
		 * of a prefix), not "." or "..". */
		for (const char *c = s + 1;;) {
			size_t cl = strcspn(c, "/");
			if (cl == 0 && c[0] == '/')
				return fail(l, -EINVAL, where, "\"%s\" has \"//\"; write each path in its one canonical form", s);
			if ((cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
				return fail(l, -EINVAL, where, "\"%s\" has a \".\" or \"..\" component; write the path it means", s);
			if (!c[cl])
				break;
			c += cl + 1;
		}
	} else if (len) {
		return fail(l, -EINVAL, where, "\"%s\" is neither an absolute path (\"/...\") nor an abstract name (\"@...\")", s);
	}
	if (push_str(&e->paths, &e->npaths, s) < 0)
		return fail(l, -ENOMEM, where, "out of memory");
	return 0;
}

/* Option names carry their level in their prefix; these are the tables. */
static const struct {
	enum sbc_kind kind;
	long level;
} opt_tables[] = {
	{ SBC_SO, SOL_SOCKET }, { SBC_IP, IPPROTO_IP }, { SBC_IPV6, IPPROTO_IPV6 }, { SBC_TCP, IPPROTO_TCP },
	{ SBC_NETLINK, SOL_NETLINK },
};

/* setsockopt options: a name (its level from the name's table, restricted to
 * the entry's levels when given) or a number (needs the entry's levels). */
static int item_option(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	struct optsel found[ARRAY_SIZE(opt_tables) + 64];
	size_t nfound = 0;
	struct optsel *n;

	if (json_object_is_type(j, json_type_int)) {
		int64_t v = json_object_get_int64(j);
		if (v < 0 || v > INT_MAX)
			return fail(l, -EINVAL, where, "option %" PRId64 " is out of range", v);
		if (e->level.n == 0)
			return fail(l, -EINVAL, where, "a numeric option needs \"level\" in the same entry");
		if (e->level.n > 64)
			return fail(l, -E2BIG, where, "a numeric option takes at most 64 levels");
		for (size_t i = 0; i < e->level.n && nfound < ARRAY_SIZE(found); i++)
			found[nfound++] = (struct optsel){ e->level.v[i], (long)v };
	} else if (json_object_is_type(j, json_type_string)) {
		const char *s = json_object_get_string(j);
		for (size_t t = 0; t < ARRAY_SIZE(opt_tables); t++) {
			long v;
			bool level_ok = e->level.n == 0;
			for (size_t i = 0; i < e->level.n; i++)
				level_ok |= e->level.v[i] == opt_tables[t].level;
			if (level_ok && sbc_value(opt_tables[t].kind, s, &v) == 0)
				found[nfound++] = (struct optsel){ opt_tables[t].level, v };
		}
		if (nfound == 0)
			return fail(l, -EINVAL, where, "unknown option \"%s\"%s", s,
			            e->level.n ? " at the entry's level" : "");
	} else {
		return fail(l, -EINVAL, where, "an option is a name or a number, not %s", jtype(j));
	}
	n = realloc(e->options, (e->noptions + nfound) * sizeof(*n));
	if (!n)
		return fail(l, -ENOMEM, where, "out of memory");
	memcpy(n + e->noptions, found, nfound * sizeof(*n));
	e->noptions += nfound;
	e->options = n;
	return 0;
}

/* ---- the user and group databases ---- */

/* getpwnam_r/getpwuid_r/getgrnam_r want a buffer whose size only a retry
 * tells; it is bounded. */
#define NSS_BUF_MAX (1 << 20)

int policy_lookup_user(const char *name, uid_t uid, struct passwd *pw, char **buf)
{
	size_t len = 4096;

	for (;;) {
		struct passwd *res = NULL;
		char *b = realloc(*buf, len);
		int r;
		if (!b)
			return -ENOMEM;
		*buf = b;
		r = name ? getpwnam_r(name, pw, b, len, &res) : getpwuid_r(uid, pw, b, len, &res);
		if (r == ERANGE && len < NSS_BUF_MAX) {
			len *= 2;
			continue;
		}
		if (r)
			return -r;
		return res ? 0 : -ENOENT;
	}
}

int policy_lookup_group(const char *name, gid_t *gid)
{
	size_t len = 4096;
	char *buf = NULL;

	for (;;) {
		struct group gr, *res = NULL;
		char *b = realloc(buf, len);
		int r;
		if (!b) {
			free(buf);
			return -ENOMEM;
		}
		buf = b;
		r = getgrnam_r(name, &gr, buf, len, &res);
		if (r == ERANGE && len < NSS_BUF_MAX) {
			len *= 2;
			continue;
		}
		if (!r && res)
			*gid = gr.gr_gid;
		free(buf);
		return r ? -r : res ? 0 : -ENOENT;
	}
}

/* ---- match ---- */

struct id_ctx {
	struct cond *c;
	bool by_name;
	struct rule *rule;
};

/* A name the user or group database does not hold (yet): recorded for the
 * load-time warning, matching nobody. */
static int unknown_name(struct ld *l, struct rule *rule, const char *where, const char *what, const char *name)
{
	char s[300];

	snprintf(s, sizeof(s), "%s \"%.200s\"", what, name);
	if (push_str(&rule->unknown, &rule->nunknown, s) < 0)
		return fail(l, -ENOMEM, where, "out of memory");
	return 0;
}

/* user/group names (resolved now, never per request) or uid/gid numbers. */
static int item_user(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct id_ctx *ctx = vctx;
	struct cond *c = ctx->c;
	struct passwd pw;
	_cleanup_free_ char *buf = NULL;
	long *n;
	long id;
	int r;

	if (!ctx->by_name) {
		if (!json_object_is_type(j, json_type_int))
			return fail(l, -EINVAL, where, "a uid/gid is a number, not %s (use \"user\"/\"group\" for names)",
			            jtype(j));
		int64_t v = json_object_get_int64(j);
		if (v < 0 || v >= (int64_t)UINT32_MAX)
			return fail(l, -EINVAL, where, "id %" PRId64 " is out of range", v);
		id = (long)v;
	} else {
		const char *s;
		if (!json_object_is_type(j, json_type_string))
			return fail(l, -EINVAL, where, "a user/group is a name, not %s (use \"uid\"/\"gid\" for numbers)",
			            jtype(j));
		s = json_object_get_string(j);
		if (c->kind == C_GID) {
			gid_t gid;
			r = policy_lookup_group(s, &gid);
			if (r == -ENOMEM)
				return fail(l, r, where, "out of memory");
			/* A group a package creates later: matches nobody until a reload finds it. */
			if (r == -ENOENT)
				return unknown_name(l, ctx->rule, where, "group", s);
			if (r < 0)
				return fail(l, -EINVAL, where, "unknown group \"%s\"%s%s", s, r != -ENOENT ? ": " : "",
				            r != -ENOENT ? strerror(-r) : "");
			id = (long)gid;
		} else {
			r = policy_lookup_user(s, 0, &pw, &buf);
			if (r == -ENOMEM)
				return fail(l, r, where, "out of memory");
			if (r == -ENOENT)
				return unknown_name(l, ctx->rule, where, "user", s);
			if (r < 0)
				return fail(l, -EINVAL, where, "unknown user \"%s\"%s%s", s, r != -ENOENT ? ": " : "",
				            r != -ENOENT ? strerror(-r) : "");
			id = (long)pw.pw_uid;
		}
	}
	n = realloc(c->ids, (c->n + 1) * sizeof(*n));
	if (!n)
		return fail(l, -ENOMEM, where, "out of memory");
	n[c->n++] = id;
	c->ids = n;
	return 0;
}

static int item_str(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct cond *c = vctx;
	const char *s;

	if (!json_object_is_type(j, json_type_string))
		return fail(l, -EINVAL, where, "expected a string, not %s", jtype(j));
	s = json_object_get_string(j);
	if (!s[0] || strlen(s) > 4096)
		return fail(l, -EINVAL, where, "expected a non-empty string of at most 4096 bytes");
	if ((c->kind == C_EXE || c->kind == C_CGROUP) && s[0] != '/')
		return fail(l, -EINVAL, where, "\"%s\" is not an absolute path", s);
	/* A longer name could never match: the token file refuses it. */
	if (c->kind == C_TOKEN && strlen(s) > POLICY_TOKEN_NAME_MAX)
		return fail(l, -EINVAL, where, "a token name is at most %d bytes", POLICY_TOKEN_NAME_MAX);
	if (push_str(&c->strs, &c->n, s) < 0)
		return fail(l, -ENOMEM, where, "out of memory");
	return 0;
}

static const struct {
	const char *name;
	enum cond_kind kind;
	bool by_name;
} match_members[] = {
	{ "user", C_UID, true }, { "uid", C_UID, false }, { "group", C_GID, true }, { "gid", C_GID, false },
	{ "exe", C_EXE, false }, { "unit", C_UNIT, false }, { "cgroup", C_CGROUP, false },
	{ "label", C_LABEL, false }, { "token", C_TOKEN, false },
};

static int parse_match(struct ld *l, struct rule *r, json_object *j, const char *where)
{
	char w[300];
	int ret;

	if (!json_object_is_type(j, json_type_object))
		return fail(l, -EINVAL, where, "\"match\" is an object, not %s", jtype(j));
	json_object_object_foreach(j, key, val) {
		size_t m;
		struct cond *c;
		PATHF(w, "%s.%s", where, key);
		for (m = 0; m < ARRAY_SIZE(match_members); m++)
			if (!strcmp(key, match_members[m].name))
				break;
		if (m == ARRAY_SIZE(match_members))
			return fail(l, -EINVAL, w, "unknown member \"%s\" (match takes user, uid, group, gid, exe, unit, cgroup, label, token)",
			            key);
		c = &r->conds[r->nconds++];
		c->kind = match_members[m].kind;
		if (c->kind == C_UID || c->kind == C_GID) {
			struct id_ctx ctx = { c, match_members[m].by_name, r };
			ret = each_item(l, val, w, item_user, &ctx);
		} else {
			ret = each_item(l, val, w, item_str, c);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* A held-socket name selector: an exact name or a glob (fnmatch: "web-*",
 * "app.[0-9]"), 1 to 200 bytes; a '/' could never match a held name. */
static int item_name(struct ld *l, json_object *j, const char *where, void *vctx)
{
	struct entry *e = vctx;
	const char *s;
	size_t len;

	if (!json_object_is_type(j, json_type_string))
		return fail(l, -EINVAL, where, "a name is a string (\"web\", \"web-*\"), not %s", jtype(j));
	s = json_object_get_string(j);
	len = (size_t)json_object_get_string_len(j);
	if (len == 0 || len > 200)
		return fail(l, -EINVAL, where, "a held-socket name selector is 1 to 200 bytes");
	if (strlen(s) != len)
		return fail(l, -EINVAL, where, "a name cannot contain NUL");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
			return fail(l, -EINVAL, where, "a held-socket name cannot contain '/' or control characters");
	if (push_str(&e->names, &e->nnames, s) < 0)
		return fail(l, -ENOMEM, where, "out of memory");
	return 0;
}

/* ---- entries ---- */

static const struct {
	const char *name;
	unsigned bit;
} selector_members[] = {
	{ "family", S_FAMILY }, { "type", S_TYPE }, { "proto", S_PROTO }, { "address", S_ADDRESS },
	{ "port", S_PORT }, { "host", S_HOST }, { "level", S_LEVEL }, { "option", S_OPTION },
	{ "message", S_MESSAGE }, { "path", S_PATH }, { "name", S_NAME },
};

static int parse_entry(struct ld *l, struct entry *e, json_object *j, const char *where)
{
	json_object *ja, *v;
	char w[300];
	const char *an;
	int r = 0;

	if (!json_object_is_type(j, json_type_object))
		return fail(l, -EINVAL, where, "an entry is an object, not %s", jtype(j));
	PATHF(w, "%s.action", where);
	if (!json_object_object_get_ex(j, "action", &ja))
		return fail(l, -EINVAL, where, "\"action\" is missing");
	if (!json_object_is_type(ja, json_type_string))
		return fail(l, -EINVAL, w, "\"action\" is a string, not %s", jtype(ja));
	an = json_object_get_string(ja);
	for (e->action = 0; e->action < POLICY_ACTION_MAX; e->action++)
		if (!strcmp(an, action_names[e->action]))
			break;
	if (e->action == POLICY_ACTION_MAX)
		return fail(l, -EINVAL, w, "unknown action \"%s\" (create, bind, connect, listen, send, setsockopt, adopt, resolve, sethostname, admin, http_rpc, hold, retrieve)",
		            an);
	json_object_object_foreach(j, key, val) {
		size_t s;
		if (!strcmp(key, "action"))
			continue;
		PATHF(w, "%s.%s", where, key);
		for (s = 0; s < ARRAY_SIZE(selector_members); s++)
			if (!strcmp(key, selector_members[s].name))
				break;
		if (s == ARRAY_SIZE(selector_members))
			return fail(l, -EINVAL, w, "unknown member \"%s\"", key);
		if (!(action_selectors[e->action] & selector_members[s].bit))
			return fail(l, -EINVAL, w, "action \"%s\" takes no \"%s\"", an, key);
	}
	/* In a fixed order: "option" needs "level" parsed first. */
#define SEL(name) (PATHF(w, "%s.%s", where, name), json_object_object_get_ex(j, name, &v))
	if (SEL("family"))
		r = parse_const(l, v, w, SBC_AF, "family", &e->family);
	if (r == 0 && SEL("type"))
		r = parse_const(l, v, w, SBC_SOCK, "socket type", &e->type);
	if (r == 0 && SEL("proto"))
		r = each_item(l, v, w, item_proto, e);
	if (r == 0 && SEL("address"))
		r = each_item(l, v, w, item_cidr, e);
	if (r == 0 && SEL("port"))
		r = each_item(l, v, w, item_port, e);
	if (r == 0 && SEL("host"))
		r = each_item(l, v, w, item_host, e);
	if (r == 0 && SEL("level"))
		r = parse_const(l, v, w, SBC_SOL, "option level", &e->level);
	if (r == 0 && SEL("option"))
		r = each_item(l, v, w, item_option, e);
	if (r == 0 && SEL("path")) {
		/* A UNIX address has no IP address, port or host name: an entry with
		 * both could never cover anything, which is surely not what was meant. */
		if (e->ncidrs || e->nports || e->nhosts)
			return fail(l, -EINVAL, w, "\"path\" is for AF_UNIX addresses; it cannot go with \"%s\" in one entry",
			            e->ncidrs ? "address" : e->nports ? "port" : "host");
		if (e->family.n && !has_long(e->family.v, e->family.n, AF_UNIX))
			return fail(l, -EINVAL, w, "\"path\" is for AF_UNIX sockets; the entry's family excludes them");
		r = each_item(l, v, w, item_path, e);
	}
	if (r == 0 && SEL("name"))
		r = each_item(l, v, w, item_name, e);
	/* "message" needs "proto" parsed first. */
	if (r == 0 && SEL("message")) {
		if (e->family.n && !has_long(e->family.v, e->family.n, AF_NETLINK))
			return fail(l, -EINVAL, w, "\"message\" is for AF_NETLINK sockets; the entry's family excludes them");
		r = each_item(l, v, w, item_message, e);
	}
#undef SEL
	return r;
}

static int parse_entries(struct ld *l, json_object *j, const char *where, struct entry **out, size_t *nout,
                         size_t *total)
{
	char w[300];
	size_t n;
	int r;

	if (!json_object_is_type(j, json_type_array))
		return fail(l, -EINVAL, where, "expected a list of entries, not %s", jtype(j));
	n = json_object_array_length(j);
	*total += n;
	if (*total > POLICY_MAX_ENTRIES)
		return fail(l, -E2BIG, where, "a rule holds at most %d entries", POLICY_MAX_ENTRIES);
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return fail(l, -ENOMEM, where, "out of memory");
	for (size_t i = 0; i < n; i++) {
		PATHF(w, "%s[%zu]", where, i);
		(*nout)++;
		r = parse_entry(l, &(*out)[i], json_object_array_get_idx(j, i), w);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- limits ---- */

static int parse_limits(struct ld *l, json_object *j, const char *where, struct policy_limits *out)
{
	char w[300];

	if (!json_object_is_type(j, json_type_object))
		return fail(l, -EINVAL, where, "\"limits\" is an object, not %s", jtype(j));
	json_object_object_foreach(j, key, val) {
		long *slot;
		int64_t v;
		PATHF(w, "%s.%s", where, key);
		if (!strcmp(key, "handles"))
			slot = &out->handles;
		else if (!strcmp(key, "connections"))
			slot = &out->connections;
		else if (!strcmp(key, "pending"))
			slot = &out->pending;
		else
			return fail(l, -EINVAL, w, "unknown member \"%s\" (limits are handles, connections, pending)", key);
		if (!json_object_is_type(val, json_type_int))
			return fail(l, -EINVAL, w, "a limit is a number, not %s", jtype(val));
		v = json_object_get_int64(val);
		/* pending counts the request being decided, so 0 would lock a
		 * connection out of introspection too; handles or connections 0
		 * is a deliberate ban. */
		if (v < (slot == &out->pending) || v > POLICY_MAX_LIMIT)
			return fail(l, -EINVAL, w, "%" PRId64 " is out of range %d-%d", v, slot == &out->pending,
			            POLICY_MAX_LIMIT);
		*slot = (long)v;
	}
	return 0;
}

/* ---- rules and files ---- */

/* Appends an empty rule (owned by the policy from now on, so a failure later
 * in the rule frees it with the rest). */
static int rule_new(struct ld *l, const char *where, struct rule **out)
{
	struct policy *p = l->p;
	struct rule *r;

	if (p->nrules >= POLICY_MAX_RULES)
		return fail(l, -E2BIG, where, "more than %d rules in all", POLICY_MAX_RULES);
	if (p->nrules == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct rule *n = realloc(p->rules, cap * sizeof(*n));
		if (!n)
			return fail(l, -ENOMEM, where, "out of memory");
		p->rules = n;
		p->cap = cap;
	}
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	r->limits = (struct policy_limits){ -1, -1, -1 };
	*out = r;
	return 0;
}

static int parse_rule(struct ld *l, json_object *j, const char *where)
{
	struct rule *r = NULL;
	json_object *v;
	char w[300];
	size_t total = 0;
	int ret;

	if (!json_object_is_type(j, json_type_object))
		return fail(l, -EINVAL, where, "a rule is an object, not %s", jtype(j));
	json_object_object_foreach(j, key, val) {
		(void)val;
		if (strcmp(key, "name") && strcmp(key, "match") && strcmp(key, "allow") && strcmp(key, "deny") &&
		    strcmp(key, "limits")) {
			PATHF(w, "%s.%s", where, key);
			return fail(l, -EINVAL, w, "unknown member \"%s\" (a rule has name, match, allow, deny, limits)", key);
		}
	}
	ret = rule_new(l, where, &r);
	if (ret < 0)
		return ret;
	r->json = json_object_get(j);
	r->file = l->file ? strdup(l->file) : NULL;
	if (l->file && !r->file)
		return fail(l, -ENOMEM, where, "out of memory");
	PATHF(w, "%s.name", where);
	if (!json_object_object_get_ex(j, "name", &v))
		return fail(l, -EINVAL, where, "\"name\" is missing (decisions and audit lines cite it)");
	if (!json_object_is_type(v, json_type_string))
		return fail(l, -EINVAL, w, "\"name\" is a string, not %s", jtype(v));
	if (!json_object_get_string(v)[0] || json_object_get_string_len(v) > 200)
		return fail(l, -EINVAL, w, "\"name\" must be 1-200 bytes");
	for (size_t i = 0; i + 1 < l->p->nrules; i++)
		if (strcmp(l->p->rules[i].name, json_object_get_string(v)) == 0)
			return fail(l, -EINVAL, w, "another rule is named \"%.200s\" already; names must be unique "
			            "(errors, audit lines and counters cite them)", json_object_get_string(v));
	r->name = strdup(json_object_get_string(v));
	if (!r->name)
		return fail(l, -ENOMEM, w, "out of memory");
	/* Required so that a forgotten match is not read as "everyone". */
	PATHF(w, "%s.match", where);
	if (!json_object_object_get_ex(j, "match", &v))
		return fail(l, -EINVAL, where, "\"match\" is missing (write {} to match everyone)");
	ret = parse_match(l, r, v, w);
	if (ret < 0)
		return ret;
	if (json_object_object_get_ex(j, "allow", &v)) {
		PATHF(w, "%s.allow", where);
		ret = parse_entries(l, v, w, &r->allow, &r->nallow, &total);
		if (ret < 0)
			return ret;
	}
	if (json_object_object_get_ex(j, "deny", &v)) {
		PATHF(w, "%s.deny", where);
		ret = parse_entries(l, v, w, &r->deny, &r->ndeny, &total);
		if (ret < 0)
			return ret;
		/* Host pinning judges names only when the daemon resolves them: a
		 * client that connects to the address itself would pass such a
		 * deny unseen, so it is refused rather than trusted. */
		for (size_t k = 0; k < r->ndeny; k++)
			if (r->deny[k].action == POLICY_CONNECT && r->deny[k].nhosts) {
				PATHF(w, "%s.deny[%zu].host", where, k);
				return fail(l, -EINVAL, w, "a connect deny cannot name hosts: connecting to the address "
				            "itself would pass it; deny the addresses (\"address\") instead");
			}
	}
	if (json_object_object_get_ex(j, "limits", &v)) {
		PATHF(w, "%s.limits", where);
		ret = parse_limits(l, v, w, &r->limits);
		if (ret < 0)
			return ret;
	} else if (total == 0) {
		return fail(l, -EINVAL, where, "rule \"%s\" has no allow, deny or limits: it does nothing", r->name);
	}
	return 0;
}

static int parse_top(struct ld *l, json_object *top)
{
	json_object *v, *rules;
	char w[64];
	size_t n;
	int r;

	if (!json_object_is_type(top, json_type_object))
		return fail(l, -EINVAL, "", "the policy is an object, not %s", jtype(top));
	json_object_object_foreach(top, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "limits") && strcmp(key, "rules"))
			return fail(l, -EINVAL, key, "unknown member \"%s\" (a policy has version, limits, rules)", key);
	}
	if (!json_object_object_get_ex(top, "version", &v))
		return fail(l, -EINVAL, "", "\"version\" is missing (this daemon reads version 1)");
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1)
		return fail(l, -EINVAL, "version", "unsupported version %s (this daemon reads version 1)",
		            json_object_to_json_string(v));
	if (json_object_object_get_ex(top, "limits", &v)) {
		r = parse_limits(l, v, "limits", &l->p->limits);
		if (r < 0)
			return r;
	}
	if (!json_object_object_get_ex(top, "rules", &rules))
		return fail(l, -EINVAL, "", "\"rules\" is missing");
	if (!json_object_is_type(rules, json_type_array))
		return fail(l, -EINVAL, "rules", "\"rules\" is a list, not %s", jtype(rules));
	n = json_object_array_length(rules);
	/* An empty list is almost surely a mistake (a file emptied by accident
	 * would otherwise silently deny, or with no other file fall back to
	 * nothing); say so. */
	if (n == 0)
		return fail(l, -EINVAL, "rules", "the rules list is empty");
	for (size_t i = 0; i < n; i++) {
		PATHF(w, "rules[%zu]", i);
		r = parse_rule(l, json_object_array_get_idx(rules, i), w);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Sets err's position from a byte offset into buf. */
static void locate(struct policy_error *err, const char *buf, size_t off)
{
	int line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {   /* count characters, not UTF-8 bytes */
			col++;
		}
	}
	err->line = line;
	err->column = col;
	err_fill(err);
}

/* ---- positions of semantic errors ----
 * json-c keeps no positions in its objects, so after a value-level error the
 * JSON path is walked again over the text (which parsed, so this scanner can
 * be small) to find the line and column of the member it names. */

static size_t skip_ws(const char *b, size_t len, size_t i)
{
	while (i < len && isspace((unsigned char)b[i]))
		i++;
	return i;
}

static size_t skip_string(const char *b, size_t len, size_t i)
{
	for (i++; i < len && b[i] != '"'; i++)
		if (b[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

/* Index just after the value starting at i. */
static size_t skip_value(const char *b, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		char ch = b[i];
		if (ch == '"') {
			i = skip_string(b, len, i);
			if (depth == 0)
				return i;
			continue;
		}
		if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (ch == ',' || isspace((unsigned char)ch))) {
			return i;
		}
		i++;
	}
	return len;
}

/* Byte offset of what path ("rules[2].allow[0].port") names: the member's key
 * for an object member, the value for an array item; SIZE_MAX if not found. */
static size_t find_path(const char *b, size_t len, const char *path)
{
	size_t i = skip_ws(b, len, 0), at = i;
	const char *p = path;

	while (*p) {
		if (*p == '[') {
			char *end;
			unsigned long idx = strtoul(p + 1, &end, 10);
			if (*end != ']' || i >= len || b[i] != '[')
				return SIZE_MAX;
			p = end + 1;
			i = skip_ws(b, len, i + 1);
			for (unsigned long k = 0; k < idx; k++) {
				i = skip_ws(b, len, skip_value(b, len, i));
				if (i >= len || b[i] != ',')
					return SIZE_MAX;
				i = skip_ws(b, len, i + 1);
			}
			at = i;
		} else {
			size_t klen, found = SIZE_MAX, vfound = 0;
			if (*p == '.')
				p++;
			klen = strcspn(p, ".[");
			if (i >= len || b[i] != '{')
				return SIZE_MAX;
			i = skip_ws(b, len, i + 1);
			while (i < len && b[i] == '"') {
				size_t kstart = i, kend = skip_string(b, len, i);
				i = skip_ws(b, len, kend);
				if (i >= len || b[i] != ':')
					return SIZE_MAX;
				i = skip_ws(b, len, i + 1);
				/* the last of duplicate keys, as json-c keeps the last */
				if (kend - kstart - 2 == klen && !memcmp(b + kstart + 1, p, klen)) {
					found = kstart;
					vfound = i;
				}
				i = skip_ws(b, len, skip_value(b, len, i));
				if (i < len && b[i] == ',')
					i = skip_ws(b, len, i + 1);
				else
					break;
			}
			if (found == SIZE_MAX)
				return SIZE_MAX;
			p += klen;
			at = found;
			i = vfound;
		}
	}
	return at;
}

struct span {
	const char *s;
	size_t len;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	int c = memcmp(x->s, y->s, SB_MIN(x->len, y->len));

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Recursion is bounded: the text parsed with the tokener's depth limit.
 * json-c keeps only the last of duplicate members, which would silently drop
 * e.g. a first "allow" list: find the first duplicate key in the (valid)
 * text, comparing keys as written. Sets *at to its offset; advances *i past
 * the value at *i. -ENOMEM, 1 when found, 0 otherwise. */
static int find_dup(const char *b, size_t len, size_t *i, size_t *at)
{
	struct span *keys = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	bool obj;

	*i = skip_ws(b, len, *i);
	if (*i >= len || (b[*i] != '{' && b[*i] != '[')) {
		*i = skip_value(b, len, *i);
		return 0;
	}
	obj = b[*i] == '{';
	*i = skip_ws(b, len, *i + 1);
	while (*i < len && b[*i] != '}' && b[*i] != ']') {
		if (obj) {
			size_t kend = skip_string(b, len, *i);
			if (n == cap) {
				struct span *nk = realloc(keys, (cap = cap ? cap * 2 : 16) * sizeof(*nk));
				if (!nk) {
					r = -ENOMEM;
					goto out;
				}
				keys = nk;
			}
			keys[n++] = (struct span){ b + *i, kend - *i };
			*i = skip_ws(b, len, kend) + 1;   /* past ':' */
		}
		r = find_dup(b, len, i, at);
		if (r)
			goto out;
		*i = skip_ws(b, len, *i);
		if (*i < len && b[*i] == ',')
			*i = skip_ws(b, len, *i + 1);
	}
	*i = *i < len ? *i + 1 : len;
	if (n > 1) {
		qsort(keys, n, sizeof(*keys), cmp_span);
		for (size_t k = 1; k < n; k++)
			if (!cmp_span(&keys[k - 1], &keys[k])) {
				/* the later of the two in the text */
				*at = (size_t)(SB_MAX(keys[k - 1].s, keys[k].s) - b);
				r = 1;
				break;
			}
	}
out:
	free(keys);
	return r;
}

/* Where a "\u0000" escape sits inside a string of valid JSON text, or SIZE_MAX. */
static size_t find_nul_escape(const char *b, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (!in_string) {
			if (b[i] == '"')
				in_string = true;
			continue;
		}
		if (b[i] == '"') {
			in_string = false;
		} else if (b[i] == '\\' && i + 1 < len) {
			if (b[i + 1] == 'u' && i + 5 < len && memcmp(b + i + 2, "0000", 4) == 0)
				return i;
			i++;
		}
	}
	return SIZE_MAX;
}

/* The line (1-based) of byte offset off of buf. */
static int line_at(const char *buf, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

/* The strict syntax every file an administrator writes is held to: RFC 8259
 * JSON in UTF-8, nothing after it, no \\u0000, no duplicate member. *top
 * set, or -errno with the error's position. */
static int parse_json(struct ld *l, const char *buf, size_t len, json_object **out)
{
	json_object *top = NULL;
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	size_t end;
	int r;

	tok = json_tokener_new_ex(64);
	if (!tok)
		return fail(l, -ENOMEM, NULL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
	                            JSON_TOKENER_VALIDATE_UTF8);
	top = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!top) {
		if (jerr == json_tokener_continue || jerr == json_tokener_success)
			r = fail(l, -EINVAL, NULL, "unexpected end of file (the JSON is incomplete)");
		else
			r = fail(l, -EINVAL, NULL, "invalid JSON: %s", json_tokener_error_desc(jerr));
		if (l->err)
			locate(l->err, buf, end > len ? len : end);
		return r;
	}
	for (size_t i = end; i < len; i++)
		if (!isspace((unsigned char)buf[i])) {
			json_object_put(top);
			r = fail(l, -EINVAL, NULL, "text after the end of the JSON value");
			if (l->err)
				locate(l->err, buf, i);
			return r;
		}
	end = find_nul_escape(buf, len);
	if (end != SIZE_MAX) {
		/* json-c keeps the NUL, and every C string after it would be cut short. */
		json_object_put(top);
		r = fail(l, -EINVAL, NULL, "a string holds \\u0000; names, paths and labels cannot contain NUL");
		if (l->err)
			locate(l->err, buf, end);
		return r;
	}
	{
		size_t i = 0, at = 0;
		r = find_dup(buf, len, &i, &at);
		if (r < 0) {
			json_object_put(top);
			return fail(l, r, NULL, "out of memory");
		}
		if (r > 0) {
			const char *k = buf + at + 1;
			json_object_put(top);
			r = fail(l, -EINVAL, NULL, "duplicate member \"%.*s\" (only one of each is allowed)",
			         (int)SB_MIN(strcspn(k, "\""), 64), k);
			if (l->err)
				locate(l->err, buf, at);
			return r;
		}
	}
	*out = top;
	return 0;
}

static int parse_buffer(struct ld *l, const char *buf, size_t len)
{
	_cleanup_json_ json_object *top = NULL;
	int r = parse_json(l, buf, len, &top);
	size_t first = l->p->nrules;

	if (r < 0)
		return r;
	r = parse_top(l, top);
	if (r < 0 && l->err && l->err->line == 0) {
		size_t at = find_path(buf, len, l->err->at.path);
		if (at != SIZE_MAX)
			locate(l->err, buf, at);
	}
	/* Where each rule of this file starts, for policy.rules. */
	for (size_t k = first; r == 0 && k < l->p->nrules; k++) {
		char w[64];
		size_t at;

		PATHF(w, "rules[%zu]", k - first);
		at = find_path(buf, len, w);
		l->p->rules[k].line = at == SIZE_MAX ? 0 : line_at(buf, at);
	}
	return r;
}

/* A file holding secrets (ld.secret): no permission bit for group or others,
 * whoever runs the daemon, and owned by root or the daemon's user. */
static int check_secret(struct ld *l, const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return fail(l, -EPERM, NULL, "refused: it holds secrets and is owned by uid %u, neither root nor "
		            "the daemon's user", (unsigned)st->st_uid);
	if (st->st_mode & 077)
		return fail(l, -EPERM, NULL, "refused: it holds secrets and its mode %04o gives its group or others "
		            "access (chmod 0600)", (unsigned)(st->st_mode & 07777));
	return 0;
}

/* Refuses a file or directory a non-root user could change (strict_owner). */
static int check_owner(struct ld *l, const struct stat *st)
{
	if (!l->strict_owner)
		return 0;
	if (st->st_uid != 0)
		return fail(l, -EPERM, NULL, "refused: owned by uid %u, not root, while the daemon runs as root",
		            (unsigned)st->st_uid);
	if (st->st_mode & S_IWOTH)
		return fail(l, -EPERM, NULL, "refused: writable by every user (mode %04o)", (unsigned)(st->st_mode & 07777));
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
		return fail(l, -EPERM, NULL, "refused: writable by group %u (mode %04o)", (unsigned)st->st_gid,
		            (unsigned)(st->st_mode & 07777));
	return 0;
}

/* One directory above a policy file: whoever may write it may rename another
 * file (or directory, or symlink) over what is below. A sticky directory owned
 * by root (/tmp) lets nobody replace root's entries, so its other write bits
 * are fine. */
static int check_dir(struct ld *l, const char *dir)
{
	const char *saved = l->file;
	struct stat st;
	int r;

	if (stat(dir, &st) < 0)
		return fail(l, -errno, NULL, "cannot check the directory %s: %s", dir, strerror(errno));
	if ((st.st_mode & S_ISVTX) && st.st_uid == 0)
		return 0;
	l->file = dir;
	r = check_owner(l, &st);
	l->file = saved;
	return r;
}

static int check_dir_step(const char *dir, void *l)
{
	return check_dir(l, dir);
}

/* Every directory above the absolute path abs, up to /. */
static int check_ancestors(struct ld *l, const char *abs)
{
	int r = pathwalk_ancestors(abs, check_dir_step, l);

	if (r == -ENAMETOOLONG)
		return fail(l, r, NULL, "cannot check the directories above %s", abs);
	return r;
}

/* Where a policy file or directory (open as fd) sits: the directories above
 * the path as written (a writable one could swap a symlink on the way) and
 * above the object itself after every symlink (a writable one could swap it). */
static int check_location(struct ld *l, const char *path, int fd)
{
	char abs[PATH_MAX], real[PATH_MAX], proc[64];
	ssize_t n;
	int r;

	if (!l->strict_owner)
		return 0;
	if (path && pathwalk_absolute(path, abs, sizeof(abs)) < 0)
		return fail(l, -ENAMETOOLONG, NULL, "cannot check the directories above it");
	if (path && (r = check_ancestors(l, abs)) < 0)
		return r;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	if (n <= 0 || real[0] != '/')
		return fail(l, n < 0 ? -errno : -EIO, NULL, "cannot find where it really is (is /proc mounted?)");
	real[n] = '\0';
	return check_ancestors(l, real);
}

static int open_error(struct ld *l, int e)
{
	if (e == ELOOP)
		return fail(l, -ELOOP, NULL, "too many levels of symbolic links (a symlink loop?)");
	if (e == ENOENT)
		return fail(l, -ENOENT, NULL, "no such file");
	return fail(l, -e, NULL, "cannot open: %s", strerror(e));
}

/* Reads one open regular file whole (*buf malloc'd, NUL-terminated). */
static int read_fd(struct ld *l, int fd, char **out, size_t *outlen)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	if (fstat(fd, &st) < 0)
		return fail(l, -errno, NULL, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(l, -EINVAL, NULL, "not a regular file");
	r = check_owner(l, &st);
	if (r == 0 && l->secret)
		r = check_secret(l, &st);
	if (r < 0)
		return r;
	if (st.st_size > POLICY_MAX_FILE_SIZE)
		return fail(l, -EFBIG, NULL, "larger than %d bytes", POLICY_MAX_FILE_SIZE);
	buf = malloc(POLICY_MAX_FILE_SIZE + 1);
	if (!buf)
		return fail(l, -ENOMEM, NULL, "out of memory");
	/* Read until EOF, not st_size: the file may change under us; the bound
	 * still holds. */
	for (;;) {
		ssize_t n = read(fd, buf + len, POLICY_MAX_FILE_SIZE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(l, -errno, NULL, "cannot read: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > POLICY_MAX_FILE_SIZE)
			return fail(l, -EFBIG, NULL, "larger than %d bytes", POLICY_MAX_FILE_SIZE);
	}
	buf[len] = '\0';
	*out = TAKE_PTR(buf);
	*outlen = len;
	return 0;
}

/* Reads and parses one open regular file. */
static int load_fd(struct ld *l, int fd)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_fd(l, fd, &buf, &len);
	return r < 0 ? r : parse_buffer(l, buf, len);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.json of an open directory in byte order (not locale order, so
 * the order is the same for every reader). */
static int load_dir(struct ld *l, int dfd, const char *dirpath, int *nloaded)
{
	char **names = NULL;
	size_t n = 0;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int r = 0;

	l->file = dirpath;
	if (fstat(dfd, &st) < 0)
		return fail(l, -errno, NULL, "cannot stat: %s", strerror(errno));
	r = check_owner(l, &st);
	if (r < 0)
		return r;
	d = fdopendir(dfd);
	if (!d)
		return fail(l, -errno, NULL, "cannot read directory: %s", strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		if (n >= POLICY_MAX_FILES) {
			r = fail(l, -E2BIG, NULL, "more than %d policy files", POLICY_MAX_FILES);
			goto out;
		}
		if (push_str(&names, &n, de->d_name) < 0) {
			r = fail(l, -ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
	if (errno) {
		r = fail(l, -errno, NULL, "cannot read directory: %s", strerror(errno));
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096 + 256];
		int fd;
		snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);
		l->file = path;
		fd = openat(dirfd(d), names[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			r = open_error(l, errno);
			goto out;
		}
		/* A symlink in the directory may point anywhere: check there too. */
		r = check_location(l, NULL, fd);
		if (r == 0)
			r = load_fd(l, fd);
		close(fd);
		if (r < 0)
			goto out;
		(*nloaded)++;
	}
out:
	l->file = dirpath;
	strs_free(names, n);
	closedir(d);   /* closes dfd */
	return r;
}

/* A path: a file or a directory. optional: a missing path is not an error. */
static int load_path(struct ld *l, const char *path, bool optional, int *nloaded)
{
	struct stat st;
	int fd, r;

	l->file = path;
	/* O_NONBLOCK so a FIFO put in place of a file cannot hang the loader. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && optional)
			return 0;
		return open_error(l, errno);
	}
	if (fstat(fd, &st) < 0) {
		r = fail(l, -errno, NULL, "cannot stat: %s", strerror(errno));
		close(fd);
		return r;
	}
	/* The file's own owner first (the more direct reason), then its directory's. */
	r = S_ISREG(st.st_mode) ? check_owner(l, &st) : 0;
	if (r == 0)
		r = check_location(l, path, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode))
		return load_dir(l, fd, path, nloaded);   /* takes fd */
	r = load_fd(l, fd);
	close(fd);
	if (r == 0)
		(*nloaded)++;
	return r;
}

/* The embedded default rule written as a policy file would hold it. */
static int default_json(struct rule *r)
{
	json_object *o = json_object_new_object(), *m = json_object_new_object(), *uids = json_object_new_array(),
	            *allow = json_object_new_array();

	r->json = o;
	if (!o || !m || !uids || !allow) {
		json_object_put(m);
		json_object_put(uids);
		json_object_put(allow);
		return -ENOMEM;
	}
	json_object_object_add(o, "name", json_object_new_string(r->name));
	for (size_t i = 0; i < r->conds[0].n; i++)
		json_object_array_add(uids, json_object_new_int64(r->conds[0].ids[i]));
	json_object_object_add(m, "uid", uids);
	json_object_object_add(o, "match", m);
	for (int a = 0; a < POLICY_ACTION_MAX; a++) {
		json_object *e = json_object_new_object();

		if (!e)
			return -ENOMEM;
		json_object_object_add(e, "action", json_object_new_string(action_names[a]));
		json_object_array_add(allow, e);
	}
	json_object_object_add(o, "allow", allow);
	return 0;
}

/* The embedded default as ordinary rules: uid 0 and the daemon's own user may
 * take every action; others match no rule, so only introspection (which the
 * dispatcher lets through) remains. */
static int build_default(struct policy *p)
{
	struct rule *r;
	struct cond *c;

	p->rules = calloc(1, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	p->nrules = p->cap = 1;
	r = &p->rules[0];
	r->limits = (struct policy_limits){ -1, -1, -1 };
	r->name = strdup(POLICY_DEFAULT_RULE);
	r->allow = calloc(POLICY_ACTION_MAX, sizeof(*r->allow));
	c = &r->conds[r->nconds++];
	c->kind = C_UID;
	c->ids = calloc(2, sizeof(*c->ids));
	if (!r->name || !r->allow || !c->ids)
		return -ENOMEM;
	c->ids[0] = 0;
	c->ids[1] = (long)geteuid();
	c->n = c->ids[1] == 0 ? 1 : 2;
	for (int a = 0; a < POLICY_ACTION_MAX; a++) {
		r->allow[r->nallow].action = (enum policy_action)a;
		r->allow[r->nallow++].all_paths = true;
	}
	return default_json(r);
}

int policy_load(const char *path, bool strict_owner, struct policy **out, struct policy_error *err)
{
	struct policy *p;
	struct ld l = { .err = err, .strict_owner = strict_owner };
	int nloaded = 0, r;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(&l, -ENOMEM, NULL, "out of memory");
	p->limits = (struct policy_limits){ -1, -1, -1 };
	l.p = p;
	if (path) {
		r = load_path(&l, path, false, &nloaded);
	} else {
		r = load_path(&l, POLICY_DEFAULT_FILE, true, &nloaded);
		if (r == 0)
			r = load_path(&l, POLICY_DEFAULT_DIR, true, &nloaded);
	}
	if (r == 0 && nloaded == 0) {
		p->is_default = true;
		r = build_default(p);
		if (r < 0)
			fail(&l, r, NULL, "out of memory");
	}
	if (r < 0) {
		policy_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* ---- deciding ---- */

static bool cond_holds(const struct cond *c, const struct policy_subject *who)
{
	const char *s = NULL;

	switch (c->kind) {
	case C_UID:
		return has_long(c->ids, c->n, (long)who->uid);
	case C_GID:
		if (has_long(c->ids, c->n, (long)who->gid))
			return true;
		for (size_t i = 0; i < who->ngroups; i++)
			if (has_long(c->ids, c->n, (long)who->groups[i]))
				return true;
		return false;
	case C_EXE: s = who->exe; break;
	case C_UNIT: s = who->unit; break;
	case C_LABEL: s = who->label; break;
	case C_TOKEN: s = who->token; break;   /* NULL for every caller but an HTTP one with a token */
	case C_CGROUP:
		if (!who->cgroup)
			return false;
		/* A prefix at a path boundary: "/system.slice/a" is not under "/system.slice/ab". */
		for (size_t i = 0; i < c->n; i++) {
			size_t len = strlen(c->strs[i]);
			if (!strncmp(who->cgroup, c->strs[i], len) &&
			    (who->cgroup[len] == '\0' || who->cgroup[len] == '/' || c->strs[i][len - 1] == '/'))
				return true;
		}
		return false;
	default:
		return false;
	}
	if (!s)
		return false;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(s, c->strs[i]))
			return true;
	return false;
}

/* Why the member c names is unknown for who (policy_subject), or NULL when
 * it is known. */
static const char *cond_unknown(const struct cond *c, const struct policy_subject *who)
{
	switch (c->kind) {
	case C_EXE: return who->exe_unknown;
	case C_UNIT: return who->unit_unknown;
	case C_CGROUP: return who->cgroup_unknown;
	case C_LABEL: return who->label_unknown;
	default: return NULL;
	}
}

static const char *cond_name(enum cond_kind k)
{
	static const char *const names[C_MAX] = {
		[C_UID] = "uid", [C_GID] = "gid", [C_EXE] = "exe", [C_UNIT] = "unit", [C_CGROUP] = "cgroup",
		[C_LABEL] = "label", [C_TOKEN] = "token",
	};

	return (unsigned)k < C_MAX ? names[k] : "?";
}

enum match { MATCH_NO, MATCH_YES, MATCH_MAYBE };

/* Whether r's match holds for who. MATCH_MAYBE: every member whose value who
 * knows holds, and r names one that is unknown (*unknown, when not NULL: the
 * first such member). */
static enum match rule_match(const struct rule *r, const struct policy_subject *who, const struct cond **unknown)
{
	const struct cond *u = NULL;

	for (size_t i = 0; i < r->nconds; i++) {
		const struct cond *c = &r->conds[i];

		if (cond_unknown(c, who)) {
			if (!u)
				u = c;
		} else if (!cond_holds(c, who)) {
			return MATCH_NO;
		}
	}
	if (unknown)
		*unknown = u;
	return u ? MATCH_MAYBE : MATCH_YES;
}

static bool rule_matches(const struct rule *r, const struct policy_subject *who)
{
	return rule_match(r, who, NULL) == MATCH_YES;
}

static bool lsel_ok(const struct lsel *s, long v)
{
	return s->n == 0 || has_long(s->v, s->n, v);
}

static bool cidr_has(const struct cidr *c, int family, const unsigned char *a)
{
	unsigned char m[16];
	int bytes = family == AF_INET ? 4 : 16;

	if (c->family != family)
		return false;
	memcpy(m, a, (size_t)bytes);
	mask_prefix(m, bytes, c->prefix);
	return !memcmp(m, c->addr, (size_t)bytes);
}

/* Whether a v4 address lies in one of the entry's CIDRs: a v4 CIDR, or a v6
 * CIDR inside ::ffff:0:0/96 by the address's mapped form (so that a deny of
 * ::ffff:127.0.0.0/104 is not dodged by asking for 127.0.0.1). A wider v6
 * CIDR (::/0) does not cover v4 addresses. */
static bool cidrs_have_v4(const struct entry *e, const unsigned char *a4)
{
	unsigned char mapped[16] = { [10] = 0xff, [11] = 0xff };

	memcpy(mapped + 12, a4, 4);
	for (size_t i = 0; i < e->ncidrs; i++)
		if (cidr_has(&e->cidrs[i], AF_INET, a4) ||
		    (e->cidrs[i].prefix >= 96 && cidr_has(&e->cidrs[i], AF_INET6, mapped)))
			return true;
	return false;
}

static bool port_in(const struct entry *e, unsigned port)
{
	for (size_t i = 0; i < e->nports; i++)
		if (port >= e->ports[i].lo && port <= e->ports[i].hi)
			return true;
	return false;
}

static bool addr_ok(const struct entry *e, const struct policy_request *q)
{
	const struct sockaddr_storage *ss = &q->addr;
	unsigned char a[16];
	int family;
	unsigned port;

	if (!e->ncidrs && !e->nports)
		return true;
	if (!q->have_addr)
		return false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		family = AF_INET;
		memcpy(a, &in->sin_addr, 4);
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		family = AF_INET6;
		memcpy(a, &in6->sin6_addr, 16);
		port = ntohs(in6->sin6_port);
	} else {
		return false;
	}
	if (e->nports && !port_in(e, port))
		return false;
	if (e->ncidrs) {
		bool ok = false;
		/* policy_decide has made a v4-mapped address v4 already; this
		 * stays for any caller that did not. */
		if (family == AF_INET)
			return cidrs_have_v4(e, a);
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a) && cidrs_have_v4(e, a + 12))
			return true;
		for (size_t i = 0; i < e->ncidrs && !ok; i++)
			ok = cidr_has(&e->cidrs[i], AF_INET6, a);
		if (!ok)
			return false;
	}
	return true;
}

/* "*.example.com" covers names below example.com, not example.com itself. */
static bool host_ok(const struct entry *e, const char *host)
{
	char buf[256];
	size_t len;

	if (!e->nhosts)
		return true;
	if (!host)
		return false;
	len = strlen(host);
	if (len && host[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)host[i]);
	buf[len] = '\0';
	for (size_t i = 0; i < e->nhosts; i++) {
		const char *h = e->hosts[i];
		if (h[0] == '*') {
			size_t sl = strlen(h + 1);   /* ".example.com" */
			if (len > sl && !strcmp(buf + len - sl, h + 1))
				return true;
		} else if (!strcmp(buf, h)) {
			return true;
		}
	}
	return false;
}

/* Protocol 0 of an INET socket is judged as the protocol the kernel picks, so
 * that "proto": "IPPROTO_TCP" covers socket(AF_INET, SOCK_STREAM, 0) as it
 * covers an adopted TCP socket (whose SO_PROTOCOL says 6). */
static long effective_proto(const struct policy_request *q)
{
	int type = q->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (q->proto == 0 && (q->family == AF_INET || q->family == AF_INET6)) {
		if (type == SOCK_STREAM)
			return IPPROTO_TCP;
		if (type == SOCK_DGRAM)
			return IPPROTO_UDP;
	}
	return q->proto;
}

/* Whether the entry names protocol v for a socket of family: a name holds
 * only for its own families (NETLINK_* for AF_NETLINK, IPPROTO_* and the like
 * for the others), a number for all. */
static bool proto_has(const struct entry *e, long v, int family)
{
	for (size_t i = 0; i < e->nprotos; i++) {
		const struct psel *ps = &e->protos[i];
		if (ps->v == v && (ps->ns == PNS_NUMBER || (ps->ns == PNS_NETLINK) == (family == AF_NETLINK)))
			return true;
	}
	return false;
}

/* An entry's protocol 0 (IPPROTO_IP) means the default one, as in socket():
 * it covers TCP for an INET stream socket, however the request names it. */
static bool proto_ok(const struct entry *e, const struct policy_request *q)
{
	struct policy_request dflt = *q;
	long eff = effective_proto(q);

	if (!e->nprotos || proto_has(e, eff, q->family))
		return true;
	dflt.proto = 0;
	return effective_proto(&dflt) == eff && proto_has(e, 0, q->family);
}

/* A request path the daemon should have refused: relative, or not in its
 * one canonical form. No allow entry covers it, whatever its selectors. */
static bool path_canonical(const char *p)
{
	size_t len = strlen(p);

	if (len == 0 || p[0] == '@')
		return true;
	if (p[0] != '/')
		return false;
	if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
		return false;
	if ((len >= 2 && !strcmp(p + len - 2, "/.")) || (len >= 3 && !strcmp(p + len - 3, "/..")))
		return false;
	return len == 1 || p[len - 1] != '/';
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* Whether selector sel covers the (canonical) address p. */
static bool path_match(const char *sel, const char *p)
{
	size_t sl = strlen(sel), pl = strlen(p);
	char dir[UNIX_PATH_BYTES * 4 + 2];

	if (!sel[0] || !p[0])
		return !sel[0] && !p[0];
	if (sel[0] == '@')   /* not a path: '*' matches '/' too */
		return p[0] == '@' && (is_glob(sel) ? fnmatch(sel + 1, p + 1, 0) == 0 : !strcmp(sel, p));
	if (p[0] != '/')
		return false;
	if (sel[sl - 1] != '/')
		return is_glob(sel) ? fnmatch(sel, p, FNM_PATHNAME) == 0 : !strcmp(sel, p);
	/* A prefix covers what lies below it, not the directory itself. */
	if (!is_glob(sel))
		return pl > sl && !strncmp(p, sel, sl);
	/* A glob prefix ("/run/user/[0-9]*" and a final "/"): some leading
	 * directory of p matches it. */
	if (pl >= sizeof(dir))
		return false;
	for (size_t i = 1; i + 1 < pl; i++)
		if (p[i] == '/') {
			memcpy(dir, p, i + 1);
			dir[i + 1] = '\0';
			if (fnmatch(sel, dir, FNM_PATHNAME) == 0)
				return true;
		}
	return false;
}

/* The name selector: exact names or globs (fnmatch, as for paths); an
 * entry without one covers every name. */
static bool name_ok(const struct entry *e, const char *name)
{
	if (!e->nnames)
		return true;
	if (!name)
		return false;
	for (size_t i = 0; i < e->nnames; i++)
		if (fnmatch(e->names[i], name, 0) == 0)
			return true;
	return false;
}

/* Actions whose requests may carry an AF_UNIX address. */
static bool takes_path(enum policy_action a)
{
	return a == POLICY_BIND || a == POLICY_CONNECT || a == POLICY_LISTEN || a == POLICY_SEND;
}

/* The path selector against q (an action that takes paths). An allow entry
 * without one does not cover an AF_UNIX address (*needs_path is set then):
 * the daemon acts as root, and "connect anywhere" written for the network
 * must not open every socket file on the machine. A deny entry without one
 * covers every address. */
static bool path_ok(const struct entry *e, const struct policy_request *q, bool allow, bool *needs_path)
{
	if (e->all_paths)
		return true;
	if (!e->npaths) {
		if (allow && q->path) {
			if (needs_path)
				*needs_path = true;
			return false;
		}
		return true;
	}
	if (!q->path || (allow && !path_canonical(q->path)))
		return false;
	for (size_t i = 0; i < e->npaths; i++)
		if (path_match(e->paths[i], q->path))
			return true;
	return false;
}

/* Whether the entry's action covers q's. allow: the implied grants of allow
 * entries count: bind and connect entries grant create of their sockets,
 * and a bind entry grants listen on what it may bind, since that is what
 * binding a stream socket is for. */
static bool action_covers(const struct entry *e, const struct policy_request *q, bool allow)
{
	if (e->action == q->action)
		return true;
	if (!allow)
		return false;
	if (q->action == POLICY_CREATE && !q->explicit_create &&
	    (e->action == POLICY_BIND || e->action == POLICY_CONNECT))
		return !e->npaths || q->family == AF_UNIX;   /* a path grant is for UNIX sockets */
	return q->action == POLICY_LISTEN && e->action == POLICY_BIND;
}

/* Whether one entry covers a request. allow: an allow entry (with its
 * implied grants, and its path rule: see path_ok, which sets *needs_path
 * when that rule alone kept it from covering q). */
static bool entry_covers(const struct entry *e, const struct policy_request *q, bool allow, bool *needs_path)
{
	int type = q->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	bool ok;

	if (!action_covers(e, q, allow))
		return false;
	if (!lsel_ok(&e->family, q->family) || !lsel_ok(&e->type, type) || !proto_ok(e, q))
		return false;
	if (q->action == POLICY_CREATE)
		return true;
	switch (e->action) {
	case POLICY_BIND:
	case POLICY_LISTEN:
		ok = addr_ok(e, q);
		break;
	case POLICY_CONNECT:
		ok = host_ok(e, q->host) && addr_ok(e, q);
		break;
	case POLICY_SEND:
		/* message is read only for send requests (see policy.h) */
		ok = (!e->message.n || has_long(e->message.v, e->message.n, q->message)) && addr_ok(e, q);
		break;
	case POLICY_RESOLVE:
		return host_ok(e, q->host);
	case POLICY_HOLD:
	case POLICY_RETRIEVE:
		return name_ok(e, q->name);
	case POLICY_SETSOCKOPT:
		if (!lsel_ok(&e->level, q->level))
			return false;
		if (!e->noptions)
			return true;
		for (size_t i = 0; i < e->noptions; i++)
			if (e->options[i].level == q->level && e->options[i].option == q->option)
				return true;
		return false;
	default:
		return true;
	}
	return ok && path_ok(e, q, allow, needs_path);
}

/* The request as the kernel will carry it out, in j: an IPv4-mapped IPv6
 * address reaches the IPv4 host, so it is an AF_INET request for that
 * address (an AF_INET6-only entry must not cover it, a v4 deny must); and
 * Linux sends a connect or send to the unspecified address to the loopback
 * one. A bind to 0.0.0.0 or :: keeps its meaning, any local address. True
 * when j differs from q. */
static bool normalise(const struct policy_request *q, struct policy_request *j)
{
	bool dest = q->action == POLICY_CONNECT || q->action == POLICY_SEND;
	bool changed = false;

	*j = *q;
	if (!q->have_addr || !(dest || q->action == POLICY_BIND || q->action == POLICY_LISTEN))
		return false;
	if (j->addr.ss_family == AF_INET6) {
		struct sockaddr_in6 in6;
		memcpy(&in6, &q->addr, sizeof(in6));
		if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
			struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = in6.sin6_port };
			memcpy(&in.sin_addr, in6.sin6_addr.s6_addr + 12, 4);
			memset(&j->addr, 0, sizeof(j->addr));
			memcpy(&j->addr, &in, sizeof(in));
			if (j->family == AF_INET6)
				j->family = AF_INET;
			changed = true;
		} else if (dest && IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) {
			in6.sin6_addr = in6addr_loopback;
			memcpy(&j->addr, &in6, sizeof(in6));
			changed = true;
		}
	}
	if (j->addr.ss_family == AF_INET && dest) {
		struct sockaddr_in in;
		memcpy(&in, &j->addr, sizeof(in));
		if (in.sin_addr.s_addr == htonl(INADDR_ANY)) {
			in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			memcpy(&j->addr, &in, sizeof(in));
			changed = true;
		}
	}
	return changed;
}

/* Address of an INET/INET6 request (without port) into a, its port into
 * *port; false for another family. */
static bool inet_text(const struct sockaddr_storage *ss, char *a, size_t len, unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, a, (socklen_t)len);
		*port = ntohs(in->sin_port);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, (socklen_t)len);
		*port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

/* What q asks, for reasons: the judged request j (q normalised), and what the
 * client asked when that differs. */
static void describe(const struct policy_request *q, const struct policy_request *j, bool changed,
                     char *buf, size_t len)
{
	const char *fam = sbc_name(SBC_AF, q->family);
	const char *typ = sbc_name(SBC_SOCK, q->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
	const char *prep = q->action == POLICY_CONNECT || q->action == POLICY_SEND ? "to" : "on";
	char a[INET6_ADDRSTRLEN];
	unsigned port;
	size_t o;

	o = (size_t)snprintf(buf, len, "%s", action_names[q->action]);
	if ((q->action <= POLICY_ADOPT || q->action == POLICY_SEND) && q->family >= 0 && o < len)
		o += (size_t)snprintf(buf + o, len - o, " of %s %s", fam ? fam : "?", typ ? typ : "?");
	if (q->host && o < len)
		o += (size_t)snprintf(buf + o, len - o, " for \"%s\"", q->host);
	if (q->action == POLICY_SEND && q->message >= 0 && o < len) {
		const char *m = q->family == AF_NETLINK ? nl_message_name(q->proto, q->message) : NULL;
		o += m ? (size_t)snprintf(buf + o, len - o, " message %s (%ld)", m, q->message)
		       : (size_t)snprintf(buf + o, len - o, " message %ld", q->message);
	}
	if (q->name && (q->action == POLICY_HOLD || q->action == POLICY_RETRIEVE) && o < len) {
		/* Names are checked before they are asked about: no control bytes. */
		o += (size_t)snprintf(buf + o, len - o, " of \"%s\"", q->name);
	}
	if (q->path && takes_path(q->action) && o < len) {
		/* Control bytes would let a file name forge a log line. */
		char shown[UNIX_PATH_BYTES * 2 + 1];
		size_t k = 0;
		for (const char *c = q->path; *c && k + 1 < sizeof(shown); c++)
			shown[k++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
		shown[k] = '\0';
		o += (size_t)snprintf(buf + o, len - o, " %s \"%s\"%s", prep, shown, shown[0] ? "" : " (unnamed)");
	} else if (j->have_addr && inet_text(&j->addr, a, sizeof(a), &port) && o < len) {
		o += (size_t)snprintf(buf + o, len - o, j->addr.ss_family == AF_INET ? " %s %s:%u" : " %s [%s]:%u",
		                      prep, a, port);
		if (changed && inet_text(&q->addr, a, sizeof(a), &port) && o < len)
			o += (size_t)snprintf(buf + o, len - o, " (asked %s%s%s)", a, j->family != q->family ? ", judged as " : "",
			                      j->family != q->family ? sbc_name(SBC_AF, j->family) : "");
	} else if (q->action == POLICY_SETSOCKOPT && o < len) {
		o += (size_t)snprintf(buf + o, len - o, " level %d option %d", q->level, q->option);
	}
	(void)o;
}

int policy_decide(const struct policy *p, const struct policy_subject *who,
                  const struct policy_request *q0, struct policy_decision *out)
{
	const struct policy_request *q;
	const char *allowed_by = NULL;
	const struct rule *would_allow = NULL;   /* a rule that may match, whose allow covers q */
	const struct cond *would_unknown = NULL;
	int allowed_idx = -1;
	struct policy_request judged;
	char what[384];
	bool changed, needs_path = false;

	memset(out, 0, sizeof(*out));
	out->rule_index = -1;
	if ((unsigned)q0->action >= POLICY_ACTION_MAX) {
		snprintf(out->reason, sizeof(out->reason), "unknown action %d", (int)q0->action);
		return -EINVAL;
	}
	changed = normalise(q0, &judged);
	describe(q0, &judged, changed, what, sizeof(what));
	q = &judged;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		const struct cond *unknown = NULL;
		enum match m = rule_match(r, who, &unknown);

		if (m == MATCH_NO)
			continue;
		/* Fail closed: a deny applies to whom its rule may match. */
		for (size_t k = 0; k < r->ndeny; k++)
			if (entry_covers(&r->deny[k], q, false, NULL)) {
				out->rule = r->name;
				out->rule_index = (int)i;
				if (m == MATCH_MAYBE)
					snprintf(out->reason, sizeof(out->reason), "rule \"%s\" denies %s to uid %u, whose %s is "
					         "unknown (%s): a deny applies when its rule may match", r->name, what,
					         (unsigned)who->uid, cond_name(unknown->kind), cond_unknown(unknown, who));
				else
					snprintf(out->reason, sizeof(out->reason), "rule \"%s\" denies %s to uid %u", r->name,
					         what, (unsigned)who->uid);
				return 0;
			}
		/* ... and an allow only to whom it surely matches. */
		if (m == MATCH_MAYBE) {
			for (size_t k = 0; k < r->nallow && !would_allow; k++)
				if (entry_covers(&r->allow[k], q, true, NULL)) {
					would_allow = r;
					would_unknown = unknown;
				}
			continue;
		}
		for (size_t k = 0; k < r->nallow && !allowed_by; k++)
			if (entry_covers(&r->allow[k], q, true, &needs_path)) {
				allowed_by = r->name;
				allowed_idx = (int)i;
			}
	}
	if (allowed_by) {
		out->allowed = true;
		out->rule = allowed_by;
		out->rule_index = allowed_idx;
		snprintf(out->reason, sizeof(out->reason), "rule \"%s\" allows %s", allowed_by, what);
	} else {
		const char *why = "";
		/* The protocol names the embedded default in its -32010 data. */
		out->rule = p->is_default ? POLICY_DEFAULT_RULE : NULL;
		if (p->is_default)
			why = " (no policy file: the embedded default allows only introspection)";
		else if (q->path && takes_path(q->action) && !path_canonical(q->path))
			why = ": the path is not absolute and canonical (no \".\", \"..\" or \"//\"), so no rule covers it";
		else if (needs_path)
			why = ": an AF_UNIX address needs a path grant (an allow entry whose \"path\" matches it)";
		if (would_allow && !*why)
			snprintf(out->reason, sizeof(out->reason), "no rule allows %s to uid %u: rule \"%s\" would, but "
			         "its match names %s, which is unknown (%s)", what, (unsigned)who->uid, would_allow->name,
			         cond_name(would_unknown->kind), cond_unknown(would_unknown, who));
		else
			snprintf(out->reason, sizeof(out->reason), "no rule allows %s to uid %u%s", what,
			         (unsigned)who->uid, why);
	}
	return 0;
}

/* Whether allow entry e could cover q once its host name resolves: every
 * selector but the address CIDRs must hold (see policy_may_allow). */
static bool entry_may_cover(const struct entry *e, const struct policy_request *q, int port)
{
	static const int inet[] = { AF_INET, AF_INET6 };
	const int *fams = q->family == -1 ? inet : &q->family;
	size_t nfams = q->family == -1 ? ARRAY_SIZE(inet) : 1;
	int type = q->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	/* Protocol 0 of an unknown type could be TCP or UDP: unknown as well. */
	bool any_proto = q->proto < 0 || (q->type < 0 && q->proto == 0);

	if (!action_covers(e, q, true))
		return false;
	if (port >= 0 && e->nports && (port > 65535 || !port_in(e, (unsigned)port)))
		return false;
	if (!host_ok(e, q->host) || !path_ok(e, q, true, NULL))
		return false;
	if (q->action == POLICY_SEND && e->message.n && !has_long(e->message.v, e->message.n, q->message))
		return false;
	for (size_t i = 0; i < nfams; i++) {
		struct policy_request c = *q;
		c.family = fams[i];
		if (lsel_ok(&e->family, c.family) && (q->type < 0 || lsel_ok(&e->type, type)) &&
		    (any_proto || proto_ok(e, &c)))
			return true;
	}
	return false;
}

bool policy_may_allow(const struct policy *p, const struct policy_subject *who, const struct policy_request *q,
                      int port)
{
	if (!takes_path(q->action))   /* the actions that carry an address */
		return false;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if (!rule_matches(r, who))
			continue;
		for (size_t k = 0; k < r->nallow; k++)
			if (entry_may_cover(&r->allow[k], q, port))
				return true;
	}
	return false;
}

void policy_limits(const struct policy *p, const struct policy_subject *who, struct policy_limits *out)
{
	*out = p->limits;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if (!rule_matches(r, who))
			continue;
		if (r->limits.handles >= 0)
			out->handles = r->limits.handles;
		if (r->limits.connections >= 0)
			out->connections = r->limits.connections;
		if (r->limits.pending >= 0)
			out->pending = r->limits.pending;
	}
}

void policy_limits_cap(const struct policy *p, const struct policy_subject *who, struct policy_limits *out)
{
	*out = (struct policy_limits){ -1, -1, -1 };
	for (size_t i = 0; i < p->nrules; i++) {
		const struct policy_limits *l = &p->rules[i].limits;

		if (rule_match(&p->rules[i], who, NULL) != MATCH_MAYBE)
			continue;
		if (l->handles >= 0 && (out->handles < 0 || l->handles < out->handles))
			out->handles = l->handles;
		if (l->connections >= 0 && (out->connections < 0 || l->connections < out->connections))
			out->connections = l->connections;
		if (l->pending >= 0 && (out->pending < 0 || l->pending < out->pending))
			out->pending = l->pending;
	}
}

static size_t rules_with(const struct policy *p, const struct policy_subject *who, enum match m,
                         const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nrules; i++)
		if (rule_match(&p->rules[i], who, NULL) == m) {
			if (n < max)
				names[n] = p->rules[i].name;
			n++;
		}
	return n;
}

size_t policy_matching_rules(const struct policy *p, const struct policy_subject *who,
                             const char **names, size_t max)
{
	return rules_with(p, who, MATCH_YES, names, max);
}

size_t policy_unknown_rules(const struct policy *p, const struct policy_subject *who,
                            const char **names, size_t max)
{
	return rules_with(p, who, MATCH_MAYBE, names, max);
}

/* ---- a read-only view of a rule's match, for policy-lint.c ---- */

int policy_rule_view(const struct policy *p, size_t i, struct policy_rule_view *out)
{
	const struct rule *r;

	if (i >= p->nrules)
		return -ENOENT;
	r = &p->rules[i];
	*out = (struct policy_rule_view){ .name = r->name, .unknown = (const char *const *)r->unknown,
	                                  .nunknown = r->nunknown };
	for (size_t k = 0; k < r->nallow; k++)
		out->allow_actions |= 1u << r->allow[k].action;
	for (size_t k = 0; k < r->nconds; k++) {
		const struct cond *c = &r->conds[k];

		switch (c->kind) {
		case C_UID: out->uid = true; break;
		case C_GID: out->gid = true; break;
		case C_EXE: out->exe = (const char *const *)c->strs; out->nexe = c->n; break;
		case C_UNIT: out->unit = (const char *const *)c->strs; out->nunit = c->n; break;
		case C_CGROUP: out->cgroup = (const char *const *)c->strs; out->ncgroup = c->n; break;
		case C_LABEL: out->label = (const char *const *)c->strs; out->nlabel = c->n; break;
		default: break;
		}
	}
	return 0;
}

/* ---- other files an administrator writes, held to the same rules ---- */

int policy_file_read(const char *path, unsigned flags, char **buf, size_t *len, struct policy_error *err)
{
	struct ld l = { .err = err, .file = path, .strict_owner = flags & POLICY_FILE_STRICT_OWNER,
	                .secret = flags & POLICY_FILE_SECRET };
	int fd, r;

	*buf = NULL;
	*len = 0;
	if (err)
		memset(err, 0, sizeof(*err));
	/* A secret's file is itself, not a link someone may point elsewhere. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (l.secret ? O_NOFOLLOW : 0));
	if (fd < 0 && errno == ELOOP && l.secret)
		return fail(&l, -ELOOP, NULL, "refused: a symbolic link (give the file itself)");
	if (fd < 0)
		return open_error(&l, errno);
	r = check_location(&l, path, fd);
	if (r == 0)
		r = read_fd(&l, fd, buf, len);
	close(fd);
	return r;
}

int policy_json_parse(const char *file, const char *buf, size_t len, struct json_object **out,
                      struct policy_error *err)
{
	struct ld l = { .err = err, .file = file };

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	return parse_json(&l, buf, len, out);
}

int policy_error_at(struct policy_error *err, const char *file, const char *buf, size_t len, int r,
                    const char *where, const char *fmt, ...)
{
	va_list ap;
	size_t at;

	if (!err)
		return r;
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	va_start(ap, fmt);
	decode_vfail(&err->at, r, where, fmt, ap);
	va_end(ap);
	err_fill(err);
	at = buf && where ? find_path(buf, len, where) : SIZE_MAX;
	if (at != SIZE_MAX)
		locate(err, buf, at);
	return r;
}
