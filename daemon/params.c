#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base64.h"
#include "consts.h"
#include "params.h"
#include "sockopt.h"

#define FIELD(base, d) ((char *)(base) + (d)->offset)

/* ------------------------------------------------------------ helpers */

static json_object *type_array(const char *a, const char *b)
{
	json_object *t = json_object_new_array();

	json_object_array_add(t, json_object_new_string(a));
	json_object_array_add(t, json_object_new_string(b));
	return t;
}

static void schema_type(json_object *s, const char *type)
{
	json_object_object_add(s, "type", json_object_new_string(type));
}

/* A JSON string with a NUL byte inside (C look-ups would stop at it). */
static bool has_nul(json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v));
}

static bool is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* ------------------------------------------------------------ scalars */

static int conv_string(const struct param_desc *d, json_object *v, void *field, const void *base,
                       const struct param_ctx *ctx, struct decode_error *err)
{
	(void)base, (void)ctx;
	if (!json_object_is_type(v, json_type_string))
		return decode_fail(err, -EINVAL, NULL, "%s must be a string", d->name);
	/* C APIs would silently cut at a NUL ("localhost\u0000x"). */
	if (has_nul(v))
		return decode_fail(err, -EINVAL, NULL, "%s must not contain NUL characters", d->name);
	*(const char **)field = json_object_get_string(v);
	return 0;
}

static void schema_string(const struct param_desc *d, json_object *s)
{
	(void)d;
	schema_type(s, "string");
}

const struct param_converter param_conv_string = {
	.name = "string", .decode = conv_string, .schema = schema_string,
};

static int conv_int(const struct param_desc *d, json_object *v, void *field, const void *base,
                    const struct param_ctx *ctx, struct decode_error *err)
{
	int64_t x;

	(void)base, (void)ctx;
	if (!json_object_is_type(v, json_type_int))
		return decode_fail(err, -EINVAL, NULL, "%s must be an integer", d->name);
	errno = 0;
	x = json_object_get_int64(v);
	if (errno == ERANGE || (d->min < d->max && (x < d->min || x > d->max)))
		return decode_fail(err, -EINVAL, NULL, "%s is out of range: it must be an integer in %lld..%lld", d->name,
		                   d->min < d->max ? d->min : (long long)INT64_MIN,
		                   d->min < d->max ? d->max : (long long)INT64_MAX);
	*(int64_t *)field = x;
	return 0;
}

static void default_int(const struct param_desc *d, void *field)
{
	*(int64_t *)field = d->def;
}

static void schema_int(const struct param_desc *d, json_object *s)
{
	schema_type(s, "integer");
	if (d->min < d->max) {
		json_object_object_add(s, "minimum", json_object_new_int64(d->min));
		json_object_object_add(s, "maximum", json_object_new_int64(d->max));
	}
}

const struct param_converter param_conv_int = {
	.name = "integer", .decode = conv_int, .set_default = default_int, .schema = schema_int,
};

static int conv_bool(const struct param_desc *d, json_object *v, void *field, const void *base,
                     const struct param_ctx *ctx, struct decode_error *err)
{
	(void)base, (void)ctx;
	if (!json_object_is_type(v, json_type_boolean))
		return decode_fail(err, -EINVAL, NULL, "%s must be true or false", d->name);
	*(bool *)field = json_object_get_boolean(v);
	return 0;
}

static void default_bool(const struct param_desc *d, void *field)
{
	*(bool *)field = d->def != 0;
}

static void schema_bool(const struct param_desc *d, json_object *s)
{
	(void)d;
	schema_type(s, "boolean");
}

const struct param_converter param_conv_bool = {
	.name = "boolean", .decode = conv_bool, .set_default = default_bool, .schema = schema_bool,
};

static int conv_number(const struct param_desc *d, json_object *v, void *field, const void *base,
                       const struct param_ctx *ctx, struct decode_error *err)
{
	double x;

	(void)base, (void)ctx;
	if (!is_number(v))
		return decode_fail(err, -EINVAL, NULL, "%s must be a number", d->name);
	x = json_object_get_double(v);
	if (!isfinite(x) || ((d->flags & PF_NONNEG) && x < 0))
		return decode_fail(err, -EINVAL, NULL, "%s must be a finite%s number", d->name,
		                   (d->flags & PF_NONNEG) ? " non-negative" : "");
	*(double *)field = x;
	return 0;
}

