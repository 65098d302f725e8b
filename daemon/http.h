/* The daemon's HTTP face: REST inspection, metrics, the web view, and
 * JSON-RPC over HTTP, served by libmicrohttpd inside the daemon's own event
 * loop (no thread of its own). Every endpoint that shows daemon state runs
 * the JSON-RPC method it stands for, as the HTTP caller, on a virtual
 * connection: the policy and the audit are those of the control socket. */
#ifndef SBD_HTTP_H
#define SBD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct http_server;

#include <sys/types.h>

/* A listening socket handed to the HTTP face: activated by systemd (spec
 * NULL), or handed over by a restart for the --http spec it served. */
struct http_fd {
	int fd;
	char *spec;                 /* malloc'd; NULL: activated */
	dev_t dev;                  /* a handed-over UNIX socket's path (0: unknown) */
	ino_t ino;
};

/* Starts a listener for every --http of the configuration (a handed-over
 * socket of the same spec, if any; else bound now) and for every other
 * descriptor given (v[i].fd taken, also on error; specs left to the
 * caller). *out is NULL when there is none. 0 or -errno (logged). */
int http_start(struct server *s, struct http_fd *v, size_t n, struct http_server **out);

/* Calls fn for each listener with its descriptor (still the HTTP face's),
 * the spec it serves (NULL: activated) and its UNIX path's dev/ino. */
void http_handover(const struct http_server *h, void (*fn)(void *ctx, int fd, const char *spec, dev_t dev, ino_t ino),
                   void *ctx);
/* Stops serving for a while (true: listeners and MHD's runs wait) or goes on. */
void http_freeze(struct http_server *h, bool freeze);
/* From here on stopping leaves the UNIX paths alone (another process serves them). */
void http_forget_paths(struct http_server *h);

/* Ends every HTTP request (parked calls are cancelled), closes the
 * listeners and removes the UNIX sockets it made. NULL is fine. */
void http_stop(struct http_server *h);

#include <json-c/json.h>

/* Where it listens, for daemon.info: ["unix:/run/x.sock", "tcp:127.0.0.1:8780"], [] when off. */
json_object *http_listening_json(const struct http_server *h);

/* Loads --http-token-file again (SIGHUP, daemon.reload); on error the
 * tokens loaded before stay, and the error is logged. */
void http_reload(struct http_server *h);

/* The policy was reloaded: every audit stream whose caller the new policy
 * no longer lets see the audit (action admin) ends. */
void http_policy_changed(struct http_server *h);

/* How often the HTTP face paused for its share of the loop (--http-max-cpu-percent). */
uint64_t http_pauses(const struct http_server *h);

#endif
