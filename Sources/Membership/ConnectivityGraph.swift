import ClusterTypes

/// The symmetric "can talk to each other" graph built from connectivity rows, and the one
/// deterministic way to cut it into views.
///
/// Every node that holds the same rows computes the same partition, so a coordinator's proposal
/// matches what its members computed themselves. A view only ever contains nodes that all hear
/// each other (a clique of the graph).
public struct ConnectivityGraph: Sendable, Equatable {
  /// Nodes with a row, sorted; indices into it stand for the nodes below (sorted ids and sorted
  /// indices order the same way, so ties break identically).
  let ids: [NodeId]
  /// `edge[a * ids.count + b]`: a two-way edge between `ids[a]` and `ids[b]`. A flat matrix rather
  /// than sets: `candidate` builds this graph on every message a node receives.
  let edge: [Bool]

  /// `rows`: node -> the peers it heard (only fresh rows; a node without a row is absent).
  /// An edge a–b exists when a heard b and b heard a.
  public init(rows: [NodeId: Set<NodeId>]) {
    let ids = rows.keys.sorted()
    let n = ids.count
    var heard = [Bool](repeating: false, count: n * n)
    for (a, origin) in ids.enumerated() {
      for b in rows[origin]! where b != origin {
        if let j = Self.index(of: b, in: ids) { heard[a * n + j] = true }
      }
    }
    var edge = [Bool](repeating: false, count: n * n)
    for a in 0..<n {
      for b in 0..<n where heard[a * n + b] && heard[b * n + a] { edge[a * n + b] = true }
    }
    self.ids = ids
    self.edge = edge
  }

  static func index(of node: NodeId, in sorted: [NodeId]) -> Int? {
    var low = 0
    var high = sorted.count
    while low < high {
      let mid = (low + high) / 2
      if sorted[mid] < node { low = mid + 1 } else { high = mid }
    }
    return low < sorted.count && sorted[low] == node ? low : nil
  }

  /// node -> nodes it has a two-way edge with.
  public var adjacency: [NodeId: Set<NodeId>] {
    var out: [NodeId: Set<NodeId>] = [:]
    for (a, node) in ids.enumerated() {
      out[node] = Set(ids.indices.filter { edge[a * ids.count + $0] }.map { ids[$0] })
    }
    return out
  }

  public var nodes: [NodeId] { ids }

  /// Cuts the graph into cliques: repeatedly take the largest clique of the remaining nodes (ties:
  /// the lexicographically smallest sorted id list) and remove it.
  public func partition() -> [[NodeId]] {
    var remaining = [Bool](repeating: true, count: ids.count)
    var left = ids.count
    var blocks: [[NodeId]] = []
    while left > 0 {
      let block = maximumClique(within: remaining)
      blocks.append(block.map { ids[$0] })
      for i in block { remaining[i] = false }
      left -= block.count
    }
    return blocks
  }

  /// The partition block containing `node` (just `[node]` if it has no row).
  public func block(containing node: NodeId) -> [NodeId] {
    partition().first { $0.contains(node) } ?? [node]
  }

  /// Largest clique among the indices marked in `candidates`, ties broken towards the smallest
  /// sorted list. Branch and bound over sorted candidates; clusters are small (≤ a few dozen nodes).
  func maximumClique(within candidates: [Bool]) -> [Int] {
    let n = ids.count
    let order = (0..<n).filter { candidates[$0] }
    var best: [Int] = []
    var current: [Int] = []

    func better(_ a: [Int], than b: [Int]) -> Bool {
      if a.count != b.count { return a.count > b.count }
      return a.lexicographicallyPrecedes(b)
    }

    func extend(_ pool: [Int]) {
      if pool.isEmpty {
        if better(current, than: best) { best = current }
        return
      }
      // Even taking all of the pool cannot beat the best: prune.
      if current.count + pool.count < best.count { return }
      for (i, v) in pool.enumerated() {
        if current.count + (pool.count - i) < best.count { return }
        current.append(v)
        extend(pool[(i + 1)...].filter { edge[v * n + $0] })
        current.removeLast()
      }
    }
    extend(order)
    return best
  }
}
