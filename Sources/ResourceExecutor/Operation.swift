import ResourceModel

/// One action to run on the local node for one resource: what pacemaker-execd receives from the
/// controller.
///
/// The request carries everything the agent needs, so a runner keeps no per-resource configuration:
/// instance attributes in configuration order, the operation's interval and timeout, and the meta
/// attributes that OCF agents see as `OCF_RESKEY_CRM_meta_*`.
public struct OperationRequest: Sendable, Equatable {
  /// The resource (instance) id, `OCF_RESOURCE_INSTANCE` for OCF agents.
  public var resource: String
  public var agent: AgentSpec
  /// Instance attributes, passed in order.
  public var attributes: [Attribute]
  /// start, stop, monitor, promote, demote, notify, reload, meta-data, validate-all, ...
  public var action: String
  /// 0 for one-shot actions and probes; the recurring monitor's interval otherwise.
  public var intervalMs: Int
  /// The operation timeout. It bounds everything the runner does for this request, not only the
  /// agent process (for systemd: loading the unit, the job, and confirming the state).
  public var timeoutMs: Int
  /// Meta attributes by Pacemaker name (`notify_type`, `clone-max`, ...). `timeout` and `interval`
  /// are always derived from `timeoutMs` and `intervalMs` and override entries here.
  public var meta: [String: String]

  /// Pacemaker's default operation timeout.
  public static let defaultTimeoutMs = 20_000

  /// `timeoutMs`, or the default when it is not positive (an unset timeout never means "at once").
  public var effectiveTimeoutMs: Int { timeoutMs > 0 ? timeoutMs : Self.defaultTimeoutMs }

  public init(
    resource: String, agent: AgentSpec, attributes: [Attribute] = [], action: String, intervalMs: Int = 0,
    timeoutMs: Int = 20_000, meta: [String: String] = [:]
  ) {
    self.resource = resource
    self.agent = agent
    self.attributes = attributes
    self.action = action
    self.intervalMs = intervalMs
    self.timeoutMs = timeoutMs
    self.meta = meta
  }

  /// The request for `operation` of `primitive`, with `defaultTimeoutMs` when the operation has none.
  public init(primitive: Primitive, operation: OperationSpec, defaultTimeoutMs: Int = 20_000) {
    self.init(
      resource: primitive.id, agent: primitive.agent, attributes: primitive.attributes,
      action: operation.name, intervalMs: operation.intervalMs,
      timeoutMs: operation.timeoutMs ?? defaultTimeoutMs, meta: primitive.meta)
  }
}

/// The OCF exit codes and the recovery Pacemaker attaches to each.
///
/// Agents may exit with anything; ``init(exitStatus:)`` folds every status outside the OCF set into
/// ``genericError`` (as Pacemaker does), so a value of this type is always one of the defined codes.
public enum OCFExitCode: Int, Sendable, Codable, CaseIterable, CustomStringConvertible {
  case success = 0
  case genericError = 1
  case invalidArguments = 2
  case unimplemented = 3
  case insufficientPrivileges = 4
  case notInstalled = 5
  case notConfigured = 6
  case notRunning = 7
  case runningPromoted = 8
  case failedPromoted = 9
  /// Running, but in a state where a failure is more likely (OCF 1.1).
  case degraded = 190
  /// Running promoted, but degraded (OCF 1.1).
  case degradedPromoted = 191

  /// Maps a process exit status; anything outside the OCF set is a generic error.
  public init(exitStatus: Int) {
    self = OCFExitCode(rawValue: exitStatus) ?? .genericError
  }

  /// How bad this code is when it is *not* the expected result of the action: whether the cluster
  /// may retry here (soft), must move the resource away from this node (hard), or must stop it
  /// everywhere (fatal). Degraded codes are a success with a warning.
  public var severity: FailureSeverity {
    switch self {
    case .success, .degraded, .degradedPromoted: .none
    case .genericError, .notRunning, .runningPromoted, .failedPromoted: .soft
    case .invalidArguments, .unimplemented, .insufficientPrivileges, .notInstalled: .hard
    case .notConfigured: .fatal
    }
  }

