import ResourceModel
import Scheduler
import Testing

/// Anonymous clones: how many instances run where (clone-max, clone-node-max), instance stickiness,
/// and orders and colocations that name a clone.
struct CloneTests {
  static func clone(_ id: String, _ meta: [String: String] = [:]) -> Resource {
    .clone(Clone(id: "\(id)-clone", meta: meta, child: .primitive(primitiveSpec(id))))
  }
  static let running = ResourceNodeState(role: .started, activeMonitors: ["monitor_10000"])
  static let stopped = ResourceNodeState(role: .stopped)

  /// Every instance key of `id` known stopped on every node (no probes), then `running` where given.
  static func cluster(
    _ nodes: [String], _ resources: [Resource], ids: [String], running: [(String, String)] = []
  )
    -> TestCluster
  {
    var c = TestCluster(resources: resources)
    c.nodes = nodes
    for id in ids { for n in nodes { c = c.state(id, on: n, stopped) } }
    for (instance, node) in running {
      c = c.state(String(InstanceAlias.base(instance)), on: node, Self.stopped)
      c = c.state(instance, on: node, Self.running)
    }
    return c
  }

  static let scenarios: [Scenario] = [
    Scenario(
      "an anonymous clone runs one instance on every node",
      cluster(["n1", "n2", "n3"], [clone("web")], ids: ["web"]),
      actions: [
        "start web:0 n1", "monitor web:0 n1 10000", "start web:1 n2", "monitor web:1 n2 10000",
        "start web:2 n3", "monitor web:2 n3 10000",
      ],
      summary: ["Start web:0 ( n1 )", "Start web:1 ( n2 )", "Start web:2 ( n3 )"]),
    Scenario(
      "clone-max limits the number of instances",
      cluster(["n1", "n2", "n3"], [clone("web", ["clone-max": "2"])], ids: ["web"]),
      actions: ["start web:0 n1", "monitor web:0 n1 10000", "start web:1 n2", "monitor web:1 n2 10000"],
      summary: ["Start web:0 ( n1 )", "Start web:1 ( n2 )"]),
    Scenario(
      "clone-node-max above 1 makes the clone globally unique: several instances share a node",
      cluster(
        ["n1", "n2"], [clone("web", ["clone-max": "4", "clone-node-max": "2"])],
        ids: ["web:0", "web:1", "web:2", "web:3"]),
      actions: [
        "start web:0 n1", "monitor web:0 n1 10000", "start web:1 n2", "monitor web:1 n2 10000",
        "start web:2 n1", "monitor web:2 n1 10000", "start web:3 n2", "monitor web:3 n2 10000",
      ],
      summary: ["Start web:0 ( n1 )", "Start web:1 ( n2 )", "Start web:2 ( n1 )", "Start web:3 ( n2 )"]),
    Scenario(
      "instances stay where they run when a node joins (instance stickiness 1 by default)",
      cluster(
        ["n1", "n2", "n3"], [clone("web", ["clone-max": "2"])], ids: ["web"],
        running: [("web:0", "n2"), ("web:1", "n3")]),
      actions: [], summary: []),
    Scenario(
      "instance stickiness 1 outweighs a tie-making preference for the joining node",
      cluster(
        ["n1", "n2", "n3"], [clone("web", ["clone-max": "2"])], ids: ["web"],
        running: [("web:0", "n2"), ("web:1", "n3")]
      ).location("web-clone", "n1", Score(1)),
      actions: [], summary: []),
    Scenario(
      "ordered=true starts the instances one after another by number",
      cluster(["n1", "n2", "n3"], [clone("web", ["ordered": "true"])], ids: ["web"]),
      actions: [
        "start web:0 n1", "monitor web:0 n1 10000", "start web:1 n2", "monitor web:1 n2 10000",
        "start web:2 n3", "monitor web:2 n3 10000",
      ],
      orderings: [("start web:0 n1", "start web:1 n2"), ("start web:1 n2", "start web:2 n3")],
      summary: ["Start web:0 ( n1 )", "Start web:1 ( n2 )", "Start web:2 ( n3 )"]),
    Scenario(
      "ordered=true stops the instances in reverse order",
      cluster(
        ["n1", "n2"], [clone("web", ["ordered": "true", "target-role": "Stopped"])], ids: ["web"],
        running: [("web:0", "n1"), ("web:1", "n2")]),
      actions: ["stop web:0 n1", "stop web:1 n2"],
      orderings: [("stop web:1 n2", "stop web:0 n1")],
      summary: ["Stop web:0 ( n1 ) due to node availability", "Stop web:1 ( n2 ) due to node availability"]),
    Scenario(
      "order A then B-clone: every instance of B starts after A (B:0 takes the node with fewer resources)",
      cluster(["n1", "n2"], [primitive("A"), clone("B")], ids: ["A", "B"]).order("A", "B-clone"),
      actions: [
        "start A n1", "monitor A n1 10000", "start B:0 n2", "monitor B:0 n2 10000", "start B:1 n1",
        "monitor B:1 n1 10000",
      ],
      orderings: [("start A n1", "start B:0 n2"), ("start A n1", "start B:1 n1")],
      summary: ["Start A ( n1 )", "Start B:0 ( n2 )", "Start B:1 ( n1 )"]),
    Scenario(
      "colocation B with A-clone: B runs where an instance of A runs",
      cluster(
        ["n1", "n2", "n3"], [clone("A", ["clone-max": "1"]), primitive("B")], ids: ["A", "B"],
        running: [("A:0", "n2")]
      ).colocate("B", with: "A-clone", .infinity),
      actions: ["start B n2", "monitor B n2 10000"],
      summary: ["Start B ( n2 )"]),
  ]

  @Test(arguments: scenarios) func clones(_ s: Scenario) { check(s) }
}
