/* Integration: the JSON-RPC 2.0 specification's examples against the real
 * daemon (adapted to its methods; positional params get -32602 here), the
 * introspection methods, and the daemon's start/stop behaviour. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Sends text and expects exactly `want` (compared as JSON) as the next line. */
static void expect_reply(const char *text, const char *want)
{
	json_object *got, *exp = json_tokener_parse(want);

	ck_assert_ptr_nonnull(exp);
	ck_assert_int_eq(tconn_send(&hx_c, text), 0);
	got = tconn_recv_json(&hx_c, hx_timeout_ms);
	ck_assert_msg(got != NULL, "no reply to %s (errno %d)", text, errno);
	/* Messages are sentences for people; compare everything but them. */
	if (json_object_is_type(got, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(got); i++) {
			json_object *e;
			if (json_object_object_get_ex(json_object_array_get_idx(got, i), "error", &e))
				json_object_object_del(e, "message");
		}
	} else {
		json_object *e;
		if (json_object_object_get_ex(got, "error", &e))
			json_object_object_del(e, "message");
	}
	ck_assert_msg(json_object_equal(got, exp), "reply to %s\n  got  %s\n  want %s", text,
	              json_object_to_json_string(got), want);
	json_object_put(got);
	json_object_put(exp);
}

/* Proves that `text` got no reply: the next line is the marker's reply. */
static void expect_no_reply(const char *text)
{
	json_object *got;

	ck_assert_int_eq(tconn_send(&hx_c, text), 0);
	got = tconn_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"marker\"}", hx_timeout_ms);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(jpath_str(got, "id"), "marker");
	json_object_put(got);
}

START_TEST(spec_positional_params)
{
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": [42, 23], \"id\": 1}",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602},\"id\":1}");
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": \"daemon.ping\", \"params\": [0], \"id\": 2}",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602},\"id\":2}");
}
END_TEST

START_TEST(spec_named_params)
{
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": \"daemon.ping\", \"params\": {\"delay\": 0}, \"id\": 3}",
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"pong\":true},\"id\":3}");
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": \"daemon.ping\", \"params\": {}, \"id\": 4}",
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"pong\":true},\"id\":4}");
	/* The spec's own method does not exist here. */
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": {\"subtrahend\": 23, \"minuend\": 42}, \"id\": 3}",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"data\":{\"method\":\"subtract\"}},\"id\":3}");
}
END_TEST

/* daemon.ping's delay is bounded by --max-ping-delay (60 s by default). */
START_TEST(ping_delay_limit)
{
	expect_reply("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":60.5},\"id\":5}",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602},\"id\":5}");
	expect_reply("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":-1},\"id\":6}",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"data\":{\"param\":\"delay\"}},\"id\":6}");
	expect_reply("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.01},\"id\":7}",
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"pong\":true},\"id\":7}");
}
END_TEST

START_TEST(spec_notifications)
{
	expect_no_reply("{\"jsonrpc\": \"2.0\", \"method\": \"update\", \"params\": [1,2,3,4,5]}");
	expect_no_reply("{\"jsonrpc\": \"2.0\", \"method\": \"foobar\"}");
	expect_no_reply("{\"jsonrpc\": \"2.0\", \"method\": \"daemon.info\"}");
	expect_no_reply("{\"jsonrpc\": \"2.0\", \"method\": \"daemon.ping\", \"params\": {\"bogus\": 1}}");
}
END_TEST

START_TEST(spec_method_not_found)
{
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": \"foobar\", \"id\": \"1\"}",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"data\":{\"method\":\"foobar\"}},\"id\":\"1\"}");
}
END_TEST

START_TEST(spec_invalid_json)
{
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": \"foobar, \"params\": \"bar\", \"baz]",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700},\"id\":null}");
}
END_TEST

START_TEST(spec_invalid_request)
{
	expect_reply("{\"jsonrpc\": \"2.0\", \"method\": 1, \"params\": \"bar\"}",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600},\"id\":null}");
}
END_TEST

START_TEST(spec_batch_invalid_json)
{
	expect_reply("[\n"
	             "  {\"jsonrpc\": \"2.0\", \"method\": \"sum\", \"params\": [1,2,4], \"id\": \"1\"},\n"
	             "  {\"jsonrpc\": \"2.0\", \"method\"\n"
	             "]",
	             "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700},\"id\":null}");
}
END_TEST

START_TEST(spec_empty_batch)
{
	expect_reply("[]", "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600},\"id\":null}");
}
END_TEST

