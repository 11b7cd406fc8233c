import Crypto
import Foundation

/// A join token the node issued: who may use it, until when, and who already did.
public struct JoinTokenRecord: Codable, Equatable, Sendable {
  /// Hex of `AdminWire.tokenId(secret:)`.
  public var id: String
  /// Base64 of the secret.
  public var secret: String
  /// Unix seconds.
  public var expires: Int64
  /// The nodes that may join with it.
  public var nodes: [String]
  /// Node → nonce of the request that used the token for it (one use per node; a retransmission of
  /// the same request is answered again).
  public var joined: [String: String]

  public init(secret: [UInt8], expires: Int64, nodes: [String]) {
    self.id = AdminWire.tokenId(secret: secret).map { String(format: "%02x", $0) }.joined()
    self.secret = Data(secret).base64EncodedString()
    self.expires = expires
    self.nodes = nodes
    self.joined = [:]
  }

  public var exhausted: Bool { nodes.allSatisfy { joined[$0] != nil } }
}

/// What `swpcs-admin` keeps between requests (`/var/lib/swpcs/admin.state`, 0600): the join tokens
/// this node issued and the admin requests it saw recently (replays inside the clock window).
public struct AdminState: Codable, Equatable, Sendable {
  public var tokens: [JoinTokenRecord] = []
  public var seen: [String: Int64] = [:]

  public init() {}

  /// Forgets expired or used-up tokens and nonces older than the clock window.
  public mutating func prune(now: Int64) {
    tokens.removeAll { $0.expires < now || $0.exhausted }
    seen = seen.filter { $0.value >= now - 2 * AdminWire.clockWindow }
  }
}

/// What to do with one datagram.
public enum AdminDecision: Equatable, Sendable {
  /// Not ours, unauthenticated or malformed: no answer (an attacker learns nothing).
  case drop(String)
  /// A retransmission of a request already carried out: send the reply sent before, if kept.
  case duplicate(nonce: String)
  /// Answer at once (an authenticated request that is refused).
  case reply(AdminReply)
  /// A valid join: answer with this node's cluster.conf and authkey.
  case join(AdminRequest)
  /// A valid start/stop/enable/disable/conf/ping for this node: carry it out, then answer.
  case execute(AdminRequest)
}

/// The pure decisions of the admin service: which key opens a datagram, whether the request is fresh,
/// meant for this node, allowed; join tokens used once per node. The shell does the socket, the files
/// and systemctl.
public struct AdminServerCore: Sendable {
  public var state: AdminState
  public let localNode: String
  let adminKey: SymmetricKey?

  public static let ops: Set<String> = ["start", "stop", "enable", "disable", "conf", "ping"]
  public static let units: Set<String> = ["swcorosync", "swpacemaker"]

  public init(state: AdminState, localNode: String, authkey: [UInt8]?) {
    self.state = state
    self.localNode = localNode
    self.adminKey = authkey.map { AdminWire.adminKey(authkey: $0) }
  }

  /// The key a reply to this datagram is sealed with (the request's).
  public func key(for datagram: [UInt8]) -> SymmetricKey? {
    guard let header = AdminWire.header(datagram) else { return nil }
    switch header.kind {
    case .admin: return adminKey
    case .join:
      let id = (header.tokenId ?? []).map { String(format: "%02x", $0) }.joined()
      guard let record = state.tokens.first(where: { $0.id == id }),
        let secret = Data(base64Encoded: record.secret)
      else { return nil }
      return AdminWire.joinKey(secret: [UInt8](secret))
    case .reply: return nil
    }
  }

  /// `from`: the sender's address; `nodeAddresses`: cluster.conf's nodes and their addresses (a join
  /// that does not name its node is for the node whose address it came from).
  public mutating func receive(
    _ datagram: [UInt8], now: Int64, from: String? = nil, nodeAddresses: [String: [String]] = [:]
  ) -> AdminDecision {
    guard let header = AdminWire.header(datagram) else { return .drop("not an admin request") }
    guard let key = key(for: datagram) else {
      return .drop(header.kind == .join ? "unknown join token" : "no authkey on this node")
    }
    guard let request = AdminWire.open(datagram, key: key) else { return .drop("authentication failed") }
    let skew = request.time - now
    if abs(skew) > AdminWire.clockWindow {
      return .reply(
        AdminReply(
          nonce: request.nonce, ok: false,
          message:
            "the clocks of the two nodes differ by \(abs(skew)) s (at most \(AdminWire.clockWindow) s allowed)"
        ))
    }
    guard header.kind == .join else { return admin(request, now: now) }
    var named = request
    if named.node.isEmpty, let from {
      let candidates = nodeAddresses.filter { $0.value.contains(from) }.map(\.key)
      guard candidates.count == 1 else {
        return .reply(
          AdminReply(
            nonce: request.nonce, ok: false,
            message:
              "cannot tell which node joins from its address \(from); run the join again with --node NAME"))
      }
      named.node = candidates[0]
    }
    return join(named, tokenId: header.tokenId ?? [], now: now)
  }

  mutating func join(_ request: AdminRequest, tokenId: [UInt8], now: Int64) -> AdminDecision {
    let id = tokenId.map { String(format: "%02x", $0) }.joined()
    guard request.op == "join", let index = state.tokens.firstIndex(where: { $0.id == id }) else {
      return .drop("not a join")
    }
    let record = state.tokens[index]
    func refuse(_ message: String) -> AdminDecision {
      .reply(AdminReply(nonce: request.nonce, ok: false, message: message))
    }
    guard record.expires >= now else {
      return refuse(
        "the join token expired; make a new one with: swpcs cluster node add NODE (on a cluster node)")
    }
    guard record.nodes.contains(request.node) else {
      return refuse(
        "node '\(request.node)' may not join with this token (it is for: \(record.nodes.joined(separator: ", ")))"
      )
    }
    if let used = record.joined[request.node] {
      guard used == request.nonce else {
        return refuse(
          "the join token was already used for \(request.node); make a new one with: swpcs cluster node add")
      }
      return .join(request)
    }
    state.tokens[index].joined[request.node] = request.nonce
    return .join(request)
  }

  mutating func admin(_ request: AdminRequest, now: Int64) -> AdminDecision {
    if state.seen[request.nonce] != nil { return .duplicate(nonce: request.nonce) }
    state.seen[request.nonce] = request.time
    func refuse(_ message: String) -> AdminDecision {
      .reply(AdminReply(nonce: request.nonce, ok: false, message: message))
    }
    guard request.node == localNode else {
      return refuse(
        "this is node '\(localNode)', not '\(request.node)' (check the addresses in cluster.conf)")
    }
    guard Self.ops.contains(request.op) else { return refuse("unknown request '\(request.op)'") }
    if ["start", "stop", "enable", "disable"].contains(request.op) {
      guard let units = request.units, !units.isEmpty, units.allSatisfy(Self.units.contains) else {
        return refuse("\(request.op): units must be among \(Self.units.sorted().joined(separator: ", "))")
      }
    }
    if request.op == "conf", request.conf == nil { return refuse("conf: no configuration given") }
    return .execute(request)
  }
}
