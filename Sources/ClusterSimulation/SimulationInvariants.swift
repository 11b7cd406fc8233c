import ClusterTypes
import Membership
import ResourceManager
import ResourceModel

/// The safety invariants of the whole-cluster simulation, checked as each step changes state, and
/// the convergence condition checked once the faults are over.
///
/// Names (stable, used in reports and regression tests):
/// - `single-active` — a primitive (a group member too) runs on two powered nodes: with fencing, at
///   any moment (a node is live until fenced); without, for longer than the grace a cut-off node needs
///   to stop it under no-quorum-policy=stop, and not counting a resource whose stop failed (blocked,
///   unrecoverable without fencing) nor a group member before a blocked member on that node (its stop
///   is ordered after the blocked one: `stopBlockedHere`).
/// - `clone-single-per-node` — a node is asked to start an anonymous clone instance while the clone's
///   agent instance already runs there, or while another instance's start is in flight there: the
///   instances of an anonymous clone on one node are one agent instance (`OCF_RESOURCE_INSTANCE` is
///   the bare id), so that would be a second start of one service.
/// - `clone-max` — the anonymous clone runs on more live nodes than its `clone-max` (after the value
///   was lowered, the previous one holds for 20 s while the instances numbered above stop); live and
///   grace as for `single-active`.
/// - `promoted-max` — more live nodes run the promotable clone promoted than its `promoted-max`;
///   live and grace as for `single-active`.
/// - `inquorate-start` — a node starts something while its partition has no quorum.
/// - `view-agreement` — two nodes installed the same view id with different members, or a node
///   installed a view it is not in, or view ids went backwards.
/// - `total-order` — members of a view delivered different messages at the same position.
/// - `virtual-synchrony` — two nodes installed the same two consecutive views but delivered a
///   different number of messages in the first.
/// - `config-monotonic` — a node's configuration version went backwards (memory or disk).
/// - `acknowledged-change-kept` — a configuration change acknowledged to a client is missing once
///   the cluster converged.
/// - `fail-count-monotonic` — a node's own fail count of a resource decreased without a cleanup.
/// - `convergence` — after the faults, the cluster did not reach one view with every runnable
///   resource running exactly once (and the replicas agreeing with reality) within the bound; with
///   composites also: the group complete on one node, the clones at their expected counts, one
///   promoted instance (when an instance runs), mandatory colocations satisfied
///   (`compositeConvergenceProblem`).
extension WholeClusterSimulation {
  mutating func observeView(_ i: Int, _ change: ViewChange) {
    let id = change.view.id
    let members = change.view.memberIds
    if let known = viewMembers[id], known != members {
      fail("view-agreement", "view \(id) has members \(known) on one node and \(members) on \(nodes[i].name)")
    }
    viewMembers[id] = members
    if change.view.members[nodes[i].id] == nil {
      fail("view-agreement", "\(nodes[i].name) installed view \(id) it is not a member of")
    }
    if let previous = nodes[i].currentView {
      if id <= previous {
        fail("view-agreement", "\(nodes[i].name) installed view \(id) after \(previous)")
      }
      let pair = [previous, id]
      if let count = flushCounts[pair], count != nodes[i].deliveredInView {
        fail(
          "virtual-synchrony",
          "\(nodes[i].name) delivered \(nodes[i].deliveredInView) messages in \(previous) before \(id); another member delivered \(count)"
        )
      }
      flushCounts[pair] = nodes[i].deliveredInView
    }
    nodes[i].currentView = id
    nodes[i].deliveredInView = 0
  }

  mutating func observeDelivery(_ i: Int, _ delivery: GroupDelivery) {
    guard delivery.view == nodes[i].currentView else {
      fail(
        "total-order",
        "\(nodes[i].name) delivered a message of view \(delivery.view) while in \(nodes[i].currentView.map { "\($0)" } ?? "no view")"
      )
      return
    }
    let position = nodes[i].deliveredInView
    var list = canonical[delivery.view] ?? []
    if position < list.count {
      if list[position] != delivery {
        fail(
          "total-order",
          "\(nodes[i].name) delivered seq \(delivery.sequence) from n\(delivery.origin) at position \(position) of view \(delivery.view); another member delivered seq \(list[position].sequence) from n\(list[position].origin)"
        )
      }
    } else {
      list.append(delivery)
      canonical[delivery.view] = list
    }
    nodes[i].deliveredInView += 1
  }

