import ResourceModel

/// The composite resources a third of the simulated clusters also run: a group, an anonymous clone, a
/// promotable clone, and colocation and order constraints among them and the scenario's primitives.
///
/// Exists so the whole-cluster simulation exercises what the scheduler does beyond single primitives
/// (instance numbering, shared agent state of anonymous instances, promotion scores set by agents,
/// interleaved and `clone-min` orderings, colocation with the Promoted role) under the same faults,
/// and so the invariants and the convergence check know what the configuration asks for. Drawn from
/// its own generator: the other seeds' schedules stay as they were.
public struct SimulatedComposites: Sendable, Equatable {
  public static let groupId = "grp"
  public static let cloneId = "cln-clone"
  /// The anonymous clone's primitive: its instances are `cln:N`, its agent instance `cln` on every node.
  public static let cloneChild = "cln"
  public static let promotableId = "prm-clone"
  /// The promotable clone's primitive; its agent sets the promotion score `master-prm`.
  public static let promotableChild = "prm"

  /// The group's members in order; ids starting with `gsvc` are systemd units, the others OCF agents.
  public var groupMembers: [String]
  /// Meta attributes of `cln-clone` (`clone-max`, `interleave`, `notify`).
  public var cloneMeta: [String: String]
  /// Meta attributes of `prm-clone` (`promoted-max` 1, `notify`, `clone-min`).
  public var promotableMeta: [String: String]
  public var colocations: [ColocationConstraint]
  public var orders: [OrderConstraint]

  public init(
    groupMembers: [String], cloneMeta: [String: String], promotableMeta: [String: String],
    colocations: [ColocationConstraint], orders: [OrderConstraint]
  ) {
    self.groupMembers = groupMembers
    self.cloneMeta = cloneMeta
    self.promotableMeta = promotableMeta
    self.colocations = colocations
    self.orders = orders
  }

  /// The agent instances the simulated service manager runs for these resources (what faults target):
  /// the group's members and each clone's primitive (one per node, shared by its anonymous instances).
  public var services: [String] { groupMembers + [Self.cloneChild, Self.promotableChild] }

  /// Resource ids a `swpcs resource cleanup` may name.
  public var cleanupTargets: [String] {
    [Self.groupId, Self.cloneId, Self.promotableId, Self.cloneChild, Self.promotableChild] + groupMembers
  }

  /// Draws the composites of a scenario (nil for two thirds of the seeds) and the faults aimed at
  /// them, from `random` (a generator of its own).
  static func generate(
    _ random: inout SeededRandom, nodeCount: Int, primitives: [String], windowMs: Int64
  ) -> (SimulatedComposites, [ScheduledFault])? {
    guard random.chance(1.0 / 3.0) else { return nil }
    func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    let memberCount = 2 + Int(random.next() % 2)
    let members = (1...memberCount).map { random.chance(0.5) ? "gsvc\($0)" : "gdummy\($0)" }
    var cloneMeta: [String: String] = [:]
    if random.chance(0.3) { cloneMeta["clone-max"] = "\(max(1, nodeCount - 1 - Int(random.next() % 2)))" }
    if random.chance(0.2) { cloneMeta["notify"] = "true" }
    var promotableMeta = ["promoted-max": "1"]
    if random.chance(0.4) { promotableMeta["notify"] = "true" }
    var colocations: [ColocationConstraint] = []
    var orders: [OrderConstraint] = []
    // A primitive (and sometimes the group) runs with the Promoted instance, started after its promote.
    var promotedFollower: String?
    if random.chance(0.5) {
      let p = pick(primitives)
      promotedFollower = p
      colocations.append(
        ColocationConstraint(
          id: "\(p)-with-promoted", resource: p, withResource: promotableId, score: .infinity,
          withRole: "Promoted"))
      if random.chance(0.7) {
        orders.append(
          OrderConstraint(
            id: "promote-then-\(p)", first: promotableId, firstAction: "promote", then: p, thenAction: "start"
          ))
      }
    }
    if random.chance(0.4) {
      colocations.append(
        ColocationConstraint(
          id: "grp-with-promoted", resource: groupId, withResource: promotableId, score: .infinity,
          withRole: "Promoted"))
      orders.append(
        OrderConstraint(
          id: "promote-then-grp", first: promotableId, firstAction: "promote", then: groupId,
          thenAction: "start"
        ))
    }
    // The anonymous clone: after the promotable clone (interleaved, or needing clone-min of it), or
    // after a primitive; perhaps where the promotable clone runs.
    let others = primitives.filter { $0 != promotedFollower }
    var orderedAfterPrimitive: String?
    switch random.next() % 10 {
    case 0..<3:
      var order = OrderConstraint(id: "prm-then-cln", first: promotableId, then: cloneId)
      if random.chance(0.5) {
        cloneMeta["interleave"] = "true"
      } else if random.chance(0.4) {
        // clone-min counts runnable instances of the first action of every ordering after the clone:
        // with an ordering after its promote (promoted-max 1) "then" would never be runnable, in
        // Pacemaker as here. That ordering gets require-all=false instead.
        let promoteOrdered = orders.contains { $0.first == promotableId && $0.firstAction == "promote" }
        if random.chance(0.5) && !promoteOrdered {
          promotableMeta["clone-min"] = "2"
        } else {
          order.requireAll = false
        }
      }
      orders.append(order)
      if random.chance(0.5) {
        colocations.append(
          ColocationConstraint(
            id: "cln-with-prm", resource: cloneId, withResource: promotableId, score: .infinity))
      }
    case 3..<5 where !others.isEmpty:
      let p = pick(others)
      orderedAfterPrimitive = p
      orders.append(OrderConstraint(id: "\(p)-then-cln", first: p, then: cloneId))
    default: break
    }
    // A primitive with the anonymous clone, or the clone with a primitive.
    if random.chance(0.3), !others.isEmpty {
      let p = pick(others)
      if random.chance(0.5) && p != orderedAfterPrimitive {
        colocations.append(
          ColocationConstraint(id: "\(p)-with-cln", resource: p, withResource: cloneId, score: .infinity))
      } else {
        colocations.append(
          ColocationConstraint(id: "cln-with-\(p)", resource: cloneId, withResource: p, score: .infinity))
      }
    }
    let composites = SimulatedComposites(
      groupMembers: members, cloneMeta: cloneMeta, promotableMeta: promotableMeta, colocations: colocations,
      orders: orders)

    // Faults aimed at the composites' agents.
    var faults: [ScheduledFault] = []
    let services = composites.services
    for _ in 0..<(1 + Int(random.next() % 6)) {
      let at = 2000 + Int64(random.next() % UInt64(windowMs - 2000))
      let node = 1 + Int(random.next() % UInt64(nodeCount))
      let service = pick(services)
      let actions = service == promotableChild ? ["start", "stop", "promote", "demote"] : ["start", "stop"]
      let fault: SimulatedFault
      switch random.next() % 10 {
      case 0..<4:
        // The promotable clone's agent dies more often: a dead promoted instance is a failure to recover.
        fault = .serviceDies(resource: random.chance(0.4) ? promotableChild : service, node: node)
      case 4..<6: fault = .hangNext(action: pick(actions), resource: service, node: node)
      case 6..<8: fault = .failNext(action: pick(actions), resource: service, node: node)
      case 8: fault = .cleanup(node: node, resource: pick(composites.cleanupTargets))
      default:
        // swpcs resource meta cln-clone clone-max=K (instances numbered K and up become orphans).
        fault = .cloneMaxEdit(node: node, cloneMax: 1 + Int(random.next() % UInt64(nodeCount)))
      }
      faults.append(ScheduledFault(atMs: at, fault: fault))
    }
    return (composites, faults)
  }

