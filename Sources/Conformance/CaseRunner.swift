import CIBImport
import Foundation
import ResourceModel

/// One regression case: `DIR/xml/NAME.xml` (the input CIB) and `DIR/summary/NAME.summary` (what
/// `crm_simulate -S` printed for it), the layout of Pacemaker's `cts/scheduler`.
public struct ConformanceCase: Sendable, Equatable {
  public var name: String
  /// T1, T2, T3c, ... from the case list; nil when the directory was listed instead.
  public var tier: String?
  public init(name: String, tier: String? = nil) {
    self.name = name
    self.tier = tier
  }
}

/// Why a case directory or list could not be read.
public enum ConformanceError: Error, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case badCaseLine(path: String, line: Int, text: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
    case .badCaseLine(let path, let line, let text):
      "\(path):\(line): expected 'TIER NAME', found '\(text)'"
    }
  }
}

/// Finds cases, runs one case through the importer and a scheduler, and compares the result.
public struct CaseRunner: Sendable {
  public let directory: String
  /// "Now" for CIBs without `execution-date` (crm_simulate uses the wall clock).
  public let defaultNow: Int64?
  public let schedule: @Sendable (ResourceConfiguration, ClusterState) -> Transition

  public init(
    directory: String, defaultNow: Int64?,
    schedule: @escaping @Sendable (ResourceConfiguration, ClusterState) -> Transition
  ) {
    self.directory = directory
    self.defaultNow = defaultNow
    self.schedule = schedule
  }

  /// Reads a case list: one `TIER NAME` per line; blank lines and `#` comments are skipped.
  public static func loadCaseList(_ path: String) throws(ConformanceError) -> [ConformanceCase] {
    let text = try read(path)
    var cases: [ConformanceCase] = []
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = String(raw).trimming(" \t\r")
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard fields.count == 2 else { throw .badCaseLine(path: path, line: number + 1, text: line) }
      cases.append(ConformanceCase(name: String(fields[1]), tier: String(fields[0])))
    }
    return cases
  }

  /// Every `DIR/xml/*.xml` that has a summary, by name.
  public func discoverCases() throws(ConformanceError) -> [ConformanceCase] {
    let xmlDirectory = "\(directory)/xml"
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: xmlDirectory)
    } catch {
      throw .unreadable(path: xmlDirectory, reason: error.localizedDescription)
    }
    return names.filter { $0.hasSuffix(".xml") }.map { String($0.dropLast(4)) }.filter {
      FileManager.default.fileExists(atPath: "\(directory)/summary/\($0).summary")
    }.sorted().map { ConformanceCase(name: $0) }
  }

  /// Imports the case's CIB, schedules it, and compares with the expected summary.
  public func run(_ testCase: ConformanceCase) -> CaseResult {
    let name = testCase.name
    let tier = testCase.tier
    let xml: String
    let summary: String
    do {
      xml = try Self.read("\(directory)/xml/\(name).xml")
      summary = try Self.read("\(directory)/summary/\(name).summary")
    } catch {
      return .failure(name, tier: tier, error: error.description)
    }
    let document: CIBDocument
    do {
      document = try CIBDocument.parse(xml: xml, defaultNow: defaultNow)
    } catch {
      return .failure(name, tier: tier, error: "import failed: \(error)")
    }
    let transition = schedule(document.configuration, document.state)
    var result = SummaryComparison.compare(
      name: name, tier: tier, expected: TransitionSummary.section(of: summary), actual: transition.summary,
      anonymous: SummaryComparison.anonymousCloneMembers(document.configuration))
    let gaps = document.schedulingGaps
    if !gaps.isEmpty {
      result.passed = false
      result.error = "unsupported: " + gaps.map(\.description).joined(separator: "; ")
    }
    return result
  }

  /// The case's CIB as imported — `{"name", "configuration", "state", "unsupported"}` — for
  /// inspecting what the scheduler is given.
  public func importedJSON(_ testCase: ConformanceCase) throws -> String {
    struct Dump: Encodable {
      var name: String
      var configuration: ResourceConfiguration
      var state: ClusterState
      var unsupported: [String]
    }
    let document = try CIBDocument.parse(
      xml: try Self.read("\(directory)/xml/\(testCase.name).xml"), defaultNow: defaultNow)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let dump = Dump(
      name: testCase.name, configuration: document.configuration, state: document.state,
      unsupported: document.unsupported.map(\.description))
    return String(decoding: try encoder.encode(dump), as: UTF8.self)
  }

  static func read(_ path: String) throws(ConformanceError) -> String {
    do {
      return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw .unreadable(path: path, reason: error.localizedDescription)
    }
  }
}
