import ClusterTypes
import Crypto
import Foundation
import Testing

@testable import Wire

/// SplitMix64: a tiny seeded generator, so nonces and fuzz inputs replay identically.
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

private let testKey: [UInt8] = (0..<64).map { UInt8($0) }

private func codec(
  _ node: UInt32, cluster: String = "alpha", key: [UInt8] = testKey
) throws -> DatagramCodec {
  try DatagramCodec(authKey: key, clusterName: cluster, localNode: NodeId(node))
}

private func header(
  from sender: UInt32 = 1, to destination: UInt32 = 2, incarnation: UInt64 = 1, sequence: UInt64 = 0,
  link: UInt8 = 0
) -> EnvelopeHeader {
  EnvelopeHeader(
    sender: NodeId(sender), destination: NodeId(destination), incarnation: incarnation, sequence: sequence,
    link: link)
}

/// The refusal reason, or `nil` when the datagram was accepted.
private func reason<T>(_ result: Result<T, WireError>) -> WireError? {
  switch result {
  case .success: nil
  case .failure(let reason): reason
  }
}

@Suite("DatagramCodec")
struct DatagramCodecTests {
  @Test func roundTrip() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    let h = header(from: 1, to: 2, incarnation: 1_700_000_000, sequence: 42, link: 1)
    let body: [UInt8] = Array("hello, ring".utf8)
    let datagram = try sender.seal(body: body, header: h)

    #expect(Array(datagram.prefix(5)) == Array("SWC1".utf8) + [1])
    #expect(datagram.count == DatagramCodec.overhead + body.count)
    #expect(DatagramCodec.overhead == 4 + 1 + 12 + 16 + 29)

