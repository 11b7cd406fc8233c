import ResourceModel

/// Lenient readers for the string values of properties, meta attributes and node attributes, with
/// Pacemaker's spellings (`yes`/`on`/`1`, `INFINITY`, `30s`, `1min`).
enum Value {
  static func bool(_ text: String?, default fallback: Bool) -> Bool {
    guard let text else { return fallback }
    switch text.lowercased() {
    case "true", "on", "yes", "y", "1": return true
    case "false", "off", "no", "n", "0": return false
    default: return fallback
    }
  }

  /// A score, accepting a leading integer ("1.0" is 1) and the INFINITY spellings.
  static func score(_ text: String?) -> Int? {
    guard let text else { return nil }
    if let s = Score(parsing: text) { return s.value }
    return leadingInteger(text).map { Score($0).value }
  }

  /// The integer a string starts with, as `strtoll` reads it ("3.6" is 3).
  static func leadingInteger(_ text: String) -> Int? {
    let t = text.drop { $0 == " " }
    var digits = ""
    for (i, c) in t.enumerated() {
      if c.isASCII && c.isNumber || (i == 0 && (c == "-" || c == "+")) { digits.append(c) } else { break }
    }
    return Int(digits)
  }

  /// A duration in seconds: a number with an optional unit (ms, s, m/min, h/hr) or ISO 8601 `PT..S`.
  static func seconds(_ text: String?) -> Int64 {
    guard var t = text?.lowercased(), !t.isEmpty else { return 0 }
    if t.hasPrefix("pt") {
      t.removeFirst(2)
      var total: Int64 = 0
      var number = ""
      for c in t {
        if c.isNumber {
          number.append(c)
        } else {
          let n = Int64(number) ?? 0
          total += c == "h" ? n * 3600 : c == "m" ? n * 60 : n
          number = ""
        }
      }
      return total
    }
    let digits = String(t.prefix { $0.isNumber })
    let unit = t.dropFirst(digits.count).trimmingPrefix(" ")
    let n = Int64(digits) ?? 0
    switch unit {
    case "ms", "msec": return n / 1000
    case "m", "min", "mins": return n * 60
    case "h", "hr", "hrs": return n * 3600
    default: return n
    }
  }

  /// Operation keys are `name_intervalms` (`monitor_10000`).
  static func operationKey(_ key: String) -> (name: String, intervalMs: Int) {
    guard let underscore = key.lastIndex(of: "_"), let ms = Int(key[key.index(after: underscore)...]) else {
      return (key, 0)
    }
    return (String(key[..<underscore]), ms)
  }

  /// Adds scores with Pacemaker's saturation, for plain integers.
  static func add(_ a: Int, _ b: Int) -> Int { (Score(a) + Score(b)).value }

  static let infinity = Score.infinityValue
}
