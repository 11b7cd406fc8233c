"""Cluster tier for swpacemakerd: real systemd nodes, swcorosync + swpacemakerd installed from units/
and started with systemctl, resources created with the real swpcs CLI, real faults."""

import json
import time

import pytest

from swpcs_harness import Cluster, InstallSpec, wait_until

PREFIX = "swr"
VIP = "192.0.2.100"

# The service writes a heartbeat line (node, wall time) every 100 ms into the harness's shared
# directory: the evidence that it never runs on two nodes at once.
DEMO_WEB = """\
[Unit]
Description=demo web server (swpcs cluster tests)

[Service]
ExecStart=/bin/sh -c 'while :; do echo "$(hostname) $(date +%%s.%%N)" >> /run/swpcs-harness/%N.beats; sleep 0.1; done & exec /usr/bin/python3 -m http.server 8080'
Restart=always
"""


def conf(nodes):
    lines = ["[cluster]", "name = rmcluster", ""]
    for i in range(1, nodes + 1):
        lines += [f"[node n{i}]", f"id = {i}", f"addr = 192.0.2.{10 + i}", ""]
    return "\n".join(lines)


def wait(predicate, timeout=15.0, what="condition", interval=0.05):
    return wait_until(predicate, timeout, what, interval)


def swpcs(node, *args, check=True):
    r = node.run(["swpcs", *args], timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"[{node.name}] swpcs {' '.join(args)} failed ({r.returncode}): {r.stderr}{r.stdout}")
    return r


def status(node):
    return json.loads(swpcs(node, "status", "--output", "json").stdout)


def live(cluster):
    return [n for n in cluster if n.running]


def resource(cluster, rid):
    s = status(live(cluster)[0])
    return next(r for r in s["resources"] if r["id"] == rid)


def active_units(cluster, unit):
    return [n.name for n in live(cluster)
            if n.run(["systemctl", "is-active", unit]).stdout.strip() == "active"]


def started_on(cluster, rid):
    r = resource(cluster, rid)
    return r["node"] if r["role"] == "Started" and len(r["nodes"]) == 1 else None


def idle(cluster):
    s = status(live(cluster)[0])
    return s["transition"] == [] and s


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    units = tmp_path_factory.mktemp("units")
    (units / "demo-web.service").write_text(DEMO_WEB)
    (units / "demo-web2.service").write_text(DEMO_WEB.replace("8080", "8081"))
    import shutil
    from pathlib import Path
    for unit in Path(__file__).resolve().parents[2].joinpath("units").glob("*.service"):
        shutil.copy(unit, units / unit.name)
    spec = InstallSpec.from_repo(conf_text=conf(3), units_dir=units)
    with Cluster(nodes=3, links=1, prefix=PREFIX, install=spec) as c:
        c.boot()
        for n in c:
            n.systemctl("start", "swcorosync", "swpacemaker")
        wait(lambda: status(c.node(1))["dc"] and len([x for x in status(c.node(1))["nodes"]
                                                         if x["state"] == "online"]) == 3, 20, "3 online nodes")
        swpcs(c.node(1), "property", "set", "stonith-enabled=false")
        yield c


@pytest.fixture
def fresh(cluster):
    """Every test starts with all nodes up, online, and no resources."""
    for i in (1, 2, 3):
        n = cluster.node(i)
        if not n.running:
            cluster.start(i)
            n.systemctl("start", "swcorosync", "swpacemaker")
    wait(lambda: len([x for x in status(cluster.node(1))["nodes"] if x["state"] == "online"]) == 3, 20,
         "3 online nodes")
    yield cluster
    for i in (1, 2, 3):
        n = cluster.node(i)
        if not n.running:
            cluster.start(i)
        n.systemctl("start", "swcorosync", "swpacemaker")
    wait(lambda: len([x for x in status(cluster.node(1))["nodes"] if x["state"] in ("online", "standby")]) == 3,
         20, "3 nodes back")
    n1 = live(cluster)[0]
    for r in status(n1)["resources"]:
        swpcs(n1, "resource", "delete", r["id"], check=False)
    for i in (1, 2, 3):
        swpcs(n1, "node", "unstandby", f"n{i}", check=False)
    wait(lambda: not status(live(cluster)[0])["resources"], 20, "resources deleted")
    wait(lambda: active_units(cluster, "demo-web") == [] and active_units(cluster, "demo-web2") == [], 20,
         "units stopped")
    swpcs(live(cluster)[0], "resource", "cleanup", check=False)


