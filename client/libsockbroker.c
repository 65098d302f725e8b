#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrordesc_np */
#endif

/* libsockbroker: the C client of sockbrokerd.
 *
 * Threading model. One connection is shared by every thread that calls on a
 * client. Writes are serialised by a writer role (a flag under lock, so that
 * waiting for it can be bounded on CLOCK_MONOTONIC): a request goes out whole
 * before the next one starts. Reading has no dedicated thread: a caller waiting for a
 * reply takes the "reader" role when nobody holds it, reads, and routes every
 * complete reply by id to the waiter registered for it (waking it through the
 * condition variable); callers whose reply another thread routed simply wake up
 * with it. When the reader's own reply arrives (or its time runs out) it hands
 * the role back and wakes the others so that one of them takes over. State
 * shared between these roles (the waiter table, the reader flag, the
 * connection's fate) lives under lock. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sockbroker.h"
#include "util.h"
#include "frame.h"
#include "fdpass.h"
#include "jsonrpc.h"

/* Longest reply accepted, without its '\n'. */
#define SB_MAX_REPLY (16u * 1024 * 1024)
/* Calls one client may have waiting for replies at once. */
#define SB_MAX_INFLIGHT 1024
/* Bytes one read asks for. */
#define SB_READ_CHUNK 65536

#define SB_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct sb_reply {
	bool ok;
	char *result;           /* JSON text, result replies only */
	int code;               /* error replies only */
	char *message;
	char *data;             /* JSON text or NULL */
	int *fds;
	size_t nfds;
};

/* A call waiting for its reply; lives on the caller's stack. */
struct waiter {
	long long id;
	bool done;              /* reply or err is set */
	int err;                /* -errno for this call alone (e.g. -EPROTO) */
	sb_reply *reply;
	struct waiter *next;
};

struct sb_client {
	int fd;
	pthread_mutex_t lock;           /* everything below */
	pthread_cond_t cond;            /* a waiter is done, or the reader role is free */
	pthread_cond_t write_cond;      /* the writer role is free */
	bool writing;                   /* a thread holds the writer role */
	int timeout_ms;                 /* -1: no bound */
	long long next_id;
	bool reading;                   /* a thread holds the reader role */
	int dead;                       /* 0, or -errno once the connection is unusable */
	struct waiter *waiters;
	size_t nwaiters;
	struct frame_reader rd;         /* touched only by the reader role */
};

/* ---------------------------------------------------------------- time */

/* Milliseconds of CLOCK_MONOTONIC. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (-1: none) for poll(): -1, 0 or more. */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* The absolute CLOCK_MONOTONIC time of a deadline in milliseconds. */
static struct timespec deadline_ts(int64_t deadline)
{
	struct timespec ts = {
		.tv_sec = deadline / 1000,
		.tv_nsec = (deadline % 1000) * 1000000,
	};
	return ts;
}

/* ---------------------------------------------------------------- replies */

void sb_reply_free(sb_reply *r)
{
	if (!r)
		return;
	close_fds(r->fds, r->nfds);
	free(r->fds);
	free(r->result);
	free(r->message);
	free(r->data);
	free(r);
}

int sb_reply_ok(const sb_reply *r)
{
	return r && r->ok;
}

const char *sb_reply_result(const sb_reply *r)
{
	return r && r->ok ? r->result : NULL;
}

int sb_reply_error_code(const sb_reply *r)
{
	return r && !r->ok ? r->code : 0;
}

const char *sb_reply_error_message(const sb_reply *r)
{
	return r && !r->ok ? r->message : NULL;
}

const char *sb_reply_error_data(const sb_reply *r)
{
	return r && !r->ok ? r->data : NULL;
}

size_t sb_reply_nfds(const sb_reply *r)
{
	return r ? r->nfds : 0;
}

int sb_reply_take_fd(sb_reply *r, size_t i)
{
	if (!r || i >= r->nfds)
		return -1;
	return TAKE_FD(r->fds[i]);
}

/* Duplicates a JSON value as plain one-line text. NULL on ENOMEM. */
static char *json_text(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, SB_JSON_FLAGS);

	return s ? strdup(s) : NULL;
}

/* The descriptor count a result declares: 0 when it declares none, n >= 1,
 * or -EPROTO when "fds" is present but not a positive integer. */
static int declared_fds(json_object *result)
{
	json_object *jn;
	int64_t n;

	if (!json_object_is_type(result, json_type_object) ||
	    !json_object_object_get_ex(result, "fds", &jn))
		return 0;
	if (!json_object_is_type(jn, json_type_int))
		return -EPROTO;
	n = json_object_get_int64(jn);
	if (n < 1 || n > FDPASS_MAX_FDS)
		return -EPROTO;
	return (int)n;
}

