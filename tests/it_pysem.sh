#!/bin/bash
# Integration test (issue 13): the daemon's socket methods against Python's
# socket module doing the same thing in the same script. Each check does an
# operation with `socket` and the same one as a call to the daemon (never on
# a passed descriptor), and compares: an OSError with errno E must be -32000
# with data.errno E; TypeError, ValueError and OverflowError must be -32602;
# a value must be the same value.
# Exits 77 (skipped) without python3, unless CI=true, where that is a failure.

set -eu

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

need_python_client

sbd_setup it_pysem
sbd_start

cat >"$dir/pysem.py" <<'PY'
import errno, json, os, socket, sys

class Daemon:
    """Newline-delimited JSON-RPC over the control socket. Descriptors
    that come back are in .fds until the next call closes them."""
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(path)
        self.buf = b""
        self.n = 0
        self.fds = []

    def call(self, method, params=None, fds=None):
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        self.n += 1
        msg = {"jsonrpc": "2.0", "method": method, "id": self.n}
        if params is not None:
            msg["params"] = params
        data = json.dumps(msg).encode() + b"\n"
        if fds:
            socket.send_fds(self.s, [data], fds)
        else:
            self.s.sendall(data)
        while b"\n" not in self.buf:
            d, anc, _, _ = self.s.recvmsg(65536, socket.CMSG_SPACE(64))
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    for i in range(0, len(cdata) - len(cdata) % 4, 4):
                        self.fds.append(int.from_bytes(cdata[i:i + 4], sys.byteorder))
            if not d:
                raise EOFError("the daemon closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def new(self, family=socket.AF_INET, type=socket.SOCK_STREAM):
        return self.call("socket.create", {"family": family, "type": type})["result"]["handle"]

results = []

def check(cond, what, detail=""):
    results.append(cond)
    print("%s - %s%s" % ("ok" if cond else "not ok", what, "" if cond else ": " + str(detail)), flush=True)

def python_outcome(fn):
    """("ok", value), ("os", errno) or ("param", class name)."""
    try:
        return ("ok", fn())
    except (TypeError, ValueError, OverflowError) as e:
        return ("param", type(e).__name__)
    except OSError as e:
        return ("os", e.errno)

def daemon_outcome(reply):
    if "result" in reply:
        return ("ok", reply["result"])
    err = reply["error"]
    if err["code"] == -32602:
        return ("param", err["message"])
    if err["code"] == -32000:
        return ("os", err.get("data", {}).get("errno"))
    return ("other", err)

def same(what, fn, reply, value=lambda r: r, message=None, no_errno=None):
    """Python's outcome of fn() against the daemon's reply. message: a
    substring a -32602 reply must hold. no_errno: the errno the daemon
    gives where Python raises an OSError without one."""
    py, dm = python_outcome(fn), daemon_outcome(reply)
    if py == ("os", None) and no_errno is not None:
        py = ("os", no_errno)
    if py[0] == "ok" and dm[0] == "ok":
        ok = py[1] == value(dm[1])
    elif py[0] == "param" and dm[0] == "param":
        ok = message is None or message in dm[1]
    else:
        ok = py == dm
    check(ok, what, "python %r, daemon %r" % (py, reply))

d = Daemon(sys.argv[1])

# recv(0) is b"" at once: a queued datagram stays for the next recv, and a
# stream with nothing queued does not wait (Python makes no system call).
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    h = d.new(type=socket.SOCK_DGRAM)
    d.call("socket.bind", {"handle": h, "address": ["127.0.0.1", 0]})
    d.call("socket.settimeout", {"handle": h, "timeout": 5})
    a = d.call("socket.getsockname", {"handle": h})["result"]["address"]
    hport = a["port"] if isinstance(a, dict) else a[1]
    for dest in (s.getsockname(), ("127.0.0.1", hport)):
        tx.sendto(b"kept", dest)
    same("recv(0) on a datagram socket", lambda: s.recv(0),
         d.call("socket.recv", {"handle": h, "bufsize": 0}), value=lambda r: r["data"].encode())
    same("the datagram is still there after recv(0)", lambda: s.recv(100),
         d.call("socket.recv", {"handle": h, "bufsize": 100}),
         value=lambda r: __import__("base64").b64decode(r["data"]))
    d.call("socket.close", {"handle": h})
# sendmsg with more buffers than the kernel's UIO_MAXIOV (1024): EMSGSIZE.
for count in (1024, 1025):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        rx.bind(("127.0.0.1", 0))
        h = d.new(type=socket.SOCK_DGRAM)
        same("sendmsg with %d buffers" % count, lambda: s.sendmsg([b"x"] * count, [], 0, rx.getsockname()),
             d.call("socket.sendmsg", {"handle": h, "buffers": ["eA=="] * count,
                                       "address": list(rx.getsockname())}),
             value=lambda r: r["sent"])
        d.call("socket.close", {"handle": h})

with socket.create_server(("127.0.0.1", 0)) as srv:
    h = d.new()
    d.call("socket.settimeout", {"handle": h, "timeout": 5})
    d.call("socket.connect", {"handle": h, "address": list(srv.getsockname())})
    with socket.create_connection(srv.getsockname(), timeout=5) as c:
        same("recv(0) on a stream with nothing queued", lambda: c.recv(0),
             d.call("socket.recv", {"handle": h, "bufsize": 0}), value=lambda r: r["data"].encode())
    d.call("socket.close", {"handle": h})

# 5. sendto needs an address: None is a TypeError in Python.
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.connect(("127.0.0.1", 9))
    h = d.new(type=socket.SOCK_DGRAM)
    d.call("socket.connect", {"handle": h, "address": ["127.0.0.1", 9]})
    same("sendto with address null", lambda: s.sendto(b"x", None),
         d.call("socket.sendto", {"handle": h, "data": "eA==", "address": None}))

# 6. listen's backlog: negative is 0, any int passes (the kernel caps it at
# somaxconn), beyond int is OverflowError. The same for listen_on.
for backlog in (-1, -2**31, 0, 70000, 2**31 - 1, 2**31, -2**31 - 1):
    with socket.socket() as s:
        h = d.new()
        same("listen backlog %d" % backlog, lambda: s.listen(backlog),
             d.call("socket.listen", {"handle": h, "backlog": backlog}), value=lambda r: None,
             message="out of range: it must be an integer in -2147483648..2147483647")
        d.call("socket.close", {"handle": h})
    same("listen_on backlog %d" % backlog,
         lambda: socket.create_server(("127.0.0.1", 0), backlog=backlog).close(),
         d.call("socket.listen_on", {"address": ["127.0.0.1", 0], "backlog": backlog, "pass": True}),
         value=lambda r: None, message="out of range: it must be an integer in -2147483648..2147483647")

# 7. adopting a descriptor that is no socket: OSError(ENOTSOCK).
r, w = os.pipe()
try:
    same("adopt of a pipe", lambda: socket.socket(fileno=w),
         d.call("socket.adopt", {"fds": 1}, fds=[w]))
finally:
    os.close(r)
    os.close(w)

# 8. AF_UNIX names: a path holds at most 107 bytes, an abstract name 107
# after its NUL. Python raises OSError("AF_UNIX path too long") without an
# errno; the daemon answers ENAMETOOLONG (docs/protocol.md section 10).
tmp = os.path.dirname(sys.argv[1])
for n in (107, 108, 200):
    path = os.path.join(tmp, "n" * (n - len(tmp) - 1))
    assert len(path.encode()) == n
    for op in ("bind", "connect"):
        with socket.socket(socket.AF_UNIX) as s:
            h = d.new(family=socket.AF_UNIX)
            # connect to a path nobody bound: ENOENT from both when it fits.
            py = python_outcome(lambda: getattr(s, op)(path))
            if op == "bind" and os.path.exists(path):
                os.unlink(path)
            reply = d.call("socket." + op, {"handle": h, "address": {"path": path}})
            if op == "bind" and os.path.exists(path):
                os.unlink(path)
            dm = daemon_outcome(reply)
            if py == ("os", None):
                py = ("os", errno.ENAMETOOLONG)
            check(py[0] == dm[0] and (py[0] != "os" or py[1] == dm[1]),
                  "%s to a %d-byte AF_UNIX path" % (op, n), "python %r, daemon %r" % (py, reply))
            d.call("socket.close", {"handle": h})
for n in (107, 108):
    with socket.socket(socket.AF_UNIX) as s:
        h = d.new(family=socket.AF_UNIX)
        # Two names: each side binds its own.
        pyname, dname = ["pysem-%d-%s-" % (os.getpid(), who) for who in "pd"]
        pyname += "a" * (n - len(pyname))
        dname += "a" * (n - len(dname))
        same("bind to a %d-byte abstract name" % n, lambda: s.bind("\0" + pyname),
             d.call("socket.bind", {"handle": h, "address": {"abstract": dname}}),
             value=lambda r: None, no_errno=errno.ENAMETOOLONG)
        d.call("socket.close", {"handle": h})
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
    h = d.new(family=socket.AF_UNIX, type=socket.SOCK_DGRAM)
    long = os.path.join(tmp, "n" * 120)
    same("sendto a 120-byte AF_UNIX path", lambda: s.sendto(b"x", long),
         d.call("socket.sendto", {"handle": h, "data": "eA==", "address": {"path": long}}),
         no_errno=errno.ENAMETOOLONG)
    d.call("socket.close", {"handle": h})

# 10. An integer beyond int where Python takes an int is an OverflowError:
# -32602 that says the value is out of range and names the range.
with socket.socket() as s:
    h = d.new()
    for how in (2**31, -2**31 - 1, 2**63):
        same("shutdown how %d" % how, lambda: s.shutdown(how),
             d.call("socket.shutdown", {"handle": h, "how": how}),
             message="how is out of range: an integer must be in -2147483648..2147483647")
    same("getsockopt with a level beyond int", lambda: s.getsockopt(2**31, 1),
         d.call("socket.getsockopt", {"handle": h, "level": 2**31, "option": 1}),
         message="is out of range")
    d.call("socket.close", {"handle": h})
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    h = d.new(type=socket.SOCK_DGRAM)
    same("send flags beyond 32 bits", lambda: s.send(b"x", 2**32),
         d.call("socket.send", {"handle": h, "data": "eA==", "flags": 2**32}),
         message="flags is out of range")
    same("socket.create with a type beyond int", lambda: socket.socket(socket.AF_INET, 2**31),
         d.call("socket.create", {"family": 2, "type": 2**31}),
         message="type is out of range")
    d.call("socket.close", {"handle": h})

# 3. SOCK_NONBLOCK in the type: timeout 0.0, type reads back plain;
# SOCK_CLOEXEC is accepted. The same for socketpair's type.
def kind_name(t):
    return socket.SocketKind(t).name
for family, type in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM),
                     (socket.AF_UNIX, socket.SOCK_STREAM)):
    for extra in (socket.SOCK_NONBLOCK, socket.SOCK_CLOEXEC, socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC):
        what = "create %s type %s|%d" % (socket.AddressFamily(family).name, kind_name(type), extra)
        with socket.socket(family, type | extra) as s:
            r = d.call("socket.create", {"family": family, "type": type | extra})
            ok = "result" in r and r["result"]["type"] == kind_name(s.type)
            check(ok, what + ": type reads back as Python's", "python %r, daemon %r" % (s.type, r))
            if not ok:
                continue
            h = r["result"]["handle"]
            t = d.call("socket.gettimeout", {"handle": h})
            check(t.get("result", {}).get("timeout") == s.gettimeout(), what + ": gettimeout",
                  "python %r, daemon %r" % (s.gettimeout(), t))
            i = d.call("socket.info", {"handle": h})
            check(i.get("result", {}).get("blocking") == s.getblocking(), what + ": getblocking",
                  "python %r, daemon %r" % (s.getblocking(), i))
            d.call("socket.close", {"handle": h})
        # Handed out: the descriptor's O_NONBLOCK as socket(2) leaves it.
        r = d.call("socket.create", {"family": family, "type": type | extra, "pass": True})
        with socket.socket(family, type | extra) as s:
            check("result" in r and len(d.fds) == 1 and os.get_blocking(d.fds[0]) == os.get_blocking(s.fileno()),
                  what + ", handed out: O_NONBLOCK as Python's", "%r fds %r" % (r, d.fds))
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
r = d.call("socket.pair", {"type": socket.SOCK_STREAM | socket.SOCK_NONBLOCK})
if "result" in r:
    for py, h in zip((a, b), r["result"]["handles"]):
        t = d.call("socket.gettimeout", {"handle": h})
        check(t.get("result", {}).get("timeout") == py.gettimeout() and r["result"]["type"] == kind_name(py.type),
              "socketpair SOCK_NONBLOCK: type and timeout", "python %r %r, daemon %r %r" % (py.type, py.gettimeout(), r, t))
        d.call("socket.close", {"handle": h})
