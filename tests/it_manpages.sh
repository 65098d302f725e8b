#!/bin/sh
# Issue 12 item 8: the installed man pages cite only what is installed.
# `make install DESTDIR=$tmp` of this build, then for every installed page:
# it renders with no warning (man --warnings, or groff -ww); each page of
# ours it cites in SEE ALSO (sockbroker*, sb_*) is installed, any other page
# is one of the system's listed below; every file it names under the
# documentation directory exists there; no page names a source-tree path
# (docs/*.md). sockbroker(3) names every function the library exports, has
# a page for each, and its EXAMPLES program compiles against the installed
# header and library.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

: "${BUILDDIR:=$(pwd)}"
[ -f "$BUILDDIR/Makefile" ] || missing "no configured build in BUILDDIR='$BUILDDIR'"
command -v groff >/dev/null 2>&1 || missing "groff is not installed"

ctl_setup it_manpages
tmp=$dir/root
mkdir -p "$tmp" || exit 99

# Pages of the system the project's pages may cite (SEE ALSO and text).
system_pages=' socat.1 systemd.socket.5 sd_notify.3 sd_listen_fds.3 unix.7 capabilities.7 cgroups.7 fnmatch.3 '\
' bind.2 connect.2 accept.2 socket.2 getaddrinfo.3 gethostbyname.3 getnameinfo.3 pidfd_open.2 logrotate.8 systemd.exec.5 systemd.service.5 journalctl.1 '

if make -s -C "$BUILDDIR" install DESTDIR="$tmp" >"$dir/out" 2>"$dir/err"; then
	pass "make install DESTDIR=\$tmp"
else
	fail "make install DESTDIR=\$tmp"
	exit 1
fi
mandir=$(find "$tmp" -type d -name man1 -path '*/share/man/man1' | head -n1)
mandir=${mandir%/man1}
docdir=$(find "$tmp" -type d -path '*/share/doc/sockbroker' | head -n1)
if [ -n "$mandir" ] && [ -n "$docdir" ]; then
	pass "the man pages and the documents are installed (${mandir#"$tmp"}, ${docdir#"$tmp"})"
else
	fail "no man pages or no documentation directory under \$tmp"
	find "$tmp" -type d | sed 's/^/    | /'
	exit 1
fi
docdir_real=${docdir#"$tmp"}

for page in sockbrokerd.8 sockbrokerctl.1 sockbroker-policy.5 sockbroker.3 sockbroker-preload.8; do
	sec=${page##*.}
	f=$mandir/man$sec/$page
	if [ ! -f "$f" ]; then
		fail "$page is not installed"
		continue
	fi
	# Rendering: no warning at all, as installed under the usual prefix. Under
	# distcheck the documents' directory is a long path of its own, which the
	# pages then name and troff cannot fit in 80 columns: render a copy that
	# names /usr/share/doc/sockbroker instead.
	sed "s|$docdir_real|/usr/share/doc/sockbroker|g" "$f" >"$dir/render.$sec"
	if command -v man >/dev/null 2>&1; then
		# Only the warnings (stderr) are kept; the page itself goes to /dev/null.
		# shellcheck disable=SC2069
		(cd "$mandir" && MANWIDTH=80 man --warnings -l -E UTF-8 "$dir/render.$sec" 2>&1 >/dev/null) >"$dir/out"
	else
		groff -man -ww -z "$dir/render.$sec" >"$dir/out" 2>&1
	fi
	if [ -s "$dir/out" ]; then fail "$page renders with warnings"; else pass "$page renders without a warning"; fi

	# Pages cited: ".BR name (N)" anywhere, SEE ALSO included.
	sed -n 's/^\.BR \([A-Za-z0-9_.\\-]*\) (\([0-9]\)).*/\1.\2/p' "$f" | sed 's/\\-/-/g' | sort -u >"$dir/cited"
	while IFS= read -r cited; do
		case $cited in
		sockbroker* | sb_*)
			if [ -f "$mandir/man${cited##*.}/$cited" ]; then
				pass "$page cites $cited, which is installed"
			else
				fail "$page cites $cited, which is not installed"
			fi
			;;
		*)
			case $system_pages in
			*" $cited "*) pass "$page cites the system's $cited" ;;
			*) fail "$page cites $cited, neither ours nor a known system page (add it to the list if it is)" ;;
			esac
			;;
		esac
	done <"$dir/cited"

	# Files under the documentation directory: each exists.
	grep -o "$docdir_real/[A-Za-z0-9_./-]*" "$f" | sed 's/[.]$//' | sort -u >"$dir/files"
	while IFS= read -r ref; do
		if [ -e "$tmp$ref" ]; then pass "$page names $ref, which is installed"; else fail "$page names $ref, which is not installed"; fi
	done <"$dir/files"
	if [ "$docdir_real" != /usr/share/doc/sockbroker ] && grep -q '/usr/share/doc/sockbroker' "$f"; then
		fail "$page names /usr/share/doc/sockbroker, but the documents went to $docdir_real"
	fi
	if grep -Eq '(^|[^/a-z])docs/[a-z-]+\.md' "$f"; then
		fail "$page names a source-tree path:"
		grep -En '(^|[^/a-z])docs/[a-z-]+\.md' "$f" | sed 's/^/    | /'
	else
		pass "$page names no source-tree path"
	fi
