import ArgumentParser
import ClusterAdmin
import ClusterConfig
import Crypto
import FileSystem
import Foundation
import HostIdentity

#if canImport(Glibc)
  import Glibc
#endif

/// The admin port in use (`SWPCS_ADMIN_PORT` for tests and non-default sockets).
var adminPort: UInt16 {
  ProcessInfo.processInfo.environment["SWPCS_ADMIN_PORT"].flatMap { UInt16($0) } ?? AdminWire.defaultPort
}

/// The admin service's state file (join tokens issued, recent request nonces), 0600.
enum AdminStateFile {
  static var path: String { "\(ClusterFiles.stateDirectory)/admin.state" }

  static func load() -> AdminState {
    guard let data = FileManager.default.contents(atPath: path),
      let state = try? JSONDecoder().decode(AdminState.self, from: data)
    else { return AdminState() }
    return state
  }

  static func save(_ state: AdminState) throws {
    try FileManager.default.createDirectory(
      atPath: ClusterFiles.stateDirectory, withIntermediateDirectories: true)
    try AtomicFile.write(Array(try JSONEncoder().encode(state)), to: path, mode: 0o600)
  }

  /// Records a join token this node issued for `nodes`.
  static func issue(_ token: JoinTokenV2, nodes: [String], validity: TimeInterval = 3600) {
    var state = load()
    let now = Int64(Date().timeIntervalSince1970)
    state.prune(now: now)
    state.tokens.append(JoinTokenRecord(secret: token.secret, expires: now + Int64(validity), nodes: nodes))
    do { try save(state) } catch { fail("cannot record the join token in \(path): \(error)") }
  }
}

/// A UDP socket (IPv4 or IPv6) with a receive timeout.
struct DatagramSocket {
  let fd: Int32

  /// Resolves `host` (numeric or name) and `port` into a socket address.
  static func address(_ host: String, port: UInt16) -> (storage: sockaddr_storage, length: socklen_t)? {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return nil }
    defer { freeaddrinfo(result) }
    var storage = sockaddr_storage()
    withUnsafeMutableBytes(of: &storage) { raw in
      raw.copyMemory(
        from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
    }
    return (storage, first.pointee.ai_addrlen)
  }

  static func numericHost(_ storage: sockaddr_storage, _ length: socklen_t) -> String {
    var storage = storage
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    _ = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
      }
    }
    let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // swpcs-admin.socket listens dual-stack: IPv4 senders appear as ::ffff:a.b.c.d.
    return text.hasPrefix("::ffff:") && text.contains(".") ? String(text.dropFirst(7)) : text
  }

  func send(_ bytes: [UInt8], to address: (storage: sockaddr_storage, length: socklen_t)) {
    var storage = address.storage
    _ = withUnsafePointer(to: &storage) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, address.length) }
      }
    }
  }

  /// The next datagram within `timeoutMs` (nil on timeout), with its sender.
  func receive(timeoutMs: Int32) -> (bytes: [UInt8], from: (storage: sockaddr_storage, length: socklen_t))? {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, timeoutMs) > 0 else { return nil }
    var buffer = [UInt8](repeating: 0, count: AdminWire.maxDatagram + 1)
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let count = withUnsafeMutablePointer(to: &storage) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
        buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, $0.count, 0, sa, &length) }
      }
    }
    guard count >= 0 else { return ([], (storage, length)) }
    return (Array(buffer.prefix(count)), (storage, length))
  }
}

