/// The local client API of swcorosync: newline-delimited JSON over the Unix socket
/// `/run/swpcs/swcorosync.sock` (0660, group haclient, SO_PEERCRED checked).
///
/// One request per line; one response line per request. After `subscribe`, the server also pushes
/// `CorosyncEvent` lines (view changes with their quorum, group messages) until the client closes.
/// These types are the one codec both ends use; keep them backward compatible (add optional fields).

/// The default socket path.
public let corosyncSocketPath = "/run/swpcs/swcorosync.sock"

/// A client's request.
public struct CorosyncRequest: Codable, Sendable, Equatable {
  public enum Operation: String, Codable, Sendable {
    /// Membership, quorum, links and counters (`swpcs quorum status`).
    case status
    /// Start receiving `CorosyncEvent`s on this connection; answered with the current status.
    case subscribe
    /// Send `payload` (base64) to every member of the view, in total order (requires subscribe to receive).
    case send
    /// Admin: `swpcs quorum expected-votes N`.
    case setExpectedVotes = "set-expected-votes"
    /// Admin: `swpcs quorum unblock` (stop waiting for all nodes).
    case unblockQuorum = "unblock-quorum"
    /// This daemon's metrics as `[MetricFamily]` (`swpcs metrics`, the HTTP listener).
    case metrics
  }
  public var op: Operation
  public var payload: String?
  public var votes: Int?
  public init(op: Operation, payload: String? = nil, votes: Int? = nil) {
    self.op = op
    self.payload = payload
    self.votes = votes
  }
}

/// The answer to one request.
public struct CorosyncResponse: Codable, Sendable, Equatable {
  public var ok: Bool
  public var error: String?
  public var status: CorosyncStatus?
  /// The answer to `metrics`.
  public var metrics: [MetricFamily]?
  public init(ok: Bool, error: String? = nil, status: CorosyncStatus? = nil, metrics: [MetricFamily]? = nil) {
    self.ok = ok
    self.error = error
    self.status = status
    self.metrics = metrics
  }
}

/// Pushed to subscribers.
public struct CorosyncEvent: Codable, Sendable, Equatable {
  public enum Kind: String, Codable, Sendable {
    /// A view was installed; `status` holds the new view and quorum together (never one without
    /// the other), `lost`/`left`/`joined` say what changed.
    case view
    /// Quorum changed without a view change (last_man_standing window, expected votes, unblock,
    /// members that moved on: `movedOn`).
    case quorum
    /// A group message, delivered in the same order on every member; `view` and `sequence` say
    /// where in the order.
    case message
    /// Every member of `view` has delivered its messages up to `sequence` (safe delivery: they are
    /// in every member's hands whatever partition each ends up in).
    case stable
  }
  public var event: Kind
  public var status: CorosyncStatus?
  public var joined: [UInt32]?
  public var left: [UInt32]?
  public var lost: [UInt32]?
  public var origin: UInt32?
  public var view: String?
  public var sequence: UInt64?
  public var payload: String?
  /// For `quorum`: members of the installed view that moved on to a newer view without this node;
  /// they no longer take part in it (its quorum was re-counted without them).
  public var movedOn: [UInt32]?
  public init(
    event: Kind, status: CorosyncStatus? = nil, joined: [UInt32]? = nil, left: [UInt32]? = nil,
    lost: [UInt32]? = nil, origin: UInt32? = nil, view: String? = nil, sequence: UInt64? = nil,
    payload: String? = nil, movedOn: [UInt32]? = nil
  ) {
    self.movedOn = movedOn
    self.event = event
    self.status = status
    self.joined = joined
    self.left = left
    self.lost = lost
    self.origin = origin
    self.view = view
    self.sequence = sequence
    self.payload = payload
  }
}

