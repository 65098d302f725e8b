#!/bin/bash
# Integration test of the policy in real sandboxes: the daemon runs as root
# with a policy file this script writes, and clients run dropped to nobody
# (setpriv), in an empty network namespace (unshare --net), and under
# bubblewrap with nothing but the interpreter and the control socket. The
# client side is tests/policy-client.py (one JSON line per assertion).
#
# Needs root: without it, "SKIP: needs root (...)" and exit 77, unless
# CI=true, where a missing need is a failure. So are missing tools.
#
# Synchronisation without sleeps: the daemon's READY=1 (sbd-lib.sh); each
# policy change is a SIGHUP answered by RELOADING=1 then READY=1 on a private
# NOTIFY_SOCKET that a listener binds before the signal is sent; background
# clients say on a fifo when they are ready for the next step.

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

: "${SBD:=}"
: "${SBCTL:=}"
if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
	missing "daemon not built (SBD='$SBD' is not executable)"
fi
if [ -z "$SBCTL" ] || [ ! -x "$SBCTL" ]; then
	missing "sockbrokerctl not built (SBCTL='$SBCTL' is not executable)"
fi
need_root "needs root (the daemon binds port 80 and makes raw sockets for clients dropped to nobody)"
for tool in python3 setpriv unshare bwrap; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done
getent passwd nobody >/dev/null 2>&1 || missing "there is no user nobody"

sbd_setup it_sandbox
# The clients run as nobody: they must reach the socket and read the helper.
chmod 0755 "$dir"
umask 022

extra_pids=
sandbox_cleanup() {
	# shellcheck disable=SC2086 # a list of pids
	reap TERM $extra_pids
	cleanup
}
trap sandbox_cleanup EXIT

nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)
# A group nobody is not in: membership comes only from --groups.
test_gid=4242
cp "$SRCDIR/tests/policy-client.py" "$dir/pc.py"
pc="$dir/pc.py"
policy="$dir/policy.json"
audit="$dir/audit.jsonl"

as_nobody() { setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups "$@"; }

# An interpreter nobody may run (the root shell's may live under /root) with
# socket.recv_fds (Python >= 3.9); the system's first, as bubblewrap binds /usr.
upy=
for cand in /usr/bin/python3 /usr/local/bin/python3 "$py"; do
	if [ -x "$cand" ] && as_nobody "$cand" -c 'import socket, sys; sys.exit(0 if hasattr(socket, "recv_fds") else 1)' \
		>/dev/null 2>&1; then
		upy=$cand
		break
	fi
done
[ -n "$upy" ] || missing "no python3 >= 3.9 that user nobody can run"
upy_exe=$(readlink -f "$upy")
echo "# clients run $upy ($upy_exe) as uid $nobody_uid gid $nobody_gid"

# ---------------------------------------------------------------- helpers

# verdicts LABEL FILE RC: each JSON line of FILE with "check" and "ok" becomes
# a pass or a fail named "LABEL: check"; a client that failed (RC != 0)
# without saying which check, or said nothing, is a failure too.
verdicts() {
	"$py" -c '
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if isinstance(d, dict) and "check" in d:
        print("%d\t%s" % (1 if d.get("ok") is True else 0, d["check"]))
' "$2" >"$dir/verdicts"
	cp "$2" "$dir/out"
	n=0
	bad=0
	while IFS='	' read -r okv name; do
		n=$((n + 1))
		if [ "$okv" = 1 ]; then pass "$1: $name"; else bad=1; fail "$1: $name"; fi
	done <"$dir/verdicts"
	if [ "$n" -eq 0 ]; then
		fail "$1: the client printed no check (exit $3)"
	elif [ "$3" -ne 0 ] && [ "$bad" -eq 0 ]; then
		fail "$1: the client exited $3"
	fi
}

# run_checks LABEL CMD...: runs CMD to the end, then its verdicts.
run_checks() {
	label=$1
	shift
	rc=0
	"$@" >"$dir/client.out" 2>&1 </dev/null || rc=$?
	verdicts "$label" "$dir/client.out" "$rc"
}

