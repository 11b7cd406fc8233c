import Crypto
import Foundation

/// The node-administration protocol: what `swpcs` on one node asks `swpcs-admin` on another (join the
/// cluster, start/stop/enable/disable its daemons, take a new cluster.conf). One UDP datagram each way.
///
/// Datagram: `"SWA1"`, a kind byte, for `join` the 8-byte token id, then a ChaCha20-Poly1305 box
/// (nonce ‖ ciphertext ‖ tag) whose additional data is everything before it. Nothing is parsed before
/// the tag verifies (the kind and token id only choose the key). Admin requests are sealed under a key
/// derived from the cluster's authkey; joins under one derived from the join token's secret, which the
/// joining node has and nobody else. A reply is sealed under the request's key, its additional data
/// binding it to the request's nonce.
public enum AdminWire {
  public static let magic: [UInt8] = Array("SWA1".utf8)
  /// Default UDP port of `swpcs-admin.socket` (corosync's is 5405; ours sits below it).
  public static let defaultPort: UInt16 = 5403
  public static let maxDatagram = 60_000
  /// How far a request's clock may be from the receiver's (seconds).
  public static let clockWindow: Int64 = 120

  public enum Kind: UInt8, Sendable {
    case join = 1
    case admin = 2
    case reply = 3
  }

  public static func adminKey(authkey: [UInt8]) -> SymmetricKey {
    HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: authkey), salt: Array("swpcs/admin/v1".utf8), info: [],
      outputByteCount: 32)
  }

  public static func joinKey(secret: [UInt8]) -> SymmetricKey {
    HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: secret), salt: Array("swpcs/join/v2".utf8), info: [],
      outputByteCount: 32)
  }

  /// What the server looks the token up by: not the secret, so the id in clear reveals nothing.
  public static func tokenId(secret: [UInt8]) -> [UInt8] {
    Array(SHA256.hash(data: Array("swpcs/join-id".utf8) + secret).prefix(8))
  }

  public static func seal(_ request: AdminRequest, kind: Kind, tokenId: [UInt8]? = nil, key: SymmetricKey)
    throws -> [UInt8]
  {
    var header = magic + [kind.rawValue]
    if kind == .join { header += tokenId ?? [] }
    let box = try ChaChaPoly.seal(JSONEncoder().encode(request), using: key, authenticating: header)
    return header + Array(box.combined)
  }

  /// The header of a request datagram: which key opens it. Rejects anything else.
  public static func header(_ datagram: [UInt8]) -> (kind: Kind, tokenId: [UInt8]?, headerLength: Int)? {
    guard datagram.count > 5 + 28, datagram.count <= maxDatagram, Array(datagram.prefix(4)) == magic,
      let kind = Kind(rawValue: datagram[4]), kind != .reply
    else { return nil }
    if kind == .join {
      guard datagram.count > 13 + 28 else { return nil }
      return (kind, Array(datagram[5..<13]), 13)
    }
    return (kind, nil, 5)
  }

  public static func open(_ datagram: [UInt8], key: SymmetricKey) -> AdminRequest? {
    guard let h = header(datagram),
      let box = try? ChaChaPoly.SealedBox(combined: datagram[h.headerLength...]),
      let plain = try? ChaChaPoly.open(box, using: key, authenticating: datagram.prefix(h.headerLength))
    else { return nil }
    return try? JSONDecoder().decode(AdminRequest.self, from: plain)
  }

  public static func sealReply(_ reply: AdminReply, key: SymmetricKey) throws -> [UInt8] {
    let header = magic + [Kind.reply.rawValue]
    let box = try ChaChaPoly.seal(
      JSONEncoder().encode(reply), using: key, authenticating: header + Array(reply.nonce.utf8))
    return header + Array(box.combined)
  }

  /// Opens the reply to the request with `nonce`; nil for anything else (another request's reply,
  /// a forgery, garbage).
  public static func openReply(_ datagram: [UInt8], key: SymmetricKey, nonce: String) -> AdminReply? {
    let header = magic + [Kind.reply.rawValue]
    guard datagram.count > 5 + 28, datagram.count <= maxDatagram, Array(datagram.prefix(5)) == header,
      let box = try? ChaChaPoly.SealedBox(combined: datagram[5...]),
      let plain = try? ChaChaPoly.open(box, using: key, authenticating: header + Array(nonce.utf8)),
      let reply = try? JSONDecoder().decode(AdminReply.self, from: plain), reply.nonce == nonce
    else { return nil }
    return reply
  }

  public static func freshNonce() -> String {
    var rng = SystemRandomNumberGenerator()
    return Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString()
  }
}

