import ArgumentParser
import ClusterAdmin
import ClusterConfig
import ClusterTypes
import ControlProtocol
import Crypto
import FileSystem
import Foundation
import HostIdentity
import Quorum
import Wire

extension Swpcs {
  struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cluster",
      abstract: "Set up, join, start, stop and remove the cluster on its nodes.",
      subcommands: [
        Setup.self, Join.self, JoinToken.self, Start.self, Stop.self, Enable.self, Disable.self,
        Destroy.self, NodeCommand.self, AdminServe.self,
      ])
  }
}

/// The local cluster files (`SWPCS_CONFIG_DIR` moves them for tests).
enum ClusterFiles {
  static var conf: String { "\(configDirectory)/cluster.conf" }
  static var key: String { "\(configDirectory)/authkey" }
  static var stateDirectory: String {
    ProcessInfo.processInfo.environment["SWPCS_STATE_DIR"] ?? "/var/lib/swpcs"
  }

  static func load() -> ClusterConfiguration {
    guard let text = try? String(contentsOfFile: conf, encoding: .utf8) else {
      fail("no cluster is set up on this node (\(conf) is missing); run: swpcs cluster setup NAME NODE...")
    }
    do { return try ClusterConfiguration.parse(text, fileName: conf) } catch { fail(error.description) }
  }

  static func write(conf configuration: ClusterConfiguration, key: [UInt8]?) {
    do {
      try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
      try AtomicFile.write(Array(configuration.rendered().utf8), to: conf, mode: 0o644)
      if let key { try AtomicFile.write(key, to: self.key, mode: 0o400) }
    } catch {
      fail("cannot write \(configDirectory): \(error)")
    }
  }
}

/// Starts and stops the local units (`SWPCS_SYSTEMCTL` replaces systemctl in tests).
enum ServiceControl {
  static let units = ["swcorosync", "swpacemaker"]
  static func systemctl(_ arguments: [String]) {
    let result = run(arguments)
    guard result.status == 0 else { fail(result.output) }
  }

  /// After cluster.conf changed: the running daemons of this node take it (a no-op when stopped).
  static func reloadRunning() {
    let result = run(["try-reload-or-restart"] + units)
    if result.status != 0 { FileHandle.standardError.write(Data("Warning: \(result.output)\n".utf8)) }
  }

  /// Runs systemctl; on failure `output` is one line naming the command, its exit code and stderr.
  static func run(_ arguments: [String]) -> (status: Int32, output: String) {
    let path = ProcessInfo.processInfo.environment["SWPCS_SYSTEMCTL"] ?? "/bin/systemctl"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    do { try process.run() } catch { return (127, "cannot run \(path): \(error.localizedDescription)") }
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let status = process.terminationStatus
    guard status != 0 else { return (0, "") }
    let detail = stderr.split(separator: "\n").first.map { ": \($0)" } ?? ""
    return (status, "systemctl \(arguments.joined(separator: " ")) failed (exit \(status))\(detail)")
  }
}

/// `NODE [addr=ADDR]... NODE [addr=ADDR]...` → node entries (ids numbered from `firstId`).
func parseNodeSpecs(_ words: [String], firstId: Int) -> [NodeEntry] {
  var entries: [(String, [String])] = []
  for word in words {
    if word.hasPrefix("addr=") {
      guard !entries.isEmpty else { fail("addr= must follow a node name") }
      entries[entries.count - 1].1.append(String(word.dropFirst(5)))
    } else if word.contains("=") {
      fail("unknown node option '\(word)' (only addr=ADDR)")
    } else {
      entries.append((word, []))
    }
  }
  return entries.enumerated().map { index, entry in
    let addresses = entry.1.isEmpty ? [resolveAddress(entry.0)] : entry.1
    guard firstId + index <= 65535 else { fail("too many nodes") }
    let id = NodeId(UInt32(firstId + index))
    return NodeEntry(name: entry.0, id: id, addresses: addresses)
  }
}

