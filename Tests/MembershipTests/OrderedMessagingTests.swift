import ClusterSimulation
import ClusterTypes
import Membership
import Testing

func payload(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("Ordered group messaging")
struct OrderedMessagingTests {
  @Test("every member delivers every message in the same order")
  func totalOrder() throws {
    var sim = formed(3)
    let view = sim.installedView(n1)!.id
    for i in 0..<20 {
      for id in sim.ids { try sim.submit(payload("\(id)-\(i)"), at: id) }
      sim.run(for: .milliseconds(7))
    }
    sim.run(for: .seconds(1))
    let lists = sim.ids.map { sim.nodes[$0]!.deliveries[view] ?? [] }
    #expect(lists[0].count == 60)
    #expect(lists.allSatisfy { $0 == lists[0] })
    // Each sender's messages keep their sending order.
    let fromTwo = lists[0].filter { $0.origin == n2 }.map { String(decoding: $0.payload, as: UTF8.self) }
    #expect(fromTwo == (0..<20).map { "2-\($0)" })
  }

  @Test("lost and duplicated datagrams are repaired by retransmission")
  func lossyNetwork() throws {
    var sim = formed(3, seed: 7)
    sim.lossRate = 0.2
    sim.duplicateRate = 0.1
    sim.jitter = .milliseconds(5)
    let view = sim.installedView(n1)!.id
    for i in 0..<30 { try sim.submit(payload("m\(i)"), at: NodeId(UInt32(i % 3 + 1))) }
    sim.run(for: .seconds(3))
    #expect(sim.installedView(n1)!.id == view, "20% loss must not break the view")
    let lists = sim.ids.map { sim.nodes[$0]!.deliveries[view] ?? [] }
    #expect(lists[0].count == 30)
    #expect(lists.allSatisfy { $0 == lists[0] })
    #expect(sim.violations().isEmpty)
  }

  @Test("messages submitted when the sequencer dies are delivered once in the next view")
  func sequencerCrash() throws {
    var sim = formed(3)
    try sim.submit(payload("before"), at: n2)
    sim.run(for: .milliseconds(10))
    sim.crash(n1)
    try sim.submit(payload("during"), at: n3)
    sim.run(for: .seconds(2))
    #expect(sim.agree(on: [n2, n3]))
    let newView = sim.installedView(n2)!.id
    let texts = (sim.nodes[n2]!.deliveries[newView] ?? []).map { String(decoding: $0.payload, as: UTF8.self) }
    #expect(texts == ["during"])
    #expect(sim.nodes[n3]!.deliveries[newView] == sim.nodes[n2]!.deliveries[newView])
    #expect(sim.violations().isEmpty)
  }

  @Test("survivors deliver the same old-view messages before the new view (flush)")
  func flushAcrossViewChange() throws {
    var sim = formed(4, seed: 3)
    let first = sim.installedView(n1)!.id
    // n4 misses the sequencer's broadcasts; others have them.
    sim.block(from: n1, to: n4)
    for i in 0..<5 { try sim.submit(payload("x\(i)"), at: n2) }
    sim.run(for: .milliseconds(20))
    sim.crash(n1)
    sim.heal()
    sim.run(for: .seconds(2))
    #expect(sim.agree(on: [n2, n3, n4]))
    let d2 = sim.nodes[n2]!.deliveries[first] ?? []
    let d4 = sim.nodes[n4]!.deliveries[first] ?? []
    #expect(d2.count == 5)
    #expect(d4 == d2)
    #expect(sim.violations().isEmpty)
  }

  @Test("a message is announced stable once every member has delivered it")
  func stableOnceEveryMemberDelivered() throws {
    var sim = formed(3)
    let view = sim.installedView(n1)!.id
    try sim.submit(payload("config"), at: n2)
    sim.run(for: .milliseconds(1))
    let delivered = try #require(sim.nodes[n1]!.deliveries[view]?.last)
    // Delivered everywhere at once, but known to be held by all only from their heartbeats.
    #expect((sim.nodes[n2]!.stable[view] ?? 0) < delivered.sequence)
    sim.run(for: .milliseconds(500))
    for id in sim.ids { #expect((sim.nodes[id]!.stable[view] ?? 0) >= delivered.sequence) }
    #expect(sim.violations().isEmpty)
  }

  @Test("a message only one side of a splitting view delivered is never announced stable")
  func notStableOnOneSide() throws {
    var sim = formed(3)
    let view = sim.installedView(n1)!.id
    // n1 (the sequencer) orders and delivers it; n2 and n3 never get it, and the view splits.
    sim.block(from: n1, to: n2)
    sim.block(from: n1, to: n3)
    try sim.submit(payload("config"), at: n1)
    sim.run(for: .milliseconds(1))
    let delivered = try #require(sim.nodes[n1]!.deliveries[view]?.last)
    sim.partition([[n1], [n2, n3]])
    sim.run(for: .seconds(3))
    #expect(sim.installedView(n1)!.id != view)
    #expect(sim.agree(on: [n2, n3]))
    #expect((sim.nodes[n1]!.stable[view] ?? 0) < delivered.sequence)
    #expect(sim.nodes[n2]!.deliveries[view]?.contains(delivered) != true)
    #expect(sim.violations().isEmpty)
  }

  @Test("an oversized message is refused with its size and the limit")
  func oversize() {
    var sim = formed(2)
    #expect(throws: SubmitError.tooLarge(size: 17_000_000, limit: 16 << 20)) {
      try sim.submit(Array(repeating: 0, count: 17_000_000), at: n1)
    }
  }
}

@Suite("Large messages")
struct LargeMessageTests {
  @Test("a message larger than a datagram arrives whole, once, in order with small ones")
  func fragmented() throws {
    var sim = formed(3, seed: 11)
    sim.lossRate = 0.1
    let view = sim.installedView(n1)!.id
    let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try sim.submit(payload("small-before"), at: n2)
    try sim.submit(big, at: n2)
    try sim.submit(payload("from-three"), at: n3)
    try sim.submit(payload("small-after"), at: n2)
    sim.run(for: .seconds(3))
    let lists = sim.ids.map { (sim.nodes[$0]!.deliveries[view] ?? []).map(\.payload) }
    #expect(lists[0].count == 4)
    #expect(lists.allSatisfy { $0 == lists[0] })
    let fromTwo = lists[0].filter { $0 != payload("from-three") }
    #expect(fromTwo == [payload("small-before"), big, payload("small-after")])
    #expect(sim.violations().isEmpty)
  }

  @Test("a fragmented message cut off by its sender's crash is never delivered in part")
  func senderCrashMidMessage() throws {
    // 1,000-byte fragments, at most 32 datagrams a send: 100 kB needs several heartbeats to get out.
    var sim = SimulatedCluster(nodeCount: 3, fragmentSize: 1000, seed: 5)
    sim.startAll()
    sim.run(for: .seconds(2))
    sim.lossRate = 0.5
    try sim.submit(Array(repeating: 7, count: 100_000), at: n3)
    sim.run(for: .milliseconds(250))
    sim.crash(n3)
    sim.lossRate = 0
    sim.run(for: .seconds(3))
    #expect(sim.agree(on: [n1, n2]))
    for id in [n1, n2] {
      for (_, list) in sim.nodes[id]!.deliveries {
        #expect(!list.contains { $0.origin == n3 })
      }
    }
    #expect(sim.violations().isEmpty)
  }

  @Test("a fragmented message survives the loss of the sequencer")
  func sequencerCrashMidMessage() throws {
    var sim = SimulatedCluster(nodeCount: 3, fragmentSize: 1000, seed: 9)
    sim.startAll()
    sim.run(for: .seconds(2))
    let big = (0..<80_000).map { UInt8(truncatingIfNeeded: $0) }
    try sim.submit(big, at: n3)
    sim.run(for: .milliseconds(1))
    sim.crash(n1)
    sim.run(for: .seconds(4))
    #expect(sim.agree(on: [n2, n3]))
    let all = [n2, n3].map { id in sim.nodes[id]!.deliveries.values.flatMap { $0 }.filter { $0.origin == n3 }
    }
    #expect(all[0].map(\.payload) == [big])
    #expect(all[1].map(\.payload) == [big])
    #expect(sim.violations().isEmpty)
  }
}

@Suite("Random fault schedules")
struct RandomFaultTests {
  @Test("agreement, order and virtual synchrony hold under random faults", arguments: 1...100)
  func randomSchedule(seed: UInt64) throws {
    var sim = SimulatedCluster(nodeCount: 4, links: 2, seed: seed)
    sim.startAll()
    sim.run(for: .seconds(1))
    var rng = SeededRandom(seed: seed &* 7919)
    for step in 0..<25 {
      let pick = NodeId(UInt32(rng.next() % 4 + 1))
      switch rng.next() % 7 {
      case 0: sim.crash(pick)
      case 1: if !sim.isUp(pick) { sim.start(pick) }
      case 2: sim.partition([[n1, n2], [n3, n4]].shuffled(using: &rng))
      case 3: sim.block(from: pick, to: NodeId(UInt32(rng.next() % 4 + 1)))
      case 4: sim.heal()
      case 5: sim.lossRate = Double(rng.next() % 30) / 100
      default: if sim.isUp(pick) { sim.stop(pick) }
      }
      for id in sim.ids where sim.isUp(id) && rng.next() % 2 == 0 {
        try sim.submit(payload("s\(step)-\(id)"), at: id)
      }
      sim.run(for: .milliseconds(Int64(rng.next() % 1500)))
    }
    // Faults stop: heal, restart everyone, converge.
    sim.heal()
    sim.lossRate = 0
    for id in sim.ids where !sim.isUp(id) { sim.start(id) }
    sim.run(for: .seconds(4))
    let problems = sim.violations()
    #expect(problems.isEmpty, "seed \(seed): \(problems)\n\(sim.trace.suffix(40).joined(separator: "\n"))")
    #expect(
      sim.agree(on: sim.ids), "seed \(seed) did not converge\n\(sim.trace.suffix(40).joined(separator: "\n"))"
    )
  }
}
