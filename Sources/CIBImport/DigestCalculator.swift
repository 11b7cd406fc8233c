import ResourceModel

/// Computes the digests Pacemaker's scheduler compares with a history entry's (`pe__calculate_digests`):
/// the resource's instance attributes for the node, the operation's own parameters and, for recurring
/// operations, its timeout — read from the CIB's XML, because rules, `id-ref`s, `#default` values and
/// block scores all change the parameter set.
struct DigestCalculator {
  /// The three digests of one history entry's operation, and whether its definition carries
  /// operation-level parameters (then a changed one-shot operation must restart, never reload).
  struct Digests: Equatable {
    var all: String
    var restart: String?
    var secure: String
    var restartHint: Bool
  }

  /// A configured primitive and its enclosing group and clone, innermost first.
  private struct PrimitiveXML {
    var element: XElement
    var ancestors: [XElement]
  }

  private let elementsByKey: [String: XElement]
  private let primitives: [String: PrimitiveXML]
  private let operationDefaults: XElement?
  private let cibFeatureSet: String?

  /// What Pacemaker removes from a digest besides the `CRM_meta_` names.
  private static let filtered: Set<String> = [
    "id", "crm_feature_set", "op-digest", "on_node", "on_node_uuid", "pcmk_external_ip",
  ]

  init(cib root: XElement) {
    var byKey: [String: XElement] = [:]
    func index(_ element: XElement) {
      if let id = element.id, element["id-ref"] == nil, byKey[Self.key(element.name, id)] == nil {
        byKey[Self.key(element.name, id)] = element
      }
      for child in element.children { index(child) }
    }
    // `id-ref`s point into the configuration; the status section (most of a CIB) is not indexed.
    if let configuration = root.child("configuration") { index(configuration) }
    elementsByKey = byKey
    var found: [String: PrimitiveXML] = [:]
    func walk(_ element: XElement, _ ancestors: [XElement]) {
      for child in element.children {
        switch child.name {
        case "primitive":
          if let id = child.id { found[id] = PrimitiveXML(element: child, ancestors: ancestors) }
        case "group", "clone", "master": walk(child, [child] + ancestors)
        default: break
        }
      }
    }
    let configuration = root.child("configuration")
    if let resources = configuration?.child("resources") { walk(resources, []) }
    primitives = found
    operationDefaults = configuration?.child("op_defaults")
    cibFeatureSet = root["crm_feature_set"]
  }

  private static func key(_ name: String, _ id: String) -> String { "\(name) \(id)" }

  /// The configured agent of a primitive as (class, provider, type), nil when not configured.
  func agent(of primitive: String) -> (standard: String?, provider: String?, type: String?)? {
    primitives[primitive].map { ($0.element["class"], $0.element["provider"], $0.element["type"]) }
  }

  /// Whether an enabled operation `name` with this interval is configured.
  func isConfigured(primitive: String, name: String, intervalMs: Int) -> Bool {
    operation(primitive, name, intervalMs, includeDisabled: false) != nil
  }

  /// The digests for a history entry of `primitive` on a node with these attributes (for rules).
  /// `restartDigestRecorded` stands for the entry's `op-restart-digest` (which the failure-timeout
  /// handling may have replaced). Nil when the primitive is not configured.
  func digests(
    primitive id: String, entry: XElement, restartDigestRecorded: Bool, nodeAttributes: [String: String]
  ) -> Digests? {
    guard let primitive = primitives[id],
      let sets = parameterSets(id, entry: entry, nodeAttributes: nodeAttributes)
    else { return nil }
    let featureSet = entry["crm_feature_set"] ?? cibFeatureSet ?? "3.20.5"
    let old = OperationDigest.versionPrecedes(featureSet, "3.16.0")
    var secure = old ? sets.resource : sets.all
    for name in (entry["op-secure-params"] ?? "").split(separator: " ") { secure[String(name)] = nil }
    if old && primitive.element["class"] == "stonith" {
      secure = secure.filter { !Self.isFencingParameter($0.key) }
    }
    secure = Self.filter(secure)
    if old { secure["CRM_meta_timeout"] = nil }

    var restart: String?
    if restartDigestRecorded {
      var kept = sets.all
      if let list = entry["op-force-restart"] {
        let names = Set(list.split(separator: " ", omittingEmptySubsequences: false).map(String.init))
        kept = kept.filter { names.contains($0.key) }
      }
      restart = OperationDigest.md5(kept)
    }
    return Digests(
      all: OperationDigest.md5(sets.all), restart: restart, secure: OperationDigest.md5(secure),
      restartHint: sets.restartHint)
  }

  /// The text hashed for the entry's `op-digest` (to compare with Pacemaker's own tools).
  func digestText(primitive id: String, entry: XElement, nodeAttributes: [String: String]) -> String? {
    parameterSets(id, entry: entry, nodeAttributes: nodeAttributes).map { OperationDigest.text($0.all) }
  }