func resolveAddress(_ host: String) -> String {
  var hints = addrinfo()
  hints.ai_family = AF_INET
  hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
  var result: UnsafeMutablePointer<addrinfo>?
  guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else {
    fail("cannot resolve node '\(host)'; give its address: \(host) addr=ADDR")
  }
  defer { freeaddrinfo(result) }
  var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
  getnameinfo(
    first.pointee.ai_addr, first.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST)
  return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func validated(_ configuration: ClusterConfiguration) -> ClusterConfiguration {
  do { return try ClusterConfiguration.parse(configuration.rendered()) } catch { fail(error.description) }
}

extension Swpcs.Cluster {
  struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "setup",
      abstract: "Create a cluster: NAME NODE [addr=ADDR]... (every node), writes cluster.conf and authkey.",
      discussion: """
        Run on the first node. Prints a 'swpcs cluster join TOKEN' command to run on the other nodes: \
        they fetch cluster.conf and the authkey from this node's swpcs-admin service (UDP port 5403), \
        sealed under a key derived from a random secret in the token. The token works once per node \
        and for one hour; it does not contain the key. Copying /etc/swpcs/cluster.conf and \
        /etc/swpcs/authkey (mode 0400) by hand works too.
        """)
    @Argument(help: "Cluster name.") var name: String
    @Argument(help: "Nodes, each followed by its addr=ADDR (one per link).") var nodes: [String]
    @Flag(help: "Start the cluster on this node afterwards.") var start = false
    @Flag(help: "Start the cluster on boot on this node.") var enable = false
    @Flag(help: "Overwrite an existing cluster configuration.") var force = false
    func run() throws {
      if !force, FileManager.default.fileExists(atPath: ClusterFiles.conf) {
        fail("\(ClusterFiles.conf) exists: this node is already in a cluster (use --force to overwrite)")
      }
      let entries = parseNodeSpecs(nodes, firstId: 1)
      guard !entries.isEmpty else { fail("give at least one node") }
      var quorum = QuorumOptions()
      if entries.count == 2 { quorum.twoNode = true }
      let configuration = validated(ClusterConfiguration(clusterName: name, quorum: quorum, nodes: entries))
      let key = AuthKey.generate()
      ClusterFiles.write(conf: configuration, key: key)
      print(
        "Wrote \(ClusterFiles.conf) and \(ClusterFiles.key) for cluster '\(name)' (\(entries.count) nodes)")
      let local = localNode(of: configuration) ?? entries[0]
      let others = entries.map(\.name).filter { $0 != local.name }
      AdminService.activate()
      if enable { ServiceControl.systemctl(["enable"] + ServiceControl.units) }
      if start { ServiceControl.systemctl(["start"] + ServiceControl.units) }
      guard !others.isEmpty else { return }
      let token = JoinTokenV2.fresh(port: adminPort, addresses: local.addresses)
      AdminStateFile.issue(token, nodes: others)
      print("On each other node (\(others.joined(separator: ", "))) run — valid one hour, once per node:")
      print("  swpcs cluster join \(token.encoded)\(start ? " --start" : "")\(enable ? " --enable" : "")")
    }
  }

  /// A new join token for nodes already in cluster.conf: the one `setup` printed was lost, expired
  /// (one hour) or spent (a node reinstalled).
  struct JoinToken: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "join-token",
      abstract:
        "Print a new 'swpcs cluster join' command for configured nodes: [NODE...] (default: all others).",
      discussion: """
        For a node of this cluster whose join command was lost, has expired (after one hour) or was         used already (the node was reinstalled). Run on a node that is in the cluster; the token is         served by this node's swpcs-admin service, works once per node and for one hour.
        """)
    @Argument(help: "Nodes the token is for (default: every configured node but this one).")
    var nodes: [String] = []
    func run() throws {
      let configuration = ClusterFiles.load()
      guard FileManager.default.fileExists(atPath: ClusterFiles.key) else {
        fail("\(ClusterFiles.key) is missing: run this on a node that is in the cluster")
      }
      guard let local = localNode(of: configuration) else {
        fail(
          "this machine is not a node of cluster '\(configuration.clusterName)' (see \(ClusterFiles.conf))")
      }
      let known = configuration.nodes.map(\.name)
      for name in nodes where !known.contains(name) {
        fail("node '\(name)' is not in the cluster; known nodes: \(known.joined(separator: ", "))")
      }
      if nodes.contains(local.name) { fail("'\(local.name)' is this node: it is in the cluster already") }
      let targets = nodes.isEmpty ? known.filter { $0 != local.name } : nodes
      guard !targets.isEmpty else { fail("the cluster has no other node") }
      AdminService.activate()
      let token = JoinTokenV2.fresh(port: adminPort, addresses: local.addresses)
      AdminStateFile.issue(token, nodes: targets)
      print("On each of \(targets.joined(separator: ", ")) run — valid one hour, once per node:")
      print("  swpcs cluster join \(token.encoded) --start")
    }
  }

  struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "join",
      abstract: "Join a cluster with the token 'swpcs cluster setup' or 'cluster node add' printed.",
      discussion: """
        Asks the node that made the token (its swpcs-admin service, UDP port 5403) for cluster.conf and \
        the authkey. That node recognises this one by the address the request comes from, or by --node.
        """)
    @Argument(help: "The join token.") var token: String
    @Option(
      help: "This node's name in the cluster (default: the node whose address this request comes from).")
    var node: String?
    @Flag(help: "Start the cluster on this node afterwards.") var start = false
    @Flag(help: "Start the cluster on boot on this node.") var enable = false
    @Flag(help: "Overwrite an existing cluster configuration.") var force = false
    func run() throws {
      let parsed: JoinTokenV2
      do { parsed = try JoinTokenV2.decode(token) } catch {
        fail(
          error == .notAToken
            ? "not a swpcs join token (it starts with \(JoinTokenV2.prefix))"
            : "the join token is damaged; copy it again from the node that printed it")
      }
      if !force, FileManager.default.fileExists(atPath: ClusterFiles.conf) {
        fail("\(ClusterFiles.conf) exists: this node is already in a cluster (use --force to overwrite)")
      }
      let request = AdminRequest(
        time: Int64(Date().timeIntervalSince1970), op: "join",
        node: node ?? ProcessInfo.processInfo.environment["SWPCS_NODE_NAME"] ?? "")
      let outcome = AdminClient.send(
        request, kind: .join, key: SymmetricKeyBox(key: AdminWire.joinKey(secret: parsed.secret)),
        tokenId: AdminWire.tokenId(secret: parsed.secret), addresses: parsed.addresses, port: parsed.port,
        timeout: 15)
      let reply: AdminReply
      switch outcome {
      case .failure(let failure): fail("cannot join: \(failure.message)")
      case .success(let r): reply = r
      }
      guard reply.ok else { fail("cannot join: \(reply.message)") }
      let configuration: ClusterConfiguration
      do { configuration = try ClusterConfiguration.parse(reply.clusterConf ?? "") } catch {
        fail("the cluster's configuration is invalid: \(error.description)")
      }
      guard let key = reply.authkey.flatMap({ Data(base64Encoded: $0) }) else {
        fail("the cluster key is damaged")
      }
      ClusterFiles.write(conf: configuration, key: [UInt8](key))
      print(
        "Joined cluster '\(configuration.clusterName)' (\(reply.message)): wrote \(ClusterFiles.conf) and \(ClusterFiles.key)"
      )
      AdminService.activate()
      if enable { ServiceControl.systemctl(["enable"] + ServiceControl.units) }
      if start { ServiceControl.systemctl(["start"] + ServiceControl.units) }
    }
  }

  struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "start",
      abstract: "Start swcorosync and swpacemakerd on this node, the given nodes or --all.",
      discussion:
        "Other nodes are reached through their swpcs-admin service (UDP port 5403, sealed with the authkey).")
    @Argument(help: "Nodes (default: this node).") var nodes: [String] = []
    @Flag(help: "All nodes.") var all = false
    func run() throws {
      let targets = NodeTargets(nodes: nodes, all: all)
      let ok = targets.run("start", units: ServiceControl.units, progress: "Starting Cluster...", timeout: 90)
      if !ok { throw ExitCode(ExitStatus.error) }
    }
  }

  struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "stop",
      abstract:
        "Stop swpacemakerd (moving resources away), then swcorosync, on this node, the given nodes or --all.",
      discussion: "Refuses when the remaining nodes would lose quorum, unless --force.")
    @Argument(help: "Nodes (default: this node).") var nodes: [String] = []
    @Flag(help: "All nodes.") var all = false
    @Flag(help: "Stop even if the rest of the cluster loses quorum.") var force = false
    func run() throws {
      let targets = NodeTargets(nodes: nodes, all: all)
      if !force, !all, let coro = corosyncStatusIfRunning() {
        if let problem = QuorumLoss.check(coro, stopping: Set(targets.names)) {
          fail("\(problem); use --force to stop anyway")
        }
      }
      // As pcs: the resource manager everywhere first, then membership.
      var ok = targets.run(
        "stop", units: ["swpacemaker"], progress: "Stopping Cluster (swpacemakerd)...", timeout: 180)
      ok =
        targets.run("stop", units: ["swcorosync"], progress: "Stopping Cluster (swcorosync)...", timeout: 60)
        && ok
      if !ok { throw ExitCode(ExitStatus.error) }
    }
  }

  struct Enable: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "enable",
      abstract: "Start the cluster on boot on this node, the given nodes or --all.")
    @Argument(help: "Nodes (default: this node).") var nodes: [String] = []
    @Flag(help: "All nodes.") var all = false
    func run() throws {
      let ok = NodeTargets(nodes: nodes, all: all).run(
        "enable", units: ServiceControl.units, progress: "Cluster Enabled", timeout: 30)
      if !ok { throw ExitCode(ExitStatus.error) }
    }
  }

  struct Disable: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "disable",
      abstract: "Do not start the cluster on boot on this node, the given nodes or --all.")
    @Argument(help: "Nodes (default: this node).") var nodes: [String] = []
    @Flag(help: "All nodes.") var all = false
    func run() throws {
      let ok = NodeTargets(nodes: nodes, all: all).run(
        "disable", units: ServiceControl.units, progress: "Cluster Disabled", timeout: 30)
      if !ok { throw ExitCode(ExitStatus.error) }
    }
  }

  struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "destroy",
      abstract: "Stop the cluster on this node and delete its configuration, key and stored state.")
    @Flag(help: "Confirm: this cannot be undone.") var yes = false
    func run() throws {
      guard yes else {
        fail("this deletes the cluster configuration of this node; rerun with --yes to confirm")
      }
      ServiceControl.systemctl(["stop", "swpacemaker", "swcorosync"])
      ServiceControl.systemctl(["disable", "swpacemaker", "swcorosync"])
      let fm = FileManager.default
      for path in [ClusterFiles.conf, ClusterFiles.key] where fm.fileExists(atPath: path) {
        try? fm.removeItem(atPath: path)
      }
      for name in ["cib", "membership.state", "admin.state"] {
        try? fm.removeItem(atPath: "\(ClusterFiles.stateDirectory)/\(name)")
      }
      print("Cluster configuration removed from this node")
    }
  }

  struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "node", abstract: "Add nodes to the cluster and remove them.",
      subcommands: [Add.self, Remove.self])

    struct Add: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "add",
        abstract:
          "NODE [addr=ADDR]...: adds the node to cluster.conf on every node and prints its join command.",
        discussion: """
          The new cluster.conf goes to the other nodes through their swpcs-admin service, and every \
          running swcorosync and swpacemakerd reloads it (systemctl reload): no restart, no outage.
          """
      )
      @Argument var words: [String]
      func run() throws {
        var configuration = ClusterFiles.load()
        let nextId = Int(configuration.nodes.map(\.id.rawValue).max() ?? 0) + 1
        let added = parseNodeSpecs(words, firstId: nextId)
        guard added.count == 1 else { fail("give one node: NODE [addr=ADDR]...") }
        guard configuration.node(named: added[0].name) == nil else {
          fail("node '\(added[0].name)' is already in the cluster")
        }
        guard added[0].addresses.count == configuration.linkCount else {
          fail(
            "the cluster has \(configuration.linkCount) link(s): give \(configuration.linkCount) addr= values"
          )
        }
        let existing = configuration.nodes
        configuration.nodes += added
        if configuration.nodes.count == 3 { configuration.quorum.twoNode = false }
        configuration = validated(configuration)
        ClusterFiles.write(conf: configuration, key: nil)
        print("Added \(added[0].name) (id \(added[0].id.rawValue)) to \(ClusterFiles.conf)")
        ServiceControl.reloadRunning()
        let local = localNode(of: configuration)
        let ok = NodeTargets(
          names: existing.map(\.name).filter { $0 != local?.name }, configuration: configuration
        )
        .distribute(configuration)
        let token = JoinTokenV2.fresh(port: adminPort, addresses: (local ?? existing[0]).addresses)
        AdminStateFile.issue(token, nodes: [added[0].name])
        print("On \(added[0].name) run (valid one hour, once): swpcs cluster join \(token.encoded) --start")
        if !ok { throw ExitCode(ExitStatus.error) }
      }
    }

    struct Remove: ParsableCommand {
      static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "NODE: removes it from cluster.conf on every remaining node.")
      @Argument var node: String
      @Flag(help: "Remove it even while it is a member.") var force = false
      func run() throws {
        var configuration = ClusterFiles.load()
        guard configuration.node(named: node) != nil else {
          fail(
            "node '\(node)' is not in the cluster; known nodes: \(configuration.nodes.map(\.name).joined(separator: ", "))"
          )
        }
        if !force, let coro = corosyncStatusIfRunning(), coro.members.contains(where: { $0.name == node }) {
          fail("node '\(node)' is running; stop it first (swpcs cluster stop \(node)) or use --force")
        }
        let local = localNode(of: configuration)
        configuration.nodes.removeAll { $0.name == node }
        guard !configuration.nodes.isEmpty else {
          fail("cannot remove the last node; use: swpcs cluster destroy")
        }
        if configuration.nodes.count == 2 { configuration.quorum.twoNode = true }
        configuration = validated(configuration)
        ClusterFiles.write(conf: configuration, key: nil)
        print("Removed \(node) from \(ClusterFiles.conf)")
        ServiceControl.reloadRunning()
        let ok = NodeTargets(
          names: configuration.nodes.map(\.name).filter { $0 != local?.name }, configuration: configuration
        ).distribute(configuration)
        if !ok { throw ExitCode(ExitStatus.error) }
      }
    }
  }
}

