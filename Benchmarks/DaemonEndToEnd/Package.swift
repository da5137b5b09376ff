// swift-tools-version: 6.1
import PackageDescription

// The whole daemon, measured from outside: devsyncd (a release build of the main package) under umockdev's
// preload on a private dbus-daemon, with dbusmock's bluez5, watched by a client of the project's D-Bus binding.
// Run it as docs/benchmarks.md says; a separate package so that the main build never links umockdev.
let package = Package(
    name: "daemon-end-to-end-benchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "devsync", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CUmockdev", pkgConfig: "umockdev-1.0"),
        .executableTarget(
            name: "DaemonEndToEnd",
            dependencies: [
                "CUmockdev",
                .product(name: "DBus", package: "devsync"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
