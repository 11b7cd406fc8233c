import ClusterConfig
import ClusterTypes
import Quorum
import Testing

/// Parses `lines` joined with newlines, failing the test on an error.
func parseLines(_ lines: [String]) throws -> ClusterConfiguration {
  try ClusterConfiguration.parse(lines.joined(separator: "\n"))
}

let minimalLines = ["[cluster]", "name = demo", "[node n1]", "id = 1", "addr = 192.0.2.11"]

@Suite("Parsing valid files")
struct ParseValidTests {
  @Test func fullFileWithEveryKeyParsesToTheExpectedConfiguration() throws {
    let text = """
      # swpcs cluster configuration
      ; semicolon comment

      [cluster]
      name = demo                 # required
      port = 5406
      failure_timeout = 1.5s
      heartbeat_interval = 250ms
      debug = yes
      node_lost_hook = /usr/local/bin/on-node-lost

      [quorum]
      expected_votes = 4
      two_node = false
      wait_for_all = true
      last_man_standing = on
      last_man_standing_window = 20s
      auto_tie_breaker = true
      auto_tie_breaker_node = 3 1

      [node n1]   # first node
      id = 1
      addr = 192.0.2.11
      addr = 2001:db8::11
      votes = 1

      [node n2]
      id = 2
      addr = 192.0.2.12
      addr = 2001:db8::12

      [node n3.example]
      id = 3
      addr = 192.0.2.13
      addr = 2001:db8::13
      """
    let config = try ClusterConfiguration.parse(text)
    let expected = ClusterConfiguration(
      clusterName: "demo", port: 5406, failureTimeout: .milliseconds(1500),
      heartbeatInterval: .milliseconds(250), debug: true, nodeLostHook: "/usr/local/bin/on-node-lost",
      quorum: QuorumOptions(
        expectedVotes: 4, twoNode: false, waitForAll: true, lastManStanding: true,
        lastManStandingWindow: .seconds(20), autoTieBreaker: true,
        autoTieBreakerNode: .list([NodeId(3), NodeId(1)])),
      nodes: [
        NodeEntry(name: "n1", id: NodeId(1), addresses: ["192.0.2.11", "2001:db8::11"]),
        NodeEntry(name: "n2", id: NodeId(2), addresses: ["192.0.2.12", "2001:db8::12"]),
        NodeEntry(name: "n3.example", id: NodeId(3), addresses: ["192.0.2.13", "2001:db8::13"]),
      ])
    #expect(config == expected)
    #expect(config.linkCount == 2)
    #expect(config.expectedVotesEffective == 4)
  }

  @Test func omittedKeysTakeTheirDocumentedDefaults() throws {
    let config = try parseLines(minimalLines)
    #expect(config.clusterName == "demo")
    #expect(config.port == 5405)
    #expect(config.failureTimeout == .milliseconds(1000))
    #expect(config.heartbeatInterval == .milliseconds(200))
    #expect(config.debug == false)
    #expect(config.nodeLostHook == nil)
    #expect(config.quorum == QuorumOptions())
    #expect(config.quorum.expectedVotes == nil)
    #expect(config.quorum.waitForAll == nil)
    #expect(config.quorum.lastManStandingWindow == .seconds(10))
    #expect(config.quorum.autoTieBreakerNode == .lowest)
    #expect(config.nodes == [NodeEntry(name: "n1", id: NodeId(1), addresses: ["192.0.2.11"], votes: 1)])
    #expect(config.linkCount == 1)
    #expect(config.expectedVotesEffective == 1)
  }

  @Test func defaultHeartbeatIsOneFifthOfTheConfiguredFailureTimeout() throws {
    let config = try parseLines(
      ["[cluster]", "name = demo", "failure_timeout = 2s"] + minimalLines.dropFirst(2))
    #expect(config.heartbeatInterval == .milliseconds(400))
  }

  @Test func heartbeatOfExactlyOneThirdOfFailureTimeoutIsAccepted() throws {
    let config = try parseLines(
      ["[cluster]", "name = demo", "heartbeat_interval = 300ms", "failure_timeout = 900ms"]
        + minimalLines.dropFirst(2))
    #expect(config.heartbeatInterval == .milliseconds(300))
  }

  @Test func expectedVotesDefaultsToTheSumOfNodeVotes() throws {
    let config = try parseLines([
      "[cluster]", "name = demo",
      "[node a]", "id = 1", "addr = 192.0.2.1", "votes = 3",
      "[node b]", "id = 2", "addr = 192.0.2.2", "votes = 0",
      "[node c]", "id = 3", "addr = 192.0.2.3",
    ])
    #expect(config.quorum.expectedVotes == nil)
    #expect(config.expectedVotesEffective == 4)
  }

  @Test func layoutVariantsAreAccepted() throws {
    let text =
      "\t# indented comment\r\n[ cluster ]\r\nname=demo\r\n  port   =   5405  ; trailing\r\n"
      + "[node   n1]\r\nid= 1\r\naddr =192.0.2.11\r\n\r\n"
    let config = try ClusterConfiguration.parse(text)
    #expect(config.clusterName == "demo")
    #expect(config.nodes.map(\.addresses) == [["192.0.2.11"]])
  }

