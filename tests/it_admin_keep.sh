#!/bin/bash
# Contract v1.1: whatever the policy says, root and the daemon's own user
# keep `admin`. With a policy file whose only rule for root grants something
# else, and even denies admin, root still reads admin.stats, reloads and asks
# policy.check, and policy.check says so for uid 0; a user without a grant
# stays refused.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_root "root (the daemon runs as root and the test asks as nobody too)"
sbd_setup it_admin_keep
mkdir -p "$dir/policy.d"
cat >"$dir/policy.d/policy.json" <<'EOF2'
{ "version": 1, "rules": [
  { "name": "root may make netlink sockets, and no admin", "match": { "uid": 0 },
    "allow": [ { "action": "create", "family": "AF_NETLINK" } ],
    "deny": [ { "action": "admin" } ] },
  { "name": "nobody resolves", "match": { "uid": 65534 },
    "allow": [ { "action": "resolve" } ] } ] }
EOF2
chmod 755 "$dir"
sbd_start --policy "$dir/policy.d"

"$py" - "$sock" >"$dir/out" 2>&1 <<'EOF2' && pass "root keeps admin whatever the policy says; nobody does not" || fail "root keeps admin"
import json, os, socket, sys

from rpc_session import connect

def session(path):
    return connect(path)[1]

call = session(sys.argv[1])
r = call("admin.stats", {})
assert "result" in r, r
r = call("daemon.reload", {})
assert "result" in r, r
r = call("policy.check", {"as": {"uid": 0}, "request": {"method": "admin.stats"}})
assert r["result"]["allowed"] is True and "keeps admin" in r["result"]["reason"], r
r = call("policy.check", {"as": {"uid": 65534}, "request": {"method": "admin.stats"}})
assert r["result"]["allowed"] is False, r
# The rest of root's actions follow the rules: no create of AF_INET.
r = call("socket.create", {"family": "AF_INET", "type": "SOCK_STREAM"})
assert r.get("error", {}).get("code") == -32010, r
pid = os.fork()
if pid == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    r = session(sys.argv[1])("admin.stats", {})
    os._exit(0 if r.get("error", {}).get("code") == -32010 else 1)
_, st = os.waitpid(pid, 0)
assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "nobody got admin"
print("ok")
EOF2

sbd_stop
[ "$failures" -eq 0 ]
