import Testing

@testable import Wire

/// SplitMix64: a tiny seeded generator, so every randomized test replays identically.
private struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

private func verdict(_ window: inout ReplayWindow, _ incarnation: UInt64, _ sequence: UInt64) -> WireError? {
  switch window.accept(incarnation: incarnation, sequence: sequence) {
  case .success: nil
  case .failure(let reason): reason
  }
}

@Suite("ReplayWindow")
struct ReplayWindowTests {
  @Test func acceptsEachSequenceOnce() {
    var w = ReplayWindow()
    #expect(verdict(&w, 1, 5) == nil)
    #expect(verdict(&w, 1, 5) == .replay)
    #expect(verdict(&w, 1, 6) == nil)
    #expect(verdict(&w, 1, 6) == .replay)
    #expect(verdict(&w, 1, 5) == .replay)
    #expect(w.incarnation == 1)
    #expect(w.highestSequence == 6)
  }

  @Test func firstDatagramMayCarryAnySequence() {
    var w = ReplayWindow()
    #expect(verdict(&w, 0, 0) == nil)
    var v = ReplayWindow()
    #expect(verdict(&v, 7, .max) == nil)
    #expect(verdict(&v, 7, .max) == .replay)
    #expect(verdict(&v, 7, .max - 1) == nil)
    #expect(verdict(&v, 7, .max - 255) == nil)
    #expect(verdict(&v, 7, .max - 256) == .replay)
  }

  @Test func reorderingWithinTheWindowIsAcceptedOnceEach() {
    var w = ReplayWindow()
    var rng = SplitMix64(seed: 1)
    let order = Array(UInt64(0)..<256).shuffled(using: &rng)
    for s in order { #expect(verdict(&w, 1, s) == nil) }
    for s in order { #expect(verdict(&w, 1, s) == .replay) }
  }

  @Test func windowEdgeIs256() {
    var w = ReplayWindow()
    #expect(verdict(&w, 1, 255) == nil)
    #expect(verdict(&w, 1, 0) == nil, "255 - 0 < 256: inside the window")
    var v = ReplayWindow()
    #expect(verdict(&v, 1, 256) == nil)
    #expect(verdict(&v, 1, 0) == .replay, "256 - 0 = 256: older than the window")
    #expect(verdict(&v, 1, 1) == nil)
  }

  @Test func slidingForgetsOnlyWhatLeavesTheWindow() {
    var w = ReplayWindow()
    for s in UInt64(0)..<256 { #expect(verdict(&w, 1, s) == nil) }
    for s in UInt64(256)..<1024 {
      #expect(verdict(&w, 1, s) == nil)
      // Everything still inside the window is remembered, everything older is refused.
      #expect(verdict(&w, 1, s - 1) == .replay)
      #expect(verdict(&w, 1, s - 255) == .replay)
      #expect(verdict(&w, 1, s - 256) == .replay)
    }
  }

  @Test func bigJumpClearsTheWholeWindow() {
    var w = ReplayWindow()
    for s in UInt64(0)..<10 { #expect(verdict(&w, 1, s) == nil) }
    #expect(verdict(&w, 1, 1000) == nil)
    // Slots of 0..<10 are reused by 768..<778 and must read as unseen.
    for s in UInt64(768)..<778 { #expect(verdict(&w, 1, s) == nil) }
    #expect(verdict(&w, 1, 745) == nil)
    #expect(verdict(&w, 1, 744) == .replay)
  }

  @Test func higherIncarnationResetsTheWindow() {
    var w = ReplayWindow()
    #expect(verdict(&w, 1, 500) == nil)
    #expect(verdict(&w, 2, 0) == nil)
    #expect(w.incarnation == 2)
    #expect(w.highestSequence == 0)
    #expect(verdict(&w, 2, 0) == .replay)
    #expect(verdict(&w, 2, 1) == nil)
  }

  @Test func lowerIncarnationIsStaleAndChangesNothing() {
    var w = ReplayWindow()
    #expect(verdict(&w, 5, 10) == nil)
    #expect(verdict(&w, 4, 11) == .staleIncarnation)
    #expect(verdict(&w, 0, 0) == .staleIncarnation)
    #expect(w.incarnation == 5)
    #expect(w.highestSequence == 10)
    #expect(verdict(&w, 5, 11) == nil)
    #expect(verdict(&w, 5, 10) == .replay)
  }

  /// Compares against a plain set-based model on a long random walk of sequences, with jumps,
  /// duplicates and reordering.
  @Test(arguments: [UInt64(1), 2, 3, 4])
  func matchesASetModel(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    var w = ReplayWindow()
    var seen = Set<UInt64>()
    var highest: UInt64?
    for _ in 0..<20000 {
      let base = highest ?? 1000
      let sequence: UInt64
      switch rng.next() % 100 {
      case 0: sequence = base &+ UInt64.random(in: 256...2000, using: &rng)
      case 1..<60: sequence = base &+ UInt64.random(in: 0...3, using: &rng)
      default: sequence = base - min(base, UInt64.random(in: 0...300, using: &rng))
      }
      let expected: WireError?
      if let h = highest, sequence <= h {
        expected = h - sequence >= 256 || seen.contains(sequence) ? .replay : nil
      } else {
        expected = nil
      }
      #expect(
        verdict(&w, 1, sequence) == expected, "sequence \(sequence), highest \(String(describing: highest))")
      if expected == nil {
        seen.insert(sequence)
        highest = max(highest ?? sequence, sequence)
      }
    }
  }
}
