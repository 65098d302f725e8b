#!/usr/bin/env python3
"""The client side of tests/it_sandbox.sh: what a program in a sandbox, or
dropped to an unprivileged user, does with sockbrokerd. Standard library only
and self-contained, so that it can run from stdin inside a bubblewrap sandbox
that holds nothing but the interpreter and the control socket
(python3 - SUBCOMMAND ARGS < policy-client.py).

Usage: policy-client.py SUBCOMMAND ARGS...

  call SOCK METHOD PARAMS [--expect allow|deny|CODE] [--rule NAME|--no-rule]
      one request; descriptors in the reply are closed
  listen-accept SOCK HOST PORT
      socket.listen_on pass:true, then accepts one real TCP connection on the
      descriptor and echoes a line back ("event": "listening" says when to connect)
  tcp-exchange HOST PORT TEXT
      a plain TCP client: sends TEXT, expects "echo TEXT" back
  connect-to SOCK HOST PORT [--expect allow|deny] [--rule NAME|--no-rule]
      socket.connect_to pass:true; when allowed, a line through the descriptor
      to the echo server and its echo back
  create-connect SOCK HOST PORT [--expect allow|deny] [--rule NAME|--no-rule]
      socket.create (a handle), then socket.connect {handle, address: [HOST, PORT]}
  resolve-connect SOCK NAME PORT [--expect allow|deny] [--rule NAME|--no-rule]
      resolves NAME in this process (getaddrinfo, AF_INET) and asks
      socket.connect_to for the numeric address
  sandboxed SOCK HOST PORT OTHERPORT [--lo-down] [--host-netns NETNS]
      the checks of a client without a network of its own: its namespace is
      not NETNS (the host's, as readlink /proc/self/ns/net shows it) and has
      only lo (down, with --lo-down); a direct connect() fails, connect_to
      HOST:PORT through the daemon carries data, and HOST:OTHERPORT is denied
  ping SOCK
      a raw ICMP socket from the daemon (pass:true), an echo request to
      127.0.0.1 and its reply; AF_PACKET is denied
  hammer SOCK N DEADLINE
      N connections sending socket.create {AF_INET, SOCK_DGRAM, pass:true} in a
      loop; "event": "started" once each got an answer; then they go on until
      each has seen 5 denials (or DEADLINE seconds); every answer is checked
  echo-server
      (the test's side) two TCP listeners on 127.0.0.1 that echo a line back;
      prints {"event": "serving", "ports": [P1, P2]} and serves until killed
  notify-wait PATH
      (the test's side) binds the NOTIFY_SOCKET PATH, prints "bound", then
      prints the datagrams up to the one holding READY=1 (30 s at most)

Output: one JSON object per line. A line with "check" and "ok" is one
assertion; lines with "event" say how far the client got. Exit 0 when every
check held, 1 when one did not, 2 on bad usage.
"""

import array
import itertools
import base64
import json
import os
import select
import socket
import struct
import sys
import threading
import time

DENIED = -32010
FAILED = False


def emit(obj):
    print(json.dumps(obj, default=str, sort_keys=True), flush=True)


def check(name, ok, **detail):
    global FAILED
    rec = {"check": name, "ok": bool(ok)}
    rec.update(detail)
    emit(rec)
    if not ok:
        FAILED = True
    return bool(ok)


class ProtocolError(Exception):
    pass


