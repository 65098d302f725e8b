/* What the socket family's files (rpc-socket.c, rpc-socket-io.c) share:
 * reading the request's address and deciding its plan, and sending as the
 * caller on a UNIX socket. Private to those files (and policy.check, which
 * reads connect's `resolved` with pinned_address). */
#ifndef SBD_RPC_SOCKET_H
#define SBD_RPC_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "params.h"
#include "plan.h"

struct call;
struct sock;

#define HANDLE_PARAM(type) \
	{ "handle", PT_INT, offsetof(type, handle), PF_REQUIRED, 1, INT64_MAX, .doc = "the socket's handle" }

/* Result schemas. */
#define R_HANDLE "{\"type\":\"object\",\"properties\":{\"handle\":{\"type\":\"integer\"},\"fds\":{\"const\":1}}}"
#define R_EMPTY "{\"type\":\"object\"}"
#define R_SENT "{\"type\":\"object\",\"required\":[\"sent\"],\"properties\":{\"sent\":{\"type\":\"integer\"}}}"
#define R_DATA "{\"type\":\"object\",\"required\":[\"data\"],\"properties\":{\"data\":{\"type\":\"string\"," \
	"\"contentEncoding\":\"base64\"}}}"
#define B RPC_MAY_BLOCK

/* Reads the request's address (a name parks the call on the resolver and
 * the handler runs again) and decides the method's plan for sk at it: 0
 * with *a and *pl filled, CALL_PENDING, or an error. */
int judge_at(struct call *call, const struct sock *sk, const struct param_address *address, struct sbaddr *a,
             struct plan *pl);

/* socket.connect's `resolved` for a socket of family, with address pa (a
 * host name): the numeric address it names, at pa's port (flowinfo and
 * scope from pa unless it gives a zone), in *out. 0, or a -32602 error on
 * "resolved" (not a numeric address of family, a family other than AF_INET
 * and AF_INET6, or pa a literal), or -ENOMEM. policy.check reads it alike. */
int pinned_address(struct call *call, int family, const struct param_address *pa, const char *resolved,
                   struct sbaddr *out);

json_object *encode_ss(const struct sockaddr_storage *ss, socklen_t len);

/* A message to a UNIX address: the path is opened, and the message sent, as
 * the caller. data and cbuf taken; the call is parked (or the error). */
int unix_send_as_caller(struct call *call, struct sock *sk, const struct sbaddr *to, unsigned char *data,
                        size_t len, unsigned char *cbuf, size_t clen, int flags);

/* The caller's SCM_CREDENTIALS appended to *cbuf (realloc'd) for a message
 * the daemon sends on a UNIX socket. 0 or -errno. */
int add_caller_creds(struct call *call, const struct sock *sk, unsigned char **cbuf, size_t *clen);

#endif
