import ArgumentParser
import ClusterConfig
import FileSystem
import Foundation
import Logging
import MembershipDaemon
import SystemdIntegration
import Wire

/// `swcorosync`: the membership and quorum daemon of swpcs.
public struct Swcorosync: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "swcorosync",
    abstract: "swpcs membership and quorum daemon (authenticated UDP heartbeats, agreed views, votequorum).",
    subcommands: [Run.self, Keygen.self, CheckConfig.self],
    defaultSubcommand: Run.self)
}

struct PathOptions: ParsableArguments {
  @Option(help: "Cluster configuration file.") var config = "/etc/swpcs/cluster.conf"
  @Option(help: "Authentication key file.") var key = "/etc/swpcs/authkey"
}

extension Swcorosync {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (the default).")
    @OptionGroup var paths: PathOptions
    @Option(help: "This node's name in the configuration (default: the host name, then local addresses).")
    var node: String?
    @Option(help: "Directory of the control socket.") var runDir = "/run/swpcs"
    @Option(help: "Directory of persistent state.") var stateDir = "/var/lib/swpcs"
    @Flag(help: "Do not raise scheduling priority or lock memory (for unprivileged tests).") var noRealtime =
      false

    func run() throws {
      let daemonPaths = DaemonPaths(
        config: paths.config, authKey: paths.key, runDirectory: runDir, stateDirectory: stateDir)
      let startup: DaemonStartup
      do {
        startup = try DaemonStartup.load(paths: daemonPaths, nodeName: node)
      } catch {
        fail(error.description)
      }
      DaemonLogging.bootstrap(debug: startup.config.debug)
      // Before any thread exists, so every thread inherits the priority.
      if !noRealtime {
        let priority = ProcessPriority.raise()
        let memory = ProcessPriority.lockMemory()
        Logger(label: "swcorosync").info("\(priority); \(memory)")
      }
      try? FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
      try? FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
      do {
        let daemon = try CorosyncDaemon(startup: startup, paths: daemonPaths)
        try daemon.run()
      } catch {
        fail(error.description)
      }
    }
  }

  struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a new random authentication key (mode 0400). Copy it to every node.")
    @Option(help: "Key file to write.") var file = "/etc/swpcs/authkey"
    @Flag(help: "Replace an existing key.") var force = false
    @Option(help: "Key length in bytes (32...4096).") var bytes = 256

    func run() throws {
      guard AuthKey.allowedByteCounts.contains(bytes) else { fail("--bytes must be between 32 and 4096") }
      if FileManager.default.fileExists(atPath: file) && !force {
        fail("\(file) already exists; use --force to replace it (every node then needs the new key)")
      }
      let directory = (file as NSString).deletingLastPathComponent
      try? FileManager.default.createDirectory(
        atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
      do {
        try AtomicFile.write(AuthKey.generate(byteCount: bytes), to: file, mode: 0o400)
      } catch {
        fail(error.description)
      }
      print("wrote \(bytes)-byte key to \(file) (mode 0400)")
    }
  }

  struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "check-config",
      abstract: "Validate the configuration and key; exit 1 with the first problem.")
    @OptionGroup var paths: PathOptions
    @Option(help: "Also check that this node is identifiable.") var node: String?

    func run() throws {
      do {
        let config = try DaemonStartup.loadConfiguration(path: paths.config)
        _ = try DaemonStartup.loadAuthKey(path: paths.key)
        let local = try DaemonStartup.identifyLocalNode(config, requested: node)
        print(
          "\(paths.config): valid; cluster \(config.clusterName), \(config.nodes.count) nodes, this node \(local.name) (id \(local.id))"
        )
      } catch {
        fail(error.description)
      }
    }
  }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("swcorosync: \(message)\n".utf8))
  exit(1)
}
