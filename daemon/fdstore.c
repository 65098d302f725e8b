/* systemd's file-descriptor store (fdstore.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "declared.h"
#include "fdstate.h"
#include "fdstore.h"
#include "hold.h"
#include "log.h"
#include "loop.h"
#include "sdnotify.h"
#include "server.h"
#include "util.h"

/* How soon a message systemd had no room for is tried again. */
#define RETRY_NS (10ull * 1000000ull)

/* Sockets go to the store with FDPOLL=0. By default systemd watches each
 * stored descriptor and drops it at the first POLLHUP or POLLERR. That suits
 * a connection whose peer left, not what we hold: a fresh TCP socket that is
 * neither bound nor connected (socket.create with hold:) polls POLLHUP from
 * the start, and a bound UDP socket reports POLLERR for a mere ICMP error
 * (SO_ERROR), so each would vanish from the store while the daemon still
 * holds it. A held socket leaves the store exactly when it leaves the hold
 * table, by FDSTOREREMOVE=1; the store mirrors the table. (A systemd that
 * does not know the field ignores it, as it does every unknown one.) */
#define STORE_FMT "FDSTORE=1\nFDPOLL=0\nFDNAME=%s"
#define REMOVE_FMT "FDSTOREREMOVE=1\nFDNAME=%s"

struct fdstore_msg {
	struct fdstore_msg *next;
	int fd;                     /* our duplicate, or -1 */
	char text[];
};

struct decl_rec {
	char *name;                 /* the declared socket's name */
	char *fdname;
	dev_t dev;
	ino_t ino;
};

struct handed {
	char *fdname;
	bool claimed;
};

struct fdstore {
	struct server *srv;
	struct loop *loop;
	int sock;                   /* our datagram socket toward $NOTIFY_SOCKET */
	char where[110];            /* $NOTIFY_SOCKET, for messages */
	struct fdstore_msg *head, *tail;
	size_t nqueued;
	struct loop_timer retry;
	struct loop_timer state_timer;
	uint64_t last_state_ns;     /* 0: never written */
	uint64_t state_gap_ns;      /* the least time between two writes */
	long max;                   /* $FDSTORE (systemd >= 254: FileDescriptorStoreMax=); 0 unknown */
	size_t nstored;             /* sockets we sent and have not removed */
	size_t name_bytes;          /* their names, each with its ':' (FDSTORE_NAMES_MAX) */
	struct decl_rec *decl;
	size_t ndecl;
	/* The held.* and decl.* names handed to us at start, by systemd or a
	 * restart (fdstore_handed_add; sorted at the first claim; until
	 * fdstore_ready): those sockets are in the store already. A name is
	 * claimed when the daemon keeps its socket. */
	struct handed *handed;
	size_t nhanded, caphanded;
	bool handed_sorted;
	struct log_ratelimit send_rl, full_rl;
	struct fdstore_stats st;
};

static void on_state_timer(struct loop_timer *t);
static void flush(struct fdstore *f, uint64_t deadline);

/* One line per 10 s at most, saying how many more were lost. */
static void lost(struct fdstore *f, const char *text, int r)
{
	uint64_t held;
	size_t n = strcspn(text, "\n");

	f->st.failed++;
	if (log_ratelimit(&f->send_rl, &held))
		log_warning("descriptor store: cannot send \"%.*s ...\" to %s: %s; held sockets may not survive a "
		            "crash (%llu more such failures since the last line)", (int)n, text, f->where,
		            strerror(-r), (unsigned long long)held);
}

static int send_now(struct fdstore *f, const char *text, int fd)
{
	return sd_notify_send_fds(f->sock, text, &fd, fd >= 0 ? 1 : 0);
}

