#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "call.h"
#include "conn.h"
#include "consts.h"
#include "fdpass.h"
#include "jsonrpc.h"
#include "log.h"
#include "settings.h"
#include "util.h"

/* Bytes one read takes: large enough for throughput, small enough that one
 * busy client cannot hold the loop for long. */
#define CONN_READ_CHUNK 65536

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void conn_on_io(struct loop_io *io, uint32_t revents);
static void conn_on_idle(struct loop_timer *t);
static void conn_free_deferred(struct loop_defer *d);
static void conn_check_deferred(struct loop_defer *d);
static void conn_resume_deferred(struct loop_defer *d);

static uint32_t wanted_events(struct conn *c)
{
	uint32_t ev = 0;

	if (!c->read_done && !c->paused)
		ev |= EPOLLIN;
	if (frame_writer_pending(&c->wr))
		ev |= EPOLLOUT;
	return ev;
}

static void update_events(struct conn *c)
{
	if (!c->dead && c->fd >= 0)
		loop_io_mod(c->env->loop, &c->io, wanted_events(c));
}

static void arm_idle(struct conn *c)
{
	unsigned idle = c->env->cfg->idle_timeout_s;

	if (idle && !loop_timer_armed(&c->idle_timer))
		loop_timer_arm(c->env->loop, &c->idle_timer,
		               c->last_active + (uint64_t)idle * 1000000000ull);
}

int conn_socket_setup(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

/* What every connection starts with; the identity's contents are moved. */
static struct conn *conn_alloc(struct conn_env *env, const struct conn_ops *ops, int fd, struct identity *id)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->next_token = CONN_TOKEN_SELF;
	c->env = env;
	c->ops = ops;
	c->srv = env->srv;
	c->fd = fd;
	c->id = *id;
	memset(id, 0, sizeof(*id));
	id->pidfd = -1;
	c->connected = wall_now();
	c->serial = ++env->next_serial;
	c->default_block = true;
	c->idle_timer.cb = conn_on_idle;
	c->free_defer.cb = conn_free_deferred;
	c->check_defer.cb = conn_check_deferred;
	c->resume_defer.cb = conn_resume_deferred;
	c->last_active = loop_now();
	frame_writer_init(&c->wr);
	return c;
}

int conn_new(struct conn_env *env, int fd, struct identity *id, struct conn **out)
{
	struct conn *c;
	int r;

	/* Inherited from the listening socket as a rule; set here too, for a
	 * listener that was handed to us without them. */
	r = conn_socket_setup(fd);
	if (r < 0)
		return r;
	c = conn_alloc(env, env->ops, fd, id);
	if (!c)
		return -ENOMEM;
	r = frame_reader_init(&c->rd, env->cfg->max_message_bytes, env->cfg->max_fds);
	if (r < 0)
		goto fail;
	r = loop_io_add(env->loop, &c->io, fd, EPOLLIN, conn_on_io);
	if (r < 0)
		goto fail;
	arm_idle(c);
	*out = c;
	return 0;
fail:
	frame_reader_free(&c->rd);
	frame_writer_free(&c->wr);
	*id = c->id;    /* the caller still owns it */
	free(c);
	return r;
}

int conn_new_virtual(struct conn_env *env, const struct conn_ops *ops, struct identity *id,
                     void (*deliver)(struct conn *c, json_object *reply), void *owner, struct conn **out)
{
	struct conn *c = conn_alloc(env, ops, -1, id);

	if (!c)
		return -ENOMEM;
	/* Nothing is read: its requests are handed to it. */
	c->read_done = true;
	c->deliver = deliver;
	c->owner = owner;
	c->no_fds = true;
	*out = c;
	return 0;
}

void conn_call_add(struct conn *c, struct call *call)
{
	call->conn = c;
	call->prev = NULL;
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->pending++;
}

void conn_sender_unref(struct conn_sender *s)
{
	if (!s || --s->refs > 0)
		return;
	identity_free(&s->id);
	free(s);
}

/* Forgets cached writer i (calls judged as it keep their reference). */
static void sender_evict(struct conn *c, unsigned i)
{
	conn_sender_unref(c->senders[i]);
	memmove(c->senders + i, c->senders + i + 1, (c->nsenders - i - 1) * sizeof(*c->senders));
	c->senders[--c->nsenders] = NULL;
}

static void senders_clear(struct conn *c)
{
	while (c->nsenders)
		sender_evict(c, c->nsenders - 1);
}

/* The pidfd of the process that wrote bytes the kernel attached no pidfd to:
 * those of the first read from a writer other than the process that
 * connected, before SO_PASSPIDFD was on. From then on the kernel attaches a
 * pidfd to every read of this connection (it costs a descriptor made and
 * closed per read, so a connection only one process writes on never pays it).
 * The pid may have been reused since the writer wrote: identity_read_sender
 * accepts the process only if it holds the uid and gid the kernel attached to
 * the bytes (so it is of the same user) and lives in our pid namespace. */