class Client:
    """Newline-delimited JSON-RPC 2.0 over the control socket; descriptors in
    replies come as SCM_RIGHTS, "fds": n in the result says how many."""

    MAX_FDS = 16

    def __init__(self, path, timeout=20.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.pending_fds = []
        self.ids = itertools.count(1)

    def close(self):
        for fd in self.pending_fds:
            os.close(fd)
        self.pending_fds = []
        self.sock.close()

    def send(self, msgs):
        if isinstance(msgs, dict):
            msgs = [msgs]
        self.sock.sendall(b"".join(json.dumps(m, separators=(",", ":")).encode() + b"\n" for m in msgs))

    def _fill(self):
        anc = socket.CMSG_SPACE(self.MAX_FDS * array.array("i").itemsize)
        data, ancdata, flags, _ = self.sock.recvmsg(65536, anc)
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(cdata[:len(cdata) - (len(cdata) % fds.itemsize)])
                self.pending_fds.extend(fds)
        if flags & socket.MSG_CTRUNC:
            raise ProtocolError("descriptors were truncated")
        if not data:
            raise ProtocolError("the daemon closed the connection")
        self.buf += data

    def recv(self):
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line.decode("utf-8"))
        fds = []
        result = msg.get("result") if isinstance(msg, dict) else None
        if isinstance(result, dict) and isinstance(result.get("fds"), int):
            n = result["fds"]
            if len(self.pending_fds) < n:
                raise ProtocolError("reply says fds %d, %d came" % (n, len(self.pending_fds)))
            fds, self.pending_fds = self.pending_fds[:n], self.pending_fds[n:]
        return msg, fds

    def call(self, method, params=None):
        rid = next(self.ids)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        reply, fds = self.recv()
        if reply.get("id") != rid:
            raise ProtocolError("reply id %r, expected %r" % (reply.get("id"), rid))
        return reply, fds


def close_fds(fds):
    for fd in fds:
        os.close(fd)


# ---------------------------------------------------------------- expectations

def parse_expect(args):
    """--expect allow|deny|CODE, --rule NAME, --no-rule from args (removed)."""
    expect, rule = "allow", None
    rest = []
    it = iter(args)
    for a in it:
        if a == "--expect":
            expect = next(it)
        elif a == "--rule":
            rule = next(it)
        elif a == "--no-rule":
            rule = ""
        else:
            rest.append(a)
    if expect not in ("allow", "deny"):
        expect = int(expect)
    return expect, rule, rest


def describe(expect, rule):
    if expect == "allow":
        return "is allowed"
    if expect == "deny":
        if rule is None:
            return "is denied (-32010 with data.reason)"
        if rule == "":
            return "is denied (-32010 with data.reason, no data.rule: no rule decided)"
        return "is denied (-32010 with data.reason, data.rule %s)" % json.dumps(rule)
    return "fails with %d" % expect


def judge(msg, expect, rule):
    if expect == "allow":
        return "result" in msg
    err = msg.get("error")
    if not isinstance(err, dict):
        return False
    if expect != "deny":
        return err.get("code") == expect
    data = err.get("data")
    if err.get("code") != DENIED or not isinstance(data, dict):
        return False
    if not isinstance(data.get("reason"), str) or not data["reason"]:
        return False
    if rule == "":
        return "rule" not in data
    if rule is not None:
        return data.get("rule") == rule
    return True


def errno_name(e):
    import errno as errno_mod
    return errno_mod.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) and e.errno else repr(e)


# ---------------------------------------------------------------- subcommands

def cmd_call(args):
    expect, rule, rest = parse_expect(args)
    sock, method, params = rest[0], rest[1], json.loads(rest[2])
    c = Client(sock)
    msg, fds = c.call(method, params)
    close_fds(fds)
    check("%s %s %s" % (method, json.dumps(params, separators=(",", ":")), describe(expect, rule)),
          judge(msg, expect, rule), reply=msg, fds=len(fds))
    c.close()


def read_line(conn, limit=4096):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def exchange(s, text):
    """Sends a line over s, expects "echo " + the line back."""
    line = (text + "\n").encode()
    s.sendall(line)
    got = read_line(s)
    return got == b"echo " + line, got.decode("utf-8", "replace")


