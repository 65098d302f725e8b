#!/bin/bash
# Integration test: tests/jsonrpc-client.py, a client written with Python's
# standard library only, against "$SBD" on a private socket in a temp dir.
# Exits 77 (skipped) without python3, unless CI=true, where that is a failure.
#
# Readiness without sleeps: a python3 listener binds a private NOTIFY_SOCKET,
# says so on a fifo, and exits when the daemon's READY=1 datagram arrives;
# every wait is bounded by timeout.

set -eu

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

need_python_client
client_py="${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/jsonrpc-client.py"
[ -r "$client_py" ] || missing "$client_py not found"

sbd_setup it_python
sbd_start

# ---------------------------------------------------------------- the client

rc=0
timeout 60 "$py" "$client_py" "$sock" >"$dir/out" 2>&1 || rc=$?
sed 's/^/    /' "$dir/out"
: >"$dir/out"
if [ "$rc" -eq 0 ]; then
	pass "jsonrpc-client.py passes every check"
else
	fail "jsonrpc-client.py failed (exit $rc)"
fi

# ---------------------------------------------------------------- stop the daemon

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
