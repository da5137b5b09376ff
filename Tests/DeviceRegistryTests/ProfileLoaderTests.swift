import Foundation
import Logging
import Testing
@testable import DeviceRegistry

@Suite("Profile loader")
struct ProfileLoaderTests {
    let loader = ProfileLoader(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))

    var fixtures: String {
        get throws {
            let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            return url.appendingPathComponent("profiles").path
        }
    }

    /// A fresh directory that is removed when `body` returns.
    func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(directory.path)
    }

    let palm: DeviceProperties = [
        "info.subsystem": .string("usb"), "info.vendor": .string("Palm, Inc."), "usb.vendor_id": .int(0x0830),
    ]

    @Test("files apply in lexical order per directory, subdirectories in place, .fdi files only")
    func lexicalOrder() throws {
        let shipped = try fixtures + "/shipped"
        let (files, errors) = loader.files(in: shipped)
        #expect(errors.isEmpty)
        #expect(files == [shipped + "/10-vendors/10-generic.fdi", shipped + "/20-palm.fdi", shipped + "/30-broken.fdi"])
    }

    @Test("a broken file is skipped whole with file:line:column, and the others are kept")
    func brokenFileSkipped() throws {
        let root = try fixtures
        let load = loader.load(directories: [root + "/shipped"])
        #expect(load.profiles.files == [root + "/shipped/10-vendors/10-generic.fdi", root + "/shipped/20-palm.fdi"])
        #expect(load.errors.map(\.description) == [
            root + "/shipped/30-broken.fdi:4:32: expected a 32-bit integer in decimal or 0x hex for int=, found \"abc\"",
        ])
    }

    @Test("a later directory's rules apply later, so /etc overrides /usr/share")
    func directoryPrecedence() throws {
        let root = try fixtures
        let load = loader.load(directories: [root + "/shipped", root + "/admin"])
        let outcome = SequentialMatcher(load.profiles).match(palm)
        #expect(outcome.properties.string("sync.plugin") == "palm-sync-local")
        #expect(outcome.properties.string("sync.vendor") == "Palm")
        #expect(outcome.properties.strlist("sync.datatypes") == ["contacts", "calendar", "todo"])
        #expect(outcome.appliedRules.map { URL(fileURLWithPath: $0.file).lastPathComponent } == ["10-generic.fdi", "20-palm.fdi", "20-palm.fdi"])
        #expect(outcome.appliedRules.last?.file == root + "/admin/20-palm.fdi")
        #expect(CompiledMatcher(load.profiles).match(palm) == outcome)

        // The other order gives the other answer: order is the only precedence.
        let reversed = SequentialMatcher(loader.load(directories: [root + "/admin", root + "/shipped"]).profiles).match(palm)
        #expect(reversed.properties.string("sync.plugin") == "palm-sync")
    }

    @Test("a directory that does not exist is skipped quietly")
    func missingDirectory() throws {
        let load = loader.load(directories: ["/nonexistent/devsync/fdi-profiles", try fixtures + "/admin"])
        #expect(load.errors.isEmpty)
        #expect(load.profiles.rules.count == 1)
    }

    @Test("an unreadable or oversized file is an error naming the file")
    func unreadableFiles() throws {
        try withTemporaryDirectory { directory in
            let big = directory + "/big.fdi"
            try Data(repeating: 0x20, count: 5 * 1024 * 1024).write(to: URL(fileURLWithPath: big))
            let load = loader.load(files: [big, directory + "/missing.fdi"])
            #expect(load.errors.count == 2)
            #expect(load.errors[0].description.hasPrefix(big + ": the file is 5242880 bytes; at most 4194304"))
            #expect(load.errors[1].code == .unreadable)
            #expect(load.errors[1].description.hasPrefix(directory + "/missing.fdi: cannot open"))
        }
    }

    @Test("condition ids stay unique across files")
    func conditionIDsUnique() throws {
        let root = try fixtures
        let load = loader.load(directories: [root + "/shipped", root + "/admin"])
        let ids = load.profiles.rules.flatMap { $0.conditions.map(\.id) }
        let byLocation = Dictionary(grouping: load.profiles.rules.flatMap(\.conditions), by: \.id).mapValues { Set($0.map(\.location)) }
        #expect(byLocation.values.allSatisfy { $0.count == 1 })
        #expect(Set(ids).count == load.profiles.conditionCount)
    }
}