else:
    check(False, "socketpair SOCK_NONBLOCK", r)
a.close()
b.close()

# 9. connect, three times, to a port nobody listens on: blocking, every
# attempt is refused; with a timeout, Python's second attempt finds the
# first one's end (ECONNABORTED), and the daemon's must too.
with socket.socket() as x:
    x.bind(("127.0.0.1", 0))
    port = x.getsockname()[1]
for timeout in (None, 5.0):
    for method in ("connect", "connect_ex"):
        with socket.socket() as s:
            s.settimeout(timeout)
            h = d.new()
            d.call("socket.settimeout", {"handle": h, "timeout": timeout})
            for i in range(3):
                if method == "connect":
                    same("%s #%d with timeout %r to a closed port" % (method, i + 1, timeout),
                         lambda: s.connect(("127.0.0.1", port)),
                         d.call("socket.connect", {"handle": h, "address": ["127.0.0.1", port]}))
                else:
                    same("%s #%d with timeout %r to a closed port" % (method, i + 1, timeout),
                         lambda: s.connect_ex(("127.0.0.1", port)),
                         d.call("socket.connect_ex", {"handle": h, "address": ["127.0.0.1", port]}),
                         value=lambda r: r["errno"])
            d.call("socket.close", {"handle": h})

# 4. create_connection's source_address ("", port): any address of each
# candidate's family on that port (here 0, the kernel's pick).
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    try:
        srv = socket.create_server((host, 0), family=family)
    except OSError:
        continue
    port = srv.getsockname()[1]
    for src in (["", 0], {"host": "", "port": 0}):
        pysrc = ("", 0)
        py = python_outcome(lambda: socket.create_connection((host, port), source_address=pysrc).close())
        r = d.call("socket.connect_to", {"address": [host, port], "source_address": src})
        dm = daemon_outcome(r)
        check(py[0] == dm[0] == "ok" and r["result"]["local"]["host"] == host,
              "connect_to %s with source_address %r" % (host, src), "python %r, daemon %r" % (py, r))
        if "result" in r:
            d.call("socket.close", {"handle": r["result"]["handle"]})
    # A source port of our own choosing: both bind it, on any address.
    for who in ("python", "daemon"):
        with socket.socket(family) as t:
            t.bind((host, 0))
            sport = t.getsockname()[1]
        if who == "python":
            try:
                with socket.create_connection((host, port), source_address=("", sport)) as c:
                    got = c.getsockname()[1]
            except OSError as e:
                got = e
        else:
            r = d.call("socket.connect_to", {"address": [host, port], "source_address": ["", sport]})
            got = r["result"]["local"]["port"] if "result" in r else r
            if "result" in r:
                d.call("socket.close", {"handle": r["result"]["handle"]})
        check(got == sport, "%s: connect_to %s from (\"\", %d)" % (who, host, sport), got)
    srv.close()

