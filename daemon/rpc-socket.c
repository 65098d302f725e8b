/* The socket methods: creating sockets (socket.create, pair, connect_to,
 * listen_on, adopt) and the socket object's methods, with Python's semantics. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "base64.h"
#include "authz.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "resolver.h"
#include "server.h"
#include "sock.h"
#include "sockopt.h"
#include "util.h"

#define TYPE_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)
/* Python's create_server default backlog. */
#define DEFAULT_BACKLOG 128
#define MAX_SEND_BUFFERS 1024

/* ---- shared pieces ---- */

static int set_blocking(int fd, bool blocking)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* A descriptor shared through socket.fd may have been switched to blocking
 * by its other holder: the loop must never block, so make sure first. */
static int ensure_nonblock(struct sock *sk)
{
	return set_blocking(sk->fd, false);
}

static int limit_error(struct call *call, int r)
{
	if (r == -EDQUOT)
		return call_error_limit(call, "handles", call->conn->lim_handles);
	return r;
}

/* Hands a new socket to the caller: as a descriptor (pass) or a handle. fd taken. */
static int give_socket(struct call *call, json_object *r, int fd, int family, int type, int proto,
                       bool pass)
{
	struct sock *sk;
	int rc;

	if (pass) {
		/* Passed descriptors are in blocking mode, as socket(2) makes them. */
		set_blocking(fd, true);
		return call_push_fd(call, fd);
	}
	rc = sock_new(call->conn, fd, family, type, proto, &sk);
	if (rc < 0)
		return limit_error(call, rc);
	json_object_object_add(r, "handle", json_object_new_uint64(sk->handle));
	return 0;
}

static void add_kind(json_object *r, int family, int type, int proto)
{
	json_object_object_add(r, "family", sbc_to_json(SBC_AF, family));
	json_object_object_add(r, "type", sbc_to_json(SBC_SOCK, type));
	json_object_object_add(r, "proto", sbc_to_json(SBC_IPPROTO, proto));
}

/* A host name in bind/connect/sendto/sendmsg: resolved off the loop as
 * CPython's setipaddr does (getaddrinfo with the socket's family, the first
 * answer), then the handler runs again with the address in call->resolved. */
struct addr_job {
	struct resolve_job job;
	struct call *call;
	char *host;
	struct sbaddr addr;     /* decoded port (and flowinfo, scope); address filled in */
	int gai, err;
};

/* What a re-run finds in call->resolved: the address and the name it came
 * from, which the policy's host selectors judge (host pinning). */
struct resolved_addr {
	struct sbaddr a;
	char host[NI_MAXHOST];
};

static void addr_job_free(struct addr_job *j)
{
	free(j->host);
	free(j);
}

