#!/usr/bin/env python3
"""Runs the examples of the man pages and the README and compares what they
print with what the documents show (issue 12 item 8). Run by
tests/it_examples.sh, as root, inside a private network and mount namespace
(so port 80 is free and /etc/hosts is "127.0.0.1 localhost").

What is an example:
  - a man page: an .EX/.EE block with lines starting "$ " (the command; a
    line ending in "|" or "\\" continues on the next), followed by the output
    it shows, up to the next "$ " or the block's end;
  - README.md: a ```console block, the same way; a ```python block is run
    with python3 and, when a ```text block follows it at once, compared
    with that.
Each document's examples run in order against a private daemon of their own:
with the embedded default policy, or, from the block marked with a comment
line `.\\" example-policy` (man) or `<!-- example-policy -->` (README)
before it, with that JSON as /etc/sockbroker/policy.json.

The normalisation, all of it:
  - commands: /run/sockbroker/control.sock is the private daemon's socket,
    /etc/sockbroker and /tmp/sb are directories of the test's own, a leading
    build/ is the build tree; sockbrokerctl and sockbrokerd are the built
    ones, and a sockbrokerd run without --policy gets the document's policy
    (a test never reads the host's /etc/sockbroker); SOCKBROKER_SOCKET is
    the private socket;
  - output: stdout and stderr together; the paths above mapped back; runs of
    blanks compare equal (column widths follow the values);
  - placeholders in the documents' output: a word in italics (man: \\fIPID\\fP)
    or in angle brackets (README: <PID>) stands for one word; "..." inside a
    line for any text; a line "..." for any number of lines;
  - a command ending in "&" (a daemon) is started, its output compared up to
    its "ready" line, and it is stopped when the document is done.
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading

SRCDIR = os.environ["SRCDIR"]
BUILDDIR = os.environ["BUILDDIR"]
WORK = sys.argv[1]

checks = failures = 0


def ok(msg):
    global checks
    checks += 1
    print("ok - " + msg, flush=True)


def not_ok(msg, details=""):
    global checks, failures
    checks += 1
    failures += 1
    print("not ok - " + msg, flush=True)
    for line in details.splitlines():
        print("    | " + line)


# ---------------------------------------------------------------- extraction

def roff_text(line):
    """A roff line of an .EX block as it renders, italics as <WORD>."""
    line = re.sub(r"\\fI(.*?)\\f[PR]", r"<\1>", line)
    line = re.sub(r"\\f[BRP]", "", line)
    for a, b in (("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\(lq", '"'), ("\\(rq", '"'),
                 ("\\&", ""), ("\\e", "\\")):
        line = line.replace(a, b)
    return line


def blocks_of_man(path):
    """(kind, lines) in order: kind "policy" (marked JSON) or "console"."""
    out, block, marked, prev = [], None, False, ""
    for raw in open(path, encoding="utf-8"):
        raw = raw.rstrip("\n")
        if raw.startswith(".EX"):
            block, marked = [], prev.strip() == '.\\" example-policy'
        elif raw.startswith(".EE") and block is not None:
            if marked:
                out.append(("policy", block))
            elif any(l.startswith("$ ") for l in block):
                out.append(("console", block))
            block = None
        elif block is not None:
            block.append(roff_text(raw))
        if raw.strip() and not raw.startswith(".in") and not raw.startswith(".PP"):
            prev = raw
    return out


def blocks_of_markdown(path):
    out, block, kind, marked, prev = [], None, None, False, ""
    for raw in open(path, encoding="utf-8"):
        raw = raw.rstrip("\n")
        if block is None and raw.startswith("```") and len(raw) > 3:
            block, kind, marked = [], raw[3:].strip(), prev.strip() == "<!-- example-policy -->"
        elif block is not None and raw == "```":
            if marked:
                out.append(("policy", block))
            elif kind == "console" and any(l.startswith("$ ") for l in block):
                out.append(("console", block))
            elif kind in ("python", "text"):
                out.append((kind, block))
            block = None
        elif block is not None:
            block.append(raw)
        if raw.strip():
            prev = raw
    return out


def examples_of(lines):
    """[(command, [expected lines])] of a console block."""
    out, i = [], 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        cmd = lines[i][2:]
        i += 1
        while (cmd.endswith("|") or cmd.endswith("\\")) and i < len(lines):
            cmd = (cmd[:-1] if cmd.endswith("\\") else cmd) + " " + lines[i].strip()
            i += 1
        expect = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expect.append(lines[i])
            i += 1
        while expect and not expect[-1].strip():
            expect.pop()
        out.append((cmd, expect))
    return out


# ---------------------------------------------------------------- comparison

def line_regex(expected):
    parts = re.split(r"(<[A-Za-z/][^<>]*>|\.\.\.)", expected)
    rx = ""
    for p in parts:
        if p == "...":
            rx += ".*"
        elif p.startswith("<") and p.endswith(">") and len(p) > 2:
            rx += r"\S+"
        else:
            rx += r"\s+".join(re.escape(w) for w in re.split(r"\s+", p)) if p.strip() else (r"\s*" if p else "")
    return re.compile(r"\s*" + rx + r"\s*\Z")


def matches(expected, actual):
    """Whether the actual lines match the expected ones (placeholders, "...")."""
    def m(i, j):
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() == "...":
            return any(m(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and line_regex(expected[i]).match(actual[j]) is not None and m(i + 1, j + 1)
    return m(0, 0)


# ---------------------------------------------------------------- running

class Context:
    """A private daemon for one document, and the path mapping."""

    def __init__(self, name, policy_json):
        self.dir = os.path.join(WORK, name)
        self.sock = os.path.join(self.dir, "control.sock")
        self.etc = os.path.join(self.dir, "etc", "sockbroker")
        self.tmp_sb = os.path.join(self.dir, "sb")
        os.makedirs(self.etc, mode=0o755)
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.dirname(self.etc), 0o755)
        if policy_json is None:
            self.policy = os.path.join(self.etc, "policy.d")   # empty: the embedded default
            os.mkdir(self.policy, 0o755)
        else:
            self.policy = os.path.join(self.etc, "policy.json")
            with open(self.policy, "w") as f:
                f.write(policy_json)
            os.chmod(self.policy, 0o644)
        self.env = dict(os.environ)
        self.env["PATH"] = "%s/client:%s/daemon:%s" % (BUILDDIR, BUILDDIR, os.environ["PATH"])
        self.env["SOCKBROKER_SOCKET"] = self.sock
        for v in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET"):
            self.env.pop(v, None)
        self.background = []
        self.drains = []
        self.daemon = self.start([os.path.join(BUILDDIR, "daemon", "sockbrokerd"), "--socket", self.sock,
                                  "--policy", self.policy], shell=False)[0]

    def start(self, args, shell):
        """Starts a daemon; returns (process, lines up to its ready line)."""
        p = subprocess.Popen(args, shell=shell, env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, bufsize=0, start_new_session=True,
                             executable="/bin/sh" if shell else None)
        buf = b""
        # Unbuffered reads under select: a buffered reader could hold the
        # ready line while select waits on an empty pipe.
        while b" ready on " not in buf:
            r, _, _ = select.select([p.stdout], [], [], 30)
            chunk = p.stdout.read(4096) if r else b""
            if not chunk:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise RuntimeError("no ready line from %s: %s" % (args, buf.decode(errors="replace")))
            buf += chunk
        lines = buf.decode(errors="replace").split("\n")
        end = next(i for i, l in enumerate(lines) if " ready on " in l)
        lines = lines[:end + 1]
        # The drain reads through the pipe's own file object (never a bare
        # descriptor number another pipe may reuse) and is joined in close().
        t = threading.Thread(target=lambda: [None for _ in iter(lambda: p.stdout.read(65536), b"")],
                             daemon=True)
        t.start()
        self.drains.append(t)
        self.background.append(p)
        return p, lines

    def command(self, cmd):
        cmd = cmd.replace("/run/sockbroker/control.sock", self.sock)
        cmd = cmd.replace("/etc/sockbroker", self.etc)
        cmd = cmd.replace("/tmp/sb", self.tmp_sb)
        cmd = re.sub(r"(^|[|;&]\s*)build/", r"\1" + BUILDDIR + "/", cmd)
        if "--policy" not in cmd:
            cmd = re.sub(r"(^|[|;&]\s*|\s)(sockbrokerd)(?=\s|$)", r"\1\2 --policy " + self.policy, cmd)
        return cmd

    def unmap(self, text):
        for real, shown in ((self.sock, "/run/sockbroker/control.sock"), (self.etc, "/etc/sockbroker"),
                            (self.tmp_sb, "/tmp/sb"), (BUILDDIR + "/", "build/")):
            text = text.replace(real, shown)
        return text

    def run(self, cmd):
        c = self.command(cmd)
        if c.rstrip().endswith("&"):
            _, lines = self.start(c.rstrip()[:-1], shell=True)
            return [self.unmap(l) for l in lines]
        p = subprocess.run(c, shell=True, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60, executable="/bin/sh")
        return self.unmap(p.stdout).splitlines()

    def run_python(self, code):
        p = subprocess.run([sys.executable, "-c", code], env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        return p.returncode, self.unmap(p.stdout).splitlines()

    def close(self):
        for p in reversed(self.background):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for t in self.drains:
            t.join(timeout=30)
        for p in self.background:
            p.stdout.close()
        self.background, self.drains = [], []


def check_document(name, blocks):
    ctx = Context(name.replace("/", "_"), None)
    n = 0
    try:
        i = 0
        while i < len(blocks):
            kind, lines = blocks[i]
            if kind == "policy":
                ctx.close()
                text = "\n".join(lines) + "\n"
                try:
                    json.loads(text)
                except ValueError as e:
                    not_ok("%s: the example policy is not JSON: %s" % (name, e))
                ctx = Context(name.replace("/", "_") + "_%d" % i, text)
            elif kind == "console":
                for cmd, expect in examples_of(lines):
                    n += 1
                    actual = ctx.run(cmd)
                    if matches(expect, actual):
                        ok("%s: $ %s" % (name, cmd))
                    else:
                        not_ok("%s: $ %s prints other than the document shows" % (name, cmd),
                               "shown:\n" + "\n".join(expect) + "\nprinted:\n" + "\n".join(actual))
            elif kind == "python":
                n += 1
                rc, actual = ctx.run_python("\n".join(lines))
                expect = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else None
                if rc != 0:
                    not_ok("%s: a python example exits %d" % (name, rc), "\n".join(actual))
                elif expect is not None and not matches(expect, actual):
                    not_ok("%s: a python example prints other than the document shows" % name,
                           "shown:\n" + "\n".join(expect) + "\nprinted:\n" + "\n".join(actual))
                else:
                    ok("%s: a python example runs%s" % (name, "" if expect is None else " and prints what is shown"))
            i += 1
    finally:
        ctx.close()
    return n


def main():
    docs = [("docs/sockbrokerctl.1", blocks_of_man), ("docs/sockbrokerd.8", blocks_of_man),
            ("docs/sockbroker-policy.5", blocks_of_man), ("docs/sockbroker.3", blocks_of_man),
            ("README.md", blocks_of_markdown)]
    total = 0
    for rel, parse in docs:
        n = check_document(rel, parse(os.path.join(SRCDIR, rel)))
        total += n
        if rel != "docs/sockbroker.3" and n == 0:
            not_ok("%s: no example found (mark them as the header of tests/doc_examples.py says)" % rel)
    print("# %d examples, %d checks, %d failed" % (total, checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
