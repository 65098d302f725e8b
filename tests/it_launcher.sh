#!/bin/bash
# Issue 16 part 1: `sockbrokerctl run`, the launcher, against the real
# daemon on a private socket with a policy of its own, inside a network
# namespace of its own (so that port 80 and the fixed ports below are ours
# alone, whatever the host or a parallel test runs):
#   1. as nobody, with a rule granting nobody port 80 on 127.0.0.1, lighttpd
#      (server.systemd-socket-activation) and a Python http.server on
#      socket.socket(fileno=3) serve curl; nobody cannot bind port 80 itself;
#      the program sees LISTEN_FDS=1, LISTEN_FDNAMES=http, LISTEN_PID=its pid
#      and no descriptor beyond 0-3;
#   2. a denied listen: exit 1, the message names the socket and the policy's
#      reason, the program never ran (also with --json, and for --held);
#   3. --held: a listener root holds, taken by nobody;
#   4. --connect: a connection to an echo server;
#   5. --stdio: a connection as standard input and output;
#   6. ordering: three sockets of three kinds land on 3, 4, 5, named in order,
#      with the received descriptors starting where the targets are;
#   and the usage errors and exec failures with their exit statuses.
# Needs root (setpriv to nobody, a network namespace); without it, or
# without lighttpd, curl, setpriv, unshare or ip, exits 77, or fails when
# CI=true. Synchronisation: readiness lines through fifos, no sleeps.

set -u

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/nobody-lib.sh
. "$SRCDIR/tests/nobody-lib.sh"

ctl_need_tools "to run the test programs"
need_root "runs the launcher as nobody and makes a network namespace"
for tool in setpriv unshare ip curl lighttpd; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done

# A network namespace of our own, with its loopback up: port 80 is free in it.
own_namespaces '--net' "$@"

ctl_setup it_launcher
nobody_setup
py=python3
# as_nobody_cmd itself, not this function, where the pid matters: a
# function run in the background is a subshell of its own.
as_nobody() { "${as_nobody_cmd[@]}" "$@"; }
echo_pid=
drain_pid2=
trap 'reap TERM "$echo_pid" "$drain_pid2"; ctl_cleanup' EXIT


cat >"$dir/policy.json" <<JSON
{ "version": 1,
  "rules": [
    { "name": "root", "match": { "uid": 0 },
      "allow": [ { "action": "create" }, { "action": "admin" }, { "action": "hold" }, { "action": "retrieve" },
                 { "action": "bind", "address": "127.0.0.1/32" }, { "action": "connect", "address": "127.0.0.1/32" },
                 { "action": "bind", "family": "AF_UNIX", "path": "$dir/" } ] },
    { "name": "nobody serves http", "match": { "uid": 65534 },
      "allow": [ { "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" },
                 { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1/32", "port": 80 },
                 { "action": "connect", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1/32", "port": 7 },
                 { "action": "retrieve", "name": "web-*" } ] } ] }
JSON
ctl_start_daemon --policy "$dir/policy.json"
chmod 666 "$sock"
ctl_socket=$sock
sbctl_for_others

# nob ARGS...: sockbrokerctl as nobody, 60 s at most (a program that waits
# for a peer that never answers is ended); output in $dir/out and $dir/err,
# status in $rc.
nob() {
	timeout 60 "${as_nobody_cmd[@]}" "$sbctl_other" --socket "$sock" "$@" >"$dir/out" 2>"$dir/err" </dev/null
	rc=$?
}

# The program that shows what it was given: its pid, the LISTEN_ variables,
# every descriptor it has (each socket's family, type, listening or not,
# local and peer address), as one JSON object.
cat >"$dir/show.py" <<'PY'
import fcntl, json, os, socket, sys
fds = sorted(int(x) for x in os.listdir("/proc/self/fd"))
seen = {}
for fd in fds:
    try:
        os.fstat(fd)        # the directory listdir read is closed by now
    except OSError:
        continue
    e = {"target": os.readlink("/proc/self/fd/%d" % fd), "cloexec": bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC),
         "nonblock": bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)}
    if e["target"].startswith("socket:"):
        s = socket.socket(fileno=os.dup(fd))
        e["family"] = s.family.name
        e["type"] = s.type.name
        e["listening"] = bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
        e["local"] = list(s.getsockname()) if s.family == socket.AF_INET else s.getsockname()
        try:
            e["peer"] = list(s.getpeername())
        except OSError:
            e["peer"] = None
        s.close()
    seen[str(fd)] = e
