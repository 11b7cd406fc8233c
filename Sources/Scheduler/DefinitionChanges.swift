import ResourceModel

/// Acting on configuration changes found in the history (Pacemaker's
/// `pcmk__handle_rsc_config_changes`: restart, reload, re-issued or cancelled recurring operations,
/// fail counts cleared), and shutdown locks (`shutdown-lock`: a resource stopped by a clean shutdown
/// stays with its node).
extension Cluster {
  /// Where a node can run actions (or is in maintenance), each resource active there acts on what its
  /// history's digests say changed. Runs after unpacking and before placement, as in Pacemaker.
  mutating func applyDefinitionChanges() {
    for n in nodes.indices where nodes[n].maintenance || nodes[n].available {
      for r in definitionChanges.keys.sorted() where !rscs[r].removed && rscs[r].activeNodes.contains(n) {
        guard let (change, recordedFailCount) = definitionChanges[r]?[n] else { continue }
        if change.agentChanged {
          rscs[r].stopRequired = true
          rscs[r].startPending = true
        }
        if change.restart {
          rscs[r].definitionChanged = true
          notes.append("\(rscs[r].id) on \(nodes[n].name): restart due to resource definition change")
          noteDeviceDefinitionChange(r, on: n)
        }
        if change.reload {
          scheduleReload(r, n)
          noteDeviceDefinitionChange(r, on: n, reason: "Device parameters changed (reload)")
        }
        let recurringChecked = !rscs[r].inMaintenance && !nodes[n].maintenance
        if recurringChecked {
          rescheduledOperations[r, default: [:]][n, default: []].formUnion(change.rescheduled)
          if !change.rescheduled.isEmpty {
            noteDeviceDefinitionChange(r, on: n, reason: "Device parameters changed (reschedule)")
          }
          for key in change.removed where options.cancelRemovedActions {
            let (_, interval) = Value.operationKey(key)
            action(r, .cancel, n, interval: interval, optional: false)
          }
        }
        let changed =
          change.restart || change.reload
          || (recurringChecked && !(change.rescheduled.isEmpty && change.removed.isEmpty))
        if changed && recordedFailCount != 0 { clearFailCount(r, n) }
      }
    }
  }

  /// Pacemaker's `schedule_reload`: not for a resource that is unmanaged or failed; a start still
  /// pending cannot take new parameters, so the resource restarts instead.
  private mutating func scheduleReload(_ r: Int, _ n: Int) {
    guard rscs[r].managed, !rscs[r].failed else { return }
    if rscs[r].startPending {
      rscs[r].stopRequired = true
    } else if !(reloads[r]?.contains(n) ?? false) {
      reloads[r, default: []].append(n)
    }
  }

  /// After the orderings are applied: a reload is dropped when a stop or demote of its resource
  /// became required (the resource restarts instead); otherwise it is an action of the transition.
  mutating func resolveReloads() {
    for r in primitives where reloads[r] != nil {
      let restarting = actionsByRsc[r].contains { a in
        (actions[a].task == .stop || actions[a].task == .demote) && !actions[a].optional
      }
      if restarting {
        reloads[r] = nil
        continue
      }
      for n in reloads[r] ?? [] {
        let reload = action(r, .reload, n, optional: false)
        actions[reload].reason = "resource definition change"
      }
    }
  }

  /// Pacemaker's `pcmk__primitive_shutdown_lock` for every primitive that is not a fence device or
  /// part of a clone: a lock from the history holds unless the resource is active again somewhere;
  /// a resource active only on a node shutting down cleanly is locked to it now. A locked resource
  /// is banned from every other node.
  mutating func applyShutdownLocks() {
    guard options.shutdownLock else { return }
    for r in primitives where !rscs[r].isFenceDevice && !isAnonymousCloneInstance(r) {
      if rscs[r].lockNode != nil {
        if !rscs[r].activeNodes.isEmpty { rscs[r].lockNode = nil }
      } else if rscs[r].activeNodes.count == 1, let n = rscs[r].activeNodes.first, nodes[n].shutdown,
        !nodes[n].unclean
      {
        rscs[r].lockNode = n
        rscs[r].lockTime =
          nodes[n].attributes["shutdown"].flatMap { Int64($0) }.flatMap { $0 != 0 ? $0 : nil } ?? now
      }
      guard let lock = rscs[r].lockNode else { continue }
      notes.append("\(rscs[r].id) is locked to \(nodes[lock].name) by its shutdown")
      for n in nodes.indices where n != lock { addLocation(r, node: n, score: -Value.infinity) }
    }
  }
}
