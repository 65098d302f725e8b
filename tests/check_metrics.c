/* Unit tests of the Prometheus metrics (daemon/metrics.c) on a real server in
 * this process: server_init with a private policy, its control socket in a
 * temporary directory, a client that talks to it while the test turns the
 * loop. The rendered text is read back series by series: requests by method
 * and outcome through the real dispatch path, handles, a parked recv, relayed
 * bytes, policy counters (with a rule name that needs escaping), and, when
 * /usr/bin/promtool is there, `promtool check metrics` on it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>

#include "daemon/dispatch.h"
#include "daemon/metrics.h"
#include "daemon/rpc.h"
#include "daemon/server.h"
#include "proto/jsonrpc.h"
#include "unit.h"

#define PROMTOOL "/usr/bin/promtool"

/* The rule name: a double quote, a backslash and a newline to escape. */
#define RULE_JSON "m \\\"quoted\\\" \\\\ rule\\n2"
#define RULE_LABEL "m \\\"quoted\\\" \\\\ rule\\n2"

static char dir[256];
static struct server S;
static int cfd = -1;
static pid_t child;
static char rbuf[65536];
static size_t rlen;

static void write_policy(void)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/policy.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "{\"version\": 1, \"rules\": [\n"
	        " {\"name\": \"" RULE_JSON "\", \"match\": {\"uid\": %u},\n"
	        "  \"allow\": [{\"action\": \"create\", \"family\": \"AF_UNIX\"}],\n"
	        "  \"deny\": [{\"action\": \"create\", \"family\": \"AF_INET6\"}]}\n"
	        "]}\n",
	        (unsigned)geteuid());
	ck_assert_int_eq(fclose(f), 0);
}

/* Copies bytes both ways between a and b until either side ends: a child
 * process does it, so that the daemon's client is another process than the
 * daemon (it refuses connections from itself). */
static void relay(int a, int b)
{
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	char buf[65536];

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n, off = 0;
			if (!p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0)
				_exit(0);
			while (off < n) {
				ssize_t w = write(p[1 - i].fd, buf + off, (size_t)(n - off));
				if (w <= 0)
					_exit(1);
				off += w;
			}
		}
	}
}

/* A server like the daemon's, on <dir>/control.sock with <dir>/policy.json,
 * and a client connected (through a relaying child) and accepted. */
