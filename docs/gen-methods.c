/* Prints docs/methods.md from the method table, so the reference cannot drift
 * from what the daemon dispatches (tests/it_docs.sh compares the two). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/rpc.h"
#include "daemon/plan.h"
#include "consts.h"

static const char *type_name(const struct param_desc *d)
{
	return d->conv->name;
}

/* For a method on no socket and no address: runs its plan on params whose
 * strings are a marker and, when every step asks the one action with no
 * socket (no family or type), says which, and which param (if any) is the name it judges
 * (a `resolve` entry's `host`). NULL when the plan is not that simple, so
 * that what this prints is what the daemon asks, not a list kept by hand. */
static const char *one_action_doc(const struct rpc_method *m)
{
	static char doc[256];
	static const char marker[] = "gen-methods.marker";
	const char *named = NULL, *mp = marker;
	struct plan_in in;
	struct plan pl;
	char *params;
	int r;

	params = calloc(1, m->params_size ? m->params_size : 1);
	if (!params)
		return NULL;
	for (const struct param_desc *d = m->params; d && d->name; d++)
		if (strncmp(d->conv->name, "string", 6) == 0 && d->offset + sizeof(mp) <= m->params_size)
			memcpy(params + d->offset, &mp, sizeof(mp));
	memset(&in, 0, sizeof(in));
	memset(&pl, 0, sizeof(pl));
	in.params = params;
	/* A socket's family and type given: a step that carries a family or a
	 * type (-1: none) is about a socket, not this simple. */
	in.family = AF_INET;
	in.type = SOCK_STREAM;
	in.proto = 0;
	r = m->plan(&pl, &in);
	if (r != 0 || pl.n == 0) {
		free(params);
		return NULL;
	}
	for (size_t i = 0; i < pl.n; i++) {
		if (pl.steps[i].q.action != pl.steps[0].q.action || pl.steps[i].q.family >= 0 ||
		    pl.steps[i].q.type >= 0) {
			free(params);
			return NULL;
		}
		if (pl.steps[i].q.host == marker)
			for (const struct param_desc *d = m->params; d && d->name; d++)
				if (strncmp(d->conv->name, "string", 6) == 0 &&
				    memcmp(params + d->offset, &mp, sizeof(mp)) == 0)
					named = d->name;
	}
	free(params);
	if (named)
		snprintf(doc, sizeof(doc), "action `%s`, judged on the name in `%s` (an entry's `host`), not on "
		         "family, type or address", policy_action_name(pl.steps[0].q.action), named);
	else
		snprintf(doc, sizeof(doc), "action `%s`, with no name (an entry with `host` does not cover it)",
		         policy_action_name(pl.steps[0].q.action));
	return doc;
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
	if (m->plan && m->target == RPC_TARGET_NONE && !m->address) {
		const char *one = one_action_doc(m);
		if (one)
			return one;
	}
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
