#!/usr/bin/env python3
"""The client side of the hostile tests (tests/hostile/h_*.sh): what a local
user, talking to a daemon that runs as root, tries in order to get more than
the policy grants. Standard library only. Each AREA reproduces the attacks of
issue 9 and asserts the fixed outcome; where it means something it also
asserts that the legitimate variant still works.

Usage: hostile.py AREA SOCK ARGS...

Output: one JSON object per line. A line with "check" and "ok" is one
assertion; lines with "event" say how far a background helper got. Exit 0
when every check held, 1 when one did not, 2 on bad usage.
"""

import array
import base64
import errno
import itertools
import json
import os
import select
import signal
import socket
import struct
import sys
import time

DENIED = -32010
OS_ERROR = -32000
BAD_PARAMS = -32602
LIMIT = -32012
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


def errno_name(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) and e.errno else repr(e)


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text or "")


class ProtocolError(Exception):
    pass


class Client:
    """Newline-delimited JSON-RPC 2.0 over the control socket; descriptors in
    replies come as SCM_RIGHTS, "fds": n in the result says how many."""

    MAX_FDS = 16

    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.pending_fds = []
        self.ids = itertools.count(1)
        self.early = {}

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

    def start(self, method, params=None, rid=None):
        """Sends one request without waiting; answers come through wait()."""
        if rid is None:
            rid = next(self.ids)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return rid

    def wait(self, rid):
        if rid in self.early:
            return self.early.pop(rid)
        while True:
            reply, fds = self.recv()
            if reply.get("id") == rid:
                return reply, fds
            self.early[reply.get("id")] = (reply, fds)

    def call(self, method, params=None):
        return self.wait(self.start(method, params))

    def keep(self, method, params=None):
        """call(), with the descriptors closed: the reply alone."""
        msg, fds = self.call(method, params)
        close_fds(fds)
        return msg


def close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def short(params):
    return json.dumps(params, separators=(",", ":"), sort_keys=True)


def code(msg):
    err = msg.get("error")
    return err.get("code") if isinstance(err, dict) else 0


def denied(msg):
    """-32010 with a reason."""
    err = msg.get("error")
    return (isinstance(err, dict) and err.get("code") == DENIED and isinstance(err.get("data"), dict)
            and isinstance(err["data"].get("reason"), str) and bool(err["data"]["reason"]))


def refused(msg, also=()):
    """An error that is a refusal: -32010, or one of the codes in also."""
    return denied(msg) or code(msg) in also


def oserr(msg):
    err = msg.get("error") or {}
    data = err.get("data") if isinstance(err.get("data"), dict) else {}
    return data.get("name") if err.get("code") == OS_ERROR else None


def handles(c):
    msg = c.keep("socket.list")
    return [s.get("handle") for s in msg.get("result", {}).get("sockets", [])]


def close_all(c):
    for h in handles(c):
        c.keep("socket.close", {"handle": h})


def sockopt_int(fd, level, opt):
    s = socket.socket(fileno=os.dup(fd))
    try:
        return s.getsockopt(level, opt)
    finally:
        s.close()


# ---------------------------------------------------------------- netlink

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 1, 2, 4, 0x200, 0x400, 0x300
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR, RTM_NEWROUTE = 16, 18, 20, 21, 22, 24
IFA_ADDRESS, IFA_LOCAL = 1, 2
IFLA_IFNAME = 3


def nla(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def nlmsg(kind, flags, payload, seq=1):
    return struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + payload


def rtm_addr(kind, addr, prefix, ifindex, seq=1):
    """RTM_NEWADDR/RTM_DELADDR of an IPv4 address on ifindex, asking an ack."""
    ifa = struct.pack("=BBBBI", socket.AF_INET, prefix, 0, 0, ifindex)
    raw = socket.inet_aton(addr)
    flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE | NLM_F_EXCL if kind == RTM_NEWADDR else 0)
    return nlmsg(kind, flags, ifa + nla(IFA_LOCAL, raw) + nla(IFA_ADDRESS, raw), seq)


def rtm_getlink_dump(seq=1):
    return nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BxHiII", 0, 0, 0, 0, 0), seq)


def rtm_getaddr_dump(seq=1):
    return nlmsg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0), seq)


def nl_parse(data):
    """[(type, flags, seq, payload)] of the messages in one datagram."""
    out = []
    while len(data) >= 16:
        n, kind, flags, seq, _ = struct.unpack("=IHHII", data[:16])
        if n < 16 or n > len(data):
            break
        out.append((kind, flags, seq, data[16:n]))
        data = data[(n + 3) & ~3:]
    return out


def nl_ack_errno(data):
    """The errno of the first NLMSG_ERROR in data (0 = success), or None."""
    for kind, _, _, payload in nl_parse(data):
        if kind == NLMSG_ERROR and len(payload) >= 4:
            return -struct.unpack("=i", payload[:4])[0]
    return None


def local_ipv4_addrs():
    """{address: ifindex} of this namespace, from an RTM_GETADDR dump on a
    netlink socket of this (unprivileged) process."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.settimeout(10)
    found = {}
    with s:
        s.bind((0, 0))
        s.send(rtm_getaddr_dump(seq=77))
        done = False
        while not done:
            for kind, _, _, payload in nl_parse(s.recv(65536)):
                if kind in (NLMSG_DONE, NLMSG_ERROR):
                    done = True
                    break
                if kind != RTM_NEWADDR or len(payload) < 8:
                    continue
                _, _, _, _, index = struct.unpack("=BBBBI", payload[:8])
                rest = payload[8:]
                while len(rest) >= 4:
                    n, t = struct.unpack("=HH", rest[:4])
                    if n < 4:
                        break
                    if t == IFA_LOCAL and n == 8:
                        found[socket.inet_ntoa(rest[4:8])] = index
                    rest = rest[(n + 3) & ~3:]
    return found


def rtm_newroute(dst, prefix, ifindex, seq=1):
    """RTM_NEWROUTE of dst/prefix on ifindex in the main table, asking an ack."""
    rtm = struct.pack("=BBBBBBBBI", socket.AF_INET, prefix, 0, 0, 254, 3, 253, 1, 0)
    return nlmsg(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                 rtm + nla(1, socket.inet_aton(dst)) + nla(4, struct.pack("=I", ifindex)), seq)


def rtm_newlink_noop(ifindex, seq=1):
    """RTM_NEWLINK that changes nothing on an existing link, asking an ack."""
    return nlmsg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, struct.pack("=BxHiII", 0, 0, ifindex, 0, 0), seq)


def rtm_getlink_one(ifindex, seq=1):
    return nlmsg(RTM_GETLINK, NLM_F_REQUEST, struct.pack("=BxHiII", 0, 0, ifindex, 0, 0), seq)


def link_names(payloads):
    names = []
    for payload in payloads:
        rest = payload[16:]
        while len(rest) >= 4:
            n, t = struct.unpack("=HH", rest[:4])
            if n < 4:
                break
            if t == IFLA_IFNAME:
                names.append(rest[4:n].rstrip(b"\0").decode("ascii", "replace"))
            rest = rest[(n + 3) & ~3:]
    return names


# ---------------------------------------------------------------- helpers on handles

SO_DOMAIN = getattr(socket, "SO_DOMAIN", 39)
SO_PROTOCOL = getattr(socket, "SO_PROTOCOL", 38)


def number_of(value):
    """A family, type or protocol as the daemon names it, as a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        v = getattr(socket, value, None)
        if isinstance(v, int):
            return int(v)
    return None


