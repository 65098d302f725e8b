/* The daemon as a whole: the control socket, the accept path with its limits,
 * signals, the connection list, counters, and a clean stop. */
#ifndef SBD_SERVER_H
#define SBD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <json-c/json.h>

#include "authz.h"
#include "http.h"
#include "conn.h"
#include "declared.h"
#include "hold.h"
#include "loop.h"
#include "settings.h"
#include "sock.h"

struct fdstore;
struct jrpc_parser;
struct metrics;
struct resolver;


struct uid_count {
	uid_t uid;
	unsigned n;
};

struct server_stats {
	uint64_t connections_accepted;
	uint64_t connections_refused;   /* over a connection limit or credentials unreadable */
	uint64_t requests;
	uint64_t errors;
	uint64_t slow_disconnects;      /* queued bytes past max_queued_bytes */
	uint64_t oversize_messages;
	uint64_t accept_pauses;         /* EMFILE/ENFILE at accept */
};

struct server {
	struct loop *loop;
	struct sbd_config cfg;
	int listen_fd;
	bool own_socket;                /* we bound it and remove it on exit */
	dev_t sock_dev;
	ino_t sock_ino;
	char *listen_path;              /* what we listen on, for logs and info */
	struct loop_io listen_io;
	bool accept_paused;
	struct loop_timer accept_timer;
	int spare_fd;                   /* reserve descriptor (see read_pidfd) */
	int sig_fd;
	struct loop_io sig_io;
	struct conn *conns;
	unsigned nconns;
	struct uid_count *uids;
	size_t nuids, capuids;
	uint64_t start_mono;
	uid_t self_uid;
	json_object *families;          /* probed at start: names of families the kernel has */
	json_object *info_limits;       /* daemon.info's limits, built once */
	pid_t pid;
	struct jrpc_parser *parser;     /* the loop's one parser, reused for every message */
	struct resolver *resolver;      /* worker threads for blocking look-ups */
	bool has_ipv6;
	bool stopping;
	struct server_stats stats;
	/* What every connection is lent: the loop, limits, counters, services,
	 * and ops that hand its messages to on_message (main.c: dispatch). */
	struct conn_env conn_env;
	struct conn_ops conn_ops;
	void (*on_message)(struct conn *c, struct frame_msg *msg);
	struct authz authz;             /* the policy and its audit (authz.c) */
	struct sock_table socks;         /* daemon-owned sockets by handle (sock.c) */
	struct hold_table holds;        /* held sockets by name, no connection's (hold.c) */
	struct http_fd http_fds[SBD_HTTP_MAX_LISTENERS];   /* activated or handed over for the HTTP face,
	                                                    * until http_start takes them */
	size_t n_http_fds;
	struct http_server *http;       /* the HTTP face (http.c); NULL when off */
	struct metrics *metrics;        /* what /metrics shows beyond the above (metrics.c) */
	struct declared_table declared; /* the administrator's sockets (declared.c) */
	struct fdstore *fdstore;        /* systemd's descriptor store (fdstore.c); NULL: off */
	/* daemon.restart (restart.c). */
	char *exe_path;                 /* our binary, as it was named at start: a restart runs what is there now */
	char **argv;                    /* main's, for the same command line */
	struct restart *restart;        /* under way; NULL: none */
	bool handed_over;               /* a restart succeeded: the new process owns everything */
	bool restarted;                 /* this process was started by a restart */
	int restart_ready_fd;           /* to tell the old process we serve; -1 once told */
	bool restart_own_socket;        /* the control socket's path becomes ours when ready */
};

/* Sets up everything but the control socket. cfg is taken. Complete
 * messages of every connection go to on_message: the server accepts and
 * keeps connections, and does not read what they say. */
int server_init(struct server *s, struct sbd_config *cfg,
                void (*on_message)(struct conn *c, struct frame_msg *msg));
/* Takes the socket from socket activation, or binds cfg.socket_path. */
int server_listen(struct server *s);
/* Binds and listens on a new AF_UNIX stream socket at path with mode,
 * after checking where it goes (parents made, no directory others may write,
 * a stale socket removed): the control socket's way, for every UNIX socket
 * the daemon serves. *dev, *ino: what server_unlink_unix removes. */
int server_bind_unix(const char *path, mode_t mode, int *out_fd, dev_t *dev, ino_t *ino);
/* Removes path if it is still the socket server_bind_unix made. */
void server_unlink_unix(const char *path, dev_t dev, ino_t ino);

/* Runs until SIGTERM/SIGINT, then stops cleanly. */
int server_run(struct server *s);
void server_free(struct server *s);

/* Loads the declared sockets (--sockets) and makes them: 0, or -errno with
 * err filled when the files are wrong (a socket that cannot be made is
 * logged, not an error). */
int server_declare_sockets(struct server *s, struct policy_error *err);

/* The HTTP face's tokens and the declared sockets read again (http_reload,
 * server_declare_sockets: an error is logged and the old sockets stay), then authz_reload, then
 * every connection's limits follow the new policy and systemd hears the
 * reload is done. 0 or -errno (err says why: the policy's). */
int server_reload_policy(struct server *s, struct policy_error *err);

struct call;
struct resolve_job;
/* Hands job to the daemon's resolver and parks the call on it (call->park is
 * the job, which must be the first member of what its callbacks free); if the
 * client leaves, the job is cancelled. The job is taken either way: on failure
 * its destroy runs and the error (-32012 for a full queue) is returned;
 * otherwise CALL_PENDING. Its done must clear call->park before finishing. */
int call_park_resolve(struct call *call, struct resolve_job *job);

/* Seconds since start. */
double server_uptime(const struct server *s);

#endif
