#!/bin/bash
# systemd-analyze security --offline=yes on the installed sockbrokerd.service
# (issue 12, item 6): the overall exposure is at most the one the unit's
# comments state (and "OK"), and every setting the tool still counts against
# the unit is named in the unit's list of justified ones, so neither a new
# exposure nor a stale justification goes unnoticed.
# Without systemd-analyze (or its --offline), "SKIP" and exit 77, but with
# CI=true a missing tool is a failure.

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

for tool in systemd-analyze python3 make; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
	missing "systemd-analyze security has no --offline (systemd < 250)"

sbd_setup it_unit_security
sbd_install "$dir/inst" || exit 1
pass "make install DESTDIR= installed ${inst_service#"$dir/inst"}"

# The stated score: "... its overall exposure is N.N (...".
stated=$(sed -n 's/^#.*overall exposure is \([0-9][0-9]*\.[0-9]\).*/\1/p' "$inst_service" | head -n 1)
if [ -z "$stated" ]; then
	fail "the installed unit states no overall exposure (\"overall exposure is N.N\")"
	exit 1
fi

rc=0
LC_ALL=C.UTF-8 systemd-analyze security --offline=yes "$inst_service" >"$dir/out" 2>&1 || rc=$?
score=$(sed -n 's/.*Overall exposure level for sockbrokerd\.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' "$dir/out")
if [ "$rc" -ne 0 ] || [ -z "$score" ]; then
	fail "systemd-analyze security --offline=yes exited $rc without an overall exposure"
	exit 1
fi
echo "# systemd-analyze security --offline=yes: $score (the unit states $stated)"
if "$py" -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "${score% *}" "$stated"; then
	pass "overall exposure ${score% *} is at most the stated $stated"
else
	fail "overall exposure ${score% *} is above the stated $stated: a new exposure, or the comment is stale"
fi
case ${score#* } in
OK) pass "the verdict is OK" ;;
*) fail "the verdict is ${score#* }, not OK" ;;
esac
# The tool's own threshold agrees (it takes tenths).
threshold=$("$py" -c 'import sys; print(round(float(sys.argv[1]) * 10))' "$stated")
if systemd-analyze security --offline=yes --threshold="$threshold" "$inst_service" >/dev/null 2>&1; then
	pass "systemd-analyze security --threshold=$threshold exits 0"
else
	fail "systemd-analyze security --threshold=$threshold exits non-zero"
fi

# Each counted setting against the justifications: the comment block that
# starts with "What `systemd-analyze security" (its "# - ..." lines).
if ! LC_ALL=C.UTF-8 systemd-analyze security --offline=yes --json=short "$inst_service" >"$dir/json" 2>"$dir/out"; then
	fail "systemd-analyze security --offline=yes --json=short failed"
	exit 1
fi
"$py" - "$dir/json" "$inst_service" >"$dir/verdicts" 2>"$dir/out" <<'PY' || true
import json, re, sys
items = json.load(open(sys.argv[1]))
text, block = open(sys.argv[2]).read().splitlines(), []
inside = False
for line in text:
    if line.startswith("# What `systemd-analyze security"):
        inside = True
        continue
    if inside:
        if not line.startswith("#"):
            break
        block.append(line[1:].strip())
just = " ".join(block)
for it in items:
    if it.get("set") is not False or not it.get("exposure"):
        continue
    name = it["name"]
    key, _, what = name.partition("=")
    if key in ("CapabilityBoundingSet", "SystemCallFilter") and what:
        needle = what                      # ~CAP_SYS_PTRACE, ~@privileged
    else:
        needle = key.split("/")[0] + "="  # User=/DynamicUser= -> User=
    ok = needle in just
    print("%d\t%s (exposure %s)%s" % (ok, name, it["exposure"], "" if ok else ": no '%s' in the unit's list" % needle))
PY
n=0
while IFS='	' read -r okv what; do
	n=$((n + 1))
	if [ "$okv" = 1 ]; then pass "justified in the unit: $what"; else fail "not justified: $what"; fi
done <"$dir/verdicts"
if [ "$n" -eq 0 ]; then
	fail "no counted setting was read from systemd-analyze's JSON"
fi

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
