import ResourceModel
import Scheduler
import Testing

/// no-quorum-policy, and fencing of unclean nodes: implied stops, starts ordered after the fence,
/// what happens when fencing is disabled or impossible.
@Suite struct QuorumAndFencingTests {
  static let inquorate = TestCluster("n1", "n2", resources: [primitive("web"), primitive("db")])
    .run("web", on: "n1").with { $0.quorate = false }

  static let quorum: [Scenario] = [
    Scenario(
      "no quorum, policy stop (default): running resources stop, stopped ones cannot start",
      inquorate,
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to no quorum", "Start db ( n2 ) due to no quorum (blocked)"]),
    Scenario(
      "no quorum, policy freeze: running resources stay, nothing new starts",
      inquorate.property("no-quorum-policy", "freeze"),
      actions: [],
      summary: ["Start db ( n2 ) due to quorum freeze (blocked)"]),
    Scenario(
      "no quorum, policy freeze: an active resource may still move",
      inquorate.property("no-quorum-policy", "freeze").location("web", "n1", .minusInfinity),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )", "Start db ( n1 ) due to quorum freeze (blocked)"]),
    Scenario(
      "no quorum, policy ignore: scheduling goes on as usual",
      inquorate.property("no-quorum-policy", "ignore"),
      actions: ["start db n2", "monitor db n2 10000"],
      summary: ["Start db ( n2 )"]),
    Scenario(
      "no quorum, policy demote: resources that are not promoted stop",
      inquorate.property("no-quorum-policy", "demote"),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to no quorum", "Start db ( n2 ) due to no quorum (blocked)"]),
    Scenario(
      "requires=nothing: a resource may start without quorum",
      TestCluster("n1", resources: [primitive("web", ["requires": "nothing"])]).with { $0.quorate = false },
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
  ]

  static let fencing = TestCluster(
    "n1", "n2",
    resources: [primitive("fencer", monitor: nil, stonith: true), primitive("web"), primitive("db")]
  ).property("stonith-enabled", "true").run("fencer", on: "n2").run("web", on: "n1")
    .with { $0.membership["n1"] = .unclean }

  static let fences: [Scenario] = [
    Scenario(
      "an unclean node is fenced; its resources start elsewhere only after the fence, with no stop",
      fencing,
      actions: ["fence n1", "start web n2", "monitor web n2 10000", "start db n2", "monitor db n2 10000"],
      orderings: [("fence n1", "start web n2"), ("fence n1", "start db n2")],
      summary: [
        "Fence (reboot) n1 'peer is no longer part of the cluster'", "Move web ( n1 -> n2 )",
        "Start db ( n2 )",
      ]),
    Scenario(
      "the unclean reason from the state is the fence reason",
      fencing.with { $0.uncleanReasons["n1"] = "peer process is no longer available" },
      actions: ["fence n1", "start web n2", "monitor web n2 10000", "start db n2", "monitor db n2 10000"],
      summary: [
        "Fence (reboot) n1 'peer process is no longer available'", "Move web ( n1 -> n2 )", "Start db ( n2 )",
      ]),
    Scenario(
      "fencing-action=off powers the node off",
      fencing.property("fencing-action", "off"),
      actions: ["fence n1", "start web n2", "monitor web n2 10000", "start db n2", "monitor db n2 10000"],
      summary: [
        "Fence (off) n1 'peer is no longer part of the cluster'", "Move web ( n1 -> n2 )", "Start db ( n2 )",
      ]),
    Scenario(
      "fencing disabled: an unclean node is treated as down and its resources start elsewhere at once",
      TestCluster("n1", "n2", resources: [primitive("web")]).run("web", on: "n1")
        .with { $0.membership["n1"] = .unclean },
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"]),
    Scenario(
      "fencing enabled but no fence device: nothing is started",
      TestCluster("n1", resources: [primitive("web")]).property("stonith-enabled", "true"),
      actions: [], summary: [], notes: ["no fencing resources"]),
    Scenario(
      "without quorum an offline unclean node cannot be fenced: its resources stay put, blocked",
      fencing.with { $0.quorate = false },
      actions: ["stop fencer n2"],
      summary: [
        "Stop fencer ( n2 ) due to no quorum", "Stop web ( n1 ) due to no quorum (blocked)",
        "Start db ( n2 ) due to no quorum (blocked)",
      ],
      notes: ["n1 is unclean but cannot be fenced"]),
    Scenario(
      "without quorum, no-quorum-policy=ignore still fences",
      fencing.with { $0.quorate = false }.property("no-quorum-policy", "ignore"),
      actions: ["fence n1", "start web n2", "monitor web n2 10000", "start db n2", "monitor db n2 10000"],
      summary: [
        "Fence (reboot) n1 'peer is no longer part of the cluster'", "Move web ( n1 -> n2 )",
        "Start db ( n2 )",
      ]),
    Scenario(
      "no-quorum-policy=suicide fences every node; fencing is listed newest first",
      TestCluster("n1", "n2", resources: [primitive("fencer", monitor: nil, stonith: true)])
        .property("stonith-enabled", "true").property("no-quorum-policy", "suicide").run("fencer", on: "n1")
        .with { $0.quorate = false },
      actions: ["fence n1", "fence n2"],
      summary: [
        "Fence (reboot) n2 'cluster does not have quorum'",
        "Fence (reboot) n1 'cluster does not have quorum'",
        "Stop fencer ( n1 ) due to node availability",
      ]),
    Scenario(
      "a node already marked unclean because a resource failed there: that resource recovers, others move",
      fencing.run("db", on: "n1").state("web", on: "n1", failed("monitor_10000", onFail: "fence"))
        .with { $0.uncleanReasons["n1"] = "web failed there" },
      actions: ["fence n1", "start web n2", "monitor web n2 10000", "start db n2", "monitor db n2 10000"],
      orderings: [("fence n1", "start web n2"), ("fence n1", "start db n2")],
      summary: ["Fence (reboot) n1 'web failed there'", "Recover web ( n1 -> n2 )", "Move db ( n1 -> n2 )"]),
    Scenario(
      "a resource thought active on a cleanly offline node gets that node fenced",
      fencing.with { $0.membership["n1"] = .offline },
      actions: ["fence n1", "start web n2", "monitor web n2 10000", "start db n2", "monitor db n2 10000"],
      orderings: [("fence n1", "start web n2")],
      summary: [
        "Fence (reboot) n1 'web is thought to be active there'", "Move web ( n1 -> n2 )", "Start db ( n2 )",
      ]),
  ]

  @Test(arguments: quorum) func noQuorumPolicy(_ s: Scenario) { check(s) }
  @Test(arguments: fences) func fencingOfUncleanNodes(_ s: Scenario) { check(s) }
}
