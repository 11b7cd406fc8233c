import ResourceModel

/// Reads `<configuration>` into a `ResourceConfiguration`, collecting what the model cannot carry.
/// Resource instance attributes are agent parameters the scheduler never reads, so gaps in them
/// (per-node values) are reported as not affecting scheduling.
struct ConfigurationImporter {
  let configuration: XElement
  let blocks: NVPairBlocks
  var unsupported: [UnsupportedItem] = []
  var index = ResourceIndex()
  private var placementStrategy = "default"

  init(configuration: XElement) {
    self.configuration = configuration
    var byID: [String: XElement] = [:]
    for element in configuration.descendants() {
      if let id = element.id, byID[id] == nil { byID[id] = element }
    }
    self.blocks = NVPairBlocks(elementsByID: byID)
  }

  mutating func run() throws(CIBImportError) -> ResourceConfiguration {
    var config = ResourceConfiguration()
    if let crmConfig = configuration.child("crm_config") {
      config.properties = blocks.dictionary(
        crmConfig.children("cluster_property_set"), firstID: "cib-bootstrap-options",
        unsupported: &unsupported)
      reportUnknownChildren(of: crmConfig, known: ["cluster_property_set"])
    }
    placementStrategy = config.properties["placement-strategy"]?.lowercased() ?? "default"
    if let defaults = configuration.child("rsc_defaults") {
      config.resourceDefaults = normalizedMeta(
        blocks.dictionary(defaults.children("meta_attributes"), unsupported: &unsupported))
      reportUnknownChildren(of: defaults, known: ["meta_attributes"])
    }
    if let defaults = configuration.child("op_defaults") {
      config.operationDefaults = blocks.dictionary(
        defaults.children("meta_attributes"), unsupported: &unsupported)
      reportUnknownChildren(of: defaults, known: ["meta_attributes"])
    }
    if let nodes = configuration.child("nodes") { config.nodes = try self.nodes(nodes) }
    if let resources = configuration.child("resources") { config.resources = try self.resources(resources) }
    if let constraints = configuration.child("constraints") {
      config.constraints = try self.constraints(constraints)
    }
    if let topology = configuration.child("fencing-topology") {
      config.fencingLevels = try fencingLevels(topology)
    }
    for child in configuration.children {
      switch child.name {
      case "crm_config", "rsc_defaults", "op_defaults", "nodes", "resources", "constraints",
        "fencing-topology":
        break
      case "acls", "alerts":
        unsupported.append(
          UnsupportedItem(
            element: child.name, id: child.id, reason: "not used by the scheduler; ignored",
            affectsScheduling: false
          ))
      case "tags":
        unsupported.append(
          UnsupportedItem(
            element: child.name, id: child.id,
            reason: "tags are not supported; constraints naming a tag are lost"))
      default:
        unsupported.append(
          UnsupportedItem(element: child.name, id: child.id, reason: "unknown configuration section; ignored")
        )
      }
    }
    index.resourceDefaults = config.resourceDefaults
    index.properties = config.properties
    index.nodeCount = config.nodes.count
    for resource in config.resources { index.add(resource) }
    reportRemoteLaunchers()
    return config
  }

  /// A `container` naming a Pacemaker Remote connection or a guest node's resource puts the
  /// resource on that remote node, which the model does not have (any other launcher is modeled).
  private mutating func reportRemoteLaunchers() {
    for id in index.entries.keys.sorted() {
      guard let entry = index.entries[id], let launcher = index.meta("container", of: entry),
        let target = index.entries[launcher]?.primitive
      else { continue }
      let remote = target.agent == AgentSpec(standard: .ocf, provider: "pacemaker", type: "remote")
      guard remote || target.meta["remote-node"] != nil else { continue }
      unsupported.append(
        UnsupportedItem(
          element: "primitive", id: id,
          reason:
            "container \(launcher) is a Pacemaker Remote or guest node; resources inside one are not supported"
        ))
    }
  }

