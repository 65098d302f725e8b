#!/bin/bash
# Hostile test, issue 9 items 3 and 6: an AF_UNIX connect or bind grant
# without a path reached every path as root (the daemon's own control socket,
# giving uid 0 and admin.clients; root-only sockets; socket files created as
# root in root's directories). Fixed: AF_UNIX rules name paths ("path": exact
# "/run/x.sock", prefix "/run/app/", glob "/run/app/*.sock", abstract "@name");
# without a path grant connect and bind are denied; the daemon's own control
# socket is never reachable through it; a granted path is connected and bound
# with the caller's credentials (the peer's SO_PEERCRED is the caller's, the
# socket file is the caller's, a directory the caller cannot write is EACCES).
#
# A root helper (hostile.py unix-server, in the daemon's network namespace for
# the abstract name) listens on the paths below and answers each connection
# with the SO_PEERCRED it sees; the client runs as nobody.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root and connects and binds AF_UNIX sockets for nobody"
hostile_setup h_unix

d=$dir
abs="hostile-unix-$$"
mkdir -m 0755 "$d/app" "$d/pre" "$d/pre-evil" "$d/glob" "$d/rootdir" "$d/policy.d" "$d/nobodydir"
mkdir -m 0700 "$d/private"
chown 65534:65534 "$d/nobodydir"
ln -s "$sock" "$d/link-ctl.sock"
ln -s "$sock" "$d/pre/ctl-link.sock"
ln -s "$d/private/secret.sock" "$d/pre/secret-link.sock"

set_policy <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody connects and binds AF_UNIX sockets, no path named", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": "AF_UNIX" },
               { "action": "connect", "family": "AF_UNIX" },
               { "action": "bind", "family": "AF_UNIX" } ] } ] }
EOF2
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start

bg_start unix-server in_ns "$py" "$hp" unix-server \
	"stream:$d/app/ok.sock" "dgram:$d/app/dgram.sock" "stream:$d/pre/a.sock" "stream:$d/pre-evil/x.sock" \
	"stream:$d/glob/b.sock" "stream:$d/glob/c.notsock" "stream:$d/private/secret.sock" "abstract:$abs" \
	"abstract:$abs-other"
if ! bg_until serving; then
	cp "$dir/unix-server.out" "$dir/out"
	fail "the AF_UNIX servers did not start"
	hostile_stop
fi

nobody_checks "3/6. AF_UNIX, no path grant" unix-a "$sock" "$d" "$abs"

if reload_policy "AF_UNIX path grants" <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody's AF_UNIX paths", "match": { "uid": 65534 },
    "allow": [ { "action": "create", "family": "AF_UNIX" },
               { "action": "connect", "family": "AF_UNIX",
                 "path": [ "$d/app/ok.sock", "$d/pre/", "$d/glob/*.sock", "@$abs", "$sock" ] },
               { "action": "bind", "family": "AF_UNIX", "path": [ "$d/nobodydir/", "$d/rootdir/", "$d/policy.d/" ] } ] } ] }
EOF2
then
	nobody_checks "3/6. AF_UNIX, path grants" unix-b "$sock" "$d" "$abs"
else
	not_run "3/6. AF_UNIX, path grants" "the policy did not load"
fi

bg_stop
hostile_stop
