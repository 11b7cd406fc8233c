import ArgumentParser
import Foundation
import ResourceManager
import ResourceModel

extension Swpcs {
  /// `swpcs config …`: the whole configuration. Other command files add their subcommands to the
  /// list below (import-cib / export-cib come from the CIB compatibility commands).
  struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "config",
      abstract: "Show, back up and restore the whole configuration.",
      subcommands: [Show.self, Backup.self, Restore.self, ImportCIB.self, ExportCIB.self],
      defaultSubcommand: Show.self)
  }
}

extension Swpcs.Config {
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show",
      abstract: "Show the whole configuration: properties, defaults, resources, constraints, nodes.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
      let config = managerStatus().config
      switch global.output {
      case .json: printJSON(config)
      case .text: print(ConfigText.render(config), terminator: "")
      }
    }
  }

  struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "backup",
      abstract: "Write the configuration to FILE (JSON; restore with: swpcs config restore FILE).")
    @Argument(help: "The backup file to write.") var file: String
    func run() throws {
      let config = managerStatus().config
      do {
        try ConfigFile.write(config, to: file)
      } catch {
        fail("cannot write \(file): \(error.localizedDescription)")
      }
      print("Configuration \(config.version) written to \(file)")
    }
  }

  struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "restore",
      abstract: "Replace the cluster configuration with the one in FILE (from config backup or -f).")
    @Argument(help: "A file written by: swpcs config backup FILE.") var file: String
    func run() throws {
      let restored = ConfigFile.read(file)
      editConfiguration("config restore") { config, _ throws(ConfigEditError) in
        let version = config.version
        config = restored
        config.version = version
      }
      print("Configuration restored from \(file)")
    }
  }
}

/// The text of `swpcs config`: every section, in pcs's order.
enum ConfigText {
  static func render(_ config: ResourceConfiguration) -> String {
    var out = "Configuration version: \(config.version)\n\n"
    out += "Resources:\n"
    let resources = ResourceConfigText.render(config.resources)
    out += resources.isEmpty ? "  (none)\n" : indent(resources)
    out += "\n" + ConstraintText.render(config.constraints)
    out += "\nResource Defaults:\n" + pairs(config.resourceDefaults)
    out += "\nOperation Defaults:\n" + pairs(config.operationDefaults)
    out += "\nCluster Properties:\n" + pairs(config.properties)
    out += "\nNode Attributes:\n"
    let nodes = config.nodes.filter { !$0.attributes.isEmpty }
    if nodes.isEmpty { out += "  (none)\n" }
    for node in nodes {
      out +=
        "  \(node.name): "
        + node.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        + "\n"
    }
    return out
  }

  static func pairs(_ values: [String: String]) -> String {
    if values.isEmpty { return "  (none)\n" }
    return values.sorted { $0.key < $1.key }.map { "  \($0.key)=\($0.value)\n" }.joined()
  }

  static func indent(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  \($0)" }
      .joined(separator: "\n")
  }
}