/* Builds a reply from a validated response and the message's descriptors
 * (taken from msg). 0, -EPROTO (descriptor count does not match; they are left
 * in msg for the caller to close) or -ENOMEM. */
static int reply_build(const struct jrpc_response *resp, struct frame_msg *msg,
                       sb_reply **out)
{
	sb_reply *r;
	int want = resp->result ? declared_fds(resp->result) : 0;

	if (want < 0 || msg->fd_error || (size_t)want != msg->nfds)
		return -EPROTO;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (resp->code == 0) {
		r->ok = true;
		r->result = json_text(resp->result);
		if (!r->result)
			goto oom;
	} else {
		r->code = resp->code;
		r->message = strdup(resp->message);
		if (!r->message)
			goto oom;
		if (resp->data) {
			r->data = json_text(resp->data);
			if (!r->data)
				goto oom;
		}
	}
	if (msg->nfds) {
		r->fds = malloc(msg->nfds * sizeof(int));
		if (!r->fds)
			goto oom;
		for (size_t i = 0; i < msg->nfds; i++)
			r->fds[i] = frame_msg_take_fd(msg, i);
		r->nfds = msg->nfds;
	}
	*out = r;
	return 0;
oom:
	sb_reply_free(r);
	return -ENOMEM;
}

/* ---------------------------------------------------------------- waiters */

/* The waiter for id, or NULL. Called with lock held. */
static struct waiter *waiter_find(sb_client *c, long long id)
{
	for (struct waiter *w = c->waiters; w; w = w->next)
		if (w->id == id)
			return w;
	return NULL;
}

/* Removes w from the table. Called with lock held. */
static void waiter_remove(sb_client *c, struct waiter *w)
{
	for (struct waiter **p = &c->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			c->nwaiters--;
			return;
		}
}

/* Marks the connection unusable: every waiter without a reply fails with err
 * (the first cause wins). Called with lock held. */
static void client_fail(sb_client *c, int err)
{
	if (!c->dead)
		c->dead = err;
	pthread_cond_broadcast(&c->cond);
}

/* Hands a reply (or an error for that call) to the waiter of id; drops it when
 * nobody waits for that id (a call that timed out). Takes reply. */
static void route(sb_client *c, long long id, sb_reply *reply, int err)
{
	struct waiter *w;

	pthread_mutex_lock(&c->lock);
	w = waiter_find(c, id);
	if (w && !w->done) {
		w->done = true;
		w->reply = TAKE_PTR(reply);
		w->err = err;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	sb_reply_free(reply);
}

/* Handles one complete message from the daemon. Returns 0, or -EPROTO when the
 * message cannot be attributed to any call (the stream is then not trusted). */
static int handle_message(sb_client *c, struct frame_msg *msg)
{
	_cleanup_json_ json_object *root = NULL;
	struct jrpc_response resp;
	const char *why;
	sb_reply *reply = NULL;
	json_object *jid;
	long long id;
	int r;

	if (jrpc_parse(msg->data, msg->len, JRPC_MAX_DEPTH, &root, &why) != 0)
		return -EPROTO;
	/* A message from the daemon that is a notification (a method, no id) is
	 * reserved for future use: ignore it. */
	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "method", NULL) &&
	    !json_object_object_get_ex(root, "id", NULL))
		return 0;
	if (jrpc_validate_response(root, &resp, &why) != 0) {
		/* Malformed, but if it names one of our calls fail that call only. */
		if (json_object_is_type(root, json_type_object) &&
		    json_object_object_get_ex(root, "id", &jid) &&
		    json_object_is_type(jid, json_type_int)) {
			route(c, json_object_get_int64(jid), NULL, -EPROTO);
			return 0;
		}
		return -EPROTO;
	}
	/* Our ids are integers; anything else (including null, which the daemon
	 * uses for a message it could not attribute) is nobody's reply. */
	if (!json_object_is_type(resp.id, json_type_int))
		return 0;
	id = json_object_get_int64(resp.id);
	r = reply_build(&resp, msg, &reply);
	route(c, id, reply, r);
	return 0;
}

/* Pops and handles every complete message the reader holds. 0 or -errno that
 * makes the connection unusable. */
static int drain(sb_client *c)
{
	for (;;) {
		struct frame_msg msg = {0};
		int r = frame_reader_next(&c->rd, &msg);

		if (r == 0)
			return 0;
		if (r < 0)
			return r;
		r = handle_message(c, &msg);
		frame_msg_release(&msg);
		if (r < 0)
			return r;
	}
}

/* One turn of the reader role: waits up to timeout for the socket to become
 * readable, reads once and routes what completed. Called without lock.
 * Returns 0 (including on timeout or a spurious wake-up) or -errno that makes
 * the connection unusable. */
