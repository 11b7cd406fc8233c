import ResourceModel

/// One `lrm_rsc_op` entry of a resource's history on a node.
struct OperationRecord: Sendable {
  var id: String
  /// The action: start, stop, monitor, promote, demote, notify, migrate_to, ...
  var task: String
  var intervalMs: Int
  /// Executor call id; -1 while pending.
  var callID: Int
  /// The agent's exit code (`rc-code`).
  var rc: Int
  /// The executor's status (`op-status`): -1 pending, 0 done, 1 cancelled, 2 timeout, 3 unsupported,
  /// 4 error, 5 hard error, 6 fatal error, 7 not installed, 8 not connected, 9 invalid,
  /// 10 no fence device, 11 no secrets.
  var status: Int
  /// The rc the DC expected, from `transition-key`; -1 when the key has none (very old CIBs).
  var expectedRC: Int
  /// `operation_key` (`rsc_monitor_10000`), or the id in pre-1.1.6 histories.
  var key: String
  var lastRCChange: Int64?
  /// Transition UUID and number from `transition-magic`, to order a pending entry.
  var magic: (uuid: String, transition: Int)?

  var isProbe: Bool { task == "monitor" && intervalMs == 0 }

  /// A probe whose result means "cannot run here" rather than "failed": not installed or invalid
  /// parameters. Pacemaker treats it as stopped and bans the resource from the node.
  var masksProbeFailure: Bool { isProbe && (rc == 5 || rc == 2 || status == 7) }

  /// The key the model uses for an operation: `monitor_10000`.
  var modelKey: String { "\(task)_\(intervalMs)" }

  init?(_ element: XElement) {
    guard let id = element.id, let task = element["operation"] else { return nil }
    guard let status = element["op-status"].flatMap({ Int($0) }),
      let rc = element["rc-code"].flatMap({ Int($0) })
    else { return nil }
    self.id = id
    self.task = task
    self.intervalMs = element["interval"].flatMap { Int($0) } ?? 0
    self.callID = element["call-id"].flatMap { Int($0) } ?? -1
    self.rc = rc
    self.status = status
    self.expectedRC = element["transition-key"].flatMap(Self.expectedRC(transitionKey:)) ?? -1
    let key = element["operation_key"] ?? ""
    self.key = key.isEmpty ? id : key
    self.lastRCChange = (element["last-rc-change"] ?? element["last_rc_change"]).flatMap { Int64($0) }
    self.magic = element["transition-magic"].flatMap(Self.magic)
  }

  /// `action:transition:expected-rc:uuid` (older keys have no expected rc).
  static func expectedRC(transitionKey: String) -> Int? {
    let parts = transitionKey.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count >= 4 else { return nil }
    return Int(parts[2])
  }

  /// `op-status:rc;action:transition:expected-rc:uuid`.
  static func magic(_ text: String) -> (uuid: String, transition: Int)? {
    guard let semicolon = text.firstIndex(of: ";") else { return nil }
    let parts = text[text.index(after: semicolon)...].split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count >= 4, let transition = Int(parts[1]) else { return nil }
    return (String(parts[3...].joined(separator: ":")), transition)
  }

  /// Pacemaker's history order (`pe__is_newer_op` for one node): by call id, entries with the same
  /// call id by `last-rc-change`, pending entries (call id -1) by transition. Returns -1, 0 or 1.
  static func compare(_ a: OperationRecord, _ b: OperationRecord) -> Int {
    if a.id == b.id { return 0 }
    if a.callID == -1 && b.callID == -1 { return 0 }
    if a.callID >= 0 && a.callID < b.callID { return -1 }
    if b.callID >= 0 && a.callID > b.callID { return 1 }
    if a.callID >= 0 && b.callID >= 0 {
      let la = a.lastRCChange ?? -1
      let lb = b.lastRCChange ?? -1
      if la >= 0 && la < lb { return -1 }
      if lb >= 0 && la > lb { return 1 }
      return 0
    }
    guard let ma = a.magic, let mb = b.magic else { return 0 }
    if ma.uuid.lowercased() != mb.uuid.lowercased() || ma.transition == mb.transition {
      if b.callID == -1 { return -1 }
      if a.callID == -1 { return 1 }
    } else if (ma.transition >= 0 && ma.transition < mb.transition) || mb.transition == -1 {
      return -1
    } else if (mb.transition >= 0 && ma.transition > mb.transition) || ma.transition == -1 {
      return 1
    }
    return 0
  }

