import ResourceModel

/// Why a configuration edit was refused; one line the user can act on.
public struct ConfigEditError: Error, Equatable, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// The edits `swpcs` makes to the configuration, as pure functions: the CLI reads the current
/// configuration, applies one of these, and sends the result back with the version it read. Every
/// edit validates its input and leaves the configuration untouched when it throws.
public enum ConfigEdits {
  /// pcs adds a monitor with this interval when `resource create` is given none.
  public static let defaultMonitorIntervalMs = 60_000

  public static func allResourceIds(_ config: ResourceConfiguration) -> Set<String> {
    var ids = Set<String>()
    for resource in config.resources {
      ids.insert(resource.id)
      switch resource {
      case .primitive: break
      case .group(let g): ids.formUnion(g.members.map(\.id))
      case .clone(let c):
        switch c.child {
        case .primitive(let p): ids.insert(p.id)
        case .group(let g):
          ids.insert(g.id)
          ids.formUnion(g.members.map(\.id))
        }
      }
    }
    return ids
  }

  static func allIds(_ config: ResourceConfiguration) -> Set<String> {
    var ids = allResourceIds(config)
    ids.formUnion(config.constraints.locations.map(\.id))
    ids.formUnion(config.constraints.colocations.map(\.id))
    ids.formUnion(config.constraints.orders.map(\.id))
    return ids
  }

