"""The swpcs command line end to end: the real binary against real swcorosync + swpacemakerd on
127.0.0.x, OCF Dummy resources from Debian's resource-agents."""
import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest
from loopback import BIN, ManagedCluster

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = ManagedCluster(tmp_path_factory.mktemp("cli"), 2, port=15445)
    try:
        c.start_all()
        c.settled()
        r = c.managers["n1"].swpcs("property", "set", "stonith-enabled=false")
        assert r.returncode == 0, r.stderr
        yield c
    finally:
        c.stop_all()


def ok(m, *args, **kw):
    r = m.swpcs(*args, **kw)
    assert r.returncode == 0, f"swpcs {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def version(m):
    return m.status()["config"]["version"]


def where(m, rid):
    res = m.status()["state"]["resources"].get(rid, {})
    return sorted(n for n, s in res.items() if s["role"] not in ("Stopped", "Unknown"))


def settle(cl):
    return cl.settled(timeout=60)


# ---------------------------------------------------------------- every verb, in order


def test_resource_create_config_status(cl):
    n1 = cl.managers["n1"]
    ok(n1, "resource", "create", "d1", "ocf:heartbeat:Dummy", "fake=1")
    ok(n1, "resource", "create", "d2", "ocf:heartbeat:Dummy", "op", "monitor", "interval=5s", "timeout=20s",
       "meta", "resource-stickiness=100")
    ok(n1, "resource", "create", "d3", "ocf:heartbeat:Dummy", "--group", "g1", "--disabled")
    settle(cl)
    assert where(n1, "d1") and where(n1, "d2") and not where(n1, "d3")
    conf = json.loads(ok(n1, "resource", "config", "--output", "json"))
    text = ok(n1, "resource", "config")
    assert "Resource: d1 (ocf:heartbeat:Dummy)" in text and "d1-monitor-interval-60s" in text
    assert "d2-monitor-interval-5s" in text and "resource-stickiness=100" in text
    assert "Group: g1" in text
    st = ok(n1, "resource", "status")
    assert re.search(r"d1\t\(ocf:heartbeat:Dummy\):\t Started n\d", st)
    assert "Stopped (disabled)" in st
    assert isinstance(conf, list) and len(conf) == 3


def test_status_layouts(cl):
    n1 = cl.managers["n1"]
    text = ok(n1, "status")
    for part in ["Cluster name: loop", "Cluster Summary:", "Current DC: n1 - partition with quorum",
                 "2 nodes configured", "Node List:", "Online: [ n1 n2 ]", "Full List of Resources:",
                 "Daemon Status:", "swcorosync: active"]:
        assert part in text, text
    full = ok(n1, "status", "--full")
    assert "Migration Summary:" in full and "Configuration version:" in full
    js = json.loads(ok(n1, "status", "--output", "json"))
    assert js["cluster"] == "loop" and js["dc"] == "n1" and js["quorate"] is True
    assert {n["name"]: n["state"] for n in js["nodes"]} == {"n1": "online", "n2": "online"}
    d1 = next(r for r in js["resources"] if r["id"] == "d1")
    assert d1["agent"] == "ocf:heartbeat:Dummy" and d1["role"] == "Started" and d1["group"] is None
    assert "Node List:" in ok(n1, "status", "nodes")
    assert json.loads(ok(n1, "status", "nodes", "--output", "json"))[0]["name"] == "n1"
    assert "Full List of Resources:" in ok(n1, "status", "resources")
    assert json.loads(ok(n1, "status", "resources", "--output", "json"))[0]["id"] == "d1"
    assert "Quorate:" in ok(n1, "status", "quorum")
    ok(n1, "status", "wait", "30")


