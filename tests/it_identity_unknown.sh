#!/bin/bash
# Issue 12, item 1: an identity part the daemon cannot read is unknown, not
# fatal. The daemon runs as root without CAP_SYS_PTRACE (out of its bounding
# set, as a unit without it would run it), so it cannot read the executable
# of a client of another user; the client runs as nobody. Then:
# - whoami shows the exe as unknown with the reason, and no identity error;
# - a rule for nobody's uid that does not name exe still lets it listen;
# - an allow rule naming the exe does not apply, a deny rule naming it does;
# - policy check --unknown exe says the same as the real requests;
# - audit lines show the exe as exe=?.
# Compared with a daemon that has CAP_SYS_PTRACE (it reads the exe), where
# the exe-named allow rule works and the deny applies as written.
# Needs root; under CI=true it fails without it.

set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

ctl_need_tools "to check JSON output"
[ "$(id -u)" -eq 0 ] || missing "needs root (the daemon runs as root without CAP_SYS_PTRACE, the client as nobody)"
command -v setpriv >/dev/null 2>&1 || missing "setpriv (util-linux) is not installed"
ctl_setup it_identity_unknown
# nobody reaches the socket; the policy file stays root's (0644).
chmod 755 "$dir"
ctl_socket=$sock
sbctl_for_others
exe=$(realpath "$dir/bin/sockbrokerctl")

# as_nobody ARGS...: sockbrokerctl as nobody, as ctl does it for us.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$sbctl_other" --socket "$sock" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
}

# set_policy RULES: the policy file with those rules (JSON, comma-separated).
set_policy() {
	printf '{ "version": 1, "rules": [ %s ] }\n' "$1" >"$dir/policy.json" || exit 99
	chmod 644 "$dir/policy.json"
}

# reload: the new policy, asked by root (which keeps admin, whatever its exe).
reload() {
	ctl reload
	expect_rc 0 "$1: the policy is reloaded"
}

listen_grant='{ "action": "create", "family": "AF_INET", "type": "SOCK_STREAM" },
              { "action": "bind", "family": "AF_INET", "type": "SOCK_STREAM", "address": "127.0.0.1/32" }'
by_uid='{ "name": "nobody listens on the loopback", "match": { "uid": 65534 }, "allow": [ '"$listen_grant"' ] }'
by_exe='{ "name": "nobody'"'"'s sockbrokerctl listens", "match": { "uid": 65534, "exe": "'"$exe"'" },
          "allow": [ '"$listen_grant"' ] }'
deny_exe='{ "name": "sockbrokerctl never binds", "match": { "exe": "'"$exe"'" }, "deny": [ { "action": "bind" } ] }'

# ---------------------------------------------------------------- without CAP_SYS_PTRACE

full_sbd=$SBD
cat >"$dir/sbd-noptrace" <<EOF2
#!/bin/sh
exec setpriv --bounding-set=-sys_ptrace --inh-caps=-all "$full_sbd" "\$@"
EOF2
chmod 0755 "$dir/sbd-noptrace"
set_policy "$by_uid"
SBD="$dir/sbd-noptrace"
ctl_start_daemon --policy "$dir/policy.json" --audit-log "$dir/audit.json"
SBD=$full_sbd

# CAP_SYS_PTRACE is bit 19 of CapEff.
real_pid=$(sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' "$dir/ready")
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$real_pid/status")
if [ -n "$capeff" ] && [ $(( 0x$capeff & (1 << 19) )) -eq 0 ]; then
	pass "the daemon runs without CAP_SYS_PTRACE (CapEff $capeff)"
else
	fail "the daemon has CAP_SYS_PTRACE, or its CapEff cannot be read ('$capeff')"
fi

as_nobody whoami
expect_rc 0 "no ptrace: whoami as nobody"
expect_out '^exe: +unknown \(cannot read /proc/[0-9]+/exe: Permission denied\)$' "$dir/out" \
	"no ptrace: whoami shows the exe unknown, with the reason"
expect_no_out 'identity_error' "$dir/out" "no ptrace: whoami shows no identity error"
as_nobody --json whoami
if json_check '(d["exe"] is None and d["unknown"]["exe"].startswith("cannot read /proc/") and
               d["unknown"]["exe"].endswith("/exe: Permission denied") and "identity_error" not in d and
               d["rules"] == ["nobody listens on the loopback"] and d["rules_unknown"] == [])'; then
	pass "no ptrace: whoami --json has exe null, unknown.exe, the uid's rule, no identity_error"
else
	fail "no ptrace: whoami --json"
fi

