import ClusterTypes
import Crypto

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The authenticated routing fields at the front of every datagram's plaintext.
///
/// They travel inside the AEAD, so once `DatagramCodec.open` returns a header, every field in it
/// was written by a holder of the cluster key. Encoded after the codec's cluster hash as
/// sender `u32`, destination `u32`, incarnation `u64`, sequence `u64`, link `u8`, big-endian.
public struct EnvelopeHeader: Sendable, Equatable {
  /// The node that sealed the datagram.
  public var sender: NodeId
  /// The node the datagram is for, or `NodeId(0)` for every node (multicast / broadcast).
  public var destination: NodeId
  /// The sender's incarnation: grows each time the sender's daemon starts. See `ReplayWindow`.
  public var incarnation: UInt64
  /// The sender's datagram sequence within its incarnation: grows by one per datagram sent.
  public var sequence: UInt64
  /// The link (ring) number the sender sent the datagram on.
  public var link: UInt8

  /// A header with every field given.
  public init(sender: NodeId, destination: NodeId, incarnation: UInt64, sequence: UInt64, link: UInt8) {
    self.sender = sender
    self.destination = destination
    self.incarnation = incarnation
    self.sequence = sequence
    self.link = link
  }

  /// Encoded size of the fields above (without the cluster hash).
  static let encodedSize = 4 + 4 + 8 + 8 + 1

  func encode(into writer: inout ByteWriter) {
    writer.nodeId(sender)
    writer.nodeId(destination)
    writer.u64(incarnation)
    writer.u64(sequence)
    writer.u8(link)
  }

  init(from reader: inout ByteReader) throws(WireError) {
    sender = try reader.nodeId()
    destination = try reader.nodeId()
    incarnation = try reader.u64()
    sequence = try reader.u64()
    link = try reader.u8()
  }
}

/// How many received datagrams were dropped, by reason; shown in status so that a wrong authkey, a
/// second cluster on the same network or an attack is visible instead of silent.
///
/// Counters only grow (wrapping at 2^64, which is never reached in practice). `DatagramCodec.open`
/// increments exactly one counter per refused datagram.
public struct DropCounters: Sendable, Equatable, Codable {
  /// The AEAD tag did not verify (wrong key, other cluster's key, tampering, random noise).
  public var authentication: UInt64
  /// Already-accepted or too-old (incarnation, sequence).
  public var replay: UInt64
  /// Too short, bad magic, or an authenticated plaintext whose header does not parse.
  public var malformed: UInt64
  /// Longer than `DatagramCodec.maxDatagramSize`.
  public var oversize: UInt64
  /// Right magic, unsupported protocol version.
  public var version: UInt64
  /// Authenticated, but the cluster-name hash differs.
  public var wrongCluster: UInt64
  /// Authenticated, but addressed to another node.
  public var notForMe: UInt64
  /// Authenticated, but from a sender incarnation older than one already seen.
  public var staleIncarnation: UInt64

  /// All counters at `0` unless given.
  public init(
    authentication: UInt64 = 0, replay: UInt64 = 0, malformed: UInt64 = 0, oversize: UInt64 = 0,
    version: UInt64 = 0, wrongCluster: UInt64 = 0, notForMe: UInt64 = 0, staleIncarnation: UInt64 = 0
  ) {
    self.authentication = authentication
    self.replay = replay
    self.malformed = malformed
    self.oversize = oversize
    self.version = version
    self.wrongCluster = wrongCluster
    self.notForMe = notForMe
    self.staleIncarnation = staleIncarnation
  }

  /// The sum of all counters.
  public var total: UInt64 {
    authentication &+ replay &+ malformed &+ oversize &+ version &+ wrongCluster &+ notForMe
      &+ staleIncarnation
  }

  /// Counts one datagram dropped for `reason`.
  mutating func record(_ reason: WireError) {
    switch reason {
    case .truncated, .malformed, .badMagic: malformed &+= 1
    case .tooLarge: oversize &+= 1
    case .badVersion: version &+= 1
    case .authenticationFailed: authentication &+= 1
    case .wrongCluster: wrongCluster &+= 1
    case .notForMe: notForMe &+= 1
    case .replay: replay &+= 1
    case .staleIncarnation: staleIncarnation &+= 1
    }
  }
}

