import ResourceModel

/// The second half of Pacemaker's promotion choice (`sort_promotable_instances`): an instance's own
/// priority (promotion score, `role=Promoted` locations, its role colocations) is only where it starts.
/// The clone's node scores (its locations, bans) plus the priorities of its instances placed on each
/// node, plus the preferences of resources colocated with the clone's Promoted role
/// (`ip with Promoted db-clone`: where ip can run, scaled by the colocation score), give each node a
/// score; an instance with a non-negative priority is ranked by its node's score. A dependent's
/// dislike never makes a node negative here (a positive node it rules out falls to 1), so a resource
/// that cannot follow the promoted role to a node makes that node the last choice, not a ban.
extension Cluster {
  /// The final promotion priority of each candidate, given its node and own priority.
  mutating func promotionPriorities(_ clone: Int, _ candidates: [(node: Int, priority: Int)]) -> [Int] {
    var table = rscs[clone].allowed
    for c in candidates where c.priority >= 0 {
      table[c.node] = Value.add(table[c.node] ?? 0, c.priority)
    }
    var merged: Set<String> = []
    for i in colocations.indices where colocations[i].entityPrimary == clone {
      let coloc = colocations[i]
      guard coloc.primaryRole == .promoted, hasInfluence(coloc), merged.insert(coloc.id).inserted else {
        continue
      }
      // A cloned dependent counts once, by the clone's own scores.
      let source = rscs[coloc.entityDependent].variant == .clone ? coloc.entityDependent : coloc.dependent
      addColocatedScores(
        source: source, into: &table, coloc, factor: Float(coloc.score) / Float(Value.infinity),
        onlyPositive: true)
    }
    return candidates.map { c in c.priority < 0 ? c.priority : table[c.node] ?? -Value.infinity }
  }
}

/// An instance's own promotion priority from its role colocations (Pacemaker's
/// `pcmk__apply_coloc_to_priority` and `pcmk__update_promotable_dependent_priority`, reached from
/// `set_instance_priority`): `CLONE Promoted with X` adds its score where X will be (in X's required
/// role; by `node-attribute` value when given), and a mandatory one rules out the nodes where X will
/// not be; `CLONE Unpromoted with X` subtracts its score where X will be, keeping the promoted
/// instance away from X.
extension Cluster {
  func roleColocationPriority(_ clone: Int, instanceOn n: Int) -> Int {
    var total = 0
    for c in config.constraints.colocations where rscIndex[c.resource] == clone {
      guard let dependentRole = Role(parsing: c.role), dependentRole >= .unpromoted,
        let primary = rscIndex[c.withResource], primary != clone
      else { continue }
      let primaryRole = Role(parsing: c.withRole)
      let score = c.score.value
      let attribute = c.nodeAttribute ?? "#uname"
      if rscs[primary].variant == .clone {
        if isPromotableClone(primary), let primaryRole, dependentRole == .promoted {
          // Is an instance of the primary, in that role, where this instance will be?
          let there = rscs[primary].children.contains { i in
            guard let lead = firstPrimitive(i), let m = rscs[lead].assigned, expectedRole(lead) == primaryRole
            else { return false }
            return sameValue(attribute, m, n)
          }
          if there {
            total = Value.add(total, score)
          } else if score >= Value.infinity {
            total = -Value.infinity
          }
        } else if score < Value.infinity {
          for i in rscs[primary].children {
            guard let lead = firstPrimitive(i) else { continue }
            total = Value.add(
              total, priorityDelta(dependentRole, n, lead, primaryRole, score: score, attribute: attribute))
          }
        }
        continue
      }
      // A group: its last member for a mandatory colocation, its first otherwise.
      let lead = score >= Value.infinity ? lastPrimitive(primary) : firstPrimitive(primary)
      guard let lead else { continue }
      total = Value.add(
        total, priorityDelta(dependentRole, n, lead, primaryRole, score: score, attribute: attribute))
    }
    return total
  }

  /// `pcmk__apply_coloc_to_priority` for one primary primitive: nothing when the primary will not be
  /// in the colocation's role; where it will be (same attribute value), +score for the Promoted role and
  /// −score for Unpromoted; elsewhere nothing, except −INFINITY for a mandatory Promoted one.
  private func priorityDelta(
    _ dependentRole: Role, _ n: Int, _ primary: Int, _ primaryRole: Role?, score: Int, attribute: String
  ) -> Int {
    let primaryNode = rscs[primary].assigned
    if primaryNode != nil, let primaryRole, primaryRole != expectedRole(primary) { return 0 }
    let matches =
      primaryNode.map { sameValue(attribute, $0, n) } ?? (self.attribute(n, attribute) == nil)
    if !matches { return score == Value.infinity && dependentRole == .promoted ? -score : 0 }
    return dependentRole == .unpromoted ? -score : score
  }

  private func sameValue(_ name: String, _ a: Int, _ b: Int) -> Bool {
    attribute(a, name)?.lowercased() == attribute(b, name)?.lowercased()
  }
}
