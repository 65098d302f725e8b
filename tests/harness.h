/* The integration-test harness, the one every integration test (it_*.c)
 * and every hostile C test (hostile/h10_*.c) uses:
 * - harness.c: starts the real sockbrokerd on a private socket and a private
 *   --policy in a temporary directory, waits for its READY=1 on a private
 *   NOTIFY_SOCKET (no sleeps), stops it, and sweeps what a failed test left;
 *   a client connection with its own line buffer; reply inspection.
 * - harness-check.c: the assertions: what a test keeps until its teardown,
 *   the call-and-check layer (send a request, check its result or error),
 *   the standard fixture (one daemon, one client), descriptor accounting,
 *   recovery checks, a forked child's report, hx_main.
 * - harness-sock.c: socket helpers through the daemon (handles, ports,
 *   exact receives, a blackhole listener) and of the test process. */
#ifndef SB_HARNESS_H
#define SB_HARNESS_H

#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <json-c/json.h>

/* ================================================================ daemon */

struct sbd {
	pid_t pid;
	char dir[256];
	char sock[300];
	char log[300];
	char policy_dir[300];   /* <dir>/policy.d, when the caller gave no --policy */
	int notify_fd;
};

/* The daemon under test: $SBD, or the build tree's. */
const char *sbd_path(void);
/* Starts the daemon with --socket <dir>/control.sock plus extra args (NULL
 * terminated, may be NULL); without a --policy among them it gets an empty
 * private policy directory (never the host's /etc/sockbroker). stderr goes
 * to <dir>/daemon.log. Waits for READY=1 (30 s at most). The directory and
 * pid are noted for hx_main's sweep. 0 or -errno. */
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

/* sbd_start that fails the test when the daemon does not start. */
void hx_start(struct sbd *d, const char *const *args);
/* sbd_stop that fails the test unless the daemon exits 0. */
void hx_stop(struct sbd *d);

/* Where sbd_start notes "pid dir" lines for hx_main's sweep (-1: no sweep). */
extern int hx_dirlog_fd;
/* Notes a directory (and the daemon pid using it, or 0) for the sweep: it is
 * removed, with what it holds, if its test fails before removing it. */
void hx_note_dir(const char *dir, pid_t pid);
/* Reads the noted lines from fd; for each directory still there (its test
 * failed before sbd_stop), stops its daemon when that pid still runs with
 * this directory on its command line, prints its log and removes it. */
void hx_sweep_dirs(int fd);
/* Makes a private directory /tmp/<name>.XXXXXX with mode (0755 lets a
 * child dropped to another user, and a root daemon that refuses directories
 * others may write, use it) into path (n bytes), noted for the sweep. */
void hx_private_dir(char *path, size_t n, const char *name, mode_t mode);
/* Removes dir and everything under it. */
void hx_remove_tree(const char *dir);

/* ================================================================ client */

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
/* Inside a test: true as root; otherwise prints "SKIP: what: needs root" and
 * returns false, except under CI=true, where the test fails. */
bool hx_need_root(const char *what);
/* Number of descriptors this process has open. */
int self_fd_count(void);
long long hx_mono_ms(void);

/* ================================================================ checks */

/* Reply wait of every hx_ call, in milliseconds (it bounds a failure only). */
extern int hx_timeout_ms;

/* What a test keeps until its teardown calls hx_release_all(): replies and
 * strings it hands around without freeing each. hx_hold(NULL) is a no-op;
 * hx_hold_mem fails the test on NULL (a failed allocation). hx_release_all
 * also forgets replies kept for a later hx_await. */
json_object *hx_hold(json_object *j);
void *hx_hold_mem(void *p);
void hx_release_all(void);
/* printf into a string kept until hx_release_all(). */
const char *hx_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void hx_open_conn(struct tconn *t, const struct sbd *d);
json_object *hx_call(struct tconn *t, const char *line);
json_object *hx_recv_json(struct tconn *t);

/* ---- the call-and-check layer ----
 * A request goes out with a string id; hx_await(t, id) returns the reply
 * with that id, keeping replies to other ids on t for their own hx_await
 * (parked operations answer out of order). Every reply is held until
 * hx_release_all(). pfmt formats the params printf-style (NULL: no params
 * member). */
void hx_send(struct tconn *t, const char *id, const char *method, const char *params);
void hx_send_fds(struct tconn *t, const char *id, const char *method, const char *params, const int *fds,
                 size_t nfds);
