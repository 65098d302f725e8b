/* Assertion helpers shared by the integration suites: start a daemon and
 * remember its directory, talk to it failing the test when no reply comes,
 * check error replies, and prove recovery (a fresh client served, the
 * daemon's descriptors back at their baseline, bounded by round trips). */
#ifndef SB_HX_H
#define SB_HX_H

#include <check.h>
#include <json-c/json.h>

#include "harness.h"

/* Reply wait of every hx_ call, in milliseconds. */
extern int hx_timeout_ms;
/* Where hx_start records daemon directories for hx_main's sweep. */
extern int hx_dirlog_fd;

long long hx_mono_ms(void);
void hx_start(struct sbd *d, const char *const *args);
void hx_open_conn(struct tconn *t, const struct sbd *d);
json_object *hx_call(struct tconn *t, const char *line);
json_object *hx_recv_json(struct tconn *t);
void hx_check_error(json_object *j, int code, const char *want_id);
void hx_expect_error(struct tconn *t, const char *line, int code, const char *want_id);
void hx_info_ok(struct tconn *t);
int hx_conn_cost(struct tconn *t);
int hx_baseline_fds(const struct sbd *d);
void hx_check_recovered(const struct sbd *d, int baseline);
void hx_stop(struct sbd *d);
void hx_sweep_dirs(int fd);
/* Runs the suite; afterwards prints the logs of daemons whose test failed
 * before stopping them, and removes their directories. The exit status. */
int hx_main(Suite *s);

#endif
