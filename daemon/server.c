#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "authz.h"
#include "call.h"
#include "consts.h"
#include "conn.h"
#include "fdstore.h"
#include "identity.h"
#include "jsonrpc.h"
#include "hold.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "resolver.h"
#include "restart.h"
#include "fdstate.h"
#include "sdnotify.h"
#include "pathwalk.h"
#include "server.h"
#include "sock.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* How long accepting stays paused after EMFILE/ENFILE unless a connection
 * closes first. */
#define ACCEPT_PAUSE_NS (100ull * 1000000ull)
/* How long a stopping daemon keeps trying to deliver replies already queued. */
#define STOP_FLUSH_MS 2000

static void on_accept(struct loop_io *io, uint32_t revents);
static void server_conn_gone(struct server *s, struct conn *c);

double server_uptime(const struct server *s)
{
	return (double)(loop_now() - s->start_mono) / 1e9;
}

/* Which families this kernel has: socket() says EAFNOSUPPORT for the others.
 * Probed once at start; type 0 is enough because the family is checked first. */
static void probe_families(struct server *s)
{
	static const int fams[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET,
	                            AF_CAN, AF_VSOCK, AF_ALG, AF_TIPC };

	s->families = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(fams); i++) {
		int fd = socket(fams[i], SOCK_CLOEXEC, 0);
		if (fd < 0 && errno == EAFNOSUPPORT)
			continue;
		safe_close(fd);
		json_object_array_add(s->families, sbc_to_json(SBC_AF, fams[i]));
		if (fams[i] == AF_INET6)
			s->has_ipv6 = true;
	}
}

/* Renders an unchanging object once and makes json-c print that text from
 * then on: daemon.info shares these subtrees in every reply. */
static void prerender(json_object *o)
{
	char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                      JSON_C_TO_STRING_NOSLASHESCAPE));

	if (text)
		json_object_set_serializer(o, json_object_userdata_to_json_string, text,
		                           json_object_free_userdata);
}

#define HELD_FD_RESERVE_MIN 1024

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Every client costs a descriptor (two with a pidfd): use what we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning("cannot raise the descriptor limit: %s", strerror(errno));
	}
}

/* Held sockets that took every descriptor would lock everyone out (accept
 * pauses at EMFILE): they get at most what the limit leaves after a quarter
 * of it (1024 at least) for connections and the daemon's own. */
static void cap_held(struct sbd_config *cfg)
{
	struct rlimit rl;
	rlim_t reserve, room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	reserve = rl.rlim_cur / 4 > HELD_FD_RESERVE_MIN ? rl.rlim_cur / 4 : HELD_FD_RESERVE_MIN;
	room = rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 1;
	if (cfg->max_held > room) {
		log_warning("--max-held %u lowered to %llu: the descriptor limit (RLIMIT_NOFILE) is %llu, and %llu of "
		            "them stay for connections and the daemon's own", cfg->max_held, (unsigned long long)room,
		            (unsigned long long)rl.rlim_cur, (unsigned long long)reserve);
		cfg->max_held = (unsigned)room;
	}
}

