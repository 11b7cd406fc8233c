import ResourceModel

/// Pacemaker's spellings of durations, booleans, roles and scores, as its option parsers accept them.
enum PacemakerValues {
  /// An interval or timeout in milliseconds: an ISO 8601 duration (`PT10S`), or a number with an
  /// optional unit (`10`, `10s`, `10sec`, `500ms`, `2min`, `1h`, `100us`). A bare number is seconds,
  /// as in Pacemaker (`interval="10"` is ten seconds). Nil when unparsable.
  static func milliseconds(_ text: String) -> Int? {
    let trimmed = text.trimmingSpaces
    if trimmed.hasPrefix("P") { return iso8601DurationSeconds(trimmed).map { $0 * 1000 } }
    var digits = Substring(trimmed)
    let number = digits.prefix { $0.isASCII && $0.isNumber }
    guard !number.isEmpty, let value = Int(number) else { return nil }
    digits = digits.dropFirst(number.count)
    // Pacemaker reads only the integer part of a decimal.
    digits = digits.drop { ($0.isASCII && $0.isNumber) || $0 == "." }
    // Units match by prefix, in Pacemaker's order ("ms" before "m").
    let unit = digits.drop { $0 == " " || $0 == "\t" }.lowercased()
    if unit.isEmpty || unit.hasPrefix("s") { return value * 1000 }
    if unit.hasPrefix("ms") { return value }
    if unit.hasPrefix("us") { return value / 1000 }
    if unit.hasPrefix("m") { return value * 60_000 }
    if unit.hasPrefix("h") { return value * 3_600_000 }
    return nil
  }

  /// `P[nY][nM][nW][nD][T[nH][nM][nS]]` in whole seconds (a month is 30 days, a year 365).
  static func iso8601DurationSeconds(_ text: String) -> Int? {
    guard text.hasPrefix("P") else { return nil }
    var seconds = 0
    var number = ""
    var inTime = false
    var sawComponent = false
    for ch in text.dropFirst() {
      if (ch.isASCII && ch.isNumber) || ch == "." {
        number.append(ch)
        continue
      }
      if ch == "T" {
        guard number.isEmpty else { return nil }
        inTime = true
        continue
      }
      guard let value = Double(number) else { return nil }
      number = ""
      sawComponent = true
      let unit: Double
      switch (ch, inTime) {
      case ("Y", false): unit = 365 * 86_400
      case ("M", false): unit = 30 * 86_400
      case ("W", false): unit = 7 * 86_400
      case ("D", false): unit = 86_400
      case ("H", true): unit = 3_600
      case ("M", true): unit = 60
      case ("S", true): unit = 1
      default: return nil
      }
      seconds += Int(value * unit)
    }
    return number.isEmpty && sawComponent ? seconds : nil
  }

  /// Pacemaker's booleans: true/on/yes/y/1 and false/off/no/n/0, any case. Nil otherwise.
  static func bool(_ text: String?) -> Bool? {
    guard let text else { return nil }
    switch text.trimmingSpaces.lowercased() {
    case "true", "on", "yes", "y", "1": return true
    case "false", "off", "no", "n", "0": return false
    default: return nil
    }
  }

  /// The current name of a role in any case or legacy spelling (Master → Promoted, Slave →
  /// Unpromoted). Nil when it is not a role.
  static func role(_ text: String) -> String? {
    switch text.trimmingSpaces.lowercased() {
    case "stopped": "Stopped"
    case "started": "Started"
    case "unpromoted", "slave": "Unpromoted"
    case "promoted", "master": "Promoted"
    default: nil
    }
  }

  static func score(_ text: String) -> Score? { Score(parsing: text) }
}

extension String {
  var trimmingSpaces: String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
  }
}
