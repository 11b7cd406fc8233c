import Foundation
import ResourceExecutor
import ResourceModel

/// What the machine running the tests offers; suites that need more are skipped with a reason.
enum Host {
  static let dummyAgent = "/usr/lib/ocf/resource.d/heartbeat/Dummy"
  static let hasResourceAgents = FileManager.default.isExecutableFile(atPath: dummyAgent)
  static let isRoot = geteuid() == 0
  static let canMakeNetworkNamespaces =
    isRoot && hasResourceAgents && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/nsenter")
}

/// A private OCF_ROOT with agents written by the test; removed on deinit.
final class AgentSandbox {
  let root: String

  init() throws {
    var template = Array((FileManager.default.temporaryDirectory.path + "/ocf-test-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw SandboxError(reason: "mkdtemp failed") }
    root = String(cString: made)
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  /// Installs `script` as `ocf:test:TYPE`.
  @discardableResult
  func install(_ type: String, provider: String = "test", script: String, mode: Int = 0o755) throws
    -> AgentSpec
  {
    let directory = "\(root)/resource.d/\(provider)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = "\(directory)/\(type)"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return AgentSpec(standard: .ocf, provider: provider, type: type)
  }

  func path(_ name: String) -> String { "\(root)/\(name)" }

  func runner(grace: Duration = .seconds(2), outputLimit: Int = 4096) -> OCFRunner {
    OCFRunner(
      root: root, killGrace: grace, outputLimit: outputLimit, baseEnvironment: ["PATH": "/usr/bin:/bin"])
  }
}

struct SandboxError: Error {
  var reason: String
}

/// Processes of process group `group` that are still alive (zombies do not count: this machine's
/// init reaps orphans late).
func liveProcesses(inGroup group: Int32) -> [Int32] {
  guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
  return entries.compactMap { entry in
    guard let pid = Int32(entry),
      let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 3, fields[0] != "Z", fields[0] != "X", Int32(fields[2]) == group else { return nil }
    return pid
  }
}

/// The live members of a process group, after giving a just-killed group up to 3 s to go away
/// (SIGKILL is delivered at once, but a loaded machine takes a moment to tear processes down).
func survivors(ofGroup group: Int32) -> [Int32] {
  for _ in 0..<60 {
    if liveProcesses(inGroup: group).isEmpty { return [] }
    usleep(50_000)
  }
  return liveProcesses(inGroup: group)
}

/// Runs a helper command (ip, unshare, nsenter) for test set-up; throws on a non-zero exit.
@discardableResult
func shell(_ arguments: [String]) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: arguments[0])
  process.arguments = Array(arguments.dropFirst())
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw SandboxError(
      reason: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(output)")
  }
  return output
}
