import DBus
import Foundation
import Logging

// Copied from Tests/BusServiceTests/Support: test targets cannot share sources.

/// A private dbus-daemon for one test, reachable by every user (tests call it as `nobody` too), killed at the end.
final class TestBus: @unchecked Sendable {  // immutable after init; stop() is serialised by `lock`
    let directory: URL
    /// The `unix:path=…` address; busctl, gdbus and dbusmock all accept it.
    let address: String
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    init() throws {
        directory = URL(fileURLWithPath: "/tmp/devsync-bus-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let socket = directory.appendingPathComponent("bus").path
        let config = directory.appendingPathComponent("bus.conf")
        try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path=\(socket)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """.write(to: config, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        process.arguments = ["--config-file=\(config.path)", "--nofork", "--print-address"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The daemon prints its address once it listens: that line is the readiness signal.
        var line = Data()
        let reader = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let printed = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard printed.hasPrefix("unix:") else {
            process.terminate()
            throw DBusError(name: "org.devsync.Test.Error", message: "dbus-daemon printed no address")
        }
        // The printed address carries a guid; the plain path is what every client accepts.
        address = "unix:path=\(socket)"
        chmod(socket, 0o777)
    }

    func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        // SIGKILL: a daemon started from the test process ignored SIGTERM and outlived it. waitUntilExit() is
        // not used because it spins a run loop a test task lacks; Foundation reaps the child.
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    /// A new binding connection to this bus.
    func connect(_ label: String = "test") async throws -> DBusConnection {
        var logger = Logger(label: "bus-test.\(label)")
        logger.logLevel = .warning
        return try await DBusConnection.connect(to: address, logger: logger)
    }

    /// Who runs a client command.
    enum User {
        case root
        /// uid/gid 65534, through `setpriv`.
        case nobody
    }

    /// Runs `busctl --address=… args…`.
    func busctl(as user: User = .root, _ arguments: String...) async throws -> CommandResult {
        try await Command.run(user, "/usr/bin/busctl", ["--address=\(address)"] + arguments)
    }

    /// Runs `gdbus <verb> --address … args…`.
    func gdbus(as user: User = .root, _ verb: String, _ arguments: String...) async throws -> CommandResult {
        try await Command.run(user, "/usr/bin/gdbus", [verb, "--address", address] + arguments)
    }
}

/// What a finished command printed and how it ended.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Command {
    /// Runs a program as `user` without blocking a thread: output goes to files, the exit is awaited.
    static func run(
        _ user: TestBus.User, _ executable: String, _ arguments: [String], environment: [String: String] = [:]
    ) async throws -> CommandResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out")
        let err = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        let process = Process()
        switch user {
        case .root:
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        case .nobody:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", executable] + arguments
            process.environment = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"]
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try outHandle.close()
        try errHandle.close()
        return CommandResult(
            status: status,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
