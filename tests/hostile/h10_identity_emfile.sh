#!/bin/bash
# Hostile test (issue 10, item 6): clients accepted while the daemon is out of
# descriptors are not crippled for good, and the "pausing accepts" line does
# not flood the log.
#
# The daemon runs with a descriptor limit of 40 (prlimit). A client floods it
# with connections, each asking daemon.whoami, until the daemon pauses its
# accepts (admin.stats accept_pauses goes up); some of the clients accepted
# at the edge could not have their identity read ("Too many open files").
# The flood is held while the daemon pauses and resumes many times, then
# released: each of those clients must now be served a governed request
# (admin.stats) and show a whole identity, and the log must hold at most a
# couple of "pausing accepts" lines for all those pauses.
#
# Needs root for nothing but prlimit of a daemon we start; python3 and
# prlimit must be there (a failure under CI=true). No sleeps: the client
# waits on replies and on the daemon's own counters.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/sbd-lib.sh"

ctl_need_tools "for the flooding client"
command -v prlimit >/dev/null 2>&1 || missing "prlimit is not installed"

ctl_setup h10_identity_emfile
chmod 755 "$dir"
me=$(id -u)
pol="$dir/policy.json"
cat >"$pol" <<EOF
{ "version": 1,
  "rules": [ { "name": "we administer", "match": { "uid": $me }, "allow": [ { "action": "admin" } ] } ] }
EOF
chmod 644 "$pol"

# The daemon under a low descriptor limit (it raises its soft limit to the
# hard one at start, so both are set).
real_sbd=$SBD
cat >"$dir/sbd-lowfd" <<EOF
#!/bin/sh
exec prlimit --nofile=40:40 "$real_sbd" "\$@"
EOF
chmod 755 "$dir/sbd-lowfd"
SBD=$dir/sbd-lowfd
ctl_start_daemon --policy "$pol" --socket-mode 0666
SBD=$real_sbd

cat >"$dir/flood.py" <<'EOF'
import json, select, socket, sys, time

path = sys.argv[1]


def send(s, method, rid=1):
    s.sendall((json.dumps({"jsonrpc": "2.0", "id": rid, "method": method}) + "\n").encode())


def reply(s, timeout):
    """One reply line, or None when none came within timeout seconds."""
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None
        data = s.recv(65536)
        if not data:
            raise SystemExit("the daemon closed a connection")
        buf += data
    return json.loads(buf)


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


admin = connect()


def pauses():
    send(admin, "admin.stats")
    return reply(admin, 30)["result"]["server"]["accept_pauses"]


out = {"accepted": 0, "crippled": [], "pauses": 0, "after": []}
p0 = pauses()
held, crippled = [], []
# Flood until a connection waits in the backlog: the daemon paused its
# accepts (its counter says so; a reply would say it was accepted).
for i in range(500):
    s = connect()
    send(s, "daemon.whoami")
    rep = None
    while rep is None:
        rep = reply(s, 0.02)
        if rep is None and pauses() > p0:
            break
    held.append(s)
    if rep is None:
        break
    out["accepted"] += 1
    if "identity_error" in rep["result"]:
        crippled.append(s)
        out["crippled"].append(rep["result"]["identity_error"])
# Hold the flood while the daemon pauses and retries many times.
deadline = time.monotonic() + 30
while pauses() < p0 + 10 and time.monotonic() < deadline:
    pass
out["pauses"] = pauses() - p0
# Release: every client but the crippled ones goes.
for s in held:
    if s not in crippled:
        s.close()
for s in crippled:
    send(s, "admin.stats", 7)
    stats = reply(s, 30)
    send(s, "daemon.whoami", 8)
    who = reply(s, 30)
    out["after"].append({"stats": "result" in stats, "error": stats.get("error"),
                         "identity_error": who["result"].get("identity_error")})
print(json.dumps(out))
EOF

if timeout 300 python3 "$dir/flood.py" "$sock" >"$dir/out" 2>"$dir/err"; then
	pass "the flood ran"
else
	fail "the flood did not run to its end"
fi
if json_check 'd["accepted"] > 0 and len(d["crippled"]) > 0 and all("Too many open files" in e for e in d["crippled"])'; then
	pass "the flood left clients whose identity could not be read for lack of descriptors ($(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["crippled"]))' <"$dir/out"))"
else
	fail "the flood left no client without an identity (nothing to test)"
fi
if json_check 'd["pauses"] >= 10'; then
	pass "the daemon paused its accepts again and again while the flood was held"
else
	fail "the daemon did not pause its accepts 10 times"
fi
if json_check 'd["after"] and all(a["stats"] and a["identity_error"] is None for a in d["after"])'; then
	pass "once descriptors are free, each of those clients is served admin.stats and has its identity"
else
	fail "a client accepted during the flood is still crippled"
fi

ctl_stop_daemon
n_paused=$(grep -c "pausing accepts" "$dir/daemon.log")
n_pauses=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["pauses"])' <"$dir/out" 2>/dev/null || echo 0)
if [ "$n_paused" -ge 1 ] && [ "$n_paused" -le 2 ]; then
	pass "$n_paused \"pausing accepts\" log line(s) for $n_pauses pauses"
else
	fail "$n_paused \"pausing accepts\" log lines for $n_pauses pauses"
	grep "pausing accepts" "$dir/daemon.log" | head -5 | sed 's/^/    | /'
fi
if grep -q "identity established on a later reading" "$dir/daemon.log"; then
	pass "the log says when an identity was read on a later try"
else
	fail "the log does not say that an identity was read again"
fi
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
