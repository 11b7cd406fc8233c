import ClusterTypes
import Membership
import Quorum
import ResourceManager
import ResourceModel

/// N complete nodes in one process: per node the same `QuorateMembership` (membership + votequorum)
/// swcorosync runs and the same `ControllerInstance` (with the scheduler inside) swpacemakerd runs,
/// wired as the daemons wire them, on a virtual clock over a seeded lossy, partitionable network,
/// with power loss, a simulated service manager and an executor with timeouts.
///
/// Safety invariants are checked after every step; the first violation stops the run with its
/// name, a description and the trace of the last events. Everything random comes from the seed.
public struct WholeClusterSimulation {
  /// A violated invariant: `name` is stable (tests and reports key on it).
  public struct Violation: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var detail: String
    public var atMs: Int64
    public var description: String { "[\(name)] at t=\(Double(atMs) / 1000)s: \(detail)" }
  }

  struct Operation {
    var request: ActionRequest
    var doneAt: Instant
    var rc: Int
    var status: String
    /// What the action does to the service when it finishes.
    var effect: Effect
    enum Effect { case none, startService, stopService, promoteService, demoteService }
  }

  struct FenceAction {
    var request: FenceRequest
    var doneAt: Instant
    var behaviour: FenceDeviceBehaviour
  }

  struct Monitor {
    var spec: ActionSpec
    var nextAt: Instant
    var lastRc: Int
  }

  struct Node {
    let name: String
    let id: NodeId
    // Memory: gone on power loss.
    var membership: QuorateMembership?
    var controller: ControllerInstance?
    var operations: [Operation] = []
    var fencing: [FenceAction] = []
    /// The swcorosync socket between the daemons, one queue per direction: events for
    /// swpacemakerd, group messages for swcorosync. Both daemons work through them in order.
    var toController: [QuorateMembership.Event] = []
    var toCorosync: [[UInt8]] = []
    var monitors: [String: Monitor] = [:]
    var nextControllerTick: Instant = .zero
    // The world: services really running here (they die with the node), keyed by agent instance
    // (`WholeClusterSimulation.service(of:)`: one per node for an anonymous clone's instances).
    var running: Set<String> = []
    /// Running services in the promoted role (promotable agents).
    var promoted: Set<String> = []
    /// The instance whose start brought each running service up (for `clone-single-per-node`).
    var startedAs: [String: String] = [:]
    var hangNext: Set<[String]> = []
    /// A clean shutdown in progress: when swpacemakerd stops waiting for the DC.
    var stoppingUntil: Instant?
    var failNext: Set<[String]> = []
    // Disk.
    var incarnation: UInt64 = 0
    var persistedViewSequence: UInt64 = 0
    var stored: ResourceConfiguration
    // Observations for the invariants.
    var highestConfig = ConfigVersion()
    var ownFailCounts: [String: [String: Int]] = [:]
    var currentView: ViewId?
    var deliveredInView = 0
    var up: Bool { membership != nil }
  }

  struct InFlight {
    var at: Instant
    var order: UInt64
    var from: Int
    var to: Int
    var fromIncarnation: UInt64
    var message: MembershipMessage
  }

  public let scenario: SimulationScenario
  let start = Instant(nanoseconds: 1_000_000_000)
  public private(set) var now: Instant
  var nodes: [Node]
  var inFlight: [InFlight] = []
  var counter: UInt64 = 0
  var network: SeededRandom
  var blocked: Set<[Int]> = []
  var lossPercent = 0
  var duplicatePercent = 0
  var jitterMs = 0
  let delay: Duration = .microseconds(300)
  var nextFault = 0
  var fenceDevice = FenceDeviceBehaviour.works
  /// Nodes a fence device powered off (rebooted ones come back after `rebootTime`).
  var rebootAt: [Int: Instant] = [:]
  /// When the last clean shutdown that could only end by swpacemakerd's 60 s timeout ended: every
  /// resource still active on the node was blocked (its stop failed without fencing), which neither
  /// the DC nor Pacemaker stops (Pacemaker's shutdown waits `shutdown-escalation`, 20 min by default).
  /// The node leaves and comes back then, as after a late fault: convergence is measured from here.
  var blockedShutdownEndedAt: Instant?
  let rebootTime: Duration = .seconds(4)

  /// Group payloads: the daemons send JSON; the simulation sends an id of the message value.
  var messages: [ControllerMessage] = []
  // View agreement bookkeeping.
  var viewMembers: [ViewId: [NodeId]] = [:]
  var canonical: [ViewId: [GroupDelivery]] = [:]
  var flushCounts: [[ViewId]: Int] = [:]
  // Config bookkeeping.
  var acknowledged: [Int: String] = [:]
  var editTokens: [Int: Int] = [:]
  // Single-active bookkeeping: resource → since when it runs on two powered nodes.
  var doubleActiveSince: [String: Instant] = [:]
  // clone-max / promoted-max bookkeeping: invariant and clone → since when it is over its limit.
  var overLimitSince: [String: Instant] = [:]
  /// clone-max of the anonymous clone while orphans of a lowered value may still stop: (limit, until).
  var cloneLimitRelaxed: (limit: Int, until: Instant)?
  var lastCloneLimit: Int?
  /// Whether clone-max was ever lowered (its orphans' failed stops then leave instances running).
  var cloneMaxLowered = false
  public var singleActiveGrace: Duration

  public private(set) var violation: Violation?
  public private(set) var trace: [String] = []
  public var traceLimit = 120
  /// For triage: log the replicas' records whenever a DC plans a transition (`sim --dump-state`).
  public var dumpStateOnTransitions = false
  /// With `dumpStateOnTransitions`: what each DC planned from (its configuration and state), for
  /// replaying a plan in `Scheduler.schedule` (`sim --dump-state` writes them as JSON).
  public private(set) var planInputs: [(line: String, config: ResourceConfiguration, state: ClusterState)] =
    []
  /// Whether the run converged after the faults, and when (ms after the fault window).
  public private(set) var convergedAfterMs: Int64?

  let heartbeat: Duration = .milliseconds(200)
  let failureTimeout: Duration = .milliseconds(1000)

  public init(scenario: SimulationScenario) {
    self.scenario = scenario
    now = start
    network = SeededRandom(seed: scenario.seed)
    // With fencing, a node is live until it is fenced (powered off): no grace at all.
    singleActiveGrace = scenario.fencing ? .zero : failureTimeout * 2 + .seconds(3)
    var config = ResourceConfiguration(version: ConfigVersion(epoch: 1))
    config.properties["stonith-enabled"] = scenario.fencing ? "true" : "false"
    if scenario.fencing {
      config.properties["fencing-timeout"] = "5s"
      config.resources.append(
        .primitive(
          Primitive(
            id: "power-switch", agent: AgentSpec(standard: .stonith, type: "fence_sim"),
            attributes: [
              Attribute("pcmk_host_list", (1...scenario.nodeCount).map { "n\($0)" }.joined(separator: " ")),
              Attribute("pcmk_delay_max", "2s"),
            ])))
    }
    config.properties["no-quorum-policy"] = "stop"
    if let t = scenario.migrationThreshold { config.resourceDefaults["migration-threshold"] = "\(t)" }
    for r in scenario.resources {
      let agent =
        r.hasPrefix("svc")
        ? AgentSpec(standard: .systemd, type: r)
        : AgentSpec(standard: .ocf, provider: "heartbeat", type: "Dummy")
      config.resources.append(
        .primitive(
          Primitive(
            id: r, agent: agent,
            operations: [
              OperationSpec(id: "\(r)-monitor", name: "monitor", intervalMs: 2000, timeoutMs: 5000),
              OperationSpec(id: "\(r)-start", name: "start", timeoutMs: 4000),
              OperationSpec(id: "\(r)-stop", name: "stop", timeoutMs: 4000),
            ])))
      if let n = scenario.preferences[r] {
        config.constraints.locations.append(
          LocationConstraint(id: "prefer-\(r)", resource: r, node: "n\(n)", score: Score(100)))
      }
    }
    scenario.composites?.add(to: &config)
    nodes = (1...scenario.nodeCount).map { i in
      Node(name: "n\(i)", id: NodeId(UInt32(i)), stored: config, highestConfig: config.version)
    }
    for i in nodes.indices { powerOn(i) }
  }

  var nodeIds: [String: UInt32] {
    Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, $0.id.rawValue) })
  }
  var elapsedMs: Int64 { (now - start).milliseconds }
  var wallMs: Int64 { 1_700_000_000_000 + elapsedMs }

  mutating func log(_ line: String) {
    trace.append("t=\(format3(elapsedMs))s " + line)
    if trace.count > traceLimit * 2 { trace.removeFirst(trace.count - traceLimit) }
  }

  mutating func fail(_ name: String, _ detail: String) {
    guard violation == nil else { return }
    violation = Violation(name: name, detail: detail, atMs: elapsedMs)
    log("VIOLATION [\(name)] \(detail)")
    logReplicaRecords()
  }

  /// For triage: what each live replica's DC records (active or failed records only, and transient
  /// attributes), and what really runs.
  mutating func logReplicaRecords(only: Int? = nil) {
    for i in nodes.indices where only == nil || only == i {
      guard let c = nodes[i].controller else { continue }
      var lines: [String] = []
      for (resource, byNode) in c.state.resources.sorted(by: { $0.key < $1.key }) {
        for (node, s) in byNode.sorted(by: { $0.key < $1.key })
        where s.role != .stopped || s.failed || s.pending != nil || !s.failCounts.isEmpty {
          var flags = [s.role.rawValue]
          if s.failed { flags.append("failed \(s.failedOperation ?? "")") }
          if s.stopFailed { flags.append("stop failed") }
          if s.blocked { flags.append("blocked") }
          if let p = s.pending { flags.append("pending \(p)") }
          if !s.failCounts.isEmpty { flags.append("fail counts \(s.failCounts.sorted { $0.key < $1.key })") }
          lines.append("\(resource)@\(node) \(flags.joined(separator: ", "))")
        }
      }
      let attributes = c.state.nodes.compactMap { n in
        n.transientAttributes.isEmpty ? nil : "\(n.name) \(n.transientAttributes.sorted { $0.key < $1.key })"
      }
      log(
        "\(nodes[i].name) replica (DC \(c.dc ?? "none")): \(lines.joined(separator: "; ")); attributes \(attributes)"
      )
      log("\(nodes[i].name) runs \(nodes[i].running.sorted()) promoted \(nodes[i].promoted.sorted())")
    }
  }

  // MARK: - Nodes

  mutating func powerOn(_ i: Int) {
    guard nodes[i].membership == nil else { return }
    nodes[i].incarnation += 1
    let settings = MembershipSettings(
      localNode: nodes[i].id, nodes: nodes.map(\.id), linkCount: 1, heartbeatInterval: heartbeat,
      failureTimeout: failureTimeout)
    let instance = MembershipInstance(
      settings: settings, incarnation: nodes[i].incarnation,
      persistedViewSequence: nodes[i].persistedViewSequence, now: now)
    let quorum = try! VoteQuorum(
      nodes: Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, 1) }),
      options: QuorumOptions(
        waitForAll: scenario.lastManStanding ? true : nil, lastManStanding: scenario.lastManStanding,
        lastManStandingWindow: .seconds(10)))
    nodes[i].membership = QuorateMembership(instance: instance, quorum: quorum)
    startController(i)
    nodes[i].currentView = nil
    log(
      "power on \(nodes[i].name) (incarnation \(nodes[i].incarnation), configuration \(nodes[i].stored.version))"
    )
  }

  /// swpacemakerd starts from the configuration on disk, knowing nothing of the cluster's state.
  mutating func startController(_ i: Int) {
    let config = nodes[i].stored
    if config.version < nodes[i].highestConfig {
      fail(
        "config-monotonic",
        "\(nodes[i].name) restarted with configuration \(config.version) below \(nodes[i].highestConfig) it held"
      )
    }
    nodes[i].controller = ControllerInstance(
      settings: ControllerSettings(localNode: nodes[i].name, nodeIds: nodeIds, startedAtMs: wallMs),
      config: config)
    nodes[i].nextControllerTick = now + .milliseconds(1000 + Int64(i) * 137)
    nodes[i].ownFailCounts = [:]
  }

  /// A clean stop, as `ResourceManagerDaemon.beginShutdown` then `CorosyncDaemon.shutdown` do it.
  mutating func beginShutdown(_ i: Int) {
    guard nodes[i].up, nodes[i].stoppingUntil == nil else { return }
    guard let controller = nodes[i].controller, controller.dc != nil else {
      finishShutdown(i, stopLocally: "no cluster to hand resources to")
      return
    }
    nodes[i].stoppingUntil = now + .seconds(60)
    controllerInput(i) { c, now in c.beginShutdown(now: now) }
  }

  /// After every event: a stopping swpacemakerd exits once it runs nothing (or it gave up waiting).
  mutating func checkShutdownProgress() {
    for i in nodes.indices {
      guard let until = nodes[i].stoppingUntil else { continue }
      if nodes[i].controller?.localActiveResources.isEmpty ?? true {
        finishShutdown(i, stopLocally: nil)
      } else if now >= until {
        if let c = nodes[i].controller,
          c.localActiveResources.allSatisfy({ key in
            c.state.resources[key]?[nodes[i].name].map { $0.blocked || $0.stopFailed } ?? false
          })
        {
          blockedShutdownEndedAt = now
          log(
            "\(nodes[i].name)'s shutdown waited its 60 s: what is left there is blocked (\(c.localActiveResources.joined(separator: " "))); convergence counts from now"
          )
        }
        finishShutdown(i, stopLocally: "timed out waiting for the DC")
      }
    }
  }

  /// swpacemakerd exits (stopping what still runs here itself, if `stopLocally`), then swcorosync
  /// announces its leave on every link, twice, and the node is off.
  mutating func finishShutdown(_ i: Int, stopLocally reason: String?) {
    nodes[i].stoppingUntil = nil
    if let reason, !nodes[i].running.isEmpty {
      log("\(nodes[i].name) stops \(nodes[i].running.sorted().joined(separator: " ")) locally: \(reason)")
      nodes[i].running = []
      nodes[i].promoted = []
    }
    nodes[i].controller = nil
    if var membership = nodes[i].membership.take() {
      let events = membership.leave(now: now)
      nodes[i].membership = membership
      membershipEvents(i, events + events)
    }
    powerOff(i)
    // After the fault window every node must come back (a shutdown that began in it ends late).
    if now >= start + .milliseconds(scenario.faultWindowMs) { rebootAt[i] = now + rebootTime }
  }

  /// swpacemakerd alone dies: its executor's actions and monitors go with it, what it had not yet
  /// handed to swcorosync is lost; the services it started keep running.
  mutating func controllerCrash(_ i: Int) {
    guard nodes[i].up, nodes[i].controller != nil else { return }
    nodes[i].controller = nil
    nodes[i].operations = []
    nodes[i].monitors = [:]
    nodes[i].toController = []
    nodes[i].toCorosync = []
  }

  /// systemd restarts swpacemakerd: it subscribes to swcorosync, whose answer is the current view
  /// (`ResourceManagerDaemon.corosyncLine`).
  mutating func controllerRestart(_ i: Int) {
    guard nodes[i].up, nodes[i].controller == nil else { return }
    startController(i)
    guard let membership = nodes[i].membership, let view = membership.instance.installed else { return }
    let members = view.memberIds.map { "n\($0)" }
    let quorate = membership.effectiveQuorum.quorate
    controllerInput(i) { c, now in c.attached(members: members, quorate: quorate, now: now) }
  }

  mutating func powerOff(_ i: Int) {
    nodes[i].membership = nil
    nodes[i].controller = nil
    nodes[i].operations = []
    nodes[i].fencing = []
    nodes[i].toController = []
    nodes[i].toCorosync = []
    nodes[i].monitors = [:]
    nodes[i].running = []
    nodes[i].promoted = []
    nodes[i].hangNext = []
    nodes[i].failNext = []
    nodes[i].stoppingUntil = nil
    log("power off \(nodes[i].name)")
  }

  // MARK: - Faults

  mutating func inject(_ fault: SimulatedFault) {
    log("FAULT \(fault)")
    switch fault {
    case .partition(let groups):
      blocked = []
      for a in 1...nodes.count {
        for b in 1...nodes.count where a != b {
          if !groups.contains(where: { $0.contains(a) && $0.contains(b) }) { blocked.insert([a, b]) }
        }
      }
    case .block(let a, let b): blocked.insert([a, b])
    case .heal: blocked = []
    case .loss(let p): lossPercent = p
    case .duplicate(let p): duplicatePercent = p
    case .jitter(let ms): jitterMs = ms
    case .crash(let n): if nodes[n - 1].up { powerOff(n - 1) }
    case .restart(let n): powerOn(n - 1)
    case .controllerCrash(let n): controllerCrash(n - 1)
    case .shutdown(let n): beginShutdown(n - 1)
    case .controllerRestart(let n): controllerRestart(n - 1)
    case .serviceDies(let r, let n):
      guard nodes[n - 1].running.contains(r) else { return }
      nodes[n - 1].running.remove(r)
      // A promoted instance that dies is a failed promoted instance (its monitor finds it stopped).
      nodes[n - 1].promoted.remove(r)
      // systemd's PropertiesChanged reports a unit failure at once; OCF waits for the monitor.
      if SimulationScenario.isSystemdUnit(r),
        let (key, monitor) = nodes[n - 1].monitors.sorted(by: { $0.key < $1.key })
          .first(where: { Self.service(of: $0.value.spec) == r })
      {
        nodes[n - 1].monitors[key] = nil
        controllerInput(n - 1) { c, now in
          c.recurringFailed(monitor.spec, rc: 7, output: "unit failed", now: now)
        }
      }
    case .hangNext(let a, let r, let n): nodes[n - 1].hangNext.insert([a, r])
    case .failNext(let a, let r, let n): nodes[n - 1].failNext.insert([a, r])
    case .configEdit(let n, let k):
      guard let controller = nodes[n - 1].controller else { return }
      var config = controller.config
      config.properties["sim-edit-\(k)"] = "\(k)"
      if let r = scenario.resources.first, config.constraints.locations.count < 8 {
        config.constraints.locations.append(
          LocationConstraint(
            id: "edit-\(k)", resource: scenario.resources[k % scenario.resources.count],
            node: "n\(1 + k % nodes.count)", score: Score(k % 3 == 0 ? 200 : 10)))
        _ = r
      }
      editTokens[k] = n
      controllerInput(n - 1) { c, now in
        c.clientRequest(
          token: k,
          ManagerRequest(op: .replaceConfig, config: config, baseVersion: controller.config.version),
          now: now)
      }
    case .fenceDevice(let behaviour): fenceDevice = behaviour
    case .cloneMaxEdit(let n, let cloneMax):
      guard let controller = nodes[n - 1].controller else { return }
      var config = controller.config
      for (index, resource) in config.resources.enumerated() {
        guard case .clone(var clone) = resource, clone.id == SimulatedComposites.cloneId else { continue }
        clone.meta["clone-max"] = "\(cloneMax)"
        config.resources[index] = .clone(clone)
      }
      controllerInput(n - 1) { c, now in
        c.clientRequest(
          token: 0,
          ManagerRequest(op: .replaceConfig, config: config, baseVersion: controller.config.version),
          now: now)
      }
    case .cleanup(let n, let r):
      controllerInput(n - 1) { c, now in
        c.clientRequest(token: 0, ManagerRequest(op: .cleanup, resource: r), now: now)
      }
    }
  }

  /// The end of the fault window: the network heals and every node is powered on.
  mutating func endFaults() {
    log("faults end: heal, no loss, every node powered on")
    blocked = []
    lossPercent = 0
    duplicatePercent = 0
    jitterMs = 0
    fenceDevice = .works
    for i in nodes.indices {
      // swpacemakerd that stopped after being fenced while running: the node is power-cycled.
      if nodes[i].up && nodes[i].controller == nil { powerOff(i) }
      nodes[i].hangNext = []
      nodes[i].failNext = []
      powerOn(i)
    }
  }

  // MARK: - Wiring (as the daemons do it)

  /// swcorosync's events, carried out as `CorosyncDaemon.carryOut` and swpacemakerd's
  /// `corosyncLine` do.
  mutating func membershipEvents(_ i: Int, _ events: [QuorateMembership.Event]) {
    for event in events {
      switch event {
      case .send(let message, let to, _):
        enqueue(message, from: i, to: Int(to.rawValue) - 1)
      case .persistViewSequence(let sequence):
        nodes[i].persistedViewSequence = max(nodes[i].persistedViewSequence, sequence)
      case .view(let change, _, _):
        observeView(i, change)
        nodes[i].toController.append(event)
      case .quorum, .stable:
        nodes[i].toController.append(event)
      case .deliver(let delivery):
        observeDelivery(i, delivery)
        nodes[i].toController.append(event)
      }
    }
  }

  /// swpacemakerd reads one event from the swcorosync socket (`corosyncLine`).
  mutating func corosyncEvent(_ i: Int, _ event: QuorateMembership.Event) {
    switch event {
    case .send, .persistViewSequence: break
    case .view(let change, let quorum, _):
      log(
        "\(nodes[i].name) view \(change.view.id) \(change.view.memberIds.map { "n\($0)" }) \(quorum.quorate ? "quorate" : "NOT quorate")\(change.lost.isEmpty ? "" : " lost \(change.lost.map { "n\($0)" })")"
      )
      let members = change.view.memberIds.map { "n\($0)" }
      let lost = change.lost.map { "n\($0)" }
      let left = change.left.map { "n\($0)" }
      controllerInput(i) { c, now in
        c.viewChanged(members: members, lost: lost, left: left, quorate: quorum.quorate, now: now)
      }
    case .quorum(let state, let reason, let movedOn):
      log("\(nodes[i].name) quorum \(state.quorate) (\(reason))")
      let gone = movedOn.map { "n\($0)" }
      controllerInput(i) { c, now in c.quorumChanged(state.quorate, movedOn: gone, now: now) }
    case .stable(let view, let upTo):
      controllerInput(i) { c, now in c.stable(view: view, upTo: upTo, now: now) }
    case .deliver(let delivery):
      let index = Int(delivery.payload.reduce(0) { $0 << 8 | UInt64($1) })
      guard index < messages.count else { return }
      let message = messages[index]
      let origin = "n\(delivery.origin)"
      log(
        "\(nodes[i].name) delivers \(delivery.view)#\(delivery.sequence) from \(origin): \(Self.describe(message))"
      )
      let position = DeliveryPosition(view: delivery.view, sequence: delivery.sequence)
      controllerInput(i, cleanup: { if case .cleanup = message { true } else { false } }()) { c, now in
        c.received(message, from: origin, at: position, now: now)
      }
    }
  }

  /// Both daemons of every node work through their socket queues until nothing is left.
  mutating func drainSockets() {
    var busy = true
    while busy {
      busy = false
      for i in nodes.indices {
        while !nodes[i].toController.isEmpty {
          busy = true
          let event = nodes[i].toController.removeFirst()
          if nodes[i].controller != nil { corosyncEvent(i, event) }
        }
        while !nodes[i].toCorosync.isEmpty {
          busy = true
          let payload = nodes[i].toCorosync.removeFirst()
          // Taken out while it runs, so its storage is not shared (no copy on write).
          guard var membership = nodes[i].membership.take() else { continue }
          do {
            let events = try membership.submit(payload, now: now)
            nodes[i].membership = membership
            membershipEvents(i, events)
          } catch {
            nodes[i].membership = membership
            log("\(nodes[i].name) swcorosync refused a message: \(error)")
          }
        }
      }
    }
  }

  /// One input to a node's controller, its directives carried out as `ResourceManagerDaemon.carryOut`
  /// does, then the per-node invariants.
  mutating func controllerInput(
    _ i: Int, cleanup: Bool = false, _ input: (inout ControllerInstance, Int64) -> [ControllerDirective]
  ) {
    guard var controller = nodes[i].controller.take() else { return }
    let directives = input(&controller, wallMs)
    nodes[i].controller = controller
    for directive in directives {
      switch directive {
      case .broadcast(let message):
        guard nodes[i].membership != nil else { continue }
        let index = UInt64(messages.count)
        messages.append(message)
        nodes[i].toCorosync.append((0..<8).map { UInt8(truncatingIfNeeded: index >> (8 * (7 - $0))) })
      case .execute(let request):
        execute(i, request)
      case .persist(let config):
        nodes[i].stored = config
      case .reply(let token, let response):
        if token > 0 {
          log("\(nodes[i].name) replies to edit \(token): \(response.ok ? "ok" : response.error ?? "failed")")
          if response.ok { acknowledged[token] = nodes[i].name }
        }
      case .log(let level, let text):
        if level != .debug { log("\(nodes[i].name) \(level.rawValue): \(text)") }
        if dumpStateOnTransitions && text.hasPrefix("transition "), let c = nodes[i].controller {
          logReplicaRecords(only: i)
          var state = c.state
          state.quorate = c.quorate
          state.now = wallMs / 1000
          planInputs.append(("t=\(format3(elapsedMs))s \(nodes[i].name) \(text)", c.config, state))
        }
      case .fence(let request):
        let maxDelay = UInt64(max(request.delayMaxMs, 0))
        let delay = Int64(request.delayBaseMs) + Int64(maxDelay > 0 ? network.next() % maxDelay : 0)
        let busy: Int64 = fenceDevice == .hangs ? Int64(request.timeoutMs) : 200
        nodes[i].fencing.append(
          FenceAction(request: request, doneAt: now + .milliseconds(delay + busy), behaviour: fenceDevice))
        log("\(nodes[i].name) fences \(request.target) (\(request.action)), device \(fenceDevice.rawValue)")
      case .fenced(let reaction):
        // fencing-reaction: stop every local resource and exit (systemd does not restart it).
        log("\(nodes[i].name) was fenced while running: \(reaction)")
        nodes[i].controller = nil
        nodes[i].running = []
        nodes[i].promoted = []
        nodes[i].operations = []
        nodes[i].monitors = [:]
        nodes[i].fencing = []
        return
      }
    }
    checkNode(i, cleanup: cleanup)
  }

  static func describe(_ message: ControllerMessage) -> String {
    switch message {
    case .hello(let h): "hello \(h.node) config \(h.configVersion)"
    case .configPublish(let p):
      "config publish \(p.config?.version.description ?? "-")\(p.error.map { " error: \($0)" } ?? "")"
    case .configChange(let c): "config change on \(c.baseVersion)"
    case .actionRequest(let r): "request \(r.spec.resource) \(r.spec.key) on \(r.node)"
    case .actionResult(let r): "result \(r.spec.resource) \(r.spec.key) on \(r.node) rc \(r.rc) \(r.status)"
    case .cleanup(let c): "cleanup \(c.resource ?? "all")"
    case .shutdown(let n): "shutdown \(n)"
    default: "\(message)".prefix(100).description
    }
  }

  // MARK: - Executor and services

  /// The agent instance an action acts on, as the simulated service manager keys its services: a
  /// systemd unit by name; an anonymous clone's instances (`cln:0`, `cln:1`) all by the clone's
  /// primitive (`cln`), since their agent knows them by it (`OCF_RESOURCE_INSTANCE`, as `OCFRunner`
  /// sets it) and keeps one state per node; anything else, globally unique instances included, by its
  /// own id.
  static func service(of spec: ActionSpec) -> String {
    if spec.agent.standard == .systemd { return spec.agent.type }
    if spec.meta["clone"] != nil && !Clone.isTrue(spec.meta["globally-unique"]) {
      return String(InstanceAlias.base(spec.resource))
    }
    return spec.resource
  }

  /// Whether the agent is the promotable one (`ocf:swpcs:Stateful`): it has a promoted role and sets
  /// its promotion score.
  static func isPromotable(_ spec: ActionSpec) -> Bool { spec.agent.type == "Stateful" }

  /// What a monitor of the action's service finds on node `i`: 7 stopped, 0 running, 8 promoted.
  func monitorRc(_ i: Int, _ spec: ActionSpec) -> Int {
    let service = Self.service(of: spec)
    guard nodes[i].running.contains(service) else { return 7 }
    return Self.isPromotable(spec) && nodes[i].promoted.contains(service) ? 8 : 0
  }

  mutating func execute(_ i: Int, _ request: ActionRequest) {
    let spec = request.spec
    let service = Self.service(of: spec)
    if ["start", "stop", "demote", "promote"].contains(spec.action) {
      // As the daemon: the recurring monitors of the same agent instance go, whatever key they were
      // recorded under.
      nodes[i].monitors = nodes[i].monitors.filter { _, m in
        !InstanceAlias.sameAgentInstance(m.spec.resource, m.spec.meta, spec.resource, spec.meta)
      }
    }
    if spec.action == "start" || spec.action == "promote" {
      if let controller = nodes[i].controller, !controller.quorate {
        fail(
          "inquorate-start", "\(nodes[i].name) starts \(spec.resource) without quorum (no-quorum-policy=stop)"
        )
      }
    }
    if spec.action == "start" && service != spec.resource {
      checkSinglePerNode(i, spec, service)
    }
    let key = [spec.action, service]
    // The executor runs one resource's actions one at a time, in arrival order (`Executor`, as
    // pacemaker-execd): this one starts when the previous one on the resource has finished.
    let begins =
      nodes[i].operations.lazy.filter { $0.request.spec.resource == spec.resource }.map(\.doneAt)
      .max().map { max($0, now) } ?? now
    var op = Operation(
      request: request, doneAt: begins + .milliseconds(10 + Int64(network.next() % 90)), rc: 0,
      status: "done", effect: .none)
    switch spec.action {
    case "start": op.effect = .startService
    case "stop": op.effect = .stopService
    case "promote": op.effect = .promoteService
    case "demote": op.effect = .demoteService
    default: break
    }
    if nodes[i].hangNext.remove(key) != nil {
      op.doneAt = begins + .milliseconds(Int64(spec.timeoutMs))
      op.rc = 1
      op.status = "timeout"
      op.effect = .none
    } else if nodes[i].failNext.remove(key) != nil {
      op.rc = 1
      // A start that fails half-way may leave the service running.
      if spec.action != "start" || !network.chance(0.5) { op.effect = .none }
    }
    nodes[i].operations.append(op)
    log("\(nodes[i].name) executes \(spec.resource) \(spec.key)")
  }

  mutating func finish(_ i: Int, _ op: Operation) {
    let spec = op.request.spec
    let service = Self.service(of: spec)
    var rc = op.rc
    switch op.effect {
    case .startService:
      // A promotable agent starts unpromoted; starting what already runs changes nothing.
      if nodes[i].running.insert(service).inserted {
        nodes[i].promoted.remove(service)
        nodes[i].startedAs[service] = spec.resource
      }
    case .stopService:
      nodes[i].running.remove(service)
      nodes[i].promoted.remove(service)
    case .promoteService:
      if nodes[i].running.contains(service) { nodes[i].promoted.insert(service) } else { rc = 7 }
    case .demoteService:
      if nodes[i].running.contains(service) { nodes[i].promoted.remove(service) } else { rc = 7 }
    case .none: break
    }
    if spec.action == "monitor" && op.status == "done" {
      rc = monitorRc(i, spec)
    }
    // The promotable agent sets its promotion score as it runs (`crm_master`), before it exits.
    if Self.isPromotable(spec) && op.status == "done" && spec.action != "notify" { agentSetsScore(i, spec) }
    log("\(nodes[i].name) \(spec.resource) \(spec.key) → rc \(rc) \(op.status)")
    let succeeded = nodes[i].controller?.monitorSucceeded(spec, rc: rc) ?? (rc == 0 || rc == 8)
    controllerInput(i) { c, now in
      c.operationCompleted(op.request, rc: rc, status: op.status, durationMs: 50, output: "", now: now)
    }
    if spec.intervalMs > 0 && op.status == "done" && succeeded {
      nodes[i].monitors["\(spec.resource)#\(spec.key)"] = Monitor(
        spec: spec, nextAt: now + .milliseconds(Int64(spec.intervalMs)), lastRc: rc)
    }
  }

  /// `ocf:swpcs:Stateful`'s `crm_master` calls: 5 while running unpromoted, 10 promoted, deleted by a
  /// stop (a monitor of a stopped instance leaves it). Through the controller input `swpcs node
  /// attribute --transient` uses, as the `crm_master` shim does; only when the value differs from
  /// the local replica's, as an agent that reads its score first (`crm_master -G`).
  mutating func agentSetsScore(_ i: Int, _ spec: ActionSpec) {
    let service = Self.service(of: spec)
    // crm_master names the score after OCF_RESOURCE_INSTANCE without an instance number.
    let name = "master-\(InstanceAlias.base(service))"
    let value: String? =
      nodes[i].running.contains(service) ? (nodes[i].promoted.contains(service) ? "10" : "5") : nil
    if value == nil && spec.action != "stop" { return }
    guard let controller = nodes[i].controller,
      controller.state.nodes.first(where: { $0.name == nodes[i].name })?.transientAttributes[name] != value
    else { return }
    controllerInput(i) { c, now in
      c.clientRequest(token: 0, ManagerRequest(op: .setAttribute, name: name, value: value), now: now)
    }
  }

  mutating func finishFence(_ i: Int, _ action: FenceAction) {
    let request = action.request
    var outcomes: [FenceDeviceOutcome] = []
    for device in request.devices {
      let ok = action.behaviour == .works
      outcomes.append(
        FenceDeviceOutcome(
          device: device.id, ok: ok, rc: ok ? 0 : 1,
          status: action.behaviour == .hangs ? "timeout" : ok ? "done" : "error"))
      if !ok { break }
    }
    if outcomes.count == request.devices.count && outcomes.allSatisfy(\.ok),
      let target = nodes.firstIndex(where: { $0.name == request.target })
    {
      if request.action == "on" {
        powerOn(target)
      } else {
        log("power switch: \(request.target) off")
        if nodes[target].up { powerOff(target) }
        if request.action == "reboot" { rebootAt[target] = now + rebootTime }
      }
    }
    log("\(nodes[i].name) fencing \(request.target): \(outcomes.map { "\($0.device) \($0.status)" })")
    controllerInput(i) { c, now in c.fenceCompleted(request, outcomes: outcomes, now: now) }
  }

  /// A recurring monitor runs; it reports only when its result turns into a failure (the daemon's
  /// `runRecurring`).
  mutating func runMonitor(_ i: Int, _ key: String) {
    guard let spec = nodes[i].monitors[key]?.spec else { return }
    let rc = monitorRc(i, spec)
    if Self.isPromotable(spec) { agentSetsScore(i, spec) }
    guard var monitor = nodes[i].monitors[key] else { return }
    let succeeded = nodes[i].controller?.monitorSucceeded(spec, rc: rc) ?? (rc == 0 || rc == 8)
    if !succeeded && monitor.lastRc != rc {
      nodes[i].monitors[key] = nil
      log("\(nodes[i].name) monitor of \(spec.resource) fails (rc \(rc))")
      controllerInput(i) { c, now in c.recurringFailed(spec, rc: rc, output: "", now: now) }
      return
    }
    monitor.lastRc = rc
    monitor.nextAt = now + .milliseconds(Int64(spec.intervalMs))
    nodes[i].monitors[key] = monitor
  }

  // MARK: - Network

  mutating func enqueue(_ message: MembershipMessage, from: Int, to: Int) {
    guard to >= 0 && to < nodes.count else { return }
    if blocked.contains([from + 1, to + 1]) { return }
    if lossPercent > 0 && Int(network.next() % 100) < lossPercent { return }
    let copies = duplicatePercent > 0 && Int(network.next() % 100) < duplicatePercent ? 2 : 1
    for _ in 0..<copies {
      var latency = delay
      if jitterMs > 0 { latency += .microseconds(Int64(network.next() % UInt64(jitterMs * 1000))) }
      counter += 1
      inFlight.append(
        InFlight(
          at: now + latency, order: counter, from: from, to: to, fromIncarnation: nodes[from].incarnation,
          message: message))
    }
  }

  // MARK: - Running

  /// Runs the scenario: faults, then convergence. Stops at the first violation.
  public mutating func run() {
    let faultEnd = start + .milliseconds(scenario.faultWindowMs)
    var faultsOver = false
    var nextCheck = faultEnd + .milliseconds(500)
    var stableSince: Instant?
    // What the periodic checks saw wrong, as episodes (a problem from its first to its last sighting,
    // or a stretch that looked converged): at the bound the cluster may look converged but not for the
    // 5 s it must stay so, and then these say what kept it from converging, and when.
    var episodes: [ConvergenceEpisode] = []
    while violation == nil {
      let bound = max(faultEnd, blockedShutdownEndedAt ?? faultEnd) + .milliseconds(scenario.convergeBoundMs)
      // The next thing to happen.
      var next = bound
      var what = 0  // 0 bound, 1 fault, 2 message, 3 membership, 4 op, 5 monitor, 6 controller tick, 7 check
      var who = -1
      var detail = ""
      if nextFault < scenario.faults.count {
        let t = start + .milliseconds(scenario.faults[nextFault].atMs)
        if t < next { (next, what) = (t, 1) }
      } else if !faultsOver && faultEnd < next {
        (next, what) = (faultEnd, 1)
      }
      if faultsOver && nextCheck < next { (next, what) = (nextCheck, 7) }
      var messageIndex = -1
      for (index, m) in inFlight.enumerated()
      where m.at < next || (m.at == next && what > 2) {
        if messageIndex < 0 || (m.at, m.order) < (inFlight[messageIndex].at, inFlight[messageIndex].order) {
          messageIndex = index
        }
      }
      if messageIndex >= 0 { (next, what) = (inFlight[messageIndex].at, 2) }
      Self.nextNodeEvent(nodes, now: now, &next, &what, &who, &detail)
      for (i, at) in rebootAt where at < next { (next, what, who) = (at, 9, i) }
      now = max(now, next)
      switch what {
      case 0:
        if dumpStateOnTransitions, let dcName = nodes[0].controller?.dc,
          let dcNode = nodes.firstIndex(where: { $0.name == dcName }), let c = nodes[dcNode].controller
        {
          var state = c.state
          state.quorate = c.quorate
          state.now = wallMs / 1000
          planInputs.append(("t=\(format3(elapsedMs))s \(dcName) final state", c.config, state))
        }
        fail(
          "convergence",
          "no convergence within \(scenario.convergeBoundMs / 1000) s after the faults\(blockedShutdownEndedAt == nil ? "" : " and a blocked shutdown"): \(ConvergenceEpisode.report(now: convergenceProblem(), episodes, faultEnd: faultEnd))"
        )
      case 1:
        if nextFault < scenario.faults.count {
          let fault = scenario.faults[nextFault].fault
          nextFault += 1
          inject(fault)
        } else {
          faultsOver = true
          endFaults()
        }
      case 2:
        let m = inFlight.remove(at: messageIndex)
        guard var membership = nodes[m.to].membership.take() else { break }
        let events = membership.receive(
          m.message, from: nodes[m.from].id, incarnation: m.fromIncarnation, link: 0, now: now)
        nodes[m.to].membership = membership
        membershipEvents(m.to, events)
      case 3:
        guard var membership = nodes[who].membership.take() else { break }
        let events = membership.tick(now: now)
        nodes[who].membership = membership
        membershipEvents(who, events)
      case 4:
        let index = nodes[who].operations.indices.min {
          nodes[who].operations[$0].doneAt < nodes[who].operations[$1].doneAt
        }!
        let op = nodes[who].operations.remove(at: index)
        finish(who, op)
      case 5:
        runMonitor(who, detail)
      case 8:
        let index = nodes[who].fencing.indices.min {
          nodes[who].fencing[$0].doneAt < nodes[who].fencing[$1].doneAt
        }!
        let action = nodes[who].fencing.remove(at: index)
        finishFence(who, action)
      case 9:
        rebootAt[who] = nil
        powerOn(who)
      case 6:
        nodes[who].nextControllerTick = now + .seconds(1)
        controllerInput(who) { c, now in c.tick(now: now) }
      default:
        nextCheck = now + .milliseconds(250)
        // swpacemakerd that stopped itself (fencing-reaction) is brought back by power-cycling the node.
        for i in nodes.indices where nodes[i].up && nodes[i].controller == nil && rebootAt[i] == nil {
          powerOff(i)
          rebootAt[i] = now + rebootTime
        }
        if let problem = convergenceProblem() {
          ConvergenceEpisode.record(problem, at: now, in: &episodes)
          stableSince = nil
        } else if let since = stableSince {
          if now - since >= .seconds(5) {
            checkAcknowledged()
            if violation == nil {
              convergedAfterMs = (since - faultEnd).milliseconds
              log("converged \(Double(convergedAfterMs!) / 1000) s after the faults")
            }
            return
          }
        } else {
          stableSince = now
        }
        if stableSince != nil { ConvergenceEpisode.record(nil, at: now, in: &episodes) }
      }
      drainSockets()
      checkShutdownProgress()
      checkWorld()
    }
  }
}