static bool same_socket(int a, int b)
{
	struct stat x, y;

	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* The declared sockets in the held sockets' name space, read-only: a
 * declared one gone or remade leaves it, a new one enters it. A name a
 * client holds already stays the client's (logged) until it is gone. */
static void sync_declared_holds(struct server *s)
{
	struct hold_owner self = { .uid = geteuid(), .gid = getegid(), .pid = getpid(), .declared = true };

	for (struct held *h = s->holds.first, *next; h; h = next) {
		int fd;

		next = h->next;
		if (!h->declared)
			continue;
		fd = declared_fd_peek(&s->declared, h->name);
		if (fd < 0 || !same_socket(fd, h->fd))
			hold_remove(h);
	}
	for (size_t i = 0; i < s->declared.n; i++) {
		const struct declared_sock *d = &s->declared.v[i];
		struct held *h = NULL;
		int fd, r;

		if (d->fd < 0)
			continue;
		h = hold_find(&s->holds, d->spec.name);
		if (h) {
			if (!h->declared)
				log_warning("declared socket \"%s\": a client holds a socket of that name; the declared "
				            "one is not among the held sockets while it does", d->spec.name);
			continue;
		}
		fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
		r = fd < 0 ? -errno : hold_put(&s->holds, d->spec.name, fd, &self, 0, &h);
		if (r < 0)
			log_warning("declared socket \"%s\": not among the held sockets: %s", d->spec.name, strerror(-r));
	}
}

int server_declare_sockets(struct server *s, struct policy_error *err)
{
	struct declared_set set = { 0 };
	size_t failed;
	int r = 0;

	/* A daemon given a policy of its own (a second instance, a test) does
	 * not take the host's declared sockets, which the host's daemon binds:
	 * only --sockets names them then. */
	if (s->cfg.sockets_path || !s->cfg.policy_path)
		r = declared_load(s->cfg.sockets_path, geteuid() == 0, &set, err);
	if (r < 0)
		return r;
	/* The held copies of declared sockets about to be closed go first:
	 * they would keep the old socket, and its address, from the new one. */
	for (struct held *h = s->holds.first, *next; h; h = next) {
		const struct declared_sock *d;
		bool kept = false;

		next = h->next;
		if (!h->declared)
			continue;
		d = declared_find(&s->declared, h->name);
		for (size_t i = 0; d && i < set.n && !kept; i++)
			kept = strcmp(set.v[i].name, h->name) == 0 && declared_spec_equal(&d->spec, &set.v[i]);
		if (!kept)
			hold_remove(h);
	}
	/* And systemd's copies, for the same reason. */
	fdstore_declared_release(s->fdstore, &s->declared, &set);
	failed = declared_apply(&s->declared, &set);
	if (failed)
		log_warning("%zu of %zu declared sockets could not be made (see above)", failed, s->declared.n);
	sync_declared_holds(s);
	fdstore_declared_sync(s->fdstore, &s->declared);
	return 0;
}

int server_reload_policy(struct server *s, struct policy_error *err)
{
	int r;

	/* The HTTP face's tokens and the declared sockets follow a reload
	 * whether or not the policy loads. */
	http_reload(s->http);
	r = server_declare_sockets(s, err);
	if (r < 0)
		log_err("declared sockets not reloaded, the old ones stay: %s", err->text);
	r = authz_reload(&s->authz, err);

	if (r < 0)
		return r;
	for (struct conn *c = s->conns; c; c = c->next)
		authz_conn_update(c);
	http_policy_changed(s->http);
	sd_notifyf("READY=1\nSTATUS=Listening on %s; policy generation %llu", s->listen_path ? s->listen_path : "?",
	           (unsigned long long)s->authz.generation);
	return 0;
}

static void on_signal(struct loop_io *io, uint32_t revents)
{
	struct server *s = (struct server *)((char *)io - offsetof(struct server, sig_io));
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("signal %d: stopping", (int)si.ssi_signo);
			s->stopping = true;
			loop_quit(s->loop);
			break;
		case SIGUSR1:
			/* logrotate's postrotate: the audit log is a new file from here. */
			authz_reopen_audit(&s->authz, "SIGUSR1");
			break;
		case SIGUSR2: {
			int r;

			log_notice("SIGUSR2: restarting");
			r = restart_begin(s, NULL);
			if (r < 0)
				log_err("SIGUSR2: cannot restart: %s", r == -EBUSY ? "a restart is under way" : strerror(-r));
			break;
		}
		case SIGHUP: {
			struct policy_error err;
			/* The reload logs the outcome, and keeps the old policy on error. */
			log_notice("SIGHUP: reloading the policy and reopening the audit log");
			if (server_reload_policy(s, &err) < 0)
				authz_reopen_audit(&s->authz, "SIGHUP");
			break;
		}
		}
	}
}

static void conn_on_message(struct conn *c, struct frame_msg *msg)
{
	c->srv->on_message(c, msg);
}

static void conn_on_identity(struct conn *c)
{
	authz_conn_update(c);
}

static void conn_on_gone(struct conn *c)
{
	/* Handles close with their connection (protocol section 5). */
	sock_close_all(c);
	server_conn_gone(c->srv, c);
}

/* The connections' share of the server (conn.h): what conn.c needs, and the
 * services the layers above it reach through a call's connection. */
static void conn_env_init(struct server *s)
{
	s->conn_ops = (struct conn_ops){
		.on_message = conn_on_message,
		.on_identity = conn_on_identity,
		.on_gone = conn_on_gone,
	};
	s->conn_env = (struct conn_env){
		.loop = s->loop,
		.ops = &s->conn_ops,
		.cfg = &s->cfg,
		.slow_disconnects = &s->stats.slow_disconnects,
		.oversize_messages = &s->stats.oversize_messages,
		.srv = s,
		.authz = &s->authz,
		.socks = &s->socks,
		.metrics = s->metrics,
	};
}

