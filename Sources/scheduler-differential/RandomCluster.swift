/// A small random cluster within the features both schedulers support — primitives, groups,
/// scores, location/colocation/order constraints, stickiness, failures with migration-threshold,
/// standby, lost nodes with and without fencing, quorum policies — rendered as a CIB with a status
/// section. A value, so a disagreeing cluster can be shrunk piece by piece.
struct RandomCluster {
  struct Node {
    enum Kind { case online, standby, cleanlyDown, lost }
    var name: String
    var kind: Kind
  }
  struct Primitive {
    var id: String
    var stickiness: Int?
    var migrationThreshold: Int?
    var disabled = false
  }
  /// Where a primitive is, per node.
  enum History {
    case unprobed, stopped, running
    case monitorFailed(count: Int)
    case startFailed
  }
  struct Location {
    var rsc: String
    var node: String
    var score: String
  }
  struct Colocation {
    var rsc: String
    var with: String
    var score: String
  }
  struct Order {
    var first: String
    var then: String
    var optional: Bool
    var symmetrical: Bool
  }

  var nodes: [Node] = []
  var fencing = false
  var noQuorumPolicy = "stop"
  var haveQuorum = true
  var defaultStickiness: Int?
  /// Top-level entries: a primitive alone, or a group of several.
  var tops: [(id: String, members: [Primitive])] = []
  /// primitive id → node name → history.
  var history: [String: [String: History]] = [:]
  var locations: [Location] = []
  var colocations: [Colocation] = []
  var orders: [Order] = []

  var primitives: [Primitive] { tops.flatMap(\.members) }
  var isGroup: (String) -> Bool { { id in self.tops.contains { $0.id == id && $0.members.count > 1 } } }

  static let scores = ["-INFINITY", "-100", "-10", "10", "50", "100", "200", "INFINITY"]

  static func random(_ rng: inout SplitMix64) -> RandomCluster {
    var c = RandomCluster()
    let nodeCount = rng.int(2...5)
    c.fencing = rng.chance(0.5)
    c.haveQuorum = rng.chance(0.8)
    c.noQuorumPolicy = rng.pick(["stop", "freeze", "ignore", "stop"] + (c.fencing ? ["suicide"] : []))
    c.defaultStickiness = rng.chance(0.4) ? rng.pick([0, 50, 100, 1000]) : nil
    for i in 1...nodeCount {
      let kind: Node.Kind =
        i == 1 ? .online : rng.pick([.online, .online, .online, .standby, .cleanlyDown, .lost])
      c.nodes.append(Node(name: "node\(i)", kind: kind))
    }
    var n = 0
    for t in 0..<rng.int(1...6) {
      let size = rng.chance(0.25) ? rng.int(2...3) : 1
      var members: [Primitive] = []
      for _ in 0..<size {
        n += 1
        var p = Primitive(id: "rsc\(n)")
        if rng.chance(0.3) { p.stickiness = rng.pick([0, 10, 100, 1000]) }
        if rng.chance(0.3) { p.migrationThreshold = rng.int(1...3) }
        if size == 1 && rng.chance(0.05) { p.disabled = true }
        members.append(p)
      }
      c.tops.append((id: size == 1 ? members[0].id : "grp\(t + 1)", members: members))
    }
    let ids = c.tops.map(\.id)
    for _ in 0..<rng.int(0...4) {
      c.locations.append(
        Location(rsc: rng.pick(ids), node: rng.pick(c.nodes).name, score: rng.pick(scores)))
    }
    if ids.count > 1 {
      for _ in 0..<rng.int(0...2) {
        let a = rng.int(0...(ids.count - 2))
        let b = rng.int((a + 1)...(ids.count - 1))
        c.colocations.append(Colocation(rsc: ids[b], with: ids[a], score: rng.pick(scores)))
      }
      for _ in 0..<rng.int(0...2) {
        let a = rng.int(0...(ids.count - 2))
        let b = rng.int((a + 1)...(ids.count - 1))
        c.orders.append(
          Order(first: ids[a], then: ids[b], optional: rng.chance(0.3), symmetrical: rng.chance(0.8)))
      }
    }
    for p in c.primitives {
      var entries: [String: History] = [:]
      let runningOn = rng.chance(0.6) ? rng.pick(c.nodes).name : nil
      for node in c.nodes where node.kind != .cleanlyDown || rng.chance(0.3) {
        if node.name == runningOn {
          let roll = rng.int(0...9)
          entries[node.name] =
            roll < 7 ? .running : roll < 9 ? .monitorFailed(count: rng.int(1...3)) : .startFailed
        } else {
          entries[node.name] = rng.chance(0.85) ? .stopped : .unprobed
        }
      }
      c.history[p.id] = entries
    }
    return c
  }

  // MARK: Shrinking

