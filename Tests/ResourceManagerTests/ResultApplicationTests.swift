import ResourceModel
import Testing

@testable import ResourceManager

/// How a replica reads action results into a resource's record — cases the whole-cluster simulation
/// found once its clusters had promotable clones and groups (docs/testing.md).
@Suite struct ResultApplicationTests {
  static let stateful = Primitive(
    id: "db", agent: AgentSpec(standard: .ocf, provider: "swpcs", type: "Stateful"),
    operations: [
      OperationSpec(id: "db-mon-p", name: "monitor", intervalMs: 10_000, role: "Promoted"),
      OperationSpec(id: "db-mon-u", name: "monitor", intervalMs: 11_000, role: "Unpromoted"),
    ])

  static func controller(fencing: Bool = false, record: ResourceNodeState) -> ControllerInstance {
    var config = ResourceConfiguration()
    config.properties["stonith-enabled"] = fencing ? "true" : "false"
    config.resources = [
      .clone(Clone(id: "db-clone", promotable: true, child: .primitive(stateful))),
      .primitive(
        Primitive(id: "web", agent: AgentSpec(standard: .ocf, provider: "pacemaker", type: "Dummy"))),
    ]
    var c = ControllerInstance(
      settings: ControllerSettings(localNode: "n1", nodeIds: ["n1": 1, "n2": 2]), config: config)
    c.state.resources["db:0"] = ["n1": record]
    c.state.resources["web"] = ["n1": record]
    return c
  }

  static func result(_ resource: String, _ action: String, rc: Int, status: String = "done") -> ActionResult {
    let spec = ActionSpec(
      resource: resource, agent: stateful.agent, attributes: [], meta: [:], action: action, intervalMs: 0,
      timeoutMs: 20_000)
    return ActionResult(
      transition: 1, index: 0, node: "n1", spec: spec, rc: rc, status: status, durationMs: 1, output: "",
      at: 1)
  }

  /// Seed 30: a promoted instance died; its recovery demotes first, and the agent answers 7 (not
  /// running). Kept Promoted, the instance was demoted again on every re-plan, forever.
  @Test func aDemoteThatFindsTheInstanceStoppedLeavesItToBeStopped() {
    var c = Self.controller(record: ResourceNodeState(role: .promoted, failed: true))
    _ = c.apply(Self.result("db:0", "demote", rc: 7), now: 1000)
    let s = c.state.resources["db:0"]?["n1"]
    #expect(s?.role == .started)
    #expect(s?.failed == true)
  }

  @Test func aFailedDemoteLeavesTheInstanceUnpromoted() {
    var c = Self.controller(record: ResourceNodeState(role: .promoted))
    _ = c.apply(Self.result("db:0", "demote", rc: 1), now: 1000)
    #expect(c.state.resources["db:0"]?["n1"]?.role == .unpromoted)
  }

  @Test func aFailedPromoteMayHavePromoted() {
    var c = Self.controller(record: ResourceNodeState(role: .unpromoted))
    _ = c.apply(Self.result("db:0", "promote", rc: 1), now: 1000)
    #expect(c.state.resources["db:0"]?["n1"]?.role == .promoted)
    #expect(c.state.resources["db:0"]?["n1"]?.failed == true)
  }

  /// Seed 5263: a stop timed out without fencing (blocked); the stop queued behind it succeeded. The
  /// record stayed blocked, so the scheduler never stopped the group member before it.
  @Test func aSuccessfulStopEndsABlock() {
    var c = Self.controller(record: ResourceNodeState(role: .started))
    _ = c.apply(Self.result("web", "stop", rc: 1, status: "timeout"), now: 1000)
    #expect(c.state.resources["web"]?["n1"]?.blocked == true)
    _ = c.apply(Self.result("web", "stop", rc: 0), now: 1000)
    let s = c.state.resources["web"]?["n1"]
    #expect(s?.role == .stopped)
    #expect(s?.blocked == false)
    #expect(s?.failCounts["stop_0"] == 1)
  }
}