  // MARK: Nodes

  private mutating func nodes(_ element: XElement) throws(CIBImportError) -> [NodeConfiguration] {
    var result: [NodeConfiguration] = []
    for node in element.children {
      guard node.name == "node" else {
        unsupported.append(
          UnsupportedItem(element: node.name, id: node.id, reason: "unknown node entry; ignored"))
        continue
      }
      guard let name = node["uname"] ?? node.id else {
        throw .missingAttribute(element: "node", attribute: "uname", line: node.line)
      }
      switch node["type"]?.lowercased() {
      case nil, "member", "normal":
        break
      case let other?:
        unsupported.append(
          UnsupportedItem(
            element: "node", id: node.id,
            reason: "node type \"\(other)\" is not supported; node \(name) ignored"))
        continue
      }
      let score = try parseScore(node["score"], element: node, attribute: "score") ?? .zero
      let attributes = blocks.dictionary(node.children("instance_attributes"), unsupported: &unsupported)
      reportUtilization(in: node)
      reportUnknownChildren(of: node, known: ["instance_attributes", "utilization"])
      result.append(
        NodeConfiguration(
          name: name, attributes: attributes, id: node.id == name ? nil : node.id, score: score))
    }
    return result
  }

  // MARK: Resources

  private mutating func resources(_ element: XElement) throws(CIBImportError) -> [Resource] {
    var result: [Resource] = []
    for child in element.children {
      switch child.name {
      case "primitive":
        if let p = try primitive(child, inherited: []) { result.append(.primitive(p)) }
      case "group":
        if let g = try group(child, inherited: []) { result.append(.group(g)) }
      case "clone", "master":
        if let c = try clone(child) { result.append(.clone(c)) }
      case "template":
        unsupported.append(
          UnsupportedItem(
            element: "template", id: child.id, reason: "resource templates are not supported",
            affectsScheduling: false))
      default:
        unsupported.append(
          UnsupportedItem(
            element: child.name, id: child.id, reason: "\(child.name) resources are not supported"))
      }
    }
    return result
  }

  private mutating func primitive(_ element: XElement, inherited: [Attribute]) throws(CIBImportError)
    -> Primitive?
  {
    let id = try required("id", of: element)
    if element["template"] != nil {
      unsupported.append(
        UnsupportedItem(
          element: "primitive", id: id, reason: "primitives based on a template are not supported; ignored"))
      return nil
    }
    let standardName = try required("class", of: element)
    let type = try required("type", of: element)
    guard let standard = standardFor(standardName) else {
      unsupported.append(
        UnsupportedItem(
          element: "primitive", id: id, reason: "resource class \"\(standardName)\" is not supported; ignored"
        ))
      return nil
    }
    let provider = element["provider"]
    if standard == .ocf && provider == nil {
      throw .missingAttribute(element: "primitive", attribute: "provider", line: element.line)
    }
    let meta = normalizedMeta(
      blocks.dictionary(element.children("meta_attributes"), unsupported: &unsupported))
    if standard == .ocf && provider == "pacemaker" && type == "remote" {
      unsupported.append(
        UnsupportedItem(
          element: "primitive", id: id, reason: "Pacemaker Remote connections are not supported"))
    }
    if meta["remote-node"] != nil {
      unsupported.append(
        UnsupportedItem(element: "primitive", id: id, reason: "guest nodes (remote-node) are not supported"))
    }
    var attributes = blocks.read(
      element.children("instance_attributes"), ruleAffectsScheduling: false, unsupported: &unsupported
    ).map {
      Attribute($0.name, $0.value)
    }
    for attribute in inherited where !attributes.contains(where: { $0.name == attribute.name }) {
      attributes.append(attribute)
    }
    var operations: [OperationSpec] = []
    if let ops = element.child("operations") {
      operations = try self.operations(ops, owner: id)
    }
    reportUtilization(in: element)
    reportUnknownChildren(
      of: element, known: ["meta_attributes", "instance_attributes", "operations", "utilization"])
    return Primitive(
      id: id, agent: AgentSpec(standard: standard, provider: standard == .ocf ? provider : nil, type: type),
      attributes: attributes, meta: meta, operations: operations)
  }

