import ResourceExecutor
import Testing

@Suite("OCF exit codes")
struct OCFExitCodeTests {
  @Test(
    "every OCF code keeps its meaning and Pacemaker's recovery class",
    arguments: [
      (0, OCFExitCode.success, FailureSeverity.none),
      (1, .genericError, .soft),
      (2, .invalidArguments, .hard),
      (3, .unimplemented, .hard),
      (4, .insufficientPrivileges, .hard),
      (5, .notInstalled, .hard),
      (6, .notConfigured, .fatal),
      (7, .notRunning, .soft),
      (8, .runningPromoted, .soft),
      (9, .failedPromoted, .soft),
      (190, .degraded, .none),
      (191, .degradedPromoted, .none),
    ])
  func mapping(status: Int, code: OCFExitCode, severity: FailureSeverity) {
    #expect(OCFExitCode(exitStatus: status) == code)
    #expect(code.rawValue == status)
    #expect(code.severity == severity)
  }

  @Test(
    "exit statuses outside the OCF set are generic errors", arguments: [10, 42, 126, 127, 189, 192, 255, -1])
  func unknownStatus(status: Int) {
    #expect(OCFExitCode(exitStatus: status) == .genericError)
  }

  @Test("a timeout or executor error is soft, a missing agent hard, whatever rc says")
  func resultSeverity() {
    #expect(OperationResult(rc: .genericError, status: .timedOut).severity == .soft)
    #expect(OperationResult(rc: .genericError, status: .error("spawn failed")).severity == .soft)
    #expect(OperationResult(rc: .notInstalled, status: .notInstalled).severity == .hard)
    #expect(OperationResult(rc: .notConfigured).severity == .fatal)
    #expect(FailureSeverity.none < .soft && FailureSeverity.soft < .hard && FailureSeverity.hard < .fatal)
  }

  @Test("the summary line says rc, meaning and how the operation ended")
  func summary() {
    let result = OperationResult(rc: .notRunning, durationMs: 12)
    #expect(result.summary == "rc=7 (not running) done in 12 ms")
    #expect(
      OperationResult(rc: .genericError, status: .timedOut, durationMs: 3).summary.contains("timed out"))
  }
}
