// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import UdevMonitor

/// The database fixtures (Tests/UdevMonitorTests/Fixtures): a hwdb source file, media-player-info files and a
/// `modules.alias`, so that no test depends on what the machine has installed.
enum DatabaseFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// `modules.alias` lines of Debian's linux-image-6.1.0-57-amd64 for visor, ipaq, cdc_acm, rndis_host and ipheth,
    /// as depmod wrote them (docs/profiles.md says how the file was made).
    static var modulesAlias: String { directory.appendingPathComponent("modules.alias").path }
    static var mediaPlayerInfo: String { directory.appendingPathComponent("media-player-info").path }
    static var broken: String { directory.appendingPathComponent("broken").path }

    /// Builds `hwdb.bin` from Fixtures/hwdb.d with `systemd-hwdb --root=DIR update`, in a fresh temp directory,
    /// and returns its path. The caller removes `root` when done.
    static func buildHardwareDatabase() throws -> (root: URL, file: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-hwdb-\(UUID().uuidString)")
        let sources = root.appendingPathComponent("etc/udev/hwdb.d")
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("hwdb.d").path) {
            try FileManager.default.copyItem(
                at: directory.appendingPathComponent("hwdb.d").appendingPathComponent(name),
                to: sources.appendingPathComponent(name))
        }
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-hwdb")
        tool.arguments = ["--root=\(root.path)", "update"]
        try tool.run()
        tool.waitUntilExit()
        guard tool.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return (root, root.appendingPathComponent("etc/udev/hwdb.bin").path)
    }

    /// Locations of the fixtures, with the hwdb at `hardwareDatabase`.
    static func locations(hardwareDatabase: String, modulesAlias: String = modulesAlias,
                          mediaPlayerInfo: String = mediaPlayerInfo) -> DatabaseLocations {
        DatabaseLocations(hardwareDatabase: hardwareDatabase, mediaPlayerInfo: mediaPlayerInfo, modulesAlias: modulesAlias)
    }
}