def real_kind(c, h):
    """SO_DOMAIN, SO_TYPE, SO_PROTOCOL of a handle as numbers (raw getsockopt)."""
    out = {}
    for name, opt in (("family", SO_DOMAIN), ("type", socket.SO_TYPE), ("proto", SO_PROTOCOL)):
        msg = c.keep("socket.getsockopt", {"handle": h, "level": "SOL_SOCKET", "option": opt, "buflen": 4})
        data = unb64(msg.get("result", {}).get("data"))
        out[name] = struct.unpack("=i", data)[0] if len(data) == 4 else None
    return out


def new_handle(c, params):
    """socket.create without pass: (handle or None, reply)."""
    msg = c.keep("socket.create", params)
    h = msg.get("result", {}).get("handle")
    return (h if isinstance(h, int) else None), msg


def captures(fd):
    """Whether a (packet) descriptor sees a datagram this process sends to
    127.0.0.1 (3 s at most)."""
    s = socket.socket(fileno=os.dup(fd))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    marker = b"hostile capture %d" % os.getpid()
    try:
        s.settimeout(3)
        u.sendto(marker, ("127.0.0.1", 9))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                if marker in s.recv(65536):
                    return True
            except socket.timeout:
                break
        return False
    except OSError as e:
        return errno_name(e)
    finally:
        s.close()
        u.close()


# ---------------------------------------------------------------- 1. socket kind

def area_kind(args):
    c = Client(args[0])
    attacks = [
        {"family": "AF_INET", "type": 10, "proto": 768, "pass": True},
        {"family": "AF_INET", "type": 10, "proto": 768},
        {"family": "AF_INET", "type": "SOCK_PACKET", "proto": 768, "pass": True},
        {"family": "AF_INET", "type": 10 | 2048, "proto": 768, "pass": True},
        {"family": "AF_INET", "type": 10 | 524288, "proto": 768},
        {"family": "AF_INET", "type": 10, "proto": 0, "pass": True},
        {"family": 2, "type": 10, "proto": 3},
    ]
    for p in attacks:
        before = handles(c)
        msg, fds = c.call("socket.create", p)
        doms = [sockopt_int(fd, socket.SOL_SOCKET, SO_DOMAIN) for fd in fds]
        caught = [captures(fd) for fd, d in zip(fds, doms) if d == socket.AF_PACKET]
        close_fds(fds)
        new = [h for h in handles(c) if h not in before]
        kinds = [real_kind(c, h) for h in new]
        for h in new:
            c.keep("socket.close", {"handle": h})
        check("socket.create %s (SOCK_PACKET, a packet socket in disguise) is refused, no descriptor, no handle"
              % short(p), "error" in msg and not fds and not new,
              reply=msg, so_domain=doms, captured=caught, new_handles=kinds)
    msg, fds = c.call("socket.pair", {"family": "AF_INET", "type": 10})
    close_fds(fds)
    check("socket.pair {AF_INET, type 10} is refused", "error" in msg and not fds, reply=msg)
    msg = c.keep("socket.create", {"family": "AF_PACKET", "type": "SOCK_RAW", "proto": 768})
    check("socket.create {AF_PACKET, SOCK_RAW} is denied (-32010)", denied(msg), reply=msg)

    # The legitimate variants, and what a handle records.
    msg, fds = c.call("socket.create", {"family": "AF_INET", "type": "SOCK_DGRAM", "pass": True})
    doms = [(sockopt_int(fd, socket.SOL_SOCKET, SO_DOMAIN), sockopt_int(fd, socket.SOL_SOCKET, socket.SO_TYPE))
            for fd in fds]
    close_fds(fds)
    check("socket.create {AF_INET, SOCK_DGRAM, pass} gives one AF_INET SOCK_DGRAM descriptor",
          "result" in msg and doms == [(socket.AF_INET, socket.SOCK_DGRAM)], reply=msg, kinds=doms)
    for p in ({"family": "AF_INET", "type": "SOCK_STREAM"}, {"family": "AF_INET", "type": "SOCK_DGRAM"},
              {"family": "AF_INET6", "type": "SOCK_STREAM", "proto": 0},
              {"family": "AF_INET", "type": "SOCK_STREAM", "proto": "IPPROTO_TCP"}):
        h, msg = new_handle(c, p)
        if not check("socket.create %s gives a handle" % short(p), h, reply=msg):
            continue
        real = real_kind(c, h)
        info = c.keep("socket.info", {"handle": h}).get("result", {})
        listed = [s for s in c.keep("socket.list").get("result", {}).get("sockets", []) if s.get("handle") == h]
        recorded = {k: number_of(info.get(k)) for k in ("family", "type", "proto")}
        in_list = {k: number_of(listed[0].get(k)) for k in ("family", "type", "proto")} if listed else None
        check("the handle of socket.create %s records the socket's real SO_DOMAIN/SO_TYPE/SO_PROTOCOL %s "
              "(socket.info and socket.list)" % (short(p), short(real)),
              recorded == real and in_list == real, info=info, real=real, listed=listed)
        c.keep("socket.close", {"handle": h})
    c.close()


# ---------------------------------------------------------------- 2. netlink messages

def nl_handle(c, proto=0, type_="SOCK_RAW"):
    h, msg = new_handle(c, {"family": "AF_NETLINK", "type": type_, "proto": proto})
    if h:
        c.keep("socket.settimeout", {"handle": h, "timeout": 5})
    return h, msg


def nl_drain(c, h):
    """The replies waiting on a netlink handle (its send is synchronous):
    [errno of each ack, or the message type]."""
    out = []
    for _ in range(16):
        msg = c.keep("socket.recv", {"handle": h, "bufsize": 65536, "flags": ["MSG_DONTWAIT"]})
        if "result" not in msg:
            break
        for kind, _, _, payload in nl_parse(unb64(msg["result"]["data"])):
            if kind == NLMSG_ERROR and len(payload) >= 4:
                e = -struct.unpack("=i", payload[:4])[0]
                out.append("ack " + (errno.errorcode.get(e, str(e)) if e else "0"))
            else:
                out.append("type %d" % kind)
    return out


def nl_getlink(c, h):
    """RTM_GETLINK dump through a handle: (reply of the send, link names or None)."""
    msg = c.keep("socket.send", {"handle": h, "data": b64(rtm_getlink_dump(seq=500))})
    if "result" not in msg:
        return msg, None
    payloads = []
    for _ in range(64):
        r = c.keep("socket.recv", {"handle": h, "bufsize": 65536})
        if "result" not in r:
            return r, None
        parts = nl_parse(unb64(r["result"]["data"]))
        payloads += [p for kind, _, _, p in parts if kind == RTM_NEWLINK]
        if any(kind in (NLMSG_DONE, NLMSG_ERROR) for kind, _, _, _ in parts):
            break
    return msg, link_names(payloads)


