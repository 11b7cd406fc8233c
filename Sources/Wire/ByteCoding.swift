import ClusterTypes

/// Appends big-endian encoded values to a byte buffer; the writing half of every binary codec in
/// the project.
///
/// The encoding is the one `ByteReader` reads back: fixed-width big-endian integers, booleans as
/// one byte (0 or 1), byte strings with a `u32` length prefix, strings with a `u16` length prefix
/// followed by their UTF-8 bytes. Writing never fails for values a reader can bound; the only
/// preconditions are on lengths that do not fit their prefix (more than 4 GiB of bytes, or a
/// string of more than 65535 UTF-8 bytes), which are programming errors, not input.
public struct ByteWriter: Sendable {
  /// Everything written so far.
  public private(set) var bytes: [UInt8]

  /// Starts an empty buffer with room for `capacity` bytes before it reallocates.
  public init(capacity: Int = 256) {
    bytes = []
    bytes.reserveCapacity(max(0, capacity))
  }

  /// Appends one byte.
  public mutating func u8(_ value: UInt8) { bytes.append(value) }
  /// Appends two bytes, big-endian.
  public mutating func u16(_ value: UInt16) { integer(value) }
  /// Appends four bytes, big-endian.
  public mutating func u32(_ value: UInt32) { integer(value) }
  /// Appends eight bytes, big-endian.
  public mutating func u64(_ value: UInt64) { integer(value) }
  /// Appends one byte: 1 for `true`, 0 for `false`.
  public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

  /// Appends `raw` as is, without a length; the reader must know the count.
  public mutating func bytes(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

  /// Appends a `u32` length, then the bytes.
  public mutating func lengthPrefixedBytes(_ raw: [UInt8]) {
    precondition(raw.count <= Int(UInt32.max), "ByteWriter: byte string longer than a u32 length")
    u32(UInt32(raw.count))
    bytes.append(contentsOf: raw)
  }

  /// Appends a `u16` length (in UTF-8 bytes), then the UTF-8 bytes of `value`.
  public mutating func string(_ value: String) {
    let utf8 = value.utf8
    precondition(utf8.count <= Int(UInt16.max), "ByteWriter: string longer than 65535 UTF-8 bytes")
    u16(UInt16(utf8.count))
    bytes.append(contentsOf: utf8)
  }

  /// Appends a node id as a `u32`.
  public mutating func nodeId(_ value: NodeId) { u32(value.rawValue) }

  /// Appends a view id as its `u64` sequence followed by the `u32` coordinator.
  public mutating func viewId(_ value: ViewId) {
    u64(value.sequence)
    nodeId(value.coordinator)
  }

  private mutating func integer<T: FixedWidthInteger>(_ value: T) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
  }
}

/// Reads big-endian encoded values from a byte buffer with every access bounds-checked; the reading
/// half of every binary codec in the project.
///
/// Invariant: a read either returns a value and advances past it, or throws and leaves the reader
/// where it was. No read traps, whatever the input: too few bytes throw `WireError.truncated`, an
/// invalid encoding (a boolean other than 0/1, a length over the caller's bound, invalid UTF-8)
/// throws `WireError.malformed`. Lengths are checked against the caller's bound before anything is
/// allocated, so a hostile length prefix cannot make the reader allocate more than the input holds.
public struct ByteReader: Sendable {
  private let storage: ArraySlice<UInt8>
  private var index: Int

  /// Reads `bytes` from the start.
  public init(_ bytes: [UInt8]) {
    self.init(bytes[...])
  }

  /// Reads `slice` from its start index (slices keep their parent's indices; the reader copes).
  public init(_ slice: ArraySlice<UInt8>) {
    storage = slice
    index = slice.startIndex
  }

  /// The number of bytes not yet read.
  public var remaining: Int { storage.endIndex - index }

  /// Reads one byte.
  public mutating func u8() throws(WireError) -> UInt8 {
    guard remaining >= 1 else { throw .truncated }
    let value = storage[index]
    index += 1
    return value
  }

  /// Reads a big-endian `u16`.
  public mutating func u16() throws(WireError) -> UInt16 { try integer(UInt16.self) }
  /// Reads a big-endian `u32`.
  public mutating func u32() throws(WireError) -> UInt32 { try integer(UInt32.self) }
  /// Reads a big-endian `u64`.
  public mutating func u64() throws(WireError) -> UInt64 { try integer(UInt64.self) }

  /// Reads a boolean byte; anything but 0 or 1 is malformed.
  public mutating func bool() throws(WireError) -> Bool {
    guard remaining >= 1 else { throw .truncated }
    switch storage[index] {
    case 0:
      index += 1
      return false
    case 1:
      index += 1
      return true
    case let other:
      throw .malformed("boolean byte \(other)")
    }
  }

  /// Reads exactly `count` raw bytes.
  public mutating func bytes(count: Int) throws(WireError) -> [UInt8] {
    Array(try slice(count: count))
  }

  /// Reads a `u32` length, then that many bytes. A length over `max` is malformed.
  public mutating func lengthPrefixedBytes(max: Int) throws(WireError) -> [UInt8] {
    let start = index
    let length = try u32()
    guard UInt64(length) <= UInt64(Swift.max(0, max)) else {
      index = start
      throw .malformed("byte string of \(length) bytes exceeds \(max)")
    }
    do {
      return try bytes(count: Int(length))
    } catch {
      index = start
      throw error
    }
  }

  /// Reads a `u16` length, then that many UTF-8 bytes. A length over `max` (in UTF-8 bytes) or
  /// invalid UTF-8 is malformed.
  public mutating func string(max: Int) throws(WireError) -> String {
    let start = index
    let length = try u16()
    guard Int(length) <= max else {
      index = start
      throw .malformed("string of \(length) bytes exceeds \(max)")
    }
    let raw: ArraySlice<UInt8>
    do {
      raw = try slice(count: Int(length))
    } catch {
      index = start
      throw error
    }
    guard let value = String(validating: raw, as: UTF8.self) else {
      index = start
      throw .malformed("string is not valid UTF-8")
    }
    return value
  }

  /// Reads a node id (`u32`).
  public mutating func nodeId() throws(WireError) -> NodeId { NodeId(try u32()) }

  /// Reads a view id (`u64` sequence, then `u32` coordinator).
  public mutating func viewId() throws(WireError) -> ViewId {
    guard remaining >= 12 else { throw .truncated }
    let sequence = try u64()
    let coordinator = try nodeId()
    return ViewId(sequence: sequence, coordinator: coordinator)
  }

  /// Reads everything that is left (possibly nothing), without copying.
  public mutating func rest() -> ArraySlice<UInt8> {
    let value = storage[index...]
    index = storage.endIndex
    return value
  }

  /// Throws `malformed` unless every byte has been read: trailing bytes mean the encoding is not
  /// the one the reader expected.
  public func expectEnd() throws(WireError) {
    guard remaining == 0 else { throw .malformed("\(remaining) trailing bytes") }
  }

  private mutating func slice(count: Int) throws(WireError) -> ArraySlice<UInt8> {
    guard count >= 0 else { throw .malformed("negative byte count \(count)") }
    guard count <= remaining else { throw .truncated }
    let value = storage[index..<(index + count)]
    index += count
    return value
  }

  private mutating func integer<T: FixedWidthInteger & UnsignedInteger>(
    _: T.Type
  ) throws(WireError) -> T {
    let size = MemoryLayout<T>.size
    guard remaining >= size else { throw .truncated }
    var value: T = 0
    for offset in index..<(index + size) {
      value = (value << 8) | T(storage[offset])
    }
    index += size
    return value
  }
}
