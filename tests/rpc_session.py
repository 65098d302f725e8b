"""One line-delimited JSON-RPC connection to the daemon, for the Python the
shell tests embed (sbd-lib.sh puts this directory on PYTHONPATH)."""
import json
import socket


def connect(path, timeout=None):
    """(the socket, call): call(method, params={}) sends one request and
    returns its parsed reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if timeout is not None:
        s.settimeout(timeout)
    s.connect(path)
    f = s.makefile("rwb")

    def call(method, params={}):
        f.write((json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}) + "\n").encode())
        f.flush()
        return json.loads(f.readline())
    return s, call
