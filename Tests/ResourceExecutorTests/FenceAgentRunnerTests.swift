import Foundation
import ResourceExecutor
import ResourceModel
import Testing

/// The repository's `agents/` directory (the project's test fence agent).
let projectAgents = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("agents").path
let hasDebianFenceDummy = FileManager.default.isExecutableFile(atPath: "/usr/sbin/fence_dummy")

/// A temporary directory for agents written by a test and for the harness hook.
final class FenceSandbox {
  let root: String
  init() throws {
    var template = Array((FileManager.default.temporaryDirectory.path + "/fence-test-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw SandboxError(reason: "mkdtemp failed") }
    root = String(cString: made)
  }
  deinit { try? FileManager.default.removeItem(atPath: root) }

  func install(_ name: String, _ script: String) throws {
    let path = "\(root)/\(name)"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
  }

  /// Plays the harness's host side once: answers the first request file with `ok`.
  func answerHarness(ok: Bool, within seconds: Double = 10) -> Task<String?, Never> {
    let root = root
    return Task.detached {
      let deadline = Date().addingTimeInterval(seconds)
      while Date() < deadline {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        if let request = names.first(where: {
          ($0.hasPrefix("poweroff-") || $0.hasPrefix("reboot-") || $0.hasPrefix("poweron-"))
            && !$0.hasSuffix(".done")
        }) {
          try? "{\"ok\": \(ok ? "true" : "false")}\n".write(
            toFile: "\(root)/\(request).done", atomically: true, encoding: .utf8)
          try? FileManager.default.removeItem(atPath: "\(root)/\(request)")
          return request
        }
        try? await Task.sleep(for: .milliseconds(10))
      }
      return nil
    }
  }
}

@Suite("Fence agent runner (FenceAgentAPI)")
struct FenceAgentRunnerTests {
  let environment = ["PATH": "/usr/bin:/bin"]

  @Test("stdin carries action, nodename, the mapped plug and the device's parameters, never pcmk_*")
  func standardInput() async throws {
    let box = try FenceSandbox()
    try box.install("fence_record", "#!/bin/sh\ncat > \"\(box.root)/stdin.txt\"\nexit 0\n")
    let runner = FenceAgentRunner(directory: box.root, baseEnvironment: environment)
    let outcome = await runner.fence(
      agent: "fence_record",
      attributes: [
        Attribute("ip", "10.0.0.9"), Attribute("pcmk_host_map", "n1:p1;n2:p2"),
        Attribute("pcmk_host_argument", "plug"), Attribute("login", "admin"),
      ], target: "n2", action: "off", timeoutMs: 5000)
    #expect(outcome.ok)
    let lines = try String(contentsOfFile: "\(box.root)/stdin.txt", encoding: .utf8).split(separator: "\n")
    #expect(lines == ["action=off", "nodename=n2", "plug=p2", "ip=10.0.0.9", "login=admin"])
  }

  @Test("exit codes: non-zero off fails after retries; a hung agent is killed at its timeout")
  func exitCodesAndTimeout() async throws {
    let box = try FenceSandbox()
    try box.install("fence_count", "#!/bin/sh\necho x >> \"\(box.root)/runs\"\nexit 1\n")
    try box.install("fence_hang", "#!/bin/sh\nsleep 1000\n")
    let runner = FenceAgentRunner(
      directory: box.root, killGrace: .milliseconds(300), baseEnvironment: environment)
    let failed = await runner.fence(
      agent: "fence_count",
      attributes: [
        Attribute("pcmk_host_check", "none"), Attribute("pcmk_host_argument", "port"),
        Attribute("pcmk_off_retries", "3"),
      ],
      target: "n1", action: "off", timeoutMs: 5000)
    #expect(!failed.ok && failed.exitStatus == 1 && failed.status == "done")
    #expect(try String(contentsOfFile: "\(box.root)/runs", encoding: .utf8).split(separator: "\n").count == 3)
    let clock = ContinuousClock()
    let started = clock.now
    let hung = await runner.fence(
      agent: "fence_hang", attributes: [Attribute("pcmk_host_check", "none")], target: "n1", action: "reboot",
      timeoutMs: 800)
    let took = clock.now - started
    #expect(!hung.ok && hung.status == "timeout")
    #expect(took >= .milliseconds(800) && took < .milliseconds(8000), "took \(took)")
    let missing = await runner.fence(
      agent: "fence_absent", attributes: [], target: "n1", action: "off", timeoutMs: 1000)
    #expect(!missing.ok && missing.status == "not-installed")
    #expect(runner.executablePath(agent: "../bin/sh") == nil)
  }

  @Test("project agent: metadata, list, monitor, off through the harness hook, status 0 on / 2 off")
  func projectAgent() async throws {
    let box = try FenceSandbox()
    let runner = FenceAgentRunner(directory: projectAgents, baseEnvironment: environment)
    let metadata = try #require(await runner.metadata(agent: "fence_swpcs_harness"))
    #expect(metadata.name == "fence_swpcs_harness")
    #expect(metadata.parameters.map(\.name).contains("port"))
    #expect(metadata.parameters.first { $0.name == "hook_dir" }?.defaultValue == "/run/swpcs-harness")
    #expect(metadata.actions.contains("reboot") && metadata.actions.contains("status"))
    #expect(await runner.hostArgument(agent: "fence_swpcs_harness", attributes: []) == "port")

    let hook = [Attribute("hook_dir", box.root), Attribute("wait_timeout", "5")]
    let monitor = await runner.run(
      OperationRequest(
        resource: "f", agent: AgentSpec(standard: .stonith, type: "fence_swpcs_harness"), attributes: hook,
        action: "start"))
    #expect(monitor.rc == .success)
    let probe = await runner.run(
      OperationRequest(
        resource: "f", agent: AgentSpec(standard: .stonith, type: "fence_swpcs_harness"), action: "monitor"))
    #expect(probe.rc == .success, "started devices answer probes as running")

    let status = { (target: String) async -> Int in
      await runner.run(
        agent: "fence_swpcs_harness",
        input: FenceAgentRunner.input(
          action: "status", target: target, hostArgument: "port", plug: target, attributes: hook),
        timeoutMs: 5000
      ).exitStatus
    }
    #expect(await status("n2") == 0)
    let harness = box.answerHarness(ok: true)
    let off = await runner.fence(
      agent: "fence_swpcs_harness", attributes: hook + [Attribute("pcmk_host_check", "status")], target: "n2",
      action: "off", timeoutMs: 10_000)
    #expect(off.ok, "\(off.output)")
    #expect(await harness.value == "poweroff-n2")
    #expect(await status("n2") == 2)

    let refused = box.answerHarness(ok: false)
    let reboot = await runner.fence(
      agent: "fence_swpcs_harness",
      attributes: hook + [Attribute("pcmk_reboot_retries", "1"), Attribute("pcmk_host_list", "n2")],
      target: "n2",
      action: "reboot", timeoutMs: 10_000)
    #expect(!reboot.ok && reboot.exitStatus == 1, "\(reboot)")
    _ = await refused.value
  }

  @Test("dynamic-list: a device whose list lacks the target cannot fence it")
  func dynamicList() async throws {
    let box = try FenceSandbox()
    try box.install(
      "fence_listing",
      "#!/bin/sh\nread a\ncase \"$a\" in action=list) echo 'n1,'; echo 'n2,alias2';; *) echo done;; esac\nexit 0\n"
    )
    let runner = FenceAgentRunner(directory: box.root, baseEnvironment: environment)
    let no = await runner.fence(
      agent: "fence_listing", attributes: [], target: "n3", action: "off", timeoutMs: 5000)
    #expect(!no.ok && no.status == "cannot-fence")
    let yes = await runner.fence(
      agent: "fence_listing", attributes: [], target: "n2", action: "off", timeoutMs: 5000)
    #expect(yes.ok)
  }

  @Test(
    "Debian fence_dummy: metadata, no host argument, off/on change its status (2 off, 0 on)",
    .enabled(if: hasDebianFenceDummy, "Debian's fence-agents is not installed"))
  func debianFenceDummy() async throws {
    let box = try FenceSandbox()
    let runner = FenceAgentRunner(directory: "/usr/sbin", baseEnvironment: environment)
    let metadata = try #require(await runner.metadata(agent: "fence_dummy"))
    #expect(metadata.name == "fence_dummy")
    #expect(metadata.parameters.contains { $0.name == "status_file" })
    #expect(await runner.hostArgument(agent: "fence_dummy", attributes: []) == nil)
    let device = [
      Attribute("type", "file"), Attribute("status_file", "\(box.root)/status"),
      Attribute("pcmk_host_list", "n1 n2"),
    ]
    let status = {
      await runner.run(
        agent: "fence_dummy",
        input: FenceAgentRunner.input(
          action: "status", target: "n2", hostArgument: nil, plug: nil, attributes: device), timeoutMs: 20_000
      )
    }
    let on = await runner.fence(
      agent: "fence_dummy", attributes: device, target: "n2", action: "on", timeoutMs: 20_000)
    #expect(on.ok, "\(on.output)")
    #expect(await status().exitStatus == 0)
    let off = await runner.fence(
      agent: "fence_dummy", attributes: device, target: "n2", action: "off", timeoutMs: 20_000)
    #expect(off.ok, "\(off.output)")
    #expect(await status().exitStatus == 2)
    let monitor = await runner.run(
      OperationRequest(
        resource: "dummy", agent: AgentSpec(standard: .stonith, type: "fence_dummy"), attributes: device,
        action: "start", timeoutMs: 20_000))
    #expect(monitor.rc == .success)
    let hung = await runner.fence(
      agent: "fence_dummy", attributes: device + [Attribute("random_sleep_range", "30")], target: "n2",
      action: "reboot", timeoutMs: 1)
    #expect(!hung.ok)
  }
}
