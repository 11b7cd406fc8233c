import ClusterConfig
import ClusterTypes
import ControlProtocol
import ControlSocket
import Foundation
import Logging
import Membership
import NIOCore
import NIOPosix
import Quorum
import SystemdIntegration
import Wire

/// The swcorosync process: thin I/O around `MembershipInstance` and `VoteQuorum`.
///
/// One UDP socket per link, one Unix control socket, one timer. All mutable state is confined to a
/// single event loop (`loop`), which is why the class can be `@unchecked Sendable`: every entry
/// point hops onto that loop first.
public final class CorosyncDaemon: @unchecked Sendable {
  let startup: DaemonStartup
  let paths: DaemonPaths
  let group: MultiThreadedEventLoopGroup
  let loop: EventLoop
  var logger = Logger(label: "swcorosync")

  /// cluster.conf as loaded at start or by the last reload (SIGHUP).
  var currentConfig: ClusterConfiguration
  var config: ClusterConfiguration { currentConfig }
  var me: NodeId { startup.local.id }

  /// Membership and votequorum, wired together as one pure value.
  var membership: QuorateMembership
  var instance: MembershipInstance { membership.instance }
  var quorum: VoteQuorum { membership.quorum }
  var codec: DatagramCodec
  var state: MembershipStateFile

  var linkChannels: [Channel] = []
  var peerAddresses: [NodeId: [SocketAddress]] = [:]
  var lastHeard: [NodeId: [Instant?]] = [:]
  var linkWasUp: [NodeId: [Bool]] = [:]
  var sendSequence: UInt64 = 0
  var timer: Scheduled<Void>?
  var timerDeadline: Instant?
  var lastTickAt: Instant = .zero
  var viewInstalledAt: Double?
  var stopping = false

  var subscribers: [ObjectIdentifier: ControlClient] = [:]
  var controlChannel: Channel?

  var datagramsReceived: UInt64 = 0
  var datagramsSent: UInt64 = 0
  var bytesSent: UInt64 = 0
  var viewChanges: UInt64 = 0
  var unknownSender: UInt64 = 0
  var undecodable: UInt64 = 0
  var lastDropLog: [String: Instant] = [:]
  var heartbeatLoss = HeartbeatLoss()
  /// Per peer: times it left a view uncleanly.
  var peersLost: [NodeId: UInt64] = [:]

  public init(startup: DaemonStartup, paths: DaemonPaths) throws(StartupError) {
    self.startup = startup
    self.paths = paths
    self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    self.loop = group.next()
    let config = startup.config
    self.currentConfig = config
    let settings = MembershipSettings(
      localNode: startup.local.id, nodes: config.nodes.map(\.id), linkCount: config.linkCount,
      heartbeatInterval: config.heartbeatInterval, failureTimeout: config.failureTimeout)
    let now = Self.monotonicNow()
    let instance = MembershipInstance(
      settings: settings, incarnation: startup.incarnation,
      persistedViewSequence: startup.persistedViewSequence,
      now: now)
    do {
      let quorum = try VoteQuorum(
        nodes: Dictionary(uniqueKeysWithValues: config.nodes.map { ($0.id, $0.votes) }),
        options: config.quorum)
      membership = QuorateMembership(instance: instance, quorum: quorum)
    } catch {
      throw StartupError("quorum options: \(error)")
    }
    do {
      codec = try DatagramCodec(
        authKey: startup.authKey, clusterName: config.clusterName, localNode: startup.local.id)
    } catch {
      throw StartupError("authentication key: \(error)")
    }
    state = MembershipStateFile(incarnation: startup.incarnation, viewSequence: startup.persistedViewSequence)
    for node in config.nodes where node.id != startup.local.id {
      lastHeard[node.id] = Array(repeating: nil, count: config.linkCount)
      linkWasUp[node.id] = Array(repeating: false, count: config.linkCount)
    }
  }

