import Foundation
import ResourceModel

/// A unit the cluster started here that failed, stopped or disappeared without being asked to.
///
/// Reported the moment systemd says so (its `PropertiesChanged`/`UnitRemoved` signals), so recovery
/// need not wait for the next recurring monitor; the monitor remains the safety net for anything a
/// lost signal hides.
public struct UnitFailure: Sendable, Equatable, Codable {
  public enum Kind: String, Sendable, Codable {
    /// `ActiveState=failed` (crashed, killed, exited non-zero).
    case failed
    /// `ActiveState=inactive`: stopped behind the cluster's back (`systemctl stop`).
    case stopped
    /// The unit was unloaded or its file is gone.
    case vanished
  }
  public var resource: String
  public var unit: String
  public var kind: Kind
  public var activeState: String
  public var subState: String
  /// Wall-clock time of detection (for logs and latency measurements).
  public var detectedAt: Date
}

/// Runs `systemd:` (and `service:`) resources through systemd's D-Bus API on the node's system bus,
/// as Pacemaker does, and watches the units it started.
///
/// - start: `LoadUnit` (a unit without a file is "not installed"), the cluster drop-in
///   (``SystemdUnit/dropInContent(for:)``) and an awaited `Reload` if it changed, `StartUnit` completed
///   by its `JobRemoved` signal, then `ActiveState` confirmed (activating is waited out up to the
///   timeout). From then on the unit is watched: see ``failures``.
/// - stop: the watch ends first, then `StopUnit` and its job, `ActiveState` confirmed inactive or
///   failed, and the drop-in removed (with `Reload`). Stopping a unit systemd does not know succeeds.
/// - monitor: `ActiveState` (active/reloading → 0, activating/deactivating → looked at again until
///   the timeout, anything else → 7; a unit without a file → 5). A successful recurring monitor
///   (interval > 0) also (re)starts the watch, so units adopted after an executor restart are watched
///   too.
///
/// Operations on one unit are serialized (see ``run(_:)``). The timeout bounds the whole operation.
/// When the bus drops, the operation is retried on the new connection until its timeout (start and
/// stop are idempotent in systemd).
public final class SystemdRunner: ResourceAgentRunner {
  private let bus: SystemdBus
  private let queue = OperationQueue()
  /// Where drop-ins go (`/run/systemd/system`).
  public let runtimeDirectory: String

  /// Connects to `busAddress` (a D-Bus address such as `unix:path=/run/dbus/system_bus_socket`), or to
  /// the system bus (`DBUS_SYSTEM_BUS_ADDRESS` is honoured). The connection is made, and remade, in the
  /// background: operations wait for it up to their timeout.
  public init(busAddress: String? = nil, runtimeDirectory: String = "/run/systemd/system")
    throws(ExecutorSetupError)
  {
    bus = try SystemdBus(address: busAddress)
    self.runtimeDirectory = runtimeDirectory
  }

  deinit { bus.shutdown() }

  /// Failures of watched units, as they happen. One consumer; events beyond 1024 unconsumed ones
  /// drop the oldest.
  public var failures: AsyncStream<UnitFailure> { bus.failures }

  /// Closes the bus; later operations fail and ``failures`` ends.
  public func shutdown() { bus.shutdown() }

  /// Watched units by resource.
  public func watchedUnits() async -> [String: String] { await bus.watchedUnits() }

  /// Connections made so far (more than 1 means the executor reconnected).
  public func connectionCount() async -> Int { await bus.connectionCount() }

  /// Operations on one unit run one at a time, in arrival order, whoever calls: a stop never
  /// interleaves with a start of the same unit (it follows it, and cancels its job if the start gave
  /// up at its timeout). As in Pacemaker, the timeout (and `durationMs`) counts from the moment the
  /// operation leaves the queue.
  public func run(_ request: OperationRequest) async -> OperationResult {
    let key = SystemdUnit.name(forAgentType: request.agent.type) ?? request.agent.type
    return await queue.run(key) { await self.execute(request) }
  }

