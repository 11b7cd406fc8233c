import Foundation
import FoundationXML
import ResourceModel
import Testing

@testable import ResourceExecutor

@Suite("systemd units (no bus)")
struct SystemdUnitTests {
  @Test(
    "agent types become unit names as Pacemaker names them",
    arguments: [
      ("demo-web", "demo-web.service"),
      ("demo-web.service", "demo-web.service"),
      ("cups.socket", "cups.socket"),
      ("backup.timer", "backup.timer"),
      ("getty@tty1", "getty@tty1.service"),
      ("my.app", "my.app.service"),
    ])
  func unitNames(type: String, unit: String) {
    #expect(SystemdUnit.name(forAgentType: type) == unit)
  }

  @Test(
    "names systemd would reject are refused", arguments: ["", "a/b", "../x", "sp ace", ".hidden", "x\ny"])
  func invalidNames(type: String) {
    #expect(SystemdUnit.name(forAgentType: type) == nil)
  }

  @Test("the drop-in stops systemd restarting the service and orders it before the cluster manager")
  func dropIn() {
    #expect(
      SystemdUnit.dropInPath(for: "demo-web.service")
        == "/run/systemd/system/demo-web.service.d/50-swpcs.conf")
    let service = SystemdUnit.dropInContent(for: "demo-web.service")
    #expect(
      service.contains(
        "[Unit]\nDescription=Cluster Controlled demo-web.service\nBefore=swpacemaker.service\n"))
    #expect(service.contains("[Service]\nRestart=no\n"))
    #expect(!SystemdUnit.dropInContent(for: "cups.socket").contains("[Service]"))
  }

  @Test(
    "ActiveState verdicts follow Pacemaker",
    arguments: [
      ("active", UnitActiveState.Verdict.running),
      ("reloading", .running),
      ("activating", .pending),
      ("deactivating", .pending),
      ("inactive", .notRunning),
      ("failed", .notRunning),
      ("maintenance", .notRunning),
    ])
  func verdicts(state: String, verdict: UnitActiveState.Verdict) throws {
    #expect(try #require(UnitActiveState(rawValue: state)).verdict == verdict)
  }

  @Test(
    "systemd's D-Bus errors map to OCF results",
    arguments: [
      ("org.freedesktop.systemd1.NoSuchUnit", OCFExitCode.notInstalled),
      ("org.freedesktop.systemd1.UnitMasked", .notInstalled),
      ("org.freedesktop.DBus.Error.InvalidArgs", .notInstalled),
      ("org.freedesktop.DBus.Error.AccessDenied", .insufficientPrivileges),
      ("org.freedesktop.systemd1.TransactionIsDestructive", .genericError),
    ])
  func errorMapping(name: String, rc: OCFExitCode) {
    #expect(SystemdRunner.result(forError: name, message: "m").rc == rc)
  }

  @Test("unit metadata is well-formed XML even for odd descriptions")
  func metadata() throws {
    let xml = SystemdRunner.metadataXML(unit: "demo-web.service", description: "A & B <web> \"server\"")
    let document = try XMLDocument(xmlString: xml)
    #expect(document.rootElement()?.attribute(forName: "name")?.stringValue == "demo-web.service")
    #expect(
      try document.nodes(forXPath: "/resource-agent/longdesc").first?.stringValue == "A & B <web> \"server\"")
  }

  @Test("without a bus an operation fails with the reason within its timeout, and writes nothing")
  func noBus() async throws {
    let directory =
      FileManager.default.temporaryDirectory.path + "/swpcs-nobus-\(getpid())-\(UInt32.random(in: 0...9999))"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let runner = try SystemdRunner(busAddress: "unix:path=/nonexistent/bus", runtimeDirectory: directory)
    defer { runner.shutdown() }
    let result = await runner.run(
      OperationRequest(
        resource: "web", agent: AgentSpec(standard: .systemd, type: "demo-web"), action: "start",
        timeoutMs: 300))
    guard case .error(let message) = result.status else {
      Issue.record("expected an executor error, got \(result.status)")
      return
    }
    #expect(message.contains("system bus unavailable"))
    #expect(result.rc == .genericError)
    #expect(result.durationMs < 10_000, "bounded by its timeout (+ slack for a loaded machine), not hanging")
    #expect(!FileManager.default.fileExists(atPath: directory))
  }

  @Test("an invalid unit name is not installed, without touching the bus")
  func invalidUnit() async throws {
    let runner = try SystemdRunner(busAddress: "unix:path=/nonexistent/bus")
    defer { runner.shutdown() }
    let result = await runner.run(
      OperationRequest(resource: "x", agent: AgentSpec(standard: .systemd, type: "../etc"), action: "start"))
    #expect(result.rc == .notInstalled)
    #expect(result.durationMs < 2000, "refused before any bus call")
  }
}