json_object *hx_await(struct tconn *t, const char *id);
/* The whole reply of a request under the next id. */
json_object *hx_rpc(struct tconn *t, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 3, 4)));
json_object *hx_rpcv(struct tconn *t, const char *method, const char *pfmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* A request under the next integer id, waiting for that reply only, which the
 * caller owns (not held). */
json_object *hx_requestv(struct tconn *t, const char *method, const char *pfmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* As hx_requestv: the next reply, which must answer this request. */
json_object *hx_request(struct tconn *t, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The reply is a result: returns it. what names the request in a failure. */
json_object *hx_expect_ok(json_object *reply, const char *what);
/* The reply is an error with code and a message: returns the error object. */
json_object *hx_expect_err(json_object *reply, int code, const char *what);
/* The reply is an OS error (-32000) with an errno and one of the names in
 * names ("EAGAIN", or alternatives "ECONNREFUSED|ENETUNREACH"): the error. */
json_object *hx_expect_os(json_object *reply, const char *names, const char *what);
/* A call that must succeed: its result. */
json_object *hx_ok(struct tconn *t, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A call that must fail with code: its error object. */
json_object *hx_err(struct tconn *t, int code, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A call that must fail with code: its error's data (an empty object when
 * the error has none). */
json_object *hx_err_data(struct tconn *t, int code, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A call that must fail with an OS error named in names: its error object. */
json_object *hx_os_err(struct tconn *t, const char *names, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A call that must fail with -32602 whose data.param is param: the error. */
json_object *hx_bad_param(struct tconn *t, const char *param, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 4, 5)));
/* data (of a -32010 denial) has a reason; rule: the deciding rule's name,
 * or NULL when no rule decided (then data.rule must be absent); reason_has:
 * what the reason must mention (NULL: anything). */
void hx_check_denial(json_object *data, const char *rule, const char *reason_has);
/* A call the policy must deny (-32010) as hx_check_denial says: its data. */
json_object *hx_denied(struct tconn *t, const char *rule, const char *reason_has, const char *method,
                       const char *pfmt, ...) __attribute__((format(printf, 5, 6)));

/* The member at path, which must be there with that type. */
long long hx_geti(json_object *o, const char *path);
const char *hx_gets(json_object *o, const char *path);
double hx_getd(json_object *o, const char *path);
void hx_expect_str(json_object *o, const char *path, const char *want);

/* The reply is an error with code and an id equal to want_id (NULL: id null). */
void hx_check_error(json_object *j, int code, const char *want_id);
void hx_expect_error(struct tconn *t, const char *line, int code, const char *want_id);
/* daemon.info works on t (the connection is healthy). */
void hx_info_ok(struct tconn *t);
/* daemon.ping answers pong on t. */
void hx_ping(struct tconn *t);

/* ---- the standard fixture: one daemon (default arguments), one client ---- */
extern struct sbd hx_d;
extern struct tconn hx_c;
void hx_setup(void);
/* Closes hx_c, releases what the test held, stops hx_d (it must exit 0). */
void hx_teardown(void);
/* A test case of s with a 60 s timeout and the checked fixture given (either
 * may be NULL). */
TCase *hx_tcase(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void));

/* ---- descriptor accounting and recovery ---- */
/* The fixture daemon's descriptors now, after a round trip on hx_c. */
int hx_fd_mark(void);
/* The fixture daemon serves hx_c and its descriptor count comes back to
 * base, with bounded round trips in between. */
void hx_fd_back(int base);
/* Descriptors the daemon spends on one client: the socket, plus the pidfd
 * where the kernel gives one. */
int hx_conn_cost(struct tconn *t);
/* The daemon's descriptors with no client at all. */
int hx_baseline_fds(const struct sbd *d);
/* A fresh client is served, and the daemon's descriptors come back to
 * baseline (plus that client), bounded by round trips. */
void hx_check_recovered(const struct sbd *d, int baseline);
/* Round trips on t until the daemon counts n connections in all (bounded). */
void hx_wait_connections(struct tconn *t, long long n);
/* A connection the daemon refuses: one -32012 line naming limit and max,
 * then EOF. */
void hx_expect_refused(const struct sbd *d, const char *limit, long long max);

/* A forked child cannot use ck_assert (it is not the test process): it sets
 * hx_child_report_fd to a pipe the test reads, and hx_child_fail writes its
 * first failure there and exits 1. */
extern int hx_child_report_fd;
void hx_child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The call-and-check layer of a forked child, failing by hx_child_fail
 * (naming the child's uid): connects t to d; a request under the next
 * integer id whose reply must answer it with code (0: a result; an error
 * must have a message). The reply is held as hx_rpc's are. */
void hx_child_open(struct tconn *t, const struct sbd *d);
json_object *hx_child_call(struct tconn *t, int code, const char *method, const char *pfmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Runs the suite; afterwards sweeps the daemons and directories of tests
 * that failed before cleaning up (hx_sweep_dirs). The exit status. */
int hx_main(Suite *s);

/* ================================================================ sockets */

/* base64 (RFC 4648 with padding), held until hx_release_all; hx_b64dec
 * asserts s is valid and sets *len. */
const char *hx_b64enc(const void *data, size_t n);
unsigned char *hx_b64dec(const char *s, size_t *len);

/* socket.create with params: the new handle. */
long long hx_new_handle(struct tconn *t, const char *params);
/* socket.close of h, with an empty result. */
void hx_close_handle(struct tconn *t, long long h);
/* The local port of handle h, from socket.getsockname. */
int hx_handle_port(struct tconn *t, long long h);
/* The local port of handle h, from socket.list (for a caller whose policy
 * may not grant socket.getsockname). */
int hx_listed_port(struct tconn *t, long long h);
/* The "local.port" member of a result (socket.connect_to, listen_on, ...). */
int hx_result_local_port(json_object *result);
/* The local port of a socket of the test process. */
int hx_fd_port(int fd);
/* Receives exactly n bytes on a stream handle (several recvs if need be). */
void hx_recv_exact(struct tconn *t, long long h, const void *want, size_t n);
/* The one descriptor a reply brought (t->fds), claimed by the caller. */
int hx_take_fd(struct tconn *t);
/* fd becomes ready for ev within hx_timeout_ms. */
void hx_wait_fd(int fd, short ev);
/* The handles socket.list shows, in out (at most max); their number. */
size_t hx_list_handles(struct tconn *t, long long *out, size_t max);
bool hx_has_handle(const long long *a, size_t n, long long h);
/* daemon.info's has_ipv6. */
bool hx_daemon_has_ipv6(struct tconn *t);

/* A loopback listener (through the daemon, backlog 0) whose accept queue is
 * full, so that the next SYN to it is dropped: a blackhole on 127.0.0.1. */
struct hx_blackhole {
	long long h;
	int port;
	int fds[10];
	int n;
};
void hx_blackhole_open(struct tconn *t, struct hx_blackhole *b);
void hx_blackhole_close(struct tconn *t, struct hx_blackhole *b);

#endif
