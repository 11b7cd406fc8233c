import ResourceModel
import Scheduler
import Testing

/// Unfencing: with a device that `provides=unfencing` (fence_scsi), a node is unfenced (fence
/// action `on`) before fencing devices are probed or started there and before resources that need
/// unfencing start there, unless its `#node-unfenced` attribute says it already was.
@Suite struct UnfencingTests {
  static let unfencing = ["provides": "unfencing"]
  static let device = primitive("fencer", unfencing, monitor: nil, stonith: true)
  static let unfenced = "1700000000"
  /// The device runs on n2; n2 was unfenced, n1 was not.
  static let cluster = TestCluster("n1", "n2", resources: [device, primitive("web")])
    .property("stonith-enabled", "true").run("fencer", on: "n2").node("n2", ["#node-unfenced": unfenced])

  static let scenarios: [Scenario] = [
    Scenario(
      "a device that provides unfencing unfences every node before probing it there",
      TestCluster("n1", "n2", resources: [device]).property("stonith-enabled", "true")
        .with { $0.unknown = ["fencer"] },
      actions: ["unfence n1", "unfence n2", "probe fencer n1", "probe fencer n2", "start fencer n1"],
      orderings: [
        ("unfence n1", "probe fencer n1"), ("unfence n2", "probe fencer n2"),
        ("unfence n1", "start fencer n1"),
      ],
      summary: [
        "Fence (on) n2 'required by fencer monitor'", "Fence (on) n1 'required by fencer monitor'",
        "Start fencer ( n1 )",
      ]),
    Scenario(
      "a node whose #node-unfenced attribute is set is not unfenced again; 0 means never unfenced",
      TestCluster("n1", "n2", resources: [device]).property("stonith-enabled", "true")
        .node("n1", ["#node-unfenced": unfenced]).node("n2", ["#node-unfenced": "0"])
        .with { $0.unknown = ["fencer"] },
      actions: ["unfence n2", "probe fencer n1", "probe fencer n2", "start fencer n1"],
      orderings: [("unfence n2", "probe fencer n2")],
      summary: ["Fence (on) n2 'required by fencer monitor'", "Start fencer ( n1 )"]),
    Scenario(
      "resources need unfencing by default: a start on a node not yet unfenced waits for it",
      cluster,
      actions: ["unfence n1", "start web n1", "monitor web n1 10000"],
      orderings: [("unfence n1", "start web n1")],
      summary: ["Fence (on) n1 'required by web start'", "Start web ( n1 )"]),
    Scenario(
      "requires=quorum: a resource does not wait for unfencing",
      TestCluster("n1", "n2", resources: [device, primitive("web", ["requires": "quorum"])])
        .property("stonith-enabled", "true").run("fencer", on: "n2").node("n2", ["#node-unfenced": unfenced]),
      actions: ["start web n1", "monitor web n1 10000"],
      summary: ["Start web ( n1 )"]),
    Scenario(
      "requires=unfencing alone enables unfencing, for the resources that need it",
      TestCluster(
        "n1", "n2",
        resources: [
          primitive("fencer", monitor: nil, stonith: true), primitive("web", ["requires": "unfencing"]),
          primitive("db", ["requires": "fencing"]),
        ]
      ).property("stonith-enabled", "true").run("fencer", on: "n1").node("n1", ["#node-unfenced": unfenced]),
      actions: ["unfence n2", "start web n2", "monitor web n2 10000", "start db n1", "monitor db n1 10000"],
      orderings: [("unfence n2", "start web n2")],
      summary: ["Fence (on) n2 'required by web start'", "Start web ( n2 )", "Start db ( n1 )"]),
    Scenario(
      "a changed device definition unfences its node again and restarts what needs unfencing there",
      TestCluster("n1", "n2", resources: [device, primitive("web")]).property("stonith-enabled", "true")
        .node("n1", ["#node-unfenced": unfenced]).node("n2", ["#node-unfenced": unfenced])
        .state("fencer", on: "n1", ResourceNodeState(role: .started, definition: "an older definition"))
        .run("web", on: "n1").with { $0.defaults["resource-stickiness"] = "100" },
      actions: [
        "stop fencer n1", "start fencer n1", "unfence n1", "stop web n1", "start web n1",
        "monitor web n1 10000",
      ],
      orderings: [
        ("stop web n1", "unfence n1"), ("unfence n1", "start web n1"), ("unfence n1", "start fencer n1"),
      ],
      summary: [
        "Fence (on) n1 'Device parameters changed'",
        "Restart fencer ( n1 ) due to resource definition change",
        "Restart web ( n1 ) due to required stonith",
      ]),
    Scenario(
      "without fencing nothing is unfenced",
      TestCluster("n1", "n2", resources: [device, primitive("web")]).with { $0.unknown = ["fencer"] },
      actions: [
        "probe fencer n1", "probe fencer n2", "start fencer n1", "start web n2", "monitor web n2 10000",
      ],
      summary: ["Start fencer ( n1 )", "Start web ( n2 )"]),
    Scenario(
      "an unclean node is fenced, not unfenced; unfencing is listed after fencing found unpacking",
      TestCluster("n1", "n2", "n3", resources: [device, primitive("web")]).property("stonith-enabled", "true")
        .run("fencer", on: "n1").node("n1", ["#node-unfenced": unfenced])
        .with { $0.membership["n3"] = .unclean },
      actions: ["fence n3", "unfence n2", "start web n2", "monitor web n2 10000"],
      orderings: [("unfence n2", "start web n2")],
      summary: [
        "Fence (on) n2 'required by web start'", "Fence (reboot) n3 'peer is no longer part of the cluster'",
        "Start web ( n2 )",
      ]),
  ]

  @Test(arguments: scenarios) func unfencing(_ s: Scenario) { check(s) }
}
