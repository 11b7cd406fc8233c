import ResourceModel
import Testing

@testable import CIBImport

/// A CIB written for these tests that touches every configuration element the importer reads.
private let fullConfiguration = CIBFixtures.cib(
  properties: """
    <nvpair id="p1" name="stonith-enabled" value="false"/>
    <nvpair id="p2" name="no-quorum-policy" value="freeze"/>
    </cluster_property_set>
    <cluster_property_set id="low" score="-10">
      <nvpair id="p3" name="no-quorum-policy" value="ignore"/>
      <nvpair id="p4" name="cluster-name" value="lab"/>
    """,
  nodes: """
    <node id="101" uname="alpha" type="member" score="150">
      <instance_attributes id="alpha-attrs">
        <nvpair id="alpha-standby" name="standby" value="on"/>
        <nvpair id="alpha-rack" name="rack" value="3"/>
      </instance_attributes>
    </node>
    <node id="beta" uname="beta"/>
    """,
  resources: """
    <primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2">
      <instance_attributes id="ip-params">
        <nvpair id="ip-addr" name="ip" value="192.0.2.10"/>
        <nvpair id="ip-mask" name="cidr_netmask" value="24"/>
      </instance_attributes>
      <meta_attributes id="ip-meta">
        <nvpair id="ip-tr" name="target-role" value="master"/>
        <nvpair id="ip-stick" name="resource-stickiness" value="INFINITY"/>
      </meta_attributes>
      <operations>
        <op id="ip-mon" name="monitor" interval="10s" timeout="20s" on-fail="Block"/>
        <op id="ip-mon2" name="monitor" interval="10000" role="Slave" enabled="false"/>
        <op id="ip-start" name="start" interval="0" timeout="1min"/>
        <op id="ip-stop" name="stop" interval="PT0S" timeout="PT1M30S" record-pending="true">
          <meta_attributes id="ip-stop-meta"><nvpair id="ip-stop-delay" name="start-delay" value="5s"/></meta_attributes>
        </op>
      </operations>
    </primitive>
    <group id="web">
      <meta_attributes id="web-meta"><nvpair id="web-tr" name="target-role" value="Stopped"/></meta_attributes>
      <primitive id="fs" class="ocf" provider="heartbeat" type="Filesystem">
        <meta_attributes id-ref="ip-meta"/>
      </primitive>
      <primitive id="httpd" class="systemd" type="httpd">
        <instance_attributes id="httpd-params"><nvpair id-ref="ip-addr"/></instance_attributes>
      </primitive>
    </group>
    <clone id="ping-clone">
      <meta_attributes id="ping-clone-meta"><nvpair id="pcm" name="clone-max" value="2"/></meta_attributes>
      <primitive id="ping" class="ocf" provider="pacemaker" type="ping"/>
    </clone>
    <master id="db-ms">
      <meta_attributes id="db-ms-meta"><nvpair id="dmm" name="master-max" value="1"/></meta_attributes>
      <primitive id="db" class="ocf" provider="linbit" type="drbd"/>
    </master>
    <clone id="stateful-clone">
      <meta_attributes id="sc-meta"><nvpair id="scp" name="promotable" value="true"/></meta_attributes>
      <group id="stateful-group">
        <primitive id="s1" class="ocf" provider="pacemaker" type="Stateful"/>
        <primitive id="s2" class="lsb" type="s2d"/>
      </group>
    </clone>
    <primitive id="fence-1" class="stonith" type="fence_ipmilan"/>
    """,
  constraints: """
    <rsc_location id="l1" rsc="ip" node="alpha" score="INFINITY"/>
    <rsc_location id="l2" rsc="web" node="beta" score="-INFINITY" role="Master"/>
    <rsc_location id="l3" rsc="ping-clone">
      <rule id="l3-r1" score="-INFINITY" boolean-op="or">
        <expression id="l3-e1" attribute="pingd" operation="not_defined"/>
        <expression id="l3-e2" attribute="pingd" operation="lte" value="0" type="number"/>
      </rule>
      <rule id="l3-r2" score-attribute="pingd" role="Slave">
        <expression id="l3-e3" attribute="#uname" operation="eq" value="alpha"/>
      </rule>
    </rsc_location>
    <rsc_location id="l4" rsc="ip">
      <rule id="l4-r" score="10"><date_expression id="l4-d" operation="gt" start="2024-01-01"/></rule>
    </rsc_location>
    <rsc_colocation id="c1" rsc="web" with-rsc="db-ms" score="INFINITY" rsc-role="Started" with-rsc-role="Master"/>
    <rsc_colocation id="c2" rsc="ip" with-rsc="ping-clone" score="-500" node-attribute="rack"/>
    <rsc_colocation id="c3" score="INFINITY">
      <resource_set id="c3-set"><resource_ref id="ip"/><resource_ref id="web"/></resource_set>
    </rsc_colocation>
    <rsc_order id="o1" first="ip" then="web" score="0"/>
    <rsc_order id="o2" first="db-ms" first-action="promote" then="web" then-action="start" kind="Mandatory"/>
    <rsc_order id="o3" first="ping-clone" then="ip" kind="Serialize" symmetrical="true"/>
    <rsc_order id="o4" first="ping-clone" first-action="stop" then="db-ms" require-all="false" symmetrical="false"/>
    <rsc_ticket id="t1" rsc="ip" ticket="T"/>
    """,
  extra: """
    <rsc_defaults>
      <meta_attributes id="rsc-options"><nvpair id="rd1" name="migration-threshold" value="3"/></meta_attributes>
    </rsc_defaults>
    <op_defaults>
      <meta_attributes id="op-options"><nvpair id="od1" name="timeout" value="40s"/></meta_attributes>
    </op_defaults>
    <fencing-topology>
      <fencing-level id="fl1" target="alpha" index="1" devices="fence-1,fence-2"/>
      <fencing-level id="fl2" target-pattern="^b" index="2" devices="fence-1"/>
    </fencing-topology>
    <acls/>
    """)

