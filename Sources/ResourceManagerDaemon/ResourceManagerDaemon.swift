import ClusterConfig
import ClusterTypes
import ConfigStore
import ControlProtocol
import ControlSocket
import Foundation
import Logging
import NIOCore
import NIOPosix
import ResourceExecutor
import ResourceManager
import ResourceModel
import SystemdIntegration

/// Paths of swpacemakerd; all movable for tests.
public struct ManagerPaths: Sendable {
  public var clusterConfig: String
  public var corosyncSocket: String
  public var socket: String
  public var storeDirectory: String
  public init(
    clusterConfig: String = "/etc/swpcs/cluster.conf", corosyncSocket: String = "/run/swpcs/swcorosync.sock",
    socket: String = "/run/swpcs/swpcs.sock", storeDirectory: String = "/var/lib/swpcs/cib"
  ) {
    self.clusterConfig = clusterConfig
    self.corosyncSocket = corosyncSocket
    self.socket = socket
    self.storeDirectory = storeDirectory
  }
}

public struct ManagerStartupError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// The swpacemakerd process: thin I/O around `ControllerInstance`.
///
/// Talks to swcorosync over its socket (view/quorum events in, ordered group messages both ways),
/// runs actions through `Executor` (systemd over sd-bus, OCF agents), keeps recurring monitors,
/// persists the configuration with `ConfigStore`, and serves `swpcs` on `/run/swpcs/swpcs.sock`.
/// All controller state is confined to one event loop.
public final class ResourceManagerDaemon: @unchecked Sendable {
  let paths: ManagerPaths
  let group: MultiThreadedEventLoopGroup
  let loop: EventLoop
  var logger = Logger(label: "swpacemakerd")
  var controller: ControllerInstance
  let store: ConfigStore
  let executor: Executor
  let systemd: SystemdRunner?
  let fenceRunner: FenceAgentRunner
  /// Node id → name, from cluster.conf (updated by a reload).
  var nodeNames: [UInt32: String]

  var corosync: Channel?
  /// swcorosync announces stable delivery (its subscribe answer says so): only then are delivery
  /// positions passed to the controller, which then waits for `stable` before acknowledging a change.
  var corosyncAnnouncesStable = false
  var controlChannel: Channel?
  var clients: [Int: ControlClient] = [:]
  var clientCounter = 0
  var recurring: [String: RecurringMonitor] = [:]
  var stopping = false
  var exitCode: Int32 = 0
  var counters = ManagerCounters()
  /// `metrics` requests sent to swcorosync on `corosync`, oldest first (its answers come in order).
  var corosyncMetricsWaiting: [EventLoopPromise<[MetricFamily]?>?] = []
  var metricsListen: MetricsListen?
  var metricsChannel: Channel?

  struct RecurringMonitor {
    var spec: ActionSpec
    var task: RepeatedTask?
    var lastRc: Int
    var running = false
  }

