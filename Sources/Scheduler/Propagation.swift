/// Resolving orderings to actions and propagating `optional`/`runnable` along them to a fixed point
/// (Pacemaker's `pcmk__apply_orderings` and `pcmk__update_action_for_orderings`). This is what turns
/// "rsc1 must start" into "rsc2 must restart", and "rsc3 cannot start" into "rsc4 must stop".
extension Cluster {
  mutating func applyOrderings() {
    unassignInstancesWithoutInterleavePartner()
    for o in pendingOrders { resolve(o) }
    addProbeOrderingsForStops()
    var dirty: [Int] = []
    for a in actions.indices where actions[a].task == .start || actions[a].task == .promote {
      // Instances unassigned for want of an interleave partner became unrunnable after this check.
      if unassignedStarts.contains(a) { continue }
      blockColocationDependents(a, &dirty)
    }
    propagate()
    scheduleNotifications()
  }

  private mutating func resolve(_ o: PendingOrder) {
    if resolveInterleaved(o) { return }
    var firsts: [Int] = []
    if let a = o.firstAction {
      firsts = [a]
    } else if let fr = o.firstRsc, let task = o.firstTask {
      firsts = findActions(fr, task)
      if firsts.isEmpty {
        if fr == o.thenRsc { return }
        let role = currentRole(fr)
        if (role == .stopped && task == .stop) || (role == .unpromoted && task == .demote) { return }
        firsts = [action(fr, task, nil, optional: true)]
      }
    }
    let thens = thenActions(o)
    for var f in firsts {
      // "X then Y" waits for all of container X's children: use its completion milestone.
      if let fr = actions[f].rsc, !rscs[fr].isPrimitive, let tr = o.thenRsc, fr != tr, !isAncestor(fr, of: tr)
      {
        f = findAction(fr, actions[f].task.completion, on: nil) ?? f
      }
      for t in thens { relate(f, t, o.flags) }
    }
  }

  private func thenActions(_ o: PendingOrder) -> [Int] {
    if let a = o.thenAction { return [a] }
    guard let r = o.thenRsc else { return [] }
    return findActions(r, o.thenTask ?? .start)
  }

  /// The role a resource has now (a container: the highest of its children).
  func currentRole(_ r: Int) -> Role {
    rscs[r].isPrimitive ? rscs[r].origRole : rscs[r].children.map { currentRole($0) }.max() ?? .stopped
  }

  func isAncestor(_ a: Int, of b: Int) -> Bool {
    var r = rscs[b].parent
    while let p = r {
      if p == a { return true }
      r = rscs[p].parent
    }
    return false
  }

  /// "Stop X then Y" also holds for X's probes: a probe may find X running, needing that stop.
  private mutating func addProbeOrderingsForStops() {
    for o in pendingOrders where !o.flags.isEmpty && o.flags != [.ifRequiredOnSameNode] {
      guard let fr = o.firstRsc, fr != o.thenRsc, o.firstTask == .stop, o.firstAction == nil else { continue }
      let probes = actionsByRsc[fr].filter { actions[$0].isProbe }
      guard !probes.isEmpty else { continue }
      let thens = thenActions(o)
      for p in probes { for t in thens { relate(p, t, [.ordered]) } }
    }
  }

  // MARK: Fixed point

  private mutating func propagate() {
    var inputs = Array(repeating: [Int](), count: actions.count)
    var outputs = Array(repeating: [Int](), count: actions.count)
    for (i, r) in relations.enumerated() {
      outputs[r.first].append(i)
      inputs[r.then].append(i)
      if r.flags.contains(.minRunnable) { minRunnableInputs[r.then, default: []].append(i) }
    }
    var dirty: [Int] = []
    for a in actions.indices where actions[a].requiredRunnableBefore > 0 { updateMinRunnable(a, &dirty) }
    // Pacemaker walks actions newest first, each action's inputs newest first, and re-walks what a
    // change affects right away (depth first). The order only decides which of several reasons an
    // action reports; every relation is re-applied after any change to its actions.
    var stack = relations.indices.sorted { (relations[$0].then, $0) < (relations[$1].then, $1) }
    while let i = stack.popLast() {
      process(i, &dirty)
      for a in dirty.reversed() {
        stack.append(contentsOf: outputs[a])
        stack.append(contentsOf: inputs[a])
        // A container's flags are derived from its children's: what follows the container re-checks.
        var parent = actions[a].rsc.flatMap { rscs[$0].parent }
        while let p = parent {
          for c in actionsByRsc[p] { stack.append(contentsOf: outputs[c]) }
          parent = rscs[p].parent
        }
      }
      dirty.removeAll(keepingCapacity: true)
    }
  }

