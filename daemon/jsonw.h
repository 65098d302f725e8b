/* A small writer of one JSON object into a caller's buffer, for records made
 * on every request (the audit record, authz.c) where building json-c objects
 * costs a malloc per member. The text is byte for byte what json-c's
 * json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE) gives for the same members added in the
 * same order: no spaces; in strings and keys '"', '\\', \b \f \n \r \t as
 * two-character escapes, other bytes below 0x20 as \u00xx (lower-case hex),
 * every other byte (0x7f, UTF-8) as it is; a NULL string is null.
 *
 * It starts in the caller's buffer (the stack) and moves to the heap only
 * for a record that outgrows it. After a failed allocation every further
 * call is a no-op and jsonw_text gives NULL. */
#ifndef SBD_JSONW_H
#define SBD_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting depth of objects; deeper opens fail the writer (EINVAL). */
#define JSONW_DEPTH_MAX 8

struct jsonw {
	char *buf;                  /* stack, or malloc'd once the text outgrew it */
	size_t len, cap;
	char *stack;
	unsigned depth;             /* objects open */
	unsigned char more[JSONW_DEPTH_MAX];   /* the object at that depth has a member */
	int err;                    /* 0, or -ENOMEM / -EINVAL: the text is lost */
};

/* Starts an empty text in stack (size bytes, at least 1). */
void jsonw_init(struct jsonw *w, char *stack, size_t size);
/* Frees what the writer allocated (not stack). */
void jsonw_fini(struct jsonw *w);

/* key NULL: the top-level object (or an array element, unused here). */
void jsonw_open(struct jsonw *w, const char *key);
void jsonw_close(struct jsonw *w);
/* s NULL: null. */
void jsonw_str(struct jsonw *w, const char *key, const char *s);
void jsonw_int(struct jsonw *w, const char *key, int64_t v);
void jsonw_uint(struct jsonw *w, const char *key, uint64_t v);
void jsonw_bool(struct jsonw *w, const char *key, bool v);
void jsonw_null(struct jsonw *w, const char *key);

/* The text, NUL-terminated, and its length; valid until jsonw_fini. NULL
 * (and *len 0) when it could not be made or objects are still open. */
const char *jsonw_text(struct jsonw *w, size_t *len);

#endif