/* Sends what waits, in order, until systemd's queue is full again. */
static void drain(struct fdstore *f)
{
	while (f->head) {
		struct fdstore_msg *m = f->head;
		int r = send_now(f, m->text, m->fd);

		if (r == -EAGAIN)
			break;
		if (r < 0)
			lost(f, m->text, r);
		else
			f->st.sent++;
		f->head = m->next;
		if (!f->head)
			f->tail = NULL;
		f->nqueued--;
		safe_close(m->fd);
		free(m);
	}
	f->st.queued = f->nqueued;
	if (f->head && !loop_timer_armed(&f->retry))
		loop_timer_arm(f->loop, &f->retry, loop_now() + RETRY_NS);
}

static void on_retry(struct loop_timer *t)
{
	drain((struct fdstore *)((char *)t - offsetof(struct fdstore, retry)));
}

/* Sends text with fd (peeked; -1: none) now, or after what waits already;
 * when systemd's queue is full, it waits too (fd duplicated), up to
 * FDSTORE_QUEUE_MAX messages. */
static void send_msg(struct fdstore *f, const char *text, int fd)
{
	struct fdstore_msg *m;
	size_t len = strlen(text);
	int r;

	if (!f->head) {
		r = send_now(f, text, fd);
		if (r == 0) {
			f->st.sent++;
			return;
		}
		if (r != -EAGAIN) {
			lost(f, text, r);
			return;
		}
	}
	if (f->nqueued >= FDSTORE_QUEUE_MAX) {
		lost(f, text, -ENOBUFS);
		return;
	}
	m = malloc(sizeof(*m) + len + 1);
	if (!m) {
		lost(f, text, -ENOMEM);
		return;
	}
	memcpy(m->text, text, len + 1);
	m->next = NULL;
	m->fd = -1;
	if (fd >= 0 && (m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		r = -errno;
		free(m);
		lost(f, text, r);
		return;
	}
	if (f->tail)
		f->tail->next = m;
	else
		f->head = m;
	f->tail = m;
	f->nqueued++;
	f->st.queued = f->nqueued;
	if (!loop_timer_armed(&f->retry))
		loop_timer_arm(f->loop, &f->retry, loop_now() + RETRY_NS);
}

/* fdname is in the store from now on. */
static void count_stored(struct fdstore *f, const char *fdname)
{
	f->nstored++;
	f->name_bytes += strlen(fdname) + 1;
}

static void store(struct fdstore *f, const char *fdname, int fd)
{
	char text[sizeof(STORE_FMT) + FDNAME_MAX];

	snprintf(text, sizeof(text), STORE_FMT, fdname);
	send_msg(f, text, fd);
	count_stored(f, fdname);
}

/* Drops the last queued FDSTORE=1 of fdname, when it is still waiting:
 * its removal then needs no message at all, and the socket is closed now
 * rather than when systemd reads again. Whether it did. */
static bool cancel_queued_store(struct fdstore *f, const char *fdname)
{
	char text[sizeof(STORE_FMT) + FDNAME_MAX];
	struct fdstore_msg *m, *prev = NULL, *hit = NULL, *hit_prev = NULL;

	snprintf(text, sizeof(text), STORE_FMT, fdname);
	for (m = f->head; m; prev = m, m = m->next)
		if (!strcmp(m->text, text)) {
			hit = m;
			hit_prev = prev;
		}
	if (!hit)
		return false;
	if (hit_prev)
		hit_prev->next = hit->next;
	else
		f->head = hit->next;
	if (f->tail == hit)
		f->tail = hit_prev;
	f->nqueued--;
	f->st.queued = f->nqueued;
	safe_close(hit->fd);
	free(hit);
	return true;
}

bool fdstore_pending(const struct fdstore *f, const char *fdname)
{
	char text[sizeof(STORE_FMT) + FDNAME_MAX];

	if (!f || !f->nqueued)
		return false;
	snprintf(text, sizeof(text), STORE_FMT, fdname);
	for (const struct fdstore_msg *m = f->head; m; m = m->next)
		if (!strcmp(m->text, text))
			return true;
	return false;
}

bool fdstore_has_decl(const struct fdstore *f, const char *fdname)
{
	if (!f)
		return false;
	for (size_t i = 0; i < f->ndecl; i++)
		if (!strcmp(f->decl[i].fdname, fdname))
			return !fdstore_pending(f, fdname);
	return false;
}

static void unstore(struct fdstore *f, const char *fdname)
{
	char text[sizeof(REMOVE_FMT) + FDNAME_MAX];

	snprintf(text, sizeof(text), REMOVE_FMT, fdname);
	if (!cancel_queued_store(f, fdname))
		send_msg(f, text, -1);
	if (f->nstored)
		f->nstored--;
	f->name_bytes -= SB_MIN(f->name_bytes, strlen(fdname) + 1);
}

/* Whether one more socket, named fdname, fits in the store: in its size as
 * far as we know it (the state memfd takes one place), and with its name in
 * what LISTEN_FDNAMES can carry. */
static bool room(struct fdstore *f, const char *name, const char *fdname)
{
	size_t bytes = f->name_bytes + strlen(fdname) + 1 + sizeof(FDNAME_STATE);
	uint64_t held;

	if ((!f->max || (long)f->nstored + 1 < f->max) && bytes <= FDSTORE_NAMES_MAX)
		return true;
	f->st.failed++;
	if (!log_ratelimit(&f->full_rl, &held))
		return false;
	if (bytes > FDSTORE_NAMES_MAX)
		log_warning("descriptor store: the names of the stored sockets would pass %u bytes, more than "
		            "systemd can hand on (LISTEN_FDNAMES); \"%s\" is not stored and will not survive a crash "
		            "(%llu more since the last line)", FDSTORE_NAMES_MAX, name, (unsigned long long)held);
	else
		log_warning("descriptor store: full (FileDescriptorStoreMax=%ld); \"%s\" is not stored and will "
		            "not survive a crash (%llu more since the last line)", f->max, name,
		            (unsigned long long)held);
	return false;
}

/* The state memfd is due: now if the last one is old enough, else when it
 * will be. */
static void state_dirty(struct fdstore *f)
{
	uint64_t at;

	if (loop_timer_armed(&f->state_timer))
		return;
	at = f->last_state_ns ? f->last_state_ns + f->state_gap_ns : 0;
	loop_timer_arm(f->loop, &f->state_timer, SB_MAX(at, loop_now()));
}

/* Replaces the state memfd: the old one out of the store, the new one in. */
static void write_state(struct fdstore *f)
{
	uint64_t t0 = loop_now(), cost;
	json_object *o = fdstate_describe(f->srv);
	char text[64];
	int fd;

	if (!o) {
		lost(f, "FDNAME=" FDNAME_STATE, -ENOMEM);
		return;
	}
	fd = fdstate_memfd(o);
	json_object_put(o);
	if (fd < 0) {
		lost(f, "FDNAME=" FDNAME_STATE, fd);
		return;
	}
	snprintf(text, sizeof(text), REMOVE_FMT, FDNAME_STATE);
	send_msg(f, text, -1);
	snprintf(text, sizeof(text), "FDSTORE=1\nFDNAME=%s", FDNAME_STATE);
	send_msg(f, text, fd);
	safe_close(fd);
	f->st.state_writes++;
	f->last_state_ns = loop_now();
	/* A large table costs a while to describe: then the writes space out,
	 * so that they never take more than a tenth of the loop. */
	cost = f->last_state_ns - t0;
	f->state_gap_ns = SB_MAX(FDSTORE_STATE_MIN_NS, cost * 10);
}

static void on_state_timer(struct loop_timer *t)
{
	write_state((struct fdstore *)((char *)t - offsetof(struct fdstore, state_timer)));
}

static void on_hold_change(struct hold_table *t, struct held *h, bool added)
{
	fdstore_held(t->userdata, h, added);
}

static int cmp_handed(const void *a, const void *b)
{
	return strcmp(((const struct handed *)a)->fdname, ((const struct handed *)b)->fdname);
}

/* Whether fdname was handed over by systemd and not claimed yet; claims it.
 * Its socket is in the store already: sending it again would only make
 * systemd drop the duplicate, or refuse it (and log so) when the store is
 * full. */
static bool handed_claim(struct fdstore *f, const char *fdname)
{
	struct handed key = { .fdname = (char *)fdname }, *e;

	if (!f->nhanded)
		return false;
	/* Sorted once, at the first claim: names come one by one, 10,000 of them. */
	if (!f->handed_sorted) {
		qsort(f->handed, f->nhanded, sizeof(*f->handed), cmp_handed);
		f->handed_sorted = true;
	}
	e = bsearch(&key, f->handed, f->nhanded, sizeof(*f->handed), cmp_handed);
	if (!e || e->claimed)
		return false;
	e->claimed = true;
	return true;
}

void fdstore_handed_add(struct fdstore *f, const char *fdname)
{
	if (!f || (strncmp(fdname, FDNAME_HELD, strlen(FDNAME_HELD)) &&
	           strncmp(fdname, FDNAME_DECLARED, strlen(FDNAME_DECLARED))))
		return;
	if (f->nhanded == f->caphanded) {
		size_t cap = f->caphanded ? f->caphanded * 2 : 64;
		struct handed *nv = realloc(f->handed, cap * sizeof(*nv));
		if (!nv)
			return;
		f->handed = nv;
		f->caphanded = cap;
	}
	f->handed[f->nhanded] = (struct handed){ .fdname = strdup(fdname) };
	if (f->handed[f->nhanded].fdname)
		f->nhanded++;
	f->handed_sorted = false;
}

void fdstore_flush(struct fdstore *f, unsigned ms)
{
	if (f)
		flush(f, loop_now() + (uint64_t)ms * 1000000ull);
}

int fdstore_new(struct server *s, struct fdstore **out)
{
	struct fdstore *f;
	struct sockaddr_un sa;
	socklen_t salen;
	const char *max = getenv("FDSTORE"), *path = getenv("NOTIFY_SOCKET");
	int r;

	*out = NULL;
	if (s->cfg.fdstore_off)
		return 0;
	r = sd_notify_address(&sa, &salen);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_warning("descriptor store: NOTIFY_SOCKET=%s is not a path or an abstract name; off", path);
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->srv = s;
	f->loop = s->loop;
	f->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (f->sock < 0) {
		r = -errno;
		free(f);
		return r;
	}
	snprintf(f->where, sizeof(f->where), "%s", path);
	f->retry.cb = on_retry;
	f->state_timer.cb = on_state_timer;
	f->state_gap_ns = FDSTORE_STATE_MIN_NS;
	f->send_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10);
	f->full_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10);
	/* systemd 254 and later say how large the store is; older ones do not. */
	if (max) {
		char *end;
		errno = 0;
		f->max = strtol(max, &end, 10);
		if (errno || *end || f->max < 0)
			f->max = 0;
	}
	s->holds.userdata = f;
	s->holds.on_change = on_hold_change;
	log_info("descriptor store: held and declared sockets go to systemd's (%s)", path);
	*out = f;
	return 0;
}

