/* The socket object's sending and receiving methods (send, sendall,
 * sendto, sendmsg, recv, recvfrom, recvmsg), with Python's semantics. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "base64.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "plan.h"
#include "rpc-socket.h"
#include "server.h"
#include "sock.h"
#include "sockopt.h"
#include "util.h"

/* Buffers of one sendmsg: the kernel's UIO_MAXIOV (more is EMSGSIZE). */
#define MAX_SEND_BUFFERS 1024
/* recvmsg's ancbufsize (Python's bound is socklen_t's). 253 descriptors,
 * the kernel's SCM_MAX_FD, take 1,032 bytes; every other item fits many
 * times over. */
#define RECVMSG_MAX_ANCBUFSIZE 65536

/* ---- sending ---- */

struct p_send {
	int64_t handle;
	struct param_bytes data;
	int flags;
	struct param_address address;
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
	{ "address", PT_ADDRESS, offsetof(struct p_send, address), PF_REQUIRED | PF_OF_SOCKET, .doc = "the destination" },
	{ "flags", PT_FLAGS, offsetof(struct p_send, flags), 0, .kind = SBC_MSG, .doc = "MSG_* flags" },
	{ 0 }
};

struct send_state {
	unsigned char *buf;     /* taken from the params */
	size_t len, off;
	unsigned char *cbuf;    /* the caller's credentials, on a UNIX socket */
	size_t clen;
	int flags;
	bool all;               /* sendall: until everything is out */
	bool has_addr;
	struct sbaddr addr;
};

static void send_state_free(void *p)
{
	struct send_state *st = p;

	if (st) {
		free(st->buf);
		free(st->cbuf);
	}
	free(st);
}

