import ResourceModel
import Synchronization

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
/// Arrival order is the order of `submit` calls, which queue synchronously: the daemon submits from
/// its event loop in the order the controller's directives came, so a start and the stop a new DC
/// sends right after it run in that order, however the tasks behind them are scheduled.
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
    await withCheckedContinuation { continuation in
      submit(request) { continuation.resume(returning: $0) }
    }
  }

  /// Queues `request` behind the earlier actions of its resource before returning, and calls
  /// `completion` with the result before the resource's next action starts: what one thread submits
  /// runs, and is reported, in the order it was submitted.
  public func submit(
    _ request: OperationRequest, completion: @escaping @Sendable (OperationResult) -> Void
  ) {
    guard let runner = runners[request.agent.standard] else {
      let why =
        request.agent.standard == .stonith
        ? "fencing devices are run by the fencer, not the executor"
        : "no runner for \(request.agent.standard.rawValue) resources on this node"
      completion(OperationResult(rc: .unimplemented, status: .error(why)))
      return
    }
    if request.action == "meta-data" {
      Task { completion(await runner.run(request)) }
      return
    }
    queue.enqueue(request.resource) { completion(await runner.run(request)) }
  }
}

/// One FIFO of operations per key (resource, unit): each runs after the previous one with the same
/// key has finished; different keys do not wait for each other. `enqueue` is synchronous, so the
/// order of calls is the order of execution (an `async` entry point would let two calls made in a
/// row reach the queue in either order).
final class OperationQueue: Sendable {
  private struct Tail {
    var id: UInt64
    var task: Task<Void, Never>
  }
  private let state = Mutex<(next: UInt64, tails: [String: Tail])>((0, [:]))

  func enqueue(_ key: String, _ body: @escaping @Sendable () async -> Void) {
    state.withLock { state in
      state.next += 1
      let id = state.next
      let previous = state.tails[key]?.task
      let task = Task {
        await previous?.value
        await body()
        self.finished(key, id)
      }
      state.tails[key] = Tail(id: id, task: task)
    }
  }

  func run(_ key: String, _ body: @escaping @Sendable () async -> OperationResult) async -> OperationResult {
    await withCheckedContinuation { continuation in
      enqueue(key) { continuation.resume(returning: await body()) }
    }
  }

  private func finished(_ key: String, _ id: UInt64) {
    state.withLock { state in
      if state.tails[key]?.id == id { state.tails[key] = nil }
    }
  }
}
