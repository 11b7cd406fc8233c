import ArgumentParser
import ClusterConfig
import ClusterTypes
import ControlProtocol
import Crypto
import FileSystem
import Foundation
import Quorum
import Wire

extension Swpcs {
  struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Set up, join, start, stop and remove the cluster on its nodes.",
      subcommands: [
        Setup.self, Join.self, Start.self, Stop.self, Enable.self, Disable.self, Destroy.self,
        NodeCommand.self,
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
    let path = ProcessInfo.processInfo.environment["SWPCS_SYSTEMCTL"] ?? "/bin/systemctl"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    do { try process.run() } catch { fail("cannot run \(path): \(error.localizedDescription)") }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      fail("systemctl \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus))")
    }
  }
}

/// The one-time join token `cluster setup` prints: everything a new node needs (cluster.conf and the
/// authkey), sealed with ChaCha20-Poly1305 under a key derived (HKDF-SHA256) from a fresh random
/// secret that travels in the token, with an expiry. The token is therefore exactly as sensitive as
/// the authkey: hand it over a trusted channel, once. Tampering or truncation is detected.
enum JoinToken {
  static let prefix = "swpcs-join1."
  static let validity: TimeInterval = 3600

  struct Payload: Codable {
    var clusterConf: String
    var authkey: String
    var expires: Int64
    var node: String?
  }