void fdstore_held(struct fdstore *f, struct held *h, bool added)
{
	char fdname[FDNAME_MAX + 1];

	/* A declared socket's copy in the hold table: the store has it as decl.* */
	if (!f || h->declared)
		return;
	state_dirty(f);
	if (!added) {
		if (h->stored && fdname_encode(FDNAME_HELD, h->name, fdname, sizeof(fdname)) == 0)
			unstore(f, fdname);
		h->stored = false;
		return;
	}
	if (fdname_encode(FDNAME_HELD, h->name, fdname, sizeof(fdname)) < 0) {
		f->st.unnamed++;
		log_warning("descriptor store: held socket \"%s\": its name is too long for an FDNAME (at most %d "
		            "characters, non-ASCII bytes count three); it is not stored and will not survive a crash",
		            h->name, FDNAME_MAX);
		return;
	}
	if (!room(f, h->name, fdname))
		return;
	if (handed_claim(f, fdname))
		count_stored(f, fdname);
	else
		store(f, fdname, h->fd);
	h->stored = true;
}

static struct decl_rec *decl_find(struct fdstore *f, const char *name)
{
	for (size_t i = 0; i < f->ndecl; i++)
		if (!strcmp(f->decl[i].name, name))
			return &f->decl[i];
	return NULL;
}

