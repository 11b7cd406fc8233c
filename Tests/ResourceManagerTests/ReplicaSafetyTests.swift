import ClusterSimulation
import ClusterTypes
import ResourceModel
import Testing

@testable import ResourceManager

/// Configuration acknowledgement on stable delivery, ties between copies of one version, fail counts
/// across a controller restart, and a node left behind by its view (docs/testing.md: seeds 4348,
/// 9737, 7823, 9347).
@Suite("Replica safety across partitions and restarts")
struct ReplicaSafetyTests {
  let first = ViewId(sequence: 1, coordinator: NodeId(1))
  let second = ViewId(sequence: 2, coordinator: NodeId(2))

  func replies(_ out: [ControllerDirective]) -> [ManagerResponse] {
    out.compactMap { if case .reply(_, let response) = $0 { response } else { nil } }
  }

  func publish(_ out: [ControllerDirective]) -> ConfigPublish? {
    out.lazy.compactMap { if case .broadcast(.configPublish(let p)) = $0 { p } else { nil } }.first
  }

  /// n2 asks for a change; the DC n1 accepts it at `position`. Returns n2 (waiting) and the publish.
  func changeThroughN2(_ sim: ManagerSimulation, acceptedAt position: DeliveryPosition) -> (
    ControllerInstance, ConfigPublish
  ) {
    var origin = sim.controller("n2")!
    var dc = sim.controller("n1")!
    var edited = origin.config
    edited.properties["edited"] = "yes"
    let request = origin.clientRequest(
      token: 7, ManagerRequest(op: .replaceConfig, config: edited, baseVersion: origin.config.version),
      now: sim.now)
    guard case .broadcast(.configChange(let change)) = request.first else {
      Issue.record("no change sent: \(request)")
      return (origin, ConfigPublish(config: nil))
    }
    let accepted = publish(dc.received(.configChange(change), from: "n2", at: position, now: sim.now))!
    return (origin, accepted)
  }

  @Test("a change is acknowledged once every member of its view holds it, not on delivery")
  func acknowledgedOnStableDelivery() throws {
    let sim = formed()
    var (origin, accepted) = changeThroughN2(sim, acceptedAt: DeliveryPosition(view: first, sequence: 10))
    #expect(accepted.config?.version.acceptedIn == first)
    let delivered = origin.received(
      .configPublish(accepted), from: "n1", at: DeliveryPosition(view: first, sequence: 11), now: sim.now)
    #expect(origin.config.properties["edited"] == "yes")
    #expect(replies(delivered).isEmpty, "delivered here, not yet known to be held by every member")
    #expect(replies(origin.stable(view: first, upTo: 10, now: sim.now)).isEmpty)
    #expect(replies(origin.stable(view: second, upTo: 50, now: sim.now)).isEmpty, "another view")
    let ack = replies(origin.stable(view: first, upTo: 11, now: sim.now))
    #expect(ack.count == 1 && ack[0].ok)
  }

  @Test("a change not yet held by every member when the view changes is answered as uncertain")
  func viewChangeBeforeStable() {
    let sim = formed()
    var (origin, accepted) = changeThroughN2(sim, acceptedAt: DeliveryPosition(view: first, sequence: 10))
    _ = origin.received(
      .configPublish(accepted), from: "n1", at: DeliveryPosition(view: first, sequence: 11), now: sim.now)
    let out = origin.viewChanged(members: ["n1", "n2"], lost: ["n3"], left: [], quorate: true, now: sim.now)
    let answer = replies(out)
    #expect(answer.count == 1)
    #expect(answer.first?.ok == false)
    #expect(answer.first?.error?.contains("may or may not be in force") == true)
    #expect(replies(origin.stable(view: first, upTo: 11, now: sim.now)).isEmpty, "answered once")
  }

  @Test("a change delivered in another view than the one its DC accepted it in is ignored")
  func staleChangeIgnored() {
    let sim = formed()
    var (origin, accepted) = changeThroughN2(sim, acceptedAt: DeliveryPosition(view: first, sequence: 10))
    let before = origin.config
    let out = origin.received(
      .configPublish(accepted), from: "n1", at: DeliveryPosition(view: second, sequence: 3), now: sim.now)
    #expect(origin.config == before)
    #expect(replies(out).first?.ok == false)
  }

