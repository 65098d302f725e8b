#!/bin/bash
# The daemon as its shipped unit runs it (issue 12, items 1 and 6): installed
# with `make install DESTDIR=`, the installed sockbrokerd.service parsed
# (tests/unit-sandbox.py) so the test and the unit cannot drift, and what
# systemd would apply from it applied to the installed daemon:
#   User=, CapabilityBoundingSet=, AmbientCapabilities=, NoNewPrivileges=
#                                       setpriv
#   UMask=                              umask
#   SystemCallFilter=, SystemCallErrorNumber=
#                                       a seccomp filter (python3-seccomp),
#                                       expanded as systemd expands it
#   PrivateMounts=                      a mount namespace of its own, where:
#   ProtectSystem=strict                every mount read-only but /dev, /proc,
#                                       /sys and the test's directory (the
#                                       control socket, which under systemd
#                                       is sockbrokerd.socket's)
#   ProtectHome=yes                     /home, /root, /run/user empty
#   ProtectProc=, ProcSubset=, ReadOnlyPaths=/proc
#                                       a procfs of its own (hidepid=,
#                                       subset=, ro)
#   LogsDirectory=, LogsDirectoryMode=, ExecStart='s arguments
#                                       a read-only tmpfs on /var/log with
#                                       the one writable directory; the
#                                       daemon gets ExecStart='s options
#                                       (the audit log in /var/log/sockbroker)
# The rest of the unit's sandbox (PrivateTmp=, PrivateDevices=, ...) is
# systemd's own; the unit's comments say why it is left to systemd.
# Then the README's port-80 case, as nobody: the README's one-rule policy,
# with user nobody instead of www-data (the only change), `sockbrokerctl
# listen tcp:0.0.0.0:80` and `whoami` as nobody succeed, and the decision is
# in the audit log where the unit puts it. Everything runs in a network
# namespace of its own (loopback up), where port 80 is always free.
#
# Needs root; without it, or without a tool, "SKIP" and exit 77, but with
# CI=true a missing need is a failure.
# shellcheck disable=SC2154 # the unit_* variables come from the parsed unit (unit.env)

set -eu
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/sbd-lib.sh
. "$SRCDIR/tests/sbd-lib.sh"

: "${SBD:=}"
: "${SBCTL:=}"
: "${BUILDDIR:=}"
if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
	missing "daemon not built (SBD='$SBD' is not executable)"
fi
if [ -z "$SBCTL" ] || [ ! -x "$SBCTL" ]; then
	missing "sockbrokerctl not built (SBCTL='$SBCTL' is not executable)"
fi
need_root "needs root (the daemon runs as the unit's root with its capabilities, in namespaces of its own)"
for tool in python3 setpriv unshare mount ip systemd-analyze make; do
	command -v "$tool" >/dev/null 2>&1 || missing "$tool is not installed"
done
getent passwd nobody >/dev/null 2>&1 || missing "there is no user nobody"

# A network namespace of our own: port 80 is free whatever the host runs.
if [ -z "${SB_UNIT_CAPS_NETNS:-}" ]; then
	if ! unshare --net -- true >/dev/null 2>&1; then
		missing "unshare --net cannot make a network namespace here"
	fi
	SB_UNIT_CAPS_NETNS=1 exec unshare --net -- "$BASH" "$0" "$@"
fi
if ! ip link set lo up; then
	echo "not ok - cannot bring up the loopback of the test's network namespace"
	exit 1
fi

sbd_setup it_unit_caps
# The clients run as nobody: they must reach the socket.
chmod 0755 "$dir"
umask 022

# An interpreter with the libseccomp bindings for the filter.
spy=
for cand in /usr/bin/python3 "$py" python3; do
	if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import seccomp' >/dev/null 2>&1; then
		spy=$(command -v "$cand")
		break
	fi
done
[ -n "$spy" ] || missing "no python3 with the seccomp module (python3-seccomp)"

