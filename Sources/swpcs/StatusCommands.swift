import ArgumentParser
import ControlClient
import ControlProtocol
import Foundation
import ResourceManager
import ResourceModel

extension Swpcs {
  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "status",
      abstract: "Cluster status in the pcs layout (--output json for scripts).",
      subcommands: [Full.self, Resources.self, Nodes.self, QuorumStatus.self, Wait.self, CrmMonXML.self],
      defaultSubcommand: Full.self)
  }
}

extension Swpcs.Status {
  struct Full: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cluster", abstract: "Everything (the default).")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Show more detail.") var full = false
    func run() throws {
      let status = managerStatus()
      let coro = corosyncStatusIfRunning()
      let nodeIds = Dictionary(uniqueKeysWithValues: (coro?.nodes ?? []).map { ($0.name, $0.id) })
      switch global.output {
      case .json: printJSON(StatusJSON.make(status, cluster: coro?.cluster, nodeIds: nodeIds))
      case .text: print(StatusText.render(status, corosync: coro, full: full, now: Date()), terminator: "")
      }
    }
  }
  struct Resources: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resources", abstract: "Resources only.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let status = managerStatus()
      switch global.output {
      case .json: printJSON(StatusJSON.make(status, cluster: nil, nodeIds: [:]).resources)
      case .text: print(StatusText.resources(status), terminator: "")
      }
    }
  }
  struct CrmMonXML: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "xml",
      abstract: "Resource instances in the layout of crm_mon --output-as=xml (for agents that read crm_mon).")
    func run() throws { print(CrmMonText.xml(managerStatus()), terminator: "") }
  }
  struct Nodes: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nodes", abstract: "Nodes only.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let status = managerStatus()
      let coro = corosyncStatusIfRunning()
      switch global.output {
      case .json:
        let ids = Dictionary(uniqueKeysWithValues: (coro?.nodes ?? []).map { ($0.name, $0.id) })
        printJSON(StatusJSON.make(status, cluster: coro?.cluster, nodeIds: ids).nodes)
      case .text: print(StatusText.nodes(status, corosync: coro), terminator: "")
      }
    }
  }
  struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "wait",
      abstract:
        "Wait until the cluster is idle (a DC, no transition running, no action in flight): [TIMEOUT]. Exit 2 on timeout."
    )
    @Argument(help: "Timeout (default 60s; 10, 10s, 2min).") var timeout: String?
    func run() throws {
      requireLiveCluster("status wait")
      let ms = timeout.map { parseInterval($0, context: "status wait") } ?? 60_000
      // Only the DC knows its transition; every replica knows the starts, stops and role changes in
      // flight (record-pending), so the answer is the same on every node.
      let idle = waitFor(seconds: max(1, (ms + 999) / 1000)) {
        $0.dc != nil && $0.transition.isEmpty
          && !$0.state.resources.values.contains { $0.values.contains { $0.pending != nil } }
      }
      guard idle != nil else {
        fail("the cluster did not settle within \(ms / 1000)s (see: swpcs status)", code: ExitStatus.timedOut)
      }
    }
  }
  struct QuorumStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "quorum", abstract: "Same as: swpcs quorum status.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      var command = Swpcs.Quorum.Status()
      command.global = global
      try command.run()
    }
  }
}

func corosyncStatusIfRunning() -> CorosyncStatus? {
  guard let client = try? UnixSocketClient(path: corosyncSocketPathInUse, timeout: .seconds(5)),
    let response = try? client.request(CorosyncRequest(op: .status), as: CorosyncResponse.self)
  else { return nil }
  return response.status
}

/// Where each primitive runs, derived from the replicated state.
struct ResourcePlacement {
  var id: String
  var agent: AgentSpec
  var group: String?
  var roles: [(node: String, state: ResourceNodeState)]
  var disabled: Bool
  var unmanaged: Bool
  /// The clone this primitive's instances belong to, if any.
  var clone: String?
  var promotable = false

