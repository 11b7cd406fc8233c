import ClusterTypes

/// The replicated cluster configuration — swpcs's equivalent of the CIB's `<configuration>`:
/// properties, defaults, nodes and their attributes, resources and constraints.
///
/// A plain `Codable` value: the store persists it, swcorosync's ordered messaging replicates it, the
/// scheduler reads it, the CLI edits it, the CIB importer produces it. Versioned like the CIB:
/// (admin_epoch, epoch, num_updates), compared in that order; the highest wins when partitions merge.
public struct ResourceConfiguration: Codable, Sendable, Equatable {
  public var version: ConfigVersion
  /// Cluster properties by Pacemaker name (`stonith-enabled`, `no-quorum-policy`, ...). Aliases are
  /// resolved by `ClusterProperties`.
  public var properties: [String: String]
  /// `rsc_defaults` meta attributes (`resource-stickiness`, `migration-threshold`, ...).
  public var resourceDefaults: [String: String]
  /// `op_defaults` (`timeout`, ...).
  public var operationDefaults: [String: String]
  /// Per-node permanent attributes (`standby`, `maintenance`, user attributes for rules).
  public var nodes: [NodeConfiguration]
  /// Top-level resources in configuration order (order breaks scheduling ties, as in the CIB).
  public var resources: [Resource]
  public var constraints: Constraints
  /// Fencing topology: levels 1-9 per target.
  public var fencingLevels: [FencingLevel]

  public init(
    version: ConfigVersion = ConfigVersion(), properties: [String: String] = [:],
    resourceDefaults: [String: String] = [:], operationDefaults: [String: String] = [:],
    nodes: [NodeConfiguration] = [], resources: [Resource] = [], constraints: Constraints = Constraints(),
    fencingLevels: [FencingLevel] = []
  ) {
    self.version = version
    self.properties = properties
    self.resourceDefaults = resourceDefaults
    self.operationDefaults = operationDefaults
    self.nodes = nodes
    self.resources = resources
    self.constraints = constraints
    self.fencingLevels = fencingLevels
  }
}

/// (admin_epoch, epoch, num_updates): Pacemaker's configuration version, compared lexicographically,
/// then by `acceptedIn`. Every accepted change bumps `epoch` (and resets `numUpdates`); `adminEpoch`
/// is raised only by an administrator to force one copy to win.
public struct ConfigVersion: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
  public var adminEpoch: UInt64
  public var epoch: UInt64
  public var numUpdates: UInt64
  /// The membership view in which the DC accepted the change that made this version (nil: not
  /// known — imported, edited offline, or from a controller not told its views). Two copies of one
  /// version exist when a publish reached only part of a view that was splitting and the majority
  /// then accepted another change from the same base; the later view's copy wins. It is the one
  /// that may have been acknowledged: an acknowledged copy was held by every member of a quorate
  /// view, and any later quorate view shares a member with it, so its DC could not have accepted
  /// the other change from the base.
  public var acceptedIn: ViewId?
  public init(adminEpoch: UInt64 = 0, epoch: UInt64 = 0, numUpdates: UInt64 = 0, acceptedIn: ViewId? = nil) {
    self.adminEpoch = adminEpoch
    self.epoch = epoch
    self.numUpdates = numUpdates
    self.acceptedIn = acceptedIn
  }
  public static func < (a: ConfigVersion, b: ConfigVersion) -> Bool {
    if (a.adminEpoch, a.epoch, a.numUpdates) != (b.adminEpoch, b.epoch, b.numUpdates) {
      return (a.adminEpoch, a.epoch, a.numUpdates) < (b.adminEpoch, b.epoch, b.numUpdates)
    }
    switch (a.acceptedIn, b.acceptedIn) {
    case (nil, nil), (_, nil): return false
    case (nil, _): return true
    case (let x?, let y?): return x < y
    }
  }
  /// Pacemaker's spelling (and the store's file name): without the view.
  public var description: String { "\(adminEpoch).\(epoch).\(numUpdates)" }
  /// (admin_epoch, epoch, num_updates) alone, without the view (what a store file is named by).
  public var numbers: ConfigVersion {
    ConfigVersion(adminEpoch: adminEpoch, epoch: epoch, numUpdates: numUpdates)
  }
}

