/* Hostile (issue 10, item 3): a NUL inside a wire string must not cut it
 * short where the daemon uses it as a C string. "admin.stats\u0000junk" ran
 * admin.stats, "localhost\u0000x" was judged as localhost, "2.0\u0000x" was
 * JSON-RPC 2.0 and a member named "method\u0000x" was the method. Each is
 * refused now: a method that cannot exist (-32601), a parameter named in
 * -32602, an invalid request, or a parse error for member names. The daemon
 * runs as root under the embedded default (root may do anything), so only
 * the NUL can be the reason of a refusal. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness.h"

static long long handle_tcp, handle_udp;

static void setup(void)
{
	json_object *j;

	/* The standard fixture: its daemon has an empty private policy. */
	hx_setup();
	j = hx_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"socket.create\","
	                "\"params\":{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\"}}");
	handle_tcp = jpath_int(j, "result.handle", -1);
	json_object_put(j);
	j = hx_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"socket.create\","
	                "\"params\":{\"family\":\"AF_INET\",\"type\":\"SOCK_DGRAM\"}}");
	handle_udp = jpath_int(j, "result.handle", -1);
	json_object_put(j);
	ck_assert_int_gt(handle_tcp, 0);
	ck_assert_int_gt(handle_udp, 0);
}

/* The reply to line is error code with param (NULL: no param check) and a
 * message that says NUL. */
static void expect_nul_error(const char *line, int code, const char *param)
{
	json_object *j = hx_hold(hx_call(&hx_c, line));

	hx_check_error(j, code, "7");
	if (param)
		ck_assert_msg(jpath_str(j, "error.data.param") && strcmp(jpath_str(j, "error.data.param"), param) == 0,
		              "want param %s: %s", param, json_object_to_json_string(j));
	ck_assert_msg(strstr(jpath_str(j, "error.message"), "NUL"), "the message does not say NUL: %s",
	              json_object_to_json_string(j));
}

static const char *req(const char *method, const char *params)
{
	return hx_fmt("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\",\"params\":%s}", method, params);
}

START_TEST(method_with_nul)
{
	json_object *j;

	/* Not admin.stats: no method holds a NUL. */
	expect_nul_error(req("admin.stats\\u0000junk", "{}"), -32601, NULL);
	expect_nul_error(req("daemon.ping\\u0000", "{}"), -32601, NULL);
	/* As a notification: no reply at all (the next reply is the ping's). */
	ck_assert_int_eq(tconn_send(&hx_c, "{\"jsonrpc\":\"2.0\",\"method\":\"admin.close_client\\u0000\","
	                                "\"params\":{\"connection\":1}}"), 0);
	j = hx_hold(hx_call(&hx_c, "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"method\":\"daemon.ping\"}"));
	ck_assert_str_eq(jpath_str(j, "id"), "after");
	/* In a batch, only that element. */
	j = hx_hold(hx_call(&hx_c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"admin.stats\\u0000\"},"
	                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"daemon.ping\"}]"));
	ck_assert_int_eq(json_object_array_length(j), 2);
	hx_check_error(json_object_array_get_idx(j, 0), -32601, "1");
	ck_assert_int_eq(reply_error_code(json_object_array_get_idx(j, 1)), 0);
}
END_TEST

START_TEST(envelope_with_nul)
{
	/* "2.0\u0000x" is not "2.0". */
	hx_expect_error(&hx_c, "{\"jsonrpc\":\"2.0\\u0000x\",\"id\":7,\"method\":\"daemon.ping\"}", -32600, "7");
	/* json-c cuts member names at a NUL: "method\u0000x" would be the method. */
	hx_expect_error(&hx_c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\\u0000x\":\"daemon.ping\"}", -32700, NULL);
	hx_expect_error(&hx_c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"daemon.ping\",\"params\":{\"delay\\u0000x\":0}}",
	                -32700, NULL);
	/* An escaped backslash before "u0000" is no NUL: an unknown parameter. */
	hx_expect_error(&hx_c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"daemon.ping\",\"params\":{\"a\\\\u0000\":0}}",
	                -32602, "7");
	/* A string id with a NUL is echoed whole. */
	{
		char *line;
		ck_assert_int_eq(tconn_send(&hx_c, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"daemon.ping\"}"), 0);
		line = hx_hold_mem(tconn_recv_line(&hx_c, hx_timeout_ms));
		ck_assert_msg(strstr(line, "\"id\":\"a\\u0000b\""), "id not echoed whole: %s", line);
	}
}
END_TEST

