#!/bin/bash
# Hostile test (issue 10, item 1): a request is judged as the process that
# wrote it, not as the one that connected. The policy lets uid nobody
# administer the daemon when its executable is /usr/bin/sleep; nobody runs
# Python here:
#
#  - the fork-connect-exec trick: a socket, a fork, a child that connects (or
#    a parent that connected) and execs /usr/bin/sleep, and the parent writing
#    admin.stats on the shared socket, 50 tries, also while other clients keep
#    the daemon busy: every request is refused (the old daemon granted some);
#  - a process in a pid namespace of its own naming its sleep child as the
#    writer (SCM_CREDENTIALS): refused, the reason says why;
#  - one request written half by each of two processes: refused;
#  - a connection honestly shared after a fork: the child is judged as itself
#    (daemon.whoami, a request its own rule allows);
#  - afterwards the daemon holds as many descriptors as before (every pidfd
#    the kernel attached to a read was closed).
#
# Needs root (setpriv to nobody), /usr/bin/sleep and a python3 nobody may run;
# under CI=true a missing need is a failure. Synchronisation: the daemon's
# "ready" line, replies, and pipes closed by exec; no sleeps.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/sbd-lib.sh"

ctl_need_tools "for the clients"
[ "$(id -u)" -eq 0 ] || missing "needs root (clients run as nobody through setpriv)"
command -v setpriv >/dev/null 2>&1 || missing "setpriv is not installed"
[ -x /usr/bin/sleep ] || missing "/usr/bin/sleep is not there"
[ "$(id -u nobody 2>/dev/null)" = 65534 ] || missing "there is no user nobody with uid 65534"
# A python3 that nobody may run (a version manager's shim under /root is not).
py=/usr/bin/python3
[ -x "$py" ] || py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_nobody "$py" -c 'pass' 2>/dev/null || missing "no python3 that nobody may run"

ctl_setup h10_identity_exec
chmod 755 "$dir"
pol="$dir/policy.json"
cat >"$pol" <<'EOF'
{
  "version": 1,
  "rules": [
    { "name": "root administers", "match": { "uid": 0 }, "allow": [ { "action": "admin" } ] },
    { "name": "sleep administers", "match": { "uid": 65534, "exe": "/usr/bin/sleep" },
      "allow": [ { "action": "admin" } ] },
    { "name": "nobody looks up names", "match": { "uid": 65534 }, "allow": [ { "action": "resolve" } ] }
  ]
}
EOF
chmod 644 "$pol"

cat >"$dir/h10.py" <<'EOF'
import json, os, socket, struct, sys, threading

path = sys.argv[1]
mode = sys.argv[2]


def send(s, method, rid, params=None):
    m = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        m["params"] = params
    s.sendall((json.dumps(m) + "\n").encode())


def call(s, f, method, rid, params=None):
    send(s, method, rid, params)
    line = f.readline()
    if not line:
        raise SystemExit("no reply to %s" % method)
    return json.loads(line)


