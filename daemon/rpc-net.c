/* Module functions (protocol section 6, "Module functions"): Python's
 * socket.getaddrinfo, getnameinfo, gethostby*, getfqdn, gethostname,
 * sethostname, getprotobyname, getservby*, if_* and the per-connection default
 * timeout. Look-ups that may wait on the network run on the resolver's worker
 * threads: the handler copies its inputs into a net_job, parks the call and
 * returns; the job's done callback (loop thread) builds the reply. The cheap
 * local functions (files, ioctls, uname) run inline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "authz.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "resolver.h"
#include "server.h"
#include "util.h"

/* Longest host name accepted (the protocol's limit for names in addresses). */
#define NET_MAX_HOST 1024
/* Longest service name accepted (glibc's NI_MAXSERV, with its NUL). */
#define NET_MAX_SERV 31
/* Buffers for the *_r functions start here and double on ERANGE up to the cap. */
#define NET_BUF_START 4096
#define NET_BUF_MAX (1024 * 1024)


/* A JSON string without NUL bytes and at most max bytes. 0 or -EINVAL. */
static int check_string(const struct param_desc *d, json_object *j, size_t max, struct decode_error *err)
{
	const char *s = json_object_get_string(j);
	size_t n = (size_t)json_object_get_string_len(j);

	if (strlen(s) != n)
		return decode_fail(err, -EINVAL, NULL, "%s must not contain a NUL byte", d->name);
	if (n > max)
		return decode_fail(err, -EINVAL, NULL, "%s is %zu bytes long; at most %zu are accepted", d->name, n, max);
	return 0;
}

/* gaierror (-32001) about what (and the name it was asked for, if any). */
static int net_gai_error(struct call *call, int gai, int err, const char *what, const char *subject)
{
	if (subject)
		return call_error_gai(call, gai, err, "%s '%.200s'", what, subject);
	return call_error_gai(call, gai, err, "%s", what);
}

/* herror (-32002) {"h_errno", "name"}. */
static int net_host_error(struct call *call, int herr, const char *what, const char *subject)
{
	json_object *d = json_object_new_object();
	const char *name = sbc_name(SBC_HERR, herr);

	if (d) {
		json_object_object_add(d, "h_errno", json_object_new_int(herr));
		if (name)
			json_object_object_add(d, "name", json_object_new_string(name));
	}
	return call_error(call, SB_ERR_HOST, d, "%s '%.200s': %s", what, subject, hstrerror(herr));
}

/* ---- the blocking look-ups: jobs for the resolver ---- */

struct net_job {
	struct resolve_job job;
	struct call *call;                 /* loop thread only */
	int (*build)(struct call *call, struct net_job *j);   /* loop thread: the reply */
	/* inputs: copies, since the request's JSON is gone once the handler returns */
	char *host;
	char *serv;
	struct addrinfo hints;
	struct sbaddr addr;
	int flags;
	/* outputs, written by work */
	int gai;                           /* getaddrinfo/getnameinfo code, 0 on success */
	int err;                           /* errno for EAI_SYSTEM or an OS failure */
	int herr;                          /* h_errno of gethostby*_r, 0 on success */
	struct addrinfo *res;
	struct hostent he;                 /* points into hebuf */
	char *hebuf;
	char *name;                        /* getfqdn's answer */
	char text[NI_MAXHOST];             /* getnameinfo's host, gethostbyname's address */
	char serv_out[NI_MAXSERV];
};

static void net_job_free(struct net_job *j)
{
	if (!j)
		return;
	free(j->host);
	free(j->serv);
	if (j->res)
		freeaddrinfo(j->res);
	free(j->hebuf);
	free(j->name);
	free(j);
}

/* Loop thread: the job ended; answer the call. */
static void net_done(struct resolve_job *job)
{
	struct net_job *j = (struct net_job *)job;
	struct call *call = j->call;
	int rc;

	call->park = NULL;
	rc = j->build(call, j);
	net_job_free(j);
	call_finish(call, rc);
}

/* Loop thread: a cancelled job, after its work (if it started) ended. */
static void net_destroy(struct resolve_job *job)
{
	net_job_free((struct net_job *)job);
}


static struct net_job *net_job_new(void (*work)(struct resolve_job *),
                                   int (*build)(struct call *, struct net_job *))
{
	struct net_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->job.work = work;
	j->job.done = net_done;
	j->job.destroy = net_destroy;
	j->build = build;
	return j;
}

/* Hands j to the resolver and parks the call; j is taken either way. */
static int net_park(struct call *call, struct net_job *j)
{
	j->call = call;
	return call_park_resolve(call, &j->job);
}

/* Worker: CPython's setipaddr(): "" is the wildcard (getaddrinfo of NULL with
 * AI_PASSIVE), "<broadcast>" and "255.255.255.255" the broadcast address,
 * literals are parsed without a look-up, anything else goes to getaddrinfo and
 * the first answer is taken. Returns a gai code (EAI_SYSTEM with *err). */
