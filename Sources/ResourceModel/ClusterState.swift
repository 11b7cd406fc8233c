/// What the scheduler knows about the live cluster — the equivalent of the CIB's `<status>` after
/// Pacemaker unpacks it: which nodes are up, where each resource is running and in which role,
/// what failed and how often.
///
/// The DC builds it from membership/quorum events and executor results; `swpcs simulate` builds it
/// from a CIB's status section; the simulation builds it from simulated nodes.
public struct ClusterState: Codable, Sendable, Equatable {
  public var nodes: [NodeState]
  /// The partition this DC is in has quorum.
  public var quorate: Bool
  /// Per resource instance id (primitive id, or `id:N` for clone instances), per node. No entry
  /// means never probed there (unknown). A key naming no configured primitive or instance (for
  /// anonymous clones, numbers from clone-max up) is a resource no longer configured.
  public var resources: [String: [String: ResourceNodeState]]
  /// Seconds since the epoch: "now" for failure-timeout expiry and rules.
  public var now: Int64
  /// The node acting as DC (for the `#is_dc` rule attribute), if known.
  public var dcNode: String?
  public init(
    nodes: [NodeState] = [], quorate: Bool = true, resources: [String: [String: ResourceNodeState]] = [:],
    now: Int64 = 0, dcNode: String? = nil
  ) {
    self.nodes = nodes
    self.quorate = quorate
    self.resources = resources
    self.now = now
    self.dcNode = dcNode
  }
}

/// One cluster node as the DC sees it.
public struct NodeState: Codable, Sendable, Equatable {
  public enum Membership: String, Codable, Sendable {
    /// Member of the DC's view and its resource manager has joined.
    case online
    /// Cleanly gone (or fenced): nothing runs there.
    case offline
    /// Left without a clean stop and not yet fenced: its resources may still be active.
    case unclean
    /// Online but its resource manager is shutting down.
    case shuttingDown = "shutting-down"
  }
  public var name: String
  public var membership: Membership
  /// Transient attributes (`#health`, promotion scores `master-RSC`, fail counts are separate).
  /// They override the node's permanent attributes of the same name.
  public var transientAttributes: [String: String]
  /// A member whose resource manager has not finished joining (Pacemaker's "pending"): it is up,
  /// but nothing may be started on it yet.
  public var pending: Bool
  /// Why an `unclean` node must be fenced (the quoted reason of Pacemaker's `Fence` summary line,
  /// e.g. "peer is no longer part of the cluster").
  public var uncleanReason: String?
  public init(
    name: String, membership: Membership, transientAttributes: [String: String] = [:], pending: Bool = false,
    uncleanReason: String? = nil
  ) {
    self.name = name
    self.membership = membership
    self.transientAttributes = transientAttributes
    self.pending = pending
    self.uncleanReason = uncleanReason
  }
}

