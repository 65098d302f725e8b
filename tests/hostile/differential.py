#!/usr/bin/env python3
"""The capability differential of tests/hostile/h_differential.sh: a broad
matrix of socket operations (families, types and protocols; options at
SOL_SOCKET, IP, IPV6, TCP and NETLINK; netlink messages; binds, connects and
sends, with ancillary data) run (a) directly by an unprivileged user in a
network namespace of its own, and (b) by the same user through a daemon
that runs as root, under a policy that grants every family broadly (create,
bind, connect, listen; addresses 0.0.0.0/0 and ::/0; AF_UNIX paths under /)
but nothing privileged: no setsockopt and no send entries, no AF_PACKET,
bind ports 0 and 1024-65535 only, connect never to 127.0.0.0/8 or ::1.

Whatever (b) achieves that (a) was refused is an escalation, unless the
policy grants it by name (creating a socket of a granted family, raw ones
included); whatever (b) achieves that the policy refuses is a bypass. Both
fail. "Achieves" is success, or, where (a) got EPERM/EACCES, any other
outcome of the operation itself: the daemon got past the kernel's permission
check (RTM_DELADDR of an address that is not there: EADDRNOTAVAIL).

Usage:
  differential.py policy DIR SOCK [--legacy]   the policy (--legacy: without
                                               AF_UNIX "path" selectors)
  differential.py direct DIR SOCK              (a): one JSON line per row
  differential.py daemon DIR SOCK              (b): one JSON line per row
  differential.py compare DIRECT.jsonl DAEMON.jsonl
      the table ("# " lines) and one {"check", "ok"} line per row

DIR holds rootdir/ (root's, 0755), nobodydir/ (the user's), private/ (0700,
with root's stream socket secret.sock and datagram socket dgram.sock) and
app/ok.sock (root's, open to all); SOCK is the daemon's control socket. Both
runners need 10.77.0.1/24 and fd00:99::1/64 on lo.
"""

import errno
import json
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile as H     # noqa: E402

AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_CAN = 1, 2, 10, 16, 17, 29
STREAM, DGRAM, RAW, SEQPACKET, PACKET = 1, 2, 3, 5, 10
GRANTED_FAMILIES = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_CAN}
FAMILY_NAMES = {1: "UNIX", 2: "INET", 10: "INET6", 16: "NETLINK", 17: "PACKET", 29: "CAN"}
TYPE_NAMES = {1: "STREAM", 2: "DGRAM", 3: "RAW", 5: "SEQPACKET", 10: "PACKET"}
SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP, SOL_NETLINK = 1, 0, 41, 6, 270


def i32(v):
    return struct.pack("=i", v)


# ---------------------------------------------------------------- the policy

def policy(d, sock, legacy):
    fams = ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK", "AF_CAN"]
    inet = ["AF_INET", "AF_INET6"]
    anywhere = ["0.0.0.0/0", "::/0"]
    unix = {} if legacy else {"path": "/"}
    allow = [
        {"action": "create", "family": fams},
        {"action": "bind", "family": inet, "address": anywhere, "port": [0, "1024-65535"]},
        dict({"action": "bind", "family": "AF_UNIX"}, **unix),
        {"action": "bind", "family": ["AF_NETLINK", "AF_CAN"]},
        {"action": "connect", "family": inet, "address": anywhere},
        dict({"action": "connect", "family": "AF_UNIX"}, **unix),
        {"action": "connect", "family": ["AF_NETLINK", "AF_CAN"]},
        {"action": "listen", "family": inet, "address": anywhere, "port": [0, "1024-65535"]},
        dict({"action": "listen", "family": "AF_UNIX"}, **unix),
    ]
    deny = [
        {"action": "create", "family": "AF_PACKET"},
        {"action": "connect", "address": ["127.0.0.0/8", "::1"]},
    ]
    return json.dumps({"version": 1, "rules": [
        {"name": "root administers", "match": {"uid": 0}, "allow": [{"action": "admin"}]},
        {"name": "nobody: every family, broadly; nothing privileged", "match": {"uid": 65534},
         "allow": allow, "deny": deny}]}, indent=1)


# ---------------------------------------------------------------- the matrix

