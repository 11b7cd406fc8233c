import ResourceModel

/// Pacemaker's role ladder. A resource climbs or descends it one step per action, and comparisons
/// ("next role above current role") follow this order.
enum Role: Int, Comparable {
  case unknown, stopped, started, unpromoted, promoted

  static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

  var text: String { ["Unknown", "Stopped", "Started", "Unpromoted", "Promoted"][rawValue] }

  init(_ role: ResourceNodeState.Role) {
    switch role {
    case .unknown: self = .unknown
    case .stopped: self = .stopped
    case .started: self = .started
    case .unpromoted: self = .unpromoted
    case .promoted: self = .promoted
    }
  }

  init?(parsing text: String?) {
    switch text?.lowercased() {
    case "stopped": self = .stopped
    case "started": self = .started
    case "unpromoted", "slave": self = .unpromoted
    case "promoted", "master": self = .promoted
    default: return nil
    }
  }
}

/// What to do without quorum (`no-quorum-policy`); `fence` is the old `suicide`.
enum NoQuorumPolicy: String {
  case stop, freeze, ignore, demote, fence
}

/// Cluster-wide options, read from properties with their old and new spellings.
struct Options {
  var symmetric = true
  var fencingEnabled = true
  var fenceAction = "reboot"
  var noQuorumPolicy = NoQuorumPolicy.stop
  var stopAll = false
  var maintenanceMode = false
  var concurrentFencing = true
  var probes = true
  var haveWatchdog = false
  var healthStrategy = "none"
  /// `default`, `utilization`, `minimal` or `balanced`; utilization itself is not modeled.
  var placementStrategy = "default"
  var health = (red: -Value.infinity, yellow: 0, green: 0, base: 0)
  /// `cancel-removed-actions` (deprecated, default true): a recurring operation that is no longer
  /// configured is cancelled where it runs.
  var cancelRemovedActions = true
  /// `shutdown-lock`: a resource stopped by a clean shutdown of its node may start only there again.
  var shutdownLock = false
  /// `shutdown-lock-limit` in seconds (0: locks do not expire).
  var shutdownLockLimit: Int64 = 0

  init(_ p: [String: String]) {
    symmetric = Value.bool(p["symmetric-cluster"], default: true)
    fencingEnabled = Value.bool(p["fencing-enabled"] ?? p["stonith-enabled"], default: true)
    switch (p["fencing-action"] ?? p["stonith-action"])?.lowercased() {
    case "off", "poweroff": fenceAction = "off"
    default: fenceAction = "reboot"
    }
    switch p["no-quorum-policy"]?.lowercased() {
    case "freeze": noQuorumPolicy = .freeze
    case "ignore": noQuorumPolicy = .ignore
    case "demote": noQuorumPolicy = .demote
    case "suicide", "fence": noQuorumPolicy = fencingEnabled ? .fence : .stop
    default: noQuorumPolicy = .stop
    }
    stopAll = Value.bool(p["stop-all-resources"], default: false)
    maintenanceMode = Value.bool(p["maintenance-mode"], default: false)
    concurrentFencing = Value.bool(p["concurrent-fencing"], default: true)
    probes = Value.bool(p["enable-startup-probes"], default: true)
    haveWatchdog = Value.bool(p["have-watchdog"], default: false)
    healthStrategy = p["node-health-strategy"]?.lowercased() ?? "none"
    placementStrategy = p["placement-strategy"]?.lowercased() ?? "default"
    cancelRemovedActions = Value.bool(p["cancel-removed-actions"], default: true)
    shutdownLock = Value.bool(p["shutdown-lock"], default: false)
    shutdownLockLimit = shutdownLock ? Value.seconds(p["shutdown-lock-limit"]) : 0
    switch healthStrategy {
    case "migrate-on-red": health = (-Value.infinity, 0, 0, 0)
    case "only-green": health = (-Value.infinity, -Value.infinity, 0, 0)
    default:
      health = (
        Value.score(p["node-health-red"]) ?? -Value.infinity, Value.score(p["node-health-yellow"]) ?? 0,
        Value.score(p["node-health-green"]) ?? 0,
        healthStrategy == "progressive" ? Value.score(p["node-health-base"]) ?? 0 : 0
      )
    }
  }
}