  private func execute(_ request: OperationRequest) async -> OperationResult {
    let started = ContinuousClock.now
    var operation = UnitOperation(
      request: request, unit: SystemdUnit.name(forAgentType: request.agent.type) ?? "",
      deadline: started + .milliseconds(request.effectiveTimeoutMs))
    var result: OperationResult
    if operation.unit.isEmpty {
      result = OperationResult(
        rc: .notInstalled, status: .notInstalled,
        output: "invalid unit name \(request.agent.type.debugDescription)")
    } else {
      result = await perform(&operation)
    }
    result.durationMs = milliseconds(ContinuousClock.now - started)
    if result.output.isEmpty { result.output = operation.log.joined(separator: "\n") }
    return result
  }

  private func perform(_ operation: inout UnitOperation) async -> OperationResult {
    while true {
      do throws(BusError) {
        switch operation.request.action {
        case "start": return try await start(&operation)
        case "stop": return try await stop(&operation)
        case "monitor", "status": return try await monitor(&operation)
        case "meta-data": return try await metadata(&operation)
        case "reset-failed":
          // `swpcs resource cleanup`: forget systemd's failed state too (ResetFailedUnit); a unit
          // systemd does not know has nothing to forget.
          do {
            try await bus.call(
              MethodCall(member: "ResetFailedUnit", arguments: [operation.unit]), deadline: operation.deadline
            ) { _ throws(BusError) in () }
          } catch {
            operation.note("ResetFailedUnit: \(error)")
          }
          return OperationResult(rc: .success, output: operation.log.joined(separator: "\n"))
        case "validate-all":
          let (_, properties) = try await load(&operation)
          return notInstalled(properties, &operation) ?? OperationResult(rc: .success)
        default:
          return OperationResult(
            rc: .unimplemented, output: "systemd units do not implement \(operation.request.action)")
        }
      } catch {
        switch error {
        case .timedOut:
          operation.note("timed out")
          return OperationResult(rc: .genericError, status: .timedOut)
        case .disconnected, .method("org.freedesktop.DBus.Error.ServiceUnknown", _),
          .method("org.freedesktop.DBus.Error.NameHasNoOwner", _):
          // The bus or systemd is going or coming back: retry the whole (idempotent) operation.
          guard ContinuousClock.now < operation.deadline else {
            return OperationResult(rc: .genericError, status: .error("\(error)"))
          }
          operation.note("\(error); retrying")
          try? await Task.sleep(for: .milliseconds(100))
        case .method(let name, let message):
          operation.note("\(name): \(message)")
          return Self.result(forError: name, message: message)
        case .malformedReply, .shutDown:
          return OperationResult(rc: .genericError, status: .error("\(error)"))
        }
      }
    }
  }

  /// The result for a D-Bus error from systemd.
  static func result(forError name: String, message: String) -> OperationResult {
    switch name {
    case "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed",
      "org.freedesktop.systemd1.UnitMasked", "org.freedesktop.DBus.Error.InvalidArgs":
      OperationResult(rc: .notInstalled, status: .notInstalled, output: message)
    case "org.freedesktop.DBus.Error.AccessDenied",
      "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
      OperationResult(rc: .insufficientPrivileges, status: .error(message))
    default:
      OperationResult(rc: .genericError, status: .error("\(name): \(message)"))
    }
  }

  // MARK: Actions

  private func start(_ operation: inout UnitOperation) async throws(BusError) -> OperationResult {
    let unit = operation.unit
    let (path, properties) = try await load(&operation)
    if let missing = notInstalled(properties, &operation) { return missing }
    do {
      if try writeDropIn(for: unit) {
        operation.note(
          "drop-in \(SystemdUnit.dropInPath(for: unit, runtimeDirectory: runtimeDirectory)) written")
        try await reload(&operation)
      }
    } catch let error as BusError {
      throw error
    } catch {
      return OperationResult(rc: .genericError, status: .error("cannot write the drop-in: \(error)"))
    }
    let outcome = try await bus.runJob(
      MethodCall(member: "StartUnit", arguments: [unit, "replace"]), deadline: operation.deadline)
    operation.note("StartUnit: job \(outcome)")
    if case .finished(let result) = outcome, result != "done" {
      let detail = result == "canceled" ? nil : try? await failureDetail(path, &operation)
      return OperationResult(
        rc: .genericError,
        output: "start job for \(unit) finished: \(result)\(detail.map { "; \($0)" } ?? "")")
    }
    await bus.watch(unit: unit, path: path, resource: operation.request.resource)
    let (state, now) = try await settle(path, &operation)
    guard state == .running else {
      await bus.unwatch(unit: unit)
      let detail = try? await failureDetail(path, &operation)
      return OperationResult(
        rc: .genericError,
        output: "\(unit) is \(now["ActiveState"] ?? "?") (\(now["SubState"] ?? "?")) after start"
          + (detail.map { "; \($0)" } ?? ""))
    }
    await bus.arm(path: path)
    return OperationResult(rc: .success)
  }