  static func checkId(_ id: String) throws(ConfigEditError) {
    guard let first = id.unicodeScalars.first, first.properties.isAlphabetic || first == "_",
      id.unicodeScalars.allSatisfy({
        $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)
      })
    else {
      throw ConfigEditError(
        "invalid id '\(id)': use letters, digits, '_', '.', '-', starting with a letter or '_'")
    }
  }

  /// `resource create ID AGENT ...`
  public static func createResource(
    _ config: inout ResourceConfiguration, primitive: Primitive, group: String?, disabled: Bool
  ) throws(ConfigEditError) {
    try checkId(primitive.id)
    try validateMeta(primitive.meta)
    guard !allIds(config).contains(primitive.id) else {
      throw ConfigEditError("'\(primitive.id)' already exists")
    }
    var primitive = primitive
    if !primitive.operations.contains(where: { $0.name == "monitor" }) {
      primitive.operations.append(
        OperationSpec(
          id: "\(primitive.id)-monitor-interval-60s", name: "monitor", intervalMs: defaultMonitorIntervalMs))
    }
    if disabled { primitive.meta["target-role"] = "Stopped" }
    if let group {
      try checkId(group)
      if let index = config.resources.firstIndex(where: { $0.id == group }) {
        guard case .group(var g) = config.resources[index] else {
          throw ConfigEditError("'\(group)' exists and is not a group")
        }
        g.members.append(primitive)
        config.resources[index] = .group(g)
      } else {
        guard !allIds(config).contains(group) else { throw ConfigEditError("'\(group)' already exists") }
        config.resources.append(.group(Group(id: group, members: [primitive])))
      }
    } else {
      config.resources.append(.primitive(primitive))
    }
  }

  /// `resource delete ID`: removes the resource (or group) and every constraint naming it.
  public static func deleteResource(_ config: inout ResourceConfiguration, id: String) throws(ConfigEditError)
  {
    var found = false
    var resources: [Resource] = []
    for resource in config.resources {
      if resource.id == id {
        found = true
        continue
      }
      // Deleting a clone's resource deletes the clone (as pcs does).
      if case .clone(let c) = resource, c.childIds.first == id {
        found = true
        continue
      }
      if case .group(var g) = resource, g.members.contains(where: { $0.id == id }) {
        found = true
        g.members.removeAll { $0.id == id }
        if !g.members.isEmpty { resources.append(.group(g)) }
        continue
      }
      resources.append(resource)
    }
    guard found else { throw ConfigEditError("resource '\(id)' does not exist") }
    config.resources = resources
    let remaining = allResourceIds(config)
    config.constraints.locations.removeAll { !remaining.contains($0.resource) }
    config.constraints.colocations.removeAll {
      !remaining.contains($0.resource) || !remaining.contains($0.withResource)
    }
    config.constraints.orders.removeAll { !remaining.contains($0.first) || !remaining.contains($0.then) }
  }

  /// Sets (or, with an empty value, removes) meta attributes of a resource, group or clone.
  public static func setMeta(
    _ config: inout ResourceConfiguration, id: String, _ values: [String: String]
  ) throws(ConfigEditError) {
    try validateMeta(values)
    func apply(_ meta: inout [String: String]) {
      for (k, v) in values { meta[k] = v.isEmpty ? nil : v }
    }
    for (index, resource) in config.resources.enumerated() {
      switch resource {
      case .primitive(var p) where p.id == id:
        apply(&p.meta)
        config.resources[index] = .primitive(p)
        return
      case .group(var g):
        if g.id == id {
          apply(&g.meta)
          config.resources[index] = .group(g)
          return
        }
        if let m = g.members.firstIndex(where: { $0.id == id }) {
          apply(&g.members[m].meta)
          config.resources[index] = .group(g)
          return
        }
      case .clone(var c) where c.id == id:
        apply(&c.meta)
        config.resources[index] = .clone(c)
        return
      default: break
      }
    }
    throw ConfigEditError("resource '\(id)' does not exist")
  }

  /// `node standby|unstandby|maintenance|unmaintenance NODE`
  public static func setNodeAttribute(
    _ config: inout ResourceConfiguration, node: String, name: String, value: String?, knownNodes: [String]
  ) throws(ConfigEditError) {
    guard knownNodes.contains(node) else {
      throw ConfigEditError(
        "node '\(node)' is not in the cluster; known nodes: \(knownNodes.joined(separator: ", "))")
    }
    if let index = config.nodes.firstIndex(where: { $0.name == node }) {
      config.nodes[index].attributes[name] = value
    } else if let value {
      config.nodes.append(NodeConfiguration(name: node, attributes: [name: value]))
    }
  }

  /// `property set NAME=VALUE` (empty value: unset).
  public static func setProperty(
    _ config: inout ResourceConfiguration, name: String, value: String, force: Bool = false
  ) throws(ConfigEditError) {
    let canonical = ClusterPropertyNames.canonical(name)
    if force && ClusterPropertyNames.known[canonical] == nil {
      // pcs --force: a name Pacemaker does not interpret (agents keep state there, e.g. redis's
      // NAME_REPL_INFO through crm_attribute --type crm_config).
      try checkId(name)
      config.properties[name] = value.isEmpty ? nil : value
      return
    }
    guard let rule = ClusterPropertyNames.known[canonical] else {
      throw ConfigEditError(
        "unknown cluster property '\(name)'; known: \(ClusterPropertyNames.known.keys.sorted().joined(separator: ", "))"
      )
    }
    if value.isEmpty {
      config.properties[canonical] = nil
      for alias in ClusterPropertyNames.aliases where alias.value == canonical {
        config.properties[alias.key] = nil
      }
      return
    }
    guard rule(value) else { throw ConfigEditError("invalid value '\(value)' for \(canonical)") }
    for alias in ClusterPropertyNames.aliases where alias.value == canonical {
      config.properties[alias.key] = nil
    }
    config.properties[canonical] = value
  }

  /// `constraint location RSC prefers|avoids NODE[=SCORE]`
  public static func addLocation(
    _ config: inout ResourceConfiguration, resource: String, node: String, score: Score, knownNodes: [String]
  ) throws(ConfigEditError) {
    guard allResourceIds(config).contains(resource) else {
      throw ConfigEditError("resource '\(resource)' does not exist")
    }
    guard knownNodes.contains(node) else {
      throw ConfigEditError(
        "node '\(node)' is not in the cluster; known nodes: \(knownNodes.joined(separator: ", "))")
    }
    let kind = score.value >= 0 ? "prefers" : "avoids"
    let id = "location-\(resource)-\(node)-\(score.value >= 0 ? score : -score)"
    config.constraints.locations.removeAll { $0.resource == resource && $0.node == node && $0.rules.isEmpty }
    _ = kind
    config.constraints.locations.append(
      LocationConstraint(id: id, resource: resource, node: node, score: score))
  }

  /// `constraint colocation add [ROLE] A with [ROLE] B [score]`
  public static func addColocation(
    _ config: inout ResourceConfiguration, resource: String, with other: String, score: Score,
    role: String? = nil, withRole: String? = nil
  ) throws(ConfigEditError) {
    let ids = allResourceIds(config)
    for r in [resource, other] where !ids.contains(r) {
      throw ConfigEditError("resource '\(r)' does not exist")
    }
    guard resource != other else { throw ConfigEditError("a resource cannot be colocated with itself") }
    let roles = [role, withRole].compactMap { $0 }
    for r in roles where canonicalRole(r) == nil {
      throw ConfigEditError("invalid role '\(r)'; use Promoted, Unpromoted, Started or Stopped")
    }
    let id = "colocation-\(resource)-\(other)-\(score)"
    config.constraints.colocations.removeAll { $0.id == id }
    config.constraints.colocations.append(
      ColocationConstraint(
        id: id, resource: resource, withResource: other, score: score, role: role.flatMap(canonicalRole),
        withRole: withRole.flatMap(canonicalRole)))
  }

  /// `constraint order [ACTION] A then [ACTION] B [kind=K] [symmetrical=B]`
  public static func addOrder(
    _ config: inout ResourceConfiguration, first: String, firstAction: String, then: String,
    thenAction: String,
    kind: OrderConstraint.Kind, symmetrical: Bool
  ) throws(ConfigEditError) {
    let ids = allResourceIds(config)
    for r in [first, then] where !ids.contains(r) { throw ConfigEditError("resource '\(r)' does not exist") }
    let actions = ["start", "stop", "promote", "demote"]
    for a in [firstAction, thenAction] where !actions.contains(a) {
      throw ConfigEditError("invalid action '\(a)'; use one of \(actions.joined(separator: ", "))")
    }
    let id = "order-\(first)-\(then)-\(kind.rawValue)"
    config.constraints.orders.removeAll { $0.id == id }
    config.constraints.orders.append(
      OrderConstraint(
        id: id, first: first, firstAction: firstAction, then: then, thenAction: thenAction, kind: kind,
        symmetrical: symmetrical))
  }

  /// `constraint delete ID`
  public static func deleteConstraint(_ config: inout ResourceConfiguration, id: String)
    throws(ConfigEditError)
  {
    let before =
      config.constraints.locations.count + config.constraints.colocations.count
      + config.constraints.orders.count
    config.constraints.locations.removeAll { $0.id == id }
    config.constraints.colocations.removeAll { $0.id == id }
    config.constraints.orders.removeAll { $0.id == id }
    let after =
      config.constraints.locations.count + config.constraints.colocations.count
      + config.constraints.orders.count
    guard after < before else { throw ConfigEditError("constraint '\(id)' does not exist") }
  }
}

