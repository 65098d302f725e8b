#!/bin/bash
# Issue 16 part 2, first piece: libsockbroker-preload.so's bind(), with
# unmodified programs, against the real daemon on a private socket with a
# policy of its own, inside a network namespace of its own (port 80 is ours
# alone there):
#   0. the shim exports bind, connect, getaddrinfo and socket alone and needs no json-c;
#   1. as nobody under the shim, `python3 -m http.server 80 --bind 127.0.0.1`
#      serves curl, and `socat TCP-LISTEN:80,bind=127.0.0.1,fork` serves two
#      connections; nobody cannot bind port 80 itself;
#   2. what the program's descriptor becomes: the same number, bound to
#      127.0.0.1:80 (and [::1]:80), SO_REUSEADDR, O_NONBLOCK and FD_CLOEXEC
#      kept (and an inheritable one left inheritable), no descriptor left
#      over; a port already taken gives EADDRINUSE; eight threads at once; a UNIX path in a directory nobody may not
#      write stays EACCES (the daemon binds paths as the caller);
#   3. a bind the policy denies: python's own "Permission denied" message,
#      the same as without the shim, and the daemon's audit has the deny;
#      EADDRNOTAVAIL likewise; an unreachable daemon, or one that never
#      answers (10 s), gives the original errno; fork and exec: a forked
#      child keeps the shim, an executed program has it only with
#      SOCKBROKER_PRELOAD_INHERIT=1 (the shim leaves LD_PRELOAD's others);
#   4. a bind that succeeds on its own (port 8080) never contacts the daemon
#      (admin.stats counts no connection, the audit has no record);
#   5. sockbrokerctl run --preload sets LD_PRELOAD (before the caller's) and
#      an absolute SOCKBROKER_SOCKET, --inherit and --connect-through their
#      variables; a missing shim: exit 1, nothing runs.
# Needs root (setpriv to nobody, a network namespace); without it, or
# without curl, socat, setpriv, unshare or ip, exits 77, or fails when
# CI=true. Synchronisation: readiness lines through fifos, no sleeps.

set -u

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/nobody-lib.sh
. "$SRCDIR/tests/nobody-lib.sh"

ctl_need_tools "to run the test programs"
need_root "runs programs as nobody and makes a network namespace"
for tool in setpriv unshare ip curl socat; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done
preload_need_shim

own_namespaces '--net' "$@"

ctl_setup it_preload
py=python3
nobody_setup
drain_pid2=
mute_pid=
trap 'reap TERM "$drain_pid2" "$mute_pid"; ctl_cleanup' EXIT

preload_copy_shim
mkdir -p "$dir/unixdir" "$dir/www"
# A directory nobody may not create a socket in.
chmod 755 "$dir/unixdir"

