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

  init(options: QuorumOptions = QuorumOptions()) throws {
    let settings = MembershipSettings(localNode: n2, nodes: [n1, n2, n3])
    let quorum = try VoteQuorum(nodes: [n1: 1, n2: 1, n3: 1], options: options)
    node = QuorateMembership(
      instance: MembershipInstance(settings: settings, incarnation: 2, now: now), quorum: quorum)
  }

  /// A heartbeat from `peer` that hears `hears` (everyone by default) and reports `view`.
  mutating func heartbeat(from peer: NodeId, view: ViewId, hears: [NodeId] = [n1, n2, n3]) {
    versions[peer, default: 0] += 1
    let row = ConnectivityRow(
      origin: peer, incarnation: UInt64(peer.rawValue), version: versions[peer]!,
      heard: hears.filter { $0 != peer })
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

  /// Node 1 proposes and commits `view` of `members` (all three by default).
  mutating func install(_ id: ViewId, members: [NodeId] = [n1, n2, n3]) {
    let view = View(
      id: id, members: Dictionary(uniqueKeysWithValues: members.map { ($0, UInt64($0.rawValue)) }))
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
        // The clients are told who moved on: the rest of the view acts without them.
        if case .quorum(let state, _, let movedOn) = event { return !state.quorate && movedOn == [n1, n3] }
        return false
      })
    #expect(sim.node.movedOn == [n1, n3])

    // The next view it installs is evaluated as usual.
    sim.install(ViewId(sequence: 3, coordinator: n1))
    #expect(sim.node.instance.installed?.id == ViewId(sequence: 3, coordinator: n1))
    #expect(sim.node.effectiveQuorum.quorate)
    #expect(sim.node.suspended == nil)
    #expect(sim.node.movedOn.isEmpty)
  }

  @Test("a last_man_standing window that ends while quorum is suspended does not spin the timer")
  func lastManStandingWhileSuspended() throws {
    var sim = try ScriptedNode(options: QuorumOptions(waitForAll: true, lastManStanding: true))
    sim.heartbeat(from: n1, view: .none)
    sim.heartbeat(from: n3, view: .none)
    sim.install(ViewId(sequence: 1, coordinator: n1))
    // Node 3 goes silent; nodes 1 and 2 form view 2 and stay quorate: the window starts.
    let second = ViewId(sequence: 2, coordinator: n1)
    for _ in 0..<6 {
      sim.heartbeat(from: n1, view: ViewId(sequence: 1, coordinator: n1), hears: [n2])
      sim.advance(.milliseconds(200))
    }
    sim.install(second, members: [n1, n2])
    #expect(sim.node.instance.installed?.id == second)
    #expect(sim.node.effectiveQuorum.quorate)
    // Node 1 moves on to view 3 without node 2: suspended, then the window ends.
    for _ in 0..<60 {
      sim.heartbeat(from: n1, view: ViewId(sequence: 3, coordinator: n1), hears: [n2])
      sim.advance(.milliseconds(200))
      #expect(sim.node.nextDeadline(now: sim.now) > sim.now)
    }
    #expect(!sim.node.effectiveQuorum.quorate)
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
