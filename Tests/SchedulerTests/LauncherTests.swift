import ResourceModel
import Scheduler
import Testing

/// Resources inside another resource (the `container` meta attribute): placed with their launcher,
/// started after it and stopped before it, never probed, and their failures restart the launcher.
@Suite struct LauncherTests {
  static let inside = ["container": "box"]
  /// `box` launches `app1` and `app2`.
  static let cluster = TestCluster(
    "n1", "n2",
    resources: [primitive("box"), primitive("app1", inside), primitive("app2", inside)])
  static let running = cluster.run("box", on: "n1").run("app1", on: "n1").run("app2", on: "n1")
  static let restartAll = [
    "stop app1 n1", "stop app2 n1", "stop box n1", "start box n1", "monitor box n1 10000",
    "start app1 n1", "monitor app1 n1 10000", "start app2 n1", "monitor app2 n1 10000",
  ]

  static let scenarios: [Scenario] = [
    Scenario(
      "launched resources start on their launcher's node, after it",
      cluster,
      actions: [
        "start box n1", "monitor box n1 10000", "start app1 n1", "monitor app1 n1 10000", "start app2 n1",
        "monitor app2 n1 10000",
      ],
      orderings: [("start box n1", "start app1 n1"), ("start box n1", "start app2 n1")],
      summary: ["Start box ( n1 )", "Start app1 ( n1 )", "Start app2 ( n1 )"]),
    Scenario(
      "a launched resource is never probed: only its launcher is",
      cluster.with { $0.unknown = ["box", "app1", "app2"] },
      actions: [
        "probe box n1", "probe box n2", "start box n1", "monitor box n1 10000", "start app1 n1",
        "monitor app1 n1 10000", "start app2 n1", "monitor app2 n1 10000",
      ],
      orderings: [("probe box n2", "start box n1"), ("start box n1", "start app1 n1")],
      summary: ["Start box ( n1 )", "Start app1 ( n1 )", "Start app2 ( n1 )"]),
    Scenario(
      "a launched resource follows its launcher when the launcher moves",
      running.location("box", "n1", .minusInfinity),
      actions: [
        "stop app1 n1", "stop app2 n1", "stop box n1", "start box n2", "monitor box n2 10000",
        "start app1 n2", "monitor app1 n2 10000", "start app2 n2", "monitor app2 n2 10000",
      ],
      orderings: [
        ("stop app1 n1", "stop box n1"), ("stop app2 n1", "stop box n1"), ("start box n2", "start app1 n2"),
      ],
      summary: ["Move box ( n1 -> n2 )", "Move app1 ( n1 -> n2 )", "Move app2 ( n1 -> n2 )"]),
    Scenario(
      "a launched resource cannot run where its launcher may not",
      cluster.location("app1", "n2", .infinity).location("box", "n2", .minusInfinity),
      actions: [
        "start box n1", "monitor box n1 10000", "start app1 n1", "monitor app1 n1 10000", "start app2 n1",
        "monitor app2 n1 10000",
      ],
      summary: ["Start box ( n1 )", "Start app1 ( n1 )", "Start app2 ( n1 )"]),
    Scenario(
      "a stopped launcher stops what it launches",
      TestCluster(
        "n1", "n2",
        resources: [primitive("box", ["target-role": "Stopped"]), primitive("app1", inside)]
      ).run("box", on: "n1").run("app1", on: "n1"),
      actions: ["stop app1 n1", "stop box n1"],
      orderings: [("stop app1 n1", "stop box n1")],
      summary: ["Stop box ( n1 ) due to node availability", "Stop app1 ( n1 ) due to node availability"]),
    Scenario(
      "a launched resource's failure restarts its launcher and everything inside it",
      running.state("app1", on: "n1", failed("monitor_10000")),
      actions: Set(restartAll),
      orderings: [
        ("stop app1 n1", "stop box n1"), ("stop app2 n1", "stop box n1"), ("stop box n1", "start box n1"),
        ("start box n1", "start app1 n1"), ("start box n1", "start app2 n1"),
      ],
      summary: [
        "Restart box ( n1 )", "Recover app1 ( n1 )", "Restart app2 ( n1 ) due to required box start",
      ]),
    Scenario(
      "on-fail=restart-container recorded by the state restarts the launcher",
      running.state("app1", on: "n1", failed("monitor_10000", onFail: "restart-container")),
      actions: Set(restartAll),
      summary: [
        "Restart box ( n1 )", "Recover app1 ( n1 )", "Restart app2 ( n1 ) due to required box start",
      ]),
    Scenario(
      "a launched resource's failed stop counts as done: its launcher restarts and it starts again",
      running.state("app1", on: "n1", failed("stop_0")),
      actions: [
        "stop app2 n1", "stop box n1", "start box n1", "monitor box n1 10000", "start app1 n1",
        "monitor app1 n1 10000", "start app2 n1", "monitor app2 n1 10000",
      ],
      summary: [
        "Restart box ( n1 )", "Start app1 ( n1 )", "Restart app2 ( n1 ) due to required box start",
      ]),
    Scenario(
      "on-fail=restart on a launched resource recovers only that resource",
      TestCluster(
        "n1", "n2",
        resources: [
          primitive("box"), primitive("app1", inside, monitor: nil, ops: [monitorOp(10, onFail: "restart")]),
          primitive("app2", inside),
        ]
      ).run("box", on: "n1").run("app1", on: "n1").run("app2", on: "n1")
        .state("app1", on: "n1", failed("monitor_10000")),
      actions: ["stop app1 n1", "start app1 n1", "monitor app1 n1 10000"],
      summary: ["Recover app1 ( n1 )"]),
    Scenario(
      "launched resources' fail counts count towards the launcher's migration-threshold",
      TestCluster(
        "n1", "n2",
        resources: [
          primitive("box", ["migration-threshold": "3"]), primitive("app1", inside),
          primitive("app2", inside),
        ]
      ).run("box", on: "n1").run("app2", on: "n1")
        .state("app1", on: "n1", failed("monitor_10000", count: 2))
        .with {
          $0.states["box"]!["n1"]!.failCounts = ["monitor_10000": 1]
          $0.states["box"]!["n1"]!.lastFailure = 999_000
        },
      actions: [
        "stop app1 n1", "stop app2 n1", "stop box n1", "start box n2", "monitor box n2 10000",
        "start app1 n2", "monitor app1 n2 10000", "start app2 n2", "monitor app2 n2 10000",
      ],
      summary: ["Move box ( n1 -> n2 )", "Recover app1 ( n1 -> n2 )", "Move app2 ( n1 -> n2 )"]),
    Scenario(
      "a group's container meta attribute launches its other members, not the launcher itself",
      TestCluster("n1", "n2", resources: [group("grp", ["box", "app1", "app2"], inside)])
        .run("box", on: "n1").run("app1", on: "n1").run("app2", on: "n1")
        .state("app1", on: "n1", failed("monitor_10000")),
      actions: Set(restartAll),
      summary: [
        "Restart box ( n1 )", "Recover app1 ( n1 )", "Restart app2 ( n1 ) due to required app1 start",
      ]),
    Scenario(
      "a container naming no resource is ignored",
      TestCluster("n1", "n2", resources: [primitive("app1", ["container": "nothing"])]),
      actions: ["start app1 n1", "monitor app1 n1 10000"],
      summary: ["Start app1 ( n1 )"], notes: ["container nothing is not a resource"]),
  ]

  @Test(arguments: scenarios) func launcher(_ s: Scenario) { check(s) }
}
