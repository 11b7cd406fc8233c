import ResourceModel

/// Folding `ClusterState` into resource flags the way Pacemaker's status unpacking does: where each
/// resource is active, what failed and how that failure is handled (`on-fail`), fail counts after
/// `failure-timeout`, and the bans and fencing that failures imply.
extension Cluster {
  mutating func unpackStatus(_ state: ClusterState) {
    var (states, historyIds, surplus) = instanceStates(state)
    for (r, ids) in historyIds { rscs[r].historyIds = ids }
    for s in surplus {
      for (r, record) in addSurplusInstance(s) { states[r] = [s.node: record] }
    }
    for n in statusOrder {
      // Without fencing (or shutdown locks), the history of a node that is not up is never read: its
      // resources are treated as stopped and recovered elsewhere at once.
      if !options.fencingEnabled && !options.shutdownLock && !nodes[n].online { continue }
      for r in primitives {
        if let s = states[r]?[n] { unpack(r, n, s) }
      }
    }
  }

  /// The state of every primitive per node index. Anonymous clone instances are matched to nodes:
  /// an instance per node where the clone is active (`rsc:N` keeps its number when free), and every
  /// instance learns where the clone is known to be stopped.
  private func instanceStates(_ state: ClusterState) -> (
    states: [Int: [Int: ResourceNodeState]], historyIds: [Int: [Int: String]], surplus: [SurplusInstance]
  ) {
    var result: [Int: [Int: ResourceNodeState]] = [:]
    var historyIds: [Int: [Int: String]] = [:]
    var surplus: [SurplusInstance] = []
    func byNode(_ id: String) -> [Int: ResourceNodeState] {
      var out: [Int: ResourceNodeState] = [:]
      for (name, s) in state.resources[id] ?? [:] { if let n = nodeIndex[name] { out[n] = s } }
      return out
    }
    // A unique clone's instances keep their own records (`rsc:N`), read below like primitives'.
    for r in rscs.indices where rscs[r].variant == .clone && !isUniqueClone(r) {
      let instances = rscs[r].children
      guard let first = instances.first else { continue }
      let members = { (i: Int) -> [Int] in rscs[i].isPrimitive ? [i] : rscs[i].children }
      let bases = members(first).map { String(rscs[$0].id.prefix { $0 != ":" }) }
      let allKeys = bases.map { base in
        state.resources.keys.filter { $0 == base || $0.hasPrefix(base + ":") }.sorted()
      }
      let keys = allKeys.map { $0.filter { rscIndex[$0].map { !rscs[$0].removed } ?? true } }
      var used = Set<Int>()
      for n in nodes.indices {
        var perBase: [ResourceNodeState?] = []
        var perBaseIds: [String?] = []
        var hint: Int?
        for (b, base) in bases.enumerated() {
          var best: ResourceNodeState?
          var bestId: String?
          for id in keys[b] {
            guard let s = state.resources[id]?[nodes[n].name] else { continue }
            if best.map({ Self.effectiveRole(s) > Self.effectiveRole($0) || (s.failed && !$0.failed) })
              ?? true
            {
              best = s
              bestId = id
              hint = Int(id.dropFirst(base.count + 1))
            }
          }
          // Only an instance number above clone-max (an orphan, stopped separately) has a record here:
          // its failures are still the agent instance's.
          if best == nil,
            let orphan = allKeys[b].lazy.compactMap({ state.resources[$0]?[nodes[n].name] })
              .first(where: { !$0.failCounts.isEmpty || $0.hardError || $0.fatalError })
          {
            best = ResourceNodeState(role: orphan.role == .unknown ? .unknown : .stopped)
          }
          perBase.append(
            best.map { Self.withSharedFailures($0, of: allKeys[b], on: nodes[n].name, in: state) })
          perBaseIds.append(bestId)
        }
        // A start in flight counts as active (as `unpack` reads it): only that instance is there.
        let active = perBase.contains { $0.map { Self.effectiveRole($0) > .stopped || $0.failed } ?? false }
        var targets = Array(instances.indices)
        if active {
          let free = targets.filter { !used.contains($0) }
          guard let pick = hint.flatMap({ free.contains($0) ? $0 : nil }) ?? free.first else {
            surplus.append(SurplusInstance(node: n, bases: bases, records: perBase))
            continue
          }
          used.insert(pick)
          targets = [pick]
        }
        for i in targets {
          for (m, member) in members(instances[i]).enumerated() {
            if let s = perBase[m] { result[member, default: [:]][n] = s }
            if active, let id = perBaseIds[m] { historyIds[member, default: [:]][n] = id }
          }
        }
      }
    }
    for r in primitives where !isAnonymousCloneInstance(r) {
      result[r] = byNode(rscs[r].id)
      guard !rscs[r].removed, !rscs[r].id.contains(":") else { continue }
      // Records of instances from when the primitive was cloned (`InstanceAlias`).
      for id in state.resources.keys.sorted() where InstanceAlias.areAliases(rscs[r].id, id) {
        for (n, s) in byNode(id) {
          if result[r]?[n].map({ Role(s.role) > Role($0.role) || (s.failed && !$0.failed) }) ?? true {
            result[r, default: [:]][n] = s
          }
        }
      }
    }
    return (result, historyIds, surplus)
  }

