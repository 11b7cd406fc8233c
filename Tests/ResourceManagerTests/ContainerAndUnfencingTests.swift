import ClusterSimulation
import ResourceModel
import Testing

@testable import ResourceManager

/// `web`-like services inside `box` (their `container` meta attribute).
func launched(_ id: String, in container: String = "box") -> Primitive {
  var p = web(id)
  p.meta["container"] = container
  return p
}

/// Starts of `resource` on `node` the simulated nodes carried out.
func starts(_ sim: ManagerSimulation, _ resource: String, on node: String) -> Int {
  sim.executed.filter { $0.node == node && $0.resource == resource && $0.action == "start" }.count
}

@Suite("Resources inside containers, in the controller")
struct ContainerControllerTests {
  @Test("a service inside a container dies: the container restarts with everything inside it, once")
  func failureRestartsTheContainer() throws {
    var sim = formed(resources: [web("box"), launched("app"), launched("app2")])
    let holder = try #require(sim.runningOn("box").first)
    #expect(sim.runningOn("app") == [holder] && sim.runningOn("app2") == [holder])
    sim.failService("app", on: holder)
    sim.run(forMs: 3000)
    #expect(starts(sim, "box", on: holder) == 2, "the container restarted")
    #expect(starts(sim, "app2", on: holder) == 2, "what else runs inside restarted with it")
    #expect(sim.runningOn("app") == [holder] && sim.runningOn("app2") == [holder])
    let record = try #require(sim.controller("n1")?.state.resources["app"]?[holder])
    #expect(record.failCounts["monitor_10000"] == 1)
    #expect(record.onFail == nil, "the restart ended the failure's handling")
    sim.run(forMs: 5000)
    #expect(starts(sim, "box", on: holder) == 2, "no further restarts")
  }

  @Test("a failed stop inside a container counts as done: the container restarts instead of blocking")
  func failedStopRestartsTheContainer() throws {
    var sim = formed(resources: [web("box"), launched("app")])
    let holder = try #require(sim.runningOn("box").first)
    sim.brokenStop.insert(["app", holder])
    sim.failService("app", on: holder)
    sim.run(forMs: 3000)
    let record = try #require(sim.controller("n1")?.state.resources["app"]?[holder])
    #expect(!record.blocked)
    #expect(starts(sim, "box", on: holder) == 2, "the container restarted")
    #expect(sim.runningOn("app") == [holder] && sim.runningOn("box") == [holder])
  }

  @Test("on-fail defaults: restart-container inside a container, and only there")
  func onFailDefaults() throws {
    let sim = formed(resources: [web("box"), launched("app"), launched("lost", in: "nothing")])
    let controller = try #require(sim.controller("n1"))
    let spec = { (resource: String, action: String) in
      ActionSpec(
        resource: resource, agent: AgentSpec(standard: .systemd, type: resource), attributes: [], meta: [:],
        action: action, intervalMs: 0, timeoutMs: 20_000)
    }
    #expect(controller.onFail(for: spec("app", "monitor")) == "restart-container")
    #expect(controller.onFail(for: spec("app", "stop")) == "restart-container")
    #expect(controller.onFail(for: spec("lost", "monitor")) == "restart")
    #expect(controller.onFail(for: spec("box", "stop")) == "block")
  }

  @Test("a container is named by the primitive, its group or its clone; never by itself")
  func launcherResolution() {
    var grouped = Group(id: "grp", meta: ["container": "box"], members: [web("box"), web("app")])
    var config = ResourceConfiguration(resources: [.group(grouped), .primitive(launched("solo"))])
    #expect(config.launcher(of: "app") == "box")
    #expect(config.launcher(of: "box") == nil, "a group member naming itself")
    #expect(config.launcher(of: "solo") == "box")
    grouped.meta["container"] = "grp"
    config.resources[0] = .group(grouped)
    #expect(config.launcher(of: "app") == nil, "its own group")
    config.resources.append(
      .clone(Clone(id: "c", meta: ["container": "solo"], child: .primitive(web("inst")))))
    #expect(config.launcher(of: "inst:1") == "solo")
  }
}

@Suite("Unfencing, in the controller")
struct UnfencingControllerTests {
  static func unfencingCluster() -> ManagerSimulation {
    var device = fenceDevice("scsi")
    device.meta["provides"] = "unfencing"
    return fencedCluster(devices: [device], behaviours: ["scsi": .works(durationMs: 100)])
  }

  @Test("every node runs the unfencing device's on action itself before anything needing it starts there")
  func nodesUnfenceThemselves() throws {
    let sim = Self.unfencingCluster()
    let unfencings = sim.fenceLog.filter { $0.action == "on" }
    #expect(Set(unfencings.map(\.target)) == Set(sim.names))
    #expect(unfencings.allSatisfy { $0.executor == $0.target && $0.ok })
    #expect(sim.fenceLog.allSatisfy { $0.action == "on" }, "nobody was powered off")
    #expect(sim.names.allSatisfy { sim.controller($0) != nil })
    #expect(sim.fencedReactions.isEmpty)
    let holder = try #require(sim.runningOn("web").first)
    let unfenced = try #require(unfencings.first { $0.target == holder })
    let started = sim.executed.firstIndex {
      $0.node == holder && $0.resource == "web" && $0.action == "start"
    }
    #expect(started != nil)
    #expect(unfenced.at > 0)
    for observer in sim.names {
      let nodes = try #require(sim.controller(observer)?.state.nodes)
      #expect(nodes.allSatisfy { ($0.transientAttributes["#node-unfenced"] ?? "0") != "0" })
      #expect(sim.controller(observer)!.fenceHistory.filter { $0.action == "on" }.count == 3)
    }
  }

  @Test("a node that comes back is unfenced again; the others are not")
  func rejoinUnfencesAgain() throws {
    var sim = Self.unfencingCluster()
    let holder = try #require(sim.runningOn("web").first)
    let other = try #require(sim.names.last { $0 != holder })
    let before = sim.fenceLog.filter { $0.action == "on" }.count
    sim.crash(other)
    sim.setView(sim.names.filter { $0 != other }, lost: [other])
    sim.run(forMs: 3000)
    #expect(sim.fenceLog.contains { $0.target == other && $0.action == "reboot" })
    sim.start(other)
    sim.setView(sim.names)
    sim.run(forMs: 5000)
    let after = sim.fenceLog.filter { $0.action == "on" }
    #expect(after.count == before + 1)
    #expect(after.last?.target == other && after.last?.executor == other)
    #expect(sim.runningOn("web") == [holder])
  }

  @Test("without a device providing unfencing, requires=unfencing unfences with the fencing devices")
  func requiresUnfencingOnly() {
    var config = ResourceConfiguration(resources: [.primitive(fenceDevice("ipmi"))])
    #expect(FencingPolicy.unfencingLevels(for: "n1", config).map { $0.devices.map(\.id) } == [["ipmi"]])
    var scsi = fenceDevice("scsi", hosts: "n2")
    scsi.meta["provides"] = "unfencing"
    config.resources.append(.primitive(scsi))
    #expect(FencingPolicy.unfencingLevels(for: "n2", config).map { $0.devices.map(\.id) } == [["scsi"]])
    #expect(FencingPolicy.unfencingExecutor(target: "n2", members: ["n1", "n2"]) == "n2")
    #expect(FencingPolicy.unfencingExecutor(target: "n3", members: ["n1", "n2"]) == nil)
  }
}
