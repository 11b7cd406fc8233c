#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The few system calls the store makes besides `AtomicFile`, each failing with the `strerror` text.
enum Posix {
  struct Failure: Error {
    var code: Int32
    var text: String { String(cString: strerror(code)) }
    static var current: Failure { Failure(code: errno) }
  }

  /// The names in `directory` (without `.` and `..`); nil if the directory does not exist.
  static func names(in directory: String) throws(Failure) -> [String]? {
    guard let handle = opendir(directory) else {
      if errno == ENOENT { return nil }
      throw .current
    }
    defer { closedir(handle) }
    var names: [String] = []
    while true {
      errno = 0
      guard let entry = readdir(handle) else {
        if errno != 0 { throw .current }
        return names
      }
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
  }

  static func readAll(_ path: String) throws(Failure) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .current }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw .current }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw Failure(code: EISDIR) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(info.st_size))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw .current
      }
      if count == 0 { return bytes }
      bytes += chunk[..<count]
    }
  }

  /// Creates `path` (one level) with `mode`; true if it was created, false if it existed.
  static func makeDirectory(_ path: String, mode: mode_t) throws(Failure) -> Bool {
    if mkdir(path, mode) == 0 { return true }
    if errno == EEXIST { return false }
    throw .current
  }

  static func remove(_ path: String) throws(Failure) {
    guard unlink(path) == 0 || errno == ENOENT else { throw .current }
  }

  /// Blocks until this process holds an exclusive `flock` on `path` (created if missing); the
  /// lock goes with the descriptor, so a killed holder releases it.
  static func lockExclusively(_ path: String) throws(Failure) -> Int32 {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw .current }
    while flock(fd, LOCK_EX) != 0 {
      if errno == EINTR { continue }
      let failure = Failure.current
      close(fd)
      throw failure
    }
    return fd
  }

  static func unlock(_ fd: Int32) { close(fd) }
}
