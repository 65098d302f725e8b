#!/bin/bash
# Integration test: socket.recvmsg's ancbufsize and msg_flags against
# Python's socket.recvmsg doing the same in the same test
# (tests/recvmsg_anc.py), on a daemon on a private socket in a temp dir.
# Exits 77 (skipped) without python3, unless CI=true, where that is a failure.
# Readiness: the daemon's READY=1 (sbd-lib.sh), no sleeps.

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
driver="$SRCDIR/tests/recvmsg_anc.py"
[ -r "$driver" ] || missing "$driver not found"

sbd_setup it_recvmsg_anc
sbd_start

rc=0
timeout 120 "$py" "$driver" "$sock" >"$dir/out" 2>&1 </dev/null || rc=$?
sed 's/^/    /' "$dir/out"
: >"$dir/out"
if [ "$rc" -eq 0 ]; then
	pass "recvmsg_anc.py: the daemon's recvmsg is Python's in every case"
else
	fail "recvmsg_anc.py: the daemon's recvmsg differs from Python's (exit $rc)"
fi

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