/// Pacemaker's cluster properties swpcs understands, with aliases and value checks.
public enum ClusterPropertyNames {
  public static let aliases: [String: String] = [
    "fencing-enabled": "stonith-enabled", "fencing-action": "stonith-action",
    "fencing-timeout": "stonith-timeout", "fencing-max-attempts": "stonith-max-attempts",
  ]
  public static func canonical(_ name: String) -> String { aliases[name] ?? name }
  public static func isBool(_ v: String) -> Bool {
    ["true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"].contains(v.lowercased())
  }
  static func isDuration(_ v: String) -> Bool { ControllerInstance.parseMs(v) != nil }
  /// Pacemaker's defaults, for `property config --all|--defaults`.
  public static let defaults: [String: String] = [
    "stonith-enabled": "true", "no-quorum-policy": "stop", "symmetric-cluster": "true",
    "maintenance-mode": "false", "start-failure-is-fatal": "true", "stop-all-resources": "false",
    "stonith-action": "reboot", "stonith-timeout": "60s", "cluster-recheck-interval": "15min",
    "priority-fencing-delay": "0", "startup-fencing": "true", "shutdown-escalation": "20min",
    "stonith-max-attempts": "10", "fencing-reaction": "stop", "dc-deadtime": "20s",
  ]
  public static let known: [String: @Sendable (String) -> Bool] = [
    "stonith-enabled": isBool,
    "no-quorum-policy": { ["stop", "freeze", "ignore", "demote", "suicide"].contains($0) },
    "symmetric-cluster": isBool,
    "maintenance-mode": isBool,
    "start-failure-is-fatal": isBool,
    "stop-all-resources": isBool,
    "stonith-action": { ["reboot", "off", "poweroff"].contains($0) },
    "stonith-timeout": isDuration,
    "cluster-recheck-interval": isDuration,
    "priority-fencing-delay": isDuration,
    "startup-fencing": isBool,
    "dc-deadtime": isDuration,
    "shutdown-escalation": isDuration,
    "stonith-max-attempts": { (Int($0) ?? 0) > 0 },
    "fencing-reaction": { ["stop", "panic"].contains($0) },
  ]
}

