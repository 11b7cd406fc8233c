import ResourceModel

/// What an action does. Containers (groups, clones) get pseudo-actions (`start`, `running`, `stop`,
/// `stopped`) that order their children as a unit; a probe is a `monitor` with interval 0.
enum Task: String {
  case start, stop, promote, demote, monitor, cancel, fence, notify
  /// The fence action `on` that unfences a node (`Unfencing.swift`).
  case unfence = "on"
  case clearFailcount = "clear_failcount"
  /// `reload-agent`: new parameters passed to the running agent.
  case reload = "reload-agent"
  case running, stopped, promoted, demoted
  /// The pseudo-action of an ordering whose first clone needs only some runnable instances
  /// (`clone-min`, `require-all=false`): Pacemaker's `clone-one-or-more:ORDER-ID`.
  case cloneOneOrMore = "clone-one-or-more"

  init?(configured text: String) {
    switch text.lowercased() {
    case "start": self = .start
    case "stop": self = .stop
    case "promote": self = .promote
    case "demote": self = .demote
    default: return nil
    }
  }

  var inverse: Task {
    switch self {
    case .start: .stop
    case .stop: .start
    case .promote: .demote
    case .demote: .promote
    case .running: .stopped
    case .stopped: .running
    case .promoted: .demoted
    case .demoted: .promoted
    default: self
    }
  }

  /// The container pseudo-action that completes this one ("X then Y" waits for all of X's children).
  var completion: Task {
    switch self {
    case .start: .running
    case .stop: .stopped
    case .promote: .promoted
    case .demote: .demoted
    default: self
    }
  }

  /// The primitive action behind a container's completion pseudo-action.
  var underlying: Task {
    switch self {
    case .running: .start
    case .stopped: .stop
    case .promoted: .promote
    case .demoted: .demote
    default: self
    }
  }
}

struct ActionKey: Hashable {
  let rsc: Int?
  let task: Task
  let node: Int?
  let interval: Int
}

/// One node of the action graph with Pacemaker's flags: `optional` actions are dropped unless
/// something requires them, `runnable` is cleared when the action cannot happen, `pseudo` actions
/// only order others (container milestones, stops implied by fencing).
struct Action {
  let task: Task
  let rsc: Int?
  let node: Int?
  let interval: Int
  var optional: Bool
  var runnable = true
  var pseudo = false
  /// Exported even while optional (a start already in flight, which the transition must wait for).
  var alwaysInGraph = false
  var reason: String?
  /// For notify actions.
  var notification: ScheduledAction.Notification?
  /// A `cloneOneOrMore` pseudo-action: the ordering's id, and how many of its `minRunnable` inputs must
  /// be runnable for it to be runnable.
  var label: String?
  var requiredRunnableBefore = 0

  var isProbe: Bool { task == .monitor && interval == 0 }
}

/// How an ordering affects its two actions, as Pacemaker's `pcmk__ar_*` flags do.
struct RelationFlags: OptionSet, Hashable {
  let rawValue: Int
  /// Order only; any flag at all also makes an ordering edge in the transition.
  static let ordered = RelationFlags(rawValue: 1 << 0)
  /// First required makes then required.
  static let firstImpliesThen = RelationFlags(rawValue: 1 << 1)
  /// First unrunnable makes then unrunnable.
  static let unrunnableFirstBlocks = RelationFlags(rawValue: 1 << 2)
  /// A stop before a start of the same resource: a required or blocked start forces the stop.
  static let intermediateStop = RelationFlags(rawValue: 1 << 3)
  /// Asymmetric mandatory ordering: first unrunnable blocks then unless then is a no-op.
  static let asymmetric = RelationFlags(rawValue: 1 << 4)
  /// Then required makes first required (a dead letter for primitives, as in Pacemaker).
  static let thenImpliesFirst = RelationFlags(rawValue: 1 << 5)
  /// Demote before stop of a promoted resource.
  static let promotedThenImpliesFirst = RelationFlags(rawValue: 1 << 6)
  /// Only an edge, and only when both actions are required and on the same node.
  static let ifRequiredOnSameNode = RelationFlags(rawValue: 1 << 8)
  /// Into a `cloneOneOrMore` pseudo-action: counts toward its `requiredRunnableBefore`.
  static let minRunnable = RelationFlags(rawValue: 1 << 9)
  /// A required, runnable first puts then in the transition (without making it required).
  static let firstImpliesThenGraphed = RelationFlags(rawValue: 1 << 10)
}

