import ResourceModel

/// Placement of a clone's instances (Pacemaker's `pcmk__assign_instances`). Instances are taken in
/// Pacemaker's order (`pcmk__cmp_instance`); first each running, healthy instance is tried on its
/// current node while that node has fewer than its fair share (`clone-max` / available nodes) — when
/// another node comes out better, one instance is reserved for that node and the try repeats, so
/// instances move only to balance — then the rest go to their best nodes. No node gets more than
/// `clone-node-max`, nor any instance where the clone itself scores below zero. Anonymous instances
/// were matched to the nodes they run on when the status was read (`instanceStates`); a globally
/// unique instance is its own agent instance and keeps its history.
extension Cluster {
  mutating func assignInstances(_ clone: Int) {
    var perNode = max(Value.score(rscs[clone].meta["clone-node-max"]) ?? 1, 0)
    if perNode > 1 && !isUniqueClone(clone) {
      // Anonymous instances on one node would be one agent instance (`OCF_RESOURCE_INSTANCE=CHILD`).
      notes.append(
        "\(rscs[clone].id): clone-node-max=\(perNode) ignored, an anonymous clone runs one instance per node")
      perNode = 1
    }
    let instances = instancesInAssignmentOrder(clone)
    let maxTotal = instances.count
    var counts = Array(repeating: 0, count: nodes.count)
    let availableNodes = nodes.indices.filter { rscs[clone].allowed[$0] != nil && nodes[$0].available }.count
    let optimalPerNode = max(availableNodes > 0 ? maxTotal / availableNodes : 0, 1)
    var assigned = 0
    // An orphan (numbered from clone-max up) that cannot be stopped — its stop failed without fencing —
    // is an anonymous clone's one agent instance on its node: no instance may start there either.
    if !isUniqueClone(clone) {
      for o in orphanInstances(of: clone) where !rscs[o].managed {
        for n in rscs[o].activeNodes { counts[n] = max(counts[n], perNode) }
      }
    }
    // An instance that cannot move (every member unmanaged: blocked by a failure it cannot recover
    // from, or in maintenance) stays where it is active whatever its score there: it takes its node's
    // place first. Pacemaker assigns it last (a failed stop's -INFINITY ban sorts it after the others)
    // and can place another instance on its node — for an anonymous clone a second start of the one
    // agent instance that is blocked there.
    for i in instances where assigned < maxTotal && !isInstanceAssigned(i) && instanceStaysPut(i) {
      assign(i)
      if let n = firstPrimitive(i).flatMap({ rscs[$0].assigned }) {
        counts[n] += 1
        assigned += 1
      }
    }
    for i in instances where assigned < maxTotal && !isInstanceAssigned(i) {
      guard let current = earlyNode(i, clone, optimalPerNode, counts) else { continue }
      if assignOnCurrentNode(i, clone, current, perNode, available: maxTotal - assigned, &counts) {
        assigned += 1
      }
    }
    for i in instances where !isInstanceAssigned(i) {
      if assigned >= maxTotal {
        addLocation(i, node: nil, score: -Value.infinity)
        assign(i)
      } else if assignInstance(i, clone, prefer: nil, perNode, &counts) != nil {
        assigned += 1
      }
    }
  }

  private func isInstanceAssigned(_ i: Int) -> Bool {
    primitivesIn(i).contains { rscs[$0].assignState != .pending }
  }

  private func primitivesIn(_ r: Int) -> [Int] {
    rscs[r].isPrimitive ? [r] : rscs[r].children.flatMap { primitivesIn($0) }
  }

  /// The nodes an instance is active on (for a cloned group: any member's).
  private func instanceActiveNodes(_ i: Int) -> [Int] {
    var result: [Int] = []
    for p in primitivesIn(i) { for n in rscs[p].activeNodes where !result.contains(n) { result.append(n) } }
    return result
  }

  /// Where an instance runs now (for a cloned group: its first active member's node).
  private func instanceCurrentNode(_ i: Int) -> Int? {
    primitivesIn(i).first { !rscs[$0].activeNodes.isEmpty }.flatMap { currentNode($0) }
  }

  private func instanceFailed(_ i: Int) -> Bool { primitivesIn(i).contains { rscs[$0].failed } }

  /// Every member of the instance is unmanaged and active on one node: nothing will move it.
  private func instanceStaysPut(_ i: Int) -> Bool {
    let members = primitivesIn(i)
    return !members.isEmpty && members.allSatisfy { !rscs[$0].managed } && instanceActiveNodes(i).count == 1
  }

  /// The instance's own score table (a cloned group's first member carries the group's scores).
  private func instanceScore(_ i: Int, _ n: Int) -> Int? {
    firstPrimitive(i).flatMap { rscs[$0].allowed[n] }
  }

  /// Pacemaker's `preferred_node`: a running, healthy instance whose current node can run resources
  /// and does not hold its fair share yet.
  private func earlyNode(_ i: Int, _ clone: Int, _ optimalPerNode: Int, _ counts: [Int]) -> Int? {
    guard !instanceActiveNodes(i).isEmpty, !instanceFailed(i), let n = instanceCurrentNode(i),
      nodes[n].available, nodes[n].baseScore >= 0
    else { return nil }
    if rscs[clone].allowed[n] != nil && counts[n] >= optimalPerNode { return nil }
    return n
  }

