/* A client's identity at accept: credentials, and exe/cgroup/unit read through
 * /proc for the process the kernel names as the peer.
 *
 * Why a recycled pid cannot change a decision:
 *
 * - With a pidfd (SO_PEERPIDFD, Linux 6.5+) the pid comes from the pidfd's
 *   fdinfo, /proc/<pid> is opened once as a directory and every file is read
 *   relative to it, and afterwards the pidfd's process is confirmed alive
 *   (pidfd_send_signal with signal 0). A pid is not reused while its process
 *   lives, zombie included, so if the process is alive after the reads, the
 *   directory and everything read through it belonged to it. If it died in
 *   between, everything read is discarded.
 *
 * - Without a pidfd (older kernels) we only have SO_PEERCRED's pid, taken at
 *   connect(). The /proc/<pid> directory fd stays bound to the process it was
 *   opened for (reads through it fail once that process is reaped, they never
 *   show a newcomer), and as a second guard the start time (field 22 of stat)
 *   is compared before and after the reads. What neither can close is the
 *   window between connect() and our open of /proc/<pid>: a client that exits
 *   and whose pid is reused in that window is not detected. Only a pidfd
 *   closes it.
 *
 * Whatever cannot be read is not a failure of the accept. The parts that may
 * be closed to the daemon for want of privilege (exe, cgroup and unit without
 * CAP_SYS_PTRACE or under hidepid=, label) are each *unknown* when they cannot
 * be read: id->exe_unknown etc. say why, and the policy judges them as
 * unknown (policy.h). Anything else (the process, its pid, a writer's groups)
 * sets id->error, and the policy denies every governed action for such a
 * client. An error that is the daemon's own shortage (out of descriptors) sets
 * id->retry: the connection reads the identity again when it next needs it.
 *
 * The writer of a message (identity_read_sender) is read the same way through
 * the pidfd the kernel attached to its bytes; its uid and gid are those the
 * kernel attached (at the time of writing), not what /proc says later, when a
 * set-user-ID program may have replaced the writer. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "identity.h"
#include "util.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

#define FDINFO_MAX (16 * 1024)
#define CGROUP_MAX (64 * 1024)
#define STAT_MAX 4096
/* "Groups:" holds up to NGROUPS_MAX (65536) numbers. */
#define STATUS_MAX (1024 * 1024)
#define LABEL_MAX 4096
#define UNIT_NAME_MAX 255

#define EXITED "the client process exited before its identity could be read"

/* Sets id->error unless one is already there: the first thing that could not
 * be read is the one reported. 0 or -ENOMEM. */