int server_init(struct server *s, struct sbd_config *cfg,
                void (*on_message)(struct conn *c, struct frame_msg *msg))
{
	sigset_t mask;
	int r;

	memset(s, 0, sizeof(*s));
	s->on_message = on_message;
	s->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	s->listen_fd = -1;
	s->sig_fd = -1;
	s->restart_ready_fd = -1;
	/* One descriptor in reserve, for the pidfd of a client accepted with our last one. */
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->self_uid = geteuid();
	s->pid = getpid();
	s->start_mono = loop_now();
	s->accept_timer.cb = NULL;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	cap_held(&s->cfg);
	probe_families(s);
	/* The reserve never takes more than half: ordinary clients keep the rest
	 * (daemon.info shows what is in force). */
	s->cfg.admin_reserve = SB_MIN(s->cfg.admin_reserve, s->cfg.max_connections / 2);

	s->info_limits = json_object_new_object();
	for (size_t i = 0; i < sbd_limits_n; i++)
		json_object_object_add(s->info_limits, sbd_limits[i].info_name,
		                       json_object_new_uint64(sbd_limit_get(&s->cfg, &sbd_limits[i])));
	prerender(s->info_limits);
	prerender(s->families);
	s->authz.audit_fd = -1;
	r = authz_init(&s->authz, &s->cfg);
	if (r < 0)
		return r;
	s->parser = jrpc_parser_new(JRPC_MAX_DEPTH);
	if (!s->parser)
		return -ENOMEM;
	r = loop_new(&s->loop);
	if (r < 0)
		return r;
	/* From here the log's queue drains from the loop. */
	log_attach(s->loop);
	if (sock_table_init(&s->socks, s->loop) < 0 || hold_table_init(&s->holds, s->loop, s->cfg.max_held) < 0)
		return -ENOMEM;
	/* Before anything is held: every socket that enters goes to the store. */
	r = fdstore_new(s, &s->fdstore);
	if (r < 0)
		return r;
	r = metrics_new(&s->metrics);
	if (r < 0)
		return r;
	conn_env_init(s);
	r = resolver_new(s->loop, s->cfg.resolver_threads, s->cfg.max_resolver_queue,
	                 s->cfg.max_resolver_share ? s->cfg.max_resolver_share
	                 : s->cfg.max_resolver_queue / 4 ? s->cfg.max_resolver_queue / 4 : 1,
	                 &s->resolver);
	if (r < 0)
		return r;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		return -errno;
	return loop_io_add(s->loop, &s->sig_io, s->sig_fd, EPOLLIN, on_signal);
}

static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Whether a user other than root and us may write the directory st: such a
 * user could rename our socket away and put theirs, or a symlink, in its
 * place. A sticky directory owned by root (/tmp) lets nobody rename or remove
 * another user's entries, so its other write bits are fine (the policy
 * loader's rule for its directories, with the daemon's own user added). */