static void addr_work(struct resolve_job *job)
{
	struct addr_job *j = (struct addr_job *)job;
	struct addrinfo hints = { .ai_family = j->addr.ss.ss_family }, *res = NULL;

	j->gai = getaddrinfo(j->host, NULL, &hints, &res);
	j->err = errno;
	if (j->gai)
		return;
	if (res->ai_family == AF_INET && j->addr.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&j->addr.ss)->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	else if (res->ai_family == AF_INET6 && j->addr.ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&j->addr.ss)->sin6_addr = ((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	else
		j->gai = EAI_ADDRFAMILY;
	freeaddrinfo(res);
}

static void addr_done(struct resolve_job *job)
{
	struct addr_job *j = (struct addr_job *)job;
	struct call *call = j->call;
	int rc;

	call->park = NULL;
	call->cancel = NULL;
	if (j->gai) {
		json_object *d = json_object_new_object();
		const char *name = sbc_name(SBC_EAI, j->gai);
		json_object_object_add(d, "gai", json_object_new_int(j->gai));
		if (name)
			json_object_object_add(d, "name", json_object_new_string(name));
		if (j->gai == EAI_SYSTEM) {
			json_object_put(d);
			rc = -(j->err ? j->err : EIO);
		} else {
			rc = call_error(call, SB_ERR_GAI, d, "getaddrinfo('%.200s'): %s", j->host, gai_strerror(j->gai));
		}
		addr_job_free(j);
		call_finish(call, rc);
		return;
	}
	call->resolved = calloc(1, sizeof(struct resolved_addr));
	if (!call->resolved) {
		addr_job_free(j);
		call_finish(call, -ENOMEM);
		return;
	}
	((struct resolved_addr *)call->resolved)->a = j->addr;
	snprintf(((struct resolved_addr *)call->resolved)->host, NI_MAXHOST, "%s", j->host);
	addr_job_free(j);
	/* Again from the top: the socket may have gone meanwhile (-32011). */
	rc = call->method->handler(call, call->params);
	if (rc != CALL_PENDING)
		call_finish(call, rc);
}

static void addr_destroy(struct resolve_job *job)
{
	addr_job_free((struct addr_job *)job);
}


/* Decodes an address for family. A host name parks the call on the resolver
 * (CALL_PENDING: the handler returns it after undoing its own work) and the
 * handler runs again with the answer; *name is then the name the daemon
 * resolved, else NULL (a literal). */
static int decode_address(struct call *call, int family, json_object *j, struct sbaddr *a, const char **name)
{
	struct sbaddr_error err = { { 0 } };
	char *host = NULL;
	int r;
	json_object *d;

	*name = NULL;
	if (call->resolved) {
		*a = ((struct resolved_addr *)call->resolved)->a;
		*name = ((struct resolved_addr *)call->resolved)->host;
		return 0;
	}
	r = sbaddr_decode(family, j, a, &host, &err);
	if (r == 0)
		return 0;
	if (r == SBADDR_NEEDS_RESOLVE) {
		struct addr_job *job = calloc(1, sizeof(*job));
		if (!job) {
			free(host);
			return -ENOMEM;
		}
		job->host = host;
		job->addr = *a;
		job->call = call;
		job->job.work = addr_work;
		job->job.done = addr_done;
		job->job.destroy = addr_destroy;
		return call_park_resolve(call, &job->job);
	}
	d = json_object_new_object();
	json_object_object_add(d, "param", json_object_new_string("address"));
	if (r == -ENODEV || r == -ENAMETOOLONG || r == -EAFNOSUPPORT || r == -EINVAL)
		return call_error(call, JRPC_INVALID_PARAMS, d, "%s",
		                  err.msg[0] ? err.msg : "address: malformed for this family");
	json_object_put(d);
	return r;
}

static json_object *encode_ss(const struct sockaddr_storage *ss, socklen_t len)
{
	return sbaddr_encode((const struct sockaddr *)ss, len);
}

/* Asks the policy about action on a socket of family/type/proto, at address a
 * (NULL: none) that the daemon resolved from name host (NULL: a literal). */
static int gate(struct call *call, enum policy_action action, int family, int type, int proto,
                const struct sbaddr *a, const char *host)
{
	struct policy_request q = {
		.action = action, .family = family, .type = type & ~TYPE_FLAGS, .proto = proto,
		.host = host, .level = -1, .option = -1,
	};

	if (a) {
		q.have_addr = true;
		memcpy(&q.addr, &a->ss, sizeof(q.addr));
	}
	return authz_check(call, &q);
}

/* A destination (connect, sendto, sendmsg): decoded (a name parks the call)
 * and judged as a connect. */
static int decode_destination(struct call *call, const struct sock *sk, json_object *address, struct sbaddr *out)
{
	const char *host;
	int rc = decode_address(call, sk->family, address, out, &host);

	return rc ? rc : gate(call, POLICY_CONNECT, sk->family, sk->type, sk->proto, out, host);
}

/* A descriptor handed to the client (pass, socket.fd, socket.detach) escapes
 * every later check: its holder may connect or send it anywhere the daemon's
 * network namespace reaches (connect(AF_UNSPEC) even disconnects a TCP socket
 * or a listener). So it leaves only under a `create` entry that covers such a
 * socket; a bind or connect grant alone keeps it in the daemon, used through
 * its handle. Asked before anything is made, so a denial leaves nothing. */
static int gate_hand_out(struct call *call, int family, int type, int proto)
{
	struct policy_request q = {
		.action = POLICY_CREATE, .family = family, .type = type & ~TYPE_FLAGS, .proto = proto,
		.level = -1, .option = -1, .explicit_create = true,
	};

	return authz_check(call, &q);
}

static int gate_option(struct call *call, const struct sock *sk, int level, int option)
{
	struct policy_request q = {
		.action = POLICY_SETSOCKOPT, .family = sk->family, .type = sk->type, .proto = sk->proto,
		.level = level, .option = option,
	};

	return authz_check(call, &q);
}

/* ---- socket.create / socket.pair / socket.adopt ---- */

struct p_create {
	int family, type, proto;
	bool pass;
};

static const struct param_desc create_params[] = {
	{ "family", PT_CONST, offsetof(struct p_create, family), 0, .def = AF_INET, .kind = SBC_AF,
	  .doc = "address family (default AF_INET)" },
	{ "type", PT_CONST, offsetof(struct p_create, type), 0, .def = SOCK_STREAM, .kind = SBC_SOCK,
	  .doc = "socket type (default SOCK_STREAM)" },
	{ "proto", PT_CONST, offsetof(struct p_create, proto), 0, .def = 0, .kind = SBC_IPPROTO,
	  .doc = "protocol (default 0)" },
	{ "pass", PT_BOOL, offsetof(struct p_create, pass), 0, .doc = "answer with the descriptor, keep no handle" },
	{ 0 }
};

static const struct param_desc pair_params[] = {
	{ "family", PT_CONST, offsetof(struct p_create, family), 0, .def = AF_UNIX, .kind = SBC_AF,
	  .doc = "address family (default AF_UNIX)" },
	{ "type", PT_CONST, offsetof(struct p_create, type), 0, .def = SOCK_STREAM, .kind = SBC_SOCK,
	  .doc = "socket type (default SOCK_STREAM)" },
	{ "proto", PT_CONST, offsetof(struct p_create, proto), 0, .def = 0, .kind = SBC_IPPROTO,
	  .doc = "protocol (default 0)" },
	{ "pass", PT_BOOL, offsetof(struct p_create, pass), 0, .doc = "answer with the two descriptors" },
	{ 0 }
};

static int rpc_socket_create(struct call *call, void *params)
{
	struct p_create *p = params;
	json_object *r = call_result(call);
	int type = p->type & ~TYPE_FLAGS, fd, rc;

	rc = p->pass ? gate_hand_out(call, p->family, type, p->proto)
	             : gate(call, POLICY_CREATE, p->family, type, p->proto, NULL, NULL);
	if (rc)
		return rc;
	fd = socket(p->family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, p->proto);
	if (fd < 0) {
		int e = errno;
		if (e == EAFNOSUPPORT) {
			json_object *d = json_object_new_object();
			const char *fam = sbc_name(SBC_AF, p->family);
			json_object_object_add(d, "errno", json_object_new_int(e));
			json_object_object_add(d, "name", json_object_new_string("EAFNOSUPPORT"));
			return call_error(call, SB_ERR_OS, d, "address family %s is not supported by this kernel",
			                  fam ? fam : "?");
		}
		return -e;
	}
	add_kind(r, p->family, type, p->proto);
	return give_socket(call, r, fd, p->family, type, p->proto, p->pass);
}

static int rpc_socket_pair(struct call *call, void *params)
{
	struct p_create *p = params;
	json_object *r = call_result(call), *handles;
	int type = p->type & ~TYPE_FLAGS, sv[2], rc;
	struct sock *a, *b;

	rc = p->pass ? gate_hand_out(call, p->family, type, p->proto)
	             : gate(call, POLICY_CREATE, p->family, type, p->proto, NULL, NULL);
	if (rc)
		return rc;
	if (socketpair(p->family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, p->proto, sv) < 0)
		return -errno;
	add_kind(r, p->family, type, p->proto);
	if (p->pass) {
		set_blocking(sv[0], true);
		set_blocking(sv[1], true);
		rc = call_push_fd(call, sv[0]);
		if (rc < 0) {
			safe_close(sv[1]);
			return rc;
		}
		return call_push_fd(call, sv[1]);
	}
	rc = sock_new(call->conn, sv[0], p->family, type, p->proto, &a);
	if (rc < 0) {
		safe_close(sv[1]);
		return limit_error(call, rc);
	}
	rc = sock_new(call->conn, sv[1], p->family, type, p->proto, &b);
	if (rc < 0) {
		sock_close(a);
		return limit_error(call, rc);
	}
	handles = json_object_new_array();
	json_object_array_add(handles, json_object_new_uint64(a->handle));
	json_object_array_add(handles, json_object_new_uint64(b->handle));
	json_object_object_add(r, "handles", handles);
	return 0;
}

static int rpc_socket_adopt(struct call *call, void *params)
{
	int fd = call_take_fd(call, 0), family, type, proto, rc;
	socklen_t l = sizeof(int);
	struct stat st;
	json_object *r = call_result(call);

	/* Check what arrived before keeping it. */
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		safe_close(fd);
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "the descriptor sent is not a socket");
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &l) < 0 ||
	    (l = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0) ||
	    (l = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)) {
		int e = errno;
		safe_close(fd);
		return -e;
	}
	rc = gate(call, POLICY_ADOPT, family, type, proto, NULL, NULL);
	if (rc) {
		safe_close(fd);
		return rc;
	}
	add_kind(r, family, type, proto);
	return give_socket(call, r, fd, family, type, proto, false);
}

/* ---- connect_to / listen_on ---- */

struct p_connect_to {
	json_object *address;
	struct param_timeout timeout;
	json_object *source_address;
	bool pass;
};

static const struct param_desc connect_to_params[] = {
	{ "address", PT_ANY, offsetof(struct p_connect_to, address), PF_REQUIRED,
	  .doc = "[host, port] or {host, port}; a name is resolved and each address tried in turn" },
	{ "timeout", PT_TIMEOUT, offsetof(struct p_connect_to, timeout), 0,
	  .doc = "seconds for the connection and the new socket (default: the connection's default)" },
	{ "source_address", PT_ANY, offsetof(struct p_connect_to, source_address), 0,
	  .doc = "[host, port] to bind before connecting" },
	{ "pass", PT_BOOL, offsetof(struct p_connect_to, pass), 0, .doc = "answer with the descriptor" },
	{ 0 }
};

/* Addresses connect_to tries, in getaddrinfo's order, as create_connection does. */
#define CONNECT_TO_MAX_ADDRS 16

struct connect_state {
	struct sbaddr addr;
	bool started;
	struct sbaddr cands[CONNECT_TO_MAX_ADDRS];  /* connect_to: the next addresses */
	int ncands, cur;
	bool has_src;
	struct sbaddr src;
	bool pass;
	bool ex;        /* connect_ex: report errno in the result */
	bool to;        /* connect_to: report local and peer, hand over */
	struct sock *own;   /* connect_to's socket: closed with the state unless kept */
	bool keep;
};

static void connect_state_free(void *p)
{
	struct connect_state *st = p;

	/* Python's create_connection closes the socket when it fails; a passed
	 * socket was duplicated into the reply, and ours goes too. */
	if (st->own && !st->keep)
		sock_close(st->own);
	free(st);
}

static int connect_result(struct sock_wait *w)
{
	struct connect_state *st = w->state;
	struct sock *sk = w->sk;
	json_object *r = call_result(w->call);
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (!st->to)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(sk->fd, (struct sockaddr *)&ss, &l) == 0)
		json_object_object_add(r, "local", encode_ss(&ss, l));
	l = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(sk->fd, (struct sockaddr *)&ss, &l) == 0)
		json_object_object_add(r, "peer", encode_ss(&ss, l));
	if (st->pass) {
		int fd = fcntl(sk->fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -errno;
		/* Shared file status, but ours is closed right after. */
		set_blocking(fd, true);
		return call_push_fd(w->call, fd);
	}
	json_object_object_add(r, "handle", json_object_new_uint64(sk->handle));
	st->keep = true;
	return 0;
}