struct Relation {
  let first: Int
  let then: Int
  var flags: RelationFlags
}

/// An ordering between resources' actions, resolved to actions once they all exist.
struct PendingOrder {
  var firstRsc: Int?
  var firstTask: Task?
  var firstAction: Int?
  var thenRsc: Int?
  var thenTask: Task?
  var thenAction: Int?
  var flags: RelationFlags

  init(_ first: Int, _ firstTask: Task, _ then: Int, _ thenTask: Task, _ flags: RelationFlags) {
    firstRsc = first
    self.firstTask = firstTask
    thenRsc = then
    self.thenTask = thenTask
    self.flags = flags
  }

  init(action first: Int, _ then: Int, _ thenTask: Task, _ flags: RelationFlags) {
    firstAction = first
    thenRsc = then
    self.thenTask = thenTask
    self.flags = flags
  }
}

extension Cluster {
  // MARK: Creating actions

  /// Pacemaker's `custom_action`: find or create, then apply the `optional` request and recompute
  /// whether the action can run (node up, quorum policy).
  @discardableResult
  mutating func action(_ r: Int?, _ task: Task, _ n: Int?, interval: Int = 0, optional: Bool) -> Int {
    let key = ActionKey(rsc: r, task: task, node: n, interval: interval)
    let a: Int
    if let existing = actionIndex[key] {
      a = existing
    } else {
      a = actions.count
      actions.append(Action(task: task, rsc: r, node: n, interval: interval, optional: optional))
      actionIndex[key] = a
      if let r { actionsByRsc[r].append(a) }
    }
    if let r, n != nil, !actions[a].pseudo, !rscs[r].managed, interval == 0 {
      actions[a].optional = true
    } else if !optional {
      actions[a].optional = false
    }
    if r != nil { updateRunnable(a) }
    return a
  }

  private mutating func updateRunnable(_ a: Int) {
    guard !actions[a].pseudo, let r = actions[a].rsc else { return }
    guard let n = actions[a].node, nodes[n].online, !nodes[n].pending else {
      actions[a].runnable = false
      return
    }
    let needs = [.start, .promote].contains(actions[a].task) ? rscs[r].requires : .nothing
    guard needs != .nothing else {
      actions[a].runnable = true
      // Pacemaker resets the reason of a start or promote that needs nothing each time it is touched.
      if rscs[r].requires == .nothing && [.start, .promote].contains(actions[a].task) {
        actions[a].reason = nil
      }
      return
    }
    var policy = quorate ? .ignore : options.noQuorumPolicy
    if policy == .demote { policy = rscs[r].origRole >= .unpromoted ? .ignore : .stop }
    switch policy {
    case .stop:
      actions[a].runnable = false
      actions[a].reason = "no quorum"
    case .freeze where !isActive(r) || rscs[r].nextRole > rscs[r].origRole:
      actions[a].runnable = false
      actions[a].reason = "quorum freeze"
    default:
      actions[a].runnable = true
    }
  }

  mutating func pseudoAction(_ r: Int, _ task: Task) -> Int {
    let a = action(r, task, nil, optional: true)
    actions[a].pseudo = true
    actions[a].runnable = true
    return a
  }

  /// The resource's action of this task on node `n`, or its newest one on any node.
  func findAction(_ r: Int, _ task: Task, on n: Int?, interval: Int = 0) -> Int? {
    if let n { return actionIndex[ActionKey(rsc: r, task: task, node: n, interval: interval)] }
    for a in actionsByRsc[r].reversed() where actions[a].task == task && actions[a].interval == interval {
      return a
    }
    return nil
  }

  func findActions(_ r: Int, _ task: Task) -> [Int] {
    var found: [Int] = []
    for a in actionsByRsc[r] where actions[a].task == task && actions[a].interval == 0 { found.append(a) }
    return found
  }

