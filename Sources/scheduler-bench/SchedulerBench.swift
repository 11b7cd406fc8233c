import Foundation
import ResourceModel
import Scheduler

/// `swift run -c release scheduler-bench [RESOURCES NODES]...`: times `Scheduler.schedule` on
/// generated clusters (a benchmark, not a test). Each cluster: primitives with a monitor, one in
/// ten in groups of three, location preferences, colocations and orders between neighbours; run
/// once from scratch (everything probed and stopped) and once in steady state (everything started).
@main
struct SchedulerBench {
  static func main() {
    var args = Array(CommandLine.arguments.dropFirst())
    if args.isEmpty { args = ["1000", "16", "1000", "32", "10000", "16", "10000", "32"] }
    print("| primitives | nodes | from scratch (all stopped) | steady state (all started) | actions |")
    print("|---|---|---|---|---|")
    var i = 0
    while i + 1 < args.count, let resources = Int(args[i]), let nodes = Int(args[i + 1]) {
      run(resources: resources, nodes: nodes)
      i += 2
    }
  }

  static func run(resources: Int, nodes: Int) {
    let nodeNames = (1...nodes).map { "node\($0)" }
    var config = ResourceConfiguration()
    config.properties["stonith-enabled"] = "false"
    config.resourceDefaults["resource-stickiness"] = "100"
    var ids: [String] = []
    var index = 0
    while index < resources {
      if index % 10 == 0 && index + 3 <= resources {
        let members = (0..<3).map { primitive("r\(index + $0)") }
        config.resources.append(.group(Group(id: "g\(index)", members: members)))
        ids.append(contentsOf: members.map(\.id))
        index += 3
      } else {
        config.resources.append(.primitive(primitive("r\(index)")))
        ids.append("r\(index)")
        index += 1
      }
    }
    for (n, id) in ids.enumerated() where n % 7 == 0 {
      config.constraints.locations.append(
        LocationConstraint(id: "loc-\(id)", resource: id, node: nodeNames[n % nodes], score: Score(50)))
    }
    for n in stride(from: 1, to: ids.count, by: 13) {
      config.constraints.colocations.append(
        ColocationConstraint(id: "col-\(n)", resource: ids[n], withResource: ids[n - 1], score: Score(100)))
      config.constraints.orders.append(OrderConstraint(id: "ord-\(n)", first: ids[n - 1], then: ids[n]))
    }
    var state = ClusterState(nodes: nodeNames.map { NodeState(name: $0, membership: .online) }, quorate: true)
    for id in ids {
      state.resources[id] = Dictionary(
        uniqueKeysWithValues: nodeNames.map { ($0, ResourceNodeState(role: .stopped)) })
    }
    let (scratch, transition) = time { Scheduler.schedule(config, state) }
    // Steady state: everything where the first run put it, monitors active.
    var placed = state
    for action in transition.actions where action.kind == .start {
      if let r = action.resource {
        placed.resources[r]?[action.node] = ResourceNodeState(
          role: .started, activeMonitors: ["monitor_10000"])
      }
    }
    let (steady, second) = time { Scheduler.schedule(config, placed) }
    print(
      "| \(resources) | \(nodes) | \(String(format: "%.1f", scratch)) ms | \(String(format: "%.1f", steady)) ms | \(transition.actions.count) / \(second.actions.count) |"
    )
  }

  static func primitive(_ id: String) -> Primitive {
    Primitive(
      id: id, agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "Dummy"),
      operations: [OperationSpec(id: "\(id)-monitor", name: "monitor", intervalMs: 10_000)])
  }

  static func time<T>(_ body: () -> T) -> (Double, T) {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = body()
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, value)
  }
}
