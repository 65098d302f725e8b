#!/bin/bash
# Issue 12, item 4: the audit is the record. A client whose executable lives
# at a path of about 4 KiB asks for a socket (allowed), a second one (refused
# by the per-connection handle limit), a connect the policy denies, and a
# connect_to and a resolve of a 1 KiB host name (the longest the protocol
# takes; one byte more is a -32602). Every refusal must be exactly one record
# with its reason; the limit's refusal a "refused" record that follows its
# allow record ("after"); no record cut short: every JSON line of
# --audit-log parses and holds the full exe and host, every "audit:" line of
# the log has balanced quotes, the full values and ends with seq=N, and the
# two carry the same records, numbered 1..N without a gap.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_root "root (the policy's rule names uid 0, and the test reads the daemon's view of a root client)"
sbd_setup it_audit_record
mkdir -p "$dir/policy.d"
cat >"$dir/policy.d/policy.json" <<'EOF2'
{ "version": 1, "rules": [
  { "name": "root: TCP to port 80 and look-ups, one handle at a time", "match": { "uid": 0 },
    "allow": [ { "action": "create", "family": "AF_INET" },
               { "action": "connect", "family": "AF_INET", "port": 80 },
               { "action": "resolve" } ],
    "limits": { "handles": 1 } } ] }
EOF2

# The client's executable, copied to a directory about 4,000 bytes deep
# (PATH_MAX is 4096 with its NUL; /proc/PID/exe cannot show more).
long="$dir/x"
while [ "${#long}" -lt 3800 ]; do
	long="$long/$(printf 'd%.0s' $(seq 1 180))"
done
mkdir -p "$long"
exe="$long/client-$(printf 'e%.0s' $(seq 1 $((4000 - ${#long} - 8))))"
cp "$("$py" -c 'import os, sys; print(os.path.realpath(sys.executable))')" "$exe"
pyhome=$("$py" -c 'import sys; print(sys.prefix)')
echo "exe path: ${#exe} bytes"

chmod 755 "$dir"
sbd_start --policy "$dir/policy.d" --audit-log "$dir/audit.jsonl"

if PYTHONHOME="$pyhome" "$exe" - "$sock" >"$dir/out" 2>&1 <<'EOF2'; then
import json, os, socket, sys

from rpc_session import connect

s, call = connect(sys.argv[1])

host = ".".join(["h" * 63] * 16)       # 1023 bytes
host1k = host + "x"                     # 1024: the longest net.getaddrinfo takes
assert len(host1k) == 1024
r = call("socket.create", {"family": "AF_INET", "type": "SOCK_STREAM"})
assert "result" in r, r
r = call("socket.create", {"family": "AF_INET", "type": "SOCK_STREAM"})
assert r["error"]["code"] == -32012, r
r = call("socket.connect_to", {"address": ["192.0.2.1", 25]})
assert r["error"]["code"] in (-32010, -32012), r
r = call("socket.connect_to", {"address": [host, 25]})
assert r["error"]["code"] == -32010, r
r = call("net.getaddrinfo", {"host": host1k, "port": 80})
assert r.get("error", {}).get("code") != -32010, r
r = call("net.getaddrinfo", {"host": host1k + "y", "port": 80})
assert r["error"]["code"] == -32602, r
# A caller no rule matches is refused anything but introspection: one
# record too (a deny without a rule or an action).
pid = os.fork()
if pid == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    s2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s2.connect(sys.argv[1])
    s2.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "net.getdefaulttimeout", "params": {}}\n')
    r = json.loads(s2.makefile("rb").readline())
    os._exit(0 if r.get("error", {}).get("code") == -32010 else 1)
_, st = os.waitpid(pid, 0)
assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "nobody was not refused"
print("client done")
EOF2
	pass "the client at a 4 KiB path made its requests"
else
	fail "the client at a 4 KiB path"
fi
sbd_stop

if "$py" - "$dir/audit.jsonl" "$dir/daemon.log" "$exe" >"$dir/out" 2>&1 <<'EOF2'; then
import json, re, sys

path, logpath, exe = sys.argv[1:4]
host = ".".join(["h" * 63] * 16)
recs = []
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    assert line.endswith("\n"), f"record {n} cut short"
    recs.append(json.loads(line))
assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1)), [r["seq"] for r in recs]
for r in recs:
    assert r["exe"] == exe, f"record {r['seq']}: exe is {len(r['exe'] or '')} bytes, not {len(exe)}"
by = lambda **kw: [r for r in recs if all(r.get(k) == v for k, v in kw.items())]
creates = by(method="socket.create")
assert [r["decision"] for r in creates] == ["allow", "allow", "refused"], creates
ref = creates[2]
assert ref["reason"] == "limit: at most 1 handles" and ref["after"] == creates[1]["seq"], ref
assert ref["action"] == "create" and ref["family"] == "AF_INET", ref
# Exactly one refusal record per refused request.
refusals = [r for r in recs if r["decision"] != "allow"]
hosts = [r for r in refusals if r.get("host") == host]
assert len(hosts) == 1 and hosts[0]["decision"] == "deny" and hosts[0]["method"] == "socket.connect_to", hosts
assert "port 25" in hosts[0]["reason"], hosts
assert len([r for r in refusals if r.get("port") == 25 and r.get("address") == "192.0.2.1"]) == 1, refusals
assert by(method="net.getaddrinfo", host=host + "x", decision="allow"), "no record of the 1 KiB look-up"
assert not by(host=host + "xy"), "a request refused as malformed has no record"
nob = by(uid=65534)
assert len(nob) == 1 and nob[0]["decision"] == "deny" and nob[0]["rule"] is None and nob[0]["action"] is None, nob
assert nob[0]["method"] == "net.getdefaulttimeout" and "no rule of the policy matches uid 65534" in nob[0]["reason"], nob

# The log's lines: the same records, whole.
field = re.compile(r' ([a-z]+)=("(?:[^"\\]|\\.)*"|[^ "]+)')
lines = [l.rstrip("\n") for l in open(logpath, encoding="utf-8") if l.startswith("<5>audit: ")]
assert len(lines) == len(recs), (len(lines), len(recs))
for l, r in zip(lines, recs):
    m = re.match(r'<5>audit: (allow|deny|refused)', l)
    assert m and m.group(1) == r["decision"], l[:200]
    rest = l[m.end():]
    kv = {}
    pos = 0
    for f in field.finditer(rest):
        assert f.start() == pos, f"unparsed text at {pos}: {rest[pos:pos+80]}"
        kv[f.group(1)] = f.group(2)
        pos = f.end()
    assert pos == len(rest), f"trailing text: {rest[pos:pos+80]}"
    assert list(kv)[-1] == "seq" and int(kv["seq"]) == r["seq"], (kv.get("seq"), r["seq"])
    unq = lambda v: re.sub(r'\\(.)', r'\1', v[1:-1])
    assert unq(kv["exe"]) == exe, "exe cut in the line"
    if r.get("host"):
        assert unq(kv["host"]) == r["host"], "host cut in the line"
    assert unq(kv["reason"]) == r["reason"], (kv["reason"][:100], r["reason"][:100])
print(len(recs), "records")
EOF2
	pass "every record is whole and parses, in the file and in the log, numbered without a gap"
else
	fail "audit records"
fi

echo "1..$checks"
[ "$failures" -eq 0 ]
