# Shared by the hostile tests (tests/hostile/h_*.sh, sourced after
# tests/sbd-lib.sh): the daemon runs as root in a network namespace of its
# own (lo up, nothing else), with a policy file the script writes; clients run
# as nobody (setpriv) inside that namespace (nsenter), so every packet stays
# on a loopback this script created. The client side is tests/hostile/hostile.py
# (one JSON line per assertion, as tests/policy-client.py prints them).
#
# Synchronisation without sleeps: the daemon's READY=1 (sbd-lib.sh); policy
# changes are daemon.reload calls answered once the new policy is in force;
# background helpers say on a fifo when they are ready ("event" lines).
# shellcheck shell=bash disable=SC2154,SC2317
# (SC2154: dir, py, sock, daemon_pid, checks, failures come from sbd-lib.sh;
# SC2317: functions called through traps.)

# hostile_need WHY: the tools, root and nobody, or skip (fail under CI=true).
hostile_need() {
	: "${SBD:=}"
	if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
		missing "daemon not built (SBD='$SBD' is not executable)"
	fi
	if [ "$(id -u)" -ne 0 ]; then
		missing "needs root ($1)"
	fi
	for tool in python3 setpriv unshare nsenter ip timeout; do
		command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
	done
	[ "$(id -u nobody 2>/dev/null)" = 65534 ] || missing "there is no user nobody with uid 65534"
}

# hostile_setup NAME: sbd_setup, a directory nobody can read, the client copied
# in, an interpreter nobody can run ($upy), the helpers below.
hostile_setup() {
	sbd_setup "$1"
	chmod 0755 "$dir"
	umask 022
	extra_pids=
	hostile_cleanup() {
		# shellcheck disable=SC2086 # a list of pids
		reap TERM $extra_pids
		cleanup
	}
	trap hostile_cleanup EXIT
	hdir="$SRCDIR/tests/hostile"
	cp "$hdir/hostile.py" "$hdir/differential.py" "$dir/"
	hp="$dir/hostile.py"
	policy="$dir/policy.json"
	upy=
	for cand in /usr/bin/python3 /usr/local/bin/python3 "$py"; do
		if [ -x "$cand" ] && as_uid 65534 "$cand" -c \
			'import socket, sys; sys.exit(0 if hasattr(socket, "recv_fds") else 1)' >/dev/null 2>&1; then
			upy=$cand
			break
		fi
	done
	[ -n "$upy" ] || missing "no python3 >= 3.9 that user nobody can run"
}

# as_uid UID CMD...: CMD as UID (and the gid of the same number), no groups.
as_uid() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$_u" --clear-groups "$@"
}

# in_ns CMD...: CMD (a program, not a function) in the daemon's network
# namespace, killed after 300 s.
in_ns() { timeout -s KILL 300 nsenter --net="/proc/$daemon_pid/ns/net" "$@"; }

# ns_as UID CMD...: CMD as UID (and gid UID, no groups) in the daemon's
# network namespace, killed after 300 s.
ns_as() {
	_u=$1
	shift
	in_ns setpriv --reuid="$_u" --regid="$_u" --clear-groups "$@"
}

# set_policy: stdin becomes $policy, replaced at once, root's and 0644.
set_policy() {
	cat >"$policy.new"
	chmod 0644 "$policy.new"
	mv -f "$policy.new" "$policy"
}

# hostile_start [--dns] [DAEMON ARGS...]: the daemon with --policy $policy in
# a new network namespace with lo up; with --dns also in a new mount namespace
# where /etc/resolv.conf names 127.0.0.53 with a one-attempt, 3 s timeout (the
# script runs hostile.py dns-recorder there to answer nothing and record what
# was asked). The namespace set-up execs the daemon, so $daemon_pid is its pid.
hostile_start() {
	_dns=
	if [ "${1:-}" = --dns ]; then
		_dns=1
		shift
	fi
	real_sbd=$SBD
	{
		echo '#!/bin/sh'
		echo 'set -e'
		echo 'ip link set lo up'
		if [ -n "$_dns" ]; then
			printf 'nameserver 127.0.0.53\noptions timeout:3 attempts:1\n' >"$dir/resolv.conf"
			chmod 0644 "$dir/resolv.conf"
			echo 'mount --make-rprivate /'
			echo "mount --bind '$dir/resolv.conf' /etc/resolv.conf"
		fi
		echo 'exec "$@"'
	} >"$dir/ns-init"
	chmod 0755 "$dir/ns-init"
	_ns=--net
	[ -z "$_dns" ] || _ns="--net --mount"
	# Word splitting of $_ns and of the quoted "$@" below is meant.
	{
		echo '#!/bin/sh'
		printf 'exec unshare %s -- %s %s' "$_ns" "'$dir/ns-init'" "'$real_sbd'"
		for _a in "$@"; do printf " '%s'" "$_a"; done
		echo ' "$@"'
	} >"$dir/sbd-wrapper"
	chmod 0755 "$dir/sbd-wrapper"
	SBD="$dir/sbd-wrapper"
	sbd_start --policy "$policy"
	SBD=$real_sbd
	_dns_ns=$(readlink "/proc/$daemon_pid/ns/net")
	if [ "$_dns_ns" != "$(readlink /proc/self/ns/net)" ]; then
		pass "the daemon runs in a network namespace of its own ($_dns_ns)"
	else
		fail "the daemon runs in the host's network namespace"
		exit 1
	fi
}

