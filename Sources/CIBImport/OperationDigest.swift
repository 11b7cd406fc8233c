import Crypto
import ResourceModel

/// Pacemaker's operation digests: MD5 sums of the parameters an operation runs with, written into
/// each history entry (`op-digest`, `op-restart-digest`, `op-secure-digest`) and compared with the
/// digests of the configuration now in force to find resources whose definition changed.
///
/// Exists because a CIB's status says nothing else about the parameters a resource runs with: to
/// restart, reload or re-issue exactly what Pacemaker does, the importer recomputes the digests byte
/// for byte (the parameter set, its serialisation and MD5), for every feature set the regression
/// data holds.
enum OperationDigest {
  /// The text that is hashed: `" <parameters a=\"1\" b=\"2\"/>\n"`, names sorted by their bytes,
  /// values escaped as libxml2 writes attribute values.
  static func text(_ parameters: [String: String]) -> String {
    var text = " <parameters"
    for name in parameters.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
      text += " \(name)=\"\(escaped(parameters[name] ?? ""))\""
    }
    return text + "/>\n"
  }

  /// The lowercase hexadecimal MD5 of `text(parameters)`.
  static func md5(_ parameters: [String: String]) -> String { md5Text(text(parameters)) }

  /// The lowercase hexadecimal MD5 of a text's UTF-8 bytes.
  static func md5Text(_ text: String) -> String {
    let hash = Insecure.MD5.hash(data: Array(text.utf8))
    let digits = Array("0123456789abcdef")
    var hex = ""
    for byte in hash {
      hex.append(digits[Int(byte >> 4)])
      hex.append(digits[Int(byte & 0xF)])
    }
    return hex
  }

  /// `<`, `>`, `&` and `"` as entities, ASCII control characters as `&#xHH;`, everything else as is.
  static func escaped(_ value: String) -> String {
    var out = ""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "&": out += "&amp;"
      case "\"": out += "&quot;"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          let digits = Array("0123456789ABCDEF")
          out += "&#x\(digits[Int(scalar.value >> 4)])\(digits[Int(scalar.value & 0xF)]);"
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out
  }

  // MARK: Durations as the digest code reads them

  /// Pacemaker's `crm_get_msec`: an integer (sign allowed, decimals truncated) and an optional
  /// unit — none or `s…` seconds, `ms…`, `us…`, `m…` minutes, `h…` hours. Nil when invalid.
  static func milliseconds(_ text: String) -> Int? {
    var rest = Substring(text).drop { $0.isWhitespace }
    var sign = 1
    if let first = rest.first, first == "+" || first == "-" {
      if first == "-" { sign = -1 }
      rest = rest.dropFirst()
    }
    let digits = rest.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, let magnitude = Int(digits) else { return nil }
    let value = sign * magnitude
    rest = rest.dropFirst(digits.count).drop { ($0.isASCII && $0.isNumber) || $0 == "." }
    let unit = rest.drop { $0.isWhitespace }.lowercased()
    if unit.isEmpty || unit.hasPrefix("s") { return value * 1000 }
    if unit.hasPrefix("ms") { return value }
    if unit.hasPrefix("us") { return value >= 0 ? value / 1000 : -((-value + 999) / 1000) }
    if unit.hasPrefix("m") { return value * 60_000 }
    if unit.hasPrefix("h") { return value * 3_600_000 }
    return nil
  }

  /// An operation's `interval` in ms: an ISO 8601 duration (`P…`, whole numbers) or as
  /// `milliseconds`; 0 when absent, invalid or negative.
  static func interval(_ text: String?) -> Int {
    guard let text else { return 0 }
    if text.hasPrefix("P") { return iso8601Milliseconds(text) ?? 0 }
    guard let ms = milliseconds(text), ms >= 0 else { return 0 }
    return ms
  }

  /// `P[nY][nM][nW][nD][T[nH][nM][nS]]` with whole numbers, in ms (a month is 30 days).
  static func iso8601Milliseconds(_ text: String) -> Int? {
    guard text.hasPrefix("P") else { return nil }
    var rest = Substring(text.dropFirst())
    var seconds = 0
    // Consumes `<digits><designator>` groups whose designators come in the given order.
    func take(_ units: [(Character, Int)]) -> Bool {
      var next = 0
      while true {
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else { return true }
        let designator = rest.dropFirst(digits.count).first
        guard let value = Int(digits), let i = units[next...].firstIndex(where: { $0.0 == designator })
        else { return false }
        seconds += value * units[i].1
        next = i + 1
        rest = rest.dropFirst(digits.count + 1)
      }
    }
    guard take([("Y", 365 * 86_400), ("M", 30 * 86_400), ("W", 7 * 86_400), ("D", 86_400)]) else {
      return nil
    }
    if rest.first == "T" {
      rest = rest.dropFirst()
      guard take([("H", 3_600), ("M", 60), ("S", 1)]) else { return nil }
    }
    return rest.isEmpty ? seconds * 1000 : nil
  }

  /// An action timeout in ms: `milliseconds` (no ISO form), 20 s when invalid or not positive,
  /// capped at `INT_MAX`.
  static func timeout(_ text: String?) -> Int {
    guard let text, let ms = milliseconds(text), ms > 0 else { return 20_000 }
    return min(ms, Int(Int32.max))
  }

  /// Feature sets compared numerically, field by field (`3.0.12` < `3.16.0`).
  static func versionPrecedes(_ a: String, _ b: String) -> Bool {
    func fields(_ text: String) -> [Int] {
      text.split { !($0.isASCII && $0.isNumber) }.compactMap { Int($0) }
    }
    var x = fields(a)
    var y = fields(b)
    let count = max(x.count, y.count)
    x += Array(repeating: 0, count: count - x.count)
    y += Array(repeating: 0, count: count - y.count)
    return x.lexicographicallyPrecedes(y)
  }
}
