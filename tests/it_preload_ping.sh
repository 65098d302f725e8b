#!/bin/bash
# Issue 16 part 2: libsockbroker-preload.so's socket(), with an unmodified
# ping, against the real daemon on a private socket with a policy of its
# own, inside a network namespace of its own:
#   0. the shim exports socket;
#   1. descriptors, as nobody without a sandbox (python3 and ctypes, so the
#      flags are the test's, not Python's): a raw ICMP socket the policy
#      grants has the asked SO_DOMAIN/SO_TYPE/SO_PROTOCOL, SOCK_NONBLOCK and
#      SOCK_CLOEXEC honoured (and their absence), the lowest free number,
#      errno untouched, no descriptor left over; without the shim it is
#      EPERM; kinds not granted and an unreachable daemon keep the
#      kernel's errno; a socket() the kernel grants reaches no daemon;
#   2. ping -c1 127.0.0.1 as nobody in bwrap --unshare-all: "1 received"
#      under the shim with the grant; an address only the daemon's
#      namespace has needs ping -I (below), or SOCKBROKER_CONNECT=1 for the
#      probe's connect; without the shim, or without
#      the grant, ping's own message, and the audit has the denied create;
#   3. with net.ipv4.ping_group_range letting the daemon make ICMP datagram
#      sockets and a rule for them, ping gets the SOCK_DGRAM socket it asks
#      for first.
#
# What ping does (iputils-ping 20221126, Debian 12; strace -f): it asks
# for socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) first (an unprivileged "ping
# socket", net.ipv4.ping_group_range), and on EACCES (or EAFNOSUPPORT,
# EPROTONOSUPPORT) for socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); then the
# same for AF_INET6/IPPROTO_ICMPV6, which an IPv4 target does not need. So
# the shim is asked up to four times; with a rule for SOCK_RAW alone, the
# daemon denies the SOCK_DGRAM one (audited) and grants the SOCK_RAW one.
# Then ping connects a UDP "probe" socket to the target, port 1025, to learn
# its source address: that one is the sandbox's own, in the sandbox's
# network namespace, where bwrap has brought lo up; only the ICMP socket is
# the daemon's, in the daemon's namespace. For 127.0.0.1 both namespaces
# agree; a target only the daemon's namespace reaches fails at the probe
# (ping: connect: Network is unreachable) before any ICMP is sent, unless
# the source is given (ping -I ADDRESS: no probe) or the probe's connect
# goes through the daemon too.
#
# /bin/ping has file capabilities (cap_net_raw=ep) on Debian: as nobody
# under setpriv it pings by itself (and the loader, in secure-execution
# mode, ignores the LD_PRELOAD path). bwrap sets no_new_privs, so inside it
# the capability is not granted, ping is an ordinary program, and the shim
# is loaded: this is what section 2 checks, with and without the shim.
#
# Needs root (setpriv to nobody, a network namespace) and bwrap, ping,
# setpriv, unshare and ip; without them exits 77, or fails when CI=true.
# Synchronisation: the daemon's readiness line; no sleeps.

set -u

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/nobody-lib.sh
. "$SRCDIR/tests/nobody-lib.sh"

ctl_need_tools "to run the test programs"
need_root "runs programs as nobody and makes a network namespace"
for tool in setpriv unshare ip bwrap ping; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done
preload_need_shim

own_namespaces '--net' "$@"
# A fresh namespace's default, whatever the host has: no group may make
# ICMP datagram sockets (section 3 changes it).
echo "1 0" >/proc/sys/net/ipv4/ping_group_range || { echo "FAIL - cannot set ping_group_range"; exit 1; }

ctl_setup it_preload_ping
nobody_setup
ping_bin=$(command -v ping)


preload_copy_shim

