// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
@testable import SyncEvolution

/// A private HOME for one test: SyncEvolution's configurations, session logs and both sides' data live below one
/// temporary directory, removed at the end. The "phone" is SyncEvolution's own `@phone` context with file
/// datastores (the issue's local sync), reached as `local://@phone`.
final class Sandbox: Sendable {
    let root: URL
    /// The phone's datastores: `phone/addressbook`, `phone/memo` …
    let phone: URL
    /// This computer's datastores, the `@devsync` context's (``LocalStore/files(directory:)``).
    let computer: URL
    let environment: [String: String]

    init() throws {
        root = URL(fileURLWithPath: "/tmp/devsync-syncevo-\(UUID().uuidString.prefix(8))")
        phone = root.appendingPathComponent("phone")
        computer = root.appendingPathComponent("computer")
        for type in SyncDataType.allCases {
            try FileManager.default.createDirectory(
                at: phone.appendingPathComponent(type.datastore), withIntermediateDirectories: true)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = root.path
        environment["XDG_CONFIG_HOME"] = root.appendingPathComponent("config").path
        environment["XDG_CACHE_HOME"] = root.appendingPathComponent("cache").path
        environment["XDG_DATA_HOME"] = root.appendingPathComponent("data").path
        environment["LD_PRELOAD"] = nil
        self.environment = environment
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    /// The command under test; `path` replaces PATH (a directory holding a fake `syncevolution`).
    func command(timeout: Duration = .seconds(300), path: String? = nil) -> SyncEvolutionCommand {
        var logger = Logger(label: "syncevolution-test")
        logger.logLevel = .debug
        var environment = environment
        if let path { environment["PATH"] = path }
        return SyncEvolutionCommand(environment: environment, timeout: timeout, logger: logger)
    }

    /// A device whose phone is the `@phone` context.
    static let localPhone = SyncEvolutionDevice(vendor: "Test", model: "Local Phone", peer: .localContext("phone"))

    /// Configures the `@phone` context's file datastores, as a phone's own storage.
    func setUpPhone() async throws {
        var arguments = ["--configure"]
        for type in SyncDataType.allCases {
            let datastore = type.datastore
            arguments += [
                "\(datastore)/backend=file", "\(datastore)/database=file://\(phone.path)/\(datastore)",
                "\(datastore)/databaseFormat=\(type.fileFormat)",
            ]
        }
        try await syncevolution(arguments + ["@phone"] + SyncDataType.allCases.map(\.datastore))
    }

    /// The phone, configured, with this computer's configuration for it made.
    func pairedConfig(timeout: Duration = .seconds(300)) async throws -> SyncEvolutionConfig {
        try await setUpPhone()
        return try await command(timeout: timeout).configuration(for: Self.localPhone, store: .files(directory: computer.path))
    }

    /// Runs the real `syncevolution` with this sandbox's environment; throws on a non-zero exit.
    @discardableResult
    func syncevolution(_ arguments: [String]) async throws -> [String] {
        let lines = LineCollector()
        let program = try command().executable()
        let outcome = await ChildRun.run([program, "--daemon=no"] + arguments, environment: environment, timeout: .seconds(120)) {
            _, line in lines.append(line)
        }
        guard outcome == .exited(0) else {
            throw SandboxError(description: "syncevolution \(arguments.joined(separator: " ")): \(outcome)\n\(lines.lines.joined(separator: "\n"))")
        }
        return lines.lines
    }

    // MARK: Items

    func directory(_ side: URL, _ type: SyncDataType) -> URL { side.appendingPathComponent(type.datastore) }

    /// Writes a contact named `name` (with `phoneNumber`) as `file` in a side's address book.
    func writeContact(_ side: URL, file: String, name: String, phoneNumber: String = "+441234") throws {
        let parts = name.split(separator: " ")
        let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\(name)\r\nN:\(parts.last ?? "");\(parts.first ?? "");;;\r\nTEL:\(phoneNumber)\r\nEND:VCARD\r\n"
        let url = directory(side, .contacts).appendingPathComponent(file)
        let existed = FileManager.default.fileExists(atPath: url.path)
        let before = existed ? try modificationTime(url) : nil
        try card.write(to: url, atomically: false, encoding: .utf8)
        // The file backend notices changes by mtime in whole seconds: an edit in the second of the last sync
        // would go unseen, so an edit moves the mtime on by a few seconds instead of sleeping.
        if let before { try setModificationTime(url, before + 5) }
    }

    func writeNote(_ side: URL, file: String, text: String) throws {
        try text.write(to: directory(side, .notes).appendingPathComponent(file), atomically: false, encoding: .utf8)
    }

    /// The full names of a side's contacts, sorted.
    func contactNames(_ side: URL) throws -> [String] {
        try contents(side, .contacts).compactMap { card in
            card.split(whereSeparator: \.isNewline).first { $0.hasPrefix("FN:") }.map { String($0.dropFirst(3)) }
        }.sorted()
    }

    /// The phone numbers of the contact called `name` on a side.
    func phoneNumbers(_ side: URL, of name: String) throws -> [String] {
        try contents(side, .contacts).filter { $0.contains("FN:\(name)\r") || $0.contains("FN:\(name)\n") }.flatMap { card in
            card.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("TEL") }.map { String($0.split(separator: ":").last ?? "") }
        }
    }

    func contents(_ side: URL, _ type: SyncDataType) throws -> [String] {
        let folder = directory(side, type)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map {
            try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8)
        }
    }

