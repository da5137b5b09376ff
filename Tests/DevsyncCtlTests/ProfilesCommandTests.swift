// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import DevsyncTestSupport
import Foundation
import Testing
@testable import devsyncctl

/// Runs the built `devsyncctl` with `arguments`; returns its exit status, standard output and standard error.
///
/// The blocking reads and the wait happen on a thread of their own, off the tests' cooperative pool (see
/// `onOwnThread`).
func devsyncctl(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
    let executable = try binary()
    return try await onOwnThread {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try ChildProcess.run(process)
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }
}

/// The `devsyncctl` next to the test bundle in the build directory.
func binary() throws -> URL {
    let candidates = [
        Bundle.main.bundleURL.deletingLastPathComponent(),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        Bundle.main.bundleURL,
    ]
    for directory in candidates {
        let url = directory.appendingPathComponent("devsyncctl")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "devsyncctl next to \(candidates)"])
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("DeviceRegistryTests/Fixtures/profiles").path

@Suite("devsyncctl profiles")
struct ProfilesCommandTests {
    @Test("match arguments are typed as FDI types them")
    func propertyTyping() throws {
        func value(_ argument: String) -> PropertyValue? { PropertyArgument(argument: argument)?.value }
        #expect(value("usb.vendor_id=0x0830") == .int(0x0830))
        #expect(value("usb.product_id=96") == .int(96))
        #expect(value("sync.ignore=true") == .bool(true))
        #expect(value("usb.interfaces=ff/42/01,08/06/50") == .strlist(["ff/42/01", "08/06/50"]))
        #expect(value("info.product=Tungsten, T3") == .string("Tungsten, T3"))
        #expect(value("usb.serial=0123") == .string("0123"))
        #expect(value("usb.serial:string=123") == .string("123"))
        #expect(value("udev.TAGS:strlist=uaccess,seat") == .strlist(["uaccess", "seat"]))
        #expect(value("k:uint64=0xff") == .uint64(255))
        #expect(PropertyArgument(argument: "k:int=abc") == nil)
        #expect(PropertyArgument(argument: "novalue") == nil)
        #expect(PropertyArgument(argument: "k:float=1") == nil)
    }

    @Test("check reports errors as file:line:column and exits non-zero")
    func check() async throws {
        let result = try await devsyncctl(["profiles", "check", fixtures + "/shipped"])
        #expect(result.status == 1)
        #expect(result.error.contains(fixtures + "/shipped/30-broken.fdi:4:32: error: expected a 32-bit integer"))
        #expect(result.output.contains("3 files checked, 2 rules, 1 with errors"))

        let clean = try await devsyncctl(["profiles", "check", fixtures + "/admin/20-palm.fdi"])
        #expect(clean.status == 0)
    }

    @Test("match shows the applied rules in order and the resulting properties")
    func match() async throws {
        let result = try await devsyncctl([
            "profiles", "match", "--json", "--profiles", fixtures + "/shipped", "--profiles", fixtures + "/admin",
            "info.subsystem=usb", "usb.vendor_id=0x0830", "info.vendor=Palm, Inc.",
        ])
        #expect(result.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let applied = try #require(json["appliedRules"] as? [String])
        #expect(applied == [
            fixtures + "/shipped/10-vendors/10-generic.fdi:4:5", fixtures + "/shipped/20-palm.fdi:6:7",
            fixtures + "/admin/20-palm.fdi:5:5",
        ])
        let properties = try #require(json["properties"] as? [String: [String: Any]])
        #expect(properties["sync.plugin"]?["value"] as? String == "palm-sync-local")
        #expect(properties["usb.vendor_id"]?["type"] as? String == "int")
        #expect(properties["sync.datatypes"]?["value"] as? [String] == ["contacts", "calendar", "todo"])
    }

    @Test("list shows every rule in application order")
    func list() async throws {
        let result = try await devsyncctl(["profiles", "list", "--profiles", fixtures + "/admin"])
        #expect(result.status == 0)
        #expect(result.output.contains("admin/20-palm.fdi:5:5  usb.vendor_id int=\"0x830\"  merge sync.plugin (string) palm-sync-local"))
    }
}

@Suite("devsyncctl profiles match --databases --explain")
struct ProfilesExplainTests {
    static let databaseFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("UdevMonitorTests/Fixtures")

