#!/bin/bash
# Hostile test, issue 9 item 7: options the kernel reserves to privilege that
# the policy did not govern: IPV6_JOIN_ANYCAST (CAP_NET_ADMIN; the group shows
# in /proc/net/anycast6), IP_OPTIONS with options that need CAP_NET_RAW (and
# the same as IP_RETOPTS ancillary data), NETLINK_ADD_MEMBERSHIP of groups
# closed to unprivileged users (netfilter, xfrm; and the same through a
# netlink bind), NETLINK_LISTEN_ALL_NSID. Fixed: -32010 unless a setsockopt
# rule names them; options open to every user still work; the options
# governed already stay denied.
#
# The daemon runs as root in a network namespace of its own, with
# fd00:99::1/64 and 10.77.0.1/24 on lo; the client as nobody there.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root and sets options for nobody"
hostile_setup h_options

policy_with() {
	cat <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody makes INET and netlink sockets", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": ["AF_INET", "AF_INET6", "AF_NETLINK"] },
               { "action": "bind", "family": "AF_NETLINK" },
               { "action": "connect", "family": "AF_INET", "address": "10.77.0.0/24" }$1 ] } ] }
EOF2
}
policy_with "" | set_policy
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start
in_ns ip addr add 10.77.0.1/24 dev lo
in_ns ip -6 addr add fd00:99::1/64 dev lo nodad

nobody_checks "7. privileged options, no setsockopt rule" options "$sock" ungranted

if policy_with ',
               { "action": "setsockopt", "level": "IPPROTO_IPV6", "option": "IPV6_JOIN_ANYCAST" },
               { "action": "setsockopt", "level": "IPPROTO_IP", "option": "IP_OPTIONS" },
               { "action": "setsockopt", "family": "AF_NETLINK", "level": "SOL_NETLINK", "option": 1 }' |
	reload_policy "setsockopt rules naming them"; then
	nobody_checks "7. privileged options, named by setsockopt rules" options "$sock" granted
else
	not_run "7. privileged options, named by setsockopt rules" "the policy did not load"
fi

hostile_stop
