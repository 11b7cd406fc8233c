/// Parsers for the scalar value types of `cluster.conf`. Internal: the file format's vocabulary.
enum ValueSyntax {
  /// `true/false/yes/no/on/off/1/0`, in any letter case.
  static func bool(_ s: String) -> Bool? {
    switch s.lowercased() {
    case "true", "yes", "on", "1": return true
    case "false", "no", "off", "0": return false
    default: return nil
    }
  }

  /// A plain decimal integer (digits only, no sign) that lies in `range`.
  static func integer(_ s: String, in range: ClosedRange<Int>) -> Int? {
    guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
      return nil
    }
    var value = 0
    for b in s.utf8 {
      value = value * 10 + Int(b - UInt8(ascii: "0"))
      if value > range.upperBound { return nil }
    }
    return range.contains(value) ? value : nil
  }

  /// True when `s` consists only of decimal digits (used to tell "not a number" from "out of range").
  static func isDigits(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
  }

  /// Cluster and node names: 1–64 characters of `[A-Za-z0-9_.-]`.
  static func isName(_ s: String) -> Bool {
    let utf8 = s.utf8
    guard (1...64).contains(utf8.count) else { return false }
    return utf8.allSatisfy { b in
      (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
        || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
        || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
    }
  }

  /// An IP address literal parsed to its bytes: 4 for IPv4, 16 for IPv6. Two spellings of the same
  /// IPv6 address (`::1`, `0:0:0:0:0:0:0:1`) give the same bytes.
  static func ipAddress(_ s: String) -> [UInt8]? {
    ipv4(Substring(s)) ?? ipv6(s)
  }

  /// Dotted quad, four decimal parts 0–255 without leading zeros (as `inet_pton` requires).
  static func ipv4(_ s: Substring) -> [UInt8]? {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var bytes: [UInt8] = []
    for part in parts {
      guard (1...3).contains(part.utf8.count), !(part.utf8.count > 1 && part.utf8.first == UInt8(ascii: "0")),
        let value = integer(String(part), in: 0...255)
      else { return nil }
      bytes.append(UInt8(value))
    }
    return bytes
  }

  /// RFC 4291 text form: eight groups of 1–4 hex digits, at most one `::`, optionally ending in a
  /// dotted quad. Zone ids (`%eth0`) and brackets are not accepted.
  static func ipv6(_ s: String) -> [UInt8]? {
    guard s.contains(":") else { return nil }
    let halves = splitAtDoubleColons(s)
    guard halves.count <= 2 else { return nil }
    func groups(_ part: Substring, allowTrailingIPv4: Bool) -> [UInt8]? {
      if part.isEmpty { return [] }
      let fields = part.split(separator: ":", omittingEmptySubsequences: false)
      var bytes: [UInt8] = []
      for (index, field) in fields.enumerated() {
        if index == fields.count - 1, allowTrailingIPv4, field.contains(".") {
          guard let v4 = ipv4(field) else { return nil }
          bytes += v4
          continue
        }
        guard (1...4).contains(field.utf8.count), field.allSatisfy(\.isHexDigit),
          let value = UInt16(field, radix: 16)
        else { return nil }
        bytes += [UInt8(value >> 8), UInt8(value & 0xff)]
      }
      return bytes
    }
    if halves.count == 1 {
      guard let bytes = groups(halves[0], allowTrailingIPv4: true), bytes.count == 16 else { return nil }
      return bytes
    }
    guard let head = groups(halves[0], allowTrailingIPv4: false),
      let tail = groups(halves[1], allowTrailingIPv4: true),
      head.count + tail.count <= 14
    else { return nil }
    return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
  }

  /// Splits at every `::`. `"1::2"` gives `["1", "2"]`, `"::"` gives `["", ""]`, `"1::2::3"` gives
  /// three parts (which the caller rejects).
  private static func splitAtDoubleColons(_ s: String) -> [Substring] {
    var parts: [Substring] = []
    var start = s.startIndex
    var i = s.startIndex
    while i < s.endIndex {
      let next = s.index(after: i)
      if s[i] == ":", next < s.endIndex, s[next] == ":" {
        parts.append(s[start..<i])
        start = s.index(after: next)
        i = start
      } else {
        i = next
      }
    }
    parts.append(s[start...])
    return parts
  }
}
