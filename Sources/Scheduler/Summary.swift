import ResourceModel

/// Turning the action graph into a `Transition`: the required, runnable, real actions; the orderings
/// between them (through pseudo-actions); and one summary line per decision in Pacemaker's wording
/// (`pcmk__output_actions`, `rsc_action_default`, `rsc_action_item`).
extension Cluster {
  func transition() -> Transition {
    var exported: [Int: Int] = [:]
    var result = Transition()
    for (a, action) in actions.enumerated() where inGraph(a) && !action.pseudo {
      guard let kind = kind(action) else { continue }
      exported[a] = result.actions.count
      result.actions.append(
        ScheduledAction(
          kind: kind, resource: action.rsc.map { rscs[$0].id },
          node: action.node.map { nodes[$0].name } ?? "",
          intervalMs: action.task == .notify ? 0 : action.interval,
          fenceAction: action.task == .fence ? options.fenceAction : action.task == .unfence ? "on" : nil,
          notification: action.notification))
    }
    result.orderings = orderings(exported)
    result.summary = fenceLines() + assignmentOrder.flatMap { summaryLines($0) }
    result.notes = notes + blockedNotes()
    return result
  }

  private func inGraph(_ a: Int) -> Bool {
    (!actions[a].optional || actions[a].alwaysInGraph) && actions[a].runnable
  }

  private func kind(_ a: Action) -> ScheduledAction.Kind? {
    switch a.task {
    case .start: .start
    case .stop: .stop
    case .promote: .promote
    case .demote: .demote
    case .monitor: a.interval == 0 ? .probe : .monitor
    case .cancel: .cancel
    case .fence, .unfence: .fence
    case .clearFailcount: .clearFailure
    case .reload: .reload
    case .notify: .notify
    case .running, .stopped, .promoted, .demoted, .cloneOneOrMore: nil
    }
  }

  /// Each exported action's nearest exported predecessors, looking through pseudo-actions that are
  /// part of the transition (container milestones, stops implied by fencing).
  private func orderings(_ exported: [Int: Int]) -> [Ordering] {
    var before = Array(repeating: [Relation](), count: actions.count)
    for r in relations where !r.flags.isEmpty { before[r.then].append(r) }
    var result = Set<Ordering>()
    for (a, index) in exported {
      var seen: Set<Int> = [a]
      var stack = [a]
      while let x = stack.popLast() {
        for r in before[x] where seen.insert(r.first).inserted {
          let f = r.first
          guard inGraph(f) else { continue }
          if r.flags.contains(.ifRequiredOnSameNode) {
            guard actions[f].node != nil, actions[f].node == actions[x].node else { continue }
          }
          if let i = exported[f] {
            if i != index { result.insert(Ordering(before: i, after: index)) }
          } else if actions[f].pseudo {
            stack.append(f)
          }
        }
      }
    }
    return result.sorted { ($0.before, $0.after) < ($1.before, $1.after) }
  }

  /// Pacemaker lists node actions newest first. A fence for a reason found while unpacking the
  /// state was created then (in `fenceOrder`), before any other action; one of an unclean node
  /// without such a reason ("node is unclean": never seen, startup fencing) only when fencing is
  /// scheduled, after every other action; unfencing when a probe, start or device change needed it.
  private func fenceLines() -> [String] {
    var lines: [(created: Int, text: String)] = []
    for (position, n) in fenceOrder.enumerated() {
      guard let a = actionIndex[ActionKey(rsc: nil, task: .fence, node: n, interval: 0)], inGraph(a) else {
        continue
      }
      let reason = actions[a].reason ?? "node is unclean"
      let created = reason == "node is unclean" ? actions.count + position : position - fenceOrder.count
      lines.append((created, "Fence (\(options.fenceAction)) \(nodes[n].name) '\(reason)'"))
    }
    for (a, action) in actions.enumerated() where action.task == .unfence && inGraph(a) {
      guard let n = action.node else { continue }
      lines.append((a, "Fence (on) \(nodes[n].name) '\(action.reason ?? "unfencing")'"))
    }
    return lines.sorted { $0.created > $1.created }.map(\.text)
  }

  private func blockedNotes() -> [String] {
    actions.indices.compactMap { a in
      let action = actions[a]
      guard !action.optional, !action.runnable, let r = action.rsc,
        [.start, .stop, .promote].contains(action.task)
      else { return nil }
      let node = action.node.map { " on \(nodes[$0].name)" } ?? ""
      return "\(rscs[r].id) \(action.task.rawValue)\(node) blocked" + (action.reason.map { ": \($0)" } ?? "")
    }
  }

  // MARK: Resource lines