def area_netlink(args):
    sock, mode = args[0], args[1]
    c = Client(sock)
    h, msg = nl_handle(c)
    if not check("socket.create {AF_NETLINK, SOCK_RAW, proto 0 (NETLINK_ROUTE)} gives a handle", h, reply=msg):
        return
    if mode == "ungranted":
        seq = itertools.count(10)
        cases = [("socket.send", {}), ("socket.sendall", {}), ("socket.send", {"flags": ["MSG_DONTWAIT"]}),
                 ("socket.sendmsg", None), ("socket.sendto", {"address": {"pid": 0, "groups": 0}})]
        for n, (method, extra) in enumerate(cases, 1):
            addr = "10.99.0.%d" % n
            data = rtm_addr(RTM_NEWADDR, addr, 24, 1, seq=next(seq))
            if extra is None:
                params = {"handle": h, "buffers": [b64(data)]}
            else:
                params = dict({"handle": h, "data": b64(data)}, **extra)
            msg = c.keep(method, params)
            acks = nl_drain(c, h) if "result" in msg else []
            added = addr in local_ipv4_addrs()
            check("%s%s of RTM_NEWADDR %s/24 on lo is denied (-32010) and the address is not added"
                  % (method, " " + short(extra) if extra else "", addr),
                  denied(msg) and not added, reply=msg, replies=acks, added=added)
        # Smuggled behind a harmless request in the same datagram.
        addr = "10.99.0.20"
        data = rtm_getlink_one(1, seq=next(seq)) + rtm_addr(RTM_NEWADDR, addr, 24, 1, seq=next(seq))
        msg = c.keep("socket.send", {"handle": h, "data": b64(data)})
        acks = nl_drain(c, h) if "result" in msg else []
        added = addr in local_ipv4_addrs()
        check("socket.send of RTM_GETLINK followed by RTM_NEWADDR %s/24 in one datagram is denied and adds nothing"
              % addr, denied(msg) and not added, reply=msg, replies=acks, added=added)
        for label, data in (("RTM_DELADDR 10.99.0.99/24 on lo", rtm_addr(RTM_DELADDR, "10.99.0.99", 24, 1)),
                            ("RTM_NEWROUTE 10.98.0.0/24 dev lo", rtm_newroute("10.98.0.0", 24, 1)),
                            ("RTM_NEWLINK on lo (changing nothing)", rtm_newlink_noop(1))):
            msg = c.keep("socket.send", {"handle": h, "data": b64(data)})
            acks = nl_drain(c, h) if "result" in msg else []
            check("socket.send of %s is denied (-32010)" % label, denied(msg), reply=msg, replies=acks)
        h2, msg = nl_handle(c, 0, "SOCK_DGRAM")
        if check("socket.create {AF_NETLINK, SOCK_DGRAM, proto 0} gives a handle", h2, reply=msg):
            addr = "10.99.0.21"
            msg = c.keep("socket.send", {"handle": h2, "data": b64(rtm_addr(RTM_NEWADDR, addr, 24, 1))})
            acks = nl_drain(c, h2) if "result" in msg else []
            added = addr in local_ipv4_addrs()
            check("socket.send of RTM_NEWADDR %s/24 through a SOCK_DGRAM netlink handle is denied, nothing added"
                  % addr, denied(msg) and not added, reply=msg, replies=acks, added=added)
            c.keep("socket.close", {"handle": h2})
        # A descriptor handed out is the caller's: the kernel judges the caller.
        msg, fds = c.call("socket.create", {"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": 0, "pass": True})
        addr, ack = "10.99.0.22", None
        if len(fds) == 1:
            s = socket.socket(fileno=fds.pop())
            with s:
                s.settimeout(5)
                s.send(rtm_addr(RTM_NEWADDR, addr, 24, 1))
                ack = nl_ack_errno(s.recv(65536))
        close_fds(fds)
        added = addr in local_ipv4_addrs()
        check("RTM_NEWADDR %s/24 sent by the caller on a netlink descriptor from socket.create pass is refused "
              "by the kernel (EPERM), nothing added" % addr,
              ("error" in msg or ack == errno.EPERM) and not added, reply=msg, ack=ack, added=added)
    else:
        addr = "10.99.0.70"
        msg = c.keep("socket.send", {"handle": h, "data": b64(rtm_addr(RTM_NEWADDR, addr, 24, 1))})
        acks = nl_drain(c, h) if "result" in msg else []
        added = addr in local_ipv4_addrs()
        check("with a send grant for RTM_NEWADDR, socket.send of RTM_NEWADDR %s/24 is acknowledged (0) and "
              "the address is added" % addr, "result" in msg and acks == ["ack 0"] and added,
              reply=msg, replies=acks, added=added)
        msg = c.keep("socket.send", {"handle": h, "data": b64(rtm_addr(RTM_DELADDR, addr, 24, 1))})
        acks = nl_drain(c, h) if "result" in msg else []
        still = addr in local_ipv4_addrs()
        check("the RTM_NEWADDR grant does not cover RTM_DELADDR: denied (-32010), %s stays" % addr,
              denied(msg) and still, reply=msg, replies=acks, present=still)
        h12, msg = nl_handle(c, 12)
        if check("socket.create {AF_NETLINK, SOCK_RAW, proto 12 (NETLINK_NETFILTER)} gives a handle", h12,
                 reply=msg):
            msg = c.keep("socket.send", {"handle": h12, "data": b64(rtm_addr(RTM_NEWADDR, "10.99.0.71", 24, 1))})
            acks = nl_drain(c, h12) if "result" in msg else []
            check("the grant of RTM_NEWADDR (20) on NETLINK_ROUTE does not cover message 20 on NETLINK_NETFILTER "
                  "(-32010)", denied(msg), reply=msg, replies=acks)
            c.keep("socket.close", {"handle": h12})
    msg, names = nl_getlink(c, h)
    check("an RTM_GETLINK dump through the handle still works and lists lo", names is not None and "lo" in names,
          reply=msg, links=names)
    c.close()


# ---------------------------------------------------------------- 3 and 6. AF_UNIX paths

def area_unix_server(args):
    """(root) listens on every spec (stream:PATH, dgram:PATH, abstract:NAME),
    says "serving", then answers each stream connection with one JSON line
    holding the connecting process's SO_PEERCRED."""
    socks = {}
    for spec in args:
        kind, _, where = spec.partition(":")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_STREAM)
        if kind == "abstract":
            s.bind("\0" + where)
        else:
            try:
                os.unlink(where)
            except FileNotFoundError:
                pass
            s.bind(where)
            os.chmod(where, 0o666)
        if kind != "dgram":
            s.listen(64)
        socks[s] = (kind, where)
    emit({"event": "serving", "at": [w for _, w in socks.values()]})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select(list(socks), [], [], max(0.1, deadline - time.monotonic()))
        for s in ready:
            kind, where = socks[s]
            if kind == "dgram":
                s.recv(65536)
                emit({"event": "datagram", "at": where})
                continue
            conn, _ = s.accept()
            with conn:
                pid, uid, gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
                conn.settimeout(5)
                try:
                    conn.sendall(json.dumps({"at": where, "uid": uid, "gid": gid, "pid": pid}).encode() + b"\n")
                except OSError:
                    pass
            emit({"event": "connection", "at": where, "uid": uid, "gid": gid})
    return 0


