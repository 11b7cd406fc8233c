import ResourceModel

/// The outcome of one regression case: our scheduler's Transition Summary against Pacemaker's.
///
/// Actions are compared as a multiset of `SummaryAction.key`s (order and padding ignored,
/// anonymous clone instance numbers removed). A case passes when nothing is missing or extra and
/// nothing got in the way (`error`: the CIB could not be read, or it uses features the model does
/// not carry).
public struct CaseResult: Codable, Sendable, Equatable {
  public var name: String
  public var tier: String?
  public var passed: Bool
  /// Pacemaker's actions, normalized (`SummaryAction.description`), sorted.
  public var expected: [String]
  /// Ours, normalized the same way.
  public var actual: [String]
  public var missing: [String]
  public var extra: [String]
  public var error: String?

  public init(
    name: String, tier: String? = nil, passed: Bool, expected: [String] = [], actual: [String] = [],
    missing: [String] = [], extra: [String] = [], error: String? = nil
  ) {
    self.name = name
    self.tier = tier
    self.passed = passed
    self.expected = expected
    self.actual = actual
    self.missing = missing
    self.extra = extra
    self.error = error
  }

  /// A case that could not be run at all.
  public static func failure(_ name: String, tier: String?, error: String) -> CaseResult {
    CaseResult(name: name, tier: tier, passed: false, error: error)
  }
}

/// Comparing two Transition Summaries.
public enum SummaryComparison {
  /// Compares Pacemaker's summary lines with ours. `anonymous` names the cloned primitives whose
  /// instance numbers are ignored (see `anonymousCloneMembers`).
  public static func compare(
    name: String, tier: String? = nil, expected expectedLines: [String], actual actualLines: [String],
    anonymous: Set<String>
  ) -> CaseResult {
    let expected = expectedLines.map { TransitionSummary.parse($0).withoutInstanceNumber(for: anonymous) }
      .sorted()
    let actual = actualLines.map { TransitionSummary.parse($0).withoutInstanceNumber(for: anonymous) }
      .sorted()
    var unmatched = actual
    var missing: [SummaryAction] = []
    for action in expected {
      if let i = unmatched.firstIndex(of: action) {
        unmatched.remove(at: i)
      } else {
        missing.append(action)
      }
    }
    return CaseResult(
      name: name, tier: tier, passed: missing.isEmpty && unmatched.isEmpty,
      expected: expected.map(display), actual: actual.map(display), missing: missing.map(display),
      extra: unmatched.map(display))
  }

  private static func display(_ action: SummaryAction) -> String {
    action.reason.map { "\(action) [\($0)]" } ?? action.description
  }

  /// The primitives inside clones that are not globally unique: their instances are
  /// interchangeable, so `rsc:0` and `rsc:3` name the same decision.
  public static func anonymousCloneMembers(_ config: ResourceConfiguration) -> Set<String> {
    var result: Set<String> = []
    for case .clone(let clone) in config.resources {
      guard !clone.isGloballyUnique(resourceDefaults: config.resourceDefaults) else { continue }
      switch clone.child {
      case .primitive(let p): result.insert(p.id)
      case .group(let g): result.formUnion(g.members.map(\.id))
      }
    }
    return result
  }
}