static void schema_number(const struct param_desc *d, json_object *s)
{
	(void)d;
	schema_type(s, "number");
}

const struct param_converter param_conv_number = {
	.name = "number", .decode = conv_number, .schema = schema_number,
};

static int conv_timeout(const struct param_desc *d, json_object *v, void *field, const void *base,
                        const struct param_ctx *ctx, struct decode_error *err)
{
	struct param_timeout *t = field;
	double x;

	(void)base, (void)ctx;
	t->given = true;
	if (v == NULL) {
		t->block = true;
		return 0;
	}
	if (!is_number(v))
		return decode_fail(err, -EINVAL, NULL, "%s must be seconds (a number) or null", d->name);
	x = json_object_get_double(v);
	/* Python's settimeout: negative raises ValueError. The upper bound keeps
	 * deadlines representable in nanoseconds. */
	if (!isfinite(x) || x < 0 || x > 1e9)
		return decode_fail(err, -EINVAL, NULL, "%s must be a number of seconds in 0-1e9, or null", d->name);
	t->seconds = x;
	return 0;
}

static void schema_timeout(const struct param_desc *d, json_object *s)
{
	(void)d;
	json_object_object_add(s, "type", type_array("number", "null"));
	json_object_object_add(s, "minimum", json_object_new_int(0));
}

const struct param_converter param_conv_timeout = {
	.name = "seconds or null", .decode = conv_timeout, .schema = schema_timeout, .null_ok = true,
};

static int conv_const(const struct param_desc *d, json_object *v, void *field, const void *base,
                      const struct param_ctx *ctx, struct decode_error *err)
{
	long x;
	int r = sbc_from_json(d->kind, v, &x);

	(void)base, (void)ctx;
	if (r == -ENOENT && has_nul(v))
		return decode_fail(err, -EINVAL, NULL, "%s must not contain a NUL byte", d->name);
	if (r == -ENOENT)
		return decode_fail(err, -EINVAL, NULL, "%s: unknown name '%s'", d->name, json_object_get_string(v));
	/* An integer beyond int: Python's OverflowError. Say so, with the range. */
	if (r == -ERANGE)
		return decode_fail(err, -EINVAL, NULL, "%s is out of range: an integer must be in %d..%d", d->name,
		                   INT32_MIN, INT32_MAX);
	if (r < 0)
		return decode_fail(err, -EINVAL, NULL, "%s must be a constant's name or an integer", d->name);
	*(int *)field = (int)x;
	return 0;
}

static void default_int32(const struct param_desc *d, void *field)
{
	*(int *)field = (int)d->def;
}

static void schema_const(const struct param_desc *d, json_object *s)
{
	(void)d;
	json_object_object_add(s, "type", type_array("string", "integer"));
}

const struct param_converter param_conv_const = {
	.name = "name or integer", .decode = conv_const, .set_default = default_int32, .schema = schema_const,
};

static int conv_flags(const struct param_desc *d, json_object *v, void *field, const void *base,
                      const struct param_ctx *ctx, struct decode_error *err)
{
	long x;
	int r = sbc_flags_from_json(d->kind, v, &x);

	(void)base, (void)ctx;
	if (r == -ENOENT)
		return decode_fail(err, -EINVAL, NULL, "%s: unknown flag name", d->name);
	if (r == -ERANGE || (r == 0 && (x < INT32_MIN || x > UINT32_MAX)))
		return decode_fail(err, -EINVAL, NULL, "%s is out of range: an integer must be in %d..%u", d->name,
		                   INT32_MIN, UINT32_MAX);
	if (r < 0)
		return decode_fail(err, -EINVAL, NULL, "%s must be an array of flag names or an integer", d->name);
	*(int *)field = (int)x;
	return 0;
}

static void schema_flags(const struct param_desc *d, json_object *s)
{
	(void)d;
	json_object_object_add(s, "type", type_array("array", "integer"));
}

const struct param_converter param_conv_flags = {
	.name = "array of names, or integer", .decode = conv_flags, .set_default = default_int32,
	.schema = schema_flags,
};

/* ------------------------------------------------------------ bytes: "data" or "text" */

