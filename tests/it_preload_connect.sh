#!/bin/bash
# Issue 16 part 2: libsockbroker-preload.so's connect() and getaddrinfo()
# (SOCKBROKER_CONNECT=1), with unmodified programs inside
# `bwrap --unshare-all` as nobody, where the daemon's control socket is the
# only thing of the outside bound in: no network, no /etc.
#
# The test runs in a network and a mount namespace of its own: the daemon
# and the "host" servers (HTTP on 8001, 8002 and 8003, UDP echo on 8004)
# share that namespace's loopback, and the daemon reads a private
# /etc/hosts (pinned.test, multi.test) bound over the real one. Checks:
#   1. without the shim, curl and urllib in the sandbox reach nothing;
#   2. through the shim, curl and python3's urllib (blocking, and with a
#      timeout: non-blocking connect, EINPROGRESS, then writable) fetch from
#      the loopback server the policy allows; a UDP connect works as well;
#   3. a destination the policy does not allow (a server listens there)
#      fails as a firewall's refusal, ECONNREFUSED, for curl and python,
#      and the daemon's audit has the deny and its reason;
#   4. host pinning: the names come from the daemon's resolver (the sandbox
#      has none), a connect to an address it gave carries the name, so a
#      host-only grant holds; the same address typed as a number does not;
#      of a name with two addresses, the one the program chose is the one
#      reached; at the shim's bounds (128 pins, a 4 KiB reply line) the
#      oldest pin goes and a too-long answer is the C library's;
#   5. compared with the real thing: connect_ex of a non-blocking socket,
#      getaddrinfo's list, and a blocking connect that gets no answer
#      (SO_SNDTIMEO: EINPROGRESS after 1 s; a signal's exception) are what
#      python gets outside the sandbox without the shim;
#   6. not intercepted: without SOCKBROKER_CONNECT, connect and getaddrinfo
#      never reach the daemon; an unreachable daemon gives curl its own
#      failure, the same as without the shim; no descriptor is left over;
#      eight threads at once; a forked child keeps its parent's pins.
# Needs root (setpriv, namespaces, a bind mount), bwrap and curl; without
# them exits 77, or fails when CI=true. No sleeps: readiness lines.

set -u

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/nobody-lib.sh
. "$SRCDIR/tests/nobody-lib.sh"

ctl_need_tools "to run the test programs"
need_root "runs programs as nobody, makes network and mount namespaces"
for tool in setpriv unshare ip curl bwrap mount; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done
preload_need_shim

own_namespaces '--net --mount' "$@"

ctl_setup it_preload_connect
py=python3
nobody_setup
servers_pid=
drain_pid2=
trap 'reap TERM "$servers_pid" "$drain_pid2"; ctl_cleanup' EXIT


# The daemon's names: a private hosts file over /etc/hosts, in this mount
# namespace only (unshare made its mounts private).
cat >"$dir/hosts" <<'HOSTS'
127.0.0.1 localhost
127.0.0.5 pinned.test
127.0.0.6 multi.test
127.0.0.7 multi.test
HOSTS
# The shim's bounds: 129 names for its table of 128 pins; a name with 30
# addresses (its answer fits the 4 KiB reply line) and one with 40 (not).
{
	for i in $(seq 0 128); do echo "127.0.2.$i n$i.many.test"; done
	for i in $(seq 1 30); do echo "127.0.3.$i fits.test"; done
	for i in $(seq 1 40); do echo "127.0.4.$i big.test"; done
} >>"$dir/hosts"
mount --bind "$dir/hosts" /etc/hosts || { echo "FAIL - cannot bind a private /etc/hosts"; exit 1; }

preload_copy_shim

