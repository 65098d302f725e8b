/* daemon.restart: running the daemon's binary again with every socket it
 * owns handed over (restart.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call.h"
#include "conn.h"
#include "declared.h"
#include "fdstate.h"
#include "fdstore.h"
#include "hold.h"
#include "http.h"
#include "log.h"
#include "restart.h"
#include "sdnotify.h"
#include "server.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

extern char **environ;

struct restart {
	struct server *s;
	struct call *call;          /* daemon.restart waiting; NULL for SIGUSR2 */
	pid_t pid;
	int pidfd, ready_fd;
	struct loop_io pid_io, ready_io;
	struct loop_timer timer;
	uint64_t started;
	size_t nheld, ndecl;
	char msg[8];                /* what the new process wrote on the ready pipe */
	size_t nmsg;
	struct loop_defer free_later;
};

/* What the hand-over lists, built before fork: the child only walks it. */
struct handover {
	json_object *fds;           /* the state's "fds" */
	int *v;
	size_t n, cap;
};

static int handover_add(struct handover *ho, int fd, const char *name, json_object *extra)
{
	json_object *e = extra ? extra : json_object_new_object();

	if (ho->n == ho->cap) {
		size_t cap = ho->cap ? ho->cap * 2 : 64;
		int *v = cap <= RESTART_MAX_FDS ? realloc(ho->v, cap * sizeof(*v)) : NULL;
		if (!v) {
			json_object_put(e);
			return -ENOMEM;
		}
		ho->v = v;
		ho->cap = cap;
	}
	json_object_object_add(e, "fd", json_object_new_int(fd));
	json_object_object_add(e, "name", json_object_new_string(name));
	if (json_object_array_add(ho->fds, e) < 0) {
		json_object_put(e);
		return -ENOMEM;
	}
	ho->v[ho->n++] = fd;
	return 0;
}

static void add_http(void *ctx, int fd, const char *spec, dev_t dev, ino_t ino)
{
	struct handover *ho = ctx;
	json_object *e = json_object_new_object();

	json_object_object_add(e, "spec", spec ? json_object_new_string(spec) : NULL);
	json_object_object_add(e, "dev", json_object_new_uint64(dev));
	json_object_object_add(e, "ino", json_object_new_uint64(ino));
	if (handover_add(ho, fd, FDNAME_HTTP, e) < 0)
		log_err("restart: an HTTP listener is not handed over: out of memory");
}

/* A held or declared socket's entry: whether systemd's store has it as far
 * as we know. One whose FDSTORE=1 still waits in our queue (a service
 * manager that stopped reading) the new process stores itself; if ours
 * gets through after all, systemd drops the duplicate. */
static json_object *stored_entry(bool stored)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "stored", json_object_new_boolean(stored));
	return e;
}

/* Every socket the daemon owns beyond its clients, listed in state. */
static int collect(struct server *s, struct restart *r, struct handover *ho, json_object *state)
{
	char fdname[FDNAME_LONG_MAX + 1];
	json_object *ctl = json_object_new_object();
	int e;

	ho->fds = json_object_new_array();
	json_object_object_add(state, "fds", ho->fds);
	json_object_object_add(ctl, "path", json_object_new_string(s->listen_path ? s->listen_path : ""));
	json_object_object_add(ctl, "own", json_object_new_boolean(s->own_socket));
	json_object_object_add(ctl, "dev", json_object_new_uint64(s->sock_dev));
	json_object_object_add(ctl, "ino", json_object_new_uint64(s->sock_ino));
	e = handover_add(ho, s->listen_fd, FDNAME_CONTROL, ctl);
	for (const struct held *h = s->holds.first; h && e == 0; h = h->next) {
		if (h->declared)
			continue;
		e = fdname_encode(FDNAME_HELD, h->name, fdname, sizeof(fdname));
		if (e == 0)
			e = handover_add(ho, h->fd, fdname,
			                 stored_entry(h->stored && !fdstore_pending(s->fdstore, fdname)));
		r->nheld++;
	}
	for (size_t i = 0; i < s->declared.n && e == 0; i++) {
		const struct declared_sock *d = &s->declared.v[i];

		if (d->fd < 0)
			continue;
		e = fdname_encode(FDNAME_DECLARED, d->spec.name, fdname, sizeof(fdname));
		if (e == 0)
			e = handover_add(ho, d->fd, fdname, stored_entry(fdstore_has_decl(s->fdstore, fdname)));
		r->ndecl++;
	}
	if (e == 0)
		http_handover(s->http, add_http, ho);
	return e;
}

