import ClusterTypes
import Testing

@testable import Wire

/// One kind of `ByteReader` read, with a valid encoding for it, so every reader can be run over
/// every truncation of its input.
enum ByteReaderKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case u8, u16, u32, u64, bool, bytes, lengthPrefixedBytes, string, nodeId, viewId

  var testDescription: String { rawValue }

  var encoding: [UInt8] {
    var w = ByteWriter()
    switch self {
    case .u8: w.u8(0xAB)
    case .u16: w.u16(0xABCD)
    case .u32: w.u32(0xDEAD_BEEF)
    case .u64: w.u64(0x0102_0304_0506_0708)
    case .bool: w.bool(true)
    case .bytes: w.bytes([1, 2, 3, 4, 5])
    case .lengthPrefixedBytes: w.lengthPrefixedBytes([9, 8, 7])
    case .string: w.string("nodé")
    case .nodeId: w.nodeId(NodeId(65535))
    case .viewId: w.viewId(ViewId(sequence: 77, coordinator: NodeId(3)))
    }
    return w.bytes
  }

  func read(_ r: inout ByteReader) throws(WireError) {
    switch self {
    case .u8: _ = try r.u8()
    case .u16: _ = try r.u16()
    case .u32: _ = try r.u32()
    case .u64: _ = try r.u64()
    case .bool: _ = try r.bool()
    case .bytes: _ = try r.bytes(count: 5)
    case .lengthPrefixedBytes: _ = try r.lengthPrefixedBytes(max: 100)
    case .string: _ = try r.string(max: 100)
    case .nodeId: _ = try r.nodeId()
    case .viewId: _ = try r.viewId()
    }
  }
}

@Suite("ByteWriter / ByteReader")
struct ByteCodingTests {
  @Test func roundTripOfEveryType() throws {
    var w = ByteWriter(capacity: 0)
    w.u8(0xFE)
    w.u16(0xBEEF)
    w.u32(0x1234_5678)
    w.u64(.max)
    w.bool(false)
    w.bool(true)
    w.bytes([0xAA, 0xBB])
    w.lengthPrefixedBytes([])
    w.lengthPrefixedBytes([1, 2, 3])
    w.string("")
    w.string("gruß ✓")
    w.nodeId(NodeId(42))
    w.viewId(ViewId(sequence: 9, coordinator: NodeId(7)))

    var r = ByteReader(w.bytes)
    #expect(try r.u8() == 0xFE)
    #expect(try r.u16() == 0xBEEF)
    #expect(try r.u32() == 0x1234_5678)
    #expect(try r.u64() == .max)
    #expect(try r.bool() == false)
    #expect(try r.bool() == true)
    #expect(try r.bytes(count: 2) == [0xAA, 0xBB])
    #expect(try r.lengthPrefixedBytes(max: 0) == [])
    #expect(try r.lengthPrefixedBytes(max: 3) == [1, 2, 3])
    #expect(try r.string(max: 0) == "")
    #expect(try r.string(max: 100) == "gruß ✓")
    #expect(try r.nodeId() == NodeId(42))
    #expect(try r.viewId() == ViewId(sequence: 9, coordinator: NodeId(7)))
    #expect(r.remaining == 0)
    try r.expectEnd()
  }

  @Test func encodingIsBigEndian() {
    var w = ByteWriter()
    w.u16(0x0102)
    w.u32(0x0304_0506)
    w.u64(0x0708_090A_0B0C_0D0E)
    w.string("hé")
    w.lengthPrefixedBytes([0xFF])
    w.viewId(ViewId(sequence: 1, coordinator: NodeId(2)))
    #expect(
      w.bytes == [
        0x01, 0x02,
        0x03, 0x04, 0x05, 0x06,
        0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
        0x00, 0x03, 0x68, 0xC3, 0xA9,
        0x00, 0x00, 0x00, 0x01, 0xFF,
        0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2,
      ])
  }

  @Test(arguments: ByteReaderKind.allCases)
  func everyReaderThrowsTruncatedOnShortInput(_ kind: ByteReaderKind) throws {
    let full = kind.encoding
    for length in 0..<full.count {
      var r = ByteReader(full[0..<length])
      #expect(throws: WireError.truncated) { try kind.read(&r) }
      #expect(r.remaining == length, "a failed read must not consume input")
    }
    var r = ByteReader(full)
    try kind.read(&r)
    try r.expectEnd()
  }

  @Test func lengthPrefixedBytesOverMaxIsMalformed() throws {
    var w = ByteWriter()
    w.lengthPrefixedBytes([1, 2, 3, 4])
    var r = ByteReader(w.bytes)
    #expect(throws: WireError.malformed("byte string of 4 bytes exceeds 3")) {
      try r.lengthPrefixedBytes(max: 3)
    }
    #expect(r.remaining == 8)
    #expect(try r.lengthPrefixedBytes(max: 4) == [1, 2, 3, 4])
  }

  @Test func hugeLengthPrefixIsRefusedWithoutAllocating() {
    var r = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 1, 2])
    #expect(throws: WireError.truncated) { try r.lengthPrefixedBytes(max: .max) }
    var s = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 1, 2])
    #expect(throws: WireError.malformed("byte string of 4294967295 bytes exceeds 65000")) {
      try s.lengthPrefixedBytes(max: 65000)
    }
    var t = ByteReader([0, 0, 0, 1, 1])
    #expect(throws: WireError.malformed("byte string of 1 bytes exceeds -5")) {
      try t.lengthPrefixedBytes(max: -5)
    }
  }

  @Test func stringOverMaxOrInvalidUTF8IsMalformed() {
    var w = ByteWriter()
    w.string("abcd")
    var r = ByteReader(w.bytes)
    #expect(throws: WireError.malformed("string of 4 bytes exceeds 3")) { try r.string(max: 3) }
    #expect(r.remaining == 6)

    var bad = ByteReader([0, 2, 0xC3, 0x28])
    #expect(throws: WireError.malformed("string is not valid UTF-8")) { try bad.string(max: 10) }
    #expect(bad.remaining == 4)
  }

  @Test func boolOtherThanZeroOrOneIsMalformed() {
    var r = ByteReader([2])
    #expect(throws: WireError.malformed("boolean byte 2")) { try r.bool() }
    #expect(r.remaining == 1)
  }

  @Test func negativeByteCountIsMalformed() {
    var r = ByteReader([1, 2, 3])
    #expect(throws: WireError.malformed("negative byte count -1")) { try r.bytes(count: -1) }
  }

  @Test func expectEndRefusesTrailingBytes() throws {
    var r = ByteReader([1, 2])
    _ = try r.u8()
    #expect(throws: WireError.malformed("1 trailing bytes")) { try r.expectEnd() }
  }

  @Test func readerOverASliceUsesTheSliceIndices() throws {
    let whole: [UInt8] = [9, 9, 9, 0x00, 0x2A, 7, 7]
    var r = ByteReader(whole[3..<6])
    #expect(r.remaining == 3)
    #expect(try r.u16() == 42)
    #expect(Array(r.rest()) == [7])
    #expect(r.remaining == 0)
    #expect(r.rest().isEmpty)
    #expect(throws: WireError.truncated) { try r.u8() }
  }
}
