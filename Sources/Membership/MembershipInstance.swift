import ClusterTypes

/// Tunables of one node's membership state machine; all derived from cluster.conf.
public struct MembershipSettings: Sendable, Equatable {
  public var localNode: NodeId
  /// Every configured node, including the local one.
  public var nodes: [NodeId]
  public var linkCount: Int
  public var heartbeatInterval: Duration
  /// A peer silent on every link for this long is no longer heard.
  public var failureTimeout: Duration
  /// Largest group message a client may submit; larger than a datagram, it travels as fragments.
  public var maxPayload: Int
  /// Bytes of one fragment (one sequenced message) at most; keeps datagrams under the wire bound.
  public var fragmentSize: Int
  /// Budget of payload bytes per ordered/submit datagram (keeps datagrams under the wire bound).
  public var batchBudget: Int
  /// Bytes of submissions waiting to be ordered, at most.
  public var maxPending: Int

  public init(
    localNode: NodeId, nodes: [NodeId], linkCount: Int = 1, heartbeatInterval: Duration = .milliseconds(200),
    failureTimeout: Duration = .milliseconds(1000), maxPayload: Int = 16 << 20, fragmentSize: Int = 60_000,
    batchBudget: Int = 64_000, maxPending: Int = 64 << 20
  ) {
    self.localNode = localNode
    self.nodes = nodes.sorted()
    self.linkCount = max(1, linkCount)
    self.heartbeatInterval = heartbeatInterval
    self.failureTimeout = failureTimeout
    self.maxPayload = maxPayload
    self.fragmentSize = fragmentSize
    self.batchBudget = batchBudget
    self.maxPending = maxPending
  }

  /// How long a coordinator waits for every accept before it proposes again.
  var proposalTimeout: Duration { max(heartbeatInterval * 4, failureTimeout / 2) }
  /// How long a member waits for the commit of a proposal it accepted, or for flush messages.
  var commitTimeout: Duration { failureTimeout }
  /// A fresh node waits this long to hear its peers before it forms a view (fewer view changes).
  var startupHold: Duration { heartbeatInterval * 2 }
}

/// Which links a message goes out on.
public enum LinkChoice: Sendable, Equatable {
  /// Every configured link (heartbeats; view-change control messages).
  case all
  /// The lowest-numbered link that is up for that peer (group data).
  case best
}

/// A change of the installed view, with why each node came or went.
public struct ViewChange: Sendable, Equatable {
  public var view: View
  public var previous: View?
  /// New members, including restarted ones (a new incarnation).
  public var joined: [NodeId]
  /// Members that announced a clean leave.
  public var left: [NodeId]
  /// Members that failed, were cut off, or restarted: candidates for fencing.
  public var lost: [NodeId]
  /// Members whose last heartbeat said they were quorate (clears wait_for_all early).
  public var quorateMembers: Set<NodeId>
}

/// A group message delivered to local clients, in the same order on every member of the view.
public struct GroupDelivery: Sendable, Equatable {
  public var view: ViewId
  public var sequence: UInt64
  public var origin: NodeId
  public var payload: [UInt8]
}

/// What the shell must do after feeding the instance an input.
public enum MembershipDirective: Sendable, Equatable {
  case send(MembershipMessage, to: NodeId, links: LinkChoice)
  case installView(ViewChange)
  case deliver(GroupDelivery)
  /// Write the highest view sequence used to disk before sending anything that follows, so a
  /// restarted node never reuses a view id (corosync keeps its ring id on disk for the same reason).
  case persistViewSequence(UInt64)
  /// Every member of `view` has delivered its group messages up to sequence `upTo` (corosync's
  /// "safe" delivery point): a message there is held by every member, whichever partition each of
  /// them ends up in. Announced when it advances, from the members' heartbeats, and for the old view
  /// just before a new one is installed (then from what was last heard of each member).
  case stable(view: ViewId, upTo: UInt64)
}

/// Why a group message could not be queued.
public enum SubmitError: Error, Sendable, Equatable, CustomStringConvertible {
  case tooLarge(size: Int, limit: Int)
  case queueFull(limit: Int)
  case leaving
  public var description: String {
    switch self {
    case .tooLarge(let size, let limit): "message of \(size) bytes exceeds the limit of \(limit) bytes"
    case .queueFull(let limit): "\(limit) bytes of messages are already waiting to be ordered"
    case .leaving: "this node is leaving the cluster"
    }
  }
}

