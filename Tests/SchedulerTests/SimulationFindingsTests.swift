import ResourceModel
import Scheduler
import Testing

/// Plans the whole-cluster simulation (`sim`, docs/testing.md) found wrong once its clusters had
/// groups and clones; each test is the DC's state at the faulty transition, cut down.
struct SimulationFindingsTests {
  /// Seed 135: db:0's stop failed on n3 without fencing (blocked there). Pacemaker (2.1.5 too)
  /// assigns the blocked instance last and placed db:2 on n3 — a second start of the one agent
  /// instance an anonymous clone has on a node.
  @Test func aBlockedInstanceKeepsItsNodeFromTheOtherInstances() {
    var c = TestCluster("n1", "n2", "n3", resources: [primitive("svc"), PromotableTests.db()])
    c.unknown = ["svc"]
    c = c.state(
      "db:0", on: "n3",
      ResourceNodeState(
        role: .unpromoted, failed: true, stopFailed: true, failCounts: ["stop_0": 1],
        failedOperation: "stop_0",
        onFail: "block", blocked: true)
    ).node("n3", ["master-db": "5"])
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    #expect(
      !t.actions.contains { $0.node == "n3" && $0.resource?.hasPrefix("db") == true && $0.kind != .notify })
    let starts = t.actions.filter { $0.kind == .start && $0.resource?.hasPrefix("db:") == true }.map(\.node)
    #expect(Set(starts) == ["n1", "n2"] && starts.count == 2, "\(t.summary)")
  }
}

extension SimulationFindingsTests {
  /// Seed 115: prm:3's start failed on n1 (INFINITY fail count) after a probe had recorded prm:2
  /// stopped there. The scheduler read only prm:2's record, started the clone on n1, then stopped it
  /// for prm:3's fail count — every second, forever. With two nodes db:2 and db:3 are numbers above
  /// clone-max (orphans); with four they are instances.
  @Test(arguments: [2, 4]) func anAnonymousInstancesFailuresOnANodeCountForTheClone(nodes: Int) {
    var c = TestCluster("n1", "n2", resources: [PromotableTests.db()])
    c.nodes = (1...nodes).map { "n\($0)" }
    c =
      c
      .state("db:2", on: "n1", ResourceNodeState(role: .stopped))
      .state(
        "db:3", on: "n1",
        ResourceNodeState(role: .stopped, failCounts: ["start_0": Score.infinityValue], lastFailure: 999_990)
      )
      .state("db:0", on: "n2", ResourceNodeState(role: .stopped))
      .state("db:1", on: "n3", ResourceNodeState(role: .stopped))
      .state("db:0", on: "n4", ResourceNodeState(role: .stopped))
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    #expect(!t.actions.contains { $0.node == "n1" && $0.kind == .start }, "\(t.summary)")
    #expect(t.actions.contains { $0.node == "n2" && $0.kind == .start }, "\(t.summary)")
  }
}
