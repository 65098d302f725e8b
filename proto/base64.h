/* Base64 (RFC 4648, standard alphabet, with padding). Strict decoder:
 * no whitespace, no missing padding, no non-zero trailing bits. */
#ifndef SB_BASE64_H
#define SB_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* Characters b64_encode writes for n bytes, not counting the NUL. */
size_t b64_encoded_len(size_t n);
/* Writes the encoding of in[0..n) and a NUL to out (b64_encoded_len(n)+1 bytes). Returns the length. */
size_t b64_encode(const void *in, size_t n, char *out);
/* Encodes into a fresh malloc'd NUL-terminated string, or NULL with errno=ENOMEM. */
char *b64_encode_alloc(const void *in, size_t n);
/* Upper bound of decoded bytes for len input characters. */
size_t b64_decoded_maxlen(size_t len);
/* Decodes in[0..len) into out (outsz bytes). Returns bytes written, -EINVAL on
 * any malformed input, -ENOBUFS if out is too small. */
ssize_t b64_decode(const char *in, size_t len, void *out, size_t outsz);
/* Decodes into a fresh malloc'd buffer (*out, *outlen). 0 or -EINVAL/-ENOMEM. */
int b64_decode_alloc(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif
