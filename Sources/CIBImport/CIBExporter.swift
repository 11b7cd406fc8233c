import ResourceModel

/// Writes a `ResourceConfiguration` as a Pacemaker CIB (`<cib>` with a `<configuration>` section
/// and an empty `<status>`), schema `pacemaker-3.7` — the reverse of `CIBDocument.parse`.
///
/// Exists so a swpcs configuration can be inspected with Pacemaker's tools (`crm_simulate`,
/// `crm_verify`) and taken back to Pacemaker. Invariant: importing the output gives back the same
/// configuration (ids of generated blocks such as `RSC-meta_attributes` aside, which the model does
/// not keep).
public enum CIBExporter {
  /// Operation attributes the schema allows on `<op>`; anything else goes into its
  /// `<instance_attributes>`.
  static let operationAttributes: Set<String> = [
    "start-delay", "interval-origin", "record-pending", "requires",
  ]

  /// The CIB text, ending with a newline.
  public static func xml(_ config: ResourceConfiguration) -> String {
    var out = XMLWriter()
    out.open(
      "cib",
      [
        ("validate-with", "pacemaker-3.7"), ("admin_epoch", String(config.version.adminEpoch)),
        ("epoch", String(config.version.epoch)), ("num_updates", String(config.version.numUpdates)),
      ])
    out.open("configuration")
    out.open("crm_config")
    out.nvpairs("cluster_property_set", id: "cib-bootstrap-options", sorted(config.properties))
    out.close("crm_config")
    out.open("nodes")
    for node in config.nodes {
      var attributes = [("id", node.id ?? node.name), ("uname", node.name)]
      if node.score != .zero { attributes.append(("score", node.score.description)) }
      if node.attributes.isEmpty {
        out.empty("node", attributes)
      } else {
        out.open("node", attributes)
        out.nvpairs("instance_attributes", id: "nodes-\(node.id ?? node.name)", sorted(node.attributes))
        out.close("node")
      }
    }
    out.close("nodes")
    out.open("resources")
    for resource in config.resources { write(resource, to: &out) }
    out.close("resources")
    writeConstraints(config.constraints, to: &out)
    if !config.resourceDefaults.isEmpty {
      out.open("rsc_defaults")
      out.nvpairs("meta_attributes", id: "rsc-options", sorted(config.resourceDefaults))
      out.close("rsc_defaults")
    }
    if !config.operationDefaults.isEmpty {
      out.open("op_defaults")
      out.nvpairs("meta_attributes", id: "op-options", sorted(config.operationDefaults))
      out.close("op_defaults")
    }
    if !config.fencingLevels.isEmpty {
      out.open("fencing-topology")
      for level in config.fencingLevels {
        out.empty(
          "fencing-level",
          [
            ("id", level.id), ("target", level.target), ("index", String(level.index)),
            ("devices", level.devices.joined(separator: ",")),
          ])
      }
      out.close("fencing-topology")
    }
    out.close("configuration")
    out.empty("status", [])
    out.close("cib")
    return out.text
  }

