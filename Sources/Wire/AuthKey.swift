/// The cluster's shared secret, as stored in its authkey file (corosync's `/etc/corosync/authkey`).
///
/// The file holds raw random bytes, the same on every node. They are never used as a key directly:
/// `DatagramCodec` derives the datagram key from them with HKDF, salted with the cluster name, so
/// one authkey file reused by two clusters still gives each its own key.
public enum AuthKey {
  /// Accepted authkey sizes in bytes: at least 256 bits of secret, at most a small file.
  public static let allowedByteCounts = 32...4096

  /// Fresh random authkey bytes from the system's cryptographically secure generator.
  public static func generate(byteCount: Int = 256) -> [UInt8] {
    var rng = SystemRandomNumberGenerator()
    return randomBytes(max(0, byteCount), using: &rng)
  }

  /// `count` bytes drawn from `rng`, eight per call of `next()` (also the datagram nonces).
  static func randomBytes<R: RandomNumberGenerator>(_ count: Int, using rng: inout R) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count + 8)
    while out.count < count {
      let word: UInt64 = rng.next()
      withUnsafeBytes(of: word) { out.append(contentsOf: $0) }
    }
    out.removeLast(out.count - count)
    return out
  }
}
