"""The test network: one hub network namespace with one bridge per link, a fresh namespace per node boot.

Addressing (TEST-NET-1 only, never routed off the machine):
  link 0: 192.0.2.0/25,   node i = 192.0.2.(10+i)   on bridge <prefix>b0, node side eth0
  link 1: 192.0.2.128/25, node i = 192.0.2.(138+i)  on bridge <prefix>b1, node side eth1
Hub-side ports are named <prefix>n<i>l<link>. Faults live in one nftables `bridge` table in the hub
namespace: a set of blocked (in-port . out-port) pairs, which drops silently while links stay up, and
random-loss rules. Rules match interface *names*, so they survive a node's reboot (new veths, same names).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._sys import HarnessError, host, is_mountpoint, tool, umount

MAX_NODES = 100
LINK_NETS = ("192.0.2.0/25", "192.0.2.128/25")

_PING = r"""
import os, socket, struct, sys, time
dst, timeout, interval = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff; seq = 0; t0 = time.monotonic(); end = t0 + timeout; nxt = t0
while True:
    now = time.monotonic()
    if now >= end:
        print("timeout"); sys.exit(1)
    if now >= nxt:
        seq += 1; pay = struct.pack("!d", now)
        c = csum(struct.pack("!BBHHH", 8, 0, 0, ident, seq) + pay)
        try: s.sendto(struct.pack("!BBHHH", 8, 0, c, ident, seq) + pay, (dst, 0))
        except OSError: pass
        nxt = now + interval
    s.settimeout(max(0.001, min(nxt, end) - time.monotonic()))
    try: data, addr = s.recvfrom(2048)
    except socket.timeout: continue
    ihl = (data[0] & 15) * 4
    typ, _c, _s, rid, _q = struct.unpack("!BBHHH", data[ihl:ihl + 8])
    if typ == 0 and rid == ident and addr[0] == dst:
        print("%.3f" % ((time.monotonic() - struct.unpack("!d", data[ihl + 8:ihl + 16])[0]) * 1000))
        sys.exit(0)