static int conv_bytes(const struct param_desc *d, json_object *v, void *field, const void *base,
                      const struct param_ctx *ctx, struct decode_error *err)
{
	struct param_bytes *b = field;

	(void)base, (void)ctx;
	if (!json_object_is_type(v, json_type_string))
		return decode_fail(err, -EINVAL, NULL, "%s must be a base64 string", d->name);
	if (b64_decode_alloc(json_object_get_string(v), (size_t)json_object_get_string_len(v), &b->buf,
	                     &b->len) < 0)
		return decode_fail(err, -EINVAL, NULL, "%s is not valid base64 (RFC 4648, with padding)", d->name);
	b->given = true;
	return 0;
}

/* The "text" spelling: the string's UTF-8 bytes. */
static int conv_bytes_text(const struct param_desc *d, json_object *v, void *field, struct decode_error *err)
{
	struct param_bytes *b = field;
	size_t n;

	(void)d;
	if (!json_object_is_type(v, json_type_string))
		return decode_fail(err, -EINVAL, NULL, "text must be a string");
	n = (size_t)json_object_get_string_len(v);
	b->buf = malloc(n ? n : 1);
	if (!b->buf)
		return -ENOMEM;
	memcpy(b->buf, json_object_get_string(v), n);
	b->len = n;
	b->given = true;
	return 0;
}

static void free_bytes(const struct param_desc *d, void *field)
{
	struct param_bytes *b = field;

	(void)d;
	free(b->buf);
	b->buf = NULL;
	b->len = 0;
}

static void schema_bytes(const struct param_desc *d, json_object *s)
{
	(void)d;
	schema_type(s, "string");
	json_object_object_add(s, "contentEncoding", json_object_new_string("base64"));
}

const struct param_converter param_conv_bytes = {
	.name = "base64 `data` or UTF-8 `text`", .decode = conv_bytes, .free = free_bytes, .schema = schema_bytes,
	.alias = "text", .decode_alias = conv_bytes_text,
};

/* ------------------------------------------------------------ borrowed JSON */

static int conv_object(const struct param_desc *d, json_object *v, void *field, const void *base,
                       const struct param_ctx *ctx, struct decode_error *err)
{
	(void)base, (void)ctx;
	if (!json_object_is_type(v, json_type_object))
		return decode_fail(err, -EINVAL, NULL, "%s must be an object", d->name);
	*(json_object **)field = v;
	return 0;
}

static void schema_object(const struct param_desc *d, json_object *s)
{
	(void)d;
	schema_type(s, "object");
}

const struct param_converter param_conv_object = {
	.name = "object", .decode = conv_object, .schema = schema_object,
};

static int conv_array(const struct param_desc *d, json_object *v, void *field, const void *base,
                      const struct param_ctx *ctx, struct decode_error *err)
{
	(void)base, (void)ctx;
	if (!json_object_is_type(v, json_type_array))
		return decode_fail(err, -EINVAL, NULL, "%s must be an array", d->name);
	*(json_object **)field = v;
	return 0;
}

static void schema_array(const struct param_desc *d, json_object *s)
{
	(void)d;
	schema_type(s, "array");
}

const struct param_converter param_conv_array = {
	.name = "array", .decode = conv_array, .schema = schema_array,
};

static int conv_any(const struct param_desc *d, json_object *v, void *field, const void *base,
                    const struct param_ctx *ctx, struct decode_error *err)
{
	(void)d, (void)base, (void)ctx, (void)err;
	*(json_object **)field = v;
	return 0;
}

static void schema_any(const struct param_desc *d, json_object *s)
{
	(void)d, (void)s;
}

const struct param_converter param_conv_any = {
	.name = "any", .decode = conv_any, .schema = schema_any, .null_ok = true,
};

/* ------------------------------------------------------------ nested tables and lists */

static int conv_nested(const struct param_desc *d, json_object *v, void *field, const void *base,
                       const struct param_ctx *ctx, struct decode_error *err)
{
	(void)base;
	if (!json_object_is_type(v, json_type_object))
		return decode_fail(err, -EINVAL, NULL, "%s must be an object", d->name);
	return params_parse_ctx(d->fields, v, NULL, ctx, field, err);
}

/* Absent: the sub-table's own defaults, as for an empty object. */
static void default_nested(const struct param_desc *d, void *field)
{
	for (const struct param_desc *f = d->fields; f && f->name; f++)
		if (f->conv->set_default)
			f->conv->set_default(f, FIELD(field, f));
}

