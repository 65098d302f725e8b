/* The socket methods: creating sockets (socket.create, pair, connect_to,
 * listen_on, adopt) and the socket object's methods, with Python's
 * semantics; sending and receiving are in rpc-socket-io.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netdb.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "ascaller.h"
#include "base64.h"
#include "authz.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "plan.h"
#include "rpc-socket.h"
#include "hold.h"
#include "resolver.h"
#include "server.h"
#include "sock.h"
#include "sockopt.h"
#include "util.h"

#define TYPE_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)
/* Python's create_server default backlog. */
#define DEFAULT_BACKLOG 128

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

/* A socket as the kernel made it (SO_DOMAIN, SO_TYPE, SO_PROTOCOL). */
struct kind {
	int family, type, proto;
};

static int read_kind(int fd, struct kind *k)
{
	socklen_t l = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &k->family, &l) < 0)
		return -errno;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &k->type, &l) < 0)
		return -errno;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &k->proto, &l) < 0)
		return -errno;
	return 0;
}

/* Hands a new socket to the caller: as a descriptor (pass) or a handle. fd
 * taken; k is what the kernel made, owned whether the caller owns it. */
static int give_socket_nb(struct call *call, json_object *r, int fd, const struct kind *k, bool owned, bool pass,
                          bool nonblock)
{
	struct sock *sk;
	int rc;

	if (pass) {
		/* Passed descriptors are in blocking mode, as socket(2) makes them
		 * (without SOCK_NONBLOCK). */
		set_blocking(fd, !nonblock);
		return call_push_fd(call, fd);
	}
	rc = sock_new(call->conn, fd, k->family, k->type, k->proto, &sk);
	if (rc < 0)
		return limit_error(call, rc);
	sk->owned_by_caller = owned;
	/* Python: SOCK_NONBLOCK in the type is a timeout of 0.0. */
	if (nonblock) {
		sk->block = false;
		sk->timeout_s = 0;
	}
	json_object_object_add(r, "handle", json_object_new_uint64(sk->handle));
	return 0;
}

static int give_socket(struct call *call, json_object *r, int fd, const struct kind *k, bool owned, bool pass)
{
	return give_socket_nb(call, r, fd, k, owned, pass, false);
}

static void caller_cred(struct call *call, struct ascaller_cred *cr)
{
	/* The process that wrote the request, which is not always the one
	 * that connected. */
	ascaller_cred_from(authz_call_identity(call, NULL), cr);
}

static void add_kind(json_object *r, int family, int type, int proto)
{
	json_object_object_add(r, "family", sbc_to_json(SBC_AF, family));
	json_object_object_add(r, "type", sbc_to_json(SBC_SOCK, type));
	json_object_object_add(r, "proto", sbc_to_json(SBC_IPPROTO, proto));
}

/* A host name in bind/connect/sendto/sendmsg: resolved off the loop as
 * CPython's setipaddr does (getaddrinfo with the socket's family, the first
 * answer), then the handler runs again with the address in call->handler_state. */
struct addr_job {
	struct resolve_job job;
	struct call *call;
	char *host;
	struct sbaddr addr;     /* decoded port (and flowinfo, scope); address filled in */
	int gai, err;
	/* connect's `resolved`: addr is the caller's choice, and the look-up
	 * only tells whether the name has it among its addresses. */
	bool pinned, found;
};

/* What a re-run finds in call->handler_state: the address and the name it came
 * from, which the policy's host selectors judge (host pinning); literal: the
 * caller's `resolved` address, which the name did not give, as a literal. */
struct resolved_addr {
	struct sbaddr a;
	bool literal;
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

	if (j->pinned)
		j->gai = resolve_among(j->host, &j->addr, &j->found, &j->err);
	else
		j->gai = resolve_first(j->host, &j->addr, &j->err);
}

static void addr_done(struct resolve_job *job)
{
	struct addr_job *j = (struct addr_job *)job;
	struct call *call = j->call;
	struct resolved_addr *ra;
	int rc;

	call->park = NULL;
	call->cancel = NULL;
	if (j->gai && !j->pinned) {
		rc = call_error_gai(call, j->gai, j->err, "getaddrinfo('%.200s')", j->host);
		addr_job_free(j);
		call_finish(call, rc);
		return;
	}
	ra = calloc(1, sizeof(*ra));
	if (!ra) {
		addr_job_free(j);
		call_finish(call, -ENOMEM);
		return;
	}
	ra->a = j->addr;
	/* A name that does not resolve (or not to that address) pins nothing. */
	ra->literal = j->pinned && (j->gai || !j->found);
	snprintf(ra->host, NI_MAXHOST, "%s", j->host);
	call->handler_state = ra;
	call->handler_state_free = free;
	addr_job_free(j);
	/* Again from the top: the socket may have gone meanwhile (-32011). */
	rc = rpc_rerun(call);
	if (rc != CALL_PENDING)
		call_finish(call, rc);
}

static void addr_destroy(struct resolve_job *job)
{
	addr_job_free((struct addr_job *)job);
}


int pinned_address(struct call *call, int family, const struct param_address *pa, const char *resolved,
                   struct sbaddr *out)
{
	json_object *tuple;
	struct decode_error derr;
	int rc, port;

	memset(out, 0, sizeof(*out));
	if (family != AF_INET && family != AF_INET6)
		return call_error_param(call, "resolved", "resolved is for an AF_INET or AF_INET6 socket only");
	if (!pa->host)
		return call_error_param(call, "resolved",
		                        "resolved goes with a host name in address, not with a numeric address");
	/* "" (any address) and "<broadcast>" are no address a name resolves to. */
	if (!*resolved || !strcmp(resolved, "<broadcast>"))
		goto bad;
	port = ntohs(family == AF_INET ? ((const struct sockaddr_in *)&pa->a.ss)->sin_port
	                               : ((const struct sockaddr_in6 *)&pa->a.ss)->sin6_port);
	tuple = json_object_new_array();
	if (!tuple)
		return -ENOMEM;
	json_object_array_add(tuple, json_object_new_string(resolved));
	json_object_array_add(tuple, json_object_new_int(port));
	/* No host out-parameter: a name is an error here. */
	rc = sbaddr_decode(family, tuple, out, NULL, &derr);
	json_object_put(tuple);
	if (rc == -ENOMEM)
		return rc;
	if (rc)
		goto bad;
	if (family == AF_INET6) {
		struct sockaddr_in6 *o = (struct sockaddr_in6 *)&out->ss;
		const struct sockaddr_in6 *t = (const struct sockaddr_in6 *)&pa->a.ss;
		o->sin6_flowinfo = t->sin6_flowinfo;
		if (!o->sin6_scope_id)
			o->sin6_scope_id = t->sin6_scope_id;
	}
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return call_error_param(call, "resolved", "resolved must be a numeric %s address, got \"%.100s\"",
	                        family == AF_INET ? "IPv4" : "IPv6", resolved);
}

/* connect's `resolved` (pinned, for address's name): the caller's address
 * with the name when the name resolves to it, else as a literal. A name no
 * rule could allow is not looked up at all (the daemon's resolver stays shut
 * to it): the literal is judged at once (*jobp NULL). Else *jobp is the
 * look-up to make. */
static int decode_pinned(struct call *call, const struct plan_in *in, const struct param_address *pa,
                         const char *resolved, struct sbaddr *a, struct addr_job **jobp)
{
	struct plan_in unresolved = *in;
	struct policy_subject who;
	int rc;

	*jobp = NULL;
	if ((rc = pinned_address(call, in->family, pa, resolved, a)))
		return rc;
	unresolved.addr = &pa->a;
	unresolved.host = pa->host;
	unresolved.unresolved = true;
	authz_subject_from(authz_call_identity(call, NULL), &who);
	rc = plan_may_look_up(call->method->plan, &unresolved, call->conn->env->authz, &who);
	if (rc == -E2BIG)
		return call_error_limit(call, "policy_questions", PLAN_MAX_STEPS);
	if (rc <= 0)
		return rc;
	*jobp = calloc(1, sizeof(**jobp));
	if (!*jobp)
		return -ENOMEM;
	(*jobp)->pinned = true;
	return 0;
}

/* The request's address (decoded for the socket in describes by the
 * params framework). A host name parks the call on the resolver
 * (CALL_PENDING: the handler returns it after undoing its own work) and the
 * handler runs again with the answer; *name is then the name the daemon
 * resolved, else NULL (a literal). A name that no rule could allow for the
 * method's plan is refused before any look-up: the daemon's resolver is not
 * a way out of a network-less sandbox. resolved (connect's, NULL: none):
 * see decode_pinned. */
static int decode_address(struct call *call, const struct plan_in *in, const struct param_address *pa,
                          const char *resolved, struct sbaddr *a, const char **name)
{
	struct plan_in unresolved = *in;
	struct addr_job *job = NULL;
	int rc;

	*name = NULL;
	/* Only addr_done sets it, before it runs the handler again. */
	if (call->handler_state) {
		const struct resolved_addr *ra = call->handler_state;
		*a = ra->a;
		*name = ra->literal ? NULL : ra->host;
		return 0;
	}
	*a = pa->a;
	if (resolved) {
		if ((rc = decode_pinned(call, in, pa, resolved, a, &job)) || !job)
			return rc;
	} else {
		if (!pa->host)
			return 0;
		unresolved.addr = a;
		unresolved.host = pa->host;
		unresolved.unresolved = true;
		if ((rc = plan_run_unresolved(call, &unresolved)))
			return rc;
		job = calloc(1, sizeof(*job));
	}
	if (!job || !(job->host = strdup(pa->host))) {
		free(job);
		return -ENOMEM;
	}
	job->addr = *a;
	job->call = call;
	job->job.work = addr_work;
	job->job.done = addr_done;
	job->job.destroy = addr_destroy;
	return call_park_resolve(call, &job->job);
}

