import ResourceModel

/// The policy engine: given the configuration and the live state, decide what to start, stop, move,
/// probe, monitor and fence — Pacemaker's scheduler semantics, re-implemented.
///
/// Pure and deterministic: no clock (time is `state.now`), no I/O, no randomness, and every iteration
/// over unordered data is sorted, so the same inputs always give the same `Transition`.
///
/// The run follows Pacemaker's phases:
/// 1. unpack — nodes, resources (groups and clone instances flattened to primitives), and what the
///    state says about failures (`Status.swift`);
/// 2. placement — node scores from locations, rules, health, stickiness and fail counts, then
///    assignment with colocations (`Placement.swift`);
/// 3. actions — probes, role changes, monitors, fencing, and orderings, with `optional`/`runnable`
///    propagated along them (`ActionGraph.swift`, `Propagation.swift`);
/// 4. output — the transition and its summary (`Summary.swift`).
public enum Scheduler {
  /// Pure: same inputs, same transition. `now` is state.now.
  public static func schedule(_ config: ResourceConfiguration, _ state: ClusterState) -> Transition {
    var cluster = Cluster(config, state)
    cluster.applyNodeCriteria()
    cluster.buildColocations()
    cluster.createOrderings()
    cluster.applyDefinitionChanges()
    cluster.createUnfencingActions()
    cluster.scheduleMaintenanceCancels()
    cluster.assignAll()
    cluster.scheduleProbes()
    cluster.createResourceActions()
    cluster.orderStopsBeforeUnfencing()
    cluster.scheduleFencing()
    cluster.orderOrphanInstanceStops()
    cluster.applyOrderings()
    cluster.resolveReloads()
    return cluster.transition()
  }
}
