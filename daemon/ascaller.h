/* Acting as the caller. The daemon holds privilege its clients lack, and some
 * kernel checks judge whoever performs an operation, not the socket's owner:
 * the permission to open a UNIX socket path or to create a file there, the
 * credentials a UNIX peer sees (SO_PEERCRED, SCM_CREDENTIALS), and the owner
 * of a socket (sk_uid: SO_REUSEPORT groups, owner matches in netfilter). Such
 * operations run with the caller's identity so that the kernel judges them as
 * it would judge the caller.
 *
 * Two tools: a socket made with the caller's file-system uid and gid (a
 * per-thread setfsuid/setfsgid on the loop thread around socket()/accept4(),
 * which cannot block), and a short-lived thread that takes the caller's uid,
 * gid and groups for good (raw syscalls change only that thread) and runs one
 * operation, for what reads paths (connect, bind, sendto on AF_UNIX) or sets
 * the peer credentials a UNIX peer sees (listen, socketpair, connect). */
#ifndef SBD_ASCALLER_H
#define SBD_ASCALLER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ASCALLER_MAX_GROUPS 256

struct ascaller_cred {
	uid_t uid;
	gid_t gid;
	gid_t groups[ASCALLER_MAX_GROUPS];
	size_t ngroups;
};

struct identity;

/* The credentials of a client's identity (groups beyond the bound are
 * dropped: a caller never gains by losing a group). */
void ascaller_cred_from(const struct identity *id, struct ascaller_cred *out);

/* Whether the daemon already is the caller (its effective uid and gid). */
bool ascaller_is_self(const struct ascaller_cred *cr);

/* socket(), socketpair() and accept4() with the caller's file-system uid and
 * gid, so the socket's owner is the caller. *owned says whether that worked
 * (false when the daemon lacks CAP_SETUID/CAP_SETGID and is not the caller:
 * the socket is then the daemon's). Return as the syscalls do, -1 and errno. */
int ascaller_socket(const struct ascaller_cred *cr, int family, int type, int proto, bool *owned);
int ascaller_socketpair(const struct ascaller_cred *cr, int family, int type, int proto, int sv[2],
                        bool *owned);
int ascaller_accept4(const struct ascaller_cred *cr, int fd, struct sockaddr *sa, socklen_t *len, int flags,
                     bool *owned);

/* Runs fn(arg) on a new thread that holds only the caller's credentials
 * (uid, gid, groups; no capabilities). Blocks until it returns (callers that
 * may block on a path run this on a worker, never on the loop). fn's result,
 * or -errno when the thread could not be made or could not take the identity
 * (-EPERM: the daemon may not act as another user). When the daemon already
 * is the caller, fn runs on the calling thread. */
int ascaller_run(const struct ascaller_cred *cr, int (*fn)(void *arg), void *arg);

#endif
