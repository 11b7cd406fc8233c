import Quorum
import Testing

private let lms = QuorumOptions(waitForAll: true, lastManStanding: true)
private let lmsFlags: QuorumFlags = [.waitForAll, .lastManStanding]
private let lmsAtb = QuorumOptions(waitForAll: true, lastManStanding: true, autoTieBreaker: true)
private let lmsAtbFlags: QuorumFlags = [.waitForAll, .lastManStanding, .autoTieBreaker]

let lastManStandingScenarios: [Scenario] = [
  Scenario(
    "last_man_standing steps expected votes 5 to 4 to 3 to 2, one window after each loss", nodes: nodes(5),
    options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], at: 0, .quorate(expected: 5, total: 5, quorum: 3)),
      .deadline(nil),
      .tick(at: 0, nil),
      .view([1, 2, 3, 4], at: 100, .quorate(expected: 5, total: 4, quorum: 3)),
      .deadline(110),
      .tick(at: 109, nil),
      .tick(at: 110, .quorate(expected: 4, total: 4, quorum: 3)),
      .deadline(nil),
      .view([1, 2, 3], at: 200, .quorate(expected: 4, total: 3, quorum: 3)),
      .tick(at: 210, .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1, 2], at: 300, .quorate(expected: 3, total: 2, quorum: 2)),
      .tick(at: 310, .quorate(expected: 2, total: 2, quorum: 2)),
      .view([1], at: 400, .inquorate(expected: 2, total: 1, quorum: 2, waiting: true)),
      .deadline(nil),
    ]),
  Scenario(
    "last_man_standing cannot save a partition that lost the majority at once", nodes: nodes(5),
    options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2], at: 10, .inquorate(expected: 5, total: 2, quorum: 3, waiting: true)),
      .deadline(nil),
    ]),
  Scenario(
    "another loss during the window restarts it", nodes: nodes(5), options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3, 4], at: 10, .quorate(expected: 5, total: 4, quorum: 3)),
      .deadline(20),
      .view([1, 2, 3], at: 15, .quorate(expected: 5, total: 3, quorum: 3)),
      .deadline(25),
      .tick(at: 20, nil),
      .tick(at: 25, .quorate(expected: 3, total: 3, quorum: 2)),
    ]),
  Scenario(
    "a join during the window does not cancel it: expected votes drop to the members present at its end",
    nodes: nodes(5), options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3], at: 10, .quorate(expected: 5, total: 3, quorum: 3)),
      .view([1, 2, 3, 4], at: 15, .quorate(expected: 5, total: 4, quorum: 3)),
      .deadline(20),
      .tick(at: 20, .quorate(expected: 4, total: 4, quorum: 3)),
    ]),
  Scenario(
    "when every node is back before the window ends, its end changes nothing", nodes: nodes(5),
    options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3], at: 10, .quorate(expected: 5, total: 3, quorum: 3)),
      .view([1, 2, 3, 4, 5], at: 15, .quorate(expected: 5, total: 5, quorum: 3)),
      .tick(at: 20, nil),
      .deadline(nil),
    ]),
  Scenario(
    "a window ending after quorum was lost changes nothing", nodes: nodes(5), options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3], at: 10, .quorate(expected: 5, total: 3, quorum: 3)),
      .view([1, 2], at: 12, .inquorate(expected: 5, total: 2, quorum: 3, waiting: true)),
      .deadline(20),
      .tick(at: 20, nil),
      .deadline(nil),
    ]),
  Scenario(
    "last_man_standing without auto_tie_breaker never goes from 2 to 1", nodes: nodes(3),
    options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3], .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1, 2], at: 10, .quorate(expected: 3, total: 2, quorum: 2)),
      .tick(at: 20, .quorate(expected: 2, total: 2, quorum: 2)),
      .view([1], at: 30, .inquorate(expected: 2, total: 1, quorum: 2, waiting: true)),
      .deadline(nil),
    ]),
  Scenario(
    "last_man_standing with auto_tie_breaker goes from 2 to 1 on the tie-breaker node", nodes: nodes(4),
    options: lmsAtb, flags: lmsAtbFlags,
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .deadline(nil),
      .view([1, 2, 3], at: 10, .quorate(expected: 4, total: 3, quorum: 3)),
      .tick(at: 20, .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1, 2], at: 30, .quorate(expected: 3, total: 2, quorum: 2)),
      .tick(at: 40, .quorate(expected: 2, total: 2, quorum: 2)),
      .view([1], at: 50, .quorate(expected: 2, total: 1, quorum: 2)),
      .deadline(60),
      .tick(at: 60, .quorate(expected: 1, total: 1, quorum: 1)),
    ]),
  Scenario(
    "last_man_standing with auto_tie_breaker leaves the other node of the last pair inquorate",
    nodes: nodes(4), options: lmsAtb, flags: lmsAtbFlags,
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([1, 2, 3], at: 10, .quorate(expected: 4, total: 3, quorum: 3)),
      .tick(at: 20, .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1, 2], at: 30, .quorate(expected: 3, total: 2, quorum: 2)),
      .tick(at: 40, .quorate(expected: 2, total: 2, quorum: 2)),
      .view([2], at: 50, .inquorate(expected: 2, total: 1, quorum: 2, waiting: true)),
      .deadline(nil),
    ]),
  Scenario(
    "last_man_standing with auto_tie_breaker steps the tie-breaker's half of an even split down",
    nodes: nodes(4), options: lmsAtb, flags: lmsAtbFlags,
    [
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([1, 2], at: 10, .quorate(expected: 4, total: 2, quorum: 3)),
      .deadline(20),
      .tick(at: 20, .quorate(expected: 2, total: 2, quorum: 2)),
    ]),
  Scenario(
    "a returning node adopts the lower expected votes of the quorate partition", nodes: nodes(5),
    options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([5], at: 10, .inquorate(expected: 5, total: 1, quorum: 3, waiting: true)),
      .view(
        [1, 2, 5], quorate: [1, 2], reported: [1: 2, 2: 2], at: 100,
        .quorate(expected: 3, total: 3, quorum: 2)),
      .deadline(nil),
    ]),
  Scenario(
    "a returning node without the partition's expected votes keeps its own", nodes: nodes(5),
    options: lms, flags: lmsFlags,
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([5], at: 10, .inquorate(expected: 5, total: 1, quorum: 3, waiting: true)),
      .view([1, 2, 5], quorate: [1, 2], at: 100, .quorate(expected: 5, total: 3, quorum: 3)),
    ]),
]

@Suite("last_man_standing")
struct LastManStandingTests {
  @Test(arguments: lastManStandingScenarios)
  func lastManStanding(_ scenario: Scenario) throws { try scenario.run() }
}