/// Seals and opens the membership daemon's datagrams for one node: the secure envelope every
/// membership message travels in.
///
/// Layout: magic `"SWC1"` (4), version `u8` (= 1), nonce (12), ciphertext, tag (16), sealed with
/// ChaCha20-Poly1305; magic and version are the associated data. The plaintext is the cluster
/// hash `u32` (first 4 bytes of SHA-256 of the cluster name), the `EnvelopeHeader`, then the body.
///
/// The key is HKDF-SHA256 of the authkey bytes, salt `"swpcs/v1/" + cluster name`, info
/// `"swcorosync datagram key"`. Nonces are random (96 bits): with one key shared by the whole
/// cluster, no node needs to coordinate nonces with another, and the collision bound (about 2^48
/// datagrams per key) is far beyond a cluster's traffic.
///
/// Invariants of `open`: nothing but the size, magic and version is looked at before the tag has
/// verified; the replay windows only move for authenticated datagrams addressed to this node;
/// every refusal increments exactly one counter in `drops`; no input makes it trap.
public struct DatagramCodec: Sendable {
  /// The largest datagram sealed or accepted, in bytes (fits a UDP/IPv6 payload with room to spare).
  public static let maxDatagramSize = 65000
  /// The first four bytes of every datagram.
  public static let magic: [UInt8] = Array("SWC1".utf8)
  /// The protocol version this build seals and accepts.
  public static let version: UInt8 = 1

  static let nonceSize = 12
  static let tagSize = 16
  /// Magic and version: the cleartext prefix, also the AEAD's associated data.
  static let prefixSize = 5
  /// Cluster hash plus `EnvelopeHeader`.
  static let plaintextHeaderSize = 4 + EnvelopeHeader.encodedSize
  /// The shortest datagram that can authenticate (an empty plaintext).
  static let minimumSealedSize = prefixSize + nonceSize + tagSize
  /// Bytes a datagram adds around its body.
  public static let overhead = minimumSealedSize + plaintextHeaderSize
  /// The largest body `seal` accepts.
  public static let maxBodySize = maxDatagramSize - overhead

  /// The node this codec opens datagrams for.
  public let localNode: NodeId
  /// The derived ChaCha20-Poly1305 key.
  let key: SymmetricKey
  /// The first four bytes of SHA-256 of the cluster name, big-endian.
  let clusterHash: UInt32
  private var windows: [NodeId: ReplayWindow] = [:]
  /// Datagrams refused by `open`, by reason.
  public private(set) var drops = DropCounters()

