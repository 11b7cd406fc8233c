import ClusterSimulation
import ClusterTypes
import Membership
import Testing

let n1 = NodeId(1)
let n2 = NodeId(2)
let n3 = NodeId(3)
let n4 = NodeId(4)
let n5 = NodeId(5)

func formed(_ nodes: Int, links: Int = 1, seed: UInt64 = 1) -> SimulatedCluster {
  var sim = SimulatedCluster(nodeCount: nodes, links: links, seed: seed)
  sim.startAll()
  sim.run(for: .seconds(2))
  return sim
}

@Suite("View agreement")
struct ViewAgreementTests {
  @Test("three nodes started together form one view")
  func threeNodesFormOneView() {
    let sim = formed(3)
    #expect(sim.agree(on: [n1, n2, n3]))
    #expect(sim.violations().isEmpty)
    // One view change from nothing to all three: no churn through singleton views.
    #expect(sim.nodes[n2]!.views.count == 1)
  }

  @Test("a crashed node is dropped by every survivor within the timeout plus one heartbeat")
  func crashDetectedWithinTimeout() {
    var sim = formed(3)
    let before = sim.installedView(n1)!.id
    sim.crash(n3)
    sim.run(for: .milliseconds(1250))
    #expect(sim.agree(on: [n1, n2]))
    let change = sim.nodes[n1]!.views.last!
    #expect(change.lost == [n3])
    #expect(change.view.id > before)
    #expect(sim.violations().isEmpty)
  }

  @Test("detection follows a 0.3 s timeout setting")
  func fastTimeout() {
    var sim = SimulatedCluster(nodeCount: 3, heartbeat: .milliseconds(60), timeout: .milliseconds(300))
    sim.startAll()
    sim.run(for: .seconds(1))
    #expect(sim.agree(on: [n1, n2, n3]))
    sim.crash(n1)
    sim.run(for: .milliseconds(380))
    #expect(sim.agree(on: [n2, n3]))
  }

  @Test("a clean stop is seen at once, as a leave, not a loss")
  func cleanLeaveIsImmediate() {
    var sim = formed(3)
    sim.stop(n2)
    sim.run(for: .milliseconds(50))
    #expect(sim.agree(on: [n1, n3]))
    #expect(sim.nodes[n1]!.views.last!.left == [n2])
    #expect(sim.nodes[n1]!.views.last!.lost == [])
  }

  @Test("a restarted node rejoins")
  func restartRejoins() {
    var sim = formed(3)
    sim.crash(n3)
    sim.run(for: .seconds(2))
    sim.start(n3)
    sim.run(for: .seconds(1))
    #expect(sim.agree(on: [n1, n2, n3]))
    #expect(sim.violations().isEmpty)
  }

  @Test("a node that restarts faster than the timeout is reported lost and rejoined")
  func fastRestartIsALoss() {
    var sim = formed(3)
    sim.crash(n2)
    sim.run(for: .milliseconds(100))
    sim.start(n2)
    sim.run(for: .seconds(1))
    #expect(sim.agree(on: [n1, n2, n3]))
    let changes = sim.nodes[n1]!.views.dropFirst()
    #expect(changes.contains { $0.lost == [n2] })
    #expect(changes.last!.joined == [n2])
    #expect(sim.installedView(n1)!.members[n2] == 2, "the new incarnation is the member")
  }

  @Test("a symmetric partition gives each side its own view; healing merges them")
  func partitionAndHeal() {
    var sim = formed(5)
    sim.partition([[n1, n2, n3], [n4, n5]])
    sim.run(for: .seconds(2))
    #expect(sim.agree(on: [n1, n2, n3]))
    #expect(sim.agree(on: [n4, n5]))
    sim.heal()
    sim.run(for: .seconds(2))
    #expect(sim.agree(on: [n1, n2, n3, n4, n5]))
    #expect(sim.violations().isEmpty)
  }

  @Test("an isolated node forms a view of its own")
  func isolatedNode() {
    var sim = formed(3)
    sim.partition([[n1, n2], [n3]])
    sim.run(for: .seconds(2))
    #expect(sim.agree(on: [n1, n2]))
    #expect(sim.agree(on: [n3]))
  }

  @Test("one-way loss: a view never holds two nodes that do not hear each other")
  func asymmetricLoss() {
    var sim = formed(3)
    sim.block(from: n1, to: n3)
    sim.run(for: .seconds(3))
    #expect(sim.agree(on: [n1, n2]))
    #expect(sim.agree(on: [n3]))
    #expect(sim.violations().isEmpty)
  }

  @Test("partial connectivity: nodes 1 and 3 cannot talk, node 2 hears both")
  func partialConnectivity() {
    var sim = formed(3)
    sim.block(from: n1, to: n3)
    sim.block(from: n3, to: n1)
    sim.run(for: .seconds(3))
    for id in [n1, n2, n3] {
      let members = sim.installedView(id)!.memberIds
      // Every pair inside a view hears each other.
      #expect(!(members.contains(n1) && members.contains(n3)))
    }
    #expect(sim.agree(on: [n1, n2]))
    sim.heal()
    sim.run(for: .seconds(2))
    #expect(sim.agree(on: [n1, n2, n3]))
  }

  @Test("losing one of two links changes nothing")
  func redundantLink() {
    var sim = formed(3, links: 2)
    let view = sim.installedView(n1)!
    for a in sim.ids {
      for b in sim.ids where a != b { sim.blockedLinks.insert([a.rawValue, b.rawValue, 0]) }
    }
    sim.run(for: .seconds(3))
    #expect(sim.installedView(n1) == view)
    #expect(sim.installedView(n3) == view)
  }

  @Test("view ids only grow, through many faults")
  func viewIdsGrow() {
    var sim = formed(4)
    for round in 0..<6 {
      sim.partition([[n1, n2], [n3, n4]])
      sim.run(for: .seconds(2))
      sim.heal()
      sim.crash(NodeId(UInt32(round % 4 + 1)))
      sim.run(for: .seconds(2))
      sim.start(NodeId(UInt32(round % 4 + 1)))
      sim.run(for: .seconds(2))
    }
    #expect(sim.agree(on: [n1, n2, n3, n4]))
    #expect(sim.violations().isEmpty)
  }
}
