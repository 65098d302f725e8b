/* A request's policy questions, coded once per method. A method's `.plan`
 * lists what the kernel would ask of the caller had it made the request
 * itself (create, bind, connect, listen, setsockopt, send, resolve, admin,
 * ...), given the socket concerned and the decoded request. The framework
 * (or the handler, once it has decoded the address) decides that list with
 * auditing; policy.check decides the very same list quietly for a caller and
 * a socket it is told of. So the two cannot disagree: there is one coding. */
#ifndef SBD_PLAN_H
#define SBD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

#include "addr.h"
#include "policy.h"

struct call;
struct sock;

/* Netlink messages of distinct types, cmsgs, groups: the most questions one
 * request may ask; more is refused (-32602), not silently cut. */
#define PLAN_MAX_STEPS 48

enum plan_use {
	PLAN_GATE,       /* must be allowed, or the request is refused */
	PLAN_CHOICE,     /* asked quietly: the answer picks what the daemon does */
};

enum plan_choice {
	PLAN_NO_CHOICE = 0,
	PLAN_V4_REACH,   /* denied: the IPv6 socket is made IPV6_V6ONLY before its bind/listen */
};

struct plan_step {
	struct policy_request q;    /* q.path points into path */
	enum plan_use use;
	enum plan_choice choice;
	bool unresolved;            /* q.host is a name not looked up yet: port is its port */
	int port;
	bool allowed;               /* after deciding */
	char path[2 * sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct plan {
	struct plan_step steps[PLAN_MAX_STEPS];
	size_t n;
	const char *note;           /* with no step: why the policy does not govern the request */
};

/* What a plan is computed from. The handler fills it from the real socket;
 * policy.check from the family/type/proto it was told (sk NULL). */
struct plan_in {
	struct call *call;          /* malformed input: call_error_param on it */
	const void *params;         /* the method's typed params */
	int family, type, proto;    /* the socket concerned (the handle's, or the one to be made) */
	const struct sock *sk;      /* the real socket; NULL for policy.check and before one exists */
	const struct sbaddr *addr;  /* the request's address, decoded; NULL when it has none */
	const char *host;           /* the name addr was resolved from; NULL for a literal */
	bool unresolved;            /* host is not looked up yet: addr holds its family and port only */
	const struct sbaddr *source; /* connect_to's source_address; NULL when none (or not looked up yet) */
	const char *source_host;    /* the name source was looked up from; NULL for a numeric one */
};

/* The input of call's plan on sk (NULL: none, or none yet) at a (NULL:
 * none), a resolved from host (NULL: a literal). */
struct plan_in plan_in_of(struct call *call, const struct sock *sk, const struct sbaddr *a, const char *host);

/* 0, CALL_ERR_SET (a param error set on in->call), or -errno. */
typedef int (*plan_fn)(struct plan *pl, const struct plan_in *in);

/* -- building -- (each 0, or -E2BIG when the plan is full, or a param error) */

/* action on in's socket (no address). */
int plan_ask(struct plan *pl, const struct plan_in *in, enum policy_action action);
/* action on in's socket at a (in->host: the name it came from; in->unresolved:
 * only its port is known). An AF_UNIX address is named by its path. */
int plan_ask_at(struct plan *pl, const struct plan_in *in, enum policy_action action, const struct sbaddr *a);
/* The descriptor leaves the daemon: only an explicit create grant covers it. */
int plan_ask_hand_out(struct plan *pl, int family, int type, int proto);
/* setsockopt level/option on in's socket. */
int plan_ask_option(struct plan *pl, const struct plan_in *in, int level, int option);
/* A bind or listen of an IPv6 socket at the unspecified address also reaches
 * IPv4 (unless IPV6_V6ONLY): asked as action at the IPv4 address, as use says. */
int plan_ask_v4_reach(struct plan *pl, const struct plan_in *in, enum policy_action action,
                      const struct sbaddr *a, enum plan_use use);
/* Netlink: each message of buf the kernel would judge on the sender's
 * capabilities, as `send`; dest NULL: the socket's peer (the kernel for
 * policy.check). */
int plan_ask_netlink(struct plan *pl, const struct plan_in *in, const unsigned char *buf, size_t len,
                     const struct sbaddr *dest);
/* Netlink multicast groups joined by bind, as NETLINK_ADD_MEMBERSHIP. */
int plan_ask_netlink_groups(struct plan *pl, const struct plan_in *in, const struct sbaddr *a);
/* Control messages the kernel reserves to privilege, as setsockopt. */
int plan_ask_cmsgs(struct plan *pl, const struct plan_in *in, const unsigned char *cbuf, size_t clen);

/* The plans of methods their action alone decides. */
int plan_admin(struct plan *pl, const struct plan_in *in);
int plan_sethostname(struct plan *pl, const struct plan_in *in);
int plan_resolve(struct plan *pl, const struct plan_in *in);
/* A look-up of name (NULL: none): host selectors of resolve entries judge it. */
int plan_resolve_name(struct plan *pl, const char *name);

/* -- deciding, for a request the daemon carries out -- */

/* Computes call->method's plan from in and decides it for the caller: every
 * gate step audited, the first denial answers; with no step the caller still
 * needs a matching rule. 0 or call_error()'s value. */
int plan_run(struct call *call, const struct plan_in *in, struct plan *pl);
/* plan_run for a request about no socket: from its params alone. */
int plan_run_params(struct call *call);
/* Only the questions no rule could allow whatever the name resolves to
 * (steps with unresolved), and the look-ups it asks (resolve steps, decided
 * in full): for a request about to look a name up. */
int plan_run_unresolved(struct call *call, const struct plan_in *in);
/* Quietly, for who under az: whether plan_run_unresolved would let the
 * look-up of fn's request (in, with in->unresolved) go ahead. 1 yes, 0 no
 * (no rule could allow it whatever the name resolves to, or a resolve it
 * asks is denied), -E2BIG, or a param error (CALL_ERR_SET). For a request
 * that has a literal to fall back on (socket.connect's `resolved`). */
struct authz;
int plan_may_look_up(plan_fn fn, const struct plan_in *in, struct authz *az, const struct policy_subject *who);
/* The answer to choice c (true when the plan did not ask it). */
bool plan_chose(const struct plan *pl, enum plan_choice c);

#endif
