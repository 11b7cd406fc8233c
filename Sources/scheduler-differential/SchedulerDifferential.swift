import ArgumentParser
import CIBImport
import Conformance
import Foundation
import ResourceModel
import Scheduler

/// Differential testing against Pacemaker itself: random CIBs go to `crm_simulate -R` and to our
/// scheduler; Transition Summaries are compared as sets (the conformance normalizer); each
/// disagreement is shrunk to a minimal CIB that still disagrees and printed with its seed.
/// `--bench` instead times both schedulers on large generated clusters.
@main
struct SchedulerDifferential: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scheduler-differential",
    abstract: "Compare swpcs's scheduler with crm_simulate on random CIBs (or benchmark both with --bench).")

  @Option(help: "Number of random CIBs.") var count = 500
  @Option(help: "Seed of the first CIB; CIB i uses seed+i (rerun one with --seed S --count 1).")
  var seed: UInt64 = 1
  @Option(help: "The crm_simulate binary.") var crmSimulate = "/usr/sbin/crm_simulate"
  @Option(help: "Exit 1 when more than this many CIBs disagree (the committed baseline).")
  var maxDisagreements: Int?
  @Option(help: "Print at most this many shrunk disagreements in full.") var show = 5
  @Option(help: "Write each disagreeing (shrunk) CIB into this directory as SEED.xml.") var keep: String?
  @Flag(help: "Print the CIB generated for --seed and exit.") var printCib = false
  @Option(help: "Benchmark: comma-separated primitive counts (e.g. 100,1000,10000).") var bench: String?
  @Option(help: "Benchmark: node count.") var nodes = 16
  @Option(help: "Benchmark: give up on crm_simulate after this many seconds.") var benchTimeout: Double = 900

  mutating func run() throws {
    guard FileManager.default.isExecutableFile(atPath: crmSimulate) else {
      throw ValidationError("\(crmSimulate) not found (apt-get install pacemaker-cli-utils)")
    }
    if let bench {
      try runBenchmark(bench.split(separator: ",").compactMap { Int($0) })
      return
    }
    let now = Int64(Date().timeIntervalSince1970)
    if printCib {
      var rng = SplitMix64(seed: seed)
      print(RandomCluster.random(&rng).xml(now: now), terminator: "")
      return
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "swpcs-differential-\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let oracle = Oracle(crmSimulate: crmSimulate, directory: directory.path, now: now)

    let started = Date()
    var agree = 0
    var disagreements: [(seed: UInt64, result: CaseResult, xml: String)] = []
    var errors = 0
    for i in 0..<count {
      let caseSeed = seed &+ UInt64(i)
      var rng = SplitMix64(seed: caseSeed)
      let cluster = RandomCluster.random(&rng)
      switch oracle.compare(cluster) {
      case .agree: agree += 1
      case .error(let message):
        errors += 1
        print("seed \(caseSeed): ERROR \(message)")
      case .disagree(let result):
        let (small, smallResult) = oracle.shrink(cluster, result)
        disagreements.append((caseSeed, smallResult, small.xml(now: now)))
        print(
          "seed \(caseSeed): DISAGREE (\(result.missing.count) missing, \(result.extra.count) extra; "
            + "shrunk to \(small.primitives.count) primitives, \(small.nodes.count) nodes)")
      }
    }
    let elapsed = Date().timeIntervalSince(started)
    for (n, d) in disagreements.enumerated() {
      if let keep {
        try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        try d.xml.write(toFile: "\(keep)/\(d.seed).xml", atomically: true, encoding: .utf8)
      }
      guard n < show else { continue }
      print("\n--- seed \(d.seed) (rerun: --seed \(d.seed) --count 1)")
      for line in d.result.missing { print("  Pacemaker only: \(line)") }
      for line in d.result.extra { print("  swpcs only:     \(line)") }
      print(d.xml)
    }
    let rate = count == 0 ? 100 : Double(agree) * 100 / Double(count)
    print(
      "\ndifferential: \(count) CIBs (seeds \(seed)...\(seed &+ UInt64(max(count - 1, 0)))), \(agree) agree "
        + "(\(String(format: "%.1f", rate)) %), \(disagreements.count) disagree, \(errors) errors, "
        + "\(String(format: "%.1f", elapsed)) s")
    if let maxDisagreements, disagreements.count + errors > maxDisagreements {
      print("REGRESSION: \(disagreements.count + errors) disagreements, baseline allows \(maxDisagreements)")
      throw ExitCode(1)
    }
  }

  // MARK: Benchmark

  private func runBenchmark(_ sizes: [Int]) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "swpcs-bench-\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    print(
      "| primitives | nodes | crm_simulate -R (whole run) | swpcs: import CIB | swpcs: schedule | summary lines (Pacemaker / swpcs) |"
    )
    print("|---|---|---|---|---|---|")
    for size in sizes {
      let xml = BenchmarkCluster.xml(primitives: size, nodes: nodes)
      let path = directory.appendingPathComponent("bench-\(size).xml").path
      try xml.write(toFile: path, atomically: true, encoding: .utf8)
      let start = Date()
      let output = Oracle.runCrmSimulate(crmSimulate, path, timeout: benchTimeout)
      let pacemaker = Date().timeIntervalSince(start)
      let parseStart = Date()
      let document = try CIBDocument.parse(xml: xml, defaultNow: nil)
      let parse = Date().timeIntervalSince(parseStart)
      let scheduleStart = Date()
      let transition = Scheduler.schedule(document.configuration, document.state)
      let schedule = Date().timeIntervalSince(scheduleStart)
      let theirs =
        output.map { String(TransitionSummary.section(of: $0).count) } ?? "—"
      let pacemakerText = output == nil ? "> \(Int(benchTimeout)) s (gave up)" : seconds(pacemaker)
      print(
        "| \(size) | \(nodes) | \(pacemakerText) | \(seconds(parse)) | \(seconds(schedule)) | "
          + "\(theirs) / \(transition.summary.count) |")
    }
  }

  private func seconds(_ s: Double) -> String {
    s < 1 ? String(format: "%.0f ms", s * 1000) : String(format: "%.2f s", s)
  }
}

