/* Unit tests of the typed parameter dispatcher (daemon/params.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "consts.h"
#include "daemon/params.h"
#include "unit.h"

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

static int parse(const char *text, struct p *out, struct decode_error *err, json_object **root)
{
	static const char *const extra[] = { "fds", NULL };

	*root = text ? json_tokener_parse(text) : NULL;
	memset(out, 0, sizeof(*out));
	return params_parse(descs, *root, extra, out, err);
}

START_TEST(defaults_when_absent)
{
	struct p v;
	struct decode_error err;
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
	struct decode_error err;
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
	struct decode_error err;
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
	struct decode_error err;
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
		{ "{\"port\":70000}", "port", "0..65535" },
		{ "{\"port\":-1}", "port", "0..65535" },
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
		struct decode_error err;
		json_object *root;

		ck_assert_msg(parse(bad[i].text, &v, &err, &root) == -EINVAL, "%s", bad[i].text);
		if (bad[i].param)
			ck_assert_str_eq(err.path, bad[i].param);
		else
			ck_assert_str_eq(err.path, "");
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
	struct decode_error err;
	json_object *root = json_tokener_parse("{}");

	ck_assert_int_eq(params_parse(required, root, NULL, &h, &err), -EINVAL);
	ck_assert_str_eq(err.path, "handle");
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

/* ---- nested tables, lists and the paths of their errors ---- */

struct inner {
	int64_t port;
	const char *host;
	struct param_bytes data;
};

static const struct param_desc inner_descs[] = {
	{ "port", PT_INT, offsetof(struct inner, port), PF_REQUIRED, 0, 65535 },
	{ "host", PT_STRING, offsetof(struct inner, host), 0 },
	{ "data", PT_BYTES, offsetof(struct inner, data), 0 },
	{ 0 }
};

static const struct param_desc gid_item = { "groups", PT_INT, 0, 0, 0, 65535 };
static const struct param_desc inner_item = { "items", PT_NESTED, 0, 0, .fields = inner_descs };

struct outer {
	struct inner at;
	struct param_list groups;
	struct param_list items;
};

static const struct param_desc outer_descs[] = {
	{ "at", PT_NESTED, offsetof(struct outer, at), 0, .fields = inner_descs },
	{ "groups", PT_LIST, offsetof(struct outer, groups), 0, .max = 4, .fields = &gid_item,
	  .size = sizeof(int64_t) },
	{ "items", PT_LIST, offsetof(struct outer, items), 0, .fields = &inner_item,
	  .size = sizeof(struct inner) },
	{ 0 }
};

static int parse_outer(const char *text, struct outer *o, struct decode_error *err)
{
	json_object *root = json_tokener_parse(text);
	int r;

	ck_assert_ptr_nonnull(root);
	memset(o, 0, sizeof(*o));
	r = params_parse(outer_descs, root, NULL, o, err);
	json_object_put(root);
	return r;
}

START_TEST(nested_and_lists_decode)
{
	struct decode_error err;
	struct outer o;
	json_object *root = json_tokener_parse(
		"{\"at\":{\"port\":80,\"host\":\"h\",\"data\":\"aGk=\"},\"groups\":[1,2,3],"
		"\"items\":[{\"port\":1},{\"port\":2,\"text\":\"yo\"}]}");

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(params_parse(outer_descs, root, NULL, &o, &err), 0);
	ck_assert_int_eq(o.at.port, 80);
	ck_assert_str_eq(o.at.host, "h");
	ck_assert_int_eq(o.at.data.len, 2);
	ck_assert_uint_eq(o.groups.n, 3);
	ck_assert_int_eq(((int64_t *)o.groups.items)[2], 3);
	ck_assert_uint_eq(o.items.n, 2);
	ck_assert_int_eq(((struct inner *)o.items.items)[1].port, 2);
	ck_assert_mem_eq(((struct inner *)o.items.items)[1].data.buf, "yo", 2);
	params_free(outer_descs, &o);
	ck_assert_ptr_null(o.at.data.buf);
	ck_assert_ptr_null(o.groups.items);
	ck_assert_ptr_null(o.items.items);
	ck_assert_uint_eq(o.items.n, 0);
	json_object_put(root);
}
END_TEST

START_TEST(absent_nested_gets_its_defaults)
{
	static const struct param_desc with_def[] = {
		{ "port", PT_INT, offsetof(struct inner, port), 0, 0, 65535, 8080 },
		{ 0 }
	};
	static const struct param_desc outer_def[] = {
		{ "at", PT_NESTED, 0, 0, .fields = with_def },
		{ 0 }
	};
	struct decode_error err;
	struct inner in;

	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(params_parse(outer_def, NULL, NULL, &in, &err), 0);
	ck_assert_int_eq(in.port, 8080);
}
END_TEST