# bg_start NAME CMD...: runs CMD in the background, its output on fd 4.
bg_start() {
	bg_name=$1
	shift
	rm -f "$dir/$bg_name.fifo"
	mkfifo "$dir/$bg_name.fifo"
	"$@" >"$dir/$bg_name.fifo" 2>&1 </dev/null &
	bg_pid=$!
	extra_pids="$extra_pids $bg_pid"
	exec 4<"$dir/$bg_name.fifo"
	: >"$dir/$bg_name.out"
}

# bg_until EVENT: reads the background client's lines until one holds
# "event": "EVENT" (30 s at most). 1 when it ended or timed out first.
bg_until() {
	while IFS= read -r -t 30 line <&4; do
		printf '%s\n' "$line" >>"$dir/$bg_name.out"
		case $line in *"\"event\": \"$1\""*) return 0 ;; esac
	done
	return 1
}

# bg_finish LABEL: waits for the background client, then its verdicts.
bg_finish() {
	cat <&4 >>"$dir/$bg_name.out"
	exec 4<&-
	rc=0
	wait "$bg_pid" || rc=$?
	verdicts "$1" "$dir/$bg_name.out" "$rc"
}

# set_policy: stdin becomes the policy file, replaced at once (rename), root's
# and 0644 as the daemon running as root demands.
set_policy() {
	cat >"$policy.new"
	chmod 0644 "$policy.new"
	mv -f "$policy.new" "$policy"
}

# sighup WHAT: SIGHUP to the daemon and waits for its READY=1 after RELOADING=1
# on the notify socket; the STATUS it sent is left in $reload_status.
sighup() {
	rm -f "$dir/notify-wait.fifo"
	mkfifo "$dir/notify-wait.fifo"
	timeout 40 "$py" "$pc" notify-wait "$dir/notify.sock" >"$dir/notify-wait.fifo" &
	nw_pid=$!
	exec 5<"$dir/notify-wait.fifo"
	line=
	if ! IFS= read -r -t 30 line <&5 || [ "$line" != bound ]; then
		exec 5<&-
		echo "not ok - the notify listener did not start"
		exit 1
	fi
	kill -HUP "$daemon_pid"
	cat <&5 >"$dir/notify-wait.out"
	exec 5<&-
	rc=0
	wait "$nw_pid" || rc=$?
	reload_status=$("$py" -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("event") == "ready" and d.get("reloading"):
        print(d["status"])
' "$dir/notify-wait.out" 2>/dev/null || true)
	if [ "$rc" -ne 0 ] || [ -z "$reload_status" ]; then
		cp "$dir/notify-wait.out" "$dir/out"
		fail "SIGHUP ($1): no RELOADING=1 then READY=1 from the daemon"
		return 1
	fi
}

# reload WHAT: the policy file was replaced; SIGHUP, and the reload must
# succeed (a failure is recorded; the script goes on).
reload() {
	if sighup "$1"; then
		case $reload_status in
		*"Policy reload failed"*) echo "$reload_status" >"$dir/out"; fail "policy $1 loads: $reload_status" ;;
		*) pass "policy $1 loaded on SIGHUP ($reload_status)" ;;
		esac
	fi
}

# Every policy lets root administer (daemon.reload, policy.check).
admin_rule='{ "name": "root administers", "match": { "uid": 0 }, "allow": [ { "action": "admin" } ] }'
# nobody may resolve names, and nothing more.
policy_resolve_only=$(cat <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "nobody may resolve", "match": { "user": "nobody" }, "allow": [ { "action": "resolve" } ] }
  ]
}
EOF
)

# ---------------------------------------------------------------- the daemon

# The echo server the sandboxed clients reach: two ports on the host's 127.0.0.1.
rm -f "$dir/echo.fifo"
mkfifo "$dir/echo.fifo"
timeout 600 "$py" "$pc" echo-server >"$dir/echo.fifo" 2>&1 </dev/null &
extra_pids="$extra_pids $!"
exec 5<"$dir/echo.fifo"
line=
IFS= read -r -t 30 line <&5 || true
exec 5<&-
echo_port=$(printf '%s' "$line" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["ports"][0])' 2>/dev/null || true)
other_port=$(printf '%s' "$line" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["ports"][1])' 2>/dev/null || true)
if [ -z "$echo_port" ] || [ -z "$other_port" ]; then
	echo "not ok - the echo server did not start: $line"
	exit 1
fi
echo "# echo server on 127.0.0.1:$echo_port and 127.0.0.1:$other_port"

