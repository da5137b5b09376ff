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