static int setipaddr(const char *name, int af, struct sockaddr_storage *out, int *err)
{
	struct addrinfo hints = { .ai_family = af }, *res = NULL;
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	int gai;

	memset(out, 0, sizeof(*out));
	if (name[0] == '\0') {
		hints.ai_socktype = SOCK_DGRAM;
		hints.ai_flags = AI_PASSIVE;
		gai = getaddrinfo(NULL, "0", &hints, &res);
	} else if (af != AF_INET6 &&
	           (strcmp(name, "<broadcast>") == 0 || strcmp(name, "255.255.255.255") == 0)) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_BROADCAST);
		return 0;
	} else if (af != AF_INET6 && inet_pton(AF_INET, name, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	} else if (af != AF_INET && !strchr(name, '%') && inet_pton(AF_INET6, name, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	} else {
		gai = getaddrinfo(name, NULL, &hints, &res);
	}
	if (gai == EAI_SYSTEM)
		*err = errno;
	if (gai)
		return gai;
	memcpy(out, res->ai_addr, SB_MIN((size_t)res->ai_addrlen, sizeof(*out)));
	freeaddrinfo(res);
	if (out->ss_family != AF_INET && out->ss_family != AF_INET6) {
		*err = EAFNOSUPPORT;
		return EAI_SYSTEM;
	}
	return 0;
}

/* Worker: gethostbyname_r or gethostbyaddr_r into j->he, growing the buffer on
 * ERANGE. addr == NULL looks name up. Sets j->herr (or j->err). */
static void hostent_lookup(struct net_job *j, const char *name, const void *addr, socklen_t alen, int af)
{
	size_t size = NET_BUF_START;
	struct hostent *hp = NULL;

	for (;;) {
		char *b = realloc(j->hebuf, size);
		int rc, herr = 0;

		if (!b) {
			j->err = ENOMEM;
			return;
		}
		j->hebuf = b;
		if (addr)
			rc = gethostbyaddr_r(addr, alen, af, &j->he, b, size, &hp, &herr);
		else
			rc = gethostbyname_r(name, &j->he, b, size, &hp, &herr);
		if (rc == ERANGE && size < NET_BUF_MAX) {
			size *= 2;
			continue;
		}
		if (!hp) {
			/* NETDB_INTERNAL means "see errno" (rc here). */
			if (herr == NETDB_INTERNAL && rc)
				j->err = rc;
			else
				j->herr = herr ? herr : HOST_NOT_FOUND;
		}
		return;
	}
}

/* Loop thread: {hostname, aliases, addresses} from j->he (Python's triple). */
static int build_hostent(struct call *call, struct net_job *j, const char *what, const char *subject)
{
	json_object *r, *aliases, *addrs;

	if (j->gai)
		return net_gai_error(call, j->gai, j->err, what, subject);
	if (j->err)
		return -j->err;
	if (j->herr)
		return net_host_error(call, j->herr, what, subject);
	r = call_result(call);
	aliases = json_object_new_array();
	addrs = json_object_new_array();
	if (!r || !aliases || !addrs) {
		json_object_put(aliases);
		json_object_put(addrs);
		return -ENOMEM;
	}
	json_object_object_add(r, "hostname", json_object_new_string(j->he.h_name ? j->he.h_name : ""));
	for (char **a = j->he.h_aliases; a && *a; a++)
		json_object_array_add(aliases, json_object_new_string(*a));
	json_object_object_add(r, "aliases", aliases);
	for (char **a = j->he.h_addr_list; a && *a; a++) {
		char buf[INET6_ADDRSTRLEN];
		if (inet_ntop(j->he.h_addrtype, *a, buf, sizeof(buf)))
			json_object_array_add(addrs, json_object_new_string(buf));
	}
	json_object_object_add(r, "addresses", addrs);
	return 0;
}

/* ---- net.getaddrinfo ---- */

/* getaddrinfo's service: a port number or a name, or none (null). */
struct gai_serv {
	bool given;
	char s[NET_MAX_SERV + 1];
};

struct gai_params {
	const char *host;          /* NULL for null */
	struct gai_serv port;
	int family, type, proto, flags;
};

/* Converter of getaddrinfo's host: a string, or null (const char *, NULL). */
static int conv_gai_host(const struct param_desc *d, json_object *v, void *field, const void *base,
                         const struct param_ctx *ctx, struct decode_error *err)
{
	int r;

	(void)base, (void)ctx;
	*(const char **)field = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return decode_fail(err, -EINVAL, NULL, "host must be a string (a name or a numeric address) or null");
	r = check_string(d, v, NET_MAX_HOST, err);
	if (r == 0)
		*(const char **)field = json_object_get_string(v);
	return r;
}

static void schema_gai_host(const struct param_desc *d, json_object *s)
{
	json_object *t = json_object_new_array();

	(void)d;
	json_object_array_add(t, json_object_new_string("string"));
	json_object_array_add(t, json_object_new_string("null"));
	json_object_object_add(s, "type", t);
}

static const struct param_converter conv_host = {
	.name = "string or null", .decode = conv_gai_host, .schema = schema_gai_host, .null_ok = true,
};

/* Converter of getaddrinfo's port: 0-65535, a service as a string, or null
 * (struct gai_serv, given false). */
static int conv_gai_port(const struct param_desc *d, json_object *v, void *field, const void *base,
                         const struct param_ctx *ctx, struct decode_error *err)
{
	struct gai_serv *sv = field;
	int r;

	(void)base, (void)ctx;
	if (!v)
		return 0;   /* null: no service, as Python's None */
	if (json_object_is_type(v, json_type_int)) {
		int64_t port = json_object_get_int64(v);
		if (port < 0 || port > 65535)
			return decode_fail(err, -EINVAL, NULL, "port must be in 0-65535, got %lld", (long long)port);
		snprintf(sv->s, sizeof(sv->s), "%d", (int)port);
	} else if (json_object_is_type(v, json_type_string)) {
		r = check_string(d, v, NET_MAX_SERV, err);
		if (r)
			return r;
		memcpy(sv->s, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	} else {
		return decode_fail(err, -EINVAL, NULL,
		                   "port must be an integer 0-65535, a service name or number as a string, or null");
	}
	sv->given = true;
	return 0;
}

static void schema_gai_port(const struct param_desc *d, json_object *s)
{
	json_object *t = json_object_new_array();

	(void)d;
	json_object_array_add(t, json_object_new_string("integer"));
	json_object_array_add(t, json_object_new_string("string"));
	json_object_array_add(t, json_object_new_string("null"));
	json_object_object_add(s, "type", t);
}

static const struct param_converter conv_port = {
	.name = "integer, string or null", .decode = conv_gai_port, .schema = schema_gai_port, .null_ok = true,
};

static void gai_work(struct resolve_job *job)
{
	struct net_job *j = (struct net_job *)job;

	j->gai = getaddrinfo(j->host, j->serv, &j->hints, &j->res);
	if (j->gai == EAI_SYSTEM)
		j->err = errno;
}

static int gai_build(struct call *call, struct net_job *j)
{
	json_object *r, *arr;

	if (j->gai) {
		/* Both inputs, Python style: either may be what was not found. */
		char what[320];
		snprintf(what, sizeof(what), "getaddrinfo(%s%.200s%s, %s%.40s%s)",
		         j->host ? "'" : "", j->host ? j->host : "None", j->host ? "'" : "",
		         j->serv ? "'" : "", j->serv ? j->serv : "None", j->serv ? "'" : "");
		return net_gai_error(call, j->gai, j->err, what, NULL);
	}
	r = call_result(call);
	arr = json_object_new_array();
	if (!r || !arr) {
		json_object_put(arr);
		return -ENOMEM;
	}
	json_object_object_add(r, "results", arr);
	for (struct addrinfo *ai = j->res; ai; ai = ai->ai_next) {
		json_object *e = json_object_new_object();
		if (!e)
			return -ENOMEM;
		json_object_object_add(e, "family", sbc_to_json(SBC_AF, ai->ai_family));
		json_object_object_add(e, "type", sbc_to_json(SBC_SOCK, ai->ai_socktype));
		json_object_object_add(e, "proto", sbc_to_json(SBC_IPPROTO, ai->ai_protocol));
		json_object_object_add(e, "canonname", json_object_new_string(ai->ai_canonname ? ai->ai_canonname : ""));
		json_object_object_add(e, "address", sbaddr_encode(ai->ai_addr, ai->ai_addrlen));
		json_object_array_add(arr, e);
	}
	return 0;
}

/* The resolve action for a look-up of the host (null: none): host selectors
 * of resolve entries judge the name. */
static int plan_getaddrinfo(struct plan *pl, const struct plan_in *in)
{
	return plan_resolve_name(pl, ((const struct gai_params *)in->params)->host);
}

static int rpc_net_getaddrinfo(struct call *call, void *params)
{
	struct gai_params *p = params;
	struct net_job *j;
	int rc = 0;

	j = net_job_new(gai_work, gai_build);
	if (!j)
		return -ENOMEM;
	if ((p->host && !(j->host = strdup(p->host))) || (p->port.given && !(j->serv = strdup(p->port.s)))) {
		rc = -ENOMEM;
		goto fail;
	}
	j->hints.ai_family = p->family;
	j->hints.ai_socktype = p->type;
	j->hints.ai_protocol = p->proto;
	j->hints.ai_flags = p->flags;
	return net_park(call, j);
fail:
	net_job_free(j);
	return rc;
}

/* ---- net.getnameinfo ---- */

struct gni_params {
	struct param_address address;
	int flags;
};

static void gni_work(struct resolve_job *job)
{
	struct net_job *j = (struct net_job *)job;

	j->gai = getnameinfo((struct sockaddr *)&j->addr.ss, j->addr.len, j->text, sizeof(j->text),
	                     j->serv_out, sizeof(j->serv_out), j->flags);
	if (j->gai == EAI_SYSTEM)
		j->err = errno;
}

static int gni_build(struct call *call, struct net_job *j)
{
	json_object *r;

	if (j->gai)
		return net_gai_error(call, j->gai, j->err, "getnameinfo", NULL);
	r = call_result(call);
	if (!r)
		return -ENOMEM;
	json_object_object_add(r, "host", json_object_new_string(j->text));
	json_object_object_add(r, "service", json_object_new_string(j->serv_out));
	return 0;
}

/* The family getnameinfo decodes an address with: by its literal, or, for a
 * host that is a name, by its shape (a name is then refused as Python does). */
static int gni_family(json_object *a)
{
	int fam = sbaddr_guess_family(a);

	if (fam != AF_UNSPEC)
		return fam;
	if (json_object_is_type(a, json_type_object) && json_object_object_get_ex(a, "host", NULL))
		return json_object_object_get_ex(a, "flowinfo", NULL) ||
		       json_object_object_get_ex(a, "scope_id", NULL) ? AF_INET6 : AF_INET;
	if (json_object_is_type(a, json_type_array) && json_object_array_length(a) >= 2 &&
	    json_object_array_length(a) <= 4 &&
	    json_object_is_type(json_object_array_get_idx(a, 0), json_type_string))
		return json_object_array_length(a) > 2 ? AF_INET6 : AF_INET;
	return AF_UNSPEC;
}

/* gni_family, for the address converter: only the families getnameinfo takes. */
static int gni_inet_family(json_object *a)
{
	int fam = gni_family(a);

	return fam == AF_INET || fam == AF_INET6 ? fam : AF_UNSPEC;
}

static const struct param_address_arg gni_address = {
	.family_of = gni_inet_family,
	.unknown = "getnameinfo takes an AF_INET or AF_INET6 address "
	           "({\"host\": \"127.0.0.1\", \"port\": 22} or [\"::1\", 22])",
};

static int rpc_net_getnameinfo(struct call *call, void *params)
{
	struct gni_params *p = params;
	struct net_job *j;

	/* Python resolves the host with AI_NUMERICHOST: a name is EAI_NONAME. */
	if (p->address.host)
		return net_gai_error(call, EAI_NONAME, 0, "getnameinfo needs a numeric host, not", p->address.host);
	j = net_job_new(gni_work, gni_build);
	if (!j)
		return -ENOMEM;
	j->addr = p->address.a;
	j->flags = p->flags;
	return net_park(call, j);
}

/* ---- net.gethostbyname, net.gethostbyname_ex, net.gethostbyaddr ---- */

struct hostname_params {
	const char *hostname;
};

struct hostaddr_params {
	const char *address;
};

/* Python's gethostbyname: IPv4 only, through getaddrinfo (so failures are gaierror). */
static void hbn_work(struct resolve_job *job)
{
	struct net_job *j = (struct net_job *)job;
	struct sockaddr_storage ss;

	j->gai = setipaddr(j->host, AF_INET, &ss, &j->err);
	if (!j->gai)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, j->text, sizeof(j->text));
}

static int hbn_build(struct call *call, struct net_job *j)
{
	json_object *r;

	if (j->gai)
		return net_gai_error(call, j->gai, j->err, "gethostbyname", j->host);
	r = call_result(call);
	if (!r)
		return -ENOMEM;
	json_object_object_add(r, "address", json_object_new_string(j->text));
	return 0;
}

/* Python's gethostbyname_ex: setipaddr (gaierror) first, then gethostbyname_r (herror). */
static void hbnx_work(struct resolve_job *job)
{
	struct net_job *j = (struct net_job *)job;
	struct sockaddr_storage ss;

	j->gai = setipaddr(j->host, AF_INET, &ss, &j->err);
	if (j->gai)
		return;
	hostent_lookup(j, j->host, NULL, 0, AF_INET);
	if (!j->err && !j->herr && j->he.h_addrtype != AF_INET)
		j->err = EAFNOSUPPORT;
}

static int hbnx_build(struct call *call, struct net_job *j)
{
	return build_hostent(call, j, "gethostbyname_ex", j->host);
}

/* Python's gethostbyaddr: the argument may be a name or a literal (setipaddr,
 * either family), then the reverse look-up of that address. */
static void hba_work(struct resolve_job *job)
{
	struct net_job *j = (struct net_job *)job;
	struct sockaddr_storage ss;

	j->gai = setipaddr(j->host, AF_UNSPEC, &ss, &j->err);
	if (j->gai)
		return;
	if (ss.ss_family == AF_INET)
		hostent_lookup(j, NULL, &((struct sockaddr_in *)&ss)->sin_addr, sizeof(struct in_addr), AF_INET);
	else
		hostent_lookup(j, NULL, &((struct sockaddr_in6 *)&ss)->sin6_addr, sizeof(struct in6_addr), AF_INET6);
}

static int hba_build(struct call *call, struct net_job *j)
{
	return build_hostent(call, j, "gethostbyaddr", j->host);
}

/* Checks and copies a host name member into j->host. */
static int take_host(struct call *call, const char *param, const char *s, struct net_job *j)
{
	size_t n = strlen(s);

	if (n > NET_MAX_HOST)
		return call_error_param(call, param, "%s is %zu bytes long; at most %d are accepted", param, n, NET_MAX_HOST);
	j->host = strdup(s);
	return j->host ? 0 : -ENOMEM;
}

/* judge: the name is the resolve action's to decide (an empty one is no name). */
static int park_host(struct call *call, const char *param, const char *s, bool judge,
                     void (*work)(struct resolve_job *), int (*build)(struct call *, struct net_job *))
{
	struct net_job *j = net_job_new(work, build);
	int rc;

	if (!j)
		return -ENOMEM;
	rc = take_host(call, param, s, j);
	if (!rc && judge)
		rc = plan_run_params(call);
	if (rc) {
		net_job_free(j);
		return rc;
	}
	return net_park(call, j);
}

static int plan_hostname(struct plan *pl, const struct plan_in *in)
{
	return plan_resolve_name(pl, ((const struct hostname_params *)in->params)->hostname);
}

static int rpc_net_gethostbyname(struct call *call, void *params)
{
	return park_host(call, "hostname", ((struct hostname_params *)params)->hostname, true, hbn_work, hbn_build);
}

static int rpc_net_gethostbyname_ex(struct call *call, void *params)
{
	return park_host(call, "hostname", ((struct hostname_params *)params)->hostname, true, hbnx_work,
	                 hbnx_build);
}

static int rpc_net_gethostbyaddr(struct call *call, void *params)
{
	/* Decided by its plan before it runs (plan_resolve): an address is no name to judge. */
	return park_host(call, "address", ((struct hostaddr_params *)params)->address, false, hba_work, hba_build);
}

/* ---- net.getfqdn ---- */

struct fqdn_params {
	const char *name;
};

/* Python's getfqdn: the name stripped; "", "0.0.0.0" and "::" mean this host;
 * then gethostbyaddr, and the first of its name and aliases that holds a dot,
 * else its name; on any failure the name as it was. */
static void fqdn_work(struct resolve_job *job)
{
	struct net_job *j = (struct net_job *)job;
	char *s = j->host, *e, self[HOST_NAME_MAX + 1];
	const char *pick;
	struct sockaddr_storage ss;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (!*s || strcmp(s, "0.0.0.0") == 0 || strcmp(s, "::") == 0) {
		if (gethostname(self, sizeof(self)) < 0) {
			j->err = errno;
			return;
		}
		self[sizeof(self) - 1] = '\0';
		s = self;
	}
	pick = s;
	if (setipaddr(s, AF_UNSPEC, &ss, &j->err) == 0) {
		if (ss.ss_family == AF_INET)
			hostent_lookup(j, NULL, &((struct sockaddr_in *)&ss)->sin_addr, sizeof(struct in_addr), AF_INET);
		else
			hostent_lookup(j, NULL, &((struct sockaddr_in6 *)&ss)->sin6_addr, sizeof(struct in6_addr), AF_INET6);
		if (!j->err && !j->herr && j->he.h_name) {
			pick = j->he.h_name;
			if (!strchr(pick, '.'))
				for (char **a = j->he.h_aliases; a && *a; a++)
					if (strchr(*a, '.')) {
						pick = *a;
						break;
					}
		}
	}
	j->err = 0;
	j->name = strdup(pick);
	if (!j->name)
		j->err = ENOMEM;
}

static int fqdn_build(struct call *call, struct net_job *j)
{
	json_object *r;

	if (j->err)
		return -j->err;
	r = call_result(call);
	if (!r)
		return -ENOMEM;
	json_object_object_add(r, "name", json_object_new_string(j->name));
	return 0;
}

static int rpc_net_getfqdn(struct call *call, void *params)
{
	const char *name = ((struct fqdn_params *)params)->name;

	return park_host(call, "name", name ? name : "", true, fqdn_work, fqdn_build);
}

/* An empty name (or none) is this host: no name for the host selectors. */
static int plan_fqdn(struct plan *pl, const struct plan_in *in)
{
	const char *name = ((const struct fqdn_params *)in->params)->name;

	return plan_resolve_name(pl, name && *name ? name : NULL);
}

/* ---- net.gethostname, net.sethostname ---- */

struct sethostname_params {
	const char *name;
};

static int rpc_net_gethostname(struct call *call, void *params)
{
	char buf[HOST_NAME_MAX + 1];
	json_object *r;

	if (gethostname(buf, sizeof(buf)) < 0)
		return -errno;
	buf[sizeof(buf) - 1] = '\0';
	r = call_result(call);
	if (!r)
		return -ENOMEM;
	json_object_object_add(r, "name", json_object_new_string(buf));
	return 0;
}

static int rpc_net_sethostname(struct call *call, void *params)
{
	const char *name = ((struct sethostname_params *)params)->name;

	/* The kernel refuses more than HOST_NAME_MAX bytes with EINVAL, as Python shows. */
	if (sethostname(name, strlen(name)) < 0)
		return -errno;
	return call_result(call) ? 0 : -ENOMEM;
}

/* ---- net.getprotobyname, net.getservbyname, net.getservbyport ---- */

struct protoname_params {
	const char *name;
};

struct servname_params {
	const char *name;
	const char *proto;
};

struct servport_params {
	int64_t port;
	const char *proto;
};

static int rpc_net_getprotobyname(struct call *call, void *params)
{
	const char *name = ((struct protoname_params *)params)->name;
	struct protoent pe, *pp = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t size = NET_BUF_START;
	int rc;

	/* /etc/protocols through NSS "files"/"db": local, so inline. */
	for (;;) {
		char *b = realloc(buf, size);
		if (!b)
			return -ENOMEM;
		buf = b;
		rc = getprotobyname_r(name, &pe, buf, size, &pp);
		if (rc != ERANGE || size >= NET_BUF_MAX)
			break;
		size *= 2;
	}
	if (!pp)
		/* Python raises a bare OSError here; the protocol's OS errors carry an
		 * errno, so nothing found is ENOENT. */
		return call_error_os(call, -ENOENT, "protocol not found: '%.100s'", name);
	json_object_object_add(call_result(call), "proto", json_object_new_int(pe.p_proto));
	return 0;
}

/* getservbyname_r/getservbyport_r with a growing buffer; *sp NULL when not found. */
static int serv_lookup(const char *name, int port_be, const char *proto, struct servent *se,
                       struct servent **sp, char **buf)
{
	size_t size = NET_BUF_START;

	for (;;) {
		char *b = realloc(*buf, size);
		int rc;
		if (!b)
			return -ENOMEM;
		*buf = b;
		rc = name ? getservbyname_r(name, proto, se, b, size, sp)
		          : getservbyport_r(port_be, proto, se, b, size, sp);
		if (rc != ERANGE || size >= NET_BUF_MAX)
			return 0;
		size *= 2;
	}
}

static int rpc_net_getservbyname(struct call *call, void *params)
{
	struct servname_params *p = params;
	_cleanup_free_ char *buf = NULL;
	struct servent se, *sp = NULL;
	int rc = serv_lookup(p->name, 0, p->proto, &se, &sp, &buf);

	if (rc < 0)
		return rc;
	if (!sp)
		return call_error_os(call, -ENOENT, "service/proto not found: '%.100s'%s%.20s", p->name,
		                 p->proto ? " for " : "", p->proto ? p->proto : "");
	json_object_object_add(call_result(call), "port", json_object_new_int(ntohs((uint16_t)se.s_port)));
	return 0;
}

static int rpc_net_getservbyport(struct call *call, void *params)
{
	struct servport_params *p = params;
	_cleanup_free_ char *buf = NULL;
	struct servent se, *sp = NULL;
	int rc = serv_lookup(NULL, htons((uint16_t)p->port), p->proto, &se, &sp, &buf);

	if (rc < 0)
		return rc;
	if (!sp)
		return call_error_os(call, -ENOENT, "port/proto not found: %lld%s%.20s", (long long)p->port,
		                 p->proto ? " for " : "", p->proto ? p->proto : "");
	json_object_object_add(call_result(call), "name", json_object_new_string(se.s_name));
	return 0;
}

/* ---- net.if_nameindex, net.if_nametoindex, net.if_indextoname ---- */

struct ifname_params {
	const char *name;
};

struct ifindex_params {
	int64_t index;
};

static int rpc_net_if_nameindex(struct call *call, void *params)
{
	struct if_nameindex *ni = if_nameindex();
	json_object *r, *arr;

	if (!ni)
		return -errno;
	r = call_result(call);
	arr = json_object_new_array();
	if (!r || !arr) {
		json_object_put(arr);
		if_freenameindex(ni);
		return -ENOMEM;
	}
	for (struct if_nameindex *p = ni; p->if_index; p++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "index", json_object_new_int64(p->if_index));
		json_object_object_add(e, "name", json_object_new_string(p->if_name));
		json_object_array_add(arr, e);
	}
	if_freenameindex(ni);
	json_object_object_add(r, "interfaces", arr);
	return 0;
}

