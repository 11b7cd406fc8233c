import ClusterConfig
import ClusterTypes
import Quorum
import Testing

private let roundTripConfigurations: [ClusterConfiguration] = [
  ClusterConfiguration(
    clusterName: "minimal", nodes: [NodeEntry(name: "n1", id: NodeId(1), addresses: ["192.0.2.1"])]),
  ClusterConfiguration(
    clusterName: "pair", port: 5420, failureTimeout: .milliseconds(3000), debug: true,
    quorum: QuorumOptions(twoNode: true),
    nodes: [
      NodeEntry(name: "alpha", id: NodeId(1), addresses: ["192.0.2.1", "2001:db8::1"]),
      NodeEntry(name: "beta", id: NodeId(2), addresses: ["192.0.2.2", "2001:db8::2"]),
    ]),
  ClusterConfiguration(
    clusterName: "trio.prod-1", failureTimeout: .milliseconds(1001), heartbeatInterval: .milliseconds(50),
    nodeLostHook: "/usr/local/bin/on node lost",
    quorum: QuorumOptions(
      expectedVotes: 5, waitForAll: true, lastManStanding: true, lastManStandingWindow: .milliseconds(2500),
      autoTieBreaker: true, autoTieBreakerNode: .list([NodeId(30), NodeId(10)])),
    nodes: [
      NodeEntry(name: "a", id: NodeId(10), addresses: ["10.0.0.1"]),
      NodeEntry(name: "b", id: NodeId(20), addresses: ["10.0.0.2"]),
      NodeEntry(name: "c", id: NodeId(30), addresses: ["10.0.0.3"]),
    ]),
  ClusterConfiguration(
    clusterName: "weighted", failureTimeout: .nanoseconds(1_000_000_003),
    quorum: QuorumOptions(waitForAll: false, autoTieBreaker: true, autoTieBreakerNode: .highest),
    nodes: [
      NodeEntry(name: "big", id: NodeId(1), addresses: ["::1"], votes: 2),
      NodeEntry(name: "small", id: NodeId(65535), addresses: ["::2"], votes: 0),
    ]),
  ClusterConfiguration(
    clusterName: "scraped", nodes: [NodeEntry(name: "n1", id: NodeId(1), addresses: ["192.0.2.1"])],
    metricsListen: MetricsListen(host: "0.0.0.0", port: 9664)),
  ClusterConfiguration(
    clusterName: "scraped6", nodes: [NodeEntry(name: "n1", id: NodeId(1), addresses: ["2001:db8::1"])],
    metricsListen: MetricsListen(host: "2001:db8::1", port: 65535)),
]

@Suite("Rendering")
struct RoundTripTests {
  @Test(arguments: roundTripConfigurations)
  func renderedTextParsesBackToAnEqualConfiguration(_ config: ClusterConfiguration) throws {
    let text = config.rendered()
    let reparsed = try ClusterConfiguration.parse(text)
    #expect(reparsed == config)
    #expect(reparsed.rendered() == text)
  }

  @Test func parsedFileRendersToTheCanonicalForm() throws {
    let config = try ClusterConfiguration.parse(
      """
      [node n2]
      addr=192.0.2.12
      id=2
      [cluster]
      name=demo
      failure_timeout=1500
      [node n1]
      id=1
      addr=192.0.2.11
      votes=2
      [quorum]
      auto_tie_breaker_node=2 1
      """)
    #expect(
      config.rendered() == """
        [cluster]
        name = demo
        port = 5405
        failure_timeout = 1.5s
        debug = false

        [quorum]
        two_node = false
        last_man_standing = false
        last_man_standing_window = 10s
        auto_tie_breaker = false
        auto_tie_breaker_node = 2 1

        [node n2]
        id = 2
        addr = 192.0.2.12
        votes = 1

        [node n1]
        id = 1
        addr = 192.0.2.11
        votes = 2

        """)
  }

  @Test func nonDefaultHeartbeatIsWrittenOut() {
    let config = ClusterConfiguration(
      clusterName: "demo", heartbeatInterval: .milliseconds(100),
      nodes: [NodeEntry(name: "n1", id: NodeId(1), addresses: ["192.0.2.1"])])
    #expect(config.rendered().contains("\nheartbeat_interval = 100ms\n"))
  }
}
