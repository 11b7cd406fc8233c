import ResourceManager
import ResourceModel

/// Several `ControllerInstance`s — the state machine swpacemakerd runs — over an in-memory,
/// totally ordered group (what swcorosync provides), with simulated services that start, stop,
/// report their state and can crash, and nodes that crash and rejoin.
///
/// Membership is injected (`setView`), so tests of the resource manager can place faults exactly.
/// Records the real state of every service to check "never active on two live nodes".
public struct ManagerSimulation {
  public struct Node {
    public var controller: ControllerInstance?
    /// The real world on this node: which resources are running.
    public var running: Set<String> = []
    /// Actions this node is executing, finishing at the given time.
    var executing: [(request: ActionRequest, doneAt: Int64)] = []
    /// Services stopped here whose stop result the controller has not applied yet: their recurring
    /// monitors are cancelled (a real executor cancels them with the stop), so none reports them.
    var monitorsCancelled: Set<String> = []
    /// Configuration "on disk".
    public var stored = ResourceConfiguration()
    public var up: Bool { controller != nil }
  }

  public private(set) var nodes: [String: Node] = [:]
  public let names: [String]
  public private(set) var now: Int64 = 1_700_000_000_000
  /// Ordered group messages not yet delivered: (origin, message, members at send time).
  var queue: [(origin: String, message: ControllerMessage)] = []
  public private(set) var members: [String] = []
  /// Members that missed the current view's commit (see `setView`).
  public private(set) var stale: Set<String> = []
  /// Largest number of live nodes running one resource at once, per resource.
  public private(set) var maxConcurrent: [String: Int] = [:]
  public var actionDuration: Int64 = 50
  /// Services that refuse to start on a node.
  public var brokenStart: Set<[String]> = []
  /// Services whose stop fails on a node (they keep running there): [resource, node].
  public var brokenStop: Set<[String]> = []
  public private(set) var log: [String] = []
  /// Simulated fencing devices by id: what they do when asked to fence (see `FenceDeviceBehaviour`).
  public var fenceDevices: [String: FenceDeviceBehaviour] = [:]
  /// Fence requests received by executing nodes, not yet finished: (executor, request, received at).
  var fenceRequests: [(executor: String, request: FenceRequest, at: Int64)] = []
  /// Delay each executor draws within `delayMaxMs` (the real shell draws at random): executor → ms.
  public var fenceDelayDraw: [String: Int] = [:]
  /// Every completed fence action: (executor, target, device, ok, time, action: reboot|off|on).
  public private(set) var fenceLog:
    [(executor: String, target: String, device: String, ok: Bool, at: Int64, action: String)] = []
  /// Every resource action a node finished, in order: (node, resource, action such as `start`).
  public private(set) var executed: [(node: String, resource: String, action: String)] = []
  /// Nodes that learnt they had been fenced while running (`fencing-reaction`).
  public private(set) var fencedReactions: [String] = []

  public init(nodeCount: Int) {
    names = (1...nodeCount).map { "n\($0)" }
    for name in names { nodes[name] = Node() }
  }

