import ResourceModel

/// Node scores and assignment (Pacemaker's `apply_node_criteria` and `assign_resources`): location
/// constraints and rules, node health, stickiness and failure thresholds fill each primitive's allowed
/// table; colocations then adjust it as resources are assigned one by one, in priority order.
extension Cluster {
  // MARK: Node criteria

  mutating func applyNodeCriteria() {
    applyHealth()
    applyShutdownLocks()
    for location in config.constraints.locations { applyLocationConstraint(location) }
    for r in primitives { applyStickiness(r) }
    for n in nodes.indices {
      for r in primitives where failureThresholdReached(r, n) {
        addLocation(isAnonymousCloneInstance(r) ? top(r) : r, node: n, score: -Value.infinity)
      }
    }
  }

  private mutating func applyLocationConstraint(_ location: LocationConstraint) {
    guard let r = rscIndex[location.resource] else {
      notes.append("location \(location.id): no resource \(location.resource)")
      return
    }
    if location.rules.isEmpty {
      guard roleApplies(location.role, r), let name = location.node, let n = nodeIndex[name] else { return }
      applyLocation(r, [(n, location.score.value)])
      return
    }
    for rule in location.rules where roleApplies(rule.role ?? location.role, r) {
      var scores: [(Int, Int)] = []
      for n in nodes.indices where ruleMatches(rule, nodes[n]) {
        if let attribute = rule.scoreAttribute {
          guard let value = Value.score(nodes[n].attributes[attribute]) else { continue }
          scores.append((n, value))
        } else {
          scores.append((n, rule.score.value))
        }
      }
      applyLocation(r, scores)
    }
  }

  /// Started and Unpromoted constraints apply to every role; Promoted ones only to a resource that
  /// will be promoted (never a primitive here).
  private func roleApplies(_ role: String?, _ r: Int) -> Bool {
    guard let role = Role(parsing: role), role == .promoted else { return true }
    return rscs[r].nextRole == .promoted
  }

  /// Applies (node, score) pairs to a resource. A colocated group gives the score to its first member
  /// (the others follow it) and a zero entry to the rest, so they are allowed there even when the
  /// cluster is asymmetric; a clone applies it to every instance.
  private mutating func applyLocation(_ r: Int, _ scores: [(Int, Int)]) {
    switch rscs[r].variant {
    case .primitive:
      for (n, score) in scores {
        rscs[r].allowed[n] = rscs[r].allowed[n].map { Value.add($0, score) } ?? score
      }
    case .group:
      for (i, member) in rscs[r].children.enumerated() {
        applyLocation(member, i == 0 ? scores : scores.map { ($0.0, 0) })
      }
    case .clone:
      // The clone keeps its own scores too: they are where its promotion priorities start.
      for (n, score) in scores {
        rscs[r].allowed[n] = rscs[r].allowed[n].map { Value.add($0, score) } ?? score
      }
      for instance in rscs[r].children { applyLocation(instance, scores) }
      // The clone's own table: where its instances may run at all (`pcmk__assign_instances`).
      for (n, score) in scores {
        rscs[r].allowed[n] = rscs[r].allowed[n].map { Value.add($0, score) } ?? score
      }
    }
  }

  func ruleMatches(_ rule: LocationRule, _ node: Node) -> Bool {
    let results = rule.expressions.lazy.map { Self.expressionHolds($0, node.attributes) }
    return rule.booleanOp.lowercased() == "or" ? results.contains(true) : !results.contains(false)
  }

  /// Pacemaker's attribute expressions: `defined`/`not_defined`, and comparisons typed as string
  /// (default for eq/ne), integer or number (default for lt/gt/lte/gte), or version.
  static func expressionHolds(_ e: NodeExpression, _ attributes: [String: String]) -> Bool {
    let actual = attributes[e.attribute]
    let op = e.operation.lowercased()
    switch op {
    case "defined": return actual != nil
    case "not_defined": return actual == nil
    default: break
    }
    let ordering = ["lt", "lte", "gt", "gte"].contains(op)
    let type =
      e.type?.lowercased()
      ?? (ordering
        ? ((actual ?? "").contains(".") || (e.value ?? "").contains(".") ? "number" : "integer") : "string")
    let cmp = compare(actual, e.value, type: type)
    switch op {
    case "eq": return cmp == 0
    case "ne": return cmp != 0
    default: break
    }
    guard actual != nil, e.value != nil else { return false }
    switch op {
    case "lt": return cmp < 0
    case "lte": return cmp <= 0
    case "gt": return cmp > 0
    case "gte": return cmp >= 0
    default: return false
    }
  }