@Suite("Configuration import")
struct ConfigurationImportTests {
  let document: CIBDocument
  var config: ResourceConfiguration { document.configuration }

  init() throws {
    document = try CIBDocument.parse(xml: fullConfiguration)
  }

  @Test("version comes from the cib element") func versionComesFromTheCibElement() {
    #expect(config.version == ConfigVersion(adminEpoch: 1, epoch: 7, numUpdates: 3))
    #expect(document.validateWith == "pacemaker-3.7")
    #expect(document.dcUuid == "1")
    #expect(document.haveQuorum == true)
  }

  @Test("properties keep their names and the highest-scored set wins")
  func propertiesKeepTheirNamesAndTheHighestScoredSetWins() {
    #expect(config.properties["stonith-enabled"] == "false")
    #expect(config.properties["no-quorum-policy"] == "freeze")
    #expect(config.properties["cluster-name"] == "lab")
  }

  @Test("defaults are read from meta attributes") func defaultsAreReadFromMetaAttributes() {
    #expect(config.resourceDefaults == ["migration-threshold": "3"])
    #expect(config.operationDefaults == ["timeout": "40s"])
  }

  @Test("nodes carry name, id, score and permanent attributes")
  func nodesCarryNameIdScoreAndPermanentAttributes() {
    #expect(config.nodes.map(\.name) == ["alpha", "beta"])
    #expect(config.nodes[0].id == "101")
    #expect(config.nodes[0].score == Score(150))
    #expect(config.nodes[0].attributes == ["standby": "on", "rack": "3"])
    #expect(config.nodes[1].id == nil)
  }

  @Test("primitive agent, attributes and meta are read") func primitiveAgentAttributesAndMetaAreRead() throws
  {
    guard case .primitive(let ip) = config.resources[0] else {
      Issue.record("first resource is not a primitive")
      return
    }
    #expect(ip.agent == AgentSpec(standard: .ocf, provider: "heartbeat", type: "IPaddr2"))
    #expect(ip.attributes == [Attribute("ip", "192.0.2.10"), Attribute("cidr_netmask", "24")])
    #expect(ip.meta["target-role"] == "Promoted")
    #expect(ip.meta["resource-stickiness"] == "INFINITY")
  }

