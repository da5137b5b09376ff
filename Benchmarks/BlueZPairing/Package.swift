// swift-tools-version: 6.1
import PackageDescription

// The BlueZ watcher's pairing latency against dbusmock's bluez5 template on a private dbus-daemon. A separate
// package so the main build never builds it; run it as docs/benchmarks.md says.
let package = Package(
    name: "bluez-pairing-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "devsync", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "BlueZPairing",
            dependencies: [
                .product(name: "Bluetooth", package: "devsync"),
                .product(name: "DBus", package: "devsync"),
                .product(name: "DeviceRegistry", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