extension WholeClusterSimulation {
  /// The earliest node event before `next` (membership deadline, operation, fence action, monitor,
  /// controller tick). Static over a borrowed array: a method on `self`, or a binding of a node's
  /// membership, copies the nodes' state (this runs for every event of the simulation).
  static func nextNodeEvent(
    _ nodes: [Node], now: Instant, _ next: inout Instant, _ what: inout Int, _ who: inout Int,
    _ detail: inout String
  ) {
    for i in nodes.indices {
      guard let deadline = nodes[i].membership?.nextDeadline(now: now) else { continue }
      let d = max(deadline, now)
      if d < next { (next, what, who) = (d, 3, i) }
      for op in nodes[i].operations where op.doneAt < next { (next, what, who) = (op.doneAt, 4, i) }
      for f in nodes[i].fencing where f.doneAt < next { (next, what, who) = (f.doneAt, 8, i) }
      for (key, m) in nodes[i].monitors where m.nextAt < next {
        (next, what, who, detail) = (m.nextAt, 5, i, key)
      }
      if nodes[i].nextControllerTick < next { (next, what, who) = (nodes[i].nextControllerTick, 6, i) }
    }
  }
}

func format3(_ ms: Int64) -> String {
  let s = ms / 1000
  let frac = ms % 1000
  return "\(s).\(frac < 10 ? "00" : frac < 100 ? "0" : "")\(frac)"
}

