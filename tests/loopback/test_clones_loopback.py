"""Clones and promotable clones end to end: the real swpcs CLI against swcorosync + swpacemakerd on
127.0.0.x, with the project's promotable test agent ocf:swpcs:Stateful (agents/ocf/swpcs/Stateful),
whose promotion scores go through the crm_master shim (agents/crm_attribute) to the cluster."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from loopback import BIN, ROOT, ManagedCluster

OCF_DIR = Path("/usr/lib/ocf/resource.d/swpcs")


def install_agent():
    """The .deb installs it there; tests running from a checkout copy it (root only)."""
    OCF_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "agents" / "ocf" / "swpcs" / "Stateful", OCF_DIR / "Stateful")
    os.chmod(OCF_DIR / "Stateful", 0o755)


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("installs an OCF agent under /usr/lib/ocf: needs root")
    install_agent()
    tmp = tmp_path_factory.mktemp("clones")
    shims = tmp / "shims"
    shims.mkdir()
    (shims / "crm_master").symlink_to(ROOT / "agents" / "crm_attribute")
    saved = dict(os.environ)
    # The agents run with swpacemakerd's environment: crm_master -> the shim -> this build's swpcs,
    # which talks to the daemon of the agent's own node (Manager sets SWPCS_SOCKET per node).
    os.environ["SWPCS_CRM_MASTER"] = str(shims / "crm_master")
    os.environ["SWPCS"] = str(BIN / "swpcs")
    c = ManagedCluster(tmp, 3, port=15485)
    try:
        yield c.start_all().without_fencing()
    finally:
        c.stop_all()
        os.environ.clear()
        os.environ.update(saved)


def ok(m, *args):
    r = m.swpcs(*args)
    assert r.returncode == 0, f"swpcs {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def roles(m, base):
    """node -> role of the instances of `base` (keys base:N)."""
    out = {}
    for key, nodes in m.status()["state"]["resources"].items():
        if key == base or key.startswith(base + ":"):
            for node, s in nodes.items():
                if s["role"] not in ("Stopped", "Unknown"):
                    out[node] = s["role"]
    return out


def notify_log(cl, node):
    """What ocf:swpcs:Stateful recorded of its notifications on a node."""
    path = cl.managers[node].dir / "rsctmp" / "swpcs-Stateful-db.state.notify"
    return path.read_text() if path.exists() else ""


def one_promoted(cl, m, base, nodes):
    def check():
        r = roles(m, base)
        promoted = [n for n, role in r.items() if role == "Promoted"]
        if sorted(r) == sorted(nodes) and len(promoted) == 1:
            return promoted[0]
        return None
    return cl.wait_for(check, timeout=60, what=f"one promoted {base} instance on {nodes}")


def test_anonymous_clone_runs_everywhere(cl):
    n1 = cl.managers["n1"]
    ok(n1, "resource", "create", "web", "ocf:heartbeat:Dummy", "op", "monitor", "interval=10s",
       "clone", "meta", "interleave=true")
    cl.settled(timeout=60)
    assert sorted(roles(n1, "web")) == ["n1", "n2", "n3"]
    text = ok(n1, "status")
    assert "Clone Set: web-clone [web]:" in text, text
    assert "Started: [ n1 n2 n3 ]" in text, text
    res = {r["id"]: r for r in json.loads(ok(n1, "status", "--output", "json"))["resources"]}
    assert res["web"]["clone"] == "web-clone"
    assert sorted(i["node"] for i in res["web"]["instances"]) == ["n1", "n2", "n3"]
    assert {i["role"] for i in res["web"]["instances"]} == {"Started"}
    # clone-max limits the instances; unclone brings back a single primitive.
    ok(n1, "resource", "meta", "web-clone", "clone-max=2")
    cl.wait_for(lambda: len(roles(n1, "web")) == 2, timeout=60, what="two web instances")
    # crm_mon's layout: while fewer instances run than clone-max... here clone-max is reached.
    assert "Stopped: [" not in ok(n1, "status")
    ok(n1, "resource", "meta", "web-clone", "clone-max=3")
    cl.wait_for(lambda: len(roles(n1, "web")) == 3, timeout=60, what="three web instances")
    ok(n1, "resource", "ban", "web-clone", "n3")
    cl.wait_for(lambda: len(roles(n1, "web")) == 2, timeout=60, what="two web instances")
    assert "Stopped: [ n3 ]" in ok(n1, "status"), ok(n1, "status")
    ok(n1, "resource", "clear", "web-clone")
    ok(n1, "resource", "meta", "web-clone", "clone-max=2")
    cl.wait_for(lambda: len(roles(n1, "web")) == 2, timeout=60, what="two web instances")
    ok(n1, "resource", "unclone", "web-clone")
    cl.wait_for(lambda: len(roles(n1, "web")) == 1 and len(dummy_running(cl, "web")) == 1, timeout=60,
                what="one web")
    cl.settled(timeout=60)
    assert dummy_running(cl, "web") == sorted(roles(n1, "web"))
    assert not no_failures(n1, "web"), n1.status()["state"]["resources"]
    assert "Clone Set" not in ok(n1, "status")
    ok(n1, "resource", "delete", "web")
    cl.settled(timeout=60)


def dummy_running(cl, rid):
    """Nodes where ocf:heartbeat:Dummy's own state says `rid` runs (anonymous instances share it)."""
    return sorted(n for n, m in cl.managers.items() if (m.dir / "rsctmp" / f"Dummy-{rid}.state").exists())


