#!/bin/bash
# Issue 14: the web view (GET /) in a real headless Chromium. The daemon gets
# a policy that lets this user administer and create, bind and listen, and
# denies connect to port 25 by a rule of its own; an HTTP listener on a
# loopback port; and a token file naming this user. tests/http_browser.py
# drives Chromium over WebDriver (chromedriver) and checks the DOM: clients,
# sockets, an allow and a deny record arriving over the SSE stream, the
# rules' counters, the keyboard, a 360 px window, and what the page says
# without the token. Screenshots go to tests/artifacts/ of the build tree;
# with SBD_UPDATE_SCREENSHOT=1 the wide one is also copied to
# docs/http-view.png (the README's).

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

need_python_client
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export CHROMIUM CHROMEDRIVER
[ -x "$CHROMIUM" ] || missing "no Chromium at $CHROMIUM (Debian package chromium)"
[ -x "$CHROMEDRIVER" ] || missing "no ChromeDriver at $CHROMEDRIVER (Debian package chromium-driver)"

sbd_setup it_http_browser
uid=$(id -u)
user=$(id -un)
allow_rule="web view test: this user administers and makes sockets"
deny_rule="web view test: never SMTP"
mkdir -p "$dir/policy.d"
cat >"$dir/policy.d/policy.json" <<EOF2
{ "version": 1, "rules": [
  { "name": "$allow_rule", "match": { "uid": $uid },
    "allow": [ { "action": "admin" }, { "action": "create" },
               { "action": "bind", "address": "127.0.0.1/32" }, { "action": "listen" } ] },
  { "name": "$deny_rule", "match": { "uid": $uid },
    "deny": [ { "action": "connect", "port": 25 } ] } ] }
EOF2
secret=$("$py" -c 'import secrets; print(secrets.token_hex(24))')
(
	umask 077
	cat >"$dir/tokens.json" <<EOF2
{ "version": 1, "tokens": [ { "name": "web-view-test", "secret": "$secret", "user": "$user" } ] }
EOF2
)
# A free loopback port (another process could take it before the daemon
# binds it; the daemon would then fail to start, loudly).
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

sbd_start --policy "$dir/policy.d" --http "tcp:127.0.0.1:$port" --http-token-file "$dir/tokens.json"

artifacts=${BUILDDIR:-.}/tests/artifacts
copy=()
if [ "${SBD_UPDATE_SCREENSHOT:-}" = 1 ]; then
	copy=(--copy-screenshot "$SRCDIR/docs/http-view.png")
fi
if "$py" "$SRCDIR/tests/http_browser.py" --url "http://127.0.0.1:$port" --token "$secret" \
	--control "$sock" --artifacts "$artifacts" --allow-rule "$allow_rule" --deny-rule "$deny_rule" \
	${copy[@]+"${copy[@]}"} >"$dir/out" 2>&1; then
	sed 's/^/    | /' "$dir/out"
	pass "the web view in Chromium (tests/http_browser.py)"
else
	fail "the web view in Chromium (tests/http_browser.py)"
	sed 's/^/    | /' "$dir/daemon.log" | tail -n 40
fi

sbd_stop
echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