# 4b. A name as source host: Python's sock.bind on each candidate's socket
# looks it up for that socket's family (setipaddr, the first answer); the
# daemon does so on its resolver threads. Same local address, or the same
# gaierror (-32001 with data.gai) for a name that does not resolve.
def py_from(host, port, src):
    try:
        with socket.create_connection((host, port), source_address=src, timeout=10) as c:
            return ("ok", c.getsockname()[0])
    except socket.gaierror as e:
        return ("gai", e.errno)
    except OSError as e:
        return ("os", e.errno)

def dm_from(r):
    if "result" in r:
        d.call("socket.close", {"handle": r["result"]["handle"]})
        return ("ok", r["result"]["local"]["host"])
    err = r["error"]
    if err["code"] == -32001:
        return ("gai", err.get("data", {}).get("gai"))
    return daemon_outcome(r)

named = 0
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    try:
        srv = socket.create_server((host, 0), family=family, backlog=16)
    except OSError:
        continue
    port = srv.getsockname()[1]
    for src in (("localhost", 0), ("no-such-host.invalid", 0)):
        for addr in ((host, port), ("localhost", port)):
            py = py_from(addr[0], addr[1], src)
            r = d.call("socket.connect_to", {"address": list(addr), "source_address": list(src), "timeout": 10})
            dm = dm_from(r)
            named += py[0] == "ok"
            check(py == dm, "connect_to %r from %r: as Python's create_connection" % (addr, src),
                  "python %r, daemon %r" % (py, r))
    srv.close()
