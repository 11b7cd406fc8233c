import ResourceModel

/// Something that carries out resource actions of one agent standard on this node.
///
/// A runner never throws: whatever goes wrong (missing agent, timeout, lost bus) ends up in the
/// ``OperationResult``, because the controller must record an outcome for every action it started.
public protocol ResourceAgentRunner: Sendable {
  func run(_ request: OperationRequest) async -> OperationResult
}

/// The local executor (pacemaker-execd's job): routes each request to the runner of its agent's
/// standard and runs the actions of one resource one at a time, in arrival order, as pacemaker-execd
/// does — an agent never sees a stop overtaking the start it follows. Different resources run in
/// parallel; `meta-data` requests are not queued behind a resource.
///
/// `stonith:` resources (fencing devices) go to the ``FenceAgentRunner`` when one is given: start
/// registers the device after a successful `monitor`, as Pacemaker's executor does.
public final class Executor: Sendable {
  private let runners: [AgentSpec.Standard: any ResourceAgentRunner]
  private let queue = OperationQueue()

  /// `systemd` also serves `service:` resources (on a systemd host every service is a unit).
  public init(
    ocf: any ResourceAgentRunner = OCFRunner(), systemd: (any ResourceAgentRunner)? = nil,
    stonith: (any ResourceAgentRunner)? = nil
  ) {
    var runners: [AgentSpec.Standard: any ResourceAgentRunner] = [.ocf: ocf]
    if let stonith { runners[.stonith] = stonith }
    if let systemd {
      runners[.systemd] = systemd
      runners[.service] = systemd
    }
    self.runners = runners
  }

  public func run(_ request: OperationRequest) async -> OperationResult {
    guard let runner = runners[request.agent.standard] else {
      let why =
        request.agent.standard == .stonith
        ? "fencing devices are run by the fencer, not the executor"
        : "no runner for \(request.agent.standard.rawValue) resources on this node"
      return OperationResult(rc: .unimplemented, status: .error(why))
    }
    if request.action == "meta-data" { return await runner.run(request) }
    return await queue.run(request.resource) { await runner.run(request) }
  }
}

/// One FIFO of operations per key (resource, unit): each runs after the previous one with the same
/// key has finished; different keys do not wait for each other.
actor OperationQueue {
  private var tails: [String: Task<OperationResult, Never>] = [:]

  func run(
    _ key: String, _ body: @escaping @Sendable () async -> OperationResult
  ) async -> OperationResult {
    let previous = tails[key]
    let task = Task {
      _ = await previous?.value
      return await body()
    }
    tails[key] = task
    let result = await task.value
    if tails[key] == task { tails[key] = nil }
    return result
  }
}
