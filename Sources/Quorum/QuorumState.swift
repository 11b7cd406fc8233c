import ClusterTypes

/// The flags `corosync-quorumtool -s` prints, plus whether wait_for_all is still holding quorum back.
///
/// Exists so that status output and tests can say in one value which features are in force. The
/// option flags (`twoNode`, `waitForAll`, `lastManStanding`, `autoTieBreaker`) never change after
/// `VoteQuorum.init`; `quorate` and `waitingForAll` follow the state machine.
public struct QuorumFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
  public let rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// The partition this node is in has quorum.
  public static let quorate = QuorumFlags(rawValue: 1 << 0)
  /// two_node is in effect: on, and the cluster has exactly two configured nodes.
  public static let twoNode = QuorumFlags(rawValue: 1 << 1)
  /// wait_for_all is on (configured, or implied by two_node).
  public static let waitForAll = QuorumFlags(rawValue: 1 << 2)
  /// wait_for_all is armed: quorum is withheld until every vote is present in one view.
  public static let waitingForAll = QuorumFlags(rawValue: 1 << 3)
  /// last_man_standing is on.
  public static let lastManStanding = QuorumFlags(rawValue: 1 << 4)
  /// auto_tie_breaker is on.
  public static let autoTieBreaker = QuorumFlags(rawValue: 1 << 5)

  /// The `Flags:` line of `corosync-quorumtool -s`, in its order (`waitingForAll` is not part of it).
  public var description: String {
    let names: [(QuorumFlags, String)] = [
      (.twoNode, "2Node"), (.quorate, "Quorate"), (.waitForAll, "WaitForAll"),
      (.lastManStanding, "LastManStanding"), (.autoTieBreaker, "AutoTieBreaker"),
    ]
    return names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
  }
}

/// What votequorum concluded from the latest view: the one answer every consumer (the resource
/// manager, `swpcs quorum status`) reads.
///
/// Invariants: `quorate` equals `flags.contains(.quorate)`; `totalVotes` is the sum of `members`'
/// votes; `expectedVotes >= totalVotes`.
public struct QuorumState: Sendable, Equatable {
  public var quorate: Bool
  /// corosync's "highest expected": the expected votes quorum is computed from.
  public var expectedVotes: Int
  /// Votes of the current view's members.
  public var totalVotes: Int
  /// Votes needed for quorum.
  public var quorum: Int
  public var flags: QuorumFlags
  /// Members of the current view (configured nodes only) and their votes.
  public var members: [NodeId: Int]

  public init(
    quorate: Bool, expectedVotes: Int, totalVotes: Int, quorum: Int, flags: QuorumFlags,
    members: [NodeId: Int]
  ) {
    self.quorate = quorate
    self.expectedVotes = expectedVotes
    self.totalVotes = totalVotes
    self.quorum = quorum
    self.flags = flags
    self.members = members
  }
}
