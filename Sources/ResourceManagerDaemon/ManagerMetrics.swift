import ControlProtocol
import Foundation
import NIOCore
import ResourceExecutor
import ResourceManager
import ResourceModel

/// swpacemakerd's counters: what this node's resource manager did since it started.
///
/// Counted in the shell, from the actions it runs, the directives it carries out and the controller's
/// public state after each input; the controller itself stays free of metrics.
struct ManagerCounters {
  struct ActionKey: Hashable {
    var action: String
    var result: String
  }
  struct FenceKey: Hashable {
    var target: String
    var action: String
    var result: String
  }
  var actions: [ActionKey: UInt64] = [:]
  var actionDurations: [String: Histogram] = [:]
  var failovers: [String: UInt64] = [:]
  var fences: [FenceKey: UInt64] = [:]
  var scheduler = Histogram(bounds: Histogram.schedulerSeconds)
  var dcChanges: UInt64 = 0
  var lastDC: String?
  /// Per resource: the nodes it was last seen active on (kept while it is active nowhere), to tell a
  /// recovery on another node.
  var lastActiveOn: [String: Set<String>] = [:]

  /// `ok` when the agent answered as expected for the action (a probe may find the resource stopped),
  /// otherwise `failed`, `timeout`, `not_installed` or `error`.
  static func result(action: String, intervalMs: Int, _ result: OperationResult) -> String {
    switch result.status {
    case .timedOut: return "timeout"
    case .notInstalled: return "not_installed"
    case .error: return "error"
    case .done: break
    }
    let rc = result.rc.rawValue
    let expected: Set<Int> =
      switch (action, intervalMs) {
      case ("monitor", 0): [0, 7, 8]
      case ("monitor", _): [0, 8]
      case ("stop", _): [0, 7]
      default: [0]
      }
    return expected.contains(rc) ? "ok" : "failed"
  }

  /// The `action` label: `probe` for a one-shot monitor, the agent action otherwise.
  static func actionLabel(_ action: String, intervalMs: Int) -> String {
    action == "monitor" && intervalMs == 0 ? "probe" : action
  }

  mutating func countAction(_ action: String, intervalMs: Int, _ result: OperationResult) {
    let label = Self.actionLabel(action, intervalMs: intervalMs)
    actions[
      ActionKey(action: label, result: Self.result(action: action, intervalMs: intervalMs, result)),
      default: 0] += 1
    actionDurations[label, default: Histogram(bounds: Histogram.actionSeconds)].observe(
      Double(result.durationMs) / 1000)
  }
}

extension ResourceManagerDaemon {
  /// Runs one controller input, timing it when it ran the scheduler, and carries out its directives.
  func step(_ input: (inout ControllerInstance) -> [ControllerDirective]) {
    let runs = controller.schedulerRuns
    let started = NIODeadline.now()
    let directives = input(&controller)
    if controller.schedulerRuns != runs {
      let nanos = (NIODeadline.now() - started).nanoseconds
      counters.scheduler.observe(Double(nanos) / 1e9)
    }
    // The DC line comes before what the new DC logs and does.
    noteDCChange()
    carryOut(directives)
  }

  /// After every batch of directives: the DC change line (if directives changed it), where each
  /// resource runs.
  func noteControllerChanges() {
    noteDCChange()
    for (resource, nodes) in controller.state.resources {
      let active = Set(nodes.filter { $0.value.role != .stopped && $0.value.role != .unknown }.keys)
      if !active.isEmpty { counters.lastActiveOn[resource] = active }
    }
  }

  /// Every view change clears the DC until the members' hellos arrive; that gap is not a change, nor
  /// is the member whose hello happened to come first: a change is a different node coordinating,
  /// once every member has said hello (or the join wait is over), than the last one that did.
  func noteDCChange() {
    guard let dc = controller.dc, dc != counters.lastDC, controller.joinSettled(now: Self.wallMs()) else {
      return
    }
    counters.dcChanges += 1
    logger.notice(
      "DC is now \(dc)\(counters.lastDC.map { " (was \($0))" } ?? "")\(dc == controller.me ? ": this node coordinates" : "")"
    )
    counters.lastDC = dc
  }

