/* Warnings about rules that promise more than identity can keep. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-lint.h"
#include "util.h"

/* "user@" then anything but '/', then ".service", as one whole component. */
static bool user_manager_name(const char *s, size_t len)
{
	static const char suffix[] = ".service";
	size_t sl = sizeof(suffix) - 1;

	return len > 5 + sl && !strncmp(s, "user@", 5) && !memcmp(s + len - sl, suffix, sl);
}

bool policy_lint_cgroup_delegated(const char *cgroup)
{
	for (const char *p = cgroup; *p;) {
		size_t len;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (len && user_manager_name(p, len))
			return true;
		p += len;
	}
	return false;
}

bool policy_lint_unit_delegated(const char *unit)
{
	return user_manager_name(unit, strlen(unit));
}

/* The policy's action names for the bits of mask, ", "-separated. */
static void action_list(unsigned mask, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int a = 0; a < POLICY_ACTION_MAX && o < len; a++) {
		if (!(mask & (1u << a)))
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", policy_action_name(a));
	}
}

/* A rule told apart by an identity member a process of the same user can
 * put on: the warning, or NULL. */
static int weak_warning(const struct policy_rule_view *vp, char **warning)
{
	struct policy_rule_view v = *vp;
	bool weak_cgroup = false, weak_unit = false, strong;
	char actions[200], by[200];
	const char *whom;

	*warning = NULL;
	for (size_t k = 0; k < v.ncgroup; k++)
		weak_cgroup = weak_cgroup || policy_lint_cgroup_delegated(v.cgroup[k]);
	for (size_t k = 0; k < v.nunit; k++)
		weak_unit = weak_unit || policy_lint_unit_delegated(v.unit[k]);
	/* What a process of the same user cannot put on: an LSM label, or a
	 * cgroup or unit only root places processes in (a member holds when
	 * any of its values does, so one delegated value makes it weak). */
	strong = v.nlabel || (v.ncgroup && !weak_cgroup) || (v.nunit && !weak_unit);
	if (!v.allow_actions || strong || (!v.nexe && !weak_cgroup && !weak_unit))
		return 0;

	action_list(v.allow_actions, actions, sizeof(actions));
	snprintf(by, sizeof(by), "%s%s%s%s%s", v.nexe ? "their executable (exe)" : "",
	         v.nexe && (weak_cgroup || weak_unit) ? " and " : "",
	         weak_cgroup ? "a cgroup below a user manager (user@UID.service), which that user controls" : "",
	         weak_cgroup && weak_unit ? " and " : "",
	         weak_unit ? "a user manager's unit (user@UID.service), in which that user starts anything" : "");
	whom = v.uid || v.gid ? "every process of the users and groups it names"
	                      : "every process of every user";
	if (asprintf(warning,
	             "rule \"%s\" allows %s to callers it tells apart, beyond user and group, only by %s: any process of the same user can "
	             "pass for them (ptrace, LD_PRELOAD, exec() just after writing, moving itself), so read it as "
	             "allowing %s to %s; tell programs apart by a dedicated user, a system unit or an LSM label "
	             "instead (docs/policy.md, section 9)",
	             v.name, actions, by, actions, whom) < 0) {
		*warning = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Names the user and group databases do not hold (yet): a package's drop-in
 * may name a group it creates later. The warning, or NULL. */
static int unknown_warning(const struct policy_rule_view *v, char **warning)
{
	char names[600] = "";
	size_t o = 0;

	*warning = NULL;
	if (!v->nunknown)
		return 0;
	for (size_t k = 0; k < v->nunknown && o < sizeof(names); k++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", k ? ", " : "", v->unknown[k]);
	if (asprintf(warning, "rule \"%s\" names %s, unknown to this system: %s nobody until %s, and every "
	             "reload looks %s up again", v->name, names, v->nunknown == 1 ? "it matches" : "they match",
	             v->nunknown == 1 ? "it exists" : "they exist", v->nunknown == 1 ? "it" : "them") < 0) {
		*warning = NULL;
		return -ENOMEM;
	}
	return 0;
}

int policy_lint_rule(const struct policy *p, size_t i, char **warning)
{
	struct policy_rule_view v;
	char *unknown = NULL, *weak = NULL;
	int r = policy_rule_view(p, i, &v);

	*warning = NULL;
	if (r < 0 || (r = unknown_warning(&v, &unknown)) < 0 || (r = weak_warning(&v, &weak)) < 0) {
		free(unknown);
		return r;
	}
	if (unknown && weak) {
		r = asprintf(warning, "%s; %s", unknown, weak) < 0 ? -ENOMEM : 0;
		if (r < 0)
			*warning = NULL;
		free(unknown);
		free(weak);
		return r;
	}
	*warning = unknown ? unknown : weak;
	return 0;
}