  private static func compare(_ a: String?, _ b: String?, type: String) -> Int {
    guard let b else { return a == nil ? 0 : 1 }
    guard let a else { return -1 }
    func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
    switch type {
    case "integer":
      if let x = Value.leadingInteger(a), let y = Value.leadingInteger(b) { return sign(x, y) }
    case "number":
      if let x = Double(a), let y = Double(b) { return sign(x, y) }
    case "version":
      let x = a.split(separator: ".").map { Int($0) ?? 0 }
      let y = b.split(separator: ".").map { Int($0) ?? 0 }
      for i in 0..<max(x.count, y.count) where (i < x.count ? x[i] : 0) != (i < y.count ? y[i] : 0) {
        return sign(i < x.count ? x[i] : 0, i < y.count ? y[i] : 0)
      }
      return 0
    default: break
    }
    return sign(a.lowercased(), b.lowercased())
  }

  /// `node-health-strategy`: `#health*` attributes (red/yellow/green or a number) summed per node and
  /// applied to every resource as a location score (negative ones spare `allow-unhealthy-nodes`).
  private mutating func applyHealth() {
    guard ["migrate-on-red", "only-green", "progressive", "custom"].contains(options.healthStrategy) else {
      return
    }
    for n in nodes.indices {
      var health = options.health.base
      for (name, value) in nodes[n].attributes.sorted(by: { $0.key < $1.key }) where name.hasPrefix("#health")
      {
        switch value.lowercased() {
        case "red": health = Value.add(health, options.health.red)
        case "yellow": health = Value.add(health, options.health.yellow)
        case "green": health = Value.add(health, options.health.green)
        default: health = Value.add(health, Value.score(value) ?? 0)
        }
      }
      guard health != 0 else { continue }
      for r in topLevel where health > 0 || !Value.bool(rscs[r].meta["allow-unhealthy-nodes"], default: false)
      {
        applyLocation(r, [(n, health)])
      }
    }
  }

  private mutating func applyStickiness(_ r: Int) {
    let rsc = rscs[r]
    guard rsc.managed, rsc.stickiness >= 1, rsc.activeNodes.count == 1, let n = rsc.activeNodes.first else {
      return
    }
    if !options.symmetric && rsc.allowed[n] == nil { return }
    addLocation(r, node: n, score: rsc.stickiness)
  }

  private func failureThresholdReached(_ r: Int, _ n: Int) -> Bool {
    let rsc = rscs[r]
    guard rsc.migrationThreshold > 0, !rsc.ignoreFailure else { return false }
    // A fail count about to be cleared does not force the resource away.
    if failCountCleared(r, n) { return false }
    let count = failCountWithLaunched(r, n)
    return count > 0 && count >= rsc.migrationThreshold
  }

  // MARK: Colocations

