/// One fault (or client action) the whole-cluster simulation injects. Nodes are numbered from 1.
public enum SimulatedFault: Sendable, Equatable, CustomStringConvertible {
  /// Symmetric partition: nodes talk only inside their group.
  case partition([[Int]])
  /// Asymmetric: everything from one node to another is lost.
  case block(from: Int, to: Int)
  /// Every cut is repaired.
  case heal
  /// Percent of datagrams lost, duplicated; extra random delay (reorders datagrams).
  case loss(percent: Int)
  case duplicate(percent: Int)
  case jitter(ms: Int)
  /// Power off: memory, running services and actions are gone; the disk survives.
  case crash(node: Int)
  /// Power on: swcorosync and swpacemakerd start from what is on disk.
  case restart(node: Int)
  /// swpacemakerd dies (its executor's actions and monitors with it); swcorosync and the running
  /// services stay up, so the node stays a member.
  case controllerCrash(node: Int)
  /// systemd starts swpacemakerd again: it connects to swcorosync and gets the current view.
  case controllerRestart(node: Int)
  /// A clean power-off (`systemctl poweroff`): swpacemakerd asks the DC to move its resources away
  /// and exits once none is left (or stops them itself after 60 s, or at once without a DC); then
  /// swcorosync announces its leave and the node is off until `restart`.
  case shutdown(node: Int)
  /// A running service dies on its own.
  case serviceDies(resource: String, node: Int)
  /// The next `action` of `resource` on `node` hangs until its timeout.
  case hangNext(action: String, resource: String, node: Int)
  /// The next `action` of `resource` on `node` fails (rc 1); a failed start may leave it running.
  case failNext(action: String, resource: String, node: Int)
  /// `swpcs` edits the configuration through `node` (adds a property `sim-edit-K`, moves a resource).
  case configEdit(node: Int, edit: Int)
  /// `swpcs resource cleanup` through `node`.
  case cleanup(node: Int, resource: String)
  /// From now on the fence device works, fails or hangs until its timeout.
  case fenceDevice(FenceDeviceBehaviour)
  /// `swpcs resource meta cln-clone clone-max=K` through `node` (composite clusters only).
  case cloneMaxEdit(node: Int, cloneMax: Int)

  public var description: String {
    switch self {
    case .partition(let groups):
      "partition \(groups.map { $0.map { "n\($0)" }.joined(separator: ",") }.joined(separator: " | "))"
    case .block(let a, let b): "block n\(a) -> n\(b)"
    case .heal: "heal"
    case .loss(let p): "loss \(p)%"
    case .duplicate(let p): "duplicate \(p)%"
    case .jitter(let ms): "jitter \(ms) ms"
    case .crash(let n): "crash n\(n)"
    case .restart(let n): "restart n\(n)"
    case .controllerCrash(let n): "swpacemakerd dies on n\(n)"
    case .shutdown(let n): "clean shutdown of n\(n)"
    case .controllerRestart(let n): "swpacemakerd restarts on n\(n)"
    case .serviceDies(let r, let n): "service \(r) dies on n\(n)"
    case .hangNext(let a, let r, let n): "next \(a) of \(r) on n\(n) hangs"
    case .failNext(let a, let r, let n): "next \(a) of \(r) on n\(n) fails"
    case .configEdit(let n, let k): "config edit \(k) through n\(n)"
    case .cleanup(let n, let r): "cleanup \(r) through n\(n)"
    case .fenceDevice(let b): "fence device \(b.rawValue)"
    case .cloneMaxEdit(let n, let k): "clone-max of \(SimulatedComposites.cloneId) set to \(k) through n\(n)"
    }
  }
}

/// What the simulated power switch does when asked to fence a node.
public enum FenceDeviceBehaviour: String, Sendable, Equatable {
  case works
  case fails
  case hangs
}

/// A fault at a virtual time (ms after the start of the run).
public struct ScheduledFault: Sendable, Equatable, CustomStringConvertible {
  public var atMs: Int64
  public var fault: SimulatedFault
  public init(atMs: Int64, fault: SimulatedFault) {
    self.atMs = atMs
    self.fault = fault
  }
  public var description: String { "t=\(Double(atMs) / 1000)s \(fault)" }
}

/// Everything one simulated run does, derived from its seed: the cluster's shape and the faults.
///
/// Exists so a failing run is a value that can be printed, replayed and shrunk (drop faults, keep
/// the seed: the network's randomness is drawn from a separate generator).
public struct SimulationScenario: Sendable, Equatable {
  public var seed: UInt64
  public var nodeCount: Int
  /// Resource ids; those starting with `svc` are systemd units, the others OCF agents.
  public var resources: [String]
  /// Resource → preferred node (a location constraint of score 100).
  public var preferences: [String: Int]
  public var migrationThreshold: Int?
  /// stonith-enabled=true with one power switch that can fence every node.
  public var fencing: Bool
  /// Faults happen in [0, faultWindowMs); then the network heals and every node powers on.
  public var faultWindowMs: Int64
  /// After the faults, the cluster must converge within this bound.
  public var convergeBoundMs: Int64
  public var faults: [ScheduledFault]
  /// votequorum's last_man_standing (window 10 s, with the wait_for_all it requires): a quorate
  /// partition that loses nodes lowers the expected votes once the window passes, so it may shrink
  /// further and stay quorate.
  public var lastManStanding = false
  /// A group, an anonymous and a promotable clone with constraints (a third of the seeds).
  public var composites: SimulatedComposites?