static void setup(void)
{
	struct sbd_config cfg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *path;
	int sv[2];

	snprintf(dir, sizeof(dir), "/tmp/check_metrics.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_policy();
	config_defaults(&cfg);
	ck_assert_int_ge(asprintf(&path, "%s/control.sock", dir), 0);
	free(cfg.socket_path);
	cfg.socket_path = path;
	cfg.socket_given = true;
	ck_assert_int_ge(asprintf(&cfg.policy_path, "%s/policy.json", dir), 0);
	ck_assert_int_eq(server_init(&S, &cfg, dispatch_message), 0);
	ck_assert_int_eq(server_listen(&S), 0);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", S.cfg.socket_path);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int d = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		close(sv[0]);
		if (d < 0 || connect(d, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(1);
		relay(sv[1], d);
	}
	close(sv[1]);
	cfd = sv[0];
	ck_assert_int_eq(fcntl(cfd, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 500 && S.nconns == 0; i++)
		ck_assert_int_ge(loop_run_once(S.loop, 10), 0);
	ck_assert_uint_eq(S.nconns, 1);
	rlen = 0;
}

static void teardown(void)
{
	if (cfd >= 0)
		close(cfd);
	cfd = -1;
	if (child > 0)
		waitpid(child, NULL, 0);
	child = 0;
	server_free(&S);
	rm_rf(dir);
}

static void send_line(const char *line)
{
	size_t n = strlen(line);

	ck_assert_int_eq(write(cfd, line, n), (ssize_t)n);
	ck_assert_int_eq(write(cfd, "\n", 1), 1);
}

/* The next reply line, turning the loop until it comes (5 s at most). */
static json_object *next_reply(void)
{
	for (int i = 0; i < 500; i++) {
		char *nl = memchr(rbuf, '\n', rlen);
		if (nl) {
			json_object *o;
			*nl = '\0';
			o = json_tokener_parse(rbuf);
			ck_assert_msg(o, "not JSON: %s", rbuf);
			rlen -= (size_t)(nl + 1 - rbuf);
			memmove(rbuf, nl + 1, rlen);
			return o;
		}
		ck_assert_int_ge(loop_run_once(S.loop, 10), 0);
		ssize_t n = read(cfd, rbuf + rlen, sizeof(rbuf) - 1 - rlen);
		if (n > 0)
			rlen += (size_t)n;
		else
			ck_assert_msg(n < 0 && errno == EAGAIN, "the server closed the connection");
	}
	ck_abort_msg("no reply within 5 s");
	return NULL;
}

/* Sends one request and returns its reply. */
static json_object *rpc(const char *line)
{
	send_line(line);
	return next_reply();
}

/* The reply's error code, 0 for a result. */
static int reply_code(json_object *r)
{
	json_object *e, *c;

	if (!json_object_object_get_ex(r, "error", &e))
		return 0;
	ck_assert(json_object_object_get_ex(e, "code", &c));
	return json_object_get_int(c);
}

static char *render(void)
{
	char *text;
	size_t len;

	ck_assert_int_eq(metrics_render(&S, &text, &len), 0);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert(len > 0 && text[len - 1] == '\n');
	return text;
}

/* The value of the sample whose series (name and labels as written) is
 * exactly series; -1 when there is none. */
static double value(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* Every family the docs promise has its HELP and TYPE lines. */
START_TEST(help_and_type_for_every_family)
{
	static const char *const families[][2] = {
		{ "sockbroker_requests_total", "counter" },
		{ "sockbroker_request_duration_seconds", "histogram" },
		{ "sockbroker_policy_decisions_total", "counter" },
		{ "sockbroker_policy_unmatched_decisions_total", "counter" },
		{ "sockbroker_policy_generation", "gauge" },
		{ "sockbroker_policy_reloads_total", "counter" },
		{ "sockbroker_policy_reload_failures_total", "counter" },
		{ "sockbroker_audit_write_failures_total", "counter" },
		{ "sockbroker_connections", "gauge" },
		{ "sockbroker_connections_max", "gauge" },
		{ "sockbroker_connections_accepted_total", "counter" },
		{ "sockbroker_connections_refused_total", "counter" },
		{ "sockbroker_slow_disconnects_total", "counter" },
		{ "sockbroker_oversize_messages_total", "counter" },
		{ "sockbroker_accept_pauses_total", "counter" },
		{ "sockbroker_handles", "gauge" },
		{ "sockbroker_pending_requests", "gauge" },
		{ "sockbroker_open_fds", "gauge" },
		{ "sockbroker_max_fds", "gauge" },
		{ "sockbroker_resolver_queue_depth", "gauge" },
		{ "sockbroker_resolver_queue_max", "gauge" },
		{ "sockbroker_resolver_workers", "gauge" },
		{ "sockbroker_resolver_workers_busy", "gauge" },
		{ "sockbroker_uptime_seconds", "gauge" },
		{ "sockbroker_start_time_seconds", "gauge" },
		{ "sockbroker_build_info", "gauge" },
		{ "sockbroker_relayed_bytes_total", "counter" },
		{ "sockbroker_http_responses_total", "counter" },
	};
	char *text = render();
	char line[200];

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(line, sizeof(line), "# TYPE %s %s", families[i][0], families[i][1]);
		ck_assert_msg(has_line(text, line), "no '%s' in:\n%s", line, text);
		snprintf(line, sizeof(line), "# HELP %s ", families[i][0]);
		ck_assert_msg(strstr(text, line), "no HELP for %s", families[i][0]);
	}
	ck_assert_double_eq(value(text, "sockbroker_connections"), 1);
	ck_assert_double_eq(value(text, "sockbroker_connections_accepted_total"), 1);
	ck_assert_double_eq(value(text, "sockbroker_connections_max"), S.cfg.max_connections);
	ck_assert_double_eq(value(text, "sockbroker_resolver_workers"), S.cfg.resolver_threads);
	ck_assert_double_eq(value(text, "sockbroker_resolver_queue_max"), S.cfg.max_resolver_queue);
	ck_assert_double_eq(value(text, "sockbroker_resolver_queue_depth"), 0);
	ck_assert_double_eq(value(text, "sockbroker_policy_generation"), 1);
	ck_assert(value(text, "sockbroker_open_fds") >= 3);
	ck_assert(value(text, "sockbroker_max_fds") >= value(text, "sockbroker_open_fds"));
	ck_assert(value(text, "sockbroker_uptime_seconds") >= 0);
	ck_assert(value(text, "sockbroker_start_time_seconds") > 1.6e9);
	ck_assert_double_eq(value(text, "sockbroker_build_info{version=\"" PACKAGE_VERSION "\",protocol=\"1\"}"), 1);
	/* Every method that may park has its pending series, at 0. */
	ck_assert_double_eq(value(text, "sockbroker_pending_requests{method=\"socket.recv\"}"), 0);
	ck_assert_double_eq(value(text, "sockbroker_pending_requests{method=\"daemon.info\"}"), -1);
	/* The rule's name, escaped; both verdicts at 0. */
	ck_assert_double_eq(value(text, "sockbroker_policy_decisions_total{rule=\"" RULE_LABEL "\",verdict=\"allow\"}"), 0);
	ck_assert_double_eq(value(text, "sockbroker_policy_decisions_total{rule=\"" RULE_LABEL "\",verdict=\"deny\"}"), 0);
	/* A histogram per method group, whose +Inf bucket is its count. */
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_bucket{group=\"socket\",le=\"+Inf\"}"), 0);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_count{group=\"unknown\"}"), 0);
	free(text);
}
END_TEST

/* Requests through the real dispatch path count by method and outcome, with
 * their latency; errors before a method is known count as "unknown". */
START_TEST(requests_by_method_and_outcome)
{
	json_object *r;
	char *text;

	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.info\"}");
	ck_assert_int_eq(reply_code(r), 0);
	json_object_put(r);
	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"daemon.info\"}");
	json_object_put(r);
	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"no.such\"}");
	ck_assert_int_eq(reply_code(r), JRPC_METHOD_NOT_FOUND);
	json_object_put(r);
	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":4,");
	ck_assert_int_eq(reply_code(r), JRPC_PARSE_ERROR);
	json_object_put(r);
	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"socket.create\",\"params\":{\"family\":\"AF_INET6\"}}");
	ck_assert_int_eq(reply_code(r), SB_ERR_DENIED);
	json_object_put(r);
	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"socket.close\",\"params\":{\"handle\":999}}");
	ck_assert_int_eq(reply_code(r), SB_ERR_NO_HANDLE);
	json_object_put(r);

	text = render();
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"daemon.info\",outcome=\"ok\"}"), 2);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"unknown\",outcome=\"invalid\"}"), 2);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.create\",outcome=\"denied\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.close\",outcome=\"no_handle\"}"), 1);
	/* Outcomes that did not happen have no series. */
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"daemon.info\",outcome=\"denied\"}"), -1);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_count{group=\"daemon\"}"), 2);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_bucket{group=\"daemon\",le=\"60\"}"), 2);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_count{group=\"unknown\"}"), 2);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_count{group=\"socket\"}"), 2);
	ck_assert(value(text, "sockbroker_request_duration_seconds_sum{group=\"daemon\"}") > 0);
	/* The denial is the rule's: it names AF_INET6 in deny. */
	ck_assert_double_eq(value(text, "sockbroker_policy_decisions_total{rule=\"" RULE_LABEL "\",verdict=\"deny\"}"), 1);
	free(text);
}
END_TEST

