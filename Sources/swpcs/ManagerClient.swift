import ClusterConfig
import ControlClient
import ControlProtocol
import Foundation
import ResourceManager
import ResourceModel

/// The swpacemakerd socket: `SWPCS_SOCKET` overrides the default (tests, several nodes on one host).
let managerSocketPath = ProcessInfo.processInfo.environment["SWPCS_SOCKET"] ?? "/run/swpcs/swpcs.sock"
let corosyncSocketPathInUse =
  ProcessInfo.processInfo.environment["SWPCS_COROSYNC_SOCKET"] ?? corosyncSocketPath
/// `/etc/swpcs` (SWPCS_CONFIG_DIR overrides it: tests, cluster setup rehearsals).
let configDirectory = ProcessInfo.processInfo.environment["SWPCS_CONFIG_DIR"] ?? "/etc/swpcs"

/// Set by `main` from pcs's `-f FILE`: editing commands then work on that file, not the cluster.
let offlineConfigVariable = "SWPCS_OFFLINE_CONFIG"
let offlineConfigFile = ProcessInfo.processInfo.environment[offlineConfigVariable]

func managerRequest(_ request: ManagerRequest, timeout: Duration = .seconds(30)) -> ManagerResponse {
  do {
    let client = try UnixSocketClient(path: managerSocketPath, timeout: timeout)
    return try client.request(request, as: ManagerResponse.self)
  } catch .malformed(let text) where text.contains("permission denied") {
    clientFailure(.permissionDenied(path: managerSocketPath), daemon: "swpacemakerd", unit: "swpacemaker")
  } catch {
    clientFailure(error, daemon: "swpacemakerd", unit: "swpacemaker")
  }
}

/// Commands that act on running resources (cleanup, restart, wait) have no meaning on a file.
func requireLiveCluster(_ what: String) {
  if offlineConfigFile != nil { fail("\(what) needs the live cluster; it cannot run with -f") }
}

func managerStatus() -> ManagerStatus {
  if let file = offlineConfigFile { return ConfigFile.offlineStatus(file) }
  let response = managerRequest(ManagerRequest(op: .status))
  guard response.ok, let status = response.status else {
    fail(response.error ?? "swpacemakerd sent no status")
  }
  return status
}

/// The configured node names: swcorosync's (it has cluster.conf), or cluster.conf itself.
func knownNodes(_ status: ManagerStatus) -> [String] {
  if offlineConfigFile == nil, let coro = corosyncStatusIfRunning() {
    return coro.nodes.map(\.name)
  }
  if let conf = localClusterConfiguration() { return conf.nodes.map(\.name) }
  return Array(Set(status.members + status.state.nodes.map(\.name) + status.config.nodes.map(\.name)))
    .sorted()
}

func localClusterConfiguration() -> ClusterConfiguration? {
  guard let text = try? String(contentsOfFile: "\(configDirectory)/cluster.conf", encoding: .utf8) else {
    return nil
  }
  return try? ClusterConfiguration.parse(text)
}

/// Read the configuration, apply `edit`, send it back with the version read; retried when another
/// change got in between. The configuration version is unchanged when `edit` throws. Changes need a
/// partition with quorum and a DC: a change made in a minority could be lost when the cluster re-forms.
func editConfiguration(
  _ what: String, _ edit: (inout ResourceConfiguration, ManagerStatus) throws(ConfigEditError) -> Void
) {
  if let file = offlineConfigFile {
    let status = ConfigFile.offlineStatus(file)
    var config = status.config
    do { try edit(&config, status) } catch { fail(error.description) }
    if config == status.config { return }
    config.version.epoch += 1
    config.version.numUpdates = 0
    config.version.acceptedIn = nil
    do { try ConfigFile.write(config, to: file) } catch { fail("cannot write \(file): \(error)") }
    return
  }
  for attempt in 1...5 {
    let status = managerStatus()
    var config = status.config
    do {
      try edit(&config, status)
    } catch {
      fail(error.description)
    }
    if config == status.config { return }
    guard status.connectedToCorosync, status.dc != nil else {
      fail(
        "\(what): the cluster has not formed on this node (no DC yet); start it with: swpcs cluster start",
        code: ExitStatus.noQuorum)
    }
    guard status.quorate else {
      fail(
        "\(what): this partition has no quorum, so configuration changes are refused (see: swpcs quorum status)",
        code: ExitStatus.noQuorum)
    }
    let response = managerRequest(
      ManagerRequest(op: .replaceConfig, config: config, baseVersion: status.config.version))
    if response.ok { return }
    let message = response.error ?? "the change was refused"
    // Retried from a fresh read: another change got in first, or the membership changed before every
    // member held this one (then, if it did survive, the edit is already in force and changes nothing).
    if (message.contains("changed meanwhile") || message.contains("membership changed")) && attempt < 5 {
      continue
    }
    fail("\(what): \(message)", code: message.contains("designated") ? ExitStatus.noQuorum : ExitStatus.error)
  }
}

/// The configuration as a file: what `config backup` writes, `config restore` and `-f` read.
enum ConfigFile {
  static func read(_ path: String) -> ResourceConfiguration {
    guard let data = FileManager.default.contents(atPath: path) else {
      fail("cannot read \(path): no such file or not readable")
    }
    do {
      return try JSONDecoder().decode(ResourceConfiguration.self, from: data)
    } catch {
      fail("\(path) is not a swpcs configuration (write one with: swpcs config backup FILE)")
    }
  }

  static func write(_ config: ResourceConfiguration, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    var data = try encoder.encode(config)
    data.append(0x0A)
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  /// A status with no cluster around it: what an edit of a file needs.
  static func offlineStatus(_ path: String) -> ManagerStatus {
    let config = FileManager.default.fileExists(atPath: path) ? read(path) : ResourceConfiguration()
    return ManagerStatus(
      localNode: ProcessInfo.processInfo.hostName, dc: nil, quorate: false, members: [], joined: [],
      config: config, state: ClusterState(), transition: [], notes: [], recentFailures: [],
      lastChange: nil, connectedToCorosync: false)
  }
}

/// `k=v` arguments.
func parsePairs(_ args: [String], context: String) -> [(String, String)] {
  args.map { arg in
    guard let eq = arg.firstIndex(of: "="), eq != arg.startIndex else {
      fail("\(context): expected NAME=VALUE, got '\(arg)'")
    }
    return (String(arg[..<eq]), String(arg[arg.index(after: eq)...]))
  }
}

/// Parses a duration as pcs does: `10`, `10s`, `500ms`, `2min`, `1h` → milliseconds.
func parseInterval(_ text: String, context: String) -> Int {
  if let ms = parseIntervalMs(text) { return ms }
  fail("\(context): invalid duration '\(text)' (examples: 10s, 500ms, 2min)")
}

func parseIntervalMs(_ text: String) -> Int? {
  let t = text.lowercased()
  let units: [(String, Int)] = [
    ("ms", 1), ("msec", 1), ("min", 60_000), ("s", 1000), ("sec", 1000), ("m", 60_000), ("h", 3_600_000),
  ]
  if let v = Int(t), v >= 0 { return v * 1000 }
  for (suffix, factor) in units.sorted(by: { $0.0.count > $1.0.count }) where t.hasSuffix(suffix) {
    if let v = Int(t.dropLast(suffix.count)), v >= 0 { return v * factor }
  }
  return nil
}