/* The environment of the new process: ours, with the hand-over's two. */
static char **make_env(int state_fd, int ready_fd)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SOCKBROKER_RESTART_", 19) != 0)
			env[k++] = environ[i];
	if (asprintf(&env[k], RESTART_ENV_FD "=%d", state_fd) < 0) {
		free(env);
		return NULL;
	}
	if (asprintf(&env[k + 1], RESTART_ENV_READY "=%d", ready_fd) < 0) {
		free(env[k]);
		free(env);
		return NULL;
	}
	return env;
}

static void free_env(char **env)
{
	size_t n = 0;

	if (!env)
		return;
	while (env[n])
		n++;
	/* The last two are ours; the rest are environ's. */
	if (n >= 2) {
		free(env[n - 1]);
		free(env[n - 2]);
	}
	free(env);
}

/* Reading requests waits while a restart is under way: what the old
 * process does after it listed the sockets would be lost. */
static void pause_serving(struct server *s, bool pause)
{
	if (s->listen_fd >= 0)
		loop_io_mod(s->loop, &s->listen_io, pause || s->accept_paused ? 0 : EPOLLIN);
	for (struct conn *c = s->conns; c; c = c->next)
		conn_pause(c, pause);
	http_freeze(s->http, pause);
}

static void restart_free_deferred(struct loop_defer *d)
{
	free((struct restart *)((char *)d - offsetof(struct restart, free_later)));
}

/* Ends r. From a loop callback its memory goes later: another event of
 * this batch may still name its pid_io or ready_io (loop.c). */
static void restart_end(struct restart *r, bool from_loop)
{
	struct server *s = r->s;

	if (r->pidfd >= 0) {
		loop_io_del(s->loop, &r->pid_io);
		safe_close(r->pidfd);
	}
	if (r->ready_fd >= 0) {
		loop_io_del(s->loop, &r->ready_io);
		safe_close(r->ready_fd);
	}
	loop_timer_disarm(s->loop, &r->timer);
	if (r->call) {
		r->call->park = NULL;
		r->call->cancel = NULL;
	}
	s->restart = NULL;
	if (from_loop) {
		r->free_later.cb = restart_free_deferred;
		loop_defer(s->loop, &r->free_later);
	} else {
		free(r);
	}
}

