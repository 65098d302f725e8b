/* Integration-test harness: starts the real sockbrokerd on a private socket in
 * a temporary directory, waits for its READY=1 on a private NOTIFY_SOCKET (no
 * sleeps), and talks to it as a client does. */
#ifndef SB_HARNESS_H
#define SB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <json-c/json.h>

struct sbd {
	pid_t pid;
	char dir[256];
	char sock[300];
	char log[300];
	char policy_dir[300];   /* <dir>/policy.d, when the caller gave no --policy */
	int notify_fd;
};

/* Starts the daemon with --socket <dir>/control.sock plus extra args (NULL
 * terminated, may be NULL). stderr goes to <dir>/daemon.log. Waits for
 * READY=1 (30 s at most). 0 or -errno. */
int sbd_start(struct sbd *d, const char *const *extra_args);
/* As sbd_start, with the daemon's command line after `prefix` (NULL
 * terminated), e.g. a command that sets up a namespace and then execs its
 * arguments in the same process (so the pid stays the daemon's). */
int sbd_start_prefixed(struct sbd *d, const char *const *prefix, const char *const *extra_args);
/* Waits for the next sd_notify datagram containing `what` (e.g. "STOPPING=1"). */
int sbd_wait_notify(struct sbd *d, const char *what, int timeout_ms);
/* SIGTERM, wait (30 s at most); returns the exit status (0-255), 128+sig if
 * killed by a signal, or -errno. Removes the temp dir. */
int sbd_stop(struct sbd *d);
/* Sends sig and waits for exit, like sbd_stop. */
int sbd_kill_wait(struct sbd *d, int sig);
/* Descriptors the daemon has open (from /proc/PID/fd), or -errno. */
int sbd_fd_count(const struct sbd *d);
/* Whether the daemon's log holds `needle`. */
bool sbd_log_contains(const struct sbd *d, const char *needle);
/* Whether one line of the daemon's log holds all of a, b and c (b and c may
 * be NULL). */
bool sbd_log_line_has(const struct sbd *d, const char *a, const char *b, const char *c);

/* A test client connection with its own line buffer. */
struct tconn {
	int fd;
	char *buf;
	size_t len, cap;
	int fds[64];       /* descriptors received and not yet claimed */
	size_t nfds;
};

/* Connects to path; blocking socket. 0 or -errno. */
int tconn_open(struct tconn *t, const char *path);
void tconn_close(struct tconn *t);
/* Writes all of buf. 0 or -errno. */
int tconn_write(struct tconn *t, const void *buf, size_t n);
/* Writes line + '\n'. */
int tconn_send(struct tconn *t, const char *line);
/* Sends line + '\n' with descriptors in one sendmsg. */
int tconn_send_fds(struct tconn *t, const char *line, const int *fds, size_t nfds);
/* Reads the next line (malloc'd, without '\n'), waiting at most timeout_ms.
 * NULL on timeout (errno ETIMEDOUT), EOF (errno 0 / ECONNRESET) or error. */
char *tconn_recv_line(struct tconn *t, int timeout_ms);
/* Reads and parses the next line as JSON. NULL as above or on bad JSON (EBADMSG). */
json_object *tconn_recv_json(struct tconn *t, int timeout_ms);
/* Sends line and returns the parsed reply. */
json_object *tconn_call(struct tconn *t, const char *line, int timeout_ms);
/* true when the peer closed: the next read returns EOF within timeout_ms
 * (replies still arriving before EOF are discarded). */
bool tconn_wait_eof(struct tconn *t, int timeout_ms);

/* Reply inspection: error code (0 for a result) and member lookup by a dotted
 * path ("error.data.limit"). */
int reply_error_code(json_object *reply);
json_object *jpath(json_object *o, const char *path);
const char *jpath_str(json_object *o, const char *path);
long long jpath_int(json_object *o, const char *path, long long dflt);

/* Raises RLIMIT_NOFILE's soft limit to want (or the hard limit). */
void harness_raise_nofile(rlim_t want);
/* Exits 77 printing "SKIP: needs root (...)" unless euid is 0; under CI=true
 * a missing root is a failure (exit 99), never a silent skip. */
void harness_require_root(const char *what);
/* Number of descriptors this process has open. */
int self_fd_count(void);

#endif
