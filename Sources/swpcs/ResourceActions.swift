import ArgumentParser
import Foundation
import ResourceManager
import ResourceModel
import Scheduler

extension Swpcs.Resource {
  struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "update",
      abstract: "Change a resource: ID [NAME=VALUE...] [op ACTION NAME=VALUE...]... [meta NAME=VALUE...]",
      discussion: "An empty value removes an attribute; an op replaces the operations of that action.")
    @Argument(help: "Resource id.") var id: String
    @Argument(parsing: .allUnrecognized, help: "Attributes, op and meta groups.") var rest: [String] = []
    func run() throws {
      let parsed = parsePrimitive(
        id: id, agent: AgentSpec(standard: .ocf, provider: "x", type: "x"), words: rest)
      editConfiguration("resource update") { config, _ throws(ConfigEditError) in
        try ConfigEdits.updateResource(
          &config, id: id, attributes: parsed.attributes, meta: parsed.meta, operations: parsed.operations)
      }
    }
  }

  struct Op: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "op",
      abstract: "Add and delete operations; operation defaults.",
      subcommands: [Add.self, Delete.self, Defaults.self])

    struct Add: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "add", abstract: "ID ACTION [interval=...] [timeout=...] ...")
      @Argument(help: "Resource id.") var id: String
      @Argument(help: "Operation: monitor, start, stop, promote, demote, ...") var action: String
      @Argument(help: "Operation options NAME=VALUE.") var options: [String] = []
      func run() throws {
        let parsed = parsePrimitive(
          id: id, agent: AgentSpec(standard: .ocf, provider: "x", type: "x"), words: ["op", action] + options)
        guard let operation = parsed.operations.first else { fail("resource op add: nothing to add") }
        editConfiguration("resource op add") { config, _ throws(ConfigEditError) in
          try ConfigEdits.addOperation(&config, id: id, operation: operation)
        }
      }
    }

    struct Delete: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "ID ACTION [interval=...]")
      @Argument(help: "Resource id.") var id: String
      @Argument(help: "Operation name or operation id.") var action: String
      @Argument(help: "interval=DURATION to pick one of several.") var options: [String] = []
      func run() throws {
        var interval: Int?
        for (k, v) in parsePairs(options, context: "resource op delete") {
          guard k == "interval" else { fail("resource op delete: unknown option '\(k)' (only interval=)") }
          interval = parseInterval(v, context: "resource op delete interval")
        }
        editConfiguration("resource op delete") { config, _ throws(ConfigEditError) in
          try ConfigEdits.deleteOperation(&config, id: id, action: action, intervalMs: interval)
        }
      }
    }

    struct Defaults: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "defaults",
        abstract: "Show or update operation defaults (op_defaults).",
        subcommands: [DefaultsShow.self, DefaultsUpdate.self], defaultSubcommand: DefaultsShow.self)
      struct DefaultsShow: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "config", abstract: "Show them.")
        @OptionGroup var global: GlobalOptions
        func run() throws { showDefaults(managerStatus().config.operationDefaults, global, "Operation") }
      }
      struct DefaultsUpdate: ParsableCommand {
        static let configuration = CommandConfiguration(
          commandName: "update", abstract: "NAME=VALUE... (empty value unsets).")
        @Argument var pairs: [String]
        func run() throws {
          let values = Dictionary(parsePairs(pairs, context: "op defaults update"), uniquingKeysWith: { $1 })
          editConfiguration("resource op defaults update") { config, _ throws(ConfigEditError) in
            try ConfigEdits.updateDefaults(&config, operations: true, values)
          }
        }
      }
    }
  }

  struct Defaults: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "defaults",
      abstract: "Show or update resource defaults (rsc_defaults: resource-stickiness, ...).",
      subcommands: [DefaultsShow.self, DefaultsUpdate.self], defaultSubcommand: DefaultsShow.self)
    struct DefaultsShow: ParsableCommand {
      static let configuration = CommandConfiguration(commandName: "config", abstract: "Show them.")
      @OptionGroup var global: GlobalOptions
      func run() throws { showDefaults(managerStatus().config.resourceDefaults, global, "Resource") }
    }
    struct DefaultsUpdate: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "update", abstract: "NAME=VALUE... (empty value unsets).")
      @Argument var pairs: [String]
      func run() throws {
        let values = Dictionary(
          parsePairs(pairs, context: "resource defaults update"), uniquingKeysWith: { $1 })
        editConfiguration("resource defaults update") { config, _ throws(ConfigEditError) in
          try ConfigEdits.updateDefaults(&config, operations: false, values)
        }
      }
    }
  }

  struct Move: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "move",
      abstract: "Move a resource to NODE (or off its current node), then remove the move constraint.",
      discussion: """
        As in pcs 0.11, the temporary constraint (cli-prefer-ID, or cli-ban-ID-on-NODE without NODE) is \
        removed once the resource runs elsewhere — unless removing it would move the resource back \
        (then it stays; remove it with: swpcs resource clear ID).
        """)
    @Argument(help: "Resource id.") var id: String
    @Argument(help: "Target node (default: any other node).") var node: String?
    @Option(help: "Seconds to wait for the move.") var wait = 60
    func run() throws {
      requireLiveCluster("resource move")
      let before = managerStatus()
      let current = activeNodes(before, id)
      var constraintId = ""
      editConfiguration("resource move") { config, status throws(ConfigEditError) in
        if let node {
          try ConfigEdits.addMoveConstraint(&config, resource: id, node: node, knownNodes: knownNodes(status))
          constraintId = ConfigEdits.moveConstraintId(id)
        } else {
          try ConfigEdits.requireResource(config, id)
          guard let from = current.first else {
            throw ConfigEditError("resource '\(id)' is not running; give a target node")
          }
          try ConfigEdits.addBan(&config, resource: id, node: from, knownNodes: knownNodes(status))
          constraintId = ConfigEdits.banConstraintId(id, node: from)
        }
      }
      let moved = waitFor(seconds: wait) { status in
        let now = activeNodes(status, id)
        guard status.transition.isEmpty, !now.isEmpty else { return false }
        if let node { return now == [node] }
        return !now.contains(where: current.contains)
      }
      guard let moved else {
        fail(
          "resource '\(id)' did not move within \(wait)s; constraint \(constraintId) is kept (see: swpcs status)",
          code: ExitStatus.timedOut)
      }
      var without = moved.config
      without.constraints.locations.removeAll { $0.id == constraintId }
      if wouldMove(without, moved.state, id) {
        print(
          "Resource \(id) moved to \(activeNodes(moved, id).joined(separator: " ")); constraint \(constraintId) "
            + "kept because without it the resource would move back (remove with: swpcs resource clear \(id))"
        )
        return
      }
      editConfiguration("resource move") { config, _ throws(ConfigEditError) in
        config.constraints.locations.removeAll { $0.id == constraintId }
      }
      print("Resource \(id) moved to \(activeNodes(moved, id).joined(separator: " "))")
    }
  }

  struct Ban: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "ban",
      abstract: "Keep a resource off NODE (default: its current node) until: swpcs resource clear ID.")
    @Argument(help: "Resource id.") var id: String
    @Argument(help: "Node (default: where it runs now).") var node: String?
    func run() throws {
      editConfiguration("resource ban") { config, status throws(ConfigEditError) in
        guard let target = node ?? activeNodes(status, id).first else {
          try ConfigEdits.requireResource(config, id)
          throw ConfigEditError("resource '\(id)' is not running; give the node to ban it from")
        }
        try ConfigEdits.addBan(&config, resource: id, node: target, knownNodes: knownNodes(status))
      }
    }
  }

  struct Clear: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "clear",
      abstract: "Remove the constraints move and ban created: ID [NODE].")
    @Argument(help: "Resource id.") var id: String
    @Argument(help: "Only the constraints for this node.") var node: String?
    func run() throws {
      var removed: [String] = []
      editConfiguration("resource clear") { config, _ throws(ConfigEditError) in
        removed = try ConfigEdits.clearMoveConstraints(&config, resource: id, node: node)
      }
      print(
        removed.isEmpty
          ? "No move or ban constraints for \(id)" : "Removed \(removed.joined(separator: ", "))")
    }
  }

  struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "restart", abstract: "Stop a resource, then start it again.")
    @Argument(help: "Resource id.") var id: String
    @Option(help: "Seconds to wait for each step.") var wait = 60
    func run() throws {
      requireLiveCluster("resource restart")
      var previous: String?
      editConfiguration("resource restart") { config, _ throws(ConfigEditError) in
        try ConfigEdits.requireResource(config, id)
        previous =
          ConfigEdits.primitive(config, id: id)?.meta["target-role"]
          ?? config.resources.first { $0.id == id }.flatMap { meta(of: $0)["target-role"] }
        try ConfigEdits.setMeta(&config, id: id, ["target-role": "Stopped"])
      }
      let stopped = waitFor(seconds: wait) { status in
        status.transition.isEmpty && instanceIds(status, id).allSatisfy { activeNodes(status, $0).isEmpty }
      }
      editConfiguration("resource restart") { config, _ throws(ConfigEditError) in
        try ConfigEdits.setMeta(&config, id: id, ["target-role": previous ?? ""])
      }
      guard stopped != nil else {
        fail("resource '\(id)' did not stop within \(wait)s", code: ExitStatus.timedOut)
      }
      print("\(id) successfully restarted")
    }
  }

  struct Refresh: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "refresh",
      abstract:
        "Forget the recorded state and failures of running instances too, so all are probed again: [ID] [node=NODE]."
    )
    @Argument var args: [String] = []
    func run() throws { runCleanup(args, what: "resource refresh", refresh: true) }
  }

  struct Manage: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "manage", abstract: "Let the cluster manage the resources again.")
    @Argument(help: "Resource ids.") var ids: [String]
    func run() throws {
      editConfiguration("resource manage") { config, _ throws(ConfigEditError) in
        for id in ids { try ConfigEdits.setMeta(&config, id: id, ["is-managed": ""]) }
      }
    }
  }

  struct Unmanage: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "unmanage",
      abstract: "Stop managing the resources (they are neither started nor stopped).")
    @Argument(help: "Resource ids.") var ids: [String]
    func run() throws {
      editConfiguration("resource unmanage") { config, _ throws(ConfigEditError) in
        for id in ids { try ConfigEdits.setMeta(&config, id: id, ["is-managed": "false"]) }
      }
    }
  }

  struct GroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "group", abstract: "Put resources into groups and take them out.",
      subcommands: [Add.self, Remove.self, List.self], defaultSubcommand: List.self)
    struct Add: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "add", abstract: "GROUP RESOURCE... (group created if needed)")
      @Argument var group: String
      @Argument var resources: [String]
      func run() throws {
        editConfiguration("resource group add") { config, _ throws(ConfigEditError) in
          try ConfigEdits.groupAdd(&config, group: group, members: resources)
        }
      }
    }
    struct Remove: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "GROUP [RESOURCE...] (all members, removing the group, when none are named)")
      @Argument var group: String
      @Argument var resources: [String] = []
      func run() throws {
        editConfiguration("resource group remove") { config, _ throws(ConfigEditError) in
          try ConfigEdits.groupRemove(&config, group: group, members: resources)
        }
      }
    }
    struct List: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Groups and their members.")
      @OptionGroup var global: GlobalOptions
      func run() throws {
        var groups: [String: [String]] = [:]
        for case .group(let g) in managerStatus().config.resources { groups[g.id] = g.members.map(\.id) }
        switch global.output {
        case .json: printJSON(groups)
        case .text:
          for (g, members) in groups.sorted(by: { $0.key < $1.key }) {
            print("\(g): \(members.joined(separator: " "))")
          }
        }
      }
    }
  }

  struct Standards: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "standards", abstract: "The resource agent standards swpcs runs.")
    func run() throws {
      for standard in ["ocf", "systemd", "service", "lsb", "stonith"] { print(standard) }
    }
  }

  struct Agents: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "agents",
      abstract: "Installed agents: [ocf[:PROVIDER] | systemd | service | lsb].")
    @Argument(help: "Standard (and OCF provider) to list.") var standard: String?
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let agents = AgentCatalog.list(standard)
      switch global.output {
      case .json: printJSON(agents)
      case .text: for agent in agents { print(agent) }
      }
    }
  }

  struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "describe",
      abstract: "An agent's parameters: OCF meta-data XML, or a systemd unit's description.")
    @Argument(help: "ocf:PROVIDER:TYPE, systemd:UNIT, service:NAME.") var agent: String
    func run() throws {
      guard let spec = AgentSpec(parsing: agent) else {
        fail("invalid agent '\(agent)': use systemd:UNIT, ocf:PROVIDER:TYPE or service:NAME")
      }
      print(AgentCatalog.describe(spec), terminator: "")
    }
  }
}

