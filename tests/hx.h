/* Assertion helpers shared by the integration suites: start a daemon and
 * remember its directory, keep what a test allocates until its teardown,
 * talk to it failing the test when no reply comes, check error replies and
 * refused connections, report from a forked child, and prove recovery (a
 * fresh client served, the daemon's descriptors back at their baseline,
 * bounded by round trips). */
#ifndef SB_HX_H
#define SB_HX_H

#include <check.h>
#include <stdarg.h>
#include <json-c/json.h>

#include "harness.h"

/* Reply wait of every hx_ call, in milliseconds. */
extern int hx_timeout_ms;
/* Where hx_start records daemon directories for hx_main's sweep. */
extern int hx_dirlog_fd;

long long hx_mono_ms(void);

/* What a test keeps until its teardown calls hx_release_all(): replies and
 * strings it hands around without freeing each. hx_hold(NULL) is a no-op;
 * hx_hold_mem fails the test on NULL (a failed allocation). */
json_object *hx_hold(json_object *j);
void *hx_hold_mem(void *p);
void hx_release_all(void);
/* printf into a string kept until hx_release_all(). */
const char *hx_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void hx_start(struct sbd *d, const char *const *args);
void hx_open_conn(struct tconn *t, const struct sbd *d);
json_object *hx_call(struct tconn *t, const char *line);
json_object *hx_recv_json(struct tconn *t);
/* A request of method with params printf-formatted from pfmt (NULL: no
 * params member) under the next integer id; returns the reply, which must
 * carry that id. The caller owns it (or hands it to hx_hold). */
json_object *hx_requestv(struct tconn *t, const char *method, const char *pfmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void hx_check_error(json_object *j, int code, const char *want_id);
void hx_expect_error(struct tconn *t, const char *line, int code, const char *want_id);
void hx_info_ok(struct tconn *t);
int hx_conn_cost(struct tconn *t);
int hx_baseline_fds(const struct sbd *d);
void hx_check_recovered(const struct sbd *d, int baseline);
/* Round trips on t until the daemon counts n connections in all (bounded). */
void hx_wait_connections(struct tconn *t, long long n);
/* A connection the daemon refuses: one -32012 line naming limit and max,
 * then EOF. */
void hx_expect_refused(const struct sbd *d, const char *limit, long long max);
void hx_stop(struct sbd *d);
void hx_sweep_dirs(int fd);

/* A forked child cannot use ck_assert (it is not the test process): it sets
 * hx_child_report_fd to a pipe the test reads, and hx_child_fail writes its
 * first failure there and exits 1. */
extern int hx_child_report_fd;
void hx_child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Runs the suite; afterwards prints the logs of daemons whose test failed
 * before stopping them, and removes their directories. The exit status. */
int hx_main(Suite *s);

#endif
