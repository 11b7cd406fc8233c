"""Loopback tier: three real swcorosync daemons on 127.0.0.1-3."""
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time

import pytest
from loopback import BIN, PORT, LoopbackCluster, Subscriber


def test_three_daemons_form_one_quorate_view(cluster3):
    sts = cluster3.wait_for(lambda: cluster3.agreed(["n1", "n2", "n3"]), what="one view of n1 n2 n3")
    for s in sts:
        assert s["quorum"]["quorate"]
        assert s["quorum"]["totalVotes"] == 3
        assert s["quorum"]["quorum"] == 2


def test_kill9_is_detected_within_the_timeout_and_restart_rejoins(cluster3):
    c = cluster3
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
    killed_at = c["n3"].kill9()
    sts = c.wait_for(lambda: c.agreed(["n1", "n2"]), timeout=5, what="view without n3")
    for s in sts:
        detected = s["viewInstalledAt"] - killed_at
        # By the failure detector (timeout 1 s), not by anything slower; the figures themselves are
        # benchmarks (scripts/bench-membership, docs/benchmarks.md).
        assert detected < 3.0, f"{s['nodeName']} took {detected:.3f}s"
        assert s["quorum"]["quorate"]
    c["n3"].start()
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), timeout=5, what="rejoin of n3")


def test_sigterm_announces_leave_so_peers_drop_the_node_at_once(cluster3):
    c = cluster3
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
    stopped_at = c["n2"].terminate()
    assert c["n2"].proc.returncode == 0
    sts = c.wait_for(lambda: c.agreed(["n1", "n3"]), timeout=3, what="view without n2")
    for s in sts:
        # Announced: the view changes without waiting for the failure timeout (1 s).
        assert s["viewInstalledAt"] - stopped_at < 1.0
        state = {n["name"]: n["state"] for n in s["nodes"]}
        assert state["n2"] == "left"


def test_isolated_node_loses_quorum(tmp_path):
    # Two daemons only: the third node is configured but never started -> 2 of 3 votes.
    c = LoopbackCluster(tmp_path, 3)
    try:
        c["n1"].start()
        c["n2"].start()
        c.wait_for(lambda: c.agreed(["n1", "n2"]), what="view n1 n2")
        assert c["n1"].status()["quorum"]["quorate"]
        c["n2"].kill9()
        c.wait_for(lambda: c.agreed(["n1"]), what="n1 alone")
        s = c["n1"].status()
        assert not s["quorum"]["quorate"]
        r = c["n1"].swpcs("quorum", "status")
        assert r.returncode == 2, r
        assert "Quorate:          No" in r.stdout
    finally:
        c.stop_all()