static void free_nested(const struct param_desc *d, void *field)
{
	params_free(d->fields, field);
}

static void schema_nested(const struct param_desc *d, json_object *s)
{
	json_object *props = json_object_new_object();
	json_object *req = json_object_new_array();

	schema_type(s, "object");
	for (const struct param_desc *f = d->fields; f && f->name; f++) {
		json_object_object_add(props, f->name, params_schema(f));
		if (f->flags & PF_REQUIRED)
			json_object_array_add(req, json_object_new_string(f->name));
	}
	json_object_object_add(s, "properties", props);
	if (json_object_array_length(req))
		json_object_object_add(s, "required", req);
	else
		json_object_put(req);
	json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
}

const struct param_converter param_conv_nested = {
	.name = "object", .decode = conv_nested, .set_default = default_nested, .free = free_nested,
	.schema = schema_nested,
};

static void free_list(const struct param_desc *d, void *field)
{
	struct param_list *l = field;
	const struct param_desc *item = d->fields;

	if (l->items && item->conv->free)
		for (size_t i = 0; i < l->n; i++)
			item->conv->free(item, (char *)l->items + i * d->size);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int conv_list(const struct param_desc *d, json_object *v, void *field, const void *base,
                     const struct param_ctx *ctx, struct decode_error *err)
{
	const struct param_desc *item = d->fields;
	struct param_list *l = field;
	size_t n;

	(void)base;
	if (!json_object_is_type(v, json_type_array))
		return decode_fail(err, -EINVAL, NULL, "%s must be an array", d->name);
	n = json_object_array_length(v);
	if (d->max > 0 && n > (unsigned long long)d->max)
		return decode_fail(err, -EINVAL, NULL, "%s: at most %lld items", d->name, d->max);
	l->items = calloc(n ? n : 1, d->size);
	if (!l->items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		int r;

		if (!e && !item->conv->null_ok)
			r = decode_fail(err, -EINVAL, NULL, "%s[%zu] must not be null", d->name, i);
		else
			r = item->conv->decode(item, e, (char *)l->items + i * d->size, base, ctx, err);
		if (r < 0) {
			decode_error_prefix_index(err, i);
			l->n = i + 1;   /* the failed item may hold a part; its free copes */
			free_list(d, field);
			return r;
		}
		l->n = i + 1;
	}
	return 0;
}

static void schema_list(const struct param_desc *d, json_object *s)
{
	schema_type(s, "array");
	json_object_object_add(s, "items", params_schema(d->fields));
	if (d->max > 0)
		json_object_object_add(s, "maxItems", json_object_new_int64(d->max));
}

const struct param_converter param_conv_list = {
	.name = "array", .decode = conv_list, .free = free_list, .schema = schema_list,
};

/* ------------------------------------------------------------ addresses */

static int conv_address(const struct param_desc *d, json_object *v, void *field, const void *base,
                        const struct param_ctx *ctx, struct decode_error *err)
{
	const struct param_address_arg *a = d->arg;
	struct param_address *pa = field;
	int family = ctx ? ctx->family : (int)d->def;
	int r;

	(void)base;
	if (!ctx && (d->flags & PF_OF_SOCKET)) {
		pa->pending = v;
		pa->given = true;
		return 0;
	}
	if (family == AF_UNSPEC)
		family = a && a->family_of ? a->family_of(v) : sbaddr_guess_family(v);
	if (family == AF_UNSPEC && a && a->unknown)
		return decode_fail(err, -EINVAL, NULL, "%s", a->unknown);
	if (family == AF_UNSPEC)
		return decode_fail(err, -EINVAL, NULL, "%s: cannot tell the address family; give the family", d->name);
	r = sbaddr_decode(family, v, &pa->a, (d->flags & PF_NONAME) ? NULL : &pa->host, err);
	/* An unknown interface, a family without a codec: they say what is
	 * wrong with the member, as a malformed one does. An AF_UNIX name too
	 * long stays ENAMETOOLONG (protocol.md section 10): Python raises
	 * OSError for it, an OS error, not a bad parameter. */
	if (r < 0)
		return r == -ENOMEM || r == -ENAMETOOLONG ? r : -EINVAL;
	pa->given = true;
	return 0;
}

static void free_address(const struct param_desc *d, void *field)
{
	struct param_address *pa = field;

	(void)d;
	free(pa->host);
	pa->host = NULL;
}

static void schema_address(const struct param_desc *d, json_object *s)
{
	(void)d;
	json_object_object_add(s, "type", type_array("object", "array"));
	json_object_object_add(s, "format", json_object_new_string("socket-address"));
}

const struct param_converter param_conv_address = {
	.name = "socket address", .decode = conv_address, .free = free_address, .schema = schema_address,
};

/* ------------------------------------------------------------ host and port */

static int conv_host_port(const struct param_desc *d, json_object *v, void *field, const void *base,
                          const struct param_ctx *ctx, struct decode_error *err)
{
	struct param_host_port *hp = field;
	json_object *jh = NULL, *jp = NULL;
	int family = sbaddr_guess_family(v);
	int64_t port;

	(void)base, (void)ctx;
	if (family == AF_INET || family == AF_INET6) {
		int r = sbaddr_decode(family, v, &hp->a, NULL, err);
		if (r < 0)
			return r == -ENOMEM ? r : -EINVAL;
		hp->literal = true;
		return 0;
	}
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 2) {
		jh = json_object_array_get_idx(v, 0);
		jp = json_object_array_get_idx(v, 1);
	} else if (json_object_is_type(v, json_type_object)) {
		json_object_object_get_ex(v, "host", &jh);
		json_object_object_get_ex(v, "port", &jp);
	}
	if (!jh || !json_object_is_type(jh, json_type_string) || !jp || !json_object_is_type(jp, json_type_int) ||
	    (port = json_object_get_int64(jp)) < 0 || port > 65535 || json_object_get_string_len(jh) == 0 ||
	    json_object_get_string_len(jh) > 1024)
		return decode_fail(err, -EINVAL, NULL,
		                   "%s must be [host, port] with a host name or literal and a port 0-65535", d->name);
	/* The resolver takes a C string: "localhost\u0000x" would be looked up as localhost. */
	if (strlen(json_object_get_string(jh)) != (size_t)json_object_get_string_len(jh))
		return decode_fail(err, -EINVAL, NULL, "%s: a host name holds no NUL", d->name);
	hp->host = strdup(json_object_get_string(jh));
	hp->port = (int)port;
	return hp->host ? 0 : -ENOMEM;
}

