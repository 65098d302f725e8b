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

static inline void put(struct jsonw *w, const char *s, size_t n)
{
	if ((w->err || n >= w->cap - w->len) && !reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* 1: json-c escapes the byte (with JSON_C_TO_STRING_NOSLASHESCAPE): below
 * 0x20, '"' and '\\'. */
static const unsigned char escaped_tbl[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static inline bool escaped(unsigned char c)
{
	return escaped_tbl[c];
}

/* Writes the escape of c (escaped(c)) at o; its length, 2 or 6. */
static size_t escape(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	o[0] = '\\';
	switch (c) {
	case '\b': o[1] = 'b'; return 2;
	case '\f': o[1] = 'f'; return 2;
	case '\n': o[1] = 'n'; return 2;
	case '\r': o[1] = 'r'; return 2;
	case '\t': o[1] = 't'; return 2;
	case '"': o[1] = '"'; return 2;
	case '\\': o[1] = '\\'; return 2;
	}
	memcpy(o + 1, "u00", 3);
	o[4] = hex[c >> 4];
	o[5] = hex[c & 0xf];
	return 6;
}

/* s as json-c's json_escape_str writes it, between quotes. */
static void put_string(struct jsonw *w, const char *s)
{
	size_t n = strlen(s), room = w->cap - w->len;
	const char *run = s;
	char e[6], *o;

	/* Room for the worst case (quotes, every byte as \u00xx, the NUL): no
	 * check per byte. */
	if (!w->err && room > 3 && n < (room - 3) / 6) {
		o = w->buf + w->len;
		*o++ = '"';
		for (const char *end = s + n; s < end; s++) {
			unsigned char c = (unsigned char)*s;

			if (escaped(c))
				o += escape(o, c);
			else
				*o++ = (char)c;
		}
		*o++ = '"';
		*o = '\0';
		w->len = (size_t)(o - w->buf);
		return;
	}
	/* Else runs of bytes that need no escape are put whole, growing the text. */
	put(w, "\"", 1);
	for (;; s++) {
		unsigned char c = (unsigned char)*s;

		if (c && !escaped(c))
			continue;
		if (s > run)
			put(w, run, (size_t)(s - run));
		if (!c)
			break;
		put(w, e, escape(e, c));
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
