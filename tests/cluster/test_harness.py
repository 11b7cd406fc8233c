"""The container cluster harness itself, end to end: real nodes, real network, real faults."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from swpcs_harness import Cluster, HarnessError, InstallSpec, leftovers
from swpcs_harness import _sys

HARNESS_DIR = str(Path(__file__).resolve().parents[1] / "harness")
PREFIX = "swt"

PROBE_UNIT = """\
[Unit]
Description=harness probe (started by the test)

[Service]
Type=oneshot
RemainAfterExit=yes
StateDirectory=harness-probe
ExecStart=/usr/sbin/harness-probe started
"""

ENABLED_UNIT = """\
[Unit]
Description=harness probe (enabled at install time)

[Service]
Type=oneshot
RemainAfterExit=yes
StateDirectory=harness-probe
ExecStart=/usr/sbin/harness-probe enabled

[Install]
WantedBy=multi-user.target
"""

PROBE_BIN = """\
#!/bin/sh
echo "$1 $(hostname) $(readlink -f "$0")" >> /var/lib/harness-probe/out
"""


def pings(cluster, pairs, link, timeout=0.5):
    """{(a, b): reachable} for node pairs on a link, in parallel."""
    with ThreadPoolExecutor(len(pairs)) as ex:
        futs = {p: ex.submit(cluster.node(p[0]).ping, p[1], link, timeout) for p in pairs}
        return {p: f.result() is not None for p, f in futs.items()}


ALL_PAIRS = [(a, b) for a in (1, 2, 3) for b in (1, 2, 3) if a != b]


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    d = tmp_path_factory.mktemp("install")
    (d / "bin").mkdir()
    (d / "units").mkdir()
    probe = d / "bin" / "harness-probe"
    probe.write_text(PROBE_BIN)
    probe.chmod(0o755)
    (d / "bin" / "notes.txt").write_text("not an executable: not installed\n")
    (d / "units" / "harness-probe.service").write_text(PROBE_UNIT)
    (d / "units" / "harness-enabled.service").write_text(ENABLED_UNIT)
    return InstallSpec(bin_dir=d / "bin", units_dir=d / "units", conf_text="# test conf\n",
                       authkey=b"\x01" * 32, enable=["harness-enabled.service"])


@pytest.fixture(scope="module")
def cluster(install):
    t0 = time.monotonic()
    with Cluster(nodes=3, links=2, prefix=PREFIX, install=install) as c:
        c.boot_report = c.boot()
        c.boot_wall = time.monotonic() - t0
        print(f"\nboot of 3 nodes: {c.boot_seconds:.2f}s (with setup {c.boot_wall:.2f}s)")
        yield c
        c.lock_names = [n.lock_name for n in c.nodes]
    assert leftovers(PREFIX, lock_names=c.lock_names) == {
        "mounts": [], "processes": [], "cgroups": [], "base_dir": [], "propagate": [], "locks": []}


def test_boot_reaches_running(cluster):
    for name, r in cluster.boot_report.items():
        assert r["state"] in ("running", "degraded"), (name, r)
        assert r["failed"] == [], f"{name} failed units: {r['failed']}"
    assert cluster.boot_seconds < 20
    for n in cluster:
        assert n.run(["hostname"], check=True).stdout.strip() == n.name
        assert n.run(["getent", "hosts", "n3"], check=True).stdout.split()[0] == "192.0.2.13"
        assert n.run(["getent", "hosts", "n2-l1"], check=True).stdout.split()[0] == "192.0.2.140"
        assert n.run(["stat", "-c", "%a %U", "/etc/swpcs/authkey"], check=True).stdout.split() == ["400", "root"]
        assert n.read_file("/etc/swpcs/cluster.conf") == "# test conf\n"
        assert n.run(["getent", "group", "haclient"]).returncode == 0
        mem = n.memory()
        print(f"{n.name}: {mem['processes']} processes, RSS {mem['rss_kib'] / 1024:.1f} MiB, "
              f"PSS {mem['pss_kib'] / 1024:.1f} MiB, disk {n.disk_usage_kib() / 1024:.1f} MiB")
    # machine ids are per node; nothing masked from the host runs
    ids = {n.read_file("/etc/machine-id") for n in cluster}
    assert len(ids) == 3
    units = cluster.node(1).run(["systemctl", "list-units", "--plain", "--no-legend", "--state=active"],
                                check=True).stdout
    for forbidden in ("postgresql", "docker", "containerd", "ssh", "cron", "apt-daily", "getty@"):
        assert forbidden not in units


def test_commands_are_confined(cluster):
    n = cluster.node(1)
    r = n.run(["date", "-s", "2001-01-01"])
    assert r.returncode != 0 and "not permitted" in r.stderr
    assert n.run("echo $(hostname)-$(id -u)-$0", check=True).stdout.strip() == "n1-0-/bin/sh"
    with pytest.raises(subprocess.CalledProcessError) as e:
        n.run(["false"], check=True)
    assert "n1" in str(e.value)
    with pytest.raises(subprocess.TimeoutExpired):
        n.run(["sleep", "30"], timeout=0.3)
    n.write_file("/etc/harness/test.json", json.dumps({"a": 1}), mode=0o600)
    assert n.run_json(["cat", "/etc/harness/test.json"]) == {"a": 1}
    assert n.run(["stat", "-c", "%a", "/etc/harness/test.json"], check=True).stdout.strip() == "600"
    with pytest.raises(FileNotFoundError):
        n.read_file("/nonexistent")


def test_installed_units_run(cluster):
    for n in cluster:
        assert n.systemctl("is-active", "harness-enabled.service").stdout.strip() == "active"
        n.systemctl("start", "harness-probe.service")
        assert n.systemctl("is-active", "harness-probe.service").stdout.strip() == "active"
        out = n.read_file("/var/lib/harness-probe/out").splitlines()
        assert out == [f"enabled {n.name} /opt/swpcs-harness/bin/harness-probe",
                       f"started {n.name} /opt/swpcs-harness/bin/harness-probe"]
        assert not n.exists("/usr/sbin/notes.txt")


def test_ping_both_links(cluster):
    for link in (0, 1):
        assert all(pings(cluster, ALL_PAIRS, link).values()), link
        assert all(cluster.client_ping(i, link) is not None for i in (1, 2, 3))
    r = cluster.client(["ip", "-br", "addr"], check=True).stdout
    assert "192.0.2.2/25" in r and "192.0.2.130/25" in r


def test_isolate_and_heal(cluster):
    cluster.isolate(3)
    try:
        for link in (0, 1):
            r = pings(cluster, ALL_PAIRS, link)
            assert r[(1, 2)] and r[(2, 1)], r
            assert not any(ok for (a, b), ok in r.items() if 3 in (a, b)), r
        assert cluster.node(3).run(["ip", "link", "show", "eth0"], check=True).stdout.count("state UP") == 1
        assert cluster.client_ping(1) is not None and cluster.client_ping(3, timeout=0.3) is None
    finally:
        cluster.heal()
    assert cluster.node(1).ping(3, timeout=0.05) is not None     # heals at once: no ARP to redo
    for link in (0, 1):
        assert all(pings(cluster, ALL_PAIRS, link).values())
    assert "PERMANENT" in cluster.node(1).run(["ip", "neigh", "show", "192.0.2.13"], check=True).stdout


def test_partition_groups(cluster):
    cluster.partition([[1, 2], [3]])
    try:
        r = pings(cluster, ALL_PAIRS, 0)
        assert r == {p: (3 not in p) for p in ALL_PAIRS}
        assert all(cluster.client_ping(i) is not None for i in (1, 2, 3))
    finally:
        cluster.heal()


def test_block_is_one_way(cluster):
    """block(src=1, dst=3): n3's datagrams reach n1, n1's don't reach n3."""
    listen = ("import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('',9999)); "
              "s.settimeout(float(sys.argv[1])); print(s.recvfrom(100)[0].decode())")
    send = "import socket,sys; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'hi', (sys.argv[1],9999))"

    def delivered(src, dst):
        lst = cluster.node(dst).spawn(["/usr/bin/python3", "-c", listen, "1.0"], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True)
        time.sleep(0.15)
        for _ in range(3):
            cluster.node(src).run(["/usr/bin/python3", "-c", send, cluster.addr(dst)], check=True)
        out, _ = lst.communicate(timeout=10)
        return out.strip() == "hi"

    cluster.block(src=1, dst=3)
    try:
        assert delivered(3, 1)
        assert not delivered(1, 3)
        assert delivered(2, 3)
    finally:
        cluster.heal()
    assert delivered(1, 3)


