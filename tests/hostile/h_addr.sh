#!/bin/bash
# Hostile test, issue 9 item 4: unspecified destinations skipped the address
# denies. A rule allows connect to 0.0.0.0/0 and ::/0 and denies 127.0.0.0/8
# and ::1; connecting (connect, connect_ex, connect_to) or sending (sendto,
# sendmsg) to 0.0.0.0, "0", "", ::, ::ffff:0.0.0.0, ::ffff:127.0.0.1 and the
# other spellings reaches the loopback. Fixed: all denied (-32010), and the
# listener sees nothing. Allowed addresses (10.77.0.1, fd00:99::1, on lo in
# the daemon's namespace) still connect.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root and connects for nobody"
hostile_setup h_addr

set_policy <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody connects anywhere but the loopback", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": ["AF_INET", "AF_INET6"] },
               { "action": "connect", "family": ["AF_INET", "AF_INET6"], "address": ["0.0.0.0/0", "::/0"] } ],
    "deny": [ { "action": "connect", "address": ["127.0.0.0/8", "::1"] } ] } ] }
EOF2
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start
in_ns ip addr add 10.77.0.1/24 dev lo
in_ns ip -6 addr add fd00:99::1/64 dev lo nodad

nobody_checks "4. unspecified destinations" addr "$sock"

hostile_stop
