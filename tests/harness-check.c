#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

int hx_timeout_ms = 10000;
int hx_child_report_fd = -1;

/* ---- what a test keeps until its teardown ---- */

#define HX_MAX_KEEP 8192
static json_object *kept_json[HX_MAX_KEEP];
static size_t nkept_json;
static void *kept_mem[HX_MAX_KEEP];
static size_t nkept_mem;

json_object *hx_hold(json_object *j)
{
	if (j && nkept_json < HX_MAX_KEEP)
		kept_json[nkept_json++] = j;
	return j;
}

void *hx_hold_mem(void *p)
{
	ck_assert_ptr_nonnull(p);
	if (nkept_mem < HX_MAX_KEEP)
		kept_mem[nkept_mem++] = p;
	return p;
}

/* Replies read while waiting for another id, per connection. */
struct stashed {
	struct tconn *t;
	json_object *j;
};
static struct stashed stash[256];
static size_t nstash;

void hx_release_all(void)
{
	nstash = 0; /* the replies themselves are held */
	while (nkept_json)
		json_object_put(kept_json[--nkept_json]);
	while (nkept_mem)
		free(kept_mem[--nkept_mem]);
}

const char *hx_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	return hx_hold_mem(s);
}



/* ---- the call-and-check layer ---- */

static unsigned long long next_id;

static bool id_is(json_object *j, const char *id)
{
	json_object *v = jpath(j, "id");

	return v && !json_object_is_type(v, json_type_null) && strcmp(json_object_get_string(v), id) == 0;
}

static const char *request_line(const char *id, const char *method, const char *params)
{
	return hx_fmt("{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"%s\"%s%s}", id, method,
	              params ? ",\"params\":" : "", params ? params : "");
}

void hx_send(struct tconn *t, const char *id, const char *method, const char *params)
{
	int r = tconn_send(t, request_line(id, method, params));

	ck_assert_msg(r == 0, "send %s: %s", method, strerror(-r));
}

void hx_send_fds(struct tconn *t, const char *id, const char *method, const char *params, const int *fds,
                 size_t nfds)
{
	int r = tconn_send_fds(t, request_line(id, method, params), fds, nfds);

	ck_assert_msg(r == 0, "send %s with descriptors: %s", method, strerror(-r));
}

json_object *hx_await(struct tconn *t, const char *id)
{
	for (size_t i = 0; i < nstash; i++)
		if (stash[i].t == t && id_is(stash[i].j, id)) {
			json_object *j = stash[i].j;
			stash[i] = stash[--nstash];
			return j;
		}
	for (;;) {
		json_object *j = tconn_recv_json(t, hx_timeout_ms);
		ck_assert_msg(j != NULL, "no reply with id %s (errno %d %s)", id, errno, strerror(errno));
		hx_hold(j);
		if (id_is(j, id))
			return j;
		ck_assert_msg(nstash < sizeof(stash) / sizeof(stash[0]), "too many stray replies");
		stash[nstash].t = t;
		stash[nstash++].j = j;
	}
}

json_object *hx_rpcv(struct tconn *t, const char *method, const char *pfmt, va_list ap)
{
	const char *id = hx_fmt("%llu", ++next_id);
	char *params = NULL;

	if (pfmt)
		ck_assert_int_ge(vasprintf(&params, pfmt, ap), 0);
	hx_send(t, id, method, params ? hx_hold_mem(params) : NULL);
	return hx_await(t, id);
}

json_object *hx_rpc(struct tconn *t, const char *method, const char *pfmt, ...)
{
	va_list ap;
	json_object *j;

	va_start(ap, pfmt);
	j = hx_rpcv(t, method, pfmt, ap);
	va_end(ap);
	return j;
}

json_object *hx_expect_ok(json_object *reply, const char *what)
{
	json_object *res = jpath(reply, "result");

	ck_assert_msg(res != NULL && reply_error_code(reply) == 0, "%.300s: want a result, got %.600s", what,
	              json_object_to_json_string(reply));
	return res;
}

json_object *hx_expect_err(json_object *reply, int code, const char *what)
{
	json_object *e = jpath(reply, "error");

	ck_assert_msg(e != NULL && reply_error_code(reply) == code, "%.300s: want error %d, got %.600s", what,
	              code, json_object_to_json_string(reply));
	ck_assert_msg(jpath_str(reply, "error.message") != NULL, "%.300s: error without a message", what);
	return e;
}

