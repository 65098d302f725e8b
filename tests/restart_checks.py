#!/usr/bin/env python3
"""daemon.restart, SIGUSR2 and sockbrokerctl restart (issue 15), run as root by
tests/it_restart.sh. This script starts the daemon itself, from a copy of the
binary in DIR (so that the tests can replace, remove or break the binary a
restart runs), plays systemd's notify side on a NOTIFY_SOCKET of its own, and
checks, against the kernel (fstat of retrieved descriptors):

- held sockets (a listener with a connection waiting in its backlog, a
  connected TCP socket, a UDP socket, a UNIX socketpair half, one with an
  expiry), declared sockets (TCP and UNIX) and the HTTP face's UNIX listener
  are the same sockets (same inode) after a restart, with their names,
  owners, put times, retrievals and expiry;
- connections made while the restart runs (control socket, held listener,
  declared listeners, HTTP) wait in their backlogs and are served after;
- a parked call (daemon.ping with a delay) is cancelled with an error that
  says the daemon restarted; other clients see their connection close;
- the new process sends READY=1 and the old one MAINPID=<new pid>;
- nobody may not restart (-32010);
- a binary that exits at once, one that is missing, one that never gets
  ready (--restart-timeout 1) and a policy the new process cannot load each
  leave the old daemon serving, with its paths, its held sockets, and the
  requests that waited meanwhile answered; a second restart while one runs
  is refused;
- an upgrade (a new file at the binary's path) runs the new file;
- SIGUSR2 and `sockbrokerctl restart [--json]` restart too;
- after all of it, the daemon stops cleanly and removes every path.

Usage: restart_checks.py SBD SBCTL DIR. Prints ok/not ok lines and "1..N".
"""

import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("jsonrpc_client", os.path.join(HERE, "jsonrpc-client.py"))
jc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(jc)

results = []


def check(cond, what, detail=None):
    results.append(bool(cond))
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond and detail is not None:
        print("    # " + str(detail)[:3000], flush=True)
    return bool(cond)


def ino(fd):
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino)


def path_ino(p):
    st = os.lstat(p)
    return (st.st_dev, st.st_ino)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Notify:
    """systemd's side of sd_notify: a datagram socket read at once, as
    systemd reads it (a thread), and what came on it."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []
        self.all = []
        self.seq = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                # Descriptors sent to the store are not wanted here: with no
                # room for them the kernel closes them.
                data = self.sock.recv(65536)
            except OSError:
                return
            m = dict(l.split("=", 1) for l in data.decode("utf-8", "replace").split("\n") if "=" in l)
            with self.cond:
                self.seq += 1
                m["_seq"] = self.seq
                self.msgs.append(m)
                self.all.append(m)
                self.cond.notify_all()

    def wait_for(self, pred, timeout=30):
        """The first message (a dict of its assignments) pred accepts, among
        those not yet consumed; None after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, m in enumerate(self.msgs):
                    if pred(m):
                        del self.msgs[i]
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def http_get(path, target="/healthz", sock=None):
    s = sock or socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    if sock is None:
        s.connect(path)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % target).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data.split(b"\r\n", 1)[0].decode()


