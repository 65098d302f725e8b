/* The JSON object writer (jsonw.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void jsonw_init(struct jsonw *w, char *stack, size_t size)
{
	*w = (struct jsonw){ .buf = stack, .cap = size, .stack = stack };
	w->buf[0] = '\0';
}

void jsonw_fini(struct jsonw *w)
{
	if (w->buf != w->stack)
		free(w->buf);
	w->buf = w->stack;
	w->len = 0;
}

/* Room for n more bytes and the NUL; false once the writer has failed. */
static bool reserve(struct jsonw *w, size_t n)
{
	size_t want, cap;
	char *b;

	if (w->err)
		return false;
	if (n < w->cap - w->len)
		return true;
	want = w->len + n + 1;
	if (want < w->len) {
		w->err = -ENOMEM;
		return false;
	}
	cap = w->cap * 2 > want ? w->cap * 2 : want;
	if (w->buf == w->stack) {
		b = malloc(cap);
		if (b)
			memcpy(b, w->buf, w->len);
	} else {
		b = realloc(w->buf, cap);
	}
	if (!b) {
		w->err = -ENOMEM;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* s as json-c's json_escape_str writes it with JSON_C_TO_STRING_NOSLASHESCAPE,
 * between quotes. Runs of bytes that need no escape are copied whole. */
static void put_string(struct jsonw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char e[6];

	put(w, "\"", 1);
	for (;; s++) {
		unsigned char c = (unsigned char)*s;
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (s > run)
			put(w, run, (size_t)(s - run));
		if (!c)
			break;
		e[0] = '\\';
		switch (c) {
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		default:
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 0xf];
			n = 6;
		}
		put(w, e, n);
		run = s + 1;
	}
	put(w, "\"", 1);
}

/* The comma before a member after the first, and "key":. */
static void member(struct jsonw *w, const char *key)
{
	if (w->depth && w->more[w->depth - 1])
		put(w, ",", 1);
	if (w->depth)
		w->more[w->depth - 1] = 1;
	if (key) {
		put_string(w, key);
		put(w, ":", 1);
	}
}

void jsonw_open(struct jsonw *w, const char *key)
{
	if (w->depth == JSONW_DEPTH_MAX) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	member(w, key);
	put(w, "{", 1);
	w->more[w->depth++] = 0;
}

void jsonw_close(struct jsonw *w)
{
	if (!w->depth) {
		w->err = w->err ? w->err : -EINVAL;
		return;
	}
	w->depth--;
	put(w, "}", 1);
}

void jsonw_str(struct jsonw *w, const char *key, const char *s)
{
	member(w, key);
	if (s)
		put_string(w, s);
	else
		put(w, "null", 4);
}

/* Decimal digits of v, written backwards from end; the first digit. */
static char *digits(char *end, uint64_t v)
{
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

void jsonw_uint(struct jsonw *w, const char *key, uint64_t v)
{
	char b[24], *p = digits(b + sizeof(b), v);

	member(w, key);
	put(w, p, (size_t)(b + sizeof(b) - p));
}

void jsonw_int(struct jsonw *w, const char *key, int64_t v)
{
	char b[24], *p;

	/* The magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
	p = digits(b + sizeof(b), v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	member(w, key);
	put(w, p, (size_t)(b + sizeof(b) - p));
}

void jsonw_bool(struct jsonw *w, const char *key, bool v)
{
	member(w, key);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jsonw_null(struct jsonw *w, const char *key)
{
	member(w, key);
	put(w, "null", 4);
}

const char *jsonw_text(struct jsonw *w, size_t *len)
{
	*len = 0;
	if (w->err || w->depth)
		return NULL;
	*len = w->len;
	return w->buf;
}
