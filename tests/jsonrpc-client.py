#!/usr/bin/env python3
"""A sockbroker client written the way a user outside the team would: the
standard library only, reading nothing but the protocol document.

Usage: jsonrpc-client.py SOCKET_PATH

Runs a series of checks against a running daemon and prints one line per
check, "ok - ..." or "not ok - ...", then "1..N". Exits 1 if any failed.
"""

import array
import itertools
import json
import os
import socket
import sys
import time


class ProtocolError(Exception):
    pass


class Client:
    """Newline-delimited JSON-RPC 2.0 over an AF_UNIX stream socket, with
    descriptors as SCM_RIGHTS (protocol sections 1 and 2)."""

    MAX_FDS = 16

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.pending_fds = []   # descriptors that came with bytes not yet parsed
        self.ids = itertools.count(1)

    def close(self):
        for fd in self.pending_fds:
            os.close(fd)
        self.pending_fds = []
        self.sock.close()

    @staticmethod
    def request(method, params=None, id=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        if id is not None:
            msg["id"] = id
        return msg

    @staticmethod
    def encode(msg):
        # json.dumps escapes control characters, so the text holds no raw
        # newline; compact separators keep it small.
        return json.dumps(msg, separators=(",", ":")).encode("utf-8") + b"\n"

    def send(self, msgs, fds=None):
        """Sends one message (or several, concatenated). Descriptors go with
        one sendmsg() of that message's bytes alone."""
        if isinstance(msgs, dict):
            msgs = [msgs]
        data = b"".join(self.encode(m) for m in msgs)
        if fds:
            sent = socket.send_fds(self.sock, [data], list(fds))
            if sent != len(data):
                self.sock.sendall(data[sent:])
        else:
            self.sock.sendall(data)

    def _fill(self):
        # Room for the largest descriptor set one message may carry.
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
        """Returns the next message as (object, descriptors)."""
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line.decode("utf-8"))
        fds = []
        result = msg.get("result") if isinstance(msg, dict) else None
        if isinstance(result, dict) and isinstance(result.get("fds"), int):
            n = result["fds"]
            fds, self.pending_fds = self.pending_fds[:n], self.pending_fds[n:]
        return msg, fds

    def call(self, method, params=None, fds=None):
        """One request, waiting for its reply (which must be the next one)."""
        rid = next(self.ids)
        self.send(self.request(method, params, rid), fds)
        msg, rfds = self.recv()
        if msg.get("id") != rid:
            raise ProtocolError("reply id %r, expected %r" % (msg.get("id"), rid))
        return msg, rfds


# ---------------------------------------------------------------- checks

results = []