  static func key(_ secret: [UInt8]) -> SymmetricKey {
    HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: secret), salt: Array("swpcs/join/v1".utf8), info: [],
      outputByteCount: 32)
  }

  static func make(conf: String, authkey: [UInt8], node: String?, now: Date) throws -> String {
    var secret = [UInt8](repeating: 0, count: 32)
    var rng = SystemRandomNumberGenerator()
    for i in secret.indices { secret[i] = UInt8.random(in: 0...255, using: &rng) }
    let payload = Payload(
      clusterConf: conf, authkey: Data(authkey).base64EncodedString(),
      expires: Int64(now.timeIntervalSince1970 + validity), node: node)
    let sealed = try ChaChaPoly.seal(JSONEncoder().encode(payload), using: key(secret))
    return prefix + base64url(Data(secret) + sealed.combined)
  }

  static func open(_ token: String, now: Date) -> Payload {
    guard token.hasPrefix(prefix), let raw = fromBase64url(String(token.dropFirst(prefix.count))),
      raw.count > 32 + 12 + 16
    else { fail("not a swpcs join token (it starts with \(prefix))") }
    let secret = [UInt8](raw.prefix(32))
    guard let box = try? ChaChaPoly.SealedBox(combined: raw.dropFirst(32)),
      let plain = try? ChaChaPoly.open(box, using: key(secret)),
      let payload = try? JSONDecoder().decode(Payload.self, from: plain)
    else { fail("the join token is damaged or was altered; copy it again from: swpcs cluster setup") }
    guard Int64(now.timeIntervalSince1970) <= payload.expires else {
      fail("the join token expired; make a new one with: swpcs cluster node add NODE (on a cluster node)")
    }
    return payload
  }

  static func base64url(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
      of: "/", with: "_"
    )
    .replacingOccurrences(of: "=", with: "")
  }

  static func fromBase64url(_ text: String) -> Data? {
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    return Data(base64Encoded: s)
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
      abstract: "Create a cluster: NAME NODE [addr=ADDR]... (every node), writes cluster.conf and authkey.",
      discussion: """
        Run on the first node. Prints a one-time 'swpcs cluster join TOKEN' command to run on the other \
        nodes: the token carries cluster.conf and the authkey, sealed (ChaCha20-Poly1305) under a key \
        derived from a random secret inside the token, valid one hour. Treat it like the authkey. \
        Copying /etc/swpcs/cluster.conf and /etc/swpcs/authkey (mode 0400) by hand works too.
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
      let token = try JoinToken.make(conf: configuration.rendered(), authkey: key, node: nil, now: Date())
      print("On each other node run (valid one hour; it carries the cluster key — keep it secret):")
      print("  swpcs cluster join \(token)\(start ? " --start" : "")\(enable ? " --enable" : "")")
      if enable { ServiceControl.systemctl(["enable"] + ServiceControl.units) }
      if start { ServiceControl.systemctl(["start"] + ServiceControl.units) }
    }
  }

  struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Join a cluster with the token 'swpcs cluster setup' or 'cluster node add' printed.")
    @Argument(help: "The join token.") var token: String
    @Flag(help: "Start the cluster on this node afterwards.") var start = false
    @Flag(help: "Start the cluster on boot on this node.") var enable = false
    @Flag(help: "Overwrite an existing cluster configuration.") var force = false
    func run() throws {
      let payload = JoinToken.open(token, now: Date())
      if !force, let existing = try? String(contentsOfFile: ClusterFiles.conf, encoding: .utf8),
        existing != payload.clusterConf
      {
        fail("\(ClusterFiles.conf) exists with another configuration (use --force to overwrite)")
      }
      let configuration: ClusterConfiguration
      do { configuration = try ClusterConfiguration.parse(payload.clusterConf) } catch {
        fail("the token's configuration is invalid: \(error.description)")
      }
      guard let key = Data(base64Encoded: payload.authkey) else { fail("the token's key is damaged") }
      ClusterFiles.write(conf: configuration, key: [UInt8](key))
      print(
        "Joined cluster '\(configuration.clusterName)': wrote \(ClusterFiles.conf) and \(ClusterFiles.key)")
      if enable { ServiceControl.systemctl(["enable"] + ServiceControl.units) }
      if start { ServiceControl.systemctl(["start"] + ServiceControl.units) }
    }
  }

  struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Start swcorosync and swpacemakerd on this node (other nodes: run it there).")
    @Argument(help: "Nodes (this node only for now).") var nodes: [String] = []
    @Flag(help: "All nodes.") var all = false
    func run() throws {
      checkLocalOnly(nodes: nodes, all: all, verb: "start")
      ServiceControl.systemctl(["start"] + ServiceControl.units)
      print("Starting the cluster on this node")
    }
  }

  struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Stop swpacemakerd (moving resources away) and swcorosync on this node.",
      discussion: "Refuses when the remaining nodes would lose quorum, unless --force.")
    @Argument(help: "Nodes (this node only for now).") var nodes: [String] = []
    @Flag(help: "All nodes.") var all = false
    @Flag(help: "Stop even if the rest of the cluster loses quorum.") var force = false
    func run() throws {
      let local = checkLocalOnly(nodes: nodes, all: all, verb: "stop")
      if !force, !all, let coro = corosyncStatusIfRunning() {
        let stopping = Set([local ?? coro.nodeName])
        if let problem = QuorumLoss.check(coro, stopping: stopping) {
          fail("\(problem); use --force to stop anyway")
        }
      }
      ServiceControl.systemctl(["stop", "swpacemaker"])
      ServiceControl.systemctl(["stop", "swcorosync"])
      print("Stopped the cluster on this node")
    }
  }

  struct Enable: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the cluster on boot on this node.")
    func run() throws { ServiceControl.systemctl(["enable"] + ServiceControl.units) }
  }

  struct Disable: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Do not start the cluster on boot on this node.")
    func run() throws { ServiceControl.systemctl(["disable"] + ServiceControl.units) }
  }

  struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(
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
      for name in ["cib", "membership.state"] {
        try? fm.removeItem(atPath: "\(ClusterFiles.stateDirectory)/\(name)")
      }
      print("Cluster configuration removed from this node")
    }
  }

  struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "node", abstract: "Add nodes to cluster.conf and remove them.",
      subcommands: [Add.self, Remove.self])

    struct Add: ParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "NODE [addr=ADDR]...: adds the node to this node's cluster.conf and prints its join token.",
        discussion:
          "Then copy the new cluster.conf to the other nodes (or run the printed join there) and restart swcorosync."
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
        configuration.nodes += added
        if configuration.nodes.count == 3 { configuration.quorum.twoNode = false }
        configuration = validated(configuration)
        guard let key = FileManager.default.contents(atPath: ClusterFiles.key) else {
          fail("cannot read \(ClusterFiles.key)")
        }
        ClusterFiles.write(conf: configuration, key: nil)
        let token = try JoinToken.make(
          conf: configuration.rendered(), authkey: [UInt8](key), node: added[0].name, now: Date())
        print("Added \(added[0].name) (id \(added[0].id.rawValue)) to \(ClusterFiles.conf)")
        print("On \(added[0].name) run: swpcs cluster join \(token) --start")
        print("Copy \(ClusterFiles.conf) to the other nodes and restart swcorosync there.")
      }
    }

    struct Remove: ParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "NODE: removes it from this node's cluster.conf.")
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
          fail("node '\(node)' is running; stop it first (swpcs cluster stop on it) or use --force")
        }
        configuration.nodes.removeAll { $0.name == node }
        guard !configuration.nodes.isEmpty else {
          fail("cannot remove the last node; use: swpcs cluster destroy")
        }
        if configuration.nodes.count == 2 { configuration.quorum.twoNode = true }
        ClusterFiles.write(conf: validated(configuration), key: nil)
        print(
          "Removed \(node) from \(ClusterFiles.conf); copy it to the other nodes and restart swcorosync there."
        )
      }
    }
  }
}

/// Only this node can be started or stopped from here; names the local node when it was given.
@discardableResult
func checkLocalOnly(nodes: [String], all: Bool, verb: String) -> String? {
  let local = corosyncStatusIfRunning()?.nodeName
  if all { return local }
  for node in nodes where node != local {
    if let conf = localClusterConfiguration(), conf.node(named: node) == nil {
      fail(
        "node '\(node)' is not in the cluster; known nodes: \(conf.nodes.map(\.name).joined(separator: ", "))"
      )
    }
    fail("cluster \(verb) acts on this node only: run 'swpcs cluster \(verb)' on \(node)")
  }
  return local
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