def unix_addr(a):
    return {"abstract": a[1:]} if a.startswith("@") else a


def unix_connect(c, address, type_="SOCK_STREAM"):
    """A new AF_UNIX handle connected to address: (reply of connect, handle)."""
    h, msg = new_handle(c, {"family": "AF_UNIX", "type": type_})
    if not h:
        return msg, None
    c.keep("socket.settimeout", {"handle": h, "timeout": 10})
    return c.keep("socket.connect", {"handle": h, "address": unix_addr(address)}), h


def recv_line(c, h):
    data = b""
    for _ in range(16):
        msg = c.keep("socket.recv", {"handle": h, "bufsize": 65536})
        chunk = unb64(msg.get("result", {}).get("data"))
        if not chunk:
            break
        data += chunk
        if b"\n" in data:
            break
    try:
        return json.loads(data.split(b"\n", 1)[0].decode())
    except ValueError:
        return {"raw": data[:200].decode("utf-8", "replace")}


def as_the_daemon(c, h):
    """Through a handle connected to the control socket: whoami, admin.clients."""
    seen = {}
    for method in ("daemon.whoami", "admin.clients"):
        c.keep("socket.sendall", {"handle": h, "text": json.dumps({"jsonrpc": "2.0", "id": 1, "method": method}) + "\n"})
        reply = recv_line(c, h)
        seen[method] = reply.get("result", reply.get("error")) if isinstance(reply, dict) else reply
    who = seen.get("daemon.whoami")
    clients = seen.get("admin.clients")
    return {"whoami_uid": who.get("uid") if isinstance(who, dict) else who,
            "admin_clients": (len(clients.get("clients", [])) if isinstance(clients, dict) and "clients" in clients
                              else clients)}


def exists(path):
    try:
        st = os.lstat(path)
        return {"uid": st.st_uid, "gid": st.st_gid}
    except OSError:
        return None


def area_unix_a(args):
    """Only an AF_UNIX connect/bind grant without a path: none of it reaches."""
    sock, d, absname = args[0], args[1], args[2]
    c = Client(sock)
    base = os.path.dirname(sock)
    for target in (sock, d + "/link-ctl.sock", base + "//" + os.path.basename(sock),
                   base + "/./" + os.path.basename(sock)):
        msg, h = unix_connect(c, target)
        seen = as_the_daemon(c, h) if "result" in msg else None
        check("socket.connect to the daemon's own control socket (%s) is refused" % target,
              "error" in msg, reply=msg, through_it=seen)
    for target in (d + "/app/ok.sock", "@" + absname):
        msg, h = unix_connect(c, target)
        peer = recv_line(c, h) if "result" in msg else None
        check("socket.connect to %s without a path grant is denied (-32010)" % target, denied(msg),
              reply=msg, server_saw=peer)
    h, msg = new_handle(c, {"family": "AF_UNIX", "type": "SOCK_DGRAM"})
    if h:
        msg = c.keep("socket.sendto", {"handle": h, "text": "x", "address": d + "/app/dgram.sock"})
    check("socket.sendto %s/app/dgram.sock without a path grant is denied (-32010)" % d, denied(msg), reply=msg)
    for target in (d + "/rootdir/a.sock", d + "/policy.d/evil.json"):
        h, msg = new_handle(c, {"family": "AF_UNIX", "type": "SOCK_STREAM"})
        if h:
            msg = c.keep("socket.bind", {"handle": h, "address": target})
        made = exists(target)
        check("socket.bind %s without a path grant is denied (-32010) and creates nothing" % target,
              denied(msg) and not made, reply=msg, created=made)
    target = d + "/rootdir/b.sock"
    msg = c.keep("socket.listen_on", {"family": "AF_UNIX", "address": target})
    made = exists(target)
    check("socket.listen_on %s without a path grant is denied (-32010) and creates nothing" % target,
          denied(msg) and not made, reply=msg, created=made)
    msg = c.keep("socket.pair", {"family": "AF_UNIX", "type": "SOCK_STREAM"})
    check("socket.pair AF_UNIX (no path involved) still works", "result" in msg, reply=msg)
    c.close()


def area_unix_b(args):
    """Path grants: exact, prefix, glob, abstract; the caller's credentials."""
    sock, d, absname = args[0], args[1], args[2]
    uid, gid = os.getuid(), os.getgid()
    c = Client(sock)
    for target in (d + "/app/ok.sock", d + "/pre/a.sock", d + "/glob/b.sock", "@" + absname):
        msg, h = unix_connect(c, target)
        peer = recv_line(c, h) if "result" in msg else None
        check("socket.connect to the granted %s works" % target, "result" in msg and isinstance(peer, dict),
              reply=msg, server_saw=peer)
        if "result" in msg:
            check("the server at %s sees the caller's credentials (uid %d gid %d), not root's" % (target, uid, gid),
                  isinstance(peer, dict) and peer.get("uid") == uid and peer.get("gid") == gid, server_saw=peer)
    for target, why in ((d + "/private/secret.sock", "a path no rule names"),
                        (d + "/glob/c.notsock", "outside the glob *.sock"),
                        (d + "/pre-evil/x.sock", "a sibling of the prefix, not below it"),
                        ("@" + absname + "-other", "another abstract name")):
        msg, h = unix_connect(c, target)
        peer = recv_line(c, h) if "result" in msg else None
        check("socket.connect to %s (%s) is denied (-32010)" % (target, why), denied(msg), reply=msg,
              server_saw=peer)
    for target, why in ((d + "/pre/../private/secret.sock", "dot-dot out of a granted prefix"),
                        (d + "/pre/secret-link.sock", "a symbolic link in a granted prefix to a root-only socket")):
        msg, h = unix_connect(c, target)
        peer = recv_line(c, h) if "result" in msg else None
        check("socket.connect to %s (%s) is refused" % (target, why), "error" in msg, reply=msg, server_saw=peer)
    for target, why in ((sock, "granted by an exact path rule"),
                        (d + "/pre/ctl-link.sock", "a symbolic link in a granted prefix")):
        msg, h = unix_connect(c, target)
        seen = as_the_daemon(c, h) if "result" in msg else None
        check("socket.connect to the daemon's own control socket (%s, %s) is refused" % (target, why),
              "error" in msg, reply=msg, through_it=seen)
    target = d + "/nobodydir/mine.sock"
    h, msg = new_handle(c, {"family": "AF_UNIX", "type": "SOCK_STREAM"})
    if h:
        msg = c.keep("socket.bind", {"handle": h, "address": target})
    made = exists(target)
    check("socket.bind in a granted directory the caller owns (%s) works and the file is the caller's (uid %d)"
          % (target, uid), "result" in msg and made is not None and made["uid"] == uid, reply=msg, created=made)
    target = d + "/nobodydir/srv.sock"
    msg = c.keep("socket.listen_on", {"family": "AF_UNIX", "address": target})
    made = exists(target)
    check("socket.listen_on %s works and the file is the caller's (uid %d)" % (target, uid),
          "result" in msg and made is not None and made["uid"] == uid, reply=msg, created=made)
    for target in (d + "/rootdir/x.sock", d + "/policy.d/evil-b.json"):
        h, msg = new_handle(c, {"family": "AF_UNIX", "type": "SOCK_STREAM"})
        if h:
            msg = c.keep("socket.bind", {"handle": h, "address": target})
        made = exists(target)
        check("socket.bind in a granted directory the caller cannot write (%s) is refused (EACCES or -32010) "
              "and creates nothing" % target,
              (denied(msg) or oserr(msg) in ("EACCES", "EPERM")) and not made, reply=msg, created=made)
    target = d + "/outside.sock"
    h, msg = new_handle(c, {"family": "AF_UNIX", "type": "SOCK_STREAM"})
    if h:
        msg = c.keep("socket.bind", {"handle": h, "address": target})
    made = exists(target)
    check("socket.bind %s (no path grant) is denied (-32010) and creates nothing" % target,
          denied(msg) and not made, reply=msg, created=made)
    c.close()


