import CSystemd
import Glibc

/// Talks to the service manager over `sd_notify(3)`.
///
/// The unit is `Type=notify`, so systemd considers the daemon started only once it says `READY=1`
/// (after the configuration is loaded and the sockets are bound), shows `STATUS=` lines in
/// `systemctl status`, and restarts the daemon when the `WATCHDOG=1` keep-alives stop, which catches a
/// wedged event loop that a plain "is the process alive" check would miss.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset (started by hand, in tests, in containers without
/// systemd), so callers never need to check how they were started.
public enum ServiceNotifier {
  /// Tells systemd that start-up is complete, optionally with a first status line.
  public static func ready(status: String? = nil) {
    var message = "READY=1"
    if let status {
      message += "\nSTATUS=" + sanitized(status)
    }
    send(message)
  }

  /// Sets the free-form status line shown by `systemctl status`.
  public static func status(_ s: String) {
    send("STATUS=" + sanitized(s))
  }

  /// Tells systemd that an orderly shutdown has begun, so a slow stop is not mistaken for a hang.
  public static func stopping() {
    send("STOPPING=1")
  }

  /// Sends one watchdog keep-alive. Call it at about half of ``watchdogInterval()``, and only while the
  /// daemon's loops are actually making progress.
  public static func watchdog() {
    send("WATCHDOG=1")
  }

  /// The watchdog interval systemd asked for (`WatchdogSec=`, read through `sd_watchdog_enabled(3)`), or
  /// nil when the watchdog is off or meant for another process.
  public static func watchdogInterval() -> Duration? {
    var usec: UInt64 = 0
    guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
    return .microseconds(Int64(clamping: usec))
  }

  /// The notification protocol is newline-separated `KEY=VALUE`; a newline inside a value would start a
  /// bogus assignment.
  private static func sanitized(_ value: String) -> String {
    String(value.map { $0.isNewline ? " " : $0 })
  }

  private static func send(_ message: String) {
    guard getenv("NOTIFY_SOCKET") != nil else { return }
    _ = sd_notify(0, message)
  }
}
