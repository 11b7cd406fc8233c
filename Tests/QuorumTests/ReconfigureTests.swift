import ClusterTypes
import Quorum
import Testing

/// cluster.conf reloaded with nodes added or removed (`swpcs cluster node add|remove`).
@Suite struct ReconfigureTests {
  static func votes(_ ids: [UInt32]) -> [NodeId: Int] {
    Dictionary(uniqueKeysWithValues: ids.map { (NodeId($0), 1) })
  }

  @Test func aThirdNodeTurnsTwoNodeOffAndQuorumBecomesAMajority() throws {
    var q = try VoteQuorum(nodes: Self.votes([1, 2]), options: QuorumOptions(twoNode: true))
    q.viewInstalled(members: [NodeId(1), NodeId(2)], quorateMembers: [], now: .zero)
    #expect(q.state.quorate && q.state.quorum == 1)
    let s = try q.reconfigure(nodes: Self.votes([1, 2, 3]), options: QuorumOptions())
    #expect(s.quorate && s.expectedVotes == 3 && s.quorum == 2 && s.totalVotes == 2)
    #expect(!s.flags.contains(.twoNode) && !s.flags.contains(.waitForAll))
    // Without the third node, one of the two is no longer enough.
    let alone = q.viewInstalled(members: [NodeId(1)], quorateMembers: [], now: .zero)
    #expect(!alone.quorate)
  }

  @Test func removingTheThirdNodeTurnsTwoNodeOnWithoutWaitingAgain() throws {
    var q = try VoteQuorum(nodes: Self.votes([1, 2, 3]), options: QuorumOptions())
    q.viewInstalled(members: [NodeId(1), NodeId(2)], quorateMembers: [], now: .zero)
    let s = try q.reconfigure(nodes: Self.votes([1, 2]), options: QuorumOptions(twoNode: true))
    #expect(s.quorate && s.expectedVotes == 2 && s.quorum == 1)
    #expect(s.flags.contains(.twoNode) && !s.flags.contains(.waitingForAll))
    let survivor = q.viewInstalled(members: [NodeId(1)], quorateMembers: [], now: .zero)
    #expect(survivor.quorate)
  }

  @Test func membersNoLongerConfiguredStopCounting() throws {
    var q = try VoteQuorum(nodes: Self.votes([1, 2, 3, 4, 5]), options: QuorumOptions())
    q.viewInstalled(members: [NodeId(1), NodeId(2), NodeId(5)], quorateMembers: [], now: .zero)
    let s = try q.reconfigure(nodes: Self.votes([1, 2, 3, 4]), options: QuorumOptions())
    #expect(s.totalVotes == 2 && s.expectedVotes == 4 && s.quorum == 3 && !s.quorate)
  }

  @Test func invalidOptionsAreRefusedAndNothingChanges() throws {
    var q = try VoteQuorum(nodes: Self.votes([1, 2]), options: QuorumOptions(twoNode: true))
    q.viewInstalled(members: [NodeId(1), NodeId(2)], quorateMembers: [], now: .zero)
    let before = q.state
    #expect(throws: QuorumOptionError.self) {
      try q.reconfigure(
        nodes: Self.votes([1, 2]), options: QuorumOptions(twoNode: true, autoTieBreaker: true))
    }
    #expect(q.state == before && q.nodes.count == 2)
  }
}
