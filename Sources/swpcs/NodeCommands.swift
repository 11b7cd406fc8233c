import ArgumentParser
import ResourceManager
import ResourceModel

extension Swpcs {
  struct Node: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "node",
      abstract: "Put nodes into standby or maintenance, and set node attributes.",
      subcommands: [
        Standby.self, Unstandby.self, Maintenance.self, Unmaintenance.self, AttributeCommand.self,
      ])
  }
}

struct NodeSelection: ParsableArguments {
  @Argument(help: "Node names (default: this node).") var nodes: [String] = []
  @Flag(help: "All nodes.") var all = false
  func resolve(_ status: ManagerStatus) -> [String] {
    if all && !nodes.isEmpty { fail("give node names or --all, not both", code: ExitStatus.usage) }
    if all { return knownNodes(status) }
    return nodes.isEmpty ? [status.localNode] : nodes
  }
}

func setNodeAttribute(_ what: String, _ selection: NodeSelection, name: String, value: String?) {
  editConfiguration(what) { config, status throws(ConfigEditError) in
    let known = knownNodes(status)
    for node in selection.resolve(status) {
      try ConfigEdits.setNodeAttribute(&config, node: node, name: name, value: value, knownNodes: known)
    }
  }
}

extension Swpcs.Node {
  struct Standby: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "standby",
      abstract: "Move resources off the nodes and keep them off.")
    @OptionGroup var selection: NodeSelection
    func run() throws { setNodeAttribute("node standby", selection, name: "standby", value: "on") }
  }
  struct Unstandby: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "unstandby", abstract: "Let the nodes run resources again.")
    @OptionGroup var selection: NodeSelection
    func run() throws { setNodeAttribute("node unstandby", selection, name: "standby", value: nil) }
  }
  struct Maintenance: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "maintenance",
      abstract: "Stop managing resources on the nodes (they keep running).")
    @OptionGroup var selection: NodeSelection
    func run() throws { setNodeAttribute("node maintenance", selection, name: "maintenance", value: "on") }
  }
  struct Unmaintenance: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "unmaintenance", abstract: "Manage resources on the nodes again.")
    @OptionGroup var selection: NodeSelection
    func run() throws { setNodeAttribute("node unmaintenance", selection, name: "maintenance", value: nil) }
  }
  struct AttributeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "attribute",
      abstract: "Show or set node attributes: [NODE [NAME=VALUE...]] (empty VALUE deletes).",
      discussion: """
        With --transient, the node's transient attributes (kept in the cluster state until the node
        leaves, like Pacemaker's reboot lifetime): promotion scores master-RESOURCE that agents set
        through crm_master/crm_attribute. NODE defaults to this node there.
        """)
    @Argument var node: String?
    @Argument var pairs: [String] = []
    @Flag(help: "Transient (reboot-lifetime) attributes instead of permanent ones.") var transient = false
    func run() throws {
      if transient {
        transientAttributes(node: node, pairs: pairs)
        return
      }
      guard let node, !pairs.isEmpty else {
        let status = managerStatus()
        for n in status.config.nodes where node == nil || n.name == node {
          print(
            "\(n.name): "
              + n.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
          )
        }
        return
      }
      let values = parsePairs(pairs, context: "node attribute")
      editConfiguration("node attribute") { config, status throws(ConfigEditError) in
        for (k, v) in values {
          try ConfigEdits.setNodeAttribute(
            &config, node: node, name: k, value: v.isEmpty ? nil : v, knownNodes: knownNodes(status))
        }
      }
    }
  }
}

extension Swpcs {
  struct Property: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "property",
      abstract: "Cluster properties (Pacemaker names; stonith-enabled = fencing-enabled).",
      subcommands: [Config.self, Set.self, Unset.self], defaultSubcommand: Config.self)
  }
}