    let (openedHeader, openedBody) = try receiver.open(datagram).get()
    #expect(openedHeader == h)
    #expect(Array(openedBody) == body)
    #expect(receiver.drops == DropCounters())
    #expect(receiver.drops.total == 0)
  }

  @Test func emptyBodyAndBroadcastDestination() throws {
    let sender = try codec(1)
    var receiver = try codec(9)
    let h = header(from: 1, to: 0, sequence: 0)
    let (openedHeader, openedBody) = try receiver.open(try sender.seal(body: [], header: h)).get()
    #expect(openedHeader == h)
    #expect(openedBody.isEmpty)
  }

  /// The layout and key derivation of the issue, rebuilt here by hand rather than through the codec.
  @Test func layoutAndKeyDerivationFollowTheSpecification() throws {
    let key = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: testKey), salt: Array("swpcs/v1/alpha".utf8),
      info: Array("swcorosync datagram key".utf8), outputByteCount: 32)
    let aad: [UInt8] = [0x53, 0x57, 0x43, 0x31, 0x01]
    let hash = Array(SHA256.hash(data: Array("alpha".utf8)).prefix(4))
    let plaintext: [UInt8] =
      hash
      + [0, 0, 0, 1]  // sender
      + [0, 0, 0, 2]  // destination
      + [0, 0, 0, 0, 0, 0, 0, 9]  // incarnation
      + [0, 0, 0, 0, 0, 0, 1, 0]  // sequence
      + [1]  // link
      + [0xCA, 0xFE]  // body
    let expectedHeader = header(from: 1, to: 2, incarnation: 9, sequence: 256, link: 1)

    // Hand-made datagram → codec.
    let nonce: [UInt8] = Array(1...12)
    let box = try ChaChaPoly.seal(
      plaintext, using: key, nonce: try ChaChaPoly.Nonce(data: nonce), authenticating: aad)
    let handMade = aad + nonce + Array(box.ciphertext) + Array(box.tag)
    var receiver = try codec(2)
    let (h, body) = try receiver.open(handMade).get()
    #expect(h == expectedHeader)
    #expect(Array(body) == [0xCA, 0xFE])

    // Codec → opened by hand.
    let sender = try codec(1)
    var rng = SplitMix64(seed: 5)
    let sealed = try sender.seal(body: [0xCA, 0xFE], header: expectedHeader, using: &rng)
    #expect(Array(sealed[0..<5]) == aad)
    let opened = try ChaChaPoly.open(
      try ChaChaPoly.SealedBox(combined: sealed[5...]), using: key, authenticating: aad)
    #expect(Array(opened) == plaintext)
  }

  @Test func sealingIsDeterministicGivenTheNonceSource() throws {
    let sender = try codec(1)
    var a = SplitMix64(seed: 99)
    var b = SplitMix64(seed: 99)
    let one = try sender.seal(body: [1, 2, 3], header: header(), using: &a)
    let two = try sender.seal(body: [1, 2, 3], header: header(), using: &b)
    #expect(one == two)
    #expect(one != (try sender.seal(body: [1, 2, 3], header: header(), using: &a)))
    // The system generator gives a fresh nonce every time.
    #expect(try sender.seal(body: [1], header: header()) != (try sender.seal(body: [1], header: header())))
  }

  @Test func wrongKeyIsDroppedAsAuthentication() throws {
    let sender = try codec(1, key: Array(repeating: 7, count: 32))
    var receiver = try codec(2)
    let result = receiver.open(try sender.seal(body: [1, 2, 3], header: header()))
    #expect(reason(result) == .authenticationFailed)
    #expect(receiver.drops == DropCounters(authentication: 1))
    #expect(receiver.drops.total == 1)
  }

  @Test func otherClusterNameWithTheSameKeyIsDroppedAsAuthentication() throws {
    let sender = try codec(1, cluster: "beta")
    var receiver = try codec(2, cluster: "alpha")
    #expect(reason(receiver.open(try sender.seal(body: [1], header: header()))) == .authenticationFailed)
    #expect(receiver.drops.authentication == 1)
  }

  @Test func sameKeyButOtherClusterHashIsDroppedAsWrongCluster() throws {
    var receiver = try codec(2)
    #expect(receiver.clusterHash == DatagramCodec.clusterHash(of: "alpha"))
    let foreign = DatagramCodec(
      key: receiver.key, clusterHash: receiver.clusterHash ^ 1, localNode: NodeId(1))
    let result = receiver.open(try foreign.seal(body: [1], header: header()))
    #expect(reason(result) == .wrongCluster)
    #expect(receiver.drops == DropCounters(wrongCluster: 1))
    // The refused datagram did not touch the sender's replay window.
    let sender = try codec(1)
    #expect(reason(receiver.open(try sender.seal(body: [1], header: header()))) == nil)
  }

  @Test func clusterHashIsTheFirstFourBytesOfSHA256() {
    let digest = Array(SHA256.hash(data: Array("alpha".utf8)))
    let expected = digest[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    #expect(DatagramCodec.clusterHash(of: "alpha") == expected)
    #expect(DatagramCodec.clusterHash(of: "alpha") != DatagramCodec.clusterHash(of: "beta"))
  }

  @Test func flippedBitAnywhereIsDropped() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    var rng = SplitMix64(seed: 7)
    let datagram = try sender.seal(body: [10, 20, 30], header: header(), using: &rng)
    var expected = DropCounters()
    for position in datagram.indices {
      for bit in 0..<8 {
        var tampered = datagram
        tampered[position] ^= 1 << bit
        let got = reason(receiver.open(tampered))
        switch position {
        case 0..<4:
          #expect(got == .badMagic, "byte \(position) bit \(bit)")
          expected.malformed += 1
        case 4:
          #expect(got == .badVersion(1 ^ (1 << bit)), "byte \(position) bit \(bit)")
          expected.version += 1
        default:
          #expect(got == .authenticationFailed, "byte \(position) bit \(bit)")
          expected.authentication += 1
        }
      }
    }
    #expect(receiver.drops == expected)
    // Nothing of the tampered copies reached the replay window: the original still opens.
    #expect(reason(receiver.open(datagram)) == nil)
  }

  @Test func everyTruncationIsDropped() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    let datagram = try sender.seal(body: Array(repeating: 0x5A, count: 40), header: header())
    for length in 0..<datagram.count {
      let got = reason(receiver.open(Array(datagram.prefix(length))))
      let expected: WireError = length < 4 + 1 + 12 + 16 ? .truncated : .authenticationFailed
      #expect(got == expected, "length \(length)")
    }
    #expect(receiver.drops.total == UInt64(datagram.count))
    #expect(receiver.drops.malformed == 33)
    #expect(receiver.drops.authentication == UInt64(datagram.count - 33))
    #expect(reason(receiver.open(datagram)) == nil)
  }

  @Test func appendedBytesAreDropped() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    let datagram = try sender.seal(body: [1, 2], header: header())
    #expect(reason(receiver.open(datagram + [0])) == .authenticationFailed)
  }

  @Test func randomBytesAreDroppedWithoutCrashing() throws {
    var receiver = try codec(2)
    var rng = SplitMix64(seed: 0x5357_4331)
    let count = 100_000
    var refused = 0
    var reachedTheAEAD: UInt64 = 0
    for i in 0..<count {
      let length: Int
      switch i % 1000 {
      case 0: length = Int.random(in: 65001...70000, using: &rng)
      case 1..<10: length = Int.random(in: 0...65000, using: &rng)
      default: length = Int.random(in: 0...160, using: &rng)
      }
      var bytes = AuthKey.randomBytes(length, using: &rng)
      // Half the inputs get a valid prefix, so they reach the AEAD instead of stopping at the magic.
      if rng.next() % 2 == 0, bytes.count >= 5 {
        bytes.replaceSubrange(0..<5, with: DatagramCodec.magic + [DatagramCodec.version])
        if (33...65000).contains(bytes.count) { reachedTheAEAD += 1 }
      }
      if reason(receiver.open(bytes)) != nil { refused += 1 }
    }
    #expect(refused == count)
    #expect(receiver.drops.total == UInt64(count))
    #expect(receiver.drops.authentication == reachedTheAEAD)
    #expect(reachedTheAEAD > 35000)
    #expect(receiver.drops.oversize == 100)
    #expect(receiver.drops.replay == 0)
  }

  @Test func replayedDatagramIsDropped() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    let datagram = try sender.seal(body: [1], header: header(sequence: 3))
    #expect(reason(receiver.open(datagram)) == nil)
    #expect(reason(receiver.open(datagram)) == .replay)
    #expect(reason(receiver.open(datagram)) == .replay)
    #expect(receiver.drops == DropCounters(replay: 2))
  }

  @Test func outOfOrderWithinTheWindowIsAcceptedOnceEach() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    var rng = SplitMix64(seed: 3)
    let datagrams = try (UInt64(0)..<300).map { try sender.seal(body: [], header: header(sequence: $0)) }
    // Two links: the second delivers everything again, late and in another order.
    let firstLink = Array(datagrams[0..<200]).shuffled(using: &rng)
    let secondLink = Array(datagrams[100..<300]).shuffled(using: &rng)
    var accepted = 0
    for d in firstLink + secondLink where reason(receiver.open(d)) == nil { accepted += 1 }
    #expect(accepted == 300)
    #expect(receiver.drops == DropCounters(replay: 100))
  }

  @Test func olderThanTheWindowIsDroppedAsReplay() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    #expect(reason(receiver.open(try sender.seal(body: [], header: header(sequence: 300)))) == nil)
    #expect(reason(receiver.open(try sender.seal(body: [], header: header(sequence: 44)))) == .replay)
    #expect(reason(receiver.open(try sender.seal(body: [], header: header(sequence: 45)))) == nil)
    #expect(receiver.drops == DropCounters(replay: 1))
  }

  @Test func newIncarnationResetsAndOldIncarnationIsStale() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    func open(_ incarnation: UInt64, _ sequence: UInt64) throws -> WireError? {
      reason(
        receiver.open(
          try sender.seal(body: [], header: header(incarnation: incarnation, sequence: sequence))))
    }
    #expect(try open(10, 1000) == nil)
    #expect(try open(11, 0) == nil, "restarted sender begins again at 0")
    #expect(try open(11, 0) == .replay)
    #expect(try open(11, 1) == nil)
    #expect(try open(10, 1001) == .staleIncarnation)
    #expect(receiver.drops == DropCounters(replay: 1, staleIncarnation: 1))
  }

  @Test func replayWindowsArePerSender() throws {
    let one = try codec(1)
    let three = try codec(3)
    var receiver = try codec(2)
    #expect(reason(receiver.open(try one.seal(body: [], header: header(from: 1, sequence: 5)))) == nil)
    #expect(reason(receiver.open(try three.seal(body: [], header: header(from: 3, sequence: 5)))) == nil)
    #expect(reason(receiver.open(try one.seal(body: [], header: header(from: 1, sequence: 5)))) == .replay)
  }

  @Test func forgettingASenderAcceptsAnyIncarnationAgain() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    let old = try sender.seal(body: [], header: header(incarnation: 1, sequence: 0))
    #expect(reason(receiver.open(try sender.seal(body: [], header: header(incarnation: 2)))) == nil)
    #expect(reason(receiver.open(old)) == .staleIncarnation)
    receiver.forget(sender: NodeId(1))
    #expect(reason(receiver.open(old)) == nil)
  }

  @Test func datagramForAnotherNodeIsDroppedAndLeavesTheWindowAlone() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    #expect(reason(receiver.open(try sender.seal(body: [], header: header(to: 3, sequence: 1)))) == .notForMe)
    #expect(receiver.drops == DropCounters(notForMe: 1))
    #expect(reason(receiver.open(try sender.seal(body: [], header: header(to: 2, sequence: 1)))) == nil)
  }

  @Test func oversizeSealThrowsTooLarge() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    #expect(throws: WireError.tooLarge) {
      try sender.seal(body: Array(repeating: 0, count: DatagramCodec.maxBodySize + 1), header: header())
    }
    let largest = try sender.seal(
      body: Array(repeating: 1, count: DatagramCodec.maxBodySize), header: header())
    #expect(largest.count == DatagramCodec.maxDatagramSize)
    let (_, body) = try receiver.open(largest).get()
    #expect(body.count == DatagramCodec.maxBodySize)
  }

  @Test func oversizeDatagramIsCountedAsOversize() throws {
    var receiver = try codec(2)
    let huge = DatagramCodec.magic + [DatagramCodec.version] + Array(repeating: 0, count: 65000 - 4)
    #expect(huge.count == DatagramCodec.maxDatagramSize + 1)
    #expect(reason(receiver.open(huge)) == .tooLarge)
    #expect(receiver.drops == DropCounters(oversize: 1))
  }

  @Test func unknownVersionAndBadMagicAreCounted() throws {
    let sender = try codec(1)
    var receiver = try codec(2)
    var datagram = try sender.seal(body: [], header: header())
    datagram[4] = 2
    #expect(reason(receiver.open(datagram)) == .badVersion(2))
    datagram[4] = 1
    datagram[0] = UInt8(ascii: "X")
    #expect(reason(receiver.open(datagram)) == .badMagic)
    #expect(receiver.drops == DropCounters(malformed: 1, version: 1))
  }

  /// A key holder sealing a plaintext too short for the envelope header: authenticated, yet
  /// malformed, and still no crash.
  @Test(arguments: [0, 1, 4, 28])
  func authenticatedButShortPlaintextIsMalformed(plaintextLength: Int) throws {
    var receiver = try codec(2)
    let prefix = DatagramCodec.magic + [DatagramCodec.version]
    let sealed = try ChaChaPoly.seal(
      Array(repeating: 0, count: plaintextLength), using: receiver.key, authenticating: prefix)
    let result = receiver.open(prefix + Array(sealed.combined))
    guard case .failure(.malformed) = result else {
      Issue.record("expected malformed, got \(result)")
      return
    }
    #expect(receiver.drops == DropCounters(malformed: 1))
  }

  @Test(arguments: [0, 1, 31, 4097, 10000])
  func authKeyOfWrongSizeIsRefused(byteCount: Int) {
    #expect(throws: WireError.self) { try codec(1, key: Array(repeating: 1, count: byteCount)) }
  }

  @Test(arguments: [32, 256, 4096])
  func authKeyOfAllowedSizeIsAccepted(byteCount: Int) throws {
    _ = try codec(1, key: Array(repeating: 1, count: byteCount))
  }

  @Test func generatedAuthKeysAreRandom() {
    let a = AuthKey.generate()
    let b = AuthKey.generate()
    #expect(a.count == 256)
    #expect(a != b)
    #expect(AuthKey.generate(byteCount: 32).count == 32)
    #expect(AuthKey.generate(byteCount: -1).isEmpty)
  }

  @Test func dropCountersEncodeAsJSONWithEveryReason() throws {
    let counters = DropCounters(
      authentication: 1, replay: 2, malformed: 3, oversize: 4, version: 5, wrongCluster: 6, notForMe: 7,
      staleIncarnation: 8)
    #expect(counters.total == 36)
    let json = try JSONEncoder().encode(counters)
    #expect(try JSONDecoder().decode(DropCounters.self, from: json) == counters)
    let keys = try JSONSerialization.jsonObject(with: json) as? [String: Any]
    #expect(
      Set(keys?.keys.map { $0 } ?? []) == [
        "authentication", "replay", "malformed", "oversize", "version", "wrongCluster", "notForMe",
        "staleIncarnation",
      ])
  }
}