/* Decodes the request's address (a name parks the call) and decides the
 * method's plan for sk at it: 0 with *a and *pl filled, or an error.
 * resolved: connect's pinned address, or NULL. */
static int judge_at_pinned(struct call *call, const struct sock *sk, const struct param_address *address,
                           const char *resolved, struct sbaddr *a, struct plan *pl)
{
	struct plan_in in = plan_in_of(call, sk, NULL, NULL);
	const char *host;
	int rc = decode_address(call, &in, address, resolved, a, &host);

	if (rc)
		return rc;
	in.addr = a;
	in.host = host;
	return plan_run(call, &in, pl);
}

int judge_at(struct call *call, const struct sock *sk, const struct param_address *address, struct sbaddr *a,
             struct plan *pl)
{
	return judge_at_pinned(call, sk, address, NULL, a, pl);
}

json_object *encode_ss(const struct sockaddr_storage *ss, socklen_t len)
{
	return sbaddr_encode((const struct sockaddr *)ss, len);
}

/* Protocol 0 of an INET stream or datagram socket is TCP or UDP, which the
 * policy already judges as such. */
static bool default_proto(const struct kind *asked, const struct kind *made)
{
	return asked->proto == 0 && (asked->family == AF_INET || asked->family == AF_INET6) &&
	       ((asked->type == SOCK_STREAM && made->proto == IPPROTO_TCP) ||
	        (asked->type == SOCK_DGRAM && made->proto == IPPROTO_UDP));
}

/* Judges the socket the kernel made, not the one asked for: socket(AF_INET,
 * SOCK_PACKET) makes an AF_PACKET socket, and protocol 0 is the kernel's
 * pick. A socket of another family or type than asked for is refused; a
 * protocol the kernel picked is judged again unless the policy already
 * judged it as that one. */
static int judge_made(struct call *call, bool hand_out, const struct kind *asked, const struct kind *made)
{
	struct policy_request q = {
		.action = POLICY_CREATE, .family = made->family, .type = made->type, .proto = made->proto,
		.level = -1, .option = -1, .explicit_create = hand_out,
	};
	char reason[300];

	if (made->family != asked->family || made->type != asked->type ||
	    (asked->proto && made->proto != asked->proto)) {
		const char *af = sbc_name(SBC_AF, asked->family), *at = sbc_name(SBC_SOCK, asked->type);
		const char *mf = sbc_name(SBC_AF, made->family), *mt = sbc_name(SBC_SOCK, made->type);
		snprintf(reason, sizeof(reason),
		         "socket(%s, %s, %d) made a socket of %s %s protocol %d, not what was asked for",
		         af ? af : "?", at ? at : "?", asked->proto, mf ? mf : "?", mt ? mt : "?", made->proto);
		return authz_refuse(call, &q, reason);
	}
	if (made->proto == asked->proto || default_proto(asked, made))
		return 0;
	return authz_check(call, &q);
}

/* A new socket made as the caller (its owner is the caller: the kernel's
 * owner checks apply), read back and judged. 0 with *fd, *made and *owned
 * set, or an error with nothing left open. */
static int make_socket(struct call *call, int family, int type, int proto, bool hand_out, int *fd,
                       struct kind *made, bool *owned)
{
	struct ascaller_cred cr;
	struct kind asked = { family, type & ~TYPE_FLAGS, proto };
	int rc;

	caller_cred(call, &cr);
	*fd = ascaller_socket(&cr, family, asked.type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto, owned);
	if (*fd < 0)
		return -errno;
	if ((rc = read_kind(*fd, made)) || (rc = judge_made(call, hand_out, &asked, made))) {
		safe_close(*fd);
		*fd = -1;
	}
	return rc;
}

/* ---- AF_UNIX, as the caller ---- */

/* A UNIX path is opened with the permissions of whoever opens it, a socket
 * file is made with their owner, and the peer of a UNIX socket sees the
 * credentials of whoever connected, listened or sent (SO_PEERCRED,
 * SCM_CREDENTIALS): done by the daemon, all of them would be root's. So these
 * operations run on a short-lived thread that holds only the caller's uid,
 * gid and groups (ascaller.h), and since a path may sit on a file system that
 * blocks, that thread is started from a resolver worker, never the loop. */
enum unix_op { UNIX_BIND, UNIX_LISTEN, UNIX_BIND_LISTEN, UNIX_CONNECT, UNIX_SEND };

struct unix_job {
	struct resolve_job job;
	struct call *call;
	enum unix_op op;
	int fd;                     /* owned: a duplicate of the handle's, or listen_on's new socket */
	int64_t handle;             /* 0 for listen_on */
	struct sbaddr addr;
	bool has_addr;
	int backlog;
	unsigned char *data, *cbuf; /* UNIX_SEND: the message; cbuf's descriptors are our duplicates */
	size_t len, clen;
	int *dups;
	size_t ndups;
	int flags;
	struct ascaller_cred cr;
	dev_t ctl_dev;
	ino_t ctl_ino;
	bool to_self;               /* the path is the daemon's own control socket */
	int result;
	ssize_t sent;
	bool ex;                    /* connect_ex: the errno is the result */
	bool give, pass, owned;     /* listen_on: hand the socket over once listening */
	const char *hold;           /* listen_on: or hold it under this name (the request's string) */
	struct kind made;
};

static void unix_job_free(struct unix_job *j)
{
	safe_close(j->fd);
	for (size_t i = 0; i < j->ndups; i++)
		safe_close(j->dups[i]);
	free(j->dups);
	free(j->data);
	free(j->cbuf);
	free(j);
}

/* On the caller's thread. */
static int unix_op_run(void *p)
{
	struct unix_job *j = p;
	const struct sockaddr_un *un = (const struct sockaddr_un *)&j->addr.ss;
	struct stat st;

	if ((j->op == UNIX_CONNECT || j->op == UNIX_SEND) && j->has_addr &&
	    j->addr.len > offsetof(struct sockaddr_un, sun_path) && un->sun_path[0] &&
	    stat(un->sun_path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == j->ctl_dev &&
	    st.st_ino == j->ctl_ino) {
		j->to_self = true;
		return -EPERM;
	}
	switch (j->op) {
	case UNIX_BIND:
		return bind(j->fd, (struct sockaddr *)&j->addr.ss, j->addr.len) < 0 ? -errno : 0;
	case UNIX_LISTEN:
		return listen(j->fd, j->backlog) < 0 ? -errno : 0;
	case UNIX_BIND_LISTEN:
		if (bind(j->fd, (struct sockaddr *)&j->addr.ss, j->addr.len) < 0)
			return -errno;
		return listen(j->fd, j->backlog) < 0 ? -errno : 0;
	case UNIX_CONNECT:
		return connect(j->fd, (struct sockaddr *)&j->addr.ss, j->addr.len) < 0 ? -errno : 0;
	case UNIX_SEND: {
		struct iovec iov = { j->data, j->len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = j->cbuf,
		                     .msg_controllen = j->clen };
		if (j->has_addr) {
			mh.msg_name = &j->addr.ss;
			mh.msg_namelen = j->addr.len;
		}
		j->sent = sendmsg(j->fd, &mh, j->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
		return j->sent < 0 ? -errno : 0;
	}
	}
	return -EINVAL;
}

static void unix_work(struct resolve_job *job)
{
	struct unix_job *j = (struct unix_job *)job;

	j->result = ascaller_run(&j->cr, unix_op_run, j);
}

static void unix_done(struct resolve_job *job)
{
	struct unix_job *j = (struct unix_job *)job;
	struct call *call = j->call;
	json_object *r = call_result(call);
	int rc = j->result;

	call->park = NULL;
	call->cancel = NULL;
	if (j->to_self) {
		struct policy_request q = {
			.action = POLICY_CONNECT, .family = AF_UNIX, .type = -1, .proto = -1, .level = -1, .option = -1,
		};
		rc = authz_refuse(call, &q, "the daemon's own control socket cannot be reached through the daemon");
	} else if (j->op == UNIX_CONNECT && j->ex) {
		int err = -rc;
		json_object_object_add(r, "errno", json_object_new_int(err));
		json_object_object_add(r, "name", err == 0 ? json_object_new_null()
		                                    : sbc_errno_name(err) ? json_object_new_string(sbc_errno_name(err))
		                                                          : json_object_new_int(err));
		rc = 0;
	} else if (rc == 0 && j->op == UNIX_SEND) {
		struct sock *sk = sock_lookup(call->conn, j->handle);
		if (sk)
			sock_count_bytes(sk, true, (uint64_t)j->sent);
		json_object_object_add(r, "sent", json_object_new_int64(j->sent));
	} else if (rc == 0 && j->give) {
		struct sockaddr_storage ss;
		socklen_t l = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockname(j->fd, (struct sockaddr *)&ss, &l) == 0)
			json_object_object_add(r, "local", encode_ss(&ss, l));
		rc = j->hold ? rpc_hold_keep(call, j->hold, TAKE_FD(j->fd), r)
		             : give_socket(call, r, TAKE_FD(j->fd), &j->made, j->owned, j->pass);
	}
	unix_job_free(j);
	call_finish(call, rc);
}

static void unix_destroy(struct resolve_job *job)
{
	unix_job_free((struct unix_job *)job);
}

/* A job for op on fd (taken) of the caller's. NULL on ENOMEM (fd closed). */
static struct unix_job *unix_job_new(struct call *call, enum unix_op op, int fd)
{
	struct unix_job *j = calloc(1, sizeof(*j));

	if (!j) {
		safe_close(fd);
		return NULL;
	}
	j->call = call;
	j->op = op;
	j->fd = fd;
	j->ctl_dev = call->conn->srv->sock_dev;
	j->ctl_ino = call->conn->srv->sock_ino;
	caller_cred(call, &j->cr);
	j->job.work = unix_work;
	j->job.done = unix_done;
	j->job.destroy = unix_destroy;
	return j;
}

/* A job for op on a handle's socket: a duplicate, since the handle may be
 * closed while the job runs. */
static int unix_job_on(struct call *call, struct sock *sk, enum unix_op op, struct unix_job **out)
{
	int fd = fcntl(sk->fd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return -errno;
	*out = unix_job_new(call, op, fd);
	if (!*out)
		return -ENOMEM;
	(*out)->handle = (int64_t)sk->handle;
	return 0;
}

/* The descriptors of an SCM_RIGHTS message (ancdata_encode puts it first)
 * replaced by duplicates the job owns: the request's own are closed if its
 * client leaves while the job runs, and their numbers may be reused. */
static int unix_job_own_rights(struct unix_job *j)
{
	struct msghdr mh = { .msg_control = j->cbuf, .msg_controllen = j->clen };
	struct cmsghdr *cm = j->clen ? CMSG_FIRSTHDR(&mh) : NULL;
	size_t n;

	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return 0;
	n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	j->dups = calloc(n ? n : 1, sizeof(int));
	if (!j->dups)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int fd;
		memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -errno;
		j->dups[j->ndups++] = fd;
		memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof(int));
	}
	return 0;
}

