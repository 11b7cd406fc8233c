import ClusterConfig
import ClusterTypes

#if canImport(Glibc)
  import Glibc
#endif

/// Which node of cluster.conf this machine is (shared by swcorosync and swpcs).
public enum LocalNode {
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
  }

  /// `--node` wins; else the node named like this host (full or short host name); else the one node
  /// all of whose addresses are configured on local interfaces.
  public static func identify(_ config: ClusterConfiguration, requested: String?)
    throws(LocalNode.Failure)
    -> NodeEntry
  {
    let known = config.nodes.map(\.name).joined(separator: ", ")
    if let requested {
      guard let node = config.node(named: requested) else {
        throw LocalNode.Failure("node \(requested) is not in the cluster; known nodes: \(known)")
      }
      return node
    }
    let host = hostName()
    let short = String(host.split(separator: ".").first ?? "")
    if let node = config.node(named: host) ?? config.node(named: short) { return node }
    let local = localAddresses()
    let matches = config.nodes.filter { node in node.addresses.allSatisfy { local.contains(normalize($0)) } }
    if matches.count == 1 { return matches[0] }
    throw LocalNode.Failure(
      "cannot tell which node this is: host name '\(host)' is not a node name and \(matches.count) nodes match local addresses; known nodes: \(known) (use --node NAME)"
    )
  }

  public static func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  static func normalize(_ address: String) -> String { address.lowercased() }

  public static func localAddresses() -> Set<String> {
    var result = Set<String>()
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return result }
    defer { freeifaddrs(list) }
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
      if let addr = entry.pointee.ifa_addr {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let family = Int32(addr.pointee.sa_family)
        let length =
          family == AF_INET
          ? socklen_t(MemoryLayout<sockaddr_in>.size) : socklen_t(MemoryLayout<sockaddr_in6>.size)
        if family == AF_INET || family == AF_INET6,
          getnameinfo(addr, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
        {
          let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
          result.insert(normalize(String(text.split(separator: "%").first ?? "")))
        }
      }
      cursor = entry.pointee.ifa_next
    }
    return result
  }
}