def hop_header():
    """An IPv6 hop-by-hop (or destination) options header: next 0, length 0,
    PadN of 4 bytes."""
    return bytes([0, 0, 1, 4, 0, 0, 0, 0])


def pktoptions_hopopts():
    """IPV6_2292PKTOPTIONS value: one cmsghdr (IPPROTO_IPV6, IPV6_2292HOPOPTS)."""
    data = hop_header()
    return struct.pack("=QiI", 16 + len(data), SOL_IPV6, 3) + data


def nl_messages():
    """Netlink requests by name: (protocol, bytes, or a function of the
    runner's context)."""
    req_v2 = struct.pack("=BBBBI", AF_INET, socket.IPPROTO_TCP, 0, 0, 0xffffffff)

    def sock_destroy(ctx):
        sockid = (struct.pack("!HH", ctx["tcp4"], 0) + socket.inet_aton("127.0.0.1") + b"\0" * 12 + b"\0" * 16
                  + struct.pack("=III", 0, 0xffffffff, 0xffffffff))
        return H.nlmsg(21, H.NLM_F_REQUEST | H.NLM_F_ACK, req_v2 + sockid)

    return {
        "RTM_GETLINK dump": (0, H.rtm_getlink_dump()),
        "RTM_NEWADDR 10.99.0.1/24 lo": (0, H.rtm_addr(H.RTM_NEWADDR, "10.99.0.1", 24, 1)),
        "RTM_DELADDR 10.99.0.99/24 lo (absent)": (0, H.rtm_addr(H.RTM_DELADDR, "10.99.0.99", 24, 1)),
        "RTM_NEWROUTE 10.98.0.0/24 dev lo": (0, H.rtm_newroute("10.98.0.0", 24, 1)),
        "RTM_NEWLINK lo (no change)": (0, H.rtm_newlink_noop(1)),
        "SOCK_DIAG_BY_FAMILY TCP dump": (4, H.nlmsg(20, H.NLM_F_REQUEST | H.NLM_F_DUMP, req_v2 + b"\0" * 48)),
        "SOCK_DESTROY of the caller's own TCP listener": (4, sock_destroy),
        "XFRM_MSG_GETSA dump": (6, H.nlmsg(18, H.NLM_F_REQUEST | H.NLM_F_DUMP, b"\0" * 24)),
        "AUDIT_GET": (9, H.nlmsg(1000, H.NLM_F_REQUEST | H.NLM_F_ACK, b"")),
        "ctnetlink IPCTNL_MSG_CT_GET dump": (12, H.nlmsg(0x101, H.NLM_F_REQUEST | H.NLM_F_DUMP,
                                                         struct.pack("=BBH", AF_INET, 0, 0))),
        "CTRL_CMD_GETFAMILY dump": (16, H.nlmsg(0x10, H.NLM_F_REQUEST | H.NLM_F_DUMP, struct.pack("=BBH", 3, 1, 0))),
    }


