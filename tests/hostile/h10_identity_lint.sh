#!/bin/bash
# Hostile test (issue 10, item 1, second part): allow rules that tell programs
# of one user apart only by what such a program can fake (its executable, a
# cgroup or unit the user controls) are valid, but get a loud warning: from
# sockbrokerd --check-policy, in the daemon's log at start and at every
# reload, and in daemon.whoami for a caller such a rule matches. Rules that
# rely on something else (a uid, a system unit, an LSM label), and deny-only
# rules, get none.
#
# Runs as root or not. Needs python3 (a failure under CI=true). No sleeps:
# the daemon's "ready" line and replies.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/sbd-lib.sh"

ctl_need_tools "for the client and to check JSON output"
ctl_setup h10_identity_lint
chmod 755 "$dir"
ctl_socket=$sock
me=$(id -u)
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
pol="$dir/policy.json"

# write_policy WITH_USER_SERVICE_RULE: the policy, with or without one rule.
write_policy() {
	{
		printf '{ "version": 1, "rules": [\n'
		printf '{ "name": "we administer", "match": { "uid": %s }, "allow": [ { "action": "admin" } ] },\n' "$me"
		printf '{ "name": "sleep administers", "match": { "uid": 65534, "exe": "/usr/bin/sleep" }, "allow": [ { "action": "admin" } ] },\n'
		printf '{ "name": "our python looks up names", "match": { "uid": %s, "exe": "%s" }, "allow": [ { "action": "resolve" } ] },\n' "$me" "$py"
		if [ "$1" = yes ]; then
			printf '{ "name": "a user service", "match": { "uid": 1000, "cgroup": "/user.slice/user-1000.slice/user@1000.service/app.slice/web.service" }, "allow": [ { "action": "connect", "port": 443 } ] },\n'
		fi
		printf '{ "name": "a system unit", "match": { "uid": 33, "unit": "nginx.service", "exe": "/usr/sbin/nginx" }, "allow": [ { "action": "bind", "port": 80 } ] },\n'
		printf '{ "name": "a label", "match": { "exe": "/usr/bin/sleep", "label": "sleep_t" }, "allow": [ { "action": "admin" } ] },\n'
		printf '{ "name": "a deny", "match": { "exe": "/usr/bin/curl" }, "deny": [ { "action": "connect" } ] }\n'
		printf '] }\n'
	} >"$pol.tmp" && chmod 644 "$pol.tmp" && mv -f "$pol.tmp" "$pol"
}
write_policy yes

# ---------------------------------------------------------------- --check-policy

"$SBD" --check-policy --policy "$pol" >"$dir/out" 2>"$dir/err"
rc=$?
expect_rc 0 "--check-policy: the policy is valid"
expect_out '^warning: rule "sleep administers" allows admin to callers it tells apart, beyond user and group, only by their executable \(exe\)' "$dir/err" \
	"--check-policy warns about the exe rule"
expect_out '^warning: rule "our python looks up names" allows resolve' "$dir/err" "--check-policy warns about the second exe rule"
expect_out '^warning: rule "a user service" allows connect to callers it tells apart, beyond user and group, only by a cgroup below a user manager' \
	"$dir/err" "--check-policy warns about the user-service cgroup rule"
expect_out 'dedicated user, a system unit or an LSM label' "$dir/err" "the warning says what to use instead"
if [ "$(grep -c '^warning: ' "$dir/err")" -eq 3 ]; then
	pass "--check-policy warns about those three rules only"
else
	fail "--check-policy printed $(grep -c '^warning: ' "$dir/err") warnings, expected 3"
fi
expect_out '^  a user service$' "$dir/out" "--check-policy still lists every rule on standard output"

# ---------------------------------------------------------------- the log at start and at reload

# As ctl_start_daemon, but the lines before "ready" (the start-time
# warnings) are kept in $dir/daemon.log too.
mkfifo "$dir/err.fifo" || exit 99
unset NOTIFY_SOCKET LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
timeout -s KILL 600 "$SBD" --socket "$sock" --policy "$pol" --socket-mode 0666 2>"$dir/err.fifo" &
daemon_pid=$!
exec 3<"$dir/err.fifo"
: >"$dir/daemon.log"
while IFS= read -r -t 10 line <&3; do
	printf '%s\n' "$line" >>"$dir/daemon.log"
	case $line in *" ready on "*) printf '%s\n' "$line" >"$dir/ready"; break ;; esac
done
if [ ! -s "$dir/ready" ]; then
	echo "FAIL - the daemon did not report ready within 10 s"
	exit 1
fi
cat <&3 >>"$dir/daemon.log" &
drain_pid=$!
exec 3<&-

# whoami from our python: the rules matching it, and the warning of the one
# that relies on its executable.
python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
s.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.whoami\"}\n")
print(json.dumps(json.loads(s.makefile("rb").readline())["result"]))' "$sock" >"$dir/out" 2>"$dir/err"
if json_check 'd["rules"] == ["we administer", "our python looks up names"] and len(d["warnings"]) == 1 and d["warnings"][0].startswith("rule \"our python looks up names\" allows resolve")'; then
	pass "daemon.whoami lists the warning of the rule that matches the caller by its executable"
else
	fail "daemon.whoami does not list the right warnings"
fi

write_policy no
ctl reload
expect_rc 0 "the policy reloads"
# A second reply after the reload: every line of the reload is logged by now.
ctl stats
ctl_stop_daemon
n_start=$(grep -c 'policy: rule "sleep administers" allows admin' "$dir/daemon.log")
if [ "$n_start" -eq 2 ]; then
	pass "the log warns about the exe rule at start and at the reload"
else
	fail "the log warns about the exe rule $n_start times, expected 2 (start, reload)"
fi
if [ "$(grep -c 'policy: rule "a user service"' "$dir/daemon.log")" -eq 1 ]; then
	pass "the rule the reload removed is warned about once (at start)"
else
	fail "the removed rule's warning count is wrong"
fi
if grep -q 'policy: rule "a system unit"\|policy: rule "a label"\|policy: rule "a deny"\|policy: rule "we administer"' "$dir/daemon.log"; then
	fail "the log warns about a rule that needs no warning"
else
	pass "no warning for rules relying on a uid, a system unit, a label, or that only deny"
fi
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
