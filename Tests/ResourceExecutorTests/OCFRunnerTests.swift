import Foundation
import ResourceExecutor
import ResourceModel
import Testing

@Suite("OCF runner with test agents")
struct OCFRunnerTests {
  @Test("parameters reach the agent verbatim through its environment, never through a shell")
  func environmentPassing() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install("envdump", script: "#!/bin/sh\nexec cat /proc/self/environ\n")
    var runner = sandbox.runner(outputLimit: 65_536)
    runner.baseEnvironment = [
      "PATH": "/usr/bin:/bin", "OCF_RESKEY_stale": "from the executor", "HA_debug": "1",
    ]
    let tricky = "a b \"q\" 'x' $(touch \(sandbox.path("pwned"))) `id` ;|&\nsecond line"
    let request = OperationRequest(
      resource: "web-ip", agent: agent,
      attributes: [Attribute("ip", "192.0.2.100"), Attribute("weird", tricky)],
      action: "monitor", intervalMs: 10_000, timeoutMs: 1500, meta: ["clone-max": "2", "notify": "true"])

    let result = await runner.run(request)

    #expect(result.rc == .success)
    let env = Dictionary(
      result.output.split(separator: "\0").map { line -> (String, String) in
        let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
      }, uniquingKeysWith: { a, _ in a })
    #expect(env["OCF_ROOT"] == sandbox.root)
    #expect(env["OCF_RESOURCE_INSTANCE"] == "web-ip")
    #expect(env["OCF_RESOURCE_TYPE"] == "envdump")
    #expect(env["OCF_RESOURCE_PROVIDER"] == "test")
    #expect(env["OCF_RA_VERSION_MAJOR"] == "1")
    #expect(env["OCF_RESKEY_ip"] == "192.0.2.100")
    #expect(env["OCF_RESKEY_weird"] == tricky)
    #expect(env["OCF_RESKEY_CRM_meta_timeout"] == "1500")
    #expect(env["OCF_RESKEY_CRM_meta_interval"] == "10000")
    #expect(env["OCF_RESKEY_CRM_meta_clone_max"] == "2")
    #expect(env["OCF_RESKEY_CRM_meta_notify"] == "true")
    #expect(env["OCF_RESKEY_stale"] == nil)
    #expect(env["HA_debug"] == "1")
    #expect(env["PATH"] == "/usr/bin:/bin")
    #expect(!FileManager.default.fileExists(atPath: sandbox.path("pwned")))
  }

  @Test("an anonymous clone instance is known to its agent by the resource's id, a unique one by its own")
  func cloneInstanceName() throws {
    let sandbox = try AgentSandbox()
    let instance = { (meta: [String: String]) throws -> String? in
      let request = OperationRequest(
        resource: "web:2", agent: AgentSpec(standard: .ocf, provider: "test", type: "x"), action: "start",
        meta: meta)
      return try sandbox.runner().environment(for: request)["OCF_RESOURCE_INSTANCE"]
    }
    #expect(try instance(["clone": "2", "globally-unique": "false"]) == "web")
    #expect(try instance(["clone": "2", "globally-unique": "true"]) == "web:2")
    #expect(try instance(["clone": "2", "globally-unique": "yes"]) == "web:2")
  }

  @Test("an unset timeout is Pacemaker's default of 20 s, not zero")
  func defaultTimeout() throws {
    let sandbox = try AgentSandbox()
    let request = OperationRequest(
      resource: "r", agent: AgentSpec(standard: .ocf, provider: "test", type: "x"), action: "start",
      timeoutMs: 0)
    #expect(try sandbox.runner().environment(for: request)["OCF_RESKEY_CRM_meta_timeout"] == "20000")
  }

  @Test("the action is the agent's only argument")
  func actionArgument() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install("args", script: "#!/bin/sh\necho \"$#:$1\"\n")
    let result = await sandbox.runner().run(
      OperationRequest(resource: "r", agent: agent, action: "validate-all"))
    #expect(result.output == "1:validate-all\n")
  }

  @Test(
    "exit statuses are mapped as Pacemaker maps them",
    arguments: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191, 42, 255])
  func exitStatus(status: Int) async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install("exit", script: "#!/bin/sh\nexit $OCF_RESKEY_code\n")
    let result = await sandbox.runner().run(
      OperationRequest(
        resource: "r", agent: agent, attributes: [Attribute("code", "\(status)")], action: "monitor"))
    #expect(result.status == .done)
    #expect(result.exitStatus == status)
    #expect(result.rc == OCFExitCode(exitStatus: status))
  }

  @Test("an agent that ignores SIGTERM is killed with its whole process group after the grace period")
  func timeoutKillsGroup() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install(
      "hang",
      script: """
        #!/bin/sh
        trap '' TERM
        echo $$ > "$OCF_RESKEY_pidfile"
        echo "started"
        sleep 1000 &
        while :; do sleep 1; done
        """)
    let request = OperationRequest(
      resource: "r", agent: agent, attributes: [Attribute("pidfile", sandbox.path("pid"))], action: "start",
      timeoutMs: 300)

    let result = await sandbox.runner(grace: .milliseconds(300)).run(request)

    #expect(result.status == .timedOut)
    #expect(result.rc == .genericError)
    #expect(result.output == "started\n")
    #expect(result.durationMs >= 600)
    #expect(result.durationMs < 600 + 4000, "returned within timeout + grace (+ slack for a loaded machine)")
    let group = try #require(
      Int32(
        String(contentsOfFile: sandbox.path("pid"), encoding: .utf8).trimmingCharacters(
          in: .whitespacesAndNewlines)))
    #expect(survivors(ofGroup: group).isEmpty, "nothing of the agent's process group survives")
  }

  @Test("an agent that honours SIGTERM ends at the timeout, without waiting for the grace period")
  func timeoutPoliteAgent() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install("slow", script: "#!/bin/sh\nexec sleep 30\n")
    let result = await sandbox.runner(grace: .seconds(5)).run(
      OperationRequest(resource: "r", agent: agent, action: "start", timeoutMs: 200))
    #expect(result.status == .timedOut)
    #expect(result.durationMs < 4500, "well before the 5 s grace")
  }

  @Test("a background child holding stdout open does not delay the result")
  func backgroundChild() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install(
      "daemonize", script: "#!/bin/sh\nsleep 30 &\necho $! > \"$OCF_RESKEY_pidfile\"\necho done\nexit 0\n")
    let result = await sandbox.runner().run(
      OperationRequest(
        resource: "r", agent: agent, attributes: [Attribute("pidfile", sandbox.path("pid"))], action: "start")
    )
    #expect(result.rc == .success)
    #expect(result.output == "done\n")
    #expect(result.durationMs < 10_000, "not the 30 s the child lives")
    if let pid = Int32(
      (try? String(contentsOfFile: sandbox.path("pid"), encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
    {
      kill(pid, SIGKILL)
    }
  }

  @Test("only the tail of a long output is kept")
  func boundedOutput() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install(
      "chatty",
      script: "#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' x\necho\necho TAIL-MARKER\necho oops >&2\n")
    let result = await sandbox.runner(outputLimit: 4096).run(
      OperationRequest(resource: "r", agent: agent, action: "monitor"))
    #expect(result.rc == .success)
    #expect(result.output.utf8.count == 4096)
    #expect(result.output.hasSuffix("TAIL-MARKER\n"))
    #expect(result.errorOutput == "oops\n")
  }

  @Test("an agent killed by a signal is an executor error")
  func killedBySignal() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install("crash", script: "#!/bin/sh\nkill -KILL $$\n")
    let result = await sandbox.runner().run(OperationRequest(resource: "r", agent: agent, action: "start"))
    #expect(result.status == .error("agent terminated by signal 9"))
    #expect(result.rc == .genericError)
  }

  @Test("a missing agent is not installed; one that cannot be executed lacks privileges")
  func missingAgent() async throws {
    let sandbox = try AgentSandbox()
    let runner = sandbox.runner()
    let missing = await runner.run(
      OperationRequest(
        resource: "r", agent: AgentSpec(standard: .ocf, provider: "test", type: "nope"), action: "start"))
    #expect(missing.rc == .notInstalled)
    #expect(missing.status == .notInstalled)

    let agent = try sandbox.install("noexec", script: "#!/bin/sh\nexit 0\n", mode: 0o644)
    let noexec = await runner.run(OperationRequest(resource: "r", agent: agent, action: "start"))
    #expect(noexec.rc == .insufficientPrivileges, "even root needs an x bit to execute")
    #expect(noexec.severity == .hard)
  }

  @Test("agent names cannot leave resource.d", arguments: ["..", "../x", ".hidden", "a/b", ""])
  func pathTraversal(type: String) async throws {
    let sandbox = try AgentSandbox()
    let runner = sandbox.runner()
    let spec = AgentSpec(standard: .ocf, provider: "test", type: type)
    #expect(runner.executablePath(for: spec) == nil)
    let result = await runner.run(OperationRequest(resource: "r", agent: spec, action: "start"))
    #expect(result.rc == .notInstalled)
  }

  @Test("a parameter name that an environment cannot carry is an invalid argument")
  func invalidParameterName() async throws {
    let sandbox = try AgentSandbox()
    let agent = try sandbox.install("ok", script: "#!/bin/sh\nexit 0\n")
    let result = await sandbox.runner().run(
      OperationRequest(resource: "r", agent: agent, attributes: [Attribute("a=b", "1")], action: "start"))
    #expect(result.rc == .invalidArguments)
    #expect(result.severity == .hard)
  }
}
