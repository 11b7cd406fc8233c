import ClusterTypes
import ResourceModel
import Scheduler

/// What the shell must do after an input to the controller.
public enum ControllerDirective: Sendable, Equatable {
  /// Send to every member, in total order (via swcorosync).
  case broadcast(ControllerMessage)
  /// Run an action on this node and report it with `operationCompleted`. For a recurring monitor,
  /// start it and report the first result; later failures come in through `recurringFailed`. Before a
  /// stop, the shell cancels the resource's recurring monitors.
  case execute(ActionRequest)
  /// Write this configuration to the local store.
  case persist(ResourceConfiguration)
  /// Answer a control-socket client.
  case reply(token: Int, ManagerResponse)
  /// One log line a human cares about.
  case log(level: LogLevel, String)
  /// Run one level of a fence operation on this node and report it with `fenceCompleted`.
  case fence(FenceRequest)
  /// This node was fenced but still runs: carry out `fencing-reaction` (stop | panic).
  case fenced(reaction: String)
}

/// Where swcorosync delivered a group message in its total order: the view and the sequence in it.
public struct DeliveryPosition: Sendable, Equatable {
  public var view: ViewId
  public var sequence: UInt64
  public init(view: ViewId, sequence: UInt64) {
    self.view = view
    self.sequence = sequence
  }
}

public enum LogLevel: String, Sendable, Equatable {
  case debug
  case info
  case notice
  case warning
  case error
}

/// Settings of one node's controller.
public struct ControllerSettings: Sendable, Equatable {
  public var localNode: String
  /// Every configured node: name → id (the lowest id is DC among members that started together).
  public var nodeIds: [String: UInt32]
  /// After a view change, how long the DC waits for every member's hello before scheduling anyway.
  public var joinWaitMs: Int64
  /// Wall-clock ms when this node's daemon started: fencing history after it means "fenced while
  /// running" (`fencing-reaction`).
  public var startedAtMs: Int64
  public init(
    localNode: String, nodeIds: [String: UInt32], joinWaitMs: Int64 = 3000, startedAtMs: Int64 = .max
  ) {
    self.localNode = localNode
    self.nodeIds = nodeIds
    self.joinWaitMs = joinWaitMs
    self.startedAtMs = startedAtMs
  }
}

/// One node's resource manager: a replica of the configuration and cluster state kept identical on
/// every node by applying the same ordered messages, plus — on the DC only — the transition being
/// executed.
///
/// Pure: inputs carry the wall-clock time in ms; outputs are directives. The daemon and the
/// simulation drive the same code.
public struct ControllerInstance: Sendable {
  public private(set) var settings: ControllerSettings
  public var me: String { settings.localNode }

  public private(set) var config: ResourceConfiguration
  public internal(set) var state = ClusterState()
  public private(set) var members: [String] = []
  public private(set) var joined: Set<String> = []
  /// When each joined member's resource manager started (from its hello): the DC election's key.
  var joinedSince: [String: Int64] = [:]
  var shuttingDown: Set<String> = []
  var configVersions: [String: ConfigVersion] = [:]
  var viewChangedAt: Int64 = 0
  public private(set) var quorate = false
  public private(set) var connected = false
  var lastChange: Int64?

  // DC only.
  struct RunningTransition: Sendable {
    var id: Int
    var transition: Transition
    var dispatched: Set<Int> = []
    var completed: Set<Int> = []
    var aborted = false
    var blocked: [String] = []
  }
  var running: RunningTransition?
  var transitionCounter = 0
  var replanNeeded = true
  var lastSignature: [ScheduledAction] = []
  var repeats = 0
  public private(set) var notes: [String] = []
  /// Scheduler runs so far (the daemon times the inputs that ran it: `swpcs metrics`).
  public internal(set) var schedulerRuns = 0

  // Requests of local clients waiting for the DC's answer.
  var pendingRequests: [String: Int] = [:]
  var requestCounter = 0
  var recentFailures: [ActionResult] = []
  /// This node's results broadcast but not yet delivered back: a hello sent meanwhile must already
  /// include them, or it would undo them on every replica when delivered after them.
  var undeliveredResults: [ActionResult] = []
  /// DC: the version of the last change it published (not necessarily adopted yet).
  var publishing: ConfigVersion?
  /// Changes of local clients adopted here, not answered yet: a change is acknowledged only once
  /// every member of the view it was delivered in has delivered it (swcorosync's `stable` event) —
  /// a publish that reached only one side of a view that is splitting must not be acknowledged
  /// there, since the other side may accept another change at the same version.
  var awaitingStable: [(position: DeliveryPosition, token: Int)] = []
  /// The last action spec seen per resource (from results): agent and parameters of resources that
  /// may no longer be in the configuration but still run somewhere.
  var specs: [String: ActionSpec] = [:]
  var fencer = FencerState()
  /// Members of the installed view that moved on to a newer view without this node while the rest
  /// has no quorum (swcorosync's `quorum` event); until the next view this node acts alone
  /// (`ControllerAlone.swift`) and schedules nothing for the cluster.
  public internal(set) var movedOn: Set<String> = []
  var localRun: LocalRun?

  public init(settings: ControllerSettings, config: ResourceConfiguration) {
    self.settings = settings
    self.config = config
  }

  /// The designated coordinator: the joined member whose resource manager has run longest (its hello's
  /// `since`), the lowest node id among equals. As in Pacemaker's election, where the older controller
  /// wins, a node that restarts or rejoins does not take the DC role from one that kept running.
  public var dc: String? {
    members.lazy.filter { joined.contains($0) }.min {
      let a = joinedSince[$0] ?? .max
      let b = joinedSince[$1] ?? .max
      return a != b ? a < b : id($0) < id($1)
    }
  }
  public var isDC: Bool { dc == me }
  /// Every member of the view has said hello, or the join wait is over: before, the DC may still
  /// change as hellos arrive (the DC itself waits as long before it schedules).
  public func joinSettled(now: Int64) -> Bool {
    members.allSatisfy { joined.contains($0) } || now - viewChangedAt >= settings.joinWaitMs
  }
  func id(_ node: String) -> UInt32 { settings.nodeIds[node] ?? .max }

