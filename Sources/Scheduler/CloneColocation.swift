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