/// Sends admin requests to other nodes and waits for the sealed answer (retransmitting the same
/// request, which the receiver recognises by its nonce).
enum AdminClient {
  static func send(
    _ request: AdminRequest, kind: AdminWire.Kind, key: SymmetricKeyBox, tokenId: [UInt8]? = nil,
    addresses: [String], port: UInt16, timeout: Double
  ) -> Result<AdminReply, AdminFailure> {
    let datagram: [UInt8]
    do { datagram = try AdminWire.seal(request, kind: kind, tokenId: tokenId, key: key.key) } catch {
      return .failure(AdminFailure("cannot seal the request: \(error)"))
    }
    let targets = addresses.compactMap { DatagramSocket.address($0, port: port) }
    guard let family = targets.first.map({ Int32($0.storage.ss_family) }) else {
      return .failure(AdminFailure("cannot resolve \(addresses.joined(separator: ", "))"))
    }
    let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else {
      return .failure(AdminFailure("cannot open a UDP socket (\(String(cString: strerror(errno))))"))
    }
    defer { close(fd) }
    let sock = DatagramSocket(fd: fd)
    let deadline = Date().addingTimeInterval(timeout)
    var attempt = 0
    while Date() < deadline {
      let target = targets[attempt % targets.count]
      if Int32(target.storage.ss_family) == family { sock.send(datagram, to: target) }
      attempt += 1
      let waitUntil = min(deadline, Date().addingTimeInterval(attempt < 4 ? 0.5 : 2))
      while Date() < waitUntil {
        let left = Int32(max(1, waitUntil.timeIntervalSinceNow * 1000))
        guard let (bytes, _) = sock.receive(timeoutMs: left) else { break }
        if let reply = AdminWire.openReply(bytes, key: key.key, nonce: request.nonce) {
          return .success(reply)
        }
      }
    }
    return .failure(
      AdminFailure(
        "no answer from \(addresses.joined(separator: ", ")) port \(port) in \(Int(timeout)) s "
          + "(is swpcs-admin.socket active there? systemctl enable --now swpcs-admin.socket)"))
  }
}

struct AdminFailure: Error {
  let message: String
  init(_ message: String) { self.message = message }
}

/// A `SymmetricKey` passed around without importing Crypto everywhere.
struct SymmetricKeyBox { let key: SymmetricKey }

