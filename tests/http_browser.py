#!/usr/bin/env python3
"""The web view (GET /) in a real headless Chromium, driven over WebDriver by
chromedriver with nothing but the standard library (urllib, json).

  http_browser.py --url http://127.0.0.1:PORT --token SECRET --control SOCK
                  --artifacts DIR [--copy-screenshot PATH]

Against a daemon whose policy lets this user (and the token's user) do
admin, create, bind and listen, and denies connect to port 25 by a rule
named in --deny-rule: opens two control-socket clients holding sockets,
loads the page with #token=SECRET, waits until the clients and sockets
tables show them, watches a new allow and deny record arrive over the SSE
stream and move the rules' counters, checks the keyboard's first stop is the
skip link, that a 360 px wide window does not scroll sideways, and that
without the token the sections say "not permitted". Screenshots go to
DIR/http-view.png (1200x900) and DIR/http-view-360.png. Every wait polls
against a deadline; prints TAP-like "ok"/"not ok" lines, exits 1 on a
failure.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from rpc_session import connect

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = float(os.environ.get("BROWSER_WAIT", "30"))

failures = 0


def ok(cond, what, detail=None):
    global failures
    if cond:
        print("ok - " + what, flush=True)
    else:
        failures += 1
        print("not ok - " + what, flush=True)
        if detail is not None:
            for line in str(detail).splitlines():
                print("    | " + line, flush=True)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=30):
    """(status, parsed JSON or None)"""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


class Driver:
    """One chromedriver process and one session of it."""

    def __init__(self, profile):
        self.port = free_port()
        self.log = open(os.path.join(profile, "chromedriver.log"), "w")
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + WAIT
        while True:
            try:
                st, v = http("GET", self.base + "/status", timeout=2)
                if st == 200 and v["value"].get("ready"):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not become ready (see %s)" % self.log.name)
            time.sleep(0.05)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + os.path.join(profile, "chromium"),
                "--window-size=1200,900"]}}}}
        st, v = http("POST", self.base + "/session", caps, timeout=60)
        if st != 200:
            raise RuntimeError("no WebDriver session: %s %s" % (st, v))
        self.sid = v["value"]["sessionId"]

    def cmd(self, method, path, body=None):
        st, v = http(method, "%s/session/%s%s" % (self.base, self.sid, path), body)
        if st != 200:
            raise RuntimeError("WebDriver %s %s: %s %s" % (method, path, st, v))
        return v["value"]

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait(self, script, what, *args):
        """Polls script until it returns something true; that value, or None."""
        deadline = time.monotonic() + WAIT
        last = None
        while time.monotonic() < deadline:
            last = self.js(script, *args)
            if last:
                return last
            time.sleep(0.1)
        ok(False, what + " (timed out after %g s)" % WAIT, self.js(STATE_JS))
        return None

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return png

    def console(self):
        try:
            return self.cmd("POST", "/se/log", {"type": "browser"})
        except RuntimeError:
            return []

    def close(self):
        try:
            http("DELETE", "%s/session/%s" % (self.base, self.sid), timeout=10)
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# What the page shows, for diagnostics and the checks.
STATE_JS = """
const q = (s) => Array.from(document.querySelectorAll(s));
const st = {};
for (const sec of q('main section')) st[sec.id] = [sec.dataset.state, sec.querySelector('.msg').textContent];
return {
  sections: st,
  stream: document.getElementById('audit').dataset.stream,
  streamText: document.getElementById('audit-state').textContent,
  clients: q('#clients tbody tr[data-connection]').map(tr => Number(tr.dataset.connection)),
  sockets: q('#sockets tbody tr[data-handle]').map(tr => Number(tr.dataset.handle)),
  rules: q('#rules tbody tr[data-rule]').map(tr => [tr.dataset.rule, Number(tr.dataset.allowed), Number(tr.dataset.denied)]),
  audit: q('#audit li[data-seq]').slice(0, 8).map(li => li.dataset.seq + ' ' + li.textContent),
  status: document.getElementById('status').textContent,
  url: location.href,
};
"""


def rpc_ok(call, method, params={}):
    r = call(method, params)
    if "result" not in r:
        raise RuntimeError("%s %s: %s" % (method, params, r))
    return r["result"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--allow-rule", required=True, help="the rule that allows this user's socket.create")
    ap.add_argument("--deny-rule", required=True, help="the rule that denies connect to port 25")
    ap.add_argument("--copy-screenshot", help="also copy the wide screenshot here, when every check passed")
    a = ap.parse_args()
    url = a.url.rstrip("/")
    auth = {"Authorization": "Bearer " + a.token}
    os.makedirs(a.artifacts, exist_ok=True)

    # Two clients with sockets: one listening TCP socket and a UDP one, and
    # a second connection with one TCP socket.
    s1, call1 = connect(a.control, timeout=30)
    s2, call2 = connect(a.control, timeout=30)
    conn1 = rpc_ok(call1, "daemon.whoami")["connection"]
    conn2 = rpc_ok(call2, "daemon.whoami")["connection"]
    h_listen = rpc_ok(call1, "socket.create", {"family": "AF_INET", "type": "SOCK_STREAM"})["handle"]
    rpc_ok(call1, "socket.bind", {"handle": h_listen, "address": ["127.0.0.1", 0]})
    rpc_ok(call1, "socket.listen", {"handle": h_listen, "backlog": 4})
    h_udp = rpc_ok(call1, "socket.create", {"family": "AF_INET", "type": "SOCK_DGRAM"})["handle"]
    h_other = rpc_ok(call2, "socket.create", {"family": "AF_INET6", "type": "SOCK_STREAM"})["handle"]
    handles = sorted([h_listen, h_udp, h_other])
    print("# clients %d and %d, handles %s" % (conn1, conn2, handles), flush=True)

    profile = tempfile.mkdtemp(prefix="sbd-chromium.")
    d = None
    try:
        d = Driver(profile)
        d.cmd("POST", "/url", {"url": url + "/#token=" + a.token})

        seen = d.wait("""