  /// After every input to node `i`'s controller.
  mutating func checkNode(_ i: Int, cleanup: Bool) {
    guard let controller = nodes[i].controller else { return }
    let version = controller.config.version
    if version < nodes[i].highestConfig {
      fail(
        "config-monotonic", "\(nodes[i].name) went from configuration \(nodes[i].highestConfig) to \(version)"
      )
    }
    nodes[i].highestConfig = max(nodes[i].highestConfig, version)
    // Per agent instance: an anonymous clone's instance numbers on a node are one agent instance,
    // whose records fold into one (InstanceAlias.adoptInstances adds their counts up).
    var own: [String: [String: Int]] = [:]
    for (resource, byNode) in controller.state.resources {
      guard let counts = byNode[nodes[i].name]?.failCounts, !counts.isEmpty else { continue }
      own[String(InstanceAlias.base(resource)), default: [:]].merge(counts) { max($0, $1) }
    }
    if !cleanup {
      for (resource, counts) in nodes[i].ownFailCounts {
        for (key, count) in counts where (own[resource]?[key] ?? 0) < count {
          fail(
            "fail-count-monotonic",
            "\(nodes[i].name)'s own fail count of \(resource) \(key) went from \(count) to \(own[resource]?[key] ?? 0)"
          )
        }
      }
    }
    nodes[i].ownFailCounts = own
  }

  /// When a node is asked to start an anonymous clone instance whose agent instance is `service`.
  mutating func checkSinglePerNode(_ i: Int, _ spec: ActionSpec, _ service: String) {
    // The same instance's start asked again (a DC re-plans while it is in flight: Pacemaker keeps a
    // pending start in the graph) is the same agent call repeated, which OCF agents must accept.
    if nodes[i].running.contains(service), let owner = nodes[i].startedAs[service], owner != spec.resource {
      fail(
        "clone-single-per-node",
        "\(nodes[i].name) starts \(spec.resource) while \(service) already runs there as \(owner) (an anonymous clone's instances on one node are one agent instance)"
      )
    } else if let other = nodes[i].operations.first(where: {
      $0.request.spec.action == "start" && $0.request.spec.resource != spec.resource
        && Self.service(of: $0.request.spec) == service
    }) {
      fail(
        "clone-single-per-node",
        "\(nodes[i].name) starts \(spec.resource) while the start of \(other.request.spec.resource) is in flight there (one agent instance \(service))"
      )
    }
  }

  /// A node counts for the placement invariants: powered, and (without fencing) with a running
  /// swpacemakerd — nothing can stop a service on a node whose swpacemakerd is down without fencing.
  func countsAsLive(_ i: Int) -> Bool { nodes[i].up && (scenario.fencing || nodes[i].controller != nil) }

  /// Whether node `i`'s own replica says a stop of `base` (any of its instances) failed or it is blocked.
  func stopFailedHere(_ i: Int, _ base: String) -> Bool {
    guard let state = nodes[i].controller?.state else { return false }
    for (key, byNode) in state.resources where InstanceAlias.base(key) == base {
      if let s = byNode[nodes[i].name], s.stopFailed || s.blocked { return true }
    }
    return false
  }

  /// Whether node `i`'s own replica says the stop of the single-instance primitive `resource` cannot
  /// run there: its own stop failed or it is blocked, or — a group member — a member after it in the
  /// group is. A group stops its members in reverse order, and a member whose stop is blocked blocks
  /// the stops of those before it (Pacemaker: "Stop dummy01 due to unrunnable dummy02 stop
  /// (blocked)", regression case bug-5028). Without fencing a partition that lost the node does not
  /// consider what ran there at all (Pacemaker's unpack skips the history of offline nodes when
  /// fencing is disabled) and starts the group elsewhere, so the members before the blocked one stay
  /// active twice as the blocked one does.
  func stopBlockedHere(_ i: Int, _ resource: String) -> Bool {
    guard let state = nodes[i].controller?.state else { return false }
    func blocked(_ id: String) -> Bool {
      guard let s = state.resources[id]?[nodes[i].name] else { return false }
      return s.stopFailed || s.blocked
    }
    if blocked(resource) { return true }
    guard let members = scenario.composites?.groupMembers, let position = members.firstIndex(of: resource)
    else { return false }
    return members[(position + 1)...].contains { blocked($0) }
  }

