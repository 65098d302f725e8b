#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "consts.h"
#include "params.h"

static int fail(struct param_error *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct param_error *err, const char *param, const char *fmt, ...)
{
	va_list ap;

	err->param = param;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const struct param_desc *find_desc(const struct param_desc *descs, const char *name)
{
	for (const struct param_desc *d = descs; d && d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static bool is_extra(const char *const *allow_extra, const char *name)
{
	for (; allow_extra && *allow_extra; allow_extra++)
		if (strcmp(*allow_extra, name) == 0)
			return true;
	return false;
}

/* PT_BYTES is spelled "data" (base64) or "text"; its desc name is "data". */
static bool is_text_alias(const struct param_desc *descs, const char *key)
{
	const struct param_desc *d = find_desc(descs, "data");

	return strcmp(key, "text") == 0 && d && d->type == PT_BYTES;
}

static int parse_bytes(const struct param_desc *d, json_object *jdata, json_object *jtext,
                       struct param_bytes *b, struct param_error *err)
{
	if (jdata && jtext)
		return fail(err, d->name, "give either data or text, not both");
	if (jtext) {
		size_t n;
		if (!json_object_is_type(jtext, json_type_string))
			return fail(err, "text", "text must be a string");
		n = (size_t)json_object_get_string_len(jtext);
		b->buf = malloc(n ? n : 1);
		if (!b->buf)
			return -ENOMEM;
		memcpy(b->buf, json_object_get_string(jtext), n);
		b->len = n;
		b->given = true;
		return 0;
	}
	if (!json_object_is_type(jdata, json_type_string))
		return fail(err, d->name, "data must be a base64 string");
	if (b64_decode_alloc(json_object_get_string(jdata), (size_t)json_object_get_string_len(jdata),
	                     &b->buf, &b->len) < 0)
		return fail(err, d->name, "data is not valid base64 (RFC 4648, with padding)");
	b->given = true;
	return 0;
}

/* A JSON string with a NUL byte inside (C look-ups would stop at it). */
static bool has_nul(json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v));
}

static int parse_one(const struct param_desc *d, json_object *v, char *field,
                     struct param_error *err)
{
	switch (d->type) {
	case PT_STRING:
		if (!json_object_is_type(v, json_type_string))
			return fail(err, d->name, "%s must be a string", d->name);
		/* C APIs would silently cut at a NUL ("localhost\u0000x"). */
		if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
			return fail(err, d->name, "%s must not contain NUL characters", d->name);
		*(const char **)field = json_object_get_string(v);
		return 0;
	case PT_INT: {
		int64_t x;
		if (!json_object_is_type(v, json_type_int))
			return fail(err, d->name, "%s must be an integer", d->name);
		errno = 0;
		x = json_object_get_int64(v);
		if (errno == ERANGE || (d->min < d->max && (x < d->min || x > d->max)))
			return fail(err, d->name, "%s must be an integer in %lld-%lld", d->name, d->min, d->max);
		*(int64_t *)field = x;
		return 0;
	}
	case PT_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return fail(err, d->name, "%s must be true or false", d->name);
		*(bool *)field = json_object_get_boolean(v);
		return 0;
	case PT_NUMBER: {
		double x;
		if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
			return fail(err, d->name, "%s must be a number", d->name);
		x = json_object_get_double(v);
		if (!isfinite(x) || ((d->flags & PF_NONNEG) && x < 0))
			return fail(err, d->name, "%s must be a finite%s number", d->name,
			            (d->flags & PF_NONNEG) ? " non-negative" : "");
		*(double *)field = x;
		return 0;
	}
	case PT_TIMEOUT: {
		struct param_timeout *t = (struct param_timeout *)field;
		double x;
		t->given = true;
		if (v == NULL) {
			t->block = true;
			return 0;
		}
		if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
			return fail(err, d->name, "%s must be seconds (a number) or null", d->name);
		x = json_object_get_double(v);
		/* Python's settimeout: negative raises ValueError. The upper bound keeps
		 * deadlines representable in nanoseconds. */
		if (!isfinite(x) || x < 0 || x > 1e9)
			return fail(err, d->name, "%s must be a number of seconds in 0-1e9, or null", d->name);
		t->seconds = x;
		return 0;
	}
	case PT_CONST: {
		long x;
		int r = sbc_from_json(d->kind, v, &x);
		if (r == -ENOENT && has_nul(v))
			return fail(err, d->name, "%s must not contain a NUL byte", d->name);
		if (r == -ENOENT)
			return fail(err, d->name, "%s: unknown name '%s'", d->name, json_object_get_string(v));
		if (r < 0)
			return fail(err, d->name, "%s must be a constant's name or an integer", d->name);
		*(int *)field = (int)x;
		return 0;
	}
	case PT_FLAGS: {
		long x;
		int r = sbc_flags_from_json(d->kind, v, &x);
		if (r == -ENOENT)
			return fail(err, d->name, "%s: unknown flag name", d->name);
		if (r < 0 || x < INT32_MIN || x > UINT32_MAX)
			return fail(err, d->name, "%s must be an array of flag names or an integer", d->name);
		*(int *)field = (int)x;
		return 0;
	}
	case PT_OBJECT:
		if (!json_object_is_type(v, json_type_object))
			return fail(err, d->name, "%s must be an object", d->name);
		*(json_object **)field = v;
		return 0;
	case PT_ARRAY:
		if (!json_object_is_type(v, json_type_array))
			return fail(err, d->name, "%s must be an array", d->name);
		*(json_object **)field = v;
		return 0;
	case PT_ANY:
		*(json_object **)field = v;
		return 0;
	case PT_BYTES:
		break; /* handled by the caller: it spans two members */
	}
	return fail(err, d->name, "%s: unsupported parameter type", d->name);
}

static void apply_default(const struct param_desc *d, char *field)
{
	switch (d->type) {
	case PT_INT:
		*(int64_t *)field = d->def;
		break;
	case PT_BOOL:
		*(bool *)field = d->def != 0;
		break;
	case PT_CONST:
	case PT_FLAGS:
		*(int *)field = (int)d->def;
		break;
	default:
		break;
	}
}

int params_parse(const struct param_desc *descs, json_object *params,
                 const char *const *allow_extra, void *out, struct param_error *err)
{
	char *base = out;
	int r;

	err->param = NULL;
	err->msg[0] = '\0';
	if (params && !json_object_is_type(params, json_type_object))
		return fail(err, NULL, "params must be an object");
	if (params) {
		json_object_object_foreach(params, key, val) {
			(void)val;
			if (!find_desc(descs, key) && !is_text_alias(descs, key) && !is_extra(allow_extra, key)) {
				r = fail(err, key, "unknown parameter '%.100s'", key);
				goto fail;
			}
		}
	}
	for (const struct param_desc *d = descs; d && d->name; d++) {
		json_object *v = NULL;
		bool present = params && json_object_object_get_ex(params, d->name, &v);

		if (d->type == PT_BYTES) {
			json_object *t = NULL;
			bool tp = params && json_object_object_get_ex(params, "text", &t);
			if (!present && !tp) {
				if (d->flags & PF_REQUIRED) {
					r = fail(err, d->name, "missing parameter 'data' (or 'text')");
					goto fail;
				}
				continue;
			}
			r = parse_bytes(d, present ? v : NULL, tp ? t : NULL,
			                (struct param_bytes *)(base + d->offset), err);
			if (present && !v && !tp)
				r = fail(err, d->name, "data must be a base64 string");
			if (r < 0)
				goto fail;
			continue;
		}
		if (!present) {
			if (d->flags & PF_REQUIRED) {
				r = fail(err, d->name, "missing parameter '%s'", d->name);
				goto fail;
			}
			apply_default(d, base + d->offset);
			continue;
		}
		if (!v && d->type != PT_TIMEOUT && d->type != PT_ANY) {
			r = fail(err, d->name, "%s must not be null", d->name);
			goto fail;
		}
		r = parse_one(d, v, base + d->offset, err);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	params_free(descs, out);
	return r;
}

void params_free(const struct param_desc *descs, void *out)
{
	for (const struct param_desc *d = descs; d && d->name; d++)
		if (d->type == PT_BYTES) {
			struct param_bytes *b = (struct param_bytes *)((char *)out + d->offset);
			free(b->buf);
			b->buf = NULL;
			b->len = 0;
		}
}

json_object *params_schema(const struct param_desc *d)
{
	json_object *s = json_object_new_object();
	const char *t = NULL;

	switch (d->type) {
	case PT_STRING: t = "string"; break;
	case PT_INT: t = "integer"; break;
	case PT_BOOL: t = "boolean"; break;
	case PT_NUMBER: t = "number"; break;
	case PT_OBJECT: t = "object"; break;
	case PT_ARRAY: t = "array"; break;
	case PT_BYTES: t = "string"; break;
	case PT_TIMEOUT: {
		json_object *a = json_object_new_array();
		json_object_array_add(a, json_object_new_string("number"));
		json_object_array_add(a, json_object_new_string("null"));
		json_object_object_add(s, "type", a);
		json_object_object_add(s, "minimum", json_object_new_int(0));
		break;
	}
	case PT_CONST: {
		json_object *a = json_object_new_array();
		json_object_array_add(a, json_object_new_string("string"));
		json_object_array_add(a, json_object_new_string("integer"));
		json_object_object_add(s, "type", a);
		break;
	}
	case PT_FLAGS: {
		json_object *a = json_object_new_array();
		json_object_array_add(a, json_object_new_string("array"));
		json_object_array_add(a, json_object_new_string("integer"));
		json_object_object_add(s, "type", a);
		break;
	}
	case PT_ANY:
		break;
	}
	if (t)
		json_object_object_add(s, "type", json_object_new_string(t));
	if (d->type == PT_INT && d->min < d->max) {
		json_object_object_add(s, "minimum", json_object_new_int64(d->min));
		json_object_object_add(s, "maximum", json_object_new_int64(d->max));
	}
	if (d->type == PT_BYTES)
		json_object_object_add(s, "contentEncoding", json_object_new_string("base64"));
	if (d->doc)
		json_object_object_add(s, "description", json_object_new_string(d->doc));
	return s;
}
