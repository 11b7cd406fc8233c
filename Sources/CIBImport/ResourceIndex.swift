import ResourceModel

/// Where each configured primitive sits (group, clone) and its effective meta attributes, for
/// unpacking the status section.
struct ResourceIndex {
  /// A primitive with its enclosing group and clone, if any.
  struct Entry {
    var primitive: Primitive
    var group: Group?
    var clone: Clone?
  }

  var entries: [String: Entry] = [:]
  /// Group and clone ids: history under these names is not a primitive's (it is removed).
  var collectionIDs: Set<String> = []
  var resourceDefaults: [String: String] = [:]
  var properties: [String: String] = [:]
  var nodeCount = 0

  mutating func add(_ resource: Resource) {
    switch resource {
    case .primitive(let p):
      entries[p.id] = Entry(primitive: p, group: nil, clone: nil)
    case .group(let g):
      collectionIDs.insert(g.id)
      for p in g.members { entries[p.id] = Entry(primitive: p, group: g, clone: nil) }
    case .clone(let c):
      collectionIDs.insert(c.id)
      switch c.child {
      case .primitive(let p):
        entries[p.id] = Entry(primitive: p, group: nil, clone: c)
      case .group(let g):
        collectionIDs.insert(g.id)
        for p in g.members { entries[p.id] = Entry(primitive: p, group: g, clone: c) }
      }
    }
  }

  /// A meta attribute as Pacemaker resolves it: the primitive's own, else its group's, else its
  /// clone's, else `rsc_defaults`.
  func meta(_ name: String, of entry: Entry) -> String? {
    entry.primitive.meta[name] ?? entry.group?.meta[name] ?? entry.clone?.meta[name] ?? resourceDefaults[name]
  }

  func isUnique(_ entry: Entry) -> Bool {
    guard let clone = entry.clone else { return false }
    return clone.isGloballyUnique(resourceDefaults: resourceDefaults)
  }

  func isAnonymousClone(_ entry: Entry) -> Bool { entry.clone != nil && !isUnique(entry) }

  /// `clone-max`, defaulting to the number of configured nodes (at least 1).
  func cloneMax(_ clone: Clone) -> Int {
    clone.meta["clone-max"].flatMap { Int($0.trimmingSpaces) }.map { max(0, $0) } ?? max(1, nodeCount)
  }

  var fencingEnabled: Bool {
    PacemakerValues.bool(properties["fencing-enabled"] ?? properties["stonith-enabled"]) ?? true
  }

  var maintenanceMode: Bool { PacemakerValues.bool(properties["maintenance-mode"]) ?? false }

  /// Pacemaker's "managed": `is-managed` and neither cluster nor resource maintenance.
  func isManaged(_ entry: Entry) -> Bool {
    (PacemakerValues.bool(meta("is-managed", of: entry)) ?? true) && !maintenanceMode
      && !(PacemakerValues.bool(meta("maintenance", of: entry)) ?? false)
  }

  /// Whether starting the resource elsewhere requires fencing a failed node (`requires`).
  func needsFencing(_ entry: Entry) -> Bool {
    switch meta("requires", of: entry)?.lowercased() {
    case "nothing", "quorum": return false
    case "fencing", "unfencing": return true
    default: return entry.primitive.agent.standard != .stonith && fencingEnabled
    }
  }

  /// `failure-timeout` in seconds (0: failures never expire).
  func failureTimeoutSeconds(_ entry: Entry) -> Int64 {
    guard let text = meta("failure-timeout", of: entry), let ms = PacemakerValues.milliseconds(text) else {
      return 0
    }
    // Pacemaker rounds to the nearest second, but never below one.
    return ms == 0 ? 0 : Int64(max(1, (ms + 500) / 1000))
  }

  /// The `container` meta attribute: the resource is launched by another one. As Pacemaker, a
  /// resource naming itself (a group's `container` names one of its members) or naming no resource
  /// has no launcher; nor, here and in the scheduler, one naming its own group or clone.
  func hasLauncher(_ entry: Entry) -> Bool {
    guard let id = meta("container", of: entry), id != entry.primitive.id, id != entry.group?.id,
      id != entry.clone?.id
    else { return false }
    return entries[id] != nil || collectionIDs.contains(id)
  }
}