def main():
    if len(sys.argv) != 4:
        print("usage: restart_checks.py SBD SBCTL DIR", file=sys.stderr)
        return 2
    sbd_orig, sbctl, d = sys.argv[1:]
    exe = os.path.join(d, "sockbrokerd")
    shutil.copy2(sbd_orig, exe)
    ctl_path = os.path.join(d, "control.sock")
    http_path = os.path.join(d, "http.sock")
    du_path = os.path.join(d, "declared.sock")
    os.makedirs(os.path.join(d, "policy.d"), exist_ok=True)
    os.makedirs(os.path.join(d, "sockets.d"), exist_ok=True)
    policy = os.path.join(d, "policy.d", "policy.json")
    good_policy = json.dumps({"version": 1, "rules": [
        {"name": "root", "match": {"uid": 0},
         "allow": [{"action": a} for a in ("create", "adopt", "admin", "hold", "retrieve")] +
                  [{"action": a, "address": "127.0.0.1/32"} for a in ("bind", "listen", "connect")]},
        {"name": "nobody", "match": {"uid": 65534},
         "allow": [{"action": "retrieve", "name": "pub-*"}]}]})
    with open(policy, "w") as f:
        f.write(good_policy)
    with open(os.path.join(d, "sockets.d", "s.json"), "w") as f:
        json.dump({"version": 1, "sockets": [
            {"name": "dweb", "address": "tcp:127.0.0.1:0", "backlog": 64},
            {"name": "dunix", "address": "unix:" + du_path, "mode": "0666"}]}, f)
    notify = Notify(os.path.join(d, "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        env.pop(k, None)
    log = open(os.path.join(d, "daemon.log"), "ab")
    first = subprocess.Popen([exe, "--socket", ctl_path, "--policy", os.path.join(d, "policy.d"),
                              "--sockets", os.path.join(d, "sockets.d"), "--http", "unix:" + http_path,
                              "--restart-timeout", "2", "--socket-mode", "0666"],
                             env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    pids = [first.pid]   # every daemon process this test made, for the end
    ready = notify.wait_for(lambda m: m.get("READY") == "1")
    if not check(ready is not None, "the daemon started (READY=1)"):
        first.kill()
        return 1

    def current_pid():
        c = jc.Client(ctl_path)
        m, _ = c.call("daemon.info")
        c.close()
        return m["result"]["pid"]

    try:
        run_checks(d, exe, sbd_orig, sbctl, ctl_path, http_path, du_path, policy, good_policy, notify, first, pids,
                   current_pid)
    finally:
        # Stop whatever daemon serves now; it removes its paths.
        try:
            pid = current_pid()
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
                if pid == first.pid:
                    first.wait(timeout=20)
                    break
                time.sleep(0.05)  # polling a process that is not our child: no wait(2) for it
            gone = not os.path.exists("/proc/%d/status" % pid) or "zombie" in open("/proc/%d/status" % pid).read()
            check(gone, "the last daemon (pid %d) stops on SIGTERM" % pid)
            check(not os.path.exists(ctl_path) and not os.path.exists(http_path) and not os.path.exists(du_path),
                  "it removed the control, HTTP and declared UNIX paths",
                  [p for p in (ctl_path, http_path, du_path) if os.path.exists(p)])
        except Exception as e:  # noqa: BLE001 - reported as a failure
            check(False, "stopping the last daemon", repr(e))
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    print("1..%d" % len(results))
    return 0 if all(results) else 1


def restarts_begun(d):
    """How many restarts the daemon's log says began."""
    with open(os.path.join(d, "daemon.log"), errors="replace") as f:
        return f.read().count("restart: running ")


def run_checks(d, exe, sbd_orig, sbctl, ctl_path, http_path, du_path, policy, good_policy, notify, first, pids,
               current_pid):
    root = jc.Client(ctl_path)

    def call(m, p=None, fds=None, c=None):
        return (c or root).call(m, p, fds)

    # ---- what is held before ----
    msg, _ = call("socket.listen_on", {"address": {"host": "127.0.0.1", "port": 0}, "backlog": 64, "hold": "lis"})
    lis_port = msg["result"]["local"]["port"]
    peer_srv = socket.socket()
    peer_srv.bind(("127.0.0.1", 0))
    peer_srv.listen()
    tcp = socket.create_connection(peer_srv.getsockname())
    tcp_peer, _ = peer_srv.accept()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    ua, ub = socket.socketpair()
    # The longest name, every byte of it escaped in its descriptor name.
    long_name = "\u00e9" * 100
    uc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    puts = [("pub-tcp", tcp, None), ("pub-udp", udp, None), ("unix half", ua, None), ("exp", ub, 3600.0),
            (long_name, uc, None)]
    for name, s, exp in puts:
        p = {"name": name, "fds": 1}
        if exp:
            p["expires"] = exp
        m, _ = call("hold.put", p, fds=[s.fileno()])
        check("result" in m, "hold.put %s" % name[:20], m)
    names = ["lis", "pub-tcp", "pub-udp", "unix half", "exp", long_name, "dweb", "dunix"]
    before = {}
    for n in names:
        m, fds = call("hold.get", {"name": n, "pass": True})
        if check(len(fds) == 1, "hold.get %s passes its descriptor" % n[:20], m):
            before[n] = ino(fds[0])
            os.close(fds[0])
    m, _ = call("hold.list")
    list_before = {e["name"]: e for e in m["result"]["held"]}
    http_ino = path_ino(http_path)
    ctl_ino = path_ino(ctl_path)
    du_ino = path_ino(du_path)
    dweb_port = list_before["dweb"]["local"]["port"]
    # A connection waiting in the held listener's backlog, never accepted yet.
    waiting = socket.create_connection(("127.0.0.1", lis_port))
    waiting.sendall(b"before")

    # nobody may not restart.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            c = jc.Client(ctl_path)
            m, _ = c.call("daemon.restart")
            os.write(w, json.dumps(m).encode())
        finally:
            os._exit(0)
    os.close(w)
    out = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        out += b
    os.close(r)
    os.waitpid(pid, 0)
    m = json.loads(out or b"{}")
    check(m.get("error", {}).get("code") == -32010, "nobody's daemon.restart is refused (-32010)", m)
    check(current_pid() == first.pid, "and the daemon did not restart")

    # A parked call on another connection, and an idle client.
    parked = jc.Client(ctl_path)
    parked.send(parked.request("daemon.ping", {"delay": 60}, 7))
    idle = jc.Client(ctl_path)
    call("daemon.ping", c=idle)
    fds_before = fd_count(first.pid)

    # ---- the restart ----
    # The new process is held at a gate (a script that waits on a FIFO, then
    # execs the real binary with the descriptors it inherited), so that
    # connections are made while the restart surely runs.
    real = exe + ".real"
    gate = os.path.join(d, "gate.fifo")
    os.mkfifo(gate)
    os.rename(exe, real)
    with open(exe, "w") as f:
        f.write("#!/bin/sh\nread go <'%s'\nexec '%s' \"$@\"\n" % (gate, real))
    os.chmod(exe, 0o755)
    begun = restarts_begun(d)
    root.send(root.request("daemon.restart", None, 99))
    deadline = time.monotonic() + 30
    while restarts_begun(d) == begun and time.monotonic() < deadline:
        select.select([], [], [], 0.01)  # waiting for the log's line that the restart began
    # Connections made while it runs: they wait in the backlogs.
    during = {
        "control": socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
        "http": socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
        "dunix": socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
    }
    refused = []
    for k, s in during.items():
        try:
            s.connect({"control": ctl_path, "http": http_path, "dunix": du_path}[k])
        except OSError as e:
            refused.append((k, e))
    for port in (lis_port, dweb_port):
        try:
            during[port] = socket.create_connection(("127.0.0.1", port))
        except OSError as e:
            refused.append((port, e))
    with open(gate, "w") as f:
        f.write("go\n")
    reply, _ = root.recv()
    # The new process's path is the real binary's from here on.
    exe = real
    check(not refused, "connections made while the restart runs are not refused", refused)
    res = reply.get("result", {})
    check(reply.get("id") == 99 and res.get("previous_pid") == first.pid and res.get("pid") not in (None, first.pid),
          "daemon.restart answers with the new pid and the old one", reply)
    check(res.get("held") == 6 and res.get("declared") == 2, "it handed over 6 held and 2 declared sockets", res)
    new_pid = res.get("pid")
    pids.append(new_pid)
    rc = first.wait(timeout=30)
    check(rc == 0, "the old process exits 0 once the new one serves", rc)
    try:
        root.recv()
        closed = False
    except (jc.ProtocolError, OSError):
        closed = True
    check(closed, "the old process closed the restarting client's connection afterwards")
    try:
        m, _ = parked.recv()
        check("error" in m and "restarted" in m["error"].get("message", ""),
              "a parked call is cancelled with an error that says the daemon restarted", m)
    except (jc.ProtocolError, OSError) as e:
        check(False, "a parked call is answered before its connection closes", repr(e))
    try:
        idle.call("daemon.ping")
        check(False, "an idle client's connection closes")
    except (jc.ProtocolError, OSError):
        check(True, "an idle client's connection closes (clients reconnect)")
    m = notify.wait_for(lambda m: m.get("MAINPID") == str(new_pid) and "READY" not in m, timeout=5)
    check(m is not None, "the old process told the service manager MAINPID=%s" % new_pid, notify.msgs)
    handed = m
    m = notify.wait_for(lambda m: m.get("READY") == "1", timeout=5)
    check(m is not None and m.get("MAINPID") == str(new_pid), "the new process sent READY=1 with its MAINPID", m)
    check(handed and m and handed["_seq"] < m["_seq"], "after the old one's MAINPID= (NotifyAccess=main keeps it)",
          (handed, m))
    # The store has them from the old process: the new one sends none again
    # (its messages before MAINPID= would be refused, and logged, anyway).
    with notify.cond:
        stores = [x.get("FDNAME") for x in notify.all if x.get("FDSTORE") == "1" and x["_seq"] < handed["_seq"]]
    check(stores.count("held.lis") == 1 and stores.count("decl.dweb") == 1,
          "each held and declared socket went to the descriptor store once, not again after the restart", stores)

    # ---- after ----
    check(path_ino(ctl_path) == ctl_ino, "the control socket's path is the same socket")
    check(path_ino(http_path) == http_ino, "the HTTP face's UNIX path is the same socket")
    check(path_ino(du_path) == du_ino, "the declared UNIX socket's path is the same socket")
    root = jc.Client(ctl_path)
    check(current_pid() == new_pid, "a new connection reaches the new process")
    c = jc.Client.__new__(jc.Client)
    c.sock = during["control"]
    c.sock.settimeout(20)
    c.buf, c.pending_fds = b"", []
    c.ids = iter(range(1, 100))
    m, _ = c.call("daemon.info")
    check(m.get("result", {}).get("pid") == new_pid, "the control connection made during the restart is served by "
          "the new process", m)
    check(http_get(None, sock=during["http"]).endswith("200 OK"), "the HTTP connection made during the restart "
          "is served")
    m, _ = call("hold.list")
    after = {e["name"]: e for e in m["result"]["held"]}
    check(sorted(after) == sorted(list_before), "hold.list has the same names", sorted(after))
    for n in ("lis", "pub-tcp", "pub-udp", "unix half", "exp", long_name):
        a, b = after.get(n, {}), list_before.get(n, {})
        check(a.get("owner") == b.get("owner") and a.get("put") == b.get("put") and
              a.get("expires") == b.get("expires") and a.get("retrievals") == b.get("retrievals") and
              a.get("local") == b.get("local") and a.get("type") == b.get("type"),
              "held socket %r keeps its owner, put time, expiry, retrievals and address" % n[:20], (a, b))
    got = {}
    for n in names:
        m, fds = call("hold.get", {"name": n, "pass": True})
        if len(fds) == 1:
            got[n] = fds[0]
    check(all(n in got and ino(got[n]) == before.get(n) for n in names),
          "every held and declared socket is the same socket (inode) after the restart",
          {n: (before.get(n), ino(got[n]) if n in got else None) for n in names})
    check(after.get("dweb", {}).get("local", {}).get("port") == dweb_port, "the declared TCP socket kept its port")
    lis = socket.socket(fileno=got.pop("lis"))
    lis.settimeout(10)
    a1, _ = lis.accept()
    a2, _ = lis.accept()
    first_bytes = a1.recv(16)
    check(first_bytes == b"before", "the held listener accepts the connection that waited since before the restart",
          first_bytes)
    check(a2.getpeername() == during[lis_port].getsockname(), "and the one made during it")
    for s in (a1, a2, lis):
        s.close()
    dweb = socket.socket(fileno=got.pop("dweb"))
    dweb.settimeout(10)
    a3, _ = dweb.accept()
    check(a3.getpeername() == during[dweb_port].getsockname(), "the declared listener accepts the connection made "
          "during the restart")
    a3.close()
    dweb.close()
    dun = socket.socket(fileno=got.pop("dunix"))
    dun.settimeout(10)
    a4, _ = dun.accept()
    a4.close()
    dun.close()
    check(True, "the declared UNIX listener accepts the connection made during the restart")
    t = socket.socket(fileno=got.pop("pub-tcp"))
    tcp_peer.sendall(b"still connected")
    t.settimeout(10)
    check(t.recv(64) == b"still connected", "the held TCP connection is still connected to its peer")
    t.close()
    for fd in got.values():
        os.close(fd)
    for s in during.values():
        s.close()
    waiting.close()
    # Same descriptors as before: the ones handed over, no more (one client
    # connection each time).
    idle2 = jc.Client(ctl_path)
    call("daemon.ping", c=idle2)
    root.close()
    parked.close()
    deadline = time.monotonic() + 10
    while fd_count(new_pid) > fds_before - 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # the daemon closes the connections we closed when it reads their EOF
    check(fd_count(new_pid) <= fds_before - 2, "the new process holds no more descriptors than the old one did "
          "(%d, was %d with two more clients)" % (fd_count(new_pid), fds_before))
    idle2.close()
    root = jc.Client(ctl_path)

    # ---- failures leave the old daemon serving ----
    def restart_fails(what, expect_in_msg):
        nonlocal root
        pid_before = current_pid()
        other = jc.Client(ctl_path)
        root.send(root.request("daemon.restart", None, 5))
        # A request sent while the restart runs is answered after it failed.
        other.send(other.request("daemon.ping", None, 6))
        m, _ = root.recv()
        msg = m.get("error", {}).get("message", "")
        check("error" in m and expect_in_msg in msg, "%s: daemon.restart fails and says why" % what, m)
        o, _ = other.recv()
        check(o.get("id") == 6 and "result" in o, "%s: a request that waited during it is answered" % what, o)
        other.close()
        check(current_pid() == pid_before, "%s: the same daemon serves" % what)
        m, _ = root.call("hold.list")
        check(sorted(e["name"] for e in m["result"]["held"]) == sorted(list_before),
              "%s: every held socket is still held" % what)
        check(os.path.exists(ctl_path) and os.path.exists(http_path) and os.path.exists(du_path)
              and path_ino(ctl_path) == ctl_ino, "%s: the paths are still there" % what)
        check(http_get(http_path).endswith("200 OK"), "%s: the HTTP face serves" % what)
        return m

    saved = exe + ".real"
    os.rename(exe, saved)
    with open(exe, "w") as f:
        f.write("#!/bin/sh\nexit 3\n")
    os.chmod(exe, 0o755)
    restart_fails("a binary that exits at once", "exited with status 3")
    os.unlink(exe)
    restart_fails("a missing binary", "No such file or directory")
    with open(exe, "w") as f:
        f.write("#!/bin/sh\nexec sleep 600\n")
    os.chmod(exe, 0o755)
    # A second restart while the first runs is refused. Requests wait
    # meanwhile, so SIGUSR2 is the one way to ask for it then.
    log_path = os.path.join(d, "daemon.log")
    begun = restarts_begun(d)
    root.send(root.request("daemon.restart", None, 8))
    # Its readiness line: the log says the restart began.
    deadline = time.monotonic() + 10
    while restarts_begun(d) == begun and time.monotonic() < deadline:
        select.select([], [], [], 0.01)
    os.kill(new_pid, signal.SIGUSR2)
    m, _ = root.recv()
    check("not ready within 2 s" in m.get("error", {}).get("message", ""),
          "a binary that never gets ready is killed after --restart-timeout", m)
    with open(log_path, errors="replace") as f:
        text = f.read()
    check("SIGUSR2: cannot restart: a restart is under way" in text, "a second restart while one runs is refused")
    check(current_pid() == new_pid, "the same daemon serves after the timeout")
    os.unlink(exe)
    os.rename(saved, exe)
    with open(policy, "w") as f:
        f.write("{ not json")
    restart_fails("a new process that cannot load the policy", "exited with status 1")
    with open(policy, "w") as f:
        f.write(good_policy)

    # ---- an upgrade: a new file at the binary's path ----
    shutil.copy2(sbd_orig, exe + ".new")
    os.rename(exe + ".new", exe)
    new_file_ino = path_ino(exe)
    m, _ = root.call("daemon.restart")
    up_pid = m.get("result", {}).get("pid")
    pids.append(up_pid)
    ok = up_pid is not None
    if ok:
        st = os.stat("/proc/%d/exe" % up_pid)
        ok = (st.st_dev, st.st_ino) == new_file_ino
    check(ok, "a restart after an upgrade runs the new file", m)
    root.close()

    # ---- SIGUSR2 ----
    os.kill(up_pid, signal.SIGUSR2)
    m = notify.wait_for(lambda m: "MAINPID" in m and m["MAINPID"] != str(up_pid) and "READY" not in m, timeout=30)
    sig_pid = int(m["MAINPID"]) if m else None
    pids.append(sig_pid)
    check(sig_pid is not None and current_pid() == sig_pid, "SIGUSR2 restarts the daemon", m)
    root = jc.Client(ctl_path)
    m, _ = root.call("hold.list")
    check(sorted(e["name"] for e in m["result"]["held"]) == sorted(list_before), "and keeps every held socket")
    root.close()

    # ---- sockbrokerctl restart ----
    out = subprocess.run([sbctl, "-s", ctl_path, "restart"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0 and out.stdout.startswith("restarted: pid ") and "6 held and 2 declared" in out.stdout,
          "sockbrokerctl restart says what it did", (out.returncode, out.stdout, out.stderr))
    try:
        pids.append(int(out.stdout.split()[2]))
    except (IndexError, ValueError):
        pass
    out = subprocess.run([sbctl, "-s", ctl_path, "--json", "restart"], capture_output=True, text=True, timeout=60)
    try:
        j = json.loads(out.stdout)
        pids.append(j["pid"])
        ok = out.returncode == 0 and j["held"] == 6 and j["pid"] == current_pid()
    except (ValueError, KeyError) as e:
        ok, j = False, (out.stdout, out.stderr, e)
    check(ok, "sockbrokerctl --json restart prints the result", j)
    os.rename(exe, exe + ".gone")
    out = subprocess.run([sbctl, "-s", ctl_path, "restart"], capture_output=True, text=True, timeout=60)
    check(out.returncode != 0 and "No such file" in out.stderr, "sockbrokerctl restart reports a failed restart",
          (out.returncode, out.stdout, out.stderr))
    os.rename(exe + ".gone", exe)


if __name__ == "__main__":
    sys.exit(main())