  /// Orders `then` after `first`. As Pacemaker's `order_actions`, a second ordering between the same
  /// two actions that shares a flag with an earlier one is dropped: the first one's kind wins (an
  /// optional order followed by a mandatory one between the same actions stays optional).
  mutating func relate(_ first: Int, _ then: Int, _ flags: RelationFlags) {
    let key = first << 32 | then
    if let existing = relationsByPair[key],
      existing.contains(where: { !relations[$0].flags.isDisjoint(with: flags) })
    {
      return
    }
    relationsByPair[key, default: []].append(relations.count)
    relations.append(Relation(first: first, then: then, flags: flags))
  }

  // MARK: Internal and configured orderings

  /// Orderings that hold whatever happens: stop before start of the same resource, demote before
  /// stop, the group chain, container milestones; then the configured order constraints.
  mutating func createOrderings() {
    for o in config.constraints.orders { addOrderConstraint(o) }
    for r in rscs.indices {
      switch rscs[r].variant {
      case .primitive:
        guard rscs[r].managed else { continue }
        pendingOrders.append(
          PendingOrder(r, .stop, r, .start, [.ordered, .firstImpliesThen, .intermediateStop]))
        if rscs[r].origRole > .unpromoted || rscs[r].promotable {
          pendingOrders.append(PendingOrder(r, .demote, r, .stop, [.promotedThenImpliesFirst]))
          pendingOrders.append(PendingOrder(r, .start, r, .promote, [.unrunnableFirstBlocks]))
        }
        launcherOrderings(r)
      case .group, .clone:
        containerOrderings(r)
      }
    }
  }

  private mutating func addOrderConstraint(_ o: OrderConstraint) {
    guard let first = rscIndex[o.first], let then = rscIndex[o.then],
      let firstTask = Task(configured: o.firstAction), let thenTask = Task(configured: o.thenAction)
    else {
      notes.append("order \(o.id): unknown resource or action")
      return
    }
    let symmetric = o.kind != .serialize && o.symmetrical
    var flags: RelationFlags = [.ordered]
    if o.kind == .mandatory {
      if symmetric {
        flags.insert(.firstImpliesThen)
        if firstTask == .start || firstTask == .promote { flags.insert(.unrunnableFirstBlocks) }
      } else {
        flags.insert(.asymmetric)
      }
    }
    let minimum = minimumFirstInstances(first, o)
    if minimum > 0 {
      addCloneMinOrdering(o.id, first, firstTask, then, thenTask, flags, minimum)
    } else {
      pendingOrders.append(PendingOrder(first, firstTask, then, thenTask, flags))
    }
    if symmetric {
      let inverse: RelationFlags = o.kind == .mandatory ? [.ordered, .thenImpliesFirst] : [.ordered]
      pendingOrders.append(PendingOrder(then, thenTask.inverse, first, firstTask.inverse, inverse))
    }
  }

  /// Pacemaker's group and clone internal constraints: milestones in order, each child inside its
  /// parent's start/running and stop/stopped brackets, and (for groups) each member after the previous
  /// one, stopping in reverse.
  private mutating func containerOrderings(_ r: Int) {
    pendingOrders.append(PendingOrder(r, .stop, r, .stopped, [.unrunnableFirstBlocks]))
    pendingOrders.append(PendingOrder(r, .stopped, r, .start, [.ordered]))
    pendingOrders.append(PendingOrder(r, .start, r, .running, [.unrunnableFirstBlocks]))
    guard rscs[r].variant == .group else {
      if isPromotableClone(r) { promotableOrderings(r) }
      for instance in rscs[r].children {
        pendingOrders.append(PendingOrder(r, .start, instance, .start, [.ordered, .unrunnableFirstBlocks]))
        pendingOrders.append(PendingOrder(instance, .start, r, .running, [.ordered]))
        pendingOrders.append(PendingOrder(r, .stop, instance, .stop, [.ordered]))
        pendingOrders.append(PendingOrder(instance, .stop, r, .stopped, [.ordered]))
      }
      // `ordered=true`: instances start one after another by instance number and stop in reverse;
      // as only some may be starting or stopping, each is ordered against every later one.
      if Value.bool(rscs[r].meta["ordered"], default: false) {
        let instances = rscs[r].children
        for (k, instance) in instances.enumerated() {
          for later in instances[(k + 1)...] {
            pendingOrders.append(PendingOrder(instance, .start, later, .start, [.ordered]))
            pendingOrders.append(PendingOrder(later, .stop, instance, .stop, [.ordered]))
          }
        }
      }
      return
    }
    var previous: Int?
    var lastActive: Int?
    for member in rscs[r].children {
      let first = previous == nil
      pendingOrders.append(PendingOrder(r, .stop, member, .stop, [.ordered]))
      pendingOrders.append(
        PendingOrder(member, .stop, r, .stopped, first ? [.ordered, .firstImpliesThen] : [.ordered]))
      pendingOrders.append(PendingOrder(r, .start, member, .start, [.ordered]))
      pendingOrders.append(
        PendingOrder(member, .start, r, .running, [.ordered, .unrunnableFirstBlocks, .firstImpliesThen]))
      if let prev = previous {
        pendingOrders.append(
          PendingOrder(prev, .start, member, .start, [.firstImpliesThen, .unrunnableFirstBlocks]))
        pendingOrders.append(PendingOrder(member, .stop, prev, .stop, [.ordered, .intermediateStop]))
        if isActive(member) && !isActive(prev) {
          pendingOrders.append(
            PendingOrder(member, .stop, prev, .start, [.thenImpliesFirst, .unrunnableFirstBlocks]))
          if let last = lastActive {
            pendingOrders.append(PendingOrder(member, .stop, last, .stop, [.ordered]))
          }
        }
      }
      if isActive(member) { lastActive = member }
      previous = member
    }
  }

