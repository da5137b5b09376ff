// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import SyncEvolution

@Suite("SyncEvolution: configurations per device")
struct ConfigurationTests {
    @Test("devsync's data type names map to SyncEvolution's datastores; others are not SyncEvolution's")
    func dataTypeMapping() {
        #expect(SyncDataType(devsyncName: "contacts")?.datastore == "addressbook")
        #expect(SyncDataType(devsyncName: "calendar")?.datastore == "calendar")
        #expect(SyncDataType(devsyncName: "todo")?.datastore == "todo")
        #expect(SyncDataType(devsyncName: "notes")?.datastore == "memo")
        #expect(SyncDataType(devsyncName: "photos") == nil)
        #expect(SyncDataType(devsyncName: "files") == nil)
    }

    @Test("the template comes from the vendor and model, as SyncEvolution rates them", arguments: [
        ("Nokia", "E61i", "Nokia_N900"),
        ("Sony Ericsson", "K750i", "Sony_Ericsson_K750i"),
        ("Sony Ericsson", "W595", "Sony_Ericsson_W595"),
        ("Acme", "Brick 3000", "Sony_Ericsson_W595"),
    ])
    func templateChoice(vendor: String, model: String, expected: String) async throws {
        let sandbox = try Sandbox()
        let command = sandbox.command()
        let device = SyncEvolutionDevice(vendor: vendor, model: model, bluetoothAddress: "00:11:22:33:44:55", channel: 9)
        #expect(try await command.template(for: device, program: command.executable()) == expected)
    }

    @Test("a phone's configuration: template, obex-bt URL with the SDP channel, one name per address")
    func phoneConfiguration() async throws {
        let sandbox = try Sandbox()
        let device = SyncEvolutionDevice(vendor: "Nokia", model: "E61i", bluetoothAddress: "00:1a:2b:3c:4d:5e", channel: 11)
        let config = try await sandbox.command().configuration(for: device, store: .files(directory: sandbox.computer.path))
        #expect(config.name == "nokia-e61i-00-1a-2b-3c-4d-5e@devsync")
        let ini = try String(contentsOfFile: config.directory + "/config.ini", encoding: .utf8)
        #expect(ini.contains("syncURL = obex-bt://00:1A:2B:3C:4D:5E+11\n"))
        #expect(ini.contains("remoteIdentifier = PC Suite"))  // Nokia's template
        // Nokia's template syncs calendar and to-dos as one datastore.
        #expect(try config.plan([.todo, .contacts, .calendar, .notes]).map(\.datastore) == ["addressbook", "calendar+todo", "memo"])

        // The channel moved (SDP published another): the configuration is reused with the new URL.
        var moved = device
        moved.peer = .bluetooth(address: "00:1a:2b:3c:4d:5e", channel: 4)
        let again = try await sandbox.command().configuration(for: moved, store: .files(directory: sandbox.computer.path))
        #expect(again.directory == config.directory)
        #expect(try String(contentsOfFile: config.directory + "/config.ini", encoding: .utf8)
            .contains("syncURL = obex-bt://00:1A:2B:3C:4D:5E+4\n"))
    }

    @Test("hostile vendor and model strings stay inside the configuration directory and inject nothing")
    func hostileNames() async throws {
        let sandbox = try Sandbox()
        let hostile = [
            ("../../../etc", "passwd"), ("Nokia\"; rm -rf ~ #", "E61i'"), ("--template", "none syncURL=http://evil"),
            ("Nokia\nsyncURL = http://evil", "E61i\r\n[ERROR] x"), ("/", "/"), ("..", ".."), ("", ""),
            ("Nokia", "E61i/../../peers/other"), ("ÄÖÜ 電話", "\u{0}\u{1b}[31m"),
        ]
        var names: Set<String> = []
        for (index, (vendor, model)) in hostile.enumerated() {
            let address = String(format: "00:11:22:33:44:%02X", index)
            let device = SyncEvolutionDevice(vendor: vendor, model: model, bluetoothAddress: address, channel: 3)
            let config = try await sandbox.command().configuration(for: device, store: .files(directory: sandbox.computer.path))
            #expect(config.peer.allSatisfy { $0.isLowercase && $0.isASCII || $0.isNumber || $0 == "-" }, "\(config.peer)")
            #expect(!config.peer.hasPrefix("-") && !config.peer.contains(".."))
            let ini = try String(contentsOfFile: config.directory + "/config.ini", encoding: .utf8)
            #expect(ini.contains("syncURL = obex-bt://\(address)+3\n"), "\(ini)")
            #expect(!ini.contains("evil"))
            names.insert(config.name)
        }
        #expect(names.count == hostile.count, "one configuration per address")
        // Every file SyncEvolution and devsync wrote is below the sandbox's config, cache or computer directories,
        // and every configuration is a direct child of @devsync's peers.
        let paths = sandbox.allPaths()
        #expect(paths.allSatisfy { $0.hasPrefix("config/") || $0.hasPrefix("cache/") || $0.hasPrefix("computer/") || $0.hasPrefix("phone") || $0 == "config" || $0 == "cache" || $0 == "computer" })
        let peers = try FileManager.default.contentsOfDirectory(atPath: sandbox.root.path + "/config/syncevolution/devsync/peers")
        #expect(Set(peers.map { $0 + "@devsync" }) == names)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.root.path + "/config/syncevolution").sorted()
            == [".internal.ini", "config.ini", "devsync"])
    }

    @Test("slugs: lower-case letters and digits joined by single dashes, bounded", arguments: [
        ("Sony Ericsson", "sony-ericsson"), ("../..", ""), ("--x--", "x"), ("A\nB", "a-b"), ("E61i", "e61i"),
    ])
    func slug(input: String, expected: String) {
        #expect(ConfigName.slug(input, limit: 24) == expected)
    }

    @Test("printable text keeps no control characters")
    func printable() {
        #expect(ConfigName.printable("Nokia\nE61i\u{1b}[0m\t ") == "Nokia E61i [0m")
    }
}
