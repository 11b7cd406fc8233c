"""Cluster tier for the resource executor: executor-probe drives ResourceExecutor's runners inside a
real systemd node — systemd units over the node's system bus (sd-bus), Debian's OCF agents unchanged.

Needs executor-probe built (SWPCS_BIN_DIR, default .build/debug) and, for the OCF scenarios, Debian's
resource-agents installed on the host (nodes see the host's /usr/lib/ocf through their overlay)."""

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest

from swpcs_harness import Cluster, InstallSpec

PREFIX = "swx"
REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("SWPCS_BIN_DIR", REPO / ".build" / "debug"))
PROBE = "executor-probe"
HAS_AGENTS = os.access("/usr/lib/ocf/resource.d/heartbeat/Dummy", os.X_OK)
VIP = "192.0.2.100"

# Restart=always on purpose: the cluster's drop-in must turn it off, or a killed service would be
# restarted by systemd behind the cluster's back.
DEMO_WEB = """\
[Unit]
Description=demo web server (executor tests)

[Service]
ExecStart=/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1
Restart=always
RestartSec=100ms
"""

DROP_IN = "/run/systemd/system/demo-web.service.d/50-swpcs.conf"
FIGURES: dict[str, list[float]] = {}


def figure(name, value):
    FIGURES.setdefault(name, []).append(value)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    if not (BIN_DIR / PROBE).is_file():
        pytest.skip(f"{PROBE} not built in {BIN_DIR} (swift build --product {PROBE})")
    units = tmp_path_factory.mktemp("units")
    (units / "demo-web.service").write_text(DEMO_WEB)
    spec = InstallSpec(bin_dir=BIN_DIR, binaries=[PROBE], units_dir=units)
    with Cluster(nodes=1, links=1, prefix=PREFIX, install=spec) as c:
        c.boot()
        yield c.node(1)
    if FIGURES:
        print("\nexecutor figures (ms):", json.dumps(
            {k: {"n": len(v), "min": round(min(v), 1), "max": round(max(v), 1)} for k, v in FIGURES.items()}))


@pytest.fixture(scope="module")
def cluster(node):
    return node.cluster


def probe(node, *args, timeout=60):
    """Runs executor-probe in the node; the JSON result lines."""
    r = node.run([PROBE, *args], timeout=timeout)
    assert r.returncode == 0, f"{PROBE} {' '.join(args)} exited {r.returncode}: {r.stderr}"
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def result(node, *args, timeout=60):
    lines = [line for line in probe(node, *args, timeout=timeout) if line["event"] == "result"]
    assert len(lines) == 1, lines
    return lines[0]


def active_state(node, unit="demo-web"):
    return node.run(["systemctl", "is-active", unit]).stdout.strip()


def show(node, prop, unit="demo-web"):
    return node.run(["systemctl", "show", "-P", prop, unit]).stdout.strip()


class Lines:
    """JSON lines of a background probe, read by a thread so the test can wait with a deadline."""

    def __init__(self, popen):
        self.popen = popen
        self.q = queue.Queue()
        self.all = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.popen.stdout:
            if line.strip():
                self.q.put(json.loads(line))

    def next(self, event, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event!r} line within {timeout} s; seen {self.all}")
            try:
                line = self.q.get(timeout=remaining)
            except queue.Empty:
                continue
            self.all.append(line)
            if line["event"] == event:
                return line


def watch(node, seconds):
    p = node.spawn([PROBE, "systemd", "watch", "demo-web", str(seconds), "--resource", "web"],
                   stdout=subprocess.PIPE, text=True)
    lines = Lines(p)
    first = lines.next("result")
    assert first["rc"] == 0, first
    watching = lines.next("watching")
    assert watching["watched"] == {"web": "demo-web.service"}, watching
    lines.pid = watching["pid"]
    return p, lines


def end_watch(node, p, lines):
    """Ends the probe inside the node by its pid (killing the host-side nsenter would orphan it)."""
    node.run(["kill", str(lines.pid)])
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def stop_quietly(node):
    result(node, "systemd", "stop", "demo-web")
    node.run(["systemctl", "reset-failed", "demo-web"])


# ------------------------------------------------------------------------------------------ systemd

def test_start_monitor_stop_through_the_system_bus(node):
    start = result(node, "systemd", "start", "demo-web")
    assert start["rc"] == 0, start
    assert "StartUnit: job done" in start["output"], start["output"]
    figure("systemd start", start["durationMs"])
    assert active_state(node) == "active"
    assert node.read_file(DROP_IN).startswith("[Unit]\nDescription=Cluster Controlled demo-web.service\n")
    assert show(node, "Restart") == "no", "the drop-in overrides Restart=always"
    assert show(node, "Description") == "Cluster Controlled demo-web.service"

    monitor = result(node, "systemd", "monitor", "demo-web")
    assert monitor["rc"] == 0 and monitor["output"] == "active (running)", monitor
    figure("systemd monitor", monitor["durationMs"])

    stop = result(node, "systemd", "stop", "demo-web")
    assert stop["rc"] == 0, stop
    assert "StopUnit: job done" in stop["output"], stop["output"]
    figure("systemd stop", stop["durationMs"])
    assert active_state(node) == "inactive"
    assert not node.exists(DROP_IN), "drop-in removed after stop"
    assert not node.exists(os.path.dirname(DROP_IN))
    assert show(node, "Restart") == "always", "systemd reloaded without the drop-in"

    assert result(node, "systemd", "monitor", "demo-web")["rc"] == 7


