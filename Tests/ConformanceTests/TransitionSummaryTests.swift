import Conformance
import ResourceModel
import Testing

struct LineCase: Sendable, CustomTestStringConvertible {
  var line: String
  var expected: SummaryAction
  var testDescription: String { line }
}

private let lineCases: [LineCase] = [
  LineCase(
    line: "  * Start      web     ( node1 )",
    expected: SummaryAction(verb: "Start", resource: "web", to: "node1")),
  LineCase(
    line: "* Stop  web ( node2 )  due to node availability",
    expected: SummaryAction(verb: "Stop", resource: "web", from: "node2")),
  LineCase(
    line: "* Move       ip      ( node1 -> node2 )",
    expected: SummaryAction(verb: "Move", resource: "ip", from: "node1", to: "node2")),
  LineCase(
    line: "* Recover    db:1    ( node3 )",
    expected: SummaryAction(verb: "Recover", resource: "db:1", from: "node3", to: "node3")),
  LineCase(
    line: "* Restart    db      ( Promoted node1 )  due to resource definition change",
    expected: SummaryAction(verb: "Restart", resource: "db", from: "node1", to: "node1", role: "Promoted")),
  LineCase(
    line: "* Stop       db:0    ( Unpromoted node4 )  due to node availability",
    expected: SummaryAction(verb: "Stop", resource: "db:0", from: "node4", role: "Unpromoted")),
  LineCase(
    line: "* Promote    db:0    ( Unpromoted -> Promoted node1 )",
    expected: SummaryAction(
      verb: "Promote", resource: "db:0", from: "node1", to: "node1", role: "Unpromoted -> Promoted")),
  LineCase(
    line: "* Start      db:2    ( Stopped -> Promoted node2 )",
    expected: SummaryAction(verb: "Start", resource: "db:2", to: "node2", role: "Stopped -> Promoted")),
  LineCase(
    line: "* Move       db:1    ( node1 -> node2 Unpromoted )",
    expected: SummaryAction(verb: "Move", resource: "db:1", from: "node1", to: "node2", role: "Unpromoted")),
  LineCase(
    line: "* Move       db      ( Promoted node1 -> Started node3 )",
    expected: SummaryAction(
      verb: "Move", resource: "db", from: "node1", to: "node3", role: "Promoted -> Started")),
  LineCase(
    line: "* Demote     db      ( Master -> Slave node1 )",
    expected: SummaryAction(
      verb: "Demote", resource: "db", from: "node1", to: "node1", role: "Promoted -> Unpromoted")),
  LineCase(
    line: "* Fence (reboot) node3 'peer is no longer part of the cluster'",
    expected: SummaryAction(verb: "Fence", resource: "node3", role: "reboot")),
  LineCase(
    line: "Fence (off) node4 'node is unclean'",
    expected: SummaryAction(verb: "Fence", resource: "node4", role: "off")),
  LineCase(
    line: "* Start rsc1 ( node1 ) blocked",
    expected: SummaryAction(verb: "Start", resource: "rsc1", to: "node1")),
]

@Suite("Transition Summary lines")
struct TransitionSummaryTests {
  @Test("each line shape parses to verb, resource, from, to and role", arguments: lineCases)
  func parsesLine(_ c: LineCase) {
    let action = TransitionSummary.parse(c.line)
    #expect(action.key == c.expected.key)
  }

  @Test("reasons are kept for display but not compared")
  func reasons() {
    let a = TransitionSummary.parse("* Stop web ( n1 )  due to node availability")
    let b = TransitionSummary.parse("Stop web ( n1 )")
    #expect(a.reason == "due to node availability")
    #expect(a == b)
    let fence = TransitionSummary.parse("* Fence (reboot) n3 'peer is no longer part of the cluster'")
    #expect(fence.reason == "peer is no longer part of the cluster")
    #expect(fence.description == "Fence (reboot) n3")
  }

  @Test("unrecognised lines are kept whole, whitespace collapsed")
  func unrecognised() {
    let action = TransitionSummary.parse("  * Pseudo   action:  dolly_stop_0")
    #expect(action.verb == "Pseudo action: dolly_stop_0")
    #expect(action == TransitionSummary.parse("Pseudo action: dolly_stop_0"))
  }

  @Test("the Transition Summary section is cut out of a summary file")
  func section() {
    let summary = """
      Current cluster status:
        * Node List:
          * Online: [ n1 n2 ]

      Transition Summary:
        * Start      web     ( n1 )
        * Move       ip      ( n1 -> n2 )

      Executing Cluster Transition:
        * Resource action: web start on n1
      """
    #expect(
      TransitionSummary.section(of: summary) == [
        "* Start      web     ( n1 )", "* Move       ip      ( n1 -> n2 )",
      ])
    #expect(TransitionSummary.section(of: "Transition Summary:\n\nExecuting Cluster Transition:\n").isEmpty)
  }
}

@Suite("Comparing summaries")
struct SummaryComparisonTests {
  @Test("padding, order and reasons do not matter")
  func equalSummaries() {
    let result = SummaryComparison.compare(
      name: "c", expected: ["* Start   a   ( n1 )", "* Stop b ( n2 )  due to node availability"],
      actual: ["Stop b ( n2 )", "Start a ( n1 )"], anonymous: [])
    #expect(result.passed)
    #expect(result.missing.isEmpty && result.extra.isEmpty)
  }

  @Test("missing and extra actions are counted as a multiset")
  func differences() {
    let result = SummaryComparison.compare(
      name: "c", tier: "T1", expected: ["Start a ( n1 )", "Start a ( n1 )", "Move b ( n1 -> n2 )"],
      actual: ["Start a ( n1 )", "Move b ( n1 -> n3 )"], anonymous: [])
    #expect(!result.passed)
    #expect(result.missing == ["Move b ( n1 -> n2 )", "Start a ( n1 )"])
    #expect(result.extra == ["Move b ( n1 -> n3 )"])
    #expect(result.tier == "T1")
  }

  @Test("anonymous clone instance numbers are ignored, unique ones are not")
  func instanceNumbers() {
    let anonymous = SummaryComparison.compare(
      name: "c", expected: ["Start d:1 ( n2 )", "Start d:2 ( n3 )"],
      actual: ["Start d:0 ( n3 )", "Start d:2 ( n2 )"],
      anonymous: ["d"])
    #expect(anonymous.passed)
    let unique = SummaryComparison.compare(
      name: "c", expected: ["Start u:1 ( n2 )"], actual: ["Start u:0 ( n2 )"], anonymous: ["d"])
    #expect(!unique.passed)
  }

  @Test("anonymous clone members are found in the configuration")
  func anonymousMembers() {
    let dummy = AgentSpec(standard: .ocf, provider: "pacemaker", type: "Dummy")
    let config = ResourceConfiguration(resources: [
      .primitive(Primitive(id: "p", agent: dummy)),
      .clone(Clone(id: "c1", child: .primitive(Primitive(id: "a", agent: dummy)))),
      .clone(
        Clone(
          id: "c2",
          child: .group(
            Group(id: "g", members: [Primitive(id: "m1", agent: dummy), Primitive(id: "m2", agent: dummy)])))),
      .clone(
        Clone(
          id: "c3", meta: ["globally-unique": "true"], child: .primitive(Primitive(id: "u", agent: dummy)))),
    ])
    #expect(SummaryComparison.anonymousCloneMembers(config) == ["a", "m1", "m2"])
  }
}