def cmd_listen_accept(args):
    sock, host, port = args[0], args[1], int(args[2])
    c = Client(sock)
    params = {"address": [host, port], "pass": True}
    msg, fds = c.call("socket.listen_on", params)
    if not check("socket.listen_on %s returns one descriptor" % json.dumps(params, separators=(",", ":")),
                 "result" in msg and len(fds) == 1, reply=msg, fds=len(fds), uid=os.getuid()):
        close_fds(fds)
        return
    s = socket.socket(fileno=fds[0])
    local = s.getsockname()
    listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    check("the descriptor is a listening TCP socket on %s:%d" % (host, port),
          s.family == socket.AF_INET and s.type == socket.SOCK_STREAM and local[1] == port and listening == 1,
          local=local, family=str(s.family), type=str(s.type), acceptconn=listening)
    emit({"event": "listening", "local": local})
    s.settimeout(30)
    try:
        conn, peer = s.accept()
    except OSError as e:
        check("accepts the test's TCP connection", False, error=errno_name(e))
        return
    with conn:
        conn.settimeout(10)
        line = read_line(conn)
        conn.sendall(b"echo " + line)
        check("accepts the test's TCP connection from %s and reads its line" % peer[0],
              line.startswith(b"hello port ") and line.endswith(b"\n"), peer=peer, got=line.decode("utf-8", "replace"))
    s.close()
    c.close()


def cmd_tcp_exchange(args):
    host, port, text = args[0], int(args[1]), args[2]
    try:
        s = socket.create_connection((host, port), timeout=10)
    except OSError as e:
        check("connects to %s:%d" % (host, port), False, error=errno_name(e))
        return
    with s:
        ok, got = exchange(s, text)
        check("connects to %s:%d, sends a line, gets its echo" % (host, port), ok, got=got)


def via_connect_to(c, host, port, expect, rule, label=None):
    """connect_to through the daemon, the socket kept there as a handle (a
    descriptor would let its holder reconnect it anywhere: pass needs an
    explicit create grant), data through socket.sendall / socket.recv."""
    params = {"address": [host, port]}
    msg, fds = c.call("socket.connect_to", params)
    close_fds(fds)
    name = label or "socket.connect_to %s" % json.dumps(params, separators=(",", ":"))
    if expect != "allow":
        return check("%s %s" % (name, describe(expect, rule)), judge(msg, expect, rule), reply=msg)
    handle = msg.get("result", {}).get("handle")
    if not check("%s returns a connected handle" % name, isinstance(handle, int), reply=msg):
        return False
    peer = msg["result"].get("peer", {})
    text = "hello from pid %d through %s:%d\n" % (os.getpid(), host, port)
    sent, _ = c.call("socket.sendall", {"handle": handle, "text": text})
    got = b""
    while not got.endswith(b"\n") and len(got) < 4096:
        r, _ = c.call("socket.recv", {"handle": handle, "bufsize": 4096})
        data = r.get("result", {}).get("data")
        if not data:
            break
        got += base64.b64decode(data)
    c.call("socket.close", {"handle": handle})
    return check("data goes both ways through the daemon (peer %s)" % json.dumps(peer),
                 "result" in sent and got == b"echo " + text.encode() and peer.get("port") == port,
                 sent=sent, got=got.decode("utf-8", "replace"))


def pass_denied(c, host, port):
    """A bind or connect grant keeps the socket in the daemon: asking for the
    descriptor is denied, and nothing is left behind."""
    params = {"address": [host, port], "pass": True}
    msg, fds = c.call("socket.connect_to", params)
    close_fds(fds)
    listed, _ = c.call("socket.list")
    return check("socket.connect_to %s (the descriptor) is denied without a create grant, no handle left"
                 % json.dumps(params, separators=(",", ":")),
                 judge(msg, "deny", None) and not fds and listed.get("result", {}).get("sockets") == [],
                 reply=msg, listed=listed)


def cmd_connect_to(args):
    expect, rule, rest = parse_expect(args)
    c = Client(rest[0])
    via_connect_to(c, rest[1], int(rest[2]), expect, rule)
    c.close()