START_TEST(host_with_nul)
{
	/* policy.check judged "localhost\u0000x" as localhost. */
	expect_nul_error(req("policy.check", "{\"as\":{\"uid\":0},\"request\":{\"method\":\"socket.connect_to\","
	                                     "\"params\":{\"address\":[\"localhost\\u0000x\",1]}}}"),
	                 -32602, "request.params.address");
	expect_nul_error(req("policy.check", "{\"as\":{\"uid\":0},\"request\":{\"method\":\"socket.connect_to\","
	                                     "\"params\":{\"address\":{\"host\":\"localhost\\u0000x\",\"port\":1}}}}"),
	                 -32602, "request.params.address");
	expect_nul_error(req("policy.check", "{\"as\":{\"uid\":0},\"request\":{\"method\":\"net.getaddrinfo\","
	                                     "\"params\":{\"host\":\"localhost\\u0000x\",\"port\":1}}}"),
	                 -32602, "request.params.host");
	expect_nul_error(req("policy.check", "{\"as\":{\"uid\":0,\"groups\":[\"root\\u0000x\"]},"
	                                     "\"request\":{\"method\":\"daemon.ping\",\"params\":{}}}"),
	                 -32602, "as.groups[0]");
	/* The methods themselves. */
	expect_nul_error(req("net.getaddrinfo", "{\"host\":\"localhost\\u0000x\",\"port\":1}"), -32602, "host");
	expect_nul_error(req("net.gethostbyname", "{\"hostname\":\"localhost\\u0000x\"}"), -32602, "hostname");
	expect_nul_error(req("socket.connect", hx_fmt("{\"handle\":%lld,\"address\":[\"localhost\\u0000x\",1]}",
	                                              handle_tcp)),
	                 -32602, "address[0]");
	expect_nul_error(req("socket.sendto", hx_fmt("{\"handle\":%lld,\"data\":\"\",\"address\":[\"localhost\\u0000x\",9]}",
	                                             handle_udp)),
	                 -32602, "address[0]");
	expect_nul_error(req("socket.connect_to", "{\"address\":[\"localhost\\u0000x\",1]}"), -32602, "address");
}
END_TEST

START_TEST(option_string_with_nul)
{
	expect_nul_error(req("socket.setsockopt", hx_fmt("{\"handle\":%lld,\"level\":\"SOL_SOCKET\","
	                                                 "\"option\":\"SO_BINDTODEVICE\",\"value\":\"lo\\u0000x\"}",
	                                                 handle_tcp)),
	                 -32602, "value");
	expect_nul_error(req("socket.setsockopt", hx_fmt("{\"handle\":%lld,\"level\":\"IPPROTO_TCP\","
	                                                 "\"option\":\"TCP_CONGESTION\",\"value\":\"cubic\\u0000x\"}",
	                                                 handle_tcp)),
	                 -32602, "value");
	expect_nul_error(req("policy.check", "{\"as\":{\"uid\":0},\"request\":{\"method\":\"socket.setsockopt\","
	                                     "\"params\":{\"family\":\"AF_INET\",\"type\":\"SOCK_STREAM\","
	                                     "\"level\":\"SOL_SOCKET\",\"option\":\"SO_BINDTODEVICE\","
	                                     "\"value\":\"lo\\u0000x\"}}}"),
	                 -32602, "request.params.value");
	/* Addresses in typed option values. */
	hx_expect_error(&hx_c, req("socket.setsockopt", hx_fmt("{\"handle\":%lld,\"level\":\"IPPROTO_IP\","
	                                                    "\"option\":\"IP_ADD_MEMBERSHIP\","
	                                                    "\"value\":{\"multiaddr\":\"224.0.0.1\\u0000x\"}}",
	                                                    handle_udp)),
	                -32602, "7");
	hx_expect_error(&hx_c, req("socket.setsockopt", hx_fmt("{\"handle\":%lld,\"level\":\"IPPROTO_IP\","
	                                                    "\"option\":\"IP_MULTICAST_IF\",\"value\":\"127.0.0.1\\u0000x\"}",
	                                                    handle_udp)),
	                -32602, "7");
	/* Names of constants: "AF_INET\u0000x" is no name. */
	expect_nul_error(req("socket.create", "{\"family\":\"AF_INET\\u0000x\"}"), -32602, "family");
	expect_nul_error(req("socket.setsockopt", hx_fmt("{\"handle\":%lld,\"level\":\"SOL_SOCKET\\u0000x\","
	                                                 "\"option\":\"SO_REUSEADDR\",\"value\":1}",
	                                                 handle_tcp)),
	                 -32602, "level");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("h10_nul");
	TCase *t = tcase_create("nul");

	tcase_add_checked_fixture(t, setup, hx_teardown);
	tcase_add_test(t, method_with_nul);
	tcase_add_test(t, envelope_with_nul);
	tcase_add_test(t, host_with_nul);
	tcase_add_test(t, option_string_with_nul);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	harness_require_root("the embedded default lets root do anything");
	return hx_main(suite());
}
