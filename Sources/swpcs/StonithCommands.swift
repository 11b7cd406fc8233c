import ArgumentParser
import Foundation
import ResourceExecutor
import ResourceManager
import ResourceModel

extension Swpcs {
  /// `swpcs stonith ...`: fencing devices (stonith-class primitives), topology levels, manual
  /// fencing and confirmation, and the replicated fencing history — pcs's `stonith` commands.
  struct Stonith: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "stonith",
      abstract: "Fencing devices, topology levels, fencing and its history.",
      subcommands: [
        Create.self, Delete.self, Update.self, Config.self, List.self, Describe.self, Enable.self,
        Disable.self, Cleanup.self, Level.self, Fence.self, Confirm.self, History.self,
      ])
  }
}

/// Where fence agents live on this node (`SWPCS_FENCE_AGENT_DIR` overrides, for tests).
let fenceAgentDirectory = ProcessInfo.processInfo.environment["SWPCS_FENCE_AGENT_DIR"] ?? "/usr/sbin"

/// Runs an async call from a synchronous command.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
  let box = ResultBox<T>()
  let done = DispatchSemaphore(value: 0)
  Task {
    box.value = await body()
    done.signal()
  }
  done.wait()
  return box.value!
}

private final class ResultBox<T>: @unchecked Sendable {
  var value: T?
}

/// `fence_X` or `stonith:fence_X` → the agent spec.
func fenceAgentSpec(_ text: String) -> AgentSpec {
  let type = text.hasPrefix("stonith:") ? String(text.dropFirst(8)) : text
  guard type.hasPrefix("fence_"), !type.contains("/"), !type.contains(":") else {
    fail("invalid fence agent '\(text)': use fence_NAME (see: swpcs stonith list)")
  }
  return AgentSpec(standard: .stonith, type: type)
}

func stonithDevice(_ config: ResourceConfiguration, _ id: String) -> Primitive {
  guard let device = FencingPolicy.allDevices(config).first(where: { $0.id == id }) else {
    let known = FencingPolicy.allDevices(config).map(\.id)
    fail(
      "fencing device '\(id)' does not exist\(known.isEmpty ? "" : "; known: \(known.joined(separator: ", "))")"
    )
  }
  return device
}

