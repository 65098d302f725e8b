/* Fuzz target: a JSON address in either form, decoded for every family of the
 * contract, and what decodes is encoded back and decoded again: the second
 * decoding must give the same sockaddr. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int fams[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET,
	                            AF_CAN, AF_VSOCK, AF_ALG, AF_TIPC };
	json_object *root = NULL;
	const char *why;

	if (jrpc_parse((const char *)data, size, JRPC_MAX_DEPTH, &root, &why) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		struct sbaddr a, b;
		struct sbaddr_error err;
		char *host = NULL;
		json_object *enc;
		int r = sbaddr_decode(fams[i], root, &a, &host, &err);

		free(host);
		if (r != 0)
			continue;
		enc = sbaddr_encode((struct sockaddr *)&a.ss, a.len);
		if (!enc)
			abort();
		host = NULL;
		/* Interface names may vanish between calls; everything else must round-trip. */
		if (sbaddr_decode(fams[i], enc, &b, &host, &err) == 0 &&
		    (a.len != b.len || memcmp(&a.ss, &b.ss, a.len) != 0) && fams[i] != AF_PACKET &&
		    fams[i] != AF_CAN)
			abort();
		free(host);
		json_object_put(enc);
	}
	json_object_put(root);
	(void)sbaddr_guess_family(root);
	return 0;
}
