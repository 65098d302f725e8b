/* Small helpers shared by every part of sockbroker: cleanup attributes and
 * explicit descriptor/pointer hand-over (after a TAKE_* the old slot is empty). */
#ifndef SB_UTIL_H
#define SB_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SB_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SB_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Closes fd if valid, keeps errno, returns -1 so callers can write fd = safe_close(fd). */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd) { safe_close(*fd); }
static inline void freep(void *p) { free(*(void **)p); }
static inline void json_putp(json_object **j) { if (*j) json_object_put(*j); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_json_ _cleanup_(json_putp)

/* Hand over ownership: returns the value and leaves the source empty. */
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

/* Closes every descriptor in fds[0..n) that is still >= 0 and marks it -1. */
static inline void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = safe_close(fds[i]);
}

/* A JSON string, or null (json-c's NULL) for no string. */
static inline json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Seconds to the millisecond, written exactly as formatted (a double would
 * print 0.951 as 0.95099999999999996). */
static inline json_object *json_seconds(double secs)
{
	char buf[48];
	double ms = floor(secs * 1000) / 1000;

	snprintf(buf, sizeof(buf), "%.3f", ms);
	return json_object_new_double_s(ms, buf);
}

/* Wall-clock seconds, for "since" fields people read. */
static inline double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
