/// Vocabulary shared by every pure core and shell: node identities, time as a value, view ids.
///
/// Pure modules never read a clock. Shells read `CLOCK_MONOTONIC` and hand the value in as an
/// `Instant`; a simulation hands in virtual time the same way.

/// A node's identity in the cluster: the `id` of its `[node NAME]` section (1...65535).
public struct NodeId: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
  public var rawValue: UInt32
  public init(_ rawValue: UInt32) { self.rawValue = rawValue }
  public static func < (a: NodeId, b: NodeId) -> Bool { a.rawValue < b.rawValue }
  public var description: String { String(rawValue) }
  public init(from decoder: any Decoder) throws {
    rawValue = try decoder.singleValueContainer().decode(UInt32.self)
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(rawValue)
  }
}

/// A point on a monotonic clock, in nanoseconds. Only differences are meaningful.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var nanoseconds: UInt64
  public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
  public static let zero = Instant(nanoseconds: 0)
  public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
  public static func + (a: Instant, d: Duration) -> Instant {
    let ns = d.nanosecondsClamped
    return ns >= 0
      ? Instant(nanoseconds: a.nanoseconds &+ UInt64(ns))
      : Instant(nanoseconds: a.nanoseconds >= UInt64(-ns) ? a.nanoseconds - UInt64(-ns) : 0)
  }
  /// `a - b` as a duration (negative when `a` is earlier).
  public static func - (a: Instant, b: Instant) -> Duration {
    a >= b
      ? .nanoseconds(Int64(clamping: a.nanoseconds - b.nanoseconds))
      : .nanoseconds(-Int64(clamping: b.nanoseconds - a.nanoseconds))
  }
  public var description: String { "\(nanoseconds / 1_000_000)ms" }
}

extension Duration {
  /// The duration in whole nanoseconds, saturated to `Int64`.
  public var nanosecondsClamped: Int64 {
    let (s, a) = components
    let (m, o) = s.multipliedReportingOverflow(by: 1_000_000_000)
    if o { return s < 0 ? .min : .max }
    let (r, o2) = m.addingReportingOverflow(a / 1_000_000_000)
    if o2 { return s < 0 ? .min : .max }
    return r
  }
  /// The duration in whole milliseconds, saturated to `Int64`.
  public var milliseconds: Int64 { nanosecondsClamped / 1_000_000 }
}

/// The identity of an agreed membership view, corosync's "ring id": a sequence number that only
/// grows, and the node that coordinated the view. Ordered by sequence, then coordinator.
public struct ViewId: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
  public var sequence: UInt64
  public var coordinator: NodeId
  public init(sequence: UInt64, coordinator: NodeId) {
    self.sequence = sequence
    self.coordinator = coordinator
  }
  public static let none = ViewId(sequence: 0, coordinator: NodeId(0))
  public static func < (a: ViewId, b: ViewId) -> Bool {
    (a.sequence, a.coordinator.rawValue) < (b.sequence, b.coordinator.rawValue)
  }
  public var description: String { "\(coordinator).\(sequence)" }
  /// Parses the description, `coordinator.sequence` (how swcorosync's clients get view ids).
  public init?(_ text: String) {
    let parts = text.split(separator: ".")
    guard parts.count == 2, let coordinator = UInt32(parts[0]), let sequence = UInt64(parts[1]) else {
      return nil
    }
    self.init(sequence: sequence, coordinator: NodeId(coordinator))
  }
}
