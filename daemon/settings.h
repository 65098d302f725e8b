/* sockbrokerd's settings: embedded defaults, overridden by the command line. */
#ifndef SBD_SETTINGS_H
#define SBD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SBD_DEFAULT_SOCKET "/run/sockbroker/control.sock"
#define SBD_HTTP_MAX_LISTENERS 4    /* --http given this many times at most */

struct sbd_config {
	char *socket_path;          /* malloc'd */
	bool socket_given;          /* --socket on the command line */
	mode_t socket_mode;
	char *policy_path;          /* NULL: /etc/sockbroker/policy.json and policy.d */
	char *audit_log_path;       /* --audit-log: JSON lines; NULL: none */
	bool audit_failure_allow;   /* --audit-failure=allow: run governed requests whose record cannot be written */
	bool check_policy;          /* --check-policy: validate, print, exit */
	char *http_token_file;      /* --http-token-file: bearer tokens of the HTTP face; NULL: none */
	char *sockets_path;         /* --sockets: declared sockets (file or directory); NULL: sockets.d */
	bool fdstore_off;           /* --fdstore=no: nothing to systemd's descriptor store (fdstore.h) */
	int log_level;
	unsigned max_connections;
	unsigned admin_reserve;     /* of max_connections, kept for administrators (at most half) */
	unsigned max_connections_per_uid;
	size_t max_message_bytes;
	unsigned max_fds;           /* descriptors per message */
	unsigned max_pending;       /* requests in flight per connection */
	unsigned max_batch;         /* elements in one batch */
	size_t max_queued_bytes;    /* replies queued toward one client */
	unsigned idle_timeout_s;    /* 0: never */
	unsigned max_ping_delay_s;  /* daemon.ping's delay bound */
	unsigned max_handles;       /* daemon-owned sockets per connection */
	unsigned max_held;          /* held sockets (hold.h), daemon-wide */
	size_t max_recv_bytes;      /* the cap on bufsize of recv* */
	unsigned resolver_threads;  /* workers for name look-ups */
	unsigned max_resolver_queue; /* look-ups waiting or running, in total */
	unsigned audit_ring;        /* audit records kept in memory (admin.audit); 0: none */
	unsigned max_resolver_share; /* look-ups one uid may have waiting or running; 0: a quarter
	                              * of max_resolver_queue (at least 1) */
	/* The HTTP face (http.c): off unless --http is given. */
	char *http_specs[SBD_HTTP_MAX_LISTENERS];  /* "unix:PATH" or "tcp:ADDR:PORT", malloc'd */
	size_t n_http;
	bool http_anonymous_none;   /* --http-anonymous=none: a TCP caller without a token sees nothing */
	unsigned http_max_connections;
	unsigned http_max_connections_per_ip;
	size_t http_max_header_bytes;
	size_t http_max_body_bytes;
	unsigned http_idle_timeout_s;
	unsigned restart_timeout_s;     /* daemon.restart: the new process's time to be ready */
	size_t http_max_stream_bytes;   /* queued toward one audit stream before it is dropped */
	unsigned http_max_cpu_percent;  /* of the loop's time MHD may take (100: no bound) */
};

/* The limits as daemon.info shows them: one table so that the option parser,
 * --help, daemon.info and the docs cannot disagree. */
struct sbd_limit_desc {
	const char *option;     /* command-line option without "--" */
	const char *info_name;  /* key in daemon.info's limits */
	size_t offset;          /* into struct sbd_config */
	int size;               /* sizeof the field: 4 (unsigned) or 8 (size_t) */
	unsigned long long min, max;
	const char *help;
	const char *arg;        /* the value's placeholder in --help: N, BYTES, SECONDS */
};
extern const struct sbd_limit_desc sbd_limits[];
extern const size_t sbd_limits_n;
unsigned long long sbd_limit_get(const struct sbd_config *c, const struct sbd_limit_desc *d);

void config_defaults(struct sbd_config *c);
void config_free(struct sbd_config *c);
/* Parses argv. Returns 0 to run, 1 when --help/--version was printed (exit 0),
 * -EINVAL after printing a usage error (exit 2), -ENOMEM. */
int config_parse_args(struct sbd_config *c, int argc, char **argv);

#endif
