#!/usr/bin/env python3
"""Held sockets at their limit (issue 15: "100,000 held sockets"), run by
tests/it_hold_scale.sh as root against a daemon started with --max-held MAX
and a policy that lets root create, adopt, hold and retrieve:

- MAX sockets made and held at once (socket.create with hold, in batches of
  BATCH calls a line); the daemon's descriptors grow by exactly MAX;
- one more, by socket.create with hold and by hold.put of a descriptor:
  -32012 {"limit": "held", "max": MAX}, and the refused descriptor is not
  kept;
- hold.list: total MAX; its default page of 1000, truncated; every name,
  once, read in pages of 10000 (after: the page before's next); max 10001
  and an unknown after refused;
- hold.get of one of them, as a handle and passed: an AF_UNIX datagram
  socket, which sends to a socket of ours;
- every one removed (hold.remove in batches): hold.list is empty and the
  daemon's descriptors are back to what they were before.

Usage: hold_scale.py SOCKET_PATH DAEMON_PID MAX. Prints ok/not ok lines,
"1..N", and how long each step took.
"""

import array
import json
import os
import socket
import subprocess
import stat
import sys
import time

BATCH = 100
results = []


def check(cond, what, detail=None):
    results.append(bool(cond))
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond and detail is not None:
        print("    # " + str(detail)[:2000], flush=True)
    return bool(cond)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Conn:
    """One connection, one line in flight. Replies are gathered in a list of
    chunks (a reply to hold.list of 100,000 names is tens of MB)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        self.rest = b""
        self.id = 0

    def _line(self):
        fds = []
        chunks = [self.rest]
        while b"\n" not in chunks[-1]:
            data, anc, flags, _ = self.s.recvmsg(1 << 20, socket.CMSG_SPACE(16 * 4))
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(cdata[:len(cdata) - len(cdata) % a.itemsize])
                    fds.extend(a)
            if not data:
                raise EOFError("the daemon closed the connection")
            chunks.append(data)
        last = chunks[-1]
        i = last.index(b"\n")
        chunks[-1] = last[:i]
        self.rest = last[i + 1:]
        return json.loads(b"".join(chunks)), fds

    def send(self, obj, fds=None):
        data = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        if fds:
            n = socket.send_fds(self.s, [data], fds)
            data = data[n:]
        if data:
            self.s.sendall(data)

    def call(self, method, params=None, fds=None):
        self.id += 1
        msg = {"jsonrpc": "2.0", "id": self.id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg, fds)
        reply, rfds = self._line()
        if reply.get("id") != self.id:
            raise RuntimeError("reply %r to id %d" % (reply, self.id))
        return reply, rfds

    def batch(self, method, params_list):
        """One batch line; the replies in the order of the calls."""
        first = self.id + 1
        calls = []
        for p in params_list:
            self.id += 1
            calls.append({"jsonrpc": "2.0", "id": self.id, "method": method, "params": p})
        self.send(calls)
        replies, fds = self._line()
        for fd in fds:
            os.close(fd)
        if not isinstance(replies, list):
            return [replies] * len(params_list)
        replies.sort(key=lambda r: r.get("id") or 0)
        if [r.get("id") for r in replies] != list(range(first, self.id + 1)):
            raise RuntimeError("batch replies: %r" % replies[:3])
        return replies


def main():
    path, pid, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    c = Conn(path)
    t = time.monotonic()

    def lap(what):
        nonlocal t
        now = time.monotonic()
        print("# %-40s %6.2f s" % (what, now - t), flush=True)
        t = now

    m, _ = c.call("hold.list")
    check(m.get("result", {}).get("total") == 0, "nothing is held at the start", m)
    # Once the daemon has accepted this connection and its first call made
    # the caller's pidfd.
    fds0 = fd_count(pid)

    bad = []
    for start in range(0, limit, BATCH):
        n = min(BATCH, limit - start)
        rs = c.batch("socket.create", [{"family": "AF_UNIX", "type": "SOCK_DGRAM", "hold": "s%06d" % i}
                                       for i in range(start, start + n)])
        bad.extend(r for r in rs if r.get("result", {}).get("held") is None)
        if len(bad) > 3:
            break
    check(not bad, "%d sockets made and held (socket.create with hold, %d a batch)" % (limit, BATCH), bad[:3])
    fds1 = fd_count(pid)
    check(fds1 - fds0 == limit, "the daemon holds one descriptor more for each (%d -> %d)" % (fds0, fds1))
    lap("socket.create with hold x %d" % limit)

    m, _ = c.call("socket.create", {"family": "AF_UNIX", "type": "SOCK_DGRAM", "hold": "one-more"})
    want = {"limit": "held", "max": limit}
    check(m.get("error", {}).get("code") == -32012 and m["error"].get("data") == want,
          "one more by socket.create with hold: -32012 %s" % json.dumps(want), m)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    m, _ = c.call("hold.put", {"name": "one-more", "fds": 1}, fds=[u.fileno()])
    check(m.get("error", {}).get("code") == -32012 and m["error"].get("data") == want,
          "one more by hold.put of a descriptor: -32012 %s" % json.dumps(want), m)
    check(fd_count(pid) == fds1, "the refused sockets are not kept (%d descriptors)" % fd_count(pid))
    u.close()

    m, _ = c.call("hold.list")
    r = m.get("result", {})
    check(r.get("total") == limit and r.get("truncated") is (limit > 1000)
          and len(r.get("held", [])) == min(limit, 1000),
          "hold.list: total %d, the first %d%s" % (limit, min(limit, 1000), ", truncated" if limit > 1000 else ""),
          {k: v for k, v in r.items() if k != "held"})
    lap("hold.list (1000)")
    # Every name, page by page (max 10000 at most; `next` is the cursor).
    names, params, pages, err = [], {"max": 10000}, 0, None
    while True:
        m, _ = c.call("hold.list", params)
        r = m.get("result", {})
        if "error" in m or r.get("total") != limit:
            err = m.get("error") or {k: v for k, v in r.items() if k != "held"}
            break
        names.extend(e.get("name") for e in r.get("held", []))
        pages += 1
        if not r.get("truncated"):
            check("next" not in r, "the last page has no next", r.get("next"))
            break
        params = {"max": 10000, "after": r.get("next")}
    check(err is None and len(names) == limit and set(names) == {"s%06d" % i for i in range(limit)},
          "hold.list by pages of 10000 (%d pages): every name once" % pages, err)
    lap("hold.list (%d pages)" % pages)
    # sockbrokerctl hold list reads every page.
    sbctl = os.environ.get("SBCTL")
    if sbctl and os.access(sbctl, os.X_OK):
        out = subprocess.run([sbctl, "-s", path, "hold", "list"], capture_output=True, text=True, timeout=120)
        rows = out.stdout.splitlines()[1:]
        check(out.returncode == 0 and len(rows) == limit and len(set(r.split()[0] for r in rows)) == limit,
              "sockbrokerctl hold list shows all %d, every page" % limit, (out.returncode, len(rows), out.stderr[-500:]))
    m, _ = c.call("hold.list", {"max": 10001})
    check(m.get("error", {}).get("code") == -32602, "hold.list max 10001: -32602", m.get("error"))
    m, _ = c.call("hold.list", {"after": "no such name"})
    check(m.get("error", {}).get("code") == -32014, "hold.list after a name not held: -32014", m.get("error"))

    name = "s%06d" % (limit // 2)
    m, _ = c.call("hold.get", {"name": name})
    check(isinstance(m.get("result", {}).get("handle"), int), "hold.get %s: a handle" % name, m)
    m, fds = c.call("hold.get", {"name": name, "pass": True})
    ok = check(len(fds) == 1 and stat.S_ISSOCK(os.fstat(fds[0]).st_mode), "hold.get %s pass: a socket" % name, m)
    if ok:
        s = socket.socket(fileno=fds[0])
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        peer.bind("\0hold_scale-%d" % os.getpid())
        s.sendto(b"x", peer.getsockname())
        peer.settimeout(10)
        check(s.family == socket.AF_UNIX and s.type == socket.SOCK_DGRAM and peer.recv(1) == b"x",
              "it is an AF_UNIX datagram socket that sends")
        s.close()
        peer.close()
    m, _ = c.call("hold.list", {"max": 1})
    check(m.get("result", {}).get("total") == limit, "a get leaves it held", m)

    bad = []
    for start in range(0, limit, BATCH):
        n = min(BATCH, limit - start)
        rs = c.batch("hold.remove", [{"name": "s%06d" % i} for i in range(start, start + n)])
        bad.extend(r for r in rs if "result" not in r)
        if len(bad) > 3:
            break
    check(not bad, "every one removed", bad[:3])
    lap("hold.remove x %d" % limit)
    m, _ = c.call("hold.list")
    check(m.get("result", {}).get("total") == 0, "hold.list is empty", m)
    fds2 = fd_count(pid)
    # The handle hold.get made is this connection's: one descriptor more.
    check(fds2 == fds0 + 1, "the daemon's descriptors are back (%d, %d before and one handle)" % (fds2, fds0))
    c.s.close()

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
