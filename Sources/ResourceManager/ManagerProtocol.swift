import ControlProtocol
import ResourceModel

/// The control-socket API of swpacemakerd (`/run/swpcs/swpcs.sock`): newline-delimited JSON, one
/// request per line, one response line each. `swpcs` is its client.
public struct ManagerRequest: Codable, Sendable, Equatable {
  public enum Operation: String, Codable, Sendable {
    /// The whole picture: configuration, cluster state, DC, quorum, last transition.
    case status
    /// Replace the configuration (the CLI edits a copy and sends it back with the version it read).
    case replaceConfig = "replace-config"
    /// Forget failures of a resource (and/or on a node).
    case cleanup
    /// Fence `node` now (`action`: reboot | off | on).
    case fence
    /// A human says `node` is down: treat it as fenced.
    case fenceConfirm = "fence-confirm"
    /// This daemon's metrics as `[MetricFamily]`; answered by the daemon shell, not the controller.
    case metrics
    /// Set (`value`) or delete (no `value`) the transient attribute `name` of `node`.
    case setAttribute = "set-attribute"
  }
  public var op: Operation
  public var config: ResourceConfiguration?
  public var baseVersion: ConfigVersion?
  public var resource: String?
  public var node: String?
  /// For `fence`: reboot | off | on. For `cleanup`: `refresh` re-probes running instances too.
  public var action: String?
  /// For `set-attribute`.
  public var name: String?
  public var value: String?
  public init(
    op: Operation, config: ResourceConfiguration? = nil, baseVersion: ConfigVersion? = nil,
    resource: String? = nil,
    node: String? = nil, action: String? = nil, name: String? = nil, value: String? = nil
  ) {
    self.name = name
    self.value = value
    self.action = action
    self.op = op
    self.config = config
    self.baseVersion = baseVersion
    self.resource = resource
    self.node = node
  }
}

public struct ManagerResponse: Codable, Sendable, Equatable {
  public var ok: Bool
  public var error: String?
  public var status: ManagerStatus?
  /// The answer to `metrics`.
  public var metrics: [MetricFamily]?
  public init(ok: Bool, error: String? = nil, status: ManagerStatus? = nil, metrics: [MetricFamily]? = nil) {
    self.ok = ok
    self.error = error
    self.status = status
    self.metrics = metrics
  }
}

/// A snapshot of one node's replica: what `swpcs status` renders.
public struct ManagerStatus: Codable, Sendable, Equatable {
  public var localNode: String
  public var dc: String?
  public var quorate: Bool
  /// Nodes in swcorosync's view, and those whose resource manager has joined.
  public var members: [String]
  public var joined: [String]
  public var config: ResourceConfiguration
  public var state: ClusterState
  /// Actions of the transition the DC is executing (empty when idle), with their progress.
  public var transition: [String]
  public var notes: [String]
  /// Recent action results, newest last (failed ones feed "Failed Resource Actions").
  public var recentFailures: [ActionResult]
  /// Wall-clock ms of the last configuration change seen.
  public var lastChange: Int64?
  public var connectedToCorosync: Bool
  /// The replicated fencing history, oldest first.
  public var fenceHistory: [FenceHistoryEntry]?
  public init(
    localNode: String, dc: String?, quorate: Bool, members: [String], joined: [String],
    config: ResourceConfiguration, state: ClusterState, transition: [String], notes: [String],
    recentFailures: [ActionResult], lastChange: Int64?, connectedToCorosync: Bool,
    fenceHistory: [FenceHistoryEntry]? = nil
  ) {
    self.fenceHistory = fenceHistory
    self.localNode = localNode
    self.dc = dc
    self.quorate = quorate
    self.members = members
    self.joined = joined
    self.config = config
    self.state = state
    self.transition = transition
    self.notes = notes
    self.recentFailures = recentFailures
    self.lastChange = lastChange
    self.connectedToCorosync = connectedToCorosync
  }
}
