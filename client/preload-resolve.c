/* The shim's getaddrinfo(), with SOCKBROKER_CONNECT=1: a host name is
 * looked up by the daemon (net.getaddrinfo, a `resolve` of that name under
 * its policy), not by the sandbox, which may have no network and no DNS.
 * Each address it answers is remembered with the name (a pin), so that a
 * connect() to it carries the name and the policy's host-pinned rules
 * (`host: "api.example.com"`) hold for the unmodified program
 * (preload-connect.c).
 *
 * Not looked up by the daemon: numeric hosts, a NULL host, AI_NUMERICHOST,
 * families other than AF_UNSPEC/AF_INET/AF_INET6: the C library answers
 * those without a network. When the daemon is unreachable, denies the
 * look-up or answers what the shim does not understand, the C library's
 * own getaddrinfo answers: the program sees what it would without the shim.
 *
 * getaddrinfo is not async-signal-safe: this part allocates the list
 * (laid out as glibc's own, one block per entry with its address and the
 * canonical name apart, so that glibc's freeaddrinfo frees it). The pins
 * are read by connect(), which is async-signal-safe: they are a fixed table
 * written under a per-slot sequence count, read without locks. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

/* ---------------------------------------------------------------- pins */

enum { PIN_MAX = 128, PIN_NAME_MAX = 256 };

struct pin {
	unsigned seq;           /* 0: empty; odd: being written */
	unsigned long gen;      /* when written: the newest pin of an address wins */
	int family;
	unsigned char addr[16];
	char name[PIN_NAME_MAX];
};

static struct pin pins[PIN_MAX];
static unsigned pin_next;
static unsigned long pin_gen;

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void pin_add(int family, const void *addr, const char *name)
{
	size_t n = strlen(name);
	struct pin *p = &pins[__atomic_fetch_add(&pin_next, 1, __ATOMIC_RELAXED) % PIN_MAX];
	unsigned s = __atomic_load_n(&p->seq, __ATOMIC_RELAXED);

	if (n >= PIN_NAME_MAX)
		return;
	/* A slot another thread is writing is left to it: that address is not
	 * pinned, and a connect to it is judged as a literal. */
	if ((s & 1) || !__atomic_compare_exchange_n(&p->seq, &s, s + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	p->gen = __atomic_add_fetch(&pin_gen, 1, __ATOMIC_RELAXED);
	p->family = family;
	memcpy(p->addr, addr, addr_len(family));
	memcpy(p->name, name, n + 1);
	__atomic_store_n(&p->seq, s + 2, __ATOMIC_RELEASE);
}

bool shim_pin_lookup(int family, const void *addr, char *name, size_t cap)
{
	unsigned long best = 0;

	for (size_t i = 0; i < PIN_MAX; i++) {
		struct pin *p = &pins[i];
		unsigned s1 = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		char tmp[PIN_NAME_MAX];
		unsigned long gen;

		if (!s1 || (s1 & 1))
			continue;
		if (p->family != family || memcmp(p->addr, addr, addr_len(family)))
			continue;
		gen = p->gen;
		memcpy(tmp, p->name, sizeof(tmp));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&p->seq, __ATOMIC_RELAXED) != s1 || gen <= best)
			continue;
		tmp[sizeof(tmp) - 1] = '\0';
		if (strlen(tmp) >= cap)
			continue;
		memcpy(name, tmp, strlen(tmp) + 1);
		best = gen;
	}
	return best != 0;
}

/* ---------------------------------------------------------------- the daemon's answer */

struct constant {
	const char *name;
	int value;
};

static const struct constant families[] = { { "AF_INET", AF_INET }, { "AF_INET6", AF_INET6 } };
static const struct constant types[] = {
	{ "SOCK_STREAM", SOCK_STREAM }, { "SOCK_DGRAM", SOCK_DGRAM }, { "SOCK_RAW", SOCK_RAW },
	{ "SOCK_SEQPACKET", SOCK_SEQPACKET }, { "SOCK_RDM", SOCK_RDM }, { "SOCK_DCCP", SOCK_DCCP },
};
static const struct constant protos[] = {
	{ "IPPROTO_IP", IPPROTO_IP }, { "IPPROTO_TCP", IPPROTO_TCP }, { "IPPROTO_UDP", IPPROTO_UDP },
	{ "IPPROTO_SCTP", IPPROTO_SCTP }, { "IPPROTO_UDPLITE", IPPROTO_UDPLITE }, { "IPPROTO_DCCP", IPPROTO_DCCP },
	{ "IPPROTO_ICMP", IPPROTO_ICMP }, { "IPPROTO_ICMPV6", IPPROTO_ICMPV6 }, { "IPPROTO_RAW", IPPROTO_RAW },
	{ "IPPROTO_MPTCP", IPPROTO_MPTCP },
};

/* A constant as the daemon writes it: its name, or a number. */
static bool get_constant(const char *p, const char *end, const struct constant *tab, size_t n, int *out)
{
	char name[32];
	long long v;

	if (p && *p == '"') {
		if (!get_string(p, end, name, sizeof(name)))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(tab[i].name, name)) {
				*out = tab[i].value;
				return true;
			}
		return false;
	}
	if (!p || !parse_int(p, end, &v) || v > INT32_MAX)
		return false;
	*out = (int)v;
	return true;
}

static bool get_number(const char *p, const char *end, long long *out)
{
	return p && parse_int(p, end, out);
}

/* One entry of "results", from P to END, as glibc lays one out. */
static struct addrinfo *entry_of(const char *p, const char *end, bool want_canon)
{
	const char *a = member(p, end, "address", 1);
	char host[64], canon[PIN_NAME_MAX];
	long long port, v;
	struct addrinfo *ai;
	int family, type, proto;

