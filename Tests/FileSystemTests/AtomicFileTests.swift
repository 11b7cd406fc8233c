import FileSystem
import Foundation
import Testing

@Suite struct AtomicFileTests {
  private func scratch() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "atomic-file-\(UUID().uuidString)"
    ).path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test func writeReplacesTheFileWholeWithTheGivenMode() throws {
    let directory = try scratch()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = "\(directory)/state"
    try AtomicFile.write(Array("old\n".utf8), to: path, mode: 0o644)
    try AtomicFile.write(Array("new\n".utf8), to: path, mode: 0o600)
    #expect(FileManager.default.contents(atPath: path) == Data("new\n".utf8))
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect(attributes[.posixPermissions] as? Int == 0o600)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["state"])
  }

  @Test func aMissingDirectoryNamesTheTemporaryFileAndTheReason() throws {
    let path = "/nonexistent-\(UUID().uuidString)/state"
    #expect {
      try AtomicFile.write([1], to: path, mode: 0o600)
    } throws: { error in
      let error = error as? FileSystemError
      return error?.operation == .create && error?.path == AtomicFile.temporaryPath(for: path)
        && error?.description
          == "\(AtomicFile.temporaryPath(for: path)): cannot create (No such file or directory)"
    }
  }

  @Test func renamingOntoADirectoryFailsAndLeavesNoTemporaryFile() throws {
    let directory = try scratch()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = "\(directory)/occupied"
    try FileManager.default.createDirectory(atPath: "\(path)/child", withIntermediateDirectories: true)
    #expect(throws: FileSystemError(path: path, operation: .rename, code: EISDIR)) {
      try AtomicFile.write([1], to: path, mode: 0o600)
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["occupied"])
  }

  @Test func syncingAMissingDirectoryNamesIt() {
    #expect(throws: FileSystemError(path: "/nonexistent-dir", operation: .openDirectory, code: ENOENT)) {
      try AtomicFile.syncDirectory("/nonexistent-dir")
    }
  }
}
