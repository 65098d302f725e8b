/* Typed, validated method parameters, in the manner of systemd's
 * sd_json_dispatch: each method describes its params as a table of fields
 * {name, converter, offset into the method's C struct, flags, converter
 * arguments}. params_parse() fills the struct once, strictly; handlers never
 * see raw JSON params. The same table produces the method's schema for
 * rpc.discover and the docs.
 *
 * A converter is a decode function plus what the framework needs to handle
 * the member around it: its default when absent, what to free, its schema.
 * Errors are one struct decode_error (proto/decerr.h) whose path names the
 * member at fault relative to the params object ("address.port",
 * "as.groups[2]"): a converter reports a path relative to its own value and
 * the framework puts the member's name in front, level by level. */
#ifndef SBD_PARAMS_H
#define SBD_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "addr.h"
#include "decerr.h"
#include "sockopt.h"

struct param_desc;

/* What a decode may depend on beyond the JSON value: the socket the request is
 * about (the address converter decodes for its family). */
struct param_ctx {
	int family, type, proto;
};

struct param_converter {
	const char *name;         /* for the docs: "string", "integer", ... */
	/* Decodes v (never NULL unless null_ok) into field. base is the struct
	 * being filled: rows above this one are decoded already. 0, or -errno
	 * with err set (path relative to v), or -ENOMEM. */
	int (*decode)(const struct param_desc *d, json_object *v, void *field, const void *base,
	              const struct param_ctx *ctx, struct decode_error *err);
	void (*set_default)(const struct param_desc *d, void *field);   /* NULL: left zero */
	void (*free)(const struct param_desc *d, void *field);          /* NULL: nothing to free */
	void (*schema)(const struct param_desc *d, json_object *s);     /* fills a JSON Schema */
	bool null_ok;             /* JSON null is a value it decodes */
	/* A second spelling of the member, decoded by decode_alias (bytes:
	 * "text" beside "data"); giving both is an error. */
	const char *alias;
	int (*decode_alias)(const struct param_desc *d, json_object *v, void *field,
	                    struct decode_error *err);
};

/* The built-in converters. PT_* name them, so a row reads
 * { "port", PT_INT, offsetof(...), PF_REQUIRED, 0, 65535 }. */
extern const struct param_converter param_conv_string, param_conv_int, param_conv_bool,
	param_conv_number, param_conv_timeout, param_conv_const, param_conv_flags, param_conv_bytes,
	param_conv_object, param_conv_array, param_conv_any, param_conv_nested, param_conv_list,
	param_conv_address, param_conv_sockopt, param_conv_sockopt_name, param_conv_host_port;

#define PT_STRING  (&param_conv_string)   /* const char * (borrowed from the request; no NUL inside) */
#define PT_INT     (&param_conv_int)      /* int64_t, within [min, max] when min < max */
#define PT_BOOL    (&param_conv_bool)     /* bool */
#define PT_NUMBER  (&param_conv_number)   /* double (an integer is accepted too), >= 0 when PF_NONNEG */
#define PT_TIMEOUT (&param_conv_timeout)  /* struct param_timeout: seconds >= 0, or null = block */
#define PT_CONST   (&param_conv_const)    /* int: a name of table `kind` or an integer */
#define PT_FLAGS   (&param_conv_flags)    /* int: an array of names of table `kind`, or an integer */
#define PT_BYTES   (&param_conv_bytes)    /* struct param_bytes: "data" (base64) or "text" (UTF-8) */
#define PT_OBJECT  (&param_conv_object)   /* json_object * (borrowed) */
#define PT_ARRAY   (&param_conv_array)    /* json_object * (borrowed) */
#define PT_ANY     (&param_conv_any)      /* json_object * (borrowed; may be NULL for JSON null) */
/* An object decoded by the table .fields into the struct at offset. */
#define PT_NESTED  (&param_conv_nested)
/* struct param_list: an array whose items the one-row table .fields decodes
 * (its offset 0) into .size-byte items; at most .max items when max > 0. */
#define PT_LIST    (&param_conv_list)
/* struct param_address: a socket address for the family of the decode
 * context (no context: .def; AF_UNSPEC there: .arg's family_of, else guessed
 * from the value). A host name is not resolved here: it is handed to the
 * caller in .host (PF_NONAME: refused). An AF_UNIX name too long fails
 * with -ENAMETOOLONG (the message in the decode error), not -EINVAL. */
