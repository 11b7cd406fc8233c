import ResourceModel
import Scheduler
import Testing

/// Groups, and what the administrator controls: target-role, is-managed, maintenance, standby,
/// stop-all-resources, and resources removed from the configuration.
@Suite struct GroupAndLifecycleTests {
  static let g3 = TestCluster("n1", "n2", resources: [group("g", ["m1", "m2", "m3"])])
  static func running(_ c: TestCluster, on node: String) -> TestCluster {
    c.run("m1", on: node).run("m2", on: node).run("m3", on: node)
  }
  static let monitors = ["monitor m1 n1 10000", "monitor m2 n1 10000", "monitor m3 n1 10000"]

  static let groups: [Scenario] = [
    Scenario(
      "a group starts its members in order on one node",
      g3,
      actions: Set(["start m1 n1", "start m2 n1", "start m3 n1"] + monitors),
      orderings: [("start m1 n1", "start m2 n1"), ("start m2 n1", "start m3 n1")],
      summary: ["Start m1 ( n1 )", "Start m2 ( n1 )", "Start m3 ( n1 )"]),
    Scenario(
      "a location on the group places all its members",
      g3.location("g", "n2", 10),
      actions: [
        "start m1 n2", "start m2 n2", "start m3 n2", "monitor m1 n2 10000", "monitor m2 n2 10000",
        "monitor m3 n2 10000",
      ],
      summary: ["Start m1 ( n2 )", "Start m2 ( n2 )", "Start m3 ( n2 )"]),
    Scenario(
      "a member that cannot run stops the members after it; earlier ones keep running",
      running(TestCluster("n1", resources: [group("g", ["m1", "m2", "m3"])]), on: "n1")
        .location("m2", "n1", .minusInfinity),
      actions: ["stop m2 n1", "stop m3 n1"],
      orderings: [("stop m3 n1", "stop m2 n1")],
      summary: ["Stop m2 ( n1 ) due to node availability", "Stop m3 ( n1 ) due to node availability"]),
    Scenario(
      "a later member's ban moves the whole group where every member can run",
      running(g3, on: "n1").location("m3", "n1", .minusInfinity),
      actions: [
        "stop m1 n1", "stop m2 n1", "stop m3 n1", "start m1 n2", "start m2 n2", "start m3 n2",
        "monitor m1 n2 10000", "monitor m2 n2 10000", "monitor m3 n2 10000",
      ],
      orderings: [
        ("stop m3 n1", "stop m2 n1"), ("stop m2 n1", "stop m1 n1"), ("stop m1 n1", "start m1 n2"),
        ("start m1 n2", "start m2 n2"), ("start m2 n2", "start m3 n2"),
      ],
      summary: ["Move m1 ( n1 -> n2 )", "Move m2 ( n1 -> n2 )", "Move m3 ( n1 -> n2 )"]),
    Scenario(
      "group stickiness is the sum of its members' stickiness",
      running(
        TestCluster(
          "n1", "n2", resources: [group("g", ["m1", "m2", "m3"], memberMeta: ["resource-stickiness": "1"])]),
        on: "n1"
      ).location("g", "n2", 2),
      actions: [], summary: []),
    Scenario(
      "target-role Stopped on a group stops its members in reverse order",
      running(
        TestCluster("n1", resources: [group("g", ["m1", "m2", "m3"], ["target-role": "Stopped"])]), on: "n1"),
      actions: ["stop m1 n1", "stop m2 n1", "stop m3 n1"],
      orderings: [("stop m3 n1", "stop m2 n1"), ("stop m2 n1", "stop m1 n1")],
      summary: [
        "Stop m1 ( n1 ) due to node availability", "Stop m2 ( n1 ) due to node availability",
        "Stop m3 ( n1 ) due to node availability",
      ]),
    Scenario(
      "restarting a group member restarts the members after it",
      running(TestCluster("n1", resources: [group("g", ["m1", "m2", "m3"])]), on: "n1")
        .state("m2", on: "n1", failed("monitor_10000")),
      actions: [
        "stop m2 n1", "start m2 n1", "monitor m2 n1 10000", "stop m3 n1", "start m3 n1",
        "monitor m3 n1 10000",
      ],
      orderings: [("stop m3 n1", "stop m2 n1"), ("start m2 n1", "start m3 n1")],
      summary: ["Recover m2 ( n1 )", "Restart m3 ( n1 ) due to required m2 start"]),
  ]

  static let web = TestCluster("n1", "n2", resources: [primitive("web")])

