// SPDX-License-Identifier: Apache-2.0
import DBus
import Foundation
import Logging

/// A private dbus-daemon for one test, reachable by every user (tests call it as `nobody` too), killed at the end.
public final class TestBus: @unchecked Sendable {  // `process`, `address`, `directory` immutable; `stopped` guarded by `lock`
    /// The temporary directory holding the bus's config and socket, removed by ``stop()``.
    public let directory: URL
    /// The `unix:path=…` address; busctl, gdbus, dbusmock and devsyncd all accept it.
    public let address: String
    private let process: Process
    private let exited: AsyncStream<Void>
    private let lock = NSLock()
    private var stopped = false

    /// Starts the daemon and returns once it listens.
    ///
    /// - Parameter extraConfiguration: elements added after the allow-everything policy, such as
    ///   `<limit name="max_match_rules_per_connection">32</limit>` or a `<policy context="mandatory">` that
    ///   denies a send.
    public init(extraConfiguration: String = "") throws {
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
            \(extraConfiguration)
            </busconfig>
            """.write(to: config, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        process.arguments = ["--config-file=\(config.path)", "--nofork", "--print-address"]
        process.environment = Command.environmentWithoutPreload()
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let (exited, exitedContinuation) = AsyncStream<Void>.makeStream()
        self.exited = exited
        // Waiting through the termination handler: Process.waitUntilExit spins a run loop a test task lacks.
        process.terminationHandler = { _ in exitedContinuation.finish() }
        try ChildProcess.run(process)
        // The daemon prints its address once it listens: that line is the readiness signal.
        var line = Data()
        let reader = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard String(decoding: line, as: UTF8.self).hasPrefix("unix:") else {
            kill(process.processIdentifier, SIGKILL)
            throw DBusError(name: "org.devsync.Test.Error", message: "dbus-daemon printed no address")
        }
        // The printed address carries a guid; the plain path is what every client accepts.
        address = "unix:path=\(socket)"
        // World-accessible: tests run clients as `nobody` through setpriv.
        chmod(socket, 0o777)
    }

    /// Starts a bus as ``init(extraConfiguration:)`` does, on a thread of its own: writing the configuration and
    /// waiting for the daemon to listen block for as long as starting a process takes, seconds under load, and a
    /// test task must not hold a thread of the cooperative pool that long (see ``onOwnThread(_:)``).
    public static func start(extraConfiguration: String = "") async throws -> TestBus {
        try await onOwnThread { try TestBus(extraConfiguration: extraConfiguration) }
    }

    /// Kills the daemon and removes its directory; safe to call more than once and from `defer`.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        // SIGKILL: a dbus-daemon started through Foundation.Process ignores SIGTERM (it inherits a blocked mask).
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Kills the daemon and waits until it has exited, for tests that need the bus gone.
    public func stopAndWait() async {
        stop()
        for await _ in exited {}
    }

    deinit { stop() }

    /// Runs `body` with a fresh bus and stops the bus afterwards, whether `body` throws or not.
    public static func with<T>(_ body: (TestBus) async throws -> T) async throws -> T {
        let bus = try await TestBus.start()
        do {
            let result = try await body(bus)
            await bus.stopAndWait()
            return result
        } catch {
            await bus.stopAndWait()
            throw error
        }
    }

    /// A new binding connection to this bus; `DBUS_TEST_LOG=trace` or `DEVSYNC_TEST_LOG` set turns on tracing.
    public func connect(_ label: String = "test") async throws -> DBusConnection {
        var logger = Logger(label: "bus-test.\(label)")
        let environment = ProcessInfo.processInfo.environment
        let tracing = environment["DBUS_TEST_LOG"] == "trace" || environment["DEVSYNC_TEST_LOG"] != nil
        logger.logLevel = tracing ? .trace : .warning
        return try await DBusConnection.connect(to: address, logger: logger)
    }

    /// Who runs a client command.
    public enum User: Sendable {
        /// The test's own user.
        case root
        /// uid/gid 65534, through `setpriv`.
        case nobody
    }

    /// Runs `busctl --address=… args…`.
    public func busctl(as user: User = .root, _ arguments: String...) async throws -> CommandResult {
        try await busctl(as: user, arguments)
    }

    /// Runs `busctl --address=… arguments…`.
    public func busctl(as user: User = .root, _ arguments: [String]) async throws -> CommandResult {
        try await Command.run(user, "/usr/bin/busctl", ["--address=\(address)"] + arguments)
    }

    /// Runs `gdbus <verb> --address … args…`.
    public func gdbus(as user: User = .root, _ verb: String, _ arguments: String...) async throws -> CommandResult {
        try await Command.run(user, "/usr/bin/gdbus", [verb, "--address", address] + arguments)
    }
}

/// What a finished command printed and how it ended.
public struct CommandResult: Sendable {
    /// The exit status.
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
    /// The process id the command ran as (what a bus reports as the caller's pid).
    public var pid: Int32
}

/// Runs client programs for tests.
public enum Command {
    /// This process's environment without umockdev's preload, so that only the program under test sees a testbed.
    public static func environmentWithoutPreload() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = nil
        environment["UMOCKDEV_DIR"] = nil
        return environment
    }

    /// Runs a program as the test's user.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:]
    ) async throws -> CommandResult {
        try await run(.root, executable, arguments, environment: environment)
    }

    /// Runs a program as `user` without blocking a thread: output goes to files, the exit is awaited.
    public static func run(
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
            process.environment = environmentWithoutPreload().merging(environment) { $1 }
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
            do { try ChildProcess.run(process) } catch { continuation.resume(throwing: error) }
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

/// A client program left running while a test goes on: it reports on its first line of output, then keeps its
/// connections open until ``finish()`` closes its standard input.
public final class BackgroundClient: @unchecked Sendable {  // `process` and the pipes are immutable after init
    private let process: Process
    private let input: Pipe
    private let output: Pipe
    private let exited: AsyncStream<Int32>

    /// Starts `executable` as `user`.
    public init(_ user: TestBus.User, _ executable: String, _ arguments: [String]) throws {
        process = Process()
        switch user {
        case .root:
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = Command.environmentWithoutPreload()
        case .nobody:
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", executable] + arguments
            process.environment = ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"]
        }
        input = Pipe()
        output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let (exited, continuation) = AsyncStream<Int32>.makeStream()
        self.exited = exited
        process.terminationHandler = { process in
            continuation.yield(process.terminationStatus)
            continuation.finish()
        }
        try ChildProcess.run(process)
    }

    /// The first line the program prints, or what it printed if it exits first.
    public func firstLine() async -> String {
        let reader = output.fileHandleForReading
        // Read on a thread of its own: blocking the task pool could starve the broker the program waits for.
        return await withCheckedContinuation { continuation in
            Thread {
                var line = Data()
                while !line.contains(UInt8(ascii: "\n")) {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    line.append(chunk)
                }
                continuation.resume(
                    returning: String(decoding: line, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "")
            }.start()
        }
    }

    /// Closes the program's standard input and waits for it to exit; returns its exit status.
    @discardableResult
    public func finish() async -> Int32 {
        try? input.fileHandleForWriting.close()
        var status: Int32 = -1
        for await code in exited { status = code }
        return status
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