def test_cut_one_link(cluster):
    cluster.cut_link(node=2, link=1)
    try:
        assert all(pings(cluster, ALL_PAIRS, 0).values())
        r1 = pings(cluster, ALL_PAIRS, 1)
        assert r1 == {p: (2 not in p) for p in ALL_PAIRS}
    finally:
        cluster.heal()
    assert all(pings(cluster, ALL_PAIRS, 1).values())


def test_loss(cluster):
    cluster.netem(2, 0, "loss 100%")
    try:
        r = pings(cluster, [(1, 2), (2, 1), (1, 3)], 0)
        assert r == {(1, 2): False, (2, 1): False, (1, 3): True}
        assert cluster.node(1).ping(2, link=1) is not None
        cluster.netem(2, 0, "loss 100%", direction="in")   # replies from n2 get out, requests don't get in
        assert cluster.node(1).ping(2, 0, timeout=0.5) is None
        cluster.netem(2, 0, None)
        assert cluster.node(1).ping(2, 0) is not None
        try:
            cluster.netem(3, 1, "delay 50ms")
            assert cluster.node(1).ping(3, 1) is not None
        except HarnessError as e:
            assert "sch_netem" in str(e)     # kernels without netem: loss only
    finally:
        cluster.heal()


def test_power_kill_and_restart(cluster):
    n2 = cluster.node(2)
    n2.write_file("/var/lib/harness-disk-file", "survives\n")
    n2.write_file("/run/harness-run-file", "volatile\n")
    pid1, nspawn = n2.pid1, n2.nspawn_pid
    t_kill = cluster.power_kill(2)
    gone = time.time() - t_kill
    assert gone < 5.0, gone  # at once (SIGKILL of PID 1), not a shutdown
    assert not _sys.alive(pid1) and not _sys.alive(nspawn)
    assert not n2.running
    with pytest.raises(HarnessError):
        n2.run(["true"])
    r = pings(cluster, [(1, 2), (3, 2), (1, 3)], 0)
    assert r == {(1, 2): False, (3, 2): False, (1, 3): True}
    assert cluster.node(1).ping(2, link=1, timeout=0.3) is None

    t0 = time.monotonic()
    cluster.start(2)
    print(f"\nreboot of n2: {time.monotonic() - t0:.2f}s")
    assert n2.running and n2.boots == 2 and n2.pid1 != pid1
    assert n2.read_file("/var/lib/harness-disk-file") == "survives\n"
    assert not n2.exists("/run/harness-run-file")
    assert n2.systemctl("is-active", "harness-enabled.service").stdout.strip() == "active"
    for link in (0, 1):
        assert all(pings(cluster, ALL_PAIRS, link).values())


