import ResourceModel

/// `crm_simulate -S` output from our scheduler: the cluster status before, the Transition Summary,
/// one valid execution order of the transition's actions, and the status after applying them.
///
/// Exists for `swpcs simulate` ("what would the cluster do if…") and so our decisions can be read
/// side by side with Pacemaker's summaries. The layout follows Pacemaker's text output; values are
/// ours. Pure: the revised status is computed by `SimulationReport.apply`, never by running anything.
public struct SimulationReport: Sendable {
  public var configuration: ResourceConfiguration
  public var before: ClusterState
  public var transition: Transition
  public var after: ClusterState

  /// Applies `transition` to `before` to get the revised status.
  public init(configuration: ResourceConfiguration, state: ClusterState, transition: Transition) {
    self.configuration = configuration
    self.before = state
    self.transition = transition
    self.after = Self.apply(transition, to: state)
  }

  /// The four sections, as `crm_simulate -S` prints them.
  public var text: String {
    var lines = ["Current cluster status:"]
    lines += Self.status(configuration, before)
    lines += ["", "Transition Summary:"]
    lines += Self.summaryLines(transition.summary)
    lines += ["", "Executing Cluster Transition:"]
    lines += Self.executionLines(transition)
    lines += ["", "Revised Cluster Status:"]
    lines += Self.status(configuration, after)
    return lines.joined(separator: "\n") + "\n"
  }

  // MARK: Applying a transition

  /// The state after every action of `transition` succeeded, as `crm_simulate` assumes: fenced
  /// nodes are offline with nothing running, stops stop, starts start, probes find nothing.
  public static func apply(_ transition: Transition, to state: ClusterState) -> ClusterState {
    var result = state
    for index in executionOrder(transition) {
      let action = transition.actions[index]
      if action.kind == .fence {
        if let n = result.nodes.firstIndex(where: { $0.name == action.node }) {
          result.nodes[n].membership = action.fenceAction == "on" ? .online : .offline
          result.nodes[n].uncleanReason = nil
        }
        for id in result.resources.keys {
          if let old = result.resources[id]?[action.node] {
            result.resources[id]?[action.node] = ResourceNodeState(role: .stopped, failCounts: old.failCounts)
          }
        }
        continue
      }
      guard let id = action.resource else { continue }
      var entry = result.resources[id]?[action.node] ?? ResourceNodeState(role: .unknown)
      switch action.kind {
      case .start:
        entry.role = .started
        entry.failed = false
        entry.failedOperation = nil
        entry.pending = nil
      case .stop:
        entry.role = .stopped
        entry.failed = false
        entry.stopFailed = false
        entry.failedOperation = nil
        entry.activeMonitors = []
        entry.pending = nil
      case .promote: entry.role = .promoted
      case .demote: entry.role = .unpromoted
      case .probe: if entry.role == .unknown { entry.role = .stopped }
      case .monitor:
        let key = "monitor_\(action.intervalMs)"
        if !entry.activeMonitors.contains(key) { entry.activeMonitors.append(key) }
      case .cancel: entry.activeMonitors.removeAll { $0 == "monitor_\(action.intervalMs)" }
      case .clearFailure:
        entry.failCounts = [:]
        entry.lastFailure = nil
      case .notify, .fence, .reload: break
      }
      result.resources[id, default: [:]][action.node] = entry
    }
    return result
  }

  /// A topological order of the actions (orderings respected; otherwise in transition order).
  public static func executionOrder(_ transition: Transition) -> [Int] {
    let count = transition.actions.count
    var waiting = Array(repeating: 0, count: count)
    var next = Array(repeating: [Int](), count: count)
    for o in transition.orderings where o.before < count && o.after < count && o.before != o.after {
      waiting[o.after] += 1
      next[o.before].append(o.after)
    }
    var ready = (0..<count).filter { waiting[$0] == 0 }
    var order: [Int] = []
    var done = Array(repeating: false, count: count)
    while !ready.isEmpty {
      ready.sort()
      let a = ready.removeFirst()
      done[a] = true
      order.append(a)
      for b in next[a] {
        waiting[b] -= 1
        if waiting[b] == 0 { ready.append(b) }
      }
    }
    // A cycle (never produced by the scheduler) would leave actions out: append them as they come.
    order += (0..<count).filter { !done[$0] }
    return order
  }