static int rpc_net_if_nametoindex(struct call *call, void *params)
{
	const char *name = ((struct ifname_params *)params)->name;
	unsigned idx;

	errno = 0;
	idx = if_nametoindex(name);
	if (!idx) {
		int e = errno ? errno : ENODEV;
		return call_error_os(call, -e, "no interface named '%.40s' (%s)", name, strerror(e));
	}
	json_object_object_add(call_result(call), "index", json_object_new_int64(idx));
	return 0;
}

static int rpc_net_if_indextoname(struct call *call, void *params)
{
	int64_t idx = ((struct ifindex_params *)params)->index;
	char buf[IF_NAMESIZE];

	errno = 0;
	if (!if_indextoname((unsigned)idx, buf)) {
		int e = errno ? errno : ENXIO;
		return call_error_os(call, -e, "no interface with index %lld (%s)", (long long)idx, strerror(e));
	}
	json_object_object_add(call_result(call), "name", json_object_new_string(buf));
	return 0;
}

/* ---- net.getdefaulttimeout, net.setdefaulttimeout ---- */

struct settimeout_params {
	struct param_timeout timeout;
};

static int rpc_net_getdefaulttimeout(struct call *call, void *params)
{
	struct conn *c = call->conn;
	json_object *r = call_result(call);

	if (!r)
		return -ENOMEM;
	json_object_object_add(r, "timeout", c->default_block ? NULL : json_object_new_double(c->default_timeout_s));
	return 0;
}