def test_partition_survives_reboot(cluster):
    cluster.isolate(3)
    try:
        cluster.power_kill(3)
        cluster.start(3)
        assert cluster.node(3).ping(1, timeout=0.3) is None
    finally:
        cluster.heal()
    assert cluster.node(3).ping(1) is not None


def test_clean_stop_and_start(cluster):
    n3 = cluster.node(3)
    t0 = time.monotonic()
    cluster.stop(3)
    print(f"\nclean stop of n3: {time.monotonic() - t0:.2f}s")
    assert not n3.running
    assert "Container swt-n3 has been shut down." in cluster.console_tail(3, 5)
    cluster.start(3)
    assert n3.run(["systemctl", "is-system-running"]).stdout.strip() == "running"


def test_fence_hook_powers_off(cluster):
    n1, n3 = cluster.node(1), cluster.node(3)
    pid1 = n3.pid1
    n1.run("echo n1 > /run/swpcs-harness/.req && mv /run/swpcs-harness/.req /run/swpcs-harness/poweroff-n3",
           check=True)
    r = n1.wait_for(["cat", "/run/swpcs-harness/poweroff-n3.done"], timeout=5)
    done = json.loads(r.stdout)
    assert done["ok"] and done["node"] == "n3" and done["time"]
    assert not _sys.alive(pid1) and not n3.running
    assert not n1.exists("/run/swpcs-harness/poweroff-n3")
    cluster.start(3)
    assert n3.running


