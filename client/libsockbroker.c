#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* libsockbroker's typed helpers: sb_parse_spec, sb_reply_errno, sb_listen,
 * sb_connect_tcp, sb_socket. They are built on the transport (transport.h)
 * alone: each request is a json_object handed to sbt_call, and each result is
 * read as the json_object the reply holds, never through text. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "sockbroker.h"
#include "transport.h"
#include "util.h"

/* ---------------------------------------------------------------- specs */

int sb_parse_spec(const char *spec, struct sb_spec *out)
{
	const char *rest, *host, *portstr, *end;
	size_t hlen, len;
	long port = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->port = -1;
	if (!spec)
		return -EINVAL;
	if (strncmp(spec, "unix:", 5) == 0) {
		rest = spec + 5;
		out->family = AF_UNIX;
		out->type = SOCK_STREAM;
		if (*rest == '@') {
			out->abstract = 1;
			rest++;
		}
		len = strlen(rest);
		if (len == 0)
			return -EINVAL;
		/* sun_path is 108 bytes: a path needs its NUL, an abstract name its
		 * leading NUL. */
		if (len >= sizeof(out->path))
			return -ENAMETOOLONG;
		memcpy(out->path, rest, len + 1);
		return 0;
	}
	if (strncmp(spec, "tcp:", 4) == 0)
		out->type = SOCK_STREAM;
	else if (strncmp(spec, "udp:", 4) == 0)
		out->type = SOCK_DGRAM;
	else
		return -EINVAL;
	rest = spec + 4;
	if (*rest == '[') {
		char lit[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;
		const char *pct;

		host = rest + 1;
		end = strchr(host, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = (size_t)(end - host);
		portstr = end + 2;
		pct = memchr(host, '%', hlen);
		len = pct ? (size_t)(pct - host) : hlen;
		if (len == 0 || len >= sizeof(lit) || (pct && (size_t)(pct - host) + 1 == hlen))
			return -EINVAL;
		memcpy(lit, host, len);
		lit[len] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) != 1)
			return -EINVAL;
		out->family = AF_INET6;
	} else {
		struct in_addr a4;

		end = strrchr(rest, ':');
		if (!end)
			return -EINVAL;         /* no port */
		host = rest;
		hlen = (size_t)(end - rest);
		portstr = end + 1;
		/* An IPv6 literal must be bracketed; brackets must come first. */
		if (memchr(host, ':', hlen) || memchr(host, '[', hlen) || memchr(host, ']', hlen))
			return -EINVAL;
		if (hlen >= sizeof(out->host))
			return -ENAMETOOLONG;
		memcpy(out->host, host, hlen);
		out->host[hlen] = '\0';
		if (hlen == 0 || inet_pton(AF_INET, out->host, &a4) == 1)
			out->family = AF_INET;
		else {
			for (size_t i = 0; i < hlen; i++)
				if (!isalnum((unsigned char)host[i]) && !strchr("-._", host[i]))
					return -EINVAL;
			out->family = AF_UNSPEC;
		}
	}
	if (hlen >= sizeof(out->host))
		return -ENAMETOOLONG;
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	/* The port: 1-5 decimal digits, at most 65535. */
	len = strlen(portstr);
	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)portstr[i]))
			return -EINVAL;
		port = port * 10 + (portstr[i] - '0');
	}
	if (port > 65535)
		return -EINVAL;
	out->port = (int)port;
	return 0;
}

/* ---------------------------------------------------------------- helpers */

int sb_reply_errno(const sb_reply *r)
{
	json_object *d = sbt_reply_data(r), *jn;
	int64_t n;

	if (!r || sb_reply_ok(r))
		return 0;
	switch (sb_reply_error_code(r)) {
	case SB_OS_ERROR:
		if (d && json_object_object_get_ex(d, "errno", &jn) &&
		    json_object_is_type(jn, json_type_int) &&
		    (n = json_object_get_int64(jn)) > 0 && n < 4096)
			return -(int)n;
		return -EIO;
	case SB_DENIED:
		return -EPERM;
	case SB_NO_HANDLE:
		return -EBADF;
	case SB_LIMIT:
		return -EMFILE;
	case SB_TIMEOUT:
		return -ETIMEDOUT;
	case SB_GAI_ERROR:
	case SB_HOST_ERROR:
		return -ENOENT;
	case SB_INVALID_PARAMS:
		return -EINVAL;
	case SB_METHOD_NOT_FOUND:
		return -ENOSYS;
	default:
		return -EPROTO;
	}
}

