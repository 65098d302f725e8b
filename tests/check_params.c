/* Unit tests of the typed parameter dispatcher (daemon/params.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "consts.h"
#include "daemon/params.h"

struct p {
	const char *name;
	int64_t port;
	bool pass;
	double delay;
	struct param_timeout timeout;
	int family;
	int flags;
	struct param_bytes data;
	json_object *address;
	json_object *list;
	json_object *any;
};

static const struct param_desc descs[] = {
	{ "name", PT_STRING, offsetof(struct p, name), 0 },
	{ "port", PT_INT, offsetof(struct p, port), 0, 0, 65535, 8080 },
	{ "pass", PT_BOOL, offsetof(struct p, pass), 0 },
	{ "delay", PT_NUMBER, offsetof(struct p, delay), PF_NONNEG },
	{ "timeout", PT_TIMEOUT, offsetof(struct p, timeout), 0 },
	{ "family", PT_CONST, offsetof(struct p, family), 0, .def = AF_INET, .kind = SBC_AF },
	{ "flags", PT_FLAGS, offsetof(struct p, flags), 0, .kind = SBC_MSG },
	{ "data", PT_BYTES, offsetof(struct p, data), 0 },
	{ "address", PT_OBJECT, offsetof(struct p, address), 0 },
	{ "list", PT_ARRAY, offsetof(struct p, list), 0 },
	{ "any", PT_ANY, offsetof(struct p, any), 0 },
	{ 0 }
};

static const struct param_desc required[] = {
	{ "handle", PT_INT, 0, PF_REQUIRED, 1, INT64_MAX },
	{ 0 }
};

static int parse(const char *text, struct p *out, struct param_error *err, json_object **root)
{
	static const char *const extra[] = { "fds", NULL };

	*root = text ? json_tokener_parse(text) : NULL;
	memset(out, 0, sizeof(*out));
	return params_parse(descs, *root, extra, out, err);
}

START_TEST(defaults_when_absent)
{
	struct p v;
	struct param_error err;
	json_object *root;

	ck_assert_int_eq(parse(NULL, &v, &err, &root), 0);
	ck_assert_ptr_null(v.name);
	ck_assert_int_eq(v.port, 8080);
	ck_assert(!v.pass);
	ck_assert(!v.timeout.given);
	ck_assert_int_eq(v.family, AF_INET);
	ck_assert(!v.data.given);
	ck_assert_int_eq(parse("{}", &v, &err, &root), 0);
	json_object_put(root);
}
END_TEST

START_TEST(every_type)
{
	struct p v;
	struct param_error err;
	json_object *root;

	ck_assert_int_eq(parse("{\"name\":\"x\",\"port\":80,\"pass\":true,\"delay\":1.5,\"timeout\":2,"
	                       "\"family\":\"AF_INET6\",\"flags\":[\"MSG_PEEK\",\"MSG_DONTWAIT\"],"
	                       "\"data\":\"aGVsbG8=\",\"address\":{\"host\":\"::1\"},\"list\":[1],\"any\":7,\"fds\":1}",
	                       &v, &err, &root), 0);
	ck_assert_str_eq(v.name, "x");
	ck_assert_int_eq(v.port, 80);
	ck_assert(v.pass);
	ck_assert(v.delay == 1.5);
	ck_assert(v.timeout.given && !v.timeout.block && v.timeout.seconds == 2.0);
	ck_assert_int_eq(v.family, AF_INET6);
	ck_assert_int_eq(v.flags, MSG_PEEK | MSG_DONTWAIT);
	ck_assert(v.data.given);
	ck_assert_int_eq(v.data.len, 5);
	ck_assert_mem_eq(v.data.buf, "hello", 5);
	ck_assert(json_object_is_type(v.address, json_type_object));
	ck_assert(json_object_is_type(v.list, json_type_array));
	ck_assert_int_eq(json_object_get_int(v.any), 7);
	params_free(descs, &v);
	ck_assert_ptr_null(v.data.buf);
	json_object_put(root);
}
END_TEST

START_TEST(timeout_null_blocks)
{
	struct p v;
	struct param_error err;
	json_object *root;

	ck_assert_int_eq(parse("{\"timeout\":null}", &v, &err, &root), 0);
	ck_assert(v.timeout.given && v.timeout.block);
	json_object_put(root);
	ck_assert_int_eq(parse("{\"timeout\":0}", &v, &err, &root), 0);
	ck_assert(v.timeout.given && !v.timeout.block && v.timeout.seconds == 0);
	json_object_put(root);
}
END_TEST

START_TEST(text_instead_of_data)
{
	struct p v;
	struct param_error err;
	json_object *root;

	ck_assert_int_eq(parse("{\"text\":\"h\xc3\xa9\"}", &v, &err, &root), 0);
	ck_assert_int_eq(v.data.len, 3);
	ck_assert_mem_eq(v.data.buf, "h\xc3\xa9", 3);
	params_free(descs, &v);
	json_object_put(root);
	ck_assert_int_eq(parse("{\"text\":\"\"}", &v, &err, &root), 0);
	ck_assert(v.data.given);
	ck_assert_int_eq(v.data.len, 0);
	params_free(descs, &v);
	json_object_put(root);
}
END_TEST

START_TEST(errors_name_the_parameter)
{
	static const struct { const char *text; const char *param; const char *says; } bad[] = {
		{ "{\"name\":1}", "name", "string" },
		{ "{\"name\":\"a\\u0000b\"}", "name", "NUL" },
		{ "{\"port\":70000}", "port", "0-65535" },
		{ "{\"port\":-1}", "port", "0-65535" },
		{ "{\"port\":\"80\"}", "port", "integer" },
		{ "{\"port\":1.5}", "port", "integer" },
		{ "{\"port\":null}", "port", "null" },
		{ "{\"pass\":1}", "pass", "true or false" },
		{ "{\"delay\":-1}", "delay", "non-negative" },
		{ "{\"delay\":\"1\"}", "delay", "number" },
		{ "{\"timeout\":-0.5}", "timeout", "seconds" },
		{ "{\"timeout\":\"x\"}", "timeout", "seconds" },
		{ "{\"family\":\"AF_NOPE\"}", "family", "unknown name" },
		{ "{\"family\":true}", "family", "constant" },
		{ "{\"flags\":[\"MSG_NOPE\"]}", "flags", "unknown flag" },
		{ "{\"data\":\"!!!!\"}", "data", "base64" },
		{ "{\"data\":\"QQ\"}", "data", "base64" },
		{ "{\"data\":5}", "data", "base64" },
		{ "{\"data\":\"QQ==\",\"text\":\"A\"}", "data", "either" },
		{ "{\"text\":5}", "text", "string" },
		{ "{\"address\":[1]}", "address", "object" },
		{ "{\"list\":{}}", "list", "array" },
		{ "{\"bogus\":1}", "bogus", "unknown parameter 'bogus'" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct p v;
		struct param_error err;
		json_object *root;

		ck_assert_msg(parse(bad[i].text, &v, &err, &root) == -EINVAL, "%s", bad[i].text);
		if (bad[i].param)
			ck_assert_str_eq(err.param, bad[i].param);
		else
			ck_assert_ptr_null(err.param);
		ck_assert_msg(strstr(err.msg, bad[i].says), "%s: '%s' lacks '%s'", bad[i].text, err.msg, bad[i].says);
		/* Nothing is left allocated on error. */
		ck_assert_ptr_null(v.data.buf);
		json_object_put(root);
	}
}
END_TEST

