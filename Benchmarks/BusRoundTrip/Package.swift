// swift-tools-version: 6.1
import PackageDescription

// BusService's round trip, throughput, GetManagedObjects and signal latency on a private dbus-daemon. A separate
// package, like UdevHotplug, so the main build never builds it; run it as docs/benchmarks.md says.
let package = Package(
    name: "bus-round-trip-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "devsync", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "BusRoundTrip",
            dependencies: [
                .product(name: "BusService", package: "devsync"),
                .product(name: "DBus", package: "devsync"),
                .product(name: "DeviceRegistry", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
