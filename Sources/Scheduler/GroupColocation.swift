import ResourceModel

/// A group's colocation normally binds only its first member; the others follow it through the
/// group's internal colocations. An unmanaged member stays where it is whatever it is colocated with,
/// which breaks that chain, so — as Pacemaker's `pcmk__group_with_colocations` does — every member
/// after an unmanaged one also carries the group's mandatory colocations itself.
extension Cluster {
  func membersAfterUnmanaged(_ group: Int) -> [Int] {
    let members = rscs[group].children
    guard let first = members.firstIndex(where: { !rscs[$0].managed }) else { return [] }
    return Array(members[(first + 1)...])
  }
}