# ---------------------------------------------------------------- 4. unspecified destinations

def area_addr(args):
    sock = args[0]
    c = Client(sock)
    lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    lst.bind(("::", 0))
    lst.listen(64)
    lst.setblocking(False)
    port = lst.getsockname()[1]
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.bind(("::", 0))
    udp.setblocking(False)
    uport = udp.getsockname()[1]

    def reached():
        n = 0
        while True:
            try:
                conn, _ = lst.accept()
            except BlockingIOError:
                return n
            conn.close()
            n += 1

    def arrived():
        n = 0
        while True:
            try:
                udp.recv(65536)
            except BlockingIOError:
                return n
            n += 1

    v4 = ["0.0.0.0", "0", "", "127.0.0.1", "127.1"]
    v6 = ["::", "::0", "0:0:0:0:0:0:0:0", "::ffff:0.0.0.0", "::ffff:127.0.0.1", "::ffff:7f00:1", "::1"]
    for fam, hosts in (("AF_INET", v4), ("AF_INET6", v6)):
        for host in hosts:
            for method in ("socket.connect", "socket.connect_ex"):
                h, msg = new_handle(c, {"family": fam, "type": "SOCK_STREAM"})
                if h:
                    c.keep("socket.settimeout", {"handle": h, "timeout": 10})
                    msg = c.keep(method, {"handle": h, "address": [host, port]})
                    c.keep("socket.close", {"handle": h})
                n = reached()
                check("%s of an %s handle to %s port %d (a loopback listener; 127.0.0.0/8 and ::1 denied) is denied "
                      "(-32010) and reaches nothing" % (method, fam, json.dumps(host), port),
                      denied(msg) and n == 0, reply=msg, connections=n)
    for host in [h for h in v4 if h] + v6:     # "" is no host for connect_to (-32602)
        msg = c.keep("socket.connect_to", {"address": [host, port], "timeout": 10})
        close_all(c)
        n = reached()
        check("socket.connect_to [%s, %d] is denied (-32010) and reaches nothing" % (json.dumps(host), port),
              denied(msg) and n == 0, reply=msg, connections=n)
    for fam, hosts in (("AF_INET", ["0.0.0.0", "127.0.0.1", "0"]),
                       ("AF_INET6", ["::", "::ffff:0.0.0.0", "::ffff:127.0.0.1", "::1"])):
        for host in hosts:
            h, msg = new_handle(c, {"family": fam, "type": "SOCK_DGRAM"})
            if h:
                msg = c.keep("socket.sendto", {"handle": h, "text": "hostile", "address": [host, uport]})
                c.keep("socket.close", {"handle": h})
            n = arrived()
            check("socket.sendto of an %s handle to %s port %d is denied (-32010), nothing arrives"
                  % (fam, json.dumps(host), uport), denied(msg) and n == 0, reply=msg, datagrams=n)
    h, msg = new_handle(c, {"family": "AF_INET", "type": "SOCK_DGRAM"})
    if h:
        msg = c.keep("socket.sendmsg", {"handle": h, "buffers": [b64(b"hostile")], "address": ["0.0.0.0", uport]})
        c.keep("socket.close", {"handle": h})
    n = arrived()
    check("socket.sendmsg to 0.0.0.0 port %d is denied (-32010), nothing arrives" % uport,
          denied(msg) and n == 0, reply=msg, datagrams=n)
    # The legitimate variants: addresses the rule allows.
    for fam, host in (("AF_INET", "10.77.0.1"), ("AF_INET6", "fd00:99::1")):
        h, msg = new_handle(c, {"family": fam, "type": "SOCK_STREAM"})
        if h:
            c.keep("socket.settimeout", {"handle": h, "timeout": 10})
            msg = c.keep("socket.connect", {"handle": h, "address": [host, port]})
            c.keep("socket.close", {"handle": h})
        n = reached()
        check("socket.connect to the allowed %s port %d works" % (host, port), "result" in msg and n == 1,
              reply=msg, connections=n)
    msg = c.keep("socket.connect_to", {"address": ["10.77.0.1", port], "timeout": 10})
    close_all(c)
    n = reached()
    check("socket.connect_to the allowed [\"10.77.0.1\", %d] works" % port, "result" in msg and n == 1,
          reply=msg, connections=n)
    h, msg = new_handle(c, {"family": "AF_INET", "type": "SOCK_DGRAM"})
    if h:
        msg = c.keep("socket.sendto", {"handle": h, "text": "fine", "address": ["10.77.0.1", uport]})
        c.keep("socket.close", {"handle": h})
    n = arrived()
    check("socket.sendto the allowed 10.77.0.1 port %d arrives" % uport, "result" in msg and n == 1,
          reply=msg, datagrams=n)
    c.close()


# ---------------------------------------------------------------- 5. name resolution

def dns_name(packet):
    """The first question's name of a DNS query, or None."""
    labels, i = [], 12
    try:
        while packet[i]:
            n = packet[i]
            labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
    except IndexError:
        return None
    return ".".join(labels)


def dns_query(name, qid=0x4242):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def area_dns_recorder(args):
    """(root, in the daemon's namespace) a name server at ADDR:53 that answers
    nothing but marks: each question goes to LOG as one JSON line ({"query":
    name}); a question for a name starting "mark-" is logged and answered, so
    that whoever asked it knows every earlier question is in LOG. Prints
    {"event": "bound"} once bound."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args[0], 53))
    log = open(args[1], "a")
    emit({"event": "bound"})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([s], [], [], max(0.1, deadline - time.monotonic()))
        if not ready:
            continue
        packet, peer = s.recvfrom(4096)
        name = dns_name(packet) or "?"
        log.write(json.dumps({"query": name}) + "\n")
        log.flush()
        if name.startswith("mark-") and len(packet) >= 12:
            s.sendto(packet[:2] + struct.pack("!H", 0x8183) + packet[4:], peer)    # NXDOMAIN
    return 0


def area_dns_mark(args):
    """Asks the recorder at ADDR for NAME (a "mark-" name) and waits for its
    answer (10 s at most): then every earlier question is in its log."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    with s:
        s.sendto(dns_query(args[1]), (args[0], 53))
        try:
            s.recv(4096)
        except socket.timeout:
            return 1
    return 0


