import ResourceModel

/// Reads name/value blocks (`meta_attributes`, `instance_attributes`, `cluster_property_set`,
/// `utilization`) the way Pacemaker merges them: blocks in descending `score` (document order on
/// ties, an optional "first" block before all), and the first value seen for a name wins.
/// `id-ref` on a block or an nvpair points to another element with that id.
struct NVPairBlocks {
  let elementsByID: [String: XElement]

  /// The merged pairs, in the order names were first seen. Blocks guarded by a `<rule>` are not
  /// evaluated (the model has no per-node or dated attributes): they are skipped and reported.
  func read(
    _ blocks: [XElement], firstID: String? = nil, ruleAffectsScheduling: Bool = true,
    unsupported: inout [UnsupportedItem]
  ) -> [(name: String, value: String)] {
    var resolved: [(block: XElement, score: Score, index: Int)] = []
    for (index, block) in blocks.enumerated() {
      var target = block
      if let ref = block["id-ref"] {
        guard let found = elementsByID[ref] else {
          unsupported.append(
            UnsupportedItem(
              element: block.name, id: ref, reason: "id-ref points to no element; block ignored"))
          continue
        }
        target = found
      }
      if target.child("rule") != nil {
        unsupported.append(
          UnsupportedItem(
            element: target.name, id: target.id,
            reason: "rule-guarded attribute block (per-node or dated values) is not evaluated; block ignored",
            affectsScheduling: ruleAffectsScheduling))
        continue
      }
      let score = target["score"].flatMap(PacemakerValues.score) ?? .zero
      resolved.append((target, score, index))
    }
    resolved.sort { a, b in
      let aFirst = firstID != nil && a.block.id == firstID
      let bFirst = firstID != nil && b.block.id == firstID
      if aFirst != bFirst { return aFirst }
      if a.score != b.score { return a.score > b.score }
      return a.index < b.index
    }
    var seen: Set<String> = []
    var result: [(name: String, value: String)] = []
    for entry in resolved {
      for pair in entry.block.children("nvpair") {
        var source = pair
        if let ref = pair["id-ref"] {
          guard let found = elementsByID[ref], found.name == "nvpair" else {
            unsupported.append(
              UnsupportedItem(element: "nvpair", id: ref, reason: "id-ref points to no nvpair; ignored"))
            continue
          }
          source = found
        }
        guard let name = pair["name"] ?? source["name"], let value = source["value"] else { continue }
        if seen.insert(name).inserted { result.append((name, value)) }
      }
    }
    return result
  }

  /// `read` as a dictionary.
  func dictionary(
    _ blocks: [XElement], firstID: String? = nil, ruleAffectsScheduling: Bool = true,
    unsupported: inout [UnsupportedItem]
  ) -> [String: String] {
    let pairs = read(
      blocks, firstID: firstID, ruleAffectsScheduling: ruleAffectsScheduling, unsupported: &unsupported)
    return Dictionary(pairs.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
  }
}
