import ResourceModel

/// `interleave=true` on the dependent clone of an order between two clones: each of its instances
/// waits only for the other clone's instance on the same node (Pacemaker's interleaved clone
/// ordering), not for the whole clone — so one instance starting does not restart every dependent.
extension Cluster {
  mutating func resolveInterleaved(_ o: PendingOrder) -> Bool {
    guard o.firstAction == nil, o.thenAction == nil, let fr = o.firstRsc, let tr = o.thenRsc, fr != tr,
      let firstTask = o.firstTask, let thenTask = o.thenTask,
      rscs[fr].variant == .clone, rscs[tr].variant == .clone,
      [Task.start, .stop, .promote, .demote].contains(firstTask),
      [Task.start, .stop, .promote, .demote].contains(thenTask)
    else { return false }
    // The dependent is the clone ordered second for starts, first for the inverse (stop) order.
    let dependent =
      [Task.stop, .demote].contains(firstTask) && [Task.stop, .demote].contains(thenTask) ? fr : tr
    guard Value.bool(rscs[dependent].meta["interleave"], default: false) else { return false }
    // require-all=false (one instance of the first clone is enough) is ordered clone to clone.
    let pair = Set([fr, tr])
    if config.constraints.orders.contains(where: {
      !$0.requireAll && Set([rscIndex[$0.first], rscIndex[$0.then]].compactMap { $0 }) == pair
    }) {
      return false
    }
    func node(_ instance: Int, _ task: Task) -> Int? {
      guard let p = firstPrimitive(instance) else { return nil }
      return [Task.stop, .demote].contains(task)
        ? currentNode(p) ?? rscs[p].assigned : rscs[p].assigned ?? currentNode(p)
    }
    for ti in rscs[tr].children {
      guard let n = node(ti, thenTask) else { continue }
      guard let fi = rscs[fr].children.first(where: { node($0, firstTask) == n }) else { continue }
      var firsts = findActions(fi, firstTask)
      if !rscs[fi].isPrimitive {
        firsts = firsts.map { findAction(fi, actions[$0].task.completion, on: nil) ?? $0 }
      }
      let thens = findActions(ti, thenTask)
      for f in firsts { for t in thens { relate(f, t, o.flags) } }
    }
    return true
  }
}

extension Cluster {
  /// The clone's anonymous instances that are no longer configured (numbered from clone-max up).
  func orphanInstances(of clone: Int) -> [Int] {
    guard rscs[clone].variant == .clone, let first = rscs[clone].children.first else { return [] }
    let bases = Set(
      (rscs[first].isPrimitive ? [first] : rscs[first].children).map { InstanceAlias.base(rscs[$0].id) })
    return rscs.indices.filter {
      rscs[$0].removed && rscs[$0].id.contains(":") && bases.contains(InstanceAlias.base(rscs[$0].id))
    }
  }

  /// An anonymous instance that is no longer configured shares the agent's state with the clone's
  /// instances on its node (`InstanceAlias`): its stop there comes before any of their starts there.
  mutating func orderOrphanInstanceStops() {
    for c in rscs.indices where rscs[c].variant == .clone && !isUniqueClone(c) {
      let orphans = orphanInstances(of: c)
      guard !orphans.isEmpty else { continue }
      let instances = rscs[c].children.flatMap { rscs[$0].isPrimitive ? [$0] : rscs[$0].children }
      for o in orphans {
        for stop in findActions(o, .stop) {
          guard let n = actions[stop].node else { continue }
          for i in instances where InstanceAlias.base(rscs[i].id) == InstanceAlias.base(rscs[o].id) {
            if let start = findAction(i, .start, on: n) { relate(stop, start, [.ordered]) }
          }
        }
      }
    }
  }
}
