#!/bin/bash
# Hostile test, issue 9 item 9: a v6 bind rule gave IPv4. With only "bind
# AF_INET6 ::/0", socket.listen_on {dualstack_ipv6}, a plain socket.bind
# ["::", port] (IPV6_V6ONLY is off by default) and a bind to
# ::ffff:127.0.0.1 all accepted IPv4 connections. Fixed: without a v4 grant
# the socket does not accept IPv4 (dual-stack refused or the socket forced
# V6ONLY, whatever the caller set before the bind; mapped binds denied); IPv6
# itself works, and with a v4 grant dual-stack works.
#
# The daemon runs as root in a network namespace of its own; the client, as
# nobody in that namespace, connects to the sockets the daemon bound.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root and binds for nobody"
hostile_setup h_v6

policy_with() {
	cat <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody binds IPv6", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": "AF_INET6" },
               { "action": "bind", "family": "AF_INET6", "address": "::/0" }$1 ] } ] }
EOF2
}
policy_with "" | set_policy
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start

nobody_checks "9. only a v6 bind grant" v6 "$sock" v6only

if policy_with ',
               { "action": "bind", "family": ["AF_INET", "AF_INET6"], "address": "0.0.0.0/0" }' |
	reload_policy "a v4 bind grant too"; then
	nobody_checks "9. a v4 bind grant too" v6 "$sock" dual
else
	not_run "9. a v4 bind grant too" "the policy did not load"
fi

hostile_stop
