/* Typed socket option values for socket.setsockopt / socket.getsockopt, and
 * ancillary data for socket.sendmsg / socket.recvmsg. Pure conversions between
 * JSON and the kernel's byte layouts; no descriptors are created or closed here
 * except as documented for SCM_RIGHTS. */
#ifndef SBD_SOCKOPT_H
#define SBD_SOCKOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "decerr.h"

#define SOCKOPT_MAX_LEN 1024     /* longest option value we build or read */

/* JSON value -> option bytes for setsockopt(level, option). buf has
 * SOCKOPT_MAX_LEN bytes. 0 with *len set, or -EINVAL with err filled (a
 * sentence naming the option and what it takes: "SO_LINGER takes {"onoff":
 * bool, "linger": seconds}: "linger" is missing"). Forms:
 *  - any option: {"data": base64} (no other member), at most SOCKOPT_MAX_LEN bytes;
 *  - every option not below: an integer (INT_MIN..UINT_MAX, stored as a C
 *    int's bits, so SO_MARK may use the whole u32) or a boolean (1/0);
 *    IP_MULTICAST_TTL/LOOP too (Linux takes an int for these);
 *  - SO_LINGER {"onoff": bool|int, "linger": seconds >= 0}, both required;
 *  - SO_BINDTODEVICE "lo" (sent with its NUL; "" unbinds); TCP_CONGESTION and
 *    TCP_ULP "cubic" (at most 15 bytes, sent without NUL);
 *  - SO_RCVTIMEO/SO_SNDTIMEO (and their _NEW numbers): seconds as a number
 *    >= 0, null or 0 for none (the kernel's timeout, not the daemon's);
 *  - IP_ADD/DROP_MEMBERSHIP {"multiaddr", "interface"? = "0.0.0.0"} as
 *    struct ip_mreq, or with "ifindex" as struct ip_mreqn;
 *  - IP_ADD/DROP_SOURCE_MEMBERSHIP, IP_BLOCK/UNBLOCK_SOURCE {"multiaddr",
 *    "interface"?, "sourceaddr"} (struct ip_mreq_source);
 *  - IP_MULTICAST_IF "a.b.c.d" (struct in_addr) or {"address"?, "ifindex"?}
 *    (struct ip_mreqn); IPv4 members take "" for 0.0.0.0 as Python does;
 *  - IPV6_JOIN_GROUP/LEAVE_GROUP {"multiaddr": "ff02::1", "ifindex"? = 0}
 *    (struct ipv6_mreq); IPV6_MULTICAST_IF is an integer ifindex.
 * Typed objects refuse unknown members. */
int sockopt_encode_value(int level, int option, json_object *value, unsigned char *buf,
                         socklen_t *len, struct decode_error *err);
/* The same, with the sentence copied into err (errlen bytes; may be NULL). */
int sockopt_encode(int level, int option, json_object *value, unsigned char *buf,
                   socklen_t *len, char *err, size_t errlen);

/* Option bytes read by getsockopt -> JSON. A 4-byte value of an option
 * without a typed form is an integer (as Python's getsockopt without buflen;
 * one byte, as the kernel answers a 1-byte buffer for IP_TOS etc., too); so
 * are SO_ERROR, SO_ACCEPTCONN and the boolean-like options. SO_TYPE, SO_DOMAIN
 * and SO_PROTOCOL give the name where one is known ("SOCK_STREAM", "AF_INET",
 * "IPPROTO_TCP"), SO_MARK an unsigned integer. Typed: SO_LINGER {"onoff": bool,
 * "linger": n}, SO_PEERCRED {"pid", "uid", "gid"}, SO_PEERGROUPS [gid, ...],
 * SO_BINDTODEVICE / TCP_CONGESTION / TCP_ULP / SO_PEERSEC a string (up to the
 * first NUL; bytes that are not printable ASCII give {"data"} instead),
 * SO_RCVTIMEO/SO_SNDTIMEO seconds, IP_MULTICAST_IF "a.b.c.d", the membership
 * structs as their encode forms, TCP_INFO an object of the named fields of
 * struct tcp_info that lie inside len ("state": "TCP_ESTABLISHED", "ca_state":
 * "TCP_CA_Open", "rto", ..., "snd_wnd"; without the tcpi_ prefix). Anything
 * else, or a length the typed form does not fit: {"data": base64}.
 * NULL only on ENOMEM. */
json_object *sockopt_decode(int level, int option, const unsigned char *buf, socklen_t len);

/* Buffer length to ask getsockopt for when the caller gives no buflen: the
 * option's natural size (struct linger, ucred, tcp_info; IFNAMSIZ for
 * SO_BINDTODEVICE; 16 for TCP_CONGESTION/TCP_ULP; 256 gids for SO_PEERGROUPS;
 * 256 for SO_PEERSEC), else sizeof(int). Never above SOCKOPT_MAX_LEN. */
socklen_t sockopt_default_len(int level, int option);

