// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DeviceRegistry
import Foundation
import Logging
import Synchronization

/// Applies no profiles: the test's observations already carry their `sync.*` keys.
public struct PassThroughMatcher: DeviceMatcher {
    public init() {}
    public func match(_ properties: DeviceProperties) -> MatchOutcome {
        MatchOutcome(properties: properties, appliedRules: [SourceLocation(file: "test.fdi", line: 7, column: 3)])
    }
}

/// Suggests the same owner for every device.
public struct FixedOwnerSuggester: OwnerSuggesting {
    public var name: String
    public init(name: String) { self.name = name }
    public func suggestedOwner(for device: DeviceRecord) -> String? { name }
}

/// A polkit that allows exactly the listed actions and records who asked.
public struct FixedPolkit: PolkitAuthority {
    public var allowed: Set<String>
    public init(allowed: Set<String>) { self.allowed = allowed }
    public func isAuthorized(sender: String, action: String, allowUserInteraction: Bool) async throws -> Bool {
        allowed.contains(action)
    }
}

/// A polkit that refuses everything and records each question.
public final class RecordingPolkit: PolkitAuthority {
    public struct Question: Sendable, Hashable {
        public var action: String
        public var allowUserInteraction: Bool

        public init(action: String, allowUserInteraction: Bool) {
            self.action = action
            self.allowUserInteraction = allowUserInteraction
        }
    }

    public let questions = Mutex<[Question]>([])

    public init() {}

    public func isAuthorized(sender: String, action: String, allowUserInteraction: Bool) async throws -> Bool {
        questions.withLock { $0.append(Question(action: action, allowUserInteraction: allowUserInteraction)) }
        return false
    }
}

/// Where the broker's polkit answers come from in a test.
public enum PolkitChoice {
    /// A ``RecordingPolkit``.
    case recording(RecordingPolkit)
    /// A ``FixedPolkit``.
    case fixed(Set<String>)
    /// The real ``PolkitClient``, asking whatever polkitd is on the test bus (dbusmock's).
    case bus
}

/// Test devices, as a USB source would report them with a profile already applied.
public enum TestDevice {
    public static func observation(
        serial: String, sourceKey: String? = nil, vendor: String = "Palm", model: String = "Tungsten T",
        plugin: String = "palm-sync", datatypes: [String] = ["contacts", "calendar"], extra: [String: PropertyValue] = [:]
    ) -> DeviceObservation {
        var properties: DeviceProperties = [
            "usb.vendor_id": .int(0x0830), "usb.product_id": .int(0x0060), "usb.serial": .string(serial),
            "sync.plugin": .string(plugin), "sync.datatypes": .strlist(datatypes), "sync.vendor": .string(vendor),
            "sync.model": .string(model), "sync.kind": .string("pda"), "usb.max_power": .uint64(500),
            "sync.ignore": .bool(false), "usb.speed": .double(12.0),
        ]
        for (key, value) in extra { properties[key] = value }
        return DeviceObservation(transport: .usb, sourceKey: sourceKey ?? "/devices/usb1/\(serial)", properties: properties)
    }

    public static func uid(serial: String) -> String { "usb-0830-0060-\(serial)" }
    public static func path(serial: String) -> DBusObjectPath { BrokerContract.devicePath(uid: uid(serial: serial)) }
}

/// A broker on a private bus, its registry, and a client connection that records every signal the broker sends.
public struct BrokerFixture: Sendable {
    public let bus: TestBus
    public let registry: Registry
    public let server: DBusConnection
    public let service: BrokerService
    public let client: DBusConnection
    public let signals: SignalRecorder
    public let stateDirectory: URL

    /// The `DaemonVersion` the fixture's broker publishes: any string, passed through unchanged.
    public static let daemonVersion = "9.8.7-fixture"