/// This machine's node in `configuration` (`SWPCS_NODE_NAME` names it in tests), or nil.
func localNode(of configuration: ClusterConfiguration) -> NodeEntry? {
  let requested = ProcessInfo.processInfo.environment["SWPCS_NODE_NAME"]
  if requested == nil, let name = corosyncStatusIfRunning()?.nodeName,
    let node = configuration.node(named: name)
  {
    return node
  }
  return try? LocalNode.identify(configuration, requested: requested)
}

/// `swpcs-admin.socket` on this node: answers joins and remote start/stop.
enum AdminService {
  static func activate() {
    let result = ServiceControl.run(["enable", "--now", "swpcs-admin.socket"])
    if result.status != 0 {
      FileHandle.standardError.write(
        Data(
          "Warning: \(result.output); other nodes cannot join or start this one remotely until swpcs-admin.socket runs\n"
            .utf8))
    }
  }
}

/// The nodes a start/stop/enable/disable acts on: this one through systemctl, the others through their
/// swpcs-admin service. Prints one pcs-style line per node.
struct NodeTargets {
  var names: [String]
  var configuration: ClusterConfiguration
  var local: String?

  init(nodes: [String], all: Bool) {
    configuration = ClusterFiles.load()
    local = localNode(of: configuration)?.name
    if all {
      names = configuration.nodes.map(\.name)
    } else if nodes.isEmpty {
      guard let local else {
        fail(
          "cannot tell which node this is (name it, or set SWPCS_NODE_NAME); known nodes: "
            + configuration.nodes.map(\.name).joined(separator: ", "))
      }
      names = [local]
    } else {
      for node in nodes where configuration.node(named: node) == nil {
        fail(
          "node '\(node)' is not in the cluster; known nodes: \(configuration.nodes.map(\.name).joined(separator: ", "))"
        )
      }
      names = nodes
    }
  }

