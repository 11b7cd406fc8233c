import ClusterTypes
import Membership
import Testing

@testable import Wire

@Suite("Membership message codec")
struct MembershipMessageCodecTests {
  static let view = View(
    id: ViewId(sequence: 7, coordinator: NodeId(1)), members: [NodeId(1): 11, NodeId(2): 22, NodeId(3): 33])
  static let samples: [MembershipMessage] = [
    .heartbeat(
      Heartbeat(
        view: view.id, quorate: true, delivered: 5, sequenced: 9, highestViewSequence: 8,
        rows: [
          ConnectivityRow(origin: NodeId(1), incarnation: 11, version: 3, heard: [NodeId(2), NodeId(3)]),
          ConnectivityRow(origin: NodeId(2), incarnation: 22, version: 4, heard: []),
        ])),
    .leave,
    .propose(view),
    .accept(view: view.id, oldView: .none, delivered: 0),
    .commit(
      view, cuts: [FlushCut(oldView: ViewId(sequence: 6, coordinator: NodeId(2)), cut: 4, holder: NodeId(3))]),
    .submit(
      view: view.id, firstPending: 1, submissions: [PendingSubmission(originSequence: 1, payload: [1, 2, 3])]),
    .ordered(
      view: view.id,
      messages: [
        SequencedMessage(sequence: 1, origin: NodeId(2), originSequence: 1, payload: Array("hi".utf8))
      ]),
    .retransmit(view: view.id, from: 2, to: 9),
  ]

  @Test("every message survives encode and decode", arguments: samples)
  func roundTrip(_ message: MembershipMessage) throws {
    let bytes = MembershipMessageCodec.encode(message)
    #expect(try MembershipMessageCodec.decode(bytes[...]) == message)
  }

  @Test("every truncation of every message is refused without a crash", arguments: samples)
  func truncations(_ message: MembershipMessage) {
    let bytes = MembershipMessageCodec.encode(message)
    for length in 0..<bytes.count {
      #expect(throws: WireError.self) { try MembershipMessageCodec.decode(bytes[..<length]) }
    }
  }

  @Test("trailing bytes, unknown types and absurd counts are refused")
  func malformed() {
    var bytes = MembershipMessageCodec.encode(.leave)
    bytes.append(0)
    #expect(throws: WireError.self) { try MembershipMessageCodec.decode(bytes[...]) }
    #expect(throws: WireError.self) { try MembershipMessageCodec.decode([99][...]) }
    // An ordered batch claiming 4 billion messages.
    var w = ByteWriter()
    w.u8(7)
    w.viewId(Self.view.id)
    w.u32(.max)
    #expect(throws: WireError.self) { try MembershipMessageCodec.decode(w.bytes[...]) }
  }

  @Test("random bodies never crash the decoder")
  func randomBodies() {
    var state: UInt64 = 42
    func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    for _ in 0..<50_000 {
      let length = Int(next() % 200)
      var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: next()) }
      if !bytes.isEmpty { bytes[0] = UInt8(next() % 9) }
      _ = try? MembershipMessageCodec.decode(bytes[...])
    }
  }
}
