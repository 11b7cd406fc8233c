import Foundation
import FoundationXML
import ResourceExecutor
import ResourceModel
import Testing

/// Debian's `resource-agents`, run unchanged.
@Suite(
  "Debian resource-agents",
  .enabled(
    if: Host.hasResourceAgents, "needs Debian's resource-agents package (apt-get install resource-agents)"))
struct DebianAgentTests {
  let dummy = AgentSpec(standard: .ocf, provider: "heartbeat", type: "Dummy")

  @Test("ocf:heartbeat:Dummy: start, monitor 0, stop, monitor 7")
  func dummyLifecycle() async throws {
    let sandbox = try AgentSandbox()  // only for a private state file
    let runner = OCFRunner()
    func run(_ action: String) async -> OperationResult {
      await runner.run(
        OperationRequest(
          resource: "dummy-\(UInt32.random(in: 0...UInt32.max))", agent: dummy,
          attributes: [Attribute("state", sandbox.path("Dummy.state"))], action: action, timeoutMs: 20_000))
    }
    #expect(await run("validate-all").rc == .success)
    #expect(await run("monitor").rc == .notRunning)
    let start = await run("start")
    #expect(start.rc == .success, "\(start.errorOutput)")
    #expect(await run("monitor").rc == .success)
    #expect(await run("stop").rc == .success)
    #expect(await run("monitor").rc == .notRunning)
  }

  @Test("meta-data of Dummy is the agent's XML description")
  func dummyMetadata() async throws {
    let result = await OCFRunner().run(OperationRequest(resource: "Dummy", agent: dummy, action: "meta-data"))
    #expect(result.rc == .success)
    #expect(result.output.contains("<resource-agent name=\"Dummy\""))
    let document = try XMLDocument(xmlString: result.output)
    let root = try #require(document.rootElement())
    #expect(root.name == "resource-agent")
    #expect(root.attribute(forName: "name")?.stringValue == "Dummy")
    let actions = try document.nodes(forXPath: "/resource-agent/actions/action/@name").compactMap(
      \.stringValue)
    #expect(Set(["start", "stop", "monitor", "meta-data", "validate-all"]).isSubset(of: Set(actions)))
  }

  @Test(
    "ocf:heartbeat:IPaddr2 adds and removes 192.0.2.100/24 in a private network namespace",
    .enabled(
      if: Host.canMakeNetworkNamespaces, "needs root, unshare and nsenter to create a network namespace"))
  func ipaddr2() async throws {
    let sandbox = try AgentSandbox()
    let namespace = sandbox.path("netns")
    try #require(FileManager.default.createFile(atPath: namespace, contents: nil))
    try shell(["/usr/bin/unshare", "--net=\(namespace)", "/bin/true"])
    defer { _ = try? shell(["/bin/umount", namespace]) }
    let inside = ["/usr/bin/nsenter", "--net=\(namespace)", "--"]
    // This kernel has no dummy interfaces: a veth pair inside the namespace gives eth0 a carrier.
    try shell(inside + ["/sbin/ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
    try shell(inside + ["/sbin/ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"])
    try shell(inside + ["/sbin/ip", "link", "set", "eth0p", "up"])
    try shell(inside + ["/sbin/ip", "link", "set", "eth0", "up"])

    var runner = OCFRunner()
    runner.launcher = inside
    // send_arp's pid file lives in HA_RSCTMP; keep it private to the test.
    runner.baseEnvironment["HA_RSCTMP"] = sandbox.root
    func run(_ action: String) async -> OperationResult {
      await runner.run(
        OperationRequest(
          resource: "vip", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "IPaddr2"),
          attributes: [
            Attribute("ip", "192.0.2.100"), Attribute("cidr_netmask", "24"), Attribute("nic", "eth0"),
          ],
          action: action, timeoutMs: 20_000))
    }
    #expect(await run("monitor").rc == .notRunning)
    let start = await run("start")
    #expect(start.rc == .success, "\(start.errorOutput)")
    #expect(try shell(inside + ["/sbin/ip", "-4", "addr", "show", "dev", "eth0"]).contains("192.0.2.100/24"))
    #expect(await run("monitor").rc == .success)
    #expect(await run("stop").rc == .success)
    #expect(await run("monitor").rc == .notRunning)
    #expect(!(try shell(inside + ["/sbin/ip", "-4", "addr", "show", "dev", "eth0"]).contains("192.0.2.100")))
  }
}
