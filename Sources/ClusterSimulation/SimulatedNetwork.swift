import ClusterTypes
import Membership

/// A deterministic pseudo-random generator (SplitMix64) so every simulated run replays from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
  public private(set) var state: UInt64
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// True with probability `p`.
  public mutating func chance(_ p: Double) -> Bool { p > 0 && Double(next() >> 11) / Double(1 << 53) < p }
}

/// Runs several `MembershipInstance`s — the same state machine the daemon runs — on a virtual clock
/// over a simulated network with per-direction blocking, loss, delay and jitter, crashes and restarts.
///
/// Records what every node installed and delivered so tests can check agreement, ordering and
/// virtual synchrony.
public struct SimulatedCluster {
  public struct Node {
    public var instance: MembershipInstance?
    public var incarnation: UInt64
    /// What survives a restart ("disk").
    public var persistedViewSequence: UInt64 = 0
    /// Every view this node installed, in order.
    public var views: [ViewChange] = []
    /// The incarnation that installed each entry of `views`.
    public var viewIncarnations: [UInt64] = []
    /// Deliveries per view id, in order.
    public var deliveries: [ViewId: [GroupDelivery]] = [:]
    /// The highest stable point this node announced per view (`MembershipDirective.stable`).
    public var stable: [ViewId: UInt64] = [:]
  }
  struct InFlight {
    var at: Instant
    var order: UInt64
    var from: NodeId
    var to: NodeId
    var fromIncarnation: UInt64
    var link: Int
    var message: MembershipMessage
  }

  public let settingsTemplate: MembershipSettings
  public private(set) var now: Instant = Instant(nanoseconds: 1_000_000_000)
  public private(set) var nodes: [NodeId: Node] = [:]
  var inFlight: [InFlight] = []
  var counter: UInt64 = 0
  public var random: SeededRandom
  /// Directions (from, to) that lose everything.
  public var blocked: Set<[NodeId]> = []
  /// Directions (from, to, link) that lose everything on that link only.
  public var blockedLinks: Set<[UInt32]> = []
  public var lossRate: Double = 0
  public var duplicateRate: Double = 0
  public var delay: Duration = .microseconds(300)
  public var jitter: Duration = .zero
  /// A readable trace of what happened, newest last (bounded).
  public private(set) var trace: [String] = []

  public init(
    nodeCount: Int, links: Int = 1, heartbeat: Duration = .milliseconds(200),
    timeout: Duration = .milliseconds(1000), fragmentSize: Int = 60_000, seed: UInt64 = 1
  ) {
    let ids = (1...nodeCount).map { NodeId(UInt32($0)) }
    settingsTemplate = MembershipSettings(
      localNode: ids[0], nodes: ids, linkCount: links, heartbeatInterval: heartbeat, failureTimeout: timeout,
      fragmentSize: fragmentSize, batchBudget: max(fragmentSize, 1000))
    random = SeededRandom(seed: seed)
    for id in ids { nodes[id] = Node(instance: nil, incarnation: 0) }
  }

  public var ids: [NodeId] { nodes.keys.sorted() }

  mutating func log(_ line: @autoclosure () -> String) {
    trace.append("[\(now)] " + line())
    if trace.count > 400 { trace.removeFirst(trace.count - 300) }
  }

  // MARK: - Faults

  public mutating func start(_ id: NodeId) {
    var settings = settingsTemplate
    settings.localNode = id
    let incarnation = (nodes[id]?.incarnation ?? 0) + 1
    nodes[id]?.incarnation = incarnation
    let persisted = nodes[id]?.persistedViewSequence ?? 0
    nodes[id]?.instance = MembershipInstance(
      settings: settings, incarnation: incarnation, persistedViewSequence: persisted, now: now)
    log("start n\(id) incarnation \(incarnation)")
  }
  public mutating func startAll() { for id in ids { start(id) } }

  /// Power loss: the node stops at once; messages to it are lost.
  public mutating func crash(_ id: NodeId) {
    nodes[id]?.instance = nil
    log("crash n\(id)")
  }

