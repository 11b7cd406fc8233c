import ArgumentParser
import ControlClient
import ControlProtocol
import Foundation

/// `swpcs`: the pcs-style command line of the cluster.
@main
struct Swpcs: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "swpcs",
    abstract: "Manage a swpcs high-availability cluster (pcs-style commands).",
    version: swpcsVersion,
    subcommands: [Status.self, Resource.self, Node.self, Property.self, Constraint.self, Quorum.self])
}

let swpcsVersion = "0.1.0"

/// Exit codes every command shares (documented in swpcs(8)).
enum ExitCode32: Int32 {
  case ok = 0
  case error = 1
  case notQuorate = 2
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case text
  case json
}

struct GlobalOptions: ParsableArguments {
  @Option(help: "Output format: text or json.") var output: OutputFormat = .text
  @Option(help: .hidden) var corosyncSocket =
    ProcessInfo.processInfo.environment["SWPCS_COROSYNC_SOCKET"]
    ?? corosyncSocketPath
}

func fail(_ message: String, code: Int32 = 1) -> Never {
  FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
  exit(code)
}

/// Talks to swcorosync; turns every client error into one actionable line.
func corosyncRequest(_ request: CorosyncRequest, socket: String) -> CorosyncResponse {
  do {
    let client = try UnixSocketClient(path: socket)
    let response = try client.request(request, as: CorosyncResponse.self)
    if !response.ok { fail(response.error ?? "swcorosync refused the request") }
    return response
  } catch .notRunning {
    fail("swcorosync is not running on this node — start it with: systemctl start swcorosync")
  } catch {
    fail(error.description)
  }
}

func printJSON<T: Encodable>(_ value: T) {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