static int sender_pidfd_late(struct conn *c, const struct fdpass_sender *who)
{
	int one = 1, fd;

	if (!c->pass_pidfd) {
		if (setsockopt(c->fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) == 0)
			c->pass_pidfd = true;
		else if (errno != ENOPROTOOPT)
			log_warning("client %llu: SO_PASSPIDFD: %s", (unsigned long long)c->serial, strerror(errno));
	}
	fd = (int)syscall(SYS_pidfd_open, who->pid, 0);
	if (fd < 0)
		return -errno;
	/* pidfd_open descriptors are close-on-exec already. */
	return fd;
}

/* The frame reader's token for the writer of one read's bytes (who->pidfd
 * taken). Bytes of the process that connected cost nothing: the kernel's
 * pid, uid and gid of the writer are compared with those of the connection.
 * (Only a process of the same uid and gid holding a socket the connecting
 * process shared could pass for it, by getting its pid after it died.)
 * Another writer is looked up in the cache, its pidfd proving it is still
 * the same process, or read through the pidfd the kernel attached. */
static uint64_t conn_classify(void *ctx, struct fdpass_sender *who)
{
	struct conn *c = ctx;
	_cleanup_close_ int pidfd = TAKE_FD(who->pidfd);
	struct conn_sender *e;
	struct ucred cred;
	int r;

	if (!who->have_cred) {
		snprintf(c->unknown_why, sizeof(c->unknown_why),
		         "the kernel attached no writer to the bytes of this request");
		return CONN_TOKEN_UNKNOWN;
	}
	if (who->pid == c->id.peer_pid) {
		if (who->uid == c->id.uid && who->gid == c->id.gid)
			return CONN_TOKEN_SELF;
		/* The kernel attaches the real ids, SO_PEERCRED gave the effective
		 * ones: a set-user-ID client, or one that changed ids since. It
		 * is still the process that connected if that one lives. */
		if (c->id.pidfd < 0 || identity_pidfd_alive(c->id.pidfd) == 1)
			return CONN_TOKEN_SELF;
	}
	for (unsigned i = 0; i < c->nsenders; i++) {
		e = c->senders[i];
		if (e->id.peer_pid != who->pid)
			continue;
		/* Dead: the pid is another process's now. Unfinished, or other
		 * ids than it had: read again. */
		if (e->id.retry || e->id.uid != who->uid || e->id.gid != who->gid ||
		    identity_pidfd_alive(e->id.pidfd) != 1) {
			sender_evict(c, i);
			break;
		}
		memmove(c->senders + 1, c->senders, i * sizeof(*c->senders));
		c->senders[0] = e;
		return e->token;
	}
	if (pidfd < 0 && !who->pidfd_error)
		pidfd = sender_pidfd_late(c, who);
	if (pidfd < 0) {
		int err = who->pidfd_error ? -who->pidfd_error : -pidfd;

		if (err == ESRCH)
			snprintf(c->unknown_why, sizeof(c->unknown_why),
			         "pid %d, not the process that opened the connection, wrote this request and exited "
			         "before it could be identified", (int)who->pid);
		else
			snprintf(c->unknown_why, sizeof(c->unknown_why),
			         "pid %d, not the process that opened the connection, wrote this request, and no "
			         "pidfd could be had to identify it: %s", (int)who->pid, strerror(err));
		return CONN_TOKEN_UNKNOWN;
	}
	e = calloc(1, sizeof(*e));
	cred = (struct ucred){ .pid = who->pid, .uid = who->uid, .gid = who->gid };
	if (!e || (r = identity_read_sender(&cred, TAKE_FD(pidfd), c->id.label, c->id.label_unknown, &e->id)) < 0) {
		free(e);
		snprintf(c->unknown_why, sizeof(c->unknown_why), "out of memory identifying pid %d, which wrote "
		         "this request", (int)who->pid);
		return CONN_TOKEN_UNKNOWN;
	}
	e->refs = 1;
	e->token = ++c->next_token;
	if (c->nsenders == CONN_SENDERS_MAX)
		sender_evict(c, c->nsenders - 1);
	memmove(c->senders + 1, c->senders, c->nsenders * sizeof(*c->senders));
	c->senders[0] = e;
	c->nsenders++;
	log_debug("client %llu (pid %d): pid %d (uid %u exe %s) writes on it too%s%s",
	          (unsigned long long)c->serial, (int)c->id.pid, (int)e->id.pid, (unsigned)e->id.uid,
	          e->id.exe ? e->id.exe : "-", e->id.error ? "; not identified: " : "",
	          e->id.error ? e->id.error : "");
	return e->token;
}

