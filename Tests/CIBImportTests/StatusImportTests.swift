import ResourceModel
import Testing

@testable import CIBImport

private typealias F = CIBFixtures

/// A fence device exists so failed stops can be recovered by fencing.
private let fenceDevice = #"<primitive id="fencer" class="stonith" type="fence_virt"/>"#

// MARK: Node membership

struct MembershipCase: Sendable, CustomTestStringConvertible {
  var name: String
  var state: String
  var attributes = ""
  var fencing = true
  var membership: NodeState.Membership
  var pending = false
  var reason: String?
  var testDescription: String { name }
}

private let membershipCases: [MembershipCase] = [
  MembershipCase(
    name: "a joined member is online",
    state: #"in_ccm="true" crmd="online" join="member" expected="member""#, membership: .online),
  MembershipCase(
    name: "timestamps are read like booleans",
    state: #"in_ccm="1718744075" crmd="1718744075" join="member" expected="member""#, membership: .online),
  MembershipCase(
    name: "a member that left the membership while expected is unclean",
    state: #"in_ccm="false" crmd="online" join="member" expected="member""#, membership: .unclean,
    reason: "peer is no longer part of the cluster"),
  MembershipCase(
    name: "a member whose controller died is unclean",
    state: #"in_ccm="true" crmd="offline" join="member" expected="member""#, membership: .unclean,
    reason: "peer process is no longer available"),
  MembershipCase(
    name: "a node that left cleanly is offline",
    state: #"in_ccm="false" crmd="offline" join="down" expected="down""#, membership: .offline),
  MembershipCase(
    name: "a node still joining is pending",
    state: #"in_ccm="true" crmd="online" join="pending" expected="member""#, membership: .online,
    pending: true),
  MembershipCase(
    name: "a member not expected up is pending",
    state: #"in_ccm="true" crmd="online" join="member" expected="down""#, membership: .online, pending: true),
  MembershipCase(
    name: "a node asked to shut down is shutting down",
    state: #"in_ccm="true" crmd="online" join="member" expected="down""#,
    attributes: #"<nvpair id="s" name="shutdown" value="1700000000"/>"#, membership: .shuttingDown),
  MembershipCase(
    name: "a node that finished shutting down is offline",
    state: #"in_ccm="false" crmd="offline" join="down" expected="down""#,
    attributes: #"<nvpair id="s" name="shutdown" value="1700000000"/>"#, membership: .offline),
  MembershipCase(
    name: "shutdown=0 is not a shutdown request",
    state: #"in_ccm="true" crmd="online" join="member" expected="member""#,
    attributes: #"<nvpair id="s" name="shutdown" value="0"/>"#, membership: .online),
  MembershipCase(
    name: "a node never seen by the membership layer is unclean",
    state: #"crmd="offline" join="down" expected="member""#, membership: .unclean,
    reason: "peer has not been seen by the cluster"),
  MembershipCase(
    name: "a requested termination makes a node unclean",
    state: #"in_ccm="true" crmd="online" join="member" expected="member""#,
    attributes: #"<nvpair id="t" name="terminate" value="true"/>"#, membership: .unclean,
    reason: "fencing was requested"),
  MembershipCase(
    name: "a refused join makes a node unclean",
    state: #"in_ccm="true" crmd="online" join="nack" expected="member""#, membership: .unclean,
    reason: "peer failed Pacemaker membership criteria"),
  MembershipCase(
    name: "an unknown join state makes a node unclean",
    state: #"in_ccm="true" crmd="online" join="banned" expected="member""#, membership: .unclean,
    reason: "peer was in an unknown state"),
  MembershipCase(
    name: "without fencing a lost member is only offline",
    state: #"in_ccm="false" crmd="online" join="member" expected="member""#, fencing: false,
    membership: .offline),
  MembershipCase(
    name: "without fencing a member whose controller died is unclean",
    state: #"in_ccm="true" crmd="offline" join="member" expected="member""#, fencing: false,
    membership: .unclean, reason: "peer is unexpectedly down"),
  MembershipCase(
    name: "without fencing a joining node is offline",
    state: #"in_ccm="true" crmd="online" join="pending" expected="member""#, fencing: false,
    membership: .offline),
]

@Suite("Node membership from node_state")
struct MembershipTests {
  @Test("node_state attributes decide membership", arguments: membershipCases)
  func membership(_ c: MembershipCase) throws {
    let xml = F.cib(
      properties: #"<nvpair id="f" name="fencing-enabled" value="\#(c.fencing)"/>"#,
      nodes: #"<node id="1" uname="n1"/>"#, resources: fenceDevice,
      status: F.nodeState(id: "1", uname: "n1", attributes: c.attributes, membership: c.state))
    let node = try #require(try CIBDocument.parse(xml: xml).state.nodes.first)
    #expect(node.membership == c.membership)
    #expect(node.pending == c.pending)
    #expect(node.uncleanReason == c.reason)
  }

  @Test("a node without state is unclean until seen, unless startup fencing is off")
  func unseenNodes() throws {
    let online = F.nodeState(id: "1", uname: "n1")
    let fenced = try CIBDocument.parse(xml: F.cib(resources: fenceDevice, status: online)).state.nodes
    #expect(fenced.map(\.membership) == [.online, .unclean])
    #expect(fenced[1].uncleanReason == "node is unclean")
    let trusting = try CIBDocument.parse(
      xml: F.cib(
        properties: #"<nvpair id="sf" name="startup-fencing" value="false"/>"#, resources: fenceDevice,
        status: online)
    ).state.nodes
    #expect(trusting.map(\.membership) == [.online, .offline])
    let unfenced = try CIBDocument.parse(
      xml: F.cib(properties: #"<nvpair id="f" name="stonith-enabled" value="false"/>"#, status: online)
    ).state.nodes
    #expect(unfenced.map(\.membership) == [.online, .offline])
  }

  @Test("losing quorum with no-quorum-policy=suicide fences only when panic is allowed")
  func quorumLossFencing() throws {
    let properties = #"<nvpair id="q" name="no-quorum-policy" value="suicide"/>"#
    let status = F.nodeState(id: "1", uname: "n1") + F.nodeState(id: "2", uname: "n2")
    let panic = try CIBDocument.parse(
      xml: F.cib(
        rootAttributes: #"have-quorum="0" no-quorum-panic="1""#, properties: properties,
        resources: fenceDevice,
        status: status))
    #expect(
      panic.state.nodes.map(\.uncleanReason) == [
        "cluster does not have quorum", "cluster does not have quorum",
      ])
    #expect(!panic.state.quorate)
    let never = try CIBDocument.parse(
      xml: F.cib(
        rootAttributes: #"have-quorum="0""#, properties: properties, resources: fenceDevice, status: status))
    #expect(never.state.nodes.map(\.membership) == [.online, .online])
  }

  @Test("transient attributes override permanent ones and keep promotion scores")
  func transientAttributes() throws {
    let xml = F.cib(
      nodes:
        #"<node id="1" uname="n1"><instance_attributes id="na"><nvpair id="na1" name="standby" value="off"/></instance_attributes></node>"#,
      status: F.nodeState(
        id: "1", uname: "n1",
        attributes:
          #"<nvpair id="a1" name="master-db" value="10"/><nvpair id="a2" name="standby" value="on"/>"#))
    let document = try CIBDocument.parse(xml: xml)
    #expect(document.state.nodes[0].transientAttributes == ["master-db": "10", "standby": "on"])
    #expect(document.configuration.nodes[0].attributes == ["standby": "off"])
  }

  @Test("dc-uuid names the DC node; have-quorum sets quorate")
  func dcAndQuorum() throws {
    let document = try CIBDocument.parse(xml: F.cib(rootAttributes: #"have-quorum="true" dc-uuid="2""#))
    #expect(document.state.dcNode == "n2")
    #expect(document.state.quorate)
    let absent = try CIBDocument.parse(xml: F.cib(rootAttributes: ""))
    #expect(!absent.state.quorate)
    #expect(absent.haveQuorum == nil)
  }
}

// MARK: Resource history

struct HistoryCase: Sendable, CustomTestStringConvertible {
  var name: String
  var ops: [String]
  var meta = ""
  var opConfig = ""
  var fencing = true
  var now = "2000"
  var role: ResourceNodeState.Role
  var failed = false
  var onFail: String?
  var failedOperation: String?
  var stopFailed = false
  var hardError = false
  var fatalError = false
  var blocked = false
  var pending: String?
  var monitors: [String] = []
  var testDescription: String { name }
}

private let historyCases: [HistoryCase] = [
  HistoryCase(
    name: "a probe that finds nothing means stopped",
    ops: [F.op("r", "monitor", call: 1, rc: 7, expected: 7)], role: .stopped),
  HistoryCase(
    name: "a probe that finds the resource means started",
    ops: [F.op("r", "monitor", call: 1, rc: 0, expected: 7)], role: .started),
  HistoryCase(
    name: "a probe that finds it promoted means promoted",
    ops: [F.op("r", "monitor", call: 1, rc: 8, expected: 7)], role: .promoted),
  HistoryCase(
    name: "a start and its monitor are active",
    ops: [
      F.op("r", "monitor", call: 1, rc: 7, expected: 7), F.op("r", "start", call: 2),
      F.op("r", "monitor", interval: 10_000, call: 3),
    ],
    role: .started, monitors: ["monitor_10000"]),
  HistoryCase(
    name: "history is ordered by call id, not document order",
    ops: [
      F.op("r", "monitor", interval: 10_000, call: 3), F.op("r", "stop", call: 4),
      F.op("r", "start", call: 2),
    ],
    role: .stopped),
  HistoryCase(
    name: "a failed monitor needs recovery",
    ops: [
      F.op("r", "start", call: 2), F.op("r", "monitor", interval: 10_000, call: 3),
      F.op("r", "monitor", interval: 10_000, call: 3, rc: 1, changed: 1_500, id: "r_last_failure_0"),
    ],
    role: .started, failed: true, onFail: "restart", failedOperation: "monitor_10000",
    monitors: ["monitor_10000"]),
  HistoryCase(
    name: "a restart after a monitor failure clears it",
    ops: [
      F.op("r", "start", call: 2),
      F.op("r", "monitor", interval: 10_000, call: 3, rc: 1, id: "r_last_failure_0"),
      F.op("r", "stop", call: 4), F.op("r", "start", call: 5),
    ],
    role: .started),
  HistoryCase(
    name: "a failed start leaves the resource to recover",
    ops: [F.op("r", "start", call: 2, rc: 1)], role: .started, failed: true, onFail: "restart",
    failedOperation: "start_0"),
  HistoryCase(
    name: "a monitor that finds it stopped unexpectedly is a failure",
    ops: [F.op("r", "start", call: 2), F.op("r", "monitor", interval: 10_000, call: 3, rc: 7)],
    role: .started, failed: true, onFail: "restart", failedOperation: "monitor_10000",
    monitors: ["monitor_10000"]),
  HistoryCase(
    name: "a monitor for the Stopped role that finds it stopped is fine",
    ops: [
      F.op("r", "monitor", call: 1, rc: 7, expected: 7),
      F.op("r", "monitor", interval: 20_000, call: 2, rc: 7, expected: 7),
    ],
    role: .stopped, monitors: ["monitor_20000"]),
  HistoryCase(
    name: "a failed stop with fencing is handled by fencing the node",
    ops: [F.op("r", "start", call: 2), F.op("r", "stop", call: 3, rc: 1)],
    role: .started, failed: true, onFail: "fence", failedOperation: "stop_0", stopFailed: true),
  HistoryCase(
    name: "a failed stop without fencing blocks the resource",
    ops: [F.op("r", "start", call: 2), F.op("r", "stop", call: 3, rc: 1)], fencing: false,
    role: .started, failed: true, onFail: "block", failedOperation: "stop_0", stopFailed: true, blocked: true),
  HistoryCase(
    name: "on-fail=ignore pretends the failure succeeded",
    ops: [F.op("r", "start", call: 2), F.op("r", "monitor", interval: 10_000, call: 3, rc: 1)],
    opConfig: #"<op id="m" name="monitor" interval="10s" on-fail="ignore"/>"#, role: .started,
    monitors: ["monitor_10000"]),
  HistoryCase(
    name: "on-fail=stop keeps the handling after the resource stopped",
    ops: [
      F.op("r", "start", call: 2), F.op("r", "monitor", interval: 10_000, call: 3, rc: 1),
      F.op("r", "stop", call: 4),
    ],
    opConfig: #"<op id="m" name="monitor" interval="10" on-fail="stop"/>"#, role: .stopped, onFail: "stop",
    failedOperation: "monitor_10000"),
  HistoryCase(
    name: "a probe that says not installed means stopped and banned here",
    ops: [F.op("r", "monitor", call: 1, rc: 5, expected: 7)], role: .stopped, hardError: true),
  HistoryCase(
    name: "a start that says not configured is fatal",
    ops: [F.op("r", "start", call: 2, rc: 6)], role: .started, failed: true, onFail: "restart",
    failedOperation: "start_0", fatalError: true),
  HistoryCase(
    name: "a start with invalid parameters is a hard error",
    ops: [F.op("r", "start", call: 2, rc: 2)], role: .started, failed: true, onFail: "restart",
    failedOperation: "start_0", hardError: true),
  HistoryCase(
    name: "a pending start counts as started",
    ops: [
      F.op("r", "monitor", call: 1, rc: 7, expected: 7), F.op("r", "start", call: -1, rc: 193, status: -1),
    ],
    role: .started, pending: "start"),
  HistoryCase(
    name: "a pending start followed by a completed stop is not in flight: stopped",
    ops: [F.op("r", "start", call: 12, rc: 1, status: -1), F.op("r", "stop", call: 21)],
    role: .stopped),
  HistoryCase(
    name: "promote then demote leaves the instance unpromoted",
    ops: [F.op("r", "start", call: 2), F.op("r", "promote", call: 3), F.op("r", "demote", call: 4)],
    role: .unpromoted),
  HistoryCase(
    name: "promote leaves the instance promoted",
    ops: [F.op("r", "start", call: 2), F.op("r", "promote", call: 3)], role: .promoted),
  HistoryCase(
    name: "an expired failure is ignored",
    ops: [
      F.op("r", "monitor", call: 1, rc: 7, expected: 7), F.op("r", "start", call: 2, rc: 1, changed: 1_000),
    ],
    meta: #"<nvpair id="ft" name="failure-timeout" value="60s"/>"#, now: "2000", role: .stopped),
  HistoryCase(
    name: "a failure within failure-timeout still counts",
    ops: [
      F.op("r", "monitor", call: 1, rc: 7, expected: 7), F.op("r", "start", call: 2, rc: 1, changed: 1_000),
    ],
    meta: #"<nvpair id="ft" name="failure-timeout" value="60s"/>"#, now: "1030", role: .started, failed: true,
    onFail: "restart", failedOperation: "start_0"),
  HistoryCase(
    name: "a failure of a resource inside a container restarts the container",
    ops: [F.op("r", "start", call: 2), F.op("r", "monitor", interval: 10_000, call: 3, rc: 1)],
    meta: #"<nvpair id="c" name="container" value="fencer"/>"#, role: .started, failed: true,
    onFail: "restart-container", failedOperation: "monitor_10000", monitors: ["monitor_10000"]),
  HistoryCase(
    name: "a failed stop inside a container counts as done; the container restarts",
    ops: [F.op("r", "start", call: 2), F.op("r", "stop", call: 3, rc: 1)],
    meta: #"<nvpair id="c" name="container" value="fencer"/>"#, role: .stopped, onFail: "restart-container"),
  HistoryCase(
    name: "a container naming the resource itself is no container",
    ops: [F.op("r", "start", call: 2), F.op("r", "stop", call: 3, rc: 1)],
    meta: #"<nvpair id="c" name="container" value="r"/>"#, role: .started, failed: true, onFail: "fence",
    failedOperation: "stop_0", stopFailed: true),
  HistoryCase(
    name: "a container naming no resource is no container",
    ops: [F.op("r", "start", call: 2), F.op("r", "monitor", interval: 10_000, call: 3, rc: 1)],
    meta: #"<nvpair id="c" name="container" value="nothing"/>"#, role: .started, failed: true,
    onFail: "restart", failedOperation: "monitor_10000", monitors: ["monitor_10000"]),
  HistoryCase(
    name: "irrelevant operations do not change the role",
    ops: [F.op("r", "monitor", call: 1, rc: 7, expected: 7), F.op("r", "notify", call: 2)], role: .stopped),
]

@Suite("Resource state from operation history")
struct HistoryTests {
  @Test("lrm_rsc_op histories decide role and failures", arguments: historyCases)
  func history(_ c: HistoryCase) throws {
    let xml = F.cib(
      rootAttributes: #"have-quorum="1" execution-date="\#(c.now)""#,
      properties: #"<nvpair id="f" name="fencing-enabled" value="\#(c.fencing)"/>"#,
      nodes: #"<node id="1" uname="n1"/>"#,
      resources: F.primitive("r", meta: c.meta, ops: c.opConfig) + fenceDevice,
      status: F.nodeState(id: "1", uname: "n1", lrm: F.history("r", c.ops)))
    let state = try #require(try CIBDocument.parse(xml: xml).state.resources["r"]?["n1"])
    #expect(state.role == c.role)
    #expect(state.failed == c.failed)
    #expect(state.onFail == c.onFail)
    #expect(state.failedOperation == c.failedOperation)
    #expect(state.stopFailed == c.stopFailed)
    #expect(state.hardError == c.hardError)
    #expect(state.fatalError == c.fatalError)
    #expect(state.blocked == c.blocked)
    #expect(state.pending == c.pending)
    #expect(state.activeMonitors == c.monitors)
  }

  @Test("a resource never probed on a node has no entry there")
  func neverProbed() throws {
    let xml = F.cib(resources: F.primitive("r"), status: F.nodeState(id: "1", uname: "n1"))
    #expect(try CIBDocument.parse(xml: xml).state.resources["r"] == nil)
  }

  @Test("a failed stop makes an offline node's state a reason to fence it")
  func activeOnOfflineNode() throws {
    let xml = F.cib(
      resources: F.primitive("r") + fenceDevice,
      status: F.nodeState(id: "1", uname: "n1")
        + F.nodeState(
          id: "2", uname: "n2", attributes: #"<nvpair id="s" name="shutdown" value="5"/>"#,
          lrm: F.history("r", [F.op("r", "start", call: 2)]),
          membership: #"in_ccm="false" crmd="offline" join="down" expected="down""#))
    let document = try CIBDocument.parse(xml: xml)
    #expect(document.state.nodes[1].membership == .unclean)
    #expect(document.state.nodes[1].uncleanReason == "r is thought to be active there")
  }

  @Test("on-fail=fence makes the node unclean and the resource failed")
  func failureFencesNode() throws {
    let xml = F.cib(
      resources: F.primitive("r", ops: #"<op id="m" name="monitor" interval="10s" on-fail="fence"/>"#)
        + fenceDevice,
      status: F.nodeState(
        id: "1", uname: "n1",
        lrm: F.history(
          "r", [F.op("r", "start", call: 2), F.op("r", "monitor", interval: 10_000, call: 3, rc: 1)])))
    let document = try CIBDocument.parse(xml: xml)
    #expect(document.state.nodes[0].uncleanReason == "r failed there")
    #expect(document.state.resources["r"]?["n1"]?.failed == true)
  }

  @Test("a stop that failed (not installed) on a node that is down, without quorum: unclean as down, blocked")
  func failedStopOnNodeThatIsDown() throws {
    let xml = F.cib(
      rootAttributes: #"have-quorum="0" dc-uuid="1""#, resources: F.primitive("r") + fenceDevice,
      status: F.nodeState(id: "1", uname: "n1")
        + F.nodeState(
          id: "2", uname: "n2", attributes: #"<nvpair id="s" name="shutdown" value="5"/>"#,
          lrm: F.history("r", [F.op("r", "start", call: 2), F.op("r", "stop", call: 3, rc: 5)]),
          membership: #"crmd="offline" join="down""#))
    let document = try CIBDocument.parse(xml: xml)
    #expect(document.state.nodes[1].membership == .unclean)
    #expect(document.state.nodes[1].uncleanReason == "r failed there while the node was down")
    #expect(document.state.resources["r"]?["n2"]?.blocked == true)
  }
}

// MARK: Fail counts, clone instances, time

@Suite("Fail counts, clone instances and time")
struct FailCountAndInstanceTests {
  @Test("fail-count and last-failure attributes become per-operation fail counts")
  func failCounts() throws {
    let attributes = """
      <nvpair id="a1" name="fail-count-r#monitor_10000" value="3"/>
      <nvpair id="a2" name="last-failure-r#monitor_10000" value="1500"/>
      <nvpair id="a3" name="fail-count-r#start_0" value="INFINITY"/>
      <nvpair id="a4" name="fail-count-r" value="2"/>
      <nvpair id="a5" name="fail-count-other#start_0" value="1"/>
      <nvpair id="a6" name="pingd" value="100"/>
      """
    let xml = F.cib(
      resources: F.primitive("r") + F.primitive("other"),
      status: F.nodeState(
        id: "1", uname: "n1", attributes: attributes, lrm: F.history("r", [F.op("r", "start", call: 2)])))
    let document = try CIBDocument.parse(xml: xml)
    let r = try #require(document.state.resources["r"]?["n1"])
    #expect(r.failCounts == ["monitor_10000": 3, "start_0": 1_000_000, "": 2])
    #expect(r.lastFailure == 1500)
    #expect(r.role == .started)
    let other = try #require(document.state.resources["other"]?["n1"])
    #expect(other.role == .unknown && other.failCounts == ["start_0": 1])
    #expect(document.state.nodes[0].transientAttributes == ["pingd": "100"])
  }

  @Test("anonymous clone histories are numbered per node; unique and removed ones keep their ids")
  func cloneInstances() throws {
    let resources = """
      <clone id="c-clone"><primitive id="c" class="ocf" provider="pacemaker" type="Dummy"/></clone>
      <clone id="u-clone">
        <meta_attributes id="um"><nvpair id="um1" name="globally-unique" value="true"/></meta_attributes>
        <primitive id="u" class="ocf" provider="pacemaker" type="Dummy"/>
      </clone>
      """
    let nodes = #"<node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/>"#
    let status =
      F.nodeState(
        id: "1", uname: "n1",
        attributes: #"<nvpair id="f" name="fail-count-c#monitor_10000" value="1"/>"#,
        lrm: F.history("c", [F.op("c", "start", call: 2)]) + F.history("u:1", [F.op("u:1", "start", call: 3)])
          + F.history("gone", [F.op("gone", "start", call: 4)]))
      + F.nodeState(id: "2", uname: "n2", lrm: F.history("c:7", [F.op("c:7", "start", call: 2)]))
      + F.nodeState(
        id: "3", uname: "n3", lrm: F.history("c", [F.op("c", "monitor", call: 1, rc: 7, expected: 7)]))
    let state = try CIBDocument.parse(xml: F.cib(nodes: nodes, resources: resources, status: status)).state
    #expect(state.resources["c:0"]?["n1"]?.role == .started)
    #expect(state.resources["c:0"]?["n1"]?.failCounts == ["monitor_10000": 1])
    #expect(state.resources["c:1"]?["n2"]?.role == .started)
    #expect(state.resources["c:2"]?["n3"]?.role == .stopped)
    #expect(state.resources["u:1"]?["n1"]?.role == .started)
    #expect(state.resources["gone"]?["n1"]?.role == .started)
    #expect(state.resources["c"] == nil && state.resources["c:7"] == nil)
  }

  @Test("now is execution-date, else the caller's clock, else the newest change")
  func now() throws {
    let status = F.nodeState(
      id: "1", uname: "n1", lrm: F.history("r", [F.op("r", "start", call: 2, changed: 4_242)]))
    let dated = try CIBDocument.parse(
      xml: F.cib(
        rootAttributes: #"execution-date="1700000000""#, resources: F.primitive("r"), status: status),
      defaultNow: 5)
    #expect(dated.state.now == 1_700_000_000 && dated.executionDate == 1_700_000_000)
    let clock = try CIBDocument.parse(xml: F.cib(resources: F.primitive("r"), status: status), defaultNow: 5)
    #expect(clock.state.now == 5)
    let history = try CIBDocument.parse(xml: F.cib(resources: F.primitive("r"), status: status))
    #expect(history.state.now == 4_242)
  }

  @Test("history of a node that is not configured is ignored and reported")
  func unknownNodeState() throws {
    let document = try CIBDocument.parse(xml: F.cib(status: F.nodeState(id: "9", uname: "n9")))
    #expect(document.state.nodes.map(\.name) == ["n1", "n2"])
    #expect(document.unsupported.map(\.element) == ["node_state"])
    #expect(document.schedulingGaps.isEmpty)
  }
}