func showDefaults(_ values: [String: String], _ global: GlobalOptions, _ kind: String) {
  switch global.output {
  case .json: printJSON(values)
  case .text:
    print("\(kind) Defaults:")
    if values.isEmpty { print("  (none)") }
    for (k, v) in values.sorted(by: { $0.key < $1.key }) { print("  \(k)=\(v)") }
  }
}

func meta(of resource: ResourceModel.Resource) -> [String: String] {
  switch resource {
  case .primitive(let p): p.meta
  case .group(let g): g.meta
  case .clone(let c): c.meta
  }
}

/// The primitives a resource id stands for (itself, a group's members, a clone's children).
func instanceIds(_ status: ManagerStatus, _ id: String) -> [String] {
  for resource in status.config.resources where resource.id == id {
    switch resource {
    case .primitive(let p): return [p.id]
    case .group(let g): return g.members.map(\.id)
    case .clone(let c): return c.childIds
    }
  }
  return [id]
}

/// Nodes where a resource (or a group's first member) is active.
func activeNodes(_ status: ManagerStatus, _ id: String) -> [String] {
  let ids = instanceIds(status, id)
  let nodes = status.state.resources[ids.first ?? id] ?? [:]
  return nodes.filter { $0.value.role != .stopped && $0.value.role != .unknown }.keys.sorted()
}

