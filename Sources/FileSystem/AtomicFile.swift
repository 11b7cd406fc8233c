#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why a file operation failed, as one line that names the file, what was being done and the
/// system's reason: `/var/lib/swpcs/membership.state.tmp.812: fsync failed (No space left on device)`.
public struct FileSystemError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The step that failed; its raw value is the words used in the message.
  public enum Operation: String, Sendable, Equatable {
    case create = "cannot create"
    case write = "write failed"
    case sync = "fsync failed"
    case rename = "rename failed"
    case openDirectory = "cannot open directory"
    case syncDirectory = "directory fsync failed"
  }

  public var path: String
  public var operation: Operation
  /// The `errno` the system call left.
  public var code: Int32

  public init(path: String, operation: Operation, code: Int32) {
    self.path = path
    self.operation = operation
    self.code = code
  }

  public var description: String { "\(path): \(operation.rawValue) (\(String(cString: strerror(code))))" }
}

/// The one way this project replaces a file: write a temporary file beside it, fsync it, rename it
/// over the old one, fsync the directory. A crash at any point leaves either the old or the new
/// content under `path`, never a mix; at worst a stray `<path>.tmp.<pid>` stays behind.
///
/// One writer per path at a time: two writers in the same process would share a temporary name.
public enum AtomicFile {
  /// What sits between the final path and the writer's process id in a temporary file's name, so
  /// owners of a directory can recognise (and remove) what a killed writer left behind.
  public static let temporaryMarker = ".tmp."

  /// The temporary file `write(_:to:mode:)` uses for `path` in this process.
  public static func temporaryPath(for path: String) -> String { "\(path)\(temporaryMarker)\(getpid())" }

  public static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(FileSystemError) {
    let temporary = temporaryPath(for: path)
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw FileSystemError(path: temporary, operation: .create, code: errno) }
    func fail(_ operation: FileSystemError.Operation, _ failedPath: String) -> FileSystemError {
      let error = FileSystemError(path: failedPath, operation: operation, code: errno)
      close(fd)
      unlink(temporary)
      return error
    }
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        throw fail(.write, temporary)
      }
      offset += written
    }
    fchmod(fd, mode)
    guard fsync(fd) == 0 else { throw fail(.sync, temporary) }
    close(fd)
    guard rename(temporary, path) == 0 else {
      let error = FileSystemError(path: path, operation: .rename, code: errno)
      unlink(temporary)
      throw error
    }
    try syncDirectory(containing: path)
  }

  /// Makes the directory entries of `path`'s directory durable: after a rename, an unlink or a
  /// mkdir there, a crash could otherwise bring the old entry back.
  public static func syncDirectory(containing path: String) throws(FileSystemError) {
    try syncDirectory(directoryName(of: path))
  }

  /// Makes the entries of `directory` itself durable.
  public static func syncDirectory(_ directory: String) throws(FileSystemError) {
    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw FileSystemError(path: directory, operation: .openDirectory, code: errno) }
    defer { close(fd) }
    guard fsync(fd) == 0 else {
      throw FileSystemError(path: directory, operation: .syncDirectory, code: errno)
    }
  }

  /// `/a/b/c` → `/a/b`, `/c` → `/`, `c` → `.`.
  static func directoryName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let directory = path[..<slash]
    return directory.isEmpty ? "/" : String(directory)
  }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
  #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
  #else
    Darwin.write(fd, buffer, count)
  #endif
}