def _sniff_one_datagram(dst_ip, timeout=5):
    """Capture one real swcorosync datagram addressed to dst_ip on lo (AF_PACKET, root)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    s.bind(("lo", 0))
    s.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            pkt = s.recv(70000)
            ihl = (pkt[0] & 0x0F) * 4
            if pkt[9] != 17:
                continue
            dst = socket.inet_ntoa(pkt[16:20])
            sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
            if dst == dst_ip and dport == PORT:
                return pkt[ihl + 8:]
    finally:
        s.close()
    raise AssertionError("no datagram captured")


def _send(payload, dst="127.0.0.1", src="127.0.0.9"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.sendto(payload, (dst, PORT))


@pytest.mark.skipif(os.geteuid() != 0, reason="packet capture needs root")
def test_tampered_replayed_and_random_packets_are_dropped_and_counted(cluster3):
    c = cluster3
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
    before = c["n1"].status()
    view = before["viewId"]
    genuine = _sniff_one_datagram("127.0.0.1")
    # Replays: the exact datagram again, several times.
    for _ in range(5):
        _send(genuine)
    # Tampering: flip one bit in the ciphertext, the tag, and the header.
    for pos in (20, len(genuine) - 1, 4):
        forged = bytearray(genuine)
        forged[pos] ^= 0x01
        _send(bytes(forged))
    # Truncations and random bytes of many sizes, plus an oversized datagram.
    rng = random.Random(7)
    for n in range(0, 200, 7):
        _send(genuine[:n])
    for _ in range(500):
        _send(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 1500))))
    _send(b"\x00" * 65500)
    time.sleep(0.5)
    after = c["n1"].status()
    drops = after["counters"]["dropped"]
    assert c["n1"].alive()
    assert drops["replay"] >= 5, drops
    assert drops["authentication"] >= 2, drops
    assert sum(drops.values()) >= 5 + 3 + 29 + 500, drops
    assert after["viewId"] == view, "forged traffic must not disturb the view"


def test_group_messages_are_delivered_in_the_same_order_everywhere(cluster3):
    c = cluster3
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
    subs = {n: Subscriber(c[n]) for n in ("n1", "n2", "n3")}
    try:
        def sender(name):
            for i in range(30):
                subs[name].send(f"{name}-{i}".encode())
        threads = [threading.Thread(target=sender, args=(n,)) for n in subs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        received = {}
        for name, sub in subs.items():
            got = []
            while len(got) < 90:
                ev = sub.next()
                if ev.get("event") == "message":
                    got.append((ev["sequence"], ev["origin"], ev["payload"]))
            received[name] = got
        assert received["n1"] == received["n2"] == received["n3"]
    finally:
        for s in subs.values():
            s.close()


def test_bad_config_gives_one_line_and_exit_1(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[cluster]\nname = x\nfailure_timeout = 10ms\n[node a]\nid = 1\naddr = 127.0.0.1\n")
    key = tmp_path / "key"
    key.write_bytes(os.urandom(64))
    os.chmod(key, 0o400)
    r = subprocess.run([str(BIN / "swcorosync"), "--config", str(conf), "--key", str(key), "--no-realtime"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "failure_timeout" in lines[0], r.stderr


@pytest.mark.parametrize("mode,expect", [(0o644, "chmod 0400"), (None, "missing authentication key")])
def test_key_that_is_missing_or_readable_by_others_is_refused(tmp_path, mode, expect):
    c = LoopbackCluster(tmp_path, 1)
    if mode is None:
        os.unlink(c.key)
    else:
        os.chmod(c.key, mode)
    r = subprocess.run([str(BIN / "swcorosync"), "--config", str(c.conf), "--key", str(c.key), "--node", "n1",
                        "--run-dir", str(tmp_path / "run"), "--state-dir", str(tmp_path / "st"), "--no-realtime"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert expect in r.stderr, r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")
def test_client_outside_haclient_is_refused(cluster3):
    c = cluster3
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
    # Let the unprivileged user reach the socket file itself, so SO_PEERCRED is what refuses it.
    os.chmod(c.dir, 0o755)
    os.chmod(c["n1"].dir, 0o755)
    os.chmod(os.path.dirname(c["n1"].socket), 0o755)
    os.chmod(c["n1"].socket, 0o666)
    r = c["n1"].swpcs("quorum", "status", user="65534")
    assert r.returncode == 4, r  # swpcs(8): 4 = permission denied
    assert "permission denied" in r.stderr, r.stderr


def test_swpcs_quorum_status_text_and_json(cluster3):
    c = cluster3
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
    r = c["n2"].swpcs("quorum", "status")
    assert r.returncode == 0, r.stderr
    for needle in ("Quorate:          Yes", "Expected votes:   3", "Total votes:      3", "Quorum:           2",
                   "n2 (local)", "Flags:            Quorate"):
        assert needle in r.stdout, r.stdout
    r = c["n2"].swpcs("quorum", "status", "--output", "json")
    import json
    s = json.loads(r.stdout)
    assert s["quorum"]["quorate"] and s["nodeName"] == "n2" and len(s["members"]) == 3


def test_swpcs_without_daemon_says_how_to_start_it(tmp_path):
    env = dict(os.environ, SWPCS_COROSYNC_SOCKET=str(tmp_path / "nothing.sock"))
    r = subprocess.run([str(BIN / "swpcs"), "quorum", "status"], capture_output=True, text=True, env=env)
    assert r.returncode == 3, r  # swpcs(8): 3 = the daemon is not running on this node
    assert "systemctl start swcorosync" in r.stderr


def test_node_lost_hook_runs_for_a_crashed_node_but_not_for_a_clean_leave(tmp_path):
    out = tmp_path / "hook.out"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\necho \"$1 $2\" >> {out}\n")
    hook.chmod(0o755)
    c = LoopbackCluster(tmp_path, 3, extra_cluster=f"node_lost_hook = {hook}")
    try:
        c.start_all()
        c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
        c["n3"].kill9()
        c.wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 2, what="hook output")
        assert sorted(out.read_text().splitlines()) == ["n3 3", "n3 3"]  # run on n1 and on n2
        c["n2"].terminate()
        c.wait_for(lambda: c.agreed(["n1"]), what="n1 alone")
        time.sleep(0.3)
        assert sorted(out.read_text().splitlines()) == ["n3 3", "n3 3"], "a clean leave is not a loss"
    finally:
        c.stop_all()


def test_malformed_control_requests_get_an_error_and_the_daemon_keeps_serving(cluster3):
    c = cluster3
    d = c["n1"]
    for bad in (b"not json\n", b'{"op": "nope"}\n', b'{"op": "send", "payload": "%%%"}\n', b"[]\n"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(d.socket)
            s.sendall(bad)
            answer = json.loads(s.recv(65536).split(b"\n")[0])
            assert answer["ok"] is False and answer["error"], answer
    assert d.alive() and d.status()["nodeName"] == "n1"


def test_group_messages_larger_than_a_small_read_buffer_arrive_whole(cluster3):
    # Regression: datagrams were read into 2 KiB buffers, truncated, and dropped as forged.
    c = cluster3
    c.wait_for(lambda: c.agreed(["n1", "n2", "n3"]), what="initial view")
    subs = {n: Subscriber(c[n]) for n in ("n1", "n2", "n3")}
    try:
        big = bytes(range(256)) * 200 + b"end"  # 51,203 bytes
        subs["n2"].send(big)
        for name, sub in subs.items():
            while True:
                ev = sub.next()
                if ev.get("event") == "message":
                    assert __import__("base64").b64decode(ev["payload"]) == big, name
                    break
        assert c["n1"].status()["counters"]["dropped"]["authentication"] == 0
    finally:
        for s in subs.values():
            s.close()
