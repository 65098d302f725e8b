#!/usr/bin/env python3
"""Emulate what systemd applies from sockbrokerd.service, for tests/it_unit_caps.sh.

  unit-sandbox.py parse UNIT SYSCALLS-OUT
      reads the [Service] section of UNIT (an installed unit file) and prints
      shell assignments (unit_user, unit_caps, ...) of the settings the test
      applies; SystemCallFilter= is expanded as systemd does (an allow list
      starts from @default; "~" lines take out; groups through
      `systemd-analyze syscall-filter`) into SYSCALLS-OUT, one name a line.
      A setting it cannot read exactly is an error, never a guess.
  unit-sandbox.py seccomp-exec SYSCALLS ERRNO PROGRAM [ARGS...]
      loads a seccomp filter that allows the listed system calls and fails
      every other one with ERRNO (SystemCallErrorNumber=), then execs PROGRAM.
      Needs the python3-seccomp bindings (libseccomp).
"""

import errno
import os
import shlex
import subprocess
import sys

# Settings the emulation reads; each is applied by it_unit_caps.sh.
KEYS = ("User", "Group", "CapabilityBoundingSet", "AmbientCapabilities", "NoNewPrivileges",
        "UMask", "SystemCallFilter", "SystemCallErrorNumber", "ProtectProc", "ProcSubset",
        "ReadOnlyPaths", "ProtectSystem", "ProtectHome", "LogsDirectory", "LogsDirectoryMode", "ExecStart")


def fail(msg):
    sys.stderr.write("unit-sandbox.py: %s\n" % msg)
    sys.exit(2)


def service_section(path):
    """Key -> list of values, in order, of the [Service] section (continuations joined)."""
    out, section, pending = {}, None, ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if pending:
            line = pending + " " + line.lstrip()
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1]
            continue
        if section != "Service" or "=" not in s:
            continue
        k, v = s.split("=", 1)
        out.setdefault(k.strip(), []).append(v.strip())
    return out


def caps(values, key):
    """A capability list as setpriv takes it (net_raw,setuid); systemd merges lines."""
    names = []
    for v in values:
        if v == "":
            names = []
            continue
        if v.startswith("~"):
            fail("%s=~... (an inverted set) is not emulated" % key)
        for c in v.split():
            c = c.lower()
            if not c.startswith("cap_"):
                fail("%s: %r is not a capability name" % (key, c))
            if c[4:] not in names:
                names.append(c[4:])
    return names


def group_members(name, seen):
    """The system calls of a @group, nested groups expanded."""
    if name in seen:
        return set()
    seen.add(name)
    r = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True)
    if r.returncode != 0:
        fail("systemd-analyze syscall-filter %s: %s" % (name, r.stderr.strip()))
    out = set()
    for line in r.stdout.splitlines()[1:]:
        t = line.strip()
        if not t or t.startswith("#"):
            continue
        out |= group_members(t, seen) if t.startswith("@") else {t}
    return out


def expand(token):
    return group_members(token, set()) if token.startswith("@") else {token}


def syscall_filter(values):
    """The allowed system calls, as systemd's config_parse_syscall_filter builds them."""
    allowed = None
    for v in values:
        if v == "":
            allowed = None
            continue
        invert = v.startswith("~")
        if invert:
            v = v[1:]
        if allowed is None:
            if invert:
                fail("SystemCallFilter=~... first (a deny list) is not emulated")
            # An allow list always admits @default.
            allowed = set(group_members("@default", set()))
        for tok in v.split():
            if invert:
                allowed -= expand(tok)
            else:
                allowed |= expand(tok)
    return allowed


def parse(unit, out_path):
    svc = service_section(unit)
    def one(key, default=""):
        vals = svc.get(key, [])
        return vals[-1] if vals else default
    exec_start = svc.get("ExecStart", [])
    if len(exec_start) != 1:
        fail("expected one ExecStart=, found %d" % len(exec_start))
    argv = shlex.split(exec_start[0].lstrip("-@:+!"))
    allowed = syscall_filter(svc.get("SystemCallFilter", []))
    with open(out_path, "w") as f:
        # "*": no SystemCallFilter=, every system call allowed.
        f.write("\n".join(sorted(allowed)) + "\n" if allowed is not None else "*\n")
    ro = " ".join(svc.get("ReadOnlyPaths", [])).split()
    if svc.get("ReadWritePaths") or svc.get("InaccessiblePaths"):
        fail("ReadWritePaths=/InaccessiblePaths= are not emulated")
    nnp = one("NoNewPrivileges", "no").lower()
    if nnp not in ("yes", "no", "true", "false", "1", "0", "on", "off"):
        fail("NoNewPrivileges=%s" % nnp)
    assign = {
        "unit_user": one("User", "root"),
        "unit_group": one("Group"),
        "unit_caps": ",".join(caps(svc.get("CapabilityBoundingSet", []), "CapabilityBoundingSet")),
        "unit_ambient": ",".join(caps(svc.get("AmbientCapabilities", []), "AmbientCapabilities")),
        "unit_nnp": "yes" if nnp in ("yes", "true", "1", "on") else "no",
        "unit_umask": one("UMask", "0022"),
        "unit_errno": one("SystemCallErrorNumber"),
        "unit_protect_proc": one("ProtectProc", "default"),
        "unit_proc_subset": one("ProcSubset", "all"),
        "unit_proc_ro": "yes" if "/proc" in ro else "no",
        "unit_protect_system": one("ProtectSystem", "no"),
        "unit_protect_home": one("ProtectHome", "no"),
        "unit_logs_dir": one("LogsDirectory"),
        "unit_logs_mode": one("LogsDirectoryMode", "0755"),
        "unit_exec": argv[0],
        "unit_exec_args": " ".join(shlex.quote(a) for a in argv[1:]),
        "unit_syscalls": str(len(allowed)) if allowed is not None else "all",
    }
    for k, v in assign.items():
        print("%s=%s" % (k, shlex.quote(v)))


def seccomp_exec(listfile, errname, argv):
    names = open(listfile).read().split()
    if names == ["*"]:
        os.execvp(argv[0], argv)
    import seccomp  # python3-seccomp
    code = getattr(errno, errname, None)
    if code is None:
        fail("unknown errno name %r" % errname)
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(code))
    for name in names:
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            # Not a system call of this architecture (setfsuid32 on x86-64):
            # systemd skips those too.
            pass
    f.load()
    os.execvp(argv[0], argv)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "parse":
        parse(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == "seccomp-exec":
        seccomp_exec(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        fail("usage: parse UNIT SYSCALLS-OUT | seccomp-exec SYSCALLS ERRNO PROGRAM [ARGS...]")


if __name__ == "__main__":
    main()
