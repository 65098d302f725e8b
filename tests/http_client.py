"""HTTP to the daemon's HTTP face for the tests: over its unix: listener
(http.client on an AF_UNIX socket, as curl --unix-socket does) or its tcp:
one, and the TAP-style ok/not ok lines the shell tests count."""
import http.client
import json
import os
import socket
import sys


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a UNIX socket: the Host header says "localhost"."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def connection(where, timeout=30):
    """where: "unix:PATH" or "tcp:HOST:PORT"."""
    if where.startswith("unix:"):
        return UnixHTTPConnection(where[5:], timeout)
    host, port = where[4:].rsplit(":", 1)
    return http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)


def request(where, method, path, body=None, headers=None, conn=None):
    """(status, headers, parsed JSON or text, raw bytes). A given conn is
    kept open (keep-alive); otherwise one is made and closed."""
    own = conn is None
    c = conn or connection(where)
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    raw = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    if own:
        c.close()
    data = raw.decode("utf-8", "replace")
    if hdrs.get("content-type", "").startswith("application/json") and raw:
        data = json.loads(raw)
    return r.status, hdrs, data, raw


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, what, detail=None):
        self.n += 1
        if cond:
            print("ok - " + what, flush=True)
        else:
            self.failed += 1
            print("not ok - " + what, flush=True)
            if detail is not None:
                for line in str(detail).splitlines()[:20]:
                    print("    | " + line, flush=True)
        return cond

    def done(self):
        print("# %d checks, %d failed" % (self.n, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