  @Test("operations parse every interval spelling") func operationsParseEveryIntervalSpelling() throws {
    guard case .primitive(let ip) = config.resources[0] else { return }
    let ops = Dictionary(uniqueKeysWithValues: ip.operations.map { ($0.id, $0) })
    #expect(ops["ip-mon"]?.intervalMs == 10_000)
    #expect(ops["ip-mon"]?.timeoutMs == 20_000)
    #expect(ops["ip-mon"]?.onFail == "block")
    #expect(ops["ip-mon2"]?.intervalMs == 10_000_000)  // a bare number is seconds
    #expect(ops["ip-mon2"]?.role == "Unpromoted")
    #expect(ops["ip-mon2"]?.enabled == false)
    #expect(ops["ip-start"]?.timeoutMs == 60_000)
    #expect(ops["ip-stop"]?.intervalMs == 0)
    #expect(ops["ip-stop"]?.timeoutMs == 90_000)
    #expect(ops["ip-stop"]?.extra == ["record-pending": "true", "start-delay": "5s"])
  }

  @Test("groups keep member order and resolve id-refs") func groupsKeepMemberOrderAndResolveIdRefs() throws {
    guard case .group(let web) = config.resources[1] else {
      Issue.record("second resource is not a group")
      return
    }
    #expect(web.members.map(\.id) == ["fs", "httpd"])
    #expect(web.meta["target-role"] == "Stopped")
    #expect(web.members[0].meta["resource-stickiness"] == "INFINITY")  // meta_attributes id-ref
    #expect(web.members[1].attributes == [Attribute("ip", "192.0.2.10")])  // nvpair id-ref
    #expect(web.members[1].agent == AgentSpec(standard: .systemd, type: "httpd"))
  }

  @Test("clones, master elements and promotable clones") func clonesMasterElementsAndPromotableClones() throws
  {
    guard case .clone(let ping) = config.resources[2], case .clone(let db) = config.resources[3],
      case .clone(let stateful) = config.resources[4]
    else {
      Issue.record("resources 2-4 are not clones")
      return
    }
    #expect(!ping.promotable)
    #expect(ping.meta["clone-max"] == "2")
    #expect(db.promotable)
    #expect(db.meta["promoted-max"] == "1")  // master-max renamed
    #expect(stateful.promotable)
    guard case .group(let group) = stateful.child else {
      Issue.record("stateful clone does not hold a group")
      return
    }
    #expect(group.members.map(\.id) == ["s1", "s2"])
  }