// MARK: - Resource edits of the full command line

extension ConfigEdits {
  /// Prefix of the location constraints `resource move|ban` create and `resource clear` removes.
  public static let moveConstraintPrefix = "cli-"

  public static func moveConstraintId(_ resource: String) -> String { "cli-prefer-\(resource)" }
  public static func banConstraintId(_ resource: String, node: String) -> String {
    "cli-ban-\(resource)-on-\(node)"
  }

  /// The primitive with this id, wherever it sits (top level, group member, clone child).
  public static func primitive(_ config: ResourceConfiguration, id: String) -> Primitive? {
    for resource in config.resources {
      switch resource {
      case .primitive(let p) where p.id == id: return p
      case .group(let g): if let m = g.members.first(where: { $0.id == id }) { return m }
      case .clone(let c):
        switch c.child {
        case .primitive(let p) where p.id == id: return p
        case .group(let g): if let m = g.members.first(where: { $0.id == id }) { return m }
        default: break
        }
      default: break
      }
    }
    return nil
  }

  /// Applies `body` to the primitive `id` wherever it sits; throws when there is none.
  static func modifyPrimitive(
    _ config: inout ResourceConfiguration, id: String,
    _ body: (inout Primitive) throws(ConfigEditError) -> Void
  ) throws(ConfigEditError) {
    for index in config.resources.indices {
      switch config.resources[index] {
      case .primitive(var p) where p.id == id:
        try body(&p)
        config.resources[index] = .primitive(p)
        return
      case .group(var g):
        if let m = g.members.firstIndex(where: { $0.id == id }) {
          try body(&g.members[m])
          config.resources[index] = .group(g)
          return
        }
      case .clone(var c):
        switch c.child {
        case .primitive(var p) where p.id == id:
          try body(&p)
          c.child = .primitive(p)
          config.resources[index] = .clone(c)
          return
        case .group(var g):
          if let m = g.members.firstIndex(where: { $0.id == id }) {
            try body(&g.members[m])
            c.child = .group(g)
            config.resources[index] = .clone(c)
            return
          }
        default: break
        }
      default: break
      }
    }
    if allResourceIds(config).contains(id) {
      throw ConfigEditError("'\(id)' is a group or clone, not a primitive resource")
    }
    throw ConfigEditError("resource '\(id)' does not exist")
  }

  public static func requireResource(_ config: ResourceConfiguration, _ id: String) throws(ConfigEditError) {
    guard allResourceIds(config).contains(id) else {
      throw ConfigEditError("resource '\(id)' does not exist")
    }
  }

  static func requireNode(_ node: String, _ knownNodes: [String]) throws(ConfigEditError) {
    guard knownNodes.contains(node) else {
      throw ConfigEditError(
        "node '\(node)' is not in the cluster; known nodes: \(knownNodes.joined(separator: ", "))")
    }
  }

  /// Checks the values of the meta attributes Pacemaker interprets (others pass through, as in pcs).
  public static func validateMeta(_ values: [String: String]) throws(ConfigEditError) {
    for (name, value) in values where !value.isEmpty {
      switch name {
      case "target-role":
        let roles = ["Started", "Stopped", "Promoted", "Unpromoted", "Master", "Slave"]
        guard roles.contains(value) else {
          throw ConfigEditError("invalid target-role '\(value)'; use one of \(roles.joined(separator: ", "))")
        }
      case "is-managed", "critical", "allow-migrate", "globally-unique", "notify", "interleave", "ordered":
        guard ClusterPropertyNames.isBool(value) else {
          throw ConfigEditError("invalid value '\(value)' for \(name): use true or false")
        }
      case "resource-stickiness", "migration-threshold", "priority":
        guard Score(parsing: value) != nil else {
          throw ConfigEditError("invalid score '\(value)' for \(name): use an integer, INFINITY or -INFINITY")
        }
      case "failure-timeout", "timeout", "interval":
        guard ControllerInstance.parseMs(value) != nil else {
          throw ConfigEditError("invalid duration '\(value)' for \(name) (examples: 10s, 500ms, 2min)")
        }
      default: break
      }
    }
  }