/* A message to a UNIX address: the path is opened, and the message sent, as
 * the caller. data and cbuf taken; the call is parked (or the error). */
int unix_send_as_caller(struct call *call, struct sock *sk, const struct sbaddr *to, unsigned char *data,
                        size_t len, unsigned char *cbuf, size_t clen, int flags)
{
	struct unix_job *j;
	int rc = unix_job_on(call, sk, UNIX_SEND, &j);

	if (rc) {
		free(data);
		free(cbuf);
		return rc;
	}
	j->addr = *to;
	j->has_addr = true;
	j->data = data;
	j->len = len;
	j->cbuf = cbuf;
	j->clen = clen;
	j->flags = flags;
	if ((rc = unix_job_own_rights(j))) {
		unix_job_free(j);
		return rc;
	}
	return call_park_resolve(call, &j->job);
}

/* The caller's credentials on a message the daemon sends on a UNIX socket,
 * so that a peer with SO_PASSCRED sees the caller and not root. None when the
 * daemon is the caller. The kernel refuses (EPERM) a daemon that may not
 * vouch for another user: the message is not sent as root instead. */
int add_caller_creds(struct call *call, const struct sock *sk, unsigned char **cbuf, size_t *clen)
{
	struct ascaller_cred cr;
	struct ucred uc;
	struct cmsghdr *cm;
	unsigned char *n;

	caller_cred(call, &cr);
	if (sk->family != AF_UNIX || ascaller_is_self(&cr))
		return 0;
	uc = (struct ucred){ .pid = getpid(), .uid = cr.uid, .gid = cr.gid };
	n = realloc(*cbuf, *clen + CMSG_SPACE(sizeof(uc)));
	if (!n)
		return -ENOMEM;
	memset(n + *clen, 0, CMSG_SPACE(sizeof(uc)));
	cm = (struct cmsghdr *)(n + *clen);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(uc));
	memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
	*cbuf = n;
	*clen += CMSG_SPACE(sizeof(uc));
	return 0;
}

/* ---- socket.create / socket.pair / socket.adopt ---- */

struct p_create {
	int family, type, proto;
	bool pass;
	const char *hold;           /* socket.create: hold it under this name, no handle */
};

static const struct param_desc create_params[] = {
	{ "family", PT_CONST, offsetof(struct p_create, family), 0, .def = AF_INET, .kind = SBC_AF,
	  .doc = "address family (default AF_INET)" },
	{ "type", PT_CONST, offsetof(struct p_create, type), 0, .def = SOCK_STREAM, .kind = SBC_SOCK,
	  .doc = "socket type (default SOCK_STREAM); | SOCK_NONBLOCK makes the timeout 0.0, SOCK_CLOEXEC is accepted (always on); `type` reads back without them" },
	{ "proto", PT_CONST, offsetof(struct p_create, proto), 0, .def = 0, .kind = SBC_IPPROTO,
	  .doc = "protocol (default 0)" },
	{ "pass", PT_BOOL, offsetof(struct p_create, pass), 0, .doc = "answer with the descriptor, keep no handle" },
	{ "hold", PT_STRING, offsetof(struct p_create, hold), 0,
	  .doc = "hold the new socket under this name (docs/held.md) instead of answering with a handle" },
	{ 0 }
};

static const struct param_desc pair_params[] = {
	{ "family", PT_CONST, offsetof(struct p_create, family), 0, .def = AF_UNIX, .kind = SBC_AF,
	  .doc = "address family (default AF_UNIX)" },
	{ "type", PT_CONST, offsetof(struct p_create, type), 0, .def = SOCK_STREAM, .kind = SBC_SOCK,
	  .doc = "socket type (default SOCK_STREAM); | SOCK_NONBLOCK makes the timeout 0.0, SOCK_CLOEXEC is accepted (always on); `type` reads back without them" },
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

	struct kind made;
	bool owned;

	rc = make_socket(call, p->family, type, p->proto, p->pass, &fd, &made, &owned);
	if (rc) {
		const char *fam = sbc_name(SBC_AF, p->family);
		if (rc == -EAFNOSUPPORT)
			return call_error_os(call, rc, "address family %s is not supported by this kernel", fam ? fam : "?");
		return rc;
	}
	add_kind(r, p->family, type, p->proto);
	if (p->hold)
		return rpc_hold_keep(call, p->hold, fd, r);
	/* SOCK_CLOEXEC is what every socket here has anyway. */
	return give_socket_nb(call, r, fd, &made, owned, p->pass, p->type & SOCK_NONBLOCK);
}

/* socketpair as the caller: the peer credentials of each end are the
 * creator's, so a UNIX pair made by the daemon would show root to whoever
 * is handed an end. */
struct pair_args {
	int family, type, proto;
	int sv[2];
};

static int pair_run(void *p)
{
	struct pair_args *a = p;

	return socketpair(a->family, a->type, a->proto, a->sv) < 0 ? -errno : 0;
}

static int rpc_socket_pair(struct call *call, void *params)
{
	struct p_create *p = params;
	json_object *r = call_result(call), *handles;
	int type = p->type & ~TYPE_FLAGS, sv[2], rc = 0;
	struct pair_args pa = { p->family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, p->proto, { -1, -1 } };
	struct ascaller_cred cr;
	struct kind asked = { p->family, type, p->proto }, made;
	bool owned = true;
	struct sock *a, *b;

	caller_cred(call, &cr);
	if (p->family == AF_UNIX)
		rc = ascaller_run(&cr, pair_run, &pa);
	else if (ascaller_socketpair(&cr, pa.family, pa.type, pa.proto, pa.sv, &owned) < 0)
		rc = -errno;
	if (rc)
		return rc;
	sv[0] = pa.sv[0];
	sv[1] = pa.sv[1];
	if ((rc = read_kind(sv[0], &made)) || (rc = judge_made(call, p->pass, &asked, &made))) {
		safe_close(sv[0]);
		safe_close(sv[1]);
		return rc;
	}
	add_kind(r, p->family, type, p->proto);
	if (p->pass) {
		set_blocking(sv[0], !(p->type & SOCK_NONBLOCK));
		set_blocking(sv[1], !(p->type & SOCK_NONBLOCK));
		rc = call_push_fd(call, sv[0]);
		if (rc < 0) {
			safe_close(sv[1]);
			return rc;
		}
		return call_push_fd(call, sv[1]);
	}
	rc = sock_new(call->conn, sv[0], made.family, made.type, made.proto, &a);
	if (rc < 0) {
		safe_close(sv[1]);
		return limit_error(call, rc);
	}
	a->owned_by_caller = owned;
	rc = sock_new(call->conn, sv[1], made.family, made.type, made.proto, &b);
	if (rc < 0) {
		sock_close(a);
		return limit_error(call, rc);
	}
	b->owned_by_caller = owned;
	/* Python: SOCK_NONBLOCK in the type is a timeout of 0.0 on both ends. */
	if (p->type & SOCK_NONBLOCK) {
		a->block = b->block = false;
		a->timeout_s = b->timeout_s = 0;
	}
	handles = json_object_new_array();
	json_object_array_add(handles, json_object_new_uint64(a->handle));
	json_object_array_add(handles, json_object_new_uint64(b->handle));
	json_object_object_add(r, "handles", handles);
	return 0;
}