  /// Adds the composites to a configuration: the group, the two clones, the constraints.
  func add(to config: inout ResourceConfiguration) {
    func operations(_ id: String) -> [OperationSpec] {
      [
        OperationSpec(id: "\(id)-monitor", name: "monitor", intervalMs: 2000, timeoutMs: 5000),
        OperationSpec(id: "\(id)-start", name: "start", timeoutMs: 4000),
        OperationSpec(id: "\(id)-stop", name: "stop", timeoutMs: 4000),
      ]
    }
    let members = groupMembers.map { id in
      Primitive(
        id: id,
        agent: SimulationScenario.isSystemdUnit(id)
          ? AgentSpec(standard: .systemd, type: id)
          : AgentSpec(standard: .ocf, provider: "heartbeat", type: "Dummy"),
        operations: operations(id))
    }
    config.resources.append(.group(Group(id: Self.groupId, members: members)))
    let cloned = Primitive(
      id: Self.cloneChild, agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "Dummy"),
      operations: operations(Self.cloneChild))
    config.resources.append(.clone(Clone(id: Self.cloneId, meta: cloneMeta, child: .primitive(cloned))))
    let p = Self.promotableChild
    let stateful = Primitive(
      id: p, agent: AgentSpec(standard: .ocf, provider: "swpcs", type: "Stateful"),
      operations: [
        OperationSpec(
          id: "\(p)-monitor-promoted", name: "monitor", intervalMs: 2000, timeoutMs: 5000, role: "Promoted"),
        OperationSpec(
          id: "\(p)-monitor-unpromoted", name: "monitor", intervalMs: 2500, timeoutMs: 5000,
          role: "Unpromoted"),
        OperationSpec(id: "\(p)-start", name: "start", timeoutMs: 4000),
        OperationSpec(id: "\(p)-stop", name: "stop", timeoutMs: 4000),
        OperationSpec(id: "\(p)-promote", name: "promote", timeoutMs: 4000),
        OperationSpec(id: "\(p)-demote", name: "demote", timeoutMs: 4000),
      ])
    config.resources.append(
      .clone(
        Clone(id: Self.promotableId, meta: promotableMeta, promotable: true, child: .primitive(stateful))))
    config.constraints.colocations += colocations
    config.constraints.orders += orders
  }

  public var summary: String {
    var parts = ["group \(Self.groupId) (\(groupMembers.joined(separator: " ")))"]
    let meta = { (m: [String: String]) in
      m.isEmpty
        ? ""
        : " [" + m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "]"
    }
    parts.append("\(Self.cloneId)\(meta(cloneMeta))")
    parts.append("\(Self.promotableId)\(meta(promotableMeta))")
    for c in colocations {
      parts.append("colocation \(c.resource) with \(c.withRole.map { "\($0) " } ?? "")\(c.withResource)")
    }
    for o in orders {
      parts.append(
        "order \(o.firstAction) \(o.first) then \(o.thenAction) \(o.then)\(o.requireAll ? "" : " require-all=false")"
      )
    }
    return parts.joined(separator: ", ")
  }
}

extension SimulationScenario {
  /// Whether the simulated service manager runs `id` as a systemd unit (its death is reported at
  /// once) rather than an OCF agent (noticed by the next monitor).
  public static func isSystemdUnit(_ id: String) -> Bool { id.hasPrefix("svc") || id.hasPrefix("gsvc") }

  /// Every primitive that runs as one instance: the scenario's primitives and the group's members.
  public var singleInstancePrimitives: [String] { resources + (composites?.groupMembers ?? []) }
}