  /// The scenario of a seed: 3–5 nodes, 2–4 resources, 2–14 faults in a 30 s window.
  public static func generate(seed: UInt64) -> SimulationScenario {
    var random = SeededRandom(seed: seed ^ 0x5EED_FA17)
    let fencing = random.chance(0.5)
    let nodeCount = 3 + Int(random.next() % 3)
    let resourceCount = 2 + Int(random.next() % 3)
    var resources: [String] = []
    for i in 1...resourceCount { resources.append(random.chance(0.5) ? "svc\(i)" : "dummy\(i)") }
    var preferences: [String: Int] = [:]
    for r in resources where random.chance(0.5) {
      preferences[r] = 1 + Int(random.next() % UInt64(nodeCount))
    }
    let window: Int64 = 30_000
    var faults: [ScheduledFault] = []
    let count = 2 + Int(random.next() % 13)
    var edit = 0
    func node() -> Int { 1 + Int(random.next() % UInt64(nodeCount)) }
    func resource() -> String { resources[Int(random.next() % UInt64(resources.count))] }
    for _ in 0..<count {
      let at = 2000 + Int64(random.next() % UInt64(window - 2000))
      let roll = random.next() % 100
      let fault: SimulatedFault
      switch roll {
      case 0..<14:
        var ids = Array(1...nodeCount)
        ids.shuffle(using: &random)
        let cut = 1 + Int(random.next() % UInt64(nodeCount - 1))
        fault = .partition([Array(ids[..<cut]).sorted(), Array(ids[cut...]).sorted()])
        let healAt = at + 500 + Int64(random.next() % 8000)
        if healAt < window { faults.append(ScheduledFault(atMs: healAt, fault: .heal)) }
      case 14..<22:
        let a = node()
        var b = node()
        if a == b { b = a % nodeCount + 1 }
        fault = .block(from: a, to: b)
        let healAt = at + 500 + Int64(random.next() % 8000)
        if healAt < window { faults.append(ScheduledFault(atMs: healAt, fault: .heal)) }
      case 22..<30: fault = .loss(percent: Int(random.next() % 40))
      case 30..<34: fault = .duplicate(percent: Int(random.next() % 30))
      case 34..<38: fault = .jitter(ms: Int(random.next() % 50))
      case 38..<52:
        let n = node()
        fault = .crash(node: n)
        let upAt = at + 300 + Int64(random.next() % 10_000)
        if upAt < window { faults.append(ScheduledFault(atMs: upAt, fault: .restart(node: n))) }
      case 52..<64: fault = .serviceDies(resource: resource(), node: node())
      case 64..<72:
        fault = .hangNext(action: random.chance(0.5) ? "start" : "stop", resource: resource(), node: node())
      case 72..<80:
        fault = .failNext(action: random.chance(0.6) ? "start" : "stop", resource: resource(), node: node())
      case 80..<94:
        edit += 1
        fault = .configEdit(node: node(), edit: edit)
      case 94..<97: fault = .cleanup(node: node(), resource: resource())
      default:
        fault = .fenceDevice(random.chance(0.5) ? .fails : .hangs)
        let fixAt = at + 500 + Int64(random.next() % 10_000)
        if fixAt < window { faults.append(ScheduledFault(atMs: fixAt, fault: .fenceDevice(.works))) }
      }
      faults.append(ScheduledFault(atMs: at, fault: fault))
    }
    // Kinds added after the first campaigns draw from their own generator, so the schedules drawn
    // before (and the seeds that found bugs in them) stay as they were, unless extended here.
    var later = SeededRandom(seed: seed ^ 0xC0FF_EE01)
    /// With probability `p`: `down` on a node, then `back` after `minMs` + up to `spreadMs` ms.
    func outage(
      _ p: Double, _ down: (Int) -> SimulatedFault, back: (Int) -> SimulatedFault, minMs: Int64,
      spreadMs: UInt64
    ) {
      guard later.chance(p) else { return }
      let n = 1 + Int(later.next() % UInt64(nodeCount))
      let at = 2000 + Int64(later.next() % UInt64(window - 2000))
      faults.append(ScheduledFault(atMs: at, fault: down(n)))
      let upAt = at + minMs + Int64(later.next() % spreadMs)
      if upAt < window { faults.append(ScheduledFault(atMs: upAt, fault: back(n))) }
    }
    outage(
      0.25, { .controllerCrash(node: $0) }, back: { .controllerRestart(node: $0) }, minMs: 200, spreadMs: 8000
    )
    outage(0.2, { .shutdown(node: $0) }, back: { .restart(node: $0) }, minMs: 1000, spreadMs: 10_000)
    // Groups and clones (added later still): a third generator.
    var composite = SeededRandom(seed: seed ^ 0x6C0_11E5)
    let drawn = SimulatedComposites.generate(
      &composite, nodeCount: nodeCount, primitives: resources, windowMs: window)
    faults += drawn?.1 ?? []
    faults.sort { $0.atMs < $1.atMs }
    var scenario = SimulationScenario(
      seed: seed, nodeCount: nodeCount, resources: resources, preferences: preferences,
      migrationThreshold: random.chance(0.3) ? 2 : nil, fencing: fencing, faultWindowMs: window,
      convergeBoundMs: 60_000,
      faults: faults)
    scenario.lastManStanding = later.chance(0.15)
    scenario.composites = drawn?.0
    return scenario
  }

  public var summary: String {
    let prefs = preferences.sorted { $0.key < $1.key }.map { "\($0.key)→n\($0.value)" }
    return
      "\(nodeCount) nodes, \(fencing ? "fencing enabled" : "stonith-enabled=false"), resources \(resources.joined(separator: " "))\(prefs.isEmpty ? "" : ", prefer \(prefs.joined(separator: " "))")\(migrationThreshold.map { ", migration-threshold \($0)" } ?? "")\(lastManStanding ? ", last_man_standing" : "")\(composites.map { "; \($0.summary)" } ?? "")"
  }
}
