#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "log.h"
#include "metrics.h"
#include "sock.h"
#include "util.h"

/* ---- the handle table: chained hash, power-of-two buckets ---- */

int sock_table_init(struct sock_table *t, struct loop *loop)
{
	*t = (struct sock_table){ .loop = loop };
	t->buckets = calloc(64, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = 64;
	return 0;
}

void sock_table_free(struct sock_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
}

static size_t bucket_of(const struct sock_table *t, uint64_t h)
{
	return (size_t)(h * 0x9E3779B97F4A7C15ull >> 17) & (t->nbuckets - 1);
}

static void table_grow(struct sock_table *t)
{
	size_t n = t->nbuckets * 2;
	struct sock **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct sock *sk = t->buckets[i], *next;
		for (; sk; sk = next) {
			size_t k = (size_t)(sk->handle * 0x9E3779B97F4A7C15ull >> 17) & (n - 1);
			next = sk->hash_next;
			sk->hash_next = b[k];
			b[k] = sk;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static void table_add(struct sock_table *t, struct sock *sk)
{
	size_t k;

	if (t->n + 1 > t->nbuckets)
		table_grow(t);
	k = bucket_of(t, sk->handle);
	sk->hash_next = t->buckets[k];
	t->buckets[k] = sk;
	t->n++;
}

static void table_del(struct sock_table *t, struct sock *sk)
{
	struct sock **pp = &t->buckets[bucket_of(t, sk->handle)];

	for (; *pp; pp = &(*pp)->hash_next)
		if (*pp == sk) {
			*pp = sk->hash_next;
			t->n--;
			return;
		}
}

/* ---- sockets ---- */

int sock_new(struct conn *c, int fd, int family, int type, int proto, struct sock **out)
{
	struct sock_table *t = c->env->socks;
	struct sock *sk;
	int fl;

	if (c->nsocks >= c->lim_handles) {
		safe_close(fd);
		return -EDQUOT;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int r = -errno;
		safe_close(fd);
		return r;
	}
	sk = calloc(1, sizeof(*sk));
	if (!sk) {
		safe_close(fd);
		return -ENOMEM;
	}
	sk->handle = ++t->next_handle;
	sk->fd = fd;
	sk->family = family;
	sk->type = type;
	sk->proto = proto;
	sk->table = t;
	sk->owner = c;
	sk->block = c->default_block;
	sk->timeout_s = c->default_timeout_s;
	sk->created = wall_now();
	sk->waits_tail = &sk->waits;
	sk->conn_next = c->socks;
	if (c->socks)
		c->socks->conn_prev = sk;
	c->socks = sk;
	c->nsocks++;
	table_add(t, sk);
	*out = sk;
	return 0;
}

struct sock *sock_find(struct sock_table *t, int64_t handle)
{
	if (handle <= 0)
		return NULL;
	for (struct sock *sk = t->buckets[bucket_of(t, (uint64_t)handle)]; sk; sk = sk->hash_next)
		if (sk->handle == (uint64_t)handle)
			return sk;
	return NULL;
}

struct sock *sock_lookup(struct conn *c, int64_t handle)
{
	struct sock *sk = sock_find(c->env->socks, handle);

	return sk && sk->owner == c ? sk : NULL;
}

int sock_get(struct call *call, int64_t handle, struct sock **out)
{
	*out = sock_lookup(call->conn, handle);
	if (*out)
		return 0;
	return call_error_handle(call, handle, "no socket with handle %lld on this connection (closed, or another "
	                                       "client's)", (long long)handle);
}

/* ---- parked operations ---- */

static void sock_on_io(struct loop_io *io, uint32_t revents);
static void wait_on_timer(struct loop_timer *t);

static void sock_free_deferred(struct loop_defer *d)
{
	free((struct sock *)((char *)d - offsetof(struct sock, free_defer)));
}

/* Events for sk may still be in the current epoll batch (the loop skips a
 * removed io, but reads it to know), so the memory goes after the batch. */
static void sock_free(struct sock *sk)
{
	sk->free_defer.cb = sock_free_deferred;
	loop_defer(sk->table->loop, &sk->free_defer);
}

/* Keeps sk's memory while code that may close it runs (finishing or freeing
 * an operation can: connect_to owns and closes its socket). */
static void sock_hold(struct sock *sk)
{
	sk->busy++;
}

/* Ends a sock_hold: false when sk was closed meanwhile (and is now freed
 * unless an outer hold remains). */
static bool sock_release(struct sock *sk)
{
	sk->busy--;
	if (!sk->dead)
		return true;
	if (!sk->busy)
		sock_free(sk);
	return false;
}

/* Keeps epoll interest equal to what the parked operations wait for. */
static void sock_update_interest(struct sock *sk)
{
	uint32_t ev = 0;

	for (struct sock_wait *w = sk->waits; w; w = w->next)
		ev |= w->events;
	if (!ev) {
		/* Out of epoll, not merely interest 0: EPOLLERR and EPOLLHUP come
		 * regardless, and a reset socket nobody waits on would spin the loop. */
		if (sk->io_added) {
			loop_io_del(sk->table->loop, &sk->io);
			sk->io_added = false;
		}
		return;
	}
	if (!sk->io_added) {
		if (loop_io_add(sk->table->loop, &sk->io, sk->fd, ev, sock_on_io) == 0)
			sk->io_added = true;
		return;
	}
	loop_io_mod(sk->table->loop, &sk->io, ev);
}

static void wait_unlink(struct sock_wait *w)
{
	struct sock *sk = w->sk;
	struct sock_wait **pp;

	for (pp = &sk->waits; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			if (sk->waits_tail == &w->next)
				sk->waits_tail = pp;
			sk->nwaits--;
			break;
		}
	w->next = NULL;
	loop_timer_disarm(sk->table->loop, &w->timer);
}

static void wait_free(struct sock_wait *w)
{
	if (w->free_state)
		w->free_state(w->state);
	free(w);
}

/* Ends a parked operation with rc and answers its call. */
static void wait_finish(struct sock_wait *w, int rc)
{
	struct call *call = w->call;

	wait_unlink(w);
	call->park = NULL;
	call->cancel = NULL;
	wait_free(w);
	call_finish(call, rc);
}

/* The call's client left: drop the operation without an answer. */
static void wait_cancel(struct call *call)
{
	struct sock_wait *w = call->park;
	struct sock *sk = w->sk;

	wait_unlink(w);
	call->park = NULL;
	sock_hold(sk);
	wait_free(w);
	if (sock_release(sk))
		sock_update_interest(sk);
}

static void wait_on_timer(struct loop_timer *t)
{
	struct sock_wait *w = (struct sock_wait *)((char *)t - offsetof(struct sock_wait, timer));
	struct sock *sk = w->sk;
	json_object *d = json_object_new_object();
	int rc;

	json_object_object_add(d, "timeout", json_object_new_double(w->timeout_s));
	if (w->timeout_data)
		w->timeout_data(w, d);
	rc = call_error(w->call, SB_ERR_TIMEOUT, d, "timed out after %g s", w->timeout_s);
	sock_hold(sk);
	wait_finish(w, rc);
	if (sock_release(sk))
		sock_update_interest(sk);
}

static void sock_on_io(struct loop_io *io, uint32_t revents)
{
	struct sock *sk = (struct sock *)((char *)io - offsetof(struct sock, io));
	unsigned epoch = ++sk->epoch;

	/* Each parked operation gets one try per event, oldest first. The scan
	 * restarts from the head after every try, because finishing a call may
	 * finish or cancel others (and even close this socket: busy keeps it). */
	sock_hold(sk);
	while (!sk->dead) {
		struct sock_wait *w;
		int rc;

		for (w = sk->waits; w; w = w->next)
			if (w->epoch != epoch && (revents & (w->events | EPOLLERR | EPOLLHUP)))
				break;
		if (!w)
			break;
		w->epoch = epoch;
		rc = w->try_op(w);
		if (rc != -EAGAIN)
			wait_finish(w, rc);
	}
	if (sock_release(sk))
		sock_update_interest(sk);
}

int sock_op(struct call *call, struct sock *sk, uint32_t events, bool nowait, sock_try_fn try_op,
            void *state, void (*free_state)(void *),
            void (*timeout_data)(struct sock_wait *, json_object *))
{
	struct sock_wait *w = calloc(1, sizeof(*w));
	int rc;

	if (!w) {
		if (free_state)
			free_state(state);
		return -ENOMEM;
	}
	w->sk = sk;
	w->call = call;
	w->events = events;
	w->try_op = try_op;
	w->state = state;
	w->free_state = free_state;
	w->timeout_data = timeout_data;
	w->timer.cb = wait_on_timer;
	rc = try_op(w);
	/* Python: a non-blocking socket (timeout 0) reports EAGAIN at once, and so
	 * does an operation asked not to wait. */
	if (rc != -EAGAIN || nowait || (!sk->block && sk->timeout_s <= 0)) {
		wait_free(w);
		return rc;
	}
	w->timeout_s = sk->block ? 0 : sk->timeout_s;
	if (!sk->block) {
		/* A deadline for the whole call, however many retries it takes. */
		w->timer.deadline = loop_now() + (uint64_t)(sk->timeout_s * 1e9);
		if (loop_timer_arm(sk->table->loop, &w->timer, w->timer.deadline) < 0) {
			wait_free(w);
			return -ENOMEM;
		}
	}
	*sk->waits_tail = w;
	sk->waits_tail = &w->next;
	sk->nwaits++;
	call->park = w;
	call->cancel = wait_cancel;
	sock_update_interest(sk);
	return CALL_PENDING;
}

/* Fails every parked operation of sk (it is being closed or detached). */
static void fail_waits(struct sock *sk)
{
	while (sk->waits) {
		struct sock_wait *w = sk->waits;
		wait_finish(w, call_error_os(w->call, -EBADF, "the socket was closed while the operation waited"));
	}
}

static void sock_unlink(struct sock *sk)
{
	struct conn *c = sk->owner;

	if (sk->io_added) {
		loop_io_del(sk->table->loop, &sk->io);
		sk->io_added = false;
	}
	table_del(sk->table, sk);
	if (c) {
		if (sk->conn_prev)
			sk->conn_prev->conn_next = sk->conn_next;
		else
			c->socks = sk->conn_next;
		if (sk->conn_next)
			sk->conn_next->conn_prev = sk->conn_prev;
		c->nsocks--;
	}
	sk->owner = NULL;
}

void sock_close(struct sock *sk)
{
	if (sk->dead)
		return;
	sk->dead = true;
	sk->busy++;   /* not sock_hold: dead already, the free is below */
	fail_waits(sk);
	sk->busy--;
	sock_unlink(sk);
	sk->fd = safe_close(sk->fd);
	if (!sk->busy)
		sock_free(sk);
}

int sock_take_fd(struct sock *sk)
{
	int fd;

	/* Failing the waits may close this very socket (connect_to owns its
	 * socket and closes it when the connection attempt fails). */
	sock_hold(sk);
	fail_waits(sk);
	if (!sock_release(sk))
		return -EBADF;
	sock_unlink(sk);
	fd = TAKE_FD(sk->fd);
	sk->dead = true;
	if (!sk->busy)
		sock_free(sk);
	return fd;
}

void sock_close_all(struct conn *c)
{
	/* sock_close unlinks before it may defer the free, so this ends. */
	while (c->socks)
		sock_close(c->socks);
}

void sock_replace_fd(struct sock *sk, int fd, int family)
{
	/* epoll forgets a closed descriptor by itself; our flag must agree. */
	if (sk->io_added) {
		loop_io_del(sk->table->loop, &sk->io);
		sk->io_added = false;
	}
	safe_close(sk->fd);
	sk->fd = fd;
	sk->family = family;
}

/* ---- introspection ---- */

json_object *sock_timeout_json(const struct sock *sk)
{
	return sk->block ? NULL : json_object_new_double(sk->timeout_s);
}

json_object *sock_info(struct sock *sk)
{
	json_object *o = json_object_new_object();
	struct sockaddr_storage ss;
	socklen_t l;
	int v = 0;

	json_object_object_add(o, "handle", json_object_new_uint64(sk->handle));
	json_object_object_add(o, "family", sbc_to_json(SBC_AF, sk->family));
	json_object_object_add(o, "type", sbc_to_json(SBC_SOCK, sk->type));
	json_object_object_add(o, "proto", sbc_to_json(SBC_IPPROTO, sk->proto));
	l = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(sk->fd, (struct sockaddr *)&ss, &l) == 0)
		json_object_object_add(o, "local", sbaddr_encode((struct sockaddr *)&ss, l));
	l = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(sk->fd, (struct sockaddr *)&ss, &l) == 0)
		json_object_object_add(o, "peer", sbaddr_encode((struct sockaddr *)&ss, l));
	l = sizeof(v);
	if (getsockopt(sk->fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0)
		json_object_object_add(o, "listening", json_object_new_boolean(v));
	json_object_object_add(o, "timeout", sock_timeout_json(sk));
	json_object_object_add(o, "blocking", json_object_new_boolean(sk->block || sk->timeout_s > 0));
	json_object_object_add(o, "bytes_in", json_object_new_uint64(sk->bytes_in));
	json_object_object_add(o, "bytes_out", json_object_new_uint64(sk->bytes_out));
	json_object_object_add(o, "created", json_object_new_double(floor(sk->created * 1000) / 1000));
	json_object_object_add(o, "pending", json_object_new_int((int)sk->nwaits));
	return o;
}

void sock_count_bytes(struct sock *sk, bool sent, uint64_t n)
{
	if (sent)
		sk->bytes_out += n;
	else
		sk->bytes_in += n;
	if (sk->owner)
		metrics_bytes(sk->owner->env->metrics, sent, n);
}
