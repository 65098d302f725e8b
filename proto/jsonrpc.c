#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"

const char *jrpc_code_name(int code)
{
	switch (code) {
	case JRPC_PARSE_ERROR: return "Parse error";
	case JRPC_INVALID_REQUEST: return "Invalid Request";
	case JRPC_METHOD_NOT_FOUND: return "Method not found";
	case JRPC_INVALID_PARAMS: return "Invalid params";
	case JRPC_INTERNAL_ERROR: return "Internal error";
	case SB_ERR_OS: return "OS error";
	case SB_ERR_GAI: return "Address resolution error";
	case SB_ERR_HOST: return "Host error";
	case SB_ERR_TIMEOUT: return "Timed out";
	case SB_ERR_DENIED: return "Denied by policy";
	case SB_ERR_NO_HANDLE: return "No such handle";
	case SB_ERR_LIMIT: return "Limit reached";
	case SB_ERR_HELD_EXISTS: return "Name held already";
	case SB_ERR_NO_HELD: return "No such held socket";
	default: return "Error";
	}
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Scans a string starting at s[*i] == '"'; *nul (when not NULL) tells
 * whether it holds an escaped NUL (\u0000). */
static bool scan_string(const char *s, size_t n, size_t *i, const char **why, bool *nul)
{
	size_t p = *i + 1;

	if (nul)
		*nul = false;

	while (p < n) {
		unsigned char c = (unsigned char)s[p];
		if (c == '"') {
			*i = p + 1;
			return true;
		}
		if (c == '\\') {
			if (p + 1 >= n)
				break;
			switch (s[p + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				if (p + 5 >= n || !is_hex(s[p + 2]) || !is_hex(s[p + 3]) || !is_hex(s[p + 4]) ||
				    !is_hex(s[p + 5])) {
					*why = "bad \\u escape";
					return false;
				}
				if (nul && memcmp(s + p + 2, "0000", 4) == 0)
					*nul = true;
				p += 6;
				continue;
			default:
				*why = "bad escape in string";
				return false;
			}
		}
		if (c < 0x20) {
			*why = "control character in string";
			return false;
		}
		{
			size_t l = utf8_seq((const unsigned char *)s + p, n - p);
			if (!l) {
				*why = "invalid UTF-8";
				return false;
			}
			p += l;
		}
	}
	*why = "unterminated string";
	return false;
}

static bool scan_number(const char *s, size_t n, size_t *i, const char **why)
{
	size_t p = *i;

	if (p < n && s[p] == '-')
		p++;
	if (p < n && s[p] == '0')
		p++;
	else if (p < n && s[p] >= '1' && s[p] <= '9')
		while (p < n && is_digit(s[p]))
			p++;
	else
		goto bad;
	if (p < n && s[p] == '.') {
		p++;
		if (p >= n || !is_digit(s[p]))
			goto bad;
		while (p < n && is_digit(s[p]))
			p++;
	}
	if (p < n && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < n && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= n || !is_digit(s[p]))
			goto bad;
		while (p < n && is_digit(s[p]))
			p++;
	}
	*i = p;
	return true;
bad:
	*why = "malformed number";
	return false;
}

/* Strict RFC 8259 check of one JSON text, in one pass with a bounded stack:
 * json-c alone accepts some non-JSON (a single-quoted member name, NaN,
 * Infinity, raw control characters, encoded surrogates: docs/design.md),
 * and the protocol promises strict parsing. */
static bool json_text_ok(const char *s, size_t n, int max_depth, const char **why)
{
	enum { VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, COLON, AFTER } st = VALUE;
	char stack[256];
	int depth = 0;
	size_t i = 0;

	if (max_depth > (int)sizeof(stack))
		max_depth = (int)sizeof(stack);
	for (;;) {
		char c;

		while (i < n && is_json_space(s[i]))
			i++;
		if (i == n) {
			if (st == AFTER && depth == 0)
				return true;
			*why = "incomplete JSON text";
			return false;
		}
		c = s[i];
		switch (st) {
		case VALUE_OR_CLOSE:
			if (c == ']') {
				depth--;
				i++;
				st = AFTER;
				break;
			}
			/* fall through */
		case VALUE:
			if (c == '{' || c == '[') {
				if (depth >= max_depth - 1) {
					*why = "nesting too deep";
					return false;
				}
				stack[depth++] = c;
				i++;
				st = c == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
			} else if (c == '"') {
				if (!scan_string(s, n, &i, why, NULL))
					return false;
				st = AFTER;
			} else if (c == '-' || is_digit(c)) {
				if (!scan_number(s, n, &i, why))
					return false;
				st = AFTER;
			} else if (n - i >= 4 && (memcmp(s + i, "true", 4) == 0 || memcmp(s + i, "null", 4) == 0)) {
				i += 4;
				st = AFTER;
			} else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
				i += 5;
				st = AFTER;
			} else {
				*why = "unexpected character";
				return false;
			}
			break;
		case KEY_OR_CLOSE:
			if (c == '}') {
				depth--;
				i++;
				st = AFTER;
				break;
			}
			/* fall through */
		case KEY:
			if (c != '"') {
				*why = "object member names must be strings";
				return false;
			}
			{
				bool nul;
				if (!scan_string(s, n, &i, why, &nul))
					return false;
				/* json-c keeps member names as C strings: "method\u0000x"
				 * would become "method". */
				if (nul) {
					*why = "a member name holds \\u0000";
					return false;
				}
			}
			st = COLON;
			break;
		case COLON:
			if (c != ':') {
				*why = "':' expected after a member name";
				return false;
			}
			i++;
			st = VALUE;
			break;
		case AFTER:
			if (depth == 0) {
				*why = "data after the JSON text";
				return false;
			}
			if (c == ',') {
				i++;
				st = stack[depth - 1] == '{' ? KEY : VALUE;
			} else if ((c == '}' && stack[depth - 1] == '{') || (c == ']' && stack[depth - 1] == '[')) {
				depth--;
				i++;
			} else {
				*why = "',' or a closing bracket expected";
				return false;
			}
			break;
		}
	}
}

