"""Real multi-node clusters on one machine: systemd booted by systemd-nspawn on overlay roots.

See /work/shared/notes/container-cluster.md for the recipe this follows. Layout on the host, for prefix P:

  /mnt/P/                 tmpfs holding everything below (one umount cleans it)
  /mnt/P/state.json       what is running (PIDs with start times), faults; lets `scripts/cluster` attach
  /mnt/P/nI/{upper,work}  node I's "disk" (overlay upper; the host's / is the read-only lower layer)
  /mnt/P/nI/root          node I's root (overlay mount), nI/console.log its console
  /mnt/P/net/{hub,nI}     network namespace files (hub: bridges; nI: re-made at each boot)
  /mnt/P/stage/bin        snapshot of the binaries under test -> node /opt/swpcs-harness/bin (read-only)
  /mnt/P/hook             -> node /run/swpcs-harness (rw): fence requests `poweroff-nK` etc.
  /sys/fs/cgroup/{unified,systemd}/P/nI   one cgroup per nspawn
  /run/swpcs-harness-P.lock               held by the process that owns the cluster
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import fnmatch
import json
import logging
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from . import _sys
from ._sys import HarnessError
from .network import Network, addr

log = logging.getLogger("swpcs_harness")

REPO = Path(__file__).resolve().parents[3]
STAGE_IN_NODE = "/opt/swpcs-harness"
HOOK_IN_NODE = "/run/swpcs-harness"
NSPAWN_RUN = Path("/run/systemd/nspawn")
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NODE_ENV = {"PATH": NODE_PATH, "HOME": "/root", "USER": "root", "LOGNAME": "root", "LANG": "C.UTF-8",
            "TERM": "dumb", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "SYSTEMD_LESS": ""}

# Host units that must never run in nodes (masked there). Everything the host enables in
# /etc/systemd/system/*.wants is additionally hidden by whiteouts, so nodes boot only the static base.
DENY_UNITS = (
    "docker*", "containerd*", "podman*", "ssh*", "cron*", "anacron*", "atd.*", "postgresql*", "mysql*",
    "mariadb*", "redis*", "nginx*", "apache2*", "corosync*", "pacemaker*", "pcsd*", "crm_mon*", "sbd*",
    "dlm*", "logd*", "apt-daily*", "man-db*", "dpkg-db-backup*", "e2scrub*", "fstrim*",
    "unattended-upgrades*", "packagekit*", "console-getty.service", "getty@*", "serial-getty@*",
    "systemd-networkd*", "systemd-resolved*", "systemd-timesyncd*", "NetworkManager*", "wpa_supplicant*",
    "avahi*", "cups*", "snapd*", "systemd-pstore*", "var-lib-machines.mount",
)
HOST_UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/usr/local/lib/systemd/system")
FENCE_RE = re.compile(r"(poweroff|poweron|reboot)-n(\d+)")


def default_base() -> Path:
    return Path(os.environ.get("SWPCS_HARNESS_BASE", "/mnt"))


# ============================================================================ install spec

@dataclass
class InstallSpec:
    """What to install into every node, the way a package would.

    bin_dir/binaries: executables (e.g. the build output) snapshotted once into a staging dir that is
      bind-mounted read-only at /opt/swpcs-harness/bin; /usr/sbin/NAME links there. None = every
      executable without a dot in its name in bin_dir (plus lib*.so* next to them, for $ORIGIN rpaths).
    units_dir: unit files (and *.d drop-in dirs) copied to /usr/lib/systemd/system.
    conf_text -> /etc/swpcs/cluster.conf (0644); authkey -> /etc/swpcs/authkey (0400).
    files: extra node path -> content or (content, mode).
    groups: system groups to create. enable: units to enable (offline, before first boot).
    """
    bin_dir: str | os.PathLike | None = None
    binaries: Sequence[str] | None = None
    units_dir: str | os.PathLike | None = None
    conf_text: str | None = None
    authkey: bytes | None = None
    files: Mapping[str, str | bytes | tuple] = field(default_factory=dict)
    groups: Sequence[str] = ("haclient",)
    enable: Sequence[str] = ()
    sbin_dir: str = "/usr/sbin"
    unit_dir: str = "/usr/lib/systemd/system"

    @classmethod
    def from_repo(cls, **kw) -> "InstallSpec":
        """This repository's build as a package would install it: the executable products declared in
        Package.swift from $SWPCS_BIN_DIR (default .build/debug), units/ as unit files. kw overrides."""
        bin_dir = Path(os.environ.get("SWPCS_BIN_DIR", REPO / ".build" / "debug"))
        products = re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', (REPO / "Package.swift").read_text())
        missing = [p for p in products if not (bin_dir / p).is_file()]
        if missing:
            raise HarnessError(f"not built: {', '.join(missing)} (in {bin_dir}; run swift build)")
        kw.setdefault("authkey", os.urandom(256))
        kw.setdefault("units_dir", REPO / "units")
        return cls(bin_dir=bin_dir, binaries=products, **kw)


class NodeCommandError(subprocess.CalledProcessError):
    def __init__(self, node: str, returncode, cmd, output=None, stderr=None):
        super().__init__(returncode, cmd, output, stderr)
        self.node = node

    def __str__(self):
        return (f"[{self.node}] command {self.cmd!r} exited {self.returncode}\n"
                f"--- stdout\n{(self.output or '')[-4000:]}\n--- stderr\n{(self.stderr or '')[-4000:]}")


# ============================================================================ node

class Node:
    """One container node. Commands run in all its namespaces with its capability bounding set."""

    def __init__(self, cluster: "Cluster", index: int):
        self.cluster = cluster
        self.index = index
        self.name = self.hostname = f"n{index}"
        self.machine = f"{cluster.prefix}-n{index}"
        self.dir = cluster.base / self.name
        self.upper, self.work, self.root = self.dir / "upper", self.dir / "work", self.dir / "root"
        self.console_log = self.dir / "console.log"
        self.popen: subprocess.Popen | None = None
        self.nspawn_pid: int | None = None
        self.nspawn_start: int | None = None
        self.pid1: int | None = None
        self.pid1_start: int | None = None
        self.caps: str | None = None
        self.boots = 0
        self.prepared = False
        self.lock_name: str | None = None
        self.failed_units: list[str] = []
        self.system_state: str | None = None
        self.booted_at: float | None = None

    def __repr__(self):
        return f"<Node {self.name} {'running' if self.running else 'off'} pid1={self.pid1}>"

    # state ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return _sys.alive(self.pid1, self.pid1_start)

    def addr(self, link: int = 0) -> str:
        return addr(self.index, link)

    def _pid1(self) -> int:
        if not self.running:
            raise HarnessError(f"{self.name} is not running")
        return self.pid1  # type: ignore[return-value]

    def to_state(self) -> dict:
        return {k: getattr(self, k) for k in ("nspawn_pid", "nspawn_start", "pid1", "pid1_start", "caps",
                                               "boots", "prepared", "lock_name", "booted_at")}

    def from_state(self, d: dict) -> None:
        for k, v in d.items():
            setattr(self, k, v)

    # commands ---------------------------------------------------------------------------------
    def command(self, cmd: Sequence[str] | str) -> list[str]:
        """The host argv that runs cmd inside this node (for Popen by hand)."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
        pid1 = self._pid1()
        return [self.cluster._nsenter, "-t", str(pid1), "-a", "-r", "-w",
                "/usr/bin/setpriv", f"--bounding-set={self.caps}", "--", *argv]

    def run(self, cmd: Sequence[str] | str, check: bool = False, timeout: float | None = 60,
            input: str | bytes | None = None, env: Mapping[str, str] | None = None
            ) -> subprocess.CompletedProcess:
        """Run cmd (argv list, or a string for /bin/sh -c) in the node; stdout/stderr as text
        (bytes if input is bytes). On timeout the whole command is SIGKILLed and TimeoutExpired raised."""
        argv = self.command(cmd)
        text = not isinstance(input, bytes)
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text,
                             env={**NODE_ENV, **(env or {})}, start_new_session=True)
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = p.communicate()
            raise subprocess.TimeoutExpired(cmd, timeout, out, err) from None
        shown = cmd if isinstance(cmd, str) else list(cmd)
        if check and p.returncode != 0:
            raise NodeCommandError(self.name, p.returncode, shown, out, err)
        return subprocess.CompletedProcess(shown, p.returncode, out, err)

    def spawn(self, cmd: Sequence[str] | str, **popen_kw) -> subprocess.Popen:
        """Start cmd in the node in the background (the caller waits/kills; it dies with the node)."""
        popen_kw.setdefault("env", NODE_ENV)
        popen_kw.setdefault("stdin", subprocess.DEVNULL)
        popen_kw.setdefault("start_new_session", True)
        return subprocess.Popen(self.command(cmd), **popen_kw)

    def run_json(self, cmd: Sequence[str] | str, timeout: float | None = 60):
        return json.loads(self.run(cmd, check=True, timeout=timeout).stdout)

    def systemctl(self, *args: str, check: bool = True, timeout: float | None = 60):
        return self.run(["systemctl", *args], check=check, timeout=timeout)

    def wait_for(self, cmd: Sequence[str] | str, timeout: float = 10, interval: float = 0.05
                 ) -> subprocess.CompletedProcess:
        """Re-run cmd until it exits 0; raise TimeoutError with the last output otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.run(cmd, timeout=max(1.0, deadline - time.monotonic()))
            if r.returncode == 0:
                return r
            if time.monotonic() >= deadline:
                raise TimeoutError(f"[{self.name}] {cmd!r} still failing after {timeout}s: "
                                   f"{(r.stdout + r.stderr).strip()[-2000:]}")
            time.sleep(interval)

    # files ------------------------------------------------------------------------------------
    def write_file(self, path: str, data: str | bytes, mode: int = 0o644, owner: str | None = None) -> None:
        """Atomically write a file in the running node (parents created)."""
        if isinstance(data, str):
            data = data.encode()
        script = ('set -e; d=$(dirname "$1"); mkdir -p "$d"; t="$1.harness.$$"; cat > "$t"; '
                  'chmod "$2" "$t"; if [ -n "$3" ]; then chown "$3" "$t"; fi; mv -f "$t" "$1"')
        r = self.run(["/bin/sh", "-c", script, "sh", path, f"{mode:o}", owner or ""], input=data)
        if r.returncode != 0:
            raise HarnessError(f"[{self.name}] write_file {path}: {r.stderr.decode(errors='replace')}")

    def read_file(self, path: str, binary: bool = False) -> str | bytes:
        r = self.run(["cat", "--", path], input=b"")
        if r.returncode != 0:
            raise FileNotFoundError(errno.ENOENT, f"[{self.name}] {r.stderr.decode(errors='replace').strip()}",
                                    path)
        return r.stdout if binary else r.stdout.decode()

    def exists(self, path: str) -> bool:
        return self.run(["test", "-e", path]).returncode == 0

    # observation ------------------------------------------------------------------------------
    def ping(self, target: "int | str | Node", link: int = 0, timeout: float = 1.0) -> float | None:
        """ICMP echo from this node's network namespace: RTT in ms, or None if nothing came back."""
        if isinstance(target, Node):
            target = target.addr(link)
        elif isinstance(target, int):
            target = addr(target, link)
        return self.cluster.net.ping(self.index, target, timeout=timeout)

    def journal(self, unit: str | None = None, lines: int | None = None, boot: bool = False) -> str:
        args = ["journalctl", "--no-pager", "-o", "short-precise"]
        if unit:
            args += ["-u", unit]
        if lines:
            args += ["-n", str(lines)]
        if boot:
            args += ["-b"]
        return self.run(args, timeout=30).stdout

    def memory(self) -> dict:
        """RSS/PSS (KiB) of every process of the node (its PID namespace)."""
        return _sys.memory_of(_sys.pids_in_pidns_of(self._pid1()))

    def disk_usage_kib(self) -> int:
        total = 0
        for dirpath, _d, files in os.walk(self.upper):
            for f in files:
                try:
                    total += os.lstat(os.path.join(dirpath, f)).st_blocks // 2
                except OSError:
                    pass
        return total