def area_resolve_refused(args):
    """Names no rule could allow: refused at once, with no look-up."""
    sock, names = args[0], args[1:]
    c = Client(sock)
    for name in names:
        t0 = time.monotonic()
        msg = c.keep("socket.connect_to", {"address": [name, 80], "timeout": 20})
        took = round(time.monotonic() - t0, 3)
        close_all(c)
        check("socket.connect_to [%s, 80] (no rule could allow that name) is denied (-32010), not looked up"
              % json.dumps(name), denied(msg), reply=msg, seconds=took)
        h, msg = new_handle(c, {"family": "AF_INET", "type": "SOCK_STREAM"})
        if h:
            t0 = time.monotonic()
            msg = c.keep("socket.connect", {"handle": h, "address": [name, 80]})
            took = round(time.monotonic() - t0, 3)
            c.keep("socket.close", {"handle": h})
            check("socket.connect {handle, [%s, 80]} is denied (-32010), not looked up" % json.dumps(name),
                  denied(msg), reply=msg, seconds=took)
    c.close()


def area_resolve_allowed(args):
    """A name a rule may allow is looked up (the recorder sees it) and fails
    as a look-up (-32001), since the name server answers nothing."""
    sock, name = args[0], args[1]
    c = Client(sock)
    msg = c.keep("socket.connect_to", {"address": [name, 80], "timeout": 20})
    close_all(c)
    check("socket.connect_to [%s, 80] (a name a rule allows) is looked up and fails as a look-up (-32001)"
          % json.dumps(name), code(msg) == -32001, reply=msg)
    c.close()


def area_resolve_fill(args):
    """Two connections of one user park as many look-ups as the daemon takes
    (N each); every answer before a ping is a refusal at the user's share
    (-32012 resolver_share) and at least one comes. Says "filled", then holds
    them until killed."""
    sock, n = args[0], int(args[1])
    conns = [Client(sock), Client(sock)]
    counts = {"refused": 0, "other": []}
    for k, c in enumerate(conns):
        for i in range(n):
            c.start("socket.connect_to", {"address": ["fill%d-%d.allowed.test" % (k, i), 80], "timeout": 60},
                    rid="fill%d" % i)
        c.start("daemon.ping", rid="ping")
        while True:
            msg, fds = c.recv()
            close_fds(fds)
            if msg.get("id") == "ping":
                break
            if code(msg) == LIMIT and msg.get("error", {}).get("data", {}).get("limit") == "resolver_share":
                counts["refused"] += 1
            else:
                counts["other"].append(msg)
    check("%d look-ups of one user were parked or refused at its share (-32012 resolver_share), nothing else"
          % (2 * n), not counts["other"] and counts["refused"] > 0, refused=counts["refused"],
          other=counts["other"][:3])
    emit({"event": "filled", "refused": counts["refused"], "parked": 2 * n - counts["refused"]})
    signal.pause()      # held until the test stops this helper (SIGTERM)
    return 0


def area_resolve_other(args):
    """Another user's look-up while the first one holds its share."""
    sock = args[0]
    c = Client(sock, timeout=60)
    t0 = time.monotonic()
    msg = c.keep("net.getaddrinfo", {"host": "localhost", "port": 80, "type": "SOCK_STREAM"})
    took = round(time.monotonic() - t0, 3)
    check("uid %d's net.getaddrinfo localhost is answered while another user fills its share of the resolver "
          "(not -32012 resolver_queue)" % os.getuid(), "result" in msg, reply=msg, seconds=took)
    c.close()


# ---------------------------------------------------------------- 7. privileged options

IPOPT_SEC = bytes([130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])    # security option + end-of-list: CAP_NET_RAW


def anycast6():
    with open("/proc/net/anycast6") as f:
        return f.read()