/* Internally err is never NULL: it holds the error reply of the latest
 * failed call (the last error wins), which helper_finish hands to the caller. */
static void keep_error(sb_reply **err, sb_reply *r)
{
	sb_reply_free(*err);
	*err = r;
}

/* One call with params p (taken, NULL: -ENOMEM). A result goes to *out; an
 * error reply gives its errno and goes to *err (see keep_error). */
static int helper_call(sb_client *c, const char *method, json_object *p, sb_reply **out,
                       sb_reply **err)
{
	sb_reply *r = NULL;
	int rc;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	rc = sbt_call(c, method, p, NULL, 0, &r);
	if (rc < 0)
		return rc;
	if (!sb_reply_ok(r)) {
		rc = sb_reply_errno(r);
		keep_error(err, r);
		return rc;
	}
	*out = r;
	return 0;
}

/* A call whose result brings exactly one descriptor: that descriptor. */
static int helper_call_fd(sb_client *c, const char *method, json_object *p, sb_reply **err)
{
	sb_reply *r;
	int fd, rc = helper_call(c, method, p, &r, err);

	if (rc < 0)
		return rc;
	fd = sb_reply_nfds(r) == 1 ? sb_reply_take_fd(r, 0) : -1;
	sb_reply_free(r);
	return fd < 0 ? -EPROTO : fd;
}

