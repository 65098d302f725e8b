#!/bin/sh
# Integration test of sockbrokerctl against the real daemon on a private
# socket. Needs SBD (daemon/sockbrokerd) and SBCTL (client/sockbrokerctl);
# exits 77 (skipped) when they are not built.
#
# Synchronisation: the daemon's stderr goes to a fifo; we block on its
# "ready" line (bounded by timeout 10), never on sleeps or retry loops.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

ctl_need_tools "to check JSON output"
ctl_setup it_ctl

# ---------------------------------------------------------------- start the daemon

# shellcheck disable=SC2119 # the daemon takes no arguments beyond --socket
ctl_start_daemon
# The daemon's own pid, from "... ready on PATH (pid N)".
sbd_pid=$(sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' "$dir/ready")

# ---------------------------------------------------------------- checks

ctl --socket "$sock" info
expect_rc 0 "info"
expect_out '^protocol: +1$' "$dir/out" "info shows protocol 1"
if [ -n "$sbd_pid" ]; then
	expect_out "^pid: +$sbd_pid\$" "$dir/out" "info shows the daemon's pid"
fi
expect_out '^version: ' "$dir/out" "info shows a version"
expect_out '^families: .*AF_UNIX' "$dir/out" "info lists AF_UNIX"
expect_out '^uptime: ' "$dir/out" "info shows the uptime"

ctl --json --socket "$sock" info
expect_rc 0 "--json info"
if json_check 'd["protocol"] == 1 and isinstance(d["families"], list)'; then
	pass "--json info parses as JSON with protocol 1"
else
	fail "--json info does not parse as JSON with protocol 1"
fi
if [ "$(wc -l <"$dir/out")" -eq 1 ]; then pass "--json output is one line"; else fail "--json output is not one line"; fi

ctl -j -s "$sock" info
expect_rc 0 "short options -j -s"

ctl --socket "$sock" whoami
expect_rc 0 "whoami"
expect_out "^uid: +$(id -u)( |\$)" "$dir/out" "whoami shows our uid"
expect_out "^gid: +$(id -g)( |\$)" "$dir/out" "whoami shows our gid"

ctl --socket "$sock" call daemon.info '{}'
expect_rc 0 "call daemon.info '{}'"
if json_check 'd["protocol"] == 1'; then pass "call prints the result as JSON"; else fail "call output is not the JSON result"; fi

ctl --socket "$sock" call daemon.whoami
expect_rc 0 "call with the default params"
if json_check "d['uid'] == $(id -u)"; then pass "call daemon.whoami gives our uid"; else fail "call daemon.whoami uid"; fi

SOCKBROKER_SOCKET="$sock" "$SBCTL" info >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "info via SOCKBROKER_SOCKET"

ctl --socket "$sock" call no.such.method
expect_rc 1 "call no.such.method"
expect_out '-32601' "$dir/err" "the error shows code -32601"
expect_out '^sockbrokerctl: .*\(code -32601\)$' "$dir/err" "the error has the documented form"

ctl --socket "$sock" call daemon.ping '{"delay": -5, "bogus": 1}'
expect_rc 1 "call with invalid params"
expect_out '-32602' "$dir/err" "invalid params give -32602"

ctl --socket "$sock" --timeout 0.2 call daemon.ping '{"delay": 3}'
expect_rc 3 "a reply slower than --timeout"

ctl --socket "$dir/nonexistent.sock" info
expect_rc 3 "--socket to a missing socket"
expect_out '^sockbrokerctl: cannot connect' "$dir/err" "the connect error is reported"

ctl --socket "$sock" no-such-command
expect_rc 2 "unknown command"
ctl --socket "$sock"
expect_rc 2 "no command"
ctl --socket "$sock" call
expect_rc 2 "call without METHOD"
ctl --socket "$sock" call daemon.info '[1]'
expect_rc 2 "call with params that are not an object"
ctl --socket "$sock" call daemon.info '{oops'
expect_rc 2 "call with params that are not JSON"
ctl --socket "$sock" info extra
expect_rc 2 "info with an extra argument"
ctl --timeout soon info
expect_rc 2 "--timeout that is not a number"
ctl --no-such-option info
expect_rc 2 "unknown option"

ctl --help
expect_rc 0 "--help"
expect_out '^Exit status:' "$dir/out" "--help documents the exit statuses"
expect_out '^  whoami ' "$dir/out" "--help lists the commands"
ctl help info
expect_rc 0 "help info"
ctl --version
expect_rc 0 "--version"
expect_out '^sockbrokerctl [0-9]' "$dir/out" "--version prints the version"

# ---------------------------------------------------------------- sockets and look-ups

ctl --socket "$sock" resolve localhost
expect_rc 0 "resolve localhost"
expect_out '^AF_INET +SOCK_STREAM +127\.0\.0\.1:0$' "$dir/out" "resolve localhost prints 127.0.0.1"

ctl --socket "$sock" resolve 127.0.0.1 80
expect_rc 0 "resolve with a port"
expect_out '^AF_INET +SOCK_STREAM +127\.0\.0\.1:80$' "$dir/out" "resolve shows the port"

ctl --json --socket "$sock" resolve localhost 80
expect_rc 0 "--json resolve"
if json_check 'any(r["address"]["host"] == "127.0.0.1" and r["address"]["port"] == 80 for r in d["results"])'; then
	pass "--json resolve parses and holds 127.0.0.1 port 80"
else
	fail "--json resolve does not hold 127.0.0.1 port 80"
fi

ctl --socket "$sock" resolve localhost 70000
expect_rc 2 "resolve with a port out of range"

ctl --socket "$sock" sockets
expect_rc 0 "sockets"
expect_out '^HANDLE +FAMILY +TYPE +LOCAL +PEER$' "$dir/out" "sockets prints its table's header"
ctl --json --socket "$sock" sockets
expect_rc 0 "--json sockets"
if json_check 'd["sockets"] == []'; then pass "--json sockets: a new connection has none"; else fail "--json sockets"; fi

ctl --socket "$sock" socket info 999
expect_rc 1 "socket info 999"
expect_out '\(code -32011\)$' "$dir/err" "socket info of an unknown handle gives -32011"
ctl --socket "$sock" socket info nine
expect_rc 2 "socket info with a handle that is not a number"
ctl --socket "$sock" socket info
expect_rc 2 "socket info without HANDLE"

ctl --socket "$sock" listen tcp:127.0.0.1:0
expect_rc 0 "listen tcp:127.0.0.1:0"
expect_out '^local: +127\.0\.0\.1:[1-9][0-9]*$' "$dir/out" "listen prints the port it got"
expect_out '^type: +SOCK_STREAM$' "$dir/out" "listen tcp gives a stream socket"

ctl --json --socket "$sock" listen udp:127.0.0.1:0
expect_rc 0 "--json listen udp:127.0.0.1:0"
if json_check 'd["type"] == "SOCK_DGRAM" and d["local"]["port"] > 0'; then
	pass "--json listen udp gives a bound datagram socket"
else
	fail "--json listen udp"
fi

ctl --socket "$sock" listen "unix:$dir/l.sock"
expect_rc 0 "listen unix:PATH"
expect_out "^local: +$dir/l.sock\$" "$dir/out" "listen unix prints the path"
ctl --socket "$sock" listen "unix:$dir/l.sock"
expect_rc 1 "listen on a unix path that exists"
expect_out 'EADDRINUSE' "$dir/err" "the error names EADDRINUSE"

for spec in tcp:127.0.0.1 tcp:127.0.0.1:70000 'tcp:[::1:80' sctp:127.0.0.1:80 'tcp:::1:80' unix:; do
	ctl --socket "$sock" listen "$spec"
	expect_rc 2 "listen with the bad spec '$spec'"
done
ctl --socket "$sock" listen tcp:127.0.0.1:0 -5
expect_rc 2 "listen with a negative backlog"

# A port of our own that nobody listens on: take one from the daemon, which
# closes it when the command exits.
ctl --json --socket "$sock" listen tcp:127.0.0.1:0
port=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["local"]["port"])' <"$dir/out")
ctl --socket "$sock" connect 127.0.0.1 "$port"
expect_rc 1 "connect to a closed port"
expect_out 'ECONNREFUSED' "$dir/err" "connect reports ECONNREFUSED"
ctl --socket "$sock" connect 127.0.0.1 http
expect_rc 2 "connect with a port that is not a number"

# A listener of our own (Python), accepting one connection; its port comes
# through a fifo, so no sleeps.
mkfifo "$dir/port.fifo" || exit 99
python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(30)
print(s.getsockname()[1], flush=True)
try:
    c, _ = s.accept()
    c.close()
except OSError:
    pass
' >"$dir/port.fifo" &
py_pid=$!
read -r lport <"$dir/port.fifo"
ctl --socket "$sock" connect localhost "$lport"
expect_rc 0 "connect localhost to a listener"
expect_out "^peer: +127\\.0\\.0\\.1:$lport\$" "$dir/out" "connect shows the peer it reached"
expect_out '^local: +127\.0\.0\.1:[1-9]' "$dir/out" "connect shows its local address"
wait "$py_pid"

# ---------------------------------------------------------------- stop the daemon

ctl_stop_daemon
if [ -e "$sock" ]; then fail "the daemon left its socket behind"; else pass "the daemon removed its socket"; fi

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
