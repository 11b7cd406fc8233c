import ClusterTypes
import Quorum

extension ClusterConfiguration {
  /// The canonical `cluster.conf` text for this configuration; `parse(rendered())` gives back an
  /// equal value for every configuration that `parse` accepts (a value built by hand that breaks the
  /// rules of swpcs-cluster.conf(5) renders to text that `parse` rejects).
  ///
  /// Every key is written out, except optional keys that are unset (`node_lost_hook`,
  /// `expected_votes`, `wait_for_all`) and `heartbeat_interval` when it is the default
  /// failure_timeout / 5, so that the default keeps following failure_timeout when it is edited.
  public func rendered() -> String {
    var lines = ["[cluster]"]
    lines.append("name = \(clusterName)")
    lines.append("port = \(port)")
    lines.append("failure_timeout = \(formatDuration(failureTimeout))")
    if heartbeatInterval != failureTimeout / 5 {
      lines.append("heartbeat_interval = \(formatDuration(heartbeatInterval))")
    }
    lines.append("debug = \(debug)")
    if let nodeLostHook { lines.append("node_lost_hook = \(nodeLostHook)") }

    lines += ["", "[quorum]"]
    if let expectedVotes = quorum.expectedVotes { lines.append("expected_votes = \(expectedVotes)") }
    lines.append("two_node = \(quorum.twoNode)")
    if let waitForAll = quorum.waitForAll { lines.append("wait_for_all = \(waitForAll)") }
    lines.append("last_man_standing = \(quorum.lastManStanding)")
    lines.append("last_man_standing_window = \(formatDuration(quorum.lastManStandingWindow))")
    lines.append("auto_tie_breaker = \(quorum.autoTieBreaker)")
    let tieBreaker: String
    switch quorum.autoTieBreakerNode {
    case .lowest: tieBreaker = "lowest"
    case .highest: tieBreaker = "highest"
    case .list(let ids): tieBreaker = ids.map(\.description).joined(separator: " ")
    }
    lines.append("auto_tie_breaker_node = \(tieBreaker)")

    if let metricsListen { lines += ["", "[metrics]", "listen = \(metricsListen)"] }

    for node in nodes {
      lines += ["", "[node \(node.name)]", "id = \(node.id)"]
      lines += node.addresses.map { "addr = \($0)" }
      lines.append("votes = \(node.votes)")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