/* Adds key: val to o; false when val is NULL or adding failed (val freed). */
static bool jset(json_object *o, const char *key, json_object *val)
{
	if (!o || !val || json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* [host, port] */
static json_object *jtuple(const char *host, int port)
{
	json_object *a = json_object_new_array_ext(2);

	if (!a)
		return NULL;
	if (json_object_array_add(a, json_object_new_string(host)) < 0 ||
	    json_object_array_add(a, json_object_new_int(port)) < 0) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

/* params {"handle": h} */
static json_object *handle_params(int64_t h)
{
	json_object *p = json_object_new_object();

	if (!jset(p, "handle", json_object_new_int64(h))) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* The integer member key of a result, or -1. */
static int64_t result_int(const sb_reply *r, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(sbt_reply_result(r), key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* A stream listener (socket.listen_on with pass) on address (taken) of family
 * (a name or number, taken). */
static int listen_stream(sb_client *c, json_object *family, json_object *address, int backlog,
                         sb_reply **err)
{
	json_object *p = json_object_new_object();
	bool ok = jset(p, "address", address) & jset(p, "family", family);

	if (ok && backlog >= 0)
		ok = jset(p, "backlog", json_object_new_int(backlog > 65535 ? 65535 : backlog));
	if (ok)
		ok = jset(p, "pass", json_object_new_boolean(1));
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return helper_call_fd(c, "socket.listen_on", p, err);
}

/* A bound datagram socket: socket.create, (IPV6_V6ONLY,) socket.bind,
 * socket.detach; the handle is closed if a step fails. Takes family and address. */
static int bind_dgram(sb_client *c, json_object *family, json_object *address, sb_reply **err)
{
	json_object *p = json_object_new_object();
	bool v6 = json_object_is_type(family, json_type_string)
	          ? strcmp(json_object_get_string(family), "AF_INET6") == 0
	          : json_object_get_int(family) == AF_INET6;
	sb_reply *r = NULL;
	int64_t h;
	int rc;

	if (!jset(p, "family", family) || !jset(p, "type", json_object_new_string("SOCK_DGRAM"))) {
		json_object_put(p);
		json_object_put(address);
		return -ENOMEM;
	}
	rc = helper_call(c, "socket.create", p, &r, err);
	if (rc < 0) {
		json_object_put(address);
		return rc;
	}
	h = result_int(r, "handle");
	sb_reply_free(r);
	if (h <= 0) {
		json_object_put(address);
		return -EPROTO;
	}
	if (v6) {
		p = handle_params(h);
		if (!jset(p, "level", json_object_new_string("IPPROTO_IPV6")) ||
		    !jset(p, "option", json_object_new_string("IPV6_V6ONLY")) ||
		    !jset(p, "value", json_object_new_int(1))) {
			json_object_put(p);
			p = NULL;
		}
		rc = helper_call(c, "socket.setsockopt", p, &r, err);
		sb_reply_free(r);
		if (rc < 0)
			goto fail;
	}
	p = handle_params(h);
	if (!jset(p, "address", address)) {
		json_object_put(p);
		p = NULL;
	}
	address = NULL;
	rc = helper_call(c, "socket.bind", p, &r, err);
	sb_reply_free(r);
	if (rc < 0)
		goto fail;
	return helper_call_fd(c, "socket.detach", handle_params(h), err);
fail:
	json_object_put(address);
	/* Best effort: the handle would otherwise live as long as the connection. */
	{
		json_object *cp = handle_params(h);
		if (cp && sbt_call(c, "socket.close", cp, NULL, 0, &r) == 0)
			sb_reply_free(r);
	}
	return rc;
}

/* Hands the error reply behind a failure to the caller (err may be NULL);
 * after a success there is none. Returns rc. */
static int helper_finish(int rc, sb_reply *e, sb_reply **err)
{
	if (rc >= 0) {
		sb_reply_free(e);
		e = NULL;
	}
	if (err)
		*err = e;
	else
		sb_reply_free(e);
	return rc;
}

/* One listener on a numeric address (taken) of family (taken). */
static int listen_one(sb_client *c, const struct sb_spec *sp, json_object *family,
                      json_object *address, int backlog, sb_reply **err)
{
	if (sp->type == SOCK_DGRAM)
		return bind_dgram(c, family, address, err);
	return listen_stream(c, family, address, backlog, err);
}

static int listen_impl(sb_client *c, const char *spec, int backlog, sb_reply **err)
{
	struct sb_spec sp;
	int rc;

	if (!c)
		return -EINVAL;
	rc = sb_parse_spec(spec, &sp);
	if (rc < 0)
		return rc;
	if (sp.family == AF_UNIX) {
		json_object *a = json_object_new_object();

		if (!jset(a, sp.abstract ? "abstract" : "path", json_object_new_string(sp.path))) {
			json_object_put(a);
			return -ENOMEM;
		}
		return listen_stream(c, json_object_new_string("AF_UNIX"), a, backlog, err);
	}
	/* A host name goes to the daemon as it is, which resolves it for the
	 * socket's family (AF_INET, as Python's create_server) and judges the
	 * name and its address: the library never resolves behind the
	 * policy's back. */
	return listen_one(c, &sp, json_object_new_string(sp.family == AF_INET6 ? "AF_INET6" : "AF_INET"),
	                  jtuple(sp.host, sp.port), backlog, err);
}

/* One socket.connect_to {address (taken), timeout?, pass: true}. */
static int connect_one(sb_client *c, json_object *address, double timeout_s, sb_reply **err)
{
	json_object *p = json_object_new_object();
	bool ok = jset(p, "address", address) && jset(p, "pass", json_object_new_boolean(1));

	if (ok && timeout_s > 0)
		ok = jset(p, "timeout", json_object_new_double(timeout_s));
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return helper_call_fd(c, "socket.connect_to", p, err);
}

static int connect_tcp_impl(sb_client *c, const char *host, int port, double timeout_s,
                            sb_reply **err)
{
	if (!c || !host || !*host || port < 0 || port > 65535 || isnan(timeout_s))
		return -EINVAL;
	if (strlen(host) > 1024)
		return -ENAMETOOLONG;
	/* A literal or a name, as create_connection takes it: the daemon
	 * resolves a name itself, tries each address the policy allows for it,
	 * and a host-pinned grant holds. */
	return connect_one(c, jtuple(host, port), timeout_s, err);
}

int sb_listen(sb_client *c, const char *spec, int backlog, sb_reply **err)
{
	sb_reply *e = NULL;
	int rc = listen_impl(c, spec, backlog, &e);

	return helper_finish(rc, e, err);
}

int sb_connect_tcp(sb_client *c, const char *host, int port, double timeout_s,
                   sb_reply **err)
{
	sb_reply *e = NULL;
	int rc = connect_tcp_impl(c, host, port, timeout_s, &e);

	return helper_finish(rc, e, err);
}

int sb_socket(sb_client *c, int family, int type, int protocol, sb_reply **err)
{
	sb_reply *e = NULL;
	json_object *p;
	int fd;

	if (!c)
		return helper_finish(-EINVAL, NULL, err);
	p = json_object_new_object();
	if (!jset(p, "family", json_object_new_int(family)) ||
	    !jset(p, "type", json_object_new_int(type)) ||
	    !jset(p, "proto", json_object_new_int(protocol)) ||
	    !jset(p, "pass", json_object_new_boolean(1))) {
		json_object_put(p);
		return helper_finish(-ENOMEM, NULL, err);
	}
	fd = helper_call_fd(c, "socket.create", p, &e);
	return helper_finish(fd, e, err);
}

