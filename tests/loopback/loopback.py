"""Run real swcorosync daemons on 127.0.0.x: a small helper for the loopback test tier."""
import base64
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWPCS_BIN_DIR", ROOT / ".build" / "debug"))
PORT = 15405


def conf_text(n, timeout="1000ms", extra_quorum="", links=1, port=PORT, name="loop", extra_cluster=""):
    lines = [
        "[cluster]",
        f"name = {name}",
        f"port = {port}",
        f"failure_timeout = {timeout}",
        extra_cluster,
        "",
        "[quorum]",
        extra_quorum,
        "",
    ]
    for i in range(1, n + 1):
        lines += [f"[node n{i}]", f"id = {i}"]
        for link in range(links):
            lines.append(f"addr = 127.0.{link}.{i}")
        lines.append("")
    return "\n".join(lines)


class Daemon:
    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.dir = cluster.dir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.log = self.dir / "daemon.log"

    @property
    def socket(self):
        return str(self.dir / "run" / "swcorosync.sock")

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(BIN / "swcorosync"), "--config", str(self.cluster.conf), "--key", str(self.cluster.key),
             "--node", self.name, "--run-dir", str(self.dir / "run"), "--state-dir", str(self.dir / "state"),
             "--no-realtime"],
            stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if os.path.exists(self.socket):
                try:
                    self.request({"op": "status"})
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not open its socket")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        t = time.time()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return t

    def terminate(self):
        t = time.time()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        return t

    def request(self, req, timeout=5):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket)
            s.sendall((json.dumps(req) + "\n").encode())
            return json.loads(_readline(s))

    def status(self):
        r = self.request({"op": "status"})
        assert r["ok"], r
        return r["status"]

    def swpcs(self, *args, user=None):
        cmd = [str(BIN / "swpcs"), *args]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        env = dict(os.environ, SWPCS_COROSYNC_SOCKET=self.socket)
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=30)


def _readline(s):
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data.split(b"\n")[0]


class Subscriber:
    """A client subscribed to events of one daemon."""

    def __init__(self, daemon):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(daemon.socket)
        self.s.settimeout(10)
        self.buf = b""
        self.s.sendall(b'{"op":"subscribe"}\n')
        first = self.next()
        assert first["ok"], first

    def send(self, payload: bytes):
        self.s.sendall((json.dumps({"op": "send", "payload": base64.b64encode(payload).decode()}) + "\n").encode())

    def next(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise OSError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.s.close()


class LoopbackCluster:
    def __init__(self, tmp_path, n=3, **conf):
        self.dir = Path(tmp_path)
        self.conf = self.dir / "cluster.conf"
        self.conf.write_text(conf_text(n, **conf))
        self.key = self.dir / "authkey"
        self.key.write_bytes(os.urandom(256))
        os.chmod(self.key, 0o400)
        self.daemons = {f"n{i}": Daemon(self, f"n{i}") for i in range(1, n + 1)}

    def __getitem__(self, name):
        return self.daemons[name]

    def start_all(self):
        for d in self.daemons.values():
            d.start()
        return self

    def stop_all(self):
        for d in self.daemons.values():
            if d.alive():
                d.proc.kill()
                d.proc.wait()

    def wait_for(self, predicate, timeout=10, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = predicate()
                if last:
                    return last
            except (OSError, ValueError, KeyError, AssertionError):
                pass
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; last={last}")

    def agreed(self, names):
        """True when all named daemons installed the same view with exactly these members."""
        sts = [self.daemons[n].status() for n in names]
        ids = {s["viewId"] for s in sts}
        members = [sorted(m["name"] for m in s["members"]) for s in sts]
        return len(ids) == 1 and all(m == sorted(names) for m in members) and sts


class Manager:
    """swpacemakerd for one loopback node, beside its swcorosync."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.name = daemon.name
        self.dir = daemon.dir
        self.proc = None
        self.log = self.dir / "swpacemakerd.log"
        # Another cluster.conf for this node's swpacemakerd only (e.g. its own [metrics] listen).
        self.conf = None
        (self.dir / "rsctmp").mkdir(parents=True, exist_ok=True)

    @property
    def socket(self):
        return str(self.dir / "run" / "swpcs.sock")

    def start(self):
        self.logf = open(self.log, "ab")
        # SWPCS_SOCKET: what agents run by this daemon reach with swpcs (crm_master shim).
        env = dict(os.environ, HA_RSCTMP=str(self.dir / "rsctmp"), SWPCS_SOCKET=self.socket)
        self.proc = subprocess.Popen(
            [str(BIN / "swpacemakerd"), "--config", str(self.conf or self.daemon.cluster.conf), "--node", self.name,
             "--corosync-socket", self.daemon.socket, "--socket", self.socket,
             "--state-dir", str(self.dir / "cib")],
            stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"swpacemakerd {self.name} exited: {self.log.read_text()[-2000:]}")
            if os.path.exists(self.socket):
                try:
                    self.status()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"swpacemakerd {self.name} did not open its socket")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def status(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(self.socket)
            s.sendall(b'{"op":"status"}\n')
            r = json.loads(_readline(s))
        assert r["ok"], r
        return r["status"]

    def env(self, **extra):
        env = dict(os.environ, SWPCS_SOCKET=self.socket, SWPCS_COROSYNC_SOCKET=self.daemon.socket,
                   SWPCS_CONFIG_DIR=str(self.daemon.cluster.dir / "etc"))
        env.update(extra)
        return env

    def swpcs(self, *args, user=None, env=None, timeout=90):
        cmd = [str(BIN / "swpcs"), *args]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, env=env or self.env(), timeout=timeout)


class ManagedCluster(LoopbackCluster):
    """swcorosync + swpacemakerd on every node."""

    def __init__(self, tmp_path, n=2, **conf):
        super().__init__(tmp_path, n, **conf)
        etc = self.dir / "etc"
        etc.mkdir(exist_ok=True)
        (etc / "cluster.conf").write_text(self.conf.read_text())
        self.managers = {name: Manager(d) for name, d in self.daemons.items()}

    def start_all(self):
        super().start_all()
        for m in self.managers.values():
            m.start()
        return self

    def stop_all(self):
        for m in self.managers.values():
            m.stop()
        super().stop_all()

    def without_fencing(self):
        """Settled, then stonith-enabled=false (loopback nodes have no fencing device)."""
        self.settled(timeout=60)
        r = self.managers["n1"].swpcs("property", "set", "stonith-enabled=false")
        assert r.returncode == 0, r.stderr
        return self

    def settled(self, timeout=30):
        """Every manager joined, one DC, no transition."""
        def ok():
            sts = [m.status() for m in self.managers.values() if m.alive()]
            dcs = {s["dc"] for s in sts}
            return (len(dcs) == 1 and None not in dcs and all(not s["transition"] for s in sts)
                    and all(len(s["joined"]) == len(sts) for s in sts) and sts)
        return self.wait_for(ok, timeout=timeout, what="a settled cluster")
