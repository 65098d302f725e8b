#!/usr/bin/env bash
# dev.sh: the one entry point for working on sockbroker.
#   ./dev.sh run [DAEMON-OPTIONS...]  build in build/ and run the daemon
#   ./dev.sh test                     -Werror build + check, sanitizer build +
#                                     check, distcheck; prints a summary line
# Both install missing Debian packages first (apt-get, through sudo if needed).
set -euo pipefail

cd "$(dirname "$0")"
top=$(pwd)

# netbase (/etc/protocols, /etc/services: getprotobyname, getservby*) and
# procps (the unit's ExecReload= kill) are missing from minimal images.
# What the unit tests use: systemd (systemd-analyze verify and security,
# systemd-socket-activate), util-linux (setpriv, unshare), mount, iproute2
# (ip: the loopback of a network namespace), python3-seccomp (the unit's
# SystemCallFilter= applied by tests/unit-sandbox.py), man-db (man: verify
# checks Documentation= against the installed pages),
# groff-base (renders the man pages for tests/it_manpages.sh), logrotate
# (it_audit_rotate.sh runs the shipped examples/logrotate/sockbroker),
# python3-jsonschema (it_openapi.sh checks the daemon's answers against
# docs/openapi.json), chromium and chromium-driver (it_http_browser.sh: the
# web view in a headless browser driven over WebDriver), lighttpd
# (it_launcher.sh: a real socket-activated server under sockbrokerctl run;
# see stop_new_services for the service its package may start), s6,
# libs6-dev and skalibs-dev (bench/bench_hold starts s6-fdholderd and drives
# it through libs6, whose s6/fdholder.h includes skalibs' headers: hold.get
# against s6-fdholder's retrieve; without them the bench measures sockbroker
# alone), iputils-ping (it_preload_ping.sh: ping in a sandbox through the
# preload shim's socket()).
PACKAGES=(build-essential autoconf automake libtool pkg-config libjson-c-dev
	libmicrohttpd-dev check python3 socat systemd bubblewrap util-linux mount
	iproute2 authbind netbase procps python3-seccomp man-db groff-base logrotate
	python3-jsonschema chromium chromium-driver curl prometheus lighttpd s6
	libs6-dev skalibs-dev iputils-ping)
# Packages whose service the tests only run by hand: when ensure_packages
# installs one on a machine with a running init, its postinst starts it
# (lighttpd on port 80), and it is stopped and disabled again. Where no init
# runs (a container), invoke-rc.d starts nothing. it_launcher.sh runs in a
# network namespace of its own either way, so a port 80 taken on the host
# does not disturb it.
SERVICES_NOT_WANTED=(lighttpd)
JOBS=-j2

usage() {
	cat <<EOF
Usage: ./dev.sh COMMAND

Commands:
  run [OPTIONS...]  install what is missing, build in build/ and run
                    build/daemon/sockbrokerd in the foreground (OPTIONS are
                    passed to it, e.g. --log-level debug)
  test              install what is missing, then build with -Werror and run
                    make check (build-werror/), build with ASan/UBSan and run
                    make check (build-san/), and run make distcheck; ends with
                    "tests: N passed, N failed, N skipped"

With CI=true, a test skipped because it needs root counts as a failure.
EOF
}

say() {
	printf '==> %s\n' "$*"
}

die() {
	printf 'dev.sh: %s\n' "$*" >&2
	exit 1
}

# ensure_packages: apt-get install whatever dpkg-query does not report installed.
ensure_packages() {
	local missing=() p status sudo=()
	if ! command -v dpkg-query >/dev/null; then
		say "no dpkg-query: not a Debian system, assuming the tools are installed"
		return 0
	fi
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		if [ "$status" != "install ok installed" ]; then
			missing+=("$p")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		return 0
	fi
	say "installing: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null ||
			die "not root and no sudo: install ${missing[*]} and run again"
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
	stop_new_services "${missing[@]}"
}