  /// A codec for `localNode` in cluster `clusterName`, keyed from the authkey file's bytes.
  ///
  /// Throws `.malformed` unless the authkey is 32...4096 bytes long.
  public init(authKey: [UInt8], clusterName: String, localNode: NodeId) throws(WireError) {
    guard AuthKey.allowedByteCounts.contains(authKey.count) else {
      throw .malformed(
        "authkey is \(authKey.count) bytes, must be \(AuthKey.allowedByteCounts.lowerBound)"
          + "...\(AuthKey.allowedByteCounts.upperBound)")
    }
    let key = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: authKey),
      salt: Array("swpcs/v1/\(clusterName)".utf8),
      info: Array("swcorosync datagram key".utf8),
      outputByteCount: 32)
    self.init(key: key, clusterHash: Self.clusterHash(of: clusterName), localNode: localNode)
  }

  /// A codec with an already derived key and cluster hash (tests pair a key with a foreign hash).
  init(key: SymmetricKey, clusterHash: UInt32, localNode: NodeId) {
    self.key = key
    self.clusterHash = clusterHash
    self.localNode = localNode
  }

  /// The first four bytes of SHA-256 of the cluster name's UTF-8, big-endian.
  static func clusterHash(of clusterName: String) -> UInt32 {
    var hash: UInt32 = 0
    for byte in SHA256.hash(data: Array(clusterName.utf8)).prefix(4) {
      hash = hash << 8 | UInt32(byte)
    }
    return hash
  }

  /// Seals `body` behind `header` with a fresh random nonce.
  ///
  /// Throws `.tooLarge` when the datagram would exceed `maxDatagramSize` (the body exceeds
  /// `maxBodySize`). Sequence numbering is the caller's: each call must carry a new sequence.
  public func seal(body: [UInt8], header: EnvelopeHeader) throws(WireError) -> [UInt8] {
    var rng = SystemRandomNumberGenerator()
    return try seal(body: body, header: header, using: &rng)
  }

  /// `seal` with the nonce drawn from `rng`, so tests can produce exact bytes.
  func seal<R: RandomNumberGenerator>(
    body: [UInt8], header: EnvelopeHeader, using rng: inout R
  ) throws(WireError) -> [UInt8] {
    guard body.count <= Self.maxBodySize else { throw .tooLarge }
    var plaintext = ByteWriter(capacity: Self.plaintextHeaderSize + body.count)
    plaintext.u32(clusterHash)
    header.encode(into: &plaintext)
    plaintext.bytes(body)
    let sealed: ChaChaPoly.SealedBox
    do {
      let nonce = try ChaChaPoly.Nonce(data: AuthKey.randomBytes(Self.nonceSize, using: &rng))
      sealed = try ChaChaPoly.seal(plaintext.bytes, using: key, nonce: nonce, authenticating: Self.prefix)
    } catch {
      throw .malformed("sealing failed: \(error)")
    }
    var datagram: [UInt8] = []
    datagram.reserveCapacity(Self.prefixSize + sealed.combined.count)
    datagram.append(contentsOf: Self.prefix)
    datagram.append(contentsOf: sealed.combined)
    return datagram
  }

  /// Authenticates and decodes a received datagram: returns its header and body, or the reason
  /// it was dropped, which is also counted in `drops`.
  ///
  /// Checks, in order: size bound, magic, version, AEAD tag, plaintext header, cluster hash,
  /// destination (this node or 0), and the sender's replay window, which records the datagram
  /// only when all earlier checks passed. The body is a slice of the decrypted plaintext.
  public mutating func open(_ datagram: [UInt8]) -> Result<(EnvelopeHeader, ArraySlice<UInt8>), WireError> {
    let result = unseal(datagram)
    if case .failure(let reason) = result {
      drops.record(reason)
    }
    return result
  }

  /// Forgets everything the replay window of `sender` remembers, so its next datagram is accepted
  /// whatever its incarnation. Not normally used: only when a node is removed from the cluster.
  public mutating func forget(sender: NodeId) {
    windows[sender] = nil
  }

  private static let prefix: [UInt8] = magic + [version]

  private typealias Opening = Result<(EnvelopeHeader, ArraySlice<UInt8>), WireError>

  private mutating func unseal(_ datagram: [UInt8]) -> Opening {
    guard datagram.count <= Self.maxDatagramSize else { return .failure(.tooLarge) }
    guard datagram.count >= Self.prefixSize else { return .failure(.truncated) }
    guard datagram[0..<Self.magic.count].elementsEqual(Self.magic) else { return .failure(.badMagic) }
    let version = datagram[Self.magic.count]
    guard version == Self.version else { return .failure(.badVersion(version)) }
    guard datagram.count >= Self.minimumSealedSize else { return .failure(.truncated) }

    let plaintext: [UInt8]
    do {
      let sealed = try ChaChaPoly.SealedBox(combined: datagram[Self.prefixSize...])
      let opened = try ChaChaPoly.open(sealed, using: key, authenticating: datagram[0..<Self.prefixSize])
      plaintext = Array(opened)
    } catch {
      return .failure(.authenticationFailed)
    }

    // Authenticated from here on: written by a holder of the cluster key.
    var reader = ByteReader(plaintext)
    let hash: UInt32
    let header: EnvelopeHeader
    do {
      hash = try reader.u32()
      header = try EnvelopeHeader(from: &reader)
    } catch {
      return .failure(.malformed("envelope header: \(error)"))
    }
    guard hash == clusterHash else { return .failure(.wrongCluster) }
    guard header.destination == localNode || header.destination == NodeId(0) else {
      return .failure(.notForMe)
    }
    let verdict = windows[header.sender, default: ReplayWindow()]
      .accept(incarnation: header.incarnation, sequence: header.sequence)
    if case .failure(let reason) = verdict {
      return .failure(reason)
    }
    return .success((header, reader.rest()))
  }
}
