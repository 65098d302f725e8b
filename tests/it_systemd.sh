#!/usr/bin/env bash
# it_systemd.sh: the systemd integration of sockbrokerd.
#   (a) systemd-analyze verify accepts the units as `make install DESTDIR=`
#       installs them (exit 0, no warning about them), with the installed
#       daemon where ExecStart= names it and the installed man pages;
#   (b) under systemd-socket-activate the daemon takes its listening socket from
#       fd 3, reports READY=1 over NOTIFY_SOCKET, answers daemon.info, and on
#       SIGTERM reports STOPPING=1, exits 0 and leaves the socket file alone.
# Environment (set by make check): SBD (daemon binary), SRCDIR, BUILDDIR.
# Exit: 0 pass, 1 fail, 77 skip. With CI=true a missing tool is a failure.
set -eu -o pipefail

: "${SBD:?SBD must name the sockbrokerd binary}"
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
CI=${CI:-false}
# sbd_install; its missing() is replaced below.
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

status=0          # 1 once anything failed
skips=()          # reasons for parts that could not run
daemon_pid=
listener_pid=
evfd=
work=

# cleanup: stop whatever is still running and remove the scratch directory.
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -KILL "$daemon_pid" 2>/dev/null || true
	fi
	if [ -n "$listener_pid" ] && kill -0 "$listener_pid" 2>/dev/null; then
		kill -TERM "$listener_pid" 2>/dev/null || true
	fi
	if [ -n "$work" ]; then
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# dump_logs: show what the daemon and the notify listener recorded.
dump_logs() {
	local f
	for f in "$work/daemon.log" "$work/notify.log"; do
		if [ -s "$f" ]; then
			echo "---- $(basename "$f")"
			cat "$f"
		fi
	done
	echo "----"
}

# die: fail the test now.
die() {
	echo "FAIL: $*"
	dump_logs
	exit 1
}