#define PT_ADDRESS (&param_conv_address)
/* struct param_sockopt: a setsockopt value, encoded as sockopt_encode does
 * for the level and option held by the rows .arg names (struct
 * param_sockopt_arg), which come above it in the table. */
#define PT_SOCKOPT (&param_conv_sockopt)
/* struct param_host_port: a numeric [host, port] of AF_INET or AF_INET6, or
 * [host, port] / {host, port} with a host name (1 to 1024 bytes, no NUL)
 * to resolve, as Python's create_connection takes it. */
#define PT_HOST_PORT (&param_conv_host_port)
/* int: an option's name (or number) at the level held by the row .arg's
 * level_offset names (struct param_sockopt_arg), which comes above it. */
#define PT_SOCKOPT_NAME (&param_conv_sockopt_name)

#define PF_REQUIRED 0x1
#define PF_NONNEG   0x2
#define PF_NONAME   0x4   /* PT_ADDRESS: a host name is an error, not a name to resolve */
#define PF_OF_SOCKET 0x8  /* PT_ADDRESS: for the family of the socket the request is about;
                           * parsed without a param_ctx, the value waits (pending) for
                           * params_decode_late, once that socket is known */

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

struct param_list {
	size_t n;
	void *items;          /* malloc'd, n * .size bytes; freed (with the items) by params_free */
};

struct param_address {
	bool given;
	struct sbaddr a;      /* the address; for a name: the port (and scope) with a zero host */
	char *host;           /* non-NULL: a name the caller must resolve (SBADDR_NEEDS_RESOLVE);
	                       * malloc'd, freed by params_free */
	json_object *pending; /* PF_OF_SOCKET, not decoded yet (borrowed from the params) */
};

struct param_host_port {
	bool literal;         /* a numeric address, in a */
	struct sbaddr a;
	char *host;           /* a name, malloc'd (freed by params_free); NULL for a literal */
	int port;
};

struct param_address_arg {
	int (*family_of)(json_object *v);   /* AF_UNSPEC: none that will do */
	const char *unknown;                /* the message then */
};

struct param_sockopt_arg {
	size_t level_offset;  /* int: the option's level (a PT_CONST row above) */
	size_t option_offset; /* int: the option number */
};

struct param_sockopt {
	bool given;
	unsigned char buf[SOCKOPT_MAX_LEN];
	socklen_t len;
};

struct param_desc {
	const char *name;
	const struct param_converter *conv;
	size_t offset;
	unsigned flags;
	long long min, max;   /* PT_INT bounds when min < max; PT_LIST: max items when max > 0 */
	long long def;        /* PT_INT, PT_BOOL, PT_CONST, PT_FLAGS default; PT_ADDRESS family */
	int kind;             /* enum sbc_kind for PT_CONST / PT_FLAGS */
	const char *doc;      /* one line for rpc.discover */
	const struct param_desc *fields;   /* PT_NESTED: the table; PT_LIST: the item's row */
	size_t size;          /* PT_LIST: bytes per item */
	const void *arg;      /* a converter's own argument: struct param_address_arg, param_sockopt_arg */
};

/* Fills `out` (a zeroed struct of the method's params type) from params
 * (an object or NULL). Members not in descs are rejected, except those named
 * in `allow_extra` (NULL-terminated, e.g. the framework's "fds"). ctx may be
 * NULL. 0, or -EINVAL (or a converter's -errno) with *err filled, or -ENOMEM.
 * On error, params_free(out) is already done. */
int params_parse(const struct param_desc *descs, json_object *params,
                 const char *const *allow_extra, void *out, struct decode_error *err);
int params_parse_ctx(const struct param_desc *descs, json_object *params,
                     const char *const *allow_extra, const struct param_ctx *ctx, void *out,
                     struct decode_error *err);

/* Decodes the PF_OF_SOCKET addresses params_parse left pending, for the
 * socket ctx describes. 0, -EINVAL with *err (path from the member), or
 * -ENOMEM. */
int params_decode_late(const struct param_desc *descs, void *out, const struct param_ctx *ctx,
                       struct decode_error *err);

/* Frees what params_parse allocated inside out (bytes, lists, host names). */
void params_free(const struct param_desc *descs, void *out);

/* JSON Schema of one parameter, for rpc.discover. */
json_object *params_schema(const struct param_desc *d);

#endif
