#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fdpass.h"
#include "frame.h"
#include "util.h"

/* Smallest buffer either side allocates. */
#define FRAME_MIN_CAP 1024
/* An emptied buffer bigger than this is given back instead of kept for reuse,
 * so an idle connection does not keep a once-large message's memory. */
#define FRAME_KEEP_CAP (64 * 1024)

/* ---- reader ---- */

/* The descriptors of one message, keyed by where the message begins.
 * r->fdsets is ordered by off; its last entry is always the "open" record:
 * the message that is not terminated yet (it may have no bytes so far).
 * Entries before it exist only for complete messages that have descriptors
 * or an fd_error; complete messages without either have no entry. */
struct frame_fdset {
	size_t off;
	int *fds;
	size_t nfds;
	bool error;     /* descriptors were lost: the message gets fd_error */
	bool too_long;  /* open record only: the message passed max_msg, reader is dead */
};

/* The writer of the complete messages that begin at off or later, up to the
 * next record (or the open message). mixed applies to the message that
 * begins exactly at off: records for several messages are only ever merged
 * when none of them is mixed. */
struct frame_seg {
	size_t off;
	uint64_t sender;
	bool mixed;
};

static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static void fdset_clear(struct frame_fdset *s)
{
	close_fds(s->fds, s->nfds);
	free(s->fds);
	s->fds = NULL;
	s->nfds = 0;
}

/* Drops the message's descriptors for good: it will be rejected, not served short. */
static void fdset_fail(struct frame_fdset *s)
{
	fdset_clear(s);
	s->error = true;
}

/* Gives fds (taken) to message s, merging with what it already holds. */
static void fdset_add(const struct frame_reader *r, struct frame_fdset *s,
                      int *fds, size_t nfds, bool truncated)
{
	int *n;

	if (truncated || s->error || nfds > r->max_fds - s->nfds) {
		close_fds(fds, nfds);
		fdset_fail(s);
		return;
	}
	if (nfds == 0)
		return;
	/* Out of memory here costs the message its descriptors (fd_error), not
	 * the connection: the bytes are already in the buffer. */
	n = realloc(s->fds, (s->nfds + nfds) * sizeof(int));
	if (!n) {
		close_fds(fds, nfds);
		fdset_fail(s);
		return;
	}
	s->fds = n;
	for (size_t i = 0; i < nfds; i++)
		s->fds[s->nfds++] = TAKE_FD(fds[i]);
}

/* Makes the open record stand for the message that begins at off, reusing the
 * current one when it holds nothing. Capacity must have been reserved. */
static struct frame_fdset *reader_open_at(struct frame_reader *r, size_t off)
{
	struct frame_fdset *last = &r->fdsets[r->nfdsets - 1];

	if (last->off == off)
		return last;
	if (last->nfds == 0 && !last->error && !last->too_long) {
		last->off = off;
		return last;
	}
	last = &r->fdsets[r->nfdsets++];
	*last = (struct frame_fdset){ .off = off };
	return last;
}

/* Moves unconsumed bytes to the front; offsets of records follow. */
static void reader_compact(struct frame_reader *r)
{
	size_t d = r->start;

	if (d == 0)
		return;
	memmove(r->buf, r->buf + d, r->len - d);
	for (size_t i = 0; i < r->nfdsets; i++)
		r->fdsets[i].off -= d;
	/* The first record may begin before start (it covers messages from
	 * there on): it now begins at 0. */
	for (size_t i = 0; i < r->nsegs; i++) {
		if (r->segs[i].off < d) {
			/* The message it began with is gone: only its writer stays. */
			r->segs[i].off = 0;
			r->segs[i].mixed = false;
		} else {
			r->segs[i].off -= d;
		}
	}
	r->len -= d;
	r->scan -= d;
	r->start = 0;
}