  /// Pacemaker's `can_run_instance`.
  private func canRunInstance(_ clone: Int, _ n: Int, _ perNode: Int, _ counts: [Int]) -> Bool {
    guard nodes[n].available, let parentScore = rscs[clone].allowed[n], parentScore >= 0 else { return false }
    return counts[n] < perNode
  }

  /// Pacemaker's `assign_instance`: ban the nodes the instance cannot use, assign it (preferring
  /// `prefer` when it is as good as the best node), and count it on its node.
  private mutating func assignInstance(
    _ i: Int, _ clone: Int, prefer: Int?, _ perNode: Int, _ counts: inout [Int]
  ) -> Int? {
    let members = primitivesIn(i)
    for n in nodes.indices where !canRunInstance(clone, n, perNode, counts) {
      for p in members where rscs[p].allowed[n] != nil { rscs[p].allowed[n] = -Value.infinity }
    }
    for p in members { rscs[p].preferredNode = prefer }
    assign(i)
    for p in members { rscs[p].preferredNode = nil }
    let chosen = firstPrimitive(i).flatMap { rscs[$0].assigned }
    if let chosen { counts[chosen] += 1 }
    return chosen
  }

  /// Pacemaker's `assign_instance_early`: try the instance on its current node; while another node
  /// comes out better, reserve an instance for that node (in a scratch count) and try again, at most
  /// once per instance still to place. A try that does not end on the current node is undone.
  private mutating func assignOnCurrentNode(
    _ i: Int, _ clone: Int, _ current: Int, _ perNode: Int, available: Int, _ counts: inout [Int]
  ) -> Bool {
    guard let score = instanceScore(i, current), score >= 0, nodes[current].available else { return false }
    let saved = ([i] + primitivesIn(i)).map { ($0, rscs[$0]) }
    var scratch = counts
    var reserved = 0
    var chosen: Int?
    while reserved < available {
      chosen = assignInstance(i, clone, prefer: current, perNode, &scratch)
      if chosen == current { break }
      for p in primitivesIn(i) { if let a = rscs[p].assigned { nodes[a].assignedCount -= 1 } }
      for (r, rsc) in saved { rscs[r] = rsc }
      guard chosen != nil else { break }
      reserved += 1
      chosen = nil
    }
    guard let chosen else { return false }
    counts[chosen] += 1
    return true
  }

  /// The clone's instances in Pacemaker's assignment order (`pcmk__cmp_instance`, applied with
  /// GLib's list merge sort so that ties keep their order): active instances on fewer nodes first,
  /// instances not active where they are no longer allowed, higher priority, active ones, on a node
  /// that can run resources, where the clone is allowed, not failed, then by instance number.
  func instancesInAssignmentOrder(_ clone: Int) -> [Int] {
    func compare(_ a: Int, _ b: Int) -> Int {
      let activeA = instanceActiveNodes(a).count
      let activeB = instanceActiveNodes(b).count
      if activeA > 0 && activeB > 0 && activeA != activeB { return activeA < activeB ? -1 : 1 }
      var nodeA = instanceCurrentNode(a)
      var nodeB = instanceCurrentNode(b)
      let allowedA = nodeA.map { (instanceScore(a, $0) ?? -1) >= 0 } ?? true
      let allowedB = nodeB.map { (instanceScore(b, $0) ?? -1) >= 0 } ?? true
      if !allowedA { nodeA = nil }
      if !allowedB { nodeB = nil }
      if allowedA != allowedB { return allowedA ? -1 : 1 }
      if rscs[a].priority != rscs[b].priority { return rscs[a].priority > rscs[b].priority ? -1 : 1 }
      guard let na = nodeA, let nb = nodeB else {
        if nodeA == nil && nodeB == nil { return 0 }
        return nodeA == nil ? 1 : -1
      }
      if nodes[na].available != nodes[nb].available { return nodes[na].available ? -1 : 1 }
      let parentA = rscs[clone].allowed[na] != nil
      let parentB = rscs[clone].allowed[nb] != nil
      if !parentA && !parentB { return 0 }
      if parentA != parentB { return parentA ? -1 : 1 }
      let failedA = instanceFailed(a)
      if failedA != instanceFailed(b) { return failedA ? 1 : -1 }
      return instanceNumber(a) - instanceNumber(b)
    }
    return Self.listMergeSort(rscs[clone].children, compare)
  }

  private func instanceNumber(_ i: Int) -> Int {
    rscs[i].id.split(separator: ":").last.flatMap { Int($0) } ?? 0
  }

  /// GLib's `g_list_sort`: top-down merge sort, the first half `count / 2` long, ties from the left.
  static func listMergeSort(_ list: [Int], _ compare: (Int, Int) -> Int) -> [Int] {
    guard list.count > 1 else { return list }
    let left = listMergeSort(Array(list[..<(list.count / 2)]), compare)
    let right = listMergeSort(Array(list[(list.count / 2)...]), compare)
    var merged: [Int] = []
    merged.reserveCapacity(list.count)
    var l = 0
    var r = 0
    while l < left.count && r < right.count {
      if compare(left[l], right[r]) <= 0 {
        merged.append(left[l])
        l += 1
      } else {
        merged.append(right[r])
        r += 1
      }
    }
    return merged + left[l...] + right[r...]
  }
}