  // MARK: Resource actions

  mutating func createResourceActions() {
    for (r, n) in clearFailures { action(r, .clearFailcount, n, optional: false) }
    for r in assignmentOrder { createActions(r) }
  }

  private mutating func createActions(_ r: Int) {
    switch rscs[r].variant {
    case .primitive: createPrimitiveActions(r)
    case .group, .clone:
      for child in rscs[r].children { createActions(child) }
      for task in [Task.start, .running, .stop, .stopped] { _ = pseudoAction(r, task) }
      if isPromotableClone(r) {
        for task in [Task.promote, .promoted, .demote, .demoted] { _ = pseudoAction(r, task) }
      }
    }
  }

  /// Pacemaker's role matrices: the next role on the way from one role to another, and the action
  /// that takes one step.
  private static func step(_ from: Role, _ to: Role) -> Role {
    switch (from, to) {
    case (.unknown, _): return .stopped
    case (.stopped, .started): return .started
    case (.stopped, .unpromoted), (.stopped, .promoted): return .unpromoted
    case (.started, .unpromoted): return .unpromoted
    case (.started, .promoted), (.unpromoted, .promoted): return .promoted
    case (.started, .started): return .started
    case (.unpromoted, .unpromoted): return .unpromoted
    case (.promoted, .promoted): return .promoted
    case (.promoted, _): return .unpromoted
    default: return .stopped
    }
  }

  private static func stepTask(_ from: Role, _ to: Role) -> Task? {
    switch (from, to) {
    case (.unknown, .stopped), (.started, .stopped), (.unpromoted, .stopped), (.unpromoted, .started):
      return .stop
    case (.stopped, .started), (.stopped, .unpromoted): return .start
    case (.started, .promoted), (.unpromoted, .promoted): return .promote
    case (.promoted, .stopped), (.promoted, .started), (.promoted, .unpromoted): return .demote
    default: return nil
    }
  }

  /// One step of a role change. `keep` is the node a resource with `multiple-active=stop_unexpected`
  /// stays active on while its extra copies stop: its own stop is skipped and its start is a no-op.
  private mutating func roleStep(_ r: Int, _ task: Task, _ n: Int?, optional: Bool, keep: Int? = nil) {
    switch task {
    case .stop:
      for current in rscs[r].activeNodes where current != keep {
        let stop = action(r, .stop, current, optional: optional)
        if rscs[r].assigned == nil {
          actions[stop].reason = "node availability"
        } else if keep != nil {
          actions[stop].reason = "being multiply active"
        }
        if !rscs[r].managed { actions[stop].runnable = false }
      }
    case .start:
      guard let n else { return }
      let start = action(r, .start, n, optional: true)
      orderAfterUnfencing(r, start)
      if actions[start].runnable && !optional { actions[start].optional = false }
      if n == keep { actions[start].pseudo = true }
    case .promote:
      guard let n else { return }
      if findActions(r, .start).allSatisfy({ actions[$0].runnable }) {
        action(r, .promote, n, optional: optional)
      } else {
        for p in findActions(r, .promote) { actions[p].runnable = false }
      }
    case .demote:
      for current in rscs[r].activeNodes { action(r, .demote, current, optional: optional) }
    default: break
    }
  }

