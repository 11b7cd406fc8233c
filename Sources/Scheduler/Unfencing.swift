import ResourceModel

/// Unfencing (Pacemaker's `enable_unfencing`, `pcmk__order_vs_unfencing`, `trigger_unfencing`):
/// fabric fencing devices such as fence_scsi cut a node off its storage, and a node must be let back
/// in — "unfenced", a fence action `on` — before anything that uses that storage starts there.
///
/// Unfencing is in use once a resource (or `rsc_defaults`) has `provides=unfencing` or
/// `requires=unfencing` among its meta attributes. Then every resource except fencing devices
/// defaults to `requires=unfencing`, and:
/// - every probe and start of such a resource, and of every fencing device, on a node is ordered
///   after that node's `on` action, which becomes required ("required by RSC monitor|start") when
///   the node has never been unfenced since it joined (no `#node-unfenced` node attribute, or 0);
/// - a required `on` restarts the resources that need unfencing on that node (their start follows
///   it), and their stops there precede it;
/// - a node is unfenced again when the definition of a running fencing device changed on it
///   ("Device parameters changed").
///
/// Only online, clean nodes that are not shutting down (nor pending) are unfenced. The controller records a
/// successful unfencing as the target's `#node-unfenced` transient attribute.
extension Cluster {
  /// Pacemaker's check: `provides` or `requires` set to `unfencing` in the meta attributes of a
  /// resource (any level) or of `rsc_defaults`.
  static func usesUnfencing(_ config: ResourceConfiguration) -> Bool {
    func unfencing(_ meta: [String: String]) -> Bool {
      meta["provides"] == "unfencing" || meta["requires"] == "unfencing"
    }
    if unfencing(config.resourceDefaults) { return true }
    func primitives(_ r: Resource) -> [[String: String]] {
      switch r {
      case .primitive(let p): return [p.meta]
      case .group(let g): return [g.meta] + g.members.map(\.meta)
      case .clone(let c):
        switch c.child {
        case .primitive(let p): return [c.meta, p.meta]
        case .group(let g): return [c.meta, g.meta] + g.members.map(\.meta)
        }
      }
    }
    return config.resources.contains { primitives($0).contains(where: unfencing) }
  }

  /// `requires=unfencing`, explicitly or by default once unfencing is in use; never for fencing
  /// devices, and only while fencing is enabled (Pacemaker resets it to `quorum` otherwise).
  mutating func deriveUnfencing(_ r: Int) {
    guard !rscs[r].isFenceDevice, options.fencingEnabled else { return }
    switch rscs[r].meta["requires"]?.lowercased() {
    case "unfencing": rscs[r].needsUnfencing = true
    case "nothing", "quorum", "fencing": rscs[r].needsUnfencing = false
    default: rscs[r].needsUnfencing = unfencingEnabled
    }
  }

  /// Whether probes and starts of `r` wait for unfencing: resources that need it, and every fencing
  /// device once unfencing is in use (their agents often cannot even probe a node still fenced).
  func waitsForUnfencing(_ r: Int) -> Bool {
    (rscs[r].isFenceDevice && unfencingEnabled) || rscs[r].needsUnfencing
  }

  /// Pacemaker's `pcmk__node_unfenced`: the node has a `#node-unfenced` attribute other than 0.
  func isUnfenced(_ n: Int) -> Bool {
    guard let value = nodes[n].attributes["#node-unfenced"] else { return false }
    return value != "0"
  }

  /// The node's `on` fence action, created optional.
  mutating func unfenceAction(_ n: Int) -> Int {
    action(nil, .unfence, n, optional: true)
  }

  /// Pacemaker's `trigger_unfencing`: make node `n`'s `on` action required (when the node can be
  /// fenced), keeping the first reason given.
  mutating func triggerUnfencing(_ n: Int, reason: String) {
    guard unfencingEnabled, nodes[n].online, !nodes[n].unclean, !nodes[n].shutdown, !nodes[n].pending else {
      return
    }
    let a = unfenceAction(n)
    if canFence(n) { actions[a].optional = false }
    if actions[a].reason == nil { actions[a].reason = reason }
  }

  /// "Device parameters changed": a running fencing device whose definition changed on a node
  /// unfences that node again (with the device's restart). The op-digest comparison sets
  /// `deviceChanged` the same way.
  mutating func noteDeviceDefinitionChange(_ r: Int, on n: Int, reason: String = "Device parameters changed")
  {
    guard rscs[r].isFenceDevice, rscs[r].deviceChanged[n] == nil else { return }
    rscs[r].deviceChanged[n] = reason
  }

  /// Before assignment (Pacemaker's internal constraints and resource configuration checks): the
  /// `on` actions of every node a resource needing unfencing may run on, and the unfencing of nodes
  /// whose fencing device changed.
  mutating func createUnfencingActions() {
    guard unfencingEnabled else { return }
    let byName = nodes.indices.sorted { nodes[$0].name.utf8.lexicographicallyPrecedes(nodes[$1].name.utf8) }
    for r in primitives where rscs[r].needsUnfencing && rscs[r].managed {
      for n in byName where rscs[r].allowed[n] != nil { _ = unfenceAction(n) }
    }
    for r in primitives where rscs[r].isFenceDevice {
      for (n, reason) in rscs[r].deviceChanged.sorted(by: { $0.key < $1.key }) {
        triggerUnfencing(n, reason: reason)
      }
    }
  }

  /// A probe or start of `r` on `n` waits for the node's unfencing, which it requires if the node
  /// has not been unfenced yet. A start also restarts when the unfencing happens.
  mutating func orderAfterUnfencing(_ r: Int, _ a: Int) {
    guard let n = actions[a].node, waitsForUnfencing(r) else { return }
    let on = unfenceAction(n)
    relate(on, a, actions[a].task == .start ? [.ordered, .firstImpliesThen] : [.ordered])
    if !isUnfenced(n) {
      triggerUnfencing(n, reason: "required by \(rscs[r].id) \(actions[a].task.rawValue)")
    }
  }

  /// After the resources' actions exist: a resource that needs unfencing stops on a node before
  /// that node is unfenced (Pacemaker's `pcmk__order_restart_vs_unfence`).
  mutating func orderStopsBeforeUnfencing() {
    guard unfencingEnabled else { return }
    for r in primitives where rscs[r].needsUnfencing && rscs[r].managed {
      for stop in findActions(r, .stop) {
        guard let n = actions[stop].node,
          let on = actionIndex[ActionKey(rsc: nil, task: .unfence, node: n, interval: 0)]
        else { continue }
        relate(stop, on, [.ordered])
      }
    }
  }
}