  public init(paths: ManagerPaths, nodeName: String?) throws(ManagerStartupError) {
    self.paths = paths
    let clusterConfig: ClusterConfiguration
    do {
      guard let data = FileManager.default.contents(atPath: paths.clusterConfig),
        let text = String(data: data, encoding: .utf8)
      else { throw ManagerStartupError("\(paths.clusterConfig): cannot read the cluster configuration") }
      clusterConfig = try ClusterConfiguration.parse(text, fileName: paths.clusterConfig)
    } catch let error as ManagerStartupError {
      throw error
    } catch {
      throw ManagerStartupError("\(error)")
    }
    let local: NodeEntry
    if let nodeName {
      guard let node = clusterConfig.node(named: nodeName) else {
        throw ManagerStartupError(
          "node \(nodeName) is not in the cluster; known nodes: \(clusterConfig.nodes.map(\.name).joined(separator: ", "))"
        )
      }
      local = node
    } else {
      let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
      guard let node = clusterConfig.node(named: host) else {
        throw ManagerStartupError("host name '\(host)' is not a node of the cluster (use --node NAME)")
      }
      local = node
    }
    nodeNames = Dictionary(uniqueKeysWithValues: clusterConfig.nodes.map { ($0.id.rawValue, $0.name) })
    metricsListen = clusterConfig.metricsListen
    store = ConfigStore(directory: paths.storeDirectory)
    do {
      try FileManager.default.createDirectory(atPath: paths.storeDirectory, withIntermediateDirectories: true)
    } catch {
      throw ManagerStartupError("\(paths.storeDirectory): \(error)")
    }
    let (config, problems) = store.load()
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    loop = group.next()
    controller = ControllerInstance(
      settings: ControllerSettings(
        localNode: local.name,
        nodeIds: Dictionary(uniqueKeysWithValues: clusterConfig.nodes.map { ($0.name, $0.id.rawValue) }),
        startedAtMs: Self.wallMs()),
      config: config)
    for problem in problems { logger.warning("configuration store: \(problem)") }
    var systemdRunner: SystemdRunner?
    do {
      systemdRunner = try SystemdRunner()
    } catch {
      logger.warning("systemd resources unavailable: \(error)")
    }
    systemd = systemdRunner
    let fence = FenceAgentRunner()
    fenceRunner = fence
    executor = Executor(ocf: OCFRunner(), systemd: systemdRunner, stonith: fence)
    logger.notice("node \(local.name): configuration \(config.version) loaded from \(paths.storeDirectory)")
  }

  /// `[cluster] debug` of the cluster configuration (false when it cannot be read: the daemon then
  /// reports why at start-up).
  public static func debugLogging(clusterConfig path: String) -> Bool {
    guard let data = FileManager.default.contents(atPath: path),
      let text = String(data: data, encoding: .utf8)
    else { return false }
    return (try? ClusterConfiguration.parse(text, fileName: path))?.debug ?? false
  }

  static func wallMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

  // MARK: - Lifecycle

