import ResourceModel
import Scheduler
import Testing

/// Configuration changes a CIB's operation digests reveal (`DefinitionChange`), and shutdown locks.
@Suite("Definition changes and shutdown locks")
struct DefinitionChangeTests {
  static let web = TestCluster("n1", "n2", resources: [primitive("web")]).run("web", on: "n1")

  /// `web` on n1 with this change found in its history there.
  static func changed(_ change: DefinitionChange, _ c: TestCluster = web, on node: String = "n1")
    -> TestCluster
  {
    c.with { $0.states["web", default: [:]][node]?.definitionChange = change }
  }

  static let changes: [Scenario] = [
    Scenario(
      "changed start parameters restart the resource in place",
      changed(DefinitionChange(restart: true)),
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      orderings: [("stop web n1", "start web n1")],
      summary: ["Restart web ( n1 ) due to resource definition change"]),
    Scenario(
      "a start that needs nothing (no fencing, no-quorum-policy=ignore) keeps no reason, as in Pacemaker",
      changed(DefinitionChange(restart: true)).property("no-quorum-policy", "ignore"),
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      summary: ["Restart web ( n1 )"]),
    Scenario(
      "changed reloadable parameters reload the agent in place",
      changed(DefinitionChange(reload: true)),
      actions: ["reload-agent web n1"],
      summary: ["Reload web ( n1 )"]),
    Scenario(
      "a reload gives way to a restart that is required anyway",
      changed(DefinitionChange(restart: true, reload: true)),
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      summary: ["Restart web ( n1 ) due to resource definition change"]),
    Scenario(
      "a reload gives way to a move",
      changed(DefinitionChange(reload: true)).location("web", "n1", -.infinity),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "a reload cannot wait for a pending start: the resource restarts",
      changed(DefinitionChange(reload: true)).with { $0.states["web"]?["n1"]?.pending = "start_0" },
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      summary: ["Restart web ( n1 )"]),
    Scenario(
      "a failed resource is recovered, not reloaded (and its fail count is cleared: the definition changed)",
      changed(DefinitionChange(reload: true)).with {
        $0.states["web"]?["n1"] = failed("monitor_10000")
        $0.states["web"]?["n1"]?.definitionChange = DefinitionChange(reload: true)
      },
      actions: ["stop web n1", "start web n1", "monitor web n1 10000", "clear-failure web n1"],
      summary: ["Recover web ( n1 )"]),
    Scenario(
      "another agent stops and starts the resource, with no reason given",
      changed(DefinitionChange(agentChanged: true)),
      actions: ["stop web n1", "start web n1", "monitor web n1 10000"],
      summary: ["Restart web ( n1 )"]),
    Scenario(
      "a recurring monitor with a changed definition is issued again, and nothing else",
      changed(DefinitionChange(rescheduled: ["monitor_10000"])),
      actions: ["monitor web n1 10000"], summary: []),
    Scenario(
      "a recurring operation that is no longer configured is cancelled",
      changed(DefinitionChange(removed: ["monitor_5000"])),
      actions: ["cancel web n1 5000"], summary: []),
    Scenario(
      "with cancel-removed-actions=false it keeps running",
      changed(DefinitionChange(removed: ["monitor_5000"])).property("cancel-removed-actions", "false"),
      actions: [], summary: []),
    Scenario(
      "a change on a standby node is not acted on: the resource moves away",
      changed(DefinitionChange(restart: true)).node("n1", ["standby": "on"]),
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "a change where the resource is not active is not acted on",
      changed(DefinitionChange(restart: true), on: "n2"),
      actions: [], summary: []),
    Scenario(
      "a changed definition clears the fail count where the resource is active",
      changed(DefinitionChange(rescheduled: ["monitor_10000"])).with {
        $0.states["web"]?["n1"]?.failCounts = ["monitor_10000": 1]
      },
      actions: ["monitor web n1 10000", "clear-failure web n1"], summary: []),
    Scenario(
      "a failure recorded with other parameters has its fail count cleared wherever it is",
      web.state(
        "web", on: "n2",
        ResourceNodeState(
          role: .stopped, failCounts: ["start_0": 1_000_000],
          definitionChange: DefinitionChange(failureParametersChanged: true))
      ).with { $0.defaults["migration-threshold"] = "1" }.location("web", "n2", 100),
      actions: ["clear-failure web n2", "stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "an anonymous clone's failure recorded with other parameters is cleared once per node",
      TestCluster(
        "n1", "n2", "n3", resources: [.clone(Clone(id: "web-clone", child: .primitive(primitiveSpec("web"))))]
      )
      .with { $0.unknown = ["web"] }.run("web:0", on: "n1", monitors: ["monitor_10000"])
      .run("web:1", on: "n2", monitors: ["monitor_10000"])
      .state(
        "web:2", on: "n3",
        ResourceNodeState(
          role: .stopped, failCounts: ["monitor_0": 1],
          definitionChange: DefinitionChange(failureParametersChanged: true))
      ).location("web-clone", "n3", -.infinity),
      actions: ["clear-failure web:0 n3"], summary: []),
  ]

  @Test(arguments: changes) func definitionChange(_ s: Scenario) { check(s) }

  static let offline = TestCluster("n1", "n2", resources: [primitive("web")]).with {
    $0.membership["n1"] = .offline
    $0.properties["shutdown-lock"] = "true"
    $0.states["web", default: [:]]["n1"] = ResourceNodeState(role: .stopped, shutdownLock: 999_000)
  }

  static let locks: [Scenario] = [
    Scenario(
      "with shutdown-lock a resource on a node shutting down stops and is not moved",
      web.with { $0.membership["n1"] = .shuttingDown }.property("shutdown-lock", "true"),
      actions: ["stop web n1"],
      summary: ["Stop web ( n1 ) due to node availability"],
      notes: ["web is locked to n1 by its shutdown"]),
    Scenario(
      "without it the resource moves",
      web.with { $0.membership["n1"] = .shuttingDown },
      actions: ["stop web n1", "start web n2", "monitor web n2 10000"],
      summary: ["Move web ( n1 -> n2 )"]),
    Scenario(
      "a resource locked to a node that shut down stays stopped",
      offline, actions: [], summary: []),
    Scenario(
      "until shutdown-lock-limit has passed",
      offline.property("shutdown-lock-limit", "5m"),
      actions: ["start web n2", "monitor web n2 10000"],
      summary: ["Start web ( n2 )"], notes: ["web: shutdown lock on n1 expired"]),
    Scenario(
      "a lock within the limit holds",
      offline.property("shutdown-lock-limit", "1h"), actions: [], summary: []),
    Scenario(
      "a lock is dropped when the resource is active elsewhere",
      offline.run("web", on: "n2"), actions: [], summary: []),
    Scenario(
      "fence devices are never locked",
      TestCluster("n1", "n2", resources: [primitive("fencer", stonith: true)]).run("fencer", on: "n1").with {
        $0.membership["n1"] = .shuttingDown
      }.property("shutdown-lock", "true"),
      actions: ["stop fencer n1", "start fencer n2", "monitor fencer n2 10000"],
      summary: ["Move fencer ( n1 -> n2 )"]),
  ]

  @Test(arguments: locks) func shutdownLock(_ s: Scenario) { check(s) }
}
