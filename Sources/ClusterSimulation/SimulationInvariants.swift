import ClusterTypes
import Membership
import ResourceManager
import ResourceModel

/// The safety invariants of the whole-cluster simulation, checked as each step changes state, and
/// the convergence condition checked once the faults are over.
///
/// Names (stable, used in reports and regression tests):
/// - `single-active` — a primitive runs on two powered nodes: with fencing, at any moment (a node
///   is live until fenced); without, for longer than the grace a cut-off node needs to stop it under
///   no-quorum-policy=stop, and not counting a resource whose stop failed (blocked, unrecoverable
///   without fencing).
/// - `inquorate-start` — a node starts something while its partition has no quorum.
/// - `view-agreement` — two nodes installed the same view id with different members, or a node
///   installed a view it is not in, or view ids went backwards.
/// - `total-order` — members of a view delivered different messages at the same position.
/// - `virtual-synchrony` — two nodes installed the same two consecutive views but delivered a
///   different number of messages in the first.
/// - `config-monotonic` — a node's configuration version went backwards (memory or disk).
/// - `acknowledged-change-kept` — a configuration change acknowledged to a client is missing once
///   the cluster converged.
/// - `fail-count-monotonic` — a node's own fail count of a resource decreased without a cleanup.
/// - `convergence` — after the faults, the cluster did not reach one view with every runnable
///   resource running exactly once (and the replicas agreeing with reality) within the bound.
extension WholeClusterSimulation {
  mutating func observeView(_ i: Int, _ change: ViewChange) {
    let id = change.view.id
    let members = change.view.memberIds
    if let known = viewMembers[id], known != members {
      fail("view-agreement", "view \(id) has members \(known) on one node and \(members) on \(nodes[i].name)")
    }
    viewMembers[id] = members
    if change.view.members[nodes[i].id] == nil {
      fail("view-agreement", "\(nodes[i].name) installed view \(id) it is not a member of")
    }
    if let previous = nodes[i].currentView {
      if id <= previous {
        fail("view-agreement", "\(nodes[i].name) installed view \(id) after \(previous)")
      }
      let pair = [previous, id]
      if let count = flushCounts[pair], count != nodes[i].deliveredInView {
        fail(
          "virtual-synchrony",
          "\(nodes[i].name) delivered \(nodes[i].deliveredInView) messages in \(previous) before \(id); another member delivered \(count)"
        )
      }
      flushCounts[pair] = nodes[i].deliveredInView
    }
    nodes[i].currentView = id
    nodes[i].deliveredInView = 0
  }

  mutating func observeDelivery(_ i: Int, _ delivery: GroupDelivery) {
    guard delivery.view == nodes[i].currentView else {
      fail(
        "total-order",
        "\(nodes[i].name) delivered a message of view \(delivery.view) while in \(nodes[i].currentView.map { "\($0)" } ?? "no view")"
      )
      return
    }
    let position = nodes[i].deliveredInView
    var list = canonical[delivery.view] ?? []
    if position < list.count {
      if list[position] != delivery {
        fail(
          "total-order",
          "\(nodes[i].name) delivered seq \(delivery.sequence) from n\(delivery.origin) at position \(position) of view \(delivery.view); another member delivered seq \(list[position].sequence) from n\(list[position].origin)"
        )
      }
    } else {
      list.append(delivery)
      canonical[delivery.view] = list
    }
    nodes[i].deliveredInView += 1
  }

  /// After every input to node `i`'s controller.
  mutating func checkNode(_ i: Int, cleanup: Bool) {
    guard let controller = nodes[i].controller else { return }
    let version = controller.config.version
    if version < nodes[i].highestConfig {
      fail(
        "config-monotonic", "\(nodes[i].name) went from configuration \(nodes[i].highestConfig) to \(version)"
      )
    }
    nodes[i].highestConfig = max(nodes[i].highestConfig, version)
    var own: [String: [String: Int]] = [:]
    for (resource, byNode) in controller.state.resources {
      if let counts = byNode[nodes[i].name]?.failCounts, !counts.isEmpty { own[resource] = counts }
    }
    if !cleanup {
      for (resource, counts) in nodes[i].ownFailCounts {
        for (key, count) in counts where (own[resource]?[key] ?? 0) < count {
          fail(
            "fail-count-monotonic",
            "\(nodes[i].name)'s own fail count of \(resource) \(key) went from \(count) to \(own[resource]?[key] ?? 0)"
          )
        }
      }
    }
    nodes[i].ownFailCounts = own
  }