  /// Maps configured colocations (and the implicit ones chaining group members) onto primitives and
  /// files them in each primitive's "this with" and "with this" lists, sorted as Pacemaker does.
  mutating func buildColocations() {
    for r in rscs.indices where rscs[r].variant == .group {
      for (prev, member) in zip(rscs[r].children, rscs[r].children.dropFirst()) {
        addColocation(
          Coloc(
            id: "#group-members", dependent: member, primary: prev, score: Value.infinity,
            dependentRole: .unknown, primaryRole: .unknown, attribute: "#uname",
            influence: rscs[member].critical, entityDependent: member, entityPrimary: prev), listOwner: prev)
      }
    }
    for c in config.constraints.colocations {
      guard let d = rscIndex[c.resource], let p = rscIndex[c.withResource] else {
        notes.append("colocation \(c.id): unknown resource")
        continue
      }
      guard d != p, c.score.value != 0 else { continue }
      let role = { (text: String?) -> Role in
        let role = Role(parsing: text) ?? .unknown
        return role == .started ? .unknown : role
      }
      let primary: Int?
      if rscs[p].variant == .clone {
        primary = p  // matched by where its instances run
      } else {
        // A group: its last member for a mandatory colocation (all of it must run), else its first.
        primary = c.score.value >= Value.infinity ? lastPrimitive(p) : firstPrimitive(p)
      }
      // A clone as dependent colocates each of its instances.
      let dependents = rscs[d].variant == .clone ? rscs[d].children : [d]
      guard let primary else { continue }
      let primitives = dependents.compactMap { firstPrimitive($0) }
      let unchained =
        rscs[d].variant == .group && c.score.value >= Value.infinity ? membersAfterUnmanaged(d) : []
      for dependent in primitives + unchained {
        let coloc = Coloc(
          id: c.id, dependent: dependent, primary: primary, score: c.score.value,
          dependentRole: role(c.role), primaryRole: role(c.withRole), attribute: c.nodeAttribute ?? "#uname",
          influence: rscs[d].critical, entityDependent: d, entityPrimary: p)
        let owner = rscs[p].variant == .clone || unchained.contains(dependent) ? nil : lastPrimitive(p)
        addColocation(coloc, listOwner: owner)
      }
      if c.score.value <= -Value.infinity {
        pendingOrders.append(PendingOrder(d, .stop, p, .start, [.ifRequiredOnSameNode]))
        pendingOrders.append(PendingOrder(p, .stop, d, .start, [.ifRequiredOnSameNode]))
      }
    }
    buildLauncherColocations()
  }

  /// Files a colocation under its dependent ("this with") and, unless the primary is a clone, under the
  /// primitive that takes the dependent's preferences into account ("with this").
  mutating func addColocation(_ c: Coloc, listOwner: Int?) {
    colocations.append(c)
    let i = colocations.count - 1
    let at = insertionIndex(rscs[c.dependent].thisWith, i) { colocations[$0].entityPrimary }
    rscs[c.dependent].thisWith.insert(i, at: at)
    if let owner = listOwner {
      let at = insertionIndex(rscs[owner].withThis, i) { colocations[$0].entityDependent }
      rscs[owner].withThis.insert(i, at: at)
    }
  }

  /// Where a colocation goes in a sorted list: higher priority first, then clones before groups before
  /// primitives, then by id; after its equals.
  private func insertionIndex(_ list: [Int], _ c: Int, by entity: (Int) -> Int) -> Int {
    func before(_ a: Int, _ b: Int) -> Bool {
      let x = rscs[entity(a)]
      let y = rscs[entity(b)]
      if x.priority != y.priority { return x.priority > y.priority }
      if x.variant != y.variant { return x.variant > y.variant }
      return x.id.utf8.lexicographicallyPrecedes(y.id.utf8)
    }
    return list.firstIndex { before(c, $0) } ?? list.count
  }

  func firstPrimitive(_ r: Int) -> Int? {
    rscs[r].isPrimitive ? r : rscs[r].children.first.flatMap { firstPrimitive($0) }
  }

  func lastPrimitive(_ r: Int) -> Int? {
    rscs[r].isPrimitive ? r : rscs[r].children.last.flatMap { lastPrimitive($0) }
  }

  // MARK: Assignment

  /// Top-level resources in the order they are assigned (and reported): by priority, configuration
  /// order breaking ties. With a placement strategy other than `default`, Pacemaker then prefers the
  /// resource with the higher score on its current node, then on the best nodes.
  private func sortedForAssignment() -> [Int] {
    let ranked = topLevel.enumerated().map { (offset: $0.offset, r: $0.element) }
    guard options.placementStrategy != "default" else {
      return ranked.sorted { a, b in
        rscs[a.r].priority != rscs[b.r].priority
          ? rscs[a.r].priority > rscs[b.r].priority : a.offset < b.offset
      }.map(\.r)
    }
    let nodeOrder = nodes.indices.sorted { a, b in
      nodes[a].baseScore != nodes[b].baseScore
        ? nodes[a].baseScore > nodes[b].baseScore
        : nodes[a].name.utf8.lexicographicallyPrecedes(nodes[b].name.utf8)
    }
    typealias Key = (offset: Int, r: Int, priority: Int, current: Int, scores: [Int])
    let keys: [Key] = ranked.map { item in
      let scores = firstPrimitive(item.r).map { rscs[$0].allowed } ?? []
      let score = { (n: Int?) in n.flatMap { scores.isEmpty ? nil : scores[$0] } ?? -Value.infinity }
      let current = firstPrimitive(item.r).flatMap { currentNode($0) }
      return (item.offset, item.r, rscs[item.r].priority, score(current), nodeOrder.map { score($0) })
    }
    return keys.sorted { a, b in
      if a.priority != b.priority { return a.priority > b.priority }
      if a.current != b.current { return a.current > b.current }
      if let i = a.scores.indices.first(where: { a.scores[$0] != b.scores[$0] }) {
        return a.scores[i] > b.scores[i]
      }
      return a.offset < b.offset
    }.map(\.r)
  }

