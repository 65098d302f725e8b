/* One error value for every decoder of input a client or an administrator
 * writes (method params, addresses, socket option values, the policy): what is
 * wrong, as a sentence, and where, as a JSON path relative to the value being
 * decoded ("address.port", "as.groups[2]", "" for the value itself).
 *
 * Decoders fill it inside out: the innermost sets the message and the member
 * it was reading; each enclosing level that knows more puts its own member
 * name or array index in front (decode_error_prefix). */
#ifndef SB_DECERR_H
#define SB_DECERR_H

#include <stdarg.h>
#include <stddef.h>

#define DECERR_PATH_MAX 256
#define DECERR_MSG_MAX  512

struct decode_error {
	char path[DECERR_PATH_MAX];   /* "" when the value as a whole is at fault */
	char msg[DECERR_MSG_MAX];
};

void decode_error_clear(struct decode_error *e);

/* Sets e (which may be NULL) to path (NULL for "") and the formatted message;
 * returns r, so a decoder can `return decode_fail(e, -EINVAL, ...)`. */
int decode_fail(struct decode_error *e, int r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int decode_vfail(struct decode_error *e, int r, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Puts a member name ("address" + "port" -> "address.port", + "[2]" ->
 * "address[2]") or an array index ("[2]" + "port" -> "[2].port") in front of
 * e's path. A path cut at the buffer's end is fine: it is for messages. */
void decode_error_prefix(struct decode_error *e, const char *member);
void decode_error_prefix_index(struct decode_error *e, size_t i);

#endif