  private func standardFor(_ name: String) -> AgentSpec.Standard? {
    AgentSpec.Standard(rawValue: name.lowercased())
  }

  private mutating func operations(_ element: XElement, owner: String) throws(CIBImportError)
    -> [OperationSpec]
  {
    var source = element
    if let ref = element["id-ref"] {
      guard let target = blocks.elementsByID[ref] else {
        unsupported.append(
          UnsupportedItem(
            element: "operations", id: ref, reason: "id-ref points to no element; no operations"))
        return []
      }
      source = target
    }
    var result: [OperationSpec] = []
    for op in source.children {
      guard op.name == "op" else {
        unsupported.append(
          UnsupportedItem(element: op.name, id: op.id, reason: "unknown operation entry; ignored"))
        continue
      }
      var values: [String: String] = [:]
      for pair in blocks.read(
        op.children("instance_attributes"), ruleAffectsScheduling: false, unsupported: &unsupported)
      {
        values[pair.name] = pair.value
      }
      for pair in blocks.read(op.children("meta_attributes"), unsupported: &unsupported) {
        values[pair.name] = pair.value
      }
      for (name, value) in op.attributes { values[name] = value }
      let id = values["id"] ?? "\(owner)-op"
      guard let name = values["name"] else {
        throw .missingAttribute(element: "op", attribute: "name", line: op.line)
      }
      let interval = try duration(values["interval"] ?? "0", element: op, attribute: "interval")
      var timeout: Int?
      if let text = values["timeout"] { timeout = try duration(text, element: op, attribute: "timeout") }
      var extra = values
      for key in ["id", "name", "interval", "timeout", "on-fail", "role", "enabled", "description"] {
        extra[key] = nil
      }
      result.append(
        OperationSpec(
          id: id, name: name, intervalMs: interval, timeoutMs: timeout,
          onFail: values["on-fail"]?.lowercased(),
          role: values["role"].map { PacemakerValues.role($0) ?? $0 },
          enabled: PacemakerValues.bool(values["enabled"]) ?? true, extra: extra))
      reportUnknownChildren(of: op, known: ["instance_attributes", "meta_attributes"])
    }
    return result
  }

  private mutating func group(_ element: XElement, inherited: [Attribute]) throws(CIBImportError) -> Group? {
    let id = try required("id", of: element)
    let meta = normalizedMeta(
      blocks.dictionary(element.children("meta_attributes"), unsupported: &unsupported))
    var shared = blocks.read(
      element.children("instance_attributes"), ruleAffectsScheduling: false, unsupported: &unsupported
    ).map {
      Attribute($0.name, $0.value)
    }
    for attribute in inherited where !shared.contains(where: { $0.name == attribute.name }) {
      shared.append(attribute)
    }
    var members: [Primitive] = []
    for child in element.children {
      switch child.name {
      case "primitive":
        if let p = try primitive(child, inherited: shared) { members.append(p) }
      case "meta_attributes", "instance_attributes":
        break
      default:
        unsupported.append(
          UnsupportedItem(
            element: child.name, id: child.id, reason: "groups may contain only primitives; ignored"))
      }
    }
    return Group(id: id, meta: meta, members: members)
  }