  static func all(_ status: ManagerStatus) -> [ResourcePlacement] {
    var out: [ResourcePlacement] = []
    func add(_ p: Primitive, group: String?, parentMeta: [String: String], clone: Clone? = nil) {
      var nodes = status.state.resources[p.id] ?? [:]
      if clone != nil {
        // Instances are recorded as ID:N; each node runs at most one of an anonymous clone's here.
        for (key, byNode) in status.state.resources where key.hasPrefix(p.id + ":") {
          for (node, state) in byNode
          where nodes[node].map({ $0.role == .stopped || $0.role == .unknown }) ?? true {
            nodes[node] = state
          }
        }
      }
      let active = nodes.filter { $0.value.role != .stopped && $0.value.role != .unknown }
        .sorted { $0.key < $1.key }.map { (node: $0.key, state: $0.value) }
      let targetRole = p.meta["target-role"] ?? parentMeta["target-role"]
      let managed =
        p.meta["is-managed"] ?? parentMeta["is-managed"] ?? status.config.resourceDefaults["is-managed"]
      out.append(
        ResourcePlacement(
          id: p.id, agent: p.agent, group: group, roles: active,
          disabled: targetRole?.lowercased() == "stopped",
          unmanaged: managed.map { ["false", "no", "0", "off"].contains($0.lowercased()) } ?? false,
          clone: clone?.id, promotable: clone?.promotable ?? false))
    }
    for resource in status.config.resources {
      switch resource {
      case .primitive(let p): add(p, group: nil, parentMeta: [:])
      case .group(let g): for m in g.members { add(m, group: g.id, parentMeta: g.meta) }
      case .clone(let c):
        switch c.child {
        case .primitive(let p): add(p, group: nil, parentMeta: c.meta, clone: c)
        case .group(let g):
          for m in g.members { add(m, group: g.id, parentMeta: c.meta.merging(g.meta) { $1 }, clone: c) }
        }
      }
    }
    return out
  }

  /// The role pcs shows for one instance (an instance of a promotable clone that was started but
  /// never promoted or demoted is Unpromoted).
  func instanceRole(_ state: ResourceNodeState) -> String {
    if state.failed { return "FAILED" }
    switch state.role {
    case .promoted: return "Promoted"
    case .unpromoted: return "Unpromoted"
    case .started: return promotable ? "Unpromoted" : "Started"
    case .stopped, .unknown: return "Stopped"
    }
  }

  var role: String {
    if roles.contains(where: { $0.state.failed }) { return "FAILED" }
    if roles.isEmpty { return "Stopped" }
    if roles.contains(where: { $0.state.role == .promoted }) { return "Promoted" }
    return "Started"
  }
}