static void restart_failed(struct restart *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void restart_failed(struct restart *r, int err, const char *fmt, ...)
{
	struct server *s = r->s;
	struct call *call = r->call;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* The child is dead or killed now: the wait is for a zombie's status. */
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
		;
	log_err("restart failed: %s; this daemon (pid %d) goes on", why, (int)getpid());
	sd_notifyf("STATUS=Restart failed: %s; listening on %s", why, s->listen_path ? s->listen_path : "?");
	restart_end(r, true);
	pause_serving(s, false);
	if (call)
		call_finish(call, call_error_os(call, err, "restart failed, this daemon goes on: %s", why));
}

/* MAINPID= must reach systemd, or it would take the old process's exit for
 * the service's: a full notify queue is waited out, boundedly. */
static void notify_main_pid(pid_t pid)
{
	char msg[128];
	uint64_t deadline = loop_now() + RESTART_NOTIFY_MS * 1000000ull;
	int r;

	snprintf(msg, sizeof(msg), "MAINPID=%d\nSTATUS=Restarted as pid %d", (int)pid, (int)pid);
	while ((r = sd_notify_send(msg)) == -EAGAIN && loop_now() < deadline)
		poll(NULL, 0, 5);
	if (r < 0)
		log_err("restart: cannot tell systemd MAINPID=%d: %s", (int)pid, strerror(-r));
}

static void restart_succeeded(struct restart *r)
{
	struct server *s = r->s;
	struct call *call = r->call;
	double secs = (double)(loop_now() - r->started) / 1e9;
	pid_t pid = r->pid;

	log_notice("restart: pid %d serves now, with %zu held and %zu declared sockets (%.3f s); pid %d exits", (int)pid,
	           r->nheld, r->ndecl, secs, (int)getpid());
	/* Systemd follows the new process from here. Only then does the new
	 * one speak to it (NotifyAccess=main drops what comes before): the
	 * 'A' it waits for. */
	fdstore_flush(s->fdstore, RESTART_NOTIFY_MS);
	notify_main_pid(pid);
	if (send(r->ready_fd, "A", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		log_warning("restart: cannot tell pid %d it is the main process now: %s", (int)pid, strerror(errno));
	if (call) {
		json_object *res = call_result(call);

		json_object_object_add(res, "pid", json_object_new_int64(pid));
		json_object_object_add(res, "previous_pid", json_object_new_int64(getpid()));
		json_object_object_add(res, "held", json_object_new_uint64(r->nheld));
		json_object_object_add(res, "declared", json_object_new_uint64(r->ndecl));
		json_object_object_add(res, "seconds", json_object_new_double(secs));
	}
	restart_end(r, true);
	server_forget_paths(s);
	s->handed_over = true;
	s->stopping = true;
	loop_quit(s->loop);
	if (call)
		call_finish(call, 0);
}

static void on_ready(struct loop_io *io, uint32_t revents)
{
	struct restart *r = (struct restart *)((char *)io - offsetof(struct restart, ready_io));
	ssize_t n;

	(void)revents;
	n = read(r->ready_fd, r->msg + r->nmsg, sizeof(r->msg) - r->nmsg);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		r->nmsg += (size_t)n;
	if (r->nmsg >= 1 && r->msg[0] == 'R') {
		restart_succeeded(r);
		return;
	}
	if (r->nmsg >= 1 + sizeof(int) && r->msg[0] == 'E') {
		int e;
		memcpy(&e, r->msg + 1, sizeof(e));
		restart_failed(r, -e, "cannot execute %s: %s", r->s->exe_path, strerror(e));
		return;
	}
	if (n <= 0) {
		/* Closed without a word: the pid descriptor says how it ended. */
		loop_io_del(r->s->loop, &r->ready_io);
		r->ready_fd = safe_close(r->ready_fd);
	}
}

static void on_child_gone(struct loop_io *io, uint32_t revents)
{
	struct restart *r = (struct restart *)((char *)io - offsetof(struct restart, pid_io));
	siginfo_t si = { 0 };

	(void)revents;
	/* A last 'R' it wrote before it went counts: it was ready. */
	if (r->ready_fd >= 0) {
		on_ready(&r->ready_io, EPOLLIN);
		if (r->s->restart != r)
			return;
	}
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
		return;
	if (si.si_code == CLD_EXITED)
		restart_failed(r, -ECHILD, "the new daemon (pid %d, %s) exited with status %d before it was ready",
		               (int)r->pid, r->s->exe_path, si.si_status);
	else
		restart_failed(r, -ECHILD, "the new daemon (pid %d, %s) was killed by signal %d before it was ready",
		               (int)r->pid, r->s->exe_path, si.si_status);
}

static void on_timeout(struct loop_timer *t)
{
	struct restart *r = (struct restart *)((char *)t - offsetof(struct restart, timer));

	restart_failed(r, -ETIMEDOUT, "the new daemon (pid %d) was not ready within %u s (--restart-timeout); killed",
	               (int)r->pid, r->s->cfg.restart_timeout_s);
}

static void restart_call_cancel(struct call *call)
{
	struct restart *r = call->park;

	/* The caller left: the restart goes on, and only the log hears of it. */
	call->park = NULL;
	if (r)
		r->call = NULL;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static _Noreturn void exec_child(const char *exe, char **argv, char **env, const int *fds, size_t n, int ready_fd)
{
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < n; i++)
		fcntl(fds[i], F_SETFD, 0);
	execve(exe, argv, env);
	e = errno;
	{
		char msg[1 + sizeof(int)];
		msg[0] = 'E';
		memcpy(msg + 1, &e, sizeof(e));
		if (write(ready_fd, msg, sizeof(msg)) < 0)
			_exit(127);
	}
	_exit(127);
}

int restart_begin(struct server *s, struct call *call)
{
	_cleanup_json_ json_object *state = NULL;
	struct handover ho = { 0 };
	struct restart *r;
	_cleanup_close_ int state_fd = -1;
	int pipefd[2] = { -1, -1 };
	char **env = NULL;
	pid_t pid;
	int e;

	if (s->restart)
		return -EBUSY;
	if (s->stopping || s->listen_fd < 0)
		return -ESHUTDOWN;
	if (!s->exe_path || !s->argv)
		return -ENOEXEC;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct restart){ .s = s, .pidfd = -1, .ready_fd = -1, .started = loop_now() };
	state = fdstate_describe(s);
	e = state ? collect(s, r, &ho, state) : -ENOMEM;
	if (e == 0)
		e = state_fd = fdstate_memfd(state);
	/* A socket pair, not a pipe: the old process answers 'R' (below). */
	if (e >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipefd) < 0)
		e = -errno;
	if (e >= 0 && !(env = make_env(state_fd, pipefd[1])))
		e = -ENOMEM;
	if (e >= 0)
		e = handover_add(&ho, state_fd, FDNAME_STATE, NULL);
	if (e >= 0)
		e = handover_add(&ho, pipefd[1], "ready", NULL);
	if (e < 0)
		goto fail;
	log_notice("restart: running %s with %zu held and %zu declared sockets handed over", s->exe_path, r->nheld,
	           r->ndecl);
	pause_serving(s, true);
	pid = fork();
	if (pid == 0)
		exec_child(s->exe_path, s->argv, env, ho.v, ho.n, pipefd[1]);
	if (pid < 0) {
		e = -errno;
		pause_serving(s, false);
		goto fail;
	}
	r->pid = pid;
	safe_close(pipefd[1]);
	pipefd[1] = -1;
	r->ready_fd = TAKE_FD(pipefd[0]);
	fcntl(r->ready_fd, F_SETFL, O_NONBLOCK);
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	r->timer.cb = on_timeout;
	s->restart = r;
	if (loop_io_add(s->loop, &r->ready_io, r->ready_fd, EPOLLIN, on_ready) < 0 ||
	    (r->pidfd >= 0 && loop_io_add(s->loop, &r->pid_io, r->pidfd, EPOLLIN, on_child_gone) < 0) ||
	    loop_timer_arm(s->loop, &r->timer, loop_now() + (uint64_t)s->cfg.restart_timeout_s * 1000000000ull) < 0) {
		if (r->pidfd >= 0 && r->pid_io.fd != r->pidfd)
			r->pidfd = safe_close(r->pidfd);
		restart_failed(r, -ENOMEM, "out of memory while waiting for pid %d", (int)pid);
		free_env(env);
		free(ho.v);
		return -ENOMEM;
	}
	free_env(env);
	free(ho.v);
	if (!call)
		return 0;
	r->call = call;
	call->park = r;
	call->cancel = restart_call_cancel;
	return CALL_PENDING;
fail:
	safe_close(pipefd[0]);
	safe_close(pipefd[1]);
	free_env(env);
	free(ho.v);
	free(r);
	return e;
}

void restart_cancel(struct server *s)
{
	struct restart *r = s->restart;

	if (!r)
		return;
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
		;
	log_notice("restart: the new daemon (pid %d) was stopped with this one", (int)r->pid);
	restart_end(r, false);
}

int server_set_command(struct server *s, char **argv)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	const char *del = " (deleted)";

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* Replaced since it started (an upgrade): the path is where the new one is. */
	if ((size_t)n > strlen(del) && !strcmp(buf + n - strlen(del), del))
		buf[n - strlen(del)] = '\0';
	s->exe_path = strdup(buf);
	s->argv = argv;
	return s->exe_path ? 0 : -ENOMEM;
}

