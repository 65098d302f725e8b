/* Unit tests of the files compiled into the daemon (daemon/http-ui.h, made
 * by build-aux/embed.sh): each array holds exactly the bytes of its source
 * file and a NUL after them; the web view is one self-contained page (no
 * script, style, font or image from elsewhere, not even a favicon: the daemon serves nothing
 * else, and a page that reached out could leak the token) and stays small;
 * the OpenAPI document parses. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/http-ui.h"
#include "unit.h"

static char *slurp(const char *rel, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TOP_SRCDIR, rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void same_bytes(const char *rel, const char *arr, size_t arr_len)
{
	size_t len;
	char *want = slurp(rel, &len);

	ck_assert_uint_eq(arr_len, len);
	ck_assert_msg(memcmp(arr, want, len) == 0, "the array of %s differs from the file", rel);
	ck_assert_int_eq(arr[arr_len], '\0');
	free(want);
}

START_TEST(ui_is_the_file)
{
	same_bytes("daemon/http-ui.html", http_ui_html, http_ui_html_len);
}
END_TEST

START_TEST(openapi_is_the_file)
{
	same_bytes("docs/openapi.json", http_openapi_json, http_openapi_json_len);
}
END_TEST

/* Case-insensitive strstr. */
static const char *find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

START_TEST(ui_is_self_contained)
{
	static const char *const outside[] = {
		"<script src", "@import", "url(", "<img", "<iframe", "<object", "<embed",
		"http://", "https://", "//cdn", "eventsource",
	};
	static const char icon[] = "<link rel=\"icon\" href=\"data:,\">";
	const char *at;

	ck_assert_uint_lt(http_ui_html_len, 32 * 1024);
	ck_assert_uint_eq(strlen(http_ui_html), http_ui_html_len);
	ck_assert_ptr_nonnull(find_ci(http_ui_html, "<!DOCTYPE html>"));
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		at = find_ci(http_ui_html, outside[i]);
		ck_assert_msg(at == NULL, "the page has '%s': %.60s", outside[i], at);
	}
	/* One <link>: an empty icon, so that the browser asks for no favicon. */
	for (at = find_ci(http_ui_html, "<link"); at; at = find_ci(at + 1, "<link"))
		ck_assert_msg(strncmp(at, icon, sizeof(icon) - 1) == 0, "a <link> to elsewhere: %.60s", at);
	/* Data goes into the page as text, never as markup. */
	ck_assert_ptr_null(find_ci(http_ui_html, "innerHTML"));
	ck_assert_ptr_null(find_ci(http_ui_html, "outerHTML"));
	ck_assert_ptr_null(find_ci(http_ui_html, "insertAdjacentHTML"));
	ck_assert_ptr_null(find_ci(http_ui_html, "document.write"));
}
END_TEST

START_TEST(openapi_parses)
{
	json_object *doc = json_tokener_parse(http_openapi_json), *v;

	ck_assert_ptr_nonnull(doc);
	ck_assert(json_object_object_get_ex(doc, "openapi", &v));
	ck_assert_int_eq(strncmp(json_object_get_string(v), "3.1.", 4), 0);
	ck_assert(json_object_object_get_ex(doc, "paths", &v));
	ck_assert(json_object_is_type(v, json_type_object));
	json_object_put(doc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("embed");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ui_is_the_file);
	tcase_add_test(tc, openapi_is_the_file);
	tcase_add_test(tc, ui_is_self_contained);
	tcase_add_test(tc, openapi_parses);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
