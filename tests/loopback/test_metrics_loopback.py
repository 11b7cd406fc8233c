"""`swpcs metrics` and swpacemakerd's HTTP listener against real daemons on 127.0.0.x: a resource is
started, its node is killed, the resource fails over; the counters, the exposition format and the
log lines must say so."""
import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from loopback import BIN, ManagedCluster

METRICS_PORT = 19664
URL = f"http://127.0.0.1:{METRICS_PORT}"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Exposition text -> ({(name, frozenset(labels)): value}, {family: type}); checks the format."""
    samples, types, helps = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in helps, f"TYPE before HELP for {name}"
            assert kind in ("counter", "gauge", "histogram"), line
            if kind == "counter":
                assert name.endswith("_total"), f"counter {name} does not end in _total"
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample {name} has no TYPE line"
        samples[(name, frozenset(labels.items()))] = value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def total(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = ManagedCluster(tmp_path_factory.mktemp("metrics"), 2, port=15485, extra_quorum="two_node = true")
    # n1's swpacemakerd alone serves HTTP (both would bind the same port on one host) and logs debug.
    shared = c.conf.read_text()
    conf1 = c.dir / "cluster-n1.conf"
    conf1.write_text(shared.replace("[quorum]", "debug = true\n\n[quorum]", 1)
                     + f"\n[metrics]\nlisten = 127.0.0.1:{METRICS_PORT}\n")
    c.managers["n1"].conf = conf1
    try:
        c.start_all()
        c.settled()
        n1 = c.managers["n1"]
        for args in (["property", "set", "stonith-enabled=false"],
                     ["resource", "create", "d1", "ocf:heartbeat:Dummy"],
                     ["constraint", "location", "d1", "prefers", "n2=100"]):
            r = n1.swpcs(*args)
            assert r.returncode == 0, r.stderr
        c.wait_for(lambda: n1.status()["state"]["resources"].get("d1", {}).get("n2", {}).get("role") == "Started",
                   timeout=60, what="d1 started on n2")
        c.settled(timeout=60)
        yield c
    finally:
        c.stop_all()


def metrics(m, *args, env=None):
    r = m.swpcs("metrics", *args, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_metrics_of_a_settled_cluster(cl):
    s1, types = parse(metrics(cl.managers["n1"]))
    s2, _ = parse(metrics(cl.managers["n2"]))
    assert value(s1, "swpcs_daemon_up", daemon="swcorosync") == 1
    assert value(s1, "swpcs_daemon_up", daemon="swpacemakerd") == 1
    assert value(s1, "swpcs_node_info", cluster="loop", node="n1", node_id="1") == 1
    assert value(s1, "swpcs_membership_members") == 2
    assert value(s1, "swpcs_quorum_quorate") == 1
    assert value(s1, "swpcs_membership_view_changes_total") >= 1
    assert value(s1, "swpcs_membership_link_up", peer="n2", link="0") == 1
    assert value(s1, "swpcs_datagrams_dropped_total", reason="authentication") == 0
    assert value(s1, "swpcs_datagrams_received_total") > 0
    # n1 has the lowest id: it is the DC and the only one that schedules.
    assert value(s1, "swpcs_is_dc") == 1 and value(s2, "swpcs_is_dc") == 0
    assert value(s1, "swpcs_scheduler_duration_seconds_count") >= 1
    assert value(s1, "swpcs_scheduler_duration_seconds_bucket", le="+Inf") == \
        value(s1, "swpcs_scheduler_duration_seconds_count")
    assert value(s2, "swpcs_scheduler_duration_seconds_count") == 0
    assert value(s1, "swpcs_config_epoch") >= 3 and value(s1, "swpcs_config_epoch") == value(s2, "swpcs_config_epoch")
    # d1 was probed on both nodes and started on n2.
    assert value(s2, "swpcs_resource_actions_total", action="start", result="ok") >= 1
    assert total(s1, "swpcs_resource_actions_total", action="probe") >= 1
    count = value(s2, "swpcs_resource_action_duration_seconds_count", action="start")
    assert count >= 1 and 0 < value(s2, "swpcs_resource_action_duration_seconds_sum", action="start") < 60
    assert types["swpcs_resource_action_duration_seconds"] == "histogram"
    assert types["swpcs_resource_actions_total"] == "counter"


def test_metrics_json(cl):
    families = json.loads(metrics(cl.managers["n1"], "--output", "json"))
    names = [f["name"] for f in families]
    assert names[0] == "swpcs_daemon_up" and "swpcs_is_dc" in names and "swpcs_quorum_quorate" in names
    up = next(f for f in families if f["name"] == "swpcs_daemon_up")
    assert {s["labels"][0]["value"]: s["value"] for s in up["samples"]} == {"swcorosync": 1, "swpacemakerd": 1}


def test_a_daemon_not_running_is_reported_down(cl):
    n1 = cl.managers["n1"]
    text = metrics(n1, env=n1.env(SWPCS_SOCKET=str(cl.dir / "nowhere.sock")))
    s, _ = parse(text)
    assert value(s, "swpcs_daemon_up", daemon="swpacemakerd") == 0
    assert value(s, "swpcs_daemon_up", daemon="swcorosync") == 1
    assert "swpcs_is_dc" not in text and "swpcs_quorum_quorate" in text
    r = n1.swpcs("metrics", env=n1.env(SWPCS_COROSYNC_SOCKET=str(cl.dir / "nowhere.sock")))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    s, _ = parse(r.stdout)
    assert value(s, "swpcs_daemon_up", daemon="swcorosync") == 0
    assert value(s, "swpcs_daemon_up", daemon="swpacemakerd") == 1
    assert "swpcs_quorum_quorate" not in r.stdout and "swpcs_is_dc 1" in r.stdout


def test_http_listener(cl):
    with urllib.request.urlopen(URL + "/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        s, _ = parse(r.read().decode())
    assert value(s, "swpcs_daemon_up", daemon="swcorosync") == 1
    assert value(s, "swpcs_is_dc") == 1 and value(s, "swpcs_membership_members") == 2
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(URL + "/", timeout=10)
    assert e.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(URL + "/metrics", data=b"x", method="POST"), timeout=10)
    assert e.value.code == 405


def test_http_listener_survives_bad_requests(cl):
    for garbage in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 200000,
                    b"GET /metrics HTTP/9.9 extra\r\n\r\n", b""):
        with socket.create_connection(("127.0.0.1", METRICS_PORT), timeout=10) as s:
            try:
                s.sendall(garbage)
                s.shutdown(socket.SHUT_WR)
                s.recv(65536)
            except OSError:
                pass
    assert cl.managers["n1"].alive()
    with urllib.request.urlopen(URL + "/metrics", timeout=10) as r:
        assert r.status == 200


def test_failover_and_heartbeat_loss_are_counted_and_logged(cl):
    n1 = cl.managers["n1"]
    cl.managers["n2"].proc.kill()
    cl.managers["n2"].proc.wait()
    cl["n2"].kill9()
    cl.wait_for(lambda: n1.status()["state"]["resources"].get("d1", {}).get("n1", {}).get("role") == "Started",
                timeout=60, what="d1 recovered on n1")
    # The view can drop n2 (its gossiped row expired) a moment before its last datagram is
    # failure_timeout old and the link counts as down.
    s = cl.wait_for(lambda: (lambda s: s if value(s, "swpcs_membership_link_up", peer="n2", link="0") == 0 else None)(
        parse(metrics(n1))[0]), timeout=5, what="link to n2 down")
    # At least: a loaded machine may have lost n2 for a moment before too.
    assert value(s, "swpcs_resource_failovers_total", resource="d1") >= 1
    assert value(s, "swpcs_membership_peers_lost_total", peer="n2") >= 1
    assert value(s, "swpcs_membership_peer_timeouts_total", peer="n2") >= 1
    assert value(s, "swpcs_membership_heartbeats_missed_total", peer="n2") >= 1
    assert value(s, "swpcs_membership_members") == 1
    log = n1.log.read_text()
    assert re.search(r"^<5>DC is now n1", log, re.M), log[-3000:]
    assert re.search(r"^<5>start d1 on n1: ok, rc=0 \(ok\) done in \d+ ms", log, re.M)
    assert re.search(r"^<5>failover: d1 recovered on n1 \(n2 left the cluster\)", log, re.M)
    assert "<7>" in log, "debug = true in [cluster] must enable debug lines"
    assert "<7>" not in cl.managers["n2"].log.read_text(), "debug lines without debug = true"
    coro = cl["n1"].log.read_text()
    assert re.search(r"^<5>view \S+ installed: members n1; LOST n2", coro, re.M), coro[-2000:]
    assert re.search(r"^<4>n2 not heard on any link for 1s: declared dead", coro, re.M)


def test_a_failed_action_is_counted_and_logged_as_a_warning(cl):
    """After the failover (n1 alone): a Dummy whose state directory does not exist cannot start."""
    n1 = cl.managers["n1"]
    r = n1.swpcs("resource", "create", "bad", "ocf:heartbeat:Dummy", f"state={cl.dir}/missing/bad.state")
    assert r.returncode == 0, r.stderr
    s = cl.wait_for(lambda: (lambda s: s if value(s, "swpcs_resource_actions_total", action="start", result="failed")
                             else None)(parse(metrics(n1))[0]), timeout=30, what="the failed start counted")
    assert value(s, "swpcs_resource_actions_total", action="start", result="failed") == 1
    assert re.search(r"^<4>start bad on n1: failed, rc=1 .* done in \d+ ms", n1.log.read_text(), re.M)


def test_fence_results_are_counted(cl):
    """After the failover (n2 is down): fence n2 with Debian's fence_dummy; n1, the only member, runs it."""
    n1 = cl.managers["n1"]
    status_file = cl.dir / "fence_dummy.status"
    r = n1.swpcs("stonith", "create", "fd", "fence_dummy", "pcmk_host_list=n1 n2", f"status_file={status_file}",
                 "type=file")
    assert r.returncode == 0, r.stderr
    r = n1.swpcs("stonith", "fence", "n2", "--off", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    s, _ = parse(metrics(n1))
    assert value(s, "swpcs_fence_operations_total", action="off", result="success", target="n2") == 1
    assert re.search(r"^<5>n2 was fenced \(off\) by fd on n1", n1.log.read_text(), re.M)


def test_a_busy_metrics_port_does_not_stop_the_resource_manager(tmp_path):
    """The port is taken: swpacemakerd runs anyway, says so once, and listens once the port is free."""
    port = METRICS_PORT + 1
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen()
    c = ManagedCluster(tmp_path, 1, port=15487)
    conf = c.dir / "cluster-metrics.conf"
    conf.write_text(c.conf.read_text() + f"\n[metrics]\nlisten = 127.0.0.1:{port}\n")
    c.managers["n1"].conf = conf
    try:
        c.start_all()
        c.settled()
        m = c.managers["n1"]
        assert m.alive()
        assert re.search(rf"^<3>\[metrics\] listen = 127.0.0.1:{port}: cannot listen .*retrying every 10 s",
                         m.log.read_text(), re.M)
        blocker.close()
        def scraped():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.status == 200
        c.wait_for(scraped, timeout=25, what="the listener after the port was freed")
    finally:
        blocker.close()
        c.stop_all()
