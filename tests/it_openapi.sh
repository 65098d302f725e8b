#!/usr/bin/env bash
# docs/openapi.json (issue 14): it parses, it is OpenAPI 3.1, every $ref
# resolves, and its paths are the routes[] table of daemon/http.c, both ways
# (tests/openapi_check.py static); then a daemon with a unix: HTTP listener
# answers each request of tests/openapi_check.py live with a status the
# document lists and a body its schema accepts. openapi-spec-validator, when
# installed, validates the document too.
#
# Synchronisation: the daemon's READY=1 (sbd_start); the HTTP listener is
# bound before it.

set -u
# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"
src=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
need_python_client
sbd_setup it_openapi

if "$py" "$src/tests/openapi_check.py" static "$src/docs/openapi.json" "$src/daemon/http.c" >"$dir/out" 2>&1; then
	cat "$dir/out"
	pass "docs/openapi.json: the document and routes[] agree"
else
	cat "$dir/out"
	fail "docs/openapi.json: the document and routes[] agree"
	exit 1
fi

if "$py" -c 'import openapi_spec_validator' 2>/dev/null; then
	if "$py" -c 'import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))' \
		"$src/docs/openapi.json" >"$dir/out" 2>&1; then
		pass "openapi-spec-validator accepts docs/openapi.json"
	else
		fail "openapi-spec-validator accepts docs/openapi.json"
	fi
else
	echo "ok - openapi-spec-validator is not installed # SKIP"
fi

"$py" -c 'import jsonschema' 2>/dev/null || missing "python3's jsonschema is not installed (Debian: python3-jsonschema)"

sbd_start --http "unix:$dir/http.sock"
if "$py" "$src/tests/openapi_check.py" live "$src/docs/openapi.json" "$dir/http.sock" >"$dir/out" 2>&1; then
	cat "$dir/out"
	pass "the daemon's answers are those docs/openapi.json describes"
else
	cat "$dir/out"
	: >"$dir/out"
	fail "the daemon's answers are those docs/openapi.json describes"
fi
sbd_stop

echo "$checks checks, $failures failures"
[ "$failures" -eq 0 ]