  /// Pacemaker's `calculate_active_ops` over a sorted history: the index of the last start (or of
  /// what implies one: a promote or demote, else a successful monitor since the last stop) and of the
  /// last successful stop; -1 when there is none.
  static func activeRange(_ sorted: [OperationRecord]) -> (start: Int, stop: Int) {
    var start = -1
    var stop = -1
    var impliedMonitorStart = -1
    var impliedCloneStart = -1
    for (i, record) in sorted.enumerated() {
      if record.task == "stop" && record.status == 0 {
        stop = i
      } else if record.task == "start" || record.task == "migrate_from" {
        start = i
      } else if impliedMonitorStart <= stop && record.task == "monitor" {
        if record.rc == 0 || record.rc == 8 { impliedMonitorStart = i }
      } else if record.task == "promote" || record.task == "demote" {
        impliedCloneStart = i
      }
    }
    if start == -1 { start = impliedCloneStart != -1 ? impliedCloneStart : impliedMonitorStart }
    return (start, stop)
  }

  /// A stable sort by `compare` (the comparison is not a strict weak order, so this mirrors the
  /// merge of a stable sort rather than relying on `sort(by:)`).
  static func sorted(_ records: [OperationRecord]) -> [OperationRecord] { sorted(records, by: \.self) }

  /// Values sorted by the records they carry, as `sorted(_:)`.
  static func sorted<T>(_ values: [T], by record: (T) -> OperationRecord) -> [T] {
    var result: [T] = []
    for value in values {
      var position = result.count
      while position > 0 && compare(record(result[position - 1]), record(value)) > 0 { position -= 1 }
      result.insert(value, at: position)
    }
    return result
  }
}

/// How a failed action is handled (Pacemaker's `on-fail`), in increasing severity: a later failure
/// only ever raises it.
enum FailureHandling: Int, Comparable, Sendable {
  case ignore, demote, restart, resetRemote, restartContainer, ban, block, stop, standby, fence

  static func < (a: FailureHandling, b: FailureHandling) -> Bool { a.rawValue < b.rawValue }

  var name: String {
    switch self {
    case .ignore: "ignore"
    case .demote: "demote"
    case .restart: "restart"
    case .resetRemote: "reset-remote"
    case .restartContainer: "restart-container"
    case .ban: "ban"
    case .block: "block"
    case .stop: "stop"
    case .standby: "standby"
    case .fence: "fence"
    }
  }
}

/// A resource's role on a node while its history is replayed, ordered as Pacemaker orders roles.
enum HistoryRole: Int, Comparable, Sendable {
  case unknown, stopped, started, unpromoted, promoted

  static func < (a: HistoryRole, b: HistoryRole) -> Bool { a.rawValue < b.rawValue }

  var model: ResourceNodeState.Role {
    switch self {
    case .unknown: .unknown
    case .stopped: .stopped
    case .started: .started
    case .unpromoted: .unpromoted
    case .promoted: .promoted
    }
  }
}

/// The node facts that history interpretation depends on.
struct NodeContext {
  var name: String
  var online: Bool
  var unclean: Bool
  var maintenance: Bool
  /// Pacemaker's `pe_can_fence`: fencing is enabled, a device (or watchdog) exists, and the
  /// partition has quorum (or ignores its loss) or the node is online.
  var canFence: Bool
}

/// Replays one resource's operation history on one node, as Pacemaker's `unpack_lrm_resource`
/// does: the resulting role, whether a failure still needs handling and how, monitors in place.
///
/// Pure: all inputs are values (the configured resource, the node, "now", the node's fail counts).
struct HistoryInterpreter {
  let entry: ResourceIndex.Entry
  let index: ResourceIndex
  let operationDefaults: [String: String]
  let node: NodeContext
  let now: Int64
  /// Fail counts on this node: attribute resource name → (operation key → count), and last failures.
  let failCounts: [String: [String: Int]]
  let lastFailures: [String: Int64]
  /// Pacemaker stops honouring failure-timeout for a resource once a failure that blocks it is
  /// seen; carried across nodes by the caller.
  var failureTimeoutDisabled: Bool
  /// The resource became unmanaged because of a failure nothing can recover (a failed stop that
  /// cannot be fenced); carried across nodes by the caller.
  var blocked: Bool

  private(set) var role = HistoryRole.unknown
  private(set) var handling = FailureHandling.ignore
  private(set) var lastFailure: OperationRecord?
  private(set) var stopFailed = false
  private(set) var hardError = false
  private(set) var fatalError = false
  private(set) var pending: String?
  private(set) var failedOperation: String?
  private(set) var activeMonitors: [String] = []
  /// What the digest comparison needs to know of the replay (`DefinitionCheck`).
  private(set) var digestReplay = DefinitionCheck.Replay()

