import ResourceModel
import Scheduler
import Testing

/// Where clone instances go (Pacemaker's instance assignment): a globally unique clone's instances are
/// distinct agent instances that keep their own history, failures and promotion scores, run up to
/// `clone-node-max` per node and are balanced over the nodes; anonymous instances are interchangeable.
struct CloneInstanceTests {
  /// web-clone: a globally unique clone of web (monitored every 10 s).
  static func unique(_ meta: [String: String] = [:]) -> Resource {
    .clone(
      Clone(
        id: "web-clone", meta: meta.merging(["globally-unique": "true"]) { a, _ in a },
        child: .primitive(primitiveSpec("web"))))
  }

  /// The instances `web:0 … web:count-1` known stopped on every node (probed).
  static func probed(_ c: TestCluster, _ count: Int, id: String = "web") -> TestCluster {
    c.with {
      for i in 0..<count {
        for n in $0.nodes { $0.states["\(id):\(i)", default: [:]][n] = ResourceNodeState(role: .stopped) }
      }
    }
  }

  /// Nodes n1 and n2 with web-clone (`meta`), every instance probed.
  static func twoNodes(_ meta: [String: String]) -> TestCluster {
    probed(TestCluster("n1", "n2", resources: [unique(meta)]), Int(meta["clone-max"] ?? "2") ?? 2)
  }

  static let unique: [Scenario] = [
    Scenario(
      "clone-node-max=2 puts two instances of a unique clone on each node, alternating",
      twoNodes(["clone-max": "4", "clone-node-max": "2"]),
      actions: [
        "start web:0 n1", "monitor web:0 n1 10000", "start web:1 n2", "monitor web:1 n2 10000",
        "start web:2 n1", "monitor web:2 n1 10000", "start web:3 n2", "monitor web:3 n2 10000",
      ],
      summary: ["Start web:0 ( n1 )", "Start web:1 ( n2 )", "Start web:2 ( n1 )", "Start web:3 ( n2 )"]),
    Scenario(
      "clone-node-max above 1 makes a clone unique when globally-unique is not set",
      probed(
        TestCluster(
          "n1", "n2",
          resources: [
            .clone(
              Clone(
                id: "web-clone", meta: ["clone-max": "3", "clone-node-max": "2"],
                child: .primitive(primitiveSpec("web"))))
          ]), 3),
      actions: [
        "start web:0 n1", "monitor web:0 n1 10000", "start web:1 n2", "monitor web:1 n2 10000",
        "start web:2 n1", "monitor web:2 n1 10000",
      ],
      summary: ["Start web:0 ( n1 )", "Start web:1 ( n2 )", "Start web:2 ( n1 )"]),
    Scenario(
      "without clone-node-max a unique clone runs one instance per node and leaves the rest stopped",
      twoNodes(["clone-max": "3"]),
      actions: ["start web:0 n1", "monitor web:0 n1 10000", "start web:1 n2", "monitor web:1 n2 10000"],
      summary: ["Start web:0 ( n1 )", "Start web:1 ( n2 )"]),
    Scenario(
      "a unique instance keeps its number where it runs",
      twoNodes(["clone-max": "2"]).run("web:1", on: "n2", monitors: ["monitor_10000"]),
      actions: ["start web:0 n1", "monitor web:0 n1 10000"],
      summary: ["Start web:0 ( n1 )"]),
    Scenario(
      "without stickiness a second instance on a node moves to a node that has none, to balance",
      twoNodes(["clone-max": "2", "clone-node-max": "2", "resource-stickiness": "0"]).run(
        "web:0", on: "n1", monitors: ["monitor_10000"]
      )
      .run("web:1", on: "n1", monitors: ["monitor_10000"]),
      actions: ["stop web:1 n1", "start web:1 n2", "monitor web:1 n2 10000"],
      orderings: [("stop web:1 n1", "start web:1 n2")],
      summary: ["Move web:1 ( n1 -> n2 )"]),
    Scenario(
      "the default clone stickiness (1) keeps unique instances where they run",
      twoNodes(["clone-max": "2", "clone-node-max": "2"]).run("web:0", on: "n1", monitors: ["monitor_10000"])
        .run("web:1", on: "n1", monitors: ["monitor_10000"]),
      actions: [], summary: []),
    Scenario(
      "stickiness keeps unique instances together rather than balancing them",
      twoNodes(["clone-max": "2", "clone-node-max": "2", "resource-stickiness": "100"])
        .run("web:0", on: "n1", monitors: ["monitor_10000"]).run(
          "web:1", on: "n1", monitors: ["monitor_10000"]),
      actions: [], summary: []),
    Scenario(
      "a failure of a unique instance bans only that instance from its node",
      twoNodes(["clone-max": "2", "clone-node-max": "2", "migration-threshold": "1"])
        .state("web:0", on: "n1", failed("monitor_10000")).run(
          "web:1", on: "n1", monitors: ["monitor_10000"]),
      actions: ["stop web:0 n1", "start web:0 n2", "monitor web:0 n2 10000"],
      summary: ["Recover web:0 ( n1 -> n2 )"]),
    Scenario(
      "each instance of a unique clone is probed; the starts wait for every probe",
      TestCluster("n1", resources: [unique(["clone-max": "2"])]),
      actions: ["probe web:0 n1", "probe web:1 n1", "start web:0 n1", "monitor web:0 n1 10000"],
      orderings: [("probe web:0 n1", "start web:0 n1"), ("probe web:1 n1", "start web:0 n1")],
      summary: ["Start web:0 ( n1 )"]),
    Scenario(
      "the resource's own record from before a unique clone was made of it is another agent instance: it stops",
      twoNodes(["clone-max": "1"]).run("web", on: "n1"),
      actions: ["stop web n1", "start web:0 n1", "monitor web:0 n1 10000"],
      summary: ["Start web:0 ( n1 )", "Stop web ( n1 ) due to node availability"]),
  ]