def matrix():
    rows = []

    def row(label, sock, op, must_refuse=False, via="handle"):
        rows.append({"id": len(rows) + 1, "label": label, "sock": list(sock), "op": op,
                     "must_refuse": must_refuse, "via": via})

    # Families, types, protocols.
    creates = []
    for fam in (AF_INET, AF_INET6):
        icmp = 1 if fam == AF_INET else 58
        creates += [(fam, STREAM, 0), (fam, STREAM, 6), (fam, STREAM, 132), (fam, DGRAM, 0), (fam, DGRAM, 17),
                    (fam, DGRAM, icmp), (fam, DGRAM, 136), (fam, RAW, icmp), (fam, RAW, 6), (fam, RAW, 17),
                    (fam, RAW, 255), (fam, RAW, 0), (fam, SEQPACKET, 0), (fam, SEQPACKET, 132),
                    (fam, PACKET, 0), (fam, PACKET, 768)]
    creates += [(AF_UNIX, t, 0) for t in (STREAM, DGRAM, SEQPACKET, RAW, PACKET)]
    creates += [(AF_NETLINK, RAW, p) for p in (0, 4, 6, 9, 12, 15, 16)] + [(AF_NETLINK, DGRAM, 0)]
    creates += [(AF_PACKET, RAW, 768), (AF_PACKET, DGRAM, 768), (AF_PACKET, RAW, 0)]
    creates += [(AF_CAN, RAW, 1), (AF_CAN, DGRAM, 2)]
    for fam, typ, proto in creates:
        label = "create %s %s proto %d" % (FAMILY_NAMES[fam], TYPE_NAMES[typ], proto)
        row(label, (fam, typ, proto), ["create"],
            must_refuse=fam == AF_PACKET or (fam == AF_INET and typ == PACKET))

    # Options.
    v4, v6, tcp, tcp6 = (AF_INET, DGRAM, 0), (AF_INET6, DGRAM, 0), (AF_INET, STREAM, 0), (AF_INET6, STREAM, 0)
    opts = [
        (v4, SOL_SOCKET, 1, "SO_DEBUG 1", i32(1)),
        (v4, SOL_SOCKET, 12, "SO_PRIORITY 7", i32(7)),
        (v4, SOL_SOCKET, 12, "SO_PRIORITY 3", i32(3)),
        (v4, SOL_SOCKET, 36, "SO_MARK 5", i32(5)),
        (v4, SOL_SOCKET, 25, "SO_BINDTODEVICE lo", b"lo\0"),
        (v4, SOL_SOCKET, 62, "SO_BINDTOIFINDEX 1", i32(1)),
        (v4, SOL_SOCKET, 33, "SO_RCVBUFFORCE 1 MiB", i32(1 << 20)),
        (v4, SOL_SOCKET, 32, "SO_SNDBUFFORCE 1 MiB", i32(1 << 20)),
        (v4, SOL_SOCKET, 46, "SO_BUSY_POLL 100", i32(100)),
        (v4, SOL_SOCKET, 69, "SO_PREFER_BUSY_POLL 1", i32(1)),
        (v4, SOL_SOCKET, 70, "SO_BUSY_POLL_BUDGET 100", i32(100)),
        (v4, SOL_SOCKET, 61, "SO_TXTIME CLOCK_TAI", struct.pack("=iI", 11, 0)),
        (v4, SOL_SOCKET, 15, "SO_REUSEPORT 1", i32(1)),
        (v4, SOL_SOCKET, 9, "SO_KEEPALIVE 1", i32(1)),
        (v4, SOL_SOCKET, 47, "SO_MAX_PACING_RATE 1000", i32(1000)),
        (v4, SOL_IP, 19, "IP_TRANSPARENT 1", i32(1)),
        (v4, SOL_IP, 15, "IP_FREEBIND 1", i32(1)),
        (v4, SOL_IP, 4, "IP_OPTIONS security (CAP_NET_RAW)", H.IPOPT_SEC),
        (v4, SOL_IP, 4, "IP_OPTIONS NOPs", bytes([1, 1, 1, 0])),
        (v4, SOL_IP, 16, "IP_IPSEC_POLICY", b"\0" * 8),
        (v4, SOL_IP, 17, "IP_XFRM_POLICY", b"\0" * 8),
        (v4, SOL_IP, 1, "IP_TOS 16", i32(16)),
        (v4, SOL_IP, 5, "IP_ROUTER_ALERT 1", i32(1)),
        (v4, SOL_IP, 21, "IP_MINTTL 5", i32(5)),
        (tcp, SOL_IP, 24, "IP_BIND_ADDRESS_NO_PORT 1", i32(1)),
        (v6, SOL_IPV6, 27, "IPV6_JOIN_ANYCAST fd00:99::5 lo",
         socket.inet_pton(socket.AF_INET6, "fd00:99::5") + i32(1)),
        (v6, SOL_IPV6, 75, "IPV6_TRANSPARENT 1", i32(1)),
        (v6, SOL_IPV6, 78, "IPV6_FREEBIND 1", i32(1)),
        (v6, SOL_IPV6, 54, "IPV6_HOPOPTS", hop_header()),
        (v6, SOL_IPV6, 59, "IPV6_DSTOPTS", hop_header()),
        (v6, SOL_IPV6, 55, "IPV6_RTHDRDSTOPTS", hop_header()),
        (tcp6, SOL_IPV6, 6, "IPV6_2292PKTOPTIONS with hop-by-hop options", pktoptions_hopopts()),
        (v6, SOL_IPV6, 34, "IPV6_IPSEC_POLICY", b"\0" * 8),
        (v6, SOL_IPV6, 35, "IPV6_XFRM_POLICY", b"\0" * 8),
        (v6, SOL_IPV6, 26, "IPV6_V6ONLY 1", i32(1)),
        (v6, SOL_IPV6, 22, "IPV6_ROUTER_ALERT 1", i32(1)),
        (v6, SOL_IPV6, 16, "IPV6_UNICAST_HOPS 5", i32(5)),
        (tcp, SOL_TCP, 19, "TCP_REPAIR 1", i32(1)),
        (tcp, SOL_TCP, 20, "TCP_REPAIR_QUEUE 1", i32(1)),
        (tcp, SOL_TCP, 21, "TCP_QUEUE_SEQ 1", i32(1)),
        (tcp, SOL_TCP, 22, "TCP_REPAIR_OPTIONS", b"\0" * 8),
        (tcp, SOL_TCP, 29, "TCP_REPAIR_WINDOW", b"\0" * 20),
        (tcp, SOL_TCP, 13, "TCP_CONGESTION cubic (not in tcp_allowed_congestion_control)", b"cubic"),
        (tcp, SOL_TCP, 13, "TCP_CONGESTION reno", b"reno"),
        (tcp, SOL_TCP, 31, "TCP_ULP tls", b"tls"),
        (tcp, SOL_TCP, 1, "TCP_NODELAY 1", i32(1)),
        (tcp, SOL_TCP, 2, "TCP_MAXSEG 500", i32(500)),
    ]
    for proto, group in ((0, 1), (4, 1), (6, 1), (9, 1), (12, 1), (15, 1), (16, 16)):
        opts.append(((AF_NETLINK, RAW, proto), SOL_NETLINK, 1,
                     "NETLINK_ADD_MEMBERSHIP group %d" % group, i32(group)))
    opts += [((AF_NETLINK, RAW, 0), SOL_NETLINK, 8, "NETLINK_LISTEN_ALL_NSID 1", i32(1)),
             ((AF_NETLINK, RAW, 0), SOL_NETLINK, 3, "NETLINK_PKTINFO 1", i32(1)),
             ((AF_NETLINK, RAW, 0), SOL_NETLINK, 11, "NETLINK_EXT_ACK 1", i32(1))]
    for sk, level, option, what, value in opts:
        label = "setsockopt %s %s: %s" % (FAMILY_NAMES[sk[0]], TYPE_NAMES[sk[1]]
                                          + (" proto %d" % sk[2] if sk[0] == AF_NETLINK else ""), what)
        row(label, sk, ["setsockopt", level, option, value.hex()])

    # Binds: low ports (the policy grants 0 and 1024-65535), AF_UNIX paths, netlink groups.
    for sk, host, port, refuse in ((tcp, "127.0.0.1", 80, True), (tcp, "0.0.0.0", 1023, True),
                                   (v4, "0.0.0.0", 53, True), (tcp6, "::", 80, True), (tcp, "127.0.0.1", 0, False),
                                   (tcp, "10.77.0.1", 0, False), (tcp, "192.0.2.1", 0, False),
                                   (tcp6, "::1", 0, False)):
        row("bind %s %s [%s]:%d" % (FAMILY_NAMES[sk[0]], TYPE_NAMES[sk[1]], host, port), sk,
            ["bind", ["inet", host, port]], must_refuse=refuse)
    for where in ("rootdir", "nobodydir", "private"):
        row("bind UNIX STREAM {dir}/%s/{who}.sock" % where, (AF_UNIX, STREAM, 0),
            ["bind", ["unix", "{dir}/%s/{who}.sock" % where]])
    for proto in (0, 4, 6, 9, 12, 15):
        row("bind NETLINK RAW proto %d to groups 0x1" % proto, (AF_NETLINK, RAW, proto), ["bind", ["nl", 0, 1]])

    # Connects and sends: unspecified and loopback destinations (denied), the
    # control socket, root-only AF_UNIX sockets.
    for sk, host, refuse in ((tcp, "10.77.0.1", False), (tcp, "0.0.0.0", True), (tcp, "127.0.0.1", True),
                             (tcp6, "fd00:99::1", False), (tcp6, "::", True), (tcp6, "::ffff:0.0.0.0", True),
                             (tcp6, "::ffff:127.0.0.1", True), (tcp6, "::1", True)):
        row("connect %s STREAM [%s]:L" % (FAMILY_NAMES[sk[0]], host), sk, ["connect", ["inet", host, "L"]],
            must_refuse=refuse)
    for sk, host, refuse in ((v4, "10.77.0.1", False), (v4, "0.0.0.0", True), (v6, "::", True),
                             (v6, "::ffff:127.0.0.1", True)):
        row("sendto %s DGRAM [%s]:U" % (FAMILY_NAMES[sk[0]], host), sk, ["sendto", ["inet", host, "U"]],
            must_refuse=refuse)
    row("connect UNIX STREAM {dir}/app/ok.sock (root's, open to all)", (AF_UNIX, STREAM, 0),
        ["connect", ["unix", "{dir}/app/ok.sock"]])
    row("connect UNIX STREAM {dir}/private/secret.sock (root-only)", (AF_UNIX, STREAM, 0),
        ["connect", ["unix", "{dir}/private/secret.sock"]])
    row("connect UNIX STREAM {sock} (the daemon's control socket)", (AF_UNIX, STREAM, 0),
        ["connect", ["unix", "{sock}"]], must_refuse=True)
    row("sendto UNIX DGRAM {dir}/private/dgram.sock (root-only)", (AF_UNIX, DGRAM, 0),
        ["sendto", ["unix", "{dir}/private/dgram.sock"]])
    for sk, host, level, kind, what, data in (
            (v4, "10.77.0.1", SOL_IP, 7, "IP_RETOPTS security option", H.IPOPT_SEC),
            (v4, "10.77.0.1", SOL_SOCKET, 36, "SO_MARK 5", i32(5)),
            (v4, "10.77.0.1", SOL_SOCKET, 12, "SO_PRIORITY 7", i32(7)),
            (v6, "fd00:99::1", SOL_IPV6, 54, "IPV6_HOPOPTS", hop_header()),
            (v6, "fd00:99::1", SOL_IPV6, 59, "IPV6_DSTOPTS", hop_header())):
        row("sendmsg %s DGRAM to [%s]:U with %s" % (FAMILY_NAMES[sk[0]], host, what), sk,
            ["sendmsg", ["inet", host, "U"], level, kind, data.hex()])

    # Netlink messages: through a handle, and on a descriptor handed out.
    for name, (proto, _) in nl_messages().items():
        row("send NETLINK proto %d: %s" % (proto, name), (AF_NETLINK, RAW, proto), ["nl", name])
    for name in ("RTM_NEWADDR 10.99.0.1/24 lo", "AUDIT_GET", "ctnetlink IPCTNL_MSG_CT_GET dump"):
        proto = nl_messages()[name][0]
        row("send NETLINK proto %d: %s (descriptor from pass)" % (proto, name), (AF_NETLINK, RAW, proto),
            ["nl", name], via="fd")
    return rows


