#!/bin/bash
# policy.check against the real thing (issue 11): the daemon runs as root
# with a policy (tests/plan_diff.py policy) that grants different,
# overlapping things to uids 65534 and 65533, IPv6 and admin to root, and
# nothing to 65532; tests/plan_diff.py run then asks policy.check about each
# request of a generated matrix (methods x identities x addresses x hand-out
# or not) and makes the same request for real as that uid, on a fresh
# connection and socket. Any disagreement fails, and so does a matrix too
# small to mean anything.
#
# Needs root (the clients switch uids): without it, "SKIP: ..." and exit 77,
# unless CI=true, where that is a failure. Readiness: the daemon's READY=1
# (sbd-lib.sh), no sleeps.

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

: "${SBD:=}"
if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
	missing "daemon not built (SBD='$SBD' is not executable)"
fi
need_root "needs root (the daemon acts as root for clients that switch to uids 65532-65534)"
command -v python3 >/dev/null 2>&1 || missing "python3 is not installed"
driver="$SRCDIR/tests/plan_diff.py"
[ -r "$driver" ] || missing "$driver not found"

sbd_setup it_plan_diff
# The clients, as other uids, reach the control socket and make UNIX sockets
# under u/ (bound by the daemon with their uid) and v/; srv/ holds the test's
# own listener.
chmod 0755 "$dir"
mkdir -m 1777 "$dir/u" "$dir/v"
mkdir -m 0755 "$dir/srv" "$dir/policy.d"
"$py" "$driver" policy "$dir" >"$dir/policy.d/10-plan-diff.json"
chmod 0644 "$dir/policy.d/10-plan-diff.json"
if "$SBD" --check-policy --policy "$dir/policy.d" --sockets "$dir/sockets.d" >"$dir/out" 2>&1; then
	pass "the matrix's policy loads"
else
	fail "the matrix's policy loads"
	exit 1
fi
: >"$dir/out"

# The matrix looks up a name that does not exist: one short try per look-up
# (glibc's resolver reads this), so a host without DNS does not stretch the
# test to minutes.
export RES_OPTIONS="timeout:1 attempts:1"
sbd_start --policy "$dir/policy.d"

rc=0
timeout -s KILL 600 "$py" "$driver" run "$dir" "$sock" >"$dir/out" 2>&1 </dev/null || rc=$?
if [ "$rc" -eq 0 ]; then
	sed 's/^/    /' "$dir/out"
	: >"$dir/out"
	pass "policy.check agrees with the real request in every case of the matrix"
else
	fail "policy.check agrees with the real request in every case of the matrix (exit $rc)"
fi

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