  public func run() throws(ManagerStartupError) -> Int32 {
    do {
      controlChannel = try ControlSocketServer.start(
        path: paths.socket, group: group, maxLine: 64 << 20, logger: logger,
        handler: ManagerControlHandler(daemon: self))
    } catch {
      throw ManagerStartupError("\(paths.socket): cannot listen (\(error))")
    }
    if let metricsListen { loop.execute { self.startMetricsListener(metricsListen) } }
    installSignalHandlers()
    loop.execute { self.connectCorosync(attempt: 0) }
    loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
      self.step { $0.tick(now: Self.wallMs()) }
      self.checkShutdownProgress()
    }
    if let systemd {
      let failures = systemd.failures
      Task {
        for await failure in failures {
          self.loop.execute { self.unitFailed(failure) }
        }
      }
    }
    if let interval = ServiceNotifier.watchdogInterval() {
      let nanos = max((interval / 2).nanosecondsClamped, 100_000_000)
      loop.scheduleRepeatedTask(initialDelay: .nanoseconds(nanos), delay: .nanoseconds(nanos)) { _ in
        ServiceNotifier.watchdog()
      }
    }
    try? controlChannel?.closeFuture.wait()
    systemd?.shutdown()
    try? group.syncShutdownGracefully()
    return exitCode
  }

  func connectCorosync(attempt: Int) {
    let bootstrap = ClientBootstrap(group: group).channelInitializer { channel in
      channel.eventLoop.makeCompletedFuture {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLine: 64 << 20)))
        try channel.pipeline.syncOperations.addHandler(CorosyncEventHandler(daemon: self))
      }
    }
    bootstrap.connect(unixDomainSocketPath: paths.corosyncSocket).whenComplete { result in
      switch result {
      case .success(let channel):
        self.corosync = channel
        self.send(CorosyncRequest(op: .subscribe), on: channel)
        self.logger.notice("connected to swcorosync")
      case .failure(let error):
        if attempt == 0 {
          self.logger.warning("waiting for swcorosync at \(self.paths.corosyncSocket): \(error)")
        }
        if attempt >= 60 {
          self.logger.error("swcorosync is not running; giving up")
          self.exitCode = 1
          self.controlChannel?.close(promise: nil)
          return
        }
        self.loop.scheduleTask(in: .milliseconds(500)) { self.connectCorosync(attempt: attempt + 1) }
      }
    }
  }

  func send<T: Encodable>(_ value: T, on channel: Channel) {
    guard let line = ControlSocketServer.encodeLine(value) else { return }
    channel.writeAndFlush(channel.allocator.buffer(bytes: line), promise: nil)
  }

  func installSignalHandlers() {
    signalSources = TerminationSignals.install { [self] in loop.execute { self.beginShutdown() } }
    signalSources.append(ReloadSignal.install { [self] in loop.execute { self.reloadNodes() } })
  }
  /// SIGHUP: take the node list of cluster.conf again (nodes added or removed by
  /// `swpcs cluster node add|remove`); the rest of cluster.conf needs a restart.
  func reloadNodes() {
    guard let data = FileManager.default.contents(atPath: paths.clusterConfig),
      let text = String(data: data, encoding: .utf8),
      let parsed = try? ClusterConfiguration.parse(text, fileName: paths.clusterConfig)
    else {
      logger.error("reload refused: \(paths.clusterConfig) cannot be read or is invalid; nodes kept")
      return
    }
    controller.updateNodeIds(Dictionary(uniqueKeysWithValues: parsed.nodes.map { ($0.name, $0.id.rawValue) }))
    nodeNames = Dictionary(uniqueKeysWithValues: parsed.nodes.map { ($0.id.rawValue, $0.name) })
    logger.notice("cluster.conf reloaded: \(parsed.nodes.count) nodes")
  }

  nonisolated(unsafe) var signalSources: [any DispatchSourceSignal] = []

  /// Clean stop: ask the DC to move this node's resources away, then exit once none is left here
  /// (or stop them directly when there is no cluster to ask).
  func beginShutdown() {
    guard !stopping else { return }
    stopping = true
    ServiceNotifier.stopping()
    logger.notice("shutting down: moving resources off this node")
    if corosync == nil || controller.dc == nil {
      stopAllLocal(reason: "no cluster to hand resources to") { self.finish() }
      return
    }
    step { $0.beginShutdown(now: Self.wallMs()) }
    // Bound the wait: if nobody takes the resources, stop them here.
    loop.scheduleTask(in: .seconds(60)) {
      self.stopAllLocal(reason: "timed out waiting for the DC") { self.finish() }
    }
  }

  func checkShutdownProgress() {
    guard stopping else { return }
    if controller.localActiveResources.isEmpty { finish() }
  }

  func finish() {
    guard controlChannel?.isActive == true else { return }
    logger.notice("stopped")
    for (_, monitor) in recurring { monitor.task?.cancel() }
    corosync?.close(promise: nil)
    metricsChannel?.close(promise: nil)
    controlChannel?.close(promise: nil)
  }

  /// Stops every resource this node runs, one by one, without the DC (shutdown, lost swcorosync).
  func stopAllLocal(reason: String, then done: @escaping @Sendable () -> Void) {
    let resources = controller.localActiveResources
    if !resources.isEmpty {
      logger.warning("stopping \(resources.joined(separator: " ")) locally: \(reason)")
    }
    for (_, monitor) in recurring { monitor.task?.cancel() }
    recurring = [:]
    let specs = resources.compactMap { resource -> OperationRequest? in
      guard let primitive = controller.primitive(named: resource) else { return nil }
      return OperationRequest(
        resource: resource, agent: primitive.agent, attributes: primitive.attributes, action: "stop",
        intervalMs: 0,
        timeoutMs: 20_000, meta: primitive.meta)
    }
    let executor = self.executor
    let loop = self.loop
    Task {
      for request in specs { _ = await executor.run(request) }
      loop.execute { done() }
    }
  }

  // MARK: - swcorosync events

  func corosyncLine(_ line: [UInt8]) {
    let decoder = JSONDecoder()
    if let event = try? decoder.decode(CorosyncEvent.self, from: Data(line)) {
      let now = Self.wallMs()
      switch event.event {
      case .view:
        guard let status = event.status else { return }
        step {
          $0.viewChanged(
            members: status.members.map(\.name), lost: (event.lost ?? []).compactMap { nodeNames[$0] },
            left: (event.left ?? []).compactMap { nodeNames[$0] }, quorate: status.quorum.quorate, now: now)
        }
      case .quorum:
        guard let status = event.status else { return }
        let movedOn = (event.movedOn ?? []).compactMap { nodeNames[$0] }
        step { $0.quorumChanged(status.quorum.quorate, movedOn: movedOn, now: now) }
      case .stable:
        guard let view = event.view.flatMap(ViewId.init), let upTo = event.sequence else { return }
        step { $0.stable(view: view, upTo: upTo, now: now) }
      case .message:
        guard let payload = event.payload.flatMap({ Data(base64Encoded: $0) }), let origin = event.origin,
          let name = nodeNames[origin]
        else { return }
        do {
          let message = try decoder.decode(ControllerMessage.self, from: payload)
          if case .cleanup(let cleanup) = message { resetFailedUnits(cleanup) }
          let position = event.view.flatMap(ViewId.init).flatMap { view in
            event.sequence.map { DeliveryPosition(view: view, sequence: $0) }
          }.flatMap { corosyncAnnouncesStable ? $0 : nil }
          step { $0.received(message, from: name, at: position, now: now) }
        } catch {
          logger.warning("undecodable message from \(name): \(error)")
        }
      }
      checkShutdownProgress()
      return
    }
    if let response = try? decoder.decode(CorosyncResponse.self, from: Data(line)) {
      if let metrics = response.metrics {
        if !corosyncMetricsWaiting.isEmpty { corosyncMetricsWaiting.removeFirst()?.succeed(metrics) }
      } else if !response.ok {
        logger.error("swcorosync refused a request: \(response.error ?? "?")")
      } else if let status = response.status {
        // The answer to subscribe: what this swcorosync sends, and the current view.
        corosyncAnnouncesStable = status.stableDelivery == true
        if controller.members.isEmpty, !status.members.isEmpty {
          step {
            $0.attached(
              members: status.members.map(\.name), quorate: status.quorum.quorate, now: Self.wallMs())
          }
        }
      }
    }
  }

  func corosyncClosed() {
    corosync = nil
    for waiting in corosyncMetricsWaiting { waiting?.succeed(nil) }
    corosyncMetricsWaiting = []
    guard !stopping else {
      finish()
      return
    }
    step { $0.disconnected(now: Self.wallMs()) }
    logger.error("swcorosync went away: stopping local resources and exiting (systemd restarts swpacemakerd)")
    stopping = true
    exitCode = 1
    stopAllLocal(reason: "lost swcorosync") { self.finish() }
  }

  // MARK: - Directives

  func carryOut(_ directives: [ControllerDirective]) {
    for directive in directives {
      switch directive {
      case .broadcast(let message):
        if case .fenceResult(let result) = message {
          let key = ManagerCounters.FenceKey(
            target: result.request.target, action: result.request.action,
            result: result.ok ? "success" : "failed")
          counters.fences[key, default: 0] += 1
        }
        guard let channel = corosync else { continue }
        do {
          let encoder = JSONEncoder()
          encoder.outputFormatting = [.sortedKeys]
          let payload = try encoder.encode(message)
          send(CorosyncRequest(op: .send, payload: payload.base64EncodedString()), on: channel)
        } catch {
          logger.error("cannot encode a message: \(error)")
        }
      case .execute(let request):
        execute(request)
      case .persist(let config):
        do {
          try store.save(config)
          _ = try? store.prune(keep: ConfigStore.defaultRetention)
        } catch {
          logger.error("cannot persist configuration \(config.version): \(error)")
        }
      case .reply(let token, let response):
        clients[token]?.send(response)
      case .log(let level, let text):
        switch level {
        case .debug: logger.debug("\(text)")
        case .info: logger.info("\(text)")
        case .notice: logger.notice("\(text)")
        case .warning: logger.warning("\(text)")
        case .error: logger.error("\(text)")
        }
      case .fence(let request):
        runFence(request)
      case .fenced(let reaction):
        fencedReaction(reaction)
      }
    }
    noteControllerChanges()
  }

  func operationRequest(_ spec: ActionSpec) -> OperationRequest {
    OperationRequest(
      resource: spec.resource, agent: spec.agent, attributes: spec.attributes, action: spec.action,
      intervalMs: spec.intervalMs, timeoutMs: spec.timeoutMs, meta: spec.meta)
  }

  func execute(_ request: ActionRequest) {
    let spec = request.spec
    if ["stop", "demote", "start", "promote"].contains(spec.action) {
      // The same agent instance recorded under another key (a cloned primitive's, an uncloned
      // instance's, another number of an anonymous instance) has its monitors too — not a globally
      // unique instance, a distinct agent instance.
      for (key, monitor) in recurring
      where InstanceAlias.sameAgentInstance(
        monitor.spec.resource, monitor.spec.meta, spec.resource, spec.meta)
      {
        monitor.task?.cancel()
        recurring[key] = nil
      }
    }
    let executor = self.executor
    let operation = operationRequest(spec)
    logger.debug(
      "\(spec.action) \(spec.resource)\(spec.intervalMs > 0 ? " every \(spec.intervalMs) ms" : "")")
    // Queued now, on the loop, in the order of the controller's directives (a start before the
    // stop that follows it); the result is handed to the loop before the resource's next action.
    executor.submit(operation) { result in
      self.loop.execute {
        self.completed(request, result)
        if spec.intervalMs > 0 && result.status == .done
          && self.controller.monitorSucceeded(spec, rc: result.rc.rawValue)
        {
          self.startRecurring(spec, lastRc: result.rc.rawValue)
        }
      }
    }
  }

  func completed(_ request: ActionRequest, _ result: OperationResult) {
    let status: String =
      switch result.status {
      case .done: "done"
      case .timedOut: "timeout"
      case .notInstalled: "not-installed"
      case .error: "error"
      }
    let output = [result.output, result.errorOutput].filter { !$0.isEmpty }.joined(separator: "\n")
    let spec = request.spec
    counters.countAction(spec.action, intervalMs: spec.intervalMs, result)
    let outcome = ManagerCounters.result(action: spec.action, intervalMs: spec.intervalMs, result)
    logger.log(
      level: outcome == "ok" ? .notice : .warning,
      "\(ManagerCounters.actionLabel(spec.action, intervalMs: spec.intervalMs)) \(spec.resource) on \(controller.me)\(spec.intervalMs > 0 ? " (every \(spec.intervalMs) ms)" : ""): \(outcome), \(result.summary) (transition \(request.transition))"
    )
    if spec.action == "start" && outcome == "ok" { noteStarted(spec.resource) }
    step {
      $0.operationCompleted(
        request, rc: result.rc.rawValue, status: status, durationMs: result.durationMs, output: output,
        now: Self.wallMs())
    }
  }

  /// A recurring monitor: runs every interval; reports only when the result turns into a failure.
  func startRecurring(_ spec: ActionSpec, lastRc: Int) {
    let key = "\(spec.resource)#\(spec.key)"
    recurring[key]?.task?.cancel()
    let interval = Int64(spec.intervalMs)
    let task = loop.scheduleRepeatedTask(
      initialDelay: .milliseconds(interval), delay: .milliseconds(interval)
    ) { _ in
      self.runRecurring(key)
    }
    recurring[key] = RecurringMonitor(spec: spec, task: task, lastRc: lastRc)
  }

  func runRecurring(_ key: String) {
    guard var monitor = recurring[key], !monitor.running else { return }
    monitor.running = true
    recurring[key] = monitor
    let executor = self.executor
    let operation = operationRequest(monitor.spec)
    executor.submit(operation) { result in
      self.loop.execute {
        guard var current = self.recurring[key] else { return }
        self.counters.countAction(current.spec.action, intervalMs: current.spec.intervalMs, result)
        current.running = false
        let rc = result.status == .done ? result.rc.rawValue : 1
        let failed = !self.controller.monitorSucceeded(current.spec, rc: rc)
        if failed && current.lastRc != rc {
          current.task?.cancel()
          self.recurring[key] = nil
          self.logger.warning("\(current.spec.resource) monitor failed: \(result.summary)")
          self.step {
            $0.recurringFailed(
              current.spec, rc: rc, output: result.output + result.errorOutput, now: Self.wallMs())
          }
          return
        }
        current.lastRc = rc
        self.recurring[key] = current
      }
    }
  }

  /// systemd told us a unit we run failed: report at once (the monitor is only the safety net).
  func unitFailed(_ failure: UnitFailure) {
    guard let (key, monitor) = recurring.first(where: { $0.value.spec.resource == failure.resource }) else {
      return
    }
    monitor.task?.cancel()
    recurring[key] = nil
    logger.warning(
      "\(failure.resource) (\(failure.unit)) \(failure.kind.rawValue): \(failure.activeState)/\(failure.subState)"
    )
    step {
      $0.recurringFailed(monitor.spec, rc: 7, output: "unit \(failure.kind.rawValue)", now: Self.wallMs())
    }
  }

  /// Cleanup also clears systemd's own failed state of this node's units (as `pcs resource cleanup`
  /// does through Pacemaker).
  func resetFailedUnits(_ cleanup: Cleanup) {
    guard cleanup.node == nil || cleanup.node == controller.me else { return }
    let requests = controller.config.resources.flatMap { resource -> [Primitive] in
      switch resource {
      case .primitive(let p): [p]
      case .group(let g): g.members
      case .clone: []
      }
    }.filter { p in
      (cleanup.resource == nil || cleanup.resource == p.id)
        && (p.agent.standard == .systemd || p.agent.standard == .service)
    }.map { p in
      OperationRequest(
        resource: p.id, agent: p.agent, attributes: p.attributes, action: "reset-failed", intervalMs: 0,
        timeoutMs: 10_000, meta: p.meta)
    }
    guard !requests.isEmpty else { return }
    let executor = self.executor
    Task { for request in requests { _ = await executor.run(request) } }
  }

  // MARK: - Clients

  func clientRequest(_ request: ManagerRequest, from client: ControlClient) {
    clientCounter += 1
    clients[clientCounter] = client
    let token = clientCounter
    step { $0.clientRequest(token: token, request, now: Self.wallMs()) }
  }

  func clientClosed(_ client: ControlClient) {
    clients = clients.filter { $0.value != client }
  }
}

