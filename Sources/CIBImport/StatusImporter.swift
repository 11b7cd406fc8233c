import ResourceModel

/// Unpacks `<status>` into a `ClusterState` the way Pacemaker's `unpack_status` does: each
/// node's membership from its `node_state`, transient attributes and fail counts, then every
/// resource's operation history, node by node in status order.
struct StatusImporter {
  let configuration: ResourceConfiguration
  let resources: ResourceIndex
  let status: XElement
  let now: Int64
  let quorate: Bool
  let dcUuid: String?
  let noQuorumPanic: Bool
  var unsupported: [UnsupportedItem] = []
  /// Compares histories with the configuration (operation digests); nil: not compared.
  private var definitionCheck: DefinitionCheck?

  /// What is known about one configured node while the status is unpacked.
  private struct NodeInfo {
    var config: NodeConfiguration
    var online = false
    var unclean = false
    var uncleanReason: String?
    var shutdown = false
    var pending = false
    var seen = false
    var transient: [String: String] = [:]
    var failCounts: [String: [String: Int]] = [:]
    var lastFailures: [String: Int64] = [:]

    var attributes: [String: String] { config.attributes.merging(transient) { $1 } }
    var maintenance: Bool { PacemakerValues.bool(attributes["maintenance"]) ?? false }
    func context(canFence: Bool) -> NodeContext {
      NodeContext(
        name: config.name, online: online, unclean: unclean, maintenance: maintenance, canFence: canFence)
    }

    mutating func fence(_ reason: String) {
      guard !unclean else { return }
      unclean = true
      uncleanReason = reason
    }
  }

  /// Instance numbers of one anonymous clone: where each is active, and how many "removed"
  /// instances (beyond clone-max) were needed.
  private struct CloneSlots {
    var activeOn: [Int: Set<String>] = [:]
    var removed = 0
  }

  private var nodes: [NodeInfo] = []
  private var resourceStates: [String: [String: ResourceNodeState]] = [:]
  private var slots: [String: CloneSlots] = [:]
  private var timeoutDisabled: Set<String> = []
  private var blockedInstances: Set<String> = []

  init(
    configuration: ResourceConfiguration, resources: ResourceIndex, status: XElement, now: Int64,
    quorate: Bool, dcUuid: String?, noQuorumPanic: Bool, digests: DigestCalculator? = nil
  ) {
    self.definitionCheck = digests.map(DefinitionCheck.init)
    self.configuration = configuration
    self.resources = resources
    self.status = status
    self.now = now
    self.quorate = quorate
    self.dcUuid = dcUuid
    self.noQuorumPanic = noQuorumPanic
  }

  /// The newest `last-rc-change` in the status section (a stand-in for "now").
  static func newestChange(in status: XElement) -> Int64? {
    status.descendants().filter { $0.name == "lrm_rsc_op" }.compactMap {
      ($0["last-rc-change"] ?? $0["last_rc_change"]).flatMap { Int64($0) }
    }.max()
  }

  private var properties: [String: String] { configuration.properties }
  private var fencingEnabled: Bool { resources.fencingEnabled }
  private var shutdownLock: Bool { PacemakerValues.bool(properties["shutdown-lock"]) ?? false }