def cmd_create_connect(args):
    expect, rule, rest = parse_expect(args)
    sock, host, port = rest[0], rest[1], int(rest[2])
    c = Client(sock)
    msg, fds = c.call("socket.create", {"family": "AF_INET", "type": "SOCK_STREAM"})
    close_fds(fds)
    handle = msg.get("result", {}).get("handle")
    if not check("socket.create AF_INET SOCK_STREAM gives a handle", isinstance(handle, int), reply=msg):
        return
    params = {"handle": handle, "address": [host, port]}
    msg, _ = c.call("socket.connect", params)
    check("socket.connect {handle, address: %s} %s" % (json.dumps([host, port]), describe(expect, rule)),
          judge(msg, expect, rule), reply=msg)
    c.call("socket.close", {"handle": handle})
    c.close()


def cmd_resolve_connect(args):
    expect, rule, rest = parse_expect(args)
    sock, name, port = rest[0], rest[1], int(rest[2])
    ai = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)
    addr = ai[0][4][0]
    check("the client resolves %s itself: %s" % (name, addr), bool(addr), addresses=[a[4][0] for a in ai])
    c = Client(sock)
    via_connect_to(c, addr, port, expect, rule,
                   label="socket.connect_to [%s, %d] (%s resolved by the client)" % (json.dumps(addr), port, name))
    c.close()


def netns_view():
    """What this process sees of its network: interfaces, and lo's flags."""
    view = {"interfaces": [n for _, n in socket.if_nameindex()]}
    try:
        import fcntl
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with s:
            ifr = struct.pack("16sH", b"lo", 0)
            flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), 0x8913, ifr)[:18])[1]   # SIOCGIFFLAGS
            view["lo_up"] = bool(flags & 1)
    except OSError as e:
        view["lo_up"] = errno_name(e)
    return view


def cmd_sandboxed(args):
    lo_down = "--lo-down" in args
    host_netns = None
    rest = []
    it = iter(args)
    for a in it:
        if a == "--host-netns":
            host_netns = next(it)
        elif a != "--lo-down":
            rest.append(a)
    sock, host, port, other = rest[0], rest[1], int(rest[2]), int(rest[3])
    view = netns_view()
    try:
        view["netns"] = os.readlink("/proc/self/ns/net")
    except OSError as e:
        view["netns"] = errno_name(e)
    if host_netns:
        check("the client is in a network namespace of its own (%s, the host's is %s)" % (view["netns"], host_netns),
              view["netns"].startswith("net:[") and view["netns"] != host_netns, **view)
    check("the client's namespace has no interface but lo", view["interfaces"] in ([], ["lo"]), **view)
    if lo_down:
        check("its loopback is down", view.get("lo_up") is False, **view)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((host, port))
        check("a direct connect() to %s:%d fails" % (host, port), False, error="it connected")
    except OSError as e:
        check("a direct connect() to %s:%d fails (%s)" % (host, port, errno_name(e)), True, error=errno_name(e))
    finally:
        s.close()
    c = Client(sock)
    via_connect_to(c, host, port, "allow", None)
    pass_denied(c, host, port)
    via_connect_to(c, host, other, "deny", None,
                   label="socket.connect_to [%s, %d] (a port outside the rule)" % (json.dumps(host), other))
    c.close()