  init(
    entry: ResourceIndex.Entry, index: ResourceIndex, operationDefaults: [String: String], node: NodeContext,
    now: Int64, failCounts: [String: [String: Int]], lastFailures: [String: Int64],
    failureTimeoutDisabled: Bool,
    blocked: Bool
  ) {
    self.entry = entry
    self.index = index
    self.operationDefaults = operationDefaults
    self.node = node
    self.now = now
    self.failCounts = failCounts
    self.lastFailures = lastFailures
    self.failureTimeoutDisabled = failureTimeoutDisabled
    self.blocked = blocked
  }

  private var promotable: Bool { entry.clone?.promotable ?? false }
  /// Pacemaker's "managed" flag as history replay changes it.
  var managed: Bool { index.isManaged(entry) && !blocked }
  private var baseName: String { entry.primitive.id }

  private mutating func setActive() { role = promotable ? .unpromoted : .started }

  /// Replays the history (in any order; it is sorted here).
  mutating func replay(_ records: [OperationRecord]) {
    let sorted = OperationRecord.sorted(records)
    for record in sorted { unpack(record) }
    activeMonitors = Self.activeMonitors(sorted, nodeOnline: node.online)
  }

  /// A pending start followed by a completed stop (older CIBs record both): the resource is not
  /// active here. The model's `pending` means "in flight, counts as done", so it is not exported.
  private var supersededPendingStart: Bool { pending == "start" && role <= .stopped }

  /// The result once `replay` has run, given the failure handling that applies on the node (none
  /// on a node that was already unclean: fencing it recovers everything on it).
  func result(handling effective: FailureHandling) -> ResourceNodeState {
    ResourceNodeState(
      role: role.model, failed: role > .stopped && effective != .ignore, stopFailed: stopFailed,
      activeMonitors: activeMonitors, pending: supersededPendingStart ? nil : pending,
      failedOperation: effective != .ignore ? failedOperation : nil,
      onFail: effective != .ignore ? effective.name : nil, hardError: hardError, fatalError: fatalError,
      blocked: blocked)
  }

  // MARK: One entry

  private static let stateChangingTasks: Set<String> = [
    "monitor", "start", "stop", "promote", "demote", "migrate_to", "migrate_from", "asyncmon",
  ]

  private mutating func unpack(_ record: OperationRecord) {
    guard Self.stateChangingTasks.contains(record.task) else { return }
    guard (-1...11).contains(record.status), record.status != 1, (0...255).contains(record.rc) else { return }
    var result = (rc: record.rc, status: record.status)
    let expired = isExpired(record)
    if !expired && record.id.hasSuffix("_last_failure_0")
      && (record.task == "start" || record.task == "monitor")
    {
      digestReplay.lastFailures.append(record.id)
    }
    remap(record, &result, expired: expired)
    if expired && expiredResultIsIgnored(record, result) { return }
    if record.masksProbeFailure {
      updateState(record, rc: record.expectedRC)
      hardError = true
      return
    }
    switch result.status {
    case -1:
      processPending(record)
      return
    case 0:
      updateState(record, rc: result.rc)
      return
    case 7:
      let (strategy, failRole) = failureHandling(for: record)
      if strategy == .ignore { handling = .ban }
      hardError = true
      unpackFailure(record, rc: result.rc, strategy: strategy, failRole: failRole)
      return
    default:
      break
    }
    let (strategy, failRole) = failureHandling(for: record)
    if strategy == .ignore || (strategy == .restartContainer && record.task == "stop") {
      updateState(record, rc: record.expectedRC)
      if strategy == .restartContainer && handling <= .restart { handling = .restartContainer }
    } else {
      unpackFailure(record, rc: result.rc, strategy: strategy, failRole: failRole)
      if result.status == 5 { hardError = true }
      if result.status == 6 { fatalError = true }
    }
  }

  /// Turns the agent's exit code into "done as expected" or an error class, knowing what was
  /// expected (Pacemaker's `remap_operation`).
  private mutating func remap(
    _ record: OperationRecord, _ result: inout (rc: Int, status: Int), expired: Bool
  ) {
    if result.rc == 190 { result.rc = 0 }  // degraded
    if result.rc == 191 { result.rc = 8 }  // degraded promoted
    if record.masksProbeFailure && (result.status != 0 || result.rc != 7) {
      result = (7, 0)
    }
    switch result.status {
    case 0, 4: break
    case 10, 11:
      result.status = 5
      return
    default: return
    }
    let expected = record.expectedRC
    if expected < 0 || result.rc != expected {
      result.status = 4
    } else {
      result.status = 0
    }
    switch result.rc {
    case 0:
      if record.isProbe && expected == 7 { result.status = 0 }
    case 7:
      if record.isProbe || expected == 7 || !managed {
        result.status = 0
        role = .stopped
        handling = .ignore
      }
    case 8:
      if record.isProbe && expected != 8 { result.status = 0 }
      if !expired || expected == 8 { role = .promoted }
    case 9:
      if !expired { role = .promoted }
      result.status = 4
    case 6:
      result.status = 6
    case 3:
      if record.intervalMs == 0 && !expired { blockIfUnrecoverable(record) }
      result.status = record.intervalMs == 0 ? 5 : 3
    case 2, 4, 5:
      if !expired { blockIfUnrecoverable(record) }
      result.status = 5
    default:
      if result.status == 0 { result.status = 4 }
    }
  }