  mutating func run() -> ClusterState {
    nodes = configuration.nodes.map { NodeInfo(config: $0) }
    var order: [(node: Int, state: XElement)] = []
    for entry in status.children {
      switch entry.name {
      case "node_state":
        if let node = unpackNodeState(entry) { order.append((node, entry)) }
      case "tickets":
        unsupported.append(
          UnsupportedItem(element: "tickets", id: entry.id, reason: "tickets are not supported"))
      default:
        unsupported.append(
          UnsupportedItem(element: entry.name, id: entry.id, reason: "unknown status entry; ignored"))
      }
    }
    let startupFencing = PacemakerValues.bool(properties["startup-fencing"]) ?? true
    for i in nodes.indices where !nodes[i].seen && fencingEnabled && startupFencing {
      nodes[i].fence("node is unclean")
    }
    for (node, state) in order {
      // Without fencing, offline nodes' histories are not read at all (nothing is recovered there).
      if !fencingEnabled && !shutdownLock && !nodes[node].online { continue }
      let histories = state.child("lrm")?.child("lrm_resources")?.children("lrm_resource") ?? []
      for history in histories { unpackHistory(history, node: node) }
    }
    attachFailCounts()
    let dcNode = dcUuid.flatMap { uuid in
      nodes.first { ($0.config.id ?? $0.config.name) == uuid }?.config.name
        ?? nodes.first { $0.config.name == uuid }?.config.name
    }
    // Nodes in the order of their node_state entries (Pacemaker reads the status in that order: it
    // decides which node counts as "current" for a resource active on several), then the others.
    var seenOrder: [Int] = []
    for (node, _) in order where !seenOrder.contains(node) { seenOrder.append(node) }
    let ordered = seenOrder + nodes.indices.filter { !seenOrder.contains($0) }
    return ClusterState(
      nodes: ordered.map { nodes[$0] }.map { info in
        NodeState(
          name: info.config.name, membership: membership(info), transientAttributes: info.transient,
          pending: info.online && info.pending && !info.unclean,
          uncleanReason: info.unclean ? info.uncleanReason : nil)
      }, quorate: quorate, resources: resourceStates, now: now, dcNode: dcNode)
  }

  private func membership(_ info: NodeInfo) -> NodeState.Membership {
    if info.unclean { return .unclean }
    if !info.online { return .offline }
    return info.shutdown ? .shuttingDown : .online
  }

  // MARK: Nodes

  /// The configured node a `node_state` is for, with its membership decided. Nil for nodes no
  /// longer configured (Pacemaker ignores their state too).
  private mutating func unpackNodeState(_ state: XElement) -> Int? {
    let id = state.id
    let uname = state["uname"]
    let found =
      nodes.firstIndex { ($0.config.id ?? $0.config.name) == id }
      ?? nodes.firstIndex { uname != nil && $0.config.name == uname }
    guard let index = found else {
      unsupported.append(
        UnsupportedItem(
          element: "node_state", id: id ?? uname,
          reason: "state of a node that is not configured; ignored (as Pacemaker does)",
          affectsScheduling: false))
      return nil
    }
    if PacemakerValues.bool(state["remote_node"]) == true {
      unsupported.append(
        UnsupportedItem(element: "node_state", id: id, reason: "Pacemaker Remote node state is not supported")
      )
      return nil
    }
    guard !nodes[index].seen else {
      unsupported.append(
        UnsupportedItem(
          element: "node_state", id: id,
          reason: "second state entry for node \(nodes[index].config.name); ignored"))
      return nil
    }
    nodes[index].seen = true
    let blocks = NVPairBlocks(elementsByID: [:])
    let pairs = blocks.read(
      state.child("transient_attributes")?.children("instance_attributes") ?? [], unsupported: &unsupported)
    for (name, value) in pairs {
      if let (resource, operation) = Self.failureAttribute(name, prefix: "fail-count-") {
        let count = Score(parsing: value) ?? .zero
        let previous = Score(nodes[index].failCounts[resource]?[operation] ?? 0)
        nodes[index].failCounts[resource, default: [:]][operation] = (previous + count).value
      } else if let (resource, _) = Self.failureAttribute(name, prefix: "last-failure-") {
        let time = Int64(value.trimmingSpaces) ?? 0
        nodes[index].lastFailures[resource] = max(nodes[index].lastFailures[resource] ?? 0, time)
      } else {
        if name == "#digests-all" || name == "#digests-secure" {
          unsupported.append(
            UnsupportedItem(
              element: "nvpair", id: id,
              reason:
                "\(name): the fencing device definitions a node was unfenced with are not compared (a changed device unfences again only where it runs)"
            ))
        }
        nodes[index].transient[name] = value
      }
    }
    determineMembership(state, node: index)
    let policy = properties["no-quorum-policy"]?.lowercased()
    if !quorate && nodes[index].online && fencingEnabled && noQuorumPanic
      && (policy == "fence" || policy == "suicide")
    {
      nodes[index].fence("cluster does not have quorum")
    }
    return index
  }

