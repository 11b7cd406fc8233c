import Glibc
import Logging
import Synchronization

/// A swift-log backend for daemons run by systemd.
///
/// journald reads a service's stderr line by line and takes a leading `<N>` as the syslog priority of that
/// line, so plain stderr output gets correct severities in `journalctl -p` without linking the journal
/// API or depending on a running journald (containers, tests, `swcorosync` run by hand). Each record is one
/// line (embedded newlines are escaped) written with a single `write(2)` under a process-wide lock, so
/// records from different threads never interleave.
///
/// When stderr is a terminal the priority prefix is replaced by a readable `LEVEL: ` prefix.
public struct JournalLogHandler: LogHandler {
  /// How a record is rendered.
  public enum Style: Sendable, Equatable {
    /// `<6>message key=value`: the syslog priority prefix that journald strips and stores.
    case journal
    /// `INFO: message key=value`, for a person watching a terminal.
    case terminal
  }

  /// The label of the `Logger` this handler was made for (not printed: one daemon, one stream).
  public let label: String
  /// The minimum level this handler emits.
  public var logLevel: Logger.Level
  /// Metadata attached to every record of this handler.
  public var metadata: Logger.Metadata = [:]
  /// Contextual metadata merged into every record.
  public var metadataProvider: Logger.MetadataProvider?

  private let style: Style
  private let writer: @Sendable (String) -> Void

  /// A handler that writes to stderr, choosing ``Style/terminal`` when stderr is a TTY.
  public init(label: String, level: Logger.Level = .info) {
    self.init(
      label: label, level: level, style: isatty(STDERR_FILENO) == 1 ? .terminal : .journal,
      writer: StandardError.write)
  }

  /// A handler with an explicit style and sink; `writer` receives each finished line including its
  /// trailing newline.
  public init(
    label: String, level: Logger.Level = .info, style: Style,
    metadataProvider: Logger.MetadataProvider? = nil,
    writer: @escaping @Sendable (String) -> Void
  ) {
    self.label = label
    self.logLevel = level
    self.style = style
    self.metadataProvider = metadataProvider
    self.writer = writer
  }

  /// Per-key access to ``metadata``.
  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  /// Formats and writes one record.
  public func log(event: LogEvent) {
    var merged = metadata
    if let provided = metadataProvider?.get() {
      merged.merge(provided) { _, new in new }
    }
    if let explicit = event.metadata {
      merged.merge(explicit) { _, new in new }
    }
    if let error = event.error {
      merged["error"] = "\(error)"
    }
    writer(Self.line(level: event.level, message: event.message.description, metadata: merged, style: style))
  }

  /// One rendered record, newline included: the prefix, the message with line breaks escaped, then the
  /// metadata as ` key=value` pairs sorted by key (values quoted when they contain spaces, quotes, `=` or
  /// are empty).
  public static func line(
    level: Logger.Level, message: String, metadata: Logger.Metadata, style: Style
  ) -> String {
    var out: String
    switch style {
    case .journal: out = "<\(syslogPriority(level))>"
    case .terminal: out = level.rawValue.uppercased() + ": "
    }
    out += singleLine(message)
    for key in metadata.keys.sorted() {
      guard let value = metadata[key] else { continue }
      out += " " + singleLine(key) + "=" + quotedIfNeeded(singleLine(value.description))
    }
    out += "\n"
    return out
  }

  /// The syslog priority journald records for a swift-log level (`trace` shares `debug`'s 7).
  public static func syslogPriority(_ level: Logger.Level) -> Int {
    switch level {
    case .trace, .debug: 7
    case .info: 6
    case .notice: 5
    case .warning: 4
    case .error: 3
    case .critical: 2
    }
  }

  private static func singleLine(_ text: String) -> String {
    guard text.contains(where: { $0.isNewline }) else { return text }
    var out = ""
    for character in text {
      switch character {
      case "\n", "\r\n": out += "\\n"
      case "\r": out += "\\r"
      default: out.append(character.isNewline ? " " : character)
      }
    }
    return out
  }

  private static func quotedIfNeeded(_ value: String) -> String {
    guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "=" })
    else { return value }
    var out = "\""
    for character in value {
      switch character {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      default: out.append(character)
      }
    }
    return out + "\""
  }
}

/// Serialises whole-line writes to fd 2.
private enum StandardError {
  private static let lock = Mutex(())

  @Sendable static func write(_ line: String) {
    var bytes = Array(line.utf8)
    lock.withLock { _ in
      bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
          let n = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
          if n > 0 {
            offset += n
          } else if n < 0 && errno == EINTR {
            continue
          } else {
            return  // Nowhere left to report a failing stderr: drop the record.
          }
        }
      }
    }
  }
}

/// Installs ``JournalLogHandler`` as the process-wide swift-log backend.
///
/// `LoggingSystem.bootstrap` traps when called twice; the daemon's entry points and tests may each want
/// to set logging up, so this does it once and ignores later calls.
public enum DaemonLogging {
  private static let done = Mutex(false)

  /// Bootstraps logging at `.debug` (when `debug`) or `.info`; calls after the first are ignored.
  public static func bootstrap(debug: Bool) {
    done.withLock { done in
      guard !done else { return }
      done = true
      let level: Logger.Level = debug ? .debug : .info
      LoggingSystem.bootstrap { label in JournalLogHandler(label: label, level: level) }
    }
  }
}
