import ResourceModel

/// The clone edits of `swpcs` (pcs's `resource clone|promotable|unclone` and `resource create …
/// clone|promotable`): pure functions over the configuration, like the rest of `ConfigEdits`.
extension ConfigEdits {
  /// Clone meta attributes Pacemaker interprets, with their value checks (others pass through to
  /// the agent as `OCF_RESKEY_CRM_meta_*`, as in pcs).
  public static func validateCloneMeta(_ values: [String: String]) throws(ConfigEditError) {
    try validateMeta(values)
    for (name, value) in values where !value.isEmpty {
      switch name {
      case "clone-max", "clone-node-max", "clone-min", "promoted-max", "promoted-node-max", "master-max",
        "master-node-max":
        guard let n = Int(value), n >= 0 else {
          throw ConfigEditError("invalid value '\(value)' for \(name): use a whole number (0 or more)")
        }
      case "promotable":
        guard ClusterPropertyNames.isBool(value) else {
          throw ConfigEditError("invalid value '\(value)' for promotable: use true or false")
        }
      default: break
      }
    }
  }

  /// `resource clone|promotable ID [CLONE_ID] [meta NAME=VALUE...]`: wraps a top-level primitive or
  /// group into a clone named `CLONE_ID` (default `ID-clone`), keeping its place in the resource
  /// order. Constraints naming the resource keep naming it: the scheduler reads them as meaning the
  /// clone, as Pacemaker does.
  public static func cloneResource(
    _ config: inout ResourceConfiguration, id: String, cloneId: String?, promotable: Bool,
    meta: [String: String]
  ) throws(ConfigEditError) {
    try validateCloneMeta(meta)
    let cloneId = cloneId ?? "\(id)-clone"
    try checkId(cloneId)
    guard let index = config.resources.firstIndex(where: { $0.id == id }) else {
      if config.resources.contains(where: {
        if case .clone(let c) = $0 { return c.childIds.contains(id) } else { return false }
      }) {
        throw ConfigEditError("'\(id)' is already in a clone")
      }
      if primitive(config, id: id) != nil {
        throw ConfigEditError("'\(id)' is in a group; clone the group instead")
      }
      throw ConfigEditError("resource '\(id)' does not exist")
    }
    guard !allIds(config).contains(cloneId) else { throw ConfigEditError("'\(cloneId)' already exists") }
    let child: Clone.Child
    switch config.resources[index] {
    case .primitive(let p):
      guard p.agent.standard != .stonith else {
        throw ConfigEditError("'\(id)' is a fencing device; fencing devices cannot be cloned")
      }
      child = .primitive(p)
    case .group(let g): child = .group(g)
    case .clone: throw ConfigEditError("'\(id)' is already a clone")
    }
    var cloneMeta = meta.filter { !$0.value.isEmpty }
    // A promotable clone is a clone with promotable=true; the flag is the model's, not a meta value.
    cloneMeta["promotable"] = nil
    config.resources[index] = .clone(
      Clone(
        id: cloneId, meta: cloneMeta, promotable: promotable || isTrueValue(meta["promotable"]), child: child)
    )
  }

  /// `resource unclone ID` (the clone's id, or its resource's or group's): the clone's child becomes a
  /// top-level resource again. Constraints naming the clone id go (they would dangle); those naming
  /// the child stay.
  public static func uncloneResource(_ config: inout ResourceConfiguration, id: String)
    throws(ConfigEditError)
  {
    guard
      let index = config.resources.firstIndex(where: {
        guard case .clone(let c) = $0 else { return false }
        return c.id == id || c.childIds.first == id
      }), case .clone(let c) = config.resources[index]
    else {
      if allResourceIds(config).contains(id) { throw ConfigEditError("'\(id)' is not a clone") }
      throw ConfigEditError("resource '\(id)' does not exist")
    }
    switch c.child {
    case .primitive(let p): config.resources[index] = .primitive(p)
    case .group(let g): config.resources[index] = .group(g)
    }
    config.constraints.locations.removeAll { $0.resource == c.id }
    config.constraints.colocations.removeAll { $0.resource == c.id || $0.withResource == c.id }
    config.constraints.orders.removeAll { $0.first == c.id || $0.then == c.id }
  }

  static func isTrueValue(_ value: String?) -> Bool {
    value.map { ["true", "yes", "on", "1", "y"].contains($0.lowercased()) } ?? false
  }

  /// The roles a constraint may name (pcs accepts the pre-2.1 names too and stores the new ones).
  public static func canonicalRole(_ text: String) -> String? {
    switch text.lowercased() {
    case "started": "Started"
    case "stopped": "Stopped"
    case "promoted", "master": "Promoted"
    case "unpromoted", "slave": "Unpromoted"
    default: nil
    }
  }
}
