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

/* ---------------------------------------------------------------- typed helpers
 *
 * Each helper makes one or a few calls and returns a ready descriptor (>= 0,
 * CLOEXEC, blocking mode) or -errno. The daemon's error is reported twice: as
 * -errno (see sb_reply_errno) and, when err is not NULL, as the error reply
 * itself in *err (the caller frees it with sb_reply_free). *err is set to NULL
 * whenever no error reply is behind the failure (success, a library error such
 * as -ECONNRESET or -EINVAL). No state is kept between calls: the helpers are
 * as thread-safe as sb_call. */

/* The address shorthand shared by sb_listen and sockbrokerctl:
 *   tcp:HOST:PORT  udp:HOST:PORT   HOST: an IPv4 literal, a host name, "" (any
 *                                  IPv4 address) or "[IPv6 literal]" with an
 *                                  optional %scope inside the brackets;
 *                                  PORT: decimal 0-65535
 *   unix:/path     unix:@name      a path, or an abstract name after '@' */
struct sb_spec {
	int family;             /* AF_INET, AF_INET6, AF_UNIX; AF_UNSPEC for a host name */
	int type;               /* SOCK_STREAM (tcp, unix) or SOCK_DGRAM (udp) */
	char host[256];         /* tcp/udp: the host without brackets */
	int port;               /* tcp/udp: 0-65535; unix: -1 */
	char path[108];         /* unix: the path, or the abstract name without '@' */
	int abstract;           /* unix: 1 for an abstract name */
};

/* Parses spec into *out. 0, -EINVAL (unknown scheme, missing or bad port,
 * unbalanced brackets, an unbracketed IPv6 literal, an empty path, NULL
 * arguments) or -ENAMETOOLONG (a host over 255 bytes, a path that does not fit
 * sun_path). */
int sb_parse_spec(const char *spec, struct sb_spec *out);

/* -errno for an error reply: -32000 gives its data.errno (-EIO when absent),
 * -32010 -EPERM, -32011 -EBADF, -32012 -EMFILE, -32003 -ETIMEDOUT, -32001 and
 * -32002 -ENOENT (no such host), -32602 -EINVAL, -32601 -ENOSYS, anything else
 * -EPROTO. 0 for a result (or NULL). */
int sb_reply_errno(const sb_reply *r);

/* A listener on spec (see sb_spec). tcp: socket.listen_on (SO_REUSEADDR,
 * IPV6_V6ONLY for an IPv6 address as Python's create_server; no dual stack);
 * udp: a bound datagram socket (socket.create, socket.bind, socket.detach;
 * IPV6_V6ONLY set for IPv6 too); unix: a listening AF_UNIX stream socket (a
 * path that exists is EADDRINUSE, nothing is unlinked). A host name goes to
 * the daemon, which resolves it for AF_INET (the first answer, as Python's
 * bind does) and judges it; the library never resolves a name itself.
 * backlog < 0: the daemon's default (128); ignored for udp. */
int sb_listen(sb_client *c, const char *spec, int backlog, sb_reply **err);

/* A TCP connection to host (a literal or a name) and port, as Python's
 * create_connection (socket.connect_to): the daemon resolves a name, tries
 * each address the policy allows in turn until one connects, and a grant
 * pinned to the host name holds; the last error is returned. timeout_s > 0
 * bounds each attempt (-ETIMEDOUT with the -32003 reply); <= 0: the
 * connection's default timeout (initially none). */
int sb_connect_tcp(sb_client *c, const char *host, int port, double timeout_s,
                   sb_reply **err);

/* A new socket of family, type and protocol (socket.create with pass), e.g.
 * sb_socket(c, AF_INET, SOCK_RAW, IPPROTO_ICMP, &err). */
int sb_socket(sb_client *c, int family, int type, int protocol, sb_reply **err);

/* A sentence for a library error (-errno from the functions above). */
const char *sb_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
