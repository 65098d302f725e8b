# Shared by the shell integration tests (sourced): tool checks that skip or,
# under CI=true, fail; a private temp dir with cleanup; ok/not ok counters; and
# the daemon started on a private socket with readiness taken from its
# READY=1 on a private NOTIFY_SOCKET (no sleeps), then stopped with SIGTERM.
# At the end, the ctl_ functions of the sockbrokerctl tests (it_ctl.sh,
# it_ctl_admin.sh), which run under /bin/sh: that part is POSIX sh, and the
# file as a whole must parse in dash too.
# shellcheck shell=bash disable=SC2317

missing() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 (required when CI=true)"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}

# need_root WHY: missing WHY unless we are root.
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		missing "$1"
	fi
}

# need_python_client: missing unless SBD is built and python3 (3.9 or later,
# for socket.send_fds) can be its client.
need_python_client() {
	: "${SBD:=}"
	if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
		missing "daemon not built (SBD='$SBD' is not executable)"
	fi
	command -v python3 >/dev/null 2>&1 || missing "python3 is not installed"
	if ! python3 -c 'import socket, sys; sys.exit(0 if hasattr(socket, "send_fds") else 1)'; then
		missing "python3 is older than 3.9 (no socket.send_fds)"
	fi
}

# reap SIGNAL PID...: sends SIGNAL to each PID (empty ones are skipped) and
# waits for it; a process already gone is no error. POSIX sh.
reap() {
	_reap_sig=$1
	shift
	for _reap_pid in "$@"; do
		[ -n "$_reap_pid" ] || continue
		kill "-$_reap_sig" "$_reap_pid" 2>/dev/null || true
		wait "$_reap_pid" 2>/dev/null || true
	done
}

# sbd_setup NAME: the temp dir, traps and counters. Sets py, dir, sock.
sbd_setup() {
	# The interpreter itself, not a version manager's shim (one less process per call).
	py=$(python3 -c 'import sys; print(sys.executable or "python3")')
	# The tests' Python imports tests/rpc_session.py.
	if [ -n "${SRCDIR:-}" ]; then
		# No __pycache__ in the source tree (read-only under distcheck).
		PYTHONPATH="$SRCDIR/tests${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
		export PYTHONPATH PYTHONDONTWRITEBYTECODE
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	sock="$dir/control.sock"
	# An empty --sockets for daemons a test starts itself: never the host's sockets.d.
	mkdir -p "$dir/sockets.d"
	daemon_pid=
	listener_pid=

	cleanup() {
		reap KILL "$daemon_pid"
		reap TERM "$listener_pid"
		rm -rf "$dir"
	}
	trap cleanup EXIT
	trap 'exit 99' HUP INT TERM

	checks=0
	failures=0
	pass() { checks=$((checks + 1)); echo "ok - $1"; }
	fail() {
		checks=$((checks + 1)); failures=$((failures + 1))
		echo "not ok - $1"
		if [ -s "$dir/out" ]; then sed 's/^/    | /' "$dir/out"; fi
	}

}