__attribute__((format(printf, 2, 3)))
static int set_error(struct identity *id, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (id->error)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(&id->error, fmt, ap);
	va_end(ap);
	if (n < 0) {
		id->error = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Whether errno value e (positive) is the daemon's own shortage rather than
 * something about the client. */
static bool shortage(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

/* set_error for a failure with errno value e (positive): the message ends with
 * strerror(e), and a shortage marks the identity worth reading again. */
__attribute__((format(printf, 3, 4)))
static int set_error_e(struct identity *id, int e, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (id->error)
		return 0;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	id->retry = shortage(e);
	return set_error(id, "%s: %s", what, strerror(e));
}

/* Records in *why why a part could not be read, unless that is said already.
 * 0 or -ENOMEM. */
__attribute__((format(printf, 2, 3)))
static int set_unknown(char **why, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*why)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(why, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*why = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A part that could not be read for errno value e (positive): unknown, the
 * message ending with strerror(e); but the daemon's own shortage is an error
 * (set_error_e), so that the identity is read again. 0 or -ENOMEM. */
__attribute__((format(printf, 4, 5)))
static int set_unknown_e(struct identity *id, char **why, int e, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (shortage(e))
		return set_error_e(id, e, "%s", what);
	return set_unknown(why, "%s: %s", what, strerror(e));
}

/* All of name (relative to dirfd) as a NUL-terminated malloc'd string. More
 * than max bytes is -EFBIG, so a truncated text is never parsed. */
static int read_text_at(int dirfd, const char *name, size_t max, char **ret)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, len = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		/* Room for one byte beyond max (to see that there is more) and the NUL. */
		if (len + 1 >= size) {
			size_t nsize = size ? SB_MIN(size * 2, max + 2) : SB_MIN((size_t)1024, max + 2);
			char *nbuf;

			if (nsize <= size)
				return -EFBIG;
			nbuf = realloc(buf, nsize);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			size = nsize;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* The target of the link name (relative to dirfd), malloc'd, of any length
 * the kernel can return (a buffer readlink fills entirely may be truncated). */
static int readlink_alloc_at(int dirfd, const char *name, char **ret)
{
	for (size_t size = 256;; size *= 2) {
		_cleanup_free_ char *buf = malloc(size);
		ssize_t n;

		if (!buf)
			return -ENOMEM;
		n = readlinkat(dirfd, name, buf, size);
		if (n < 0)
			return -errno;
		if ((size_t)n < size) {
			buf[n] = '\0';
			*ret = TAKE_PTR(buf);
			return 0;
		}
		if (size >= PATH_MAX)
			return -ENAMETOOLONG;
	}
}

/* A decimal of at most INT_MAX, optionally negative, starting at *p; *p is
 * left after it. 0 or -EINVAL (no digits, too large). */
static int parse_int(const char **p, long long *v)
{
	const char *s = *p;
	bool neg = false;
	long long n = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (*s - '0');
		if (n > INT_MAX)
			return -EINVAL;
	}
	*v = neg ? -n : n;
	*p = s;
	return 0;
}

int identity_pid_from_fdinfo(const char *text, pid_t *pid)
{
	const char *line = text;
	long long v = 0;
	bool found = false;

	while (line && *line) {
		const char *next = strchr(line, '\n');

		if (!strncmp(line, "Pid:", 4)) {
			const char *p = line + 4;

			/* The kernel prints exactly one; a second would make "which one" a guess. */
			if (found)
				return -EINVAL;
			found = true;
			p += strspn(p, " \t");
			if (parse_int(&p, &v) < 0)
				return -EINVAL;
			p += strspn(p, " \t");
			if (*p != '\n' && *p != '\0')
				return -EINVAL;
		}
		line = next ? next + 1 : NULL;
	}
	if (!found)
		return -ENOENT;
	if (v == -1)
		return -ESRCH;
	if (v == 0)
		return -EREMOTE;
	if (v < 0)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int identity_nspid_depth_from_fdinfo(const char *text, unsigned *depth)
{
	const char *line = text;

	while (line && *line) {
		const char *next = strchr(line, '\n');

		if (!strncmp(line, "NSpid:", 6)) {
			const char *p = line + 6;
			unsigned n = 0;

			for (;;) {
				long long v;

				p += strspn(p, " \t");
				if (*p == '\n' || *p == '\0')
					break;
				if (parse_int(&p, &v) < 0 || v < -1 || n == 64)
					return -EINVAL;
				n++;
			}
			if (n == 0)
				return -EINVAL;
			*depth = n;
			return 0;
		}
		line = next ? next + 1 : NULL;
	}
	return -ENOENT;
}

/* The first number of a "Uid:"/"Gid:" line's value (the real id). */
static int status_first_id(const char *p, unsigned long *id)
{
	unsigned long long v = 0;
	const char *s = p + strspn(p, " \t");

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 0xffffffffull)
			return -EINVAL;
	}
	if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\0')
		return -EINVAL;
	*id = (unsigned long)v;
	return 0;
}

int identity_status_parse(const char *text, uid_t *uid, gid_t *gid, gid_t **groups, size_t *ngroups)
{
	const char *line = text, *groups_line = NULL;
	unsigned long u = 0, g = 0;
	bool have_u = false, have_g = false;
	gid_t *v = NULL;
	size_t n = 0, cap = 0;

	while (line && *line) {
		const char *next = strchr(line, '\n');

		if (!strncmp(line, "Uid:", 4)) {
			if (have_u || status_first_id(line + 4, &u) < 0)
				return -EINVAL;
			have_u = true;
		} else if (!strncmp(line, "Gid:", 4)) {
			if (have_g || status_first_id(line + 4, &g) < 0)
				return -EINVAL;
			have_g = true;
		} else if (!strncmp(line, "Groups:", 7)) {
			if (groups_line)
				return -EINVAL;
			groups_line = line + 7;
		}
		line = next ? next + 1 : NULL;
	}
	if (!have_u || !have_g || !groups_line)
		return -EINVAL;
	for (const char *p = groups_line;;) {
		unsigned long long x = 0;

		p += strspn(p, " \t");
		if (*p == '\n' || *p == '\0')
			break;
		if (*p < '0' || *p > '9') {
			free(v);
			return -EINVAL;
		}
		for (; *p >= '0' && *p <= '9'; p++) {
			x = x * 10 + (unsigned)(*p - '0');
			if (x > 0xffffffffull) {
				free(v);
				return -EINVAL;
			}
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			gid_t *nv = reallocarray(v, ncap, sizeof(*nv));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = (gid_t)x;
	}
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	*groups = v;
	*ngroups = n;
	return 0;
}

int identity_cgroup_from_text(const char *text, char **cgroup)
{
	const char *line = text, *path = NULL;
	size_t len = 0;
	char *s;

	/* Lines are "hierarchy-id:controllers:path"; cgroup v2 is "0::path". Its
	 * path is printed unescaped, and recent kernels refuse '\n' in cgroup
	 * names, but more than one "0::" line is refused rather than guessed. */
	while (line && *line) {
		const char *next = strchr(line, '\n');

		if (!strncmp(line, "0::", 3)) {
			if (path)
				return -EINVAL;
			path = line + 3;
			len = next ? (size_t)(next - path) : strlen(path);
		}
		line = next ? next + 1 : NULL;
	}
	if (!path)
		return -ENOENT;
	if (len == 0 || path[0] != '/')
		return -EINVAL;
	s = strndup(path, len);
	if (!s)
		return -ENOMEM;
	*cgroup = s;
	return 0;
}

static bool unit_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '-' || c == '_' || c == '.' || c == '\\' || c == '@';
}

/* Whether name[0..len) is a unit name systemd could have given a cgroup: the
 * allowed characters, a known suffix, a non-empty prefix, and when it has an
 * '@' a non-empty instance (a bare template "x@.service" has no cgroup).
 * Sets *slice when the suffix is .slice. */
static bool unit_name_ok(const char *name, size_t len, bool *slice)
{
	static const char *const suffixes[] = {
		".service", ".scope", ".socket", ".mount", ".swap", ".timer", ".path",
		".device", ".target", ".automount", ".slice",
	};
	const char *at = NULL, *dot = NULL;

	if (len == 0 || len > UNIT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!unit_char(name[i]))
			return false;
		if (name[i] == '@') {
			if (at)
				return false;
			at = name + i;
		}
		if (name[i] == '.')
			dot = name + i;
	}
	if (!dot || dot == name)
		return false;
	if (at && (at == name || at + 1 >= dot || at > dot))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if ((size_t)(name + len - dot) == sl && !memcmp(dot, suffixes[i], sl)) {
			*slice = !strcmp(suffixes[i], ".slice");
			return true;
		}
	}
	return false;
}

int identity_unit_from_cgroup(const char *cgroup, char **unit)
{
	const char *p = cgroup;

	*unit = NULL;
	if (!p)
		return 0;
	/* systemd's rule (cg_path_get_unit): skip the leading slices; the next
	 * component is the unit or there is none. A component deeper down is
	 * not a unit even if named like one: below a unit, names are chosen by
	 * whoever the unit delegates to. */
	for (;;) {
		size_t len;
		const char *name;
		bool slice = false;

		p += strspn(p, "/");
		if (!*p)
			return 0;
		len = strcspn(p, "/");
		name = p;
		/* systemd escapes a name that would clash with a kernel file by a
		 * leading '_' ("_cpu.service" is cpu.service); '\x2d' escapes are
		 * part of unit names and stay as they are. */
		if (name[0] == '_') {
			name++;
			len--;
		}
		if (!unit_name_ok(name, len, &slice))
			return 0;
		if (!slice) {
			char *s = strndup(name, len);

			if (!s)
				return -ENOMEM;
			*unit = s;
			return 0;
		}
		/* A slice may not be a template instance either. */
		if (memchr(name, '@', len))
			return 0;
		p += strcspn(p, "/");
	}
}

int identity_stat_parse(const char *text, char *state, unsigned long long *starttime)
{
	/* "pid (comm) S ppid ...": comm may hold anything, so fields are counted
	 * from the last ')'. */
	const char *p = strrchr(text, ')');
	unsigned long long v = 0;

	if (!p)
		return -EINVAL;
	p++;
	for (int field = 3; field <= 22; field++) {
		size_t len;

		if (*p != ' ')
			return -EINVAL;
		p++;
		len = strcspn(p, " \n");
		if (len == 0)
			return -EINVAL;
		if (field == 3) {
			if (len != 1)
				return -EINVAL;
			*state = p[0];
		} else if (field == 22) {
			for (size_t i = 0; i < len; i++) {
				if (p[i] < '0' || p[i] > '9' || v > (ULLONG_MAX - 9) / 10)
					return -EINVAL;
				v = v * 10 + (unsigned)(p[i] - '0');
			}
		}
		p += len;
	}
	*starttime = v;
	return 0;
}

/* State and start time of the process dirfd is /proc/<pid> of. */
static int stat_at(int dirfd, char *state, unsigned long long *starttime)
{
	_cleanup_free_ char *text = NULL;
	int r = read_text_at(dirfd, "stat", STAT_MAX, &text);

	if (r < 0)
		return r;
	return identity_stat_parse(text, state, starttime);
}

/* Whether the process dirfd is /proc/<pid> of has exited (zombie or reaped):
 * used to tell "gone" from "unreadable" when a read failed. */
static bool exited_at(int dirfd)
{
	unsigned long long start;
	char state;
	int r = stat_at(dirfd, &state, &start);

	if (r == -ENOENT || r == -ESRCH)
		return true;
	return r == 0 && (state == 'Z' || state == 'X' || state == 'x');
}

/* 1 when the pidfd's process is alive (a zombie counts: its pid is not free),
 * 0 when it is gone, or -errno. Signal 0 only checks; EPERM means it exists
 * but is not ours to signal. */
int identity_pidfd_alive(int pidfd)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0)
		return 1;
	if (errno == EPERM)
		return 1;
	if (errno == ESRCH)
		return 0;
	return -errno;
}