json.dump({"pid": os.getpid(), "env": {k: v for k, v in os.environ.items() if k.startswith("LISTEN_")},
           "fds": seen}, open(sys.argv[1], "w"))
PY
chmod a+r "$dir/show.py"

# view PYTHON-EXPR: the JSON show.py wrote to $dir/view.json (as d) satisfies EXPR.
view() {
	"$py" -c 'import json, sys; d = json.load(open(sys.argv[2])); sys.exit(0 if eval(sys.argv[1]) else 1)' \
		"$1" "$dir/view.json" 2>>"$dir/err"
}
# The JSON the program wrote, on a failure.
show_view() { [ -s "$dir/view.json" ] && sed 's/^/    | view: /' "$dir/view.json"; }

# ---------------------------------------------------------------- usage errors and exit statuses

ctl run;                                        expect_rc 2 "run without PROGRAM"
ctl run --listen http=tcp:127.0.0.1:80;         expect_rc 2 "run with options and no PROGRAM"
ctl run --listen tcp:127.0.0.1:80 -- true;      expect_rc 2 "--listen without NAME="
ctl run --listen 'a:b=tcp:127.0.0.1:80' -- true; expect_rc 2 "a NAME with ':'"
expect_out "LISTEN_FDNAMES" "$dir/err" "the message says why the NAME cannot be"
ctl run --listen '=tcp:127.0.0.1:80' -- true;   expect_rc 2 "an empty NAME"
ctl run --listen "$(printf 'a\tb')=tcp:127.0.0.1:80" -- true; expect_rc 2 "a NAME with a control character"
ctl run --listen "$(printf 'n%.0s' $(seq 256))=tcp:127.0.0.1:80" -- true; expect_rc 2 "a NAME of 256 characters"
ctl run --listen http=tcp:127.0.0.1 -- true;    expect_rc 2 "a SPEC without a port"
ctl run --connect x=nohostport -- true;         expect_rc 2 "a --connect address without a port"
ctl run --stdio 127.0.0.1:7 --stdio 127.0.0.1:7 -- true; expect_rc 2 "--stdio twice"
ctl run --bogus x -- true;                      expect_rc 2 "an unknown option of run"
# The limit: 64 sockets at 3 and up; a 65th is a usage error, before any is asked for.
set --
for i in $(seq 65); do set -- "$@" --listen "s$i=tcp:127.0.0.1:0"; done
ctl run "$@" -- true;                           expect_rc 2 "65 sockets: over the limit of 64"
expect_out "at most 64" "$dir/err" "the limit is named"
set --
for i in $(seq 64); do set -- "$@" --listen "s$i=tcp:127.0.0.1:0"; done
ctl run "$@" -- "$upy" "$dir/show.py" "$dir/view.json"
expect_rc 0 "64 sockets: at the limit"
if view 'd["env"]["LISTEN_FDS"] == "64" and all(d["fds"][str(3 + i)]["listening"] for i in range(64)) and sorted(map(int, d["fds"])) == list(range(67))'; then
	pass "64 sockets land on 3-66, each a listener"
else
	fail "64 sockets did not land on 3-66"; show_view
fi
set --
ctl run --help;                                 expect_rc 0 "run --help"
expect_out '^Usage: sockbrokerctl \[OPTIONS\] run ' "$dir/out" "run --help prints its usage"
# After PROGRAM (or --), --help is the program's.
ctl run -- printf '%s\n' --help;               expect_rc 0 "run -- printf '%s\\n' --help"
expect_out '^--help$' "$dir/out" "--help after -- goes to the program"
ctl run echo -h;                                expect_rc 0 "run echo -h"
expect_out '^-h$' "$dir/out" "-h after PROGRAM goes to the program"
ctl run -- "$dir/no-such-program";              expect_rc 127 "a PROGRAM that does not exist"
expect_out "cannot run" "$dir/err" "the exec failure is reported"
printf 'not a program\n' >"$dir/not-exec"
ctl run -- "$dir/not-exec";                     expect_rc 126 "a PROGRAM that cannot be executed"
ctl --socket "$dir/none.sock" run --listen http=tcp:127.0.0.1:0 -- true
expect_rc 3 "no daemon"

# ---------------------------------------------------------------- 1. nobody serves port 80

if as_nobody "$upy" -c 'import socket; socket.socket().bind(("127.0.0.1", 80))' >"$dir/out" 2>&1; then
	fail "nobody could bind port 80 without the daemon: the test proves nothing"
