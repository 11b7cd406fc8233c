import ResourceModel
import Scheduler

/// The fencer's share of a controller: on every replica the fencing history, when each node was
/// last fenced and how often fencing it failed (all derived from ordered messages, so identical
/// everywhere); on the DC the fence operations in progress.
struct FencerState: Sendable {
  /// One level of a planned operation, ready to send.
  struct PlannedLevel: Sendable, Equatable {
    var level: Int
    var devices: [FenceDeviceSpec]
    var timeoutMs: Int
    var delayBaseMs: Int
    var delayMaxMs: Int
  }
  /// A fence operation the DC drives: its levels are tried in order until one succeeds.
  struct Operation: Sendable {
    var id: String
    var target: String
    var action: String
    var requester: String
    var levels: [PlannedLevel]
    var next = 0
    var current: FenceRequest?
    var deadline: Int64 = 0
    var reaped = false
    var clientRequestId: String?
    var origin: String?
  }
  var operations: [String: Operation] = [:]
  var history: [FenceHistoryEntry] = []
  var failures: [String: Int] = [:]
  var fencedAt: [String: Int64] = [:]
  var joinedAt: [String: Int64] = [:]
  /// Nodes known to this replica since it started: members of its views, senders of hellos, the
  /// nodes other replicas saw, fenced nodes. The rest of the configured nodes are unseen.
  var seen: Set<String> = []
  /// This replica's partition has had quorum (Pacemaker's no-quorum-panic, once it is lost).
  var hadQuorum = false
  /// When this replica installed its first view (the start of its `dc-deadtime` wait).
  var startedAt: Int64?
  var counter = 0
  var reacted = false
  var now: Int64 = 0
  static let historyLimit = 200
}

extension ControllerInstance {
  /// The fencing history, oldest first (`swpcs stonith history`).
  public var fenceHistory: [FenceHistoryEntry] { fencer.history }

  /// Status warnings: unclean nodes whose fencing was given up (fencing-max-attempts).
  var fencingNotes: [String] {
    let policy = FencingPolicy(config)
    return fencer.failures.sorted { $0.key < $1.key }.compactMap { target, failures in
      guard failures >= policy.maxAttempts,
        state.nodes.contains(where: { $0.name == target && $0.membership == .unclean })
      else { return nil }
      return
        "fencing of \(target) failed \(failures) times: giving up (fencing-max-attempts=\(policy.maxAttempts)); its resources stay blocked until: swpcs stonith confirm \(target) --yes, or swpcs stonith cleanup"
    }
  }

  var hasFenceDevice: Bool { !FencingPolicy.usableDevices(config).isEmpty }

  /// The node was fenced (or confirmed down) after it last joined: losing it now is no surprise.
  func fencedSinceJoin(_ node: String) -> Bool {
    guard let fenced = fencer.fencedAt[node] else { return false }
    return fenced >= (fencer.joinedAt[node] ?? 0)
  }

  mutating func receivedFencing(_ message: ControllerMessage, now: Int64) -> [ControllerDirective] {
    switch message {
    case .fenceRequest(let request):
      return request.executor == me ? [.fence(request)] : []
    case .fenceResult(let result):
      return applyFenceResult(result, now: now)
    case .fenceConfirm(let confirm):
      return applyConfirm(confirm, now: now)
    case .fenceCommand(let command):
      guard isDC else { return [] }
      guard fencer.operations[command.target] == nil else {
        return [.log(level: .notice, "fencing of \(command.target) already in progress")]
      }
      return startFenceOperation(
        target: command.target, action: command.action, requester: "swpcs@\(command.origin)",
        automatic: false,
        clientRequestId: command.requestId, origin: command.origin, now: now)
    default:
      return []
    }
  }

  /// A node learned from a hello of fencing it missed (it was in another partition, or restarted).
  mutating func mergeFenceHistory(_ entries: [FenceHistoryEntry]) -> [ControllerDirective] {
    var out: [ControllerDirective] = []
    for entry in entries where !fencer.history.contains(entry) {
      fencer.history.append(entry)
      // Unfencing lets a node in; it says nothing about the node having been down.
      if entry.result != .failed && entry.action != "on" {
        fencer.fencedAt[entry.target] = max(fencer.fencedAt[entry.target] ?? 0, entry.at)
        if entry.target == me && entry.at > settings.startedAtMs { out += react(entry) }
      }
    }
    fencer.history.sort { $0.at < $1.at }
    trimHistory()
    return out
  }

