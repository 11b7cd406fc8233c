import Crypto
import Foundation
import ResourceModel

/// Why bytes are not a stored configuration. The messages name no file: the store prefixes the
/// path (`StoreProblem`), a network caller the peer.
public enum ConfigFormatError: Error, CustomStringConvertible, Sendable, Equatable {
  case empty
  /// The first line is not a `swpcs-config` header (garbage, or some other file).
  case notAConfigFile
  /// A `swpcs-config` header of a format this build does not read (written by a newer swpcs).
  case unsupportedFormat(String)
  /// A `swpcs-config v1` header whose fields cannot be parsed.
  case malformedHeader(String)
  /// Fewer body bytes than the header declares: the write was cut short.
  case truncated(declared: Int, found: Int)
  /// More body bytes than the header declares.
  case trailingBytes(declared: Int, found: Int)
  /// The body does not hash to the header's SHA-256: it changed after it was written.
  case checksumMismatch(declared: String, actual: String)
  /// The checksum holds but the JSON is not a `ResourceConfiguration` (a schema this build lacks).
  case invalidBody(String)
  /// The configuration cannot be encoded as JSON.
  case unencodable(String)

  public var description: String {
    switch self {
    case .empty: "empty (0 bytes)"
    case .notAConfigFile: "not a swpcs configuration (no '\(ConfigFormat.magic)' header line)"
    case .unsupportedFormat(let format):
      "format '\(format)' is not supported (this build reads '\(ConfigFormat.magic)')"
    case .malformedHeader(let line): "malformed header '\(line)'"
    case .truncated(let declared, let found):
      "truncated: the header declares \(declared) body bytes, found \(found)"
    case .trailingBytes(let declared, let found):
      "\(found - declared) bytes beyond the \(declared) body bytes the header declares"
    case .checksumMismatch(let declared, let actual):
      "checksum mismatch: the header says sha256 \(declared.prefix(16))…, the body hashes to \(actual.prefix(16))…"
    case .invalidBody(let reason): "not a valid configuration: \(reason)"
    case .unencodable(let reason): "cannot encode the configuration: \(reason)"
    }
  }
}

/// The bytes of one stored configuration, on disk and on the wire alike:
///
///     swpcs-config v1 sha256=<64 hex digits> length=<body bytes>\n
///     <body: the configuration as JSON with sorted keys, pretty-printed, ending in \n>
///
/// The header lets a reader reject a truncated, altered or foreign file before parsing it; sorted
/// keys make the same configuration always encode to the same bytes.
enum ConfigFormat {
  static let magic = "swpcs-config v1"
  /// A header is about 110 bytes; a first line longer than this is not one.
  static let maximumHeaderLength = 256

  static func encode(_ config: ResourceConfiguration) throws(ConfigFormatError) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    var body: [UInt8]
    do {
      body = [UInt8](try encoder.encode(config))
    } catch {
      throw .unencodable("\(error)")
    }
    body.append(UInt8(ascii: "\n"))
    let header = "\(magic) sha256=\(sha256Hex(body[...])) length=\(body.count)\n"
    return Array(header.utf8) + body
  }

  static func decode(_ bytes: [UInt8]) throws(ConfigFormatError) -> ResourceConfiguration {
    guard !bytes.isEmpty else { throw .empty }
    guard let newline = bytes.prefix(maximumHeaderLength).firstIndex(of: UInt8(ascii: "\n")) else {
      throw .notAConfigFile
    }
    let line = String(decoding: bytes[..<newline], as: UTF8.self)
    let (checksum, length) = try parseHeader(line)
    let body = bytes[(newline + 1)...]
    if body.count < length { throw .truncated(declared: length, found: body.count) }
    if body.count > length { throw .trailingBytes(declared: length, found: body.count) }
    let actual = sha256Hex(body)
    guard actual == checksum else { throw .checksumMismatch(declared: checksum, actual: actual) }
    do {
      return try JSONDecoder().decode(ResourceConfiguration.self, from: Data(body))
    } catch let error as DecodingError {
      throw .invalidBody(summary(of: error))
    } catch {
      throw .invalidBody("\(error)")
    }
  }

  private static func parseHeader(_ line: String) throws(ConfigFormatError) -> (String, Int) {
    let fields = line.split(separator: " ", omittingEmptySubsequences: false)
    guard fields.count >= 2, fields[0] == "swpcs-config" else { throw .notAConfigFile }
    guard "\(fields[0]) \(fields[1])" == magic else { throw .unsupportedFormat("\(fields[0]) \(fields[1])") }
    let shown = String(line.prefix(120))
    guard fields.count == 4, fields[2].hasPrefix("sha256="), fields[3].hasPrefix("length=") else {
      throw .malformedHeader(shown)
    }
    let checksum = fields[2].dropFirst("sha256=".count)
    let hexDigits = Set("0123456789abcdef")
    guard checksum.count == 64, checksum.allSatisfy(hexDigits.contains),
      let length = Int(fields[3].dropFirst("length=".count)), length >= 0
    else { throw .malformedHeader(shown) }
    return (String(checksum), length)
  }

  private static func sha256Hex(_ body: ArraySlice<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var hex: [UInt8] = []
    hex.reserveCapacity(64)
    for byte in SHA256.hash(data: body) {
      hex.append(digits[Int(byte >> 4)])
      hex.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: hex, as: UTF8.self)
  }

  /// One line for a decoding error: where in the document, and what was wrong.
  private static func summary(of error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
      return keys.isEmpty ? "at the top level" : "at \(keys.joined(separator: "."))"
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)' \(path(context))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
      return "\(context.debugDescription) \(path(context))"
    @unknown default: return "\(error)"
    }
  }
}
