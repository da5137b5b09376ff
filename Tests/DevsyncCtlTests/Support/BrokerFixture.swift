// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DevsyncTestSupport
import Foundation

// The broker fixture itself is DevsyncTestSupport's (BusServiceTests use it too); devsyncctl's tests add running
// the command against it.
extension BrokerFixture {
    /// Approves a device for `owner` as root, directly on the bus.
    func approve(_ path: DBusObjectPath, owner: String = "root") async throws {
        _ = try await client.call(
            destination: BrokerContract.busName, path: path, interface: BrokerContract.deviceInterface,
            member: "Approve", arguments: [.string(owner), .vardict([:])])
    }

    /// Runs `devsyncctl --bus <this bus> arguments…` as `user`.
    func ctl(as user: TestBus.User = .root, _ arguments: String...) async throws -> CommandResult {
        try await Command.run(user, try binary().path, ["--bus", bus.address] + arguments)
    }

    /// Runs `devsyncctl --bus <this bus> arguments…` with a terminal as its standard output (through script(1)).
    func ctlOnTerminal(_ arguments: String...) async throws -> CommandResult {
        let line = ([try binary().path, "--bus", bus.address] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try await Command.run(.root, "/usr/bin/script", ["--quiet", "--return", "--command", line, "/dev/null"])
    }
}