const c = new Set(Array.from(document.querySelectorAll('#clients tbody tr[data-connection]')).map(tr => Number(tr.dataset.connection)));
const h = new Set(Array.from(document.querySelectorAll('#sockets tbody tr[data-handle]')).map(tr => Number(tr.dataset.handle)));
return arguments[0].every(x => c.has(x)) && arguments[1].every(x => h.has(x));
""", "the clients and sockets tables show them", [conn1, conn2], handles)
        ok(seen, "the clients table shows connections %d and %d, the sockets table handles %s" % (conn1, conn2, handles))
        st = d.js(STATE_JS)
        ok(not st["url"].endswith(a.token) and "token=" not in st["url"],
           "the token left the address bar", st["url"])
        ok(d.js("return sessionStorage.getItem('sockbroker.token')") == a.token,
           "the token is kept in sessionStorage")
        row = d.js("""
const tr = document.querySelector('#sockets tbody tr[data-handle="' + arguments[0] + '"]');
return tr ? Array.from(tr.cells).map(td => td.textContent) : null;""", h_listen)
        ok(row and row[3] == "AF_INET" and "127.0.0.1:" in row[5] and row[7].startswith("listening"),
           "the listening socket's row shows its family, address and state", row)
        ok(all(v[0] == "ok" for k, v in st["sections"].items() if k != "audit"),
           "every section loaded", st["sections"])
        ok(d.js("return document.getElementById('daemon-version') && document.getElementById('daemon-version').textContent"),
           "the daemon section shows its version", st["sections"]["daemon"])

        if not d.wait("return document.getElementById('audit').dataset.stream === 'open'",
                      "the audit stream opens"):
            raise RuntimeError("no audit stream")
        ok(True, "the audit stream is open")
        counts = {r[0]: r[1:] for r in d.js(STATE_JS)["rules"]}
        ok(a.allow_rule in counts and a.deny_rule in counts, "the rules table names both rules", counts)

        # Governed requests from this process: one allowed, one denied.
        status, body = http("GET", url + "/v1/audit?limit=1", headers=auth)
        ok(status == 200 and "last" in body, "GET /v1/audit answers with the newest seq", (status, body))
        before = body.get("last", 0) if status == 200 else 0
        h_new = rpc_ok(call2, "socket.create", {"family": "AF_INET", "type": "SOCK_STREAM"})["handle"]
        r = call2("socket.connect", {"handle": h_new, "address": ["127.0.0.1", 25]})
        ok(r.get("error", {}).get("code") == -32010, "connect to port 25 is denied", r)
        me = os.getpid()
        want = {}
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and len(want) < 2:
            status, body = http("GET", url + "/v1/audit?since=%d" % before, headers=auth)
            if status != 200:
                break
            for rec in body.get("records", []):
                if rec.get("pid") == me and rec.get("method") in ("socket.create", "socket.connect"):
                    want.setdefault(rec["method"], rec["seq"])
            if len(want) < 2:
                time.sleep(0.1)
        ok(status == 200 and len(want) == 2, "GET /v1/audit?since=%d holds the two new records" % before,
           (status, want))
        for method, seq in sorted(want.items()):
            li = d.wait("""
const li = document.querySelector('#audit li[data-seq="' + arguments[0] + '"]');
return li ? [li.dataset.decision, li.textContent] : null;""", "audit record %d appears" % seq, seq)
            dec = "deny" if method == "socket.connect" else "allow"
            ok(li and li[0] == dec and method in li[1],
               "audit record %d (%s, %s) arrived over the stream" % (seq, method, dec), li)
        grown = d.wait("""
