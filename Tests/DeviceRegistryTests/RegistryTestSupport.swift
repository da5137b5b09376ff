// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import Synchronization
import Testing

@testable import DeviceRegistry

/// A profile set in miniature: each rule matches on a predicate and merges `sync.*` keys, as FDI `<merge>` does.
struct FakeMatcher: DeviceMatcher {
    struct Rule: Sendable {
        var location: DeviceRegistry.SourceLocation
        var matches: @Sendable (DeviceProperties) -> Bool
        var merges: DeviceProperties

        /// A rule for USB devices with this vendor and product id.
        static func usb(
            vendor: Int32, product: Int32, file: String = "test.fdi", line: Int = 1, _ merges: DeviceProperties
        ) -> Rule {
            Rule(
                location: DeviceRegistry.SourceLocation(file: file, line: line, column: 5),
                matches: { $0.int(PropertyKey.usbVendorID) == vendor && $0.int(PropertyKey.usbProductID) == product },
                merges: merges)
        }

        /// A rule for Bluetooth devices with this name.
        static func bluetooth(name: String, file: String = "test.fdi", line: Int = 1, _ merges: DeviceProperties)
            -> Rule
        {
            Rule(
                location: DeviceRegistry.SourceLocation(file: file, line: line, column: 5),
                matches: { $0.string(PropertyKey.bluetoothName) == name }, merges: merges)
        }
    }

    var rules: [Rule]

    init(_ rules: [Rule]) { self.rules = rules }

    func match(_ properties: DeviceProperties) -> MatchOutcome {
        var merged = properties
        var applied: [DeviceRegistry.SourceLocation] = []
        for rule in rules where rule.matches(merged) {
            merged.merge(rule.merges)
            applied.append(rule.location)
        }
        return MatchOutcome(properties: merged, appliedRules: applied)
    }
}

/// Device fixtures: a Palm over USB, a phone over Bluetooth, a mouse and a hub profiles ignore.
enum Fixture {
    static let palmVendor: Int32 = 0x0830
    static let palmProduct: Int32 = 0x0061
    static let cameraVendor: Int32 = 0x04a9
    static let cameraProduct: Int32 = 0x3170

    static let palmRule = FakeMatcher.Rule.usb(
        vendor: palmVendor, product: palmProduct, file: "10-palm.fdi", line: 12,
        [
            "sync.plugin": .string("palm-sync"), "sync.kind": .string("pda"), "sync.vendor": .string("Palm"),
            "sync.model": .string("Tungsten T3"),
            "sync.datatypes": .strlist(["contacts", "calendar", "todo", "notes"]),
        ])
    static let cameraRule = FakeMatcher.Rule.usb(
        vendor: cameraVendor, product: cameraProduct, file: "20-camera.fdi", line: 4,
        ["sync.plugin": .string("gphoto"), "sync.kind": .string("camera"), "sync.datatypes": .strlist(["photos"])])
    static let hubRule = FakeMatcher.Rule.usb(
        vendor: 0x05e3, product: 0x0608, file: "90-ignore.fdi", line: 2,
        ["sync.plugin": .string("mtp"), "sync.ignore": .bool(true)])
    static let phoneRule = FakeMatcher.Rule.bluetooth(
        name: "Nokia 6230i", file: "30-phones.fdi", line: 7,
        [
            "sync.plugin": .string("syncml-obex-client"), "sync.kind": .string("phone"),
            "sync.datatypes": .strlist(["contacts", "calendar"]),
        ])

    static let matcher = FakeMatcher([palmRule, cameraRule, hubRule, phoneRule])

    /// A USB device at `port` (`1-2`), with bus and device numbers that change with it.
    static func usb(
        vendor: Int32, product: Int32, serial: String?, port: String = "1-2", busNumber: Int32 = 1,
        deviceNumber: Int32 = 5, revision: Int32 = 0x0100, extra: DeviceProperties = [:]
    ) -> DeviceObservation {
        var properties: DeviceProperties = [
            "info.subsystem": .string("usb"), "info.vendor": .string("Palm, Inc."), "info.product": .string("Palm Handheld"),
            "usb.vendor_id": .int(vendor), "usb.product_id": .int(product), "usb.device_revision_bcd": .int(revision),
            "usb.device_class": .int(0), "usb.device_subclass": .int(0), "usb.device_protocol": .int(0),
            "usb.interfaces": .strlist(["ff/00/00"]), "usb.bus_number": .int(busNumber),
            "usb.linux.device_number": .int(deviceNumber),
        ]
        if let serial { properties["usb.serial"] = .string(serial) }
        properties.merge(extra)
        return DeviceObservation(
            transport: .usb, sourceKey: "/devices/pci0000:00/0000:00:14.0/usb\(busNumber)/\(port)",
            properties: properties)
    }

