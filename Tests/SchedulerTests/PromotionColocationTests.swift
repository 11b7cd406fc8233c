import ResourceModel
import Scheduler
import Testing

/// Which instance is promoted when other resources are colocated with the clone's roles: resources
/// colocated with the Promoted role pull the promotion to where they can run (Pacemaker's
/// `sort_promotable_instances`), `Unpromoted with X` keeps the promoted instance away from X, and
/// `node-attribute` colocations match nodes by that attribute's value.
struct PromotionColocationTests {
  static let db = PromotableTests.db

  /// db promoted on n2, unpromoted on n1, both with promotion score 75.
  static let promotedOnN2 = PromotableTests.promoted(
    PromotableTests.unpromoted(
      TestCluster("n1", "n2", resources: [db([:]), primitive("ip")]), "db:0", on: "n1"),
    "db:1", on: "n2"
  ).node("n1", ["master-db": "75"]).node("n2", ["master-db": "75"])

  static func promotedWith(_ c: TestCluster, _ dependent: String, score: Score = .infinity) -> TestCluster {
    c.with {
      $0.constraints.colocations.append(
        ColocationConstraint(
          id: "\(dependent)-with-promoted", resource: dependent, withResource: "db-clone", score: score,
          withRole: "Promoted"))
    }
  }

  static let scenarios: [Scenario] = [
    Scenario(
      "on equal promotion scores the promoted instance stays where its colocated resource can run",
      promotedWith(promotedOnN2, "ip"),
      actions: ["start ip n2", "monitor ip n2 10000"],
      summary: ["Start ip ( n2 )"]),
    Scenario(
      "a resource colocated with the Promoted role that cannot run on the promoted node moves the promotion",
      promotedWith(promotedOnN2, "ip").location("ip", "n2", .minusInfinity),
      actions: [
        "cancel db:0 n1 11000", "promote db:0 n1", "monitor db:0 n1 10000", "cancel db:1 n2 10000",
        "demote db:1 n2", "monitor db:1 n2 11000", "start ip n1", "monitor ip n1 10000",
      ],
      orderings: [("demote db:1 n2", "promote db:0 n1")],
      summary: [
        "Promote db:0 ( Unpromoted -> Promoted n1 )", "Demote db:1 ( Promoted -> Unpromoted n2 )",
        "Start ip ( n1 )",
      ]),
    Scenario(
      "an optional colocation with the Promoted role adds its dependent's preference to the promotion",
      promotedWith(promotedOnN2, "ip", score: 100).location("ip", "n1", 200),
      actions: [
        "cancel db:0 n1 11000", "promote db:0 n1", "monitor db:0 n1 10000", "cancel db:1 n2 10000",
        "demote db:1 n2", "monitor db:1 n2 11000", "start ip n1", "monitor ip n1 10000",
      ],
      summary: [
        "Promote db:0 ( Unpromoted -> Promoted n1 )", "Demote db:1 ( Promoted -> Unpromoted n2 )",
        "Start ip ( n1 )",
      ]),
    Scenario(
      "Unpromoted with X: the promoted instance moves away from X's node",
      promotedOnN2.run("ip", on: "n2").with {
        $0.constraints.colocations.append(
          ColocationConstraint(
            id: "db-unpromoted-with-ip", resource: "db-clone", withResource: "ip", score: .infinity,
            role: "Unpromoted"))
      },
      actions: [
        "cancel db:0 n1 11000", "promote db:0 n1", "monitor db:0 n1 10000", "cancel db:1 n2 10000",
        "demote db:1 n2", "monitor db:1 n2 11000",
      ],
      summary: ["Promote db:0 ( Unpromoted -> Promoted n1 )", "Demote db:1 ( Promoted -> Unpromoted n2 )"]),
    Scenario(
      "Promoted with Promoted by node-attribute: promoted on every node of the primary's site",
      siteClusters(),
      actions: [
        "cancel dep:0 n1 11000", "promote dep:0 n1", "monitor dep:0 n1 10000", "cancel dep:1 n2 11000",
        "promote dep:1 n2", "monitor dep:1 n2 10000", "cancel dep:2 n3 10000", "demote dep:2 n3",
        "monitor dep:2 n3 11000",
      ],
      summary: [
        "Promote dep:0 ( Unpromoted -> Promoted n1 )", "Promote dep:1 ( Unpromoted -> Promoted n2 )",
        "Demote dep:2 ( Promoted -> Unpromoted n3 )",
      ]),
  ]

  /// A globally unique promotable clone with both instances on n1, each with its own promotion score.
  static let twoOnOneNode: TestCluster = {
    let spec = primitiveSpec(
      "u", monitor: nil, ops: [monitorOp(10, role: "Promoted"), monitorOp(11, role: "Unpromoted")])
    let meta = ["globally-unique": "true", "clone-max": "2", "clone-node-max": "2"]
    return TestCluster(
      "n1", resources: [.clone(Clone(id: "u-clone", meta: meta, promotable: true, child: .primitive(spec)))]
    )
    .state("u:0", on: "n1", ResourceNodeState(role: .stopped))
    .state("u:1", on: "n1", ResourceNodeState(role: .stopped))
    .node("n1", ["master-u:0": "5", "master-u:1": "10"])
  }()

  @Test func onEqualNodeScoresTheInstanceWithTheHigherOwnPriorityIsPromoted() {
    let t = Scheduler.schedule(Self.twoOnOneNode.configuration, Self.twoOnOneNode.clusterState)
    #expect(t.summary == ["Start u:0 ( n1 )", "Promote u:1 ( Stopped -> Promoted n1 )"])
  }

  /// Two sites of two nodes (site=a: n1, n2; site=b: n3, n4). prim-clone is promoted on n1; dep-clone
  /// (promoted-max=2) is promoted on n3 and must be promoted on the nodes of prim's promoted site.
  static func siteClusters() -> TestCluster {
    func promotable(_ id: String, _ child: String, _ meta: [String: String]) -> Resource {
      let spec = primitiveSpec(
        child, monitor: nil, ops: [monitorOp(10, role: "Promoted"), monitorOp(11, role: "Unpromoted")])
      return .clone(Clone(id: id, meta: meta, promotable: true, child: .primitive(spec)))
    }
    var c = TestCluster(
      "n1", "n2", "n3", "n4",
      resources: [
        promotable("prim-clone", "prim", [:]), promotable("dep-clone", "dep", ["promoted-max": "2"]),
      ])
    for (i, n) in ["n1", "n2", "n3", "n4"].enumerated() {
      c = c.node(
        n,
        [
          "site": i < 2 ? "a" : "b", "master-prim": n == "n1" ? "10" : "5",
          "master-dep": n == "n3" ? "10" : "5",
        ])
      c =
        n == "n1"
        ? PromotableTests.promoted(c, "prim:\(i)", on: n) : PromotableTests.unpromoted(c, "prim:\(i)", on: n)
      c =
        n == "n3"
        ? PromotableTests.promoted(c, "dep:\(i)", on: n) : PromotableTests.unpromoted(c, "dep:\(i)", on: n)
    }
    return c.with {
      $0.constraints.colocations.append(
        ColocationConstraint(
          id: "dep-with-prim", resource: "dep-clone", withResource: "prim-clone", score: .infinity,
          role: "Promoted", withRole: "Promoted", nodeAttribute: "site"))
    }
  }

  @Test(arguments: scenarios) func promotionWithColocations(_ s: Scenario) { check(s) }
}
