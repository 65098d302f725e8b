#!/usr/bin/env python3
"""HTTP clients of tests/it_zero_downtime.sh, driven line by line: commands
on standard input, events on standard output (flushed), so the shell waits on
lines, never on time.

zdt_client.py hammer HOST PORT [THREADS]
    THREADS (default 4) loops, each making a new connection and a
    "GET /hammer HTTP/1.0" back to back, reading the answer to its end and
    the serving pid from its JSON. Prints "started" once running, and
    "served-by PID" the first time a pid answers. Commands:
      count N   prints "counted N total=T" once N more requests have ended
      stop      (or end of input) stops the loops, prints
                "summary ok=A refused=B failed=C total=T pids=PID:N,PID:N",
                "error: ..." for the first failures, then "end", exits 0.
    A request ends as ok (status 200 and a pid), refused (ECONNREFUSED) or
    failed (anything else: a reset, an early close, a bad answer, 30 s
    without progress).

zdt_client.py inflight HOST PORT
    One request held in flight: a POST of 5 bytes with
    "Expect: 100-continue", whose "100 Continue" shows that a server has
    accepted it and read its headers; prints "continued". On the line "go"
    sends the body and prints "served-by PID received=N" from the answer
    (or "error: ...").
"""

import json
import socket
import sys
import threading

_out = threading.Lock()


def say(line):
    """One whole line on stdout: print() writes the text and its newline
    apart, so another thread's line could land between them."""
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


TIMEOUT = 30


def read_to_end(s):
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            return data
        data += b


def pid_of(answer):
    """The pid of a complete "200" answer, or raises ValueError."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or status[1] != b"200":
        raise ValueError("not a 200 answer: %r" % answer[:200])
    return int(json.loads(body)["pid"])


class Hammer:
    def __init__(self, host, port, threads):
        self.addr = (host, port)
        self.cv = threading.Condition()
        self.ok = self.refused = self.failed = 0
        self.pids = {}
        self.errors = []
        self.stopping = False
        self.threads = [threading.Thread(target=self.loop) for _ in range(threads)]

    def total(self):
        return self.ok + self.refused + self.failed

    def one(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        try:
            try:
                s.connect(self.addr)
            except ConnectionRefusedError:
                return "refused", None
            s.sendall(b"GET /hammer HTTP/1.0\r\nHost: zdt\r\n\r\n")
            return "ok", pid_of(read_to_end(s))
        except (OSError, ValueError) as e:
            return "failed", "%s: %s" % (type(e).__name__, e)
        finally:
            s.close()

    def loop(self):
        while True:
            with self.cv:
                if self.stopping:
                    return
            outcome, what = self.one()
            with self.cv:
                if outcome == "ok":
                    self.ok += 1
                    if what not in self.pids:
                        self.pids[what] = 0
                        say("served-by %d" % what)
                    self.pids[what] += 1
                else:
                    if outcome == "refused":
                        self.refused += 1
                    else:
                        self.failed += 1
                    if len(self.errors) < 10:
                        self.errors.append("%s at request %d: %s" % (outcome, self.total(), what or "ECONNREFUSED"))
                self.cv.notify_all()

    def run(self):
        for t in self.threads:
            t.start()
        say("started")
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["count"] and len(words) == 2:
                with self.cv:
                    target = self.total() + int(words[1])
                    self.cv.wait_for(lambda: self.total() >= target)
                    say("counted %s total=%d" % (words[1], self.total()))
            elif words == ["stop"]:
                break
            else:
                say("error: unknown command %r" % line)
        with self.cv:
            self.stopping = True
        for t in self.threads:
            t.join()
        say("summary ok=%d refused=%d failed=%d total=%d pids=%s" % (
            self.ok, self.refused, self.failed, self.total(),
            ",".join("%d:%d" % kv for kv in sorted(self.pids.items()))))
        for e in self.errors:
            say("error: " + e)
        say("end")
        return 0


def inflight(host, port):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.sendall(b"POST /inflight HTTP/1.1\r\nHost: zdt\r\nContent-Length: 5\r\n"
              b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            say("error: closed before 100 Continue: %r" % head)
            return 1
        head += b
    if head.split()[1:2] != [b"100"]:
        say("error: not 100 Continue: %r" % head)
        return 1
    say("continued")
    if sys.stdin.readline().strip() != "go":
        return 1
    try:
        s.sendall(b"hello")
        answer = read_to_end(s)
        pid = pid_of(answer)
        received = json.loads(answer.partition(b"\r\n\r\n")[2])["received"]
    except (OSError, ValueError, KeyError) as e:
        say("error: %s: %s" % (type(e).__name__, e))
        return 1
    say("served-by %d received=%d" % (pid, received))
    return 0


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "hammer":
        return Hammer(host, port, int(sys.argv[4]) if len(sys.argv) > 4 else 4).run()
    if mode == "inflight":
        return inflight(host, port)
    print("usage: zdt_client.py hammer|inflight HOST PORT [THREADS]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