  mutating func trimHistory() {
    if fencer.history.count > FencerState.historyLimit {
      fencer.history.removeFirst(fencer.history.count - FencerState.historyLimit)
    }
  }

  /// `fencing-reaction`: this node is running although the cluster says it was fenced.
  mutating func react(_ entry: FenceHistoryEntry) -> [ControllerDirective] {
    guard !fencer.reacted else { return [] }
    fencer.reacted = true
    let reaction = FencingPolicy(config).reaction
    return [
      .log(
        level: .error,
        "this node was fenced (\(entry.action) by \(entry.executor ?? entry.requester), \(entry.result.rawValue)) but is still running: fencing-reaction=\(reaction)"
      ),
      .fenced(reaction: reaction),
    ]
  }

  /// `startup-fencing`, on the DC before it plans: marks the configured nodes nobody has seen
  /// UNCLEAN once `dc-deadtime` is over (the scheduler then fences them before starting what could
  /// be active there); until then, `wait` says to plan nothing yet.
  mutating func startupFencing(now: Int64) -> (wait: Bool, note: String?, out: [ControllerDirective]) {
    guard quorate, let startedAt = fencer.startedAt else { return (false, nil, []) }
    let decision = FencingPolicy(config).startupFencing(
      configured: Array(settings.nodeIds.keys), seen: fencer.seen.union(fencer.fencedAt.keys),
      members: members,
      fencingEnabled: fencingEnabled, hasDevice: hasFenceDevice, startedAtMs: startedAt, now: now)
    switch decision {
    case .nothing:
      return (false, nil, [])
    case .wait(let until, let nodes):
      let note =
        "waiting up to \((until - now + 999) / 1000) s (dc-deadtime) for \(nodes.joined(separator: ", ")) to appear: startup-fencing fences nodes never seen"
      return (true, note, [])
    case .fence(let nodes):
      var out: [ControllerDirective] = []
      for node in nodes where state.nodes.first(where: { $0.name == node })?.membership != .unclean {
        setMembership(node, .unclean)
        if let i = state.nodes.firstIndex(where: { $0.name == node }) {
          state.nodes[i].uncleanReason = "node is unclean"
        }
        out.append(
          .log(
            level: .warning,
            "node \(node) has not been seen since the cluster started: UNCLEAN until fenced (startup-fencing)"
          ))
      }
      return (false, nil, out)
    }
  }

  /// The configuration as the scheduler must see it: `no-quorum-policy=fence` (`suicide`) fences
  /// the partition only when it had quorum and lost it; a partition that never had quorum (a node
  /// starting alone) falls back to `stop`, as Pacemaker's scheduler does without no-quorum-panic.
  func schedulingConfiguration() -> ResourceConfiguration {
    let policy = config.properties["no-quorum-policy"]?.lowercased()
    guard !quorate, !fencer.hadQuorum, policy == "fence" || policy == "suicide" else { return config }
    var copy = config
    copy.properties["no-quorum-policy"] = "stop"
    return copy
  }

  /// Nodes seen by the sender of a hello (and the sender itself).
  mutating func noteSeen(_ nodes: [String]) {
    fencer.seen.formUnion(nodes)
  }

  // MARK: - DC: operations