static int check_socket_dir_stat(const char *dir, const struct stat *st)
{
	uid_t self = geteuid();

	if (!S_ISDIR(st->st_mode)) {
		log_err("%s, above the control socket, is not a directory", dir);
		return -ENOTDIR;
	}
	if ((st->st_mode & S_ISVTX) && st->st_uid == 0)
		return 0;
	if (st->st_uid != 0 && st->st_uid != self) {
		log_err("refusing the control socket under %s: owned by uid %u, who could replace it", dir,
		        (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_mode & S_IWOTH) {
		log_err("refusing the control socket under %s: writable by every user (mode %04o)", dir,
		        (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0) {
		log_err("refusing the control socket under %s: writable by group %u (mode %04o)", dir,
		        (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int check_socket_dir(const char *dir, void *unused)
{
	struct stat st;
	int r;

	(void)unused;
	if (stat(dir, &st) < 0) {
		r = -errno;
		log_err("cannot check %s, above the control socket: %s", dir, strerror(-r));
		return r;
	}
	return check_socket_dir_stat(dir, &st);
}

/* Every directory above the absolute path abs, up to /. */
static int check_socket_ancestors(const char *abs)
{
	return pathwalk_ancestors(abs, check_socket_dir, NULL);
}

/* The directories above the socket's path as written (a writable one could
 * swap a symlink on the way) and above where its directory really is after
 * every symlink (a writable one could swap the directory itself). */
static int check_socket_location(const char *path)
{
	char abs[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
	char *slash;
	int r;

	if (pathwalk_absolute(path, abs, sizeof(abs)) < 0) {
		log_err("cannot make %s an absolute path to check the directories above it", path);
		return -ENAMETOOLONG;
	}
	r = check_socket_ancestors(abs);
	if (r < 0)
		return r;
	memcpy(dir, abs, sizeof(dir));
	slash = strrchr(dir, '/');
	slash[slash == dir ? 1 : 0] = '\0';
	if (!realpath(dir, real)) {
		r = -errno;
		log_err("cannot resolve %s: %s", dir, strerror(-r));
		return r;
	}
	/* check_socket_ancestors checks what is above its argument: a name
	 * under the real directory makes it check that directory too. */
	if (strlen(real) + 2 >= sizeof(real))
		return -ENAMETOOLONG;
	strcat(real, real[1] ? "/x" : "x");
	return check_socket_ancestors(real);
}

/* Refuses a path where a live daemon answers or that is not a socket; removes
 * a socket nobody listens on. */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	_cleanup_close_ int fd = -1;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		/* EAGAIN: a listener whose backlog is full is still a live listener. */
		log_err("another daemon is answering on %s; refusing to start", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		log_err("cannot tell whether %s is in use: %s", path, strerror(errno));
		return -errno;
	}
	log_info("removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int check_activated_socket(int fd)
{
	int v;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_UNIX)
		return -EINVAL;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != SOCK_STREAM)
		return -EINVAL;
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v)
		return -EINVAL;
	return 0;
}

int server_bind_unix(const char *path, mode_t mode, int *out_fd, dev_t *dev, ino_t *ino)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	mode_t old_umask;
	struct stat st;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	r = mkdir_parents(path);
	if (r < 0) {
		log_err("cannot create the directory of %s: %s", path, strerror(-r));
		return r;
	}
	r = check_socket_location(path);
	if (r < 0)
		return r;
	r = clear_stale_socket(path);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path));
	/* The socket is born with its mode: bind takes it from the umask, and no
	 * chmod(path) follows, which would follow a symlink put there meanwhile.
	 * The umask is the process's: the only other threads are the
	 * resolver's workers, which create no files (declared sockets are made
	 * here at reload too, with workers busy); the mode is checked below all
	 * the same. */
	old_umask = umask(~mode & 0777);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0) {
		r = -errno;
		log_err("cannot bind %s: %s", path, strerror(-r));
		return r;
	}
	/* No link is followed: what is there now is ours (nobody else may write
	 * the directory). */
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		log_err("cannot stat %s after binding it: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s is no longer our socket after binding it; refusing to start", path);
		return -EEXIST;
	}
	if ((st.st_mode & 0777) != mode) {
		/* A default ACL on the directory overrides the umask. Not a link
		 * (checked above), and glibc's emulation opens it O_PATH|O_NOFOLLOW. */
		if (fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			log_err("cannot set the mode of %s to %04o: %s", path, (unsigned)mode, strerror(-r));
			unlink(path);
			return r;
		}
	}
	if (listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		unlink(path);
		return r;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	*out_fd = TAKE_FD(fd);
	return 0;
}

void server_unlink_unix(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	/* Only the socket we made: another daemon may have bound the path since. */
	if (lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		unlink(path);
}

/* The descriptors handed to us, held and declared ones adopted already:
 * one named "http", or a TCP listener (which cannot be the control socket),
 * goes to the HTTP face; the control socket is the one named "control", or
 * else the one AF_UNIX stream listener left. *ctl: its entry. */
static int take_activated(struct server *s, struct fdstate_fd *v, size_t n, struct fdstate_fd **ctl)
{
	int val;
	socklen_t l;

	*ctl = NULL;
	for (size_t i = 0; i < n; i++) {
		int fd = v[i].fd;
		bool http = v[i].name && !strcmp(v[i].name, FDNAME_HTTP);

		l = sizeof(val);
		if (!http && !(v[i].name && !strcmp(v[i].name, FDNAME_CONTROL)) &&
		    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &l) == 0 && (val == AF_INET || val == AF_INET6))
			http = true;
		if (http) {
			struct http_fd *h;
			json_object *j;

			if (s->n_http_fds == SBD_HTTP_MAX_LISTENERS) {
				log_err("more than %d sockets were handed over for the HTTP face", SBD_HTTP_MAX_LISTENERS);
				return -EINVAL;
			}
			h = &s->http_fds[s->n_http_fds++];
			*h = (struct http_fd){ .fd = fd };
			v[i].fd = -1;
			if (v[i].info && json_object_object_get_ex(v[i].info, "spec", &j) &&
			    json_object_is_type(j, json_type_string) && !(h->spec = strdup(json_object_get_string(j))))
				return -ENOMEM;
			if (v[i].info && json_object_object_get_ex(v[i].info, "dev", &j))
				h->dev = (dev_t)json_object_get_uint64(j);
			if (v[i].info && json_object_object_get_ex(v[i].info, "ino", &j))
				h->ino = (ino_t)json_object_get_uint64(j);
			continue;
		}
		if (*ctl) {
			log_err("%zu sockets were handed over; expected one control socket, and sockets "
			        "named \"http\" or TCP listeners for the HTTP face", n);
			return -EINVAL;
		}
		*ctl = &v[i];
	}
	return 0;
}

static void fdlist_free(struct fdstate_fd *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		safe_close(v[i].fd);
		free(v[i].name);
	}
	free(v);
}

/* Every descriptor handed to us, by systemd (LISTEN_FDS) and by a restart,
 * with its name: held and declared ones adopted, the rest sorted. */
static int take_handed(struct server *s, int *control, json_object **info, json_object **state)
{
	_cleanup_free_ char *names = NULL;
	struct fdstate_fd *v = NULL, *ctl = NULL;
	size_t nv = 0;
	int n, r;

	*control = -1;
	n = sd_listen_fds_take(&names);
	if (n < 0)
		return n;
	if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
		return -ENOMEM;
	/* LISTEN_FDNAMES, colon-separated, in one pass; fewer names than
	 * descriptors leave the rest unnamed. */
	for (const char *p = names; nv < (size_t)n; nv++) {
		size_t len = p ? strcspn(p, ":") : 0;

		v[nv] = (struct fdstate_fd){ .fd = SD_LISTEN_FDS_START + (int)nv };
		if (len && !(v[nv].name = strndup(p, len))) {
			fdlist_free(v, nv + 1);
			return -ENOMEM;
		}
		if (v[nv].name)
			fdstore_handed_add(s->fdstore, v[nv].name);
		p = p && p[len] == ':' ? p + len + 1 : NULL;
	}
	r = restart_take(s, &v, &nv, state);
	if (r == 0)
		r = fdstate_adopt(s, v, &nv, *state);
	if (r == 0)
		r = take_activated(s, v, nv, &ctl);
	if (r == 0 && ctl) {
		*control = TAKE_FD(ctl->fd);
		*info = ctl->info;
	}
	fdlist_free(v, nv);
	return r;
}

int server_listen(struct server *s)
{
	const char *path = s->cfg.socket_path;
	_cleanup_close_ int fd = -1;
	_cleanup_json_ json_object *state = NULL;
	json_object *info = NULL;
	int r, control;

	r = take_handed(s, &control, &info, &state);
	if (r < 0)
		return r;
	if (control >= 0) {
		struct sockaddr_un bound;
		socklen_t bl = sizeof(bound);
		json_object *j;

		fd = control;
		if (check_activated_socket(fd) < 0) {
			log_err("the activated descriptor is not a listening AF_UNIX stream socket");
			return -EINVAL;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
			return -errno;
		memset(&bound, 0, sizeof(bound));
		if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0 && bound.sun_path[0])
			s->listen_path = strndup(bound.sun_path, sizeof(bound.sun_path));
		else
			s->listen_path = strdup("(socket activation)");
		s->own_socket = false;
		/* A restart's control socket: its path is ours once we serve. */
		if (info && json_object_object_get_ex(info, "own", &j) && json_object_get_boolean(j)) {
			s->restart_own_socket = true;
			if (json_object_object_get_ex(info, "dev", &j))
				s->sock_dev = (dev_t)json_object_get_uint64(j);
			if (json_object_object_get_ex(info, "ino", &j))
				s->sock_ino = (ino_t)json_object_get_uint64(j);
		}
		goto listening;
	}
	if (s->restarted) {
		log_err("restart: no control socket was handed over");
		return -EINVAL;
	}

	r = server_bind_unix(path, s->cfg.socket_mode & 0777, &fd, &s->sock_dev, &s->sock_ino);
	if (r < 0)
		return r;
	s->own_socket = true;
	s->listen_path = strdup(path);
listening:
	if (!s->listen_path)
		return -ENOMEM;
	/* Accepted sockets inherit them: every byte carries its writer (conn.h). */
	r = conn_socket_setup(fd);
	if (r < 0)
		return r;
	r = loop_io_add(s->loop, &s->listen_io, fd, EPOLLIN, on_accept);
	if (r < 0)
		return r;
	s->listen_fd = TAKE_FD(fd);
	/* The HTTP face takes the activated sockets meant for it. */
	r = http_start(s, s->http_fds, s->n_http_fds, &s->http);
	for (size_t i = 0; i < s->n_http_fds; i++)
		free(s->http_fds[i].spec);
	s->n_http_fds = 0;
	if (r < 0)
		return r;
	{
		struct policy_error *err = calloc(1, sizeof(*err));

		if (!err)
			return -ENOMEM;
		/* Wrong files stop the start, as a wrong policy does. */
		r = server_declare_sockets(s, err);
		if (r < 0)
			log_err("%s", err->text);
		free(err);
	}
	return r;
}

static struct uid_count *uid_slot(struct server *s, uid_t uid, bool create)
{
	for (size_t i = 0; i < s->nuids; i++)
		if (s->uids[i].uid == uid)
			return &s->uids[i];
	if (!create)
		return NULL;
	if (s->nuids == s->capuids) {
		size_t cap = s->capuids ? s->capuids * 2 : 16;
		struct uid_count *n = realloc(s->uids, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->uids = n;
		s->capuids = cap;
	}
	s->uids[s->nuids] = (struct uid_count){ .uid = uid, .n = 0 };
	return &s->uids[s->nuids++];
}

static void on_accept_timer(struct loop_timer *t);

/* A flood pauses and resumes many times a second: one line per 10 s. */
static struct log_ratelimit pause_log = LOG_RATELIMIT_INIT(10);

/* Stops polling the listening socket for a while: used when descriptors run
 * out, so that pending connections wait in the backlog instead of waking us
 * at once again. */
static void accept_pause(struct server *s)
{
	uint64_t held;

	if (!s->accept_paused) {
		if (log_ratelimit(&pause_log, &held)) {
			if (held)
				log_warning("out of descriptors; pausing accepts (%llu more pauses since the last "
				            "such line)", (unsigned long long)held);
			else
				log_warning("out of descriptors; pausing accepts");
		}
		s->stats.accept_pauses++;
	}
	s->accept_paused = true;
	loop_io_mod(s->loop, &s->listen_io, 0);
	s->accept_timer.cb = on_accept_timer;
	loop_timer_arm(s->loop, &s->accept_timer, loop_now() + ACCEPT_PAUSE_NS);
}

static void accept_resume(struct server *s)
{
	if (!s->accept_paused || s->stopping)
		return;
	if (s->spare_fd < 0) {
		s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (s->spare_fd < 0) {
			/* still no descriptor to spare: stay paused */
			s->accept_paused = false;
			accept_pause(s);
			return;
		}
	}
	s->accept_paused = false;
	loop_timer_disarm(s->loop, &s->accept_timer);
	/* A restart under way keeps the backlog for the new process. */
	loop_io_mod(s->loop, &s->listen_io, s->restart ? 0 : EPOLLIN);
}

static void on_accept_timer(struct loop_timer *t)
{
	accept_resume((struct server *)((char *)t - offsetof(struct server, accept_timer)));
}

/* c is closing: it no longer counts toward the connection limits. */
static void server_conn_gone(struct server *s, struct conn *c)
{
	struct uid_count *u = uid_slot(s, c->id.uid, false);

	if (u && u->n)
		u->n--;
	if (c->prev)
		c->prev->next = c->next;
	else if (s->conns == c)
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nconns--;
	/* A descriptor came free: accepting may work again. */
	accept_resume(s);
}

/* Tells a client why it is refused, in one write that cannot block, then closes. */
static void refuse(struct server *s, int fd, const char *limit, unsigned max, const char *text)
{
	json_object *d = json_object_new_object();
	json_object *resp;
	const char *line;
	size_t len;

	s->stats.connections_refused++;
	json_object_object_add(d, "limit", json_object_new_string(limit));
	json_object_object_add(d, "max", json_object_new_int64(max));
	resp = jrpc_error_new(NULL, SB_ERR_LIMIT, text, d);
	if (resp) {
		char buf[512];
		line = jrpc_to_string(resp, &len);
		if (len < sizeof(buf) - 1) {
			memcpy(buf, line, len);
			buf[len++] = '\n';
			if (send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				/* the client is already gone */
			}
		}
		json_object_put(resp);
	}
	safe_close(fd);
}

/* The peer's pidfd (-1 where the kernel predates SO_PEERPIDFD). When the accept
 * took our last descriptor, the reserve is spent on it and accepting pauses
 * until a connection closes, so a client is never refused for our shortage. */
static int read_pidfd(struct server *s, int fd, int *pidfd)
{
	socklen_t l = sizeof(*pidfd);

	*pidfd = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, pidfd, &l) == 0)
		return 0;
	if (errno == ENOPROTOOPT) {
		*pidfd = -1;
		return 0;
	}
	if ((errno != EMFILE && errno != ENFILE) || s->spare_fd < 0)
		return -errno;
	s->spare_fd = safe_close(s->spare_fd);
	accept_pause(s);
	l = sizeof(*pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, pidfd, &l) < 0)
		return -errno;
	return 0;
}

