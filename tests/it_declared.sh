#!/bin/bash
# Integration test: declared sockets (--sockets, docs/declared.md). The daemon
# makes a TCP listener that accepts, a UNIX listener with its mode and owner,
# and a socket whose port is taken fails alone; --check-config reports a
# wrong file with its position; daemon.reload adds, removes, replaces a
# changed socket and keeps an unchanged one (the same inode); a wrong file at
# reload keeps the old sockets; a stop removes the UNIX paths.

set -eu

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

need_python_client
need_root "a UNIX socket given to another owner (nobody) needs root"

sbd_setup it_declared
mkdir -p "$dir/policy.d" "$dir/sockets.d"
# Free ports: bound and released by the kernel's choice.
read -r port1 port2 < <("$py" -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')

# connects HOST PORT: exit 0 when a TCP connection is established.
connects() {
	"$py" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.close()' "$1" "$2" 2>"$dir/out"
}
# unix_connects PATH: exit 0 when a UNIX stream connection is established.
unix_connects() {
	"$py" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.close()' "$1" 2>"$dir/out"
}
# held EXPR: hold.list over the control socket; EXPR (Python) judges
# `names` ({name: entry} of hold.list) and `call` (more requests).
held() {
	"$py" - "$sock" "$1" <<'PY' >"$dir/out" 2>&1
import sys
from rpc_session import connect
s, call = connect(sys.argv[1], timeout=30)
r = call("hold.list", {})
names = {h["name"]: h for h in r["result"]["held"]}
ok = eval(sys.argv[2])
print(r)
sys.exit(0 if ok else 1)
PY
}

# reload: daemon.reload over the control socket; its reply in $dir/out.
reload() {
	"$py" -c '
import json, sys
from rpc_session import connect
s, call = connect(sys.argv[1], timeout=30)
r = call("daemon.reload", {})
print(json.dumps(r))
sys.exit(0 if "result" in r else 1)' "$sock" >"$dir/out" 2>&1
}

cat >"$dir/sockets.d/10-web.json" <<EOF
{"version": 1, "sockets": [
  {"name": "web", "address": "tcp:127.0.0.1:$port1", "backlog": 16,
   "options": {"SO_REUSEADDR": true, "SO_RCVBUF": 65536}},
  {"name": "app", "address": "unix:$dir/run/app.sock", "mode": "0640", "owner": "nobody"},
  {"name": "keep", "address": "unix:$dir/run/keep.sock"}
]}
EOF
# busy asks for web's port, without SO_REUSEPORT: it cannot be made.
cat >"$dir/sockets.d/20-busy.json" <<EOF
{"version": 1, "sockets": [{"name": "busy", "address": "tcp:127.0.0.1:$port1"}]}
EOF

if "$SBD" --policy "$dir/policy.d" --sockets "$dir/sockets.d" --check-config >"$dir/out" 2>&1 &&
	grep -q "sockets.d: 4 declared sockets, valid" "$dir/out" &&
	grep -q "  web: tcp:127.0.0.1:$port1 (listening)" "$dir/out"; then
	pass "--check-config lists the declared sockets"
else
	fail "--check-config on good files"
fi
echo '{"version": 1, "sockets": [
  {"name": "bad", "address": "tcp:localhost:80"}]}' >"$dir/bad.json"
rc=0
"$SBD" --policy "$dir/policy.d" --sockets "$dir/bad.json" --check-policy >"$dir/out" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && grep -q "^$dir/bad.json:2:19: sockets\[0\].address: \"tcp:localhost:80\": ADDR is an IPv4 literal" "$dir/out"; then
	pass "--check-policy reports a wrong declared socket with file:line:column, exit 1"
else
	fail "--check-policy on a wrong file (exit $rc)"
fi
rc=0
"$SBD" --policy "$dir/policy.d" --sockets "$dir/bad.json" --socket "$dir/other.sock" >"$dir/out" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && grep -q "bad.json:2:19:" "$dir/out"; then
	pass "the daemon does not start with a wrong declared-sockets file"
else
	fail "the daemon with a wrong declared-sockets file (exit $rc)"
fi

sbd_start --policy "$dir/policy.d" --sockets "$dir/sockets.d"

if connects 127.0.0.1 "$port1"; then
	pass "the declared tcp listener web accepts on 127.0.0.1:$port1"
else
	fail "connect to the declared tcp listener"
fi
if grep -q "declared socket busy ($dir/sockets.d/20-busy.json): cannot be made: bind: Address already in use" \
	"$dir/daemon.log" && grep -q "1 of 4 declared sockets could not be made" "$dir/daemon.log"; then
	pass "a declared socket whose port is taken is an error for it alone, logged"
