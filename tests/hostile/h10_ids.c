/* Hostile (issue 10, item 4): every id is echoed byte for byte as sent.
 * json-c reads integers into 64 bits, so 123456789012345678901234567890
 * came back as 18446744073709551615, its negative as INT64_MIN and -0 as 0;
 * a client matching replies by text lost them. Unit checks on the envelope
 * code, then the real daemon: single requests, errors, batches with
 * notifications and invalid elements, duplicate and escaped "id" members. */
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
#include "jsonrpc.h"

static const char *const tokens[] = {
	"123456789012345678901234567890",
	"-123456789012345678901234567890",
	"18446744073709551616",             /* 2^64 */
	"18446744073709551615",             /* 2^64 - 1: exact already */
	"-9223372036854775809",             /* INT64_MIN - 1 */
	"-9223372036854775808",
	"9223372036854775807",
	"-0",
	"0",
	"1e400",
	"-1e400",
	"1.5e300",
	"1E+2",
	"-0.0",
	"12345678901234567890123456789012345678901234567890e-10",
};

/* The envelope: parse a request, build its reply, print it. */
static char *echo_of(const char *request)
{
	json_object *root = NULL, *resp;
	struct jrpc_request req;
	const char *why, *text;
	size_t len;
	char *out;

	ck_assert_int_eq(jrpc_parse(request, strlen(request), JRPC_MAX_DEPTH, &root, &why), 0);
	ck_assert_int_eq(jrpc_validate_request(root, &req, &why), 0);
	resp = jrpc_result_new(req.id, json_object_new_object());
	text = jrpc_to_string(resp, &len);
	out = strndup(text, len);
	json_object_put(resp);
	json_object_put(root);
	return out;
}

START_TEST(envelope_echoes_id_text)
{
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		char req[256], want[256], *got;

		snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":%s}", tokens[i]);
		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":%s}", tokens[i]);
		got = echo_of(req);
		ck_assert_msg(strcmp(got, want) == 0, "id %s: got %s", tokens[i], got);
		free(got);
	}
}
END_TEST

/* The last "id" member is the id (json-c's rule for duplicates), a member
 * name written with escapes is the same name, and an "id" deeper down
 * (in params) is not the request's. */
START_TEST(envelope_which_id)
{
	static const struct { const char *req, *id; } cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"id\":-123456789012345678901234567890}",
		  "-123456789012345678901234567890" },
		{ "{\"id\":-123456789012345678901234567890,\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":-0}", "-0" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"\\u0069\\u0064\":99999999999999999999}", "99999999999999999999" },
		{ "{\"jsonrpc\":\"2.0\",\"params\":{\"id\":7,\"x\":[{\"id\":8}]},\"method\":\"m\",\"id\":-0}", "-0" },
		{ "{\"jsonrpc\":\"2.0\",\"params\":{\"id\":1e999},\"method\":\"m\",\"id\":0}", "0" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\\\"id\\\"\",\"id\" : \t-77777777777777777777777 }",
		  "-77777777777777777777777" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[256], *got = echo_of(cases[i].req);

		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":%s}", cases[i].id);
		ck_assert_msg(strcmp(got, want) == 0, "%s: got %s", cases[i].req, got);
		free(got);
	}
}
END_TEST

/* ---- the real daemon ---- */

/* The standard fixture: its daemon has an empty private policy. */

static const char *raw_call(const char *line)
{
	char *r;

	ck_assert_int_eq(tconn_send(&hx_c, line), 0);
	r = tconn_recv_line(&hx_c, hx_timeout_ms);
	ck_assert_msg(r != NULL, "no reply to %s", line);
	return hx_hold_mem(r);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

START_TEST(daemon_echoes_every_id)
{
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		const char *tail = hx_fmt(",\"id\":%s}", tokens[i]);
		const char *r;

		/* A result... */
		r = raw_call(hx_fmt("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":%s}", tokens[i]));
		ck_assert_msg(strstr(r, "\"result\"") && ends_with(r, tail), "id %s: %s", tokens[i], r);
		/* ...an error of the method table, of the params, of the envelope. */
		r = raw_call(hx_fmt("{\"jsonrpc\":\"2.0\",\"method\":\"no.such\",\"id\":%s}", tokens[i]));
		ck_assert_msg(strstr(r, "-32601") && ends_with(r, tail), "id %s: %s", tokens[i], r);
		r = raw_call(hx_fmt("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"params\":{\"id\":1},\"id\":%s}",
		                    tokens[i]));
		ck_assert_msg(strstr(r, "-32602") && ends_with(r, tail), "id %s: %s", tokens[i], r);
		r = raw_call(hx_fmt("{\"jsonrpc\":\"1.0\",\"method\":\"daemon.ping\",\"id\":%s}", tokens[i]));
		ck_assert_msg(strstr(r, "-32600") && ends_with(r, tail), "id %s: %s", tokens[i], r);
	}
}
END_TEST

START_TEST(daemon_echoes_ids_in_batches)
{
	const char *r;
	json_object *j;
	const char *pos;

	/* Elements answered: 0, 2 (no method), 3 (not an object), 4 (invalid); 1 is
	 * a notification. Replies come in any order: look each id up as text. */
	r = raw_call("[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":123456789012345678901234567890},"
	             "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\"},"
	             "{\"jsonrpc\":\"2.0\",\"method\":\"no.such\",\"id\":-123456789012345678901234567890},"
	             "7,"
	             "{\"jsonrpc\":\"2.1\",\"method\":\"daemon.ping\",\"id\":-0},"
	             "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1e400},"
	             "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.ping\",\"id\":1,\"id\":18446744073709551616}]");
	j = hx_hold(json_tokener_parse(r));
	ck_assert_msg(json_object_is_type(j, json_type_array) && json_object_array_length(j) == 6, "%s", r);
	ck_assert_msg(strstr(r, "\"id\":123456789012345678901234567890}"), "%s", r);
	ck_assert_msg(strstr(r, "\"id\":-123456789012345678901234567890}"), "%s", r);
	ck_assert_msg(strstr(r, "\"id\":-0}"), "%s", r);
	ck_assert_msg(strstr(r, "\"id\":1e400}"), "%s", r);
	ck_assert_msg(strstr(r, "\"id\":18446744073709551616}"), "%s", r);
	ck_assert_msg(strstr(r, "\"id\":null}"), "%s", r);
	/* No id was rewritten into a 64-bit one. */
	pos = strstr(r, "18446744073709551615");
	ck_assert_msg(!pos, "a saturated id: %s", r);
	ck_assert_msg(!strstr(r, "9223372036854775808"), "a saturated id: %s", r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("h10_ids");
	TCase *u = tcase_create("envelope");
	TCase *t = tcase_create("daemon");

	tcase_add_test(u, envelope_echoes_id_text);
	tcase_add_test(u, envelope_which_id);
	suite_add_tcase(s, u);
	tcase_add_checked_fixture(t, hx_setup, hx_teardown);
	tcase_add_test(t, daemon_echoes_every_id);
	tcase_add_test(t, daemon_echoes_ids_in_batches);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