as_nobody listen tcp:127.0.0.1:0
expect_rc 0 "no ptrace: a rule without exe lets nobody listen on tcp:127.0.0.1:0"
ctl policy check --uid 65534 --unknown exe listen tcp:127.0.0.1:0
expect_rc 0 "no ptrace: policy check --unknown exe agrees (allowed)"

set_policy "$by_exe"
reload "no ptrace, an allow naming exe"
as_nobody listen tcp:127.0.0.1:0
expect_rc 1 "no ptrace: an allow rule naming exe does not apply"
expect_out "rule \"nobody's sockbrokerctl listens\" would, but its match names exe, which is unknown \(cannot read /proc/[0-9]+/exe: Permission denied\).*\(code -32010\)" \
	"$dir/err" "no ptrace: the refusal says the exe is unknown, and why"
as_nobody --json whoami
if json_check 'd["rules"] == [] and d["rules_unknown"] == ["nobody'"'"'s sockbrokerctl listens"]'; then
	pass "no ptrace: whoami lists the exe rule in rules_unknown"
else
	fail "no ptrace: whoami lists the exe rule in rules_unknown"
fi
ctl policy check --uid 65534 --unknown exe listen tcp:127.0.0.1:0
expect_rc 1 "no ptrace: policy check --unknown exe agrees (denied)"
expect_out 'which is unknown \(as.unknown names it\)' "$dir/out" "no ptrace: policy check says why"
ctl policy check --uid 65534 --exe "$exe" listen tcp:127.0.0.1:0
expect_rc 0 "no ptrace: policy check with the exe known allows it"

set_policy "$by_uid, $deny_exe"
reload "no ptrace, a deny naming exe"
as_nobody listen tcp:127.0.0.1:0
expect_rc 1 "no ptrace: a deny rule naming exe applies"
expect_out 'rule "sockbrokerctl never binds" denies bind of AF_INET SOCK_STREAM on 127.0.0.1:0 to uid 65534, whose exe is unknown \(cannot read /proc/[0-9]+/exe: Permission denied\)' \
	"$dir/err" "no ptrace: the denial names the rule and the unknown exe"
ctl policy check --uid 65534 --unknown exe listen tcp:127.0.0.1:0
expect_rc 1 "no ptrace: policy check --unknown exe agrees (denied)"
expect_out '^denied: rule "sockbrokerctl never binds" denies' "$dir/out" "no ptrace: policy check names the deny rule"
ctl policy check --uid 65534 listen tcp:127.0.0.1:0
expect_rc 0 "no ptrace: policy check without exe (none) is not held to the exe deny"

ctl_stop_daemon
cp "$dir/daemon.log" "$dir/noptrace.log"
if python3 - "$dir/audit.json" <<'EOF2'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
mine = [r for r in recs if r.get("uid") == 65534]
sys.exit(0 if mine and all(r["exe"] is None and
                           r["unknown"]["exe"].endswith("/exe: Permission denied")
                           for r in mine) else 1)
EOF2
then
	pass "no ptrace: every JSON audit record of nobody has exe null and unknown.exe with the reason"
else
	fail "no ptrace: the JSON audit records of nobody do not say the exe was unknown"
fi
expect_out '^<5>audit: allow rule="nobody listens on the loopback" .* uid=65534 gid=65534 pid=[0-9]+ exe=\? ' \
	"$dir/noptrace.log" "no ptrace: the audit line shows the unknown exe as exe=?"
expect_out '^<5>audit: deny rule="sockbrokerctl never binds" .* uid=65534 .* exe=\? .*whose exe is unknown' \
	"$dir/noptrace.log" "no ptrace: the audit line of the deny says exe=? and why"

# ---------------------------------------------------------------- with CAP_SYS_PTRACE

rm -f "$dir/err.fifo"
set_policy "$by_exe"
ctl_start_daemon --policy "$dir/policy.json"
as_nobody --json whoami
if EXE=$exe json_check '(d["exe"] == __import__("os").environ["EXE"] and d["unknown"] == {} and
                        d["rules"] == ["nobody'"'"'s sockbrokerctl listens"])'; then
	pass "root: whoami shows nobody's exe"
else
	fail "root: whoami shows nobody's exe ($exe)"
fi
as_nobody listen tcp:127.0.0.1:0
expect_rc 0 "root: the allow rule naming the exe lets nobody listen"
set_policy "$by_uid, $deny_exe"
reload "root, a deny naming exe"
as_nobody listen tcp:127.0.0.1:0
expect_rc 1 "root: the deny rule naming the exe applies"
expect_out 'rule "sockbrokerctl never binds" denies bind of AF_INET SOCK_STREAM on 127.0.0.1:0 to uid 65534 \(code -32010\)' \
	"$dir/err" "root: the denial is the rule's, the exe known"
ctl_stop_daemon

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
