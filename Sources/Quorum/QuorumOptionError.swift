import ClusterTypes

/// Why a quorum configuration or an expected-votes change was refused.
///
/// Exists so that the daemon, `swpcs quorum expected-votes` and config validation report the same
/// one-line, actionable message. Combinations corosync only logs about and then silently disables
/// (two_node with auto_tie_breaker, last_man_standing with uneven votes, auto_tie_breaker in an odd
/// cluster without wait_for_all) are refused here instead, so the cluster never runs with a feature
/// quietly switched off.
public enum QuorumOptionError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The node list is empty.
  case noNodes
  /// Node id 0 is not a valid node id.
  case reservedNodeId
  /// A node was given a negative number of votes.
  case negativeVotes(node: NodeId, votes: Int)
  /// Every node has 0 votes and no expected_votes is set.
  case noVotes
  /// expected_votes (configured or requested) is below 1.
  case expectedVotesBelowOne(Int)
  /// last_man_standing without wait_for_all (explicit, or implied by two_node).
  case lastManStandingWithoutWaitForAll
  /// last_man_standing with a node that does not have exactly 1 vote.
  case lastManStandingNeedsOneVotePerNode(node: NodeId, votes: Int)
  /// last_man_standing_window is negative.
  case negativeLastManStandingWindow(Duration)
  /// two_node and auto_tie_breaker together.
  case twoNodeWithAutoTieBreaker
  /// auto_tie_breaker in a cluster whose configured votes add up to an odd number, without
  /// wait_for_all.
  case autoTieBreakerOddVotesWithoutWaitForAll(totalVotes: Int)
  /// auto_tie_breaker_node is an empty list.
  case emptyTieBreakerList
  /// auto_tie_breaker_node lists a node that is not configured.
  case unknownTieBreakerNode(NodeId, configured: [NodeId])
  /// auto_tie_breaker_node lists a node twice.
  case duplicateTieBreakerNode(NodeId)
  /// `expected-votes N` below the votes of the current view.
  case expectedVotesBelowTotal(requested: Int, totalVotes: Int)
  /// `expected-votes N` would make a quorate partition inquorate.
  case expectedVotesWouldLoseQuorum(requested: Int, quorum: Int, totalVotes: Int)

  public var description: String {
    switch self {
    case .noNodes:
      return "no nodes are configured; votequorum needs at least one node"
    case .reservedNodeId:
      return "node id 0 is reserved; give every node an id from 1 to 65535"
    case .negativeVotes(let node, let votes):
      return "node \(node) has \(votes) votes; votes must be 0 or more"
    case .noVotes:
      return "the nodes' votes add up to 0; give at least one node a vote or set expected_votes"
    case .expectedVotesBelowOne(let n):
      return "expected votes \(n) is below 1"
    case .lastManStandingWithoutWaitForAll:
      return "last_man_standing requires wait_for_all; set wait_for_all to true"
    case .lastManStandingNeedsOneVotePerNode(let node, let votes):
      return "last_man_standing needs every node to have 1 vote, but node \(node) has \(votes)"
    case .negativeLastManStandingWindow(let window):
      return "last_man_standing_window \(window) is negative"
    case .twoNodeWithAutoTieBreaker:
      return "two_node and auto_tie_breaker cannot be used together; turn one of them off"
    case .autoTieBreakerOddVotesWithoutWaitForAll(let total):
      return
        "auto_tie_breaker in a cluster with an odd number of votes (\(total)) requires wait_for_all; "
        + "set wait_for_all to true"
    case .emptyTieBreakerList:
      return "auto_tie_breaker_node lists no nodes; give node ids, lowest or highest"
    case .unknownTieBreakerNode(let node, let configured):
      return
        "auto_tie_breaker_node lists node \(node), which is not configured; configured nodes: "
        + configured.map(\.description).joined(separator: ", ")
    case .duplicateTieBreakerNode(let node):
      return "auto_tie_breaker_node lists node \(node) more than once"
    case .expectedVotesBelowTotal(let requested, let total):
      return "expected votes \(requested) is below the \(total) votes present; use at least \(total)"
    case .expectedVotesWouldLoseQuorum(let requested, let quorum, let total):
      return
        "expected votes \(requested) would need \(quorum) votes for quorum but only \(total) are present; "
        + "the cluster would lose quorum"
    }
  }
}