struct jrpc_parser {
	struct json_tokener *tok;
	int max_depth;
};

struct jrpc_parser *jrpc_parser_new(int max_depth)
{
	struct jrpc_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->max_depth = max_depth;
	p->tok = json_tokener_new_ex(max_depth);
	if (!p->tok) {
		free(p);
		return NULL;
	}
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	return p;
}

void jrpc_parser_free(struct jrpc_parser *p)
{
	if (!p)
		return;
	json_tokener_free(p->tok);
	free(p);
}

int jrpc_parse(const char *text, size_t len, int max_depth, json_object **root,
               const char **why)
{
	struct jrpc_parser *p = jrpc_parser_new(max_depth);
	int r;

	*root = NULL;
	if (!p) {
		*why = "out of memory";
		return JRPC_PARSE_ERROR;
	}
	r = jrpc_parser_parse(p, text, len, root, why);
	jrpc_parser_free(p);
	return r;
}

/* ---- ids echoed as sent ----
 *
 * json-c keeps the text of every number it reads as a double, but reads
 * integers into 64 bits: 123456789012345678901234567890 becomes
 * 18446744073709551615, -1234...890 INT64_MIN, and -0 becomes 0. An id whose
 * value may have lost its text gets a serializer that prints the token as it
 * came, found in the raw text (which json_text_ok has checked). */

/* Whether json-c's integer j may differ from the text it was read from. */
static bool int_may_be_lossy(json_object *j)
{
	int64_t v;

	if (!json_object_is_type(j, json_type_int))
		return false;
	v = json_object_get_int64(j);
	return v == 0 || v == INT64_MIN || (v == INT64_MAX && json_object_get_uint64(j) == UINT64_MAX);
}

static json_object *member_id(json_object *o)
{
	json_object *id = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, "id", &id);
	return id;
}

/* Whether the member name s[at..end) (with its quotes) means "id", escapes
 * decoded ("\u0069d" is "id" too). */
static bool key_is_id(const char *s, size_t at, size_t end)
{
	char got[3];
	size_t n = 0;

	for (size_t p = at + 1; p + 1 < end; ) {
		char c = s[p];
		if (n == sizeof(got) - 1)
			return false;
		if (c == '\\') {
			unsigned v = 0;
			if (s[p + 1] != 'u')
				return false;   /* \n, \" and the like are not 'i' or 'd' */
			for (int k = 2; k < 6; k++)
				v = v * 16 + (unsigned)(is_digit(s[p + k]) ? s[p + k] - '0' : (s[p + k] | 0x20) - 'a' + 10);
			if (v >= 0x80)
				return false;
			c = (char)v;
			p += 6;
		} else {
			p++;
		}
		got[n++] = c;
	}
	return n == 2 && got[0] == 'i' && got[1] == 'd';
}

