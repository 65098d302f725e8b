#!/bin/sh
# sockbrokerctl's `policy check listen|connect` and the real `listen` and
# `connect` commands must agree: they go through one row of the ctl's action
# table and so send the same requests (a descriptor handed out, which needs an
# explicit create grant beyond bind or connect). The daemon runs with a policy
# of its own where uid 65534 (nobody) may only bind and connect, and uid 65533
# may also create; for each word and caller the check and the command, run as
# that caller, must reach the same verdict, and the verdict must be the
# expected one (an allowed and a refused case for each word).
#
# Needs root (the commands run as other users through setpriv); under CI=true
# a missing need is a failure. Synchronisation: the daemon's "ready" line, a
# fifo for the listener's port; no sleeps.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

ctl_need_tools "for the listener"
[ "$(id -u)" -eq 0 ] || missing "needs root (commands run as other uids through setpriv)"
command -v setpriv >/dev/null 2>&1 || missing "setpriv is not installed"
ctl_setup it_ctl_policy
trap 'reap TERM "$lis_pid"; ctl_cleanup' EXIT
lis_pid=
# Other users reach the socket; as root the daemon refuses a policy others
# may write (the file is 0644).
chmod 755 "$dir"
ctl_socket=$sock
sbctl_for_others

bindonly=65534
creator=65533

# A TCP listener of our own to connect to: it never accepts, the backlog
# completes the handshakes. Its port comes through a fifo.
mkfifo "$dir/port.fifo" || exit 99
python3 -c '
import signal, socket
s, t = socket.socket(), socket.socket()
for x in (s, t):
    x.bind(("127.0.0.1", 0))
    x.listen(64)
print(s.getsockname()[1], t.getsockname()[1], flush=True)
signal.pause()
' >"$dir/port.fifo" &
lis_pid=$!
# lport: reached by address; nport: by the name "localhost" only (host pinning).
read -r lport nport <"$dir/port.fifo"
closed=$((lport == 65535 ? lport - 1 : lport + 1))

# Both callers may bind 127.0.0.1 (port 0: the kernel picks) and connect to
# the listener; only the creator may have descriptors handed out.
printf '%s\n' '{
  "version": 1,
  "rules": [
    { "name": "we ask policy.check", "match": { "uid": '"$(id -u)"' }, "allow": [ { "action": "admin" } ] },
    { "name": "bind and connect only", "match": { "uid": ['"$bindonly"', '"$creator"'] },
      "allow": [ { "action": "bind", "family": "AF_INET", "type": ["SOCK_STREAM", "SOCK_DGRAM"],
                   "address": "127.0.0.1/32", "port": 0 },
                 { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM",
                   "address": "127.0.0.1/32", "port": '"$lport"' } ] },
    { "name": "creator reaches localhost by name", "match": { "uid": '"$creator"' },
      "allow": [ { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM",
                   "host": "localhost", "port": '"$nport"' } ] },
    { "name": "creator", "match": { "uid": '"$creator"' },
      "allow": [ { "action": "create", "family": "AF_INET", "type": ["SOCK_STREAM", "SOCK_DGRAM"] } ] }
  ]
}' >"$dir/policy.json" || exit 99
chmod 644 "$dir/policy.json"

ctl_start_daemon --policy "$dir/policy.json"

# agree UID WANT WORD ARGS...: `policy check --uid UID WORD ARGS` and, as UID,
# `WORD ARGS` both exit WANT (0 allowed, 1 refused); a refusal of the command
# is the policy's (-32010).
agree() {
	_uid=$1 _want=$2
	shift 2
	ctl policy check --uid "$_uid" "$@"
	_check=$rc
	cat "$dir/out" "$dir/err" >"$dir/check.out"
	setpriv --reuid="$_uid" --regid="$_uid" --clear-groups \
		"$sbctl_other" --socket "$sock" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	if [ "$_check" -eq "$_want" ] && [ "$rc" -eq "$_want" ]; then
		pass "uid $_uid, $*: policy check and the command agree (exit $_want)"
	else
		fail "uid $_uid, $*: policy check exits $_check, the command $rc, expected $_want"
		sed 's/^/    | check: /' "$dir/check.out"
	fi
	# Exit 1 of the check must be a denial, not an error reply.
	if [ "$_want" -eq 1 ]; then
		expect_out '^([a-z_.]+: )?denied: ' "$dir/check.out" "uid $_uid, $*: the check is a denial"
		expect_out '\(code -32010\)' "$dir/err" "uid $_uid, $*: the command is refused by the policy"
	fi
}

# ---------------------------------------------------------------- listen

# The case of issue 11: a bind grant alone used to pass `policy check listen`
# while `listen` was refused.
agree "$bindonly" 1 listen tcp:127.0.0.1:0
expect_out '^  deny   create ' "$dir/check.out" "the check shows the hand-out's create as the refusal"
agree "$creator" 0 listen tcp:127.0.0.1:0
expect_out '^local: +127\.0\.0\.1:[1-9][0-9]*$' "$dir/out" "the allowed listen got a port"
agree "$creator" 1 listen tcp:127.0.0.2:0
# udp is several requests (create, bind, detach), each judged.
agree "$bindonly" 1 listen udp:127.0.0.1:0
agree "$creator" 0 listen udp:127.0.0.1:0
expect_out '^socket\.detach: allowed' "$dir/check.out" "udp listen: each request has its decision"

# ---------------------------------------------------------------- connect

agree "$bindonly" 1 connect "tcp:127.0.0.1:$lport"
agree "$creator" 0 connect "tcp:127.0.0.1:$lport"
expect_out "^peer: +127\\.0\\.0\\.1:$lport\$" "$dir/out" "the allowed connect reached the listener"
agree "$creator" 1 connect "tcp:127.0.0.1:$closed"
# HOST PORT is the same word, the same row.
agree "$bindonly" 1 connect 127.0.0.1 "$lport"
agree "$creator" 0 connect 127.0.0.1 "$lport"

# A grant pinned to a host name (issue 12 item 3): the name goes to the
# daemon, which resolves it itself, so the grant holds; the same port by
# address is refused.
agree "$creator" 0 connect localhost "$nport"
agree "$creator" 0 connect "tcp:localhost:$nport"
agree "$creator" 1 connect 127.0.0.1 "$nport"

# ---------------------------------------------------------------- stop

ctl_stop_daemon
reap TERM "$lis_pid"
lis_pid=

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
