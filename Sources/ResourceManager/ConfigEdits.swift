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
  public static func setProperty(_ config: inout ResourceConfiguration, name: String, value: String)
    throws(ConfigEditError)
  {
    let canonical = ClusterPropertyNames.canonical(name)
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

  /// `constraint colocation add A with B [score]`
  public static func addColocation(
    _ config: inout ResourceConfiguration, resource: String, with other: String, score: Score
  ) throws(ConfigEditError) {
    let ids = allResourceIds(config)
    for r in [resource, other] where !ids.contains(r) {
      throw ConfigEditError("resource '\(r)' does not exist")
    }
    guard resource != other else { throw ConfigEditError("a resource cannot be colocated with itself") }
    let id = "colocation-\(resource)-\(other)-\(score)"
    config.constraints.colocations.removeAll { $0.id == id }
    config.constraints.colocations.append(
      ColocationConstraint(id: id, resource: resource, withResource: other, score: score))
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
  public static let aliases: [String: String] = ["fencing-enabled": "stonith-enabled"]
  public static func canonical(_ name: String) -> String { aliases[name] ?? name }
  static func isBool(_ v: String) -> Bool {
    ["true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"].contains(v.lowercased())
  }
  static func isDuration(_ v: String) -> Bool { ControllerInstance.parseMs(v) != nil }
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
    "shutdown-escalation": isDuration,
  ]
}