  static func monotonicNow() -> Instant { Instant(nanoseconds: NIODeadline.now().uptimeNanoseconds) }

  // MARK: - Lifecycle

  /// Binds every link and the control socket, announces readiness, and serves until SIGTERM.
  public func run() throws(StartupError) {
    try state.write(path: paths.stateFile)
    try resolvePeers()
    try bindLinks()
    do {
      controlChannel = try ControlSocketServer.start(
        path: paths.socket, group: group, maxLine: CorosyncControlHandler.maxLine, logger: logger,
        handler: CorosyncControlHandler(daemon: self))
    } catch {
      throw StartupError("\(paths.socket): cannot listen (\(error))")
    }
    installSignalHandlers()
    let watchdog = ServiceNotifier.watchdogInterval()
    loop.execute {
      self.logger.notice(
        "node \(self.startup.local.name) (id \(self.me)) starting in cluster \(self.config.clusterName): \(self.config.nodes.count) nodes, \(self.config.linkCount) link(s), failure timeout \(formatDuration(self.config.failureTimeout)), heartbeat \(formatDuration(self.config.heartbeatInterval))"
      )
      self.lastTickAt = Self.monotonicNow()
      self.tick()
      ServiceNotifier.ready(status: "waiting for peers")
      if let watchdog { self.scheduleWatchdog(every: watchdog / 2) }
    }
    // Serve until the control socket is closed by shutdown.
    try? controlChannel?.closeFuture.wait()
    for channel in linkChannels { try? channel.closeFuture.wait() }
    try? group.syncShutdownGracefully()
  }

  func resolvePeers() throws(StartupError) {
    for node in config.nodes where node.id != me {
      var addresses: [SocketAddress] = []
      for address in node.addresses {
        do {
          addresses.append(try SocketAddress(ipAddress: address, port: Int(config.port)))
        } catch {
          throw StartupError("node \(node.name): bad address \(address): \(error)")
        }
      }
      peerAddresses[node.id] = addresses
    }
  }

