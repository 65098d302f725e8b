#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of one alphabet character, or -1 (covers '=', whitespace, NUL, 8-bit). */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t b64_encoded_len(size_t n)
{
	return (n / 3 + (n % 3 != 0)) * 4;
}

size_t b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t o = 0, i = 0;

	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

char *b64_encode_alloc(const void *in, size_t n)
{
	char *out;

	/* The encoding is 4/3 of the input: refuse sizes whose length would wrap. */
	if (n > (SIZE_MAX - 4) / 4 * 3) {
		errno = ENOMEM;
		return NULL;
	}
	out = malloc(b64_encoded_len(n) + 1);
	if (!out)
		return NULL;
	b64_encode(in, n, out);
	return out;
}

size_t b64_decoded_maxlen(size_t len)
{
	return len / 4 * 3;
}

/* One pass: validates everything, writes only while out has room, so a
 * malformed input is always -EINVAL whatever the size of out. */
ssize_t b64_decode(const char *in, size_t len, void *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char *d = out;
	size_t pad = 0, body, o = 0, need;

	if (len % 4 != 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	need = len / 4 * 3 - pad;
	if (need > SSIZE_MAX)
		return -ENOBUFS;

	/* Full quanta without padding. */
	body = pad ? len - 4 : len;
	for (size_t i = 0; i < body; i += 4) {
		int a = b64_value(s[i]), b = b64_value(s[i + 1]);
		int c = b64_value(s[i + 2]), e = b64_value(s[i + 3]);
		uint32_t v;

		if ((a | b | c | e) < 0)
			return -EINVAL;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)e;
		if (o + 3 <= outsz) {
			d[o] = v >> 16;
			d[o + 1] = (v >> 8) & 0xff;
			d[o + 2] = v & 0xff;
		}
		o += 3;
	}

	/* Last quantum: "xx==" or "xxx=", unused bits must be zero (canonical form). */
	if (pad) {
		const unsigned char *q = s + body;
		int a = b64_value(q[0]), b = b64_value(q[1]);

		if ((a | b) < 0)
			return -EINVAL;
		if (pad == 2) {
			if (b & 0x0f)
				return -EINVAL;
			if (o + 1 <= outsz)
				d[o] = (unsigned)a << 2 | (unsigned)b >> 4;
			o += 1;
		} else {
			int c = b64_value(q[2]);

			if (c < 0 || (c & 0x03))
				return -EINVAL;
			if (o + 2 <= outsz) {
				d[o] = (unsigned)a << 2 | (unsigned)b >> 4;
				d[o + 1] = ((unsigned)b & 0x0f) << 4 | (unsigned)c >> 2;
			}
			o += 2;
		}
	}

	if (o > outsz)
		return -ENOBUFS;
	return (ssize_t)o;
}

int b64_decode_alloc(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	size_t max = b64_decoded_maxlen(len);
	unsigned char *buf;
	ssize_t n;

	/* Never a NULL buffer on success, even for empty input, so callers free uniformly. */
	buf = malloc(max ? max : 1);
	if (!buf)
		return -ENOMEM;
	n = b64_decode(in, len, buf, max);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	*out = buf;
	*outlen = (size_t)n;
	return 0;
}