cat >"$dir/policy.json" <<JSON
{ "version": 1,
  "rules": [
    { "name": "root", "match": { "uid": 0 }, "allow": [ { "action": "admin" } ] },
    { "name": "nobody serves http", "match": { "uid": 65534 },
      "allow": [ { "action": "create", "family": ["AF_INET", "AF_INET6"], "type": "SOCK_STREAM" },
                 { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1/32", "port": 80 },
                 { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1/32", "port": "90-97" },
                 { "action": "bind", "family": "AF_INET6", "type": "SOCK_STREAM", "address": "::1/128", "port": 80 },
                 { "action": "create", "family": "AF_UNIX", "type": "SOCK_STREAM" },
                 { "action": "bind", "family": "AF_UNIX", "path": "$dir/unixdir/" } ] } ] }
JSON
ctl_start_daemon --policy "$dir/policy.json"
chmod 666 "$sock"
ctl_socket=$sock

# shimmed CMD...: CMD as nobody with the shim and the daemon's socket.
shimmed() {
	"${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" "$@"
}

# wait_line FIFO PATTERN WHAT: reads the fifo (a writer is started) until a
# line matches, 15 s at most; the rest is drained in the background. Sets
# drain_pid2.
wait_line() {
	exec 5<"$1"
	if timeout 15 grep -m1 -E "$2" <&5 >"$1.first"; then
		cat <&5 >"$1.log" &
		drain_pid2=$!
		exec 5<&-
		pass "$3"
		return 0
	fi
	exec 5<&-
	fail "$3: no line /$2/ within 15 s"
	return 1
}

# stats_accepted: the daemon's connections_accepted (one more for this call).
stats_accepted() {
	ctl --json call admin.stats '{}'
	python3 -c 'import json, sys; print(json.load(sys.stdin)["server"]["connections_accepted"])' <"$dir/out"
}

# ---------------------------------------------------------------- 0. the library

# Nothing of the shim's may shadow the program's symbols (json-c's, say).
if command -v nm >/dev/null 2>&1 && command -v readelf >/dev/null 2>&1; then
	nm -D --defined-only "$shim" | awk '$2 ~ /^[TtDdBbWwVvRr]$/ { print $3 }' | sort >"$dir/out"
	if [ "$(tr '\n' ' ' <"$dir/out")" = "bind connect getaddrinfo socket " ]; then
		pass "the shim exports bind, connect, getaddrinfo and socket and nothing else"
	else
		fail "the shim exports other symbols than those four: $(tr '\n' ' ' <"$dir/out")"
	fi
	readelf -d "$shim" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$dir/out"
	if grep -q -E 'json|sockbroker' "$dir/out"; then
		fail "the shim needs json-c or libsockbroker"
	else
		pass "the shim needs neither json-c nor libsockbroker ($(tr '\n' ' ' <"$dir/out"))"
	fi
else
	echo "# nm or readelf missing: the shim's symbols are not checked"
fi

# ---------------------------------------------------------------- 1. unmodified servers

if "${as_nobody_cmd[@]}" "$upy" -c 'import socket; socket.socket().bind(("127.0.0.1", 80))' >"$dir/out" 2>&1; then
	fail "nobody could bind port 80 without the daemon: the test proves nothing"
else
	pass "nobody cannot bind 127.0.0.1:80 itself"
fi

echo "served through the shim" >"$dir/www/index.html"
chmod -R a+rX "$dir/www"
mkfifo "$dir/http.fifo"
(cd "$dir/www" && exec "${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" \
	"$upy" -u -m http.server 80 --bind 127.0.0.1) </dev/null >"$dir/http.fifo" 2>&1 &
client_pid=$!
if wait_line "$dir/http.fifo" '^Serving HTTP on 127\.0\.0\.1 port 80' "python3 -m http.server 80 starts as nobody under the shim"; then
	if curl -sS --max-time 10 http://127.0.0.1/index.html >"$dir/out" 2>"$dir/err" && grep -q '^served through the shim$' "$dir/out"; then
		pass "curl http://127.0.0.1/ is served by python's http.server on port 80"
	else
		fail "curl did not get http.server's page"
	fi
	if [ "$(stat -c %U "/proc/$client_pid")" = nobody ]; then
		pass "the server runs as nobody"
	else
		fail "the server is not nobody's"
	fi
fi
reap TERM "$client_pid" "$drain_pid2"
client_pid=

mkfifo "$dir/socat.fifo"
# The command itself, not the function: its pid is socat's.
"${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" socat -d -d TCP-LISTEN:80,bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo served-by-socat' \
	</dev/null >"$dir/socat.fifo" 2>&1 &
client_pid=$!
if wait_line "$dir/socat.fifo" 'listening on .*127\.0\.0\.1:80' "socat TCP-LISTEN:80,fork listens as nobody under the shim"; then
	for n in 1 2; do
		if "$py" -c '
import socket
s = socket.create_connection(("127.0.0.1", 80), timeout=10)
print(s.makefile().readline(), end="")' >"$dir/out" 2>"$dir/err" && grep -q '^served-by-socat$' "$dir/out"; then
			pass "connection $n to port 80 is served by socat's child"
		else
			fail "connection $n to port 80 got no answer from socat"
		fi
	done
fi
reap TERM "$client_pid" "$drain_pid2"
client_pid=

# ---------------------------------------------------------------- 2. the descriptor

cat >"$dir/bindcheck.py" <<'PY'
import fcntl, json, os, socket, sys, threading

def fds():
    return sorted(os.listdir("/proc/self/fd"))

out = {}
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setblocking(False)
fd = s.fileno()
before = fds()
s.bind(("127.0.0.1", 80))
s.listen()
out["v4"] = {"name": list(s.getsockname()), "fd": s.fileno() == fd,
             "reuseaddr": s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
             "nonblock": bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK),
             "cloexec": not os.get_inheritable(fd), "same_fds": fds() == before}
# The port taken (by s): the daemon's own EADDRINUSE, as with privilege.
s2 = socket.socket()
try:
    s2.bind(("127.0.0.1", 80))
    out["inuse"] = "bound"
except OSError as e:
    out["inuse"] = e.errno
s2.close()
s.close()

s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.set_inheritable(True)
s.bind(("::1", 80))
out["v6"] = {"name": list(s.getsockname()[:2]), "v6only": s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY),
             "nonblock": not s.getblocking(), "cloexec": not os.get_inheritable(s.fileno())}