/* Whether (level, option) is one the kernel checks against a capability for
 * some values or some kinds of socket: the daemon holds the capability, so the
 * policy's `setsockopt` action governs these. The list, where each check is in
 * the kernel and how it was derived: docs/privileged.md. */
int sockopt_privileged(int level, int option);
/* Whether getsockopt(level, option) is a read the kernel reserves to
 * privilege (the iptables, ip6tables, arptables, ebtables and IPVS tables):
 * governed as the `setsockopt` action of the same level and option. */
bool sockopt_get_privileged(int level, int option);
/* Whether getsockopt(level, option) does something the daemon never does for
 * a client (SCTP peel-off makes a descriptor no handle owns; CONNECTX3
 * connects past the connect check): refused outright. */
bool sockopt_get_refused(int level, int option);
/* An option as a request names it: a number, or a name of the level's table.
 * 0 or -EINVAL. */
int sockopt_option_from_json(int level, json_object *j, int *option);
/* The same for one value (encoded as for setsockopt) on a socket of (family,
 * type, proto): false where the kernel checks no capability for this value on
 * such a socket (SO_PRIORITY 0-6, SO_DEBUG/SO_PREFER_BUSY_POLL/IP_TRANSPARENT/
 * IPV6_TRANSPARENT 0, SO_TXTIME on CLOCK_MONOTONIC, SO_ATTACH_FILTER on a
 * socket other than an INET/INET6 stream one, IP_OPTIONS without a source
 * route or another option the kernel reserves, NETLINK_ADD_MEMBERSHIP of a
 * group anyone may join, SO_J1939_SEND_PRIO 2-7), and for options
 * sockopt_privileged() does not list. val NULL asks whether some value is
 * privileged on such a socket (policy.check without a value). */
bool sockopt_value_privileged(int family, int type, int proto, int level, int option, const void *val, size_t len);

/* ---- ancillary data ---- */

#define ANCDATA_MAX_ENTRIES 64         /* entries in one request's ancdata */
#define ANCDATA_MAX_LEN     65536      /* control bytes built for one sendmsg */
#define ANCDATA_MAX_FDS     253        /* the kernel's SCM_MAX_FD */

/* JSON ancdata [{"level", "type", "data": base64}, ...] (or [level, type,
 * data] tuples; levels by SOL_/IPPROTO_ name, types by the level's table:
 * SCM_ then SO_ names at SOL_SOCKET, IP_/IPV6_/TCP_ names at theirs; numbers
 * anywhere) plus descriptors to send as one SCM_RIGHTS, which comes first ->
 * a control buffer for sendmsg. NULL or null ancdata is empty. *buf is
 * malloc'd (NULL when empty). 0, -EINVAL with err filled (bad entry; an
 * SCM_RIGHTS entry, since descriptors travel as real SCM_RIGHTS with the
 * request; an SCM_CREDENTIALS entry, since the daemon would vouch for
 * credentials it has not checked), -E2BIG with err filled (more than
 * ANCDATA_MAX_ENTRIES entries, ANCDATA_MAX_FDS descriptors or ANCDATA_MAX_LEN
 * bytes), -ENOMEM. The descriptors are only copied into the buffer, not taken.
 * Privilege is not checked here: a caller enforcing policy walks the buffer
 * and asks cmsg_privileged() for each message. */
int ancdata_encode(json_object *ancdata, const int *fds, size_t nfds, unsigned char **buf,
                   size_t *len, char *err, size_t errlen);

/* A received control buffer -> JSON ancdata array of {"level": name,
 * "type": name, "data": base64} (names where known, else integers;
 * SCM_RIGHTS excluded) and the received descriptors (CLOEXEC already, from
 * MSG_CMSG_CLOEXEC) appended to *fds (realloc'd, *nfds updated; the caller
 * owns them). An SCM_PIDFD (a pidfd the kernel installed) is a descriptor too:
 * appended to *fds, its entry is {"level", "type", "fd": index in *fds}.
 * Reads only msg_control[0, msg_controllen), so a buffer cut by MSG_CTRUNC is
 * safe: the last message's data is what fits. NULL on ENOMEM (the descriptors
 * of this buffer closed, *nfds as it was). */
json_object *ancdata_decode(const struct msghdr *mh, int **fds, size_t *nfds);

/* Whether a control message of (level, type) that a client asks the daemon to
 * send is one the kernel checks against a capability for some values:
 * SO_MARK, SO_PRIORITY at SOL_SOCKET; IP_RETOPTS; the IPv6 hop-by-hop and
 * destination options headers (and their RFC 2292 forms); SCTP_DSTADDRV4/V6,
 * which add peers no connect check sees (docs/privileged.md). */
int ancdata_privileged(int level, int type);
/* The same for one control message as sent on a socket of (family, type,
 * proto), judged by its data as sockopt_value_privileged() judges a value
 * (SO_PRIORITY 0-6 and IP_RETOPTS without a reserved option are open to
 * everyone). SCM_RIGHTS never. cm is a well-formed message of a buffer
 * ancdata_encode() built. */
bool cmsg_privileged(int family, int type, int proto, const struct cmsghdr *cm);

#endif
