// swift-tools-version: 6.1
// SPDX-License-Identifier: Apache-2.0
import PackageDescription

// devsync is licensed under the Apache License, Version 2.0 (LICENSE).
// Layers point one way: devsyncd (composition root) → BusService, UdevMonitor, Bluetooth → DeviceRegistry.
// C libraries are reached only through the thin `.systemLibrary` targets and never leave their wrapper module.
let package = Package(
    name: "devsync",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DeviceRegistry", targets: ["DeviceRegistry"]),
        .library(name: "DBus", targets: ["DBus"]),
        .library(name: "UdevMonitor", targets: ["UdevMonitor"]),
        .library(name: "BusService", targets: ["BusService"]),
        .library(name: "Bluetooth", targets: ["Bluetooth"]),
        .library(name: "SyncEvolution", targets: ["SyncEvolution"]),
        .executable(name: "devsyncd", targets: ["devsyncd"]),
        .executable(name: "devsyncctl", targets: ["devsyncctl"]),
        .executable(name: "devsync-agent", targets: ["devsync-agent"]),
        .executable(name: "devsync-engine", targets: ["devsync-engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: C libraries (pkg-config names as the distributions ship them)
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CUSB", pkgConfig: "libusb-1.0", providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(name: "CDBus", pkgConfig: "dbus-1", providers: [.apt(["libdbus-1-dev"])]),
        .systemLibrary(name: "CBluetooth", pkgConfig: "bluez", providers: [.apt(["libbluetooth-dev"])]),
        // sd_journal_sendv for devsyncd's structured journal entries (Sources/devsyncd/JournalLogHandler.swift).
        // The photo import of devsync-engine (Sources/PhotoImport): cameras and phones over PTP, and folders.
        .systemLibrary(name: "CGPhoto2", pkgConfig: "libgphoto2", providers: [.apt(["libgphoto2-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // pidfd_open and pipe2 from glibc, which Swift's Glibc module leaves out (no library to link).
        .systemLibrary(name: "CChildProcess"),
        // libmtp's device table, read through dlopen("libmtp.so.9") by UdevMonitor's databases (no library to link).
        .systemLibrary(name: "CLibMTP"),
        // devsyncd's global executor for Swift Concurrency: a pthread pool instead of libdispatch's global queues,
        // whose workqueue monitor wakes the process every second (Sources/CTaskPool/task_pool.c).
        .target(name: "CTaskPool"),
        // The installation directories, compiled in from the Makefile's PROFILEDIR and CONFIGDIR (-Xcc -D…).
        .target(name: "CInstallPaths"),
        // The version and those directories, for the programs; no Foundation, no other dependency.
        .target(name: "DevsyncBuild", dependencies: ["CInstallPaths"]),

        // MARK: Domain core: pure Swift, no C library, no I/O but its store.
        .target(
            name: "DeviceRegistry",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),

        // MARK: Edges
        .target(
            name: "UdevMonitor",
            dependencies: ["DeviceRegistry", "CUdev", "CUSB", "CSystemd", "CLibMTP", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "DBus",
            dependencies: ["CDBus", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Bluetooth",
            dependencies: ["DeviceRegistry", "DBus", "CBluetooth", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "BusService",
            dependencies: ["DeviceRegistry", "DBus", .product(name: "Logging", package: "swift-log")]
        ),
        // Drives the `syncevolution` command line for SyncML phones (syncml-obex-client); for devsync-engine, never
        // linked by devsyncd (it imports FoundationEssentials).
        .target(
            name: "SyncEvolution",
            dependencies: ["CChildProcess", .product(name: "Logging", package: "swift-log")]
        ),
        // The daemon's library half: configuration, owner detection, and the broker as a swift-service-lifecycle service.
        .target(
            name: "DevsyncDaemon",
            dependencies: [
                "DeviceRegistry", "DBus", "CChildProcess", "UdevMonitor", "BusService", "Bluetooth", "DevsyncBuild",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // The desktop agent's library half: what it shows and does (AgentModel, no I/O) and its run loop on both buses.
        .target(name: "DesktopAgent", dependencies: ["DBus", .product(name: "Logging", package: "swift-log")]),
        // The sync engine's library: registration with the broker (org.devsync.Engine1), jobs, the kinds of work
        // (`SyncWork`), its configuration and the import ledger. Knows no device protocol.
        .target(name: "SyncEngine", dependencies: ["DBus", .product(name: "Logging", package: "swift-log")]),
        // Importing photos and videos through libgphoto2: one kind of SyncWork.
        .target(
            name: "PhotoImport",
            dependencies: ["SyncEngine", "CGPhoto2", .product(name: "Logging", package: "swift-log")]
        ),
        // Syncing SyncML phones through SyncEvolution: one kind of SyncWork, the bridge between the two libraries.
        .target(
            name: "SyncMLWork",
            dependencies: ["SyncEngine", "SyncEvolution", .product(name: "Logging", package: "swift-log")]
        ),

        // MARK: Programs
        // No swift-argument-parser in the daemon: it imports FoundationEssentials, ~2 MB of the 12 MB resident
        // budget (docs/benchmarks.md). Keep every module devsyncd links free of Foundation.
        .executableTarget(
            name: "devsyncd",
            dependencies: [
                "DevsyncDaemon", "DeviceRegistry", "UdevMonitor", "BusService", "Bluetooth", "DBus", "CTaskPool", "CSystemd",
                "DevsyncBuild",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "devsyncctl",
            dependencies: [
                // UdevMonitor for `profiles match --databases` (the same hwdb, .mpi and modules.alias readers).
                "DeviceRegistry", "DBus", "DevsyncBuild", "UdevMonitor",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The per-user desktop agent (docs/agent.md): no Foundation, no swift-argument-parser, the task pool of devsyncd.
        .executableTarget(
            name: "devsync-agent",
            dependencies: ["DesktopAgent", "DBus", "DevsyncBuild", "CTaskPool", .product(name: "Logging", package: "swift-log")]
        ),
        // The per-user sync engine (docs/engine.md).
        .executableTarget(
            name: "devsync-engine",
            dependencies: [
                "SyncEngine", "PhotoImport", "SyncMLWork", "DBus", "DevsyncBuild",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Tests, one target per module
        .testTarget(name: "DeviceRegistryTests", dependencies: ["DeviceRegistry"], resources: [.copy("Fixtures")]),
        // Test-only support shared by the test targets (private dbus-daemon, client commands, a sync engine,
        // umockdev testbed); never in a product.
        .target(
            name: "DevsyncTestSupport",
            dependencies: ["BusService", "DBus", "DeviceRegistry", "CUmockdev", .product(name: "Logging", package: "swift-log")],
            path: "Tests/DevsyncTestSupport"
        ),
        .testTarget(name: "DBusTests", dependencies: ["DBus", "DevsyncTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "BusServiceTests",
            dependencies: ["BusService", "DeviceRegistry", "DBus", "DevsyncTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        // Spawned and SIGKILLed by DeviceRegistryTests' store crash test; found next to the test bundle.
        .executableTarget(
            name: "store-crash-writer",
            dependencies: ["DeviceRegistry", .product(name: "Logging", package: "swift-log")],
            path: "Tests/StoreCrashWriter"
        ),
        .testTarget(
            name: "DevsyncCtlTests",
            dependencies: [
                "devsyncctl", "BusService", "DeviceRegistry", "DBus", "DevsyncTestSupport", "DevsyncBuild",
                .product(name: "Logging", package: "swift-log")]
        ),
        // Test-only: umockdev's testbed (fake sysfs, synthetic uevents). Run under LD_PRELOAD=libumockdev-preload.so.0.
        .systemLibrary(name: "CUmockdev", path: "Tests/CUmockdev", pkgConfig: "umockdev-1.0", providers: [.apt(["libumockdev-dev"])]),
        .testTarget(
            name: "UdevMonitorTests",
            dependencies: ["UdevMonitor", "DeviceRegistry", "DevsyncTestSupport", .product(name: "Logging", package: "swift-log")],
            exclude: ["Fixtures"]  // database fixtures, read by path (Support/DatabaseFixtures.swift)
        ),
        // Runs the built devsyncd (and devsyncctl, and examples/reference-engine) on a private bus over a umockdev
        // testbed (under LD_PRELOAD, as UdevMonitorTests).
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["devsyncd", "devsyncctl", "devsync-engine", "DBus", "DevsyncTestSupport", "DevsyncBuild", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "DevsyncDaemonTests",
            dependencies: ["DevsyncDaemon", "DeviceRegistry", "DBus", "DevsyncTestSupport", "UdevMonitor", .product(name: "Logging", package: "swift-log")]
        ),
        // mallinfo2 for the leak checks: glibc's malloc.h is not in Swift's Glibc module.
        .target(name: "CHeapProbe", path: "Tests/CHeapProbe"),
        .testTarget(
            name: "SyncEvolutionTests",
            dependencies: ["SyncEvolution", "SyncMLWork", "SyncEngine", "DBus", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "DesktopAgentTests", dependencies: ["DesktopAgent", "DBus"]),
        .testTarget(
            name: "SyncEngineTests",
            dependencies: ["SyncEngine", "PhotoImport", "DBus", "DevsyncTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "BluetoothTests", dependencies: ["Bluetooth", "DeviceRegistry", "DBus", "CHeapProbe"]),

        // MARK: Fuzzing (docs/fuzzing.md)
        // What each libFuzzer target does with one input, in the package so it reaches `package` symbols. Never in
        // a product: `make fuzz` links it into the fuzzers, FuzzEntriesTests replays the seed corpora through it.
        .target(
            name: "FuzzEntries",
            dependencies: ["DeviceRegistry", "DBus", "Bluetooth", "UdevMonitor", "DevsyncDaemon"],
            path: "Fuzz/Entries"
        ),
        .testTarget(name: "FuzzEntriesTests", dependencies: ["FuzzEntries"], path: "Fuzz/Tests"),
    ],
    swiftLanguageModes: [.v6]
)

// `make fuzz` only (DEVSYNC_FUZZ=1): one libFuzzer executable per entry. They call libFuzzer's driver, which only
// `-sanitize=fuzzer` links, and that flag changes every compile command: no other build sees them.
if Context.environment["DEVSYNC_FUZZ"] == "1" {
    package.targets.append(.systemLibrary(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"))
    package.targets.append(.target(name: "FuzzDriver", dependencies: ["FuzzEntries", "CFuzzerDriver"], path: "Fuzz/Driver"))
    for name in ["fdi", "keyfile", "config", "dbus", "sdp", "uevent", "databases"] {
        package.targets.append(
            .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzDriver"], path: "Fuzz/Targets/\(name)"))
    }
}