/* Identity, read once at accept and never from anything the client says. */
static int read_identity(struct server *s, int fd, struct ucred *cred, gid_t **groups,
                         size_t *ngroups, int *pidfd)
{
	socklen_t l = sizeof(*cred);
	gid_t *g = NULL;
	socklen_t gl = 16 * sizeof(gid_t);
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &l) < 0)
		return -errno;
	for (int tries = 0; tries < 3; tries++) {
		gid_t *ng = realloc(g, gl ? gl : sizeof(gid_t));
		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &gl) == 0)
			break;
		if (errno != ERANGE || tries == 2) {
			r = -errno;
			free(g);
			return r;
		}
		/* gl now holds the size needed */
	}
	*groups = g;
	*ngroups = gl / sizeof(gid_t);
	r = read_pidfd(s, fd, pidfd);
	if (r < 0) {
		free(g);
		*groups = NULL;
		return r;
	}
	return 0;
}

/* Whether a client may take one of the connections kept for administrators:
 * the policy would let it use the admin methods. Decided on its whole
 * identity, neither audited nor counted (no request was made). */
static bool policy_admin(struct server *s, const struct identity *id, const struct policy_subject *who)
{
	struct policy_request q = { .action = POLICY_ADMIN, .family = -1, .type = -1, .proto = -1 };
	struct policy_decision d;

	if (id->error)
		return false;
	authz_decide_as(&s->authz, who, &q, &d);
	return d.allowed;
}