  @Test("of two copies of one version, the one accepted in the later view wins when partitions merge")
  func laterViewWinsATie() {
    var base = ResourceConfiguration(version: ConfigVersion(epoch: 1))
    base.properties["stonith-enabled"] = "false"
    var minority = base
    minority.version = ConfigVersion(epoch: 2, acceptedIn: first)
    minority.properties["edit"] = "published to one side only"
    var majority = base
    majority.version = ConfigVersion(epoch: 2, acceptedIn: second)
    majority.properties["edit"] = "accepted by the majority"
    #expect(minority.version < majority.version)
    #expect(minority.version.description == majority.version.description)

    let ids: [String: UInt32] = ["n1": 1, "n2": 2]
    var n1 = ControllerInstance(settings: ControllerSettings(localNode: "n1", nodeIds: ids), config: minority)
    var n2 = ControllerInstance(settings: ControllerSettings(localNode: "n2", nodeIds: ids), config: majority)
    var queue: [(String, ControllerMessage)] = []
    for (name, out) in [
      ("n1", n1.viewChanged(members: ["n1", "n2"], lost: [], left: [], quorate: true, now: 1000)),
      ("n2", n2.viewChanged(members: ["n1", "n2"], lost: [], left: [], quorate: true, now: 1000)),
    ] {
      for case .broadcast(let message) in out { queue.append((name, message)) }
    }
    var sequence: UInt64 = 0
    let merged = ViewId(sequence: 3, coordinator: NodeId(1))
    while !queue.isEmpty {
      let (origin, message) = queue.removeFirst()
      sequence += 1
      let position = DeliveryPosition(view: merged, sequence: sequence)
      for case .broadcast(let next) in n1.received(message, from: origin, at: position, now: 1001) {
        queue.append(("n1", next))
      }
      for case .broadcast(let next) in n2.received(message, from: origin, at: position, now: 1001) {
        queue.append(("n2", next))
      }
      if sequence > 50 { break }
    }
    #expect(n1.config == majority)
    #expect(n2.config == majority)
  }

  /// `web` failed once where it runs (and was recovered there): a fail count of 1 on `holder`.
  func serviceFailedOnce() -> (ManagerSimulation, holder: String) {
    var sim = formed()
    let holder = sim.runningOn("web")[0]
    sim.failService("web", on: holder)
    sim.run(forMs: 2000)
    return (sim, holder)
  }

  @Test("a restarted swpacemakerd's empty hello keeps its fail counts, and the members hand them back")
  func failCountsSurviveAControllerRestart() {
    var (sim, holder) = serviceFailedOnce()
    for name in sim.names {
      #expect(sim.controller(name)!.state.resources["web"]?[holder]?.failCounts["monitor_10000"] == 1)
    }
    sim.restartController(holder)
    sim.run(forMs: 5000)
    for name in sim.names {
      #expect(
        sim.controller(name)!.state.resources["web"]?[holder]?.failCounts["monitor_10000"] == 1,
        "on \(name)")
    }
  }

  @Test("a node back with a new incarnation (lost and a member at once) has no fail counts")
  func newIncarnationForgetsFailCounts() {
    let (sim, holder) = serviceFailedOnce()
    var dc = sim.controller("n1")!
    _ = dc.viewChanged(members: sim.names, lost: [holder], left: [], quorate: true, now: sim.now)
    #expect(dc.state.resources["web"]?[holder]?.failCounts.isEmpty ?? true)
  }

  /// A group of two on n2 (`a` then `b`), running.
  func leftBehind(policy: String? = nil) -> ControllerInstance {
    var config = ResourceConfiguration(version: ConfigVersion(epoch: 3))
    config.properties["stonith-enabled"] = "false"
    if let policy { config.properties["no-quorum-policy"] = policy }
    config.resources = [.group(Group(id: "g", members: [web("a"), web("b")]))]
    let ids: [String: UInt32] = ["n1": 1, "n2": 2, "n3": 3]
    var node = ControllerInstance(settings: ControllerSettings(localNode: "n2", nodeIds: ids), config: config)
    _ = node.viewChanged(members: ["n1", "n2", "n3"], lost: [], left: [], quorate: true, now: 1000)
    for name in ["n1", "n2", "n3"] {
      var resources: [String: ResourceNodeState] = [:]
      if name == "n2" {
        for r in ["a", "b"] {
          resources[r] = ResourceNodeState(role: .started, activeMonitors: ["monitor_10000"])
        }
      } else {
        for r in ["a", "b"] { resources[r] = ResourceNodeState(role: .stopped) }
      }
      let hello = Hello(
        node: name, configVersion: config.version, resources: resources, shuttingDown: false)
      _ = node.received(.hello(hello), from: name, now: 1001)
    }
    return node
  }

  func executed(_ out: [ControllerDirective]) -> [ActionRequest] {
    out.compactMap { if case .execute(let request) = $0 { request } else { nil } }
  }

  @Test("a node whose view-mates moved on without it stops its resources itself, in order, without a DC")
  func leftBehindStopsAlone() throws {
    var node = leftBehind()
    let out = node.quorumChanged(false, movedOn: ["n1", "n3"], now: 5000)
    #expect(!out.contains { if case .broadcast(.actionRequest) = $0 { true } else { false } })
    let first = executed(out)
    #expect(first.map(\.spec.key) == ["stop_0"])
    #expect(first.map(\.spec.resource) == ["b"], "a group stops last member first")
    let stopB = try #require(first.first)
    let next = executed(
      node.operationCompleted(stopB, rc: 0, status: "done", durationMs: 5, output: "", now: 5100))
    #expect(next.map(\.spec.resource) == ["a"])
    // Its hello in the next view already says both are stopped, and the next view ends it.
    let stopA = try #require(next.first)
    _ = node.operationCompleted(stopA, rc: 0, status: "done", durationMs: 5, output: "", now: 5200)
    let view = node.viewChanged(members: ["n2"], lost: ["n1", "n3"], left: [], quorate: false, now: 6000)
    let hello = view.lazy.compactMap { if case .broadcast(.hello(let h)) = $0 { h } else { nil } }.first
    #expect(hello?.resources["a"]?.role == .stopped && hello?.resources["b"]?.role == .stopped)
    #expect(node.movedOn.isEmpty)
  }

  @Test("with no-quorum-policy=freeze a node left behind keeps its resources")
  func leftBehindFreeze() {
    var node = leftBehind(policy: "freeze")
    #expect(executed(node.quorumChanged(false, movedOn: ["n1", "n3"], now: 5000)).isEmpty)
  }
}

