import ClusterConfig
import ClusterTypes
import FileSystem
import Foundation
import HostIdentity
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

  /// `--node` wins; else the node named like this host; else the node whose addresses are local.
  public static func identifyLocalNode(_ config: ClusterConfiguration, requested: String?)
    throws(StartupError)
    -> NodeEntry
  {
    do { return try LocalNode.identify(config, requested: requested) } catch {
      throw StartupError(error.message)
    }
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
