import CProcessSpawn
import Foundation
import Glibc

/// One run of an agent executable: spawned without a shell in a process group of its own, its output
/// captured (bounded), killed as a group when it overruns its timeout.
///
/// Invariants: the child never inherits the executor's descriptors (everything above stderr is
/// closed) nor its signal dispositions or mask; stdin is `/dev/null` or `standardInput` (fence agents
/// read their parameters there); once the timeout passes the
/// whole process group gets SIGTERM and, after `killGrace`, SIGKILL, so `run()` returns within
/// `timeout + killGrace` (plus scheduling noise) whatever the agent does. A run is never abandoned
/// half-way: cancelling the calling task does not stop it (the agent decides when an action is done,
/// or the timeout does).
struct AgentProcess: Sendable {
  var executable: String
  var arguments: [String]
  /// `NAME=value` entries, the child's whole environment.
  var environment: [String]
  var workingDirectory: String = "/"
  var timeout: Duration
  var killGrace: Duration = .seconds(2)
  /// The last `outputLimit` bytes of each stream are kept.
  var outputLimit: Int = 4096
  /// Bytes the child reads on stdin, then end of file (at most `standardInputLimit`); nil: /dev/null.
  var standardInput: [UInt8]?
  static let standardInputLimit = 60_000

  /// How the child ended.
  enum Termination: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// The timeout expired; the group was signalled and reaped.
    case timedOut
  }

  struct Outcome: Sendable {
    var termination: Termination
    var stdout: CapturedOutput
    var stderr: CapturedOutput
    var duration: Duration
  }

  /// Why a child could not be started at all.
  enum SpawnError: Error, Equatable {
    case notFound(String)
    case permissionDenied(String)
    case busy(String)
    case failed(String)
  }

  func run() async throws(SpawnError) -> Outcome {
    var attempt = 0
    var spawned: SpawnedChild?
    while spawned == nil {
      do throws(SpawnError) {
        spawned = try spawn()
      } catch .busy(let message) {
        // ETXTBSY: someone holds the file open for writing (a package upgrade, or another thread's
        // child that inherited a descriptor for a moment). Transient by nature.
        attempt += 1
        // Up to about 2 s in all: on a loaded machine a forked child can take that long to exec.
        guard attempt < 25 else { throw .failed(message) }
        try? await Task.sleep(for: .milliseconds(min(10 * attempt, 100)))
      }
    }
    guard let child = spawned else { throw .failed("unreachable") }
    let limit = outputLimit
    let (timeout, grace) = (timeout, killGrace)
    return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
      Thread.detachNewThread {
        continuation.resume(returning: child.supervise(timeout: timeout, grace: grace, limit: limit))
      }
    }
  }

  private func spawn() throws(SpawnError) -> SpawnedChild {
    let started = ContinuousClock.now
    // The whole input fits in the pipe's buffer (64 KiB): written before the child starts.
    var input: [Int32]?
    if let bytes = standardInput {
      guard bytes.count <= Self.standardInputLimit else { throw .failed("standard input too large") }
      guard let fds = pipeAboveStandardStreams() else { throw .failed("pipe: \(errnoText())") }
      let written = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
      close(fds[1])
      guard written == bytes.count else {
        close(fds[0])
        throw .failed("cannot write the agent's standard input")
      }
      input = fds
    }
    defer { if let input { close(input[0]) } }
    guard let out = pipeAboveStandardStreams() else { throw .failed("pipe: \(errnoText())") }
    guard let err = pipeAboveStandardStreams() else {
      closeAll(out)
      throw .failed("pipe: \(errnoText())")
    }
    defer {
      close(out[1])
      close(err[1])
    }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let input {
      posix_spawn_file_actions_adddup2(&actions, input[0], 0)
    } else {
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    posix_spawn_file_actions_adddup2(&actions, out[1], 1)
    posix_spawn_file_actions_adddup2(&actions, err[1], 2)
    posix_spawn_file_actions_addclosefrom_np(&actions, 3)
    posix_spawn_file_actions_addchdir_np(&actions, workingDirectory)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(
      &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv = CStringArray([executable] + arguments)
    let envp = CStringArray(environment)
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attributes, argv.pointers, envp.pointers)
    switch rc {
    case 0: break
    case ENOENT, ENOTDIR:
      closeAll(out + err)
      throw .notFound("\(executable): \(String(cString: strerror(rc)))")
    case ETXTBSY:
      closeAll(out + err)
      throw .busy("\(executable): \(String(cString: strerror(rc)))")
    case EACCES, EPERM:
      closeAll(out + err)
      throw .permissionDenied("\(executable): \(String(cString: strerror(rc)))")
    default:
      closeAll(out + err)
      throw .failed("\(executable): \(String(cString: strerror(rc)))")
    }
    let pidfd = pidfd_open(pid, 0)
    if pidfd < 0 {
      // Unreachable on kernels >= 5.3; never leave a child behind.
      kill(-pid, SIGKILL)
      var status: Int32 = 0
      waitpid(pid, &status, 0)
      closeAll([out[0], err[0]])
      throw .failed("pidfd_open: \(errnoText())")
    }
    _ = fcntl(out[0], F_SETFL, O_NONBLOCK)
    _ = fcntl(err[0], F_SETFL, O_NONBLOCK)
    return SpawnedChild(pid: pid, pidfd: pidfd, stdout: out[0], stderr: err[0], started: started)
  }
}

