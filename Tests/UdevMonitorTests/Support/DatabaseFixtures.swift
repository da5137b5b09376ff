// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import UdevMonitor

/// The database fixtures (Tests/UdevMonitorTests/Fixtures): a hwdb source file, media-player-info files, a
/// `modules.alias` and the source of a stand-in libmtp, so that no test depends on what the machine has installed.
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

    /// Builds the stand-in for libmtp.so.9 (Fixtures/libmtp/fake-libmtp.c) with the C compiler, `cc`, else the
    /// toolchain's `clang`, in a fresh temp directory, and returns its path. The caller removes `root` when done.
    static func buildFakeLibMTP() throws -> (root: URL, file: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-libmtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let library = root.appendingPathComponent("libmtp.so.9").path
        let source = directory.appendingPathComponent("libmtp/fake-libmtp.c").path
        for compiler in ["cc", "clang"] {
            let tool = Process()
            tool.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tool.arguments = [compiler, "-shared", "-fPIC", "-o", library, source]
            tool.standardError = FileHandle.nullDevice
            try tool.run()
            tool.waitUntilExit()
            if tool.terminationStatus == 0 { return (root, library) }
        }
        throw CocoaError(.fileWriteUnknown)
    }

    /// Locations of the fixtures, with the hwdb at `hardwareDatabase` and no libmtp unless one is given.
    static func locations(hardwareDatabase: String, modulesAlias: String = modulesAlias,
                          mediaPlayerInfo: String = mediaPlayerInfo, libmtp: String? = nil) -> DatabaseLocations {
        DatabaseLocations(hardwareDatabase: hardwareDatabase, mediaPlayerInfo: mediaPlayerInfo, modulesAlias: modulesAlias,
                          libmtp: libmtp)
    }
}