# write_policy GRANTS: nobody gets the create entries GRANTS (JSON, maybe
# empty) and a bind of port 80 (so a rule matches nobody either way).
write_policy() {
	cat >"$dir/policy.json" <<JSON
{ "version": 1,
  "rules": [
    { "name": "root", "match": { "uid": 0 }, "allow": [ { "action": "admin" } ] },
    { "name": "nobody", "match": { "uid": 65534 },
      "allow": [ $1
                 { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1/32", "port": 80 } ] } ] }
JSON
}
raw_grant='{ "action": "create", "family": "AF_INET", "type": "SOCK_RAW", "proto": "IPPROTO_ICMP" },'
dgram_grant='{ "action": "create", "family": "AF_INET", "type": "SOCK_DGRAM", "proto": "IPPROTO_ICMP" },'

# reload WHAT: the daemon reads the policy file again (answered when done).
reload() {
	ctl call daemon.reload '{}'
	expect_rc 0 "daemon.reload: $1"
}

write_policy "$raw_grant"
ctl_start_daemon --policy "$dir/policy.json"
chmod 666 "$sock"
ctl_socket=$sock

shimmed() {
	"${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" "$@"
}

# audit_mark: the daemon's last audit record so far, in $mark.
audit_mark() {
	ctl --json audit --limit 1
	mark=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["last"])' <"$dir/out")
}

# audit_has WHAT EXPR: among the audit records after $mark, one (r) for
# which the Python EXPR holds.
audit_has() {
	ctl --json audit --limit 1000
	if json_check "any((${2}) for r in d['records'] if r['seq'] > $mark)"; then
		pass "$1"
	else
		fail "$1: no such audit record"
	fi
}

# stats_accepted: the daemon's connections_accepted (one more for this call).
stats_accepted() {
	ctl --json call admin.stats '{}'
	python3 -c 'import json, sys; print(json.load(sys.stdin)["server"]["connections_accepted"])' <"$dir/out"
}

# ---------------------------------------------------------------- 0. the library

if command -v nm >/dev/null 2>&1; then
	if nm -D --defined-only "$shim" | awk '$2 == "T" { print $3 }' | grep -qx socket; then
		pass "the shim exports socket"
	else
		fail "the shim does not export socket"
	fi
else
	echo "# nm missing: the shim's symbols are not checked"
fi

# ---------------------------------------------------------------- 1. the descriptor

cat >"$dir/sockcheck.py" <<'PY'
# The C library's socket() through ctypes: the flags are the test's own
# (Python's socket.socket always adds SOCK_CLOEXEC).
import ctypes, fcntl, json, os, socket, sys

libc = ctypes.CDLL(None, use_errno=True)
SOL_SOCKET, SO_TYPE, SO_PROTOCOL, SO_DOMAIN = 1, 3, 38, 39
NB, CE = socket.SOCK_NONBLOCK, socket.SOCK_CLOEXEC

def fds():
    # Less the descriptor that listdir read them with, closed by now.
    return sorted(int(f) for f in os.listdir("/proc/self/fd") if os.path.exists("/proc/self/fd/" + f))

def lowest_free():
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    return fd

def make(family, type_, proto):
    before = fds()
    low = lowest_free()
    ctypes.set_errno(4242)
    fd = libc.socket(family, type_, proto)
    err = ctypes.get_errno()
    if fd < 0:
        return {"errno": err, "same_fds": fds() == before}
    s = socket.socket(fileno=os.dup(fd))
    r = {"domain": s.getsockopt(SOL_SOCKET, SO_DOMAIN), "type": s.getsockopt(SOL_SOCKET, SO_TYPE),
         "proto": s.getsockopt(SOL_SOCKET, SO_PROTOCOL),
         "nonblock": bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK),
         "cloexec": bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC),
         "lowest": fd == low, "errno_kept": err == 4242, "one_more": fds() == sorted(before + [fd, s.fileno()])}
    s.close()
    os.close(fd)
    return r

out = {}
out["raw"] = make(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
out["raw_nb_ce"] = make(socket.AF_INET, socket.SOCK_RAW | NB | CE, socket.IPPROTO_ICMP)
out["raw_nb"] = make(socket.AF_INET, socket.SOCK_RAW | NB, socket.IPPROTO_ICMP)
# Below descriptors 3 and 4: a hole at the bottom, as a daemon that closes
# stdin before its socket() has; the socket goes there, as the kernel's would.
os.close(0)
out["hole"] = make(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
os.open("/dev/null", os.O_RDONLY)
out["dgram"] = make(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
out["raw6"] = make(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
out["stream"] = make(socket.AF_INET, socket.SOCK_STREAM, 0)
# Python's own socket.socket, and an echo through it.
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(10)
    def csum(b):
        t = sum((b[i] << 8) + b[i + 1] for i in range(0, len(b), 2))
        t = (t >> 16) + (t & 0xffff)
        return ~(t + (t >> 16)) & 0xffff
    body = b"\x08\x00\x00\x00\x12\x34\x00\x01sockbroker"
    pkt = body[:2] + csum(body).to_bytes(2, "big") + body[4:]
    s.sendto(pkt, ("127.0.0.1", 0))
    while True:
        data, peer = s.recvfrom(256)
        icmp = data[(data[0] & 15) * 4:]
        if icmp[0] == 0 and icmp[4:6] == b"\x12\x34":
            break
    out["python"] = {"echo": peer[0], "payload": icmp[8:].decode()}
except OSError as e:
    out["python"] = {"errno": e.errno, "strerror": e.strerror}
print(json.dumps(out))
PY
chmod a+r "$dir/sockcheck.py"

"${as_nobody_cmd[@]}" "$upy" "$dir/sockcheck.py" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "the descriptor checks, as nobody without the shim"
if json_check 'd["raw"]["errno"] == 1 and d["raw6"]["errno"] == 1 and d["dgram"]["errno"] == 13 and d["python"]["errno"] == 1'; then
	pass "without the shim: raw ICMP is EPERM, datagram ICMP EACCES (the kernel's answers to nobody)"
else
	fail "nobody's own socket() calls did not fail as expected: the test proves nothing"
fi
cp "$dir/out" "$dir/plain.json"

audit_mark
shimmed "$upy" "$dir/sockcheck.py" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "the descriptor checks, as nobody under the shim"
if json_check 'd["raw"] == {"domain": 2, "type": 3, "proto": 1, "nonblock": False, "cloexec": False, "lowest": True, "errno_kept": True, "one_more": True}'; then
	pass "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): the daemon's, AF_INET/SOCK_RAW/ICMP, blocking, inheritable, the lowest free number, errno untouched, nothing left over"
else
	fail "the brokered raw socket"
fi
if json_check 'd["raw_nb_ce"]["nonblock"] and d["raw_nb_ce"]["cloexec"] and d["raw_nb_ce"]["type"] == 3 and d["raw_nb_ce"]["one_more"]'; then
	pass "SOCK_NONBLOCK|SOCK_CLOEXEC: O_NONBLOCK and FD_CLOEXEC set, SO_TYPE still SOCK_RAW"
else
	fail "SOCK_NONBLOCK|SOCK_CLOEXEC on a brokered socket"
fi
if json_check 'd["raw_nb"]["nonblock"] and not d["raw_nb"]["cloexec"]'; then
	pass "SOCK_NONBLOCK alone: O_NONBLOCK, and FD_CLOEXEC cleared from the received descriptor"
else
	fail "SOCK_NONBLOCK without SOCK_CLOEXEC on a brokered socket"
fi
if json_check 'd["hole"]["lowest"] and d["hole"]["type"] == 3'; then
	pass "with descriptor 0 free, the brokered socket is 0, where the kernel would have put it"
else
	fail "the brokered socket is not at the lowest free number"
fi
if json_check 'd["dgram"] == {"errno": 13, "same_fds": True} and d["raw6"] == {"errno": 1, "same_fds": True}'; then
	pass "kinds the policy does not grant keep the kernel's errno (SOCK_DGRAM ICMP: EACCES; AF_INET6 raw: EPERM), nothing left over"
else
	fail "kinds not granted"
fi
if json_check 'd["stream"]["type"] == 1 and d["stream"]["lowest"] and d["stream"]["errno_kept"]'; then
	pass "a TCP socket the kernel grants is the kernel's"
else
	fail "a plain TCP socket under the shim"
fi
if json_check 'd["python"] == {"echo": "127.0.0.1", "payload": "sockbroker"}'; then
	pass "python's socket.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) sends an echo request and gets the reply"
else
	fail "an ICMP echo through python's socket.socket under the shim"
fi
audit_has "the audit has the denied create of an ICMP datagram socket, with its reason" \
	'r["decision"] == "deny" and r["type"] == "SOCK_DGRAM" and r["proto"] == 1 and r["reason"] == "no rule allows create of AF_INET SOCK_DGRAM to uid 65534"'

"${as_nobody_cmd[@]}" env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$dir/none.sock" "$upy" "$dir/sockcheck.py" >"$dir/out" 2>"$dir/err"
if json_check 'd["raw"] == {"errno": 1, "same_fds": True} and d["raw_nb_ce"]["errno"] == 1 and d["dgram"]["errno"] == 13 and d["python"]["errno"] == 1'; then
	pass "the daemon unreachable: the kernel's EPERM and EACCES, nothing left over"
else
	fail "an unreachable daemon under the shim"
fi

a1=$(stats_accepted)
shimmed "$upy" -c '
import socket
s = socket.socket(); t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u = socket.socket(socket.AF_UNIX)
print(s.type.name, t.type.name, u.type.name)' >"$dir/out" 2>"$dir/err"
expect_out '^SOCK_STREAM SOCK_DGRAM SOCK_STREAM$' "$dir/out" "TCP, UDP and UNIX sockets the kernel grants work under the shim"
a2=$(stats_accepted)
if [ -n "$a1" ] && [ "$a2" = $((a1 + 1)) ]; then
	pass "the daemon accepted no connection for them (connections_accepted $a1, then $a2: the stats call itself)"
else
	fail "the daemon saw a connection for socket() calls that needed none ($a1, then $a2)"
fi

# ---------------------------------------------------------------- 2. ping in bwrap

# As nobody (an unprivileged user namespace, no_new_privs), every namespace
# new, the file system read-only, the daemon's socket bound in.
bwrap_args=(--unshare-all --die-with-parent --new-session --ro-bind / / --proc /proc --dev /dev
	--bind "$sock" "$sock")
if ! "${as_nobody_cmd[@]}" bwrap "${bwrap_args[@]}" -- true >"$dir/out" 2>&1; then
	if [ "${CI:-}" = true ]; then
		fail "bwrap cannot make its sandbox here (as nobody)"
	else
		echo "# SKIP 2. bwrap cannot make its sandbox here: $(head -c 300 "$dir/out")"
	fi
	ctl_stop_daemon
	echo "# $checks checks, $failures failed"
	[ "$failures" -eq 0 ]
	exit
fi
sandboxed() {
	"${as_nobody_cmd[@]}" bwrap "${bwrap_args[@]}" -- "$@"
}

# For the record: outside bwrap, ping's own file capability (if it has one)
# is what lets nobody ping, with or without the shim.
if "${as_nobody_cmd[@]}" "$ping_bin" -c1 -W5 127.0.0.1 >/dev/null 2>&1; then
	echo "# as nobody outside a sandbox, $ping_bin pings by itself ($(getcap "$ping_bin" 2>/dev/null || echo 'getcap missing'))"
else
	echo "# as nobody outside a sandbox, $ping_bin cannot ping by itself"
fi
sandboxed "$ping_bin" -c1 -W5 127.0.0.1 >"$dir/plain.out" 2>"$dir/plain.err"
plain_rc=$?
cp "$dir/plain.err" "$dir/out"
if [ "$plain_rc" -ne 0 ] && grep -q 'Operation not permitted' "$dir/plain.err"; then
	pass "without the shim, ping in bwrap fails: its capability does not apply there (exit $plain_rc, $(head -n1 "$dir/plain.err" | tr -d '\n'))"
else
	fail "ping in bwrap without the shim did not fail with EPERM (exit $plain_rc): the test proves nothing"
fi

audit_mark
sandboxed env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" "$ping_bin" -c1 -W5 127.0.0.1 >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "ping -c1 127.0.0.1 as nobody in bwrap --unshare-all under the shim"
expect_out '1 packets transmitted, 1 received' "$dir/out" "ping prints \"1 received\""
audit_has "the audit has ping's allowed create of the raw ICMP socket" \
	'r["decision"] == "allow" and r["exe"] == "'"$(readlink -f "$ping_bin")"'" and r["type"] == "SOCK_RAW" and r["proto"] == 1'
ctl --json audit --limit 1000
if json_check "[(r['decision'], r['type']) for r in d['records'] if r['seq'] > $mark and r.get('family') == 'AF_INET'] == [('deny', 'SOCK_DGRAM'), ('allow', 'SOCK_RAW')]"; then
	pass "ping asked for SOCK_DGRAM first (denied, audited), then SOCK_RAW"
else
	fail "ping's AF_INET requests were not a denied SOCK_DGRAM, then an allowed SOCK_RAW"
fi

# An address only the daemon's namespace has: ping's probe, the sandbox's
# own UDP socket, finds no route there and ping stops before sending; with
# the source given (-I ADDRESS) ping makes no probe, binds the daemon's
# socket to it (the real bind, in the daemon's namespace) and is answered.
ip addr add 192.0.2.1/32 dev lo || { echo "FAIL - cannot add 192.0.2.1 to lo"; exit 1; }
sandboxed env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" "$ping_bin" -c1 -W5 192.0.2.1 >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 2 "ping 192.0.2.1, an address of the daemon's namespace alone"
expect_out '(^|/)ping: connect: Network is unreachable$' "$dir/err" "its probe fails in the sandbox's namespace: \"connect: Network is unreachable\""
sandboxed env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" "$ping_bin" -c1 -W5 -I 192.0.2.1 192.0.2.1 >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "ping -I 192.0.2.1 192.0.2.1: no probe"
expect_out '1 packets transmitted, 1 received' "$dir/out" "with the source given, ping prints \"1 received\""
# With SOCKBROKER_CONNECT=1 the probe's connect goes through the daemon
# too (a UDP socket of the daemon's, which the policy must grant): no -I
# needed.
write_policy "$raw_grant { \"action\": \"create\", \"family\": \"AF_INET\", \"type\": \"SOCK_DGRAM\", \"proto\": \"IPPROTO_UDP\" },
                 { \"action\": \"connect\", \"family\": \"AF_INET\", \"type\": \"SOCK_DGRAM\", \"address\": \"192.0.2.1/32\" },"
reload "raw ICMP, and the probe's UDP connect"
sandboxed env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" SOCKBROKER_CONNECT=1 "$ping_bin" -c1 -W5 192.0.2.1 >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "ping 192.0.2.1 with SOCKBROKER_CONNECT=1: the probe connects through the daemon"
expect_out '1 packets transmitted, 1 received' "$dir/out" "with connect-through, ping prints \"1 received\""

write_policy ""
reload "no create grant"
audit_mark
sandboxed env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" "$ping_bin" -c1 -W5 127.0.0.1 >"$dir/out" 2>"$dir/err"
rc=$?
if [ "$rc" -eq "$plain_rc" ] && cmp -s "$dir/err" "$dir/plain.err"; then
	pass "without the grant, ping under the shim fails as without it (exit $rc, the same message)"
else
	{ echo "without the shim:"; cat "$dir/plain.err"; } >>"$dir/err"
	fail "without the grant, ping under the shim does not fail as without it (exit $rc, $plain_rc without)"
fi
audit_has "the daemon's audit has ping's denied create of the raw ICMP socket and its reason" \
	'r["decision"] == "deny" and r["exe"] == "'"$(readlink -f "$ping_bin")"'" and r["method"] == "socket.create" and r["proto"] == 1 and r["reason"] == "no rule allows create of AF_INET SOCK_RAW to uid 65534"'

# ---------------------------------------------------------------- 3. a ping socket

# The daemon's egid (root's 0) may make ICMP datagram sockets in this
# namespace now; nobody, in its sandbox's own namespace, still may not.
echo "0 0" >/proc/sys/net/ipv4/ping_group_range
write_policy "$dgram_grant"
reload "ICMP datagram sockets only"
audit_mark
sandboxed env LD_PRELOAD="$shim" SOCKBROKER_SOCKET="$sock" "$ping_bin" -c1 -W5 127.0.0.1 >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "ping in bwrap under the shim, granted SOCK_DGRAM ICMP alone"
expect_out '1 packets transmitted, 1 received' "$dir/out" "ping over the daemon's ICMP datagram socket prints \"1 received\""
audit_has "the audit has ping's allowed create of the ICMP datagram socket" \
	'r["decision"] == "allow" and r["type"] == "SOCK_DGRAM" and r["proto"] == 1'
ctl --json audit --limit 1000
if json_check "not any(r.get('family') == 'AF_INET' and r.get('type') == 'SOCK_RAW' for r in d['records'] if r['seq'] > $mark)"; then
	pass "ping asked for no AF_INET raw socket: the datagram one was enough"
else
	fail "ping asked for a raw socket though it had the datagram one"
fi
echo "1 0" >/proc/sys/net/ipv4/ping_group_range

ctl_stop_daemon

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
