/* Log lines on stderr with "<N>" syslog priority prefixes, which journald and
 * systemd read as the line's priority; audit records as structured entries
 * of the native journal protocol when stderr is the journal.
 *
 * Nothing here blocks the event loop: standard error is written without
 * blocking, and what the reader does not take yet waits in a bounded queue
 * that the loop drains when the descriptor is writable again. When the queue
 * is full, debug and info lines are dropped first (at half of it), then
 * other lines; both are counted (log_get_stats, admin.stats "log") and said
 * once the queue drains. An audit record is never dropped silently: the
 * queue refuses it (-ENOBUFS) and the caller treats it as a record that
 * could not be written (authz.c, --audit-failure). */
#ifndef SBD_LOG_H
#define SBD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

struct loop;

/* The queue's bound, in bytes of queued lines. */
#define LOG_QUEUE_DEFAULT_BYTES (1024 * 1024)
/* Test-only: environment variables that override the queue's bound and the
 * journal's socket (docs/sockbrokerd.8, ENVIRONMENT). */
#define LOG_ENV_QUEUE_BYTES "SOCKBROKERD_LOG_QUEUE_BYTES"
#define LOG_ENV_JOURNAL_SOCKET "SOCKBROKERD_JOURNAL_SOCKET"
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Looks at standard error once: the journal (JOURNAL_STREAM names its
 * device and inode), a socket, a pipe or terminal (reopened without
 * blocking), or a file. Without it, lines are written as they come (tools
 * and unit tests). 0 or -errno. */
int log_init(void);
/* The queue drains from l's events from now on (NULL: no more; lines left
 * wait for log_shutdown). */
void log_attach(struct loop *l);
/* At exit: writes what is queued, waiting at most timeout_ms in all. */
void log_shutdown(int timeout_ms);

void log_set_level(int level);
int log_get_level(void);
/* "err", "warning", "notice", "info", "debug" or a digit 0-7; -EINVAL otherwise. */
int log_parse_level(const char *s);
/* Lines have no length limit (they are allocated). */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One field of an audit record: key in lower case ("uid"); value NULL when
 * the record has none. */
struct log_field {
	const char *key;
	const char *value;
};
/* An audit record at LOG_NOTICE whatever the level: to the journal as an
 * entry with MESSAGE=text and SOCKBROKER_<KEY>=value for every field, or to
 * stderr as the line text. 0, or -ENOBUFS when the queue is full, -errno
 * when standard error failed: the record was not written. */
int log_audit(const char *text, const struct log_field *f, size_t n);

/* Where log_audit writes, for messages: "the journal" or "standard error". */
const char *log_stderr_name(void);

struct log_stats {
	uint64_t queued_bytes, queue_max;
	uint64_t dropped_minor;     /* debug and info lines dropped: the queue was half full */
	uint64_t dropped;           /* notice and above dropped: the queue was full */
	uint64_t audit_refused;     /* audit records the queue could not take */
	uint64_t write_errors;      /* lines lost to an error of standard error itself */
	bool journal;               /* audit records go to the journal natively */
	const char *target;         /* "journal", "socket", "pipe", "terminal", "file", "none" */
};
void log_get_stats(struct log_stats *out);

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