# ---------------------------------------------------------------- the runners

def context(d, sock, who):
    """The runner's own listeners (dual-stack TCP L, UDP U, TCP 127.0.0.1 L4)."""
    lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    lst.bind(("::", 0))
    lst.listen(256)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.bind(("::", 0))
    tcp4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp4.bind(("127.0.0.1", 0))
    tcp4.listen(8)
    return {"dir": d, "sock": sock, "who": who, "L": lst.getsockname()[1], "U": udp.getsockname()[1],
            "tcp4": tcp4.getsockname()[1], "keep": [lst, udp, tcp4]}


def py_addr(fam, spec, ctx):
    kind = spec[0]
    if kind == "inet":
        port = ctx[spec[2]] if isinstance(spec[2], str) else spec[2]
        return (spec[1], port) if fam == AF_INET else (spec[1], port, 0, 0)
    if kind == "unix":
        return spec[1].format(dir=ctx["dir"], who=ctx["who"], sock=ctx["sock"])
    return (spec[1], spec[2])


def json_addr(fam, spec, ctx):
    a = py_addr(fam, spec, ctx)
    if spec[0] == "nl":
        return {"pid": a[0], "groups": a[1]}
    return list(a[:2]) if spec[0] == "inet" else a


def nl_request(name, ctx):
    data = nl_messages()[name][1]
    return data(ctx) if callable(data) else data