static int rpc_net_setdefaulttimeout(struct call *call, void *params)
{
	struct settimeout_params *p = params;
	struct conn *c = call->conn;

	c->default_block = p->timeout.block;
	c->default_timeout_s = p->timeout.block ? 0 : p->timeout.seconds;
	return call_result(call) ? 0 : -ENOMEM;
}

/* ---- the table ---- */

#define F(type, member) offsetof(struct type, member)

static const struct param_desc gai_params[] = {
	{ "host", &conv_host, F(gai_params, host), PF_REQUIRED,
	  .doc = "a host name or numeric address (string), or null for the local/wildcard address" },
	{ "port", &conv_port, F(gai_params, port), PF_REQUIRED,
	  .doc = "a port number 0-65535, a service name or number as a string, or null" },
	{ "family", PT_CONST, F(gai_params, family), 0, .def = AF_UNSPEC, .kind = SBC_AF,
	  .doc = "address family (AF_UNSPEC: any)" },
	{ "type", PT_CONST, F(gai_params, type), 0, .def = 0, .kind = SBC_SOCK,
	  .doc = "socket type (0: any)" },
	{ "proto", PT_CONST, F(gai_params, proto), 0, .def = 0, .kind = SBC_IPPROTO,
	  .doc = "protocol (0: any)" },
	{ "flags", PT_FLAGS, F(gai_params, flags), 0, .def = 0, .kind = SBC_AI,
	  .doc = "AI_* flags" },
	{ 0 }
};

