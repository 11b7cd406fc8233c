import ClusterTypes
import Quorum

extension ClusterConfiguration {
  /// `[quorum] expected_votes` if configured, otherwise the sum of every node's votes.
  public var expectedVotesEffective: Int {
    quorum.expectedVotes ?? nodes.reduce(0) { $0 + $1.votes }
  }

  /// Number of links: every node has one address per link, so this is the first node's address count.
  public var linkCount: Int { nodes.first?.addresses.count ?? 0 }

  /// Parses and validates the text of `cluster.conf` (see swpcs-cluster.conf(5)).
  ///
  /// Stops at the first problem. Problems on a line are reported in file order; problems that need the
  /// whole file (missing sections, link counts, votequorum option compatibility) come after.
  /// - Parameter fileName: shown in front of error messages.
  public static func parse(
    _ text: String, fileName: String = "cluster.conf"
  ) throws(ConfigError) -> ClusterConfiguration {
    var parser = ConfigParser(fileName: fileName)
    return try parser.parse(text)
  }
}

/// The keys each section accepts, in the order `rendered()` writes them.
enum ConfigKeys {
  static let cluster = ["name", "port", "failure_timeout", "heartbeat_interval", "debug", "node_lost_hook"]
  static let quorum = [
    "expected_votes", "two_node", "wait_for_all", "last_man_standing", "last_man_standing_window",
    "auto_tie_breaker", "auto_tie_breaker_node",
  ]
  static let node = ["id", "addr", "votes"]
  static let metrics = ["listen"]
}

/// Value limits; keep in step with man/swpcs-cluster.conf.5.
enum ConfigLimits {
  static let failureTimeout = Duration.milliseconds(300)...Duration.seconds(60)
  static let minimumHeartbeat = Duration.milliseconds(20)
  static let minimumLastManStandingWindow = Duration.seconds(1)
  static let maximumLinks = 8
}

/// One pass over the lines, then the whole-file checks.
private struct ConfigParser {
  private enum Section {
    case cluster
    case quorum
    case metrics
    /// Index into `nodes`.
    case node(Int)
  }

  private struct NodeDraft {
    var name: String
    var line: Int
    var id: NodeId?
    var addresses: [String] = []
    var votes = 1
    var votesLine: Int?
  }

  let fileName: String

  private var section: Section?
  private var sectionLine = 0
  /// Keys already set in the current section, with their line.
  private var seenKeys: [String: Int] = [:]

  private var clusterLine: Int?
  private var name: String?
  private var port: UInt16 = 5405
  private var failureTimeout = Duration.milliseconds(1000)
  private var heartbeat: (value: Duration, line: Int)?
  private var debug = false
  private var nodeLostHook: String?

  private var quorumLine: Int?
  private var quorum = QuorumOptions()
  /// Line of each key set in `[quorum]`, for the compatibility checks.
  private var quorumKeyLines: [String: Int] = [:]

  private var metricsLine: Int?
  private var metricsListen: MetricsListen?

  private var nodes: [NodeDraft] = []
  /// Address bytes → name of the node that uses them.
  private var addressOwners: [[UInt8]: String] = [:]

  init(fileName: String) { self.fileName = fileName }

  private func error(_ line: Int?, _ key: String?, _ message: String) -> ConfigError {
    ConfigError(fileName: fileName, line: line, key: key, message: message)
  }

  mutating func parse(_ text: String) throws(ConfigError) -> ClusterConfiguration {
    let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    for (index, raw) in lines.enumerated() {
      let lineNumber = index + 1
      let line = Self.trimmed(Self.withoutComment(raw))
      if line.isEmpty { continue }
      if line.first == "[" {
        try header(line, lineNumber)
      } else {
        try keyValue(line, lineNumber)
      }
    }
    try finishSection()
    return try build()
  }

  // MARK: - Lines

  /// Drops a comment: a `#` or `;` at the start of the line or after whitespace, to the end of line.
  private static func withoutComment(_ line: Substring) -> Substring {
    var previousIsSpace = true
    for i in line.indices {
      let c = line[i]
      if (c == "#" || c == ";") && previousIsSpace { return line[..<i] }
      previousIsSpace = c.isWhitespace
    }
    return line
  }

  private static func trimmed(_ s: Substring) -> Substring {
    guard let first = s.firstIndex(where: { !$0.isWhitespace }),
      let last = s.lastIndex(where: { !$0.isWhitespace })
    else { return "" }
    return s[first...last]
  }