START_TEST(spec_invalid_batches)
{
	expect_reply("[1]", "[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600},\"id\":null}]");
	expect_reply("[1,2,3]", "[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600},\"id\":null},"
	                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600},\"id\":null},"
	                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600},\"id\":null}]");
}
END_TEST

START_TEST(spec_mixed_batch)
{
	json_object *got;

	/* The spec's example with this daemon's methods in place of sum and
	 * get_data; the others as written. */
	ck_assert_int_eq(tconn_send(&hx_c,
	    "[{\"jsonrpc\": \"2.0\", \"method\": \"daemon.ping\", \"params\": {}, \"id\": \"1\"},"
	    "{\"jsonrpc\": \"2.0\", \"method\": \"notify_hello\", \"params\": [7]},"
	    "{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": [42,23], \"id\": \"2\"},"
	    "{\"foo\": \"boo\"},"
	    "{\"jsonrpc\": \"2.0\", \"method\": \"foo.get\", \"params\": {\"name\": \"myself\"}, \"id\": \"5\"},"
	    "{\"jsonrpc\": \"2.0\", \"method\": \"daemon.info\", \"id\": \"9\"}]"), 0);
	got = tconn_recv_json(&hx_c, hx_timeout_ms);
	ck_assert_ptr_nonnull(got);
	ck_assert(json_object_is_type(got, json_type_array));
	ck_assert_int_eq(json_object_array_length(got), 5);
	ck_assert_str_eq(jpath_str(got, "0.id"), "1");
	ck_assert(jpath(got, "0.result.pong") != NULL);
	ck_assert_str_eq(jpath_str(got, "1.id"), "2");
	ck_assert_int_eq(jpath_int(got, "1.error.code", 0), -32602);
	ck_assert_ptr_null(jpath(got, "2.id"));
	ck_assert_int_eq(jpath_int(got, "2.error.code", 0), -32600);
	ck_assert_str_eq(jpath_str(got, "3.id"), "5");
	ck_assert_int_eq(jpath_int(got, "3.error.code", 0), -32601);
	ck_assert_str_eq(jpath_str(got, "4.id"), "9");
	ck_assert_int_eq(jpath_int(got, "4.result.protocol", 0), 1);
	json_object_put(got);
}
END_TEST

START_TEST(spec_batch_all_notifications)
{
	expect_no_reply("[{\"jsonrpc\": \"2.0\", \"method\": \"notify_sum\", \"params\": [1,2,4]},"
	                "{\"jsonrpc\": \"2.0\", \"method\": \"notify_hello\", \"params\": [7]}]");
}
END_TEST

START_TEST(ids_echo_exactly)
{
	expect_reply("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":null}",
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"pong\":true},\"id\":null}");
	expect_reply("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":\"\xc3\xa9t\xc3\xa9\"}",
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"pong\":true},\"id\":\"\xc3\xa9t\xc3\xa9\"}");
	expect_reply("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":18446744073709551615}",
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"pong\":true},\"id\":18446744073709551615}");
	expect_reply("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":-7}",
	             "{\"jsonrpc\":\"2.0\",\"result\":{\"pong\":true},\"id\":-7}");
}
END_TEST

START_TEST(info_and_whoami)
{
	json_object *r = tconn_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.info\",\"id\":1}", hx_timeout_ms);
	json_object *fams;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(jpath_int(r, "result.protocol", 0), 1);
	ck_assert_str_eq(jpath_str(r, "result.version"), PACKAGE_VERSION);
	ck_assert_int_eq(jpath_int(r, "result.pid", 0), hx_d.pid);
	ck_assert(jpath(r, "result.uptime") && json_object_get_double(jpath(r, "result.uptime")) >= 0);
	fams = jpath(r, "result.families");
	ck_assert(json_object_is_type(fams, json_type_array));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(fams, 0)), "AF_UNIX");
	ck_assert(json_object_is_type(jpath(r, "result.has_ipv6"), json_type_boolean));
	ck_assert_int_eq(jpath_int(r, "result.limits.message_bytes", 0), 1 << 20);
	ck_assert_int_eq(jpath_int(r, "result.limits.fds_per_message", 0), 16);
	json_object_put(r);

	r = tconn_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.whoami\",\"id\":2}", hx_timeout_ms);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(jpath_int(r, "result.uid", -1), getuid());
	ck_assert_int_eq(jpath_int(r, "result.gid", -1), getgid());
	ck_assert_int_eq(jpath_int(r, "result.pid", -1), getpid());
	ck_assert(json_object_is_type(jpath(r, "result.groups"), json_type_array));
	json_object_put(r);
}
END_TEST

