/* Prints docs/methods.md from the method table, so the reference cannot drift
 * from what the daemon dispatches (tests/it_docs.sh compares the two). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "daemon/rpc.h"
#include "consts.h"

static const char *type_name(const struct param_desc *d)
{
	return d->conv->name;
}

/* How the policy governs m (docs/policy.md has the whole table). */
static const char *gate_doc(const struct rpc_method *m)
{
	if (m->flags & RPC_INTROSPECT)
		return "introspection, always allowed";
	if (m->plan == plan_admin)
		return "action `admin`";
	if (m->plan == plan_sethostname)
		return "action `sethostname`";
	if (m->plan == plan_resolve)
		return "action `resolve`";
	if (m->plan)
		return "its plan: the questions the kernel would ask, decided with the socket's family, type, "
		       "protocol and address (see docs/policy.md)";
	return "not an action (works on the caller's own handles or connection): allowed when some rule "
	       "matches the caller";
}

int main(void)
{
	printf("# sockbroker methods\n\n"
	       "Generated from the daemon's method table by `docs/gen-methods`; do not edit.\n"
	       "`make check` fails when this file and the table disagree.\n\n"
	       "Flags: **introspection** (not an action: anyone may call it), "
	       "**takes fds** (descriptors may travel with the request, declared by `fds`), "
	       "**returns fds**, **may block** (the request may be parked; it counts toward the pending limit).\n");
	for (size_t i = 0; rpc_method_at(i); i++) {
		const struct rpc_method *m = rpc_method_at(i);
		printf("\n## `%s`\n\n%s\n\n", m->name, m->summary);
		printf("Flags: %s%s%s%s%s\n\n",
		       m->flags & RPC_INTROSPECT ? "introspection " : "",
		       m->flags & RPC_TAKES_FDS ? "takes-fds " : "",
		       m->flags & RPC_RETURNS_FDS ? "returns-fds " : "",
		       m->flags & RPC_MAY_BLOCK ? "may-block " : "",
		       m->flags & (RPC_INTROSPECT | RPC_TAKES_FDS | RPC_RETURNS_FDS | RPC_MAY_BLOCK) ? "" : "none");
		printf("Policy: %s\n\n", gate_doc(m));
		if (!m->params || !m->params[0].name) {
			printf("Parameters: none.\n\n");
		} else {
			printf("| parameter | type | required | meaning |\n|---|---|---|---|\n");
			for (const struct param_desc *d = m->params; d->name; d++) {
				printf("| `%s` | %s", d->name, type_name(d));
				if (d->conv == PT_INT && d->min < d->max)
					printf(" %lld-%lld", d->min, d->max);
				printf(" | %s | %s |\n", d->flags & PF_REQUIRED ? "yes" : "no", d->doc ? d->doc : "");
			}
			printf("\n");
		}
		printf("Result schema: `%s`\n", m->result_schema ? m->result_schema : "{}");
	}
	return 0;
}
