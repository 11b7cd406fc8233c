import ClusterTypes
import Membership

/// The binary form of `MembershipMessage`, the body of a sealed datagram.
///
/// Decoding runs only on authenticated bodies, and still bounds every count and length: a peer with
/// the key but a bug (or an old version) must not be able to make a node allocate without limit or trap.
public enum MembershipMessageCodec {
  /// Upper bounds on every count in a body.
  public static let maxNodes = 1024
  public static let maxBatch = 8192
  public static let maxPayload = 64_000

  enum Tag: UInt8 {
    case heartbeat = 1
    case leave = 2
    case propose = 3
    case accept = 4
    case commit = 5
    case submit = 6
    case ordered = 7
    case retransmit = 8
  }

  public static func encode(_ message: MembershipMessage) -> [UInt8] {
    var w = ByteWriter(capacity: 128)
    switch message {
    case .heartbeat(let hb):
      w.u8(Tag.heartbeat.rawValue)
      w.viewId(hb.view)
      w.bool(hb.quorate)
      w.u64(hb.delivered)
      w.u64(hb.sequenced)
      w.u64(hb.highestViewSequence)
      w.u16(UInt16(clamping: hb.rows.count))
      for row in hb.rows.prefix(Int(UInt16.max)) {
        w.nodeId(row.origin)
        w.u64(row.incarnation)
        w.u64(row.version)
        w.u16(UInt16(clamping: row.heard.count))
        for node in row.heard.prefix(Int(UInt16.max)) { w.nodeId(node) }
      }
    case .leave:
      w.u8(Tag.leave.rawValue)
    case .propose(let view):
      w.u8(Tag.propose.rawValue)
      encodeView(view, into: &w)
    case .accept(let view, let oldView, let delivered):
      w.u8(Tag.accept.rawValue)
      w.viewId(view)
      w.viewId(oldView)
      w.u64(delivered)
    case .commit(let view, let cuts):
      w.u8(Tag.commit.rawValue)
      encodeView(view, into: &w)
      w.u16(UInt16(clamping: cuts.count))
      for cut in cuts.prefix(Int(UInt16.max)) {
        w.viewId(cut.oldView)
        w.u64(cut.cut)
        w.nodeId(cut.holder)
      }
    case .submit(let view, let firstPending, let submissions):
      w.u8(Tag.submit.rawValue)
      w.viewId(view)
      w.u64(firstPending)
      w.u32(UInt32(submissions.count))
      for submission in submissions {
        w.u64(submission.originSequence)
        w.lengthPrefixedBytes(submission.payload)
      }
    case .ordered(let view, let messages):
      w.u8(Tag.ordered.rawValue)
      w.viewId(view)
      w.u32(UInt32(messages.count))
      for message in messages {
        w.u64(message.sequence)
        w.nodeId(message.origin)
        w.u64(message.originSequence)
        w.lengthPrefixedBytes(message.payload)
      }
    case .retransmit(let view, let from, let to):
      w.u8(Tag.retransmit.rawValue)
      w.viewId(view)
      w.u64(from)
      w.u64(to)
    }
    return w.bytes
  }

  public static func decode(_ body: ArraySlice<UInt8>) throws(WireError) -> MembershipMessage {
    var r = ByteReader(body)
    guard let tag = Tag(rawValue: try r.u8()) else { throw .malformed("unknown message type") }
    let message: MembershipMessage
    switch tag {
    case .heartbeat:
      let view = try r.viewId()
      let quorate = try r.bool()
      let delivered = try r.u64()
      let sequenced = try r.u64()
      let highest = try r.u64()
      let rowCount = try count(&r, u16: true, max: maxNodes)
      var rows: [ConnectivityRow] = []
      rows.reserveCapacity(rowCount)
      for _ in 0..<rowCount {
        let origin = try r.nodeId()
        let incarnation = try r.u64()
        let version = try r.u64()
        let heardCount = try count(&r, u16: true, max: maxNodes)
        var heard: [NodeId] = []
        heard.reserveCapacity(heardCount)
        for _ in 0..<heardCount { heard.append(try r.nodeId()) }
        rows.append(ConnectivityRow(origin: origin, incarnation: incarnation, version: version, heard: heard))
      }
      message = .heartbeat(
        Heartbeat(
          view: view, quorate: quorate, delivered: delivered, sequenced: sequenced,
          highestViewSequence: highest,
          rows: rows))
    case .leave:
      message = .leave
    case .propose:
      message = .propose(try decodeView(&r))
    case .accept:
      message = .accept(view: try r.viewId(), oldView: try r.viewId(), delivered: try r.u64())
    case .commit:
      let view = try decodeView(&r)
      let cutCount = try count(&r, u16: true, max: maxNodes)
      var cuts: [FlushCut] = []
      for _ in 0..<cutCount {
        cuts.append(FlushCut(oldView: try r.viewId(), cut: try r.u64(), holder: try r.nodeId()))
      }
      message = .commit(view, cuts: cuts)
    case .submit:
      let view = try r.viewId()
      let firstPending = try r.u64()
      let n = try count(&r, u16: false, max: maxBatch)
      var submissions: [PendingSubmission] = []
      for _ in 0..<n {
        submissions.append(
          PendingSubmission(originSequence: try r.u64(), payload: try r.lengthPrefixedBytes(max: maxPayload)))
      }
      message = .submit(view: view, firstPending: firstPending, submissions: submissions)
    case .ordered:
      let view = try r.viewId()
      let n = try count(&r, u16: false, max: maxBatch)
      var messages: [SequencedMessage] = []
      for _ in 0..<n {
        messages.append(
          SequencedMessage(
            sequence: try r.u64(), origin: try r.nodeId(), originSequence: try r.u64(),
            payload: try r.lengthPrefixedBytes(max: maxPayload)))
      }
      message = .ordered(view: view, messages: messages)
    case .retransmit:
      message = .retransmit(view: try r.viewId(), from: try r.u64(), to: try r.u64())
    }
    try r.expectEnd()
    return message
  }

  static func count(_ r: inout ByteReader, u16: Bool, max: Int) throws(WireError) -> Int {
    let n = u16 ? Int(try r.u16()) : Int(try r.u32())
    guard n <= max else { throw .malformed("count \(n) exceeds \(max)") }
    return n
  }

  static func encodeView(_ view: View, into w: inout ByteWriter) {
    w.viewId(view.id)
    let members = view.members.sorted { $0.key < $1.key }
    w.u16(UInt16(clamping: members.count))
    for (node, incarnation) in members.prefix(Int(UInt16.max)) {
      w.nodeId(node)
      w.u64(incarnation)
    }
  }

  static func decodeView(_ r: inout ByteReader) throws(WireError) -> View {
    let id = try r.viewId()
    let n = try count(&r, u16: true, max: maxNodes)
    var members: [NodeId: UInt64] = [:]
    for _ in 0..<n {
      let node = try r.nodeId()
      let incarnation = try r.u64()
      guard members.updateValue(incarnation, forKey: node) == nil else {
        throw .malformed("duplicate member \(node)")
      }
    }
    guard !members.isEmpty else { throw .malformed("view without members") }
    return View(id: id, members: members)
  }
}
