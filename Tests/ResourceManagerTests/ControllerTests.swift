import ClusterSimulation
import ResourceModel
import Testing

@testable import ResourceManager

func web(_ id: String = "web") -> Primitive {
  Primitive(
    id: id, agent: AgentSpec(standard: .systemd, type: id),
    operations: [OperationSpec(id: "\(id)-monitor", name: "monitor", intervalMs: 10_000)])
}

/// Three nodes, one view, fencing off, one resource.
func formed(resources: [Primitive] = [web()], fencing: Bool = false) -> ManagerSimulation {
  var sim = ManagerSimulation(nodeCount: 3)
  for name in sim.names { sim.start(name) }
  sim.setView(sim.names)
  sim.run(forMs: 3000)
  sim.edit(at: "n2") { config in
    config.properties["stonith-enabled"] = fencing ? "true" : "false"
    for r in resources { config.resources.append(.primitive(r)) }
  }
  sim.run(forMs: 3000)
  return sim
}

@Suite("Resource manager controller")
struct ControllerTests {
  @Test("among members that started together the lowest id is DC on every replica")
  func dcElection() {
    let sim = formed()
    for name in sim.names { #expect(sim.controller(name)!.dc == "n1") }
  }

  @Test("a change made on any node reaches every node, with one version, persisted")
  func replication() {
    let sim = formed()
    let versions = Set(sim.names.map { sim.controller($0)!.config.version })
    #expect(versions.count == 1)
    #expect(versions.first!.epoch >= 1)
    for name in sim.names { #expect(sim.nodes[name]!.stored == sim.controller(name)!.config) }
  }

  @Test("a resource starts on exactly one node and its monitor runs")
  func startsOnce() {
    let sim = formed()
    #expect(sim.runningOn("web").count == 1)
    #expect(sim.maxConcurrent["web"] == 1)
    let holder = sim.runningOn("web")[0]
    #expect(sim.controller("n3")!.state.resources["web"]?[holder]?.activeMonitors == ["monitor_10000"])
  }

  @Test("a service that dies is recovered in place and its fail count is 1")
  func recoverInPlace() {
    var sim = formed()
    let holder = sim.runningOn("web")[0]
    sim.failService("web", on: holder)
    sim.run(forMs: 2000)
    #expect(sim.runningOn("web") == [holder])
    #expect(sim.controller("n1")!.state.resources["web"]?[holder]?.failCounts["monitor_10000"] == 1)
  }

  @Test("a crashed holder's service is started on a survivor, never twice (fencing disabled)")
  func failover() {
    var sim = formed()
    let holder = sim.runningOn("web")[0]
    sim.crash(holder)
    sim.setView(sim.names.filter { $0 != holder }, lost: [holder])
    sim.run(forMs: 3000)
    #expect(sim.runningOn("web").count == 1)
    #expect(sim.runningOn("web") != [holder])
    #expect(sim.maxConcurrent["web"] == 1)
  }

  @Test("a member that missed the view's commit keeps its resources: nothing is recovered elsewhere")
  func memberThatMissedTheViewKeepsItsResources() {
    var sim = formed()
    let holder = sim.runningOn("web")[0]
    // A third node is lost; the holder stays a member but missed the commit, so it never says hello
    // in the new view (as in seed 1433). Fencing is disabled: offline would mean "recover at once".
    let gone = sim.names.first { $0 != holder }!
    let members = sim.names.filter { $0 != gone }
    sim.setView(members, lost: [gone], missedBy: [holder])
    sim.run(forMs: 6000)
    #expect(sim.runningOn("web") == [holder])
    #expect(sim.maxConcurrent["web"] == 1)
    let dc = members.first { $0 != holder }!
    let seen = sim.controller(dc)!.state.nodes.first { $0.name == holder }
    #expect(seen?.membership == .online && seen?.pending == true)
    // Once it installs a view and says hello it is an ordinary member again.
    sim.setView(members)
    sim.run(forMs: 3000)
    #expect(sim.runningOn("web") == [holder])
    #expect(sim.controller(dc)!.state.nodes.first { $0.name == holder }?.pending == false)
  }

  @Test("a restarted swpacemakerd learns the members' state from their answers and does not act as DC")
  func restartedControllerJoinsTheView() {
    var sim = formed()
    let holder = sim.runningOn("web")[0]
    // n3 is the highest id: alone in its own replica it would be the joined member with the lowest id.
    sim.restartController("n3")
    sim.run(forMs: 5000)
    #expect(sim.controller("n3")!.joined == Set(sim.names))
    for name in sim.names { #expect(sim.controller(name)!.dc == "n1") }
    #expect(sim.runningOn("web") == [holder])
    #expect(sim.maxConcurrent["web"] == 1)
  }

  @Test("a DC refuses configuration changes until every member of a new view said hello")
  func noChangeBeforeEveryVersionIsKnown() {
    let sim = formed()
    var dc = sim.controller("n1")!
    let view = dc.viewChanged(members: sim.names, lost: [], left: [], quorate: true, now: sim.now)
    // Its own hello is ordered first (it is DC then); the others' are still on their way.
    for case .broadcast(.hello(let hello)) in view {
      _ = dc.received(.hello(hello), from: "n1", now: sim.now)
    }
    #expect(dc.isDC)
    let change = ConfigChange(
      requestId: "r1", origin: "n2", baseVersion: dc.config.version, config: dc.config)
    let out = dc.received(.configChange(change), from: "n2", now: sim.now)
    let refused = out.contains { directive in
      if case .broadcast(.configPublish(let publish)) = directive {
        return publish.config == nil && publish.error != nil
      }
      return false
    }
    #expect(refused, "n2's and n3's configuration versions are not known yet: \(out)")
  }

  @Test("a node without quorum refuses to start what a DC asked before, and says so")
  func inquorateNodeRefusesStarts() {
    let sim = formed()
    var node = sim.controller("n3")!
    _ = node.quorumChanged(false, now: sim.now)
    let spec = ActionSpec(
      resource: "web", agent: AgentSpec(standard: .systemd, type: "web"), attributes: [], meta: [:],
      action: "start", intervalMs: 0, timeoutMs: 20_000)
    let out = node.received(
      .actionRequest(ActionRequest(transition: 99, index: 0, node: "n3", spec: spec)), from: node.dc!,
      now: sim.now)
    #expect(!out.contains { if case .execute = $0 { true } else { false } })
    let refused = out.contains { directive in
      if case .broadcast(.actionResult(let result)) = directive { return result.spec == spec }
      return false
    }
    #expect(refused)
  }

  @Test("when the DC crashes the next node becomes DC and keeps managing")
  func dcFailover() {
    var sim = formed()
    sim.crash("n1")
    sim.setView(["n2", "n3"], lost: ["n1"])
    sim.run(forMs: 3000)
    #expect(sim.controller("n2")!.dc == "n2")
    #expect(sim.runningOn("web").count == 1)
  }

  @Test("a node that comes back does not take the DC role from the member that kept running")
  func rejoinKeepsTheDC() {
    var sim = formed()
    sim.crash("n1")
    sim.setView(["n2", "n3"], lost: ["n1"])
    sim.run(forMs: 3000)
    sim.start("n1")
    sim.setView(sim.names)
    sim.run(forMs: 3000)
    for name in sim.names { #expect(sim.controller(name)!.dc == "n2") }
    // n2's own swpacemakerd restarts: the longest-running member, n3, takes over.
    sim.restartController("n2")
    sim.run(forMs: 3000)
    for name in sim.names { #expect(sim.controller(name)!.dc == "n3") }
    #expect(sim.runningOn("web").count == 1)
    #expect(sim.maxConcurrent["web"] == 1)
  }

  @Test("with fencing enabled and no device, a lost node's resources are not started elsewhere")
  func fencingBlocksRecovery() {
    var sim = formed(fencing: true)
    // Fencing enabled without a device: Pacemaker starts nothing at all.
    #expect(sim.runningOn("web").isEmpty)
    sim.edit(at: "n1") { $0.properties["stonith-enabled"] = "false" }
    sim.run(forMs: 3000)
    let holder = sim.runningOn("web")[0]
    sim.edit(at: "n1") { $0.properties["stonith-enabled"] = "true" }
    sim.run(forMs: 2000)
    sim.crash(holder)
    let survivors = sim.names.filter { $0 != holder }
    sim.setView(survivors, lost: [holder])
    sim.run(forMs: 5000)
    #expect(sim.runningOn("web").isEmpty, "must wait for a fence of \(holder)")
    let state = sim.controller(survivors[0])!.state.nodes.first { $0.name == holder }
    #expect(state?.membership == .unclean)
  }

  @Test("standby moves the resource off the node")
  func standby() {
    var sim = formed()
    let holder = sim.runningOn("web")[0]
    sim.edit(at: "n3") { config in
      config.nodes.append(NodeConfiguration(name: holder, attributes: ["standby": "on"]))
    }
    sim.run(forMs: 3000)
    #expect(sim.runningOn("web").count == 1)
    #expect(sim.runningOn("web") != [holder])
    #expect(sim.maxConcurrent["web"] == 1)
  }

  @Test("when partitions merge, the highest configuration version wins everywhere")
  func mergeHighestVersionWins() {
    var sim = formed(resources: [])
    sim.edit(at: "n1") { $0.properties["no-quorum-policy"] = "ignore" }
    sim.run(forMs: 1000)
    // Split: n1 | n2 n3. Both sides change the configuration; the majority side twice.
    sim.setView(["n1"], lost: ["n2", "n3"])
    sim.setView(["n2", "n3"], lost: ["n1"])
    sim.run(forMs: 3000)
    sim.edit(at: "n1") { $0.resourceDefaults["resource-stickiness"] = "1" }
    sim.run(forMs: 500)
    sim.edit(at: "n2") { $0.resourceDefaults["resource-stickiness"] = "100" }
    sim.run(forMs: 500)
    sim.edit(at: "n3") { $0.resourceDefaults["migration-threshold"] = "3" }
    sim.run(forMs: 500)
    let majority = sim.controller("n2")!.config
    sim.setView(sim.names)
    sim.run(forMs: 3000)
    for name in sim.names {
      #expect(sim.controller(name)!.config == majority)
      #expect(sim.nodes[name]!.stored == majority)
    }
  }

  @Test("a change based on an old version is refused, and the version does not move")
  func staleChangeRefused() {
    var sim = formed()
    let before = sim.controller("n2")!.config
    var stale = before
    stale.properties["maintenance-mode"] = "true"
    sim.edit(at: "n1") { $0.properties["no-quorum-policy"] = "freeze" }
    sim.run(forMs: 500)
    let after = sim.controller("n2")!.config.version
    _ = sim.request("n2", ManagerRequest(op: .replaceConfig, config: stale, baseVersion: before.version))
    sim.run(forMs: 500)
    #expect(sim.controller("n2")!.config.version == after)
    #expect(sim.controller("n2")!.config.properties["maintenance-mode"] == nil)
  }

  @Test("a resource that fails to start on a node is started on another")
  func startFailureMoves() {
    var sim = ManagerSimulation(nodeCount: 3)
    for name in sim.names { sim.start(name) }
    sim.brokenStart = [["web", "n1"]]
    sim.setView(sim.names)
    sim.run(forMs: 3000)
    sim.edit(at: "n1") { config in
      config.properties["stonith-enabled"] = "false"
      config.resources.append(.primitive(web()))
    }
    sim.run(forMs: 5000)
    #expect(sim.runningOn("web").count == 1, "\(sim.log.suffix(30).joined(separator: "\n"))")
    #expect(sim.runningOn("web") != ["n1"])
  }

  @Test("deleting a resource stops it")
  func deleteStops() {
    var sim = formed()
    #expect(sim.runningOn("web").count == 1)
    sim.edit(at: "n1") { config in try? ConfigEdits.deleteResource(&config, id: "web") }
    sim.run(forMs: 3000)
    #expect(sim.runningOn("web").isEmpty)
  }
}

@Suite struct NodeListReloadTests {
  @Test("a node removed from cluster.conf is forgotten with its history; a member is kept")
  func removedNodeIsForgotten() {
    var c = ControllerInstance(
      settings: ControllerSettings(localNode: "n1", nodeIds: ["n1": 1, "n2": 2, "n3": 3]),
      config: ResourceConfiguration())
    _ = c.viewChanged(members: ["n1", "n2"], lost: [], left: [], quorate: true, now: 0)
    c.state.nodes = [NodeState(name: "n2", membership: .online), NodeState(name: "n3", membership: .offline)]
    c.state.resources["web"] = [
      "n2": ResourceNodeState(role: .started), "n3": ResourceNodeState(role: .stopped),
    ]
    c.updateNodeIds(["n1": 1])
    #expect(c.settings.nodeIds == ["n1": 1])
    #expect(c.state.nodes.map(\.name) == ["n2"])
    #expect(c.state.resources["web"]?.keys.sorted() == ["n2"])
  }
}

@Suite struct UniqueCloneRecordTests {
  static let running = ResourceNodeState(role: .started, activeMonitors: ["monitor_10000"])

  static func ocf(_ id: String = "web") -> Primitive {
    Primitive(id: id, agent: AgentSpec(standard: .ocf, provider: "pacemaker", type: "Dummy"))
  }

  static func controller(unique: Bool) -> ControllerInstance {
    var config = ResourceConfiguration()
    config.resources = [
      .clone(
        Clone(
          id: "web-clone", meta: ["globally-unique": unique ? "yes" : "false"], child: .primitive(ocf())))
    ]
    var c = ControllerInstance(
      settings: ControllerSettings(localNode: "n1", nodeIds: ["n1": 1, "n2": 2]), config: config)
    c.state.resources["web"] = ["n1": Self.running]
    return c
  }

  /// An action of an anonymous instance takes over the bare id's record on its node; one of a unique
  /// clone's instance leaves it alone (another agent instance).
  @Test(arguments: [false, true])
  func instanceActionAndTheBareRecord(unique: Bool) {
    var c = Self.controller(unique: unique)
    c.adoptAliases("web:0", node: "n1")
    let owner = unique ? "web" : "web:0"
    #expect(c.state.resources[owner]?["n1"] == Self.running)
    #expect(c.state.resources[unique ? "web:0" : "web"] == nil)
  }

  @Test("globally-unique accepts Pacemaker's true spellings")
  func uniqueSpellings() {
    let clone = { (value: String) in
      Clone(id: "c", meta: ["globally-unique": value], child: .primitive(Self.ocf())).isGloballyUnique()
    }
    #expect(["true", "yes", "on", "1", "y", "TRUE"].allSatisfy(clone))
    #expect(!["false", "no", "0", ""].contains(where: clone))
  }

  @Test("clone-node-max above 1 makes a clone unique unless globally-unique says otherwise")
  func uniqueByCloneNodeMax() {
    let clone = { (meta: [String: String]) in
      Clone(id: "c", meta: meta, child: .primitive(Self.ocf())).isGloballyUnique()
    }
    #expect(clone(["clone-node-max": "2"]))
    #expect(!clone(["clone-node-max": "1"]))
    #expect(!clone(["clone-node-max": "2", "globally-unique": "false"]))
    #expect(
      Clone(id: "c", child: .primitive(Self.ocf())).isGloballyUnique(resourceDefaults: [
        "globally-unique": "true"
      ]))
  }

  @Test("a clone of systemd, service or lsb resources is never unique: one unit per node")
  func systemdClonesAreAnonymous() {
    #expect(!Clone(id: "c", meta: ["globally-unique": "true"], child: .primitive(web())).isGloballyUnique())
  }
}
