"""Cluster tier for fencing: real systemd nodes, the project's fence agent (agents/fence_swpcs_harness)
installed as /usr/sbin/fence_swpcs_harness, which asks the host side of the harness to power container
nodes off; real partitions and power kills. The service's heartbeat file proves it never ran twice."""

import json
import shutil
import time
from pathlib import Path

import pytest

from swpcs_harness import Cluster, InstallSpec

REPO = Path(__file__).resolve().parents[2]
AGENT = (REPO / "agents" / "fence_swpcs_harness").read_text()

DEMO_WEB = """\
[Unit]
Description=demo web server (swpcs fencing tests)

[Service]
ExecStart=/bin/sh -c 'while :; do echo "$(hostname) $(date +%%s.%%N)" >> /run/swpcs-harness/%N.beats; sleep 0.1; done & exec /usr/bin/python3 -m http.server 8080'
Restart=always
"""

# Its stop hangs (longer than the resource's stop timeout) while the flag file exists in the
# harness's shared directory; its heartbeats run until the node is powered off.
DEMO_STUCK = """\
[Unit]
Description=demo service whose stop hangs (swpcs fencing tests)

[Service]
ExecStart=/bin/sh -c 'while :; do echo "$(hostname) $(date +%%s.%%N)" >> /run/swpcs-harness/%N.beats; sleep 0.1; done'
ExecStop=/bin/sh -c 'if [ -e /run/swpcs-harness/stuck-stop ]; then exec sleep 600; fi; kill $MAINPID'
TimeoutStopSec=900
"""


def conf(nodes, quorum=""):
    lines = ["[cluster]", "name = fencecluster", "", "[quorum]", quorum, ""]
    for i in range(1, nodes + 1):
        lines += [f"[node n{i}]", f"id = {i}", f"addr = 192.0.2.{10 + i}", ""]
    return "\n".join(lines)


