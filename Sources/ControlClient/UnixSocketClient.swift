import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A blocking newline-delimited JSON client for the daemons' Unix sockets.
///
/// The CLI makes one or two requests per run, so plain POSIX sockets keep it fast to start
/// (no event loop threads) and easy to reason about.
public final class UnixSocketClient {
  public enum ClientError: Error, CustomStringConvertible {
    case notRunning(path: String, reason: String)
    case permissionDenied(path: String)
    case io(String)
    case closed
    case malformed(String)
    public var description: String {
      switch self {
      case .notRunning(let path, let reason): "cannot connect to \(path): \(reason)"
      case .permissionDenied(let path):
        "permission denied on \(path): run as root or as a member of group haclient"
      case .io(let text): text
      case .closed: "the daemon closed the connection"
      case .malformed(let text): "unreadable answer from the daemon: \(text)"
      }
    }
  }

  let fd: Int32
  var buffer: [UInt8] = []

  public init(path: String, timeout: Duration = .seconds(10)) throws(ClientError) {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw .io("socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      close(fd)
      throw .io("socket path too long: \(path)")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
      raw[bytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    if result != 0 {
      let code = errno
      close(fd)
      if code == EACCES || code == EPERM { throw .permissionDenied(path: path) }
      throw .notRunning(path: path, reason: String(cString: strerror(code)))
    }
    let micros = max(timeout.nanosecondsValue / 1000, 1000)
    var tv = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    self.fd = fd
  }

  deinit { close(fd) }

  /// Sends one JSON request and reads one JSON line back.
  public func request<Request: Encodable, Response: Decodable>(_ request: Request, as: Response.Type)
    throws(ClientError)
    -> Response
  {
    try send(request)
    return try readLine(as: Response.self)
  }

  public func send<Request: Encodable>(_ request: Request) throws(ClientError) {
    guard var data = try? JSONEncoder().encode(request) else { throw .malformed("cannot encode request") }
    data.append(0x0A)
    var offset = 0
    let bytes = [UInt8](data)
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw .io("send: \(String(cString: strerror(errno)))")
      }
      offset += n
    }
  }

  /// Reads the next JSON line (blocking up to the timeout).
  public func readLine<Response: Decodable>(as: Response.Type) throws(ClientError) -> Response {
    while true {
      if let newline = buffer.firstIndex(of: 0x0A) {
        let line = Array(buffer[..<newline])
        buffer.removeSubrange(...newline)
        do {
          return try JSONDecoder().decode(Response.self, from: Data(line))
        } catch {
          throw .malformed(String(decoding: line.prefix(200), as: UTF8.self))
        }
      }
      var chunk = [UInt8](repeating: 0, count: 65536)
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n == 0 { throw .closed }
      if n < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw .io("timed out waiting for the daemon") }
        throw .io("recv: \(String(cString: strerror(errno)))")
      }
      buffer.append(contentsOf: chunk[..<n])
    }
  }
}

extension Duration {
  fileprivate var nanosecondsValue: Int64 {
    let (s, a) = components
    return s * 1_000_000_000 + a / 1_000_000_000
  }
}
