// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry
import Foundation
import Logging
import Synchronization
@testable import Bluetooth

/// A private system-like bus with dbusmock's `bluez5` template on it, driven from Swift.
///
/// Each test gets its own dbus-daemon in its own directory, so tests run in parallel and never see the host's buses.
final class MockBlueZBus: Sendable {
    let directory: URL
    let address: String
    private let daemon: Process
    private let mock = Mutex<Process?>(nil)
    /// The driver's own connection: it calls org.bluez.Mock and watches who owns org.bluez.
    let driver: DBusConnection

    static let logger = Logger(label: "devsync.test.bluez-mock")

    private init(directory: URL, address: String, daemon: Process, driver: DBusConnection) {
        self.directory = directory
        self.address = address
        self.daemon = daemon
        self.driver = driver
    }

    /// Starts a dbus-daemon whose policy allows everything, like a system bus without its restrictions.
    static func start() async throws -> MockBlueZBus {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-bluez-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("bus.conf")
        try """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>system</type>
          <listen>unix:path=\(directory.path)/bus</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <allow own="*"/>
            <allow send_destination="*"/>
            <allow receive_sender="*"/>
          </policy>
        </busconfig>
        """.write(to: config, atomically: true, encoding: .utf8)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        daemon.arguments = ["--config-file=\(config.path)", "--nofork", "--print-address"]
        let output = Pipe()
        daemon.standardOutput = output
        try daemon.run()
        let address = try await readLine(output.fileHandleForReading)
        let driver = try await DBusConnection.connect(to: address, logger: logger)
        return MockBlueZBus(directory: directory, address: address, daemon: daemon, driver: driver)
    }