static void free_host_port(const struct param_desc *d, void *field)
{
	(void)d;
	free(((struct param_host_port *)field)->host);
	((struct param_host_port *)field)->host = NULL;
}

static void schema_host_port(const struct param_desc *d, json_object *s)
{
	(void)d;
	json_object_object_add(s, "format", json_object_new_string("host-and-port"));
}

const struct param_converter param_conv_host_port = {
	.name = "[host, port]", .decode = conv_host_port, .free = free_host_port, .schema = schema_host_port,
};

/* ------------------------------------------------------------ socket option values */

static int conv_sockopt(const struct param_desc *d, json_object *v, void *field, const void *base,
                        const struct param_ctx *ctx, struct decode_error *err)
{
	const struct param_sockopt_arg *a = d->arg;
	struct param_sockopt *o = field;
	int level = *(const int *)((const char *)base + a->level_offset);
	int option = *(const int *)((const char *)base + a->option_offset);
	int r;

	(void)ctx;
	o->len = SOCKOPT_MAX_LEN;
	r = sockopt_encode_value(level, option, v, o->buf, &o->len, err);
	if (r < 0)
		return r;
	o->given = true;
	return 0;
}

static void schema_sockopt(const struct param_desc *d, json_object *s)
{
	(void)d;
	json_object_object_add(s, "format", json_object_new_string("socket-option-value"));
}

const struct param_converter param_conv_sockopt = {
	.name = "option value", .decode = conv_sockopt, .schema = schema_sockopt, .null_ok = true,
};

static int conv_sockopt_name(const struct param_desc *d, json_object *v, void *field, const void *base,
                             const struct param_ctx *ctx, struct decode_error *err)
{
	const struct param_sockopt_arg *a = d->arg;
	int level = *(const int *)((const char *)base + a->level_offset);

	(void)ctx;
	if (sockopt_option_from_json(level, v, field) == 0)
		return 0;
	return decode_fail(err, -EINVAL, NULL, "%s: '%.60s' is not an option name of this level", d->name,
	                   json_object_get_string(v));
}

static void schema_sockopt_name(const struct param_desc *d, json_object *s)
{
	(void)d;
	json_object_object_add(s, "type", type_array("string", "integer"));
}