else
	pass "nobody cannot bind 127.0.0.1:80 itself"
fi

# What the program sees: one socket at 3, the variables, nothing else.
: >"$dir/view.json"; chmod 666 "$dir/view.json"
nob run --listen http=tcp:127.0.0.1:80 -- "$upy" "$dir/show.py" "$dir/view.json"
expect_rc 0 "nobody: run --listen http=tcp:127.0.0.1:80 -- show.py"
if view 'd["env"] == {"LISTEN_FDS": "1", "LISTEN_FDNAMES": "http", "LISTEN_PID": str(d["pid"])}'; then
	pass "the program sees LISTEN_FDS=1, LISTEN_FDNAMES=http, LISTEN_PID=its own pid"
else
	fail "the LISTEN_ variables are wrong"; show_view
fi
if view 'sorted(d["fds"]) == ["0", "1", "2", "3"]'; then
	pass "the program has descriptors 0-3 and no other"
else
	fail "descriptors leaked into the program"; show_view
fi
if view 'd["fds"]["3"]["family"] == "AF_INET" and d["fds"]["3"]["type"] == "SOCK_STREAM" and d["fds"]["3"]["listening"] and d["fds"]["3"]["local"] == ["127.0.0.1", 80]'; then
	pass "descriptor 3 is a TCP listener on 127.0.0.1:80"
else
	fail "descriptor 3 is not the listener"; show_view
fi

# Inherited descriptors beyond 2 are not the program's; a closed standard
# descriptor is /dev/null, never a socket of ours.
ctl run --listen http=tcp:127.0.0.1:0 -- "$upy" "$dir/show.py" "$dir/view.json" 7</dev/null 0<&-
expect_rc 0 "run with descriptor 7 inherited and 0 closed"
if view 'sorted(d["fds"]) == ["0", "1", "2", "3"] and d["fds"]["0"]["target"] == "/dev/null" and d["fds"]["3"]["listening"]'; then
	pass "an inherited descriptor 7 is closed; a closed 0 is /dev/null; the socket is at 3"
else
	fail "inherited or closed descriptors handled wrongly"; show_view
fi

# wait_line FIFO PATTERN WHAT: reads the fifo (a writer is started) until a
# line matches, 15 s at most; the rest is drained in the background into
# FIFO.log. Sets drain_pid2.
wait_line() {
	exec 5<"$1"
	if timeout 15 grep -m1 -E "$2" <&5 >"$1.first"; then
		cat <&5 >"$1.log" &
		drain_pid2=$!
		exec 5<&-
		pass "$3"
		return 0
	fi
	exec 5<&-
	fail "$3: no line /$2/ within 15 s"
	return 1
}

# lighttpd, socket-activated, as nobody.
mkdir -p "$dir/www" && echo "served by lighttpd as nobody" >"$dir/www/index.html" && chmod -R a+rX "$dir/www"
cat >"$dir/lighttpd.conf" <<EOF
server.document-root = "$dir/www"
server.bind = "127.0.0.1"
server.port = 80
server.systemd-socket-activation = "enable"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
EOF
chmod a+r "$dir/lighttpd.conf"
mkfifo "$dir/lighttpd.fifo"
"${as_nobody_cmd[@]}" "$sbctl_other" --socket "$sock" run --listen http=tcp:127.0.0.1:80 -- \
	lighttpd -D -f "$dir/lighttpd.conf" </dev/null >"$dir/lighttpd.fifo" 2>&1 &
web_pid=$!
client_pid=$web_pid
if wait_line "$dir/lighttpd.fifo" 'server started' "lighttpd started under run as nobody"; then
	if curl -sS --max-time 10 http://127.0.0.1/ >"$dir/out" 2>"$dir/err" && grep -q '^served by lighttpd as nobody$' "$dir/out"; then
		pass "curl http://127.0.0.1/ is served by lighttpd on the brokered port 80"
	else
		fail "curl did not get lighttpd's page"
	fi
	tr '\0' '\n' <"/proc/$web_pid/environ" | grep '^LISTEN_' | sort >"$dir/out"
	if [ "$(tr '\n' ' ' <"$dir/out")" = "LISTEN_FDNAMES=http LISTEN_FDS=1 LISTEN_PID=$web_pid " ]; then
		pass "lighttpd (pid $web_pid, the launcher's own) got LISTEN_FDS=1, LISTEN_FDNAMES=http, LISTEN_PID=$web_pid"
	else
		fail "lighttpd's LISTEN_ variables"
	fi
	if [ "$(stat -c %U "/proc/$web_pid")" = nobody ] && [ "$(readlink "/proc/$web_pid/exe")" = "$(readlink -f "$(command -v lighttpd)")" ]; then
		pass "the server is lighttpd itself, running as nobody"
	else
		fail "the process on port 80 is not lighttpd as nobody"
	fi
