import ResourceModel

/// A Pacemaker CIB (`<cib>` XML, schemas pacemaker-1.x to 3.x) read into swpcs's model: the
/// `<configuration>` as a `ResourceConfiguration`, the `<status>` unpacked into a `ClusterState`.
///
/// Exists so Pacemaker's scheduler regression cases, and configurations of clusters migrating to
/// swpcs, can be fed to our scheduler. Invariant: nothing in the input is dropped silently — every
/// element, attribute value or feature the model cannot carry is listed in `unsupported`.
public struct CIBDocument: Sendable, Equatable {
  public var configuration: ResourceConfiguration
  public var state: ClusterState
  /// What could not be represented, and whether that can change scheduling decisions.
  public var unsupported: [UnsupportedItem]
  /// `dc-uuid`: the node id of the DC that wrote the CIB.
  public var dcUuid: String?
  /// `have-quorum` as written (nil when absent, which Pacemaker reads as "no quorum").
  public var haveQuorum: Bool?
  /// `validate-with` (e.g. `pacemaker-3.7`).
  public var validateWith: String?
  /// `execution-date`: the time the case was recorded at, seconds since the epoch.
  public var executionDate: Int64?
  /// `no-quorum-panic` on `<cib>`: with `no-quorum-policy=fence`, fence even when quorum was never
  /// had (Pacemaker otherwise falls back to `stop`).
  public var noQuorumPanic: Bool

  public init(
    configuration: ResourceConfiguration, state: ClusterState, unsupported: [UnsupportedItem] = [],
    dcUuid: String? = nil, haveQuorum: Bool? = nil, validateWith: String? = nil, executionDate: Int64? = nil,
    noQuorumPanic: Bool = false
  ) {
    self.configuration = configuration
    self.state = state
    self.unsupported = unsupported
    self.dcUuid = dcUuid
    self.haveQuorum = haveQuorum
    self.validateWith = validateWith
    self.executionDate = executionDate
    self.noQuorumPanic = noQuorumPanic
  }

  /// The items that can change what the scheduler decides (the others, such as ACLs or alerts,
  /// are only reported).
  public var schedulingGaps: [UnsupportedItem] { unsupported.filter(\.affectsScheduling) }

  /// Reads a CIB. "Now" (for failure-timeout expiry) is the CIB's `execution-date`, else the newest
  /// `last-rc-change` in the status, else 0.
  public static func parse(xml: String) throws(CIBImportError) -> CIBDocument {
    try parse(xml: xml, defaultNow: nil)
  }

  /// Properties Pacemaker writes about itself (versions, the cluster stack, watchdog detection):
  /// state of that cluster, not configuration to carry over.
  public static let pacemakerManagedProperties: Set<String> = [
    "dc-version", "cluster-infrastructure", "cluster-name", "last-lrm-refresh", "have-watchdog",
  ]

  /// Only the `<configuration>` section, for taking a Pacemaker cluster's configuration over
  /// (`swpcs config import-cib`): the status is not read, and the properties Pacemaker manages
  /// itself are left out — each reported in `unsupported`, as everything else that is not carried.
  public static func importConfiguration(xml: String) throws(CIBImportError) -> (
    configuration: ResourceConfiguration, unsupported: [UnsupportedItem]
  ) {
    let root = try XElement.parse(xml)
    guard root.name == "cib" else { throw .notACIB(root: root.name) }
    guard let section = root.child("configuration") else { throw .missingSection("configuration") }
    var importer = ConfigurationImporter(configuration: section)
    var config = try importer.run()
    var unsupported = importer.unsupported
    for name in config.properties.keys.sorted() where pacemakerManagedProperties.contains(name) {
      unsupported.append(
        UnsupportedItem(
          element: "nvpair", id: name,
          reason: "\(name)=\(config.properties[name] ?? "") is written by Pacemaker itself; not imported",
          affectsScheduling: false))
      config.properties[name] = nil
    }
    if PacemakerValues.bool(config.properties["shutdown-lock"]) == true {
      unsupported.append(
        UnsupportedItem(
          element: "nvpair", id: "shutdown-lock",
          reason:
            "swpacemakerd does not keep shutdown locks once a node has left: the resources of a node shutting "
            + "down stop there, then start elsewhere when it has left (swpcs simulate honours the locks)"))
    }
    return (config, unsupported)
  }