START_TEST(discover_lists_the_table)
{
	json_object *r = tconn_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"rpc.discover\",\"id\":1}", hx_timeout_ms);
	json_object *methods;
	const char *want[] = { "rpc.discover", "daemon.info", "daemon.whoami", "daemon.ping" };
	size_t found = 0;

	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(jpath_str(r, "result.openrpc"), "1.2.6");
	methods = jpath(r, "result.methods");
	ck_assert(json_object_is_type(methods, json_type_array));
	for (size_t i = 0; i < json_object_array_length(methods); i++) {
		json_object *m = json_object_array_get_idx(methods, i);
		const char *name = jpath_str(m, "name");
		ck_assert_ptr_nonnull(name);
		ck_assert_ptr_nonnull(jpath_str(m, "summary"));
		ck_assert(json_object_is_type(jpath(m, "params"), json_type_array));
		ck_assert(json_object_is_type(jpath(m, "result.schema"), json_type_object));
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			found += strcmp(name, want[k]) == 0;
		if (strcmp(name, "daemon.ping") == 0) {
			ck_assert_str_eq(jpath_str(m, "params.0.name"), "delay");
			ck_assert_str_eq(jpath_str(m, "params.0.schema.type"), "number");
		}
	}
	ck_assert_int_eq(found, 4);
	json_object_put(r);
}
END_TEST

START_TEST(split_and_glued_writes)
{
	const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":77}\n";
	json_object *r;

	/* One byte at a time. */
	for (size_t i = 0; req[i]; i++)
		ck_assert_int_eq(tconn_write(&hx_c, req + i, 1), 0);
	r = tconn_recv_json(&hx_c, hx_timeout_ms);
	ck_assert_int_eq(jpath_int(r, "id", 0), 77);
	json_object_put(r);
	/* Two messages in one write, and a blank line and CRLF between. */
	{
		const char *two = "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1}\n\n"
		                  "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":2}\r\n";
		ck_assert_int_eq(tconn_write(&hx_c, two, strlen(two)), 0);
	}
	r = tconn_recv_json(&hx_c, hx_timeout_ms);
	ck_assert_int_eq(jpath_int(r, "id", 0), 1);
	json_object_put(r);
	r = tconn_recv_json(&hx_c, hx_timeout_ms);
	ck_assert_int_eq(jpath_int(r, "id", 0), 2);
	json_object_put(r);
}
END_TEST

START_TEST(half_close_still_answers)
{
	json_object *r;

	/* As socat does after its stdin ends: shut down writing, wait for replies. */
	ck_assert_int_eq(tconn_send(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"delay\":0.2},\"id\":5}"), 0);
	ck_assert_int_eq(shutdown(hx_c.fd, SHUT_WR), 0);
	r = tconn_recv_json(&hx_c, hx_timeout_ms);
	ck_assert_int_eq(jpath_int(r, "id", 0), 5);
	ck_assert(jpath(r, "result.pong") != NULL);
	json_object_put(r);
	ck_assert(tconn_wait_eof(&hx_c, hx_timeout_ms));
}
END_TEST

/* SIGHUP reloads the policy (the embedded default here) and the daemon serves on. */
START_TEST(sighup_is_harmless)
{
	json_object *r;

	kill(hx_d.pid, SIGHUP);
	/* systemd's reload protocol tells when the reload is over. */
	ck_assert_int_eq(sbd_wait_notify(&hx_d, "RELOADING=1", hx_timeout_ms), 0);
	ck_assert_int_eq(sbd_wait_notify(&hx_d, "READY=1", hx_timeout_ms), 0);
	r = tconn_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1}", hx_timeout_ms);
	ck_assert_ptr_nonnull(r);
	json_object_put(r);
	ck_assert(sbd_log_contains(&hx_d, "SIGHUP"));
	ck_assert(sbd_log_contains(&hx_d, "policy reloaded"));
}
END_TEST

/* ---- start and stop ---- */

static int run_daemon(const char *const *argv, int *status)
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return waitpid(pid, status, 0) == pid ? 0 : -1;
}

START_TEST(refuses_second_daemon)
{
	struct sbd d2;
	const char *sbd = sbd_path();
	const char *argv[] = { sbd, "--socket", hx_d.sock, NULL };
	int st;
	json_object *r;

	(void)d2;
	ck_assert_int_eq(run_daemon(argv, &st), 0);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	/* The first daemon still owns and serves its socket. */
	r = tconn_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1}", hx_timeout_ms);
	ck_assert_ptr_nonnull(r);
	json_object_put(r);
}
END_TEST

