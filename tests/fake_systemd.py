#!/usr/bin/env python3
"""A small fake of systemd's side of sd_notify(3) and the file-descriptor
store (systemd's docs/FILE_DESCRIPTOR_STORE.md, sd_listen_fds(3)), for the
tests: Python's standard library only.

- It binds a NOTIFY_SOCKET (AF_UNIX, SOCK_DGRAM, SO_PASSCRED; a path, or an
  abstract name written "@name") and runs the service with it set.
- It takes messages from the main process only (NotifyAccess=main: the
  sender's SCM_CREDENTIALS pid), and records READY=1, STATUS=, MAINPID=,
  STOPPING=1.
- It keeps the store as systemd does: FDSTORE=1 stores the descriptors sent
  with the message under FDNAME= ("stored" when absent or invalid: printable
  ASCII but ':', at most 255 characters), unless the store holds
  FileDescriptorStoreMax of them (EXFULL: dropped), or the same file is
  stored already (same device and inode: dropped, the name unchanged);
  FDSTOREREMOVE=1 closes every descriptor named FDNAME=; without FDPOLL=0 a
  stored descriptor is dropped at its first POLLHUP or POLLERR; descriptors
  sent without FDSTORE=1 are closed. BARRIER=1: its descriptor is closed
  once every message before it was handled.
- kill() ends the service (SIGKILL: a crash), start() runs it again with the
  store as LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (the child's own pid,
  set by this file's --exec-child shim right before it execs the service),
  and FDSTORE=FileDescriptorStoreMax as systemd 254 and later set it.

As a module: FakeSystemd(argv, ...) (tests/fdstore_checks.py). As a program:
  fake_systemd.py [--store-max N] [--notify PATH|@NAME] -- COMMAND...
reads steps on standard input, one a line: start, kill [SIGNAL], store
(one JSON line: [[name, dev, ino], ...]), wait-ready, messages, quit.
"""

import array
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SCM_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", 2)
SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)


def fdname_is_valid(name):
    """systemd's fdname_is_valid(): 1-255 printable ASCII characters, no ':'."""
    return 0 < len(name) <= 255 and all(0x20 <= ord(c) < 0x7f and c != ":" for c in name)


class Stored:
    def __init__(self, fd, name, poll):
        self.fd = fd
        self.name = name
        self.poll = poll
        st = os.fstat(fd)
        self.key = (st.st_dev, st.st_ino)


