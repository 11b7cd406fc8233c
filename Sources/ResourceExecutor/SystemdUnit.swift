/// Naming and drop-in rules for cluster-controlled systemd units, kept apart from the bus so they
/// can be tested without systemd.
public enum SystemdUnit {
  static let unitSuffixes: Set<String> = [
    "service", "socket", "target", "mount", "automount", "swap", "timer", "path", "slice", "scope", "device",
  ]

  /// The full unit name for a `systemd:` agent type: `demo-web` → `demo-web.service`, as Pacemaker
  /// does; a name that already ends in a unit type is kept. Nil when the name is not a valid unit name
  /// (empty, too long, a character systemd does not allow, or a path).
  public static func name(forAgentType type: String) -> String? {
    let typed = type.lastIndex(of: ".").map { unitSuffixes.contains(String(type[type.index(after: $0)...])) }
    let name = typed == true ? type : type + ".service"
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@")
    guard name.count <= 255, let first = name.first, first != ".", first != "@",
      name.allSatisfy({ allowed.contains($0) })
    else { return nil }
    return name
  }

  /// Where the cluster's drop-in for `unit` lives. It is in `/run`, so a reboot forgets it together
  /// with everything else the cluster did on this node.
  public static func dropInPath(for unit: String, runtimeDirectory: String = "/run/systemd/system") -> String
  {
    "\(runtimeDirectory)/\(unit).d/50-swpcs.conf"
  }

  /// The drop-in written before a start: `Restart=no` so systemd never restarts a service behind the
  /// cluster's back (the cluster decides where it runs next), `Before=swpacemaker.service` so a
  /// shutdown stops the resource before the cluster manager.
  public static func dropInContent(for unit: String) -> String {
    var text = """
      [Unit]
      Description=Cluster Controlled \(unit)
      Before=swpacemaker.service

      """
    if unit.hasSuffix(".service") {
      text += """

        [Service]
        Restart=no

        """
    }
    return text
  }
}

/// A unit's `ActiveState` and what a monitor makes of it.
public enum UnitActiveState: String, Sendable, Codable, CaseIterable {
  case active
  case reloading
  case inactive
  case failed
  case activating
  case deactivating
  case maintenance
  case refreshing

  /// What a monitor reports for this state.
  public enum Verdict: Sendable, Equatable {
    case running
    /// In transition: look again until the operation's timeout.
    case pending
    case notRunning
  }

  /// Pacemaker's reading: active/reloading run, activating/deactivating are pending, anything else
  /// (inactive, failed, maintenance, ...) is not running.
  public var verdict: Verdict {
    switch self {
    case .active, .reloading, .refreshing: .running
    case .activating, .deactivating: .pending
    case .inactive, .failed, .maintenance: .notRunning
    }
  }
}