# missing: a tool is not installed; skip the part locally, fail it in CI.
missing() {
	if [ "$CI" = true ]; then
		echo "FAIL: $1 is not installed (CI=true: required)"
		status=1
	else
		echo "SKIP: $1 is not installed ($2 not tested)"
		skips+=("$1 missing")
	fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/sb-systemd.XXXXXX")

# ------------------------------------------------------------ (a) verify
verify_units() {
	local inst=$work/inst out rc=0 man_opt=--man=no exe sbindir man8 man1 how
	local -a cmd
	if ! sbd_install "$inst"; then
		echo "FAIL: cannot install the build to verify its units"
		status=1
		return
	fi
	if grep -q '@[a-z_]*@' "$inst_service"; then
		echo "FAIL: unsubstituted placeholder in the installed sockbrokerd.service"
		status=1
	fi
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$inst_service")
	sbindir=$(dirname "$exe")
	if [ ! -x "$inst$exe" ]; then
		echo "FAIL: ExecStart= names $exe, which make install did not install"
		status=1
		return
	fi
	# Check Documentation= against the installed man pages when man can read them.
	man8=$(find "$inst" -path '*/man8/sockbrokerd.8' | head -n 1)
	man1=$(find "$inst" -path '*/man1/sockbrokerctl.1' | head -n 1)
	if command -v man >/dev/null && [ -n "$man8" ] && [ -n "$man1" ]; then
		man_opt=--man=yes
	fi
	cmd=(systemd-analyze verify "$man_opt" "$inst_socket" "$inst_service")
	# The installed files unchanged: the installed daemon appears at
	# ExecStart='s path in a mount namespace of the check's own. Where that
	# cannot be (not root, or no such directory yet, as under distcheck), a
	# copy of the units with only ExecStart='s directory changed.
	if [ -d "$sbindir" ] && unshare --mount --propagation private -- true >/dev/null 2>&1; then
		how="the installed units, $inst$exe mounted on $sbindir"
		# shellcheck disable=SC2016 # expanded by the inner shell
		out=$(MANPATH="$(dirname "$(dirname "${man8:-/x/y}")")" timeout 60 \
			unshare --mount --propagation private -- /bin/sh -c \
			'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$inst$sbindir" "$sbindir" \
			"${cmd[@]}" 2>&1) || rc=$?
	else
		how="copies of the installed units, ExecStart= in $inst$sbindir"
		mkdir -p "$work/units"
		sed -e "s|^ExecStart=$sbindir/|ExecStart=$inst$sbindir/|" "$inst_service" \
			>"$work/units/sockbrokerd.service"
		cp "$inst_socket" "$work/units/sockbrokerd.socket"
		cmd=(systemd-analyze verify "$man_opt" "$work/units/sockbrokerd.socket" "$work/units/sockbrokerd.service")
		out=$(MANPATH="$(dirname "$(dirname "${man8:-/x/y}")")" timeout 60 "${cmd[@]}" 2>&1) || rc=$?
	fi
	if [ -n "$out" ]; then
		printf 'systemd-analyze verify said:\n%s\n' "$out"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: systemd-analyze verify exited $rc ($how)"
		status=1
	elif printf '%s\n' "$out" | grep -q '^sockbrokerd\.'; then
		echo "FAIL: systemd-analyze verify warns about our units ($how)"
		status=1
	else
		echo "ok: systemd-analyze verify ($man_opt) of $how"
	fi
}

if command -v systemd-analyze >/dev/null; then
	verify_units
else
	missing systemd-analyze "unit verification"
fi

# ------------------------------------------------------------ (b) activation
# Events from the helpers arrive as lines on one FIFO, read with timeouts:
#   "notify PID KEY=VALUE"     a NOTIFY_SOCKET datagram line and its sender
#   "activator-listening"      systemd-socket-activate is listening
#   "daemon-exited"            the daemon's stderr closed
events=$work/events.fifo
event=

# Read one notify datagram at a time and report its lines with the sender pid.
notify_py='
import socket, struct, sys
path, log, idle = sys.argv[1], open(sys.argv[2], "a"), float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.settimeout(idle)
print("notify-listening", flush=True)
while True:
    try:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    except socket.timeout:
        break
    pid = 0
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", cdata[:12])[0]
    for line in data.decode("utf-8", "replace").split("\n"):
        if line:
            log.write("pid %d: %s\n" % (pid, line)); log.flush()
            print("notify %d %s" % (pid, line), flush=True)
'

# Copy the activator/daemon stderr to the log; announce listening and EOF.
relay_py='
import sys
log = open(sys.argv[1], "a")
ev = open(sys.argv[2], "w")
for line in iter(sys.stdin.readline, ""):
    log.write(line); log.flush()
    if line.startswith("Listening on"):
        ev.write("activator-listening\n"); ev.flush()
ev.write("daemon-exited\n"); ev.flush()
'

# Connect and close at once: makes systemd-socket-activate exec the daemon.
poke_py='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[2]))
s.connect(sys.argv[1])
s.close()
'

# Ask daemon.info and check the reply: JSON-RPC 2.0, id 1, protocol 1.
info_py='
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[2]))
s.connect(sys.argv[1])
s.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.info\"}\n")
buf = b""
while b"\n" not in buf:
    chunk = s.recv(65536)
    if not chunk:
        sys.exit("connection closed before a full reply: %r" % buf)
    buf += chunk
line = buf.split(b"\n", 1)[0]
print("reply: " + line.decode("utf-8", "replace"))
r = json.loads(line)
if r.get("jsonrpc") != "2.0" or r.get("id") != 1 or "result" not in r:
    sys.exit("not a JSON-RPC 2.0 success reply to id 1")
p = r["result"].get("protocol")
if type(p) is not int or p != 1:
    sys.exit("result.protocol is %r, not 1" % (p,))
'

# Wait until a process has terminated (bash may already have reaped it).
waitpid_py='
import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
p = select.poll()
p.register(fd, select.POLLIN)
sys.exit(0 if p.poll(float(sys.argv[2]) * 1000) else 1)
'

