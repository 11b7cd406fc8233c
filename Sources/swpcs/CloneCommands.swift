import ArgumentParser
import ResourceManager
import ResourceModel

/// The clone clause of `resource create … clone|promotable [CLONE_ID] [meta] NAME=VALUE...`, and of
/// `resource clone|promotable ID [CLONE_ID] [meta NAME=VALUE...]`.
struct CloneClause {
  var id: String?
  var promotable: Bool
  var meta: [String: String]

  /// Reads `[CLONE_ID] [meta] NAME=VALUE...` (pcs also accepts the options without `meta`).
  init(promotable: Bool, words: [String], context: String) {
    self.promotable = promotable
    var rest = words[...]
    if let first = rest.first, first != "meta", !first.contains("=") {
      id = first
      rest = rest.dropFirst()
    }
    if rest.first == "meta" { rest = rest.dropFirst() }
    var meta: [String: String] = [:]
    for word in rest {
      guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
        fail("\(context): expected NAME=VALUE after 'meta', got '\(word)'")
      }
      meta[String(word[..<eq])] = String(word[word.index(after: eq)...])
    }
    self.meta = meta
  }
}

/// Splits `resource create`'s words at a bare `clone` or `promotable` word (not an operation name).
func splitCloneClause(_ words: [String], resourceId: String) -> ([String], CloneClause?) {
  for (index, word) in words.enumerated() where word == "clone" || word == "promotable" {
    if index > 0 && words[index - 1] == "op" { continue }
    let clause = CloneClause(
      promotable: word == "promotable", words: Array(words[(index + 1)...]), context: "resource create")
    return (Array(words[..<index]), clause)
  }
  return (words, nil)
}

extension Swpcs.Resource {
  struct CloneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "clone",
      abstract:
        "Clone a resource or group: ID [CLONE_ID] [meta clone-max=N clone-node-max=N interleave=B ...]")
    @Argument var id: String
    @Argument(parsing: .allUnrecognized) var rest: [String] = []
    func run() throws { cloneResource(id: id, words: rest, promotable: false, what: "resource clone") }
  }

  struct PromotableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "promotable",
      abstract: "Make a promotable clone of a resource or group: ID [CLONE_ID] [meta promoted-max=N ...]")
    @Argument var id: String
    @Argument(parsing: .allUnrecognized) var rest: [String] = []
    func run() throws { cloneResource(id: id, words: rest, promotable: true, what: "resource promotable") }
  }

  struct Unclone: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Remove a clone, keeping its resource or group: CLONE_ID or the cloned resource's id.")
    @Argument var id: String
    func run() throws {
      editConfiguration("resource unclone") { config, _ throws(ConfigEditError) in
        try ConfigEdits.uncloneResource(&config, id: id)
      }
    }
  }
}

private func cloneResource(id: String, words: [String], promotable: Bool, what: String) {
  let clause = CloneClause(promotable: promotable, words: words, context: what)
  editConfiguration(what) { config, _ throws(ConfigEditError) in
    try ConfigEdits.cloneResource(
      &config, id: id, cloneId: clause.id, promotable: clause.promotable, meta: clause.meta)
  }
}
