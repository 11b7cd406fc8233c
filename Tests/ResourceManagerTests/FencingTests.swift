import ClusterSimulation
import ResourceManager
import ResourceModel
import Testing

func fenceDevice(_ id: String, hosts: String = "n1 n2 n3", _ extra: [Attribute] = []) -> Primitive {
  Primitive(
    id: id, agent: AgentSpec(standard: .stonith, type: "fence_sim"),
    attributes: [Attribute("pcmk_host_list", hosts)] + extra)
}

/// Three nodes, fencing on with `devices` (simulated as `behaviours`), and `web` running.
func fencedCluster(
  devices: [Primitive] = [fenceDevice("fence1")],
  behaviours: [String: ManagerSimulation.FenceDeviceBehaviour] = ["fence1": .works(durationMs: 200)],
  levels: [FencingLevel] = [], properties: [String: String] = [:]
) -> ManagerSimulation {
  var sim = ManagerSimulation(nodeCount: 3)
  sim.fenceDevices = behaviours
  for name in sim.names { sim.start(name) }
  sim.setView(sim.names)
  sim.run(forMs: 3000)
  sim.edit(at: "n2") { config in
    config.properties["stonith-enabled"] = "true"
    for (name, value) in properties { config.properties[name] = value }
    for device in devices { config.resources.append(.primitive(device)) }
    config.resources.append(.primitive(web()))
    config.fencingLevels = levels
  }
  sim.run(forMs: 3000)
  return sim
}

func membership(_ sim: ManagerSimulation, at observer: String, of node: String) -> NodeState.Membership? {
  sim.controller(observer)?.state.nodes.first { $0.name == node }?.membership
}

/// One partition driven alone: the controller's broadcasts are delivered back to itself only.
/// Returns the fence requests it hands to its own shell.
func runAlone(_ controller: inout ControllerInstance, _ first: [ControllerDirective], now: Int64)
  -> [FenceRequest]
{
  var queue = first
  var fences: [FenceRequest] = []
  var rounds = 0
  while !queue.isEmpty && rounds < 1000 {
    rounds += 1
    let directive = queue.removeFirst()
    switch directive {
    case .broadcast(let message): queue += controller.received(message, from: controller.me, now: now)
    case .fence(let request): fences.append(request)
    default: break
    }
  }
  return fences
}

