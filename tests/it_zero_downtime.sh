#!/bin/bash
# Integration test: a zero-downtime restart of a web server (issue 15), the
# worked example of examples/zero-downtime/README.md. A private daemon
# declares the listener "web" on 127.0.0.1 (port 0: a free one); nobody, whom
# the policy grants the retrieve of "web" only, runs
# examples/zero-downtime/webserver.py; a client hammers the port with new
# connections throughout; a second instance starts, the first gets SIGTERM
# and exits; no connection may be refused or fail, both instances must have
# served, and the first must have finished the request it had in flight.
#
# Each step is a function, so steps can be added (a daemon restart while
# hammering, once daemon.restart exists). Every wait is on a line of the
# process waited for (read -t bounds it), never on time. Needs root (the web
# servers run as nobody) and setpriv; exits 77 without them unless CI=true
# (then a failure).

set -eu

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
need_root "needs root (the web servers run as nobody through setpriv)"
command -v setpriv >/dev/null 2>&1 || missing "setpriv is not installed"
webserver="$SRCDIR/examples/zero-downtime/webserver.py"
client="$SRCDIR/tests/zdt_client.py"
[ -r "$webserver" ] || missing "$webserver not found"
[ -r "$client" ] || missing "$client not found"

sbd_setup it_zero_downtime
chmod 755 "$dir"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
as_nobody() { "${nobody[@]}" "$@"; }

# An interpreter nobody may run (the root shell's may live under /root), and
# the server where nobody may read it (so may the source tree).
upy=
for cand in /usr/bin/python3 /usr/local/bin/python3 "$py"; do
	if [ -x "$cand" ] && as_nobody "$cand" -c 'import socket, sys; sys.exit(0 if hasattr(socket, "recv_fds") else 1)' \
		>/dev/null 2>&1; then
		upy=$cand
		break
	fi
done
[ -n "$upy" ] || missing "no python3 >= 3.9 that user nobody can run"
cp "$webserver" "$dir/webserver.py" && chmod 644 "$dir/webserver.py" || exit 99

# Instance N: web_pid[N] the process we wait for (timeout, a leak guard),
# web_real[N] the server itself (from its ready line), web_fd[N] its stdout.
declare -a web_pid=() web_real=() web_fd=()
hammer_pid='' hammer_in='' hammer_out='' inflight_pid='' inflight_in='' inflight_out=''
served_by=" "

zdt_cleanup() {
	# The servers run under timeout: end them themselves, then what waits.
	for p in "${web_real[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	reap KILL "${web_pid[@]}" "$hammer_pid" "$inflight_pid"
	cleanup
}
trap zdt_cleanup EXIT

# spawn NAME CMD...: runs CMD with its standard input and output on fifos;
# sets NAME_pid, NAME_in (a descriptor writing its input), NAME_out (one
# reading its output). Its standard error goes to $dir/NAME.err.
spawn() {
	local name=$1 w r
	shift
	mkfifo "$dir/$name.in" "$dir/$name.out" || exit 99
	timeout -s KILL 600 "$@" <"$dir/$name.in" >"$dir/$name.out" 2>"$dir/$name.err" &
	printf -v "${name}_pid" %s $!
	exec {w}>"$dir/$name.in"
	exec {r}<"$dir/$name.out"
	printf -v "${name}_in" %s "$w"
	printf -v "${name}_out" %s "$r"
}

# expect_line FD REGEX WHAT: reads lines from FD (60 s at most for each)
# until one matches REGEX (left in $line); the hammer's "served-by PID"
# lines on the way are remembered in $served_by. False at the end of the
# output or a timeout.
expect_line() {
	while IFS= read -r -t 60 line <&"$1"; do
		case $line in "served-by "*) served_by="$served_by${line#served-by } " ;; esac
		if [[ $line =~ $2 ]]; then return 0; fi
		echo "# $3: $line"
	done
	echo "# $3: no line matching /$2/ (end of output or 60 s)"
	return 1
}

# ---------------------------------------------------------------- steps