else
	fail "no log line for the taken port"
	sed 's/^/    | /' "$dir/daemon.log"
fi
if [ "$(stat -c '%F %a %U %G' "$dir/run/app.sock")" = "socket 640 nobody root" ] && unix_connects "$dir/run/app.sock"; then
	pass "the declared unix listener app has mode 0640, owner nobody, and accepts"
else
	fail "the declared unix socket: $(stat -c '%F %a %U %G' "$dir/run/app.sock" 2>&1)"
fi
keep_ino=$(stat -c %i "$dir/run/keep.sock")

# They are in the held sockets' name space, read-only.
if held '"busy" not in names and all(names.get(n, {}).get("declared") is True for n in ("web", "app", "keep"))'; then
	pass "hold.list shows the declared sockets that were made, marked declared"
else
	fail "hold.list does not show the declared sockets"
fi
if held 'call("socket.getsockname", {"handle": call("hold.get", {"name": "keep"})["result"]["handle"]})["result"]["address"] == {"path": "'"$dir/run/keep.sock"'"}'; then
	pass "hold.get of a declared socket gives a handle to it"
else
	fail "hold.get of a declared socket"
fi
if held 'all(call(m, {"name": "keep"})["error"]["code"] == -32015 for m in ("hold.take", "hold.remove"))'; then
	pass "hold.take and hold.remove of a declared socket are refused (-32015)"
else
	fail "take or remove of a declared socket"
fi

# Reload: web changed (its backlog), app removed, new added, keep unchanged,
# busy now on a free port.
cat >"$dir/sockets.d/10-web.json" <<EOF
{"version": 1, "sockets": [
  {"name": "web", "address": "tcp:127.0.0.1:$port1", "backlog": 32,
   "options": {"SO_REUSEADDR": true, "SO_RCVBUF": 65536}},
  {"name": "keep", "address": "unix:$dir/run/keep.sock"},
  {"name": "new", "address": "unix:$dir/run/new.sock", "mode": "0600"}
]}
EOF
cat >"$dir/sockets.d/20-busy.json" <<EOF
{"version": 1, "sockets": [{"name": "busy", "address": "tcp:127.0.0.1:$port2"}]}
EOF
if reload; then
	pass "daemon.reload with changed declared sockets"
else
	fail "daemon.reload"
fi
if grep -q "declared socket web: closed (changed)" "$dir/daemon.log" && connects 127.0.0.1 "$port1"; then
	pass "a changed declared socket is replaced and accepts again"
else
	fail "the changed socket web"
fi
if [ ! -e "$dir/run/app.sock" ] && grep -q "declared socket app: closed (no longer declared)" "$dir/daemon.log"; then
	pass "a declared socket no longer declared is closed, its path removed"
else
	fail "the removed socket app"
fi
if [ "$(stat -c '%F %a' "$dir/run/new.sock")" = "socket 600" ] && unix_connects "$dir/run/new.sock"; then
	pass "a newly declared socket is made on reload"
else
	fail "the new socket"
fi
if [ "$(stat -c %i "$dir/run/keep.sock")" = "$keep_ino" ] && unix_connects "$dir/run/keep.sock"; then
	pass "an unchanged declared socket is kept: the same inode"
else
	fail "the unchanged socket keep was replaced"
fi
if connects 127.0.0.1 "$port2"; then
	pass "a socket that failed before is made at the reload once its port is free"
else
	fail "busy on its free port"
fi
if held '"app" not in names and all(names.get(n, {}).get("declared") for n in ("web", "keep", "new", "busy"))'; then
	pass "after the reload the held sockets follow: app gone, new and busy there"
else
	fail "the held sockets after the reload"
fi

# A wrong file at reload: the old sockets stay.
echo '{"version": 1, "sockets": [{"name": "other"}]}' >"$dir/sockets.d/30-bad.json"
if reload && grep -q "declared sockets not reloaded, the old ones stay: $dir/sockets.d/30-bad.json:1:28: sockets\[0\]: \"address\" is missing" \
	"$dir/daemon.log" && connects 127.0.0.1 "$port1" && unix_connects "$dir/run/new.sock"; then
	pass "a wrong file at reload is logged with its position; the old sockets stay"
else
	fail "a wrong file at reload"
	sed 's/^/    | /' "$dir/daemon.log"
fi

sbd_stop
if [ ! -e "$dir/run/new.sock" ] && [ ! -e "$dir/run/keep.sock" ]; then
	pass "the declared UNIX paths are removed at stop"
else
	fail "declared UNIX paths left behind"
fi

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
