import DBus
import Foundation
import Logging

/// A private dbus-daemon for one test (as in DBusTests): its own config and socket in a temp dir, killed when the test ends.
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
        logger.logLevel = ProcessInfo.processInfo.environment["DEVSYNC_TEST_LOG"] == nil ? .warning : .trace
        return try await DBusConnection.connect(to: address, logger: logger)
    }
}
