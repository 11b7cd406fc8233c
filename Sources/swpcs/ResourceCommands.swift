import ArgumentParser
import Foundation
import ResourceManager
import ResourceModel

extension Swpcs {
  struct Resource: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "resource",
      abstract: "Create, change and inspect resources.",
      subcommands: [
        Status.self, Config.self, Create.self, Delete.self, Update.self, Meta.self, Op.self, Enable.self,
        Disable.self, Move.self, Ban.self, Clear.self, Restart.self, Cleanup.self, Refresh.self,
        Failcount.self, Manage.self, Unmanage.self, GroupCommand.self, CloneCommand.self,
        PromotableCommand.self, Unclone.self, Defaults.self, Standards.self, Agents.self, Describe.self,
      ],
      defaultSubcommand: Status.self)
  }
}

extension Swpcs.Resource {
  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "create",
      abstract:
        "Create a resource: ID AGENT [NAME=VALUE...] [op ACTION NAME=VALUE...]... [meta NAME=VALUE...]",
      discussion: """
        AGENT is systemd:UNIT, ocf:PROVIDER:TYPE or service:NAME. Without a monitor operation, a monitor
        every 60 s is added (as pcs does). End with `clone [CLONE_ID] [meta NAME=VALUE...]` or
        `promotable [CLONE_ID] [meta NAME=VALUE...]` to clone it (CLONE_ID defaults to ID-clone).
        Examples:
          swpcs resource create web systemd:nginx op monitor interval=10s
          swpcs resource create db ocf:swpcs:Stateful op monitor interval=10s role=Promoted \\
            op monitor interval=11s role=Unpromoted promotable meta promoted-max=1
        """)
    @Argument(help: "Resource id.") var id: String
    @Argument(help: "Agent: systemd:UNIT, ocf:PROVIDER:TYPE.") var agent: String
    @Argument(parsing: .allUnrecognized, help: "Instance attributes, then op ... and meta ... groups.")
    var rest: [String] = []
    @Option(help: "Put the resource into this group (created if needed).") var group: String?
    @Flag(help: "Create it with target-role=Stopped.") var disabled = false
    @Flag(help: "Create it even if the agent is not installed on this node.") var force = false

    func run() throws {
      guard let spec = AgentSpec(parsing: agent) else {
        fail("invalid agent '\(agent)': use systemd:UNIT, ocf:PROVIDER:TYPE or service:NAME")
      }
      guard spec.standard != .stonith else { fail("fencing devices are created with: swpcs stonith create") }
      if !force, offlineConfigFile == nil, let problem = AgentCatalog.missing(spec) {
        fail("\(problem) (use --force to create it anyway)")
      }
      let (words, clone) = splitCloneClause(rest, resourceId: id)
      if clone != nil && group != nil { fail("resource create: a resource in a group cannot be cloned") }
      let primitive = parsePrimitive(id: id, agent: spec, words: words)
      editConfiguration("resource create") { config, _ throws(ConfigEditError) in
        try ConfigEdits.createResource(&config, primitive: primitive, group: group, disabled: disabled)
        if let clone {
          try ConfigEdits.cloneResource(
            &config, id: id, cloneId: clone.id, promotable: clone.promotable, meta: clone.meta)
        }
      }
    }
  }

  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "delete",
      abstract: "Delete a resource (stopping it first) and its constraints.")
    @Argument var id: String
    func run() throws {
      editConfiguration("resource delete") { config, _ throws(ConfigEditError) in
        try ConfigEdits.deleteResource(&config, id: id)
      }
    }
  }

  struct Enable: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "enable",
      abstract: "Allow resources to start (removes target-role).")
    @Argument(help: "Resource ids.") var ids: [String]
    func run() throws {
      editConfiguration("resource enable") { config, _ throws(ConfigEditError) in
        for id in ids { try ConfigEdits.setMeta(&config, id: id, ["target-role": ""]) }
      }
    }
  }

  struct Disable: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "disable",
      abstract: "Stop resources and keep them stopped (target-role=Stopped).")
    @Argument var ids: [String]
    func run() throws {
      editConfiguration("resource disable") { config, _ throws(ConfigEditError) in
        for id in ids { try ConfigEdits.setMeta(&config, id: id, ["target-role": "Stopped"]) }
      }
    }
  }

  struct Meta: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "meta",
      abstract: "Set meta attributes: ID NAME=VALUE... (empty value removes).")
    @Argument var id: String
    @Argument var pairs: [String]
    func run() throws {
      let values = Dictionary(parsePairs(pairs, context: "resource meta"), uniquingKeysWith: { _, b in b })
      editConfiguration("resource meta") { config, _ throws(ConfigEditError) in
        try ConfigEdits.setMeta(&config, id: id, values)
      }
    }
  }

  struct Cleanup: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cleanup", abstract: "Forget failures: [ID] [node=NODE].")
    @Argument var args: [String] = []
    func run() throws {
      runCleanup(args, what: "resource cleanup")
    }
  }

  struct Failcount: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "failcount", abstract: "Show fail counts: show [ID] [NODE].")
    @Argument var args: [String] = []
    func run() throws {
      var words = args
      if words.first == "show" { words.removeFirst() }
      let status = managerStatus()
      var lines: [String] = []
      for (resource, nodes) in status.state.resources.sorted(by: { $0.key < $1.key })
      where words.isEmpty || words[0] == resource {
        for (node, state) in nodes.sorted(by: { $0.key < $1.key }) where words.count < 2 || words[1] == node {
          for (op, count) in state.failCounts.sorted(by: { $0.key < $1.key }) where count > 0 {
            lines.append("  \(resource): \(op) on \(node): \(count)")
          }
        }
      }
      print(lines.isEmpty ? "No failcounts" : "Failcounts:\n" + lines.joined(separator: "\n"))
    }
  }

  struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "config", abstract: "Show the resource configuration.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let status = managerStatus()
      switch global.output {
      case .json: printJSON(status.config.resources)
      case .text: print(ResourceConfigText.render(status.config.resources), terminator: "")
      }
    }
  }

  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "status", abstract: "Show resources and where they run.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let status = managerStatus()
      switch global.output {
      case .json: printJSON(StatusJSON.make(status, cluster: nil, nodeIds: [:]).resources)
      case .text: print(StatusText.resources(status), terminator: "")
      }
    }
  }
}

