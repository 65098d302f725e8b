#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "call.h"
#include "conn.h"
#include "dispatch.h"
#include "jsonrpc.h"
#include "log.h"
#include "server.h"
#include "sock.h"
#include "util.h"

/* Bytes one read takes: large enough for throughput, small enough that one
 * busy client cannot hold the loop for long. */
#define CONN_READ_CHUNK 65536

static void conn_on_io(struct loop_io *io, uint32_t revents);
static void conn_on_idle(struct loop_timer *t);
static void conn_free_deferred(struct loop_defer *d);
static void conn_check_deferred(struct loop_defer *d);

static uint32_t wanted_events(struct conn *c)
{
	uint32_t ev = 0;

	if (!c->read_done)
		ev |= EPOLLIN;
	if (frame_writer_pending(&c->wr))
		ev |= EPOLLOUT;
	return ev;
}

static void update_events(struct conn *c)
{
	if (!c->dead)
		loop_io_mod(c->srv->loop, &c->io, wanted_events(c));
}

static void arm_idle(struct conn *c)
{
	unsigned idle = c->srv->cfg.idle_timeout_s;

	if (idle && !loop_timer_armed(&c->idle_timer))
		loop_timer_arm(c->srv->loop, &c->idle_timer,
		               c->last_active + (uint64_t)idle * 1000000000ull);
}

int conn_new(struct server *srv, int fd, struct identity *id, struct conn **out)
{
	struct conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->fd = fd;
	c->id = *id;
	memset(id, 0, sizeof(*id));
	id->pidfd = -1;
	c->connected = wall_now();
	c->serial = ++srv->next_serial;
	c->default_block = true;
	c->idle_timer.cb = conn_on_idle;
	c->free_defer.cb = conn_free_deferred;
	c->check_defer.cb = conn_check_deferred;
	c->last_active = loop_now();
	frame_writer_init(&c->wr);
	r = frame_reader_init(&c->rd, srv->cfg.max_message_bytes, srv->cfg.max_fds);
	if (r < 0)
		goto fail;
	r = loop_io_add(srv->loop, &c->io, fd, EPOLLIN, conn_on_io);
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

void conn_call_remove(struct conn *c, struct call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
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
	if (frame_writer_pending(&c->wr) > c->srv->cfg.max_queued_bytes) {
		c->srv->stats.slow_disconnects++;
		log_warning("client %llu (uid %u pid %d): more than %zu reply bytes queued; disconnecting",
		            (unsigned long long)c->serial, (unsigned)c->id.uid, (int)c->id.pid,
		            c->srv->cfg.max_queued_bytes);
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
		loop_defer(c->srv->loop, &c->check_defer);
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

	c->srv->stats.oversize_messages++;
	json_object_object_add(d, "limit", json_object_new_string("message_bytes"));
	json_object_object_add(d, "max", json_object_new_uint64(c->srv->cfg.max_message_bytes));
	resp = jrpc_error_new(NULL, SB_ERR_LIMIT,
	                      "message too long: the limit is max bytes; the connection will be closed", d);
	c->read_done = true;
	if (resp)
		conn_queue_reply(c, resp, NULL, 0);
	if (c->dead)
		return;
	/* Requests already running are cancelled: the stream is no longer trusted. */
	while (c->calls)
		call_cancel(c->calls);
	update_events(c);
	conn_check_done(c);
}

static void conn_read(struct conn *c)
{
	ssize_t r = frame_reader_fill(&c->rd, c->fd, CONN_READ_CHUNK);

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
	for (;;) {
		struct frame_msg msg = { 0 };
		int n = frame_reader_next(&c->rd, &msg);
		if (n == -EMSGSIZE) {
			conn_oversize(c);
			return;
		}
		if (n <= 0)
			break;
		c->last_active = loop_now();
		dispatch_message(c, &msg);
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
	uint64_t idle_ns = (uint64_t)c->srv->cfg.idle_timeout_s * 1000000000ull;
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
	         (unsigned)c->id.uid, c->srv->cfg.idle_timeout_s);
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
		call_cancel(c->calls);
	/* Handles close with their connection (protocol section 5). */
	sock_close_all(c);
	loop_defer_cancel(c->srv->loop, &c->check_defer);
	loop_timer_disarm(c->srv->loop, &c->idle_timer);
	loop_io_del(c->srv->loop, &c->io);
	c->fd = safe_close(c->fd);
	/* Free every descriptor now: accepting may resume in server_conn_gone. */
	c->id.pidfd = safe_close(c->id.pidfd);
	server_conn_gone(c->srv, c);
	/* Events for this connection may still be in the current epoll batch. */
	loop_defer(c->srv->loop, &c->free_defer);
}

static void conn_free_deferred(struct loop_defer *d)
{
	struct conn *c = (struct conn *)((char *)d - offsetof(struct conn, free_defer));

	frame_reader_free(&c->rd);
	frame_writer_free(&c->wr);
	identity_free(&c->id);
	free(c);
}
