#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"
#include "log.h"

#define LIMIT(opt, info, field, lo, hi, text) \
	{ opt, info, offsetof(struct sbd_config, field), \
	  (int)sizeof(((struct sbd_config *)0)->field), lo, hi, text, \
	  strstr(opt, "bytes") ? "BYTES" : strstr(opt, "timeout") || strstr(opt, "delay") ? "SECONDS" : "N" }

const struct sbd_limit_desc sbd_limits[] = {
	LIMIT("max-connections", "connections", max_connections, 1, 1000000,
	      "client connections in total"),
	LIMIT("admin-reserve", "admin_reserve", admin_reserve, 0, 1000000,
	      "of those, kept for root, the daemon's user and policy admins (at most half)"),
	LIMIT("max-connections-per-uid", "connections_per_uid", max_connections_per_uid, 1, 1000000,
	      "client connections of one user"),
	LIMIT("max-message-bytes", "message_bytes", max_message_bytes, 256, 256u << 20,
	      "longest request line, in bytes"),
	LIMIT("max-fds", "fds_per_message", max_fds, 1, 253,
	      "descriptors in one message"),
	LIMIT("max-pending", "pending", max_pending, 1, 65536,
	      "requests in flight on one connection"),
	LIMIT("max-batch", "batch", max_batch, 1, 65536,
	      "requests in one batch"),
	LIMIT("max-queued-bytes", "queued_bytes", max_queued_bytes, 4096, 1ull << 32,
	      "reply bytes queued toward one client before it is disconnected"),
	LIMIT("idle-timeout", "idle_timeout", idle_timeout_s, 0, 86400 * 365,
	      "seconds a connection may stay idle (0: forever)"),
	LIMIT("max-ping-delay", "ping_delay", max_ping_delay_s, 0, 86400,
	      "longest delay daemon.ping accepts, in seconds"),
	LIMIT("max-handles", "handles", max_handles, 1, 1000000,
	      "daemon-owned sockets of one connection"),
	LIMIT("max-held", "held", max_held, 1, 1000000,
	      "sockets held by name (hold.put), daemon-wide"),
	LIMIT("max-recv-bytes", "recv_bytes", max_recv_bytes, 1, 16u << 20,
	      "largest bufsize of recv, recvfrom and recvmsg (larger ones are capped)"),
	LIMIT("resolver-threads", "resolver_threads", resolver_threads, 1, 64,
	      "worker threads for name look-ups"),
	LIMIT("max-resolver-queue", "resolver_queue", max_resolver_queue, 1, 100000,
	      "name look-ups waiting or running, in total"),
	LIMIT("max-resolver-share", "resolver_share", max_resolver_share, 0, 100000,
	      "name look-ups one user may have waiting or running (0: a quarter of the queue)"),
	LIMIT("http-max-connections", "http_connections", http_max_connections, 1, 100000,
	      "HTTP connections of one --http listener"),
	LIMIT("http-max-connections-per-ip", "http_connections_per_ip", http_max_connections_per_ip, 1, 100000,
	      "HTTP connections from one IP address (tcp: listeners)"),
	LIMIT("http-max-header-bytes", "http_header_bytes", http_max_header_bytes, 2048, 1u << 20,
	      "memory of one HTTP connection, which holds the request line and headers"),
	LIMIT("http-max-body-bytes", "http_body_bytes", http_max_body_bytes, 0, 64u << 20,
	      "longest HTTP request body (POST /rpc, /v1/policy/check)"),
	LIMIT("http-idle-timeout", "http_idle_timeout", http_idle_timeout_s, 1, 86400,
	      "seconds an HTTP connection may stay idle or stalled"),
	LIMIT("http-max-stream-bytes", "http_stream_bytes", http_max_stream_bytes, 4096, 64u << 20,
	      "audit stream bytes queued toward one HTTP client before its stream is ended"),
	LIMIT("http-max-cpu-percent", "http_cpu_percent", http_max_cpu_percent, 1, 100,
	      "share of the event loop's time the HTTP face may take, so that the control socket comes "
	      "first (100: no bound)"),
	LIMIT("restart-timeout", "restart_timeout", restart_timeout_s, 1, 3600,
	      "seconds a restarted daemon has to be ready before the old one kills it and goes on"),
	LIMIT("audit-ring", "audit_ring", audit_ring, 0, 100000,
	      "audit records kept in memory for admin.audit (0: none)"),
};
const size_t sbd_limits_n = sizeof(sbd_limits) / sizeof(sbd_limits[0]);

unsigned long long sbd_limit_get(const struct sbd_config *c, const struct sbd_limit_desc *d)
{
	const char *p = (const char *)c + d->offset;

	if (d->size == sizeof(size_t) && sizeof(size_t) != sizeof(unsigned))
		return *(const size_t *)p;
	return *(const unsigned *)p;
}