/* Handles by kind, a parked recv, and the bytes a send and the recv relay. */
START_TEST(handles_parked_and_bytes)
{
	json_object *r, *res, *h, *a = NULL, *b = NULL;
	int64_t h1, h2;
	char line[300], *text;

	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"socket.pair\",\"params\":{\"family\":\"AF_UNIX\"}}");
	ck_assert_msg(reply_code(r) == 0, "%s", json_object_to_json_string(r));
	ck_assert(json_object_object_get_ex(r, "result", &res));
	ck_assert(json_object_object_get_ex(res, "handles", &h));
	h1 = json_object_get_int64(json_object_array_get_idx(h, 0));
	h2 = json_object_get_int64(json_object_array_get_idx(h, 1));
	json_object_put(r);

	text = render();
	ck_assert_double_eq(value(text, "sockbroker_handles{family=\"AF_UNIX\",type=\"SOCK_STREAM\"}"), 2);
	ck_assert_double_eq(value(text, "sockbroker_policy_decisions_total{rule=\"" RULE_LABEL "\",verdict=\"allow\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_relayed_bytes_total{direction=\"sent\"}"), 0);
	free(text);

	/* A blocking recv on an empty socket parks. */
	snprintf(line, sizeof(line),
	         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"socket.recv\",\"params\":{\"handle\":%lld,\"bufsize\":100}}",
	         (long long)h2);
	send_line(line);
	for (int i = 0; i < 500 && (!S.conns || !S.conns->calls); i++)
		ck_assert_int_ge(loop_run_once(S.loop, 10), 0);
	text = render();
	ck_assert_double_eq(value(text, "sockbroker_pending_requests{method=\"socket.recv\"}"), 1);
	free(text);

	/* "hello": 5 bytes sent, and the parked recv gets them. */
	snprintf(line, sizeof(line),
	         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"socket.send\",\"params\":{\"handle\":%lld,\"data\":\"aGVsbG8=\"}}",
	         (long long)h1);
	send_line(line);
	for (int i = 0; i < 2; i++) {
		json_object *id;
		r = next_reply();
		ck_assert_msg(reply_code(r) == 0, "%s", json_object_to_json_string(r));
		ck_assert(json_object_object_get_ex(r, "id", &id));
		if (json_object_get_int(id) == 2)
			a = r;
		else
			b = r;
	}
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	json_object_put(a);
	json_object_put(b);
	text = render();
	ck_assert_double_eq(value(text, "sockbroker_relayed_bytes_total{direction=\"sent\"}"), 5);
	ck_assert_double_eq(value(text, "sockbroker_relayed_bytes_total{direction=\"received\"}"), 5);
	ck_assert_double_eq(value(text, "sockbroker_pending_requests{method=\"socket.recv\"}"), 0);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.recv\",outcome=\"ok\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.send\",outcome=\"ok\"}"), 1);
	free(text);

	/* Closed handles leave the gauge. */
	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"socket.close\",\"params\":{\"handle\":%lld}}",
	         (long long)h1);
	json_object_put(rpc(line));
	text = render();
	ck_assert_double_eq(value(text, "sockbroker_handles{family=\"AF_UNIX\",type=\"SOCK_STREAM\"}"), 1);
	free(text);
}
END_TEST

