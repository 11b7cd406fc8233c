import FileSystem
import ResourceModel

/// The resource manager's configuration on disk: every saved version is its own file,
/// `cib-<admin_epoch>.<epoch>.<num_updates>.json`, written atomically (`AtomicFile`) and sealed
/// with a SHA-256, and the highest version whose file is valid is the configuration.
///
/// Invariants:
/// - A file, once renamed into place, is never modified — only replaced whole (atomically) by a copy
///   of the same numbers accepted in a later view (`ConfigVersion.acceptedIn`: two partitions made
///   the same version, the later one wins); a crash leaves at most a stray `….json.tmp.<pid>`, which
///   the next writer removes.
/// - `load()` never fails: a corrupt, truncated, foreign or unreadable file is skipped (and
///   reported), the next older valid one is used. With no valid file it returns the empty
///   configuration at version 0.0.0, which every peer's copy outranks.
/// - `save` stores only versions newer than the newest valid one (compared with the version inside
///   its file, view included) unless forced, and pruning never
///   removes the newest valid version, so the configuration is never lost to the store.
/// - Writers (`save`, `prune`) hold an exclusive `flock` on `cib.lock` in the directory, across
///   processes and threads; readers take no lock.
///
/// Files are mode 0600 and the directory 0700: instance attributes can hold fencing passwords.
public struct ConfigStore: Sendable {
  public static let defaultDirectory = "/var/lib/swpcs/cib"
  public static let defaultRetention = 10

  public let directory: String
  /// How many version files `save` keeps (older ones are pruned after each save); at least 1.
  public let retention: Int

  public init(directory: String = ConfigStore.defaultDirectory, retention: Int = ConfigStore.defaultRetention)
  {
    self.directory = directory
    self.retention = max(1, retention)
  }

  /// The bytes of `config` as stored and as sent to peers: header line, then canonical JSON.
  public static func encode(_ config: ResourceConfiguration) throws(ConfigFormatError) -> [UInt8] {
    try ConfigFormat.encode(config)
  }

  /// The configuration in `bytes` (from a file or a peer), after checking the header, the length
  /// and the checksum.
  public static func decode(_ bytes: [UInt8]) throws(ConfigFormatError) -> ResourceConfiguration {
    try ConfigFormat.decode(bytes)
  }

  public static func fileName(for version: ConfigVersion) -> String { "cib-\(version).json" }

  public func path(for version: ConfigVersion) -> String { "\(directory)/\(Self.fileName(for: version))" }

  /// The newest valid configuration, and every file passed over on the way to it. An empty
  /// configuration (version 0.0.0) if nothing valid is stored: with no problems that is a new node.
  public func load() -> (ResourceConfiguration, [StoreProblem]) {
    let listing: Listing
    do {
      guard let found = try list() else { return (ResourceConfiguration(), []) }
      listing = found
    } catch {
      return (ResourceConfiguration(), [StoreProblem(path: directory, reason: .unreadable(error.text))])
    }
    var problems = listing.unrecognized.map {
      StoreProblem(path: "\(directory)/\($0)", reason: .unrecognizedName)
    }
    for version in listing.newestFirst {
      switch read(version) {
      case .valid(let config): return (config, problems)
      case .skipped(let problem): problems.append(problem)
      }
    }
    return (ResourceConfiguration(), problems)
  }

  /// Stores `config` as the newest version. Refuses (`.staleVersion`) a version not newer than
  /// the newest valid stored one unless `force`, which also removes every stored file above
  /// `config.version` so that it becomes the one `load()` returns. Then prunes to `retention`.
  public func save(_ config: ResourceConfiguration, force: Bool = false) throws(ConfigStoreError) {
    let target = path(for: config.version)
    let bytes: [UInt8]
    do {
      bytes = try ConfigFormat.encode(config)
    } catch {
      throw .unencodable(path: target, error)
    }
    try makeDirectory()
    try whileLocked { () throws(ConfigStoreError) in
      let listing = try listForUpdate()
      removeTemporaries(listing)
      // Compared with the stored file's own version, view included: a copy of the same numbers
      // accepted in a later view replaces the file of that name (`ConfigVersion.acceptedIn`).
      if !force, let stored = newestValidContained(listing), config.version <= stored {
        throw .staleVersion(offered: config.version, stored: stored, file: path(for: stored))
      }
      do throws(FileSystemError) {
        try AtomicFile.write(bytes, to: target, mode: 0o600)
      } catch {
        throw .fileSystem(error)
      }
      if force {
        // Lowest first: a crash part-way leaves the highest old version winning, as before the call.
        try remove(listing.newestFirst.filter { $0 > config.version.numbers }.reversed())
      }
      // The new version is durable and, written just now, the newest valid one; a failed
      // clean-up is retried by the next save or prune.
      _ = try? pruneWhileLocked(keep: retention, newestValid: config.version)
    }
  }

  /// The versions whose files are valid (those `load()` could return), oldest first. Reads and
  /// checks every file.
  public func versions() -> [ConfigVersion] {
    guard let listing = try? list() else { return [] }
    return listing.newestFirst.reversed().filter { read($0).isValid }
  }

  /// Keeps the `keep` newest version files (at least 1) and always the newest valid version, so
  /// the one `load()` returns survives even when newer files are damaged; removes older version
  /// files and what killed writers left behind. Returns the removed paths.
  @discardableResult
  public func prune(keep: Int) throws(ConfigStoreError) -> [String] {
    do {
      if try Posix.names(in: directory) == nil { return [] }
    } catch {
      throw .unreadableDirectory(path: directory, reason: error.text)
    }
    return try whileLocked { () throws(ConfigStoreError) in
      let listing = try listForUpdate()
      removeTemporaries(listing)
      return try pruneWhileLocked(keep: max(1, keep), newestValid: newestValid(listing))
    }
  }

