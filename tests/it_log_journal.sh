#!/bin/bash
# Issue 12, item 9: when JOURNAL_STREAM names the daemon's standard error,
# audit records go to the journal's socket as native-protocol entries. A
# fake journal (a datagram socket, given with the test-only
# SOCKBROKERD_JOURNAL_SOCKET) receives them: each entry parses (KEY=value
# lines, and the binary form for a value with a newline: the client runs
# from a directory whose name holds one), and carries MESSAGE, PRIORITY=5,
# SYSLOG_IDENTIFIER=sockbrokerd and the SOCKBROKER_* fields of the record,
# numbered by SOCKBROKER_SEQ. Standard error keeps its "<N>" lines and gets
# no audit line while the journal takes them. A journal that stops reading
# costs no request (the daemon queues); when its socket goes away, the
# records still queued for it and the next ones come back to standard error
# as lines: every record is in one place or the other, once.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_root "root (the policy's rules name uid 0)"
sbd_setup it_log_journal
mkdir -p "$dir/policy.d"
cat >"$dir/policy.d/policy.json" <<'EOF2'
{ "version": 1, "rules": [
  { "name": "root: no packet sockets", "match": { "uid": 0 },
    "allow": [ { "action": "resolve" } ],
    "deny": [ { "action": "create", "family": "AF_PACKET" } ] } ] }
EOF2
exe="$dir/new
line/client"
mkdir -p "$(dirname "$exe")"
cp "$("$py" -c 'import os, sys; print(os.path.realpath(sys.executable))')" "$exe"
pyhome=$("$py" -c 'import sys; print(sys.prefix)')

if PYTHONHOME="$pyhome" "$exe" - "$SBD" "$dir" "$exe" >"$dir/out" 2>&1 <<'EOF2'; then
import json, os, re, signal, socket, struct, subprocess, sys
from rpc_session import connect

sbd, d, exe = sys.argv[1], sys.argv[2], sys.argv[3]
sock = d + "/control.sock"

def parse(data):
    """The native protocol: KEY=value\n, or KEY\n<le64 size>value\n."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            v = data[nl + 9:nl + 9 + n]
            assert data[nl + 9 + n:nl + 10 + n] == b"\n", "binary field without its newline"
            i = nl + 10 + n
        assert k.isupper() or k.replace(b"_", b"").isalnum(), k
        assert k not in fields, b"twice: " + k
        fields[k.decode()] = v.decode()
    return fields

journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
journal.bind(d + "/journal.sock")
journal.settimeout(20)
ready = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ready.bind(d + "/notify.sock")
ready.settimeout(30)
err = open(d + "/daemon.log", "wb")
st = os.fstat(err.fileno())
env = dict(os.environ, NOTIFY_SOCKET=d + "/notify.sock", SOCKBROKERD_JOURNAL_SOCKET=d + "/journal.sock",
           JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
for k in ("LISTEN_FDS", "LISTEN_PID"):
    env.pop(k, None)
p = subprocess.Popen([sbd, "--socket", sock, "--policy", d + "/policy.d"], stderr=err, env=env)
try:
    while b"READY=1" not in ready.recv(4096).split(b"\n"):
        pass
    s, call = connect(sock, timeout=20)

    r = call("admin.stats")
    assert r["result"]["log"]["journal"] is True and r["result"]["log"]["target"] == "journal", r
    r = call("socket.create", {"family": "AF_PACKET", "type": "SOCK_RAW"})
    assert r["error"]["code"] == -32010, r
    r = call("net.getaddrinfo", {"host": "localhost", "port": 80})
    assert "result" in r, r
    entries = [parse(journal.recv(1 << 20)) for _ in range(3)]
    for n, e in enumerate(entries, 1):
        assert e["PRIORITY"] == "5" and e["SYSLOG_IDENTIFIER"] == "sockbrokerd", e
        assert e["MESSAGE"].startswith("audit: " + e["SOCKBROKER_DECISION"] + " "), e
        assert e["MESSAGE"].endswith(" seq=" + e["SOCKBROKER_SEQ"]), e
        assert e["SOCKBROKER_SEQ"] == str(n), e
        assert e["SOCKBROKER_UID"] == "0" and e["SOCKBROKER_PID"] == str(os.getpid()), e
        assert e["SOCKBROKER_EXE"] == exe, ("the exe with its newline, exactly", e["SOCKBROKER_EXE"])
        assert "SOCKBROKER_CONN" in e and "SOCKBROKER_REASON" in e, e
    stats, deny, look = entries
    assert stats["SOCKBROKER_METHOD"] == "admin.stats" and stats["SOCKBROKER_ACTION"] == "admin", stats
    assert "SOCKBROKER_RULE" not in stats, stats
    assert deny["SOCKBROKER_DECISION"] == "deny" and deny["SOCKBROKER_RULE"] == "root: no packet sockets", deny
    assert deny["SOCKBROKER_FAMILY"] == "AF_PACKET" and deny["SOCKBROKER_ACTION"] == "create", deny
    assert look["SOCKBROKER_METHOD"] == "net.getaddrinfo" and look["SOCKBROKER_HOST"] == "localhost", look

    # A journal that does not read: its queue fills (max_dgram_qlen), the
    # daemon's own queue takes the rest and requests go on.
    seqs = [int(e["SOCKBROKER_SEQ"]) for e in entries]
    for i in range(40):
        r = call("admin.stats")
        assert "result" in r, r
    assert r["result"]["log"]["queued_bytes"] > 0, r["result"]["log"]
    # Then it goes away with records still queued for it (the daemon stopped
    # meanwhile, so none is sent between the last read and the close):
    # those, and the next ones, become lines on standard error.
    os.kill(p.pid, signal.SIGSTOP)
    journal.setblocking(False)
    try:
        while True:
            seqs.append(int(parse(journal.recv(1 << 20))["SOCKBROKER_SEQ"]))
    except BlockingIOError:
        pass
    journal.close()
    os.unlink(d + "/journal.sock")
    os.kill(p.pid, signal.SIGCONT)
    r = call("admin.stats")
    assert "result" in r, r
    last = r["result"]["policy"]["audit_records"]
    s.close()
finally:
    p.terminate()
    assert p.wait(timeout=20) == 0
err.close()
lines = open(d + "/daemon.log", encoding="utf-8").read().split("\n")
assert lines[-1] == "", "the last line was cut"
audit = [l for l in lines if "audit:" in l]
for l in audit:
    assert l.startswith("<5>audit: allow ") and re.search(r" seq=[0-9]+$", l), l
line_seqs = [int(l.rsplit("=", 1)[1]) for l in audit]
assert line_seqs and line_seqs[-1] == last, (line_seqs, last)
assert sorted(seqs + line_seqs) == list(range(1, last + 1)), (seqs, line_seqs)
assert any(l.startswith("<5>policy: 1 rule") for l in lines), lines
print(len(seqs), "journal entries, then", len(line_seqs), "lines")
EOF2
	pass "audit records go to the journal as native entries with their fields, lines stay lines"
else
	fail "the journal"
fi

echo "1..$checks"
[ "$failures" -eq 0 ]