class FakeSystemd:
    def __init__(self, argv, store_max=4096, notify=None, env=None, stderr=None, set_fdstore_env=True):
        self.argv = list(argv)
        self.store_max = store_max
        self.env = dict(os.environ if env is None else env)
        self.stderr = stderr
        self.set_fdstore_env = set_fdstore_env
        self.lock = threading.Condition()
        self.store = []             # Stored, oldest first (systemd prepends; order is not promised)
        self.messages = []          # every accepted message: dict of its fields, with "_fds"
        self.refused = []           # messages from another pid than the main one
        self.events = []            # ("exfull" | "dup" | "pollhup" | "badname" | "unstored", name)
        self.ready = False
        self.status = None
        self.mainpid = None
        self.proc = None
        self.delay = 0.0            # seconds before each batch is read: a busy manager
        self.paused = False         # reads nothing: a manager that is stuck
        self.tmp = None
        if notify is None:
            self.tmp = tempfile.mkdtemp(prefix="fake-systemd.")
            notify = os.path.join(self.tmp, "notify")
        self.notify = notify
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind("\0" + notify[1:] if notify.startswith("@") else notify)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
        # systemd makes its queue large (SO_RCVBUFFORCE, 8 MiB); the number of
        # datagrams still waiting is bounded by net.unix.max_dgram_qlen.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)   # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.stop_r, self.stop_w = os.pipe2(os.O_CLOEXEC)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ the manager's loop
    def _run(self):
        while True:
            with self.lock:
                watched = [s for s in self.store if s.poll]
            p = select.poll()
            if not self.paused:
                p.register(self.sock.fileno(), select.POLLIN)
            p.register(self.stop_r, select.POLLIN)
            for s in watched:
                p.register(s.fd, 0)     # POLLHUP and POLLERR are always reported
            for fd, ev in p.poll(50):
                if fd == self.stop_r:
                    return
                if fd == self.sock.fileno():
                    if self.delay:
                        time.sleep(self.delay)
                    self._receive_all()
                elif ev & (select.POLLHUP | select.POLLERR):
                    self._drop_polled(fd)

    def _drop_polled(self, fd):
        with self.lock:
            for s in list(self.store):
                if s.fd == fd and s.poll:
                    self.store.remove(s)
                    self.events.append(("pollhup", s.name))
                    os.close(s.fd)
            self.lock.notify_all()

    def _receive_all(self):
        with self.lock:
            self._receive_locked()

    def _receive_locked(self):
        while True:
            try:
                data, anc, flags, _ = self.sock.recvmsg(
                    4096, socket.CMSG_SPACE(253 * 4) + socket.CMSG_SPACE(12), socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC)
            except BlockingIOError:
                return
            fds, pid = [], None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(payload[:len(payload) - len(payload) % 4])
                    fds.extend(a)
                elif level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            self._handle(data, fds, pid, flags)

    def _handle(self, data, fds, pid, flags):
        fields = {}
        for line in data.decode("utf-8", "replace").split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k] = v
        fields["_fds"] = len(fds)
        with self.lock:
            if self.proc is None or pid != self.proc.pid or flags & socket.MSG_CTRUNC:
                self.refused.append(fields)
                for fd in fds:
                    os.close(fd)
                self.lock.notify_all()
                return
            self.messages.append(fields)
            if fields.get("READY") == "1":
                self.ready = True
            if "STATUS" in fields:
                self.status = fields["STATUS"]
            if "MAINPID" in fields:
                self.mainpid = int(fields["MAINPID"])
            name = fields.get("FDNAME")
            if name is not None and not fdname_is_valid(name):
                self.events.append(("badname", name))
                name = None
            if fields.get("FDSTOREREMOVE") == "1" and name is not None:
                for s in [s for s in self.store if s.name == name]:
                    self.store.remove(s)
                    os.close(s.fd)
            if fields.get("FDSTORE") == "1":
                for fd in fds:
                    self._add(fd, name or "stored", fields.get("FDPOLL") != "0")
                fds = []
            # BARRIER=1 and descriptors not meant for the store: closed.
            for fd in fds:
                if fields.get("BARRIER") != "1":
                    self.events.append(("unstored", name))
                os.close(fd)
            self.lock.notify_all()

    def _add(self, fd, name, poll):
        # service_add_fd_store(): the limit first, then the same file once.
        if len(self.store) >= self.store_max:
            self.events.append(("exfull", name))
            os.close(fd)
            return
        s = Stored(fd, name, poll)
        for o in self.store:
            if o.key == s.key:
                self.events.append(("dup", name))
                os.close(fd)
                return
        self.store.append(s)

    # ------------------------------------------------------------ the service
    def start(self):
        """Runs the service with the store as LISTEN_FDS; returns its pid."""
        with self.lock:
            assert self.proc is None or self.proc.poll() is not None, "the service still runs"
            self.ready = False
            self.status = None
            self.mainpid = None
            fds = [s.fd for s in self.store]
            names = [s.name for s in self.store]
            env = dict(self.env)
            env["NOTIFY_SOCKET"] = self.notify
            for k in ("LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID", "FDSTORE"):
                env.pop(k, None)
            if self.set_fdstore_env:
                env["FDSTORE"] = str(self.store_max)
            env["FAKE_SYSTEMD_FDS"] = ",".join(map(str, fds))
            env["FAKE_SYSTEMD_FDNAMES"] = ":".join(names)
            self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--exec-child", "--"] + self.argv,
                                         env=env, pass_fds=fds, stderr=self.stderr)
            return self.proc.pid

    def kill(self, sig=signal.SIGKILL, timeout=30):
        """Sends sig to the service and waits for it; its exit status."""
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.sync()
        return rc

    def wait(self, cond, timeout=30):
        """Waits until cond() (called under the lock) holds; whether it did."""
        end = time.monotonic() + timeout
        with self.lock:
            while not cond():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.05))
            return True

    def wait_ready(self, timeout=30):
        return self.wait(lambda: self.ready or (self.proc is not None and self.proc.poll() is not None),
                         timeout) and self.ready

    def sync(self, timeout=5):
        """Waits until every datagram waiting in the socket has been handled
        (what the service still holds back is not seen)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            # Reading and handling happen under the lock: an empty socket
            # seen with the lock held means nothing is half done.
            with self.lock:
                if select.select([self.sock], [], [], 0)[0] == []:
                    return True
            time.sleep(0.01)
        return False

    def put(self, fd, name, poll=False):
        """Stores a duplicate of fd as if the service had sent it (an entry
        an older version of the service left, say)."""
        with self.lock:
            self.store.append(Stored(os.dup(fd), name, poll))

    def names(self):
        with self.lock:
            return [s.name for s in self.store]

    def entries(self, prefix=""):
        """[(name, (dev, ino))] of the store."""
        with self.lock:
            return [(s.name, s.key) for s in self.store if s.name.startswith(prefix)]

    def fd_of(self, name):
        with self.lock:
            for s in self.store:
                if s.name == name:
                    return s.fd
        return None

    def count(self, pred):
        with self.lock:
            return sum(1 for m in self.messages if pred(m))

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.write(self.stop_w, b"x")
        self.thread.join()
        for s in self.store:
            os.close(s.fd)
        self.store = []
        self.sock.close()
        os.close(self.stop_r)
        os.close(self.stop_w)
        if self.tmp:
            try:
                os.unlink(self.notify)
            except OSError:
                pass
            os.rmdir(self.tmp)


def exec_child(argv):
    """The shim between fork and the service: the store's descriptors moved
    to 3, 4, ... in order, LISTEN_PID our own pid (which exec keeps)."""
    fds = [int(x) for x in os.environ.pop("FAKE_SYSTEMD_FDS", "").split(",") if x]
    names = os.environ.pop("FAKE_SYSTEMD_FDNAMES", "")
    # First out of the way of 3..3+n, then into place.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3 + len(fds)) for fd in fds]
    for fd in fds:
        os.close(fd)
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i, inheritable=True)
        os.close(fd)
    if fds:
        os.environ["LISTEN_FDS"] = str(len(fds))
        os.environ["LISTEN_FDNAMES"] = names
        os.environ["LISTEN_PID"] = str(os.getpid())
    os.execvp(argv[0], argv)


def main(args):
    store_max, notify = 4096, None
    while args and args[0] != "--":
        if args[0] == "--store-max":
            store_max = int(args[1])
            args = args[2:]
        elif args[0] == "--notify":
            notify = args[1]
            args = args[2:]
        else:
            print("usage: fake_systemd.py [--store-max N] [--notify PATH|@NAME] -- COMMAND...", file=sys.stderr)
            return 2
    fake = FakeSystemd(args[1:], store_max=store_max, notify=notify)
    try:
        for line in sys.stdin:
            step = line.split()
            if not step:
                continue
            if step[0] == "start":
                print("pid", fake.start(), flush=True)
            elif step[0] == "kill":
                sig = getattr(signal, step[1]) if len(step) > 1 else signal.SIGKILL
                print("exit", fake.kill(sig), flush=True)
            elif step[0] == "wait-ready":
                print("ready" if fake.wait_ready() else "not ready", flush=True)
            elif step[0] == "store":
                fake.sync()
                print(json.dumps([[n, k[0], k[1]] for n, k in fake.entries()]), flush=True)
            elif step[0] == "messages":
                print(json.dumps(fake.messages), flush=True)
            elif step[0] == "quit":
                break
            else:
                print("unknown step", step[0], flush=True)
    finally:
        fake.close()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--exec-child"]:
        exec_child(sys.argv[3:] if sys.argv[2:3] == ["--"] else sys.argv[2:])
    sys.exit(main(sys.argv[1:]))