  // MARK: Sections

  /// Transition Summary lines with Pacemaker's columns: the verb in 8; resource ids in a width
  /// that starts at 5 and becomes an id's length + 2 whenever an id is longer; the details in
  /// parentheses right-aligned to the longest of them (at least 5).
  public static func summaryLines(_ summary: [String]) -> [String] {
    let parsed = summary.map {
      line -> (line: String, action: SummaryAction, details: String, rest: String)? in
      let action = TransitionSummary.parse(line)
      guard action.verb != "Fence", let open = line.range(of: " ( "), let close = line.range(of: " )")
      else { return nil }
      let details = String(line[open.upperBound..<close.lowerBound])
      return (line, action, details, String(line[close.upperBound...]).trimming(" "))
    }
    var resourceWidth = 5
    var detailWidth = 5
    for case let item? in parsed {
      if item.action.resource.count > resourceWidth { resourceWidth = item.action.resource.count + 2 }
      detailWidth = max(detailWidth, item.details.count)
    }
    return zip(summary, parsed).map { line, item in
      guard let item else { return "  * " + line }
      let verb = item.action.verb.padding(8)
      let resource = item.action.resource.padding(resourceWidth)
      let text = "  * \(verb)   \(resource)   ( \(item.details.leftPadding(detailWidth)) )"
      return item.rest.isEmpty ? text : "\(text)  \(item.rest)"
    }
  }

  /// "Executing Cluster Transition" lines in execution order.
  public static func executionLines(_ transition: Transition) -> [String] {
    executionOrder(transition).map { index in
      let a = transition.actions[index]
      switch a.kind {
      case .fence: return "  * Fencing \(a.node) (\(a.fenceAction ?? "reboot"))"
      case .clearFailure: return "  * Cluster action:  clear_failcount for \(a.resource ?? "") on \(a.node)"
      default:
        let task: String
        switch a.kind {
        case .probe: task = "monitor"
        case .monitor: task = "monitor=\(a.intervalMs)"
        case .cancel: task = "monitor=\(a.intervalMs) cancel"
        default: task = a.kind.rawValue
        }
        return "  * Resource action: \((a.resource ?? "").padding(15)) \(task) on \(a.node)"
      }
    }
  }

