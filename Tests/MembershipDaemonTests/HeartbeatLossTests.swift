import ClusterTypes
import Testing

@testable import MembershipDaemon

@Suite("Heartbeat loss")
struct HeartbeatLossTests {
  let peer = NodeId(2)

  /// One tick: heartbeats every 200 ms, times in ms; returns whether it declared the peer dead.
  func tick(
    _ loss: inout HeartbeatLoss, heardAt: UInt64?, now: UInt64, heard: Bool = true, leftCleanly: Bool = false
  ) -> Bool {
    loss.update(
      peer: peer, lastHeard: heardAt.map { Instant(nanoseconds: $0 * 1_000_000) },
      now: Instant(nanoseconds: now * 1_000_000), heard: heard, leftCleanly: leftCleanly,
      heartbeat: .milliseconds(200))
  }

  @Test func silenceWithinOneIntervalOfSlackMissesNothing() {
    var loss = HeartbeatLoss()
    _ = tick(&loss, heardAt: 0, now: 399)
    #expect(loss.missed[peer] == nil)
  }

  @Test func eachFurtherIntervalOfSilenceIsOneMissedHeartbeatCountedOnce() {
    var loss = HeartbeatLoss()
    for now: UInt64 in [400, 500, 600, 799, 800] { _ = tick(&loss, heardAt: 0, now: now) }
    #expect(loss.missed[peer] == 3)
    // Heard again: a new silence starts from zero.
    _ = tick(&loss, heardAt: 900, now: 1000)
    _ = tick(&loss, heardAt: 900, now: 1300)
    #expect(loss.missed[peer] == 4)
  }

  @Test func aPeerNoLongerHeardTimesOutOnceUntilHeardAgain() {
    var loss = HeartbeatLoss()
    let first = tick(&loss, heardAt: 0, now: 1000, heard: false)
    let again = tick(&loss, heardAt: 0, now: 5000, heard: false)
    #expect(first && !again && loss.timeouts[peer] == 1)
    _ = tick(&loss, heardAt: 6000, now: 6000)
    let second = tick(&loss, heardAt: 6000, now: 7000, heard: false)
    #expect(second && loss.timeouts[peer] == 2)
  }

  @Test func aPeerLostFromTheViewIsDeadEvenWhileItsLastDatagramIsRecent() {
    var loss = HeartbeatLoss()
    let declared = loss.declareDead(peer, lastHeard: Instant(nanoseconds: 100_000_000))
    // Still "heard" for a moment by the link timeout: neither missed heartbeats nor a second timeout.
    _ = tick(&loss, heardAt: 100, now: 900)
    _ = tick(&loss, heardAt: 100, now: 1100, heard: false)
    #expect(declared && loss.timeouts[peer] == 1 && loss.missed[peer] == nil)
  }

  @Test func aCleanLeaveIsNoTimeout() {
    var loss = HeartbeatLoss()
    let declared = tick(&loss, heardAt: 0, now: 50, heard: false, leftCleanly: true)
    #expect(!declared && loss.timeouts[peer] == nil)
  }

  @Test func aPeerNeverHeardLosesNothing() {
    var loss = HeartbeatLoss()
    let declared = tick(&loss, heardAt: nil, now: 60_000, heard: false)
    #expect(!declared && loss.timeouts.isEmpty && loss.missed.isEmpty)
  }
}
