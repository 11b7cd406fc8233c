import ClusterTypes
import ConfigStore
import Foundation
import ResourceModel
import Testing

@Suite struct ConfigStoreTests {
  @Test func aSavedConfigurationLoadsBackUnchanged() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    let config = sampleConfiguration(version(3, admin: 1, updates: 2))
    try store.save(config)
    let (loaded, problems) = store.load()
    #expect(loaded == config)
    #expect(problems.isEmpty)
    #expect(scratch.names() == ["cib-1.3.2.json", "cib.lock"])
    #expect(scratch.bytes(of: "cib-1.3.2.json") == (try ConfigStore.encode(config)))
  }

  @Test func aNewNodeLoadsTheEmptyConfigurationWithoutProblems() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let (loaded, problems) = ConfigStore(directory: "\(scratch.path)/not-yet").load()
    #expect(loaded == ResourceConfiguration())
    #expect(problems.isEmpty)
  }

  @Test func saveCreatesMissingDirectoriesPrivately() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: "\(scratch.path)/var/lib/swpcs/cib")
    try store.save(sampleConfiguration(version(1)))
    #expect(store.load().0.version == version(1))
    let attributes = try FileManager.default.attributesOfItem(atPath: store.directory)
    #expect(attributes[.posixPermissions] as? Int == 0o700)
    let file = try FileManager.default.attributesOfItem(atPath: store.path(for: version(1)))
    #expect(file[.posixPermissions] as? Int == 0o600)
  }

  @Test func theHighestVersionWinsInAdminEpochEpochNumUpdatesOrder() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    for saved in [version(1), version(1, updates: 5), version(2), version(10), version(0, admin: 1)] {
      try store.save(sampleConfiguration(saved))
    }
    #expect(
      store.versions() == [version(1), version(1, updates: 5), version(2), version(10), version(0, admin: 1)])
    #expect(store.load().0.version == version(0, admin: 1))
  }

  @Test func aStaleOrEqualVersionIsRefusedAndNamesTheStoredFile() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    try store.save(sampleConfiguration(version(5)))
    for stale in [version(4), version(5), version(4, updates: 9)] {
      #expect(
        throws: ConfigStoreError.staleVersion(
          offered: stale, stored: version(5), file: store.path(for: version(5)))
      ) { try store.save(sampleConfiguration(stale)) }
    }
    let error = ConfigStoreError.staleVersion(
      offered: version(4), stored: version(5), file: store.path(for: version(5)))
    #expect(
      error.description
        == "\(scratch.path)/cib-0.5.0.json: refusing to save version 0.4.0: not newer than the stored 0.5.0 (save with force to replace it)"
    )
    #expect(store.versions() == [version(5)])
  }

  @Test func aCopyOfTheSameVersionAcceptedInALaterViewReplacesTheStoredOne() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    var early = version(5)
    early.acceptedIn = ViewId(sequence: 4, coordinator: NodeId(1))
    var late = version(5)
    late.acceptedIn = ViewId(sequence: 6, coordinator: NodeId(2))
    try store.save(sampleConfiguration(early))
    var winner = sampleConfiguration(late)
    winner.properties["from"] = "the majority"
    try store.save(winner)
    #expect(scratch.names() == ["cib-0.5.0.json", "cib.lock"])
    let (loaded, problems) = store.load()
    #expect(loaded == winner)
    #expect(problems.isEmpty)
    // The earlier view's copy (or the same one again) no longer gets in.
    for stale in [early, late, version(5)] {
      #expect(
        throws: ConfigStoreError.staleVersion(offered: stale, stored: late, file: store.path(for: late))
      ) { try store.save(sampleConfiguration(stale)) }
    }
    #expect(store.load().0 == winner)
  }

  @Test func aForcedOlderVersionBecomesTheCurrentOne() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    for epoch in 1...5 { try store.save(sampleConfiguration(version(UInt64(epoch)))) }
    var older = sampleConfiguration(version(3))
    older.properties["restored"] = "yes"
    try store.save(older, force: true)
    #expect(store.load().0 == older)
    #expect(store.versions() == [version(1), version(2), version(3)])
    try store.save(sampleConfiguration(version(4)))
    #expect(store.load().0.version == version(4))
  }

  @Test func aCorruptNewestFileFallsBackToTheNewestGoodOne() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    for epoch in 1...6 { try store.save(sampleConfiguration(version(UInt64(epoch)))) }
    // 6: a flipped bit; 5: truncated; 4: garbage; 3: empty; 2: missing (dangling link).
    var flipped = scratch.bytes(of: "cib-0.6.0.json")
    flipped[flipped.count / 2] ^= 0x20
    scratch.write(flipped, to: "cib-0.6.0.json")
    scratch.write(Array(scratch.bytes(of: "cib-0.5.0.json").prefix(300)), to: "cib-0.5.0.json")
    scratch.write((0..<2000).map { _ in UInt8.random(in: 0...255) }, to: "cib-0.4.0.json")
    scratch.write([], to: "cib-0.3.0.json")
    try FileManager.default.removeItem(atPath: store.path(for: version(2)))
    try FileManager.default.createSymbolicLink(
      atPath: store.path(for: version(2)), withDestinationPath: "gone")

    let (loaded, problems) = store.load()
    #expect(loaded == sampleConfiguration(version(1)))
    #expect(problems.map(\.path) == (2...6).reversed().map { store.path(for: version(UInt64($0))) })
    let reasons = problems.map(\.description)
    #expect(reasons[0].hasPrefix("\(store.path(for: version(6))): checksum mismatch"))
    #expect(reasons[1].hasPrefix("\(store.path(for: version(5))): truncated: the header declares "))
    #expect(
      reasons[2]
        == "\(store.path(for: version(4))): not a swpcs configuration (no 'swpcs-config v1' header line)")
    #expect(reasons[3] == "\(store.path(for: version(3))): empty (0 bytes)")
    #expect(reasons[4] == "\(store.path(for: version(2))): cannot read (No such file or directory)")
    #expect(store.versions() == [version(1)])
  }

  @Test func aFileWhoseContentIsAnotherVersionIsSkipped() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    try store.save(sampleConfiguration(version(1)))
    try store.save(sampleConfiguration(version(2)))
    scratch.write(scratch.bytes(of: "cib-0.2.0.json"), to: "cib-0.9.0.json")
    let (loaded, problems) = store.load()
    #expect(loaded.version == version(2))
    #expect(
      problems.map(\.description) == [
        "\(store.path(for: version(9))): named version 0.9.0 but contains version 0.2.0"
      ])
  }

  @Test func badNamesAreReportedAndStrayFilesIgnored() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    try store.save(sampleConfiguration(version(1)))
    for name in ["cib-latest.json", "cib-01.2.0.json", "notes.txt", "cib-0.9.0.json.tmp.1"] {
      scratch.write(Array("x".utf8), to: name)
    }
    let (loaded, problems) = store.load()
    #expect(loaded.version == version(1))
    #expect(problems.map(\.path) == ["\(scratch.path)/cib-01.2.0.json", "\(scratch.path)/cib-latest.json"])
    #expect(problems[0].reason == .unrecognizedName)
  }

  @Test func whenNothingIsValidTheEmptyConfigurationComesWithTheProblems() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    try store.save(sampleConfiguration(version(1)))
    scratch.write(Array("swpcs-config v1 sha256=".utf8), to: "cib-0.1.0.json")
    let (loaded, problems) = store.load()
    #expect(loaded == ResourceConfiguration())
    #expect(problems.count == 1)
    // A version above the unreadable one can still be saved (a peer's copy), and then wins.
    try store.save(sampleConfiguration(version(1, updates: 1)))
    #expect(store.load().0.version == version(1, updates: 1))
  }

  @Test func saveJudgesStalenessAgainstTheNewestValidVersion() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    try store.save(sampleConfiguration(version(1)))
    try store.save(sampleConfiguration(version(2)))
    scratch.write([], to: "cib-0.2.0.json")
    // The damaged 0.2.0 is replaced by a peer's intact copy of the same version.
    try store.save(sampleConfiguration(version(2)))
    #expect(store.load() == (sampleConfiguration(version(2)), []))
  }

  @Test func pruningKeepsTheNewestValidVersions() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path, retention: 100)
    for epoch in 1...12 { try store.save(sampleConfiguration(version(UInt64(epoch)))) }
    let removed = try store.prune(keep: 4)
    #expect(removed == (1...8).reversed().map { store.path(for: version(UInt64($0))) })
    #expect(store.versions() == (9...12).map { version(UInt64($0)) })
    #expect(try store.prune(keep: 4).isEmpty)
  }

  @Test func pruningNeverRemovesTheNewestGoodVersionBehindCorruptOnes() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path, retention: 100)
    for epoch in 1...6 { try store.save(sampleConfiguration(version(UInt64(epoch)))) }
    scratch.write([], to: "cib-0.6.0.json")
    scratch.write([], to: "cib-0.5.0.json")
    try store.prune(keep: 2)
    #expect(scratch.names() == ["cib-0.4.0.json", "cib-0.5.0.json", "cib-0.6.0.json", "cib.lock"])
    #expect(store.load().0.version == version(4))
    try store.prune(keep: 0)
    #expect(store.load().0.version == version(4))
    scratch.write([], to: "cib-0.4.0.json")
    #expect(try store.prune(keep: 1).isEmpty)
  }

  @Test func saveKeepsTheConfiguredNumberOfVersions() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path, retention: 3)
    for epoch in 1...7 { try store.save(sampleConfiguration(version(UInt64(epoch)))) }
    #expect(store.versions() == [version(5), version(6), version(7)])
  }

  @Test func leftoversOfAKilledWriterAreIgnoredThenRemoved() throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path)
    try store.save(sampleConfiguration(version(1)))
    let half = Array(try ConfigStore.encode(sampleConfiguration(version(2))).prefix(200))
    scratch.write(half, to: "cib-0.2.0.json.tmp.4242")
    scratch.write(half, to: "membership.state.tmp.4242")
    #expect(store.load() == (sampleConfiguration(version(1)), []))
    try store.save(sampleConfiguration(version(2)))
    #expect(scratch.names() == ["cib-0.1.0.json", "cib-0.2.0.json", "cib.lock", "membership.state.tmp.4242"])
  }

  @Test func concurrentSavesFromManyThreadsKeepEveryVersionValid() async throws {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = ConfigStore(directory: scratch.path, retention: 50)
    let outcomes = await withTaskGroup(of: Bool.self) { group in
      for epoch in 1...20 {
        group.addTask { (try? store.save(sampleConfiguration(version(UInt64(epoch))))) != nil }
      }
      return await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    #expect(outcomes.contains(true))
    let (loaded, problems) = store.load()
    #expect(loaded.version == version(20))
    #expect(problems.isEmpty)
    #expect(store.versions().count == outcomes.filter { $0 }.count)
  }
}