/// The `--output json` schema of `swpcs status` (documented in swpcs(8); keep it stable).
struct StatusJSON: Encodable {
  struct Node: Encodable {
    var name: String
    var id: UInt32?
    var state: String
    var dc: Bool
    func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      try c.encode(name, forKey: .name)
      try c.encode(id, forKey: .id)
      try c.encode(state, forKey: .state)
      try c.encode(dc, forKey: .dc)
    }
    enum Keys: String, CodingKey { case name, id, state, dc }
  }
  struct Resource: Encodable {
    var id: String
    var agent: String
    var role: String
    var node: String?
    var nodes: [String]
    var group: String?
    var failcount: [String: Int]
    var managed: Bool
    var disabled: Bool
    /// The clone the resource's instances belong to (null when not cloned).
    var clone: String?
    /// One entry per active instance: node and role (Started, Promoted, Unpromoted, FAILED).
    var instances: [Instance]
    struct Instance: Encodable {
      var node: String
      var role: String
    }
    // Absent values are written as null: scripts rely on every key being present.
    func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      try c.encode(id, forKey: .id)
      try c.encode(agent, forKey: .agent)
      try c.encode(role, forKey: .role)
      try c.encode(node, forKey: .node)
      try c.encode(nodes, forKey: .nodes)
      try c.encode(group, forKey: .group)
      try c.encode(failcount, forKey: .failcount)
      try c.encode(managed, forKey: .managed)
      try c.encode(disabled, forKey: .disabled)
      try c.encode(clone, forKey: .clone)
      try c.encode(instances, forKey: .instances)
    }
    enum Keys: String, CodingKey {
      case id, agent, role, node, nodes, group, failcount, managed, disabled, clone, instances
    }
  }
  var cluster: String?
  var dc: String?
  var quorate: Bool
  var configVersion: String
  var nodes: [Node]
  var resources: [Resource]
  var transition: [String]
  var warnings: [String]

  func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(cluster, forKey: .cluster)
    try c.encode(dc, forKey: .dc)
    try c.encode(quorate, forKey: .quorate)
    try c.encode(configVersion, forKey: .configVersion)
    try c.encode(nodes, forKey: .nodes)
    try c.encode(resources, forKey: .resources)
    try c.encode(transition, forKey: .transition)
    try c.encode(warnings, forKey: .warnings)
  }
  enum Keys: String, CodingKey {
    case cluster, dc, quorate, configVersion, nodes, resources, transition, warnings
  }

  static func make(_ s: ManagerStatus, cluster: String?, nodeIds: [String: UInt32]) -> StatusJSON {
    let names = Set(nodeIds.keys).union(s.members).union(s.state.nodes.map(\.name)).sorted()
    let nodes = names.map { name in
      Node(name: name, id: nodeIds[name], state: nodeState(s, name).lowercased(), dc: s.dc == name)
    }
    let resources = ResourcePlacement.all(s).map { p in
      var failcount: [String: Int] = [:]
      for (key, byNode) in s.state.resources
      where key == p.id || (p.clone != nil && key.hasPrefix(p.id + ":")) {
        for (node, state) in byNode where state.totalFailCount > 0 {
          failcount[node, default: 0] += state.totalFailCount
        }
      }
      return Resource(
        id: p.id, agent: p.agent.description, role: p.role, node: p.roles.first?.node,
        nodes: p.roles.map(\.node),
        group: p.group, failcount: failcount, managed: !p.unmanaged, disabled: p.disabled, clone: p.clone,
        instances: p.roles.map { Resource.Instance(node: $0.node, role: p.instanceRole($0.state)) })
    }
    return StatusJSON(
      cluster: cluster, dc: s.dc, quorate: s.quorate, configVersion: s.config.version.description,
      nodes: nodes,
      resources: resources, transition: s.transition, warnings: StatusText.warnings(s))
  }
}

/// online | offline | standby | maintenance | unclean
func nodeState(_ s: ManagerStatus, _ name: String) -> String {
  let attributes = s.config.nodes.first { $0.name == name }?.attributes ?? [:]
  let membership = s.state.nodes.first { $0.name == name }?.membership
  if membership == .unclean { return "unclean" }
  guard s.members.contains(name), s.joined.contains(name) else { return "offline" }
  if attributes["maintenance"].map(isTrue) == true { return "maintenance" }
  if attributes["standby"].map(isTrue) == true { return "standby" }
  return "online"
}

func isTrue(_ v: String) -> Bool { ["true", "on", "yes", "1", "y"].contains(v.lowercased()) }

/// The pcs status text layout.
enum StatusText {
  static func render(_ s: ManagerStatus, corosync: CorosyncStatus?, full: Bool, now: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "EEE MMM d HH:mm:ss yyyy"
    var out = "Cluster name: \(corosync?.cluster ?? "?")\n"
    let placements = ResourcePlacement.all(s)
    out += "Cluster Summary:\n"
    out += "  * Stack: swcorosync\n"
    if let dc = s.dc {
      out += "  * Current DC: \(dc) - partition \(s.quorate ? "with" : "WITHOUT") quorum\n"
    } else {
      out += "  * Current DC: NONE\n"
    }
    out += "  * Last updated: \(formatter.string(from: now)) on \(s.localNode)\n"
    if let change = s.lastChange {
      out +=
        "  * Last change:  \(formatter.string(from: Date(timeIntervalSince1970: Double(change) / 1000)))\n"
    }
    let nodeCount = corosync?.nodes.count ?? Set(s.members + s.state.nodes.map(\.name)).count
    out += "  * \(nodeCount) node\(nodeCount == 1 ? "" : "s") configured\n"
    out += "  * \(placements.count) resource instance\(placements.count == 1 ? "" : "s") configured\n\n"
    out += nodes(s, corosync: corosync)
    out += "\n" + resources(s)
    let failures = s.recentFailures
    if !failures.isEmpty {
      out += "\nFailed Resource Actions:\n"
      for f in failures.suffix(full ? 50 : 10) {
        let when = formatter.string(from: Date(timeIntervalSince1970: Double(f.at)))
        out +=
          "  * \(f.spec.resource)_\(f.spec.key) on \(f.node) '\(rcText(f.rc, f.status))' (\(f.rc)): call at \(when)\n"
      }
    }
    let warnings = warnings(s)
    if !warnings.isEmpty {
      out += "\nWarnings:\n" + warnings.map { "  * \($0)\n" }.joined()
    }
    if full {
      out += "\nMigration Summary:\n"
      var any = false
      for (resource, nodes) in s.state.resources.sorted(by: { $0.key < $1.key }) {
        for (node, state) in nodes.sorted(by: { $0.key < $1.key }) where state.totalFailCount > 0 {
          out += "  * Node \(node): \(resource): fail-count=\(state.totalFailCount)\n"
          any = true
        }
      }
      if !any { out += "  * No fail counts\n" }
      out += "\nConfiguration version: \(s.config.version)\n"
      if let history = s.fenceHistory, !history.isEmpty {
        out += "\nFencing History:\n" + StonithText.history(history, limit: 10)
      }
      if !s.transition.isEmpty {
        out += "\nTransition in progress:\n" + s.transition.map { "  * \($0)\n" }.joined()
      }
    }
    out += "\nDaemon Status:\n"
    out += "  swcorosync: \(corosync == nil ? "not running" : "active")\n"
    out += "  swpacemakerd: active\n"
    return out
  }

