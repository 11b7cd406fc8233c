import ResourceModel
import Testing

@testable import Conformance

/// `swpcs simulate`: crm_simulate's four sections, and the revised status from applying the transition.
struct SimulationReportTests {
  static let config = ResourceConfiguration(
    nodes: [NodeConfiguration(name: "n1"), NodeConfiguration(name: "n2"), NodeConfiguration(name: "n3")],
    resources: [
      .primitive(
        Primitive(id: "ip", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "IPaddr2"))),
      .group(
        Group(
          id: "web",
          members: [
            Primitive(id: "fs", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "Filesystem")),
            Primitive(id: "nginx", agent: AgentSpec(standard: .systemd, type: "nginx")),
          ])),
    ])

  static let state = ClusterState(
    nodes: [
      NodeState(name: "n1", membership: .online), NodeState(name: "n2", membership: .online),
      NodeState(name: "n3", membership: .unclean, uncleanReason: "peer is no longer part of the cluster"),
    ],
    resources: [
      "ip": ["n3": ResourceNodeState(role: .started)],
      "fs": ["n1": ResourceNodeState(role: .started, failed: true)],
      "nginx": ["n1": ResourceNodeState(role: .stopped)],
    ])

  static let transition = Transition(
    actions: [
      ScheduledAction(kind: .fence, resource: nil, node: "n3", fenceAction: "reboot"),
      ScheduledAction(kind: .start, resource: "ip", node: "n2"),
      ScheduledAction(kind: .stop, resource: "fs", node: "n1"),
      ScheduledAction(kind: .start, resource: "fs", node: "n1"),
      ScheduledAction(kind: .start, resource: "nginx", node: "n1"),
      ScheduledAction(kind: .monitor, resource: "ip", node: "n2", intervalMs: 10_000),
    ],
    orderings: [
      Ordering(before: 0, after: 1), Ordering(before: 2, after: 3), Ordering(before: 3, after: 4),
      Ordering(before: 1, after: 5),
    ],
    summary: [
      "Fence (reboot) n3 'peer is no longer part of the cluster'", "Move ip ( n3 -> n2 )",
      "Recover fs ( n1 )",
    ])

  @Test("the report has crm_simulate's four sections with Pacemaker's status layout")
  func sections() {
    let text = SimulationReport(configuration: Self.config, state: Self.state, transition: Self.transition)
      .text
    let expected = """
      Current cluster status:
        * Node List:
          * Node n3: UNCLEAN (offline)
          * Online: [ n1 n2 ]

        * Full List of Resources:
          * ip\t(ocf:heartbeat:IPaddr2):\t Started n3
          * Resource Group: web:
            * fs\t(ocf:heartbeat:Filesystem):\t FAILED n1
            * nginx\t(systemd:nginx):\t Stopped

      Transition Summary:
        * Fence (reboot) n3 'peer is no longer part of the cluster'
        * Move       ip      ( n3 -> n2 )
        * Recover    fs      (       n1 )

      Executing Cluster Transition:
        * Fencing n3 (reboot)
        * Resource action: ip              start on n2
        * Resource action: fs              stop on n1
        * Resource action: fs              start on n1
        * Resource action: nginx           start on n1
        * Resource action: ip              monitor=10000 on n2

      Revised Cluster Status:
        * Node List:
          * Online: [ n1 n2 ]
          * OFFLINE: [ n3 ]

        * Full List of Resources:
          * ip\t(ocf:heartbeat:IPaddr2):\t Started n2
          * Resource Group: web:
            * fs\t(ocf:heartbeat:Filesystem):\t Started n1
            * nginx\t(systemd:nginx):\t Started n1

      """
    #expect(text == expected)
  }

  @Test("applying a transition: fencing stops everything on the node, failures clear, monitors are recorded")
  func applyTransition() {
    let after = SimulationReport.apply(Self.transition, to: Self.state)
    #expect(after.nodes.map(\.membership) == [.online, .online, .offline])
    #expect(after.resources["ip"]?["n3"]?.role == .stopped)
    #expect(after.resources["ip"]?["n2"]?.activeMonitors == ["monitor_10000"])
    #expect(after.resources["fs"]?["n1"] == ResourceNodeState(role: .started))
  }

  @Test("execution order respects the orderings and otherwise keeps transition order")
  func executionOrder() {
    let t = Transition(
      actions: [
        ScheduledAction(kind: .start, resource: "b", node: "n1"),
        ScheduledAction(kind: .start, resource: "a", node: "n1"),
        ScheduledAction(kind: .stop, resource: "c", node: "n2"),
      ],
      orderings: [Ordering(before: 1, after: 0)])
    #expect(SimulationReport.executionOrder(t) == [1, 0, 2])
  }

  @Test("summary columns: ids wider than 5 get 2 spaces more, details align right to the widest")
  func summaryColumns() {
    let lines = SimulationReport.summaryLines([
      "Fence (reboot) n1 'peer is no longer part of the cluster'", "Start stonith-1 ( n2 )",
      "Move rsc1 ( n1 -> n2 ) due to node availability",
    ])
    #expect(
      lines == [
        "  * Fence (reboot) n1 'peer is no longer part of the cluster'",
        "  * Start      stonith-1     (       n2 )",
        "  * Move       rsc1          ( n1 -> n2 )  due to node availability",
      ])
  }
}

extension SimulationReportTests {
  /// Pacemaker lists nodes sorted by name, case-insensitive and with numbers compared as numbers,
  /// whatever order the CIB has them in.
  @Test func nodesAreListedInPacemakersNameOrder() {
    let names = ["node10", "Node2", "node1", "hb2", "hb1", "n02"]
    let sorted = names.sorted { SimulationReport.nameOrder($0, $1) < 0 }
    #expect(sorted == ["hb1", "hb2", "n02", "node1", "Node2", "node10"])
    #expect(SimulationReport.nameOrder("n1", "n1") == 0)
    #expect(SimulationReport.nameOrder("n1", "n1a") < 0)
  }
}
