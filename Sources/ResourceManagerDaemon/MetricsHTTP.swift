import ClusterConfig
import ControlProtocol
import NIOCore
import NIOHTTP1
import NIOPosix

/// The optional HTTP listener (`[metrics] listen` in cluster.conf): `GET /metrics` answers both
/// daemons' metrics in the Prometheus text format, merged as `swpcs metrics` merges them.
///
/// Served by swpacemakerd, not swcorosync: swcorosync runs with real-time priority and locked memory
/// and its event loop carries the heartbeats, so a slow or hostile scraper must never share it.
/// swpacemakerd asks swcorosync for its families over the connection it already holds.
extension ResourceManagerDaemon {
  /// How long a scrape waits for swcorosync's answer before reporting it down.
  static let corosyncMetricsTimeout = TimeAmount.seconds(2)

  /// How often a listener that could not bind tries again.
  static let metricsListenRetry = TimeAmount.seconds(10)

  /// Binds the listener; when the address cannot be bound (in use, not local), logs one error and
  /// keeps retrying while the daemon runs.
  func startMetricsListener(_ listen: MetricsListen, attempt: Int = 0) {
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .serverChannelOption(.backlog, value: 16)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(10)))
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(daemon: self))
        }
      }
    bootstrap.bind(host: listen.host, port: Int(listen.port)).hop(to: loop).whenComplete { result in
      switch result {
      case .success(let channel):
        if self.stopping {
          channel.close(promise: nil)
          return
        }
        self.metricsChannel = channel
        self.logger.notice("serving metrics on http://\(listen)/metrics")
      case .failure(let error):
        // Metrics must never keep the resource manager from running: report, then retry.
        if attempt == 0 {
          self.logger.error(
            "[metrics] listen = \(listen): cannot listen (\(error)); retrying every \(Self.metricsListenRetry.nanoseconds / 1_000_000_000) s"
          )
        }
        self.loop.scheduleTask(in: Self.metricsListenRetry) {
          if !self.stopping { self.startMetricsListener(listen, attempt: attempt + 1) }
        }
      }
    }
  }

  /// Both daemons' families, merged; swcorosync's are absent (and it is reported down) when it does
  /// not answer in time.
  func mergedMetrics() -> EventLoopFuture<[MetricFamily]> {
    guard loop.inEventLoop else { return loop.flatSubmit { self.mergedMetrics() } }
    let own = metrics()
    let promise = loop.makePromise(of: [MetricFamily]?.self)
    if let channel = corosync {
      // One slot per request sent: answers come in order, so a late answer still fills its own
      // (already timed out, emptied) slot and never a later request's.
      corosyncMetricsWaiting.append(promise)
      send(CorosyncRequest(op: .metrics), on: channel)
      loop.scheduleTask(in: Self.corosyncMetricsTimeout) {
        if let i = self.corosyncMetricsWaiting.firstIndex(where: { $0?.futureResult === promise.futureResult }
        ) {
          self.corosyncMetricsWaiting[i] = nil
          promise.succeed(nil)
        }
      }
    } else {
      promise.succeed(nil)
    }
    return promise.futureResult.map { corosync in
      MetricsExposition.merged([("swcorosync", corosync), ("swpacemakerd", own)])
    }
  }
}

/// One HTTP connection of the metrics listener: answers each request, then closes the connection.
final class MetricsHTTPHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart
  let daemon: ResourceManagerDaemon
  var head: HTTPRequestHead?
  var answering = false

  init(daemon: ResourceManagerDaemon) { self.daemon = daemon }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head): self.head = head
    case .body: break  // ignored (and not buffered)
    case .end:
      guard let head, !answering else { return }
      answering = true
      answer(head, context: context)
    }
  }

  func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
    let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    guard path == "/metrics" else {
      respond(context, head, .notFound, "not found: the metrics are at /metrics\n")
      return
    }
    guard head.method == .GET || head.method == .HEAD else {
      respond(context, head, .methodNotAllowed, "only GET and HEAD\n", extra: [("Allow", "GET, HEAD")])
      return
    }
    let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    daemon.mergedMetrics().hop(to: context.eventLoop).whenComplete { result in
      let (handler, context) = loopBound.value
      switch result {
      case .success(let families):
        handler.respond(
          context, head, .ok, PrometheusText.render(families), contentType: PrometheusText.contentType)
      case .failure:
        handler.respond(context, head, .internalServerError, "cannot collect the metrics\n")
      }
    }
  }

  func respond(
    _ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus,
    _ text: String,
    contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = []
  ) {
    guard context.channel.isActive else { return }
    let body = context.channel.allocator.buffer(string: text)
    var headers = HTTPHeaders([
      ("Content-Type", contentType), ("Content-Length", String(body.readableBytes)), ("Connection", "close"),
    ])
    for (name, value) in extra { headers.add(name: name, value: value) }
    let head = HTTPResponseHead(version: request.version, status: status, headers: headers)
    context.write(wrapOutboundOut(.head(head)), promise: nil)
    if request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
    let channel = context.channel
    context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is IdleStateHandler.IdleStateEvent {
      context.close(promise: nil)
    } else {
      context.fireUserInboundEventTriggered(event)
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