  /// After every step: the real world.
  mutating func checkWorld() {
    for resource in scenario.resources {
      // Runs after every event: indices, not `filter`, so no node is copied.
      var holders: [String] = []
      // Without fencing nothing stops a service on a node whose swpacemakerd is down while the others
      // recover it (Pacemaker has no answer to that without fencing either): it does not count.
      for i in nodes.indices
      where nodes[i].up && nodes[i].running.contains(resource)
        && (scenario.fencing || nodes[i].controller != nil)
      {
        holders.append(nodes[i].name)
      }
      // Without fencing a failed stop cannot be recovered safely (Pacemaker's documented limit):
      // the resource stays blocked where the stop failed while a cut-off majority recovers it.
      let unrecoverable =
        holders.count >= 2 && !scenario.fencing
        && nodes.indices.contains { i in
          guard nodes[i].running.contains(resource),
            let s = nodes[i].controller?.state.resources[resource]?[nodes[i].name]
          else { return false }
          return s.stopFailed || s.blocked
        }
      if holders.count >= 2 && !unrecoverable {
        if let since = doubleActiveSince[resource] {
          if now - since > singleActiveGrace {
            fail(
              "single-active",
              "\(resource) has been running on \(holders.joined(separator: " and ")) for more than \(singleActiveGrace)"
            )
          }
        } else {
          doubleActiveSince[resource] = now
          log("\(resource) is active on \(holders.joined(separator: " and "))")
        }
      } else {
        doubleActiveSince[resource] = nil
      }
    }
  }

  /// Nil when the cluster converged; otherwise what is still wrong.
  func convergenceProblem() -> String? {
    let all = nodes.map(\.id)
    guard let first = nodes[0].membership?.instance.installed else { return "n1 has no view" }
    for node in nodes {
      guard let view = node.membership?.instance.installed else { return "\(node.name) has no view" }
      if view.memberIds != all || view != first {
        return "\(node.name) is in view \(view.id) \(view.memberIds)"
      }
      guard let c = node.controller else { return "\(node.name) has no controller" }
      if c.joined.count != nodes.count { return "\(node.name) has joined \(c.joined.sorted())" }
      if c.config.version != nodes[0].controller?.config.version {
        return "\(node.name) has configuration \(c.config.version)"
      }
      if !node.operations.isEmpty { return "\(node.name) is executing" }
    }
    guard let dcName = nodes[0].controller?.dc, let dc = nodes.first(where: { $0.name == dcName })?.controller
    else { return "no DC" }
    if !dc.snapshot().transition.isEmpty { return "the DC is executing a transition" }
    let threshold = scenario.migrationThreshold ?? Score.infinityValue
    for resource in scenario.resources {
      let holders = nodes.filter { $0.running.contains(resource) }.map(\.name)
      let states = dc.state.resources[resource] ?? [:]
      if states.values.contains(where: { $0.blocked || $0.stopFailed }) {
        // Without fencing a blocked resource may stay active twice until an administrator cleans up.
        if holders.count > 1 && scenario.fencing { return "\(resource) (blocked) runs on \(holders)" }
        continue
      }
      let eligible = nodes.filter { node in
        guard let s = states[node.name] else { return true }
        return s.totalFailCount < threshold && !s.hardError && !s.fatalError
      }
      let expected = eligible.isEmpty ? 0 : 1
      if holders.count != expected {
        return
          "\(resource) runs on \(holders) (expected on \(expected) node(s); eligible \(eligible.map(\.name)))"
      }
      for node in nodes {
        let believed = states[node.name]?.role == .started
        if believed != node.running.contains(resource) {
          return
            "the DC believes \(resource) is \(believed ? "" : "not ")started on \(node.name); it is\(believed ? " not" : "")"
        }
      }
    }
    return nil
  }

  mutating func checkAcknowledged() {
    for (edit, node) in acknowledged.sorted(by: { $0.key < $1.key }) {
      for n in nodes where n.controller?.config.properties["sim-edit-\(edit)"] == nil {
        fail(
          "acknowledged-change-kept",
          "config edit \(edit) was acknowledged to the client on \(node) but \(n.name) has configuration \(n.controller?.config.version.description ?? "none") without it"
        )
        return
      }
    }
  }
}