START_TEST(nested_errors_carry_a_path)
{
	static const struct { const char *text; const char *path; const char *says; } bad[] = {
		{ "{\"at\":{\"port\":70000}}", "at.port", "port is out of range: it must be an integer in 0..65535" },
		{ "{\"at\":{}}", "at.port", "missing parameter 'port'" },
		{ "{\"at\":{\"port\":1,\"bogus\":1}}", "at.bogus", "unknown parameter 'bogus'" },
		{ "{\"at\":{\"port\":1,\"text\":5}}", "at.text", "text must be a string" },
		{ "{\"at\":{\"port\":1,\"data\":\"QQ==\",\"text\":\"A\"}}", "at.data", "either" },
		{ "{\"at\":[]}", "at", "at must be an object" },
		{ "{\"at\":null}", "at", "null" },
		{ "{\"groups\":[1,2,-5]}", "groups[2]", "0..65535" },
		{ "{\"groups\":[1,null]}", "groups[1]", "null" },
		{ "{\"groups\":[1,2,3,4,5]}", "groups", "at most 4" },
		{ "{\"groups\":7}", "groups", "array" },
		{ "{\"items\":[{\"port\":1},{\"port\":\"x\"}]}", "items[1].port", "integer" },
		{ "{\"items\":[{\"port\":1},{\"port\":1,\"data\":\"QQ==\"},{\"port\":1,\"data\":\"!\"}]}",
		  "items[2].data", "base64" },
		{ "{\"items\":[5]}", "items[0]", "items must be an object" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct decode_error err;
		struct outer o;

		ck_assert_msg(parse_outer(bad[i].text, &o, &err) == -EINVAL, "%s", bad[i].text);
		ck_assert_msg(strcmp(err.path, bad[i].path) == 0, "%s: path '%s', want '%s'", bad[i].text, err.path,
		              bad[i].path);
		ck_assert_msg(strstr(err.msg, bad[i].says), "%s: '%s' lacks '%s'", bad[i].text, err.msg, bad[i].says);
		/* Nothing is left allocated: the lists and their items' bytes are freed. */
		ck_assert_ptr_null(o.at.data.buf);
		ck_assert_ptr_null(o.groups.items);
		ck_assert_ptr_null(o.items.items);
	}
}
END_TEST

START_TEST(error_prefixes)
{
	struct decode_error e;

	decode_error_clear(&e);
	ck_assert_int_eq(decode_fail(&e, -EINVAL, "port", "bad %d", 7), -EINVAL);
	ck_assert_str_eq(e.msg, "bad 7");
	decode_error_prefix(&e, "address");
	ck_assert_str_eq(e.path, "address.port");
	decode_error_prefix_index(&e, 3);
	ck_assert_str_eq(e.path, "[3].address.port");
	decode_error_prefix(&e, "as");
	ck_assert_str_eq(e.path, "as[3].address.port");
	decode_fail(&e, -EINVAL, NULL, "whole");
	ck_assert_str_eq(e.path, "");
	decode_error_prefix_index(&e, 0);
	ck_assert_str_eq(e.path, "[0]");
	decode_error_prefix(&e, NULL);
	ck_assert_str_eq(e.path, "[0]");
	/* NULL: a decoder may be asked for no error at all. */
	ck_assert_int_eq(decode_fail(NULL, -ENODEV, "x", "y"), -ENODEV);
	decode_error_prefix(NULL, "x");
}
END_TEST

/* ---- addresses for the family of the decode context ---- */

struct paddr {
	struct param_address address;
};

static const struct param_desc addr_descs[] = {
	{ "address", PT_ADDRESS, offsetof(struct paddr, address), PF_REQUIRED },
	{ 0 }
};

static const struct param_desc numeric_addr_descs[] = {
	{ "address", PT_ADDRESS, offsetof(struct paddr, address), PF_REQUIRED | PF_NONAME, .def = AF_INET },
	{ 0 }
};

static int parse_addr(const struct param_desc *table, const struct param_ctx *ctx, const char *text,
                      struct paddr *p, struct decode_error *err)
{
	json_object *root = json_tokener_parse(text);
	int r;

	ck_assert_ptr_nonnull(root);
	memset(p, 0, sizeof(*p));
	r = params_parse_ctx(table, root, NULL, ctx, p, err);
	json_object_put(root);
	return r;
}

START_TEST(address_for_the_context_family)
{
	const struct param_ctx in4 = { .family = AF_INET, .type = SOCK_STREAM };
	const struct param_ctx in6 = { .family = AF_INET6, .type = SOCK_DGRAM };
	const struct param_ctx un = { .family = AF_UNIX, .type = SOCK_STREAM };
	struct decode_error err;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	struct paddr p;

	ck_assert_int_eq(parse_addr(addr_descs, &in4, "{\"address\":{\"host\":\"127.0.0.1\",\"port\":80}}", &p, &err), 0);
	sin = (struct sockaddr_in *)&p.address.a.ss;
	ck_assert(p.address.given);
	ck_assert_ptr_null(p.address.host);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 80);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	params_free(addr_descs, &p);

	/* The tuple form, for an AF_INET6 socket. */
	ck_assert_int_eq(parse_addr(addr_descs, &in6, "{\"address\":[\"::1\",53]}", &p, &err), 0);
	sin6 = (struct sockaddr_in6 *)&p.address.a.ss;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 53);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	params_free(addr_descs, &p);

	/* The same JSON means a path on an AF_UNIX socket. */
	ck_assert_int_eq(parse_addr(addr_descs, &un, "{\"address\":\"/run/x.sock\"}", &p, &err), 0);
	ck_assert_int_eq(p.address.a.ss.ss_family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&p.address.a.ss)->sun_path, "/run/x.sock");
	params_free(addr_descs, &p);
	/* ... and is no address of an AF_INET socket. */
	ck_assert_int_eq(parse_addr(addr_descs, &in4, "{\"address\":\"/run/x.sock\"}", &p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "address");
	ck_assert_ptr_nonnull(strstr(err.msg, "AF_INET address"));
	ck_assert(!p.address.given);
}
END_TEST