  private func stop(_ operation: inout UnitOperation) async throws(BusError) -> OperationResult {
    let unit = operation.unit
    await bus.unwatch(unit: unit)
    let (path, properties) = try await load(&operation)
    if properties["LoadState"] == "not-found" {
      operation.note("\(unit) not found: nothing to stop")
      try await removeDropIn(&operation)
      return OperationResult(rc: .success)
    }
    let outcome: JobOutcome
    do throws(BusError) {
      outcome = try await bus.runJob(
        MethodCall(member: "StopUnit", arguments: [unit, "replace"]), deadline: operation.deadline)
    } catch .method("org.freedesktop.systemd1.NoSuchUnit", _) {
      operation.note("\(unit) vanished: nothing to stop")
      try await removeDropIn(&operation)
      return OperationResult(rc: .success)
    }
    operation.note("StopUnit: job \(outcome)")
    if outcome == .finished("canceled") {
      // Only a start queued by someone else replaces our stop job: the unit is coming back up.
      return OperationResult(
        rc: .genericError, output: "stop job for \(unit) canceled: the unit is being started")
    }
    let (state, now) = try await settle(path, &operation)
    guard state == .notRunning else {
      return OperationResult(
        rc: .genericError, output: "\(unit) is still \(now["ActiveState"] ?? "?") after stop (job \(outcome))"
      )
    }
    try await removeDropIn(&operation)
    return OperationResult(rc: .success)
  }

  private func monitor(_ operation: inout UnitOperation) async throws(BusError) -> OperationResult {
    let (path, properties) = try await load(&operation)
    if let missing = notInstalled(properties, &operation) { return missing }
    let (state, now) = try await settle(path, &operation, initial: properties)
    let description = "\(now["ActiveState"] ?? "?") (\(now["SubState"] ?? "?"))"
    guard state == .running else { return OperationResult(rc: .notRunning, output: description) }
    if operation.request.intervalMs > 0 {
      await bus.watch(unit: operation.unit, path: path, resource: operation.request.resource)
      await bus.arm(path: path)
    }
    return OperationResult(rc: .success, output: description)
  }

  private func metadata(_ operation: inout UnitOperation) async throws(BusError) -> OperationResult {
    let (_, properties) = try await load(&operation)
    if let missing = notInstalled(properties, &operation) { return missing }
    return OperationResult(
      rc: .success,
      output: Self.metadataXML(unit: operation.unit, description: properties["Description"] ?? operation.unit)
    )
  }

  /// Agent metadata for a unit, in the shape Pacemaker generates for systemd resources.
  static func metadataXML(unit: String, description: String) -> String {
    let name = escapeXML(unit)
    return """
      <?xml version="1.0"?>
      <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
      <resource-agent name="\(name)" version="1.0">
        <version>1.1</version>
        <longdesc lang="en">\(escapeXML(description))</longdesc>
        <shortdesc lang="en">systemd unit file for \(name)</shortdesc>
        <parameters/>
        <actions>
          <action name="start" timeout="100s"/>
          <action name="stop" timeout="100s"/>
          <action name="status" timeout="100s"/>
          <action name="monitor" timeout="100s" interval="60s"/>
          <action name="meta-data" timeout="5s"/>
        </actions>
        <special tag="systemd"/>
      </resource-agent>

      """
  }

  // MARK: Steps

  /// `LoadUnit` and the unit's string properties.
  private func load(_ operation: inout UnitOperation) async throws(BusError) -> (String, [String: String]) {
    let path = try await bus.call(
      MethodCall(member: "LoadUnit", arguments: [operation.unit]), deadline: operation.deadline
    ) { message throws(BusError) in try readString(message, "o") }
    let properties = try await unitProperties(path, deadline: operation.deadline)
    operation.note(
      "\(operation.unit): \(properties["LoadState"] ?? "?"), \(properties["ActiveState"] ?? "?") "
        + "(\(properties["SubState"] ?? "?"))")
    return (path, properties)
  }

