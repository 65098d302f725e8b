#!/usr/bin/env python3
"""socket.recvmsg against Python's socket.recvmsg (issue 13, items 1 and 2):
the same operation done by the daemon, through a handle, and by Python's
socket module on a socket of its own, in the same test, must give the same
data, ancillary data, msg_flags and number of descriptors:

- UDP6 with IPV6_RECVHOPLIMIT (and IPV6_RECVPKTINFO), every ancbufsize from
  0 past what the items need: items cut or left out, MSG_CTRUNC, MSG_TRUNC;
- SCM_RIGHTS over AF_UNIX, 1 to 3 descriptors sent, ancbufsize around the
  CMSG_LEN/CMSG_SPACE boundaries: the descriptors that fit, MSG_CTRUNC, and
  the ones that did not fit closed (a pipe whose write ends were sent reaches
  EOF), with the daemon holding as many descriptors as before;
- msg_flags of a plain recvmsg is 0, and MSG_CMSG_CLOEXEC only when asked;
- ancbufsize's limit: 65536 is taken, 65537 is refused with -32602.

Usage: recvmsg_anc.py SOCKET_PATH. Prints "ok - ..." / "not ok - ..." lines
and "1..N"; exits 1 if any failed. Uses tests/jsonrpc-client.py's client.
"""

import array
import base64
import importlib.util
import os
import select
import socket
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("jsonrpc_client", os.path.join(HERE, "jsonrpc-client.py"))
jc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(jc)

# A truncated item makes CPython warn; the comparison is the point here.
warnings.simplefilter("ignore", RuntimeWarning)

INT = array.array("i").itemsize
results = []


def check(cond, what, detail=None):
    results.append(bool(cond))
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        print("    # " + str(detail)[:2000])
    return bool(cond)


def const(v):
    """A name of the daemon's (or a number) -> the number Python uses."""
    if isinstance(v, int):
        return v
    n = getattr(socket, v, None)
    if n is None:
        raise KeyError("no socket.%s" % v)
    return int(n)


def flags_of(v):
    if isinstance(v, int):
        return v
    f = 0
    for name in v:
        f |= const(name)
    return f


class Daemon:
    def __init__(self, path):
        self.c = jc.Client(path)

    def call(self, method, params, fds=None):
        msg, rfds = self.c.call(method, params, fds)
        return msg, rfds

    def ok(self, method, params, fds=None):
        msg, rfds = self.call(method, params, fds)
        if "result" not in msg:
            for fd in rfds:
                os.close(fd)
            raise jc.ProtocolError("%s %r: %r" % (method, params, msg))
        return msg["result"], rfds

    def recvmsg(self, h, bufsize, anc, flags=None):
        """-> (data, [(level, type, data)], msg_flags, received descriptors)."""
        p = {"handle": h, "bufsize": bufsize, "ancbufsize": anc}
        if flags is not None:
            p["flags"] = flags
        r, fds = self.ok("socket.recvmsg", p)
        items = [(const(e["level"]), const(e["type"]), base64.b64decode(e["data"]))
                 for e in r["ancdata"]]
        return base64.b64decode(r["data"]), items, flags_of(r["msg_flags"]), fds


def py_recvmsg(s, bufsize, anc, flags=0):
    """Python's recvmsg, with SCM_RIGHTS taken out as descriptors."""
    data, ancdata, mflags, _ = s.recvmsg(bufsize, anc, flags)
    items, fds = [], []
    for level, kind, cdata in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(cdata[:len(cdata) - len(cdata) % INT])
            fds.extend(a)
        else:
            items.append((level, kind, bytes(cdata)))
    return data, items, mflags, fds


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def eof_within(fd, seconds=10):
    """Whether the pipe's read end reaches EOF (every write end closed)."""
    r, _, _ = select.select([fd], [], [], seconds)
    return bool(r) and os.read(fd, 1) == b""


