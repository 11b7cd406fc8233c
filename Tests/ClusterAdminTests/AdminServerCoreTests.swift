import Crypto
import Foundation
import Testing

@testable import ClusterAdmin

private let authkey = [UInt8](repeating: 7, count: 64)
private let now: Int64 = 1_800_000_000

private func core(tokens: [JoinTokenRecord] = [], node: String = "n2") -> AdminServerCore {
  var state = AdminState()
  state.tokens = tokens
  return AdminServerCore(state: state, localNode: node, authkey: authkey)
}

private func adminDatagram(_ request: AdminRequest, key: [UInt8] = authkey) throws -> [UInt8] {
  try AdminWire.seal(request, kind: .admin, key: AdminWire.adminKey(authkey: key))
}

private func joinDatagram(_ request: AdminRequest, secret: [UInt8]) throws -> [UInt8] {
  try AdminWire.seal(
    request, kind: .join, tokenId: AdminWire.tokenId(secret: secret), key: AdminWire.joinKey(secret: secret))
}

@Suite struct AdminProtocolTests {
  @Test func tokenRoundTripsAndRejectsDamage() throws {
    let token = JoinTokenV2.fresh(port: 5403, addresses: ["192.0.2.11", "198.51.100.11"])
    #expect(try JoinTokenV2.decode(token.encoded) == token)
    #expect(try JoinTokenV2.decode("  \(token.encoded)\n") == token)
    #expect(throws: JoinTokenV2.DecodeError.notAToken) { try JoinTokenV2.decode("swpcs-join1.abc") }
    #expect(throws: JoinTokenV2.DecodeError.damaged) { try JoinTokenV2.decode("swpcs-join2.a$b") }
    #expect(throws: JoinTokenV2.DecodeError.damaged) {
      try JoinTokenV2.decode(String(token.encoded.prefix(30)))
    }
    // Any one character changed in copying is caught by the check bytes.
    let text = Array(token.encoded)
    for index in JoinTokenV2.prefix.count..<text.count {
      var copy = text
      copy[index] = copy[index] == "A" ? "B" : "A"
      #expect(throws: JoinTokenV2.DecodeError.self) { try JoinTokenV2.decode(String(copy)) }
    }
  }

  @Test func requestsOpenOnlyWithTheirKeyAndUntampered() throws {
    let request = AdminRequest(time: now, op: "ping", node: "n2")
    let datagram = try adminDatagram(request)
    #expect(AdminWire.open(datagram, key: AdminWire.adminKey(authkey: authkey)) == request)
    #expect(AdminWire.open(datagram, key: AdminWire.adminKey(authkey: [1, 2, 3])) == nil)
    for index in datagram.indices {
      var flipped = datagram
      flipped[index] ^= 0x01
      #expect(AdminWire.open(flipped, key: AdminWire.adminKey(authkey: authkey)) == nil)
    }
    for length in 0..<datagram.count {
      #expect(
        AdminWire.open(Array(datagram.prefix(length)), key: AdminWire.adminKey(authkey: authkey)) == nil)
    }
  }

  @Test func replyIsBoundToItsRequest() throws {
    let key = AdminWire.adminKey(authkey: authkey)
    let reply = AdminReply(nonce: "abc", ok: true, message: "done")
    let datagram = try AdminWire.sealReply(reply, key: key)
    #expect(AdminWire.openReply(datagram, key: key, nonce: "abc") == reply)
    #expect(AdminWire.openReply(datagram, key: key, nonce: "abd") == nil)
    #expect(AdminWire.openReply(datagram, key: AdminWire.adminKey(authkey: [9]), nonce: "abc") == nil)
  }
}

@Suite struct AdminServerCoreTests {
  @Test func garbageAndForgeriesAreDroppedWithoutAnswer() throws {
    var c = core()
    #expect(c.receive([], now: now) == .drop("not an admin request"))
    #expect(c.receive(Array(repeating: 0x41, count: 100), now: now) == .drop("not an admin request"))
    let forged = try adminDatagram(
      AdminRequest(time: now, op: "stop", node: "n2", units: ["swcorosync"]), key: [1])
    #expect(c.receive(forged, now: now) == .drop("authentication failed"))
    let unknownToken = try joinDatagram(AdminRequest(time: now, op: "join", node: "n2"), secret: [1, 2, 3])
    #expect(c.receive(unknownToken, now: now) == .drop("unknown join token"))
  }