  mutating func assignAll() {
    if options.fencingEnabled && !haveFencing && !rscs.isEmpty {
      notes.append(
        "Resource start-up disabled since no fencing resources have been defined: configure some or set "
          + "fencing-enabled=false")
    }
    assignmentOrder = sortedForAssignment()
    for r in assignmentOrder { assign(r) }
  }

  mutating func assign(_ r: Int) {
    switch rscs[r].variant {
    case .primitive: assignPrimitive(r)
    case .group:
      guard rscs[r].assignState == .pending else { return }
      rscs[r].assignState = .assigning
      for member in rscs[r].children { assignPrimitive(member) }
      rscs[r].assignState = .done
    case .clone: assignClone(r)
    }
  }

  /// Pacemaker's `pcmk__primitive_assign`: mandatory colocations first (assigning primaries as
  /// needed), then optional ones, then the best node.
  private mutating func assignPrimitive(_ r: Int) {
    if let p = rscs[r].parent, rscs[p].assignState == .pending {
      assign(p)
      return
    }
    guard rscs[r].assignState == .pending else { return }
    rscs[r].assignState = .assigning
    for mandatory in [true, false] {
      for c in rscs[r].thisWith where isMandatory(c) == mandatory { applyThisWith(c, r) }
      for c in rscs[r].withThis where isMandatory(c) == mandatory { addDependentScores(c, r) }
    }

    if rscs[r].nextRole == .stopped {
      addLocation(r, node: nil, score: -Value.infinity)
    } else if rscs[r].nextRole > rscs[r].origRole && !quorate && options.noQuorumPolicy == .freeze {
      rscs[r].nextRole = rscs[r].origRole
    }
    if options.fencingEnabled && !haveFencing { rscs[r].managed = false }

    if !rscs[r].managed {
      if rscs[r].nextRole == .unknown || rscs[r].nextRole != rscs[r].origRole {
        rscs[r].nextRole = rscs[r].origRole
      }
      setAssigned(r, currentNode(r), force: true)
    } else if options.stopAll {
      setAssigned(r, nil, force: true)
    } else {
      setAssigned(r, bestNode(r), force: false)
    }
    rscs[r].assignState = .done
  }

  private func isMandatory(_ c: Int) -> Bool { abs(colocations[c].score) >= Value.infinity }

  /// The best allowed node: highest score (unavailable nodes count as -INFINITY), then fewest assigned
  /// resources, then the current node, then the lowest name (byte order). A current node tied on score
  /// with the best is kept.
  private func bestNode(_ r: Int) -> Int? {
    let current = currentNode(r)
    let allowed = rscs[r].allowed
    typealias Key = (node: Int, score: Int, count: Int, preferred: Bool, name: String.UTF8View)
    var keys: [Key] = []
    for n in nodes.indices where allowed[n] != nil {
      let score = nodes[n].available ? allowed[n]! : -Value.infinity
      keys.append((n, score, nodes[n].assignedCount, n == current, nodes[n].name.utf8))
    }
    let minimal = options.placementStrategy == "minimal"
    keys.sort { a, b in
      if a.score != b.score { return a.score > b.score }
      if !minimal && a.count != b.count { return a.count < b.count }
      if !minimal && a.preferred != b.preferred { return a.preferred }
      return a.name.lexicographicallyPrecedes(b.name)
    }
    guard let best = keys.first?.node, let bestScore = allowed[best] else { return nil }
    // An instance tried on its current node first (`assignInstances`) takes it if it is as good.
    if let prefer = rscs[r].preferredNode, let score = allowed[prefer], score >= bestScore, score >= 0,
      nodes[prefer].available
    {
      return prefer
    }
    // A unique clone's instances were kept where they run already: the others do not prefer a node
    // that runs another instance.
    if let parent = rscs[r].parent, isUniqueClone(parent) { return best }
    guard bestScore > 0, nodes[best].available, let running = current, nodes[running].available,
      nodes[running].baseScore >= 0
    else { return best }
    for key in keys.dropFirst() {
      guard allowed[key.node] == bestScore else { break }
      if key.node == running { return running }
    }
    return best
  }

