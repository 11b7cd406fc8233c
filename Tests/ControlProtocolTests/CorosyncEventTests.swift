import ControlProtocol
import Foundation
import Testing

@Suite("swcorosync client events")
struct CorosyncEventTests {
  func roundTrip(_ event: CorosyncEvent) throws -> CorosyncEvent {
    try JSONDecoder().decode(CorosyncEvent.self, from: JSONEncoder().encode(event))
  }

  @Test("stable and quorum events carry what swpacemakerd needs")
  func stableAndMovedOn() throws {
    let stable = CorosyncEvent(event: .stable, view: "1.7", sequence: 42)
    #expect(try roundTrip(stable) == stable)
    let quorum = CorosyncEvent(event: .quorum, movedOn: [1, 3])
    #expect(try roundTrip(quorum).movedOn == [1, 3])
  }

  @Test("an event or status of a swcorosync without stable delivery still decodes, without it")
  func olderSwcorosync() throws {
    let line = #"{"event":"message","origin":2,"view":"1.4","sequence":9,"payload":"e30="}"#
    let event = try JSONDecoder().decode(CorosyncEvent.self, from: Data(line.utf8))
    #expect(event.movedOn == nil)
    #expect(event.view == "1.4" && event.sequence == 9)
  }
}