  /// SIGTERM: the node announces its leave, then stops.
  public mutating func stop(_ id: NodeId) {
    guard var instance = nodes[id]?.instance else { return }
    let out = instance.leave()
    nodes[id]?.instance = instance
    carryOut(out, from: id)
    nodes[id]?.instance = nil
    log("stop n\(id)")
  }

  public func isUp(_ id: NodeId) -> Bool { nodes[id]?.instance != nil }

  public mutating func partition(_ groups: [[NodeId]]) {
    blocked = []
    for a in ids {
      for b in ids where a != b {
        let same = groups.contains { $0.contains(a) && $0.contains(b) }
        if !same { blocked.insert([a, b]) }
      }
    }
    log("partition \(groups.map { $0.map(\.description).joined(separator: ",") }.joined(separator: " | "))")
  }
  public mutating func block(from a: NodeId, to b: NodeId) {
    blocked.insert([a, b])
    log("block n\(a) -> n\(b)")
  }
  public mutating func heal() {
    blocked = []
    blockedLinks = []
    log("heal")
  }

  // MARK: - Running

  public mutating func submit(_ payload: [UInt8], at id: NodeId) throws(SubmitError) {
    guard var instance = nodes[id]?.instance else { return }
    let out = try instance.submit(payload, now: now)
    nodes[id]?.instance = instance
    carryOut(out, from: id)
  }

  /// Advance virtual time, processing deliveries and ticks in time order.
  public mutating func run(for duration: Duration) {
    let end = now + duration
    while true {
      let nextMessage = inFlight.min { ($0.at, $0.order) < ($1.at, $1.order) }
      var nextTick: (Instant, NodeId)?
      for id in ids {
        guard let instance = nodes[id]?.instance else { continue }
        let deadline = max(instance.nextDeadline(now: now), now)
        if nextTick == nil || deadline < nextTick!.0 { nextTick = (deadline, id) }
      }
      let messageTime = nextMessage?.at
      let tickTime = nextTick?.0
      let next = [messageTime, tickTime].compactMap { $0 }.min()
      guard let next, next <= end else { break }
      now = next
      if let message = nextMessage, message.at == next {
        inFlight.removeAll { $0.order == message.order }
        deliver(message)
      } else if let (_, id) = nextTick, var instance = nodes[id]?.instance {
        let out = instance.tick(now: now)
        nodes[id]?.instance = instance
        carryOut(out, from: id)
      }
    }
    now = end
  }

  mutating func deliver(_ message: InFlight) {
    guard var instance = nodes[message.to]?.instance else { return }
    let out = instance.receive(
      message.message, from: message.from, incarnation: message.fromIncarnation, link: message.link, now: now)
    nodes[message.to]?.instance = instance
    carryOut(out, from: message.to)
  }

  mutating func carryOut(_ directives: [MembershipDirective], from id: NodeId) {
    for directive in directives {
      switch directive {
      case .send(let message, let to, let links):
        let linkSet = links == .all ? Array(0..<settingsTemplate.linkCount) : [0]
        for link in linkSet { enqueue(message, from: id, to: to, link: link) }
      case .installView(let change):
        nodes[id]?.views.append(change)
        let incarnation = nodes[id]?.incarnation ?? 0
        nodes[id]?.viewIncarnations.append(incarnation)
        log(
          "n\(id) installs view \(change.view.id) \(change.view.memberIds) lost \(change.lost) left \(change.left)"
        )
      case .deliver(let delivery):
        nodes[id]?.deliveries[delivery.view, default: []].append(delivery)
      case .persistViewSequence(let sequence):
        nodes[id]?.persistedViewSequence = sequence
      case .stable(let view, let upTo):
        let known = nodes[id]?.stable[view] ?? 0
        nodes[id]?.stable[view] = max(known, upTo)
      }
    }
  }

  mutating func enqueue(_ message: MembershipMessage, from: NodeId, to: NodeId, link: Int) {
    guard nodes[to] != nil else { return }
    if blocked.contains([from, to]) || blockedLinks.contains([from.rawValue, to.rawValue, UInt32(link)]) {
      return
    }
    if random.chance(lossRate) { return }
    let copies = random.chance(duplicateRate) ? 2 : 1
    for _ in 0..<copies {
      var latency = delay
      if jitter > .zero {
        let ns = UInt64(jitter.nanosecondsClamped)
        latency += .nanoseconds(Int64(random.next() % max(ns, 1)))
      }
      counter += 1
      inFlight.append(
        InFlight(
          at: now + latency, order: counter, from: from, to: to,
          fromIncarnation: nodes[from]?.incarnation ?? 0, link: link, message: message))
    }
  }