    func remove(_ side: URL, _ type: SyncDataType, where predicate: (String) -> Bool) throws {
        let folder = directory(side, type)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let url = folder.appendingPathComponent(name)
            if predicate(try String(contentsOf: url, encoding: .utf8)) { try FileManager.default.removeItem(at: url) }
        }
    }

    func modificationTime(_ url: URL) throws -> Int {
        var info = stat()
        guard stat(url.path, &info) == 0 else { throw SandboxError(description: "stat \(url.path): \(errno)") }
        return info.st_mtim.tv_sec
    }

    func setModificationTime(_ url: URL, _ seconds: Int) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, url.path, &times, 0) == 0 else { throw SandboxError(description: "utimensat \(url.path): \(errno)") }
    }

    /// Every regular file and directory below the sandbox, as paths relative to its root.
    func allPaths() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        var result: [String] = []
        while let next = enumerator?.nextObject() as? String { result.append(next) }
        return result
    }

    /// Writes an executable `syncevolution` script into a fresh directory and returns the directory.
    func fakeProgram(_ body: String) throws -> String {
        let directory = root.appendingPathComponent("fake-bin")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("syncevolution")
        // Written by a shell of its own, never through a descriptor of this process: a child another test spawns
        // while this process held the script open for writing keeps that descriptor until its exec, and running the
        // script meanwhile fails with ETXTBSY (seen as exit status 126 from setpriv under load).
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh", script.path]
        let input = Pipe()
        writer.standardInput = input
        try writer.run()
        try input.fileHandleForWriting.write(contentsOf: Data("#!/bin/sh\n\(body)\n".utf8))
        try input.fileHandleForWriting.close()
        writer.waitUntilExit()
        guard writer.terminationStatus == 0 else { throw SandboxError(description: "cannot write \(script.path)") }
        return directory.path
    }
}

struct SandboxError: Error, CustomStringConvertible {
    var description: String
}

/// Progress reports, in order.
final class ProgressLog: Sendable {
    private let storage = Mutex<[(Double, String)]>([])

    func record(_ value: Double, _ message: String) {
        storage.withLock { $0.append((value, message)) }
    }

    var values: [Double] { storage.withLock { $0.map(\.0) } }
    var messages: [String] { storage.withLock { $0.map(\.1) } }
}

import Synchronization
