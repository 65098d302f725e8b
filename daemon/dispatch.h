/* From a framed message to handlers: envelope validation, batches, method
 * lookup, descriptor checks, limits, authorisation and typed params, in one
 * place, so handlers only do their own work. */
#ifndef SBD_DISPATCH_H
#define SBD_DISPATCH_H

#include <stddef.h>
#include <json-c/json.h>

#include "frame.h"

struct conn;

/* Handles one complete message; takes what it needs of msg's descriptors. */
void dispatch_message(struct conn *c, struct frame_msg *msg);

#endif