/* Whether name is one of the '|'-separated names. */
static bool one_of(const char *name, const char *names)
{
	size_t n = strlen(name);

	for (const char *p = names; p; p = strchr(p, '|'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return true;
	return false;
}

json_object *hx_expect_os(json_object *reply, const char *names, const char *what)
{
	json_object *e = hx_expect_err(reply, -32000, what);
	const char *got = jpath_str(e, "data.name");

	ck_assert_msg(got && one_of(got, names), "%.300s: want %s, got %.600s", what, names,
	              json_object_to_json_string(reply));
	ck_assert_msg(jpath_int(e, "data.errno", 0) > 0, "%.300s: an OS error without its errno: %.600s", what,
	              json_object_to_json_string(reply));
	return e;
}

/* What a failure message calls the request. */
static const char *what_of(const char *method, const char *pfmt, va_list ap)
{
	char *params = NULL;

	if (!pfmt)
		return method;
	ck_assert_int_ge(vasprintf(&params, pfmt, ap), 0);
	hx_hold_mem(params);
	return hx_fmt("%s %.300s", method, params);
}

#define HX_CALL(reply, what, t, method, pfmt)                                                             \
	do {                                                                                              \
		va_list ap, aq;                                                                           \
		va_start(ap, pfmt);                                                                       \
		va_copy(aq, ap);                                                                          \
		reply = hx_rpcv(t, method, pfmt, ap);                                                     \
		what = what_of(method, pfmt, aq);                                                         \
		va_end(aq);                                                                               \
		va_end(ap);                                                                               \
	} while (0)

json_object *hx_ok(struct tconn *t, const char *method, const char *pfmt, ...)
{
	json_object *j;
	const char *what;

	HX_CALL(j, what, t, method, pfmt);
	return hx_expect_ok(j, what);
}

json_object *hx_err(struct tconn *t, int code, const char *method, const char *pfmt, ...)
{
	json_object *j;
	const char *what;

	HX_CALL(j, what, t, method, pfmt);
	return hx_expect_err(j, code, what);
}

json_object *hx_err_data(struct tconn *t, int code, const char *method, const char *pfmt, ...)
{
	json_object *j, *d;
	const char *what;

	HX_CALL(j, what, t, method, pfmt);
	d = jpath(hx_expect_err(j, code, what), "data");
	return d ? d : hx_hold(json_object_new_object());
}

json_object *hx_os_err(struct tconn *t, const char *names, const char *method, const char *pfmt, ...)
{
	json_object *j;
	const char *what;

	HX_CALL(j, what, t, method, pfmt);
	return hx_expect_os(j, names, what);
}

json_object *hx_bad_param(struct tconn *t, const char *param, const char *method, const char *pfmt, ...)
{
	json_object *j, *e;
	const char *what, *got;

	HX_CALL(j, what, t, method, pfmt);
	e = hx_expect_err(j, -32602, what);
	got = jpath_str(e, "data.param");
	ck_assert_msg(got && strcmp(got, param) == 0, "%.300s: want data.param %s, got %.600s", what, param,
	              json_object_to_json_string(j));
	return e;
}

void hx_check_denial(json_object *data, const char *rule, const char *reason_has)
{
	const char *reason = jpath_str(data, "reason");

	ck_assert_msg(reason && *reason, "a denial without a reason: %s", json_object_to_json_string(data));
	if (rule)
		ck_assert_msg(jpath_str(data, "rule") && strcmp(jpath_str(data, "rule"), rule) == 0,
		              "want rule \"%s\": %s", rule, json_object_to_json_string(data));
	else
		ck_assert_msg(jpath(data, "rule") == NULL, "no rule decided, yet data.rule is set: %s",
		              json_object_to_json_string(data));
	if (reason_has)
		ck_assert_msg(strstr(reason, reason_has), "reason \"%s\" does not mention \"%s\"", reason, reason_has);
}

json_object *hx_denied(struct tconn *t, const char *rule, const char *reason_has, const char *method,
                       const char *pfmt, ...)
{
	json_object *j, *d;
	const char *what;

	HX_CALL(j, what, t, method, pfmt);
	d = jpath(hx_expect_err(j, -32010, what), "data");
	ck_assert_msg(d != NULL, "%.300s: a denial without data: %s", what, json_object_to_json_string(j));
	hx_check_denial(d, rule, reason_has);
	return d;
}

long long hx_geti(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);

	ck_assert_msg(v && json_object_is_type(v, json_type_int), "want an integer at %s in %.600s", path,
	              json_object_to_json_string(o));
	return json_object_get_int64(v);
}

const char *hx_gets(json_object *o, const char *path)
{
	const char *s = jpath_str(o, path);

	ck_assert_msg(s != NULL, "want a string at %s in %.600s", path, json_object_to_json_string(o));
	return s;
}

double hx_getd(json_object *o, const char *path)
{
	json_object *v = jpath(o, path);

	ck_assert_msg(v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)),
	              "want a number at %s in %.600s", path, json_object_to_json_string(o));
	return json_object_get_double(v);
}

void hx_expect_str(json_object *o, const char *path, const char *want)
{
	const char *s = hx_gets(o, path);

	ck_assert_msg(strcmp(s, want) == 0, "%s: want \"%s\", got \"%s\" in %.600s", path, want, s,
	              json_object_to_json_string(o));
}

