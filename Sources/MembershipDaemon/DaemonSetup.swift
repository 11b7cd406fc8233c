import ClusterConfig
import ClusterTypes
import FileSystem
import Foundation
import Wire

#if canImport(Glibc)
  import Glibc
#endif

/// Where the daemon finds its files; every path can be moved for tests and loopback clusters.
public struct DaemonPaths: Sendable {
  public var config: String
  public var authKey: String
  public var runDirectory: String
  public var stateDirectory: String
  public init(
    config: String = "/etc/swpcs/cluster.conf", authKey: String = "/etc/swpcs/authkey",
    runDirectory: String = "/run/swpcs", stateDirectory: String = "/var/lib/swpcs"
  ) {
    self.config = config
    self.authKey = authKey
    self.runDirectory = runDirectory
    self.stateDirectory = stateDirectory
  }
  public var socket: String { runDirectory + "/swcorosync.sock" }
  public var stateFile: String { stateDirectory + "/membership.state" }
}

/// A reason the daemon refuses to start, as one line an operator can act on.
public struct StartupError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Everything read from disk before the daemon starts: the validated configuration, the key, which
/// node this is, and the state that must survive restarts.
public struct DaemonStartup: Sendable {
  public var config: ClusterConfiguration
  public var authKey: [UInt8]
  public var local: NodeEntry
  public var incarnation: UInt64
  public var persistedViewSequence: UInt64

  public static func load(paths: DaemonPaths, nodeName: String?) throws(StartupError) -> DaemonStartup {
    let config = try loadConfiguration(path: paths.config)
    let key = try loadAuthKey(path: paths.authKey)
    let local = try identifyLocalNode(config, requested: nodeName)
    let state = MembershipStateFile.read(path: paths.stateFile)
    let nowMicros = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
    let incarnation = max(nowMicros, state.incarnation + 1)
    return DaemonStartup(
      config: config, authKey: key, local: local, incarnation: incarnation,
      persistedViewSequence: state.viewSequence)
  }

  public static func loadConfiguration(path: String) throws(StartupError) -> ClusterConfiguration {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw StartupError("\(path): cannot read the cluster configuration (\(errnoText()))")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw StartupError("\(path): not UTF-8 text")
    }
    do {
      return try ClusterConfiguration.parse(text, fileName: path)
    } catch {
      throw StartupError(error.description)
    }
  }

  /// The key must exist, be a regular file readable by its owner only, and hold 32...4096 bytes.
  public static func loadAuthKey(path: String) throws(StartupError) -> [UInt8] {
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw StartupError(
        "\(path): missing authentication key (\(errnoText())); create it with: swcorosync keygen")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw StartupError("\(path): not a regular file") }
    let mode = info.st_mode & 0o777
    guard mode & 0o077 == 0 else {
      throw StartupError(
        "\(path): mode \(String(mode, radix: 8)) lets group or others read the key; run: chmod 0400 \(path)")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw StartupError("\(path): cannot read the key (\(errnoText()))")
    }
    guard AuthKey.allowedByteCounts.contains(data.count) else {
      throw StartupError(
        "\(path): key has \(data.count) bytes, needs \(AuthKey.allowedByteCounts.lowerBound)...\(AuthKey.allowedByteCounts.upperBound); regenerate with: swcorosync keygen --force"
      )
    }
    return [UInt8](data)
  }

  /// `--node` wins; else the node named like this host (full or short host name); else the one node
  /// all of whose addresses are configured on local interfaces.
  public static func identifyLocalNode(_ config: ClusterConfiguration, requested: String?)
    throws(StartupError)
    -> NodeEntry
  {
    let known = config.nodes.map(\.name).joined(separator: ", ")
    if let requested {
      guard let node = config.node(named: requested) else {
        throw StartupError("node \(requested) is not in the cluster; known nodes: \(known)")
      }
      return node
    }
    let host = hostName()
    let short = String(host.split(separator: ".").first ?? "")
    if let node = config.node(named: host) ?? config.node(named: short) { return node }
    let local = localAddresses()
    let matches = config.nodes.filter { node in node.addresses.allSatisfy { local.contains(normalize($0)) } }
    if matches.count == 1 { return matches[0] }
    throw StartupError(
      "cannot tell which node this is: host name '\(host)' is not a node name and \(matches.count) nodes match local addresses; known nodes: \(known) (use --node NAME)"
    )
  }

  static func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  static func normalize(_ address: String) -> String { address.lowercased() }

  static func localAddresses() -> Set<String> {
    var result = Set<String>()
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return result }
    defer { freeifaddrs(list) }
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
      if let addr = entry.pointee.ifa_addr {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let family = Int32(addr.pointee.sa_family)
        let length =
          family == AF_INET
          ? socklen_t(MemoryLayout<sockaddr_in>.size) : socklen_t(MemoryLayout<sockaddr_in6>.size)
        if family == AF_INET || family == AF_INET6,
          getnameinfo(addr, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
        {
          let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
          result.insert(normalize(String(text.split(separator: "%").first ?? "")))
        }
      }
      cursor = entry.pointee.ifa_next
    }
    return result
  }
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// `/var/lib/swpcs/membership.state`: the last incarnation and the highest view sequence this node
/// used, so a restart never reuses either. Written atomically (temp file, fsync, rename, fsync dir).
public struct MembershipStateFile: Sendable, Equatable {
  public var incarnation: UInt64 = 0
  public var viewSequence: UInt64 = 0

  public static func read(path: String) -> MembershipStateFile {
    var state = MembershipStateFile()
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else { return state }
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, let value = UInt64(parts[1]) else { continue }
      if parts[0] == "incarnation" { state.incarnation = value }
      if parts[0] == "view_sequence" { state.viewSequence = value }
    }
    return state
  }

  public func write(path: String) throws(StartupError) {
    let text = "incarnation=\(incarnation)\nview_sequence=\(viewSequence)\n"
    do {
      try AtomicFile.write(Array(text.utf8), to: path, mode: 0o644)
    } catch {
      throw StartupError(error.description)
    }
  }
}