def icmp_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def cmd_ping(args):
    c = Client(args[0])
    if os.geteuid() != 0:
        try:
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
            check("the user cannot make a raw ICMP socket itself", False, error="it could")
        except OSError as e:
            check("the user cannot make a raw ICMP socket itself (%s)" % errno_name(e), True)
    params = {"family": "AF_INET", "type": "SOCK_RAW", "proto": "IPPROTO_ICMP", "pass": True}
    msg, fds = c.call("socket.create", params)
    if check("socket.create %s returns a descriptor" % json.dumps(params, separators=(",", ":")),
             "result" in msg and len(fds) == 1, reply=msg, fds=len(fds)):
        s = socket.socket(fileno=fds[0])
        with s:
            ident, seq = os.getpid() & 0xffff, 7
            payload = b"sockbroker ping %d" % os.getpid()
            hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            pkt = struct.pack("!BBHHH", 8, 0, icmp_checksum(hdr + payload), ident, seq) + payload
            s.sendto(pkt, ("127.0.0.1", 0))
            deadline = time.monotonic() + 10
            reply = None
            seen = []
            while time.monotonic() < deadline and reply is None:
                r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
                if not r:
                    break
                data, src = s.recvfrom(65536)
                ihl = (data[0] & 0x0f) * 4
                typ, code, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                seen.append({"type": typ, "id": rid, "seq": rseq, "from": src[0]})
                if typ == 0 and rid == ident and rseq == seq and data[ihl + 8:] == payload:
                    reply = seen[-1]
            check("an ICMP echo request to 127.0.0.1 gets its echo reply (type 0, id %d, seq %d)" % (ident, seq),
                  reply is not None, reply=reply, seen=seen[:8])
    else:
        close_fds(fds)
    params = {"family": "AF_PACKET", "type": "SOCK_RAW"}
    msg, fds = c.call("socket.create", params)
    close_fds(fds)
    check("socket.create %s is denied (-32010)" % json.dumps(params, separators=(",", ":")),
          judge(msg, "deny", None), reply=msg)
    c.close()


def cmd_hammer(args):
    path, n, limit = args[0], int(args[1]), float(args[2])
    deadline = time.monotonic() + limit
    params = {"family": "AF_INET", "type": "SOCK_DGRAM", "pass": True}
    window = 3          # requests in flight per connection
    want_denials = 5
    lock = threading.Lock()
    answered_once = threading.Barrier(n + 1)
    state = [{"sent": [], "answers": {}, "dups": [], "unknown": [], "other": [], "error": None} for _ in range(n)]

    def worker(i):
        st = state[i]
        seq = itertools.count(1)
        first = True
        denials = 0
        try:
            c = Client(path, timeout=30)
            while time.monotonic() < deadline and denials < want_denials:
                ids = ["c%d-%d" % (i, next(seq)) for _ in range(window)]
                c.send([{"jsonrpc": "2.0", "id": rid, "method": "socket.create", "params": params} for rid in ids])
                st["sent"].extend(ids)
                for _ in ids:
                    msg, fds = c.recv()
                    close_fds(fds)
                    rid = msg.get("id")
                    if rid not in ids:
                        st["unknown"].append(rid)
                    elif rid in st["answers"]:
                        st["dups"].append(rid)
                    if "result" in msg:
                        verdict = "A"
                    elif msg.get("error", {}).get("code") == DENIED:
                        verdict = "D"
                        denials += 1
                    else:
                        verdict = "?"
                        st["other"].append(msg)
                    st["answers"][rid] = verdict
                if first:
                    first = False
                    answered_once.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Nothing more may come: a late or duplicated answer would show here.
            c.sock.settimeout(0.2)
            try:
                extra, _ = c.recv()
                st["unknown"].append(extra.get("id"))
            except (socket.timeout, ProtocolError):
                pass
            c.close()
        except (OSError, ProtocolError, ValueError, threading.BrokenBarrierError) as e:
            st["error"] = "%s: %s" % (type(e).__name__, e)
            if first:
                try:
                    answered_once.abort()
                except threading.BrokenBarrierError:
                    pass

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        answered_once.wait(timeout=max(0.1, deadline - time.monotonic()))
        emit({"event": "started", "clients": n})
    except threading.BrokenBarrierError:
        emit({"event": "not started"})
    for t in threads:
        t.join(max(0.1, deadline + 5 - time.monotonic()))
    with lock:
        sent = sum(len(s["sent"]) for s in state)
        answered = sum(len(s["answers"]) for s in state)
        lost = {i: [r for r in s["sent"] if r not in s["answers"]][:5] for i, s in enumerate(state)}
        lost = {i: v for i, v in lost.items() if v}
        dups = {i: s["dups"][:5] for i, s in enumerate(state) if s["dups"]}
        unknown = {i: s["unknown"][:5] for i, s in enumerate(state) if s["unknown"]}
        errors = {i: s["error"] for i, s in enumerate(state) if s["error"]}
        other = {i: s["other"][:2] for i, s in enumerate(state) if s["other"]}
        seqs = ["".join(s["answers"].get(r, "-") for r in s["sent"]) for s in state]
    check("%d clients ran without errors" % n, not errors and not any(t.is_alive() for t in threads),
          errors=errors)
    check("every one of the %d requests got an answer with its id (none lost)" % sent,
          not lost and answered == sent, lost=lost, answered=answered)
    check("no request was answered twice, no answer carries an unknown id", not dups and not unknown,
          duplicated=dups, unknown=unknown)
    check("every answer is an allow or a -32010 denial", not other, other=other)
    import re
    flips = {i: s for i, s in enumerate(seqs) if not re.fullmatch(r"A*D*", s)}
    check("each client's answers switch from allowed to denied at one point, never back",
          not flips, flips={i: s[:200] for i, s in list(flips.items())[:5]})
    switched = sum(1 for s in seqs if "D" in s)
    before = sum(1 for s in seqs if s.startswith("A"))
    check("the switch happened for every client (%d of %d saw denials after allows)" % (switched, n),
          switched == n and before == n, allowed_first=before, switched=switched,
          requests=sent, per_client_min=min(len(s) for s in seqs) if seqs else 0)


