"""Who may see what over HTTP (tests/it_http_auth.sh starts the daemon):
bearer tokens and their audit records, the policy's `token` member and
`http_rpc` action, token reload, the live audit stream (and a client that
never reads it), /metrics checked by promtool, and the HTTP face's share
of the loop. Environment: HTTP_UNIX, HTTP_TCP, SOCK, DAEMON_PID, AUDIT,
LOG (the daemon's log), TOKENS (the token file), SECRET_<NAME> for each
token, PART (auth, stream, budget)."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time

import rpc_session
from http_client import Tap, connection, fd_count, fd_list, request

UNIX = os.environ["HTTP_UNIX"]
TCP = os.environ["HTTP_TCP"]
SOCK = os.environ["SOCK"]
PID = int(os.environ["DAEMON_PID"])
AUDIT = os.environ.get("AUDIT", "")
t = Tap()


def bearer(name):
    return {"Authorization": "Bearer " + os.environ["SECRET_" + name.upper()]}


def records():
    with open(AUDIT) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_seq():
    r = records()
    return r[-1]["seq"] if r else 0


def new_records(since):
    return [r for r in records() if r["seq"] > since]


POKER = None


def until(cond, what, timeout=20):
    """Polls cond until it holds, a daemon.ping between tries (never a bare
    sleep) on one control connection kept open, which adds no descriptor
    and is not subject to the HTTP idle timeout."""
    global POKER
    if POKER is None:
        POKER = rpc_session.connect(SOCK)[1]
        POKER("daemon.ping")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        POKER("daemon.ping")
    return cond()


def auth_checks():
    s0 = last_seq()
    st, h, d, _ = request(TCP, "GET", "/v1/clients")
    recs = new_records(s0)
    t.check(st == 401 and h.get("www-authenticate", "").startswith("Bearer") and "token" in d["error"]["reason"],
            "no token: /v1/clients is 401 with WWW-Authenticate", d)
    t.check(len(recs) == 1 and recs[0]["decision"] == "deny" and recs[0]["method"] == "HTTP GET /v1/clients"
            and recs[0]["uid"] is None and recs[0]["reason"] == d["error"]["reason"],
            "and one audit record says why, with no uid", recs)
    for hdr, what in (({"Authorization": "Bearer " + "x" * 40}, "a wrong token"),
                      ({"Authorization": "Basic cm9vdDpyb290"}, "Basic credentials"),
                      ({"Authorization": "Bearer"}, "an empty Bearer")):
        s0 = last_seq()
        st, h, d, _ = request(TCP, "GET", "/v1/info", headers=hdr)
        recs = new_records(s0)
        t.check(st == 401 and len(recs) == 1 and recs[0]["decision"] == "deny",
                "%s: 401 even on an open endpoint, audited" % what, (st, d, recs))
    s0 = last_seq()
    st, h, d, _ = request(TCP, "GET", "/v1/whoami", headers=bearer("old"))
    recs = new_records(s0)
    t.check(st == 401 and "expired" in d["error"]["reason"] and len(recs) == 1 and recs[0].get("token") == "old",
            "an expired token: 401 naming it, audited with its name", (d, recs))

    st, h, d, _ = request(TCP, "GET", "/v1/whoami", headers=bearer("grafana"))
    t.check(st == 200 and d["uid"] == 65534 and d.get("token") == "grafana" and d["exe"] is None
            and "exe" in d["unknown"] and d["via"] == "http-tcp",
            "a token's caller is its user, with no program (exe unknown), and its name", d)
    st, h, d, _ = request(TCP, "GET", "/v1/clients", headers=bearer("grafana"))
    t.check(st == 200 and "clients" in d, "the policy's {token: grafana} rule grants it admin: /v1/clients", d)
    st, h, d, _ = request(TCP, "GET", "/v1/policy", headers=bearer("grafana"))
    names = [r["name"] for r in d.get("rules", [])] if st == 200 else []
    t.check(st == 200 and "monitoring by token" in names and all("allowed" in r and "denied" in r
                                                                for r in d["rules"]),
            "/v1/policy shows the rules with their counters", d)
    mon = [r for r in d.get("rules", []) if r["name"] == "monitoring by token"]
    t.check(mon and mon[0]["allowed"] >= 2 and mon[0]["file"].endswith("policy.json") and mon[0]["line"] > 0
            and mon[0]["match"] == {"token": "grafana"},
            "its rule as written, with its file, line and allow counter", mon)
    st, h, d, _ = request(TCP, "GET", "/v1/audit?limit=5", headers=bearer("grafana"))
    t.check(st == 200 and len(d["records"]) == 5 and d["last"] >= d["records"][-1]["seq"],
            "/v1/audit?limit=5 gives the newest five", d)
    since = d["records"][0]["seq"]
    st, h, d, _ = request(TCP, "GET", "/v1/audit?since=%d&limit=2" % since, headers=bearer("grafana"))
    t.check(st == 200 and [r["seq"] for r in d["records"]] == [since + 1, since + 2],
            "/v1/audit?since=N&limit=2 pages forward", d)
    st, h, d, _ = request(TCP, "GET", "/v1/audit?since=abc", headers=bearer("grafana"))
    t.check(st == 400, "/v1/audit?since=abc is 400", d)

    s0 = last_seq()
    st, h, d, _ = request(TCP, "GET", "/v1/clients", headers=bearer("plain"))
    t.check(st == 403 and d["error"]["code"] == -32010, "a token no rule grants admin: 403 with -32010", d)
    s0 = last_seq()
    st, h, d, _ = request(TCP, "POST", "/rpc", {"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"},
                          headers=bearer("grafana"))
    recs = new_records(s0)
    t.check(st == 403 and recs and recs[-1]["action"] == "http_rpc" and recs[-1]["decision"] == "deny",
            "POST /rpc over tcp without http_rpc: 403, audited as http_rpc", (d, recs))
    st, h, d, _ = request(TCP, "POST", "/rpc", {"jsonrpc": "2.0", "id": 1, "method": "daemon.ping"},
                          headers=bearer("rpc"))
    t.check(st == 200 and d["result"] == {"pong": True}, "POST /rpc over tcp with http_rpc granted", d)
    st, h, d, _ = request(TCP, "POST", "/rpc", [{"jsonrpc": "2.0", "id": 1, "method": "admin.stats"},
                                                {"jsonrpc": "2.0", "id": 2, "method": "net.getservbyname",
                                                 "params": {"name": "http", "proto": "tcp"}}],
                          headers=bearer("rpc"))
    t.check(st == 200 and d[0]["error"]["code"] == -32010 and d[1]["result"]["port"] ==
            socket.getservbyname("http", "tcp"),
            "over /rpc the token gets what its identity gets: resolve yes, admin no", d)

    # policy.check can ask what a token may do.
    q = {"as": {"user": "nobody", "token": "grafana"}, "request": {"method": "admin.clients"}}
    st, h, d, _ = request(UNIX, "POST", "/v1/policy/check", q)
    t.check(st == 200 and d["allowed"] is True and d["rule"] == "monitoring by token",
            "policy.check as the token says admin is allowed, by its rule", d)

    # Tokens are read again on SIGHUP; a broken file leaves the old ones.
    tokens = json.load(open(os.environ["TOKENS"]))
    late = "L" * 48
    tokens["tokens"].append({"name": "late", "secret": late, "user": "nobody"})
    with open(os.environ["TOKENS"] + ".new", "w") as f:
        json.dump(tokens, f)
    os.chmod(os.environ["TOKENS"] + ".new", 0o600)
    os.rename(os.environ["TOKENS"] + ".new", os.environ["TOKENS"])
    os.kill(PID, signal.SIGHUP)
    ok = until(lambda: request(TCP, "GET", "/v1/whoami", headers={"Authorization": "Bearer " + late})[0] == 200,
               "the new token")
    t.check(ok, "after SIGHUP a token added to the file is accepted")
    with open(os.environ["TOKENS"], "w") as f:
        f.write("{ not json")
    log_before = open(os.environ["LOG"]).read().count("tokens loaded before stay")
    os.kill(PID, signal.SIGHUP)
    until(lambda: open(os.environ["LOG"]).read().count("tokens loaded before stay") > log_before, "the error")
    st, h, d, _ = request(TCP, "GET", "/v1/whoami", headers={"Authorization": "Bearer " + late})
    t.check(st == 200, "after SIGHUP with a broken file the tokens loaded before stay", d)

    # /metrics, checked by Prometheus's own tool.
    st, h, text, raw = request(TCP, "GET", "/metrics")
    t.check(st == 200 and h.get("content-type", "").startswith("text/plain; version=0.0.4"),
            "/metrics is served to an anonymous caller as text/plain; version=0.0.4", h)
    p = subprocess.run(["promtool", "check", "metrics"], input=raw, capture_output=True)
    t.check(p.returncode == 0, "promtool check metrics accepts it", p.stdout + p.stderr)
    t.check('sockbroker_http_responses_total{code="401"}' in text and
            'sockbroker_requests_total{method="admin.clients",outcome="denied"}' in text and
            'sockbroker_policy_decisions_total{rule="monitoring by token",verdict="allow"}' in text,
            "it counts HTTP statuses, requests by method and outcome, decisions by rule", text[:3000])


def sse_events(sock, want, timeout=20):
    """Reads SSE events from sock until want(events) holds; returns them."""
    sock.settimeout(timeout)
    buf = b""
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not want(events):
        b = sock.recv(65536)
        if not b:
            break
        buf += b
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            ev = {}
            for line in block.decode().split("\n"):
                if line.startswith(":") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                ev[k] = v[1:] if v.startswith(" ") else v
            if ev:
                events.append(ev)
    return events


def open_stream(where, path, headers=None, rcvbuf=None):
    if where.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.connect(where[5:])
    else:
        host, port = where[4:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    req = "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n" % path
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    s.sendall((req + "\r\n").encode())
    return s


def stream_checks():
    until(lambda: True, "the poking connection")
    base_fds = fd_count(PID)
    base_list = fd_list(PID)
    seq0 = last_seq()
    s = open_stream(TCP, "/v1/audit/stream?since=%d" % max(seq0 - 3, 0), bearer("grafana"))
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    t.check(head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head,
            "GET /v1/audit/stream is 200 text/event-stream", head)
    evs = sse_events(s, lambda e: len(e) >= 3)
    t.check([int(e["id"]) for e in evs[:3]] == [seq0 - 2, seq0 - 1, seq0] and all(e["event"] == "audit"
                                                                                 for e in evs),
            "it starts with the records after since=", evs)
    request(TCP, "GET", "/v1/clients", headers=bearer("plain"))
    evs = sse_events(s, lambda e: any(json.loads(x["data"])["method"] == "admin.clients" for x in e))
    got = [json.loads(e["data"]) for e in evs]
    t.check(any(r["method"] == "admin.clients" and r["decision"] == "deny" and r["uid"] == 65534 for r in got),
            "a refusal made meanwhile arrives as an event, as it happens", got)
    s.close()

    st, h, d, _ = request(TCP, "GET", "/v1/audit/stream", headers=bearer("plain"))
    t.check(st == 403, "a caller without admin gets 403, not a stream", d)

    # A client that opens the stream and never reads: its queue is bounded
    # (--http-max-stream-bytes), the stream ends, the connection goes at the
    # idle timeout, and everyone else is served all along.
    ended_before = open(os.environ["LOG"]).read().count("ending the stream")
    lazy = open_stream(UNIX, "/v1/audit/stream", rcvbuf=4096)
    s2, call = rpc_session.connect(SOCK)
    served = True
    for i in range(3000):
        st, h, d, _ = request(TCP, "GET", "/v1/clients", headers=bearer("plain"))
        served = served and st == 403
        if i % 500 == 0:
            served = served and call("daemon.ping").get("result") == {"pong": True}
        if open(os.environ["LOG"]).read().count("ending the stream") > ended_before:
            break
    t.check(open(os.environ["LOG"]).read().count("ending the stream") > ended_before,
            "the never-reading stream is ended once its queue is full (%d records made)" % (i + 1))
    t.check(served, "every other request was served meanwhile")
    s2.shutdown(socket.SHUT_RDWR)   # call's file object keeps the descriptor past close()
    s2.close()
    until(lambda: fd_count(PID) <= base_fds, "descriptors", timeout=30)
    t.check(fd_count(PID) == base_fds, "its connection is gone at the idle timeout: descriptors back to %d"
            % base_fds, "before:\n" + base_list + "\nafter:\n" + fd_list(PID))
    lazy.close()

    # A reload that takes admin from the stream's caller ends its stream.
    s = open_stream(TCP, "/v1/audit/stream", bearer("grafana"))
    s.settimeout(20)
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            break
        head += b
    t.check(head.startswith(b"HTTP/1.1 200"), "a token's stream is open",
            repr(head) + "\n" + "".join(open(os.environ["LOG"]).readlines()[-8:]))
    policy = os.environ["POLICY"]
    old = open(policy).read()
    doc = json.loads(old)
    doc["rules"] = [r for r in doc["rules"] if r["name"] != "monitoring by token"]
    with open(policy, "w") as f:
        json.dump(doc, f)
    os.kill(PID, signal.SIGHUP)
    s.settimeout(20)
    closed = False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
    except (ConnectionResetError, socket.timeout) as e:
        closed = isinstance(e, ConnectionResetError)
    t.check(closed, "after a reload that drops its admin rule, the token's stream ends")
    s.close()
    with open(policy, "w") as f:
        f.write(old)
    os.kill(PID, signal.SIGHUP)
    ok = until(lambda: request(TCP, "GET", "/v1/clients", headers=bearer("grafana"))[0] == 200, "restored")
    t.check(ok, "with the rule back, the token may see the audit again")


def budget_checks():
    # At 1 % of the loop the HTTP face pauses often, and answers everything.
    results = []

    def hammer():
        c = connection(TCP)
        n = 0
        for _ in range(400):
            st, _, _, _ = request(TCP, "GET", "/healthz", conn=c)
            n += st == 200
        results.append(n)
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for th in threads:
        th.start()
    s, call = rpc_session.connect(SOCK)
    pongs = sum(call("daemon.ping").get("result") == {"pong": True} for _ in range(50))
    for th in threads:
        th.join()
    s.close()
    t.check(results == [400] * 4, "every one of 1,600 requests is answered while paused in turns", results)
    t.check(pongs == 50, "the control socket answers meanwhile")
    st, h, text, _ = request(TCP, "GET", "/metrics")
    pauses = [line for line in text.splitlines() if line.startswith("sockbroker_http_budget_pauses_total ")]
    t.check(pauses and int(pauses[0].split()[1]) > 0, "the pauses are counted in /metrics", pauses)


{"auth": auth_checks, "stream": stream_checks, "budget": budget_checks}[os.environ.get("PART", "auth")]()
t.done()