def test_resource_update_meta_ops(cl):
    n1 = cl.managers["n1"]
    settle(cl)
    [node] = where(n1, "d1")
    log = cl.managers[node].log

    def starts():
        return len(re.findall(r"^<\d>start d1 on \S+: ok, rc=0", log.read_text(errors="replace"), re.M))

    before = starts()
    ok(n1, "resource", "update", "d1", "fake=2", "op", "monitor", "interval=20s")
    # New parameters: d1 restarts where it runs ("due to resource definition change"), once.
    cl.wait_for(lambda: starts() == before + 1, timeout=30, what="d1 restarted with its new parameters")
    settle(cl)
    assert where(n1, "d1") == [node] and starts() == before + 1
    ok(n1, "resource", "meta", "d1", "priority=5")
    ok(n1, "resource", "op", "add", "d1", "monitor", "interval=30s", "timeout=10s")
    text = ok(n1, "resource", "config")
    assert "fake=2" in text and "priority=5" in text and "d1-monitor-interval-30s" in text
    ok(n1, "resource", "op", "delete", "d1", "monitor", "interval=30s")
    assert "d1-monitor-interval-30s" not in ok(n1, "resource", "config")
    ok(n1, "resource", "defaults", "update", "resource-stickiness=10")
    assert "resource-stickiness=10" in ok(n1, "resource", "defaults")
    ok(n1, "resource", "op", "defaults", "update", "timeout=30s")
    assert json.loads(ok(n1, "resource", "op", "defaults", "config", "--output", "json")) == {"timeout": "30s"}


def test_enable_disable_manage(cl):
    n1 = cl.managers["n1"]
    ok(n1, "resource", "enable", "d3")
    settle(cl)
    assert where(n1, "d3")
    ok(n1, "resource", "disable", "d3")
    settle(cl)
    assert not where(n1, "d3")
    ok(n1, "resource", "unmanage", "d2")
    assert "(unmanaged)" in ok(n1, "status")
    ok(n1, "resource", "manage", "d2")
    assert "(unmanaged)" not in ok(n1, "status")


def test_move_ban_clear(cl):
    n1 = cl.managers["n1"]
    settle(cl)
    start = where(n1, "d1")[0]
    other = "n2" if start == "n1" else "n1"
    out = ok(n1, "resource", "move", "d1", other, "--wait", "60")
    assert f"moved to {other}" in out
    assert where(n1, "d1") == [other]
    locs = n1.status()["config"]["constraints"]["locations"]
    assert not [c for c in locs if c["id"] == "cli-prefer-d1"], "move constraint removed once moved (pcs 0.11)"
    ok(n1, "resource", "ban", "d1")
    settle(cl)
    assert where(n1, "d1") == [start]
    assert "Leftover move/ban constraint" in ok(n1, "status")
    assert "Removed cli-ban-d1-on-" in ok(n1, "resource", "clear", "d1")


def test_restart_cleanup_refresh_failcount(cl):
    n1 = cl.managers["n1"]
    assert "successfully restarted" in ok(n1, "resource", "restart", "d2")
    settle(cl)
    assert where(n1, "d2")
    assert "Cleaned up d2" in ok(n1, "resource", "cleanup", "d2")
    assert "Cleaned up d2 on n1" in ok(n1, "resource", "cleanup", "d2", "node=n1")
    settle(cl)
    before = where(n1, "d2")

    def count(pattern):
        return sum(len(re.findall(pattern, m.log.read_text(errors="replace"), re.M)) for m in cl.managers.values())

    probe, start = r"^<\d>probe d2 on \S+: ", r"^<\d>start d2 on \S+: ok, rc=0"
    probes, starts = count(probe), count(start)
    assert "Refreshed (probing again) d2" in ok(n1, "resource", "refresh", "d2")
    # Every node probes d2 again (where it runs too); it is found running and left there.
    cl.wait_for(lambda: count(probe) >= probes + len(cl.managers), timeout=30, what="d2 re-probed")
    settle(cl)
    assert where(n1, "d2") == before and count(start) == starts
    assert "Refreshed (probing again) all resources" in ok(n1, "resource", "refresh")
    assert "No failcounts" in ok(n1, "resource", "failcount", "show")


def test_groups(cl):
    n1 = cl.managers["n1"]
    ok(n1, "resource", "group", "add", "g1", "d2")
    assert "g1: d3 d2" in ok(n1, "resource", "group", "list")
    ok(n1, "resource", "group", "remove", "g1", "d2")
    assert "g1: d3" in ok(n1, "resource", "group")


def test_agents(cl):
    n1 = cl.managers["n1"]
    assert "ocf" in ok(n1, "resource", "standards").split()
    assert "ocf:heartbeat:Dummy" in ok(n1, "resource", "agents", "ocf:heartbeat").split()
    assert "<resource-agent" in ok(n1, "resource", "describe", "ocf:heartbeat:Dummy")