/// Whether the scheduler would move or stop `id` given this configuration.
func wouldMove(_ config: ResourceConfiguration, _ state: ClusterState, _ id: String) -> Bool {
  let ids = Set(instanceIds(ManagerStatus.offline(config), id))
  let transition = Scheduler.schedule(config, state)
  return transition.actions.contains { action in
    guard let r = action.resource, ids.contains(r) else { return false }
    return action.kind == .stop || action.kind == .start
  }
}

extension ManagerStatus {
  static func offline(_ config: ResourceConfiguration) -> ManagerStatus {
    ManagerStatus(
      localNode: "", dc: nil, quorate: false, members: [], joined: [], config: config, state: ClusterState(),
      transition: [], notes: [], recentFailures: [], lastChange: nil, connectedToCorosync: false)
  }
}

/// Polls the status until `done` holds; nil after `seconds`.
func waitFor(seconds: Int, _ done: (ManagerStatus) -> Bool) -> ManagerStatus? {
  let deadline = Date().addingTimeInterval(Double(seconds))
  repeat {
    let status = managerStatus()
    if done(status) { return status }
    usleep(200_000)
  } while Date() < deadline
  return nil
}

/// `resource cleanup|refresh [ID] [node=NODE]`
func runCleanup(_ args: [String], what: String, refresh: Bool = false) {
  requireLiveCluster(what)
  var resource: String?
  var node: String?
  for arg in args {
    if arg.hasPrefix("node=") {
      node = String(arg.dropFirst(5))
    } else if arg.contains("=") {
      fail("\(what): unknown option '\(arg)' (only node=NODE)")
    } else if resource == nil {
      resource = arg
    } else {
      fail("\(what): only one resource id may be given")
    }
  }
  let status = managerStatus()
  if let resource, !ConfigEdits.allResourceIds(status.config).contains(resource) {
    fail("resource '\(resource)' does not exist")
  }
  if let node, !knownNodes(status).contains(node) {
    fail("node '\(node)' is not in the cluster; known nodes: \(knownNodes(status).joined(separator: ", "))")
  }
  let response = managerRequest(
    ManagerRequest(op: .cleanup, resource: resource, node: node, action: refresh ? "refresh" : nil))
  guard response.ok else { fail(response.error ?? "\(what) refused") }
  print(
    "\(refresh ? "Refreshed (probing again)" : "Cleaned up") \(resource ?? "all resources")\(node.map { " on \($0)" } ?? "")"
  )
}