def check(cond, what, detail=None):
    results.append(bool(cond))
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        print("    # " + str(detail)[:2000])
    return bool(cond)


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def main():
    if len(sys.argv) != 2:
        print("usage: jsonrpc-client.py SOCKET_PATH", file=sys.stderr)
        return 2
    path = sys.argv[1]
    c = Client(path)

    # daemon.info
    msg, _ = c.call("daemon.info")
    r = msg.get("result", {})
    check(msg.get("jsonrpc") == "2.0" and "error" not in msg, "daemon.info succeeds", msg)
    check(r.get("protocol") == 1, "daemon.info says protocol 1", r)
    check(isinstance(r.get("version"), str) and isinstance(r.get("pid"), int)
          and isinstance(r.get("uptime"), (int, float)) and isinstance(r.get("families"), list)
          and isinstance(r.get("has_ipv6"), bool) and isinstance(r.get("limits"), dict),
          "daemon.info has version, pid, uptime, families, has_ipv6, limits", r)
    check("AF_UNIX" in r.get("families", []), "daemon.info lists AF_UNIX", r.get("families"))
    daemon_pid = r.get("pid")

    # rpc.discover
    msg, _ = c.call("rpc.discover")
    doc = msg.get("result", {})
    methods = doc.get("methods", [])
    check(isinstance(methods, list) and methods, "rpc.discover returns methods", msg)
    bad = [m.get("name", m) for m in methods
           if not all(k in m for k in ("name", "summary", "params", "result"))]
    check(not bad, "every method has name, summary, params and result", bad)
    names = {m.get("name") for m in methods}
    want = {"daemon.info", "daemon.whoami", "rpc.discover", "daemon.ping"}
    check(want <= names, "rpc.discover lists " + ", ".join(sorted(want)), sorted(names))
    check(all(isinstance(m.get("params"), list) for m in methods),
          "every method's params is a list (OpenRPC)")

    # daemon.whoami
    msg, _ = c.call("daemon.whoami")
    r = msg.get("result", {})
    check(r.get("uid") == os.getuid(), "whoami uid is ours (%d)" % os.getuid(), r)
    check(r.get("gid") == os.getgid(), "whoami gid is ours (%d)" % os.getgid(), r)
    check(r.get("pid") == os.getpid(), "whoami pid is ours (%d)" % os.getpid(), r)
    check(isinstance(r.get("groups"), list), "whoami has groups", r)

    # 50 string ids and 50 integer ids, pipelined in one write.
    reqs = []
    for i in range(50):
        reqs.append(c.request("daemon.ping", id="s-%d" % i))
        reqs.append(c.request("daemon.info" if i % 2 else "daemon.ping", id=1000 + i))
    c.send(reqs)
    replies = {}
    dup = []
    for _ in range(len(reqs)):
        m, _ = c.recv()
        key = (type(m.get("id")).__name__, m.get("id"))
        if key in replies:
            dup.append(key)
        replies[key] = m
    want = {(type(q["id"]).__name__, q["id"]) for q in reqs}
    check(set(replies) == want and not dup,
          "100 pipelined requests (50 string ids, 50 integer ids) all answered, matched by id",
          sorted(set(replies) ^ want, key=str)[:10])
    check(all("result" in m for m in replies.values()), "every pipelined request succeeded")
    check(all(m["result"].get("pong") is True for k, m in replies.items() if k[0] == "str"),
          "string-id replies belong to their daemon.ping requests")

    # A parked request does not hold up the next one.
    t0 = time.monotonic()
    c.send([c.request("daemon.ping", {"delay": 0.2}, id="slow"),
            c.request("daemon.info", id="fast")])
    first, _ = c.recv()
    t_first = time.monotonic() - t0
    second, _ = c.recv()
    t_second = time.monotonic() - t0
    check(first.get("id") == "fast" and "result" in first,
          "daemon.info sent after daemon.ping {delay: 0.2} is answered first (%.3f s)" % t_first,
          first)
    check(second.get("id") == "slow" and second.get("result", {}).get("pong") is True
          and t_second >= 0.19,
          "the delayed ping is answered after its delay (%.3f s)" % t_second, second)

    # Descriptors sent to a method that takes none: -32602, and closed.
    before = fd_count(daemon_pid) if isinstance(daemon_pid, int) else None
    a, b = socket.socketpair()
    try:
        rid = next(c.ids)
        c.send(c.request("daemon.info", {"fds": 1}, rid), fds=[a.fileno()])
        m, _ = c.recv()
    finally:
        a.close()
    err = m.get("error", {})
    check(m.get("id") == rid and err.get("code") == -32602,
          "daemon.info with a descriptor and params {fds: 1} gets -32602", m)
    check(isinstance(err.get("message"), str) and err.get("message"),
          "the error has a message")
    # The daemon closed its copy: with ours closed too, the peer sees EOF.
    b.settimeout(5)
    try:
        eof = b.recv(1) == b""
    except OSError as e:
        eof = e
    b.close()
    check(eof is True, "the daemon closed the descriptor it refused", eof)
    after = fd_count(daemon_pid) if isinstance(daemon_pid, int) else None
    if before is not None and after is not None:
        check(after == before, "the daemon holds as many descriptors as before (%d)" % after,
              (before, after))

    # Two descriptors with a wrong count also get -32602 on the same connection.
    r1, w1 = os.pipe()
    try:
        rid = next(c.ids)
        c.send(c.request("daemon.ping", {"fds": 1}, rid), fds=[r1, w1])
        m, _ = c.recv()
    finally:
        os.close(r1)
        os.close(w1)
    check(m.get("id") == rid and m.get("error", {}).get("code") == -32602,
          "a count that does not match the descriptors gets -32602", m)

    # The connection still works after those errors.
    msg, _ = c.call("daemon.ping")
    check(msg.get("result", {}).get("pong") is True, "the connection still answers afterwards", msg)
    c.close()

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ProtocolError, ValueError, KeyError) as e:
        results.append(False)
        print("not ok - the client stopped: %s: %s" % (type(e).__name__, e))
        print("1..%d" % len(results))
        sys.exit(1)