def test_constraints(cl):
    n1 = cl.managers["n1"]
    ok(n1, "constraint", "location", "d1", "prefers", "n1=50")
    ok(n1, "constraint", "location", "d2", "avoids", "n2")
    ok(n1, "constraint", "colocation", "add", "d2", "with", "d1", "score=INFINITY")
    ok(n1, "constraint", "order", "start", "d1", "then", "start", "d2", "kind=Optional")
    text = ok(n1, "constraint")
    assert "Resource d1 prefers node n1 (score:50)" in text and "Resource d2 avoids node n2" in text
    assert "Resource d2 with resource d1" in text and "start resource d1 then start resource d2" in text
    js = json.loads(ok(n1, "constraint", "config", "--output", "json"))
    assert len(js["locations"]) == 2 and len(js["colocations"]) == 1 and len(js["orders"]) == 1
    ref = ok(n1, "constraint", "ref", "d1")
    assert "location-d1-n1-50" in ref and "order-d1-d2-Optional" in ref
    for cid in ["location-d1-n1-50", "location-d2-n2-INFINITY", js["colocations"][0]["id"], "order-d1-d2-Optional"]:
        ok(n1, "constraint", "delete", cid)
    assert "No Matches" in ok(n1, "constraint", "ref", "d1")


def test_nodes_and_properties(cl):
    n1 = cl.managers["n1"]
    ok(n1, "node", "standby", "n2")
    assert "Node n2: standby" in ok(n1, "status")
    settle(cl)
    ok(n1, "node", "unstandby", "--all")
    ok(n1, "node", "maintenance", "n2")
    assert json.loads(ok(n1, "status", "nodes", "--output", "json"))[1]["state"] == "maintenance"
    ok(n1, "node", "unmaintenance", "n2")
    ok(n1, "node", "attribute", "n1", "rack=r1")
    assert "rack=r1" in ok(n1, "node", "attribute")
    ok(n1, "property", "set", "no-quorum-policy=freeze", "fencing-enabled=false")
    assert "no-quorum-policy: freeze" in ok(n1, "property", "config")
    assert "stonith-enabled: false" in ok(n1, "property")
    assert "maintenance-mode: false" in ok(n1, "property", "config", "--all")
    assert json.loads(ok(n1, "property", "config", "--defaults", "--output", "json"))["stonith-enabled"] == "true"
    ok(n1, "property", "unset", "no-quorum-policy")
    assert "no-quorum-policy" not in ok(n1, "property", "config")
    settle(cl)


def test_quorum_verbs(cl):
    n1 = cl.managers["n1"]
    assert "Quorate:          Yes" in ok(n1, "quorum", "status")
    assert json.loads(ok(n1, "quorum", "status", "--output", "json"))["quorum"]["quorate"] is True
    assert "two_node" in ok(n1, "quorum", "config")
    assert "Expected votes:" in ok(n1, "quorum", "expected-votes", "2")
    r = n1.swpcs("quorum", "unblock")
    assert r.returncode == 1 and "--force" in r.stderr


def test_config_show_backup_restore_and_offline(cl, tmp_path):
    n1 = cl.managers["n1"]
    text = ok(n1, "config")
    assert "Resources:" in text and "Cluster Properties:" in text and "Location Constraints:" in text
    assert json.loads(ok(n1, "config", "show", "--output", "json"))["resources"]
    backup = tmp_path / "cib.json"
    ok(n1, "config", "backup", str(backup))
    # -f: edit the file, the live cluster is untouched
    before = version(n1)
    ok(n1, "-f", str(backup), "resource", "create", "offline1", "ocf:heartbeat:Dummy")
    ok(n1, "resource", "meta", "offline1", "target-role=Stopped", "-f", str(backup))
    assert "offline1" in ok(n1, "-f", str(backup), "resource", "config")
    assert version(n1) == before
    ok(n1, "config", "restore", str(backup))
    settle(cl)
    assert "offline1" in ok(n1, "resource", "config")
    assert version(n1) != before
    ok(n1, "resource", "delete", "offline1")


def test_resource_delete(cl):
    n1 = cl.managers["n1"]
    ok(n1, "resource", "delete", "d3")
    assert "d3" not in ok(n1, "resource", "config")
    assert "g1" not in ok(n1, "resource", "config")