s.close()

u = socket.socket(socket.AF_UNIX)
path = sys.argv[1] + "/unixdir/app.sock"
before = fds()
try:
    u.bind(path)
    out["unix"] = {"bound": u.getsockname()}
except OSError as e:
    out["unix"] = {"errno": e.errno, "exists": os.path.exists(path), "same_fds": fds() == before}
u.close()

res = {}
def worker(port):
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", port))
        res[port] = t.getsockname()[1]
    except OSError as e:
        res[port] = str(e)
    t.close()
ts = [threading.Thread(target=worker, args=(p,)) for p in range(90, 98)]
before = fds()
for t in ts:
    t.start()
for t in ts:
    t.join()
out["threads"] = {"ok": all(res[p] == p for p in range(90, 98)), "res": res, "same_fds": fds() == before}
print(json.dumps(out))
PY
chmod a+r "$dir/bindcheck.py"
shimmed "$upy" "$dir/bindcheck.py" "$dir" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "nobody binds 127.0.0.1:80, [::1]:80, a UNIX path and eight ports in threads under the shim"
[ "$rc" -eq 0 ] || { tail -n 20 "$dir/daemon.log"; ss -tanp 2>&1; } | sed 's/^/    | /'
if [ "$rc" -eq 0 ]; then
	if json_check 'd["v4"] == {"name": ["127.0.0.1", 80], "fd": True, "reuseaddr": 1, "nonblock": True, "cloexec": True, "same_fds": True}'; then
		pass "the descriptor: same number, 127.0.0.1:80, SO_REUSEADDR, O_NONBLOCK and FD_CLOEXEC kept, no descriptor left over"
	else
		fail "the brokered IPv4 descriptor"
	fi
	if json_check 'd["inuse"] == 98'; then
		pass "port 80 already taken: the program sees EADDRINUSE (the daemon's bind's), as it would with privilege"
	else
		fail "a second bind of port 80 did not fail with EADDRINUSE"
	fi
	if json_check 'd["v6"] == {"name": ["::1", 80], "v6only": 1, "nonblock": False, "cloexec": False}'; then
		pass "IPv6: [::1]:80 with IPV6_V6ONLY, blocking and inheritable as the program had it"
	else
		fail "the brokered IPv6 descriptor"
	fi
	# The daemon binds a path as the caller (docs/design.md, "Acting as the
	# caller"): the policy allows it, the file system still says no.
	if json_check 'd["unix"] == {"errno": 13, "exists": False, "same_fds": True}'; then
		pass "AF_UNIX: a path in a directory nobody may not write stays EACCES (the daemon binds it as nobody)"
	else
		fail "a UNIX bind in a directory nobody may not write"
	fi
	if json_check 'd["threads"]["ok"] and d["threads"]["same_fds"]'; then
		pass "eight threads bind eight ports at once, no descriptor left over"
	else
		fail "binds from eight threads"
	fi
fi

# ---------------------------------------------------------------- 3. refused