  static func nodes(_ s: ManagerStatus, corosync: CorosyncStatus?) -> String {
    let names = Set((corosync?.nodes.map(\.name) ?? []) + s.members + s.state.nodes.map(\.name)).sorted()
    var groups: [String: [String]] = [:]
    for name in names { groups[nodeState(s, name), default: []].append(name) }
    var out = "Node List:\n"
    let order: [(String, String)] = [
      ("online", "Online"), ("standby", "Node %@: standby"), ("maintenance", "Node %@: maintenance"),
      ("offline", "OFFLINE"), ("unclean", "Node %@: UNCLEAN (offline)"),
    ]
    for (key, label) in order {
      guard let list = groups[key], !list.isEmpty else { continue }
      if label.contains("%@") {
        for n in list { out += "  * " + label.replacingOccurrences(of: "%@", with: n) + "\n" }
      } else {
        out += "  * \(label): [ \(list.joined(separator: " ")) ]\n"
      }
    }
    return out
  }

  static func resources(_ s: ManagerStatus) -> String {
    var out = "Full List of Resources:\n"
    let placements = ResourcePlacement.all(s)
    if placements.isEmpty { return out + "  * No resources\n" }
    var currentGroup: String?
    var shownClones = Set<String>()
    for p in placements {
      if let clone = p.clone {
        guard !shownClones.contains(clone) else { continue }
        shownClones.insert(clone)
        out += cloneSet(clone, placements.filter { $0.clone == clone }, s)
        currentGroup = nil
        continue
      }
      if p.group != currentGroup {
        currentGroup = p.group
        if let g = p.group { out += "  * Resource Group: \(g):\n" }
      }
      let indent = p.group == nil ? "  * " : "    * "
      var state: String
      switch (p.role, p.roles.count) {
      case ("Stopped", _): state = "Stopped" + (p.disabled ? " (disabled)" : "")
      case (_, 1): state = "\(p.role) \(p.roles[0].node)"
      default: state = "\(p.role) [ \(p.roles.map(\.node).joined(separator: " ")) ]"
      }
      if p.unmanaged { state += " (unmanaged)" }
      out += "\(indent)\(p.id)\t(\(p.agent)):\t \(state)\n"
    }
    return out
  }

