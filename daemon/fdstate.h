/* What a daemon hands on to the next one (issue 15): the names its
 * descriptors go by (in systemd's descriptor store, FDNAME=), and a sealed
 * memfd that describes them (who put each held socket, when, ...).
 *
 * Names: "held.<enc>" (a held socket), "decl.<enc>" (a declared one),
 * "state" (the memfd). <enc> is the socket's name with every byte that is
 * '%', ':', below 0x21 or from 0x7f written %XX (upper-case hex): systemd
 * takes printable ASCII but ':' (LISTEN_FDNAMES separates with it), at most
 * FDNAME_MAX characters (fdname_is_valid).
 *
 * The memfd (JSON):
 *   {"version": 1, "written": <wall s>, "pid": <writer pid>,
 *    "held": {"held.web": {"name": "web", "uid": .., "gid": .., "pid": ..,
 *             "exe": ..|null, "token": ..|null, "put": <wall s>,
 *             "retrievals": n, "expires": <wall s>|0}},
 *    "declared": {"decl.web": {"name": "web", "fingerprint": "<string>"}}} */
#ifndef SBD_FDSTATE_H
#define SBD_FDSTATE_H

#include <stddef.h>
#include <json-c/json.h>

#include "declared.h"

#define FDNAME_MAX 255
#define FDSTATE_NAME "state"
#define FDSTATE_HELD "held."
#define FDSTATE_DECL "decl."

struct server;

/* prefix and name encoded into out (NUL-terminated): 0, or -ENAMETOOLONG
 * when the result is longer than FDNAME_MAX or outlen. */
int fdname_encode(const char *prefix, const char *name, char *out, size_t outlen);
/* The name fdname encodes after prefix: 0, or -EINVAL (another prefix, a
 * malformed %XX, a decoded NUL, too long for out). */
int fdname_decode(const char *fdname, const char *prefix, char *out, size_t outlen);

/* A declared socket's spec as one string: equal strings, equal sockets. */
char *fdstate_fingerprint(const struct declared_spec *sp);
/* The JSON above, for s's held and declared sockets. NULL: no memory. */
json_object *fdstate_describe(struct server *s);
/* A memfd (CLOEXEC) holding state's text, sealed against every change; or
 * -errno. */
int fdstate_memfd(json_object *state);

#endif
