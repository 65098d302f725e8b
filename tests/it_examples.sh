#!/bin/sh
# Issue 12 item 8: every example in the man pages and the README prints what
# the document shows. tests/doc_examples.py finds them, runs them against
# private daemons and compares (its header lists the whole normalisation).
# The examples run as root (the administrator of the documents) in a private
# network namespace, so that port 80 is free and the loopback is all there
# is, and a private mount namespace whose /etc/hosts names localhost
# 127.0.0.1 only, so that `resolve localhost` is the same on every host.
# Needs root, unshare and mount; under CI=true a missing need is a failure.

set -u

# shellcheck source=tests/sbd-lib.sh
. "${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/sbd-lib.sh"

ctl_need_tools "to run the examples"
[ "$(id -u)" -eq 0 ] || missing "needs root (private namespaces; the documents' administrator is root)"
command -v unshare >/dev/null 2>&1 || missing "unshare is not installed"
command -v socat >/dev/null 2>&1 || missing "socat is not installed (an example uses it)"
getent passwd www-data >/dev/null 2>&1 || missing "no user www-data (the documents' example user)"
ctl_setup it_examples
chmod 755 "$dir"
printf '127.0.0.1 localhost\n' >"$dir/hosts"

export SRCDIR BUILDDIR
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --net sh -c '
	set -e
	mount --bind "$1/hosts" /etc/hosts
	# The new namespace has its loopback down: bring it up (SIOCGIFFLAGS,
	# SIOCSIFFLAGS with IFF_UP), without depending on iproute2.
	python3 -c "
import fcntl, socket, struct
s = socket.socket()
flags = struct.unpack(\"16sh\", fcntl.ioctl(s, 0x8913, struct.pack(\"16sh\", b\"lo\", 0)))[1]
fcntl.ioctl(s, 0x8914, struct.pack(\"16sh\", b\"lo\", flags | 1))
"
	exec python3 "$SRCDIR/tests/doc_examples.py" "$1"
' it_examples "$dir"