/// The state of one resource instance on one node, as its operation history says.
public struct ResourceNodeState: Codable, Sendable, Equatable {
  public enum Role: String, Codable, Sendable {
    /// Probed and not running.
    case stopped = "Stopped"
    /// For a promotable clone instance: started, but neither promoted nor demoted since (Pacemaker
    /// turns it into Unpromoted when it chooses the clone's roles, and shows it so).
    case started = "Started"
    case unpromoted = "Unpromoted"
    case promoted = "Promoted"
    /// Never probed on this node: its state is unknown.
    case unknown = "Unknown"
  }
  public var role: Role
  /// The last operation failed and the resource needs recovery (stop at least) on this node.
  public var failed: Bool
  /// A stop failed: the resource is blocked here until cleanup (or the node is fenced).
  public var stopFailed: Bool
  /// Fail count per operation key (e.g. `monitor_10000`, `start_0`), as recorded: failure-timeout is
  /// not applied (compare `lastFailure` with `ClusterState.now`). The empty key holds a pre-2.0
  /// whole-resource count (`fail-count-RSC`).
  public var failCounts: [String: Int]
  /// Seconds since the epoch of the last failure, for failure-timeout.
  public var lastFailure: Int64?
  /// Recurring monitors already active here (operation keys like `monitor_10000`).
  public var activeMonitors: [String]
  /// An operation is in flight (record-pending).
  public var pending: String?
  /// The operation key (e.g. `monitor_10000`) of the failure that still needs handling.
  public var failedOperation: String?
  /// How that failure is handled, resolved from the failed operation's `on-fail` and its defaults:
  /// restart | block | stop | ban | standby | fence | demote | restart-container. Set even when the
  /// resource is no longer active (e.g. `stop` keeps it stopped, `ban` keeps it off this node).
  public var onFail: String?
  /// A hard error here (agent not installed, invalid parameters, insufficient privileges, or a
  /// probe that says so): the resource may not run on this node until cleaned up.
  public var hardError: Bool
  /// The agent said the resource is not configured: it may not run anywhere until cleaned up.
  public var fatalError: Bool
  /// No action may be taken for the resource until cleanup: a failure with `on-fail=block`, or a
  /// failed stop that fencing cannot recover.
  public var blocked: Bool
  /// `ResourceDefinition.digest` of the agent and parameters the running instance was started with
  /// (nil: not known, e.g. found running by a probe or imported from a CIB). When it differs from the
  /// configuration's, the scheduler restarts the resource ("due to resource definition change").
  public var definition: String?
  /// What changed in the configuration since the history on this node was recorded, as Pacemaker
  /// tells it from the operation digests of a CIB's status (set by the CIB importer; nil when nothing
  /// was compared, as for our own runtime, which uses `definition`).
  public var definitionChange: DefinitionChange?
  /// Seconds since the epoch at which this node shut down cleanly and stopped the resource, leaving
  /// it locked there (Pacemaker's `shutdown-lock` attribute of `lrm_resource`). With the
  /// `shutdown-lock` cluster property the resource may start only on this node again until the node
  /// returns or `shutdown-lock-limit` has passed.
  public var shutdownLock: Int64?
  public init(
    role: Role, failed: Bool = false, stopFailed: Bool = false, failCounts: [String: Int] = [:],
    lastFailure: Int64? = nil, activeMonitors: [String] = [], pending: String? = nil,
    failedOperation: String? = nil, onFail: String? = nil, hardError: Bool = false, fatalError: Bool = false,
    blocked: Bool = false, definition: String? = nil, definitionChange: DefinitionChange? = nil,
    shutdownLock: Int64? = nil
  ) {
    self.role = role
    self.failed = failed
    self.stopFailed = stopFailed
    self.failCounts = failCounts
    self.lastFailure = lastFailure
    self.activeMonitors = activeMonitors
    self.pending = pending
    self.failedOperation = failedOperation
    self.onFail = onFail
    self.hardError = hardError
    self.fatalError = fatalError
    self.blocked = blocked
    self.definition = definition
    self.definitionChange = definitionChange
    self.shutdownLock = shutdownLock
  }
  public var totalFailCount: Int { failCounts.values.reduce(0, +) }
}

/// How the configuration of a resource changed since its operation history on one node was
/// recorded: Pacemaker compares each history entry's recorded digests of the parameters
/// (`op-digest`, `op-restart-digest`) with digests of the configuration now in force, and restarts,
/// reloads or re-issues what no longer matches. The CIB importer does the comparison (it needs the
/// XML); the scheduler applies the outcome where Pacemaker would (the node can run resources and the
/// resource is active there).
public struct DefinitionChange: Codable, Sendable, Equatable {
  /// The agent (class, provider or type) is not the one the history was recorded with: stop the
  /// resource here and start it again (no reload is possible).
  public var agentChanged: Bool
  /// The parameters the resource was started (or promoted) with changed: restart it.
  public var restart: Bool
  /// Only parameters the agent can reload changed (the history has an `op-restart-digest`): reload it
  /// in place, unless it has to stop anyway.
  public var reload: Bool
  /// Recurring operations (`monitor_10000`) whose definition changed: re-issue them.
  public var rescheduled: [String]
  /// Recurring operations that run here but are no longer configured (or are disabled): cancel them.
  public var removed: [String]
  /// A failed start or monitor (the `_last_failure_0` entry) was recorded with other parameters: its
  /// fail count is cleared, whatever the node's state.
  public var failureParametersChanged: Bool

