/* Typed, validated method parameters: each method describes its params as a
 * table of fields (name, type, offset into the method's C struct, bounds), in
 * the manner of systemd's sd_json_dispatch_field. The dispatcher fills the
 * struct once, strictly; handlers never see raw JSON params. The same table
 * produces the method's schema for rpc.discover and the docs. */
#ifndef SBD_PARAMS_H
#define SBD_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

enum param_type {
	PT_STRING,    /* const char * (borrowed from the request) */
	PT_INT,       /* int64_t, within [min, max] when min < max */
	PT_BOOL,      /* bool */
	PT_NUMBER,    /* double (an integer is accepted too), >= 0 when PF_NONNEG */
	PT_TIMEOUT,   /* struct param_timeout: seconds >= 0, or null = block */
	PT_CONST,     /* int: a name of table `kind` or an integer */
	PT_FLAGS,     /* int: an array of names of table `kind`, or an integer */
	PT_BYTES,     /* struct param_bytes: "data" (base64) or "text" (UTF-8) */
	PT_OBJECT,    /* json_object * (borrowed) */
	PT_ARRAY,     /* json_object * (borrowed) */
	PT_ANY,       /* json_object * (borrowed; may be NULL for JSON null) */
};

#define PF_REQUIRED 0x1
#define PF_NONNEG   0x2

struct param_timeout {
	bool given;       /* the member was present */
	bool block;       /* null: no limit */
	double seconds;
};

struct param_bytes {
	bool given;
	unsigned char *buf;   /* malloc'd; freed by params_free */
	size_t len;
};

struct param_desc {
	const char *name;
	enum param_type type;
	size_t offset;
	unsigned flags;
	long long min, max;   /* PT_INT bounds when min < max */
	long long def;        /* PT_INT, PT_BOOL, PT_CONST, PT_FLAGS default */
	int kind;             /* enum sbc_kind for PT_CONST / PT_FLAGS */
	const char *doc;      /* one line for rpc.discover */
};

/* Parameter error for the caller: which member and why. */
struct param_error {
	const char *param;    /* from the desc or the params object; NULL for the object itself */
	char msg[200];
};

/* Fills `out` (a zeroed struct of the method's params type) from params
 * (an object or NULL). Members not in descs are rejected, except those named
 * in `allow_extra` (NULL-terminated, e.g. the framework's "fds").
 * 0, or -EINVAL with *err filled, or -ENOMEM. On error, params_free(out) is
 * already done. */
int params_parse(const struct param_desc *descs, json_object *params,
                 const char *const *allow_extra, void *out, struct param_error *err);

/* Frees what params_parse allocated inside out (PT_BYTES buffers). */
void params_free(const struct param_desc *descs, void *out);

/* JSON Schema of one parameter, for rpc.discover. */
json_object *params_schema(const struct param_desc *d);

#endif