# The daemon: "web" and "private" declared on free ports of 127.0.0.1; root
# sees them (retrieve, as a handle only), nobody may retrieve "web" and
# nothing else, and take it as a descriptor (an explicit create).
zdt_daemon_start() {
	cat >"$dir/sockets.d/web.json" <<-'JSON'
	{ "version": 1,
	  "sockets": [ { "name": "web", "address": "tcp:127.0.0.1:0", "backlog": 1024,
	                 "options": { "SO_REUSEADDR": true } },
	               { "name": "private", "address": "tcp:127.0.0.1:0" } ] }
	JSON
	cat >"$dir/policy.json" <<-'JSON'
	{ "version": 1,
	  "rules": [
	    { "name": "root looks", "match": { "uid": 0 }, "allow": [ { "action": "retrieve" } ] },
	    { "name": "web servers", "match": { "user": "nobody" },
	      "allow": [ { "action": "retrieve", "name": "web", "family": "AF_INET", "type": "SOCK_STREAM" },
	                 { "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" } ] } ] }
	JSON
	chmod 644 "$dir/policy.json" "$dir/sockets.d/web.json"
	sbd_start --policy "$dir/policy.json" --sockets "$dir/sockets.d"
	port=$("$py" -c '
import sys, rpc_session
_, call = rpc_session.connect(sys.argv[1], 10)
held = {e["name"]: e for e in call("hold.list")["result"]["held"]}
print(held["web"]["local"]["port"])' "$sock")
	if [ "$port" -gt 0 ]; then pass "the daemon holds \"web\" on 127.0.0.1:$port"; else fail "no port for web"; fi
}

# instance_start N: instance N as nobody, and its ready line.
instance_start() {
	local n=$1
	spawn "web$n" "${nobody[@]}" "$upy" "$dir/webserver.py" --socket "$sock" --name web
	eval "web_pid[$n]=\$web${n}_pid web_fd[$n]=\$web${n}_out"
	if expect_line "${web_fd[$n]}" '^ready pid=([0-9]+) name=web address=127\.0\.0\.1:'"$port"'$' "web$n"; then
		web_real[n]=${BASH_REMATCH[1]}
		pass "instance $n (pid ${web_real[n]}) retrieved web and is ready"
	else
		sed 's/^/    | /' "$dir/web$n.err"
		fail "instance $n did not get ready"
		exit 1
	fi
	local uid
	uid=$(stat -c %u "/proc/${web_real[n]}")
	[ "$uid" = 65534 ] && pass "instance $n runs as nobody" || fail "instance $n runs as uid $uid"
}

# instance_stop N: SIGTERM to the server itself; it says "stopping", then,
# after its requests in flight, "stopped pid=P served=K" (K in $served_last),
# and exits 0. INFLIGHT=1 finishes the request held in flight in between.
instance_stop() {
	local n=$1 rc=0
	kill -TERM "${web_real[n]}"
	expect_line "${web_fd[n]}" '^stopping pid=' "web$n" || fail "instance $n did not say it was stopping"
	if [ "${INFLIGHT:-}" = 1 ]; then
		inflight_finish "$n"
	fi
	if expect_line "${web_fd[n]}" '^stopped pid=[0-9]+ served=([0-9]+)$' "web$n"; then
		served_last=${BASH_REMATCH[1]}
	else
		served_last=
	fi
	wait "${web_pid[n]}" || rc=$?
	web_pid[n]=
	if [ "$rc" -eq 0 ] && [ -n "$served_last" ]; then
		pass "instance $n stopped on SIGTERM (exit 0, served $served_last)"
	else
		sed 's/^/    | /' "$dir/web$n.err"
		fail "instance $n: exit $rc on SIGTERM, served '${served_last}'"
	fi
	web_real[n]=
}

hammer_start() {
	spawn hammer "$py" "$client" hammer 127.0.0.1 "$port" 4
	expect_line "$hammer_out" '^started$' hammer && pass "the hammer is running" || { fail "no hammer"; exit 1; }
}

# hammer_count N: waits until the hammer has made N more requests.
hammer_count() {
	echo "count $1" >&"$hammer_in"
	expect_line "$hammer_out" "^counted $1 total=" hammer && echo "# $line" || fail "the hammer did not count $1"
}

# hammer_served_by PID: waits until the hammer has seen PID answer.
hammer_served_by() {
	case $served_by in *" $1 "*) ;; *) expect_line "$hammer_out" "^served-by $1\$" hammer || return 1 ;; esac
}

# inflight_open: a request that a server has accepted and not answered (it
# waits for its body after "100 Continue"); inflight_finish N sends the body
# and checks that instance N answered it.
inflight_open() {
	spawn inflight "$py" "$client" inflight 127.0.0.1 "$port"
	expect_line "$inflight_out" '^continued$' inflight && pass "a request is in flight (100 Continue)" ||
		fail "no 100 Continue"
}
inflight_finish() {
	echo go >&"$inflight_in"
	if expect_line "$inflight_out" '^served-by ([0-9]+) received=5$' inflight &&
		[ "${BASH_REMATCH[1]}" = "${web_real[$1]}" ]; then
		pass "instance $1, stopping, finished the request it had in flight"
	else
		fail "the request in flight was not finished by instance $1"
	fi
	wait "$inflight_pid" || fail "the in-flight client exited non-zero"
	inflight_pid=
}

# hammer_stop: the hammer's summary; sets ok, refused, failed, total, pids.
hammer_stop() {
	echo stop >&"$hammer_in"
	expect_line "$hammer_out" '^summary ok=([0-9]+) refused=([0-9]+) failed=([0-9]+) total=([0-9]+) pids=(.*)$' hammer ||
		{ fail "no summary from the hammer"; exit 1; }
	echo "# $line"
	ok=${BASH_REMATCH[1]} refused=${BASH_REMATCH[2]} failed=${BASH_REMATCH[3]} total=${BASH_REMATCH[4]}
	pids=${BASH_REMATCH[5]}
	while IFS= read -r -t 60 line <&"$hammer_out" && [ "$line" != end ]; do echo "# hammer: $line"; done
	wait "$hammer_pid" || fail "the hammer exited non-zero"
	hammer_pid=
}

