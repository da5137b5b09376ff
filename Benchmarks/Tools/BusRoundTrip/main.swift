// SPDX-License-Identifier: Apache-2.0
import BenchSupport
import BusService
import DBus
import DeviceRegistry
import Foundation
import Logging

// Measures the broker the way a client sees it: a private dbus-daemon, the broker on one binding connection, a
// client on another, 1,000 devices in the registry. Prints the figures docs/benchmarks.md quotes.

struct PassThroughMatcher: DeviceMatcher {
    func match(_ properties: DeviceProperties) -> MatchOutcome {
        MatchOutcome(properties: properties, appliedRules: [SourceLocation(file: "bench.fdi", line: 1, column: 1)])
    }
}

struct AllowNothing: PolkitAuthority {
    func isAuthorized(sender: String, action: String, allowUserInteraction: Bool) async throws -> Bool { false }
}

func observation(_ serial: String, counter: Int32 = 0) -> DeviceObservation {
    DeviceObservation(
        transport: .usb, sourceKey: "/devices/usb1/\(serial)",
        properties: [
            "usb.vendor_id": .int(0x0830), "usb.product_id": .int(0x0060), "usb.serial": .string(serial),
            "sync.plugin": .string("palm-sync"), "sync.datatypes": .strlist(["contacts", "calendar", "todo", "notes"]),
            "sync.vendor": .string("Palm"), "sync.model": .string("Tungsten T"), "sync.kind": .string("pda"),
            "info.product": .string("Palm Handheld"), "usb.bcd_device": .int(0x0100), "bench.counter": .int(counter),
        ])
}

/// A duration as "123.4 µs".
func formatted(_ duration: Duration) -> String { String(format: "%.1f µs", microseconds(duration)) }

let bus = try PrivateBus(label: "bus-round-trip")
defer { bus.stop() }
let directory = bus.directory
let address = bus.address
let busDaemonProcess = bus.processIdentifier
var logger = Logger(label: "bus-round-trip")
logger.logLevel = .warning

let registry = try Registry(
    stateDirectory: directory.appendingPathComponent("state").path, matcher: PassThroughMatcher(), logger: logger)
let deviceCount = 1000
for index in 0..<deviceCount { await registry.handle(.arrived(observation(String(format: "SN%05d", index)))) }
let server = try await DBusConnection.connect(to: address, logger: logger)
let service = BrokerService(
    connection: server, registry: registry, authorizer: CallerAuthorizer(polkit: AllowNothing(), logger: logger),
    logger: logger)
try await service.start()
try await BrokerService.requestBusName(on: server)
let client = try await DBusConnection.connect(to: address, logger: logger)
let clock = ContinuousClock()

func deviceByUid(_ connection: DBusConnection, _ index: Int) async throws {
    _ = try await connection.call(
        destination: BrokerContract.busName, path: BrokerContract.managerPath, interface: BrokerContract.managerInterface,
        member: "DeviceByUid", arguments: [.string("usb-0830-0060-" + String(format: "SN%05d", index % deviceCount))])
}

// 1. Sequential method-call round trip.
for index in 0..<500 { try await deviceByUid(client, index) }
var roundTrips: [Duration] = []
for index in 0..<5000 {
    let start = clock.now
    try await deviceByUid(client, index)
    roundTrips.append(clock.now - start)
}
print("DeviceByUid round trip (5,000 sequential): p50 \(formatted(percentile(roundTrips.sorted(), 0.5))), p99 \(formatted(percentile(roundTrips.sorted(), 0.99)))")

// 2. Throughput with many calls in flight, from 4 client connections.
var clients = [client]
for _ in 0..<3 { clients.append(try await DBusConnection.connect(to: address, logger: logger)) }
let allClients = clients
let totalCalls = 40_000
let inFlightPerClient = 16
let started = clock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for (clientIndex, connection) in allClients.enumerated() {
        for lane in 0..<inFlightPerClient {
            group.addTask {
                var index = clientIndex * 1000 + lane
                for _ in 0..<(totalCalls / allClients.count / inFlightPerClient) {
                    try await deviceByUid(connection, index)
                    index += 7
                }
            }
        }
    }
    try await group.waitForAll()
}
let elapsed = clock.now - started
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(String(format: "Throughput: %.0f calls/s (%d calls, %d clients × %d in flight)", Double(totalCalls) / seconds, totalCalls, clients.count, inFlightPerClient))

