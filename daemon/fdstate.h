/* What a daemon hands on with its sockets: to the process that replaces it
 * (daemon.restart, restart.c) and to systemd's file-descriptor store
 * (fdstore.c). Each descriptor travels with a name:
 *
 *   held.<enc>  a held socket        decl.<enc>  a declared socket
 *   state       a sealed memfd with the JSON below
 *   control     the control socket   http        an HTTP face listener
 *
 * <enc> is the socket's name with '%', ':' and every byte outside printable
 * ASCII written %XX: systemd takes a name of printable ASCII without ':', of
 * at most 255 characters (FDNAME=, LISTEN_FDNAMES).
 *
 * The state says what a descriptor alone cannot:
 *   {"version": 1, "written": WALL, "pid": PID,
 *    "held": {"held.web": {"name": "web", "uid": 33, "gid": 33, "pid": 4242,
 *             "exe": "/usr/bin/python3", "token": null, "put": WALL,
 *             "retrievals": 2, "expires": WALL or 0}},
 *    "declared": {"decl.web": {"name": "web", "fingerprint": "...",
 *                 "dev": N, "ino": N}}}
 * A held socket that comes without its entry keeps its name, with an owner
 * nobody knows (uid -1) and the time it was taken back as its put time. */
#ifndef SBD_FDSTATE_H
#define SBD_FDSTATE_H

#include <stddef.h>
#include <json-c/json.h>

#define FDNAME_MAX      255
#define FDNAME_HELD     "held."
#define FDNAME_DECLARED "decl."
#define FDNAME_STATE    "state"
#define FDNAME_CONTROL  "control"
#define FDNAME_HTTP     "http"
/* The most a state memfd may hold: 100,000 held sockets fit many times. */
#define FDSTATE_MAX_BYTES (256u << 20)

struct server;
struct held;

/* The longest encoding of a held or declared name (200 bytes, each %XX). */
#define FDNAME_LONG_MAX (3 * 200 + 8)

/* prefix + name encoded into out (outlen bytes, NUL included): 0, or
 * -ENAMETOOLONG when it does not fit (systemd's store: pass FDNAME_MAX + 1). */
int fdname_encode(const char *prefix, const char *name, char *out, size_t outlen);
/* The name back from fdname, which must start with prefix: 0, or -EINVAL
 * (another prefix, a bad escape, a NUL) / -ENAMETOOLONG. */
int fdname_decode(const char *fdname, const char *prefix, char *out, size_t outlen);

/* The state of every held socket (declared ones aside: they travel as
 * decl.*) and every declared socket that was made. */
json_object *fdstate_describe(struct server *s);
/* One held socket's entry of it. */
json_object *fdstate_held_entry(const struct held *h);
/* state serialised into a new memfd, sealed against change: the fd
 * (CLOEXEC) or -errno. */
int fdstate_memfd(json_object *state);
/* A state memfd read back and parsed: 0 with *out, or -errno. */
int fdstate_read(int fd, json_object **out);

/* A descriptor handed to this process and its name (NULL: none). */
struct fdstate_fd {
	int fd;
	char *name;
	json_object *info;          /* what a restart says of it beyond its name (borrowed); NULL: none */
};

/* Adopts what it knows of v[0..*n): held.* sockets into the hold table,
 * decl.* ones kept for the declared sockets' first load, `state` read (the
 * first one) and closed; a held name held twice, a descriptor that is no
 * socket or an undecodable name is logged and closed. v is compacted to
 * the rest (control, http, unnamed), names freed for what was taken.
 * state: a state already read (restart.c), or NULL. 0 or -ENOMEM. */
int fdstate_adopt(struct server *s, struct fdstate_fd *v, size_t *n, json_object *state);

#endif