  public init(
    agentChanged: Bool = false, restart: Bool = false, reload: Bool = false, rescheduled: [String] = [],
    removed: [String] = [], failureParametersChanged: Bool = false
  ) {
    self.agentChanged = agentChanged
    self.restart = restart
    self.reload = reload
    self.rescheduled = rescheduled
    self.removed = removed
    self.failureParametersChanged = failureParametersChanged
  }

  /// Both histories' changes (two histories of one instance on a node).
  public static func merged(_ a: DefinitionChange?, _ b: DefinitionChange?) -> DefinitionChange? {
    guard let a, let b else { return a ?? b }
    return DefinitionChange(
      agentChanged: a.agentChanged || b.agentChanged, restart: a.restart || b.restart,
      reload: a.reload || b.reload,
      rescheduled: a.rescheduled + b.rescheduled.filter { !a.rescheduled.contains($0) },
      removed: a.removed + b.removed.filter { !a.removed.contains($0) },
      failureParametersChanged: a.failureParametersChanged || b.failureParametersChanged)
  }

  /// Something changed that is acted on where the resource is active.
  public var affectsActiveResource: Bool {
    agentChanged || restart || reload || !rescheduled.isEmpty || !removed.isEmpty
  }
}

/// What identifies the definition a primitive instance runs with: its agent and its instance
/// attributes (not meta attributes or operations, as Pacemaker's op-digest). A 64-bit FNV-1a over a
/// canonical text, attributes sorted by name; stable across processes and versions.
public enum ResourceDefinition {
  public static func digest(agent: AgentSpec, attributes: [Attribute]) -> String {
    var text = "\(agent)"
    for a in attributes.enumerated().sorted(by: {
      ($0.element.name, $0.offset) < ($1.element.name, $1.offset)
    }) {
      text += "\u{0}\(a.element.name)=\(a.element.value)"
    }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    return String(hash, radix: 16)
  }
}

/// Record keys that name the same agent instance on a node. Pacemaker records an anonymous clone's
/// instance under the resource's own id, so a primitive that is cloned keeps its history, and a clone
/// that is uncloned leaves its history to the primitive. Here instances are recorded as `id:N`: the
/// bare `id` and `id:N` on one node are the same agent state (anonymous instances get
/// `OCF_RESOURCE_INSTANCE=id`), whichever of the two the configuration names now. Not for a globally
/// unique clone: its instances are known to their agent as `id:N`, each a different agent instance from
/// the bare `id` (the scheduler and the controller, which know the clone, do not treat them as aliases).
/// Once a unique clone is uncloned nothing says its `id:N` records were unique: they are then taken as
/// the primitive's, as an anonymous clone's would be.
public enum InstanceAlias {
  /// The id without an instance number (`web:2` → `web`).
  public static func base(_ key: String) -> Substring {
    key.prefix { $0 != ":" }
  }

  /// Whether `other` is a different key for the agent instance recorded as `key`: `web` and `web:N`
  /// are, `web:0` and `web:1` are not (two anonymous instances may run on one node).
  public static func areAliases(_ key: String, _ other: String) -> Bool {
    guard key != other, base(key) == base(other) else { return false }
    return !key.contains(":") || !other.contains(":")
  }

