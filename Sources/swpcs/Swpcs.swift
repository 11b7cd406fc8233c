import ArgumentParser
import ControlClient
import ControlProtocol
import Foundation

/// `swpcs`: the pcs-style command line of the cluster.
struct Swpcs: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "swpcs",
    abstract: "Manage a swpcs high-availability cluster (pcs-style commands).",
    discussion: """
      Every command talks to the local daemons over /run/swpcs/swpcs.sock (swpacemakerd) and \
      /run/swpcs/swcorosync.sock (swcorosync); SWPCS_SOCKET and SWPCS_COROSYNC_SOCKET override them.

      -f FILE (before or after the command) runs a configuration command against FILE (JSON, as \
      written by: swpcs config backup FILE) instead of the live cluster, as pcs -f does; \
      push the result with: swpcs config restore FILE.

      Exit status: 0 success; 1 invalid input or refused change; 2 not quorate (quorum status) or \
      timed out (status wait); 3 a daemon is not running on this node; 4 permission denied; \
      5 this partition has no quorum or no DC, so the change was refused; 64 command-line usage error.
      """,
    version: swpcsVersion,
    subcommands: [
      Status.self, Cluster.self, Resource.self, Constraint.self, Node.self, Property.self, Quorum.self,
      Config.self, Stonith.self, Simulate.self, Metrics.self,
    ])

  /// Takes pcs's global `-f FILE` out of the arguments, then parses; usage errors are one line.
  static func main() {
    var arguments = Array(CommandLine.arguments.dropFirst())
    if let index = arguments.firstIndex(where: { $0 == "-f" || $0.hasPrefix("-f=") }) {
      if arguments[index] == "-f" {
        guard index + 1 < arguments.count else { fail("-f needs a FILE", code: ExitStatus.usage) }
        setenv(offlineConfigVariable, arguments[index + 1], 1)
        arguments.removeSubrange(index...(index + 1))
      } else {
        setenv(offlineConfigVariable, String(arguments[index].dropFirst(3)), 1)
        arguments.remove(at: index)
      }
    }
    do {
      var command = try parseAsRoot(arguments)
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .validationFailure {
        let message =
          self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
        fail(
          "\(message) (see: swpcs \(arguments.prefix(2).joined(separator: " ")) --help)",
          code: ExitStatus.usage)
      }
      exit(withError: error)
    }
  }
}

let swpcsVersion = "0.1.0"

/// Exit codes of every swpcs command (documented in swpcs(8) and the root --help).
enum ExitStatus {
  static let error: Int32 = 1
  static let notQuorate: Int32 = 2
  static let timedOut: Int32 = 2
  /// The daemon is not running on this node.
  static let notRunning: Int32 = 3
  static let permissionDenied: Int32 = 4
  /// No quorum / no DC: a configuration change was refused.
  static let noQuorum: Int32 = 5
  static let usage: Int32 = 64
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case text
  case json
}

struct GlobalOptions: ParsableArguments {
  @Option(help: "Output format: text or json.") var output: OutputFormat = .text
  @Option(help: .hidden) var corosyncSocket = corosyncSocketPathInUse
}

func fail(_ message: String, code: Int32 = ExitStatus.error) -> Never {
  FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
  exit(code)
}

func clientFailure(_ error: UnixSocketClient.ClientError, daemon: String, unit: String) -> Never {
  switch error {
  case .notRunning:
    fail(
      "\(daemon) is not running on this node — start it with: systemctl start \(unit)",
      code: ExitStatus.notRunning)
  case .permissionDenied:
    fail(
      "permission denied talking to \(daemon): run as root or as a member of group haclient "
        + "(usermod -aG haclient USER)", code: ExitStatus.permissionDenied)
  default: fail("\(daemon): \(error.description)")
  }
}

/// Talks to swcorosync; turns every client error into one actionable line.
func corosyncRequest(_ request: CorosyncRequest, socket: String) -> CorosyncResponse {
  do {
    let client = try UnixSocketClient(path: socket)
    let response = try client.request(request, as: CorosyncResponse.self)
    if !response.ok {
      let message = response.error ?? "swcorosync refused the request"
      fail(message, code: message.contains("permission") ? ExitStatus.permissionDenied : ExitStatus.error)
    }
    return response
  } catch {
    clientFailure(error, daemon: "swcorosync", unit: "swcorosync")
  }
}

func printJSON<T: Encodable>(_ value: T) {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