def nl_outcome(data):
    parts = H.nl_parse(data)
    if not parts:
        return "no reply"
    kind, _, _, payload = parts[0]
    if kind == H.NLMSG_ERROR and len(payload) >= 4:
        e = -struct.unpack("=i", payload[:4])[0]
        return "ok" if e == 0 else errno.errorcode.get(e, str(e))
    return "ok"


def direct_op(s, fam, op, ctx):
    kind = op[0]
    if kind == "create":
        return "ok"
    if kind == "setsockopt":
        s.setsockopt(op[1], op[2], bytes.fromhex(op[3]))
    elif kind == "bind":
        s.bind(py_addr(fam, op[1], ctx))
    elif kind == "connect":
        s.connect(py_addr(fam, op[1], ctx))
    elif kind == "sendto":
        s.sendto(b"differential", py_addr(fam, op[1], ctx))
    elif kind == "sendmsg":
        s.sendmsg([b"differential"], [(op[2], op[3], bytes.fromhex(op[4]))], 0, py_addr(fam, op[1], ctx))
    elif kind == "nl":
        s.send(nl_request(op[1], ctx))
        return nl_outcome(s.recv(65536))
    return "ok"


def kind_of(s):
    return s.getsockopt(socket.SOL_SOCKET, H.SO_DOMAIN)