struct id_span {
	size_t at, len;     /* len 0: the last "id" member held no number */
};

/* For the top-level object (spans[0]) or each object of a top-level array
 * (spans[k] for element k < nspans): where the number of its last "id"
 * member sits in the text. The text is valid JSON (json_text_ok). */
static void find_id_spans(const char *s, size_t n, struct id_span *spans, size_t nspans)
{
	char stack[256];
	int depth = 0;
	size_t i = 0, elem = 0;
	bool want_key = false, id_value = false;
	const char *why;

	while (i < n) {
		char c = s[i];
		/* Deeper than the stack: no id level, and only the depth counts. */
		char top = depth >= 1 && depth <= (int)sizeof(stack) ? stack[depth - 1] : 0;
		bool is_id_level;

		if (is_json_space(c) || c == ':') {
			i++;
			continue;
		}
		/* Directly in the top-level object, or in an object of the top array. */
		is_id_level = top == '{' && (depth == 1 || (depth == 2 && stack[0] == '['));
		if (c == ',') {
			want_key = top == '{';
			if (depth == 1 && stack[0] == '[')
				elem++;
			i++;
			continue;
		}
		if (c == '{' || c == '[') {
			id_value = false;
			if (depth < (int)sizeof(stack))
				stack[depth] = c;
			depth++;
			want_key = c == '{';
			i++;
			continue;
		}
		if (c == '}' || c == ']') {
			depth--;
			want_key = false;
			i++;
			continue;
		}
		if (c == '"') {
			size_t at = i;
			if (!scan_string(s, n, &i, &why, NULL))
				return;
			if (want_key) {
				want_key = false;
				id_value = is_id_level && key_is_id(s, at, i);
				if (id_value && elem < nspans)
					spans[elem].len = 0;
			} else {
				id_value = false;
			}
			continue;
		}
		if (c == '-' || is_digit(c)) {
			size_t at = i;
			if (!scan_number(s, n, &i, &why))
				return;
			if (id_value && elem < nspans)
				spans[elem] = (struct id_span){ at, i - at };
			id_value = false;
			continue;
		}
		/* true, false, null */
		id_value = false;
		while (i < n && s[i] >= 'a' && s[i] <= 'z')
			i++;
	}
}

/* Makes id print text[sp] from now on. */
static void keep_id_text(json_object *id, const char *text, const struct id_span *sp)
{
	char *t;

	if (!sp->len)
		return;
	t = strndup(text + sp->at, sp->len);
	if (t)
		json_object_set_serializer(id, json_object_userdata_to_json_string, t, json_object_free_userdata);
}

static int keep_id_texts(json_object *root, const char *text, size_t len)
{
	struct id_span one = { 0, 0 }, *spans = &one;
	size_t n = 1;
	bool any = false;

	if (json_object_is_type(root, json_type_array)) {
		n = json_object_array_length(root);
		for (size_t k = 0; k < n && !any; k++)
			any = int_may_be_lossy(member_id(json_object_array_get_idx(root, k)));
		if (!any)
			return 0;
		spans = calloc(n, sizeof(*spans));
		if (!spans)
			return -1;
		find_id_spans(text, len, spans, n);
		for (size_t k = 0; k < n; k++) {
			json_object *id = member_id(json_object_array_get_idx(root, k));
			if (int_may_be_lossy(id))
				keep_id_text(id, text, &spans[k]);
		}
		free(spans);
		return 0;
	}
	if (!int_may_be_lossy(member_id(root)))
		return 0;
	find_id_spans(text, len, &one, 1);
	keep_id_text(member_id(root), text, &one);
	return 0;
}

