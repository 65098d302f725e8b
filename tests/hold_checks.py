#!/usr/bin/env python3
"""Held sockets over the control socket (issue 15, piece A), run as root by
tests/it_hold.sh against a daemon started with --max-held MAX and a policy
where root may do everything and nobody (uid 65534) may hold and retrieve
the names "pub-*" only:

- a listener held by one client and retrieved by another after the first
  disconnected: the same socket (inode by fstat), and it still accepts;
- a descriptor put with fds: 1 comes back as the same socket;
- bad input: empty, 201-byte, '/', leading '.', NUL names; a duplicate name
  (-32013); a non-socket descriptor (-32602); handle and descriptor at once;
  an unknown name (-32014);
- the policy: nobody refused "web" (-32010, audited), allowed "pub-x" as a
  handle but not passed (no explicit create), seeing only "pub-x" in
  hold.list;
- hold.list's fields, take, remove, expiry, a held connected socket whose
  peer resets (read against a plain socket reset the same way), and the
  limit at MAX (-32012 {"limit":"held"});
- with HTTP_SOCKET (the daemon's --http unix: listener): POST /rpc refuses
  hold.put, hold.get and hold.take (with and without pass) with -32600, and
  serves hold.list and hold.remove.

Usage: hold_checks.py SOCKET_PATH MAX [HTTP_SOCKET]. Prints ok/not ok lines
and "1..N".
"""

import errno
import importlib.util
import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("jsonrpc_client", os.path.join(HERE, "jsonrpc-client.py"))
jc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(jc)

results = []


def check(cond, what, detail=None):
    results.append(bool(cond))
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        print("    # " + str(detail)[:2000])
    return bool(cond)


def code(msg):
    return msg.get("error", {}).get("code")


def ino(fd):
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino)


