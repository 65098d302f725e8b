/* The one method table: every family's slice, in one place. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "rpc.h"
#include "util.h"

static const struct rpc_family *const families[] = {
	&rpc_daemon_family,
	&rpc_socket_family,
	&rpc_net_family,
	&rpc_admin_family,
};

const struct rpc_method *rpc_lookup(const char *name)
{
	for (size_t f = 0; f < ARRAY_SIZE(families); f++)
		for (size_t i = 0; i < families[f]->n; i++)
			if (strcmp(families[f]->methods[i].name, name) == 0)
				return &families[f]->methods[i];
	return NULL;
}

const struct rpc_method *rpc_method_at(size_t i)
{
	for (size_t f = 0; f < ARRAY_SIZE(families); f++) {
		if (i < families[f]->n)
			return &families[f]->methods[i];
		i -= families[f]->n;
	}
	return NULL;
}