# ---------------------------------------------------------------- the installed unit

sbd_install "$dir/inst" || exit 1
pass "make install DESTDIR=$dir/inst installed ${inst_service#"$dir/inst"}"
"$py" "$SRCDIR/tests/unit-sandbox.py" parse "$inst_service" "$dir/syscalls" >"$dir/unit.env" 2>"$dir/out" || {
	fail "the installed unit cannot be parsed"
	exit 1
}
# shellcheck disable=SC1091 # written just above
. "$dir/unit.env"
sed 's/^/# unit: /' "$dir/unit.env"

inst_sbd=$dir/inst$unit_exec
if [ -x "$inst_sbd" ]; then
	pass "ExecStart= names the installed daemon ($unit_exec)"
else
	fail "ExecStart= names $unit_exec, which make install did not install"
	exit 1
fi
for cap in sys_ptrace setuid setgid net_bind_service; do
	case ",$unit_caps," in
	*",$cap,"*) pass "CapabilityBoundingSet= keeps cap_$cap" ;;
	*) fail "CapabilityBoundingSet= lacks cap_$cap ($unit_caps)" ;;
	esac
done

# setpriv's options from User=, Group=, the capability sets and NoNewPrivileges=.
unit_group=${unit_group:-$(id -gn "$unit_user")}
setpriv_args="--reuid=$unit_user --regid=$unit_group --init-groups"
setpriv_args="$setpriv_args --bounding-set=-all${unit_caps:+,+${unit_caps//,/,+}}"
setpriv_args="$setpriv_args --inh-caps=-all${unit_ambient:+,+${unit_ambient//,/,+}}"
setpriv_args="$setpriv_args --ambient-caps=-all${unit_ambient:+,+${unit_ambient//,/,+}}"
if [ "$unit_nnp" = yes ]; then
	setpriv_args="$setpriv_args --no-new-privs"
fi
# The procfs systemd mounts for ProtectProc=, ProcSubset= and ReadOnlyPaths=/proc.
proc_opts=
case $unit_protect_proc in
default) ;;
invisible | ptraceable | noaccess) proc_opts=hidepid=$unit_protect_proc ;;
*) fail "ProtectProc=$unit_protect_proc is not emulated"; exit 1 ;;
esac
case $unit_proc_subset in
all) ;;
pid) proc_opts=${proc_opts:+$proc_opts,}subset=pid ;;
*) fail "ProcSubset=$unit_proc_subset is not emulated"; exit 1 ;;
esac
if [ "$unit_proc_ro" = yes ]; then
	proc_opts=${proc_opts:+$proc_opts,}ro
fi
case $unit_protect_system in
strict | no) ;;
*) fail "ProtectSystem=$unit_protect_system is not emulated"; exit 1 ;;
esac
case $unit_protect_home in
yes | no) ;;
*) fail "ProtectHome=$unit_protect_home is not emulated"; exit 1 ;;
esac
# The helper from the test's directory: ProtectHome= hides a clone under /root.
cp "$SRCDIR/tests/unit-sandbox.py" "$dir/unit-sandbox.py"
cat >>"$dir/unit.env" <<EOF
setpriv_args='$setpriv_args'
proc_opts='${proc_opts:-rw}'
spy='$spy'
sandbox_py='$dir/unit-sandbox.py'
syscalls='$dir/syscalls'
rw_dir='$dir'
EOF

# unit-run PROGRAM [ARGS...]: PROGRAM as the unit runs the daemon (what is
# emulated of it): its umask, a mount namespace of its own with the procfs
# and the logs directory, its user, capabilities and no-new-privileges, and
# last its system call filter. Each step execs the next: PROGRAM keeps the
# pid, as under systemd.
cat >"$dir/unit-run" <<'EOF'
#!/bin/sh
set -e
here=$(dirname "$0")
. "$here/unit.env"
if [ "${1:-}" != --in-namespace ]; then
	umask "$unit_umask"
	exec unshare --mount --propagation private -- "$0" --in-namespace "$@"
