import ClusterConfig
import Testing

/// A file that `parse` must reject, and the exact one-line error it must give.
struct InvalidCase: Sendable, CustomTestStringConvertible {
  var behaviour: String
  var lines: [String]
  var error: String
  init(_ behaviour: String, _ lines: [String], _ error: String) {
    self.behaviour = behaviour
    self.lines = lines
    self.error = error
  }
  var testDescription: String { behaviour }
}

/// `[cluster]` with a name on lines 1–2, then whatever the case adds.
private func cluster(_ extra: String...) -> [String] { ["[cluster]", "name = demo"] + extra }
/// A valid `[node NAME]` section of three lines.
private func node(_ name: String, _ id: Int, _ addr: String) -> [String] {
  ["[node \(name)]", "id = \(id)", "addr = \(addr)"]
}

private let invalidCases: [InvalidCase] = [
  // Structure
  InvalidCase("an empty file has no [cluster] section", [], "cluster.conf: missing [cluster] section"),
  InvalidCase(
    "nodes alone are not enough", node("n1", 1, "192.0.2.1"), "cluster.conf: missing [cluster] section"),
  InvalidCase(
    "a cluster without nodes is rejected", cluster(),
    "cluster.conf: no [node NAME] section; at least one node is required"),
  InvalidCase(
    "the cluster name is required", ["[cluster]", "port = 5405"] + node("n1", 1, "192.0.2.1"),
    "cluster.conf:1: name: required key missing in [cluster]"),
  InvalidCase(
    "an unknown section is rejected", cluster("[totem]", "token = 1000"),
    "cluster.conf:3: unknown section [totem]; expected [cluster], [quorum], [metrics] or [node NAME]"),
  InvalidCase(
    "an unterminated section header is rejected", ["[cluster", "name = demo"],
    "cluster.conf:1: malformed section header; expected [cluster], [quorum], [metrics] or [node NAME]"),
  InvalidCase(
    "a second [cluster] section is rejected", cluster("[cluster]", "port = 1"),
    "cluster.conf:3: duplicate section [cluster] (first on line 1)"),
  InvalidCase(
    "a second [quorum] section is rejected", cluster("[quorum]", "[quorum]"),
    "cluster.conf:4: duplicate section [quorum] (first on line 3)"),
  InvalidCase(
    "a key before any section is rejected", ["name = demo", "[cluster]"],
    "cluster.conf:1: name: key outside of any section"),
  InvalidCase(
    "a line that is neither key nor header is rejected", cluster("port 5405"),
    "cluster.conf:3: expected \"key = value\" or a [section] header"),
  InvalidCase(
    "a line with no key before = is rejected", cluster("= 5405"),
    "cluster.conf:3: expected \"key = value\" or a [section] header"),
  InvalidCase(
    "an unknown key in [cluster] is rejected", cluster("transport = knet"),
    "cluster.conf:3: transport: unknown key in [cluster]"),
  InvalidCase(
    "an unknown key in [quorum] is rejected", cluster("[quorum]", "provider = corosync_votequorum"),
    "cluster.conf:4: provider: unknown key in [quorum]"),
  InvalidCase(
    "an unknown key in [node] is rejected", cluster() + node("n1", 1, "192.0.2.1") + ["weight = 2"],
    "cluster.conf:6: weight: unknown key in [node n1]"),
  InvalidCase(
    "keys are case-sensitive", cluster("Port = 5405"), "cluster.conf:3: Port: unknown key in [cluster]"),
  InvalidCase(
    "a repeated non-repeatable key is rejected", cluster("port = 5405", "port = 5406"),
    "cluster.conf:4: port: duplicate key (first set on line 3)"),
  InvalidCase(
    "a repeated node id key is rejected", cluster() + node("n1", 1, "192.0.2.1") + ["id = 2"],
    "cluster.conf:6: id: duplicate key (first set on line 4)"),
  InvalidCase("an empty value is rejected", cluster("port ="), "cluster.conf:3: port: missing value"),

  // [cluster] values
  InvalidCase(
    "a cluster name with a space is rejected", ["[cluster]", "name = de mo"],
    "cluster.conf:2: name: must be 1-64 characters of [A-Za-z0-9_.-]"),
  InvalidCase(
    "a cluster name of 65 characters is rejected",
    ["[cluster]", "name = " + String(repeating: "a", count: 65)],
    "cluster.conf:2: name: must be 1-64 characters of [A-Za-z0-9_.-]"),
  InvalidCase(
    "port 0 is out of range", cluster("port = 0"), "cluster.conf:3: port: must be between 1 and 65535"),
  InvalidCase(
    "port 65536 is out of range", cluster("port = 65536"), "cluster.conf:3: port: must be between 1 and 65535"
  ),
  InvalidCase(
    "a negative port is not a number", cluster("port = -1"),
    "cluster.conf:3: port: \"-1\" is not a whole number"),
  InvalidCase(
    "a failure timeout below 300ms is rejected", cluster("failure_timeout = 299ms"),
    "cluster.conf:3: failure_timeout: must be between 300ms and 60s"),
  InvalidCase(
    "a failure timeout above 60s is rejected", cluster("failure_timeout = 2m"),
    "cluster.conf:3: failure_timeout: must be between 300ms and 60s"),
  InvalidCase(
    "hours are not a duration unit", cluster("failure_timeout = 1h"),
    "cluster.conf:3: failure_timeout: \"1h\" is not a duration (examples: 250ms, 1.5s, 2m)"),
  InvalidCase(
    "a heartbeat below 20ms is rejected", cluster("heartbeat_interval = 19ms") + node("n1", 1, "192.0.2.1"),
    "cluster.conf:3: heartbeat_interval: must be between 20ms and failure_timeout / 3 (333.333333ms)"),
  InvalidCase(
    "a heartbeat above a third of the default failure timeout is rejected",
    cluster("heartbeat_interval = 334ms") + node("n1", 1, "192.0.2.1"),
    "cluster.conf:3: heartbeat_interval: must be between 20ms and failure_timeout / 3 (333.333333ms)"),
  InvalidCase(
    "the heartbeat is checked against a failure timeout given after it",
    cluster("heartbeat_interval = 500ms", "failure_timeout = 1200ms") + node("n1", 1, "192.0.2.1"),
    "cluster.conf:3: heartbeat_interval: must be between 20ms and failure_timeout / 3 (400ms)"),
  InvalidCase(
    "an unknown boolean spelling is rejected", cluster("debug = maybe"),
    "cluster.conf:3: debug: \"maybe\" is not a boolean (use true/false, yes/no, on/off or 1/0)"),
  InvalidCase(
    "a relative hook path is rejected", cluster("node_lost_hook = bin/hook"),
    "cluster.conf:3: node_lost_hook: must be an absolute path"),

  // [node] sections
  InvalidCase(
    "a node section needs a name", cluster("[node]"),
    "cluster.conf:3: section [node] needs a name: [node NAME]"),
  InvalidCase(
    "a node name with a slash is rejected", cluster("[node n/1]"),
    "cluster.conf:3: node name \"n/1\" must be 1-64 characters of [A-Za-z0-9_.-]"),
  InvalidCase(
    "a node name used twice is rejected", cluster() + node("n1", 1, "192.0.2.1") + node("n1", 2, "192.0.2.2"),
    "cluster.conf:6: duplicate node name n1 (first on line 3)"),
  InvalidCase(
    "a node id is required", cluster("[node n1]", "addr = 192.0.2.1"),
    "cluster.conf:3: id: required key missing in [node n1]"),
  InvalidCase(
    "a node address is required", cluster("[node n1]", "id = 1", "[node n2]"),
    "cluster.conf:3: addr: required key missing in [node n1]"),
  InvalidCase(
    "node id 0 is out of range", cluster("[node n1]", "id = 0"),
    "cluster.conf:4: id: must be between 1 and 65535"),
  InvalidCase(
    "a node id used twice is rejected", cluster() + node("n1", 7, "192.0.2.1") + node("n2", 7, "192.0.2.2"),
    "cluster.conf:7: id: node id 7 is already used by node n1"),
  InvalidCase(
    "256 votes are out of range", cluster() + node("n1", 1, "192.0.2.1") + ["votes = 256"],
    "cluster.conf:6: votes: must be between 0 and 255"),
  InvalidCase(
    "an IPv4 octet above 255 is rejected", cluster() + node("n1", 1, "192.0.2.256"),
    "cluster.conf:5: addr: \"192.0.2.256\" is not an IPv4 or IPv6 address"),
  InvalidCase(
    "an IPv4 octet with a leading zero is rejected", cluster() + node("n1", 1, "192.0.2.011"),
    "cluster.conf:5: addr: \"192.0.2.011\" is not an IPv4 or IPv6 address"),
  InvalidCase(
    "a host name is not an address", cluster() + node("n1", 1, "n1.example.com"),
    "cluster.conf:5: addr: \"n1.example.com\" is not an IPv4 or IPv6 address"),
  InvalidCase(
    "an IPv6 zone id is rejected", cluster() + node("n1", 1, "fe80::1%eth0"),
    "cluster.conf:5: addr: \"fe80::1%eth0\" is not an IPv4 or IPv6 address"),
  InvalidCase(
    "an IPv6 address with two :: is rejected", cluster() + node("n1", 1, "2001::db8::1"),
    "cluster.conf:5: addr: \"2001::db8::1\" is not an IPv4 or IPv6 address"),
  InvalidCase(
    "an IPv6 address with nine groups is rejected", cluster() + node("n1", 1, "1:2:3:4:5:6:7:8:9"),
    "cluster.conf:5: addr: \"1:2:3:4:5:6:7:8:9\" is not an IPv4 or IPv6 address"),
  InvalidCase(
    "an address used by two nodes is rejected",
    cluster() + node("n1", 1, "192.0.2.1") + node("n2", 2, "192.0.2.1"),
    "cluster.conf:8: addr: address 192.0.2.1 is already used by node n1"),
  InvalidCase(
    "two spellings of one IPv6 address are the same address",
    cluster() + node("n1", 1, "2001:db8::1") + node("n2", 2, "2001:DB8:0:0:0:0:0:1"),
    "cluster.conf:8: addr: address 2001:DB8:0:0:0:0:0:1 is already used by node n1"),
  InvalidCase(
    "a ninth address is rejected",
    cluster("[node n1]", "id = 1") + (1...9).map { "addr = 192.0.2.\($0)" },
    "cluster.conf:13: addr: at most 8 addresses (links) per node"),
  InvalidCase(
    "every node needs the same number of links",
    cluster() + node("n1", 1, "192.0.2.1") + ["addr = 198.51.100.1"] + node("n2", 2, "192.0.2.2"),
    "cluster.conf:7: addr: node n2 has 1 address but node n1 has 2 addresses; every node needs one address per link"
  ),
  InvalidCase(
    "a cluster without any vote is rejected", cluster() + node("n1", 1, "192.0.2.1") + ["votes = 0"],
    "cluster.conf: the nodes' votes add up to 0; at least one node needs a vote"),

  // [quorum]
  InvalidCase(
    "expected_votes 0 is out of range", cluster("[quorum]", "expected_votes = 0"),
    "cluster.conf:4: expected_votes: must be between 1 and 65535"),
  InvalidCase(
    "a last-man-standing window below 1s is rejected",
    cluster("[quorum]", "last_man_standing_window = 999ms"),
    "cluster.conf:4: last_man_standing_window: must be at least 1s"),
  InvalidCase(
    "two_node and auto_tie_breaker are mutually exclusive",
    cluster("[quorum]", "two_node = true", "auto_tie_breaker = true") + node("n1", 1, "192.0.2.1")
      + node("n2", 2, "192.0.2.2"),
    "cluster.conf:5: auto_tie_breaker: two_node and auto_tie_breaker cannot be used together"),
  InvalidCase(
    "auto_tie_breaker with an odd vote total needs wait_for_all",
    cluster("[quorum]", "auto_tie_breaker = true") + node("n1", 1, "192.0.2.1") + node("n2", 2, "192.0.2.2")
      + node("n3", 3, "192.0.2.3"),
    "cluster.conf:4: auto_tie_breaker: requires wait_for_all = true when the nodes' votes add up to an odd number (3)"
  ),
  InvalidCase(
    "last_man_standing needs wait_for_all",
    cluster("[quorum]", "last_man_standing = true") + node("n1", 1, "192.0.2.1"),
    "cluster.conf:4: last_man_standing: requires wait_for_all = true"),
  InvalidCase(
    "an explicit wait_for_all = false overrides the two_node default for last_man_standing",
    cluster("[quorum]", "two_node = yes", "wait_for_all = no", "last_man_standing = yes")
      + node("n1", 1, "192.0.2.1") + node("n2", 2, "192.0.2.2"),
    "cluster.conf:6: last_man_standing: requires wait_for_all = true"),
  InvalidCase(
    "last_man_standing needs one vote per node",
    cluster("[quorum]", "wait_for_all = true", "last_man_standing = true") + node("n1", 1, "192.0.2.1")
      + node("n2", 2, "192.0.2.2") + ["votes = 2"],
    "cluster.conf:12: votes: must be 1 on every node when last_man_standing is enabled"),
  InvalidCase(
    "a tie-breaker list must name configured nodes",
    cluster("[quorum]", "auto_tie_breaker = true", "auto_tie_breaker_node = 1 9")
      + node("n1", 1, "192.0.2.1") + node("n2", 2, "192.0.2.2"),
    "cluster.conf:5: auto_tie_breaker_node: node id 9 is not a configured node"),
  InvalidCase(
    "a tie-breaker value must be lowest, highest or ids",
    cluster("[quorum]", "auto_tie_breaker_node = first"),
    "cluster.conf:4: auto_tie_breaker_node: must be lowest, highest or a space-separated list of node ids (1-65535)"
  ),
  InvalidCase(
    "a tie-breaker list must not repeat an id", cluster("[quorum]", "auto_tie_breaker_node = 2 1 2"),
    "cluster.conf:4: auto_tie_breaker_node: node id 2 is listed twice"),
  // [metrics]
  InvalidCase(
    "a second [metrics] section is rejected", cluster("[metrics]", "[metrics]"),
    "cluster.conf:4: duplicate section [metrics] (first on line 3)"),
  InvalidCase(
    "an unknown key in [metrics] is rejected", cluster("[metrics]", "port = 9664"),
    "cluster.conf:4: port: unknown key in [metrics]"),
  InvalidCase(
    "a listen address without a port is rejected", cluster("[metrics]", "listen = 127.0.0.1"),
    "cluster.conf:4: listen: must be ADDRESS:PORT with an IP address and a port 1-65535 (examples: 127.0.0.1:9664, [::1]:9664)"
  ),
  InvalidCase(
    "a host name is not a listen address", cluster("[metrics]", "listen = localhost:9664"),
    "cluster.conf:4: listen: \"localhost\" is not an IPv4 or IPv6 address; must be ADDRESS:PORT with an IP address and a port 1-65535 (examples: 127.0.0.1:9664, [::1]:9664)"
  ),
  InvalidCase(
    "port 0 is out of range", cluster("[metrics]", "listen = 0.0.0.0:0"),
    "cluster.conf:4: listen: must be ADDRESS:PORT with an IP address and a port 1-65535 (examples: 127.0.0.1:9664, [::1]:9664)"
  ),
  InvalidCase(
    "a port above 65535 is out of range", cluster("[metrics]", "listen = 0.0.0.0:65536"),
    "cluster.conf:4: listen: must be ADDRESS:PORT with an IP address and a port 1-65535 (examples: 127.0.0.1:9664, [::1]:9664)"
  ),
  InvalidCase(
    "an IPv6 listen address needs brackets", cluster("[metrics]", "listen = ::1:9664"),
    "cluster.conf:4: listen: must be ADDRESS:PORT with an IP address and a port 1-65535 (examples: 127.0.0.1:9664, [::1]:9664)"
  ),
  InvalidCase(
    "an IPv4 address in brackets is rejected", cluster("[metrics]", "listen = [127.0.0.1]:9664"),
    "cluster.conf:4: listen: must be ADDRESS:PORT with an IP address and a port 1-65535 (examples: 127.0.0.1:9664, [::1]:9664)"
  ),
  InvalidCase(
    "an empty listen value is rejected", cluster("[metrics]", "listen ="),
    "cluster.conf:4: listen: missing value"),
]

@Suite("Rejecting invalid files")
struct InvalidConfigTests {
  @Test(arguments: invalidCases)
  func invalidFileIsRejectedWithAnExactError(_ invalid: InvalidCase) {
    do {
      let config = try ClusterConfiguration.parse(invalid.lines.joined(separator: "\n"))
      Issue.record("accepted: \(config)")
    } catch {
      #expect(error.description == invalid.error)
    }
  }

  @Test func thereAreAtLeastThirtyInvalidCases() {
    #expect(invalidCases.count >= 30)
  }
}
