#!/usr/bin/env bash
# The generated references must match the tables they are generated from.
set -eu
fail=0
check() { # check GENERATOR DOC
	if diff -u "$SRCDIR/docs/$2" <("$BUILDDIR/docs/$1") >/dev/null; then
		echo "ok - docs/$2 matches its table"
	else
		diff -u "$SRCDIR/docs/$2" <("$BUILDDIR/docs/$1") | head -40
		echo "not ok - docs/$2 is stale; regenerate: $BUILDDIR/docs/$1 > docs/$2"
		fail=1
	fi
}
check gen-methods methods.md
check gen-constants constants.md
exit $fail