  private mutating func clone(_ element: XElement) throws(CIBImportError) -> Clone? {
    let id = try required("id", of: element)
    let meta = normalizedMeta(
      blocks.dictionary(element.children("meta_attributes"), unsupported: &unsupported))
    let shared = blocks.read(
      element.children("instance_attributes"), ruleAffectsScheduling: false, unsupported: &unsupported
    ).map {
      Attribute($0.name, $0.value)
    }
    var child: Clone.Child?
    for entry in element.children {
      switch entry.name {
      case "meta_attributes", "instance_attributes":
        continue
      case "primitive" where child == nil:
        if let p = try primitive(entry, inherited: shared) { child = .primitive(p) }
      case "group" where child == nil:
        if let g = try group(entry, inherited: shared) { child = .group(g) }
      default:
        unsupported.append(
          UnsupportedItem(
            element: entry.name, id: entry.id,
            reason: "a clone holds one primitive or group; this entry is ignored"))
      }
    }
    guard let child else {
      unsupported.append(UnsupportedItem(element: element.name, id: id, reason: "clone has no usable child"))
      return nil
    }
    let promotable = element.name == "master" || (PacemakerValues.bool(meta["promotable"]) ?? false)
    return Clone(id: id, meta: meta, promotable: promotable, child: child)
  }

  /// Role values in current spelling; legacy promotable-clone option names renamed.
  private func normalizedMeta(_ meta: [String: String]) -> [String: String] {
    var result = meta
    if let role = result["target-role"], let canonical = PacemakerValues.role(role) {
      result["target-role"] = canonical
    }
    for (legacy, current) in [("master-max", "promoted-max"), ("master-node-max", "promoted-node-max")] {
      if let value = result.removeValue(forKey: legacy), result[current] == nil { result[current] = value }
    }
    return result
  }

  // MARK: Constraints

  private mutating func constraints(_ element: XElement) throws(CIBImportError) -> Constraints {
    var result = Constraints()
    for child in element.children {
      if child.child("resource_set") != nil {
        unsupported.append(
          UnsupportedItem(
            element: child.name, id: child.id, reason: "resource sets are not supported; ignored"))
        continue
      }
      switch child.name {
      case "rsc_location":
        if let c = try location(child) { result.locations.append(c) }
      case "rsc_colocation":
        if let c = try colocation(child) { result.colocations.append(c) }
      case "rsc_order":
        if let c = try order(child) { result.orders.append(c) }
      default:
        unsupported.append(
          UnsupportedItem(
            element: child.name, id: child.id, reason: "\(child.name) is not supported; ignored"))
      }
    }
    return result
  }

  private mutating func location(_ element: XElement) throws(CIBImportError) -> LocationConstraint? {
    let id = try required("id", of: element)
    guard let rsc = element["rsc"] else {
      let why = element["rsc-pattern"] != nil ? "rsc-pattern is not supported" : "no rsc"
      unsupported.append(UnsupportedItem(element: "rsc_location", id: id, reason: "\(why); ignored"))
      return nil
    }
    if let discovery = element["resource-discovery"], discovery.lowercased() != "always" {
      unsupported.append(
        UnsupportedItem(
          element: "rsc_location", id: id,
          reason: "resource-discovery=\(discovery) is not supported; probes are assumed everywhere"))
    }
    let role = element["role"].map { PacemakerValues.role($0) ?? $0 }
    if let node = element["node"] {
      guard let score = try parseScore(element["score"], element: element, attribute: "score") else {
        throw .missingAttribute(element: "rsc_location", attribute: "score", line: element.line)
      }
      reportUnknownChildren(of: element, known: [])
      return LocationConstraint(id: id, resource: rsc, node: node, score: score, role: role)
    }
    var rules: [LocationRule] = []
    for child in element.children {
      switch child.name {
      case "rule":
        if let rule = try locationRule(child) { rules.append(rule) }
      default:
        unsupported.append(
          UnsupportedItem(
            element: child.name, id: child.id ?? id, reason: "not supported in a location; ignored"))
      }
    }
    if rules.isEmpty {
      unsupported.append(
        UnsupportedItem(element: "rsc_location", id: id, reason: "no node and no usable rule; ignored"))
      return nil
    }
    return LocationConstraint(id: id, resource: rsc, score: .zero, role: role, rules: rules)
  }