  /// cluster.conf reloaded with nodes added or removed (`systemctl reload swpacemaker`).
  /// A node no longer configured is forgotten with its resource history (Pacemaker's `crm_node -R`
  /// when pcs removes a node), unless it is still a member.
  public mutating func updateNodeIds(_ nodeIds: [String: UInt32]) {
    settings.nodeIds = nodeIds
    let gone = Set(state.nodes.map(\.name)).subtracting(nodeIds.keys).subtracting(members)
    state.nodes.removeAll { gone.contains($0.name) }
    for resource in Array(state.resources.keys) {
      for node in gone { state.resources[resource]?[node] = nil }
    }
  }

  // MARK: - Inputs

  /// swcorosync installed a view. `lost` left uncleanly (candidates for fencing), `left` stopped cleanly.
  public mutating func viewChanged(
    members newMembers: [String], lost: [String], left: [String], quorate: Bool, now: Int64
  ) -> [ControllerDirective] {
    var out = answerUnconfirmedChanges()
    connected = true
    publishing = nil
    movedOn = []
    localRun = nil
    let previous = members
    members = newMembers.sorted { id($0) < id($1) }
    self.quorate = quorate
    viewChangedAt = now
    if fencer.startedAt == nil { fencer.startedAt = now }
    noteSeen(newMembers)
    joined = []
    joinedSince = [:]
    configVersions = [:]
    let fencing = fencingEnabled
    for node in previous where !members.contains(node) {
      if lost.contains(node) && fencing && (hasActiveResources(node) || hasFenceDevice)
        && !fencedSinceJoin(node)
      {
        setMembership(node, .unclean)
        out.append(.log(level: .warning, "node \(node) was lost with resources active: UNCLEAN until fenced"))
      } else {
        clearNode(node)
        if lost.contains(node) {
          let why =
            !fencing
            ? "fencing is disabled" : fencedSinceJoin(node) ? "it was fenced" : "nothing was active there"
          out.append(.log(level: .warning, "node \(node) was lost; \(why), its resources are recovered"))
        }
      }
      shuttingDown.remove(node)
    }
    // Lost and back at once (a new incarnation: its swcorosync restarted): its fail counts went with
    // it, as Pacemaker erases a lost node's attributes.
    for node in lost where members.contains(node) {
      for resource in state.resources.keys {
        state.resources[resource]?[node]?.failCounts = [:]
        state.resources[resource]?[node]?.lastFailure = nil
      }
    }
    abortTransition(reason: "membership changed")
    // Every member says hello in the new view: its config version and its own resources.
    out.append(.broadcast(.hello(makeHello())))
    return out + schedule(now: now)
  }

  /// swpacemakerd connected to swcorosync, which already has a view installed (the answer to
  /// `subscribe`): as a view change, but its hello asks the members for theirs.
  public mutating func attached(members: [String], quorate: Bool, now: Int64) -> [ControllerDirective] {
    var out = viewChanged(members: members, lost: [], left: [], quorate: quorate, now: now)
    for index in out.indices {
      if case .broadcast(.hello(var hello)) = out[index], hello.node == me {
        hello.joining = true
        out[index] = .broadcast(.hello(hello))
      }
    }
    return out
  }

  /// Quorum changed without a view change. `movedOn`: members of the view that moved on to a newer
  /// view without this node (the quorum was counted without them).
  public mutating func quorumChanged(_ quorate: Bool, movedOn gone: [String] = [], now: Int64)
    -> [ControllerDirective]
  {
    self.quorate = quorate
    var out: [ControllerDirective] = []
    if !gone.isEmpty && !quorate && movedOn.isEmpty {
      movedOn = Set(gone)
      running = nil
      out += actAlone(now: now)
    }
    abortTransition(reason: "quorum changed")
    return out + schedule(now: now)
  }

  /// swcorosync went away: this node is no longer a cluster member.
  public mutating func disconnected(now: Int64) -> [ControllerDirective] {
    connected = false
    members = []
    joined = []
    joinedSince = [:]
    running = nil
    return answerUnconfirmedChanges() + [
      .log(level: .error, "lost the connection to swcorosync: no longer acting as a cluster member")
    ]
  }

  /// swcorosync: every member of `view` delivered its messages up to `upTo`. Changes adopted there
  /// are now held by all of them: acknowledge them.
  public mutating func stable(view: ViewId, upTo: UInt64, now: Int64) -> [ControllerDirective] {
    var out: [ControllerDirective] = []
    awaitingStable.removeAll { entry in
      guard entry.position.view == view, entry.position.sequence <= upTo else { return false }
      out.append(.reply(token: entry.token, ManagerResponse(ok: true)))
      return true
    }
    return out
  }

  /// The view changed (or swcorosync went away) before every member was known to hold the changes
  /// still waiting: they may or may not survive (the members that did not get them may accept
  /// another change at the same version, which then wins), so the client is told so.
  mutating func answerUnconfirmedChanges() -> [ControllerDirective] {
    defer { awaitingStable = [] }
    return awaitingStable.map { entry in
      .reply(
        token: entry.token,
        ManagerResponse(
          ok: false,
          error:
            "the cluster membership changed before every member had the new configuration: it may or may not be in force; check and retry"
        ))
    }
  }

