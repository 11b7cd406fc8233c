import Foundation
import Glibc
import ResourceExecutor
import ResourceManager
import ResourceModel

extension ResourceManagerDaemon {
  /// Runs one level of a fence operation: waits the request's delay (a random draw in
  /// `delayBaseMs ... delayBaseMs + delayMaxMs`; a random delay only makes two nodes racing to fence
  /// each other less likely to fire within the time a fence takes — a base delay on one device or
  /// priority-fencing-delay decides the race), then each device in turn until one fails.
  func runFence(_ request: FenceRequest) {
    let runner = fenceRunner
    let loop = self.loop
    let maxNs = Int64(request.delayMaxMs) * 1_000_000
    let delay = Int64(request.delayBaseMs) * 1_000_000 + (maxNs > 0 ? Int64.random(in: 0...maxNs) : 0)
    logger.notice(
      "fencing \(request.target) (\(request.action)) with \(request.devices.map(\.id).joined(separator: ",")) after \(delay / 1_000_000) ms"
    )
    Task {
      if delay > 0 { try? await Task.sleep(for: .nanoseconds(delay)) }
      var outcomes: [FenceDeviceOutcome] = []
      for device in request.devices {
        let outcome = await runner.fence(
          agent: device.agent, attributes: device.attributes, target: request.target, action: request.action,
          timeoutMs: request.timeoutMs)
        outcomes.append(
          FenceDeviceOutcome(
            device: device.id, ok: outcome.ok, rc: outcome.exitStatus, status: outcome.status,
            output: String(outcome.output.suffix(1024)), durationMs: outcome.durationMs))
        if !outcome.ok { break }
      }
      let done = outcomes
      loop.execute {
        self.carryOut(self.controller.fenceCompleted(request, outcomes: done, now: Self.wallMs()))
      }
    }
  }

  /// `fencing-reaction`: the cluster fenced this node but it still runs. `stop` stops every local
  /// resource and exits without being restarted; `panic` reboots at once, as `systemctl reboot -ff`
  /// does (sync, then reboot(2) with RB_AUTOBOOT: no unit is stopped) — only where PID 1 is systemd
  /// (a real node or a container node), never on a development host. In a container (a PID
  /// namespace of its own) the kernel turns reboot(2) into the end of the container's PID 1 with a
  /// reboot status: the container reboots, the host does not. Pacemaker's sysrq fallback is left
  /// out: /proc/sysrq-trigger would act on the host.
  func fencedReaction(_ reaction: String) {
    if reaction == "panic" {
      let init1 = (try? String(contentsOfFile: "/proc/1/comm", encoding: .utf8))?.trimmingCharacters(
        in: .whitespacesAndNewlines)
      if init1 == "systemd" {
        logger.critical("fenced while running: panic (immediate reboot)")
        sync()
        // reboot(2) with RB_AUTOBOOT; glibc's wrapper is not in the Glibc module.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "reboot") {
          typealias Reboot = @convention(c) (Int32) -> Int32
          let rc = unsafeBitCast(symbol, to: Reboot.self)(0x0123_4567)
          let error = errno
          logger.error(
            "fencing-reaction=panic: reboot(2) failed (rc \(rc), \(String(cString: strerror(error)))); stopping instead"
          )
        } else {
          logger.error("fencing-reaction=panic: reboot(2) not found; stopping instead")
        }
      } else {
        logger.error("fencing-reaction=panic: PID 1 is not systemd here; stopping instead")
      }
    }
    guard !stopping else { return }
    stopping = true
    exitCode = 0
    logger.critical("fenced while running: stopping all local resources and leaving the cluster")
    stopAllLocal(reason: "this node was fenced") { self.finish() }
  }
}