# ============================================================================ cluster

class Cluster:
    """N systemd nodes with 1 or 2 links and fault injection. Use as a context manager."""

    def __init__(self, nodes: int = 3, links: int = 2, prefix: str = "swt",
                 install: InstallSpec | None = None, *, base_dir: str | os.PathLike | None = None,
                 ipv6: bool = False, capabilities: Sequence[str] = ("CAP_NET_ADMIN", "CAP_IPC_LOCK"),
                 mask: Sequence[str] = (), fence_hook: bool = True, boot_timeout: float = 60,
                 stop_timeout: float = 30, nspawn_args: Sequence[str] = (), keep: bool | None = None,
                 static_arp: bool = True):
        if not re.fullmatch(r"[a-z][a-z0-9]{0,7}", prefix):
            raise ValueError("prefix: 1-8 lowercase letters/digits, starting with a letter")
        if not 1 <= nodes <= 32:
            raise ValueError("nodes must be 1..32")
        self.prefix, self.n, self.links = prefix, nodes, links
        self.install = install or InstallSpec()
        self.base = Path(base_dir or default_base()) / prefix
        self.ipv6, self.capabilities, self.mask = ipv6, tuple(capabilities), tuple(mask)
        self.fence_hook, self.boot_timeout, self.stop_timeout = fence_hook, boot_timeout, stop_timeout
        self.nspawn_args = tuple(nspawn_args)
        self.keep = keep if keep is not None else os.environ.get("SWPCS_HARNESS_KEEP") == "1"
        self.static_arp = static_arp
        self.net = Network(prefix, self.base, nodes, links, ipv6, static_arp)
        self.nodes = [Node(self, i) for i in range(1, nodes + 1)]
        self.blocked: set[tuple[int, int, int]] = set()
        self.loss: dict[tuple[int, int, str], float] = {}
        self.netem_specs: dict[tuple[int, int, str], str] = {}
        self.events: list[tuple[float, str, str]] = []
        self.fence_log: list[dict] = []
        self.boot_seconds: float | None = None
        self._lock = threading.RLock()
        self._lockfd: int | None = None
        self._opened = self._closed = False
        self._owner = True
        self._fence_thread: threading.Thread | None = None
        self._fence_stop = threading.Event()
        self._old_handlers: dict[int, object] = {}
        self._nspawn, self._nsenter = _sys.tool("systemd-nspawn"), _sys.tool("nsenter")
        self.stage = self.base / "stage"
        self.hook = self.base / "hook"
        self.lock_path = lock_path(prefix)

    # ------------------------------------------------------------------ context
    def __enter__(self) -> "Cluster":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        return iter(self.nodes)

    def node(self, which: "int | str | Node") -> Node:
        return self.nodes[self._idx(which) - 1]

    def _idx(self, which: "int | str | Node") -> int:
        if isinstance(which, Node):
            return which.index
        if isinstance(which, str):
            which = int(which.lstrip("n"))
        if not 1 <= which <= self.n:
            raise HarnessError(f"no node {which}; nodes are n1..n{self.n}")
        return which

    def addr(self, which, link: int = 0) -> str:
        return addr(self._idx(which), link)

    def _event(self, what: str, node: str = "", t: float | None = None) -> float:
        t = time.time() if t is None else t
        self.events.append((t, what, node))
        log.info("%s %s", what, node)
        return t

    # ------------------------------------------------------------------ open / close
    def open(self) -> "Cluster":
        if self._opened:
            return self
        problems = Network.env_ok()
        if problems:
            raise HarnessError("; ".join(problems))
        self._check_limits()
        self._acquire_lock()
        self._opened = True
        atexit.register(self.close)
        self._install_signal_handlers()
        try:
            report = cleanup_prefix(self.prefix, self.base.parent)
            if any(report.values()):
                log.warning("cleaned leftovers of an earlier run: %s", report)
            self.base.mkdir(parents=True, exist_ok=True)
            _sys.host([_sys.tool("mount"), "-t", "tmpfs", "-o", "mode=0755", f"{self.prefix}-harness",
                       str(self.base)])
            (self.base / "net").mkdir()
            self.hook.mkdir(mode=0o1777)
            os.chmod(self.hook, 0o1777)
            self._stage_binaries()
            self.net.setup_hub()
            for root in _sys.cgroup_roots(self.prefix):
                root.mkdir(exist_ok=True)
            self._save_state()
            if self.fence_hook:
                self._start_fence_watcher()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Tear everything down: kill nodes, unmount, remove namespaces, cgroups, locks. Idempotent."""
        if not self._opened or self._closed:
            return
        self._closed = True
        blocked = self._block_signals()
        try:
            self._stop_fence_watcher()
            if self.keep:
                self._save_state()
                log.warning("SWPCS_HARNESS_KEEP=1: leaving cluster %s up (scripts/cluster --prefix %s down)",
                            self.prefix, self.prefix)
                return
            if not self._owner:
                return
            with self._lock:
                for n in self.nodes:          # power off everything at once, then wait
                    if n.running:
                        _sys.kill(n.pid1, signal.SIGKILL, n.pid1_start)
                for n in self.nodes:
                    if n.nspawn_pid:
                        _sys.wait_gone(n.nspawn_pid, 10, n.popen, n.nspawn_start)
                report = cleanup_prefix(self.prefix, self.base.parent, nodes=self.nodes)
                log.debug("teardown: %s", report)
        finally:
            self._release_lock()
            self._restore_signals(blocked)
            try:
                atexit.unregister(self.close)
            except Exception:
                pass

    def detach(self) -> None:
        """Leave the cluster running for another process (scripts/cluster) and let go of it."""
        self._stop_fence_watcher()
        self._save_state()
        self._closed = True
        self._release_lock()
        self._restore_signals({})
        try:
            atexit.unregister(self.close)
        except Exception:
            pass

    @classmethod
    def attach(cls, prefix: str, base_dir: str | os.PathLike | None = None, lock: bool = True) -> "Cluster":
        """Take over a cluster left running by `detach()` (e.g. `scripts/cluster up`)."""
        base = Path(base_dir or default_base()) / prefix
        try:
            st = json.loads((base / "state.json").read_text())
        except FileNotFoundError:
            raise HarnessError(f"no cluster with prefix {prefix!r} (no {base}/state.json)") from None
        c = cls(nodes=st["nodes"], links=st["links"], prefix=prefix, base_dir=base.parent, ipv6=st["ipv6"],
                capabilities=st["capabilities"], fence_hook=False, keep=False,
                static_arp=st.get("static_arp", True))
        c.blocked = {tuple(x) for x in st["blocked"]}
        c.loss = {(a, b, d): v for a, b, d, v in st["loss"]}
        c.netem_specs = {(a, b, d): v for a, b, d, v in st["netem"]}
        for n, d in zip(c.nodes, st["node_state"]):
            n.from_state(d)
        if lock:
            c._acquire_lock()
        c._opened, c._owner = True, lock
        return c

    def _check_limits(self) -> None:
        # systemd + journald + logind + dbus hold ~7 inotify instances per node, counted per host user.
        try:
            limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
        except (OSError, ValueError):
            return
        if self.n * 8 + 16 > limit:
            raise HarnessError(f"{self.n} nodes need ~{self.n * 8} inotify instances but "
                               f"fs.inotify.max_user_instances is {limit}; raise it "
                               f"(sysctl -w fs.inotify.max_user_instances=1024) or use fewer nodes")

    def _acquire_lock(self) -> None:
        self._lockfd = acquire_prefix_lock(self.prefix)

    def _release_lock(self) -> None:
        if self._lockfd is not None:
            if self._closed and not self.keep and self._owner and not self.base.exists():
                try:
                    self.lock_path.unlink()
                except FileNotFoundError:
                    pass
            os.close(self._lockfd)
            self._lockfd = None

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def _raise(signum, _frame):
            raise SystemExit(128 + signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, _raise)

    def _block_signals(self) -> dict:
        """During teardown, SIGINT/SIGTERM/SIGHUP must not interrupt the cleanup."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def _restore_signals(self, blocked: dict) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, h in {**blocked, **self._old_handlers}.items():
            signal.signal(sig, h)  # type: ignore[arg-type]
        self._old_handlers = {}

    def _save_state(self) -> None:
        if not self.base.is_dir():
            return
        st = {"prefix": self.prefix, "nodes": self.n, "links": self.links, "ipv6": self.ipv6,
              "static_arp": self.static_arp,
              "capabilities": list(self.capabilities), "owner_pid": os.getpid(),
              "blocked": sorted(self.blocked),
              "loss": [[a, b, d, v] for (a, b, d), v in sorted(self.loss.items())],
              "netem": [[a, b, d, v] for (a, b, d), v in sorted(self.netem_specs.items())],
              "node_state": [n.to_state() for n in self.nodes]}
        tmp = self.base / "state.json.tmp"
        tmp.write_text(json.dumps(st, indent=1))
        tmp.replace(self.base / "state.json")

    # ------------------------------------------------------------------ install
    def _binaries(self) -> list[Path]:
        spec = self.install
        if not spec.bin_dir:
            return []
        d = Path(spec.bin_dir)
        if spec.binaries is not None:
            files = [d / b for b in spec.binaries]
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise HarnessError(f"binaries not found: {', '.join(missing)}")
            return files
        out = []
        for f in sorted(d.iterdir()):
            if not f.is_file():
                continue
            if ("." not in f.name and os.access(f, os.X_OK)) or re.fullmatch(r"lib.*\.so(\..*)?", f.name):
                out.append(f)
        return out

    def _stage_binaries(self) -> list[str]:
        """Snapshot the binaries under test (a rebuild on the host during the test can't touch them)."""
        bindir = self.stage / "bin"
        bindir.mkdir(parents=True, exist_ok=True)
        names = []
        for f in self._binaries():
            tmp = bindir / f".{f.name}.tmp"
            shutil.copy2(f, tmp)
            tmp.replace(bindir / f.name)
            names.append(f.name)
        return names

    def restage(self) -> list[str]:
        """Copy the binaries again (e.g. after a rebuild); running nodes see them at the next exec."""
        with self._lock:
            return self._stage_binaries()

    def _write_upper(self, n: Node, node_path: str, data: str | bytes, mode: int = 0o644) -> None:
        """Write a file into a node's disk before its first boot (overlay not yet mounted)."""
        if not node_path.startswith("/"):
            raise ValueError(f"node path must be absolute: {node_path}")
        if re.match(r"/(run|tmp|proc|sys|dev)(/|$)", node_path):
            raise HarnessError(f"{node_path}: /run, /tmp, /proc, /sys, /dev are not on a node's disk")
        # The lower layer is the host's /, so resolve directory symlinks (/lib -> usr/lib) the same way.
        parent = os.path.realpath(os.path.dirname(node_path))
        self._write_at(Path(str(n.upper) + parent) / os.path.basename(node_path), data, mode)

    @staticmethod
    def _write_at(path: Path, data: str | bytes, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        path.write_bytes(data)
        os.chmod(path, mode)

    def _hosts_text(self) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", ""]
        for i in range(1, self.n + 1):
            lines.append(f"{addr(i, 0)}\tn{i}")
        if self.links > 1:
            for i in range(1, self.n + 1):
                lines.append(f"{addr(i, 1)}\tn{i}-l1")
        return "\n".join(lines) + "\n"

    def _prepare_node(self, n: Node) -> None:
        """First boot only: build the node's disk (upper layer) and mount its root."""
        for d in (n.upper, n.work, n.root):
            d.mkdir(parents=True, exist_ok=True)
        def w(path, data, mode=0o644):
            self._write_upper(n, path, data, mode)

        w("/etc/hostname", n.hostname + "\n")
        w("/etc/hosts", self._hosts_text())
        # No DNS in nodes: fail lookups at once instead of asking the host's resolver.
        w("/etc/resolv.conf", "# swpcs harness: no DNS in test nodes\nnameserver 127.0.0.1\n"
                              "options timeout:1 attempts:1\n")
        w("/etc/machine-id", Path("/proc/sys/kernel/random/uuid").read_text().strip().replace("-", "") + "\n",
          0o444)
        w("/etc/systemd/journald.conf.d/50-harness.conf",
          "[Journal]\nStorage=persistent\nSystemMaxUse=32M\nRuntimeMaxUse=16M\n")
        # Host units enabled via /etc/systemd/system/*.wants|*.requires: hide them (whiteouts).
        for wants in Path("/etc/systemd/system").glob("*.wants"):
            self._whiteout_dir_entries(n, wants)
        for req in Path("/etc/systemd/system").glob("*.requires"):
            self._whiteout_dir_entries(n, req)
        # Heavy or outward-reaching host units: mask.
        patterns = DENY_UNITS + self.mask
        masked = set()
        for d in HOST_UNIT_DIRS:
            if os.path.isdir(d):
                for name in os.listdir(d):
                    if any(fnmatch.fnmatchcase(name, p) for p in patterns) and not os.path.isdir(
                            os.path.join(d, name)):
                        masked.add(name)
        masked |= {m for m in self.mask if "*" not in m and "?" not in m}
        etc_sys = n.upper / "etc/systemd/system"
        etc_sys.mkdir(parents=True, exist_ok=True)
        for name in sorted(masked):
            link = etc_sys / name
            if not link.is_symlink():
                link.symlink_to("/dev/null")
        self._install(n)
        _sys.host([_sys.tool("mount"), "-t", "overlay", f"{self.prefix}-{n.name}", "-o",
                   f"lowerdir=/,upperdir={n.upper},workdir={n.work}", str(n.root)])
        st = os.stat(n.root)
        n.lock_name = f"inode-{st.st_dev}:{st.st_ino}"
        if self.install.enable:
            _sys.host([_sys.tool("systemctl"), f"--root={n.root}", "enable", *self.install.enable])
        n.prepared = True

    def _whiteout_dir_entries(self, n: Node, d: Path) -> None:
        target = n.upper / str(d).lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        for entry in d.iterdir():
            wo = target / entry.name
            if not os.path.lexists(wo):
                os.mknod(wo, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def _install(self, n: Node) -> None:
        spec = self.install

        def w(path, data, mode=0o644):
            self._write_upper(n, path, data, mode)

        for f in self._binaries():
            if "." in f.name:      # shared libraries stay next to the executables
                continue
            # Like the package: daemons in sbin_dir, the CLI also in /usr/bin (swpcs-admin.service
            # runs /usr/bin/swpcs).
            dirs = [spec.sbin_dir] + (["/usr/bin"] if f.name == "swpcs" else [])
            for d in dirs:
                link = Path(str(n.upper) + os.path.realpath(d)) / f.name
                link.parent.mkdir(parents=True, exist_ok=True)
                if os.path.lexists(link):
                    link.unlink()
                link.symlink_to(f"{STAGE_IN_NODE}/bin/{f.name}")
        if spec.units_dir:
            src = Path(spec.units_dir)
            dst = Path(str(n.upper) + os.path.realpath(spec.unit_dir))
            for f in sorted(src.iterdir()):
                if f.is_dir() and f.name.endswith(".d"):
                    for g in f.iterdir():
                        if g.is_file():
                            self._write_at(dst / f.name / g.name, g.read_bytes(), 0o644)
                elif f.is_file() and re.search(r"\.(service|socket|target|timer|path|mount|slice)$", f.name):
                    self._write_at(dst / f.name, f.read_bytes(), 0o644)
        if spec.conf_text is not None:
            w("/etc/swpcs/cluster.conf", spec.conf_text, 0o644)
        if spec.authkey is not None:
            w("/etc/swpcs/authkey", spec.authkey, 0o400)
        for path, content in spec.files.items():
            if isinstance(content, tuple):
                w(path, content[0], content[1])
            else:
                w(path, content)
        for g in spec.groups:
            self._add_group(n, g)

    def _add_group(self, n: Node, name: str) -> None:
        def current(rel: str) -> str:
            up = n.upper / rel
            return up.read_text() if up.exists() else Path("/" + rel).read_text()

        group = current("etc/group")
        entries = [ln.split(":") for ln in group.splitlines() if ln.count(":") >= 3]
        if any(e[0] == name for e in entries):
            return
        used = {int(e[2]) for e in entries if e[2].isdigit()}
        gid = 189 if 189 not in used else next(g for g in range(999, 100, -1) if g not in used)
        self._write_at(n.upper / "etc/group", group.rstrip("\n") + f"\n{name}:x:{gid}:\n", 0o644)
        try:
            gshadow = current("etc/gshadow")
            self._write_at(n.upper / "etc/gshadow", gshadow.rstrip("\n") + f"\n{name}:!::\n", 0o640)
            shutil.chown(n.upper / "etc/gshadow", group="shadow")
        except (FileNotFoundError, LookupError):
            pass

    # ------------------------------------------------------------------ lifecycle
    def boot(self, nodes: Iterable | None = None, timeout: float | None = None) -> dict:
        """Start the nodes (all by default) in parallel and wait until each one's systemd reports
        running or degraded. Returns {name: {"state", "failed", "seconds"}}."""
        which = [self.node(x) for x in nodes] if nodes is not None else list(self.nodes)
        t0 = time.monotonic()
        for n in which:
            if not n.running:
                self.start(n, wait=False)
        deadline = t0 + (timeout or self.boot_timeout)
        res = {}
        for n in which:
            res[n.name] = self._wait_ready(n, deadline)
            res[n.name]["seconds"] = round(time.monotonic() - t0, 3)
        self.boot_seconds = time.monotonic() - t0
        bad = {k: v["failed"] for k, v in res.items() if v["failed"]}
        if bad:
            log.warning("degraded nodes, failed units: %s", bad)
        return res

    def start(self, which, wait: bool = True, timeout: float | None = None) -> Node:
        """Boot a node (again): same disk, fresh /run, fresh network namespace."""
        with self._lock:
            n = self.node(which)
            if n.running:
                return n
            self._reap(n)
            if not n.prepared:
                self._prepare_node(n)
            self._clear_nspawn_leftovers(n)
            for root in _sys.cgroup_roots(self.prefix):
                _sys.rmdir_tree(root / n.name, keep_root=True)
                (root / n.name).mkdir(parents=True, exist_ok=True)
            self.net.node_up(n.index)
            for (i, k, direction), spec in self.netem_specs.items():
                if i == n.index:
                    self.net.tc_netem(i, k, spec, direction)
            self._launch(n)
            self._save_state()
        if wait:
            self._wait_ready(n, time.monotonic() + (timeout or self.boot_timeout))
        return n

    def _launch(self, n: Node) -> None:
        cgs = [str(r / n.name / "cgroup.procs") for r in _sys.cgroup_roots(self.prefix)]
        argv = [self._nspawn, "-D", str(n.root), "-b", "--register=no", "--keep-unit", "-M", n.machine,
                f"--hostname={n.hostname}", f"--network-namespace-path={self.net.netns_file(n.index)}",
                "--link-journal=no", "--console=read-only", "--resolv-conf=off", "--timezone=off",
                f"--capability={','.join(self.capabilities)}" if self.capabilities else "--capability=",
                f"--bind-ro={self.stage}:{STAGE_IN_NODE}", f"--bind={self.hook}:{HOOK_IN_NODE}",
                *self.nspawn_args]
        # Each nspawn starts from its own cgroup (else containers share payload/init.scope).
        wrapper = ['/bin/sh', '-c', 'echo $$ > "$1" && echo $$ > "$2" && shift 2 && exec "$@"', "sh", *cgs, *argv]
        console = open(n.console_log, "ab")
        console.write(f"\n==== harness: boot {n.boots + 1} of {n.name} at {time.time():.3f}\n".encode())
        console.flush()
        try:
            n.popen = subprocess.Popen(wrapper, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                       start_new_session=True, close_fds=True)
        finally:
            console.close()
        n.nspawn_pid, n.nspawn_start = n.popen.pid, _sys.starttime(n.popen.pid)
        n.pid1 = n.pid1_start = None
        n.system_state, n.failed_units = None, []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for c in _sys.children(n.nspawn_pid):
                if _sys.nspid_is_init(c) and _sys.comm(c) == "systemd":
                    n.pid1, n.pid1_start = c, _sys.starttime(c)
                    break
            if n.pid1:
                break
            if n.popen.poll() is not None:
                raise HarnessError(f"{n.name}: systemd-nspawn exited with {n.popen.returncode}:\n"
                                   + self.console_tail(n))
            time.sleep(0.005)
        if not n.pid1:
            raise HarnessError(f"{n.name}: container PID 1 did not appear:\n" + self.console_tail(n))
        n.caps = _sys.cap_bounding_names(n.pid1)
        n.boots += 1
        n.booted_at = self._event("start", n.name)

    def _wait_ready(self, n: Node, deadline: float) -> dict:
        state = ""
        while True:
            if not n.running:
                raise HarnessError(f"{n.name} died while booting:\n" + self.console_tail(n))
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError(f"{n.name} not up in time (last state {state!r}); jobs:\n"
                                   + n.run(["systemctl", "list-jobs", "--no-pager"], timeout=10).stdout)
            try:
                r = n.run(["systemctl", "is-system-running", "--wait"], timeout=left)
                state = r.stdout.strip()
            except subprocess.TimeoutExpired:
                continue
            if state in ("running", "degraded"):
                break
            if state in ("maintenance", "stopping"):
                raise HarnessError(f"{n.name} is {state}:\n" + self.console_tail(n))
            time.sleep(0.02)
        failed = []
        if state == "degraded":
            r = n.run(["systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager"])
            failed = [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip()]
        n.system_state, n.failed_units = state, failed
        return {"state": state, "failed": failed}

    def console_tail(self, which, lines: int = 40) -> str:
        n = self.node(which)
        try:
            return "\n".join(n.console_log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no console log)"

    def power_kill(self, which) -> float:
        """Power loss: SIGKILL the node's PID 1 (the kernel kills the whole node) and cut its cables.
        Returns the host time.time() of the kill."""
        with self._lock:
            n = self.node(which)
            pid1 = n._pid1()
            t = time.time()
            os.kill(pid1, signal.SIGKILL)
            self.net.cut_ports(n.index)       # its namespace outlives it (bind-mounted): silence it now
            self._event("power_kill", n.name, t)
            if not _sys.wait_gone(pid1, 5):
                raise HarnessError(f"{n.name}: PID 1 {pid1} survived SIGKILL")
            self._after_exit(n)
            return t

    def stop(self, which, timeout: float | None = None) -> None:
        """Clean shutdown (SIGTERM to nspawn: the node's systemd powers off). Power-kills on timeout."""
        with self._lock:
            n = self.node(which)
            if not n.running:
                self._after_exit(n)
                return
            self._event("stop", n.name)
            _sys.kill(n.nspawn_pid, signal.SIGTERM, n.nspawn_start)
            if not _sys.wait_gone(n.nspawn_pid, timeout or self.stop_timeout, n.popen, n.nspawn_start):
                log.warning("%s did not stop in time; power-killing", n.name)
                self.power_kill(n)
                return
            self._after_exit(n)

    def reboot(self, which, wait: bool = True) -> float:
        """power_kill + start. Returns the kill time."""
        t = self.power_kill(which)
        self.start(which, wait=wait)
        return t

    def _reap(self, n: Node) -> None:
        if n.nspawn_pid:
            if not _sys.wait_gone(n.nspawn_pid, 10, n.popen, n.nspawn_start):
                raise HarnessError(f"{n.name}: systemd-nspawn {n.nspawn_pid} still running")

    def _after_exit(self, n: Node) -> None:
        self._reap(n)
        self.net.node_down(n.index)
        self._clear_nspawn_leftovers(n)
        for root in _sys.cgroup_roots(self.prefix):
            _sys.rmdir_tree(root / n.name, keep_root=True)
        n.popen = None
        n.nspawn_pid = n.nspawn_start = n.pid1 = n.pid1_start = None
        n.system_state = None
        self._save_state()

    def _clear_nspawn_leftovers(self, n: Node) -> None:
        if n.lock_name:
            _rm(NSPAWN_RUN / "locks" / n.lock_name)
        _rmdir(NSPAWN_RUN / "propagate" / n.machine)

    # ------------------------------------------------------------------ faults
    def _apply(self) -> None:
        self.net.apply_filters(self.blocked, self.loss)
        self._save_state()

    def _links(self, links) -> list[int]:
        if links is None:
            return list(range(self.links))
        links = [links] if isinstance(links, int) else list(links)
        for k in links:
            if not 0 <= k < self.links:
                raise HarnessError(f"no link {k}; links are 0..{self.links - 1}")
        return links

    def isolate(self, which, links=None) -> None:
        """Node can't talk to anyone, the client included (both directions, silent drop, links stay up)."""
        with self._lock:
            i = self._idx(which)
            for k in self._links(links):
                for j in range(0, self.n + 1):
                    if j != i:
                        self.blocked |= {(i, j, k), (j, i, k)}
            self._event("isolate", f"n{i}")
            self._apply()

    def partition(self, groups: Sequence[Sequence], links=None) -> None:
        """Split into groups that can't reach each other. Nodes listed nowhere form one more group.
        The client keeps reaching every group (an observer outside the split)."""
        with self._lock:
            gs = [[self._idx(x) for x in g] for g in groups]
            listed = [i for g in gs for i in g]
            if len(listed) != len(set(listed)):
                raise HarnessError(f"a node is in two groups: {groups}")
            rest = [i for i in range(1, self.n + 1) if i not in listed]
            if rest:
                gs.append(rest)
            group_of = {i: gi for gi, g in enumerate(gs) for i in g}
            for k in self._links(links):
                for a in range(1, self.n + 1):
                    for b in range(1, self.n + 1):
                        if group_of[a] != group_of[b]:
                            self.blocked.add((a, b, k))
            self._event("partition", repr(gs))
            self._apply()

    def block(self, src, dst, link=None) -> None:
        """Drop frames from src to dst only (asymmetric fault)."""
        with self._lock:
            s, d = self._idx(src), self._idx(dst)
            for k in self._links(link):
                self.blocked.add((s, d, k))
            self._event("block", f"n{s}->n{d}")
            self._apply()

    def cut_link(self, node, link: int) -> None:
        """Node loses link `link` (to everyone, client included); its other link keeps working."""
        with self._lock:
            i = self._idx(node)
            for k in self._links(link):
                for j in range(0, self.n + 1):
                    if j != i:
                        self.blocked |= {(i, j, k), (j, i, k)}
            self._event("cut_link", f"n{i} link{link}")
            self._apply()

    def heal(self) -> None:
        """Remove every partition, block, cut and loss/netem setting."""
        with self._lock:
            self.blocked.clear()
            self.loss.clear()
            for (i, k, direction) in list(self.netem_specs):
                if self.nodes[i - 1].running:
                    self.net.tc_netem(i, k, None, direction)
            self.netem_specs.clear()
            self._event("heal")
            self._apply()

    def netem(self, node, link: int, spec: str | None, direction: str = "both") -> None:
        """Degrade one node's link. spec 'loss N%' works on every kernel (nftables random drop);
        anything else (delay, reorder…) needs the kernel's sch_netem (absent on some kernels: raises).
        direction: 'in' (to the node), 'out' (from it) or 'both'. spec None clears."""
        if direction not in ("in", "out", "both"):
            raise ValueError("direction must be in, out or both")
        with self._lock:
            i, k = self._idx(node), self._links(link)[0]
            dirs = ["in", "out"] if direction == "both" else [direction]
            for d in dirs:
                self.loss.pop((i, k, d), None)
                if (i, k, d) in self.netem_specs:
                    self.net.tc_netem(i, k, None, d)
                    del self.netem_specs[(i, k, d)]
            if spec:
                m = re.fullmatch(r"\s*loss\s+(\d+(?:\.\d+)?)%\s*", spec)
                for d in dirs:
                    if m:
                        self.loss[(i, k, d)] = min(100.0, float(m.group(1)))
                    else:
                        self.net.tc_netem(i, k, spec, d)
                        self.netem_specs[(i, k, d)] = spec
            self._event("netem", f"n{i} link{k} {direction} {spec}")
            self._apply()

    # ------------------------------------------------------------------ client
    def client(self, cmd: Sequence[str] | str, check: bool = False, timeout: float | None = 30
               ) -> subprocess.CompletedProcess:
        """Run a host command in the client namespace (192.0.2.2 on link 0, 192.0.2.130 on link 1):
        an observer outside the nodes, e.g. to measure when a service address answers again."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
        return _sys.host([self._nsenter, f"--net={self.net.netns_file(0)}", *argv], check=check,
                         timeout=timeout)

    def client_ping(self, target, link: int = 0, timeout: float = 1.0) -> float | None:
        if isinstance(target, (int, Node)):
            target = self.addr(target, link)
        return self.net.ping(0, target, timeout=timeout)

    # ------------------------------------------------------------------ fence hook
    def _start_fence_watcher(self) -> None:
        self._fence_stop.clear()
        self._fence_thread = threading.Thread(target=self._fence_loop, name=f"{self.prefix}-fence", daemon=True)
        self._fence_thread.start()

    def _stop_fence_watcher(self) -> None:
        self._fence_stop.set()
        if self._fence_thread and self._fence_thread is not threading.current_thread():
            self._fence_thread.join(5)
        self._fence_thread = None

    def watch_fence_requests(self, poll: float = 0.05) -> None:
        """Serve fence requests in the foreground until interrupted (scripts/cluster watch)."""
        self._fence_stop.clear()
        self._fence_loop(poll)

    def _fence_loop(self, poll: float = 0.05) -> None:
        """Node-side protocol: write /run/swpcs-harness/{poweroff,poweron,reboot}-nK (atomically:
        write a temp name, rename), then wait for the file NAME.done (JSON: ok, time of the kill)."""
        while not self._fence_stop.wait(poll):
            try:
                entries = sorted(os.listdir(self.hook))
            except FileNotFoundError:
                return
            for name in entries:
                m = FENCE_RE.fullmatch(name)
                if m:
                    self._serve_fence(name, m.group(1), int(m.group(2)))

    def _serve_fence(self, name: str, action: str, k: int) -> None:
        result: dict = {"action": action, "node": f"n{k}", "ok": True, "time": None}
        try:
            if not 1 <= k <= self.n:
                raise HarnessError(f"no node n{k}")
            n = self.nodes[k - 1]
            if action in ("poweroff", "reboot") and n.running:
                result["time"] = self.power_kill(k)
            if action in ("poweron", "reboot"):
                with self._lock:
                    if not n.running:
                        self.start(k, wait=False)
        except Exception as e:  # report to the requester rather than dying
            result.update(ok=False, error=str(e))
        self.fence_log.append(result)
        done = self.hook / f"{name}.done"
        tmp = self.hook / f".{name}.done.tmp"
        tmp.write_text(json.dumps(result) + "\n")
        os.chmod(tmp, 0o644)
        tmp.replace(done)
        _rm(self.hook / name)

    # ------------------------------------------------------------------ reporting
    def status(self) -> dict:
        return {
            "prefix": self.prefix, "base": str(self.base), "links": self.links,
            "nodes": {n.name: {"running": n.running, "pid1": n.pid1, "nspawn": n.nspawn_pid, "boots": n.boots,
                               "addrs": [n.addr(k) for k in range(self.links)]} for n in self.nodes},
            "blocked": sorted(self.blocked), "loss": {f"n{a} link{b} {d}": v for (a, b, d), v in self.loss.items()},
            "netem": {f"n{a} link{b} {d}": v for (a, b, d), v in self.netem_specs.items()},
        }

    def collect_logs(self, dest: str | os.PathLike) -> Path:
        """Copy console logs and journals of all nodes into dest (for failed tests)."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for n in self.nodes:
            if n.console_log.exists():
                shutil.copy(n.console_log, dest / f"{n.name}.console.log")
            try:
                if n.running:
                    (dest / f"{n.name}.journal.txt").write_text(n.journal())
            except Exception as e:  # noqa: BLE001
                (dest / f"{n.name}.journal.txt").write_text(f"journal unavailable: {e}\n")
        return dest


# ============================================================================ cleanup

def _rm(p: Path) -> bool:
    try:
        p.unlink()
        return True
    except FileNotFoundError:
        return False


def _rmdir(p: Path) -> bool:
    try:
        p.rmdir()
        return True
    except (FileNotFoundError, OSError):
        return False


def lock_path(prefix: str) -> Path:
    return Path(f"/run/swpcs-harness-{prefix}.lock")


def acquire_prefix_lock(prefix: str) -> int:
    """flock the prefix's lock file (non-blocking). Raises HarnessError naming the owner if held."""
    path = lock_path(prefix)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 64).decode(errors="replace").strip()
        os.close(fd)
        raise HarnessError(f"cluster prefix {prefix!r} is in use by pid {owner or '?'} ({path})") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def leftovers(prefix: str, base_dir: str | os.PathLike | None = None, lock_names: Iterable[str] = ()) -> dict:
    """What a cluster with this prefix still holds on the host (all empty after a clean teardown)."""
    base = Path(base_dir or default_base()) / prefix
    procs = set()
    cgdirs = []
    for root in _sys.cgroup_roots(prefix):
        if root.exists():
            cgdirs.append(str(root))
            procs |= {p for p in _sys.cgroup_pids(root) if _sys.alive(p)}
    locks = [n for n in lock_names if (NSPAWN_RUN / "locks" / n).exists()]
    prop = sorted(str(p) for p in (NSPAWN_RUN / "propagate").glob(f"{prefix}-n*"))
    return {"mounts": _sys.mounts_under(base), "processes": sorted(procs), "cgroups": cgdirs,
            "base_dir": [str(base)] if base.exists() else [], "propagate": prop, "locks": locks}


def cleanup_prefix(prefix: str, base_dir: str | os.PathLike | None = None,
                   nodes: Sequence[Node] | None = None) -> dict:
    """Remove everything a cluster with this prefix made, also after a crash of its owner.

    Kills only processes in the prefix's own cgroups or recorded (with start time) in its state file:
    first the containers' PID 1s (which takes each node down whole), then the nspawns left.
    """
    base = Path(base_dir or default_base()) / prefix
    report: dict[str, list] = {"killed": [], "unmounted": [], "cgroups": [], "locks": []}
    recorded: list[tuple[int, int | None, str]] = []
    lock_names: set[str] = set()
    if nodes is not None:
        for n in nodes:
            recorded += [(n.pid1, n.pid1_start, "pid1"), (n.nspawn_pid, n.nspawn_start, "nspawn")]
            if n.lock_name:
                lock_names.add(n.lock_name)
    try:
        st = json.loads((base / "state.json").read_text())
        for d in st.get("node_state", []):
            recorded += [(d.get("pid1"), d.get("pid1_start"), "pid1"),
                         (d.get("nspawn_pid"), d.get("nspawn_start"), "nspawn")]
            if d.get("lock_name"):
                lock_names.add(d["lock_name"])
    except (OSError, ValueError):
        pass
    in_cgroups: set[int] = set()
    for root in _sys.cgroup_roots(prefix):
        in_cgroups |= _sys.cgroup_pids(root)
    inits = {p for p in in_cgroups if _sys.nspid_is_init(p)}
    inits |= {pid for pid, start, kind in recorded
              if kind == "pid1" and pid and _sys.alive(pid, start)}
    for pid in sorted(inits):
        if _sys.kill(pid, signal.SIGKILL):
            report["killed"].append(pid)
    for pid in inits:
        _sys.wait_gone(pid, 5)
    others = {p for p in in_cgroups if p not in inits}
    others |= {pid for pid, start, kind in recorded if kind == "nspawn" and pid and _sys.alive(pid, start)}
    deadline = time.monotonic() + 5
    for pid in sorted(others):          # nspawn exits by itself once its container is gone
        while _sys.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if _sys.alive(pid) and _sys.kill(pid, signal.SIGKILL):
            report["killed"].append(pid)
    # nspawn lock files are named after the root directory's device:inode.
    for m, fstype in _sys.mounts():
        if fstype == "overlay" and m.startswith(str(base) + "/"):
            try:
                s = os.stat(m)
                lock_names.add(f"inode-{s.st_dev}:{s.st_ino}")
            except OSError:
                pass
    for name in lock_names:
        if _rm(NSPAWN_RUN / "locks" / name):
            report["locks"].append(name)
    for p in (NSPAWN_RUN / "propagate").glob(f"{prefix}-n*"):
        if _rmdir(p):
            report["locks"].append(str(p))
    mounted = _sys.mounts_under(base)
    _sys.umount_all_under(base)
    report["unmounted"] = mounted
    if base.exists():
        if _sys.mounts_under(base):
            raise HarnessError(f"could not unmount everything under {base}: {_sys.mounts_under(base)}")
        shutil.rmtree(base, ignore_errors=True)
    for root in _sys.cgroup_roots(prefix):
        if root.exists():
            if not _sys.rmdir_tree(root):
                log.warning("cgroup %s not fully removed", root)
            report["cgroups"].append(str(root))
    return report