def connected(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    return s


def tally(out, rep):
    if "result" in rep:
        out["granted"] += 1
    elif rep.get("error", {}).get("code") == -32010:
        out["denied"] += 1
        out["reason"] = rep["error"]["data"]["reason"]
    else:
        out["other"].append(rep)


def trick(who_connects, tries, busy):
    """The fork-connect-exec trick: the process that connected (or the one
    that shares its socket) becomes /usr/bin/sleep; the parent writes."""
    stop = threading.Event()

    def hammer():
        s = connected(path)
        f = s.makefile("rb")
        req = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"}) + "\n").encode()
        while not stop.is_set():
            s.sendall(req * 4)
            for _ in range(4):
                f.readline()
        s.close()

    threads = [threading.Thread(target=hammer) for _ in range(3 if busy else 0)]
    for t in threads:
        t.start()
    out = {"granted": 0, "denied": 0, "other": [], "reason": None, "whoami": None}
    try:
        for t in range(tries):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(60)
            if who_connects == "parent":
                s.connect(path)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                try:
                    if who_connects == "child":
                        s.connect(path)
                    os.set_inheritable(s.fileno(), True)
                    # w is close-on-exec: the parent's read ends at the exec.
                    os.execv("/usr/bin/sleep", ["sleep", "60"])
                finally:
                    os._exit(1)
            os.close(w)
            os.read(r, 1)
            os.close(r)
            f = s.makefile("rb")
            for k in range(5):
                tally(out, call(s, f, "admin.stats", k))
            if t == 0:
                out["whoami"] = call(s, f, "daemon.whoami", 99)["result"]
            s.close()
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return out


def forge(tries):
    """Run inside a user and pid namespace of our own: SCM_CREDENTIALS names
    the sleep child as the writer (CAP_SYS_ADMIN over this pid namespace
    allows it), so the kernel attaches the child's pidfd to our bytes."""
    out = {"granted": 0, "denied": 0, "other": [], "reason": None}
    for t in range(tries):
        s = connected(path)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                os.execv("/usr/bin/sleep", ["sleep", "60"])
            finally:
                os._exit(1)
        os.close(w)
        os.read(r, 1)
        os.close(r)
        f = s.makefile("rb")
        creds = struct.pack("iII", pid, os.getuid(), os.getgid())
        for k in range(5):
            m = json.dumps({"jsonrpc": "2.0", "id": k, "method": "admin.stats"}) + "\n"
            s.sendmsg([m.encode()], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
            tally(out, json.loads(f.readline()))
        s.close()
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    return out


def mixed():
    """The parent writes the first half of a request, a child the rest."""
    s = connected(path)
    f = s.makefile("rb")
    text = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "net.gethostname"}) + "\n"
    s.sendall(text[:20].encode())
    pid = os.fork()
    if pid == 0:
        try:
            s.sendall(text[20:].encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    rep = json.loads(f.readline())
    # The connection stays usable for whole requests.
    after = call(s, f, "net.gethostname", 6)
    return {"mixed": rep, "after": after}


def shared():
    """An honest fork: the child uses the parent's connection as itself."""
    s = connected(path)
    f = s.makefile("rb")
    me = call(s, f, "daemon.whoami", 1)["result"]
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(hold_w)
        try:
            send(s, "daemon.whoami", 2)
            send(s, "net.gethostname", 3)
            send(s, "admin.stats", 4)
            # Alive until the replies are in: a writer that is gone is not
            # identified.
            os.read(hold_r, 1)
        finally:
            os._exit(0)
    os.close(hold_r)
    reps = {}
    for _ in range(3):
        rep = json.loads(f.readline())
        reps[rep["id"]] = rep
    os.close(hold_w)
    os.waitpid(pid, 0)
    return {"parent": me, "child_pid": pid, "child": reps[2]["result"], "hostname": reps[3],
            "admin": reps[4]}


if mode == "trick":
    res = trick(sys.argv[3], int(sys.argv[4]), sys.argv[5] == "busy")
elif mode == "forge":
    res = forge(int(sys.argv[3]))
elif mode == "mixed":
    res = mixed()
else:
    res = shared()
print(json.dumps(res))
EOF
chmod 644 "$dir/h10.py"

ctl_start_daemon --policy "$pol" --socket-mode 0666
ctl_socket=$sock
daemon_real=$(sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' "$dir/ready")

# run_py NAME ARGS...: the client as nobody; its JSON in $dir/out.
run_py() {
	_name=$1
	shift
	if as_nobody timeout 300 "$py" "$dir/h10.py" "$sock" "$@" >"$dir/out" 2>"$dir/err"; then
		pass "$_name ran"
	else
		fail "$_name did not run to its end"
	fi
}

# fds_settled: the daemon's descriptors, counted while one probing client is
# connected and the daemon counts no other (so every other has been closed).
fds_settled() {
	"$py" -c '
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
f = s.makefile("rb")
for i in range(10000):
    s.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.info\"}\n")
    if json.loads(f.readline())["result"]["connections"] == 1:
        break
print(len(os.listdir("/proc/%s/fd" % sys.argv[2])))' "$sock" "$daemon_real"
}
base_fds=$(fds_settled)

# ---------------------------------------------------------------- the policy would grant sleep

ctl policy check --uid 65534 --exe /usr/bin/sleep admin
expect_rc 0 "the policy lets nobody administer as /usr/bin/sleep (so a wrong identity would be granted)"

# ---------------------------------------------------------------- the trick, 50 tries

for variant in "child idle" "parent idle" "child busy" "parent busy"; do
	# shellcheck disable=SC2086 # two words
	set -- $variant
	run_py "fork-exec trick, $1 connects, daemon $2" trick "$1" 13 "$2"
	if json_check 'd["granted"] == 0 and d["denied"] == 65 and not d["other"]'; then
		pass "fork-exec trick, $1 connects, daemon $2: all 65 admin.stats refused"
	else
		fail "fork-exec trick, $1 connects, daemon $2: some admin.stats granted"
	fi
	if json_check '"no rule allows admin to uid 65534" in d["reason"]'; then
		pass "the refusal judges the writer (no exe rule matches it)"
	else
		fail "the refusal gives another reason"
	fi
	if [ "$1" = child ] && json_check 'd["whoami"]["opened_connection"] is False and d["whoami"]["exe"] != "/usr/bin/sleep"'; then
		pass "daemon.whoami from the writer shows the writer, not the sleep that connected"
	elif [ "$1" = parent ] && json_check 'd["whoami"]["opened_connection"] is True and d["whoami"]["exe"] != "/usr/bin/sleep"'; then
		pass "daemon.whoami from the parent that connected shows itself"
	else
		fail "daemon.whoami shows the wrong process"
	fi
done

# ---------------------------------------------------------------- a forged writer

if as_nobody unshare --user --map-root-user --pid --fork true 2>/dev/null; then
	if as_nobody timeout 300 unshare --user --map-root-user --pid --fork "$py" "$dir/h10.py" "$sock" forge 5 \
		>"$dir/out" 2>"$dir/err"; then
		pass "the forging client ran"
	else
		fail "the forging client did not run to its end"
	fi
	if json_check 'd["granted"] == 0 and d["denied"] == 25 and "pid namespace nested" in d["reason"]'; then
		pass "a writer named by SCM_CREDENTIALS in a nested pid namespace is refused, and told why"
	else
		fail "a forged writer in a nested pid namespace was not refused as such"
	fi
elif [ "${CI:-}" = true ]; then
	fail "unprivileged user and pid namespaces (unshare --user --pid) are not available (required when CI=true)"
else
	echo "# SKIP: unprivileged user and pid namespaces (unshare --user --pid) are not available"
fi

# ---------------------------------------------------------------- one request, two writers

run_py "two writers of one request" mixed
if json_check 'd["mixed"]["error"]["code"] == -32010 and "more than one process" in d["mixed"]["error"]["data"]["reason"] and "result" in d["after"]'; then
	pass "a request written by two processes is refused; the next whole one is served"
else
	fail "a request written by two processes was not refused"
fi

# ---------------------------------------------------------------- an honest fork

run_py "a connection shared after a fork" shared
if json_check 'd["child"]["pid"] == d["child_pid"] and d["child"]["opened_connection"] is False and d["parent"]["opened_connection"] is True and d["child"]["uid"] == 65534 and d["child"]["rules"] == ["nobody looks up names"]'; then
	pass "the child sharing the connection is judged as itself"
else
	fail "the child sharing the connection is not judged as itself"
fi
if json_check '"result" in d["hostname"] and d["admin"]["error"]["code"] == -32010'; then
	pass "the child gets what its own rules allow, and nothing more"
else
	fail "the child got the wrong answers"
fi

# ---------------------------------------------------------------- no descriptor left behind

after_fds=$(fds_settled)
if [ "$after_fds" -eq "$base_fds" ]; then
	pass "the daemon holds $after_fds descriptors, as before the clients"
else
	fail "the daemon holds $after_fds descriptors, $base_fds before the clients"
fi

ctl_stop_daemon
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