# stop_new_services PACKAGE...: of the packages just installed, those in
# SERVICES_NOT_WANTED get their service stopped and disabled (systemd or
# SysV init), if one was started.
stop_new_services() {
	local p s sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	for p in "$@"; do
		for s in "${SERVICES_NOT_WANTED[@]}"; do
			[ "$p" = "$s" ] || continue
			if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
				say "stopping and disabling $s.service (installed for the tests only)"
				"${sudo[@]}" systemctl disable --now "$s.service" || true
			elif [ -x "/etc/init.d/$s" ] && "/etc/init.d/$s" status >/dev/null 2>&1; then
				say "stopping $s (installed for the tests only)"
				"${sudo[@]}" "/etc/init.d/$s" stop || true
			fi
		done
	done
}

# bootstrap: generate configure when it is missing or older than its inputs.
bootstrap() {
	if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
		say "autoreconf -fi"
		autoreconf -fi
	fi
}

# configure_in DIR ARGS...: configure a VPATH build in DIR unless it already is
# configured with exactly these arguments.
configure_in() {
	local dir=$1 stamp
	shift
	stamp="$*"
	mkdir -p "$dir" || return 1
	if [ -f "$dir/Makefile" ] && [ -f "$dir/.dev-configure-args" ] &&
		[ "$(cat "$dir/.dev-configure-args")" = "$stamp" ]; then
		return 0
	fi
	say "configure in $dir/ $stamp"
	rm -f "$dir/.dev-configure-args"
	(cd "$dir" && "$top/configure" "$@") || return 1
	printf '%s\n' "$stamp" >"$dir/.dev-configure-args"
}