  /// Pacemaker's `pcmk__assign_resource`: an unusable node (negative score, unavailable) means stopped.
  mutating func setAssigned(_ r: Int, _ node: Int?, force: Bool) {
    var node = node
    if !force, let n = node, (rscs[r].allowed[n] ?? -Value.infinity) < 0 || !nodes[n].available {
      setNextRole(r, .stopped)
      node = nil
    }
    rscs[r].assigned = node
    if let n = node {
      nodes[n].assignedCount += 1
    } else {
      setNextRole(r, .stopped)
    }
  }

  /// Where the resource runs now: the first active node, or (when it does not require fencing) the first
  /// active node that is online and clean.
  func currentNode(_ r: Int) -> Int? {
    let active = rscs[r].activeNodes
    if rscs[r].requires == .fencing { return active.first }
    return active.first { nodes[$0].online && !nodes[$0].unclean } ?? active.first
  }

  private func anyAvailable(_ table: [Int?]) -> Bool {
    table.indices.contains { (table[$0] ?? -1) >= 0 && nodes[$0].available }
  }

  /// "This with" colocation: the dependent `r` follows (or avoids) its primary, assigned first.
  private mutating func applyThisWith(_ c: Int, _ r: Int) {
    let coloc = colocations[c]
    let archive =
      coloc.dependentRole >= .promoted || (coloc.score < 0 && coloc.score > -Value.infinity)
      ? rscs[r].allowed : nil
    if rscs[coloc.primary].assignState == .pending { assign(coloc.primary) }
    guard rscs[coloc.primary].assignState == .done,
      coloc.dependentRole == .unknown || coloc.dependentRole == rscs[r].nextRole
    else { return }
    // Where the primary will be in the required role: its node, or its instances' nodes.
    var targets: [Int] = []
    if rscs[coloc.primary].isPrimitive {
      guard coloc.primaryRole == .unknown || coloc.primaryRole == rscs[coloc.primary].nextRole else { return }
      targets = rscs[coloc.primary].assigned.map { [$0] } ?? []
    } else {
      targets = cloneColocationTargets(coloc)
    }
    if targets.isEmpty && coloc.score < 0 { return }
    let values = Set(targets.map { attribute($0, coloc.attribute)?.lowercased() })
    var work = rscs[r].allowed
    for n in work.indices where work[n] != nil {
      if targets.isEmpty {
        work[n] = Value.add(-coloc.score, work[n]!)
      } else if values.contains(attribute(n, coloc.attribute)?.lowercased()) {
        if coloc.score < Value.infinity { work[n] = Value.add(coloc.score, work[n]!) }
      } else if coloc.score >= Value.infinity {
        work[n] = -Value.infinity
      }
    }
    if abs(coloc.score) >= Value.infinity || anyAvailable(work) { rscs[r].allowed = work }
    if let archive, !anyAvailable(rscs[r].allowed) { rscs[r].allowed = archive }
  }

  /// The role a primitive will have once assigned: its requested role, else Started (for an instance
  /// of a promotable clone: Unpromoted, or Promoted if already promoted where it stays).
  func expectedRole(_ r: Int) -> Role {
    if rscs[r].nextRole != .unknown { return rscs[r].nextRole }
    guard let n = rscs[r].assigned else { return .stopped }
    guard rscs[r].promotable else { return .started }
    return rscs[r].origRole == .promoted && currentNode(r) == n ? .promoted : .unpromoted
  }

  func attribute(_ n: Int, _ name: String) -> String? {
    name == "#uname" ? nodes[n].name : nodes[n].attributes[name]
  }

