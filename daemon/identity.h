/* A client's identity, established from what the kernel says about the peer
 * (at accept) or about the writer of a message (SCM_CREDENTIALS and SCM_PIDFD),
 * never from what the client says, and such that a recycled pid can never
 * change a decision (identity.c explains how). */
#ifndef SBD_IDENTITY_H
#define SBD_IDENTITY_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct identity {
	uid_t uid;          /* SO_PEERCRED */
	gid_t gid;          /* SO_PEERCRED */
	pid_t pid;          /* from the pidfd when there is one, else SO_PEERCRED */
	pid_t peer_pid;     /* as the kernel gave it (SO_PEERCRED, SCM_CREDENTIALS): in the
	                     * daemon's pid namespace, the one per-message pids are in */
	gid_t *groups;      /* SO_PEERGROUPS (malloc'd, may be NULL) */
	size_t ngroups;
	int pidfd;          /* SO_PEERPIDFD, owned; -1 where the kernel lacks it */
	char *exe;          /* /proc/<pid>/exe target; NULL when unknown */
	char *cgroup;       /* cgroup v2 path ("/system.slice/x.service"); NULL when there is
	                     * none (cgroup v1) or it is unknown */
	char *unit;         /* systemd unit the cgroup names; NULL when it names none or is unknown */
	char *label;        /* SO_PEERSEC LSM label; NULL when there is no LSM label or it is unknown */
	char *token;        /* the name of the bearer token an HTTP caller presented (http-token.h);
	                     * NULL for every other caller */
	/* Why a part above could not be read (one sentence ending in what the
	 * kernel said, malloc'd), its value then NULL; NULL when the part is
	 * known, or does not exist. An unknown part does not make the identity
	 * fail: the policy treats it as unknown (policy.h, policy_subject). */
	char *exe_unknown, *cgroup_unknown, *unit_unknown, *label_unknown;
	char *error;        /* NULL when established; else one sentence saying what could not
	                     * be read, and the policy denies every governed action: the
	                     * credentials, the process itself (exited, in a pid namespace out
	                     * of sight) or, for another writer, its groups; or the daemon's
	                     * own shortage (retry) */
	bool retry;         /* error is the daemon's own shortage (descriptors, memory): reading
	                     * again later may succeed */
};

/* Reads the identity of the peer of the connected AF_UNIX socket fd. cred and
 * groups are as the caller read them (SO_PEERCRED, SO_PEERGROUPS); groups
 * (malloc'd, may be NULL) and pidfd (may be -1) are taken in every case.
 * A peer that is gone or unreadable is not a failure: id->error says why.
 * Returns 0, or -ENOMEM with *id empty (identity_free on it is harmless). */
int identity_read(int fd, const struct ucred *cred, gid_t *groups, size_t ngroups, int pidfd,
                  struct identity *id);
/* Reads the peer's credentials (SO_PEERCRED, SO_PEERGROUPS) and, when pidfd is
 * -1, its pidfd (SO_PEERPIDFD) from the connected socket fd, then as
 * identity_read: for reading an identity again (id->retry). pidfd is taken
 * when 0 is returned; -errno (the caller keeps pidfd) when the credentials
 * cannot be read. */
int identity_read_socket(int fd, int pidfd, struct identity *id);

/* The identity of a process that wrote on a connection without being the one
 * that opened it, from what the kernel attached to its bytes: uid and gid
 * from cred (SCM_CREDENTIALS: the real ids when it wrote), the process from
 * pidfd (SCM_PIDFD, or one opened for cred->pid; taken), accepted only while
 * it holds those ids, whose supplementary groups (/proc/<pid>/status),
 * executable, cgroup and unit are read as identity_read does, and label and
 * label_unknown (copied, may be NULL; the connection's: an LSM labels the
 * socket, not each write).
 * A writer in a pid namespace other than that of our /proc is not identified
 * (id->error): there, whoever holds CAP_SYS_ADMIN over its namespace (any
 * user, in a user namespace of its own) can name any of its processes as
 * the writer. Returns 0 or -ENOMEM, as identity_read. */
int identity_read_sender(const struct ucred *cred, int pidfd, const char *label, const char *label_unknown,
                         struct identity *id);

/* 1 when the pidfd's process is alive (a zombie counts: its pid is not free),
 * 0 when it is gone, or -errno. */
int identity_pidfd_alive(int pidfd);

/* A copy of from in *to (its pidfd duplicated): 0, or -errno with *to empty. */
int identity_copy(const struct identity *from, struct identity *to);

/* Closes the pidfd and frees everything; safe on a zeroed struct with pidfd -1.
 * Leaves *id empty with pidfd -1. */
void identity_free(struct identity *id);

/* Pure parsers, exposed for the tests. */

/* The "Pid:" line of /proc/self/fdinfo/<pidfd>. 0, -ESRCH for "Pid: -1" (the
 * process has exited), -EREMOTE for "Pid: 0" (it lives in a pid namespace
 * this /proc cannot see), -ENOENT when there is no Pid line, -EINVAL for
 * anything else (garbage, out of range, a second Pid line). */
int identity_pid_from_fdinfo(const char *fdinfo_text, pid_t *pid);
/* The number of pid namespaces of the "NSpid:" line of a pidfd's fdinfo: 1
 * when the process lives in the namespace of that /proc, more when it lives
 * in one nested below. -ENOENT without the line, -EINVAL for garbage. */
int identity_nspid_depth_from_fdinfo(const char *fdinfo_text, unsigned *depth);
/* The real uid and gid ("Uid:", "Gid:") and the supplementary groups
 * ("Groups:", malloc'd into *groups, NULL when none) of the text of
 * /proc/<pid>/status. 0, -EINVAL (a line missing or malformed), -ENOMEM. */
int identity_status_parse(const char *status_text, uid_t *uid, gid_t *gid, gid_t **groups,
                          size_t *ngroups);
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
