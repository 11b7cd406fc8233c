import ResourceModel

/// Pacemaker's fencing decisions, pure: which devices may fence a node and in which order
/// (topology levels, `pcmk_host_list`/`pcmk_host_map`/`pcmk_host_check`), which member runs them,
/// how long to wait first (`pcmk_delay_base`, `pcmk_delay_max`, `priority-fencing-delay`), and the
/// cluster options that bound it (`fencing-timeout`, `fencing-action`, `fencing-max-attempts`,
/// `fencing-reaction`).
///
/// Dynamic host checks (`dynamic-list`, `status`) need the agent; devices using them are candidates
/// here and the executing node asks the agent before acting (see `FenceAgentRunner`).
public struct FencingPolicy: Sendable, Equatable {
  /// Per device: the time limit of one fence action (all retries), ms.
  public var timeoutMs: Int
  /// reboot | off
  public var action: String
  public var maxAttempts: Int
  public var priorityDelayMs: Int
  /// stop | panic
  public var reaction: String
  public var startupFencing: Bool
  /// `dc-deadtime`: how long after its start a controller waits for the configured nodes it has
  /// never seen before it gives up on them (startup fencing), ms.
  public var dcDeadtimeMs: Int

  public init(_ config: ResourceConfiguration) {
    let p = config.properties
    timeoutMs = (p["fencing-timeout"] ?? p["stonith-timeout"]).flatMap(Self.milliseconds) ?? 60_000
    switch (p["fencing-action"] ?? p["stonith-action"])?.lowercased() {
    case "off", "poweroff": action = "off"
    default: action = "reboot"
    }
    maxAttempts = max(1, (p["fencing-max-attempts"] ?? p["stonith-max-attempts"]).flatMap { Int($0) } ?? 10)
    priorityDelayMs = p["priority-fencing-delay"].flatMap(Self.milliseconds) ?? 0
    reaction = p["fencing-reaction"]?.lowercased() == "panic" ? "panic" : "stop"
    startupFencing = !["false", "no", "off", "0", "n"].contains((p["startup-fencing"] ?? "true").lowercased())
    dcDeadtimeMs = p["dc-deadtime"].flatMap(Self.milliseconds) ?? 20_000
  }

  /// What `startup-fencing` asks of a quorate DC.
  public enum StartupFencing: Sendable, Equatable {
    /// Every configured node was seen, is a member, or startup fencing does not apply.
    case nothing
    /// Configured nodes never seen: wait for them (Pacemaker's DC waits `dc-deadtime` at start)
    /// until this time, scheduling nothing meanwhile, as their resources' state is unknown.
    case wait(untilMs: Int64, nodes: [String])
    /// Still never seen after the wait: they are UNCLEAN and fenced before anything that could be
    /// active there is started (Pacemaker: a node without a status entry is unclean).
    case fence([String])
  }

  /// `startup-fencing`: a configured node that this cluster has never seen since it formed (it
  /// never joined, nobody reports it, it was never fenced) may run anything; with fencing enabled,
  /// a device to do it and startup-fencing=true (the default), it is fenced once `dc-deadtime`
  /// has passed since the controller started. Members are never targets: a member that has not
  /// joined yet is pending, not unseen.
  public func startupFencing(
    configured: [String], seen: Set<String>, members: [String], fencingEnabled: Bool, hasDevice: Bool,
    startedAtMs: Int64, now: Int64
  ) -> StartupFencing {
    guard fencingEnabled, hasDevice, startupFencing else { return .nothing }
    let unseen = configured.filter { !seen.contains($0) && !members.contains($0) }.sorted()
    guard !unseen.isEmpty else { return .nothing }
    let until = startedAtMs + Int64(dcDeadtimeMs)
    return now < until ? .wait(untilMs: until, nodes: unseen) : .fence(unseen)
  }

  /// Every stonith primitive of the configuration (top level or in a group/clone), enabled or not.
  public static func allDevices(_ config: ResourceConfiguration) -> [Primitive] {
    var out: [Primitive] = []
    for resource in config.resources {
      switch resource {
      case .primitive(let p): out.append(p)
      case .group(let g): out += g.members
      case .clone(let c):
        if case .primitive(let p) = c.child { out.append(p) }
      }
    }
    return out.filter { $0.agent.standard == .stonith }
  }