  /// Pacemaker's `pcmk__primitive_create_actions`: bring the resource down where it must go down
  /// (moving, failed, multiply active, blocked), back up to its current role, then on to its next role.
  private mutating func createPrimitiveActions(_ r: Int) {
    rscs[r].nextRole = expectedRole(r)
    let rsc = rscs[r]
    let current = currentNode(r)
    var needStop = false
    var needPromote = false
    var moving = false
    if let c = current, let a = rsc.assigned, c != a, rsc.nextRole >= .started {
      moving = true
      needStop = true
    }
    let clean = rsc.activeNodes.filter { nodes[$0].online && !nodes[$0].unclean }.count
    let multiplyActive = rsc.requires == .fencing ? rsc.activeNodes.count > 1 : clean > 1
    var keep: Int?
    if multiplyActive && rsc.multipleActive == .stopStart {
      needStop = true
      notes.append("\(rsc.id) is active on \(rsc.activeNodes.count) nodes: stopping it everywhere")
    } else if multiplyActive && rsc.multipleActive == .stopUnexpected {
      needStop = true
      if rscs[r].nextRole > .stopped { keep = rsc.assigned }
      rscs[r].stopUnexpected = keep != nil
      notes.append("\(rsc.id) is active on \(rsc.activeNodes.count) nodes: stopping the unexpected copies")
    }
    if !moving {
      if rsc.failed {
        if rsc.stopIfFailed { needStop = true } else if rsc.nextRole == .promoted { needPromote = true }
      } else if rsc.blocked {
        needStop = true
      } else if (rsc.definitionChanged || rsc.stopRequired) && rsc.managed {
        needStop = true
      } else if rsc.origRole > .started, current != nil, let a = rsc.assigned {
        if !actions[action(r, .start, a, optional: true)].optional { needStop = true }
      }
    }

    // A launched resource's failure there: the launcher stops (then restarts or moves).
    for n in rsc.requiredStops.sorted() where rsc.activeNodes.contains(n) && rsc.managed {
      action(r, .stop, n, optional: false)
    }
    if rsc.startPending, let a = rsc.assigned {
      actions[action(r, .start, a, optional: true)].alwaysInGraph = true
    }
    // Down to stopped where it runs, then back up to the current role where it will run.
    var role = rsc.origRole
    while role != .stopped {
      let next = Self.step(role, .stopped)
      guard let task = Self.stepTask(role, next) else { break }
      roleStep(r, task, current, optional: !needStop, keep: keep)
      role = next
    }
    while rsc.origRole <= rscs[r].nextRole && role != rsc.origRole && !rsc.blocked {
      let next = Self.step(role, rsc.origRole)
      guard let task = Self.stepTask(role, next) else { break }
      let required = needStop || (next == .promoted && needPromote)
      roleStep(r, task, rscs[r].assigned, optional: !required, keep: keep)
      role = next
    }
    if rsc.definitionChanged, !moving, needStop, let a = rscs[r].assigned,
      let start = findAction(r, .start, on: a), actions[start].reason == nil
    {
      actions[start].reason = "resource definition change"
    }
    // From the current role to the next one.
    role = rsc.origRole
    while role != rscs[r].nextRole {
      let next = Self.step(role, rscs[r].nextRole)
      guard let task = Self.stepTask(role, next) else { break }
      roleStep(r, task, rscs[r].assigned, optional: false)
      role = next
    }
    createRecurringActions(r)
  }

  // MARK: Monitors