"${as_nobody_cmd[@]}" "$upy" -m http.server 81 --bind 127.0.0.1 </dev/null >"$dir/plain.out" 2>"$dir/plain.err"
plain_rc=$?
shimmed "$upy" -m http.server 81 --bind 127.0.0.1 </dev/null >"$dir/out" 2>"$dir/err"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -eq "$plain_rc" ] && grep -q '^PermissionError: \[Errno 13\] Permission denied$' "$dir/err" &&
	[ "$(tail -n1 "$dir/err")" = "$(tail -n1 "$dir/plain.err")" ]; then
	pass "a denied bind: http.server fails with its own 'PermissionError: [Errno 13] Permission denied', as without the shim"
else
	fail "a denied bind under the shim does not fail as without it (exit $rc, $plain_rc without)"
fi
ctl --json audit --limit 1000
expect_out 'no rule allows bind of AF_INET SOCK_STREAM on 127\.0\.0\.1:81 to uid 65534' "$dir/out" "the daemon's audit has the denied bind of port 81 and its reason"

shimmed "$upy" -c '
import socket
try:
    socket.socket().bind(("192.0.2.1", 80))
except OSError as e:
    print(e.errno, e.strerror)' >"$dir/out" 2>"$dir/err"
expect_out '^99 Cannot assign requested address$' "$dir/out" "EADDRNOTAVAIL (an address not here) stays EADDRNOTAVAIL when the daemon cannot help"

"${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$dir/none.sock" "$upy" -c '
import socket
try:
    socket.socket().bind(("127.0.0.1", 80))
except OSError as e:
    print(e.errno, e.strerror)' >"$dir/out" 2>"$dir/err"
expect_out '^13 Permission denied$' "$dir/out" "the daemon unreachable: the original EACCES"

# A daemon that accepts and never answers: the bind fails, bounded (10 s
# per reply), with the original errno.
mkfifo "$dir/mute.fifo"
"$py" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen()
print("bound", flush=True)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
' "$dir/mute.sock" >"$dir/mute.fifo" 2>&1 &
mute_pid=$!
read -r _bound <"$dir/mute.fifo"
"${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$dir/mute.sock" SOCKBROKER_PRELOAD_INHERIT=1 \
	timeout 30 "$upy" -c '
import socket, time
t = time.monotonic()
try:
    socket.socket().bind(("127.0.0.1", 80))
except OSError as e:
    print(e.errno, e.strerror, "after %d s" % round(time.monotonic() - t))' >"$dir/out" 2>"$dir/err"
expect_out '^13 Permission denied after 1[0-9] s$' "$dir/out" "a daemon that never answers: the original EACCES after the 10 s bound"
reap TERM "$mute_pid"

# fork and exec: a forked child binds through the shim as its parent does;
# a program it executes has no shim (the shim took itself out of
# LD_PRELOAD, keeping the other entries) unless SOCKBROKER_PRELOAD_INHERIT=1.
cat >"$dir/forks.py" <<'PY'
import os, socket, subprocess, sys
pid = os.fork()
if pid == 0:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", 80)); print("child bound", s.getsockname()[1], flush=True)
    except OSError as e:
        print("child", e, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print("LD_PRELOAD now:", os.environ.get("LD_PRELOAD", "(unset)"), flush=True)
subprocess.run([sys.executable, "-c", "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ntry:\n s.bind((\"127.0.0.1\", 80)); print(\"exec:\", s.getsockname()[1])\nexcept OSError as e: print(\"exec:\", e.errno)"])
PY
chmod a+r "$dir/forks.py"
: >"$dir/other.so"; chmod a+r "$dir/other.so"
shimmed "$upy" "$dir/forks.py" >"$dir/out" 2>"$dir/err"
expect_out '^child bound 80$' "$dir/out" "after fork, the child binds port 80 through the shim"
expect_out '^LD_PRELOAD now: \(unset\)$' "$dir/out" "the shim took itself out of LD_PRELOAD"
expect_out '^exec: 13$' "$dir/out" "a program executed by default has no shim (EACCES)"
"${as_nobody_cmd[@]}" env LD_PRELOAD="$dir/other.so:$shim" SOCKBROKER_SOCKET="$sock" "$upy" "$dir/forks.py" >"$dir/out" 2>"$dir/err"
expect_out "^LD_PRELOAD now: $dir/other.so\$" "$dir/out" "the shim left the other LD_PRELOAD entries"
"${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" SOCKBROKER_PRELOAD_INHERIT=1 "$upy" "$dir/forks.py" >"$dir/out" 2>"$dir/err"
expect_out "^LD_PRELOAD now: $shim\$" "$dir/out" "SOCKBROKER_PRELOAD_INHERIT=1: LD_PRELOAD kept"
expect_out '^exec: 80$' "$dir/out" "SOCKBROKER_PRELOAD_INHERIT=1: a program executed inherits the shim and binds port 80"

# ---------------------------------------------------------------- 4. not intercepted

a1=$(stats_accepted)
shimmed "$upy" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 8080)); print(s.getsockname()[1])' >"$dir/out" 2>"$dir/err"
expect_out '^8080$' "$dir/out" "a bind the kernel grants (port 8080) works under the shim"
a2=$(stats_accepted)
if [ -n "$a1" ] && [ "$a2" = $((a1 + 1)) ]; then
	pass "the daemon accepted no connection for it (connections_accepted $a1, then $a2: the stats call itself)"