  /// A group message, delivered in total order. `position`: where swcorosync delivered it (nil from
  /// a shell that does not say: then a change is acknowledged on delivery).
  public mutating func received(
    _ message: ControllerMessage, from origin: String, at position: DeliveryPosition? = nil, now: Int64
  ) -> [ControllerDirective] {
    var out: [ControllerDirective] = []
    switch message {
    case .hello(let hello):
      guard members.contains(hello.node) else { break }
      if hello.joining == true && hello.node != me && joined.contains(me) {
        out.append(.broadcast(.hello(makeHello(handingBackTo: hello.node))))
      }
      if hello.joining == true, var run = running {
        // Its swpacemakerd restarted: what the DC asked of the old one will never be reported.
        for (index, action) in run.transition.actions.enumerated()
        where action.node == hello.node && action.kind != .fence && run.dispatched.contains(index)
          && !run.completed.contains(index)
        {
          run.completed.insert(index)
          run.aborted = true
        }
        running = run
      }
      joined.insert(hello.node)
      joinedSince[hello.node] = hello.since ?? .max
      fencer.joinedAt[hello.node] = now
      noteSeen([hello.node] + (hello.seen ?? []))
      out += mergeFenceHistory(hello.fenceHistory ?? [])
      for (node, resources) in hello.unclean ?? [:]
      where fencingEnabled && !members.contains(node)
        && state.nodes.first(where: { $0.name == node })?.membership != .unclean
      {
        for (resource, nodeState) in resources where state.resources[resource]?[node] == nil {
          state.resources[resource, default: [:]][node] = nodeState
        }
        setMembership(node, .unclean)
        out.append(
          .log(level: .warning, "node \(node) is UNCLEAN (reported by \(hello.node)): fencing it first"))
      }
      configVersions[hello.node] = hello.configVersion
      if hello.shuttingDown { shuttingDown.insert(hello.node) } else { shuttingDown.remove(hello.node) }
      // A node is the authority on its own resources — not on its fail counts, which every member
      // keeps for it (Pacemaker keeps them in its attribute manager on every node): a restarted
      // swpacemakerd says hello with none and must not wipe them. They go when the node leaves.
      var held: [String: ResourceNodeState] = [:]
      for (resource, _) in state.resources {
        held[resource] = state.resources[resource]?[hello.node]
        state.resources[resource]?[hello.node] = nil
      }
      for (resource, nodeState) in hello.resources {
        state.resources[resource, default: [:]][hello.node] = nodeState
      }
      mergeHeldFailures(
        node: hello.node, counts: held.mapValues(\.failCounts).filter { !$0.value.isEmpty },
        lastFailure: held.compactMapValues(\.lastFailure))
      if let handed = hello.heldFailures, members.contains(handed.node) {
        mergeHeldFailures(node: handed.node, counts: handed.counts, lastFailure: handed.lastFailure)
      }
      for (resource, spec) in hello.specs ?? [:] where specs[resource] == nil { specs[resource] = spec }
      setMembership(hello.node, hello.shuttingDown ? .shuttingDown : .online)
      adoptHelloAttributes(hello)
      out += publishConfigIfNewest()
      abortTransition(reason: "node \(hello.node) joined")
    case .configPublish(let publish):
      // A change is valid only in the view its DC accepted it in (the DC checked that view's members'
      // versions): delivered in a later one (it waited in swcorosync's queue across a view change),
      // another change may already have been accepted from the same base.
      let stale =
        publish.requestId != nil && position != nil && publish.config?.version.acceptedIn != nil
        && publish.config?.version.acceptedIn != position?.view
      if stale {
        out.append(
          .log(
            level: .warning,
            "ignoring configuration \(publish.config?.version.description ?? "?") accepted in view \(publish.config?.version.acceptedIn?.description ?? "?"), delivered in \(position?.view.description ?? "?")"
          ))
      } else if let new = publish.config, new.version > config.version {
        let onlyAgentData = Self.differsOnlyInAgentData(config, new)
        config = new
        lastChange = now
        out.append(.persist(new))
        out.append(.log(level: .notice, "configuration \(new.version) adopted"))
        if onlyAgentData { replanNeeded = true } else { abortTransition(reason: "configuration changed") }
      }
      if let requestId = publish.requestId, publish.origin == me,
        let token = pendingRequests.removeValue(forKey: requestId)
      {
        // Acknowledged only if this very configuration is now in force here, and once every member
        // of the view holds it.
        let adopted = !stale && publish.error == nil && publish.config == config
        if adopted, let position {
          awaitingStable.append((position, token))
        } else {
          out.append(
            .reply(
              token: token,
              ManagerResponse(
                ok: adopted,
                error: publish.error ?? (adopted ? nil : "the configuration changed meanwhile; retry"))))
        }
      }
    case .configChange(let change):
      guard isDC else { break }
      if !quorate {
        // An inquorate partition's change would be lost (or, at the same version, diverge) when
        // the partitions merge: refuse it, as Pacemaker's CIB refuses writes without quorum.
        out.append(
          .broadcast(
            .configPublish(
              ConfigPublish(
                config: nil, requestId: change.requestId, origin: change.origin,
                error: "this partition has no quorum: the configuration cannot be changed"))))
      } else if !members.allSatisfy({ configVersions[$0] != nil })
        || configVersions.values.contains(where: { $0 > config.version })
      {
        // Not every member's version is known yet (a partition merged, a node restarted): a newer
        // configuration may be about to win, and a change based on this one would then vanish.
        out.append(
          .broadcast(
            .configPublish(
              ConfigPublish(
                config: nil, requestId: change.requestId, origin: change.origin,
                error: "the cluster is still agreeing on its configuration; retry"))))
      } else if change.baseVersion == config.version && (publishing ?? config.version) <= config.version {
        // A change is accepted only once the previous one published here is adopted: two changes on
        // the same base would both become epoch+1, and the second would be acknowledged but ignored.
        var new = change.config
        new.version = ConfigVersion(
          adminEpoch: max(config.version.adminEpoch, new.version.adminEpoch), epoch: config.version.epoch + 1,
          numUpdates: 0, acceptedIn: position?.view)
        publishing = new.version
        out.append(
          .broadcast(
            .configPublish(ConfigPublish(config: new, requestId: change.requestId, origin: change.origin))))
      } else {
        out.append(
          .broadcast(
            .configPublish(
              ConfigPublish(
                config: nil, requestId: change.requestId, origin: change.origin,
                error:
                  "the configuration changed meanwhile (now \(config.version), edited \(change.baseVersion)); retry"
              ))))
      }
    case .actionRequest(let request):
      // Only the current DC's requests count, as in Pacemaker's controller: a request submitted
      // before a view change and ordered after it (no DC yet, or another one) is stale.
      guard origin == dc else {
        out.append(
          .log(
            level: .info,
            "ignoring a stale request from \(origin): \(request.spec.resource) \(request.spec.key)"))
        break
      }
      // record-pending, on every replica: a start in flight counts as started when planning, so a
      // DC that re-plans before the result (after a view change, or a new DC) never starts it twice.
      if request.spec.intervalMs == 0 && request.spec.action != "monitor" && request.spec.action != "notify" {
        adoptAliases(request.spec.resource, node: request.node)
        state.resources[request.spec.resource, default: [:]][
          request.node, default: ResourceNodeState(role: .unknown)
        ]
        .pending = request.spec.key
      }
      if request.node == me {
        if !quorate && ["start", "promote"].contains(request.spec.action)
          && (config.properties["no-quorum-policy"] ?? "stop") != "ignore"
        {
          // Requested before this node lost quorum (its view was left behind, or the request was
          // ordered late): the quorate partition may already run the resource elsewhere.
          out.append(
            .log(
              level: .warning,
              "not running \(request.spec.resource) \(request.spec.key): this node has no quorum"))
          out += operationCompleted(
            request, rc: 1, status: Self.refusedStatus, durationMs: 0, output: "this node has no quorum",
            now: now)
        } else {
          out.append(.execute(request))
        }
      }
    case .actionResult(let result):
      if result.node == me, let i = undeliveredResults.firstIndex(of: result) {
        undeliveredResults.remove(at: i)
      }
      out += apply(result, now: now)
    case .nodeAttribute(let update):
      out += applyNodeAttribute(update)
    case .cleanup(let cleanup):
      for (resource, nodes) in state.resources where cleanup.resource == nil || cleanup.resource == resource {
        for (node, var nodeState) in nodes where cleanup.node == nil || cleanup.node == node {
          nodeState.failCounts = [:]
          nodeState.failed = false
          nodeState.stopFailed = false
          nodeState.lastFailure = nil
          nodeState.failedOperation = nil
          nodeState.onFail = nil
          nodeState.hardError = false
          nodeState.fatalError = false
          nodeState.blocked = false
          // Re-discover the real state (Pacemaker's cleanup also re-probes).
          if nodeState.role == .started && !nodeState.activeMonitors.isEmpty && cleanup.refresh != true {
            state.resources[resource]?[node] = nodeState
          } else {
            nodeState.role = .unknown
            state.resources[resource]?[node] = nodeState
          }
        }
      }
      recentFailures.removeAll { cleanup.resource == nil || $0.spec.resource == cleanup.resource }
      if cleanup.resource == nil
        || FencingPolicy.allDevices(config).contains(where: { $0.id == cleanup.resource })
      {
        fencer.failures = [:]
      }
      out.append(
        .log(
          level: .notice,
          "cleanup of \(cleanup.resource ?? "all resources")\(cleanup.node.map { " on \($0)" } ?? "")"))
      abortTransition(reason: "cleanup")
    case .shutdown(let node):
      shuttingDown.insert(node)
      setMembership(node, .shuttingDown)
      abortTransition(reason: "node \(node) is shutting down")
    case .fenceRequest, .fenceResult, .fenceConfirm, .fenceCommand:
      out += receivedFencing(message, now: now)
    }
    return out + schedule(now: now)
  }