  /// A start succeeded here: a failover when the resource last ran elsewhere on a node that has
  /// since failed or left uncleanly, or where the resource failed (a move is not a failover).
  func noteStarted(_ resource: String) {
    guard let before = counters.lastActiveOn[resource], !before.isEmpty, !before.contains(controller.me)
    else {
      return
    }
    let reasons = before.sorted().compactMap { node -> String? in
      if !controller.members.contains(node) { return "\(node) left the cluster" }
      if let s = controller.state.resources[resource]?[node], s.failed || !s.failCounts.isEmpty {
        return "it failed on \(node)"
      }
      return nil
    }
    guard !reasons.isEmpty else { return }
    counters.failovers[resource, default: 0] += 1
    logger.notice("failover: \(resource) recovered on \(controller.me) (\(reasons.joined(separator: ", ")))")
  }

  /// swpacemakerd's metric families (`metrics` request).
  func metrics() -> [MetricFamily] {
    let version = controller.config.version
    let actionSamples = counters.actions.map { key, count in
      MetricSample(
        labels: [MetricLabel("action", key.action), MetricLabel("result", key.result)], value: Double(count))
    }
    let durationSamples = counters.actionDurations.map { action, histogram in
      MetricSample(labels: [MetricLabel("action", action)], histogram: histogram)
    }
    let fenceSamples = counters.fences.map { key, count in
      MetricSample(
        labels: [
          MetricLabel("action", key.action), MetricLabel("result", key.result),
          MetricLabel("target", key.target),
        ],
        value: Double(count))
    }
    return [
      .gauge(
        "swpcs_is_dc", "Whether this node is the designated coordinator (1) or not (0).",
        controller.isDC ? 1 : 0),
      MetricFamily(
        name: "swpcs_dc_changes_total",
        help: "Times the designated coordinator changed, as seen by this node.",
        kind: .counter, samples: [MetricSample(value: Double(counters.dcChanges))]),
      .gauge(
        "swpcs_resource_manager_connected", "Whether swpacemakerd is connected to swcorosync (1) or not (0).",
        controller.connected ? 1 : 0),
      .gauge(
        "swpcs_config_admin_epoch", "admin_epoch of the resource configuration in force here.",
        Double(version.adminEpoch)),
      .gauge(
        "swpcs_config_epoch", "epoch of the resource configuration in force here.", Double(version.epoch)),
      .gauge(
        "swpcs_config_num_updates", "num_updates of the resource configuration in force here.",
        Double(version.numUpdates)),
      .gauge(
        "swpcs_resources_configured", "Top-level resources in the configuration.",
        Double(controller.config.resources.count)),
      .gauge(
        "swpcs_resources_active_local", "Resources active on this node.",
        Double(controller.localActiveResources.count)),
      MetricFamily(
        name: "swpcs_resource_actions_total",
        help:
          "Resource agent actions this node ran, by action and result (ok, failed, timeout, not_installed, error).",
        kind: .counter, samples: actionSamples),
      MetricFamily(
        name: "swpcs_resource_action_duration_seconds", help: "Time of resource agent actions this node ran.",
        kind: .histogram, samples: durationSamples),
      MetricFamily(
        name: "swpcs_resource_failovers_total",
        help: "Resources started on this node after they failed, or their node was lost, elsewhere.",
        kind: .counter,
        samples: counters.failovers.map {
          MetricSample(labels: [MetricLabel("resource", $0.key)], value: Double($0.value))
        }),
      MetricFamily(
        name: "swpcs_fence_operations_total",
        help:
          "Fence level results this node reported (it ran the devices, or as DC found none able to), by target, action and result.",
        kind: .counter,
        samples: fenceSamples),
      MetricFamily(
        name: "swpcs_scheduler_duration_seconds",
        help: "Time of the controller steps that ran the scheduler (on the DC only).", kind: .histogram,
        samples: [MetricSample(histogram: counters.scheduler)]),
    ]
  }
}
