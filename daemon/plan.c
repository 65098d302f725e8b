/* Building and deciding a request's policy questions (plan.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "authz.h"
#include "call.h"
#include "jsonrpc.h"
#include "plan.h"
#include "sock.h"
#include "sockopt.h"

#define TYPE_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)

struct plan_in plan_in_of(struct call *call, const struct sock *sk, const struct sbaddr *a, const char *host)
{
	struct plan_in in = { .call = call, .params = call->params, .family = -1, .type = -1, .proto = -1,
	                      .sk = sk, .addr = a, .host = host };

	if (sk) {
		in.family = sk->family;
		in.type = sk->type;
		in.proto = sk->proto;
	}
	return in;
}

static struct plan_step *add(struct plan *pl, enum policy_action action, int family, int type, int proto)
{
	struct plan_step *st;

	if (pl->n == PLAN_MAX_STEPS)
		return NULL;
	st = &pl->steps[pl->n++];
	memset(st, 0, sizeof(*st));
	st->q = (struct policy_request){
		.action = action, .family = family, .type = type < 0 ? -1 : type & ~TYPE_FLAGS, .proto = proto,
		.level = -1, .option = -1, .message = -1,
	};
	st->port = -1;
	return st;
}

int plan_ask(struct plan *pl, const struct plan_in *in, enum policy_action action)
{
	return add(pl, action, in->family, in->type, in->proto) ? 0 : -E2BIG;
}

static int addr_port(const struct sbaddr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return -1;
}

/* Fills st's address from a (and in's name). */
static int set_addr(struct plan_step *st, const struct plan_in *in, const struct sbaddr *a)
{
	st->q.host = in->host;
	if (in->unresolved) {
		st->unresolved = true;
		st->port = addr_port(a);
		return 0;
	}
	st->q.have_addr = true;
	memcpy(&st->q.addr, &a->ss, sizeof(st->q.addr));
	if (a->ss.ss_family != AF_UNIX)
		return 0;
	if (sbaddr_unix_name(a, st->path, sizeof(st->path)) < 0)
		return call_error_param(in->call, "address",
		                        "address: a UNIX path through the daemon must be absolute and canonical (no "
		                        "\".\", \"..\" or empty components), an abstract name printable");
	st->q.path = st->path;
	return 0;
}

int plan_ask_at(struct plan *pl, const struct plan_in *in, enum policy_action action, const struct sbaddr *a)
{
	struct plan_step *st = add(pl, action, in->family, in->type, in->proto);

	return st ? set_addr(st, in, a) : -E2BIG;
}

int plan_ask_hand_out(struct plan *pl, int family, int type, int proto)
{
	struct plan_step *st = add(pl, POLICY_CREATE, family, type, proto);

	if (!st)
		return -E2BIG;
	st->q.explicit_create = true;
	return 0;
}

int plan_ask_option(struct plan *pl, const struct plan_in *in, int level, int option)
{
	struct plan_step *st;

	/* Asked once per request, like the kernel's check per call. */
	for (size_t i = 0; i < pl->n; i++)
		if (pl->steps[i].q.action == POLICY_SETSOCKOPT && pl->steps[i].q.level == level &&
		    pl->steps[i].q.option == option)
			return 0;
	st = add(pl, POLICY_SETSOCKOPT, in->family, in->type, in->proto);
	if (!st)
		return -E2BIG;
	st->q.level = level;
	st->q.option = option;
	return 0;
}

/* The IPv4 address an IPv6 unspecified address also reaches; false if none. */
static bool plan_v4_reach_of(const struct sbaddr *a, struct sbaddr *v4)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&v4->ss;

	if (a->ss.ss_family != AF_INET6 || !IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
		return false;
	memset(v4, 0, sizeof(*v4));
	v4->len = sizeof(*in);
	in->sin_family = AF_INET;
	in->sin_port = in6->sin6_port;
	in->sin_addr.s_addr = htonl(INADDR_ANY);
	return true;
}

