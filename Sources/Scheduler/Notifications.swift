import ResourceModel

/// Clone notifications (`notify=true`), as Pacemaker sends them: for each of the clone's operations
/// in the transition (stop, demote, start, promote), a `pre` notification to every instance active
/// before it, ordered before the first of those operations, and a `post` notification to every
/// instance active after it, ordered after the last. Each carries the variables agents read
/// (`notify_start_uname`, `notify_promoted_uname`, ... with the pre-2.1 `master`/`slave` names too).
/// Decided after propagation: only operations that are really in the transition are announced.
extension Cluster {
  mutating func scheduleNotifications() {
    for r in rscs.indices
    where rscs[r].variant == .clone && Value.bool(rscs[r].meta["notify"], default: false) {
      notifyClone(r)
    }
  }

  private mutating func notifyClone(_ clone: Int) {
    let instances = rscs[clone].children.compactMap { firstPrimitive($0) }
    func inTransition(_ a: Int) -> Bool { !actions[a].optional && actions[a].runnable && !actions[a].pseudo }
    var operations: [Task: [Int]] = [:]
    for p in instances {
      for a in actionsByRsc[p]
      where [.stop, .demote, .start, .promote].contains(actions[a].task) && inTransition(a) {
        operations[actions[a].task, default: []].append(a)
      }
    }
    guard !operations.isEmpty else { return }
    let variables = notificationVariables(instances, operations)
    // Where instances are active now (pre) and will be afterwards (post), on nodes that can run actions.
    let before = instances.flatMap { p in rscs[p].activeNodes.map { (p, $0) } }.filter {
      nodes[$0.1].available
    }
    let after = instances.compactMap { p -> (Int, Int)? in
      guard let n = rscs[p].assigned, rscs[p].nextRole != .stopped, nodes[n].available else { return nil }
      return (p, n)
    }
    for (code, task) in [Task.stop, .demote, .start, .promote].enumerated() {
      guard let ops = operations[task] else { continue }
      for (type, targets) in [("pre", before), ("post", after)] {
        for (p, n) in targets {
          let key = 1 + code * 2 + (type == "post" ? 1 : 0)
          let a = action(p, .notify, n, interval: key, optional: false)
          actions[a].runnable = nodes[n].online
          var vars = variables
          vars["notify_type"] = type
          vars["notify_operation"] = task.rawValue
          actions[a].notification = ScheduledAction.Notification(
            type: type, operation: task.rawValue, variables: vars)
          for op in ops {
            if type == "pre" {
              if op != a { relate(a, op, [.ordered]) }
            } else {
              relate(op, a, [.ordered])
            }
          }
        }
      }
    }
  }

  /// Pacemaker's notification variables: space-separated instance ids (`_resource`) and node names
  /// (`_uname`) per operation and per current role.
  private func notificationVariables(_ instances: [Int], _ operations: [Task: [Int]]) -> [String: String] {
    var vars: [String: String] = [:]
    func put(_ name: String, _ pairs: [(Int, Int)]) {
      vars["notify_\(name)_resource"] = pairs.map { rscs[$0.0].id }.joined(separator: " ")
      vars["notify_\(name)_uname"] = pairs.map { nodes[$0.1].name }.joined(separator: " ")
    }
    for task in [Task.start, .stop, .promote, .demote] {
      put(
        task.rawValue,
        (operations[task] ?? []).compactMap { a in actions[a].node.map { (actions[a].rsc!, $0) } })
    }
    let active = instances.flatMap { p in rscs[p].activeNodes.map { (p, $0) } }
    put("active", active)
    let promoted = active.filter { rscs[$0.0].origRole == .promoted }
    let unpromoted = active.filter { rscs[$0.0].origRole != .promoted }
    put("promoted", promoted)
    put("master", promoted)
    put("unpromoted", unpromoted)
    put("slave", unpromoted)
    vars["notify_inactive_resource"] = instances.filter { rscs[$0].activeNodes.isEmpty }.map { rscs[$0].id }
      .joined(separator: " ")
    vars["notify_all_uname"] = nodes.map(\.name).joined(separator: " ")
    vars["notify_available_uname"] = nodes.filter(\.available).map(\.name).joined(separator: " ")
    return vars
  }
}