  /// "Node List" and "Full List of Resources", as Pacemaker prints a status.
  public static func status(_ config: ResourceConfiguration, _ state: ClusterState) -> [String] {
    var lines = ["  * Node List:"]
    let names = nodeNames(config, state)
    let byName = Dictionary(state.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var online: [String] = []
    var offline: [String] = []
    for name in names {
      let node = byName[name]
      let attributes = (config.nodes.first { $0.name == name }?.attributes ?? [:]).merging(
        node?.transientAttributes ?? [:]
      ) { $1 }
      let standby = isTrue(attributes["standby"])
      let maintenance = isTrue(attributes["maintenance"])
      switch node?.membership ?? .offline {
      case .unclean:
        // The scheduler's reading: a node made unclean by a failure there or by lost quorum is up.
        let reason = node?.uncleanReason ?? ""
        let up = reason.hasSuffix(" failed there") || reason == "cluster does not have quorum"
        lines.append("    * Node \(name): UNCLEAN (\(up ? "online" : "offline"))")
      case .offline where maintenance: lines.append("    * Node \(name): OFFLINE (maintenance)")
      case .offline: offline.append(name)
      case .online, .shuttingDown:
        if node?.pending == true {
          lines.append("    * Node \(name): pending")
        } else if standby {
          let active = state.resources.values.contains { isActive($0[name]) }
          lines.append("    * Node \(name): standby" + (active ? " (with active resources)" : ""))
        } else if maintenance {
          lines.append("    * Node \(name): maintenance")
        } else {
          online.append(name)
        }
      }
    }
    if !online.isEmpty { lines.append("    * Online: [ \(online.joined(separator: " ")) ]") }
    if !offline.isEmpty { lines.append("    * OFFLINE: [ \(offline.joined(separator: " ")) ]") }
    lines += ["", "  * Full List of Resources:"]
    let renderer = ResourceLines(config: config, state: state, nodes: names)
    for resource in config.resources { lines += renderer.lines(resource, indent: "    ") }
    let configured = ConfigurationIds(config)
    for id in state.resources.keys.sorted() where !configured.contains(id) {
      let nodesActive = renderer.activeNodes(id)
      guard !nodesActive.isEmpty else { continue }
      lines.append("    * \(id)\t(unknown):\t ORPHANED \(renderer.placeText(nodesActive))")
    }
    if config.resources.isEmpty && lines.last == "  * Full List of Resources:" {
      lines.append("    * No resources")
    }
    return lines
  }

  /// Every node, in the order Pacemaker lists them (its node list is kept sorted by name).
  static func nodeNames(_ config: ResourceConfiguration, _ state: ClusterState) -> [String] {
    var names = config.nodes.map(\.name)
    var seen = Set(names)
    for node in state.nodes where seen.insert(node.name).inserted { names.append(node.name) }
    return names.sorted { nameOrder($0, $1) < 0 }
  }

  /// Pacemaker's order of node names: case-insensitive, with runs of digits compared as numbers
  /// (`node2` before `node10`).
  static func nameOrder(_ a: String, _ b: String) -> Int {
    var i = Array(a.lowercased().unicodeScalars)[...]
    var j = Array(b.lowercased().unicodeScalars)[...]
    func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
    while let x = i.first, let y = j.first {
      if isDigit(x) && isDigit(y) {
        let p = i.prefix(while: isDigit).drop { $0 == "0" }
        let q = j.prefix(while: isDigit).drop { $0 == "0" }
        i = i.drop(while: isDigit)
        j = j.drop(while: isDigit)
        if p.count != q.count { return p.count < q.count ? -1 : 1 }
        for (u, v) in zip(p, q) where u != v { return u < v ? -1 : 1 }
      } else {
        if x != y { return x < y ? -1 : 1 }
        i = i.dropFirst()
        j = j.dropFirst()
      }
    }
    return i.isEmpty ? (j.isEmpty ? 0 : -1) : 1
  }

  static func isActive(_ entry: ResourceNodeState?) -> Bool {
    guard let entry else { return false }
    return entry.role != .stopped && entry.role != .unknown
  }

  static func isTrue(_ value: String?) -> Bool {
    ["true", "yes", "on", "y", "1"].contains(value?.lowercased() ?? "")
  }
}

/// Every configured resource id, and whether a state key (`rsc` or `rsc:N`) names one of them.
struct ConfigurationIds {
  var ids: Set<String> = []
  init(_ config: ResourceConfiguration) {
    for resource in config.resources {
      switch resource {
      case .primitive(let p): ids.insert(p.id)
      case .group(let g): ids.formUnion(g.members.map(\.id))
      case .clone(let c):
        switch c.child {
        case .primitive(let p): ids.insert(p.id)
        case .group(let g): ids.formUnion(g.members.map(\.id))
        }
      }
    }
  }
  func contains(_ key: String) -> Bool {
    if ids.contains(key) { return true }
    guard let colon = key.lastIndex(of: ":") else { return false }
    return ids.contains(String(key[..<colon]))
  }
}

/// Resource lines of a status: one per primitive, groups and clones as headed blocks.
struct ResourceLines {
  let config: ResourceConfiguration
  let state: ClusterState
  let nodes: [String]

  func activeNodes(_ key: String) -> [String] {
    nodes.filter { SimulationReport.isActive(state.resources[key]?[$0]) }
  }

  func placeText(_ nodesActive: [String]) -> String {
    nodesActive.count == 1 ? nodesActive[0] : "[ \(nodesActive.joined(separator: " ")) ]"
  }

