import ClusterTypes

/// Votequorum for one node: corosync's votequorum(5) as a pure state machine, fed with every
/// installed membership view, with time passed in as `Instant` values.
///
/// Exists so that the quorum decision is a deterministic function of (configuration, views seen,
/// peers' quorate bits, time) that the daemon, the simulation and the tests drive the same way.
///
/// Invariants kept after every input:
/// - `quorum = max(expected / 2 + 1, total / 2 + 1)`, where `expected` is the highest expected
///   votes in force, except that quorum is 1 while two_node is in effect, and that quorum never
///   drops on its own: only last_man_standing, `setExpectedVotes` or adopting a quorate peer's
///   expected votes lower it.
/// - Expected votes are never below the votes present: a bigger view raises them.
/// - While wait_for_all is armed the node is not quorate; it disarms when the view holds every
///   expected vote, when a member reports it is already quorate, or on `unblockWaitForAll`, and
///   re-arms whenever the node is not quorate.
/// - A last_man_standing window is pending only while `nextDeadline` is non-nil.
public struct VoteQuorum: Sendable {
  /// Configured nodes and their votes.
  public private(set) var nodes: [NodeId: Int]
  public private(set) var options: QuorumOptions
  public private(set) var state: QuorumState

  /// wait_for_all, explicit or implied by two_node.
  private var waitForAll: Bool
  /// two_node applies only to a cluster of exactly two configured nodes.
  private var twoNodeActive: Bool
  /// This node's own expected votes (corosync's `us->expected_votes`).
  private var ownExpected: Int
  /// Expected votes reported by the current view's quorate members (corosync keeps one per node).
  private var peerExpected: [NodeId: Int] = [:]
  private var waitingForAll: Bool
  private var members: Set<NodeId> = []
  private var previousMembers: Set<NodeId> = []
  /// Lowest and highest member of the last view that had enough votes: the `lowest` and
  /// `highest` tie-breaker nodes.
  private var lowestAnchor: NodeId?
  private var highestAnchor: NodeId?
  private var lastManStandingDeadline: Instant?

  /// Validates the combination of options against the node list, then starts with no view
  /// installed (not quorate; wait_for_all armed when on).
  public init(nodes: [NodeId: Int], options: QuorumOptions) throws(QuorumOptionError) {
    try Self.validate(nodes: nodes, options: options)
    self.nodes = nodes
    self.options = options
    waitForAll = options.waitForAll ?? options.twoNode
    twoNodeActive = options.twoNode && nodes.count == 2
    ownExpected = options.expectedVotes ?? nodes.values.reduce(0, +)
    waitingForAll = waitForAll
    state = QuorumState(
      quorate: false, expectedVotes: ownExpected, totalVotes: 0, quorum: 0, flags: [], members: [:])
    recalculate(allowDecrease: false)
  }

  /// When the pending last_man_standing window ends, if one is pending.
  public var nextDeadline: Instant? { lastManStandingDeadline }

  /// This node's own expected votes (`corosync-quorumtool`'s "Expected votes"); `state.expectedVotes`
  /// is the highest expected votes among the members, which quorum is computed from.
  public var nodeExpectedVotes: Int { ownExpected }

  /// A new agreed view was installed.
  ///
  /// - Parameters:
  ///   - members: the view; ids that are not configured nodes are ignored.
  ///   - quorateMembers: members that said, in their heartbeats, that they were quorate just before
  ///     this view. Any of them disarms wait_for_all.
  ///   - quorateExpectedVotes: the expected votes those quorate members reported, when known.
  ///     While this node is not quorate it adopts the highest of them (even if lower than its own,
  ///     as after last_man_standing stepped down), so a returning node agrees with the quorate
  ///     partition. Reports from members not in `quorateMembers` are ignored.
  ///   - now: time of installation; starts a last_man_standing window when one is due.
  @discardableResult
  public mutating func viewInstalled(
    members newView: Set<NodeId>, quorateMembers: Set<NodeId>,
    quorateExpectedVotes: [NodeId: Int] = [:], now: Instant
  ) -> QuorumState {
    let view = newView.filter { nodes[$0] != nil }
    let someoneLeft = !members.isSubset(of: view)
    if options.lastManStanding {
      // Corosync counts nodes here; last_man_standing guarantees 1 vote per node. The second arm
      // (a half that may hold quorum only through the tie-breaker) uses the configured tie-breaker;
      // corosync tests the lowest node there whatever auto_tie_breaker_node says.
      let stillQuorateSize = view.count >= state.quorum && someoneLeft
      let tieBreakerHalf =
        view.count <= state.quorum && options.autoTieBreaker
        && tieBreakerPresent(in: view, previous: members)
      if stillQuorateSize || tieBreakerHalf {
        lastManStandingDeadline = now + options.lastManStandingWindow
      }
    }
    previousMembers = members
    members = view

    let reporters = quorateMembers.intersection(view)
    peerExpected = quorateExpectedVotes.filter { reporters.contains($0.key) }
    var allowDecrease = false
    if !state.quorate && !reporters.isEmpty {
      allowDecrease = true
      if let adopted = peerExpected.values.max() { ownExpected = adopted }
    }
    if !reporters.isEmpty { waitingForAll = false }
    recalculate(allowDecrease: allowDecrease)
    return state
  }

