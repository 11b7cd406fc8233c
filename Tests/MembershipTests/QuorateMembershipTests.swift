import ClusterTypes
import Membership
import Quorum
import Testing

/// Node 2 of three, driven message by message: its peers are played by the test.
struct ScriptedNode {
  var node: QuorateMembership
  var now = Instant(nanoseconds: 1_000_000_000)
  var versions: [NodeId: UInt64] = [:]
  var events: [QuorateMembership.Event] = []

  init() throws {
    let settings = MembershipSettings(localNode: n2, nodes: [n1, n2, n3])
    let quorum = try VoteQuorum(nodes: [n1: 1, n2: 1, n3: 1], options: QuorumOptions())
    node = QuorateMembership(
      instance: MembershipInstance(settings: settings, incarnation: 2, now: now), quorum: quorum)
  }

  /// A heartbeat from `peer` that hears everyone and reports `view`.
  mutating func heartbeat(from peer: NodeId, view: ViewId) {
    versions[peer, default: 0] += 1
    let row = ConnectivityRow(
      origin: peer, incarnation: UInt64(peer.rawValue), version: versions[peer]!,
      heard: [n1, n2, n3].filter { $0 != peer })
    let beat = Heartbeat(
      view: view, quorate: true, delivered: 0, sequenced: 0, highestViewSequence: view.sequence, rows: [row])
    receive(.heartbeat(beat), from: peer)
  }

  mutating func receive(_ message: MembershipMessage, from peer: NodeId) {
    events += node.receive(message, from: peer, incarnation: UInt64(peer.rawValue), link: 0, now: now)
  }

  mutating func advance(_ duration: Duration) {
    now = now + duration
    events += node.tick(now: now)
  }

  /// Node 2 after node 1 coordinated view 1 of all three.
  static func inFirstView() throws -> ScriptedNode {
    var sim = try ScriptedNode()
    sim.heartbeat(from: n1, view: .none)
    sim.heartbeat(from: n3, view: .none)
    sim.install(ViewId(sequence: 1, coordinator: n1))
    return sim
  }

  /// Node 1 proposes and commits `view` of all three.
  mutating func install(_ id: ViewId) {
    let view = View(id: id, members: [n1: 1, n2: 2, n3: 3])
    receive(.propose(view), from: n1)
    receive(.commit(view, cuts: []), from: n1)
  }
}

@Suite("Membership and quorum as swcorosync composes them")
struct QuorateMembershipTests {
  @Test("a node whose view-mates moved on to a newer view without it loses quorum until its next view")
  func abandonedViewLosesQuorum() throws {
    var sim = try ScriptedNode.inFirstView()
    let first = ViewId(sequence: 1, coordinator: n1)
    #expect(sim.node.instance.installed?.id == first)
    #expect(sim.node.effectiveQuorum.quorate)

    // Nodes 1 and 3 installed view 2 (node 2 missed its commit) and keep saying so; node 2 still
    // hears both, so it computes no view of its own and waits for node 1 to propose again.
    let newer = ViewId(sequence: 2, coordinator: n1)
    sim.events = []
    for _ in 0..<4 {
      sim.heartbeat(from: n1, view: newer)
      sim.heartbeat(from: n3, view: newer)
      sim.advance(.milliseconds(200))
    }
    #expect(sim.node.effectiveQuorum.quorate, "within the failure timeout nothing changes yet")
    for _ in 0..<3 {
      sim.heartbeat(from: n1, view: newer)
      sim.heartbeat(from: n3, view: newer)
      sim.advance(.milliseconds(200))
    }
    #expect(sim.node.instance.installed?.id == first)
    #expect(!sim.node.effectiveQuorum.quorate)
    #expect(
      sim.events.contains { event in
        if case .quorum(let state, _) = event { return !state.quorate }
        return false
      })

    // The next view it installs is evaluated as usual.
    sim.install(ViewId(sequence: 3, coordinator: n1))
    #expect(sim.node.instance.installed?.id == ViewId(sequence: 3, coordinator: n1))
    #expect(sim.node.effectiveQuorum.quorate)
    #expect(sim.node.suspended == nil)
  }

  @Test("a view-mate reporting the same or an older view does not cost quorum")
  func laggingMateKeepsQuorum() throws {
    var sim = try ScriptedNode.inFirstView()
    let first = ViewId(sequence: 1, coordinator: n1)
    for _ in 0..<10 {
      sim.heartbeat(from: n1, view: first)
      sim.heartbeat(from: n3, view: .none)
      sim.advance(.milliseconds(200))
    }
    #expect(sim.node.effectiveQuorum.quorate)
  }
}