  init(names: [String], configuration: ClusterConfiguration) {
    self.names = names
    self.configuration = configuration
    self.local = localNode(of: configuration)?.name
  }

  /// Asks node `name` to carry out `request`; the failure line on error.
  func ask(_ name: String, _ request: AdminRequest, timeout: Double) -> String? {
    guard let node = configuration.node(named: name) else { return "not in the cluster" }
    guard let key = FileManager.default.contents(atPath: ClusterFiles.key) else {
      return "cannot read \(ClusterFiles.key)"
    }
    switch AdminClient.send(
      request, kind: .admin, key: SymmetricKeyBox(key: AdminWire.adminKey(authkey: [UInt8](key))),
      addresses: node.addresses, port: adminPort, timeout: timeout)
    {
    case .failure(let failure): return failure.message
    case .success(let reply): return reply.ok ? nil : reply.message
    }
  }

  func run(_ op: String, units: [String], progress: String, timeout: Double) -> Bool {
    var ok = true
    for name in names {
      print("\(name): \(progress)")
      let problem: String?
      if name == local {
        let result = ServiceControl.run([op] + units)
        problem = result.status == 0 ? nil : result.output
      } else {
        problem = ask(
          name, AdminRequest(time: Int64(Date().timeIntervalSince1970), op: op, node: name, units: units),
          timeout: timeout)
      }
      if let problem {
        FileHandle.standardError.write(Data("Error: \(name): \(problem)\n".utf8))
        ok = false
      }
    }
    return ok
  }

