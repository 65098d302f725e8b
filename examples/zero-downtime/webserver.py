#!/usr/bin/env python3
"""A web server that serves on a listener it did not bind: the socket held by
sockbrokerd under a name (docs/held.md), retrieved with hold.get {pass: true}.
Any number of instances may serve the same listener at once, so a new one
starts before the old one stops and no connection is ever refused
(examples/zero-downtime/README.md).

Usage: webserver.py [--socket PATH] [--name NAME] [--verbose]

  --socket PATH  the daemon's control socket (default: $SOCKBROKER_SOCKET,
                 else /run/sockbroker/control.sock)
  --name NAME    the held socket to serve on (default: web)
  --verbose      an access log line per request on standard error

Every answer is a line of JSON naming the process that served it:
{"pid": 4242, "path": "/", "received": 0}. Once serving, it prints
"ready pid=PID name=NAME address=HOST:PORT" on standard output. On SIGTERM
or SIGINT it stops accepting, finishes the requests it has accepted, prints
"stopped pid=PID served=N" and exits 0; connections it has not accepted wait
in the listener's backlog for the other instances. It cannot get the socket:
a message on standard error, exit 1.

The standard library only (Python 3.9 or later, for socket.recv_fds).
"""

import argparse
import json
import os
import signal
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_SOCKET = "/run/sockbroker/control.sock"


class BrokerError(Exception):
    pass


def retrieve(path, name):
    """The socket held under NAME, from the daemon at PATH: one hold.get with
    pass (docs/protocol.md section 4: one JSON line each way, the descriptor
    with the reply as SCM_RIGHTS, announced by "fds": 1 in its result)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(30)
        c.connect(path)
        req = {"jsonrpc": "2.0", "id": 1, "method": "hold.get", "params": {"name": name, "pass": True}}
        c.sendall(json.dumps(req).encode() + b"\n")
        buf, fds = b"", []
        while b"\n" not in buf:
            data, got, flags, _ = socket.recv_fds(c, 65536, 1, socket.MSG_CMSG_CLOEXEC)
            fds += got
            if flags & socket.MSG_CTRUNC:
                for fd in fds:
                    os.close(fd)
                raise BrokerError("more descriptors came than one")
            if not data:
                raise BrokerError("the daemon closed the connection")
            buf += data
    reply = json.loads(buf.split(b"\n", 1)[0])
    if "error" in reply or reply.get("result", {}).get("fds") != 1 or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        e = reply.get("error", {})
        raise BrokerError("%s (code %s)" % (e.get("message", "no descriptor in the reply"), e.get("code")))
    return socket.socket(fileno=fds[0])


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 for "Expect: 100-continue"; every answer closes its connection
    # (Connection: close), so no idle keep-alive connection holds up a stop.
    protocol_version = "HTTP/1.1"
    server_version = "sockbroker-zero-downtime/1"
    # A client that stops sending does not keep a stopping instance forever.
    timeout = 30

    def do_GET(self):
        self.answer(b"")

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > 1 << 20:
                raise ValueError(length)
        except ValueError:
            self.send_error(400, "bad Content-Length (at most 1 MiB)")
            return
        self.answer(self.rfile.read(length))

    def answer(self, body_in):
        body = json.dumps({"pid": os.getpid(), "path": self.path, "received": len(body_in)}).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        self.server.count()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)


class Server(ThreadingHTTPServer):
    # Request threads are joined by server_close(): a stop waits for every
    # request accepted (ThreadingHTTPServer makes them daemon threads, which
    # it would not wait for).
    daemon_threads = False
    block_on_close = True

    def __init__(self, listener, verbose=False):
        # No bind, no listen: the listener comes ready from the daemon.
        socketserver.BaseServer.__init__(self, listener.getsockname(), Handler)
        self.socket = listener
        self.server_name, self.server_port = listener.getsockname()[:2]
        self.verbose = verbose
        self.served = 0
        self._lock = threading.Lock()

    def count(self):
        with self._lock:
            self.served += 1

    def handle_error(self, request, client_address):
        # A client that left before its answer is no error of ours.
        if isinstance(sys.exc_info()[1], ConnectionError):
            if self.verbose:
                print("%s: %s" % (client_address[0], sys.exc_info()[1]), file=sys.stderr)
            return
        super().handle_error(request, client_address)

    # server_close() only closes our descriptor: the listener is the daemon's
    # and the other instances', and must never be shut down (shutdown(2) on
    # a listener would stop it for every process that shares it).


def say(line):
    try:
        print(line, flush=True)
    except BrokenPipeError:
        pass


def main():
    ap = argparse.ArgumentParser(description="Serve HTTP on a socket held by sockbrokerd.")
    ap.add_argument("--socket", default=os.environ.get("SOCKBROKER_SOCKET") or DEFAULT_SOCKET,
                    help="the daemon's control socket (default: $SOCKBROKER_SOCKET, else %(default)s)")
    ap.add_argument("--name", default="web", help="the held socket's name (default: web)")
    ap.add_argument("--verbose", action="store_true", help="log every request on standard error")
    args = ap.parse_args()

    try:
        listener = retrieve(args.socket, args.name)
    except (OSError, ValueError, BrokerError) as e:
        print("webserver: cannot retrieve %r from %s: %s" % (args.name, args.socket, e), file=sys.stderr)
        return 1
    if listener.type != socket.SOCK_STREAM:
        print("webserver: %r is not a stream socket" % args.name, file=sys.stderr)
        return 1
    # Every instance shares one open file, and so O_NONBLOCK: all of them wake
    # for a connection and one gets it. Non-blocking, the others' accept()
    # fails with EAGAIN (socketserver ignores it) instead of waiting for the
    # next connection, which would keep a stopping instance in accept().
    listener.setblocking(False)

    # SIGTERM and SIGINT are blocked in every thread and taken by sigwait().
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    server = Server(listener, args.verbose)
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    loop.start()
    host, port = server.server_address[:2]
    say("ready pid=%d name=%s address=%s:%d" % (os.getpid(), args.name, host, port))

    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    say("stopping pid=%d" % os.getpid())
    server.shutdown()       # serve_forever() returns: nothing more is accepted
    loop.join()
    server.server_close()   # our copy of the listener closed; requests in flight finished
    say("stopped pid=%d served=%d" % (os.getpid(), server.served))
    return 0


if __name__ == "__main__":
    sys.exit(main())