    private static func readLine(_ handle: FileHandle) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            // A thread of its own: a blocking read on a pool thread can starve Swift's two-thread cooperative pool.
            Thread.detachNewThread {
                var bytes = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    bytes.append(chunk)
                    if bytes.contains(UInt8(ascii: "\n")) { break }
                }
                let text = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
                if let text, !text.isEmpty {
                    continuation.resume(returning: text)
                } else {
                    continuation.resume(throwing: MockError("dbus-daemon printed no address"))
                }
            }
        }
    }

    /// Starts `python3 -m dbusmock --template bluez5` on the bus and waits until it owns org.bluez.
    func startBlueZ() async throws {
        let changes = try await driver.nameOwnerChanges(of: BlueZ.busName)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "dbusmock", "--template", "bluez5"]
        var environment = ProcessInfo.processInfo.environment
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = address
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        mock.withLock { $0 = process }
        if try await driver.nameOwner(of: BlueZ.busName) != nil { return }
        for await change in changes where change.newOwner != nil { return }
        throw MockError("dbusmock never took org.bluez")
    }

    /// Kills bluetoothd's stand-in without warning, as a crash would, and waits until it is gone.
    func killBlueZ() async {
        guard let process = mock.withLock({ process in defer { process = nil }; return process }) else { return }
        await Self.killAndReap(process)
    }

    /// SIGKILLs `process` and waits for its exit without blocking a thread.
    private static func killAndReap(_ process: Process) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumed = Mutex(false)
            let finish: @Sendable () -> Void = {
                if resumed.withLock({ done in defer { done = true }; return !done }) { continuation.resume() }
            }
            process.terminationHandler = { _ in finish() }
            if !process.isRunning { finish() }
            kill(process.processIdentifier, SIGKILL)
        }
    }

    /// Stops everything this bus started.
    func stop() async {
        await killBlueZ()
        await driver.close()
        await Self.killAndReap(daemon)
        try? FileManager.default.removeItem(at: directory)
    }

    /// A new connection to the bus, for the watcher under test.
    func connect() async throws -> DBusConnection {
        try await DBusConnection.connect(to: address, logger: Self.logger)
    }

    // MARK: Driving the mock

    private static let root = DBusObjectPath.root

    private func callMock(_ member: String, _ arguments: [DBusValue]) async throws -> [DBusValue] {
        try await driver.call(
            destination: BlueZ.busName, path: Self.root, interface: "org.bluez.Mock", member: member,
            arguments: arguments)
    }

    /// `AddAdapter`: a powered adapter `/org/bluez/<name>`.
    @discardableResult
    func addAdapter(_ name: String = "hci0") async throws -> String {
        try await callMock("AddAdapter", [.string(name), .string("devsync test host")]).first?.string ?? ""
    }

    /// `RemoveAdapter`: removes the adapter but, like a crashing bluetoothd, not its devices.
    func removeAdapter(_ name: String = "hci0") async throws {
        _ = try await callMock("RemoveAdapter", [.string(name)])
    }

    /// `AddDevice`: an unpaired, unconnected device; returns its object path.
    @discardableResult
    func addDevice(_ address: String, alias: String, adapter: String = "hci0") async throws -> String {
        try await callMock("AddDevice", [.string(adapter), .string(address), .string(alias)]).first?.string ?? ""
    }

    /// `PairDevice`: marks the device paired with a phone's UUIDs, the given class and a Sony Ericsson modalias.
    ///
    /// dbusmock 0.28's PairDevice neither stores nor announces Class and Modalias when the device has them empty,
    /// so they are set first, as bluetoothd knows them from the inquiry before pairing.
    func pairDevice(_ address: String, deviceClass: Int32 = 0x5A_020C, adapter: String = "hci0") async throws {
        let path = "/org/bluez/\(adapter)/dev_" + address.replacingOccurrences(of: ":", with: "_")
        try await update(
            path, interface: BlueZ.deviceInterface,
            ["Class": .uint32(UInt32(deviceClass)), "Modalias": "bluetooth:v000Fp1200d1436"])
        _ = try await callMock("PairDevice", [.string(adapter), .string(address), .int32(deviceClass)])
    }

    /// `org.freedesktop.DBus.Mock.UpdateProperties`: sets properties and emits PropertiesChanged.
    func update(_ path: String, interface: String, _ properties: [String: DBusValue]) async throws {
        _ = try await driver.call(
            destination: BlueZ.busName, path: try DBusObjectPath(path), interface: "org.freedesktop.DBus.Mock",
            member: "UpdateProperties", arguments: [.string(interface), .vardict(properties)])
    }

    /// `Adapter1.RemoveDevice`.
    func removeDevice(_ path: String, adapter: String = "/org/bluez/hci0") async throws {
        _ = try await driver.call(
            destination: BlueZ.busName, path: try DBusObjectPath(adapter), interface: BlueZ.adapterInterface,
            member: "RemoveDevice", arguments: [.objectPath(try DBusObjectPath(path))])
    }

    /// `Device1.Connect`.
    func connectDevice(_ path: String) async throws {
        _ = try await driver.call(
            destination: BlueZ.busName, path: try DBusObjectPath(path), interface: BlueZ.deviceInterface,
            member: "Connect")
    }
}

/// Runs `body` with a fresh mock bus and tears it down afterwards, whether `body` throws or not.
func withMockBus(_ body: (MockBlueZBus) async throws -> Void) async throws {
    let bus = try await MockBlueZBus.start()
    do {
        try await body(bus)
    } catch {
        await bus.stop()
        throw error
    }
    await bus.stop()
}