  /// Plans and sends the first level of a fence operation against `target`.
  mutating func startFenceOperation(
    target: String, action: String, requester: String, automatic: Bool, clientRequestId: String? = nil,
    origin: String? = nil, now: Int64
  ) -> [ControllerDirective] {
    let policy = FencingPolicy(config)
    fencer.counter += 1
    let id = "\(me)-\(now)-\(fencer.counter)"
    var levels: [FencerState.PlannedLevel] = []
    let unfencing = action == "on"
    let planned =
      unfencing
      ? FencingPolicy.unfencingLevels(for: target, config) : FencingPolicy.levels(for: target, config)
    for (number, (level, devices)) in planned.enumerated() {
      var base = 0
      var maxDelay = 0
      // Delays protect against the fence race of automatic fencing; the first level only. Turning
      // a node on races nobody (Pacemaker applies no delay to `on`).
      if automatic && number == 0 && !unfencing {
        base = devices.map { FencingPolicy.delayBaseMs($0, target: target) }.max() ?? 0
        maxDelay = devices.map(FencingPolicy.delayMaxMs).max() ?? 0
        base += policy.priorityDelayMs(target: target, state: state) { resource in
          Int(primitive(named: resource)?.meta["priority"] ?? config.resourceDefaults["priority"] ?? "") ?? 0
        }
      }
      levels.append(
        FencerState.PlannedLevel(
          level: level, devices: devices.map(FencingPolicy.spec),
          timeoutMs: devices.map { policy.timeoutMs($0, action: action) }.max() ?? policy.timeoutMs,
          delayBaseMs: base, delayMaxMs: maxDelay))
    }
    var operation = FencerState.Operation(
      id: id, target: target, action: action, requester: requester, levels: levels,
      clientRequestId: clientRequestId, origin: origin)
    guard !levels.isEmpty else {
      let request = FenceRequest(
        id: id, target: target, action: action, requester: requester, executor: me, level: 0, devices: [],
        finalLevel: true, clientRequestId: clientRequestId, origin: origin)
      return [
        .broadcast(
          .fenceResult(
            FenceResult(
              request: request, ok: false, outcomes: [], reason: "no fencing device can fence \(target)",
              at: now)))
      ]
    }
    var out: [ControllerDirective] = [
      .log(level: .notice, "fencing \(target) (\(action)) requested by \(requester)")
    ]
    out += sendNextLevel(&operation, now: now)
    fencer.operations[target] = operation
    return out
  }

  /// Sends the operation's next level to a member that may run it.
  mutating func sendNextLevel(_ operation: inout FencerState.Operation, now: Int64) -> [ControllerDirective] {
    let planned = operation.levels[operation.next]
    let runsOn = state.resources[planned.devices[0].id]?.filter { $0.value.role == .started }.map(\.key) ?? []
    let executor =
      operation.action == "on"
      ? FencingPolicy.unfencingExecutor(target: operation.target, members: members)
      : FencingPolicy.executor(target: operation.target, members: members, deviceRunsOn: runsOn.sorted())
    let request = FenceRequest(
      id: operation.id, target: operation.target, action: operation.action, requester: operation.requester,
      executor: executor ?? me, level: planned.level, devices: planned.devices,
      finalLevel: operation.next == operation.levels.count - 1, delayBaseMs: planned.delayBaseMs,
      delayMaxMs: planned.delayMaxMs, timeoutMs: planned.timeoutMs,
      clientRequestId: operation.clientRequestId, origin: operation.origin)
    operation.current = request
    operation.reaped = false
    let budget = planned.delayBaseMs + planned.delayMaxMs + planned.timeoutMs * planned.devices.count
    operation.deadline = now + Int64(budget) + 10_000
    guard executor != nil else {
      return [
        .broadcast(
          .fenceResult(
            FenceResult(
              request: request, ok: false, outcomes: [],
              reason: operation.action == "on"
                ? "\(operation.target) is not a member: it cannot be unfenced"
                : "no member other than \(operation.target) can run the fencing devices", at: now)))
      ]
    }
    return [.broadcast(.fenceRequest(request))]
  }