/* A writer that is not known, standing in for the process whose bytes these
 * were: every governed request is denied with why as the reason. */
static struct conn_sender *sender_stand_in(const char *why)
{
	struct conn_sender *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->refs = 1;
	s->id = (struct identity){ .uid = (uid_t)-1, .gid = (gid_t)-1, .pidfd = -1 };
	s->id.error = strdup(why);
	if (!s->id.error) {
		free(s);
		return NULL;
	}
	return s;
}

int conn_message_sender(struct conn *c, const struct frame_msg *msg, struct conn_sender **out)
{
	const char *why = c->unknown_why;

	*out = NULL;
	if (msg->mixed_senders) {
		why = "the bytes of this request were written by more than one process; "
		      "each request must be written whole by one";
	} else if (msg->sender == CONN_TOKEN_SELF) {
		return 0;
	} else if (msg->sender != CONN_TOKEN_UNKNOWN) {
		for (unsigned i = 0; i < c->nsenders; i++)
			if (c->senders[i]->token == msg->sender) {
				c->senders[i]->refs++;
				*out = c->senders[i];
				return 0;
			}
		why = "the daemon no longer knows the process that wrote this request: more "
		      "processes wrote on this connection at once than it keeps track of";
	}
	*out = sender_stand_in(why);
	return *out ? 0 : -ENOMEM;
}

void conn_identity_retry(struct conn *c)
{
	struct identity id;
	int r;

	if (!c->id.error || !c->id.retry || c->dead)
		return;
	r = identity_read_socket(c->fd, c->id.pidfd, &id);
	if (r < 0)
		return;
	c->id.pidfd = -1;   /* in id now */
	if (!id.error)
		log_info("client %llu (uid %u pid %d): identity established on a later reading (it was: %s)",
		         (unsigned long long)c->serial, (unsigned)id.uid, (int)id.pid, c->id.error);
	identity_free(&c->id);
	c->id = id;
	c->ops->on_identity(c);
}

void conn_call_remove(struct conn *c, struct call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
	conn_sender_unref(TAKE_PTR(call->sender));
	c->pending--;
	c->last_active = loop_now();
}

static void conn_flush(struct conn *c)
{
	ssize_t r = frame_writer_flush(&c->wr, c->fd);

	if (r < 0) {
		conn_close(c, "write failed");
		return;
	}
	update_events(c);
}

void conn_queue_reply(struct conn *c, json_object *msg, int *fds, size_t nfds)
{
	size_t len;
	const char *text;
	int r;

	if (c->dead) {
		json_object_put(msg);
		if (fds)
			close_fds(fds, nfds);
		free(fds);
		return;
	}
	if (c->deliver) {
		if (fds)
			close_fds(fds, nfds);
		free(fds);
		c->deliver(c, msg);
		return;
	}
	text = jrpc_to_string(msg, &len);
	r = frame_writer_push(&c->wr, text, len, fds, nfds);
	free(fds);
	json_object_put(msg);
	if (r < 0) {
		conn_close(c, "out of memory queueing a reply");
		return;
	}
	/* Try at once: the common case is an idle socket with room, and waiting for
	 * EPOLLOUT would cost a loop iteration per reply. */
	conn_flush(c);
	if (c->dead)
		return;
	if (frame_writer_pending(&c->wr) > c->env->cfg->max_queued_bytes) {
		(*c->env->slow_disconnects)++;
		log_warning("client %llu (uid %u pid %d): more than %zu reply bytes queued; disconnecting",
		            (unsigned long long)c->serial, (unsigned)c->id.uid, (int)c->id.pid,
		            c->env->cfg->max_queued_bytes);
		conn_close(c, "reader too slow");
	}
}

static void conn_check_deferred(struct loop_defer *d)
{
	conn_check_done((struct conn *)((char *)d - offsetof(struct conn, check_defer)));
}

void conn_check_done_later(struct conn *c)
{
	if (!c->dead)
		loop_defer(c->env->loop, &c->check_defer);
}

void conn_stop_reading(struct conn *c)
{
	c->read_done = true;
	update_events(c);
}

void conn_check_done(struct conn *c)
{
	if (c->dead || !c->read_done || c->pending || frame_writer_pending(&c->wr))
		return;
	conn_close(c, "done");
}

/* A message over the size limit: answer once with id null, then stop reading
 * and close when the answer is out (protocol section 1). */
static void conn_oversize(struct conn *c)
{
	json_object *d = json_object_new_object();
	json_object *resp;

	(*c->env->oversize_messages)++;
	json_object_object_add(d, "limit", json_object_new_string("message_bytes"));
	json_object_object_add(d, "max", json_object_new_uint64(c->env->cfg->max_message_bytes));
	resp = jrpc_error_new(NULL, SB_ERR_LIMIT,
	                      "message too long: the limit is max bytes; the connection will be closed", d);
	c->read_done = true;
	if (resp)
		conn_queue_reply(c, resp, NULL, 0);
	if (c->dead)
		return;
	/* Requests already running are cancelled: the stream is no longer trusted. */
	while (c->calls)
		call_abort(c->calls, CALL_GONE);
	update_events(c);
	conn_check_done(c);
}

