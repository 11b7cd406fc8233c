import ResourceModel
import Scheduler

/// What a node does when it is left behind: members of its view moved on to a newer view without it
/// and the members left here have no quorum (swcorosync's `quorum` event with `movedOn`). Its DC may
/// be among those that moved on, and if the view's sequencer is, no group message of the rest is
/// ever ordered again in this view — so no DC can stop anything here until the next view, which
/// under loss can take seconds while the quorate side already recovers this node's resources.
///
/// Pacemaker's answer is a partition of its own, whose DC applies no-quorum-policy. Each node left
/// behind does that for itself: it plans with only itself online and without quorum, and runs the
/// resulting stops and demotes (in the plan's order) through its executor directly. Results are
/// broadcast as usual; they are ordered in the next view, and the node's hello already includes
/// them. `freeze` and `ignore` leave everything running; `fence`/`suicide` stop, as the node cannot
/// fence itself from here.
struct LocalRun: Sendable {
  var requests: [ActionRequest]
  /// For each request, the requests that must finish first (the plan's orderings, through actions
  /// this node does not run).
  var predecessors: [Set<Int>]
  var dispatched: Set<Int> = []
  var completed: Set<Int> = []
}

extension ControllerInstance {
  /// The transition number of actions a node left behind runs on its own.
  static let aloneTransition = -2

  /// Members moved on without this node and the rest has no quorum: stop what no-quorum-policy
  /// says, here, without a DC.
  mutating func actAlone(now: Int64) -> [ControllerDirective] {
    let names = movedOn.sorted().joined(separator: ", ")
    let policy = (config.properties["no-quorum-policy"] ?? "stop").lowercased()
    guard policy != "ignore", policy != "freeze" else {
      return [
        .log(
          level: .warning,
          "members \(names) moved on without this node; no quorum here, no-quorum-policy=\(policy): resources stay"
        )
      ]
    }
    var alone = state
    alone.quorate = false
    alone.now = now / 1000
    for index in alone.nodes.indices where alone.nodes[index].name != me {
      alone.nodes[index].membership = .offline
      alone.nodes[index].pending = false
    }
    for resource in Array(alone.resources.keys) {
      alone.resources[resource] = alone.resources[resource]?.filter { $0.key == me }
    }
    var plan = config
    plan.properties["no-quorum-policy"] = policy == "demote" ? "demote" : "stop"
    schedulerRuns += 1
    let transition = Scheduler.schedule(plan, alone)
    let kept = transition.actions.indices.filter { index in
      let action = transition.actions[index]
      return action.node == me && (action.kind == .stop || action.kind == .demote)
    }
    var requests: [ActionRequest] = []
    var position: [Int: Int] = [:]
    for index in kept {
      guard let spec = actionSpec(for: transition.actions[index]) else { continue }
      position[index] = requests.count
      requests.append(
        ActionRequest(transition: Self.aloneTransition, index: requests.count, node: me, spec: spec))
    }
    var before: [Int: [Int]] = [:]
    for ordering in transition.orderings { before[ordering.after, default: []].append(ordering.before) }
    var predecessors = Array(repeating: Set<Int>(), count: requests.count)
    for (actionIndex, requestIndex) in position.sorted(by: { $0.key < $1.key }) {
      // Every kept action reachable backwards through the orderings.
      var seen: Set<Int> = [actionIndex]
      var stack = before[actionIndex] ?? []
      while let next = stack.popLast() {
        guard seen.insert(next).inserted else { continue }
        if let p = position[next] { predecessors[requestIndex].insert(p) }
        stack += before[next] ?? []
      }
    }
    var out: [ControllerDirective] = [
      .log(
        level: .warning,
        "members \(names) moved on without this node and the rest has no quorum: no-quorum-policy=\(policy) applied here (\(requests.count) action(s))"
      )
    ]
    guard !requests.isEmpty else { return out }
    localRun = LocalRun(requests: requests, predecessors: predecessors)
    out += dispatchAlone()
    return out
  }

  /// Runs every action of the local run whose predecessors have finished.
  mutating func dispatchAlone() -> [ControllerDirective] {
    guard var run = localRun else { return [] }
    var out: [ControllerDirective] = []
    for index in run.requests.indices
    where !run.dispatched.contains(index) && run.predecessors[index].isSubset(of: run.completed) {
      run.dispatched.insert(index)
      let request = run.requests[index]
      out.append(
        .log(level: .notice, "\(request.spec.resource) \(request.spec.key) on \(me) (no quorum, no DC)"))
      out.append(.execute(request))
    }
    localRun = run
    return out
  }

  /// A local-run action finished.
  mutating func completedAlone(_ request: ActionRequest) -> [ControllerDirective] {
    guard request.transition == Self.aloneTransition, var run = localRun,
      run.requests.indices.contains(request.index), run.requests[request.index] == request
    else { return [] }
    run.completed.insert(request.index)
    localRun = run
    return dispatchAlone()
  }
}