set_policy <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "nobody serves on port 80",
      "match": { "user": "nobody" },
      "allow": [
        { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "0.0.0.0/0", "port": 80 },
        { "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" }
      ] }
  ]
}
EOF

sbd_start --policy "$policy" --audit-log "$audit"

# ---------------------------------------------------------------- 1. port 80 for nobody

bg_start listen as_nobody "$upy" "$pc" listen-accept "$sock" 0.0.0.0 80
if bg_until listening; then
	run_checks "1. port 80, the test connects" "$py" "$pc" tcp-exchange 127.0.0.1 80 "hello port 80"
fi
bg_finish "1. port 80 granted to nobody"

printf '%s\n' "$policy_resolve_only" | set_policy
reload "without the port 80 rule"
run_checks "1. no rule grants port 80" as_nobody "$upy" "$pc" call "$sock" socket.listen_on \
	'{"address":["0.0.0.0",80],"pass":true}' --expect deny --no-rule

set_policy <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "nobody binds high ports",
      "match": { "user": "nobody" },
      "allow": [ { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "port": "1-65535" },
                 { "action": "listen", "family": "AF_INET", "type": "SOCK_STREAM" } ] },
    { "name": "no port 80 for nobody",
      "match": { "uid": $nobody_uid },
      "deny": [ { "action": "bind", "port": 80 } ] }
  ]
}
EOF
reload "with the deny rule \"no port 80 for nobody\""
run_checks "1. a deny rule refuses port 80" as_nobody "$upy" "$pc" call "$sock" socket.listen_on \
	'{"address":["0.0.0.0",80],"pass":true}' --expect deny --rule "no port 80 for nobody"

# ---------------------------------------------------------------- audit of case 1

if grep -Eq "audit: deny .*uid=$nobody_uid .*method=socket.listen_on action=bind .*port=80" "$dir/daemon.log"; then
	pass "audit: the daemon's log has the deny of port 80 to uid $nobody_uid"
else
	grep 'audit:' "$dir/daemon.log" >"$dir/out" || true
	fail "audit: no 'audit: deny ... uid=$nobody_uid ... method=socket.listen_on action=bind ... port=80' line in the daemon's log"
fi
if grep -Eq "audit: deny rule=\"no port 80 for nobody\" .*uid=$nobody_uid .*port=80" "$dir/daemon.log"; then
	pass "audit: the logged deny names the rule \"no port 80 for nobody\""
else
	grep 'audit:' "$dir/daemon.log" >"$dir/out" || true
	fail "audit: no logged deny names the rule \"no port 80 for nobody\""
fi
if "$py" -c '
import json, sys
want = {"decision": "allow", "method": "socket.listen_on", "action": "bind", "uid": int(sys.argv[2]),
        "port": 80, "rule": "nobody serves on port 80"}
for line in open(sys.argv[1]):
    d = json.loads(line)
    if all(d.get(k) == v for k, v in want.items()) and d.get("time", "").endswith("Z"):
        sys.exit(0)
sys.exit(1)
' "$audit" "$nobody_uid" 2>"$dir/pyerr"; then
	pass "audit: --audit-log has a JSON line with \"decision\":\"allow\" for the bind of port 80"
else
	{ cat "$dir/pyerr"; head -20 "$audit"; } >"$dir/out" 2>/dev/null || true
	fail "audit: --audit-log has no JSON line with \"decision\":\"allow\" for the bind of port 80 by uid $nobody_uid"
fi
if "$py" -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("decision") == "deny" and d.get("rule") == "no port 80 for nobody" and d.get("port") == 80:
        sys.exit(0)
sys.exit(1)
' "$audit" 2>"$dir/pyerr"; then
	pass "audit: --audit-log has the deny with its rule"
else
	{ cat "$dir/pyerr"; head -20 "$audit"; } >"$dir/out" 2>/dev/null || true
	fail "audit: --audit-log has no deny line naming \"no port 80 for nobody\""
fi

# ---------------------------------------------------------------- 2., 3. no network of its own

