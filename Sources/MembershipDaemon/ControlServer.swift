import ControlProtocol
import ControlSocket
import Foundation

/// swcorosync's side of its control socket: status, subscriptions, group sends, quorum admin.
struct CorosyncControlHandler: ControlRequestHandler {
  /// Longest request line accepted (a 16 MiB group message in base64 fits).
  static let maxLine = 24 << 20
  let daemon: CorosyncDaemon

  func handle(line: [UInt8], from client: ControlClient) {
    guard let request = try? JSONDecoder().decode(CorosyncRequest.self, from: Data(line)) else {
      client.send(CorosyncResponse(ok: false, error: "malformed request: expected one JSON object per line"))
      return
    }
    switch request.op {
    case .status:
      client.send(CorosyncResponse(ok: true, status: daemon.status()))
    case .subscribe:
      daemon.subscribers[client.id] = client
      client.send(CorosyncResponse(ok: true, status: daemon.status()))
    case .send:
      guard let text = request.payload, let payload = Data(base64Encoded: text) else {
        client.send(CorosyncResponse(ok: false, error: "send needs a base64 payload"))
        return
      }
      if let error = daemon.submit([UInt8](payload)) {
        client.send(CorosyncResponse(ok: false, error: error))
      } else {
        client.send(CorosyncResponse(ok: true))
      }
    case .setExpectedVotes:
      guard let votes = request.votes else {
        client.send(CorosyncResponse(ok: false, error: "set-expected-votes needs votes"))
        return
      }
      if let error = daemon.setExpectedVotes(votes) {
        client.send(CorosyncResponse(ok: false, error: error))
      } else {
        client.send(CorosyncResponse(ok: true, status: daemon.status()))
      }
    case .unblockQuorum:
      daemon.unblockQuorum()
      client.send(CorosyncResponse(ok: true, status: daemon.status()))
    case .metrics:
      client.send(CorosyncResponse(ok: true, metrics: daemon.metrics()))
    }
  }

  func closed(_ client: ControlClient) { daemon.subscribers[client.id] = nil }

  func unreadable(_ client: ControlClient) {
    client.send(CorosyncResponse(ok: false, error: "request line too long or unreadable"))
  }
}
