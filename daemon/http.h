/* The daemon's HTTP face: REST inspection, metrics, the web view, and
 * JSON-RPC over HTTP, served by libmicrohttpd inside the daemon's own event
 * loop (no thread of its own). Every endpoint that shows daemon state runs
 * the JSON-RPC method it stands for, as the HTTP caller, on a virtual
 * connection: the policy and the audit are those of the control socket. */
#ifndef SBD_HTTP_H
#define SBD_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct http_server;

/* Starts a listener for every --http of the configuration and for every
 * activated descriptor given (taken, also on error). *out is NULL when there
 * is none. 0 or -errno (logged). */
int http_start(struct server *s, const int *activated, size_t nactivated, struct http_server **out);

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
