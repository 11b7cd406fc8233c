import ArgumentParser
import CIBImport
import Conformance
import Foundation
import ResourceManager
import ResourceModel
import Scheduler

// Pacemaker compatibility: `swpcs config import-cib` / `export-cib` and `swpcs simulate`.

extension Swpcs.Config {
  struct ImportCIB: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "import-cib",
      abstract: "Replace the configuration with a Pacemaker CIB's (cibadmin --query output).",
      discussion: """
        Reads the <configuration> section (any schema from pacemaker-1.0 to 3.x): cluster properties, \
        nodes and their attributes, primitives, groups, clones, location/colocation/order constraints, \
        rsc and op defaults, fencing devices and topology. Everything that cannot be carried over is \
        listed by element and id. When one of those items could change what the cluster decides \
        (resource sets, tickets, date rules, ...), nothing is imported unless --force is given. \
        The <status> section is ignored. Example:
          cibadmin --query > cib.xml && swpcs config import-cib cib.xml --dry-run
        """)
    @Argument(help: "The CIB XML file.") var file: String
    @Flag(help: "Print what would be imported and what not; change nothing.") var dryRun = false
    @Flag(help: "Import even when unsupported items affect scheduling.") var force = false

    func run() throws {
      let xml = readCIB(file)
      let imported: (configuration: ResourceConfiguration, unsupported: [UnsupportedItem])
      do {
        imported = try CIBDocument.importConfiguration(xml: xml)
      } catch {
        fail("\(file): \(error.description)")
      }
      let config = imported.configuration
      print(CIBImportReport.summary(config, unsupported: imported.unsupported, dryRun: dryRun))
      let gaps = imported.unsupported.filter(\.affectsScheduling)
      if dryRun { return }
      if !gaps.isEmpty && !force {
        fail(
          "\(gaps.count) unsupported item(s) above would change what the cluster decides; "
            + "nothing imported (adapt the CIB, or import anyway with --force)")
      }
      editConfiguration("config import-cib") { current, status throws(ConfigEditError) in
        let version = current.version
        current = config
        current.version = version
        if offlineConfigFile == nil {
          let known = Set(knownNodes(status))
          let unknown = config.nodes.map(\.name).filter { !known.contains($0) }
          if !unknown.isEmpty {
            FileHandle.standardError.write(
              Data(
                ("Warning: node(s) \(unknown.joined(separator: ", ")) of the CIB are not cluster nodes "
                  + "(known: \(known.sorted().joined(separator: ", ")))\n").utf8))
          }
        }
      }
      print("Configuration imported from \(file).")
    }
  }

  struct ExportCIB: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export-cib",
      abstract: "Write the configuration as a Pacemaker CIB (schema pacemaker-3.7) to FILE or stdout.",
      discussion: """
        The result has a <configuration> section and an empty <status>; Pacemaker's tools read it, \
        e.g.: swpcs config export-cib cib.xml && crm_verify -x cib.xml
        """)
    @Argument(help: "Output file (default: standard output).") var file: String?

    func run() throws {
      let text = CIBExporter.xml(managerStatus().config)
      guard let file else {
        print(text, terminator: "")
        return
      }
      do {
        try text.write(toFile: file, atomically: true, encoding: .utf8)
      } catch {
        fail("cannot write \(file): \(error.localizedDescription)")
      }
    }
  }
}

extension Swpcs {
  struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "simulate",
      abstract: "Show what the scheduler would do, as crm_simulate -S does.",
      discussion: """
        With -x, the cluster is read from a Pacemaker CIB (configuration and status: operation \
        history, fail counts, node states, quorum, shutdown locks; the digests recorded in the history \
        tell which resources restart, reload or re-issue monitors because their definition changed, as \
        in Pacemaker); with --live, from swpacemakerd. Prints the current \
        cluster status, the Transition Summary, one valid execution order of the transition, and the \
        status after it — computed by our scheduler; nothing is executed. Examples:
          swpcs simulate -x cib.xml
          swpcs simulate --live
        """)
    @Option(name: [.customShort("x"), .customLong("xml-file")], help: "A Pacemaker CIB XML file.")
    var xmlFile: String?
    @Flag(help: "Simulate the running cluster (configuration and state from swpacemakerd).") var live = false

    func validate() throws {
      if (xmlFile == nil) == !live { throw ValidationError("give exactly one of -x FILE or --live") }
    }

    func run() throws {
      let config: ResourceConfiguration
      let state: ClusterState
      if let xmlFile {
        let document: CIBDocument
        do {
          document = try CIBDocument.parse(
            xml: readCIB(xmlFile), defaultNow: Int64(Date().timeIntervalSince1970))
        } catch {
          fail("\(xmlFile): \(error.description)")
        }
        for item in document.schedulingGaps {
          FileHandle.standardError.write(Data("Warning: unsupported, ignored: \(item)\n".utf8))
        }
        config = document.configuration
        state = document.state
      } else {
        let status = managerStatus()
        config = status.config
        state = status.state
      }
      let transition = Scheduler.schedule(config, state)
      print(
        SimulationReport(configuration: config, state: state, transition: transition).text, terminator: "")
    }
  }
}