# sbd_start [ARGS...]: runs "$SBD" --socket $sock ARGS and waits for its
# READY=1 (30 s at most). Without --policy among ARGS, the daemon gets an
# empty policy directory of its own (the embedded default), never the host's
# /etc/sockbroker.
sbd_start() {


	# Binds the notify socket, reports "bound", then prints datagrams until one
	# holds READY=1.
	listener='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    msg = s.recv(4096).decode("utf-8", "replace")
    print(msg.replace("\n", " "), flush=True)
    if "READY=1" in msg.split("\n"):
        break
'
	mkfifo "$dir/notify.fifo"
	timeout 30 "$py" -c "$listener" "$dir/notify.sock" >"$dir/notify.fifo" &
	listener_pid=$!
	exec 3<"$dir/notify.fifo"
	line=
	if ! IFS= read -r -t 30 line <&3 || [ "$line" != bound ]; then
		echo "not ok - the notify listener did not start"
		exit 1
	fi

	unset LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
	_sbd_policy=
	_sbd_sockets=
	for _sbd_arg in "$@"; do
		[ "$_sbd_arg" = --policy ] && _sbd_policy=given
		[ "$_sbd_arg" = --sockets ] && _sbd_sockets=given
	done
	if [ -z "$_sbd_policy" ]; then
		mkdir -p "$dir/policy.d" || exit 99
		set -- "$@" --policy "$dir/policy.d"
	fi
	# Nor the host's declared sockets (/etc/sockbroker/sockets.d).
	if [ -z "$_sbd_sockets" ]; then
		mkdir -p "$dir/sockets.d" || exit 99
		set -- "$@" --sockets "$dir/sockets.d"
	fi
	NOTIFY_SOCKET="$dir/notify.sock" "$SBD" --socket "$sock" "$@" 2>"$dir/daemon.log" &
	daemon_pid=$!

	# The listener exits on READY=1, or timeout ends it after 30 s. With bash >=
	# 5.1 a daemon that dies first ends the wait too.
	ended=
	st=0
	if [ "${BASH_VERSINFO[0]}" -gt 5 ] || { [ "${BASH_VERSINFO[0]}" -eq 5 ] && [ "${BASH_VERSINFO[1]}" -ge 1 ]; }; then
		wait -n -p ended "$listener_pid" "$daemon_pid" || st=$?
	else
		wait "$listener_pid" || st=$?
		ended=$listener_pid
	fi
	if [ "$ended" = "$daemon_pid" ]; then
		daemon_pid=
		echo "not ok - the daemon exited (status $st) before READY=1"
		sed 's/^/    | /' "$dir/daemon.log"
		exit 1
	fi
	listener_pid=
	if [ "$st" -ne 0 ]; then
		exec 3<&-
		echo "not ok - no READY=1 from the daemon within 30 s"
		sed 's/^/    | /' "$dir/daemon.log"
		exit 1
	fi
	cat <&3 >"$dir/notify.out"
	exec 3<&-
	pass "the daemon sent READY=1 ($(tr -d '\n' <"$dir/notify.out"))"
}

# sbd_stop: SIGTERM, a bounded wait, and checks: exit 0, socket removed.
sbd_stop() {
	kill -TERM "$daemon_pid"
	# Bounded wait: the shell's wait runs under a watchdog that kills the daemon
	# after 10 s (timeout(1) cannot wait for a process it did not start).
	# The watchdog takes its sleep down with it when it is stopped.
	(
		trap 'kill "$timer" 2>/dev/null; exit 0' TERM
		sleep 10 &
		timer=$!
		wait "$timer"
		kill -KILL "$daemon_pid" 2>/dev/null
	) >/dev/null 2>&1 &
	watchdog=$!
	rc=0
	wait "$daemon_pid" || rc=$?
	daemon_pid=
	kill "$watchdog" 2>/dev/null || true
	wait "$watchdog" 2>/dev/null || true
	if [ "$rc" -eq 0 ]; then
		pass "the daemon exits 0 on SIGTERM"
	else
		fail "the daemon exited $rc on SIGTERM"
		sed 's/^/    | /' "$dir/daemon.log"
	fi
	if [ -e "$sock" ]; then fail "the daemon left its socket behind"; else pass "the daemon removed its socket"; fi

}

# sbd_install DESTDIR: `make install DESTDIR=DESTDIR` of this build (BUILDDIR),
# the files as a package ships them; make's output in DESTDIR.log. Sets
# inst_service and inst_socket, the installed unit files. POSIX sh.
sbd_install() {
	if [ -z "${BUILDDIR:-}" ] || [ ! -f "$BUILDDIR/Makefile" ]; then
		echo "not ok - BUILDDIR='${BUILDDIR:-}' is not a configured build"
		return 1
	fi
	if ! make -C "$BUILDDIR" install DESTDIR="$1" >"$1.log" 2>&1; then
		echo "not ok - make install DESTDIR=$1 failed:"
		tail -n 30 "$1.log"
		return 1
	fi
	inst_service=$(find "$1" -path '*/systemd/system/sockbrokerd.service' | head -n 1)
	inst_socket=$(find "$1" -path '*/systemd/system/sockbrokerd.socket' | head -n 1)
	if [ -z "$inst_service" ] || [ -z "$inst_socket" ]; then
		echo "not ok - make install put no sockbrokerd.service and .socket under $1/*/systemd/system"
		return 1
	fi
}

# ---------------------------------------------------------------- sockbrokerctl tests (POSIX sh)

