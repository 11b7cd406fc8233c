// executor-probe: drives ResourceExecutor's runners from the command line, one JSON line per result,
// for the cluster tests (inside container nodes) and for humans debugging an agent.
import Foundation
import ResourceExecutor
import ResourceModel

let usage = """
  usage:
    executor-probe systemd ACTION UNIT [--timeout MS] [--interval MS] [--resource ID]
        ACTION: start | stop | monitor | meta-data | validate-all
    executor-probe systemd watch UNIT SECONDS     recurring monitor (starts the watch), then print unit
                                                  failures as JSON lines for SECONDS
    executor-probe systemd concurrent UNIT [--delay MS] [--start-timeout MS]
                                                  start, then (after MS) stop while the start runs,
                                                  then monitor
    executor-probe ocf PROVIDER:TYPE ACTION [NAME=VALUE ...] [--timeout MS] [--interval MS]
                                                  [--resource ID] [--root OCF_ROOT]
  """

/// One result as a flat JSON object.
struct ResultLine: Encodable {
  var event = "result"
  var action: String
  var resource: String
  var rc: Int
  var rcName: String
  var status: String
  var error: String?
  var severity: String
  var durationMs: Int
  var output: String
  var errorOutput: String

  init(_ request: OperationRequest, _ result: OperationResult) {
    action = request.action
    resource = request.resource
    rc = result.rc.rawValue
    rcName = result.rc.name
    switch result.status {
    case .done: status = "done"
    case .timedOut: status = "timedOut"
    case .notInstalled: status = "notInstalled"
    case .error(let message):
      status = "error"
      error = message
    }
    severity = "\(result.severity)"
    durationMs = result.durationMs
    output = result.output
    errorOutput = result.errorOutput
  }
}

struct FailureLine: Encodable {
  var event = "failure"
  var resource: String
  var unit: String
  var kind: String
  var activeState: String
  var subState: String
  var detectedAt: Double
}

struct InfoLine: Encodable {
  var event: String
  var pid: Int32?
  var connections: Int?
  var watched: [String: String]?
}

func emit(_ value: some Encodable) {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  guard let data = try? encoder.encode(value) else { return }
  FileHandle.standardOutput.write(data + Data("\n".utf8))
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("executor-probe: \(message)\n\(usage)\n".utf8))
  exit(2)
}

/// `--name value` options and positional arguments.
struct Arguments {
  var positional: [String] = []
  var options: [String: String] = [:]

  init(_ arguments: ArraySlice<String>) {
    var rest = arguments
    while let argument = rest.popFirst() {
      if argument.hasPrefix("--") {
        guard let value = rest.popFirst() else { fail("\(argument) needs a value") }
        options[String(argument.dropFirst(2))] = value
      } else {
        positional.append(argument)
      }
    }
  }

  func int(_ name: String, default value: Int) -> Int {
    guard let text = options[name] else { return value }
    guard let number = Int(text) else { fail("--\(name) expects milliseconds, got \(text)") }
    return number
  }
}

func systemd(_ arguments: Arguments) async {
  guard arguments.positional.count >= 2 else { fail("systemd needs an action and a unit") }
  let (action, unit) = (arguments.positional[0], arguments.positional[1])
  let runner: SystemdRunner
  do {
    runner = try SystemdRunner(busAddress: ProcessInfo.processInfo.environment["EXECUTOR_PROBE_BUS"])
  } catch {
    fail("\(error)")
  }
  defer { runner.shutdown() }
  func request(_ action: String, interval: Int = arguments.int("interval", default: 0)) -> OperationRequest {
    OperationRequest(
      resource: arguments.options["resource"] ?? unit, agent: AgentSpec(standard: .systemd, type: unit),
      action: action, intervalMs: interval, timeoutMs: arguments.int("timeout", default: 20_000))
  }
  switch action {
  case "watch":
    guard arguments.positional.count == 3, let seconds = Double(arguments.positional[2]) else {
      fail("watch needs UNIT SECONDS")
    }
    let monitor = request("monitor", interval: 10_000)
    let result = await runner.run(monitor)
    emit(ResultLine(monitor, result))
    emit(InfoLine(event: "watching", pid: getpid(), watched: await runner.watchedUnits()))
    let printer = Task {
      for await failure in runner.failures {
        emit(
          FailureLine(
            resource: failure.resource, unit: failure.unit, kind: failure.kind.rawValue,
            activeState: failure.activeState, subState: failure.subState,
            detectedAt: failure.detectedAt.timeIntervalSince1970))
      }
    }
    try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
    emit(
      InfoLine(
        event: "summary", connections: await runner.connectionCount(), watched: await runner.watchedUnits()))
    printer.cancel()
  case "concurrent":
    var startRequest = request("start")
    startRequest.timeoutMs = arguments.int("start-timeout", default: startRequest.timeoutMs)
    async let started = runner.run(startRequest)
    try? await Task.sleep(for: .milliseconds(arguments.int("delay", default: 0)))
    async let stopped = runner.run(request("stop"))
    let (start, stop) = await (started, stopped)
    emit(ResultLine(startRequest, start))
    emit(ResultLine(request("stop"), stop))
    let monitor = request("monitor")
    emit(ResultLine(monitor, await runner.run(monitor)))
  case "start", "stop", "monitor", "meta-data", "validate-all", "status":
    let single = request(action)
    emit(ResultLine(single, await runner.run(single)))
  default:
    fail("unknown systemd action \(action)")
  }
}

func ocf(_ arguments: Arguments) async {
  guard arguments.positional.count >= 2, let agent = AgentSpec(parsing: "ocf:" + arguments.positional[0])
  else {
    fail("ocf needs PROVIDER:TYPE ACTION")
  }
  var attributes: [Attribute] = []
  for pair in arguments.positional.dropFirst(2) {
    guard let equals = pair.firstIndex(of: "=") else { fail("expected NAME=VALUE, got \(pair)") }
    attributes.append(Attribute(String(pair[..<equals]), String(pair[pair.index(after: equals)...])))
  }
  let runner = OCFRunner(root: arguments.options["root"] ?? OCFRunner.defaultRoot)
  let request = OperationRequest(
    resource: arguments.options["resource"] ?? agent.type, agent: agent, attributes: attributes,
    action: arguments.positional[1], intervalMs: arguments.int("interval", default: 0),
    timeoutMs: arguments.int("timeout", default: 20_000))
  emit(ResultLine(request, await Executor(ocf: runner).run(request)))
}

let all = CommandLine.arguments
guard all.count >= 2 else { fail("missing command") }
switch all[1] {
case "systemd": await systemd(Arguments(all.dropFirst(2)))
case "ocf": await ocf(Arguments(all.dropFirst(2)))
default: fail("unknown command \(all[1])")
}
