/// Why a datagram or an encoded value was refused.
///
/// Every decoding path in the project reports failures with this type instead of trapping: input
/// from the network is hostile until authenticated, and even authenticated input may come from a
/// buggy or newer peer. `DatagramCodec.open` maps each case to a counter in `DropCounters`.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The input ended before the value being read was complete.
  case truncated
  /// The input is complete but not a valid encoding (the payload says what was wrong).
  case malformed(String)
  /// The datagram, or the datagram a body would seal into, exceeds `DatagramCodec.maxDatagramSize`.
  case tooLarge
  /// The datagram does not start with the protocol magic `"SWC1"`.
  case badMagic
  /// The datagram carries a protocol version this build does not speak.
  case badVersion(UInt8)
  /// The AEAD tag did not verify: wrong key, another cluster, or tampering.
  case authenticationFailed
  /// The datagram authenticated but names another cluster (hash of the cluster name differs).
  case wrongCluster
  /// The datagram is addressed to another node.
  case notForMe
  /// This (incarnation, sequence) was already accepted, or is older than the replay window.
  case replay
  /// The sender's incarnation is older than one already seen from it (a restarted peer's past).
  case staleIncarnation

  public var description: String {
    switch self {
    case .truncated: "truncated"
    case .malformed(let why): "malformed: \(why)"
    case .tooLarge: "too large"
    case .badMagic: "bad magic"
    case .badVersion(let v): "unsupported version \(v)"
    case .authenticationFailed: "authentication failed"
    case .wrongCluster: "wrong cluster"
    case .notForMe: "not for this node"
    case .replay: "replay"
    case .staleIncarnation: "stale incarnation"
    }
  }
}
