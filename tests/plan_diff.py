#!/usr/bin/env python3
"""policy.check against the real thing (issue 11): a generated matrix of
requests (methods x identities x addresses x hand-out or not), each asked of
policy.check by root and then made for real by that identity on a fresh
connection and a fresh socket. Standard library only; run as root by
tests/it_plan_diff.sh, which starts the daemon with the policy this script
prints.

Usage:
  plan_diff.py policy DIR         the policy (JSON) for the matrix, on stdout
  plan_diff.py run DIR SOCK       the matrix; exit 0 when every case agrees

A real outcome is "denied" when the reply is -32010 and "allowed" otherwise
(a result, or an OS error such as ECONNREFUSED, EADDRINUSE or EAGAIN: the
policy let the request through). When a request needs a socket, it is made
first (socket.create without pass, then any bind or listen the case needs);
if such a step is refused, that step is the one compared. Where the plan
asks the IPv6 "also reaches IPv4" choice, the socket's IPV6_V6ONLY after
the real request is compared with policy.check's choice too.
"""

import array
import itertools
import json
import os
import random
import select
import signal
import socket
import sys

DENIED = -32010
ROOT, NOBODY, OTHER, STRANGER = 0, 65534, 65533, 65532
IDENTITIES = [ROOT, NOBODY, OTHER, STRANGER]   # STRANGER: no rule matches
MIN_CASES = 300

KINDS = {
    "tcp4": ("AF_INET", "SOCK_STREAM", 0),
    "tcp6": ("AF_INET6", "SOCK_STREAM", 0),
    "udp4": ("AF_INET", "SOCK_DGRAM", 0),
    "udp6": ("AF_INET6", "SOCK_DGRAM", 0),
    "unix": ("AF_UNIX", "SOCK_STREAM", 0),
    "unixd": ("AF_UNIX", "SOCK_DGRAM", 0),
    "icmp": ("AF_INET", "SOCK_RAW", "IPPROTO_ICMP"),
}