def create_web(cluster, *extra):
    n1 = live(cluster)[0]
    swpcs(n1, "resource", "create", "web", "systemd:demo-web", "op", "monitor", "interval=10s", *extra)
    return wait(lambda: started_on(cluster, "web"), 20, "web started")


def test_service_runs_on_exactly_one_node(fresh):
    holder = create_web(fresh)
    assert active_units(fresh, "demo-web") == [holder]
    text = swpcs(fresh.node(1), "status").stdout
    assert "web\t(systemd:demo-web):\t Started " + holder in text, text
    # The cluster drop-in keeps systemd from restarting the unit behind the cluster's back.
    holder_node = fresh.node(int(holder[1:]))
    assert "Restart=no" in holder_node.read_file("/run/systemd/system/demo-web.service.d/50-swpcs.conf")


def test_killed_service_is_restarted_in_place_within_a_second(fresh):
    holder = create_web(fresh)
    node = fresh.node(int(holder[1:]))
    node.run(["systemctl", "kill", "-s", "SIGKILL", "demo-web"])
    t0 = time.monotonic()
    wait(lambda: node.run(["systemctl", "is-active", "demo-web"]).stdout.strip() != "active", 2, "unit down",
         interval=0.01)
    wait(lambda: node.run(["systemctl", "is-active", "demo-web"]).stdout.strip() == "active", 5, "unit back",
         interval=0.02)
    took = time.monotonic() - t0
    assert took < 1.0, f"restart in place took {took:.3f}s"
    assert started_on(fresh, "web") == holder
    assert resource(fresh, "web")["failcount"] == {holder: 1}


def test_failures_past_migration_threshold_move_the_service(fresh):
    holder = create_web(fresh, "meta", "migration-threshold=2")
    node = fresh.node(int(holder[1:]))
    for _ in range(2):
        node.run(["systemctl", "kill", "-s", "SIGKILL", "demo-web"])
        time.sleep(1.5)
    new = wait(lambda: (lambda h: h if h and h != holder else None)(started_on(fresh, "web")), 15, "move")
    assert active_units(fresh, "demo-web") == [new]


def test_standby_moves_the_service_off(fresh):
    holder = create_web(fresh)
    swpcs(fresh.node(1), "node", "standby", holder)
    new = wait(lambda: (lambda h: h if h and h != holder else None)(started_on(fresh, "web")), 15, "move")
    assert active_units(fresh, "demo-web") == [new]
    s = status(fresh.node(1))
    assert {n["name"]: n["state"] for n in s["nodes"]}[holder] == "standby"


def heartbeat_runs(path_text):
    """{node: [(first, last)]} runs of consecutive heartbeats (gap < 0.5 s)."""
    runs = {}
    for line in path_text.splitlines():
        try:
            node, ts = line.split()
            t = float(ts)
        except ValueError:
            continue
        r = runs.setdefault(node, [])
        if r and t - r[-1][1] < 0.5:
            r[-1][1] = t
        else:
            r.append([t, t])
    return runs


def test_power_kill_of_the_holder_fails_over_within_3s_and_never_runs_twice(fresh):
    holder = create_web(fresh)
    killed = fresh.power_kill(int(holder[1:]))
    survivors = [n for n in fresh if n.name != holder]
    beats = survivors[0]

    def answering():
        for n in survivors:
            r = n.run(["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/', timeout=0.5)"])
            if r.returncode == 0:
                return n.name
        return None

    new = wait(answering, 10, "service answering on a survivor", interval=0.05)
    took = time.time() - killed
    assert took < 3.0, f"failover took {took:.3f}s"
    time.sleep(1)
    runs = heartbeat_runs(beats.read_file("/run/swpcs-harness/demo-web.beats"))
    intervals = sorted((a, b, node) for node, rs in runs.items() for a, b in rs)
    for (a1, b1, n1), (a2, b2, n2) in zip(intervals, intervals[1:]):
        assert n1 == n2 or a2 > b1, f"{n1} ran until {b1:.3f} but {n2} started at {a2:.3f}"
    assert started_on(fresh, "web") == new


