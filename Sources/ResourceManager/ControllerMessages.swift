import ResourceModel

/// What swpacemakerd instances say to each other, carried as totally ordered group messages by
/// swcorosync. Every node applies every message in the same order, so every node holds the same
/// replica of the configuration and of the cluster state; the DC is simply the node that schedules.
public enum ControllerMessage: Codable, Sendable, Equatable {
  /// Sent by every node's resource manager after each view change: its configuration version and
  /// what it knows of its own resources (empty after a restart: the DC then probes).
  case hello(Hello)
  /// The authoritative configuration (after a change, or when views merge: the highest version).
  case configPublish(ConfigPublish)
  /// A node asks the DC to replace the configuration, if it is still at `baseVersion`.
  case configChange(ConfigChange)
  /// DC → node: run this action.
  case actionRequest(ActionRequest)
  /// Node → all: the result of an action (also unsolicited: a failed recurring monitor).
  case actionResult(ActionResult)
  /// Forget failures (swpcs resource cleanup).
  case cleanup(Cleanup)
  /// A node's resource manager is stopping: move its resources away.
  case shutdown(node: String)
  /// DC → executing node: run one level of a fence operation.
  case fenceRequest(FenceRequest)
  /// Executing node (or the DC, when nothing could run) → all: the level's result; recorded in
  /// every replica's fencing history.
  case fenceResult(FenceResult)
  /// A human says the node is down (`swpcs stonith confirm`).
  case fenceConfirm(FenceConfirm)
  /// `swpcs stonith fence`: asks the DC to fence a node.
  case fenceCommand(FenceCommand)
  /// Set or delete a node's transient attribute (promotion scores `master-RSC` set by agents through
  /// `crm_master`/`crm_attribute`): every replica records it; the DC re-plans when a value changed.
  case nodeAttribute(NodeAttributeUpdate)
}

public struct NodeAttributeUpdate: Codable, Sendable, Equatable {
  public var node: String
  public var name: String
  /// nil deletes the attribute.
  public var value: String?
  public init(node: String, name: String, value: String?) {
    self.node = node
    self.name = name
    self.value = value
  }
}

public struct Hello: Codable, Sendable, Equatable {
  public var node: String
  public var configVersion: ConfigVersion
  public var resources: [String: ResourceNodeState]
  public var shuttingDown: Bool
  /// How each reported resource was last run here: lets the DC stop a resource that was deleted
  /// from the configuration meanwhile (Pacemaker keeps the agent in the status section likewise).
  public var specs: [String: ActionSpec]?
  /// The sender's fencing history: partitions that merge learn each other's fencing.
  public var fenceHistory: [FenceHistoryEntry]?
  /// Nodes the sender holds UNCLEAN (lost with resources active, not fenced yet) and their
  /// resources: a member that did not see them go (it restarted, or was elsewhere) — perhaps the
  /// next DC — learns that they must be fenced before their resources are recovered.
  public var unclean: [String: [String: ResourceNodeState]]?
  /// Nodes the sender has seen since it started (members, joined, fenced): a node nobody has seen
  /// is subject to `startup-fencing`.
  public var seen: [String]?
  /// Sent by a controller that attached to a view swcorosync had already installed (it started or
  /// restarted while swcorosync kept running): it missed that view's hellos, so every member that
  /// has joined answers with its own — otherwise it would count only itself as joined, and so as DC.
  public var joining: Bool?
  /// The sender's own transient node attributes (a node is their authority; empty after a restart,
  /// as Pacemaker clears `reboot`-lifetime attributes).
  public var attributes: [String: String]?
  /// In an answer to a `joining` hello: the fail counts the sender holds for the joining node
  /// (resource → failures). Its restarted controller knows none; every member kept them, as
  /// Pacemaker's attribute manager keeps fail counts on every node, and hands them back.
  public var heldFailures: HeldFailures?
  /// Wall-clock ms when the sender's resource manager started: the member running longest is DC.
  public var since: Int64?
  public init(
    node: String, configVersion: ConfigVersion, resources: [String: ResourceNodeState], shuttingDown: Bool,
    specs: [String: ActionSpec]? = nil, fenceHistory: [FenceHistoryEntry]? = nil,
    unclean: [String: [String: ResourceNodeState]]? = nil, seen: [String]? = nil,
    attributes: [String: String]? = nil, heldFailures: HeldFailures? = nil, since: Int64? = nil
  ) {
    self.since = since
    self.heldFailures = heldFailures
    self.attributes = attributes
    self.fenceHistory = fenceHistory
    self.unclean = unclean
    self.seen = seen
    self.node = node
    self.configVersion = configVersion
    self.resources = resources
    self.shuttingDown = shuttingDown
    self.specs = specs
  }
}