def area_options(args):
    sock, mode = args[0], args[1]
    c = Client(sock)
    group = socket.inet_pton(socket.AF_INET6, "fd00:99::5") + struct.pack("=i", 1)
    group_hex = "fd000099000000000000000000000005"

    def opt(params_sock, level, option, value, probe=None):
        """setsockopt on a new handle; probe() runs before it is closed."""
        h, msg = new_handle(c, params_sock)
        if not h:
            return (msg, None) if probe else msg
        msg = c.keep("socket.setsockopt", {"handle": h, "level": level, "option": option, "value": value})
        seen = probe() if probe else None
        c.keep("socket.close", {"handle": h})
        return (msg, seen) if probe else msg

    v6 = {"family": "AF_INET6", "type": "SOCK_DGRAM"}
    v4 = {"family": "AF_INET", "type": "SOCK_DGRAM"}
    tcp = {"family": "AF_INET", "type": "SOCK_STREAM"}
    if mode == "ungranted":
        for level, option in (("IPPROTO_IPV6", "IPV6_JOIN_ANYCAST"), (41, 27)):
            msg, joined = opt(v6, level, option, {"data": b64(group)}, lambda: group_hex in anycast6())
            check("setsockopt %s %s fd00:99::5 on lo is denied (-32010), /proc/net/anycast6 unchanged"
                  % (level, option), denied(msg) and not joined, reply=msg, joined=joined)
        for sk, level, option in ((v4, "IPPROTO_IP", "IP_OPTIONS"), (v4, 0, 4), (tcp, "IPPROTO_IP", "IP_OPTIONS")):
            msg = opt(sk, level, option, {"data": b64(IPOPT_SEC)})
            check("setsockopt %s %s of a %s socket with the security option (needs CAP_NET_RAW) is denied (-32010)"
                  % (level, option, sk["type"]), denied(msg), reply=msg)
        # The same option as ancillary data of one datagram.
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("10.77.0.1", 0))
        rx.setblocking(False)
        h, msg = new_handle(c, v4)
        if h:
            msg = c.keep("socket.sendmsg", {"handle": h, "buffers": [b64(b"hostile")],
                                            "ancdata": [{"level": "IPPROTO_IP", "type": 7, "data": b64(IPOPT_SEC)}],
                                            "address": ["10.77.0.1", rx.getsockname()[1]]})
            c.keep("socket.close", {"handle": h})
        try:
            got = len(rx.recv(65536))
        except BlockingIOError:
            got = 0
        rx.close()
        check("socket.sendmsg with IP_RETOPTS ancillary data holding the security option is denied (-32010), "
              "nothing sent", denied(msg) and not got, reply=msg, received=got)
        for proto, group_no, why in ((12, 1, "NETLINK_NETFILTER group 1 (conntrack events)"),
                                     (12, 3, "NETLINK_NETFILTER group 3 (conntrack destroy events)"),
                                     (6, 1, "NETLINK_XFRM group 1 (IPsec acquire events)")):
            msg = opt({"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": proto}, 270, 1, group_no)
            check("setsockopt SOL_NETLINK NETLINK_ADD_MEMBERSHIP of %s is denied (-32010)" % why, denied(msg),
                  reply=msg)
            h, msg = new_handle(c, {"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": proto})
            if h:
                msg = c.keep("socket.bind", {"handle": h, "address": {"pid": 0, "groups": 1 << (group_no - 1)}})
                c.keep("socket.close", {"handle": h})
            check("socket.bind of a netlink socket to %s (the same membership) is denied (-32010)" % why,
                  denied(msg), reply=msg)
        msg = opt({"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": 0}, 270, 8, 1)
        check("setsockopt SOL_NETLINK NETLINK_LISTEN_ALL_NSID (needs CAP_NET_BROADCAST) is denied (-32010)",
              denied(msg), reply=msg)
        for sk, level, option, value in ((v4, "SOL_SOCKET", "SO_MARK", 5), (v4, "SOL_SOCKET", "SO_PRIORITY", 7),
                                         (v4, "SOL_SOCKET", "SO_RCVBUFFORCE", 1 << 20),
                                         (v4, "IPPROTO_IP", "IP_TRANSPARENT", 1),
                                         (v6, "IPPROTO_IPV6", "IPV6_TRANSPARENT", 1),
                                         (tcp, "IPPROTO_TCP", "TCP_REPAIR", 1),
                                         (tcp, "IPPROTO_TCP", "TCP_CONGESTION", "cubic")):
            msg = opt(sk, level, option, value)
            check("setsockopt %s %s %s is denied (-32010)" % (level, option, json.dumps(value)), denied(msg),
                  reply=msg)
        for label, sk, level, option, value in (
                ("SO_PRIORITY 3", v4, "SOL_SOCKET", "SO_PRIORITY", 3),
                ("SO_KEEPALIVE 1", tcp, "SOL_SOCKET", "SO_KEEPALIVE", 1),
                ("NETLINK_ADD_MEMBERSHIP of NETLINK_ROUTE group 1 (RTNLGRP_LINK)",
                 {"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": 0}, 270, 1, 1)):
            msg = opt(sk, level, option, value)
            check("setsockopt %s (open to every user) still works" % label, "result" in msg, reply=msg)
    else:
        msg, joined = opt(v6, "IPPROTO_IPV6", "IPV6_JOIN_ANYCAST", {"data": b64(group)},
                          lambda: group_hex in anycast6())
        check("with a setsockopt rule naming IPV6_JOIN_ANYCAST, joining fd00:99::5 works (in /proc/net/anycast6)",
              "result" in msg and joined, reply=msg, joined=joined)
        msg = opt(v4, "IPPROTO_IP", "IP_OPTIONS", {"data": b64(IPOPT_SEC)})
        check("with a setsockopt rule naming IP_OPTIONS, the security option is set", "result" in msg, reply=msg)
        msg = opt({"family": "AF_NETLINK", "type": "SOCK_RAW", "proto": 12}, 270, 1, 1)
        check("with a setsockopt rule naming SOL_NETLINK option 1, NETLINK_ADD_MEMBERSHIP of NETLINK_NETFILTER "
              "group 1 works", "result" in msg, reply=msg)
        msg = opt(v4, "SOL_SOCKET", "SO_MARK", 5)
        check("SO_MARK, which no rule names, is still denied (-32010)", denied(msg), reply=msg)
    c.close()


# ---------------------------------------------------------------- 8. SO_REUSEPORT

def area_reuse_victim(args):
    """(another user) a listener with SO_REUSEPORT through the daemon (pass)
    and one of its own; says "listening" with both ports, holds them."""
    c = Client(args[0])
    msg, fds = c.call("socket.listen_on", {"address": ["127.0.0.1", 0], "reuse_port": True, "pass": True})
    if not check("uid %d: socket.listen_on {127.0.0.1:0, reuse_port, pass} gives a descriptor" % os.getuid(),
                 len(fds) == 1, reply=msg):
        return 1
    via = socket.socket(fileno=fds[0])
    own = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    own.bind(("127.0.0.1", 0))
    own.listen(64)
    emit({"event": "listening", "via_daemon": via.getsockname()[1], "own": own.getsockname()[1]})
    signal.pause()      # held until the test stops this helper (SIGTERM)
    return 0


def steal(c, h, port, tries=16):
    """Connects tries times to port; how many the handle h accepted."""
    conns = []
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            pass
        conns.append(s)
    c.keep("socket.settimeout", {"handle": h, "timeout": 0})
    stolen = 0
    for _ in range(tries):
        msg = c.keep("socket.accept", {"handle": h})
        if "result" not in msg:
            break
        stolen += 1
    for s in conns:
        s.close()
    close_all(c)
    return stolen


def area_reuseport(args):
    sock, victim_via, victim_own = args[0], int(args[1]), int(args[2])
    c = Client(sock)
    for port, whose in ((victim_via, "made through the daemon"), (victim_own, "its own")):
        msg = c.keep("socket.listen_on", {"address": ["127.0.0.1", port], "reuse_port": True})
        stolen = steal(c, msg["result"]["handle"], port) if "result" in msg else 0
        check("socket.listen_on {127.0.0.1:%d, reuse_port} beside uid 1's SO_REUSEPORT listener (%s) is refused "
              "(EADDRINUSE or -32010)" % (port, whose), "error" in msg, reply=msg, connections_taken=stolen)
        h, msg = new_handle(c, {"family": "AF_INET", "type": "SOCK_STREAM"})
        if h:
            c.keep("socket.setsockopt", {"handle": h, "level": "SOL_SOCKET", "option": "SO_REUSEPORT", "value": 1})
            msg = c.keep("socket.bind", {"handle": h, "address": ["127.0.0.1", port]})
            c.keep("socket.close", {"handle": h})
        check("socket.create, SO_REUSEPORT, socket.bind 127.0.0.1:%d (uid 1's, %s) is refused" % (port, whose),
              "error" in msg, reply=msg)
    # The legitimate variants: the caller's own reuse groups.
    msg = c.keep("socket.listen_on", {"address": ["127.0.0.1", 0], "reuse_port": True})
    port = msg.get("result", {}).get("local", {}).get("port")
    msg2 = c.keep("socket.listen_on", {"address": ["127.0.0.1", port or 0], "reuse_port": True})
    check("two socket.listen_on {reuse_port} of the same caller on one port (%s) both work" % port,
          "result" in msg and "result" in msg2 and port, first=msg, second=msg2)
    close_all(c)
    own = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    own.bind(("127.0.0.1", 0))
    own.listen(8)
    port = own.getsockname()[1]
    msg = c.keep("socket.listen_on", {"address": ["127.0.0.1", port], "reuse_port": True})
    check("socket.listen_on {reuse_port} joins the caller's own SO_REUSEPORT listener on %d (the socket is the "
          "caller's)" % port, "result" in msg, reply=msg)
    own.close()
    c.close()


