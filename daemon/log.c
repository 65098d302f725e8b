/* Log lines and audit records, written without blocking the loop (log.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

/* A line or datagram waiting for its descriptor; off: bytes of it written. */
struct entry {
	struct entry *next;
	size_t len, off;
	char data[];
};

/* Standard error (a stream) or the journal's socket (datagrams). */
struct queue {
	struct entry *head, *tail;
	int fd;                 /* -1: none */
	bool sock;              /* send(MSG_DONTWAIT): never blocks, whatever the file's flags */
	bool dgram;             /* whole entries or nothing */
	bool watched;           /* registered with the loop (events 0 while empty) */
	struct loop_io io;
};

static struct {
	int level;
	bool init;
	const char *target;
	struct queue err, jnl;
	struct sockaddr_un jnl_addr;
	size_t bytes, max;
	struct loop *loop;
	uint64_t dropped_minor, dropped, audit_refused, write_errors;
	/* what was said last time: a new burst is reported once the queue drains */
	uint64_t reported;
} L = {
	.level = LOG_INFO,
	.target = "none",
	.err = { .fd = -1 },
	.jnl = { .fd = -1 },
	.max = LOG_QUEUE_DEFAULT_BYTES,
};

void log_set_level(int level)
{
	L.level = level;
}

int log_get_level(void)
{
	return L.level;
}

int log_parse_level(const char *s)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err",
	                                     "warning", "notice", "info", "debug" };

	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "error") == 0)
		return LOG_ERR;
	if (strcmp(s, "warn") == 0)
		return LOG_WARNING;
	return -EINVAL;
}

/* ---- setting up ---- */

static int journal_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* Connected, so that EPOLLOUT says the journal's queue has room. */
	if (connect(fd, (struct sockaddr *)&L.jnl_addr, sizeof(L.jnl_addr)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Whether JOURNAL_STREAM ("DEV:INODE") names st: stderr is the journal. */
static bool is_journal_stream(const struct stat *st)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	int end = 0;

	if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &end) != 2 || e[end])
		return false;
	return (unsigned long long)st->st_dev == dev && (unsigned long long)st->st_ino == ino;
}

int log_init(void)
{
	const char *q = getenv(LOG_ENV_QUEUE_BYTES);
	const char *path = getenv(LOG_ENV_JOURNAL_SOCKET);
	struct stat st;
	char self[64];

	if (q && *q) {
		char *end;
		unsigned long long v = strtoull(q, &end, 10);
		if (*end || v < 4096 || v > (1ull << 30))
			return -EINVAL;
		L.max = (size_t)v;
	}
	L.init = true;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;       /* no standard error: lines go nowhere, audit records to the file only */
	if (is_journal_stream(&st)) {
		if (!path || !*path)
			path = LOG_JOURNAL_SOCKET;
		if (strlen(path) >= sizeof(L.jnl_addr.sun_path))
			return -ENAMETOOLONG;
		L.jnl_addr.sun_family = AF_UNIX;
		memcpy(L.jnl_addr.sun_path, path, strlen(path) + 1);
		L.jnl.fd = journal_connect();
		L.jnl.sock = L.jnl.dgram = true;
		/* Without the journal's socket, records stay lines on the stream. */
		if (L.jnl.fd < 0)
			L.jnl.fd = -1;
	}
	if (S_ISSOCK(st.st_mode)) {
		L.err.fd = STDERR_FILENO;
		L.err.sock = true;
		L.target = "socket";
	} else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		/* A description of our own, so that O_NONBLOCK does not change the
		 * pipe or terminal for the other processes that share it. */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", STDERR_FILENO);
		L.err.fd = open(self, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (L.err.fd < 0) {
			int fl = fcntl(STDERR_FILENO, F_GETFL);
			L.err.fd = STDERR_FILENO;
			if (fl >= 0)
				fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK);
		}
		L.target = S_ISFIFO(st.st_mode) ? "pipe" : "terminal";
	} else {
		/* A file: writes do not wait for a reader. */
		L.err.fd = STDERR_FILENO;
		L.target = "file";
	}
	if (L.jnl.fd >= 0)
		L.target = "journal";
	return 0;
}

