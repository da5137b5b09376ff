// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DevsyncTestSupport
import Foundation

/// dbusmock's `polkitd` template on a test bus: denies everything until ``allow(_:)``.
final class PolkitMock: @unchecked Sendable {  // immutable after init
    private let process: Process

    private init(process: Process) { self.process = process }

    /// Starts the mock on `bus` and waits until it owns org.freedesktop.PolicyKit1.
    static func start(on bus: TestBus, watching client: DBusConnection) async throws -> PolkitMock {
        let changes = try await client.nameOwnerChanges(of: PolkitClient.busName)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "dbusmock", "--template", "polkitd"]
        var environment = ProcessInfo.processInfo.environment
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ChildProcess.run(process)
        if try await client.nameOwner(of: PolkitClient.busName) == nil {
            for await change in changes where change.newOwner != nil { break }
        }
        return PolkitMock(process: process)
    }

    /// Makes the mock allow exactly `actions`.
    func allow(_ actions: [String], through client: DBusConnection) async throws {
        _ = try await client.call(
            destination: PolkitClient.busName, path: PolkitClient.authorityPath, interface: "org.freedesktop.DBus.Mock",
            member: "SetAllowed", arguments: [.strings(actions)])
    }

    func stop() {
        // SIGKILL, as for the test bus: SIGTERM left the mock running after the tests.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { stop() }
}
