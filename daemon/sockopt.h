/* Typed socket option values for socket.setsockopt / socket.getsockopt, and
 * ancillary data for socket.sendmsg / socket.recvmsg. Pure conversions between
 * JSON and the kernel's byte layouts; no descriptors are created or closed here
 * except as documented for SCM_RIGHTS. */
#ifndef SBD_SOCKOPT_H
#define SBD_SOCKOPT_H

#include <stddef.h>
#include <sys/socket.h>
#include <json-c/json.h>

#define SOCKOPT_MAX_LEN 1024     /* longest option value we build or read */

/* JSON value -> option bytes for setsockopt(level, option). Accepts an integer
 * or boolean (as C int) for integer options, {"data": base64} for any option,
 * and the typed forms of known structured options (SO_LINGER {"onoff",
 * "linger"}, SO_BINDTODEVICE "eth0", IP_ADD_MEMBERSHIP {"multiaddr",
 * "interface", "ifindex"?}, IPV6_JOIN_GROUP {"multiaddr", "ifindex"}, ...).
 * buf has SOCKOPT_MAX_LEN bytes. 0 with *len set, or -EINVAL with err filled
 * (a sentence: "SO_LINGER takes {onoff, linger}"). */
int sockopt_encode(int level, int option, json_object *value, unsigned char *buf,
                   socklen_t *len, char *err, size_t errlen);

/* Option bytes read by getsockopt -> JSON: integers for integer options,
 * typed objects/strings for known structured ones (SO_LINGER, SO_PEERCRED
 * {"pid","uid","gid"}, TCP_INFO {named fields}, SO_BINDTODEVICE string,
 * SO_TYPE/SO_DOMAIN/SO_PROTOCOL by name, SO_ERROR {"errno","name"}? no: an
 * integer), else {"data": base64}. NULL only on ENOMEM. */
json_object *sockopt_decode(int level, int option, const unsigned char *buf, socklen_t len);

/* Buffer length to ask getsockopt for when the caller gives no buflen: the
 * option's natural size, else sizeof(int). */
socklen_t sockopt_default_len(int level, int option);

/* Whether (level, option) is one the kernel reserves to privilege (SO_MARK,
 * SO_BINDTODEVICE, IP_TRANSPARENT, SO_RCVBUFFORCE, ...): the policy's
 * `setsockopt` action governs these. */
int sockopt_privileged(int level, int option);

/* ---- ancillary data ---- */

/* JSON ancdata [{"level", "type", "data": base64}, ...] (levels and types by
 * name or number) plus descriptors to send as one SCM_RIGHTS -> a control
 * buffer for sendmsg. *buf is malloc'd (NULL when empty). 0 or -EINVAL with
 * err filled, -ENOMEM. The descriptors are only copied into the buffer, not taken. */
int ancdata_encode(json_object *ancdata, const int *fds, size_t nfds, unsigned char **buf,
                   size_t *len, char *err, size_t errlen);

/* A received control buffer -> JSON ancdata array (SCM_RIGHTS excluded) and
 * the received descriptors (CLOEXEC already, from MSG_CMSG_CLOEXEC) appended
 * to *fds (malloc'd, *nfds updated; the caller owns them). NULL on ENOMEM
 * (descriptors closed). */
json_object *ancdata_decode(const struct msghdr *mh, int **fds, size_t *nfds);

#endif