/// A cluster node as the scheduler sees it after unpacking: membership folded into flags, permanent and
/// transient attributes merged, and the count of resources assigned so far (a placement tie-break).
struct Node {
  let name: String
  var online: Bool
  var unclean: Bool
  var uncleanReason: String?
  var standby: Bool
  var maintenance: Bool
  var shutdown: Bool
  var pending: Bool
  var baseScore: Int
  var attributes: [String: String]
  var assignedCount = 0

  /// Pacemaker's `pcmk__node_available`: may run resources at all.
  var available: Bool { online && !unclean && !standby && !maintenance && !shutdown && !pending }
}

/// How a failure is handled (`on-fail`), in Pacemaker's escalation order.
enum OnFail: Int, Comparable {
  case ignore, demote, restart, restartContainer, ban, stop, block, standby, fence

  static func < (a: OnFail, b: OnFail) -> Bool { a.rawValue < b.rawValue }

  /// `restart-container` only means something for a resource with a launcher (`hasLauncher`); for
  /// any other it is not a valid value and the default applies (nil).
  init?(_ text: String?, fencingEnabled: Bool, hasLauncher: Bool = false) {
    switch text?.lowercased() {
    case "ignore", "nothing": self = .ignore
    case "demote": self = .demote
    case "restart": self = .restart
    case "restart-container":
      guard hasLauncher else { return nil }
      self = .restartContainer
    case "ban", "migrate": self = .ban
    case "stop": self = .stop
    case "block": self = .block
    case "standby": self = .standby
    case "fence": self = fencingEnabled ? .fence : .stop
    default: return nil
    }
  }
}

/// A schedulable entity: a primitive (a leaf that gets actions) or a group or clone (a container whose
/// children are primitives, groups or clone instances). Containers get pseudo-actions that order their
/// children as a unit.
struct Rsc {
  enum Variant: Int, Comparable {
    case primitive, group, clone
    static func < (a: Variant, b: Variant) -> Bool { a.rawValue < b.rawValue }
  }
  enum MultipleActive { case stopStart, stopOnly, block, stopUnexpected }
  enum Requires { case nothing, quorum, fencing }
  enum AssignState { case pending, assigning, done }

  let id: String
  let variant: Variant
  var parent: Int?
  var children: [Int] = []
  /// Own meta attributes over the parents' over `rsc_defaults`.
  var meta: [String: String]
  var operations: [OperationSpec] = []
  var isFenceDevice = false

  var priority = 0
  var stickiness = 0
  var migrationThreshold = Value.infinity
  var failureTimeout: Int64 = 0
  var multipleActive = MultipleActive.stopStart
  var requires = Requires.quorum
  /// Starting it on a node first needs that node unfenced (`requires=unfencing`, the default of
  /// every resource but fencing devices once unfencing is in use; see `Unfencing.swift`).
  var needsUnfencing = false
  var critical = true

  var managed = true
  var blocked = false
  var failed = false
  var stopIfFailed = false
  var inMaintenance = false
  var ignoreFailure = false
  /// In the state but no longer configured.
  var removed = false
  /// An instance (or instance member) of a promotable clone.
  var promotable = false
  /// A clone whose instances are distinct agent instances (`Clone.isGloballyUnique`).
  var globallyUnique = false
  /// A start is in flight: the transition repeats it so that it is waited for.
  var startPending = false
  /// Active on several nodes with `multiple-active=stop_unexpected`: only the extra copies stop.
  var stopUnexpected = false
  /// Primitives: `ResourceDefinition.digest` of the configured agent and parameters.
  var definition: String?
  /// Runs with an older definition than the configured one: restart it where it runs.
  var definitionChanged = false
  /// A stop is required where it runs (its agent changed, or a reload cannot wait for a pending
  /// start): it restarts, with no reason given.
  var stopRequired = false
  /// The node a clean shutdown locked the resource to (`shutdown-lock`), and since when.
  var lockNode: Int?
  var lockTime: Int64 = 0