START_TEST(address_name_is_reported_not_resolved)
{
	const struct param_ctx in4 = { .family = AF_INET };
	struct decode_error err;
	struct paddr p;

	ck_assert_int_eq(parse_addr(addr_descs, &in4, "{\"address\":{\"host\":\"example.com\",\"port\":443}}", &p,
	                            &err), 0);
	ck_assert(p.address.given);
	ck_assert_str_eq(p.address.host, "example.com");
	/* The port is kept for when the caller fills the address in. */
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&p.address.a.ss)->sin_port), 443);
	ck_assert_uint_eq(((struct sockaddr_in *)&p.address.a.ss)->sin_addr.s_addr, 0);
	params_free(addr_descs, &p);
	ck_assert_ptr_null(p.address.host);

	/* PF_NONAME: a name is malformed there. Without a context, .def is the family. */
	ck_assert_int_eq(parse_addr(numeric_addr_descs, NULL, "{\"address\":[\"example.com\",1]}", &p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "address[0]");
	ck_assert_ptr_nonnull(strstr(err.msg, "not resolved here"));
	ck_assert_ptr_null(p.address.host);
	ck_assert_int_eq(parse_addr(numeric_addr_descs, NULL, "{\"address\":[\"10.0.0.1\",1]}", &p, &err), 0);
	ck_assert_int_eq(p.address.a.ss.ss_family, AF_INET);
	params_free(numeric_addr_descs, &p);
}
END_TEST

