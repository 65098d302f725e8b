#!/bin/sh
# Issue 12 item 8, words and exit codes: every sockbrokerctl command's --help
# and `help CMD` (the commands read from cmd_table in client/sockbrokerctl.c,
# so a new command is tested without editing this), command groups such as
# `policy --help`, `policy check --help` in full; sockbrokerctl's exit
# statuses as sockbrokerctl(1) lists them (policy check: 0 allowed, 1 denied,
# 2 usage, 3 failure); sockbrokerd -h/--help: no "invalid option", exit 0, a
# placeholder for every option that takes a value, descriptions in one column.
#
# Synchronisation: the daemon's "ready" line; the fake daemons below are
# Python processes that report "bound" through a fifo. No sleeps.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

ctl_need_tools "for the fake daemons"
ctl_setup it_help
src=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}

# ---------------------------------------------------------------- sockbrokerd --help

for opt in -h --help; do
	"$SBD" "$opt" >"$dir/out" 2>"$dir/err"
	rc=$?
	expect_rc 0 "sockbrokerd $opt"
	expect_no_out 'invalid option|unrecognized' "$dir/out" "sockbrokerd $opt: no 'invalid option' on stdout"
	expect_no_out '.' "$dir/err" "sockbrokerd $opt: nothing on stderr"
	expect_out '^Usage: sockbrokerd ' "$dir/out" "sockbrokerd $opt prints the usage"
done
"$SBD" -V >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "sockbrokerd -V"
expect_out '^sockbrokerd [0-9]' "$dir/out" "sockbrokerd -V prints the version"

# Every option line: "  --name[=ARG]" then the description from one column.
"$SBD" --help >"$dir/help" 2>&1
python3 - "$dir/help" "$src/daemon/settings.c" >"$dir/out" 2>&1 <<'EOF'
import re, sys
help = open(sys.argv[1]).read().splitlines()
src = open(sys.argv[2]).read()
# Options that take a value, from the getopt table (required_argument) and
# the limits table (all of them take a number).
takes = set(re.findall(r'"([a-z-]+)", required_argument', src))
takes |= set(re.findall(r'LIMIT\("([a-z-]+)"', src))
bad = []
cols = set()
seen = set()
for i, line in enumerate(help):
    m = re.match(r'^  --([a-z-]+)(=[a-z:]*[A-Z][A-Za-z:|]*)?( +)(\S)', line)
    if not m:
        m2 = re.match(r'^  --([a-z-]+)(=[a-z:]*[A-Z][A-Za-z:|]*)?$', line)
        if m2:          # a long head, the description on the next line
            seen.add(m2.group(1))
            if m2.group(1) in takes and not m2.group(2):
                bad.append("no placeholder: " + line)
            nxt = help[i + 1] if i + 1 < len(help) else ""
            cols.add(len(nxt) - len(nxt.lstrip(" ")))
        continue
    seen.add(m.group(1))
    if m.group(1) in takes and not m.group(2):
        bad.append("no placeholder: " + line)
    if m.group(1) not in takes and m.group(2):
        bad.append("placeholder on an option without a value: " + line)
    cols.add(m.start(4))
for line in help:
    if line.startswith(" " * 8) and line.strip():
        cols.add(len(line) - len(line.lstrip(" ")))
missing = sorted(takes - seen)
if missing:
    bad.append("options missing from --help: " + ", ".join(missing))
if len(cols) != 1:
    bad.append("descriptions start in columns %s" % sorted(cols))
if any(len(l) > 79 for l in help):
    bad.append("lines over 79 columns")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
layout_rc=$?
if [ "$layout_rc" -eq 0 ]; then
	pass "sockbrokerd --help: every option with a value has a placeholder, descriptions in one column"
else
	fail "sockbrokerd --help layout"
fi

# ---------------------------------------------------------------- sockbrokerctl help, from cmd_table

sed -n '/^static const struct ctl_cmd cmd_table\[\] = {/,/^};/p' "$src/client/sockbrokerctl.c" |
	sed -n 's/^	{ "\([^"]*\)".*/\1/p' >"$dir/commands"