def test_start_twice_and_stop_twice_are_idempotent(node):
    assert result(node, "systemd", "start", "demo-web")["rc"] == 0
    again = result(node, "systemd", "start", "demo-web")
    assert again["rc"] == 0, again
    assert result(node, "systemd", "stop", "demo-web")["rc"] == 0
    assert result(node, "systemd", "stop", "demo-web")["rc"] == 0
    assert active_state(node) == "inactive"


def test_units_that_do_not_exist(node):
    start = result(node, "systemd", "start", "no-such-thing")
    assert start["rc"] == 5 and start["status"] == "notInstalled", start
    assert "not-found" in start["output"]
    assert not node.exists("/run/systemd/system/no-such-thing.service.d"), "no drop-in for a missing unit"
    stop = result(node, "systemd", "stop", "no-such-thing")
    assert stop["rc"] == 0, stop
    assert result(node, "systemd", "monitor", "no-such-thing")["rc"] == 5


def test_a_failing_start_is_reported_with_systemd_s_reason(node):
    node.write_file("/etc/systemd/system/demo-broken.service",
                    "[Service]\nType=oneshot\nExecStart=/bin/false\n")
    node.systemctl("daemon-reload")
    start = result(node, "systemd", "start", "demo-broken")
    assert start["rc"] == 1 and start["status"] == "done", start
    assert "failed" in start["output"] and "Result=exit-code" in start["output"], start["output"]
    assert result(node, "systemd", "stop", "demo-broken")["rc"] == 0
    node.run(["systemctl", "reset-failed", "demo-broken"])


def test_watch_reports_a_killed_service_at_once(node):
    assert result(node, "systemd", "start", "demo-web", "--resource", "web")["rc"] == 0
    p, lines = watch(node, 10)
    try:
        t0 = time.time()
        node.run(["systemctl", "kill", "-s", "SIGKILL", "demo-web"], check=True)
        failure = lines.next("failure", timeout=5)
        latency = failure["detectedAt"] - t0
        figure("failure notice after systemctl kill", latency * 1000)
        assert failure["resource"] == "web" and failure["unit"] == "demo-web.service"
        assert failure["kind"] == "failed" and failure["activeState"] == "failed", failure
        # Event-driven (systemd's PropertiesChanged), not the 10 s monitor; figures in docs/benchmarks.md.
        assert latency < 5.0, f"failure noticed after {latency:.3f} s"
        time.sleep(0.3)
        assert active_state(node) == "failed", "Restart=no: systemd did not restart it"
        assert result(node, "systemd", "monitor", "demo-web")["rc"] == 7
    finally:
        end_watch(node, p, lines)
        stop_quietly(node)


def test_watch_reports_a_stop_behind_the_cluster_s_back(node):
    assert result(node, "systemd", "start", "demo-web", "--resource", "web")["rc"] == 0
    p, lines = watch(node, 10)
    try:
        node.systemctl("stop", "demo-web")
        failure = lines.next("failure", timeout=5)
        assert failure["kind"] == "stopped" and failure["activeState"] == "inactive", failure
    finally:
        end_watch(node, p, lines)
        stop_quietly(node)


def test_a_stop_issued_during_a_start_follows_it(node):
    """A stop issued while the start of the same unit runs waits for it, then wins: every result is
    true when reported, the drop-in is gone."""
    for _ in range(3):
        lines = probe(node, "systemd", "concurrent", "demo-web", "--delay", "30")
        start, stop, monitor = [line for line in lines if line["event"] == "result"]
        assert start["rc"] == 0 and "StartUnit: job done" in start["output"], start
        assert stop["rc"] == 0 and "StopUnit: job done" in stop["output"], stop
        assert monitor["rc"] == 7, monitor
        assert active_state(node) == "inactive"
        assert not node.exists(DROP_IN)


def test_simultaneous_start_and_stop_run_one_after_the_other(node):
    """Issued at the same instant, either may go first; both succeed in turn and the final state is
    the one the later operation asked for."""
    for _ in range(3):
        lines = probe(node, "systemd", "concurrent", "demo-web")
        start, stop, monitor = [line for line in lines if line["event"] == "result"]
        assert start["rc"] == 0 and stop["rc"] == 0, (start, stop)
        state = active_state(node)
        assert (monitor["rc"], state) in ((0, "active"), (7, "inactive")), (monitor, state)
        assert node.exists(DROP_IN) == (state == "active")
        stop_quietly(node)