/// A node's permanent attributes.
public struct NodeConfiguration: Codable, Sendable, Equatable {
  public var name: String
  public var attributes: [String: String]
  /// The node's id when it differs from its name (Pacemaker's node uuid; the `#id` rule attribute).
  public var id: String?
  /// A base score added to every resource's preference for this node (Pacemaker's `<node score>`).
  public var score: Score
  public init(name: String, attributes: [String: String] = [:], id: String? = nil, score: Score = .zero) {
    self.name = name
    self.attributes = attributes
    self.id = id
    self.score = score
  }
}

/// `class[:provider]:type` — which agent runs a primitive.
public struct AgentSpec: Codable, Sendable, Hashable, CustomStringConvertible {
  public enum Standard: String, Codable, Sendable, CaseIterable {
    case ocf
    case systemd
    case stonith
    case service
    case lsb
  }
  public var standard: Standard
  public var provider: String?
  public var type: String
  public init(standard: Standard, provider: String? = nil, type: String) {
    self.standard = standard
    self.provider = provider
    self.type = type
  }
  /// Parses `ocf:heartbeat:IPaddr2`, `systemd:nginx`, `stonith:fence_xvm`.
  public init?(parsing text: String) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard let first = parts.first, let standard = Standard(rawValue: first.lowercased()) else { return nil }
    switch (standard, parts.count) {
    case (.ocf, 3): self.init(standard: .ocf, provider: parts[1], type: parts[2])
    case (.ocf, _): return nil
    case (_, 2): self.init(standard: standard, type: parts[1])
    default: return nil
    }
    if type.isEmpty || provider?.isEmpty == true { return nil }
  }
  public var description: String {
    provider.map { "\(standard.rawValue):\($0):\(type)" } ?? "\(standard.rawValue):\(type)"
  }
}

/// One resource operation definition (`op monitor interval=10s timeout=20s on-fail=restart`).
public struct OperationSpec: Codable, Sendable, Equatable {
  public var id: String
  /// start, stop, monitor, promote, demote, notify, ...
  public var name: String
  /// Milliseconds; 0 for non-recurring actions.
  public var intervalMs: Int
  public var timeoutMs: Int?
  /// restart | stop | block | ignore | standby | fence | demote
  public var onFail: String?
  /// Started | Promoted | Unpromoted (for role-specific monitors).
  public var role: String?
  public var enabled: Bool
  /// Any other attribute (start-delay, interval-origin, record-pending, ...).
  public var extra: [String: String]
  public init(
    id: String, name: String, intervalMs: Int = 0, timeoutMs: Int? = nil, onFail: String? = nil,
    role: String? = nil,
    enabled: Bool = true, extra: [String: String] = [:]
  ) {
    self.id = id
    self.name = name
    self.intervalMs = intervalMs
    self.timeoutMs = timeoutMs
    self.onFail = onFail
    self.role = role
    self.enabled = enabled
    self.extra = extra
  }
}

/// A name/value pair that keeps its order (instance attributes are passed to agents in order).
public struct Attribute: Codable, Sendable, Equatable {
  public var name: String
  public var value: String
  public init(_ name: String, _ value: String) {
    self.name = name
    self.value = value
  }
}

/// A primitive resource: one agent instance.
public struct Primitive: Codable, Sendable, Equatable {
  public var id: String
  public var agent: AgentSpec
  /// Instance attributes, passed to the agent (OCF_RESKEY_name).
  public var attributes: [Attribute]
  /// Meta attributes (target-role, is-managed, resource-stickiness, migration-threshold,
  /// failure-timeout, priority, ...).
  public var meta: [String: String]
  public var operations: [OperationSpec]
  public init(
    id: String, agent: AgentSpec, attributes: [Attribute] = [], meta: [String: String] = [:],
    operations: [OperationSpec] = []
  ) {
    self.id = id
    self.agent = agent
    self.attributes = attributes
    self.meta = meta
    self.operations = operations
  }
}

/// An ordered, colocated chain of primitives that starts first to last and stops last to first.
public struct Group: Codable, Sendable, Equatable {
  public var id: String
  public var meta: [String: String]
  public var members: [Primitive]
  public init(id: String, meta: [String: String] = [:], members: [Primitive]) {
    self.id = id
    self.meta = meta
    self.members = members
  }
}