  /// An anonymous clone active on a node after every instance number is taken (each side of a
  /// partition started `cln:0`; clone-max of them run elsewhere): the agent instance there has no
  /// instance to be.
  struct SurplusInstance {
    var node: Int
    /// The clone's primitive ids without instance numbers (a cloned group's members in order).
    var bases: [String]
    /// Per base, the record read on the node.
    var records: [ResourceNodeState?]
  }

  /// Pacemaker gives such a history an orphan instance (`find_anonymous_clone` creates one numbered
  /// after the others), which stops there. Without it the record was dropped: the DC saw the clone
  /// unknown on the node, probed it every second, found it running, and never stopped it — more
  /// instances than clone-max for good. Returns the orphans' primitives with their records.
  private mutating func addSurplusInstance(_ s: SurplusInstance) -> [(Int, ResourceNodeState)] {
    var number = 0
    while s.bases.contains(where: { rscIndex["\($0):\(number)"] != nil }) { number += 1 }
    var added: [(Int, ResourceNodeState)] = []
    for (base, record) in zip(s.bases, s.records) {
      guard let record else { continue }
      let r = addRemovedResource("\(base):\(number)")
      primitives.append(r)
      actionsByRsc.append([])
      deriveUnfencing(r)
      added.append((r, record))
    }
    return added
  }

  /// An anonymous clone's records on one node are one agent instance's history (Pacemaker keeps one
  /// under the bare id, with one fail count): the record read carries the failures of them all — fail
  /// counts added up per operation, the latest failure, hard and fatal errors. Records of other
  /// instance numbers stay behind when an instance moves through a node (a failed start under one
  /// number, a probe under another); read alone, the best one hid the other's INFINITY fail count and
  /// the clone started there again.
  static func withSharedFailures(
    _ record: ResourceNodeState, of keys: [String], on node: String, in state: ClusterState
  ) -> ResourceNodeState {
    var merged = record
    merged.failCounts = [:]
    for key in keys {
      if let s = state.resources[key]?[node] { merged.addFailures(of: s) }
    }
    return merged
  }

  /// The role a record stands for when planning: an operation in flight that makes the resource
  /// active (start, promote, migrate_from) counts as done, as Pacemaker assumes.
  static func effectiveRole(_ s: ResourceNodeState) -> Role {
    let role = Role(s.role)
    guard let pending = s.pending.map(Value.operationKey) else { return role }
    switch pending.name {
    case "promote": return max(role, .promoted)
    case "start", "migrate_from": return max(role, .started)
    default: return role
    }
  }

  /// The failed operation as (name, interval): given, or inferred from the state.
  private func failedOperation(_ r: Int, _ s: ResourceNodeState) -> (name: String, intervalMs: Int) {
    if s.stopFailed { return ("stop", 0) }
    if let key = s.failedOperation { return Value.operationKey(key) }
    if Role(s.role) < .started { return ("start", 0) }
    let monitor = rscs[r].operations.first { $0.name == "monitor" && $0.intervalMs > 0 }
    return ("monitor", monitor?.intervalMs ?? 0)
  }

