/* Walking up a path, for the checks that refuse a file (the policy, the
 * control socket) below a directory another user could write: such a user
 * could rename something else, or a symlink, into its place. */
#ifndef SBD_PATHWALK_H
#define SBD_PATHWALK_H

#include <stddef.h>

/* path made absolute against the working directory, into abs (len bytes).
 * 0 or -ENAMETOOLONG (or getcwd's -errno). */
int pathwalk_absolute(const char *path, char *abs, size_t len);

/* Calls fn(dir, ctx) for every directory above the absolute path abs, from
 * the nearest up to "/", and stops at the first nonzero result, which it
 * returns. -ENAMETOOLONG for a relative or overlong abs. */
int pathwalk_ancestors(const char *abs, int (*fn)(const char *dir, void *ctx), void *ctx);

#endif
