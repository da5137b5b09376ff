// SPDX-License-Identifier: Apache-2.0
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

    // MARK: Reloading

    /// The shipped Palm fixture's text, written to `directory/10-palm.fdi`.
    func writePalm(to directory: String) throws -> String {
        let path = directory + "/10-palm.fdi"
        try FileManager.default.copyItem(atPath: try fixtures + "/shipped/20-palm.fdi", toPath: path)
        return path
    }

    @Test("a reload keeps the last good rules of a file that no longer parses, and says where it broke",
          arguments: [0, 200])
    func reloadKeepsBrokenFile(truncatedTo length: Int) throws {
        try withTemporaryDirectory { directory in
            let generic = directory + "/05-generic.fdi"
            try FileManager.default.copyItem(atPath: try fixtures + "/shipped/10-vendors/10-generic.fdi", toPath: generic)
            let palmFile = try writePalm(to: directory)
            let first = loader.load(directories: [directory])
            #expect(first.errors.isEmpty)
            #expect(SequentialMatcher(first.profiles).match(palm).properties.string("sync.plugin") == "palm-sync")

            // Cut short, as an editor or a package upgrade caught half-way leaves it.
            let handle = try #require(FileHandle(forWritingAtPath: palmFile))
            try handle.truncate(atOffset: UInt64(length))
            try handle.close()
            let log = LogCapture()
            let reload = ProfileLoader(logger: log.logger).load(directories: [directory], previous: first)

            #expect(reload.errors.count == 1)
            #expect(reload.errors.first?.location.file == palmFile)
            #expect(reload.kept == [palmFile])
            #expect(!reload.keptPrevious)
            #expect(reload.profiles.rules == first.profiles.rules, "the generic file is read again, the Palm's kept")
            #expect(reload.profiles.files == [generic, palmFile])
            #expect(SequentialMatcher(reload.profiles).match(palm).properties.string("sync.plugin") == "palm-sync")
            let warning = try #require(log.lines.first { $0.level == .warning })
            #expect(warning.message.contains("keeping its last good rules"), "\(warning.message)")
            let location = try #require(reload.errors.first?.location)
            #expect(location.line > 0 && location.column > 0)
            #expect(warning.message.contains("\(palmFile):\(location.line):\(location.column): "), "\(warning.message)")

            // Without a previous load (at start) the same file is skipped.
            let fresh = loader.load(directories: [directory])
            #expect(fresh.kept.isEmpty)
            #expect(fresh.profiles.files == [generic])
        }
    }

    @Test("a file fixed after breaking is read again, not the kept copy")
    func reloadAfterFix() throws {
        try withTemporaryDirectory { directory in
            let palmFile = try writePalm(to: directory)
            let first = loader.load(directories: [directory])
            try Data().write(to: URL(fileURLWithPath: palmFile))
            let broken = loader.load(directories: [directory], previous: first)
            try Data("""
                <deviceinfo><device><match key="usb.vendor_id" int="0x0830">
                <merge key="sync.plugin" type="string">palm-fixed</merge></match></device></deviceinfo>
                """.utf8).write(to: URL(fileURLWithPath: palmFile))
            let fixed = loader.load(directories: [directory], previous: broken)
            #expect(fixed.errors.isEmpty && fixed.kept.isEmpty)
            #expect(SequentialMatcher(fixed.profiles).match(palm).properties.string("sync.plugin") == "palm-fixed")
        }
    }

    @Test("a deleted file's rules are gone at a reload: deleting is a decision, not an accident")
    func reloadDropsDeletedFile() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.copyItem(
                atPath: try fixtures + "/shipped/10-vendors/10-generic.fdi", toPath: directory + "/05-generic.fdi")
            let palmFile = try writePalm(to: directory)
            let first = loader.load(directories: [directory])
            try FileManager.default.removeItem(atPath: palmFile)
            let reload = loader.load(directories: [directory], previous: first)
            #expect(reload.profiles.files == [directory + "/05-generic.fdi"])
            #expect(reload.kept.isEmpty && reload.errors.isEmpty && !reload.keptPrevious)
        }
    }

    @Test("a reload that would yield no rules keeps the previous set whole and warns, naming the directories")
    func reloadKeepsPreviousWhenEmpty() throws {
        try withTemporaryDirectory { parent in
            let directory = parent + "/profiles"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = try writePalm(to: directory)
            let first = loader.load(directories: [directory])
            #expect(!first.profiles.rules.isEmpty)

            try FileManager.default.removeItem(atPath: directory)
            let log = LogCapture()
            let reload = ProfileLoader(logger: log.logger).load(directories: [directory], previous: first)
            #expect(reload.keptPrevious)
            #expect(reload.profiles == first.profiles)
            #expect(reload.files == first.files, "and it stays the fallback of the next reload")
            let warning = try #require(log.lines.first { $0.level == .warning })
            #expect(warning.message.contains("no rules"), "\(warning.message)")
            #expect(warning.metadata["directories"] == "\(directory) (missing)")

            // An empty directory, or one whose only file is broken, is the same.
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            #expect(loader.load(directories: [directory], previous: reload).keptPrevious)
        }
    }

    @Test("no rules at start is a warning naming each directory read and what it held")
    func emptyAtStartWarns() throws {
        try withTemporaryDirectory { directory in
            try Data("not xml".utf8).write(to: URL(fileURLWithPath: directory + "/10-broken.fdi"))
            let log = LogCapture()
            let load = ProfileLoader(logger: log.logger).load(directories: ["/nonexistent/devsync", directory])
            #expect(load.profiles.rules.isEmpty && !load.keptPrevious)
            let warning = try #require(log.lines.first { $0.message.contains("No profile rules") })
            #expect(warning.level == .warning)
            #expect(warning.metadata["directories"] == "/nonexistent/devsync (missing), \(directory) (1 file)")

            // A set with rules says nothing of the kind.
            let good = LogCapture()
            _ = ProfileLoader(logger: good.logger).load(directories: [try fixtures + "/admin"])
            #expect(!good.lines.contains { $0.level >= .warning })
        }
    }
}
