import ArgumentParser
import ClusterConfig
import ControlProtocol
import Foundation

extension Swpcs {
  struct Quorum: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "quorum",
      abstract: "Show and change quorum (votequorum semantics).",
      subcommands: [Status.self, Config.self, Update.self, ExpectedVotes.self, Unblock.self],
      defaultSubcommand: Status.self)
  }
}

extension Swpcs.Quorum {
  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "status",
      abstract:
        "Quorum and membership, as corosync-quorumtool -s shows them. Exit 0 quorate, 2 not quorate, 1 error."
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let response = corosyncRequest(CorosyncRequest(op: .status), socket: global.corosyncSocket)
      guard let status = response.status else { fail("swcorosync sent no status") }
      switch global.output {
      case .json: printJSON(status)
      case .text: print(QuorumStatusText.render(status, date: Date()), terminator: "")
      }
      throw ExitCode(status.quorum.quorate ? 0 : 2)
    }
  }

  struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "config", abstract: "The [quorum] options of cluster.conf.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let options = QuorumSection.options(ClusterFiles.load().rendered())
      switch global.output {
      case .json: printJSON(Dictionary(options, uniquingKeysWith: { $1 }))
      case .text:
        print("Options:")
        if options.isEmpty { print("  (none)") }
        for (k, v) in options { print("  \(k): \(v)") }
      }
    }
  }

  struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "update",
      abstract: "Change [quorum] options in this node's cluster.conf: NAME=VALUE... (empty value removes).",
      discussion: "Copy the file to every node and restart swcorosync to apply; --force while it runs.")
    @Argument(
      help: "two_node, wait_for_all, last_man_standing, last_man_standing_window, auto_tie_breaker, ...")
    var pairs: [String]
    @Flag(help: "Change the file while swcorosync runs on this node.") var force = false
    func run() throws {
      let values = parsePairs(pairs, context: "quorum update")
      for (k, _) in values where !QuorumSection.keys.contains(k) {
        fail("unknown quorum option '\(k)'; known: \(QuorumSection.keys.joined(separator: ", "))")
      }
      let text = QuorumSection.update(ClusterFiles.load().rendered(), values)
      let configuration: ClusterConfig.ClusterConfiguration
      do { configuration = try ClusterConfiguration.parse(text) } catch { fail(error.description) }
      if !force, corosyncStatusIfRunning() != nil {
        fail(
          "swcorosync is running on this node: stop the cluster first, or use --force and restart it after")
      }
      ClusterFiles.write(conf: configuration, key: nil)
      print("Updated \(ClusterFiles.conf); copy it to every node and restart swcorosync to apply")
    }
  }

  struct ExpectedVotes: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "expected-votes",
      abstract: "Set expected votes in the live cluster (not saved to cluster.conf).")
    @Argument(help: "New expected votes.") var votes: Int
    @OptionGroup var global: GlobalOptions
    func run() throws {
      guard votes >= 1 else { fail("expected votes must be at least 1") }
      let response = corosyncRequest(
        CorosyncRequest(op: .setExpectedVotes, votes: votes), socket: global.corosyncSocket)
      if let status = response.status { print(QuorumStatusText.render(status, date: Date()), terminator: "") }
    }
  }

  struct Unblock: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "unblock",
      abstract: "Cancel waiting for all nodes (wait_for_all) — only when the missing nodes are surely down.")
    @Flag(help: "Do not ask for confirmation.") var force = false
    @OptionGroup var global: GlobalOptions
    func run() throws {
      if !force {
        fail("unblocking quorum may cause split brain if the missing nodes are running; rerun with --force")
      }
      let response = corosyncRequest(CorosyncRequest(op: .unblockQuorum), socket: global.corosyncSocket)
      if let status = response.status { print(QuorumStatusText.render(status, date: Date()), terminator: "") }
    }
  }
}

/// The text layout of `swpcs quorum status`, modelled on corosync-quorumtool -s.
enum QuorumStatusText {
  static func render(_ s: CorosyncStatus, date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "EEE MMM d HH:mm:ss yyyy"
    var out = ""
    func line(_ label: String, _ value: String) {
      out += label.padding(toLength: 18, withPad: " ", startingAt: 0) + value + "\n"
    }
    out += "Quorum information\n------------------\n"
    line("Date:", formatter.string(from: date))
    line("Quorum provider:", "swcorosync_votequorum")
    line("Nodes:", String(s.members.count))
    line("Node ID:", String(s.nodeId))
    line("Ring ID:", s.viewId + (s.changingView ? " (changing)" : ""))
    line("Quorate:", s.quorum.quorate ? "Yes" : "No")
    out += "\nVotequorum information\n----------------------\n"
    line("Expected votes:", String(s.quorum.expectedVotes))
    line("Highest expected:", String(s.quorum.highestExpected))
    line("Total votes:", String(s.quorum.totalVotes))
    line("Quorum:", String(s.quorum.quorum) + (s.quorum.quorate ? "" : " Activity blocked"))
    line("Flags:", s.quorum.flags.joined(separator: " "))
    out += "\nMembership information\n----------------------\n"
    out += "    Nodeid      Votes Name             Links\n"
    for node in s.nodes {
      guard node.member || node.state != "member" else { continue }
      let nodeId = String(node.id).leftPadded(to: 10)
      let votes = String(node.votes).leftPadded(to: 10)
      var name = node.name + (node.id == s.nodeId ? " (local)" : "")
      if !node.member { name += " [\(node.state)]" }
      let links = node.links.map { "\($0.link):\($0.up ? "up" : "DOWN")" }.joined(separator: " ")
      out += "\(nodeId) \(votes) \(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(links)\n"
    }
    return out
  }
}

extension String {
  func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}

/// The `[quorum]` section of cluster.conf text.
enum QuorumSection {
  static let keys = [
    "expected_votes", "two_node", "wait_for_all", "last_man_standing", "last_man_standing_window",
    "auto_tie_breaker", "auto_tie_breaker_node",
  ]

  static func options(_ text: String) -> [(String, String)] {
    var inQuorum = false
    var out: [(String, String)] = []
    for line in text.split(separator: "\n") {
      let t = line.trimmingCharacters(in: .whitespaces)
      if t.hasPrefix("[") {
        inQuorum = t == "[quorum]"
      } else if inQuorum, let eq = t.firstIndex(of: "=") {
        out.append(
          (
            t[..<eq].trimmingCharacters(in: .whitespaces),
            t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
          ))
      }
    }
    return out
  }

  static func update(_ text: String, _ values: [(String, String)]) -> String {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if !lines.contains("[quorum]") {
      lines.insert(
        contentsOf: ["[quorum]", ""], at: lines.firstIndex { $0.hasPrefix("[node") } ?? lines.count)
    }
    for (key, value) in values {
      guard let header = lines.firstIndex(of: "[quorum]") else { continue }
      let end = lines[(header + 1)...].firstIndex { $0.hasPrefix("[") } ?? lines.count
      let existing = lines[(header + 1)..<end].firstIndex {
        $0.split(separator: "=").first?.trimmingCharacters(in: .whitespaces) == key
      }
      if let existing {
        if value.isEmpty { lines.remove(at: existing) } else { lines[existing] = "\(key) = \(value)" }
      } else if !value.isEmpty {
        lines.insert("\(key) = \(value)", at: header + 1)
      }
    }
    return lines.joined(separator: "\n")
  }
}
