import ArgumentParser
import Foundation
import Logging
import ResourceManagerDaemon
import SystemdIntegration

/// `swpacemakerd`: the resource manager of swpcs.
public struct Swpacemakerd: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "swpacemakerd",
    abstract: "swpcs resource manager: replicated configuration, DC, scheduler, systemd and OCF execution.")

  @Option(help: "Cluster configuration file (node names and ids).") var config = "/etc/swpcs/cluster.conf"
  @Option(help: "This node's name (default: the host name).") var node: String?
  @Option(help: "swcorosync's control socket.") var corosyncSocket = "/run/swpcs/swcorosync.sock"
  @Option(help: "This daemon's control socket.") var socket = "/run/swpcs/swpcs.sock"
  @Option(help: "Directory of the stored configuration versions.") var stateDir = "/var/lib/swpcs/cib"
  @Flag(help: "Log debug detail (also: debug = true in the [cluster] section of the configuration).")
  var debug = false

  public func run() throws {
    DaemonLogging.bootstrap(debug: debug || ResourceManagerDaemon.debugLogging(clusterConfig: config))
    let paths = ManagerPaths(
      clusterConfig: config, corosyncSocket: corosyncSocket, socket: socket, storeDirectory: stateDir)
    do {
      let daemon = try ResourceManagerDaemon(paths: paths, nodeName: node)
      ServiceNotifier.ready(status: "connecting to swcorosync")
      let code = try daemon.run()
      throw ExitCode(code)
    } catch let error as ManagerStartupError {
      FileHandle.standardError.write(Data("swpacemakerd: \(error.description)\n".utf8))
      throw ExitCode(1)
    }
  }
}