/// Lines from the swcorosync connection.
final class CorosyncEventHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  let daemon: ResourceManagerDaemon
  init(daemon: ResourceManagerDaemon) { self.daemon = daemon }
  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let buffer = unwrapInboundIn(data)
    daemon.corosyncLine(Array(buffer.readableBytesView))
  }
  func channelInactive(context: ChannelHandlerContext) {
    daemon.corosyncClosed()
  }
}

/// swpacemakerd's control socket.
struct ManagerControlHandler: ControlRequestHandler {
  let daemon: ResourceManagerDaemon
  func handle(line: [UInt8], from client: ControlClient) {
    guard let request = try? JSONDecoder().decode(ManagerRequest.self, from: Data(line)) else {
      client.send(ManagerResponse(ok: false, error: "malformed request: expected one JSON object per line"))
      return
    }
    if request.op == .metrics {
      daemon.loop.execute { client.send(ManagerResponse(ok: true, metrics: self.daemon.metrics())) }
      return
    }
    daemon.loop.execute { self.daemon.clientRequest(request, from: client) }
  }
  func closed(_ client: ControlClient) { daemon.loop.execute { self.daemon.clientClosed(client) } }
  func unreadable(_ client: ControlClient) {
    client.send(ManagerResponse(ok: false, error: "request line too long or unreadable"))
  }
}