@Suite("Transition results and the DC that asked")
struct TransitionKeyTests {
  @Test("a result of another DC's transition with the same number does not complete the running one")
  func anotherDCsTransitionNumber() throws {
    var config = ResourceConfiguration(version: ConfigVersion(epoch: 2))
    config.properties["stonith-enabled"] = "false"
    config.resources = [.primitive(web())]
    let ids: [String: UInt32] = ["n1": 1, "n2": 2]
    var dc = ControllerInstance(
      settings: ControllerSettings(localNode: "n1", nodeIds: ids, startedAtMs: 5000), config: config)
    var requests: [ActionRequest] = []
    func take(_ out: [ControllerDirective]) {
      for case .broadcast(.actionRequest(let request)) in out { requests.append(request) }
    }
    take(dc.viewChanged(members: ["n1", "n2"], lost: [], left: [], quorate: true, now: 10_000))
    for name in ["n1", "n2"] {
      let hello = Hello(
        node: name, configVersion: config.version, resources: ["web": ResourceNodeState(role: .stopped)],
        shuttingDown: false)
      take(dc.received(.hello(hello), from: name, now: 10_001))
    }
    let start = try #require(requests.first { $0.spec.action == "start" })
    #expect(start.dc == "n1@5000")
    // The same transition number, index and action from an earlier DC (n2 was DC before).
    let earlier = ActionResult(
      transition: start.transition, index: start.index, node: start.node, spec: start.spec, rc: 1,
      status: "timeout", durationMs: 4000, output: "", at: 10, dc: "n2@3000")
    requests = []
    take(dc.received(.actionResult(earlier), from: start.node, now: 10_100))
    #expect(dc.running?.completed.contains(start.index) == false, "still in flight")
    #expect(requests.isEmpty, "nothing is planned while the start runs")
    let own = ActionResult(
      transition: start.transition, index: start.index, node: start.node, spec: start.spec, rc: 0,
      status: "done", durationMs: 50, output: "", at: 10, dc: start.dc)
    _ = dc.received(.actionResult(own), from: start.node, now: 10_200)
    // Its own result completes it (and the DC moves on to the next transition).
    #expect(dc.running.map { $0.id != start.transition || $0.completed.contains(start.index) } ?? true)
    #expect(dc.state.resources["web"]?[start.node]?.role == .started)
  }
}