START_TEST(address_errors_name_the_member)
{
	static const struct { int family; const char *text; const char *path; const char *says; } bad[] = {
		{ AF_INET, "{\"address\":{\"host\":\"1.2.3.4\",\"port\":70000}}", "address.port", "AF_INET address: port" },
		{ AF_INET, "{\"address\":[\"1.2.3.4\",70000]}", "address[1]", "port must be an integer 0-65535" },
		{ AF_INET, "{\"address\":{\"host\":\"1.2.3.4\"}}", "address.port", "member \"port\" is missing" },
		{ AF_INET, "{\"address\":{\"host\":\"1.2.3.4\",\"port\":1,\"x\":1}}", "address.x", "unknown member" },
		{ AF_INET, "{\"address\":{\"host\":7,\"port\":1}}", "address.host", "host must be a string" },
		{ AF_INET6, "{\"address\":{\"host\":\"::1\",\"port\":1,\"flowinfo\":-1}}", "address.flowinfo",
		  "flowinfo" },
		{ AF_INET, "{\"address\":[1]}", "address", "tuple form" },
		{ AF_INET, "{\"address\":null}", "address", "null" },
		{ AF_INET, "{}", "address", "missing parameter 'address'" },
		{ AF_UNIX, "{\"address\":{\"path\":\"/x\",\"abstract\":\"y\"}}", "address", "exactly one" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct param_ctx ctx = { .family = bad[i].family };
		struct decode_error err;
		struct paddr p;

		ck_assert_msg(parse_addr(addr_descs, &ctx, bad[i].text, &p, &err) == -EINVAL, "%s", bad[i].text);
		ck_assert_msg(strcmp(err.path, bad[i].path) == 0, "%s: path '%s', want '%s'", bad[i].text, err.path,
		              bad[i].path);
		ck_assert_msg(strstr(err.msg, bad[i].says), "%s: '%s' lacks '%s'", bad[i].text, err.msg, bad[i].says);
		ck_assert_ptr_null(p.address.host);
	}
}
END_TEST

/* ---- socket option values, encoded for the level and option above them ---- */

struct psockopt {
	int level;
	int option;
	struct param_sockopt value;
};

static const struct param_sockopt_arg so_arg = {
	.level_offset = offsetof(struct psockopt, level),
	.option_offset = offsetof(struct psockopt, option),
};

static const struct param_desc so_descs[] = {
	{ "level", PT_CONST, offsetof(struct psockopt, level), PF_REQUIRED, .kind = SBC_SOL },
	{ "option", PT_CONST, offsetof(struct psockopt, option), PF_REQUIRED, .kind = SBC_SO },
	{ "value", PT_SOCKOPT, offsetof(struct psockopt, value), PF_REQUIRED, .arg = &so_arg },
	{ 0 }
};

static int parse_so(const char *text, struct psockopt *p, struct decode_error *err)
{
	json_object *root = json_tokener_parse(text);
	int r;

	ck_assert_ptr_nonnull(root);
	memset(p, 0, sizeof(*p));
	r = params_parse(so_descs, root, NULL, p, err);
	json_object_put(root);
	return r;
}

START_TEST(sockopt_values)
{
	struct decode_error err;
	struct psockopt p;
	struct linger l;
	int x;

	ck_assert_int_eq(parse_so("{\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\","
	                          "\"value\":{\"onoff\":true,\"linger\":5}}", &p, &err), 0);
	ck_assert(p.value.given);
	ck_assert_uint_eq(p.value.len, sizeof(l));
	memcpy(&l, p.value.buf, sizeof(l));
	ck_assert_int_eq(l.l_onoff, 1);
	ck_assert_int_eq(l.l_linger, 5);

	ck_assert_int_eq(parse_so("{\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":true}", &p, &err), 0);
	ck_assert_uint_eq(p.value.len, sizeof(int));
	memcpy(&x, p.value.buf, sizeof(x));
	ck_assert_int_eq(x, 1);

	ck_assert_int_eq(parse_so("{\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\",\"value\":{\"onoff\":true}}",
	                          &p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "value");
	ck_assert_ptr_nonnull(strstr(err.msg, "SO_LINGER takes"));
	ck_assert_ptr_nonnull(strstr(err.msg, "\"linger\" is missing"));
	ck_assert(!p.value.given);

	ck_assert_int_eq(parse_so("{\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":\"x\"}", &p, &err),
	                 -EINVAL);
	ck_assert_str_eq(err.path, "value");
	ck_assert_int_eq(parse_so("{\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\"}", &p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "value");
}
END_TEST

START_TEST(schemas_of_the_new_converters)
{
	json_object *s = params_schema(&outer_descs[0]);
	json_object *props = json_object_object_get(s, "properties");

	ck_assert_str_eq(json_object_get_string(json_object_object_get(s, "type")), "object");
	ck_assert_ptr_nonnull(json_object_object_get(props, "port"));
	ck_assert_int_eq(json_object_array_length(json_object_object_get(s, "required")), 1);
	json_object_put(s);
	s = params_schema(&outer_descs[1]);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(s, "type")), "array");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(s, "maxItems")), 4);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_object_get(s, "items"), "type")),
	                 "integer");
	json_object_put(s);
	s = params_schema(&addr_descs[0]);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(s, "format")), "socket-address");
	json_object_put(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("params");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_when_absent);
	tcase_add_test(tc, every_type);
	tcase_add_test(tc, timeout_null_blocks);
	tcase_add_test(tc, text_instead_of_data);
	tcase_add_test(tc, errors_name_the_parameter);
	tcase_add_test(tc, required_members);
	tcase_add_test(tc, schema_for_discover);
	tcase_add_test(tc, nested_and_lists_decode);
	tcase_add_test(tc, absent_nested_gets_its_defaults);
	tcase_add_test(tc, nested_errors_carry_a_path);
	tcase_add_test(tc, error_prefixes);
	tcase_add_test(tc, address_for_the_context_family);
	tcase_add_test(tc, address_name_is_reported_not_resolved);
	tcase_add_test(tc, address_errors_name_the_member);
	tcase_add_test(tc, sockopt_values);
	tcase_add_test(tc, schemas_of_the_new_converters);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
