/// A Pacemaker score: an integer where ±INFINITY (1,000,000) saturates.
///
/// Adding anything to -INFINITY stays -INFINITY (a ban always wins over a preference); +INFINITY
/// plus -INFINITY is -INFINITY, as in Pacemaker's `pcmk__add_scores`.
public struct Score: Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
  ExpressibleByIntegerLiteral
{
  public static let infinityValue = 1_000_000
  public static let infinity = Score(infinityValue)
  public static let minusInfinity = Score(-infinityValue)
  public static let zero = Score(0)

  public let value: Int

  public init(_ value: Int) { self.value = min(max(value, -Self.infinityValue), Self.infinityValue) }
  public init(integerLiteral value: Int) { self.init(value) }

  /// Parses "INFINITY", "+INFINITY", "-INFINITY", "inf" variants and integers; nil otherwise.
  public init?(parsing text: String) {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    switch t {
    case "infinity", "+infinity", "inf", "+inf": self = .infinity
    case "-infinity", "-inf": self = .minusInfinity
    default:
      guard let v = Int(t.hasPrefix("+") ? String(t.dropFirst()) : t) else { return nil }
      self.init(v)
    }
  }

  public var isInfinite: Bool { abs(value) == Self.infinityValue }

  public static func + (a: Score, b: Score) -> Score {
    if a == .minusInfinity || b == .minusInfinity { return .minusInfinity }
    if a == .infinity || b == .infinity { return .infinity }
    return Score(a.value + b.value)
  }
  public static func += (a: inout Score, b: Score) { a = a + b }
  public static prefix func - (a: Score) -> Score { Score(-a.value) }
  public static func < (a: Score, b: Score) -> Bool { a.value < b.value }

  public var description: String {
    switch value {
    case Self.infinityValue: "INFINITY"
    case -Self.infinityValue: "-INFINITY"
    default: String(value)
    }
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let i = try? c.decode(Int.self) {
      self.init(i)
    } else {
      let s = try c.decode(String.self)
      guard let v = Score(parsing: s) else {
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a score: \(s)")
      }
      self = v
    }
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    if isInfinite { try c.encode(description) } else { try c.encode(value) }
  }
}

extension String {
  fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
    String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
  }
}

extension Set where Element == Character {
  fileprivate static let whitespaces: Set<Character> = [" ", "\t", "\n", "\r"]
}
