import ConfigStore
import Foundation
import ResourceModel
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The issue's crash test: a real writer process (`config-store-torture`) saves versions of up to
/// ~1 MB in a tight loop and is SIGKILLed at a random moment, again and again; after every kill
/// the store must load, without problems, a valid configuration no older than the last version
/// the writer reported saved.
///
/// Half the kills come at a random moment up to 150 ms into the writer's run, half within 1 ms of
/// a temporary file appearing, i.e. inside `AtomicFile.write`. 200 kills take about 13 s;
/// `SWPCS_CONFIG_STORE_KILLS=N` changes the count. The writer binary is looked up in
/// `SWPCS_BIN_DIR`, else beside the test bundle.
@Suite struct KilledWriterTests {
  @Test(.timeLimit(.minutes(3)))
  func aWriterKilledAtRandomMomentsAlwaysLeavesTheLatestSavedVersionLoadable() throws {
    let kills = ProcessInfo.processInfo.environment["SWPCS_CONFIG_STORE_KILLS"].flatMap(Int.init) ?? 200
    let writer = try #require(Self.writerBinary(), "config-store-torture not built (run swift build first)")
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    let started = ContinuousClock.now
    var lastSaved = ConfigVersion()
    var lastLoaded = ConfigVersion()
    var killedMidSave = 0
    var killedInsideWrite = 0
    for round in 1...kills {
      let run = try WriterRun(binary: writer, directory: scratch.path)
      // Wait for the first save to begin, so the kill falls among saves rather than start-up.
      guard run.readLine() != nil else {
        Issue.record("round \(round): the writer ended before saving: \(run.finish().errors)")
        return
      }
      if round.isMultiple(of: 2) {
        // Aim inside AtomicFile.write: right after a temporary file appears.
        Self.waitForTemporaryFile(in: scratch, timeout: .seconds(2))
        usleep(UInt32.random(in: 0...1_000))
      } else {
        usleep(UInt32.random(in: 0...150_000))
      }
      kill(run.process.processIdentifier, SIGKILL)
      let (lines, errors) = run.finish()
      #expect(run.process.terminationReason == .uncaughtSignal, "round \(round): \(errors)")
      if let saved = lines.last(where: { $0.hasPrefix("saved ") }) {
        lastSaved = try #require(Self.parseVersion(saved.dropFirst("saved ".count)))
      }
      if lines.last?.hasPrefix("begin ") == true { killedMidSave += 1 }
      if scratch.names().contains(where: { $0.contains(".json.tmp.") }) { killedInsideWrite += 1 }

      let (loaded, problems) = store.load()
      #expect(problems.isEmpty, "round \(round): \(problems)")
      #expect(loaded.version >= lastSaved, "round \(round): loaded \(loaded.version), saved \(lastSaved)")
      #expect(loaded.version >= lastLoaded, "round \(round): loaded \(loaded.version) after \(lastLoaded)")
      // A writer killed before its first save (a slow machine) leaves nothing to load, legitimately.
      if lastSaved > ConfigVersion() {
        #expect(loaded.version > ConfigVersion(), "round \(round): nothing loadable")
      }
      if loaded.version > ConfigVersion() {
        #expect(loaded.properties["torture-version"] == loaded.version.description)
        #expect(loaded.properties["torture-resources"] == String(loaded.resources.count))
      }
      lastLoaded = loaded.version
    }
    let elapsed = (ContinuousClock.now - started).components
    let seconds = String(format: "%.1f", Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    print(
      "config store crash test: \(kills) kills in \(seconds) s, \(killedMidSave) during a save, "
        + "\(killedInsideWrite) inside the atomic write (temporary file left); last loaded \(lastLoaded)")
    #expect(scratch.names().filter { $0.hasPrefix("cib-") && $0.hasSuffix(".json") }.count <= 11)
  }

  static func waitForTemporaryFile(in scratch: ScratchDirectory, timeout: Duration) {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline && !scratch.names().contains(where: { $0.contains(".json.tmp.") }) {}
  }

  static func parseVersion(_ text: Substring) -> ConfigVersion? {
    let numbers = text.split(separator: ".").compactMap { UInt64($0) }
    guard numbers.count == 3 else { return nil }
    return ConfigVersion(adminEpoch: numbers[0], epoch: numbers[1], numUpdates: numbers[2])
  }

  static func writerBinary() -> URL? {
    var directories: [URL] = []
    if let configured = ProcessInfo.processInfo.environment["SWPCS_BIN_DIR"] {
      directories.append(URL(fileURLWithPath: configured))
    }
    directories.append(Bundle.main.bundleURL)
    directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    return directories.map { $0.appendingPathComponent("config-store-torture") }
      .first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }
}

/// One `config-store-torture` process and its output pipes.
private final class WriterRun {
  let process = Process()
  private let output = Pipe()
  private let errorOutput = Pipe()
  private var buffered: [UInt8] = []
  private var lines: [String] = []

  init(binary: URL, directory: String) throws {
    process.executableURL = binary
    process.arguments = [directory]
    process.standardOutput = output
    process.standardError = errorOutput
    try process.run()
    try? output.fileHandleForWriting.close()
    try? errorOutput.fileHandleForWriting.close()
  }

  /// The next line of standard output, blocking; nil at end of file.
  func readLine() -> String? {
    while true {
      if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: buffered[..<newline], as: UTF8.self)
        buffered.removeSubrange(...newline)
        lines.append(line)
        return line
      }
      var chunk = [UInt8](repeating: 0, count: 4096)
      let count = chunk.withUnsafeMutableBytes {
        read(output.fileHandleForReading.fileDescriptor, $0.baseAddress, $0.count)
      }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return nil }
      buffered += chunk[..<count]
    }
  }

  /// Waits for the process to end; every line it printed (the ones already read included), and
  /// its standard error.
  func finish() -> (lines: [String], errors: String) {
    while readLine() != nil {}
    process.waitUntilExit()
    let errors = String(decoding: errorOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (lines, errors.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}