/* The counters the API moves directly (http.c's responses, say). */
START_TEST(api_counters_move)
{
	const struct rpc_method *send = rpc_lookup("socket.send");
	char *text;

	metrics_http_response(S.metrics, 200);
	metrics_http_response(S.metrics, 200);
	metrics_http_response(S.metrics, 404);
	metrics_http_response(S.metrics, 600);      /* not a status: not counted */
	metrics_http_response(S.metrics, 99);
	metrics_bytes(S.metrics, true, 1000);
	metrics_bytes(S.metrics, false, 7);
	metrics_call_end(S.metrics, send, SB_ERR_TIMEOUT, 3000000000ull);   /* 3 s */
	metrics_call_end(S.metrics, send, 0, 50000ull);                     /* 50 us */
	metrics_call_end(S.metrics, NULL, SB_ERR_LIMIT, 0);
	metrics_call_end(S.metrics, send, METRICS_CODE_GONE, 0);
	metrics_call_end(S.metrics, send, -32099, 0);
	metrics_call_end(NULL, send, 0, 0);                                 /* no metrics: nothing */

	text = render();
	ck_assert_double_eq(value(text, "sockbroker_http_responses_total{code=\"200\"}"), 2);
	ck_assert_double_eq(value(text, "sockbroker_http_responses_total{code=\"404\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_http_responses_total{code=\"600\"}"), -1);
	ck_assert_double_eq(value(text, "sockbroker_relayed_bytes_total{direction=\"sent\"}"), 1000);
	ck_assert_double_eq(value(text, "sockbroker_relayed_bytes_total{direction=\"received\"}"), 7);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.send\",outcome=\"timeout\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.send\",outcome=\"ok\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.send\",outcome=\"cancelled\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"socket.send\",outcome=\"other\"}"), 1);
	ck_assert_double_eq(value(text, "sockbroker_requests_total{method=\"unknown\",outcome=\"limit\"}"), 1);
	/* Buckets are cumulative: 50 us is in every one, 3 s from le="5" on. */
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_bucket{group=\"socket\",le=\"0.0001\"}"), 3);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_bucket{group=\"socket\",le=\"2.5\"}"), 3);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_bucket{group=\"socket\",le=\"5\"}"), 4);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_bucket{group=\"socket\",le=\"+Inf\"}"), 4);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_count{group=\"socket\"}"), 4);
	ck_assert_double_eq(value(text, "sockbroker_request_duration_seconds_sum{group=\"socket\"}"), 3.00005);
	free(text);
}
END_TEST

