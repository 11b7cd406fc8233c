import ResourceModel
import Scheduler
import Testing

/// Colocation (mandatory, anti, finite) and order constraints (kinds, symmetry, actions).
@Suite struct ConstraintTests {
  static let pair = TestCluster("n1", "n2", resources: [primitive("db"), primitive("web")])
  static let single = TestCluster("n1", resources: [primitive("a"), primitive("b")])

  static let colocations: [Scenario] = [
    Scenario(
      "+INFINITY colocation: the dependent runs where its primary runs",
      pair.colocate("web", with: "db", .infinity).location("db", "n2", 50),
      actions: ["start db n2", "monitor db n2 10000", "start web n2", "monitor web n2 10000"],
      summary: ["Start db ( n2 )", "Start web ( n2 )"]),
    Scenario(
      "+INFINITY colocation: the dependent stops when its primary cannot run",
      pair.colocate("web", with: "db", .infinity).run("web", on: "n1").with {
        $0.resources[0] = primitive("db", ["target-role": "Stopped"])
      },
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"]),
    Scenario(
      "+INFINITY colocation: the primary takes its dependent's bans into account",
      pair.colocate("web", with: "db", .infinity).location("web", "n1", .minusInfinity),
      actions: ["start db n2", "monitor db n2 10000", "start web n2", "monitor web n2 10000"],
      summary: ["Start db ( n2 )", "Start web ( n2 )"]),
    Scenario(
      "-INFINITY colocation: never on the same node",
      TestCluster("n1", "n2", resources: [primitive("a"), primitive("b")])
        .colocate("b", with: "a", .minusInfinity).location("a", "n1", 200).location("b", "n1", 100),
      actions: ["start a n1", "monitor a n1 10000", "start b n2", "monitor b n2 10000"],
      summary: ["Start a ( n1 )", "Start b ( n2 )"]),
    Scenario(
      "-INFINITY colocation on a single node: the dependent stays stopped",
      single.colocate("b", with: "a", .minusInfinity),
      actions: ["start a n1", "monitor a n1 10000"],
      summary: ["Start a ( n1 )"]),
    Scenario(
      "a positive finite colocation outweighs a weaker location preference",
      TestCluster("n1", "n2", resources: [primitive("a"), primitive("b")])
        .location("a", "n2", 10).location("b", "n1", 50).colocate("b", with: "a", 100),
      actions: ["start a n2", "monitor a n2 10000", "start b n2", "monitor b n2 10000"],
      summary: ["Start a ( n2 )", "Start b ( n2 )"]),
    Scenario(
      "a negative finite colocation is given up when it would leave the dependent nowhere to run",
      single.colocate("b", with: "a", -100),
      actions: ["start a n1", "monitor a n1 10000", "start b n1", "monitor b n1 10000"],
      summary: ["Start a ( n1 )", "Start b ( n1 )"]),
    Scenario(
      "colocation with a group follows the group",
      TestCluster("n1", "n2", resources: [group("g", ["g1", "g2"]), primitive("x")])
        .location("g", "n2", 10).colocate("x", with: "g", .infinity),
      actions: [
        "start g1 n2", "monitor g1 n2 10000", "start g2 n2", "monitor g2 n2 10000", "start x n2",
        "monitor x n2 10000",
      ],
      summary: ["Start g1 ( n2 )", "Start g2 ( n2 )", "Start x ( n2 )"]),
  ]

  static let orders: [Scenario] = [
    Scenario(
      "mandatory order: then starts after first",
      single.order("a", "b"),
      actions: ["start a n1", "monitor a n1 10000", "start b n1", "monitor b n1 10000"],
      orderings: [("start a n1", "start b n1")],
      summary: ["Start a ( n1 )", "Start b ( n1 )"]),
    Scenario(
      "mandatory order: then cannot start when first cannot",
      single.order("a", "b").location("a", "n1", .minusInfinity),
      actions: [],
      summary: ["Start b ( n1 ) due to unrunnable a start (blocked)"]),
    Scenario(
      "mandatory order: starting first restarts a running then",
      single.order("a", "b").run("b", on: "n1"),
      actions: ["start a n1", "monitor a n1 10000", "stop b n1", "start b n1", "monitor b n1 10000"],
      orderings: [("start a n1", "start b n1"), ("stop b n1", "start b n1")],
      summary: ["Start a ( n1 )", "Restart b ( n1 ) due to required a start"]),
    Scenario(
      "mandatory order: a running then stops when first can no longer start",
      single.order("a", "b").run("b", on: "n1").location("a", "n1", .minusInfinity),
      actions: ["stop b n1"],
      summary: ["Stop b ( n1 ) due to unrunnable a start"]),
    Scenario(
      "symmetric order: stops happen in reverse",
      single.order("a", "b").run("a", on: "n1").run("b", on: "n1").property("stop-all-resources", "true"),
      actions: ["stop a n1", "stop b n1"],
      orderings: [("stop b n1", "stop a n1")],
      summary: ["Stop a ( n1 ) due to node availability", "Stop b ( n1 ) due to node availability"]),
    Scenario(
      "optional order: then starts even though first cannot",
      single.order("a", "b", kind: .optional).location("a", "n1", .minusInfinity),
      actions: ["start b n1", "monitor b n1 10000"],
      summary: ["Start b ( n1 )"]),
    Scenario(
      "optional order: still orders the actions when both happen",
      single.order("a", "b", kind: .optional),
      actions: ["start a n1", "monitor a n1 10000", "start b n1", "monitor b n1 10000"],
      orderings: [("start a n1", "start b n1")],
      summary: ["Start a ( n1 )", "Start b ( n1 )"]),
    Scenario(
      "serialize order: orders but never blocks",
      single.order("a", "b", kind: .serialize).location("a", "n1", .minusInfinity),
      actions: ["start b n1", "monitor b n1 10000"],
      summary: ["Start b ( n1 )"]),
    Scenario(
      "asymmetric mandatory order: stopping first leaves a running then alone",
      single.order("a", "b", symmetrical: false).run("a", on: "n1").run("b", on: "n1").with {
        $0.resources[0] = primitive("a", ["target-role": "Stopped"])
      },
      actions: ["stop a n1"],
      summary: ["Stop a ( n1 ) due to node availability"]),
    Scenario(
      "asymmetric mandatory order: then still cannot start without first",
      single.order("a", "b", symmetrical: false).location("a", "n1", .minusInfinity),
      actions: [],
      summary: ["Start b ( n1 ) due to unrunnable a start (blocked)"]),
    Scenario(
      "order on a stop action: then starts only after first has stopped",
      TestCluster("n1", "n2", resources: [primitive("a"), primitive("b")])
        .run("a", on: "n1").location("a", "n1", .minusInfinity).order("a", "b", firstAction: "stop"),
      actions: ["stop a n1", "start a n2", "monitor a n2 10000", "start b n1", "monitor b n1 10000"],
      orderings: [("stop a n1", "start b n1")],
      summary: ["Move a ( n1 -> n2 )", "Start b ( n1 )"]),
    Scenario(
      "-INFINITY colocation: a resource leaving a node stops before its anti-colocated peer starts there",
      TestCluster("n1", "n2", resources: [primitive("a", ["priority": "1"]), primitive("b")])
        .run("b", on: "n1").location("a", "n1", 100).location("b", "n2", .minusInfinity)
        .colocate("b", with: "a", .minusInfinity).location("b", "n1", .minusInfinity),
      actions: ["stop b n1", "start a n1", "monitor a n1 10000"],
      orderings: [("stop b n1", "start a n1")],
      summary: ["Start a ( n1 )", "Stop b ( n1 ) due to node availability"]),
  ]

  @Test(arguments: colocations) func colocation(_ s: Scenario) { check(s) }
  @Test(arguments: orders) func order(_ s: Scenario) { check(s) }
}
