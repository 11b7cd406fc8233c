import ClusterTypes
import Quorum
import Testing

struct InvalidOptions: Sendable, CustomTestStringConvertible {
  var name: String
  var nodes: [UInt32: Int]
  var options: QuorumOptions
  var error: QuorumOptionError
  var testDescription: String { name }
}

struct ValidOptions: Sendable, CustomTestStringConvertible {
  var name: String
  var nodes: [UInt32: Int]
  var options: QuorumOptions
  var testDescription: String { name }
}

private func ids(_ raw: UInt32...) -> [NodeId] { raw.map(NodeId.init) }

let invalidOptions: [InvalidOptions] = [
  InvalidOptions(name: "no nodes", nodes: [:], options: QuorumOptions(), error: .noNodes),
  InvalidOptions(name: "node id 0", nodes: [0: 1, 1: 1], options: QuorumOptions(), error: .reservedNodeId),
  InvalidOptions(
    name: "negative votes", nodes: [1: 1, 2: -1], options: QuorumOptions(),
    error: .negativeVotes(node: NodeId(2), votes: -1)),
  InvalidOptions(name: "no votes at all", nodes: [1: 0, 2: 0], options: QuorumOptions(), error: .noVotes),
  InvalidOptions(
    name: "expected_votes 0", nodes: nodes(3), options: QuorumOptions(expectedVotes: 0),
    error: .expectedVotesBelowOne(0)),
  InvalidOptions(
    name: "last_man_standing without wait_for_all", nodes: nodes(3),
    options: QuorumOptions(lastManStanding: true), error: .lastManStandingWithoutWaitForAll),
  InvalidOptions(
    name: "last_man_standing with two_node but wait_for_all explicitly off", nodes: nodes(2),
    options: QuorumOptions(twoNode: true, waitForAll: false, lastManStanding: true),
    error: .lastManStandingWithoutWaitForAll),
  InvalidOptions(
    name: "last_man_standing with a two-vote node", nodes: [1: 1, 2: 2, 3: 1],
    options: QuorumOptions(waitForAll: true, lastManStanding: true),
    error: .lastManStandingNeedsOneVotePerNode(node: NodeId(2), votes: 2)),
  InvalidOptions(
    name: "last_man_standing with a zero-vote node", nodes: [1: 1, 2: 1, 3: 0],
    options: QuorumOptions(waitForAll: true, lastManStanding: true),
    error: .lastManStandingNeedsOneVotePerNode(node: NodeId(3), votes: 0)),
  InvalidOptions(
    name: "negative last_man_standing_window", nodes: nodes(3),
    options: QuorumOptions(waitForAll: true, lastManStanding: true, lastManStandingWindow: .seconds(-1)),
    error: .negativeLastManStandingWindow(.seconds(-1))),
  InvalidOptions(
    name: "two_node with auto_tie_breaker", nodes: nodes(2),
    options: QuorumOptions(twoNode: true, autoTieBreaker: true), error: .twoNodeWithAutoTieBreaker),
  InvalidOptions(
    name: "auto_tie_breaker with an odd number of votes and no wait_for_all", nodes: nodes(3),
    options: QuorumOptions(autoTieBreaker: true),
    error: .autoTieBreakerOddVotesWithoutWaitForAll(totalVotes: 3)),
  InvalidOptions(
    name: "auto_tie_breaker counts votes, not nodes, for oddness", nodes: [1: 2, 2: 1, 3: 1, 4: 1],
    options: QuorumOptions(autoTieBreaker: true),
    error: .autoTieBreakerOddVotesWithoutWaitForAll(totalVotes: 5)),
  InvalidOptions(
    name: "auto_tie_breaker with an empty node list", nodes: nodes(4),
    options: QuorumOptions(autoTieBreaker: true, autoTieBreakerNode: .list([])), error: .emptyTieBreakerList),
  InvalidOptions(
    name: "auto_tie_breaker list naming an unknown node", nodes: nodes(4),
    options: QuorumOptions(autoTieBreaker: true, autoTieBreakerNode: .list(ids(2, 7))),
    error: .unknownTieBreakerNode(NodeId(7), configured: ids(1, 2, 3, 4))),
  InvalidOptions(
    name: "auto_tie_breaker list naming a node twice", nodes: nodes(4),
    options: QuorumOptions(autoTieBreaker: true, autoTieBreakerNode: .list(ids(2, 3, 2))),
    error: .duplicateTieBreakerNode(NodeId(2))),
]

let validOptions: [ValidOptions] = [
  ValidOptions(name: "defaults", nodes: nodes(3), options: QuorumOptions()),
  ValidOptions(
    name: "last_man_standing with wait_for_all implied by two_node", nodes: nodes(2),
    options: QuorumOptions(twoNode: true, lastManStanding: true)),
  ValidOptions(
    name: "auto_tie_breaker in an odd cluster with wait_for_all", nodes: nodes(5),
    options: QuorumOptions(waitForAll: true, autoTieBreaker: true)),
  ValidOptions(
    name: "auto_tie_breaker with unequal votes adding up to an even number", nodes: [1: 2, 2: 1, 3: 1],
    options: QuorumOptions(autoTieBreaker: true)),
  ValidOptions(
    name: "an unknown node in auto_tie_breaker_node while auto_tie_breaker is off", nodes: nodes(3),
    options: QuorumOptions(autoTieBreakerNode: .list(ids(9)))),
  ValidOptions(
    name: "zero-vote nodes when expected_votes is set", nodes: [1: 0, 2: 0],
    options: QuorumOptions(expectedVotes: 1)),
  ValidOptions(
    name: "a negative window while last_man_standing is off", nodes: nodes(3),
    options: QuorumOptions(lastManStandingWindow: .seconds(-1))),
]

@Suite("Quorum option validation")
struct OptionValidationTests {
  @Test("invalid combinations are refused", arguments: invalidOptions)
  func invalid(_ c: InvalidOptions) {
    let configured = Dictionary(uniqueKeysWithValues: c.nodes.map { (NodeId($0.key), $0.value) })
    #expect(throws: c.error) { try VoteQuorum(nodes: configured, options: c.options) }
  }

  @Test("valid combinations are accepted", arguments: validOptions)
  func valid(_ c: ValidOptions) throws {
    let configured = Dictionary(uniqueKeysWithValues: c.nodes.map { (NodeId($0.key), $0.value) })
    _ = try VoteQuorum(nodes: configured, options: c.options)
  }

  @Test("every error message is one non-empty line", arguments: invalidOptions.map(\.error))
  func messages(_ error: QuorumOptionError) {
    #expect(!error.description.isEmpty)
    #expect(!error.description.contains("\n"))
  }

  @Test("an unknown tie-breaker node names the configured nodes")
  func unknownNodeMessage() {
    let error = QuorumOptionError.unknownTieBreakerNode(NodeId(7), configured: ids(1, 2, 3))
    #expect(
      error.description
        == "auto_tie_breaker_node lists node 7, which is not configured; configured nodes: 1, 2, 3")
  }

  @Test("flags print like corosync-quorumtool")
  func flagsDescription() {
    let all: QuorumFlags = [
      .quorate, .twoNode, .waitForAll, .waitingForAll, .lastManStanding, .autoTieBreaker,
    ]
    #expect(all.description == "2Node Quorate WaitForAll LastManStanding AutoTieBreaker")
    #expect(QuorumFlags().description == "")
  }
}