  /// A failed stop leaves the resource unmanaged when fencing cannot recover it.
  private mutating func blockIfUnrecoverable(_ record: OperationRecord) {
    if record.task == "stop" && !node.canFence { blocked = true }
  }

  /// Whether an expired entry is skipped (`process_expired_result`).
  private mutating func expiredResultIsIgnored(_ record: OperationRecord, _ result: (rc: Int, status: Int))
    -> Bool
  {
    if record.masksProbeFailure && record.rc != record.expectedRC {
      if role <= .stopped { role = .unknown }
      return true
    }
    if result.rc == record.expectedRC { return false }
    if record.intervalMs == 0 { return true }
    guard node.online && !node.unclean else { return false }
    // Pacemaker re-issues the monitor by making its restart digest differ.
    digestReplay.rescheduledAfterExpiry.insert(record.id)
    return true
  }

  private mutating func processPending(_ record: OperationRecord) {
    if let failure = lastFailure, failure.task == record.task, failure.intervalMs == record.intervalMs,
      let failed = failure.lastRCChange, let this = record.lastRCChange, failed >= this
    {
      return
    }
    if record.task == "start" {
      setActive()
    } else if record.task == "promote" {
      role = .promoted
    }
    if pending == nil && !record.isProbe { pending = record.task }
  }

  /// The role after a successful (or ignored) action (`update_resource_state`).
  private mutating func updateState(_ record: OperationRecord, rc: Int) {
    var clearsFailure = false
    if rc == 5 || record.masksProbeFailure {
      role = .stopped
    } else if rc == 7 {
      clearsFailure = true
    } else {
      switch record.task {
      case "monitor":
        if let failure = lastFailure, failure.key == record.key { clearsFailure = true }
        if role < .started { setActive() }
      case "start", "migrate_from":
        role = .started
        clearsFailure = true
      case "stop":
        role = .stopped
        clearsFailure = true
      case "promote":
        role = .promoted
        clearsFailure = true
      case "demote":
        if handling == .demote { clearsFailure = true }
        role = .unpromoted
      default:
        if role < .started { setActive() }
      }
    }
    if clearsFailure {
      switch handling {
      case .stop, .ban, .standby, .fence: break
      case .ignore, .demote, .restart, .resetRemote, .restartContainer, .block: handling = .ignore
      }
    }
  }

  private mutating func unpackFailure(
    _ record: OperationRecord, rc: Int, strategy: FailureHandling, failRole: HistoryRole
  ) {
    lastFailure = record
    failedOperation = record.modelKey
    if handling < strategy { handling = strategy }
    switch record.task {
    case "stop":
      stopFailed = true
    case "promote":
      role = .promoted
    case "demote":
      if strategy == .block {
        role = .promoted
      } else if rc == 7 {
        role = .stopped
      } else {
        role = .unpromoted
      }
    default:
      break
    }
    if record.isProbe && rc == 5 {
      role = .stopped
    } else if role < .started {
      setActive()
    }
  }

  // MARK: Failure handling configuration