def run_direct(row, ctx):
    fam, typ, proto = row["sock"]
    try:
        s = socket.socket(fam, typ, proto)
    except OSError as e:
        return {"stage": "create", "result": H.errno_name(e)}
    with s:
        s.settimeout(5)
        real = kind_of(s)
        try:
            return {"stage": "op", "result": direct_op(s, fam, row["op"], ctx), "real": real}
        except OSError as e:
            return {"stage": "op", "result": H.errno_name(e), "real": real}


def rpc_outcome(msg):
    if "result" in msg:
        return "ok"
    if H.denied(msg):
        return "denied"
    return H.oserr(msg) or "rpc %s" % H.code(msg)


def daemon_op(c, h, fam, op, ctx):
    kind = op[0]
    if kind == "create":
        return "ok"
    if kind == "setsockopt":
        msg = c.keep("socket.setsockopt", {"handle": h, "level": op[1], "option": op[2],
                                           "value": {"data": H.b64(bytes.fromhex(op[3]))}})
    elif kind == "bind":
        msg = c.keep("socket.bind", {"handle": h, "address": json_addr(fam, op[1], ctx)})
    elif kind == "connect":
        msg = c.keep("socket.connect", {"handle": h, "address": json_addr(fam, op[1], ctx)})
    elif kind == "sendto":
        msg = c.keep("socket.sendto", {"handle": h, "text": "differential", "address": json_addr(fam, op[1], ctx)})
    elif kind == "sendmsg":
        msg = c.keep("socket.sendmsg", {"handle": h, "buffers": [H.b64(b"differential")],
                                        "ancdata": [{"level": op[2], "type": op[3],
                                                     "data": H.b64(bytes.fromhex(op[4]))}],
                                        "address": json_addr(fam, op[1], ctx)})
    elif kind == "nl":
        msg = c.keep("socket.send", {"handle": h, "data": H.b64(nl_request(op[1], ctx))})
        if "result" in msg:
            r = c.keep("socket.recv", {"handle": h, "bufsize": 65536})
            return nl_outcome(H.unb64(r["result"]["data"])) if "result" in r else rpc_outcome(r)
    return rpc_outcome(msg)


def run_daemon(c, row, ctx):
    fam, typ, proto = row["sock"]
    params = {"family": fam, "type": typ, "proto": proto}
    if row["via"] == "fd":
        msg, fds = c.call("socket.create", dict(params, **{"pass": True}))
        if len(fds) != 1:
            H.close_fds(fds)
            return {"stage": "create", "result": rpc_outcome(msg) if "error" in msg else "no descriptor"}
        s = socket.socket(fileno=fds[0])
        with s:
            s.settimeout(5)
            real = kind_of(s)
            try:
                return {"stage": "op", "result": direct_op(s, fam, row["op"], ctx), "real": real}
            except OSError as e:
                return {"stage": "op", "result": H.errno_name(e), "real": real}
    h, msg = H.new_handle(c, params)
    if not h:
        return {"stage": "create", "result": rpc_outcome(msg)}
    try:
        real = H.real_kind(c, h)["family"]
        c.keep("socket.settimeout", {"handle": h, "timeout": 5})
        return {"stage": "op", "result": daemon_op(c, h, fam, row["op"], ctx), "real": real}
    finally:
        c.keep("socket.close", {"handle": h})