/// Observable state of one peer, for status output.
public struct PeerStatus: Sendable, Equatable {
  public var node: NodeId
  public var incarnation: UInt64?
  /// Per link: heard within the failure timeout.
  public var linksUp: [Bool]
  public var heard: Bool
  public var reportedView: ViewId
  public var leftCleanly: Bool
}

/// One node's membership: failure detection over a gossiped connectivity matrix, agreement on
/// views, and totally ordered group messaging with a flush across view changes.
///
/// A value type that performs no I/O and reads no clock: every input carries `now`, every output is
/// a directive for the shell. The daemon and the simulation drive the same code.
///
/// Invariants: the installed view id only grows; a node installs only views it is a member of and
/// whose member set it computed itself from the matrix (so members all hear each other); members
/// that install the same two consecutive views deliver the same messages in the first.
public struct MembershipInstance: Sendable {
  public private(set) var settings: MembershipSettings
  public let incarnation: UInt64
  public var me: NodeId { settings.localNode }

  // Failure detection and the connectivity matrix.
  struct Peer: Sendable {
    var incarnation: UInt64?
    var lastHeard: [Instant?]
    var departedIncarnation: UInt64?
    var reportedView: ViewId = .none
    var reportedViewMismatchSince: Instant?
    /// Since when this member of the installed view reports a newer view (it moved on).
    var movedOnSince: Instant?
    var quorate = false
    var delivered: UInt64 = 0
    var sequenced: UInt64 = 0
    /// The highest sequence it reported delivered in this node's installed view (kept once it moves
    /// on: what it held when it left).
    var deliveredInInstalled: UInt64 = 0
  }
  struct KnownRow: Sendable {
    var incarnation: UInt64
    var version: UInt64
    var heard: Set<NodeId>
    var advancedAt: Instant
  }
  var peers: [NodeId: Peer] = [:]
  var rows: [NodeId: KnownRow] = [:]
  var rowVersion: UInt64 = 0
  let startedAt: Instant
  var nextHeartbeatAt: Instant
  var leaving = false

  // View agreement.
  enum Phase: Sendable {
    case operational
    case proposing(View, accepts: [NodeId: Report], deadline: Instant)
    case accepted(View, deadline: Instant)
    case flushing(View, cut: FlushCut, deadline: Instant)
  }
  struct Report: Sendable, Equatable {
    var oldView: ViewId
    var delivered: UInt64
  }
  public private(set) var installed: View?
  var phase: Phase = .operational
  var highestSequenceSeen: UInt64 = 0
  /// Views this node installs must have a higher sequence than this: the persisted value after a
  /// restart, then each installed view's.
  var sequenceFloor: UInt64 = 0
  /// Whether the local votequorum says quorate; the shell keeps this current.
  public var localQuorate = false

  // Ordered messaging in the installed view.
  var log: [UInt64: SequencedMessage] = [:]
  public private(set) var delivered: UInt64 = 0
  /// The stable point last announced for the installed view (`MembershipDirective.stable`).
  var stableAnnounced: UInt64 = 0
  var nextSequence: UInt64 = 1
  var lastSequencedFromOrigin: [NodeId: UInt64] = [:]
  var previousView: ViewId?
  var previousLog: [UInt64: SequencedMessage] = [:]
  var futureView: ViewId?
  var futureLog: [UInt64: SequencedMessage] = [:]
  var pending: [PendingSubmission] = []
  var pendingBytes = 0
  /// Fragments received so far of each origin's message in progress.
  var reassembly: [NodeId: [UInt8]] = [:]
  var nextOriginSequence: UInt64 = 1

  /// `persistedViewSequence`: the last value of `.persistViewSequence` this node wrote (0 at first).
  public init(
    settings: MembershipSettings, incarnation: UInt64, persistedViewSequence: UInt64 = 0, now: Instant
  ) {
    self.settings = settings
    self.incarnation = incarnation
    self.highestSequenceSeen = persistedViewSequence
    self.sequenceFloor = persistedViewSequence
    self.startedAt = now
    self.nextHeartbeatAt = now
    for node in settings.nodes where node != settings.localNode {
      peers[node] = Peer(lastHeard: Array(repeating: nil, count: settings.linkCount))
    }
  }

  // MARK: - Inputs