START_TEST(required_members)
{
	int64_t h = 0;
	struct param_error err;
	json_object *root = json_tokener_parse("{}");

	ck_assert_int_eq(params_parse(required, root, NULL, &h, &err), -EINVAL);
	ck_assert_str_eq(err.param, "handle");
	ck_assert(strstr(err.msg, "missing"));
	json_object_put(root);
	root = json_tokener_parse("{\"handle\":0}");
	ck_assert_int_eq(params_parse(required, root, NULL, &h, &err), -EINVAL);
	json_object_put(root);
	root = json_tokener_parse("{\"handle\":9}");
	ck_assert_int_eq(params_parse(required, root, NULL, &h, &err), 0);
	ck_assert_int_eq(h, 9);
	json_object_put(root);
	/* "fds" is the framework's only where allowed. */
	root = json_tokener_parse("{\"handle\":9,\"fds\":1}");
	ck_assert_int_eq(params_parse(required, root, NULL, &h, &err), -EINVAL);
	json_object_put(root);
}
END_TEST

START_TEST(schema_for_discover)
{
	json_object *s = params_schema(&descs[1]);

	ck_assert_str_eq(json_object_get_string(json_object_object_get(s, "type")), "integer");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(s, "maximum")), 65535);
	json_object_put(s);
	s = params_schema(&descs[4]);
	ck_assert_int_eq(json_object_array_length(json_object_object_get(s, "type")), 2);
	json_object_put(s);
	s = params_schema(&descs[7]);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(s, "contentEncoding")), "base64");
	json_object_put(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("params");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, defaults_when_absent);
	tcase_add_test(tc, every_type);
	tcase_add_test(tc, timeout_null_blocks);
	tcase_add_test(tc, text_instead_of_data);
	tcase_add_test(tc, errors_name_the_parameter);
	tcase_add_test(tc, required_members);
	tcase_add_test(tc, schema_for_discover);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
