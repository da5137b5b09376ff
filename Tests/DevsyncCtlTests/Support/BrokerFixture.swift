import BusService
import DBus
import DeviceRegistry
import DevsyncTestSupport
import Foundation
import Logging

/// Applies no profiles: the test's observations already carry their `sync.*` keys.
struct PassThroughMatcher: DeviceMatcher {
    func match(_ properties: DeviceProperties) -> MatchOutcome {
        MatchOutcome(properties: properties, appliedRules: [SourceLocation(file: "test.fdi", line: 7, column: 3)])
    }
}

/// A polkit that allows nothing: only root and a device's owner may change it.
struct DenyingPolkit: PolkitAuthority {
    func isAuthorized(sender: String, action: String, allowUserInteraction: Bool) async throws -> Bool { false }
}

/// Test devices, as a USB source would report them with a profile already applied.
enum TestDevice {
    static func observation(
        serial: String, vendor: String = "Palm", model: String = "Tungsten T", plugin: String = "palm-sync",
        datatypes: [String] = ["contacts", "calendar"]
    ) -> DeviceObservation {
        let properties: DeviceProperties = [
            "usb.vendor_id": .int(0x0830), "usb.product_id": .int(0x0060), "usb.serial": .string(serial),
            "sync.plugin": .string(plugin), "sync.datatypes": .strlist(datatypes), "sync.vendor": .string(vendor),
            "sync.model": .string(model), "sync.kind": .string("pda"),
        ]
        return DeviceObservation(transport: .usb, sourceKey: "/devices/usb1/\(serial)", properties: properties)
    }

    static func uid(serial: String) -> String { "usb-0830-0060-\(serial)" }
}

/// A broker on a private bus fed by a registry, and the means to run `devsyncctl` against it.
struct BrokerFixture: Sendable {
    let bus: TestBus
    let registry: Registry
    let server: DBusConnection
    let service: BrokerService
    let client: DBusConnection
    let signals: SignalRecorder

    static func make() async throws -> BrokerFixture {
        let bus = try TestBus()
        var logger = Logger(label: "devsyncctl-test")
        logger.logLevel = .warning
        let registry = try Registry(
            stateDirectory: bus.directory.appendingPathComponent("state").path, matcher: PassThroughMatcher(),
            ownerSuggester: nil, clock: { 1_700_000_000 }, logger: logger)
        let server = try await bus.connect("broker")
        let service = BrokerService(
            connection: server, registry: registry, authorizer: CallerAuthorizer(polkit: DenyingPolkit(), logger: logger),
            policy: .ask, reloadProfiles: nil, logger: logger)
        let client = try await bus.connect("client")
        let signals = SignalRecorder()
        await signals.record(try await client.signals(matching: DBusMatchRule(sender: await server.uniqueName)))
        try await service.start()
        try await BrokerService.requestBusName(on: server)
        return BrokerFixture(bus: bus, registry: registry, server: server, service: service, client: client, signals: signals)
    }

    func stop() async {
        await signals.stop()
        await service.stop()
        await client.close()
        await server.close()
        bus.stop()
    }

    /// Reports a device arrival to the registry and waits until the broker announced it.
    @discardableResult
    func arrive(_ observation: DeviceObservation) async -> DBusObjectPath {
        await registry.handle(.arrived(observation))
        let uid = DeviceIdentity(transport: observation.transport, properties: observation.properties).uid
        let path = BrokerContract.devicePath(uid: uid)
        _ = await signals.wait { $0.isSignal(BrokerContract.managerInterface, "DeviceAdded") && $0.arguments.first?.objectPath == path }
        return path
    }

    /// Approves a device for `owner` as root, directly on the bus.
    func approve(_ path: DBusObjectPath, owner: String = "root") async throws {
        _ = try await client.call(
            destination: BrokerContract.busName, path: path, interface: BrokerContract.deviceInterface,
            member: "Approve", arguments: [.string(owner), .vardict([:])])
    }

    /// One device property, read on the bus.
    func deviceProperty(_ path: DBusObjectPath, _ name: String) async throws -> DBusValue {
        let reply = try await client.call(
            destination: BrokerContract.busName, path: path, interface: "org.freedesktop.DBus.Properties",
            member: "Get", arguments: [.string(BrokerContract.deviceInterface), .string(name)])
        return reply[0].unwrapped
    }

    /// Runs `devsyncctl --bus <this bus> arguments…` as `user`.
    func ctl(as user: TestBus.User = .root, _ arguments: String...) async throws -> CommandResult {
        try await Command.run(user, try binary().path, ["--bus", bus.address] + arguments)
    }
}

extension BrokerFixture {
    /// Runs `devsyncctl --bus <this bus> arguments…` with a terminal as its standard output (through script(1)).
    func ctlOnTerminal(_ arguments: String...) async throws -> CommandResult {
        let line = ([try binary().path, "--bus", bus.address] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try await Command.run(.root, "/usr/bin/script", ["--quiet", "--return", "--command", line, "/dev/null"])
    }
}

/// Runs `body` with a fresh broker and always tears it down.
func withBroker<T>(_ body: (BrokerFixture) async throws -> T) async throws -> T {
    let fixture = try await BrokerFixture.make()
    do {
        let result = try await body(fixture)
        await fixture.stop()
        return result
    } catch {
        await fixture.stop()
        throw error
    }
}