static void on_accept(struct loop_io *io, uint32_t revents)
{
	struct server *s = (struct server *)((char *)io - offsetof(struct server, listen_io));
	unsigned open_to_all = s->cfg.max_connections - s->cfg.admin_reserve;

	/* Bounded so one flood cannot hold the loop. */
	for (int i = 0; i < 64; i++) {
		bool privileged;
		struct ucred cred;
		gid_t *groups = NULL;
		size_t ngroups = 0;
		int pidfd = -1, r;
		struct identity id = { .pidfd = -1 };
		struct policy_subject who;
		unsigned per_uid;
		struct uid_count *u;
		struct conn *c;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: the pending connection stays in the
				 * backlog and would wake us again at once. Stop listening
				 * until a connection closes or a short pause ends. */
				log_debug("accept: %s", strerror(errno));
				accept_pause(s);
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_err("accept: %s", strerror(errno));
			}
			return;
		}
		r = read_identity(s, fd, &cred, &groups, &ngroups, &pidfd);
		if (r == 0 && cred.pid == getpid()) {
			/* The daemon connecting to itself can only be a client's
			 * socket.connect relayed here: it would be judged as the
			 * daemon's own user. */
			log_warning("refusing a connection from the daemon itself (a client's relayed connect)");
			s->stats.connections_refused++;
			free(groups);
			safe_close(pidfd);
			safe_close(fd);
			continue;
		}
		/* Root and the daemon's own user may take the reserve: the kernel's
		 * credentials say so, at no cost. */
		privileged = r == 0 && (cred.uid == 0 || cred.uid == s->self_uid);
		if (r == 0 && s->nconns >= s->cfg.max_connections) {
			/* Before the /proc reads: a flood past the limit costs no more than this. */
			log_warning("refusing uid %u pid %d: %u connections in total", (unsigned)cred.uid,
			            (int)cred.pid, s->nconns);
			refuse(s, fd, "connections", privileged ? s->cfg.max_connections : open_to_all,
			       "limit reached: the daemon has as many connections as it accepts");
			free(groups);
			safe_close(pidfd);
			continue;
		}
		if (r == 0)
			r = identity_read(fd, &cred, groups, ngroups, pidfd, &id);   /* takes groups, pidfd */
		if (r < 0) {
			log_warning("refusing a client whose credentials cannot be read: %s", strerror(-r));
			s->stats.connections_refused++;
			identity_free(&id);
			safe_close(fd);
			continue;
		}
		if (id.error)
			log_warning("client uid %u pid %d: identity incomplete (%s); %s", (unsigned)id.uid,
			            (int)id.pid, id.error,
			            id.retry ? "it is read again at its next request" : "it may only introspect");
		authz_subject_from(&id, &who);
		/* The reserve: past what is open to all, only the policy's
		 * administrators, judged on the identity just read (what any
		 * accepted client costs; past the total, nobody gets this far). */
		if (!privileged && s->nconns >= open_to_all && !policy_admin(s, &id, &who)) {
			log_warning("refusing uid %u pid %d: %u connections, the last %u kept for administrators",
			            (unsigned)id.uid, (int)id.pid, s->nconns, s->cfg.admin_reserve);
			refuse(s, fd, "connections", open_to_all,
			       "limit reached: the remaining connections are kept for administrators");
			identity_free(&id);
			continue;
		}
		per_uid = authz_connection_limit(&s->authz, &who);
		u = uid_slot(s, id.uid, true);
		if (!u || u->n >= per_uid) {
			log_warning("refusing uid %u pid %d: per-user connection limit %u", (unsigned)id.uid,
			            (int)id.pid, per_uid);
			refuse(s, fd, "connections_per_uid", per_uid,
			       "limit reached: this user has as many connections as one user may have");
			identity_free(&id);
			continue;
		}
		r = conn_new(&s->conn_env, fd, &id, &c);
		if (r < 0) {
			log_err("cannot set up a client: %s", strerror(-r));
			safe_close(fd);
			identity_free(&id);
			continue;
		}
		u->n++;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		s->stats.connections_accepted++;
		authz_conn_update(c);
		log_debug("client %llu: uid %u gid %u pid %d exe %s unit %s", (unsigned long long)c->serial,
		          (unsigned)c->id.uid, (unsigned)c->id.gid, (int)c->id.pid,
		          c->id.exe ? c->id.exe : c->id.exe_unknown ? "?" : "-",
		          c->id.unit ? c->id.unit : c->id.unit_unknown ? "?" : "-");
	}
}