static int rpc_socket_adopt(struct call *call, void *params)
{
	int fd = call_take_fd(call, 0), rc;
	struct plan_in in = plan_in_of(call, NULL, NULL, NULL);
	struct plan pl;
	struct stat st;
	struct kind k;
	json_object *r = call_result(call);

	/* Check what arrived before keeping it. Python's socket(fileno=) of a
	 * non-socket raises OSError(ENOTSOCK): an OS error, not a bad param. */
	if (fd < 0)
		return call_error(call, JRPC_INVALID_PARAMS, NULL, "socket.adopt needs a socket sent with it (fds: 1)");
	rc = fstat(fd, &st) < 0 ? -errno : !S_ISSOCK(st.st_mode) ? -ENOTSOCK : 0;
	if (rc) {
		safe_close(fd);
		return call_error_os(call, rc, "socket.adopt: the descriptor sent is not a socket");
	}
	if ((rc = read_kind(fd, &k))) {
		safe_close(fd);
		return rc;
	}
	in.family = k.family;
	in.type = k.type;
	in.proto = k.proto;
	rc = plan_run(call, &in, &pl);
	if (rc) {
		safe_close(fd);
		return rc;
	}
	add_kind(r, k.family, k.type, k.proto);
	/* The client made it: its owner is whoever did. */
	return give_socket(call, r, fd, &k, st.st_uid == authz_call_identity(call, NULL)->uid, false);
}

/* An IPv6 socket whose caller may not also reach IPv4 at the unspecified
 * address (the plan's PLAN_V4_REACH choice) is made IPV6_V6ONLY, before its
 * bind or listen while the kernel lets it. */
static int v6only_unless_v4(const struct sock *sk, const struct plan *pl)
{
	int v6only = 0, one = 1;
	socklen_t l = sizeof(v6only);

	if (plan_chose(pl, PLAN_V4_REACH))
		return 0;
	/* Made so by its bind already: once bound, the kernel refuses the option (EINVAL). */
	if (getsockopt(sk->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l) < 0)
		return -errno;
	if (v6only)
		return 0;
	return setsockopt(sk->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ? -errno : 0;
}

/* SO_REUSEPORT lets sockets of one owner share a port; the kernel refuses it
 * between owners. A socket the daemon could not make as the caller is the
 * daemon's, and would join the groups of the daemon's other clients. */
static int refuse_reuse_port(struct call *call, const struct kind *k)
{
	struct policy_request q = {
		.action = POLICY_SETSOCKOPT, .family = k->family, .type = k->type, .proto = k->proto,
		.level = SOL_SOCKET, .option = SO_REUSEPORT,
	};

	return authz_refuse(call, &q, "SO_REUSEPORT needs a socket owned by the caller, and the daemon could not "
	                              "make it so (it lacks CAP_SETUID/CAP_SETGID)");
}

/* ---- connect_to / listen_on ---- */

struct p_connect_to {
	struct param_host_port address;
	struct param_timeout timeout;
	struct param_address source_address;
	bool pass;
};

/* source_address's family: Python's setipaddr reads "" as the any address
 * of the socket's family, which connect_to learns per candidate; decoded as
 * 0.0.0.0 here, made :: for an IPv6 candidate (source_for). A name is looked
 * up for each candidate's family later: decoded here for its port. */
static int source_family_of(json_object *v)
{
	json_object *h = NULL;

	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 2)
		h = json_object_array_get_idx(v, 0);
	else if (json_object_is_type(v, json_type_object))
		json_object_object_get_ex(v, "host", &h);
	int family = sbaddr_guess_family(v);

	if (family == AF_UNSPEC && h && json_object_is_type(h, json_type_string))
		return AF_INET;
	return family;
}

static const struct param_address_arg source_address_arg = {
	.family_of = source_family_of,
	.unknown = "source_address must be [host, port]: a numeric host, a name, or \"\" for any address",
};

/* The source to bind on a socket of family: the any address of IPv4 is
 * that of IPv6 on an IPv6 socket, with the same port. */
static struct sbaddr source_for(const struct sbaddr *src, int family)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&src->ss;
	struct sbaddr out = *src;

	if (src->ss.ss_family == AF_INET && family == AF_INET6 && in->sin_addr.s_addr == htonl(INADDR_ANY)) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out.ss;
		uint16_t port = in->sin_port;

		memset(&out, 0, sizeof(out));
		in6->sin6_family = AF_INET6;
		in6->sin6_port = port;
		in6->sin6_addr = in6addr_any;
		out.len = sizeof(*in6);
	}
	return out;
}

static const struct param_desc connect_to_params[] = {
	{ "address", PT_HOST_PORT, offsetof(struct p_connect_to, address), PF_REQUIRED,
	  .doc = "[host, port] or {host, port}; a name is resolved and each address tried in turn: its first 16 IPv4 "
	         "and IPv6 addresses in getaddrinfo's order, later ones neither judged nor tried (Python tries all)" },
	{ "timeout", PT_TIMEOUT, offsetof(struct p_connect_to, timeout), 0,
	  .doc = "seconds for the connection and the new socket (default: the connection's default)" },
	{ "source_address", PT_ADDRESS, offsetof(struct p_connect_to, source_address), 0,
	  .arg = &source_address_arg,
	  .doc = "[host, port] to bind before connecting; host \"\" is any address of the socket's family, a name is "
	         "looked up for each candidate's family (a resolve of that name)" },
	{ "pass", PT_BOOL, offsetof(struct p_connect_to, pass), 0, .doc = "answer with the descriptor" },
	{ 0 }
};


struct connect_state {
	struct sbaddr addr;
	bool started;
	struct sbaddr cands[RESOLVE_STREAM_MAX];  /* connect_to: the next addresses */
	int ncands, cur;
	size_t left;            /* connect_to: the name's addresses past RESOLVE_STREAM_MAX */
	bool has_src;
	struct sbaddr src;      /* numeric source_address; a name's port */
	char *src_host;         /* source_address's name; NULL for a numeric one */
	bool src_ok[2];         /* the name looked up for AF_INET, AF_INET6: */
	struct sbaddr srcs[2];  /* its first answer of that family */
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
	free(st->src_host);
	free(st);
}

static int src_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

/* The source to judge and bind on a candidate of family: the numeric one,
 * or what the name resolved to for that family (NULL: none, or none yet). */
static const struct sbaddr *src_of(const struct connect_state *st, int family)
{
	if (!st->has_src)
		return NULL;
	if (!st->src_host)
		return &st->src;
	return st->src_ok[src_index(family)] ? &st->srcs[src_index(family)] : NULL;
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

/* Decides connect_to's plan for one address it may try (from name host, or
 * a literal): the source bind, the connect, and a hand-out of its family. */
static int judge_candidate(struct call *call, const struct connect_state *st, const struct sbaddr *cand,
                           const char *host)
{
	struct plan_in in = plan_in_of(call, NULL, cand, host);
	struct plan pl;

	in.family = cand->ss.ss_family;
	in.type = SOCK_STREAM;
	in.proto = 0;
	in.source = src_of(st, cand->ss.ss_family);
	in.source_host = st->src_host;
	return plan_run(call, &in, &pl);
}

/* Before looking host up: refused when no rule could allow a connect to it
 * at port, whatever it resolves to. */
static int judge_unresolved_name(struct call *call, const struct connect_state *st, const char *host, int port)
{
	struct plan_in in = plan_in_of(call, NULL, NULL, host);
	struct sbaddr tmpl = { .len = sizeof(struct sockaddr_in6) };

	((struct sockaddr_in6 *)&tmpl.ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)&tmpl.ss)->sin6_port = htons((uint16_t)port);
	in.type = SOCK_STREAM;
	in.proto = 0;
	in.addr = &tmpl;
	in.unresolved = true;
	in.source = st->src_host ? NULL : src_of(st, AF_INET);
	in.source_host = st->src_host;
	return plan_run_unresolved(call, &in);
}

/* Moves connect_to to its next candidate address: new socket (and source
 * bind), same handle. */