/// A stretch of the convergence phase in which the periodic check saw the same problem (or none), for
/// the report of a seed that did not converge: a cluster that looks converged at the bound but not for
/// long enough has no problem *now*, and the report must still say what kept it from converging.
struct ConvergenceEpisode {
  /// Nil: the cluster looked converged.
  var problem: String?
  var from: Instant
  var to: Instant

  static func record(_ problem: String?, at now: Instant, in episodes: inout [ConvergenceEpisode]) {
    if let last = episodes.last, last.problem == problem {
      episodes[episodes.count - 1].to = now
    } else {
      episodes.append(ConvergenceEpisode(problem: problem, from: now, to: now))
    }
  }

  /// The problem now, or the last problems seen (newest last) with their times after the faults.
  static func report(now: String?, _ episodes: [ConvergenceEpisode], faultEnd: Instant) -> String {
    if let now { return now }
    func after(_ t: Instant) -> String { format3((t - faultEnd).milliseconds) }
    let shown = episodes.suffix(4).map { e in
      "\(after(e.from))–\(after(e.to)) s: \(e.problem ?? "looked converged")"
    }
    guard episodes.contains(where: { $0.problem != nil }) else {
      return "looked converged at every check, not for 5 s: \(shown.joined(separator: "; "))"
    }
    return
      "converged too late or not for 5 s; last checks (after the faults) \(shown.joined(separator: "; "))"
  }
}
