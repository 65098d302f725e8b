#!/bin/bash
# RESOLVE_STREAM_MAX (daemon/resolver.h, 16): socket.connect_to and
# policy.check keep at most that many addresses of a name's look-up, the
# first ones in getaddrinfo's order; the 17th and later are never judged nor
# tried. Python's create_connection tries them all: a departure the docs
# state (docs/protocol.md section 11), and this test prints Python's
# answers next to the daemon's. Checks, with names of 20 and of 16
# addresses in a private /etc/hosts:
#   1. the resolver gives all 20 (host.conf's "multi on"), in file order;
#   2. only the 17th listens: connect_to fails with ECONNREFUSED, its
#      message saying how many addresses were not tried, and the 17th never
#      sees a SYN; Python reaches it;
#   3. the 16th listens: connect_to reaches it; the 1st: likewise;
#   4. the 16th never answers (full backlog), the 17th is closed: the error
#      is the 16th's, the last tried (timed out), as create_connection
#      reports its last error;
#   5. policy.check of connect_to judges exactly the first 16 addresses;
#   6. of a name with exactly 16 addresses none is lost: the 16th is
#      reached and judged, and a failure says nothing of addresses left out;
#   7. the first 16 all denied, the 17th allowed and listening: connect_to
#      is refused with the first denial, which says how many addresses were
#      not judged (Python would connect).
# Runs in a network and a mount namespace of its own (the daemon reads the
# private hosts file bound over /etc/hosts). Needs root and unshare; without
# them exits 77, or fails when CI=true. No sleeps.

set -u

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
need_root "makes network and mount namespaces and binds a private /etc/hosts"
for tool in unshare ip mount; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done

own_namespaces '--net --mount' "$@"

sbd_setup it_resolve_max

# The bound, read from the source so that a changed constant is noticed here.
max=$(sed -n 's/^#define RESOLVE_STREAM_MAX \([0-9][0-9]*\).*/\1/p' "$SRCDIR/daemon/resolver.h")
if [ "$max" != 16 ]; then
	echo "FAIL - RESOLVE_STREAM_MAX is '$max', the docs and this test say 16"
	exit 1
fi

# many.test: 20 addresses; sixteen.test: 16; late.test: 20, of which the
# policy allows only the 17th. One line each: with host.conf's "multi on"
# getaddrinfo gives every line's address, in file order.
{
	echo "127.0.0.1 localhost"
	for i in $(seq 1 20); do echo "127.0.5.$i many.test"; done
	for i in $(seq 1 16); do echo "127.0.6.$i sixteen.test"; done
	for i in $(seq 1 20); do echo "127.0.7.$i late.test"; done
} >"$dir/hosts"
mount --bind "$dir/hosts" /etc/hosts || { echo "FAIL - cannot bind a private /etc/hosts"; exit 1; }

cat >"$dir/policy.json" <<'JSON'
{ "version": 1,
  "rules": [
    { "name": "the test", "match": { "uid": 0 },
      "allow": [ { "action": "admin" },
                 { "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" },
                 { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM",
                   "host": ["many.test", "sixteen.test"] },
                 { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM",
                   "host": "late.test", "address": "127.0.7.17/32" } ] } ] }
JSON
sbd_start --policy "$dir/policy.json"

# The client: it makes its own listeners (bound before any connect, so no
# wait is needed: the kernel completes a handshake into the backlog), asks
# the daemon, then Python's own create_connection, and prints one line per
# fact for the checks below.
"$py" - "$sock" >"$dir/facts" 2>"$dir/client.err" <<'PY'
import select, socket, sys
from rpc_session import connect

s, call = connect(sys.argv[1], timeout=60)

def listener(addr, backlog=8):
    l = socket.socket()
    l.bind((addr, 0))
    l.listen(backlog)
    return l

def host_of(a):
    return a[0] if isinstance(a, list) else a["host"]

def daemon(name, port, **kw):
    """connect_to through the daemon: "ok PEER" or "error CODE ERRNO-NAME"."""
    params = {"address": [name, port]}
    params.update(kw)
    r = call("socket.connect_to", params)
    if "result" in r:
        call("socket.close", {"handle": r["result"]["handle"]})
        return "ok %s" % host_of(r["result"]["peer"])
    e = r["error"]
    return "error %d %s %s" % (e["code"], (e.get("data") or {}).get("name", "-"), e["message"])

def python(name, port, timeout=None):
    try:
        c = socket.create_connection((name, port), timeout=timeout)
        peer = c.getpeername()[0]
        c.close()
        return "ok %s" % peer
    except OSError as e:
        return "error %s %s" % (type(e).__name__, e.errno)

def pending(l):
    """Whether a connection waits in l's backlog (not accepted yet)."""
    return bool(select.select([l], [], [], 0)[0])

def checked(name, port):
    """policy.check of connect_to: the connect checks' addresses, in order."""
    r = call("policy.check", {"as": {"uid": 0},
                              "request": {"method": "socket.connect_to", "params": {"address": [name, port]}}})
    res = r["result"]
    addrs = [host_of(c["address"]) for c in res["checks"] if c["action"] == "connect"]
    return "%s %d %s" % (res["allowed"], len(addrs), " ".join(addrs))

gai = [a[4][0] for a in socket.getaddrinfo("many.test", 80, socket.AF_INET, socket.SOCK_STREAM)]
print("gai many.test", len(gai), " ".join(gai))

