/* Newline-delimited message framing with attached descriptors (protocol
 * sections 1 and 2), for both directions. No I/O policy lives here: the reader
 * is fed bytes (or reads once itself), the writer flushes what the socket takes. */
#ifndef SB_FRAME_H
#define SB_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fdpass_sender;

/* ---- reader ---- */

struct frame_msg {
	const char *data;   /* message text without the '\n'; valid until the next reader call */
	size_t len;
	int *fds;           /* malloc'd, owned by the msg until taken (slot set to -1) */
	size_t nfds;
	bool fd_error;      /* descriptors were lost (MSG_CTRUNC, too many): reject with -32602 */
	uint64_t sender;    /* the writer of its bytes, as the feeder named it (0 when not told) */
	bool mixed_senders; /* its bytes came from more than one writer; sender names the first */
};

struct frame_fdset;         /* descriptors waiting for their message to complete */
struct frame_seg;           /* writers of complete messages not yet popped */

struct frame_reader {
	char *buf;
	size_t len;         /* bytes held */
	size_t cap;
	size_t start;       /* where the first unconsumed message begins */
	size_t scan;        /* bytes before this offset (after start) hold no '\n' */
	size_t max_msg;     /* longest message accepted, without its '\n' */
	size_t max_fds;     /* most descriptors one message may carry */
	struct frame_fdset *fdsets; /* ordered by message start offset */
	size_t nfdsets, capfdsets;
	struct frame_seg *segs;     /* ordered by offset */
	size_t nsegs, capsegs;
	/* The writer of the open (unterminated) message. */
	uint64_t open_sender;
	bool open_started, open_mixed;
};

/* max_msg: message size limit; max_fds: per-message descriptor limit. 0 or -ENOMEM. */
int frame_reader_init(struct frame_reader *r, size_t max_msg, size_t max_fds);
/* Frees buffers and closes every descriptor still held. Accepts a zeroed reader. */
void frame_reader_free(struct frame_reader *r);

/* Appends one read's worth of bytes and the descriptors that arrived with it
 * (taken: the reader owns them from now on, even on error). The descriptors go
 * to the last message that begins in these bytes, or, if none begins there, to
 * the message they continue. truncated marks that message fd_error and closes
 * the descriptors. Returns 0, or -EMSGSIZE when the unterminated message grows
 * past max_msg (the reader is then unusable: answer the error and close). */
int frame_reader_feed(struct frame_reader *r, const void *data, size_t n,
                      int *fds, size_t nfds, bool truncated);

/* frame_reader_feed() of bytes written by `sender`, a token of the caller's
 * choosing (equal tokens: the same writer). Each message popped later carries
 * the token of its first byte's writer, and mixed_senders when another token
 * wrote any other of its bytes (its '\n' included). */
int frame_reader_feed_from(struct frame_reader *r, const void *data, size_t n,
                           int *fds, size_t nfds, bool truncated, uint64_t sender);

/* One fdpass_recv() of up to `chunk` bytes from sock into the reader, then
 * frame_reader_feed(). Returns bytes read, 0 at EOF, -EAGAIN, -EMSGSIZE, -errno. */
ssize_t frame_reader_fill(struct frame_reader *r, int sock, size_t chunk);

/* Maps the writer the kernel attached to one read's bytes to a token for
 * frame_reader_feed_from(); takes who->pidfd. */
typedef uint64_t (*frame_sender_fn)(void *ctx, struct fdpass_sender *who);

/* frame_reader_fill() through fdpass_recv_from(): for a socket with
 * SO_PASSCRED (and SO_PASSPIDFD), whose reads each return one writer's bytes.
 * When bytes arrive, fn names their writer before they are fed. */
ssize_t frame_reader_fill_from(struct frame_reader *r, int sock, size_t chunk,
                               frame_sender_fn fn, void *ctx);

/* Pops the next complete message. Returns 1 (msg filled), 0 (none complete),
 * -EMSGSIZE (a complete message is longer than max_msg). */
int frame_reader_next(struct frame_reader *r, struct frame_msg *msg);

/* Bytes held that do not yet form a complete message. */
size_t frame_reader_partial(const struct frame_reader *r);

/* Closes descriptors nobody took, frees the array. Accepts a zeroed msg. */
void frame_msg_release(struct frame_msg *msg);

/* Removes descriptor i from msg and returns it (caller owns it), or -1. */
int frame_msg_take_fd(struct frame_msg *msg, size_t i);

/* ---- writer ---- */

struct frame_fdmark;

struct frame_writer {
	char *buf;
	size_t off;         /* first unsent byte */
	size_t len;         /* end of queued bytes */
	size_t cap;
	struct frame_fdmark *marks; /* messages that carry descriptors, by offset */
	size_t nmarks, capmarks, firstmark;
};

void frame_writer_init(struct frame_writer *w);
/* Frees buffers and closes descriptors not yet sent. Accepts a zeroed writer. */
void frame_writer_free(struct frame_writer *w);

/* Queues msg[0..len) plus '\n'. fds (nfds of them) are taken: they go out with
 * this message's first byte and are closed once sent (or at free). msg must not
 * contain '\n'. 0 or -ENOMEM (fds are closed on error too). */
int frame_writer_push(struct frame_writer *w, const char *msg, size_t len,
                      int *fds, size_t nfds);

/* Sends as much as the socket takes without blocking (MSG_DONTWAIT). A message
 * with descriptors is sent by one sendmsg() of its bytes alone. Returns the
 * bytes still queued (0 = all sent) or -errno (not -EAGAIN) on a dead socket. */
ssize_t frame_writer_flush(struct frame_writer *w, int sock);

/* Bytes queued and not yet sent. */
size_t frame_writer_pending(const struct frame_writer *w);

#endif