  static let lifecycle: [Scenario] = [
    Scenario(
      "target-role Stopped stops a running resource",
      TestCluster("n1", resources: [primitive("web", ["target-role": "Stopped"])]).run("web", on: "n1"),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"]),
    Scenario(
      "target-role Stopped keeps a stopped resource stopped",
      TestCluster("n1", resources: [primitive("web", ["target-role": "Stopped"])]),
      actions: [], summary: []),
    Scenario(
      "target-role Started (the default) starts it",
      TestCluster("n1", resources: [primitive("web", ["target-role": "Started"])]),
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "is-managed=false: a misplaced resource is left where it is",
      TestCluster("n1", "n2", resources: [primitive("web", ["is-managed": "false"])]).run("web", on: "n1")
        .location("web", "n1", .minusInfinity),
      actions: [], summary: []),
    Scenario(
      "is-managed=false: a stopped resource is not started",
      TestCluster("n1", resources: [primitive("web", ["is-managed": "false"])]),
      actions: [], summary: []),
    Scenario(
      "maintenance-mode: nothing starts or stops, and active monitors are cancelled",
      TestCluster("n1", resources: [primitive("web"), primitive("db")]).run("web", on: "n1")
        .property("maintenance-mode", "true"),
      actions: ["cancel web n1 10000"], summary: []),
    Scenario(
      "node maintenance: resources there are left alone with monitors cancelled; nothing new starts there",
      TestCluster("n1", "n2", resources: [primitive("web"), primitive("db")]).run("web", on: "n1")
        .node("n1", ["maintenance": "true"]).location("web", "n1", .minusInfinity).location("db", "n1", 100),
      actions: ["cancel web n1 10000", "start db n2", "monitor db n2 10000"],
      summary: ["Start db ( n2 )"]),
    Scenario(
      "standby: resources move off the node",
      web.run("web", on: "n1").node("n1", ["standby": "on"]),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "standby: nothing new starts on the node",
      web.node("n1", ["standby": "true"]).location("web", "n1", 100),
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "a node whose resource manager is shutting down: resources move off it",
      web.run("web", on: "n1").with { $0.membership["n1"] = .shuttingDown },
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      orderings: [("stop web n1", "start web n2")],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "stop-all-resources stops everything",
      TestCluster("n1", resources: [primitive("web"), primitive("db")]).run("web", on: "n1")
        .property("stop-all-resources", "true"),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"]),
    Scenario(
      "a resource removed from the configuration is stopped where it still runs",
      web.with { $0.states["old", default: [:]]["n2"] = ResourceNodeState(role: .started) },
      actions: ["start web n1", "monitor web n1 10000", "stop old n2"],
      summary: ["Start web ( n1 )", "Stop old ( n2 ) due to node availability"]),
  ]

  /// `swpcs resource update` of a running resource's parameters: it restarts where it runs (and what
  /// is ordered after it), as Pacemaker does when the operation digest changes.
  static func runningWith(_ c: TestCluster, _ id: String, on node: String, definition: String?) -> TestCluster
  {
    c.state(
      id, on: node,
      ResourceNodeState(role: .started, activeMonitors: ["monitor_10000"], definition: definition))
  }
  static let current = ResourceDefinition.digest(
    agent: AgentSpec(standard: .ocf, provider: "pacemaker", type: "Dummy"), attributes: [])
  static let definitions: [Scenario] = [
    Scenario(
      "a running resource whose parameters changed restarts in place, and the members after it",
      runningWith(running(g3, on: "n1"), "m2", on: "n1", definition: "0123abcd"),
      actions: [
        "stop m2 n1", "stop m3 n1", "start m2 n1", "start m3 n1", "monitor m2 n1 10000",
        "monitor m3 n1 10000",
      ],
      orderings: [
        ("stop m3 n1", "stop m2 n1"), ("stop m2 n1", "start m2 n1"), ("start m2 n1", "start m3 n1"),
      ],
      summary: [
        "Restart m2 ( n1 ) due to resource definition change", "Restart m3 ( n1 ) due to required m2 start",
      ]),
    Scenario(
      "a running resource started with the configured parameters is left alone",
      runningWith(running(g3, on: "n1"), "m2", on: "n1", definition: current),
      actions: [], summary: []),
    Scenario(
      "an unknown definition (found running by a probe) is left alone",
      runningWith(running(g3, on: "n1"), "m2", on: "n1", definition: nil),
      actions: [], summary: []),
  ]

  @Test(arguments: definitions) func definitionScenario(_ s: Scenario) { check(s) }
  @Test(arguments: groups) func groupScenario(_ s: Scenario) { check(s) }
  @Test(arguments: lifecycle) func lifecycleScenario(_ s: Scenario) { check(s) }
}