# 2. Only the 17th listens.
l17 = listener("127.0.5.17")
p = l17.getsockname()[1]
print("17 daemon", daemon("many.test", p))
print("17 reached-by-daemon", pending(l17))
print("17 python", python("many.test", p))
print("17 reached-by-python", pending(l17))
l17.close()

# 3. The 16th listens; then the 1st.
l16 = listener("127.0.5.16")
print("16 daemon", daemon("many.test", l16.getsockname()[1]))
l16.close()
l1 = listener("127.0.5.1")
print("1 daemon", daemon("many.test", l1.getsockname()[1]))
l1.close()

# 4. The 16th never answers: a backlog of one, filled, drops further SYNs.
full = listener("127.0.5.16", backlog=0)
p = full.getsockname()[1]
filler = socket.create_connection(("127.0.5.16", p))
print("silent16 daemon", daemon("many.test", p, timeout=1.0))
print("silent16 python", python("many.test", p, timeout=1.0))
filler.close()
full.close()

# 5. What policy.check judges.
print("check many.test", checked("many.test", 4000))

# 6. Exactly 16 addresses.
l = listener("127.0.6.16")
p = l.getsockname()[1]
print("sixteen daemon", daemon("sixteen.test", p))
l.close()
print("sixteen-closed daemon", daemon("sixteen.test", p))
print("check sixteen.test", checked("sixteen.test", 4000))

# 7. Only the 17th allowed.
l = listener("127.0.7.17")
p = l.getsockname()[1]
print("late daemon", daemon("late.test", p))
print("late reached-by-daemon", pending(l))
print("late python", python("late.test", p))
l.close()
print("check late.test", checked("late.test", p))
print("done")
PY
client_rc=$?
cp "$dir/facts" "$dir/out"
cat "$dir/client.err" >>"$dir/out"
if [ "$client_rc" -ne 0 ] || ! grep -qx 'done' "$dir/facts"; then
	fail "the test's client ended early (exit $client_rc)"
fi
# For the log: the daemon's answers next to Python's.
sed 's/^/# /' "$dir/facts"

# fact KEY REGEXP DESCRIPTION: the line "KEY ..." of the client's matches.
fact() {
	local line
	line=$(grep -m1 "^$1 " "$dir/facts")
	if printf '%s\n' "$line" | grep -Eqx -- "$1 $2"; then
		pass "$3"
	else
		fail "$3: got '${line:-nothing}', want /$1 $2/"
	fi
}

first16=$(for i in $(seq 1 16); do printf '127.0.5.%s ' "$i"; done)
six16=$(for i in $(seq 1 16); do printf '127.0.6.%s ' "$i"; done)
all20=$(for i in $(seq 1 20); do printf '127.0.5.%s ' "$i"; done)

fact "gai many.test" "20 ${all20% }" "the private hosts file gives many.test its 20 addresses, in file order (multi on)"
fact "17 daemon" "error -32000 ECONNREFUSED socket\.connect_to: Connection refused \(not tried: 4 of the name's addresses, after its first 16\)" \
	"only the 17th address listens: connect_to tries the first 16 and fails with ECONNREFUSED, saying 4 were not tried"
fact "17 reached-by-daemon" "False" "the daemon never tried the 17th address (no connection in its backlog)"
fact "17 python" "ok 127\.0\.5\.17" "Python's create_connection, trying all 20, reaches the 17th (the documented departure)"
fact "16 daemon" "ok 127\.0\.5\.16" "the 16th address listens: connect_to reaches it, peer 127.0.5.16"
fact "1 daemon" "ok 127\.0\.5\.1" "the 1st address listens: connect_to reaches it at once"
fact "silent16 daemon" "error -32003 .*" \
	"the 16th never answers and the 17th is closed: the error is the 16th's, the last tried (timed out)"
fact "silent16 python" "error ConnectionRefusedError 111" \
	"Python goes on to the 17th and reports its error, refused"
fact "check many.test" "True 16 ${first16% }" \
	"policy.check of connect_to many.test judges exactly the first 16 addresses, in order"
fact "sixteen daemon" "ok 127\.0\.6\.16" "a name with exactly 16 addresses: the 16th is reached"
fact "sixteen-closed daemon" "error -32000 ECONNREFUSED socket\.connect_to: Connection refused" \
	"a name with exactly 16 addresses, none listening: ECONNREFUSED, and no word of addresses left out"
fact "check sixteen.test" "True 16 ${six16% }" "a name with exactly 16 addresses: policy.check judges all 16"
fact "late daemon" "error -32010 - denied by policy: .* to 127\.0\.7\.1:[0-9]+ to uid 0 \(neither judged nor tried: 4 of the name's addresses, after its first 16\)" \
	"the first 16 denied, the 17th allowed and listening: connect_to is refused with the first denial, saying 4 were not judged"
fact "late reached-by-daemon" "False" "the allowed 17th address was never tried"
fact "late python" "ok 127\.0\.7\.17" "Python reaches late.test's 17th address"
fact "check late.test" "False 16 127\.0\.7\.1 .* 127\.0\.7\.16" "policy.check of connect_to late.test: denied, 16 addresses judged"

r=$("$py" -c '
import sys
from rpc_session import connect
s, call = connect(sys.argv[1], timeout=10)
print(call("daemon.ping", {})["result"]["pong"])' "$sock" 2>&1)
if [ "$r" = True ]; then pass "the daemon still answers"; else fail "the daemon does not answer a ping: $r"; fi

sbd_stop
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
