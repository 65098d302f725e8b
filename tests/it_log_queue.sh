#!/bin/bash
# Issue 12, item 9: a log reader that stops reading never stops the daemon.
# The daemon's standard error is a pipe (4 KiB) that nobody reads (then a
# stream socket, as the journal's, with the least buffer), its log
# queue bounded at 64 KiB (the test-only SOCKBROKERD_LOG_QUEUE_BYTES), at
# --log-level debug. Hundreds of connections each log debug lines: every one
# is served, and the debug lines past half the queue are dropped and
# counted. Then governed requests (root's admin.stats, audited) fill the
# queue with audit records: once it cannot take one, the request is refused
# with -32000 {audit: true, name: ENOBUFS} (--audit-failure=refuse, the
# default) while introspection goes on. Then the pipe is read: every line
# that comes out is whole, every admin.stats that was answered has its
# "allow" line (nothing ran without its record), the counters say what was
# dropped and refused, a warning reports the burst, and governed requests
# run again.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_root "root (the audited requests are root's admin.stats, which root keeps whatever the policy says)"
sbd_setup it_log_queue
mkdir -p "$dir/policy.d"

for kind in pipe socket; do
rm -f "$dir/notify.sock" "$dir/control.sock"
if "$py" - "$SBD" "$dir" "$kind" >"$dir/out" 2>&1 <<'EOF2'; then
import fcntl, json, os, re, socket, subprocess, sys, threading, time
from rpc_session import connect

sbd, d, kind = sys.argv[1], sys.argv[2], sys.argv[3]
sock = d + "/control.sock"
F_SETPIPE_SZ = 1031

if kind == "pipe":
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
else:
    # A stream socket, as the journal's: as little buffer as the kernel allows.
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    r, w = b.detach(), a.detach()
ready = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ready.bind(d + "/notify.sock")
ready.settimeout(30)
env = dict(os.environ, NOTIFY_SOCKET=d + "/notify.sock", SOCKBROKERD_LOG_QUEUE_BYTES="65536")
for k in ("LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM"):
    env.pop(k, None)
p = subprocess.Popen([sbd, "--socket", sock, "--policy", d + "/policy.d", "--log-level", "debug"],
                     stderr=w, env=env)
os.close(w)
try:
    while b"READY=1" not in ready.recv(4096).split(b"\n"):
        pass

    def session():
        return connect(sock, timeout=20)

    # 1. Debug chatter: every connection is served; the chatter is dropped.
    for i in range(600):
        s, call = session()
        assert "result" in call("daemon.info"), i
        s.close()
    s, call = session()
    # 2. Audit records fill the queue: governed requests are refused, and
    # introspection goes on.
    ran = 0
    for i in range(2000):
        res = call("admin.stats")
        if "result" in res:
            ran += 1
            continue
        e = res["error"]
        assert e["code"] == -32000 and e["data"]["audit"] is True and e["data"]["name"] == "ENOBUFS", res
        break
    else:
        raise AssertionError("2000 audit records and the queue never filled")
    print(ran, "admin.stats ran before the queue was full")
    assert ran > 0
    for i in range(20):
        assert "result" in call("daemon.info")
        res = call("admin.stats")
        assert res.get("error", {}).get("data", {}).get("audit") is True, res

    # 3. The reader comes back: the queue drains, requests run again.
    out = bytearray()
    def reader():
        while True:
            b = os.read(r, 65536)
            if not b:
                return
            out.extend(b)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    end = time.monotonic() + 20
    while True:
        res = call("admin.stats")
        if "result" in res:
            break
        assert time.monotonic() < end, "admin.stats still refused after the reader came back"
        time.sleep(0.01)
    ran += 1
    log = res["result"]["log"]
    pol = res["result"]["policy"]
    print("log:", log, "policy failures:", pol["audit_failures"], pol["audit_refused"])
    assert log["target"] == kind and log["queue_max"] == 65536, log
    assert log["dropped_debug"] > 0, log
    assert log["audit_refused"] >= 21 and pol["audit_refused"] >= 21, (log, pol)
    # Until the queue has drained (the report of the burst comes then). The
    # reader is not much faster than our requests fill the queue again, so
    # one may still find it full: refused, with no allow record.
    while log["queued_bytes"]:
        assert time.monotonic() < end, "the queue never drained"
        res = call("admin.stats")
        if "error" in res:
            assert res["error"]["data"].get("name") == "ENOBUFS", res
            time.sleep(0.01)
            continue
        ran += 1
        log = res["result"]["log"]
    s.close()
finally:
    p.terminate()
    assert p.wait(timeout=20) == 0
t.join(timeout=20)
text = out.decode()
assert text.endswith("\n"), "the last line was cut"
lines = text.split("\n")[:-1]
for l in lines:
    assert re.match(r"<[0-7]>", l), "a line without its priority (cut or glued): " + l[:200]
allowed = [l for l in lines if l.startswith("<5>audit: allow ") and "method=admin.stats" in l]
assert len(allowed) == ran, (len(allowed), ran)
assert any("log: standard error did not keep up" in l for l in lines), "no report of the drops"
assert lines[-1] == "<6>stopped", lines[-1]
report = [l for l in lines if "log: standard error did not keep up" in l][0]
assert "debug/info lines" in report and " 0 debug/info" not in report, report
print(len(lines), "lines;", len(allowed), "allow records for", ran, "requests that ran")
EOF2
	pass "an unread stderr ($kind): the daemon serves on, drops and counts debug lines, refuses what it cannot record"
else
	fail "an unread stderr ($kind)"
fi
done

echo "1..$checks"
[ "$failures" -eq 0 ]