  /// After every step: the real world.
  mutating func checkWorld() {
    if scenario.composites != nil { checkCloneLimits() }
    for resource in scenario.singleInstancePrimitives {
      // Runs after every event: indices, not `filter`, so no node is copied.
      var holders: [String] = []
      // Without fencing nothing stops a service on a node whose swpacemakerd is down while the others
      // recover it (Pacemaker has no answer to that without fencing either): it does not count.
      for i in nodes.indices
      where nodes[i].up && nodes[i].running.contains(resource)
        && (scenario.fencing || nodes[i].controller != nil)
      {
        holders.append(nodes[i].name)
      }
      // Without fencing a failed stop cannot be recovered safely (Pacemaker's documented limit):
      // the resource stays blocked where the stop failed while a cut-off majority recovers it. So do
      // the group members before it there (a group stops in reverse order).
      let unrecoverable =
        holders.count >= 2 && !scenario.fencing
        && nodes.indices.contains { i in nodes[i].running.contains(resource) && stopBlockedHere(i, resource) }
      if holders.count >= 2 && !unrecoverable {
        if let since = doubleActiveSince[resource] {
          if now - since > singleActiveGrace {
            fail(
              "single-active",
              "\(resource) has been running on \(holders.joined(separator: " and ")) for more than \(singleActiveGrace)"
            )
          }
        } else {
          doubleActiveSince[resource] = now
          log("\(resource) is active on \(holders.joined(separator: " and "))")
        }
      } else {
        doubleActiveSince[resource] = nil
      }
    }
  }

  /// `clone-max` of the anonymous clone and `promoted-max` of the promotable clone on live nodes.
  mutating func checkCloneLimits() {
    var limit: Int?
    for i in nodes.indices {
      guard let config = nodes[i].controller?.config else { continue }
      let value = Self.cloneMax(config, SimulatedComposites.cloneId, nodeCount: nodes.count)
      limit = max(limit ?? value, value)
    }
    guard var cloneLimit = limit else { return }
    if let last = lastCloneLimit, cloneLimit < last {
      cloneLimitRelaxed = (max(last, cloneLimitRelaxed?.limit ?? 0), now + .seconds(20))
      cloneMaxLowered = true
    }
    lastCloneLimit = cloneLimit
    if let relaxed = cloneLimitRelaxed {
      if now < relaxed.until { cloneLimit = max(cloneLimit, relaxed.limit) } else { cloneLimitRelaxed = nil }
    }
    let clone = SimulatedComposites.cloneChild
    let promotable = SimulatedComposites.promotableChild
    var cloneHolders: [Int] = []
    var promotedHolders: [Int] = []
    for i in nodes.indices where countsAsLive(i) {
      if nodes[i].running.contains(clone) { cloneHolders.append(i) }
      if nodes[i].promoted.contains(promotable) { promotedHolders.append(i) }
    }
    // Without fencing (or for the orphans of a lowered clone-max) a failed stop leaves an instance
    // that nothing can stop: it does not count. (Looked up only over the limit: this runs after
    // every event.)
    if cloneHolders.count > cloneLimit && (!scenario.fencing || cloneMaxLowered) {
      cloneHolders.removeAll { stopFailedHere($0, clone) }
    }
    if promotedHolders.count > 1 && !scenario.fencing {
      promotedHolders.removeAll { stopFailedHere($0, promotable) }
    }
    overLimit(
      "clone-max", SimulatedComposites.cloneId, holders: cloneHolders.map { nodes[$0].name },
      limit: cloneLimit,
      what: "runs on")
    overLimit(
      "promoted-max", SimulatedComposites.promotableId, holders: promotedHolders.map { nodes[$0].name },
      limit: 1, what: "is promoted on")
  }

