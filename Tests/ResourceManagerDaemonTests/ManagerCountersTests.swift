import ControlProtocol
import ResourceExecutor
import Testing

@testable import ResourceManagerDaemon

@Suite("Resource manager counters")
struct ManagerCountersTests {
  func result(_ rc: OCFExitCode, _ status: ExecutionStatus = .done, ms: Int = 10) -> OperationResult {
    OperationResult(rc: rc, status: status, durationMs: ms)
  }

  @Test func aProbeThatFindsTheResourceStoppedIsOk() {
    #expect(ManagerCounters.result(action: "monitor", intervalMs: 0, result(.notRunning)) == "ok")
    #expect(ManagerCounters.actionLabel("monitor", intervalMs: 0) == "probe")
  }

  @Test func aRecurringMonitorThatFindsTheResourceStoppedFailed() {
    #expect(ManagerCounters.result(action: "monitor", intervalMs: 10_000, result(.notRunning)) == "failed")
    #expect(ManagerCounters.actionLabel("monitor", intervalMs: 10_000) == "monitor")
  }

  @Test func stoppingAStoppedResourceIsOkAndAFailedStartIsNot() {
    #expect(ManagerCounters.result(action: "stop", intervalMs: 0, result(.notRunning)) == "ok")
    #expect(ManagerCounters.result(action: "start", intervalMs: 0, result(.genericError)) == "failed")
  }

  @Test func executionProblemsAreTheirOwnResults() {
    #expect(
      ManagerCounters.result(action: "start", intervalMs: 0, result(.genericError, .timedOut)) == "timeout")
    #expect(
      ManagerCounters.result(action: "start", intervalMs: 0, result(.notInstalled, .notInstalled))
        == "not_installed")
    #expect(
      ManagerCounters.result(action: "start", intervalMs: 0, result(.genericError, .error("spawn")))
        == "error")
  }

  @Test func countingAddsToTheActionResultCounterAndTheDurationHistogram() {
    var counters = ManagerCounters()
    counters.countAction("start", intervalMs: 0, result(.success, ms: 20))
    counters.countAction("start", intervalMs: 0, result(.success, ms: 3000))
    #expect(counters.actions[ManagerCounters.ActionKey(action: "start", result: "ok")] == 2)
    let histogram = counters.actionDurations["start"]
    #expect(histogram?.count == 2 && histogram?.sum == 3.02)
    #expect(histogram?.cumulative[histogram!.bounds.firstIndex(of: 0.05)!] == 1)
  }
}