  /// The resource's instance attributes for the node, and the whole filtered set of the main digest:
  /// those, then the operation's own parameters, then its meta attributes as `CRM_meta_*`.
  private func parameterSets(_ id: String, entry: XElement, nodeAttributes: [String: String]) -> (
    resource: [String: String], all: [String: String], restartHint: Bool
  )? {
    guard let primitive = primitives[id] else { return nil }
    let task = entry["operation"] ?? ""
    let intervalMs = Int(entry["interval"] ?? "0") ?? 0
    let nodeContext = RuleContext(nodeAttributes: nodeAttributes)
    var resourceParameters = OrderedPairs()
    for element in [primitive.element] + primitive.ancestors {
      read(element, "instance_attributes", nodeContext, into: &resourceParameters)
    }
    var all = resourceParameters
    let definition = operation(id, task, intervalMs, includeDisabled: true)
    var operationParameters = OrderedPairs()
    if let definition { read(definition, "instance_attributes", nodeContext, into: &operationParameters) }
    for (name, value) in operationParameters.pairs { all.addIfAbsent(name, value) }
    for (name, value) in meta(primitive, task, intervalMs, definition) {
      guard !name.contains("#"), !name.contains(":") else { continue }
      all.addIfAbsent("CRM_meta_" + name.replacingDashes, value)
    }
    return (
      resourceParameters.dictionary, Self.filter(all.dictionary),
      intervalMs == 0 && !operationParameters.pairs.isEmpty
    )
  }

  // MARK: Parameter sets

  /// Names in the order they were first set, first value winning (as Pacemaker's hash tables fill).
  struct OrderedPairs {
    var pairs: [(String, String)] = []
    private var positions: [String: Int] = [:]

    mutating func addIfAbsent(_ name: String, _ value: String) {
      guard positions[name] == nil else { return }
      positions[name] = pairs.count
      pairs.append((name, value))
    }

    mutating func remove(_ name: String) {
      guard let position = positions.removeValue(forKey: name) else { return }
      pairs.remove(at: position)
      for (other, p) in positions where p > position { positions[other] = p - 1 }
    }

    var dictionary: [String: String] {
      Dictionary(pairs.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })
    }
  }

  /// Drops `CRM_meta_*` and Pacemaker's own names; keeps `CRM_meta_timeout` when the parameters
  /// were for a recurring operation.
  static func filter(_ parameters: [String: String]) -> [String: String] {
    let recurring = (Int(parameters["CRM_meta_interval"] ?? "0") ?? 0) != 0
    var kept = parameters.filter { !$0.key.hasPrefix("CRM_meta_") && !filtered.contains($0.key) }
    if recurring, let timeout = parameters["CRM_meta_timeout"] { kept["CRM_meta_timeout"] = timeout }
    return kept
  }

  /// Fencing parameters that older secure digests left out.
  static func isFencingParameter(_ name: String) -> Bool {
    if name == "provides" || name == "stonith-timeout" { return true }
    guard name.hasPrefix("pcmk_") else { return false }
    let fixed: Set<String> = [
      "pcmk_action_limit", "pcmk_delay_base", "pcmk_delay_max", "pcmk_host_argument", "pcmk_host_check",
      "pcmk_host_list", "pcmk_host_map",
    ]
    if fixed.contains(name) { return true }
    guard let underscore = name.dropFirst(5).firstIndex(of: "_") else { return false }
    return ["_action", "_timeout", "_retries"].contains(String(name[underscore...]))
  }

  // MARK: Operation definition and meta attributes

  /// The first `<op>` with this name and interval (`migrate` stands in for `migrate_to`/`from`).
  private func operation(_ id: String, _ name: String, _ intervalMs: Int, includeDisabled: Bool) -> XElement?
  {
    guard let operations = primitives[id]?.element.child("operations") else { return nil }
    func exact(_ name: String, _ intervalMs: Int) -> XElement? {
      for entry in operations.children("op") {
        guard let op = resolved(entry) else { continue }
        if !includeDisabled, PacemakerValues.bool(op["enabled"]) == false { continue }
        if OperationDigest.interval(op["interval"]) == intervalMs && op["name"] == name { return op }
      }
      return nil
    }
    if let found = exact(name, intervalMs) { return found }
    return name == "migrate_to" || name == "migrate_from" ? exact("migrate", 0) : nil
  }

  /// The action's meta attributes that reach the digest: only `interval` and `timeout` survive the
  /// filter, and the timeout only for recurring operations.
  private func meta(_ primitive: PrimitiveXML, _ task: String, _ intervalMs: Int, _ definition: XElement?)
    -> [(String, String)]
  {
    guard intervalMs > 0 else { return [] }
    let context = RuleContext(
      standard: primitive.element["class"], provider: primitive.element["provider"],
      type: primitive.element["type"], operation: task, intervalMs: intervalMs)
    var values = OrderedPairs()
    if let definition { read(definition, "meta_attributes", context, into: &values) }
    var timeout = definition?["timeout"] ?? values.dictionary["timeout"]
    if timeout == nil, let defaults = operationDefaults {
      var fromDefaults = OrderedPairs()
      read(defaults, "meta_attributes", context, into: &fromDefaults)
      timeout = fromDefaults.dictionary["timeout"]
    }
    return [("interval", String(intervalMs)), ("timeout", String(OperationDigest.timeout(timeout)))]
  }

  // MARK: Attribute blocks

  /// An element with `id-ref` replaced by the element it names (nil when it names none).
  private func resolved(_ element: XElement) -> XElement? {
    guard let ref = element["id-ref"] else { return element }
    return elementsByKey[Self.key(element.name, ref)]
  }

  /// Pacemaker's `pe_unpack_nvpairs`: `element`'s blocks named `blockName`, highest `score` first
  /// (document order on ties), those whose rule passes; within each, `#default` unsets a name and
  /// otherwise the first value set wins.
  private func read(
    _ element: XElement, _ blockName: String, _ context: RuleContext, into values: inout OrderedPairs
  ) {
    let blocks = element.children(blockName).compactMap(resolved)
    let ordered = blocks.enumerated().sorted { a, b in
      let (sa, sb) = (Self.blockScore(a.element), Self.blockScore(b.element))
      return sa != sb ? sa > sb : a.offset < b.offset
    }
    for (_, block) in ordered {
      if let rule = block.child("rule"), !context.passes(rule) { continue }
      var container = block
      if let first = block.children.first, first.name == "attributes" { container = first }
      for entry in container.children("nvpair") {
        guard let pair = resolved(entry), let name = pair["name"], let value = pair["value"] else { continue }
        if value.lowercased() == "#default" {
          values.remove(name)
        } else {
          values.addIfAbsent(name, value)
        }
      }
    }
  }

  private static func blockScore(_ block: XElement) -> Int {
    guard let text = block["score"]?.trimmingSpaces.lowercased() else { return 0 }
    switch text {
    case "infinity", "+infinity": return 1_000_000
    case "-infinity": return -1_000_000
    default: return max(-1_000_000, min(1_000_000, Int(text) ?? 0))
    }
  }
}