/* The pid a pidfd refers to, in the pid namespace of our /proc, and when depth
 * is not NULL the number of pid namespaces it has a pid in, from that one down. */
static int pidfd_pid(int pidfd, pid_t *pid, unsigned *depth)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	r = read_text_at(AT_FDCWD, path, FDINFO_MAX, &text);
	if (r < 0)
		return r;
	r = identity_pid_from_fdinfo(text, pid);
	if (r == 0 && depth)
		r = identity_nspid_depth_from_fdinfo(text, depth);
	return r;
}

/* The LSM label of the peer. No LSM (ENOPROTOOPT, EINVAL) or an empty label
 * is no label; "unconfined" (AppArmor) is a label like any other. A label
 * that cannot be read is unknown. */
static int read_label(int fd, struct identity *id)
{
	socklen_t size = 256;

	for (int tries = 0; tries < 4; tries++) {
		_cleanup_free_ char *buf = malloc(size + 1);
		socklen_t len = size;

		if (!buf)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERSEC, buf, &len) == 0) {
			len = SB_MIN(len, size);
			buf[len] = '\0';
			/* SELinux counts the NUL, AppArmor may end with a newline. */
			len = (socklen_t)strlen(buf);
			while (len > 0 && buf[len - 1] == '\n')
				buf[--len] = '\0';
			if (len > 0)
				id->label = TAKE_PTR(buf);
			return 0;
		}
		if (errno == ENOPROTOOPT || errno == EINVAL)
			return 0;
		if (errno != ERANGE)
			return set_unknown_e(id, &id->label_unknown, errno, "cannot read the security label of the client");
		/* len now holds the size the label needs. */
		if (len <= size || len > LABEL_MAX)
			return set_unknown(&id->label_unknown, "the security label of the client is longer than %d bytes",
			                   LABEL_MAX);
		size = len;
	}
	return set_unknown(&id->label_unknown, "the security label of the client keeps changing size");
}

