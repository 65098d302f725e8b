#!/bin/bash
# Integration test: the two bounded waits of daemon.restart at their limits
# (daemon/restart.h; tests/restart_limits.py says what it checks):
# - RESTART_ACK_MS: the new process's wait for the old one's 'A' after its
#   'R' -- the script plays the old process (it makes the hand-over: control
#   socket, state memfd, socket pair) and never answers, answers at once, or
#   closes its end; READY=1 comes after 5 s, at once, at once;
# - RESTART_NOTIFY_MS: the old process's wait for room in a full notify
#   queue before MAINPID= -- a restart against a queue never read completes
#   anyway (MAINPID= lost, and logged), one against a queue read again
#   within the wait delivers FDSTORE=, MAINPID= and READY=1 in order.
# Needs root (the daemon's policy is root's, as under systemd); exits 77
# without it or python3, unless CI=true (then a failure).

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
need_root "the daemon runs as root, as under systemd"
driver="$SRCDIR/tests/restart_limits.py"
[ -r "$driver" ] || missing "$driver not found"
sbd_setup it_restart_limits

rc=0
timeout 300 "$py" "$driver" "$SBD" "$dir" >"$dir/out" 2>&1 </dev/null || rc=$?
cat "$dir/out"
if [ "$rc" -ne 0 ]; then
	echo "# daemon log:"
	sed 's/^/    | /' "$dir/daemon.log" 2>/dev/null | tail -80
	exit 1
fi