  /// A local action finished.
  public mutating func operationCompleted(
    _ request: ActionRequest, rc: Int, status: String, durationMs: Int, output: String, now: Int64
  ) -> [ControllerDirective] {
    let result = ActionResult(
      transition: request.transition, index: request.index, node: me, spec: request.spec, rc: rc,
      status: status,
      durationMs: durationMs, output: String(output.suffix(2048)), at: now / 1000, dc: request.dc)
    undeliveredResults.append(result)
    return [.broadcast(.actionResult(result))] + completedAlone(request)
  }

  /// A recurring monitor (or systemd's own notification) found the resource failed here.
  public mutating func recurringFailed(_ spec: ActionSpec, rc: Int, output: String, now: Int64)
    -> [ControllerDirective]
  {
    let result = ActionResult(
      transition: -1, index: -1, node: me, spec: spec, rc: rc, status: "done", durationMs: 0,
      output: String(output.suffix(2048)), at: now / 1000)
    undeliveredResults.append(result)
    return [.broadcast(.actionResult(result))]
  }

  public mutating func clientRequest(token: Int, _ request: ManagerRequest, now: Int64)
    -> [ControllerDirective]
  {
    switch request.op {
    case .status:
      return [.reply(token: token, ManagerResponse(ok: true, status: snapshot()))]
    case .replaceConfig:
      guard let new = request.config, let base = request.baseVersion else {
        return [
          .reply(
            token: token, ManagerResponse(ok: false, error: "replace-config needs config and baseVersion"))
        ]
      }
      guard connected, dc != nil else {
        return [
          .reply(
            token: token,
            ManagerResponse(
              ok: false, error: "no designated coordinator yet: the cluster has not formed on this node"))
        ]
      }
      requestCounter += 1
      let requestId = "\(me)-\(now)-\(requestCounter)"
      pendingRequests[requestId] = token
      return [
        .broadcast(
          .configChange(ConfigChange(requestId: requestId, origin: me, baseVersion: base, config: new)))
      ]
    case .setAttribute:
      return setAttributeRequest(token: token, request)
    case .cleanup:
      guard connected else {
        return [.reply(token: token, ManagerResponse(ok: false, error: "not connected to swcorosync"))]
      }
      return [
        .broadcast(
          .cleanup(
            Cleanup(
              resource: request.resource, node: request.node,
              refresh: request.action == "refresh" ? true : nil))),
        .reply(token: token, ManagerResponse(ok: true)),
      ]
    case .fence, .fenceConfirm:
      return fencingClientRequest(token: token, request, now: now)
    case .metrics:
      return [.reply(token: token, ManagerResponse(ok: false, error: "metrics are answered by swpacemakerd"))]
    }
  }

