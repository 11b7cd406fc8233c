import ClusterSimulation
import Testing

@Suite("Whole-cluster simulation")
struct WholeClusterSimulationTests {
  @Test("a run replays identically from its seed")
  func reproducible() {
    let a = SimulationCampaign.run(seed: 7)
    let b = SimulationCampaign.run(seed: 7)
    #expect(a.trace == b.trace)
    #expect(a.violation == b.violation)
  }

  @Test("without faults, a cluster forms and runs every resource exactly once")
  func quietClusterConverges() {
    var scenario = SimulationScenario.generate(seed: 1)
    scenario.faults = []
    let outcome = SimulationCampaign.run(scenario)
    #expect(outcome.violation == nil, "\(SimulationCampaign.report(outcome))")
    #expect(outcome.convergedAfterMs != nil)
  }

  @Test("a shrunk schedule still fails the same invariant")
  func shrinkKeepsTheFailure() {
    // A deliberately broken scenario: a convergence bound too short to start anything.
    var scenario = SimulationScenario.generate(seed: 3)
    scenario.convergeBoundMs = 10
    let outcome = SimulationCampaign.run(scenario)
    #expect(outcome.violation?.name == "convergence")
  }

  /// Seeds that found product bugs (docs/testing.md lists them); each must keep passing.
  /// docs/testing.md describes each: 16 (double start after a view change), 42 and 70 (a hello
  /// undoing the node's own failure), 975 and 194 (a stale request executed without quorum), 352
  /// and 155 (a change accepted without quorum), 255 (two changes on one base), 56 and 2000 (a new
  /// DC not knowing an UNCLEAN node), 196, 36 and 276 (a failed stop's fencing of a member never
  /// dispatched), 1433 (a member that missed a view's commit treated as
  /// offline), 2399 (a node left behind in a view its mates moved on from kept quorum), 1029 and
  /// 1273 (a node without quorum ran a start a DC requested before), 2 (a restarted swpacemakerd
  /// counting only itself as joined, so as DC), 145 (a member whose swpacemakerd is down treated as
  /// offline by a DC that knew nothing of its resources), 4651 (a change accepted before every
  /// member's configuration version was known), 1607 (invariant: without fencing a service on a node
  /// whose swpacemakerd is down does not count), 1924 (a DC waiting forever for an action a
  /// restarted swpacemakerd never ran), 4348 and 9737 (a change acknowledged on delivery to one side
  /// of a splitting view; two copies of one version), 7823 (a restarted swpacemakerd's hello wiping
  /// its fail counts), 9181 (a stop overtaking the start before it on one resource), 9347 (a node
  /// left behind by its view's DC kept its resources), 1967 (invariant: without fencing a group member
  /// before a member whose stop failed cannot stop either), 583 (invariant: a resource colocated with
  /// the Promoted role of a clone whose promoted instance is blocked does not start), 7662 (an
  /// interleaved clone's stop held up by the other clone's blocked instance), 6572 (invariant: a group
  /// member whose stop waits for a later member's blocked stop stays FAILED), 1366, 6495, 5522, 6862,
  /// 7306 and 8519 (simulation: a clean shutdown that only its timeout can end, every resource left
  /// there blocked, counts as a late fault), 1391, 4449 and 2319 (a second instance promoted while the
  /// first stayed promoted on a pending member), 973 and 2151 (an anonymous clone's record beyond its
  /// instances dropped, never stopped), 1331 (an instance started beside a blocked orphan), 1661
  /// (invariant: a clone ordered after a blocked primitive cannot start), 9232 (invariant: a mandatory
  /// colocation with a clone does not follow its blocked instances), 3054 (invariant: an interleaved
  /// ordering does not steer placement; an instance placed without a partner stays stopped), 7981
  /// (fail counts held across a hello kept under another instance number of the same agent instance:
  /// counted twice), 30 (a demote answered "not running" left the instance Promoted), 115 (an
  /// anonymous clone's failures read from one instance record only), 135 (a blocked instance's node
  /// given another instance), 5263 (a successful stop kept "blocked"), 5020 (two instance numbers
  /// of one agent instance on a node after a merge).
  static let regressionSeeds: [UInt64] = [
    16, 42, 70, 975, 194, 352, 155, 255, 56, 2000, 196, 36, 276, 1433, 2399, 1029, 1273, 2, 145, 4651, 1607,
    1924, 4348, 9737, 7823, 9181, 9347, 1967, 583, 7662, 6572, 1366, 6495, 5522, 6862, 7306, 8519, 1391,
    4449, 2319, 973, 2151, 1331, 1661, 9232, 3054, 7981, 30, 115, 135, 5263, 5020,
  ]

  @Test("seeds that once found bugs pass", arguments: regressionSeeds)
  func regression(seed: UInt64) {
    let outcome = SimulationCampaign.run(seed: seed)
    #expect(outcome.violation == nil, "\(SimulationCampaign.report(outcome))")
  }

  @Test("a small campaign passes")
  func campaign() {
    for seed in UInt64(1)..<UInt64(16) {
      let outcome = SimulationCampaign.run(seed: seed)
      #expect(outcome.violation == nil, "\(SimulationCampaign.report(outcome))")
      if outcome.violation != nil { break }
    }
  }
}