def test_a_stop_after_a_start_timeout_cancels_the_start_job(node):
    """A start that outlives its timeout (ExecStartPre sleeps) leaves its job queued in systemd; the
    stop that follows replaces it (mode=replace), so nothing comes up later behind the cluster's back."""
    node.write_file("/etc/systemd/system/demo-slow.service",
                    "[Service]\nExecStartPre=/bin/sleep 5\nExecStart=/usr/bin/python3 -m http.server 8081\n")
    node.systemctl("daemon-reload")
    lines = probe(node, "systemd", "concurrent", "demo-slow", "--start-timeout", "1000", "--delay", "200")
    start, stop, monitor = [line for line in lines if line["event"] == "result"]
    assert start["status"] == "timedOut", start
    assert 1000 <= start["durationMs"] < 2500, start
    assert stop["rc"] == 0, stop
    assert stop["durationMs"] < 2000, "the stop did not wait for ExecStartPre to finish"
    assert monitor["rc"] == 7, monitor
    time.sleep(0.5)
    # The stop killed ExecStartPre, so systemd may call the unit failed; either way it is down.
    assert active_state(node, "demo-slow") in ("inactive", "failed")
    assert not node.exists("/run/systemd/system/demo-slow.service.d")
    node.run(["systemctl", "reset-failed", "demo-slow"])


@pytest.mark.parametrize("disruption", [["systemctl", "daemon-reexec"], ["systemctl", "restart", "dbus"]],
                         ids=["daemon-reexec", "dbus-restart"])
def test_watch_survives_systemd_and_bus_restarts(node, disruption):
    assert result(node, "systemd", "start", "demo-web", "--resource", "web")["rc"] == 0
    p, lines = watch(node, 5)
    try:
        node.run(disruption, check=True, timeout=30)
        node.wait_for(["systemctl", "is-system-running"], timeout=15)
        time.sleep(1.0)  # reconnect (backoff starts at 0.1 s) and re-subscribe
        t0 = time.time()
        node.run(["systemctl", "kill", "-s", "SIGKILL", "demo-web"], check=True)
        failure = lines.next("failure", timeout=6)
        latency = failure["detectedAt"] - t0
        figure(f"failure notice after {disruption[-1]}", latency * 1000)
        assert failure["kind"] == "failed", failure
        assert latency < 5.0, f"failure noticed after {latency:.3f} s"  # event-driven, not the monitor
        summary = lines.next("summary", timeout=15)
        if disruption[-1] == "dbus":
            assert summary["connections"] >= 2, summary
    finally:
        end_watch(node, p, lines)
        stop_quietly(node)


def test_operations_keep_working_after_the_bus_restarts(node):
    node.run(["systemctl", "restart", "dbus"], check=True, timeout=30)
    node.wait_for(["systemctl", "is-system-running"], timeout=15)
    assert result(node, "systemd", "start", "demo-web")["rc"] == 0
    assert result(node, "systemd", "stop", "demo-web")["rc"] == 0


# ------------------------------------------------------------------------------------------ OCF

needs_agents = pytest.mark.skipif(not HAS_AGENTS, reason="resource-agents not installed on the host "
                                                          "(apt-get install resource-agents)")


@needs_agents
def test_ocf_dummy_in_the_node(node):
    def dummy(action):
        return result(node, "ocf", "heartbeat:Dummy", action, "--resource", "dummy1")
    assert dummy("monitor")["rc"] == 7
    start = dummy("start")
    assert start["rc"] == 0, start
    figure("ocf Dummy start", start["durationMs"])
    assert dummy("monitor")["rc"] == 0
    assert dummy("stop")["rc"] == 0
    assert dummy("monitor")["rc"] == 7
    meta = dummy("meta-data")
    assert meta["rc"] == 0 and '<resource-agent name="Dummy"' in meta["output"]


@needs_agents
def test_ocf_ipaddr2_brings_up_a_reachable_address(node, cluster):
    # Link 0 is 192.0.2.0/25 (node .11, client .2); .60-.126 are free for service addresses.
    params = [f"ip={VIP}", "cidr_netmask=25", "nic=eth0"]

    def vip(action):
        return result(node, "ocf", "heartbeat:IPaddr2", action, *params, "--resource", "vip")
    assert vip("monitor")["rc"] == 7
    assert cluster.client_ping(VIP, timeout=0.5) is None
    start = vip("start")
    assert start["rc"] == 0, start
    figure("ocf IPaddr2 start", start["durationMs"])
    try:
        assert f"inet {VIP}/25" in node.run(["ip", "-4", "addr", "show", "dev", "eth0"]).stdout
        assert vip("monitor")["rc"] == 0
        rtt = None
        for _ in range(20):
            rtt = cluster.client_ping(VIP, timeout=0.5)
            if rtt is not None:
                break
        assert rtt is not None, "the address answers from outside the node"
    finally:
        stop = vip("stop")
    assert stop["rc"] == 0, stop
    assert VIP not in node.run(["ip", "-4", "addr", "show", "dev", "eth0"]).stdout
    assert vip("monitor")["rc"] == 7