    static func palm(serial: String? = "PALM0001", port: String = "1-2", busNumber: Int32 = 1, deviceNumber: Int32 = 5)
        -> DeviceObservation
    {
        usb(vendor: palmVendor, product: palmProduct, serial: serial, port: port, busNumber: busNumber,
            deviceNumber: deviceNumber)
    }

    static func camera(port: String = "1-3", busNumber: Int32 = 1, deviceNumber: Int32 = 7) -> DeviceObservation {
        usb(vendor: cameraVendor, product: cameraProduct, serial: nil, port: port, busNumber: busNumber,
            deviceNumber: deviceNumber)
    }

    static func phone(address: String = "00:11:22:33:44:55") -> DeviceObservation {
        DeviceObservation(
            transport: .bluetooth, sourceKey: "/org/bluez/hci0/dev_\(address.replacingOccurrences(of: ":", with: "_"))",
            properties: [
                "info.subsystem": .string("bluetooth"), "bluetooth.address": .string(address),
                "bluetooth.name": .string("Nokia 6230i"), "bluetooth.class": .int(0x50_0204),
            ])
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let seconds: Mutex<Int64>

    init(_ start: Int64 = 1_700_000_000) { seconds = Mutex(start) }

    var now: Int64 { seconds.withLock { $0 } }

    func advance(by delta: Int64) { seconds.withLock { $0 += delta } }

    var function: @Sendable () -> Int64 { { self.now } }
}

/// Suggests one fixed user, as logind's active session would.
struct FixedOwner: OwnerSuggesting {
    var name: String?
    func suggestedOwner(for device: DeviceRecord) -> String? { name }
}

/// Keeps every log line, so tests can assert that a decision was made visible.
final class LogCapture: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let storage = Mutex<[Line]>([])

    var lines: [Line] { storage.withLock { $0 } }

    func append(_ line: Line) { storage.withLock { $0.append(line) } }

    var logger: Logger {
        var logger = Logger(label: "devsync.test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var flat: [String: String] = [:]
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
                flat[key] = "\(value)"
            }
            capture.append(Line(level: event.level, message: "\(event.message)", metadata: flat))
        }
    }
}

/// A fresh temporary directory, removed when the value is dropped.
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/devsync-test-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A registry in a fresh state directory, with a hand-moved clock and a log capture.
struct RegistryHarness {
    let directory: TemporaryDirectory
    let clock: TestClock
    let log: LogCapture
    let registry: Registry

    init(
        directory: TemporaryDirectory = TemporaryDirectory(), clock: TestClock = TestClock(),
        matcher: any DeviceMatcher = Fixture.matcher, owner: String? = "alice"
    ) throws {
        self.directory = directory
        self.clock = clock
        self.log = LogCapture()
        self.registry = try Registry(
            stateDirectory: directory.path, matcher: matcher, ownerSuggester: FixedOwner(name: owner),
            clock: clock.function, logger: log.logger)
    }

    /// A second registry on the same state directory, as after a daemon restart.
    func restarted(matcher: any DeviceMatcher = Fixture.matcher) throws -> RegistryHarness {
        try RegistryHarness(directory: directory, clock: clock, matcher: matcher)
    }

    var devicesDirectory: String { directory.path + "/devices" }
}

/// Every event a stream has buffered, after ending the registry's streams.
func drain(_ stream: AsyncStream<RegistryEvent>, of registry: Registry) async -> [RegistryEvent] {
    registry.finishEvents()
    var events: [RegistryEvent] = []
    for await event in stream { events.append(event) }
    return events
}

/// A compact name per event, for readable expectations.
func summary(_ events: [RegistryEvent]) -> [String] {
    events.map { event in
        switch event {
        case .arrived(let record): "arrived \(record.uid) \(record.status)"
        case .changed(let record): "changed \(record.uid) \(record.status)"
        case .departed(let record): "departed \(record.uid)"
        case .removed(let uid): "removed \(uid)"
        case .approvalRequested(let uid, let owner): "approvalRequested \(uid) \(owner ?? "-")"
        }
    }
}