@Suite("Fencing decisions")
struct FencingTests {
  @Test("crash: the survivors fence the lost holder, and recovery starts only after the fence")
  func crashIsFencedBeforeRecovery() {
    var sim = fencedCluster(behaviours: ["fence1": .works(durationMs: 2000)])
    let holder = sim.runningOn("web")[0]
    let survivors = sim.names.filter { $0 != holder }
    sim.crash(holder)
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 1500)
    #expect(sim.runningOn("web").isEmpty, "the fence is still running: nothing may start")
    #expect(membership(sim, at: survivors[0], of: holder) == .unclean)
    sim.run(forMs: 4000)
    #expect(sim.runningOn("web").count == 1)
    #expect(survivors.contains(sim.runningOn("web").first ?? ""))
    let fences = sim.fenceLog.filter { $0.target == holder }
    #expect(fences.count == 1)
    #expect(fences.first.map { survivors.contains($0.executor) } == true, "never the target itself")
    #expect(membership(sim, at: survivors[1], of: holder) == .offline)
    let history = sim.controller(survivors[1])!.fenceHistory
    #expect(history.last?.target == holder && history.last?.result == .success)
  }

  @Test("partition: the quorate majority powers the isolated holder off; the service never runs twice")
  func partitionIsFencedNeverTwice() {
    var sim = fencedCluster()
    let holder = sim.runningOn("web")[0]
    let majority = sim.names.filter { $0 != holder }
    // The holder is alive and still runs the service; it only lost contact.
    sim.setView(majority, lost: [holder])
    sim.run(forMs: 5000)
    #expect(sim.controller(holder) == nil, "the holder was powered off by the fence")
    #expect(sim.runningOn("web").count == 1 && majority.contains(sim.runningOn("web")[0]))
    #expect(sim.maxConcurrent["web"] == 1, "the service ran on two live nodes at once")
  }

  @Test("a minority partition never fences")
  func minorityDoesNotFence() throws {
    let sim = fencedCluster()
    var alone = try #require(sim.controller("n3"))
    let fences = runAlone(
      &alone, alone.viewChanged(members: ["n3"], lost: ["n1", "n2"], left: [], quorate: false, now: 1), now: 1
    )
    #expect(fences.isEmpty)
  }

  @Test(
    "two_node race: both sides fence, pcmk_delay_max is random per executor, priority-fencing-delay protects the holder"
  )
  func twoNodeRace() throws {
    var sim = ManagerSimulation(nodeCount: 2)
    for name in sim.names { sim.start(name) }
    sim.setView(sim.names)
    sim.run(forMs: 3000)
    sim.edit(at: "n1") { config in
      config.properties["stonith-enabled"] = "true"
      config.properties["priority-fencing-delay"] = "5s"
      config.resources.append(
        .primitive(fenceDevice("fence1", hosts: "n1 n2", [Attribute("pcmk_delay_max", "2s")])))
      var service = web()
      service.meta["priority"] = "10"
      config.resources.append(.primitive(service))
    }
    sim.run(forMs: 3000)
    let holder = try #require(sim.runningOn("web").first)
    let other = sim.names.first { $0 != holder }!
    // The split: each node alone, each quorate (two_node).
    var holderSide = try #require(sim.controller(holder))
    var otherSide = try #require(sim.controller(other))
    let fromHolder = runAlone(
      &holderSide, holderSide.viewChanged(members: [holder], lost: [other], left: [], quorate: true, now: 10),
      now: 10)
    let fromOther = runAlone(
      &otherSide, otherSide.viewChanged(members: [other], lost: [holder], left: [], quorate: true, now: 10),
      now: 10)
    #expect(fromHolder.map(\.target) == [other])
    #expect(fromOther.map(\.target) == [holder])
    let againstHolder = try #require(fromOther.first)
    let againstOther = try #require(fromHolder.first)
    #expect(againstOther.delayMaxMs == 2000 && againstHolder.delayMaxMs == 2000)
    #expect(againstOther.delayBaseMs == 0)
    #expect(
      againstHolder.delayBaseMs == 5000, "fencing the node with the service waits priority-fencing-delay")
    // Whatever the random draws, the holder's fence fires first.
    #expect(againstOther.delayBaseMs + againstOther.delayMaxMs < againstHolder.delayBaseMs)
  }

  @Test(
    "failed agent: the node stays UNCLEAN, recovery is blocked, history shows each failure, then gives up")
  func failedAgentBlocksRecovery() {
    var sim = fencedCluster(behaviours: ["fence1": .fails], properties: ["stonith-max-attempts": "3"])
    let holder = sim.runningOn("web")[0]
    let survivors = sim.names.filter { $0 != holder }
    sim.crash(holder)
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 10_000)
    #expect(sim.runningOn("web").isEmpty)
    #expect(membership(sim, at: survivors[0], of: holder) == .unclean)
    #expect(sim.fenceLog.filter { $0.target == holder }.count == 3, "fencing-max-attempts")
    let history = sim.controller(survivors[1])!.fenceHistory.filter { $0.target == holder }
    #expect(history.count == 3 && history.allSatisfy { $0.result == .failed })
    let notes = sim.controller(survivors[0])!.snapshot().notes
    #expect(notes.contains { $0.contains("giving up") })
  }

  @Test("stonith confirm unblocks recovery of a node whose fencing failed")
  func confirmUnblocks() {
    var sim = fencedCluster(behaviours: ["fence1": .fails], properties: ["stonith-max-attempts": "2"])
    let holder = sim.runningOn("web")[0]
    let survivors = sim.names.filter { $0 != holder }
    sim.crash(holder)
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 5000)
    #expect(sim.runningOn("web").isEmpty)
    let refused = sim.request(survivors[0], ManagerRequest(op: .fenceConfirm, node: survivors[1]))
    #expect(refused.first?.ok == false, "a member cannot be confirmed down")
    let answer = sim.request(survivors[0], ManagerRequest(op: .fenceConfirm, node: holder))
    #expect(answer.first?.ok == true)
    sim.run(forMs: 3000)
    #expect(sim.runningOn("web").count == 1)
    #expect(membership(sim, at: survivors[1], of: holder) == .offline)
    #expect(sim.controller(survivors[1])!.fenceHistory.last?.result == .confirmed)
  }

  @Test("topology: a failing level falls through to the next, whose devices must all succeed")
  func topologyFallthrough() {
    let levels = ["n1", "n2", "n3"].flatMap { node in
      [
        FencingLevel(id: "\(node)-1", target: node, index: 1, devices: ["bad"]),
        FencingLevel(id: "\(node)-2", target: node, index: 2, devices: ["pdu-a", "pdu-b"]),
      ]
    }
    var sim = fencedCluster(
      devices: [fenceDevice("bad"), fenceDevice("pdu-a"), fenceDevice("pdu-b")],
      behaviours: ["bad": .fails, "pdu-a": .works(durationMs: 100), "pdu-b": .works(durationMs: 100)],
      levels: levels)
    let holder = sim.runningOn("web")[0]
    let survivors = sim.names.filter { $0 != holder }
    sim.crash(holder)
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 5000)
    let tried = sim.fenceLog.filter { $0.target == holder }.map { "\($0.device):\($0.ok)" }
    #expect(tried == ["bad:false", "pdu-a:true", "pdu-b:true"])
    let history = sim.controller(survivors[0])!.fenceHistory.filter { $0.target == holder }
    #expect(history.map(\.level) == [1, 2])
    #expect(history.map(\.result) == [.failed, .success])
    #expect(sim.runningOn("web").count == 1)
  }

  @Test("topology: one failing device of a level fails the level")
  func topologyLevelNeedsAllDevices() {
    let levels = ["n1", "n2", "n3"].flatMap { node in
      [
        FencingLevel(id: "\(node)-1", target: node, index: 1, devices: ["pdu-a", "bad"]),
        FencingLevel(id: "\(node)-2", target: node, index: 2, devices: ["ipmi"]),
      ]
    }
    var sim = fencedCluster(
      devices: [fenceDevice("pdu-a"), fenceDevice("bad"), fenceDevice("ipmi")],
      behaviours: ["pdu-a": .works(durationMs: 50), "bad": .fails, "ipmi": .works(durationMs: 50)],
      levels: levels)
    let holder = sim.runningOn("web")[0]
    let survivors = sim.names.filter { $0 != holder }
    sim.crash(holder)
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 5000)
    let history = sim.controller(survivors[0])!.fenceHistory.filter { $0.target == holder }
    #expect(history.map(\.result) == [.failed, .success])
    #expect(history.last?.devices == ["ipmi"])
  }

  @Test("a device whose host list excludes the target is not used; with none left, recovery is blocked")
  func hostListLimitsDevices() {
    var sim = fencedCluster(
      devices: [fenceDevice("only-n9", hosts: "n9")], behaviours: ["only-n9": .works(durationMs: 10)],
      properties: ["stonith-max-attempts": "1"])
    let holder = sim.runningOn("web")[0]
    let survivors = sim.names.filter { $0 != holder }
    sim.crash(holder)
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 5000)
    #expect(sim.fenceLog.isEmpty)
    #expect(sim.runningOn("web").isEmpty)
    #expect(
      sim.controller(survivors[0])!.fenceHistory.last?.detail.contains("no fencing device can fence") == true)
  }

  @Test("manual fence of a member powers it off; when it leaves it is offline, not unclean")
  func manualFence() {
    var sim = fencedCluster()
    _ = sim.request("n1", ManagerRequest(op: .fence, node: "n3", action: "off"))
    sim.run(forMs: 2000)
    #expect(sim.controller("n3") == nil)
    #expect(sim.controller("n1")!.fenceHistory.last?.requester == "swpcs@n1")
    sim.setView(["n1", "n2"], lost: ["n3"])
    sim.run(forMs: 2000)
    #expect(membership(sim, at: "n1", of: "n3") == .offline)
    #expect(sim.runningOn("web").count == 1)
  }

  @Test("a failed stop fences its member (run by another node); the service is recovered after the fence")
  func failedStopFencesMember() {
    var sim = fencedCluster()
    let holder = sim.runningOn("web")[0]
    let survivors = sim.names.filter { $0 != holder }
    sim.brokenStop = [["web", holder]]
    // The monitor notices the death; the recovery's stop there fails: on-fail=fence.
    sim.failService("web", on: holder)
    sim.run(forMs: 10_000)
    let fences = sim.fenceLog.filter { $0.target == holder }
    #expect(fences.count == 1 && fences.allSatisfy { $0.ok && $0.executor != holder })
    #expect(sim.controller(holder) == nil, "powered off")
    #expect(sim.runningOn("web").count == 1 && !sim.runningOn("web").contains(holder))
    #expect(sim.maxConcurrent["web"] == 1, "never active on two live nodes")
    let history = sim.controller(survivors[0])!.fenceHistory.filter { $0.target == holder }
    #expect(history.map(\.result) == [.success])
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 3000)
    #expect(membership(sim, at: survivors[0], of: holder) == .offline, "fenced, so not UNCLEAN when lost")
    #expect(sim.runningOn("web").count == 1)
  }

  @Test("a member whose resource manager has not joined is pending: not fenced, even with resources")
  func pendingMemberIsNotFenced() {
    var config = ResourceConfiguration()
    config.properties["stonith-enabled"] = "true"
    config.resources = [.primitive(fenceDevice("fence1")), .primitive(web())]
    var dc = ControllerInstance(
      settings: ControllerSettings(localNode: "n1", nodeIds: ["n1": 1, "n2": 2, "n3": 3], joinWaitMs: 1000),
      config: config)
    let all = ["n1", "n2", "n3"]
    func hello(_ node: String, _ resources: [String: ResourceNodeState] = [:]) -> ControllerMessage {
      .hello(Hello(node: node, configVersion: config.version, resources: resources, shuttingDown: false))
    }
    func fenceRequests(_ directives: [ControllerDirective]) -> [FenceRequest] {
      directives.compactMap {
        if case .broadcast(.fenceRequest(let request)) = $0 { return request }
        return nil
      }
    }
    let stopFailed = ResourceNodeState(
      role: .started, failed: true, stopFailed: true, failCounts: ["web_stop_0": 1],
      failedOperation: "web_stop_0",
      onFail: "fence")
    // Everything known (nothing to probe), the device started on n1.
    let stopped = ResourceNodeState(role: .stopped)
    let n1: [String: ResourceNodeState] = ["fence1": ResourceNodeState(role: .started), "web": stopped]
    let n2 = ["fence1": stopped, "web": stopped]
    let n3 = ["fence1": stopped, "web": stopFailed]
    // A new view in which n3 (known to hold web, whose stop failed) has not said hello.
    _ = dc.viewChanged(members: all, lost: [], left: [], quorate: true, now: 1000)
    _ = dc.received(hello("n1", n1), from: "n1", now: 1001)
    _ = dc.received(hello("n2", n2), from: "n2", now: 1002)
    _ = dc.received(hello("n3", n3), from: "n3", now: 1003)
    _ = dc.viewChanged(members: all, lost: [], left: [], quorate: true, now: 2000)
    _ = dc.received(hello("n1", n1), from: "n1", now: 2001)
    _ = dc.received(hello("n2", n2), from: "n2", now: 2002)
    let pending = dc.tick(now: 4000)
    #expect(fenceRequests(pending).isEmpty)
    #expect(
      dc.snapshot().notes.contains { $0.contains("n3 is a member whose resource manager has not joined") })
    // Once it has joined, the failed stop is its own report: it is fenced, by another member.
    let joined = dc.received(hello("n3", n3), from: "n3", now: 4001)
    let requests = fenceRequests(joined)
    #expect(requests.map(\.target) == ["n3"])
    #expect(requests.allSatisfy { $0.executor != "n3" })
  }

  /// n1 and n2 form the cluster; n3 is configured but not started (or starts late).
  func startupCluster(properties: [String: String] = [:], n3After: Int64? = nil) -> ManagerSimulation {
    var sim = ManagerSimulation(nodeCount: 3)
    sim.fenceDevices = ["fence1": .works(durationMs: 200)]
    sim.start("n1")
    sim.start("n2")
    sim.setView(["n1", "n2"])
    sim.run(forMs: 1000)
    sim.edit(at: "n1") { config in
      config.properties["stonith-enabled"] = "true"
      config.properties["dc-deadtime"] = "10s"
      for (name, value) in properties { config.properties[name] = value }
      config.resources.append(.primitive(fenceDevice("fence1")))
      config.resources.append(.primitive(web()))
    }
    if let n3After {
      sim.run(forMs: n3After - 1000)
      sim.start("n3")
      sim.setView(sim.names)
    }
    return sim
  }

  @Test("startup-fencing: a node never seen is fenced after dc-deadtime, and nothing starts before")
  func startupFencingFencesUnseenNode() {
    var sim = startupCluster()
    let start = sim.now - 1000
    sim.run(forMs: 8000)
    #expect(sim.runningOn("web").isEmpty, "nothing starts while waiting for n3")
    #expect(sim.controller("n1")!.snapshot().notes.contains { $0.contains("dc-deadtime") })
    sim.run(forMs: 6000)
    let fence = sim.fenceLog.first { $0.target == "n3" }
    #expect(fence?.ok == true && fence!.at >= start + 10_000)
    #expect(sim.runningOn("web").count == 1)
    #expect(membership(sim, at: "n2", of: "n3") == .offline, "fenced: known down")
    #expect(sim.fenceLog.count == 1, "fenced once")
  }

  @Test("startup-fencing: a node that appears within dc-deadtime is not fenced")
  func startupFencingSparesLateNode() {
    var sim = startupCluster(n3After: 5000)
    sim.run(forMs: 20_000)
    #expect(sim.fenceLog.isEmpty)
    #expect(sim.runningOn("web").count == 1)
  }

  @Test("startup-fencing: a restarted DC learns from hellos that a node which left cleanly was seen")
  func restartedDCLearnsSeenNodes() {
    var sim = fencedCluster()
    sim.crash("n3")
    sim.setView(["n1", "n2"], left: ["n3"])
    sim.run(forMs: 3000)
    sim.crash("n1")
    sim.setView(["n2"], lost: ["n1"])
    sim.run(forMs: 1000)
    sim.start("n1")
    sim.setView(["n1", "n2"])
    sim.run(forMs: 5000)
    // n2 kept running, so it stays DC; when its own swpacemakerd restarts, the restarted n1 takes over.
    sim.restartController("n2")
    sim.run(forMs: 5000)
    #expect(sim.controller("n1")!.isDC)
    #expect(!sim.controller("n1")!.snapshot().notes.contains { $0.contains("dc-deadtime") })
    #expect(sim.fenceLog.allSatisfy { $0.target != "n3" })
    #expect(sim.runningOn("web").count == 1)
  }

  @Test("startup-fencing=false: resources start at once, the unseen node is not fenced")
  func startupFencingOff() {
    var sim = startupCluster(properties: ["startup-fencing": "false"])
    sim.run(forMs: 3000)
    #expect(sim.runningOn("web").count == 1)
    sim.run(forMs: 15_000)
    #expect(sim.fenceLog.isEmpty)
  }

  @Test("no-quorum-policy=suicide fences the partition only after it had quorum and lost it")
  func suicideOnlyAfterQuorumLoss() {
    var config = ResourceConfiguration()
    config.properties["stonith-enabled"] = "true"
    config.properties["no-quorum-policy"] = "suicide"
    config.properties["startup-fencing"] = "false"
    config.resources = [.primitive(fenceDevice("fence1"))]
    var dc = ControllerInstance(
      settings: ControllerSettings(localNode: "n1", nodeIds: ["n1": 1, "n2": 2, "n3": 3], joinWaitMs: 1000),
      config: config)
    let starting = dc.viewChanged(members: ["n1"], lost: [], left: [], quorate: false, now: 1000)
    #expect(runAlone(&dc, starting, now: 1000).isEmpty, "a node starting alone never had quorum")
    _ = dc.viewChanged(members: ["n1", "n2"], lost: [], left: [], quorate: true, now: 2000)
    _ = dc.received(
      .hello(Hello(node: "n2", configVersion: config.version, resources: [:], shuttingDown: false)),
      from: "n2",
      now: 2001)
    let lost = dc.viewChanged(members: ["n1"], lost: ["n2"], left: [], quorate: false, now: 3000)
    let requests = runAlone(&dc, lost, now: 3000)
    #expect(requests.map(\.target) == ["n1"], "the partition that lost quorum fences itself")
    #expect(requests.allSatisfy { $0.executor == "n1" }, "the only member fences itself")
  }

  @Test("fencing-reaction: a node that learns it was fenced after it started reacts")
  func fencingReaction() {
    var config = ResourceConfiguration()
    config.properties["fencing-reaction"] = "panic"
    var me = ControllerInstance(
      settings: ControllerSettings(localNode: "n2", nodeIds: ["n1": 1, "n2": 2], startedAtMs: 1000),
      config: config)
    _ = me.viewChanged(members: ["n1", "n2"], lost: [], left: [], quorate: true, now: 5000)
    let entry = FenceHistoryEntry(
      operation: "x", target: "n2", action: "reboot", requester: "n1", executor: "n1", devices: ["d"],
      level: 0,
      result: .success, detail: "", at: 4000)
    let old = FenceHistoryEntry(
      operation: "y", target: "n2", action: "reboot", requester: "n1", executor: "n1", devices: ["d"],
      level: 0,
      result: .success, detail: "", at: 500)
    let before = me.received(
      .hello(
        Hello(
          node: "n1", configVersion: config.version, resources: [:], shuttingDown: false, fenceHistory: [old])
      ),
      from: "n1", now: 5001)
    #expect(!before.contains(.fenced(reaction: "panic")), "fenced before this start: nothing to do")
    let after = me.received(
      .hello(
        Hello(
          node: "n1", configVersion: config.version, resources: [:], shuttingDown: false,
          fenceHistory: [entry])),
      from: "n1", now: 5002)
    #expect(after.contains(.fenced(reaction: "panic")))
  }
}