n=$(wc -l <"$dir/commands")
if [ "$n" -ge 10 ]; then pass "read $n commands from cmd_table"; else fail "read only $n commands from cmd_table"; fi
while IFS= read -r cmd; do
	# shellcheck disable=SC2086 # multi-word names split on purpose
	ctl $cmd --help
	expect_rc 0 "$cmd --help"
	expect_out "^Usage: sockbrokerctl \\[OPTIONS\\] $cmd( |\$)" "$dir/out" "$cmd --help shows its synopsis"
	cp "$dir/out" "$dir/usage1"
	# shellcheck disable=SC2086
	ctl help $cmd
	expect_rc 0 "help $cmd"
	if cmp -s "$dir/out" "$dir/usage1"; then pass "help $cmd is $cmd --help"; else fail "help $cmd differs from $cmd --help"; fi
	# shellcheck disable=SC2086
	ctl $cmd -h
	expect_rc 0 "$cmd -h"
	# The first word of a multi-word command is a group.
	case $cmd in
	*" "*)
		grp=${cmd%% *}
		ctl "$grp" --help
		expect_rc 0 "$grp --help"
		expect_out "^  $cmd( |\$)" "$dir/out" "$grp --help lists $cmd"
		expect_no_out 'unknown command' "$dir/err" "$grp --help is no unknown command"
		ctl help "$grp"
		expect_rc 0 "help $grp"
		expect_out "^  $cmd( |\$)" "$dir/out" "help $grp lists $cmd"
		ctl "$grp"
		expect_rc 2 "$grp without a subcommand is a usage error"
		;;
	esac
	# The main help lists every command.
	ctl --help
	expect_out "^  $cmd( |\$)" "$dir/out" "--help lists $cmd"
done <"$dir/commands"
ctl help no-such-command
expect_rc 2 "help of an unknown command"
ctl policy nope
expect_rc 2 "an unknown subcommand of a group"

# policy check --help explains WHO and ACTION in full: every WHO option and
# every ACTION word of the action table.
ctl policy check --help
cp "$dir/out" "$dir/pchelp"
for opt in --uid --user --gid --group --groups --exe --unit --cgroup --label --unknown; do
	expect_out "^  $opt " "$dir/pchelp" "policy check --help explains $opt"
done
sed -n '/^static const struct action actions\[\] = {/,/^};/p' "$src/client/sockbrokerctl.c" |
	sed -n 's/^	{ "\([^"]*\)".*/\1/p' >"$dir/actions"
while IFS= read -r word; do
	expect_out "^  $word( |\$)" "$dir/pchelp" "policy check --help explains the action $word"
done <"$dir/actions"
expect_out 'tcp:HOST:PORT' "$dir/pchelp" "policy check --help gives the address forms"
expect_out '^Exit status: ' "$dir/pchelp" "policy check --help gives the exit statuses"

# ---------------------------------------------------------------- exit statuses

# Usage errors (2), no daemon needed.
ctl --socket "$sock" no-such-command;             expect_rc 2 "unknown command"
ctl --no-such-option info;                        expect_rc 2 "unknown option"
ctl --socket "$sock" whoami extra;                expect_rc 2 "wrong number of arguments"
ctl --socket "$sock" call daemon.info '[1]';      expect_rc 2 "JSON-PARAMS that is not an object"
ctl --timeout -1 info;                            expect_rc 2 "bad --timeout"
ctl --socket "$sock" listen tcp:1.2.3.4;          expect_rc 2 "bad SPEC"
ctl --socket "$sock" resolve localhost 70000;     expect_rc 2 "bad PORT"
ctl --socket "$sock" listen tcp:127.0.0.1:0 x;    expect_rc 2 "bad BACKLOG"
ctl --socket "$sock" socket info -3;              expect_rc 2 "bad HANDLE"