void hx_ping(struct tconn *t)
{
	json_object *r = hx_ok(t, "daemon.ping", "{}");

	ck_assert(json_object_get_boolean(jpath(r, "pong")));
}

/* ---- the standard fixture ---- */

struct sbd hx_d;
struct tconn hx_c;

void hx_setup(void)
{
	hx_start(&hx_d, NULL);
	hx_open_conn(&hx_c, &hx_d);
}

void hx_teardown(void)
{
	tconn_close(&hx_c);
	hx_release_all();
	hx_stop(&hx_d);
}

TCase *hx_tcase(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 60);
	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

int hx_fd_mark(void)
{
	int n;

	hx_ping(&hx_c);
	n = sbd_fd_count(&hx_d);
	ck_assert_int_gt(n, 0);
	return n;
}

/* Closes of other clients are processed in the loop's order: round trips on
 * hx_c bound the wait. */
void hx_fd_back(int base)
{
	int n = -1;

	for (int i = 0; i < 200; i++) {
		hx_ping(&hx_c);
		n = sbd_fd_count(&hx_d);
		if (n == base)
			break;
	}
	ck_assert_msg(n == base, "the daemon has %d descriptors, want %d", n, base);
}

void hx_open_conn(struct tconn *t, const struct sbd *d)
{
	int r = tconn_open(t, d->sock);

	ck_assert_msg(r == 0, "connect: %s", strerror(-r));
}

/* Sends line and returns the reply; fails the test when none comes. */
json_object *hx_call(struct tconn *t, const char *line)
{
	json_object *j = tconn_call(t, line, hx_timeout_ms);

	ck_assert_msg(j != NULL, "no reply to %.200s (errno %d %s)", line, errno, strerror(errno));
	return j;
}

json_object *hx_recv_json(struct tconn *t)
{
	json_object *j = tconn_recv_json(t, hx_timeout_ms);

	ck_assert_msg(j != NULL, "no reply (errno %d %s)", errno, strerror(errno));
	return j;
}

json_object *hx_requestv(struct tconn *t, const char *method, const char *pfmt, va_list ap)
{
	char *params = NULL, *line = NULL;
	long long id = (long long)++next_id;
	json_object *j;

	if (pfmt)
		ck_assert_int_ge(vasprintf(&params, pfmt, ap), 0);
	ck_assert_int_ge(asprintf(&line, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"%s%s,\"id\":%lld}", method,
	                          params ? ",\"params\":" : "", params ? params : "", id),
	                 0);
	free(params);
	j = hx_call(t, line);
	ck_assert_msg(jpath_int(j, "id", -1) == id, "reply to %s has the wrong id: %s", line,
	              json_object_to_json_string(j));
	free(line);
	return j;
}

json_object *hx_request(struct tconn *t, const char *method, const char *pfmt, ...)
{
	va_list ap;
	json_object *j;

	va_start(ap, pfmt);
	j = hx_requestv(t, method, pfmt, ap);
	va_end(ap);
	return j;
}

/* The reply is an error with code and an id equal to want_id (NULL: id null). */
void hx_check_error(json_object *j, int code, const char *want_id)
{
	json_object *id;

	ck_assert_msg(reply_error_code(j) == code, "want error %d, got %s", code,
	              json_object_to_json_string(j));
	ck_assert_str_eq(jpath_str(j, "jsonrpc"), "2.0");
	ck_assert_ptr_nonnull(jpath_str(j, "error.message"));
	ck_assert_msg(json_object_object_get_ex(j, "id", &id), "no id member: %s",
	              json_object_to_json_string(j));
	if (!want_id) {
		ck_assert_msg(id == NULL, "want id null: %s", json_object_to_json_string(j));
	} else {
		json_object *w = json_tokener_parse(want_id);
		ck_assert_msg(json_object_equal(id, w), "want id %s: %s", want_id,
		              json_object_to_json_string(j));
		json_object_put(w);
	}
}

void hx_expect_error(struct tconn *t, const char *line, int code, const char *want_id)
{
	json_object *j = hx_call(t, line);

	hx_check_error(j, code, want_id);
	json_object_put(j);
}

/* daemon.info works on t (the connection is healthy). */
void hx_info_ok(struct tconn *t)
{
	json_object *j = hx_call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"ok\"}");

	ck_assert_msg(jpath_int(j, "result.protocol", 0) == 1, "daemon.info: %s",
	              json_object_to_json_string(j));
	ck_assert_str_eq(jpath_str(j, "id"), "ok");
	json_object_put(j);
}

/* Descriptors the daemon spends on one client: the socket, plus the pidfd
 * where the kernel gives one. */