  /// `fail-count-RSC#OP_INTERVAL` → (RSC, OP_INTERVAL); the pre-2.0 `fail-count-RSC` → (RSC, "").
  static func failureAttribute(_ name: String, prefix: String) -> (String, String)? {
    guard name.hasPrefix(prefix) else { return nil }
    let rest = name.dropFirst(prefix.count)
    guard let hash = rest.firstIndex(of: "#") else { return rest.isEmpty ? nil : (String(rest), "") }
    return (String(rest[..<hash]), String(rest[rest.index(after: hash)...]))
  }

  /// Pacemaker's `determine_online_status`: online, pending, shutting down, or unclean (with the
  /// reason fencing will give).
  private mutating func determineMembership(_ state: XElement, node index: Int) {
    var info = nodes[index]
    let attributes = info.attributes
    let join = state["join"]
    let expected = state["expected"]
    let member = whenMember(state["in_ccm"])
    let online = whenOnline(state["crmd"])
    info.shutdown = attributes["shutdown"].map { $0 != "0" } ?? false
    if fencingEnabled {
      info.online = onlineWithFencing(
        &info, join: join, expected: expected, member: member, online: online,
        terminate: terminationRequested(attributes["terminate"]))
    } else {
      let expectedUp = !info.shutdown && expected?.lowercased() == "member"
      if member <= 0 {
        info.online = false
      } else if online > 0 {
        info.online = join?.lowercased() == "member"
      } else {
        info.online = false
        if expectedUp { info.fence("peer is unexpectedly down") }
      }
    }
    nodes[index] = info
  }

  private func onlineWithFencing(
    _ info: inout NodeInfo, join: String?, expected: String?, member: Int64, online: Int64, terminate: Bool
  ) -> Bool {
    if info.shutdown { return online > 0 }
    if member < 0 {
      info.fence("peer has not been seen by the cluster")
      return false
    }
    if join == "nack" {
      info.fence("peer failed Pacemaker membership criteria")
    } else if terminate {
      if member <= 0 && online <= 0 && join == "down" { return false }
      info.fence("fencing was requested")
    } else if expected == nil || expected == "down" {
      if pendingTooLong(member: member, online: online) {
        info.fence("peer pending timed out on joining the process group")
      } else if member > 0 || online > 0 {
        info.pending = true
      }
    } else if member <= 0 {
      info.fence("peer is no longer part of the cluster")
    } else if online <= 0 {
      info.fence("peer process is no longer available")
    } else if join == "member" {
      // active
    } else if join == "pending" || join == "down" {
      info.pending = true
    } else {
      info.fence("peer was in an unknown state")
    }
    return member > 0
  }

  /// `in_ccm`: a boolean (older DCs) or the time the node became a member; -1 when unknown.
  private func whenMember(_ text: String?) -> Int64 {
    guard let text else { return -1 }
    // A legacy "true" means "a member as of now" (at least 1, so a zero "now" still counts).
    if let value = PacemakerValues.bool(text) { return value ? max(now, 1) : 0 }
    guard let time = Int64(text.trimmingSpaces), time >= 0 else { return -1 }
    return time
  }

  /// `crmd`: online/offline (older DCs) or the time the node joined the process group.
  private func whenOnline(_ text: String?) -> Int64 {
    guard let text, text.lowercased() != "offline" else { return 0 }
    if text.lowercased() == "online" { return 1 }
    guard let time = Int64(text.trimmingSpaces), time >= 0 else { return 0 }
    return time
  }

  private func terminationRequested(_ text: String?) -> Bool {
    guard let text else { return false }
    if let value = PacemakerValues.bool(text) { return value }
    return (Int64(text.trimmingSpaces) ?? 0) > 0
  }

  private func pendingTooLong(member: Int64, online: Int64) -> Bool {
    guard let text = properties["node-pending-timeout"], let ms = PacemakerValues.milliseconds(text), ms > 0,
      member > 0, online <= 0
    else { return false }
    return now >= member + Int64(ms / 1000)
  }

  // MARK: Resource histories

  /// A fence device (or watchdog) exists, for `pe_can_fence`.
  private var haveFencing: Bool {
    (PacemakerValues.bool(properties["have-watchdog"]) ?? false)
      || resources.entries.values.contains { $0.primitive.agent.standard == .stonith }
  }