  private mutating func process(_ i: Int, _ dirty: inout [Int]) {
    let flags = relations[i].flags
    let f = relations[i].first
    let t = relations[i].then
    guard !flags.isEmpty, flags != [.ifRequiredOnSameNode] else { return }
    colocationBlockingSuppressed = interleavedRelations.contains(i)
    defer { colocationBlockingSuppressed = false }
    var first = orderingFlags(f, &dirty)
    // A clone's action is required for `then` only if its instance's action on then's node is.
    if let fr = actions[f].rsc, rscs[fr].variant == .clone, let n = orderingNode(t) {
      first.optional = cloneActionOptional(f, on: n)
    }
    if flags.contains(.firstImpliesThen) {
      if actions[t].rsc != nil {
        update(f, t, first, .firstImpliesThen, &dirty)
      } else if !first.optional {
        clearOptional(t, because: nil, &dirty)
      }
    }
    if flags.contains(.intermediateStop), actions[t].rsc != nil {
      update(f, t, first, .intermediateStop, &dirty)
    }
    if flags.contains(.promotedThenImpliesFirst), actions[t].rsc != nil {
      update(f, t, first, .promotedThenImpliesFirst, &dirty)
    }
    if flags.contains(.unrunnableFirstBlocks) {
      if actions[t].rsc != nil {
        update(f, t, first, .unrunnableFirstBlocks, &dirty)
      } else if !first.runnable {
        clearRunnable(t, because: nil, &dirty)
      }
    }
    if flags.contains(.asymmetric), actions[t].rsc != nil { update(f, t, first, .asymmetric, &dirty) }
    if flags.contains(.minRunnable), actions[t].rsc == nil { updateMinRunnable(t, &dirty) }
    if flags.contains(.firstImpliesThenGraphed), actions[f].runnable, !first.optional {
      actions[t].alwaysInGraph = true
    }
    // A blocked, unmanaged resource that cannot stop keeps what depends on its stop from happening.
    if !flags.isDisjoint(with: [.firstImpliesThen, .thenImpliesFirst, .intermediateStop]),
      let fr = actions[f].rsc,
      !rscs[fr].managed, rscs[fr].blocked, !actions[f].runnable, actions[f].task == .stop
    {
      clearRunnable(t, because: nil, &dirty)
    }
  }

  /// Applies one relation type to `then` — and, for a container's action, to its children's same action.
  private mutating func update(
    _ f: Int, _ t: Int, _ first: (optional: Bool, runnable: Bool), _ type: RelationFlags, _ dirty: inout [Int]
  ) {
    apply(f, t, first, type, &dirty)
    guard let r = actions[t].rsc, !rscs[r].isPrimitive else { return }
    for child in rscs[r].children {
      guard let c = findAction(child, actions[t].task, on: nil) else { continue }
      // A clone's instances take the ordering only where their action can happen.
      if rscs[r].variant == .clone && !orderingFlags(c, &dirty).runnable { continue }
      update(f, c, first, type, &dirty)
    }
  }

  private mutating func apply(
    _ f: Int, _ t: Int, _ first: (optional: Bool, runnable: Bool), _ type: RelationFlags, _ dirty: inout [Int]
  ) {
    switch type {
    case .firstImpliesThen:
      if actions[t].optional && !first.optional { clearOptional(t, because: f, &dirty) }
    case .unrunnableFirstBlocks:
      if actions[t].runnable && !first.runnable { clearRunnable(t, because: f, &dirty) }
    case .promotedThenImpliesFirst:
      if let r = actions[t].rsc, rscs[r].origRole == .promoted, !actions[t].optional {
        clearOptional(f, because: t, &dirty)
      }
    case .asymmetric:
      guard let r = actions[t].rsc, !actions[f].runnable else { return }
      if actions[t].optional {
        let role = currentRole(r)
        if role == .stopped && actions[t].task == .stop { return }
        if role >= .started && actions[t].task == .start
          && rscs[r].activeNodes == [actions[t].node].compactMap({ $0 })
        {
          return
        }
      }
      clearOptional(t, because: f, &dirty)
      clearRunnable(t, because: f, &dirty)
    case .intermediateStop:
      guard let tr = actions[t].rsc else { return }
      let restart = !actions[t].optional
      let stop = !actions[t].runnable && rscs[tr].managed && actions[f].rsc == tr
      guard restart || stop else { return }
      if actions[f].runnable || !actions[t].optional { clearOptional(f, because: t, &dirty) }
      if !actions[f].optional && !actions[f].runnable { clearRunnable(t, because: f, &dirty) }
    default: break
    }
  }