  private mutating func header(_ line: Substring, _ lineNumber: Int) throws(ConfigError) {
    guard line.count >= 2, line.last == "]" else {
      throw error(
        lineNumber, nil, "malformed section header; expected [cluster], [quorum], [metrics] or [node NAME]")
    }
    try finishSection()
    let inner = line.dropFirst().dropLast()
    let words = inner.split(whereSeparator: \.isWhitespace).map(String.init)
    sectionLine = lineNumber
    seenKeys = [:]
    switch words {
    case ["cluster"]:
      if let first = clusterLine {
        throw error(lineNumber, nil, "duplicate section [cluster] (first on line \(first))")
      }
      clusterLine = lineNumber
      section = .cluster
    case ["quorum"]:
      if let first = quorumLine {
        throw error(lineNumber, nil, "duplicate section [quorum] (first on line \(first))")
      }
      quorumLine = lineNumber
      section = .quorum
    case ["metrics"]:
      if let first = metricsLine {
        throw error(lineNumber, nil, "duplicate section [metrics] (first on line \(first))")
      }
      metricsLine = lineNumber
      section = .metrics
    case ["node"]:
      throw error(lineNumber, nil, "section [node] needs a name: [node NAME]")
    case _ where words.count == 2 && words[0] == "node":
      let nodeName = words[1]
      guard ValueSyntax.isName(nodeName) else {
        throw error(lineNumber, nil, "node name \"\(nodeName)\" must be 1-64 characters of [A-Za-z0-9_.-]")
      }
      if let other = nodes.first(where: { $0.name == nodeName }) {
        throw error(lineNumber, nil, "duplicate node name \(nodeName) (first on line \(other.line))")
      }
      nodes.append(NodeDraft(name: nodeName, line: lineNumber))
      section = .node(nodes.count - 1)
    default:
      throw error(
        lineNumber, nil,
        "unknown section [\(Self.trimmed(inner))]; expected [cluster], [quorum], [metrics] or [node NAME]")
    }
  }

  private func finishSection() throws(ConfigError) {
    switch section {
    case nil, .quorum, .metrics:
      return
    case .cluster:
      if name == nil { throw error(sectionLine, "name", "required key missing in [cluster]") }
    case .node(let index):
      let node = nodes[index]
      if node.id == nil { throw error(sectionLine, "id", "required key missing in [node \(node.name)]") }
      if node.addresses.isEmpty {
        throw error(sectionLine, "addr", "required key missing in [node \(node.name)]")
      }
    }
  }