  private func summaryLines(_ r: Int) -> [String] {
    guard rscs[r].isPrimitive else { return rscs[r].children.flatMap { summaryLines($0) } }
    let rsc = rscs[r]
    let current = currentNode(r)
    let next = rsc.assigned
    var orig = rsc.origRole
    if !rsc.activeNodes.isEmpty && orig == .stopped { orig = .started }
    // Pacemaker's promotion step turns a started promotable instance's current role into Unpromoted.
    if orig == .started && rsc.promotable { orig = .unpromoted }
    guard rsc.managed, current != nil || next != nil, current != nil || !rsc.removed else { return [] }
    let line = { (change: String, from: Int?, to: Int?, action: Int?, source: Int?) in
      self.item(change, r, orig: orig, from: from, to: to, action: action, source: source ?? action)
    }
    let moving = current != nil && next != nil && current != next
    let start = actionOn(r, .start, next)
    let startNode = start.map { actions[$0].runnable } == true ? current : nil
    // With multiple-active=stop_unexpected the stop is on another node than the current one.
    let stop = actionOn(r, .stop, startNode) ?? (rsc.stopUnexpected ? actionOn(r, .stop, nil) : nil)
    let promote = actionOn(r, .promote, next)
    let demote = actionOn(r, .demote, next)
    let required = { (a: Int?) in a.map { !self.actions[$0].optional } ?? false }

    let reloading = reloads[r] != nil
    if orig == rsc.nextRole {
      guard next != nil else { return [] }
      if reloading { return [line("Reload", current, next, start, nil)] }
      guard let start, !actions[start].optional else {
        return required(demote) && required(promote)
          ? [line("Re-promote", current, next, promote, demote)] : []
      }
      if !actions[start].runnable {
        let source = stop.flatMap { actions[$0].reason != nil ? $0 : nil } ?? start
        return [line("Stop", current, nil, stop, source)]
      }
      if moving { return [line(rsc.failed ? "Recover" : "Move", current, next, stop, nil)] }
      if rsc.failed { return [line("Recover", current, nil, stop, nil)] }
      return [line("Restart", current, next, start, nil)]
    }
    if stop != nil && (rsc.nextRole == .stopped || start.map { !actions[$0].runnable } == true) {
      return rsc.activeNodes.map { n in
        let stopHere = actionOn(r, .stop, n)
        let source = stopHere.flatMap { actions[$0].reason != nil ? $0 : nil } ?? start
        return line("Stop", n, nil, stopHere, source)
      }
    }
    if stop != nil && rsc.failed && rsc.stopIfFailed { return [line("Recover", current, next, stop, start)] }
    if moving { return [line("Move", current, next, stop, nil)] }
    if reloading { return [line("Reload", current, next, start, nil)] }
    if required(stop) { return [line("Restart", current, next, start, nil)] }
    if orig == .promoted { return [line("Demote", current, next, demote, nil)] }
    if rsc.nextRole == .promoted { return [line("Promote", current, next, promote, nil)] }
    if orig == .stopped && rsc.nextRole > .stopped { return [line("Start", current, next, start, nil)] }
    return []
  }

  /// The resource's action of this task on node `n` — or on any node when `n` is nil.
  private func actionOn(_ r: Int, _ task: Task, _ n: Int?) -> Int? { findAction(r, task, on: n) }

  private func item(
    _ change: String, _ r: Int, orig: Role, from: Int?, to: Int?, action: Int?, source: Int?
  ) -> String {
    let next = rscs[r].nextRole
    let name = { (n: Int?) in n.map { self.nodes[$0].name } ?? "" }
    let needRole = orig > .started || next > .unpromoted
    // A started promotable instance on its way to Promoted is shown as Unpromoted, as Pacemaker does.
    let origText =
      orig == .started && rscs[r].promotable && next == .promoted ? Role.unpromoted.text : orig.text
    let sameHost = from != nil && from == to
    let sameRole = orig == next
    let details: String
    switch (from, to) {
    case (nil, _) where needRole: details = "\(origText) -> \(next.text) \(name(to))"
    case (nil, _): details = name(to)
    case (_, nil) where needRole: details = "\(origText) \(name(from))"
    case (_, nil): details = name(from)
    default:
      if needRole && sameRole && sameHost {
        details = "\(origText) \(name(from))"
      } else if sameRole && sameHost {
        details = name(from)
      } else if needRole && sameRole {
        details = "\(name(from)) -> \(name(to)) \(origText)"
      } else if sameRole {
        details = "\(name(from)) -> \(name(to))"
      } else if sameHost {
        details = "\(origText) -> \(next.text) \(name(from))"
      } else {
        details = "\(origText) \(name(from)) -> \(next.text) \(name(to))"
      }
    }
    let runnable = (action ?? source).map { actions[$0].runnable } ?? false
    let why = source.flatMap { actions[$0].reason }
    var text = "\(change) \(rscs[r].id) ( \(details) )"
    if let why {
      text += runnable ? " due to \(why)" : " due to \(why) (blocked)"
    } else if !runnable {
      text += " blocked"
    }
    return text
  }
}
