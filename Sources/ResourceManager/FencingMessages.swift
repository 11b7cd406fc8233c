import ResourceModel

/// One fencing device as the executing node needs it: the agent (`fence_X` in `/usr/sbin`) and the
/// device's instance attributes, independent of the executor's own copy of the configuration.
public struct FenceDeviceSpec: Codable, Sendable, Equatable {
  /// The stonith primitive's id.
  public var id: String
  /// The agent's type, e.g. `fence_ipmilan` (the executable `/usr/sbin/fence_ipmilan`).
  public var agent: String
  /// Instance attributes in configuration order, `pcmk_*` included (the runner filters those).
  public var attributes: [Attribute]
  public init(id: String, agent: String, attributes: [Attribute]) {
    self.id = id
    self.agent = agent
    self.attributes = attributes
  }
  /// An instance attribute's value.
  public func attribute(_ name: String) -> String? { attributes.last { $0.name == name }?.value }
}

/// DC → executing node: run one topology level against `target` — every device of `devices`, in
/// order, all of which must succeed. The executor applies the delay (a random draw in
/// `delayBaseMs ... delayBaseMs + delayMaxMs`) before the first device.
public struct FenceRequest: Codable, Sendable, Equatable {
  /// The fence operation; every level of one operation shares it.
  public var id: String
  public var target: String
  /// reboot | off | on
  public var action: String
  /// Who asked: the DC's node name for automatic fencing, `swpcs@NODE` for `swpcs stonith fence`.
  public var requester: String
  /// The node that runs the agents (never the target).
  public var executor: String
  /// Topology level (1-9), or 0 when the device was chosen without a topology.
  public var level: Int
  public var devices: [FenceDeviceSpec]
  /// No level follows: a failure here fails the whole operation.
  public var finalLevel: Bool
  public var delayBaseMs: Int
  public var delayMaxMs: Int
  /// Per-device time limit for the whole action, retries included.
  public var timeoutMs: Int
  /// `swpcs stonith fence`: the request to answer on `origin`.
  public var clientRequestId: String?
  public var origin: String?
  public init(
    id: String, target: String, action: String, requester: String, executor: String, level: Int,
    devices: [FenceDeviceSpec], finalLevel: Bool, delayBaseMs: Int = 0, delayMaxMs: Int = 0,
    timeoutMs: Int = 60_000, clientRequestId: String? = nil, origin: String? = nil
  ) {
    self.id = id
    self.target = target
    self.action = action
    self.requester = requester
    self.executor = executor
    self.level = level
    self.devices = devices
    self.finalLevel = finalLevel
    self.delayBaseMs = delayBaseMs
    self.delayMaxMs = delayMaxMs
    self.timeoutMs = timeoutMs
    self.clientRequestId = clientRequestId
    self.origin = origin
  }
}

/// What one device did for a fence request.
public struct FenceDeviceOutcome: Codable, Sendable, Equatable {
  public var device: String
  public var ok: Bool
  /// The agent's last exit status (-1 when it did not exit: timeout, signal, not started).
  public var rc: Int
  /// done | timeout | error | not-installed | cannot-fence
  public var status: String
  public var output: String
  public var durationMs: Int
  public init(device: String, ok: Bool, rc: Int, status: String, output: String = "", durationMs: Int = 0) {
    self.device = device
    self.ok = ok
    self.rc = rc
    self.status = status
    self.output = output
    self.durationMs = durationMs
  }
}

/// Executing node → all: the result of one level of a fence operation.
public struct FenceResult: Codable, Sendable, Equatable {
  public var request: FenceRequest
  /// Every device of the level succeeded: the target is safe.
  public var ok: Bool
  public var outcomes: [FenceDeviceOutcome]
  /// Why nothing ran at all (no capable device, no node to run it), if so.
  public var reason: String?
  /// Wall-clock milliseconds of completion.
  public var at: Int64
  public init(
    request: FenceRequest, ok: Bool, outcomes: [FenceDeviceOutcome], reason: String? = nil, at: Int64
  ) {
    self.request = request
    self.ok = ok
    self.outcomes = outcomes
    self.reason = reason
    self.at = at
  }
}

/// A human says `target` is down (`swpcs stonith confirm`): treated as a successful fence.
public struct FenceConfirm: Codable, Sendable, Equatable {
  public var target: String
  /// `swpcs@NODE`.
  public var by: String
  public init(target: String, by: String) {
    self.target = target
    self.by = by
  }
}

/// `swpcs stonith fence NODE [--off]`, sent to the DC through the group.
public struct FenceCommand: Codable, Sendable, Equatable {
  public var requestId: String
  public var origin: String
  public var target: String
  public var action: String
  public init(requestId: String, origin: String, target: String, action: String) {
    self.requestId = requestId
    self.origin = origin
    self.target = target
    self.action = action
  }
}

/// One line of the replicated fencing history (`swpcs stonith history`): every level tried, every
/// manual confirmation.
public struct FenceHistoryEntry: Codable, Sendable, Equatable {
  public enum Result: String, Codable, Sendable {
    case success
    case failed
    case confirmed
  }
  public var operation: String
  public var target: String
  public var action: String
  public var requester: String
  public var executor: String?
  public var devices: [String]
  public var level: Int
  public var result: Result
  /// The failing device's status and output, or why nothing ran.
  public var detail: String
  /// Wall-clock milliseconds.
  public var at: Int64
  public init(
    operation: String, target: String, action: String, requester: String, executor: String?,
    devices: [String], level: Int, result: Result, detail: String, at: Int64
  ) {
    self.operation = operation
    self.target = target
    self.action = action
    self.requester = requester
    self.executor = executor
    self.devices = devices
    self.level = level
    self.result = result
    self.detail = detail
    self.at = at
  }
}