static const struct param_desc gni_params[] = {
	{ "address", PT_ADDRESS, F(gni_params, address), PF_REQUIRED, .arg = &gni_address,
	  .doc = "an AF_INET or AF_INET6 address with a numeric host (object or tuple form)" },
	{ "flags", PT_FLAGS, F(gni_params, flags), 0, .def = 0, .kind = SBC_NI,
	  .doc = "NI_* flags" },
	{ 0 }
};

static const struct param_desc hostname_params[] = {
	{ "hostname", PT_STRING, F(hostname_params, hostname), PF_REQUIRED,
	  .doc = "a host name or an IPv4 literal" },
	{ 0 }
};

static const struct param_desc hostaddr_params[] = {
	{ "address", PT_STRING, F(hostaddr_params, address), PF_REQUIRED,
	  .doc = "an IPv4 or IPv6 address as a string (a name is looked up first)" },
	{ 0 }
};

static const struct param_desc fqdn_params[] = {
	{ "name", PT_STRING, F(fqdn_params, name), 0,
	  .doc = "the name to qualify; absent or empty: this host" },
	{ 0 }
};

static const struct param_desc sethostname_params[] = {
	{ "name", PT_STRING, F(sethostname_params, name), PF_REQUIRED,
	  .doc = "the new host name (at most 64 bytes)" },
	{ 0 }
};