  /// Pacemaker's `pe_can_fence` for a cluster node.
  private func canFence(_ node: Int) -> Bool {
    guard fencingEnabled && haveFencing else { return false }
    return quorate || properties["no-quorum-policy"]?.lowercased() == "ignore" || nodes[node].online
  }

  private mutating func unpackHistory(_ history: XElement, node: Int) {
    guard let historyID = history.id else {
      unsupported.append(
        UnsupportedItem(element: "lrm_resource", id: nil, reason: "history without id; ignored"))
      return
    }
    let entries = history.children("lrm_rsc_op")
    let parsed = entries.compactMap { element in
      OperationRecord(element).map { DefinitionCheck.Entry(record: $0, element: element) }
    }
    let records = parsed.map(\.record)
    if records.count != entries.count {
      unsupported.append(
        UnsupportedItem(
          element: "lrm_rsc_op", id: historyID,
          reason: "history entries without id, operation, op-status or rc-code ignored (as Pacemaker does)"))
    }
    // With shutdown locks Pacemaker reads a history without entries too: it may hold only the lock.
    let lockTime = shutdownLock ? history["shutdown-lock"].flatMap { Int64($0.trimmingSpaces) } ?? 0 : 0
    guard !entries.isEmpty || lockTime != 0 else { return }
    if records.contains(where: { $0.task == "migrate_to" || $0.task == "migrate_from" }) {
      unsupported.append(
        UnsupportedItem(
          element: "lrm_rsc_op", id: historyID, reason: "live-migration history is read as plain start/stop"))
    }
    let nodeName = nodes[node].config.name
    let (key, entry, slot) = resolve(historyID, history: history, node: node)
    var interpreter = HistoryInterpreter(
      entry: entry, index: resources, operationDefaults: configuration.operationDefaults,
      node: nodes[node].context(canFence: canFence(node)), now: now, failCounts: nodes[node].failCounts,
      lastFailures: nodes[node].lastFailures,
      failureTimeoutDisabled: timeoutDisabled.contains(entry.primitive.id),
      blocked: blockedInstances.contains(key))
    interpreter.replay(records)
    if interpreter.failureTimeoutDisabled { timeoutDisabled.insert(entry.primitive.id) }

    // Pacemaker's process_rsc_state: what the history means for the node. A managed resource
    // active on a node that is down makes the node unclean; on an unclean node no failure
    // handling applies (fencing recovers everything there).
    let active = interpreter.role > .stopped
    if active && !nodes[node].online && !nodes[node].maintenance && interpreter.managed && fencingEnabled {
      nodes[node].fence("\(key) is thought to be active there")
    }
    let handling = nodes[node].unclean ? FailureHandling.ignore : interpreter.handling
    // On a node that is down the failure is only why it stays unclean (the scheduler reads
    // "… failed there" as a member that is still up and would fence it as such).
    if handling == .fence {
      nodes[node].fence(
        nodes[node].online ? "\(key) failed there" : "\(key) failed there while the node was down")
    }
    if handling == .block || interpreter.blocked { blockedInstances.insert(key) }
    var result = interpreter.result(handling: handling)
    result.blocked = blockedInstances.contains(key)
    if lockTime != 0 { result.shutdownLock = lockTime }
    if var check = definitionCheck, !isRemoved(key, entry) {
      result.definitionChange = check.check(
        history: history, entries: OperationRecord.sorted(parsed, by: \.record),
        replay: interpreter.digestReplay,
        instance: key, primitive: entry.primitive.id, node: nodeName, nodeAttributes: ruleAttributes(node),
        active: active)
      definitionCheck = check
    }
    if let earlier = resourceStates[key]?[nodeName] { result = Self.merge(earlier, result) }
    resourceStates[key, default: [:]][nodeName] = result
    if let (cloneID, instance) = slot, active || result.pending != nil {
      slots[cloneID, default: CloneSlots()].activeOn[instance, default: []].insert(nodeName)
    }
    // Promotion scores are named after the history's id on its node (Pacemaker's clone_name); the
    // instance is renumbered here, so its score follows it.
    if slot != nil, active, key != historyID, let score = nodes[node].transient["master-\(historyID)"] {
      nodes[node].transient["master-\(key)"] = score
    }
  }