# ---------------------------------------------------------------- 9. IPv6 binds and IPv4

def v4_reaches(port, kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError as e:
        return errno_name(e)
    finally:
        s.close()


def area_v6(args):
    sock, mode = args[0], args[1]
    c = Client(sock)
    if mode == "v6only":
        msg = c.keep("socket.listen_on", {"address": ["::", 0], "dualstack_ipv6": True})
        port = msg.get("result", {}).get("local", {}).get("port")
        reach = v4_reaches(port) if port else None
        check("socket.listen_on {[::]:0, dualstack_ipv6} with only a v6 bind grant is refused or does not accept "
              "IPv4", "error" in msg or reach is not True, reply=msg, ipv4_connect=reach)
        close_all(c)
        for label, pre in (("V6ONLY left at its default", []),
                           ("IPV6_V6ONLY set to 0 first", [("IPPROTO_IPV6", "IPV6_V6ONLY", 0)])):
            h, msg = new_handle(c, {"family": "AF_INET6", "type": "SOCK_STREAM"})
            steps = []
            if h:
                for level, option, value in pre:
                    steps.append(c.keep("socket.setsockopt",
                                        {"handle": h, "level": level, "option": option, "value": value}))
                msg = c.keep("socket.bind", {"handle": h, "address": ["::", 0]})
                if "result" in msg:
                    msg = c.keep("socket.listen", {"handle": h})
            port = None
            if h and "result" in msg:
                port = c.keep("socket.getsockname", {"handle": h}).get("result", {}).get("address", {}).get("port")
            reach = v4_reaches(port) if port else None
            check("socket.bind [\"::\", 0] and listen (%s) with only a v6 grant: the socket does not accept IPv4"
                  % label, reach is not True, reply=msg, steps=steps, ipv4_connect=reach)
            close_all(c)
        h, msg = new_handle(c, {"family": "AF_INET6", "type": "SOCK_DGRAM"})
        got = None
        if h:
            msg = c.keep("socket.bind", {"handle": h, "address": ["::", 0]})
            port = c.keep("socket.getsockname", {"handle": h}).get("result", {}).get("address", {}).get("port")
            if port:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.sendto(b"v4", ("127.0.0.1", port))
                u.close()
                r = c.keep("socket.recv", {"handle": h, "bufsize": 100, "flags": ["MSG_DONTWAIT"]})
                got = "result" in r
        check("a UDP socket bound to [\"::\", 0] with only a v6 grant receives no IPv4 datagram",
              got is not True, reply=msg, received=got)
        close_all(c)
        for host in ("::ffff:127.0.0.1", "::ffff:0.0.0.0"):
            h, msg = new_handle(c, {"family": "AF_INET6", "type": "SOCK_STREAM"})
            if h:
                msg = c.keep("socket.bind", {"handle": h, "address": [host, 0]})
            check("socket.bind [%s, 0] (an IPv4 address in IPv6 form) with only a v6 grant is denied (-32010)"
                  % json.dumps(host), denied(msg), reply=msg)
            close_all(c)
            msg = c.keep("socket.listen_on", {"address": [host, 0]})
            check("socket.listen_on [%s, 0] with only a v6 grant is refused" % json.dumps(host),
                  "error" in msg, reply=msg)
            close_all(c)
        # The legitimate variant: IPv6 itself.
        msg = c.keep("socket.listen_on", {"address": ["::", 0]})
        port = msg.get("result", {}).get("local", {}).get("port")
        ok6 = None
        if port:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.connect(("::1", port))
                ok6 = True
            except OSError as e:
                ok6 = errno_name(e)
            s.close()
        check("socket.listen_on [\"::\", 0] accepts an IPv6 connection to ::1", ok6 is True, reply=msg, ipv6=ok6)
        close_all(c)
    else:
        msg = c.keep("socket.listen_on", {"address": ["::", 0], "dualstack_ipv6": True})
        port = msg.get("result", {}).get("local", {}).get("port")
        reach = v4_reaches(port) if port else None
        check("with a v4 grant too, socket.listen_on {[::]:0, dualstack_ipv6} accepts IPv4",
              "result" in msg and reach is True, reply=msg, ipv4_connect=reach)
        close_all(c)
    c.close()


def area_nocaps(args):
    """A daemon without CAP_SETUID/CAP_SETGID cannot act as another user:
    what needs it fails closed instead of running as root."""
    sock, d = args[0], args[1]
    c = Client(sock)
    msg, h = unix_connect(c, d + "/nc/absent.sock")
    err = (msg.get("error") or {}).get("data") or {}
    check("socket.connect to a granted UNIX path fails with EPERM (not tried as root, which would say ENOENT)",
          code(msg) == -32000 and err.get("name") == "EPERM", reply=msg)
    h, msg = new_handle(c, {"family": "AF_UNIX", "type": "SOCK_DGRAM"})
    if h:
        msg = c.keep("socket.bind", {"handle": h, "address": d + "/nc/mine.sock"})
    err = (msg.get("error") or {}).get("data") or {}
    made = exists(d + "/nc/mine.sock")
    check("socket.bind in a granted directory fails with EPERM and creates nothing",
          code(msg) == -32000 and err.get("name") == "EPERM" and not made, reply=msg, created=made)
    msg = c.keep("socket.listen_on", {"address": ["127.0.0.1", 0], "reuse_port": True})
    check("socket.listen_on with reuse_port on a socket the daemon could not make the caller's is denied (-32010)",
          denied(msg), reply=msg)
    msg = c.keep("socket.listen_on", {"address": ["127.0.0.1", 0]})
    check("socket.listen_on without reuse_port still works", "result" in msg, reply=msg)
    c.close()


def area_reload(args):
    """(root) daemon.reload; exit 0 when the daemon took the policy."""
    c = Client(args[0])
    msg = c.keep("daemon.reload", {})
    emit({"event": "reload", "reply": msg})
    return 0 if "result" in msg else 1


AREAS = {
    "reload": area_reload,
    "kind": area_kind,
    "netlink": area_netlink,
    "unix-server": area_unix_server,
    "unix-a": area_unix_a,
    "unix-b": area_unix_b,
    "addr": area_addr,
    "dns-recorder": area_dns_recorder,
    "dns-mark": area_dns_mark,
    "resolve-refused": area_resolve_refused,
    "resolve-allowed": area_resolve_allowed,
    "resolve-fill": area_resolve_fill,
    "resolve-other": area_resolve_other,
    "options": area_options,
    "reuse-victim": area_reuse_victim,
    "reuseport": area_reuseport,
    "v6": area_v6,
    "nocaps": area_nocaps,
}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in AREAS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        rc = AREAS[sys.argv[1]](sys.argv[2:])
    except (OSError, ProtocolError, ValueError, KeyError, IndexError, TypeError) as e:
        check("%s ran to its end" % sys.argv[1], False, error="%s: %s" % (type(e).__name__, e))
        rc = None
    if rc is not None:
        return rc
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