  func lines(_ resource: Resource, indent: String) -> [String] {
    switch resource {
    case .primitive(let p): return [primitiveLine(p, key: p.id, indent: indent, inherited: [:])]
    case .group(let g):
      return ["\(indent)* Resource Group: \(g.id):"]
        + g.members.map { primitiveLine($0, key: $0.id, indent: indent + "  ", inherited: g.meta) }
    case .clone(let c): return cloneLines(c, indent: indent)
    }
  }

  private func primitiveLine(_ p: Primitive, key: String, indent: String, inherited: [String: String])
    -> String
  {
    let meta = config.resourceDefaults.merging(inherited) { $1 }.merging(p.meta) { $1 }
    let entries = state.resources[key] ?? [:]
    let active = activeNodes(key)
    let failed = active.contains { entries[$0]?.failed == true || entries[$0]?.stopFailed == true }
    var text: String
    if active.isEmpty {
      text = "Stopped"
    } else {
      let roles = Set(active.compactMap { entries[$0]?.role })
      let role = roles.count == 1 ? (roles.first ?? .started) : .started
      let word =
        failed ? "FAILED" : role == .promoted ? "Promoted" : role == .unpromoted ? "Unpromoted" : "Started"
      text = "\(word) \(placeText(active))"
    }
    var flags: [String] = []
    if meta["target-role"]?.lowercased() == "stopped" { flags.append("disabled") }
    if meta["is-managed"].map({ !SimulationReport.isTrue($0) }) == true
      || SimulationReport.isTrue(meta["maintenance"])
      || SimulationReport.isTrue(config.properties["maintenance-mode"])
    {
      flags.append("unmanaged")
    }
    if active.contains(where: { entries[$0]?.blocked == true }) { flags.append("blocked") }
    if !flags.isEmpty { text += " (\(flags.joined(separator: ", ")))" }
    return "\(indent)* \(p.id)\t(\(p.agent)):\t \(text)"
  }

  private func cloneLines(_ c: Clone, indent: String) -> [String] {
    let unique = c.isGloballyUnique(resourceDefaults: config.resourceDefaults)
    let childId: String
    let members: [Primitive]
    switch c.child {
    case .primitive(let p):
      childId = p.id
      members = [p]
    case .group(let g):
      childId = g.id
      members = g.members
    }
    var flags: [String] = []
    if unique { flags.append("unique") }
    if c.promotable { flags.append("promotable") }
    let suffix = flags.isEmpty ? "" : " (\(flags.joined(separator: ", ")))"
    var lines = ["\(indent)* Clone Set: \(c.id) [\(childId)]\(suffix):"]
    let instanceKeys = Set(
      state.resources.keys.filter { key in members.contains { key.hasPrefix($0.id + ":") } })
    if unique {
      for key in instanceKeys.sorted() {
        guard let base = members.first(where: { key.hasPrefix($0.id + ":") }) else { continue }
        lines.append(primitiveLine(base, key: key, indent: indent + "  ", inherited: c.meta))
      }
      return lines
    }
    // Anonymous: nodes by the role of the clone's first member there.
    let first = members[0]
    var byRole: [String: [String]] = [:]
    var failedLines: [String] = []
    var running: Set<String> = []
    for node in nodes {
      for key in instanceKeys where key.hasPrefix(first.id + ":") {
        guard let entry = state.resources[key]?[node], SimulationReport.isActive(entry) else { continue }
        running.insert(node)
        if entry.failed {
          failedLines.append("\(indent)  * \(key)\t(\(first.agent)):\t FAILED \(node)")
          continue
        }
        let role =
          entry.role == .promoted ? "Promoted" : (c.promotable ? "Unpromoted" : "Started")
        byRole[role, default: []].append(node)
      }
    }
    lines += failedLines
    for role in ["Promoted", "Unpromoted", "Started"] {
      if let list = byRole[role] { lines.append("\(indent)  * \(role): [ \(list.joined(separator: " ")) ]") }
    }
    let stopped = nodes.filter { !running.contains($0) }
    if !stopped.isEmpty { lines.append("\(indent)  * Stopped: [ \(stopped.joined(separator: " ")) ]") }
    return lines
  }
}

extension String {
  func padding(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
  func leftPadding(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