static int connect_to_next(struct call *call, struct connect_state *st, struct sock *sk)
{
	struct kind made;
	bool owned;
	int family, fd, rc;

	st->cur++;
	st->addr = st->cands[st->cur];
	st->started = false;
	family = st->addr.ss.ss_family;
	if ((rc = make_socket(call, family, SOCK_STREAM, 0, st->pass, &fd, &made, &owned)))
		return rc;
	sk->owned_by_caller = owned;
	if (st->has_src) {
		struct sbaddr src = source_for(src_of(st, family), family);
		if (bind(fd, (struct sockaddr *)&src.ss, src.len) < 0) {
			int e = errno;
			safe_close(fd);
			return -e;
		}
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
	} else if (err && sk->block && (sk->family == AF_INET || sk->family == AF_INET6) &&
	           sk->type == SOCK_STREAM) {
		/* A blocking connect (Python's timeout None) that fails leaves the
		 * socket unconnected, so that the next connect is a fresh attempt
		 * (ECONNREFUSED again). Ours was non-blocking: the socket still says
		 * "connecting" and the next connect would get ECONNABORTED, as
		 * Python's does with a timeout. One more connect() of the judged
		 * address, which finds the attempt over (inet_stream_connect: no new
		 * SYN), puts it back as a blocking one leaves it. */
		(void)connect(sk->fd, (struct sockaddr *)&st->addr.ss, st->addr.len);
	}
	if (err == 0)
		goto done;
	if (st->to && st->cur + 1 < st->ncands) {
		/* That address failed: a fresh socket for the next one, same handle. */
		int r = connect_to_next(w->call, st, sk);
		if (r < 0)
			return r;
		return connect_try(w);
	}
	/* The bound departs from Python, which would go on: the error says so. */
	if (st->to && st->left)
		return call_error_os(w->call, -err, "socket.connect_to: %s (not tried: %zu of the name's addresses, "
		                     "after its first %d)", strerror(err), st->left, RESOLVE_STREAM_MAX);
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
	struct kind made;
	bool owned;
	struct sock *sk;

	st->addr = st->cands[0];
	st->cur = 0;
	if ((rc = make_socket(call, family, SOCK_STREAM, 0, st->pass, &fd, &made, &owned))) {
		connect_state_free(st);
		return rc;
	}
	rc = sock_new(call->conn, fd, made.family, made.type, made.proto, &sk);
	if (rc < 0) {
		connect_state_free(st);
		return limit_error(call, rc);
	}
	sk->owned_by_caller = owned;
	st->own = sk;
	st->to = true;
	if (timeout->given) {
		sk->block = timeout->block;
		sk->timeout_s = timeout->block ? 0 : timeout->seconds;
	}
	if (st->has_src) {
		struct sbaddr src = source_for(src_of(st, family), family);
		if (bind(sk->fd, (struct sockaddr *)&src.ss, src.len) < 0) {
			rc = -errno;
			connect_state_free(st);
			return rc;
		}
	}
	rc = sock_op(call, sk, EPOLLOUT, false, connect_try, st, connect_state_free, NULL);
	return rc == -EAGAIN ? -EINPROGRESS : rc;
}

/* getaddrinfo for connect_to, on a resolver worker: the host's addresses
 * (host NULL: the literal in addrs[0]), and source_address's name for each
 * family among them. */
struct connect_to_job {
	struct resolve_job job;
	struct call *call;
	char *host;
	char port[8];
	struct sbaddr addrs[RESOLVE_STREAM_MAX];  /* what the name resolved to, in order */
	size_t naddrs, left;    /* kept; left out, past the bound */
	int gai, err;
	int src_gai[2], src_err[2];   /* the source name's look-up for AF_INET, AF_INET6 */
	struct connect_state *st;
	struct param_timeout timeout;
};

static void connect_to_job_free(struct connect_to_job *j)
{
	if (j->st)
		connect_state_free(j->st);
	free(j->host);
	free(j);
}

static void connect_to_work(struct resolve_job *job)
{
	struct connect_to_job *j = (struct connect_to_job *)job;
	struct connect_state *st = j->st;

	if (j->host)
		j->gai = resolve_stream(j->host, j->port, j->addrs, RESOLVE_STREAM_MAX, &j->naddrs, &j->left, &j->err);
	if (!j->gai && st->src_host) {
		resolve_sources(st->src_host, &st->src, j->addrs, j->naddrs, st->srcs, j->src_gai, j->src_err);
		st->src_ok[0] = j->src_gai[0] == 0;
		st->src_ok[1] = j->src_gai[1] == 0;
	}
}

static void connect_to_done(struct resolve_job *job)
{
	struct connect_to_job *j = (struct connect_to_job *)job;
	struct call *call = j->call;
	struct connect_state *st = j->st;
	struct call_saved_error first_denial = { 0 };
	int rc, no_src = -1;

	call->park = NULL;
	call->cancel = NULL;
	if (j->gai) {
		rc = call_error_gai(call, j->gai, j->err, "getaddrinfo('%.200s')", j->host);
		connect_to_job_free(j);
		call_finish(call, rc);
		return;
	}
	/* Only the addresses the policy allows for this name are tried: the
	 * socket is pinned to what the daemon's own resolution returned. */
	int denied = 0;
	for (size_t i = 0; i < j->naddrs; i++) {
		int family = j->addrs[i].ss.ss_family;
		/* Python's bind of a source name with no address of this family
		 * fails the candidate (gaierror) before it connects: skipped. */
		if (st->src_host && !src_of(st, family)) {
			no_src = src_index(family);
			continue;
		}
		rc = judge_candidate(call, st, &j->addrs[i], j->host);
		if (rc) {
			/* Keep the first denial: it answers when no address is allowed. */
			if (denied++ == 0)
				call_error_save(call, &first_denial);
			continue;
		}
		st->cands[st->ncands++] = j->addrs[i];
	}
	j->st = NULL;
	st->left = j->left;
	if (!st->ncands) {
		if (denied) {
			rc = call_error_restore(call, &first_denial);
			if (j->left)
				call_error_note(call, " (neither judged nor tried: %zu of the name's addresses, after its first %d)",
				                j->left, RESOLVE_STREAM_MAX);
		} else if (no_src >= 0)
			rc = call_error_gai(call, j->src_gai[no_src], j->src_err[no_src], "getaddrinfo('%.200s')",
			                    st->src_host);
		else
			rc = call_error(call, SB_ERR_GAI, NULL, "getaddrinfo('%.200s'): no IPv4 or IPv6 address", j->host);
		connect_state_free(st);
	} else {
		call_error_clear(call);
		rc = connect_to_start(call, st, &j->timeout);
	}
	call_saved_error_free(&first_denial);
	connect_to_job_free(j);
	if (rc != CALL_PENDING)
		call_finish(call, rc);
}

static void connect_to_destroy(struct resolve_job *job)
{
	connect_to_job_free((struct connect_to_job *)job);
}


/* Python's create_connection: resolve the host (off the loop, unless it is a
 * literal) and a source name, then try each address in turn until one
 * connects. */
static int rpc_socket_connect_to(struct call *call, void *params)
{
	struct p_connect_to *p = params;
	struct connect_state *st = calloc(1, sizeof(*st));
	struct connect_to_job *j;
	int rc;

	if (!st)
		return -ENOMEM;
	if (p->source_address.given) {
		int sf = p->source_address.a.ss.ss_family;
		if (sf != AF_INET && sf != AF_INET6) {
			free(st);
			return call_error_param(call, "source_address", "source_address must be [host, port]");
		}
		st->src = p->source_address.a;
		st->has_src = true;
		if (p->source_address.host && !(st->src_host = strdup(p->source_address.host))) {
			free(st);
			return -ENOMEM;
		}
	}
	st->pass = p->pass;
	if (p->address.literal) {
		st->cands[0] = p->address.a;
		/* A literal and a numeric source: no look-up. */
		if (!st->src_host) {
			if ((rc = judge_candidate(call, st, &st->cands[0], NULL))) {
				connect_state_free(st);
				return rc;
			}
			st->ncands = 1;
			return connect_to_start(call, st, &p->timeout);
		}
		/* Before the source's look-up: its resolve. */
		struct plan_in in = plan_in_of(call, NULL, &st->cands[0], NULL);
		in.family = st->cands[0].ss.ss_family;
		in.type = SOCK_STREAM;
		in.proto = 0;
		in.source_host = st->src_host;
		rc = plan_run_unresolved(call, &in);
	} else {
		/* Before any look-up: a name no rule could allow costs nothing. */
		rc = judge_unresolved_name(call, st, p->address.host, p->address.port);
	}
	if (rc) {
		connect_state_free(st);
		return rc;
	}
	j = calloc(1, sizeof(*j));
	if (!j || (!p->address.literal && !(j->host = strdup(p->address.host)))) {
		free(j);
		connect_state_free(st);
		return -ENOMEM;
	}
	if (p->address.literal) {
		j->addrs[0] = p->address.a;
		j->naddrs = 1;
	}
	snprintf(j->port, sizeof(j->port), "%d", p->address.port);
	j->call = call;
	j->st = st;
	j->timeout = p->timeout;
	j->job.work = connect_to_work;
	j->job.done = connect_to_done;
	j->job.destroy = connect_to_destroy;
	return call_park_resolve(call, &j->job);
}

/* Python's listen(): a negative backlog is 0 (the kernel would make it
 * somaxconn); any int passes and the kernel caps it. The param's range is
 * int's, as Python's OverflowError beyond it. */
static int py_backlog(int64_t backlog)
{
	return backlog < 0 ? 0 : (int)backlog;
}

struct p_listen_on {
	struct param_address address;
	int family;
	int64_t backlog;
	bool reuse_port, dualstack_ipv6, pass;
	const char *hold;           /* hold the listener under this name, no handle */
};

static const struct param_desc listen_on_params[] = {
	{ "address", PT_ADDRESS, offsetof(struct p_listen_on, address), PF_REQUIRED | PF_OF_SOCKET,
	  .doc = "[host, port] or {host, port} to bind" },
	{ "family", PT_CONST, offsetof(struct p_listen_on, family), 0, .def = AF_UNSPEC, .kind = SBC_AF,
	  .doc = "AF_INET or AF_INET6 (default: by the address), or AF_UNIX" },
	{ "backlog", PT_INT, offsetof(struct p_listen_on, backlog), 0, INT32_MIN, INT32_MAX, DEFAULT_BACKLOG,
	  .doc = "listen backlog (default 128; negative is 0, the kernel caps it at somaxconn)" },
	{ "reuse_port", PT_BOOL, offsetof(struct p_listen_on, reuse_port), 0, .doc = "set SO_REUSEPORT" },
	{ "dualstack_ipv6", PT_BOOL, offsetof(struct p_listen_on, dualstack_ipv6), 0,
	  .doc = "AF_INET6 socket that also accepts IPv4 (IPV6_V6ONLY off)" },
	{ "pass", PT_BOOL, offsetof(struct p_listen_on, pass), 0, .doc = "answer with the descriptor" },
	{ "hold", PT_STRING, offsetof(struct p_listen_on, hold), 0,
	  .doc = "hold the listener under this name (docs/held.md) instead of answering with a handle" },
	{ 0 }
};

