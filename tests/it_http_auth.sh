#!/bin/bash
# Integration test: who may see what over HTTP (docs/http.md, policy.md
# "HTTP callers"). Bearer tokens (missing, wrong, expired, reloaded), the
# policy's token member and http_rpc action, the audit record of every
# refusal, the live audit stream and a client that never reads it,
# /metrics checked by promtool, and the HTTP face's share of the loop.

set -eu

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

need_python_client
command -v promtool >/dev/null 2>&1 || missing "promtool (Debian package prometheus) is not installed"

sbd_setup it_http_auth
chmod 755 "$dir"
SECRET_GRAFANA=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
SECRET_PLAIN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
SECRET_RPC=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
SECRET_OLD=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SECRET_GRAFANA SECRET_PLAIN SECRET_RPC SECRET_OLD
(
	umask 077
	cat >"$dir/tokens.json" <<JSON
{ "version": 1, "tokens": [
  { "name": "grafana", "secret": "$SECRET_GRAFANA", "user": "nobody" },
  { "name": "plain", "secret": "$SECRET_PLAIN", "user": "nobody" },
  { "name": "rpc", "secret": "$SECRET_RPC", "user": "nobody" },
  { "name": "old", "secret": "$SECRET_OLD", "user": "nobody", "expires": "2020-01-01T00:00:00Z" } ] }
JSON
)
cat >"$dir/policy.json" <<'JSON'
{ "version": 1,
  "rules": [
    { "name": "root administers", "match": { "uid": 0 },
      "allow": [ { "action": "admin" }, { "action": "create" } ] },
    { "name": "monitoring by token", "match": { "token": "grafana" },
      "allow": [ { "action": "admin" } ] },
    { "name": "rpc by token", "match": { "token": "rpc" },
      "allow": [ { "action": "http_rpc" }, { "action": "resolve" } ] }
  ] }
JSON
sbd_start --policy "$dir/policy.json" --audit-log "$dir/audit.log" --http-token-file "$dir/tokens.json" \
	--http "unix:$dir/http.sock" --http tcp:127.0.0.1:0 --http-max-stream-bytes 16384 --http-idle-timeout 4

port=$(sed -n 's/.*http: serving on tcp:127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/daemon.log" | head -n 1)
export HTTP_UNIX="unix:$dir/http.sock" HTTP_TCP="tcp:127.0.0.1:$port" SOCK="$sock" DAEMON_PID="$daemon_pid" \
	AUDIT="$dir/audit.log" LOG="$dir/daemon.log" TOKENS="$dir/tokens.json" POLICY="$dir/policy.json"

run_part() {
	if "$@" >"$dir/part.out" 2>&1; then st=0; else st=$?; fi
	cat "$dir/part.out"
	checks=$((checks + $(grep -c '^\(not \)\?ok - ' "$dir/part.out" || true)))
	failures=$((failures + $(grep -c '^not ok - ' "$dir/part.out" || true)))
	if [ "$st" -ne 0 ] && ! grep -q '^not ok - ' "$dir/part.out"; then
		fail "$* exited $st"
	fi
}
run_part env PART=auth "$py" "$SRCDIR/tests/http_auth_checks.py"
run_part env PART=stream "$py" "$SRCDIR/tests/http_auth_checks.py"
sbd_stop
rm -f "$dir/notify.fifo" "$dir/notify.sock"

sbd_start --http tcp:127.0.0.1:0 --http-max-cpu-percent 1
port=$(sed -n 's/.*http: serving on tcp:127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/daemon.log" | head -n 1)
export HTTP_TCP="tcp:127.0.0.1:$port" DAEMON_PID="$daemon_pid" HTTP_UNIX="unix:/nonexistent"
run_part env PART=budget "$py" "$SRCDIR/tests/http_auth_checks.py"
sbd_stop
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
