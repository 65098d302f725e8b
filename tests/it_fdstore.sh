#!/bin/bash
# Integration test: held and declared sockets in systemd's descriptor store
# (daemon/fdstore.c), under a fake of systemd's side (tests/fake_systemd.py)
# that keeps the store as systemd's docs specify it, kills the daemon and
# starts it again with the store as LISTEN_FDS (tests/fdstore_checks.py).
# Needs root (the daemon's policy is root's, as under systemd); exits 77
# without it or python3, unless CI=true (then a failure).

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
need_root "the daemon runs as root, as under systemd"
driver="$SRCDIR/tests/fdstore_checks.py"
[ -r "$driver" ] || missing "$driver not found"

sbd_setup it_fdstore
cat >"$dir/policy.json" <<'JSON'
{ "version": 1,
  "rules": [
    { "name": "root", "match": { "uid": 0 },
      "allow": [ { "action": "create" }, { "action": "adopt" }, { "action": "admin" },
                 { "action": "bind", "address": "127.0.0.1/32" }, { "action": "listen", "address": "127.0.0.1/32" },
                 { "action": "hold" }, { "action": "retrieve" } ] }
  ] }
JSON

# The round trip needs the take-back at start (fdstate_adopt, the lead's
# half of issue 15): until it is in the tree, the restarted daemon would not
# know the store's descriptors, and those checks are skipped, saying so.
if grep -q 'fdstate_adopt *(' "$SRCDIR/daemon/fdstate.c" 2>/dev/null; then
	export FDSTORE_ROUNDTRIP=1
fi

rc=0
timeout 300 "$py" "$driver" "$dir" "$SBD" >"$dir/out" 2>&1 </dev/null || rc=$?
sed 's/^/    /' "$dir/out"
if [ "$rc" -eq 0 ]; then
	pass "fdstore_checks.py: the descriptor store under a fake systemd"
else
	fail "fdstore_checks.py failed (exit $rc)"
	sed 's/^/    | /' "$dir/daemon.log" | tail -n 40
fi

# The fake as a program, driven by steps on its standard input, as a person
# would try it: start, wait for READY=1, look at the store, crash the daemon,
# look again.
mkdir -p "$dir/cli/sockets.d" "$dir/cli/policy.d"
echo '{"version": 1, "sockets": [{"name": "w", "address": "tcp:127.0.0.1:0"}]}' >"$dir/cli/sockets.d/w.json"
printf 'start\nwait-ready\nstore\nkill\nstore\nquit\n' |
	timeout 60 "$py" "$SRCDIR/tests/fake_systemd.py" -- "$SBD" --socket "$dir/cli/control.sock" \
		--policy "$dir/cli/policy.d" --sockets "$dir/cli/sockets.d" >"$dir/out" 2>"$dir/cli/daemon.log" || true
if [ "$(grep -c '"decl.w"' "$dir/out")" -eq 2 ] && grep -qx ready "$dir/out" && grep -qx 'exit -9' "$dir/out"; then
	pass "fake_systemd.py as a program: start, wait-ready, store, kill (decl.w kept), quit"
else
	fail "fake_systemd.py as a program"
fi

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