  /// Periodic: lets the DC re-plan when idle (failure-timeout expiry, join wait over).
  public mutating func tick(now: Int64) -> [ControllerDirective] {
    if running == nil { replanNeeded = true }
    return schedule(now: now)
  }

  /// This node's resource manager is stopping: ask the DC to move everything away.
  public mutating func beginShutdown(now: Int64) -> [ControllerDirective] {
    shuttingDown.insert(me)
    return [.broadcast(.shutdown(node: me))]
  }

  /// Resources this node still runs (for a clean shutdown).
  public var localActiveResources: [String] {
    state.resources.compactMap { resource, nodes in
      guard let s = nodes[me], s.role != .stopped, s.role != .unknown else { return nil }
      return resource
    }.sorted()
  }

  // MARK: - Replicated state

  var fencingEnabled: Bool {
    let value = config.properties["stonith-enabled"] ?? config.properties["fencing-enabled"] ?? "true"
    return ["true", "yes", "on", "1", "y"].contains(value.lowercased())
  }

  func hasActiveResources(_ node: String) -> Bool {
    state.resources.values.contains { nodes in
      guard let s = nodes[node] else { return false }
      return s.role != .stopped && s.role != .unknown
    }
  }

  mutating func clearNode(_ node: String) {
    for resource in state.resources.keys { state.resources[resource]?[node] = nil }
    recentFailures.removeAll { $0.node == node }
    setMembership(node, .offline)
    clearTransientAttributes(node)
  }

  /// Sets a node's membership; a node whose membership is set explicitly is no longer pending.
  mutating func setMembership(_ node: String, _ membership: NodeState.Membership) {
    if let i = state.nodes.firstIndex(where: { $0.name == node }) {
      state.nodes[i].membership = membership
      state.nodes[i].pending = false
    } else {
      state.nodes.append(NodeState(name: node, membership: membership))
    }
  }

  mutating func markPending(_ node: String) {
    if let i = state.nodes.firstIndex(where: { $0.name == node }) { state.nodes[i].pending = true }
  }

  /// Keeps the higher of each fail count (and the later failure time) for `node`'s `resource`.
  mutating func mergeFailures(node: String, resource: String, counts: [String: Int], lastFailure: Int64?) {
    guard !counts.isEmpty else { return }
    var s = state.resources[resource]?[node] ?? ResourceNodeState(role: .unknown)
    for (key, count) in counts where count > s.failCounts[key] ?? 0 { s.failCounts[key] = count }
    if let lastFailure, lastFailure > s.lastFailure ?? .min { s.lastFailure = lastFailure }
    state.resources[resource, default: [:]][node] = s
  }

  /// Fail counts held for `node` (by resource key) that a hello must not lower, merged into its
  /// records. An anonymous clone's instance numbers on one node are one agent instance: the counts
  /// held under `db:2` go to the record the node itself names `db:0` (added up over the numbers held,
  /// as `InstanceAlias.adoptInstances` does), not to a second record beside it — that one counted the
  /// same failures twice, and an agent instance reached its migration-threshold on one failure.
  mutating func mergeHeldFailures(
    node: String, counts: [String: [String: Int]], lastFailure: [String: Int64]
  ) {
    var byRecord: [String: (counts: [String: Int], lastFailure: Int64?)] = [:]
    for (resource, held) in counts.sorted(by: { $0.key < $1.key }) {
      let record = recordOfSameAgentInstance(resource, node: node) ?? resource
      var merged = byRecord[record] ?? ([:], nil)
      merged.counts.merge(held) { min($0 + $1, Score.infinityValue) }
      merged.lastFailure = [merged.lastFailure, lastFailure[resource]].compactMap { $0 }.max()
      byRecord[record] = merged
    }
    for (record, entry) in byRecord.sorted(by: { $0.key < $1.key }) {
      mergeFailures(node: node, resource: record, counts: entry.counts, lastFailure: entry.lastFailure)
    }
  }

  /// For an anonymous clone's instance `key`, the key of the record `node` already has for the same
  /// agent instance under another instance number (nil if none, or for a globally unique clone).
  func recordOfSameAgentInstance(_ key: String, node: String) -> String? {
    guard key.contains(":"), state.resources[key]?[node] == nil,
      let owner = clone(containing: String(InstanceAlias.base(key))),
      !owner.isGloballyUnique(resourceDefaults: config.resourceDefaults)
    else { return nil }
    return state.resources.keys.filter {
      $0.contains(":") && InstanceAlias.base($0) == InstanceAlias.base(key)
        && state.resources[$0]?[node] != nil
    }.min()
  }

  /// The fail counts this replica holds for `node` (for a hello answering its restarted controller).
  func heldFailures(of node: String) -> HeldFailures? {
    var counts: [String: [String: Int]] = [:]
    var last: [String: Int64] = [:]
    for (resource, byNode) in state.resources {
      guard let s = byNode[node], !s.failCounts.isEmpty else { continue }
      counts[resource] = s.failCounts
      if let t = s.lastFailure { last[resource] = t }
    }
    return counts.isEmpty ? nil : HeldFailures(node: node, counts: counts, lastFailure: last)
  }

  func makeHello(handingBackTo joiner: String? = nil) -> Hello {
    var projected = self
    for result in undeliveredResults { _ = projected.apply(result, now: 0) }
    var mine: [String: ResourceNodeState] = [:]
    for (resource, nodes) in projected.state.resources { if let s = nodes[me] { mine[resource] = s } }
    return Hello(
      node: me, configVersion: config.version, resources: mine, shuttingDown: shuttingDown.contains(me),
      specs: specs.filter { mine[$0.key] != nil }, fenceHistory: fencer.history, unclean: uncleanNodes(),
      seen: fencer.seen.union(fencer.fencedAt.keys).sorted(),
      attributes: state.nodes.first { $0.name == me }?.transientAttributes ?? [:],
      heldFailures: joiner.flatMap { heldFailures(of: $0) }, since: settings.startedAtMs)
  }

