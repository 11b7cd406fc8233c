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