  /// Smaller variants: each top-level resource, group member, constraint or node removed.
  func shrinkCandidates() -> [RandomCluster] {
    var result: [RandomCluster] = []
    for (i, top) in tops.enumerated() {
      var c = self
      c.removeResource(top.id, members: top.members.map(\.id))
      c.tops.remove(at: i)
      result.append(c)
      if top.members.count > 1 {
        for j in top.members.indices {
          var g = self
          g.history[top.members[j].id] = nil
          g.tops[i].members.remove(at: j)
          result.append(g)
        }
      }
    }
    for i in locations.indices {
      var c = self
      c.locations.remove(at: i)
      result.append(c)
    }
    for i in colocations.indices {
      var c = self
      c.colocations.remove(at: i)
      result.append(c)
    }
    for i in orders.indices {
      var c = self
      c.orders.remove(at: i)
      result.append(c)
    }
    for i in nodes.indices where nodes.count > 1 {
      var c = self
      let name = nodes[i].name
      c.nodes.remove(at: i)
      c.locations.removeAll { $0.node == name }
      for key in c.history.keys { c.history[key]?[name] = nil }
      result.append(c)
    }
    return result
  }

  private mutating func removeResource(_ id: String, members: [String]) {
    let gone = Set(members + [id])
    for m in members { history[m] = nil }
    locations.removeAll { gone.contains($0.rsc) }
    colocations.removeAll { gone.contains($0.rsc) || gone.contains($0.with) }
    orders.removeAll { gone.contains($0.first) || gone.contains($0.then) }
  }

  // MARK: CIB

  /// The CIB, with `execution-date` at `now` and operation history ending just before it.
  func xml(now: Int64) -> String {
    var out = "<cib validate-with=\"pacemaker-3.7\" crm_feature_set=\"3.16.2\" epoch=\"1\" num_updates=\"0\" "
    out +=
      "admin_epoch=\"0\" have-quorum=\"\(haveQuorum ? 1 : 0)\" dc-uuid=\"1\" execution-date=\"\(now)\">\n"
    out += "  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n"
    out += nvpair("opt", "stonith-enabled", fencing ? "true" : "false")
    out += nvpair("opt", "no-quorum-policy", noQuorumPolicy)
    out += "      </cluster_property_set>\n    </crm_config>\n    <nodes>\n"
    for (i, node) in nodes.enumerated() {
      if node.kind == .standby {
        out += "      <node id=\"\(i + 1)\" uname=\"\(node.name)\"><instance_attributes id=\"na\(i + 1)\">"
        out +=
          "<nvpair id=\"na\(i + 1)-standby\" name=\"standby\" value=\"on\"/></instance_attributes></node>\n"
      } else {
        out += "      <node id=\"\(i + 1)\" uname=\"\(node.name)\"/>\n"
      }
    }
    out += "    </nodes>\n    <resources>\n"
    if fencing {
      out += "      <primitive id=\"fencer\" class=\"stonith\" type=\"fence_dummy\"/>\n"
    }
    for top in tops {
      if top.members.count > 1 {
        out += "      <group id=\"\(top.id)\">\n"
        for p in top.members { out += primitive(p, indent: "        ") }
        out += "      </group>\n"
      } else {
        out += primitive(top.members[0], indent: "      ")
      }
    }
    out += "    </resources>\n    <constraints>\n"
    for (i, l) in locations.enumerated() {
      out += "      <rsc_location id=\"loc\(i)\" rsc=\"\(l.rsc)\" node=\"\(l.node)\" score=\"\(l.score)\"/>\n"
    }
    for (i, c) in colocations.enumerated() {
      out +=
        "      <rsc_colocation id=\"col\(i)\" rsc=\"\(c.rsc)\" with-rsc=\"\(c.with)\" score=\"\(c.score)\"/>\n"
    }
    for (i, o) in orders.enumerated() {
      out += "      <rsc_order id=\"ord\(i)\" first=\"\(o.first)\" then=\"\(o.then)\" "
      out += "kind=\"\(o.optional ? "Optional" : "Mandatory")\" symmetrical=\"\(o.symmetrical)\"/>\n"
    }
    out += "    </constraints>\n"
    if let defaultStickiness {
      out += "    <rsc_defaults>\n      <meta_attributes id=\"rsc-options\">\n"
      out += nvpair("rsc-options", "resource-stickiness", String(defaultStickiness))
      out += "      </meta_attributes>\n    </rsc_defaults>\n"
    }
    out += "  </configuration>\n  <status>\n"
    for (i, node) in nodes.enumerated() {
      out += nodeState(node, id: i + 1, now: now)
    }
    out += "  </status>\n</cib>\n"
    return out
  }

  private func nvpair(_ prefix: String, _ name: String, _ value: String) -> String {
    "        <nvpair id=\"\(prefix)-\(name)\" name=\"\(name)\" value=\"\(value)\"/>\n"
  }