extension Swpcs.Stonith {
  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "create",
      abstract: "Create a fencing device: ID AGENT [NAME=VALUE...] [op monitor interval=...] [meta ...]",
      discussion: """
        AGENT is a fence agent of /usr/sbin (fence_ipmilan, or stonith:fence_ipmilan). Cluster \
        parameters: pcmk_host_list="n1 n2", pcmk_host_map="n1:port1;n2:port2", pcmk_host_check, \
        pcmk_host_argument, pcmk_delay_base (or n1:0;n2:2s), pcmk_delay_max, pcmk_off_timeout, \
        pcmk_reboot_retries. Example:
          swpcs stonith create fence-ipmi fence_ipmilan ip=10.0.0.9 username=admin password=x \
            pcmk_host_list=n1 pcmk_delay_max=2s op monitor interval=60s
        """)
    @Argument(help: "Device id.") var id: String
    @Argument(help: "Fence agent (fence_NAME).") var agent: String
    @Argument(parsing: .allUnrecognized, help: "Device parameters, then op ... and meta ... groups.")
    var rest: [String] = []
    @Flag(help: "Create it even if the agent is not installed on this node.") var force = false
    @Flag(help: "Create it disabled (target-role=Stopped).") var disabled = false

    func run() throws {
      let spec = fenceAgentSpec(agent)
      let runner = FenceAgentRunner(directory: fenceAgentDirectory)
      if !force, let path = runner.executablePath(agent: spec.type),
        !FileManager.default.isExecutableFile(atPath: path)
      {
        fail(
          "fence agent \(spec.type) is not installed on this node (no \(path)); use --force to create it anyway"
        )
      }
      let primitive = parsePrimitive(id: id, agent: spec, words: rest)
      editConfiguration("stonith create") { config, _ throws(ConfigEditError) in
        try ConfigEdits.createResource(&config, primitive: primitive, group: nil, disabled: disabled)
      }
    }
  }

  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "delete",
      abstract: "Delete a fencing device (and the topology levels naming it).")
    @Argument var id: String
    func run() throws {
      editConfiguration("stonith delete") { config, _ throws(ConfigEditError) in
        _ = stonithDevice(config, id)
        try ConfigEdits.deleteResource(&config, id: id)
        for index in config.fencingLevels.indices {
          config.fencingLevels[index].devices.removeAll { $0 == id }
        }
        config.fencingLevels.removeAll { $0.devices.isEmpty }
      }
    }
  }

  struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "update",
      abstract: "Change device parameters: ID NAME=VALUE... (an empty value removes the parameter).")
    @Argument var id: String
    @Argument var pairs: [String]
    func run() throws {
      let values = parsePairs(pairs, context: "stonith update")
      editConfiguration("stonith update") { config, _ throws(ConfigEditError) in
        _ = stonithDevice(config, id)
        func apply(_ p: inout Primitive) {
          for (name, value) in values {
            if value.isEmpty {
              p.attributes.removeAll { $0.name == name }
            } else if let i = p.attributes.firstIndex(where: { $0.name == name }) {
              p.attributes[i].value = value
            } else {
              p.attributes.append(Attribute(name, value))
            }
          }
        }
        for (index, resource) in config.resources.enumerated() {
          switch resource {
          case .primitive(var p) where p.id == id:
            apply(&p)
            config.resources[index] = .primitive(p)
          case .group(var g):
            for m in g.members.indices where g.members[m].id == id { apply(&g.members[m]) }
            config.resources[index] = .group(g)
          default: break
          }
        }
      }
    }
  }

  struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "config", abstract: "Show fencing devices and topology levels.")
    @Argument var ids: [String] = []
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let config = managerStatus().config
      let devices = FencingPolicy.allDevices(config).filter { ids.isEmpty || ids.contains($0.id) }
      if global.output == .json {
        printJSON(StonithJSON(devices: devices, levels: config.fencingLevels))
        return
      }
      print(StonithText.config(devices, levels: ids.isEmpty ? config.fencingLevels : []), terminator: "")
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "list", abstract: "List the fence agents installed on this node.")
    @Argument var filter: String?
    func run() throws {
      let names =
        ((try? FileManager.default.contentsOfDirectory(atPath: fenceAgentDirectory)) ?? [])
        .filter { $0.hasPrefix("fence_") && (filter.map($0.contains) ?? true) }.sorted()
      if names.isEmpty { print("No fence agents found in \(fenceAgentDirectory)") }
      for name in names { print(name) }
    }
  }

  struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "describe",
      abstract: "Show a fence agent's parameters (from its metadata).")
    @Argument var agent: String
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let spec = fenceAgentSpec(agent)
      let runner = FenceAgentRunner(directory: fenceAgentDirectory)
      guard let metadata = blocking({ await runner.metadata(agent: spec.type) }) else {
        fail("\(spec.type): no metadata (is it installed in \(fenceAgentDirectory)?)")
      }
      print(StonithText.describe(metadata), terminator: "")
    }
  }

  struct Enable: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "enable", abstract: "Allow fencing devices to be used.")
    @Argument var ids: [String]
    func run() throws {
      editConfiguration("stonith enable") { config, _ throws(ConfigEditError) in
        for id in ids {
          _ = stonithDevice(config, id)
          try ConfigEdits.setMeta(&config, id: id, ["target-role": ""])
        }
      }
    }
  }

  struct Disable: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "disable",
      abstract: "Stop fencing devices and keep the fencer from using them (target-role=Stopped).")
    @Argument var ids: [String]
    func run() throws {
      editConfiguration("stonith disable") { config, _ throws(ConfigEditError) in
        for id in ids {
          _ = stonithDevice(config, id)
          try ConfigEdits.setMeta(&config, id: id, ["target-role": "Stopped"])
        }
      }
    }
  }

  struct Cleanup: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cleanup",
      abstract: "Forget failures of fencing devices and of fencing (fencing-max-attempts starts over).")
    @Argument var id: String?
    func run() throws {
      if let id { _ = stonithDevice(managerStatus().config, id) }
      let response = managerRequest(ManagerRequest(op: .cleanup, resource: id))
      guard response.ok else { fail(response.error ?? "cleanup refused") }
      print("Cleaned up \(id ?? "all resources and fencing failures")")
    }
  }

  struct Level: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "level",
      abstract:
        "Fencing topology: add LEVEL NODE DEV[,DEV...] | remove LEVEL [NODE] | clear [NODE] | (list).",
      discussion: """
        Levels 1-9 are tried in order; every device of a level must succeed, else the next level is \
        tried. Example: swpcs stonith level add 1 n1 ipmi-n1 ; swpcs stonith level add 2 n1 pdu-a,pdu-b
        """)
    @Argument var words: [String] = []
    func run() throws {
      guard let verb = words.first else {
        print(StonithText.levels(managerStatus().config.fencingLevels), terminator: "")
        return
      }
      let args = Array(words.dropFirst())
      switch verb {
      case "add":
        guard args.count == 3, let index = Int(args[0]), (1...9).contains(index) else {
          fail("usage: swpcs stonith level add LEVEL(1-9) NODE DEV[,DEV...]")
        }
        let node = args[1]
        let devices = args[2].split(separator: ",").map(String.init)
        editConfiguration("stonith level add") { config, status throws(ConfigEditError) in
          let nodes = knownNodes(status)
          guard nodes.contains(node) else {
            throw ConfigEditError(
              "node '\(node)' is not in the cluster; known nodes: \(nodes.joined(separator: ", "))")
          }
          for device in devices { _ = stonithDevice(config, device) }
          config.fencingLevels.removeAll { $0.target == node && $0.index == index }
          config.fencingLevels.append(
            FencingLevel(id: "fl-\(node)-\(index)", target: node, index: index, devices: devices))
          config.fencingLevels.sort { ($0.target, $0.index) < ($1.target, $1.index) }
        }
      case "remove", "delete":
        guard let first = args.first, let index = Int(first) else {
          fail("usage: swpcs stonith level remove LEVEL [NODE]")
        }
        editConfiguration("stonith level remove") { config, _ throws(ConfigEditError) in
          let before = config.fencingLevels.count
          config.fencingLevels.removeAll { $0.index == index && (args.count < 2 || $0.target == args[1]) }
          guard config.fencingLevels.count < before else { throw ConfigEditError("no such fencing level") }
        }
      case "clear":
        editConfiguration("stonith level clear") { config, _ throws(ConfigEditError) in
          config.fencingLevels.removeAll { args.isEmpty || $0.target == args[0] }
        }
      default:
        fail("unknown 'stonith level' command '\(verb)': use add, remove, clear")
      }
    }
  }

  struct Fence: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "fence",
      abstract: "Fence a node now (reboot, or power it off with --off) and wait for the result.")
    @Argument var node: String
    @Flag(help: "Power the node off instead of rebooting it.") var off = false
    func run() throws {
      let response = managerRequest(
        ManagerRequest(op: .fence, node: node, action: off ? "off" : "reboot"), timeout: .seconds(600))
      guard response.ok else { fail(response.error ?? "fencing \(node) failed") }
      print("Node: \(node) fenced")
    }
  }

  struct Confirm: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "confirm",
      abstract: "Tell the cluster a node is down (you powered it off yourself): its resources are recovered.",
      discussion: """
        WARNING: if the node is not really down, its resources may then run twice (data corruption). \
        Confirm only after checking the node is powered off.
        """)
    @Argument var node: String
    @Flag(help: "Confirm that the node is really down.") var yes = false
    func run() throws {
      guard yes else {
        fail("this tells the cluster \(node) is powered off without checking; if it is, add --yes")
      }
      let response = managerRequest(ManagerRequest(op: .fenceConfirm, node: node))
      guard response.ok else { fail(response.error ?? "confirm refused") }
      print("Node: \(node) confirmed fenced")
    }
  }

  struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "history", abstract: "Show the fencing history [of NODE].")
    @Argument var node: String?
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let entries = (managerStatus().fenceHistory ?? []).filter { node == nil || $0.target == node }
      if global.output == .json {
        printJSON(entries)
        return
      }
      print(StonithText.history(entries, limit: nil), terminator: "")
    }
  }
}

