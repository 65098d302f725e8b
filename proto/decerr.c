#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include "decerr.h"

void decode_error_clear(struct decode_error *e)
{
	if (e) {
		e->path[0] = '\0';
		e->msg[0] = '\0';
	}
}

int decode_vfail(struct decode_error *e, int r, const char *path, const char *fmt, va_list ap)
{
	if (!e)
		return r;
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return r;
}

int decode_fail(struct decode_error *e, int r, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = decode_vfail(e, r, path, fmt, ap);
	va_end(ap);
	return r;
}

/* Puts head in front of e->path, with a '.' between when the old path starts
 * with a member name. */
static void prefix(struct decode_error *e, const char *head)
{
	char old[DECERR_PATH_MAX];
	const char *sep = e->path[0] && e->path[0] != '[' ? "." : "";

	memcpy(old, e->path, sizeof(old));
	if (snprintf(e->path, sizeof(e->path), "%s%s%s", head, sep, old) < 0)
		e->path[0] = '\0';
}

void decode_error_prefix(struct decode_error *e, const char *member)
{
	if (e && member && member[0])
		prefix(e, member);
}

void decode_error_prefix_index(struct decode_error *e, size_t i)
{
	char head[32];

	if (!e)
		return;
	snprintf(head, sizeof(head), "[%zu]", i);
	prefix(e, head);
}