  /// Moves the records of `key`'s aliases on `node` into `key`'s own: the most active alias record
  /// becomes `key`'s when it has none, and the alias records on that node go. Called when an action
  /// of `key` is requested or reported there, so one record stays per agent instance. `cloned`: `key`
  /// is a bare id whose resource is now a clone (a monitor left from before it was cloned): its
  /// numbered records are the clone's own instances, so at most the one it takes over goes.
  public static func adopt(
    _ key: String, node: String, cloned: Bool = false,
    in resources: inout [String: [String: ResourceNodeState]]
  ) {
    let aliases = resources.keys.filter { areAliases(key, $0) && resources[$0]?[node] != nil }.sorted()
    guard !aliases.isEmpty else { return }
    var taken: [String] = aliases
    if resources[key]?[node] == nil {
      var best: (id: String, state: ResourceNodeState)?
      for alias in aliases {
        guard let s = resources[alias]?[node] else { continue }
        if best.map({ moreActive(s, than: $0.state) }) ?? true { best = (alias, s) }
      }
      resources[key, default: [:]][node] = best?.state
      if cloned { taken = best.map { [$0.id] } ?? [] }
    } else if cloned {
      taken = []
    }
    for alias in taken {
      resources[alias]?[node] = nil
      if resources[alias]?.isEmpty == true { resources[alias] = nil }
    }
  }

  /// Whether actions on `a` and `b` (resource keys, with the meta attributes they run with) reach one
  /// agent instance on a node: the same key, or — unless either is a globally unique clone instance —
  /// the same resource under any instance number or none (an anonymous clone's agent knows every
  /// instance by the bare id, and runs at most one per node).
  public static func sameAgentInstance(
    _ a: String, _ metaA: [String: String], _ b: String, _ metaB: [String: String]
  ) -> Bool {
    if a == b { return true }
    let unique = { (meta: [String: String]) in Clone.isTrue(meta["globally-unique"]) }
    return !unique(metaA) && !unique(metaB) && base(a) == base(b)
  }

  /// For an anonymous clone's instance `key` (`web:2`) acting on `node`: the records of the clone's
  /// other instance numbers there (`web:0`) are the same agent instance's — partitions that merge
  /// numbered it differently, or an instance moved through the node — and become `key`'s: the most
  /// active one's role and flags, every record's fail counts added up. One record per agent
  /// instance and node, as Pacemaker keeps one history under the bare id.
  public static func adoptInstances(
    _ key: String, node: String, in resources: inout [String: [String: ResourceNodeState]]
  ) {
    guard key.contains(":") else { return }
    let others = resources.keys.filter {
      $0 != key && $0.contains(":") && base($0) == base(key) && resources[$0]?[node] != nil
    }.sorted()
    guard !others.isEmpty else { return }
    var merged = resources[key]?[node]
    for other in others {
      guard let s = resources[other]?[node] else { continue }
      var kept = s
      if let previous = merged {
        kept = moreActive(s, than: previous) ? s : previous
        kept.addFailures(of: moreActive(s, than: previous) ? previous : s)
      }
      merged = kept
      resources[other]?[node] = nil
      if resources[other]?.isEmpty == true { resources[other] = nil }
    }
    resources[key, default: [:]][node] = merged
  }

  /// The record that says more about what runs: a higher role, or a failure.
  public static func moreActive(_ a: ResourceNodeState, than b: ResourceNodeState) -> Bool {
    func rank(_ r: ResourceNodeState.Role) -> Int {
      switch r {
      case .unknown: 0
      case .stopped: 1
      case .started, .unpromoted: 2
      case .promoted: 3
      }
    }
    return rank(a.role) > rank(b.role) || (a.failed && !b.failed)
  }
}

extension ResourceNodeState {
  /// Takes `other`'s failures in as the same agent instance's: fail counts added per operation (score
  /// addition, capped at INFINITY), the later last failure, hard and fatal errors.
  public mutating func addFailures(of other: ResourceNodeState) {
    failCounts.merge(other.failCounts) { (Score($0) + Score($1)).value }
    if let t = other.lastFailure, t > lastFailure ?? .min { lastFailure = t }
    hardError = hardError || other.hardError
    fatalError = fatalError || other.fatalError
  }
}