extension Swpcs.Property {
  struct Set: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "NAME=VALUE...")
    @Argument var pairs: [String]
    @Flag(help: "Accept a property Pacemaker does not know (kept for agents and scripts).") var force = false
    func run() throws {
      let values = parsePairs(pairs, context: "property set")
      editConfiguration("property set") { config, _ throws(ConfigEditError) in
        for (k, v) in values { try ConfigEdits.setProperty(&config, name: k, value: v, force: force) }
      }
    }
  }
  struct Unset: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unset", abstract: "NAME...")
    @Argument var names: [String]
    @Flag(help: "Accept a property Pacemaker does not know.") var force = false
    func run() throws {
      editConfiguration("property unset") { config, _ throws(ConfigEditError) in
        for k in names { try ConfigEdits.setProperty(&config, name: k, value: "", force: force) }
      }
    }
  }
  struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "config",
      abstract: "Show the properties that are set (--all: with defaults; --defaults: defaults only).")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Every known property, set or default.") var all = false
    @Flag(help: "The default of every known property.") var defaults = false
    func run() throws {
      if all && defaults { fail("give --all or --defaults, not both", code: ExitStatus.usage) }
      var props: [String: String] = defaults ? [:] : managerStatus().config.properties
      if all || defaults {
        for (k, v) in ClusterPropertyNames.defaults where props[k] == nil { props[k] = v }
      }
      switch global.output {
      case .json: printJSON(props)
      case .text:
        print("Cluster Properties:")
        for (k, v) in props.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
      }
    }
  }
}

extension Swpcs {
  struct Constraint: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "constraint",
      abstract: "Location, colocation and order constraints.",
      subcommands: [Config.self, Location.self, Colocation.self, Order.self, Delete.self, Ref.self],
      defaultSubcommand: Config.self)
  }
}

extension Swpcs.Constraint {
  struct Location: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "location", abstract: "RESOURCE prefers|avoids NODE[=SCORE]...")
    @Argument var resource: String
    @Argument var verb: String
    @Argument var nodes: [String]
    func run() throws {
      guard !nodes.isEmpty else {
        fail("constraint location: give at least one NODE[=SCORE]", code: ExitStatus.usage)
      }
      guard verb == "prefers" || verb == "avoids" else {
        fail("constraint location: expected 'prefers' or 'avoids', got '\(verb)'")
      }
      editConfiguration("constraint location") { config, status throws(ConfigEditError) in
        for word in nodes {
          let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
          var score = Score.infinity
          if parts.count == 2 {
            guard let s = Score(parsing: parts[1]) else {
              throw ConfigEditError("invalid score '\(parts[1])': use an integer, INFINITY or -INFINITY")
            }
            score = s
          }
          if verb == "avoids" { score = -score }
          try ConfigEdits.addLocation(
            &config, resource: resource, node: parts[0], score: score, knownNodes: knownNodes(status))
        }
      }
    }
  }
  struct Colocation: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "colocation",
      abstract: "add [ROLE] A with [ROLE] B [SCORE|score=SCORE] (ROLE: Promoted, Unpromoted, Started)")
    @Argument var words: [String]
    func run() throws {
      let usage = "usage: swpcs constraint colocation add [ROLE] A with [ROLE] B [score=SCORE]"
      guard words.first == "add", let withIndex = words.firstIndex(of: "with") else { fail(usage) }
      func side(_ part: ArraySlice<String>) -> (role: String?, id: String) {
        if part.count == 2, ConfigEdits.canonicalRole(part[part.startIndex]) != nil {
          return (part[part.startIndex], part[part.startIndex + 1])
        }
        guard part.count == 1 else { fail(usage) }
        return (nil, part[part.startIndex])
      }
      let left = side(words[1..<withIndex])
      var right = Array(words[(withIndex + 1)...])
      var score = Score.infinity
      if right.count >= 2, let last = right.last,
        last.hasPrefix("score=") || Score(parsing: last) != nil,
        !(right.count == 2 && ConfigEdits.canonicalRole(right[0]) != nil)
      {
        let text = last.hasPrefix("score=") ? String(last.dropFirst(6)) : last
        guard let s = Score(parsing: text) else {
          fail("invalid score '\(text)': use an integer, INFINITY or -INFINITY")
        }
        score = s
        right.removeLast()
      }
      let other = side(right[...])
      editConfiguration("constraint colocation") { config, _ throws(ConfigEditError) in
        try ConfigEdits.addColocation(
          &config, resource: left.id, with: other.id, score: score, role: left.role, withRole: other.role)
      }
    }
  }
  struct Order: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "order",
      abstract: "[ACTION] A then [ACTION] B [kind=K] [symmetrical=B]")
    @Argument var words: [String]
    func run() throws {
      let actions = ["start", "stop", "promote", "demote"]
      var w = words
      var options: [String: String] = [:]
      while let last = w.last, last.contains("=") {
        let kv = last.split(separator: "=", maxSplits: 1).map(String.init)
        options[kv[0]] = kv.count > 1 ? kv[1] : ""
        w.removeLast()
      }
      guard let thenIndex = w.firstIndex(of: "then") else {
        fail("usage: swpcs constraint order [ACTION] A then [ACTION] B [kind=Mandatory|Optional|Serialize]")
      }
      let left = Array(w[..<thenIndex])
      let right = Array(w[(thenIndex + 1)...])
      func split(_ part: [String]) -> (String, String) {
        if part.count == 2, actions.contains(part[0]) { return (part[0], part[1]) }
        if part.count == 1 { return ("start", part[0]) }
        fail("constraint order: cannot read '\(part.joined(separator: " "))'")
      }
      let (firstAction, first) = split(left)
      let (thenAction, then) = split(right)
      for key in options.keys where !["kind", "symmetrical", "id"].contains(key) {
        fail("constraint order: unknown option '\(key)' (kind=, symmetrical=)")
      }
      let kind = OrderConstraint.Kind(rawValue: options["kind"] ?? "Mandatory")
      guard let kind else { fail("kind must be Mandatory, Optional or Serialize") }
      if let value = options["symmetrical"], !ClusterPropertyNames.isBool(value) {
        fail("symmetrical must be true or false, got '\(value)'")
      }
      let symmetrical = options["symmetrical"].map(isTrue) ?? true
      editConfiguration("constraint order") { config, _ throws(ConfigEditError) in
        try ConfigEdits.addOrder(
          &config, first: first, firstAction: firstAction, then: then, thenAction: thenAction, kind: kind,
          symmetrical: symmetrical)
      }
    }
  }
  struct Ref: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "ref", abstract: "The constraints that name a resource.")
    @Argument(help: "Resource ids.") var ids: [String]
    func run() throws {
      let config = managerStatus().config
      for id in ids {
        do {
          let refs = try ConfigEdits.constraintReferences(config, resource: id)
          print("Resource: \(id)")
          print(refs.isEmpty ? "  No Matches" : refs.map { "  \($0)" }.joined(separator: "\n"))
        } catch {
          fail(error.description)
        }
      }
    }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "delete", abstract: "Delete constraints by id.")
    @Argument var ids: [String]
    func run() throws {
      editConfiguration("constraint delete") { config, _ throws(ConfigEditError) in
        for id in ids { try ConfigEdits.deleteConstraint(&config, id: id) }
      }
    }
  }
  struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Show constraints.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let c = managerStatus().config.constraints
      switch global.output {
      case .json: printJSON(c)
      case .text: print(ConstraintText.render(c), terminator: "")
      }
    }
  }
}