/* The family create_server makes: as asked, else by the address. */
static int listen_on_family(const void *params)
{
	const struct p_listen_on *p = params;
	int family = p->family;

	if (family != AF_UNSPEC)
		return family;
	/* Decoded already: for the family chosen here before. */
	if (!p->address.pending)
		return p->address.a.ss.ss_family;
	family = sbaddr_guess_family(p->address.pending);
	if (family == AF_UNSPEC)
		family = p->dualstack_ipv6 ? AF_INET6 : AF_INET;
	return family;
}

/* Python's create_server. */
static int rpc_socket_listen_on(struct call *call, void *params)
{
	struct p_listen_on *p = params;
	json_object *r = call_result(call);
	int family, one = 1, zero = 0, rc;
	_cleanup_close_ int fd = -1;
	const char *host;
	struct sbaddr a;
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	struct kind made;
	bool owned;

	struct plan_in in = plan_in_of(call, NULL, NULL, NULL);
	struct plan pl;

	in.family = family = listen_on_family(p);
	in.type = SOCK_STREAM;
	in.proto = 0;
	rc = decode_address(call, &in, &p->address, NULL, &a, &host);
	if (rc)
		return rc;
	in.addr = &a;
	in.host = host;
	if ((rc = plan_run(call, &in, &pl)))
		return rc;
	if ((rc = make_socket(call, family, SOCK_STREAM, 0, p->pass, &fd, &made, &owned)))
		return rc;
	if (p->reuse_port && !owned)
		return refuse_reuse_port(call, &made);
	/* As Python does on POSIX: reuse the address of a socket in TIME_WAIT. */
	if (family != AF_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (p->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -errno;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, p->dualstack_ipv6 ? &zero : &one, sizeof(int)) < 0)
		return -errno;
	if (family == AF_UNIX) {
		struct unix_job *j = unix_job_new(call, UNIX_BIND_LISTEN, TAKE_FD(fd));
		if (!j)
			return -ENOMEM;
		j->addr = a;
		j->has_addr = true;
		j->backlog = py_backlog(p->backlog);
		j->give = true;
		j->pass = p->pass;
		j->hold = p->hold;
		j->owned = owned;
		j->made = made;
		return call_park_resolve(call, &j->job);
	}
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0)
		return -errno;
	if (listen(fd, py_backlog(p->backlog)) < 0)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &l) == 0)
		json_object_object_add(r, "local", encode_ss(&ss, l));
	if (p->hold)
		return rpc_hold_keep(call, p->hold, TAKE_FD(fd), r);
	return give_socket(call, r, TAKE_FD(fd), &made, owned, p->pass);
}

/* ---- methods on a handle ---- */

struct p_handle {
	int64_t handle;
};


static const struct param_desc handle_params[] = { HANDLE_PARAM(struct p_handle), { 0 } };

struct p_addr {
	int64_t handle;
	struct param_address address;
	const char *resolved;   /* connect, connect_ex */
};

static const struct param_desc addr_params[] = {
	HANDLE_PARAM(struct p_addr),
	{ "address", PT_ADDRESS, offsetof(struct p_addr, address), PF_REQUIRED | PF_OF_SOCKET,
	  .doc = "an address of the socket's family, object or tuple form" },
	{ 0 }
};

static const struct param_desc connect_params[] = {
	HANDLE_PARAM(struct p_addr),
	{ "address", PT_ADDRESS, offsetof(struct p_addr, address), PF_REQUIRED | PF_OF_SOCKET,
	  .doc = "an address of the socket's family, object or tuple form" },
	{ "resolved", PT_STRING, offsetof(struct p_addr, resolved), 0,
	  .doc = "with a host name in address (AF_INET, AF_INET6): the numeric address of the socket's family to "
	         "connect to, one the caller got for that name; judged with the name when the daemon's own look-up "
	         "of the name gives it, else as that literal (docs/policy.md section 6)" },
	{ 0 }
};

static int rpc_socket_bind(struct call *call, void *params)
{
	struct p_addr *p = params;
	struct sock *sk = call->target;
	struct plan pl;
	struct sbaddr a;
	int rc;

	if ((rc = judge_at(call, sk, &p->address, &a, &pl)) || (rc = v6only_unless_v4(sk, &pl)))
		return rc;
	if (sk->family == AF_UNIX) {
		struct unix_job *j;
		if ((rc = unix_job_on(call, sk, UNIX_BIND, &j)))
			return rc;
		j->addr = a;
		j->has_addr = true;
		return call_park_resolve(call, &j->job);
	}
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
	{ "backlog", PT_INT, offsetof(struct p_listen, backlog), 0, INT32_MIN, INT32_MAX, DEFAULT_BACKLOG,
	  .doc = "listen backlog (default 128; negative is 0, the kernel caps it at somaxconn)" },
	{ 0 }
};

static int rpc_socket_listen(struct call *call, void *params)
{
	struct p_listen *p = params;
	struct sock *sk = call->target;
	struct plan_in in;
	struct plan pl;
	struct sbaddr bound;
	int rc;

	memset(&bound, 0, sizeof(bound));
	bound.len = sizeof(bound.ss);
	/* An unbound socket listens on an address the kernel picks: judged as such. */
	if (getsockname(sk->fd, (struct sockaddr *)&bound.ss, &bound.len) < 0)
		return -errno;
	in = plan_in_of(call, sk, &bound, NULL);
	/* Unbound, it is bound now, to the unspecified address: as a bind there. */
	if ((rc = plan_run(call, &in, &pl)) || (rc = v6only_unless_v4(sk, &pl)))
		return rc;
	if (sk->family == AF_UNIX) {
		struct unix_job *j;
		if ((rc = unix_job_on(call, sk, UNIX_LISTEN, &j)))
			return rc;
		j->backlog = py_backlog(p->backlog);
		return call_park_resolve(call, &j->job);
	}
	if (listen(sk->fd, py_backlog(p->backlog)) < 0)
		return -errno;
	call_result(call);
	return 0;
}

