#!/bin/bash
# Hostile test, issue 9: acting as the caller needs CAP_SETUID and
# CAP_SETGID. A daemon without them (a unit that drops them) must fail
# closed: an AF_UNIX connect or bind for another user is refused with EPERM
# rather than made as root, and SO_REUSEPORT is refused on sockets the daemon
# could not make the caller's. The daemon runs as root with both taken out of
# its bounding set (setpriv), which leaves them out of its capabilities.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root without CAP_SETUID/CAP_SETGID"
command -v setpriv >/dev/null 2>&1 || missing "setpriv is not installed"
hostile_setup h_nocaps
mkdir -m 0777 "$dir/nc"

set_policy <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody on UNIX paths and the loopback", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": "AF_UNIX" },
               { "action": "connect", "family": "AF_UNIX", "path": "$dir/nc/" },
               { "action": "bind", "family": "AF_UNIX", "path": "$dir/nc/" },
               { "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" },
               { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.0/8" } ] } ] }
EOF2

full_sbd=$SBD
cat >"$dir/sbd-nocaps" <<EOF2
#!/bin/sh
exec setpriv --bounding-set=-setuid,-setgid "$full_sbd" "\$@"
EOF2
chmod 0755 "$dir/sbd-nocaps"
SBD="$dir/sbd-nocaps"
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start
SBD=$full_sbd

# CAP_SETUID is bit 7, CAP_SETGID bit 6 of CapEff.
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$daemon_pid/status")
if [ $(( 0x$capeff & 0xc0 )) -eq 0 ]; then
	pass "the daemon runs without CAP_SETUID and CAP_SETGID (CapEff $capeff)"
else
	fail "the daemon still has CAP_SETUID or CAP_SETGID (CapEff $capeff)"
fi

nobody_checks "acting as the caller without the capabilities" nocaps "$sock" "$dir"

hostile_stop