  /// Non-members this replica holds UNCLEAN, with their resources (carried in hellos).
  func uncleanNodes() -> [String: [String: ResourceNodeState]]? {
    var out: [String: [String: ResourceNodeState]] = [:]
    for node in state.nodes where node.membership == .unclean && !members.contains(node.name) {
      var resources: [String: ResourceNodeState] = [:]
      for (resource, byNode) in state.resources { if let s = byNode[node.name] { resources[resource] = s } }
      out[node.name] = resources
    }
    return out.isEmpty ? nil : out
  }

  /// When views merge, the member holding the highest configuration version publishes it.
  mutating func publishConfigIfNewest() -> [ControllerDirective] {
    guard members.allSatisfy({ configVersions[$0] != nil }) else { return [] }
    let newest = members.max { a, b in
      let va = configVersions[a]!
      let vb = configVersions[b]!
      return va != vb ? va < vb : id(a) > id(b)
    }
    guard newest == me, members.contains(where: { configVersions[$0]! < config.version }) else { return [] }
    return [.broadcast(.configPublish(ConfigPublish(config: config)))]
  }

  mutating func apply(_ result: ActionResult, now: Int64) -> [ControllerDirective] {
    var out: [ControllerDirective] = []
    let spec = result.spec
    specs[spec.resource] = spec
    // A cloned primitive's history, or an uncloned instance's, becomes this key's (one record per agent
    // instance and node).
    if spec.action != "notify" { adoptAliases(spec.resource, node: result.node) }
    var s = state.resources[spec.resource]?[result.node] ?? ResourceNodeState(role: .unknown)
    if s.pending == spec.key { s.pending = nil }
    if result.status == Self.refusedStatus {
      // Never run: nothing changed on that node, but the plan did not happen.
      state.resources[spec.resource, default: [:]][result.node] = s
      if isDC, var run = running, isOwn(result, run) {
        run.completed.insert(result.index)
        run.aborted = true
        running = run
      } else if isDC {
        abortTransition(reason: "\(spec.resource) \(spec.key) was refused on \(result.node)")
      }
      return out
    }
    let ok = result.status == "done"
    var failure = false
    switch (spec.action, spec.intervalMs) {
    case ("monitor", 0):
      switch result.rc {
      case 0 where ok: s.role = .started
      case 7 where ok:
        s.role = .stopped
        s.definition = nil
      case 8 where ok: s.role = .promoted
      case 9 where ok:
        // Running promoted, but failed.
        s.role = .promoted
        failure = true
      default:
        s.role = .started
        failure = true
      }
    case ("start", _):
      if ok && result.rc == 0 {
        s.role = .started
        s.failed = false
        s.failedOperation = nil
        Self.clearRecoveredFailure(&s)
        s.definition = ResourceDefinition.digest(agent: spec.agent, attributes: spec.attributes)
      } else {
        s.role = .started
        failure = true
      }
    case ("stop", _):
      if ok && (result.rc == 0 || result.rc == 7) {
        s.role = .stopped
        s.failed = false
        s.stopFailed = false
        // Nothing is left to block: a stop queued behind one that timed out (on-fail=block without
        // fencing) stopped it after all. As Pacemaker, a later success ends a `block` handling.
        s.blocked = false
        Self.clearRecoveredFailure(&s)
        s.activeMonitors = []
        s.definition = nil
      } else {
        s.stopFailed = true
        failure = true
      }
    case ("promote", _), ("demote", _):
      // The executor cancels the old role's monitors before a role change.
      s.activeMonitors = []
      if ok && result.rc == 0 {
        s.role = spec.action == "promote" ? .promoted : .unpromoted
        if spec.action == "promote" { Self.clearRecoveredFailure(&s) }
      } else {
        failure = true
        // As Pacemaker reads a failed role change: a failed promote may have promoted; a failed
        // demote leaves the instance unpromoted (staying Promoted would demote it forever), or, when
        // the agent said it is not running, active only to be stopped — unless on-fail=block.
        if spec.action == "promote" {
          s.role = .promoted
        } else if onFail(for: spec) == "block" {
          s.role = .promoted
        } else {
          s.role = ok && result.rc == 7 ? .started : .unpromoted
        }
      }
    case ("monitor", _):
      if ok && monitorSucceeded(spec, rc: result.rc) {
        if !s.activeMonitors.contains(spec.key) { s.activeMonitors.append(spec.key) }
      } else {
        s.activeMonitors.removeAll { $0 == spec.key }
        failure = true
      }
    default:
      break
    }
    if failure {
      s.failed = true
      s.failCounts[spec.key, default: 0] += 1
      s.lastFailure = result.at
      s.failedOperation = spec.key
      s.onFail = onFail(for: spec)
      // Pacemaker's controller, not its scheduler, makes a failed start fatal for the node.
      if spec.action == "start" && isTrue(config.properties["start-failure-is-fatal"] ?? "true") {
        s.failCounts[spec.key] = Score.infinityValue
      }
      // OCF hard errors keep the resource off this node; "not configured" off every node.
      if result.status == "not-installed" || [2, 3, 4, 5].contains(result.rc) { s.hardError = true }
      if result.rc == 6 { s.fatalError = true }
      if spec.action == "stop" && s.onFail == "restart-container" {
        // Inside a container a failed stop counts as done (as Pacemaker): restarting the container
        // stops what runs in it.
        s.role = .stopped
        s.failed = false
        s.stopFailed = false
        s.activeMonitors = []
        s.definition = nil
      } else if s.onFail == "block" || (spec.action == "stop" && !fencingEnabled) {
        s.blocked = true
      }
      recentFailures.append(result)
      if recentFailures.count > 50 { recentFailures.removeFirst(recentFailures.count - 50) }
      out.append(
        .log(
          level: .warning,
          "\(spec.resource) \(spec.key) on \(result.node) failed: rc \(result.rc) (\(result.status))\(result.output.isEmpty ? "" : ": " + result.output.split(separator: "\n").suffix(1).joined())"
        ))
    } else {
      out.append(
        .log(
          level: .debug,
          "\(spec.resource) \(spec.key) on \(result.node): ok (rc \(result.rc), \(result.durationMs) ms)"))
    }
    // A notification changes nothing of the instance: it never creates a record.
    if spec.action != "notify" || state.resources[spec.resource]?[result.node] != nil {
      state.resources[spec.resource, default: [:]][result.node] = s
    }

    // DC bookkeeping.
    if isDC, var run = running, isOwn(result, run) {
      run.completed.insert(result.index)
      if failure || !expected(result) { run.aborted = true }
      running = run
    } else if result.transition == -1 {
      abortTransition(reason: "\(spec.resource) failed on \(result.node)")
    } else if isDC && result.index >= 0 {
      // A result of an earlier transition (or an earlier DC's): the state changed under the plan.
      abortTransition(
        reason: "\(spec.resource) \(spec.key) on \(result.node) finished outside the transition")
    }
    return out
  }