  /// A transition's fence action became runnable.
  mutating func dispatchFence(_ index: Int, _ action: ScheduledAction, _ run: inout RunningTransition)
    -> [ControllerDirective]
  {
    let target = action.node
    let policy = FencingPolicy(config)
    let failures = fencer.failures[target] ?? 0
    // Given up (see `fencingNotes`): the action stays undispatched, so its dependents never run.
    if failures >= policy.maxAttempts { return [] }
    // A member of this view whose controller has not joined yet is pending, not lost: Pacemaker
    // does not fence it (node-pending-timeout defaults to never); what depends on it waits. A
    // joined member is fenced: the scheduler wants it for a reason of its own (a failed stop with
    // on-fail=fence, no-quorum-policy=fence), and its resources are recovered after the fence.
    if members.contains(target) && !joined.contains(target) {
      let note = "\(target) is a member whose resource manager has not joined: not fencing it"
      if !run.blocked.contains(note) { run.blocked.append(note) }
      return []
    }
    run.dispatched.insert(index)
    if fencer.operations[target] != nil { return [] }
    return startFenceOperation(
      target: target, action: action.fenceAction ?? policy.action, requester: me, automatic: true,
      now: fencer.now)
  }

  /// The fence action(s) of the running transition for `target` are over.
  mutating func finishFenceAction(_ target: String, success: Bool) {
    guard var run = running else { return }
    for (index, action) in run.transition.actions.enumerated()
    where action.kind == .fence && action.node == target && run.dispatched.contains(index)
      && !run.completed.contains(index)
    {
      if success {
        run.completed.insert(index)
      } else {
        run.dispatched.remove(index)
        run.aborted = true
      }
    }
    running = run
  }

  /// Before scheduling: operations whose executor left or that overran their deadline fail.
  mutating func reapFenceOperations(now: Int64) -> [ControllerDirective] {
    fencer.now = now
    if quorate { fencer.hadQuorum = true }
    guard isDC else {
      fencer.operations = [:]
      return []
    }
    var out: [ControllerDirective] = []
    for (target, var operation) in fencer.operations {
      guard let request = operation.current, !operation.reaped else { continue }
      let reason: String
      if !members.contains(request.executor) {
        reason = "\(request.executor) left before reporting the result"
      } else if now > operation.deadline {
        reason = "no result from \(request.executor) in time"
      } else {
        continue
      }
      operation.reaped = true
      fencer.operations[target] = operation
      out.append(
        .broadcast(
          .fenceResult(FenceResult(request: request, ok: false, outcomes: [], reason: reason, at: now))))
    }
    return out
  }

  // MARK: - Every replica

  mutating func applyFenceResult(_ result: FenceResult, now: Int64) -> [ControllerDirective] {
    var out: [ControllerDirective] = []
    let request = result.request
    let target = request.target
    let failing = result.outcomes.first { !$0.ok }
    let detail =
      result.reason
      ?? failing.map {
        "\($0.device): \($0.status) (rc \($0.rc))\($0.output.isEmpty ? "" : ": " + lastLine($0.output))"
      }
      ?? result.outcomes.map { "\($0.device): ok (\($0.durationMs) ms)" }.joined(separator: ", ")
    let entry = FenceHistoryEntry(
      operation: request.id, target: target, action: request.action, requester: request.requester,
      executor: request.executor, devices: request.devices.map(\.id), level: request.level,
      result: result.ok ? .success : .failed, detail: detail, at: result.at)
    if !fencer.history.contains(entry) {
      fencer.history.append(entry)
      trimHistory()
    }
    if result.ok && request.action == "on" {
      // Unfenced: recorded as the node's `#node-unfenced` transient attribute (as Pacemaker's
      // controller does), which the scheduler reads; it goes when the node leaves.
      fencer.failures[target] = nil
      if let i = state.nodes.firstIndex(where: { $0.name == target }) {
        state.nodes[i].transientAttributes["#node-unfenced"] = String(max(1, result.at / 1000))
      }
      out.append(
        .log(
          level: .notice,
          "\(target) was unfenced by \(request.devices.map(\.id).joined(separator: ",")) on \(request.executor)"
        ))
    } else if result.ok {
      fencer.fencedAt[target] = max(fencer.fencedAt[target] ?? 0, result.at)
      fencer.failures[target] = nil
      // Down, whether or not the view has noticed yet (a fenced member leaves it shortly): its
      // resources are stopped, and it gets none until it joins again.
      clearNode(target)
      out.append(
        .log(
          level: .notice,
          "\(target) was fenced (\(request.action)) by \(request.devices.map(\.id).joined(separator: ",")) on \(request.executor)"
        ))
      if target == me { out += react(entry) }
    } else {
      out.append(.log(level: .error, "fencing \(target) at level \(request.level) failed: \(detail)"))
      if request.finalLevel { fencer.failures[target, default: 0] += 1 }
    }
    if request.origin == me, let requestId = request.clientRequestId, result.ok || request.finalLevel,
      let token = pendingRequests.removeValue(forKey: requestId)
    {
      out.append(
        .reply(
          token: token,
          ManagerResponse(ok: result.ok, error: result.ok ? nil : "fencing \(target) failed: \(detail)")))
    }
    replanNeeded = true
    guard isDC, var operation = fencer.operations[target], operation.current == request else { return out }
    if result.ok {
      fencer.operations[target] = nil
      finishFenceAction(target, success: true)
    } else if operation.next + 1 < operation.levels.count {
      operation.next += 1
      out += sendNextLevel(&operation, now: now)
      fencer.operations[target] = operation
    } else {
      fencer.operations[target] = nil
      finishFenceAction(target, success: false)
    }
    return out
  }

