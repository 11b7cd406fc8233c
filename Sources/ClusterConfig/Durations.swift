/// Durations as written in `cluster.conf` and on the `swpcs` command line.
///
/// Syntax: a decimal number with an optional fraction, followed by an optional unit — `ms`, `s` or
/// `m` (minutes). A number without a unit is milliseconds. Examples: `250ms`, `1s`, `1.5s`, `2m`,
/// `1000`. Returns nil for anything else, for negative values, for values finer than a nanosecond
/// and for values that do not fit in 64-bit nanoseconds.
public func parseDuration(_ s: String) -> Duration? {
  let bytes = Array(s.utf8)
  var i = 0
  func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

  var whole: [UInt8] = []
  while i < bytes.count, isDigit(bytes[i]) {
    whole.append(bytes[i] - UInt8(ascii: "0"))
    i += 1
  }
  guard !whole.isEmpty else { return nil }
  var fraction: [UInt8] = []
  if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
    i += 1
    while i < bytes.count, isDigit(bytes[i]) {
      fraction.append(bytes[i] - UInt8(ascii: "0"))
      i += 1
    }
    guard !fraction.isEmpty else { return nil }
  }
  let unit: UInt64
  switch String(decoding: bytes[i...], as: UTF8.self) {
  case "", "ms": unit = 1_000_000
  case "s": unit = 1_000_000_000
  case "m": unit = 60_000_000_000
  default: return nil
  }

  var wholeValue: UInt64 = 0
  for digit in whole {
    let (m, o1) = wholeValue.multipliedReportingOverflow(by: 10)
    let (a, o2) = m.addingReportingOverflow(UInt64(digit))
    if o1 || o2 { return nil }
    wholeValue = a
  }
  while fraction.last == 0 { fraction.removeLast() }
  // More than 15 significant fraction digits is always finer than a nanosecond for these units.
  guard fraction.count <= 15 else { return nil }
  var fractionValue: UInt64 = 0
  var scale: UInt64 = 1
  for digit in fraction {
    fractionValue = fractionValue * 10 + UInt64(digit)
    scale *= 10
  }
  // unit * fractionValue / scale, exactly: the product may exceed 64 bits, the quotient cannot
  // (fractionValue < scale).
  let product = unit.multipliedFullWidth(by: fractionValue)
  let (fractionNanos, remainder) = scale.dividingFullWidth(product)
  guard remainder == 0 else { return nil }

  let (wholeNanos, o1) = wholeValue.multipliedReportingOverflow(by: unit)
  let (total, o2) = wholeNanos.addingReportingOverflow(fractionNanos)
  guard !o1, !o2, total <= UInt64(Int64.max) else { return nil }
  return .nanoseconds(Int64(total))
}

/// The canonical text of a duration, accepted back by `parseDuration`: milliseconds below one
/// second (`250ms`, `0.5ms`), seconds from one second up (`1s`, `1.5s`, `90s`). Precision is
/// nanoseconds; finer parts are dropped.
public func formatDuration(_ d: Duration) -> String {
  let ns = d.nanosecondsClamped
  let sign = ns < 0 ? "-" : ""
  let magnitude = ns.magnitude
  if magnitude < 1_000_000_000 {
    return sign + decimal(magnitude / 1_000_000, magnitude % 1_000_000, digits: 6) + "ms"
  }
  return sign + decimal(magnitude / 1_000_000_000, magnitude % 1_000_000_000, digits: 9) + "s"
}

/// `whole.fraction` with the fraction zero-padded to `digits` and trailing zeros removed.
private func decimal(_ whole: UInt64, _ fraction: UInt64, digits: Int) -> String {
  guard fraction != 0 else { return String(whole) }
  var f = String(fraction)
  f = String(repeating: "0", count: digits - f.count) + f
  while f.hasSuffix("0") { f.removeLast() }
  return "\(whole).\(f)"
}