/// Runs crm_simulate and our scheduler on the same CIB.
struct Oracle {
  enum Outcome {
    case agree
    case disagree(CaseResult)
    case error(String)
  }

  let crmSimulate: String
  let directory: String
  let now: Int64

  func compare(_ cluster: RandomCluster) -> Outcome {
    let xml = cluster.xml(now: now)
    let path = "\(directory)/case.xml"
    do {
      try xml.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
      return .error("cannot write \(path): \(error)")
    }
    guard let output = Self.runCrmSimulate(crmSimulate, path, timeout: 60) else {
      return .error("crm_simulate failed or timed out")
    }
    let document: CIBDocument
    do {
      document = try CIBDocument.parse(xml: xml, defaultNow: now)
    } catch {
      return .error("import failed: \(error)")
    }
    let transition = Scheduler.schedule(document.configuration, document.state)
    let result = SummaryComparison.compare(
      name: "differential", expected: TransitionSummary.section(of: output), actual: transition.summary,
      anonymous: [])
    return result.passed ? .agree : .disagree(result)
  }

  /// Greedy shrinking: keep removing one piece while the disagreement stays.
  func shrink(_ cluster: RandomCluster, _ result: CaseResult) -> (RandomCluster, CaseResult) {
    var current = cluster
    var currentResult = result
    var progress = true
    while progress {
      progress = false
      for candidate in current.shrinkCandidates() {
        if case .disagree(let r) = compare(candidate) {
          current = candidate
          currentResult = r
          progress = true
          break
        }
      }
    }
    return (current, currentResult)
  }

