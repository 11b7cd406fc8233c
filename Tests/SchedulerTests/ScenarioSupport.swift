import ResourceModel
import Scheduler
import Testing

/// One scheduling scenario: a cluster, and the exact transition expected from it.
///
/// Actions are written `kind resource node [interval]` ("start web n1", "monitor web n1 10000",
/// "probe web n2", "fence n1", "unfence n1", "cancel web n1 10000"); every expected action must be scheduled and
/// nothing else. Orderings are pairs that must be ordered (directly or through other actions).
/// The summary is compared line by line, in order.
struct Scenario: Sendable, CustomTestStringConvertible {
  let name: String
  var cluster: TestCluster
  var actions: Set<String>
  var orderings: [Pair] = []
  var summary: [String]
  var notes: [String] = []

  struct Pair: Sendable {
    let before: String
    let after: String
  }

  init(
    _ name: String, _ cluster: TestCluster, actions: Set<String>, orderings: [(String, String)] = [],
    summary: [String], notes: [String] = []
  ) {
    self.name = name
    self.cluster = cluster
    self.actions = actions
    self.orderings = orderings.map { Pair(before: $0.0, after: $0.1) }
    self.summary = summary
    self.notes = notes
  }

  var testDescription: String { name }
}

/// A compact way to write a configuration and a state together. By default fencing is disabled (so no
/// fence device is needed), every node is online, and every resource is known to be stopped on every
/// node unless `run`, `state` or `unknown` say otherwise — so scenarios only show what they are about.
struct TestCluster: Sendable {
  var nodes: [String]
  var properties: [String: String] = ["stonith-enabled": "false"]
  var defaults: [String: String] = [:]
  var nodeAttributes: [String: [String: String]] = [:]
  var nodeScores: [String: Score] = [:]
  var membership: [String: NodeState.Membership] = [:]
  var uncleanReasons: [String: String] = [:]
  var resources: [Resource] = []
  var constraints = Constraints()
  var states: [String: [String: ResourceNodeState]] = [:]
  var unknown: Set<String> = []
  var quorate = true
  var now: Int64 = 1_000_000

  init(_ nodes: String..., resources: [Resource] = []) {
    self.nodes = nodes
    self.resources = resources
  }

  func with(_ change: (inout TestCluster) -> Void) -> TestCluster {
    var copy = self
    change(&copy)
    return copy
  }

  /// The resource is active (Started) on the node, with its configured monitors running.
  func run(_ id: String, on node: String, monitors: [String]? = nil) -> TestCluster {
    with {
      let active = monitors ?? $0.monitorKeys(id)
      $0.states[id, default: [:]][node] = ResourceNodeState(role: .started, activeMonitors: active)
    }
  }

  func state(_ id: String, on node: String, _ s: ResourceNodeState) -> TestCluster {
    with { $0.states[id, default: [:]][node] = s }
  }

  func property(_ name: String, _ value: String) -> TestCluster { with { $0.properties[name] = value } }

  func node(_ name: String, _ attributes: [String: String]) -> TestCluster {
    with { $0.nodeAttributes[name, default: [:]].merge(attributes) { $1 } }
  }

  func location(_ rsc: String, _ node: String, _ score: Score) -> TestCluster {
    with {
      $0.constraints.locations.append(
        LocationConstraint(id: "loc-\(rsc)-\(node)", resource: rsc, node: node, score: score))
    }
  }

  func colocate(_ rsc: String, with other: String, _ score: Score) -> TestCluster {
    with {
      $0.constraints.colocations.append(
        ColocationConstraint(id: "col-\(rsc)-\(other)", resource: rsc, withResource: other, score: score))
    }
  }

  func order(
    _ first: String, _ then: String, kind: OrderConstraint.Kind = .mandatory, symmetrical: Bool = true,
    firstAction: String = "start", thenAction: String = "start", requireAll: Bool = true
  ) -> TestCluster {
    with {
      $0.constraints.orders.append(
        OrderConstraint(
          id: "ord-\(first)-\(then)", first: first, firstAction: firstAction, then: then,
          thenAction: thenAction,
          kind: kind, symmetrical: symmetrical, requireAll: requireAll))
    }
  }

  private func monitorKeys(_ id: String) -> [String] {
    func find(_ r: Resource) -> Primitive? {
      switch r {
      case .primitive(let p): p.id == id ? p : nil
      case .group(let g): g.members.first { $0.id == id }
      case .clone: nil
      }
    }
    let p = resources.lazy.compactMap(find).first
    return (p?.operations ?? []).filter { $0.name == "monitor" && $0.intervalMs > 0 }.map {
      "monitor_\($0.intervalMs)"
    }
  }