/// The text of `swpcs constraint config` (pcs layout).
enum ConstraintText {
  static func render(_ c: Constraints) -> String {
    var out = "Location Constraints:\n"
    for l in c.locations {
      let verb = l.score.value >= 0 ? "prefers" : "avoids"
      let score = l.score.value >= 0 ? l.score : -l.score
      out += "  Resource \(l.resource) \(verb) node \(l.node ?? "(rule)") (score:\(score)) (id: \(l.id))\n"
    }
    out += "Colocation Constraints:\n"
    for o in c.colocations {
      let role = o.role.map { " (role:\($0))" } ?? ""
      let withRole = o.withRole.map { " (with-rsc-role:\($0))" } ?? ""
      out +=
        "  Resource \(o.resource) with resource \(o.withResource) (score:\(o.score))\(role)\(withRole) (id: \(o.id))\n"
    }
    out += "Order Constraints:\n"
    for o in c.orders {
      out +=
        "  \(o.firstAction) resource \(o.first) then \(o.thenAction) resource \(o.then) (kind:\(o.kind.rawValue))"
        + "\(o.symmetrical ? "" : " (non-symmetrical)") (id: \(o.id))\n"
    }
    return out
  }
}

/// `node attribute --transient [NODE [NAME=VALUE...]]`: shows, sets or (empty value) deletes.
private func transientAttributes(node: String?, pairs: [String]) {
  // NODE is optional before the pairs here.
  var node = node
  var pairs = pairs
  if let first = node, first.contains("=") {
    pairs.insert(first, at: 0)
    node = nil
  }
  guard !pairs.isEmpty else {
    let status = managerStatus()
    for n in status.state.nodes where n.name == node ?? status.localNode {
      print(
        "\(n.name): "
          + n.transientAttributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
          .joined(separator: " "))
    }
    return
  }
  requireLiveCluster("node attribute --transient")
  for (name, value) in parsePairs(pairs, context: "node attribute") {
    let response = managerRequest(
      ManagerRequest(op: .setAttribute, node: node, name: name, value: value.isEmpty ? nil : value))
    if !response.ok { fail("node attribute: \(response.error ?? "refused")") }
  }
}