  private func primitive(_ p: Primitive, indent: String) -> String {
    var meta: [(String, String)] = []
    if let s = p.stickiness { meta.append(("resource-stickiness", String(s))) }
    if let m = p.migrationThreshold { meta.append(("migration-threshold", String(m))) }
    if p.disabled { meta.append(("target-role", "Stopped")) }
    var out = "\(indent)<primitive id=\"\(p.id)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">\n"
    if !meta.isEmpty {
      out += "\(indent)  <meta_attributes id=\"\(p.id)-meta\">\n"
      for (name, value) in meta {
        out += "\(indent)    <nvpair id=\"\(p.id)-meta-\(name)\" name=\"\(name)\" value=\"\(value)\"/>\n"
      }
      out += "\(indent)  </meta_attributes>\n"
    }
    out += "\(indent)  <operations>\n"
    out += "\(indent)    <op id=\"\(p.id)-monitor\" name=\"monitor\" interval=\"10s\" timeout=\"20s\"/>\n"
    out += "\(indent)  </operations>\n\(indent)</primitive>\n"
    return out
  }

  /// Pacemaker's op-digest of our primitives' operations: MD5 of `" <parameters/>\n"` (no instance
  /// attributes; one-shot operations drop their CRM_meta values) and of
  /// `" <parameters CRM_meta_timeout=\"20000\"/>\n"` (the 10 s monitor keeps its timeout). Without
  /// them crm_simulate restarts every active resource "due to resource definition change".
  static let digestNoParameters = "f2317cad3d54cec5d7d7aa7d0bf35cf8"
  static let digestMonitorTimeout = "4811cef7f7f94e3a35a70be7916cb2fd"

  private func nodeState(_ node: Node, id: Int, now: Int64) -> String {
    let membership: String
    switch node.kind {
    case .online, .standby:
      membership = "in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\""
    case .cleanlyDown:
      membership = "in_ccm=\"false\" crmd=\"offline\" join=\"down\" expected=\"down\""
    case .lost:
      membership = "in_ccm=\"false\" crmd=\"offline\" join=\"member\" expected=\"member\""
    }
    var out = "    <node_state id=\"\(id)\" uname=\"\(node.name)\" \(membership)>\n"
    out += "      <lrm id=\"\(id)\">\n        <lrm_resources>\n"
    var failures: [(String, Int)] = []
    var call = 1
    for p in primitives {
      guard let entry = history[p.id]?[node.name] else { continue }
      var ops: [String] = []
      func op(_ key: String, _ task: String, _ interval: Int, rc: Int, expected: Int) {
        let t = "\(call):0:\(expected):00000000-0000-0000-0000-000000000000"
        let digest = interval == 0 ? Self.digestNoParameters : Self.digestMonitorTimeout
        ops.append(
          "<lrm_rsc_op id=\"\(p.id)_\(key)\" operation_key=\"\(p.id)_\(task)_\(interval)\" operation=\"\(task)\" "
            + "crm_feature_set=\"3.16.2\" transition-key=\"\(t)\" transition-magic=\"0:\(rc);\(t)\" "
            + "call-id=\"\(call)\" rc-code=\"\(rc)\" op-status=\"0\" interval=\"\(interval)\" "
            + "last-rc-change=\"\(now - 600 + Int64(call))\" exec-time=\"10\" queue-time=\"0\" "
            + "op-digest=\"\(digest)\" on_node=\"\(node.name)\"/>"
        )
        call += 1
      }
      switch entry {
      case .unprobed: continue
      case .stopped: op("last_0", "monitor", 0, rc: 7, expected: 7)
      case .running:
        op("last_0", "start", 0, rc: 0, expected: 0)
        op("monitor_10000", "monitor", 10000, rc: 0, expected: 0)
      case .monitorFailed(let count):
        op("last_0", "start", 0, rc: 0, expected: 0)
        op("monitor_10000", "monitor", 10000, rc: 0, expected: 0)
        op("last_failure_0", "monitor", 10000, rc: 1, expected: 0)
        failures.append(("\(p.id)#monitor_10000", count))
      case .startFailed:
        op("last_0", "start", 0, rc: 1, expected: 0)
        op("last_failure_0", "start", 0, rc: 1, expected: 0)
        failures.append(("\(p.id)#start_0", 1_000_000))
      }
      out += "          <lrm_resource id=\"\(p.id)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">\n"
      for o in ops { out += "            \(o)\n" }
      out += "          </lrm_resource>\n"
    }
    out += "        </lrm_resources>\n      </lrm>\n"
    if !failures.isEmpty {
      out += "      <transient_attributes id=\"\(id)\">\n        <instance_attributes id=\"status-\(id)\">\n"
      for (key, count) in failures {
        let value = count >= 1_000_000 ? "INFINITY" : String(count)
        let safe = key.replacingOccurrences(of: "#", with: ".")
        out +=
          "          <nvpair id=\"status-\(id)-fc-\(safe)\" name=\"fail-count-\(key)\" value=\"\(value)\"/>\n"
        out +=
          "          <nvpair id=\"status-\(id)-lf-\(safe)\" name=\"last-failure-\(key)\" value=\"\(now - 300)\"/>\n"
      }
      out += "        </instance_attributes>\n      </transient_attributes>\n"
    }
    out += "    </node_state>\n"
    return out
  }
}

/// A small, seedable generator (SplitMix64): the same seed gives the same clusters on every machine.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func int(_ range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int(next() % UInt64(range.count))
  }
  mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
  mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}