  mutating func overLimit(_ name: String, _ clone: String, holders: [String], limit: Int, what: String) {
    guard holders.count > limit else {
      overLimitSince[name] = nil
      return
    }
    if let since = overLimitSince[name] {
      if now - since > singleActiveGrace {
        fail(
          name,
          "\(clone) \(what) \(holders.joined(separator: " and ")) (\(name) \(limit)) for more than \(singleActiveGrace)"
        )
      }
    } else {
      overLimitSince[name] = now
      log("\(clone) \(what) \(holders.joined(separator: " and ")) (\(name) \(limit))")
    }
  }

  /// A clone's `clone-max` in `config` (default: one per node).
  static func cloneMax(_ config: ResourceConfiguration, _ id: String, nodeCount: Int) -> Int {
    for case .clone(let c) in config.resources where c.id == id {
      return c.meta["clone-max"].flatMap { Int($0) } ?? nodeCount
    }
    return nodeCount
  }

  /// Nil when the cluster converged; otherwise what is still wrong.
  func convergenceProblem() -> String? {
    let all = nodes.map(\.id)
    guard let first = nodes[0].membership?.instance.installed else { return "n1 has no view" }
    for node in nodes {
      guard let view = node.membership?.instance.installed else { return "\(node.name) has no view" }
      if view.memberIds != all || view != first {
        return "\(node.name) is in view \(view.id) \(view.memberIds)"
      }
      guard let c = node.controller else { return "\(node.name) has no controller" }
      if c.joined.count != nodes.count { return "\(node.name) has joined \(c.joined.sorted())" }
      if c.config.version != nodes[0].controller?.config.version {
        return "\(node.name) has configuration \(c.config.version)"
      }
      if !node.operations.isEmpty {
        let what = node.operations.map {
          "\($0.request.spec.resource) \($0.request.spec.action)_\($0.request.spec.intervalMs)"
        }
        return "\(node.name) is executing \(what.sorted().joined(separator: ", "))"
      }
    }
    guard let dcName = nodes[0].controller?.dc, let dc = nodes.first(where: { $0.name == dcName })?.controller
    else { return "no DC" }
    if !dc.snapshot().transition.isEmpty { return "the DC is executing a transition" }
    let threshold = scenario.migrationThreshold ?? Score.infinityValue
    let composites = scenario.composites
    for resource in scenario.resources {
      let holders = nodes.filter { $0.running.contains(resource) }.map(\.name)
      let states = dc.state.resources[resource] ?? [:]
      if states.values.contains(where: { $0.blocked || $0.stopFailed }) {
        // Without fencing a blocked resource may stay active twice until an administrator cleans up.
        if holders.count > 1 && scenario.fencing { return "\(resource) (blocked) runs on \(holders)" }
        continue
      }
      let eligible = nodes.filter { node in
        guard let s = states[node.name] else { return true }
        return s.totalFailCount < threshold && !s.hardError && !s.fatalError
      }
      // With composites: also only where its mandatory colocations' primaries are.
      var allowed = Set(eligible.map(\.name))
      for c in composites?.colocations ?? [] where c.resource == resource && c.score == .infinity {
        allowed.formIntersection(primaryNodes(c, dc))
      }
      let expected = allowed.isEmpty ? 0 : 1
      let startBlocked = Self.followsBlockedPromoted(resource, composites, dc.state)
      if startBlocked ? holders.count > expected : holders.count != expected {
        return
          "\(resource) runs on \(holders) (expected on \(expected) node(s); eligible \(eligible.map(\.name))\(composites == nil ? "" : ", allowed by its colocations \(allowed.sorted())"))"
      }
      if composites != nil, let holder = holders.first, !allowed.contains(holder) {
        return
          "\(resource) runs on \(holder), not where its mandatory colocations allow (\(allowed.sorted()))"
      }
      for node in nodes {
        let believed = states[node.name]?.role == .started
        if believed != node.running.contains(resource) {
          return
            "the DC believes \(resource) is \(believed ? "" : "not ")started on \(node.name); it is\(believed ? " not" : "")"
        }
      }
    }
    if let composites { return compositeConvergenceProblem(composites, dc, threshold: threshold) }
    return nil
  }

