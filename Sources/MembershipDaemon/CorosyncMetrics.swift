import ClusterConfig
import ClusterTypes
import ControlProtocol

/// Heartbeat loss per peer, counted at every tick.
///
/// A peer sends a heartbeat every `heartbeat_interval`; silence longer than one interval plus one
/// interval of slack counts one missed heartbeat per interval, until the peer is declared dead: the
/// membership protocol no longer hears it (`failure_timeout` on every link) or removed it from the
/// view as lost, whichever comes first. That is one timeout; the peer is alive again only once
/// something new arrives from it. A clean leave is neither.
struct HeartbeatLoss {
  var missed: [NodeId: UInt64] = [:]
  var timeouts: [NodeId: UInt64] = [:]
  /// Missed heartbeats already counted in the current silence of each peer.
  var countedInSilence: [NodeId: UInt64] = [:]
  /// Dead peers, with the last time they were heard when declared dead.
  var deadAfter: [NodeId: Instant] = [:]

  /// Returns true when this declared the peer dead.
  @discardableResult
  mutating func declareDead(_ peer: NodeId, lastHeard: Instant, counted: Bool = true) -> Bool {
    guard deadAfter[peer] == nil else { return false }
    deadAfter[peer] = lastHeard
    if counted { timeouts[peer, default: 0] += 1 }
    return counted
  }

  /// - Parameters:
  ///   - lastHeard: when anything last arrived from the peer; nil if it never did.
  ///   - heard: whether the membership protocol still hears the peer.
  /// - Returns: true when this declared the peer dead.
  @discardableResult
  mutating func update(
    peer: NodeId, lastHeard: Instant?, now: Instant, heard: Bool, leftCleanly: Bool, heartbeat: Duration
  ) -> Bool {
    guard let lastHeard else { return false }  // never heard: nothing was lost yet
    if let dead = deadAfter[peer] {
      guard lastHeard > dead else { return false }
      deadAfter[peer] = nil  // heard again
    }
    if !heard { return declareDead(peer, lastHeard: lastHeard, counted: !leftCleanly) }
    let intervals = (now - lastHeard).nanosecondsClamped / max(heartbeat.nanosecondsClamped, 1)
    let missedNow = UInt64(max(0, intervals - 1))
    let counted = countedInSilence[peer] ?? 0
    if missedNow > counted { missed[peer, default: 0] += missedNow - counted }
    countedInSilence[peer] = missedNow
    return false
  }
}

extension CorosyncDaemon {
  /// Counts heartbeat loss of every peer (called from `tick`).
  func countHeartbeatLoss(now: Instant) {
    for peer in instance.peerStatus(now: now) {
      let declared = heartbeatLoss.update(
        peer: peer.node, lastHeard: lastHeardAny(peer.node), now: now, heard: peer.heard,
        leftCleanly: peer.leftCleanly, heartbeat: config.heartbeatInterval)
      if declared { logDeclaredDead(peer.node) }
    }
  }

  /// A view lost `node`: dead now, even if its last datagram is not yet `failure_timeout` old (the
  /// gossiped rows can expire first).
  func countLost(_ node: NodeId) {
    peersLost[node, default: 0] += 1
    if let heard = lastHeardAny(node), heartbeatLoss.declareDead(node, lastHeard: heard) {
      logDeclaredDead(node)
    }
  }

  func lastHeardAny(_ node: NodeId) -> Instant? { lastHeard[node]?.compactMap { $0 }.max() }

  func logDeclaredDead(_ node: NodeId) {
    logger.warning(
      "\(name(of: node)) not heard on any link for \(formatDuration(config.failureTimeout)): declared dead")
  }

