"""scripts/cluster: bring a container cluster up, poke it, tear it down (for humans debugging).

The cluster outlives each command: `up` boots it and detaches; later commands attach through
/mnt/PREFIX/state.json. Default prefix `swc` (tests use their own prefixes, so both can coexist).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
from pathlib import Path

from . import _sys
from .cluster import (NODE_ENV, Cluster, InstallSpec, acquire_prefix_lock, cleanup_prefix, default_base,
                      leftovers, lock_path)

REPO = Path(__file__).resolve().parents[3]


def _node_ref(s: str) -> int:
    return int(s.lstrip("n"))


def _attach(args, lock: bool = True) -> Cluster:
    return Cluster.attach(args.prefix, lock=lock)


def _default_bin_dir() -> Path | None:
    for d in (REPO / ".build" / "debug", REPO / ".build" / "release"):
        if (d / "swcorosync").exists() or (d / "swpcs").exists():
            return d
    return None


def _agent_files() -> dict:
    """What the package installs besides the binaries: the Pacemaker command shims agents call
    (crm_attribute/crm_master, crm_mon, cibadmin) and the promotable test agent ocf:swpcs:Stateful.
    The host's Pacemaker (if any, for crm_simulate) is hidden from ocf-shellfuncs as in the tests."""
    agents = REPO / "agents"
    files = {}
    for tool, source in [("crm_attribute", "crm_attribute"), ("crm_master", "crm_attribute"),
                         ("crm_mon", "crm_mon"), ("cibadmin", "cibadmin")]:
        if (agents / source).is_file():
            files[f"/usr/sbin/{tool}"] = ((agents / source).read_text(), 0o755)
    if (agents / "ocf" / "swpcs" / "Stateful").is_file():
        files["/usr/lib/ocf/resource.d/swpcs/Stateful"] = (
            (agents / "ocf" / "swpcs" / "Stateful").read_text(), 0o755)
    files["/usr/sbin/pacemakerd"] = ("#!/bin/sh\nexit 1\n", 0o755)
    return files


def cmd_up(args) -> int:
    state = default_base() / args.prefix / "state.json"
    if state.exists() and not args.replace:
        c = _attach(args, lock=False)
        if any(n.running for n in c.nodes):
            print(f"cluster {args.prefix} is already up; `down` it first or pass --replace", file=sys.stderr)
            return 1
    bin_dir = Path(args.bin_dir) if args.bin_dir else _default_bin_dir()
    units_dir = Path(args.units_dir) if args.units_dir else (REPO / "units")
    if units_dir and (not units_dir.is_dir() or not any(units_dir.iterdir())):
        units_dir = None
    binaries = args.binaries.split(",") if args.binaries else None
    if bin_dir and binaries is None and not args.bin_dir:
        binaries = [b for b in ("swcorosync", "swpacemakerd", "swpcs") if (bin_dir / b).exists()]
    authkey = Path(args.authkey).read_bytes() if args.authkey else secrets.token_bytes(32)
    spec = InstallSpec(bin_dir=bin_dir, binaries=binaries, units_dir=units_dir,
                       conf_text=Path(args.conf).read_text() if args.conf else None, authkey=authkey,
                       enable=args.enable.split(",") if args.enable else (), files=_agent_files())
    c = Cluster(nodes=args.nodes, links=args.links, prefix=args.prefix, install=spec,
                mask=args.mask.split(",") if args.mask else (), fence_hook=False)
    c.open()
    try:
        report = c.boot()
    except BaseException:
        c.close()
        raise
    c.detach()
    for name, r in report.items():
        extra = f" failed: {', '.join(r['failed'])}" if r["failed"] else ""
        print(f"{name}: {r['state']} after {r['seconds']:.2f}s{extra}")
    print(f"binaries: {bin_dir or '-'} {binaries or ''}; units: {units_dir or '-'}")
    print(f"cluster {args.prefix} up. `scripts/cluster --prefix {args.prefix} down` to remove it.")
    return 0


def cmd_down(args) -> int:
    if (default_base() / args.prefix / "state.json").exists():
        _attach(args).close()           # refuses (HarnessError) if a live process owns the cluster
    else:                               # state lost: clean by prefix, but only if nobody owns it
        fd = acquire_prefix_lock(args.prefix)
        try:
            cleanup_prefix(args.prefix)
        finally:
            os.close(fd)
            lock_path(args.prefix).unlink(missing_ok=True)
    left = leftovers(args.prefix)
    if any(left.values()):
        print(f"leftovers: {left}", file=sys.stderr)
        return 1
    print(f"cluster {args.prefix} removed")
    return 0


