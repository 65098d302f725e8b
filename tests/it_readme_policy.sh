#!/bin/sh
# The README's policy flow, as an administrator walks it (issue 12 item 2):
# the README's own one-rule policy (port 80 for www-data), taken from
# README.md itself so the two cannot drift, loaded by a root daemon. Root,
# whom no rule names, keeps admin (contract v1.1): --check-policy, policy
# check, reload and stats work; root's other actions follow the rules.

set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

[ "$(id -u)" -eq 0 ] || missing "needs root (the README's administrator is root)"
getent passwd www-data >/dev/null 2>&1 || missing "no user www-data (the README's example user)"

ctl_setup it_readme_policy
mkdir -p "$dir/policy.d" || exit 99
# The first ```json block of the README's "## Policy" section.
sed -n '/^## Policy/,/^## /p' "$SRCDIR/README.md" |
	sed -n '/^```json$/,/^```$/p' | sed '1d;$d' >"$dir/policy.d/policy.json"
chmod 644 "$dir/policy.d/policy.json"
if grep -q '"www-data"' "$dir/policy.d/policy.json"; then
	pass "the README's policy was found"
else
	fail "no policy for www-data in the README's Policy section"
fi

"$SBD" --check-policy --policy "$dir/policy.d" --sockets "$dir/sockets.d" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "sockbrokerd --check-policy accepts the README's policy"

ctl_start_daemon --policy "$dir/policy.d"
ctl_socket=$sock

ctl policy check --user www-data bind tcp:0.0.0.0:80
expect_rc 0 "root: policy check --user www-data bind tcp:0.0.0.0:80 is allowed"
ctl policy check --user nobody bind tcp:0.0.0.0:80
expect_rc 1 "root: policy check --user nobody bind tcp:0.0.0.0:80 is denied"
ctl reload
expect_rc 0 "root: reload works with a policy that names only www-data"
ctl stats
expect_rc 0 "root: stats works"
ctl policy check --uid 0 admin
expect_rc 0 "root: policy check says root keeps admin"
expect_out 'keeps admin' "$dir/out" "the reason says root keeps admin"
# Root's other actions follow the rules: nothing grants it a socket.
ctl call socket.create '{"family": "AF_INET", "type": "SOCK_STREAM"}'
expect_rc 1 "root: socket.create is refused (no rule grants it)"
expect_out '\(code -32010\)' "$dir/err" "root's create is the policy's refusal"

ctl_stop_daemon
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