  /// The configured `on-fail` for the action, with Pacemaker's defaults and validation, and the
  /// role the resource is left in.
  private func failureHandling(for record: OperationRecord) -> (FailureHandling, HistoryRole) {
    let ops = entry.primitive.operations
    var config = ops.first { $0.name == record.task && $0.intervalMs == record.intervalMs }
    if config == nil && (record.task == "migrate_to" || record.task == "migrate_from") {
      config = ops.first { $0.name == "migrate" && $0.intervalMs == 0 }
    }
    var value = (config?.onFail ?? operationDefaults["on-fail"])?.lowercased()
    if record.task == "stop", let v = value, ["standby", "demote", "stop"].contains(v) { value = nil }
    if record.task == "demote" && value == nil {
      for op in ops {
        guard let onFail = op.onFail?.lowercased(), op.name == "monitor", op.role == "Promoted",
          op.intervalMs > 0, op.enabled, onFail != "demote"
        else { continue }
        value = onFail
      }
    }
    if value == "demote" {
      let allowed =
        config?.name == "promote"
        || (config?.name == "monitor" && (config?.intervalMs ?? 0) > 0 && config?.role == "Promoted")
      if !allowed { value = nil }
    }
    let fencing = index.fencingEnabled
    var handling: FailureHandling?
    switch value {
    case "block": handling = .block
    case "fence": handling = fencing ? .fence : .stop
    case "standby": handling = .standby
    case "ignore", "nothing": handling = .ignore
    case "migrate": handling = .ban
    case "stop": handling = .stop
    case "restart": handling = .restart
    case "restart-container": handling = index.hasLauncher(entry) ? .restartContainer : nil
    case "demote": handling = .demote
    default: handling = nil
    }
    let resolved =
      handling
      ?? (index.hasLauncher(entry)
        ? .restartContainer : record.task == "stop" ? (fencing ? .fence : .block) : .restart)
    let failRole: HistoryRole =
      resolved == .stop ? .stopped : record.task == "promote" ? .unpromoted : .started
    return (resolved, failRole)
  }

  // MARK: Failure expiry

  /// Whether a history entry is older than failure-timeout and no unexpired fail count remains
  /// (`check_operation_expiry`).
  private mutating func isExpired(_ record: OperationRecord) -> Bool {
    if record.status == 7 { return false }
    var expired = false
    var unexpired = 0
    if timeoutSeconds > 0, let lastRun = record.lastRCChange {
      if now >= lastRun + timeoutSeconds { expired = true }
      unexpired = failCount(for: record, effective: true)
    }
    if expired && failCount(for: record, effective: false) > 0 && unexpired != 0 { expired = false }
    if expired && record.isProbe && [0, 7, 8, 190, 191].contains(record.rc) { expired = false }
    return expired
  }

  private var timeoutSeconds: Int64 { failureTimeoutDisabled ? 0 : index.failureTimeoutSeconds(entry) }

  /// The resource's fail count on this node (all operations), optionally ignoring expired
  /// failures (`pe_get_failcount`).
  private mutating func failCount(for record: OperationRecord, effective: Bool) -> Int {
    var count = Score.zero
    var last: Int64 = 0
    let unique = index.isUnique(entry)
    for (name, perOperation) in failCounts where Self.matches(name, base: baseName, unique: unique) {
      for (operation, value) in perOperation where !operation.isEmpty { count += Score(value) }
    }
    for (name, time) in lastFailures where Self.matches(name, base: baseName, unique: unique) {
      last = max(last, time)
    }
    if count.value > 0 && timeoutSeconds > 0 && blocksOnFailure(record) { failureTimeoutDisabled = true }
    if effective && count.value > 0 && last > 0 && timeoutSeconds > 0 && now > last + timeoutSeconds {
      return 0
    }
    return count.value
  }

  /// Fail-count attributes name the resource without its clone instance, except for unique clones.
  static func matches(_ name: String, base: String, unique: Bool) -> Bool {
    if name == base { return true }
    guard !unique, name.hasPrefix(base + ":") else { return false }
    let suffix = name.dropFirst(base.count + 1)
    return !suffix.isEmpty && suffix.allSatisfy { $0.isASCII && $0.isNumber }
  }

  /// Whether the entry is a failure of an operation configured with `on-fail=block`.
  private func blocksOnFailure(_ record: OperationRecord) -> Bool {
    for op in entry.primitive.operations where op.onFail?.lowercased() == "block" {
      guard op.name == record.task && op.intervalMs == record.intervalMs else { continue }
      if record.id == "\(baseName)_last_failure_0" { return true }
      if record.id == "\(baseName)_\(op.name)_\(op.intervalMs)" && record.rc != record.expectedRC {
        return true
      }
    }
    return false
  }

  // MARK: Recurring operations

  /// Recurring operations recorded since the resource last started (`calculate_active_ops` and
  /// `process_recurring`), as `name_interval` keys. None on an offline node.
  static func activeMonitors(_ sorted: [OperationRecord], nodeOnline: Bool) -> [String] {
    guard nodeOnline else { return [] }
    let (start, stop) = OperationRecord.activeRange(sorted)
    var keys: [String] = []
    for (i, record) in sorted.enumerated() {
      if start < stop && i <= stop { continue }
      if i < start { continue }
      if record.intervalMs == 0 || record.status == -1 { continue }
      let key = record.modelKey
      if !keys.contains(key) { keys.append(key) }
    }
    return keys
  }
}