/* The method index the counters use is the table's own. */
START_TEST(method_index_matches_table)
{
	size_t n = rpc_method_count();

	ck_assert_uint_gt(n, 10);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(rpc_method_index(rpc_method_at(i)), i);
	ck_assert_uint_eq(rpc_method_index(NULL), n);
	ck_assert_str_eq(metrics_outcome_name(SB_ERR_GAI), "resolver");
	ck_assert_str_eq(metrics_outcome_name(SB_ERR_HOST), "resolver");
	ck_assert_str_eq(metrics_outcome_name(JRPC_INVALID_PARAMS), "invalid");
	ck_assert_str_eq(metrics_outcome_name(SB_ERR_OS), "os_error");
	ck_assert_str_eq(metrics_outcome_name(JRPC_INTERNAL_ERROR), "other");
}
END_TEST

/* promtool's own check (format and lint) passes on a busy server's text. */
START_TEST(promtool_accepts_the_text)
{
	const char *ci = getenv("CI");
	char path[300], cmd[700], *text;
	json_object *r;
	FILE *f;
	int st;

	if (access(PROMTOOL, X_OK) != 0) {
		ck_assert_msg(!(ci && !strcmp(ci, "true")), PROMTOOL " is missing, and CI=true requires it "
		              "(Debian package prometheus)");
		printf("check_metrics: skipped the promtool check: " PROMTOOL " is missing (Debian package prometheus)\n");
		return;
	}
	r = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"socket.pair\"}");
	json_object_put(r);
	json_object_put(rpc("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"bad\"}"));
	metrics_http_response(S.metrics, 200);
	metrics_http_response(S.metrics, 401);
	text = render();
	snprintf(path, sizeof(path), "%s/metrics.txt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < '%s' > '%s/promtool.out' 2>&1", path, dir);
	st = system(cmd);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		snprintf(cmd, sizeof(cmd), "cat '%s/promtool.out'", dir);
		ck_assert_int_ne(system(cmd), -1);
		ck_abort_msg("promtool check metrics failed (status %d) on:\n%s", st, text);
	}
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, help_and_type_for_every_family);
	tcase_add_test(tc, requests_by_method_and_outcome);
	tcase_add_test(tc, handles_parked_and_bytes);
	tcase_add_test(tc, api_counters_move);
	tcase_add_test(tc, method_index_matches_table);
	tcase_add_test(tc, promtool_accepts_the_text);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
