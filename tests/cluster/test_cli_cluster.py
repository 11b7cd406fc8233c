"""Cluster tier for the node-administration verbs of swpcs on real systemd nodes: `cluster setup`
on one node, `cluster join TOKEN` on the others (served by swpcs-admin.socket, socket-activated),
then `cluster stop --all` / `start --all` / `enable --all` from one node. Nothing is preinstalled in
the nodes but the binaries and the units (no cluster.conf, no authkey)."""

import json
import re
import time

from swpcs_harness import Cluster, InstallSpec, wait_until

PREFIX = "swj"


def wait(predicate, timeout=30.0, what="condition", interval=0.05):
    return wait_until(predicate, timeout, what, interval)


def run(node, *args, check=True, timeout=240):
    r = node.run(list(args), timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"[{node.name}] {' '.join(args)} failed ({r.returncode}): {r.stderr}{r.stdout}")
    return r


def online(node):
    s = json.loads(node.run(["swpcs", "status", "--output", "json"]).stdout)
    return sorted(n["name"] for n in s["nodes"] if n["state"] == "online")


def active(node, unit):
    return node.run(["systemctl", "is-active", unit]).stdout.strip()


def test_setup_join_and_remote_start_stop_on_real_nodes():
    spec = InstallSpec.from_repo(conf_text=None, authkey=None)
    with Cluster(nodes=3, links=1, prefix=PREFIX, install=spec) as c:
        c.boot()
        n1, n2, n3 = c.node(1), c.node(2), c.node(3)
        for n in (n1, n2, n3):  # what the package's postinst does
            run(n, "systemctl", "enable", "--now", "swpcs-admin.socket")
        out = run(n1, "swpcs", "cluster", "setup", "three", "n1", "addr=192.0.2.11", "n2", "addr=192.0.2.12",
                  "n3", "addr=192.0.2.13", "--start", "--enable").stdout
        join = re.search(r"swpcs cluster join (\S+) --start --enable", out)
        assert join, out
        token = join.group(1)
        # n2 and n3 fetch cluster.conf and the key from n1's swpcs-admin (matched by their address).
        for n in (n2, n3):
            r = run(n, "swpcs", "cluster", "join", token, "--start", "--enable")
            assert "Joined cluster 'three' (joined as " + n.name + ")" in r.stdout, r.stdout
            assert n.read_file("/etc/swpcs/cluster.conf") == n1.read_file("/etc/swpcs/cluster.conf")
            assert run(n, "stat", "-c", "%a", "/etc/swpcs/authkey").stdout.strip() == "400"
        # The token is spent: a second join for n2 is refused by n1.
        r = run(n2, "swpcs", "cluster", "join", token, "--force", check=False)
        assert r.returncode == 1 and "already used for n2" in r.stderr, r.stderr
        wait(lambda: online(n1) == ["n1", "n2", "n3"], what="three nodes online")
        assert active(n2, "swpcs-admin.socket") == "active"

        # Stop the whole cluster from n1: swpacemakerd everywhere first, then swcorosync.
        out = run(n1, "swpcs", "cluster", "stop", "--all").stdout
        for name in ("n1", "n2", "n3"):
            assert f"{name}: Stopping Cluster (swpacemakerd)..." in out, out
        for n in (n1, n2, n3):
            assert active(n, "swcorosync") != "active" and active(n, "swpacemaker") != "active", n.name
        out = run(n1, "swpcs", "cluster", "start", "--all").stdout
        assert "n3: Starting Cluster..." in out
        wait(lambda: online(n2) == ["n1", "n2", "n3"], what="three nodes online again")
        # Remote disable/enable of one node.
        run(n1, "swpcs", "cluster", "disable", "n3")
        assert run(n3, "systemctl", "is-enabled", "swcorosync", check=False).stdout.strip() == "disabled"
        run(n1, "swpcs", "cluster", "enable", "n3")
        assert run(n3, "systemctl", "is-enabled", "swcorosync").stdout.strip() == "enabled"
        # A stop that would break quorum is refused; one that does not is carried out remotely.
        run(n1, "swpcs", "cluster", "stop", "n3")
        wait(lambda: online(n1) == ["n1", "n2"], what="n3 stopped")
        r = run(n1, "swpcs", "cluster", "stop", "n2", check=False)
        assert r.returncode == 1 and "--force" in r.stderr, r.stderr


def quorum(node):
    return json.loads(node.run(["swpcs", "quorum", "status", "--output", "json"]).stdout)["quorum"]


def main_pid(node, unit):
    return node.run(["systemctl", "show", "-p", "MainPID", "--value", unit]).stdout.strip()


def test_node_add_and_remove_reload_the_running_cluster():
    """A third node joins a running two-node cluster and leaves again: cluster.conf reaches the other
    nodes through swpcs-admin, swcorosync and swpacemakerd reload it (same PIDs: no restart), quorum
    goes from two_node to a majority of three and back."""
    spec = InstallSpec.from_repo(conf_text=None, authkey=None)
    with Cluster(nodes=3, links=1, prefix="swk", install=spec) as c:
        c.boot()
        n1, n2, n3 = c.node(1), c.node(2), c.node(3)
        for n in (n1, n2, n3):
            run(n, "systemctl", "enable", "--now", "swpcs-admin.socket")
        out = run(n1, "swpcs", "cluster", "setup", "grow", "n1", "addr=192.0.2.11", "n2", "addr=192.0.2.12",
                  "--start").stdout
        run(n2, "swpcs", "cluster", "join", re.search(r"swpcs cluster join (\S+)", out).group(1), "--start")
        wait(lambda: online(n1) == ["n1", "n2"], what="two nodes online")
        assert "2Node" in quorum(n1)["flags"]
        pids = {(n.name, u): main_pid(n, u) for n in (n1, n2) for u in ("swcorosync", "swpacemaker")}

        out = run(n1, "swpcs", "cluster", "node", "add", "n3", "addr=192.0.2.13").stdout
        assert "n2: cluster.conf updated and reloaded" in out, out
        assert "[node n3]" in n2.read_file("/etc/swpcs/cluster.conf")
        token = re.search(r"swpcs cluster join (\S+) --start", out).group(1)
        run(n3, "swpcs", "cluster", "join", token, "--start")
        wait(lambda: online(n1) == ["n1", "n2", "n3"] and online(n2) == ["n1", "n2", "n3"], what="n3 online")
        q = quorum(n1)
        assert q["expectedVotes"] == 3 and q["quorum"] == 2 and "2Node" not in q["flags"], q
        assert quorum(n2)["expectedVotes"] == 3

        run(n1, "swpcs", "cluster", "stop", "n3")
        wait(lambda: online(n1) == ["n1", "n2"], what="n3 stopped")
        out = run(n1, "swpcs", "cluster", "node", "remove", "n3").stdout
        assert "n2: cluster.conf updated and reloaded" in out, out
        wait(lambda: "2Node" in quorum(n2)["flags"] and quorum(n1)["expectedVotes"] == 2, what="two_node again")
        assert [x["name"] for x in json.loads(run(n1, "swpcs", "status", "--output", "json").stdout)["nodes"]] \
            == ["n1", "n2"]
        # Nothing was restarted on the nodes that stayed.
        assert pids == {(n.name, u): main_pid(n, u) for n in (n1, n2) for u in ("swcorosync", "swpacemaker")}