cat >"$dir/policy.json" <<JSON
{ "version": 1,
  "rules": [
    { "name": "root", "match": { "uid": 0 }, "allow": [ { "action": "admin" } ] },
    { "name": "sandboxed client", "match": { "uid": 65534 },
      "allow": [ { "action": "create", "family": ["AF_INET", "AF_INET6"], "type": ["SOCK_STREAM", "SOCK_DGRAM"] },
                 { "action": "connect", "family": "AF_INET6", "type": "SOCK_STREAM", "address": "::1/128", "port": 8005 },
                 { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1/32", "port": [8001, 8006] },
                 { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM", "host": ["pinned.test", "multi.test", "*.many.test"], "port": 8002 },
                 { "action": "connect", "family": "AF_INET", "type": "SOCK_DGRAM", "address": "127.0.0.1/32", "port": 8004 },
                 { "action": "resolve", "host": ["pinned.test", "multi.test", "localhost", "*.many.test", "fits.test", "big.test"] } ] } ] }
JSON
ctl_start_daemon --policy "$dir/policy.json"
chmod 666 "$sock"
ctl_socket=$sock

# The "host's" servers: HTTP on 8001-8003 (any address of the loopback)
# and on [::1]:8005, answering with their port, and a UDP echo on
# 127.0.0.1:8004.
cat >"$dir/servers.py" <<'PY'
import http.server, socket, socketserver, sys, threading

hits = {}

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        if self.path == "/hits":
            body = (" ".join("%d=%d" % kv for kv in sorted(hits.items())) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        hits[port] = hits.get(port, 0) + 1
        # The address the client reached (which of a name's it chose).
        body = ("served by %d at %s\n" % (self.server.server_address[1], self.connection.getsockname()[0])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

for port in (8001, 8002, 8003):
    srv = S(("0.0.0.0", port), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
try:
    class S6(S):
        address_family = socket.AF_INET6
    srv6 = S6(("::1", 8005), H)
    threading.Thread(target=srv6.serve_forever, daemon=True).start()
    print("ipv6 yes", flush=True)
except OSError as e:
    print("ipv6 no:", e, flush=True)
# 8006: a listener that never accepts, its backlog (0: one connection)
# filled here, so that further handshakes get no answer and a connect
# waits.
full = socket.socket()
full.bind(("127.0.0.1", 8006))
full.listen(0)
filler = socket.create_connection(("127.0.0.1", 8006))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 8004))
print("ready", flush=True)
while True:
    data, peer = u.recvfrom(2048)
    u.sendto(b"echo " + data, peer)
PY
mkfifo "$dir/servers.fifo"
"$py" -u "$dir/servers.py" </dev/null >"$dir/servers.fifo" 2>&1 &
servers_pid=$!
exec 5<"$dir/servers.fifo"
if ! timeout 15 grep -m1 -B5 '^ready$' <&5 >"$dir/servers.first"; then
	echo "FAIL - the test's servers did not start"
	exit 1
fi
cat <&5 >"$dir/servers.log" &
drain_pid2=$!
exec 5<&-

# The sandbox: every namespace new, the system's programs read-only, the
# shim and the control socket; no /etc (no hosts, no resolver).
bwrap_args=(--unshare-all --die-with-parent --new-session --proc /proc --dev /dev)
for p in /usr /bin /sbin /lib /lib32 /lib64 /libx32; do
	if [ -L "$p" ]; then
		bwrap_args+=(--symlink "$(readlink "$p")" "$p")
	elif [ -d "$p" ]; then
		bwrap_args+=(--ro-bind "$p" "$p")
	fi
done
bwrap_args+=(--ro-bind "$dir/lib" "$dir/lib" --bind "$sock" "$sock" --ro-bind "$dir/checks" /checks)
mkdir -p "$dir/checks"

# sandboxed [ENV=VALUE...] -- CMD...: CMD as nobody in the sandbox.
sandboxed() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	"${as_nobody_cmd[@]}" bwrap "${bwrap_args[@]}" -- /usr/bin/env -i PATH=/usr/bin:/bin "${envs[@]}" "$@"
}
# shimmed CMD...: CMD in the sandbox through the shim, connect-through on.
shimmed() {
	sandboxed LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" SOCKBROKER_CONNECT=1 -- "$@"
}

stats_accepted() {
	ctl --json call admin.stats '{}'
	python3 -c 'import json, sys; print(json.load(sys.stdin)["server"]["connections_accepted"])' <"$dir/out"
}

if ! sandboxed -- /bin/true >"$dir/out" 2>&1; then
	if [ "${CI:-}" = true ]; then
		fail "bwrap cannot make its sandbox here as nobody"
		echo "# $checks checks, $failures failed"
		exit 1
	fi
	missing "bwrap cannot make its sandbox here as nobody: $(head -c 300 "$dir/out")"
fi

# ---------------------------------------------------------------- 1. the sandbox alone

sandboxed -- curl -sS --max-time 10 http://127.0.0.1:8001/ >"$dir/out" 2>"$dir/plain.err"
plain_rc=$?
cp "$dir/plain.err" "$dir/err"
if [ "$plain_rc" -ne 0 ] && ! grep -q 'served by' "$dir/out"; then
	pass "without the shim, curl in the sandbox reaches nothing (exit $plain_rc)"
else
	fail "curl reached the server from the sandbox without the shim: the test proves nothing"
fi

# ---------------------------------------------------------------- 2. through the shim

shimmed curl -sS --max-time 10 http://127.0.0.1:8001/ >"$dir/out" 2>"$dir/err"
expect_out '^served by 8001 at 127\.0\.0\.1$' "$dir/out" "curl in the sandbox fetches from 127.0.0.1:8001 through the daemon"

cat >"$dir/checks/fetch.py" <<'PY'
import socket, sys, urllib.request
url = sys.argv[1]
kw = {"timeout": float(sys.argv[2])} if len(sys.argv) > 2 else {}
try:
    print(urllib.request.urlopen(url, **kw).read().decode(), end="")
except OSError as e:
    r = getattr(e, "reason", e)
    print("error", getattr(r, "errno", None), type(r).__name__)
PY
chmod -R a+rX "$dir/checks"
shimmed "$upy" /checks/fetch.py http://127.0.0.1:8001/ >"$dir/out" 2>"$dir/err"
expect_out '^served by 8001 at 127\.0\.0\.1$' "$dir/out" "urllib.request (a blocking connect) fetches through the daemon"
shimmed "$upy" /checks/fetch.py http://127.0.0.1:8001/ 5 >"$dir/out" 2>"$dir/err"
expect_out '^served by 8001 at 127\.0\.0\.1$' "$dir/out" "urllib.request with a timeout (non-blocking connect: EINPROGRESS, then writable) fetches through the daemon"

cat >"$dir/checks/udp.py" <<'PY'
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", 8004))
u.settimeout(10)
u.send(b"ping")
print(u.recv(100).decode(), u.getpeername())
PY
shimmed "$upy" /checks/udp.py >"$dir/out" 2>"$dir/err"
expect_out "^echo ping \('127\.0\.0\.1', 8004\)$" "$dir/out" "a UDP connect goes through the daemon: send and recv reach the host's echo server"

if grep -q '^ipv6 yes$' "$dir/servers.first"; then
	shimmed curl -sS --max-time 10 'http://[::1]:8005/' >"$dir/out" 2>"$dir/err"
	expect_out '^served by 8005 at ::1$' "$dir/out" "curl to [::1]:8005: an AF_INET6 connect through the daemon"
elif [ "${CI:-}" = true ]; then
	fail "no ::1 in the test's network namespace: $(cat "$dir/servers.first")"
else
	echo "# SKIP the AF_INET6 connect: no ::1 here ($(grep '^ipv6' "$dir/servers.first"))"
fi

# ---------------------------------------------------------------- 3. refused

shimmed curl -sS --max-time 10 http://127.0.0.1:8003/ >"$dir/out" 2>"$dir/err"
rc=$?
if [ "$rc" -eq 7 ] && grep -q "Couldn't connect to server\|Connection refused" "$dir/err"; then
	pass "curl to a port the policy does not allow fails as refused (exit 7: $(head -c 120 "$dir/err"))"
else
	fail "curl to 127.0.0.1:8003 did not fail as refused (exit $rc)"
fi
shimmed "$upy" /checks/fetch.py http://127.0.0.1:8003/ >"$dir/out" 2>"$dir/err"
expect_out '^error 111 ConnectionRefusedError$' "$dir/out" "urllib to a port the policy does not allow: ConnectionRefusedError (ECONNREFUSED)"
shimmed "$upy" /checks/fetch.py http://127.0.0.1:8003/ 5 >"$dir/out" 2>"$dir/err"
expect_out '^error 111 ConnectionRefusedError$' "$dir/out" "the same with a timeout (a non-blocking connect): ECONNREFUSED"
ctl --json audit --limit 1000
expect_out 'no rule allows connect of AF_INET SOCK_STREAM to 127\.0\.0\.1:8003 to uid 65534' "$dir/out" "the daemon's audit has the refused connect and its reason"
# The servers count the requests each port served (a request, not a
# connection: a connection refused by the policy never reaches accept).
curl -sS --max-time 10 http://127.0.0.1:8001/hits >"$dir/out" 2>"$dir/err"
if grep -q '8001=' "$dir/out" && ! grep -q '8003=' "$dir/out"; then
	pass "the refused server was never reached ($(cat "$dir/out"))"
else
	fail "the refused server on 8003 was reached, or the count is missing"
fi

# ---------------------------------------------------------------- 4. host pinning

sandboxed -- "$upy" -c 'import socket; socket.getaddrinfo("pinned.test", 80)' >"$dir/out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
	pass "without the shim, the sandbox cannot resolve pinned.test"
else
	fail "the sandbox resolved pinned.test on its own: the test proves nothing"
fi
shimmed curl -sS --max-time 10 http://pinned.test:8002/ >"$dir/out" 2>"$dir/err"
expect_out '^served by 8002 at 127\.0\.0\.5$' "$dir/out" "curl http://pinned.test:8002/: the daemon resolved it, and the host-only grant holds"
shimmed "$upy" /checks/fetch.py http://pinned.test:8002/ >"$dir/out" 2>"$dir/err"
expect_out '^served by 8002 at 127\.0\.0\.5$' "$dir/out" "urllib http://pinned.test:8002/ likewise"
ctl --json audit --limit 1000
expect_out 'allows connect of AF_INET SOCK_STREAM for \\"pinned\.test\\" to 127\.0\.0\.5:8002' "$dir/out" "the audit has the connect allowed for the name pinned.test"
if python3 -c '
import json, sys
recs = json.load(sys.stdin)
recs = recs.get("records", recs) if isinstance(recs, dict) else recs
ok = any(r.get("method") == "socket.connect" and r.get("host") == "pinned.test" and r.get("port") == 8002 for r in recs)
sys.exit(0 if ok else 1)' <"$dir/out"; then
	pass "the audit records the connect with host pinned.test"
else
	fail "no audit record of a connect carrying host pinned.test"
fi
shimmed "$upy" /checks/fetch.py http://127.0.0.5:8002/ >"$dir/out" 2>"$dir/err"
expect_out '^error 111 ConnectionRefusedError$' "$dir/out" "the same address as a number carries no name: refused"

cat >"$dir/checks/second.py" <<'PY'
import socket
infos = socket.getaddrinfo("multi.test", 8002, socket.AF_INET, socket.SOCK_STREAM)
addrs = [i[4][0] for i in infos]
s = socket.socket()
s.connect(infos[-1][4])
print("addrs", " ".join(addrs), "peer", s.getpeername()[0])
PY
shimmed "$upy" /checks/second.py >"$dir/out" 2>"$dir/err"
expect_out '^addrs 127\.0\.0\.6 127\.0\.0\.7 peer 127\.0\.0\.7$' "$dir/out" "of multi.test's two addresses, the one the program chose (the second) is the one reached"

# At the bounds: the 129th name takes the oldest pin's place, so a connect
# to the first name's address is judged as a number (refused), and the
# second's still carries its name; an answer that fits the reply line
# comes from the daemon, one that does not is the C library's (the
# sandbox has none: the same error as without the shim).
cat >"$dir/checks/bounds.py" <<'PY'
import socket
def reach(addr):
    try:
        socket.create_connection((addr, 8002), timeout=10).close()
        return "ok"
    except OSError as e:
        return "errno %s" % e.errno
addrs = [socket.getaddrinfo("n%d.many.test" % i, 8002, socket.AF_INET, socket.SOCK_STREAM)[0][4][0] for i in range(129)]
print("first", addrs[0], reach(addrs[0]))
print("second", addrs[1], reach(addrs[1]))
print("last", addrs[128], reach(addrs[128]))
print("fits", len(socket.getaddrinfo("fits.test", 8002, socket.AF_INET, socket.SOCK_STREAM)))
try:
    print("big", len(socket.getaddrinfo("big.test", 8002, socket.AF_INET, socket.SOCK_STREAM)))
except socket.gaierror as e:
    print("big gaierror", e.errno)
PY
shimmed "$upy" /checks/bounds.py >"$dir/out" 2>"$dir/err"
expect_out '^first 127\.0\.2\.0 errno 111$' "$dir/out" "129 names: the first name's pin is gone (the table holds 128), its address is refused as a number"
expect_out '^second 127\.0\.2\.1 ok$' "$dir/out" "the second name's pin holds"
expect_out '^last 127\.0\.2\.128 ok$' "$dir/out" "the 129th name's pin holds"
expect_out '^fits 30$' "$dir/out" "a name with 30 addresses: the daemon's whole answer"
sandboxed -- "$upy" -c '
import socket
try:
    socket.getaddrinfo("big.test", 8002, socket.AF_INET, socket.SOCK_STREAM)
except socket.gaierror as e:
    print("big gaierror", e.errno)' >"$dir/plain.out" 2>&1
if grep -q '^big gaierror' "$dir/plain.out" && grep -qxF "$(cat "$dir/plain.out")" "$dir/out"; then
	pass "a name with 40 addresses (past the 4 KiB reply line): the C library's answer, as without the shim ($(cat "$dir/plain.out"))"
else
	fail "a name with 40 addresses: not the C library's answer ($(cat "$dir/plain.out") without the shim)"
fi

# A name the daemon looks up and finds nothing for: its answer is the
# program's (the same the C library gives outside, in this namespace), and
# the audit has the look-up. A host name past the shim's 1 KiB request
# line is never sent (no daemon connection): the C library answers, as
# without the shim.
cat >"$dir/checks/gone.py" <<'PY'
import socket, sys
# bytes: no IDNA encoding, which would refuse the long one first.
name = b"gone.many.test" if sys.argv[1] == "gone" else ".".join(["a" * 60] * 18).encode() + b".many.test"
try:
    socket.getaddrinfo(name, 8002, socket.AF_INET, socket.SOCK_STREAM)
    print("found")
except socket.gaierror as e:
    print("gaierror", e.errno)
PY
shimmed "$upy" /checks/gone.py gone >"$dir/shim.out" 2>"$dir/err"
"$py" "$dir/checks/gone.py" gone >"$dir/real.out" 2>&1
cp "$dir/shim.out" "$dir/out"
if [ "$(cat "$dir/shim.out")" = "$(cat "$dir/real.out")" ] && grep -q '^gaierror' "$dir/shim.out"; then
	pass "a name the daemon finds nothing for: its error is the program's, as Python's outside ($(cat "$dir/real.out"))"
else
	fail "a name the daemon finds nothing for: $(cat "$dir/shim.out"), Python outside: $(cat "$dir/real.out")"
fi
ctl --json audit --limit 1000
expect_out '"method":"net\.getaddrinfo","action":"resolve","host":"gone\.many\.test"' "$dir/out" "the audit has the daemon's look-up of gone.many.test"
sandboxed -- "$upy" /checks/gone.py long >"$dir/plain.out" 2>&1
a1=$(stats_accepted)
shimmed "$upy" /checks/gone.py long >"$dir/shim.out" 2>"$dir/err"
a2=$(stats_accepted)
cp "$dir/shim.out" "$dir/out"
if [ -n "$a1" ] && [ "$a2" = $((a1 + 1)) ] && [ "$(cat "$dir/shim.out")" = "$(cat "$dir/plain.out")" ] && [ -s "$dir/plain.out" ]; then
	pass "a host name past the 1 KiB request line: no daemon connection, the C library's answer as without the shim ($(cat "$dir/plain.out"))"
else
	fail "a host name past the 1 KiB request line: $(cat "$dir/shim.out") (connections $a1, then $a2), without the shim: $(cat "$dir/plain.out")"
fi

# ---------------------------------------------------------------- 5. the real thing

cat >"$dir/checks/compare.py" <<'PY'
import socket
s = socket.socket()
s.setblocking(False)
r = [s.connect_ex(("127.0.0.1", 8001)) for _ in range(3)]
print("connect_ex", r[0])
# The second answer depends on the handshake's progress (EALREADY or 0);
# the third, once connected, is EISCONN whatever the first two were.
import select
select.select([], [s], [], 10)
print("then", s.connect_ex(("127.0.0.1", 8001)), s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
print("gai", sorted((f, t, p, a) for f, t, p, c, a in socket.getaddrinfo("pinned.test", 8002)))
print("gai-canon", socket.getaddrinfo("pinned.test", "8002", socket.AF_INET, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)[0][3])
try:
    socket.getaddrinfo("nothere.test", 80)
except socket.gaierror as e:
    print("gai-error", e.errno)
PY
shimmed "$upy" /checks/compare.py >"$dir/shim.out" 2>"$dir/err"
"$py" "$dir/checks/compare.py" >"$dir/real.out" 2>"$dir/err"
cp "$dir/shim.out" "$dir/out"
if [ -s "$dir/real.out" ] && diff "$dir/real.out" "$dir/shim.out" >"$dir/err"; then
	pass "connect_ex, SO_ERROR and getaddrinfo in the sandbox through the shim answer as python does outside without it ($(tr '\n' ' ' <"$dir/real.out" | head -c 150))"
else
	fail "the shim's answers differ from the real thing (diff real shim in err)"
fi

# A blocking connect that waits: the kernel's own wait, on the socket that
# replaced the program's, with the program's SO_SNDTIMEO and signals.
cat >"$dir/checks/wait.py" <<'PY'
import faulthandler, signal, socket, struct, time
faulthandler.dump_traceback_later(30, exit=True)   # a wait that never ends fails the check
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 1, 0))
t = time.monotonic()
try:
    s.connect(("127.0.0.1", 8006))
    print("sndtimeo connected")
except OSError as e:
    print("sndtimeo", e.errno, "after", round(time.monotonic() - t), "s")
def alarm(*a):
    raise InterruptedError("alarm")
signal.signal(signal.SIGALRM, alarm)
signal.setitimer(signal.ITIMER_REAL, 0.3)
s2 = socket.socket()
t = time.monotonic()
try:
    s2.connect(("127.0.0.1", 8006))
    print("signal connected")
except InterruptedError as e:
    print("signal", e, "within 5 s:", time.monotonic() - t < 5)
PY
shimmed "$upy" /checks/wait.py >"$dir/shim.out" 2>"$dir/err"
"$py" "$dir/checks/wait.py" >"$dir/real.out" 2>"$dir/err"
cp "$dir/shim.out" "$dir/out"
if grep -q '^sndtimeo 115 after 1 s$' "$dir/real.out" && diff "$dir/real.out" "$dir/shim.out" >"$dir/err"; then
	pass "a blocking connect that gets no answer: SO_SNDTIMEO gives EINPROGRESS after 1 s, and a signal interrupts it, as without the shim"
else
	fail "a waiting blocking connect under the shim differs from the real thing (real: $(tr '\n' ' ' <"$dir/real.out"))"
fi

# ---------------------------------------------------------------- 6. not intercepted

a1=$(stats_accepted)
sandboxed LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" -- "$upy" -c '
import socket
try:
    socket.create_connection(("127.0.0.1", 8001), timeout=5)
except OSError as e:
    print("errno", e.errno)
try:
    socket.getaddrinfo("pinned.test", 80)
except OSError as e:
    print("gai", e.errno)' >"$dir/alone.out" 2>"$dir/err"
a2=$(stats_accepted)
cp "$dir/alone.out" "$dir/out"
if [ -n "$a1" ] && [ "$a2" = $((a1 + 1)) ] && grep -q '^errno ' "$dir/out" && grep -q '^gai ' "$dir/out"; then
	pass "without SOCKBROKER_CONNECT the shim leaves connect and getaddrinfo alone (no daemon connection; $(tr '\n' ' ' <"$dir/out"))"
else
	fail "without SOCKBROKER_CONNECT the daemon was asked ($a1, then $a2) or the calls succeeded"
fi

sandboxed LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$dir/none.sock" SOCKBROKER_CONNECT=1 -- \
	curl -sS --max-time 10 http://127.0.0.1:8001/ >"$dir/out" 2>"$dir/err"
rc=$?
if [ "$rc" -eq "$plain_rc" ] && diff <(sed 's/after [0-9]* ms/after N ms/' "$dir/plain.err") <(sed 's/after [0-9]* ms/after N ms/' "$dir/err") >/dev/null; then
	pass "the daemon unreachable: curl fails exactly as without the shim (exit $rc)"
else
	fail "the daemon unreachable: curl exit $rc, message differs from the sandbox's own (exit $plain_rc)"
fi

cat >"$dir/checks/leak.py" <<'PY'
import os, socket, threading
before = sorted(os.listdir("/proc/self/fd"))
for i in range(50):
    s = socket.create_connection(("127.0.0.1", 8001), timeout=5)
    s.close()
    try:
        socket.create_connection(("127.0.0.1", 8003))
    except ConnectionRefusedError:
        pass
print("same" if sorted(os.listdir("/proc/self/fd")) == before else "leaked %s %s" % (before, sorted(os.listdir("/proc/self/fd"))))
# Eight threads at once, each its own connect through the daemon.
results = []
def fetch():
    s = socket.create_connection(("127.0.0.1", 8001), timeout=10)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    results.append(s.makefile("rb").read().split(b"\r\n\r\n", 1)[1].decode().strip())
    s.close()
ts = [threading.Thread(target=fetch) for _ in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print("threads", len(results), set(results))
# A forked child has the parent's pins: its connect to an address the
# parent had the daemon resolve carries the name.
addr = socket.getaddrinfo("pinned.test", 8002, socket.AF_INET, socket.SOCK_STREAM)[0][4]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    try:
        socket.create_connection(addr, timeout=10).close()
        os.write(w, b"child connected")
    except OSError as e:
        os.write(w, ("child errno %s" % e.errno).encode())
    os._exit(0)
os.close(w)
os.waitpid(pid, 0)
print(os.read(r, 100).decode())
PY
shimmed "$upy" /checks/leak.py >"$dir/out" 2>"$dir/err"
expect_out '^same$' "$dir/out" "100 brokered connects, half refused, leave no descriptor behind in the program"
expect_out "^threads 8 \\{'served by 8001 at 127\\.0\\.0\\.1'\\}$" "$dir/out" "eight threads connect through the daemon at once, each served"
expect_out '^child connected$' "$dir/out" "a forked child connects to an address its parent had resolved: the pin, and the host-only grant, hold"

ctl_stop_daemon

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