  /// Sends `configuration` to every target node.
  func distribute(_ configuration: ClusterConfiguration) -> Bool {
    var ok = true
    for name in names {
      let request = AdminRequest(
        time: Int64(Date().timeIntervalSince1970), op: "conf", node: name, conf: configuration.rendered())
      if let problem = ask(name, request, timeout: 15) {
        FileHandle.standardError.write(
          Data(
            "Error: \(name): cluster.conf not updated: \(problem) (copy \(ClusterFiles.conf) there)\n".utf8))
        ok = false
      } else {
        print("\(name): cluster.conf updated and reloaded")
      }
    }
    return ok
  }
}

/// Whether stopping some members would leave the others without quorum (`cluster stop` refuses).
enum QuorumLoss {
  static func check(_ status: CorosyncStatus, stopping: Set<String>) -> String? {
    let remaining = status.members.filter { !stopping.contains($0.name) }
    guard !remaining.isEmpty, status.quorum.quorate else { return nil }
    let votes = remaining.reduce(0) { $0 + $1.votes }
    let twoNode = status.quorum.flags.contains { $0.lowercased().contains("2node") || $0 == "two_node" }
    if twoNode { return nil }
    guard votes < status.quorum.quorum else { return nil }
    return
      "stopping \(stopping.sorted().joined(separator: ", ")) would leave \(votes) of \(status.quorum.expectedVotes) "
      + "votes (quorum needs \(status.quorum.quorum)): the remaining nodes would stop their resources"
  }
}