/* A failed read of the cgroup file: the cgroup, and the unit it would name,
 * are unknown. */
static int cgroup_unknown(struct identity *id, int r)
{
	int k;

	if (r == -EINVAL)
		k = set_unknown(&id->cgroup_unknown, "/proc/%d/cgroup is malformed", (int)id->pid);
	else if (r == -EFBIG)
		k = set_unknown(&id->cgroup_unknown, "/proc/%d/cgroup is larger than %d bytes", (int)id->pid, CGROUP_MAX);
	else
		k = set_unknown_e(id, &id->cgroup_unknown, -r, "cannot read /proc/%d/cgroup", (int)id->pid);
	if (k == 0 && id->cgroup_unknown && !id->unit_unknown && !(id->unit_unknown = strdup(id->cgroup_unknown)))
		k = -ENOMEM;
	return k;
}

/* /proc/<pid> itself cannot be opened (hidepid=, a /proc the daemon may not
 * search): every part read there is unknown, for the same reason. */
static int proc_unknown(struct identity *id, int e, const char *path)
{
	int r = set_unknown_e(id, &id->exe_unknown, e, "cannot open %s", path);

	if (r == 0 && id->exe_unknown && !(id->cgroup_unknown = strdup(id->exe_unknown)))
		r = -ENOMEM;
	if (r == 0 && id->exe_unknown && !(id->unit_unknown = strdup(id->exe_unknown)))
		r = -ENOMEM;
	return r;
}