  /// `crm_simulate -x FILE -R`: offline (reads the file, no daemon is contacted), runs Pacemaker's
  /// scheduler and prints the status and the Transition Summary. (`-S` would also simulate the
  /// transition, which 2.1.5 aborts on for some valid inputs; the summary is the same.) Nil on failure
  /// or timeout.
  static func runCrmSimulate(_ binary: String, _ path: String, timeout: Double) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["-x", path, "-R"]
    var environment = ProcessInfo.processInfo.environment
    environment["PCMK_logfile"] = "/dev/null"
    process.environment = environment
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "crm_simulate-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).out")
    guard FileManager.default.createFile(atPath: output.path, contents: nil),
      let handle = try? FileHandle(forWritingTo: output)
    else { return nil }
    defer { try? FileManager.default.removeItem(at: output) }
    process.standardOutput = handle
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(1_000) }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      return nil
    }
    try? handle.close()
    guard process.terminationStatus == 0, let data = try? Data(contentsOf: output) else { return nil }
    return String(decoding: data, as: UTF8.self)
  }
}

/// The benchmark's cluster, as in `scheduler-bench`: primitives with a monitor, one in ten in
/// groups of three, location preferences, colocations and orders between neighbours; all nodes
/// online, nothing probed yet (a cluster's first transition).
enum BenchmarkCluster {
  static func xml(primitives: Int, nodes: Int) -> String {
    var out = "<cib validate-with=\"pacemaker-3.7\" crm_feature_set=\"3.16.2\" epoch=\"1\" num_updates=\"0\" "
    out += "admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"1\">\n  <configuration>\n    <crm_config>\n"
    out += "      <cluster_property_set id=\"o\"><nvpair id=\"o1\" name=\"stonith-enabled\" value=\"false\"/>"
    out += "</cluster_property_set>\n    </crm_config>\n    <nodes>\n"
    for n in 1...nodes { out += "      <node id=\"\(n)\" uname=\"node\(n)\"/>\n" }
    out += "    </nodes>\n    <resources>\n"
    func primitive(_ id: String) -> String {
      "<primitive id=\"\(id)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><operations>"
        + "<op id=\"\(id)-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive>"
    }
    var ids: [String] = []
    var index = 0
    while index < primitives {
      if index % 10 == 0 && index + 3 <= primitives {
        let members = (0..<3).map { "r\(index + $0)" }
        out += "      <group id=\"g\(index)\">" + members.map(primitive).joined() + "</group>\n"
        ids += members
        index += 3
      } else {
        out += "      " + primitive("r\(index)") + "\n"
        ids.append("r\(index)")
        index += 1
      }
    }
    out += "    </resources>\n    <constraints>\n"
    for (n, id) in ids.enumerated() where n % 7 == 0 {
      out +=
        "      <rsc_location id=\"loc-\(id)\" rsc=\"\(id)\" node=\"node\(n % nodes + 1)\" score=\"50\"/>\n"
    }
    for n in stride(from: 1, to: ids.count, by: 13) {
      out +=
        "      <rsc_colocation id=\"col-\(n)\" rsc=\"\(ids[n])\" with-rsc=\"\(ids[n - 1])\" score=\"100\"/>\n"
      out += "      <rsc_order id=\"ord-\(n)\" first=\"\(ids[n - 1])\" then=\"\(ids[n])\"/>\n"
    }
    out += "    </constraints>\n    <rsc_defaults><meta_attributes id=\"d\">"
    out += "<nvpair id=\"d1\" name=\"resource-stickiness\" value=\"100\"/></meta_attributes></rsc_defaults>\n"
    out += "  </configuration>\n  <status>\n"
    for n in 1...nodes {
      out += "    <node_state id=\"\(n)\" uname=\"node\(n)\" in_ccm=\"true\" crmd=\"online\" join=\"member\" "
      out += "expected=\"member\"/>\n"
    }
    out += "  </status>\n</cib>\n"
    return out
  }
}
