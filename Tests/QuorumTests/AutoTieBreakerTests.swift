import ClusterTypes
import Quorum
import Testing

private let atb = QuorumOptions(autoTieBreaker: true)
private let highest = QuorumOptions(autoTieBreaker: true, autoTieBreakerNode: .highest)

private func list(_ ids: UInt32...) -> QuorumOptions {
  QuorumOptions(autoTieBreaker: true, autoTieBreakerNode: .list(ids.map(NodeId.init)))
}

let autoTieBreakerScenarios: [Scenario] = [
  Scenario(
    "auto_tie_breaker lowest keeps the half holding the lowest node of a four node split", nodes: nodes(4),
    options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([1, 2], .quorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "auto_tie_breaker lowest: the half without the lowest node loses quorum", nodes: nodes(4),
    options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([3, 4], .inquorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "auto_tie_breaker highest keeps the half holding the highest node", nodes: nodes(4),
    options: highest, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([3, 4], .quorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "auto_tie_breaker highest: the half without the highest node loses quorum", nodes: nodes(4),
    options: highest, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([1, 2], .inquorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "auto_tie_breaker list: the half holding the first listed node wins", nodes: nodes(4),
    options: list(3, 1), flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([3, 4], .quorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "auto_tie_breaker list: a later listed node loses while an earlier one was in the cluster",
    nodes: nodes(4), options: list(3, 1), flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([1, 2], .inquorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "auto_tie_breaker list falls through to the next node when the first was not in the cluster before",
    nodes: nodes(6), options: list(6, 1), flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 6, total: 5, quorum: 4)),
      .view([1, 2, 3], .quorate(expected: 6, total: 3, quorum: 4)),
    ]),
  Scenario(
    "auto_tie_breaker list: the second listed node's half loses when the first was in the cluster",
    nodes: nodes(6), options: list(6, 1), flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5, 6], .quorate(expected: 6, total: 6, quorum: 4)),
      .view([1, 2, 3], .inquorate(expected: 6, total: 3, quorum: 4)),
    ]),
  Scenario(
    "auto_tie_breaker list: the first listed node's half of a six node split wins", nodes: nodes(6),
    options: list(6, 1), flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5, 6], .quorate(expected: 6, total: 6, quorum: 4)),
      .view([4, 5, 6], .quorate(expected: 6, total: 3, quorum: 4)),
    ]),
  Scenario(
    "auto_tie_breaker lowest keeps the lowest half of a six node three:three split", nodes: nodes(6),
    options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5, 6], .quorate(expected: 6, total: 6, quorum: 4)),
      .view([1, 2, 3], .quorate(expected: 6, total: 3, quorum: 4)),
    ]),
  Scenario(
    "auto_tie_breaker lowest: the other half of a six node three:three split loses quorum", nodes: nodes(6),
    options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5, 6], .quorate(expected: 6, total: 6, quorum: 4)),
      .view([4, 5, 6], .inquorate(expected: 6, total: 3, quorum: 4)),
    ]),
  Scenario(
    "auto_tie_breaker does not help the lowest node's side of a two:four split", nodes: nodes(6),
    options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5, 6], .quorate(expected: 6, total: 6, quorum: 4)),
      .view([1, 2], .inquorate(expected: 6, total: 2, quorum: 4)),
    ]),
  Scenario(
    "the four node side of a two:four split is quorate by votes", nodes: nodes(6),
    options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5, 6], .quorate(expected: 6, total: 6, quorum: 4)),
      .view([3, 4, 5, 6], .quorate(expected: 6, total: 4, quorum: 4)),
    ]),
  Scenario(
    "auto_tie_breaker lowest means the lowest node of the last quorate view, not of the configuration",
    nodes: nodes(6), options: atb, flags: [.autoTieBreaker],
    [
      .view([2, 3, 4, 5, 6], .quorate(expected: 6, total: 5, quorum: 4)),
      .view([2, 3, 4], .quorate(expected: 6, total: 3, quorum: 4)),
    ]),
  Scenario(
    "auto_tie_breaker lowest cannot help before any view had quorum", nodes: nodes(4),
    options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2], .inquorate(expected: 4, total: 2, quorum: 3))
    ]),
  Scenario(
    "auto_tie_breaker with a node list can make the very first view quorate", nodes: nodes(4),
    options: list(1), flags: [.autoTieBreaker],
    [
      .view([1, 2], .quorate(expected: 4, total: 2, quorum: 3))
    ]),
  Scenario(
    "wait_for_all still holds back the tie-breaker's half at first start", nodes: nodes(4),
    options: QuorumOptions(waitForAll: true, autoTieBreaker: true, autoTieBreakerNode: .list([NodeId(1)])),
    flags: [.autoTieBreaker, .waitForAll],
    [
      .view([1, 2], .inquorate(expected: 4, total: 2, quorum: 3, waiting: true))
    ]),
  Scenario(
    "auto_tie_breaker in an odd cluster also decides a half-minus-one split after a node was lost",
    nodes: nodes(5), options: QuorumOptions(waitForAll: true, autoTieBreaker: true),
    flags: [.autoTieBreaker, .waitForAll],
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3, 4], .quorate(expected: 5, total: 4, quorum: 3)),
      .view([1, 2], .quorate(expected: 5, total: 2, quorum: 3)),
    ]),
  Scenario(
    "auto_tie_breaker in an odd cluster does not save two of five split off a full view", nodes: nodes(5),
    options: QuorumOptions(waitForAll: true, autoTieBreaker: true), flags: [.autoTieBreaker, .waitForAll],
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2], .inquorate(expected: 5, total: 2, quorum: 3, waiting: true)),
    ]),
  Scenario(
    "auto_tie_breaker is refused when at least quorum-many nodes vanished (corosync counts nodes)",
    nodes: [1: 1, 2: 1, 3: 0, 4: 0, 5: 0], options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 2, total: 2, quorum: 2)),
      .view([1], .inquorate(expected: 2, total: 1, quorum: 2)),
    ]),
  Scenario(
    "auto_tie_breaker applies when fewer than quorum-many nodes vanished",
    nodes: [1: 1, 2: 1, 3: 0, 4: 0, 5: 0], options: atb, flags: [.autoTieBreaker],
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 2, total: 2, quorum: 2)),
      .view([1, 3, 4, 5], .quorate(expected: 2, total: 1, quorum: 2)),
    ]),
]

@Suite("auto_tie_breaker")
struct AutoTieBreakerTests {
  @Test(arguments: autoTieBreakerScenarios)
  func autoTieBreaker(_ scenario: Scenario) throws { try scenario.run() }
}