/// One request. `op`: `join`, `start`, `stop`, `enable`, `disable`, `conf`, `ping`.
public struct AdminRequest: Codable, Equatable, Sendable {
  public var nonce: String
  /// Unix seconds at the sender.
  public var time: Int64
  public var op: String
  /// `join`: the joining node; otherwise the node the request is meant for (checked by the receiver).
  public var node: String
  /// `start`/`stop`/`enable`/`disable`: which units (`swcorosync`, `swpacemaker`).
  public var units: [String]?
  /// `conf`: the new cluster.conf.
  public var conf: String?

  public init(
    nonce: String = AdminWire.freshNonce(), time: Int64, op: String, node: String, units: [String]? = nil,
    conf: String? = nil
  ) {
    self.nonce = nonce
    self.time = time
    self.op = op
    self.node = node
    self.units = units
    self.conf = conf
  }
}

public struct AdminReply: Codable, Equatable, Sendable {
  public var nonce: String
  public var ok: Bool
  public var message: String
  /// `join`: the cluster's configuration and key (base64).
  public var clusterConf: String?
  public var authkey: String?

  public init(nonce: String, ok: Bool, message: String, clusterConf: String? = nil, authkey: String? = nil) {
    self.nonce = nonce
    self.ok = ok
    self.message = message
    self.clusterConf = clusterConf
    self.authkey = authkey
  }
}

/// `swpcs-join2.…`: where to ask (the issuing node's addresses and admin port) and the secret the
/// join is sealed with. It does not carry the cluster key itself: the issuing node hands that out, once
/// per node the token names, to whoever proves they hold the secret.
public struct JoinTokenV2: Equatable, Sendable {
  public static let prefix = "swpcs-join2."
  public var secret: [UInt8]
  public var port: UInt16
  public var addresses: [String]

  public init(secret: [UInt8], port: UInt16, addresses: [String]) {
    self.secret = secret
    self.port = port
    self.addresses = addresses
  }

  public static func fresh(port: UInt16, addresses: [String]) -> JoinTokenV2 {
    var rng = SystemRandomNumberGenerator()
    return JoinTokenV2(
      secret: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }, port: port, addresses: addresses)
  }

  /// base64url(secret ‖ port ‖ addresses ‖ first 4 bytes of SHA-256 of those): the check catches a
  /// token damaged in copying before anything is sent.
  public var encoded: String {
    let body = secret + [UInt8(port >> 8), UInt8(port & 0xff)] + Array(addresses.joined(separator: ",").utf8)
    return Self.prefix + Base64URL.encode(body + Self.check(body))
  }

  static func check(_ body: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: body).prefix(4)) }

  public enum DecodeError: Error, Equatable { case notAToken, damaged }

  public static func decode(_ text: String) throws(DecodeError) -> JoinTokenV2 {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard trimmed.hasPrefix(prefix) else { throw .notAToken }
    guard let full = Base64URL.decode(String(trimmed.dropFirst(prefix.count))), full.count > 39,
      check(Array(full.dropLast(4))) == Array(full.suffix(4))
    else { throw .damaged }
    let raw = Array(full.dropLast(4))
    guard let list = String(bytes: raw[34...], encoding: .utf8) else { throw .damaged }
    let addresses = list.split(separator: ",").map(String.init)
    let port = UInt16(raw[32]) << 8 | UInt16(raw[33])
    guard port != 0, !addresses.isEmpty, addresses.allSatisfy({ $0.count <= 255 && !$0.contains(" ") }) else {
      throw .damaged
    }
    return JoinTokenV2(secret: Array(raw.prefix(32)), port: port, addresses: addresses)
  }
}

public enum Base64URL {
  public static func encode(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
  }

  public static func decode(_ text: String) -> [UInt8]? {
    guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
      return nil
    }
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    return Data(base64Encoded: s).map { [UInt8]($0) }
  }
}
