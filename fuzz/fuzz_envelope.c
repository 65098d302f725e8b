/* Fuzz target: bytes -> frame reader (through a real socketpair, in short
 * writes whose size the first input byte picks, as a hostile client would
 * send them) -> strict JSON parse -> JSON-RPC envelope validation, for every
 * message and batch element. Nothing may crash, leak or exceed its limits. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "jsonrpc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handle(const char *text, size_t len)
{
	json_object *root = NULL, *reply;
	const char *why;
	struct jrpc_request req;

	if (jrpc_parse(text, len, JRPC_MAX_DEPTH, &root, &why) != 0)
		return;
	if (json_object_is_type(root, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(root); i++) {
			if (jrpc_validate_request(json_object_array_get_idx(root, i), &req, &why) == 0)
				continue;
			reply = jrpc_error_new(req.id, JRPC_INVALID_REQUEST, why, NULL);
			json_object_put(reply);
		}
	} else if (jrpc_validate_request(root, &req, &why) == 0) {
		size_t n = 0;
		const char *out;

		reply = jrpc_result_new(req.id, json_object_get(req.params));
		out = jrpc_to_string(reply, &n);
		if (memchr(out, '\n', n))
			abort(); /* a reply must never hold a raw newline */
		json_object_put(reply);
	}
	json_object_put(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader r;
	int sv[2];
	size_t chunk, off;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 143) + 1;
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	if (frame_reader_init(&r, 4096, 4) < 0)
		goto out;
	for (off = 0; off < size;) {
		size_t n = SB_MIN(chunk, size - off);
		ssize_t w = write(sv[1], data + off, n), got;
		struct frame_msg m;
		int k;

		if (w <= 0)
			break;
		off += (size_t)w;
		got = frame_reader_fill(&r, sv[0], 8192);
		if (got == -EMSGSIZE)
			break;
		while ((k = frame_reader_next(&r, &m)) == 1) {
			handle(m.data, m.len);
			frame_msg_release(&m);
		}
		if (k < 0)
			break;
	}
	frame_reader_free(&r);
out:
	close(sv[0]);
	close(sv[1]);
	return 0;
}