check(named > 0, "a name as source host connected at least once", named)

# Last, as it changes the policy: the source name's look-up is a resolve of
# that name, refused before any look-up when the policy denies it.
with open(os.path.join(sys.argv[2], "policy.json"), "w") as f:
    json.dump({"version": 1, "rules": [{"name": "root: TCP, and no resolve of localhost", "match": {"uid": 0},
        "allow": [{"action": a, "type": "SOCK_STREAM"} for a in ("create", "bind", "connect")]
                 + [{"action": "resolve"}],
        "deny": [{"action": "resolve", "host": "localhost"}]}]}, f)
r = d.call("daemon.reload", {})
check("result" in r, "daemon.reload", r)
srv = socket.create_server(("127.0.0.1", 0), backlog=16)
port = srv.getsockname()[1]
for src, code in ((["localhost", 0], -32010), (["", 0], None), (["127.0.0.1", 0], None)):
    for addr in (["127.0.0.1", port], ["localhost", port]):
        if addr[0] == "localhost" and code is None:
            continue
        r = d.call("socket.connect_to", {"address": addr, "source_address": src, "timeout": 10})
        got = r["error"]["code"] if "error" in r else None
        if "result" in r:
            d.call("socket.close", {"handle": r["result"]["handle"]})
        check(got == code and (code is None or "resolve" in r["error"]["message"]),
              "a policy denying resolve of localhost: connect_to %r from %r" % (addr, src), r)
        pc = d.call("policy.check", {"as": {"uid": 0}, "request": {"method": "socket.connect_to",
                    "params": {"address": addr, "source_address": src}}})
        check(pc.get("result", {}).get("allowed") is (code is None), "policy.check agrees", pc)
srv.close()

sys.exit(0 if all(results) else 1)
PY

rc=0
timeout 120 "$py" "$dir/pysem.py" "$sock" "$dir/policy.d" >"$dir/out" 2>&1 || rc=$?
sed 's/^/    /' "$dir/out"
: >"$dir/out"
if [ "$rc" -eq 0 ]; then
	pass "the daemon answers as Python's socket module does"
else
	fail "the daemon differs from Python's socket module (exit $rc)"
fi

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