def policy(d):
    """Overlapping, different grants for NOBODY and OTHER; root keeps admin
    and has IPv6 of its own; STRANGER matches no rule."""
    return {
        "version": 1,
        "rules": [
            {"name": "root administers and has IPv6", "match": {"uid": ROOT},
             "allow": [
                 {"action": "admin"},
                 {"action": "resolve"},
                 {"action": "create", "family": "AF_INET6"},
                 {"action": "bind", "family": "AF_INET6", "type": "SOCK_STREAM"},
             ]},
            {"name": "locals: TCP on the loopback", "match": {"uid": [NOBODY, OTHER]},
             "allow": [
                 {"action": "bind", "family": "AF_INET", "type": "SOCK_STREAM",
                  "address": "127.0.0.1", "port": "18000-18999"},
                 {"action": "bind", "family": "AF_INET6", "type": "SOCK_STREAM",
                  "address": "::/0", "port": "18000-18999"},
                 {"action": "connect", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1"},
                 {"action": "resolve", "host": "localhost"},
             ]},
            {"name": "nobody: hand-outs, every local address, UDP, a directory, SO_MARK",
             "match": {"uid": NOBODY},
             "allow": [
                 {"action": "create", "family": "AF_INET", "type": "SOCK_STREAM"},
                 {"action": "bind", "family": "AF_INET", "type": "SOCK_STREAM",
                  "address": "0.0.0.0", "port": "18000-18999"},
                 {"action": "connect", "family": "AF_INET", "type": "SOCK_DGRAM",
                  "address": "127.0.0.1", "port": "19000-19499"},
                 {"action": "bind", "family": "AF_UNIX", "path": d + "/u/"},
                 {"action": "connect", "family": "AF_UNIX", "path": d + "/srv/"},
                 {"action": "setsockopt", "level": "SOL_SOCKET", "option": "SO_MARK"},
             ]},
            {"name": "other: UDP, a glob, an iptables read, listening anywhere",
             "match": {"uid": OTHER},
             "allow": [
                 {"action": "create", "family": "AF_INET", "type": "SOCK_DGRAM"},
                 {"action": "connect", "family": "AF_INET", "type": "SOCK_DGRAM",
                  "address": "127.0.0.1", "port": "19000-19999"},
                 {"action": "bind", "family": "AF_UNIX", "path": d + "/u/b-*.sock"},
                 {"action": "setsockopt", "level": "IPPROTO_IP", "option": 64},
                 {"action": "listen", "type": "SOCK_STREAM"},
             ],
             "deny": [{"action": "connect", "port": 18500}]},
        ],
    }


# ---------------------------------------------------------------- the client

class Client:
    """Newline-delimited JSON-RPC 2.0 over the control socket; descriptors in
    replies come as SCM_RIGHTS and are closed at once."""

    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.ids = itertools.count(1)

    def close(self):
        self.sock.close()

    def _fill(self):
        anc = socket.CMSG_SPACE(16 * array.array("i").itemsize)
        data, ancdata, _, _ = self.sock.recvmsg(65536, anc)
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(cdata[:len(cdata) - (len(cdata) % fds.itemsize)])
                for fd in fds:
                    os.close(fd)
        if not data:
            raise EOFError("the daemon closed the connection")
        self.buf += data

    def call(self, method, params=None):
        rid = next(self.ids)
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                self._fill()
            line, self.buf = self.buf.split(b"\n", 1)
            reply = json.loads(line.decode("utf-8"))
            if reply.get("id") == rid:
                return reply


def code(reply):
    err = reply.get("error")
    return err.get("code") if isinstance(err, dict) else None


def errname(reply):
    err = reply.get("error")
    if not isinstance(err, dict):
        return "result"
    data = err.get("data") if isinstance(err.get("data"), dict) else {}
    return "%s %s" % (err.get("code"), data.get("name", ""))


def short(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------- the matrix

class Ports:
    """Ports inside the bind grants (18000-18999, never 18500) and outside
    them, each used once, so that cases do not trip over each other."""

    def __init__(self):
        self.base = random.randrange(1000)
        self.n = itertools.count()

    def inside(self):
        while True:
            p = 18000 + (self.base + next(self.n) * 7) % 1000
            if p != 18500:
                return p

    def outside(self):
        return 17000 + (self.base + next(self.n) * 7) % 1000


def matrix(d, lport, ports):
    """Every case: {"kind", "steps": [(method, params)], "unbound"}. The last
    step is the request compared; earlier ones make its socket ready."""
    cases = []
    P, Q = ports.inside, ports.outside
    n = itertools.count()

    def upath(prefix):
        return "%s/%s%d.sock" % (d, prefix, next(n))

    def add(kind, *steps, **extra):
        c = {"kind": kind, "steps": [list(s) for s in steps]}
        c.update(extra)
        cases.append(c)

    # socket.create: every kind, kept or handed out.
    for kind in KINDS:
        for pass_ in (False, True):
            fam, typ, proto = KINDS[kind]
            add(None, ("socket.create", {"family": fam, "type": typ, "proto": proto, "pass": pass_}))

    # socket.bind: addresses in and out of the grants, the v4-reach choice, names.
    binds = {
        "tcp4": lambda: [["127.0.0.1", P()], ["0.0.0.0", P()], ["127.0.0.2", P()], ["127.0.0.1", Q()],
                         ["localhost", P()], ["no-such-host.invalid", P()]],
        "tcp6": lambda: [["::1", P()], ["::", P()], ["::", Q()], ["::ffff:127.0.0.1", P()], ["localhost", P()]],
        "udp4": lambda: [["127.0.0.1", P()], ["127.0.0.1", 19000 + P() % 1000]],
        "unix": lambda: [upath("u/a-"), upath("u/b-"), upath("v/c-"), upath("u/b-x/b-")],
    }
    for kind, addrs in binds.items():
        for a in addrs():
            add(kind, ("socket.bind", {"address": a}))

    # socket.listen: bound where the grants do and do not reach, and unbound.
    listens = {
        "tcp4": lambda: [["127.0.0.1", P()], ["0.0.0.0", P()], None],
        "tcp6": lambda: [["::", P()], ["::1", P()], None],
        "unix": lambda: [upath("u/a-"), upath("u/b-"), None],
    }
    for kind, addrs in listens.items():
        for a in addrs():
            steps = [("socket.bind", {"address": a})] if a is not None else []
            add(kind, *steps, ("socket.listen", {"backlog": 8}), unbound=a is None)

    # socket.connect, connect_ex: to the test's listener, elsewhere, by name.
    connects = {
        "tcp4": [["127.0.0.1", lport], ["0.0.0.0", lport], ["127.0.0.2", lport], ["127.0.0.1", 18500],
                 ["localhost", lport], ["no-such-host.invalid", lport]],
        "tcp6": [["::1", lport], ["::ffff:127.0.0.1", lport]],
        "udp4": [["127.0.0.1", 19100], ["127.0.0.1", 19600], ["127.0.0.1", 18100]],
        "unix": [d + "/srv/srv.sock", d + "/v/none.sock"],
    }
    for method in ("socket.connect", "socket.connect_ex"):
        for kind, addrs in connects.items():
            for a in addrs:
                add(kind, (method, {"address": a}))

    # socket.sendto (UDP).
    for a in (["127.0.0.1", 19100], ["127.0.0.1", 19600], ["127.0.0.2", 19100], ["localhost", 19100],
              ["127.0.0.1", 18500]):
        add("udp4", ("socket.sendto", {"text": "plan_diff", "address": a}))

    # socket.setsockopt: privileged options (granted or not), open ones.
    for kind in ("tcp4", "udp4", "tcp6"):
        for level, option, value in (("SOL_SOCKET", "SO_MARK", 1), ("SOL_SOCKET", "SO_KEEPALIVE", 1),
                                     ("SOL_SOCKET", "SO_PRIORITY", 7), ("SOL_SOCKET", "SO_PRIORITY", 3),
                                     ("IPPROTO_IP", "IP_TRANSPARENT", 1)):
            add(kind, ("socket.setsockopt", {"level": level, "option": option, "value": value}))

    # socket.getsockopt: an open read, and iptables' IPT_SO_GET_INFO (64).
    for kind in ("tcp4", "udp4"):
        add(kind, ("socket.getsockopt", {"level": "SOL_SOCKET", "option": "SO_TYPE"}))
        add(kind, ("socket.getsockopt", {"level": "IPPROTO_IP", "option": 64, "buflen": 84}))

    # socket.listen_on: addresses x dual stack x hand-out.
    for pass_ in (False, True):
        for host, port in (("127.0.0.1", P()), ("0.0.0.0", P()), ("127.0.0.1", Q()), ("localhost", P()),
                           ("::1", P()), ("::", P()), ("::", Q())):
            for dual in ((False, True) if ":" in host else (False,)):
                params = {"address": [host, port], "pass": pass_, "backlog": 8}
                if dual:
                    params["dualstack_ipv6"] = True
                add(None, ("socket.listen_on", params))
        for path in (upath("u/a-"), upath("u/b-"), upath("v/c-")):
            add(None, ("socket.listen_on", {"family": "AF_UNIX", "address": path, "pass": pass_}))

    # socket.connect_to: literal and by name, source_address (numeric, any, a name), hand-out.
    for pass_ in (False, True):
        for host, port in (("127.0.0.1", lport), ("127.0.0.2", lport), ("localhost", lport), ("::1", lport),
                           ("127.0.0.1", 18500)):
            # A source name: a resolve of it (localhost: allowed to the locals;
            # the other: to root only, and it does not resolve), then its binds.
            for src in (None, ["127.0.0.1", P()], ["127.0.0.1", Q()], ["", P()], ["", Q()], ["localhost", P()],
                        ["localhost", Q()], ["no-such-host.invalid", P()]):
                params = {"address": [host, port], "pass": pass_, "timeout": 5}
                if src:
                    params["source_address"] = src
                add(None, ("socket.connect_to", params))

    # socket.accept: with a connection waiting or none (EAGAIN), kept or handed out.
    for kind, addr in (("tcp4", lambda: ["127.0.0.1", P()]), ("unix", lambda: upath("u/a-"))):
        for pending in (False, True):
            for pass_ in (False, True):
                steps = [("socket.bind", {"address": addr()}), ("socket.listen", {"backlog": 8}),
                         ("socket.setblocking", {"flag": False})]
                if pending:
                    steps.append(("plain_connect", {}))
                add(kind, *steps, ("socket.accept", {"pass": pass_}))

    # socket.fd, socket.detach: the descriptor leaves.
    for method in ("socket.fd", "socket.detach"):
        for kind in ("tcp4", "tcp6", "udp4", "unix"):
            add(kind, (method, {}))

    # Names: allowed and denied, and no name.
    for host in ("localhost", "no-such-host.invalid", None, "127.0.0.1"):
        add(None, ("net.getaddrinfo", {"host": host, "port": 80}))
    for host in ("localhost", "no-such-host.invalid"):
        add(None, ("net.gethostbyname", {"hostname": host}))

    add(None, ("admin.stats", {}))
    return cases


# ---------------------------------------------------------------- for real

def become(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def v6only(c, h):
    r = c.call("socket.getsockopt", {"handle": h, "level": "IPPROTO_IPV6", "option": "IPV6_V6ONLY"})
    res = r.get("result")
    if isinstance(res, dict) and "value" in res:
        return bool(res["value"])
    return None


def real(sock, case):
    """In the child, as the identity: the case's steps on a fresh
    connection. Returns what the parent compares: the step that decided
    (the last, or the first refused), its params, the reply, and the bound
    address and IPV6_V6ONLY where they matter."""
    out = {}
    c = Client(sock)
    h = None
    steps = list(case["steps"])
    if case["kind"]:
        fam, typ, proto = KINDS[case["kind"]]
        steps.insert(0, ["socket.create", {"family": fam, "type": typ, "proto": proto}])
    for i, (method, params) in enumerate(steps):
        last = i == len(steps) - 1
        if method == "plain_connect":
            r = c.call("socket.getsockname", {"handle": h})
            a = r["result"]["address"]
            if isinstance(a, dict) and "path" in a:
                a = a["path"]
            if isinstance(a, str):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                a = (a["host"], a["port"]) if isinstance(a, dict) else tuple(a)
            s.settimeout(5)
            s.connect(a)
            out["plain"] = s.fileno()      # kept open until the child exits
            continue
        p = dict(params)
        if h is not None:
            p["handle"] = h
        if method == "socket.listen" and not case.get("unbound"):
            r = c.call("socket.getsockname", {"handle": h})
            out["bound"] = r.get("result", {}).get("address")
        if method == "socket.listen" and case["kind"] == "tcp6":
            # The bind's own choice may have made it IPV6_V6ONLY already;
            # the listen's choice can only add that, never take it away.
            out["v6only_before"] = v6only(c, h)
        reply = c.call(method, p)
        out.update(step=i, method=method, params=params, reply=reply)
        if code(reply) == DENIED or last:
            break
        if "error" in reply:
            out["setup_failed"] = True
            break
        if method == "socket.create":
            h = reply["result"]["handle"]
    if ("result" in out["reply"] and h is not None and case["kind"] == "tcp6" and
            out["method"] in ("socket.bind", "socket.listen")):
        out["v6only"] = v6only(c, h)
    c.close()
    return out


def run_as(uid, sock, case, timeout=60):
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            become(uid)
            data = json.dumps({"ok": real(sock, case)})
        except BaseException as e:     # report anything, never return into the parent's code
            data = json.dumps({"crash": repr(e)})
        with os.fdopen(wfd, "w") as f:
            f.write(data)
        os._exit(0)
    os.close(wfd)
    chunks = []
    with os.fdopen(rfd, "rb") as f:
        while True:
            ready, _, _ = select.select([f], [], [], timeout)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                chunks = [json.dumps({"crash": "no answer within %d s" % timeout}).encode()]
                break
            b = os.read(f.fileno(), 65536)
            if not b:
                break
            chunks.append(b)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks).decode() or '{"crash": "no output"}')


# ---------------------------------------------------------------- compare

def check_params(case, out):
    """The compared step as policy.check is told of it: a handle becomes
    the socket's family/type/proto; a listen gives where it is bound."""
    p = dict(out["params"])
    if case["kind"] and out["method"] != "socket.create":
        fam, typ, proto = KINDS[case["kind"]]
        p.update(family=fam, type=typ, proto=proto)
    if out["method"] == "socket.listen" and out.get("bound") is not None:
        p["address"] = out["bound"]
    return p


def ipv6():
    """Whether this host binds IPv6 at all (else no tcp6 case gets far)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::", 0))
        return True
    except OSError:
        return False


def main_run(d, sock):
    random.seed()
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(4096)
    lst.setblocking(False)
    lport = lst.getsockname()[1]
    ulst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ulst.bind(d + "/srv/srv.sock")
    os.chmod(d + "/srv/srv.sock", 0o777)
    ulst.listen(4096)
    ulst.setblocking(False)

    def drain():
        for s in (lst, ulst):
            while True:
                try:
                    conn, _ = s.accept()
                except BlockingIOError:
                    break
                conn.close()

    root = Client(sock)
    cases = matrix(d, lport, Ports())
    compared = 0
    disagreements = 0
    outcomes = {True: 0, False: 0}
    per_method = {}
    choices = 0
    for uid in IDENTITIES:
        for case in cases:
            res = run_as(uid, sock, case)
            drain()
            if "crash" in res:
                disagreements += 1
                print("not ok - uid %d %s: the real request failed to run: %s" % (uid, short(case), res["crash"]))
                continue
            # A setup step that failed for another reason than the policy
            # (say EADDRINUSE) is the step compared: the rest cannot run.
            out = res["ok"]
            params = check_params(case, out)
            ask = {"as": {"uid": uid, "gid": uid, "groups": []},
                   "request": {"method": out["method"], "params": params}}
            pc = root.call("policy.check", ask)
            real_denied = code(out["reply"]) == DENIED
            if "result" in pc:
                said = pc["result"].get("allowed")
                agree = said is (not real_denied)
            else:
                # policy.check could not judge it (malformed, a name that does
                # not resolve): the real request must fail the same way.
                said = "error %s" % code(pc)
                agree = code(pc) == code(out["reply"])
            compared += 1
            key = out["method"]
            tally = per_method.setdefault(key, [0, 0])
            tally[0 if real_denied else 1] += 1
            outcomes[not real_denied] += 1
            why = ""
            if agree and "v6only" in out and "result" in pc:
                steps = [s for s in pc["result"].get("checks", []) if s.get("choice")]
                if steps and out["v6only"] is not None and not out.get("v6only_before"):
                    choices += 1
                    if all(s.get("allowed") for s in steps) == out["v6only"]:
                        agree = False
                        why = " (the v4-reach choice: policy.check %s, the socket is %sIPV6_V6ONLY)" % (
                            short([s.get("allowed") for s in steps]), "" if out["v6only"] else "not ")
            if os.environ.get("PLAN_DIFF_VERBOSE"):
                print("# uid %d %s %s: policy.check %s, real %s %s" % (
                    uid, out["method"], short(params), said, "denied" if real_denied else "allowed",
                    errname(out["reply"])))
            if (agree and out["method"] == "socket.listen" and not case.get("unbound") and
                    errname(out["reply"]) == "-32000 EINVAL"):
                # Not a policy disagreement, but a listen the policy allowed on
                # a bound socket must not trip over the daemon's own V6ONLY.
                agree = False
                why = " (a bound socket's allowed listen failed with EINVAL)"
            if not agree:
                disagreements += 1
                print("not ok - DISAGREE%s uid %d %s %s: policy.check says %s, the real request was %s" % (
                    why, uid, out["method"], short(params), said, "denied" if real_denied else "allowed"))
                print("    case: %s" % short(case))
                print("    policy.check: %s" % short(pc.get("result", pc.get("error"))))
                print("    real reply: %s" % short(out["reply"]))
    root.close()
    print("# compared %d cases (%d identities x %d requests): %d allowed, %d denied, %d v4-reach choices; "
          "%d disagreements" % (compared, len(IDENTITIES), len(cases), outcomes[True], outcomes[False], choices,
                                disagreements))
    print("# per method (allowed/denied): %s" % ", ".join(
        "%s %d/%d" % (m, t[1], t[0]) for m, t in sorted(per_method.items())))
    bad = disagreements > 0
    if compared < MIN_CASES:
        print("not ok - only %d cases were compared (at least %d expected)" % (compared, MIN_CASES))
        bad = True
    if not outcomes[True] or not outcomes[False]:
        print("not ok - the matrix needs both allowed and denied outcomes (%d allowed, %d denied)" % (
            outcomes[True], outcomes[False]))
        bad = True
    if not choices and ipv6():
        print("not ok - no case compared the v4-reach choice")
        bad = True
    if not bad:
        print("ok - policy.check agrees with every real request")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "policy":
        json.dump(policy(argv[2]), sys.stdout, indent=1)
        print()
        return 0
    if len(argv) == 4 and argv[1] == "run":
        return main_run(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