  /// Reads a CIB. "Now" is the CIB's `execution-date`, else `defaultNow` (pass the wall clock to
  /// behave like `crm_simulate`), else the newest `last-rc-change` in the status, else 0.
  public static func parse(xml: String, defaultNow: Int64?) throws(CIBImportError) -> CIBDocument {
    let root = try XElement.parse(xml)
    guard root.name == "cib" else { throw .notACIB(root: root.name) }
    guard let configuration = root.child("configuration") else { throw .missingSection("configuration") }
    let status = root.child("status") ?? XElement(name: "status", attributes: [:], children: [], line: 0)

    var importer = ConfigurationImporter(configuration: configuration)
    var config = try importer.run()
    config.version = ConfigVersion(
      adminEpoch: UInt64(root["admin_epoch"] ?? "") ?? 0, epoch: UInt64(root["epoch"] ?? "") ?? 0,
      numUpdates: UInt64(root["num_updates"] ?? "") ?? 0)

    let executionDate = root["execution-date"].flatMap { Int64($0.trimmingSpaces) }
    let now = executionDate ?? defaultNow ?? StatusImporter.newestChange(in: status) ?? 0
    let haveQuorum = PacemakerValues.bool(root["have-quorum"])
    let panic = (root["no-quorum-panic"].flatMap { Int($0) } ?? 0) != 0
    // Without quorum, no-quorum-policy=fence (formerly suicide) applies only to a partition that had
    // quorum and lost it (the controller then sets no-quorum-panic); a cluster that never had quorum
    // falls back to stop, as Pacemaker's unpack_config does.
    let policy = config.properties["no-quorum-policy"]?.lowercased()
    if !(haveQuorum ?? false) && !panic && (policy == "fence" || policy == "suicide") {
      config.properties["no-quorum-policy"] = "stop"
    }

    var statusImporter = StatusImporter(
      configuration: config, resources: importer.index, status: status, now: now,
      quorate: haveQuorum ?? false, dcUuid: root["dc-uuid"], noQuorumPanic: panic,
      digests: DigestCalculator(cib: root))
    let state = statusImporter.run()

    return CIBDocument(
      configuration: config, state: state, unsupported: importer.unsupported + statusImporter.unsupported,
      dcUuid: root["dc-uuid"], haveQuorum: haveQuorum, validateWith: root["validate-with"],
      executionDate: executionDate, noQuorumPanic: panic)
  }
}