fi
reap TERM "$web_pid" "$drain_pid2"
client_pid=

# A second program: Python's http.server on socket.socket(fileno=3).
mkfifo "$dir/pyweb.fifo"
"${as_nobody_cmd[@]}" "$sbctl_other" --socket "$sock" run --listen http=tcp:127.0.0.1:80 -- "$upy" -c '
import http.server, os, socket, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("python on %s, LISTEN_FDNAMES=%s\n" % (self.server.socket.getsockname(), os.environ["LISTEN_FDNAMES"])).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H, bind_and_activate=False)
srv.socket = socket.socket(fileno=3)
print("serving", flush=True)
srv.handle_request()
' </dev/null >"$dir/pyweb.fifo" 2>&1 &
client_pid=$!
if wait_line "$dir/pyweb.fifo" '^serving' "python's http.server started under run as nobody"; then
	if curl -sS --max-time 10 http://127.0.0.1/ >"$dir/out" 2>"$dir/err" &&
		grep -q "^python on ('127.0.0.1', 80), LISTEN_FDNAMES=http\$" "$dir/out"; then
		pass "curl is served by python on socket.socket(fileno=3)"
	else
		fail "curl did not get python's answer"
	fi
fi
reap TERM "$client_pid" "$drain_pid2"
client_pid=

# ---------------------------------------------------------------- 2. refused: nothing runs

rm -f "$dir/ran"
nob run --listen http=tcp:127.0.0.1:81 -- /bin/sh -c ": >'$dir/ran'"
expect_rc 1 "a denied --listen"
expect_out '^sockbrokerctl: run: --listen http=tcp:127.0.0.1:81: ' "$dir/err" "the message names the socket"
expect_out 'no rule allows bind of AF_INET SOCK_STREAM on 127.0.0.1:81 to uid 65534' "$dir/err" "the message gives the policy's reason"
expect_out '\(code -32010\)' "$dir/err" "the message gives the code"
if [ -e "$dir/ran" ]; then fail "the program ran although a socket was refused"; else pass "the program never ran"; fi

# The first socket granted, the second refused: still nothing runs.
nob run --listen http=tcp:127.0.0.1:80 --held secret -- /bin/sh -c ": >'$dir/ran'"
expect_rc 1 "a denied --held after a granted --listen"
expect_out '^sockbrokerctl: run: --held secret: ' "$dir/err" "the message names the held socket"
expect_out 'secret' "$dir/err" "the reason names the held name"
if [ -e "$dir/ran" ]; then fail "the program ran although --held was refused"; else pass "the program never ran (--held refused)"; fi

nob --json run --listen http=tcp:127.0.0.1:81 -- /bin/sh -c ": >'$dir/ran'"
expect_rc 1 "a denied --listen with --json"
if "$py" -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
d = json.loads(lines[0])
ok = (len(lines) == 1 and d["option"] == "--listen" and d["name"] == "http" and d["argument"] == "http=tcp:127.0.0.1:81"
      and d["error"]["code"] == -32010 and "127.0.0.1:81" in d["error"]["data"]["reason"])
sys.exit(0 if ok else 1)' "$dir/err" 2>>"$dir/out"; then
	pass "--json: the failure is one JSON line with the socket and the daemon's error"
else
	fail "--json: the failure is not the documented JSON line"
fi
if [ -e "$dir/ran" ]; then fail "the program ran (--json)"; else pass "the program never ran (--json)"; fi

# The daemon answered with an error that is not the policy's: the errno's name.
ctl run --connect echo=127.0.0.1:9 -- /bin/sh -c ": >'$dir/ran'"
expect_rc 1 "a refused connection"
expect_out '^sockbrokerctl: run: --connect echo=127.0.0.1:9: .*ECONNREFUSED' "$dir/err" "the message names the socket and ECONNREFUSED"
if [ -e "$dir/ran" ]; then fail "the program ran (refused connection)"; else pass "the program never ran (refused connection)"; fi

# ---------------------------------------------------------------- 3. --held

