/* Name <-> number tables for the constants the protocol names (section 3),
 * using Python's spelling ("AF_INET", "SO_REUSEADDR", "EADDRINUSE"). Values are
 * this platform's (Linux, from the libc/kernel headers), never hard-coded. */
#ifndef SB_CONSTS_H
#define SB_CONSTS_H

#include <stdbool.h>
#include <json-c/json.h>

enum sbc_kind {
	SBC_AF,        /* address families: AF_UNIX, AF_INET, ... (and AF_UNSPEC) */
	SBC_SOCK,      /* socket types: SOCK_STREAM, ... (not SOCK_NONBLOCK/CLOEXEC) */
	SBC_SOCKFLAG,  /* SOCK_NONBLOCK, SOCK_CLOEXEC */
	SBC_SOL,       /* option levels: SOL_SOCKET, SOL_IP, SOL_TCP, IPPROTO_* as levels, SOL_ALG, SOL_TIPC, SOL_CAN_RAW, ... */
	SBC_SO,        /* SOL_SOCKET options: SO_* */
	SBC_IPPROTO,   /* IPPROTO_* and the ETH_P_* and CAN_* protocols Python exposes */
	SBC_TCP,       /* IPPROTO_TCP options: TCP_* */
	SBC_IP,        /* IPPROTO_IP options: IP_* */
	SBC_IPV6,      /* IPPROTO_IPV6 options: IPV6_* */
	SBC_MSG,       /* send/recv flags: MSG_* (a flag set) */
	SBC_SHUT,      /* SHUT_RD, SHUT_WR, SHUT_RDWR */
	SBC_AI,        /* getaddrinfo flags: AI_* (a flag set) */
	SBC_NI,        /* getnameinfo flags: NI_* (a flag set) */
	SBC_EAI,       /* getaddrinfo errors: EAI_* (negative values as glibc returns them) */
	SBC_ERRNO,     /* errno names: EPERM, EADDRINUSE, ... */
	SBC_SCM,       /* ancillary types at SOL_SOCKET: SCM_RIGHTS, SCM_CREDENTIALS, ... */
	SBC_HERR,      /* h_errno: HOST_NOT_FOUND, TRY_AGAIN, NO_RECOVERY, NO_DATA */
	SBC_TIPC,      /* TIPC address types and scopes: TIPC_ADDR_NAME, TIPC_CLUSTER_SCOPE, ... */
	SBC_NETLINK,   /* SOL_NETLINK options: NETLINK_ADD_MEMBERSHIP, ... */
	SBC_KIND_MAX
};

/* One name for one value. Tables may hold aliases (several names, one value):
 * the first entry for a value is the one replies use. */
struct sbc_entry {
	const char *name;
	long value;
};

/* The whole table of one kind (for docs, tests and iteration). */
const struct sbc_entry *sbc_table(enum sbc_kind kind, size_t *n);

/* Name -> value. Exact, case-sensitive ("PF_x" is accepted for "AF_x"). 0 or -ENOENT. */
int sbc_value(enum sbc_kind kind, const char *name, long *value);
/* Value -> preferred name, or NULL when none is known. */
const char *sbc_name(enum sbc_kind kind, long value);

/* Option tables by level: SOL_SOCKET -> SBC_SO, IPPROTO_TCP -> SBC_TCP,
 * IPPROTO_IP -> SBC_IP, IPPROTO_IPV6 -> SBC_IPV6, SOL_NETLINK -> SBC_NETLINK.
 * -1 for a level without one. */
int sbc_option_kind(long level);

/* JSON value (a name string or an integer) -> number. -EINVAL for another JSON
 * type, -ENOENT for an unknown name, -ERANGE for an integer outside int range. */
int sbc_from_json(enum sbc_kind kind, json_object *j, long *value);
/* Number -> JSON: the name if known, else the integer. NULL only on ENOMEM. */
json_object *sbc_to_json(enum sbc_kind kind, long value);

/* Flag set: an array of names (or integers), or one integer, ORed together.
 * Integers may be anything a long holds. -EINVAL, -ENOENT (unknown name),
 * -ERANGE as above. */
int sbc_flags_from_json(enum sbc_kind kind, json_object *j, long *value);
/* Flag set -> array of names when every set bit has a single-bit name, else
 * the integer. 0 -> []. */
json_object *sbc_flags_to_json(enum sbc_kind kind, long value);

/* errno -> "EADDRINUSE" (or NULL). Same as sbc_name(SBC_ERRNO, e). */
const char *sbc_errno_name(int e);

#endif
