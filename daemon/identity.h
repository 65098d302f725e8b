/* A client's identity, established once at accept from what the kernel says
 * about the peer, never from what the client says, and such that a recycled
 * pid can never change a decision (identity.c explains how). */
#ifndef SBD_IDENTITY_H
#define SBD_IDENTITY_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct identity {
	uid_t uid;          /* SO_PEERCRED */
	gid_t gid;          /* SO_PEERCRED */
	pid_t pid;          /* from the pidfd when there is one, else SO_PEERCRED */
	gid_t *groups;      /* SO_PEERGROUPS (malloc'd, may be NULL) */
	size_t ngroups;
	int pidfd;          /* SO_PEERPIDFD, owned; -1 where the kernel lacks it */
	char *exe;          /* /proc/<pid>/exe target; NULL when unknown */
	char *cgroup;       /* cgroup v2 path ("/system.slice/x.service"); NULL when unknown */
	char *unit;         /* systemd unit the cgroup names; NULL when it names none */
	char *label;        /* SO_PEERSEC LSM label; NULL when there is no LSM label */
	char *error;        /* NULL when established; else one sentence saying what could not
	                     * be read, and the policy denies every governed action */
};

/* Reads the identity of the peer of the connected AF_UNIX socket fd. cred and
 * groups are as the caller read them (SO_PEERCRED, SO_PEERGROUPS); groups
 * (malloc'd, may be NULL) and pidfd (may be -1) are taken in every case.
 * A peer that is gone or unreadable is not a failure: id->error says why.
 * Returns 0, or -ENOMEM with *id empty (identity_free on it is harmless). */
int identity_read(int fd, const struct ucred *cred, gid_t *groups, size_t ngroups, int pidfd,
                  struct identity *id);
/* Closes the pidfd and frees everything; safe on a zeroed struct with pidfd -1.
 * Leaves *id empty with pidfd -1. */
void identity_free(struct identity *id);

/* Pure parsers, exposed for the tests. */

/* The "Pid:" line of /proc/self/fdinfo/<pidfd>. 0, -ESRCH for "Pid: -1" (the
 * process has exited), -EREMOTE for "Pid: 0" (it lives in a pid namespace
 * this /proc cannot see), -ENOENT when there is no Pid line, -EINVAL for
 * anything else (garbage, out of range, a second Pid line). */
int identity_pid_from_fdinfo(const char *fdinfo_text, pid_t *pid);
/* The path of the "0::" (cgroup v2) line of /proc/<pid>/cgroup, malloc'd.
 * -ENOENT when there is none (a v1-only system), -EINVAL when it is not an
 * absolute path or there is more than one, -ENOMEM. */
int identity_cgroup_from_text(const char *proc_cgroup_text, char **cgroup);
/* The systemd unit a cgroup v2 path names, by systemd's rule: leading *.slice
 * components are skipped and the next component is the unit, or there is
 * none ("/system.slice/nginx.service" -> "nginx.service"). *unit is NULL and
 * 0 returned when the path names no unit; -ENOMEM. */
int identity_unit_from_cgroup(const char *cgroup, char **unit);
/* State (field 3) and start time (field 22, clock ticks since boot) from the
 * text of /proc/<pid>/stat, whose comm may hold spaces and parentheses.
 * 0 or -EINVAL. */
int identity_stat_parse(const char *stat_text, char *state, unsigned long long *starttime);

#endif