# hostile_stop: sbd_stop and the summary; exits 0 only when every check held.
hostile_stop() {
	sbd_stop
	echo "1..$checks"
	echo "# $checks checks, $failures failed"
	[ "$failures" -eq 0 ]
	exit $?
}

# verdicts LABEL FILE RC: each JSON line of FILE with "check" and "ok" becomes
# "ok - LABEL: check" or "not ok - ..." with the line's details; a client that
# failed (RC != 0) without saying which check, or said nothing, is a failure.
verdicts() {
	"$py" -c '
import json, sys
out = open(sys.argv[2], "w")
for line in open(sys.argv[1], errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if isinstance(d, dict) and "check" in d:
        detail = {k: v for k, v in d.items() if k not in ("check", "ok")}
        out.write("%d\t%s\t%s\n" % (1 if d.get("ok") is True else 0, d["check"].replace("\t", " "),
                                    json.dumps(detail, sort_keys=True)[:3000] if detail else ""))
' "$2" "$dir/verdicts"
	_n=0
	_bad=0
	while IFS='	' read -r _okv _name _detail; do
		_n=$((_n + 1))
		if [ "$_okv" = 1 ]; then
			pass "$1: $_name"
		else
			_bad=1
			: >"$dir/out"
			fail "$1: $_name"
			[ -z "$_detail" ] || echo "    | $_detail"
		fi
	done <"$dir/verdicts"
	if [ "$_n" -eq 0 ]; then
		cp "$2" "$dir/out"
		fail "$1: the client printed no check (exit $3)"
	elif [ "$3" -ne 0 ] && [ "$_bad" -eq 0 ]; then
		cp "$2" "$dir/out"
		fail "$1: the client exited $3"
	fi
}

# run_checks LABEL CMD...: runs CMD to the end, then its verdicts. CMD
# bounds its own time (in_ns, ns_as).
run_checks() {
	_label=$1
	shift
	_rc=0
	"$@" >"$dir/client.out" 2>&1 </dev/null || _rc=$?
	verdicts "$_label" "$dir/client.out" "$_rc"
}

# nobody_checks LABEL AREA ARGS...: hostile.py AREA $sock ARGS as nobody in
# the daemon's namespace.
nobody_checks() {
	_label=$1
	shift
	run_checks "$_label" ns_as 65534 "$upy" "$hp" "$@"
}

# bg_start NAME [in_ns | ns_as UID] CMD...: CMD in the background (in the
# daemon's namespace, as UID), killed after 300 s; its output on fd 4 (one
# background helper at a time). $bg_pid is timeout's, which passes SIGTERM on.
bg_start() {
	bg_name=$1
	shift
	case $1 in
	in_ns) shift; set -- nsenter --net="/proc/$daemon_pid/ns/net" "$@" ;;
	ns_as)
		_u=$2
		shift 2
		set -- nsenter --net="/proc/$daemon_pid/ns/net" setpriv --reuid="$_u" --regid="$_u" --clear-groups "$@"
		;;
	esac
	rm -f "$dir/$bg_name.fifo"
	mkfifo "$dir/$bg_name.fifo"
	timeout -s KILL 300 "$@" >"$dir/$bg_name.fifo" 2>&1 </dev/null &
	bg_pid=$!
	extra_pids="$extra_pids $bg_pid"
	exec 4<"$dir/$bg_name.fifo"
	: >"$dir/$bg_name.out"
}

# bg_until EVENT: the background helper's lines until one holds
# "event": "EVENT" (60 s at most); the line is left in $bg_line. 1 when the
# helper ended or timed out first.
bg_until() {
	while IFS= read -r -t 60 bg_line <&4; do
		printf '%s\n' "$bg_line" >>"$dir/$bg_name.out"
		case $bg_line in *"\"event\": \"$1\""*) return 0 ;; esac
	done
	return 1
}

# bg_finish LABEL: stops the helper (SIGTERM) unless it ended, then its verdicts.
bg_finish() {
	kill -TERM "$bg_pid" 2>/dev/null || true
	cat <&4 >>"$dir/$bg_name.out"
	exec 4<&-
	wait "$bg_pid" 2>/dev/null || true
	verdicts "$1" "$dir/$bg_name.out" 0
}

# bg_stop: stops the helper (SIGTERM) unless it ended; its output is kept in
# $dir/$bg_name.out. For helpers that serve and assert nothing.
bg_stop() {
	kill -TERM "$bg_pid" 2>/dev/null || true
	cat <&4 >>"$dir/$bg_name.out"
	exec 4<&-
	wait "$bg_pid" 2>/dev/null || true
}

# reload_policy LABEL: stdin becomes the policy; daemon.reload as root. 0 when
# the daemon took it, else a failed check with the daemon's reason.
reload_policy() {
	set_policy
	_rc=0
	timeout -s KILL 60 "$py" "$hp" reload "$sock" >"$dir/client.out" 2>&1 || _rc=$?
	if [ "$_rc" -eq 0 ]; then
		pass "policy '$1' is loaded"
		return 0
	fi
	cp "$dir/client.out" "$dir/out"
	fail "policy '$1' is loaded"
	return 1
}

# not_run LABEL WHY: one failed check for a group of checks that could not run.
not_run() {
	: >"$dir/out"
	fail "$1: not run ($2)"
}

# ADMIN_RULE: root administers (the tests reload the policy as root).
# shellcheck disable=SC2034 # used by the scripts that source this file
ADMIN_RULE='{ "name": "root administers", "match": { "uid": 0 }, "allow": [ { "action": "admin" } ] }'