  /// Two histories for the same instance on one node (old CIBs list some twice): the higher role
  /// wins, as in Pacemaker, and any failure is kept.
  static func merge(_ a: ResourceNodeState, _ b: ResourceNodeState) -> ResourceNodeState {
    let order: [ResourceNodeState.Role] = [.unknown, .stopped, .started, .unpromoted, .promoted]
    var merged = b
    if (order.firstIndex(of: a.role) ?? 0) > (order.firstIndex(of: b.role) ?? 0) { merged.role = a.role }
    merged.failed = a.failed || b.failed
    merged.stopFailed = a.stopFailed || b.stopFailed
    merged.hardError = a.hardError || b.hardError
    merged.fatalError = a.fatalError || b.fatalError
    merged.blocked = a.blocked || b.blocked
    merged.activeMonitors = a.activeMonitors + b.activeMonitors.filter { !a.activeMonitors.contains($0) }
    merged.pending = b.pending ?? a.pending
    merged.failedOperation = b.failedOperation ?? a.failedOperation
    merged.onFail = b.onFail ?? a.onFail
    merged.definitionChange = DefinitionChange.merged(a.definitionChange, b.definitionChange)
    merged.shutdownLock = b.shutdownLock ?? a.shutdownLock
    return merged
  }

  /// A history Pacemaker no longer compares with the configuration: of a resource that is not
  /// configured, or of an anonymous clone instance beyond `clone-max`.
  private func isRemoved(_ key: String, _ entry: ResourceIndex.Entry) -> Bool {
    // A stand-in for a history no configured primitive matches (`removed`) has no clone.
    guard let configured = resources.entries[entry.primitive.id], configured.clone?.id == entry.clone?.id,
      entry.primitive.id == InstanceAlias.base(key)
    else { return true }
    guard let clone = entry.clone, let (_, number) = Self.cloneInstance(key) else { return false }
    return number >= resources.cloneMax(clone)
  }

  /// The attributes rules in resource parameters see for a node: its own, its transient ones and
  /// Pacemaker's built-in `#uname`, `#id`, `#kind`, `#is_dc`, `#cluster-name`, `#site-name`.
  private func ruleAttributes(_ node: Int) -> [String: String] {
    var attributes = nodes[node].attributes
    let name = nodes[node].config.name
    attributes["#uname"] = name
    attributes["#id"] = nodes[node].config.id ?? name
    attributes["#kind"] = "cluster"
    let dc = dcUuid.map { $0 == (nodes[node].config.id ?? name) || $0 == name } ?? false
    attributes["#is_dc"] = dc ? "true" : "false"
    if let cluster = properties["cluster-name"] { attributes["#cluster-name"] = cluster }
    if attributes["#site-name"] == nil, let site = attributes["site-name"] ?? properties["cluster-name"] {
      attributes["#site-name"] = site
    }
    return attributes
  }

  /// Which resource instance a history entry belongs to: the model key, its configuration, and
  /// for anonymous clones the (clone, instance number) slot. Histories of resources that are no
  /// longer configured get a stand-in primitive (the scheduler sees an unknown key: stop it).
  private mutating func resolve(_ historyID: String, history: XElement, node: Int)
    -> (String, ResourceIndex.Entry, (String, Int)?)
  {
    if let entry = resources.entries[historyID] {
      if let clone = entry.clone {
        if resources.isUnique(entry) { return (historyID, removed(historyID, history), nil) }
        let instance = anonymousInstance(base: historyID, entry: entry, node: node)
        return ("\(historyID):\(instance)", entry, (clone.id, instance))
      }
      return (historyID, entry, nil)
    }
    if !resources.collectionIDs.contains(historyID), let (base, number) = Self.cloneInstance(historyID),
      let entry = resources.entries[base], let clone = entry.clone
    {
      if resources.isUnique(entry) {
        return number < resources.cloneMax(clone)
          ? (historyID, entry, nil) : (historyID, removed(historyID, history), nil)
      }
      let instance = anonymousInstance(base: base, entry: entry, node: node)
      return ("\(base):\(instance)", entry, (clone.id, instance))
    }
    return (historyID, removed(historyID, history), nil)
  }