  /// The failed operation's `on-fail`, or Pacemaker's default: for a resource inside a container
  /// (`container` meta attribute) restart the container; otherwise fence for a failed stop when
  /// fencing is enabled (block without), restart for everything else. `restart-container` for a
  /// resource in no container is not valid: the default applies.
  func onFail(for spec: ActionSpec) -> String {
    let inContainer = config.launcher(of: spec.resource) != nil
    let configured =
      primitive(named: spec.resource)?.operations.first {
        $0.name == spec.action && $0.intervalMs == spec.intervalMs
      }?.onFail ?? config.operationDefaults["on-fail"]
    if let configured, inContainer || configured.lowercased() != "restart-container" {
      return configured.lowercased()
    }
    if inContainer { return "restart-container" }
    if spec.action == "stop" { return fencingEnabled ? "fence" : "block" }
    return "restart"
  }

  /// A successful start, stop or promote ends the handling of an earlier failure, except the
  /// handlings that outlive it (`stop`, `ban`/`migrate`, `standby`, `fence`) — as Pacemaker's status
  /// unpacking; a `restart-container` left behind would restart the container again.
  static func clearRecoveredFailure(_ s: inout ResourceNodeState) {
    guard let handling = s.onFail?.lowercased() else { return }
    if !["stop", "ban", "migrate", "standby", "fence"].contains(handling) { s.onFail = nil }
  }

  /// This controller as the DC that asks for actions (`ActionRequest.dc`).
  var dcKey: String { "\(me)@\(settings.startedAtMs)" }

  /// Whether `result` answers an action of the running transition (not one of an earlier DC's
  /// transition with the same number).
  func isOwn(_ result: ActionResult, _ run: RunningTransition) -> Bool {
    result.transition == run.id && result.index >= 0 && (result.dc == nil || result.dc == dcKey)
  }

  /// The status of an action a node refused to run because it had no quorum.
  static let refusedStatus = "refused-no-quorum"

  func isTrue(_ value: String) -> Bool { ["true", "yes", "on", "1", "y"].contains(value.lowercased()) }

  func expected(_ result: ActionResult) -> Bool {
    guard result.status == "done" else { return false }
    if result.spec.action == "monitor" && result.spec.intervalMs == 0 { return result.rc == 7 }
    if result.spec.action == "stop" { return result.rc == 0 || result.rc == 7 }
    if result.spec.action == "monitor" { return monitorSucceeded(result.spec, rc: result.rc) }
    return result.rc == 0
  }

  mutating func abortTransition(reason: String) {
    replanNeeded = true
    if var run = running {
      run.aborted = true
      running = run
    }
  }

  // MARK: - Scheduling (DC)

  mutating func schedule(now: Int64) -> [ControllerDirective] {
    var out = reapFenceOperations(now: now)
    guard connected, isDC, movedOn.isEmpty else {
      running = nil
      return out
    }
    let everyoneJoined = members.allSatisfy { joined.contains($0) }
    if !everyoneJoined && now - viewChangedAt < settings.joinWaitMs { return out }
    if var run = running {
      // Drop actions whose node left: they will never report.
      for (index, action) in run.transition.actions.enumerated()
      where run.dispatched.contains(index) && !run.completed.contains(index) && action.kind != .fence
        && !members.contains(action.node)
      {
        run.completed.insert(index)
        run.aborted = true
      }
      running = run
      let inFlight = run.dispatched.subtracting(run.completed)
      if !run.aborted {
        out += dispatchRunnable()
        if let r = running, r.dispatched.subtracting(r.completed).isEmpty,
          r.completed.count + r.blocked.count >= r.transition.actions.count
            || r.dispatched.count == r.completed.count
        {
          // Done (or nothing more can run): look again.
          running = nil
          replanNeeded = true
        } else {
          return out
        }
      } else if !inFlight.isEmpty {
        return out  // wait for what is running, then re-plan
      } else {
        running = nil
      }
    }
    guard replanNeeded else { return out }
    let startup = startupFencing(now: now)
    out += startup.out
    if startup.wait {
      notes = startup.note.map { [$0] } ?? []
      return out  // still needed: the next tick looks again
    }
    replanNeeded = false
    state.quorate = quorate
    state.now = now / 1000
    // A member that has not said hello in this view (its controller is down, or it missed the view's
    // commit and still acts in an older view) is not known to be stopped: its services may run, and
    // this replica may not even know which (it restarted since). Like Pacemaker's pending node it keeps
    // what is known of it, nothing is started on it, and what it would have to be probed for first
    // is started nowhere until it joins.
    for node in members where !joined.contains(node) {
      setMembership(node, .online)
      markPending(node)
    }
    schedulerRuns += 1
    let transition = Scheduler.schedule(schedulingConfiguration(), state)
    notes = transition.notes
    guard !transition.actions.isEmpty else {
      lastSignature = []
      repeats = 0
      return out
    }
    if transition.actions == lastSignature {
      repeats += 1
      // Then retry every 10th look (about 10 s when idle): what blocked it (a fence device, a
      // service) may work again without any change the controller can see.
      if repeats >= 5 && repeats % 10 != 0 {
        if repeats == 5 {
          out.append(
            .log(
              level: .error,
              "the same transition was planned 5 times without effect; retrying every 10 s or on a change"))
        }
        return out
      }
    } else {
      lastSignature = transition.actions
      repeats = 0
    }
    transitionCounter += 1
    running = RunningTransition(id: transitionCounter, transition: transition)
    out.append(
      .log(
        level: .notice,
        "transition \(transitionCounter): \(transition.summary.isEmpty ? "\(transition.actions.count) action(s)" : transition.summary.joined(separator: "; "))"
      ))
    out += dispatchRunnable()
    return out
  }