  /// Time passes. When the last_man_standing window has ended and this node is still quorate,
  /// expected votes drop to the number of members. Returns the new state if it changed.
  public mutating func tick(now: Instant) -> QuorumState? {
    guard let deadline = lastManStandingDeadline, now >= deadline else { return nil }
    lastManStandingDeadline = nil
    guard state.quorate else { return nil }
    let before = state
    recalculate(allowDecrease: true, expectedFromMemberCount: true)
    return state == before ? nil : state
  }

  /// Admin: `swpcs quorum expected-votes N` (`corosync-quorumtool -e`). Refused when `n` is below
  /// the votes present, or when a quorate partition would lose quorum; may lower quorum.
  @discardableResult
  public mutating func setExpectedVotes(_ n: Int) throws(QuorumOptionError) -> QuorumState {
    guard n >= 1 else { throw .expectedVotesBelowOne(n) }
    let total = state.totalVotes
    let newQuorum = twoNodeActive ? 1 : max(n / 2 + 1, total / 2 + 1)
    if n < total { throw .expectedVotesBelowTotal(requested: n, totalVotes: total) }
    if state.quorate && newQuorum > total {
      throw .expectedVotesWouldLoseQuorum(requested: n, quorum: newQuorum, totalVotes: total)
    }
    ownExpected = n
    peerExpected = [:]
    recalculate(allowDecrease: true)
    return state
  }

  /// Admin: `swpcs quorum unblock` (`pcs quorum unblock`): stop waiting for all nodes. The node
  /// becomes quorate if the votes present reach quorum; otherwise wait_for_all re-arms.
  @discardableResult
  public mutating func unblockWaitForAll() -> QuorumState {
    waitingForAll = false
    recalculate(allowDecrease: false)
    return state
  }

  /// cluster.conf was reloaded (corosync's votequorum reload): the node list, votes, two_node or
  /// expected_votes changed. Expected votes follow the new list (or the configured value); members
  /// that are no longer configured stop counting. A node that is quorate stays so if the votes present
  /// reach the new quorum; wait_for_all, when it now applies, is not armed by the reload itself.
  @discardableResult
  public mutating func reconfigure(nodes newNodes: [NodeId: Int], options newOptions: QuorumOptions)
    throws(QuorumOptionError) -> QuorumState
  {
    try Self.validate(nodes: newNodes, options: newOptions)
    nodes = newNodes
    options = newOptions
    waitForAll = newOptions.waitForAll ?? newOptions.twoNode
    twoNodeActive = newOptions.twoNode && newNodes.count == 2
    ownExpected = newOptions.expectedVotes ?? newNodes.values.reduce(0, +)
    peerExpected = [:]
    members = members.filter { newNodes[$0] != nil }
    if state.quorate { waitingForAll = false }
    recalculate(allowDecrease: true)
    return state
  }

  // MARK: - Calculation

  private mutating func recalculate(allowDecrease: Bool, expectedFromMemberCount: Bool = false) {
    let total = members.reduce(0) { $0 + (nodes[$1] ?? 0) }
    if total > ownExpected { ownExpected = total }
    if expectedFromMemberCount {
      ownExpected = members.count
      peerExpected = [:]
    }
    let highest = max(ownExpected, peerExpected.values.max() ?? 0)
    var quorum = max(highest / 2 + 1, total / 2 + 1)
    if !allowDecrease { quorum = max(state.quorum, quorum) }
    if twoNodeActive { quorum = 1 }

    state.expectedVotes = highest
    state.totalVotes = total
    state.quorum = quorum
    state.members = Dictionary(uniqueKeysWithValues: members.map { ($0, nodes[$0] ?? 0) })
    state.quorate = decideQuorate(total: total)
    if waitForAll { waitingForAll = !state.quorate }
    state.flags = flags
  }

