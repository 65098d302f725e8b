#!/usr/bin/env python3
"""bench_restart: daemon.restart with many held sockets, in one run.

For each count (0, the baseline, then --held N, default 10,000) a fresh
daemon is started, that many UDP sockets are put with hold.put (each made
here and passed with SCM_RIGHTS, then closed here), and daemon.restart is
called. Printed for each:

- ready: the seconds the daemon itself reports (fork to the new process's
  'R'), and the round trip of daemon.restart as the caller sees it;
- first retrieve: from sending daemon.restart until a hold.get with pass on
  a new connection to the new process returns a descriptor;
- lost: held names before minus held names after (hold.list), and how many
  retrieved sockets are not the same inode as before (a sample of 100);

then the ratio of each time against the baseline, and whether the targets
hold (0 lost, ready in under 1 s). Nothing is asserted: it prints.

Usage: bench_restart.py [--held N] [DAEMON]   (DAEMON: $SBD or
./daemon/sockbrokerd). Needs RLIMIT_NOFILE above N (raised here if it may be).
"""

import argparse
import array
import json
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.fds = []
        self.id = 0

    def send(self, method, params=None, fds=None):
        self.id += 1
        msg = {"jsonrpc": "2.0", "id": self.id, "method": method}
        if params is not None:
            msg["params"] = params
        data = json.dumps(msg, separators=(",", ":")).encode() + b"\n"
        if fds:
            socket.send_fds(self.s, [data], fds)
        else:
            self.s.sendall(data)

    def recv(self):
        while b"\n" not in self.buf:
            data, anc, _, _ = self.s.recvmsg(1 << 20, socket.CMSG_SPACE(64 * 4))
            for lvl, typ, cdata in anc:
                if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(cdata[: len(cdata) - len(cdata) % 4])
                    self.fds.extend(a)
            if not data:
                raise EOFError("the daemon closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, method, params=None, fds=None):
        self.send(method, params, fds)
        return self.recv()

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.s.close()


def start(exe, d, n):
    sock = os.path.join(d, "c.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(os.path.join(d, "notify.sock"))
    os.makedirs(os.path.join(d, "policy.d"), exist_ok=True)
    os.makedirs(os.path.join(d, "sockets.d"), exist_ok=True)
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(d, "notify.sock"))
    log = open(os.path.join(d, "log"), "ab")
    p = subprocess.Popen([exe, "--socket", sock, "--policy", os.path.join(d, "policy.d"), "--sockets",
                          os.path.join(d, "sockets.d"), "--max-held", str(max(n, 1) * 2),
                          "--max-pending", "4096", "--log-level", "warning"],
                         env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([notify], [], [], deadline - time.monotonic())
        if r and b"READY=1" in notify.recv(4096):
            # From here the socket is read as systemd reads it, at once (the
            # descriptors stored there are closed by the kernel, unread):
            # a full queue would make the daemon wait for it.
            threading.Thread(target=drain, args=(notify,), daemon=True).start()
            return p, sock, notify
    raise SystemExit("the daemon did not start")


def drain(notify):
    while True:
        try:
            if not notify.recv(65536):
                return
        except OSError:
            return


def run(exe, n):
    d = tempfile.mkdtemp(prefix="bench_restart.")
    p, sock, notify = start(exe, d, n)
    try:
        c = Client(sock)
        # Pipelined puts: up to 256 in flight.
        sent = got = 0
        while got < n:
            while sent < n and sent - got < 256:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                c.send("hold.put", {"name": "s%d" % sent, "fds": 1}, [s.fileno()])
                s.close()
                sent += 1
            m = c.recv()
            if "error" in m:
                raise SystemExit("hold.put failed: %r" % m)
            got += 1
        sample = ["s%d" % i for i in range(0, n, max(1, n // 100))] if n else []
        before = {}
        for name in sample:
            m = c.call("hold.get", {"name": name, "pass": True})
            fd = c.fds.pop()
            st = os.fstat(fd)
            before[name] = (st.st_dev, st.st_ino)
            os.close(fd)
        t0 = time.monotonic()
        c.send("daemon.restart")
        m = c.recv()
        t_reply = time.monotonic() - t0
        if "error" in m:
            raise SystemExit("daemon.restart failed: %r" % m)
        reported = m["result"]["seconds"]
        new_pid = m["result"]["pid"]
        c.close()
        # The first retrieve on the new process.
        first = None
        while first is None:
            try:
                c2 = Client(sock)
                m = c2.call("hold.get", {"name": "s0" if n else "none", "pass": bool(n)})
                if n == 0 or c2.fds:
                    first = time.monotonic() - t0
                c2.close()
            except (OSError, EOFError):
                pass
        c3 = Client(sock)
        m = c3.call("hold.list", {"max": 1})
        after = m["result"]["total"]
        changed = 0
        for name, ino in before.items():
            m = c3.call("hold.get", {"name": name, "pass": True})
            if not c3.fds:
                changed += 1
                continue
            fd = c3.fds.pop()
            st = os.fstat(fd)
            changed += (st.st_dev, st.st_ino) != ino
            os.close(fd)
        c3.close()
        os.kill(new_pid, 15)
        p.wait(timeout=30)
        deadline = time.monotonic() + 30
        while os.path.exists("/proc/%d" % new_pid) and time.monotonic() < deadline:
            time.sleep(0.01)  # not our child: no wait(2) for it
        return {"held": n, "reported": reported, "reply": t_reply, "first": first, "lost": n - after,
                "changed": changed, "sampled": len(before)}
    finally:
        notify.close()
        if p.poll() is None:
            p.kill()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--held", type=int, default=10000)
    ap.add_argument("daemon", nargs="?", default=os.environ.get("SBD", "./daemon/sockbrokerd"))
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.held + 1024
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
        except (ValueError, OSError):
            print("cannot raise RLIMIT_NOFILE to %d (is %d/%d): run as root or lower --held" % (want, soft, hard))
            return 1
    base = run(a.daemon, 0)
    big = run(a.daemon, a.held)
    print("bench_restart: daemon.restart, fresh daemon each, one run")
    print("%-8s %14s %14s %16s %6s %12s" % ("held", "ready (daemon)", "reply (caller)", "first retrieve", "lost",
                                            "inode moved"))
    for r in (base, big):
        print("%-8d %12.1f ms %12.1f ms %14.1f ms %6d %6d of %d" % (
            r["held"], r["reported"] * 1e3, r["reply"] * 1e3, r["first"] * 1e3, r["lost"], r["changed"], r["sampled"]))
    print("ratio %d held / baseline: ready %.1fx, reply %.1fx, first retrieve %.1fx" % (
        a.held, big["reported"] / base["reported"], big["reply"] / base["reply"], big["first"] / base["first"]))
    ok_lost = big["lost"] == 0 and big["changed"] == 0
    ok_ready = big["reply"] < 1.0
    print("target 0 lost: %s; target ready in under 1 s: %s (%.3f s)" % (
        "met" if ok_lost else "NOT met", "met" if ok_ready else "NOT met", big["reply"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