@Suite("Fencing policy")
struct FencingPolicyTests {
  @Test("host map, host list and host check defaults")
  func hostSelection() {
    let mapped = fenceDevice("d", hosts: "", [Attribute("pcmk_host_map", "n1:p1;n2:p2")])
    #expect(FencingPolicy.hostMap(mapped) == ["n1": "p1", "n2": "p2"])
    #expect(FencingPolicy.mayTarget(mapped, "n2"))
    #expect(!FencingPolicy.mayTarget(mapped, "n3"))
    let dynamic = Primitive(id: "x", agent: AgentSpec(standard: .stonith, type: "fence_x"))
    #expect(FencingPolicy.hostCheck(dynamic) == "dynamic-list")
    #expect(FencingPolicy.mayTarget(dynamic, "anything"))
  }

  @Test("delays: per-node pcmk_delay_base, sub-second durations")
  func delays() {
    let d = fenceDevice(
      "d", [Attribute("pcmk_delay_base", "n1:0;n2:1.5s"), Attribute("pcmk_delay_max", "750ms")])
    #expect(FencingPolicy.delayBaseMs(d, target: "n2") == 1500)
    #expect(FencingPolicy.delayBaseMs(d, target: "n1") == 0)
    #expect(FencingPolicy.delayMaxMs(d) == 750)
    #expect(FencingPolicy.milliseconds("2") == 2000)
    #expect(FencingPolicy.milliseconds("1min") == 60_000)
  }

