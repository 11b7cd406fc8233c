import ConfigStore
import Foundation
import ResourceModel

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct ScratchDirectory {
  let path: String

  init() throws {
    path =
      FileManager.default.temporaryDirectory.appendingPathComponent("config-store-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: path) }

  func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

  func write(_ bytes: [UInt8], to name: String) {
    precondition(FileManager.default.createFile(atPath: "\(path)/\(name)", contents: Data(bytes)))
  }

  func bytes(of name: String) -> [UInt8] {
    [UInt8](FileManager.default.contents(atPath: "\(path)/\(name)") ?? Data())
  }
}

func version(_ epoch: UInt64, admin: UInt64 = 0, updates: UInt64 = 0) -> ConfigVersion {
  ConfigVersion(adminEpoch: admin, epoch: epoch, numUpdates: updates)
}

/// A small configuration touching every kind of value the model has.
func sampleConfiguration(_ version: ConfigVersion) -> ResourceConfiguration {
  let ip = Primitive(
    id: "ip", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "IPaddr2"),
    attributes: [Attribute("ip", "192.0.2.10"), Attribute("cidr_netmask", "24")],
    meta: ["resource-stickiness": "100"],
    operations: [OperationSpec(id: "ip-monitor", name: "monitor", intervalMs: 10_000, timeoutMs: 20_000)])
  let web = Primitive(id: "web", agent: AgentSpec(standard: .systemd, type: "nginx"))
  let fence = Primitive(id: "fence-n1", agent: AgentSpec(standard: .stonith, type: "fence_xvm"))
  return ResourceConfiguration(
    version: version,
    properties: ["stonith-enabled": "true", "no-quorum-policy": "stop"],
    resourceDefaults: ["migration-threshold": "3"],
    operationDefaults: ["timeout": "30s"],
    nodes: [NodeConfiguration(name: "n1", attributes: ["standby": "off"]), NodeConfiguration(name: "n2")],
    resources: [
      .group(Group(id: "site", members: [ip, web])),
      .clone(Clone(id: "ping-clone", promotable: false, child: .primitive(web))),
      .primitive(fence),
    ],
    constraints: Constraints(
      locations: [
        LocationConstraint(id: "site-prefers-n1", resource: "site", node: "n1", score: .infinity),
        LocationConstraint(
          id: "site-rule", resource: "site", score: .zero,
          rules: [
            LocationRule(
              id: "r1", score: .minusInfinity,
              expressions: [NodeExpression(attribute: "pingd", operation: "lt", value: "1", type: "integer")])
          ]),
      ],
      colocations: [ColocationConstraint(id: "c1", resource: "web", withResource: "ip", score: 500)],
      orders: [OrderConstraint(id: "o1", first: "ip", then: "web")]),
    fencingLevels: [FencingLevel(id: "fl1", target: "n1", index: 1, devices: ["fence-n1"])])
}
