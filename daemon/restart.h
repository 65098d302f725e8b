/* daemon.restart, SIGUSR2: the daemon runs its binary again (the same one,
 * or a newly installed one: an upgrade is a restart) and hands the new
 * process every held and declared socket, the control socket and the HTTP
 * listeners, with a state memfd describing them (fdstate.h). The old process
 * stops reading requests meanwhile; it exits only once the new one says it
 * is ready, and goes on as before if the new one fails, exits, or is not
 * ready within --restart-timeout.
 *
 * The hand-over, in the new process's environment:
 *   SOCKBROKER_RESTART_FD=N     the state memfd; its "fds" member lists
 *                               {fd, name, ...} of every descriptor inherited
 *   SOCKBROKER_RESTART_READY=N  a socket pair: one byte 'R' when the new
 *                               process serves (then it owns the UNIX
 *                               paths); the old answers 'A' once it told
 *                               systemd MAINPID= the new one, and exits */
#ifndef SBD_RESTART_H
#define SBD_RESTART_H

#include <stddef.h>
#include <json-c/json.h>

struct server;
struct call;
struct fdstate_fd;

#define RESTART_ENV_FD    "SOCKBROKER_RESTART_FD"
#define RESTART_ENV_READY "SOCKBROKER_RESTART_READY"
/* The new process waits this long for the old one's 'A' (MAINPID= sent). */
#define RESTART_ACK_MS    5000
/* The old process's waits for room in systemd's notify queue before it
 * hands over: this long for its store messages, then this long again for
 * MAINPID=, which must not lose its time to them (without it systemd takes
 * the old process's exit for the service's). Both stay within
 * RESTART_ACK_MS. */
#define RESTART_NOTIFY_MS 1000
/* The most descriptors one hand-over lists. */
#define RESTART_MAX_FDS   (1u << 21)

/* Starts a restart. call: the daemon.restart call that waits for its
 * outcome (parked: CALL_PENDING is returned), or NULL (SIGUSR2: logged).
 * -EBUSY when one is under way, -errno when it cannot begin. */
int restart_begin(struct server *s, struct call *call);

/* A restart under way ends: the new process is killed (the daemon stops). */
void restart_cancel(struct server *s);

/* In a process a restart started: appends the descriptors handed over to
 * *v (*n of them, realloc'd), and gives the state in *state (NULL when this
 * process was not started by a restart). 0 or -errno. */
int restart_take(struct server *s, struct fdstate_fd **v, size_t *n, json_object **state);
/* Tells the process that restarted us that we serve, and takes over its
 * UNIX paths. Nothing when not started by a restart. */
void restart_signal_ready(struct server *s);
/* The process that restarted us waits for nothing any more: a start that
 * failed leaves its UNIX paths to it. */
void restart_abandon(struct server *s);

/* Remembers how this process was started, for a restart: the binary's path
 * and argv (main's, which lives as long as the process). 0 or -errno. */
int server_set_command(struct server *s, char **argv);

/* The old daemon, once the new one serves: its exit leaves every path alone. */
void server_forget_paths(struct server *s);

#endif
