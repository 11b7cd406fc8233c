// Saves configuration versions to a ConfigStore directory in a tight loop until killed, for the
// crash test in ConfigStoreTests: `begin V` is printed before each save and `saved V` once it
// returned, each line written unbuffered to stdout.
//
// Usage: config-store-torture DIRECTORY [MAX_RESOURCES]
// Each version holds a random number (0...MAX_RESOURCES, default 300) of primitives and a random
// padding property (up to 800 kB), so files range from about 1 kB to 1 MB and the time goes to
// writing rather than to JSON; it records both in its properties, so a reader can check what it
// loaded.
import ConfigStore
import Foundation
import ResourceModel

func say(_ line: String) {
  FileHandle.standardOutput.write(Data("\(line)\n".utf8))
}

func fail(_ line: String) -> Never {
  FileHandle.standardError.write(Data("config-store-torture: \(line)\n".utf8))
  exit(1)
}

func configuration(version: ConfigVersion, resources count: Int, padding: Int) -> ResourceConfiguration {
  let resources = (0..<count).map { index in
    Resource.primitive(
      Primitive(
        id: "ip-\(index)", agent: AgentSpec(standard: .ocf, provider: "heartbeat", type: "IPaddr2"),
        attributes: [Attribute("ip", "10.\(index / 65536).\(index / 256 % 256).\(index % 256)")],
        meta: ["target-role": "Started"],
        operations: [OperationSpec(id: "ip-\(index)-monitor", name: "monitor", intervalMs: 10_000)]))
  }
  return ResourceConfiguration(
    version: version,
    properties: [
      "torture-version": version.description, "torture-resources": String(count),
      "torture-padding": String(repeating: "x", count: padding),
    ],
    resources: resources)
}

let arguments = CommandLine.arguments
guard arguments.count == 2 || arguments.count == 3 else {
  fail("usage: config-store-torture DIRECTORY [MAX_RESOURCES]")
}
let maxResources = arguments.count == 3 ? Int(arguments[2]) ?? -1 : 300
guard maxResources >= 0 else { fail("MAX_RESOURCES must be a number >= 0") }

let store = ConfigStore(directory: arguments[1])
let (newest, problems) = store.load()
for problem in problems { FileHandle.standardError.write(Data("problem: \(problem)\n".utf8)) }
var version = newest.version
while true {
  version.epoch += 1
  let config = configuration(
    version: version, resources: Int.random(in: 0...maxResources), padding: Int.random(in: 0...800_000))
  say("begin \(version)")
  do {
    try store.save(config)
  } catch {
    fail(error.description)
  }
  say("saved \(version)")
}