static void decl_drop(struct fdstore *f, struct decl_rec *r)
{
	unstore(f, r->fdname);
	free(r->name);
	free(r->fdname);
	*r = f->decl[--f->ndecl];
	state_dirty(f);
}

/* Sends what waits, for at most until deadline (a stop or a reload: the
 * only places that wait). */
static void flush(struct fdstore *f, uint64_t deadline)
{
	drain(f);
	while (f->head && loop_now() < deadline) {
		poll(NULL, 0, 5);
		drain(f);
	}
}

/* BARRIER=1 (sd_notify_barrier(3)): systemd closes the descriptor sent once
 * it has handled every message before it. */
static void barrier(struct fdstore *f)
{
	uint64_t deadline = loop_now() + FDSTORE_BARRIER_MS * 1000000ull;
	struct pollfd pfd = { .fd = -1, .events = 0 };
	int p[2], r, ms;

	flush(f, deadline);
	/* Past what still waits, a barrier would confirm too early. */
	if (f->head || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warning("descriptor store: systemd is not reading; the declared sockets being closed may find "
		            "their addresses busy when made again");
		return;
	}
	r = send_now(f, "BARRIER=1", p[1]);
	safe_close(p[1]);
	pfd.fd = p[0];
	ms = (int)((deadline - SB_MIN(deadline, loop_now())) / 1000000ull);
	if (r == 0 && (poll(&pfd, 1, ms) <= 0 || !(pfd.revents & POLLHUP)))
		log_warning("descriptor store: systemd did not confirm within %d ms that it let go of the declared "
		            "sockets being closed; making them again may find their addresses busy",
		            FDSTORE_BARRIER_MS);
	safe_close(p[0]);
}