# Failures (3): no socket; a socket nobody listens on; a daemon that answers
# garbage; one that hangs up without answering; output that cannot be written.
ctl --socket "$dir/none.sock" info;               expect_rc 3 "no socket"
ctl --socket "$dir/none.sock" policy check admin; expect_rc 3 "policy check, no socket"
# fake MODE: a UNIX socket at $dir/fake.sock that answers each connection's
# first line as MODE says (garbage, hangup), or nobody listens (dead).
fake() {
	rm -f "$dir/fake.sock" "$dir/fake.fifo"
	mkfifo "$dir/fake.fifo" || exit 99
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
if sys.argv[2] == "dead":
    print("bound", flush=True)
    sys.exit(0)
s.listen(8)
s.settimeout(30)
print("bound", flush=True)
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    c.settimeout(30)
    f = c.makefile("rb")
    f.readline()
    if sys.argv[2] == "garbage":
        c.sendall(b"this is not JSON\n")
    c.close()
' "$dir/fake.sock" "$1" >"$dir/fake.fifo" &
	client_pid=$!
	read -r _ready <"$dir/fake.fifo"
}
fake dead
wait "$client_pid"; client_pid=
ctl --socket "$dir/fake.sock" info;               expect_rc 3 "a socket nobody listens on"
fake garbage
ctl --socket "$dir/fake.sock" info;               expect_rc 3 "a malformed reply"
ctl --socket "$dir/fake.sock" policy check admin; expect_rc 3 "policy check, a malformed reply"
reap TERM "$client_pid"; client_pid=
fake hangup
ctl --socket "$dir/fake.sock" info;               expect_rc 3 "the connection lost"
ctl --socket "$dir/fake.sock" policy check admin; expect_rc 3 "policy check, the connection lost"
reap TERM "$client_pid"; client_pid=

ctl_start_daemon
ctl_socket=$sock
ctl info;                                          expect_rc 0 "info"
if [ -w /dev/full ]; then
	"$SBCTL" --socket "$sock" info >/dev/full 2>"$dir/err"
	rc=$?
	expect_rc 3 "output that cannot be written"
fi
ctl call no.such.method;                           expect_rc 1 "an error reply"
ctl --timeout 0.2 call daemon.ping '{"delay": 3}'; expect_rc 3 "no reply within --timeout"

# policy check: 0 allowed, 1 denied, 2 usage (an unknown user is one), 3 no
# decision. Under the embedded default we (root or the daemon's user) may
# bind; uid 4242 may not.
ctl policy check --uid "$(id -u)" bind tcp:0.0.0.0:80
expect_rc 0 "policy check, allowed"
expect_out '^allowed: ' "$dir/out" "the allowed decision"
ctl policy check --uid 4242 bind tcp:0.0.0.0:80
expect_rc 1 "policy check, denied"
expect_out '^denied: ' "$dir/out" "the denied decision"
ctl policy check --user no-such-user-xq bind tcp:0.0.0.0:80
expect_rc 2 "policy check --user nosuchuser is a usage error"
expect_out "no user named 'no-such-user-xq'" "$dir/err" "the unknown user is named"
ctl policy check --group no-such-group-xq bind tcp:0.0.0.0:80
expect_rc 2 "policy check --group of an unknown group is a usage error"
ctl policy check --groups 0,no-such-group-xq bind tcp:0.0.0.0:80
expect_rc 2 "policy check --groups with an unknown group is a usage error"
ctl policy check call socket.bind '{"address": 5}'
expect_rc 2 "policy check of params the method refuses is a usage error"
ctl policy check bind tcp:0.0.0.0
expect_rc 2 "policy check with a bad SPEC"
# A decision names its rule once.
ctl policy check --uid "$(id -u)" bind tcp:0.0.0.0:80
if [ "$(grep -o 'rule "embedded default"' "$dir/out" | wc -l)" -eq 1 ]; then
	pass "the decision names its rule once"
else
	fail "the decision names its rule more than once"
fi
ctl policy check --uid 4242 bind tcp:0.0.0.0:80
if [ "$(grep -o 'rule "embedded default"' "$dir/out" | wc -l)" -le 1 ]; then
	pass "the denial names its rule at most once"
else
	fail "the denial names its rule more than once"
fi
ctl_stop_daemon

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
