import Quorum
import Testing

/// Plain votequorum: quorum = max(expected / 2 + 1, total / 2 + 1), expected votes only grow.
let majorityScenarios: [Scenario] = [
  Scenario(
    "a single node is quorate on its own", nodes: nodes(1),
    [
      .initially(.inquorate(expected: 1, total: 0, quorum: 1)),
      .view([1], .quorate(expected: 1, total: 1, quorum: 1)),
    ]),
  Scenario(
    "two nodes without two_node need both votes", nodes: nodes(2),
    [
      .initially(.inquorate(expected: 2, total: 0, quorum: 2)),
      .view([1], .inquorate(expected: 2, total: 1, quorum: 2)),
      .view([1, 2], .quorate(expected: 2, total: 2, quorum: 2)),
      .view([1], .inquorate(expected: 2, total: 1, quorum: 2)),
    ]),
  Scenario(
    "three nodes survive the loss of one node but not of two", nodes: nodes(3),
    [
      .view([1, 2, 3], .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
      .view([1], .inquorate(expected: 3, total: 1, quorum: 2)),
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
    ]),
  Scenario(
    "four nodes need three votes, so a two:two split leaves both halves inquorate", nodes: nodes(4),
    [
      .view([1, 2], .inquorate(expected: 4, total: 2, quorum: 3)),
      .view([1, 2, 3], .quorate(expected: 4, total: 3, quorum: 3)),
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([1, 2], .inquorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "five nodes keep quorum in a three node majority", nodes: nodes(5),
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3], .quorate(expected: 5, total: 3, quorum: 3)),
      .view([1, 2], .inquorate(expected: 5, total: 2, quorum: 3)),
    ]),
  Scenario(
    "the two node minority of a five node split is inquorate", nodes: nodes(5),
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([4, 5], .inquorate(expected: 5, total: 2, quorum: 3)),
    ]),
  Scenario(
    "a node with two votes counts double", nodes: [1: 2, 2: 1, 3: 1],
    [
      .initially(.inquorate(expected: 4, total: 0, quorum: 3)),
      .view([2], .inquorate(expected: 4, total: 1, quorum: 3)),
      .view([1, 2], .quorate(expected: 4, total: 3, quorum: 3)),
      .view([2, 3], .inquorate(expected: 4, total: 2, quorum: 3)),
    ]),
  Scenario(
    "a node holding a majority of the votes is quorate alone", nodes: [1: 3, 2: 1, 3: 1],
    [
      .view([1], .quorate(expected: 5, total: 3, quorum: 3)),
      .view([1, 2, 3], .quorate(expected: 5, total: 5, quorum: 3)),
    ]),
  Scenario(
    "the light nodes without the heavy one are inquorate", nodes: [1: 3, 2: 1, 3: 1],
    [
      .view([1, 2, 3], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([2, 3], .inquorate(expected: 5, total: 2, quorum: 3)),
    ]),
  Scenario(
    "a zero-vote member is a member but adds no votes", nodes: [1: 1, 2: 1, 3: 0],
    [
      .view([1, 3], .inquorate(expected: 2, total: 1, quorum: 2)),
      .view([1, 2, 3], .quorate(expected: 2, total: 2, quorum: 2)),
    ]),
  Scenario(
    "members that are not configured are ignored", nodes: nodes(3),
    [
      .view([1, 2, 9], .quorate(expected: 3, total: 2, quorum: 2)),
      .view([1, 8, 9], .inquorate(expected: 3, total: 1, quorum: 2)),
    ]),
  Scenario(
    "configured expected_votes above the node votes raises quorum", nodes: nodes(3),
    options: QuorumOptions(expectedVotes: 5),
    [
      .initially(.inquorate(expected: 5, total: 0, quorum: 3)),
      .view([1, 2, 3], .quorate(expected: 5, total: 3, quorum: 3)),
      .view([1, 2], .inquorate(expected: 5, total: 2, quorum: 3)),
    ]),
  Scenario(
    "configured expected_votes below the node votes is raised by a bigger view and never drops back",
    nodes: nodes(5), options: QuorumOptions(expectedVotes: 3),
    [
      .initially(.inquorate(expected: 3, total: 0, quorum: 2)),
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
      .view([1, 2, 3, 4], .quorate(expected: 4, total: 4, quorum: 3)),
      .view([1, 2], .inquorate(expected: 4, total: 2, quorum: 3)),
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
    ]),
  Scenario(
    "expected_votes 2 on three nodes lets two nodes be quorate before the third was seen", nodes: nodes(3),
    options: QuorumOptions(expectedVotes: 2),
    [
      .view([1], .inquorate(expected: 2, total: 1, quorum: 2)),
      .view([1, 2], .quorate(expected: 2, total: 2, quorum: 2)),
      .view([1, 2, 3], .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1], .inquorate(expected: 3, total: 1, quorum: 2)),
    ]),
]

/// `swpcs quorum expected-votes N` (corosync-quorumtool -e).
let expectedVotesScenarios: [Scenario] = [
  Scenario(
    "expected-votes lowers quorum for a partition that lost nodes, until a bigger view raises it",
    nodes: nodes(5),
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3], .quorate(expected: 5, total: 3, quorum: 3)),
      .setExpected(3, .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
    ]),
  Scenario(
    "expected-votes gives an inquorate partition quorum", nodes: nodes(5),
    [
      .view([1, 2], .inquorate(expected: 5, total: 2, quorum: 3)),
      .setExpected(2, .quorate(expected: 2, total: 2, quorum: 2)),
    ]),
  Scenario(
    "expected-votes may raise quorum while the votes present still reach it", nodes: nodes(5),
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .setExpected(7, .quorate(expected: 7, total: 5, quorum: 4)),
      .view([1, 2, 3, 4], .quorate(expected: 7, total: 4, quorum: 4)),
      .view([1, 2, 3], .inquorate(expected: 7, total: 3, quorum: 4)),
    ]),
  Scenario(
    "expected-votes below the votes present is refused", nodes: nodes(5),
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .setExpectedFails(4, .expectedVotesBelowTotal(requested: 4, totalVotes: 5)),
      .setExpectedFails(0, .expectedVotesBelowOne(0)),
    ]),
  Scenario(
    "expected-votes that would cost a quorate partition its quorum is refused", nodes: nodes(3),
    [
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
      .setExpectedFails(4, .expectedVotesWouldLoseQuorum(requested: 4, quorum: 3, totalVotes: 2)),
      .setExpected(3, .quorate(expected: 3, total: 2, quorum: 2)),
    ]),
  Scenario(
    "a quorate member's higher expected votes raise quorum, which then does not drop on its own",
    nodes: nodes(5),
    [
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 3)),
      .view([1, 2, 3, 4, 5], quorate: [2], reported: [2: 7], .quorate(expected: 7, total: 5, quorum: 4)),
      .view([1, 2, 3, 4, 5], .quorate(expected: 5, total: 5, quorum: 4)),
      .view([1, 2, 3], .inquorate(expected: 5, total: 3, quorum: 4)),
    ]),
  Scenario(
    "expected-votes equal to the votes present releases wait_for_all", nodes: nodes(3),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([1, 2], .inquorate(expected: 3, total: 2, quorum: 2, waiting: true)),
      .setExpected(2, .quorate(expected: 2, total: 2, quorum: 2)),
    ]),
]

@Suite("Vote majority and expected votes")
struct MajorityTests {
  @Test(arguments: majorityScenarios)
  func majority(_ scenario: Scenario) throws { try scenario.run() }

  @Test(arguments: expectedVotesScenarios)
  func expectedVotes(_ scenario: Scenario) throws { try scenario.run() }
}
