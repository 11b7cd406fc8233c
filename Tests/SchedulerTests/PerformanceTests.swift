import ResourceModel
import Scheduler
import Testing

/// A large cluster schedules completely and deterministically. Its timings are benchmarks
/// (`scheduler-bench`, `scheduler-differential --bench`, docs/benchmarks.md), not asserted here.
@Suite struct PerformanceTests {
  static func large(probed: Bool) -> (ResourceConfiguration, ClusterState) {
    let nodes = (1...16).map { "node\($0)" }
    var resources: [Resource] = []
    var constraints = Constraints()
    var status: [String: [String: ResourceNodeState]] = [:]
    for i in 0..<1000 {
      let id = "rsc\(i)"
      resources.append(primitive(id))
      if i % 10 == 1 {
        constraints.orders.append(OrderConstraint(id: "o\(i)", first: "rsc\(i - 1)", then: id))
        constraints.colocations.append(
          ColocationConstraint(id: "c\(i)", resource: id, withResource: "rsc\(i - 1)", score: 100))
      }
      if i % 7 == 0 {
        constraints.locations.append(
          LocationConstraint(id: "l\(i)", resource: id, node: nodes[i % 16], score: 50))
      }
      guard probed else { continue }
      for n in nodes { status[id, default: [:]][n] = ResourceNodeState(role: .stopped) }
      if i % 2 == 0 {
        status[id]![nodes[i % 16]] = ResourceNodeState(role: .started, activeMonitors: ["monitor_10000"])
      }
    }
    let config = ResourceConfiguration(
      properties: ["stonith-enabled": "false"], nodes: nodes.map { NodeConfiguration(name: $0) },
      resources: resources, constraints: constraints)
    let state = ClusterState(
      nodes: nodes.map { NodeState(name: $0, membership: .online) }, resources: status, now: 1)
    return (config, state)
  }

  @Test(arguments: [true, false])
  func thousandPrimitivesOnSixteenNodesAreAllPlaced(probed: Bool) {
    let (config, state) = Self.large(probed: probed)
    let transition = Scheduler.schedule(config, state)
    #expect(transition.summary.count >= 500)
  }

  @Test func sameInputsGiveTheSameTransition() {
    let (config, state) = Self.large(probed: true)
    #expect(Scheduler.schedule(config, state) == Scheduler.schedule(config, state))
  }
}