int plan_ask_v4_reach(struct plan *pl, const struct plan_in *in, enum policy_action action,
                      const struct sbaddr *a, enum plan_use use)
{
	struct plan_in v4in = *in;
	struct plan_step *st;
	struct sbaddr v4;

	int v6only = 0;
	socklen_t l = sizeof(v6only);

	if (in->family != AF_INET6 || in->unresolved || !plan_v4_reach_of(a, &v4))
		return 0;
	/* Already IPV6_V6ONLY: it reaches no IPv4. */
	if (in->sk && getsockopt(in->sk->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l) == 0 && v6only)
		return 0;
	v4in.family = AF_INET;
	v4in.host = NULL;
	st = add(pl, action, AF_INET, in->type, in->proto);
	if (!st)
		return -E2BIG;
	st->use = use;
	st->choice = use == PLAN_CHOICE ? PLAN_V4_REACH : PLAN_NO_CHOICE;
	return set_addr(st, &v4in, &v4);
}

/* Open to everyone: the control types below NLMSG_MIN_TYPE, and rtnetlink's
 * GET requests (rtnetlink_rcv_msg asks CAP_NET_ADMIN of every other kind). */
static bool netlink_open_to_all(int proto, unsigned type)
{
	if (type < NLMSG_MIN_TYPE)
		return true;
	return proto == NETLINK_ROUTE && type >= RTM_BASE && (type & 3) == 2;
}

static bool has_message(const struct plan *pl, long message)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->steps[i].q.action == POLICY_SEND && pl->steps[i].q.message == message)
			return true;
	return false;
}

/* Netlink requests are judged by the kernel against the capabilities of the
 * process that sends them, here the daemon's: so each message is judged as
 * the kernel would judge the caller's. Anything sent to a process or a
 * multicast group rather than the kernel (the receiver sees the daemon's
 * credentials) needs a `send` grant naming the message too. */
int plan_ask_netlink(struct plan *pl, const struct plan_in *in, const unsigned char *buf, size_t len,
                     const struct sbaddr *dest)
{
	struct sockaddr_nl peer = { .nl_family = AF_NETLINK };
	socklen_t pl_len = sizeof(peer);
	size_t off = 0, asked = 0;
	bool to_kernel;

	if (in->family != AF_NETLINK)
		return 0;
	if (dest)
		memcpy(&peer, &dest->ss, sizeof(peer));
	else if (in->sk && getpeername(in->sk->fd, (struct sockaddr *)&peer, &pl_len) < 0)
		memset(&peer, 0, sizeof(peer));
	to_kernel = peer.nl_pid == 0 && peer.nl_groups == 0;
	/* As netlink_rcv_skb reads them: it stops at a header that does not fit. */
	while (off + NLMSG_HDRLEN <= len) {
		struct nlmsghdr h;
		struct plan_step *st;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			break;
		off += NLMSG_ALIGN(h.nlmsg_len);
		if (to_kernel && netlink_open_to_all(in->proto, h.nlmsg_type))
			continue;
		asked++;
		if (has_message(pl, h.nlmsg_type))
			continue;
		if (!(st = add(pl, POLICY_SEND, in->family, in->type, in->proto)))
			return -E2BIG;
		st->q.message = h.nlmsg_type;
	}
	/* Bytes for a process are its to parse, whatever their shape. */
	if (!to_kernel && asked == 0 && !add(pl, POLICY_SEND, in->family, in->type, in->proto))
		return -E2BIG;
	return 0;
}

/* Joining netlink multicast groups by bind (nl_groups: group n is bit n-1)
 * is what NETLINK_ADD_MEMBERSHIP does, checked by the same kernel code on
 * the binder's capabilities. */
int plan_ask_netlink_groups(struct plan *pl, const struct plan_in *in, const struct sbaddr *a)
{
	const struct sockaddr_nl *nl = (const struct sockaddr_nl *)&a->ss;

	if (in->family != AF_NETLINK || in->unresolved)
		return 0;
	for (int bit = 0; bit < 32; bit++) {
		int group = bit + 1;
		if ((nl->nl_groups & (1u << bit)) &&
		    sockopt_value_privileged(in->family, in->type, in->proto, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
		                             sizeof(group)))
			return plan_ask_option(pl, in, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP);
	}
	return 0;
}