  /// Whether `resource` is colocated (mandatory) with the Promoted role of the promotable clone while
  /// the DC records its promoted instance blocked (a failed stop or demote without fencing). Then no
  /// instance can be promoted — the blocked one keeps the role and gets no promote action, the others
  /// may not take it — so Pacemaker blocks the dependent's start (crm_simulate 2.1.5 on the case
  /// promoted-demote-block with such a dependent added: "Start dummy3 ( dl380g5c ) due to colocation
  /// with dummy:1 (blocked)"): it stays stopped, or where it already ran, until a cleanup.
  static func followsBlockedPromoted(
    _ resource: String, _ composites: SimulatedComposites?, _ state: ClusterState
  ) -> Bool {
    guard let composites,
      composites.colocations.contains(where: {
        $0.resource == resource && $0.withResource == SimulatedComposites.promotableId
          && $0.withRole == "Promoted" && $0.score == .infinity
      })
    else { return false }
    return state.resources.contains { key, byNode in
      InstanceAlias.base(key) == SimulatedComposites.promotableChild
        && byNode.values.contains { $0.role == .promoted && ($0.blocked || $0.stopFailed) }
    }
  }

  /// Nodes where each of `service`'s agent instance really runs.
  func runningOn(_ service: String) -> Set<String> {
    Set(nodes.filter { $0.running.contains(service) }.map(\.name))
  }

  /// Nodes where the DC records `base` (a primitive, or a clone's primitive under any instance
  /// number) blocked: a failed stop without fencing, kept until a cleanup.
  func blockedNodes(_ base: String, _ dc: ControllerInstance) -> Set<String> {
    var blocked: Set<String> = []
    for (key, byNode) in dc.state.resources where InstanceAlias.base(key) == base {
      for (node, s) in byNode where s.blocked || s.stopFailed { blocked.insert(node) }
    }
    return blocked
  }

  /// Where the primary of a colocation really is (in the role it names) as far as the dependent may
  /// follow it. A mandatory colocation with a clone (no role) allows only the nodes of the clone's
  /// unblocked instances: Pacemaker's `pcmk__clone_apply_coloc_score` skips an instance flagged
  /// blocked, which still holds its node, and so does an interleaved dependent's search for a
  /// partner instance (`pcmk__instance_matches`).
  func primaryNodes(_ c: ColocationConstraint, _ dc: ControllerInstance) -> Set<String> {
    func unblocked(_ base: String) -> Set<String> {
      let running = runningOn(base)
      return c.score == .infinity ? running.subtracting(blockedNodes(base, dc)) : running
    }
    switch c.withResource {
    case SimulatedComposites.promotableId:
      let p = SimulatedComposites.promotableChild
      return c.withRole == "Promoted"
        ? Set(nodes.filter { $0.promoted.contains(p) }.map(\.name)) : unblocked(p)
    case SimulatedComposites.cloneId: return unblocked(SimulatedComposites.cloneChild)
    case SimulatedComposites.groupId: return runningOn(scenario.composites?.groupMembers.first ?? "")
    default: return runningOn(c.withResource)
    }
  }