/* Moves connect_to to its next candidate address: new socket (and source
 * bind), same handle. */
static int connect_to_next(struct connect_state *st, struct sock *sk)
{
	int family, fd;

	st->cur++;
	st->addr = st->cands[st->cur];
	st->started = false;
	family = st->addr.ss.ss_family;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (st->has_src && bind(fd, (struct sockaddr *)&st->src.ss, st->src.len) < 0) {
		int e = errno;
		safe_close(fd);
		return -e;
	}
	sock_replace_fd(sk, fd, family);
	return 0;
}

/* A non-blocking connect, then SO_ERROR once the socket is writable. */
static int connect_try(struct sock_wait *w)
{
	struct connect_state *st = w->state;
	struct sock *sk = w->sk;
	int err = 0;
	socklen_t l = sizeof(err);

	if (!st->started) {
		st->started = true;
		if (connect(sk->fd, (struct sockaddr *)&st->addr.ss, st->addr.len) == 0)
			goto done;
		err = errno;
		if (err == EINPROGRESS || err == EAGAIN)
			return -EAGAIN;
	} else if (getsockopt(sk->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) {
		err = errno;
	}
	if (err == 0)
		goto done;
	if (st->to && st->cur + 1 < st->ncands) {
		/* That address failed: a fresh socket for the next one, same handle. */
		int r = connect_to_next(st, sk);
		if (r < 0)
			return r;
		return connect_try(w);
	}
	if (st->ex) {
		json_object *r = call_result(w->call);
		json_object_object_add(r, "errno", json_object_new_int(err));
		json_object_object_add(r, "name", sbc_errno_name(err) ? json_object_new_string(sbc_errno_name(err))
		                                                       : json_object_new_int(err));
		return 0;
	}
	return -err;
done:
	if (st->ex) {
		json_object *r = call_result(w->call);
		json_object_object_add(r, "errno", json_object_new_int(0));
		json_object_object_add(r, "name", json_object_new_null());
		return 0;
	}
	return connect_result(w);
}

/* Starts connect_to over st->cands (at least one): the socket for the first,
 * its source bind, and the connect operation, which owns st from here. */
static int connect_to_start(struct call *call, struct connect_state *st,
                            const struct param_timeout *timeout)
{
	int family = st->cands[0].ss.ss_family, fd, rc;
	bool asked[2] = { false, false };
	struct sock *sk;

	/* Every family the attempts may use must be one the client may hold. */
	for (int i = 0; st->pass && i < st->ncands; i++) {
		int f = st->cands[i].ss.ss_family;
		if (asked[f == AF_INET6])
			continue;
		asked[f == AF_INET6] = true;
		rc = gate_hand_out(call, f, SOCK_STREAM, 0);
		if (rc) {
			free(st);
			return rc;
		}
	}
	st->addr = st->cands[0];
	st->cur = 0;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		free(st);
		return -errno;
	}
	rc = sock_new(call->conn, fd, family, SOCK_STREAM, 0, &sk);
	if (rc < 0) {
		free(st);
		return limit_error(call, rc);
	}
	st->own = sk;
	st->to = true;
	if (timeout->given) {
		sk->block = timeout->block;
		sk->timeout_s = timeout->block ? 0 : timeout->seconds;
	}
	if (st->has_src && bind(sk->fd, (struct sockaddr *)&st->src.ss, st->src.len) < 0) {
		rc = -errno;
		connect_state_free(st);
		return rc;
	}
	rc = sock_op(call, sk, EPOLLOUT, false, connect_try, st, connect_state_free, NULL);
	return rc == -EAGAIN ? -EINPROGRESS : rc;
}

/* getaddrinfo for connect_to, on a resolver worker. */
struct connect_to_job {
	struct resolve_job job;
	struct call *call;
	char *host;
	char port[8];
	struct addrinfo *res;
	int gai, err;
	struct connect_state *st;
	struct param_timeout timeout;
};

static void connect_to_job_free(struct connect_to_job *j)
{
	if (j->res)
		freeaddrinfo(j->res);
	free(j->st);
	free(j->host);
	free(j);
}

static void connect_to_work(struct resolve_job *job)
{
	struct connect_to_job *j = (struct connect_to_job *)job;
	/* As Python's create_connection: getaddrinfo(host, port, 0, SOCK_STREAM). */
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };

	j->gai = getaddrinfo(j->host, j->port, &hints, &j->res);
	j->err = errno;
}

static void connect_to_done(struct resolve_job *job)
{
	struct connect_to_job *j = (struct connect_to_job *)job;
	struct call *call = j->call;
	struct connect_state *st = j->st;
	int rc;

	call->park = NULL;
	call->cancel = NULL;
	if (j->gai) {
		json_object *d = json_object_new_object();
		const char *name = sbc_name(SBC_EAI, j->gai);
		json_object_object_add(d, "gai", json_object_new_int(j->gai));
		if (name)
			json_object_object_add(d, "name", json_object_new_string(name));
		rc = j->gai == EAI_SYSTEM ? -(j->err ? j->err : EIO)
		                          : call_error(call, SB_ERR_GAI, d, "getaddrinfo('%.200s'): %s", j->host,
		                                       gai_strerror(j->gai));
		if (j->gai == EAI_SYSTEM)
			json_object_put(d);
		connect_to_job_free(j);
		call_finish(call, rc);
		return;
	}
	/* Only the addresses the policy allows for this name are tried: the
	 * socket is pinned to what the daemon's own resolution returned. */
	int denied = 0, found = 0;
	for (struct addrinfo *ai = j->res; ai && st->ncands < CONNECT_TO_MAX_ADDRS; ai = ai->ai_next) {
		struct sbaddr cand;
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(st->cands[0].ss))
			continue;
		found++;
		memset(&cand, 0, sizeof(cand));
		memcpy(&cand.ss, ai->ai_addr, ai->ai_addrlen);
		cand.len = ai->ai_addrlen;
		rc = gate(call, POLICY_CONNECT, ai->ai_family, SOCK_STREAM, 0, &cand, j->host);
		if (rc) {
			/* Keep the first denial: it answers when no address is allowed. */
			if (denied++ == 0)
				call_error_keep(call);
			continue;
		}
		st->cands[st->ncands++] = cand;
	}
	j->st = NULL;
	if (!st->ncands) {
		free(st);
		rc = found ? call_error_restore(call)
		           : call_error(call, SB_ERR_GAI, NULL, "getaddrinfo('%.200s'): no IPv4 or IPv6 address", j->host);
	} else {
		call_error_clear(call);
		rc = connect_to_start(call, st, &j->timeout);
	}
	connect_to_job_free(j);
	if (rc != CALL_PENDING)
		call_finish(call, rc);
}

static void connect_to_destroy(struct resolve_job *job)
{
	connect_to_job_free((struct connect_to_job *)job);
}


/* Python's create_connection: resolve the host (off the loop, unless it is a
 * literal), then try each address in turn until one connects. */
