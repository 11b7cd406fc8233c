import ClusterTypes
import Quorum
import Testing

/// What the state must be after a step; `flags` of the scenario are added to it.
struct Expect: Sendable {
  var quorate: Bool
  var expected: Int
  var total: Int
  var quorum: Int
  var waiting: Bool

  static func quorate(expected: Int, total: Int, quorum: Int) -> Expect {
    Expect(quorate: true, expected: expected, total: total, quorum: quorum, waiting: false)
  }

  static func inquorate(expected: Int, total: Int, quorum: Int, waiting: Bool = false) -> Expect {
    Expect(quorate: false, expected: expected, total: total, quorum: quorum, waiting: waiting)
  }
}

/// One input to the state machine (or a check of `nextDeadline`), with the state it must leave.
/// Times are whole seconds of virtual time.
enum Step: Sendable {
  /// The state right after `init`.
  case initially(Expect)
  case view(_ members: [UInt32], quorate: [UInt32] = [], reported: [UInt32: Int] = [:], at: Int = 0, Expect)
  /// `tick(now:)`; nil: the tick must report no change.
  case tick(at: Int, Expect?)
  case deadline(Int?)
  case setExpected(Int, Expect)
  case setExpectedFails(Int, QuorumOptionError)
  case unblock(Expect)
}

/// A named sequence of steps fed to one `VoteQuorum`, from one node's point of view.
struct Scenario: Sendable, CustomTestStringConvertible {
  var name: String
  var nodes: [UInt32: Int]
  var options: QuorumOptions
  /// The option flags that must be on throughout (`quorate`/`waitingForAll` come from `Expect`).
  var flags: QuorumFlags
  var steps: [Step]

  init(
    _ name: String, nodes: [UInt32: Int], options: QuorumOptions = QuorumOptions(), flags: QuorumFlags = [],
    _ steps: [Step]
  ) {
    self.name = name
    self.nodes = nodes
    self.options = options
    self.flags = flags
    self.steps = steps
  }

  var testDescription: String { name }

  func run() throws {
    let configured = Dictionary(uniqueKeysWithValues: nodes.map { (NodeId($0.key), $0.value) })
    var quorum = try VoteQuorum(nodes: configured, options: options)
    var view: [NodeId: Int] = [:]

    func wanted(_ e: Expect) -> QuorumState {
      var f = flags
      if e.quorate { f.insert(.quorate) }
      if e.waiting { f.insert(.waitingForAll) }
      return QuorumState(
        quorate: e.quorate, expectedVotes: e.expected, totalVotes: e.total, quorum: e.quorum, flags: f,
        members: view)
    }

    for (index, step) in steps.enumerated() {
      let comment: Comment = "step \(index + 1): \(step)"
      switch step {
      case .initially(let e):
        #expect(quorum.state == wanted(e), comment)
      case .view(let members, let quorate, let reported, let at, let e):
        view = [:]
        for id in members { if let votes = configured[NodeId(id)] { view[NodeId(id)] = votes } }
        let state = quorum.viewInstalled(
          members: Set(members.map(NodeId.init)), quorateMembers: Set(quorate.map(NodeId.init)),
          quorateExpectedVotes: Dictionary(uniqueKeysWithValues: reported.map { (NodeId($0.key), $0.value) }),
          now: instant(at))
        #expect(state == wanted(e), comment)
        #expect(quorum.state == state, comment)
      case .tick(let at, let e):
        let before = quorum.state
        let changed = quorum.tick(now: instant(at))
        if let e {
          #expect(changed == wanted(e), comment)
          #expect(quorum.state == wanted(e), comment)
        } else {
          #expect(changed == nil, comment)
          #expect(quorum.state == before, comment)
        }
      case .deadline(let at):
        #expect(quorum.nextDeadline == at.map(instant), comment)
      case .setExpected(let n, let e):
        let state = try quorum.setExpectedVotes(n)
        #expect(state == wanted(e), comment)
        #expect(quorum.state == state, comment)
      case .setExpectedFails(let n, let error):
        let before = quorum.state
        #expect(throws: error, comment) { try quorum.setExpectedVotes(n) }
        #expect(quorum.state == before, comment)
      case .unblock(let e):
        let state = quorum.unblockWaitForAll()
        #expect(state == wanted(e), comment)
        #expect(quorum.state == state, comment)
      }
    }
  }
}

func instant(_ seconds: Int) -> Instant { .zero + .seconds(seconds) }

/// Nodes 1...n with one vote each.
func nodes(_ n: Int) -> [UInt32: Int] {
  Dictionary(uniqueKeysWithValues: (1...UInt32(n)).map { ($0, 1) })
}