  private mutating func locationRule(_ element: XElement) throws(CIBImportError) -> LocationRule? {
    var rule = element
    if let ref = element["id-ref"] {
      guard let target = blocks.elementsByID[ref], target.name == "rule" else {
        unsupported.append(
          UnsupportedItem(element: "rule", id: ref, reason: "id-ref points to no rule; ignored"))
        return nil
      }
      rule = target
    }
    let id = rule.id ?? "rule"
    var expressions: [NodeExpression] = []
    for child in rule.children {
      guard child.name == "expression" else {
        let why =
          child.name == "date_expression"
          ? "date rules are not supported" : "\(child.name) inside a location rule is not supported"
        unsupported.append(
          UnsupportedItem(element: child.name, id: child.id ?? id, reason: "\(why); rule ignored"))
        return nil
      }
      if let source = child["value-source"], source != "literal" {
        unsupported.append(
          UnsupportedItem(
            element: "expression", id: child.id,
            reason: "value-source=\(source) is not supported; rule ignored"))
        return nil
      }
      guard let attribute = child["attribute"], let operation = child["operation"] else {
        throw .missingAttribute(element: "expression", attribute: "attribute/operation", line: child.line)
      }
      expressions.append(
        NodeExpression(attribute: attribute, operation: operation, value: child["value"], type: child["type"])
      )
    }
    let score = try parseScore(rule["score"], element: rule, attribute: "score") ?? .zero
    return LocationRule(
      id: id, score: score, scoreAttribute: rule["score-attribute"],
      booleanOp: rule["boolean-op"]?.lowercased() ?? "and",
      role: rule["role"].map { PacemakerValues.role($0) ?? $0 }, expressions: expressions)
  }

  private mutating func colocation(_ element: XElement) throws(CIBImportError) -> ColocationConstraint? {
    let id = try required("id", of: element)
    let rsc = try required("rsc", of: element)
    let with = try required("with-rsc", of: element)
    for attribute in ["rsc-instance", "with-rsc-instance"] where element[attribute] != nil {
      unsupported.append(
        UnsupportedItem(element: "rsc_colocation", id: id, reason: "\(attribute) is not supported; ignored"))
      return nil
    }
    if PacemakerValues.bool(element["influence"]) == false {
      unsupported.append(
        UnsupportedItem(
          element: "rsc_colocation", id: id, reason: "influence=false is not supported; treated as true"))
    }
    let score = try parseScore(element["score"], element: element, attribute: "score") ?? .zero
    reportUnknownChildren(of: element, known: [])
    return ColocationConstraint(
      id: id, resource: rsc, withResource: with, score: score,
      role: element["rsc-role"].map { PacemakerValues.role($0) ?? $0 },
      withRole: element["with-rsc-role"].map { PacemakerValues.role($0) ?? $0 },
      nodeAttribute: element["node-attribute"])
  }