  /// Pacemaker's `INFINITY_HACK`: a node a non-negative merge found unusable (see `addColocatedScores`).
  static let unusableForMerge = -Value.infinity * 100

  func hasInfluence(_ c: Coloc) -> Bool {
    c.influence || !isActive(c.entityPrimary)
  }

  func isActive(_ r: Int) -> Bool {
    rscs[r].isPrimitive ? !rscs[r].activeNodes.isEmpty : rscs[r].children.contains { isActive($0) }
  }

  /// "With this" colocation: the primary `r` takes its dependents' preferences into account.
  private mutating func addDependentScores(_ c: Int, _ r: Int) {
    let coloc = colocations[c]
    guard hasInfluence(coloc) else { return }
    // A cloned dependent counts once, with the clone's own scores (not each instance's).
    let source = cloneDependentSource(c, withThisOf: r)
    guard let source else { return }
    var table = rscs[r].allowed
    addColocatedScores(
      source: source, into: &table, coloc, factor: Float(coloc.score) / Float(Value.infinity))
    rscs[r].allowed = table
  }

  /// Pacemaker's `pcmk__add_colocated_node_scores`: add the source's best score per node (scaled by
  /// the colocation factor), then recursively those of resources colocated with the source; roll back
  /// if that leaves no node available.
  /// With `onlyPositive` (merging into a clone's scores, Pacemaker's `pcmk__coloc_select_nonnegative`),
  /// a merge never makes a node's score negative: a positive score that would turn negative marks the
  /// node unusable for further merges and ends as 1; a zero score stays zero.
  mutating func addColocatedScores(
    source: Int, into table: inout [Int?], _ coloc: Coloc, factor: Float, onlyPositive: Bool = false
  ) {
    guard !rscs[source].updatingScores else { return }
    rscs[source].updatingScores = true
    defer { rscs[source].updatingScores = false }
    var work = table
    for n in work.indices where work[n] != nil {
      let value = attribute(n, coloc.attribute)?.lowercased()
      var best = -Value.infinity
      for m in nodes.indices {
        if let s = rscs[source].allowed[m], s > best, nodes[m].available,
          attribute(m, coloc.attribute)?.lowercased() == value
        {
          best = s
        }
      }
      if factor < 0 && best < 0 {
        let allowedOnOne = rscs[coloc.dependent].allowed.filter { ($0 ?? -1) >= 0 }.count == 1
        if rscs[coloc.entityPrimary].stickiness >= -best || !hasInfluence(coloc) || !allowedOnOne { continue }
      }
      if work[n] == Self.unusableForMerge { continue }
      let product = factor * Float(best)
      var delta = Int(product < 0 ? product - 0.5 : product + 0.5)
      if delta == 0 && best != 0 { delta = factor > 0 ? 1 : (factor < 0 ? -1 : 0) }
      let merged = Value.add(delta, work[n]!)
      if onlyPositive && merged < 0 && work[n]! >= 0 {
        if work[n]! > 0 { work[n] = Self.unusableForMerge }
        continue
      }
      work[n] = merged
    }
    guard anyAvailable(work) else { return }
    for c in rscs[source].withThis {
      let next = colocations[c]
      guard hasInfluence(next) else { continue }
      addColocatedScores(
        source: next.dependent, into: &work, next, factor: factor * Float(next.score) / Float(Value.infinity),
        onlyPositive: onlyPositive)
    }
    if onlyPositive {
      for n in work.indices where work[n] == Self.unusableForMerge { work[n] = 1 }
    }
    table = work
  }

  // MARK: Clones

  /// Pacemaker's `pcmk__clone_assign`: the instances are placed by `assignInstances`
  /// (`CloneInstances.swift`), then a promotable clone's roles are chosen.
  private mutating func assignClone(_ r: Int) {
    guard rscs[r].assignState == .pending else { return }
    rscs[r].assignState = .assigning
    addDependentScoresToClone(r)
    assignInstances(r)
    if rscs[r].children.contains(where: { firstPrimitive($0).map { rscs[$0].promotable } ?? false }) {
      setPromotableRoles(r)
    }
    rscs[r].assignState = .done
  }
}