  /// db-clone: a globally unique promotable clone of db with its role monitors.
  static let uniqueDB = Resource.clone(
    Clone(
      id: "db-clone", meta: ["globally-unique": "true", "clone-max": "2"], promotable: true,
      child: .primitive(
        primitiveSpec(
          "db", monitor: nil, ops: [monitorOp(10, role: "Promoted"), monitorOp(11, role: "Unpromoted")]))))

  static let promotion: [Scenario] = [
    Scenario(
      "a unique instance's promotion score is named after the instance, never after the resource",
      TestCluster("n1", "n2", resources: [uniqueDB])
        .state("db:0", on: "n1", ResourceNodeState(role: .unpromoted, activeMonitors: ["monitor_11000"]))
        .state("db:1", on: "n2", ResourceNodeState(role: .unpromoted, activeMonitors: ["monitor_11000"]))
        .with {
          $0.states["db:0", default: [:]]["n2"] = ResourceNodeState(role: .stopped)
          $0.states["db:1", default: [:]]["n1"] = ResourceNodeState(role: .stopped)
        }
        .node("n1", ["master-db": "100"]).node("n2", ["master-db:1": "10"]),
      actions: ["cancel db:1 n2 11000", "promote db:1 n2", "monitor db:1 n2 10000"],
      summary: ["Promote db:1 ( Unpromoted -> Promoted n2 )"]),
    Scenario(
      "a unique instance's promotion score counts only where its state is known, once known somewhere",
      TestCluster("n1", "n2", resources: [uniqueDB])
        .with {
          for i in 0..<2 { $0.states["db:\(i)", default: [:]]["n1"] = ResourceNodeState(role: .stopped) }
        }
        .location("db-clone", "n2", 100).node("n2", ["master-db:0": "10"]),
      actions: [
        "probe db:0 n2", "probe db:1 n2", "start db:0 n2", "monitor db:0 n2 11000", "start db:1 n1",
        "monitor db:1 n1 11000",
      ],
      summary: ["Start db:0 ( n2 )", "Start db:1 ( n1 )"]),
  ]

  static let anonymous: [Scenario] = [
    Scenario(
      "a freshly started promotable instance gets its Unpromoted monitor at once (no demote to wait for)",
      TestCluster("n1", "n2", resources: [PromotableTests.db()]).with {
        for n in ["n1", "n2"] { $0.states["db", default: [:]][n] = ResourceNodeState(role: .stopped) }
      },
      actions: ["start db:0 n1", "monitor db:0 n1 11000", "start db:1 n2", "monitor db:1 n2 11000"],
      orderings: [("start db:0 n1", "monitor db:0 n1 11000")],
      summary: ["Start db:0 ( n1 )", "Start db:1 ( n2 )"]),
    Scenario(
      "an anonymous instance running where the clone is banned stops; another starts where it may run",
      TestCluster("n1", "n2", resources: [ProbeMonitorTests.clone()]).with {
        $0.states["base", default: [:]]["n1"] = ResourceNodeState(role: .stopped)
        $0.states["base", default: [:]]["n2"] = ResourceNodeState(
          role: .started, activeMonitors: ["monitor_10000"])
      }.location("base-clone", "n2", -.infinity),
      actions: ["stop base:0 n2", "start base:1 n1", "monitor base:1 n1 10000"],
      summary: ["Stop base:0 ( n2 ) due to node availability", "Start base:1 ( n1 )"]),
    Scenario(
      "a started promotable instance that stops is shown in its Unpromoted role",
      TestCluster("n1", "n2", resources: [PromotableTests.db()]).with {
        $0.states["db", default: [:]]["n1"] = ResourceNodeState(
          role: .started, activeMonitors: ["monitor_11000"])
        $0.states["db", default: [:]]["n2"] = ResourceNodeState(role: .stopped)
      }.location("db-clone", "n1", -.infinity).location("db-clone", "n2", -.infinity),
      actions: ["stop db:0 n1"],
      summary: ["Stop db:0 ( Unpromoted n1 ) due to node availability"]),
  ]

  @Test(arguments: unique) func uniqueClone(_ s: Scenario) { check(s) }
  @Test(arguments: promotion) func uniquePromotion(_ s: Scenario) { check(s) }
  @Test(arguments: anonymous) func anonymousInstances(_ s: Scenario) { check(s) }
}