  @Test("the executor is not the target unless it is the only member, and prefers where the device runs")
  func executorChoice() {
    #expect(FencingPolicy.executor(target: "n1", members: ["n1", "n2", "n3"], deviceRunsOn: []) == "n2")
    #expect(FencingPolicy.executor(target: "n1", members: ["n1", "n2", "n3"], deviceRunsOn: ["n1"]) == "n2")
    #expect(FencingPolicy.executor(target: "n1", members: ["n2", "n3"], deviceRunsOn: ["n3"]) == "n3")
    #expect(FencingPolicy.executor(target: "n1", members: ["n2"], deviceRunsOn: ["n1"]) == "n2")
    #expect(FencingPolicy.executor(target: "n1", members: ["n1"], deviceRunsOn: []) == "n1", "self-fencing")
    #expect(FencingPolicy.executor(target: "n1", members: [], deviceRunsOn: []) == nil)
  }

  @Test("without topology: capable devices by priority; disabled devices are not used")
  func deviceOrder() {
    var low = fenceDevice("low")
    low.meta["priority"] = "1"
    var high = fenceDevice("high")
    high.meta["priority"] = "5"
    var off = fenceDevice("off")
    off.meta["target-role"] = "Stopped"
    let config = ResourceConfiguration(resources: [.primitive(low), .primitive(off), .primitive(high)])
    #expect(FencingPolicy.levels(for: "n1", config).map { $0.devices.map(\.id) } == [["high"], ["low"]])
  }