static int send_try(struct sock_wait *w)
{
	struct send_state *st = w->state;
	struct sock *sk = w->sk;

	do {
		struct iovec iov = { st->buf + st->off, st->len - st->off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = st->cbuf,
		                     .msg_controllen = st->clen };
		ssize_t n;
		if (st->has_addr) {
			mh.msg_name = &st->addr.ss;
			mh.msg_namelen = st->addr.len;
		}
		n = sendmsg(sk->fd, &mh, st->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		st->off += (size_t)n;
		sock_count_bytes(sk, true, (uint64_t)n);
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
	struct sock *sk = call->target;
	struct plan_in in = plan_in_of(call, sk, NULL, NULL);
	struct plan pl;
	int rc;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->has_addr = p->address.given;
	if (st->has_addr)
		rc = judge_at(call, sk, &p->address, &st->addr, &pl);
	else
		rc = plan_run(call, &in, &pl);
	if (rc) {
		free(st);
		return rc;
	}
	if (sk->family == AF_UNIX && st->has_addr) {
		rc = unix_send_as_caller(call, sk, &st->addr, TAKE_PTR(p->data.buf), p->data.len, NULL, 0,
		                         p->flags & ~MSG_DONTWAIT);
		free(st);
		return rc;
	}
	if ((rc = add_caller_creds(call, sk, &st->cbuf, &st->clen))) {
		free(st);
		return rc;
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
	{ "ancbufsize", PT_INT, offsetof(struct p_recv, ancbufsize), 0, 0, RECVMSG_MAX_ANCBUFSIZE, 0,
	  .doc = "room for ancillary data, in bytes, as Python's: exactly this much goes to recvmsg(2), "
	         "which cuts what does not fit, sets MSG_CTRUNC and closes the descriptors that do not "
	         "fit (default 0: none; socket.CMSG_SPACE(n * 4) for n descriptors)" },
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
	if (st->kind == RECV_MSG && st->ancbufsize) {
		/* Exactly the caller's room, as Python gives the kernel: no more, or
		 * descriptors and items the caller left no room for would arrive. */
		cbuf = calloc(1, st->ancbufsize);
		if (!cbuf) {
			free(buf);
			return -ENOMEM;
		}
		mh.msg_control = cbuf;
		mh.msg_controllen = st->ancbufsize;
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
		sock_count_bytes(sk, false, (uint64_t)n);
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
		/* The kernel echoes MSG_CMSG_CLOEXEC: report it only when the caller
		 * asked for it, not because the daemon always does. */
		json_object_object_add(r, "msg_flags",
		                       sbc_flags_to_json(SBC_MSG, mh.msg_flags & ~(MSG_CMSG_CLOEXEC & ~st->flags)));
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
	struct sock *sk = call->target;

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
	struct p_recv *p = params;

	/* Python's recv(0) is b"" at once, without the system call that would
	 * take a datagram away or wait for a stream's data. */
	if (p->bufsize == 0) {
		json_object *r = call_result(call);

		if (!r)
			return -ENOMEM;
		json_object_object_add(r, "data", json_object_new_string(""));
		return 0;
	}
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
	struct param_address address;
};

static const struct param_desc sendmsg_params[] = {
	HANDLE_PARAM(struct p_sendmsg),
	{ "buffers", PT_ARRAY, offsetof(struct p_sendmsg, buffers), PF_REQUIRED,
	  .doc = "base64 strings, sent as one message (scatter/gather)" },
	{ "ancdata", PT_ARRAY, offsetof(struct p_sendmsg, ancdata), 0,
	  .doc = "[{level, type, data}] ancillary data; descriptors go as the request's own fds" },
	{ "flags", PT_FLAGS, offsetof(struct p_sendmsg, flags), 0, .kind = SBC_MSG, .doc = "MSG_* flags" },
	{ "address", PT_ADDRESS, offsetof(struct p_sendmsg, address), PF_OF_SOCKET, .doc = "destination (unconnected sockets)" },
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
	sock_count_bytes(w->sk, true, (uint64_t)n);
	json_object_object_add(call_result(w->call), "sent", json_object_new_int64(n));
	return 0;
}

/* sendmsg's buffers as one contiguous copy (the kernel sees the same bytes
 * as with an iovec): 0 with *out malloc'd (NULL when empty), or an error. */
static int join_buffers(struct call *call, json_object *buffers, unsigned char **out, size_t *len)
{
	size_t n = json_object_array_length(buffers);

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *b = json_object_array_get_idx(buffers, i);
		unsigned char *dec, *nd;
		size_t dlen;
		if (!json_object_is_type(b, json_type_string) ||
		    b64_decode_alloc(json_object_get_string(b), (size_t)json_object_get_string_len(b), &dec, &dlen) < 0) {
			free(TAKE_PTR(*out));
			return call_error_param(call, "buffers", "buffers[%zu] is not valid base64", i);
		}
		nd = dlen ? realloc(*out, *len + dlen) : *out;
		if (dlen && !nd) {
			free(dec);
			free(TAKE_PTR(*out));
			return -ENOMEM;
		}
		*out = nd;
		if (dlen)
			memcpy(*out + *len, dec, dlen);
		*len += dlen;
		free(dec);
	}
	/* After the buffers' own checks, as Python's TypeError comes before the
	 * kernel's refusal of more than UIO_MAXIOV buffers. */
	if (n > MAX_SEND_BUFFERS) {
		free(TAKE_PTR(*out));
		return call_error_os(call, -EMSGSIZE, "sendmsg: %zu buffers, the kernel takes at most %d", n,
		                     MAX_SEND_BUFFERS);
	}
	return 0;
}

static int rpc_socket_sendmsg(struct call *call, void *params)
{
	struct p_sendmsg *p = params;
	struct sendmsg_state *st;
	struct sock *sk = call->target;
	struct plan_in in = plan_in_of(call, sk, NULL, NULL);
	struct plan pl;
	char err[200] = "";
	int rc;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	/* The destination first: a name parks the call, and the re-run judges
	 * everything once, with the resolved address. */
	st->has_addr = p->address.given;
	if (st->has_addr)
		rc = judge_at(call, sk, &p->address, &st->addr, &pl);
	else
		rc = plan_run(call, &in, &pl);
	if (rc) {
		sendmsg_state_free(st);
		return rc;
	}
	if ((rc = join_buffers(call, p->buffers, &st->data, &st->len))) {
		sendmsg_state_free(st);
		return rc;
	}
	rc = ancdata_encode(p->ancdata, call->fds, call->nfds, &st->cbuf, &st->clen, err, sizeof(err));
	if (rc < 0) {
		sendmsg_state_free(st);
		if (rc == -EINVAL || rc == -E2BIG)
			return call_error(call, JRPC_INVALID_PARAMS, NULL, "%s", err);
		return rc;
	}
	st->flags = p->flags & ~MSG_DONTWAIT;
	if (sk->family == AF_UNIX && st->has_addr) {
		rc = unix_send_as_caller(call, sk, &st->addr, TAKE_PTR(st->data), st->len, TAKE_PTR(st->cbuf), st->clen,
		                         st->flags);
		sendmsg_state_free(st);
		return rc;
	}
	if ((rc = add_caller_creds(call, sk, &st->cbuf, &st->clen))) {
		sendmsg_state_free(st);
		return rc;
	}
	/* The request's descriptors were copied into the control message; the
	 * framework closes the request's copies when the call ends. */
	return sock_op(call, sk, EPOLLOUT, p->flags & MSG_DONTWAIT, sendmsg_try, st, sendmsg_state_free, NULL);
}

/* ---- the policy questions (plan.h) ---- */

/* send, sendall, sendto: a destination is a connect; netlink messages are
 * judged one by one. */
static int plan_send(struct plan *pl, const struct plan_in *in)
{
	const struct p_send *p = in->params;
	int rc = in->addr ? plan_ask_at(pl, in, POLICY_CONNECT, in->addr) : 0;

	return rc ? rc : plan_ask_netlink(pl, in, p->data.buf, p->data.len, in->addr);
}

/* The destination, control messages the kernel reserves to privilege (as
 * the setsockopt of the same name), and netlink messages. */
static int plan_sendmsg(struct plan *pl, const struct plan_in *in)
{
	const struct p_sendmsg *p = in->params;
	unsigned char *cbuf = NULL, *data = NULL;
	size_t clen = 0, len = 0;
	char err[200] = "";
	int rc = in->addr ? plan_ask_at(pl, in, POLICY_CONNECT, in->addr) : 0;

	if (rc)
		return rc;
	rc = ancdata_encode(p->ancdata, NULL, 0, &cbuf, &clen, err, sizeof(err));
	if (rc == -EINVAL || rc == -E2BIG)
		return call_error_param(in->call, "ancdata", "%s", err);
	if (rc < 0)
		return rc;
	rc = plan_ask_cmsgs(pl, in, cbuf, clen);
	free(cbuf);
	if (rc || in->family != AF_NETLINK || in->unresolved)
		return rc;
	if ((rc = join_buffers(in->call, p->buffers, &data, &len)))
		return rc;
	rc = plan_ask_netlink(pl, in, data, len, in->addr);
	free(data);
	return rc;
}

/* ---- the table ---- */

static const struct rpc_method methods[] = {
	{ .name = "socket.send",
	  .summary = "Sends what the socket takes at once (after waiting for room).",
	  .handler = rpc_socket_send,
	  .params = send_params, .params_size = sizeof(struct p_send),
	  .result_schema = R_SENT,
	  .flags = B | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_send, },
	{ .name = "socket.sendall",
	  .summary = "Sends everything, across partial writes; on timeout the error says what was sent.",
	  .handler = rpc_socket_sendall,
	  .params = send_params, .params_size = sizeof(struct p_send),
	  .result_schema = R_SENT,
	  .flags = B | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_send, },
	{ .name = "socket.sendto",
	  .summary = "Sends a datagram to an address.",
	  .handler = rpc_socket_sendto,
	  .params = sendto_params, .params_size = sizeof(struct p_send),
	  .result_schema = R_SENT,
	  .flags = B | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_send,
	  .address = "address", },
	{ .name = "socket.sendmsg",
	  .summary = "sendmsg with buffers, ancillary data and the request's descriptors as SCM_RIGHTS.",
	  .handler = rpc_socket_sendmsg,
	  .params = sendmsg_params, .params_size = sizeof(struct p_sendmsg),
	  .result_schema = R_SENT,
	  .flags = RPC_TAKES_FDS | B | RPC_PLAN_IN_HANDLER,
	  .target = RPC_TARGET_HANDLE,
	  .plan = plan_sendmsg,
	  .address = "address", },
	{ .name = "socket.recv",
	  .summary = "Receives at most bufsize bytes.",
	  .handler = rpc_socket_recv,
	  .params = recv_params, .params_size = sizeof(struct p_recv),
	  .result_schema = R_DATA,
	  .flags = B | RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.recvfrom",
	  .summary = "Receives bytes and the sender's address.",
	  .handler = rpc_socket_recvfrom,
	  .params = recv_params, .params_size = sizeof(struct p_recv),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"data\",\"address\"]}",
	  .flags = B | RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
	{ .name = "socket.recvmsg",
	  .summary = "recvmsg, as Python's: bytes, ancillary data cut to ancbufsize, the kernel's msg_flags "
	             "for the caller's flags, address; received descriptors come along.",
	  .handler = rpc_socket_recvmsg,
	  .params = recvmsg_params, .params_size = sizeof(struct p_recv),
	  .result_schema = "{\"type\":\"object\",\"required\":[\"data\",\"ancdata\",\"msg_flags\",\"address\"]}",
	  .flags = RPC_RETURNS_FDS | B | RPC_OWN_STATE,
	  .target = RPC_TARGET_HANDLE, },
};

const struct rpc_family rpc_socket_io_family = { methods, ARRAY_SIZE(methods) };
