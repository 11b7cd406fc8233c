import Quorum
import Testing

let twoNodeScenarios: [Scenario] = [
  Scenario(
    "two_node keeps quorum when the peer is lost", nodes: nodes(2),
    options: QuorumOptions(twoNode: true), flags: [.twoNode, .waitForAll],
    [
      .initially(.inquorate(expected: 2, total: 0, quorum: 1, waiting: true)),
      .view([1, 2], .quorate(expected: 2, total: 2, quorum: 1)),
      .view([1], .quorate(expected: 2, total: 1, quorum: 1)),
      .view([1, 2], .quorate(expected: 2, total: 2, quorum: 1)),
    ]),
  Scenario(
    "two_node keeps quorum on the other node when its peer is lost", nodes: nodes(2),
    options: QuorumOptions(twoNode: true), flags: [.twoNode, .waitForAll],
    [
      .view([1, 2], .quorate(expected: 2, total: 2, quorum: 1)),
      .view([2], .quorate(expected: 2, total: 1, quorum: 1)),
    ]),
  Scenario(
    "two_node waits for both nodes at first start", nodes: nodes(2),
    options: QuorumOptions(twoNode: true), flags: [.twoNode, .waitForAll],
    [
      .view([1], .inquorate(expected: 2, total: 1, quorum: 1, waiting: true)),
      .view([1], .inquorate(expected: 2, total: 1, quorum: 1, waiting: true)),
      .view([1, 2], .quorate(expected: 2, total: 2, quorum: 1)),
    ]),
  Scenario(
    "two_node with wait_for_all off is quorate alone at first start", nodes: nodes(2),
    options: QuorumOptions(twoNode: true, waitForAll: false), flags: [.twoNode],
    [
      .initially(.inquorate(expected: 2, total: 0, quorum: 1)),
      .view([1], .quorate(expected: 2, total: 1, quorum: 1)),
    ]),
  Scenario(
    "unblock lets a two_node survivor start without its dead peer", nodes: nodes(2),
    options: QuorumOptions(twoNode: true), flags: [.twoNode, .waitForAll],
    [
      .view([1], .inquorate(expected: 2, total: 1, quorum: 1, waiting: true)),
      .unblock(.quorate(expected: 2, total: 1, quorum: 1)),
    ]),
  Scenario(
    "two_node is inactive with three configured nodes but still implies wait_for_all", nodes: nodes(3),
    options: QuorumOptions(twoNode: true), flags: [.waitForAll],
    [
      .initially(.inquorate(expected: 3, total: 0, quorum: 2, waiting: true)),
      .view([1, 2], .inquorate(expected: 3, total: 2, quorum: 2, waiting: true)),
      .view([1, 2, 3], .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1], .inquorate(expected: 3, total: 1, quorum: 2, waiting: true)),
    ]),
  Scenario(
    "two_node with three configured nodes and wait_for_all off needs a plain majority", nodes: nodes(3),
    options: QuorumOptions(twoNode: true, waitForAll: false),
    [
      .view([1], .inquorate(expected: 3, total: 1, quorum: 2)),
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
    ]),
]

let waitForAllScenarios: [Scenario] = [
  Scenario(
    "wait_for_all withholds quorum until every node was seen in one view", nodes: nodes(3),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .initially(.inquorate(expected: 3, total: 0, quorum: 2, waiting: true)),
      .view([1, 2], .inquorate(expected: 3, total: 2, quorum: 2, waiting: true)),
      .view([1, 2, 3], .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
    ]),
  Scenario(
    "wait_for_all re-arms when quorum is lost", nodes: nodes(3),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([1, 2, 3], .quorate(expected: 3, total: 3, quorum: 2)),
      .view([1], .inquorate(expected: 3, total: 1, quorum: 2, waiting: true)),
      .view([1, 2], .inquorate(expected: 3, total: 2, quorum: 2, waiting: true)),
      .view([1, 2, 3], .quorate(expected: 3, total: 3, quorum: 2)),
    ]),
  Scenario(
    "a member that was already quorate releases wait_for_all early", nodes: nodes(5),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([5], .inquorate(expected: 5, total: 1, quorum: 3, waiting: true)),
      .view([1, 2, 3, 5], quorate: [1, 2, 3], .quorate(expected: 5, total: 4, quorum: 3)),
    ]),
  Scenario(
    "members that were not quorate do not release wait_for_all", nodes: nodes(5),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([5], .inquorate(expected: 5, total: 1, quorum: 3, waiting: true)),
      .view([1, 2, 3, 5], .inquorate(expected: 5, total: 4, quorum: 3, waiting: true)),
    ]),
  Scenario(
    "a quorate report from a node outside the view is ignored", nodes: nodes(3),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([1, 2], quorate: [3], .inquorate(expected: 3, total: 2, quorum: 2, waiting: true))
    ]),
  Scenario(
    "a quorate member's report does not grant quorum without enough votes", nodes: nodes(5),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([5], .inquorate(expected: 5, total: 1, quorum: 3, waiting: true)),
      .view([4, 5], quorate: [4], .inquorate(expected: 5, total: 2, quorum: 3, waiting: true)),
    ]),
  Scenario(
    "unblock makes a partition with enough votes quorate and it stays so", nodes: nodes(3),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([1, 2], .inquorate(expected: 3, total: 2, quorum: 2, waiting: true)),
      .unblock(.quorate(expected: 3, total: 2, quorum: 2)),
      .view([1, 2], .quorate(expected: 3, total: 2, quorum: 2)),
    ]),
  Scenario(
    "unblock without enough votes leaves wait_for_all armed", nodes: nodes(3),
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([1], .inquorate(expected: 3, total: 1, quorum: 2, waiting: true)),
      .unblock(.inquorate(expected: 3, total: 1, quorum: 2, waiting: true)),
    ]),
  Scenario(
    "unblock without wait_for_all changes nothing", nodes: nodes(3),
    [
      .view([1], .inquorate(expected: 3, total: 1, quorum: 2)),
      .unblock(.inquorate(expected: 3, total: 1, quorum: 2)),
    ]),
  Scenario(
    "wait_for_all waits for the expected votes, even above the configured nodes' votes", nodes: nodes(3),
    options: QuorumOptions(expectedVotes: 4, waitForAll: true), flags: [.waitForAll],
    [
      .initially(.inquorate(expected: 4, total: 0, quorum: 3, waiting: true)),
      .view([1, 2, 3], .inquorate(expected: 4, total: 3, quorum: 3, waiting: true)),
      .unblock(.quorate(expected: 4, total: 3, quorum: 3)),
    ]),
  Scenario(
    "wait_for_all with unequal votes needs every vote, not just a majority", nodes: [1: 2, 2: 1, 3: 1],
    options: QuorumOptions(waitForAll: true), flags: [.waitForAll],
    [
      .view([1, 2], .inquorate(expected: 4, total: 3, quorum: 3, waiting: true)),
      .view([1, 2, 3], .quorate(expected: 4, total: 4, quorum: 3)),
    ]),
]

@Suite("two_node and wait_for_all")
struct WaitForAllTests {
  @Test(arguments: twoNodeScenarios)
  func twoNode(_ scenario: Scenario) throws { try scenario.run() }

  @Test(arguments: waitForAllScenarios)
  func waitForAll(_ scenario: Scenario) throws { try scenario.run() }
}
