// swift-tools-version: 6.1
import PackageDescription

// UdevMonitor's hotplug latency and cold-plug time under umockdev. A separate package so that the main build never
// links umockdev outside the tests; run it as docs/benchmarks.md says (it needs LD_PRELOAD=libumockdev-preload.so.0).
let package = Package(
    name: "udev-hotplug-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "devsync", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CUmockdev", pkgConfig: "umockdev-1.0"),
        .executableTarget(
            name: "UdevHotplug",
            dependencies: [
                "CUmockdev",
                .product(name: "UdevMonitor", package: "devsync"),
                .product(name: "DeviceRegistry", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
