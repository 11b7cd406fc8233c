import ResourceModel

/// Resources that run inside another resource: the `container` meta attribute (Pacemaker's launcher
/// and its "fillers", `unpack_launcher` and `pcmk__primitive_internal_constraints`). A launched
/// resource is colocated with its launcher (INFINITY), starts after it and stops before it, is never
/// probed (it cannot run while its launcher does not), and by default its failure restarts the
/// launcher (`on-fail=restart-container`), which restarts every resource inside it. The fail counts
/// of the launched resources count towards the launcher's `migration-threshold`.
extension Cluster {
  /// Links every configured primitive to the resource its `container` meta attribute names
  /// (inherited from its group or clone). A resource naming itself, or a resource that does not
  /// exist, has no launcher (Pacemaker reports the latter as a configuration error).
  mutating func resolveLaunchers() {
    for r in primitives where !rscs[r].removed {
      guard let id = rscs[r].meta["container"], id != rscs[r].id, id != baseId(r) else { continue }
      guard let launcher = rscIndex[id] else {
        notes.append("\(rscs[r].id): container \(id) is not a resource; ignored")
        continue
      }
      guard launcher != r, !isAncestor(launcher, of: r) else { continue }
      rscs[r].launcher = launcher
      rscs[launcher].launched.append(r)
    }
  }

  /// The id without a clone instance number (`rsc:2` → `rsc`).
  private func baseId(_ r: Int) -> String { String(rscs[r].id.prefix { $0 != ":" }) }

  /// The implied colocation `#resource-with-container`: a managed launched resource runs where its
  /// launcher runs (Pacemaker skips the implicit constraints of unmanaged resources).
  mutating func buildLauncherColocations() {
    for r in primitives {
      guard let launcher = rscs[r].launcher, rscs[r].managed else { continue }
      let primary: Int? =
        rscs[launcher].variant == .clone ? launcher : lastPrimitive(launcher)
      guard let primary else { continue }
      addColocation(
        Coloc(
          id: "#resource-with-container", dependent: r, primary: primary, score: Value.infinity,
          dependentRole: .unknown, primaryRole: .unknown, attribute: "#uname", influence: true,
          entityDependent: r, entityPrimary: launcher),
        listOwner: rscs[launcher].variant == .clone ? nil : primary)
    }
  }

  /// The implied orderings: the launcher's start before the launched resource's start (a required
  /// launcher start restarts it; an unrunnable one blocks it), its stop before the launcher's stop.
  mutating func launcherOrderings(_ r: Int) {
    guard let launcher = rscs[r].launcher else { return }
    pendingOrders.append(
      PendingOrder(launcher, .start, r, .start, [.firstImpliesThen, .unrunnableFirstBlocks]))
    pendingOrders.append(PendingOrder(r, .stop, launcher, .stop, [.ordered, .thenImpliesFirst]))
  }

  /// `on-fail=restart-container` for a failure of `r` on node `n`: the launcher must stop there (its
  /// primitives, for a group or clone launcher), so it restarts or moves, and `r` with it.
  mutating func requireLauncherStop(_ r: Int, on n: Int) {
    guard let launcher = rscs[r].launcher else { return }
    var stack = [launcher]
    while let x = stack.popLast() {
      if rscs[x].isPrimitive {
        rscs[x].requiredStops.insert(n)
      } else {
        stack.append(contentsOf: rscs[x].children)
      }
    }
  }

  /// The launcher's own fail count on node `n` plus those of the resources it launches (Pacemaker's
  /// `pcmk__fc_launched`), for `migration-threshold`.
  func failCountWithLaunched(_ r: Int, _ n: Int) -> Int {
    var count = rscs[r].failCounts[n] ?? 0
    for filler in rscs[r].launched {
      count = Value.add(count, rscs[filler].failCounts[n] ?? 0)
    }
    return count
  }
}
