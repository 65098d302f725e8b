#!/bin/bash
# Integration test: daemon.restart, SIGUSR2 and sockbrokerctl restart
# (tests/restart_checks.py starts the daemon itself from a copy of the binary
# in a private directory, with a policy and sockets.d of its own, and plays
# the service manager's notify side). Needs root (nobody's refusal runs as
# uid 65534); exits 77 without it or python3, unless CI=true (then a failure).

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
need_root "restart checks run a request as nobody"
if [ -z "${SBCTL:-}" ] || [ ! -x "$SBCTL" ]; then
	missing "sockbrokerctl not built (SBCTL='${SBCTL:-}')"
fi
sbd_setup it_restart
# nobody reaches the control socket in it.
chmod 755 "$dir"

rc=0
timeout 300 "$py" "$SRCDIR/tests/restart_checks.py" "$SBD" "$SBCTL" "$dir" >"$dir/out" 2>&1 </dev/null || rc=$?
cat "$dir/out"
if [ "$rc" -ne 0 ]; then
	echo "# daemon log:"
	sed 's/^/    | /' "$dir/daemon.log" 2>/dev/null | tail -80
	exit 1
fi
