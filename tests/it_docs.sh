#!/usr/bin/env bash
# docs/methods.md must be what the method table generates.
set -eu
gen="$BUILDDIR/docs/gen-methods"
want="$SRCDIR/docs/methods.md"
if ! diff -u "$want" <("$gen"); then
	echo "FAIL: docs/methods.md is stale; regenerate it with: $gen > docs/methods.md"
	exit 1
fi
echo "ok - docs/methods.md matches the method table"