set_policy <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "the sandbox reaches one local port",
      "match": { "user": "nobody" },
      "allow": [ { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM",
                   "address": "127.0.0.1/32", "port": $echo_port } ] }
  ]
}
EOF
reload "for sandboxes"
host_netns=$(readlink /proc/self/ns/net)
if unshare --net -- true >"$dir/unshare.out" 2>&1; then
	run_checks "2. unshare --net" unshare --net -- setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
		"$upy" "$pc" sandboxed "$sock" 127.0.0.1 "$echo_port" "$other_port" --lo-down --host-netns "$host_netns"
else
	cp "$dir/unshare.out" "$dir/out"
	if [ "${CI:-}" = true ]; then
		fail "2. unshare --net cannot make a network namespace here"
	else
		echo "# SKIP 2. unshare --net cannot make a network namespace here: $(head -c 300 "$dir/unshare.out")"
	fi
fi

# bubblewrap: as nobody (an unprivileged user namespace), every namespace new,
# the interpreter's files read-only, the control socket and nothing else.
bwrap_args="--unshare-all --die-with-parent --new-session --proc /proc --dev /dev"
for p in /usr /bin /sbin /lib /lib32 /lib64 /libx32; do
	if [ -L "$p" ]; then
		bwrap_args="$bwrap_args --symlink $(readlink "$p") $p"
	elif [ -d "$p" ]; then
		bwrap_args="$bwrap_args --ro-bind $p $p"
	fi