  private mutating func keyValue(_ line: Substring, _ lineNumber: Int) throws(ConfigError) {
    guard let equals = line.firstIndex(of: "=") else {
      throw error(lineNumber, nil, "expected \"key = value\" or a [section] header")
    }
    let key = String(Self.trimmed(line[..<equals]))
    let value = String(Self.trimmed(line[line.index(after: equals)...]))
    guard !key.isEmpty else { throw error(lineNumber, nil, "expected \"key = value\" or a [section] header") }
    guard let section else { throw error(lineNumber, key, "key outside of any section") }

    let known: [String]
    let sectionName: String
    switch section {
    case .cluster: (known, sectionName) = (ConfigKeys.cluster, "[cluster]")
    case .quorum: (known, sectionName) = (ConfigKeys.quorum, "[quorum]")
    case .metrics: (known, sectionName) = (ConfigKeys.metrics, "[metrics]")
    case .node(let i): (known, sectionName) = (ConfigKeys.node, "[node \(nodes[i].name)]")
    }
    guard known.contains(key) else { throw error(lineNumber, key, "unknown key in \(sectionName)") }
    if key != "addr", let first = seenKeys[key] {
      throw error(lineNumber, key, "duplicate key (first set on line \(first))")
    }
    seenKeys[key] = seenKeys[key] ?? lineNumber
    guard !value.isEmpty else { throw error(lineNumber, key, "missing value") }

    let v = ValueReader(fileName: fileName, line: lineNumber, key: key, value: value)
    switch section {
    case .cluster:
      switch key {
      case "name":
        guard ValueSyntax.isName(value) else { throw v.fail("must be 1-64 characters of [A-Za-z0-9_.-]") }
        name = value
      case "port": port = UInt16(try v.integer(1...65535))
      case "failure_timeout": failureTimeout = try v.duration(in: ConfigLimits.failureTimeout)
      case "heartbeat_interval": heartbeat = (try v.duration(), lineNumber)
      case "debug": debug = try v.bool()
      default:  // node_lost_hook
        guard value.first == "/",
          !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else {
          throw v.fail("must be an absolute path")
        }
        nodeLostHook = value
      }
    case .quorum:
      quorumKeyLines[key] = lineNumber
      switch key {
      case "expected_votes": quorum.expectedVotes = try v.integer(1...65535)
      case "two_node": quorum.twoNode = try v.bool()
      case "wait_for_all": quorum.waitForAll = try v.bool()
      case "last_man_standing": quorum.lastManStanding = try v.bool()
      case "last_man_standing_window":
        let window = try v.duration()
        guard window >= ConfigLimits.minimumLastManStandingWindow else {
          throw v.fail("must be at least \(formatDuration(ConfigLimits.minimumLastManStandingWindow))")
        }
        quorum.lastManStandingWindow = window
      case "auto_tie_breaker": quorum.autoTieBreaker = try v.bool()
      default: quorum.autoTieBreakerNode = try v.tieBreaker()  // auto_tie_breaker_node
      }
    case .metrics:
      metricsListen = try v.listenAddress()  // listen
    case .node(let i):
      switch key {
      case "id":
        let id = NodeId(UInt32(try v.integer(1...65535)))
        if let other = nodes.first(where: { $0.id == id }) {
          throw v.fail("node id \(id) is already used by node \(other.name)")
        }
        nodes[i].id = id
      case "votes":
        nodes[i].votes = try v.integer(0...255)
        nodes[i].votesLine = lineNumber
      default:  // addr
        guard nodes[i].addresses.count < ConfigLimits.maximumLinks else {
          throw v.fail("at most \(ConfigLimits.maximumLinks) addresses (links) per node")
        }
        guard let bytes = ValueSyntax.ipAddress(value) else {
          throw v.fail("\"\(value)\" is not an IPv4 or IPv6 address")
        }
        if let owner = addressOwners[bytes] {
          throw v.fail("address \(value) is already used by node \(owner)")
        }
        addressOwners[bytes] = nodes[i].name
        nodes[i].addresses.append(value)
      }
    }
  }

  // MARK: - Whole-file checks

  private func build() throws(ConfigError) -> ClusterConfiguration {
    guard let name else { throw error(nil, nil, "missing [cluster] section") }
    guard let firstNode = nodes.first else {
      throw error(nil, nil, "no [node NAME] section; at least one node is required")
    }

    if let heartbeat {
      let upper = failureTimeout / 3
      guard heartbeat.value >= ConfigLimits.minimumHeartbeat, heartbeat.value * 3 <= failureTimeout else {
        throw error(
          heartbeat.line, "heartbeat_interval",
          "must be between \(formatDuration(ConfigLimits.minimumHeartbeat)) and failure_timeout / 3"
            + " (\(formatDuration(upper)))")
      }
    }

    for node in nodes.dropFirst() where node.addresses.count != firstNode.addresses.count {
      throw error(
        node.line, "addr",
        "node \(node.name) has \(Self.addresses(node.addresses.count)) but node \(firstNode.name) has "
          + "\(Self.addresses(firstNode.addresses.count)); every node needs one address per link")
    }

    if nodes.allSatisfy({ $0.votes == 0 }) {
      throw error(nil, nil, "the nodes' votes add up to 0; at least one node needs a vote")
    }

    if quorum.twoNode && quorum.autoTieBreaker {
      throw error(
        quorumKeyLines["auto_tie_breaker"], "auto_tie_breaker",
        "two_node and auto_tie_breaker cannot be used together")
    }
    let totalVotes = nodes.reduce(0) { $0 + $1.votes }
    if quorum.autoTieBreaker && totalVotes % 2 == 1 && !(quorum.waitForAll ?? false) {
      // Without wait_for_all, a freshly booted majority that lacks the tie-breaker node could
      // become quorate on its own; corosync refuses this combination too.
      throw error(
        quorumKeyLines["auto_tie_breaker"], "auto_tie_breaker",
        "requires wait_for_all = true when the nodes' votes add up to an odd number (\(totalVotes))")
    }
    if quorum.lastManStanding {
      if !(quorum.waitForAll ?? quorum.twoNode) {
        throw error(quorumKeyLines["last_man_standing"], "last_man_standing", "requires wait_for_all = true")
      }
      if let node = nodes.first(where: { $0.votes != 1 }) {
        throw error(
          node.votesLine, "votes", "must be 1 on every node when last_man_standing is enabled")
      }
    }
    if case .list(let ids) = quorum.autoTieBreakerNode {
      for id in ids where !nodes.contains(where: { $0.id == id }) {
        throw error(
          quorumKeyLines["auto_tie_breaker_node"], "auto_tie_breaker_node",
          "node id \(id) is not a configured node")
      }
    }

    return ClusterConfiguration(
      clusterName: name, port: port, failureTimeout: failureTimeout, heartbeatInterval: heartbeat?.value,
      debug: debug, nodeLostHook: nodeLostHook, quorum: quorum,
      nodes: nodes.map { NodeEntry(name: $0.name, id: $0.id!, addresses: $0.addresses, votes: $0.votes) },
      metricsListen: metricsListen)
  }

