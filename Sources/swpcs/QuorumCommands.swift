import ArgumentParser
import ControlProtocol
import Foundation

extension Swpcs {
  struct Quorum: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show and change quorum (votequorum semantics).",
      subcommands: [Status.self, ExpectedVotes.self, Unblock.self])
  }
}

extension Swpcs.Quorum {
  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
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