struct MockError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Collects a watcher's events so that a test can take them one at a time.
///
/// `next()` has a generous bound only so that a broken watcher fails the test instead of hanging it.
actor EventRecorder {
    private var buffer: [SourceEvent] = []
    private var waiter: CheckedContinuation<SourceEvent?, Never>?
    private var waiterID = 0

    init(_ events: AsyncStream<SourceEvent>) {
        Task { await self.consume(events) }
    }

    private func consume(_ events: AsyncStream<SourceEvent>) async {
        for await event in events { deliver(event) }
    }

    private func deliver(_ event: SourceEvent) {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: event)
        } else {
            buffer.append(event)
        }
    }

    /// The next event, or nil if none comes within `bound`.
    func next(bound: Duration = .seconds(30)) async -> SourceEvent? {
        if !buffer.isEmpty { return buffer.removeFirst() }
        waiterID += 1
        let id = waiterID
        return await withCheckedContinuation { continuation in
            waiter = continuation
            Task {
                try? await Task.sleep(for: bound)
                self.expire(id)
            }
        }
    }

    private func expire(_ id: Int) {
        guard id == waiterID, let waiter else { return }
        self.waiter = nil
        waiter.resume(returning: nil)
    }

    /// The next event, which must be an arrival.
    func nextArrival() async throws -> DeviceObservation {
        let event = await next()
        guard case .arrived(let observation)? = event else { throw MockError("expected an arrival, got \(String(describing: event))") }
        return observation
    }

    /// The next event, which must be a change.
    func nextChange() async throws -> DeviceObservation {
        let event = await next()
        guard case .changed(let observation)? = event else { throw MockError("expected a change, got \(String(describing: event))") }
        return observation
    }

    /// The next event, which must be a departure; returns its source key.
    func nextDeparture() async throws -> String {
        let event = await next()
        guard case .departed(.bluetooth, let key)? = event else { throw MockError("expected a departure, got \(String(describing: event))") }
        return key
    }
}

/// Log messages kept for assertions, such as "BlueZ's absence is logged once".
final class LogRecords: Sendable {
    private struct Waiter {
        let level: Logger.Level
        let text: String
        let continuation: CheckedContinuation<String?, Never>
    }

    private struct State {
        var entries: [(level: Logger.Level, message: String)] = []
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    func append(_ level: Logger.Level, _ message: String) {
        let woken = state.withLock { state in
            state.entries.append((level, message))
            let matching = state.waiters.filter { $0.value.level == level && message.contains($0.value.text) }
            for id in matching.keys { state.waiters[id] = nil }
            return matching.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume(returning: message) }
    }

    /// The messages logged at `level` that contain `text`.
    func messages(_ level: Logger.Level, containing text: String) -> [String] {
        state.withLock { $0.entries.filter { $0.level == level && $0.message.contains(text) }.map(\.message) }
    }

    /// The first message at `level` containing `text`, waiting for it if need be (nil if none comes within `bound`).
    func first(_ level: Logger.Level, containing text: String, bound: Duration = .seconds(30)) async -> String? {
        await withCheckedContinuation { continuation in
            let id: Int? = state.withLock { state in
                if let found = state.entries.first(where: { $0.level == level && $0.message.contains(text) }) {
                    continuation.resume(returning: found.message)
                    return nil
                }
                state.nextID += 1
                state.waiters[state.nextID] = Waiter(level: level, text: text, continuation: continuation)
                return state.nextID
            }
            guard let id else { return }
            Task {
                try? await Task.sleep(for: bound)
                let expired = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                expired?.continuation.resume(returning: nil)
            }
        }
    }

    /// A logger that records here.
    func logger(label: String = "devsync.test.bluez") -> Logger {
        var logger = Logger(label: label) { _ in RecordingLogHandler(records: self) }
        logger.logLevel = .debug
        return logger
    }
}

struct RecordingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.append(event.level, event.message.description)
    }
}

/// A lookup that answers from a table instead of paging a device, and remembers whom it was asked about.
final class FakeSyncServiceLookup: SyncServiceLookup {
    private let answers: [BluetoothAddress: Result<[SyncService], SDPLookupError>]
    private let asked = Mutex<[BluetoothAddress]>([])

    init(_ answers: [BluetoothAddress: Result<[SyncService], SDPLookupError>]) { self.answers = answers }

    var addressesAsked: [BluetoothAddress] { asked.withLock { $0 } }

    func syncServices(at address: BluetoothAddress, logger: Logger) async throws -> [SyncService] {
        asked.withLock { $0.append(address) }
        guard let answer = answers[address] else { return [] }
        return try answer.get()
    }
}