struct StonithJSON: Encodable {
  var devices: [Primitive]
  var levels: [FencingLevel]
}

/// Text layouts of the stonith commands (also used by `status --full` for the fencing history).
enum StonithText {
  static func config(_ devices: [Primitive], levels: [FencingLevel]) -> String {
    var out = ""
    for d in devices {
      out += "Resource: \(d.id) (class=stonith type=\(d.agent.type))\n"
      if !d.attributes.isEmpty {
        out += "  Attributes: \(d.id)-instance_attributes\n"
        for a in d.attributes { out += "    \(a.name)=\(a.value)\n" }
      }
      if !d.meta.isEmpty {
        out += "  Meta Attributes: \(d.id)-meta_attributes\n"
        for (k, v) in d.meta.sorted(by: { $0.key < $1.key }) { out += "    \(k)=\(v)\n" }
      }
      if !d.operations.isEmpty {
        out += "  Operations:\n"
        for op in d.operations {
          out += "    \(op.name): \(op.id)\n      interval=\(op.intervalMs / 1000)s"
          if let t = op.timeoutMs { out += " timeout=\(t / 1000)s" }
          out += "\n"
        }
      }
    }
    if !levels.isEmpty { out += "\n" + self.levels(levels) }
    return out
  }

  static func levels(_ levels: [FencingLevel]) -> String {
    guard !levels.isEmpty else { return "No fencing levels configured\n" }
    var out = ""
    for target in Set(levels.map(\.target)).sorted() {
      out += "Target: \(target)\n"
      for l in levels.filter({ $0.target == target }).sorted(by: { $0.index < $1.index }) {
        out += "  Level \(l.index) - \(l.devices.joined(separator: ","))\n"
      }
    }
    return out
  }

