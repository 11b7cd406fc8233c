import ControlClient
import ControlProtocol
import Foundation
import ResourceManager
import ResourceModel

/// The swpacemakerd socket: `SWPCS_SOCKET` overrides the default (tests, several nodes on one host).
let managerSocketPath = ProcessInfo.processInfo.environment["SWPCS_SOCKET"] ?? "/run/swpcs/swpcs.sock"
let corosyncSocketPathInUse =
  ProcessInfo.processInfo.environment["SWPCS_COROSYNC_SOCKET"] ?? corosyncSocketPath

/// Exit codes of every swpcs command (swpcs(8)).
enum ExitStatus {
  static let error: Int32 = 1
  static let notQuorate: Int32 = 2
  /// The daemon is not running on this node.
  static let notRunning: Int32 = 3
}

func managerRequest(_ request: ManagerRequest, timeout: Duration = .seconds(30)) -> ManagerResponse {
  do {
    let client = try UnixSocketClient(path: managerSocketPath, timeout: timeout)
    return try client.request(request, as: ManagerResponse.self)
  } catch .notRunning {
    fail(
      "swpacemakerd is not running on this node — start it with: systemctl start swpacemaker",
      code: ExitStatus.notRunning)
  } catch {
    fail(error.description)
  }
}

func managerStatus() -> ManagerStatus {
  let response = managerRequest(ManagerRequest(op: .status))
  guard response.ok, let status = response.status else {
    fail(response.error ?? "swpacemakerd sent no status")
  }
  return status
}

/// The configured node names (from swcorosync, which has cluster.conf).
func knownNodes(_ status: ManagerStatus) -> [String] {
  if let coro = try? UnixSocketClient(path: corosyncSocketPathInUse, timeout: .seconds(5)),
    let response = try? coro.request(CorosyncRequest(op: .status), as: CorosyncResponse.self),
    let nodes = response.status?.nodes
  {
    return nodes.map(\.name)
  }
  return Array(Set(status.members + status.state.nodes.map(\.name))).sorted()
}

/// Read the configuration, apply `edit`, send it back with the version read; retried when another
/// change got in between. The configuration version is unchanged when `edit` throws.
func editConfiguration(
  _ what: String, _ edit: (inout ResourceConfiguration, ManagerStatus) throws(ConfigEditError) -> Void
) {
  for attempt in 1...5 {
    let status = managerStatus()
    var config = status.config
    do {
      try edit(&config, status)
    } catch {
      fail(error.description)
    }
    if config == status.config { return }
    let response = managerRequest(
      ManagerRequest(op: .replaceConfig, config: config, baseVersion: status.config.version))
    if response.ok { return }
    let message = response.error ?? "the change was refused"
    if message.contains("changed meanwhile") && attempt < 5 { continue }
    fail("\(what): \(message)")
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
  let t = text.lowercased()
  let units: [(String, Int)] = [
    ("ms", 1), ("msec", 1), ("min", 60_000), ("s", 1000), ("sec", 1000), ("m", 60_000), ("h", 3_600_000),
  ]
  if let v = Int(t) { return v * 1000 }
  for (suffix, factor) in units.sorted(by: { $0.0.count > $1.0.count }) where t.hasSuffix(suffix) {
    if let v = Int(t.dropLast(suffix.count)) { return v * factor }
  }
  fail("\(context): invalid duration '\(text)' (examples: 10s, 500ms, 2min)")
}