  /// Time passed: send heartbeats when due, expire silent peers, retry what timed out.
  public mutating func tick(now: Instant) -> [MembershipDirective] {
    guard !leaving else { return [] }
    var out: [MembershipDirective] = []
    if now >= nextHeartbeatAt {
      rowVersion += 1
      let heartbeat = makeHeartbeat(now: now)
      for node in settings.nodes where node != me {
        out.append(.send(.heartbeat(heartbeat), to: node, links: .all))
      }
      nextHeartbeatAt = now + settings.heartbeatInterval
      retransmitPending(into: &out)
      requestMissing(into: &out)
    }
    expirePhase(now: now, into: &out)
    evaluate(now: now, into: &out)
    announceStable(into: &out)
    return out
  }

  /// When the shell must call `tick` next at the latest.
  public func nextDeadline(now: Instant) -> Instant {
    var deadline = nextHeartbeatAt
    for peer in peers.values {
      if let heard = peer.lastHeard.lazy.compactMap({ $0 }).max() {
        let expiry = heard + settings.failureTimeout
        if expiry > now && expiry < deadline { deadline = expiry }
      }
    }
    for (_, row) in rows {
      let expiry = row.advancedAt + settings.failureTimeout
      if expiry > now && expiry < deadline { deadline = expiry }
    }
    switch phase {
    case .operational: break
    case .proposing(_, _, let d), .accepted(_, let d), .flushing(_, _, let d): deadline = min(deadline, d)
    }
    let hold = startedAt + settings.startupHold
    if installed == nil && hold > now { deadline = min(deadline, hold) }
    return deadline
  }

  /// An authenticated message arrived from `sender` (incarnation as sealed in its envelope) on `link`.
  public mutating func receive(
    _ message: MembershipMessage, from sender: NodeId, incarnation senderIncarnation: UInt64, link: Int,
    now: Instant
  ) -> [MembershipDirective] {
    guard !leaving, sender != me, var peer = peers[sender] else { return [] }
    if let known = peer.incarnation, senderIncarnation < known { return [] }
    if peer.incarnation != senderIncarnation {
      // First contact, or the peer restarted: forget what its old incarnation said.
      peer.incarnation = senderIncarnation
      peer.reportedView = .none
      peer.delivered = 0
      peer.sequenced = 0
      peer.quorate = false
      peer.movedOnSince = nil
      rows[sender] = nil
    }
    if peer.departedIncarnation == senderIncarnation { return [] }
    if link >= 0 && link < peer.lastHeard.count { peer.lastHeard[link] = now }
    peers[sender] = peer

    var out: [MembershipDirective] = []
    switch message {
    case .heartbeat(let heartbeat):
      onHeartbeat(heartbeat, from: sender, now: now)
    case .leave:
      peers[sender]?.departedIncarnation = senderIncarnation
      peers[sender]?.lastHeard = Array(repeating: nil, count: settings.linkCount)
      rows[sender] = nil
    case .propose(let view):
      onPropose(view, from: sender, now: now, into: &out)
    case .accept(let viewId, let oldView, let delivered):
      onAccept(
        viewId, from: sender, report: Report(oldView: oldView, delivered: delivered), now: now, into: &out)
    case .commit(let view, let cuts):
      onCommit(view, cuts: cuts, now: now, into: &out)
    case .submit(let viewId, let firstPending, let submissions):
      onSubmit(viewId, from: sender, firstPending: firstPending, submissions: submissions, into: &out)
    case .ordered(let viewId, let messages):
      onOrdered(viewId, messages: messages, now: now, into: &out)
    case .retransmit(let viewId, let from, let to):
      onRetransmit(viewId, from: from, to: to, requester: sender, into: &out)
    }
    evaluate(now: now, into: &out)
    announceStable(into: &out)
    return out
  }

  /// A local client sends a message to the group. It is delivered (to everyone, including here) once
  /// the view's sequencer ordered it; it survives view changes until delivered.
  public mutating func submit(_ payload: [UInt8], now: Instant) throws(SubmitError) -> [MembershipDirective] {
    guard !leaving else { throw .leaving }
    guard payload.count <= settings.maxPayload else {
      throw .tooLarge(size: payload.count, limit: settings.maxPayload)
    }
    guard pendingBytes + payload.count <= settings.maxPending else {
      throw .queueFull(limit: settings.maxPending)
    }
    // Fragments carry one framing byte: 1 = more fragments of this message follow, 0 = last.
    let firstNew = nextOriginSequence
    var offset = 0
    repeat {
      let end = min(offset + settings.fragmentSize, payload.count)
      let more: UInt8 = end < payload.count ? 1 : 0
      pending.append(
        PendingSubmission(originSequence: nextOriginSequence, payload: [more] + payload[offset..<end]))
      nextOriginSequence += 1
      offset = end
    } while offset < payload.count
    pendingBytes += payload.count
    var out: [MembershipDirective] = []
    retransmitPending(onlyNewestFrom: firstNew, into: &out)
    announceStable(into: &out)
    return out
  }