  // MARK: - Observations

  public func installedView(_ id: NodeId) -> View? { nodes[id]?.instance?.installed }

  /// Whether every listed node has installed one and the same view with exactly these members.
  public func agree(on members: [NodeId]) -> Bool {
    let views = members.map { installedView($0) }
    guard let first = views.first ?? nil else { return false }
    return first.memberIds == members.sorted() && views.allSatisfy { $0 == first }
  }

  /// (view, next view) pairs one incarnation installed back to back.
  static func consecutiveViews(_ node: Node) -> [ViewId: ViewId] {
    var pairs: [ViewId: ViewId] = [:]
    for i in node.views.indices.dropFirst() where node.viewIncarnations[i] == node.viewIncarnations[i - 1] {
      pairs[node.views[i - 1].view.id] = node.views[i].view.id
    }
    return pairs
  }

  /// Safety invariants over everything recorded so far; returns the violations, by name.
  public func violations() -> [String] {
    var problems: [String] = []
    var membersById: [ViewId: [NodeId]] = [:]
    for id in ids {
      guard let node = nodes[id] else { continue }
      var last: ViewId = .none
      for change in node.views {
        if change.view.id <= last {
          problems.append("view-ids-grow: n\(id) installed \(change.view.id) after \(last)")
        }
        last = change.view.id
        if change.view.members[id] == nil {
          problems.append("member-of-own-view: n\(id) not in \(change.view.id)")
        }
        if let known = membersById[change.view.id], known != change.view.memberIds {
          problems.append(
            "same-view-same-members: \(change.view.id) has \(known) and \(change.view.memberIds)")
        }
        membersById[change.view.id] = change.view.memberIds
      }
      for (view, list) in node.deliveries {
        // Whole messages are delivered at their last fragment's sequence: strictly increasing.
        for (index, delivery) in list.enumerated().dropFirst()
        where delivery.sequence <= list[index - 1].sequence {
          problems.append(
            "ordered-delivery: n\(id) view \(view) position \(index) got seq \(delivery.sequence)")
          break
        }
      }
    }
    // Safe delivery: what a node announced stable in a view, every member of that view delivered.
    for id in ids {
      for (view, upTo) in nodes[id]?.stable ?? [:] {
        let longest = ids.compactMap { nodes[$0]?.deliveries[view] }.max { $0.count < $1.count } ?? []
        let expected = longest.filter { $0.sequence <= upTo }.count
        for member in membersById[view] ?? [] {
          let got = (nodes[member]?.deliveries[view] ?? []).filter { $0.sequence <= upTo }.count
          if got < expected {
            problems.append(
              "stable-delivery: n\(id) announced \(view) stable up to \(upTo) but n\(member) delivered \(got) of \(expected) messages there"
            )
          }
        }
      }
    }
    // Total order: within a view, any two members' deliveries are prefixes of one another.
    // Virtual synchrony: members that install the same next view delivered the same in the view before.
    for a in ids {
      for b in ids where a < b {
        guard let na = nodes[a], let nb = nodes[b] else { continue }
        for (view, la) in na.deliveries {
          guard let lb = nb.deliveries[view] else { continue }
          let n = min(la.count, lb.count)
          if la.prefix(n) != lb.prefix(n) {
            problems.append("total-order: n\(a) and n\(b) differ in view \(view)")
          }
        }
        let pairsA = Self.consecutiveViews(na)
        let pairsB = Self.consecutiveViews(nb)
        for (view, next) in pairsA where pairsB[view] == next {
          if (na.deliveries[view] ?? []) != (nb.deliveries[view] ?? []) {
            problems.append(
              "virtual-synchrony: n\(a) and n\(b) installed \(view)→\(next) but delivered differently in \(view)"
            )
          }
        }
      }
    }
    return problems
  }
}
