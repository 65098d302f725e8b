/* Unit tests of the JSON object writer (daemon/jsonw.c): its text is held
 * byte for byte to json-c's json_object_to_json_string_ext(o,
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) for the same
 * members: every byte 1..255 in a string and in a key (control bytes, '"',
 * '\\', '/', 0x7f, UTF-8 and stray high bytes), NULL strings, integers at
 * their limits, a nested object, the audit record's shape (authz.c), and
 * thousands of seeded random records, written from a stack buffer of 1, 16,
 * 256 and 2048 bytes (so the move to the heap is crossed at every point); and
 * its refusals (too deep, unbalanced), which give no text. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/jsonw.h"
#include "unit.h"

enum kind { STR, INT, UINT, BOOL, NUL, OPEN, CLOSE };

/* One member (or the end of a nested object), written both ways. */
struct m {
	enum kind kind;
	const char *key;
	const char *s;              /* STR: NULL is null */
	int64_t i;
	uint64_t u;
};

static const size_t stack_sizes[] = { 1, 16, 256, 2048 };

/* The members as json-c makes them (one object, nested ones by OPEN/CLOSE). */
static char *by_jsonc(const struct m *v, size_t n)
{
	json_object *stack[JSONW_DEPTH_MAX + 1];
	size_t depth = 0;
	char *text;

	stack[depth] = json_object_new_object();
	for (size_t i = 0; i < n; i++) {
		json_object *val = NULL;

		switch (v[i].kind) {
		case STR:
			val = v[i].s ? json_object_new_string(v[i].s) : NULL;
			break;
		case INT:
			val = json_object_new_int64(v[i].i);
			break;
		case UINT:
			val = json_object_new_uint64(v[i].u);
			break;
		case BOOL:
			val = json_object_new_boolean(v[i].i != 0);
			break;
		case NUL:
			break;
		case OPEN:
			val = json_object_new_object();
			json_object_object_add(stack[depth], v[i].key, val);
			stack[++depth] = val;
			continue;
		case CLOSE:
			depth--;
			continue;
		}
		json_object_object_add(stack[depth], v[i].key, val);
	}
	ck_assert_uint_eq(depth, 0);
	text = strdup(json_object_to_json_string_ext(stack[0], JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(stack[0]);
	ck_assert_ptr_nonnull(text);
	return text;
}

/* The members as jsonw writes them from a stack buffer of size bytes. */
static char *by_jsonw(const struct m *v, size_t n, size_t size)
{
	char *stack = malloc(size);   /* heap, so ASan sees any overrun */
	struct jsonw w;
	const char *t;
	size_t len;
	char *text;

	ck_assert_ptr_nonnull(stack);
	jsonw_init(&w, stack, size);
	jsonw_open(&w, NULL);
	for (size_t i = 0; i < n; i++) {
		switch (v[i].kind) {
		case STR: jsonw_str(&w, v[i].key, v[i].s); break;
		case INT: jsonw_int(&w, v[i].key, v[i].i); break;
		case UINT: jsonw_uint(&w, v[i].key, v[i].u); break;
		case BOOL: jsonw_bool(&w, v[i].key, v[i].i != 0); break;
		case NUL: jsonw_null(&w, v[i].key); break;
		case OPEN: jsonw_open(&w, v[i].key); break;
		case CLOSE: jsonw_close(&w); break;
		}
	}
	jsonw_close(&w);
	t = jsonw_text(&w, &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(len, strlen(t));
	text = strdup(t);
	jsonw_fini(&w);
	free(stack);
	return text;
}

static void same(const struct m *v, size_t n)
{
	char *want = by_jsonc(v, n);

	for (size_t k = 0; k < sizeof(stack_sizes) / sizeof(stack_sizes[0]); k++) {
		char *got = by_jsonw(v, n, stack_sizes[k]);

		if (strcmp(got, want) != 0)
			ck_abort_msg("stack %zu:\n jsonw:  %s\n json-c: %s", stack_sizes[k], got, want);
		free(got);
	}
	free(want);
}

START_TEST(every_byte_in_a_string_and_a_key)
{
	char all[256], one[4], key[8];

	for (int c = 1; c < 256; c++) {
		snprintf(one, sizeof(one), "%c", c);
		snprintf(key, sizeof(key), "k%cy", c);
		struct m v[] = {
			{ STR, "alone", one, 0, 0 },
			{ STR, key, "v", 0, 0 },
		};
		same(v, 2);
		all[c - 1] = (char)c;
	}
	all[255] = '\0';
	struct m w[] = { { STR, "all", all, 0, 0 }, { STR, all, "all as a key", 0, 0 } };
	same(w, 2);
}
END_TEST

START_TEST(strings_that_matter)
{
	static const char *const s[] = {
		"", "plain", "\"", "\\", "/", "//a/b\\c\"d", "\"\\\"\\", "a\tb\nc\rd\be\ff", "\x01\x1f\x7f",
		"caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x94\x92 lock", "\xff\xfe stray", "\xc3",
		"</script>", "\\u0000", "x\x1b[31mred\x1b[0m", "/usr/bin/sockbrokerctl", "sshd.service",
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct m v[] = { { STR, "s", s[i], 0, 0 }, { STR, s[i], NULL, 0, 0 }, { STR, "t", s[i], 0, 0 } };
		same(v, 3);
	}
}
END_TEST

START_TEST(numbers_nulls_and_booleans)
{
	static const int64_t iv[] = { 0, 1, -1, 9, 10, -10, 99, 100, 65534, 65535, 4294967295LL, INT32_MAX,
		                      INT32_MIN, (int64_t)INT32_MAX + 1, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	static const uint64_t uv[] = { 0, 1, 9, 10, 18446744073709551615ULL, (uint64_t)INT64_MAX,
		                       (uint64_t)INT64_MAX + 1, 1000000000000ULL };

	for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		struct m v[] = { { INT, "i", NULL, iv[i], 0 }, { NUL, "n", NULL, 0, 0 } };
		same(v, 2);
	}
	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		struct m v[] = { { UINT, "u", NULL, 0, uv[i] }, { BOOL, "t", NULL, 1, 0 }, { BOOL, "f", NULL, 0, 0 } };
		same(v, 3);
	}
	same(NULL, 0);   /* {} */
}
END_TEST

/* The members and order audit_json (authz.c) writes, with and without the
 * optional ones. */
START_TEST(the_audit_record)
{
	struct m full[] = {
		{ STR, "time", "2026-12-05T02:31:55.123Z", 0, 0 },
		{ UINT, "seq", NULL, 0, 42 },
		{ STR, "decision", "allow", 0, 0 },
		{ STR, "rule", "bench \"hold\"", 0, 0 },
		{ STR, "reason", "rule \"bench\" allows hold.get", 0, 0 },
		{ UINT, "after", NULL, 0, 41 },
		{ UINT, "connection", NULL, 0, 7 },
		{ INT, "uid", NULL, 0, 0 },
		{ INT, "gid", NULL, 65534, 0 },
		{ INT, "pid", NULL, 4111, 0 },
		{ STR, "token", "ops", 0, 0 },
		{ STR, "exe", "/work/build/bench/bench_hold", 0, 0 },
		{ STR, "unit", NULL, 0, 0 },
		{ OPEN, "unknown", NULL, 0, 0 },
		{ STR, "exe", "readlink /proc/1/exe: Permission denied", 0, 0 },
		{ STR, "unit", "cgroup: No such file or directory\n", 0, 0 },
		{ CLOSE, NULL, NULL, 0, 0 },
		{ STR, "method", "hold.get", 0, 0 },
		{ STR, "action", "create", 0, 0 },
		{ STR, "family", "AF_INET6", 0, 0 },
		{ INT, "type", NULL, 12345, 0 },
		{ INT, "proto", NULL, 17, 0 },
		{ STR, "address", "/run/x/\xc3\xa9.sock", 0, 0 },
		{ INT, "port", NULL, 65535, 0 },
		{ STR, "host", "example.org", 0, 0 },
		{ STR, "name", "bench", 0, 0 },
		{ INT, "level", NULL, 1, 0 },
		{ INT, "option", NULL, -1, 0 },
	};
	struct m lean[] = {
		{ STR, "time", "2026-12-05T02:31:55.123Z", 0, 0 },
		{ UINT, "seq", NULL, 0, 1 },
		{ STR, "decision", "deny", 0, 0 },
		{ STR, "rule", NULL, 0, 0 },
		{ STR, "reason", "no rule allows it", 0, 0 },
		{ NUL, "connection", NULL, 0, 0 },
		{ NUL, "uid", NULL, 0, 0 },
		{ NUL, "gid", NULL, 0, 0 },
		{ INT, "pid", NULL, 0, 0 },
		{ STR, "exe", NULL, 0, 0 },
		{ STR, "unit", NULL, 0, 0 },
		{ STR, "method", "http", 0, 0 },
		{ STR, "action", NULL, 0, 0 },
	};

	same(full, sizeof(full) / sizeof(full[0]));
	same(lean, sizeof(lean) / sizeof(lean[0]));
}
END_TEST

/* xorshift64*: the same records every run. */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ULL;
}

/* A string of up to max bytes, mostly the ones that need care. */
static void rnd_string(uint64_t *x, char *out, size_t max)
{
	static const char care[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9\xff a";
	size_t n = rnd(x) % (max + 1);

	for (size_t i = 0; i < n; i++) {
		uint64_t r = rnd(x);
		out[i] = (char)(r % 3 ? care[(r >> 8) % (sizeof(care) - 1)] : (char)(1 + (r >> 16) % 255));
	}
	out[n] = '\0';
}

START_TEST(random_records)
{
	enum { RECORDS = 3000, MEMBERS = 40, STRMAX = 300 };
	static char strs[MEMBERS][STRMAX + 1], keys[MEMBERS][STRMAX + 8];
	uint64_t x = 0x5eed5eed12345678ULL;
	struct m v[MEMBERS];

	for (int rec = 0; rec < RECORDS; rec++) {
		size_t n = 0, open = 0, want = 1 + rnd(&x) % (MEMBERS - 2);

		while (n < want) {
			uint64_t r = rnd(&x);
			struct m *e = &v[n];

			/* Keys are unique in their object: json-c replaces a repeated one. */
			rnd_string(&x, keys[n], 12);
			snprintf(keys[n] + strlen(keys[n]), 8, "#%zu", n);
			*e = (struct m){ .key = keys[n] };
			switch (r % 16) {
			case 0: case 1: case 2: case 3: case 4: case 5:
				rnd_string(&x, strs[n], rnd(&x) % 8 ? 40 : STRMAX);
				e->kind = STR;
				e->s = strs[n];
				break;
			case 6: e->kind = STR; break;
			case 7: e->kind = INT; e->i = (int64_t)rnd(&x) >> (rnd(&x) % 64); break;
			case 8: e->kind = UINT; e->u = rnd(&x) >> (rnd(&x) % 64); break;
			case 9: e->kind = BOOL; e->i = (int64_t)(rnd(&x) & 1); break;
			case 10: e->kind = NUL; break;
			case 11:
				if (open < 2 && n + 2 < want) {
					e->kind = OPEN;
					open++;
				} else {
					e->kind = NUL;
				}
				break;
			default:
				if (open) {
					e->kind = CLOSE;
					e->key = NULL;
					open--;
				} else {
					e->kind = INT;
					e->i = -(int64_t)(r >> 40);
				}
			}
			n++;
		}
		while (open--)
			v[n++] = (struct m){ .kind = CLOSE };
		same(v, n);
	}
}
END_TEST

START_TEST(refusals_give_no_text)
{
	char stack[64];
	struct jsonw w;
	size_t len = 1;

	/* An object still open. */
	jsonw_init(&w, stack, sizeof(stack));
	jsonw_open(&w, NULL);
	jsonw_str(&w, "a", "b");
	ck_assert_ptr_null(jsonw_text(&w, &len));
	ck_assert_uint_eq(len, 0);
	jsonw_fini(&w);

	/* A close without an open. */
	jsonw_init(&w, stack, sizeof(stack));
	jsonw_close(&w);
	jsonw_open(&w, NULL);
	jsonw_close(&w);
	ck_assert_ptr_null(jsonw_text(&w, &len));
	jsonw_fini(&w);

	/* JSONW_DEPTH_MAX objects open, then one more. */
	jsonw_init(&w, stack, sizeof(stack));
	for (int i = 0; i < JSONW_DEPTH_MAX; i++)
		jsonw_open(&w, i ? "o" : NULL);
	for (int i = 0; i < JSONW_DEPTH_MAX; i++)
		jsonw_close(&w);
	ck_assert_str_eq(jsonw_text(&w, &len), "{\"o\":{\"o\":{\"o\":{\"o\":{\"o\":{\"o\":{\"o\":{}}}}}}}}");
	jsonw_fini(&w);
	jsonw_init(&w, stack, sizeof(stack));
	for (int i = 0; i <= JSONW_DEPTH_MAX; i++)
		jsonw_open(&w, i ? "o" : NULL);
	for (int i = 0; i <= JSONW_DEPTH_MAX; i++)
		jsonw_close(&w);
	ck_assert_ptr_null(jsonw_text(&w, &len));
	jsonw_fini(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonw");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_byte_in_a_string_and_a_key);
	tcase_add_test(tc, strings_that_matter);
	tcase_add_test(tc, numbers_nulls_and_booleans);
	tcase_add_test(tc, the_audit_record);
	tcase_add_test(tc, random_records);
	tcase_add_test(tc, refusals_give_no_text);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