  /// Clean shutdown: tell every peer on every link, then go silent.
  public mutating func leave() -> [MembershipDirective] {
    guard !leaving else { return [] }
    leaving = true
    return settings.nodes.filter { $0 != me }.map { .send(.leave, to: $0, links: .all) }
  }

  // MARK: - Reconfiguration

  /// cluster.conf was reloaded with other nodes (corosync's nodelist reload). A new node is a peer
  /// not heard yet; a removed node gets no more heartbeats and what it says is ignored, so it leaves
  /// the view as a silent node does.
  public mutating func updateNodes(_ nodes: [NodeId]) {
    settings.nodes = Array(Set(nodes).union([me])).sorted()
    for node in settings.nodes where node != me && peers[node] == nil {
      peers[node] = Peer(lastHeard: Array(repeating: nil, count: settings.linkCount))
    }
    for node in Array(peers.keys) where !settings.nodes.contains(node) {
      peers[node] = nil
      rows[node] = nil
    }
  }

  // MARK: - Status

  public func peerStatus(now: Instant) -> [PeerStatus] {
    settings.nodes.filter { $0 != me }.map { node in
      let peer = peers[node]!
      let up = peer.lastHeard.map { heard in heard.map { now - $0 < settings.failureTimeout } ?? false }
      return PeerStatus(
        node: node, incarnation: peer.incarnation, linksUp: up, heard: isHeard(node, now: now),
        reportedView: peer.reportedView,
        leftCleanly: peer.departedIncarnation != nil
          && peer.departedIncarnation == peer.incarnation)
    }
  }

  /// The member set this node currently believes it should be in (the matrix's block).
  public func candidate(now: Instant) -> [NodeId] {
    var matrix: [NodeId: Set<NodeId>] = [me: heardSet(now: now).union([me])]
    for (origin, row) in rows where isRowFresh(origin, row, now: now) {
      matrix[origin] = row.heard
    }
    return ConnectivityGraph(rows: matrix).block(containing: me)
  }

  public var isChangingView: Bool {
    if case .operational = phase { return false }
    return true
  }

  public var pendingCount: Int { pending.count }

  /// Members of the installed view that have reported a newer view for a failure timeout: they
  /// installed it without this node, or this node missed its commit. Either way they no longer act
  /// in this view, so until this node installs a newer view their votes must not count here (a
  /// corosync node whose ring broke is in no ring either).
  public func membersMovedOn(now: Instant) -> [NodeId] {
    guard let view = installed else { return [] }
    return view.memberIds.filter { node in
      guard node != me, let since = peers[node]?.movedOnSince else { return false }
      return now - since >= settings.failureTimeout
    }
  }

  // MARK: - Failure detection

  func isHeard(_ node: NodeId, now: Instant) -> Bool {
    guard let peer = peers[node],
      peer.departedIncarnation == nil || peer.departedIncarnation != peer.incarnation
    else { return false }
    return peer.lastHeard.contains { heard in heard.map { now - $0 < settings.failureTimeout } ?? false }
  }

  func heardSet(now: Instant) -> Set<NodeId> {
    Set(peers.keys.filter { isHeard($0, now: now) })
  }

  func isRowFresh(_ origin: NodeId, _ row: KnownRow, now: Instant) -> Bool {
    guard let peer = peers[origin] else { return false }
    if let departed = peer.departedIncarnation, departed >= row.incarnation { return false }
    return now - row.advancedAt < settings.failureTimeout
  }

  func makeHeartbeat(now: Instant) -> Heartbeat {
    var out = [
      ConnectivityRow(
        origin: me, incarnation: incarnation, version: rowVersion, heard: heardSet(now: now).sorted())
    ]
    for (origin, row) in rows.sorted(by: { $0.key < $1.key }) where isRowFresh(origin, row, now: now) {
      out.append(
        ConnectivityRow(
          origin: origin, incarnation: row.incarnation, version: row.version, heard: row.heard.sorted()))
    }
    let sequenced: UInt64 = (installed?.coordinator == me) ? nextSequence - 1 : 0
    return Heartbeat(
      view: installed?.id ?? .none, quorate: localQuorate, delivered: delivered, sequenced: sequenced,
      highestViewSequence: highestSequenceSeen, rows: out)
  }

