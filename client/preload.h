/* libsockbroker-preload.so's own parts (docs/launcher.md, "The preload
 * shim"). Everything here is hidden (-fvisibility=hidden); only the wrapped
 * calls are exported, with SB_EXPORT.
 *
 * The rules every part keeps: it runs inside someone else's program, maybe
 * in a signal handler or in many threads at once. So no malloc, no stdio, no
 * locks on an intercepted system call's path (getaddrinfo, not
 * async-signal-safe itself, may allocate); one private control connection
 * per intercepted call, CLOEXEC, closed before returning; every descriptor
 * received and not placed is closed; and any failure of the shim's own
 * leaves the program's descriptor alone with the original errno. */
#ifndef SB_PRELOAD_H
#define SB_PRELOAD_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define SB_EXPORT __attribute__((visibility("default")))

/* Bounds: one request line, one reply line, and the wait for each. About
 * 7 KiB of the caller's stack in all. */
enum { REQ_MAX = 1024, REPLY_MAX = 4096, IO_TIMEOUT_S = 10 };

/* The C library's calls, found before main (preload.c). NULL until then:
 * each caller falls back to the system call. */
extern int (*real_bind)(int, const struct sockaddr *, socklen_t);
extern int (*real_connect)(int, const struct sockaddr *, socklen_t);
extern int (*real_socket)(int, int, int);
extern int (*real_getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
extern void (*real_freeaddrinfo)(struct addrinfo *);

/* What the environment said when the program started, read once before
 * main: an intercepted call reads no environment (getenv is not
 * async-signal-safe, and a thread may be changing it). */
extern bool shim_connect_through;  /* SOCKBROKER_CONNECT=1 */
/* SOCKBROKER_SOCKET, or the default; shim_control_path_ok false when it
 * does not fit a sockaddr_un (then the shim asks nothing). */
extern char shim_control_path[108];
extern bool shim_control_path_ok;

/* The system calls themselves, for the shim's own use: never through its
 * own exported wrappers. */
int sys_socket(int domain, int type, int proto);
int sys_connect(int fd, const struct sockaddr *addr, socklen_t len);
int sys_bind(int fd, const struct sockaddr *addr, socklen_t len);

/* ---- text building (preload-wire.c) */
struct buf {
	char *p;
	size_t len, cap;
	bool over;
};

void put_mem(struct buf *b, const void *s, size_t n);
void put_str(struct buf *b, const char *s);
void put_int(struct buf *b, long long v);
void put_b64(struct buf *b, const unsigned char *s, size_t n);
/* The address in the protocol's tuple or object form; false for one the
 * shim does not ask for (an unnamed UNIX address, a short one). */
bool put_addr(struct buf *b, const struct sockaddr *sa, socklen_t len);
/* An IPv4 (4 bytes) or IPv6 (16) address, as inet_ntop writes it but
 * without sprintf (not async-signal-safe). */
void put_ip(struct buf *b, int family, const void *addr);
/* A JSON string, quoted and escaped. */
void put_json_str(struct buf *b, const char *s);

/* ---- reading the daemon's reply (preload-wire.c) */
const char *member(const char *s, const char *end, const char *name, int level);
bool parse_int(const char *p, const char *end, long long *out);
const char *skip_value(const char *p, const char *end);
bool get_string(const char *p, const char *end, char *out, size_t cap);

/* ---- the exchange (preload-wire.c) */
struct conn {
	int fd;
	long long id;
	char reply[REPLY_MAX];
	size_t have;    /* bytes in reply, past the line just returned */
	size_t line;    /* length of the current line, with its \n */
	int passed;     /* a descriptor that came with the replies, or -1 */
	int oserr;      /* the errno of the last -32000 error reply, or 0 */
	int code;       /* the code of the last error reply, or 0 */
};

int conn_open(struct conn *c);
void conn_close(struct conn *c);
/* One request (METHOD with the params object PARAMS, braces included), one
 * reply: 0 and *result set to the start of its result, or -1 (an error
 * reply, a lost connection, a reply that is not understood). */
int call(struct conn *c, const char *method, const char *params, size_t plen, const char **result,
	 const char **end);
/* A call whose result gives the new socket's handle. */
int call_handle(struct conn *c, const char *method, const char *params, size_t plen, long long *handle);

/* ---- a socket like the program's, in the daemon (preload-wire.c) */
struct shim_sock {
	int domain, type, proto;
	int fl, fdfl;   /* the program's F_GETFL and F_GETFD */
};

/* fd's SO_DOMAIN/SO_TYPE/SO_PROTOCOL and flags: 0, or -1. */
int shim_describe(int fd, struct shim_sock *s);
/* socket.create of s's kind (type_flags added: SOCK_NONBLOCK), with the
 * options the program set on fd: 0 and *handle, or -1. fd < 0: none to
 * copy. */
int shim_create(struct conn *c, int fd, const struct shim_sock *s, int type_flags, long long *handle);
/* socket.detach of handle, its descriptor put at fd with s's O_NONBLOCK and
 * FD_CLOEXEC: 0, or -1 with fd untouched. */
int shim_place(struct conn *c, long long handle, int fd, const struct shim_sock *s);

/* ---- names the daemon resolved (preload-resolve.c) */
/* The newest name the shim's getaddrinfo had the daemon resolve to the
 * address ADDR (4 or 16 bytes) of FAMILY, into NAME: true, or false for
 * none. Async-signal-safe: no locks. */
bool shim_pin_lookup(int family, const void *addr, char *name, size_t cap);

#endif