static int read_once(sb_client *c, int timeout)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&pfd, 1, timeout);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	n = frame_reader_fill(&c->rd, c->fd, SB_READ_CHUNK);
	if (n == -EAGAIN || n == -EINTR)
		return 0;
	if (n == -EMSGSIZE)
		return -EMSGSIZE;
	r = drain(c);
	if (r < 0)
		return r;
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return n == -EPIPE ? -EPIPE : -ECONNRESET;
	return 0;
}

/* ---------------------------------------------------------------- writing */

/* Writes one message (with its '\n') and its descriptors: one sendmsg() holds
 * the descriptors and only this message's bytes; a short write is finished
 * without them. Called holding the writer role. 0, -ETIMEDOUT before any byte
 * went out, or -errno; after a partial write that cannot be finished the
 * connection is marked dead (the stream is cut mid-message). */
static int write_message(sb_client *c, const char *buf, size_t len,
                         const int *fds, size_t nfds, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = fdpass_send(c->fd, buf + off, len - off, MSG_DONTWAIT,
		                        off == 0 ? fds : NULL, off == 0 ? nfds : 0);
		int err = 0;

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EWOULDBLOCK) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
			int t = remaining_ms(deadline);
			int p = t == 0 ? 0 : poll(&pfd, 1, t);

			if (p > 0 || (p < 0 && errno == EINTR))
				continue;
			err = p == 0 ? -ETIMEDOUT : -errno;
		} else
			err = n == -ECONNREFUSED ? -ECONNRESET : (int)n;
		if (off > 0) {
			pthread_mutex_lock(&c->lock);
			client_fail(c, -EPIPE);
			pthread_mutex_unlock(&c->lock);
			shutdown(c->fd, SHUT_RDWR);
		}
		return err;
	}
	return 0;
}

/* Takes the writer role, waiting for it no later than deadline. 0 or -ETIMEDOUT.
 * (A flag under lock rather than a mutex of its own so that the wait can be
 * bounded on CLOCK_MONOTONIC with the condition variable.) */
static int writer_acquire(sb_client *c, int64_t deadline)
{
	int r = 0;

	pthread_mutex_lock(&c->lock);
	while (c->writing) {
		if (deadline < 0)
			pthread_cond_wait(&c->write_cond, &c->lock);
		else if (remaining_ms(deadline) == 0) {
			r = -ETIMEDOUT;
			break;
		} else {
			struct timespec ts = deadline_ts(deadline);
			pthread_cond_timedwait(&c->write_cond, &c->lock, &ts);
		}
	}
	if (r == 0)
		c->writing = true;
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Gives the writer role back. */
static void writer_release(sb_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->writing = false;
	pthread_cond_signal(&c->write_cond);
	pthread_mutex_unlock(&c->lock);
}

/* Serialises msg as one line and writes it (see write_message). Takes the
 * writer role, waiting for it no later than deadline. */
static int send_request(sb_client *c, json_object *msg, const int *fds, size_t nfds,
                        int64_t deadline)
{
	_cleanup_free_ char *line = NULL;
	const char *s;
	size_t len;
	int r;

	s = json_object_to_json_string_length(msg, SB_JSON_FLAGS, &len);
	if (!s)
		return -ENOMEM;
	/* json-c escapes control characters in strings; a raw newline here would
	 * split the message. */
	if (memchr(s, '\n', len))
		return -EINVAL;
	line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len] = '\n';

	r = writer_acquire(c, deadline);
	if (r < 0)
		return r;
	r = write_message(c, line, len + 1, fds, nfds, deadline);
	writer_release(c);
	return r;
}

/* Parses params_json into a fresh object (NULL text: an empty object when
 * nfds > 0, else no params at all) and adds "fds". 0 or -EINVAL/-ENOMEM. */