static void call_resolve_cancel(struct call *call)
{
	struct resolve_job *job = call->park;

	call->park = NULL;
	resolver_cancel(call->conn->srv->resolver, job);
}

int call_park_resolve(struct call *call, struct resolve_job *job)
{
	struct resolver *r = call->conn->srv->resolver;
	int rc;

	/* The resolver shares its queue among users, not connections. */
	job->owner = authz_call_identity(call, NULL)->uid;
	rc = resolver_submit(r, job);
	if (rc < 0) {
		job->destroy(job);
		if (rc == -EDQUOT)
			return call_error_limit(call, "resolver_share", resolver_share(r));
		return rc == -EAGAIN ? call_error_limit(call, "resolver_queue", resolver_max_queue(r)) : rc;
	}
	call->park = job;
	call->cancel = call_resolve_cancel;
	return CALL_PENDING;
}

/* Fails every request still in flight, then gives queued replies a bounded
 * time to leave. */
static void server_stop(struct server *s)
{
	uint64_t deadline;

	if (s->listen_fd >= 0) {
		loop_io_del(s->loop, &s->listen_io);
		s->listen_fd = safe_close(s->listen_fd);
	}
	http_stop(TAKE_PTR(s->http));
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		conn_stop_reading(c);
		while (!c->dead && c->calls) {
			struct call *call = c->calls;
			call_abort(call, s->handed_over
			                     ? call_error_os(call, -ECANCELED, "the daemon restarted; the request was "
			                                     "cancelled: connect again")
			                     : call_error_os(call, -ECANCELED, "the daemon is stopping; the request was cancelled"));
		}
	}
	deadline = loop_now() + STOP_FLUSH_MS * 1000000ull;
	for (;;) {
		bool waiting = false;
		for (struct conn *c = s->conns, *next; c; c = next) {
			next = c->next;
			conn_check_done(c);
			waiting = waiting || !c->dead;
		}
		if (!waiting || loop_now() >= deadline)
			break;
		loop_run_once(s->loop, 50);
	}
	while (s->conns)
		conn_close(s->conns, "daemon stopping");
	loop_run_once(s->loop, 0);
}

