import ArgumentParser
import ClusterSimulation
import Foundation
import ResourceModel
import Scheduler

/// `sim`: runs the whole-cluster simulation over many seeds (a campaign) or replays one seed.
///
/// A failing seed prints its fault schedule, the trace of its last events, a shrunk schedule and
/// the command that replays it; the exit status is 1.
@main
struct Sim: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Deterministic simulation of whole swpcs clusters under seeded faults.")

  @Option(help: "Run this many seeds (from --first).") var seeds: Int?
  @Option(help: "Run only this seed.") var seed: UInt64?
  @Option(help: "First seed of a campaign.") var first: UInt64 = 1
  @Option(help: "Stop starting new seeds after this many seconds.") var timeBudget: Double?
  @Option(help: "With --seed: keep only these fault indices (comma-separated), as printed by a shrink.")
  var keep: String?
  @Flag(help: "With --seed: print the whole trace of the run.") var replay = false
  @Flag(help: "Do not shrink failing schedules.") var noShrink = false
  @Flag(help: "With --seed: log the DC's records whenever it plans a transition.") var dumpState = false
  @Option(help: "Stop the campaign after this many failing seeds.") var maxFailures: Int = 1
  @Option(
    help:
      "A file of seeds known to fail (`SEED INVARIANT # bug`, one per line): reported, but the campaign fails only on others."
  )
  var knownFailures: String?

  @Option(help: "Schedule a plan file written by --dump-state and print the transition.") var schedule:
    String?

  func run() throws {
    if let schedule {
      struct Plan: Decodable {
        var config: ResourceConfiguration
        var state: ClusterState
      }
      let plan = try JSONDecoder().decode(Plan.self, from: Data(contentsOf: URL(fileURLWithPath: schedule)))
      let t = Scheduler.schedule(plan.config, plan.state)
      for line in t.summary { print(line) }
      for line in t.notes { print("note: \(line)") }
      for a in t.actions { print("action: \(a)") }
      return
    }
    if let seed {
      let kept = keep.map { $0.split(separator: ",").compactMap { Int($0) } }
      let outcome = SimulationCampaign.run(
        seed: seed, keep: kept, traceLimit: replay ? 1 << 40 : 120, dumpState: dumpState)
      print(SimulationCampaign.report(outcome, keep: kept, traceLines: replay ? Int.max : 60))
      if dumpState {
        // Each plan's inputs, to replay in Scheduler.schedule: /tmp/sim-SEED-plan-K.json.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (k, plan) in outcome.planInputs.enumerated() {
          struct Plan: Encodable {
            var line: String
            var config: ResourceConfiguration
            var state: ClusterState
          }
          let path = "/tmp/sim-\(seed)-plan-\(k + 1).json"
          try encoder.encode(Plan(line: plan.line, config: plan.config, state: plan.state))
            .write(to: URL(fileURLWithPath: path))
          print("\(path): \(plan.line.prefix(100))")
        }
      }
      if let converged = outcome.convergedAfterMs, outcome.violation == nil {
        print("converged \(Double(converged) / 1000) s after the faults")
      }
      if outcome.violation != nil { throw ExitCode(1) }
      return
    }
    var known: [UInt64: String] = [:]
    if let knownFailures {
      let text = try String(contentsOfFile: knownFailures, encoding: .utf8)
      for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let seed = UInt64(fields[0]) { known[seed] = String(fields[1]) }
      }
    }
    var knownSeen = 0
    var knownFixed: [UInt64] = []
    let count = seeds ?? (timeBudget == nil ? 100 : Int.max)
    let began = Date()
    var ran = 0
    var failures = 0
    var slowestConvergence: Int64 = 0
    var next = first
    while ran < count {
      if let timeBudget, Date().timeIntervalSince(began) >= timeBudget { break }
      let outcome = SimulationCampaign.run(seed: next)
      ran += 1
      if let expected = known[next] {
        if outcome.violation?.name == expected {
          knownSeen += 1
          next += 1
          continue
        }
        if outcome.violation == nil { knownFixed.append(next) }
      }
      if let violation = outcome.violation {
        failures += 1
        print(SimulationCampaign.report(outcome))
        if !noShrink {
          let kept = SimulationCampaign.shrink(seed: next, name: violation.name)
          let shrunk = SimulationCampaign.run(seed: next, keep: kept)
          print("\nshrunk to \(kept.count) of \(outcome.scenario.faults.count) faults:")
          print(SimulationCampaign.report(shrunk, keep: kept, traceLines: 40))
        }
        print("")
        if failures >= maxFailures { break }
      } else if let c = outcome.convergedAfterMs {
        slowestConvergence = max(slowestConvergence, c)
      }
      next += 1
    }
    let elapsed = Date().timeIntervalSince(began)
    if knownFailures != nil {
      print("known failures (open bugs) seen: \(knownSeen)")
      if !knownFixed.isEmpty {
        print(
          "known failures that now pass (remove them from the list): \(knownFixed.map(String.init).joined(separator: " "))"
        )
      }
    }
    print(
      "simulation: \(ran) seeds (\(first)…\(first + UInt64(max(ran, 1)) - 1)) in \(String(format: "%.1f", elapsed)) s (\(String(format: "%.1f", Double(ran) / max(elapsed, 0.001))) seeds/s), \(failures) failing, slowest convergence \(Double(slowestConvergence) / 1000) s after the faults"
    )
    if failures > 0 { throw ExitCode(1) }
  }
}
