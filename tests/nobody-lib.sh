# Shared by the bash tests that run programs as nobody, and by those that
# load the preload shim (sourced after sbd-lib.sh). Apart from it because
# it uses bash arrays, and sbd-lib.sh must parse in dash.
# shellcheck shell=bash

# nobody_setup: after ctl_setup, for tests that run programs as nobody:
# $dir searchable by all, as_nobody_cmd (the command itself, not a
# function, where a background pid must be the program's), and upy, a
# python3 nobody may run (the root shell's may live under /root).
nobody_setup() {
	chmod 755 "$dir"
	nobody_gid=$(id -g nobody)
	as_nobody_cmd=(setpriv --reuid=nobody --regid="$nobody_gid" --clear-groups)
	upy=
	for _cand in /usr/bin/python3 /usr/local/bin/python3; do
		if [ -x "$_cand" ] && "${as_nobody_cmd[@]}" "$_cand" -c 'pass' >/dev/null 2>&1; then
			upy=$_cand
			break
		fi
	done
	[ -n "$upy" ] || missing "no python3 that user nobody can run"
}

# preload_need_shim: shim_built, the build tree's preload shim, or exit 77
# (a failure when CI=true) when it is not built.
preload_need_shim() {
	: "${BUILDDIR:=$(cd "$(dirname "$SBCTL")/.." && pwd)}"
	shim_built=$BUILDDIR/client/.libs/libsockbroker-preload.so
	[ -f "$shim_built" ] || missing "the shim is not built ($shim_built)"
}

# preload_copy_shim: after ctl_setup, shim: a copy of the shim in $dir/lib
# where nobody can read it (the build may be under /root).
preload_copy_shim() {
	mkdir -p "$dir/lib" || exit 99
	cp "$shim_built" "$dir/lib/" || exit 99
	chmod -R a+rX "$dir/lib" || exit 99
	shim=$dir/lib/libsockbroker-preload.so
}