int jrpc_parser_parse(struct jrpc_parser *p, const char *text, size_t len, json_object **root,
                      const char **why)
{
	struct json_tokener *tok = p->tok;
	int max_depth = p->max_depth;
	json_object *obj;
	enum json_tokener_error jerr;
	char *copy = NULL;
	int r;

	*root = NULL;
	if (len > INT32_MAX - 2) {
		*why = "message too long";
		return JRPC_PARSE_ERROR;
	}
	if (!json_text_ok(text, len, max_depth, why))
		return JRPC_PARSE_ERROR;
	/* json-c waits for more input after a bare top-level number; a copy with a
	 * trailing space ends it. Only scalars need this, and they are short-lived
	 * invalid requests anyway. */
	{
		size_t k = 0;
		while (k < len && is_json_space(text[k]))
			k++;
		if (k < len && text[k] != '{' && text[k] != '[') {
			copy = malloc(len + 1);
			if (!copy) {
				*why = "out of memory";
				return JRPC_PARSE_ERROR;
			}
			memcpy(copy, text, len);
			copy[len] = ' ';
			text = copy;
			len++;
		}
	}
	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	json_tokener_reset(tok);
	if (jerr != json_tokener_success) {
		/* The grammar check passed, so this is json-c's own limit. */
		free(copy);
		json_object_put(obj);
		*why = jerr == json_tokener_error_depth ? "nesting too deep" : json_tokener_error_desc(jerr);
		return JRPC_PARSE_ERROR;
	}
	r = keep_id_texts(obj, text, len);
	free(copy);
	if (r < 0) {
		json_object_put(obj);
		*why = "out of memory";
		return JRPC_PARSE_ERROR;
	}
	/* A top-level null is valid JSON (json-c's NULL); it is an invalid request. */
	*root = obj;
	return 0;
}

/* Whether j is the JSON string lit, compared over its whole length: a C
 * comparison would stop at a NUL inside it ("2.0\u0000x"). */
static bool is_string_lit(json_object *j, const char *lit)
{
	size_t n = strlen(lit);

	return json_object_is_type(j, json_type_string) && (size_t)json_object_get_string_len(j) == n &&
	       memcmp(json_object_get_string(j), lit, n) == 0;
}

/* Whether the JSON string j holds a NUL byte. */
static bool string_has_nul(json_object *j)
{
	return memchr(json_object_get_string(j), '\0', (size_t)json_object_get_string_len(j)) != NULL;
}

/* An acceptable id: string, number, or null (JSON-RPC 2.0 section 4). */
static bool id_acceptable(json_object *id)
{
	switch (json_object_get_type(id)) {
	case json_type_null:
	case json_type_string:
	case json_type_int:
	case json_type_double:
		return true;
	default:
		return false;
	}
}

int jrpc_validate_request(json_object *elem, struct jrpc_request *req, const char **why)
{
	json_object *jv = NULL, *jm = NULL, *jid = NULL, *jp = NULL;
	bool has_id = false, has_params = false, unknown = false;

	memset(req, 0, sizeof(*req));
	req->notification = false;
	if (!json_object_is_type(elem, json_type_object)) {
		*why = "a request must be a JSON object";
		return JRPC_INVALID_REQUEST;
	}
	json_object_object_foreach(elem, key, val) {
		if (strcmp(key, "jsonrpc") == 0)
			jv = val;
		else if (strcmp(key, "method") == 0)
			jm = val;
		else if (strcmp(key, "id") == 0) {
			jid = val;
			has_id = true;
		} else if (strcmp(key, "params") == 0) {
			jp = val;
			has_params = true;
		} else {
			/* Keep scanning: the id may come later and the error is answered to it. */
			unknown = true;
		}
	}
	if (has_id && !id_acceptable(jid)) {
		*why = "id must be a string, a number or null";
		req->notification = false;
		return JRPC_INVALID_REQUEST;
	}
	if (unknown) {
		*why = "unknown member in request (allowed: jsonrpc, method, params, id)";
		goto invalid;
	}
	if (!jv || !is_string_lit(jv, "2.0")) {
		*why = "jsonrpc must be exactly \"2.0\"";
		goto invalid;
	}
	if (!jm || !json_object_is_type(jm, json_type_string)) {
		*why = "method must be a string";
		goto invalid;
	}
	if (jp && json_object_is_type(jp, json_type_array)) {
		req->id = jid;
		req->notification = !has_id;
		req->method = json_object_get_string(jm);
		*why = "params must be an object (this protocol takes named parameters only)";
		return JRPC_INVALID_PARAMS;
	}
	if (has_params && !json_object_is_type(jp, json_type_object)) {
		*why = "params must be an object";
		goto invalid;
	}
	req->id = jid;
	req->notification = !has_id;
	req->method = json_object_get_string(jm);
	req->params = jp;
	/* A method name is a C string to every look-up: "admin.stats\u0000junk"
	 * must not find admin.stats. No method holds a NUL. */
	if (string_has_nul(jm)) {
		*why = "no method name holds a NUL byte";
		return JRPC_METHOD_NOT_FOUND;
	}
	return 0;

invalid:
	/* An invalid request is answered even without an id (spec section 5):
	 * echo the id when it was usable, else null. */
	req->id = has_id ? jid : NULL;
	req->notification = false;
	return JRPC_INVALID_REQUEST;
}