static const struct param_desc protoname_params[] = {
	{ "name", PT_STRING, F(protoname_params, name), PF_REQUIRED,
	  .doc = "a protocol name from /etc/protocols (\"tcp\", \"icmp\", ...)" },
	{ 0 }
};

static const struct param_desc servname_params[] = {
	{ "name", PT_STRING, F(servname_params, name), PF_REQUIRED,
	  .doc = "a service name from /etc/services (\"ssh\", \"http\", ...)" },
	{ "proto", PT_STRING, F(servname_params, proto), 0,
	  .doc = "\"tcp\" or \"udp\"; absent: any" },
	{ 0 }
};

static const struct param_desc servport_params[] = {
	{ "port", PT_INT, F(servport_params, port), PF_REQUIRED, .min = 0, .max = 65535,
	  .doc = "a port number" },
	{ "proto", PT_STRING, F(servport_params, proto), 0,
	  .doc = "\"tcp\" or \"udp\"; absent: any" },
	{ 0 }
};

static const struct param_desc ifname_params[] = {
	{ "name", PT_STRING, F(ifname_params, name), PF_REQUIRED, .doc = "an interface name" },
	{ 0 }
};

static const struct param_desc ifindex_params[] = {
	{ "index", PT_INT, F(ifindex_params, index), PF_REQUIRED, .min = 0, .max = UINT32_MAX,
	  .doc = "an interface index" },
	{ 0 }
};