extension CIBDocument {
  /// One line per history entry of a configured primitive — `NODE HISTORY ENTRY: TEXT -> MD5
  /// (recorded DIGEST)`, TEXT being the hashed text as a JSON string — to check the recomputed
  /// operation digests against a CIB's recorded ones (`scheduler-conformance --dump-digests`).
  public static func operationDigestLines(xml: String) throws(CIBImportError) -> [String] {
    let root = try XElement.parse(xml)
    let calculator = DigestCalculator(cib: root)
    let configuration = root.child("configuration")
    let blocks = NVPairBlocks(elementsByID: [:])
    var ignored: [UnsupportedItem] = []
    let properties = blocks.dictionary(
      configuration?.child("crm_config")?.children("cluster_property_set") ?? [], unsupported: &ignored)
    let configuredNodes = configuration?.child("nodes")?.children("node") ?? []
    var lines: [String] = []
    for state in root.child("status")?.children("node_state") ?? [] {
      let uname = state["uname"] ?? ""
      let node = configuredNodes.first { $0["uname"] == uname || $0.id == state.id }
      var attributes = blocks.dictionary(node?.children("instance_attributes") ?? [], unsupported: &ignored)
      attributes.merge(
        blocks.dictionary(
          state.child("transient_attributes")?.children("instance_attributes") ?? [], unsupported: &ignored)
      ) { $1 }
      attributes["#uname"] = uname
      attributes["#id"] = node?.id ?? state.id
      attributes["#kind"] = "cluster"
      if let cluster = properties["cluster-name"] { attributes["#cluster-name"] = cluster }
      if attributes["#site-name"] == nil, let site = attributes["site-name"] ?? properties["cluster-name"] {
        attributes["#site-name"] = site
      }
      for history in state.child("lrm")?.child("lrm_resources")?.children("lrm_resource") ?? [] {
        guard let id = history.id else { continue }
        let base = StatusImporter.cloneInstance(id).map(\.0) ?? id
        let primitive = calculator.agent(of: id) != nil ? id : base
        for entry in history.children("lrm_rsc_op") {
          if entry["op-digest"] == nil && entry["operation"] == "stop" { continue }
          guard
            let text = calculator.digestText(primitive: primitive, entry: entry, nodeAttributes: attributes)
          else { continue }
          let quoted = text.unicodeScalars.map { $0 == "\n" ? "\\n" : $0 == "\"" ? "\\\"" : String($0) }
            .joined()
          let digests = calculator.digests(
            primitive: primitive, entry: entry, restartDigestRecorded: entry["op-restart-digest"] != nil,
            nodeAttributes: attributes)
          let others = "restart=\(digests?.restart ?? "None") secure=\(digests?.secure ?? "None")"
          lines.append(
            "\(uname) \(id) \(entry.id ?? ""): \"\(quoted)\" -> \(OperationDigest.md5Text(text)) "
              + "(recorded \(entry["op-digest"] ?? "None")) \(others)")
        }
      }
    }
    return lines
  }
}

/// Something in a CIB that the model cannot carry: reported so a reader knows the import is
/// partial, never dropped silently.
public struct UnsupportedItem: Sendable, Equatable, CustomStringConvertible {
  /// Element name (`rsc_ticket`, `date_expression`, `utilization`, ...).
  public var element: String
  /// The element's id, or the nearest enclosing id.
  public var id: String?
  /// Why it is not supported, and what was done instead.
  public var reason: String
  /// False for things the scheduler never reads (ACLs, alerts, ignored history of removed nodes).
  public var affectsScheduling: Bool

  public init(element: String, id: String?, reason: String, affectsScheduling: Bool = true) {
    self.element = element
    self.id = id
    self.reason = reason
    self.affectsScheduling = affectsScheduling
  }

  public var description: String {
    let name = id.map { "<\(element) id=\"\($0)\">" } ?? "<\(element)>"
    return "\(name): \(reason)"
  }
}

/// Why a CIB could not be read at all.
public enum CIBImportError: Error, Equatable, CustomStringConvertible {
  case malformedXML(line: Int, message: String)
  /// The document element is not `<cib>`.
  case notACIB(root: String)
  case missingSection(String)
  case missingAttribute(element: String, attribute: String, line: Int)
  case invalidValue(element: String, id: String?, attribute: String, value: String, expected: String)

  public var description: String {
    switch self {
    case .malformedXML(let line, let message): "malformed XML at line \(line): \(message)"
    case .notACIB(let root): "not a CIB: the document element is <\(root)>, expected <cib>"
    case .missingSection(let name): "the CIB has no <\(name)> section"
    case .missingAttribute(let element, let attribute, let line):
      "<\(element)> at line \(line) has no \(attribute) attribute"
    case .invalidValue(let element, let id, let attribute, let value, let expected):
      "<\(element)\(id.map { " id=\"\($0)\"" } ?? "")> has \(attribute)=\"\(value)\"; expected \(expected)"
    }
  }
}