def wait(predicate, timeout=15.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (AssertionError, ValueError, KeyError, IndexError, json.JSONDecodeError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last={last!r}")


def swpcs(node, *args, check=True, timeout=60):
    r = node.run(["swpcs", *args], timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"[{node.name}] swpcs {' '.join(args)} failed ({r.returncode}): {r.stderr}{r.stdout}")
    return r


def live(cluster):
    return [n for n in cluster if n.running]


def status(node):
    return json.loads(swpcs(node, "status", "--output", "json").stdout)


def node_states(node):
    return {n["name"]: n["state"] for n in status(node)["nodes"]}


def history(node):
    return json.loads(swpcs(node, "stonith", "history", "--output", "json").stdout)


def started_on(node, rid):
    r = next(r for r in status(node)["resources"] if r["id"] == rid)
    return r["node"] if r["role"] == "Started" and len(r["nodes"]) == 1 else None


def active_units(nodes, unit):
    return [n.name for n in nodes if n.running and n.run(["systemctl", "is-active", unit]).stdout.strip() == "active"]


def heartbeat_runs(text):
    """{node: [[first, last]]}: runs of consecutive heartbeats (gap < 0.5 s)."""
    runs = {}
    for line in text.splitlines():
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


def assert_never_twice(beats_text):
    intervals = sorted((a, b, node) for node, rs in heartbeat_runs(beats_text).items() for a, b in rs)
    for (a1, b1, n1), (a2, b2, n2) in zip(intervals, intervals[1:]):
        assert n1 == n2 or a2 > b1, f"{n1} ran until {b1:.3f} but {n2} started at {a2:.3f}"
    return intervals


def install(tmp_path_factory, nodes, quorum=""):
    units = tmp_path_factory.mktemp("units")
    (units / "demo-web.service").write_text(DEMO_WEB)
    (units / "demo-stuck.service").write_text(DEMO_STUCK)
    for unit in (REPO / "units").glob("*.service"):
        shutil.copy(unit, units / unit.name)
    return InstallSpec.from_repo(conf_text=conf(nodes, quorum), units_dir=units,
                                 files={"/usr/sbin/fence_swpcs_harness": (AGENT, 0o755)})


def start_cluster(c, count):
    c.boot()
    for n in c:
        n.systemctl("start", "swcorosync", "swpacemaker")
    wait(lambda: status(c.node(1))["dc"] and list(node_states(c.node(1)).values()).count("online") == count, 30,
         f"{count} online nodes")


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    with Cluster(nodes=3, links=1, prefix="swf", install=install(tmp_path_factory, 3)) as c:
        start_cluster(c, 3)
        swpcs(c.node(1), "stonith", "create", "harness", "fence_swpcs_harness", "pcmk_host_list=n1 n2 n3",
              "op", "monitor", "interval=30s")
        wait(lambda: started_on(c.node(1), "harness"), 20, "fence device started")
        yield c


@pytest.fixture
def fresh(three):
    """All three nodes up and online, the device healthy, no service, the beats file empty."""
    c = three
    c.heal()
    for i in (1, 2, 3):
        n = c.node(i)
        if not n.running:
            c.start(i)
        # A node the harness rebooted (fencing-action reboot) may still be booting.
        wait(lambda: n.run(["systemctl", "start", "swcorosync", "swpacemaker"]).returncode == 0, 30,
             f"cluster services on {n.name}", interval=0.2)
    try:
        wait(lambda: list(node_states(c.node(1)).values()).count("online") == 3, 30, "3 online nodes")
    except AssertionError:
        for n in c:
            print(n.name, n.running, n.run("journalctl -u swpacemaker -n 60 --no-pager").stdout)
        raise
    n1 = c.node(1)
    swpcs(n1, "stonith", "update", "harness", "fail=", "hang=", "pretend=", "pcmk_reboot_timeout=")
    swpcs(n1, "property", "set", "stonith-max-attempts=")
    swpcs(n1, "property", "set", "fencing-reaction=")
    swpcs(n1, "stonith", "cleanup")
    Path(c.hook, "stuck-stop").unlink(missing_ok=True)
    for name in ("web", "stuck"):
        swpcs(n1, "resource", "delete", name, check=False)
    wait(lambda: active_units(c, "demo-web") == [] and active_units(c, "demo-stuck") == [], 20, "services stopped")
    for unit in ("demo-web", "demo-stuck"):
        Path(c.hook, f"{unit}.beats").unlink(missing_ok=True)
    c.fence_log.clear()
    yield c


def create_web(c):
    swpcs(live(c)[0], "resource", "create", "web", "systemd:demo-web", "op", "monitor", "interval=10s")
    return wait(lambda: started_on(live(c)[0], "web"), 20, "web started")


def answering(nodes):
    for n in nodes:
        r = n.run(["python3", "-c",
                   "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/', timeout=0.5)"])
        if r.returncode == 0:
            return n.name
    return None


def test_stonith_cli_config_describe_levels(fresh):
    n1 = fresh.node(1)
    text = swpcs(n1, "stonith", "config").stdout
    assert "Resource: harness (class=stonith type=fence_swpcs_harness)" in text, text
    assert "pcmk_host_list=n1 n2 n3" in text
    described = swpcs(n1, "stonith", "describe", "fence_swpcs_harness").stdout
    assert "hook_dir" in described and "Actions:" in described, described
    assert "fence_swpcs_harness" in swpcs(n1, "stonith", "list").stdout
    swpcs(n1, "stonith", "level", "add", "1", "n2", "harness")
    assert "Level 1 - harness" in swpcs(n1, "stonith", "level").stdout
    swpcs(n1, "stonith", "level", "clear")
    r = swpcs(n1, "stonith", "confirm", "n2", check=False)
    assert r.returncode != 0 and "--yes" in r.stderr
    r = swpcs(n1, "stonith", "confirm", "n2", "--yes", check=False)
    assert r.returncode != 0 and "member" in r.stderr


def test_partitioned_holder_is_powered_off_and_its_service_runs_on_the_majority_never_twice(fresh):
    c = fresh
    holder = create_web(c)
    k = int(holder[1:])
    majority = [n for n in c if n.name != holder]
    t0 = time.time()
    c.isolate(k)
    fence = wait(lambda: next((f for f in c.fence_log if f["node"] == holder), None), 20, "holder fenced")
    assert fence["ok"] and fence["action"] in ("reboot", "poweroff"), fence
    new = wait(lambda: answering(majority), 20, "service answering on the majority")
    took = time.time() - t0
    time.sleep(1)
    intervals = assert_never_twice(Path(c.hook, "demo-web.beats").read_text())
    # The majority started the service only after the holder was powered off.
    firsts = [a for a, b, node in intervals if node == new]
    assert firsts and firsts[0] > fence["time"], (firsts[:1], fence)
    states = node_states(majority[0])
    assert states[holder] == "offline", states
    entries = history(majority[0])
    assert entries[-1]["target"] == holder and entries[-1]["result"] == "success", entries
    text = swpcs(majority[0], "status", "--full").stdout
    assert "Fencing History:" in text and f"of {holder} successful" in text, text
    print(f"isolate -> fenced {fence['time'] - t0:.2f}s -> service on {new} {took:.2f}s")


def test_manual_fence_powers_a_node_off(fresh):
    c = fresh
    r = swpcs(c.node(1), "stonith", "fence", "n3", "--off", timeout=120)
    assert "fenced" in r.stdout
    assert any(f["node"] == "n3" and f["action"] == "poweroff" for f in c.fence_log), c.fence_log
    wait(lambda: not c.node(3).running, 10, "n3 down")
    wait(lambda: node_states(c.node(1))["n3"] == "offline", 15, "n3 offline (fenced, not unclean)")


def test_failed_agent_keeps_the_node_unclean_and_blocked_until_confirm(fresh):
    c = fresh
    n1 = c.node(1)
    swpcs(n1, "property", "set", "stonith-max-attempts=2")
    swpcs(n1, "stonith", "update", "harness", "fail=1")
    holder = create_web(c)
    survivors = [n for n in c if n.name != holder]
    killed = c.power_kill(int(holder[1:]))
    wait(lambda: node_states(survivors[0])[holder] == "unclean", 15, "holder UNCLEAN")
    wait(lambda: len([e for e in history(survivors[0])
                      if e["target"] == holder and e["result"] == "failed" and e["at"] > killed * 1000]) >= 2,
         30, "two failed fence attempts")
    time.sleep(3)
    assert active_units(survivors, "demo-web") == [], "recovery must wait for a fence"
    assert node_states(survivors[1])[holder] == "unclean"
    text = swpcs(survivors[0], "status").stdout
    assert f"Node {holder}: UNCLEAN (offline)" in text, text
    failed = [e for e in history(survivors[1]) if e["target"] == holder and e["at"] > killed * 1000]
    assert len(failed) == 2 and all(e["result"] == "failed" and "fail=1" in e["detail"] for e in failed), failed
    t0 = time.time()
    swpcs(survivors[0], "stonith", "confirm", holder, "--yes")
    new = wait(lambda: answering(survivors), 20, "service recovered after confirm")
    print(f"confirm -> service on {new} in {time.time() - t0:.2f}s")
    assert node_states(survivors[0])[holder] == "offline"
    assert history(survivors[1])[-1]["result"] == "confirmed"


def test_hung_agent_is_killed_at_its_timeout(fresh):
    c = fresh
    n1 = c.node(1)
    swpcs(n1, "property", "set", "stonith-max-attempts=1")
    swpcs(n1, "stonith", "update", "harness", "hang=1", "pcmk_reboot_timeout=3s")
    holder = create_web(c)
    survivors = [n for n in c if n.name != holder]
    t0 = c.power_kill(int(holder[1:]))
    entry = wait(lambda: next((e for e in history(survivors[0]) if e["target"] == holder and e["at"] > t0 * 1000),
                              None), 30, "a fence result")
    assert entry["result"] == "failed" and "timeout" in entry["detail"], entry
    took = entry["at"] / 1000 - t0
    # Bounded by detection + the 3 s agent timeout + the kill grace, with slack for a loaded machine:
    # a hung agent must not hold recovery for the default 60 s.
    assert took < 3 + 1 + 3 + 8, f"fence result {took:.2f}s after the kill (detection + 3 s timeout + kill grace)"
    print(f"hung agent: failed {took:.2f}s after the kill")
    # Nothing of the agent is left on the executor.
    executor = c.node(entry["executor"])
    assert executor.run("pgrep -f '^/usr/bin/python3 /usr/sbin/fence_swpcs_harness' || true").stdout.strip() == ""
    assert active_units(survivors, "demo-web") == []
    swpcs(survivors[0], "stonith", "confirm", holder, "--yes")
    wait(lambda: answering(survivors), 20, "service recovered after confirm")


def test_failed_stop_fences_the_member_and_the_service_runs_elsewhere(fresh):
    """on-fail=fence (the default for stop with fencing): the stop of the holder times out, another
    node fences it through the harness, and the service then starts on the move's target."""
    c = fresh
    n1 = c.node(1)
    swpcs(n1, "resource", "create", "stuck", "systemd:demo-stuck", "op", "monitor", "interval=10s",
          "op", "stop", "timeout=3s")
    holder = wait(lambda: started_on(n1, "stuck"), 20, "stuck started")
    others = [n for n in c if n.name != holder]
    target = others[-1].name
    Path(c.hook, "stuck-stop").touch()
    t0 = time.time()
    swpcs(others[0], "resource", "move", "stuck", target)
    fence = wait(lambda: next((f for f in c.fence_log if f["node"] == holder), None), 30, "holder fenced")
    assert fence["ok"] and fence["action"] == "reboot", fence
    new = wait(lambda: started_on(others[0], "stuck"), 30, "stuck started after the fence")
    assert new == target
    Path(c.hook, "stuck-stop").unlink()
    entry = next(e for e in reversed(history(others[0])) if e["target"] == holder)
    assert entry["result"] == "success" and entry["executor"] != holder, entry
    time.sleep(1)
    intervals = assert_never_twice(Path(c.hook, "demo-stuck.beats").read_text())
    firsts = [a for a, b, node in intervals if node == target]
    assert firsts and firsts[0] > fence["time"], (firsts[:1], fence)
    print(f"move -> holder fenced {fence['time'] - t0:.2f}s -> running on {target} {firsts[0] - t0:.2f}s")
    swpcs(others[0], "resource", "clear", "stuck")


def test_fencing_reaction_panic_reboots_a_node_that_learns_it_was_fenced(fresh):
    """A device that reports success without acting (pretend=1): the "fenced" node is still running
    when the result arrives and, with fencing-reaction=panic, reboots at once (in a container the
    kernel ends its PID 1 with a reboot status: systemd-nspawn exits with 133)."""
    c = fresh
    n1, n3 = c.node(1), c.node(3)
    swpcs(n1, "property", "set", "fencing-reaction=panic")
    swpcs(n1, "stonith", "update", "harness", "pretend=1")
    c.fence_log.clear()
    r = swpcs(n1, "stonith", "fence", "n3", timeout=120)
    assert "fenced" in r.stdout, r.stdout
    wait(lambda: not n3.running, 20, "n3 rebooted itself")
    assert n3.popen.wait(10) == 133, f"nspawn exit {n3.popen.returncode}: {c.console_tail(3)}"
    assert c.fence_log == [], "the harness powered nothing off"
    assert history(n1)[-1]["target"] == "n3" and history(n1)[-1]["result"] == "success"


def test_fencing_reaction_stop_leaves_the_cluster(fresh):
    c = fresh
    n1, n3 = c.node(1), c.node(3)
    swpcs(n1, "stonith", "update", "harness", "pretend=1")
    c.fence_log.clear()
    swpcs(n1, "stonith", "fence", "n3", timeout=120)
    wait(lambda: n3.run(["systemctl", "is-active", "swpacemaker"]).stdout.strip() != "active", 30,
         "swpacemaker stopped on n3")
    assert n3.running and c.fence_log == []
    assert "fenced while running" in n3.run("journalctl -u swpacemaker -n 50 --no-pager").stdout


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    with Cluster(nodes=2, links=1, prefix="swg",
                 install=install(tmp_path_factory, 2, quorum="two_node = true")) as c:
        start_cluster(c, 2)
        swpcs(c.node(1), "stonith", "create", "harness", "fence_swpcs_harness", "pcmk_host_list=n1 n2",
              "pcmk_delay_max=3s", "op", "monitor", "interval=30s")
        swpcs(c.node(1), "property", "set", "stonith-action=off")
        # pcmk_delay_max alone only makes a double fence less likely (two random delays closer than
        # the time a fence takes kill both nodes, in Pacemaker too); priority-fencing-delay decides the
        # race for the node running the higher-priority resources, as Pacemaker recommends for two nodes.
        swpcs(c.node(1), "property", "set", "priority-fencing-delay=6s")
        wait(lambda: started_on(c.node(1), "harness"), 20, "fence device started")
        yield c


def test_two_node_split_exactly_one_survives_and_runs_the_service(two):
    c = two
    swpcs(live(c)[0], "resource", "create", "web", "systemd:demo-web", "meta", "priority=10",
          "op", "monitor", "interval=10s")
    holder = wait(lambda: started_on(live(c)[0], "web"), 20, "web started")
    Path(c.hook, "demo-web.beats").unlink(missing_ok=True)
    time.sleep(0.5)
    c.fence_log.clear()
    t0 = time.time()
    c.partition([[1], [2]])
    wait(lambda: any(f["ok"] for f in c.fence_log), 20, "one side fenced the other")
    time.sleep(10)  # longer than priority-fencing-delay + pcmk_delay_max: a second fence would have fired
    survivors = [n for n in c if n.running]
    assert len(survivors) == 1, f"both fenced each other: {c.fence_log}"
    survivor = survivors[0]
    assert survivor.name == holder, f"the node running web (priority 10) wins: {c.fence_log}"
    assert [f["node"] for f in c.fence_log] == [n.name for n in c if n is not survivor], c.fence_log
    new = wait(lambda: answering([survivor]), 20, "service on the survivor")
    assert new == survivor.name
    time.sleep(1)
    assert_never_twice(Path(c.hook, "demo-web.beats").read_text())
    print(f"split -> fenced {c.fence_log[0]['time'] - t0:.2f}s; survivor {survivor.name} (holder was {holder})")


def test_startup_fencing_fences_a_node_never_seen_before_starting_anything(tmp_path_factory):
    """n3 is configured but never started: after dc-deadtime (20 s) the quorate n1+n2 fence it
    (startup-fencing), and the service starts only after that."""
    with Cluster(nodes=3, links=1, prefix="swh", install=install(tmp_path_factory, 3)) as c:
        c.boot(nodes=[1, 2])
        for i in (1, 2):
            c.node(i).systemctl("start", "swcorosync", "swpacemaker")
        n1 = c.node(1)
        wait(lambda: status(n1)["dc"] and list(node_states(n1).values()).count("online") == 2, 30, "n1+n2 online")
        t0 = time.time()
        swpcs(n1, "stonith", "create", "harness", "fence_swpcs_harness", "pcmk_host_list=n1 n2 n3")
        swpcs(n1, "resource", "create", "web", "systemd:demo-web", "op", "monitor", "interval=10s")
        time.sleep(3)
        assert active_units(c, "demo-web") == [], "nothing starts while n3 may still appear"
        assert any("dc-deadtime" in w for w in status(n1)["warnings"]), status(n1)["warnings"]
        fence = wait(lambda: next((f for f in c.fence_log if f["node"] == "n3"), None), 40, "n3 fenced")
        assert fence["ok"], fence
        entry = next(e for e in history(n1) if e["target"] == "n3")
        assert entry["result"] == "success", entry
        new = wait(lambda: answering([c.node(1), c.node(2)]), 30, "web answering")
        intervals = assert_never_twice(Path(c.hook, "demo-web.beats").read_text())
        assert intervals[0][0] > entry["at"] / 1000, (intervals[:1], entry)
        print(f"n3 fenced {entry['at'] / 1000 - t0:.2f}s after the device was created; web on {new}")