int plan_ask_cmsgs(struct plan *pl, const struct plan_in *in, const unsigned char *cbuf, size_t clen)
{
	struct msghdr mh = { .msg_control = (void *)cbuf, .msg_controllen = clen };
	int rc;

	for (struct cmsghdr *cm = clen ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cmsg_privileged(in->family, in->type, in->proto, cm) &&
		    (rc = plan_ask_option(pl, in, cm->cmsg_level, cm->cmsg_type)))
			return rc;
	return 0;
}

/* -- deciding -- */

static int build(struct call *call, const struct plan_in *in, struct plan *pl)
{
	int rc;

	pl->n = 0;
	pl->note = NULL;
	if (!call->method->plan)
		return 0;
	rc = call->method->plan(pl, in);
	if (rc == -E2BIG)
		return call_error_limit(call, "policy_questions", PLAN_MAX_STEPS);
	return rc;
}

int plan_run(struct call *call, const struct plan_in *in, struct plan *pl)
{
	size_t gates = 0;
	int rc = build(call, in, pl);

	call->planned = true;
	if (rc)
		return rc;
	for (size_t i = 0; i < pl->n; i++) {
		struct plan_step *st = &pl->steps[i];
		if (st->use == PLAN_CHOICE) {
			st->allowed = authz_allows(call, &st->q);
			continue;
		}
		gates++;
		rc = st->unresolved ? authz_check_unresolved(call, &st->q, st->port) : authz_check(call, &st->q);
		if (rc)
			return rc;
		st->allowed = true;
	}
	/* Nothing the policy governs: as every method, some rule must match. */
	return gates ? 0 : authz_require_rule(call);
}

int plan_run_unresolved(struct call *call, const struct plan_in *in)
{
	struct plan pl;
	int rc = build(call, in, &pl);

	if (rc)
		return rc;
	for (size_t i = 0; i < pl.n; i++) {
		const struct plan_step *st = &pl.steps[i];
		if (st->use != PLAN_GATE)
			continue;
		if (st->unresolved)
			rc = authz_check_unresolved(call, &st->q, st->port);
		else if (st->q.action == POLICY_RESOLVE)
			rc = authz_check(call, &st->q);
		if (rc)
			return rc;
	}
	return 0;
}

int plan_may_look_up(plan_fn fn, const struct plan_in *in, struct authz *az, const struct policy_subject *who)
{
	struct plan pl = { .n = 0 };
	int rc = fn(&pl, in);

	if (rc)
		return rc;
	for (size_t i = 0; i < pl.n; i++) {
		const struct plan_step *st = &pl.steps[i];
		struct policy_decision d;

		if (st->use != PLAN_GATE)
			continue;
		if (st->unresolved && !policy_may_allow(az->policy, who, &st->q, st->port))
			return 0;
		if (!st->unresolved && st->q.action == POLICY_RESOLVE) {
			authz_decide_as(az, who, &st->q, &d);
			if (!d.allowed)
				return 0;
		}
	}
	return 1;
}

bool plan_chose(const struct plan *pl, enum plan_choice c)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->steps[i].choice == c)
			return pl->steps[i].allowed;
	return true;
}

/* -- plans of methods decided by their action alone -- */

static int plan_action(struct plan *pl, enum policy_action action)
{
	return add(pl, action, -1, -1, -1) ? 0 : -E2BIG;
}

int plan_admin(struct plan *pl, const struct plan_in *in)
{
	(void)in;
	return plan_action(pl, POLICY_ADMIN);
}

int plan_sethostname(struct plan *pl, const struct plan_in *in)
{
	(void)in;
	return plan_action(pl, POLICY_SETHOSTNAME);
}

int plan_resolve(struct plan *pl, const struct plan_in *in)
{
	(void)in;
	return plan_action(pl, POLICY_RESOLVE);
}

int plan_resolve_name(struct plan *pl, const char *name)
{
	struct plan_step *st = add(pl, POLICY_RESOLVE, -1, -1, -1);

	if (!st)
		return -E2BIG;
	st->q.host = name;
	return 0;
}

int plan_run_params(struct call *call)
{
	struct plan pl;
	struct plan_in in = plan_in_of(call, NULL, NULL, NULL);

	return plan_run(call, &in, &pl);
}