  private mutating func decideQuorate(total: Int) -> Bool {
    if waitForAll && waitingForAll {
      guard total == ownExpected else { return false }
      waitingForAll = false
    }
    var quorate = total >= state.quorum
    if quorate {
      lowestAnchor = members.min()
      highestAnchor = members.max()
    }
    // An exact half (integer division, so "half minus one" of an odd count too), and only when
    // the nodes that vanished since the previous view are too few to be quorate on their own.
    if options.autoTieBreaker && total == ownExpected / 2
      && previousMembers.count - members.count < state.quorum
      && tieBreakerPresent(in: members, previous: previousMembers)
    {
      quorate = true
    }
    return quorate
  }

  /// Whether `view` is the half the tie-breaker favours. `lowest`/`highest`: the lowest/highest
  /// member of the last view that had quorum by votes is in `view`. A list: the first listed node
  /// that is in `view` decides, unless a node listed before it was in `previous` (it may be alive
  /// in the other half).
  private func tieBreakerPresent(in view: Set<NodeId>, previous: Set<NodeId>) -> Bool {
    switch options.autoTieBreakerNode {
    case .lowest:
      return lowestAnchor.map(view.contains) ?? false
    case .highest:
      return highestAnchor.map(view.contains) ?? false
    case .list(let ids):
      guard let index = ids.firstIndex(where: view.contains) else { return false }
      return !ids[..<index].contains(where: previous.contains)
    }
  }

  private var flags: QuorumFlags {
    var flags: QuorumFlags = []
    if state.quorate { flags.insert(.quorate) }
    if twoNodeActive { flags.insert(.twoNode) }
    if waitForAll { flags.insert(.waitForAll) }
    if waitForAll && waitingForAll { flags.insert(.waitingForAll) }
    if options.lastManStanding { flags.insert(.lastManStanding) }
    if options.autoTieBreaker { flags.insert(.autoTieBreaker) }
    return flags
  }

  // MARK: - Validation

  private static func validate(nodes: [NodeId: Int], options: QuorumOptions) throws(QuorumOptionError) {
    guard !nodes.isEmpty else { throw .noNodes }
    if nodes[NodeId(0)] != nil { throw .reservedNodeId }
    for (node, votes) in nodes.sorted(by: { $0.key < $1.key }) where votes < 0 {
      throw .negativeVotes(node: node, votes: votes)
    }
    let nodeVotes = nodes.values.reduce(0, +)
    if let expected = options.expectedVotes {
      guard expected >= 1 else { throw .expectedVotesBelowOne(expected) }
    } else if nodeVotes == 0 {
      throw .noVotes
    }
    let waitForAll = options.waitForAll ?? options.twoNode
    if options.twoNode && options.autoTieBreaker { throw .twoNodeWithAutoTieBreaker }
    if options.lastManStanding {
      guard waitForAll else { throw .lastManStandingWithoutWaitForAll }
      if let (node, votes) = nodes.sorted(by: { $0.key < $1.key }).first(where: { $0.value != 1 }) {
        throw .lastManStandingNeedsOneVotePerNode(node: node, votes: votes)
      }
      if options.lastManStandingWindow < .zero {
        throw .negativeLastManStandingWindow(options.lastManStandingWindow)
      }
    }
    if options.autoTieBreaker {
      if case .list(let ids) = options.autoTieBreakerNode {
        guard !ids.isEmpty else { throw .emptyTieBreakerList }
        var seen: Set<NodeId> = []
        for id in ids {
          guard nodes[id] != nil else { throw .unknownTieBreakerNode(id, configured: nodes.keys.sorted()) }
          guard seen.insert(id).inserted else { throw .duplicateTieBreakerNode(id) }
        }
      }
      if nodeVotes % 2 == 1 && !waitForAll {
        throw .autoTieBreakerOddVotesWithoutWaitForAll(totalVotes: nodeVotes)
      }
    }
  }
}
