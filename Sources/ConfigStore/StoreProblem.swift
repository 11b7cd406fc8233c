import FileSystem
import ResourceModel

/// A file `ConfigStore.load()` skipped, and why. Loading never fails on a bad file: it falls back
/// to the newest good version and lists every newer file it passed over, for the log.
public struct StoreProblem: Sendable, Equatable, CustomStringConvertible {
  /// Why the file was skipped; `description` renders it for the log.
  public enum Reason: Sendable, Equatable {
    /// The file (or the directory, for `path` == the store's directory) could not be read.
    case unreadable(String)
    /// The bytes are not a valid stored configuration.
    case invalid(ConfigFormatError)
    /// The body is intact but holds another version than the file name says (a copied or renamed
    /// file): trusting either would let the wrong configuration win.
    case versionMismatch(named: ConfigVersion, contained: ConfigVersion)
    /// Looks like a version file (`cib-….json`) but its name does not parse as one.
    case unrecognizedName
  }

  /// The file, or the store's directory when the listing itself failed.
  public var path: String
  public var reason: Reason

  public init(path: String, reason: Reason) {
    self.path = path
    self.reason = reason
  }

  public var description: String {
    let text =
      switch reason {
      case .unreadable(let why): "cannot read (\(why))"
      case .invalid(let error): error.description
      case .versionMismatch(let named, let contained):
        "named version \(named) but contains version \(contained)"
      case .unrecognizedName: "not named cib-<admin_epoch>.<epoch>.<num_updates>.json; ignored"
      }
    return "\(path): \(text)".split(whereSeparator: \.isNewline).joined(separator: " ")
  }
}

/// Why `ConfigStore.save(_:force:)` or `prune(keep:)` did not do its job, as one line naming the
/// file or directory concerned.
public enum ConfigStoreError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The offered version is not newer than the newest valid stored one (`file`).
  case staleVersion(offered: ConfigVersion, stored: ConfigVersion, file: String)
  case cannotCreateDirectory(path: String, reason: String)
  case cannotLock(path: String, reason: String)
  case cannotRemove(path: String, reason: String)
  /// The directory listing failed, so the newest stored version is unknown.
  case unreadableDirectory(path: String, reason: String)
  case unencodable(path: String, ConfigFormatError)
  case fileSystem(FileSystemError)

  public var description: String {
    switch self {
    case .staleVersion(let offered, let stored, let file):
      "\(file): refusing to save version \(offered): not newer than the stored \(stored) (save with force to replace it)"
    case .cannotCreateDirectory(let path, let reason): "\(path): cannot create the directory (\(reason))"
    case .cannotLock(let path, let reason): "\(path): cannot lock (\(reason))"
    case .cannotRemove(let path, let reason): "\(path): cannot remove (\(reason))"
    case .unreadableDirectory(let path, let reason): "\(path): cannot list the directory (\(reason))"
    case .unencodable(let path, let error): "\(path): \(error)"
    case .fileSystem(let error): error.description
    }
  }
}