  mutating func onHeartbeat(_ heartbeat: Heartbeat, from sender: NodeId, now: Instant) {
    highestSequenceSeen = max(highestSequenceSeen, heartbeat.view.sequence, heartbeat.highestViewSequence)
    guard var peer = peers[sender] else { return }
    if peer.reportedView != heartbeat.view { peer.reportedViewMismatchSince = nil }
    peer.reportedView = heartbeat.view
    peer.quorate = heartbeat.quorate
    peer.delivered = heartbeat.delivered
    peer.sequenced = heartbeat.sequenced
    if let view = installed, heartbeat.view == view.id, view.members[sender] == peer.incarnation {
      peer.deliveredInInstalled = max(peer.deliveredInInstalled, heartbeat.delivered)
    }
    if let view = installed, view.members[sender] != nil, heartbeat.view != view.id {
      if peer.reportedViewMismatchSince == nil { peer.reportedViewMismatchSince = now }
    } else {
      peer.reportedViewMismatchSince = nil
    }
    if let view = installed, view.members[sender] != nil, heartbeat.view > view.id {
      if peer.movedOnSince == nil { peer.movedOnSince = now }
    } else {
      peer.movedOnSince = nil
    }
    peers[sender] = peer
    for row in heartbeat.rows where row.origin != me && peers[row.origin] != nil {
      // The sender's own row always comes from its envelope's incarnation.
      if row.origin == sender && row.incarnation != peer.incarnation { continue }
      if let knownIncarnation = peers[row.origin]?.incarnation, row.incarnation < knownIncarnation {
        continue
      }
      if let departed = peers[row.origin]?.departedIncarnation, departed >= row.incarnation { continue }
      if let known = rows[row.origin],
        (known.incarnation, known.version) >= (row.incarnation, row.version)
      {
        continue
      }
      rows[row.origin] = KnownRow(
        incarnation: row.incarnation, version: row.version, heard: Set(row.heard), advancedAt: now)
    }
    trimStableLog()
  }

  // MARK: - View agreement

  mutating func evaluate(now: Instant, into out: inout [MembershipDirective]) {
    guard !leaving else { return }
    let members = candidate(now: now)
    // A proposal this node accepted, or a flush it waits for, is moot once the member set it
    // agreed to no longer matches the matrix (its coordinator or holder died meanwhile).
    switch phase {
    case .accepted(let view, _), .flushing(let view, _, _):
      if view.memberIds != members { phase = .operational }
    case .operational, .proposing: break
    }
    guard members.first == me else { return }
    if installed == nil && now < startedAt + settings.startupHold { return }
    var proposed: [NodeId: UInt64] = [:]
    for node in members {
      proposed[node] = node == me ? incarnation : peers[node]?.incarnation ?? 0
    }
    if let view = installed, view.members == proposed, !membersLagging(view, now: now) { return }
    if case .proposing(let view, _, let deadline) = phase, view.members == proposed, now < deadline,
      view.id.sequence >= highestSequenceSeen
    {
      return
    }
    if case .accepted = phase { return }
    if case .flushing = phase { return }

    highestSequenceSeen = max(highestSequenceSeen, installed?.id.sequence ?? 0) + 1
    let view = View(id: ViewId(sequence: highestSequenceSeen, coordinator: me), members: proposed)
    out.append(.persistViewSequence(highestSequenceSeen))
    let report = Report(oldView: installed?.id ?? .none, delivered: delivered)
    phase = .proposing(view, accepts: [me: report], deadline: now + settings.proposalTimeout)
    for node in view.memberIds where node != me {
      out.append(.send(.propose(view), to: node, links: .all))
    }
    completeProposalIfAccepted(now: now, into: &out)
  }

  /// Members of my view that keep reporting another view (they missed a commit) force a new view.
  func membersLagging(_ view: View, now: Instant) -> Bool {
    view.members.keys.contains { node in
      guard node != me, let since = peers[node]?.reportedViewMismatchSince else { return false }
      return now - since >= settings.failureTimeout / 2
    }
  }

  mutating func expirePhase(now: Instant, into out: inout [MembershipDirective]) {
    switch phase {
    case .operational: return
    case .proposing(_, _, let deadline), .accepted(_, let deadline), .flushing(_, _, let deadline):
      if now >= deadline { phase = .operational }
    }
  }