/* The supplementary groups of a writer, from status text, provided the real
 * uid and gid there are still those the kernel attached to its bytes. */
static int sender_groups(struct identity *id, const char *status, gid_t **groups, size_t *ngroups)
{
	uid_t uid;
	gid_t gid;
	int r = identity_status_parse(status, &uid, &gid, groups, ngroups);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return set_error(id, "the status file of pid %d is malformed", (int)id->pid);
	if (uid != id->uid || gid != id->gid) {
		free(*groups);
		*groups = NULL;
		return set_error(id, "pid %d changed its user or group after it wrote (uid %u gid %u then, "
		                     "%u and %u now)", (int)id->pid, (unsigned)id->uid, (unsigned)id->gid,
		                 (unsigned)uid, (unsigned)gid);
	}
	return 0;
}

/* exe, cgroup and unit of the peer process (and for a writer, sender: its
 * groups), confirmed to belong to it. */
static int read_process(struct identity *id, bool sender)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *exe = NULL, *cgtext = NULL, *cgroup = NULL, *unit = NULL, *status = NULL;
	_cleanup_free_ gid_t *groups = NULL;
	size_t ngroups = 0;
	unsigned long long start = 0, start2 = 0;
	char path[64], state;
	int r, exe_r, cg_r, st_r = 0;

	if (id->pidfd >= 0) {
		unsigned depth = 1;
		pid_t pid;

		/* The pidfd names the process; SO_PEERCRED's pid is in our pid
		 * namespace, the fdinfo one in that of our /proc, the one that counts. */
		r = pidfd_pid(id->pidfd, &pid, sender ? &depth : NULL);
		if (r == -ENOMEM)
			return r;
		if (r == -ESRCH)
			return set_error(id, EXITED);
		if (r == -EREMOTE)
			return set_error(id, "the client process is in a pid namespace this daemon cannot see");
		if (r < 0)
			return set_error_e(id, -r, "cannot read the pid of the client's pidfd");
		/* A process with CAP_SYS_ADMIN over its pid namespace may name any
		 * process of that namespace as the writer (SCM_CREDENTIALS), and an
		 * unprivileged user gets that in a user namespace of its own. In our
		 * namespace that takes root. */
		if (depth != 1)
			return set_error(id, "pid %d, which wrote this request, runs in a pid namespace nested below "
			                     "the daemon's, where any process may claim to be it; there only the "
			                     "process that opened a connection may use it", (int)pid);
		id->pid = pid;
	} else if (sender) {
		return set_error(id, "no pidfd came with the bytes of pid %d", (int)id->pid);
	} else if (id->pid <= 0) {
		return set_error(id, "the kernel gave no pid for the client "
		                     "(it is in a pid namespace this daemon cannot see)");
	}

	snprintf(path, sizeof(path), "/proc/%d", (int)id->pid);
	dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		int e = errno;

		/* ENOENT is "gone", unless /proc hides other users' processes
		 * (hidepid=): a live pidfd tells the two apart. */
		if ((e == ENOENT || e == ESRCH) && (id->pidfd < 0 || identity_pidfd_alive(id->pidfd) == 0))
			return set_error(id, EXITED);
		/* A writer's groups are read there too, and they are not optional. */
		if (sender)
			return set_error_e(id, e, "cannot open %s", path);
		return proc_unknown(id, e, path);
	}
	if (id->pidfd < 0) {
		r = stat_at(dirfd, &state, &start);
		if (r == -ENOMEM)
			return r;
		if (r == -ENOENT || r == -ESRCH)
			return set_error(id, EXITED);
		if (r < 0)
			return set_error_e(id, -r, "cannot read the start time of pid %d", (int)id->pid);
	}

	exe_r = readlink_alloc_at(dirfd, "exe", &exe);
	if (exe_r == -ENOMEM)
		return exe_r;
	cg_r = read_text_at(dirfd, "cgroup", CGROUP_MAX, &cgtext);
	if (cg_r == 0) {
		cg_r = identity_cgroup_from_text(cgtext, &cgroup);
		/* A v1-only system has no "0::" line: no cgroup, not an error. */
		if (cg_r == -ENOENT)
			cg_r = 0;
		if (cg_r == 0)
			cg_r = identity_unit_from_cgroup(cgroup, &unit);
	}
	if (cg_r == -ENOMEM)
		return cg_r;
	if (sender) {
		st_r = read_text_at(dirfd, "status", STATUS_MAX, &status);
		if (st_r == -ENOMEM)
			return st_r;
	}

	/* Only now: is what we read the client's? */
	if (id->pidfd >= 0) {
		r = identity_pidfd_alive(id->pidfd);
		if (r == 0)
			return set_error(id, EXITED);
		if (r < 0)
			return set_error_e(id, -r, "cannot confirm that pid %d is still the client", (int)id->pid);
	} else {
		r = stat_at(dirfd, &state, &start2);
		if (r == -ENOMEM)
			return r;
		if (r == -ENOENT || r == -ESRCH || (r == 0 && start2 != start))
			return set_error(id, EXITED);
		if (r < 0)
			return set_error_e(id, -r, "cannot read the start time of pid %d", (int)id->pid);
	}

	/* A zombie has no exe; say that it exited rather than what failed. */
	if ((exe_r < 0 || cg_r < 0 || st_r < 0) && exited_at(dirfd))
		return set_error(id, EXITED);
	/* Reading another user's exe takes CAP_SYS_PTRACE: without it, or for a
	 * process that made itself undumpable, the exe is unknown, not fatal. */
	r = exe_r < 0 ? set_unknown_e(id, &id->exe_unknown, -exe_r, "cannot read /proc/%d/exe", (int)id->pid) : 0;
	if (r == 0 && cg_r < 0)
		r = cgroup_unknown(id, cg_r);
	if (r == 0 && st_r < 0)
		r = set_error_e(id, -st_r, "cannot read the status of pid %d", (int)id->pid);
	if (r == 0 && sender && !id->error)
		r = sender_groups(id, status, &groups, &ngroups);
	if (r < 0)
		return r;
	id->exe = TAKE_PTR(exe);
	id->cgroup = TAKE_PTR(cgroup);
	id->unit = TAKE_PTR(unit);
	if (sender) {
		id->groups = TAKE_PTR(groups);
		id->ngroups = ngroups;
	}
	return 0;
}