  /// The composites' part of convergence, given the DC: every replica record agrees with the real
  /// services (one agent instance per node for an anonymous clone), the promotable clone runs on every
  /// node it may and is promoted once, the anonymous clone runs on as many nodes as its clone-max,
  /// colocations and orderings allow, the group is complete on one node where every member may run.
  func compositeConvergenceProblem(
    _ composites: SimulatedComposites, _ dc: ControllerInstance, threshold: Int
  )
    -> String?
  {
    let state = dc.state
    let prm = SimulatedComposites.promotableChild
    let cln = SimulatedComposites.cloneChild
    /// The records of `base` (an instance key `base:N` or `base` itself) on `node`, by key.
    func records(_ base: String, _ node: String) -> [(key: String, state: ResourceNodeState)] {
      state.resources.compactMap { key, byNode in
        InstanceAlias.base(key) == base ? byNode[node].map { (key, $0) } : nil
      }.sorted { $0.key < $1.key }
    }
    /// Nodes where no record of `base` has reached the migration threshold or a hard error (an
    /// anonymous clone's instances are one agent instance: a failure of any counts for the node).
    func eligible(_ base: String) -> Set<String> {
      Set(
        nodes.map(\.name).filter { node in
          records(base, node).allSatisfy {
            $0.state.totalFailCount < threshold && !$0.state.hardError && !$0.state.fatalError
          }
        })
    }
    func blocked(_ base: String) -> Bool {
      state.resources.contains { key, byNode in
        InstanceAlias.base(key) == base && byNode.values.contains { $0.blocked || $0.stopFailed }
      }
    }
    /// Whether `base` has a record on `node` whose stop failed without fencing (blocked there).
    func blockedOn(_ base: String, _ node: String) -> Bool {
      records(base, node).contains { $0.state.blocked || $0.state.stopFailed }
    }
    /// The later group member whose blocked stop `base`'s stop on `node` must wait for, if any.
    /// Pacemaker makes a "then" action unrunnable when its "first" is the unrunnable stop of a blocked,
    /// unmanaged resource (`pcmk__update_ordered_actions`), and a group member's stop follows the
    /// later members' stops: its scheduler regression cases bug-5028 and unmanaged-block-restart show
    /// the earlier members' stops blocked. Such a member stays as it is (a failed one stays FAILED,
    /// active) until an administrator cleans up: the DC cannot correct its record. (An interleaved
    /// clone ordering does not block that way: a blocked instance is no instance's partner.)
    func stopWaitsForBlocked(_ base: String, _ node: String) -> String? {
      guard let i = composites.groupMembers.firstIndex(of: base) else { return nil }
      return composites.groupMembers[(i + 1)...].first { blockedOn($0, node) }
    }
    let promotedOn = Set(nodes.filter { $0.promoted.contains(prm) }.map(\.name))
    let activeRoles: Set<ResourceNodeState.Role> = [.started, .unpromoted, .promoted]
    for base in [prm, cln] + composites.groupMembers {
      for node in nodes {
        let here = records(base, node.name)
        // A failed stop without fencing blocks the instance: the replica cannot know what runs.
        if here.contains(where: { $0.state.blocked || $0.state.stopFailed }) { continue }
        if stopWaitsForBlocked(base, node.name) != nil { continue }
        let active = here.filter { activeRoles.contains($0.state.role) }
        let running = node.running.contains(base)
        if active.count > 1 {
          return
            "the DC records \(active.map(\.key).joined(separator: " and ")) active on \(node.name), where one agent instance \(base) runs"
        }
        if active.isEmpty == running {
          return
            "the DC believes \(base) is \(running ? "not " : "")active on \(node.name); it is\(running ? "" : " not")"
        }
        if base == prm && (active.first?.state.role == .promoted) != promotedOn.contains(node.name) {
          return
            "the DC believes \(active.first?.key ?? prm) is \(active.first?.state.role.rawValue ?? "stopped") on \(node.name); it is \(promotedOn.contains(node.name) ? "promoted" : "not promoted")"
        }
      }
    }
    // The promotable clone: on every node it may run, promoted once.
    let prmRunning = runningOn(prm)
    if !blocked(prm) {
      let allowed = eligible(prm)
      if prmRunning != allowed {
        return
          "\(SimulatedComposites.promotableId) runs on \(prmRunning.sorted()) (expected on \(allowed.sorted()))"
      }
      if promotedOn.count != min(1, prmRunning.count) {
        return
          "\(SimulatedComposites.promotableId) is promoted on \(promotedOn.sorted()) (expected on one of \(prmRunning.sorted()))"
      }
    }
    // The anonymous clone: clone-max of the nodes its failures, colocations and orderings allow.
    if !blocked(cln) {
      var allowed = eligible(cln)
      var runnable = true
      // With an interleaved ordering after prm-clone: the nodes of prm-clone's unblocked instances.
      var partners: Set<String>?
      for c in composites.colocations where c.resource == SimulatedComposites.cloneId && c.score == .infinity
      {
        allowed.formIntersection(primaryNodes(c, dc))
      }
      for o in composites.orders where o.then == SimulatedComposites.cloneId {
        // A blocked instance has no start action (Pacemaker's `schedule_restart_actions`).
        let prmStartable = prmRunning.subtracting(blockedNodes(prm, dc))
        if o.first == SimulatedComposites.promotableId {
          if Clone.isTrue(composites.cloneMeta["interleave"]) {
            partners = prmStartable
          } else {
            let needed = o.requireAll ? composites.promotableMeta["clone-min"].flatMap { Int($0) } ?? 1 : 1
            // Its start is runnable with that many runnable instance starts.
            if prmStartable.count < needed { runnable = false }
          }
        } else if runningOn(o.first).isEmpty || !blockedNodes(o.first, dc).isEmpty {
          // A blocked primitive gets no start action; Pacemaker then creates one for the ordering
          // with no node (`rsc_order_first`), unrunnable, and the clone's start is unrunnable too.
          runnable = false
        }
      }
      let cloneMax = Self.cloneMax(dc.config, SimulatedComposites.cloneId, nodeCount: nodes.count)
      var lowest = runnable ? min(cloneMax, allowed.count) : 0
      var highest = lowest
      if let partners, runnable {
        // An interleaved ordering does not steer placement: Pacemaker places the instances as
        // without it, then stops each placed where prm-clone has no unblocked instance
        // (`unassign_if_mandatory`; crm_simulate 2.1.5 leaves `clone-max=3 interleave=true` on 2 of 4
        // nodes when its instance went to the node prm-clone is banned from). So between the count
        // that survives the worst placement and every allowed node that has a partner.
        lowest = max(0, lowest - allowed.subtracting(partners).count)
        highest = min(cloneMax, allowed.intersection(partners).count)
        allowed.formIntersection(partners)
      }
      let running = runningOn(cln)
      if !(lowest...highest).contains(running.count) || !running.isSubset(of: allowed) {
        let expected = lowest == highest ? "\(lowest)" : "\(lowest)…\(highest)"
        return
          "\(SimulatedComposites.cloneId) runs on \(running.sorted()) (expected on \(expected) of \(allowed.sorted()), clone-max \(cloneMax)\(runnable ? "" : ", its first action cannot run"))"
      }
    }
    // The group: its running members are a prefix of it on one node; complete where all may run.
    let members = composites.groupMembers
    if !members.contains(where: blocked) {
      var allowed = Set(nodes.map(\.name))
      for m in members { allowed.formIntersection(eligible(m)) }
      var colocatedWith = Set(nodes.map(\.name))
      for c in composites.colocations where c.resource == SimulatedComposites.groupId && c.score == .infinity
      {
        colocatedWith.formIntersection(primaryNodes(c, dc))
      }
      allowed.formIntersection(colocatedWith)
      let placements = members.map { runningOn($0) }
      let prefix = placements.prefix { !$0.isEmpty }.count
      let used = placements.reduce(into: Set<String>()) { $0.formUnion($1) }
      let placed = members.indices.map { "\(members[$0]) on \(placements[$0].sorted())" }.joined(
        separator: ", ")
      if used.count > 1 || placements.dropFirst(prefix).contains(where: { !$0.isEmpty }) {
        return "\(SimulatedComposites.groupId) is not a prefix on one node: \(placed)"
      }
      let startBlocked = Self.followsBlockedPromoted(SimulatedComposites.groupId, composites, dc.state)
      if !allowed.isEmpty && (prefix != members.count || !allowed.isSuperset(of: used)) && !startBlocked {
        return "\(SimulatedComposites.groupId) is not complete on one of \(allowed.sorted()): \(placed)"
      }
      if !colocatedWith.isSuperset(of: used) {
        return
          "\(SimulatedComposites.groupId) runs outside its colocation (\(colocatedWith.sorted())): \(placed)"
      }
    }
    return nil
  }

  mutating func checkAcknowledged() {
    for (edit, node) in acknowledged.sorted(by: { $0.key < $1.key }) {
      for n in nodes where n.controller?.config.properties["sim-edit-\(edit)"] == nil {
        fail(
          "acknowledged-change-kept",
          "config edit \(edit) was acknowledged to the client on \(node) but \(n.name) has configuration \(n.controller?.config.version.description ?? "none") without it"
        )
        return
      }
    }
  }
}
