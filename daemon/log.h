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

/* At most one message per interval for a message that can repeat in bursts:
 * the others are counted, and the count goes out with the next one. */
struct log_ratelimit {
	uint64_t interval_ns;
	uint64_t next_ns;           /* before this, messages are held back */
	unsigned long held;
};
/* Whether a message may go out at now_ns (a monotonic clock); when it may,
 * *held gets how many were held back since the last one (and is reset). */
bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ns, unsigned long *held);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