  mutating func applyConfirm(_ confirm: FenceConfirm, now: Int64) -> [ControllerDirective] {
    let target = confirm.target
    guard !members.contains(target) else {
      return [.log(level: .warning, "\(confirm.by) confirmed \(target) down, but it is a member: ignored")]
    }
    let entry = FenceHistoryEntry(
      operation: "confirm-\(now)", target: target, action: "off", requester: confirm.by, executor: nil,
      devices: [], level: 0, result: .confirmed, detail: "manually confirmed down", at: now)
    fencer.history.append(entry)
    trimHistory()
    fencer.fencedAt[target] = now
    fencer.failures[target] = nil
    clearNode(target)
    if isDC {
      fencer.operations[target] = nil
      finishFenceAction(target, success: true)
    }
    abortTransition(reason: "\(target) confirmed down")
    return [.log(level: .warning, "\(confirm.by) confirmed \(target) is down: its resources are recovered")]
  }

  /// `swpcs stonith fence|confirm|cleanup` on this node.
  mutating func fencingClientRequest(token: Int, _ request: ManagerRequest, now: Int64)
    -> [ControllerDirective]
  {
    guard connected, dc != nil else {
      return [.reply(token: token, ManagerResponse(ok: false, error: "not a cluster member (no DC yet)"))]
    }
    guard let target = request.node, settings.nodeIds[target] != nil else {
      let known = settings.nodeIds.keys.sorted().joined(separator: ", ")
      return [
        .reply(
          token: token,
          ManagerResponse(
            ok: false, error: "node \(request.node ?? "(none)") is not in the cluster; known nodes: \(known)")
        )
      ]
    }
    switch request.op {
    case .fence:
      requestCounter += 1
      let requestId = "\(me)-\(now)-\(requestCounter)"
      pendingRequests[requestId] = token
      return [
        .broadcast(
          .fenceCommand(
            FenceCommand(requestId: requestId, origin: me, target: target, action: request.action ?? "reboot")
          ))
      ]
    case .fenceConfirm:
      guard !members.contains(target) else {
        return [
          .reply(
            token: token,
            ManagerResponse(ok: false, error: "\(target) is a member of the cluster: it is not down"))
        ]
      }
      return [
        .broadcast(.fenceConfirm(FenceConfirm(target: target, by: "swpcs@\(me)"))),
        .reply(token: token, ManagerResponse(ok: true)),
      ]
    default:
      return [.reply(token: token, ManagerResponse(ok: false, error: "not a fencing request"))]
    }
  }

  func lastLine(_ text: String) -> String {
    String(text.split(separator: "\n").last ?? "")
  }
}

extension ControllerInstance {
  /// The shell ran a fence request's devices on this node (in order, stopping at the first failure).
  public mutating func fenceCompleted(_ request: FenceRequest, outcomes: [FenceDeviceOutcome], now: Int64)
    -> [ControllerDirective]
  {
    let ok = !outcomes.isEmpty && outcomes.count == request.devices.count && outcomes.allSatisfy(\.ok)
    return [.broadcast(.fenceResult(FenceResult(request: request, ok: ok, outcomes: outcomes, at: now)))]
  }
}
