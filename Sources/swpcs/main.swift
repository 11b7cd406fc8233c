import Foundation
import SwcorosyncCommand
import SwpacemakerdCommand

// One binary for all three programs (the package installs /usr/sbin/swcorosync and
// /usr/sbin/swpacemakerd as links to /usr/bin/swpcs): the name it is run under decides.
switch URL(fileURLWithPath: CommandLine.arguments.first ?? "swpcs").lastPathComponent {
case "swcorosync": Swcorosync.main()
case "swpacemakerd": Swpacemakerd.main()
default: Swpcs.main()
}