def as_nobody(path, requests):
    """Runs requests [(method, params)] as uid 65534 in a child; their replies."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            c = jc.Client(path)
            out = []
            for m, p in requests:
                msg, fds = c.call(m, p)
                for fd in fds:
                    os.close(fd)
                out.append(msg)
            os.write(w, jc.json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        data += b
    os.close(r)
    os.waitpid(pid, 0)
    return jc.json.loads(data)


def http_checks(c2, http):
    """POST /rpc on the HTTP face (unix:, so the caller is root, the peer):
    the methods that take or may return descriptors are refused as every such
    method is there (docs/held.md, docs/http.md), hold.list and hold.remove
    work."""
    sys.path.insert(0, HERE)
    import http_client

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    m, _ = c2.call("hold.put", {"fds": 1, "name": "http-x"}, fds=[u.fileno()])
    u.close()
    check("result" in m, "held for the HTTP checks", m)

    def rpc(method, params):
        st, _, d, _ = http_client.request("unix:" + http, "POST", "/rpc",
                                          {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        return st, d

    for method, params in (("hold.put", {"name": "http-y", "handle": 1}), ("hold.put", {"name": "http-y", "fds": 1}),
                           ("hold.get", {"name": "http-x"}), ("hold.get", {"name": "http-x", "pass": True}),
                           ("hold.take", {"name": "http-x"}), ("hold.take", {"name": "http-x", "pass": True})):
        st, d = rpc(method, params)
        err = d.get("error", {}) if isinstance(d, dict) else {}
        check(st == 200 and err.get("code") == -32600 and err.get("data") == {"method": method, "use": "control socket"}
              and "only the control socket" in err.get("message", ""),
              "POST /rpc %s %s: -32600, use the control socket" % (method, json_compact(params)), (st, d))
    st, d = rpc("hold.list", {})
    names = [e.get("name") for e in d.get("result", {}).get("held", [])] if isinstance(d, dict) else []
    check(st == 200 and "http-x" in names, "POST /rpc hold.list works (and hold.take left it held)", (st, d))
    st, d = rpc("hold.remove", {"name": "http-x"})
    check(st == 200 and d.get("result") == {}, "POST /rpc hold.remove works", (st, d))
    m, _ = c2.call("hold.get", {"name": "http-x"})
    check(code(m) == -32014, "removed over HTTP, it is gone from the control socket too", m)
    st, d = rpc("hold.remove", {"name": "http-x"})
    check(st == 200 and d.get("error", {}).get("code") == -32014, "POST /rpc hold.remove of a name not held: -32014",
          (st, d))


def json_compact(o):
    return jc.json.dumps(o, separators=(",", ":"))


def main():
    path, limit = sys.argv[1], int(sys.argv[2])
    http = sys.argv[3] if len(sys.argv) > 3 else None

    # A listener, held by c1, which then goes.
    c1 = jc.Client(path)
    m, _ = c1.call("socket.listen_on", {"address": ["127.0.0.1", 0]})
    h = m["result"]["handle"]
    local = m["result"]["local"]
    port = local["port"] if isinstance(local, dict) else local[1]
    m, fds = c1.call("socket.fd", {"handle": h})
    first = ino(fds[0])
    os.close(fds[0])
    m, _ = c1.call("hold.put", {"name": "web", "handle": h})
    r = m.get("result", {})
    check(r.get("name") == "web" and r.get("family") == "AF_INET" and r.get("type") == "SOCK_STREAM"
          and r.get("local") == local and r.get("owner", {}).get("uid") == 0,
          "hold.put of a handle: kind, local address and owner read back", m)
    c1.close()

    c2 = jc.Client(path)
    m, fds = c2.call("hold.get", {"name": "web", "pass": True})
    ok = check(len(fds) == 1 and m.get("result", {}).get("fds") == 1, "hold.get pass: one descriptor", m)
    if ok:
        check(ino(fds[0]) == first, "the retrieved descriptor is the held socket (same inode)")
        ls = socket.socket(fileno=fds[0])
        ls.settimeout(10)
        cl = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn, _ = ls.accept()
        cl.sendall(b"hi")
        check(conn.recv(2) == b"hi", "the listener held after its client left still accepts")
        conn.close()
        cl.close()
        ls.close()
    m, _ = c2.call("hold.get", {"name": "web"})
    check(isinstance(m.get("result", {}).get("handle"), int), "hold.get without pass: a handle", m)

    # A descriptor of the caller's own.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    m, _ = c2.call("hold.put", {"fds": 1, "name": "udp1"}, fds=[u.fileno()])
    check(m.get("result", {}).get("proto") == "IPPROTO_UDP", "hold.put with fds: 1", m)
    m, fds = c2.call("hold.get", {"name": "udp1", "pass": True})
    check(len(fds) == 1 and ino(fds[0]) == ino(u.fileno()), "a descriptor put comes back the same socket", m)
    for fd in fds:
        os.close(fd)

    # Bad input.
    for name, what in (("", "empty"), ("x" * 201, "201 bytes"), ("a/b", "'/'"), (".x", "a leading '.'"),
                       ("a\u0000b", "NUL")):
        m, _ = c2.call("hold.put", {"fds": 1, "name": name}, fds=[u.fileno()])
        check(code(m) == -32602 and m["error"].get("data", {}).get("param") == "name",
              "hold.put of a name with %s: -32602 on name" % what, m)
    m, _ = c2.call("hold.put", {"fds": 1, "name": "x" * 200}, fds=[u.fileno()])
    check("result" in m, "a 200-byte name is taken", m)
    c2.call("hold.remove", {"name": "x" * 200})
    m, _ = c2.call("hold.put", {"fds": 1, "name": "web"}, fds=[u.fileno()])
    check(code(m) == -32013 and m["error"].get("data") == {"name": "web"}, "a duplicate name: -32013", m)
    pr, pw = os.pipe()
    m, _ = c2.call("hold.put", {"fds": 1, "name": "pipe"}, fds=[pr])
    check(code(m) == -32602 and "not a socket" in m["error"]["message"], "a non-socket descriptor: -32602", m)
    os.close(pr)
    os.close(pw)
    m, _ = c2.call("hold.put", {"fds": 1, "name": "both", "handle": 1}, fds=[u.fileno()])
    check(code(m) == -32602, "a handle and a descriptor at once: -32602", m)
    m, _ = c2.call("hold.put", {"name": "none"})
    check(code(m) == -32602, "neither a handle nor a descriptor: -32602", m)
    m, _ = c2.call("hold.get", {"name": "nope"})
    check(code(m) == -32014 and m["error"].get("data") == {"name": "nope"}, "an unknown name: -32014", m)

    # hold.list.
    m, _ = c2.call("hold.list")
    held = {e["name"]: e for e in m.get("result", {}).get("held", [])}
    w = held.get("web", {})
    check(set(held) == {"web", "udp1"} and w.get("retrievals") == 2 and w.get("local") == local
          and isinstance(w.get("put"), float) and w.get("expires") is None and w["owner"]["pid"] > 0,
          "hold.list: names, retrievals, local address, put time, owner", m)

    # The policy, as nobody.
    pub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    m, _ = c2.call("hold.put", {"fds": 1, "name": "pub-x"}, fds=[pub.fileno()])
    got = as_nobody(path, [("hold.get", {"name": "web"}), ("hold.get", {"name": "pub-x"}),
                           ("hold.get", {"name": "pub-x", "pass": True}), ("hold.get", {"name": "pub-none"}),
                           ("hold.list", {}), ("hold.remove", {"name": "web"})])
    check(code(got[0]) == -32010 and "retrieve of \"web\"" in got[0]["error"]["data"]["reason"],
          "nobody may not retrieve \"web\": -32010 naming it", got[0])
    check(isinstance(got[1].get("result", {}).get("handle"), int), "nobody retrieves \"pub-x\" as a handle", got[1])
    check(code(got[2]) == -32010 and "create" in got[2]["error"]["data"]["reason"],
          "passed, it is a hand-out: refused without an explicit create grant", got[2])
    check(code(got[3]) == -32014, "a name nobody may retrieve but nothing holds: -32014", got[3])
    check([e["name"] for e in got[4].get("result", {}).get("held", [])] == ["pub-x"],
          "nobody's hold.list shows only \"pub-x\"", got[4])
    check(code(got[5]) == -32010, "nobody may not remove \"web\"", got[5])
    m, _ = c2.call("policy.check", {"as": {"uid": 65534}, "request": {"method": "hold.get", "params": {
        "name": "pub-x", "pass": True, "family": "AF_INET", "type": "SOCK_DGRAM"}}})
    ck = m.get("result", {}).get("checks", [])
    check(m.get("result", {}).get("allowed") is False and [(c["action"], c["allowed"]) for c in ck]
          == [("retrieve", True), ("create", False)] and ck[0].get("name") == "pub-x",
          "policy.check of nobody's passed hold.get: the same two questions, the same answers", m)
    m, _ = c2.call("admin.audit", {"limit": 1000})
    denied = [r for r in m.get("result", {}).get("records", [])
              if r.get("decision") == "deny" and r.get("method") == "hold.get" and r.get("uid") == 65534]
    check(any(r.get("name") == "web" and r.get("action") == "retrieve" for r in denied)
          and any(r.get("action") == "create" for r in denied), "the refusals are audited", m.get("result", {}).get("records", [])[-5:])

    # take and remove.
    m, fds = c2.call("hold.take", {"name": "web", "pass": True})
    check(len(fds) == 1 and ino(fds[0]) == first, "hold.take pass: the socket itself", m)
    for fd in fds:
        os.close(fd)
    m, _ = c2.call("hold.get", {"name": "web"})
    check(code(m) == -32014, "taken, it is held no longer", m)
    m, _ = c2.call("hold.remove", {"name": "udp1"})
    check("result" in m, "hold.remove", m)
    m, _ = c2.call("hold.remove", {"name": "udp1"})
    check(code(m) == -32014, "hold.remove twice: -32014", m)

    # Expiry: the daemon's own clock, waited on with daemon.ping's delay.
    m, _ = c2.call("hold.put", {"fds": 1, "name": "tmp", "expires": 0.2}, fds=[u.fileno()])
    check(isinstance(m.get("result", {}).get("expires"), float), "hold.put with expires shows when", m)
    c2.call("daemon.ping", {"delay": 0.5})
    m, _ = c2.call("hold.get", {"name": "tmp"})
    check(code(m) == -32014, "an expired socket is gone", m)
    m, _ = c2.call("hold.put", {"fds": 1, "name": "tmp", "expires": 1e9}, fds=[u.fileno()])
    check(code(m) == -32602, "expires past a year: -32602", m)

    # A held connected socket whose peer resets it (SO_LINGER 0, then close:
    # an RST), against the same on a plain socket of ours.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)

    def reset_pair():
        cs = socket.create_connection(srv.getsockname())
        peer, _ = srv.accept()
        return cs, peer

    def rst(peer):
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()

    def two_reads(s):
        """What two blocking recv calls give: an errno name or the bytes."""
        s.setblocking(True)
        s.settimeout(10)
        got = []
        for _ in range(2):
            try:
                got.append(s.recv(1))
            except OSError as e:
                got.append(errno.errorcode.get(e.errno, str(e)))
        return got

    cs, peer = reset_pair()
    m, _ = c2.call("hold.put", {"fds": 1, "name": "conn"}, fds=[cs.fileno()])
    conn_local = m.get("result", {}).get("local")
    cs.close()
    rst(peer)
    plain, ppeer = reset_pair()
    rst(ppeer)
    want = two_reads(plain)
    plain.close()
    check(want == ["ECONNRESET", b""], "a plain socket reset by its peer: ECONNRESET, then end of file", want)
    m, _ = c2.call("hold.list")
    e = [x for x in m.get("result", {}).get("held", []) if x.get("name") == "conn"]
    check(len(e) == 1 and e[0].get("local") == conn_local and e[0].get("type") == "SOCK_STREAM",
          "reset by its peer, the held connection is still listed as it was", m)
    m, fds = c2.call("hold.get", {"name": "conn", "pass": True})
    got = None
    if check(len(fds) == 1, "and hold.get hands it out", m):
        s = socket.socket(fileno=fds[0])
        got = two_reads(s)
        s.close()
    check(got == want, "a held connection reset by its peer reads as the plain one: %s" % want, got)
    srv.close()
    m, _ = c2.call("hold.list")
    check(m.get("result", {}).get("total") == 2, "the daemon goes on (hold.list)", m)

    # Made and held at once: socket.listen_on and socket.create with hold.
    m, _ = c2.call("socket.listen_on", {"address": ["127.0.0.1", 0], "hold": "lh"})
    r = m.get("result", {})
    check(r.get("held") == "lh" and "handle" not in r and r.get("local"), "socket.listen_on with hold: held, no handle", m)
    c3 = jc.Client(path)
    m, fds = c3.call("hold.get", {"name": "lh", "pass": True})
    if check(len(fds) == 1, "a listener made held is retrieved", m):
        ls = socket.socket(fileno=fds[0])
        ls.settimeout(10)
        cl = socket.create_connection(ls.getsockname(), timeout=10)
        conn, _ = ls.accept()
        check(conn.getpeername() == cl.getsockname(), "and it accepts")
        conn.close()
        cl.close()
        ls.close()
    c3.close()
    m, _ = c2.call("socket.listen_on", {"address": ["127.0.0.1", 0], "hold": "lh"})
    check(code(m) == -32013, "socket.listen_on holding a name held: -32013", m)
    m, _ = c2.call("socket.listen_on", {"address": ["127.0.0.1", 0], "hold": "x", "pass": True})
    check(code(m) == -32602 and m["error"].get("data", {}).get("param") == "hold", "hold and pass at once: -32602", m)
    m, _ = c2.call("socket.create", {"family": "AF_INET", "type": "SOCK_DGRAM", "hold": "a/b"})
    check(code(m) == -32602 and m["error"].get("data", {}).get("param") == "hold", "socket.create with a bad hold name", m)
    m, _ = c2.call("socket.create", {"family": "AF_INET", "type": "SOCK_DGRAM", "hold": "ch"})
    check(m.get("result", {}).get("held") == "ch", "socket.create with hold", m)
    got = as_nobody(path, [("socket.listen_on", {"address": ["127.0.0.1", 0], "hold": "pub-l"})])
    check(code(got[0]) == -32010, "nobody may not listen to hold one", got[0])
    for n in ("lh", "ch"):
        c2.call("hold.remove", {"name": n})

    if http:
        http_checks(c2, http)

    # The limit.
    m, _ = c2.call("hold.list")
    n = m["result"]["total"]
    for i in range(limit - n):
        m, _ = c2.call("hold.put", {"fds": 1, "name": "fill-%d" % i}, fds=[u.fileno()])
    check("result" in m, "held up to --max-held", m)
    m, _ = c2.call("hold.put", {"fds": 1, "name": "one-more"}, fds=[u.fileno()])
    check(code(m) == -32012 and m["error"].get("data") == {"limit": "held", "max": limit},
          "past --max-held: -32012 {\"limit\":\"held\"}", m)
    c2.call("hold.remove", {"name": "fill-0"})
    m, _ = c2.call("hold.put", {"fds": 1, "name": "one-more"}, fds=[u.fileno()])
    check("result" in m, "room again once one is removed", m)
    c2.close()

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