  static func describe(_ m: FenceAgentMetadata) -> String {
    var out = "stonith:\(m.name) - \(m.shortDescription)\n\n"
    if !m.longDescription.isEmpty { out += m.longDescription + "\n\n" }
    out += "Stonith options:\n"
    for p in m.parameters {
      var line = "  \(p.name)"
      if p.required { line += " (required)" }
      line += ": \(p.shortDescription)"
      if let d = p.defaultValue, !d.isEmpty { line += " [default: \(d)]" }
      out += line + "\n"
    }
    if !m.actions.isEmpty { out += "\nActions: \(m.actions.joined(separator: " "))\n" }
    return out
  }

  static func history(_ entries: [FenceHistoryEntry], limit: Int?) -> String {
    guard !entries.isEmpty else { return "No fencing history\n" }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
    var out = ""
    let shown = limit.map { Array(entries.suffix($0)) } ?? entries
    for e in shown.reversed() {
      let when = formatter.string(from: Date(timeIntervalSince1970: Double(e.at) / 1000))
      let how = e.devices.isEmpty ? "" : " with \(e.devices.joined(separator: ","))"
      switch e.result {
      case .success:
        out +=
          "  * \(e.action) of \(e.target) successful: delegate=\(e.executor ?? "?"), client=\(e.requester)\(how), level \(e.level), completed='\(when)'\n"
      case .failed:
        out +=
          "  * \(e.action) of \(e.target) failed: delegate=\(e.executor ?? "?"), client=\(e.requester)\(how), level \(e.level), last-failed='\(when)': \(e.detail)\n"
      case .confirmed:
        out += "  * \(e.target) confirmed down by \(e.requester), completed='\(when)'\n"
      }
    }
    return out
  }
}
