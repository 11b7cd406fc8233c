import ClusterTypes

/// The symmetric "can talk to each other" graph built from connectivity rows, and the one
/// deterministic way to cut it into views.
///
/// Every node that holds the same rows computes the same partition, so a coordinator's proposal
/// matches what its members computed themselves. A view only ever contains nodes that all hear
/// each other (a clique of the graph).
public struct ConnectivityGraph: Sendable, Equatable {
  /// node -> nodes it has a two-way edge with.
  public private(set) var adjacency: [NodeId: Set<NodeId>]

  /// `rows`: node -> the peers it heard (only fresh rows; a node without a row is absent).
  /// An edge a–b exists when a heard b and b heard a.
  public init(rows: [NodeId: Set<NodeId>]) {
    var adjacency: [NodeId: Set<NodeId>] = [:]
    for (a, heardByA) in rows {
      var neighbours = Set<NodeId>()
      for b in heardByA where b != a {
        if rows[b]?.contains(a) == true { neighbours.insert(b) }
      }
      adjacency[a] = neighbours
    }
    self.adjacency = adjacency
  }

  public var nodes: [NodeId] { adjacency.keys.sorted() }

  /// Cuts the graph into cliques: repeatedly take the largest clique of the remaining nodes (ties:
  /// the lexicographically smallest sorted id list) and remove it.
  public func partition() -> [[NodeId]] {
    var remaining = Set(adjacency.keys)
    var blocks: [[NodeId]] = []
    while !remaining.isEmpty {
      let block = maximumClique(within: remaining)
      blocks.append(block)
      remaining.subtract(block)
    }
    return blocks
  }

  /// The partition block containing `node` (just `[node]` if it has no row).
  public func block(containing node: NodeId) -> [NodeId] {
    partition().first { $0.contains(node) } ?? [node]
  }

  /// Largest clique inside `candidates`, ties broken towards the smallest sorted id list.
  /// Branch and bound over sorted candidates; clusters are small (≤ a few dozen nodes).
  func maximumClique(within candidates: Set<NodeId>) -> [NodeId] {
    let order = candidates.sorted()
    var best: [NodeId] = []
    var current: [NodeId] = []

    func better(_ a: [NodeId], than b: [NodeId]) -> Bool {
      if a.count != b.count { return a.count > b.count }
      return a.lexicographicallyPrecedes(b)
    }

    func extend(_ pool: [NodeId]) {
      if pool.isEmpty {
        if better(current, than: best) { best = current }
        return
      }
      // Even taking all of the pool cannot beat the best: prune.
      if current.count + pool.count < best.count { return }
      for (i, v) in pool.enumerated() {
        if current.count + (pool.count - i) < best.count { return }
        let neighbours = adjacency[v] ?? []
        current.append(v)
        extend(pool[(i + 1)...].filter { neighbours.contains($0) })
        current.removeLast()
      }
    }
    extend(order)
    return best
  }
}
