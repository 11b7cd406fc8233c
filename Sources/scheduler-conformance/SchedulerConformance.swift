import ArgumentParser
import CIBImport
import Conformance
import Foundation
import ResourceModel
import Scheduler

/// Runs Pacemaker's scheduler regression cases against our scheduler and reports what matches.
@main
struct SchedulerConformance: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scheduler-conformance",
    abstract: "Run Pacemaker scheduler regression cases (xml/ + summary/) against swpcs's scheduler.",
    discussion: """
      Each case's CIB is imported, scheduled, and its Transition Summary compared with Pacemaker's \
      as a multiset of (verb, resource, from, to, role), ignoring reasons, padding and anonymous clone \
      instance numbers. Cases whose CIB uses features the model cannot carry fail with the reason. \
      Every case runs in a child process, so a crash or hang fails only that case.
      """)

  @Argument(help: "Case directory with xml/ and summary/ (e.g. a Pacemaker checkout's cts/scheduler).")
  var directory: String

  @Option(help: "Case list, one 'TIER NAME' per line (default: DIR/cases.txt if present, else every case).")
  var cases: String?

  @Option(help: "Only these tiers, comma-separated (e.g. T1,T2).")
  var tier: String?

  @Option(help: "Only this case (repeatable).")
  var only: [String] = []

  @Flag(help: "Show expected and actual actions of failing cases.")
  var verbose = false

  @Option(help: "List of cases that must pass (one name per line).")
  var passingList: String?

  @Flag(help: "With --passing-list: exit 1 if any listed case fails.")
  var check = false

  @Option(help: "Write the names of the passing cases here, sorted.")
  var writePassing: String?

  @Option(help: "Seconds before a case is abandoned.")
  var timeout: Double = 60

  @Flag(help: "Run cases in this process (faster; a crash stops the run).")
  var inProcess = false

  @Flag(help: "Print each selected case's imported configuration and state as JSON instead of running it.")
  var dump = false

  @Flag(
    help:
      "Print each history entry's recomputed operation digest (the hashed text and its MD5) with the recorded one."
  )
  var dumpDigests = false

  @Option(help: .hidden)
  var child: String?

  @Option(help: .hidden)
  var now: Int64?

  func validate() throws {
    if check && passingList == nil { throw ValidationError("--check needs --passing-list FILE") }
    if timeout <= 0 { throw ValidationError("--timeout must be positive") }
  }

  mutating func run() throws {
    let now = self.now ?? Int64(Date().timeIntervalSince1970)
    let runner = CaseRunner(directory: directory, defaultNow: now) { Scheduler.schedule($0, $1) }
    if let child {
      let result = runner.run(ConformanceCase(name: child))
      let data = try JSONEncoder().encode(result)
      FileHandle.standardOutput.write(data)
      return
    }

    var selected = try caseList(runner)
    if let tier {
      let tiers = Set(tier.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
      selected = selected.filter { tiers.contains($0.tier ?? "-") }
    }
    if !only.isEmpty { selected = selected.filter { only.contains($0.name) } }
    if dumpDigests {
      for testCase in selected {
        let xml = try String(contentsOfFile: "\(directory)/xml/\(testCase.name).xml", encoding: .utf8)
        for line in try CIBDocument.operationDigestLines(xml: xml) { print("\(testCase.name) \(line)") }
      }
      return
    }
    if dump {
      for testCase in selected { print(try runner.importedJSON(testCase)) }
      return
    }

    var results: [CaseResult] = []
    for testCase in selected {
      var result = inProcess ? runner.run(testCase) : runIsolated(testCase, now: now)
      result.tier = testCase.tier
      results.append(result)
      report(result)
    }
    printTally(results)
    try finish(results)
  }

  private func caseList(_ runner: CaseRunner) throws -> [ConformanceCase] {
    if let cases { return try CaseRunner.loadCaseList(cases) }
    let defaultList = "\(directory)/cases.txt"
    if FileManager.default.fileExists(atPath: defaultList) { return try CaseRunner.loadCaseList(defaultList) }
    return try runner.discoverCases()
  }

  /// Runs one case in a child process of this executable, reading its JSON result.
  private func runIsolated(_ testCase: ConformanceCase, now: Int64) -> CaseResult {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent(
      "scheduler-conformance-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).json")
    defer { try? FileManager.default.removeItem(at: output) }
    guard FileManager.default.createFile(atPath: output.path, contents: nil),
      let handle = try? FileHandle(forWritingTo: output)
    else {
      return .failure(testCase.name, tier: testCase.tier, error: "cannot create \(output.path)")
    }
    let process = Process()
    process.executableURL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments = [directory, "--child", testCase.name, "--now", String(now)]
    process.standardOutput = handle
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return .failure(testCase.name, tier: testCase.tier, error: "cannot start child: \(error)")
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(2_000) }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      return .failure(testCase.name, tier: testCase.tier, error: "timed out after \(Int(timeout))s")
    }
    try? handle.close()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
      let how =
        process.terminationReason == .uncaughtSignal
        ? "signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
      return .failure(testCase.name, tier: testCase.tier, error: "scheduler crashed (\(how))")
    }
    guard let data = try? Data(contentsOf: output),
      let result = try? JSONDecoder().decode(CaseResult.self, from: data)
    else {
      return .failure(testCase.name, tier: testCase.tier, error: "child produced no result")
    }
    return result
  }

  private func report(_ result: CaseResult) {
    let label = [result.tier, result.name].compactMap { $0 }.joined(separator: " ")
    if result.passed {
      print("PASS \(label)")
      return
    }
    var why: [String] = []
    if !result.missing.isEmpty { why.append("\(result.missing.count) missing") }
    if !result.extra.isEmpty { why.append("\(result.extra.count) extra") }
    if let error = result.error { why.append(error) }
    print("FAIL \(label): \(why.joined(separator: ", "))")
    guard verbose else { return }
    for line in result.missing { print("    - \(line)") }
    for line in result.extra { print("    + \(line)") }
    if result.missing.isEmpty && result.extra.isEmpty {
      for line in result.expected { print("      \(line)") }
    }
  }

  private func printTally(_ results: [CaseResult]) {
    var tiers: [String] = []
    var counts: [String: (passed: Int, total: Int)] = [:]
    for result in results {
      let tier = result.tier ?? "-"
      if counts[tier] == nil { tiers.append(tier) }
      counts[tier, default: (0, 0)].total += 1
      if result.passed { counts[tier, default: (0, 0)].passed += 1 }
    }
    print("")
    for tier in tiers.sorted() {
      let count = counts[tier] ?? (0, 0)
      print("\(tier): \(count.passed)/\(count.total) passed")
    }
    let passed = results.filter(\.passed).count
    print("\(passed) passed, \(results.count - passed) failed")
  }

  private func finish(_ results: [CaseResult]) throws {
    if let writePassing {
      let names = results.filter(\.passed).map(\.name).sorted()
      try (names.map { $0 + "\n" }.joined()).write(toFile: writePassing, atomically: true, encoding: .utf8)
    }
    guard check, let passingList else { return }
    let required = Set(
      try String(contentsOfFile: passingList, encoding: .utf8).split(whereSeparator: \.isNewline).map {
        String($0).trimmingCharacters(in: .whitespaces)
      }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
    let regressions = results.filter { required.contains($0.name) && !$0.passed }.map(\.name).sorted()
    if !regressions.isEmpty {
      print("REGRESSION: \(regressions.count) listed case(s) failed: \(regressions.joined(separator: ", "))")
      throw ExitCode(1)
    }
  }
}