  @Test("startup-fencing: configured non-members never seen are waited for, then fenced")
  func startupFencingDecision() {
    var config = ResourceConfiguration()
    config.properties["dc-deadtime"] = "5s"
    let policy = FencingPolicy(config)
    func decide(
      seen: Set<String> = ["n1", "n2"], members: [String] = ["n1", "n2"], enabled: Bool = true,
      device: Bool = true, now: Int64 = 1000
    ) -> FencingPolicy.StartupFencing {
      policy.startupFencing(
        configured: ["n3", "n1", "n2", "n4"], seen: seen, members: members, fencingEnabled: enabled,
        hasDevice: device, startedAtMs: 0, now: now)
    }
    #expect(decide() == .wait(untilMs: 5000, nodes: ["n3", "n4"]))
    #expect(decide(now: 5000) == .fence(["n3", "n4"]))
    #expect(
      decide(members: ["n1", "n2", "n3"], now: 5000) == .fence(["n4"]), "a member is pending, not unseen")
    #expect(decide(seen: ["n1", "n2", "n3", "n4"]) == .nothing)
    #expect(decide(enabled: false) == .nothing)
    #expect(decide(device: false) == .nothing, "nothing could fence it")
    config.properties["startup-fencing"] = "false"
    #expect(
      FencingPolicy(config).startupFencing(
        configured: ["n1", "n3"], seen: ["n1"], members: ["n1"], fencingEnabled: true, hasDevice: true,
        startedAtMs: 0, now: 0) == .nothing)
    #expect(FencingPolicy(ResourceConfiguration()).dcDeadtimeMs == 20_000)
  }

  @Test("options: fencing-timeout, fencing-action, max attempts, reaction")
  func options() {
    let config = ResourceConfiguration(properties: [
      "stonith-timeout": "30s", "stonith-action": "off", "stonith-max-attempts": "4",
      "fencing-reaction": "panic",
    ])
    let policy = FencingPolicy(config)
    #expect(
      policy.timeoutMs == 30_000 && policy.action == "off" && policy.maxAttempts == 4
        && policy.reaction == "panic")
    #expect(FencingPolicy(ResourceConfiguration()).timeoutMs == 60_000)
  }
}