  mutating func onPropose(
    _ view: View, from sender: NodeId, now: Instant, into out: inout [MembershipDirective]
  ) {
    highestSequenceSeen = max(highestSequenceSeen, view.id.sequence)
    guard view.members[me] == incarnation, view.coordinator == sender, view.id.coordinator == sender,
      view.id.sequence > sequenceFloor
    else { return }
    if let current = installed, view.id <= current.id { return }
    switch phase {
    case .operational: break
    case .accepted(let other, _):
      if other.id > view.id { return }
      if other.id == view.id {
        out.append(
          .send(
            .accept(view: view.id, oldView: installed?.id ?? .none, delivered: delivered), to: sender,
            links: .all))
        return
      }
    case .proposing(let mine, _, _):
      if mine.id > view.id { return }
    case .flushing(let other, _, _):
      if other.id >= view.id { return }
    }
    // Agree only with the member set this node computes itself, with the incarnations it knows.
    let mine = candidate(now: now)
    guard mine == view.memberIds else { return }
    for node in mine where node != me && peers[node]?.incarnation != view.members[node] { return }
    phase = .accepted(view, deadline: now + settings.commitTimeout)
    out.append(
      .send(
        .accept(view: view.id, oldView: installed?.id ?? .none, delivered: delivered), to: sender, links: .all
      ))
  }

  mutating func onAccept(
    _ viewId: ViewId, from sender: NodeId, report: Report, now: Instant, into out: inout [MembershipDirective]
  ) {
    guard case .proposing(let view, var accepts, let deadline) = phase, view.id == viewId,
      view.members[sender] != nil
    else { return }
    accepts[sender] = report
    phase = .proposing(view, accepts: accepts, deadline: deadline)
    completeProposalIfAccepted(now: now, into: &out)
  }

  mutating func completeProposalIfAccepted(now: Instant, into out: inout [MembershipDirective]) {
    guard case .proposing(let view, let accepts, _) = phase, accepts.count == view.members.count else {
      return
    }
    var cuts: [ViewId: FlushCut] = [:]
    for (node, report) in accepts.sorted(by: { $0.key < $1.key }) where report.oldView != .none {
      if let existing = cuts[report.oldView], existing.cut >= report.delivered { continue }
      cuts[report.oldView] = FlushCut(oldView: report.oldView, cut: report.delivered, holder: node)
    }
    let cutList = cuts.values.sorted { $0.oldView < $1.oldView }
    for node in view.memberIds where node != me {
      out.append(.send(.commit(view, cuts: cutList), to: node, links: .all))
    }
    phase = .accepted(view, deadline: now + settings.commitTimeout)
    onCommit(view, cuts: cutList, now: now, into: &out)
  }

  mutating func onCommit(_ view: View, cuts: [FlushCut], now: Instant, into out: inout [MembershipDirective])
  {
    guard view.members[me] == incarnation else { return }
    if let current = installed, view.id <= current.id { return }
    guard case .accepted(let accepted, _) = phase, accepted.id == view.id else { return }
    let oldView = installed?.id ?? .none
    if let cut = cuts.first(where: { $0.oldView == oldView }), oldView != .none, delivered < cut.cut {
      deliverContiguous(upTo: cut.cut, into: &out)
      if delivered < cut.cut {
        phase = .flushing(view, cut: cut, deadline: now + settings.commitTimeout)
        out.append(
          .send(.retransmit(view: oldView, from: delivered + 1, to: cut.cut), to: cut.holder, links: .best))
        return
      }
    }
    install(view, now: now, into: &out)
  }