  /// Dispatch every action whose predecessors all completed.
  mutating func dispatchRunnable() -> [ControllerDirective] {
    guard var run = running else { return [] }
    var out: [ControllerDirective] = []
    var predecessors: [Int: [Int]] = [:]
    for ordering in run.transition.orderings {
      predecessors[ordering.after, default: []].append(ordering.before)
    }
    for (index, action) in run.transition.actions.enumerated() where !run.dispatched.contains(index) {
      guard (predecessors[index] ?? []).allSatisfy({ run.completed.contains($0) }) else { continue }
      if action.kind == .fence && hasFenceDevice {
        out += dispatchFence(index, action, &run)
        continue
      }
      guard let spec = actionSpec(for: action) else {
        if action.kind == .fence {
          if !run.blocked.contains("fence \(action.node)") {
            run.blocked.append("fence \(action.node)")
            out.append(
              .log(
                level: .error,
                "cannot fence \(action.node): no fencing device is configured; recovery is blocked"))
          }
        } else {
          run.dispatched.insert(index)
          run.completed.insert(index)
        }
        continue
      }
      run.dispatched.insert(index)
      out.append(
        .broadcast(
          .actionRequest(
            ActionRequest(transition: run.id, index: index, node: action.node, spec: spec, dc: dcKey))))
    }
    running = run
    return out
  }

  /// The concrete agent call for a scheduled action, from the configuration.
  func actionSpec(for action: ScheduledAction) -> ActionSpec? {
    guard let resource = action.resource else { return nil }
    let name: String
    var interval = 0
    switch action.kind {
    case .start: name = "start"
    case .stop: name = "stop"
    case .promote: name = "promote"
    case .demote: name = "demote"
    case .probe: name = "monitor"
    case .monitor:
      name = "monitor"
      interval = action.intervalMs
    case .notify: name = "notify"
    case .fence, .clearFailure, .cancel, .reload: return nil
    }
    guard let primitive = primitive(named: resource) else {
      // Removed from the configuration but still active: stop it as it was run.
      guard var known = specs[resource] else { return nil }
      known.action = name
      known.intervalMs = interval
      return known
    }
    let op =
      primitive.operations.first { $0.name == name && $0.intervalMs == interval }
      ?? primitive.operations.first { $0.name == name }
    let timeout = op?.timeoutMs ?? config.operationDefaults["timeout"].flatMap(Self.parseMs) ?? 20_000
    var meta = config.resourceDefaults
    for (k, v) in cloneMeta(for: resource) { meta[k] = v }
    // Pacemaker passes the node an action runs on (agents name their node attributes after it).
    meta["on_node"] = action.node
    for (k, v) in primitive.meta { meta[k] = v }
    if action.kind == .notify {
      // Only OCF agents know the notify action.
      guard primitive.agent.standard == .ocf else { return nil }
      for (k, v) in action.notification?.variables ?? [:] { meta[k] = v }
    }
    return ActionSpec(
      resource: resource, agent: primitive.agent, attributes: primitive.attributes, meta: meta, action: name,
      intervalMs: interval, timeoutMs: timeout)
  }

  /// Looks a primitive up by id, including group members and clone children (`id:N` instances).
  public func primitive(named id: String) -> Primitive? {
    let base = id.split(separator: ":").first.map(String.init) ?? id
    for resource in config.resources {
      switch resource {
      case .primitive(let p) where p.id == base: return p
      case .group(let g):
        if let p = g.members.first(where: { $0.id == base }) { return p }
      case .clone(let c):
        switch c.child {
        case .primitive(let p) where p.id == base: return p
        case .group(let g):
          if let p = g.members.first(where: { $0.id == base }) { return p }
        default: break
        }
      default: break
      }
    }
    return nil
  }

  static func parseMs(_ text: String) -> Int? {
    let t = text.trimmingCharacters(in: " ")
    if let v = Int(t) { return v * 1000 }
    if t.hasSuffix("ms"), let v = Int(t.dropLast(2)) { return v }
    if t.hasSuffix("s"), let v = Int(t.dropLast()) { return v * 1000 }
    if t.hasSuffix("min"), let v = Int(t.dropLast(3)) { return v * 60_000 }
    if t.hasSuffix("m"), let v = Int(t.dropLast()) { return v * 60_000 }
    return nil
  }

  // MARK: - Status

  public func snapshot() -> ManagerStatus {
    var lines: [String] = []
    if let run = running {
      for (index, action) in run.transition.actions.enumerated() {
        let progress =
          run.completed.contains(index) ? "done" : run.dispatched.contains(index) ? "running" : "waiting"
        lines.append("\(action.kind.rawValue) \(action.resource ?? "") on \(action.node): \(progress)")
      }
    }
    return ManagerStatus(
      localNode: me, dc: dc, quorate: quorate, members: members, joined: joined.sorted(), config: config,
      state: state, transition: lines, notes: notes + (running?.blocked ?? []) + fencingNotes,
      recentFailures: recentFailures,
      lastChange: lastChange, connectedToCorosync: connected, fenceHistory: fencer.history)
  }
}

extension String {
  fileprivate func trimmingCharacters(in character: Character) -> String {
    String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
  }
}
