/* Walking up a path: see pathwalk.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pathwalk.h"

int pathwalk_absolute(const char *path, char *abs, size_t len)
{
	size_t cl;

	if (path[0] == '/')
		return (size_t)snprintf(abs, len, "%s", path) < len ? 0 : -ENAMETOOLONG;
	if (!getcwd(abs, len))
		return -errno;
	cl = strlen(abs);
	if (cl + 1 + strlen(path) >= len)
		return -ENAMETOOLONG;
	snprintf(abs + cl, len - cl, "%s%s", cl > 1 ? "/" : "", path);
	return 0;
}

int pathwalk_ancestors(const char *abs, int (*fn)(const char *dir, void *ctx), void *ctx)
{
	char dir[PATH_MAX];
	size_t len = strlen(abs);

	if (len >= sizeof(dir) || abs[0] != '/')
		return -ENAMETOOLONG;
	memcpy(dir, abs, len + 1);
	for (;;) {
		char *slash;
		int r;

		while (len > 1 && dir[len - 1] == '/')
			dir[--len] = '\0';
		slash = strrchr(dir, '/');
		if (!slash || len == 1)
			return 0;
		len = slash == dir ? 1 : (size_t)(slash - dir);
		dir[len] = '\0';
		if ((r = fn(dir, ctx)))
			return r;
	}
}
