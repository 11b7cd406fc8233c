import ResourceModel
import Testing

@testable import CIBImport

private typealias F = CIBFixtures

@Suite("Operation digests")
struct OperationDigestTests {
  @Test("the hashed text sorts names by their bytes and escapes values as libxml2 does")
  func text() {
    #expect(OperationDigest.text([:]) == " <parameters/>\n")
    #expect(
      OperationDigest.text(["b": "2", "a": "1", "CRM_meta_timeout": "20000"])
        == " <parameters CRM_meta_timeout=\"20000\" a=\"1\" b=\"2\"/>\n")
    #expect(
      OperationDigest.escaped("<a & \"b\">\n\tc\u{7F}é")
        == "&lt;a &amp; &quot;b&quot;&gt;&#x0A;&#x09;c&#x7F;é")
  }

  @Test("digests are the MD5 of the text, as recorded by Pacemaker")
  func knownDigests() {
    #expect(OperationDigest.md5([:]) == "f2317cad3d54cec5d7d7aa7d0bf35cf8")
    #expect(OperationDigest.md5(["CRM_meta_timeout": "20000"]) == "4811cef7f7f94e3a35a70be7916cb2fd")
    #expect(
      OperationDigest.md5(["CRM_meta_timeout": "20000", "ip": "127.0.0.12"])
        == "7515405113757a8bc37db755be497fca")
  }

  @Test("durations: units, ISO 8601 intervals, and the 20 s default timeout")
  func durations() {
    #expect(OperationDigest.milliseconds("40s") == 40_000)
    #expect(OperationDigest.milliseconds("90") == 90_000)
    #expect(OperationDigest.milliseconds(" 2min") == 120_000)
    #expect(OperationDigest.milliseconds("1.9h") == 3_600_000)
    #expect(OperationDigest.milliseconds("500ms") == 500)
    #expect(OperationDigest.milliseconds("10 parsecs") == nil)
    #expect(OperationDigest.interval("PT1M30S") == 90_000)
    #expect(OperationDigest.interval("P1D") == 86_400_000)
    #expect(OperationDigest.interval("PT1S2M") == 0)
    #expect(OperationDigest.interval(nil) == 0)
    #expect(OperationDigest.interval("-5") == 0)
    #expect(OperationDigest.timeout("PT10S") == 20_000)
    #expect(OperationDigest.timeout("0") == 20_000)
    #expect(OperationDigest.timeout("30d") == 20_000)
    #expect(OperationDigest.timeout("9999999999") == Int(Int32.max))
  }

  @Test("feature sets compare field by field")
  func versions() {
    #expect(OperationDigest.versionPrecedes("3.0.12", "3.16.0"))
    #expect(!OperationDigest.versionPrecedes("3.16.0", "3.16"))
    #expect(OperationDigest.versionPrecedes("2.0", "3.0.1"))
  }

  private static let resources = """
    <group id="g">
      <instance_attributes id="g-ia">
        <nvpair id="g-shared" name="shared" value="group"/><nvpair id="g-only" name="grouponly" value="1"/>
      </instance_attributes>
      <primitive id="r" class="ocf" provider="pacemaker" type="Dummy">
        <instance_attributes id="r-low" score="1">
          <nvpair id="r-b-low" name="b" value="#default"/><nvpair id="r-c-low" name="c" value="low"/>
        </instance_attributes>
        <instance_attributes id="r-high" score="10">
          <nvpair id="r-a-high" name="a" value="high"/><nvpair id="r-b-high" name="b" value="high"/>
        </instance_attributes>
        <instance_attributes id="r-n2" score="20">
          <rule id="r-n2-rule" score="0"><expression id="r-n2-e" attribute="#uname" operation="eq" value="n2"/></rule>
          <nvpair id="r-a-n2" name="a" value="on-n2"/>
        </instance_attributes>
        <operations>
          <op id="r-start" name="start" interval="0">
            <instance_attributes id="r-start-ia"><nvpair id="r-start-x" name="extra" value="x"/></instance_attributes>
          </op>
          <op id="r-mon" name="monitor" interval="10s" timeout="30s"/>
          <op id="r-mon2" name="monitor" interval="1min">
            <meta_attributes id="r-mon2-m"><nvpair id="r-mon2-t" name="timeout" value="45"/></meta_attributes>
          </op>
          <op id="r-mon3" name="monitor" interval="PT2M"/>
        </operations>
      </primitive>
    </group>
    """

  private static let defaults = """
    <op_defaults><meta_attributes id="opd"><nvpair id="opd-t" name="timeout" value="90s"/></meta_attributes></op_defaults>
    """

  private static func entry(_ task: String, interval: Int = 0, extra: String = "") throws -> XElement {
    try XElement.parse(#"<lrm_rsc_op id="e" operation="\#(task)" interval="\#(interval)" \#(extra)/>"#)
  }

  @Test(
    "the parameter set: instance attributes per node (rules, scores, #default, ancestors), then the operation's own, then the timeout of recurring operations",
    arguments: [
      ("n1", "start", 0, #" <parameters a="high" c="low" extra="x" grouponly="1" shared="group"/>"#),
      ("n2", "start", 0, #" <parameters a="on-n2" c="low" extra="x" grouponly="1" shared="group"/>"#),
      (
        "n1", "monitor", 10_000,
        #" <parameters CRM_meta_timeout="30000" a="high" c="low" grouponly="1" shared="group"/>"#
      ),
      (
        "n1", "monitor", 60_000,
        #" <parameters CRM_meta_timeout="45000" a="high" c="low" grouponly="1" shared="group"/>"#
      ),
      (
        "n1", "monitor", 120_000,
        #" <parameters CRM_meta_timeout="90000" a="high" c="low" grouponly="1" shared="group"/>"#
      ),
      ("n1", "monitor", 0, #" <parameters a="high" c="low" grouponly="1" shared="group"/>"#),
    ])
  func parameterSet(_ node: String, _ task: String, _ interval: Int, _ expected: String) throws {
    let root = try XElement.parse(F.cib(resources: Self.resources, extra: Self.defaults))
    let calculator = DigestCalculator(cib: root)
    let text = calculator.digestText(
      primitive: "r", entry: try Self.entry(task, interval: interval), nodeAttributes: ["#uname": node])
    #expect(text == expected + "\n")
  }

  @Test(
    "one-shot operations with their own parameters hint at a restart; restart and secure digests keep or drop names"
  )
  func restartAndSecure() throws {
    let calculator = DigestCalculator(
      cib: try XElement.parse(F.cib(resources: Self.resources, extra: Self.defaults)))
    let attributes = ["#uname": "n1"]
    let start = try #require(
      calculator.digests(
        primitive: "r",
        entry: try Self.entry(
          "start", extra: #"op-force-restart=" a  c " op-secure-params=" c " crm_feature_set="3.19.0""#),
        restartDigestRecorded: true, nodeAttributes: attributes))
    #expect(start.restartHint)
    #expect(start.restart == OperationDigest.md5(["a": "high", "c": "low"]))
    #expect(
      start.secure == OperationDigest.md5(["a": "high", "extra": "x", "grouponly": "1", "shared": "group"]))
    let monitor = try #require(
      calculator.digests(
        primitive: "r",
        entry: try Self.entry("monitor", interval: 10_000, extra: #"crm_feature_set="3.0.1""#),
        restartDigestRecorded: false, nodeAttributes: attributes))
    #expect(!monitor.restartHint)
    #expect(monitor.restart == nil)
    // Before 3.16.0 the secure digest holds the resource's parameters only.
    #expect(
      monitor.secure == OperationDigest.md5(["a": "high", "c": "low", "grouponly": "1", "shared": "group"]))
  }
}

// MARK: Comparing histories with the configuration

/// One history and what comparing it with the configuration finds.
struct DefinitionCase: Sendable, CustomTestStringConvertible {
  var name: String
  var ops: [String]
  var type = "Dummy"
  var change: DefinitionChange?
  var testDescription: String { name }
}

private let configured = OperationDigest.md5(["p": "1"])
private let old = OperationDigest.md5(["p": "0"])
private let monitorDigest = OperationDigest.md5(["p": "1", "CRM_meta_timeout": "20000"])

/// An `lrm_rsc_op` with digests; `rc`/`expected` as in `CIBFixtures.op`.
private func entry(
  _ task: String, interval: Int = 0, call: Int, rc: Int = 0, digest: String?, id: String? = nil,
  extra: String = ""
) -> String {
  let key = "r_\(task)_\(interval)"
  return """
    <lrm_rsc_op id="\(id ?? key)" operation_key="\(key)" operation="\(task)" interval="\(interval)" \
    call-id="\(call)" rc-code="\(rc)" op-status="0" last-rc-change="1000" crm_feature_set="3.19.0" \
    transition-key="3:10:0:0b8e4c4a-0000-4000-8000-000000000001" \
    transition-magic="0:\(rc);3:10:0:0b8e4c4a-0000-4000-8000-000000000001" \(digest.map { "op-digest=\"\($0)\"" } ?? "") \(extra)/>
    """
}

/// A start of an agent that can reload, recorded with `p=0`.
private func reloadableStart(forcingRestart names: String, restartDigest: String) -> String {
  entry(
    "start", call: 2, digest: old,
    extra: #"op-force-restart=" \#(names) " op-restart-digest="\#(restartDigest)""#)
}

private let definitionCases: [DefinitionCase] = [
  DefinitionCase(
    name: "a start recorded with the configured parameters changes nothing",
    ops: [
      entry("start", call: 2, digest: configured),
      entry("monitor", interval: 10_000, call: 3, digest: monitorDigest),
    ]),
  DefinitionCase(
    name: "a start recorded with other parameters restarts",
    ops: [entry("start", call: 2, digest: old)], change: DefinitionChange(restart: true)),
  DefinitionCase(
    name: "a start without a recorded digest restarts (unknown counts as changed)",
    ops: [entry("start", call: 2, digest: nil)], change: DefinitionChange(restart: true)),
  DefinitionCase(
    name: "an agent that can reload is reloaded when only reloadable parameters changed",
    ops: [reloadableStart(forcingRestart: "q", restartDigest: OperationDigest.md5([:]))],
    change: DefinitionChange(reload: true)),
  DefinitionCase(
    name: "a parameter that forces a restart restarts even an agent that can reload",
    ops: [reloadableStart(forcingRestart: "p", restartDigest: old)], change: DefinitionChange(restart: true)),
  DefinitionCase(
    name: "a recurring monitor recorded with another definition is re-issued",
    ops: [
      entry("start", call: 2, digest: configured),
      entry("monitor", interval: 10_000, call: 3, digest: configured),
    ], change: DefinitionChange(rescheduled: ["monitor_10000"])),
  DefinitionCase(
    name: "a recurring monitor that is no longer configured is cancelled",
    ops: [
      entry("start", call: 2, digest: configured), entry("monitor", interval: 5_000, call: 3, digest: old),
    ],
    change: DefinitionChange(removed: ["monitor_5000"])),
  DefinitionCase(
    name: "entries from before the last start are not compared",
    ops: [
      entry("start", call: 2, digest: old), entry("stop", call: 3, digest: nil),
      entry("start", call: 4, digest: configured),
    ]),
  DefinitionCase(
    name: "the history of a stopped resource is not compared",
    ops: [entry("start", call: 2, digest: old), entry("stop", call: 3, digest: nil)]),
  DefinitionCase(
    name: "notifications and stops are never compared",
    ops: [entry("start", call: 2, digest: configured), entry("notify", call: 3, digest: old)]),
  DefinitionCase(
    name: "a change of private parameters only is no change",
    ops: [
      entry(
        "start", call: 2, digest: old,
        extra: #"op-secure-params=" p " op-secure-digest="\#(OperationDigest.md5([:]))""#)
    ]),
  DefinitionCase(
    name: "another agent type stops and starts the resource",
    ops: [entry("start", call: 2, digest: configured)], type: "Stateful",
    change: DefinitionChange(agentChanged: true)),
  DefinitionCase(
    name: "a failed start recorded with other parameters has its fail count cleared",
    ops: [
      entry("start", call: 2, rc: 1, digest: old, id: "r_last_failure_0"),
      entry("stop", call: 3, digest: nil, id: "r_last_0"),
    ], change: DefinitionChange(failureParametersChanged: true)),
]

@Suite("Configuration changes from operation digests")
struct DefinitionChangeImportTests {
  static let primitive = """
    <primitive id="r" class="ocf" provider="pacemaker" type="Dummy">
      <instance_attributes id="r-ia"><nvpair id="r-p" name="p" value="1"/></instance_attributes>
      <operations><op id="r-mon" name="monitor" interval="10s"/></operations>
    </primitive>
    """

  @Test(
    "history entries since the last start are compared as Pacemaker compares them", arguments: definitionCases
  )
  func definitionChange(_ c: DefinitionCase) throws {
    let xml = F.cib(
      properties: #"<nvpair id="f" name="stonith-enabled" value="false"/>"#, resources: Self.primitive,
      status: F.nodeState(id: "1", uname: "n1", lrm: F.history("r", c.ops, type: c.type)))
    let state = try #require(try CIBDocument.parse(xml: xml).state.resources["r"]?["n1"])
    #expect(state.definitionChange == c.change)
  }

  @Test("a shutdown lock is read with the shutdown-lock property, even from a history without entries")
  func shutdownLock() throws {
    let locked =
      #"<lrm_resource id="r" class="ocf" provider="pacemaker" type="Dummy" shutdown-lock="1700000000">"#
    let status =
      F.nodeState(
        id: "1", uname: "n1", lrm: locked + entry("stop", call: 3, digest: nil) + "</lrm_resource>",
        membership: #"in_ccm="false" crmd="offline" join="down" expected="down""#)
      + F.nodeState(id: "2", uname: "n2", lrm: locked + "</lrm_resource>")
    let fencer = #"<primitive id="fencer" class="stonith" type="fence_virt"/>"#
    let enabled = try CIBDocument.parse(
      xml: F.cib(
        properties: #"<nvpair id="l" name="shutdown-lock" value="true"/>"#,
        resources: Self.primitive + fencer,
        status: status))
    #expect(enabled.state.resources["r"]?["n1"]?.shutdownLock == 1_700_000_000)
    #expect(enabled.state.resources["r"]?["n2"]?.shutdownLock == 1_700_000_000)
    #expect(enabled.state.resources["r"]?["n2"]?.role == .unknown)
    #expect(!enabled.unsupported.contains { $0.reason.contains("shutdown lock") })
    let disabled = try CIBDocument.parse(
      xml: F.cib(resources: Self.primitive + fencer, status: status))
    #expect(disabled.state.resources["r"]?["n1"]?.shutdownLock == nil)
    #expect(disabled.state.resources["r"]?["n2"] == nil)
  }
}
