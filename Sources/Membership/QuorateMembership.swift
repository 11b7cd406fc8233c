import ClusterTypes
import Quorum

/// One node's membership and votequorum composed the way swcorosync composes them: every installed
/// view is evaluated by `VoteQuorum` at once, the result feeds back into the heartbeats' quorate
/// flag, and clients see the view and its quorum together in one event.
///
/// Exists so that the daemon and the whole-cluster simulation run the same wiring, not two copies
/// of it. Pure like its parts: time comes in, events go out.
public struct QuorateMembership: Sendable {
  /// What the shell must do after an input.
  public enum Event: Sendable, Equatable {
    case send(MembershipMessage, to: NodeId, links: LinkChoice)
    /// Write the highest view sequence used to disk before sending anything that follows.
    case persistViewSequence(UInt64)
    /// A view was installed; `quorum` is its evaluation, `wasQuorate` the quorate flag before it.
    case view(ViewChange, quorum: QuorumState, wasQuorate: Bool)
    /// Quorum changed without a view change (last_man_standing, an administrator, members that moved
    /// on). `movedOn`: members of the installed view that moved on to a newer view without this node
    /// (see `suspended`) — they no longer take part in this view, even though it is still installed.
    case quorum(QuorumState, reason: String, movedOn: [NodeId])
    /// A group message, in the view's total order.
    case deliver(GroupDelivery)
    /// Every member of `view` delivered its messages up to `upTo` (`MembershipDirective.stable`).
    case stable(view: ViewId, upTo: UInt64)
  }

  public private(set) var instance: MembershipInstance
  public private(set) var quorum: VoteQuorum
  /// Set while members of the installed view have moved on to a newer view without this node and
  /// the members left here have no quorum: the quorum clients were told. Cleared by the next view.
  public private(set) var suspended: QuorumState?
  /// While suspended: the members that moved on.
  public private(set) var movedOn: [NodeId] = []

  /// The quorum clients were last told: the installed view's, unless suspended.
  public var effectiveQuorum: QuorumState { suspended ?? quorum.state }

  public init(instance: MembershipInstance, quorum: VoteQuorum) {
    self.instance = instance
    self.quorum = quorum
  }

  /// Time passed: membership timers, then the last_man_standing window.
  public mutating func tick(now: Instant) -> [Event] {
    var out = process(instance.tick(now: now), now: now)
    // Also while suspended (then clients still see no quorum, see `quorumChanged`): a deadline left
    // pending would make `nextDeadline` return a past instant forever.
    if let changed = quorum.tick(now: now) {
      out.append(quorumChanged(changed, reason: "last_man_standing window elapsed"))
    }
    if let event = suspendIfAbandoned(now: now) { out.append(event) }
    return out
  }

  /// Members that moved on to a newer view no longer vote in this one: if the rest has no quorum,
  /// clients are told at once rather than when (under loss, possibly seconds later) this node
  /// installs a newer view — meanwhile the members that moved on may already recover its resources.
  mutating func suspendIfAbandoned(now: Instant) -> Event? {
    guard suspended == nil, quorum.state.quorate, let view = instance.installed else { return nil }
    let gone = instance.membersMovedOn(now: now)
    guard !gone.isEmpty else { return nil }
    var remaining = quorum
    let state = remaining.viewInstalled(
      members: Set(view.memberIds).subtracting(gone), quorateMembers: [], now: now)
    guard !state.quorate else { return nil }
    suspended = state
    movedOn = gone
    instance.localQuorate = false
    let names = gone.map { "\($0)" }.joined(separator: ", ")
    return .quorum(
      state, reason: "members \(names) moved on to a newer view without this node", movedOn: gone)
  }

  /// When `tick` is due at the latest.
  public func nextDeadline(now: Instant) -> Instant {
    let deadline = instance.nextDeadline(now: now)
    if let q = quorum.nextDeadline, q < deadline { return q }
    return deadline
  }

  public mutating func receive(
    _ message: MembershipMessage, from sender: NodeId, incarnation: UInt64, link: Int, now: Instant
  ) -> [Event] {
    process(instance.receive(message, from: sender, incarnation: incarnation, link: link, now: now), now: now)
  }

  /// A local client's group message.
  public mutating func submit(_ payload: [UInt8], now: Instant) throws(SubmitError) -> [Event] {
    process(try instance.submit(payload, now: now), now: now)
  }

  /// Clean shutdown: announce the leave.
  public mutating func leave(now: Instant) -> [Event] { process(instance.leave(), now: now) }

  /// `swpcs quorum expected-votes N`.
  public mutating func setExpectedVotes(_ votes: Int) throws(QuorumOptionError) -> Event {
    let state = try quorum.setExpectedVotes(votes)
    return quorumChanged(state, reason: "expected votes set to \(votes) by an administrator")
  }

  /// `swpcs quorum unblock`.
  public mutating func unblockQuorum() -> Event {
    quorumChanged(quorum.unblockWaitForAll(), reason: "wait_for_all cancelled by an administrator")
  }

  /// cluster.conf reloaded with another node list or quorum options (`systemctl reload swcorosync`).
  public mutating func reconfigure(nodes: [NodeId: Int], options: QuorumOptions) throws(QuorumOptionError)
    -> Event
  {
    let state = try quorum.reconfigure(nodes: nodes, options: options)
    instance.updateNodes(Array(nodes.keys))
    return quorumChanged(state, reason: "cluster.conf reloaded (\(nodes.count) nodes)")
  }

  mutating func quorumChanged(_ state: QuorumState, reason: String) -> Event {
    guard var shown = suspended else {
      instance.localQuorate = state.quorate
      return .quorum(state, reason: reason, movedOn: [])
    }
    // Still suspended: the change applies to the view this node is no longer fully part of.
    shown.expectedVotes = state.expectedVotes
    suspended = shown
    return .quorum(shown, reason: reason, movedOn: movedOn)
  }

  mutating func process(_ directives: [MembershipDirective], now: Instant) -> [Event] {
    directives.map { directive in
      switch directive {
      case .send(let message, let to, let links): return .send(message, to: to, links: links)
      case .persistViewSequence(let sequence): return .persistViewSequence(sequence)
      case .deliver(let delivery): return .deliver(delivery)
      case .stable(let view, let upTo): return .stable(view: view, upTo: upTo)
      case .installView(let change):
        let before = effectiveQuorum.quorate
        suspended = nil
        movedOn = []
        let state = quorum.viewInstalled(
          members: Set(change.view.memberIds), quorateMembers: change.quorateMembers, now: now)
        instance.localQuorate = state.quorate
        return .view(change, quorum: state, wasQuorate: before)
      }
    }
  }
}