/* ---- the new process ---- */

static int env_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v)
		return -ENOENT;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < 3 || n > INT32_MAX || fcntl((int)n, F_GETFD) < 0)
		return -EBADF;
	return (int)n;
}

int restart_take(struct server *s, struct fdstate_fd **v, size_t *n, json_object **state)
{
	int sfd = env_fd(RESTART_ENV_FD), rfd = env_fd(RESTART_ENV_READY);
	json_object *fds;
	size_t len;
	int e;

	*state = NULL;
	unsetenv(RESTART_ENV_FD);
	unsetenv(RESTART_ENV_READY);
	if (sfd == -ENOENT && rfd == -ENOENT)
		return 0;
	if (sfd < 0 || rfd < 0) {
		log_err("restart: %s and %s do not both name an open descriptor", RESTART_ENV_FD, RESTART_ENV_READY);
		return -EBADF;
	}
	fcntl(rfd, F_SETFD, FD_CLOEXEC);
	s->restart_ready_fd = rfd;
	e = fdstate_read(sfd, state);
	safe_close(sfd);
	if (e < 0) {
		log_err("restart: the state handed over cannot be read: %s", strerror(-e));
		return e;
	}
	if (!json_object_object_get_ex(*state, "fds", &fds) || !json_object_is_type(fds, json_type_array)) {
		log_err("restart: the state handed over lists no descriptors");
		return -EINVAL;
	}
	len = json_object_array_length(fds);
	if (len > RESTART_MAX_FDS)
		return -E2BIG;
	{
		struct fdstate_fd *nv = realloc(*v, (*n + len + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
	}
	for (size_t i = 0; i < len; i++) {
		json_object *ent = json_object_array_get_idx(fds, i), *jfd, *jname, *jst;
		const char *name;
		int fd;

		if (!json_object_object_get_ex(ent, "fd", &jfd) || !json_object_object_get_ex(ent, "name", &jname) ||
		    !(name = json_object_get_string(jname)))
			continue;
		fd = json_object_get_int(jfd);
		/* The state and the ready pipe are ours already; an fd not open is
		 * a state that lies. */
		if (fd == sfd || fd == rfd || !strcmp(name, FDNAME_STATE) || !strcmp(name, "ready"))
			continue;
		if (fd < 3 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			log_warning("restart: descriptor %d (%s) was not handed over; skipped", fd, name);
			continue;
		}
		/* In systemd's store already when the old process put it there
		 * (no "stored": an old process that did not say, as before). */
		if (strlen(name) <= FDNAME_MAX && (!json_object_object_get_ex(ent, "stored", &jst) ||
		                                   json_object_get_boolean(jst)))
			fdstore_handed_add(s->fdstore, name);
		(*v)[*n] = (struct fdstate_fd){ .fd = fd, .name = strdup(name), .info = ent };
		if (!(*v)[*n].name) {
			safe_close(fd);
			return -ENOMEM;
		}
		(*n)++;
	}
	s->restarted = true;
	return 0;
}

void restart_signal_ready(struct server *s)
{
	struct pollfd p = { .fd = s->restart_ready_fd, .events = POLLIN };
	char ack;

	if (s->restart_ready_fd < 0)
		return;
	/* The UNIX paths are ours from here: the old process leaves them. */
	s->own_socket = s->restart_own_socket;
	if (write(s->restart_ready_fd, "R", 1) != 1)
		log_warning("restart: cannot tell the old daemon we serve: %s", strerror(errno));
	/* Before the loop runs: wait (boundedly) until the old process told
	 * systemd MAINPID= us, so that our READY=1 and STATUS= are not dropped
	 * as a stranger's. Its exit (EOF) or silence ends the wait too. */
	if (poll(&p, 1, RESTART_ACK_MS) == 1 && read(s->restart_ready_fd, &ack, 1) == 1 && ack == 'A')
		log_debug("restart: the old daemon handed over the main pid");
	s->restart_ready_fd = safe_close(s->restart_ready_fd);
}

void restart_abandon(struct server *s)
{
	if (s->restart_ready_fd < 0)
		return;
	server_forget_paths(s);
	s->restart_ready_fd = safe_close(s->restart_ready_fd);
}

void server_forget_paths(struct server *s)
{
	s->own_socket = false;
	declared_table_forget_paths(&s->declared);
	http_forget_paths(s->http);
}