  var nodeIds: [String: UInt32] {
    Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, UInt32($0 + 1)) })
  }

  // MARK: - Faults and membership

  public mutating func start(_ name: String) {
    let config = nodes[name]!.stored
    nodes[name]!.controller = ControllerInstance(
      settings: ControllerSettings(localNode: name, nodeIds: nodeIds, joinWaitMs: 2000, startedAtMs: now),
      config: config)
  }

  /// swpacemakerd alone restarts (its services keep running) and attaches to the current view.
  public mutating func restartController(_ name: String) {
    nodes[name]!.executing = []
    start(name)
    let quorate = members.count * 2 > names.count
    log.append("swpacemakerd restarts on \(name)")
    let current = members
    carry(name) { c, now in c.attached(members: current, quorate: quorate, now: now) }
  }

  /// Power loss: memory and running services are gone; the stored configuration survives.
  public mutating func crash(_ name: String) {
    nodes[name]!.controller = nil
    nodes[name]!.running = []
    nodes[name]!.executing = []
  }

  /// swcorosync installs a view: `members` (all of which must be up), the rest lost. Members in
  /// `missedBy` missed its commit: they stay in their old view, hear nothing of the new one, and
  /// what they send reaches no one, until a later view.
  public mutating func setView(
    _ newMembers: [String], lost: [String] = [], left: [String] = [], missedBy: [String] = []
  ) {
    members = newMembers
    stale = Set(missedBy)
    let quorate = newMembers.count * 2 > names.count
    log.append("view \(newMembers) lost \(lost)\(missedBy.isEmpty ? "" : " missed by \(missedBy)")")
    for name in newMembers where !stale.contains(name) {
      carry(name) { c, now in
        c.viewChanged(members: newMembers, lost: lost, left: left, quorate: quorate, now: now)
      }
    }
  }

  /// A running service dies on its own.
  public mutating func failService(_ resource: String, on name: String) {
    guard nodes[name]!.running.contains(resource) else { return }
    nodes[name]!.running.remove(resource)
    log.append("\(resource) dies on \(name)")
  }

  public mutating func request(_ name: String, _ request: ManagerRequest) -> [ManagerResponse] {
    var responses: [ManagerResponse] = []
    carry(name, responses: &responses) { c, now in c.clientRequest(token: 1, request, now: now) }
    return responses
  }

  /// Edit the configuration through `name`, the way swpcs does (read, edit, replace).
  public mutating func edit(at name: String, _ change: (inout ResourceConfiguration) throws -> Void) rethrows
  {
    guard let controller = nodes[name]!.controller else { return }
    var config = controller.config
    try change(&config)
    _ = request(
      name, ManagerRequest(op: .replaceConfig, config: config, baseVersion: controller.config.version))
  }

  // MARK: - Running

  mutating func carry(
    _ name: String, _ input: (inout ControllerInstance, Int64) -> [ControllerDirective]
  ) {
    var ignored: [ManagerResponse] = []
    carry(name, responses: &ignored, input)
  }

  mutating func carry(
    _ name: String, responses: inout [ManagerResponse],
    _ input: (inout ControllerInstance, Int64) -> [ControllerDirective]
  ) {
    guard var controller = nodes[name]!.controller else { return }
    let directives = input(&controller, now)
    nodes[name]!.controller = controller
    for directive in directives {
      switch directive {
      case .broadcast(let message):
        if members.contains(name) && !stale.contains(name) { queue.append((name, message)) }
      case .execute(let request):
        nodes[name]!.executing.append((request, now + actionDuration))
      case .persist(let config):
        nodes[name]!.stored = config
      case .reply(_, let response):
        responses.append(response)
      case .log(_, let text):
        log.append("\(name): \(text)")
      case .fence(let request):
        fenceRequests.append((name, request, now))
      case .fenced(let reaction):
        log.append("\(name): fenced while running (\(reaction))")
        fencedReactions.append(name)
      }
    }
  }

  /// Advance time in 10 ms steps: deliver messages, finish actions, run monitors, tick every second.
  public mutating func run(forMs duration: Int64) {
    let end = now + duration
    while now < end {
      // Deliver everything queued, in order, to the current members.
      while !queue.isEmpty {
        let (origin, message) = queue.removeFirst()
        for name in members where nodes[name]!.up && !stale.contains(name) {
          carry(name) { c, now in c.received(message, from: origin, now: now) }
        }
      }
      for name in names where nodes[name]!.up {
        let due = nodes[name]!.executing.filter { $0.doneAt <= now }
        nodes[name]!.executing.removeAll { $0.doneAt <= now }
        for (request, _) in due { finish(request, on: name) }
        runFencing(on: name)
        // Recurring monitors: a service that died is noticed (systemd's signal or the monitor).
        if let controller = nodes[name]!.controller {
          for resource in controller.state.resources.keys.sorted() {
            let s = controller.state.resources[resource]?[name]
            if s?.role != .started { nodes[name]!.monitorsCancelled.remove(resource) }
            if let s, s.role == .started, !s.failed, !s.activeMonitors.isEmpty,
              !nodes[name]!.monitorsCancelled.contains(resource),
              !nodes[name]!.running.contains(resource),
              !nodes[name]!.executing.contains(where: { $0.request.spec.resource == resource })
            {
              let key = s.activeMonitors[0]
              let interval = Int(key.split(separator: "_").last ?? "0") ?? 0
              let spec = ActionSpec(
                resource: resource, agent: AgentSpec(standard: .systemd, type: resource), attributes: [],
                meta: [:],
                action: "monitor", intervalMs: interval, timeoutMs: 20_000)
              carry(name) { c, now in c.recurringFailed(spec, rc: 7, output: "", now: now) }
            }
          }
        }
      }
      if now % 1000 == 0 {
        for name in names where nodes[name]!.up { carry(name) { c, now in c.tick(now: now) } }
      }
      observe()
      now += 10
    }
  }

  mutating func finish(_ request: ActionRequest, on name: String) {
    let spec = request.spec
    executed.append(
      (name, spec.resource, spec.intervalMs > 0 ? "\(spec.action)_\(spec.intervalMs)" : spec.action))
    var rc = 0
    switch spec.action {
    case "start":
      if brokenStart.contains([spec.resource, name]) {
        rc = 1
      } else {
        nodes[name]!.running.insert(spec.resource)
        nodes[name]!.monitorsCancelled.remove(spec.resource)
      }
    case "stop":
      if brokenStop.contains([spec.resource, name]) {
        rc = 1
      } else {
        nodes[name]!.running.remove(spec.resource)
        nodes[name]!.monitorsCancelled.insert(spec.resource)
      }
    case "monitor": rc = nodes[name]!.running.contains(spec.resource) ? 0 : 7
    default: break
    }
    carry(name) { c, now in
      c.operationCompleted(request, rc: rc, status: "done", durationMs: 50, output: "", now: now)
    }
  }

  mutating func observe() {
    var count: [String: Int] = [:]
    for name in names where nodes[name]!.up {
      for resource in nodes[name]!.running { count[resource, default: 0] += 1 }
    }
    for (resource, n) in count { maxConcurrent[resource] = max(maxConcurrent[resource] ?? 0, n) }
  }

  /// A simulated fencing device: it powers the target off after `durationMs` — or fails, or hangs
  /// until `timeoutMs`.
  public enum FenceDeviceBehaviour: Sendable, Equatable {
    case works(durationMs: Int64)
    case fails
    case hangs
  }

  /// Executes due fence requests of `name`: each device of the level in turn, after the delay.
  mutating func runFencing(on name: String) {
    var remaining: [(executor: String, request: FenceRequest, at: Int64)] = []
    var due: [FenceRequest] = []
    for entry in fenceRequests {
      guard entry.executor == name else {
        remaining.append(entry)
        continue
      }
      let request = entry.request
      let delay = Int64(request.delayBaseMs + min(fenceDelayDraw[name] ?? 0, request.delayMaxMs))
      var busy: Int64 = 0
      devices: for device in request.devices {
        switch fenceDevices[device.id] ?? .fails {
        case .works(let ms): busy += ms
        case .fails:
          busy += 10
          break devices
        case .hangs:
          busy += Int64(request.timeoutMs)
          break devices
        }
      }
      if now >= entry.at + delay + busy { due.append(request) } else { remaining.append(entry) }
    }
    fenceRequests = remaining
    for request in due {
      guard nodes[name]!.up else { continue }
      var outcomes: [FenceDeviceOutcome] = []
      for device in request.devices {
        let behaviour = fenceDevices[device.id] ?? .fails
        let ok: Bool
        switch behaviour {
        case .works: ok = true
        case .fails, .hangs: ok = false
        }
        fenceLog.append((name, request.target, device.id, ok, now, request.action))
        outcomes.append(
          FenceDeviceOutcome(
            device: device.id, ok: ok, rc: ok ? 0 : -1,
            status: behaviour == .hangs ? "timeout" : ok ? "done" : "error"))
        if !ok { break }
      }
      if outcomes.count == request.devices.count && outcomes.allSatisfy(\.ok), request.action != "on" {
        log.append("\(name) powers off \(request.target)")
        crash(request.target)
      }
      carry(name) { c, now in c.fenceCompleted(request, outcomes: outcomes, now: now) }
    }
  }

  // MARK: - Observations

  /// Live nodes where the service really runs.
  public func runningOn(_ resource: String) -> [String] {
    names.filter { nodes[$0]!.up && nodes[$0]!.running.contains(resource) }
  }

  public func controller(_ name: String) -> ControllerInstance? { nodes[name]?.controller }
}
