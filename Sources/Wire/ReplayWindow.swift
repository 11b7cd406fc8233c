/// Replay protection for one sender: accepts each (incarnation, sequence) pair at most once.
///
/// A sender numbers its datagrams with a sequence that grows by one per datagram, and picks a new,
/// higher incarnation (e.g. its boot time) each time it starts, so sequences may restart at zero.
/// Datagrams travel over up to two links and may be reordered, so the window tolerates any order
/// within the last `size` sequence numbers (the anti-replay bitmap of RFC 6479):
///
/// - a higher incarnation than the current one resets the window (the peer restarted);
/// - a lower incarnation is refused as `staleIncarnation` (a recording of the peer's past life);
/// - a sequence above the highest seen slides the window forward;
/// - a sequence within `size` below the highest is accepted once, then refused as `replay`;
/// - a sequence `size` or more below the highest is refused as `replay` (it cannot be told apart).
///
/// The window only moves on acceptance, so a refused datagram never changes what is accepted next.
/// Callers must run it only on authenticated datagrams, or a forger could move the window.
public struct ReplayWindow: Sendable {
  /// How many sequence numbers, counting down from the highest seen, are remembered.
  public static let size: UInt64 = 256

  /// The incarnation currently tracked, `nil` until the first datagram is accepted.
  public private(set) var incarnation: UInt64?
  /// The highest sequence accepted in `incarnation` (meaningless while `incarnation` is `nil`).
  public private(set) var highestSequence: UInt64 = 0
  /// One bit per sequence number, indexed by `sequence % size`, set when that sequence was
  /// accepted. Only the bits of sequences in `(highestSequence - size, highestSequence]` are live.
  private var seen: [UInt64] = Array(repeating: 0, count: Int(size / 64))

  /// An empty window that accepts anything first.
  public init() {}

  /// Accepts `(incarnation, sequence)` and records it, or says why not (`.replay` or
  /// `.staleIncarnation`) without changing the window.
  public mutating func accept(incarnation: UInt64, sequence: UInt64) -> Result<Void, WireError> {
    guard let current = self.incarnation, incarnation <= current else {
      reset(incarnation: incarnation, sequence: sequence)
      return .success(())
    }
    guard incarnation == current else { return .failure(.staleIncarnation) }
    if sequence > highestSequence {
      // Forget the slots the window slides over: they now stand for the new, unseen sequences.
      let advance = sequence - highestSequence
      if advance >= Self.size {
        clearAll()
      } else {
        var s = highestSequence &+ 1
        for _ in 0..<advance {
          clear(s)
          s &+= 1
        }
      }
      highestSequence = sequence
      mark(sequence)
      return .success(())
    }
    guard highestSequence - sequence < Self.size, !isMarked(sequence) else { return .failure(.replay) }
    mark(sequence)
    return .success(())
  }

  private mutating func reset(incarnation: UInt64, sequence: UInt64) {
    self.incarnation = incarnation
    highestSequence = sequence
    clearAll()
    mark(sequence)
  }

  private mutating func clearAll() {
    for i in seen.indices { seen[i] = 0 }
  }

  private static func slot(_ sequence: UInt64) -> (word: Int, bit: UInt64) {
    let index = sequence % size
    return (Int(index / 64), index % 64)
  }

  private func isMarked(_ sequence: UInt64) -> Bool {
    let (word, bit) = Self.slot(sequence)
    return seen[word] & (1 << bit) != 0
  }

  private mutating func mark(_ sequence: UInt64) {
    let (word, bit) = Self.slot(sequence)
    seen[word] |= 1 << bit
  }

  private mutating func clear(_ sequence: UInt64) {
    let (word, bit) = Self.slot(sequence)
    seen[word] &= ~(1 << bit)
  }
}