/// What agents exist on this node: OCF agents under $OCF_ROOT/resource.d, systemd units.
enum AgentCatalog {
  static var ocfRoot: String { ProcessInfo.processInfo.environment["OCF_ROOT"] ?? "/usr/lib/ocf" }

  /// nil when the agent is installed; else why not.
  static func missing(_ spec: AgentSpec) -> String? {
    guard spec.standard == .ocf, let provider = spec.provider else { return nil }
    let path = "\(ocfRoot)/resource.d/\(provider)/\(spec.type)"
    return FileManager.default.isExecutableFile(atPath: path)
      ? nil : "agent '\(spec)' is not installed on this node (no \(path))"
  }

  static func list(_ standard: String?) -> [String] {
    let parts = standard?.split(separator: ":").map(String.init) ?? []
    var out: [String] = []
    if parts.isEmpty || parts[0] == "ocf" {
      let base = "\(ocfRoot)/resource.d"
      let providers = (try? FileManager.default.contentsOfDirectory(atPath: base).sorted()) ?? []
      for provider in providers where parts.count < 2 || parts[1] == provider {
        let agents =
          (try? FileManager.default.contentsOfDirectory(atPath: "\(base)/\(provider)").sorted()) ?? []
        out += agents.filter { !$0.hasPrefix(".") }.map { "ocf:\(provider):\($0)" }
      }
    }
    if parts.isEmpty || ["systemd", "service"].contains(parts[0]) {
      let units = run("/bin/systemctl", ["list-unit-files", "--type=service", "--no-legend", "--no-pager"])
      out += units.split(separator: "\n").compactMap { line in
        guard let name = line.split(separator: " ").first, name.hasSuffix(".service"), !name.contains("@")
        else {
          return nil
        }
        return "\(parts.first ?? "systemd"):\(name.dropLast(8))"
      }
    }
    if let first = parts.first, !["ocf", "systemd", "service", "lsb", "stonith"].contains(first) {
      fail("unknown standard '\(first)'; use one of: ocf, systemd, service, lsb, stonith")
    }
    return out
  }

  static func describe(_ spec: AgentSpec) -> String {
    switch spec.standard {
    case .ocf:
      if let problem = missing(spec) { fail(problem) }
      let path = "\(ocfRoot)/resource.d/\(spec.provider ?? "")/\(spec.type)"
      let xml = run(path, ["meta-data"], environment: ["OCF_ROOT": ocfRoot])
      guard xml.contains("<resource-agent") else { fail("agent '\(spec)' gave no meta-data") }
      return xml.hasSuffix("\n") ? xml : xml + "\n"
    case .systemd, .service, .lsb:
      let unit = spec.type.contains(".") ? spec.type : spec.type + ".service"
      let text = run(
        "/bin/systemctl", ["show", "--no-pager", "-p", "Id,Description,LoadState,FragmentPath", unit])
      guard !text.contains("LoadState=not-found"), !text.isEmpty else {
        fail("unit '\(unit)' is not installed on this node")
      }
      return text
    case .stonith:
      fail("fencing agents are described with: swpcs stonith describe")
    }
  }

  static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return "" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }
}