  /// `rsc:3` → ("rsc", 3).
  static func cloneInstance(_ id: String) -> (String, Int)? {
    guard let colon = id.lastIndex(of: ":"), let number = Int(id[id.index(after: colon)...]), number >= 0
    else {
      return nil
    }
    return (String(id[..<colon]), number)
  }

  private func removed(_ id: String, _ history: XElement) -> ResourceIndex.Entry {
    let standard = history["class"].flatMap { AgentSpec.Standard(rawValue: $0.lowercased()) } ?? .ocf
    let agent = AgentSpec(
      standard: standard, provider: standard == .ocf ? history["provider"] ?? "heartbeat" : nil,
      type: history["type"] ?? "unknown")
    return ResourceIndex.Entry(
      primitive: Primitive(id: id, agent: agent), group: nil, clone: nil)
  }

  /// Pacemaker's `find_anonymous_clone`: the instance already active on this node, else the first
  /// instance active nowhere, else a new "removed" instance numbered from clone-max up.
  private mutating func anonymousInstance(base: String, entry: ResourceIndex.Entry, node: Int) -> Int {
    guard let clone = entry.clone else { return 0 }
    let nodeName = nodes[node].config.name
    let cloneMax = resources.cloneMax(clone)
    var cloneSlots = slots[clone.id] ?? CloneSlots()
    var chosen: Int?
    var inactive: Int?
    var skipInactive = false
    for k in 0..<(cloneMax + cloneSlots.removed) {
      let locations = cloneSlots.activeOn[k] ?? []
      if locations.isEmpty {
        if inactive == nil { inactive = k }
        continue
      }
      guard locations.contains(nodeName) else { continue }
      if let existing = resourceStates["\(base):\(k)"]?[nodeName], existing.role != .stopped,
        existing.role != .unknown
      {
        skipInactive = true
        continue
      }
      chosen = k
      break
    }
    if chosen == nil && !skipInactive { chosen = inactive }
    let universal = cloneMax == nodes.count
    if chosen != nil && !resources.needsFencing(entry) && (!nodes[node].online || nodes[node].unclean)
      && !universal
    {
      chosen = nil
    }
    if let chosen { return chosen }
    let instance = cloneMax + cloneSlots.removed
    cloneSlots.removed += 1
    slots[clone.id] = cloneSlots
    return instance
  }

  // MARK: Fail counts

  /// Puts each node's fail counts on the resource instance they belong to there (an entry with an
  /// unknown role is created when the node has no history for it).
  private mutating func attachFailCounts() {
    for node in nodes.indices {
      let nodeName = nodes[node].config.name
      let names = Set(nodes[node].failCounts.keys).union(nodes[node].lastFailures.keys)
      for name in names.sorted() {
        let key = failCountKey(name, node: node)
        var state = resourceStates[key]?[nodeName] ?? ResourceNodeState(role: .unknown)
        for (operation, count) in nodes[node].failCounts[name] ?? [:] {
          state.failCounts[operation] = (Score(state.failCounts[operation] ?? 0) + Score(count)).value
        }
        if let time = nodes[node].lastFailures[name] { state.lastFailure = max(state.lastFailure ?? 0, time) }
        resourceStates[key, default: [:]][nodeName] = state
      }
    }
  }

  /// Anonymous clones' fail counts name the cloned primitive, not an instance.
  private mutating func failCountKey(_ name: String, node: Int) -> String {
    let base: String
    if resources.entries[name] != nil {
      base = name
    } else if let (stripped, _) = Self.cloneInstance(name), resources.entries[stripped] != nil {
      base = stripped
    } else {
      return name
    }
    guard let entry = resources.entries[base], entry.clone != nil, !resources.isUnique(entry) else {
      return name
    }
    let nodeName = nodes[node].config.name
    let existing = resourceStates.keys.filter { key in
      guard let (keyBase, _) = Self.cloneInstance(key), keyBase == base else { return false }
      return resourceStates[key]?[nodeName] != nil
    }.sorted()
    if let key = existing.first { return key }
    return "\(base):\(anonymousInstance(base: base, entry: entry, node: node))"
  }
}