int server_run(struct server *s)
{
	int r;

	log_info("sockbrokerd %s ready on %s (pid %d)%s", PACKAGE_VERSION, s->listen_path, (int)getpid(),
	         s->restarted ? ", restarted" : "");
	restart_signal_ready(s);
	fdstore_ready(s->fdstore);
	sd_notifyf("READY=1\nSTATUS=Listening on %s\nMAINPID=%d", s->listen_path, (int)getpid());
	r = loop_run(s->loop);
	/* Handed over: systemd follows the new process, which is not stopping. */
	if (!s->handed_over)
		sd_notify_send("STOPPING=1\nSTATUS=Stopping");
	server_stop(s);
	/* The held sockets stay in systemd's store for the next daemon; the
	 * state that describes them is written as it is now. Handed over to a
	 * restart, they are the new process's, and so is the state. */
	if (!s->handed_over)
		fdstore_stop(s->fdstore);
	return r;
}

void server_free(struct server *s)
{
	http_stop(TAKE_PTR(s->http));
	for (size_t i = 0; i < s->n_http_fds; i++) {
		safe_close(s->http_fds[i].fd);
		free(s->http_fds[i].spec);
	}
	restart_cancel(s);
	safe_close(s->restart_ready_fd);
	free(s->exe_path);
	if (s->own_socket && s->listen_path)
		server_unlink_unix(s->listen_path, s->sock_dev, s->sock_ino);
	if (s->listen_fd >= 0)
		safe_close(s->listen_fd);
	safe_close(s->sig_fd);
	safe_close(s->spare_fd);
	/* Workers first: their results are delivered through the loop. */
	resolver_free(s->resolver);
	/* Before the loop: their timers are on it. */
	fdstore_free(TAKE_PTR(s->fdstore));
	hold_table_free(&s->holds);
	log_attach(NULL);
	loop_free(s->loop);
	json_object_put(s->families);
	json_object_put(s->info_limits);
	jrpc_parser_free(s->parser);
	sock_table_free(&s->socks);
	declared_table_free(&s->declared);
	metrics_free(TAKE_PTR(s->metrics));
	authz_free(&s->authz);
	free(s->uids);
	free(s->listen_path);
	config_free(&s->cfg);
}
