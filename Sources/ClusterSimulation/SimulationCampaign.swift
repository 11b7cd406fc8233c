import ResourceModel

/// Runs seeds of the whole-cluster simulation, shrinks failing fault schedules and writes reports.
///
/// The `sim` tool and the regression tests share it, so a seed fails or passes the same way in both.
public enum SimulationCampaign {
  /// The outcome of one run.
  public struct Outcome: Sendable {
    public var scenario: SimulationScenario
    public var violation: WholeClusterSimulation.Violation?
    public var trace: [String]
    public var convergedAfterMs: Int64?
    /// With `dumpState`: each plan's line and the DC's configuration and state it planned from.
    public var planInputs: [(line: String, config: ResourceConfiguration, state: ClusterState)] = []
  }

  /// Runs `seed`; with `keep`, only those fault indices of its generated schedule.
  public static func run(seed: UInt64, keep: [Int]? = nil, traceLimit: Int = 120, dumpState: Bool = false)
    -> Outcome
  {
    var scenario = SimulationScenario.generate(seed: seed)
    if let keep {
      scenario.faults = keep.filter { scenario.faults.indices.contains($0) }.map { scenario.faults[$0] }
    }
    return run(scenario, traceLimit: traceLimit, dumpState: dumpState)
  }

  public static func run(_ scenario: SimulationScenario, traceLimit: Int = 120, dumpState: Bool = false)
    -> Outcome
  {
    var sim = WholeClusterSimulation(scenario: scenario)
    sim.traceLimit = traceLimit
    sim.dumpStateOnTransitions = dumpState
    sim.run()
    return Outcome(
      scenario: scenario, violation: sim.violation, trace: sim.trace, convergedAfterMs: sim.convergedAfterMs,
      planInputs: sim.planInputs)
  }

  /// Removes faults one at a time (then in halves) while the same invariant still fails; returns
  /// the indices kept of the seed's schedule.
  public static func shrink(seed: UInt64, name: String, maxRuns: Int = 200) -> [Int] {
    var keep = Array(SimulationScenario.generate(seed: seed).faults.indices)
    var runs = 0
    var chunk = max(keep.count / 2, 1)
    while chunk >= 1 && runs < maxRuns {
      var start = 0
      var progressed = false
      while start < keep.count && runs < maxRuns {
        var candidate = keep
        candidate.removeSubrange(start..<min(start + chunk, keep.count))
        runs += 1
        if run(seed: seed, keep: candidate).violation?.name == name {
          keep = candidate
          progressed = true
        } else {
          start += chunk
        }
      }
      if !progressed { chunk /= 2 }
    }
    return keep
  }

  /// A readable report of a failing run and the commands that replay it.
  public static func report(_ outcome: Outcome, keep: [Int]? = nil, traceLines: Int = 60) -> String {
    var lines: [String] = []
    let seed = outcome.scenario.seed
    lines.append("seed \(seed): \(outcome.violation.map { "\($0)" } ?? "passed")")
    lines.append("cluster: \(outcome.scenario.summary)")
    lines.append("fault schedule (\(outcome.scenario.faults.count)):")
    for fault in outcome.scenario.faults { lines.append("  \(fault)") }
    lines.append("last events:")
    for line in outcome.trace.suffix(traceLines) { lines.append("  \(line)") }
    let keepArgument = keep.map { " --keep \($0.map(String.init).joined(separator: ","))" } ?? ""
    lines.append("replay: swift run sim --seed \(seed)\(keepArgument) --replay")
    return lines.joined(separator: "\n")
  }
}
