/// What the scheduler decides: the actions to run and the order between them — Pacemaker's
/// transition graph.
public struct Transition: Codable, Sendable, Equatable {
  public var actions: [ScheduledAction]
  /// `before` must complete successfully before `after` starts (indices into `actions`).
  public var orderings: [Ordering]
  /// One line per decision for logs and `swpcs simulate` (e.g. "Move web ( n1 -> n2 )").
  public var summary: [String]
  /// Why something could not be done (blocked, unrunnable), for status warnings.
  public var notes: [String]
  public init(
    actions: [ScheduledAction] = [], orderings: [Ordering] = [], summary: [String] = [], notes: [String] = []
  ) {
    self.actions = actions
    self.orderings = orderings
    self.summary = summary
    self.notes = notes
  }
}

public struct Ordering: Codable, Sendable, Equatable, Hashable {
  public var before: Int
  public var after: Int
  public init(before: Int, after: Int) {
    self.before = before
    self.after = after
  }
}

/// One action of a transition.
public struct ScheduledAction: Codable, Sendable, Equatable, Hashable {
  public enum Kind: String, Codable, Sendable {
    case start
    case stop
    case monitor
    /// A one-shot monitor (interval 0) to discover the state on a node.
    case probe
    case promote
    case demote
    case notify
    /// Fence `node` (the target); runs on a fencer node chosen by the DC.
    case fence
    /// Clear fail count / history (cleanup).
    case clearFailure = "clear-failure"
    /// Stop a recurring monitor (`intervalMs`) without touching the resource (maintenance, or the
    /// operation is no longer configured).
    case cancel
    /// Pass changed parameters to the running agent (`reload-agent`): only parameters the agent can
    /// reload changed. Scheduled only from a Pacemaker CIB's digests (our runtime restarts instead).
    case reload = "reload-agent"
  }
  public var kind: Kind
  /// Resource instance id; nil for fence.
  public var resource: String?
  /// Where the action runs (for fence: the target node).
  public var node: String
  /// For monitors.
  public var intervalMs: Int
  /// For fence: reboot | off.
  public var fenceAction: String?
  /// For notify: what the clone's instances are told (`notify=true`).
  public var notification: Notification?
  public init(
    kind: Kind, resource: String?, node: String, intervalMs: Int = 0, fenceAction: String? = nil,
    notification: Notification? = nil
  ) {
    self.kind = kind
    self.resource = resource
    self.node = node
    self.intervalMs = intervalMs
    self.fenceAction = fenceAction
    self.notification = notification
  }

  /// A clone notification: before (`pre`) or after (`post`) the clone's instances `operation`
  /// (start, stop, promote, demote), with Pacemaker's notification variables — the meta attributes
  /// `notify_type`, `notify_operation`, `notify_start_uname`, `notify_promoted_uname`, ... that agents
  /// read as `OCF_RESKEY_CRM_meta_notify_*`.
  public struct Notification: Codable, Sendable, Hashable {
    public var type: String
    public var operation: String
    public var variables: [String: String]
    public init(type: String, operation: String, variables: [String: String]) {
      self.type = type
      self.operation = operation
      self.variables = variables
    }
  }
}