# own_namespaces 'UNSHARE-OPTIONS' "$@": runs this script again, once, in
# namespaces of its own (unshare's options, "--net" or "--net --mount"),
# then brings up the loopback of its new network namespace. Exits 77 (a
# failure when CI=true) when they cannot be made.
own_namespaces() {
	_ns_opts=$1
	shift
	if [ "${SB_IT_OWN_NS:-}" != "$0" ]; then
		# shellcheck disable=SC2086 # the options, a word each
		unshare $_ns_opts true 2>/dev/null || missing "cannot make namespaces of its own (unshare $_ns_opts)"
		# shellcheck disable=SC2086
		SB_IT_OWN_NS=$0 exec unshare $_ns_opts -- bash "$0" "$@"
	fi
	ip link set lo up || { echo "FAIL - cannot bring up lo in the test's network namespace"; exit 1; }
}

# ctl_need_tools WHY: exits 77 (skipped) unless SBD and SBCTL are built and
# python3 is there (needed WHY, e.g. "to check JSON output").
ctl_need_tools() {
	: "${SBD:=}"
	: "${SBCTL:=}"
	if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
		missing "daemon not built (SBD='$SBD' is not executable)"
	fi
	if [ -z "$SBCTL" ] || [ ! -x "$SBCTL" ]; then
		missing "sockbrokerctl not built (SBCTL='$SBCTL' is not executable)"
	fi
	if ! command -v python3 >/dev/null 2>&1; then
		missing "python3 is needed $1"
	fi
}

# sbctl_for_others: a copy of sockbrokerctl in $dir/bin that other users can
# run, since the build may live where they cannot read it (a root user's
# first clone is under /root, mode 0700); a libtool wrapper's program and
# library sit in .libs. Sets sbctl_other: the command to run it with, as
# `"$sbctl_other" ARGS` under setpriv.
sbctl_for_others() {
	mkdir -p "$dir/bin" || exit 99
	if [ -x "$(dirname "$SBCTL")/.libs/sockbrokerctl" ]; then
		cp "$(dirname "$SBCTL")/.libs/sockbrokerctl" "$(dirname "$SBCTL")"/.libs/libsockbroker.so* "$dir/bin/" ||
			exit 99
	else
		cp "$SBCTL" "$dir/bin/" || exit 99
	fi
	cat >"$dir/bin/sbctl-other" <<EOF_SBCTL
#!/bin/sh
LD_LIBRARY_PATH='$dir/bin' exec '$dir/bin/sockbrokerctl' "\$@"
EOF_SBCTL
	chmod -R a+rX "$dir/bin" && chmod a+x "$dir/bin/sbctl-other" || exit 99
	sbctl_other=$dir/bin/sbctl-other
}

# ctl_setup NAME: the temp dir $dir with the daemon's socket $sock, cleanup
# on exit (ctl_cleanup), the counters, and the check helpers below. A failed
# check shows both of sockbrokerctl's outputs.
ctl_setup() {
	dir=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 99
	mkdir -p "$dir/sockets.d" || exit 99
	sock="$dir/s.sock"
	daemon_pid=
	drain_pid=
	client_pid=
	ctl_socket=
	trap ctl_cleanup EXIT
	trap 'exit 99' HUP INT TERM

	failures=0
	checks=0

	pass() { checks=$((checks + 1)); echo "ok - $1"; }
	fail() {
		checks=$((checks + 1)); failures=$((failures + 1))
		echo "FAIL - $1"
		for f in "$dir/out" "$dir/err"; do
			[ -s "$f" ] && sed 's/^/    | /' "$f"
		done
	}

	# ctl ARGS...: runs sockbrokerctl (with --socket $ctl_socket first, when a
	# script sets that), output in $dir/out and $dir/err, status in $rc.
	ctl() {
		if [ -n "$ctl_socket" ]; then
			"$SBCTL" --socket "$ctl_socket" "$@" >"$dir/out" 2>"$dir/err"
		else
			"$SBCTL" "$@" >"$dir/out" 2>"$dir/err"
		fi
		rc=$?
	}

	# expect_rc WANT DESCRIPTION
	expect_rc() {
		if [ "$rc" -eq "$1" ]; then pass "$2 (exit $rc)"; else fail "$2: exit $rc, expected $1"; fi
	}

	# expect_out PATTERN FILE DESCRIPTION: an extended regexp matches a line.
	expect_out() {
		if grep -Eq -- "$1" "$2"; then pass "$3"; else fail "$3: no line matches /$1/"; fi
	}

	# expect_no_out PATTERN FILE DESCRIPTION: no line matches.
	expect_no_out() {
		if grep -Eq -- "$1" "$2"; then fail "$3: a line matches /$1/"; else pass "$3"; fi
	}

	# json_check EXPR: $dir/out parses as JSON (d) and the Python EXPR holds.
	json_check() {
		python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <"$dir/out"
	}
}

