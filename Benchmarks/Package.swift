// swift-tools-version: 6.1
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
        .executableTarget(
            name: "UdevHotplug",
            dependencies: [
                "BenchSupport", "UmockdevSupport",
                .product(name: "UdevMonitor", package: "devsync"),
                .product(name: "DeviceRegistry", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/UdevHotplug"
        ),
        .executableTarget(
            name: "BusRoundTrip",
            dependencies: [
                "BenchSupport",
                .product(name: "BusService", package: "devsync"),
                .product(name: "DBus", package: "devsync"),
                .product(name: "DeviceRegistry", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/BusRoundTrip"
        ),
        .executableTarget(
            name: "BlueZPairing",
            dependencies: [
                "BenchSupport",
                .product(name: "Bluetooth", package: "devsync"),
                .product(name: "DBus", package: "devsync"),
                .product(name: "DeviceRegistry", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/BlueZPairing"
        ),
        .executableTarget(
            name: "DaemonEndToEnd",
            dependencies: [
                "BenchSupport", "UmockdevSupport",
                .product(name: "DBus", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/DaemonEndToEnd"
        ),
        .target(name: "BenchSupport", path: "Support/BenchSupport"),
        .target(name: "UmockdevSupport", dependencies: ["CUmockdev"], path: "Support/UmockdevSupport"),
        .systemLibrary(name: "CUmockdev", path: "Support/CUmockdev", pkgConfig: "umockdev-1.0"),
    ],
    swiftLanguageModes: [.v6]
)
