#!/bin/bash
# Hostile test, issue 9 item 8: SO_REUSEPORT groups are per user in the
# kernel, but every socket the daemon made was root's, so nobody's
# socket.listen_on {"reuse_port": true} joined uid 1's group (made through the
# daemon too) on the same port and took its connections. Fixed: the daemon's
# sockets are the caller's, so the kernel's own check refuses (EADDRINUSE) or
# the daemon does (-32010); a caller's own groups, including one with a
# socket of its own, still work.
#
# uid 1 holds a SO_REUSEPORT listener made through the daemon (pass) and one
# of its own (hostile.py reuse-victim); nobody attacks both.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root and binds for two users"
hostile_setup h_reuseport

set_policy <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "uid 1 serves on the loopback", "match": { "uid": 1 },
    "allow": [ { "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" },
               { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.0/8" } ] },
  { "name": "nobody serves on the loopback", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" },
               { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.0/8" } ] } ] }
EOF2
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start

bg_start victim ns_as 1 "$upy" "$hp" reuse-victim "$sock"
if bg_until listening; then
	ports=$(printf '%s' "$bg_line" | "$py" -c 'import json, sys; d = json.load(sys.stdin); print(d["via_daemon"], d["own"])')
	# shellcheck disable=SC2086 # two ports
	nobody_checks "8. SO_REUSEPORT" reuseport "$sock" $ports
else
	fail "8. uid 1's listeners did not start"
fi
bg_finish "8. uid 1's listeners"

hostile_stop