/// A clone (one instance per node, `clone-max`, `clone-node-max`) or a promotable clone.
public struct Clone: Codable, Sendable, Equatable {
  public enum Child: Codable, Sendable, Equatable {
    case primitive(Primitive)
    case group(Group)
  }
  public var id: String
  public var meta: [String: String]
  public var promotable: Bool
  public var child: Child
  public init(id: String, meta: [String: String] = [:], promotable: Bool = false, child: Child) {
    self.id = id
    self.meta = meta
    self.promotable = promotable
    self.child = child
  }
}

extension Clone {
  /// Whether every instance is a distinct agent instance, known to its agent as `CHILD:N` (anonymous
  /// instances are all known as `CHILD` and are interchangeable). Pacemaker's rule: `globally-unique`
  /// (the clone's, else `rsc_defaults`), which defaults to true when `clone-node-max` is above 1; never
  /// for agents that cannot run several instances on a node (only OCF and fence agents can).
  public func isGloballyUnique(resourceDefaults: [String: String] = [:]) -> Bool {
    let members: [Primitive] =
      switch child {
      case .primitive(let p): [p]
      case .group(let g): g.members
      }
    guard members.allSatisfy({ [.ocf, .stonith].contains($0.agent.standard) }) else { return false }
    if let value = meta["globally-unique"] ?? resourceDefaults["globally-unique"] {
      return Self.isTrue(value)
    }
    let nodeMax = meta["clone-node-max"] ?? resourceDefaults["clone-node-max"]
    return nodeMax.flatMap { Int($0.filter { $0 != " " }) }.map { $0 > 1 } ?? false
  }

  /// A meta attribute's boolean value with Pacemaker's spellings (`crm_is_true`).
  public static func isTrue(_ value: String?) -> Bool {
    value.map { ["true", "yes", "on", "1", "y"].contains($0.lowercased()) } ?? false
  }
}

/// A top-level resource entry.
public enum Resource: Codable, Sendable, Equatable {
  case primitive(Primitive)
  case group(Group)
  case clone(Clone)

  public var id: String {
    switch self {
    case .primitive(let p): p.id
    case .group(let g): g.id
    case .clone(let c): c.id
    }
  }
}

/// Location, colocation and order constraints.
public struct Constraints: Codable, Sendable, Equatable {
  public var locations: [LocationConstraint]
  public var colocations: [ColocationConstraint]
  public var orders: [OrderConstraint]
  public init(
    locations: [LocationConstraint] = [], colocations: [ColocationConstraint] = [],
    orders: [OrderConstraint] = []
  ) {
    self.locations = locations
    self.colocations = colocations
    self.orders = orders
  }
}

/// `rsc` prefers (score > 0) or avoids (score < 0) `node`, or every node matching `rules`.
public struct LocationConstraint: Codable, Sendable, Equatable {
  public var id: String
  public var resource: String
  public var node: String?
  public var score: Score
  /// Started / Promoted / Unpromoted: the constraint applies to that role only.
  public var role: String?
  /// Node-attribute rules (used instead of `node`/`score`); each rule carries its own score.
  public var rules: [LocationRule]
  public init(
    id: String, resource: String, node: String? = nil, score: Score, role: String? = nil,
    rules: [LocationRule] = []
  ) {
    self.id = id
    self.resource = resource
    self.node = node
    self.score = score
    self.role = role
    self.rules = rules
  }
}

/// A rule of a location constraint: `score` applies on nodes where the expressions hold
/// (`boolean-op` and/or).
public struct LocationRule: Codable, Sendable, Equatable {
  public var id: String
  public var score: Score
  /// Name of a node attribute whose value is the score (`score-attribute`), instead of `score`.
  public var scoreAttribute: String?
  public var booleanOp: String
  public var role: String?
  public var expressions: [NodeExpression]
  public init(
    id: String, score: Score, scoreAttribute: String? = nil, booleanOp: String = "and", role: String? = nil,
    expressions: [NodeExpression]
  ) {
    self.id = id
    self.score = score
    self.scoreAttribute = scoreAttribute
    self.booleanOp = booleanOp
    self.role = role
    self.expressions = expressions
  }
}