static int rpc_socket_connect_to(struct call *call, void *params)
{
	struct p_connect_to *p = params;
	struct connect_state *st = calloc(1, sizeof(*st));
	struct connect_to_job *j;
	json_object *jh = NULL, *jp = NULL;
	const char *host;
	int64_t port;
	int rc;

	if (!st)
		return -ENOMEM;
	if (p->source_address) {
		int sf = sbaddr_guess_family(p->source_address);
		const char *none;
		rc = sf == AF_INET || sf == AF_INET6 ? decode_address(call, sf, p->source_address, &st->src, &none)
		                                    : call_error(call, JRPC_INVALID_PARAMS, NULL,
		                                                 "source_address must be a numeric [host, port]");
		if (!rc)
			rc = gate(call, POLICY_BIND, sf, SOCK_STREAM, 0, &st->src, NULL);
		if (rc) {
			free(st);
			return rc;
		}
		st->has_src = true;
	}
	st->pass = p->pass;
	/* A literal: no look-up. */
	if (sbaddr_guess_family(p->address) == AF_INET || sbaddr_guess_family(p->address) == AF_INET6) {
		const char *none;
		rc = decode_address(call, sbaddr_guess_family(p->address), p->address, &st->cands[0], &none);
		if (!rc)
			rc = gate(call, POLICY_CONNECT, st->cands[0].ss.ss_family, SOCK_STREAM, 0, &st->cands[0], NULL);
		if (rc) {
			free(st);
			return rc;
		}
		st->ncands = 1;
		return connect_to_start(call, st, &p->timeout);
	}
	if (json_object_is_type(p->address, json_type_array) && json_object_array_length(p->address) == 2) {
		jh = json_object_array_get_idx(p->address, 0);
		jp = json_object_array_get_idx(p->address, 1);
	} else if (json_object_is_type(p->address, json_type_object)) {
		json_object_object_get_ex(p->address, "host", &jh);
		json_object_object_get_ex(p->address, "port", &jp);
	}
	if (!jh || !json_object_is_type(jh, json_type_string) || !jp || !json_object_is_type(jp, json_type_int) ||
	    (port = json_object_get_int64(jp)) < 0 || port > 65535 || json_object_get_string_len(jh) == 0 ||
	    json_object_get_string_len(jh) > 1024) {
		free(st);
		return call_error(call, JRPC_INVALID_PARAMS, NULL,
		                  "address must be [host, port] with a host name or literal and a port 0-65535");
	}
	host = json_object_get_string(jh);
	j = calloc(1, sizeof(*j));
	if (!j || !(j->host = strdup(host))) {
		free(j);
		free(st);
		return -ENOMEM;
	}
	snprintf(j->port, sizeof(j->port), "%d", (int)port);
	j->call = call;
	j->st = st;
	j->timeout = p->timeout;
	j->job.work = connect_to_work;
	j->job.done = connect_to_done;
	j->job.destroy = connect_to_destroy;
	return call_park_resolve(call, &j->job);
}

struct p_listen_on {
	json_object *address;
	int family;
	int64_t backlog;
	bool reuse_port, dualstack_ipv6, pass;
};

static const struct param_desc listen_on_params[] = {
	{ "address", PT_ANY, offsetof(struct p_listen_on, address), PF_REQUIRED,
	  .doc = "[host, port] or {host, port} to bind" },
	{ "family", PT_CONST, offsetof(struct p_listen_on, family), 0, .def = AF_UNSPEC, .kind = SBC_AF,
	  .doc = "AF_INET or AF_INET6 (default: by the address), or AF_UNIX" },
	{ "backlog", PT_INT, offsetof(struct p_listen_on, backlog), 0, 0, 65535, DEFAULT_BACKLOG,
	  .doc = "listen backlog (default 128)" },
	{ "reuse_port", PT_BOOL, offsetof(struct p_listen_on, reuse_port), 0, .doc = "set SO_REUSEPORT" },
	{ "dualstack_ipv6", PT_BOOL, offsetof(struct p_listen_on, dualstack_ipv6), 0,
	  .doc = "AF_INET6 socket that also accepts IPv4 (IPV6_V6ONLY off)" },
	{ "pass", PT_BOOL, offsetof(struct p_listen_on, pass), 0, .doc = "answer with the descriptor" },
	{ 0 }
};

/* Python's create_server. */
static int rpc_socket_listen_on(struct call *call, void *params)
{
	struct p_listen_on *p = params;
	json_object *r = call_result(call);
	int family = p->family, one = 1, zero = 0, rc;
	_cleanup_close_ int fd = -1;
	const char *host;
	struct sbaddr a;
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (family == AF_UNSPEC) {
		family = sbaddr_guess_family(p->address);
		if (family == AF_UNSPEC)
			family = p->dualstack_ipv6 ? AF_INET6 : AF_INET;
	}
	if (p->dualstack_ipv6 && family != AF_INET6)
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "dualstack_ipv6 needs an AF_INET6 address");
	rc = decode_address(call, family, p->address, &a, &host);
	if (rc)
		return rc;
	rc = gate(call, POLICY_BIND, family, SOCK_STREAM, 0, &a, host);
	if (rc)
		return rc;
	rc = gate(call, POLICY_LISTEN, family, SOCK_STREAM, 0, &a, host);
	if (rc)
		return rc;
	if (p->pass && (rc = gate_hand_out(call, family, SOCK_STREAM, 0)))
		return rc;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* As Python does on POSIX: reuse the address of a socket in TIME_WAIT. */
	if (family != AF_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (p->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -errno;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, p->dualstack_ipv6 ? &zero : &one, sizeof(int)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		return -errno;
	if (listen(fd, (int)p->backlog) < 0)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &l) == 0)
		json_object_object_add(r, "local", encode_ss(&ss, l));
	return give_socket(call, r, TAKE_FD(fd), family, SOCK_STREAM, 0, p->pass);
}

/* ---- methods on a handle ---- */

struct p_handle {
	int64_t handle;
};

#define HANDLE_PARAM(type) \
	{ "handle", PT_INT, offsetof(type, handle), PF_REQUIRED, 1, INT64_MAX, .doc = "the socket's handle" }

static const struct param_desc handle_params[] = { HANDLE_PARAM(struct p_handle), { 0 } };

struct p_addr {
	int64_t handle;
	json_object *address;
};

static const struct param_desc addr_params[] = {
	HANDLE_PARAM(struct p_addr),
	{ "address", PT_ANY, offsetof(struct p_addr, address), PF_REQUIRED,
	  .doc = "an address of the socket's family, object or tuple form" },
	{ 0 }
};

static int rpc_socket_bind(struct call *call, void *params)
{
	struct p_addr *p = params;
	struct sock *sk;
	struct sbaddr a;
	const char *host;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	rc = decode_address(call, sk->family, p->address, &a, &host);
	if (rc)
		return rc;
	rc = gate(call, POLICY_BIND, sk->family, sk->type, sk->proto, &a, host);
	if (rc)
		return rc;
	if (bind(sk->fd, (struct sockaddr *)&a.ss, a.len) < 0)
		return -errno;
	call_result(call);
	return 0;
}

struct p_listen {
	int64_t handle;
	int64_t backlog;
};

static const struct param_desc listen_params[] = {
	HANDLE_PARAM(struct p_listen),
	{ "backlog", PT_INT, offsetof(struct p_listen, backlog), 0, 0, 65535, DEFAULT_BACKLOG,
	  .doc = "listen backlog (default 128)" },
	{ 0 }
};

static int rpc_socket_listen(struct call *call, void *params)
{
	struct p_listen *p = params;
	struct sock *sk;
	struct sbaddr bound;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	memset(&bound, 0, sizeof(bound));
	bound.len = sizeof(bound.ss);
	/* An unbound socket listens on an address the kernel picks: judged as such. */
	if (getsockname(sk->fd, (struct sockaddr *)&bound.ss, &bound.len) < 0)
		return -errno;
	rc = gate(call, POLICY_LISTEN, sk->family, sk->type, sk->proto, &bound, NULL);
	if (rc)
		return rc;
	if (listen(sk->fd, (int)p->backlog) < 0)
		return -errno;
	call_result(call);
	return 0;
}

static int connect_common(struct call *call, struct p_addr *p, bool ex)
{
	struct sock *sk;
	struct connect_state *st;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	rc = decode_destination(call, sk, p->address, &st->addr);
	if (rc) {
		free(st);
		return rc;
	}
	st->ex = ex;
	ensure_nonblock(sk);
	rc = sock_op(call, sk, EPOLLOUT, false, connect_try, st, free, NULL);
	/* Timeout 0: the connection goes on in the kernel; Python raises EINPROGRESS. */
	if (rc == -EAGAIN)
		rc = -EINPROGRESS;
	if (rc == -EINPROGRESS && ex) {
		json_object *r = call_result(call);
		json_object_object_add(r, "errno", json_object_new_int(EINPROGRESS));
		json_object_object_add(r, "name", json_object_new_string("EINPROGRESS"));
		return 0;
	}
	return rc;
}