void fdstore_declared_release(struct fdstore *f, const struct declared_table *t, const struct declared_set *next)
{
	bool any = false;

	if (!f)
		return;
	for (size_t i = 0; i < f->ndecl;) {
		struct decl_rec *r = &f->decl[i];
		const struct declared_sock *d = declared_find(t, r->name);
		bool kept = false;

		for (size_t k = 0; d && d->fd >= 0 && k < next->n && !kept; k++)
			kept = !strcmp(next->v[k].name, r->name) && declared_spec_equal(&d->spec, &next->v[k]);
		if (kept) {
			i++;
			continue;
		}
		decl_drop(f, r);
		any = true;
	}
	/* Handed over (at start): kept as declared_apply keeps them, by their
	 * fingerprint; one without is let go here and stored again after. */
	for (size_t i = 0; i < t->ninh; i++) {
		const struct declared_inherited *e = &t->inh[i];
		char fp[33], fdname[FDNAME_MAX + 1];
		bool kept = false;

		for (size_t k = 0; k < next->n && !kept && e->fingerprint; k++) {
			if (strcmp(next->v[k].name, e->name))
				continue;
			declared_spec_fingerprint(&next->v[k], fp);
			kept = !strcmp(fp, e->fingerprint);
		}
		if (kept || decl_find(f, e->name) || fdname_encode(FDNAME_DECLARED, e->name, fdname, sizeof(fdname)) < 0)
			continue;
		/* Gone from the store: what replaces it is sent anew. */
		handed_claim(f, fdname);
		fdstore_forget(f, fdname);
		any = true;
	}
	/* Closing ours is not enough while systemd's copy keeps the address. */
	if (any)
		barrier(f);
}

