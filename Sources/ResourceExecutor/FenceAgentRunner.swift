import Foundation
import ResourceModel
import Synchronization

/// Runs fence agents the way fence-agents' `FenceAgentAPI` defines and Pacemaker's fencer uses them,
/// so Debian's `fence-agents` (and the project's `fence_swpcs_harness`) work unchanged.
///
/// The agent is `DIRECTORY/fence_X`, executed directly (never through a shell) with no arguments;
/// its parameters are `name=value` lines on stdin: `action=`, `nodename=` (the target), the target's
/// plug under the device's host argument (`port` by default, `plug` when the agent's metadata only
/// knows that, none for `pcmk_host_argument=none`), then the device's own attributes (the `pcmk_*`
/// ones are the cluster's and are not passed). Exit status 0 is success for off/on/reboot/monitor/
/// list; `status` exits 0 for on and 2 for off. A run that overruns its timeout is killed (SIGTERM,
/// then SIGKILL to its process group) and counts as a failure.
///
/// As an executor runner (`stonith:` resources) it registers the device on `start` (after a
/// successful `monitor`), unregisters on `stop`, answers probes from the registration, and runs the
/// agent's `monitor` for recurring monitors — what Pacemaker's executor does for fencing devices.
public struct FenceAgentRunner: ResourceAgentRunner {
  /// Where agents live (`/usr/sbin` on Debian). Tests point it at a temporary directory.
  public var directory: String
  public var killGrace: Duration
  public var baseEnvironment: [String: String]
  private let registry: DeviceRegistry

  public init(
    directory: String = "/usr/sbin", killGrace: Duration = .seconds(2),
    baseEnvironment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.directory = directory
    self.killGrace = killGrace
    self.baseEnvironment = baseEnvironment
    self.registry = DeviceRegistry()
  }

  /// One run of an agent.
  public struct Run: Sendable, Equatable {
    /// The exit status, or -1 when the agent did not exit on its own (timeout, signal, not started).
    public var exitStatus: Int
    /// done | timeout | error | not-installed
    public var status: String
    public var output: String
    public var errorOutput: String
    public var durationMs: Int
  }

  /// The result of one fence action of one device against one target.
  public struct FenceOutcome: Sendable, Equatable {
    public var ok: Bool
    public var exitStatus: Int
    /// done | timeout | error | not-installed | cannot-fence
    public var status: String
    public var output: String
    public var durationMs: Int
    /// Agent runs made (the action and its retries, plus a host check).
    public var runs: Int
  }

  /// `fence_X` under `directory`; nil for anything that is not a plain `fence_` name.
  public func executablePath(agent: String) -> String? {
    guard agent.hasPrefix("fence_"), !agent.contains("/"), agent.count > 6 else { return nil }
    return "\(directory)/\(agent)"
  }