static int rpc_socket_connect(struct call *call, void *params)
{
	return connect_common(call, params, false);
}

static int rpc_socket_connect_ex(struct call *call, void *params)
{
	return connect_common(call, params, true);
}

struct p_accept {
	int64_t handle;
	bool pass;
};

static const struct param_desc accept_params[] = {
	HANDLE_PARAM(struct p_accept),
	{ "pass", PT_BOOL, offsetof(struct p_accept, pass), 0, .doc = "answer with the descriptor" },
	{ 0 }
};

static int accept_try(struct sock_wait *w)
{
	struct sock *sk = w->sk;
	bool pass = *(bool *)w->state;
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	json_object *r;
	int fd;

	memset(&ss, 0, sizeof(ss));
	fd = accept4(sk->fd, (struct sockaddr *)&ss, &l, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = call_result(w->call);
	json_object_object_add(r, "peer", encode_ss(&ss, l));
	return give_socket(w->call, r, fd, sk->family, sk->type, sk->proto, pass);
}

static int rpc_socket_accept(struct call *call, void *params)
{
	struct p_accept *p = params;
	struct sock *sk;
	bool *pass;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	/* Before accepting: a denial must not use up a pending connection. */
	rc = p->pass ? gate_hand_out(call, sk->family, sk->type, sk->proto) : authz_require_rule(call);
	if (rc)
		return rc;
	pass = malloc(sizeof(*pass));
	if (!pass)
		return -ENOMEM;
	*pass = p->pass;
	ensure_nonblock(sk);
	return sock_op(call, sk, EPOLLIN, false, accept_try, pass, free, NULL);
}

static int name_common(struct call *call, void *params, bool peer)
{
	struct p_handle *p = params;
	struct sock *sk;
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	memset(&ss, 0, sizeof(ss));
	if ((peer ? getpeername : getsockname)(sk->fd, (struct sockaddr *)&ss, &l) < 0)
		return -errno;
	json_object_object_add(call_result(call), "address", encode_ss(&ss, l));
	return 0;
}

static int rpc_socket_getsockname(struct call *call, void *params)
{
	return name_common(call, params, false);
}

static int rpc_socket_getpeername(struct call *call, void *params)
{
	return name_common(call, params, true);
}

/* ---- options ---- */

struct p_sockopt {
	int64_t handle;
	int level;
	json_object *option;
	json_object *value;
	int64_t buflen;
};

static const struct param_desc setsockopt_params[] = {
	HANDLE_PARAM(struct p_sockopt),
	{ "level", PT_CONST, offsetof(struct p_sockopt, level), PF_REQUIRED, .kind = SBC_SOL,
	  .doc = "SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, ... or a number" },
	{ "option", PT_ANY, offsetof(struct p_sockopt, option), PF_REQUIRED,
	  .doc = "the option's name at that level, or a number" },
	{ "value", PT_ANY, offsetof(struct p_sockopt, value), PF_REQUIRED,
	  .doc = "integer, boolean, a typed form (see docs), or {\"data\": base64}" },
	{ 0 }
};

static const struct param_desc getsockopt_params[] = {
	HANDLE_PARAM(struct p_sockopt),
	{ "level", PT_CONST, offsetof(struct p_sockopt, level), PF_REQUIRED, .kind = SBC_SOL,
	  .doc = "option level" },
	{ "option", PT_ANY, offsetof(struct p_sockopt, option), PF_REQUIRED, .doc = "option name or number" },
	{ "buflen", PT_INT, offsetof(struct p_sockopt, buflen), 0, 0, SOCKOPT_MAX_LEN, 0,
	  .doc = "bytes to read: answers {data} raw (default: the option's typed value)" },
	{ 0 }
};

static int option_number(struct call *call, int level, json_object *j, int *option)
{
	if (sockopt_option_from_json(level, j, option) == 0)
		return 0;
	return call_error_param(call, "option", "option: '%.60s' is not an option name of this level",
	                        json_object_get_string(j));
}

static int rpc_socket_setsockopt(struct call *call, void *params)
{
	struct p_sockopt *p = params;
	unsigned char buf[SOCKOPT_MAX_LEN];
	char err[200] = "";
	socklen_t len = 0;
	struct sock *sk;
	int option, rc = sock_get(call, p->handle, &sk);

	if (rc || (rc = option_number(call, p->level, p->option, &option)))
		return rc;
	rc = sockopt_encode(p->level, option, p->value, buf, &len, err, sizeof(err));
	if (rc == -EINVAL)
		return call_error_param(call, "value", "%s", err);
	if (rc < 0)
		return rc;
	/* Values the kernel reserves to privilege: the daemon has it, the policy decides. */
	rc = sockopt_value_privileged(sk->family, sk->type, sk->proto, p->level, option, buf, len)
	             ? gate_option(call, sk, p->level, option) : authz_require_rule(call);
	if (rc)
		return rc;
	if (setsockopt(sk->fd, p->level, option, buf, len) < 0)
		return -errno;
	call_result(call);
	return 0;
}

static int rpc_socket_getsockopt(struct call *call, void *params)
{
	struct p_sockopt *p = params;
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len;
	struct sock *sk;
	json_object *v;
	int option, rc = sock_get(call, p->handle, &sk);

	if (rc || (rc = option_number(call, p->level, p->option, &option)))
		return rc;
	len = p->buflen ? (socklen_t)p->buflen : sockopt_default_len(p->level, option);
	if (len > sizeof(buf))
		len = sizeof(buf);
	memset(buf, 0, sizeof(buf));
	if (getsockopt(sk->fd, p->level, option, buf, &len) < 0)
		return -errno;
	if (p->buflen) {
		char *b64 = b64_encode_alloc(buf, len);
		if (!b64)
			return -ENOMEM;
		json_object_object_add(call_result(call), "data", json_object_new_string(b64));
		free(b64);
		return 0;
	}
	v = sockopt_decode(p->level, option, buf, len);
	if (!v)
		return -ENOMEM;
	/* A raw value comes back as {data}; a typed one as {value}. */
	if (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 1 &&
	    json_object_object_get_ex(v, "data", NULL)) {
		json_object_object_add(call_result(call), "data", json_object_get(json_object_object_get(v, "data")));
		json_object_put(v);
	} else {
		json_object_object_add(call_result(call), "value", v);
	}
	return 0;
}

/* ---- timeouts ---- */

struct p_timeout {
	int64_t handle;
	struct param_timeout timeout;
	bool flag;
};

static const struct param_desc settimeout_params[] = {
	HANDLE_PARAM(struct p_timeout),
	{ "timeout", PT_TIMEOUT, offsetof(struct p_timeout, timeout), PF_REQUIRED,
	  .doc = "seconds (0: non-blocking) or null (block without limit)" },
	{ 0 }
};

static const struct param_desc setblocking_params[] = {
	HANDLE_PARAM(struct p_timeout),
	{ "flag", PT_BOOL, offsetof(struct p_timeout, flag), PF_REQUIRED,
	  .doc = "true: timeout null; false: timeout 0" },
	{ 0 }
};

static int rpc_socket_settimeout(struct call *call, void *params)
{
	struct p_timeout *p = params;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	sk->block = p->timeout.block;
	sk->timeout_s = p->timeout.block ? 0 : p->timeout.seconds;
	call_result(call);
	return 0;
}

static int rpc_socket_gettimeout(struct call *call, void *params)
{
	struct p_handle *p = params;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	json_object_object_add(call_result(call), "timeout", sock_timeout_json(sk));
	return 0;
}

static int rpc_socket_setblocking(struct call *call, void *params)
{
	struct p_timeout *p = params;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	sk->block = p->flag;
	sk->timeout_s = 0;
	call_result(call);
	return 0;
}

/* ---- sending ---- */

struct p_send {
	int64_t handle;
	struct param_bytes data;
	int flags;
	json_object *address;
};

static const struct param_desc send_params[] = {
	HANDLE_PARAM(struct p_send),
	{ "data", PT_BYTES, offsetof(struct p_send, data), PF_REQUIRED, .doc = "the bytes (or text)" },
	{ "flags", PT_FLAGS, offsetof(struct p_send, flags), 0, .kind = SBC_MSG, .doc = "MSG_* flags" },
	{ 0 }
};

static const struct param_desc sendto_params[] = {
	HANDLE_PARAM(struct p_send),
	{ "data", PT_BYTES, offsetof(struct p_send, data), PF_REQUIRED, .doc = "the bytes (or text)" },
	{ "address", PT_ANY, offsetof(struct p_send, address), PF_REQUIRED, .doc = "the destination" },
	{ "flags", PT_FLAGS, offsetof(struct p_send, flags), 0, .kind = SBC_MSG, .doc = "MSG_* flags" },
	{ 0 }
};

struct send_state {
	unsigned char *buf;     /* taken from the params */
	size_t len, off;
	int flags;
	bool all;               /* sendall: until everything is out */
	bool has_addr;
	struct sbaddr addr;
};

static void send_state_free(void *p)
{
	struct send_state *st = p;

	if (st)
		free(st->buf);
	free(st);
}

static int send_try(struct sock_wait *w)
{
	struct send_state *st = w->state;
	struct sock *sk = w->sk;

	do {
		ssize_t n = st->has_addr
			? sendto(sk->fd, st->buf + st->off, st->len - st->off, st->flags | MSG_DONTWAIT | MSG_NOSIGNAL,
			         (struct sockaddr *)&st->addr.ss, st->addr.len)
			: send(sk->fd, st->buf + st->off, st->len - st->off, st->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		st->off += (size_t)n;
		sk->bytes_out += (uint64_t)n;
	} while (st->all && st->off < st->len);
	json_object_object_add(call_result(w->call), "sent", json_object_new_uint64(st->off));
	return 0;
}

/* A sendall that times out reports how much went (protocol: "sent": n). */
static void send_timeout_data(struct sock_wait *w, json_object *d)
{
	struct send_state *st = w->state;

	json_object_object_add(d, "sent", json_object_new_uint64(st->off));
}

static int send_common(struct call *call, struct p_send *p, bool all)
{
	struct send_state *st;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	if (p->address) {
		rc = decode_destination(call, sk, p->address, &st->addr);
		if (rc) {
			free(st);
			return rc;
		}
		st->has_addr = true;
	}
	st->buf = TAKE_PTR(p->data.buf);
	st->len = p->data.len;
	st->flags = p->flags & ~MSG_DONTWAIT;
	st->all = all;
	return sock_op(call, sk, EPOLLOUT, p->flags & MSG_DONTWAIT, send_try, st, send_state_free,
	               all ? send_timeout_data : NULL);
}

static int rpc_socket_send(struct call *call, void *params)
{
	return send_common(call, params, false);
}

static int rpc_socket_sendall(struct call *call, void *params)
{
	return send_common(call, params, true);
}

static int rpc_socket_sendto(struct call *call, void *params)
{
	return send_common(call, params, false);
}

/* ---- receiving ---- */

struct p_recv {
	int64_t handle;
	int64_t bufsize;
	int flags;
	int64_t ancbufsize;
};

static const struct param_desc recv_params[] = {
	HANDLE_PARAM(struct p_recv),
	{ "bufsize", PT_INT, offsetof(struct p_recv, bufsize), PF_REQUIRED, 0, INT32_MAX,
	  .doc = "most bytes to receive (capped at the daemon's recv_bytes limit)" },
	{ "flags", PT_FLAGS, offsetof(struct p_recv, flags), 0, .kind = SBC_MSG, .doc = "MSG_* flags" },
	{ 0 }
};

static const struct param_desc recvmsg_params[] = {
	HANDLE_PARAM(struct p_recv),
	{ "bufsize", PT_INT, offsetof(struct p_recv, bufsize), PF_REQUIRED, 0, INT32_MAX,
	  .doc = "most bytes to receive (capped)" },
	{ "ancbufsize", PT_INT, offsetof(struct p_recv, ancbufsize), 0, 0, 65536, 0,
	  .doc = "room for ancillary data, in bytes (default 0; room for descriptors is added)" },
	{ "flags", PT_FLAGS, offsetof(struct p_recv, flags), 0, .kind = SBC_MSG, .doc = "MSG_* flags" },
	{ 0 }
};

enum recv_kind { RECV_PLAIN, RECV_FROM, RECV_MSG };

struct recv_state {
	size_t bufsize, ancbufsize;
	int flags;
	enum recv_kind kind;
};

static int recv_try(struct sock_wait *w)
{
	struct recv_state *st = w->state;
	struct sock *sk = w->sk;
	json_object *r;
	unsigned char *buf = malloc(st->bufsize ? st->bufsize : 1);
	unsigned char *cbuf = NULL;
	struct sockaddr_storage ss;
	struct iovec iov = { buf, st->bufsize };
	struct msghdr mh = { 0 };
	ssize_t n;
	char *b64;

	if (!buf)
		return -ENOMEM;
	memset(&ss, 0, sizeof(ss));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_name = &ss;
	mh.msg_namelen = sizeof(ss);
	if (st->kind == RECV_MSG) {
		/* Room for the asked ancillary data plus descriptors the peer sends. */
		size_t cl = st->ancbufsize + CMSG_SPACE(sizeof(int) * 16);
		cbuf = calloc(1, cl);
		if (!cbuf) {
			free(buf);
			return -ENOMEM;
		}
		mh.msg_control = cbuf;
		mh.msg_controllen = cl;
	}
	do
		n = recvmsg(sk->fd, &mh, st->flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		free(buf);
		free(cbuf);
		return -e;
	}
	if (!(st->flags & MSG_PEEK))
		sk->bytes_in += (uint64_t)n;
	r = call_result(w->call);
	/* MSG_TRUNC asks for the real length of a datagram, which may exceed the buffer. */
	b64 = b64_encode_alloc(buf, (size_t)n < st->bufsize ? (size_t)n : st->bufsize);
	free(buf);
	if (!b64) {
		free(cbuf);
		return -ENOMEM;
	}
	json_object_object_add(r, "data", json_object_new_string(b64));
	free(b64);
	if (st->kind != RECV_PLAIN) {
		json_object_object_add(r, "address", mh.msg_namelen ? encode_ss(&ss, mh.msg_namelen) : NULL);
	}
	if (st->kind == RECV_MSG) {
		int *fds = NULL;
		size_t nfds = 0;
		json_object *anc = ancdata_decode(&mh, &fds, &nfds);
		if (!anc) {
			free(cbuf);
			return -ENOMEM;
		}
		json_object_object_add(r, "ancdata", anc);
		json_object_object_add(r, "msg_flags", sbc_flags_to_json(SBC_MSG, mh.msg_flags));
		for (size_t i = 0; i < nfds; i++)
			call_push_fd(w->call, fds[i]);
		free(fds);
	}
	free(cbuf);
	return 0;
}

static int recv_common(struct call *call, struct p_recv *p, enum recv_kind kind)
{
	struct recv_state *st;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	/* Capped: a reply must fit the limits of the connection it goes to. */
	st->bufsize = SB_MIN((size_t)p->bufsize, call->conn->srv->cfg.max_recv_bytes);
	st->ancbufsize = (size_t)p->ancbufsize;
	st->flags = p->flags & ~MSG_DONTWAIT;
	st->kind = kind;
	return sock_op(call, sk, EPOLLIN, p->flags & MSG_DONTWAIT, recv_try, st, free, NULL);
}

static int rpc_socket_recv(struct call *call, void *params)
{
	return recv_common(call, params, RECV_PLAIN);
}

static int rpc_socket_recvfrom(struct call *call, void *params)
{
	return recv_common(call, params, RECV_FROM);
}

static int rpc_socket_recvmsg(struct call *call, void *params)
{
	return recv_common(call, params, RECV_MSG);
}

/* ---- sendmsg ---- */

struct p_sendmsg {
	int64_t handle;
	json_object *buffers;
	json_object *ancdata;
	int flags;
	json_object *address;
};

static const struct param_desc sendmsg_params[] = {
	HANDLE_PARAM(struct p_sendmsg),
	{ "buffers", PT_ARRAY, offsetof(struct p_sendmsg, buffers), PF_REQUIRED,
	  .doc = "base64 strings, sent as one message (scatter/gather)" },
	{ "ancdata", PT_ARRAY, offsetof(struct p_sendmsg, ancdata), 0,
	  .doc = "[{level, type, data}] ancillary data; descriptors go as the request's own fds" },
	{ "flags", PT_FLAGS, offsetof(struct p_sendmsg, flags), 0, .kind = SBC_MSG, .doc = "MSG_* flags" },
	{ "address", PT_ANY, offsetof(struct p_sendmsg, address), 0, .doc = "destination (unconnected sockets)" },
	{ 0 }
};

struct sendmsg_state {
	unsigned char *data;
	size_t len;
	unsigned char *cbuf;
	size_t clen;
	int flags;
	bool has_addr;
	struct sbaddr addr;
};

static void sendmsg_state_free(void *p)
{
	struct sendmsg_state *st = p;

	if (!st)
		return;
	free(st->data);
	free(st->cbuf);
	free(st);
}

static int sendmsg_try(struct sock_wait *w)
{
	struct sendmsg_state *st = w->state;
	struct iovec iov = { st->data, st->len };
	struct msghdr mh = { 0 };
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = st->cbuf;
	mh.msg_controllen = st->clen;
	if (st->has_addr) {
		mh.msg_name = &st->addr.ss;
		mh.msg_namelen = st->addr.len;
	}
	do
		n = sendmsg(w->sk->fd, &mh, st->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	w->sk->bytes_out += (uint64_t)n;
	json_object_object_add(call_result(w->call), "sent", json_object_new_int64(n));
	return 0;
}

static int rpc_socket_sendmsg(struct call *call, void *params)
{
	struct p_sendmsg *p = params;
	struct sendmsg_state *st;
	struct sock *sk;
	char err[200] = "";
	size_t n = json_object_array_length(p->buffers), total = 0;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	if (n > MAX_SEND_BUFFERS)
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "buffers: at most %d", MAX_SEND_BUFFERS);
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	/* The destination first: a name parks the call, and the re-run judges
	 * everything once, with the resolved address. */
	if (p->address) {
		rc = decode_destination(call, sk, p->address, &st->addr);
		if (rc) {
			sendmsg_state_free(st);
			return rc;
		}
		st->has_addr = true;
	} else if ((rc = authz_require_rule(call))) {
		sendmsg_state_free(st);
		return rc;
	}
	/* One contiguous copy: the kernel sees the same bytes as with an iovec. */
	for (size_t i = 0; i < n; i++) {
		json_object *b = json_object_array_get_idx(p->buffers, i);
		unsigned char *dec;
		size_t dlen;
		if (!json_object_is_type(b, json_type_string) ||
		    b64_decode_alloc(json_object_get_string(b), (size_t)json_object_get_string_len(b), &dec, &dlen) < 0) {
			sendmsg_state_free(st);
			return call_error(call, JRPC_INVALID_PARAMS, NULL, "buffers[%zu] is not valid base64", i);
		}
		if (dlen) {
			unsigned char *nd = realloc(st->data, total + dlen);
			if (!nd) {
				free(dec);
				sendmsg_state_free(st);
				return -ENOMEM;
			}
			st->data = nd;
			memcpy(st->data + total, dec, dlen);
			total += dlen;
		}
		free(dec);
	}
	st->len = total;
	rc = ancdata_encode(p->ancdata, call->fds, call->nfds, &st->cbuf, &st->clen, err, sizeof(err));
	if (rc < 0) {
		sendmsg_state_free(st);
		if (rc == -EINVAL || rc == -E2BIG)
			return call_error(call, JRPC_INVALID_PARAMS, NULL, "%s", err);
		return rc;
	}
	/* Control messages the kernel reserves to privilege go through the
	 * setsockopt action, as the option of the same name would. */
	struct msghdr mh = { .msg_control = st->cbuf, .msg_controllen = st->clen };
	for (struct cmsghdr *cm = st->clen ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cmsg_privileged(sk->family, sk->type, sk->proto, cm) &&
		    (rc = gate_option(call, sk, cm->cmsg_level, cm->cmsg_type))) {
			sendmsg_state_free(st);
			return rc;
		}
	}
	st->flags = p->flags & ~MSG_DONTWAIT;
	/* The request's descriptors were copied into the control message; the
	 * framework closes the request's copies when the call ends. */
	return sock_op(call, sk, EPOLLOUT, p->flags & MSG_DONTWAIT, sendmsg_try, st, sendmsg_state_free, NULL);
}

/* ---- shutdown, close, dup, fd, detach, info, list ---- */

struct p_shutdown {
	int64_t handle;
	int how;
};

static const struct param_desc shutdown_params[] = {
	HANDLE_PARAM(struct p_shutdown),
	{ "how", PT_CONST, offsetof(struct p_shutdown, how), PF_REQUIRED, .kind = SBC_SHUT,
	  .doc = "SHUT_RD, SHUT_WR or SHUT_RDWR" },
	{ 0 }
};

static int rpc_socket_shutdown(struct call *call, void *params)
{
	struct p_shutdown *p = params;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	if (shutdown(sk->fd, p->how) < 0)
		return -errno;
	call_result(call);
	return 0;
}

static int rpc_socket_close(struct call *call, void *params)
{
	struct p_handle *p = params;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	sock_close(sk);
	call_result(call);
	return 0;
}

static int rpc_socket_dup(struct call *call, void *params)
{
	struct p_handle *p = params;
	struct sock *sk, *nsk;
	int fd, rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	fd = fcntl(sk->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	rc = sock_new(call->conn, fd, sk->family, sk->type, sk->proto, &nsk);
	if (rc < 0)
		return limit_error(call, rc);
	nsk->block = sk->block;
	nsk->timeout_s = sk->timeout_s;
	json_object_object_add(call_result(call), "handle", json_object_new_uint64(nsk->handle));
	return 0;
}

static int rpc_socket_fd(struct call *call, void *params)
{
	struct p_handle *p = params;
	struct sock *sk;
	int fd, rc = sock_get(call, p->handle, &sk);

	if (rc || (rc = gate_hand_out(call, sk->family, sk->type, sk->proto)))
		return rc;
	/* The duplicate shares the open file (and its O_NONBLOCK) with ours. */
	fd = fcntl(sk->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	call_result(call);
	return call_push_fd(call, fd);
}

static int rpc_socket_detach(struct call *call, void *params)
{
	struct p_handle *p = params;
	struct sock *sk;
	int fd, rc = sock_get(call, p->handle, &sk);

	if (rc || (rc = gate_hand_out(call, sk->family, sk->type, sk->proto)))
		return rc;
	fd = sock_take_fd(sk);
	if (fd < 0)
		return fd;
	set_blocking(fd, true);
	call_result(call);
	return call_push_fd(call, fd);
}

static int rpc_socket_info(struct call *call, void *params)
{
	struct p_handle *p = params;
	struct sock *sk;
	int rc = sock_get(call, p->handle, &sk);

	if (rc)
		return rc;
	json_object_put(call->result);
	call->result = sock_info(sk);
	return 0;
}

static int rpc_socket_list(struct call *call, void *params)
{
	json_object *arr = json_object_new_array();

	for (struct sock *sk = call->conn->socks; sk; sk = sk->conn_next)
		json_object_array_add(arr, sock_info(sk));
	json_object_object_add(call_result(call), "sockets", arr);
	return 0;
}

/* ---- the table ---- */

#define R_HANDLE "{\"type\":\"object\",\"properties\":{\"handle\":{\"type\":\"integer\"},\"fds\":{\"const\":1}}}"
#define R_EMPTY "{\"type\":\"object\"}"
#define R_SENT "{\"type\":\"object\",\"required\":[\"sent\"],\"properties\":{\"sent\":{\"type\":\"integer\"}}}"
#define R_DATA "{\"type\":\"object\",\"required\":[\"data\"],\"properties\":{\"data\":{\"type\":\"string\",\"contentEncoding\":\"base64\"}}}"
#define B RPC_MAY_BLOCK

static const struct rpc_method methods[] = {
	{ "socket.create", "Python's socket(): a new socket of family, type and proto.",
	  rpc_socket_create, create_params, sizeof(struct p_create),
	  "{\"type\":\"object\",\"required\":[\"family\",\"type\",\"proto\"]}", RPC_RETURNS_FDS, RPC_GATE_HANDLER },
	{ "socket.pair", "Python's socketpair(): two connected sockets.",
	  rpc_socket_pair, pair_params, sizeof(struct p_create),
	  "{\"type\":\"object\",\"properties\":{\"handles\":{\"type\":\"array\"},\"fds\":{\"const\":2}}}",
	  RPC_RETURNS_FDS, RPC_GATE_HANDLER },
	{ "socket.connect_to", "Python's create_connection(): resolves the host, tries each address, a connected TCP socket.",
	  rpc_socket_connect_to, connect_to_params, sizeof(struct p_connect_to),
	  "{\"type\":\"object\",\"properties\":{\"handle\":{\"type\":\"integer\"},\"local\":{},\"peer\":{}}}",
	  RPC_RETURNS_FDS | B, RPC_GATE_HANDLER },
	{ "socket.listen_on", "Python's create_server(): a bound, listening TCP (or UNIX) socket.",
	  rpc_socket_listen_on, listen_on_params, sizeof(struct p_listen_on),
	  "{\"type\":\"object\",\"properties\":{\"handle\":{\"type\":\"integer\"},\"local\":{}}}", RPC_RETURNS_FDS, RPC_GATE_HANDLER },
	{ "socket.adopt", "Makes a socket sent with the request (fds: 1) a handle.",
	  rpc_socket_adopt, NULL, 0, R_HANDLE, RPC_TAKES_FDS, RPC_GATE_HANDLER },
	{ "socket.bind", "Binds the socket to an address.", rpc_socket_bind, addr_params, sizeof(struct p_addr),
	  R_EMPTY, 0, RPC_GATE_HANDLER },
	{ "socket.listen", "Listens for connections.", rpc_socket_listen, listen_params, sizeof(struct p_listen),
	  R_EMPTY, 0, RPC_GATE_HANDLER },
	{ "socket.connect", "Connects, waiting as the socket's timeout says.", rpc_socket_connect, addr_params,
	  sizeof(struct p_addr), R_EMPTY, B, RPC_GATE_HANDLER },
	{ "socket.connect_ex", "Connects and answers the errno (0 on success) instead of an OS error.",
	  rpc_socket_connect_ex, addr_params, sizeof(struct p_addr),
	  "{\"type\":\"object\",\"required\":[\"errno\",\"name\"]}", B, RPC_GATE_HANDLER },
	{ "socket.accept", "Accepts a connection: a new handle (or descriptor) and the peer's address.",
	  rpc_socket_accept, accept_params, sizeof(struct p_accept),
	  "{\"type\":\"object\",\"required\":[\"peer\"]}", RPC_RETURNS_FDS | B, RPC_GATE_HANDLER },
	{ "socket.getsockname", "The socket's own address.", rpc_socket_getsockname, handle_params,
	  sizeof(struct p_handle), "{\"type\":\"object\",\"required\":[\"address\"]}", 0 },
	{ "socket.getpeername", "The connected peer's address.", rpc_socket_getpeername, handle_params,
	  sizeof(struct p_handle), "{\"type\":\"object\",\"required\":[\"address\"]}", 0 },
	{ "socket.setsockopt", "Sets an option; typed values for the options people use.",
	  rpc_socket_setsockopt, setsockopt_params, sizeof(struct p_sockopt), R_EMPTY, 0, RPC_GATE_HANDLER },
	{ "socket.getsockopt", "Reads an option: {value} typed, or {data} raw with buflen.",
	  rpc_socket_getsockopt, getsockopt_params, sizeof(struct p_sockopt),
	  "{\"type\":\"object\",\"properties\":{\"value\":{},\"data\":{\"type\":\"string\"}}}", 0 },
	{ "socket.settimeout", "Python's settimeout: seconds, 0 (non-blocking) or null (block).",
	  rpc_socket_settimeout, settimeout_params, sizeof(struct p_timeout), R_EMPTY, 0 },
	{ "socket.gettimeout", "The socket's timeout.", rpc_socket_gettimeout, handle_params,
	  sizeof(struct p_handle), "{\"type\":\"object\",\"required\":[\"timeout\"]}", 0 },
	{ "socket.setblocking", "Python's setblocking: true is timeout null, false is 0.",
	  rpc_socket_setblocking, setblocking_params, sizeof(struct p_timeout), R_EMPTY, 0 },
	{ "socket.send", "Sends what the socket takes at once (after waiting for room).", rpc_socket_send,
	  send_params, sizeof(struct p_send), R_SENT, B },
	{ "socket.sendall", "Sends everything, across partial writes; on timeout the error says what was sent.",
	  rpc_socket_sendall, send_params, sizeof(struct p_send), R_SENT, B },
	{ "socket.sendto", "Sends a datagram to an address.", rpc_socket_sendto, sendto_params,
	  sizeof(struct p_send), R_SENT, B, RPC_GATE_HANDLER },
	{ "socket.sendmsg", "sendmsg with buffers, ancillary data and the request's descriptors as SCM_RIGHTS.",
	  rpc_socket_sendmsg, sendmsg_params, sizeof(struct p_sendmsg), R_SENT, RPC_TAKES_FDS | B, RPC_GATE_HANDLER },
	{ "socket.recv", "Receives at most bufsize bytes.", rpc_socket_recv, recv_params, sizeof(struct p_recv),
	  R_DATA, B },
	{ "socket.recvfrom", "Receives bytes and the sender's address.", rpc_socket_recvfrom, recv_params,
	  sizeof(struct p_recv), "{\"type\":\"object\",\"required\":[\"data\",\"address\"]}", B },
	{ "socket.recvmsg", "recvmsg: bytes, ancillary data, flags, address; received descriptors come along.",
	  rpc_socket_recvmsg, recvmsg_params, sizeof(struct p_recv),
	  "{\"type\":\"object\",\"required\":[\"data\",\"ancdata\",\"msg_flags\",\"address\"]}",
	  RPC_RETURNS_FDS | B },
	{ "socket.shutdown", "Shuts down one or both directions.", rpc_socket_shutdown, shutdown_params,
	  sizeof(struct p_shutdown), R_EMPTY, 0 },
	{ "socket.close", "Closes the socket; operations waiting on it fail with EBADF.", rpc_socket_close,
	  handle_params, sizeof(struct p_handle), R_EMPTY, 0 },
	{ "socket.dup", "A second handle for the same socket.", rpc_socket_dup, handle_params,
	  sizeof(struct p_handle), R_HANDLE, 0 },
	{ "socket.fd", "A duplicate descriptor for direct use; the handle stays.", rpc_socket_fd,
	  handle_params, sizeof(struct p_handle), R_HANDLE, RPC_RETURNS_FDS, RPC_GATE_HANDLER },
	{ "socket.detach", "The descriptor itself (blocking mode); the handle is gone.", rpc_socket_detach,
	  handle_params, sizeof(struct p_handle), R_HANDLE, RPC_RETURNS_FDS, RPC_GATE_HANDLER },
	{ "socket.info", "The socket's state: family, type, addresses, timeout, counters, pending operations.",
	  rpc_socket_info, handle_params, sizeof(struct p_handle), "{\"type\":\"object\",\"required\":[\"handle\"]}", 0 },
	{ "socket.list", "The caller's sockets, as socket.info shows each.", rpc_socket_list, NULL, 0,
	  "{\"type\":\"object\",\"required\":[\"sockets\"]}", 0 },
};

const struct rpc_family rpc_socket_family = { methods, ARRAY_SIZE(methods) };
