/* Acting as the caller: see ascaller.h. Credentials are per thread in the
 * kernel; glibc's setresuid and friends change every thread of the process,
 * so the raw system calls are used, on a thread that changes only itself. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ascaller.h"
#include "identity.h"

void ascaller_cred_from(const struct identity *id, struct ascaller_cred *out)
{
	out->uid = id->uid;
	out->gid = id->gid;
	out->ngroups = id->ngroups < ASCALLER_MAX_GROUPS ? id->ngroups : ASCALLER_MAX_GROUPS;
	if (out->ngroups)
		memcpy(out->groups, id->groups, out->ngroups * sizeof(gid_t));
}

bool ascaller_is_self(const struct ascaller_cred *cr)
{
	return cr->uid == geteuid() && cr->gid == getegid();
}

/* setfsuid answers the previous value whether or not it changed anything:
 * asking again with -1 tells whether it took. */
static bool fs_take(const struct ascaller_cred *cr, uid_t *old_uid, gid_t *old_gid)
{
	*old_gid = (gid_t)syscall(SYS_setfsgid, cr->gid);
	*old_uid = (uid_t)syscall(SYS_setfsuid, cr->uid);
	return (uid_t)syscall(SYS_setfsuid, (uid_t)-1) == cr->uid && (gid_t)syscall(SYS_setfsgid, (gid_t)-1) == cr->gid;
}

static void fs_restore(uid_t old_uid, gid_t old_gid)
{
	syscall(SYS_setfsuid, old_uid);
	syscall(SYS_setfsgid, old_gid);
}

int ascaller_socket(const struct ascaller_cred *cr, int family, int type, int proto, bool *owned)
{
	uid_t ou;
	gid_t og;
	int fd, e;

	*owned = fs_take(cr, &ou, &og);
	fd = socket(family, type, proto);
	e = errno;
	fs_restore(ou, og);
	errno = e;
	return fd;
}

int ascaller_socketpair(const struct ascaller_cred *cr, int family, int type, int proto, int sv[2],
                        bool *owned)
{
	uid_t ou;
	gid_t og;
	int r, e;

	*owned = fs_take(cr, &ou, &og);
	r = socketpair(family, type, proto, sv);
	e = errno;
	fs_restore(ou, og);
	errno = e;
	return r;
}

int ascaller_accept4(const struct ascaller_cred *cr, int fd, struct sockaddr *sa, socklen_t *len, int flags,
                     bool *owned)
{
	uid_t ou;
	gid_t og;
	int r, e;

	*owned = fs_take(cr, &ou, &og);
	r = accept4(fd, sa, len, flags);
	e = errno;
	fs_restore(ou, og);
	errno = e;
	return r;
}

struct run {
	const struct ascaller_cred *cr;
	int (*fn)(void *arg);
	void *arg;
	int result;
};

static void *run_thread(void *p)
{
	struct run *r = p;

	/* Groups and gid while the uid still may change them; then the uid,
	 * which leaves the thread no capabilities at all. */
	if (syscall(SYS_setgroups, r->cr->ngroups, r->cr->groups) < 0 ||
	    syscall(SYS_setresgid, r->cr->gid, r->cr->gid, r->cr->gid) < 0 ||
	    syscall(SYS_setresuid, r->cr->uid, r->cr->uid, r->cr->uid) < 0) {
		r->result = -errno;
		return NULL;
	}
	r->result = r->fn(r->arg);
	return NULL;
}

int ascaller_run(const struct ascaller_cred *cr, int (*fn)(void *arg), void *arg)
{
	struct run r = { cr, fn, arg, 0 };
	pthread_attr_t attr;
	pthread_t t;
	int e;

	if (ascaller_is_self(cr))
		return fn(arg);
	if ((e = pthread_attr_init(&attr)))
		return -e;
	pthread_attr_setstacksize(&attr, 64 * 1024);
	e = pthread_create(&t, &attr, run_thread, &r);
	pthread_attr_destroy(&attr);
	if (e)
		return -e;
	pthread_join(t, NULL);
	return r.result;
}
