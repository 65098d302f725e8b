#!/bin/bash
# Hostile test, issue 9 item 2: a netlink socket the daemon holds sends with
# root's capabilities. With only "create AF_NETLINK" granted, RTM_NEWADDR
# (and every other rtnetlink change) through a handle must be denied (-32010)
# and change nothing; a policy entry {"action": "send", "family":
# "AF_NETLINK", "proto": "NETLINK_ROUTE", "message": "RTM_NEWADDR"} grants
# that one message; RTM_GETLINK dumps work either way.
#
# The daemon runs as root in a network namespace of its own (the addresses
# the attacks add land there); the client (hostile.py netlink) as nobody in
# that namespace, where it reads the addresses back itself.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root and sends netlink messages for nobody"
hostile_setup h_netlink

nobody_rule() {
	cat <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody makes netlink sockets", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": "AF_NETLINK" },
               { "action": "connect", "family": "AF_NETLINK" }$1 ] } ] }
EOF2
}

nobody_rule "" | set_policy
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start

nobody_checks "2. netlink, no send grant" netlink "$sock" ungranted

if nobody_rule ',
               { "action": "send", "family": "AF_NETLINK", "proto": "NETLINK_ROUTE", "message": "RTM_NEWADDR" }' |
	reload_policy "a send grant for RTM_NEWADDR"; then
	nobody_checks "2. netlink, RTM_NEWADDR granted" netlink "$sock" granted
else
	not_run "2. netlink, RTM_NEWADDR granted" "the policy did not load"
fi

hostile_stop