/// Everything `swpcs quorum status` shows: the corosync-quorumtool -s facts plus link state.
public struct CorosyncStatus: Codable, Sendable, Equatable {
  public struct Member: Codable, Sendable, Equatable {
    public var id: UInt32
    public var name: String
    public var votes: Int
    public init(id: UInt32, name: String, votes: Int) {
      self.id = id
      self.name = name
      self.votes = votes
    }
  }
  public struct Link: Codable, Sendable, Equatable {
    public var link: Int
    public var address: String
    /// For the local node: whether any peer was heard on it. For a peer: heard on it recently.
    public var up: Bool
    public init(link: Int, address: String, up: Bool) {
      self.link = link
      self.address = address
      self.up = up
    }
  }
  public struct Node: Codable, Sendable, Equatable {
    public var id: UInt32
    public var name: String
    public var votes: Int
    public var member: Bool
    /// "member", "reachable" (heard, not in the view yet), "left" (clean stop), "unreachable".
    public var state: String
    public var links: [Link]
    public init(id: UInt32, name: String, votes: Int, member: Bool, state: String, links: [Link]) {
      self.id = id
      self.name = name
      self.votes = votes
      self.member = member
      self.state = state
      self.links = links
    }
  }
  public struct Quorum: Codable, Sendable, Equatable {
    public var quorate: Bool
    public var expectedVotes: Int
    public var highestExpected: Int
    public var totalVotes: Int
    public var quorum: Int
    /// corosync-quorumtool's names: Quorate, 2Node, WaitForAll, LastManStanding, AutoTieBreaker.
    public var flags: [String]
    public init(
      quorate: Bool, expectedVotes: Int, highestExpected: Int, totalVotes: Int, quorum: Int, flags: [String]
    ) {
      self.quorate = quorate
      self.expectedVotes = expectedVotes
      self.highestExpected = highestExpected
      self.totalVotes = totalVotes
      self.quorum = quorum
      self.flags = flags
    }
  }
  public struct Counters: Codable, Sendable, Equatable {
    public var datagramsReceived: UInt64
    public var datagramsSent: UInt64
    public var bytesSent: UInt64
    public var viewChanges: UInt64
    /// Dropped datagrams by reason: authentication, replay, malformed, oversize, version,
    /// wrongCluster, notForMe, staleIncarnation, unknownSender.
    public var dropped: [String: UInt64]
    public init(
      datagramsReceived: UInt64, datagramsSent: UInt64, bytesSent: UInt64, viewChanges: UInt64,
      dropped: [String: UInt64]
    ) {
      self.datagramsReceived = datagramsReceived
      self.datagramsSent = datagramsSent
      self.bytesSent = bytesSent
      self.viewChanges = viewChanges
      self.dropped = dropped
    }
  }

  public var cluster: String
  public var nodeId: UInt32
  public var nodeName: String
  public var incarnation: UInt64
  /// "SEQUENCE.COORDINATOR"-free display form is `viewId`: "coordinator.sequence" like corosync's ring id.
  public var viewId: String
  public var viewSequence: UInt64
  public var viewCoordinator: UInt32
  /// Wall-clock time (seconds since the epoch) the current view was installed.
  public var viewInstalledAt: Double?
  public var changingView: Bool
  public var members: [Member]
  public var quorum: Quorum
  public var nodes: [Node]
  public var failureTimeoutMs: Int64
  public var heartbeatIntervalMs: Int64
  public var counters: Counters
  /// This swcorosync sends `stable` events (absent from one that does not: a client then cannot
  /// wait for them).
  public var stableDelivery: Bool?

  public init(
    cluster: String, nodeId: UInt32, nodeName: String, incarnation: UInt64, viewId: String,
    viewSequence: UInt64,
    viewCoordinator: UInt32, viewInstalledAt: Double?, changingView: Bool, members: [Member], quorum: Quorum,
    nodes: [Node], failureTimeoutMs: Int64, heartbeatIntervalMs: Int64, counters: Counters,
    stableDelivery: Bool? = nil
  ) {
    self.stableDelivery = stableDelivery
    self.cluster = cluster
    self.nodeId = nodeId
    self.nodeName = nodeName
    self.incarnation = incarnation
    self.viewId = viewId
    self.viewSequence = viewSequence
    self.viewCoordinator = viewCoordinator
    self.viewInstalledAt = viewInstalledAt
    self.changingView = changingView
    self.members = members
    self.quorum = quorum
    self.nodes = nodes
    self.failureTimeoutMs = failureTimeoutMs
    self.heartbeatIntervalMs = heartbeatIntervalMs
    self.counters = counters
  }
}