# ctl_cleanup: stops what still runs (a second client, the daemon, the drain
# of its stderr) and removes $dir.
ctl_cleanup() {
	reap TERM "$client_pid" "$daemon_pid" "$drain_pid"
	rm -rf "$dir"
}

# ctl_start_daemon [ARGS...]: runs "$SBD" --socket $sock ARGS with its stderr
# into a fifo and blocks on its "ready" line (10 s at most), then keeps
# draining that stderr into $dir/daemon.log. No sleeps or retry loops.
ctl_start_daemon() {
	mkfifo "$dir/err.fifo" || exit 99
	unset NOTIFY_SOCKET LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
	# Hermetic: unless the test gives a policy, a directory of our own (empty:
	# the embedded default), never the host's /etc/sockbroker.
	_ctl_policy=
	_ctl_sockets=
	for _ctl_arg in "$@"; do
		[ "$_ctl_arg" = --policy ] && _ctl_policy=given
		[ "$_ctl_arg" = --sockets ] && _ctl_sockets=given
	done
	if [ -z "$_ctl_policy" ]; then
		mkdir -p "$dir/policy.d" || exit 99
		set -- "$@" --policy "$dir/policy.d"
	fi
	# Nor the host's declared sockets.
	if [ -z "$_ctl_sockets" ]; then
		mkdir -p "$dir/sockets.d" || exit 99
		set -- "$@" --sockets "$dir/sockets.d"
	fi
	# Under timeout: the daemon's life is bounded even if it ignores SIGTERM (a
	# leak guard, generous: a whole script runs near 2 minutes in a loaded
	# sanitizer build); timeout forwards our SIGTERM and exits with the
	# daemon's status.
	timeout -s KILL 600 "$SBD" --socket "$sock" "$@" 2>"$dir/err.fifo" &
	daemon_pid=$!
	# Opening the fifo's read end pairs with the daemon's write end.
	exec 3<"$dir/err.fifo"
	if ! timeout 10 grep -m1 ready <&3 >"$dir/ready"; then
		echo "FAIL - the daemon did not report ready within 10 s"
		exec 3<&-
		exit 1
	fi
	# Keep draining its stderr so that later log lines never block or break it.
	cat <&3 >"$dir/daemon.log" &
	drain_pid=$!
	exec 3<&-
	echo "# daemon: $(cat "$dir/ready")"
}

# ctl_stop_daemon: SIGTERM, a check that the daemon exits 0, and the end of
# the drain of its stderr. A daemon still there 60 s after SIGTERM gets its
# state printed before the wait goes on (the 600 s cap of ctl_start_daemon
# kills it then): twice a loaded sanitizer run saw that cap kill a daemon
# that had already removed its socket, and the cause is not known yet.
ctl_stop_daemon() {
	_ctl_real=$(sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' "$dir/ready")
	kill -TERM "$daemon_pid"
	if [ -n "$_ctl_real" ] && ! python3 -c '
import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
p = select.poll()
p.register(fd, select.POLLIN)
sys.exit(0 if p.poll(60000) else 1)' "$_ctl_real"; then
		echo "# the daemon (pid $_ctl_real) has not exited 60 s after SIGTERM:"
		for _t in /proc/"$_ctl_real"/task/*; do
			echo "#   thread ${_t##*/}: $(grep '^State' "$_t/status" 2>/dev/null) wchan=$(cat "$_t/wchan" 2>/dev/null)"
			sed 's/^/#     /' "$_t/stack" 2>/dev/null
			# A sanitizer's leak check runs in a cloned child (not a thread).
			for _c in $(cat "$_t/children" 2>/dev/null); do
				echo "#   child $_c: $(grep '^State' /proc/"$_c"/status 2>/dev/null) wchan=$(cat /proc/"$_c"/wchan 2>/dev/null)"
				sed 's/^/#     /' /proc/"$_c"/stack 2>/dev/null
			done
		done
		tail -n 20 "$dir/daemon.log" | sed 's/^/#   log: /'
	fi
	wait "$daemon_pid"
	rc=$?
	daemon_pid=
	expect_rc 0 "the daemon exits 0 on SIGTERM"
	wait "$drain_pid" 2>/dev/null
	drain_pid=
}