  mutating func install(_ view: View, now: Instant, into out: inout [MembershipDirective]) {
    let previous = installed
    // The old view's last word on stability, before anything of the new one.
    announceStable(into: &out)
    var joined: [NodeId] = []
    var left: [NodeId] = []
    var lost: [NodeId] = []
    for node in view.memberIds where node != me {
      if previous?.members[node] != view.members[node] { joined.append(node) }
    }
    if let previous {
      for node in previous.memberIds where node != me && view.members[node] != previous.members[node] {
        let peer = peers[node]
        if let departed = peer?.departedIncarnation, departed == previous.members[node] {
          left.append(node)
        } else {
          lost.append(node)
        }
      }
    }
    if view.id.sequence > sequenceFloor {
      sequenceFloor = view.id.sequence
      out.append(.persistViewSequence(view.id.sequence))
    }
    // A message in progress from a node that left (or restarted) will never be completed.
    for origin in reassembly.keys
    where view.members[origin] == nil || view.members[origin] != previous?.members[origin] {
      reassembly[origin] = nil
    }
    previousView = previous?.id
    previousLog = log
    if futureView == view.id {
      log = futureLog
    } else {
      log = [:]
    }
    futureView = nil
    futureLog = [:]
    delivered = 0
    stableAnnounced = 0
    nextSequence = 1
    lastSequencedFromOrigin = [:]
    installed = view
    phase = .operational
    for node in peers.keys {
      peers[node]?.reportedViewMismatchSince = nil
      peers[node]?.movedOnSince = nil
      peers[node]?.deliveredInInstalled = 0
    }
    let quorateMembers = Set(view.memberIds.filter { $0 != me && peers[$0]?.quorate == true })
    out.append(
      .installView(
        ViewChange(
          view: view, previous: previous, joined: joined, left: left, lost: lost,
          quorateMembers: quorateMembers)))
    deliverContiguous(upTo: .max, into: &out)
    retransmitPending(into: &out)
  }

  // MARK: - Ordered messaging

  /// Sends pending submissions to the sequencer: on every heartbeat all of them (retransmission),
  /// on a new submission only the new ones. At most `maxBatchesPerSend` datagrams per call.
  mutating func retransmitPending(onlyNewestFrom first: UInt64? = nil, into out: inout [MembershipDirective])
  {
    guard let view = installed, case .operational = phase, !pending.isEmpty else { return }
    if view.coordinator == me {
      sequence(pending, from: me, firstPending: pending[0].originSequence, into: &out)
      return
    }
    let oldest = pending[0].originSequence
    var batch: [PendingSubmission] = []
    var size = 0
    var batches = 0
    for submission in pending where submission.originSequence >= (first ?? 0) {
      if !batch.isEmpty && size + submission.payload.count > settings.batchBudget {
        out.append(
          .send(
            .submit(view: view.id, firstPending: oldest, submissions: batch), to: view.coordinator,
            links: .best))
        batches += 1
        batch = []
        size = 0
        if batches == Self.maxBatchesPerSend { return }
      }
      batch.append(submission)
      size += submission.payload.count + 16
    }
    if !batch.isEmpty {
      out.append(
        .send(
          .submit(view: view.id, firstPending: oldest, submissions: batch), to: view.coordinator, links: .best
        ))
    }
  }

  static let maxBatchesPerSend = 32

  mutating func onSubmit(
    _ viewId: ViewId, from sender: NodeId, firstPending: UInt64, submissions: [PendingSubmission],
    into out: inout [MembershipDirective]
  ) {
    guard let view = installed, view.id == viewId, view.coordinator == me, view.members[sender] != nil,
      case .operational = phase
    else { return }
    sequence(submissions, from: sender, firstPending: firstPending, into: &out)
  }

  /// Sequencer only: order the submissions that follow the origin's last ordered one, in order.
  mutating func sequence(
    _ submissions: [PendingSubmission], from origin: NodeId, firstPending: UInt64,
    into out: inout [MembershipDirective]
  ) {
    guard let view = installed, !submissions.isEmpty else { return }
    var last = max(lastSequencedFromOrigin[origin] ?? 0, firstPending &- 1)
    var batch: [SequencedMessage] = []
    var size = 0
    func flush(_ out: inout [MembershipDirective]) {
      guard !batch.isEmpty else { return }
      for node in view.memberIds where node != me {
        out.append(.send(.ordered(view: view.id, messages: batch), to: node, links: .best))
      }
      batch = []
      size = 0
    }
    for submission in submissions where submission.originSequence == last &+ 1 {
      let message = SequencedMessage(
        sequence: nextSequence, origin: origin, originSequence: submission.originSequence,
        payload: submission.payload)
      nextSequence += 1
      last = submission.originSequence
      log[message.sequence] = message
      if size + message.payload.count > settings.batchBudget { flush(&out) }
      batch.append(message)
      size += message.payload.count + 32
    }
    lastSequencedFromOrigin[origin] = last
    flush(&out)
    deliverContiguous(upTo: .max, into: &out)
  }

