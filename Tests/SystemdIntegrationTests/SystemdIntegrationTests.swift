import Glibc
import Logging
import Synchronization
import SystemdIntegration
import Testing

@Suite struct JournalLogHandlerTests {
  /// Collects what the handler writes.
  final class Sink: Sendable {
    let lines = Mutex<[String]>([])
    var writer: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
  }

  @Test func journalLineCarriesPriorityPrefixAndSortedMetadata() {
    let sink = Sink()
    var logger = Logger(label: "test") {
      JournalLogHandler(label: $0, level: .debug, style: .journal, writer: sink.writer)
    }
    logger[metadataKey: "node"] = "n1"
    logger.info("view 1.5 installed: members n1 n2 n3 (quorate)")
    logger.error("bind failed", metadata: ["address": "10.0.0.1:5405", "reason": "in use"])
    logger.warning("two\nlines")
    logger.notice("n")
    logger.debug("d")
    logger.trace("dropped: below level")
    logger.critical("c")
    #expect(
      sink.lines.withLock { $0 } == [
        "<6>view 1.5 installed: members n1 n2 n3 (quorate) node=n1\n",
        "<3>bind failed address=10.0.0.1:5405 node=n1 reason=\"in use\"\n",
        "<4>two\\nlines node=n1\n",
        "<5>n node=n1\n",
        "<7>d node=n1\n",
        "<2>c node=n1\n",
      ])
  }

  @Test func terminalLineNamesTheLevel() {
    let line = JournalLogHandler.line(
      level: .warning, message: "token lost", metadata: ["empty": "", "q": "a\"b"], style: .terminal)
    #expect(line == "WARNING: token lost empty=\"\" q=\"a\\\"b\"\n")
  }
}

@Suite struct ClientAccessTests {
  @Test func rootIsAllowed() {
    #expect(ClientAccess.isAllowed(PeerCredentials(pid: 1, uid: 0, gid: 0), group: "no-such-group-xyz"))
  }

  @Test func userOutsideTheGroupIsRefused() {
    // nobody (65534) is not in group root; an unknown group admits nobody but root.
    #expect(!ClientAccess.isAllowed(PeerCredentials(pid: 1, uid: 65_534, gid: 65_534), group: "root"))
    #expect(!ClientAccess.isAllowed(PeerCredentials(pid: 1, uid: 65_534, gid: 0), group: "no-such-group-xyz"))
  }

  @Test func userWhosePrimaryGroupMatchesIsAllowed() throws {
    // Debian's base passwd: user daemon, uid 1, primary group daemon (1). The peer's own gid differs,
    // so this goes through the user database.
    let daemonGid = try #require(ClientAccess.groupId(named: "daemon"))
    #expect(ClientAccess.isAllowed(PeerCredentials(pid: 1, uid: 1, gid: 65_534), group: "daemon"))
    #expect(ClientAccess.isAllowed(PeerCredentials(pid: 1, uid: 65_534, gid: daemonGid), group: "daemon"))
  }

  @Test func groupLookup() {
    #expect(ClientAccess.groupId(named: "root") == 0)
    #expect(ClientAccess.groupId(named: "no-such-group-xyz") == nil)
  }

  @Test func peerCredentialsOfSocketPair() throws {
    var fds: [Int32] = [-1, -1]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    defer {
      close(fds[0])
      close(fds[1])
    }
    let credentials = try #require(ClientAccess.credentials(ofSocket: fds[0]))
    #expect(credentials == PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()))
    #expect(ClientAccess.credentials(ofSocket: -1) == nil)
  }
}

/// Sets NOTIFY_SOCKET/WATCHDOG_* in the test process for the duration of the test (restored after); other
/// tests that notify meanwhile would only add messages, which the subsequence check tolerates.
@Suite(.serialized) struct ServiceNotifierTests {
  @Test func sendsNotificationsAndReadsWatchdog() throws {
    for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { unsetenv(name) }
    #expect(ServiceNotifier.watchdogInterval() == nil)
    ServiceNotifier.ready(status: "no socket: nothing happens")

    let path = "/tmp/swpcs-notify-test-\(getpid()).sock"
    unlink(path)
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    try #require(fd >= 0)
    defer {
      close(fd)
      unlink(path)
    }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
    }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    try #require(bound == 0)

    setenv("NOTIFY_SOCKET", path, 1)
    setenv("WATCHDOG_USEC", "10000000", 1)
    setenv("WATCHDOG_PID", "\(getpid())", 1)
    defer {
      unsetenv("NOTIFY_SOCKET")
      unsetenv("WATCHDOG_USEC")
      unsetenv("WATCHDOG_PID")
    }
    #expect(ServiceNotifier.watchdogInterval() == .seconds(10))

    ServiceNotifier.ready(status: "view 1.1\ninstalled")
    ServiceNotifier.watchdog()
    ServiceNotifier.stopping()
    var received: [String] = []
    while received.count < 64 {
      var buffer = [UInt8](repeating: 0, count: 512)
      let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
      guard n > 0 else { break }
      received.append(String(decoding: buffer.prefix(n), as: UTF8.self))
    }
    let expected = ["READY=1\nSTATUS=view 1.1 installed", "WATCHDOG=1", "STOPPING=1"]
    #expect(received.filter { expected.contains($0) } == expected)
  }
}
