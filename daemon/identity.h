/* A client's identity, established once at accept from what the kernel says
 * about the peer, never from what the client says. */
#ifndef SBD_IDENTITY_H
#define SBD_IDENTITY_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct identity {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t *groups;
	size_t ngroups;
	int pidfd;
	char *exe;
	char *cgroup;
	char *unit;
	char *label;
	char *error;
};

int identity_read(int fd, const struct ucred *cred, gid_t *groups, size_t ngroups, int pidfd,
                  struct identity *id);
void identity_free(struct identity *id);

#endif
