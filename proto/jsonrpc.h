/* JSON-RPC 2.0 envelope: parsing a message, strict validation of requests and
 * responses, building replies, and the error codes (standard and sockbroker's). */
#ifndef SB_JSONRPC_H
#define SB_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

/* JSON-RPC 2.0 standard codes. */
#define JRPC_PARSE_ERROR       -32700
#define JRPC_INVALID_REQUEST   -32600
#define JRPC_METHOD_NOT_FOUND  -32601
#define JRPC_INVALID_PARAMS    -32602
#define JRPC_INTERNAL_ERROR    -32603
/* sockbroker's own (protocol section 4). */
#define SB_ERR_OS              -32000
#define SB_ERR_GAI             -32001
#define SB_ERR_HOST            -32002
#define SB_ERR_TIMEOUT         -32003
#define SB_ERR_DENIED          -32010
#define SB_ERR_NO_HANDLE       -32011
#define SB_ERR_LIMIT           -32012
#define SB_ERR_HELD_EXISTS     -32013   /* hold.put: the name is held already */
#define SB_ERR_NO_HELD         -32014   /* no socket is held under the name */
#define SB_ERR_HELD_DECLARED   -32015   /* hold.take, hold.remove: a declared socket (sockets.d) */

/* Deepest nesting a message may have (JSON-RPC needs very little). */
#define JRPC_MAX_DEPTH 64

/* Short standard name of a code ("Parse error", "Invalid params", "OS error", ...). */
const char *jrpc_code_name(int code);

/* Parses one message's text. On success returns 0 and *root (owned by caller).
 * On failure returns JRPC_PARSE_ERROR and a static description in *why:
 * invalid JSON, invalid UTF-8, nesting deeper than max_depth, trailing data,
 * a member name holding \u0000 (json-c would cut it at the NUL). */
int jrpc_parse(const char *text, size_t len, int max_depth, json_object **root,
               const char **why);

/* A parser to reuse across messages (one json-c tokener, not thread-safe:
 * one per thread). jrpc_parse makes a throwaway one. */
struct jrpc_parser;
struct jrpc_parser *jrpc_parser_new(int max_depth);
void jrpc_parser_free(struct jrpc_parser *p);
int jrpc_parser_parse(struct jrpc_parser *p, const char *text, size_t len, json_object **root,
                      const char **why);

struct jrpc_request {
	json_object *id;       /* borrowed from the element; NULL for a notification */
	bool notification;
	const char *method;    /* borrowed */
	json_object *params;   /* borrowed; NULL when absent; always an object when valid */
};

/* Validates one request object (a message, or one element of a batch).
 * Returns 0 with *req filled, or an error code with a static sentence in *why:
 * JRPC_INVALID_REQUEST (not an object, wrong "jsonrpc", method not a string,
 * id of a wrong type, unknown member, params neither object nor array),
 * JRPC_INVALID_PARAMS (params is an array: this protocol takes named params),
 * JRPC_METHOD_NOT_FOUND (the method name holds a NUL byte, which no method
 * has: req is filled as on success, so a notification gets no reply).
 * On error req->id is the request's id when it was an acceptable id (so the
 * error can be answered to it), else NULL meaning "reply with id null";
 * req->notification tells whether the element had no id at all (a valid-shaped
 * notification whose params are an array gets no reply). */
int jrpc_validate_request(json_object *elem, struct jrpc_request *req, const char **why);

/* Builds {"jsonrpc":"2.0","result":result,"id":id}. result is taken; id is
 * borrowed (a reference is added; NULL means null). NULL on ENOMEM. */
json_object *jrpc_result_new(json_object *id, json_object *result);
/* Builds an error response; data (taken) may be NULL; id as above. */
json_object *jrpc_error_new(json_object *id, int code, const char *message, json_object *data);
/* Builds a request (id < 0: a notification); params taken, may be NULL. */
json_object *jrpc_request_new(const char *method, json_object *params, long long id);

/* Serialises a message in one line (no raw newline), no trailing '\n'.
 * The string belongs to obj. */
const char *jrpc_to_string(json_object *obj, size_t *len);

struct jrpc_response {
	json_object *id;       /* borrowed; json null -> NULL */
	json_object *result;   /* borrowed; set on success */
	int code;              /* 0 on success, else error.code */
	const char *message;   /* error.message */
	json_object *data;     /* error.data, may be NULL */
};

/* Validates a response object strictly (client side). 0 or JRPC_INVALID_REQUEST
 * with *why. */
int jrpc_validate_response(json_object *elem, struct jrpc_response *resp, const char **why);

#endif
