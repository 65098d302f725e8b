#!/bin/sh
# Policies that name users and groups this machine does not have (yet), as a
# package's drop-in may (issue 12 item 7): the policy loads with a warning
# naming them (--check-policy prints it, the daemon logs it at start and on
# every reload), the name matches nobody, and the rest of the policy holds.
# The shipped complete example loads whatever users and groups exist.

set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

ctl_setup it_policy_names
mkdir -p "$dir/policy.d" || exit 99
me=$(id -un)
cat >"$dir/policy.d/policy.json" <<EOF2
{ "version": 1, "rules": [
  { "name": "a group a package will create", "match": { "group": "no-such-group-sbk" },
    "allow": [ { "action": "resolve" } ] },
  { "name": "us, or a user still to come", "match": { "user": ["no-such-user-sbk", "$me"] },
    "allow": [ { "action": "create", "family": "AF_INET" } ] } ] }
EOF2
chmod 644 "$dir/policy.d/policy.json"

"$SBD" --check-policy --policy "$dir/policy.d" --sockets "$dir/sockets.d" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "--check-policy loads a policy naming an unknown group and user"
expect_out 'warning: rule "a group a package will create" names group "no-such-group-sbk", unknown to this system' \
	"$dir/err" "--check-policy warns of the unknown group"
expect_out 'names user "no-such-user-sbk", unknown' "$dir/err" "--check-policy warns of the unknown user"

"$SBD" --check-policy --policy "$SRCDIR/examples/policy/complete.json" --sockets "$dir/sockets.d" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "examples/policy/complete.json loads whatever users and groups this machine has"

ctl_start_daemon --policy "$dir/policy.d"
ctl_socket=$sock
# The unknown user matches nobody, but the rule's other user is us.
ctl call socket.create '{"family": "AF_INET", "type": "SOCK_STREAM"}'
expect_rc 0 "the other values of a member naming an unknown user still match (us)"
# The unknown group matches nobody: no rule gives us resolve.
ctl call net.gethostbyname '{"hostname": "localhost"}'
expect_rc 1 "a rule matching only an unknown group matches nobody"
expect_out '\(code -32010\)' "$dir/err" "the refusal is the policy's"
ctl reload
expect_rc 0 "reload keeps loading it"
expect_out 'no-such-user-sbk", unknown' "$dir/daemon.log" "the reload warns of the names again (it looks them up again)"

ctl_stop_daemon
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
