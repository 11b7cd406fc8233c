import ResourceModel
import Scheduler
import Testing

/// Scores, node choice and its tie-breaks, location constraints and rules, stickiness, priority.
@Suite struct PlacementTests {
  static let twoNodes = TestCluster("n1", "n2", resources: [primitive("web")])

  static let scenarios: [Scenario] = [
    Scenario(
      "a stopped resource starts on the only node, then its monitor starts",
      TestCluster("n1", resources: [primitive("web")]),
      actions: ["start web n1", "monitor web n1 10000"],
      orderings: [("start web n1", "monitor web n1 10000")],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "equal scores: the node with the lowest name wins",
      TestCluster("n2", "n1", resources: [primitive("web")]),
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "equal scores: the node with fewer assigned resources wins, spreading resources",
      TestCluster("n1", "n2", resources: [primitive("a"), primitive("b")]),
      actions: ["start a n1", "monitor a n1 10000", "start b n2", "monitor b n2 10000"],
      summary: ["Start a ( n1 )", "Start b ( n2 )"]),
    Scenario(
      "equal scores: a running resource stays on its current node",
      twoNodes.run("web", on: "n2"),
      actions: [], summary: []),
    Scenario(
      "a positive location score attracts the resource",
      twoNodes.location("web", "n2", 50),
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "a -INFINITY location moves a running resource away",
      twoNodes.run("web", on: "n1").location("web", "n1", .minusInfinity),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      orderings: [("stop web n1", "start web n2")],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "INFINITY plus -INFINITY is -INFINITY: the ban wins",
      twoNodes.location("web", "n1", .infinity).with {
        $0.constraints.locations.append(
          LocationConstraint(id: "ban", resource: "web", node: "n1", score: .minusInfinity))
      },
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "a resource banned from every node stays stopped",
      TestCluster("n1", resources: [primitive("web")]).location("web", "n1", .minusInfinity),
      actions: [], summary: []),
    Scenario(
      "asymmetric cluster: without a positive location a resource runs nowhere",
      twoNodes.property("symmetric-cluster", "false"),
      actions: [], summary: []),
    Scenario(
      "asymmetric cluster: a location enables exactly that node",
      twoNodes.property("symmetric-cluster", "false").location("web", "n2", 10),
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "asymmetric cluster: a location of score 0 still allows the node",
      twoNodes.property("symmetric-cluster", "false").location("web", "n2", 0),
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "a node's configured score adds to every resource's preference for it",
      twoNodes.with { $0.nodeScores = ["n1": 20] }.location("web", "n2", 10),
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "resource-stickiness keeps a resource where it runs against a weaker preference",
      TestCluster("n1", "n2", resources: [primitive("web", ["resource-stickiness": "100"])])
        .run("web", on: "n1").location("web", "n2", 50),
      actions: [], summary: []),
    Scenario(
      "a stronger preference beats stickiness",
      TestCluster("n1", "n2", resources: [primitive("web", ["resource-stickiness": "100"])])
        .run("web", on: "n1").location("web", "n2", 200),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      orderings: [("stop web n1", "start web n2"), ("start web n2", "monitor web n2 10000")],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "rsc_defaults resource-stickiness applies to every resource",
      twoNodes.with { $0.defaults = ["resource-stickiness": "INFINITY"] }.run("web", on: "n1")
        .location("web", "n2", 1000),
      actions: [], summary: []),
    Scenario(
      "without stickiness a resource follows a new preference",
      twoNodes.run("web", on: "n1").location("web", "n2", 1),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "higher priority is placed first: it takes the node its anti-colocated peer wanted",
      TestCluster(
        "n1", resources: [primitive("low"), primitive("high", ["priority": "10"])]
      ).colocate("low", with: "high", .minusInfinity),
      actions: ["start high n1", "monitor high n1 10000"],
      summary: ["Start high ( n1 )"]),
    Scenario(
      "default placement: configuration order decides who is placed first",
      TestCluster("n1", "n2", resources: [primitive("a"), primitive("b")]).location("b", "n1", 100),
      actions: ["start a n1", "monitor a n1 10000", "start b n1", "monitor b n1 10000"],
      summary: ["Start a ( n1 )", "Start b ( n1 )"]),
    Scenario(
      "placement-strategy other than default: the resource with the higher node score is placed first",
      TestCluster("n1", "n2", resources: [primitive("a"), primitive("b")]).location("b", "n1", 100)
        .property("placement-strategy", "balanced"),
      actions: ["start a n2", "monitor a n2 10000", "start b n1", "monitor b n1 10000"],
      summary: ["Start b ( n1 )", "Start a ( n2 )"]),
    Scenario(
      "placement-strategy=minimal does not spread resources over nodes",
      TestCluster("n1", "n2", resources: [primitive("a"), primitive("b")]).property(
        "placement-strategy", "minimal"),
      actions: ["start a n1", "monitor a n1 10000", "start b n1", "monitor b n1 10000"],
      summary: ["Start a ( n1 )", "Start b ( n1 )"]),
    Scenario(
      "rule on #uname places the resource on the matching node",
      twoNodes.with {
        $0.constraints.locations.append(
          LocationConstraint(
            id: "rule", resource: "web", score: 0,
            rules: [
              LocationRule(
                id: "r", score: 100,
                expressions: [NodeExpression(attribute: "#uname", operation: "eq", value: "n2")])
            ]))
      },
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "rule: not_defined attribute bans nodes without it",
      twoNodes.node("n1", ["ssd": "yes"]).with {
        $0.constraints.locations.append(
          LocationConstraint(
            id: "rule", resource: "web", score: 0,
            rules: [
              LocationRule(
                id: "r", score: .minusInfinity,
                expressions: [NodeExpression(attribute: "ssd", operation: "not_defined")])
            ]))
      }.run("web", on: "n2"),
      actions: ["stop web n2", "start web n1", "monitor web n1 10000"],
      summary: ["Move web ( n2 -> n1 )"]),
    Scenario(
      "rule: integer comparison (cpus gt 8) is numeric, not textual",
      twoNodes.node("n1", ["cpus": "16"]).node("n2", ["cpus": "9"]).with {
        $0.constraints.locations.append(
          LocationConstraint(
            id: "rule", resource: "web", score: 0,
            rules: [
              LocationRule(
                id: "r", score: 10,
                expressions: [
                  NodeExpression(attribute: "cpus", operation: "gt", value: "10", type: "integer")
                ])
            ]))
      },
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "rule: lte without a type compares as integers",
      twoNodes.node("n1", ["load": "10"]).node("n2", ["load": "9"]).with {
        $0.constraints.locations.append(
          LocationConstraint(
            id: "rule", resource: "web", score: 0,
            rules: [
              LocationRule(
                id: "r", score: 10,
                expressions: [NodeExpression(attribute: "load", operation: "lte", value: "9")])
            ]))
      },
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "rule: string ne, combined with boolean-op or",
      TestCluster("n1", "n2", "n3", resources: [primitive("web")])
        .node("n1", ["rack": "a"]).node("n2", ["rack": "b"]).node("n3", ["rack": "a", "fast": "1"])
        .with {
          $0.constraints.locations.append(
            LocationConstraint(
              id: "rule", resource: "web", score: 0,
              rules: [
                LocationRule(
                  id: "r", score: -100, booleanOp: "or",
                  expressions: [
                    NodeExpression(attribute: "rack", operation: "ne", value: "a"),
                    NodeExpression(attribute: "fast", operation: "defined"),
                  ])
              ]))
        },
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "rule score-attribute takes each node's score from a node attribute",
      twoNodes.node("n1", ["pingd": "100"]).node("n2", ["pingd": "300"]).with {
        $0.constraints.locations.append(
          LocationConstraint(
            id: "rule", resource: "web", score: 0,
            rules: [
              LocationRule(
                id: "r", score: 0, scoreAttribute: "pingd",
                expressions: [NodeExpression(attribute: "pingd", operation: "defined")])
            ]))
      },
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "node health: a red node is avoided under migrate-on-red",
      twoNodes.property("node-health-strategy", "migrate-on-red").node("n1", ["#health-disk": "red"])
        .run("web", on: "n1"),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )"]),
  ]

  @Test(arguments: scenarios) func placement(_ s: Scenario) { check(s) }
}
