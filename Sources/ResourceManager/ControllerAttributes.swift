import ResourceModel

/// Transient node attributes (Pacemaker's attrd with `reboot` lifetime): promotion scores and other
/// values agents set at run time through `crm_master`/`crm_attribute` (`swpcs node attribute
/// --transient`). They live in the replicated state, not the configuration: every replica applies
/// the same ordered `nodeAttribute` messages, a node's hello carries its own (so a replica that
/// restarted learns them), and they vanish when their node leaves.
extension ControllerInstance {
  mutating func setAttributeRequest(token: Int, _ request: ManagerRequest) -> [ControllerDirective] {
    guard connected else {
      return [.reply(token: token, ManagerResponse(ok: false, error: "not connected to swcorosync"))]
    }
    guard let name = request.name, !name.isEmpty else {
      return [.reply(token: token, ManagerResponse(ok: false, error: "set-attribute needs a name"))]
    }
    let node = request.node ?? me
    guard members.contains(node) else {
      return [
        .reply(
          token: token,
          ManagerResponse(
            ok: false,
            error: "node '\(node)' is not a member; members: \(members.sorted().joined(separator: ", "))"))
      ]
    }
    return [
      .broadcast(.nodeAttribute(NodeAttributeUpdate(node: node, name: name, value: request.value))),
      .reply(token: token, ManagerResponse(ok: true)),
    ]
  }

  mutating func applyNodeAttribute(_ update: NodeAttributeUpdate) -> [ControllerDirective] {
    guard let i = state.nodes.firstIndex(where: { $0.name == update.node }),
      state.nodes[i].transientAttributes[update.name] != update.value
    else { return [] }
    state.nodes[i].transientAttributes[update.name] = update.value
    // Re-plan when the running transition ends, without aborting it: agents set scores while they
    // start or promote, and aborting would drop what is left (the post notifications).
    replanNeeded = true
    return [
      .log(
        level: .info,
        "node \(update.node): \(update.name) \(update.value.map { "= \($0)" } ?? "deleted")")
    ]
  }

  mutating func adoptHelloAttributes(_ hello: Hello) {
    guard let attributes = hello.attributes,
      let i = state.nodes.firstIndex(where: { $0.name == hello.node })
    else { return }
    state.nodes[i].transientAttributes = attributes
  }

  mutating func clearTransientAttributes(_ node: String) {
    guard let i = state.nodes.firstIndex(where: { $0.name == node }) else { return }
    state.nodes[i].transientAttributes = [:]
  }
}

extension ControllerInstance {
  /// True when two configurations differ only in cluster properties Pacemaker does not interpret —
  /// values agents keep there (ocf:heartbeat:redis's `NAME_REPL_INFO`, set during its promote). Such a
  /// change re-plans after the running transition instead of aborting it, which would drop its post
  /// notifications (the ones that repoint the replicas).
  static func differsOnlyInAgentData(_ a: ResourceConfiguration, _ b: ResourceConfiguration) -> Bool {
    var x = a
    var y = b
    x.version = ConfigVersion()
    y.version = ConfigVersion()
    for key in Set(x.properties.keys).union(y.properties.keys)
    where ClusterPropertyNames.known[ClusterPropertyNames.canonical(key)] == nil {
      x.properties[key] = nil
      y.properties[key] = nil
    }
    return x == y
  }
}