# ------------------------------------------------------------------- run
cmd_run() {
	local sock args=("$@")
	ensure_packages
	bootstrap
	configure_in build
	say "make $JOBS in build/"
	make -C build "$JOBS"

	# Where the daemon's embedded default puts its socket (see sockbrokerd(8)).
	if [ "$(id -u)" -eq 0 ]; then
		sock=/run/sockbroker/control.sock
	elif [[ ${XDG_RUNTIME_DIR:-} == /* ]]; then
		sock=$XDG_RUNTIME_DIR/sockbroker/control.sock
	else
		# The default would be /run/sockbroker, which a user cannot create.
		sock=${TMPDIR:-/tmp}/sockbroker-$(id -u)/control.sock
		[ -d "$(dirname "$sock")" ] || mkdir -m 0700 "$(dirname "$sock")"
		[ -O "$(dirname "$sock")" ] || die "$(dirname "$sock") belongs to someone else"
		args=(--socket "$sock" "${args[@]}")
	fi

	cat <<EOF

sockbrokerd is starting on $sock (Ctrl-C stops it). From another terminal:
EOF
	if [ "$sock" = /run/sockbroker/control.sock ]; then
		echo "  build/client/sockbrokerctl info"
	else
		echo "  SOCKBROKER_SOCKET=$sock build/client/sockbrokerctl info"
	fi
	cat <<EOF
  echo '{"jsonrpc":"2.0","id":1,"method":"daemon.info"}' | socat - UNIX-CONNECT:$sock

EOF
	exec build/daemon/sockbrokerd "${args[@]}"
}

# ------------------------------------------------------------------ test
failed_steps=()
summary_printed=no

# show_test_logs DIR...: print the test-suite.log files directly in the DIRs
# (which hold the failing tests' own logs).
show_test_logs() {
	local d found=no
	for d in "$@"; do
		if [ -f "$d/test-suite.log" ]; then
			found=yes
			echo "------------------------------------------------------------ $d/test-suite.log"
			cat "$d/test-suite.log"
		fi
	done
	if [ "$found" = no ]; then
		echo "(no test-suite.log: the failure is in the output above)"
	fi
}

# step NAME COMMAND...: run one step and remember whether it failed.
step() {
	local name=$1
	shift
	say "$name"
	if "$@"; then
		return 0
	fi
	echo "dev.sh: FAILED: $name"
	failed_steps+=("$name")
	return 1
}

# check_in DIR: make check, after removing the results of earlier runs so that
# only this run is counted.
check_in() {
	find "$1" -path "$1/sockbroker-*" -prune -o \
		\( -name '*.trs' -o -name 'test-suite.log' \) -type f -exec rm -f {} + || return 1
	if make -C "$1" "$JOBS" check; then
		return 0
	fi
	show_test_logs "$1"
	return 1
}

# werror_build: configure with -Werror, make, make check.
werror_build() {
	configure_in build-werror --enable-werror &&
		make -C build-werror "$JOBS" &&
		check_in build-werror
}

# san_build: configure with the sanitizers, make check with them failing loudly.
san_build() {
	configure_in build-san --enable-sanitizers --enable-werror &&
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			check_in build-san
}

# distcheck: the tarball builds, passes make check and installs cleanly.
distcheck() {
	local d
	if make -C build-werror "$JOBS" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror; then
		return 0
	fi
	# Left behind on failure: build-werror/PACKAGE-VERSION/_build/sub.
	for d in build-werror/sockbroker-*/_build/sub build-werror/sockbroker-*/_build; do
		if [ -f "$d/test-suite.log" ]; then
			show_test_logs "$d"
			return 1
		fi
	done
	show_test_logs
	return 1
}

# print_summary P F S: the last line of ./dev.sh test.
print_summary() {
	summary_printed=yes
	echo "tests: $1 passed, $2 failed, $3 skipped"
}

cmd_test() {
	local werror_ok=no passed=0 failed=0 skipped=0 result trs log status=0
	local root_skips=()

	# Whatever stops the script early, the summary line still ends its output.
	trap '[ "$summary_printed" = yes ] || print_summary 0 0 0' EXIT
	ensure_packages
	bootstrap

	if step "build-werror: configure --enable-werror, make, make check" werror_build; then
		werror_ok=yes
	fi
	step "build-san: configure --enable-sanitizers --enable-werror, make check" san_build || true
	if [ "$werror_ok" = yes ]; then
		step "build-werror: make distcheck" distcheck || true
	else
		echo "dev.sh: make distcheck not run: the -Werror build or its tests failed"
		failed_steps+=("distcheck (not run)")
	fi

	# Count the results of both check runs (not those of distcheck's copy).
	while IFS= read -r -d '' trs; do
		while IFS= read -r result; do
			case $result in
			PASS) passed=$((passed + 1)) ;;
			FAIL | ERROR | XPASS) failed=$((failed + 1)) ;;
			SKIP)
				skipped=$((skipped + 1))
				log=${trs%.trs}.log
				if [ -f "$log" ] && grep -qi 'skip.*root' "$log"; then
					root_skips+=("$log: $(grep -i -m1 'skip.*root' "$log")")
				fi
				;;
			esac
		done < <(sed -n 's/^:test-result: *\([A-Z]*\).*/\1/p' "$trs")
	done < <(find build-werror build-san -path 'build-*/sockbroker-*' -prune -o \
		-name '*.trs' -type f -print0 2>/dev/null)

	if [ "${#failed_steps[@]}" -gt 0 ]; then
		echo "dev.sh: failed steps:"
		printf '  %s\n' "${failed_steps[@]}"
		status=1
	fi
	if [ "${CI:-}" = true ] && [ "${#root_skips[@]}" -gt 0 ]; then
		echo "dev.sh: CI=true, but tests were skipped for want of root:"
		printf '  %s\n' "${root_skips[@]}"
		status=1
	fi
	if [ "$failed" -gt 0 ]; then
		status=1
	fi
	print_summary "$passed" "$failed" "$skipped"
	return "$status"
}

case ${1:-} in
run)
	shift
	cmd_run "$@"
	;;
test)
	shift
	[ "$#" -eq 0 ] || die "test takes no arguments"
	cmd_test
	;;
-h | --help | help)
	usage
	;;
"")
	usage
	exit 2
	;;
*)
	usage >&2
	exit 2
	;;
esac