ctl call socket.listen_on '{"address": ["127.0.0.1", 8080], "hold": "web-main"}'
expect_rc 0 "root holds a listener on 127.0.0.1:8080 as web-main"
nob run --held web-main -- "$upy" "$dir/show.py" "$dir/view.json"
expect_rc 0 "nobody: run --held web-main"
if view 'd["env"] == {"LISTEN_FDS": "1", "LISTEN_FDNAMES": "web-main", "LISTEN_PID": str(d["pid"])} and sorted(d["fds"]) == ["0", "1", "2", "3"] and d["fds"]["3"]["listening"] and d["fds"]["3"]["local"] == ["127.0.0.1", 8080]'; then
	pass "the held listener is at 3, named web-main"
else
	fail "the held listener is not at 3 as web-main"; show_view
fi
# And it serves: a program accepts on it.
mkfifo "$dir/held.fifo"
"${as_nobody_cmd[@]}" "$sbctl_other" --socket "$sock" run --held web-main -- "$upy" -c '
import socket
s = socket.socket(fileno=3)
print("accepting", flush=True)
c, _ = s.accept()
c.sendall(b"hello from the held socket\n")
c.close()
' </dev/null >"$dir/held.fifo" 2>&1 &
client_pid=$!
if wait_line "$dir/held.fifo" '^accepting' "a program accepts on the held socket"; then
	if "$py" -c '
import socket
s = socket.create_connection(("127.0.0.1", 8080), timeout=10)
print(s.makefile().readline(), end="")' >"$dir/out" 2>"$dir/err" && grep -q '^hello from the held socket$' "$dir/out"; then
		pass "a connection to the held socket is accepted by the launched program"
	else
		fail "no answer from the program on the held socket"
	fi
fi
# (It has ended after its one connection; if it never got one, it is ended here.)
reap TERM "$client_pid" "$drain_pid2"
client_pid=

# ---------------------------------------------------------------- 4. --connect and 5. --stdio

# An echo server on 127.0.0.1:7 (root, in our namespace), each connection in a thread.
mkfifo "$dir/echo.fifo"
"$py" -c '
import socket, threading
s = socket.create_server(("127.0.0.1", 7))
print("bound", flush=True)
def serve(c):
    with c:
        while True:
            b = c.recv(4096)
            if not b:
                break
            c.sendall(b)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' >"$dir/echo.fifo" 2>&1 &
echo_pid=$!
read -r _bound <"$dir/echo.fifo"

nob run --connect echo=127.0.0.1:7 -- "$upy" -c '
import os, socket
s = socket.socket(fileno=3)
s.sendall(b"ping over fd 3\n")
print(s.makefile().readline(), end="")
print(os.environ["LISTEN_FDNAMES"], os.environ["LISTEN_FDS"], s.getpeername())'
expect_rc 0 "nobody: run --connect echo=127.0.0.1:7"
expect_out '^ping over fd 3$' "$dir/out" "the program talks to the echo server over descriptor 3"
expect_out "^echo 1 \\('127.0.0.1', 7\\)\$" "$dir/out" "the connection is named echo and connected to 127.0.0.1:7"
nob run --connect echo=127.0.0.1:8 -- true
expect_rc 1 "a --connect the policy does not allow"
expect_out 'denied by policy' "$dir/err" "the refusal is the policy's"

: >"$dir/view.json"
nob run --stdio 127.0.0.1:7 -- "$upy" "$dir/show.py" "$dir/view.json"
expect_rc 0 "nobody: run --stdio 127.0.0.1:7 -- show.py"
if view 'd["env"] == {} and sorted(d["fds"]) == ["0", "1", "2"] and d["fds"]["0"]["target"] == d["fds"]["1"]["target"] and d["fds"]["0"]["peer"] == ["127.0.0.1", 7]'; then
	pass "--stdio: 0 and 1 are one socket connected to 127.0.0.1:7, no LISTEN_ variables"
else
	fail "--stdio: 0 and 1 are not the connection"; show_view
fi
# shellcheck disable=SC2016 # the program's own shell expands $line
nob run --stdio 127.0.0.1:7 -- /bin/sh -c 'echo hello-stdio; read -r line; echo "got $line" >&2'
expect_rc 0 "nobody: run --stdio with a shell"
expect_out '^got hello-stdio$' "$dir/err" "the shell wrote to the server and read its echo on standard input"

# ---------------------------------------------------------------- 6. ordering

