"""Cluster tier for swcorosync: real systemd nodes in containers, installed from units/ like a user
would, real UDP between network namespaces, real faults (isolation, power loss, link cuts)."""

import json
import time

import pytest

from swpcs_harness import Cluster, InstallSpec

PREFIX = "swm"


def conf(nodes, links=2, quorum="", timeout="1000ms"):
    lines = ["[cluster]", "name = testcluster", "port = 5405", f"failure_timeout = {timeout}", "",
             "[quorum]", quorum, ""]
    for i in range(1, nodes + 1):
        lines += [f"[node n{i}]", f"id = {i}", f"addr = 192.0.2.{10 + i}"]
        if links == 2:
            lines.append(f"addr = 192.0.2.{138 + i}")
        lines.append("")
    return "\n".join(lines)


def status(node):
    r = node.run(["swpcs", "quorum", "status", "--output", "json"], timeout=10)
    if r.returncode not in (0, 2):
        raise AssertionError(f"[{node.name}] swpcs failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)


def wait(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (AssertionError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last={last!r}")


def members(node):
    return sorted(m["name"] for m in status(node)["members"])


def agreed(cluster, names):
    sts = [status(cluster.node(n)) for n in names]
    ok = (len({s["viewId"] for s in sts}) == 1
          and all(sorted(m["name"] for m in s["members"]) == sorted(names) for s in sts))
    return sts if ok else None


def start_all(cluster, count):
    for i in range(1, count + 1):
        cluster.node(i).systemctl("start", "swcorosync")
    names = [f"n{i}" for i in range(1, count + 1)]
    return wait(lambda: agreed(cluster, names), 15, f"one view of {names}")


@pytest.fixture(scope="module")
def three():
    spec = InstallSpec.from_repo(conf_text=conf(3))
    with Cluster(nodes=3, links=2, prefix=PREFIX, install=spec) as c:
        c.boot()
        start_all(c, 3)
        yield c


@pytest.fixture
def healthy(three):
    """Each test starts from one quorate view of all three nodes, with the network healed."""
    three.heal()
    for i in (1, 2, 3):
        n = three.node(i)
        if not n.running:
            three.start(i)
        if n.run(["systemctl", "is-active", "swcorosync"]).stdout.strip() != "active":
            n.systemctl("start", "swcorosync")
    wait(lambda: agreed(three, ["n1", "n2", "n3"]), 15, "healthy three-node view")
    return three


def test_installed_unit_is_notify_type_and_reports_status(healthy):
    n1 = healthy.node(1)
    show = n1.run(["systemctl", "show", "swcorosync", "-p", "Type,ActiveState,StatusText,WatchdogUSec,MainPID"]).stdout
    assert "Type=notify" in show and "ActiveState=active" in show, show
    assert "StatusText=view" in show and "quorate" in show, show
    journal = n1.run(["journalctl", "-u", "swcorosync", "-o", "cat", "--no-pager"]).stdout
    assert "installed: members n1 n2 n3" in journal, journal[-3000:]


def test_three_nodes_form_one_quorate_view(healthy):
    sts = agreed(healthy, ["n1", "n2", "n3"])
    for s in sts:
        assert s["quorum"]["quorate"]
        assert s["quorum"]["totalVotes"] == 3 and s["quorum"]["quorum"] == 2
        for node in s["nodes"]:
            assert all(link["up"] for link in node["links"]), node
    r = healthy.node(1).run(["swpcs", "quorum", "status"])
    assert r.returncode == 0 and "Quorate:          Yes" in r.stdout, r.stdout


def test_isolated_node_loses_quorum_and_heal_merges(healthy):
    c = healthy
    t0 = time.time()
    c.isolate(3)
    wait(lambda: agreed(c, ["n1", "n2"]), 5, "pair view")
    s3 = wait(lambda: (lambda s: s if [m["name"] for m in s["members"]] == ["n3"] else None)(status(c.node(3))),
              5, "n3 alone")
    assert not s3["quorum"]["quorate"]
    assert s3["viewInstalledAt"] - t0 < 1.5
    assert c.node(3).run(["swpcs", "quorum", "status"]).returncode == 2
    for n in (1, 2):
        assert status(c.node(n))["quorum"]["quorate"]
    c.heal()
    sts = wait(lambda: agreed(c, ["n1", "n2", "n3"]), 5, "merged view")
    assert all(s["quorum"]["quorate"] for s in sts)


def test_power_kill_is_detected_within_1_5_s_and_node_rejoins_after_reboot(healthy):
    c = healthy
    killed_at = c.power_kill(2)
    sts = wait(lambda: agreed(c, ["n1", "n3"]), 5, "view without n2")
    for s in sts:
        took = s["viewInstalledAt"] - killed_at
        assert took < 1.5, f"{s['nodeName']} detected the power loss after {took:.3f}s"
        assert s["quorum"]["quorate"]
    c.start(2)  # boots again; the unit is not enabled, so start it like an operator would
    c.node(2).systemctl("start", "swcorosync")
    wait(lambda: agreed(c, ["n1", "n2", "n3"]), 10, "rejoin")


def test_clean_stop_announces_leave(healthy):
    c = healthy
    t0 = time.time()
    c.node(1).systemctl("stop", "swcorosync")
    sts = wait(lambda: agreed(c, ["n2", "n3"]), 5, "view without n1")
    for s in sts:
        assert s["viewInstalledAt"] - t0 < 0.8
        assert {n["name"]: n["state"] for n in s["nodes"]}["n1"] == "left"


def test_one_of_two_links_cut_changes_no_view(healthy):
    c = healthy
    before = {n: status(c.node(n))["viewId"] for n in (1, 2, 3)}
    c.cut_link(2, 0)
    time.sleep(3)
    after = {n: status(c.node(n)) for n in (1, 2, 3)}
    assert {n: s["viewId"] for n, s in after.items()} == before
    links = {node["name"]: node["links"] for node in after[1]["nodes"]}
    assert links["n2"][0]["up"] is False and links["n2"][1]["up"] is True, links
    c.heal()


def test_two_node_cluster_survives_the_loss_of_either_node():
    spec = InstallSpec.from_repo(conf_text=conf(2, links=1, quorum="two_node = true"))
    with Cluster(nodes=2, links=1, prefix="swq", install=spec) as c:
        c.boot()
        sts = start_all(c, 2)
        assert all(s["quorum"]["quorate"] and "2Node" in s["quorum"]["flags"] for s in sts)
        for victim, survivor in ((1, 2), (2, 1)):
            c.power_kill(victim)
            s = wait(lambda: (lambda s: s if len(s["members"]) == 1 else None)(status(c.node(survivor))), 5,
                     f"n{survivor} alone")
            assert s["quorum"]["quorate"], s["quorum"]
            c.start(victim)
            c.node(victim).systemctl("start", "swcorosync")
            wait(lambda: agreed(c, ["n1", "n2"]), 10, "both again")