fi
shift
if [ "$unit_protect_system" = strict ]; then
	mount --bind "$rw_dir" "$rw_dir"
	awk '{ print $1, $5 }' /proc/self/mountinfo >"$rw_dir/mounts"
	while read -r mnt_id mp; do
		case $mp in
		/dev | /dev/* | /proc | /proc/* | /sys | /sys/* | "$rw_dir") continue ;;
		esac
		# A mount hidden under a later one (its path leads to another mount
		# now) cannot be reached, so it needs no remount; the one on top has
		# its own line. fdinfo's mnt_id says where the path leads.
		if ! mount -o remount,bind,ro "$mp" 2>"$rw_dir/remount.err"; then
			reached=$(awk '/^mnt_id:/ { print $2 }' /proc/self/fdinfo/9 9<"$mp" 2>/dev/null || true)
			[ "$reached" = "$mnt_id" ] || continue
			cat "$rw_dir/remount.err" >&2
			echo "unit-run: cannot make $mp read-only" >&2
			exit 1
		fi
	done <"$rw_dir/mounts"
fi
if [ "$unit_protect_home" = yes ]; then
	for d in /home /root /run/user; do
		if [ -d "$d" ]; then mount -t tmpfs -o ro,mode=0 unit-home "$d"; fi
	done
fi
mount -t proc -o "$proc_opts" proc /proc
if [ -n "$unit_logs_dir" ]; then
	mount -t tmpfs -o mode=0755 unit-logs /var/log
	mkdir -m "$unit_logs_mode" "/var/log/$unit_logs_dir"
	mount --bind "/var/log/$unit_logs_dir" "/var/log/$unit_logs_dir"
	mount -o remount,bind,ro /var/log
fi
# shellcheck disable=SC2086 # a list of options
exec setpriv $setpriv_args -- "$spy" "$sandbox_py" seccomp-exec "$syscalls" "${unit_errno:-EPERM}" "$@"
EOF
cat >"$dir/sbd-unit" <<EOF
#!/bin/sh
exec '$dir/unit-run' '$inst_sbd' $unit_exec_args "\$@"
EOF
chmod 0755 "$dir/unit-run" "$dir/sbd-unit"

# ---------------------------------------------------------------- the unit's limits, probed

as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }

# A process under the same settings tries what the unit's comments say it
# cannot do with CAP_SYS_PTRACE, and what it must still do.
probe_py='
import ctypes, errno, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
def res(ok, what):
    print(("ok " if ok else "bad ") + what)
# process_vm_readv on pid 1: refused by the filter (EPERM), before any access check.
buf = ctypes.create_string_buffer(8)
class iov(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
local, remote = iov(ctypes.addressof(buf), 8), iov(0x10000, 8)
r = libc.process_vm_readv(1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
res(r < 0 and ctypes.get_errno() == errno.EPERM, "process_vm_readv: %s" % os.strerror(ctypes.get_errno()))
try:
    os.close(os.open("/proc/1/mem", os.O_WRONLY))
    res(False, "/proc/1/mem opened for writing")
except OSError as e:
    res(e.errno == errno.EROFS, "/proc/1/mem for writing: %s" % e.strerror)
try:
    socket.sethostname("sockbroker-unit-test")
    res(False, "sethostname succeeded")
except OSError as e:
    res(e.errno == errno.EPERM, "sethostname: %s" % e.strerror)
res(not os.path.exists("/proc/sys/kernel"), "/proc/sys is hidden (ProcSubset=pid)")
pid = sys.argv[1]
try:
    uid = [l.split()[1] for l in open("/proc/%s/status" % pid) if l.startswith("Uid:")][0]
    exe = os.readlink("/proc/%s/exe" % pid)
    res(uid == "65534" and exe != "", "nobody'"'"'s process is visible and its /proc/PID/exe readable (%s)" % exe)
except OSError as e:
    res(False, "nobody'"'"'s /proc/%s/exe: %s" % (pid, e.strerror))
try:
    os.close(os.open("/etc/sockbroker-unit-test", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.unlink("/etc/sockbroker-unit-test")
    res(False, "/etc is writable")
except OSError as e:
    res(e.errno == errno.EROFS, "/etc is read-only (ProtectSystem=strict): %s" % e.strerror)
logs = "/var/log/%s/probe" % sys.argv[2]
try:
    os.close(os.open(logs, os.O_WRONLY | os.O_CREAT, 0o600))
    res(True, "%s can be written (LogsDirectory=)" % logs)
except OSError as e:
    res(False, "%s: %s" % (logs, e.strerror))
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 80))
res(True, "bind to port 80")
'
# A process of nobody's, to be seen through hidepid= and CAP_SYS_PTRACE.
mkfifo "$dir/target.fifo"
setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups /bin/sh -c 'echo up; exec sleep 600' </dev/null >"$dir/target.fifo" 2>&1 &
target_pid=$!
exec 4<"$dir/target.fifo"
IFS= read -r -t 30 line <&4 || true
exec 4<&-
"$dir/unit-run" "$spy" -c "$probe_py" "$target_pid" "${unit_logs_dir:-none}" >"$dir/probe.out" 2>&1 || true
reap KILL "$target_pid"
cp "$dir/probe.out" "$dir/out"
nprobe=0
while IFS= read -r line; do
	case $line in
	"ok "*) pass "under the unit's settings: ${line#ok }"; nprobe=$((nprobe + 1)) ;;
	"bad "*) fail "under the unit's settings: ${line#bad }"; nprobe=$((nprobe + 1)) ;;
	esac
done <"$dir/probe.out"
if [ "$nprobe" -ne 8 ]; then
	fail "the probe under the unit's settings reported $nprobe of 8 results"
fi

# ---------------------------------------------------------------- the daemon, as the unit runs it

# The README's one-rule policy, with user nobody instead of www-data.
# shellcheck disable=SC2016 # regular expressions, not expansions
sed -n '/^## Policy/,/^## /p' "$SRCDIR/README.md" |
	sed -n '/^```json$/,/^```$/p' | sed '1d;$d' |
	sed 's/"www-data"/"nobody"/' >"$dir/policy.json"
chmod 0644 "$dir/policy.json"
if grep -q '"user": "nobody"' "$dir/policy.json" && grep -q '"port": 80' "$dir/policy.json"; then
	pass "the README's port-80 policy, for nobody"
else
	cp "$dir/policy.json" "$dir/out"
	fail "the README's Policy section has no port-80 rule for a user"
fi

if ldd "$inst_sbd" 2>/dev/null | grep -q libasan; then
	# LeakSanitizer stops the threads with ptrace, which the filter refuses;
	# leaks are the other tests' business.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	export ASAN_OPTIONS
	echo "# a sanitizer build: leak detection off for the daemon under the filter"
fi
real_sbd=$SBD
SBD=$dir/sbd-unit
sbd_start --policy "$dir/policy.json"
SBD=$real_sbd

# The daemon's own view of what it runs with.
caps_mask=$("$py" -c '
import subprocess, sys
names = subprocess.run(["setpriv", "--list-caps"], capture_output=True, text=True, check=True).stdout.split()
m = 0
for c in filter(None, sys.argv[1].split(",")):
    m |= 1 << names.index(c)
print("%016x" % m)' "$unit_caps")
status_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }
for field in CapBnd CapEff CapPrm; do
	got=$(status_of "$field")
	if [ "$got" = "$caps_mask" ]; then
		pass "the daemon's $field is the unit's CapabilityBoundingSet= ($got)"
	else
		fail "the daemon's $field is $got, the unit's CapabilityBoundingSet= is $caps_mask ($unit_caps)"
	fi
done
for field in CapInh CapAmb; do
	got=$(status_of "$field")
	if [ "$got" = 0000000000000000 ]; then pass "the daemon's $field is empty"; else fail "the daemon's $field is $got"; fi
done
if [ "$(status_of NoNewPrivs)" = 1 ]; then pass "the daemon has no_new_privs"; else fail "the daemon lacks no_new_privs"; fi
if [ "$(status_of Seccomp)" = 2 ]; then pass "the daemon runs under a seccomp filter"; else fail "the daemon has no seccomp filter"; fi
want_uid=$(id -u "$unit_user")
if [ "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "/proc/$daemon_pid/status")" = "$want_uid$want_uid$want_uid$want_uid" ]; then
	pass "the daemon runs as User=$unit_user"
else
	fail "the daemon does not run as User=$unit_user ($(grep '^Uid:' "/proc/$daemon_pid/status"))"
fi

# ---------------------------------------------------------------- the README's case, as nobody

sbctl_for_others

rc=0
as_nobody "$sbctl_other" --socket "$sock" --json whoami >"$dir/out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && "$py" -c '
import json, os, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d.get("uid") == 65534 and d.get("exe") == os.path.realpath(sys.argv[2]) else 1)' \
	"$dir/out" "$dir/bin/sockbrokerctl" 2>"$dir/pyerr"; then
	pass "whoami as nobody: uid 65534 and its executable"
else
	cat "$dir/pyerr" >>"$dir/out" 2>/dev/null || true
	fail "whoami as nobody (exit $rc) does not show uid 65534 and exe $dir/bin/sockbrokerctl"
fi

rc=0
as_nobody "$sbctl_other" --socket "$sock" listen tcp:0.0.0.0:80 >"$dir/out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '0\.0\.0\.0:80\b' "$dir/out"; then
	pass "listen tcp:0.0.0.0:80 as nobody: $(head -n 1 "$dir/out")"
else
	fail "listen tcp:0.0.0.0:80 as nobody exited $rc"
fi
rc=0
as_nobody "$sbctl_other" --socket "$sock" listen tcp:0.0.0.0:81 >"$dir/out" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && grep -q -- '-32010' "$dir/out"; then
	pass "listen tcp:0.0.0.0:81 as nobody is refused by the policy (-32010)"
else
	fail "listen tcp:0.0.0.0:81 as nobody: exit $rc, expected 1 with -32010"
fi

# The audit log where ExecStart= and LogsDirectory= put it, seen from the
# daemon's mount namespace.
audit=/proc/$daemon_pid/root/var/log/$unit_logs_dir/audit.log
case $unit_exec_args in
*"--audit-log /var/log/$unit_logs_dir/audit.log"*)
	pass "ExecStart= writes the audit log to /var/log/$unit_logs_dir/audit.log" ;;
*) fail "ExecStart= does not pass --audit-log /var/log/$unit_logs_dir/audit.log ($unit_exec_args)" ;;
esac
if [ -f "$audit" ] && "$py" -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("decision") == "allow" and d.get("uid") == 65534 and d.get("action") == "bind" and d.get("port") == 80:
        sys.exit(0)
sys.exit(1)' "$audit" 2>"$dir/out"; then
	pass "the audit log has the allowed bind of port 80 by uid 65534"
else
	{ cat "$audit"; } >>"$dir/out" 2>&1 || true
	fail "the audit log $audit has no allowed bind of port 80 by uid 65534"
fi
mode=$(stat -c %a "$audit" 2>/dev/null || echo none)
if [ "$mode" = 600 ]; then
	pass "the audit log is 0600 (UMask=$unit_umask)"
else
	fail "the audit log's mode is $mode, not 600 (UMask=$unit_umask)"
fi

sbd_stop

echo "1..$checks"
echo "# $checks checks, $failures failed"
[ "$failures" -eq 0 ]