  private func notInstalled(_ properties: [String: String], _ operation: inout UnitOperation)
    -> OperationResult?
  {
    switch properties["LoadState"] {
    case "loaded": return nil
    case let state?:
      return OperationResult(
        rc: .notInstalled, status: .notInstalled, output: "\(operation.unit) is \(state) (LoadState)")
    case nil:
      return OperationResult(rc: .genericError, status: .error("\(operation.unit) has no LoadState"))
    }
  }

  private func unitProperties(
    _ path: String, deadline: ContinuousClock.Instant, interface: String = SystemdBus.unitInterface
  ) async throws(BusError) -> [String: String] {
    try await bus.call(
      MethodCall(
        path: path, interface: "org.freedesktop.DBus.Properties", member: "GetAll", arguments: [interface]),
      deadline: deadline
    ) { message throws(BusError) in try readStringProperties(message) }
  }

  /// Reads ActiveState until it is not in transition (or the operation times out).
  private func settle(
    _ path: String, _ operation: inout UnitOperation, initial: [String: String]? = nil
  ) async throws(BusError) -> (UnitActiveState.Verdict, [String: String]) {
    var properties = initial
    var pause = Duration.milliseconds(20)
    while true {
      let now: [String: String]
      if let properties {
        now = properties
      } else {
        now = try await unitProperties(path, deadline: operation.deadline)
      }
      properties = nil
      let verdict = now["ActiveState"].flatMap(UnitActiveState.init(rawValue:))?.verdict ?? .notRunning
      if verdict != .pending { return (verdict, now) }
      guard ContinuousClock.now + pause < operation.deadline else { throw .timedOut }
      try? await Task.sleep(for: pause)
      pause = min(pause * 2, .milliseconds(500))
    }
  }

  /// `Result` (and exit status) of a failed service, for the operation's output.
  private func failureDetail(_ path: String, _ operation: inout UnitOperation) async throws(BusError)
    -> String?
  {
    guard operation.unit.hasSuffix(".service") else { return nil }
    let service = try await unitProperties(
      path, deadline: operation.deadline, interface: "org.freedesktop.systemd1.Service")
    return service["Result"].map { "Result=\($0)" }
  }

  private func reload(_ operation: inout UnitOperation) async throws(BusError) {
    try await bus.call(MethodCall(member: "Reload"), deadline: operation.deadline) { _ throws(BusError) in ()
    }
    operation.note("Reload done")
  }

  /// Writes the drop-in if it is missing or different; true when it changed.
  private func writeDropIn(for unit: String) throws -> Bool {
    let path = SystemdUnit.dropInPath(for: unit, runtimeDirectory: runtimeDirectory)
    let content = SystemdUnit.dropInContent(for: unit)
    if (try? String(contentsOfFile: path, encoding: .utf8)) == content { return false }
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data(content.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    return true
  }

  /// Removes the drop-in (and its directory if empty) and reloads, if there was one.
  private func removeDropIn(_ operation: inout UnitOperation) async throws(BusError) {
    let path = SystemdUnit.dropInPath(for: operation.unit, runtimeDirectory: runtimeDirectory)
    guard FileManager.default.fileExists(atPath: path) else { return }
    try? FileManager.default.removeItem(atPath: path)
    let directory = (path as NSString).deletingLastPathComponent
    if (try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true {
      try? FileManager.default.removeItem(atPath: directory)
    }
    operation.note("drop-in removed")
    try await reload(&operation)
  }
}

/// One systemd operation in progress: its unit, deadline and a step log that becomes the output.
private struct UnitOperation {
  let request: OperationRequest
  let unit: String
  let deadline: ContinuousClock.Instant
  var log: [String] = []

  mutating func note(_ line: String) {
    if log.count < 64 { log.append(line) }
  }
}

extension JobOutcome: CustomStringConvertible {
  var description: String {
    switch self {
    case .finished(let result): result
    case .lost: "lost (bus or systemd restarted)"
    }
  }
}

func escapeXML(_ text: String) -> String {
  var out = ""
  for character in text {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    default: out.append(character)
    }
  }
  return out
}
