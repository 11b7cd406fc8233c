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

extension SimulationFindingsTests {
  /// Seeds 1967, 2306, 4355, 5768, 7615, 8640 (an invariant, not a plan, was wrong): gdummy2's stop
  /// failed on n1 without fencing; gsvc1, before it in the group, cannot stop there either — a group
  /// stops in reverse order (Pacemaker's bug-5028). A partition that lost n1 starts the group
  /// elsewhere, so gsvc1 stays active twice just as the blocked gdummy2 does.
  @Test func aGroupMemberBeforeABlockedMemberIsNotStopped() {
    let c = TestCluster("n1", "n2", resources: [group("grp", ["gsvc1", "gdummy2"])])
      .run("gsvc1", on: "n1")
      .state(
        "gdummy2", on: "n1",
        ResourceNodeState(
          role: .started, failed: true, stopFailed: true, failCounts: ["stop_0": 1], lastFailure: 999_990,
          failedOperation: "stop_0", onFail: "block", blocked: true)
      )
      .location("grp", "n1", .minusInfinity)
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    #expect(!t.actions.contains { $0.resource == "gsvc1" && $0.kind == .stop }, "\(t.summary)")
    #expect(t.summary.contains("Stop gsvc1 ( n1 ) due to unrunnable gdummy2 stop (blocked)"), "\(t.summary)")
  }

  /// Seeds 583, 2788 (an invariant, not a plan, was wrong): prm's stop failed on n1 while Promoted,
  /// without fencing. The blocked instance keeps the role and gets no promote action, no other
  /// instance may take it (promoted-max 1), so a resource colocated with the Promoted role cannot
  /// start anywhere — as Pacemaker 2.1.5 plans it ("Start dummy3 ( n1 ) due to colocation with …
  /// (blocked)", promoted-demote-block with such a dependent added).
  @Test func aResourceColocatedWithABlockedPromotedInstanceDoesNotStart() {
    let c = PromotionColocationTests.promotedWith(
      TestCluster("n1", "n2", resources: [PromotableTests.db(["promoted-max": "1"]), primitive("dummy3")])
        .state(
          "db:0", on: "n1",
          ResourceNodeState(
            role: .promoted, failed: true, stopFailed: true, failCounts: ["stop_0": 1], lastFailure: 999_990,
            failedOperation: "stop_0", onFail: "block", blocked: true)
        )
        .with { $0.states["db:1", default: [:]]["n2"] = ResourceNodeState(role: .unpromoted) }
        .node("n1", ["master-db": "10"]).node("n2", ["master-db": "5"]),
      "dummy3")
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    #expect(!t.actions.contains { $0.resource == "dummy3" && $0.kind == .start }, "\(t.summary)")
    #expect(!t.actions.contains { $0.kind == .promote }, "\(t.summary)")
    #expect(t.summary.contains { $0.hasPrefix("Start dummy3 ( n1 ) due to colocation with") }, "\(t.summary)")
  }

  /// Seed 7662: cln-clone (interleave=true) is ordered after prm-clone; cln's stop failed on n4
  /// without fencing (blocked), then prm failed there. The interleaved "stop cln then stop prm" paired
  /// the blocked cln instance with prm's, so prm's recovery on n4 was blocked forever (and nothing was
  /// promoted). Pacemaker (crm_simulate 2.1.5 on the same cluster) pairs only instances that have not
  /// failed (`pcmk__instance_matches`): a blocked instance is no partner, and prm is recovered.
  @Test func aBlockedInstanceDoesNotHoldUpTheInterleavedStopOfTheOtherClone() {
    let c = InterleaveTests.clones(interleave: true).state(
      "B:1", on: "n2",
      ResourceNodeState(
        role: .started, failed: true, stopFailed: true, failCounts: ["stop_0": 1], failedOperation: "stop_0",
        onFail: "block", blocked: true))
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    #expect(
      t.actions.contains { $0.kind == .stop && $0.resource == "A:1" && $0.node == "n2" }, "\(t.summary)")
    #expect(
      t.actions.contains { $0.kind == .start && $0.resource == "A:1" && $0.node == "n2" }, "\(t.summary)")
    #expect(!t.actions.contains { $0.resource == "B:1" }, "\(t.summary)")
  }

  /// Seeds 1391, 4449 (fencing on): swpacemakerd died on n3, which stayed a member of the quorate view
  /// with db promoted; the DC counted n3 pending (not joined), could not demote db there (blocked),
  /// and promoted db on n1 as well — two primaries on live nodes of one view. The instance promoted
  /// on a pending member keeps its place, as a blocked stop keeps a primitive where it is.
  @Test func anInstancePromotedOnAPendingMemberKeepsItsPromotedPlace() {
    var c = TestCluster("n1", "n2", "n3", resources: [PromotableTests.db(["promoted-max": "1"])])
    c = PromotableTests.promoted(c, "db:1", on: "n3")
    c = PromotableTests.unpromoted(c, "db:2", on: "n1").node("n1", ["master-db": "5"])
    c = c.node("n3", ["master-db": "10"])
    var state = c.clusterState
    for i in state.nodes.indices where state.nodes[i].name == "n3" { state.nodes[i].pending = true }
    let t = Scheduler.schedule(c.configuration, state)
    #expect(!t.actions.contains { $0.kind == .promote }, "\(t.summary)")
    #expect(!t.actions.contains { $0.node == "n3" }, "\(t.summary)")
  }
}

extension SimulationFindingsTests {
  /// Seeds 973, 2151 (no fencing): each side of a partition started `cln:0`; after the merge cln:0 ran
  /// on n2 and n3 and cln:1 on n1 (clone-max 2). The third record found no free instance and was
  /// dropped: the DC saw the clone unknown on n3, probed it every second, and never stopped it. As
  /// Pacemaker's `find_anonymous_clone`, it becomes an orphan instance, which stops.
  @Test func anAnonymousCloneActiveBeyondItsInstancesStopsAsAnOrphan() {
    var c = TestCluster("n1", "n2", "n3", resources: [CloneTests.clone("cln", ["clone-max": "2"])])
    c = c.run("cln:1", on: "n1").run("cln:0", on: "n2").run("cln:0", on: "n3")
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    #expect(!t.actions.contains { $0.kind == .probe }, "\(t.summary)")
    #expect(!t.actions.contains { $0.kind == .start }, "\(t.summary)")
    let stops = t.actions.filter { $0.kind == .stop }
    #expect(stops.count == 1 && ["n2", "n3"].contains(stops.first?.node ?? ""), "\(t.summary)")
  }

  /// Seed 1331 (no fencing): clone-max was lowered, the stop of the orphan cln:3 failed on n5 (blocked
  /// there); when another node went down the DC placed cln:2 on n5 — a second start of the one agent
  /// instance an anonymous clone has on a node. A blocked orphan keeps its node from the instances.
  @Test func aBlockedOrphanKeepsItsNodeFromTheClonesInstances() {
    var c = TestCluster("n1", "n2", resources: [CloneTests.clone("cln", ["clone-max": "1"])])
    c = c.state(
      "cln:1", on: "n2",
      ResourceNodeState(
        role: .started, failed: true, stopFailed: true, failCounts: ["stop_0": 1], lastFailure: 999_990,
        failedOperation: "stop_0", onFail: "block", blocked: true)
    ).location("cln-clone", "n1", .minusInfinity)
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    #expect(!t.actions.contains { $0.kind == .start }, "\(t.summary)")
  }
}