  /// swcorosync's metric families (`metrics` request): membership, quorum, heartbeat loss, datagrams.
  func metrics() -> [MetricFamily] {
    let s = status()
    let peers = config.nodes.filter { $0.id != me }
    func perPeer(_ values: [NodeId: UInt64]) -> [MetricSample] {
      peers.map { MetricSample(labels: [MetricLabel("peer", $0.name)], value: Double(values[$0.id] ?? 0)) }
    }
    var links: [MetricSample] = []
    for node in s.nodes where node.id != me.rawValue {
      for link in node.links {
        links.append(
          MetricSample(
            labels: [MetricLabel("peer", node.name), MetricLabel("link", String(link.link))],
            value: link.up ? 1 : 0))
      }
    }
    return [
      MetricFamily(
        name: "swpcs_node_info", help: "This node: cluster name, node name and id (always 1).", kind: .gauge,
        samples: [
          MetricSample(
            labels: [
              MetricLabel("cluster", s.cluster), MetricLabel("node", s.nodeName),
              MetricLabel("node_id", String(s.nodeId)),
            ], value: 1)
        ]),
      .gauge("swpcs_membership_members", "Members of the installed view.", Double(s.members.count)),
      .gauge("swpcs_membership_configured_nodes", "Nodes in cluster.conf.", Double(config.nodes.count)),
      .gauge(
        "swpcs_membership_view_sequence", "Sequence number of the installed view.", Double(s.viewSequence)),
      MetricFamily(
        name: "swpcs_membership_view_changes_total", help: "Views installed since the daemon started.",
        kind: .counter, samples: [MetricSample(value: Double(s.counters.viewChanges))]),
      MetricFamily(
        name: "swpcs_membership_peers_lost_total",
        help: "Members that left a view uncleanly (failed, not a clean stop), by peer.", kind: .counter,
        samples: perPeer(peersLost)),
      MetricFamily(
        name: "swpcs_membership_heartbeats_missed_total",
        help: "Heartbeat intervals a peer stayed silent (one interval of slack) before failure_timeout.",
        kind: .counter, samples: perPeer(heartbeatLoss.missed)),
      MetricFamily(
        name: "swpcs_membership_peer_timeouts_total",
        help: "Times a peer was not heard on any link for failure_timeout (declared dead).", kind: .counter,
        samples: perPeer(heartbeatLoss.timeouts)),
      MetricFamily(
        name: "swpcs_membership_link_up", help: "Whether a peer was heard on a link within failure_timeout.",
        kind: .gauge, samples: links),
      .gauge(
        "swpcs_quorum_quorate", "Whether this partition has quorum (1) or not (0).", s.quorum.quorate ? 1 : 0),
      .gauge(
        "swpcs_quorum_total_votes", "Votes of the members of the installed view.", Double(s.quorum.totalVotes)
      ),
      .gauge(
        "swpcs_quorum_expected_votes", "Expected votes (highest known).", Double(s.quorum.highestExpected)),
      .gauge("swpcs_quorum_votes_needed", "Votes needed for quorum.", Double(s.quorum.quorum)),
      MetricFamily(
        name: "swpcs_datagrams_received_total", help: "Datagrams received on every link.", kind: .counter,
        samples: [MetricSample(value: Double(s.counters.datagramsReceived))]),
      MetricFamily(
        name: "swpcs_datagrams_sent_total", help: "Datagrams sent on every link.", kind: .counter,
        samples: [MetricSample(value: Double(s.counters.datagramsSent))]),
      MetricFamily(
        name: "swpcs_datagram_sent_bytes_total", help: "Bytes of datagrams sent on every link.",
        kind: .counter,
        samples: [MetricSample(value: Double(s.counters.bytesSent))]),
      MetricFamily(
        name: "swpcs_datagrams_dropped_total",
        help: "Datagrams dropped before reaching the membership protocol, by reason.", kind: .counter,
        samples: s.counters.dropped.map { reason, count in
          MetricSample(labels: [MetricLabel("reason", Self.snakeCase(reason))], value: Double(count))
        }),
    ]
  }

  /// `wrongCluster` → `wrong_cluster`: Prometheus label values conventionally use snake case.
  static func snakeCase(_ name: String) -> String {
    var out = ""
    for character in name {
      if character.isUppercase {
        out += "_" + character.lowercased()
      } else {
        out.append(character)
      }
    }
    return out
  }
}
