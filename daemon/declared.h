/* Declared sockets: the administrator's sockets, made by the daemon at start
 * and on reload from /etc/sockbroker/sockets.d/ (every *.json there) (or --sockets PATH, a
 * file or a directory), as systemd's socket units are (docs/declared.md).
 *
 * A file, JSON held to the policy files' rules (strict syntax, duplicate
 * members refused, errors as file:line:column: where: what):
 *   {"version": 1, "sockets": [
 *     {"name": "web", "address": "tcp:0.0.0.0:8080", "backlog": 128,
 *      "options": {"SO_REUSEADDR": true, "SO_RCVBUF": 65536}},
 *     {"name": "app", "address": "unix:/run/app/app.sock", "mode": "0660",
 *      "owner": "www-data", "group": "www-data"},
 *     {"name": "dns", "family": "AF_INET6", "type": "SOCK_DGRAM",
 *      "address": {"host": "::1", "port": 5353}, "options": {"IPV6_V6ONLY": true}}]}
 *
 * The table is declared.c's own until the held-socket table (issue 15,
 * piece A) takes its entries, read-only, by declared_find / declared_fd_peek.
 */
#ifndef SBD_DECLARED_H
#define SBD_DECLARED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "policy.h"
#include "sockopt.h"

#define DECLARED_DEFAULT_DIR "/etc/sockbroker/sockets.d"
#define DECLARED_MAX         1024   /* declared sockets, in all files together */
#define DECLARED_NAME_MAX    200    /* bytes of a name (as a held socket's) */
#define DECLARED_MAX_OPTIONS 32     /* options of one socket */

struct declared_opt {
	int level, option;
	unsigned char val[SOCKOPT_MAX_LEN];
	socklen_t len;
};

/* How to make one socket, as a file declares it. */
struct declared_spec {
	char *name;
	char *file;                 /* the file that declares it, for messages */
	int family, type, proto;
	struct sbaddr addr;
	char *unix_path;            /* AF_UNIX: the path (the address holds it too) */
	int backlog;                /* listen(2)'s; -1 for a datagram socket */
	mode_t mode;                /* AF_UNIX path: its mode */
	uid_t owner;                /* AF_UNIX path: (uid_t)-1 unchanged */
	gid_t group;                /* AF_UNIX path: (gid_t)-1 unchanged */
	struct declared_opt *opts;
	size_t nopts;
};

struct declared_set {
	struct declared_spec *v;
	size_t n;
};

/* A declared socket in the daemon: fd -1 when it could not be made (error
 * says why; it is tried again at the next reload). */
struct declared_sock {
	struct declared_spec spec;
	int fd;
	int error;                  /* -errno of the last attempt, 0 when made */
	dev_t dev;                  /* AF_UNIX: the path's socket, removed on close */
	ino_t ino;
};

/* A declared socket handed to this process (restart, systemd's store),
 * kept until the first declared_apply takes it or closes it. */
struct declared_inherited {
	char *name;
	int fd;
	char *fingerprint;          /* declared_spec_fingerprint of what made it; NULL: unknown */
	dev_t dev;                  /* AF_UNIX: its path's socket (0: not known to be ours) */
	ino_t ino;
};

struct declared_table {
	struct declared_sock *v;
	size_t n;
	struct declared_inherited *inh;
	size_t ninh;
};

/* Loads path (a file, or every *.json of a directory in byte order; NULL:
 * DECLARED_DEFAULT_DIR, which may be missing) into *out (emptied first).
 * strict_owner: the daemon runs as root (files and directories above must
 * be root's, as policy files). 0, or -errno with err filled. */
int declared_load(const char *path, bool strict_owner, struct declared_set *out, struct policy_error *err);
void declared_set_free(struct declared_set *s);
void declared_spec_clear(struct declared_spec *s);
/* A deep copy: 0 or -ENOMEM (dst cleared). */
int declared_spec_copy(struct declared_spec *dst, const struct declared_spec *src);
/* Whether a and b make the same socket (name and file aside). */
bool declared_spec_equal(const struct declared_spec *a, const struct declared_spec *b);

/* A string that differs when two specs would make different sockets (name
 * and file aside): what declared_spec_equal compares, hashed. */
void declared_spec_fingerprint(const struct declared_spec *s, char out[33]);

/* Keeps fd (taken), a socket name was made as, for the next declared_apply:
 * the same socket is kept when the files still declare it unchanged (the
 * same fingerprint; without one, the same family, type, protocol and local
 * address), and closed otherwise. 0 or -ENOMEM (fd closed). */
int declared_inherit(struct declared_table *t, const char *name, int fd, const char *fingerprint, dev_t dev,
                     ino_t ino);

/* Makes t hold what set declares (set is emptied): a socket no longer
 * declared is closed (its UNIX path removed), a new one made, a changed one
 * closed and made again, an unchanged one kept (one that failed before is
 * tried again). A socket that cannot be made is logged and kept with fd -1;
 * the others go on. Returns how many could not be made. */
size_t declared_apply(struct declared_table *t, struct declared_set *set);
/* Makes one socket: 0 with *fd (CLOEXEC, non-blocking), *dev, *ino; or
 * -errno with a sentence in err. */
int declared_make(const struct declared_spec *s, int *fd, dev_t *dev, ino_t *ino, char *err, size_t errlen);
/* The entry named name, or NULL. */
const struct declared_sock *declared_find(const struct declared_table *t, const char *name);
/* Its descriptor (still the table's), or -ENOENT / the error it failed with. */
int declared_fd_peek(const struct declared_table *t, const char *name);
void declared_table_free(struct declared_table *t);
/* From here on closing t's sockets leaves their UNIX paths alone: another
 * process (the one a restart handed them to) serves them now. */
void declared_table_forget_paths(struct declared_table *t);

/* "tcp:ADDR:PORT", "udp:ADDR:PORT" (ADDR an IPv4 literal or an IPv6 one in
 * brackets) or "unix:/absolute/path" -> family, type, address. 0 or -EINVAL
 * with a sentence in why. */
int declared_parse_shorthand(const char *s, int *family, int *type, struct sbaddr *addr, const char **why);

/* sockbrokerd --check-policy: loads path as the daemon would and prints each
 * socket, or the error to stderr. 0 valid, 1 not. */
int declared_check_cli(const char *path, bool strict_owner);

#endif
