import ResourceModel
import Scheduler
import Testing

/// Orderings and colocations between clones and what depends on them: `clone-min` and
/// `require-all=false` (Pacemaker's `clone-one-or-more`), orderings judged per node, interleaved
/// instances without a partner, and colocations with ordinary or blocked clones.
struct CloneOrderingTests {
  static let running = ResourceNodeState(role: .started, activeMonitors: ["monitor_10000"])

  static func clone(_ id: String, _ child: String, _ meta: [String: String] = [:]) -> Resource {
    .clone(Clone(id: id, meta: meta, child: .primitive(primitiveSpec(child))))
  }

  /// Probed everywhere: the cloned resources are known to be stopped on every node of `c`.
  static func probed(_ c: TestCluster, _ children: [String]) -> TestCluster {
    var c = c
    for child in children {
      for n in c.nodes { c = c.state(child, on: n, ResourceNodeState(role: .stopped)) }
    }
    return c
  }

  /// a-clone and b-clone both running on n1 and n2; n3 is new, so each starts an instance there.
  static func twoClones(bMeta: [String: String] = [:]) -> TestCluster {
    var c = probed(
      TestCluster("n1", "n2", "n3", resources: [clone("a-clone", "a"), clone("b-clone", "b", bMeta)]),
      ["a", "b"])
    for (instance, node) in [("a:0", "n1"), ("a:1", "n2"), ("b:0", "n1"), ("b:1", "n2")] {
      c = c.state(instance, on: node, running)
    }
    return c
  }

  static let scenarios: [Scenario] = [
    Scenario(
      "clone-min=2: the dependent does not start while only one instance of the clone can",
      probed(
        TestCluster(
          "n1", "n2", "n3", resources: [clone("a-clone", "a", ["clone-min": "2"]), primitive("c")]), ["a"]
      )
      .location("a-clone", "n2", .minusInfinity).location("a-clone", "n3", .minusInfinity)
      .order("a-clone", "c"),
      actions: ["start a:0 n1", "monitor a:0 n1 10000"],
      summary: [
        "Start a:0 ( n1 )", "Start c ( n2 ) due to unrunnable clone-one-or-more:ord-a-clone-c (blocked)",
      ]),
    Scenario(
      "clone-min=2: the dependent starts once two instances can, after them",
      probed(
        TestCluster(
          "n1", "n2", "n3", resources: [clone("a-clone", "a", ["clone-min": "2"]), primitive("c")]), ["a"]
      )
      .location("a-clone", "n3", .minusInfinity).location("c", "n3", 10).order("a-clone", "c"),
      actions: [
        "start a:0 n1", "monitor a:0 n1 10000", "start a:1 n2", "monitor a:1 n2 10000", "start c n3",
        "monitor c n3 10000",
      ],
      orderings: [("start a:0 n1", "start c n3"), ("start a:1 n2", "start c n3")],
      summary: ["Start a:0 ( n1 )", "Start a:1 ( n2 )", "Start c ( n3 )"]),
    Scenario(
      "without interleave, an instance of the first clone starting restarts the other clone's instances",
      twoClones().order("a-clone", "b-clone"),
      actions: [
        "start a:2 n3", "monitor a:2 n3 10000", "stop b:0 n1", "start b:0 n1", "monitor b:0 n1 10000",
        "stop b:1 n2", "start b:1 n2", "monitor b:1 n2 10000", "start b:2 n3", "monitor b:2 n3 10000",
      ],
      orderings: [("start a:2 n3", "start b:0 n1"), ("start a:2 n3", "start b:2 n3")],
      summary: [
        "Start a:2 ( n3 )", "Restart b:0 ( n1 ) due to required a-clone running",
        "Restart b:1 ( n2 ) due to required a-clone running", "Start b:2 ( n3 )",
      ]),
    Scenario(
      "require-all=false: an instance of the first clone starting does not restart the other clone",
      twoClones().order("a-clone", "b-clone", requireAll: false),
      actions: ["start a:2 n3", "monitor a:2 n3 10000", "start b:2 n3", "monitor b:2 n3 10000"],
      orderings: [("start a:2 n3", "start b:2 n3")],
      summary: ["Start a:2 ( n3 )", "Start b:2 ( n3 )"]),
    Scenario(
      "a primitive ordered after a clone does not restart when an instance starts on another node",
      probed(TestCluster("n1", "n2", "n3", resources: [clone("a-clone", "a"), primitive("c")]), ["a"])
        .state("a:0", on: "n1", running).state("a:1", on: "n2", running).state("c", on: "n1", running)
        .order("a-clone", "c"),
      actions: ["start a:2 n3", "monitor a:2 n3 10000"],
      summary: ["Start a:2 ( n3 )"]),
    Scenario(
      "interleave=true: an instance with no instance of the first clone on its node stops",
      twoClones(bMeta: ["interleave": "true"]).location("a-clone", "n2", .minusInfinity)
        .location("a-clone", "n3", .minusInfinity).order("a-clone", "b-clone"),
      actions: ["stop a:1 n2", "stop b:1 n2"],
      orderings: [("stop b:1 n2", "stop a:1 n2")],
      summary: ["Stop a:1 ( n2 ) due to node availability", "Stop b:1 ( n2 )"]),
    Scenario(
      "a mandatory colocation with the Promoted role of a clone that is not promotable ignores the role",
      TestCluster("n1", "n2", resources: [clone("a-clone", "a"), primitive("ip")])
        .state("a:0", on: "n1", running).state("a:1", on: "n2", running).state("ip", on: "n1", running)
        .with {
          $0.constraints.colocations.append(
            ColocationConstraint(
              id: "ip-with-a", resource: "ip", withResource: "a-clone", score: .infinity, withRole: "Promoted"
            ))
        },
      actions: [], summary: []),
    Scenario(
      "a resource colocated with a clone leaves the node where the clone's instance is blocked",
      TestCluster("n1", "n2", resources: [clone("a-clone", "a"), primitive("ip")])
        .state("a:0", on: "n1", failed("monitor_10000", onFail: "block")).state("a:1", on: "n2", running)
        .state("ip", on: "n1", running).colocate("ip", with: "a-clone", .infinity),
      actions: ["stop ip n1", "start ip n2", "monitor ip n2 10000"],
      summary: ["Move ip ( n1 -> n2 )"]),
  ]

