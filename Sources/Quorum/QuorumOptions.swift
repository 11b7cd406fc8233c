import ClusterTypes

/// Which node's half survives an exact 50:50 split when `auto_tie_breaker` is on.
public enum TieBreakerChoice: Sendable, Equatable {
  case lowest
  case highest
  /// The first listed node that is present in the partition wins.
  case list([NodeId])
}

/// `[quorum]` — votequorum(5) options, with corosync's names and defaults.
public struct QuorumOptions: Sendable, Equatable {
  /// `expected_votes` — nil: the sum of all nodes' votes.
  public var expectedVotes: Int?
  /// `two_node` — quorum 1 while the cluster has exactly two nodes (default false).
  public var twoNode: Bool
  /// `wait_for_all` — nil: on when two_node is on, else off.
  public var waitForAll: Bool?
  /// `last_man_standing` (default false) and `last_man_standing_window` (default 10 s).
  public var lastManStanding: Bool
  public var lastManStandingWindow: Duration
  /// `auto_tie_breaker` (default false) and `auto_tie_breaker_node` (default lowest).
  public var autoTieBreaker: Bool
  public var autoTieBreakerNode: TieBreakerChoice

  public init(
    expectedVotes: Int? = nil, twoNode: Bool = false, waitForAll: Bool? = nil,
    lastManStanding: Bool = false, lastManStandingWindow: Duration = .seconds(10),
    autoTieBreaker: Bool = false, autoTieBreakerNode: TieBreakerChoice = .lowest
  ) {
    self.expectedVotes = expectedVotes
    self.twoNode = twoNode
    self.waitForAll = waitForAll
    self.lastManStanding = lastManStanding
    self.lastManStandingWindow = lastManStandingWindow
    self.autoTieBreaker = autoTieBreaker
    self.autoTieBreakerNode = autoTieBreakerNode
  }
}