  private static func sorted(_ values: [String: String]) -> [(String, String)] {
    values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  private static func write(_ resource: Resource, to out: inout XMLWriter) {
    switch resource {
    case .primitive(let p): write(p, to: &out)
    case .group(let g): write(g, to: &out)
    case .clone(let c):
      out.open("clone", [("id", c.id)])
      var meta = c.meta
      if c.promotable { meta["promotable"] = "true" }
      out.nvpairs("meta_attributes", id: "\(c.id)-meta_attributes", sorted(meta), skipEmpty: true)
      switch c.child {
      case .primitive(let p): write(p, to: &out)
      case .group(let g): write(g, to: &out)
      }
      out.close("clone")
    }
  }

  private static func write(_ group: Group, to out: inout XMLWriter) {
    out.open("group", [("id", group.id)])
    out.nvpairs("meta_attributes", id: "\(group.id)-meta_attributes", sorted(group.meta), skipEmpty: true)
    for member in group.members { write(member, to: &out) }
    out.close("group")
  }

  private static func write(_ p: Primitive, to out: inout XMLWriter) {
    var attributes = [("id", p.id), ("class", p.agent.standard.rawValue)]
    if let provider = p.agent.provider { attributes.append(("provider", provider)) }
    attributes.append(("type", p.agent.type))
    if p.attributes.isEmpty && p.meta.isEmpty && p.operations.isEmpty {
      out.empty("primitive", attributes)
      return
    }
    out.open("primitive", attributes)
    out.nvpairs(
      "instance_attributes", id: "\(p.id)-instance_attributes", p.attributes.map { ($0.name, $0.value) },
      skipEmpty: true)
    out.nvpairs("meta_attributes", id: "\(p.id)-meta_attributes", sorted(p.meta), skipEmpty: true)
    if !p.operations.isEmpty {
      out.open("operations")
      for op in p.operations { write(op, to: &out) }
      out.close("operations")
    }
    out.close("primitive")
  }

  private static func write(_ op: OperationSpec, to out: inout XMLWriter) {
    var attributes = [("id", op.id), ("name", op.name), ("interval", duration(op.intervalMs))]
    if let timeout = op.timeoutMs { attributes.append(("timeout", duration(timeout))) }
    if let onFail = op.onFail { attributes.append(("on-fail", onFail)) }
    if let role = op.role { attributes.append(("role", role)) }
    if !op.enabled { attributes.append(("enabled", "false")) }
    let extra = sorted(op.extra)
    attributes += extra.filter { operationAttributes.contains($0.0) }
    let parameters = extra.filter { !operationAttributes.contains($0.0) }
    if parameters.isEmpty {
      out.empty("op", attributes)
    } else {
      out.open("op", attributes)
      out.nvpairs("instance_attributes", id: "\(op.id)-instance_attributes", parameters)
      out.close("op")
    }
  }

  /// `10s` for whole seconds, else `1500ms`.
  static func duration(_ ms: Int) -> String { ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms" }

  private static func writeConstraints(_ constraints: Constraints, to out: inout XMLWriter) {
    out.open("constraints")
    for c in constraints.locations {
      var attributes = [("id", c.id), ("rsc", c.resource)]
      if let role = c.role { attributes.append(("role", role)) }
      if let node = c.node {
        attributes += [("node", node), ("score", c.score.description)]
        out.empty("rsc_location", attributes)
        continue
      }
      out.open("rsc_location", attributes)
      for rule in c.rules {
        var ruleAttributes = [("id", rule.id)]
        if let attribute = rule.scoreAttribute {
          ruleAttributes.append(("score-attribute", attribute))
        } else {
          ruleAttributes.append(("score", rule.score.description))
        }
        ruleAttributes.append(("boolean-op", rule.booleanOp))
        if let role = rule.role { ruleAttributes.append(("role", role)) }
        out.open("rule", ruleAttributes)
        for (i, e) in rule.expressions.enumerated() {
          var expression = [
            ("id", "\(rule.id)-expr-\(i)"), ("attribute", e.attribute), ("operation", e.operation),
          ]
          if let value = e.value { expression.append(("value", value)) }
          if let type = e.type { expression.append(("type", type)) }
          out.empty("expression", expression)
        }
        out.close("rule")
      }
      out.close("rsc_location")
    }
    for c in constraints.colocations {
      var attributes = [("id", c.id), ("rsc", c.resource), ("with-rsc", c.withResource)]
      attributes.append(("score", c.score.description))
      if let role = c.role { attributes.append(("rsc-role", role)) }
      if let role = c.withRole { attributes.append(("with-rsc-role", role)) }
      if let attribute = c.nodeAttribute { attributes.append(("node-attribute", attribute)) }
      out.empty("rsc_colocation", attributes)
    }
    for c in constraints.orders {
      var attributes = [
        ("id", c.id), ("first", c.first), ("first-action", c.firstAction), ("then", c.then),
        ("then-action", c.thenAction), ("kind", c.kind.rawValue),
      ]
      if c.kind != .serialize { attributes.append(("symmetrical", c.symmetrical ? "true" : "false")) }
      if !c.requireAll { attributes.append(("require-all", "false")) }
      out.empty("rsc_order", attributes)
    }
    out.close("constraints")
  }
}

/// An indenting XML writer for the exporter: elements, attributes in the given order, escaping.
struct XMLWriter {
  private(set) var text = ""
  private var depth = 0

  mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
    line("<\(name)\(render(attributes))>")
    depth += 1
  }

  mutating func close(_ name: String) {
    depth -= 1
    line("</\(name)>")
  }

  mutating func empty(_ name: String, _ attributes: [(String, String)]) {
    line("<\(name)\(render(attributes))/>")
  }

  /// A block of `<nvpair>`s with ids derived from the block id; nothing when `skipEmpty` and empty.
  mutating func nvpairs(_ block: String, id: String, _ pairs: [(String, String)], skipEmpty: Bool = false) {
    if skipEmpty && pairs.isEmpty { return }
    if pairs.isEmpty {
      empty(block, [("id", id)])
      return
    }
    open(block, [("id", id)])
    for (name, value) in pairs {
      empty("nvpair", [("id", "\(id)-\(name)"), ("name", name), ("value", value)])
    }
    close(block)
  }

  private mutating func line(_ s: String) {
    text += String(repeating: "  ", count: depth) + s + "\n"
  }

  private func render(_ attributes: [(String, String)]) -> String {
    attributes.map { " \($0.0)=\"\(Self.escape($0.1))\"" }.joined()
  }

  static func escape(_ value: String) -> String {
    var result = ""
    for ch in value {
      switch ch {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      case "\n": result += "&#10;"
      default: result.append(ch)
      }
    }
    return result
  }
}