public struct ConfigPublish: Codable, Sendable, Equatable {
  public var config: ResourceConfiguration?
  /// The change request this answers, if any, and why it was refused (config is nil then).
  public var requestId: String?
  public var origin: String?
  public var error: String?
  public init(
    config: ResourceConfiguration?, requestId: String? = nil, origin: String? = nil, error: String? = nil
  ) {
    self.config = config
    self.requestId = requestId
    self.origin = origin
    self.error = error
  }
}

public struct ConfigChange: Codable, Sendable, Equatable {
  public var requestId: String
  public var origin: String
  public var baseVersion: ConfigVersion
  public var config: ResourceConfiguration
  public init(requestId: String, origin: String, baseVersion: ConfigVersion, config: ResourceConfiguration) {
    self.requestId = requestId
    self.origin = origin
    self.baseVersion = baseVersion
    self.config = config
  }
}

/// Everything a node needs to run an action, independent of its own copy of the configuration.
public struct ActionSpec: Codable, Sendable, Equatable {
  public var resource: String
  public var agent: AgentSpec
  public var attributes: [Attribute]
  public var meta: [String: String]
  /// start, stop, monitor (interval 0 = probe), promote, demote.
  public var action: String
  public var intervalMs: Int
  public var timeoutMs: Int
  public init(
    resource: String, agent: AgentSpec, attributes: [Attribute], meta: [String: String], action: String,
    intervalMs: Int, timeoutMs: Int
  ) {
    self.resource = resource
    self.agent = agent
    self.attributes = attributes
    self.meta = meta
    self.action = action
    self.intervalMs = intervalMs
    self.timeoutMs = timeoutMs
  }
  /// Pacemaker's operation key: `start_0`, `monitor_10000`.
  public var key: String { "\(action)_\(intervalMs)" }
}

public struct ActionRequest: Codable, Sendable, Equatable {
  public var transition: Int
  public var index: Int
  public var node: String
  public var spec: ActionSpec
  /// The DC that asked, as `node@start-ms` of its controller: transition numbers start again with
  /// every DC, so a result names its transition by both (as Pacemaker's transition key names the DC).
  public var dc: String?
  public init(transition: Int, index: Int, node: String, spec: ActionSpec, dc: String? = nil) {
    self.transition = transition
    self.index = index
    self.node = node
    self.spec = spec
    self.dc = dc
  }
}

public struct ActionResult: Codable, Sendable, Equatable {
  /// -1 for unsolicited results (a recurring monitor noticed a failure).
  public var transition: Int
  public var index: Int
  public var node: String
  public var spec: ActionSpec
  /// OCF return code (0 ok, 7 not running, 8 running promoted, ...).
  public var rc: Int
  /// `done`, `timeout`, `error`, `not-installed`.
  public var status: String
  public var durationMs: Int
  public var output: String
  /// Seconds since the epoch when the result was produced.
  public var at: Int64
  /// The request's `dc`.
  public var dc: String?
  public init(
    transition: Int, index: Int, node: String, spec: ActionSpec, rc: Int, status: String, durationMs: Int,
    output: String, at: Int64, dc: String? = nil
  ) {
    self.dc = dc
    self.transition = transition
    self.index = index
    self.node = node
    self.spec = spec
    self.rc = rc
    self.status = status
    self.durationMs = durationMs
    self.output = output
    self.at = at
  }
}

public struct Cleanup: Codable, Sendable, Equatable {
  public var resource: String?
  public var node: String?
  /// `resource refresh`: forget the recorded state of every matching instance, running ones too, so
  /// that all are probed again (cleanup re-probes only what is not known to run and be monitored).
  public var refresh: Bool?
  public init(resource: String?, node: String?, refresh: Bool? = nil) {
    self.resource = resource
    self.node = node
    self.refresh = refresh
  }
}

/// Fail counts a member holds for another node (`Hello.heldFailures`).
public struct HeldFailures: Codable, Sendable, Equatable {
  public var node: String
  /// Resource → operation key → count.
  public var counts: [String: [String: Int]]
  /// Resource → the last failure's time (seconds since the epoch).
  public var lastFailure: [String: Int64]
  public init(node: String, counts: [String: [String: Int]], lastFailure: [String: Int64]) {
    self.node = node
    self.counts = counts
    self.lastFailure = lastFailure
  }
}
