import ClusterTypes

/// An agreed membership view: every member installs the same id with the same members.
///
/// Members are listed with the incarnation they had when the view was agreed, so a node that
/// restarts quickly (a new incarnation) is never mistaken for the member it replaced.
public struct View: Sendable, Equatable, Hashable {
  public var id: ViewId
  /// Member node -> its incarnation, as agreed.
  public var members: [NodeId: UInt64]
  public init(id: ViewId, members: [NodeId: UInt64]) {
    self.id = id
    self.members = members
  }
  public var memberIds: [NodeId] { members.keys.sorted() }
  /// The member that coordinates view changes and sequences group messages: the lowest id.
  public var coordinator: NodeId { members.keys.min() ?? id.coordinator }
}

/// A row of the connectivity matrix: the peers `origin` heard within the failure timeout.
/// Rows are gossiped in every heartbeat; `version` only grows within one incarnation.
public struct ConnectivityRow: Sendable, Equatable {
  public var origin: NodeId
  public var incarnation: UInt64
  public var version: UInt64
  public var heard: [NodeId]
  public init(origin: NodeId, incarnation: UInt64, version: UInt64, heard: [NodeId]) {
    self.origin = origin
    self.incarnation = incarnation
    self.version = version
    self.heard = heard
  }
}

/// Periodic liveness message, sent to every peer on every link.
public struct Heartbeat: Sendable, Equatable {
  /// The sender's installed view (`.none` before the first).
  public var view: ViewId
  /// Whether the sender's votequorum said quorate (clears wait_for_all early on receivers).
  public var quorate: Bool
  /// Highest contiguous group-message sequence the sender delivered in `view`.
  public var delivered: UInt64
  /// For the sender's view's sequencer: the highest sequence it assigned (gap detection).
  public var sequenced: UInt64
  /// The highest view sequence the sender has seen or persisted (new view ids go above it).
  public var highestViewSequence: UInt64
  /// The sender's own row first, then the fresh rows it knows of others.
  public var rows: [ConnectivityRow]
  public init(
    view: ViewId, quorate: Bool, delivered: UInt64, sequenced: UInt64, highestViewSequence: UInt64,
    rows: [ConnectivityRow]
  ) {
    self.view = view
    self.highestViewSequence = highestViewSequence
    self.quorate = quorate
    self.delivered = delivered
    self.sequenced = sequenced
    self.rows = rows
  }
}

/// One group message as sequenced inside a view.
public struct SequencedMessage: Sendable, Equatable {
  public var sequence: UInt64
  /// The member that submitted it and its per-incarnation submission number.
  public var origin: NodeId
  public var originSequence: UInt64
  public var payload: [UInt8]
  public init(sequence: UInt64, origin: NodeId, originSequence: UInt64, payload: [UInt8]) {
    self.sequence = sequence
    self.origin = origin
    self.originSequence = originSequence
    self.payload = payload
  }
}

/// A message submitted to the sequencer, not yet ordered.
public struct PendingSubmission: Sendable, Equatable {
  public var originSequence: UInt64
  public var payload: [UInt8]
  public init(originSequence: UInt64, payload: [UInt8]) {
    self.originSequence = originSequence
    self.payload = payload
  }
}

/// Where an old view's messages stand when a new view is agreed: every survivor of `oldView`
/// delivers exactly the messages up to `cut` before installing the new view; `holder` has them all.
public struct FlushCut: Sendable, Equatable {
  public var oldView: ViewId
  public var cut: UInt64
  public var holder: NodeId
  public init(oldView: ViewId, cut: UInt64, holder: NodeId) {
    self.oldView = oldView
    self.cut = cut
    self.holder = holder
  }
}

/// Everything swcorosync nodes say to each other. Encoded by `Wire`, sealed per datagram.
public enum MembershipMessage: Sendable, Equatable {
  case heartbeat(Heartbeat)
  /// The sender leaves the cluster cleanly (SIGTERM): peers drop it at once.
  case leave
  /// Coordinator → members: install `view` if you agree it is the right member set.
  case propose(View)
  /// Member → coordinator: I accept `view`; I was in `oldView` and delivered up to `delivered`.
  case accept(view: ViewId, oldView: ViewId, delivered: UInt64)
  /// Coordinator → members: install `view` after delivering your old view's messages up to its cut.
  case commit(View, cuts: [FlushCut])
  /// Member → sequencer: please order these. `firstPending` is the sender's oldest submission not
  /// yet ordered: the sequencer orders each sender's submissions from there, in order, without gaps.
  case submit(view: ViewId, firstPending: UInt64, submissions: [PendingSubmission])
  /// Sequencer → members (or holder → lagging member): ordered messages of `view`.
  case ordered(view: ViewId, messages: [SequencedMessage])
  /// Member → sequencer/holder: resend sequences `from...to` of `view`.
  case retransmit(view: ViewId, from: UInt64, to: UInt64)
}
