// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
  name: "swpcs",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "swcorosync", targets: ["swcorosync"]),
    .executable(name: "swpcs", targets: ["swpcs"]),
    .executable(name: "swpacemakerd", targets: ["swpacemakerd"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
  ],
  targets: [
    // Pure cores: no NIO, no C, no clock reads. Time is an input.
    .target(name: "ClusterTypes", swiftSettings: strict),
    .target(name: "ClusterConfig", dependencies: ["ClusterTypes", "Quorum"], swiftSettings: strict),
    .target(name: "Quorum", dependencies: ["ClusterTypes"], swiftSettings: strict),
    .target(name: "Membership", dependencies: ["ClusterTypes", "Quorum"], swiftSettings: strict),
    // Test support: many nodes' state machines on a virtual clock and a simulated network.
    .target(
      name: "ClusterSimulation",
      dependencies: ["ClusterTypes", "Membership", "Quorum", "ResourceManager", "ResourceModel"],
      swiftSettings: strict),
    .target(name: "ControlProtocol", dependencies: ["ClusterTypes"], swiftSettings: strict),
    // Resource manager: the configuration/status model and the scheduler (pure).
    .target(name: "ResourceModel", dependencies: ["ClusterTypes"], swiftSettings: strict),
    .target(name: "Scheduler", dependencies: ["ResourceModel"], swiftSettings: strict),
    .target(
      name: "ResourceManager",
      dependencies: ["ClusterTypes", "ResourceModel", "Scheduler", "ControlProtocol"],
      swiftSettings: strict),
    // Wire format: binary codec and AEAD sealing of membership messages.
    .target(
      name: "Wire",
      dependencies: ["ClusterTypes", "Membership", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: strict),
    // Pacemaker compatibility: CIB XML into the model; the scheduler regression runner.
    .target(
      name: "CIBImport", dependencies: ["ResourceModel", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: strict),
    .target(name: "Conformance", dependencies: ["CIBImport", "ResourceModel"], swiftSettings: strict),
    .executableTarget(
      name: "scheduler-conformance",
      dependencies: [
        "Conformance", "CIBImport", "ResourceModel", "Scheduler",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict),
    // Differential testing and benchmark against Pacemaker's crm_simulate (scripts/differential).
    .executableTarget(
      name: "scheduler-differential",
      dependencies: [
        "Conformance", "CIBImport", "ResourceModel", "Scheduler",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict),
    // Storage: the one atomic file writer; the versioned configuration store.
    .target(name: "FileSystem", swiftSettings: strict),
    .target(
      name: "ConfigStore",
      dependencies: ["ResourceModel", "FileSystem", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: strict),
    // I/O shells.
    .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
    .systemLibrary(name: "CProcessSpawn"),
    .target(
      name: "ResourceExecutor", dependencies: ["CSystemd", "CProcessSpawn", "ResourceModel"],
      swiftSettings: strict),
    .target(
      name: "ResourceManagerDaemon",
      dependencies: [
        "ClusterTypes", "ResourceManager", "ResourceModel", "ResourceExecutor", "ConfigStore",
        "ClusterConfig",
        "ControlProtocol", "ControlSocket", "SystemdIntegration",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "SystemdIntegration",
      dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")],
      swiftSettings: strict),
    .target(
      name: "ControlSocket",
      dependencies: [
        "SystemdIntegration",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "MembershipDaemon",
      dependencies: [
        "ClusterTypes", "ClusterConfig", "Quorum", "Membership", "Wire", "ControlProtocol",
        "SystemdIntegration",
        "ControlSocket", "FileSystem", "HostIdentity",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(name: "ControlClient", dependencies: ["ControlProtocol"], swiftSettings: strict),
    // Which node this machine is (cluster.conf names, host name, local addresses).
    .target(name: "HostIdentity", dependencies: ["ClusterConfig", "ClusterTypes"], swiftSettings: strict),
    // Node administration (join, remote start/stop, cluster.conf distribution): protocol and decisions.
    .target(
      name: "ClusterAdmin", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: strict),
    // Executables: wiring only.
    // The daemons' command lines as libraries, so that swpcs can also be them (one multi-call binary).
    .target(
      name: "SwcorosyncCommand",
      dependencies: [
        "MembershipDaemon", "ClusterConfig", "SystemdIntegration", "Wire", "FileSystem",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "SwpacemakerdCommand",
      dependencies: [
        "ResourceManagerDaemon", "SystemdIntegration",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .executableTarget(name: "swcorosync", dependencies: ["SwcorosyncCommand"], swiftSettings: strict),
    .executableTarget(name: "swpacemakerd", dependencies: ["SwpacemakerdCommand"], swiftSettings: strict),
    .executableTarget(
      name: "swpcs",
      dependencies: [
        "ClusterTypes", "ClusterConfig", "ControlProtocol", "ControlClient", "ResourceManager",
        "ResourceModel",
        "CIBImport", "Conformance", "Scheduler", "Wire", "FileSystem", "Quorum", "ResourceExecutor",
        "ClusterAdmin",
        "HostIdentity", "SwcorosyncCommand", "SwpacemakerdCommand",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    // Benchmark: scheduler time on generated clusters (swift run -c release scheduler-bench).
    .executableTarget(
      name: "scheduler-bench", dependencies: ["Scheduler", "ResourceModel"], swiftSettings: strict),
    // Test support: drives the executor inside container nodes (tests/cluster/test_executor_cluster.py).
    .executableTarget(
      name: "executor-probe", dependencies: ["ResourceExecutor", "ResourceModel"], swiftSettings: strict),
    // Test support: the writer the ConfigStore crash test SIGKILLs.
    .executableTarget(
      name: "config-store-torture", dependencies: ["ConfigStore", "ResourceModel"], swiftSettings: strict),
    // Test support: whole-cluster simulation campaigns (scripts/sim; swift run sim --seed N --replay).
    .executableTarget(
      name: "sim",
      dependencies: [
        "ClusterSimulation", "ResourceModel", "Scheduler",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "ConfigStoreTests",
      dependencies: [
        "ConfigStore", "ResourceModel", "ClusterTypes", .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "ResourceManagerTests",
      dependencies: ["ResourceManager", "ResourceModel", "ClusterSimulation", "ClusterTypes"],
      swiftSettings: strict),
    .testTarget(
      name: "ResourceExecutorTests", dependencies: ["ResourceExecutor", "ResourceModel"],
      swiftSettings: strict),
    .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "ResourceModel"], swiftSettings: strict),
    .testTarget(name: "FileSystemTests", dependencies: ["FileSystem"], swiftSettings: strict),
    .testTarget(name: "CIBImportTests", dependencies: ["CIBImport", "ResourceModel"], swiftSettings: strict),
    .testTarget(
      name: "ConformanceTests", dependencies: ["Conformance", "CIBImport", "ResourceModel"],
      swiftSettings: strict),
    .testTarget(name: "ClusterConfigTests", dependencies: ["ClusterConfig"], swiftSettings: strict),
    .testTarget(name: "QuorumTests", dependencies: ["Quorum"], swiftSettings: strict),
    .testTarget(name: "ClusterSimulationTests", dependencies: ["ClusterSimulation"], swiftSettings: strict),
    .testTarget(
      name: "MembershipTests", dependencies: ["Membership", "Quorum", "ClusterSimulation"],
      swiftSettings: strict),
    .testTarget(name: "SystemdIntegrationTests", dependencies: ["SystemdIntegration"], swiftSettings: strict),
    .testTarget(name: "ClusterAdminTests", dependencies: ["ClusterAdmin"], swiftSettings: strict),
    .testTarget(name: "WireTests", dependencies: ["Wire", "Membership"], swiftSettings: strict),
    .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol"], swiftSettings: strict),
    .testTarget(
      name: "MembershipDaemonTests", dependencies: ["MembershipDaemon", "ClusterTypes"], swiftSettings: strict
    ),
    .testTarget(
      name: "ResourceManagerDaemonTests",
      dependencies: ["ResourceManagerDaemon", "ResourceExecutor", "ControlProtocol"],
      swiftSettings: strict),
  ]
)