done
upy_prefix=$("$upy" -c 'import sys; print(sys.base_prefix)')
case $upy_prefix in
/usr | /usr/*) ;;
*) bwrap_args="$bwrap_args --ro-bind $upy_prefix $upy_prefix" ;;
esac
# shellcheck disable=SC2086
if as_nobody bwrap $bwrap_args -- "$upy" -c pass >"$dir/bwrap.out" 2>&1; then
	# The helper comes on stdin: it is not in the sandbox.
	rc=0
	# shellcheck disable=SC2086
	# (bwrap brings up the loopback of its new namespace: lo may be up, but it
	# is not the host's.)
	as_nobody bwrap $bwrap_args --bind "$sock" "$sock" -- "$upy" - sandboxed "$sock" 127.0.0.1 \
		"$echo_port" "$other_port" --host-netns "$host_netns" <"$pc" >"$dir/client.out" 2>&1 || rc=$?
	verdicts "3. bwrap --unshare-all" "$dir/client.out" "$rc"
else
	cp "$dir/bwrap.out" "$dir/out"
	if [ "${CI:-}" = true ]; then
		fail "3. bwrap cannot make its sandbox here (as uid $nobody_uid)"
	else
		echo "# SKIP 3. bwrap cannot make its sandbox here (as uid $nobody_uid): $(head -c 300 "$dir/bwrap.out")"
	fi
fi

# ---------------------------------------------------------------- 4. ping

set_policy <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "nobody may ping",
      "match": { "user": "nobody" },
      "allow": [ { "action": "create", "family": "AF_INET", "type": "SOCK_RAW", "proto": "IPPROTO_ICMP" } ] }
  ]
}
EOF
reload "for ping"
run_checks "4. raw ICMP" as_nobody "$upy" "$pc" ping "$sock"

# ---------------------------------------------------------------- 5. host rule

set_policy <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "localhost by name only",
      "match": { "user": "nobody" },
      "allow": [ { "action": "connect", "host": "localhost", "port": $echo_port },
                 { "action": "resolve", "host": "localhost" } ] }
  ]
}
EOF
reload "with a host rule"
run_checks "5. host rule, by name" as_nobody "$upy" "$pc" connect-to "$sock" localhost "$echo_port"
run_checks "5. host rule, socket.connect by name" as_nobody "$upy" "$pc" create-connect "$sock" localhost "$echo_port"
run_checks "5. host rule, resolved by the client" as_nobody "$upy" "$pc" resolve-connect "$sock" localhost "$echo_port" \
	--expect deny
run_checks "5. host rule, socket.connect to the number" as_nobody "$upy" "$pc" create-connect "$sock" 127.0.0.1 \
	"$echo_port" --expect deny

# ---------------------------------------------------------------- 6. deny beats allow, empty match, groups, exe

set_policy <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "nobody connects anywhere local",
      "match": { "user": "nobody" },
      "allow": [ { "action": "connect", "family": "AF_INET", "address": "127.0.0.0/8" } ] },
    { "name": "but not to the echo port",
      "match": { "uid": $nobody_uid },
      "deny": [ { "action": "connect", "port": $echo_port } ] },
    { "name": "everyone makes UDP sockets",
      "match": {},
      "allow": [ { "action": "create", "family": "AF_INET", "type": "SOCK_DGRAM" } ] },
    { "name": "group $test_gid makes IPv6 UDP sockets",
      "match": { "gid": $test_gid },
      "allow": [ { "action": "create", "family": "AF_INET6", "type": "SOCK_DGRAM" } ] },
    { "name": "python makes UNIX datagram sockets",
      "match": { "exe": "$upy_exe", "uid": $nobody_uid },
      "allow": [ { "action": "create", "family": "AF_UNIX", "type": "SOCK_DGRAM" } ] }
  ]
}
EOF
reload "for deny, empty match, groups and exe"
run_checks "6. deny beats allow" as_nobody "$upy" "$pc" connect-to "$sock" 127.0.0.1 "$echo_port" \
	--expect deny --rule "but not to the echo port"
run_checks "6. deny beats allow, other ports" as_nobody "$upy" "$pc" connect-to "$sock" 127.0.0.1 "$other_port"
run_checks "6. empty match, nobody" as_nobody "$upy" "$pc" call "$sock" socket.create \
	'{"family":"AF_INET","type":"SOCK_DGRAM","pass":true}'
run_checks "6. empty match, uid 4243 (no rule names it)" setpriv --reuid=4243 --regid=4243 --clear-groups \
	"$upy" "$pc" call "$sock" socket.create '{"family":"AF_INET","type":"SOCK_DGRAM","pass":true}'
run_checks "6. supplementary group $test_gid" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --groups="$test_gid" \
	"$upy" "$pc" call "$sock" socket.create '{"family":"AF_INET6","type":"SOCK_DGRAM","pass":true}'
run_checks "6. without group $test_gid" as_nobody "$upy" "$pc" call "$sock" socket.create \
	'{"family":"AF_INET6","type":"SOCK_DGRAM","pass":true}' --expect deny --no-rule
run_checks "6. primary group $test_gid" setpriv --reuid="$nobody_uid" --regid="$test_gid" --clear-groups \
	"$upy" "$pc" call "$sock" socket.create '{"family":"AF_INET6","type":"SOCK_DGRAM","pass":true}'
run_checks "6. exe $upy_exe" as_nobody "$upy" "$pc" call "$sock" socket.create \
	'{"family":"AF_UNIX","type":"SOCK_DGRAM","pass":true}'
# The same request from another program, as the same user.
rc=0
# nobody runs a copy of its own (the build may be unreadable to it).
sbctl_for_others
as_nobody "$sbctl_other" --json --socket "$sock" call socket.create \
	'{"family":"AF_UNIX","type":"SOCK_DGRAM"}' >"$dir/out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && grep -q -- '-32010' "$dir/out"; then
	pass "6. exe: the same request from sockbrokerctl as nobody is denied (-32010)"
else
	fail "6. exe: the same request from sockbrokerctl as nobody is not denied with -32010 (exit $rc)"
fi

# ---------------------------------------------------------------- 7. reload under load

policy_a=$(cat <<EOF
{
  "version": 1,
  "rules": [
    $admin_rule,
    { "name": "nobody makes UDP sockets",
      "match": { "user": "nobody" },
      "allow": [ { "action": "create", "family": "AF_INET", "type": "SOCK_DGRAM" } ] }
  ]
}
EOF
)
printf '%s\n' "$policy_a" | set_policy
reload "A (UDP sockets allowed)"
bg_start hammer as_nobody "$upy" "$pc" hammer "$sock" 50 60
if bg_until started; then
	printf '%s\n' "$policy_resolve_only" | set_policy
	reload "B (UDP sockets denied) while 50 clients make requests" || true
fi
bg_finish "7. reload under load"

# ---------------------------------------------------------------- 8. a broken policy

printf '%s\n' "$policy_a" | set_policy
reload "A again"
run_checks "8. before" as_nobody "$upy" "$pc" call "$sock" socket.create \
	'{"family":"AF_INET","type":"SOCK_DGRAM","pass":true}'

# An impossible value (port 70000) on line 5.
set_policy <<'EOF'
{
  "version": 1,
  "rules": [
    { "name": "broken", "match": { "uid": 65534 },
      "allow": [ { "action": "bind", "port": 70000 } ] }
  ]
}
EOF
# Where the error may point: the member "port" or its value, 1-based.
bad_line=5
bad_cols=$(awk 'NR == 5 { print index($0, "\"port\"") " " index($0, "70000") }' "$policy")
rc=0
"$py" "$pc" call "$sock" daemon.reload '{}' --expect -32000 >"$dir/client.out" 2>&1 || rc=$?
verdicts "8. daemon.reload of a broken policy" "$dir/client.out" "$rc"
if "$py" -c '
import json, sys
path, line, cols = sys.argv[2], int(sys.argv[3]), [int(c) for c in sys.argv[4].split()]
for l in open(sys.argv[1]):
    d = json.loads(l)
    if "check" not in d:
        continue
    data = d.get("reply", {}).get("error", {}).get("data", {})
    ok = (data.get("file") == path and data.get("line") == line and data.get("column") in cols
          and isinstance(data.get("reason"), str)
          and data["reason"].startswith("%s:%d:%d:" % (path, line, data.get("column"))))
    sys.exit(0 if ok else 1)
sys.exit(1)
' "$dir/client.out" "$policy" "$bad_line" "$bad_cols"; then
	pass "8. daemon.reload's error has data.file, .line, .column ($bad_line, one of $bad_cols) and the file:line:col reason"
else
	cp "$dir/client.out" "$dir/out"
	fail "8. daemon.reload's error lacks data.file $policy, line $bad_line, column one of $bad_cols, reason file:line:col"
fi
if grep -Eq "policy reload failed, the old policy stays: $policy:$bad_line:[0-9]+: " "$dir/daemon.log"; then
	pass "8. the daemon's log has the failed reload with $policy:$bad_line:col"
else
	grep -i 'policy' "$dir/daemon.log" | tail -5 >"$dir/out" || true
	fail "8. the daemon's log has no 'policy reload failed ... $policy:$bad_line:col'"
fi
run_checks "8. after daemon.reload failed, the old policy" as_nobody "$upy" "$pc" call "$sock" socket.create \
	'{"family":"AF_INET","type":"SOCK_DGRAM","pass":true}'

# Not JSON at all (a missing comma before "match" at 4:19), on SIGHUP.
set_policy <<'EOF'
{
  "version": 1,
  "rules": [
    { "name": "x" "match": {} }
  ]
}
EOF
if sighup "a broken policy"; then
	case $reload_status in
	*"Policy reload failed"*"$policy:4:19"*) pass "8. SIGHUP with a broken policy: READY=1 with STATUS $reload_status" ;;
	*) echo "$reload_status" >"$dir/out"; fail "8. SIGHUP with a broken policy: STATUS does not say it failed at $policy:4:19" ;;
	esac
fi
if grep -q "policy reload failed, the old policy stays: $policy:4:19: " "$dir/daemon.log"; then
	pass "8. the daemon's log has the failed SIGHUP reload with $policy:4:19"
else
	grep -i 'policy' "$dir/daemon.log" | tail -5 >"$dir/out" || true
	fail "8. the daemon's log has no 'policy reload failed ... $policy:4:19'"
fi
run_checks "8. after SIGHUP failed, the old policy" as_nobody "$upy" "$pc" call "$sock" socket.create \
	'{"family":"AF_INET","type":"SOCK_DGRAM","pass":true}'

# A good policy again, through daemon.reload this time.
printf '%s\n' "$policy_a" | set_policy
rc=0
"$py" "$pc" call "$sock" daemon.reload '{}' >"$dir/client.out" 2>&1 || rc=$?
verdicts "8. daemon.reload of a good policy" "$dir/client.out" "$rc"
if "$py" -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if "check" in d:
        r = d.get("reply", {}).get("result", {})
        sys.exit(0 if r.get("source") == sys.argv[2] and r.get("rules") == 2
                 and isinstance(r.get("generation"), int) and r["generation"] > 1 else 1)
sys.exit(1)
' "$dir/client.out" "$policy"; then
	pass "8. daemon.reload answers {source: the policy file, rules: 2, generation}"
else
	cp "$dir/client.out" "$dir/out"
	fail "8. daemon.reload does not answer {source: $policy, rules: 2, generation > 1}"
fi

# ---------------------------------------------------------------- stop the daemon

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