  /// The resource this one runs inside (its `container` meta attribute, Pacemaker's launcher): it is
  /// placed with it, starts after it and stops before it, and its failures restart it
  /// (`Launchers.swift`).
  var launcher: Int?
  /// The primitives whose launcher this resource is (Pacemaker's "fillers").
  var launched: [Int] = []
  /// Nodes where a launched resource's failure (`on-fail=restart-container`) requires this
  /// resource to stop (and so to restart or move).
  var requiredStops: Set<Int> = []
  /// Nodes where the running fencing device's definition changed: they are unfenced again
  /// ("Device parameters changed"), with the reason to show.
  var deviceChanged: [Int: String] = [:]

  var activeNodes: [Int] = []
  /// Anonymous clone instances: the id the state records this instance under, per node where it is
  /// active (Pacemaker's `clone_name`; promotion scores may be named after it).
  var historyIds: [Int: String] = [:]
  var origRole = Role.stopped
  var nextRole = Role.unknown
  var probed: Set<Int> = []
  var activeMonitors: [Int: Set<String>] = [:]
  var failCounts: [Int: Int] = [:]

  /// Node scores; nil where the node is not in the resource's allowed table (asymmetric clusters).
  var allowed: [Int?]
  var assigned: Int?
  var assignState = AssignState.pending
  /// While a clone instance is tried on its current node: that node, taken when it is as good
  /// as the best (Pacemaker's `prefer` argument of assignment).
  var preferredNode: Int?
  var updatingScores = false
  var thisWith: [Int] = []
  var withThis: [Int] = []

  var isPrimitive: Bool { variant == .primitive }
}

/// A colocation between primitives, after group and clone colocations are mapped to the members that
/// carry them. `entityDependent`/`entityPrimary` keep the configured resources for blocking and sorting.
struct Coloc {
  let id: String
  let dependent: Int
  let primary: Int
  let score: Int
  let dependentRole: Role
  let primaryRole: Role
  let attribute: String
  let influence: Bool
  let entityDependent: Int
  let entityPrimary: Int
}

/// The scheduler's whole working state for one run: unpacked inputs, placement, and the action graph.
/// Built once by `init`, then advanced by the phases in `Scheduler.schedule`.
struct Cluster {
  let config: ResourceConfiguration
  let now: Int64
  let quorate: Bool
  var options: Options
  var nodes: [Node] = []
  var nodeIndex: [String: Int] = [:]
  var statusOrder: [Int] = []
  var rscs: [Rsc] = []
  var rscIndex: [String: Int] = [:]
  var topLevel: [Int] = []
  /// Primitives in configuration order (depth first), removed resources last.
  var primitives: [Int] = []
  /// Top-level resources in assignment order, which is also the order of the summary.
  var assignmentOrder: [Int] = []
  var colocations: [Coloc] = []
  /// Nodes in the order they became unclean (Pacemaker lists fencing in reverse of this).
  var fenceOrder: [Int] = []
  var haveFencing = false
  /// Some resource provides or requires unfencing (Pacemaker's `enable_unfencing`).
  var unfencingEnabled = false
  var notes: [String] = []
  /// Expired fail counts to clear, as (resource, node).
  var clearFailures: [(rsc: Int, node: Int)] = []
  /// What a CIB's operation digests say changed, per primitive and node where it is active, with the
  /// fail count the state records there (kept out of `Rsc`, which is copied often, as are the next two).
  var definitionChanges: [Int: [Int: (change: DefinitionChange, recordedFailCount: Int)]] = [:]
  /// Per primitive, the nodes where only reloadable parameters changed: reloaded in place unless a
  /// stop or demote of the resource becomes required (Pacemaker's reload flag).
  var reloads: [Int: [Int]] = [:]
  /// Per primitive and node, recurring operations (`monitor_10000`) to issue again: their
  /// definition changed.
  var rescheduledOperations: [Int: [Int: Set<String>]] = [:]

