/* Warnings about a loaded policy that is valid but promises more than the
 * daemon can keep: allow rules that tell callers of one user apart only by
 * what a process of that user can fake or change (docs/policy.md, section 9).
 * Pure: reads the policy through policy_rule_view(), no daemon state. */
#ifndef SBD_POLICY_LINT_H
#define SBD_POLICY_LINT_H

#include <stdbool.h>

#include "policy.h"

/* The warning about rule i of p (one sentence, malloc'd) in *warning, or
 * NULL when there is none. 0, -ENOENT (no rule i) or -ENOMEM. */
int policy_lint_rule(const struct policy *p, size_t i, char **warning);

/* Whether a cgroup path lies in a subtree the user owns (below a systemd user
 * manager, user@UID.service), where the user's processes move freely. */
bool policy_lint_cgroup_delegated(const char *cgroup);
/* Whether a unit name is a systemd user manager's (user@UID.service): every
 * user service of that user is in it, and the user starts them at will. */
bool policy_lint_unit_delegated(const char *unit);

#endif
