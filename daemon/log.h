/* Log lines on stderr with "<N>" syslog priority prefixes, which journald and
 * systemd read as the line's priority. */
#ifndef SBD_LOG_H
#define SBD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

void log_set_level(int level);
int log_get_level(void);
/* "err", "warning", "notice", "info", "debug" or a digit 0-7; -EINVAL otherwise. */
int log_parse_level(const char *s);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* At most one message per interval for one cause, so that a failure hit by
 * every request cannot flood the log. */
struct log_ratelimit {
	uint64_t interval_ns;
	uint64_t last_ns;       /* when the last message went out; 0: never */
	uint64_t suppressed;    /* held back since then */
};
#define LOG_RATELIMIT_INIT(seconds) { (uint64_t)(seconds) * 1000000000ull, 0, 0 }
/* Whether a message may go out now (CLOCK_MONOTONIC). If so, *suppressed is
 * how many were held back since the last one, and the count starts again;
 * if not, the count goes up. */
bool log_ratelimit(struct log_ratelimit *rl, uint64_t *suppressed);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
