#!/bin/bash
# Integration test: the HTTP face from socket activation. systemd's own
# systemd-socket-activate passes three listening sockets, named as a unit's
# FileDescriptorName= would: the control socket, a UNIX socket named
# "http", and a TCP socket named otherwise (a TCP socket cannot be the
# control socket, so it goes to the HTTP face too). The first connection
# starts the daemon; all three then answer.

set -eu

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

need_python_client
command -v systemd-socket-activate >/dev/null 2>&1 || missing "systemd-socket-activate (systemd) is not installed"
command -v curl >/dev/null 2>&1 || missing "curl is not installed"

sbd_setup it_http_activate
mkdir -p "$dir/policy.d"
# A free port: bound and released by the kernel's choice (the activator binds it again).
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

unset LISTEN_FDS LISTEN_PID LISTEN_FDNAMES NOTIFY_SOCKET
# Its standard error comes through a FIFO: the shell reads the readiness
# lines as they come, then a relay keeps copying it to the log.
mkfifo "$dir/err.fifo"
systemd-socket-activate -l "$dir/control.sock" -l "$dir/http.sock" -l "127.0.0.1:$port" \
	--fdname=control:http:web \
	"$SBD" --socket "$dir/control.sock" --policy "$dir/policy.d" --sockets "$dir/sockets.d" 2>"$dir/err.fifo" &
daemon_pid=$!
exec 4<"$dir/err.fifo"
listening=0
while [ "$listening" -lt 3 ] && IFS= read -r -t 30 line <&4; do
	echo "$line" >>"$dir/daemon.log"
	case $line in "Listening on"*) listening=$((listening + 1)) ;; esac
done
cat <&4 >>"$dir/daemon.log" &
listener_pid=$!
exec 4<&-
if [ "$listening" -ge 3 ]; then
	pass "systemd-socket-activate listens on the control socket, http.sock and 127.0.0.1:$port"
else
	fail "systemd-socket-activate did not start"
	sed 's/^/    | /' "$dir/daemon.log"
	exit 1
fi

# The first connection, on the HTTP socket, execs the daemon, which answers it.
if curl -sS --max-time 30 --unix-socket "$dir/http.sock" http://localhost/v1/info >"$dir/out" &&
	"$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
want = {"unix:" + sys.argv[2], "tcp:127.0.0.1:" + sys.argv[3]}
sys.exit(0 if set(d["http"]) == want and d["pid"] == int(sys.argv[4]) else 1)' \
		"$dir/out" "$dir/http.sock" "$port" "$daemon_pid"; then
	pass "the activated daemon serves the socket named http; daemon.info lists both HTTP listeners"
else
	fail "GET /v1/info on the activated http.sock"
	sed 's/^/    | /' "$dir/daemon.log"
fi
if curl -sS --max-time 30 "http://127.0.0.1:$port/healthz" | grep -q '"status":"ok"'; then
	pass "the activated TCP socket is an HTTP listener"
else
	fail "GET /healthz on the activated TCP socket"
fi
if "$py" -c '
import sys, rpc_session
s, call = rpc_session.connect(sys.argv[1], timeout=30)
sys.exit(0 if call("daemon.ping").get("result") == {"pong": True} else 1)' "$dir/control.sock"; then
	pass "the socket named control is the control socket"
else
	fail "daemon.ping on the activated control socket"
fi
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
wait "$listener_pid" || true
listener_pid=
if grep -q 'http: serving on unix:'"$dir/http.sock" "$dir/daemon.log" &&
	grep -q "http: serving on tcp:127.0.0.1:$port" "$dir/daemon.log"; then
	pass "the daemon logs both activated HTTP listeners"
else
	fail "the daemon's log does not name both HTTP listeners"
fi
if [ "$rc" -eq 0 ]; then pass "the daemon exits 0 on SIGTERM"; else fail "the daemon exited $rc"; fi
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
