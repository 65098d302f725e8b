/* Integration: socket options through the real daemon. The test ends with
 * the daemon serving and its descriptor count back at its baseline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <string.h>

#include "harness.h"

/* ---- 13. options ---- */

START_TEST(options)
{
	int base = hx_fd_mark();
	json_object *r, *want;
	long long h, u;
	size_t len;
	int v;

	h = hx_new_handle(&hx_c, "{}");
	hx_ok(&hx_c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":true}", h);
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\"}", h);
	ck_assert_msg(json_object_is_type(jpath(r, "value"), json_type_int) && hx_geti(r, "value") == 1,
	              "SO_REUSEADDR: %s", json_object_to_json_string(r));
	hx_ok(&hx_c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":0}", h);
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":1,\"option\":2}", h);
	ck_assert_int_eq(hx_geti(r, "value"), 0);

	hx_ok(&hx_c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\",\"value\":1}", h);
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\"}", h);
	ck_assert_int_eq(hx_geti(r, "value"), 1);
	hx_ok(&hx_c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\",\"value\":false}", h);
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\"}", h);
	ck_assert_int_eq(hx_geti(r, "value"), 0);

	hx_ok(&hx_c, "socket.setsockopt",
	   "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\",\"value\":{\"onoff\":true,\"linger\":3}}", h);
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\"}", h);
	want = hx_hold(json_tokener_parse("{\"onoff\":true,\"linger\":3}"));
	ck_assert_msg(json_object_equal(jpath(r, "value"), want), "SO_LINGER: %s", json_object_to_json_string(r));
	hx_err(&hx_c, -32602, "socket.setsockopt",
	    "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_LINGER\",\"value\":{\"onoff\":true}}", h);

	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_TYPE\"}", h);
	hx_expect_str(r, "value", "SOCK_STREAM");
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_DOMAIN\"}", h);
	hx_expect_str(r, "value", "AF_INET");
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_ERROR\"}", h);
	ck_assert_int_eq(hx_geti(r, "value"), 0);

	r = hx_err(&hx_c, -32602, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_BOGUS\"}", h);
	hx_expect_str(r, "data.param", "option");
	hx_err(&hx_c, -32602, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"TCP_NODELAY\",\"value\":1}", h);
	hx_err(&hx_c, -32602, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_BOGUS\",\"option\":\"SO_TYPE\"}", h);
	hx_err(&hx_c, -32602, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\",\"value\":\"yes\"}", h);
	hx_err(&hx_c, -32602, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_REUSEADDR\"}", h);

	/* buflen: the raw bytes. */
	hx_ok(&hx_c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\",\"value\":1}", h);
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\",\"buflen\":4}", h);
	ck_assert_msg(jpath(r, "value") == NULL, "buflen gives data: %s", json_object_to_json_string(r));
	{
		unsigned char *d = hx_b64dec(hx_gets(r, "data"), &len);
		ck_assert_int_eq(len, 4);
		memcpy(&v, d, 4);
		ck_assert_int_eq(v, 1);
	}
	/* Raw data in: {"data": base64}. */
	v = 0;
	hx_ok(&hx_c, "socket.setsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\",\"value\":{\"data\":\"%s\"}}",
	   h, hx_b64enc(&v, 4));
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_KEEPALIVE\"}", h);
	ck_assert_int_eq(hx_geti(r, "value"), 0);

	/* An option the protocol does not have: the kernel's ENOPROTOOPT. */
	u = hx_new_handle(&hx_c, "{\"type\":\"SOCK_DGRAM\"}");
	{
		/* Linux answers ENOPROTOOPT or (newer kernels) EOPNOTSUPP here. */
		json_object *e = hx_err(&hx_c, -32000, "socket.getsockopt",
		                     "{\"handle\":%lld,\"level\":\"IPPROTO_TCP\",\"option\":\"TCP_NODELAY\"}", u);
		const char *name = hx_gets(e, "data.name");
		ck_assert_msg(strcmp(name, "ENOPROTOOPT") == 0 || strcmp(name, "EOPNOTSUPP") == 0, "got %s", name);
	}
	r = hx_ok(&hx_c, "socket.getsockopt", "{\"handle\":%lld,\"level\":\"SOL_SOCKET\",\"option\":\"SO_TYPE\"}", u);
	hx_expect_str(r, "value", "SOCK_DGRAM");
	hx_close_handle(&hx_c, u);
	hx_close_handle(&hx_c, h);
	hx_fd_back(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("it_socket_options");
	TCase *tc = hx_tcase(s, "options", hx_setup, hx_teardown);

	tcase_add_test(tc, options);
	return s;
}

int main(void)
{
	return hx_main(suite());
}
