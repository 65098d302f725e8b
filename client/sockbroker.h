/* libsockbroker: the C client of sockbrokerd (protocol v1).
 *
 * Every function returns 0 (or a non-negative value) on success and -errno on
 * failure; none prints or exits. One sb_client may be shared by threads: calls
 * from several threads run concurrently on the one connection and each gets the
 * reply with its own id. JSON crosses this API as text so that callers need no
 * particular JSON library. */
#ifndef SOCKBROKER_H
#define SOCKBROKER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SB_DEFAULT_SOCKET "/run/sockbroker/control.sock"

typedef struct sb_client sb_client;
typedef struct sb_reply sb_reply;

/* Error codes a reply may carry (protocol section 4). */
enum {
	SB_PARSE_ERROR = -32700,
	SB_INVALID_REQUEST = -32600,
	SB_METHOD_NOT_FOUND = -32601,
	SB_INVALID_PARAMS = -32602,
	SB_INTERNAL_ERROR = -32603,
	SB_OS_ERROR = -32000,
	SB_GAI_ERROR = -32001,
	SB_HOST_ERROR = -32002,
	SB_TIMEOUT = -32003,
	SB_DENIED = -32010,
	SB_NO_HANDLE = -32011,
	SB_LIMIT = -32012,
};

/* The socket path a client uses when given none: $SOCKBROKER_SOCKET if set and
 * non-empty, else SB_DEFAULT_SOCKET. */
const char *sb_socket_path(void);

/* Connects to path (NULL: sb_socket_path()). 0 or -errno (-ENOENT, -ECONNREFUSED, ...). */
int sb_connect(const char *path, sb_client **out);
/* Closes the connection and frees the client; NULL is fine. No call may be running. */
void sb_close(sb_client *c);

/* Upper bound, in milliseconds, that a call waits for its reply (default: no
 * bound, -1). A call that runs past it returns -ETIMEDOUT. */
void sb_set_timeout(sb_client *c, int timeout_ms);

/* Sends one request and waits for its reply.
 * params_json: a JSON object as text, or NULL for none.
 * fds/nfds: descriptors sent with the request (the caller keeps its own; the
 * library adds "fds": nfds to params). Returns 0 when a reply arrived, whether
 * it is a result or an error (see sb_reply_*), or -errno when the exchange
 * failed: -EINVAL (params not a JSON object), -EPIPE/-ECONNRESET (daemon gone),
 * -EPROTO (malformed reply), -ETIMEDOUT. */
int sb_call(sb_client *c, const char *method, const char *params_json,
            const int *fds, size_t nfds, sb_reply **out);

/* Sends a notification (no reply). */
int sb_notify(sb_client *c, const char *method, const char *params_json);

/* 1 when the reply is a result, 0 when it is an error. */
int sb_reply_ok(const sb_reply *r);
/* The result as JSON text (NULL for an error reply). Valid until sb_reply_free. */
const char *sb_reply_result(const sb_reply *r);
/* The error's code, message, and data as JSON text (NULL when absent). */
int sb_reply_error_code(const sb_reply *r);
const char *sb_reply_error_message(const sb_reply *r);
const char *sb_reply_error_data(const sb_reply *r);
/* Descriptors that came with the reply. take hands one over (the reply forgets
 * it; -1 if out of range or already taken). */
size_t sb_reply_nfds(const sb_reply *r);
int sb_reply_take_fd(sb_reply *r, size_t i);
/* Frees the reply and closes descriptors nobody took. NULL is fine. */
void sb_reply_free(sb_reply *r);

/* A sentence for a library error (-errno from the functions above). */
const char *sb_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