static void conn_process(struct conn *c);

static void conn_resume_deferred(struct loop_defer *d)
{
	struct conn *c = (struct conn *)((char *)d - offsetof(struct conn, resume_defer));

	if (!c->dead && !c->paused)
		conn_process(c);
}

void conn_pause(struct conn *c, bool pause)
{
	c->paused = pause;
	update_events(c);
	if (!pause)
		loop_defer(c->env->loop, &c->resume_defer);
}

static void conn_read(struct conn *c)
{
	ssize_t r = frame_reader_fill_from(&c->rd, c->fd, CONN_READ_CHUNK, conn_classify, c);

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r == -EMSGSIZE) {
		conn_oversize(c);
		return;
	}
	if (r < 0) {
		conn_close(c, "read failed");
		return;
	}
	if (r == 0) {
		/* The client shut down its sending side (e.g. socat after stdin EOF):
		 * finish what it asked, send the replies, then close. */
		c->read_done = true;
	}
	conn_process(c);
}

/* Hands each complete message read to on_message, until a pause. */
static void conn_process(struct conn *c)
{
	while (!c->paused) {
		struct frame_msg msg = { 0 };
		int n = frame_reader_next(&c->rd, &msg);
		if (n == -EMSGSIZE) {
			conn_oversize(c);
			return;
		}
		if (n <= 0)
			break;
		c->last_active = loop_now();
		c->ops->on_message(c, &msg);
		frame_msg_release(&msg);
		if (c->dead || c->read_done)
			break;
	}
	if (c->dead)
		return;
	if (c->read_done && frame_reader_partial(&c->rd))
		log_debug("client %llu: %zu bytes of an unterminated message at EOF dropped",
		          (unsigned long long)c->serial, frame_reader_partial(&c->rd));
	update_events(c);
	conn_check_done(c);
}

static void conn_on_io(struct loop_io *io, uint32_t revents)
{
	struct conn *c = (struct conn *)((char *)io - offsetof(struct conn, io));

	if (revents & EPOLLIN)
		conn_read(c);
	if (c->dead)
		return;
	if (revents & EPOLLOUT) {
		conn_flush(c);
		if (c->dead)
			return;
		conn_check_done(c);
		if (c->dead)
			return;
	}
	/* EPOLLHUP: the peer is gone entirely; nobody will read our replies. Data
	 * still buffered was read above, since EPOLLIN comes with it. */
	if ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN))
		conn_close(c, "peer hung up");
	else if ((revents & EPOLLHUP) && c->read_done)
		conn_close(c, "peer hung up");
}

static void conn_on_idle(struct loop_timer *t)
{
	struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, idle_timer));
	uint64_t idle_ns = (uint64_t)c->env->cfg->idle_timeout_s * 1000000000ull;
	uint64_t now = loop_now();

	if (c->pending) {
		/* Waiting for the daemon is not idleness. */
		c->last_active = now;
		arm_idle(c);
		return;
	}
	if (now < c->last_active + idle_ns) {
		arm_idle(c);
		return;
	}
	log_info("client %llu (uid %u): idle for %u s; closing", (unsigned long long)c->serial,
	         (unsigned)c->id.uid, c->env->cfg->idle_timeout_s);
	conn_close(c, "idle");
}

void conn_close(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	log_debug("client %llu (uid %u pid %d): closed (%s)", (unsigned long long)c->serial,
	          (unsigned)c->id.uid, (int)c->id.pid, why);
	while (c->calls)
		call_abort(c->calls, CALL_GONE);
	loop_defer_cancel(c->env->loop, &c->check_defer);
	loop_defer_cancel(c->env->loop, &c->resume_defer);
	loop_timer_disarm(c->env->loop, &c->idle_timer);
	if (c->fd >= 0)
		loop_io_del(c->env->loop, &c->io);
	c->fd = safe_close(c->fd);
	/* Free every descriptor now: accepting may resume in on_gone, which
	 * also closes the connection's handles (protocol section 5). */
	c->id.pidfd = safe_close(c->id.pidfd);
	senders_clear(c);
	c->ops->on_gone(c);
	/* Events for this connection may still be in the current epoll batch. */
	loop_defer(c->env->loop, &c->free_defer);
}

static void conn_free_deferred(struct loop_defer *d)
{
	struct conn *c = (struct conn *)((char *)d - offsetof(struct conn, free_defer));

	frame_reader_free(&c->rd);
	frame_writer_free(&c->wr);
	identity_free(&c->id);
	free(c);
}
