// SPDX-License-Identifier: Apache-2.0
import BenchSupport
import Bluetooth
import DBus
import DeviceRegistry
import Foundation
import Logging

// PropertiesChanged(Paired=true) from dbusmock → `.arrived` out of the watcher, then Paired=false → `.departed`
// to reset, `rounds` times. The clock starts when the driver sends UpdateProperties, so each figure includes
// the mock's Python handling of that call; the broker's DeviceAdded end of the chain is not part of it.
let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 300 : 300
var logger = Logger(label: "devsync.bench.bluez")
logger.logLevel = .warning
let bus = try PrivateBus(type: "system", label: "bluez-bench")
let address = bus.address

let driver = try await DBusConnection.connect(to: String(address), logger: logger)
let owners = try await driver.nameOwnerChanges(of: "org.bluez")
let mock = Process()
mock.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
mock.arguments = ["-m", "dbusmock", "--template", "bluez5"]
mock.environment = ProcessInfo.processInfo.environment.merging(["DBUS_SYSTEM_BUS_ADDRESS": String(address)]) { $1 }
mock.standardOutput = FileHandle.nullDevice
mock.standardError = FileHandle.nullDevice
try ChildProcess.run(mock)
for await change in owners where change.newOwner != nil { break }

@MainActor func callMock(_ member: String, _ arguments: [DBusValue]) async throws {
    _ = try await driver.call(
        destination: "org.bluez", path: .root, interface: "org.bluez.Mock", member: member, arguments: arguments)
}
let path = try DBusObjectPath("/org/bluez/hci0/dev_00_1A_7D_DA_71_13")
// Paired with ServicesResolved in the same change, as for a device whose services BlueZ already knows: the watcher
// announces it at once, so this measures the watcher's path, not its settle window (docs/bluetooth.md, "Settling").
@MainActor func setPaired(_ paired: Bool) async throws {
    _ = try await driver.call(
        destination: "org.bluez", path: path, interface: "org.freedesktop.DBus.Mock", member: "UpdateProperties",
        arguments: [.string("org.bluez.Device1"), .vardict(["Paired": .bool(paired), "ServicesResolved": .bool(paired)])])
}
try await callMock("AddAdapter", [.string("hci0"), .string("bench")])
try await callMock("AddDevice", [.string("hci0"), .string("00:1A:7D:DA:71:13"), .string("K750i")])

let connection = try await DBusConnection.connect(to: String(address), logger: logger)

@MainActor func measure(_ stream: AsyncStream<SourceEvent>) async throws -> [Duration] {
    var events = stream.makeAsyncIterator()
    let clock = ContinuousClock()
    var latencies: [Duration] = []
    for round in 0..<(rounds + 20) {
        let start = clock.now
        try await setPaired(true)
        guard case .arrived? = await events.next(isolation: MainActor.shared) else { fatalError("expected an arrival") }
        if round >= 20 { latencies.append(clock.now - start) }  // the first rounds warm up
        try await setPaired(false)
        guard case .departed? = await events.next(isolation: MainActor.shared) else { fatalError("expected a departure") }
    }
    return latencies.sorted()
}

let sorted = try await measure(BlueZWatcher(connection: connection, logger: logger, serviceLookup: nil).events())
func micros(_ fraction: Double) -> Int { Int(microseconds(percentile(sorted, fraction))) }
print("pairings: \(sorted.count)  p50: \(micros(0.50)) µs  p90: \(micros(0.90)) µs  p99: \(micros(0.99)) µs  max: \(micros(1)) µs")
await connection.close()
await driver.close()
kill(mock.processIdentifier, SIGKILL)
bus.stop()
