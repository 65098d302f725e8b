/* sockbrokerd: owns sockets and lends them out over JSON-RPC 2.0. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "dispatch.h"
#include "log.h"
#include "lsan-nudge.h"
#include "restart.h"
#include "server.h"
#include "settings.h"

/* What is still queued for standard error at exit gets this long. */
#define LOG_EXIT_FLUSH_MS 2000

int main(int argc, char **argv)
{
	struct sbd_config cfg;
	struct server srv;
	int r;

	lsan_nudge_at_exit();
	config_defaults(&cfg);
	r = config_parse_args(&cfg, argc, argv);
	if (r != 0) {
		config_free(&cfg);
		return r > 0 ? 0 : 2;
	}
	log_set_level(cfg.log_level);
	if (cfg.check_policy) {
		/* A command that ends at once: its lines are written as they come. */
		r = authz_check_policy_cli(&cfg);
		config_free(&cfg);
		return r;
	}
	r = log_init();
	if (r < 0) {
		fprintf(stderr, "sockbrokerd: %s: %s\n", LOG_ENV_QUEUE_BYTES, strerror(-r));
		config_free(&cfg);
		return 2;
	}
	/* The server keeps connections; dispatch reads what they say. */
	r = server_init(&srv, &cfg, dispatch_message);
	if (r >= 0 && server_set_command(&srv, argv) < 0)
		log_warning("cannot tell where our binary is: daemon.restart will not work");
	if (r >= 0)
		r = server_listen(&srv);
	if (r < 0) {
		log_err("cannot start: %s", strerror(-r));
		/* Started by a restart: the old daemon goes on with its paths. */
		restart_abandon(&srv);
		server_free(&srv);
		log_shutdown(LOG_EXIT_FLUSH_MS);
		return 1;
	}
	r = server_run(&srv);
	server_free(&srv);
	if (r < 0) {
		log_err("event loop failed: %s", strerror(-r));
		log_shutdown(LOG_EXIT_FLUSH_MS);
		return 1;
	}
	log_info("stopped");
	log_shutdown(LOG_EXIT_FLUSH_MS);
	return 0;
}
