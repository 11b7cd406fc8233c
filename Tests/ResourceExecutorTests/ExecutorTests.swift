import Foundation
import ResourceExecutor
import ResourceModel
import Synchronization
import Testing

/// Records when each request ran; sleeps `delay` per request.
final class RecordingRunner: ResourceAgentRunner {
  struct Span: Sendable {
    var label: String
    var start: ContinuousClock.Instant
    var end: ContinuousClock.Instant
  }
  let spans = Mutex<[Span]>([])
  let delay: Duration
  init(delay: Duration) { self.delay = delay }

  func run(_ request: OperationRequest) async -> OperationResult {
    let start = ContinuousClock.now
    try? await Task.sleep(for: delay)
    spans.withLock {
      $0.append(Span(label: "\(request.resource):\(request.action)", start: start, end: .now))
    }
    return OperationResult(rc: .success, output: "\(request.agent.standard.rawValue)")
  }

  func span(_ label: String) -> Span? { spans.withLock { $0.first { $0.label == label } } }
}

@Suite("Executor routing and ordering")
struct ExecutorTests {
  let ocf = AgentSpec(standard: .ocf, provider: "heartbeat", type: "Dummy")

  @Test("requests go to the runner of their standard; service: is systemd; stonith: is not run here")
  func routing() async {
    let executor = Executor(ocf: RecordingRunner(delay: .zero), systemd: RecordingRunner(delay: .zero))
    #expect(await executor.run(OperationRequest(resource: "a", agent: ocf, action: "start")).output == "ocf")
    let unit = AgentSpec(standard: .service, type: "cups")
    #expect(
      await executor.run(OperationRequest(resource: "b", agent: unit, action: "start")).output == "service")
    let fence = await executor.run(
      OperationRequest(
        resource: "f", agent: AgentSpec(standard: .stonith, type: "fence_xvm"), action: "start"))
    #expect(fence.rc == .unimplemented)
    let noSystemd = Executor(ocf: RecordingRunner(delay: .zero))
    let systemdRequest = OperationRequest(
      resource: "c", agent: AgentSpec(standard: .systemd, type: "x"), action: "start")
    #expect(await noSystemd.run(systemdRequest).rc == .unimplemented)
  }

  @Test("one resource's actions run one at a time in arrival order; other resources run alongside")
  func perResourceOrder() async throws {
    let runner = RecordingRunner(delay: .milliseconds(150))
    let executor = Executor(ocf: runner)
    async let start = executor.run(OperationRequest(resource: "a", agent: ocf, action: "start"))
    try await Task.sleep(for: .milliseconds(20))
    async let stop = executor.run(OperationRequest(resource: "a", agent: ocf, action: "stop"))
    async let other = executor.run(OperationRequest(resource: "b", agent: ocf, action: "start"))
    _ = await (start, stop, other)

    let first = try #require(runner.span("a:start"))
    let second = try #require(runner.span("a:stop"))
    let parallel = try #require(runner.span("b:start"))
    #expect(second.start >= first.end, "the stop waited for the start")
    #expect(parallel.start < first.end, "another resource did not wait")
  }

  @Test("actions submitted back to back run and are reported in submission order")
  func submissionOrder() async {
    // No pause between submissions (the daemon submits a start and the next DC's stop from one loop
    // turn): the order must not depend on how the tasks behind them get scheduled.
    let runner = RecordingRunner(delay: .milliseconds(1))
    let executor = Executor(ocf: runner)
    let reported = Mutex<[String]>([])
    let resources = (0..<40).map { "r\($0)" }
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
      let remaining = Mutex(resources.count * 3)
      for resource in resources {
        for action in ["start", "stop", "monitor"] {
          executor.submit(OperationRequest(resource: resource, agent: ocf, action: action)) { _ in
            reported.withLock { $0.append("\(resource):\(action)") }
            if remaining.withLock({ count in
              count -= 1
              return count == 0
            }) {
              done.resume()
            }
          }
        }
      }
    }
    for resource in resources {
      let order = reported.withLock { $0.filter { $0.hasPrefix("\(resource):") } }
      #expect(order == ["start", "stop", "monitor"].map { "\(resource):\($0)" })
      let spans = ["start", "stop", "monitor"].compactMap { runner.span("\(resource):\($0)") }
      #expect(spans.count == 3)
      if spans.count == 3 {
        #expect(spans[1].start >= spans[0].end && spans[2].start >= spans[1].end)
      }
    }
  }

  @Test("a request built from the configuration carries its operation's interval and timeout")
  func requestFromConfiguration() {
    let primitive = Primitive(
      id: "vip", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "IPaddr2"),
      attributes: [Attribute("ip", "192.0.2.100")], meta: ["target-role": "Started"])
    let monitor = OperationSpec(id: "vip-monitor", name: "monitor", intervalMs: 10_000, timeoutMs: 5000)
    let request = OperationRequest(primitive: primitive, operation: monitor)
    #expect(request.resource == "vip")
    #expect(request.intervalMs == 10_000)
    #expect(request.timeoutMs == 5000)
    #expect(request.attributes == [Attribute("ip", "192.0.2.100")])
    let start = OperationRequest(primitive: primitive, operation: OperationSpec(id: "s", name: "start"))
    #expect(start.timeoutMs == 20_000)
  }
}