  func bindLinks() throws(StartupError) {
    for (link, address) in startup.local.addresses.enumerated() {
      let bootstrap = DatagramBootstrap(group: group)
        .channelOption(.socketOption(.so_reuseaddr), value: 1)
        .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
        // NIO reads datagrams into 2 KiB buffers by default, silently truncating larger ones (which
        // then fail authentication): read whole datagrams up to the wire bound.
        .channelOption(
          .recvAllocator,
          value: FixedSizeRecvByteBufferAllocator(capacity: DatagramCodec.maxDatagramSize + 1024)
        )
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(LinkHandler(daemon: self, link: link))
          }
        }
      do {
        let channel = try bootstrap.bind(host: address, port: Int(config.port)).wait()
        linkChannels.append(channel)
      } catch {
        throw StartupError("link \(link): cannot bind \(address):\(config.port) (\(error))")
      }
    }
  }

  func installSignalHandlers() {
    signalSources = TerminationSignals.install { [self] in loop.execute { self.shutdown() } }
    signalSources.append(ReloadSignal.install { [self] in loop.execute { self.reload() } })
  }

  /// SIGHUP (`systemctl reload swcorosync`): re-read cluster.conf and take nodes added or removed and
  /// quorum options at once, like corosync's nodelist reload. Anything else (name, port, links,
  /// timeouts, this node's own entry) needs a restart: then nothing changes and the log says so.
  func reload() {
    let new: ClusterConfiguration
    do { new = try DaemonStartup.loadConfiguration(path: paths.config) } catch {
      logger.error("reload refused, running configuration kept: \(error)")
      return
    }
    if let problem = Self.restartNeeded(from: config, to: new, local: startup.local) {
      logger.error("reload refused, running configuration kept: \(problem) needs a restart of swcorosync")
      return
    }
    var addresses: [NodeId: [SocketAddress]] = [:]
    for node in new.nodes where node.id != me {
      do {
        addresses[node.id] = try node.addresses.map { try SocketAddress(ipAddress: $0, port: Int(new.port)) }
      } catch {
        logger.error("reload refused, running configuration kept: node \(node.name): bad address (\(error))")
        return
      }
    }
    let event: QuorateMembership.Event
    do {
      event = try membership.reconfigure(
        nodes: Dictionary(uniqueKeysWithValues: new.nodes.map { ($0.id, $0.votes) }), options: new.quorum)
    } catch {
      logger.error("reload refused, running configuration kept: quorum options: \(error)")
      return
    }
    let added = new.nodes.filter { config.node(id: $0.id) == nil }.map(\.name)
    let removed = config.nodes.filter { new.node(id: $0.id) == nil }.map(\.name)
    currentConfig = new
    peerAddresses = addresses
    for node in new.nodes where node.id != me && lastHeard[node.id] == nil {
      lastHeard[node.id] = Array(repeating: nil, count: new.linkCount)
      linkWasUp[node.id] = Array(repeating: false, count: new.linkCount)
    }
    for id in Array(lastHeard.keys) where new.node(id: id) == nil {
      lastHeard[id] = nil
      linkWasUp[id] = nil
    }
    let line =
      "cluster.conf reloaded: \(new.nodes.count) nodes"
      + (added.isEmpty ? "" : ", added \(added.joined(separator: ", "))")
      + (removed.isEmpty ? "" : ", removed \(removed.joined(separator: ", "))")
    logger.notice("\(line)")
    carryOut([event])
    rearmTimer()
  }

  /// Why `new` cannot be taken without a restart, or nil.
  static func restartNeeded(from old: ClusterConfiguration, to new: ClusterConfiguration, local: NodeEntry)
    -> String?
  {
    if new.clusterName != old.clusterName { return "a new cluster name" }
    if new.port != old.port { return "a new port" }
    if new.linkCount != old.linkCount { return "another number of links" }
    if new.failureTimeout != old.failureTimeout || new.heartbeatInterval != old.heartbeatInterval {
      return "new timeouts"
    }
    guard let mine = new.node(named: local.name), mine.id == local.id, mine.addresses == local.addresses
    else {
      return "a change of this node's own entry (\(local.name))"
    }
    for node in new.nodes {
      if let before = old.node(id: node.id), before.name != node.name {
        return "node id \(node.id) renamed from \(before.name) to \(node.name)"
      }
    }
    return nil
  }
  nonisolated(unsafe) var signalSources: [any DispatchSourceSignal] = []

  /// Clean stop: announce the leave on every link (twice, UDP may drop one), then close.
  func shutdown() {
    guard !stopping else { return }
    stopping = true
    ServiceNotifier.stopping()
    logger.notice("leaving the cluster (clean stop)")
    let directives = membership.leave(now: Self.monotonicNow())
    carryOut(directives)
    loop.scheduleTask(in: .milliseconds(15)) {
      self.carryOut(directives)
      self.loop.scheduleTask(in: .milliseconds(15)) {
        self.timer?.cancel()
        for (_, client) in self.subscribers { client.close() }
        self.controlChannel?.close(promise: nil)
        for channel in self.linkChannels { channel.close(promise: nil) }
        unlink(self.paths.socket)
      }
    }
  }

  func scheduleWatchdog(every interval: Duration) {
    let nanos = max(interval.nanosecondsClamped, 100_000_000)
    loop.scheduleRepeatedTask(initialDelay: .nanoseconds(nanos), delay: .nanoseconds(nanos)) { _ in
      // Only while the membership timer keeps firing: a stuck loop must let systemd restart us.
      let quiet = Self.monotonicNow() - self.lastTickAt
      if quiet < self.config.failureTimeout * 2 { ServiceNotifier.watchdog() }
    }
  }

  // MARK: - Inputs (all on `loop`)

  func tick() {
    guard !stopping else { return }
    let now = Self.monotonicNow()
    lastTickAt = now
    carryOut(membership.tick(now: now))
    logLinkChanges(now: now)
    countHeartbeatLoss(now: now)
    rearmTimer()
  }

  func rearmTimer() {
    let now = Self.monotonicNow()
    let deadline = membership.nextDeadline(now: now)
    if let current = timerDeadline, current <= deadline, timer != nil { return }
    timer?.cancel()
    timerDeadline = deadline
    let delay = deadline > now ? deadline - now : .zero
    timer = loop.scheduleTask(in: .nanoseconds(delay.nanosecondsClamped)) {
      self.timer = nil
      self.timerDeadline = nil
      self.tick()
    }
  }

  func onDatagram(_ bytes: [UInt8], link: Int) {
    guard !stopping else { return }
    datagramsReceived += 1
    let now = Self.monotonicNow()
    switch codec.open(bytes) {
    case .failure(let error):
      noteDrop("\(error)", now: now)
    case .success(let (header, body)):
      guard header.sender != me, config.node(id: header.sender) != nil else {
        unknownSender += 1
        noteDrop("unknown sender \(header.sender)", now: now)
        return
      }
      let message: MembershipMessage
      do {
        message = try MembershipMessageCodec.decode(body)
      } catch {
        undecodable += 1
        noteDrop("undecodable body from node \(header.sender): \(error)", now: now)
        return
      }
      lastHeard[header.sender]?[link] = now
      carryOut(
        membership.receive(
          message, from: header.sender, incarnation: header.incarnation, link: link, now: now))
      rearmTimer()
    }
  }

  func noteDrop(_ reason: String, now: Instant) {
    if let last = lastDropLog[reason], now - last < .seconds(60) { return }
    if lastDropLog.count > 256 { lastDropLog.removeAll() }
    lastDropLog[reason] = now
    logger.warning(
      "dropped datagram: \(reason) (further drops for this reason are counted, logged once a minute)")
  }

  /// A local client's group message.
  func submit(_ payload: [UInt8]) -> String? {
    do {
      carryOut(try membership.submit(payload, now: Self.monotonicNow()))
      rearmTimer()
      return nil
    } catch {
      return error.description
    }
  }

  // MARK: - Directives

  func carryOut(_ events: [QuorateMembership.Event]) {
    for event in events {
      switch event {
      case .send(let message, let to, let links):
        send(message, to: to, links: links)
      case .view(let change, let state, let before):
        installed(change, quorum: state, wasQuorate: before)
      case .quorum(let state, let reason, let movedOn):
        quorumChanged(state, reason: reason, movedOn: movedOn)
      case .stable(let view, let upTo):
        publish(CorosyncEvent(event: .stable, view: view.description, sequence: upTo))
      case .deliver(let delivery):
        publish(
          CorosyncEvent(
            event: .message, origin: delivery.origin.rawValue, view: delivery.view.description,
            sequence: delivery.sequence, payload: Data(delivery.payload).base64EncodedString()))
      case .persistViewSequence(let sequence):
        state.viewSequence = max(state.viewSequence, sequence)
        do {
          try state.write(path: paths.stateFile)
        } catch {
          logger.error("cannot persist view sequence: \(error)")
        }
      }
    }
  }

  func send(_ message: MembershipMessage, to node: NodeId, links: LinkChoice) {
    guard let addresses = peerAddresses[node] else { return }
    let body = MembershipMessageCodec.encode(message)
    let chosen: [Int]
    switch links {
    case .all: chosen = Array(addresses.indices)
    case .best: chosen = bestLink(to: node).map { [$0] } ?? Array(addresses.indices)
    }
    for link in chosen where link < linkChannels.count {
      sendSequence += 1
      let header = EnvelopeHeader(
        sender: me, destination: node, incarnation: startup.incarnation, sequence: sendSequence,
        link: UInt8(link))
      guard let datagram = try? codec.seal(body: body, header: header) else {
        logger.error("message to node \(node) too large to send (\(body.count) bytes)")
        return
      }
      let buffer = linkChannels[link].allocator.buffer(bytes: datagram)
      linkChannels[link].writeAndFlush(
        AddressedEnvelope(remoteAddress: addresses[link], data: buffer), promise: nil)
      datagramsSent += 1
      bytesSent += UInt64(datagram.count)
    }
  }

  func bestLink(to node: NodeId) -> Int? {
    let now = Self.monotonicNow()
    return lastHeard[node]?.firstIndex { heard in heard.map { now - $0 < config.failureTimeout } ?? false }
  }

  func installed(_ change: ViewChange, quorum state: QuorumState, wasQuorate before: Bool) {
    viewChanges += 1
    for node in change.lost { countLost(node) }
    viewInstalledAt = Date().timeIntervalSince1970
    let names = change.view.memberIds.map { name(of: $0) }.joined(separator: " ")
    var detail: [String] = []
    if !change.joined.isEmpty {
      detail.append("joined \(change.joined.map { name(of: $0) }.joined(separator: " "))")
    }
    if !change.left.isEmpty {
      detail.append("left \(change.left.map { name(of: $0) }.joined(separator: " "))")
    }
    if !change.lost.isEmpty {
      detail.append("LOST \(change.lost.map { name(of: $0) }.joined(separator: " "))")
    }
    logger.notice(
      "view \(change.view.id) installed: members \(names)\(detail.isEmpty ? "" : "; " + detail.joined(separator: ", ")); \(state.quorate ? "quorate" : "NOT quorate") (\(state.totalVotes)/\(state.expectedVotes) votes, quorum \(state.quorum))"
    )
    if before != state.quorate {
      logger.notice("quorum \(state.quorate ? "gained" : "LOST"): partition \(names)")
    }
    ServiceNotifier.status(
      "view \(change.view.id): \(change.view.members.count) member(s), \(state.quorate ? "quorate" : "not quorate")"
    )
    publish(
      CorosyncEvent(
        event: .view, status: status(), joined: change.joined.map(\.rawValue),
        left: change.left.map(\.rawValue),
        lost: change.lost.map(\.rawValue)))
    for node in change.lost { runNodeLostHook(node) }
  }

  func quorumChanged(_ state: QuorumState, reason: String, movedOn: [NodeId]) {
    logger.notice(
      "quorum \(state.quorate ? "quorate" : "NOT quorate") (\(reason)): expected votes \(state.expectedVotes), quorum \(state.quorum)"
    )
    publish(
      CorosyncEvent(
        event: .quorum, status: status(), movedOn: movedOn.isEmpty ? nil : movedOn.map(\.rawValue)))
  }

  func name(of node: NodeId) -> String { config.node(id: node)?.name ?? "node\(node)" }

  func runNodeLostHook(_ node: NodeId) {
    guard let hook = config.nodeLostHook else { return }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: hook)
    process.arguments = [name(of: node), String(node.rawValue)]
    do {
      try process.run()
      logger.info("node_lost_hook started for \(name(of: node)): \(hook)")
    } catch {
      logger.error("node_lost_hook \(hook) failed to start: \(error)")
    }
  }

  func logLinkChanges(now: Instant) {
    for (node, heard) in lastHeard {
      for (link, time) in heard.enumerated() {
        let up = time.map { now - $0 < config.failureTimeout } ?? false
        if linkWasUp[node]?[link] != up {
          linkWasUp[node]?[link] = up
          if up {
            logger.info("link \(link) to \(name(of: node)) is up")
          } else {
            logger.warning("link \(link) to \(name(of: node)) is down")
          }
        }
      }
    }
  }

  // MARK: - Clients

  func publish(_ event: CorosyncEvent) {
    for (_, client) in subscribers { client.send(event) }
  }

  func status() -> CorosyncStatus {
    let now = Self.monotonicNow()
    let view = instance.installed
    let peers = Dictionary(uniqueKeysWithValues: instance.peerStatus(now: now).map { ($0.node, $0) })
    let q = membership.effectiveQuorum
    var flags: [String] = []
    if q.flags.contains(.twoNode) { flags.append("2Node") }
    if q.quorate { flags.append("Quorate") }
    if q.flags.contains(.waitForAll) { flags.append("WaitForAll") }
    if q.flags.contains(.lastManStanding) { flags.append("LastManStanding") }
    if q.flags.contains(.autoTieBreaker) { flags.append("AutoTieBreaker") }
    let nodes = config.nodes.map { node -> CorosyncStatus.Node in
      let member = view?.members[node.id] != nil
      if node.id == me {
        let links = node.addresses.enumerated().map { link, address in
          CorosyncStatus.Link(
            link: link, address: address,
            up: peers.values.contains { $0.linksUp.indices.contains(link) && $0.linksUp[link] }
              || peers.isEmpty)
        }
        return CorosyncStatus.Node(
          id: node.id.rawValue, name: node.name, votes: node.votes, member: member, state: "member",
          links: links)
      }
      let peer = peers[node.id]
      let links = node.addresses.enumerated().map { link, address in
        CorosyncStatus.Link(link: link, address: address, up: peer?.linksUp[link] ?? false)
      }
      let state =
        member
        ? "member" : peer?.leftCleanly == true ? "left" : peer?.heard == true ? "reachable" : "unreachable"
      return CorosyncStatus.Node(
        id: node.id.rawValue, name: node.name, votes: node.votes, member: member, state: state, links: links)
    }
    let drops = codec.drops
    return CorosyncStatus(
      cluster: config.clusterName, nodeId: me.rawValue, nodeName: startup.local.name,
      incarnation: startup.incarnation, viewId: view?.id.description ?? "none",
      viewSequence: view?.id.sequence ?? 0, viewCoordinator: view?.id.coordinator.rawValue ?? 0,
      viewInstalledAt: viewInstalledAt, changingView: instance.isChangingView,
      members: (view?.memberIds ?? []).map { id in
        CorosyncStatus.Member(id: id.rawValue, name: name(of: id), votes: config.node(id: id)?.votes ?? 0)
      },
      quorum: CorosyncStatus.Quorum(
        quorate: q.quorate, expectedVotes: quorum.nodeExpectedVotes, highestExpected: q.expectedVotes,
        totalVotes: q.totalVotes, quorum: q.quorum, flags: flags),
      nodes: nodes, failureTimeoutMs: config.failureTimeout.milliseconds,
      heartbeatIntervalMs: config.heartbeatInterval.milliseconds,
      counters: CorosyncStatus.Counters(
        datagramsReceived: datagramsReceived, datagramsSent: datagramsSent, bytesSent: bytesSent,
        viewChanges: viewChanges,
        dropped: [
          "authentication": drops.authentication, "replay": drops.replay,
          "malformed": drops.malformed + undecodable, "oversize": drops.oversize, "version": drops.version,
          "wrongCluster": drops.wrongCluster, "notForMe": drops.notForMe,
          "staleIncarnation": drops.staleIncarnation,
          "unknownSender": unknownSender,
        ]),
      stableDelivery: true)
  }

  func setExpectedVotes(_ votes: Int) -> String? {
    do {
      carryOut([try membership.setExpectedVotes(votes)])
      return nil
    } catch {
      return "\(error)"
    }
  }

  func unblockQuorum() {
    carryOut([membership.unblockQuorum()])
  }
}

/// Feeds datagrams of one link into the daemon.
final class LinkHandler: ChannelInboundHandler {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>
  let daemon: CorosyncDaemon
  let link: Int
  init(daemon: CorosyncDaemon, link: Int) {
    self.daemon = daemon
    self.link = link
  }
  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let envelope = unwrapInboundIn(data)
    let bytes =
      envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes) ?? []
    daemon.onDatagram(bytes, link: link)
  }
  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    // ICMP errors (peer down) surface here on some kernels; they are not fatal for UDP.
  }
}
