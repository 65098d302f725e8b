# Shared by the shell integration tests (sourced): tool checks that skip or,
# under CI=true, fail; a private temp dir with cleanup; ok/not ok counters; and
# the daemon started on a private socket with readiness taken from its
# READY=1 on a private NOTIFY_SOCKET (no sleeps), then stopped with SIGTERM.
# shellcheck shell=bash disable=SC2317

missing() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1 (required when CI=true)"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}

# sbd_setup NAME: the temp dir, traps and counters. Sets py, dir, sock.
sbd_setup() {
	# The interpreter itself, not a version manager's shim (one less process per call).
	py=$(python3 -c 'import sys; print(sys.executable or "python3")')
	dir=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	sock="$dir/control.sock"
	daemon_pid=
	listener_pid=

	cleanup() {
		if [ -n "$daemon_pid" ]; then
			kill -KILL "$daemon_pid" 2>/dev/null || true
			wait "$daemon_pid" 2>/dev/null || true
		fi
		if [ -n "$listener_pid" ]; then
			kill "$listener_pid" 2>/dev/null || true
			wait "$listener_pid" 2>/dev/null || true
		fi
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

# sbd_start: runs "$SBD" on $sock and waits for its READY=1 (30 s at most).
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
	NOTIFY_SOCKET="$dir/notify.sock" "$SBD" --socket "$sock" 2>"$dir/daemon.log" &
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