  @Test(arguments: scenarios) func cloneOrdering(_ s: Scenario) { check(s) }

  static let placements: [Scenario] = [
    Scenario(
      "clone-max=1: the one instance moves to a node preferred with INFINITY (no stickiness)",
      probed(TestCluster("n1", "n2", resources: [clone("a-clone", "a", ["clone-max": "1"])]), ["a"])
        .state("a:0", on: "n1", running).location("a-clone", "n2", .infinity),
      actions: ["stop a:0 n1", "start a:0 n2", "monitor a:0 n2 10000"],
      summary: ["Move a:0 ( n1 -> n2 )"]),
    Scenario(
      "clone-max=2: the running instance stays and the preferred node gets the other one",
      probed(TestCluster("n1", "n2", "n3", resources: [clone("a-clone", "a", ["clone-max": "2"])]), ["a"])
        .state("a:0", on: "n1", running).location("a-clone", "n2", .infinity),
      actions: ["start a:1 n2", "monitor a:1 n2 10000"],
      summary: ["Start a:1 ( n2 )"]),
    Scenario(
      "an instance running where the clone is now banned stops; a fresh instance takes the free node",
      probed(TestCluster("n1", "n2", resources: [clone("a-clone", "a")]), ["a"])
        .state("a:0", on: "n2", running).location("a-clone", "n2", .minusInfinity),
      actions: ["stop a:0 n2", "start a:1 n1", "monitor a:1 n1 10000"],
      summary: ["Stop a:0 ( n2 ) due to node availability", "Start a:1 ( n1 )"]),
    Scenario(
      "members after an unmanaged group member carry the group's mandatory colocation themselves",
      TestCluster("n1", "n2", resources: [primitive("p", ["target-role": "Stopped"]), unmanagedFirstGroup])
        .run("d1", on: "n1").colocate("g", with: "p", .infinity),
      actions: [], summary: []),
    Scenario(
      "without quorum, an instance blocked on an unclean node that is down is left alone; no fencing",
      blockedOnUnreachableNode.with { $0.quorate = false },
      actions: ["stop fencer n1"],
      summary: ["Stop fencer ( n1 ) due to no quorum", "Start a:0 ( n1 ) due to no quorum (blocked)"],
      notes: ["n2 is unclean but cannot be fenced"]),
  ]

  /// A stop that failed on a node that is down, in a partition without quorum: the node cannot be
  /// fenced, so the producer recorded the failure as blocked (on-fail=fence could not be honoured).
  static let blockedOnUnreachableNode = TestCluster(
    "n1", "n2", resources: [primitive("fencer", monitor: nil, stonith: true), clone("a-clone", "a")]
  ).property("stonith-enabled", "true").run("fencer", on: "n1")
    .state("a", on: "n1", ResourceNodeState(role: .stopped))
    .state(
      "a:1", on: "n2",
      ResourceNodeState(
        role: .started, failed: true, stopFailed: true, failCounts: ["stop_0": 1], lastFailure: 999_990,
        failedOperation: "stop_0", onFail: "fence", blocked: true)
    ).with {
      $0.membership["n2"] = .unclean
      $0.uncleanReasons["n2"] = "a:1 failed there while the node was down"
    }

  /// g: d1 (unmanaged), d2, d3.
  static let unmanagedFirstGroup = Resource.group(
    Group(
      id: "g",
      members: [primitiveSpec("d1", ["is-managed": "false"]), primitiveSpec("d2"), primitiveSpec("d3")]))

  @Test(arguments: placements) func clonePlacement(_ s: Scenario) { check(s) }
}
