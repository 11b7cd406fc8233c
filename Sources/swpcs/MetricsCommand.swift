import ArgumentParser
import ControlClient
import ControlProtocol
import Foundation
import ResourceManager

extension Swpcs {
  /// `swpcs metrics`: both daemons' counters in the Prometheus text format (or JSON).
  struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "metrics",
      abstract: "This node's metrics in the Prometheus text exposition format (both daemons, merged).",
      discussion: """
        Asks swcorosync and swpacemakerd for their counters over their control sockets. A daemon that \
        does not answer is reported as swpcs_daemon_up{daemon="..."} 0 and its metrics are left out; \
        the exit status is still 0. With [metrics] listen in cluster.conf, swpacemakerd serves the same \
        text at http://ADDRESS:PORT/metrics.
        """)
    @OptionGroup var global: GlobalOptions

    func run() throws {
      let corosync = daemonMetrics(path: global.corosyncSocket, daemon: "swcorosync") {
        client throws(UnixSocketClient.ClientError) in
        let response = try client.request(CorosyncRequest(op: .metrics), as: CorosyncResponse.self)
        return (response.metrics, response.error)
      }
      let manager = daemonMetrics(path: managerSocketPath, daemon: "swpacemakerd") {
        client throws(UnixSocketClient.ClientError) in
        let response = try client.request(ManagerRequest(op: .metrics), as: ManagerResponse.self)
        return (response.metrics, response.error)
      }
      let families = MetricsExposition.merged([("swcorosync", corosync), ("swpacemakerd", manager)])
      switch global.output {
      case .json: printJSON(families)
      case .text: print(PrometheusText.render(families), terminator: "")
      }
    }

    /// One daemon's families; nil when it does not run or does not answer (permission denied fails).
    func daemonMetrics(
      path: String, daemon: String,
      _ ask: (UnixSocketClient) throws(UnixSocketClient.ClientError) -> ([MetricFamily]?, String?)
    ) -> [MetricFamily]? {
      do {
        let client = try UnixSocketClient(path: path, timeout: .seconds(5))
        let (families, error) = try ask(client)
        if families == nil {
          // An older daemon does not know the request: it is running, but has no metrics to give.
          FileHandle.standardError.write(
            Data("swpcs: \(daemon): \(error ?? "no metrics in the answer")\n".utf8))
        }
        return families
      } catch .permissionDenied {
        clientFailure(.permissionDenied(path: path), daemon: daemon, unit: daemon)
      } catch .notRunning {
        return nil  // swpcs_daemon_up says so
      } catch {
        FileHandle.standardError.write(Data("swpcs: \(daemon): \(error.description)\n".utf8))
        return nil
      }
    }
  }
}
