#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_level(int level)
{
	max_level = level;
}

int log_get_level(void)
{
	return max_level;
}

int log_parse_level(const char *s)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err",
	                                     "warning", "notice", "info", "debug" };

	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "error") == 0)
		return LOG_ERR;
	if (strcmp(s, "warn") == 0)
		return LOG_WARNING;
	return -EINVAL;
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, saved = errno;

	if (prio > max_level)
		return;
	n = snprintf(line, sizeof(line), "<%d>", prio);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* One write per line so lines from concurrent writers never interleave. */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	errno = saved;
}

bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ns, unsigned long *held)
{
	if (rl->next_ns && now_ns < rl->next_ns) {
		rl->held++;
		return false;
	}
	*held = rl->held;
	rl->held = 0;
	rl->next_ns = now_ns + rl->interval_ns;
	if (rl->next_ns == 0)
		rl->next_ns = 1;
	return true;
}