static int params_build(const char *params_json, size_t nfds, json_object **out)
{
	json_object *p = NULL;
	const char *why;

	*out = NULL;
	if (params_json) {
		if (jrpc_parse(params_json, strlen(params_json), JRPC_MAX_DEPTH, &p, &why) != 0)
			return -EINVAL;
		if (!json_object_is_type(p, json_type_object)) {
			json_object_put(p);
			return -EINVAL;
		}
	}
	if (nfds > 0) {
		if (!p)
			p = json_object_new_object();
		if (!p)
			return -ENOMEM;
		if (json_object_object_add(p, "fds", json_object_new_int64((int64_t)nfds)) < 0) {
			json_object_put(p);
			return -ENOMEM;
		}
	} else if (p && json_object_object_get_ex(p, "fds", NULL)) {
		/* Declares descriptors that do not come: the daemon would refuse. */
		json_object_put(p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

/* Checks what sb_call and sb_notify share. */
static int args_check(sb_client *c, const char *method, const int *fds, size_t nfds)
{
	if (!c || !method || !*method)
		return -EINVAL;
	if (nfds > FDPASS_MAX_FDS || (nfds && !fds))
		return -EINVAL;
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return -EBADF;
	return 0;
}

/* ---------------------------------------------------------------- calls */

const char *sb_socket_path(void)
{
	const char *p = getenv("SOCKBROKER_SOCKET");

	return p && *p ? p : SB_DEFAULT_SOCKET;
}

int sb_connect(const char *path, sb_client **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	pthread_condattr_t ca;
	sb_client *c;
	size_t len;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path)
		path = sb_socket_path();
	len = strlen(path);
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = frame_reader_init(&c->rd, SB_MAX_REPLY, FDPASS_MAX_FDS);
	if (r < 0) {
		free(c);
		return r;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_cond_init(&c->write_cond, &ca);
	pthread_condattr_destroy(&ca);
	c->timeout_ms = -1;
	c->next_id = 1;
	c->fd = TAKE_FD(fd);
	*out = c;
	return 0;
}

void sb_close(sb_client *c)
{
	if (!c)
		return;
	safe_close(c->fd);
	frame_reader_free(&c->rd);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->write_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void sb_set_timeout(sb_client *c, int timeout_ms)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
	pthread_mutex_unlock(&c->lock);
}

/* Waits for w's reply, taking the reader role when it is free. Called with
 * lock held; returns with it held and w removed from the table. */
static int wait_reply(sb_client *c, struct waiter *w, int64_t deadline, sb_reply **out)
{
	int r = 0;

	for (;;) {
		if (w->done) {
			*out = TAKE_PTR(w->reply);
			r = w->err;
			break;
		}
		if (c->dead) {
			r = c->dead;
			break;
		}
		if (deadline >= 0 && remaining_ms(deadline) == 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (!c->reading) {
			c->reading = true;
			pthread_mutex_unlock(&c->lock);
			r = read_once(c, remaining_ms(deadline));
			pthread_mutex_lock(&c->lock);
			c->reading = false;
			if (r < 0)
				client_fail(c, r);
			else
				/* Let another waiter take the role if ours is over. */
				pthread_cond_broadcast(&c->cond);
			continue;
		}
		if (deadline < 0)
			pthread_cond_wait(&c->cond, &c->lock);
		else {
			struct timespec ts = deadline_ts(deadline);
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
	}
	waiter_remove(c, w);
	return r;
}

int sb_call(sb_client *c, const char *method, const char *params_json,
            const int *fds, size_t nfds, sb_reply **out)
{
	_cleanup_json_ json_object *msg = NULL;
	json_object *params = NULL;
	struct waiter w = {0};
	sb_reply *reply = NULL;
	int64_t deadline = -1;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	r = args_check(c, method, fds, nfds);
	if (r < 0)
		return r;
	r = params_build(params_json, nfds, &params);
	if (r < 0)
		return r;

	pthread_mutex_lock(&c->lock);
	if (c->dead) {
		r = c->dead;
		pthread_mutex_unlock(&c->lock);
		json_object_put(params);
		return r;
	}
	if (c->nwaiters >= SB_MAX_INFLIGHT) {
		pthread_mutex_unlock(&c->lock);
		json_object_put(params);
		return -EBUSY;
	}
	if (c->timeout_ms >= 0)
		deadline = now_ms() + c->timeout_ms;
	w.id = c->next_id++;
	if (c->next_id == LLONG_MAX)
		c->next_id = 1;
	/* Registered before the request goes out: the reply may come at once. */
	w.next = c->waiters;
	c->waiters = &w;
	c->nwaiters++;
	pthread_mutex_unlock(&c->lock);

	msg = jrpc_request_new(method, params, w.id);
	r = msg ? send_request(c, msg, fds, nfds, deadline) : -ENOMEM;

	pthread_mutex_lock(&c->lock);
	if (r < 0)
		waiter_remove(c, &w);
	else
		r = wait_reply(c, &w, deadline, &reply);
	pthread_mutex_unlock(&c->lock);

	if (r < 0) {
		sb_reply_free(reply);
		return r;
	}
	*out = reply;
	return 0;
}

int sb_notify(sb_client *c, const char *method, const char *params_json)
{
	_cleanup_json_ json_object *msg = NULL;
	json_object *params = NULL;
	int64_t deadline = -1;
	int r;

	r = args_check(c, method, NULL, 0);
	if (r < 0)
		return r;
	r = params_build(params_json, 0, &params);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	r = c->dead;
	if (c->timeout_ms >= 0)
		deadline = now_ms() + c->timeout_ms;
	pthread_mutex_unlock(&c->lock);
	if (r < 0) {
		json_object_put(params);
		return r;
	}
	msg = jrpc_request_new(method, params, -1);
	if (!msg)
		return -ENOMEM;
	return send_request(c, msg, NULL, 0, deadline);
}

/* ---------------------------------------------------------------- typed helpers */

int sb_parse_spec(const char *spec, struct sb_spec *out)
{
	const char *rest, *host, *portstr, *end;
	size_t hlen, len;
	long port = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->port = -1;
	if (!spec)
		return -EINVAL;
	if (strncmp(spec, "unix:", 5) == 0) {
		rest = spec + 5;
		out->family = AF_UNIX;
		out->type = SOCK_STREAM;
		if (*rest == '@') {
			out->abstract = 1;
			rest++;
		}
		len = strlen(rest);
		if (len == 0)
			return -EINVAL;
		/* sun_path is 108 bytes: a path needs its NUL, an abstract name its
		 * leading NUL. */
		if (len >= sizeof(out->path))
			return -ENAMETOOLONG;
		memcpy(out->path, rest, len + 1);
		return 0;
	}
	if (strncmp(spec, "tcp:", 4) == 0)
		out->type = SOCK_STREAM;
	else if (strncmp(spec, "udp:", 4) == 0)
		out->type = SOCK_DGRAM;
	else
		return -EINVAL;
	rest = spec + 4;
	if (*rest == '[') {
		char lit[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;
		const char *pct;

		host = rest + 1;
		end = strchr(host, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = (size_t)(end - host);
		portstr = end + 2;
		pct = memchr(host, '%', hlen);
		len = pct ? (size_t)(pct - host) : hlen;
		if (len == 0 || len >= sizeof(lit) || (pct && (size_t)(pct - host) + 1 == hlen))
			return -EINVAL;
		memcpy(lit, host, len);
		lit[len] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) != 1)
			return -EINVAL;
		out->family = AF_INET6;
	} else {
		struct in_addr a4;

		end = strrchr(rest, ':');
		if (!end)
			return -EINVAL;         /* no port */
		host = rest;
		hlen = (size_t)(end - rest);
		portstr = end + 1;
		/* An IPv6 literal must be bracketed; brackets must come first. */
		if (memchr(host, ':', hlen) || memchr(host, '[', hlen) || memchr(host, ']', hlen))
			return -EINVAL;
		if (hlen >= sizeof(out->host))
			return -ENAMETOOLONG;
		memcpy(out->host, host, hlen);
		out->host[hlen] = '\0';
		if (hlen == 0 || inet_pton(AF_INET, out->host, &a4) == 1)
			out->family = AF_INET;
		else {
			for (size_t i = 0; i < hlen; i++)
				if (!isalnum((unsigned char)host[i]) && !strchr("-._", host[i]))
					return -EINVAL;
			out->family = AF_UNSPEC;
		}
	}
	if (hlen >= sizeof(out->host))
		return -ENAMETOOLONG;
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	/* The port: 1-5 decimal digits, at most 65535. */
	len = strlen(portstr);
	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)portstr[i]))
			return -EINVAL;
		port = port * 10 + (portstr[i] - '0');
	}
	if (port > 65535)
		return -EINVAL;
	out->port = (int)port;
	return 0;
}

int sb_reply_errno(const sb_reply *r)
{
	_cleanup_json_ json_object *d = NULL;
	json_object *jn;
	int64_t n;

	if (!r || r->ok)
		return 0;
	switch (r->code) {
	case SB_OS_ERROR:
		if (r->data)
			d = json_tokener_parse(r->data);
		if (d && json_object_object_get_ex(d, "errno", &jn) &&
		    json_object_is_type(jn, json_type_int) &&
		    (n = json_object_get_int64(jn)) > 0 && n < 4096)
			return -(int)n;
		return -EIO;
	case SB_DENIED:
		return -EPERM;
	case SB_NO_HANDLE:
		return -EBADF;
	case SB_LIMIT:
		return -EMFILE;
	case SB_TIMEOUT:
		return -ETIMEDOUT;
	case SB_GAI_ERROR:
	case SB_HOST_ERROR:
		return -ENOENT;
	case SB_INVALID_PARAMS:
		return -EINVAL;
	case SB_METHOD_NOT_FOUND:
		return -ENOSYS;
	default:
		return -EPROTO;
	}
}

/* Internally err is never NULL: it holds the error reply of the latest
 * failed call (the last error wins), which helper_finish hands to the caller. */
static void keep_error(sb_reply **err, sb_reply *r)
{
	sb_reply_free(*err);
	*err = r;
}

/* Forgets an earlier error. */
static void clear_error(sb_reply **err)
{
	sb_reply_free(*err);
	*err = NULL;
}

/* One call with params p (taken, NULL: -ENOMEM). A result goes to *out; an
 * error reply gives its errno and goes to *err (see keep_error). */
static int helper_call(sb_client *c, const char *method, json_object *p, sb_reply **out,
                       sb_reply **err)
{
	sb_reply *r = NULL;
	const char *text;
	int rc;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	text = json_object_to_json_string_ext(p, SB_JSON_FLAGS);
	rc = text ? sb_call(c, method, text, NULL, 0, &r) : -ENOMEM;
	json_object_put(p);
	if (rc < 0)
		return rc;
	if (!r->ok) {
		rc = sb_reply_errno(r);
		keep_error(err, r);
		return rc;
	}
	*out = r;
	return 0;
}

/* A call whose result brings exactly one descriptor: that descriptor. */
static int helper_call_fd(sb_client *c, const char *method, json_object *p, sb_reply **err)
{
	sb_reply *r;
	int fd, rc = helper_call(c, method, p, &r, err);

	if (rc < 0)
		return rc;
	fd = sb_reply_nfds(r) == 1 ? sb_reply_take_fd(r, 0) : -1;
	sb_reply_free(r);
	return fd < 0 ? -EPROTO : fd;
}

/* Adds key: val to o; false when val is NULL or adding failed (val freed). */
static bool jset(json_object *o, const char *key, json_object *val)
{
	if (!o || !val || json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* [host, port] */
static json_object *jtuple(const char *host, int port)
{
	json_object *a = json_object_new_array_ext(2);

	if (!a)
		return NULL;
	if (json_object_array_add(a, json_object_new_string(host)) < 0 ||
	    json_object_array_add(a, json_object_new_int(port)) < 0) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

/* params {"handle": h} */
static json_object *handle_params(int64_t h)
{
	json_object *p = json_object_new_object();

	if (!jset(p, "handle", json_object_new_int64(h))) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* The integer member key of a result, or -1. */
static int64_t result_int(const sb_reply *r, const char *key)
{
	_cleanup_json_ json_object *o = json_tokener_parse(sb_reply_result(r));
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* A stream listener (socket.listen_on with pass) on address (taken) of family
 * (a name or number, taken). */
static int listen_stream(sb_client *c, json_object *family, json_object *address, int backlog,
                         sb_reply **err)
{
	json_object *p = json_object_new_object();
	bool ok = jset(p, "address", address) & jset(p, "family", family);

	if (ok && backlog >= 0)
		ok = jset(p, "backlog", json_object_new_int(backlog > 65535 ? 65535 : backlog));
	if (ok)
		ok = jset(p, "pass", json_object_new_boolean(1));
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return helper_call_fd(c, "socket.listen_on", p, err);
}

/* A bound datagram socket: socket.create, (IPV6_V6ONLY,) socket.bind,
 * socket.detach; the handle is closed if a step fails. Takes family and address. */
static int bind_dgram(sb_client *c, json_object *family, json_object *address, sb_reply **err)
{
	json_object *p = json_object_new_object();
	bool v6 = json_object_is_type(family, json_type_string)
	          ? strcmp(json_object_get_string(family), "AF_INET6") == 0
	          : json_object_get_int(family) == AF_INET6;
	sb_reply *r = NULL;
	int64_t h;
	int rc;

	if (!jset(p, "family", family) || !jset(p, "type", json_object_new_string("SOCK_DGRAM"))) {
		json_object_put(p);
		json_object_put(address);
		return -ENOMEM;
	}
	rc = helper_call(c, "socket.create", p, &r, err);
	if (rc < 0) {
		json_object_put(address);
		return rc;
	}
	h = result_int(r, "handle");
	sb_reply_free(r);
	if (h <= 0) {
		json_object_put(address);
		return -EPROTO;
	}
	if (v6) {
		p = handle_params(h);
		if (!jset(p, "level", json_object_new_string("IPPROTO_IPV6")) ||
		    !jset(p, "option", json_object_new_string("IPV6_V6ONLY")) ||
		    !jset(p, "value", json_object_new_int(1))) {
			json_object_put(p);
			p = NULL;
		}
		rc = helper_call(c, "socket.setsockopt", p, &r, err);
		sb_reply_free(r);
		if (rc < 0)
			goto fail;
	}
	p = handle_params(h);
	if (!jset(p, "address", address)) {
		json_object_put(p);
		p = NULL;
	}
	address = NULL;
	rc = helper_call(c, "socket.bind", p, &r, err);
	sb_reply_free(r);
	if (rc < 0)
		goto fail;
	return helper_call_fd(c, "socket.detach", handle_params(h), err);
fail:
	json_object_put(address);
	/* Best effort: the handle would otherwise live as long as the connection. */
	{
		json_object *cp = handle_params(h);
		const char *t = cp ? json_object_to_json_string_ext(cp, SB_JSON_FLAGS) : NULL;
		if (t && sb_call(c, "socket.close", t, NULL, 0, &r) == 0)
			sb_reply_free(r);
		json_object_put(cp);
	}
	return rc;
}

/* net.getaddrinfo {host, port, type, flags}: the parsed result's "results"
 * array in *out (a reference the caller puts) and the whole result in *root. */
static int resolve(sb_client *c, const char *host, int port, int type, bool passive,
                   json_object **root, json_object **out, sb_reply **err)
{
	json_object *p = json_object_new_object(), *res;
	sb_reply *r;
	bool ok;
	int rc;

	*root = *out = NULL;
	ok = jset(p, "host", json_object_new_string(host)) &&
	     jset(p, "port", json_object_new_int(port)) &&
	     jset(p, "type", json_object_new_string(type == SOCK_DGRAM ? "SOCK_DGRAM" : "SOCK_STREAM"));
	if (ok && passive) {
		json_object *f = json_object_new_array_ext(1);
		ok = f && json_object_array_add(f, json_object_new_string("AI_PASSIVE")) == 0;
		ok = jset(p, "flags", f) && ok;
	}
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	rc = helper_call(c, "net.getaddrinfo", p, &r, err);
	if (rc < 0)
		return rc;
	*root = json_tokener_parse(sb_reply_result(r));
	sb_reply_free(r);
	if (!*root || !json_object_object_get_ex(*root, "results", &res) ||
	    !json_object_is_type(res, json_type_array)) {
		json_object_put(*root);
		*root = NULL;
		return -EPROTO;
	}
	*out = res;
	return 0;
}

/* Hands the error reply behind a failure to the caller (err may be NULL);
 * after a success there is none. Returns rc. */
static int helper_finish(int rc, sb_reply *e, sb_reply **err)
{
	if (rc >= 0) {
		sb_reply_free(e);
		e = NULL;
	}
	if (err)
		*err = e;
	else
		sb_reply_free(e);
	return rc;
}

/* One listener on a numeric address (taken) of family (taken). */
static int listen_one(sb_client *c, const struct sb_spec *sp, json_object *family,
                      json_object *address, int backlog, sb_reply **err)
{
	if (sp->type == SOCK_DGRAM)
		return bind_dgram(c, family, address, err);
	return listen_stream(c, family, address, backlog, err);
}

static int listen_impl(sb_client *c, const char *spec, int backlog, sb_reply **err)
{
	_cleanup_json_ json_object *root = NULL;
	json_object *results;
	struct sb_spec sp;
	int rc;
	size_t n;

	if (!c)
		return -EINVAL;
	rc = sb_parse_spec(spec, &sp);
	if (rc < 0)
		return rc;
	if (sp.family == AF_UNIX) {
		json_object *a = json_object_new_object();

		if (!jset(a, sp.abstract ? "abstract" : "path", json_object_new_string(sp.path))) {
			json_object_put(a);
			return -ENOMEM;
		}
		return listen_stream(c, json_object_new_string("AF_UNIX"), a, backlog, err);
	}
	if (sp.family != AF_UNSPEC)
		return listen_one(c, &sp, json_object_new_string(sp.family == AF_INET6 ? "AF_INET6" : "AF_INET"),
		                  jtuple(sp.host, sp.port), backlog, err);
	/* A host name: its addresses in getaddrinfo's order, first that works. */
	rc = resolve(c, sp.host, sp.port, sp.type, true, &root, &results, err);
	if (rc < 0)
		return rc;
	n = json_object_array_length(results);
	rc = -EADDRNOTAVAIL;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(results, i), *fam, *addr;
		int fd;

		if (!json_object_object_get_ex(e, "family", &fam) ||
		    !json_object_object_get_ex(e, "address", &addr))
			continue;
		clear_error(err);     /* the last attempt's error is the one reported */
		fd = listen_one(c, &sp, json_object_get(fam), json_object_get(addr), backlog, err);
		if (fd >= 0)
			return fd;
		rc = fd;
		if (!*err)
			break;  /* the exchange failed, not this address */
	}
	return rc;
}

/* Whether host is an IPv4 or IPv6 literal (IPv6 with an optional %scope). */
static bool is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char lit[INET6_ADDRSTRLEN + 1];
	const char *pct = strchr(host, '%');
	size_t len = pct ? (size_t)(pct - host) : strlen(host);

	if (inet_pton(AF_INET, host, buf) == 1)
		return true;
	if (len == 0 || len >= sizeof(lit))
		return false;
	memcpy(lit, host, len);
	lit[len] = '\0';
	return inet_pton(AF_INET6, lit, buf) == 1;
}

/* One socket.connect_to {address (taken), timeout?, pass: true}. */
static int connect_one(sb_client *c, json_object *address, double timeout_s, sb_reply **err)
{
	json_object *p = json_object_new_object();
	bool ok = jset(p, "address", address) && jset(p, "pass", json_object_new_boolean(1));

	if (ok && timeout_s > 0)
		ok = jset(p, "timeout", json_object_new_double(timeout_s));
	if (!ok) {
		json_object_put(p);
		return -ENOMEM;
	}
	return helper_call_fd(c, "socket.connect_to", p, err);
}

static int connect_tcp_impl(sb_client *c, const char *host, int port, double timeout_s,
                            sb_reply **err)
{
	_cleanup_json_ json_object *root = NULL;
	json_object *results;
	size_t n;
	int rc;

	if (!c || !host || !*host || port < 0 || port > 65535 || isnan(timeout_s))
		return -EINVAL;
	if (strlen(host) > 1024)
		return -ENAMETOOLONG;
	if (is_literal(host))
		return connect_one(c, jtuple(host, port), timeout_s, err);
	rc = resolve(c, host, port, SOCK_STREAM, false, &root, &results, err);
	if (rc < 0)
		return rc;
	n = json_object_array_length(results);
	rc = -EADDRNOTAVAIL;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(results, i), *addr;
		int fd;

		if (!json_object_object_get_ex(e, "address", &addr))
			continue;
		clear_error(err);     /* the last attempt's error is the one reported */
		fd = connect_one(c, json_object_get(addr), timeout_s, err);
		if (fd >= 0)
			return fd;
		rc = fd;
		if (!*err)
			break;  /* the exchange failed, not this address */
	}
	return rc;
}

int sb_listen(sb_client *c, const char *spec, int backlog, sb_reply **err)
{
	sb_reply *e = NULL;
	int rc = listen_impl(c, spec, backlog, &e);

	return helper_finish(rc, e, err);
}

int sb_connect_tcp(sb_client *c, const char *host, int port, double timeout_s,
                   sb_reply **err)
{
	sb_reply *e = NULL;
	int rc = connect_tcp_impl(c, host, port, timeout_s, &e);

	return helper_finish(rc, e, err);
}

int sb_socket(sb_client *c, int family, int type, int protocol, sb_reply **err)
{
	sb_reply *e = NULL;
	json_object *p;
	int fd;

	if (!c)
		return helper_finish(-EINVAL, NULL, err);
	p = json_object_new_object();
	if (!jset(p, "family", json_object_new_int(family)) ||
	    !jset(p, "type", json_object_new_int(type)) ||
	    !jset(p, "proto", json_object_new_int(protocol)) ||
	    !jset(p, "pass", json_object_new_boolean(1))) {
		json_object_put(p);
		return helper_finish(-ENOMEM, NULL, err);
	}
	fd = helper_call_fd(c, "socket.create", p, &e);
	return helper_finish(fd, e, err);
}

/* ---------------------------------------------------------------- errors */

const char *sb_strerror(int err)
{
	static const struct {
		int err;
		const char *text;
	} table[] = {
		{ 0, "Success." },
		{ -EINVAL, "Invalid argument: params must be a JSON object (and must not declare \"fds\" without descriptors)." },
		{ -ENAMETOOLONG, "The socket path is too long for an AF_UNIX address." },
		{ -ENOENT, "No daemon socket exists at that path; is sockbrokerd running?" },
		{ -ECONNREFUSED, "Nobody listens on the daemon socket; is sockbrokerd running?" },
		{ -EACCES, "Permission denied on the daemon socket." },
		{ -EPERM, "Operation not permitted on the daemon socket." },
		{ -ENOTSOCK, "That path is not a socket." },
		{ -EPIPE, "The connection to the daemon is closed (broken pipe)." },
		{ -ECONNRESET, "The daemon closed the connection." },
		{ -EPROTO, "The daemon sent a malformed reply (protocol error)." },
		{ -EMSGSIZE, "The daemon sent a reply longer than the 16 MiB limit." },
		{ -ETIMEDOUT, "No reply came before the timeout." },
		{ -EBUSY, "Too many calls are waiting for replies on this connection." },
		{ -EBADF, "A descriptor to send is not valid." },
		{ -ENOMEM, "Out of memory." },
	};
	const char *s;

	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (table[i].err == err)
			return table[i].text;
	s = err < 0 ? strerrordesc_np(-err) : NULL;
	return s ? s : "Unknown error.";
}
