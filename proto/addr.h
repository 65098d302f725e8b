/* Socket address codecs (protocol section 3, "Addresses"): the object form and
 * Python's tuple form written as JSON, to and from struct sockaddr, for every
 * family of the contract: UNIX, INET, INET6, NETLINK, PACKET, CAN, VSOCK, ALG,
 * TIPC. Decoding never blocks: host names are not resolved here (see
 * SBADDR_NEEDS_RESOLVE) and interface names are looked up with if_nametoindex
 * (an ioctl on a local socket) unless an ifindex is given. */
#ifndef SB_ADDR_H
#define SB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <json-c/json.h>

struct sbaddr {
	struct sockaddr_storage ss;   /* large enough for every family above */
	socklen_t len;
};

/* Set in sbaddr_decode's result when an INET/INET6 host is a name, not a
 * literal: *host holds it (malloc'd) and ss holds the port (and for INET6
 * flowinfo/scope_id) with a zero address; the caller resolves the name off the
 * event loop and fills the address in. */
#define SBADDR_NEEDS_RESOLVE 1

#include "decerr.h"

/* The error of sbaddr_decode is the decoders' one error value: msg a sentence
 * a person can act on ("AF_INET address: port must be an integer 0-65535, got
 * 70000"), path the member at fault ("port"; "[1]" in the tuple form; "" when
 * the value as a whole is). The old name stays for callers not yet moved to
 * the params framework's PT_ADDRESS. */
#define sbaddr_error decode_error

/* Decodes j (object or tuple form) for `family` into *out.
 * Returns 0, SBADDR_NEEDS_RESOLVE (with *host set, if host != NULL; if host is
 * NULL a name is an error), or -EINVAL with *err filled (err may be NULL),
 * -ENODEV for an unknown interface name, -ENAMETOOLONG, -EAFNOSUPPORT for a
 * family without a codec, -ENOMEM. *host is NULL unless the result is
 * SBADDR_NEEDS_RESOLVE; on an error *out is all zero.
 * INET: "" -> INADDR_ANY, "<broadcast>" -> INADDR_BROADCAST.
 * INET6: "fe80::1%eth0" sets scope_id from the interface (or a number after %).
 * UNIX: a string is a path; {"path"}, {"abstract"} (UTF-8 name), {"abstract_data"} (base64);
 *       a path longer than sun_path is -ENAMETOOLONG. */
int sbaddr_decode(int family, json_object *j, struct sbaddr *out, char **host,
                  struct decode_error *err);

/* Encodes a sockaddr (any family above; others as {"family": name or number,
 * "data": base64 of the bytes after sa_family}) into the object form. NULL on
 * ENOMEM. An unnamed AF_UNIX address (len <= offsetof(sun_path), Python's '')
 * is {"path": ""}; an abstract one {"abstract": name} (or {"abstract_data"} when
 * the name is not UTF-8 or holds a NUL); a path that is not UTF-8 is
 * {"path_data": base64}. sa == NULL or len < sizeof(sa_family_t) gives
 * {"family": "AF_UNSPEC", "data": ""}. */
json_object *sbaddr_encode(const struct sockaddr *sa, socklen_t len);

/* Family of an address JSON when the caller gave none: a tuple/object with
 * "host" is INET or INET6 by the literal (names, "" -> AF_UNSPEC), "path"/
 * "abstract"/"abstract_data"/"path_data" or a string is AF_UNIX, "pid" NETLINK,
 * "cid" VSOCK, "type"+"name" ALG, "addr_type" TIPC; "ifname"/"ifindex" is
 * PACKET with "proto"/"pkttype"/"hatype", CAN with "rx_addr"/"tx_addr"/"pgn",
 * else AF_UNSPEC. Tuples: [str, str] ALG, four or five numbers (or a "TIPC_*"
 * first) TIPC; [int, int] (NETLINK or VSOCK) and [ifname, ...] are AF_UNSPEC. */
int sbaddr_guess_family(json_object *j);

/* The policy's name of an AF_UNIX address: the path, "@name" for an abstract
 * one, "" for the unnamed address, in out (outlen bytes; 2 * sizeof(sun_path)
 * always suffices). Paths must be absolute and canonical, so that a policy's
 * path selector means what it says ("/run/app/../../etc" is no path under
 * /run/app as far as the policy can tell), abstract names printable: else
 * -EINVAL. -ENAMETOOLONG when out is too small. */
int sbaddr_unix_name(const struct sbaddr *a, char *out, size_t outlen);

#endif
