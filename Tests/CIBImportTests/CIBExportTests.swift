import ResourceModel
import Testing

@testable import CIBImport

/// `swpcs config export-cib` then `import-cib` must give back the same configuration.
struct CIBExportTests {
  static let configuration = ResourceConfiguration(
    version: ConfigVersion(adminEpoch: 1, epoch: 42, numUpdates: 3),
    properties: [
      "stonith-enabled": "true", "no-quorum-policy": "freeze", "cluster-recheck-interval": "5min",
    ],
    resourceDefaults: ["resource-stickiness": "100", "migration-threshold": "3"],
    operationDefaults: ["timeout": "30s"],
    nodes: [
      NodeConfiguration(name: "n1", attributes: ["rack": "a & b"], id: "1"),
      NodeConfiguration(name: "n2", attributes: ["standby": "on"], id: "2", score: Score(10)),
      NodeConfiguration(name: "n3"),
    ],
    resources: [
      .primitive(
        Primitive(
          id: "ip", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "IPaddr2"),
          attributes: [Attribute("ip", "192.0.2.60"), Attribute("cidr_netmask", "24")],
          meta: ["target-role": "Stopped"],
          operations: [
            OperationSpec(
              id: "ip-monitor", name: "monitor", intervalMs: 10_000, timeoutMs: 20_000, onFail: "restart"),
            OperationSpec(
              id: "ip-deep", name: "monitor", intervalMs: 61_500, enabled: false,
              extra: ["OCF_CHECK_LEVEL": "10", "start-delay": "5s"]),
          ])),
      .group(
        Group(
          id: "web", meta: ["is-managed": "false"],
          members: [
            Primitive(id: "fs", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "Filesystem")),
            Primitive(id: "nginx", agent: AgentSpec(standard: .systemd, type: "nginx")),
          ])),
      .clone(
        Clone(
          id: "db-clone", meta: ["promotable": "true", "promoted-max": "1"], promotable: true,
          child: .primitive(
            Primitive(
              id: "db", agent: AgentSpec(standard: .ocf, provider: "pacemaker", type: "Stateful"),
              operations: [
                OperationSpec(id: "db-mon-p", name: "monitor", intervalMs: 5_000, role: "Promoted")
              ])))),
      .primitive(Primitive(id: "fencer", agent: AgentSpec(standard: .stonith, type: "fence_xvm"))),
    ],
    constraints: Constraints(
      locations: [
        LocationConstraint(id: "loc-ip", resource: "ip", node: "n1", score: .infinity),
        LocationConstraint(
          id: "loc-rule", resource: "web", score: .zero, role: nil,
          rules: [
            LocationRule(
              id: "loc-rule-r", score: .minusInfinity, booleanOp: "or",
              expressions: [
                NodeExpression(attribute: "rack", operation: "eq", value: "b"),
                NodeExpression(attribute: "pingd", operation: "not_defined"),
              ]),
            LocationRule(
              id: "loc-rule-s", score: .zero, scoreAttribute: "pingd",
              expressions: [NodeExpression(attribute: "pingd", operation: "gt", value: "0", type: "integer")]),
          ]),
      ],
      colocations: [
        ColocationConstraint(
          id: "col", resource: "web", withResource: "db-clone", score: .infinity, withRole: "Promoted")
      ],
      orders: [
        OrderConstraint(
          id: "ord", first: "db-clone", firstAction: "promote", then: "web", thenAction: "start"),
        OrderConstraint(id: "ord-opt", first: "ip", then: "web", kind: .optional, symmetrical: false),
        OrderConstraint(id: "ord-ser", first: "ip", then: "fs", kind: .serialize, symmetrical: false),
      ]),
    fencingLevels: [FencingLevel(id: "fl-1", target: "n1", index: 1, devices: ["fencer"])])

  @Test("an exported configuration imports back unchanged, with nothing reported unsupported")
  func roundTrip() throws {
    let xml = CIBExporter.xml(Self.configuration)
    let document = try CIBDocument.parse(xml: xml)
    #expect(document.unsupported == [])
    #expect(document.configuration == Self.configuration)
  }

  @Test("import-cib leaves out the properties Pacemaker writes about itself, and says so")
  func managedPropertiesReported() throws {
    let xml = CIBFixtures.cib(
      properties: #"""
        <nvpair id="p1" name="dc-version" value="2.1.5-a3f44794f94"/>
        <nvpair id="p2" name="stonith-enabled" value="false"/>
        """#)
    let imported = try CIBDocument.importConfiguration(xml: xml)
    #expect(imported.configuration.properties == ["stonith-enabled": "false"])
    #expect(imported.unsupported.map(\.id) == ["dc-version"])
    #expect(imported.unsupported.allSatisfy { !$0.affectsScheduling })
  }

  @Test("import-cib reports shutdown-lock: swpacemakerd does not keep the locks")
  func shutdownLockReported() throws {
    let xml = CIBFixtures.cib(properties: #"<nvpair id="p1" name="shutdown-lock" value="true"/>"#)
    let imported = try CIBDocument.importConfiguration(xml: xml)
    #expect(imported.configuration.properties["shutdown-lock"] == "true")
    #expect(imported.unsupported.map(\.id) == ["shutdown-lock"])
    #expect(imported.unsupported.allSatisfy { $0.affectsScheduling })
  }

  @Test("a CIB imported and exported keeps its resources, constraints and unsupported report")
  func importThenExport() throws {
    let xml = CIBFixtures.cib(
      resources: CIBFixtures.primitive("a") + #"<group id="g">"# + CIBFixtures.primitive("b") + "</group>",
      constraints: #"""
        <rsc_location id="l" rsc="a" node="n2" score="-INFINITY"/>
        <rsc_colocation id="c" rsc="g" with-rsc="a" score="500"/>
        <rsc_ticket id="t" rsc="a" ticket="T"/>
        """#)
    let first = try CIBDocument.importConfiguration(xml: xml)
    #expect(first.unsupported.map(\.element) == ["rsc_ticket"])
    let second = try CIBDocument.importConfiguration(xml: CIBExporter.xml(first.configuration))
    #expect(second.configuration == first.configuration)
    #expect(second.unsupported == [])
  }

  @Test("values are XML-escaped")
  func escaping() {
    #expect(XMLWriter.escape(#"a<b & "c">"#) == "a&lt;b &amp; &quot;c&quot;&gt;")
  }
}