private func readCIB(_ file: String) -> String {
  let path = file == "-" ? "/dev/stdin" : file
  guard let data = FileManager.default.contents(atPath: path) else {
    fail("cannot read \(file): no such file or not readable")
  }
  return String(decoding: data, as: UTF8.self)
}

/// What `import-cib` prints: counts, each resource and constraint, and every item left out.
enum CIBImportReport {
  static func summary(_ config: ResourceConfiguration, unsupported: [UnsupportedItem], dryRun: Bool) -> String
  {
    var lines: [String] = []
    let primitives = config.resources.reduce(0) { count, resource in
      switch resource {
      case .primitive: count + 1
      case .group(let g): count + g.members.count
      case .clone(let c):
        switch c.child {
        case .primitive: count + 1
        case .group(let g): count + g.members.count
        }
      }
    }
    let c = config.constraints
    lines.append(
      (dryRun ? "Would import: " : "Importing: ")
        + "\(config.properties.count) properties, \(config.nodes.count) nodes, "
        + "\(config.resources.count) resources (\(primitives) primitives), \(c.locations.count) locations, "
        + "\(c.colocations.count) colocations, \(c.orders.count) orders, "
        + "\(config.fencingLevels.count) fencing levels")
    if dryRun {
      for (name, value) in config.properties.sorted(by: { $0.key < $1.key }) {
        lines.append("  property \(name)=\(value)")
      }
      for node in config.nodes {
        let attributes = node.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.append(
          "  node \(node.name)" + (attributes.isEmpty ? "" : " " + attributes.joined(separator: " ")))
      }
      for resource in config.resources { lines += describe(resource) }
      for l in c.locations {
        let target = l.node.map { "\($0) score=\(l.score)" } ?? "\(l.rules.count) rule(s)"
        lines.append("  location \(l.id): \(l.resource) on \(target)")
      }
      for co in c.colocations {
        lines.append("  colocation \(co.id): \(co.resource) with \(co.withResource) score=\(co.score)")
      }
      for o in c.orders {
        lines.append(
          "  order \(o.id): \(o.firstAction) \(o.first) then \(o.thenAction) \(o.then) (\(o.kind.rawValue))")
      }
      for level in config.fencingLevels {
        lines.append(
          "  fencing level \(level.index) for \(level.target): \(level.devices.joined(separator: ","))")
      }
    }
    if unsupported.isEmpty {
      lines.append("Everything in the configuration section is supported.")
    } else {
      lines.append("Not imported (\(unsupported.count)):")
      for item in unsupported {
        lines.append("  \(item)" + (item.affectsScheduling ? " [affects scheduling]" : ""))
      }
    }
    return lines.joined(separator: "\n")
  }

  private static func describe(_ resource: Resource) -> [String] {
    func primitive(_ p: Primitive, _ indent: String) -> String {
      let ops = p.operations.map { $0.intervalMs > 0 ? "\($0.name)/\($0.intervalMs / 1000)s" : $0.name }
      return "\(indent)primitive \(p.id) \(p.agent)"
        + (ops.isEmpty ? "" : " ops: \(ops.joined(separator: " "))")
    }
    switch resource {
    case .primitive(let p): return [primitive(p, "  ")]
    case .group(let g): return ["  group \(g.id)"] + g.members.map { primitive($0, "    ") }
    case .clone(let c):
      let head = "  \(c.promotable ? "promotable clone" : "clone") \(c.id)"
      switch c.child {
      case .primitive(let p): return [head, primitive(p, "    ")]
      case .group(let g): return [head, "    group \(g.id)"] + g.members.map { primitive($0, "      ") }
      }
    }
  }
}