const r = {};
for (const tr of document.querySelectorAll('#rules tbody tr[data-rule]')) r[tr.dataset.rule] = [Number(tr.dataset.allowed), Number(tr.dataset.denied)];
const a = r[arguments[0]], d = r[arguments[1]];
return a && d && a[0] > arguments[2] && d[1] > arguments[3] ? r : null;""",
                       "the rules' counters move", a.allow_rule, a.deny_rule,
                       counts.get(a.allow_rule, [0, 0])[0], counts.get(a.deny_rule, [0, 0])[1])
        ok(grown, "the rules' counters moved (allowed of %r, denied of %r)" % (a.allow_rule, a.deny_rule))
        ok(d.wait("return !!document.querySelector('#sockets tbody tr[data-handle=\"' + arguments[0] + '\"]')",
                  "the new socket appears", h_new), "the new socket %d appears in the sockets table" % h_new)

        # The keyboard's first stop is the skip link, and it leads to the content.
        d.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
        d.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": "\ue004"}, {"type": "keyUp", "value": "\ue004"}]}]})
        ok(d.js("return document.activeElement.id") == "skip", "Tab first reaches the skip link",
           d.js("return document.activeElement.outerHTML"))
        d.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": "\ue007"}, {"type": "keyUp", "value": "\ue007"}]}]})
        ok(d.wait("return document.activeElement.id === 'main'", "Enter on the skip link moves focus to main"),
           "Enter on the skip link moves the focus to the content")
        d.js("document.activeElement.blur(); window.scrollTo(0, 0);")

        # The whole page in one picture, up to 1800 px tall.
        height = d.js("return document.documentElement.scrollHeight")
        d.cmd("POST", "/window/rect", {"width": 1200, "height": min(max(height + 140, 900), 1800)})
        png = d.screenshot(os.path.join(a.artifacts, "http-view.png"))
        ok(png[:8] == b"\x89PNG\r\n\x1a\n", "screenshot %s/http-view.png (%d bytes)" % (a.artifacts, len(png)))

        # Narrow: 360 CSS px. A window that small may be refused; then the
        # device metrics are overridden instead.
        d.cmd("POST", "/window/rect", {"width": 360, "height": 800})
        if d.js("return window.innerWidth") > 380:
            d.cmd("POST", "/goog/cdp/execute", {"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": 360, "height": 800, "deviceScaleFactor": 1, "mobile": True}})
        dims = d.wait("""
const e = document.documentElement;
return window.innerWidth <= 380 ? {inner: window.innerWidth, client: e.clientWidth, scroll: e.scrollWidth,
  body: document.body.scrollWidth} : null;""", "the window is 360 px wide")
        ok(dims and dims["scroll"] <= dims["client"] and dims["body"] <= dims["client"],
           "at %s px wide nothing scrolls sideways" % (dims and dims["inner"]), dims)
        d.screenshot(os.path.join(a.artifacts, "http-view-360.png"))
        d.cmd("POST", "/window/rect", {"width": 1200, "height": 900})

        # Without the token the sections that need one say why.
        d.js("document.getElementById('token-forget').click()")
        denied = d.wait("""
const c = document.getElementById('clients'), s = document.getElementById('sockets');
return c.dataset.state === 'denied' && s.dataset.state === 'denied' &&
  document.querySelectorAll('#clients tbody tr').length === 0 ? c.querySelector('.msg').textContent : null;""",
                        "without the token the clients section says not permitted")
        ok(denied and denied.startswith("not permitted: "),
           "without the token: %r, and no rows" % denied)
        ok(d.js("return sessionStorage.getItem('sockbroker.token')") is None, "Forget token empties sessionStorage")

        errors = [e for e in d.console() if e.get("level") == "SEVERE"
                  and "status of 401" not in e.get("message", "") and "status of 403" not in e.get("message", "")]
        ok(not errors, "no errors in the browser's console", json.dumps(errors, indent=1))
    except Exception as e:  # a WebDriver failure is a test failure, with its story
        ok(False, "the browser session: %s: %s" % (type(e).__name__, e))
        if d is not None:
            try:
                print(json.dumps(d.js(STATE_JS), indent=1))
            except Exception:
                pass
    finally:
        if d is not None:
            d.close()
        shutil.rmtree(profile, ignore_errors=True)
        s1.close()
        s2.close()
    if a.copy_screenshot and not failures:
        shutil.copyfile(os.path.join(a.artifacts, "http-view.png"), a.copy_screenshot)
        print("# copied the screenshot to " + a.copy_screenshot)
    print("# %d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
