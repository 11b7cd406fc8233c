import ResourceModel

/// Which instances of a promotable clone are promoted (Pacemaker's `pcmk__set_instance_roles`), once
/// the instances have their nodes: each assigned instance gets a priority — the promotion score its
/// agent set as the node attribute `master-CHILD` (−1 when none, so nothing is promoted without a
/// score or a constraint), INFINITY for an instance that must keep its role, plus the scores of
/// `role=Promoted` location constraints and rules for its node — and the best ones, up to
/// `promoted-max` in all and `promoted-node-max` per node, become Promoted; the others Unpromoted.
/// Ties keep the currently promoted instance, then configuration order.
extension Cluster {
  mutating func setPromotableRoles(_ clone: Int) {
    let meta = rscs[clone].meta
    let promotedMax = Value.score(meta["promoted-max"] ?? meta["master-max"]) ?? 1
    let promotedNodeMax = Value.score(meta["promoted-node-max"] ?? meta["master-node-max"]) ?? 1
    struct Candidate {
      var instance: Int
      var order: Int
      var node: Int
      var priority: Int
      var promotedNow: Bool
      var promotionPriority = 0
    }
    var candidates: [Candidate] = []
    for (order, instance) in rscs[clone].children.enumerated() {
      let members = primitivesOf(instance)
      guard let lead = members.first, let n = rscs[lead].assigned else { continue }
      // Unpromoted by request (target-role) or by a failure (on-fail=demote): never promoted now.
      let capped =
        Role(parsing: rscs[lead].meta["target-role"]) == .unpromoted || rscs[lead].nextRole == .unpromoted
      var priority = capped ? -Value.infinity : promotionScore(instance, node: n) ?? -1
      if !capped {
        priority = Value.add(priority, promotedLocationScore(clone, node: n))
        priority = Value.add(priority, roleColocationPriority(clone, instanceOn: n))
      }
      candidates.append(
        Candidate(
          instance: instance, order: order, node: n, priority: priority,
          promotedNow: rscs[lead].origRole == .promoted && currentNode(lead) == n))
    }
    let final = promotionPriorities(clone, candidates.map { (node: $0.node, priority: $0.priority) })
    for i in candidates.indices {
      // An unmanaged promoted instance stays promoted whatever the scores.
      let lead = primitivesOf(candidates[i].instance).first ?? candidates[i].instance
      let keptPromoted = !rscs[lead].managed && rscs[lead].nextRole == .promoted
      candidates[i].promotionPriority = keptPromoted ? Value.infinity : final[i]
    }
    // Ties: the promoted one, then (Pacemaker's instance order) the higher own priority.
    candidates.sort {
      ($0.promotionPriority, $0.promotedNow ? 1 : 0, $0.priority, -$0.order)
        > ($1.promotionPriority, $1.promotedNow ? 1 : 0, $1.priority, -$1.order)
    }
    var promoted = 0
    var perNode: [Int: Int] = [:]
    for n in promotedOnPendingMembers(clone) {
      promoted += 1
      perNode[n, default: 0] += 1
    }
    for c in candidates {
      var role = Role.unpromoted
      if c.promotionPriority >= 0 && c.priority >= 0 && promoted < promotedMax
        && perNode[c.node, default: 0] < promotedNodeMax
      {
        role = .promoted
        promoted += 1
        perNode[c.node, default: 0] += 1
      }
      for p in primitivesOf(c.instance) where rscs[p].assigned != nil {
        if rscs[p].nextRole == .unknown || role < rscs[p].nextRole { rscs[p].nextRole = role }
      }
    }
  }

  /// The nodes of the instances promoted on a pending member (up, its resource manager not joined: it
  /// may have died, nothing can be demoted there). Each keeps its promoted place — as a stop there that
  /// cannot run keeps a primitive where it is — or promoting another instance would make two
  /// primaries while the first still runs on a live node of the view.
  private func promotedOnPendingMembers(_ clone: Int) -> [Int] {
    rscs[clone].children.compactMap { instance in
      guard let lead = primitivesOf(instance).first, rscs[lead].origRole == .promoted,
        let n = currentNode(lead), nodes[n].online, nodes[n].pending, !nodes[n].unclean
      else { return nil }
      return n
    }
  }