  mutating func onOrdered(
    _ viewId: ViewId, messages: [SequencedMessage], now: Instant, into out: inout [MembershipDirective]
  ) {
    if let view = installed, view.id == viewId {
      for message in messages where message.sequence > delivered && log[message.sequence] == nil {
        log[message.sequence] = message
      }
      switch phase {
      case .operational:
        deliverContiguous(upTo: .max, into: &out)
      case .flushing(let next, let cut, _):
        deliverContiguous(upTo: cut.cut, into: &out)
        if delivered >= cut.cut {
          install(next, now: now, into: &out)
        }
      case .proposing, .accepted:
        break  // frozen: the cut decides what is delivered
      }
      return
    }
    // Messages of the view this node is about to install (others installed it first).
    let upcoming: ViewId? =
      switch phase {
      case .accepted(let view, _), .flushing(let view, _, _), .proposing(let view, _, _): view.id
      case .operational: nil
      }
    if let upcoming, upcoming == viewId {
      if futureView != viewId {
        futureView = viewId
        futureLog = [:]
      }
      for message in messages { futureLog[message.sequence] = message }
    }
  }

  mutating func onRetransmit(
    _ viewId: ViewId, from: UInt64, to: UInt64, requester: NodeId, into out: inout [MembershipDirective]
  ) {
    guard from <= to else { return }
    let source: [UInt64: SequencedMessage]
    if let view = installed, view.id == viewId {
      source = log
    } else if previousView == viewId {
      source = previousLog
    } else {
      return
    }
    var batch: [SequencedMessage] = []
    var size = 0
    var sequence = from
    while sequence <= to, let message = source[sequence] {
      if !batch.isEmpty && size + message.payload.count > settings.batchBudget {
        out.append(.send(.ordered(view: viewId, messages: batch), to: requester, links: .best))
        batch = []
        size = 0
      }
      batch.append(message)
      size += message.payload.count + 32
      sequence += 1
    }
    if !batch.isEmpty {
      out.append(.send(.ordered(view: viewId, messages: batch), to: requester, links: .best))
    }
  }

  mutating func deliverContiguous(upTo limit: UInt64, into out: inout [MembershipDirective]) {
    guard let view = installed else { return }
    while delivered < limit, let message = log[delivered + 1] {
      delivered += 1
      if message.origin == me {
        for submission in pending where submission.originSequence <= message.originSequence {
          pendingBytes -= max(0, submission.payload.count - 1)
        }
        pending.removeAll { $0.originSequence <= message.originSequence }
      }
      guard let more = message.payload.first else { continue }
      reassembly[message.origin, default: []].append(contentsOf: message.payload.dropFirst())
      if more == 0, let whole = reassembly.removeValue(forKey: message.origin) {
        out.append(
          .deliver(
            GroupDelivery(view: view.id, sequence: message.sequence, origin: message.origin, payload: whole)))
      }
    }
  }

  /// Gap repair: ask the sequencer for what it ordered but this node has not received.
  mutating func requestMissing(into out: inout [MembershipDirective]) {
    guard let view = installed, view.coordinator != me, case .operational = phase else { return }
    let sequenced =
      peers[view.coordinator]?.reportedView == view.id ? peers[view.coordinator]?.sequenced ?? 0 : 0
    let highest = max(sequenced, log.keys.max() ?? 0)
    if highest > delivered {
      out.append(
        .send(
          .retransmit(view: view.id, from: delivered + 1, to: highest), to: view.coordinator, links: .best))
    }
  }

  /// The highest sequence of the installed view every member is known to have delivered: this
  /// node's own count and each other member's last report in a heartbeat of this view (0 for a
  /// member not heard from in it). A member that left still counts with what it had reported, so a
  /// view change never makes a message stable that a departed member may not hold.
  public var stableSequence: UInt64 {
    guard let view = installed else { return 0 }
    var stable = delivered
    for node in view.memberIds where node != me {
      stable = min(stable, peers[node]?.deliveredInInstalled ?? 0)
    }
    return stable
  }

  mutating func announceStable(into out: inout [MembershipDirective]) {
    guard let view = installed else { return }
    let stable = stableSequence
    guard stable > stableAnnounced else { return }
    stableAnnounced = stable
    out.append(.stable(view: view.id, upTo: stable))
  }

  /// Drop messages every member of the view has delivered.
  mutating func trimStableLog() {
    guard let view = installed else { return }
    var stable = delivered
    for node in view.memberIds where node != me {
      guard let peer = peers[node], peer.reportedView == view.id else { return }
      stable = min(stable, peer.delivered)
    }
    if stable > 0 { log = log.filter { $0.key > stable } }
  }
}