	if (!get_constant(member(p, end, "family", 1), end, families, sizeof(families) / sizeof(families[0]), &family) ||
	    !get_constant(member(p, end, "type", 1), end, types, sizeof(types) / sizeof(types[0]), &type) ||
	    !get_constant(member(p, end, "proto", 1), end, protos, sizeof(protos) / sizeof(protos[0]), &proto))
		return NULL;
	if (!a || *a != '{' || !(end = skip_value(a, end)))
		return NULL;
	if (!get_string(member(a, end, "host", 1), end, host, sizeof(host)) ||
	    !get_number(member(a, end, "port", 1), end, &port) || port > 65535)
		return NULL;
	ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6));
	if (!ai)
		return NULL;
	ai->ai_family = family;
	ai->ai_socktype = type;
	ai->ai_protocol = proto;
	ai->ai_addr = (struct sockaddr *)(ai + 1);
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ai->ai_addr;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		ai->ai_addrlen = sizeof(*in);
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto fail;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ai->ai_addr;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (get_number(member(a, end, "flowinfo", 1), end, &v))
			in6->sin6_flowinfo = htonl((uint32_t)v);
		if (get_number(member(a, end, "scope_id", 1), end, &v))
			in6->sin6_scope_id = (uint32_t)v;
		ai->ai_addrlen = sizeof(*in6);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto fail;
	}
	if (want_canon && get_string(member(p, end, "canonname", 1), end, canon, sizeof(canon)) && *canon &&
	    !(ai->ai_canonname = strdup(canon)))
		goto fail;
	return ai;
fail:
	free(ai);
	return NULL;
}

static void free_list(struct addrinfo *ai)
{
	while (ai) {
		struct addrinfo *next = ai->ai_next;
		free(ai->ai_canonname);
		free(ai);
		ai = next;
	}
}

/* The daemon's answer for NODE: 0 and *res, an EAI_* code of the daemon's
 * own look-up, or 1: the C library answers instead. */
static int brokered_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
				struct addrinfo **res)
{
	char p[REQ_MAX];
	struct buf b = { p, 0, sizeof(p), false };
	const char *r, *end, *list;
	struct addrinfo *head = NULL, **tail = &head;
	struct conn c;
	int rc = 1;

	put_str(&b, "{\"host\":");
	put_json_str(&b, node);
	put_str(&b, ",\"port\":");
	if (service)
		put_json_str(&b, service);
	else
		put_str(&b, "null");
	if (hints) {
		put_str(&b, ",\"family\":");
		put_int(&b, hints->ai_family);
		put_str(&b, ",\"type\":");
		put_int(&b, hints->ai_socktype);
		put_str(&b, ",\"proto\":");
		put_int(&b, hints->ai_protocol);
		put_str(&b, ",\"flags\":");
		put_int(&b, hints->ai_flags);
	}
	put_str(&b, "}");
	if (b.over || conn_open(&c) < 0)
		return 1;
	if (call(&c, "net.getaddrinfo", p, b.len, &r, &end) < 0) {
		/* The daemon looked it up and the name has no address: that is
		 * the answer. Denied, or anything else: the C library's. */
		const char *err = member(c.reply, c.reply + c.line, "error", 1), *data, *gai;
		long long v;
		if (c.code == -32001 && err && (data = member(err, c.reply + c.line, "data", 1)) &&
		    (gai = member(data, c.reply + c.line, "gai", 1)) && *gai == '-' &&
		    parse_int(gai + 1, c.reply + c.line, &v) && v > 0 && v < 1000 && v != -EAI_SYSTEM)
			rc = -(int)v;
		goto out;
	}
	list = member(r, end, "results", 1);
	if (!list || *list != '[')
		goto out;
	for (const char *q = list + 1; q < end;) {
		const char *e;
		struct addrinfo *ai;

		while (q < end && (*q == ' ' || *q == ','))
			q++;
		if (q < end && *q == ']')
			break;
		if (q >= end || *q != '{' || !(e = skip_value(q, end)))
			goto fail;
		if (!(ai = entry_of(q, e, head == NULL && hints && (hints->ai_flags & AI_CANONNAME))))
			goto fail;
		*tail = ai;
		tail = &ai->ai_next;
		q = e;
	}
	if (!head) {
		rc = EAI_NONAME;
		goto out;
	}
	for (struct addrinfo *ai = head; ai; ai = ai->ai_next)
		pin_add(ai->ai_family,
			ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
						 : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			node);
	*res = head;
	rc = 0;
	goto out;
fail:
	free_list(head);
out:
	conn_close(&c);
	return rc;
}

static bool is_numeric(const char *node)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_aton(node, &a4) || inet_pton(AF_INET6, node, &a6) == 1 || strchr(node, '%');
}

SB_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			  struct addrinfo **res)
{
	int saved = errno, r;

	if (!real_getaddrinfo)   /* called before the shim's constructor ran */
		real_getaddrinfo = (int (*)(const char *, const char *, const struct addrinfo *,
					    struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
	if (!real_getaddrinfo)
		return EAI_SYSTEM;
	if (!shim_connect_through || !node || !*node || !res || is_numeric(node) ||
	    (hints && ((hints->ai_flags & AI_NUMERICHOST) ||
		       (hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET && hints->ai_family != AF_INET6))))
		return real_getaddrinfo(node, service, hints, res);
	r = brokered_getaddrinfo(node, service, hints, res);
	if (r == 1)
		return real_getaddrinfo(node, service, hints, res);
	errno = saved;
	return r;
}