  @Test func hashWithoutPrecedingSpaceIsPartOfTheValue() throws {
    let config = try parseLines(
      ["[cluster]", "name = demo", "node_lost_hook = /opt/hook#1"] + minimalLines.dropFirst(2))
    #expect(config.nodeLostHook == "/opt/hook#1")
  }

  @Test(arguments: [
    ("true", true), ("yes", true), ("on", true), ("1", true), ("TRUE", true), ("Yes", true),
    ("false", false), ("no", false), ("off", false), ("0", false), ("OFF", false),
  ])
  func booleanSpellingsAreAccepted(spelling: String, value: Bool) throws {
    let config = try parseLines(
      ["[cluster]", "name = demo", "debug = \(spelling)"] + minimalLines.dropFirst(2))
    #expect(config.debug == value)
  }

  @Test(arguments: [
    "192.0.2.11", "0.0.0.1", "255.255.255.255", "::1", "2001:db8::11", "2001:DB8:0:0:0:0:0:11",
    "::ffff:192.0.2.11", "1:2:3:4:5:6:7::", "fe80::1:2:3",
  ])
  func addressLiteralsAreAccepted(address: String) throws {
    let config = try parseLines(["[cluster]", "name = demo", "[node n1]", "id = 1", "addr = \(address)"])
    #expect(config.nodes[0].addresses == [address])
  }

  @Test func twoNodeWithMoreThanTwoNodesIsAccepted() throws {
    let config = try parseLines([
      "[cluster]", "name = demo", "[quorum]", "two_node = true",
      "[node a]", "id = 1", "addr = 192.0.2.1",
      "[node b]", "id = 2", "addr = 192.0.2.2",
      "[node c]", "id = 3", "addr = 192.0.2.3",
    ])
    #expect(config.quorum.twoNode)
    #expect(config.quorum.waitForAll == nil)
  }

  @Test func lastManStandingIsSatisfiedByTheWaitForAllThatTwoNodeImplies() throws {
    let config = try parseLines([
      "[cluster]", "name = demo", "[quorum]", "two_node = 1", "last_man_standing = 1",
      "[node a]", "id = 1", "addr = 192.0.2.1",
      "[node b]", "id = 2", "addr = 192.0.2.2",
    ])
    #expect(config.quorum.lastManStanding)
  }

  @Test func tieBreakerKeywordsAreAccepted() throws {
    let base = ["[cluster]", "name = demo", "[quorum]", "auto_tie_breaker = on", "wait_for_all = on"]
    let nodes = Array(minimalLines.dropFirst(2))
    #expect(
      try parseLines(base + ["auto_tie_breaker_node = highest"] + nodes).quorum.autoTieBreakerNode == .highest
    )
    #expect(
      try parseLines(base + ["auto_tie_breaker_node = lowest"] + nodes).quorum.autoTieBreakerNode == .lowest)
    #expect(try parseLines(base + nodes).quorum.autoTieBreakerNode == .lowest)
  }

  @Test func quorumSectionMayComeAfterTheNodes() throws {
    let config = try parseLines(minimalLines + ["[quorum]", "expected_votes = 2"])
    #expect(config.quorum.expectedVotes == 2)
    #expect(config.expectedVotesEffective == 2)
  }
}

@Suite("ConfigError")
struct ConfigErrorTests {
  @Test func descriptionLeavesOutTheMissingParts() {
    #expect(
      ConfigError(line: 12, key: "failure_timeout", message: "must be between 300ms and 60s").description
        == "cluster.conf:12: failure_timeout: must be between 300ms and 60s")
    #expect(ConfigError(line: 3, message: "m").description == "cluster.conf:3: m")
    #expect(ConfigError(key: "k", message: "m").description == "cluster.conf: k: m")
    #expect(ConfigError(message: "m").description == "cluster.conf: m")
  }

  @Test func errorsNameTheFileTheCallerPassed() {
    #expect(throws: ConfigError(fileName: "/etc/swpcs/cluster.conf", message: "missing [cluster] section")) {
      try ClusterConfiguration.parse("", fileName: "/etc/swpcs/cluster.conf")
    }
  }

  @Test func metricsListenIsOffByDefault() throws {
    #expect(try parseLines(minimalLines).metricsListen == nil)
  }

  @Test(arguments: [
    ("127.0.0.1:9664", MetricsListen(host: "127.0.0.1", port: 9664)),
    ("0.0.0.0:1", MetricsListen(host: "0.0.0.0", port: 1)),
    ("[::1]:9664", MetricsListen(host: "::1", port: 9664)),
    ("[::]:9664", MetricsListen(host: "::", port: 9664)),
    ("[2001:db8::7]:65535", MetricsListen(host: "2001:db8::7", port: 65535)),
  ])
  func metricsListenAddressesAreAccepted(text: String, listen: MetricsListen) throws {
    let config = try parseLines(minimalLines + ["[metrics]", "listen = \(text)"])
    #expect(config.metricsListen == listen)
    #expect(config.metricsListen?.description == text)
  }
}
