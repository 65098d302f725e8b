#!/bin/bash
# Integration test: held sockets (hold.*) over the control socket, against
# the kernel (tests/hold_checks.py), on a daemon on a private socket with a
# policy of its own and --max-held 8. Needs root (it runs requests as
# nobody); exits 77 without it or python3, unless CI=true (then a failure).

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
need_root "held-socket checks run requests as nobody"
driver="$SRCDIR/tests/hold_checks.py"
[ -r "$driver" ] || missing "$driver not found"

sbd_setup it_hold
chmod 755 "$dir"
cat >"$dir/policy.json" <<'JSON'
{ "version": 1,
  "rules": [
    { "name": "root", "match": { "uid": 0 },
      "allow": [ { "action": "create" }, { "action": "adopt" }, { "action": "admin" },
                 { "action": "bind", "address": "127.0.0.1/32" }, { "action": "listen", "address": "127.0.0.1/32" },
                 { "action": "hold" }, { "action": "retrieve" } ] },
    { "name": "nobody: pub-*", "match": { "uid": 65534 },
      "allow": [ { "action": "hold", "name": "pub-*" }, { "action": "retrieve", "name": "pub-*" } ] }
  ] }
JSON
sbd_start --policy "$dir/policy.json" --max-held 8
chmod 666 "$sock"

rc=0
timeout 120 "$py" "$driver" "$sock" 8 >"$dir/out" 2>&1 </dev/null || rc=$?
sed 's/^/    /' "$dir/out"
: >"$dir/out"
if [ "$rc" -eq 0 ]; then
	pass "hold_checks.py: held sockets against the kernel and the policy"
else
	fail "hold_checks.py failed (exit $rc)"
fi

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