: >"$dir/view.json"
nob run --listen http=tcp:127.0.0.1:80 --held web-main --connect echo=127.0.0.1:7 -- "$upy" "$dir/show.py" "$dir/view.json"
expect_rc 0 "nobody: three sockets of three kinds"
if view 'd["env"] == {"LISTEN_FDS": "3", "LISTEN_FDNAMES": "http:web-main:echo", "LISTEN_PID": str(d["pid"])}'; then
	pass "LISTEN_FDS=3, LISTEN_FDNAMES=http:web-main:echo"
else
	fail "the variables of three sockets"; show_view
fi
if view 'sorted(d["fds"]) == ["0", "1", "2", "3", "4", "5"] and d["fds"]["3"]["local"] == ["127.0.0.1", 80] and d["fds"]["3"]["listening"] and d["fds"]["4"]["local"] == ["127.0.0.1", 8080] and d["fds"]["4"]["listening"] and d["fds"]["5"]["peer"] == ["127.0.0.1", 7] and not d["fds"]["5"]["listening"]'; then
	pass "3 is the listener on :80, 4 the held one on :8080, 5 the connection to :7, nothing else"
	if view 'not any(d["fds"][k]["nonblock"] for k in ("3", "4", "5"))'; then
		pass "all three are in blocking mode (the held one too), as systemd hands sockets out"
	else
		fail "a socket is handed over non-blocking"; show_view
	fi
else
	fail "the three sockets are not on 3, 4, 5 in order"; show_view
fi
# The other order, with --stdio besides.
: >"$dir/view.json"
nob run --connect echo=127.0.0.1:7 --stdio 127.0.0.1:7 --held web-main --listen http=tcp:127.0.0.1:80 -- "$upy" "$dir/show.py" "$dir/view.json"
expect_rc 0 "nobody: three sockets in another order, and --stdio"
if view 'd["env"]["LISTEN_FDNAMES"] == "echo:web-main:http" and sorted(d["fds"]) == ["0", "1", "2", "3", "4", "5"] and d["fds"]["3"]["peer"] == ["127.0.0.1", 7] and d["fds"]["4"]["local"] == ["127.0.0.1", 8080] and d["fds"]["5"]["local"] == ["127.0.0.1", 80] and d["fds"]["0"]["peer"] == ["127.0.0.1", 7] and d["fds"]["0"]["target"] != d["fds"]["3"]["target"]'; then
	pass "echo, web-main, http on 3, 4, 5; the --stdio connection on 0 and 1 is another socket"
else
	fail "the second order"; show_view
fi

# Datagram and UNIX listeners, as root (the nobody rule grants TCP only).
: >"$dir/view.json"
ctl run --listen dns=udp:127.0.0.1:0 --listen ctl=unix:"$dir/app.sock" --listen v4=tcp:127.0.0.1:0 -- "$upy" "$dir/show.py" "$dir/view.json"
expect_rc 0 "run with udp:, unix: and tcp: listeners"
if view 'd["env"]["LISTEN_FDNAMES"] == "dns:ctl:v4" and d["fds"]["3"]["type"] == "SOCK_DGRAM" and d["fds"]["3"]["local"][0] == "127.0.0.1" and d["fds"]["4"]["family"] == "AF_UNIX" and d["fds"]["4"]["listening"] and d["fds"]["4"]["local"].endswith("/app.sock") and d["fds"]["5"]["type"] == "SOCK_STREAM" and d["fds"]["5"]["listening"]'; then
	pass "a bound datagram socket at 3, a UNIX listener at 4, a TCP listener at 5"
else
	fail "udp:, unix: and tcp: listeners"; show_view
fi
# The sockets are asked for in the order given, --stdio included: with the
# first one refused, the second is never asked for (the daemon's audit has
# no decision on it).
nob run --listen http=tcp:127.0.0.1:81 --stdio 127.0.0.1:6 -- true
expect_rc 1 "a refused --listen before a --stdio"
ctl --json audit --limit 1000
expect_no_out '127\.0\.0\.1:6[^0-9]' "$dir/out" "the --stdio after the refused socket was never asked for"
nob run --stdio 127.0.0.1:6 --listen http=tcp:127.0.0.1:81 -- true
expect_rc 1 "a refused --stdio before a --listen"
expect_out '^sockbrokerctl: run: --stdio 127.0.0.1:6: ' "$dir/err" "--stdio, given first, is asked for first"
ctl --json audit --limit 1000
expect_out 'connect of AF_INET SOCK_STREAM to 127\.0\.0\.1:6[^0-9]' "$dir/out" "the audit has the refused --stdio"

reap TERM "$echo_pid"
ctl_stop_daemon

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