def test_help_and_version(cl):
    n1 = cl.managers["n1"]
    assert "resource" in ok(n1, "--help")
    assert ok(n1, "--version").strip()
    assert "prefers|avoids" in ok(n1, "constraint", "location", "--help")


# ---------------------------------------------------------------- cluster files and services


def fake_systemctl(tmp_path):
    log = tmp_path / "systemctl.log"
    script = tmp_path / "systemctl"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    script.chmod(0o755)
    return script, log


def admin_server(m, env, listen, *extra):
    """swpcs cluster admin-serve on ADDR:PORT (what swpcs-admin.socket starts in a real node)."""
    p = subprocess.Popen([str(BIN / "swpcs"), "cluster", "admin-serve", "--listen", listen, "--idle-exit", "0",
                          *extra],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return p


def test_cluster_setup_join_node_add_remove(cl, tmp_path):
    """Setup on a1, join a2 through a1's admin service (one-time token), node add/remove distribute
    cluster.conf, remote start/stop through a2's admin service. a1/a2 are 127.0.0.21/22."""
    n1 = cl.managers["n1"]
    port = "15403"
    script, log = fake_systemctl(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    common = dict(SWPCS_SYSTEMCTL=str(script), SWPCS_ADMIN_PORT=port, SWPCS_COROSYNC_SOCKET=str(tmp_path / "none"))
    env1 = n1.env(SWPCS_CONFIG_DIR=str(first), SWPCS_STATE_DIR=str(first / "state"), SWPCS_NODE_NAME="a1", **common)
    env2 = n1.env(SWPCS_CONFIG_DIR=str(second), SWPCS_STATE_DIR=str(second / "state"), **common)
    out = ok(n1, "cluster", "setup", "web", "a1", "addr=127.0.0.21", "a2", "addr=127.0.0.22", "--enable",
             "--start", env=env1)
    conf = (first / "cluster.conf").read_text()
    assert "name = web" in conf and "addr = 127.0.0.22" in conf and "two_node = true" in conf
    assert stat.S_IMODE(os.stat(first / "authkey").st_mode) == 0o400
    assert stat.S_IMODE(os.stat(first / "state" / "admin.state").st_mode) == 0o600
    token = re.search(r"swpcs cluster join (\S+)", out).group(1)
    assert "once per node" in out and "(a2)" in out
    assert log.read_text().splitlines() == [
        "enable --now swpcs-admin.socket", "enable swcorosync swpacemaker", "start swcorosync swpacemaker"]
    # The token does not carry the key.
    assert (first / "authkey").read_bytes().hex()[:16] not in token
    r = n1.swpcs("cluster", "setup", "web", "a1", "addr=127.0.0.21", env=env1)
    assert r.returncode == 1 and "already in a cluster" in r.stderr
    servers = [admin_server(n1, env1, f"127.0.0.21:{port}")]
    try:
        time.sleep(0.5)
        # From 127.0.0.1, a1 cannot tell which node joins: it says so.
        r = n1.swpcs("cluster", "join", token, env=env2)
        assert r.returncode == 1 and "--node NAME" in r.stderr, r.stderr
        ok(n1, "cluster", "join", token, "--node", "a2", env=env2)
        assert (second / "cluster.conf").read_text() == conf
        assert (second / "authkey").read_bytes() == (first / "authkey").read_bytes()
        r = n1.swpcs("cluster", "join", token, "--node", "a2", "--force", env=env2)
        assert r.returncode == 1 and "already used for a2" in r.stderr, r.stderr
        # A spent (or lost) token: a1 issues a new one for a2 (a reinstalled node joins again).
        r = n1.swpcs("cluster", "join-token", "a9", env=env1)
        assert r.returncode == 1 and "node 'a9' is not in the cluster" in r.stderr, r.stderr
        r = n1.swpcs("cluster", "join-token", "a1", env=env1)
        assert r.returncode == 1 and "is this node" in r.stderr, r.stderr
        out = ok(n1, "cluster", "join-token", env=env1)
        assert "On each of a2 run" in out, out
        fresh = re.search(r"swpcs cluster join (\S+)", out).group(1)
        assert fresh != token
        ok(n1, "cluster", "join", fresh, "--node", "a2", "--force", env=env2)
        assert (second / "cluster.conf").read_text() == conf
        tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
        r = n1.swpcs("cluster", "join", tampered, "--force", env=env2)
        assert r.returncode == 1 and "damaged" in r.stderr
        r = n1.swpcs("cluster", "join", "swpcs-join1.xyz", "--force", env=env2)
        assert r.returncode == 1 and "not a swpcs join token" in r.stderr
        servers.append(admin_server(n1, env2, f"127.0.0.22:{port}", "--node", "a2"))
        time.sleep(0.5)
        # Remote start/stop/enable through a2's admin service (its systemctl is the fake one).
        log.write_text("")
        out = ok(n1, "cluster", "start", "--all", env=env1)
        assert "a1: Starting Cluster..." in out and "a2: Starting Cluster..." in out
        assert log.read_text().splitlines() == ["start swcorosync swpacemaker"] * 2
        log.write_text("")
        out = ok(n1, "cluster", "stop", "a2", env=env1)
        assert "a2: Stopping Cluster (swpacemakerd)..." in out
        assert log.read_text().splitlines() == ["stop swpacemaker", "stop swcorosync"]
        ok(n1, "cluster", "enable", "a2", env=env1)
        r = n1.swpcs("cluster", "start", "a9", env=env1)
        assert r.returncode == 1 and "node 'a9' is not in the cluster" in r.stderr
        # node add: the new cluster.conf reaches a2; a3's one-time join command is printed.
        out = ok(n1, "cluster", "node", "add", "a3", "addr=127.0.0.23", env=env1)
        assert "a2: cluster.conf updated" in out and "swpcs cluster join swpcs-join2." in out
        assert "[node a3]" in (first / "cluster.conf").read_text()
        assert (second / "cluster.conf").read_text() == (first / "cluster.conf").read_text()
        assert "two_node = true" not in (first / "cluster.conf").read_text()
        out = ok(n1, "cluster", "node", "remove", "a3", env=env1)
        assert "a2: cluster.conf updated" in out
        assert "a3" not in (second / "cluster.conf").read_text()
    finally:
        for p in servers:
            p.terminate()
            p.wait(timeout=10)


def test_cluster_start_stop_enable_disable_destroy(cl, tmp_path):
    n1 = cl.managers["n1"]
    script, log = fake_systemctl(tmp_path)
    env = n1.env(SWPCS_SYSTEMCTL=str(script))
    ok(n1, "cluster", "start", env=env)
    ok(n1, "cluster", "enable", env=env)
    ok(n1, "cluster", "disable", env=env)
    r = n1.swpcs("cluster", "stop", env=env)  # 2 nodes without two_node: n2 alone would lose quorum
    assert r.returncode == 1 and "would leave 1 of 2 votes (quorum needs 2)" in r.stderr, r.stderr
    ok(n1, "cluster", "stop", "--force", env=env)
    assert log.read_text().splitlines() == [
        "start swcorosync swpacemaker", "enable swcorosync swpacemaker", "disable swcorosync swpacemaker",
        "stop swpacemaker", "stop swcorosync"]
    d = tmp_path / "etc"
    d.mkdir()
    (d / "cluster.conf").write_text("x")
    (d / "authkey").write_text("k")
    ok(n1, "cluster", "destroy", "--yes", env=n1.env(SWPCS_SYSTEMCTL=str(script), SWPCS_CONFIG_DIR=str(d),
                                                     SWPCS_STATE_DIR=str(tmp_path / "state")))
    assert not (d / "cluster.conf").exists() and not (d / "authkey").exists()


def test_cluster_stop_refuses_to_break_quorum(tmp_path):
    c = ManagedCluster(tmp_path, 3, port=15455)
    try:
        c.start_all()
        c.settled()
        script, log = fake_systemctl(tmp_path)
        n1 = c.managers["n1"]
        c.managers["n3"].stop()
        c.daemons["n3"].terminate()
        c.wait_for(lambda: len(n1.daemon.status()["members"]) == 2, timeout=15, what="n3 gone")
        r = n1.swpcs("cluster", "stop", env=n1.env(SWPCS_SYSTEMCTL=str(script)))
        assert r.returncode == 1 and "would leave 1 of 3 votes" in r.stderr and "--force" in r.stderr
        assert not log.exists()
        ok(n1, "cluster", "stop", "--force", env=n1.env(SWPCS_SYSTEMCTL=str(script)))
        assert "stop swcorosync" in log.read_text()
    finally:
        c.stop_all()


# ---------------------------------------------------------------- access


def test_non_root_outside_haclient_cannot_change_anything(cl):
    n1 = cl.managers["n1"]
    os.chmod(cl.dir, 0o755)
    for d in [cl.dir.parent, cl.dir, n1.dir, n1.dir / "run"]:
        os.chmod(d, os.stat(d).st_mode | 0o005)
    before = version(n1)
    for args in [("resource", "create", "evil", "ocf:heartbeat:Dummy"), ("property", "set", "maintenance-mode=true"),
                 ("node", "standby", "n1"), ("status",), ("quorum", "expected-votes", "1")]:
        r = n1.swpcs(*args, user="65534")
        assert r.returncode == 4, (args, r.returncode, r.stderr)
        assert "permission denied" in r.stderr and "haclient" in r.stderr
        assert r.stderr.count("\n") == 1
    assert version(n1) == before


# ---------------------------------------------------------------- golden output


def normalize(text):
    text = re.sub(r"(Last updated|Last change): .*", r"\1: <TIME>", text)
    text = re.sub(r"call at .*", "call at <TIME>", text)
    text = re.sub(r"Configuration version: \S+", "Configuration version: <V>", text)
    return text


def golden(name, text):
    path = GOLDEN / name
    if os.environ.get("SWPCS_UPDATE_GOLDEN") or not path.exists():
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs:\n{text}"


def test_golden_status(tmp_path):
    c = ManagedCluster(tmp_path, 2, port=15465)
    try:
        c.start_all()
        c.settled()
        n1 = c.managers["n1"]
        ok(n1, "property", "set", "stonith-enabled=false")
        ok(n1, "resource", "create", "web", "ocf:heartbeat:Dummy", "--group", "site")
        ok(n1, "resource", "create", "db", "ocf:heartbeat:Dummy", "--group", "site")
        ok(n1, "resource", "create", "ip", "ocf:heartbeat:Dummy", "--disabled")
        ok(n1, "constraint", "location", "site", "prefers", "n2")
        ok(n1, "node", "standby", "n1")
        c.settled(timeout=60)
        golden("status.txt", normalize(ok(n1, "status")))
        golden("status-full.txt", normalize(ok(n1, "status", "--full")))
        js = json.loads(ok(n1, "status", "--output", "json"))
        js["configVersion"] = "<V>"
        golden("status.json", json.dumps(js, indent=2, sort_keys=True) + "\n")
    finally:
        c.stop_all()


# ---------------------------------------------------------------- bad input table

NOT_RUNNING = "swpacemakerd is not running on this node — start it with: systemctl start swpacemaker"
BAD = [
    # (arguments, message fragment, exit code)
    (["resource", "create", "bx", "ocf:heartbeat:Dummy"], "'bx' already exists", 1),
    (["resource", "create", "1bad", "ocf:heartbeat:Dummy"], "invalid id '1bad'", 1),
    (["resource", "create", "x", "ocf:heartbeat:NoSuchAgent"], "agent 'ocf:heartbeat:NoSuchAgent' is not installed", 1),
    (["resource", "create", "x", "nonsense"], "invalid agent 'nonsense'", 1),
    (["resource", "create", "x", "ocf:heartbeat"], "invalid agent 'ocf:heartbeat'", 1),
    (["resource", "create", "x", "ocf:heartbeat:Dummy", "op", "monitor", "interval=10x"], "invalid duration '10x'", 1),
    (["resource", "create", "x", "ocf:heartbeat:Dummy", "op", "monitor", "bogus=1"], "unknown operation option 'bogus'", 1),
    (["resource", "create", "x", "ocf:heartbeat:Dummy", "op", "monitor", "on-fail=explode"], "on-fail must be one of", 1),
    (["resource", "create", "x", "ocf:heartbeat:Dummy", "meta", "target-role=Sideways"], "invalid target-role 'Sideways'", 1),
    (["resource", "create", "x", "ocf:heartbeat:Dummy", "meta", "resource-stickiness=lots"], "invalid score 'lots'", 1),
    (["resource", "create", "x", "ocf:heartbeat:Dummy", "junk"], "expected NAME=VALUE", 1),
    (["resource", "create", "x", "stonith:fence_dummy"], "swpcs stonith create", 1),
    (["resource", "create", "x", "ocf:heartbeat:Dummy", "--group", "bx"], "'bx' exists and is not a group", 1),
    (["resource", "delete", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["resource", "update", "nosuch", "a=b"], "resource 'nosuch' does not exist", 1),
    (["resource", "meta", "nosuch", "a=b"], "resource 'nosuch' does not exist", 1),
    (["resource", "meta", "bx", "noequals"], "expected NAME=VALUE, got 'noequals'", 1),
    (["resource", "meta", "bx", "is-managed=perhaps"], "invalid value 'perhaps' for is-managed", 1),
    (["resource", "enable", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["resource", "disable", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["resource", "op", "add", "bx", "monitor", "interval=abc"], "invalid duration 'abc'", 1),
    (["resource", "op", "add", "nosuch", "monitor", "interval=5s"], "resource 'nosuch' does not exist", 1),
    (["resource", "op", "add", "bx", "monitor", "interval=60s"], "already has a monitor operation", 1),
    (["resource", "op", "delete", "bx", "promote"], "'bx' has no promote operation", 1),
    (["resource", "move", "nosuch", "n1"], "resource 'nosuch' does not exist", 1),
    (["resource", "move", "bx", "n9"], "node 'n9' is not in the cluster; known nodes: n1, n2", 1),
    (["resource", "ban", "bx", "n9"], "node 'n9' is not in the cluster", 1),
    (["resource", "clear", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["resource", "cleanup", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["resource", "cleanup", "bx", "node=n9"], "node 'n9' is not in the cluster", 1),
    (["resource", "cleanup", "bx", "foo=bar"], "unknown option 'foo=bar'", 1),
    (["resource", "manage", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["resource", "group", "add", "9g", "bx"], "invalid id '9g'", 1),
    (["resource", "group", "add", "gx", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["resource", "group", "remove", "nogroup"], "group 'nogroup' does not exist", 1),
    (["resource", "defaults", "update", "resource-stickiness=abc"], "invalid score 'abc'", 1),
    (["resource", "op", "defaults", "update", "timeout=5x"], "invalid duration '5x'", 1),
    (["resource", "describe", "ocf:heartbeat:Nope"], "is not installed on this node", 1),
    (["resource", "describe", "garbage"], "invalid agent 'garbage'", 1),
    (["resource", "agents", "bogus"], "unknown standard 'bogus'", 1),
    (["constraint", "location", "bx", "prefers", "n9"], "node 'n9' is not in the cluster", 1),
    (["constraint", "location", "bx", "prefers", "n1=abc"], "invalid score 'abc'", 1),
    (["constraint", "location", "bx", "prefers", "n1=10x"], "invalid score '10x'", 1),
    (["constraint", "location", "nosuch", "prefers", "n1"], "resource 'nosuch' does not exist", 1),
    (["constraint", "location", "bx", "likes", "n1"], "expected 'prefers' or 'avoids', got 'likes'", 1),
    (["constraint", "colocation", "add", "bx", "with", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["constraint", "colocation", "add", "bx", "with", "bx"], "cannot be colocated with itself", 1),
    (["constraint", "colocation", "add", "bx", "with", "by", "score=high"], "invalid score 'high'", 1),
    (["constraint", "colocation", "add", "bx", "by"], "usage: swpcs constraint colocation add", 1),
    (["constraint", "order", "bx", "then", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["constraint", "order", "bx", "then", "by", "kind=Sometimes"], "kind must be Mandatory, Optional or Serialize", 1),
    (["constraint", "order", "bx", "then", "by", "color=red"], "unknown option 'color'", 1),
    (["constraint", "order", "bx", "by"], "usage: swpcs constraint order", 1),
    (["constraint", "delete", "nosuch"], "constraint 'nosuch' does not exist", 1),
    (["constraint", "ref", "nosuch"], "resource 'nosuch' does not exist", 1),
    (["node", "standby", "n9"], "node 'n9' is not in the cluster; known nodes: n1, n2", 1),
    (["node", "maintenance", "n9"], "node 'n9' is not in the cluster", 1),
    (["node", "standby", "--all", "n1"], "give node names or --all, not both", 64),
    (["node", "attribute", "n9", "a=b"], "node 'n9' is not in the cluster", 1),
    (["property", "set", "no-such-prop=1"], "unknown cluster property 'no-such-prop'", 1),
    (["property", "set", "stonith-enabled=maybe"], "invalid value 'maybe' for stonith-enabled", 1),
    (["property", "set", "no-quorum-policy=panic"], "invalid value 'panic' for no-quorum-policy", 1),
    (["property", "set", "cluster-recheck-interval=soon"], "invalid value 'soon' for cluster-recheck-interval", 1),
    (["property", "unset", "bogus"], "unknown cluster property 'bogus'", 1),
    (["property", "set", "justname"], "expected NAME=VALUE, got 'justname'", 1),
    (["property", "set"], "Missing expected argument", 64),
    (["resource", "status", "--bogus"], "Unknown option '--bogus'", 64),
    (["nosuchcommand"], "Unexpected argument 'nosuchcommand'", 64),
    (["status", "wait", "10x"], "invalid duration '10x'", 1),
    (["status", "--output", "yaml"], "The value 'yaml' is invalid for '--output", 64),
    (["cluster", "destroy"], "rerun with --yes", 1),
    (["cluster", "join", "garbage"], "not a swpcs join token", 1),
    (["cluster", "stop", "n9"], "node 'n9' is not in the cluster", 1),
    (["cluster", "enable", "n9"], "node 'n9' is not in the cluster", 1),
    (["cluster", "join", "swpcs-join2.AAAA"], "the join token is damaged", 1),
    (["config", "restore", "/nonexistent/backup.json"], "cannot read /nonexistent/backup.json", 1),
    (["quorum", "expected-votes", "0"], "expected votes must be at least 1", 1),
    (["quorum", "update", "wait_for_all=maybe"], "wait_for_all", 1),
    (["-f"], "-f needs a FILE", 64),
]


@pytest.fixture(scope="module")
def bad_cluster(cl):
    n1 = cl.managers["n1"]
    ok(n1, "resource", "create", "bx", "ocf:heartbeat:Dummy", "--disabled")
    ok(n1, "resource", "create", "by", "ocf:heartbeat:Dummy", "--disabled")
    return cl


@pytest.mark.parametrize("args,message,code", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_input(bad_cluster, args, message, code):
    n1 = bad_cluster.managers["n1"]
    before = version(n1)
    conf_before = (bad_cluster.dir / "etc" / "cluster.conf").read_text()
    r = n1.swpcs(*args)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert message in r.stderr, r.stderr
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    assert version(n1) == before
    assert (bad_cluster.dir / "etc" / "cluster.conf").read_text() == conf_before


def test_daemon_not_running(tmp_path):
    env = dict(os.environ, SWPCS_SOCKET=str(tmp_path / "none.sock"), SWPCS_COROSYNC_SOCKET=str(tmp_path / "c.sock"))
    for args in [["status"], ["resource", "create", "x", "ocf:heartbeat:Dummy"], ["node", "standby"]]:
        r = subprocess.run([str(BIN / "swpcs"), *args], capture_output=True, text=True, env=env)
        assert r.returncode == 3 and r.stderr == f"Error: {NOT_RUNNING}\n", r.stderr
    r = subprocess.run([str(BIN / "swpcs"), "quorum", "status"], capture_output=True, text=True, env=env)
    assert r.returncode == 3 and "swcorosync is not running on this node" in r.stderr


def test_no_quorum_refuses_changes(tmp_path):
    c = ManagedCluster(tmp_path, 3, port=15475)
    try:
        c.start_all()
        c.settled()
        n1 = c.managers["n1"]
        for n in ["n2", "n3"]:
            c.managers[n].stop()
            c.daemons[n].kill9()
        c.wait_for(lambda: not n1.status()["quorate"], timeout=15, what="n1 without quorum")
        before = version(n1)
        r = n1.swpcs("property", "set", "maintenance-mode=true")
        assert r.returncode == 5 and "this partition has no quorum" in r.stderr, r.stderr
        assert version(n1) == before
    finally:
        c.stop_all()