void fdstore_declared_sync(struct fdstore *f, const struct declared_table *t)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ndecl;) {
		const struct declared_sock *d = declared_find(t, f->decl[i].name);
		struct stat st;

		if (d && d->fd >= 0 && fstat(d->fd, &st) == 0 && st.st_dev == f->decl[i].dev &&
		    st.st_ino == f->decl[i].ino)
			i++;
		else
			decl_drop(f, &f->decl[i]);
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct declared_sock *d = &t->v[i];
		char fdname[FDNAME_MAX + 1];
		struct decl_rec *r, *nv;
		struct stat st;

		if (d->fd < 0 || decl_find(f, d->spec.name))
			continue;
		if (fdname_encode(FDNAME_DECLARED, d->spec.name, fdname, sizeof(fdname)) < 0) {
			f->st.unnamed++;
			log_warning("descriptor store: declared socket \"%s\": its name is too long for an FDNAME; it "
			            "is not stored (a crash closes it, and the next daemon makes it again)", d->spec.name);
			continue;
		}
		if (fstat(d->fd, &st) < 0 || !room(f, d->spec.name, fdname))
			continue;
		nv = realloc(f->decl, (f->ndecl + 1) * sizeof(*nv));
		if (!nv)
			continue;
		f->decl = nv;
		r = &f->decl[f->ndecl];
		r->name = strdup(d->spec.name);
		r->fdname = strdup(fdname);
		if (!r->name || !r->fdname) {
			free(r->name);
			free(r->fdname);
			continue;
		}
		r->dev = st.st_dev;
		r->ino = st.st_ino;
		f->ndecl++;
		/* Handed over and kept unchanged: the store has this very socket. */
		if (handed_claim(f, fdname))
			count_stored(f, fdname);
		else
			store(f, fdname, d->fd);
		state_dirty(f);
	}
}

void fdstore_ready(struct fdstore *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nhanded; i++) {
		if (!f->handed[i].claimed) {
			log_info("descriptor store: \"%s\" was handed over and is not kept; removed from the store",
			         f->handed[i].fdname);
			fdstore_forget(f, f->handed[i].fdname);
		}
		free(f->handed[i].fdname);
	}
	free(f->handed);
	f->handed = NULL;
	f->nhanded = f->caphanded = 0;
	state_dirty(f);
}

void fdstore_stop(struct fdstore *f)
{
	if (!f)
		return;
	loop_timer_disarm(f->loop, &f->state_timer);
	write_state(f);
	flush(f, loop_now() + FDSTORE_BARRIER_MS * 1000000ull);
	if (f->head)
		log_warning("descriptor store: %zu messages could not be sent before the stop", f->nqueued);
}

void fdstore_free(struct fdstore *f)
{
	if (!f)
		return;
	if (f->srv->holds.userdata == f) {
		f->srv->holds.on_change = NULL;
		f->srv->holds.userdata = NULL;
	}
	loop_timer_disarm(f->loop, &f->retry);
	loop_timer_disarm(f->loop, &f->state_timer);
	while (f->head) {
		struct fdstore_msg *m = f->head;
		f->head = m->next;
		safe_close(m->fd);
		free(m);
	}
	for (size_t i = 0; i < f->ndecl; i++) {
		free(f->decl[i].name);
		free(f->decl[i].fdname);
	}
	free(f->decl);
	for (size_t i = 0; i < f->nhanded; i++)
		free(f->handed[i].fdname);
	free(f->handed);
	safe_close(f->sock);
	free(f);
}

void fdstore_forget(struct fdstore *f, const char *fdname)
{
	char text[sizeof(REMOVE_FMT) + FDNAME_MAX];

	if (!f || strlen(fdname) > FDNAME_MAX)
		return;
	snprintf(text, sizeof(text), REMOVE_FMT, fdname);
	send_msg(f, text, -1);
}

void fdstore_get_stats(const struct fdstore *f, struct fdstore_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	*out = f->st;
	out->stored = f->nstored;
	out->name_bytes = f->name_bytes;
}