    public static func make(
        polkit: PolkitChoice = .fixed([]), suggestedOwner: String? = nil, policy: ApprovalPolicy = .ask,
        reload: BrokerService.ProfileReloader? = nil, bus existing: TestBus? = nil, announcesApprovalRequests: Bool = true,
        holdingAnnouncements: Bool = false, releasingHeldAnnouncements: Bool = true, present: [DeviceObservation] = []
    ) async throws -> BrokerFixture {
        let bus: TestBus
        if let existing { bus = existing } else { bus = try await TestBus.start() }
        var logger = Logger(label: "bus-service-test")
        logger.logLevel = .warning
        let stateDirectory = bus.directory.appendingPathComponent("state")
        let registry = try Registry(
            stateDirectory: stateDirectory.path, matcher: PassThroughMatcher(),
            ownerSuggester: suggestedOwner.map(FixedOwnerSuggester.init(name:)), clock: { 1_700_000_000 },
            logger: logger)
        await registry.handle(contentsOf: present.map { .arrived($0) })
        let server = try await labelled("connect broker") { try await bus.connect("broker") }
        let authority: any PolkitAuthority =
            switch polkit {
            case .fixed(let allowed): FixedPolkit(allowed: allowed)
            case .recording(let polkit): polkit
            case .bus: PolkitClient(connection: server, logger: logger)
            }
        let service = BrokerService(
            connection: server, registry: registry, authorizer: CallerAuthorizer(polkit: authority, logger: logger),
            policy: policy, daemonVersion: BrokerFixture.daemonVersion, reloadProfiles: reload, announcesApprovalRequests: announcesApprovalRequests, logger: logger)
        let client = try await labelled("connect client") { try await bus.connect("client") }
        let signals = SignalRecorder()
        let name = await server.uniqueName
        await signals.record(try await labelled("AddMatch") { try await client.signals(matching: DBusMatchRule(sender: name)) })
        try await labelled("start") { try await service.start(holdingAnnouncements: holdingAnnouncements) }
        try await labelled("RequestName") { try await BrokerService.requestBusName(on: server) }
        if releasingHeldAnnouncements { await service.releaseHeldAnnouncements() }
        return BrokerFixture(
            bus: bus, registry: registry, server: server, service: service, client: client, signals: signals,
            stateDirectory: stateDirectory)
    }

    public func stop() async {
        await signals.stop()
        await service.stop()
        await client.close()
        await server.close()
        bus.stop()
    }

    /// Reports a device arrival to the registry and waits until the broker announced it.
    @discardableResult
    public func arrive(_ observation: DeviceObservation) async -> DBusObjectPath {
        await registry.handle(.arrived(observation))
        let uid = DeviceIdentity(transport: observation.transport, properties: observation.properties).uid
        let path = BrokerContract.devicePath(uid: uid)
        _ = await signals.wait { $0.isSignal(BrokerContract.managerInterface, "DeviceAdded") && $0.arguments.first?.objectPath == path }
        return path
    }

    /// Calls a broker method as the root client.
    public func call(
        _ path: DBusObjectPath, _ interface: String, _ member: String, _ arguments: [DBusValue] = []
    ) async throws -> [DBusValue] {
        try await labelled("\(member) on \(path)") {
            try await client.call(
                destination: BrokerContract.busName, path: path, interface: interface, member: member, arguments: arguments)
        }
    }

    /// Reads one property as the root client.
    public func property(_ path: DBusObjectPath, _ interface: String, _ name: String) async throws -> DBusValue {
        let reply = try await labelled("Get \(name) of \(path)") {
            try await client.call(
                destination: BrokerContract.busName, path: path, interface: "org.freedesktop.DBus.Properties",
                member: "Get", arguments: [.string(interface), .string(name)])
        }
        return reply[0].unwrapped
    }

    /// Reads one device property.
    public func deviceProperty(_ path: DBusObjectPath, _ name: String) async throws -> DBusValue {
        try await property(path, BrokerContract.deviceInterface, name)
    }
}

/// Runs `body` with a fresh broker and always tears it down.
public func withBroker<T>(
    polkit: PolkitChoice = .fixed([]), suggestedOwner: String? = nil, policy: ApprovalPolicy = .ask,
    reload: BrokerService.ProfileReloader? = nil, bus: TestBus? = nil, announcesApprovalRequests: Bool = true,
    holdingAnnouncements: Bool = false, releasingHeldAnnouncements: Bool = true, present: [DeviceObservation] = [],
    _ body: (BrokerFixture) async throws -> T
) async throws -> T {
    let fixture = try await BrokerFixture.make(
        polkit: polkit, suggestedOwner: suggestedOwner, policy: policy, reload: reload, bus: bus,
        announcesApprovalRequests: announcesApprovalRequests, holdingAnnouncements: holdingAnnouncements,
        releasingHeldAnnouncements: releasingHeldAnnouncements, present: present)
    do {
        let result = try await body(fixture)
        await fixture.stop()
        return result
    } catch {
        await fixture.stop()
        throw error
    }
}

/// The D-Bus error name a call failed with, or nil if it succeeded.
public func errorName(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch {
        return (error as? DBusError)?.name ?? "\(error)"
    }
}

/// What a test step was doing when it failed; keeps the D-Bus error's name readable for `errorName`.
public func labelled<T>(_ label: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as DBusError where error.name == DBusError.Name.noReply {
        throw DBusError(name: error.name, message: "\(label): \(error.message)")
    }
}