def cmd_status(args) -> int:
    c = _attach(args, lock=False)
    st = c.status()
    if args.json:
        print(json.dumps(st, indent=1))
        return 0
    for name, n in st["nodes"].items():
        state = "-"
        if n["running"]:
            r = c.node(name).run(["systemctl", "is-system-running"], timeout=10)
            state = r.stdout.strip()
        print(f"{name}: {'up' if n['running'] else 'off':3} {state:10} pid1={n['pid1']} boots={n['boots']} "
              f"{' '.join(n['addrs'])}")
    if st["blocked"]:
        print("blocked (src, dst, link):", st["blocked"])
    if st["loss"] or st["netem"]:
        print("loss:", st["loss"], "netem:", st["netem"])
    return 0


def _exec_in(c: Cluster, node: str, argv: list[str]) -> int:
    cmd = c.node(_node_ref(node)).command(argv)
    env = {**NODE_ENV, "TERM": os.environ.get("TERM", "dumb")}
    sys.stdout.flush()
    os.execve(cmd[0], cmd, env)
    return 127


def cmd_exec(args) -> int:
    if not args.cmd:
        print("exec NODE CMD...", file=sys.stderr)
        return 2
    return _exec_in(_attach(args, lock=False), args.node, args.cmd)


def cmd_shell(args) -> int:
    return _exec_in(_attach(args, lock=False), args.node, ["/bin/bash", "-l"])


def cmd_logs(args) -> int:
    argv = ["journalctl", "--no-pager", "-o", "short-precise"]
    if args.unit:
        argv += ["-u", args.unit]
    if args.lines:
        argv += ["-n", str(args.lines)]
    if args.follow:
        argv += ["-f"]
    return _exec_in(_attach(args, lock=False), args.node, argv)


def cmd_console(args) -> int:
    c = _attach(args, lock=False)
    print(c.console_tail(_node_ref(args.node), args.lines))
    return 0


def _mutate(args, fn) -> int:
    c = _attach(args)
    try:
        out = fn(c)
        if out is not None:
            print(out)
    finally:
        c.detach()
    return 0


def cmd_ping(args) -> int:
    c = _attach(args, lock=False)
    target = args.target
    target = int(target.lstrip("n")) if target.lstrip("n").isdigit() else target
    rtt = c.node(_node_ref(args.node)).ping(target, link=args.link, timeout=args.timeout)
    print(f"{rtt:.3f} ms" if rtt is not None else "no answer")
    return 0 if rtt is not None else 1


def cmd_mem(args) -> int:
    c = _attach(args, lock=False)
    for n in c.nodes:
        if n.running:
            m = n.memory()
            print(f"{n.name}: {m['processes']} processes, RSS {m['rss_kib'] / 1024:.1f} MiB, "
                  f"PSS {m['pss_kib'] / 1024:.1f} MiB, disk {n.disk_usage_kib() / 1024:.1f} MiB")
    return 0