  private static func addresses(_ n: Int) -> String { n == 1 ? "1 address" : "\(n) addresses" }
}

/// Reads one value, throwing errors located at its line and key.
private struct ValueReader {
  let fileName: String
  let line: Int
  let key: String
  let value: String

  func fail(_ message: String) -> ConfigError {
    ConfigError(fileName: fileName, line: line, key: key, message: message)
  }

  func integer(_ range: ClosedRange<Int>) throws(ConfigError) -> Int {
    guard ValueSyntax.isDigits(value) else { throw fail("\"\(value)\" is not a whole number") }
    guard let n = ValueSyntax.integer(value, in: range) else {
      throw fail("must be between \(range.lowerBound) and \(range.upperBound)")
    }
    return n
  }

  func bool() throws(ConfigError) -> Bool {
    guard let b = ValueSyntax.bool(value) else {
      throw fail("\"\(value)\" is not a boolean (use true/false, yes/no, on/off or 1/0)")
    }
    return b
  }

  func duration(in range: ClosedRange<Duration>? = nil) throws(ConfigError) -> Duration {
    guard let d = parseDuration(value) else {
      throw fail("\"\(value)\" is not a duration (examples: 250ms, 1.5s, 2m)")
    }
    if let range, !range.contains(d) {
      throw fail(
        "must be between \(formatDuration(range.lowerBound)) and \(formatDuration(range.upperBound))")
    }
    return d
  }

  /// `ADDRESS:PORT` or `[IPV6]:PORT`.
  func listenAddress() throws(ConfigError) -> MetricsListen {
    let usage =
      "must be ADDRESS:PORT with an IP address and a port 1-65535 (examples: 127.0.0.1:9664, [::1]:9664)"
    let host: Substring
    let portText: Substring
    if value.hasPrefix("[") {
      guard let close = value.firstIndex(of: "]"), value[close...].hasPrefix("]:") else { throw fail(usage) }
      host = value[value.index(after: value.startIndex)..<close]
      portText = value[value.index(close, offsetBy: 2)...]
      guard host.contains(":") else { throw fail(usage) }
    } else {
      guard let colon = value.lastIndex(of: ":"), value.firstIndex(of: ":") == colon else {
        throw fail(usage)
      }
      host = value[..<colon]
      portText = value[value.index(after: colon)...]
    }
    guard ValueSyntax.ipAddress(String(host)) != nil else {
      throw fail("\"\(host)\" is not an IPv4 or IPv6 address; \(usage)")
    }
    guard ValueSyntax.isDigits(String(portText)),
      let port = ValueSyntax.integer(String(portText), in: 1...65535)
    else { throw fail(usage) }
    return MetricsListen(host: String(host), port: UInt16(port))
  }

  func tieBreaker() throws(ConfigError) -> TieBreakerChoice {
    switch value {
    case "lowest": return .lowest
    case "highest": return .highest
    default:
      var ids: [NodeId] = []
      for word in value.split(whereSeparator: \.isWhitespace) {
        guard let n = ValueSyntax.integer(String(word), in: 1...65535) else {
          throw fail("must be lowest, highest or a space-separated list of node ids (1-65535)")
        }
        let id = NodeId(UInt32(n))
        if ids.contains(id) { throw fail("node id \(id) is listed twice") }
        ids.append(id)
      }
      return .list(ids)
    }
  }
}
