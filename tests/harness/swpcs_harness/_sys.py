"""Host-side primitives: processes, mounts, cgroups, namespaces.

Everything here touches only things the harness made: PIDs it started (checked by start time),
mounts under its own base directory, cgroups under its own prefix.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

CGROUP_HIERARCHIES = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")

# capabilities(7) in bit order, as setpriv(1) names them.
CAP_NAMES = (
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
    "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
    "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
    "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
    "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
    "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
)


class HarnessError(RuntimeError):
    """Something in the harness itself went wrong (not a failed command in a node)."""


def tool(name: str) -> str:
    path = shutil.which(name, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    if not path:
        raise HarnessError(f"required host tool {name!r} not found (install iproute2, nftables, "
                           "util-linux, systemd-container)")
    return path


def host(argv: list[str], *, input: str | bytes | None = None, check: bool = True,
         timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a host command, text output. Raises HarnessError with stderr on failure."""
    text = not isinstance(input, bytes)
    r = subprocess.run(argv, input=input, capture_output=True, text=text, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and r.returncode != 0:
        err = r.stderr if text else r.stderr.decode(errors="replace")
        raise HarnessError(f"command failed (rc={r.returncode}): {' '.join(argv)}\n{err.strip()}")
    return r


# ---------------------------------------------------------------- processes

def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, starttime) of a process, None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def alive(pid: int | None, starttime: int | None = None) -> bool:
    """True if pid runs (zombies and dead count as gone; this host reaps late)."""
    if not pid:
        return False
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X", "x"):
        return False
    return starttime is None or st[2] == starttime


def same_process(pid: int | None, starttime: int | None) -> bool:
    """pid still names the process we recorded (alive or zombie)."""
    if not pid:
        return False
    st = proc_stat(pid)
    return st is not None and (starttime is None or st[2] == starttime)


def starttime(pid: int) -> int | None:
    st = proc_stat(pid)
    return st[2] if st else None


def comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def ns_id(pid: int | str, kind: str = "pid") -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def nspid_is_init(pid: int) -> bool:
    """True if pid is PID 1 of a PID namespace below ours."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                ids = line.split()[1:]
                return len(ids) > 1 and ids[-1] == "1"
    except OSError:
        pass
    return False


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                out += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def cap_bounding_names(pid: int) -> str:
    """The capability bounding set of pid in setpriv --bounding-set syntax."""
    mask = None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
    if mask is None:
        raise HarnessError(f"no CapBnd for pid {pid}")
    keep = [f"+{name}" for bit, name in enumerate(CAP_NAMES) if mask & (1 << bit)]
    return ",".join(["-all"] + keep)


def wait_gone(pid: int, timeout: float, popen: subprocess.Popen | None = None,
              start: int | None = None) -> bool:
    """Wait until pid is dead (reaping it when we are its parent). True if gone in time."""
    deadline = time.monotonic() + timeout
    while True:
        if popen is not None:
            if popen.poll() is not None:
                return True
        elif not alive(pid, start):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def kill(pid: int, sig: int, start: int | None = None) -> bool:
    """Send sig to pid only if it is still the process we started (start time matches)."""
    if start is not None and not same_process(pid, start):
        return False
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def pids_in_pidns_of(pid1: int) -> list[int]:
    """All processes in the PID namespace whose init is pid1."""
    target = ns_id(pid1)
    out = []
    if not target:
        return out
    for name in os.listdir("/proc"):
        if name.isdigit() and ns_id(name) == target:
            out.append(int(name))
    return out


def memory_of(pids: list[int]) -> dict:
    """Sum of RSS and PSS (KiB) over pids, from smaps_rollup."""
    rss = pss = 0
    n = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        n += 1
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return {"processes": n, "rss_kib": rss, "pss_kib": pss}


# ---------------------------------------------------------------- mounts

def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def mounts() -> list[tuple[str, str]]:
    """(mount point, fstype) of this mount namespace, in mount order."""
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            res.append((_unescape(parts[4]), parts[sep + 1]))
    return res


def mounts_under(path: str | Path) -> list[str]:
    """Mount points at or below path, deepest/latest first (the order to unmount them)."""
    p = str(path).rstrip("/")
    found = [m for m, _ in mounts() if m == p or m.startswith(p + "/")]
    return list(reversed(found))


def is_mountpoint(path: str | Path) -> bool:
    p = str(path).rstrip("/")
    return any(m == p for m, _ in mounts())


def umount(path: str | Path) -> None:
    r = host([tool("umount"), str(path)], check=False)
    if r.returncode != 0 and is_mountpoint(path):
        host([tool("umount"), "-l", str(path)], check=False)


def umount_all_under(path: str | Path) -> None:
    for _ in range(3):
        left = mounts_under(path)
        if not left:
            return
        for m in left:
            umount(m)


# ---------------------------------------------------------------- cgroups

def cgroup_roots(prefix: str) -> list[Path]:
    return [Path(h) / prefix for h in CGROUP_HIERARCHIES]


def cgroup_pids(root: Path) -> set[int]:
    pids: set[int] = set()
    if not root.is_dir():
        return pids
    for dirpath, _dirs, _files in os.walk(root):
        try:
            pids |= {int(x) for x in Path(dirpath, "cgroup.procs").read_text().split()}
        except OSError:
            pass
    return pids


def rmdir_tree(root: Path, keep_root: bool = False) -> bool:
    """Remove a cgroup directory tree bottom-up. True if everything went."""
    if not root.is_dir():
        return True
    ok = True
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -t[0].count("/")):
        if keep_root and Path(dirpath) == root:
            continue
        for attempt in range(50):
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY or attempt == 49:
                    ok = False
                    break
                time.sleep(0.02)
    return ok
