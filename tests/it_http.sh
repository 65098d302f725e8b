#!/bin/bash
# Integration test: the HTTP face (docs/http.md). The real daemon with a
# unix: and a tcp: listener, driven by curl and by Python (http.client over
# the unix: socket, urllib over TCP): every endpoint against what the
# control socket says, a caller the policy refuses (nobody: 403 and its
# audit record), bad input (paths, methods, headers, bodies), a slow client,
# 1,000 idle keep-alive connections and the connection limit, with the
# daemon's descriptors and memory back afterwards.

set -eu

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

need_python_client
[ -x /usr/bin/python3 ] || missing "/usr/bin/python3 is needed for the checks as nobody"
need_root "the nobody checks run a client as uid 65534"
command -v curl >/dev/null 2>&1 || missing "curl is not installed"
command -v setpriv >/dev/null 2>&1 || missing "setpriv (util-linux) is not installed"

sbd_setup it_http
chmod 755 "$dir"

# --http: at most 4 listeners, each unix:PATH or tcp:ADDR:PORT (usage errors, exit 2).
for args in "--http unix:$dir/a --http unix:$dir/b --http unix:$dir/c --http unix:$dir/d --http unix:$dir/e" \
	"--http udp:127.0.0.1:80" "--http tcp:nocolon" "--http unix:"; do
	rc=0
	# shellcheck disable=SC2086
	"$SBD" --socket "$dir/never.sock" --policy "$dir/sockets.d" $args >"$dir/out" 2>&1 || rc=$?
	if [ "$rc" -eq 2 ] && grep -q -- "--http" "$dir/out" && [ ! -e "$dir/never.sock" ]; then
		pass "sockbrokerd $args: usage error, exit 2"
	else
		fail "sockbrokerd $args: exit $rc"
	fi
done
cat >"$dir/policy.json" <<'JSON'
{ "version": 1,
  "rules": [
    { "name": "root administers", "match": { "uid": 0 },
      "allow": [ { "action": "admin" }, { "action": "create" }, { "action": "resolve" },
                 { "action": "bind", "address": "127.0.0.1/32" } ] },
    { "name": "nobody looks up services", "match": { "uid": 65534 },
      "allow": [ { "action": "resolve" } ] }
  ] }
JSON
chmod 644 "$dir/policy.json"
sbd_start --policy "$dir/policy.json" --audit-log "$dir/audit.log" \
	--http "unix:$dir/http.sock" --http tcp:127.0.0.1:0 \
	--http-max-connections 1100 --http-max-connections-per-ip 1100 --http-idle-timeout 5

port=$(sed -n 's/.*http: serving on tcp:127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/daemon.log" | head -n 1)
if [ -n "$port" ] && [ -S "$dir/http.sock" ]; then
	pass "the daemon serves HTTP on $dir/http.sock and on 127.0.0.1:$port"
else
	fail "no HTTP listeners in the log"
	sed 's/^/    | /' "$dir/daemon.log"
	exit 1
fi
# A sanitizer build: RSS is not compared (ASan's quarantine keeps freed memory).
SBD_ASAN=0
if ldd "$SBD" 2>/dev/null | grep -q libasan; then SBD_ASAN=1; fi
export SBD_ASAN
export HTTP_UNIX="unix:$dir/http.sock" HTTP_TCP="tcp:127.0.0.1:$port" SOCK="$sock" DAEMON_PID="$daemon_pid" \
	AUDIT="$dir/audit.log"

# curl, over the unix: socket and over TCP
if curl -sS --unix-socket "$dir/http.sock" http://localhost/v1/info >"$dir/out" &&
	"$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["pid"] == int(sys.argv[2]) else 1)' \
		"$dir/out" "$daemon_pid"; then
	pass "curl --unix-socket GET /v1/info"
else
	fail "curl --unix-socket GET /v1/info"
fi
code=$(curl -sS -o "$dir/out" -w '%{http_code}' "http://127.0.0.1:$port/v1/whoami")
if [ "$code" = 401 ] && grep -q '"status":401' "$dir/out"; then
	pass "curl over TCP without a token: /v1/whoami is 401"
else
	fail "curl over TCP without a token: /v1/whoami gave $code"
fi

run_part() {
	if "$@" >"$dir/part.out" 2>&1; then st=0; else st=$?; fi
	cat "$dir/part.out"
	checks=$((checks + $(grep -c '^\(not \)\?ok - ' "$dir/part.out" || true)))
	failures=$((failures + $(grep -c '^not ok - ' "$dir/part.out" || true)))
	if [ "$st" -ne 0 ] && ! grep -q '^not ok - ' "$dir/part.out"; then
		fail "$* exited $st"
	fi
}
run_part env PART=admin "$py" "$SRCDIR/tests/http_checks.py"
# The system's interpreter: a version manager's may live where nobody cannot read.
run_part setpriv --reuid=65534 --regid=65534 --clear-groups env PART=nobody /usr/bin/python3 \
	"$SRCDIR/tests/http_checks.py"
nobody_pid=$(sed -n 's/^# pid \([0-9]*\)$/\1/p' "$dir/part.out")
run_part env PART=nobody_audit NOBODY_PID="${nobody_pid:-0}" "$py" "$SRCDIR/tests/http_checks.py"
run_part env PART=limits "$py" "$SRCDIR/tests/http_checks.py"

sbd_stop
rm -f "$dir/notify.fifo" "$dir/notify.sock"
if [ -e "$dir/http.sock" ]; then fail "the HTTP socket is left behind"; else pass "the daemon removed its HTTP socket"; fi

# The connection limit, and --http-anonymous=none.
sbd_start --http tcp:127.0.0.1:0 --http-max-connections 20 --http-idle-timeout 60 --http-anonymous none
port=$(sed -n 's/.*http: serving on tcp:127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/daemon.log" | head -n 1)
export HTTP_TCP="tcp:127.0.0.1:$port" DAEMON_PID="$daemon_pid"
run_part env PART=connlimit "$py" "$SRCDIR/tests/http_checks.py"
sbd_stop
rm -f "$dir/notify.fifo" "$dir/notify.sock"

# The per-address limit.
sbd_start --http tcp:127.0.0.1:0 --http-max-connections-per-ip 3
port=$(sed -n 's/.*http: serving on tcp:127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/daemon.log" | head -n 1)
export HTTP_TCP="tcp:127.0.0.1:$port" DAEMON_PID="$daemon_pid"
run_part env PART=perip "$py" "$SRCDIR/tests/http_checks.py"
sbd_stop
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
