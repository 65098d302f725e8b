#!/bin/bash
# The capability differential (issue 9): every operation of a broad matrix
# (tests/hostile/differential.py has the list and the rules of judgement) is
# run (a) directly by nobody in a network namespace of its own, and (b) by
# nobody through the daemon, which runs as root in another namespace of its
# own, under a policy that grants every family broadly but nothing
# privileged. Anything (b) achieves that (a) was refused (EPERM, EACCES, or
# any other refusal of the kernel) must be refused by the daemon, unless the
# policy grants it by name; anything the policy refuses must be refused. The
# table is printed; each row is one check.
#
# All traffic stays on loopbacks of namespaces this script creates.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root for nobody, and namespaces are made"
hostile_setup h_differential
dp="$dir/differential.py"

d="$dir/d"
mkdir -m 0755 "$d" "$d/rootdir" "$d/nobodydir" "$d/app"
mkdir -m 0700 "$d/private"
chown 65534:65534 "$d/nobodydir"

# The policy with AF_UNIX path grants; a daemon that does not know them gets
# the same policy without them (AF_UNIX granted whole), so that the rest of
# the matrix still runs.
"$py" "$dp" policy "$d" "$sock" >"$dir/policy.full"
chmod 0644 "$dir/policy.full"
if "$SBD" --check-policy --policy "$dir/policy.full" >"$dir/out" 2>&1; then
	pass "the differential's policy (with AF_UNIX path grants) loads"
	set_policy <"$dir/policy.full"
else
	fail "the differential's policy (with AF_UNIX path grants) loads; the matrix runs without path grants"
	"$py" "$dp" policy "$d" "$sock" --legacy | set_policy
fi
# shellcheck disable=SC2119 # no options for the daemon here
hostile_start
in_ns ip addr add 10.77.0.1/24 dev lo
in_ns ip -6 addr add fd00:99::1/64 dev lo nodad

bg_start unix-server in_ns "$py" "$hp" unix-server \
	"stream:$d/private/secret.sock" "dgram:$d/private/dgram.sock" "stream:$d/app/ok.sock"
if ! bg_until serving; then
	cp "$dir/unix-server.out" "$dir/out"
	fail "the AF_UNIX servers did not start"
	hostile_stop
fi

# (a) nobody, directly, in a network namespace of its own set up as the daemon's.
rc=0
# shellcheck disable=SC2016 # expanded by that sh
timeout -s KILL 300 unshare --net -- sh -c 'ip link set lo up && ip addr add 10.77.0.1/24 dev lo &&
	ip -6 addr add fd00:99::1/64 dev lo nodad &&
	exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" "$@"' \
	"$upy" "$dp" direct "$d" "$sock" >"$dir/direct.jsonl" 2>"$dir/direct.err" </dev/null || rc=$?
if [ "$rc" -eq 0 ]; then
	pass "(a) the operations ran directly as nobody ($(wc -l <"$dir/direct.jsonl") rows)"
else
	cat "$dir/direct.err" >"$dir/out"
	fail "(a) the operations ran directly as nobody (exit $rc)"
fi

# (b) nobody, through the daemon.
rc=0
ns_as 65534 "$upy" "$dp" daemon "$d" "$sock" >"$dir/daemon.jsonl" 2>"$dir/daemon.err" </dev/null || rc=$?
if [ "$rc" -eq 0 ]; then
	pass "(b) the operations ran through the daemon as nobody ($(wc -l <"$dir/daemon.jsonl") rows)"
else
	cat "$dir/daemon.err" >"$dir/out"
	fail "(b) the operations ran through the daemon as nobody (exit $rc)"
fi

run_checks "differential" "$py" "$dp" compare "$dir/direct.jsonl" "$dir/daemon.jsonl"
grep '^#' "$dir/client.out" || true

bg_stop
hostile_stop
