#!/bin/bash
# Integration test: held sockets (hold.*) over the control socket, against
# the kernel (tests/hold_checks.py), on a daemon on a private socket with a
# policy of its own, --max-held 8 and an HTTP face on a unix: listener.
# Needs root (it runs requests as nobody); exits 77 without it or python3,
# unless CI=true (then a failure).

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
sbd_start --policy "$dir/policy.json" --max-held 8 --http "unix:$dir/http.sock"
chmod 666 "$sock"

rc=0
timeout 120 "$py" "$driver" "$sock" 8 "$dir/http.sock" >"$dir/out" 2>&1 </dev/null || rc=$?
sed 's/^/    /' "$dir/out"
: >"$dir/out"
if [ "$rc" -eq 0 ]; then
	pass "hold_checks.py: held sockets against the kernel and the policy"
else
	fail "hold_checks.py failed (exit $rc)"
fi

# sockbrokerctl hold: put a descriptor this shell holds, list, get, take, rm.
ctl() { "$SBCTL" -s "$sock" "$@"; }
if [ -z "${SBCTL:-}" ] || [ ! -x "$SBCTL" ]; then
	missing "sockbrokerctl not built (SBCTL='${SBCTL:-}')"
fi
ctl hold rm pub-x >/dev/null 2>&1 || true
for n in $(ctl --json hold list | "$py" -c 'import json,sys; print(" ".join(e["name"] for e in json.load(sys.stdin)["held"]))'); do
	ctl hold rm "$n" >/dev/null
done
if ctl hold put cli-udp --fd 9 9</dev/null >"$dir/out" 2>&1; then
	fail "hold put of /dev/null succeeded"
else
	grep -q "not a socket" "$dir/out" && pass "sockbrokerctl hold put of a non-socket: refused" || fail "hold put of a non-socket: no reason"
fi
: >"$dir/out"
SOCK="$sock" "$py" -c '
import os, socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); s.listen(4)
os.set_inheritable(s.fileno(), True)
sys.exit(subprocess.call([os.environ["SBCTL"], "-s", os.environ["SOCK"], "hold", "put", "cli", "--fd", str(s.fileno())],
                         close_fds=False))' >"$dir/out" 2>&1 && grep -q "^name: *cli" "$dir/out" &&
	pass "sockbrokerctl hold put NAME --fd FD" || fail "sockbrokerctl hold put NAME --fd FD"
ctl --json hold list >"$dir/out" 2>&1 && grep -q '"name":"cli"' "$dir/out" &&
	pass "sockbrokerctl --json hold list" || fail "sockbrokerctl --json hold list"
: >"$dir/out"
ctl hold list >"$dir/out" 2>&1 && grep -q "^cli .*AF_INET .*SOCK_STREAM .*127.0.0.1" "$dir/out" &&
	pass "sockbrokerctl hold list: a table" || fail "sockbrokerctl hold list: a table"
: >"$dir/out"
ctl hold get cli >"$dir/out" 2>&1 && grep -q "127.0.0.1" "$dir/out" &&
	pass "sockbrokerctl hold get: the descriptor described" || fail "sockbrokerctl hold get"
: >"$dir/out"
ctl --json hold take cli >"$dir/out" 2>&1 && grep -q '"fds":1' "$dir/out" &&
	pass "sockbrokerctl --json hold take" || fail "sockbrokerctl --json hold take"
: >"$dir/out"
rc=0
ctl hold rm cli >"$dir/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "32014" "$dir/out" && pass "sockbrokerctl hold rm of a name taken: exit 1, -32014" ||
	fail "sockbrokerctl hold rm of a taken name (exit $rc)"
: >"$dir/out"
rc=0
ctl hold put cli >"$dir/out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && pass "sockbrokerctl hold put without --fd: usage error" || fail "hold put without --fd (exit $rc)"
: >"$dir/out"

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