  var actions: [Action] = []
  var actionIndex: [ActionKey: Int] = [:]
  var actionsByRsc: [[Int]] = []
  var relations: [Relation] = []
  /// Indices into `relations` by `first << 32 | then`, to drop duplicate orderings.
  var relationsByPair: [Int: [Int]] = [:]
  /// Per `cloneOneOrMore` pseudo-action, the relations that count toward its minimum (`minRunnable`).
  var minRunnableInputs: [Int: [Int]] = [:]
  /// Relations between interleaved clone instances: an instance made unrunnable through one does not
  /// block the clone's colocation dependents (Pacemaker updates these instances on the clone's behalf
  /// without re-checking its colocations).
  var interleavedRelations: Set<Int> = []
  var colocationBlockingSuppressed = false
  /// Starts made unrunnable by `unassignInstancesWithoutInterleavePartner`.
  var unassignedStarts: Set<Int> = []
  var pendingOrders: [PendingOrder] = []

  init(_ config: ResourceConfiguration, _ state: ClusterState) {
    self.config = config
    now = state.now
    quorate = state.quorate
    options = Options(config.properties)
    buildNodes(config, state)
    for resource in config.resources { topLevel.append(addResource(resource, parent: nil, inherited: [:])) }
    addRemovedResources(state)
    primitives = rscs.indices.filter { rscs[$0].isPrimitive }
    haveFencing = options.haveWatchdog || rscs.contains { $0.isFenceDevice }
    unfencingEnabled = Self.usesUnfencing(config)
    resolveLaunchers()
    for r in primitives { deriveUnfencing(r) }
    actionsByRsc = Array(repeating: [], count: rscs.count)
    unpackStatus(state)
  }

  // MARK: Nodes

