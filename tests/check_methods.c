/* The method table's own rules (daemon/rpc.h): every method says how the
 * policy governs it, and what a plan or policy.check relies on is there. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/rpc.h"
#include "unit.h"

static bool has_param(const struct rpc_method *m, const char *name)
{
	for (const struct param_desc *d = m->params; d && d->name; d++)
		if (!strcmp(d->name, name))
			return true;
	return false;
}

/* A method is introspection, works on the caller's own state, or has a
 * plan: one of the three, so a new method cannot be governed by omission. */
START_TEST(every_method_says_how_it_is_governed)
{
	size_t n = 0;

	for (size_t i = 0; rpc_method_at(i); i++, n++) {
		const struct rpc_method *m = rpc_method_at(i);
		int ways = !!(m->flags & RPC_INTROSPECT) + !!(m->flags & RPC_OWN_STATE) + (m->plan != NULL);
		ck_assert_msg(ways == 1, "%s: introspection, own state or a plan: exactly one (has %d)", m->name, ways);
		ck_assert_msg(!(m->flags & RPC_PLAN_IN_HANDLER) || m->plan, "%s: decided in the handler, but no plan",
		              m->name);
		ck_assert_msg(m->handler && m->summary && m->result_schema, "%s: handler, summary and result schema",
		              m->name);
	}
	ck_assert_uint_gt(n, 40);
}
END_TEST

/* What the framework and policy.check read from the table is consistent. */
START_TEST(targets_and_addresses_are_params)
{
	for (size_t i = 0; rpc_method_at(i); i++) {
		const struct rpc_method *m = rpc_method_at(i);
		if (m->target == RPC_TARGET_HANDLE)
			ck_assert_msg(has_param(m, "handle"), "%s: a handle target without a handle param", m->name);
		if (m->address && m->target != RPC_TARGET_HANDLE)
			ck_assert_msg(has_param(m, m->address), "%s: address member %s is not a param", m->name, m->address);
		ck_assert_msg(!m->candidates || m->address, "%s: candidates without an address", m->name);
		ck_assert_msg(!m->family_of || m->address, "%s: family_of without an address", m->name);
		/* A method that takes an address but whose plan does not see it would
		 * be judged without it. */
		if (has_param(m, "address") && m->plan && m->plan != plan_resolve)
			ck_assert_msg(m->address != NULL, "%s: has an address param that its plan is not given", m->name);
	}
}
END_TEST

/* Governed methods that work on a socket: every one that aims, creates or
 * hands out a socket has a plan (a regression list of the kernel's checks). */
START_TEST(socket_methods_that_the_kernel_checks_have_plans)
{
	static const char *const governed[] = {
		"socket.create", "socket.pair", "socket.adopt", "socket.bind", "socket.listen", "socket.connect",
		"socket.connect_ex", "socket.send", "socket.sendall", "socket.sendto", "socket.sendmsg",
		"socket.setsockopt", "socket.getsockopt", "socket.accept", "socket.fd", "socket.detach",
		"socket.listen_on", "socket.connect_to", "net.getaddrinfo", "net.gethostbyname", "net.sethostname",
		"admin.clients", "policy.check", "daemon.reload",
	};

	for (size_t i = 0; i < sizeof(governed) / sizeof(governed[0]); i++) {
		const struct rpc_method *m = rpc_lookup(governed[i]);
		ck_assert_msg(m, "%s: not in the table", governed[i]);
		ck_assert_msg(m->plan, "%s: no plan", governed[i]);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("methods");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, every_method_says_how_it_is_governed);
	tcase_add_test(tc, targets_and_addresses_are_params);
	tcase_add_test(tc, socket_methods_that_the_kernel_checks_have_plans);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
