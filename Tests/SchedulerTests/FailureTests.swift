import ResourceModel
import Scheduler
import Testing

/// Failure handling: recovery, fail counts with migration-threshold and failure-timeout,
/// start-failure-is-fatal, every on-fail policy, hard errors and failed stops.
@Suite struct FailureTests {
  static let one = TestCluster("n1", resources: [primitive("web")])
  static let two = TestCluster("n1", "n2", resources: [primitive("web")])
  static let recoverElsewhere = ["stop web n1", "start web n2", "monitor web n2 10000"]
  static let fenced = TestCluster(
    "n1", "n2", resources: [primitive("fencer", monitor: nil, stonith: true), primitive("web")]
  )
  .property("stonith-enabled", "true").run("fencer", on: "n2")

  static let scenarios: [Scenario] = [
    Scenario(
      "a failed monitor is recovered in place: stop, start, monitor",
      one.state("web", on: "n1", failed("monitor_10000")),
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      orderings: [("stop web n1", "start web n1"), ("start web n1", "monitor web n1 10000")],
      summary: ["Recover web ( n1 )"]),
    Scenario(
      "reaching migration-threshold bans the node: recovery moves the resource",
      TestCluster("n1", "n2", resources: [primitive("web", ["migration-threshold": "1"])])
        .state("web", on: "n1", failed("monitor_10000")),
      actions: Set(recoverElsewhere), orderings: [("stop web n1", "start web n2")],
      summary: ["Recover web ( n1 -> n2 )"]),
    Scenario(
      "below migration-threshold the resource recovers in place",
      TestCluster("n1", "n2", resources: [primitive("web", ["migration-threshold": "3"])])
        .state("web", on: "n1", failed("monitor_10000", count: 2)),
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      summary: ["Recover web ( n1 )"]),
    Scenario(
      "a fail count at migration-threshold keeps a recovered resource off the node",
      TestCluster("n1", "n2", resources: [primitive("web", ["migration-threshold": "2"])])
        .run("web", on: "n1").with {
          $0.states["web"]!["n1"]!.failCounts = ["monitor_10000": 2]
          $0.states["web"]!["n1"]!.lastFailure = 999_000
        },
      actions: Set(recoverElsewhere),
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "failure-timeout: an expired fail count no longer bans, and is cleared",
      TestCluster(
        "n1", "n2", resources: [primitive("web", ["migration-threshold": "1", "failure-timeout": "60s"])]
      )
      .run("web", on: "n1").with {
        $0.states["web"]!["n1"]!.failCounts = ["monitor_10000": 1]
        $0.states["web"]!["n1"]!.lastFailure = 999_000
      },
      actions: ["clear-failure web n1"], summary: []),
    Scenario(
      "failure-timeout: an expired failure is not recovered",
      TestCluster("n1", resources: [primitive("web", ["failure-timeout": "1m"])])
        .state("web", on: "n1", failed("monitor_10000", at: 990_000)),
      actions: ["clear-failure web n1", "monitor web n1 10000"], summary: []),
    Scenario(
      "a failed start is fatal by default (the controller records it with an INFINITY fail count): the node is banned and the resource moves",
      two.state("web", on: "n1", failed("start_0", count: Score.infinityValue)),
      actions: Set(recoverElsewhere),
      summary: ["Recover web ( n1 -> n2 )"]),
    Scenario(
      "start-failure-is-fatal=false: a failed start is retried in place",
      two.property("start-failure-is-fatal", "false").state("web", on: "n1", failed("start_0")),
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      summary: ["Recover web ( n1 )"]),
    Scenario(
      "on-fail=stop: the resource stops and stays stopped",
      two.state("web", on: "n1", failed("monitor_10000", onFail: "stop")),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"]),
    Scenario(
      "on-fail=stop from the operation's configuration",
      TestCluster(
        "n1", "n2", resources: [primitive("web", monitor: nil, ops: [monitorOp(10, onFail: "stop")])]
      )
      .state("web", on: "n1", failed("monitor_10000")),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"]),
    Scenario(
      "on-fail=block: nothing is done until cleanup",
      two.state("web", on: "n1", failed("monitor_10000", onFail: "block")),
      actions: [], summary: [], notes: ["web is blocked"]),
    Scenario(
      "on-fail=ignore: the failure changes nothing, not even with a low migration-threshold",
      TestCluster("n1", "n2", resources: [primitive("web", ["migration-threshold": "1"])])
        .state(
          "web", on: "n1",
          failed("monitor_10000", onFail: "ignore").with { $0.activeMonitors = ["monitor_10000"] }),
      actions: [], summary: []),
    Scenario(
      "on-fail=standby: the node goes standby and everything leaves it",
      TestCluster("n1", "n2", resources: [primitive("web"), primitive("db")]).run("db", on: "n1")
        .state("web", on: "n1", failed("monitor_10000", onFail: "standby")),
      actions: [
        "stop web n1", "start web n2", "monitor web n2 10000", "stop db n1", "start db n2",
        "monitor db n2 10000",
      ],
      summary: ["Recover web ( n1 -> n2 )", "Move db ( n1 -> n2 )"]),
    Scenario(
      "on-fail=fence: the node is fenced and the resource recovers elsewhere after the fencing",
      fenced.state("web", on: "n1", failed("monitor_10000", onFail: "fence")),
      actions: ["fence n1", "start web n2", "monitor web n2 10000"],
      orderings: [("fence n1", "start web n2")],
      summary: ["Fence (reboot) n1 'web failed there'", "Recover web ( n1 -> n2 )"]),
    Scenario(
      "on-fail=fence without fencing acts like on-fail=stop",
      two.state("web", on: "n1", failed("monitor_10000", onFail: "fence")),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"]),
    Scenario(
      "a failed stop with fencing enabled fences the node",
      fenced.state("web", on: "n1", failed("stop_0")),
      actions: ["fence n1", "start web n2", "monitor web n2 10000"],
      orderings: [("fence n1", "start web n2")],
      summary: ["Fence (reboot) n1 'web failed there'", "Recover web ( n1 -> n2 )"]),
    Scenario(
      "a failed stop without fencing blocks the resource",
      two.state("web", on: "n1", failed("stop_0")),
      actions: [], summary: [], notes: ["web is blocked"]),
    Scenario(
      "a hard error bans the node for good",
      two.state("web", on: "n1", failed("monitor_10000").with { $0.hardError = true }),
      actions: Set(recoverElsewhere),
      summary: ["Recover web ( n1 -> n2 )"]),
    Scenario(
      "a fatal error keeps the resource from running anywhere",
      two.state("web", on: "n1", failed("monitor_10000").with { $0.fatalError = true }),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"]),
  ]

  @Test(arguments: scenarios) func failure(_ s: Scenario) { check(s) }
}

extension ResourceNodeState {
  func with(_ change: (inout ResourceNodeState) -> Void) -> ResourceNodeState {
    var copy = self
    change(&copy)
    return copy
  }
}