  /// The promotion score of an instance on node `n` (summed over a cloned group's members; nil when
  /// no member has one): per primitive, `master-ID:K` named after the id its history on that node
  /// has, else `master-ID` — Pacemaker's lookup for anonymous clones.
  private func promotionScore(_ instance: Int, node n: Int) -> Int? {
    let attributes = nodes[n].attributes
    var total: Int?
    for p in primitivesOf(instance) {
      let base = rscs[p].id.prefix { $0 != ":" }
      let value: String?
      if isUniqueClone(top(p)) {
        // A unique instance's score is named after the instance itself (`rsc:N`), with no fallback, and
        // counts where its state is known — anywhere while it is known nowhere yet.
        let knownNowhere = rscs[p].probed.isEmpty && rscs[p].activeNodes.isEmpty
        let known = rscs[p].probed.contains(n) || rscs[p].activeNodes.contains(n)
        value = known || knownNowhere ? attributes["master-\(rscs[p].id)"] : nil
      } else {
        value = rscs[p].historyIds[n].flatMap { attributes["master-\($0)"] } ?? attributes["master-\(base)"]
      }
      if let score = value.flatMap({ Value.score($0) }) { total = Value.add(total ?? 0, score) }
    }
    return total
  }

  private func primitivesOf(_ r: Int) -> [Int] {
    rscs[r].isPrimitive ? [r] : rscs[r].children.flatMap { primitivesOf($0) }
  }

  /// The sum of the `role=Promoted` location constraints (and rules) naming the clone, for node `n`.
  private func promotedLocationScore(_ clone: Int, node n: Int) -> Int {
    var total = 0
    for location in config.constraints.locations where rscIndex[location.resource] == clone {
      if location.rules.isEmpty {
        guard Role(parsing: location.role) == .promoted, location.node == nodes[n].name else { continue }
        total = Value.add(total, location.score.value)
        continue
      }
      for rule in location.rules where Role(parsing: rule.role ?? location.role) == .promoted {
        guard ruleMatches(rule, nodes[n]) else { continue }
        if let attribute = rule.scoreAttribute {
          if let value = Value.score(nodes[n].attributes[attribute]) { total = Value.add(total, value) }
        } else {
          total = Value.add(total, rule.score.value)
        }
      }
    }
    return total
  }
}

/// The orderings inside a promotable clone (Pacemaker's promotable clone constraints): each instance's
/// promote and demote inside the clone's promote/promoted and demote/demoted brackets; every demote
/// before any promote, and promotions only once the clone's starts are done.
extension Cluster {
  func isPromotableClone(_ r: Int) -> Bool {
    rscs[r].variant == .clone
      && rscs[r].children.contains { i in primitivesOf(i).contains { rscs[$0].promotable } }
  }

  mutating func promotableOrderings(_ r: Int) {
    pendingOrders.append(PendingOrder(r, .demote, r, .demoted, [.unrunnableFirstBlocks]))
    pendingOrders.append(PendingOrder(r, .promote, r, .promoted, [.unrunnableFirstBlocks]))
    pendingOrders.append(PendingOrder(r, .demoted, r, .promote, [.ordered]))
    pendingOrders.append(PendingOrder(r, .running, r, .promote, [.ordered]))
    pendingOrders.append(PendingOrder(r, .demoted, r, .stop, [.ordered]))
    for instance in rscs[r].children {
      pendingOrders.append(PendingOrder(r, .promote, instance, .promote, [.ordered]))
      pendingOrders.append(PendingOrder(instance, .promote, r, .promoted, [.ordered]))
      pendingOrders.append(PendingOrder(r, .demote, instance, .demote, [.ordered]))
      pendingOrders.append(PendingOrder(instance, .demote, r, .demoted, [.ordered]))
    }
  }
}