START_TEST(stale_socket_and_non_socket)
{
	char dir[] = "/tmp/sbstale.XXXXXX", path[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, st;
	const char *sbd = sbd_path();
	struct stat sb;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.sock", dir);
	/* A plain file at the path: refused, left alone. */
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	{
		const char *argv[] = { sbd, "--socket", path, "--version", NULL };
		ck_assert_int_eq(run_daemon(argv, &st), 0);
		ck_assert_int_eq(WEXITSTATUS(st), 0);
	}
	{
		const char *argv[] = { sbd, "--socket", path, "--idle-timeout", "1", NULL };
		pid_t pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 2);
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_int_eq(WEXITSTATUS(st), 1);
		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert(S_ISREG(sb.st_mode));
	}
	unlink(path);
	/* A socket nobody listens on: removed and replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	{
		struct sbd d;
		struct tconn t;
		json_object *r;
		const char *extra[] = { "--socket", path, "--socket-mode", "0640", NULL };
		/* The harness's --socket comes first; ours overrides it. */
		hx_start(&d, extra);
		ck_assert_int_eq(stat(path, &sb), 0);
		ck_assert(S_ISSOCK(sb.st_mode));
		ck_assert_int_eq(sb.st_mode & 07777, 0640);
		ck_assert_int_eq(tconn_open(&t, path), 0);
		r = tconn_call(&t, "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1}", hx_timeout_ms);
		ck_assert_ptr_nonnull(r);
		json_object_put(r);
		tconn_close(&t);
		hx_stop(&d);
		/* Removed on exit. */
		ck_assert_int_ne(stat(path, &sb), 0);
	}
	rmdir(dir);
}
END_TEST

START_TEST(socket_removed_on_exit)
{
	struct stat sb;
	char path[300];

	snprintf(path, sizeof(path), "%s", hx_d.sock);
	tconn_close(&hx_c);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sbd_kill_wait(&hx_d, SIGINT), 0);
	ck_assert_int_ne(stat(path, &sb), 0);
	/* teardown would stop it again */
	hx_start(&hx_d, NULL);
	hx_open_conn(&hx_c, &hx_d);
}
END_TEST

START_TEST(usage_errors)
{
	const char *sbd = sbd_path();
	const char *bad[][4] = {
		{ sbd, "--no-such-option", NULL },
		{ sbd, "--max-pending", "0", NULL },
		{ sbd, "--max-pending", "abc", NULL },
		{ sbd, "--socket-mode", "999", NULL },
		{ sbd, "--log-level", "loud", NULL },
		{ sbd, "extra-argument", NULL },
	};
	int st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(run_daemon(bad[i], &st), 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s %s", bad[i][1], bad[i][2] ? bad[i][2] : "");
	}
	{
		const char *argv[] = { sbd, "--help", NULL };
		ck_assert_int_eq(run_daemon(argv, &st), 0);
		ck_assert_int_eq(WEXITSTATUS(st), 0);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_basic");
	TCase *spec = tcase_create("jsonrpc-spec-examples");
	TCase *intro = tcase_create("introspection");
	TCase *life = tcase_create("lifecycle");

	tcase_add_checked_fixture(spec, hx_setup, hx_teardown);
	tcase_add_test(spec, spec_positional_params);
	tcase_add_test(spec, spec_named_params);
	tcase_add_test(spec, spec_notifications);
	tcase_add_test(spec, spec_method_not_found);
	tcase_add_test(spec, spec_invalid_json);
	tcase_add_test(spec, spec_invalid_request);
	tcase_add_test(spec, spec_batch_invalid_json);
	tcase_add_test(spec, spec_empty_batch);
	tcase_add_test(spec, spec_invalid_batches);
	tcase_add_test(spec, spec_mixed_batch);
	tcase_add_test(spec, spec_batch_all_notifications);
	tcase_add_test(spec, ids_echo_exactly);
	tcase_add_test(spec, ping_delay_limit);
	suite_add_tcase(s, spec);

	tcase_add_checked_fixture(intro, hx_setup, hx_teardown);
	tcase_add_test(intro, info_and_whoami);
	tcase_add_test(intro, discover_lists_the_table);
	tcase_add_test(intro, split_and_glued_writes);
	tcase_add_test(intro, half_close_still_answers);
	tcase_add_test(intro, sighup_is_harmless);
	suite_add_tcase(s, intro);

	tcase_add_checked_fixture(life, hx_setup, hx_teardown);
	tcase_add_test(life, refuses_second_daemon);
	tcase_add_test(life, stale_socket_and_non_socket);
	tcase_add_test(life, socket_removed_on_exit);
	tcase_add_test(life, usage_errors);
	suite_add_tcase(s, life);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
