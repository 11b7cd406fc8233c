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
    func node(_ instance: Int, _ task: Task) -> Int? {
      guard let p = firstPrimitive(instance) else { return nil }
      return [Task.stop, .demote].contains(task)
        ? currentNode(p) ?? rscs[p].assigned : rscs[p].assigned ?? currentNode(p)
    }
    for ti in rscs[tr].children {
      guard let n = node(ti, thenTask) else { continue }
      // Only an instance that has not failed can be a partner (Pacemaker's `pcmk__instance_matches`
      // skips instances with a blocked resource): a blocked instance's unrunnable stop must not
      // hold up the stop of the other clone's instance on its node.
      guard
        let fi = rscs[fr].children.first(where: {
          node($0, firstTask) == n && !primitives(of: $0).contains { rscs[$0].blocked }
        })
      else { continue }
      var firsts = findActions(fi, firstTask)
      if !rscs[fi].isPrimitive {
        firsts = firsts.map { findAction(fi, actions[$0].task.completion, on: nil) ?? $0 }
      }
      let thens = findActions(ti, thenTask)
      for f in firsts {
        for t in thens {
          let created = relations.count
          relate(f, t, o.flags)
          if relations.count > created { interleavedRelations.insert(created) }
        }
      }
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

/// `clone-min` on an ordering's first clone (or the older `require-all=false` on the ordering, meaning
/// one): "then" needs only that many runnable instances of the first clone, not all of them. As
/// Pacemaker does, the ordering goes through a `clone-one-or-more` pseudo-action that every instance's
/// action feeds; it is runnable while enough of them are, and it never makes "then" required — so an
/// instance of the first clone starting or stopping does not restart what depends on the clone.
extension Cluster {
  /// How many runnable instances of `first` the ordering needs; 0 for an ordinary ordering.
  func minimumFirstInstances(_ first: Int, _ o: OrderConstraint) -> Int {
    guard rscs[first].variant == .clone else { return 0 }
    if let text = rscs[first].meta["clone-min"] { return max(Value.score(text) ?? 0, 0) }
    return o.requireAll ? 0 : 1
  }

  mutating func addCloneMinOrdering(
    _ id: String, _ first: Int, _ firstTask: Task, _ then: Int, _ thenTask: Task, _ flags: RelationFlags,
    _ minimum: Int
  ) {
    let number = actions.filter { $0.task == .cloneOneOrMore }.count
    let met = action(nil, .cloneOneOrMore, nil, interval: number, optional: true)
    actions[met].pseudo = true
    actions[met].label = "\(Task.cloneOneOrMore.rawValue):\(id)"
    actions[met].requiredRunnableBefore = minimum
    for instance in rscs[first].children {
      var feed = PendingOrder(
        instance, firstTask, instance, firstTask, [.minRunnable, .firstImpliesThenGraphed])
      feed.thenRsc = nil
      feed.thenTask = nil
      pendingOrders.append(feed.with(then: met))
    }
    pendingOrders.append(PendingOrder(action: met, then, thenTask, flags.union(.unrunnableFirstBlocks)))
  }
}

/// Orderings after a clone's action are judged per node, as Pacemaker's
/// `action_flags_for_ordering` does: "start CLONE then start X" makes X's start on node N required only
/// when CLONE's instance start on N is required — an instance starting elsewhere does not restart X.
/// (Runnable is still judged clone-wide: X can start if any instance can.)
extension Cluster {
  /// The node an ordering's `then` action is on (a group's start: where the group is placed).
  func orderingNode(_ a: Int) -> Int? {
    if let n = actions[a].node { return n }
    guard let r = actions[a].rsc, rscs[r].variant == .group, actions[a].task == .start else { return nil }
    return firstPrimitive(r).flatMap { rscs[$0].assigned }
  }

  /// Whether clone action `a` is optional as far as node `n` is concerned: every instance's
  /// corresponding action there is optional (a cloned group's instance: all its members' actions).
  func cloneActionOptional(_ a: Int, on n: Int) -> Bool {
    guard let clone = actions[a].rsc else { return actions[a].optional }
    let task = actions[a].task.underlying
    func optional(_ r: Int) -> Bool {
      if rscs[r].isPrimitive { return findAction(r, task, on: n).map { actions[$0].optional } ?? true }
      return rscs[r].children.allSatisfy { optional($0) }
    }
    return rscs[clone].children.allSatisfy { optional($0) }
  }
}

/// An interleaved, mandatory "start A-clone then start B-clone": an instance of B may run on a node
/// only if an instance of A is placed there too. Pacemaker unassigns the B instance that has no such
/// partner (`unassign_if_mandatory`) once placement is done: it stops where it runs and does not
/// start. Unassigning one instance can leave another clone's instance without a partner, so this
/// repeats until nothing changes.
extension Cluster {
  mutating func unassignInstancesWithoutInterleavePartner() {
    var changed = true
    while changed {
      changed = false
      for o in pendingOrders {
        guard o.firstAction == nil, o.thenAction == nil, let fr = o.firstRsc, let tr = o.thenRsc, fr != tr,
          let firstTask = o.firstTask, let thenTask = o.thenTask,
          [Task.start, .promote].contains(firstTask),
          !o.flags.isDisjoint(with: [.firstImpliesThen, .unrunnableFirstBlocks]),
          rscs[fr].variant == .clone, rscs[tr].variant == .clone,
          Value.bool(
            rscs[[Task.stop, .demote].contains(thenTask) ? fr : tr].meta["interleave"], default: false)
        else { continue }
        for instance in rscs[tr].children {
          guard let lead = firstPrimitive(instance), let n = rscs[lead].assigned else { continue }
          let partner = rscs[fr].children.contains { fi in
            firstPrimitive(fi).flatMap { rscs[$0].assigned } == n
              && !primitives(of: fi).contains { rscs[$0].blocked }
          }
          if !partner {
            unassign(instance)
            changed = true
          }
        }
      }
    }
  }

  private func primitives(of r: Int) -> [Int] {
    rscs[r].isPrimitive ? [r] : rscs[r].children.flatMap { primitives(of: $0) }
  }

  /// Pacemaker's `pcmk__assign_resource(rsc, NULL, …)` after actions exist: stopped, its stops
  /// required, its starts and (non-Stopped-role) recurring monitors unable to run.
  private mutating func unassign(_ r: Int) {
    for p in primitives(of: r) where rscs[p].assigned != nil {
      if let n = rscs[p].assigned { nodes[n].assignedCount -= 1 }
      rscs[p].assigned = nil
      rscs[p].nextRole = .stopped
      for a in actionsByRsc[p] {
        switch actions[a].task {
        case .stop: actions[a].optional = false
        case .start:
          if actions[a].runnable { unassignedStarts.insert(a) }
          actions[a].runnable = false
        case .monitor where actions[a].interval > 0:
          let role = rscs[p].operations.first {
            $0.name == "monitor" && $0.intervalMs == actions[a].interval
          }?.role
          if Role(parsing: role) != .stopped { actions[a].runnable = false }
        default: break
        }
      }
    }
  }
}