  /// pcs's clone layout: `Clone Set: ID [CHILD] (promotable):`, then the nodes per role; failed
  /// instances on their own line. A cloned group counts as running in a role on a node when all its
  /// members do.
  static func cloneSet(_ clone: String, _ members: [ResourcePlacement], _ s: ManagerStatus) -> String {
    guard let first = members.first else { return "" }
    let child = first.group ?? first.id
    var out = "  * Clone Set: \(clone) [\(child)]\(first.promotable ? " (promotable)" : ""):\n"
    var byRole: [String: Set<String>] = [:]
    var failed: [(ResourcePlacement, String)] = []
    for (index, m) in members.enumerated() {
      var mine: [String: Set<String>] = [:]
      for (node, state) in m.roles {
        let role = m.instanceRole(state)
        if role == "FAILED" { failed.append((m, node)) } else { mine[role, default: []].insert(node) }
      }
      for role in Set(byRole.keys).union(mine.keys) {
        byRole[role] = index == 0 ? mine[role] ?? [] : (byRole[role] ?? []).intersection(mine[role] ?? [])
      }
    }
    for (m, node) in failed { out += "    * \(m.id)\t(\(m.agent)):\t FAILED \(node)\n" }
    for role in ["Promoted", "Unpromoted", "Started"] {
      guard let nodes = byRole[role], !nodes.isEmpty else { continue }
      out += "    * \(role): [ \(nodes.sorted().joined(separator: " ")) ]\n"
    }
    // As crm_mon: while fewer instances run than clone-max, the nodes (online or not) without one.
    let active = Set(byRole.values.flatMap { $0 }).union(failed.map(\.1))
    let known = Set(s.state.nodes.map(\.name)).union(s.members)
    var cloneMax = known.count
    for case .clone(let c) in s.config.resources where c.id == clone {
      cloneMax = c.meta["clone-max"].flatMap { Int($0) } ?? cloneMax
    }
    let stopped = known.subtracting(active).sorted()
    if !stopped.isEmpty && cloneMax > active.count {
      let disabled = first.disabled ? " (disabled)" : ""
      out += "    * Stopped\(disabled): [ \(stopped.joined(separator: " ")) ]\n"
    }
    return out
  }

  static func warnings(_ s: ManagerStatus) -> [String] {
    var out: [String] = []
    let fencing = (s.config.properties["stonith-enabled"] ?? "true")
    let devices = ResourcePlacement.all(s).filter { $0.agent.standard == .stonith }
    if isTrue(fencing) && devices.isEmpty && !s.config.resources.isEmpty {
      out.append("No fencing devices are configured while fencing is enabled: resources will not start.")
      out.append(
        "Configure one (swpcs stonith create ...) or disable fencing: swpcs property set stonith-enabled=false"
      )
    }
    for c in s.config.constraints.locations where c.id.hasPrefix("cli-") {
      out.append("Leftover move/ban constraint \(c.id) — remove with: swpcs resource clear \(c.resource)")
    }
    if !s.connectedToCorosync {
      out.append("swpacemakerd is not connected to swcorosync: this node is not a cluster member")
    }
    return out + s.notes
  }

  static func rcText(_ rc: Int, _ status: String) -> String {
    if status == "timeout" { return "Timed Out" }
    switch rc {
    case 0: return "ok"
    case 1: return "error"
    case 2: return "invalid parameter"
    case 3: return "unimplemented feature"
    case 4: return "insufficient privileges"
    case 5: return "not installed"
    case 6: return "not configured"
    case 7: return "not running"
    case 8: return "promoted"
    case 9: return "promoted (failed)"
    default: return "error"
    }
  }
}

/// The part of `crm_mon --output-as=xml` that OCF agents grep (ocf:heartbeat:redis looks for its
/// Promoted instance): one `<resource …>` line per active instance, attributes in crm_mon's order.
enum CrmMonText {
  static func xml(_ s: ManagerStatus) -> String {
    var out = "<pacemaker-result api-version=\"2.0\" request=\"crm_mon\">\n  <resources>\n"
    for p in ResourcePlacement.all(s) {
      for (node, state) in p.roles {
        let role = p.instanceRole(state)
        let failed = role == "FAILED"
        out +=
          "    <resource id=\"\(p.id)\" resource_agent=\"\(p.agent)\" role=\"\(failed ? "Started" : role)\" "
          + "active=\"true\" orphaned=\"false\" blocked=\"\(state.blocked)\" managed=\"\(!p.unmanaged)\" "
          + "failed=\"\(failed)\" failure_ignored=\"false\" nodes_running_on=\"1\">\n"
          + "      <node name=\"\(node)\" cached=\"true\"/>\n    </resource>\n"
      }
    }
    return out + "  </resources>\n</pacemaker-result>\n"
  }
}