  /// The stdin of one agent run, one `name=value` per line. Values with a newline cannot be passed.
  public static func input(
    action: String, target: String?, hostArgument: String?, plug: String?, attributes: [Attribute]
  ) -> String {
    var lines = ["action=\(action)"]
    if let target { lines.append("nodename=\(target)") }
    if let hostArgument, let plug { lines.append("\(hostArgument)=\(plug)") }
    for attribute in attributes
    where !attribute.name.hasPrefix("pcmk_") && attribute.name != "action" && attribute.name != hostArgument
      && !attribute.value.contains("\n") && !attribute.name.contains("=")
    {
      lines.append("\(attribute.name)=\(attribute.value)")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Runs `action` of `agent` once with `lines` on stdin.
  public func run(agent: String, input: String, timeoutMs: Int, outputLimit: Int = 8192) async -> Run {
    let started = ContinuousClock.now
    func finish(_ status: Int, _ text: String, _ output: String = "", _ error: String = "") -> Run {
      Run(
        exitStatus: status, status: text, output: output, errorOutput: error,
        durationMs: milliseconds(ContinuousClock.now - started))
    }
    guard let path = executablePath(agent: agent) else {
      return finish(-1, "not-installed", "", "invalid fence agent name '\(agent)'")
    }
    guard FileManager.default.isExecutableFile(atPath: path) else {
      return finish(-1, "not-installed", "", "\(path) not found")
    }
    var environment = baseEnvironment
    if environment["PATH"]?.isEmpty ?? true { environment["PATH"] = OCFRunner.defaultPath }
    let process = AgentProcess(
      executable: path, arguments: [], environment: environment.map { "\($0.key)=\($0.value)" }.sorted(),
      timeout: .milliseconds(max(1, timeoutMs)), killGrace: killGrace, outputLimit: outputLimit,
      standardInput: Array(input.utf8))
    do {
      let outcome = try await process.run()
      switch outcome.termination {
      case .exited(let status):
        return finish(Int(status), "done", outcome.stdout.text, outcome.stderr.text)
      case .signaled(let signal):
        return finish(
          -1, "error", outcome.stdout.text, outcome.stderr.text + "\nterminated by signal \(signal)")
      case .timedOut:
        return finish(
          -1, "timeout", outcome.stdout.text, outcome.stderr.text + "\ntimed out after \(timeoutMs) ms")
      }
    } catch {
      switch error {
      case .notFound(let message): return finish(-1, "not-installed", "", message)
      case .permissionDenied(let message), .failed(let message), .busy(let message):
        return finish(-1, "error", "", message)
      }
    }
  }

  /// The agent's metadata, cached per agent after the first read (an agent without usable
  /// metadata is remembered as such, so a broken agent costs the wait once).
  public func metadata(agent: String, timeoutMs: Int = 10_000) async -> FenceAgentMetadata? {
    if let cached = registry.metadata(agent) { return cached }
    let run = await run(
      agent: agent, input: "action=metadata\n", timeoutMs: timeoutMs, outputLimit: 1 << 20)
    let parsed = run.status == "done" && run.exitStatus == 0 ? FenceAgentMetadata(xml: run.output) : nil
    if run.status != "not-installed" { registry.setMetadata(agent, parsed) }
    return parsed
  }

  /// The attribute under which the agent takes the target's plug: `pcmk_host_argument`, else
  /// `port` — or `plug` when the metadata has only that — or nil (`none`, or neither is known).
  public func hostArgument(agent: String, attributes: [Attribute], timeoutMs: Int = 10_000) async -> String? {
    if let configured = attributes.last(where: { $0.name == "pcmk_host_argument" })?.value {
      return configured == "none" ? nil : configured
    }
    guard let metadata = await metadata(agent: agent, timeoutMs: timeoutMs) else { return "port" }
    let names = Set(metadata.parameters.map(\.name))
    if names.contains("port") { return "port" }
    if names.contains("plug") { return "plug" }
    return nil
  }

  /// Fences `target` with one device: checks that the device can reach it (`pcmk_host_check`
  /// dynamic-list / status), then runs `action` — retried up to `retries` times — within
  /// `timeoutMs` in total.
  public func fence(
    agent: String, attributes: [Attribute], target: String, action: String, timeoutMs: Int
  ) async -> FenceOutcome {
    let started = ContinuousClock.now
    func elapsed() -> Int { milliseconds(ContinuousClock.now - started) }
    // Metadata is normally cached when the device started; never let it eat the fence's time.
    let hostArgument = await hostArgument(
      agent: agent, attributes: attributes, timeoutMs: max(1, min(2000, timeoutMs / 4)))
    let map = Self.hostMap(attributes)
    let plug = map[target] ?? target
    var runs = 0
    let listed = attributes.contains { $0.name == "pcmk_host_list" || $0.name == "pcmk_host_map" }
    let check =
      attributes.last(where: { $0.name == "pcmk_host_check" })?.value
      ?? (listed ? "static-list" : "dynamic-list")
    switch check {
    case "dynamic-list":
      let run = await run(
        agent: agent,
        input: Self.input(action: "list", target: nil, hostArgument: nil, plug: nil, attributes: attributes),
        timeoutMs: timeoutMs)
      runs += 1
      if run.status == "done" && run.exitStatus == 0 {
        let names = run.output.split(separator: "\n").flatMap { $0.split(separator: ",").map(String.init) }
          .map { $0.trimmingCharacters(in: .whitespaces) }
        if !names.contains(plug) && !names.contains(target) {
          return FenceOutcome(
            ok: false, exitStatus: 0, status: "cannot-fence",
            output: "\(target) is not in the device's list (\(names.joined(separator: " ")))",
            durationMs: elapsed(), runs: runs)
        }
      }
    // An agent without `list` cannot narrow its targets: Pacemaker then assumes it can fence any.
    case "status":
      let run = await run(
        agent: agent,
        input: Self.input(
          action: "status", target: target, hostArgument: hostArgument, plug: plug, attributes: attributes),
        timeoutMs: timeoutMs)
      runs += 1
      if !(run.status == "done" && (run.exitStatus == 0 || run.exitStatus == 2)) {
        return FenceOutcome(
          ok: false, exitStatus: run.exitStatus, status: "cannot-fence",
          output: "status of \(target) failed: \(run.status) \(run.errorOutput)", durationMs: elapsed(),
          runs: runs)
      }
    default:
      break
    }
    let retries = max(
      1, Int(attributes.last(where: { $0.name == "pcmk_\(action)_retries" })?.value ?? "") ?? 2)
    var last: Run?
    for _ in 0..<retries {
      let remaining = timeoutMs - elapsed()
      guard remaining > 0 else { break }
      let run = await run(
        agent: agent,
        input: Self.input(
          action: action, target: target, hostArgument: hostArgument, plug: plug, attributes: attributes),
        timeoutMs: remaining)
      runs += 1
      last = run
      if run.status == "done" && run.exitStatus == 0 {
        return FenceOutcome(
          ok: true, exitStatus: 0, status: "done", output: run.output + run.errorOutput,
          durationMs: elapsed(),
          runs: runs)
      }
      if run.status == "not-installed" || run.status == "timeout" { break }
    }
    return FenceOutcome(
      ok: false, exitStatus: last?.exitStatus ?? -1, status: last?.status ?? "timeout",
      output: ((last?.output ?? "") + (last?.errorOutput ?? "")).trimmingCharacters(
        in: .whitespacesAndNewlines),
      durationMs: elapsed(), runs: runs)
  }

  /// `pcmk_host_map` as target → plug (`n1:p1;n2:p2`).
  public static func hostMap(_ attributes: [Attribute]) -> [String: String] {
    guard let text = attributes.last(where: { $0.name == "pcmk_host_map" })?.value else { return [:] }
    var map: [String: String] = [:]
    for entry in text.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == " " }) {
      let parts = entry.split(whereSeparator: { $0 == ":" || $0 == "=" }).map(String.init)
      if parts.count == 2 { map[parts[0]] = parts[1] }
    }
    return map
  }

