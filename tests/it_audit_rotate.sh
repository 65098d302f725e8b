#!/bin/bash
# Issue 12, item 5: the audit log rotates under load, as logrotate does it
# (rename, then `kill -USR1`; a reload with SIGHUP reopens it too). A client
# thread makes decisions without pause while the test renames the file and
# signals the daemon, twice; afterwards every line of the three files is one
# whole record, and together they hold every decision the client had
# answered, numbered 1..N with no gap and none twice (seq). Then the
# daemon's answers for a disk that is full (--audit-log /dev/full): a
# governed request is refused with -32000 {audit: true}, the loop keeps
# serving, the failures are counted and warned about once per burst. And a
# missing directory is fatal at start, saying so.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_root "root (the decisions are root's admin.stats, which root keeps whatever the policy says)"
sbd_setup it_audit_rotate
audit="$dir/logs/audit.log"
mkdir -p "$dir/logs"
sbd_start --audit-log "$audit"

if "$py" - "$sock" "$audit" "$daemon_pid" "$dir/daemon.log" >"$dir/out" 2>&1 <<'EOF2'; then
import json, os, signal, socket, sys, threading, time

path, audit, pid, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

from rpc_session import connect

def session():
    return connect(path)[1]

answered = 0
stop = threading.Event()
def client():
    global answered
    call = session()
    while not stop.is_set():
        r = call("admin.stats", {})
        assert "result" in r, r
        answered += 1

def lines(p):
    try:
        with open(p, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0

def wait(cond, what):
    end = time.monotonic() + 20
    while not cond():
        assert time.monotonic() < end, "timed out waiting for " + what
        time.sleep(0.01)

t = threading.Thread(target=client)
t.start()
try:
    for n, sig, word in ((1, signal.SIGUSR1, "SIGUSR1: reopened"), (2, signal.SIGHUP, "SIGHUP: reloading")):
        wait(lambda: lines(audit) >= 300, "300 records in the current file")
        os.rename(audit, f"{audit}.{n}")
        os.kill(pid, sig)
        # Decisions go on while the daemon reopens: the new file appears.
        wait(lambda: os.path.exists(audit), "the reopened file")
        wait(lambda: word in open(log).read(), word)
    wait(lambda: lines(audit) >= 300, "300 records after the last rotation")
finally:
    stop.set()
    t.join()

seqs = []
for p in (audit + ".1", audit + ".2", audit):
    n = 0
    with open(p, encoding="utf-8") as f:
        for line in f:
            assert line.endswith("\n"), f"{p}: a record cut short"
            r = json.loads(line)
            seqs.append(r["seq"])
            n += 1
    assert n > 0, p
    print(p, n, "records")
assert seqs == sorted(seqs), "the files are not in order"
assert seqs == list(range(1, len(seqs) + 1)), "a gap or a repeat in seq"
# The records are the client's decisions (+ the reload of the second
# rotation is no request: nothing else is audited).
assert len(seqs) == answered, (len(seqs), answered)
print(answered, "decisions, all recorded")
EOF2
	pass "rotation under load (rename + SIGUSR1, rename + SIGHUP): no record lost, split or repeated"
else
	fail "rotation under load"
fi
sbd_stop

# ---------------------------------------------------------------- logrotate itself
# The shipped configuration, run by logrotate(8) itself: only the path and
# the signal's sender differ (no systemd here), both rewritten below.
if ! command -v logrotate >/dev/null 2>&1; then
	missing "logrotate (to run the shipped examples/logrotate/sockbroker)"
fi
rm -f "$dir/notify.fifo" "$dir/notify.sock" "$audit" "$audit".*
sbd_start --audit-log "$audit"
sed -e "s|^/var/log/sockbroker/audit.log {|$audit {|" \
	-e "s|systemctl kill --kill-who=main --signal=SIGUSR1 sockbrokerd.service|kill -USR1 $daemon_pid|" \
	"$SRCDIR/examples/logrotate/sockbroker" >"$dir/logrotate.conf"
if ! grep -q "^$audit {" "$dir/logrotate.conf" || ! grep -q "kill -USR1 $daemon_pid" "$dir/logrotate.conf"; then
	fail "the shipped logrotate configuration no longer has the path and postrotate this test rewrites"
fi
if "$py" - "$sock" "$audit" "$dir/logrotate.conf" "$dir/logrotate.state" "$dir/daemon.log" >"$dir/out" 2>&1 <<'EOF2'; then
import json, os, socket, subprocess, sys, time

path, audit, conf, state, log = sys.argv[1:6]
from rpc_session import connect

s, call = connect(path)

def decide(n):
    for _ in range(n):
        assert "result" in call("admin.stats", {})

decide(20)
for rotation in (1, 2):
    subprocess.run(["logrotate", "--force", "--state", state, conf], check=True)
    end = time.monotonic() + 20
    while open(log).read().count("SIGUSR1: reopened") < rotation:
        assert time.monotonic() < end, "no reopen after logrotate's postrotate"
        time.sleep(0.01)
    decide(20)
# delaycompress: .1 stays plain, .2 is compressed.
assert os.path.exists(audit + ".1") and os.path.exists(audit + ".2.gz"), sorted(os.listdir(os.path.dirname(audit)))
import gzip
seqs = []
for p in (audit + ".2.gz", audit + ".1", audit):
    data = (gzip.open(p, "rt", encoding="utf-8") if p.endswith(".gz") else open(p, encoding="utf-8")).read()
    assert data.endswith("\n"), p
    seqs += [json.loads(l)["seq"] for l in data.splitlines()]
assert seqs == list(range(1, 61)), seqs
print("60 records over three files, 1..60")
EOF2
	pass "logrotate with the shipped configuration: two rotations, 60 records, none lost or split"
else
	fail "logrotate with the shipped configuration"
fi
sbd_stop

# ---------------------------------------------------------------- a full disk
rm -f "$dir/notify.fifo" "$dir/notify.sock"
sbd_start --audit-log /dev/full
if "$py" - "$sock" >"$dir/out" 2>&1 <<'EOF2'; then
import json, socket, sys

from rpc_session import connect

s, call = connect(sys.argv[1])

for i in range(50):
    r = call("admin.stats", {})
    e = r.get("error", {})
    assert e.get("code") == -32000 and e["data"].get("audit") is True and e["data"]["name"] == "ENOSPC", r
    r = call("daemon.info", {})
    assert "result" in r, r
EOF2
	pass "a full disk: governed requests are refused (-32000 audit ENOSPC), introspection keeps working"
else
	fail "a full disk"
fi
sbd_stop
n=$(grep -c 'audit: a record could not be written to /dev/full: No space left on device' "$dir/daemon.log" || true)
if [ "$n" -eq 1 ]; then
	pass "a full disk: one warning for the burst of 50 failures"
else
	grep 'audit:' "$dir/daemon.log" | grep -v '^<5>audit: allow' >"$dir/out" || true
	fail "a full disk: $n warnings for one burst (want 1)"
fi

# ---------------------------------------------------------------- a missing directory
rc=0
"$SBD" --socket "$sock" --policy "$dir/policy.d" --sockets "$dir/sockets.d" --audit-log "$dir/nosuchdir/audit.log" 2>"$dir/out" || rc=$?
if [ "$rc" -ne 0 ] && grep -q "the directory $dir/nosuchdir does not exist" "$dir/out"; then
	pass "a missing audit directory is fatal at start, and the message says which"
else
	echo "exit $rc" >>"$dir/out"
	fail "a missing audit directory"
fi

echo "1..$checks"
[ "$failures" -eq 0 ]