# ------------------------------------------------------------------ lifecycle of the harness itself

def test_links1_and_teardown_leaves_nothing():
    with Cluster(nodes=2, links=1, prefix="swu") as c:
        c.boot()
        assert c.node(1).ping(2) is not None
        with pytest.raises(HarnessError):
            c.cut_link(1, 1)
        assert "eth1" not in c.node(1).run(["ip", "-br", "link"], check=True).stdout
        pids = [p for n in c for p in (n.pid1, n.nspawn_pid)]
        locks = [n.lock_name for n in c]
        assert all(Path("/run/systemd/nspawn/locks", x).exists() for x in locks)
    assert not any(_sys.alive(p) for p in pids)
    assert leftovers("swu", lock_names=locks) == {
        "mounts": [], "processes": [], "cgroups": [], "base_dir": [], "propagate": [], "locks": []}
    assert "swu" not in subprocess.run(["findmnt", "-l"], capture_output=True, text=True).stdout
    assert not Path("/run/swpcs-harness-swu.lock").exists()


OWNER_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {harness!r})
    from swpcs_harness import Cluster
    c = Cluster(nodes=2, links=1, prefix="swv").open()
    c.boot()
    print(" ".join(str(p) for n in c for p in (n.pid1, n.nspawn_pid)), flush=True)
    time.sleep(60)
""")


def _owner(tmp_path):
    script = tmp_path / "owner.py"
    script.write_text(OWNER_SCRIPT.format(harness=HARNESS_DIR))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = [int(x) for x in p.stdout.readline().split()]
    assert len(pids) == 4 and all(_sys.alive(x) for x in pids)
    return p, pids


def test_sigterm_to_owner_cleans_up(tmp_path):
    p, pids = _owner(tmp_path)
    p.send_signal(signal.SIGTERM)
    assert p.wait(20) == 128 + signal.SIGTERM
    assert not any(_sys.alive(x) for x in pids)
    assert leftovers("swv") == {"mounts": [], "processes": [], "cgroups": [], "base_dir": [], "propagate": [],
                                "locks": []}


def test_crashed_owner_leftovers_cleaned_at_next_start(tmp_path):
    p, pids = _owner(tmp_path)
    p.kill()                       # no cleanup at all
    p.wait(10)
    assert all(_sys.alive(x) for x in pids)
    assert leftovers("swv")["mounts"]
    with Cluster(nodes=1, links=1, prefix="swv") as c:
        assert not any(_sys.alive(x) for x in pids)
        c.boot()
        assert c.node(1).running
    assert leftovers("swv")["mounts"] == []


def test_repo_build_installs_and_runs():
    """The real products (Swift runtime from the host's /opt/swift via the lower layer) run in a node."""
    try:
        spec = InstallSpec.from_repo(conf_text="[cluster]\nname = x\n")
    except HarnessError as e:
        pytest.skip(str(e))
    with Cluster(nodes=1, links=1, prefix="swu", install=spec) as c:
        c.boot()
        n = c.node(1)
        for product in spec.binaries:
            assert n.run(["readlink", f"/usr/sbin/{product}"], check=True).stdout.strip() == \
                f"/opt/swpcs-harness/bin/{product}"
            assert "not found" not in n.run(["ldd", f"/usr/sbin/{product}"], check=True).stdout
        assert n.run(["swpcs", "--help"], check=True).stdout.startswith("OVERVIEW")
        for unit in sorted(p.name for p in Path(spec.units_dir).glob("*.service")):
            assert n.systemctl("cat", unit, check=False).returncode == 0
