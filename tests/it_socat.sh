#!/bin/bash
# Integration test: socat as the client, as the protocol promises
# ("socat - UNIX-CONNECT:... is a usable client"). Starts "$SBD" on a private
# socket in a temp dir. Exits 77 (skipped) without socat or python3, unless
# CI=true, where a missing tool is a failure.
#
# Readiness without sleeps: a python3 listener binds a private NOTIFY_SOCKET,
# says so on a fifo, and exits when the daemon's READY=1 datagram arrives;
# every wait is bounded by timeout.

set -eu

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

: "${SBD:=}"
if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
	missing "daemon not built (SBD='$SBD' is not executable)"
fi
command -v socat >/dev/null 2>&1 || missing "socat is not installed"
command -v python3 >/dev/null 2>&1 || missing "python3 is needed to check JSON replies"

sbd_setup it_socat
sbd_start

# ---------------------------------------------------------------- helpers

# client: stdin goes to the daemon, replies to $dir/out. socat half-closes
# after stdin's EOF; the daemon answers, then closes, and socat exits.
client() {
	timeout 10 socat -t 5 - "UNIX-CONNECT:$sock" >"$dir/out"
}

# json_check EXPR: every non-empty line of $dir/out parses as JSON; EXPR is
# evaluated with `lines` (the parsed lines) and `d` (the first one).
json_check() {
	"$py" -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
d = lines[0] if lines else None
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$1" "$dir/out" 2>"$dir/pyerr"
}

# ---------------------------------------------------------------- checks

if echo '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' | client; then
	pass "socat exits 0 after a request"
else
	fail "socat failed on a request"
fi
if json_check 'len(lines) == 1 and d["jsonrpc"] == "2.0" and d["id"] == 1 and d["result"]["protocol"] == 1'; then
	pass "daemon.info returns one line with \"protocol\":1"
else
	fail "daemon.info does not return one line with \"protocol\":1"
fi
if [ "$(wc -l <"$dir/out")" -eq 1 ] && [ "$(tail -c1 "$dir/out" | od -An -c | tr -d ' ')" = '\n' ]; then
	pass "the reply is one line ending in \\n"
else
	fail "the reply is not exactly one newline-terminated line"
fi
if json_check "d['result']['pid'] == $daemon_pid"; then
	pass "daemon.info gives the daemon's pid"
else
	fail "daemon.info pid is not $daemon_pid"
fi

echo '{"jsonrpc":"2.0","method":"daemon.info"}' | client || true
if [ ! -s "$dir/out" ]; then
	pass "a notification gets no reply"
else
	fail "a notification got a reply"
fi

echo '[{"jsonrpc":"2.0","id":1,"method":"daemon.info"},{"jsonrpc":"2.0","method":"daemon.ping"},{"jsonrpc":"2.0","id":"b","method":"daemon.ping"}]' | client || true
if json_check 'len(lines) == 1 and isinstance(d, list) and sorted(str(r["id"]) for r in d) == ["1", "b"] and all("result" in r for r in d)'; then
	pass "a batch returns one array with a reply per request (none for its notification)"
else
	fail "a batch does not return the expected array"
fi

echo '[{"jsonrpc":"2.0","method":"daemon.ping"}]' | client || true
if [ ! -s "$dir/out" ]; then
	pass "a batch of notifications gets no reply"
else
	fail "a batch of notifications got a reply"
fi

echo '[]' | client || true
if json_check 'len(lines) == 1 and d["id"] is None and d["error"]["code"] == -32600'; then
	pass "an empty batch gets -32600"
else
	fail "an empty batch does not get -32600"
fi

echo '{"jsonrpc":"2.0","id":1,"method":' | client || true
if json_check 'len(lines) == 1 and d["id"] is None and d["error"]["code"] == -32700'; then
	pass "a parse error gets -32700 with id null"
else
	fail "a parse error does not get -32700 with id null"
fi

echo '{"jsonrpc":"2.0","id":7,"method":"no.such.method"}' | client || true
if json_check 'd["id"] == 7 and d["error"]["code"] == -32601'; then
	pass "an unknown method gets -32601"
else
	fail "an unknown method does not get -32601"
fi

echo '{"jsonrpc":"2.0","id":8,"method":"daemon.info","params":[1]}' | client || true
if json_check 'd["id"] == 8 and d["error"]["code"] == -32602'; then
	pass "positional params get -32602"
else
	fail "positional params do not get -32602"
fi

{
	for i in 1 2 3 4 5; do
		printf '{"jsonrpc":"2.0","id":%d,"method":"daemon.ping"}\n' "$i"
	done
	printf '{"jsonrpc":"2.0","id":"w","method":"daemon.whoami"}\n'
	printf 'not json\n'
	printf '{"jsonrpc":"2.0","id":6,"method":"daemon.info"}\n'
} | client || true
if json_check 'len(lines) == 8 and sorted(str(r["id"]) for r in lines) == sorted(["1","2","3","4","5","w","None","6"]) and next(r for r in lines if r["id"] == "w")["result"]["uid"] == '"$(id -u)"; then
	pass "requests piped in at once all get their replies"
else
	fail "requests piped in at once do not all get their replies"
fi

# A request split across writes is still one message.
{ printf '{"jsonrpc":"2.0",'; printf '"id":9,"method":"daemon.ping"}\n'; } | client || true
if json_check 'len(lines) == 1 and d["id"] == 9 and d["result"]["pong"] is True'; then
	pass "a request written in two pieces gets one reply"
else
	fail "a request written in two pieces does not get one reply"
fi

# ---------------------------------------------------------------- stop the daemon

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