static void limit_set(struct sbd_config *c, const struct sbd_limit_desc *d, unsigned long long v)
{
	char *p = (char *)c + d->offset;

	if (d->size == sizeof(size_t) && sizeof(size_t) != sizeof(unsigned))
		*(size_t *)p = (size_t)v;
	else
		*(unsigned *)p = (unsigned)v;
}

void config_defaults(struct sbd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->socket_mode = 0666;
	c->log_level = LOG_INFO;
	c->max_connections = 4096;
	c->admin_reserve = 4;
	c->max_connections_per_uid = 256;
	c->max_message_bytes = 1 << 20;
	c->max_fds = 16;
	c->max_pending = 64;
	c->max_batch = 128;
	c->max_queued_bytes = 4 << 20;
	c->idle_timeout_s = 600;
	c->max_ping_delay_s = 60;
	c->max_handles = 1024;
	c->max_held = 100000;
	c->max_recv_bytes = 1 << 20;
	c->resolver_threads = 4;
	c->max_resolver_queue = 256;
	c->max_resolver_share = 0;
	c->http_max_connections = 256;
	c->http_max_connections_per_ip = 64;
	c->http_max_header_bytes = 32768;
	c->http_max_body_bytes = 1 << 20;
	c->http_idle_timeout_s = 30;
	c->restart_timeout_s = 10;
	c->http_max_stream_bytes = 256 << 10;
	c->http_max_cpu_percent = 25;
	c->audit_ring = 1000;
}

void config_free(struct sbd_config *c)
{
	free(c->socket_path);
	free(c->policy_path);
	free(c->audit_log_path);
	free(c->http_token_file);
	free(c->sockets_path);
	c->sockets_path = NULL;
	c->socket_path = c->policy_path = c->audit_log_path = c->http_token_file = NULL;
	for (size_t i = 0; i < c->n_http; i++)
		free(c->http_specs[i]);
	c->n_http = 0;
}

/* Prints one option of the help: "  --name=ARG" padded to the description
 * column, then the description wrapped to 79 columns, continuation lines
 * starting in that column too. */
static void usage_option(FILE *f, const char *name, const char *arg, const char *text)
{
	enum { DESC_COL = 32, WIDTH = 79 };
	char head[64];
	int col;

	snprintf(head, sizeof(head), "  --%s%s%s", name, arg ? "=" : "", arg ? arg : "");
	col = fprintf(f, "%s", head);
	if (col > DESC_COL - 2) {
		fputc('\n', f);
		col = 0;
	}
	fprintf(f, "%*s", DESC_COL - col, "");
	col = DESC_COL;
	while (*text) {
		size_t n = strcspn(text, " ");

		if (col > DESC_COL && col + 1 + (int)n > WIDTH) {
			fprintf(f, "\n%*s", DESC_COL, "");
			col = DESC_COL;
		} else if (col > DESC_COL) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)n, text);
		col += (int)n;
		text += n;
		while (*text == ' ')
			text++;
	}
	fputc('\n', f);
}

static void usage(FILE *f)
{
	struct sbd_config d;
	char text[300];

	config_defaults(&d);
	fprintf(f,
	        "Usage: sockbrokerd [OPTION]...\n"
	        "Own sockets and lend them to local clients over JSON-RPC 2.0.\n\n");
	snprintf(text, sizeof(text), "control socket (default %s as root, "
	         "$XDG_RUNTIME_DIR/sockbroker/control.sock otherwise)", SBD_DEFAULT_SOCKET);
	usage_option(f, "socket", "PATH", text);
	usage_option(f, "socket-mode", "MODE", "octal mode of the control socket (default 0666)");
	usage_option(f, "policy", "PATH", "policy file or directory (default /etc/sockbroker/policy.json "
	             "and /etc/sockbroker/policy.d/*.json)");
	usage_option(f, "sockets", "PATH", "declared sockets: a file or a directory of *.json (default "
	             "/etc/sockbroker/sockets.d, unless --policy is given)");
	usage_option(f, "check-policy", NULL, "load the policy (and the token file and declared sockets), "
	             "print what it holds or what is wrong, exit (also --check-config)");
	usage_option(f, "http-token-file", "PATH", "bearer tokens of HTTP callers, each standing for a user "
	             "(JSON, mode 0600)");
	usage_option(f, "audit-log", "FILE", "also append every policy decision to FILE as a JSON line");
	usage_option(f, "audit-failure", "WHAT", "when a record cannot be written to the audit log: refuse "
	             "the request (default) or allow it");
	usage_option(f, "http", "unix:PATH|tcp:ADDR:PORT", "serve the HTTP face (REST inspection, "
	             "metrics, the web view, JSON-RPC over HTTP) there; up to 4 times (default: off)");
	usage_option(f, "http-anonymous", "WHAT", "what a tcp: caller without a token may see: basic "
	             "(/healthz, /metrics, /v1/info; the default) or none");
	usage_option(f, "fdstore", "WHAT", "under systemd, keep every held and declared socket in its "
	             "descriptor store too, so that a crash or a restart loses none: auto (the default: when "
	             "NOTIFY_SOCKET is set) or no");
	usage_option(f, "log-level", "LEVEL", "err, warning, notice, info (default), debug, or 0-7");
	fprintf(f, "\nLimits:\n");
	for (size_t i = 0; i < sbd_limits_n; i++) {
		snprintf(text, sizeof(text), "%s (default %llu)", sbd_limits[i].help, sbd_limit_get(&d, &sbd_limits[i]));
		usage_option(f, sbd_limits[i].option, sbd_limits[i].arg, text);
	}
	fputc('\n', f);
	usage_option(f, "version", NULL, "print the version and exit (also -V)");
	usage_option(f, "help", NULL, "print this help and exit (also -h)");
	fprintf(f, "\nExit status: 0 after a clean stop, 1 when it cannot start, 2 on a usage error.\n");
}