  @Test("location constraints with nodes and rules") func locationConstraintsWithNodesAndRules() {
    let locations = config.constraints.locations
    #expect(locations.map(\.id) == ["l1", "l2", "l3"])  // l4 has only a date rule
    #expect(locations[0].node == "alpha" && locations[0].score == .infinity)
    #expect(locations[1].score == .minusInfinity && locations[1].role == "Promoted")
    let rules = locations[2].rules
    #expect(rules.count == 2)
    #expect(rules[0].booleanOp == "or" && rules[0].score == .minusInfinity)
    #expect(
      rules[0].expressions == [
        NodeExpression(attribute: "pingd", operation: "not_defined"),
        NodeExpression(attribute: "pingd", operation: "lte", value: "0", type: "number"),
      ])
    #expect(rules[1].scoreAttribute == "pingd" && rules[1].role == "Unpromoted")
  }

  @Test("colocations with roles and node attribute") func colocationsWithRolesAndNodeAttribute() {
    let colocations = config.constraints.colocations
    #expect(colocations.map(\.id) == ["c1", "c2"])  // c3 is a resource set
    #expect(colocations[0].role == "Started" && colocations[0].withRole == "Promoted")
    #expect(colocations[1].score == Score(-500) && colocations[1].nodeAttribute == "rack")
  }

  @Test("orders: old score, kinds, defaults, symmetry and require-all")
  func ordersOldScoreKindsDefaultsSymmetryAndRequireAll() {
    let orders = Dictionary(uniqueKeysWithValues: config.constraints.orders.map { ($0.id, $0) })
    #expect(orders["o1"]?.kind == .optional)
    #expect(orders["o1"]?.firstAction == "start" && orders["o1"]?.thenAction == "start")
    #expect(orders["o1"]?.symmetrical == true)
    #expect(orders["o2"]?.firstAction == "promote" && orders["o2"]?.kind == .mandatory)
    #expect(orders["o3"]?.kind == .serialize && orders["o3"]?.symmetrical == false)
    #expect(orders["o4"]?.thenAction == "stop")  // defaults to first-action
    #expect(orders["o4"]?.requireAll == false && orders["o4"]?.symmetrical == false)
  }

  @Test("fencing topology levels") func fencingTopologyLevels() {
    #expect(
      config.fencingLevels == [
        FencingLevel(id: "fl1", target: "alpha", index: 1, devices: ["fence-1", "fence-2"])
      ])
  }

  @Test("everything not carried is reported") func everythingNotCarriedIsReported() {
    let reported = Set(document.unsupported.map { "\($0.element) \($0.id ?? "-")" })
    #expect(reported.contains("date_expression l4-d"))
    #expect(reported.contains("rsc_location l4"))
    #expect(reported.contains("rsc_colocation c3"))
    #expect(reported.contains("rsc_ticket t1"))
    #expect(reported.contains("fencing-level fl2"))
    #expect(reported.contains("acls -"))
    #expect(document.unsupported.first { $0.element == "acls" }?.affectsScheduling == false)
    #expect(document.schedulingGaps.count == document.unsupported.count - 1)
  }
}