done

# sockbroker(3) against the library it documents.
lib=$(find "$tmp" -name 'libsockbroker.so.*' -type f | head -n1)
hdr=$(find "$tmp" -name sockbroker.h | head -n1)
if [ -n "$lib" ] && command -v nm >/dev/null 2>&1; then
	nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^sb_/ { sub(/@.*/, "", $3); print $3 }' | sort -u >"$dir/exported"
	while IFS= read -r fn; do
		if sed -n '/^\.SH NAME/,/^\.SH/p' "$mandir/man3/sockbroker.3" | grep -q "\\b$fn\\b"; then
			pass "sockbroker(3) names $fn"
		else
			fail "sockbroker(3) does not name the exported $fn"
		fi
		if [ -f "$mandir/man3/$fn.3" ] && grep -qx '.so man3/sockbroker.3' "$mandir/man3/$fn.3"; then
			pass "$fn(3) is installed"
		else
			fail "$fn(3) is not installed"
		fi
	done <"$dir/exported"
	[ -s "$dir/exported" ] || fail "no sb_ function found in $lib"
else
	fail "the installed library or nm is missing"
fi
if [ -n "$hdr" ] && [ -n "$lib" ] && command -v cc >/dev/null 2>&1; then
	sed -n '/^\.SH EXAMPLES/,/^\.SH/p' "$mandir/man3/sockbroker.3" | sed -n '/^\.EX/,/^\.EE/p' |
		sed -e '/^\.EX/d' -e '/^\.EE/d' -e 's/\\e/\\/g' -e 's/\\-/-/g' >"$dir/example.c"
	if cc -Wall -Wextra -Werror -I"$(dirname "$hdr")" -o "$dir/example" "$dir/example.c" \
		-L"$(dirname "$lib")" -lsockbroker >"$dir/out" 2>&1; then
		pass "the EXAMPLES program of sockbroker(3) compiles and links against the installed library"
	else
		fail "the EXAMPLES program of sockbroker(3) does not build"
	fi
fi

# Every option sockbrokerd --help lists is in sockbrokerd(8), as \-\-name.
sbd_bin=$(find "$tmp" -type f -name sockbrokerd -perm -u+x | head -n1)
if [ -n "$sbd_bin" ]; then
	missing_opts=
	for opt in $("$sbd_bin" --help | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p'); do
		man_form=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -q -- "$man_form" "$mandir/man8/sockbrokerd.8" || missing_opts="$missing_opts $opt"
	done
	if [ -z "$missing_opts" ]; then
		pass "sockbrokerd(8) documents every option of sockbrokerd --help"
	else
		fail "sockbrokerd(8) lacks:$missing_opts"
	fi
else
	fail "no installed sockbrokerd under \$tmp"
fi

echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