/// The tail of one output stream: at most `limit` bytes, and whether anything was dropped.
struct CapturedOutput: Sendable, Equatable {
  private(set) var bytes: [UInt8] = []
  private(set) var truncated = false
  let limit: Int

  init(limit: Int) { self.limit = limit }

  mutating func append(_ chunk: UnsafeRawBufferPointer) {
    guard limit > 0 else {
      truncated = truncated || !chunk.isEmpty
      return
    }
    if chunk.count >= limit {
      bytes = Array(chunk.suffix(limit))
      truncated = true
      return
    }
    bytes.append(contentsOf: chunk)
    if bytes.count > limit {
      bytes.removeFirst(bytes.count - limit)
      truncated = true
    }
  }

  var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A started child and the descriptors the supervising thread owns (and closes).
private struct SpawnedChild: Sendable {
  let pid: pid_t
  let pidfd: Int32
  let stdout: Int32
  let stderr: Int32
  let started: ContinuousClock.Instant

  /// Blocks the calling (dedicated) thread until the child is reaped.
  func supervise(timeout: Duration, grace: Duration, limit: Int) -> AgentProcess.Outcome {
    var output = [CapturedOutput(limit: limit), CapturedOutput(limit: limit)]
    var fds = [
      pollfd(fd: stdout, events: Int16(POLLIN), revents: 0),
      pollfd(fd: stderr, events: Int16(POLLIN), revents: 0),
      pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
    ]
    let termAt = started + timeout
    let killAt = termAt + grace
    var signalled: Int32 = 0
    while true {
      let next = signalled == 0 ? termAt : signalled == SIGTERM ? killAt : ContinuousClock.now + .seconds(1)
      _ = poll(&fds, nfds_t(fds.count), milliseconds(until: next))
      for index in 0..<2 where fds[index].fd >= 0 && fds[index].revents != 0 {
        if drain(fds[index].fd, into: &output[index]) { fds[index].fd = -1 }
      }
      if fds[2].revents != 0 { break }
      let now = ContinuousClock.now
      if signalled == 0 && now >= termAt {
        kill(-pid, SIGTERM)
        signalled = SIGTERM
      } else if signalled == SIGTERM && now >= killAt {
        kill(-pid, SIGKILL)
        signalled = SIGKILL
      }
    }
    // The child is a zombie now, so its pid (and group id) cannot have been reused: after a timeout
    // finish off whatever is left of the group before reaping.
    if signalled != 0 { kill(-pid, SIGKILL) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    for index in 0..<2 where fds[index].fd >= 0 {
      // Whatever is already in the pipe; a background grandchild may hold it open, so no EOF wait.
      _ = drain(fds[index].fd, into: &output[index])
    }
    close(stdout)
    close(stderr)
    close(pidfd)
    let termination: AgentProcess.Termination
    if signalled != 0 {
      termination = .timedOut
    } else if status & 0x7f == 0 {
      termination = .exited((status >> 8) & 0xff)
    } else {
      termination = .signaled(status & 0x7f)
    }
    return AgentProcess.Outcome(
      termination: termination, stdout: output[0], stderr: output[1], duration: ContinuousClock.now - started)
  }

  /// Reads what is available; true at end of file (or on a read error).
  private func drain(_ fd: Int32, into output: inout CapturedOutput) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count > 0 {
        buffer.withUnsafeBytes { output.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
      } else if count == 0 {
        return true
      } else if errno == EINTR {
        continue
      } else {
        return errno != EAGAIN
      }
    }
  }

  private func milliseconds(until instant: ContinuousClock.Instant) -> Int32 {
    let remaining = instant - ContinuousClock.now
    if remaining <= .zero { return 0 }
    let (seconds, attoseconds) = remaining.components
    let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
    return Int32(clamping: ms)
  }
}

/// NUL-terminated `char *[]` for exec, owning its strings.
private final class CStringArray {
  let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
  private let count: Int

  init(_ strings: [String]) {
    count = strings.count
    pointers = .allocate(capacity: strings.count + 1)
    for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
    pointers[strings.count] = nil
  }

  deinit {
    for index in 0..<count { free(pointers[index]) }
    pointers.deallocate()
  }
}

/// A close-on-exec pipe whose descriptors are both above 2: in a daemon started with a closed stdout,
/// `pipe2` could hand out 1, and `dup2(1, 1)` would leave it close-on-exec in the child.
private func pipeAboveStandardStreams() -> [Int32]? {
  var fds: [Int32] = [-1, -1]
  guard pipe2(&fds, O_CLOEXEC) == 0 else { return nil }
  for index in 0..<2 where fds[index] <= 2 {
    let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, 3)
    close(fds[index])
    fds[index] = moved
  }
  if fds.contains(where: { $0 < 0 }) {
    closeAll(fds)
    return nil
  }
  return fds
}

private func closeAll(_ fds: [Int32]) {
  for fd in fds where fd >= 0 { close(fd) }
}

func errnoText() -> String { String(cString: strerror(errno)) }