/// `NAME=VALUE... op ACTION NAME=VALUE... meta NAME=VALUE...` → a primitive.
func parsePrimitive(id: String, agent: AgentSpec, words: [String]) -> Primitive {
  var primitive = Primitive(id: id, agent: agent)
  var section = "attr"
  var currentOp: OperationSpec?
  func finishOp() {
    if let op = currentOp { primitive.operations.append(op) }
    currentOp = nil
  }
  var index = 0
  while index < words.count {
    let word = words[index]
    index += 1
    switch word {
    case "op":
      finishOp()
      guard index < words.count, !words[index].contains("=") else {
        fail("resource create: 'op' needs an action name")
      }
      let name = words[index]
      index += 1
      currentOp = OperationSpec(id: "", name: name)
      section = "op"
      continue
    case "meta":
      finishOp()
      section = "meta"
      continue
    default:
      // pcs: `op monitor interval=10s role=Promoted monitor interval=11s role=Unpromoted`.
      if section == "op" && !word.contains("=") {
        finishOp()
        currentOp = OperationSpec(id: "", name: word)
        continue
      }
    }
    guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
      fail("resource create: expected NAME=VALUE, 'op ACTION ...' or 'meta ...', got '\(word)'")
    }
    let name = String(word[..<eq])
    let value = String(word[word.index(after: eq)...])
    switch section {
    case "attr":
      primitive.attributes.removeAll { $0.name == name }
      primitive.attributes.append(Attribute(name, value))
    case "meta": primitive.meta[name] = value
    default:
      guard var op = currentOp else { continue }
      let context = "op \(op.name)"
      switch name {
      case "interval": op.intervalMs = parseInterval(value, context: "\(context) interval")
      case "timeout": op.timeoutMs = parseInterval(value, context: "\(context) timeout")
      case "on-fail":
        let allowed = ["ignore", "block", "stop", "restart", "standby", "fence", "demote"]
        guard allowed.contains(value) else {
          fail("\(context): on-fail must be one of \(allowed.joined(separator: ", "))")
        }
        op.onFail = value
      case "role": op.role = value
      case "enabled": op.enabled = !["false", "0", "no", "off"].contains(value.lowercased())
      case "id", "description", "start-delay", "interval-origin", "record-pending", "requires",
        "OCF_CHECK_LEVEL":
        op.extra[name] = value
      default:
        fail(
          "\(context): unknown operation option '\(name)' (known: interval, timeout, on-fail, role, enabled, "
            + "start-delay, record-pending, requires, OCF_CHECK_LEVEL)")
      }
      currentOp = op
    }
  }
  finishOp()
  for i in primitive.operations.indices {
    let op = primitive.operations[i]
    primitive.operations[i].id = "\(id)-\(op.name)-interval-\(op.intervalMs / 1000)s"
  }
  return primitive
}

enum ResourceConfigText {
  static func render(_ resources: [ResourceModel.Resource]) -> String {
    var out = ""
    func primitive(_ p: Primitive, indent: String) {
      out += "\(indent)Resource: \(p.id) (\(p.agent))\n"
      if !p.attributes.isEmpty {
        out +=
          "\(indent)  Attributes: " + p.attributes.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
          + "\n"
      }
      if !p.meta.isEmpty {
        out +=
          "\(indent)  Meta Attributes: "
          + p.meta.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
          .joined(separator: " ") + "\n"
      }
      if !p.operations.isEmpty {
        out += "\(indent)  Operations:\n"
        for op in p.operations {
          var words = ["\(op.name):", op.id, "interval=\(op.intervalMs / 1000)s"]
          if let t = op.timeoutMs { words.append("timeout=\(t / 1000)s") }
          if let f = op.onFail { words.append("on-fail=\(f)") }
          if let r = op.role { words.append("role=\(r)") }
          out += "\(indent)    " + words.joined(separator: " ") + "\n"
        }
      }
    }
    for resource in resources {
      switch resource {
      case .primitive(let p): primitive(p, indent: "")
      case .group(let g):
        out += "Group: \(g.id)\n"
        for m in g.members { primitive(m, indent: "  ") }
      case .clone(let c):
        out += "Clone: \(c.id)\(c.promotable ? " (promotable)" : "")\n"
        switch c.child {
        case .primitive(let p): primitive(p, indent: "  ")
        case .group(let g):
          out += "  Group: \(g.id)\n"
          for m in g.members { primitive(m, indent: "    ") }
        }
      }
    }
    return out
  }
}