const struct param_converter param_conv_sockopt_name = {
	.name = "option name or number", .decode = conv_sockopt_name, .schema = schema_sockopt_name,
};

/* ------------------------------------------------------------ the dispatcher */

static const struct param_desc *find_desc(const struct param_desc *descs, const char *name)
{
	for (const struct param_desc *d = descs; d && d->name; d++)
		if (strcmp(d->name, name) == 0 || (d->conv->alias && strcmp(d->conv->alias, name) == 0))
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

/* One row: its member (or its alias), default, or the converter. */
static int parse_row(const struct param_desc *d, json_object *params, void *out,
                     const struct param_ctx *ctx, struct decode_error *err)
{
	const struct param_converter *cv = d->conv;
	char *field = FIELD(out, d);
	json_object *v = NULL, *alt = NULL;
	bool present = params && json_object_object_get_ex(params, d->name, &v);
	bool alt_present = cv->alias && params && json_object_object_get_ex(params, cv->alias, &alt);
	int r;

	if (present && alt_present)
		return decode_fail(err, -EINVAL, d->name, "give either %s or %s, not both", d->name, cv->alias);
	if (alt_present) {
		r = cv->decode_alias(d, alt, field, err);
		if (r < 0)
			decode_error_prefix(err, cv->alias);
		return r;
	}
	if (!present) {
		if (d->flags & PF_REQUIRED) {
			if (cv->alias)
				return decode_fail(err, -EINVAL, d->name, "missing parameter '%s' (or '%s')", d->name,
				                   cv->alias);
			return decode_fail(err, -EINVAL, d->name, "missing parameter '%s'", d->name);
		}
		if (cv->set_default)
			cv->set_default(d, field);
		return 0;
	}
	if (!v && !cv->null_ok)
		return decode_fail(err, -EINVAL, d->name, "%s must not be null", d->name);
	r = cv->decode(d, v, field, out, ctx, err);
	if (r < 0 && r != -ENOMEM)
		decode_error_prefix(err, d->name);
	return r;
}

int params_parse_ctx(const struct param_desc *descs, json_object *params,
                     const char *const *allow_extra, const struct param_ctx *ctx, void *out,
                     struct decode_error *err)
{
	int r = 0;

	decode_error_clear(err);
	if (params && !json_object_is_type(params, json_type_object))
		return decode_fail(err, -EINVAL, NULL, "params must be an object");
	if (params) {
		json_object_object_foreach(params, key, val) {
			(void)val;
			if (!find_desc(descs, key) && !is_extra(allow_extra, key))
				return decode_fail(err, -EINVAL, key, "unknown parameter '%.100s'", key);
		}
	}
	for (const struct param_desc *d = descs; d && d->name; d++) {
		r = parse_row(d, params, out, ctx, err);
		if (r < 0)
			break;
	}
	if (r < 0)
		params_free(descs, out);
	return r;
}

int params_parse(const struct param_desc *descs, json_object *params,
                 const char *const *allow_extra, void *out, struct decode_error *err)
{
	return params_parse_ctx(descs, params, allow_extra, NULL, out, err);
}

int params_decode_late(const struct param_desc *descs, void *out, const struct param_ctx *ctx,
                       struct decode_error *err)
{
	decode_error_clear(err);
	for (const struct param_desc *d = descs; d && d->name; d++) {
		struct param_address *pa = (struct param_address *)(void *)FIELD(out, d);
		json_object *v;
		int r;

		if (d->conv != PT_ADDRESS || !(d->flags & PF_OF_SOCKET) || !pa->pending)
			continue;
		v = pa->pending;
		pa->pending = NULL;
		pa->given = false;
		r = conv_address(d, v, pa, out, ctx, err);
		if (r < 0) {
			if (r != -ENOMEM)
				decode_error_prefix(err, d->name);
			return r;
		}
	}
	return 0;
}

void params_free(const struct param_desc *descs, void *out)
{
	for (const struct param_desc *d = descs; d && d->name; d++)
		if (d->conv->free)
			d->conv->free(d, FIELD(out, d));
}

json_object *params_schema(const struct param_desc *d)
{
	json_object *s = json_object_new_object();

	d->conv->schema(d, s);
	if (d->doc)
		json_object_object_add(s, "description", json_object_new_string(d->doc));
	return s;
}