def udp6(d):
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError as e:
        if os.environ.get("CI") == "true":
            check(False, "UDP6 on ::1 is there (required when CI=true)", e)
        else:
            print("# SKIP the UDP6 cases: no ::1 (%s)" % e)
        return
    for opts in (["IPV6_RECVHOPLIMIT"], ["IPV6_RECVHOPLIMIT", "IPV6_RECVPKTINFO"]):
        h = d.ok("socket.create", {"family": "AF_INET6", "type": "SOCK_DGRAM"})[0]["handle"]
        d.ok("socket.bind", {"handle": h, "address": ["::1", 0]})
        dport = d.ok("socket.getsockname", {"handle": h})[0]["address"]["port"]
        ps = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        ps.settimeout(10)
        ps.bind(("::1", 0))
        for o in opts:
            d.ok("socket.setsockopt", {"handle": h, "level": "IPPROTO_IPV6", "option": o, "value": 1})
            ps.setsockopt(socket.IPPROTO_IPV6, const(o), 1)
        tx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        need = socket.CMSG_SPACE(4) + (socket.CMSG_SPACE(20) if len(opts) > 1 else 0)
        sizes = list(range(0, need + 2)) + [65536]
        bad = []
        seen = set()
        for anc in sizes:
            for bufsize in (28, 2):
                tx.sendto(b"abcd", ("::1", ps.getsockname()[1]))
                tx.sendto(b"abcd", ("::1", dport))
                want = py_recvmsg(ps, bufsize, anc)
                got = d.recvmsg(h, bufsize, anc)
                seen.add((len(want[1]), bool(want[2] & socket.MSG_CTRUNC)))
                if got != want:
                    bad.append((anc, bufsize, "python", want, "daemon", got))
        check(not bad, "UDP6 with %s: recvmsg as Python's for ancbufsize 0-%d and 65536, bufsize 28 and 2"
              % (" and ".join(opts), need + 1), bad[:3])
        # The comparison covered what it should: no item with MSG_CTRUNC, and
        # every item without it.
        check((0, True) in seen and (len(opts), False) in seen,
              "  ... which covered a cut buffer and a whole one", sorted(seen))
        if opts == ["IPV6_RECVHOPLIMIT"]:
            tx.sendto(b"abcd", ("::1", dport))
            got = d.recvmsg(h, 28, 1)
            check(got[1] == [] and got[2] == socket.MSG_CTRUNC,
                  "UDP6 ancbufsize 1: no item, msg_flags MSG_CTRUNC", got)
            tx.sendto(b"abcd", ("::1", dport))
            got = d.recvmsg(h, 28, socket.CMSG_SPACE(4))
            check(len(got[1]) == 1 and got[1][0][:2] == (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)
                  and got[2] == 0, "UDP6 ancbufsize CMSG_SPACE(4): the IPV6_HOPLIMIT item, msg_flags 0", got)
        tx.close()
        ps.close()
        d.ok("socket.close", {"handle": h})