  // MARK: - The device as a resource

  public func run(_ request: OperationRequest) async -> OperationResult {
    let agent = request.agent.type
    let device = request.resource
    switch (request.action, request.intervalMs) {
    case ("meta-data", _):
      let run = await run(
        agent: agent, input: "action=metadata\n", timeoutMs: request.effectiveTimeoutMs, outputLimit: 1 << 20)
      return result(run, success: run.exitStatus == 0)
    case ("stop", _):
      registry.unregister(device)
      return OperationResult(rc: .success)
    case ("monitor", 0):
      return OperationResult(rc: registry.isRegistered(device) ? .success : .notRunning)
    case ("start", _), ("monitor", _):
      if request.action == "monitor" && !registry.isRegistered(device) {
        return OperationResult(rc: .notRunning)
      }
      let run = await run(
        agent: agent,
        input: Self.input(
          action: "monitor", target: nil, hostArgument: nil, plug: nil, attributes: request.attributes),
        timeoutMs: request.effectiveTimeoutMs)
      let ok = run.status == "done" && run.exitStatus == 0
      if request.action == "start" && ok {
        registry.register(device)
        _ = await metadata(agent: agent)
      }
      return result(run, success: ok)
    default:
      return OperationResult(
        rc: .unimplemented, status: .error("fencing devices have no \(request.action) action"))
    }
  }

  private func result(_ run: Run, success: Bool) -> OperationResult {
    var result = OperationResult(
      rc: success ? .success : .genericError, output: run.output, errorOutput: run.errorOutput)
    result.durationMs = run.durationMs
    switch run.status {
    case "timeout": result.status = .timedOut
    case "not-installed":
      result.status = .notInstalled
      result.rc = .notInstalled
    case "error": result.status = .error(run.errorOutput)
    default: result.exitStatus = run.exitStatus
    }
    return result
  }
}

/// What `action=metadata` says about an agent (for `swpcs stonith describe` and the host argument).
public struct FenceAgentMetadata: Sendable, Equatable {
  public struct Parameter: Sendable, Equatable {
    public var name: String
    public var required: Bool
    public var type: String
    public var defaultValue: String?
    public var shortDescription: String
  }
  public var name: String
  public var shortDescription: String
  public var longDescription: String
  public var parameters: [Parameter]
  public var actions: [String]