  private mutating func order(_ element: XElement) throws(CIBImportError) -> OrderConstraint? {
    let id = try required("id", of: element)
    let first = try required("first", of: element)
    let then = try required("then", of: element)
    for attribute in ["first-instance", "then-instance"] where element[attribute] != nil {
      unsupported.append(
        UnsupportedItem(element: "rsc_order", id: id, reason: "\(attribute) is not supported; ignored"))
      return nil
    }
    let firstAction = element["first-action"] ?? "start"
    let thenAction = element["then-action"] ?? firstAction
    var kind = OrderConstraint.Kind.mandatory
    if let text = element["kind"] {
      switch text.lowercased() {
      case "optional": kind = .optional
      case "serialize": kind = .serialize
      case "mandatory": kind = .mandatory
      default:
        throw .invalidValue(
          element: "rsc_order", id: id, attribute: "kind", value: text,
          expected: "Mandatory, Optional or Serialize")
      }
    } else if let text = element["score"] {
      // Before kind existed, score="0" meant an optional ordering.
      let score = try parseScore(text, element: element, attribute: "score") ?? .zero
      kind = score == .zero ? .optional : .mandatory
    }
    var symmetrical = kind != .serialize
    if let text = element["symmetrical"] {
      guard let value = PacemakerValues.bool(text) else {
        throw .invalidValue(
          element: "rsc_order", id: id, attribute: "symmetrical", value: text, expected: "a boolean")
      }
      symmetrical = value && kind != .serialize
    }
    var requireAll = true
    if let text = element["require-all"] {
      guard let value = PacemakerValues.bool(text) else {
        throw .invalidValue(
          element: "rsc_order", id: id, attribute: "require-all", value: text, expected: "a boolean")
      }
      requireAll = value
    }
    reportUnknownChildren(of: element, known: [])
    return OrderConstraint(
      id: id, first: first, firstAction: firstAction, then: then, thenAction: thenAction, kind: kind,
      symmetrical: symmetrical, requireAll: requireAll)
  }

  // MARK: Fencing topology

  private mutating func fencingLevels(_ element: XElement) throws(CIBImportError) -> [FencingLevel] {
    var result: [FencingLevel] = []
    for level in element.children {
      guard level.name == "fencing-level" else {
        unsupported.append(
          UnsupportedItem(element: level.name, id: level.id, reason: "unknown entry; ignored"))
        continue
      }
      let id = try required("id", of: level)
      guard let target = level["target"] else {
        unsupported.append(
          UnsupportedItem(
            element: "fencing-level", id: id,
            reason: "only target= is supported (not target-pattern or target-attribute); ignored"))
        continue
      }
      let indexText = try required("index", of: level)
      guard let index = Int(indexText), (1...9).contains(index) else {
        throw .invalidValue(
          element: "fencing-level", id: id, attribute: "index", value: indexText, expected: "an integer 1-9")
      }
      let devices = try required("devices", of: level).split(separator: ",").map {
        String($0).trimmingSpaces
      }
      result.append(FencingLevel(id: id, target: target, index: index, devices: devices))
    }
    return result
  }

  // MARK: Helpers

  private func required(_ attribute: String, of element: XElement) throws(CIBImportError) -> String {
    guard let value = element[attribute] else {
      throw .missingAttribute(element: element.name, attribute: attribute, line: element.line)
    }
    return value
  }

  private func parseScore(_ text: String?, element: XElement, attribute: String) throws(CIBImportError)
    -> Score?
  {
    guard let text else { return nil }
    guard let score = PacemakerValues.score(text) else {
      throw .invalidValue(
        element: element.name, id: element.id, attribute: attribute, value: text,
        expected: "an integer or [+-]INFINITY")
    }
    return score
  }

  private func duration(_ text: String, element: XElement, attribute: String) throws(CIBImportError) -> Int {
    guard let ms = PacemakerValues.milliseconds(text) else {
      throw .invalidValue(
        element: element.name, id: element.id, attribute: attribute, value: text,
        expected: "a duration such as 10, 10s, 500ms, 1min or PT10S")
    }
    return ms
  }

  private mutating func reportUtilization(in element: XElement) {
    for block in element.children("utilization") {
      unsupported.append(
        UnsupportedItem(
          element: "utilization", id: block.id ?? element.id,
          reason: "utilization is not supported (placement-strategy=\(placementStrategy))",
          affectsScheduling: placementStrategy != "default"))
    }
  }

  private mutating func reportUnknownChildren(of element: XElement, known: Set<String>) {
    for child in element.children where !known.contains(child.name) {
      unsupported.append(
        UnsupportedItem(
          element: child.name, id: child.id ?? element.id,
          reason: "unexpected inside <\(element.name)>; ignored"))
    }
  }
}
