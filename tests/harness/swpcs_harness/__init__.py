"""swpcs_harness: real multi-node clusters (systemd in systemd-nspawn containers) on one machine.

    from swpcs_harness import Cluster, InstallSpec
    with Cluster(nodes=3, links=2, prefix="swt", install=InstallSpec(bin_dir=".build/debug",
                 units_dir="units", conf_text=..., authkey=...)) as c:
        c.boot()
        c.node(1).run(["systemctl", "start", "swcorosync"], check=True)
        t = c.power_kill(2); c.isolate(3); c.heal(); c.start(2)

Needs root, systemd-container, iproute2, nftables, util-linux. See tests/harness/README.md.
"""

from ._sys import HarnessError
from .cluster import (HOOK_IN_NODE, STAGE_IN_NODE, Cluster, InstallSpec, Node, NodeCommandError,
                      cleanup_prefix, leftovers)
from .network import addr
from .waiting import wait_until

__all__ = ["Cluster", "InstallSpec", "Node", "NodeCommandError", "HarnessError", "cleanup_prefix",
           "leftovers", "addr", "wait_until", "HOOK_IN_NODE", "STAGE_IN_NODE"]
