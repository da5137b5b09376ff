// swift-tools-version: 6.1
// SPDX-License-Identifier: Apache-2.0
import PackageDescription

// Benchmarks live in their own package so that the main package (and CI's `make check`) never builds the
// benchmark harness. Run with `swift package --allow-writing-to-package-directory benchmark` (see `make bench`).
let package = Package(
    name: "devsync-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // Named, because a path dependency is otherwise identified by its directory name (a clone or worktree may
        // not be called devsync).
        .package(name: "devsync", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "ProfileMatching",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DeviceRegistry", package: "devsync"),
                "HeapStatistics",
            ],
            path: "Benchmarks/ProfileMatching",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // mallinfo2 is not in Swift's Glibc module; this reads it for the index-size figure.
        .target(name: "HeapStatistics", path: "Benchmarks/HeapStatistics"),

        // Stand-alone measurements of whole paths (docs/benchmarks.md), built and run by hand:
        //   swift build -c release --package-path Benchmarks --product NAME && Benchmarks/.build/release/NAME
        tool("UdevHotplug", ["UmockdevSupport", devsync("UdevMonitor"), devsync("DeviceRegistry")]),
        tool("BusRoundTrip", [devsync("BusService"), devsync("DBus"), devsync("DeviceRegistry")]),
        tool("BlueZPairing", [devsync("Bluetooth"), devsync("DBus"), devsync("DeviceRegistry")]),
        tool("DaemonEndToEnd", ["UmockdevSupport", "SignalStamps", devsync("DBus")]),
        tool("FloodMemory", ["UmockdevSupport", devsync("DBus")]),
        tool("DeviceMatching", [devsync("UdevMonitor"), devsync("DeviceRegistry")]),
        .target(name: "BenchSupport", path: "Support/BenchSupport"),
        .target(name: "UmockdevSupport", dependencies: ["BenchSupport", "CUmockdev"], path: "Support/UmockdevSupport"),
        .systemLibrary(name: "CUmockdev", path: "Support/CUmockdev", pkgConfig: "umockdev-1.0"),
        // A plain libdbus client on its own thread, stamping signals as it reads them (DaemonEndToEnd).
        .target(name: "SignalStamps", dependencies: ["CLibDBus"], path: "Support/SignalStamps"),
        .systemLibrary(name: "CLibDBus", path: "Support/CLibDBus", pkgConfig: "dbus-1"),
    ],
    swiftLanguageModes: [.v6]
)

/// A product of the main package.
func devsync(_ name: String) -> Target.Dependency { .product(name: name, package: "devsync") }

/// A stand-alone measurement in `Tools/NAME`, with the shared support and swift-log.
func tool(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["BenchSupport"] + dependencies + [.product(name: "Logging", package: "swift-log")],
        path: "Tools/\(name)")
}
