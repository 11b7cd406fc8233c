import ClusterTypes
import Membership
import Testing

/// `MembershipInstance.updateNodes`: the nodelist reload of swcorosync.
@Suite struct MembershipReconfigureTests {
  func heartbeatTargets(_ directives: [MembershipDirective]) -> Set<NodeId> {
    Set(
      directives.compactMap { d in
        if case .send(.heartbeat, let to, _) = d { return to }
        return nil
      })
  }

  @Test func anAddedNodeGetsHeartbeatsAndARemovedOneNone() {
    var m = MembershipInstance(
      settings: MembershipSettings(localNode: n1, nodes: [n1, n2]), incarnation: 1, now: .zero)
    #expect(heartbeatTargets(m.tick(now: .zero)) == [n2])
    m.updateNodes([n1, n2, n3])
    #expect(m.settings.nodes == [n1, n2, n3])
    #expect(m.peerStatus(now: .zero).map(\.node) == [n2, n3])
    #expect(heartbeatTargets(m.tick(now: .zero + .seconds(1))) == [n2, n3])
    m.updateNodes([n1, n3])
    #expect(m.peerStatus(now: .zero).map(\.node) == [n3])
    #expect(heartbeatTargets(m.tick(now: .zero + .seconds(2))) == [n3])
  }

  @Test func theLocalNodeStaysConfigured() {
    var m = MembershipInstance(
      settings: MembershipSettings(localNode: n1, nodes: [n1, n2]), incarnation: 1, now: .zero)
    m.updateNodes([n2, n3])
    #expect(m.settings.nodes == [n1, n2, n3])
  }
}