int hx_conn_cost(struct tconn *t)
{
	json_object *j = hx_call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":0}");
	json_object *p = jpath(j, "result.pidfd");
	int cost;

	ck_assert_ptr_nonnull(p);
	cost = json_object_get_boolean(p) ? 2 : 1;
	json_object_put(j);
	return cost;
}

/* The daemon's descriptors with no client at all; measured through a
 * client's round trip so that start-up is certainly over. */
int hx_baseline_fds(const struct sbd *d)
{
	struct tconn t;
	int n, cost;

	hx_open_conn(&t, d);
	cost = hx_conn_cost(&t);
	n = sbd_fd_count(d);
	ck_assert_int_gt(n, 0);
	tconn_close(&t);
	return n - cost;
}

/* A fresh client is served, and once the daemon has processed every close
 * the descriptor count is back to baseline (plus the fresh client). Bounded
 * by round trips, never by sleeping. */
void hx_check_recovered(const struct sbd *d, int baseline)
{
	struct tconn t;
	int cost, n = -1;

	hx_open_conn(&t, d);
	hx_info_ok(&t);
	cost = hx_conn_cost(&t);
	for (int i = 0; i < 200; i++) {
		n = sbd_fd_count(d);
		if (n == baseline + cost)
			break;
		hx_info_ok(&t);
	}
	ck_assert_msg(n == baseline + cost, "daemon has %d descriptors, want %d", n, baseline + cost);
	tconn_close(&t);
}

void hx_wait_connections(struct tconn *t, long long n)
{
	long long got = -1;

	for (int i = 0; i < 200 && got != n; i++) {
		json_object *j = hx_call(t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":\"n\"}");
		got = jpath_int(j, "result.connections", -1);
		json_object_put(j);
	}
	ck_assert_msg(got == n, "the daemon counts %lld connections, want %lld", got, n);
}

void hx_expect_refused(const struct sbd *d, const char *limit, long long max)
{
	struct tconn t;
	json_object *j;

	hx_open_conn(&t, d);
	j = hx_recv_json(&t);
	hx_check_error(j, -32012, NULL);
	ck_assert_str_eq(jpath_str(j, "error.data.limit"), limit);
	ck_assert_int_eq(jpath_int(j, "error.data.max", -1), max);
	json_object_put(j);
	ck_assert_msg(tconn_wait_eof(&t, hx_timeout_ms), "a refused connection was not closed");
	tconn_close(&t);
}


void hx_child_fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (hx_child_report_fd >= 0 && write(hx_child_report_fd, buf, (size_t)n) < 0) {
		/* the test sees the exit status */
	}
	_exit(1);
}

void hx_child_open(struct tconn *t, const struct sbd *d)
{
	int r = tconn_open(t, d->sock);

	if (r < 0)
		hx_child_fail("uid %u: cannot connect to the daemon: %s", (unsigned)getuid(), strerror(-r));
}

json_object *hx_child_call(struct tconn *t, int code, const char *method, const char *pfmt, ...)
{
	char *params = NULL, *line = NULL;
	long long id = (long long)++next_id;
	json_object *j;
	va_list ap;
	int n = 0;

	if (pfmt) {
		va_start(ap, pfmt);
		n = vasprintf(&params, pfmt, ap);
		va_end(ap);
	}
	if (n < 0 || asprintf(&line, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"%s%s,\"id\":%lld}", method,
	                      params ? ",\"params\":" : "", params ? params : "", id) < 0)
		hx_child_fail("uid %u: %s: out of memory", (unsigned)getuid(), method);
	free(params);
	hx_hold_mem(line);
	j = hx_hold(tconn_call(t, line, hx_timeout_ms));
	if (!j)
		hx_child_fail("uid %u: no reply to %.300s (errno %d %s)", (unsigned)getuid(), line, errno,
		              strerror(errno));
	if (jpath_int(j, "id", -1) != id)
		hx_child_fail("uid %u: the reply to %.300s has another id: %.600s", (unsigned)getuid(), line,
		              json_object_to_json_string(j));
	if (code == 0 && (reply_error_code(j) != 0 || !jpath(j, "result")))
		hx_child_fail("uid %u: %.300s: want a result, got %.600s", (unsigned)getuid(), line,
		              json_object_to_json_string(j));
	if (code != 0 && (reply_error_code(j) != code || !jpath_str(j, "error.message")))
		hx_child_fail("uid %u: %.300s: want error %d with a message, got %.600s", (unsigned)getuid(), line,
		              code, json_object_to_json_string(j));
	return j;
}

int hx_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed, p[2];

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0)
		hx_dirlog_fd = p[1];
	srunner_run_all(sr, CK_NORMAL);
	if (hx_dirlog_fd >= 0) {
		close(hx_dirlog_fd);
		hx_dirlog_fd = -1;
		hx_sweep_dirs(p[0]);
		close(p[0]);
	}
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