int identity_read(int fd, const struct ucred *cred, gid_t *groups, size_t ngroups, int pidfd,
                  struct identity *id)
{
	int r;

	/* Take groups and pidfd first, so every return leaves them owned by id. */
	*id = (struct identity){
		.uid = cred->uid,
		.gid = cred->gid,
		.pid = cred->pid,
		.peer_pid = cred->pid,
		.groups = groups,
		.ngroups = groups ? ngroups : 0,
		.pidfd = pidfd,
	};
	r = read_label(fd, id);
	if (r >= 0)
		r = read_process(id, false);
	if (r < 0) {
		identity_free(id);
		return r;
	}
	return 0;
}

int identity_read_socket(int fd, int pidfd, struct identity *id)
{
	struct ucred cred;
	socklen_t l = sizeof(cred), gl = 16 * sizeof(gid_t);
	_cleanup_free_ gid_t *g = NULL;

	*id = (struct identity){ .pidfd = -1 };
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
		return -errno;
	for (int tries = 0;; tries++) {
		gid_t *ng = realloc(g, gl ? gl : sizeof(gid_t));

		if (!ng)
			return -ENOMEM;
		g = ng;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &gl) == 0)
			break;
		/* ERANGE: gl now holds the size needed (the peer's groups are
		 * fixed at connect, so a second try suffices; a third is slack). */
		if (errno != ERANGE || tries == 2)
			return -errno;
	}
	if (pidfd < 0) {
		l = sizeof(pidfd);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &l) < 0) {
			pidfd = -1;
			/* Not a shortage of ours: the kernel has no pidfds, or the
			 * peer is gone (read_process says which). */
			if (errno != ENOPROTOOPT && errno != ESRCH && errno != EINVAL) {
				int e = errno;
				int r = identity_read(fd, &cred, TAKE_PTR(g), gl / sizeof(gid_t), -1, id);

				/* Without the pidfd this kernel can give, the identity
				 * is less than it could be: not established yet. */
				if (r == 0 && set_error_e(id, e, "cannot get a pidfd for the client") < 0) {
					identity_free(id);
					return -ENOMEM;
				}
				return r;
			}
		}
	}
	return identity_read(fd, &cred, TAKE_PTR(g), gl / sizeof(gid_t), pidfd, id);
}