  // MARK: - Internals

  struct Listing {
    /// Version files, newest first.
    var newestFirst: [ConfigVersion] = []
    /// `cib-*.json` names that do not parse as a version.
    var unrecognized: [String] = []
    /// `cib-*.json.tmp.*`: what a writer killed mid-write left behind.
    var temporaries: [String] = []
  }

  static func version(fromFileName name: String) -> ConfigVersion? {
    guard name.hasPrefix("cib-"), name.hasSuffix(".json") else { return nil }
    let numbers = name.dropFirst(4).dropLast(5).split(separator: ".", omittingEmptySubsequences: false)
    guard numbers.count == 3, let admin = UInt64(numbers[0]), let epoch = UInt64(numbers[1]),
      let updates = UInt64(numbers[2])
    else { return nil }
    let version = ConfigVersion(adminEpoch: admin, epoch: epoch, numUpdates: updates)
    // Only the canonical spelling: `cib-01.2.3.json` would be a second file for the same version.
    return fileName(for: version) == name ? version : nil
  }

  /// nil if the directory does not exist.
  private func list() throws(Posix.Failure) -> Listing? {
    guard let names = try Posix.names(in: directory) else { return nil }
    var listing = Listing()
    for name in names where name.hasPrefix("cib-") {
      if let version = Self.version(fromFileName: name) {
        listing.newestFirst.append(version)
      } else if name.hasSuffix(".json") {
        listing.unrecognized.append(name)
      } else if name.contains(".json\(AtomicFile.temporaryMarker)") {
        listing.temporaries.append(name)
      }
    }
    listing.newestFirst.sort(by: >)
    listing.unrecognized.sort()
    return listing
  }

  private func listForUpdate() throws(ConfigStoreError) -> Listing {
    do {
      return try list() ?? Listing()
    } catch {
      throw .unreadableDirectory(path: directory, reason: error.text)
    }
  }

  enum ReadOutcome {
    case valid(ResourceConfiguration)
    case skipped(StoreProblem)
    var isValid: Bool {
      if case .valid = self { true } else { false }
    }
  }

  private func read(_ version: ConfigVersion) -> ReadOutcome {
    let file = path(for: version)
    let bytes: [UInt8]
    do {
      bytes = try Posix.readAll(file)
    } catch {
      return .skipped(StoreProblem(path: file, reason: .unreadable(error.text)))
    }
    let config: ResourceConfiguration
    do {
      config = try ConfigFormat.decode(bytes)
    } catch {
      return .skipped(StoreProblem(path: file, reason: .invalid(error)))
    }
    guard config.version.numbers == version else {
      return .skipped(
        StoreProblem(path: file, reason: .versionMismatch(named: version, contained: config.version)))
    }
    return .valid(config)
  }

  private func newestValid(_ listing: Listing) -> ConfigVersion? {
    listing.newestFirst.first { read($0).isValid }
  }

  /// The version inside the newest valid file (with the view that accepted it).
  private func newestValidContained(_ listing: Listing) -> ConfigVersion? {
    for version in listing.newestFirst {
      if case .valid(let config) = read(version) { return config.version }
    }
    return nil
  }

  /// Removes every version file older than both the `keep` newest files and `newestValid`; with
  /// no valid version at all, nothing (the damaged files are all there is to recover from).
  private func pruneWhileLocked(keep: Int, newestValid: ConfigVersion?) throws(ConfigStoreError) -> [String] {
    let listing = try listForUpdate()
    guard let newestValid = newestValid?.numbers, let oldestKept = listing.newestFirst.prefix(keep).last
    else {
      return []
    }
    let doomed = listing.newestFirst.filter { $0 < min(oldestKept, newestValid) }
    try remove(doomed)
    return doomed.map(path(for:))
  }

  /// Removes the files of `versions` in the given order, then makes the removal durable.
  private func remove(_ versions: [ConfigVersion]) throws(ConfigStoreError) {
    guard !versions.isEmpty else { return }
    for version in versions {
      let file = path(for: version)
      do {
        try Posix.remove(file)
      } catch {
        throw .cannotRemove(path: file, reason: error.text)
      }
    }
    do {
      try AtomicFile.syncDirectory(directory)
    } catch {
      throw .fileSystem(error)
    }
  }

  /// Best effort: a leftover that cannot be removed now is retried by the next writer.
  private func removeTemporaries(_ listing: Listing) {
    for name in listing.temporaries { try? Posix.remove("\(directory)/\(name)") }
  }

  /// Creates the directory and any missing parents (0700), each made durable in its parent.
  private func makeDirectory() throws(ConfigStoreError) {
    var prefix = directory.hasPrefix("/") ? "" : "."
    for component in directory.split(separator: "/") {
      let parent = prefix.isEmpty ? "/" : prefix
      prefix += "/\(component)"
      let created: Bool
      do {
        created = try Posix.makeDirectory(prefix, mode: 0o700)
      } catch {
        throw .cannotCreateDirectory(path: prefix, reason: error.text)
      }
      guard created else { continue }
      do {
        try AtomicFile.syncDirectory(parent)
      } catch {
        throw .fileSystem(error)
      }
    }
  }

  private func whileLocked<T>(_ body: () throws(ConfigStoreError) -> T) throws(ConfigStoreError) -> T {
    let lockPath = "\(directory)/cib.lock"
    let fd: Int32
    do {
      fd = try Posix.lockExclusively(lockPath)
    } catch {
      throw .cannotLock(path: lockPath, reason: error.text)
    }
    defer { Posix.unlock(fd) }
    return try body()
  }
}