def scm_rights(d, pid):
    r = d.ok("socket.pair", {})[0]
    ha, hb = r["handles"]
    pa, pb = socket.socketpair()
    pb.settimeout(10)
    before = fd_count(pid)
    bad, leaks, seen = [], [], set()
    cases = []
    for nsend in (1, 2, 3):
        sizes = {0, 1, socket.CMSG_LEN(0), socket.CMSG_LEN(0) + 3, socket.CMSG_LEN(4) - 1,
                 socket.CMSG_LEN(4), socket.CMSG_SPACE(4) - 1, socket.CMSG_SPACE(4),
                 socket.CMSG_LEN(8), socket.CMSG_SPACE(8), socket.CMSG_LEN(12), socket.CMSG_SPACE(12),
                 socket.CMSG_SPACE(4 * nsend) + 1, 65536}
        cases += [(nsend, anc) for anc in sorted(sizes)]
    for nsend, anc in cases:
        rd, wr = os.pipe()
        try:
            pa.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [wr] * nsend))])
            d.ok("socket.sendmsg", {"handle": ha, "buffers": ["eA=="], "fds": nsend}, fds=[wr] * nsend)
        finally:
            os.close(wr)
        want = py_recvmsg(pb, 16, anc)
        got = d.recvmsg(hb, 16, anc)
        for fd in want[3] + got[3]:
            os.close(fd)
        w = (want[0], want[1], want[2], len(want[3]))
        g = (got[0], got[1], got[2], len(got[3]))
        seen.add((nsend, len(want[3])))
        if w != g:
            bad.append((nsend, anc, "python", w, "daemon", g))
        # Every copy of the write end is gone: those delivered (closed above),
        # and those that did not fit (the kernel closed them).
        if not eof_within(rd):
            leaks.append((nsend, anc))
        os.close(rd)
    check(not bad, "SCM_RIGHTS: recvmsg gives the descriptors, ancillary data and msg_flags that "
          "Python's does (%d cases, 1-3 descriptors, ancbufsize 0-65536)" % len(cases), bad[:4])
    check((2, 0) in seen and (2, 1) in seen and (2, 2) in seen and (3, 2) in seen,
          "  ... which covered none, some and all of the descriptors fitting", sorted(seen))
    check(not leaks, "every descriptor sent was closed, whether it fitted or not", leaks)
    after = fd_count(pid)
    check(after == before, "the daemon holds as many descriptors as before (%d, %d)" % (before, after))

    # The cases the issue names, by themselves.
    rd, wr = os.pipe()
    d.ok("socket.sendmsg", {"handle": ha, "buffers": ["eA=="], "fds": 2}, fds=[wr, wr])
    os.close(wr)
    got = d.recvmsg(hb, 16, 0)
    check(got[3] == [] and got[2] == socket.MSG_CTRUNC and got[1] == [],
          "SCM_RIGHTS with ancbufsize 0: no descriptor, msg_flags MSG_CTRUNC", got)
    check(eof_within(rd), "  ... and the descriptors are closed")
    os.close(rd)
    rd, wr = os.pipe()
    d.ok("socket.sendmsg", {"handle": ha, "buffers": ["eA=="], "fds": 2}, fds=[wr, wr])
    os.close(wr)
    got = d.recvmsg(hb, 16, socket.CMSG_LEN(INT))
    for fd in got[3]:
        os.close(fd)
    check(len(got[3]) == 1 and got[2] == socket.MSG_CTRUNC,
          "SCM_RIGHTS, 2 sent, ancbufsize CMSG_LEN(4): one descriptor, MSG_CTRUNC", got)
    check(eof_within(rd), "  ... and the other one is closed")
    os.close(rd)
    check(fd_count(pid) == before, "the daemon still holds as many descriptors as before")

    # The limit: 65536 is taken (above); one more is refused.
    msg, _ = d.call("socket.recvmsg", {"handle": hb, "bufsize": 16, "ancbufsize": 65537})
    err = msg.get("error", {})
    check(err.get("code") == -32602 and err.get("data", {}).get("param") == "ancbufsize",
          "ancbufsize 65537 (past the limit of 65536) gets -32602 naming ancbufsize", msg)
    pa.close()
    pb.close()
    d.ok("socket.close", {"handle": ha})
    d.ok("socket.close", {"handle": hb})


def plain_flags(d):
    r = d.ok("socket.pair", {})[0]
    ha, hb = r["handles"]
    pa, pb = socket.socketpair()
    pb.settimeout(10)
    cloexec = getattr(socket, "MSG_CMSG_CLOEXEC", 0x40000000)
    for flags in (None, ["MSG_CMSG_CLOEXEC"], ["MSG_PEEK"]):
        pa.sendall(b"hi")
        d.ok("socket.send", {"handle": ha, "data": "aGk="})
        pyflags = flags_of(flags) if flags else 0
        want = py_recvmsg(pb, 16, 0, pyflags)
        got = d.recvmsg(hb, 16, 0, flags)
        check(got == want, "a plain recvmsg with flags %s: msg_flags %#x as Python's" % (flags, want[2]),
              ("python", want, "daemon", got))
        if flags is None:
            check(got[2] == 0, "  ... which is 0", got)
        elif flags == ["MSG_CMSG_CLOEXEC"]:
            check(got[2] == cloexec, "  ... which is MSG_CMSG_CLOEXEC, asked for", got)
        else:
            pb.recv(16)
            d.ok("socket.recv", {"handle": hb, "bufsize": 16})
    pa.close()
    pb.close()
    d.ok("socket.close", {"handle": ha})
    d.ok("socket.close", {"handle": hb})


def main():
    if len(sys.argv) != 2:
        print("usage: recvmsg_anc.py SOCKET_PATH", file=sys.stderr)
        return 2
    d = Daemon(sys.argv[1])
    pid = d.ok("daemon.info", {})[0]["pid"]
    plain_flags(d)
    udp6(d)
    scm_rights(d, pid)
    d.c.close()
    print("1..%d" % len(results))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, jc.ProtocolError, ValueError, KeyError) as e:
        results.append(False)
        print("not ok - the test stopped: %s: %s" % (type(e).__name__, e))
        print("1..%d" % len(results))
        sys.exit(1)