  /// `resource update ID [NAME=VALUE...] [op ACTION ...] [meta ...]`: an empty value removes an
  /// attribute; an operation replaces the operations with the same action (as pcs does).
  public static func updateResource(
    _ config: inout ResourceConfiguration, id: String, attributes: [Attribute], meta: [String: String],
    operations: [OperationSpec]
  ) throws(ConfigEditError) {
    try validateMeta(meta)
    try modifyPrimitive(&config, id: id) { p throws(ConfigEditError) in
      for attribute in attributes {
        if let i = p.attributes.firstIndex(where: { $0.name == attribute.name }) {
          if attribute.value.isEmpty {
            p.attributes.remove(at: i)
          } else {
            p.attributes[i].value = attribute.value
          }
        } else if !attribute.value.isEmpty {
          p.attributes.append(attribute)
        }
      }
      for (k, v) in meta { p.meta[k] = v.isEmpty ? nil : v }
      for op in operations {
        p.operations.removeAll { $0.name == op.name }
        p.operations.append(op)
      }
    }
  }

  /// `resource op add ID ACTION [interval=...] ...`: one operation per (action, interval).
  public static func addOperation(_ config: inout ResourceConfiguration, id: String, operation: OperationSpec)
    throws(ConfigEditError)
  {
    try modifyPrimitive(&config, id: id) { p throws(ConfigEditError) in
      guard
        !p.operations.contains(where: { $0.name == operation.name && $0.intervalMs == operation.intervalMs })
      else {
        throw ConfigEditError(
          "'\(id)' already has a \(operation.name) operation with interval \(operation.intervalMs / 1000)s")
      }
      p.operations.append(operation)
    }
  }

  /// `resource op delete ID ACTION [interval=...]` (or an operation id alone).
  public static func deleteOperation(
    _ config: inout ResourceConfiguration, id: String, action: String, intervalMs: Int?
  ) throws(ConfigEditError) {
    try modifyPrimitive(&config, id: id) { p throws(ConfigEditError) in
      let before = p.operations.count
      p.operations.removeAll {
        ($0.name == action || $0.id == action) && (intervalMs == nil || $0.intervalMs == intervalMs)
      }
      guard p.operations.count < before else {
        throw ConfigEditError(
          "'\(id)' has no \(action) operation\(intervalMs.map { " with interval \($0 / 1000)s" } ?? "")")
      }
    }
  }

  /// `resource move ID NODE`: prefer NODE with INFINITY (constraint `cli-prefer-ID`).
  public static func addMoveConstraint(
    _ config: inout ResourceConfiguration, resource: String, node: String, knownNodes: [String]
  ) throws(ConfigEditError) {
    try requireResource(config, resource)
    try requireNode(node, knownNodes)
    let id = moveConstraintId(resource)
    config.constraints.locations.removeAll { $0.id == id }
    config.constraints.locations.append(
      LocationConstraint(id: id, resource: resource, node: node, score: .infinity))
  }

  /// `resource ban ID NODE`: keep it off NODE (constraint `cli-ban-ID-on-NODE`, -INFINITY).
  public static func addBan(
    _ config: inout ResourceConfiguration, resource: String, node: String, knownNodes: [String]
  ) throws(ConfigEditError) {
    try requireResource(config, resource)
    try requireNode(node, knownNodes)
    let id = banConstraintId(resource, node: node)
    config.constraints.locations.removeAll { $0.id == id }
    config.constraints.locations.append(
      LocationConstraint(id: id, resource: resource, node: node, score: .minusInfinity))
  }

  /// `resource clear ID [NODE]`: removes what move/ban created; returns the ids removed.
  @discardableResult
  public static func clearMoveConstraints(
    _ config: inout ResourceConfiguration, resource: String, node: String?
  ) throws(ConfigEditError) -> [String] {
    try requireResource(config, resource)
    let matching = config.constraints.locations.filter {
      $0.resource == resource && $0.id.hasPrefix(moveConstraintPrefix) && (node == nil || $0.node == node)
    }.map(\.id)
    config.constraints.locations.removeAll { matching.contains($0.id) }
    return matching
  }

