#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrordesc_np */
#endif

/* libsockbroker's transport: connecting, framing, descriptors both ways, and
 * matching each reply to its call (see transport.h). A request is built and a
 * reply read as json_object trees; text is made only to write the wire and,
 * lazily, for the public accessors that return text.
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
#include "transport.h"
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
	json_object *result;    /* result replies only; NULL for JSON null */
	int code;               /* error replies only */
	char *message;
	json_object *data;      /* error replies only, or NULL */
	/* The text the public accessors return, made on first use under lock
	 * (json-c serialises into the object itself, so two threads must not). */
	pthread_mutex_t text_lock;
	char *result_text;
	char *data_text;
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
	json_object_put(r->result);
	free(r->message);
	json_object_put(r->data);
	free(r->result_text);
	free(r->data_text);
	pthread_mutex_destroy(&r->text_lock);
	free(r);
}

int sb_reply_ok(const sb_reply *r)
{
	return r && r->ok;
}

/* The text of o ("null" for NULL) in *cache, made once. NULL on ENOMEM. */
static const char *reply_text(const sb_reply *cr, json_object *o, char **cache)
{
	sb_reply *r = (sb_reply *)cr;   /* the cache is not part of the value */
	const char *s;

	pthread_mutex_lock(&r->text_lock);
	if (!*cache) {
		s = json_object_to_json_string_ext(o, SB_JSON_FLAGS);
		*cache = s ? strdup(s) : NULL;
	}
	pthread_mutex_unlock(&r->text_lock);
	return *cache;
}

const char *sb_reply_result(const sb_reply *r)
{
	return r && r->ok ? reply_text(r, r->result, &((sb_reply *)r)->result_text) : NULL;
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
	return r && !r->ok && r->data ? reply_text(r, r->data, &((sb_reply *)r)->data_text) : NULL;
}

json_object *sbt_reply_result(const sb_reply *r)
{
	return r && r->ok ? r->result : NULL;
}

json_object *sbt_reply_data(const sb_reply *r)
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
	pthread_mutex_init(&r->text_lock, NULL);
	/* The members are kept as they are: references into the parsed message. */
	if (resp->code == 0) {
		r->ok = true;
		r->result = json_object_get(resp->result);
	} else {
		r->code = resp->code;
		r->message = strdup(resp->message);
		if (!r->message)
			goto oom;
		r->data = json_object_get(resp->data);
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
	/* The reply holds references of its own into the parsed message, so the
	 * message goes first: json-c's reference counts are not atomic, and the
	 * waiter may free its reply on its own thread as soon as it has it. */
	json_object_put(TAKE_PTR(root));
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

/* Parses the caller's params_json (NULL: none) into a fresh object. 0 or -EINVAL. */
static int params_parse(const char *params_json, json_object **out)
{
	json_object *p = NULL;
	const char *why;

	*out = NULL;
	if (!params_json)
		return 0;
	if (jrpc_parse(params_json, strlen(params_json), JRPC_MAX_DEPTH, &p, &why) != 0)
		return -EINVAL;
	if (!json_object_is_type(p, json_type_object)) {
		json_object_put(p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

/* Adds "fds" to params (taken; NULL: none, or an empty object when nfds > 0).
 * 0 or -EINVAL/-ENOMEM, params freed on failure. */
static int params_finish(json_object *p, size_t nfds, json_object **out)
{
	*out = NULL;
	if (p && !json_object_is_type(p, json_type_object)) {
		json_object_put(p);
		return -EINVAL;
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

int sbt_call(sb_client *c, const char *method, json_object *params,
             const int *fds, size_t nfds, sb_reply **out)
{
	_cleanup_json_ json_object *msg = NULL;
	struct waiter w = {0};
	sb_reply *reply = NULL;
	int64_t deadline = -1;
	int r;

	if (!out) {
		json_object_put(params);
		return -EINVAL;
	}
	*out = NULL;
	r = args_check(c, method, fds, nfds);
	if (r < 0) {
		json_object_put(params);
		return r;
	}
	r = params_finish(params, nfds, &params);
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

int sb_call(sb_client *c, const char *method, const char *params_json,
            const int *fds, size_t nfds, sb_reply **out)
{
	json_object *params;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	r = args_check(c, method, fds, nfds);
	if (r < 0)
		return r;
	r = params_parse(params_json, &params);
	if (r < 0)
		return r;
	return sbt_call(c, method, params, fds, nfds, out);
}

int sbt_notify(sb_client *c, const char *method, json_object *params)
{
	_cleanup_json_ json_object *msg = NULL;
	int64_t deadline = -1;
	int r;

	r = args_check(c, method, NULL, 0);
	if (r == 0)
		r = params_finish(params, 0, &params);
	else
		json_object_put(params);
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

int sb_notify(sb_client *c, const char *method, const char *params_json)
{
	json_object *params;
	int r;

	r = args_check(c, method, NULL, 0);
	if (r < 0)
		return r;
	r = params_parse(params_json, &params);
	if (r < 0)
		return r;
	return sbt_notify(c, method, params);
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