#define CONST_KEY (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)

static json_object *envelope(json_object *id)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (json_object_object_add_ex(o, "jsonrpc", json_object_new_string("2.0"), CONST_KEY) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *add_id(json_object *o, json_object *id)
{
	if (json_object_object_add_ex(o, "id", id ? json_object_get(id) : NULL, CONST_KEY) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *jrpc_result_new(json_object *id, json_object *result)
{
	json_object *o = envelope(id);

	if (!o) {
		json_object_put(result);
		return NULL;
	}
	if (json_object_object_add_ex(o, "result", result, CONST_KEY) < 0) {
		json_object_put(result);
		json_object_put(o);
		return NULL;
	}
	return add_id(o, id);
}

json_object *jrpc_error_new(json_object *id, int code, const char *message, json_object *data)
{
	json_object *o = envelope(id), *err = json_object_new_object();

	if (!o || !err)
		goto fail;
	json_object_object_add(err, "code", json_object_new_int(code));
	json_object_object_add(err, "message", json_object_new_string(message ? message : jrpc_code_name(code)));
	if (data)
		json_object_object_add(err, "data", data);
	json_object_object_add(o, "error", err);
	return add_id(o, id);
fail:
	json_object_put(o);
	json_object_put(err);
	json_object_put(data);
	return NULL;
}

json_object *jrpc_request_new(const char *method, json_object *params, long long id)
{
	json_object *o = envelope(NULL);

	if (!o) {
		json_object_put(params);
		return NULL;
	}
	json_object_object_add(o, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(o, "params", params);
	if (id >= 0)
		json_object_object_add(o, "id", json_object_new_int64(id));
	return o;
}

const char *jrpc_to_string(json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	                                         JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

int jrpc_validate_response(json_object *elem, struct jrpc_response *resp, const char **why)
{
	json_object *jv = NULL, *jid = NULL, *jres = NULL, *jerr = NULL;
	bool has_id = false, has_result = false;

	memset(resp, 0, sizeof(*resp));
	if (!json_object_is_type(elem, json_type_object)) {
		*why = "a response must be a JSON object";
		return JRPC_INVALID_REQUEST;
	}
	json_object_object_foreach(elem, key, val) {
		if (strcmp(key, "jsonrpc") == 0)
			jv = val;
		else if (strcmp(key, "id") == 0) {
			jid = val;
			has_id = true;
		} else if (strcmp(key, "result") == 0) {
			jres = val;
			has_result = true;
		} else if (strcmp(key, "error") == 0)
			jerr = val;
		else {
			*why = "unknown member in response";
			return JRPC_INVALID_REQUEST;
		}
	}
	if (!jv || !is_string_lit(jv, "2.0")) {
		*why = "jsonrpc must be exactly \"2.0\"";
		return JRPC_INVALID_REQUEST;
	}
	if (!has_id || !id_acceptable(jid)) {
		*why = "a response needs an id that is a string, a number or null";
		return JRPC_INVALID_REQUEST;
	}
	if (has_result == (jerr != NULL)) {
		*why = "a response has exactly one of result and error";
		return JRPC_INVALID_REQUEST;
	}
	resp->id = jid;
	if (has_result) {
		resp->result = jres;
		return 0;
	}
	{
		json_object *jc = NULL, *jm = NULL, *jd = NULL;

		if (!json_object_is_type(jerr, json_type_object)) {
			*why = "error must be an object";
			return JRPC_INVALID_REQUEST;
		}
		json_object_object_foreach(jerr, k, v) {
			if (strcmp(k, "code") == 0)
				jc = v;
			else if (strcmp(k, "message") == 0)
				jm = v;
			else if (strcmp(k, "data") == 0)
				jd = v;
			else {
				*why = "unknown member in error";
				return JRPC_INVALID_REQUEST;
			}
		}
		if (!jc || !json_object_is_type(jc, json_type_int) ||
		    !jm || !json_object_is_type(jm, json_type_string)) {
			*why = "error needs an integer code and a string message";
			return JRPC_INVALID_REQUEST;
		}
		resp->code = json_object_get_int(jc);
		if (resp->code == 0) {
			*why = "error code 0";
			return JRPC_INVALID_REQUEST;
		}
		resp->message = json_object_get_string(jm);
		resp->data = jd;
	}
	return 0;
}