/// CPU time (user and system) of this process, and of dbus-daemon from /proc (in clock ticks of 10 ms).
func cpuMilliseconds() -> (process: Double, daemon: Double) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let process = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3
    let stat = (try? String(contentsOfFile: "/proc/\(busDaemonProcess)/stat", encoding: .utf8)) ?? ""
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    let ticks = fields.count > 12 ? (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0) : 0
    return (process, ticks * 10)
}

// 3. GetManagedObjects with 1,000 devices.
var managed: [Duration] = []
var cpuBefore = cpuMilliseconds()
for round in 0..<(ProcessInfo.processInfo.environment["GMO_ROUNDS"].flatMap(Int.init) ?? 60) {
    let start = clock.now
    let reply = try await client.call(
        destination: BrokerContract.busName, path: BrokerContract.managerPath,
        interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
    let duration = clock.now - start
    if case .dictionary(_, _, let objects) = reply[0], objects.count != deviceCount { fatalError("got \(objects.count) objects") }
    if round >= 10 { managed.append(duration) }
    if round == 9 { cpuBefore = cpuMilliseconds() }
}
let cpuAfter = cpuMilliseconds()
print(String(
    format: "GetManagedObjects CPU per call: %.1f ms in this process (broker and client), %.1f ms in dbus-daemon",
    (cpuAfter.process - cpuBefore.process) / Double(managed.count), (cpuAfter.daemon - cpuBefore.daemon) / Double(managed.count)))
print("GetManagedObjects, \(deviceCount) devices (50 calls): p50 \(formatted(percentile(managed.sorted(), 0.5))), p99 \(formatted(percentile(managed.sorted(), 0.99)))")

// 3a. What the reply is made of: its body size, and per device the bytes of each part as marshalled.
let lastReply = try await client.call(
    destination: BrokerContract.busName, path: BrokerContract.managerPath,
    interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
guard case .dictionary(_, _, let managedObjects) = lastReply[0] else { fatalError("GetManagedObjects returned no dictionary") }
var parts: [String: Int] = [:]
var bodySize = 8
for (path, interfaces) in managedObjects {
    bodySize = WireSize.align(bodySize, 8)
    let start = bodySize
    let pathEnd = WireSize.end(of: path, at: 0)
    parts["path", default: 0] += pathEnd
    var offset = WireSize.align(WireSize.align(pathEnd, 4) + 4, 8)
    parts["interfaces' a{sa{sv}} framing", default: 0] += offset - pathEnd
    guard case .dictionary(_, _, let byInterface) = interfaces else { fatalError("bad interfaces") }
    for (name, properties) in byInterface {
        let before = offset
        offset = WireSize.end(of: name, at: WireSize.align(offset, 8))
        offset = WireSize.align(WireSize.align(offset, 4) + 4, 8)
        parts["interface names and a{sv} framing", default: 0] += offset - before
        guard case .dictionary(_, _, let values) = properties else { fatalError("bad properties") }
        for (key, value) in values {
            let before = offset
            offset = WireSize.end(of: value, at: WireSize.end(of: key, at: WireSize.align(offset, 8)))
            let part =
                switch key.string ?? "" {
                case "Actions": "Actions"
                case "Properties": "Properties (a{sv})"
                default: "other 14 Device properties"
                }
            parts[part, default: 0] += offset - before
        }
    }
    bodySize = start + offset
}
print("GetManagedObjects reply body: \(bodySize) bytes for \(managedObjects.count) devices; per device:", terminator: "")
for (part, bytes) in parts.sorted(by: { $0.value > $1.value }) where bytes > 0 {
    print(" \(part) \(bytes / managedObjects.count)", terminator: ";")
}
print()

// 3c. The same objects exported with the binding alone, whole and with parts left out: what shrinking the
// reply would buy (the broker's API stays as it is; this only measures).
let shadow = try await DBusConnection.connect(to: address, logger: logger)
func exportShadow(_ root: DBusObjectPath, leaving omitted: Set<String>) async throws {
    await shadow.exportObjectManager(at: root)
    for (path, interfaces) in managedObjects {
        guard let path = path.objectPath, let properties = interfaces[BrokerContract.deviceInterface]?.stringDictionary else { continue }
        let stored = properties.filter { !omitted.contains($0.key) }.sorted { $0.key < $1.key }
            .map { DBusProperty($0.key, type: $0.value.type, value: $0.value) }
        try await shadow.export(
            [DBusInterface(BrokerContract.deviceInterface, properties: stored)], at: root.appending(escaping: path.lastElement ?? "x"))
    }
}
let variants: [(String, Set<String>)] = [
    ("whole", []), ("without Properties", ["Properties"]), ("without Properties and Actions", ["Properties", "Actions"]),
]
for (label, omitted) in variants { try await exportShadow(try DBusObjectPath("/bench").appending(escaping: label), leaving: omitted) }
let shadowName = await shadow.uniqueName
// Its reply comes after the InterfacesAdded signals the exports queued, so the daemon is done with them.
_ = try await client.call(destination: shadowName, path: .root, interface: "org.freedesktop.DBus.Peer", member: "Ping")
for (label, _) in variants {
    let root = try DBusObjectPath("/bench").appending(escaping: label)
    var times: [Duration] = []
    for round in 0..<40 {
        let start = clock.now
        _ = try await client.call(destination: shadowName, path: root, interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
        if round >= 10 { times.append(clock.now - start) }
    }
    print("GetManagedObjects of the same 1,000 objects exported by the binding, \(label) (30 calls): p50 \(formatted(percentile(times.sorted(), 0.5))), p99 \(formatted(percentile(times.sorted(), 0.99)))")
}
await shadow.close()

// 3b. The same call from busctl (sd-bus), to separate the broker's side from the client binding's decoding.
var busctlTimes: [Duration] = []
for _ in 0..<10 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/busctl")
    process.arguments = ["--address=\(address)", "call", BrokerContract.busName, BrokerContract.managerPath.rawValue,
        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"]
    process.standardOutput = FileHandle.nullDevice
    let start = clock.now
    try ChildProcess.run(process)
    process.waitUntilExit()
    busctlTimes.append(clock.now - start)
}
print("GetManagedObjects through busctl, process start included (10 runs): p50 \(formatted(percentile(busctlTimes.sorted(), 0.5)))")
var pings: [Duration] = []
for _ in 0..<2000 {
    let start = clock.now
    _ = try await client.call(destination: BrokerContract.busName, path: BrokerContract.managerPath, interface: "org.freedesktop.DBus.Peer", member: "Ping")
    pings.append(clock.now - start)
}
print("Peer.Ping round trip, answered on the connection queue (2,000): p50 \(formatted(percentile(pings.sorted(), 0.5))), p99 \(formatted(percentile(pings.sorted(), 0.99)))")

// 4. Registry change → PropertiesChanged received by the client.
let changes = try await client.signals(
    matching: DBusMatchRule(sender: await server.uniqueName, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
func signalLatencies(_ changes: AsyncStream<DBusMessage>) async -> [Duration] {
    var iterator = changes.makeAsyncIterator()
    var latencies: [Duration] = []
    for round in 1...2000 {
        let start = clock.now
        await registry.handle(.changed(observation("SN00042", counter: Int32(round))))
        guard await iterator.next() != nil else { fatalError("signal stream ended") }
        if round > 100 { latencies.append(clock.now - start) }
    }
    return latencies
}
let latencies = await signalLatencies(changes)
print("Registry change → PropertiesChanged at the client (1,900 changes): p50 \(formatted(percentile(latencies.sorted(), 0.5))), p99 \(formatted(percentile(latencies.sorted(), 0.99)))")

await service.stop()
for connection in clients { await connection.close() }
await server.close()

/// Sizes of values as the D-Bus wire format lays them out (little-endian, aligned from the body's start).
enum WireSize {
    static func align(_ offset: Int, _ alignment: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    static func alignment(_ type: DBusType) -> Int {
        switch type {
        case .byte, .signature, .variant: 1
        case .int16, .uint16: 2
        case .int64, .uint64, .double, .structure: 8
        default: 4
        }
    }

    /// Where `value` ends when written at `offset`.
    static func end(of value: DBusValue, at offset: Int) -> Int {
        switch value {
        case .byte: return offset + 1
        case .int16, .uint16: return align(offset, 2) + 2
        case .bool, .int32, .uint32, .unixFD: return align(offset, 4) + 4
        case .int64, .uint64, .double: return align(offset, 8) + 8
        case .string(let text): return align(offset, 4) + 4 + text.utf8.count + 1
        case .objectPath(let path): return align(offset, 4) + 4 + path.rawValue.utf8.count + 1
        case .signature(let signature): return offset + 1 + signature.rawValue.utf8.count + 1
        case .array(let element, let items):
            return items.reduce(align(align(offset, 4) + 4, alignment(element))) { end(of: $1, at: $0) }
        case .dictionary(_, _, let entries):
            return entries.reduce(align(align(offset, 4) + 4, 8)) { end(of: $1.value, at: end(of: $1.key, at: align($0, 8))) }
        case .structure(let fields): return fields.reduce(align(offset, 8)) { end(of: $1, at: $0) }
        case .variant(let inner): return end(of: inner, at: offset + 1 + inner.signature.utf8.count + 1)
        }
    }
}
