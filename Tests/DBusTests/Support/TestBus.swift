import DBus
import Foundation
import Logging

/// A private dbus-daemon for one test: its own config and socket in a temp dir, killed when the test ends.
final class TestBus: @unchecked Sendable {  // immutable after init; Process is thread-safe for terminate()
    let directory: URL
    /// The `unix:path=…` address; both busctl (sd-bus) and gdbus accept it.
    let address: String
    private let process: Process
    private let exited: AsyncStream<Void>

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-dbus-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
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
        let (exited, exitedContinuation) = AsyncStream<Void>.makeStream()
        self.exited = exited
        // Waiting through the termination handler: Process.waitUntilExit would block a cooperative thread.
        process.terminationHandler = { _ in exitedContinuation.finish() }
        try process.run()
        // The daemon prints its address once it listens; reading that line is the readiness signal.
        var line = Data()
        let reader = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        address = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard address.hasPrefix("unix:") else {
            kill(process.processIdentifier, SIGKILL)
            throw DBusError(name: "org.devsync.Test.Error", message: "dbus-daemon printed no address")
        }
    }

    /// Terminates the daemon and waits until it is gone.
    func stop() async {
        // SIGKILL: the daemon inherits the signal mask of the spawning thread, where SIGTERM may be blocked.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for await _ in exited {}
        try? FileManager.default.removeItem(at: directory)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `body` with a fresh bus and stops the bus afterwards, whether `body` throws or not.
    static func with<T>(_ body: (TestBus) async throws -> T) async throws -> T {
        let bus = try TestBus()
        do {
            let result = try await body(bus)
            await bus.stop()
            return result
        } catch {
            await bus.stop()
            throw error
        }
    }

    /// A new binding connection to this bus.
    func connect(_ label: String = "test") async throws -> DBusConnection {
        var logger = Logger(label: "dbus-test.\(label)")
        logger.logLevel = ProcessInfo.processInfo.environment["DBUS_TEST_LOG"] == "trace" ? .trace : .warning
        return try await DBusConnection.connect(to: address, logger: logger)
    }

    /// Runs `busctl --address=… args…`.
    func busctl(_ arguments: String...) async throws -> CommandResult {
        try await Command.run("/usr/bin/busctl", ["--address=\(address)"] + arguments)
    }

    /// Runs `gdbus <verb> --address … args…`.
    func gdbus(_ verb: String, _ arguments: String...) async throws -> CommandResult {
        try await Command.run("/usr/bin/gdbus", [verb, "--address", address] + arguments)
    }
}

/// What a finished command printed and how it ended.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var pid: Int32
}

enum Command {
    /// Runs a program without blocking a thread: output goes to files, exit is awaited through a continuation.
    static func run(_ executable: String, _ arguments: [String]) async throws -> CommandResult {
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
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
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
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "",
            pid: process.processIdentifier)
    }
}