# expect_event REGEX SECONDS: read events until one matches (sets $event).
# Once the daemon has exited, only a short grace remains for late events.
expect_event() {
	local re=$1 deadline=$((SECONDS + $2)) left line
	while :; do
		left=$((deadline - SECONDS))
		[ "$left" -gt 0 ] || return 1
		IFS= read -r -t "$left" line <&"$evfd" || return 1
		echo "event: $line"
		if [[ $line =~ $re ]]; then
			event=$line
			return 0
		fi
		if [ "$line" = daemon-exited ] && [ "$deadline" -gt $((SECONDS + 3)) ]; then
			deadline=$((SECONDS + 3))
		fi
	done
}

activation() {
	local sock=$work/act.sock notify=$work/notify.sock pid rc=0
	local -a env_args=(-E "NOTIFY_SOCKET=$notify")
	local v

	mkfifo "$events"
	# Read-write, so that opening it never blocks and writers never see EPIPE.
	exec {evfd}<>"$events"

	python3 -c "$notify_py" "$notify" "$work/notify.log" 120 >&"$evfd" {evfd}>&- &
	listener_pid=$!
	expect_event '^notify-listening$' 15 || die "notify listener did not start"

	# systemd-socket-activate passes only its own variables and -E ones on.
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		if [ -n "${!v:-}" ]; then
			env_args+=(-E "$v=${!v}")
		fi
	done
	# The relay reads the daemon's stderr through a FIFO so that it is our
	# child, not the daemon's.
	mkfifo "$work/stderr.fifo"
	python3 -c "$relay_py" "$work/daemon.log" "$events" <"$work/stderr.fifo" {evfd}>&- &
	systemd-socket-activate -l "$sock" "${env_args[@]}" "$SBD" </dev/null \
		>>"$work/daemon.log" 2>"$work/stderr.fifo" {evfd}>&- &
	daemon_pid=$!
	expect_event '^activator-listening$' 15 ||
		die "systemd-socket-activate did not listen on $sock"

	# The activator execs the daemon (same pid) on the first connection.
	python3 -c "$poke_py" "$sock" 10 || die "could not connect to $sock"
	expect_event '^notify [0-9]+ READY=1$' 30 || die "no READY=1 on NOTIFY_SOCKET"
	pid=${event#notify }
	pid=${pid%% *}
	if [ "$pid" != "$daemon_pid" ]; then
		die "READY=1 came from pid $pid, not the main pid $daemon_pid (NotifyAccess=main would drop it)"
	fi
	echo "ok: READY=1 from the main pid"

	python3 -c "$info_py" "$sock" 15 || die "daemon.info over the activated socket failed"
	echo "ok: daemon.info answers protocol 1 on the inherited socket"

	kill -TERM "$daemon_pid"
	expect_event '^notify [0-9]+ STOPPING=1$' 15 || die "no STOPPING=1 after SIGTERM"
	echo "ok: STOPPING=1"
	python3 -c "$waitpid_py" "$daemon_pid" 15 || die "daemon still running 15 s after SIGTERM"
	wait "$daemon_pid" || rc=$?
	daemon_pid=
	if [ "$rc" -ne 0 ]; then
		die "daemon exited with status $rc after SIGTERM, expected 0"
	fi
	echo "ok: exit status 0 after SIGTERM"
	# The socket belongs to systemd (sockbrokerd.socket): the daemon must not
	# unlink it, or a restarted service would listen on an unreachable socket.
	[ -S "$sock" ] || die "daemon removed the socket-activated socket file $sock"
	echo "ok: socket file left in place"
}

run_activation=yes
for tool in systemd-socket-activate python3; do
	if ! command -v "$tool" >/dev/null; then
		missing "$tool" "socket activation"
		run_activation=no
	fi
done
if [ ! -x "$SBD" ]; then
	echo "FAIL: $SBD is not an executable"
	status=1
	run_activation=no
fi
if [ "$run_activation" = yes ]; then
	activation
fi

if [ "$status" -ne 0 ]; then
	exit 1
fi
if [ "${#skips[@]}" -gt 0 ]; then
	echo "SKIP: ${skips[*]}"
	exit 77
fi
echo "PASS"
exit 0