extension Swpcs.Cluster {
  /// `swpcs-admin.service`: answers joins and remote start/stop/enable/disable/conf requests, one
  /// datagram at a time; started by `swpcs-admin.socket`, exits after a minute without requests.
  struct AdminServe: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "admin-serve",
      abstract: "Serve join and remote start/stop requests (run by swpcs-admin.service).",
      shouldDisplay: false)
    @Option(help: "Listen on ADDR:PORT instead of the socket systemd passes.") var listen: String?
    @Option(help: "Exit after this many seconds without a request (0: never).") var idleExit = 60
    @Option(help: "This node's name (default: from cluster.conf, the host name and local addresses).")
    var node: String?

    func run() throws {
      let fd = try socketFromSystemd() ?? bind()
      let sock = DatagramSocket(fd: fd)
      var replies: [String: [UInt8]] = [:]
      var order: [String] = []
      while true {
        guard let (datagram, from) = sock.receive(timeoutMs: idleExit > 0 ? Int32(idleExit * 1000) : -1)
        else {
          if idleExit > 0 { return }
          continue
        }
        guard let out = handle(datagram, from: DatagramSocket.numericHost(from.storage, from.length), replies)
        else { continue }
        sock.send(out.bytes, to: from)
        if let nonce = out.nonce {
          replies[nonce] = out.bytes
          order.append(nonce)
          if order.count > 256 { replies[order.removeFirst()] = nil }
        }
      }
    }

    func socketFromSystemd() throws -> Int32? {
      let env = ProcessInfo.processInfo.environment
      guard listen == nil, let count = env["LISTEN_FDS"].flatMap(Int.init), count >= 1,
        env["LISTEN_PID"].flatMap(Int32.init) == getpid()
      else { return nil }
      return 3
    }

    func bind() throws -> Int32 {
      let text = listen ?? "0.0.0.0:\(adminPort)"
      guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
        let address = DatagramSocket.address(
          String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port)
      else { throw ValidationError("--listen: give ADDR:PORT") }
      let fd = socket(
        Int32(address.storage.ss_family), Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      var storage = address.storage
      let bound = withUnsafePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, address.length) }
      }
      guard fd >= 0, bound == 0 else {
        fail("cannot listen on \(text) (\(String(cString: strerror(errno))))")
      }
      return fd
    }

    /// The answer to one datagram (nil: none) and the nonce to remember it under.
    func handle(_ datagram: [UInt8], from: String, _ replies: [String: [UInt8]]) -> (
      bytes: [UInt8], nonce: String?
    )? {
      let configuration = localClusterConfiguration()
      let authkey = FileManager.default.contents(atPath: ClusterFiles.key).map { [UInt8]($0) }
      let local = node ?? configuration.flatMap { localNode(of: $0)?.name } ?? ""
      var core = AdminServerCore(state: AdminStateFile.load(), localNode: local, authkey: authkey)
      let now = Int64(Date().timeIntervalSince1970)
      let before = core.state
      let decision = core.receive(
        datagram, now: now, from: from,
        nodeAddresses: Dictionary((configuration?.nodes ?? []).map { ($0.name, $0.addresses) }) { a, _ in a })
      if core.state != before {
        do { try AdminStateFile.save(core.state) } catch {
          log("cannot save \(AdminStateFile.path): \(error)")
          return nil
        }
      }
      guard let key = core.key(for: datagram) else { return nil }
      let reply: AdminReply
      switch decision {
      case .drop(let reason):
        log("dropped a datagram from \(from): \(reason)")
        return nil
      case .duplicate(let nonce):
        return replies[nonce].map { ($0, nil) }
      case .reply(let refusal):
        log("refused a request from \(from): \(refusal.message)")
        reply = refusal
      case .join(let request):
        guard let configuration, let authkey else {
          reply = AdminReply(
            nonce: request.nonce, ok: false, message: "this node has no cluster configuration")
          break
        }
        log("node \(request.node) (\(from)) joined with a join token")
        reply = AdminReply(
          nonce: request.nonce, ok: true, message: "joined as \(request.node)",
          clusterConf: configuration.rendered(), authkey: Data(authkey).base64EncodedString())
      case .execute(let request):
        reply = execute(request, from: from)
      }
      guard let bytes = try? AdminWire.sealReply(reply, key: key) else { return nil }
      return (bytes, reply.nonce)
    }

    func execute(_ request: AdminRequest, from: String) -> AdminReply {
      func answer(_ ok: Bool, _ message: String) -> AdminReply {
        log("\(request.op) from \(from): \(ok ? "done" : "failed"): \(message)")
        return AdminReply(nonce: request.nonce, ok: ok, message: message)
      }
      switch request.op {
      case "ping":
        return answer(true, "node \(request.node) answers")
      case "conf":
        let text = request.conf ?? ""
        let parsed: ClusterConfiguration
        do { parsed = try ClusterConfiguration.parse(text) } catch {
          return answer(false, "the configuration is invalid: \(error.description)")
        }
        if let current = localClusterConfiguration(), current.clusterName != parsed.clusterName {
          return answer(
            false, "this node is in cluster '\(current.clusterName)', not '\(parsed.clusterName)'")
        }
        do { try AtomicFile.write(Array(text.utf8), to: ClusterFiles.conf, mode: 0o644) } catch {
          return answer(false, "cannot write \(ClusterFiles.conf): \(error)")
        }
        let reload = ServiceControl.run(["try-reload-or-restart"] + ServiceControl.units)
        guard reload.status == 0 else {
          return answer(false, "wrote \(ClusterFiles.conf) but \(reload.output)")
        }
        return answer(true, "wrote \(ClusterFiles.conf) and reloaded the running daemons")
      default:
        let units = request.units ?? []
        let result = ServiceControl.run([request.op] + units)
        return answer(
          result.status == 0,
          result.status == 0 ? "systemctl \(request.op) \(units.joined(separator: " "))" : result.output)
      }
    }

    func log(_ line: String) { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
  }
}