  private var primitiveIDs: [String] {
    resources.flatMap { r -> [String] in
      switch r {
      case .primitive(let p): [p.id]
      case .group(let g): g.members.map(\.id)
      case .clone: []
      }
    }
  }

  var configuration: ResourceConfiguration {
    ResourceConfiguration(
      properties: properties, resourceDefaults: defaults,
      nodes: nodes.map {
        NodeConfiguration(name: $0, attributes: nodeAttributes[$0] ?? [:], score: nodeScores[$0] ?? .zero)
      },
      resources: resources, constraints: constraints)
  }

  var clusterState: ClusterState {
    var all = states
    for id in primitiveIDs where !unknown.contains(id) {
      for n in nodes where all[id]?[n] == nil && (membership[n] ?? .online) == .online {
        all[id, default: [:]][n] = ResourceNodeState(role: .stopped)
      }
    }
    return ClusterState(
      nodes: nodes.map {
        NodeState(name: $0, membership: membership[$0] ?? .online, uncleanReason: uncleanReasons[$0])
      }, quorate: quorate,
      resources: all, now: now)
  }
}

func primitive(
  _ id: String, _ meta: [String: String] = [:], monitor seconds: Int? = 10, stonith: Bool = false,
  ops: [OperationSpec] = []
) -> Resource {
  .primitive(primitiveSpec(id, meta, monitor: seconds, stonith: stonith, ops: ops))
}

func primitiveSpec(
  _ id: String, _ meta: [String: String] = [:], monitor seconds: Int? = 10, stonith: Bool = false,
  ops: [OperationSpec] = []
) -> Primitive {
  let agent =
    stonith
    ? AgentSpec(standard: .stonith, type: "fence_dummy")
    : AgentSpec(standard: .ocf, provider: "pacemaker", type: "Dummy")
  var operations = ops
  if let seconds { operations.insert(monitorOp(seconds), at: 0) }
  return Primitive(id: id, agent: agent, meta: meta, operations: operations)
}

func monitorOp(_ seconds: Int, onFail: String? = nil, role: String? = nil) -> OperationSpec {
  OperationSpec(id: "mon-\(seconds)", name: "monitor", intervalMs: seconds * 1000, onFail: onFail, role: role)
}

func group(
  _ id: String, _ members: [String], _ meta: [String: String] = [:], memberMeta: [String: String] = [:]
)
  -> Resource
{
  .group(Group(id: id, meta: meta, members: members.map { primitiveSpec($0, memberMeta) }))
}

func failed(
  _ op: String, role: ResourceNodeState.Role = .started, count: Int = 1, at time: Int64 = 999_990,
  onFail: String? = nil
) -> ResourceNodeState {
  ResourceNodeState(
    role: role, failed: true, stopFailed: op == "stop_0", failCounts: [op: count], lastFailure: time,
    activeMonitors: [], failedOperation: op, onFail: onFail)
}

extension ScheduledAction {
  var text: String {
    switch kind {
    case .fence: fenceAction == "on" ? "unfence \(node)" : "fence \(node)"
    case .monitor, .cancel: "\(kind.rawValue) \(resource ?? "") \(node) \(intervalMs)"
    default: "\(kind.rawValue) \(resource ?? "") \(node)"
    }
  }
}

/// Runs a scenario and checks actions, orderings (transitively) and the summary.
func check(_ s: Scenario, sourceLocation: SourceLocation = #_sourceLocation) {
  let t = Scheduler.schedule(s.cluster.configuration, s.cluster.clusterState)
  let texts = t.actions.map(\.text)
  #expect(Set(texts) == s.actions, "actions", sourceLocation: sourceLocation)
  #expect(texts.count == Set(texts).count, "no duplicate actions", sourceLocation: sourceLocation)
  #expect(t.summary == s.summary, "summary", sourceLocation: sourceLocation)
  for note in s.notes {
    #expect(
      t.notes.contains { $0.contains(note) }, "note \(note) in \(t.notes)", sourceLocation: sourceLocation)
  }
  var after = Array(repeating: [Int](), count: t.actions.count)
  for o in t.orderings { after[o.before].append(o.after) }
  func reaches(_ a: Int, _ b: Int) -> Bool {
    var seen: Set<Int> = [a]
    var stack = [a]
    while let x = stack.popLast() {
      if x == b { return true }
      for y in after[x] where seen.insert(y).inserted { stack.append(y) }
    }
    return false
  }
  for pair in s.orderings {
    guard let a = texts.firstIndex(of: pair.before), let b = texts.firstIndex(of: pair.after) else {
      Issue.record("ordering \(pair.before) -> \(pair.after): action missing", sourceLocation: sourceLocation)
      continue
    }
    #expect(reaches(a, b), "\(pair.before) before \(pair.after)", sourceLocation: sourceLocation)
  }
}