def cmd_watch(args) -> int:
    c = _attach(args)
    print(f"serving fence requests in {c.hook} (node: /run/swpcs-harness/poweroff-nK); Ctrl-C to stop")
    try:
        c.watch_fence_requests()
    except KeyboardInterrupt:
        pass
    finally:
        c.detach()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prefix", default=os.environ.get("SWPCS_CLUSTER_PREFIX", "swc"),
                   help="cluster name (default swc, env SWPCS_CLUSTER_PREFIX)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("up", help="boot N nodes and leave them running")
    s.add_argument("nodes", type=int)
    s.add_argument("--links", type=int, default=2, choices=(1, 2))
    s.add_argument("--bin-dir", help="dir with the binaries (default: .build/debug if it has swcorosync/swpcs)")
    s.add_argument("--binaries", help="comma-separated names in --bin-dir (default: all executables)")
    s.add_argument("--units-dir", help="unit files to install (default: units/ of the repo)")
    s.add_argument("--conf", help="file to install as /etc/swpcs/cluster.conf")
    s.add_argument("--authkey", help="file to install as /etc/swpcs/authkey (default: random)")
    s.add_argument("--enable", help="comma-separated units to enable before first boot")
    s.add_argument("--mask", help="comma-separated extra unit patterns to mask in nodes")
    s.add_argument("--replace", action="store_true", help="tear down a running cluster of this prefix first")
    s.set_defaults(fn=cmd_up)

    sub.add_parser("down", help="remove the cluster and everything it made").set_defaults(fn=cmd_down)
    s = sub.add_parser("status")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_status)

    s = sub.add_parser("exec", help="run a command in a node: exec n1 systemctl status")
    s.add_argument("node")
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    s.set_defaults(fn=cmd_exec)
    s = sub.add_parser("shell", help="interactive bash in a node")
    s.add_argument("node")
    s.set_defaults(fn=cmd_shell)
    s = sub.add_parser("logs", help="journal of a node")
    s.add_argument("node")
    s.add_argument("-u", "--unit")
    s.add_argument("-n", "--lines", type=int)
    s.add_argument("-f", "--follow", action="store_true")
    s.set_defaults(fn=cmd_logs)
    s = sub.add_parser("console", help="tail of a node's console (boot messages, nspawn errors)")
    s.add_argument("node")
    s.add_argument("-n", "--lines", type=int, default=40)
    s.set_defaults(fn=cmd_console)

    def node_op(name, help_, fn):
        s = sub.add_parser(name, help=help_)
        s.add_argument("node")
        s.set_defaults(fn=lambda a: _mutate(a, lambda c: fn(c, _node_ref(a.node), a)))
        return s

    node_op("kill", "power loss (SIGKILL PID 1)", lambda c, i, a: f"killed at {c.power_kill(i):.3f}")
    node_op("stop", "clean shutdown", lambda c, i, a: c.stop(i))
    s = node_op("start", "boot a stopped node", lambda c, i, a: c.start(i, wait=not a.no_wait) and None)
    s.add_argument("--no-wait", action="store_true")
    node_op("reboot", "power-kill and boot", lambda c, i, a: c.reboot(i) and None)
    s = node_op("isolate", "drop all traffic of a node", lambda c, i, a: c.isolate(i, a.link))
    s.add_argument("--link", type=int)

    s = sub.add_parser("partition", help="partition 1,2 3: groups that can't reach each other")
    s.add_argument("groups", nargs="+")
    s.add_argument("--link", type=int)
    s.set_defaults(fn=lambda a: _mutate(a, lambda c: c.partition(
        [[_node_ref(x) for x in g.split(",")] for g in a.groups], a.link)))
    s = sub.add_parser("block", help="block SRC DST: one direction only")
    s.add_argument("src")
    s.add_argument("dst")
    s.add_argument("--link", type=int)
    s.set_defaults(fn=lambda a: _mutate(a, lambda c: c.block(_node_ref(a.src), _node_ref(a.dst), a.link)))
    s = sub.add_parser("cut", help="cut NODE LINK: the node loses one link")
    s.add_argument("node")
    s.add_argument("link", type=int)
    s.set_defaults(fn=lambda a: _mutate(a, lambda c: c.cut_link(_node_ref(a.node), a.link)))
    s = sub.add_parser("netem", help="netem NODE LINK 'loss 30%%' (or 'none')")
    s.add_argument("node")
    s.add_argument("link", type=int)
    s.add_argument("spec")
    s.add_argument("--direction", default="both", choices=("in", "out", "both"))
    s.set_defaults(fn=lambda a: _mutate(a, lambda c: c.netem(
        _node_ref(a.node), a.link, None if a.spec == "none" else a.spec, a.direction)))
    sub.add_parser("heal", help="remove all faults").set_defaults(
        fn=lambda a: _mutate(a, lambda c: c.heal()))
    sub.add_parser("ruleset", help="show the fault nftables table").set_defaults(
        fn=lambda a: print(_attach(a, lock=False).net.ruleset()) or 0)

    s = sub.add_parser("ping", help="ping NODE TARGET [--link K]")
    s.add_argument("node")
    s.add_argument("target", help="node (n2) or address")
    s.add_argument("--link", type=int, default=0)
    s.add_argument("--timeout", type=float, default=1.0)
    s.set_defaults(fn=cmd_ping)
    sub.add_parser("mem", help="RAM and disk per node").set_defaults(fn=cmd_mem)
    sub.add_parser("watch", help="serve fence requests (poweroff-nK files) until Ctrl-C").set_defaults(
        fn=cmd_watch)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    if os.geteuid() != 0:
        print("scripts/cluster must run as root", file=sys.stderr)
        return 1
    try:
        return args.fn(args) or 0
    except _sys.HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