/// `attribute operation value` over node attributes (`#uname eq node1`, `defined pingd`, `lt 5`).
public struct NodeExpression: Codable, Sendable, Equatable {
  public var attribute: String
  /// lt, gt, lte, gte, eq, ne, defined, not_defined
  public var operation: String
  public var value: String?
  /// string | integer | number | version
  public var type: String?
  public init(attribute: String, operation: String, value: String? = nil, type: String? = nil) {
    self.attribute = attribute
    self.operation = operation
    self.value = value
    self.type = type
  }
}

/// `resource` should run where `withResource` runs (score > 0) or away from it (score < 0).
public struct ColocationConstraint: Codable, Sendable, Equatable {
  public var id: String
  public var resource: String
  public var withResource: String
  public var score: Score
  public var role: String?
  public var withRole: String?
  /// Colocate by this node attribute instead of by node (`node-attribute`; nil means `#uname`).
  public var nodeAttribute: String?
  public init(
    id: String, resource: String, withResource: String, score: Score, role: String? = nil,
    withRole: String? = nil, nodeAttribute: String? = nil
  ) {
    self.id = id
    self.resource = resource
    self.withResource = withResource
    self.score = score
    self.role = role
    self.withRole = withRole
    self.nodeAttribute = nodeAttribute
  }
}

/// `firstAction first` then `thenAction then`.
public struct OrderConstraint: Codable, Sendable, Equatable {
  public enum Kind: String, Codable, Sendable {
    case mandatory = "Mandatory"
    case optional = "Optional"
    case serialize = "Serialize"
  }
  public var id: String
  public var first: String
  public var firstAction: String
  public var then: String
  public var thenAction: String
  public var kind: Kind
  public var symmetrical: Bool
  /// When `first` is a clone: false means one runnable instance of it is enough for `then`
  /// (`require-all="false"`).
  public var requireAll: Bool
  public init(
    id: String, first: String, firstAction: String = "start", then: String, thenAction: String = "start",
    kind: Kind = .mandatory, symmetrical: Bool = true, requireAll: Bool = true
  ) {
    self.id = id
    self.first = first
    self.firstAction = firstAction
    self.then = then
    self.thenAction = thenAction
    self.kind = kind
    self.symmetrical = symmetrical
    self.requireAll = requireAll
  }
}

/// One fencing topology level: to fence `target`, all `devices` must succeed.
public struct FencingLevel: Codable, Sendable, Equatable {
  public var id: String
  public var target: String
  public var index: Int
  public var devices: [String]
  public init(id: String, target: String, index: Int, devices: [String]) {
    self.id = id
    self.target = target
    self.index = index
    self.devices = devices
  }
}

extension ResourceConfiguration {
  /// The resource a primitive runs inside: its `container` meta attribute (its own, else its
  /// group's, else its clone's, else `rsc_defaults`'), when that names another configured resource
  /// — not the primitive itself, nor one of its enclosing group or clone (Pacemaker ignores those).
  /// Clone instance ids (`rsc:2`) name their primitive.
  public func launcher(of primitiveId: String) -> String? {
    let base = String(primitiveId.prefix { $0 != ":" })
    var chain: [(id: String, meta: [String: String])] = []
    var ids: Set<String> = []
    for resource in resources {
      ids.insert(resource.id)
      switch resource {
      case .primitive(let p):
        if p.id == base { chain = [(p.id, p.meta)] }
      case .group(let g):
        ids.formUnion(g.members.map(\.id))
        if let p = g.members.first(where: { $0.id == base }) { chain = [(p.id, p.meta), (g.id, g.meta)] }
      case .clone(let c):
        switch c.child {
        case .primitive(let p):
          ids.insert(p.id)
          if p.id == base { chain = [(p.id, p.meta), (c.id, c.meta)] }
        case .group(let g):
          ids.insert(g.id)
          ids.formUnion(g.members.map(\.id))
          if let p = g.members.first(where: { $0.id == base }) {
            chain = [(p.id, p.meta), (g.id, g.meta), (c.id, c.meta)]
          }
        }
      }
    }
    guard !chain.isEmpty,
      let id = chain.lazy.compactMap({ $0.meta["container"] }).first ?? resourceDefaults["container"],
      ids.contains(id), !chain.contains(where: { $0.id == id })
    else { return nil }
    return id
  }
}