else
	fail "the daemon saw a connection for a bind that needed none ($a1, then $a2)"
fi
ctl --json audit --limit 1000
expect_no_out '8080' "$dir/out" "the audit has no record of port 8080"

# ---------------------------------------------------------------- 5. sockbrokerctl run --preload

sbctl_for_others
cat >"$dir/preloaded.py" <<'PY'
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # port 80 may be in TIME_WAIT by now
s.bind(("127.0.0.1", 80))
print(s.getsockname()[1], os.environ.get("LD_PRELOAD", "(unset)"), os.environ["SOCKBROKER_SOCKET"],
      os.environ.get("SOCKBROKER_CONNECT", "-"), os.environ.get("SOCKBROKER_PRELOAD_INHERIT", "-"))
PY
chmod a+r "$dir/preloaded.py"
# From $dir with a relative --socket: the program gets the absolute path.
(cd "$dir" && "${as_nobody_cmd[@]}" env SOCKBROKER_PRELOAD="$shim" LD_PRELOAD= "$sbctl_other" --socket s.sock \
	run --preload -- "$upy" "$dir/preloaded.py") >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "nobody: sockbrokerctl run --preload -- python binding port 80"
expect_out "^80 \\(unset\\) $sock - -\$" "$dir/out" "the program bound port 80, with SOCKBROKER_SOCKET the absolute socket path (and LD_PRELOAD cleared by the shim)"
(cd "$dir" && "${as_nobody_cmd[@]}" env SOCKBROKER_PRELOAD="$shim" LD_PRELOAD= "$sbctl_other" --socket s.sock \
	run --inherit --connect-through -- "$upy" "$dir/preloaded.py") >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "nobody: sockbrokerctl run --inherit --connect-through -- python binding port 80"
expect_out "^80 $shim $sock 1 1\$" "$dir/out" "--inherit and --connect-through: the shim loaded and kept, SOCKBROKER_CONNECT=1, SOCKBROKER_PRELOAD_INHERIT=1"
# shellcheck disable=SC2016 # the program's own shell expands $LD_PRELOAD
"${as_nobody_cmd[@]}" env SOCKBROKER_PRELOAD="$shim" LD_PRELOAD="$dir/other.so" "$sbctl_other" --socket "$sock" \
	run --inherit -- /bin/sh -c 'echo "$LD_PRELOAD"' >"$dir/out" 2>"$dir/err"
rc=$?
expect_out "^$shim:$dir/other.so\$" "$dir/out" "an LD_PRELOAD the caller had stays, after the shim"
rm -f "$dir/ran"
env SOCKBROKER_PRELOAD="$dir/none.so" "$SBCTL" --socket "$sock" run --preload -- /bin/sh -c ": >'$dir/ran'" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 1 "run --preload with a shim that is not there"
expect_out "run: --preload: the shim $dir/none.so cannot be used: No such file or directory" "$dir/err" "the message names the missing shim"
if [ -e "$dir/ran" ]; then fail "the program ran without its shim"; else pass "the program never ran"; fi

ctl_stop_daemon

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