  /// Recurring monitors: started (or re-started) after the start where the resource will run, optional
  /// when already running there; monitors for the Stopped role run everywhere else.
  private mutating func createRecurringActions(_ r: Int) {
    let rsc = rscs[r]
    guard !rsc.blocked, !rsc.inMaintenance else { return }
    var start: Int?
    if let n = rsc.assigned, !nodes[n].maintenance, rsc.nextRole != .stopped || !rsc.managed {
      start = action(r, .start, n, optional: true)
    }
    let skip: Set<String> = [
      "start", "stop", "promote", "demote", "migrate_to", "migrate_from", "reload-agent",
    ]
    for op in rsc.operations where op.enabled && op.intervalMs > 0 && !skip.contains(op.name) {
      let key = "\(op.name)_\(op.intervalMs)"
      let opRole = Role(parsing: op.role) ?? .unknown
      if let start, let n = rsc.assigned, opRole != .stopped {
        let alreadyActive = rsc.activeMonitors[n]?.contains(key) ?? false
        let rescheduled = rescheduledOperations[r]?[n]?.contains(key) ?? false
        let optional = actions[start].optional && alreadyActive && !rescheduled
        let roleMatch = opRole == .unknown ? rsc.nextRole != .promoted : rsc.nextRole == opRole
        if !roleMatch {
          if optional { action(r, .cancel, n, interval: op.intervalMs, optional: false) }
          continue
        }
        let monitor = action(r, .monitor, n, interval: op.intervalMs, optional: optional)
        if !actions[start].runnable || !nodes[n].online || nodes[n].unclean {
          actions[monitor].runnable = false
        }
        if rsc.managed {
          pendingOrders.append(
            PendingOrder(r, .start, r, .monitor, [.firstImpliesThen, .unrunnableFirstBlocks]).with(
              then: monitor))
          // A monitor runs once the resource is in its next role: after the promotion to Promoted, or
          // the demotion from it (none for a freshly started Unpromoted instance).
          if rsc.nextRole == .promoted || rsc.origRole == .promoted {
            let roleChange: Task = rsc.nextRole == .promoted ? .promote : .demote
            pendingOrders.append(
              PendingOrder(r, roleChange, r, .monitor, [.ordered, .unrunnableFirstBlocks]).with(then: monitor)
            )
          }
        }
      }
      if opRole == .stopped && !isAnonymousCloneInstance(r) { stoppedRoleMonitor(r, op, key) }
    }
  }

  private mutating func stoppedRoleMonitor(_ r: Int, _ op: OperationSpec, _ key: String) {
    for n in nodes.indices {
      let alreadyActive = rscs[r].activeMonitors[n]?.contains(key) ?? false
      if n == rscs[r].assigned {
        if alreadyActive {
          let cancel = action(r, .cancel, n, interval: op.intervalMs, optional: false)
          if rscs[r].nextRole >= .started {
            pendingOrders.append(PendingOrder(action: cancel, r, .start, [.unrunnableFirstBlocks]))
          }
        }
        continue
      }
      let monitor = action(r, .monitor, n, interval: op.intervalMs, optional: alreadyActive)
      if rscs[r].managed, let probe = findAction(r, .monitor, on: n) {
        relate(probe, monitor, [.unrunnableFirstBlocks])
      }
      if let stop = findAction(r, .stop, on: n) {
        if !actions[stop].optional && !actions[monitor].optional && !rscs[r].managed {
          actions[monitor].optional = true
        }
        if !actions[stop].runnable { actions[monitor].runnable = false }
        if rscs[r].managed { relate(stop, monitor, [.firstImpliesThen, .unrunnableFirstBlocks]) }
      }
      if !nodes[n].online || nodes[n].unclean { actions[monitor].runnable = false }
    }
  }

  /// Maintenance (of the resource or its node) cancels recurring monitors where it is active.
  mutating func scheduleMaintenanceCancels() {
    for r in primitives {
      for n in rscs[r].activeNodes where rscs[r].inMaintenance || nodes[n].maintenance {
        guard nodes[n].maintenance || nodes[n].available else { continue }
        for key in (rscs[r].activeMonitors[n] ?? []).sorted() {
          let (_, interval) = Value.operationKey(key)
          guard interval > 0 else { continue }
          let cancel = action(r, .cancel, n, interval: interval, optional: false)
          pendingOrders.append(PendingOrder(r, .stop, r, .cancel, [.ordered]).with(then: cancel))
        }
      }
    }
  }

  // MARK: Probes