def no_failures(m, rid):
    st = m.status()["state"]["resources"]
    bad = {k: v for k, v in st.items() if k.split(":")[0] == rid
           for s in v.values() if s.get("failed") or s.get("failCounts")}
    return bad


def test_clone_and_unclone_keep_the_running_resource(cl):
    """Pacemaker records an anonymous instance under the resource's own id: cloning a running
    primitive keeps it running where it is (no restart), and uncloning leaves exactly one copy, with
    the agent's own state agreeing with the cluster's and no failure on the way."""
    n1 = cl.managers["n1"]
    ok(n1, "resource", "create", "solo", "ocf:heartbeat:Dummy", "op", "monitor", "interval=2s")
    cl.settled(timeout=60)
    [home] = roles(n1, "solo")
    state = cl.managers[home].dir / "rsctmp" / "Dummy-solo.state"
    before = state.stat().st_ino, state.stat().st_mtime_ns
    ok(n1, "resource", "clone", "solo")
    cl.wait_for(lambda: sorted(roles(n1, "solo")) == ["n1", "n2", "n3"], timeout=60, what="solo everywhere")
    cl.settled(timeout=60)
    assert (state.stat().st_ino, state.stat().st_mtime_ns) == before, "the running copy was restarted"
    assert dummy_running(cl, "solo") == ["n1", "n2", "n3"]
    # Monitors keep passing on every node (the primitive's old monitor and the instance's are one).
    import time
    time.sleep(5)
    assert not no_failures(n1, "solo"), n1.status()["state"]["resources"]
    ok(n1, "resource", "unclone", "solo")
    cl.wait_for(lambda: len(roles(n1, "solo")) == 1 and len(dummy_running(cl, "solo")) == 1,
                timeout=60, what="one solo")
    cl.settled(timeout=60)
    time.sleep(5)
    assert dummy_running(cl, "solo") == sorted(roles(n1, "solo")), (dummy_running(cl, "solo"), roles(n1, "solo"))
    assert not no_failures(n1, "solo"), n1.status()["state"]["resources"]
    assert not [k for k in n1.status()["state"]["resources"] if k.startswith("solo:")], "instance records left"
    ok(n1, "resource", "delete", "solo")
    cl.settled(timeout=60)
    assert dummy_running(cl, "solo") == []


