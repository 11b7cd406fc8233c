import Dispatch
import Glibc

/// SIGTERM (systemd's stop) and SIGINT (a terminal) as a callback, SIGPIPE ignored: how both daemons
/// learn that they must stop cleanly.
///
/// The signals' default actions are disabled first, then dispatch sources deliver them on a global
/// queue; the callback typically hops onto the daemon's event loop.
public enum TerminationSignals {
  /// Installs the handler; keep the returned sources alive for as long as it must fire.
  public static func install(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    return [SIGTERM, SIGINT].map { number in
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler(handler: handler)
      source.resume()
      return source
    }
  }
}

/// SIGHUP (`systemctl reload`, `ExecReload=/bin/kill -HUP $MAINPID`) as a callback.
public enum ReloadSignal {
  /// Installs the handler; keep the returned source alive for as long as it must fire.
  public static func install(_ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    source.setEventHandler(handler: handler)
    source.resume()
    return source
  }
}
