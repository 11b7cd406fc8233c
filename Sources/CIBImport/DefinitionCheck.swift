import ResourceModel

/// Compares a resource's operation history on a node with its configuration the way Pacemaker's
/// scheduler does (`rsc_action_digest_cmp`, `pcmk__check_action_config`, `process_rsc_history` and
/// the last-failure check of unpacking), and says what changed as a `DefinitionChange`.
///
/// Which entries are compared matters as much as the digests: old histories hold digests written
/// by older algorithms, and Pacemaker acts only on the entries since the resource last started, of
/// the operations that define how it runs. Comparing anything else would restart resources that
/// Pacemaker leaves alone.
struct DefinitionCheck {
  /// The outcome of comparing one entry (`enum pcmk__digest_result`).
  enum Verdict: Equatable {
    case match, unknown, mismatch, restart
  }

  /// One history entry with its parsed fields.
  struct Entry {
    var record: OperationRecord
    var element: XElement
  }

  /// What the history's replay found that the comparison depends on.
  struct Replay {
    /// `_last_failure_0` entries of starts and monitors that did not expire, in history order.
    var lastFailures: [String] = []
    /// Expired failures of recurring operations on a clean online node: Pacemaker makes them look
    /// like a restart-digest change, so that the monitor is re-issued.
    var rescheduledAfterExpiry: Set<String> = []
  }

  let calculator: DigestCalculator
  /// Pacemaker's per-node digest cache: the digests computed for the first entry of each
  /// (instance, task, interval) serve every later entry with that key, and the verdict of the last
  /// comparison is kept with them.
  private var cache: [String: [String: (digests: DigestCalculator.Digests, verdict: Verdict)]] = [:]

  init(calculator: DigestCalculator) {
    self.calculator = calculator
  }

  /// The changes found in one `lrm_resource` of `node`. `instance` is the resource instance the
  /// history was matched to and `primitive` its configured id; `entries` are sorted as history.
  /// Only the last failures are compared when the history does not leave the resource active.
  mutating func check(
    history: XElement, entries: [Entry], replay: Replay, instance: String, primitive: String, node: String,
    nodeAttributes: [String: String], active: Bool
  ) -> DefinitionChange? {
    var change = DefinitionChange()
    let context = (instance: instance, primitive: primitive, node: node, attributes: nodeAttributes)
    // While the status is unpacked: a failed start or monitor recorded with other parameters.
    for entry in entries where replay.lastFailures.contains(entry.record.id) {
      let verdict = compare(entry, replay, context)?.verdict
      if verdict == .restart || verdict == .mismatch { change.failureParametersChanged = true }
    }
    // Before placement, where the resource is active: the agent, then each entry since the start.
    guard active else { return change == DefinitionChange() ? nil : change }
    if let agent = calculator.agent(of: primitive),
      agent.standard != history["class"] || agent.provider != history["provider"]
        || agent.type != history["type"]
    {
      change.agentChanged = true
    }
    let (start, stop) = OperationRecord.activeRange(entries.map(\.record))
    if start >= stop {
      for entry in entries.dropFirst(max(start, 0)) { checkAction(entry, replay, context, &change) }
    }
    return change == DefinitionChange() ? nil : change
  }

  private typealias Context = (
    instance: String, primitive: String, node: String, attributes: [String: String]
  )

  /// `pcmk__check_action_config` for one entry since the start.
  private mutating func checkAction(
    _ entry: Entry, _ replay: Replay, _ context: Context, _ change: inout DefinitionChange
  ) {
    let record = entry.record
    let recurring = record.intervalMs > 0
    guard recurring || ["monitor", "start", "promote", "migrate_from"].contains(record.task) else { return }
    if recurring
      && !calculator.isConfigured(
        primitive: context.primitive, name: record.task, intervalMs: record.intervalMs)
    {
      if !change.removed.contains(record.modelKey) { change.removed.append(record.modelKey) }
      return
    }
    guard let (verdict, digests) = compare(entry, replay, context), verdict != .match else { return }
    // crm_simulate runs sanitized: a change of private parameters only is no change.
    if let secure = entry.element["op-secure-digest"], secure == digests.secure { return }
    if recurring {
      if !change.rescheduled.contains(record.modelKey) { change.rescheduled.append(record.modelKey) }
    } else if verdict == .restart || restartDigest(entry, replay) == nil {
      change.restart = true
    } else {
      change.reload = true
    }
  }

  /// The entry's `op-restart-digest`, as the failure-timeout handling may have replaced it.
  private func restartDigest(_ entry: Entry, _ replay: Replay) -> String? {
    replay.rescheduledAfterExpiry.contains(entry.record.id)
      ? "calculated-failure-timeout" : entry.element["op-restart-digest"]
  }

  /// `rsc_action_digest_cmp`, with the digest cache.
  private mutating func compare(_ entry: Entry, _ replay: Replay, _ context: Context) -> (
    verdict: Verdict, digests: DigestCalculator.Digests
  )? {
    let task = entry.element["operation"] ?? ""
    let intervalMs = Int(entry.element["interval"] ?? "0") ?? 0
    let key = "\(context.instance)_\(task)_\(intervalMs)"
    let recordedRestart = restartDigest(entry, replay)
    var cached = cache[context.node]?[key]
    if cached == nil {
      guard
        let digests = calculator.digests(
          primitive: context.primitive, entry: entry.element, restartDigestRecorded: recordedRestart != nil,
          nodeAttributes: context.attributes)
      else { return nil }
      cached = (digests, digests.restartHint ? .restart : .match)
    }
    guard let digests = cached?.digests, var verdict = cached?.verdict else { return nil }
    if let calculated = digests.restart, let recordedRestart, calculated != recordedRestart {
      verdict = .restart
    } else if let recorded = entry.element["op-digest"] {
      if recorded == digests.all {
        verdict = .match
      } else if !(intervalMs == 0 && verdict == .restart) {
        verdict = .mismatch
      }
    } else {
      verdict = .unknown
    }
    cache[context.node, default: [:]][key] = (digests, verdict)
    return (verdict, digests)
  }
}