  /// A probe on every online, clean node where a resource's state is unknown; its start waits for
  /// the probe (and cannot happen if an inactive resource cannot be probed).
  mutating func scheduleProbes() {
    guard options.probes else { return }
    for n in nodes.indices where nodes[n].online && !nodes[n].unclean {
      for r in topLevel { probe(r, n) }
    }
  }

  private mutating func probe(_ r: Int, _ n: Int) {
    switch rscs[r].variant {
    case .group:
      for child in rscs[r].children { probe(child, n) }
    case .clone where isUniqueClone(r):
      // Unique instances are distinct agent instances: each is probed.
      for instance in rscs[r].children { probe(instance, n) }
    case .clone:
      // Anonymous instances are interchangeable: one probe per node, for the instance placed there.
      let instances = rscs[r].children
      // An instance numbered from clone-max up (clone-max lowered) is the clone's history there too.
      let known =
        instances.contains { i in
          (rscs[i].isPrimitive ? [i] : rscs[i].children).contains { rscs[$0].probed.contains(n) }
        } || orphanInstances(of: r).contains { rscs[$0].probed.contains(n) }
      guard !known, let first = instances.first else { return }
      let pick = instances.first { firstPrimitive($0).flatMap { rscs[$0].assigned } == n } ?? first
      probe(pick, n)
    case .primitive:
      // A resource inside a launcher cannot be probed before its launcher runs.
      guard !rscs[r].probed.contains(n), !rscs[r].removed, rscs[r].launcher == nil else { return }
      let probe = action(r, .monitor, n, optional: false)
      actions[probe].optional = false
      orderAfterUnfencing(r, probe)
      let owner = isCloneInstance(r) ? top(r) : r
      var flags: RelationFlags = [.ordered]
      if !actions[probe].runnable && !isActive(owner) { flags.insert(.unrunnableFirstBlocks) }
      pendingOrders.append(PendingOrder(action: probe, owner, .start, flags))
    }
  }

  // MARK: Fencing

  /// Fence every unclean node that can be fenced; starts of resources that need fencing wait for it,
  /// and stops on the fenced node become pseudo-actions implied by the fencing.
  mutating func scheduleFencing() {
    let haveManaged = primitives.contains { rscs[$0].managed }
    var previous: Int?
    for n in fenceOrder where nodes[n].unclean {
      guard haveManaged, canFence(n) else {
        notes.append("node \(nodes[n].name) is unclean but cannot be fenced")
        continue
      }
      let fence = action(nil, .fence, n, optional: false)
      actions[fence].reason = nodes[n].uncleanReason ?? "node is unclean"
      for r in primitives where rscs[r].managed {
        orderStartVsFencing(r, fence)
        orderStopVsFencing(r, fence)
      }
      if !options.concurrentFencing, let p = previous { relate(p, fence, [.ordered]) }
      previous = fence
    }
  }

  func canFence(_ n: Int) -> Bool {
    guard options.fencingEnabled, haveFencing else { return false }
    return quorate || options.noQuorumPolicy == .ignore || nodes[n].online
  }

  private mutating func orderStartVsFencing(_ r: Int, _ fence: Int) {
    guard let target = actions[fence].node else { return }
    for a in actionsByRsc[r] where [.start, .promote].contains(actions[a].task) {
      switch rscs[r].requires {
      case .fencing: relate(fence, a, [.ordered])
      case .quorum:
        let known = rscs[r].probed.contains(target)
        if actions[a].task == .start && rscs[r].allowed[target] != nil && !known {
          relate(fence, a, [.ordered, .unrunnableFirstBlocks])
        }
      case .nothing: break
      }
    }
  }

  private mutating func orderStopVsFencing(_ r: Int, _ fence: Int) {
    guard let target = actions[fence].node else { return }
    let orderImplicit = rscs[r].requires == .fencing
    for task in [Task.stop, .demote] {
      guard let a = findAction(r, task, on: target) else { continue }
      actions[a].pseudo = true
      actions[a].runnable = true
      if orderImplicit {
        relate(fence, a, [.ordered])
        if task == .stop, let parent = rscs[r].parent,
          let parentStop = findAction(top(parent), .stop, on: nil)
        {
          relate(fence, parentStop, [.ordered])
        }
      }
    }
  }
}

extension PendingOrder {
  func with(then action: Int) -> PendingOrder {
    var copy = self
    copy.thenAction = action
    return copy
  }
}