"""


def addr(i: int, link: int = 0) -> str:
    """The address of node i on a link (i = 0: the client namespace, 192.0.2.2 / 192.0.2.130)."""
    if not 0 <= i <= MAX_NODES or link not in (0, 1):
        raise ValueError(f"no address for node {i} link {link}")
    if i == 0:
        return "192.0.2.2" if link == 0 else "192.0.2.130"
    return f"192.0.2.{(10 if link == 0 else 138) + i}"


def mac(kind: int, i: int, link: int) -> str:
    """Stable, locally administered MACs: kind 0 node side, 1 hub side, 2 bridge."""
    return f"02:53:{kind:02x}:{link:02x}:00:{i:02x}"


class Network:
    def __init__(self, prefix: str, base: Path, nodes: int, links: int, ipv6: bool = False,
                 static_arp: bool = True):
        if links not in (1, 2):
            raise ValueError("links must be 1 or 2")
        if len(f"{prefix}n{nodes}l{links}") > 15:
            raise ValueError(f"prefix {prefix!r} too long for interface names (max 15 chars)")
        self.prefix, self.base, self.nodes, self.links, self.ipv6 = prefix, base, nodes, links, ipv6
        self.static_arp = static_arp
        self.hub = base / "net" / "hub"
        self._nsenter, self._ip, self._nft = tool("nsenter"), tool("ip"), tool("nft")
        self._unshare, self._tc = tool("unshare"), tool("tc")

    # names ------------------------------------------------------------------------------------
    def port(self, i: int, link: int) -> str:
        return f"{self.prefix}n{i}l{link}"

    def bridge(self, link: int) -> str:
        return f"{self.prefix}b{link}"

    def netns_file(self, i: int) -> Path:
        """Network namespace file of node i; i = 0 is the client (an outside observer on the bridges)."""
        return self.base / "net" / (f"n{i}" if i else "client")

    # helpers ----------------------------------------------------------------------------------
    def in_hub(self, argv: list[str], **kw):
        return host([self._nsenter, f"--net={self.hub}", *argv], **kw)

    def in_node(self, i: int, argv: list[str], **kw):
        return host([self._nsenter, f"--net={self.netns_file(i)}", *argv], **kw)

    def _new_netns(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_mountpoint(path):
            umount(path)
        path.touch()
        host([self._unshare, f"--net={path}", "true"])
        v6 = "0" if self.ipv6 else "1"
        # /proc/sys/net is per network namespace: this touches only the new one.
        self_sh = (f"echo {v6} > /proc/sys/net/ipv6/conf/all/disable_ipv6; "
                   f"echo {v6} > /proc/sys/net/ipv6/conf/default/disable_ipv6; "
                   f"{self._ip} link set lo up")
        host([self._nsenter, f"--net={path}", "/bin/sh", "-ec", self_sh])

    @staticmethod
    def _drop_netns(path: Path) -> None:
        if is_mountpoint(path):
            umount(path)
        try:
            path.unlink()
        except FileNotFoundError:
            pass

    # lifecycle --------------------------------------------------------------------------------
    def setup_hub(self) -> None:
        self._new_netns(self.hub)
        cmds = []
        for k in range(self.links):
            b = self.bridge(k)
            cmds += [f"link add {b} address {mac(2, 0, k)} type bridge stp_state 0 forward_delay 0 "
                     f"mcast_snooping 0",
                     f"link set {b} up"]
        self.in_hub([self._ip, "-batch", "-"], input="\n".join(cmds) + "\n")
        self.apply_filters(set(), {})
        self.node_up(0)

    def node_up(self, i: int) -> None:
        """Fresh namespace and veths for node i (one per link), addressed and up."""
        ns = self.netns_file(i)
        self.node_down(i)
        self._new_netns(ns)
        hub_cmds, node_cmds = [], []
        for k in range(self.links):
            p, dev = self.port(i, k), f"eth{k}"
            hub_cmds += [f"link add {p} address {mac(1, i, k)} type veth peer name {dev} "
                         f"address {mac(0, i, k)} netns {ns}",
                         f"link set {p} master {self.bridge(k)}",
                         f"link set {p} up"]
            plen = LINK_NETS[k].split("/")[1]
            node_cmds += [f"addr add {addr(i, k)}/{plen} dev {dev}", f"link set {dev} up"]
            if self.static_arp:
                # MACs are stable: permanent neighbours make a healed fault heal at once (no ARP
                # entry stuck in FAILED for up to a second). Service addresses still use real ARP.
                node_cmds += [f"neigh replace {addr(j, k)} lladdr {mac(0, j, k)} dev {dev} nud permanent"
                              for j in range(0, self.nodes + 1) if j != i]
        self.in_hub([self._ip, "-batch", "-"], input="\n".join(hub_cmds) + "\n")
        self.in_node(i, [self._ip, "-batch", "-"], input="\n".join(node_cmds) + "\n")

    def cut_ports(self, i: int) -> None:
        """Delete node i's hub ports (the peers in the node's namespace go with them): instant silence."""
        cmds = [f"link del {self.port(i, k)}" for k in range(self.links)]
        self.in_hub([self._ip, "-force", "-batch", "-"], input="\n".join(cmds) + "\n", check=False)

    def node_down(self, i: int) -> None:
        if self.hub.exists() and is_mountpoint(self.hub):
            self.cut_ports(i)
        self._drop_netns(self.netns_file(i))

    def teardown(self) -> None:
        for i in range(0, self.nodes + 1):
            self._drop_netns(self.netns_file(i))
        self._drop_netns(self.hub)

    # faults -----------------------------------------------------------------------------------
    def apply_filters(self, blocked: set[tuple[int, int, int]],
                      loss: dict[tuple[int, int, str], float]) -> None:
        """Replace the whole fault ruleset atomically.

        blocked: (src node, dst node, link) — frames from src to dst on link are dropped.
        loss: (node, link, "in"|"out") -> percent of frames dropped at random.
        """
        elems = ", ".join(f'"{self.port(s, k)}" . "{self.port(d, k)}"' for s, d, k in sorted(blocked))
        rules = ["iifname . oifname @blocked counter drop"]
        for (n, k, direction), pct in sorted(loss.items()):
            if pct <= 0:
                continue
            match = "iifname" if direction == "out" else "oifname"
            chance = "" if pct >= 100 else f"numgen random mod 10000 < {int(round(pct * 100))} "
            rules.append(f'{match} "{self.port(n, k)}" {chance}counter drop')
        text = ["add table bridge harness", "delete table bridge harness",
                "table bridge harness {",
                "  set blocked { type ifname . ifname; " + (f"elements = {{ {elems} }}; " if elems else "") + "}",
                "  chain forward {", "    type filter hook forward priority 0; policy accept;",
                *("    " + r for r in rules), "  }", "}"]
        self.in_hub([self._nft, "-f", "-"], input="\n".join(text) + "\n")

    def ruleset(self) -> str:
        return self.in_hub([self._nft, "list", "table", "bridge", "harness"]).stdout

    def tc_netem(self, i: int, link: int, spec: str | None, direction: str) -> None:
        """Kernel netem qdisc (only where the kernel has sch_netem) on the hub side (into the node)
        and/or node side (out of the node)."""
        targets = []
        if direction in ("in", "both"):
            targets.append((self.in_hub, self.port(i, link)))
        if direction in ("out", "both"):
            targets.append((lambda argv, **kw: self.in_node(i, argv, **kw), f"eth{link}"))
        for run, dev in targets:
            run([self._tc, "qdisc", "del", "dev", dev, "root"], check=False)
            if spec:
                r = run([self._tc, "qdisc", "add", "dev", dev, "root", "netem", *spec.split()], check=False)
                if r.returncode != 0:
                    raise HarnessError(
                        f"tc netem {spec!r} failed on {dev}: {r.stderr.strip()} — this kernel may lack "
                        "sch_netem; only 'loss N%' works everywhere (done with nftables)")

    def ping(self, i: int, dst: str, timeout: float = 1.0, interval: float = 0.1) -> float | None:
        """ICMP echo from node i's network namespace. RTT in ms, or None if no answer in time."""
        ns = self.netns_file(i)
        if not ns.exists():
            return None
        r = host([self._nsenter, f"--net={ns}", "/usr/bin/python3", "-I", "-S", "-c", _PING,
                  dst, str(timeout), str(interval)], check=False, timeout=timeout + 10)
        if r.returncode == 0:
            return float(r.stdout.strip())
        return None

    @staticmethod
    def env_ok() -> list[str]:
        problems = []
        if os.geteuid() != 0:
            problems.append("must run as root")
        return problems
