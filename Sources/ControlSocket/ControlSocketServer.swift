import Foundation
import Logging
import NIOCore
import NIOPosix
import SystemdIntegration

/// The daemons' Unix control sockets: newline-delimited JSON, root or group `haclient` only
/// (checked with SO_PEERCRED on every connection), socket file mode 0660 group haclient.
///
/// One implementation for swcorosync and swpacemakerd: the daemon supplies a `ControlRequestHandler`.
public enum ControlSocketServer {
  public static func start(
    path: String, group: EventLoopGroup, maxLine: Int, logger: Logger, handler: any ControlRequestHandler
  ) throws -> Channel {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let channel = try ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 64)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLine: maxLine)))
          try channel.pipeline.syncOperations.addHandler(
            ControlConnectionHandler(handler: handler, logger: logger))
        }
      }
      .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
    chmod(path, 0o660)
    if let gid = ClientAccess.groupId(named: "haclient") { chown(path, 0, gid) }
    return channel
  }

  /// One JSON document and a newline.
  public static func encodeLine<T: Encodable>(_ value: T) -> [UInt8]? {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard var data = try? encoder.encode(value) else { return nil }
    data.append(0x0A)
    return [UInt8](data)
  }
}

/// What a daemon does with the lines of its authorised clients. Called on the connection's event loop.
public protocol ControlRequestHandler: Sendable {
  func handle(line: [UInt8], from client: ControlClient)
  func closed(_ client: ControlClient)
  /// The answer sent to a client whose line could not be read (too long).
  func unreadable(_ client: ControlClient)
}

/// An authorised client connection; send JSON lines to it from any thread.
public struct ControlClient: Sendable, Hashable {
  let channel: Channel
  public var id: ObjectIdentifier { ObjectIdentifier(channel) }
  public init(channel: Channel) { self.channel = channel }
  public func send<T: Encodable>(_ value: T) {
    guard let line = ControlSocketServer.encodeLine(value) else { return }
    channel.writeAndFlush(channel.allocator.buffer(bytes: line), promise: nil)
  }
  public func close() { channel.close(promise: nil) }
  public static func == (a: ControlClient, b: ControlClient) -> Bool { a.channel === b.channel }
  public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(channel)) }
}

/// Splits a byte stream into lines; refuses lines longer than `maxLine`.
public struct LineDecoder: ByteToMessageDecoder {
  public typealias InboundOut = ByteBuffer
  let maxLine: Int
  public init(maxLine: Int) { self.maxLine = maxLine }
  public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws
    -> DecodingState
  {
    if let newline = buffer.readableBytesView.firstIndex(of: 0x0A) {
      let length = newline - buffer.readerIndex
      let line = buffer.readSlice(length: length)!
      buffer.moveReaderIndex(forwardBy: 1)
      context.fireChannelRead(NIOAny(line))
      return .continue
    }
    if buffer.readableBytes > maxLine { throw LineTooLong() }
    return .needMoreData
  }
}

struct LineTooLong: Error {}

/// The one answer a refused client gets, in the shape every response of both daemons has.
struct Refusal: Encodable {
  var ok = false
  var error: String
}

/// struct ucred, mirrored (glibc hides it behind _GNU_SOURCE).
struct PeerCred {
  var pid: Int32 = 0
  var uid: UInt32 = 0
  var gid: UInt32 = 0
}

final class ControlConnectionHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  let handler: any ControlRequestHandler
  let logger: Logger
  var allowed = false
  init(handler: any ControlRequestHandler, logger: Logger) {
    self.handler = handler
    self.logger = logger
  }

  func channelActive(context: ChannelHandlerContext) {
    let channel = context.channel
    if let provider = channel as? any SocketOptionProvider {
      let credentials =
        provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: SO_PEERCRED))
        as EventLoopFuture<PeerCred>
      let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
      credentials.whenComplete { result in
        let connection = bound.value
        guard case .success(let cred) = result,
          ClientAccess.isAllowed(PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid))
        else {
          let uid = (try? result.get().uid).map(String.init) ?? "?"
          connection.logger.warning("refused control client uid \(uid): not root and not in group haclient")
          ControlClient(channel: channel).send(
            Refusal(error: "permission denied: root or group haclient required"))
          channel.close(promise: nil)
          return
        }
        connection.allowed = true
      }
    }
    context.fireChannelActive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard allowed else { return }
    let line = unwrapInboundIn(data)
    handler.handle(line: Array(line.readableBytesView), from: ControlClient(channel: context.channel))
  }

  func channelInactive(context: ChannelHandlerContext) {
    handler.closed(ControlClient(channel: context.channel))
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    handler.unreadable(ControlClient(channel: context.channel))
    context.close(promise: nil)
  }
}