# daemon_restart: daemon.restart through sockbrokerctl while everything
# runs; the old process (our child) exits 0, the new one serves on the same
# socket and holds "web" still, the same socket (same port).
daemon_restart() {
	local old=$daemon_pid rc=0 newpid
	if [ -z "${SBCTL:-}" ] || [ ! -x "$SBCTL" ]; then
		missing "sockbrokerctl not built (SBCTL='${SBCTL:-}')"
	fi
	"$SBCTL" -s "$sock" --json restart >"$dir/out" 2>&1 || rc=$?
	newpid=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$dir/out" 2>/dev/null) || newpid=
	wait "$old" || rc=$?
	if [ "$rc" -eq 0 ] && [ -n "$newpid" ] && [ "$newpid" != "$old" ]; then
		daemon_pid=$newpid
		pass "the daemon restarted (pid $old -> $newpid) while the hammer ran; the old one exited 0"
	else
		fail "daemon.restart: exit $rc, new pid '$newpid'"
		exit 1
	fi
	: >"$dir/out"
	local port2
	port2=$("$py" -c '
import sys, rpc_session
_, call = rpc_session.connect(sys.argv[1], 10)
held = {e["name"]: e for e in call("hold.list")["result"]["held"]}
print(held["web"]["local"]["port"])' "$sock")
	[ "$port2" = "$port" ] && pass "the new daemon holds \"web\" on the same port" || fail "web is on '$port2' now"
}

# daemon_stop_restarted: the daemon a restart made is not our child: SIGTERM,
# and wait for it with tail --pid (30 s at most); its socket must be gone.
daemon_stop_restarted() {
	kill -TERM "$daemon_pid"
	if timeout 30 tail --pid="$daemon_pid" -f /dev/null; then
		pass "the restarted daemon stops on SIGTERM"
	else
		fail "the restarted daemon did not stop"
	fi
	daemon_pid=
	[ -e "$sock" ] && fail "the restarted daemon left its socket" || pass "the restarted daemon removed its socket"
}

# served_count PID: how many of the hammer's requests PID answered.
served_count() {
	local e
	for e in ${pids//,/ }; do [ "${e%%:*}" = "$1" ] && { echo "${e#*:}"; return; }; done
	echo 0
}

# ---------------------------------------------------------------- the test

zdt_daemon_start

# The policy holds: nobody may not retrieve another name.
rc=0
as_nobody "$upy" "$dir/webserver.py" --socket "$sock" --name private >"$dir/out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 1 ] && grep -q "code -32010" "$dir/out" &&
	pass "nobody's server may not retrieve \"private\" (-32010, exit 1)" || fail "retrieve of private: exit $rc"
: >"$dir/out"

instance_start 1
hammer_start
hammer_count 1000
hammer_served_by "${web_real[1]}" && pass "instance 1 serves the hammer" || fail "instance 1 never served"
# Only instance 1 serves yet: it holds this request until it stops.
inflight_open

instance_start 2
hammer_served_by "${web_real[2]}" && pass "instance 2 serves the hammer beside instance 1" ||
	fail "instance 2 never served"
hammer_count 1000

pid1=${web_real[1]} pid2=${web_real[2]}
INFLIGHT=1 instance_stop 1
served1=$served_last
hammer_count 2000
# The daemon itself restarts while the hammer goes on: instance 2 serves
# throughout on its copy, and instance 3 retrieves "web" from the new daemon.
daemon_restart
hammer_count 1000
instance_start 3
hammer_served_by "${web_real[3]}" && pass "instance 3, started after the daemon's restart, serves the hammer" ||
	fail "instance 3 never served"
pid3=${web_real[3]}
hammer_count 1000
hammer_stop

[ "$refused" -eq 0 ] && pass "no connection refused ($total requests)" || fail "$refused connections refused"
[ "$failed" -eq 0 ] && pass "no request failed" || fail "$failed requests failed"
[ "$total" -ge 6000 ] && pass "thousands of requests ($total)" || fail "only $total requests"
n1=$(served_count "$pid1")
n2=$(served_count "$pid2")
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && pass "both instances served the hammer (pid $pid1: $n1, pid $pid2: $n2)" ||
	fail "pids served: $pids (instances $pid1 and $pid2)"
# Every request instance 1 accepted was answered: its count is the
# hammer's for it and the request in flight.
[ "$served1" -eq $((n1 + 1)) ] && pass "instance 1 answered $served1 requests: the hammer's $n1 and the one in flight" ||
	fail "instance 1 says it answered $served1, the clients got $((n1 + 1))"

instance_stop 2
[ "$served_last" -eq "$n2" ] && pass "instance 2 answered the hammer's $n2 requests" ||
	fail "instance 2 says it answered $served_last, the hammer got $n2"
n3=$(served_count "$pid3")
instance_stop 3
[ "$served_last" -eq "$n3" ] && [ "$n3" -gt 0 ] && pass "instance 3 answered the hammer's $n3 requests" ||
	fail "instance 3 says it answered $served_last, the hammer got $n3"
daemon_stop_restarted

echo "1..$checks"
echo "# $checks checks, $failures failed; $total requests: $ok answered, $refused refused, $failed failed"
[ "$failures" -eq 0 ]