/// What rules in attribute blocks are evaluated against: a node's attributes (instance attributes),
/// or the resource's agent and the operation (operation defaults).
struct RuleContext {
  var nodeAttributes: [String: String] = [:]
  var standard: String?
  var provider: String?
  var type: String?
  var operation: String?
  var intervalMs: Int?

  /// A `<rule>`: its expressions and nested rules combined with `boolean-op` (and by default); a
  /// rule without any passes. Date expressions do not pass (no digest-relevant block uses one).
  func passes(_ rule: XElement) -> Bool {
    let kinds: Set<String> = ["rule", "expression", "date_expression", "op_expression", "rsc_expression"]
    let results = rule.children.filter { kinds.contains($0.name) }.map(evaluate)
    if results.isEmpty { return true }
    return rule["boolean-op"]?.lowercased() == "or" ? results.contains(true) : !results.contains(false)
  }

  private func evaluate(_ expression: XElement) -> Bool {
    switch expression.name {
    case "rule": return passes(expression)
    case "expression": return attributeExpression(expression)
    case "op_expression":
      guard expression["name"] == operation else { return false }
      if let interval = expression["interval"], OperationDigest.interval(interval) != intervalMs {
        return false
      }
      return true
    case "rsc_expression":
      for (attribute, actual) in [("class", standard), ("provider", provider), ("type", type)] {
        if let wanted = expression[attribute], wanted != actual { return false }
      }
      return true
    default: return false
    }
  }

  /// `-?digits(.digits)?`, the values Pacemaker compares as numbers when no type is given.
  private static func isDecimal(_ text: String) -> Bool {
    var rest = Substring(text)
    if rest.first == "-" { rest = rest.dropFirst() }
    let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count <= 2 else { return false }
    return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
  }

  private func attributeExpression(_ expression: XElement) -> Bool {
    let operation = expression["operation"]
    let actual = expression["attribute"].flatMap { nodeAttributes[$0] }
    switch operation {
    case "defined": return actual != nil
    case "not_defined": return actual == nil
    default: break
    }
    guard let actual, let value = expression["value"] else { return operation == "ne" }
    var type = expression["type"]
    if type == nil {
      let numeric = Self.isDecimal(value)
      type = ["lt", "gt", "lte", "gte"].contains(operation ?? "") && numeric ? "number" : "string"
    }
    let order: Int
    switch type {
    case "number", "integer":
      guard let a = Double(actual), let b = Double(value) else { return false }
      order = a < b ? -1 : a > b ? 1 : 0
    case "version":
      order =
        OperationDigest.versionPrecedes(actual, value)
        ? -1 : OperationDigest.versionPrecedes(value, actual) ? 1 : 0
    default:
      order = actual == value ? 0 : Array(actual.utf8).lexicographicallyPrecedes(Array(value.utf8)) ? -1 : 1
    }
    switch operation {
    case "eq": return order == 0
    case "ne": return order != 0
    case "lt": return order < 0
    case "gt": return order > 0
    case "lte": return order <= 0
    case "gte": return order >= 0
    default: return false
    }
  }
}

extension String {
  fileprivate var replacingDashes: String { String(map { $0 == "-" ? "_" : $0 }) }
}
