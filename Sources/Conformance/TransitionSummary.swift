/// One line of a Pacemaker "Transition Summary" (or of our `Transition.summary`), reduced to what
/// the scheduler decided: verb, resource, where from, where to, and role change.
///
/// Exists because Pacemaker pads columns by the widths of earlier lines and appends reasons
/// ("due to node availability", "blocked") that a re-implementation need not word identically; two
/// actions are the same decision when their `key`s are equal.
public struct SummaryAction: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Start, Stop, Move, Recover, Restart, Promote, Demote, Reload, Migrate, Fence, ...
  public var verb: String
  /// Resource instance id (`rsc`, `clone-child:2`), or the target node for Fence.
  public var resource: String
  public var from: String?
  public var to: String?
  /// `Promoted`, `Unpromoted -> Promoted`, or for Fence the fencing action (`reboot`, `off`).
  public var role: String?
  /// "due to …", "blocked", or the quoted fence reason: shown, not compared.
  public var reason: String?

  public init(
    verb: String, resource: String, from: String? = nil, to: String? = nil, role: String? = nil,
    reason: String? = nil
  ) {
    self.verb = verb
    self.resource = resource
    self.from = from
    self.to = to
    self.role = role
    self.reason = reason
  }

  /// Everything compared: the decision without its reason.
  public var key: String {
    [verb, resource, from ?? "-", to ?? "-", role ?? "-"].joined(separator: "|")
  }

  public static func == (a: SummaryAction, b: SummaryAction) -> Bool { a.key == b.key }
  public func hash(into hasher: inout Hasher) { hasher.combine(key) }
  public static func < (a: SummaryAction, b: SummaryAction) -> Bool { a.key < b.key }

  public var description: String {
    if verb == "Fence" { return "Fence (\(role ?? "reboot")) \(resource)" }
    var place: String
    switch (from, to) {
    case (let f?, let t?) where f == t: place = f
    case (let f?, let t?): place = "\(f) -> \(t)"
    case (let f?, nil): place = f
    case (nil, let t?): place = t
    case (nil, nil): place = ""
    }
    if let role { place = "\(role) \(place)" }
    return "\(verb) \(resource) ( \(place) )"
  }

  /// The same action with anonymous clone instance numbers removed (`dummy:2` → `dummy`), for
  /// resources in `anonymous`: which instance number lands where is an implementation detail.
  public func withoutInstanceNumber(for anonymous: Set<String>) -> SummaryAction {
    guard verb != "Fence", let colon = resource.lastIndex(of: ":") else { return self }
    let base = String(resource[..<colon])
    let number = resource[resource.index(after: colon)...]
    guard anonymous.contains(base), !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      return self
    }
    var copy = self
    copy.resource = base
    return copy
  }
}

/// Reading summary files and summary lines.
public enum TransitionSummary {
  private static let roles: [String: String] = [
    "stopped": "Stopped", "started": "Started", "unpromoted": "Unpromoted", "slave": "Unpromoted",
    "promoted": "Promoted", "master": "Promoted", "unknown": "Unknown",
  ]

  /// The lines of a `.summary` file's "Transition Summary:" section (without blank lines).
  public static func section(of summary: String) -> [String] {
    var lines: [String] = []
    var inside = false
    for raw in summary.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = String(raw).trimming(" \t\r")
      if line == "Transition Summary:" {
        inside = true
        continue
      }
      guard inside else { continue }
      if line.hasSuffix(":") && !line.hasPrefix("*") { break }  // next section
      if !line.isEmpty { lines.append(line) }
    }
    return lines
  }

  /// Parses one line, with or without the leading "* ". Lines that do not have the expected
  /// shape are kept whole (whitespace collapsed) as the verb, so they still compare.
  public static func parse(_ line: String) -> SummaryAction {
    var tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    if tokens.first == "*" { tokens.removeFirst() }
    let collapsed = tokens.joined(separator: " ")
    guard tokens.count >= 2 else { return SummaryAction(verb: collapsed, resource: "") }
    let verb = tokens[0]
    if verb == "Fence", tokens.count >= 3, tokens[1].hasPrefix("("), tokens[1].hasSuffix(")") {
      let action = String(tokens[1].dropFirst().dropLast())
      let rest = tokens.dropFirst(3).joined(separator: " ")
      let reason = rest.isEmpty ? nil : rest.trimming("'")
      return SummaryAction(verb: "Fence", resource: tokens[2], role: action, reason: reason)
    }
    guard tokens.count >= 4, tokens[2] == "(", let close = tokens.firstIndex(of: ")"), close > 3 else {
      return SummaryAction(verb: collapsed, resource: "")
    }
    let details = Array(tokens[3..<close])
    let rest = tokens[(close + 1)...].joined(separator: " ")
    var action = SummaryAction(verb: verb, resource: tokens[1], reason: rest.isEmpty ? nil : rest)
    guard place(details, into: &action) else { return SummaryAction(verb: collapsed, resource: "") }
    return action
  }

  /// Reads the parenthesised part, in each of the shapes Pacemaker prints:
  /// `N`, `R N`, `A -> B`, `A -> B R`, `R1 -> R2 N`, `R1 A -> R2 B`.
  private static func place(_ details: [String], into action: inout SummaryAction) -> Bool {
    func role(_ token: String) -> String? { roles[token.lowercased()] }
    guard let arrow = details.firstIndex(of: "->") else {
      switch details.count {
      case 1: assign(node: details[0], to: &action)
      case 2:
        guard let r = role(details[0]) else { return false }
        action.role = r
        assign(node: details[1], to: &action)
      default: return false
      }
      return true
    }
    let left = Array(details[..<arrow])
    let right = Array(details[(arrow + 1)...])
    switch (left.count, right.count) {
    case (1, 1):  // A -> B
      action.from = left[0]
      action.to = right[0]
    case (1, 2):
      if let r1 = role(left[0]), let r2 = role(right[0]) {  // R1 -> R2 N
        action.role = "\(r1) -> \(r2)"
        if action.verb == "Start" {
          action.to = right[1]
        } else {
          action.from = right[1]
          action.to = right[1]
        }
      } else if let r = role(right[1]) {  // A -> B R
        action.from = left[0]
        action.to = right[0]
        action.role = r
      } else {
        return false
      }
    case (2, 2):  // R1 A -> R2 B
      guard let r1 = role(left[0]), let r2 = role(right[0]) else { return false }
      action.role = "\(r1) -> \(r2)"
      action.from = left[1]
      action.to = right[1]
    default:
      return false
    }
    return true
  }

  /// A single node: where a Start goes, where a Stop happens, else both (restart in place).
  private static func assign(node: String, to action: inout SummaryAction) {
    switch action.verb {
    case "Start": action.to = node
    case "Stop": action.from = node
    default:
      action.from = node
      action.to = node
    }
  }
}

extension String {
  /// The string without any of `set`'s characters at either end.
  func trimming(_ set: String) -> String {
    let chars = Set(set)
    return String(
      drop(while: { chars.contains($0) }).reversed().drop(while: { chars.contains($0) }).reversed())
  }
}