int identity_read_sender(const struct ucred *cred, int pidfd, const char *label, const char *label_unknown,
                         struct identity *id)
{
	int r = 0;

	*id = (struct identity){
		.uid = cred->uid,
		.gid = cred->gid,
		.pid = cred->pid,
		.peer_pid = cred->pid,
		.pidfd = pidfd,
	};
	if (label) {
		id->label = strdup(label);
		if (!id->label)
			r = -ENOMEM;
	}
	if (label_unknown && r == 0) {
		id->label_unknown = strdup(label_unknown);
		if (!id->label_unknown)
			r = -ENOMEM;
	}
	if (r == 0)
		r = read_process(id, true);
	if (r < 0) {
		identity_free(id);
		return r;
	}
	return 0;
}

static int dup_str(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

int identity_copy(const struct identity *from, struct identity *to)
{
	int r = 0;

	*to = (struct identity){ .uid = from->uid, .gid = from->gid, .pid = from->pid, .peer_pid = from->peer_pid,
	                         .ngroups = from->ngroups, .retry = from->retry, .pidfd = -1 };
	if (from->ngroups) {
		to->groups = malloc(from->ngroups * sizeof(gid_t));
		if (!to->groups)
			r = -ENOMEM;
		else
			memcpy(to->groups, from->groups, from->ngroups * sizeof(gid_t));
	}
	if (r == 0 && from->pidfd >= 0 && (to->pidfd = fcntl(from->pidfd, F_DUPFD_CLOEXEC, 3)) < 0)
		r = -errno;
	if (r == 0)
		r = dup_str(from->exe, &to->exe) ?: dup_str(from->cgroup, &to->cgroup) ?:
		    dup_str(from->unit, &to->unit) ?: dup_str(from->label, &to->label) ?:
		    dup_str(from->exe_unknown, &to->exe_unknown) ?: dup_str(from->cgroup_unknown, &to->cgroup_unknown) ?:
		    dup_str(from->unit_unknown, &to->unit_unknown) ?: dup_str(from->label_unknown, &to->label_unknown) ?:
		    dup_str(from->error, &to->error);
	if (r < 0)
		identity_free(to);
	return r;
}

void identity_free(struct identity *id)
{
	free(id->groups);
	safe_close(id->pidfd);
	free(id->exe);
	free(id->cgroup);
	free(id->unit);
	free(id->label);
	free(id->token);
	free(id->exe_unknown);
	free(id->cgroup_unknown);
	free(id->unit_unknown);
	free(id->label_unknown);
	free(id->error);
	*id = (struct identity){ .pidfd = -1 };
}
