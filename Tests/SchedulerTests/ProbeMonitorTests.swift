import ResourceModel
import Scheduler
import Testing

/// Probes, recurring monitors, resources active on several nodes, and anonymous clones.
@Suite struct ProbeMonitorTests {
  static let unknownWeb = TestCluster("n1", "n2", resources: [primitive("web")]).with { $0.unknown = ["web"] }

  static let probes: [Scenario] = [
    Scenario(
      "an unknown state is probed on every node, and the start waits for every probe",
      unknownWeb,
      actions: ["probe web n1", "probe web n2", "start web n1", "monitor web n1 10000"],
      orderings: [("probe web n1", "start web n1"), ("probe web n2", "start web n1")],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "offline nodes are not probed",
      unknownWeb.with { $0.membership["n2"] = .offline },
      actions: ["probe web n1", "start web n1", "monitor web n1 10000"],
      orderings: [("probe web n1", "start web n1")],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "a resource known on one node is probed only on the others",
      unknownWeb.run("web", on: "n1"),
      actions: ["probe web n2"], summary: []),
    Scenario(
      "enable-startup-probes=false: no probes",
      unknownWeb.property("enable-startup-probes", "false"),
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
  ]

  static let monitors: [Scenario] = [
    Scenario(
      "an active recurring monitor is not scheduled again",
      TestCluster("n1", resources: [primitive("web")]).run("web", on: "n1"),
      actions: [], summary: []),
    Scenario(
      "a running resource whose monitor is not active gets it started",
      TestCluster("n1", resources: [primitive("web")]).run("web", on: "n1", monitors: []),
      actions: ["monitor web n1 10000"], summary: []),
    Scenario(
      "every configured monitor is scheduled after the start",
      TestCluster("n1", resources: [primitive("web", ops: [monitorOp(60)])]),
      actions: ["start web n1", "monitor web n1 10000", "monitor web n1 60000"],
      orderings: [("start web n1", "monitor web n1 60000")],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "a disabled monitor is not scheduled",
      TestCluster(
        "n1",
        resources: [
          .primitive(
            Primitive(
              id: "web", agent: AgentSpec(standard: .ocf, provider: "pacemaker", type: "Dummy"),
              operations: [OperationSpec(id: "m", name: "monitor", intervalMs: 5000, enabled: false)]))
        ]),
      actions: ["start web n1"], summary: ["Start web ( n1 )"]),
    Scenario(
      "a start in flight counts as started: it stays in the transition, and its monitor follows",
      TestCluster("n1", resources: [primitive("web")]).state(
        "web", on: "n1", ResourceNodeState(role: .stopped, pending: "start_0")),
      actions: ["start web n1", "monitor web n1 10000"],
      orderings: [("start web n1", "monitor web n1 10000")],
      summary: []),
    Scenario(
      "a monitor for the Stopped role runs where the resource is not running",
      TestCluster("n1", "n2", resources: [primitive("web", ops: [monitorOp(20, role: "Stopped")])])
        .run("web", on: "n1", monitors: ["monitor_10000"]),
      actions: ["monitor web n2 20000"], summary: []),
  ]

  static let multiplyActive: [Scenario] = [
    Scenario(
      "active on two nodes: stop it everywhere, start it once",
      TestCluster("n1", "n2", resources: [primitive("web")]).run("web", on: "n1").run("web", on: "n2"),
      actions: ["stop web n1", "stop web n2", "start web n1", "monitor web n1 10000"],
      orderings: [("stop web n1", "start web n1"), ("stop web n2", "start web n1")],
      summary: ["Restart web ( n1 )"], notes: ["active on 2 nodes"]),
    Scenario(
      "multiple-active=stop_only: stop it everywhere",
      TestCluster("n1", "n2", resources: [primitive("web", ["multiple-active": "stop_only"])])
        .run("web", on: "n1").run("web", on: "n2"),
      actions: ["stop web n1", "stop web n2"],
      summary: ["Stop web ( n1 ) due to node availability", "Stop web ( n2 ) due to node availability"]),
    Scenario(
      "multiple-active=stop_unexpected: stop only the copies where it should not run",
      TestCluster("n1", "n2", resources: [primitive("web", ["multiple-active": "stop_unexpected"])])
        .run("web", on: "n1").run("web", on: "n2"),
      actions: ["stop web n2", "monitor web n1 10000"],
      summary: ["Restart web ( n1 )"]),
    Scenario(
      "multiple-active=block: leave it alone",
      TestCluster("n1", "n2", resources: [primitive("web", ["multiple-active": "block"])])
        .run("web", on: "n1").run("web", on: "n2"),
      actions: [], summary: []),
  ]

  static func clone(_ meta: [String: String] = [:]) -> Resource {
    .clone(Clone(id: "base-clone", meta: meta, child: .primitive(primitiveSpec("base"))))
  }

  static let clones: [Scenario] = [
    Scenario(
      "an anonymous clone runs one instance per node",
      TestCluster("n1", "n2", resources: [clone()]).with {
        for n in ["n1", "n2"] { $0.states["base", default: [:]][n] = ResourceNodeState(role: .stopped) }
      },
      actions: ["start base:0 n1", "monitor base:0 n1 10000", "start base:1 n2", "monitor base:1 n2 10000"],
      summary: ["Start base:0 ( n1 )", "Start base:1 ( n2 )"]),
    Scenario(
      "clone-max limits the number of instances",
      TestCluster("n1", "n2", resources: [clone(["clone-max": "1"])]).with {
        for n in ["n1", "n2"] { $0.states["base", default: [:]][n] = ResourceNodeState(role: .stopped) }
      },
      actions: ["start base:0 n1", "monitor base:0 n1 10000"],
      summary: ["Start base:0 ( n1 )"]),
    Scenario(
      "running clone instances stay where they are",
      TestCluster("n1", "n2", resources: [clone()]).with {
        $0.states["base", default: [:]]["n2"] = ResourceNodeState(
          role: .started, activeMonitors: ["monitor_10000"])
        $0.states["base", default: [:]]["n1"] = ResourceNodeState(role: .stopped)
      },
      actions: ["start base:1 n1", "monitor base:1 n1 10000"],
      summary: ["Start base:1 ( n1 )"]),
  ]

  static let cloneWithWeb = TestCluster("n1", "n2", resources: [clone(["clone-max": "1"]), primitive("web")])
    .with {
      for n in ["n1", "n2"] { $0.states["base", default: [:]][n] = ResourceNodeState(role: .stopped) }
    }

  static let clonePeers: [Scenario] = [
    Scenario(
      "a resource colocated with a clone runs only where an instance runs",
      cloneWithWeb.colocate("web", with: "base-clone", .infinity).location("web", "n2", 50),
      actions: ["start base:0 n1", "monitor base:0 n1 10000", "start web n1", "monitor web n1 10000"],
      summary: ["Start base:0 ( n1 )", "Start web ( n1 )"]),
    Scenario(
      "a resource ordered after a clone starts after the clone's instances",
      cloneWithWeb.order("base-clone", "web"),
      actions: ["start base:0 n1", "monitor base:0 n1 10000", "start web n2", "monitor web n2 10000"],
      orderings: [("start base:0 n1", "start web n2")],
      summary: ["Start base:0 ( n1 )", "Start web ( n2 )"]),
  ]

  @Test(arguments: clonePeers) func cloneConstraints(_ s: Scenario) { check(s) }
  @Test(arguments: probes) func probe(_ s: Scenario) { check(s) }
  @Test(arguments: monitors) func monitor(_ s: Scenario) { check(s) }
  @Test(arguments: multiplyActive) func activeOnSeveralNodes(_ s: Scenario) { check(s) }
  @Test(arguments: clones) func anonymousClone(_ s: Scenario) { check(s) }
}