static int connect_common(struct call *call, struct p_addr *p, bool ex)
{
	struct sock *sk = call->target;
	struct connect_state *st;
	struct plan pl;
	int rc;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	rc = judge_at_pinned(call, sk, &p->address, p->resolved, &st->addr, &pl);
	if (rc) {
		free(st);
		return rc;
	}
	if (sk->family == AF_UNIX) {
		struct unix_job *j;
		ensure_nonblock(sk);
		rc = unix_job_on(call, sk, UNIX_CONNECT, &j);
		if (rc == 0) {
			j->addr = st->addr;
			j->has_addr = true;
			j->ex = ex;
		}
		free(st);
		return rc ? rc : call_park_resolve(call, &j->job);
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

	struct ascaller_cred cr;
	struct kind made;
	bool owned;
	int rc;

	memset(&ss, 0, sizeof(ss));
	caller_cred(w->call, &cr);
	fd = ascaller_accept4(&cr, sk->fd, (struct sockaddr *)&ss, &l, SOCK_CLOEXEC | SOCK_NONBLOCK, &owned);
	if (fd < 0)
		return -errno;
	if ((rc = read_kind(fd, &made))) {
		safe_close(fd);
		return rc;
	}
	r = call_result(w->call);
	json_object_object_add(r, "peer", encode_ss(&ss, l));
	return give_socket(w->call, r, fd, &made, owned, pass);
}

static int rpc_socket_accept(struct call *call, void *params)
{
	struct p_accept *p = params;
	struct sock *sk = call->target;
	bool *pass;
	/* The plan was decided before accepting: a denial must not use up a
	 * pending connection. */
	pass = malloc(sizeof(*pass));
	if (!pass)
		return -ENOMEM;
	*pass = p->pass;
	ensure_nonblock(sk);
	return sock_op(call, sk, EPOLLIN, false, accept_try, pass, free, NULL);
}

static int name_common(struct call *call, void *params, bool peer)
{
	struct sock *sk = call->target;
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	(void)params;
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
	int option;
	struct param_sockopt value;
	int64_t buflen;
};

static const struct param_sockopt_arg option_of_level = {
	offsetof(struct p_sockopt, level), offsetof(struct p_sockopt, option),
};

static const struct param_desc setsockopt_params[] = {
	HANDLE_PARAM(struct p_sockopt),
	{ "level", PT_CONST, offsetof(struct p_sockopt, level), PF_REQUIRED, .kind = SBC_SOL,
	  .doc = "SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, ... or a number" },
	{ "option", PT_SOCKOPT_NAME, offsetof(struct p_sockopt, option), PF_REQUIRED, .arg = &option_of_level,
	  .doc = "the option's name at that level, or a number" },
	{ "value", PT_SOCKOPT, offsetof(struct p_sockopt, value), PF_REQUIRED, .arg = &option_of_level,
	  .doc = "integer, boolean, a typed form (see docs), or {\"data\": base64}" },
	{ 0 }
};

static const struct param_desc getsockopt_params[] = {
	HANDLE_PARAM(struct p_sockopt),
	{ "level", PT_CONST, offsetof(struct p_sockopt, level), PF_REQUIRED, .kind = SBC_SOL,
	  .doc = "option level" },
	{ "option", PT_SOCKOPT_NAME, offsetof(struct p_sockopt, option), PF_REQUIRED, .arg = &option_of_level,
	  .doc = "option name or number" },
	{ "buflen", PT_INT, offsetof(struct p_sockopt, buflen), 0, 0, SOCKOPT_MAX_LEN, 0,
	  .doc = "bytes to read: answers {data} raw (default: the option's typed value)" },
	{ 0 }
};

static int rpc_socket_setsockopt(struct call *call, void *params)
{
	struct p_sockopt *p = params;
	struct sock *sk = call->target;

	if (p->level == SOL_SOCKET && p->option == SO_REUSEPORT && !sk->owned_by_caller &&
	    p->value.len >= sizeof(int) && *(const int *)(const void *)p->value.buf != 0) {
		struct kind k = { sk->family, sk->type, sk->proto };
		return refuse_reuse_port(call, &k);
	}
	if (setsockopt(sk->fd, p->level, p->option, p->value.buf, p->value.len) < 0)
		return -errno;
	call_result(call);
	return 0;
}

static int rpc_socket_getsockopt(struct call *call, void *params)
{
	struct p_sockopt *p = params;
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len;
	struct sock *sk = call->target;
	json_object *v;
	int option = p->option;

	if (sockopt_get_refused(p->level, option))
		return call_error_param(call, "option", "option: this getsockopt acts instead of reading (a new "
		                                        "association's descriptor, or a connect): use the daemon's methods");
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
	struct sock *sk = call->target;
	sk->block = p->timeout.block;
	sk->timeout_s = p->timeout.block ? 0 : p->timeout.seconds;
	call_result(call);
	return 0;
}

static int rpc_socket_gettimeout(struct call *call, void *params)
{
	struct sock *sk = call->target;
	json_object_object_add(call_result(call), "timeout", sock_timeout_json(sk));
	return 0;
}

static int rpc_socket_setblocking(struct call *call, void *params)
{
	struct p_timeout *p = params;
	struct sock *sk = call->target;
	sk->block = p->flag;
	sk->timeout_s = 0;
	call_result(call);
	return 0;
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
	struct sock *sk = call->target;
	if (shutdown(sk->fd, p->how) < 0)
		return -errno;
	call_result(call);
	return 0;
}

static int rpc_socket_close(struct call *call, void *params)
{
	struct sock *sk = call->target;
	sock_close(sk);
	call_result(call);
	return 0;
}

static int rpc_socket_dup(struct call *call, void *params)
{
	struct sock *sk = call->target, *nsk;
	int fd, rc;

	(void)params;
	fd = fcntl(sk->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	rc = sock_new(call->conn, fd, sk->family, sk->type, sk->proto, &nsk);
	if (rc < 0)
		return limit_error(call, rc);
	nsk->block = sk->block;
	nsk->timeout_s = sk->timeout_s;
	nsk->owned_by_caller = sk->owned_by_caller;
	json_object_object_add(call_result(call), "handle", json_object_new_uint64(nsk->handle));
	return 0;
}

static int rpc_socket_fd(struct call *call, void *params)
{
	struct sock *sk = call->target;
	int fd;

	/* The duplicate shares the open file (and its O_NONBLOCK) with ours. */
	fd = fcntl(sk->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	call_result(call);
	return call_push_fd(call, fd);
}

static int rpc_socket_detach(struct call *call, void *params)
{
	struct sock *sk = call->target;
	int fd;

	fd = sock_take_fd(sk);
	if (fd < 0)
		return fd;
	set_blocking(fd, true);
	call_result(call);
	return call_push_fd(call, fd);
}

static int rpc_socket_info(struct call *call, void *params)
{
	struct sock *sk = call->target;
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

/* ---- the policy questions of each method (plan.h) ----
 *
 * The one coding of each decision: the handlers decide these plans and
 * policy.check decides the same ones for a caller and socket it is told of. */

/* `hold: NAME`: a valid name, not with pass, and a `hold` of it. */
static int plan_hold_name(struct plan *pl, const struct plan_in *in, const char *name, bool pass)
{
	int rc;

	if (pass)
		return call_error_param(in->call, "hold", "hold: a socket is either held or passed, not both");
	if ((rc = rpc_hold_check_param(in->call, name)) || (rc = plan_ask(pl, in, POLICY_HOLD)))
		return rc;
	pl->steps[pl->n - 1].q.name = name;
	return 0;
}

static int plan_create(struct plan *pl, const struct plan_in *in)
{
	const struct p_create *p = in->params;
	struct plan_in made = *in;

	made.family = p->family;
	made.type = p->type;
	made.proto = p->proto;
	/* A descriptor handed to the client escapes every later check (its
	 * holder may connect or send it anywhere the daemon's network namespace
	 * reaches): only an explicit create grant lets one leave; a bind or
	 * connect grant alone keeps it in the daemon, used through its handle. */
	if (p->hold) {
		int rc = plan_hold_name(pl, &made, p->hold, p->pass);
		if (rc)
			return rc;
	}
	return p->pass ? plan_ask_hand_out(pl, p->family, p->type, p->proto) : plan_ask(pl, &made, POLICY_CREATE);
}

static int plan_adopt(struct plan *pl, const struct plan_in *in)
{
	return plan_ask(pl, in, POLICY_ADOPT);
}

static int plan_bind(struct plan *pl, const struct plan_in *in)
{
	int rc = plan_ask_at(pl, in, POLICY_BIND, in->addr);

	if (!rc)
		rc = plan_ask_netlink_groups(pl, in, in->addr);
	if (!rc)
		rc = plan_ask_v4_reach(pl, in, POLICY_BIND, in->addr, PLAN_CHOICE);
	return rc;
}

/* Where the socket is bound (in->addr); unbound, the kernel binds it to the
 * unspecified address and a port it picks, and that is what is judged. An
 * unbound AF_UNIX socket is at the unnamed address, as getsockname() tells
 * the handler: policy.check told of no address judges the same. */
static int plan_listen(struct plan *pl, const struct plan_in *in)
{
	const struct sbaddr *a = in->addr;
	struct sbaddr any = { .len = sizeof(struct sockaddr_in6) };
	int rc;

	if (!a && (in->family == AF_INET || in->family == AF_INET6 || in->family == AF_UNIX)) {
		any.ss.ss_family = (sa_family_t)in->family;
		if (in->family == AF_UNIX)
			any.len = offsetof(struct sockaddr_un, sun_path);
		a = &any;
	}
	if (!a)
		return plan_ask(pl, in, POLICY_LISTEN);
	rc = plan_ask_at(pl, in, POLICY_LISTEN, a);
	return rc ? rc : plan_ask_v4_reach(pl, in, POLICY_LISTEN, a, PLAN_CHOICE);
}

static int plan_connect(struct plan *pl, const struct plan_in *in)
{
	return plan_ask_at(pl, in, POLICY_CONNECT, in->addr);
}

/* Values the kernel reserves to privilege: the daemon has it, the policy
 * decides. Any other value is the caller's own business. */
static int plan_setsockopt(struct plan *pl, const struct plan_in *in)
{
	const struct p_sockopt *p = in->params;

	if (!sockopt_value_privileged(in->family, in->type, in->proto, p->level, p->option, NULL, 0)) {
		pl->note = "this option is not one the kernel reserves to privilege on such a socket: the policy does not "
		           "govern it";
		return 0;
	}
	/* Without a value (policy.check may leave it out), judged as one that needs the privilege. */
	if (p->value.given &&
	    !sockopt_value_privileged(in->family, in->type, in->proto, p->level, p->option, p->value.buf, p->value.len)) {
		pl->note = "this value is open to every user (the kernel checks no privilege): the policy does not govern it";
		return 0;
	}
	return plan_ask_option(pl, in, p->level, p->option);
}

/* Reads the kernel reserves to privilege, as the option's setsockopt. */
static int plan_getsockopt(struct plan *pl, const struct plan_in *in)
{
	const struct p_sockopt *p = in->params;

	if (!sockopt_get_privileged(p->level, p->option)) {
		pl->note = "reading this option needs no privilege: the policy does not govern it";
		return 0;
	}
	return plan_ask_option(pl, in, p->level, p->option);
}

/* Onto a new handle it is the caller's own state; passed, a hand-out. */
static int plan_accept(struct plan *pl, const struct plan_in *in)
{
	if (!((const struct p_accept *)in->params)->pass) {
		pl->note = "accepted onto a new handle, the connection stays in the daemon: only the caller's own state";
		return 0;
	}
	return plan_ask_hand_out(pl, in->family, in->type, in->proto);
}

/* socket.fd, socket.detach: the descriptor leaves. */
static int plan_hand_out(struct plan *pl, const struct plan_in *in)
{
	return plan_ask_hand_out(pl, in->family, in->type, in->proto);
}

/* create_server: bind and listen at the address, IPv4 as well for a
 * dual-stack socket, and a hand-out when passed. */
static int plan_listen_on(struct plan *pl, const struct plan_in *in)
{
	const struct p_listen_on *p = in->params;
	int rc;

	if (p->dualstack_ipv6 && in->family != AF_INET6)
		return call_error_param(in->call, "dualstack_ipv6", "dualstack_ipv6 needs an AF_INET6 address");
	if ((rc = plan_ask_at(pl, in, POLICY_BIND, in->addr)) || (rc = plan_ask_at(pl, in, POLICY_LISTEN, in->addr)))
		return rc;
	if (p->dualstack_ipv6 && (rc = plan_ask_v4_reach(pl, in, POLICY_BIND, in->addr, PLAN_GATE)))
		return rc;
	if (p->hold && (rc = plan_hold_name(pl, in, p->hold, p->pass)))
		return rc;
	return p->pass ? plan_ask_hand_out(pl, in->family, SOCK_STREAM, 0) : 0;
}

/* create_connection, for one address it may try (in->addr, of in->family):
 * the source name's resolve, the source bind, the connect, and a hand-out of
 * that family when passed. */
static int plan_connect_to(struct plan *pl, const struct plan_in *in)
{
	const struct p_connect_to *p = in->params;
	int rc;

	/* A source name is looked up (per candidate family) as net.getaddrinfo
	 * would: a bind entry names no host, so the name is judged here. */
	if (in->source_host && (rc = plan_resolve_name(pl, in->source_host)))
		return rc;
	if (in->source) {
		struct plan_in src = *in;
		/* The bind connect_to does on this candidate's socket. */
		struct sbaddr a = in->unresolved || !in->addr ? *in->source
		                                              : source_for(in->source, in->addr->ss.ss_family);
		src.family = a.ss.ss_family;
		src.host = NULL;
		src.unresolved = false;
		if ((rc = plan_ask_at(pl, &src, POLICY_BIND, &a)))
			return rc;
	}
	if ((rc = plan_ask_at(pl, in, POLICY_CONNECT, in->addr)))
		return rc;
	return p->pass && !in->unresolved ? plan_ask_hand_out(pl, in->family, SOCK_STREAM, 0) : 0;
}

/* ---- the table ---- */


static const struct rpc_method methods[] = {
	{ .name = "socket.create",
	  .summary = "Python's socket(): a new socket of family, type and proto.",
	  .handler = rpc_socket_create,
	  .params = create_params, .params_size = sizeof(struct p_create),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"family\",\"type\",\"proto\"]}",
	  .flags = RPC_RETURNS_FDS,
	  .plan = plan_create, },
	{ .name = "socket.pair",
	  .summary = "Python's socketpair(): two connected sockets.",
	  .handler = rpc_socket_pair,
	  .params = pair_params, .params_size = sizeof(struct p_create),
	  .result_schema = "{\"type\":\"object\",\"properties\":{\"handles\":{\"type\":\"array\"},\"fds\":{\"const\":2}}}",
	  .flags = RPC_RETURNS_FDS,
	  .plan = plan_create, },
	{ .name = "socket.connect_to",
	  .summary = "Python's create_connection(): resolves the host, tries each address, a connected TCP socket.",
	  .handler = rpc_socket_connect_to,
	  .params = connect_to_params, .params_size = sizeof(struct p_connect_to),
	  .result_schema = "{\"type\":\"object\",\"properties\":{\"handle\":{\"type\":\"integer\"},\"local\":{},\"peer\":{}}}",
	  .flags = RPC_RETURNS_FDS | B | RPC_PLAN_IN_HANDLER,
	  .plan = plan_connect_to,
	  .address = "address", .candidates = true, },
	{ .name = "socket.listen_on",
	  .summary = "Python's create_server(): a bound, listening TCP (or UNIX) socket.",
	  .handler = rpc_socket_listen_on,
	  .params = listen_on_params, .params_size = sizeof(struct p_listen_on),
	  .result_schema = "{\"type\":\"object\",\"properties\":{\"handle\":{\"type\":\"integer\"},\"local\":{}}}",
	  .flags = RPC_RETURNS_FDS | RPC_PLAN_IN_HANDLER,
	  .plan = plan_listen_on,
	  .address = "address", .family_of = listen_on_family, },
	{ .name = "socket.adopt",
	  .summary = "Makes a socket sent with the request (fds: 1) a handle.",
	  .handler = rpc_socket_adopt,
	  .result_schema = R_HANDLE,
	  .flags = RPC_TAKES_FDS | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_RECEIVED,
	  .plan = plan_adopt, },
	{ .name = "socket.bind",
	  .summary = "Binds the socket to an address.",
	  .handler = rpc_socket_bind,
	  .params = addr_params, .params_size = sizeof(struct p_addr),
	  .result_schema = R_EMPTY,
	  .flags = RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_bind,
	  .address = "address", },
	{ .name = "socket.listen",
	  .summary = "Listens for connections.",
	  .handler = rpc_socket_listen,
	  .params = listen_params, .params_size = sizeof(struct p_listen),
	  .result_schema = R_EMPTY,
	  .flags = RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_listen,
	  .address = "address", },
	{ .name = "socket.connect",
	  .summary = "Connects, waiting as the socket's timeout says.",
	  .handler = rpc_socket_connect,
	  .params = connect_params, .params_size = sizeof(struct p_addr),
	  .result_schema = R_EMPTY,
	  .flags = B | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_connect,
	  .address = "address", .pinned = "resolved", },
	{ .name = "socket.connect_ex",
	  .summary = "Connects and answers the errno (0 on success) instead of an OS error.",
	  .handler = rpc_socket_connect_ex,
	  .params = connect_params, .params_size = sizeof(struct p_addr),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"errno\",\"name\"]}",
	  .flags = B | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_connect,
	  .address = "address", .pinned = "resolved", },
	{ .name = "socket.accept",
	  .summary = "Accepts a connection: a new handle (or descriptor) and the peer's address.",
	  .handler = rpc_socket_accept,
	  .params = accept_params, .params_size = sizeof(struct p_accept),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"peer\"]}",
	  .flags = RPC_RETURNS_FDS | B,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_accept, },
	{ .name = "socket.getsockname",
	  .summary = "The socket's own address.",
	  .handler = rpc_socket_getsockname,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"address\"]}",
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.getpeername",
	  .summary = "The connected peer's address.",
	  .handler = rpc_socket_getpeername,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"address\"]}",
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.setsockopt",
	  .summary = "Sets an option; typed values for the options people use.",
	  .handler = rpc_socket_setsockopt,
	  .params = setsockopt_params, .params_size = sizeof(struct p_sockopt),
	  .result_schema = R_EMPTY,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_setsockopt, },
	{ .name = "socket.getsockopt",
	  .summary = "Reads an option: {value} typed, or {data} raw with buflen.",
	  .handler = rpc_socket_getsockopt,
	  .params = getsockopt_params, .params_size = sizeof(struct p_sockopt),
	  .result_schema = "{\"type\":\"object\",\"properties\":{\"value\":{},\"data\":{\"type\":\"string\"}}}",
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_getsockopt, },
	{ .name = "socket.settimeout",
	  .summary = "Python's settimeout: seconds, 0 (non-blocking) or null (block).",
	  .handler = rpc_socket_settimeout,
	  .params = settimeout_params, .params_size = sizeof(struct p_timeout),
	  .result_schema = R_EMPTY,
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.gettimeout",
	  .summary = "The socket's timeout.",
	  .handler = rpc_socket_gettimeout,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"timeout\"]}",
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.setblocking",
	  .summary = "Python's setblocking: true is timeout null, false is 0.",
	  .handler = rpc_socket_setblocking,
	  .params = setblocking_params, .params_size = sizeof(struct p_timeout),
	  .result_schema = R_EMPTY,
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.shutdown",
	  .summary = "Shuts down one or both directions.",
	  .handler = rpc_socket_shutdown,
	  .params = shutdown_params, .params_size = sizeof(struct p_shutdown),
	  .result_schema = R_EMPTY,
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.close",
	  .summary = "Closes the socket; operations waiting on it fail with EBADF.",
	  .handler = rpc_socket_close,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = R_EMPTY,
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.dup",
	  .summary = "A second handle for the same socket.",
	  .handler = rpc_socket_dup,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = R_HANDLE,
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.fd",
	  .summary = "A duplicate descriptor for direct use; the handle stays.",
	  .handler = rpc_socket_fd,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = R_HANDLE,
	  .flags = RPC_RETURNS_FDS,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_hand_out, },
	{ .name = "socket.detach",
	  .summary = "The descriptor itself (blocking mode); the handle is gone.",
	  .handler = rpc_socket_detach,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = R_HANDLE,
	  .flags = RPC_RETURNS_FDS,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_hand_out, },
	{ .name = "socket.info",
	  .summary = "The socket's state: family, type, addresses, timeout, counters, pending operations.",
	  .handler = rpc_socket_info,
	  .params = handle_params, .params_size = sizeof(struct p_handle),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"handle\"]}",
	  .flags = RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.list",
	  .summary = "The caller's sockets, as socket.info shows each.",
	  .handler = rpc_socket_list,
	  .result_schema = "{\"type\":\"object\",\"required\":[\"sockets\"]}",
	  .flags = RPC_OWN_STATE, },
};

const struct rpc_family rpc_socket_family = { methods, ARRAY_SIZE(methods) };
