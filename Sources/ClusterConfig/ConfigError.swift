/// Why `/etc/swpcs/cluster.conf` was rejected.
///
/// Exists so that every consumer (the daemon at start-up, `swpcs cluster setup`, tests) reports a
/// configuration problem the same way: one line, pointing at the file, the line and the key, in the
/// `file:line: key: message` shape that editors and `grep -n` users already know.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The name shown in front of the message (`cluster.conf` unless the caller says otherwise).
  public var fileName: String
  /// 1-based line the problem is on; nil when the problem is the file as a whole (for example a
  /// missing `[cluster]` section).
  public var line: Int?
  /// The key involved, when there is one.
  public var key: String?
  /// What is wrong, without file, line or key.
  public var message: String

  public init(fileName: String = "cluster.conf", line: Int? = nil, key: String? = nil, message: String) {
    self.fileName = fileName
    self.line = line
    self.key = key
    self.message = message
  }

  /// One line: `cluster.conf:12: failure_timeout: must be between 300ms and 60s`, leaving out the
  /// line and key parts when they are nil.
  public var description: String {
    var s = fileName
    if let line { s += ":\(line)" }
    s += ": "
    if let key { s += "\(key): " }
    return s + message
  }
}