  /// Parses the `<resource-agent>` document; nil when it is not one.
  public init?(xml: String) {
    let tags = XMLScanner.scan(xml)
    guard let root = tags.first(where: { $0.name == "resource-agent" }) else { return nil }
    name = root.attributes["name"] ?? ""
    shortDescription = root.attributes["shortdesc"] ?? ""
    longDescription = ""
    parameters = []
    actions = []
    var current: Parameter?
    var inParameter = false
    for tag in tags {
      switch tag.name {
      case "longdesc" where !inParameter && !tag.closing && longDescription.isEmpty:
        longDescription = tag.text
      case "parameter" where !tag.closing:
        current = Parameter(
          name: tag.attributes["name"] ?? "", required: tag.attributes["required"] == "1", type: "string",
          defaultValue: nil, shortDescription: "")
        inParameter = !tag.selfClosing
        if tag.selfClosing, let p = current { parameters.append(p) }
      case "parameter" where tag.closing:
        if let p = current { parameters.append(p) }
        current = nil
        inParameter = false
      case "content" where inParameter:
        current?.type = tag.attributes["type"] ?? "string"
        current?.defaultValue = tag.attributes["default"]
      case "shortdesc" where inParameter && !tag.closing:
        if current?.shortDescription.isEmpty == true { current?.shortDescription = tag.text }
      case "action" where !tag.closing:
        if let action = tag.attributes["name"] { actions.append(action) }
      default:
        break
      }
    }
  }
}

/// Just enough XML for agent metadata: tags with attributes, and the text right after each tag.
enum XMLScanner {
  struct Tag {
    var name: String
    var attributes: [String: String]
    var closing: Bool
    var selfClosing: Bool
    var text: String
  }

  static func scan(_ xml: String) -> [Tag] {
    var tags: [Tag] = []
    var rest = Substring(xml)
    while let open = rest.firstIndex(of: "<") {
      if !tags.isEmpty { tags[tags.count - 1].text = unescape(String(rest[..<open])).trimmed }
      guard let close = rest[open...].firstIndex(of: ">") else { break }
      var body = rest[rest.index(after: open)..<close]
      rest = rest[rest.index(after: close)...]
      if body.hasPrefix("?") || body.hasPrefix("!") { continue }
      let closing = body.hasPrefix("/")
      if closing { body = body.dropFirst() }
      let selfClosing = body.hasSuffix("/")
      if selfClosing { body = body.dropLast() }
      let name = String(body.prefix { !$0.isWhitespace })
      var attributes: [String: String] = [:]
      var scan = body.dropFirst(name.count)
      while let eq = scan.firstIndex(of: "=") {
        let key = scan[..<eq].trimmingCharacters(in: .whitespacesAndNewlines)
        var after = scan[scan.index(after: eq)...].drop { $0.isWhitespace }
        guard let quote = after.first, quote == "\"" || quote == "'" else { break }
        after = after.dropFirst()
        guard let end = after.firstIndex(of: quote) else { break }
        attributes[key] = unescape(String(after[..<end]))
        scan = after[after.index(after: end)...]
      }
      tags.append(
        Tag(name: name, attributes: attributes, closing: closing, selfClosing: selfClosing, text: ""))
    }
    return tags
  }

  static func unescape(_ text: String) -> String {
    text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
      .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
      .replacingOccurrences(of: "&amp;", with: "&")
  }
}

extension String {
  fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Devices started on this node, and agents' parsed metadata.
private final class DeviceRegistry: Sendable {
  private let state = Mutex<(devices: Set<String>, metadata: [String: FenceAgentMetadata?])>(([], [:]))
  func register(_ device: String) { state.withLock { _ = $0.devices.insert(device) } }
  func unregister(_ device: String) { state.withLock { _ = $0.devices.remove(device) } }
  func isRegistered(_ device: String) -> Bool { state.withLock { $0.devices.contains(device) } }
  func metadata(_ agent: String) -> FenceAgentMetadata?? { state.withLock { $0.metadata[agent] } }
  func setMetadata(_ agent: String, _ value: FenceAgentMetadata?) {
    state.withLock { $0.metadata[agent] = .some(value) }
  }
}