  private mutating func buildNodes(_ config: ResourceConfiguration, _ state: ClusterState) {
    var names = config.nodes.map(\.name)
    var seen = Set(names)
    for n in state.nodes where seen.insert(n.name).inserted { names.append(n.name) }
    let configured = Dictionary(config.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let live = Dictionary(state.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    for name in names {
      let cfg = configured[name]
      let st = live[name]
      var attributes = cfg?.attributes ?? [:]
      attributes.merge(st?.transientAttributes ?? [:]) { $1 }
      attributes["#uname"] = name
      attributes["#id"] = cfg?.id ?? name
      attributes["#kind"] = "member"
      attributes["#is_dc"] = state.dcNode == name ? "true" : "false"
      let membership = st?.membership ?? .offline
      // `.unclean` means gone without a clean stop. A producer that already marked a member unclean for
      // a reason the scheduler derives itself (a failure there, lost quorum) still has it online.
      let reason = st?.uncleanReason ?? ""
      let memberUnclean =
        membership == .unclean
        && (reason.hasSuffix(" failed there") || reason == "cluster does not have quorum")
      var node = Node(
        name: name, online: membership == .online || membership == .shuttingDown || memberUnclean,
        unclean: false, uncleanReason: nil,
        standby: Value.bool(attributes["standby"], default: false),
        maintenance: Value.bool(attributes["maintenance"], default: false),
        shutdown: membership == .shuttingDown, pending: st?.pending ?? false,
        baseScore: cfg?.score.value ?? 0, attributes: attributes)
      if node.pending { node.standby = true }
      nodeIndex[name] = nodes.count
      nodes.append(node)
    }
    // Pacemaker reads node states in status order: it decides which node is "current" for a resource
    // active on several and the order fencing is listed in.
    statusOrder = state.nodes.compactMap { nodeIndex[$0.name] }
    statusOrder += nodes.indices.filter { !statusOrder.contains($0) }
    for n in statusOrder {
      // Without fencing an unclean node is simply down (Pacemaker never marks it unclean then).
      if live[nodes[n].name]?.membership == .unclean && options.fencingEnabled {
        markUnclean(n, reason: live[nodes[n].name]?.uncleanReason ?? "peer is no longer part of the cluster")
      }
      if !quorate && nodes[n].online && options.noQuorumPolicy == .fence {
        markUnclean(n, reason: "cluster does not have quorum")
      }
    }
  }

  /// Pacemaker's `pe_fence_node`: the first reason sticks.
  mutating func markUnclean(_ n: Int, reason: String) {
    guard !nodes[n].unclean else { return }
    nodes[n].unclean = true
    nodes[n].uncleanReason = reason
    fenceOrder.append(n)
  }

  // MARK: Resources

  private mutating func addResource(
    _ resource: Resource, parent: Int?, inherited: [String: String], suffix: String = ""
  ) -> Int {
    switch resource {
    case .primitive(let p):
      let r = newRsc(p.id + suffix, .primitive, parent, p.meta, inherited)
      rscs[r].operations = p.operations
      rscs[r].isFenceDevice = p.agent.standard == .stonith
      rscs[r].definition = ResourceDefinition.digest(agent: p.agent, attributes: p.attributes)
      deriveMeta(r)
      return r
    case .group(let g):
      let r = newRsc(g.id + suffix, .group, parent, g.meta, inherited)
      let chain = inherited.merging(g.meta) { $1 }
      for m in g.members {
        let child = addResource(.primitive(m), parent: r, inherited: chain, suffix: suffix)
        rscs[r].children.append(child)
      }
      deriveMeta(r)
      return r
    case .clone(let c):
      // Clones are slightly sticky unless told otherwise (resource-stickiness 1, as Pacemaker), so
      // that instances are not shuffled around for nothing when a node joins.
      var own = c.meta
      if (config.resourceDefaults.merging(inherited) { $1 }.merging(own) { $1 })["resource-stickiness"] == nil
      {
        own["resource-stickiness"] = "1"
      }
      let r = newRsc(c.id, .clone, parent, own, inherited)
      rscs[r].globallyUnique = c.isGloballyUnique(resourceDefaults: config.resourceDefaults)
      let chain = inherited.merging(own) { $1 }
      let count = Value.score(rscs[r].meta["clone-max"]) ?? nodes.count
      let child: Resource =
        switch c.child {
        case .primitive(let p): .primitive(p)
        case .group(let g): .group(g)
        }
      // Constraints may name the cloned resource (or a cloned group's member): they mean the clone.
      rscIndex[child.id] = r
      if case .group(let g) = c.child { for m in g.members { rscIndex[m.id] = r } }
      for i in 0..<max(count, 0) {
        rscs[r].children.append(
          addResource(child, parent: r, inherited: chain, suffix: ":\(i)"))
      }
      deriveMeta(r)
      if c.promotable {
        for i in rscs.indices where rscs[i].isPrimitive && isCloneInstance(i) && top(i) == r {
          rscs[i].promotable = true
        }
      }
      return r
    }
  }

  /// A resource the state knows but the configuration no longer has: it must stop wherever it runs
  /// (left alone when `stop-removed-resources`, formerly `stop-orphan-resources`, is false).
  private mutating func addRemovedResources(_ state: ClusterState) {
    for id in state.resources.keys.sorted() {
      // The cloned primitive's own id, recorded before a unique clone was made of it: a different
      // agent instance from the clone's `id:N`, so it stops. Constraints naming `id` still mean the clone.
      guard let clone = rscIndex[id], isUniqueClone(clone), rscs[clone].id != id else { continue }
      addRemovedResource(id)
      rscIndex[id] = clone
    }
    for id in state.resources.keys.sorted() where rscIndex[id] == nil {
      if let colon = id.firstIndex(of: ":"), let owner = rscIndex[String(id[..<colon])] {
        // An instance numbered from clone-max up (clone-max was lowered) is no longer configured. An
        // instance of a resource that is no longer cloned is that primitive's history on its node
        // (`InstanceAlias`: Pacemaker records anonymous instances under the resource's own id).
        let number = Int(id[id.index(after: colon)...])
        if rscs[owner].variant == .clone, let number, number < rscs[owner].children.count { continue }
        if rscs[owner].variant != .clone { continue }
      }
      addRemovedResource(id)
    }
  }

  @discardableResult
  mutating func addRemovedResource(_ id: String) -> Int {
    let r = newRsc(id, .primitive, nil, [:], [:])
    deriveMeta(r)
    rscs[r].removed = true
    rscs[r].managed = Value.bool(
      config.properties["stop-removed-resources"] ?? config.properties["stop-orphan-resources"],
      default: true)
    rscs[r].nextRole = .stopped
    addLocation(r, node: nil, score: -Value.infinity)
    topLevel.append(r)
    return r
  }

  private mutating func newRsc(
    _ id: String, _ variant: Rsc.Variant, _ parent: Int?, _ own: [String: String],
    _ inherited: [String: String]
  ) -> Int {
    let meta = config.resourceDefaults.merging(inherited) { $1 }.merging(own) { $1 }
    let initial: [Int?] = nodes.map { options.symmetric ? $0.baseScore : nil }
    rscs.append(
      Rsc(id: id, variant: variant, parent: parent, meta: meta, allowed: initial))
    rscIndex[id] = rscs.count - 1
    return rscs.count - 1
  }

  private mutating func deriveMeta(_ r: Int) {
    let meta = rscs[r].meta
    rscs[r].priority = Value.score(meta["priority"]) ?? 0
    rscs[r].stickiness = Value.score(meta["resource-stickiness"]) ?? 0
    rscs[r].migrationThreshold = max(Value.score(meta["migration-threshold"]) ?? Value.infinity, 0)
    rscs[r].failureTimeout = Value.seconds(meta["failure-timeout"])
    rscs[r].critical = Value.bool(meta["critical"], default: true)
    switch meta["multiple-active"]?.lowercased() {
    case "stop_only": rscs[r].multipleActive = .stopOnly
    case "block": rscs[r].multipleActive = .block
    case "stop_unexpected": rscs[r].multipleActive = .stopUnexpected
    default: rscs[r].multipleActive = .stopStart
    }
    let fencing = options.fencingEnabled && !rscs[r].isFenceDevice
    switch meta["requires"]?.lowercased() {
    case "nothing": rscs[r].requires = .nothing
    case "quorum": rscs[r].requires = .quorum
    case "fencing", "unfencing": rscs[r].requires = options.fencingEnabled ? .fencing : .quorum
    default:
      // Without fencing and with no-quorum-policy=ignore nothing is needed (fence devices need quorum).
      let nothing = !rscs[r].isFenceDevice && !options.fencingEnabled && options.noQuorumPolicy == .ignore
      rscs[r].requires = fencing ? .fencing : nothing ? .nothing : .quorum
    }
    rscs[r].managed = Value.bool(meta["is-managed"], default: true)
    if Value.bool(meta["maintenance"], default: false) || options.maintenanceMode {
      rscs[r].managed = false
      rscs[r].inMaintenance = true
    }
    if let target = Role(parsing: meta["target-role"]), target == .stopped {
      rscs[r].nextRole = .stopped
    }
  }

  /// Pacemaker's `resource_location`: add a score for one node (or all), recursing into children.
  mutating func addLocation(_ r: Int, node: Int?, score: Int) {
    if !rscs[r].children.isEmpty {
      for c in rscs[r].children { addLocation(c, node: node, score: score) }
      // A clone keeps its own table too: an instance may not run where it is negative, and its
      // promotion priorities start from it.
      guard rscs[r].variant == .clone else { return }
    }
    for n in node.map({ [$0] }) ?? Array(nodes.indices) {
      rscs[r].allowed[n] = Value.add(rscs[r].allowed[n] ?? nodes[n].baseScore, score)
    }
  }

  func top(_ r: Int) -> Int {
    var r = r
    while let p = rscs[r].parent { r = p }
    return r
  }

  /// An instance of a clone, or a member of a cloned group's instance.
  func isCloneInstance(_ r: Int) -> Bool {
    guard let parent = rscs[r].parent else { return false }
    return rscs[top(parent)].variant == .clone
  }

  /// A clone instance whose clone is not globally unique: interchangeable with its siblings, so its
  /// history, failures and bans are the clone's.
  func isAnonymousCloneInstance(_ r: Int) -> Bool {
    isCloneInstance(r) && !isUniqueClone(top(r))
  }

  /// A globally unique clone: each instance is a distinct agent instance (its history is recorded under
  /// `rsc:N`, it has its own fail counts, stickiness and promotion score).
  func isUniqueClone(_ r: Int) -> Bool { rscs[r].variant == .clone && rscs[r].globallyUnique }
}
