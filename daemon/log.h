/* Log lines on stderr with "<N>" syslog priority prefixes, which journald and
 * systemd read as the line's priority. */
#ifndef SBD_LOG_H
#define SBD_LOG_H

#include <syslog.h>

void log_set_level(int level);
int log_get_level(void);
/* "err", "warning", "notice", "info", "debug" or a digit 0-7; -EINVAL otherwise. */
int log_parse_level(const char *s);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