/* ---- the queue ---- */

static void on_writable(struct loop_io *io, uint32_t revents);

static void watch(struct queue *q)
{
	if (q->watched)
		loop_io_mod(L.loop, &q->io, q->head ? EPOLLOUT : 0);
}

static void attach_one(struct queue *q)
{
	if (q->fd < 0 || q->watched)
		return;
	/* A regular file cannot be watched (EPERM), and never needs to be. */
	q->watched = loop_io_add(L.loop, &q->io, q->fd, q->head ? EPOLLOUT : 0, on_writable) == 0;
}

void log_attach(struct loop *l)
{
	if (!l) {
		if (L.loop) {
			if (L.err.watched)
				loop_io_del(L.loop, &L.err.io);
			if (L.jnl.watched)
				loop_io_del(L.loop, &L.jnl.io);
		}
		L.err.watched = L.jnl.watched = false;
		L.loop = NULL;
		return;
	}
	L.loop = l;
	attach_one(&L.err);
	attach_one(&L.jnl);
}

/* A record too large for one datagram goes as a sealed memfd (the native
 * protocol's way). */
static ssize_t journal_send_memfd(const char *p, size_t n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = { .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int fd = memfd_create("sockbrokerd-audit", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ssize_t r;

	if (fd < 0)
		return -1;
	if (write(fd, p, n) != (ssize_t)n ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		close(fd);
		errno = EIO;
		return -1;
	}
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	r = sendmsg(L.jnl.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	return r < 0 ? -1 : (ssize_t)n;
}

/* One attempt; bytes written, or -1 with errno (EAGAIN: try later). */
static ssize_t raw_write(struct queue *q, const char *p, size_t n)
{
	ssize_t r;

	for (;;) {
		if (q->sock)
			r = send(q->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			r = write(q->fd, p, n);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0 && q == &L.jnl) {
		if (errno == EMSGSIZE || errno == ENOBUFS)
			return journal_send_memfd(p, n);
		if (errno == ECONNREFUSED || errno == ENOTCONN) {
			/* The journal restarted: its socket is a new one. */
			int fd = journal_connect();
			if (fd < 0)
				return -1;
			if (q->watched)
				loop_io_del(L.loop, &q->io);
			close(q->fd);
			q->fd = fd;
			q->watched = false;
			if (L.loop)
				attach_one(q);
			r = send(q->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
	return r;
}

static int enqueue(struct queue *q, const char *p, size_t n)
{
	struct entry *e = malloc(sizeof(*e) + n);

	if (!e)
		return -ENOMEM;
	memcpy(e->data, p, n);
	e->len = n;
	e->off = 0;
	e->next = NULL;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	L.bytes += n;
	watch(q);
	return 0;
}

/* Writes a line or datagram now if nothing waits before it, else queues it
 * within the bound. limit: the bytes it may find queued. 0, -ENOBUFS (over
 * the bound: not written), or -errno from the descriptor. */
static int emit(struct queue *q, const char *p, size_t n, size_t limit)
{
	ssize_t w;

	if (!q->head) {
		w = raw_write(q, p, n);
		if (w >= 0 && (size_t)w == n)
			return 0;
		if (w >= 0) {
			/* Half a line is never dropped: the rest goes in whatever the bound. */
			return enqueue(q, p + w, n - (size_t)w);
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			int r = -errno;
			L.write_errors++;
			return r;
		}
	}
	if (L.bytes + n > limit)
		return -ENOBUFS;
	return enqueue(q, p, n);
}

static void drop_report(void)
{
	uint64_t total = L.dropped_minor + L.dropped + L.audit_refused;

	if (total == L.reported || L.err.head || L.jnl.head)
		return;
	L.reported = total;
	log_warning("log: standard error did not keep up: %llu debug/info lines and %llu other lines dropped, "
	            "%llu audit records refused so far (admin.stats \"log\")",
	            (unsigned long long)L.dropped_minor, (unsigned long long)L.dropped,
	            (unsigned long long)L.audit_refused);
	/* The report itself is not a new burst. */
	L.reported = L.dropped_minor + L.dropped + L.audit_refused;
}

static int line_out(int prio, const char *line, size_t len, bool audit);

/* A journal entry's MESSAGE= (the audit line, which holds no newline) as a
 * line on standard error. */
static void journal_entry_to_line(const struct entry *e)
{
	static const char key[] = "\nMESSAGE=";
	const char *m = memmem(e->data, e->len, key, sizeof(key) - 1), *end;
	char *line;
	size_t n;
	int h;

	if (!m)
		return;
	m += sizeof(key) - 1;
	end = memchr(m, '\n', e->len - (size_t)(m - e->data));
	n = end ? (size_t)(end - m) : e->len - (size_t)(m - e->data);
	line = malloc(n + 8);
	if (!line)
		return;
	h = snprintf(line, 8, "<%d>", LOG_NOTICE);
	memcpy(line + h, m, n);
	line[h + n] = '\n';
	(void)line_out(LOG_NOTICE, line, (size_t)h + n + 1, true);
	free(line);
}

/* Writes q's entries until the descriptor is full. -errno on an error of the
 * descriptor (what is queued is dropped then: it can never be written). */
static int flush(struct queue *q)
{
	while (q->head) {
		struct entry *e = q->head;
		ssize_t w = raw_write(q, e->data + e->off, e->len - e->off);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			/* The descriptor is gone for good: the journal's records
			 * become lines on standard error; lines are lost, counted. */
			for (struct entry *x; (x = q->head); free(x)) {
				q->head = x->next;
				L.bytes -= x->len;
				L.write_errors++;
				if (q == &L.jnl)
					journal_entry_to_line(x);
			}
			q->tail = NULL;
			return -EIO;
		}
		e->off += (size_t)w;
		if (e->off < e->len && !q->dgram)
			return 0;
		q->head = e->next;
		if (!q->head)
			q->tail = NULL;
		L.bytes -= e->len;
		free(e);
	}
	return 0;
}

static void on_writable(struct loop_io *io, uint32_t revents)
{
	struct queue *q = io == &L.err.io ? &L.err : &L.jnl;

	(void)revents;
	flush(q);
	watch(q);
	drop_report();
}

void log_shutdown(int timeout_ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	log_attach(NULL);
	for (;;) {
		struct pollfd p[2] = { { L.err.fd, POLLOUT, 0 }, { L.jnl.fd, POLLOUT, 0 } };
		long left;

		flush(&L.err);
		flush(&L.jnl);
		/* The last burst is said too, before the daemon goes. */
		drop_report();
		if (!L.err.head && !L.jnl.head)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		if (!L.err.head)
			p[0].fd = -1;
		if (!L.jnl.head)
			p[1].fd = -1;
		if (poll(p, 2, (int)left) <= 0)
			break;
	}
	for (int i = 0; i < 2; i++) {
		struct queue *q = i ? &L.jnl : &L.err;
		for (struct entry *x; (x = q->head); free(x))
			q->head = x->next;
		q->tail = NULL;
	}
	L.bytes = 0;
	if (L.jnl.fd >= 0)
		close(L.jnl.fd);
	L.jnl.fd = -1;
}

/* ---- lines ---- */

/* Before log_init (tools, unit tests): the line as it comes, blocking. */
static void write_plain(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* "<prio>text\n", whole, with room to spare for callers' NUL. */
static char *format_line(int prio, const char *fmt, va_list ap, size_t *len)
{
	va_list ap2;
	int head, n;
	char *line;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	line = malloc((size_t)n + 8);
	if (!line)
		return NULL;
	head = snprintf(line, 8, "<%d>", prio);
	vsnprintf(line + head, (size_t)n + 1, fmt, ap);
	line[head + n] = '\n';
	line[head + n + 1] = '\0';
	*len = (size_t)head + (size_t)n + 1;
	return line;
}

static int line_out(int prio, const char *line, size_t len, bool audit)
{
	int r;

	if (!L.init) {
		write_plain(line, len);
		return 0;
	}
	if (L.err.fd < 0)
		return 0;
	/* Debug and info may fill half the queue: the rest is kept for what
	 * counts, so that chatter never costs an audit record. */
	r = emit(&L.err, line, len, prio >= LOG_INFO ? L.max / 2 : L.max);
	if (r == -ENOBUFS) {
		if (audit)
			L.audit_refused++;
		else if (prio >= LOG_INFO)
			L.dropped_minor++;
		else
			L.dropped++;
	}
	return r;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;
	size_t len;
	char *line;
	int saved = errno;

	if (prio > L.level)
		return;
	va_start(ap, fmt);
	line = format_line(prio, fmt, ap, &len);
	va_end(ap);
	if (line) {
		(void)line_out(prio, line, len, false);
		free(line);
	} else if (prio < LOG_INFO) {
		L.dropped++;
	} else {
		L.dropped_minor++;
	}
	errno = saved;
}

/* ---- audit records ---- */

/* KEY=value\n, or KEY\n<64-bit LE length>value\n for a value with a newline. */
static int field_put(FILE *f, const char *key, const char *prefix, const char *value)
{
	size_t n = strlen(value);

	fputs(prefix, f);
	for (const char *k = key; *k; k++)
		fputc(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k, f);
	if (!memchr(value, '\n', n)) {
		fputc('=', f);
		fwrite(value, 1, n, f);
	} else {
		unsigned char le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)((uint64_t)n >> (8 * i));
		fputc('\n', f);
		fwrite(le, 1, 8, f);
		fwrite(value, 1, n, f);
	}
	return fputc('\n', f) == EOF ? -ENOMEM : 0;
}

static int journal_audit(const char *text, const struct log_field *f, size_t nf)
{
	char *buf = NULL, prio[16];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int r;

	if (!m)
		return -ENOMEM;
	snprintf(prio, sizeof(prio), "%d", LOG_NOTICE);
	field_put(m, "priority", "", prio);
	field_put(m, "syslog_identifier", "", "sockbrokerd");
	field_put(m, "message", "", text);
	for (size_t i = 0; i < nf; i++)
		if (f[i].value)
			field_put(m, f[i].key, "SOCKBROKER_", f[i].value);
	if (fclose(m) != 0) {
		free(buf);
		return -ENOMEM;
	}
	r = emit(&L.jnl, buf, len, L.max);
	free(buf);
	if (r == -ENOBUFS)
		L.audit_refused++;
	return r;
}

int log_audit(const char *text, const struct log_field *f, size_t n)
{
	size_t len = strlen(text);
	char *line;
	int r;

	if (L.jnl.fd >= 0) {
		r = journal_audit(text, f, n);
		/* A journal that went away: the stream still takes lines. */
		if (r != -ENOBUFS && r != -ENOMEM && r < 0 && L.err.fd >= 0)
			goto line;
		return r;
	}
line:
	line = malloc(len + 8);
	if (!line)
		return -ENOMEM;
	r = snprintf(line, 8, "<%d>", LOG_NOTICE);
	memcpy(line + r, text, len);
	line[r + len] = '\n';
	r = line_out(LOG_NOTICE, line, (size_t)r + len + 1, true);
	free(line);
	return r;
}

const char *log_stderr_name(void)
{
	return L.jnl.fd >= 0 ? "the journal" : "standard error";
}

void log_get_stats(struct log_stats *out)
{
	*out = (struct log_stats){
		.queued_bytes = L.bytes,
		.queue_max = L.max,
		.dropped_minor = L.dropped_minor,
		.dropped = L.dropped,
		.audit_refused = L.audit_refused,
		.write_errors = L.write_errors,
		.journal = L.jnl.fd >= 0,
		.target = L.target,
	};
}

bool log_ratelimit(struct log_ratelimit *rl, uint64_t *suppressed)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	/* +1: a clock that reads 0 is still "a message went out". */
	if (rl->last_ns && now + 1 - rl->last_ns < rl->interval_ns) {
		rl->suppressed++;
		return false;
	}
	rl->last_ns = now + 1;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