  /// `on-fail` for a failed operation: resolved by the state's producer, else from the operation's
  /// configuration, else Pacemaker's default (fence for stops when fencing is on, block without).
  /// A resource with a launcher restarts its launcher by default, whatever the operation.
  private func onFail(_ r: Int, _ s: ResourceNodeState, _ op: (name: String, intervalMs: Int)) -> OnFail {
    let launched = rscs[r].launcher != nil
    if let given = OnFail(s.onFail, fencingEnabled: options.fencingEnabled, hasLauncher: launched) {
      return given
    }
    let spec = rscs[r].operations.first { $0.name == op.name && $0.intervalMs == op.intervalMs }
    let text = spec?.onFail ?? config.operationDefaults["on-fail"]
    if let configured = OnFail(text, fencingEnabled: options.fencingEnabled, hasLauncher: launched) {
      return configured
    }
    if launched { return .restartContainer }
    if op.name == "stop" { return options.fencingEnabled ? .fence : .block }
    return .restart
  }

  private mutating func unpack(_ r: Int, _ n: Int, _ s: ResourceNodeState) {
    let banTarget = isAnonymousCloneInstance(r) ? top(r) : r
    if options.shutdownLock, let lock = s.shutdownLock, lock != 0 {
      if options.shutdownLockLimit > 0 && now > lock + options.shutdownLockLimit {
        notes.append("\(rscs[r].id): shutdown lock on \(nodes[n].name) expired")
      } else {
        rscs[r].lockNode = n
        rscs[r].lockTime = lock
      }
    }
    // A failure recorded with parameters that changed since: its fail count is cleared.
    if s.definitionChange?.failureParametersChanged == true { clearFailCount(r, n) }
    if s.fatalError { addLocation(banTarget, node: nil, score: -Value.infinity) }
    if s.hardError { addLocation(banTarget, node: n, score: -Value.infinity) }

    var role = Role(s.role)
    // An operation in flight: a start (or promotion) counts as done, as Pacemaker assumes.
    if let pending = s.pending.map(Value.operationKey),
      ["start", "promote", "migrate_from"].contains(pending.name)
    {
      role = max(role, pending.name == "promote" ? .promoted : .started)
      if pending.name == "start" { rscs[r].startPending = true }
    }
    var failed = s.failed || s.stopFailed || s.blocked
    let op = failedOperation(r, s)
    // The failure's handling; stop, ban, standby and fence outlive a later success of the operation.
    var policy =
      OnFail(s.onFail, fencingEnabled: options.fencingEnabled, hasLauncher: rscs[r].launcher != nil)
      ?? (failed ? onFail(r, s, op) : .ignore)
    // Blocked by the producer (a failure it could not escalate, e.g. fencing an unreachable node): block.
    if s.blocked { policy = .block }
    // A failed stop of a launched resource counts as done: its launcher's restart recovers it (the
    // state's producer may already have recorded it so: stopped, not failed, restart-container).
    if failed && op.name == "stop" && policy == .restartContainer && !s.blocked {
      failed = false
      role = .stopped
      rscs[r].ignoreFailure = true
    }
    if !failed && ![.stop, .ban, .standby, .fence, .restartContainer].contains(policy) { policy = .ignore }
    // A failed start is fatal (start-failure-is-fatal) through the INFINITY fail count the controller
    // records for it, as in Pacemaker: the scheduler reads the count, not the property.
    var count = s.failCounts.values.reduce(0) { Value.add($0, $1) }

    // failure-timeout: an old failure no longer counts, and its fail count is cleared.
    let timeout = rscs[r].failureTimeout
    if timeout > 0, let last = s.lastFailure, now > last + timeout, policy != .block,
      !s.hardError, !s.fatalError
    {
      if count > 0 && nodes[n].online { clearFailCount(r, n) }
      count = 0
      if !s.stopFailed {
        if failed && (op.name == "start" || (op.name == "monitor" && op.intervalMs == 0)) { role = .stopped }
        failed = false
        policy = .ignore
      }
    }
    rscs[r].failCounts[n] = count
    if role != .unknown || failed { rscs[r].probed.insert(n) }

    if failed && policy == .ignore {
      // on-fail=ignore: Pacemaker pretends the operation succeeded.
      rscs[r].ignoreFailure = true
      failed = false
      if op.name == "stop" { role = .stopped } else if op.name == "start" { role = max(role, .started) }
    }
    if failed {
      if role < .started && !s.hardError { role = .started }  // a failed action may leave it active
      if op.name == "stop" { addLocation(r, node: n, score: -Value.infinity) }
    }
    if policy == .stop {
      setNextRole(r, .stopped)
      addLocation(banTarget, node: nil, score: -Value.infinity)
    }

    let knownActive = role > .stopped
    if knownActive && !nodes[n].online && !nodes[n].maintenance && rscs[r].managed && options.fencingEnabled {
      markUnclean(n, reason: "\(rscs[r].id) is thought to be active there")
    }
    // Fencing will recover resources on an unclean node — except the one whose failure is the reason.
    var handling = policy
    if nodes[n].unclean && !(nodes[n].uncleanReason ?? "").hasPrefix("\(rscs[r].id) failed there") {
      handling = .ignore
    }
    switch handling {
    case .fence: markUnclean(n, reason: "\(rscs[r].id) failed there")
    case .standby: nodes[n].standby = true
    case .block:
      rscs[r].managed = false
      rscs[r].blocked = true
      notes.append("\(rscs[r].id) is blocked on \(nodes[n].name) until its failure is cleaned up")
    case .ban: addLocation(r, node: n, score: -Value.infinity)
    case .restartContainer: requireLauncherStop(r, on: n)
    case .ignore, .demote, .restart, .stop: break
    }
    rscs[r].activeMonitors[n] = Set(s.activeMonitors)
    guard knownActive else { return }
    if let change = s.definitionChange, change.affectsActiveResource, !rscs[r].removed {
      // The fail count as recorded: a failed start stands for INFINITY above only when none is.
      let recorded = rscs[r].failCounts[n] == 0 ? 0 : s.failCounts.values.reduce(0) { Value.add($0, $1) }
      definitionChanges[r, default: [:]][n] = (change, recorded)
    }
    if let running = s.definition, let configured = rscs[r].definition, running != configured, !failed {
      rscs[r].definitionChanged = true
      noteDeviceDefinitionChange(r, on: n)
      notes.append("\(rscs[r].id) on \(nodes[n].name): restart due to resource definition change")
    }
    if !rscs[r].activeNodes.contains(n) { rscs[r].activeNodes.append(n) }
    rscs[r].origRole = max(rscs[r].origRole, role)
    if nodes[n].maintenance {
      rscs[r].managed = false
      rscs[r].inMaintenance = true
    }
    switch handling {
    case .ignore: break
    case .demote:
      // on-fail=demote: a failed promoted instance is demoted, not restarted.
      rscs[r].failed = true
      if role == .promoted { setNextRole(r, .unpromoted) }
    case .block: rscs[r].failed = true
    default:
      rscs[r].failed = true
      rscs[r].stopIfFailed = true
    }
    if !rscs[r].managed {
      addLocation(r, node: n, score: Value.infinity)
    } else if rscs[r].activeNodes.count > 1 {
      switch rscs[r].multipleActive {
      case .stopOnly: addLocation(r, node: nil, score: -Value.infinity)
      case .block:
        // A group that blocks on multiple activity blocks as a whole.
        let group = rscs[r].parent.flatMap { rscs[$0].variant == .group ? $0 : nil }
        let block = group.map { rscs[$0].meta["multiple-active"]?.lowercased() == "block" } == true
        for m in block ? rscs[group!].children : [r] {
          rscs[m].managed = false
          rscs[m].blocked = true
        }
      case .stopStart, .stopUnexpected: break
      }
    }
  }

  /// Schedules clearing a resource's fail count on a node, once: the instances of an anonymous clone
  /// share one fail count per node (each learns the clone's state where none is active), and
  /// Pacemaker clears it for the instance whose history it is.
  mutating func clearFailCount(_ r: Int, _ n: Int) {
    if !failCountCleared(r, n) { clearFailures.append((r, n)) }
  }

  /// A clear of the fail count of `r` (or of an instance sharing it) on node `n` is scheduled.
  func failCountCleared(_ r: Int, _ n: Int) -> Bool {
    let shared =
      isAnonymousCloneInstance(r) && !Value.bool(rscs[top(r)].meta["globally-unique"], default: false)
    let base = InstanceAlias.base(rscs[r].id)
    return clearFailures.contains { clear in
      clear.node == n && (clear.rsc == r || (shared && InstanceAlias.base(rscs[clear.rsc].id) == base))
    }
  }

  /// Lowers the next role (a requested or failure-imposed role never raises it).
  mutating func setNextRole(_ r: Int, _ role: Role) {
    if rscs[r].nextRole == .unknown || role < rscs[r].nextRole {
      rscs[r].nextRole = role
    }
  }
}
