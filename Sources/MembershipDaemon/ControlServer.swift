import ControlProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import SystemdIntegration

/// The Unix control socket of swcorosync: newline-delimited JSON, root or group haclient only.
enum ControlServer {
  /// Longest request line accepted (a 16 MiB group message in base64 fits).
  static let maxLine = 24 << 20

  static func start(daemon: CorosyncDaemon, path: String, group: EventLoopGroup) throws -> Channel {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let channel = try ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 64)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLine: maxLine)))
          try channel.pipeline.syncOperations.addHandler(ControlConnection(daemon: daemon))
        }
      }
      .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
    chmod(path, 0o660)
    if let gid = ClientAccess.groupId(named: "haclient") { chown(path, 0, gid) }
    return channel
  }

  static func encodeLine<T: Encodable>(_ value: T) -> [UInt8]? {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard var data = try? encoder.encode(value) else { return nil }
    data.append(0x0A)
    return [UInt8](data)
  }
}

/// Splits a byte stream into lines; refuses lines longer than `maxLine`.
struct LineDecoder: ByteToMessageDecoder {
  typealias InboundOut = ByteBuffer
  let maxLine: Int
  mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
    if let newline = buffer.readableBytesView.firstIndex(of: 0x0A) {
      let length = newline - buffer.readerIndex
      let line = buffer.readSlice(length: length)!
      buffer.moveReaderIndex(forwardBy: 1)
      context.fireChannelRead(NIOAny(line))
      return .continue
    }
    if buffer.readableBytes > maxLine { throw ControlError.lineTooLong }
    return .needMoreData
  }
}

enum ControlError: Error { case lineTooLong }

/// struct ucred, mirrored (glibc hides it behind _GNU_SOURCE).
struct PeerCred {
  var pid: Int32 = 0
  var uid: UInt32 = 0
  var gid: UInt32 = 0
}

/// One client connection: checks credentials, answers requests, streams events after subscribe.
final class ControlConnection: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  let daemon: CorosyncDaemon
  var allowed = false
  init(daemon: CorosyncDaemon) { self.daemon = daemon }

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
          connection.daemon.logger.warning(
            "refused control client uid \(uid): not root and not in group haclient")
          connection.reply(
            channel, CorosyncResponse(ok: false, error: "permission denied: root or group haclient required"))
          channel.close(promise: nil)
          return
        }
        connection.allowed = true
      }
    }
    context.fireChannelActive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let line = unwrapInboundIn(data)
    let channel = context.channel
    guard allowed else { return }
    guard let request = try? JSONDecoder().decode(CorosyncRequest.self, from: Data(line.readableBytesView))
    else {
      reply(
        channel, CorosyncResponse(ok: false, error: "malformed request: expected one JSON object per line"))
      return
    }
    switch request.op {
    case .status:
      reply(channel, CorosyncResponse(ok: true, status: daemon.status()))
    case .subscribe:
      daemon.subscribers[ObjectIdentifier(channel)] = channel
      reply(channel, CorosyncResponse(ok: true, status: daemon.status()))
    case .send:
      guard let text = request.payload, let payload = Data(base64Encoded: text) else {
        reply(channel, CorosyncResponse(ok: false, error: "send needs a base64 payload"))
        return
      }
      if let error = daemon.submit([UInt8](payload)) {
        reply(channel, CorosyncResponse(ok: false, error: error))
      } else {
        reply(channel, CorosyncResponse(ok: true))
      }
    case .setExpectedVotes:
      guard let votes = request.votes else {
        reply(channel, CorosyncResponse(ok: false, error: "set-expected-votes needs votes"))
        return
      }
      if let error = daemon.setExpectedVotes(votes) {
        reply(channel, CorosyncResponse(ok: false, error: error))
      } else {
        reply(channel, CorosyncResponse(ok: true, status: daemon.status()))
      }
    case .unblockQuorum:
      daemon.unblockQuorum()
      reply(channel, CorosyncResponse(ok: true, status: daemon.status()))
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    daemon.subscribers[ObjectIdentifier(context.channel)] = nil
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    reply(context.channel, CorosyncResponse(ok: false, error: "request line too long or unreadable"))
    context.close(promise: nil)
  }

  func reply(_ channel: Channel, _ response: CorosyncResponse) {
    guard let line = ControlServer.encodeLine(response) else { return }
    channel.writeAndFlush(channel.allocator.buffer(bytes: line), promise: nil)
  }
}