def cmd_run(mode, d, sock):
    ctx = context(d, sock, mode)
    c = H.Client(sock) if mode == "daemon" else None
    for row in matrix():
        label = row["label"].format(dir=d, who=mode, sock=sock)
        try:
            out = run_daemon(c, row, ctx) if c else run_direct(row, ctx)
        except (OSError, H.ProtocolError, ValueError, KeyError) as e:
            out = {"stage": "runner", "result": "%s: %s" % (type(e).__name__, e)}
            if c:
                c.close()
                c = H.Client(sock)
        print(json.dumps(dict(out, row=row["id"], label=label, must_refuse=row["must_refuse"],
                              create=row["op"][0] == "create")), flush=True)
    return 0


# ---------------------------------------------------------------- the judgement

REFUSALS = ("EPERM", "EACCES")


def judge(a, b):
    """(verdict, fails) for one row: a direct, b through the daemon."""
    a_res, b_res = a.get("result"), b.get("result")
    if a.get("stage") == "runner" or b.get("stage") == "runner":
        return "runner failed", True
    passed_check = (a.get("stage") == b.get("stage") == "op" and a_res in REFUSALS
                    and b_res not in REFUSALS + ("denied", "ok", "no reply") and not str(b_res).startswith("rpc"))
    achieved = b_res == "ok" or passed_check
    granted = b.get("create") and b_res == "ok" and b.get("real") in GRANTED_FAMILIES
    if b.get("must_refuse") and b_res == "ok":
        return "POLICY BYPASS", True
    if a_res != "ok" and achieved and not granted:
        return "ESCALATION", True
    if a_res != "ok" and b_res == "ok":
        return "granted by policy", False
    if (a.get("stage"), a_res) == (b.get("stage"), b_res):
        return "same", False
    if b_res == "denied":
        return "refused by policy", False
    return "differs, no gain", False


def outcome_text(r):
    res = r.get("result")
    if r.get("stage") == "create" and res != "ok":
        return "create: %s" % res
    real = r.get("real")
    if r.get("create") and res == "ok" and real is not None:
        return "ok (%s)" % FAMILY_NAMES.get(real, real)
    return str(res)


def cmd_compare(direct_file, daemon_file):
    def load(path):
        rows = {}
        for line in open(path, errors="replace"):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if isinstance(d, dict) and "row" in d:
                rows[d["row"]] = d
        return rows

    direct, daemon = load(direct_file), load(daemon_file)
    rows = matrix()
    width = max(len(r["label"]) for r in rows) + 8
    print("# %-4s %-*s %-24s %-24s %s" % ("row", width, "operation", "direct (nobody)", "daemon (for nobody)",
                                          "verdict"))
    counts = {}
    for r in rows:
        a, b = direct.get(r["id"]), daemon.get(r["id"])
        label = (b or a or r)["label"]
        if a is None or b is None:
            verdict, bad = "missing (%s)" % ("direct" if a is None else "daemon"), True
            at, bt = outcome_text(a or {}), outcome_text(b or {})
        else:
            verdict, bad = judge(a, b)
            at, bt = outcome_text(a), outcome_text(b)
        counts[verdict] = counts.get(verdict, 0) + 1
        print("# %-4d %-*s %-24s %-24s %s" % (r["id"], width, label, at, bt, verdict))
        H.check("differential row %d, %s: direct %s, through the daemon %s: %s"
                % (r["id"], label, at, bt, verdict), not bad)
    print("# %d rows: %s" % (len(rows), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    return 1 if H.FAILED else 0


def main():
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "policy":
        print(policy(args[1], args[2], "--legacy" in args[3:]))
        return 0
    if len(args) == 3 and args[0] in ("direct", "daemon"):
        return cmd_run(args[0], args[1], args[2])
    if len(args) == 3 and args[0] == "compare":
        return cmd_compare(args[1], args[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
