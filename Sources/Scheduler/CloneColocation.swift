import ResourceModel

/// Where a resource colocated with a clone may go (Pacemaker's `pcmk__clone_apply_coloc_score` for a
/// primitive dependent): the nodes of the clone's assigned instances. A role in the colocation counts
/// only for a promotable clone (`with-rsc-role=Promoted` on an ordinary clone is ignored for a
/// mandatory colocation, and matches no instance for an optional one); a mandatory colocation counts
/// only instances that are not blocked (a failed `on-fail=block` instance holds its node but is no
/// place to follow it to).
extension Cluster {
  func cloneColocationTargets(_ coloc: Coloc) -> [Int] {
    let clone = coloc.primary
    let byRole = isPromotableClone(clone) && coloc.primaryRole != .unknown
    var targets: [Int] = []
    for i in rscs[clone].children {
      guard let lead = firstPrimitive(i), let n = rscs[lead].assigned else { continue }
      if byRole {
        if coloc.primaryRole == expectedRole(lead) { targets.append(n) }
      } else if coloc.score >= Value.infinity {
        if !instanceBlocked(i) { targets.append(n) }
      } else if coloc.primaryRole == .unknown || coloc.primaryRole == expectedRole(lead) {
        targets.append(n)
      }
    }
    return targets
  }

  /// Any primitive of the instance is blocked (Pacemaker's recursive `pcmk__rsc_blocked` check).
  func instanceBlocked(_ r: Int) -> Bool {
    rscs[r].isPrimitive ? rscs[r].blocked : rscs[r].children.contains { instanceBlocked($0) }
  }
}

/// A clone colocated with a primitive (`db-clone with ip`) is filed once per instance; when the
/// primitive takes its dependents' preferences into account, Pacemaker merges the clone's own scores,
/// once (`pcmk__add_dependent_scores` with the clone as dependent) — not each instance's, whose scores
/// by then may say where that instance is being kept.
extension Cluster {
  /// The resource whose scores colocation `c` (in `r`'s "with this" list) contributes: the cloned
  /// dependent for the first of its instances' entries, nil for the others; the dependent otherwise.
  func cloneDependentSource(_ c: Int, withThisOf r: Int) -> Int? {
    let coloc = colocations[c]
    guard rscs[coloc.entityDependent].variant == .clone else { return coloc.dependent }
    let first = rscs[r].withThis.first { colocations[$0].id == coloc.id }
    return first == c ? coloc.entityDependent : nil
  }

  /// Pacemaker's `pcmk__add_dependent_scores` for a clone, before its instances are placed: the
  /// preferences of every resource colocated with the clone, merged into the clone's own scores
  /// without making any node negative. Those scores are where promotion priorities start.
  mutating func addDependentScoresToClone(_ clone: Int) {
    var merged: Set<String> = []
    for i in colocations.indices where colocations[i].entityPrimary == clone {
      let coloc = colocations[i]
      guard hasInfluence(coloc), merged.insert(coloc.id).inserted else { continue }
      let source = rscs[coloc.entityDependent].variant == .clone ? coloc.entityDependent : coloc.dependent
      var table = rscs[clone].allowed
      addColocatedScores(
        source: source, into: &table, coloc, factor: Float(coloc.score) / Float(Value.infinity),
        onlyPositive: true)
      rscs[clone].allowed = table
    }
  }
}
