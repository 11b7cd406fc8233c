import ConfigStore
import Crypto
import Foundation
import ResourceModel
import Testing

@Suite struct ConfigFormatTests {
  @Test func encodeThenDecodeGivesBackTheSameConfiguration() throws {
    let config = sampleConfiguration(version(7, admin: 1, updates: 3))
    #expect(try ConfigStore.decode(ConfigStore.encode(config)) == config)
  }

  @Test func theSameConfigurationAlwaysEncodesToTheSameBytes() throws {
    let config = sampleConfiguration(version(7))
    let first = try ConfigStore.encode(config)
    let second = try ConfigStore.encode(ConfigStore.decode(first))
    #expect(first == second)
  }

  @Test func theHeaderCarriesMagicChecksumAndBodyLength() throws {
    let bytes = try ConfigStore.encode(sampleConfiguration(version(1)))
    let newline = try #require(bytes.firstIndex(of: UInt8(ascii: "\n")))
    let fields = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: " ")
    #expect(fields.count == 4)
    #expect(fields[0] == "swpcs-config" && fields[1] == "v1")
    #expect(fields[2].hasPrefix("sha256=") && fields[2].count == "sha256=".count + 64)
    #expect(fields[3] == "length=\(bytes.count - newline - 1)")
    let body = Data(bytes[(newline + 1)...])
    let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    #expect(object["resources"] != nil)
  }

  @Test func emptyBytesAreRejected() {
    #expect(throws: ConfigFormatError.empty) { try ConfigStore.decode([]) }
  }

  @Test func garbageIsNotAConfiguration() {
    var generator = SystemRandomNumberGenerator()
    let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
    #expect(throws: ConfigFormatError.notAConfigFile) { try ConfigStore.decode(garbage) }
    #expect(throws: ConfigFormatError.notAConfigFile) { try ConfigStore.decode(Array("{\"a\": 1}\n".utf8)) }
  }

  @Test func aTruncatedBodyIsReportedWithBothLengths() throws {
    let bytes = try ConfigStore.encode(sampleConfiguration(version(1)))
    let header = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
    let body = bytes.count - header
    #expect(throws: ConfigFormatError.truncated(declared: body, found: body - 10)) {
      try ConfigStore.decode(Array(bytes.dropLast(10)))
    }
    #expect(throws: ConfigFormatError.truncated(declared: body, found: 0)) {
      try ConfigStore.decode(Array(bytes.prefix(header)))
    }
  }

  @Test func bytesAfterTheBodyAreRejected() throws {
    let bytes = try ConfigStore.encode(sampleConfiguration(version(1)))
    let header = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
    #expect(
      throws: ConfigFormatError.trailingBytes(declared: bytes.count - header, found: bytes.count - header + 2)
    ) {
      try ConfigStore.decode(bytes + [0x0a, 0x0a])
    }
  }

  @Test func aFlippedBitFailsTheChecksum() throws {
    var bytes = try ConfigStore.encode(sampleConfiguration(version(1)))
    bytes[bytes.count - 40] ^= 0x01
    #expect {
      try ConfigStore.decode(bytes)
    } throws: { error in
      guard case .checksumMismatch = error as? ConfigFormatError else { return false }
      return "\(error)".hasPrefix("checksum mismatch: the header says sha256 ")
    }
  }

  @Test func aNewerFormatIsNamedInTheError() throws {
    let bytes = Array("swpcs-config v2 sha256=00 length=0\n".utf8)
    #expect(throws: ConfigFormatError.unsupportedFormat("swpcs-config v2")) { try ConfigStore.decode(bytes) }
  }

  @Test func malformedHeaderFieldsAreRejected() {
    for header in [
      "swpcs-config v1", "swpcs-config v1 sha256=abc length=2", "swpcs-config v1 length=2 sha256=\(hex64)",
      "swpcs-config v1 sha256=\(hex64) length=-1", "swpcs-config v1 sha256=\(hex64.uppercased()) length=0",
    ] {
      #expect(throws: ConfigFormatError.malformedHeader(header)) {
        try ConfigStore.decode(Array("\(header)\n{}".utf8))
      }
    }
  }

  @Test func anIntactBodyThatIsNotAConfigurationSaysWhatIsMissing() throws {
    let body = Array("{\"version\": {\"adminEpoch\": 0, \"epoch\": 1, \"numUpdates\": 0}}\n".utf8)
    let header = Array("swpcs-config v1 sha256=\(sha256(of: body)) length=\(body.count)\n".utf8)
    #expect {
      try ConfigStore.decode(header + body)
    } throws: { error in
      guard case .invalidBody(let reason) = error as? ConfigFormatError else { return false }
      return reason.hasPrefix("missing key '")
    }
  }

  private let hex64 = String(repeating: "ab", count: 32)

  private func sha256(of body: [UInt8]) -> String {
    SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
  }
}