/* Room for n more bytes and two more records, before anything is changed. */
static int reader_reserve(struct frame_reader *r, size_t n)
{
	size_t live, need, newcap, hi;

	if (r->nfdsets == 0)
		return -EINVAL; /* never initialised */
	if (r->fdsets[r->nfdsets - 1].too_long)
		return -EMSGSIZE;

	if (r->capfdsets - r->nfdsets < 2) {
		size_t c = r->capfdsets * 2;
		struct frame_fdset *s = reallocarray(r->fdsets, c, sizeof(*s));

		if (!s)
			return -ENOMEM;
		r->fdsets = s;
		r->capfdsets = c;
	}
	if (r->capsegs - r->nsegs < 2) {
		size_t c = r->capsegs ? r->capsegs * 2 : 4;
		struct frame_seg *s = reallocarray(r->segs, c, sizeof(*s));

		if (!s)
			return -ENOMEM;
		r->segs = s;
		r->capsegs = c;
	}

	live = r->len - r->start;
	if (live == 0) {
		/* Everything consumed: rebasing is free, and a big buffer goes back. */
		reader_compact(r);
		if (r->cap > FRAME_KEEP_CAP && r->cap > n) {
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	}
	if (r->cap - r->len >= n)
		return 0;
	/* Compact only when short of room: with the daemon draining every
	 * message after each read, each byte is moved at most once. */
	reader_compact(r);
	if (r->cap - r->len >= n)
		return 0;

	if (n > SIZE_MAX - live)
		return -ENOMEM;
	need = live + n;
	newcap = r->cap ? r->cap : FRAME_MIN_CAP;
	while (newcap < need)
		newcap = newcap > SIZE_MAX / 2 ? need : newcap * 2;
	/* Doubling past the largest legal partial message plus this read is waste. */
	hi = add_sat(add_sat(r->max_msg, 1), n);
	if (newcap > hi && hi >= need)
		newcap = hi;
	{
		char *b = realloc(r->buf, newcap);

		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = newcap;
	}
	return 0;
}

/* Accounts for n new bytes already placed at buf[len..len+n) and the
 * descriptors that came with them (protocol section 2). */
/* Appends a record for complete messages from off on, merged into the last
 * one when it says the same and this one is not mixed. Room is reserved. */
static void seg_push(struct frame_reader *r, size_t off, uint64_t sender, bool mixed)
{
	if (!mixed && r->nsegs > 0 && r->segs[r->nsegs - 1].sender == sender)
		return;
	r->segs[r->nsegs++] = (struct frame_seg){ .off = off, .sender = sender, .mixed = mixed };
}

/* The writer of the bytes at buf[old..old+n): the open message's first, or
 * another; the messages they complete get records. open_off is where the
 * open message began before these bytes, next where it begins after them. */
static void reader_note_sender(struct frame_reader *r, size_t open_off, size_t old, size_t n,
                               size_t next, uint64_t sender)
{
	const char *nl;

	if (n == 0)
		return;
	if (!r->open_started) {
		r->open_started = true;
		r->open_sender = sender;
	} else if (r->open_sender != sender) {
		r->open_mixed = true;
	}
	nl = memchr(r->buf + old, '\n', n);
	if (!nl)
		return;
	/* The open message ends at the first '\n'; every message begun after it
	 * in these bytes is this writer's alone. */
	seg_push(r, open_off, r->open_sender, r->open_mixed);
	if ((size_t)(nl - r->buf) + 1 < next)
		seg_push(r, (size_t)(nl - r->buf) + 1, sender, false);
	r->open_started = next < old + n;
	r->open_sender = sender;
	r->open_mixed = false;
}

static int reader_commit(struct frame_reader *r, size_t n, int *fds, size_t nfds,
                         bool truncated, uint64_t sender)
{
	struct frame_fdset *open = &r->fdsets[r->nfdsets - 1];
	size_t old = r->len, end = old + n, target, next;
	const char *p = NULL;

	r->len = end;
	/* A message begins in these bytes at old (if the open message has no
	 * bytes yet) and after every '\n' except a final one: what follows a
	 * final '\n' has no byte in this read. Only the last such start
	 * matters, so look backwards from the second-to-last byte; each new
	 * byte is looked at once here and once by frame_reader_next(). */
	if (n > 1)
		p = memrchr(r->buf + old, '\n', n - 1);
	/* Without a '\n' inside, the target is the open message: either it
	 * begins at old, or these bytes continue it. */
	target = p ? (size_t)(p - r->buf) + 1 : open->off;
	if (n > 0 && r->buf[end - 1] == '\n')
		next = end;
	else
		next = target;

	reader_note_sender(r, open->off, old, n, next, sender);
	if (nfds > 0 || truncated)
		fdset_add(r, reader_open_at(r, target), fds, nfds, truncated);
	open = reader_open_at(r, next);

	if (end - open->off > r->max_msg) {
		open->too_long = true;
		fdset_fail(open);
		return -EMSGSIZE;
	}
	return 0;
}

int frame_reader_init(struct frame_reader *r, size_t max_msg, size_t max_fds)
{
	memset(r, 0, sizeof(*r));
	r->max_msg = max_msg;
	r->max_fds = max_fds;
	r->fdsets = calloc(4, sizeof(*r->fdsets));
	if (!r->fdsets)
		return -ENOMEM;
	r->capfdsets = 4;
	r->nfdsets = 1; /* the open record of the first message, at offset 0 */
	return 0;
}

void frame_reader_free(struct frame_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfdsets; i++)
		fdset_clear(&r->fdsets[i]);
	free(r->fdsets);
	free(r->segs);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int frame_reader_feed_from(struct frame_reader *r, const void *data, size_t n,
                           int *fds, size_t nfds, bool truncated, uint64_t sender)
{
	int ret = reader_reserve(r, n);

	if (ret < 0) {
		close_fds(fds, nfds);
		return ret;
	}
	if (n > 0)
		memcpy(r->buf + r->len, data, n);
	return reader_commit(r, n, fds, nfds, truncated, sender);
}

int frame_reader_feed(struct frame_reader *r, const void *data, size_t n,
                      int *fds, size_t nfds, bool truncated)
{
	return frame_reader_feed_from(r, data, n, fds, nfds, truncated, 0);
}

ssize_t frame_reader_fill_from(struct frame_reader *r, int sock, size_t chunk,
                               frame_sender_fn fn, void *ctx)
{
	int fds[FDPASS_MAX_FDS];
	size_t nfds = 0;
	bool truncated = false;
	struct fdpass_sender who;
	uint64_t sender = 0;
	ssize_t n;
	int ret;

	if (chunk == 0 || chunk > SSIZE_MAX)
		return -EINVAL;
	ret = reader_reserve(r, chunk);
	if (ret < 0)
		return ret;
	/* Read straight into the buffer's free space: no copy. With max_fds 0
	 * descriptors arrive as truncated. */
	n = fdpass_recv_from(sock, r->buf + r->len, chunk, MSG_DONTWAIT, fds,
	                     SB_MIN(r->max_fds, (size_t)FDPASS_MAX_FDS), &nfds, &truncated,
	                     fn ? &who : NULL);
	if (n < 0)
		return n;
	if (n == 0) {
		close_fds(fds, nfds); /* a stream cannot carry them without bytes */
		if (fn)
			safe_close(who.pidfd);
		return 0;
	}
	if (fn)
		sender = fn(ctx, &who);
	ret = reader_commit(r, (size_t)n, fds, nfds, truncated, sender);
	return ret < 0 ? ret : n;
}

ssize_t frame_reader_fill(struct frame_reader *r, int sock, size_t chunk)
{
	return frame_reader_fill_from(r, sock, chunk, NULL, NULL);
}

int frame_reader_next(struct frame_reader *r, struct frame_msg *msg)
{
	const char *nl = NULL;
	size_t end;

	memset(msg, 0, sizeof(*msg));
	if (r->scan < r->start)
		r->scan = r->start;
	if (r->len > r->scan)
		nl = memchr(r->buf + r->scan, '\n', r->len - r->scan);
	if (!nl) {
		r->scan = r->len;
		if (r->nfdsets > 0 && r->fdsets[r->nfdsets - 1].too_long)
			return -EMSGSIZE;
		return 0;
	}
	end = (size_t)(nl - r->buf);
	/* Nothing before the '\n' needs looking at again, even if we refuse. */
	r->scan = end;
	if (end - r->start > r->max_msg)
		return -EMSGSIZE; /* sticky: the caller answers and closes */

	msg->data = r->buf + r->start;
	msg->len = end - r->start;
	/* Records before the one that covers this message are done with. */
	while (r->nsegs > 1 && r->segs[1].off <= r->start) {
		memmove(r->segs, r->segs + 1, (r->nsegs - 1) * sizeof(*r->segs));
		r->nsegs--;
	}
	if (r->nsegs > 0 && r->segs[0].off <= r->start) {
		msg->sender = r->segs[0].sender;
		msg->mixed_senders = r->segs[0].mixed && r->segs[0].off == r->start;
	}
	/* The open record is never this message (it is terminated). */
	if (r->nfdsets > 1 && r->fdsets[0].off == r->start) {
		struct frame_fdset *s = &r->fdsets[0];

		msg->fds = s->fds;
		msg->nfds = s->nfds;
		msg->fd_error = s->error;
		memmove(r->fdsets, r->fdsets + 1, (r->nfdsets - 1) * sizeof(*s));
		r->nfdsets--;
	}
	r->start = end + 1;
	r->scan = r->start;
	return 1;
}

size_t frame_reader_partial(const struct frame_reader *r)
{
	if (r->nfdsets == 0)
		return r->len - r->start;
	return r->len - r->fdsets[r->nfdsets - 1].off;
}

void frame_msg_release(struct frame_msg *msg)
{
	if (!msg)
		return;
	if (msg->fds)
		close_fds(msg->fds, msg->nfds);
	free(msg->fds);
	memset(msg, 0, sizeof(*msg));
}

int frame_msg_take_fd(struct frame_msg *msg, size_t i)
{
	if (!msg || !msg->fds || i >= msg->nfds)
		return -1;
	return TAKE_FD(msg->fds[i]);
}

/* ---- writer ---- */

/* A queued message that carries descriptors. Marks are ordered by off; those
 * before firstmark are done (their descriptors sent and closed). */
struct frame_fdmark {
	size_t off;     /* where the message begins in w->buf */
	size_t len;     /* its bytes, '\n' included */
	int *fds;
	size_t nfds;
};

void frame_writer_init(struct frame_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void frame_writer_free(struct frame_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nmarks; i++) {
		close_fds(w->marks[i].fds, w->marks[i].nfds);
		free(w->marks[i].fds);
	}
	free(w->marks);
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* Moves unsent bytes and pending marks to the front. */
static void writer_compact(struct frame_writer *w)
{
	size_t d = w->off, k = w->firstmark;

	if (d == 0 && k == 0)
		return;
	/* memmove wants real pointers even for 0 bytes: marks may be NULL. */
	if (w->len > d)
		memmove(w->buf, w->buf + d, w->len - d);
	if (w->nmarks > k)
		memmove(w->marks, w->marks + k, (w->nmarks - k) * sizeof(*w->marks));
	w->nmarks -= k;
	w->firstmark = 0;
	for (size_t i = 0; i < w->nmarks; i++)
		w->marks[i].off -= d;
	w->len -= d;
	w->off = 0;
}

static int writer_reserve(struct frame_writer *w, size_t n)
{
	size_t newcap;
	char *b;

	if (w->cap - w->len >= n)
		return 0;
	writer_compact(w);
	if (w->cap - w->len >= n)
		return 0;
	if (n > SIZE_MAX - w->len)
		return -ENOMEM;
	newcap = w->cap ? w->cap : FRAME_MIN_CAP;
	while (newcap < w->len + n)
		newcap = newcap > SIZE_MAX / 2 ? w->len + n : newcap * 2;
	b = realloc(w->buf, newcap);
	if (!b)
		return -ENOMEM;
	w->buf = b;
	w->cap = newcap;
	return 0;
}

int frame_writer_push(struct frame_writer *w, const char *msg, size_t len,
                      int *fds, size_t nfds)
{
	int *copy = NULL;
	int ret;

	/* A '\n' inside would split the message and misplace its descriptors;
	 * more descriptors than the kernel takes would kill the connection. */
	if ((len > 0 && memchr(msg, '\n', len)) || nfds > FDPASS_MAX_FDS) {
		ret = -EINVAL;
		goto fail;
	}
	if (len == SIZE_MAX) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = writer_reserve(w, len + 1);
	if (ret < 0)
		goto fail;
	if (nfds > 0) {
		if (w->nmarks == w->capmarks) {
			size_t c = w->capmarks ? w->capmarks * 2 : 4;
			struct frame_fdmark *m = reallocarray(w->marks, c, sizeof(*m));

			if (!m) {
				ret = -ENOMEM;
				goto fail;
			}
			w->marks = m;
			w->capmarks = c;
		}
		copy = malloc(nfds * sizeof(int));
		if (!copy) {
			ret = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < nfds; i++)
			copy[i] = TAKE_FD(fds[i]);
		w->marks[w->nmarks++] = (struct frame_fdmark){
			.off = w->len, .len = len + 1, .fds = copy, .nfds = nfds,
		};
	}
	if (len > 0)
		memcpy(w->buf + w->len, msg, len);
	w->buf[w->len + len] = '\n';
	w->len += len + 1;
	return 0;

fail:
	close_fds(fds, nfds);
	return ret;
}

ssize_t frame_writer_flush(struct frame_writer *w, int sock)
{
	while (w->off < w->len) {
		struct frame_fdmark *m = NULL;
		ssize_t n;

		if (w->firstmark < w->nmarks)
			m = &w->marks[w->firstmark];
		if (m && m->off == w->off) {
			/* Exactly this message, alone, with its descriptors: the
			 * peer's read that returns its first byte gets them. */
			n = fdpass_send(sock, w->buf + w->off, m->len, MSG_DONTWAIT, m->fds, m->nfds);
			if (n > 0) {
				/* Even when short, the descriptors went with the first
				 * byte: the rest of the message goes out plain. */
				close_fds(m->fds, m->nfds);
				free(m->fds);
				m->fds = NULL;
				m->nfds = 0;
				w->firstmark++;
			}
		} else {
			/* Plain bytes coalesce up to the next message with descriptors. */
			size_t stop = m ? m->off : w->len;

			n = fdpass_send(sock, w->buf + w->off, stop - w->off, MSG_DONTWAIT, NULL, 0);
		}
		if (n == -EAGAIN || n == 0)
			break;
		if (n < 0)
			return n;
		w->off += (size_t)n;
	}

	if (w->off == w->len) {
		/* All sent: start over at the front; give back a large buffer. */
		w->off = w->len = 0;
		w->nmarks = w->firstmark = 0;
		if (w->cap > FRAME_KEEP_CAP) {
			free(w->buf);
			w->buf = NULL;
			w->cap = 0;
		}
	} else if (w->off >= FRAME_MIN_CAP && w->off >= w->len - w->off) {
		/* Sent part is large: moving the smaller rest is cheap. */
		writer_compact(w);
	}
	return (ssize_t)(w->len - w->off);
}

size_t frame_writer_pending(const struct frame_writer *w)
{
	return w->len - w->off;
}
