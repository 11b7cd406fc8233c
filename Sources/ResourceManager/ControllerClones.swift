import ResourceModel

/// What an agent learns about the clone its resource belongs to, as Pacemaker passes it: the clone's
/// meta attributes (inherited by the cloned resource) and the effective `clone-max`, `clone-node-max`,
/// `clone` (this instance's number), `globally-unique`, and for promotable clones `promotable`,
/// `promoted-max`/`promoted-node-max` with their pre-2.1 names `master-max`/`master-node-max` (agents
/// such as ocf:heartbeat:redis test those to know they run as a promotable clone).
extension ControllerInstance {
  func cloneMeta(for instance: String) -> [String: String] {
    let parts = instance.split(separator: ":", maxSplits: 1).map(String.init)
    guard let clone = clone(containing: parts[0]) else { return [:] }
    var meta = clone.meta
    let nodeCount = max(config.nodes.count, state.nodes.count, 1)
    meta["clone-max"] = meta["clone-max"] ?? String(nodeCount)
    meta["clone-node-max"] = meta["clone-node-max"] ?? "1"
    meta["globally-unique"] =
      clone.isGloballyUnique(resourceDefaults: config.resourceDefaults) ? "true" : "false"
    if parts.count == 2 { meta["clone"] = parts[1] }
    if clone.promotable {
      let promotedMax = meta["promoted-max"] ?? meta["master-max"] ?? "1"
      let promotedNodeMax = meta["promoted-node-max"] ?? meta["master-node-max"] ?? "1"
      meta["promotable"] = "true"
      meta["promoted-max"] = promotedMax
      meta["master-max"] = promotedMax
      meta["promoted-node-max"] = promotedNodeMax
      meta["master-node-max"] = promotedNodeMax
    }
    return meta
  }

  /// The clone whose child is (or, for a cloned group, contains) the primitive `id`.
  func clone(containing id: String) -> Clone? {
    for case .clone(let c) in config.resources where c.childIds.contains(id) { return c }
    return nil
  }
}

extension ControllerInstance {
  /// Whether a recurring monitor's exit code means "as expected": a `role=Promoted` monitor expects
  /// 8 (running promoted), a `role=Unpromoted` one 0; a monitor without a role accepts either. Any
  /// other code (7 stopped, 9 failed promoted, ...) is a failure to recover from.
  public func monitorSucceeded(_ spec: ActionSpec, rc: Int) -> Bool {
    let role = primitive(named: spec.resource)?.operations.first {
      $0.name == "monitor" && $0.intervalMs == spec.intervalMs
    }?.role.flatMap(ConfigEdits.canonicalRole)
    switch role {
    case "Promoted": return rc == 8
    case "Unpromoted": return rc == 0
    default: return rc == 0 || rc == 8
    }
  }
}

extension ControllerInstance {
  /// `InstanceAlias.adopt` for an action of `key` on `node`, knowing whether a bare key's resource is
  /// cloned now, and for an anonymous instance `InstanceAlias.adoptInstances` (the other instance
  /// numbers' records there). A globally unique clone's instances (`id:N`) and the bare `id` are
  /// different agent instances: they never share records.
  mutating func adoptAliases(_ key: String, node: String) {
    let owner = clone(containing: String(InstanceAlias.base(key)))
    if owner?.isGloballyUnique(resourceDefaults: config.resourceDefaults) == true { return }
    let cloned = !key.contains(":") && clone(containing: key) != nil
    InstanceAlias.adopt(key, node: node, cloned: cloned, in: &state.resources)
    if owner != nil { InstanceAlias.adoptInstances(key, node: node, in: &state.resources) }
  }
}
