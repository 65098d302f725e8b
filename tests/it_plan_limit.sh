#!/bin/bash
# The plan's limit (daemon/plan.h, PLAN_MAX_STEPS): a request that would ask
# the policy more questions than that (a netlink send of more distinct
# message types) is refused whole with -32012 {limit: "policy_questions"},
# by the method and by policy.check alike; one under the limit is decided
# message by message. The daemon keeps serving.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

sbd_setup it_plan_limit
mkdir -p "$dir/policy.d"
cat >"$dir/policy.d/policy.json" <<'EOF2'
{ "version": 1, "rules": [
  { "name": "the test's own netlink sends", "match": { "uid": 0 },
    "allow": [ { "action": "create", "family": "AF_NETLINK" },
               { "action": "send", "family": "AF_NETLINK" } ] } ] }
EOF2
sbd_start --policy "$dir/policy.d"

"$py" - "$sock" >"$dir/out" 2>&1 <<'EOF2' && pass "the question limit is reached whole, and kept below it" || fail "the question limit"
import base64, json, socket, struct, sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rwb")
n = 0
def call(method, params):
    global n
    n += 1
    f.write((json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params}) + "\n").encode())
    f.flush()
    return json.loads(f.readline())

def messages(count):
    # Distinct rtnetlink types that are not GET requests (those are open to all).
    out = b""
    t = 16
    for _ in range(count):
        while (t & 3) == 2:
            t += 1
        out += struct.pack("=IHHII", 16, t, 0, 0, 0)
        t += 1
    return base64.b64encode(out).decode()

r = call("socket.create", {"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": 0})
h = r["result"]["handle"]
over, under = messages(60), messages(10)
r = call("socket.send", {"handle": h, "data": over})
assert r.get("error", {}).get("code") == -32012, r
assert r["error"]["data"]["limit"] == "policy_questions", r
r = call("policy.check", {"as": {"uid": 0}, "request": {"method": "socket.send",
         "params": {"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": 0, "data": over}}})
assert r.get("error", {}).get("code") == -32012, r
r = call("policy.check", {"as": {"uid": 0}, "request": {"method": "socket.send",
         "params": {"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": 0, "data": under}}})
assert r["result"]["allowed"] is True and len(r["result"]["checks"]) == 10, r
r = call("socket.send", {"handle": h, "data": under})
assert "result" in r or r["error"]["code"] == -32000, r
r = call("daemon.ping", {})
assert r["result"]["pong"] is True, r
print("ok")
EOF2

sbd_stop
[ "$failures" -eq 0 ]
