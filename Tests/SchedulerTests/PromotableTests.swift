import ResourceModel
import Scheduler
import Testing

/// Promotable clones: which instance is promoted (promotion scores, role=Promoted constraints,
/// promoted-max), and what follows the Promoted role (colocations, loss of the promoted node).
struct PromotableTests {
  /// db-clone: a promotable clone of db, monitored every 10 s when Promoted and 11 s when Unpromoted.
  static func db(_ meta: [String: String] = [:]) -> Resource {
    let child = primitiveSpec(
      "db", monitor: nil, ops: [monitorOp(10, role: "Promoted"), monitorOp(11, role: "Unpromoted")])
    return .clone(Clone(id: "db-clone", meta: meta, promotable: true, child: .primitive(child)))
  }

  static func unpromoted(_ c: TestCluster, _ instance: String, on node: String) -> TestCluster {
    c.state(instance, on: node, ResourceNodeState(role: .unpromoted, activeMonitors: ["monitor_11000"]))
  }

  static func promoted(_ c: TestCluster, _ instance: String, on node: String) -> TestCluster {
    c.state(instance, on: node, ResourceNodeState(role: .promoted, activeMonitors: ["monitor_10000"]))
  }

  /// db:0 on n1 and db:1 on n2, both running unpromoted.
  static let pair = unpromoted(
    unpromoted(TestCluster("n1", "n2", resources: [db()]), "db:0", on: "n1"), "db:1", on: "n2")

  static let scenarios: [Scenario] = [
    Scenario(
      "without a promotion score no instance is promoted", pair, actions: [], summary: []),
    Scenario(
      "the instance with the highest promotion score is promoted",
      pair.node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"]),
      actions: ["cancel db:1 n2 11000", "promote db:1 n2", "monitor db:1 n2 10000"],
      orderings: [("promote db:1 n2", "monitor db:1 n2 10000")],
      summary: ["Promote db:1 ( Unpromoted -> Promoted n2 )"]),
    Scenario(
      "a role=Promoted location constraint adds to the promotion score",
      pair.node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"]).with {
        $0.constraints.locations.append(
          LocationConstraint(id: "prefer-n1", resource: "db-clone", node: "n1", score: 100, role: "Promoted"))
      },
      actions: ["cancel db:0 n1 11000", "promote db:0 n1", "monitor db:0 n1 10000"],
      summary: ["Promote db:0 ( Unpromoted -> Promoted n1 )"]),
    Scenario(
      "promoted-max=2 promotes both instances",
      TestCluster("n1", "n2", resources: [db(["promoted-max": "2"])]).with {
        $0.states = pair.states
      }.node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"]),
      actions: [
        "cancel db:0 n1 11000", "promote db:0 n1", "monitor db:0 n1 10000",
        "cancel db:1 n2 11000", "promote db:1 n2", "monitor db:1 n2 10000",
      ],
      summary: ["Promote db:0 ( Unpromoted -> Promoted n1 )", "Promote db:1 ( Unpromoted -> Promoted n2 )"]),
    Scenario(
      "on equal scores the promoted instance keeps its role",
      promoted(unpromoted(TestCluster("n1", "n2", resources: [db()]), "db:0", on: "n1"), "db:1", on: "n2")
        .node("n1", ["master-db": "10"]).node("n2", ["master-db": "10"]),
      actions: [], summary: []),
    Scenario(
      "a higher score elsewhere demotes the promoted instance before promoting the other",
      promoted(unpromoted(TestCluster("n1", "n2", resources: [db()]), "db:0", on: "n1"), "db:1", on: "n2")
        .node("n1", ["master-db": "100"]).node("n2", ["master-db": "10"]),
      actions: [
        "cancel db:1 n2 10000", "demote db:1 n2", "monitor db:1 n2 11000",
        "cancel db:0 n1 11000", "promote db:0 n1", "monitor db:0 n1 10000",
      ],
      orderings: [("demote db:1 n2", "promote db:0 n1")],
      summary: ["Promote db:0 ( Unpromoted -> Promoted n1 )", "Demote db:1 ( Promoted -> Unpromoted n2 )"]),
    Scenario(
      "a resource colocated with the Promoted role runs where the instance is promoted",
      TestCluster("n1", "n2", resources: [db(), primitive("ip")]).with { $0.states = pair.states }
        .node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"]).with {
          $0.constraints.colocations.append(
            ColocationConstraint(
              id: "ip-with-promoted", resource: "ip", withResource: "db-clone", score: .infinity,
              withRole: "Promoted"))
        }.order("db-clone", "ip", firstAction: "promote", thenAction: "start"),
      actions: [
        "cancel db:1 n2 11000", "promote db:1 n2", "monitor db:1 n2 10000", "start ip n2",
        "monitor ip n2 10000",
      ],
      orderings: [("promote db:1 n2", "start ip n2")],
      summary: ["Promote db:1 ( Unpromoted -> Promoted n2 )", "Start ip ( n2 )"]),
    Scenario(
      "when the promoted node is lost the remaining instance is promoted",
      promoted(unpromoted(TestCluster("n1", "n2", resources: [db()]), "db:0", on: "n1"), "db:1", on: "n2")
        .node("n1", ["master-db": "5"]).with {
          $0.membership["n2"] = .offline
          $0.states["db:1"] = nil
        },
      actions: ["cancel db:0 n1 11000", "promote db:0 n1", "monitor db:0 n1 10000"],
      summary: ["Promote db:0 ( Unpromoted -> Promoted n1 )"]),
    Scenario(
      "on-fail=demote: a failed promoted monitor demotes that instance and promotes the other",
      promoted(unpromoted(TestCluster("n1", "n2", resources: [db()]), "db:0", on: "n1"), "db:1", on: "n2")
        .node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"])
        .state("db:1", on: "n2", failed("monitor_10000", role: .promoted, onFail: "demote")),
      actions: [
        "demote db:1 n2", "monitor db:1 n2 11000", "cancel db:0 n1 11000", "promote db:0 n1",
        "monitor db:0 n1 10000",
      ],
      orderings: [("demote db:1 n2", "promote db:0 n1")],
      summary: ["Promote db:0 ( Unpromoted -> Promoted n1 )", "Demote db:1 ( Promoted -> Unpromoted n2 )"]),
    Scenario(
      "a failed promoted monitor (rc 9) is recovered: demote, stop, start, promote again where it scores best",
      promoted(unpromoted(TestCluster("n1", "n2", resources: [db()]), "db:0", on: "n1"), "db:1", on: "n2")
        .node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"])
        .property("start-failure-is-fatal", "true")
        .state("db:1", on: "n2", failed("monitor_10000", role: .promoted)),
      actions: [
        "demote db:1 n2", "stop db:1 n2", "start db:1 n2", "promote db:1 n2", "monitor db:1 n2 10000",
      ],
      orderings: [("demote db:1 n2", "stop db:1 n2"), ("start db:1 n2", "promote db:1 n2")],
      summary: ["Recover db:1 ( Promoted n2 )"]),
    Scenario(
      "target-role=Unpromoted keeps every instance unpromoted",
      TestCluster("n1", "n2", resources: [db(["target-role": "Unpromoted"])]).with { $0.states = pair.states }
        .node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"]),
      actions: [], summary: []),
  ]

  @Test(arguments: scenarios) func promotion(_ s: Scenario) { check(s) }

  @Test func notifyTrueAnnouncesThePromotionToEveryInstanceBeforeAndAfter() {
    let c = TestCluster("n1", "n2", resources: [Self.db(["notify": "true"])]).with {
      $0.states = Self.pair.states
    }
    .node("n1", ["master-db": "5"]).node("n2", ["master-db": "10"])
    let t = Scheduler.schedule(c.configuration, c.clusterState)
    let notes = t.actions.enumerated().filter { $0.element.kind == .notify }
    let described = Set(
      notes.map {
        "\($0.element.notification!.type)-\($0.element.notification!.operation) \($0.element.node)"
      })
    #expect(described == ["pre-promote n1", "pre-promote n2", "post-promote n1", "post-promote n2"])
    guard let promote = t.actions.firstIndex(where: { $0.kind == .promote }) else {
      Issue.record("no promote")
      return
    }
    for (i, a) in notes {
      let pair =
        a.notification!.type == "pre"
        ? Ordering(before: i, after: promote) : Ordering(before: promote, after: i)
      #expect(
        t.orderings.contains(pair),
        "\(a.notification!.type) notification on \(a.node) ordered around the promote")
      #expect(a.notification!.variables["notify_promote_uname"] == "n2")
      #expect(a.notification!.variables["notify_unpromoted_uname"] == "n1 n2")
      #expect(a.notification!.variables["notify_master_uname"] == "")
    }
  }

  @Test func withoutNotifyThereAreNoNotifications() {
    let c = Self.pair.node("n2", ["master-db": "10"])
    #expect(!Scheduler.schedule(c.configuration, c.clusterState).actions.contains { $0.kind == .notify })
  }
}