    /// Builds the UdevMonitorTests hwdb fixture with `systemd-hwdb --root=DIR update`; returns root and file.
    func buildHardwareDatabase() throws -> (root: URL, file: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("devsyncctl-hwdb-\(UUID().uuidString)")
        let sources = root.appendingPathComponent("etc/udev/hwdb.d")
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Self.databaseFixtures.appendingPathComponent("hwdb.d/60-devsync-test.hwdb"),
            to: sources.appendingPathComponent("60-devsync-test.hwdb"))
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-hwdb")
        tool.arguments = ["--root=\(root.path)", "update"]
        try tool.run()
        tool.waitUntilExit()
        #expect(tool.terminationStatus == 0)
        return (root, root.appendingPathComponent("etc/udev/hwdb.bin").path)
    }

    /// A profile that trusts the hwdb and the kernel's tables, in a temp directory.
    func writeProfile(in root: URL) throws -> String {
        let directory = root.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try """
            <?xml version="1.0" encoding="UTF-8"?>
            <deviceinfo version="0.2">
              <device>
                <match key="hwdb.ID_PDA" string="1">
                  <merge key="sync.kind" type="string">pda</merge>
                </match>
                <match key="kernel.drivers" contains="visor">
                  <merge key="sync.plugin" type="string">palm-sync</merge>
                </match>
              </device>
            </deviceinfo>
            """.write(to: directory.appendingPathComponent("20-pda.fdi"), atomically: true, encoding: .utf8)
        return directory.path
    }

    @Test("--explain names each property's source: command line, hwdb, mpi, kernel table, profile rule")
    func explainSources() async throws {
        let (root, hwdb) = try buildHardwareDatabase()
        defer { try? FileManager.default.removeItem(at: root) }
        let profiles = try writeProfile(in: root)
        let aliases = Self.databaseFixtures.appendingPathComponent("modules.alias").path
        let result = try await devsyncctl([
            "profiles", "match", "--explain", "--json", "--profiles", profiles, "--hwdb", hwdb,
            "--modules-alias", aliases, "--media-player-info", Self.databaseFixtures.appendingPathComponent("media-player-info").path,
            "info.subsystem=usb", "usb.vendor_id=0x0830", "usb.product_id=0x0060", "usb.device_revision_bcd=0x0100",
        ])
        #expect(result.status == 0, "\(result.error)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let properties = try #require(json["properties"] as? [String: [String: Any]])
        func source(_ key: String) -> String? { properties[key]?["source"] as? String }
        #expect(source("usb.vendor_id") == "command line")
        #expect(source("hwdb.ID_PDA") == "hwdb usb:v0830p0060d0100dc00dsc00dp00")
        #expect(source("info.vendor") == "hwdb usb:v0830p0060d0100dc00dsc00dp00")
        #expect(properties["kernel.drivers"]?["value"] as? [String] == ["visor"])
        let aliasLines = try String(contentsOfFile: aliases, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let visorLine = try #require(aliasLines.firstIndex { $0.hasPrefix("alias usb:v0830p0060") }) + 1
        #expect(source("kernel.drivers") == "kernel \(aliases):\(visorLine)")
        #expect(source("sync.kind") == "profile \(profiles)/20-pda.fdi:4:5")
        #expect(source("sync.plugin") == "profile \(profiles)/20-pda.fdi:7:5")

        let sansa = try await devsyncctl([
            "profiles", "match", "--explain", "--profiles", profiles, "--hwdb", hwdb, "--modules-alias", aliases,
            "--media-player-info", Self.databaseFixtures.appendingPathComponent("media-player-info").path,
            "usb.vendor_id=0x0781", "usb.product_id=0x7420",
        ])
        #expect(sansa.status == 0)
        let file = Self.databaseFixtures.appendingPathComponent("media-player-info/sandisk_sansa-e200.mpi").path
        let row = try #require(sansa.output.split(separator: "\n").first { $0.contains("mpi.device.AccessProtocol") })
        #expect(row.contains("storage") && row.hasSuffix("mpi \(file)"), "\(row)")
    }

    @Test("without --databases the databases are not read; a missing one is a warning, not a failure")
    func databasesOptIn() async throws {
        let plain = try await devsyncctl(["profiles", "match", "--explain", "--profiles", fixtures + "/admin",
                                          "usb.vendor_id=0x0830", "usb.product_id=0x0060"])
        #expect(plain.status == 0)
        #expect(!plain.output.contains("hwdb.") && !plain.output.contains("kernel.drivers"))
        #expect(plain.output.contains("command line"))
        let missing = try await devsyncctl(["profiles", "match", "--profiles", fixtures + "/admin", "--hwdb", "/nonexistent/hwdb.bin",
                                            "--modules-alias", "/nonexistent/modules.alias", "--media-player-info", "/nonexistent",
                                            "usb.vendor_id=0x0830", "usb.product_id=0x0060"])
        #expect(missing.status == 0)
        #expect(missing.error.contains("/nonexistent/hwdb.bin: warning: cannot open the hardware database"))
        #expect(missing.error.contains("/nonexistent/modules.alias: warning: cannot open"))
    }
}
