#!/bin/bash
# Hostile test, issue 9 item 1: the kind of socket the daemon makes is the
# kind the kernel made. AF_INET with type 10 (SOCK_PACKET) is a packet socket
# (SO_DOMAIN 17) that captures traffic; under a policy that allows AF_INET
# and denies AF_PACKET it must be refused and nothing made. A handle records
# the socket's real SO_DOMAIN, SO_TYPE and SO_PROTOCOL.
#
# The daemon runs as root in a network namespace of its own; the client
# (tests/hostile/hostile.py kind) as nobody in that namespace.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root and makes sockets for nobody"
hostile_setup h_kind

set_policy <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody makes INET sockets, never packet sockets", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": ["AF_INET", "AF_INET6"] },
               { "action": "bind", "family": "AF_INET" } ],
    "deny": [ { "action": "create", "family": "AF_PACKET" } ] } ] }
EOF2
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start

nobody_checks "1. socket kind" kind "$sock"

hostile_stop
