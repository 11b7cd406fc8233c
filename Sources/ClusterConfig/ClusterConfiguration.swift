import ClusterTypes
import Quorum

/// The contents of `/etc/swpcs/cluster.conf`: who is in the cluster, how to reach them, how fast to
/// decide that a node is gone, and the votequorum options. Always valid once constructed through
/// `ClusterConfiguration.parse(_:)`: every invariant below is checked there.
public struct ClusterConfiguration: Sendable, Equatable {
  /// `[cluster] name` — 1–64 characters of `[A-Za-z0-9_.-]`.
  public var clusterName: String
  /// `[cluster] port` — UDP port used on every link (default 5405).
  public var port: UInt16
  /// `[cluster] failure_timeout` — silence after which a peer is declared failed (default 1000 ms,
  /// 300 ms ... 60 s).
  public var failureTimeout: Duration
  /// `[cluster] heartbeat_interval` — period of heartbeats on every link (default failure_timeout / 5;
  /// at most failure_timeout / 3).
  public var heartbeatInterval: Duration
  /// `[cluster] debug` — log per-packet detail (default false).
  public var debug: Bool
  /// `[cluster] node_lost_hook` — absolute path of an executable run with `NODE_NAME NODE_ID` as
  /// arguments whenever a member leaves a view uncleanly (optional).
  public var nodeLostHook: String?
  /// `[quorum] ...`
  public var quorum: QuorumOptions
  /// `[node NAME]` sections in file order; ids and names unique.
  public var nodes: [NodeEntry]
  /// `[metrics] listen` — where swpacemakerd serves `GET /metrics` over HTTP (off when nil).
  public var metricsListen: MetricsListen?

  public init(
    clusterName: String, port: UInt16 = 5405, failureTimeout: Duration = .milliseconds(1000),
    heartbeatInterval: Duration? = nil, debug: Bool = false, nodeLostHook: String? = nil,
    quorum: QuorumOptions = QuorumOptions(), nodes: [NodeEntry], metricsListen: MetricsListen? = nil
  ) {
    self.metricsListen = metricsListen
    self.clusterName = clusterName
    self.port = port
    self.failureTimeout = failureTimeout
    self.heartbeatInterval = heartbeatInterval ?? failureTimeout / 5
    self.debug = debug
    self.nodeLostHook = nodeLostHook
    self.quorum = quorum
    self.nodes = nodes
  }

  public func node(named name: String) -> NodeEntry? { nodes.first { $0.name == name } }
  public func node(id: NodeId) -> NodeEntry? { nodes.first { $0.id == id } }
}

/// `[metrics] listen = ADDRESS:PORT` (`[IPV6]:PORT` for IPv6): an IP literal and a TCP port.
public struct MetricsListen: Sendable, Equatable, CustomStringConvertible {
  /// IPv4 or IPv6 literal, without brackets.
  public var host: String
  public var port: UInt16
  public init(host: String, port: UInt16) {
    self.host = host
    self.port = port
  }
  /// The configuration form: `127.0.0.1:9664`, `[::1]:9664`.
  public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One `[node NAME]` section.
public struct NodeEntry: Sendable, Equatable {
  /// The section's NAME (usually the host name).
  public var name: String
  /// `id` — 1 ... 65535, unique.
  public var id: NodeId
  /// `addr` — one per link, in link order (link 0 first); 1 ... 8 addresses, IPv4 or IPv6 literals.
  public var addresses: [String]
  /// `votes` — default 1, 0 ... 255.
  public var votes: Int

  public init(name: String, id: NodeId, addresses: [String], votes: Int = 1) {
    self.name = name
    self.id = id
    self.addresses = addresses
    self.votes = votes
  }
}