@Suite("Unsupported resources and errors")
struct UnsupportedAndErrorTests {
  @Test("bundles, templates and remote connections are reported")
  func bundlesTemplatesAndRemoteConnectionsAreReported() throws {
    let document = try CIBDocument.parse(
      xml: CIBFixtures.cib(
        resources: """
          <bundle id="b1"/>
          <template id="tpl" class="ocf" provider="pacemaker" type="Dummy"/>
          <primitive id="from-tpl" template="tpl"/>
          <primitive id="remote1" class="ocf" provider="pacemaker" type="remote"/>
          <primitive id="odd" class="nagios" type="check_http"/>
          """))
    let reported = document.unsupported.map { "\($0.element) \($0.id ?? "-") \($0.affectsScheduling)" }
    #expect(
      reported == [
        "bundle b1 true", "template tpl false", "primitive from-tpl true", "primitive remote1 true",
        "primitive odd true",
      ])
    #expect(document.configuration.resources.map(\.id) == ["remote1"])
  }

  @Test("resources inside containers are carried; inside a remote node they are reported")
  func containers() throws {
    let document = try CIBDocument.parse(
      xml: CIBFixtures.cib(
        resources: #"<primitive id="remote1" class="ocf" provider="pacemaker" type="remote"/>"#
          + CIBFixtures.primitive("vm", meta: #"<nvpair id="vm-g" name="remote-node" value="guest1"/>"#)
          + CIBFixtures.primitive("box")
          + CIBFixtures.primitive("app", meta: #"<nvpair id="app-c" name="container" value="box"/>"#)
          + CIBFixtures.primitive("on-remote", meta: #"<nvpair id="r-c" name="container" value="remote1"/>"#)
          + CIBFixtures.primitive("in-guest", meta: #"<nvpair id="g-c" name="container" value="vm"/>"#),
        status: CIBFixtures.nodeState(
          id: "1", uname: "n1",
          attributes: ##"<nvpair id="d" name="#digests-all" value="f:fence_scsi:abc,"/>"##)))
    let reported = document.unsupported.map { "\($0.element) \($0.id ?? "-")" }
    #expect(
      reported == [
        "primitive remote1", "primitive vm", "primitive in-guest", "primitive on-remote", "nvpair 1",
      ])
    guard case .primitive(let app) = document.configuration.resources[3] else {
      Issue.record("app is a primitive")
      return
    }
    #expect(app.meta["container"] == "box")
  }

  @Test("utilization matters only with a placement strategy")
  func utilizationMattersOnlyWithAPlacementStrategy() throws {
    let resources = """
      <primitive id="r" class="ocf" provider="pacemaker" type="Dummy">
        <utilization id="r-u"><nvpair id="r-u1" name="cpu" value="2"/></utilization>
      </primitive>
      """
    let plain = try CIBDocument.parse(xml: CIBFixtures.cib(resources: resources))
    #expect(plain.unsupported.map(\.affectsScheduling) == [false])
    let balanced = try CIBDocument.parse(
      xml: CIBFixtures.cib(
        properties: #"<nvpair id="ps" name="placement-strategy" value="balanced"/>"#, resources: resources))
    #expect(balanced.unsupported.map(\.affectsScheduling) == [true])
  }

  @Test("malformed XML is an error with a line") func malformedXMLIsAnErrorWithALine() {
    #expect(throws: CIBImportError.self) { try CIBDocument.parse(xml: "<cib><configuration>") }
  }

  @Test("a document that is not a CIB is rejected") func aDocumentThatIsNotACIBIsRejected() {
    #expect(throws: CIBImportError.notACIB(root: "cluster")) { try CIBDocument.parse(xml: "<cluster/>") }
    #expect(throws: CIBImportError.missingSection("configuration")) { try CIBDocument.parse(xml: "<cib/>") }
  }

  @Test("missing required attributes name the element and line")
  func missingRequiredAttributesNameTheElementAndLine() {
    let xml = CIBFixtures.cib(resources: #"<primitive class="ocf" provider="p" type="t"/>"#)
    #expect(throws: CIBImportError.self) { try CIBDocument.parse(xml: xml) }
    do {
      _ = try CIBDocument.parse(xml: xml)
    } catch {
      guard case .missingAttribute(let element, let attribute, _) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(element == "primitive" && attribute == "id")
    }
  }

  @Test("invalid scores and intervals are errors") func invalidScoresAndIntervalsAreErrors() {
    #expect(throws: CIBImportError.self) {
      try CIBDocument.parse(
        xml: CIBFixtures.cib(constraints: #"<rsc_location id="l" rsc="r" node="n1" score="lots"/>"#))
    }
    #expect(throws: CIBImportError.self) {
      try CIBDocument.parse(
        xml: CIBFixtures.cib(
          resources: CIBFixtures.primitive("r", ops: #"<op id="m" name="monitor" interval="often"/>"#)))
    }
  }
}

@Suite("Pacemaker value spellings")
struct PacemakerValueTests {
  @Test(
    "durations",
    arguments: [
      ("10", 10_000), ("10s", 10_000), ("10sec", 10_000), ("500ms", 500), ("500msec", 500), ("2min", 120_000),
      ("2m", 120_000), ("1h", 3_600_000), ("1hr", 3_600_000), ("1500us", 1), ("PT10S", 10_000),
      ("PT1M30S", 90_000), ("P1D", 86_400_000), ("P1DT1H", 90_000_000), ("0", 0), (" 10 s", 10_000),
      ("1.5s", 1_000),
    ])
  func durations(text: String, ms: Int) {
    #expect(PacemakerValues.milliseconds(text) == ms)
  }

  @Test("invalid durations", arguments: ["", "s", "ten", "10 parsecs", "P", "PT", "P1H"])
  func invalidDurations(text: String) {
    #expect(PacemakerValues.milliseconds(text) == nil)
  }

  @Test(
    "roles in any spelling",
    arguments: [
      ("Master", "Promoted"), ("slave", "Unpromoted"), ("started", "Started"), ("Stopped", "Stopped"),
      ("Promoted", "Promoted"), ("UNPROMOTED", "Unpromoted"),
    ])
  func rolesInAnySpelling(text: String, role: String) {
    #expect(PacemakerValues.role(text) == role)
  }

  @Test(
    "booleans",
    arguments: [("yes", true), ("On", true), ("1", true), ("y", true), ("false", false), ("0", false)])
  func booleans(text: String, value: Bool) {
    #expect(PacemakerValues.bool(text) == value)
  }
}