static const struct param_desc settimeout_params[] = {
	{ "timeout", PT_TIMEOUT, F(settimeout_params, timeout), PF_REQUIRED,
	  .doc = "seconds (0: non-blocking), or null: block without limit" },
	{ 0 }
};

static const struct param_desc no_params[] = { { 0 } };

#define S_HOSTENT "{\"type\":\"object\",\"required\":[\"hostname\",\"aliases\",\"addresses\"]," \
	"\"properties\":{\"hostname\":{\"type\":\"string\"}," \
	"\"aliases\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}," \
	"\"addresses\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}"
#define S_NAME "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"}}}"
#define S_EMPTY "{\"type\":\"object\",\"additionalProperties\":false}"
#define S_CONST "{\"type\":[\"string\",\"integer\"]}"

static const struct rpc_method methods[] = {
	{ .name = "net.getaddrinfo",
	  .summary = "Python's getaddrinfo: the addresses for a host and port, looked up off the event loop.",
	  .handler = rpc_net_getaddrinfo,
	  .params = gai_params, .params_size = sizeof(struct gai_params),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"results\"],\"properties\":{\"results\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"required\":[\"family\",\"type\",\"proto\",\"canonname\",\"address\"],"
	  "\"properties\":{\"family\":" S_CONST ",\"type\":" S_CONST ",\"proto\":" S_CONST ","
	  "\"canonname\":{\"type\":\"string\"},\"address\":{\"type\":\"object\"}}}}}}",
	  .flags = RPC_MAY_BLOCK,
	  .plan = plan_getaddrinfo, },
	{ .name = "net.getnameinfo",
	  .summary = "Python's getnameinfo: host and service names for a numeric address.",
	  .handler = rpc_net_getnameinfo,
	  .params = gni_params, .params_size = sizeof(struct gni_params),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"host\",\"service\"],"
	  "\"properties\":{\"host\":{\"type\":\"string\"},\"service\":{\"type\":\"string\"}}}",
	  .flags = RPC_MAY_BLOCK,
	  .plan = plan_resolve, },
	{ .name = "net.gethostbyname",
	  .summary = "Python's gethostbyname: one IPv4 address for a host name.",
	  .handler = rpc_net_gethostbyname,
	  .params = hostname_params, .params_size = sizeof(struct hostname_params),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"address\"],\"properties\":{\"address\":{\"type\":\"string\"}}}",
	  .flags = RPC_MAY_BLOCK | RPC_PLAN_IN_HANDLER,
	  .plan = plan_hostname, },
	{ .name = "net.gethostbyname_ex",
	  .summary = "Python's gethostbyname_ex: a host's name, aliases and IPv4 addresses.",
	  .handler = rpc_net_gethostbyname_ex,
	  .params = hostname_params, .params_size = sizeof(struct hostname_params),
	  .result_schema = S_HOSTENT,
	  .flags = RPC_MAY_BLOCK | RPC_PLAN_IN_HANDLER,
	  .plan = plan_hostname, },
	{ .name = "net.gethostbyaddr",
	  .summary = "Python's gethostbyaddr: the name, aliases and addresses for an address.",
	  .handler = rpc_net_gethostbyaddr,
	  .params = hostaddr_params, .params_size = sizeof(struct hostaddr_params),
	  .result_schema = S_HOSTENT,
	  .flags = RPC_MAY_BLOCK,
	  .plan = plan_resolve, },
	{ .name = "net.getfqdn",
	  .summary = "Python's getfqdn: a fully qualified name for name (default: this host), else name unchanged.",
	  .handler = rpc_net_getfqdn,
	  .params = fqdn_params, .params_size = sizeof(struct fqdn_params),
	  .result_schema = S_NAME,
	  .flags = RPC_MAY_BLOCK | RPC_PLAN_IN_HANDLER,
	  .plan = plan_fqdn, },
	{ .name = "net.gethostname",
	  .summary = "The daemon's host name (Python's gethostname).",
	  .handler = rpc_net_gethostname,
	  .params = no_params,
	  .result_schema = S_NAME,
	  .plan = plan_resolve, },
	{ .name = "net.sethostname",
	  .summary = "Sets the host name of the daemon's UTS namespace (Python's sethostname).",
	  .handler = rpc_net_sethostname,
	  .params = sethostname_params, .params_size = sizeof(struct sethostname_params),
	  .result_schema = S_EMPTY,
	  .plan = plan_sethostname, },
	{ .name = "net.getprotobyname",
	  .summary = "The number of a protocol by its /etc/protocols name.",
	  .handler = rpc_net_getprotobyname,
	  .params = protoname_params, .params_size = sizeof(struct protoname_params),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"proto\"],\"properties\":{\"proto\":{\"type\":\"integer\"}}}",
	  .plan = plan_resolve, },
	{ .name = "net.getservbyname",
	  .summary = "The port of a service by its /etc/services name.",
	  .handler = rpc_net_getservbyname,
	  .params = servname_params, .params_size = sizeof(struct servname_params),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"port\"],"
	  "\"properties\":{\"port\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":65535}}}",
	  .plan = plan_resolve, },
	{ .name = "net.getservbyport",
	  .summary = "The /etc/services name of a port.",
	  .handler = rpc_net_getservbyport,
	  .params = servport_params, .params_size = sizeof(struct servport_params),
	  .result_schema = S_NAME,
	  .plan = plan_resolve, },
	{ .name = "net.if_nameindex",
	  .summary = "The network interfaces: index and name of each.",
	  .handler = rpc_net_if_nameindex,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"interfaces\"],\"properties\":{\"interfaces\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\",\"required\":[\"index\",\"name\"],"
	  "\"properties\":{\"index\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"}}}}}}",
	  .plan = plan_resolve, },
	{ .name = "net.if_nametoindex",
	  .summary = "The index of a network interface by name.",
	  .handler = rpc_net_if_nametoindex,
	  .params = ifname_params, .params_size = sizeof(struct ifname_params),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"index\"],\"properties\":{\"index\":{\"type\":\"integer\"}}}",
	  .plan = plan_resolve, },
	{ .name = "net.if_indextoname",
	  .summary = "The name of a network interface by index.",
	  .handler = rpc_net_if_indextoname,
	  .params = ifindex_params, .params_size = sizeof(struct ifindex_params),
	  .result_schema = S_NAME,
	  .plan = plan_resolve, },
	{ .name = "net.getdefaulttimeout",
	  .summary = "This connection's default timeout for new sockets (null: blocking).",
	  .handler = rpc_net_getdefaulttimeout,
	  .params = no_params,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"timeout\"],"
	  "\"properties\":{\"timeout\":{\"type\":[\"number\",\"null\"],\"minimum\":0}}}",
	  .flags = RPC_OWN_STATE, },
	{ .name = "net.setdefaulttimeout",
	  .summary = "Sets this connection's default timeout for new sockets (null: blocking).",
	  .handler = rpc_net_setdefaulttimeout,
	  .params = settimeout_params, .params_size = sizeof(struct settimeout_params),
	  .result_schema = S_EMPTY,
	  .flags = RPC_OWN_STATE, },
};

const struct rpc_family rpc_net_family = { methods, ARRAY_SIZE(methods) };