/// Orders between clones with `interleave=true` on the dependent: per node, not clone-wide.
struct InterleaveTests {
  static func clones(interleave: Bool) -> TestCluster {
    let a = Resource.clone(Clone(id: "A-clone", child: .primitive(primitiveSpec("A"))))
    let b = Resource.clone(
      Clone(
        id: "B-clone", meta: interleave ? ["interleave": "true"] : [:], child: .primitive(primitiveSpec("B")))
    )
    var c = TestCluster("n1", "n2", resources: [a, b]).order("A-clone", "B-clone")
    for (instance, node) in [("A:0", "n1"), ("A:1", "n2"), ("B:0", "n1"), ("B:1", "n2")] {
      c = c.state(instance, on: node, ResourceNodeState(role: .started, activeMonitors: ["monitor_10000"]))
    }
    return c.state("A:1", on: "n2", failed("monitor_10000"))
  }

  static let scenarios: [Scenario] = [
    Scenario(
      "interleave=true: recovering A on n2 restarts only B on n2",
      clones(interleave: true),
      actions: [
        "stop A:1 n2", "start A:1 n2", "monitor A:1 n2 10000", "stop B:1 n2", "start B:1 n2",
        "monitor B:1 n2 10000",
      ],
      orderings: [("stop B:1 n2", "stop A:1 n2"), ("start A:1 n2", "start B:1 n2")],
      summary: ["Recover A:1 ( n2 )", "Restart B:1 ( n2 ) due to required A:1 start"])
  ]

  @Test(arguments: scenarios) func interleave(_ s: Scenario) { check(s) }
}