  /// Devices the fencer may use: configured and not disabled (`target-role=Stopped`), as Pacemaker
  /// unregisters a disabled device.
  public static func usableDevices(_ config: ResourceConfiguration) -> [Primitive] {
    allDevices(config).filter { device in
      let role = device.meta["target-role"] ?? config.resourceDefaults["target-role"]
      return role?.lowercased() != "stopped"
    }
  }

  /// `pcmk_host_map` (`n1:p1;n2:p2`, also `,` or space separated, `=` accepted) as target → port.
  public static func hostMap(_ device: Primitive) -> [String: String] {
    guard let text = device.attributes.last(where: { $0.name == "pcmk_host_map" })?.value else { return [:] }
    var map: [String: String] = [:]
    for entry in text.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == " " }) {
      let parts = entry.split(whereSeparator: { $0 == ":" || $0 == "=" }).map(String.init)
      if parts.count == 2 { map[parts[0]] = parts[1] }
    }
    return map
  }

  /// `pcmk_host_list` as a set of node names.
  public static func hostList(_ device: Primitive) -> [String] {
    guard let text = device.attributes.last(where: { $0.name == "pcmk_host_list" })?.value else { return [] }
    return text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ";" }).map(String.init)
  }

  /// static-list | dynamic-list | status | none: Pacemaker's default is static-list when a list or
  /// map is given, else dynamic-list.
  public static func hostCheck(_ device: Primitive) -> String {
    if let value = device.attributes.last(where: { $0.name == "pcmk_host_check" })?.value { return value }
    return hostList(device).isEmpty && hostMap(device).isEmpty ? "dynamic-list" : "static-list"
  }

  /// Whether `device` may fence `target` as far as the configuration can tell (dynamic checks are
  /// left to the executing node).
  public static func mayTarget(_ device: Primitive, _ target: String) -> Bool {
    switch hostCheck(device) {
    case "static-list": hostList(device).contains(target) || hostMap(device)[target] != nil
    default: true
    }
  }

  /// The topology to try for `target`, first to last; each inner list is one level, all of whose
  /// devices must succeed. With levels configured for the target, those (1-9, in order; a level
  /// naming an unknown or disabled device cannot succeed and is skipped). Without, each capable
  /// device alone, higher `priority` first, then configuration order — the fencer tries the next
  /// device when one fails.
  public static func levels(for target: String, _ config: ResourceConfiguration) -> [(
    level: Int, devices: [Primitive]
  )] {
    let usable = usableDevices(config)
    let byId = Dictionary(usable.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let configured = config.fencingLevels.filter { $0.target == target && (1...9).contains($0.index) }
      .sorted { $0.index < $1.index }
    if !configured.isEmpty {
      return configured.compactMap { level in
        let devices = level.devices.compactMap { byId[$0] }
        guard devices.count == level.devices.count, !devices.isEmpty else { return nil }
        return (level.index, devices)
      }
    }
    let capable = usable.enumerated().filter { mayTarget($0.element, target) }
      .sorted { a, b in
        let pa = Int(a.element.meta["priority"] ?? "") ?? 0
        let pb = Int(b.element.meta["priority"] ?? "") ?? 0
        return pa != pb ? pa > pb : a.offset < b.offset
      }
    return capable.map { (0, [$0.element]) }
  }

  /// Whether a device unfences (`provides=unfencing` among its meta attributes, e.g. fence_scsi or
  /// fence_mpath): the cluster runs its `on` action before a node starts what needs unfencing.
  public static func providesUnfencing(_ device: Primitive) -> Bool {
    device.meta["provides"]?.lowercased() == "unfencing"
  }

  /// How to unfence `target` (fence action `on`): every device that provides unfencing and may
  /// target it, all in one level (each must succeed, as Pacemaker's fencer requires every
  /// automatic-unfencing device); without such a device (only `requires=unfencing`), the levels
  /// fencing would use.
  public static func unfencingLevels(for target: String, _ config: ResourceConfiguration) -> [(
    level: Int, devices: [Primitive]
  )] {
    let devices = usableDevices(config).filter { providesUnfencing($0) && mayTarget($0, target) }
    return devices.isEmpty ? levels(for: target, config) : [(0, devices)]
  }

  /// The member that runs an unfencing (`on`) of `target`: the target itself while it is a member,
  /// because fabric devices register the node's own path to the storage (fence_scsi's `on` runs on
  /// the target, Pacemaker's `on_target`); a node that is not a member is not unfenced.
  public static func unfencingExecutor(target: String, members: [String]) -> String? {
    members.contains(target) ? target : nil
  }

  /// The member that runs a device against `target`: the node where the device is started if that
  /// is a member other than the target, else the first other member (members come sorted by node
  /// id). The target runs its own fencing only when it is the only member (Pacemaker's controller
  /// allows "suicide" when no peer can do it); a target that is not a member and has no other
  /// member to fence it cannot be fenced (nil).
  public static func executor(target: String, members: [String], deviceRunsOn: [String]) -> String? {
    let candidates = members.filter { $0 != target }
    if candidates.isEmpty && members == [target] { return target }
    return deviceRunsOn.first { candidates.contains($0) } ?? candidates.first
  }

  /// `pcmk_delay_base` for `target`: a plain duration, or per node `n1:0;n2:2s` (Pacemaker 2.1).
  public static func delayBaseMs(_ device: Primitive, target: String) -> Int {
    guard let text = device.attributes.last(where: { $0.name == "pcmk_delay_base" })?.value else { return 0 }
    if text.contains(":") {
      for entry in text.split(whereSeparator: { $0 == ";" || $0 == "," || $0 == " " }) {
        let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2 && parts[0] == target { return milliseconds(parts[1]) ?? 0 }
      }
      return 0
    }
    return milliseconds(text) ?? 0
  }

  /// `pcmk_delay_max`: the upper bound of the random delay, ms.
  public static func delayMaxMs(_ device: Primitive) -> Int {
    (device.attributes.last(where: { $0.name == "pcmk_delay_max" })?.value).flatMap(milliseconds) ?? 0
  }

  /// `priority-fencing-delay`: added when fencing the node whose active resources have the highest
  /// total `priority` (strictly), so that in a split the node running what matters most wins.
  public func priorityDelayMs(
    target: String, state: ClusterState, priority: (String) -> Int
  ) -> Int {
    guard priorityDelayMs > 0 else { return 0 }
    var totals: [String: Int] = [:]
    for (resource, nodes) in state.resources {
      for (node, s) in nodes where s.role != .stopped && s.role != .unknown {
        totals[node, default: 0] += priority(resource)
      }
    }
    let mine = totals[target] ?? 0
    let others = totals.filter { $0.key != target }.values.max() ?? 0
    return mine > others ? priorityDelayMs : 0
  }

  /// The per-device time limit: `pcmk_ACTION_timeout`, else the cluster's fencing timeout.
  public func timeoutMs(_ device: Primitive, action: String) -> Int {
    (device.attributes.last(where: { $0.name == "pcmk_\(action)_timeout" })?.value).flatMap(Self.milliseconds)
      ?? timeoutMs
  }

  /// `5`, `5s`, `500ms`, `1.5s`, `2min`, `1h` → milliseconds.
  public static func milliseconds(_ text: String) -> Int? {
    let t = String(text.filter { $0 != " " }).lowercased()
    let units: [(String, Double)] = [
      ("ms", 1), ("msec", 1), ("min", 60_000), ("m", 60_000), ("h", 3_600_000),
      ("s", 1000), ("sec", 1000),
    ]
    for (suffix, factor) in units.sorted(by: { $0.0.count > $1.0.count }) where t.hasSuffix(suffix) {
      guard let value = Double(t.dropLast(suffix.count)), value >= 0 else { return nil }
      return Int((value * factor).rounded())
    }
    guard let value = Double(t), value >= 0 else { return nil }
    return Int((value * 1000).rounded())
  }

  /// The device as the executing node runs it.
  public static func spec(_ device: Primitive) -> FenceDeviceSpec {
    FenceDeviceSpec(id: device.id, agent: device.agent.type, attributes: device.attributes)
  }
}