extension ResultApplicationTests {
  /// Seed 5020: partitions that merged had numbered the instance on n3 `db:0` (its own DC) and the
  /// DC after the merge `db:2`; a demote of db:2 left both records active on n3 — for one agent
  /// instance. An anonymous instance's action takes over the other numbers' records on its node.
  @Test func anAnonymousInstanceTakesOverItsNodesOtherNumbers() {
    var c = Self.controller(
      record: ResourceNodeState(role: .promoted, failCounts: ["monitor_10000": 1], pending: "demote_0"))
    c.state.resources["db:1"] = ["n2": ResourceNodeState(role: .unpromoted)]
    _ = c.apply(Self.result("db:2", "demote", rc: 0), now: 1000)
    #expect(c.state.resources["db:0"] == nil)
    #expect(c.state.resources["db:2"]?["n1"]?.role == .unpromoted)
    #expect(c.state.resources["db:2"]?["n1"]?.failCounts == ["monitor_10000": 1])
    #expect(c.state.resources["db:1"]?["n2"]?.role == .unpromoted)
  }

  @Test func oneAgentInstanceUnderEveryKeyOfAnAnonymousClone() {
    let anonymous = ["clone": "0", "globally-unique": "false"]
    let unique = ["clone": "0", "globally-unique": "true"]
    #expect(InstanceAlias.sameAgentInstance("db:0", anonymous, "db:2", anonymous))
    #expect(InstanceAlias.sameAgentInstance("db", [:], "db:2", anonymous))
    #expect(!InstanceAlias.sameAgentInstance("db:0", unique, "db:2", unique))
    #expect(!InstanceAlias.sameAgentInstance("db:0", anonymous, "dbx:0", anonymous))
  }
}

extension ResultApplicationTests {
  /// n2's record of `db:1`, stopped after a failed demote (fail count 1), that a DC's request for
  /// `db:2 start` there made `db:2`'s on this replica (`InstanceAlias.adoptInstances`).
  static func replicaWithAdoptedRecordOnN2(failCounts: [String: Int]) -> ControllerInstance {
    var c = controller(record: ResourceNodeState(role: .stopped))
    _ = c.viewChanged(members: ["n1", "n2"], lost: [], left: [], quorate: true, now: 1000)
    c.state.resources["db:1"] = ["n2": ResourceNodeState(role: .stopped, failCounts: failCounts)]
    c.adoptAliases("db:2", node: "n2")
    c.state.resources["db:2"]?["n2"]?.pending = "start_0"
    return c
  }

  static func hello(from node: String, _ resources: [String: ResourceNodeState], _ c: ControllerInstance)
    -> Hello
  {
    Hello(node: node, configVersion: c.config.version, resources: resources, shuttingDown: false)
  }

  /// Seed 7981: the DC delivered its own `db:2 start` on n2, but the view changed before n2 got it;
  /// n2's hello named the agent instance `db:1`. The held fail count stayed beside it on a second
  /// record `db:2`: one failed demote counted twice, and migration-threshold=2 banned the clone there.
  @Test func aHelloNamingAnotherInstanceNumberKeepsOneFailCountPerAgentInstance() {
    var c = Self.replicaWithAdoptedRecordOnN2(failCounts: ["demote_0": 1])
    #expect(c.state.resources["db:1"] == nil)
    #expect(c.state.resources["db:2"]?["n2"]?.failCounts == ["demote_0": 1])
    let own = ResourceNodeState(role: .stopped, failCounts: ["demote_0": 1])
    _ = c.received(.hello(Self.hello(from: "n2", ["db:1": own], c)), from: "n2", now: 1001)
    #expect(c.state.resources["db:2"]?["n2"] == nil)
    #expect(c.state.resources["db:1"]?["n2"]?.failCounts == ["demote_0": 1])
  }

  @Test func aHelloWithoutTheFailCountGetsTheHeldOneUnderItsOwnInstanceNumber() {
    var c = Self.replicaWithAdoptedRecordOnN2(failCounts: ["demote_0": 1])
    let own = ResourceNodeState(role: .stopped)
    _ = c.received(.hello(Self.hello(from: "n2", ["db:1": own], c)), from: "n2", now: 1001)
    #expect(c.state.resources["db:2"]?["n2"] == nil)
    #expect(c.state.resources["db:1"]?["n2"]?.failCounts == ["demote_0": 1])
  }
}