  /// The OCF name, as agents and logs spell it.
  public var name: String {
    switch self {
    case .success: "OCF_SUCCESS"
    case .genericError: "OCF_ERR_GENERIC"
    case .invalidArguments: "OCF_ERR_ARGS"
    case .unimplemented: "OCF_ERR_UNIMPLEMENTED"
    case .insufficientPrivileges: "OCF_ERR_PERM"
    case .notInstalled: "OCF_ERR_INSTALLED"
    case .notConfigured: "OCF_ERR_CONFIGURED"
    case .notRunning: "OCF_NOT_RUNNING"
    case .runningPromoted: "OCF_RUNNING_PROMOTED"
    case .failedPromoted: "OCF_FAILED_PROMOTED"
    case .degraded: "OCF_DEGRADED"
    case .degradedPromoted: "OCF_DEGRADED_PROMOTED"
    }
  }

  /// What the code means, for status output ("not running", "not installed", ...).
  public var meaning: String {
    switch self {
    case .success: "ok"
    case .genericError: "error"
    case .invalidArguments: "invalid parameter"
    case .unimplemented: "unimplemented feature"
    case .insufficientPrivileges: "insufficient privileges"
    case .notInstalled: "not installed"
    case .notConfigured: "not configured"
    case .notRunning: "not running"
    case .runningPromoted: "promoted"
    case .failedPromoted: "promoted (failed)"
    case .degraded: "OK (degraded)"
    case .degradedPromoted: "promoted (degraded)"
    }
  }

  public var description: String { "\(rawValue) (\(meaning))" }
}

/// The recovery class of a failed result, in increasing order of severity.
public enum FailureSeverity: Int, Sendable, Codable, Comparable {
  /// Not a failure (or only a warning).
  case none
  /// Transient: recover in place (restart) or move.
  case soft
  /// Specific to this node: move the resource and do not retry it here.
  case hard
  /// Wrong everywhere (bad configuration): stop the resource on every node.
  case fatal

  public static func < (a: FailureSeverity, b: FailureSeverity) -> Bool { a.rawValue < b.rawValue }
}

/// How an operation ended, independent of the agent's exit code (Pacemaker's execution status).
public enum ExecutionStatus: Sendable, Equatable, Codable {
  /// The agent ran to completion; its verdict is the result's `rc`.
  case done
  /// The operation hit its timeout (for OCF: the process group was killed).
  case timedOut
  /// The agent (OCF script, systemd unit) does not exist on this node.
  case notInstalled
  /// The executor could not carry out the action (spawn failure, bus error, killed by a signal).
  case error(String)
}

/// The outcome of one ``OperationRequest``.
///
/// `rc` is always meaningful: a timeout or an executor error reports ``OCFExitCode/genericError``
/// and a missing agent ``OCFExitCode/notInstalled``, so callers that only look at `rc` still do the
/// right thing; `status` says why. Fail counts and "expected result" checks belong to the
/// controller, which knows what it asked for.
public struct OperationResult: Sendable, Equatable, Codable {
  public var rc: OCFExitCode
  public var status: ExecutionStatus
  /// Wall-clock time the runner spent on the request.
  public var durationMs: Int
  /// Standard output (or, for systemd, a human-readable account of what happened), bounded; for
  /// `meta-data` the whole XML document.
  public var output: String
  /// Standard error of the agent, bounded to its last bytes.
  public var errorOutput: String
  /// The agent's exit status before mapping (nil when it did not exit normally).
  public var exitStatus: Int?

  public init(
    rc: OCFExitCode, status: ExecutionStatus = .done, durationMs: Int = 0, output: String = "",
    errorOutput: String = "", exitStatus: Int? = nil
  ) {
    self.rc = rc
    self.status = status
    self.durationMs = durationMs
    self.output = output
    self.errorOutput = errorOutput
    self.exitStatus = exitStatus
  }

  /// The recovery class of this result if it is a failure: a timeout is soft, a missing agent hard,
  /// an executor error at least soft (more if its `rc` says so, e.g. an agent that may not be
  /// executed), otherwise the exit code decides.
  public var severity: FailureSeverity {
    switch status {
    case .done: rc.severity
    case .timedOut: .soft
    case .error: max(.soft, rc.severity)
    case .notInstalled: .hard
    }
  }

  /// One line for logs: `rc=7 (not running) done in 12 ms`.
  public var summary: String {
    let how: String =
      switch status {
      case .done: "done"
      case .timedOut: "timed out"
      case .notInstalled: "not installed"
      case .error(let message): "error: \(message)"
      }
    return "rc=\(rc) \(how) in \(durationMs) ms"
  }
}
