/* The transport of libsockbroker (internal, not installed): the connection,
 * framing, descriptors both ways, and matching replies to calls by id.
 *
 * Inside the library a request and a reply are json_object trees; text exists
 * only on the wire (and, for the public text API, as a lazily made copy in the
 * reply). The typed helpers in libsockbroker.c are built on these functions
 * alone and never see the connection's state. Only sb_* symbols are exported,
 * so the sbt_* names below stay private to the shared object. */
#ifndef SB_TRANSPORT_H
#define SB_TRANSPORT_H

#include <stddef.h>

#include <json-c/json.h>

#include "sockbroker.h"

/* Sends one request whose params object is taken (NULL: none; with nfds > 0 an
 * empty object is made) and waits for its reply; see sb_call for the rest.
 * "fds": nfds is added to params here, so that no caller can declare a count
 * that differs from what is sent. -EINVAL when params already declares "fds"
 * or is not an object. */
int sbt_call(sb_client *c, const char *method, json_object *params,
             const int *fds, size_t nfds, sb_reply **out);

/* Sends a notification with params (taken, NULL: none). */
int sbt_notify(sb_client *c, const char *method, json_object *params);

/* The result of a result reply (NULL for an error reply, and for a result
 * that is JSON null) and the data of an error reply (NULL when absent).
 * Borrowed: valid until sb_reply_free. */
json_object *sbt_reply_result(const sb_reply *r);
json_object *sbt_reply_data(const sb_reply *r);

#endif