  /// An action's (optional, runnable) for ordering purposes. A container's milestone is required if any
  /// child's is; a group's is runnable only if every member's is, a clone's if any instance's is.
  private mutating func orderingFlags(_ a: Int, _ dirty: inout [Int]) -> (optional: Bool, runnable: Bool) {
    guard let r = actions[a].rsc, !rscs[r].isPrimitive else {
      return (actions[a].optional, actions[a].runnable)
    }
    var optional = true
    var runnable = true
    var anyRunnable = false
    let isClone = rscs[r].variant == .clone
    for child in rscs[r].children {
      let task = rscs[child].isPrimitive ? actions[a].task.underlying : actions[a].task
      guard let c = findAction(child, task, on: nil) else {
        if !isClone && task != .stop && task != .demote { runnable = false }
        continue
      }
      let flags = orderingFlags(c, &dirty)
      if optional && !flags.optional {
        optional = false
        clearOptional(a, because: nil, &dirty)
      }
      anyRunnable = anyRunnable || flags.runnable
      if !isClone && task != actions[a].task && runnable && !flags.runnable {
        runnable = false
        clearRunnable(a, because: nil, &dirty)
      }
    }
    if isClone && !anyRunnable && !rscs[r].children.isEmpty {
      runnable = false
      // Pacemaker clears it in passing here, without re-checking the clone's colocation dependents.
      let suppressed = colocationBlockingSuppressed
      colocationBlockingSuppressed = true
      clearRunnable(a, because: nil, &dirty)
      colocationBlockingSuppressed = suppressed
    }
    return (optional, runnable)
  }

  /// A `cloneOneOrMore` pseudo-action is runnable while at least `requiredRunnableBefore` of the
  /// actions feeding it are (they only ever become unrunnable, so it only ever does too).
  private mutating func updateMinRunnable(_ t: Int, _ dirty: inout [Int]) {
    var runnable = 0
    for i in minRunnableInputs[t] ?? [] where orderingFlags(relations[i].first, &dirty).runnable {
      runnable += 1
    }
    if runnable < actions[t].requiredRunnableBefore { clearRunnable(t, because: nil, &dirty) }
  }

  // MARK: Flag changes

  private func reasonText(_ change: String, _ b: Int) -> String {
    if let label = actions[b].label { return "\(change) \(label)" }
    let task = [.fence, .unfence].contains(actions[b].task) ? "stonith" : actions[b].task.rawValue
    return actions[b].rsc.map { "\(change) \(rscs[$0].id) \(task)" } ?? "\(change) \(task)"
  }

  private mutating func clearOptional(_ a: Int, because b: Int?, _ dirty: inout [Int]) {
    guard actions[a].optional else { return }
    actions[a].optional = false
    if let b, actions[a].rsc != actions[b].rsc, actions[a].reason == nil {
      actions[a].reason = reasonText("required", b)
    }
    dirty.append(a)
  }

  private mutating func clearRunnable(_ a: Int, because b: Int?, _ dirty: inout [Int]) {
    guard actions[a].runnable else { return }
    actions[a].runnable = false
    if let b, actions[a].rsc != actions[b].rsc, actions[a].reason == nil {
      actions[a].reason = reasonText("unrunnable", b)
    }
    dirty.append(a)
    if !colocationBlockingSuppressed { blockColocationDependents(a, &dirty) }
  }

  /// A mandatory colocation's dependent cannot start (or be promoted) when its primary cannot — for a
  /// container, when none of its children can.
  private mutating func blockColocationDependents(_ a: Int, _ dirty: inout [Int]) {
    let task = actions[a].task
    guard !actions[a].runnable, task == .start || task == .promote, let r = actions[a].rsc else { return }
    let top = top(r)
    for child in rscs[top].children {
      guard let c = findAction(child, task, on: nil), !actions[c].runnable else { return }
    }
    for c in colocations where c.entityPrimary == top && c.score >= Value.infinity {
      if task != .start && c.primaryRole != .promoted { continue }
      markBlocked(c.entityDependent, c.dependentRole == .promoted ? .promote : .start, rscs[top].id, &dirty)
    }
  }

  private mutating func markBlocked(_ r: Int, _ task: Task, _ reason: String, _ dirty: inout [Int]) {
    for a in actionsByRsc[r] where actions[a].task == task && actions[a].runnable {
      clearRunnable(a, because: nil, &dirty)
      if actions[a].reason == nil { actions[a].reason = "colocation with \(reason)" }
    }
    for child in rscs[r].children { markBlocked(child, task, reason, &dirty) }
  }
}
