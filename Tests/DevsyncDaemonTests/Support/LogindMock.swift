// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation

/// python-dbusmock's `logind` template on a test bus, as `org.freedesktop.login1`; killed by ``stop()``.
final class LogindMock: @unchecked Sendable {  // immutable after init; kill() and the handler are thread-safe
    private let process: Process
    private let exited: AsyncStream<Void>
    private let control: DBusConnection

    /// Starts the mock on `bus` and returns once it owns its name.
    init(on bus: TestBus) async throws {
        control = try await bus.connect("logind-control")
        let appeared = try await control.nameOwnerChanges(of: "org.freedesktop.login1")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "dbusmock", "--template", "logind"]
        // The template is a system-bus one; the system bus address is how it finds ours.
        var environment = ProcessInfo.processInfo.environment
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let (exited, continuation) = AsyncStream<Void>.makeStream()
        self.exited = exited
        process.terminationHandler = { _ in continuation.finish() }
        try ChildProcess.run(process)
        if try await control.nameOwner(of: "org.freedesktop.login1") == nil {
            for await change in appeared where change.newOwner != nil { break }
        }
    }

    /// Adds a session on seat0 for `user` and makes it the seat's active session (the template's AddSession).
    func addActiveSession(_ id: String, uid: UInt32, user: String) async throws {
        _ = try await control.call(
            destination: "org.freedesktop.login1", path: DBusObjectPath("/org/freedesktop/login1"),
            interface: "org.freedesktop.DBus.Mock", member: "AddSession",
            arguments: [.string(id), .string("seat0"), .uint32(uid), .string(user), .bool(true)])
    }

    /// Kills the mock (SIGKILL: the spawning thread's mask may block SIGTERM) and waits until it is gone.
    func stop() async {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for await _ in exited {}
        await control.close()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
