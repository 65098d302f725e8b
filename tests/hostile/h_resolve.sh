#!/bin/bash
# Hostile test, issue 9 item 5: socket.connect_to (and connect) with a host
# name parked a DNS look-up before any policy check, and the resolver queue
# was one for all: one connection's look-ups made every other user's fail
# with -32012 resolver_queue. Fixed: a name no rule could allow is refused at
# once (-32010) without a look-up; a name a rule allows is looked up; one
# user filling its share of the queue leaves room for another user.
#
# The daemon runs in network and mount namespaces of its own, where
# /etc/resolv.conf names 127.0.0.53 (timeout 3 s, one attempt). There a root
# helper (hostile.py dns-recorder) answers nothing and logs every question,
# except "mark-" questions, which it answers: a mark's answer says that every
# earlier question is in the log. No sleeps, no timing assertions.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"
# shellcheck source=tests/hostile/hostile-lib.sh
. "$SRCDIR/tests/hostile/hostile-lib.sh"

hostile_need "the daemon runs as root with a resolver of the test's own"
hostile_setup h_resolve

set_policy <<EOF2
{ "version": 1, "rules": [
  $ADMIN_RULE,
  { "name": "nobody connects to *.allowed.test by name", "match": { "uid": 65534 },
    "allow": [ { "action": "connect", "family": ["AF_INET", "AF_INET6"], "type": "SOCK_STREAM",
                 "host": "*.allowed.test", "port": 80 } ] },
  { "name": "uid 1 resolves", "match": { "uid": 1 }, "allow": [ { "action": "resolve" } ] } ] }
EOF2
hostile_start --dns --resolver-threads 2 --max-resolver-queue 8

dnslog="$dir/dns.log"
: >"$dnslog"
bg_start dns in_ns "$py" "$hp" dns-recorder 127.0.0.53 "$dnslog"
if ! bg_until bound; then
	cp "$dir/dns.out" "$dir/out"
	fail "the name server of the test did not start"
	hostile_stop
fi
# The recorder logs to $dnslog from now on; fd 4 is free for the next helper.
exec 4<&-

# mark N: the recorder has logged every question asked before this one.
mark() {
	if in_ns "$py" "$hp" dns-mark 127.0.0.53 "mark-$1"; then
		return 0
	fi
	fail "the test's name server answered mark-$1"
	return 1
}

# asked NAME: whether the log holds a question for NAME.
asked() { grep -qi "\"query\": \"$1\"" "$dnslog"; }

# 1. Names no rule could allow: no look-up at all.
run_checks "5. a caller no rule matches" ns_as 2 "$upy" "$hp" resolve-refused "$sock" nonexistent.invalid
run_checks "5. nobody, names its rule does not allow" ns_as 65534 "$upy" "$hp" resolve-refused "$sock" \
	x.notallowed.test other.invalid
if mark 1; then
	for name in nonexistent.invalid x.notallowed.test other.invalid; do
		if asked "$name"; then
			cp "$dnslog" "$dir/out"
			fail "5. the daemon did not look up $name (no rule could allow it)"
		else
			pass "5. the daemon did not look up $name (no rule could allow it)"
		fi
	done
fi

# 2. A name the rule allows is looked up (so the absence above means something).
run_checks "5. nobody, a name its rule allows" ns_as 65534 "$upy" "$hp" resolve-allowed "$sock" a.allowed.test
if mark 2; then
	if asked a.allowed.test; then
		pass "5. the daemon looked up a.allowed.test (a name the rule allows)"
	else
		cp "$dnslog" "$dir/out"
		fail "5. the daemon looked up a.allowed.test (a name the rule allows)"
	fi
fi

# 3. Shares: nobody parks 2 x 6 look-ups (the queue holds 8 in all), then
# uid 1 asks for one.
bg_start fill ns_as 65534 "$upy" "$hp" resolve-fill "$sock" 6
if bg_until filled; then
	run_checks "5. another user" ns_as 1 "$upy" "$hp" resolve-other "$sock"
else
	fail "5. nobody's look-ups were not parked"
fi
bg_finish "5. one user fills its share"

hostile_stop