@pytest.mark.skipif(not __import__("os").path.exists("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"),
                    reason="Debian's resource-agents is not installed")
def test_ocf_dummy_and_ipaddr2_start_monitor_and_move(fresh):
    n1 = fresh.node(1)
    swpcs(n1, "resource", "create", "dummy", "ocf:heartbeat:Dummy", "op", "monitor", "interval=5s")
    swpcs(n1, "resource", "create", "vip", "ocf:heartbeat:IPaddr2", f"ip={VIP}", "cidr_netmask=25",
          "op", "monitor", "interval=5s")
    d = wait(lambda: started_on(fresh, "dummy"), 20, "dummy started")
    v = wait(lambda: started_on(fresh, "vip"), 20, "vip started")
    other = next(n for n in fresh if n.name != v)
    wait(lambda: other.ping(VIP) is not None, 10, "vip reachable from another node")
    swpcs(n1, "node", "standby", v)
    v2 = wait(lambda: (lambda h: h if h and h != v else None)(started_on(fresh, "vip")), 20, "vip moved")
    other = next(n for n in fresh if n.name not in (v2,))
    wait(lambda: other.ping(VIP) is not None, 10, "vip reachable after the move")
    swpcs(n1, "node", "standby", d)
    wait(lambda: (lambda h: h if h and h != d else None)(started_on(fresh, "dummy")), 20, "dummy moved")


@pytest.mark.skipif(not __import__("os").path.exists("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"),
                    reason="Debian's resource-agents is not installed")
def test_group_of_ip_and_web_moves_as_one_in_order(fresh):
    n1 = fresh.node(1)
    swpcs(n1, "resource", "create", "gip", "ocf:heartbeat:IPaddr2", f"ip={VIP}", "cidr_netmask=25",
          "--group", "site")
    swpcs(n1, "resource", "create", "gweb", "systemd:demo-web2", "--group", "site")
    holder = wait(lambda: started_on(fresh, "gip"), 20, "group started")
    assert wait(lambda: started_on(fresh, "gweb"), 20, "web in group") == holder
    swpcs(n1, "node", "standby", holder)
    new = wait(lambda: (lambda h: h if h and h != holder and started_on(fresh, "gweb") == h else None)(
        started_on(fresh, "gip")), 20, "group moved")
    node = fresh.node(int(new[1:]))
    log = node.run(["journalctl", "-u", "swpacemaker", "-o", "cat", "--no-pager"]).stdout
    ip_at = log.rfind(f"start gip on {new}: ok, rc=0")
    web_at = log.rfind(f"start gweb on {new}: ok, rc=0")
    assert 0 <= ip_at < web_at, "the IP starts before the web server on the new node"


def test_swpacemakerd_stops_its_resources_when_swcorosync_dies(fresh):
    holder = create_web(fresh)
    node = fresh.node(int(holder[1:]))
    node.run(["systemctl", "kill", "-s", "SIGKILL", "swcorosync"])
    # Here: the service is stopped and the resource manager is no longer a cluster member.
    wait(lambda: node.run(["systemctl", "is-active", "demo-web"]).stdout.strip() != "active", 10,
         "local service stopped")
    wait(lambda: node.run(["systemctl", "is-active", "swpacemaker"]).stdout.strip() != "active", 10,
         "swpacemakerd gone")
    journal = node.run(["journalctl", "-u", "swpacemaker", "-o", "cat", "--no-pager"]).stdout
    assert "swcorosync" in journal and ("went away" in journal or "stopping" in journal.lower()), journal[-2000:]
    # Elsewhere: the service is recovered on another node.
    others = [n for n in fresh if n.name != holder]
    new = wait(lambda: (lambda h: h if h and h != holder else None)(
        next(r for r in status(others[0])["resources"] if r["id"] == "web")["node"]), 15, "recovered elsewhere")
    assert active_units(fresh, "demo-web") == [new]
    node.systemctl("start", "swcorosync", "swpacemaker")