class EchoHandler(threading.Thread):
    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn

    def run(self):
        with self.conn:
            try:
                self.conn.settimeout(30)
                line = read_line(self.conn)
                if line:
                    self.conn.sendall(b"echo " + line)
            except OSError:
                pass


def cmd_echo_server(args):
    listeners = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        listeners.append(s)
    emit({"event": "serving", "ports": [s.getsockname()[1] for s in listeners]})
    sys.stdout.close()
    while True:
        r, _, _ = select.select(listeners, [], [])
        for s in r:
            conn, _ = s.accept()
            EchoHandler(conn).start()


def cmd_notify_wait(args):
    path = args[0]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(30)
    print("bound", flush=True)
    msgs = []
    try:
        while True:
            m = s.recv(4096).decode("utf-8", "replace")
            msgs.append(m)
            if "READY=1" in m.split("\n"):
                break
    except socket.timeout:
        emit({"event": "timeout", "messages": msgs})
        sys.exit(1)
    status = ""
    for m in msgs:
        for ln in m.split("\n"):
            if ln.startswith("STATUS="):
                status = ln[7:]
    emit({"event": "ready", "messages": msgs, "status": status,
          "reloading": any("RELOADING=1" in m.split("\n") for m in msgs)})


COMMANDS = {
    "call": (cmd_call, 3),
    "listen-accept": (cmd_listen_accept, 3),
    "tcp-exchange": (cmd_tcp_exchange, 3),
    "connect-to": (cmd_connect_to, 3),
    "create-connect": (cmd_create_connect, 3),
    "resolve-connect": (cmd_resolve_connect, 3),
    "sandboxed": (cmd_sandboxed, 4),
    "ping": (cmd_ping, 1),
    "hammer": (cmd_hammer, 3),
    "echo-server": (cmd_echo_server, 0),
    "notify-wait": (cmd_notify_wait, 1),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    fn, nargs = COMMANDS[sys.argv[1]]
    args = sys.argv[2:]
    if len([a for a in args if not a.startswith("--")]) < nargs:
        print("%s needs %d arguments" % (sys.argv[1], nargs), file=sys.stderr)
        return 2
    try:
        fn(args)
    except (OSError, ProtocolError, ValueError, KeyError, IndexError) as e:
        check("%s ran to its end" % sys.argv[1], False, error="%s: %s" % (type(e).__name__, e))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