  /// `resource group add GROUP RSC...`: moves primitives (top level or from another group) into
  /// GROUP, created when missing; groups emptied on the way disappear.
  public static func groupAdd(_ config: inout ResourceConfiguration, group: String, members: [String])
    throws(ConfigEditError)
  {
    try checkId(group)
    guard !members.isEmpty else { throw ConfigEditError("group add needs at least one resource") }
    guard !members.contains(group) else { throw ConfigEditError("a group cannot contain itself") }
    var moved: [Primitive] = []
    for id in members {
      guard let p = primitive(config, id: id) else {
        if allResourceIds(config).contains(id) {
          throw ConfigEditError("'\(id)' is not a primitive resource")
        }
        throw ConfigEditError("resource '\(id)' does not exist")
      }
      if config.resources.contains(where: {
        if case .clone(let c) = $0 { return c.childIds.contains(id) } else { return false }
      }) {
        throw ConfigEditError("'\(id)' is in a clone; it cannot be put into a group")
      }
      moved.append(p)
    }
    if let existing = config.resources.first(where: { $0.id == group }) {
      guard case .group = existing else { throw ConfigEditError("'\(group)' exists and is not a group") }
    } else if allIds(config).contains(group) {
      throw ConfigEditError("'\(group)' already exists")
    }
    var resources: [Resource] = []
    var groupIndex: Int?
    for resource in config.resources {
      switch resource {
      case .primitive(let p) where members.contains(p.id): continue
      case .group(var g):
        g.members.removeAll { members.contains($0.id) && g.id != group }
        if g.id == group {
          g.members.removeAll { members.contains($0.id) }
          groupIndex = resources.count
        }
        if !g.members.isEmpty || g.id == group { resources.append(.group(g)) }
      default: resources.append(resource)
      }
    }
    if let groupIndex, case .group(var g) = resources[groupIndex] {
      g.members += moved
      resources[groupIndex] = .group(g)
    } else {
      resources.append(.group(Group(id: group, members: moved)))
    }
    config.resources = resources
  }

  /// `resource group remove GROUP [RSC...]`: members become top-level resources (all of them, and the
  /// group goes away, when none are named).
  public static func groupRemove(_ config: inout ResourceConfiguration, group: String, members: [String])
    throws(ConfigEditError)
  {
    guard let index = config.resources.firstIndex(where: { $0.id == group }),
      case .group(var g) = config.resources[index]
    else { throw ConfigEditError("group '\(group)' does not exist") }
    let removing = members.isEmpty ? g.members.map(\.id) : members
    for id in removing where !g.members.contains(where: { $0.id == id }) {
      throw ConfigEditError("resource '\(id)' is not in group '\(group)'")
    }
    let out = g.members.filter { removing.contains($0.id) }
    g.members.removeAll { removing.contains($0.id) }
    var resources = config.resources
    if g.members.isEmpty {
      resources.remove(at: index)
      resources.insert(contentsOf: out.map { Resource.primitive($0) }, at: index)
      // Constraints naming the vanished group would dangle.
      config.constraints.locations.removeAll { $0.resource == group }
      config.constraints.colocations.removeAll { $0.resource == group || $0.withResource == group }
      config.constraints.orders.removeAll { $0.first == group || $0.then == group }
    } else {
      resources[index] = .group(g)
      resources.insert(contentsOf: out.map { Resource.primitive($0) }, at: index + 1)
    }
    config.resources = resources
  }

  /// `resource [op] defaults update NAME=VALUE...` (empty value: unset).
  public static func updateDefaults(
    _ config: inout ResourceConfiguration, operations: Bool, _ values: [String: String]
  ) throws(ConfigEditError) {
    try validateMeta(values)
    for (k, v) in values {
      guard !k.isEmpty else { throw ConfigEditError("empty defaults name") }
      if operations {
        config.operationDefaults[k] = v.isEmpty ? nil : v
      } else {
        config.resourceDefaults[k] = v.isEmpty ? nil : v
      }
    }
  }

  /// The constraints that name a resource (`constraint ref ID`).
  public static func constraintReferences(_ config: ResourceConfiguration, resource: String)
    throws(ConfigEditError) -> [String]
  {
    try requireResource(config, resource)
    let c = config.constraints
    return c.locations.filter { $0.resource == resource }.map(\.id)
      + c.colocations.filter { $0.resource == resource || $0.withResource == resource }.map(\.id)
      + c.orders.filter { $0.first == resource || $0.then == resource }.map(\.id)
  }
}

extension Clone {
  public var childIds: [String] {
    switch child {
    case .primitive(let p): [p.id]
    case .group(let g): [g.id] + g.members.map(\.id)
    }
  }
}