  @Test func validRequestIsExecutedOnceAndRetransmissionsAreDuplicates() throws {
    var c = core()
    let request = AdminRequest(time: now, op: "start", node: "n2", units: ["swcorosync", "swpacemaker"])
    let datagram = try adminDatagram(request)
    #expect(c.receive(datagram, now: now) == .execute(request))
    #expect(c.receive(datagram, now: now + 1) == .duplicate(nonce: request.nonce))
  }

  @Test func refusalsAreAnsweredWithAReason() throws {
    var c = core()
    func message(_ request: AdminRequest) throws -> String? {
      if case .reply(let reply) = c.receive(try adminDatagram(request), now: now) { return reply.message }
      return nil
    }
    #expect(
      try message(AdminRequest(time: now, op: "ping", node: "n3"))?.contains("this is node 'n2'") == true)
    #expect(try message(AdminRequest(time: now + 500, op: "ping", node: "n2"))?.contains("clocks") == true)
    #expect(
      try message(AdminRequest(time: now, op: "reboot", node: "n2"))?.contains("unknown request") == true)
    #expect(
      try message(AdminRequest(time: now, op: "stop", node: "n2", units: ["sshd"]))?.contains("units must be")
        == true)
    #expect(
      try message(AdminRequest(time: now, op: "conf", node: "n2"))?.contains("no configuration") == true)
  }

  @Test func joinTokenIsUsedOncePerNode() throws {
    let secret = [UInt8](repeating: 3, count: 32)
    var c = core(
      tokens: [JoinTokenRecord(secret: secret, expires: now + 3600, nodes: ["n2", "n3"])], node: "n1")
    let first = AdminRequest(time: now, op: "join", node: "n2")
    #expect(c.receive(try joinDatagram(first, secret: secret), now: now) == .join(first))
    // The same request again (the reply was lost): answered again.
    #expect(c.receive(try joinDatagram(first, secret: secret), now: now + 2) == .join(first))
    // Another request for n2: refused; n3 may still join; n4 was never allowed.
    let again = AdminRequest(time: now, op: "join", node: "n2")
    guard case .reply(let refused) = c.receive(try joinDatagram(again, secret: secret), now: now) else {
      Issue.record("second join of n2 accepted")
      return
    }
    #expect(!refused.ok && refused.message.contains("already used"))
    let n3 = AdminRequest(time: now, op: "join", node: "n3")
    #expect(c.receive(try joinDatagram(n3, secret: secret), now: now) == .join(n3))
    #expect(c.state.tokens[0].exhausted)
    let n4 = AdminRequest(time: now, op: "join", node: "n4")
    guard case .reply(let stranger) = c.receive(try joinDatagram(n4, secret: secret), now: now) else {
      Issue.record("n4 accepted")
      return
    }
    #expect(stranger.message.contains("may not join"))
    c.state.prune(now: now)
    #expect(c.state.tokens.isEmpty)
  }

  @Test func expiredTokenIsRefused() throws {
    let secret = [UInt8](repeating: 4, count: 32)
    var c = core(tokens: [JoinTokenRecord(secret: secret, expires: now - 1, nodes: ["n2"])], node: "n1")
    let request = AdminRequest(time: now, op: "join", node: "n2")
    guard case .reply(let reply) = c.receive(try joinDatagram(request, secret: secret), now: now) else {
      Issue.record("expired token accepted")
      return
    }
    #expect(reply.message.contains("expired"))
  }

  @Test func joinNeedsNoAuthkeyButAdminDoes() throws {
    var c = AdminServerCore(state: AdminState(), localNode: "n1", authkey: nil)
    #expect(
      c.receive(try adminDatagram(AdminRequest(time: now, op: "ping", node: "n1")), now: now)
        == .drop("no authkey on this node"))
  }
}