static int parse_ull(const char *s, unsigned long long *v)
{
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static char *default_socket_path(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *p;

	if (geteuid() == 0 || !rt || rt[0] != '/')
		return strdup(SBD_DEFAULT_SOCKET);
	if (asprintf(&p, "%s/sockbroker/control.sock", rt) < 0)
		return NULL;
	return p;
}

enum { OPT_SOCKET = 1000, OPT_MODE, OPT_POLICY, OPT_CHECK_POLICY, OPT_AUDIT_LOG, OPT_AUDIT_FAILURE, OPT_LOGLEVEL,
       OPT_VERSION, OPT_HELP, OPT_HTTP, OPT_HTTP_ANONYMOUS, OPT_HTTP_TOKEN_FILE, OPT_SOCKETS, OPT_FDSTORE,
       OPT_LIMIT0 };

int config_parse_args(struct sbd_config *c, int argc, char **argv)
{
	struct option opts[64];
	size_t n = 0;
	int o;

	opts[n++] = (struct option){ "socket", required_argument, NULL, OPT_SOCKET };
	opts[n++] = (struct option){ "socket-mode", required_argument, NULL, OPT_MODE };
	opts[n++] = (struct option){ "policy", required_argument, NULL, OPT_POLICY };
	opts[n++] = (struct option){ "check-policy", no_argument, NULL, OPT_CHECK_POLICY };
	opts[n++] = (struct option){ "check-config", no_argument, NULL, OPT_CHECK_POLICY };
	opts[n++] = (struct option){ "sockets", required_argument, NULL, OPT_SOCKETS };
	opts[n++] = (struct option){ "audit-log", required_argument, NULL, OPT_AUDIT_LOG };
	opts[n++] = (struct option){ "audit-failure", required_argument, NULL, OPT_AUDIT_FAILURE };
	opts[n++] = (struct option){ "log-level", required_argument, NULL, OPT_LOGLEVEL };
	opts[n++] = (struct option){ "http", required_argument, NULL, OPT_HTTP };
	opts[n++] = (struct option){ "http-anonymous", required_argument, NULL, OPT_HTTP_ANONYMOUS };
	opts[n++] = (struct option){ "http-token-file", required_argument, NULL, OPT_HTTP_TOKEN_FILE };
	opts[n++] = (struct option){ "fdstore", required_argument, NULL, OPT_FDSTORE };
	opts[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	opts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	for (size_t i = 0; i < sbd_limits_n; i++)
		opts[n++] = (struct option){ sbd_limits[i].option, required_argument, NULL, OPT_LIMIT0 + (int)i };
	opts[n] = (struct option){ 0 };

	optind = 1;
	while ((o = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		unsigned long long v;
		char *end;

		switch (o) {
		case OPT_SOCKET:
			if (!optarg[0] || strlen(optarg) >= 108) {
				fprintf(stderr, "sockbrokerd: --socket: path must be 1-107 bytes\n");
				return -EINVAL;
			}
			free(c->socket_path);
			c->socket_path = strdup(optarg);
			if (!c->socket_path)
				return -ENOMEM;
			c->socket_given = true;
			break;
		case OPT_MODE:
			errno = 0;
			v = strtoull(optarg, &end, 8);
			/* Permission bits only: set-id and sticky bits mean nothing on a socket. */
			if (errno || *end || !optarg[0] || v > 0777) {
				fprintf(stderr, "sockbrokerd: --socket-mode: '%s' is not an octal mode of at most 0777\n", optarg);
				return -EINVAL;
			}
			c->socket_mode = (mode_t)v;
			break;
		case OPT_POLICY:
			free(c->policy_path);
			c->policy_path = strdup(optarg);
			if (!c->policy_path)
				return -ENOMEM;
			break;
		case OPT_SOCKETS:
			if (!optarg[0]) {
				fprintf(stderr, "sockbrokerd: --sockets: empty path\n");
				return -EINVAL;
			}
			free(c->sockets_path);
			c->sockets_path = strdup(optarg);
			if (!c->sockets_path)
				return -ENOMEM;
			break;
		case OPT_CHECK_POLICY:
			c->check_policy = true;
			break;
		case OPT_AUDIT_LOG:
			if (!optarg[0]) {
				fprintf(stderr, "sockbrokerd: --audit-log: empty path\n");
				return -EINVAL;
			}
			free(c->audit_log_path);
			c->audit_log_path = strdup(optarg);
			if (!c->audit_log_path)
				return -ENOMEM;
			break;
		case OPT_HTTP_TOKEN_FILE:
			if (!optarg[0]) {
				fprintf(stderr, "sockbrokerd: --http-token-file: empty path\n");
				return -EINVAL;
			}
			free(c->http_token_file);
			c->http_token_file = strdup(optarg);
			if (!c->http_token_file)
				return -ENOMEM;
			break;
		case OPT_AUDIT_FAILURE:
			if (strcmp(optarg, "refuse") == 0) {
				c->audit_failure_allow = false;
			} else if (strcmp(optarg, "allow") == 0) {
				c->audit_failure_allow = true;
			} else {
				fprintf(stderr, "sockbrokerd: --audit-failure: '%s' is neither refuse nor allow\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_HTTP:
			/* The form is checked here; the address when the listener is made. */
			if ((strncmp(optarg, "unix:", 5) != 0 || !optarg[5] || strlen(optarg + 5) >= 108) &&
			    (strncmp(optarg, "tcp:", 4) != 0 || !strrchr(optarg + 4, ':'))) {
				fprintf(stderr, "sockbrokerd: --http: '%s' is neither unix:PATH (1-107 bytes) nor "
				        "tcp:ADDR:PORT\n", optarg);
				return -EINVAL;
			}
			if (c->n_http == SBD_HTTP_MAX_LISTENERS) {
				fprintf(stderr, "sockbrokerd: --http: at most %d listeners\n", SBD_HTTP_MAX_LISTENERS);
				return -EINVAL;
			}
			c->http_specs[c->n_http] = strdup(optarg);
			if (!c->http_specs[c->n_http])
				return -ENOMEM;
			c->n_http++;
			break;
		case OPT_HTTP_ANONYMOUS:
			if (strcmp(optarg, "basic") == 0) {
				c->http_anonymous_none = false;
			} else if (strcmp(optarg, "none") == 0) {
				c->http_anonymous_none = true;
			} else {
				fprintf(stderr, "sockbrokerd: --http-anonymous: '%s' is neither basic nor none\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_FDSTORE:
			if (strcmp(optarg, "auto") == 0) {
				c->fdstore_off = false;
			} else if (strcmp(optarg, "no") == 0) {
				c->fdstore_off = true;
			} else {
				fprintf(stderr, "sockbrokerd: --fdstore: '%s' is neither auto nor no\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_LOGLEVEL: {
			int lvl = log_parse_level(optarg);
			if (lvl < 0) {
				fprintf(stderr, "sockbrokerd: --log-level: unknown level '%s'\n", optarg);
				return -EINVAL;
			}
			c->log_level = lvl;
			break;
		}
		case 'V':
		case OPT_VERSION:
			printf("sockbrokerd %s (protocol 1)\n", PACKAGE_VERSION);
			return 1;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			if (o >= OPT_LIMIT0 && o < OPT_LIMIT0 + (int)sbd_limits_n) {
				const struct sbd_limit_desc *d = &sbd_limits[o - OPT_LIMIT0];
				if (parse_ull(optarg, &v) < 0 || v < d->min || v > d->max) {
					fprintf(stderr, "sockbrokerd: --%s: '%s' is not a number in %llu-%llu\n",
					        d->option, optarg, d->min, d->max);
					return -EINVAL;
				}
				limit_set(c, d, v);
				break;
			}
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sockbrokerd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!c->socket_path) {
		c->socket_path = default_socket_path();
		if (!c->socket_path)
			return -ENOMEM;
	}
	return 0;
}