def test_promotable_clone_promotes_by_score_and_ip_follows(cl):
    n1 = cl.managers["n1"]
    ok(n1, "resource", "create", "db", "ocf:swpcs:Stateful",
       "op", "monitor", "interval=5s", "role=Promoted", "monitor", "interval=30s", "role=Unpromoted",
       "promotable", "meta", "promoted-max=1", "notify=true")
    conf = ok(n1, "resource", "config")
    assert "Clone: db-clone (promotable)" in conf and "role=Promoted" in conf and "role=Unpromoted" in conf
    primary = one_promoted(cl, n1, "db", ["n1", "n2", "n3"])
    cl.settled(timeout=60)
    # notify=true: every instance heard of the promotion before and after, with the promoted node.
    for n in ["n1", "n2", "n3"]:
        notes = cl.wait_for(lambda: notify_log(cl, n), timeout=30, what=f"notifications on {n}")
        assert f"post-promote promote={primary} " in notes, notes
        assert "pre-promote" in notes and "post-start" in notes, notes
    # The agent's crm_master calls reached the cluster: 10 where promoted, 5 elsewhere.
    attrs = ok(cl.managers[primary], "node", "attribute", "--transient")
    assert "master-db=10" in attrs, attrs
    text = ok(n1, "status")
    assert "Clone Set: db-clone [db] (promotable):" in text, text
    assert f"Promoted: [ {primary} ]" in text, text
    others = sorted({"n1", "n2", "n3"} - {primary})
    assert f"Unpromoted: [ {' '.join(others)} ]" in text, text

    ok(n1, "resource", "create", "ip", "ocf:heartbeat:Dummy")
    ok(n1, "constraint", "colocation", "add", "ip", "with", "Promoted", "db-clone")
    ok(n1, "constraint", "order", "promote", "db-clone", "then", "start", "ip")
    constraints = ok(n1, "constraint")
    assert "with-rsc-role:Promoted" in constraints, constraints
    cl.wait_for(lambda: roles(n1, "ip") == {primary: "Started"}, timeout=60, what="ip with the promoted db")

    # A role=Promoted location rule moves the promotion: prefer another node strongly.
    target = others[0]
    ok(n1, "node", "attribute", "--transient", target, "master-db=1000")
    cl.wait_for(lambda: roles(n1, "db").get(target) == "Promoted" and roles(n1, "ip") == {target: "Started"},
                timeout=60, what=f"db promoted on {target} and ip there")
    assert list(roles(n1, "db").values()).count("Promoted") == 1


def test_shims_serve_what_the_redis_agent_asks(cl):
    """ocf:heartbeat:redis keeps its last primary with crm_attribute --type crm_config and finds the
    promoted instance with crm_mon's XML (grep as in the agent's master_is_active)."""
    n1 = cl.managers["n1"]
    env = n1.env(SWPCS=str(BIN / "swpcs"))
    shim = str(ROOT / "agents" / "crm_attribute")
    attr = ["--type", "crm_config", "--name", "db_REPL_INFO", "-s", "redis_replication"]
    r = subprocess.run([shim, *attr, "-v", "n2", "-q"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([shim, *attr, "--query", "-q"], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "n2", (r.stdout, r.stderr)
    primary = one_promoted(cl, n1, "db", ["n1", "n2", "n3"])
    xml = subprocess.run([str(ROOT / "agents" / "crm_mon"), "-1", "--output-as=xml"], env=env,
                         capture_output=True, text=True).stdout
    line = re.search(r'resource.*id="db".* role="(Promoted|Master)".* active="true".* orphaned="false".* '
                     r'failed="false".*\n\s*<node name="([^"]+)"', xml)
    assert line and line.group(2) == primary, xml


def test_promoted_node_lost_replica_promoted(cl):
    n1 = cl.managers["n1"]
    primary = one_promoted(cl, n1, "db", ["n1", "n2", "n3"])
    survivors = sorted({"n1", "n2", "n3"} - {primary})
    watcher = cl.managers[survivors[0]]
    # Power loss: both daemons die at once, nothing is stopped cleanly.
    cl.managers[primary].proc.kill()
    cl.daemons[primary].kill9()
    new = one_promoted(cl, watcher, "db", survivors)
    assert new in survivors
    cl.wait_for(lambda: roles(watcher, "ip") == {new: "Started"}, timeout=60, what="ip follows the promotion")
