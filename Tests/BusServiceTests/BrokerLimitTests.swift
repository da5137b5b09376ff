// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DeviceRegistry
import DevsyncTestSupport
import Foundation
import Testing

/// A hostile local user on a bus with the system bus's kind of limits, made low so that a test reaches them.
@Suite("What one local user can take from the broker", .timeLimit(.minutes(2)))
struct BrokerLimitTests {
    /// The broker's connection may hold this many match rules: far below the system bus's 512, far above the
    /// few the broker needs.
    static let matchRuleLimit = 16

    static func limitedBus() async throws -> TestBus {
        try await TestBus.start(extraConfiguration: """
            <limit name="max_match_rules_per_connection">\(matchRuleLimit)</limit>
            """)
    }

    /// A client as `nobody` (python3 with GLib's D-Bus): opens one connection per count and calls, on each,
    /// RegisterEngine with that many paths (`register`) or Approve on a device that many times (`approve`).
    /// Prints one JSON line, per connection the number of calls per outcome ("ok" or the error name), then
    /// keeps every connection open until its standard input closes.
    static let script = """
        import json, sys
        from gi.repository import Gio, GLib
        mode, address, target = sys.argv[1:4]
        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        connections, results = [], []
        for count in map(int, sys.argv[4:]):
            connection = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
            connections.append(connection)
            outcome = {}
            for i in range(count):
                if mode == "register":
                    call = ("/org/devsync/Broker1", "org.devsync.Broker1.Manager", "RegisterEngine",
                            GLib.Variant("(oasas)", ("/attack/engine%d" % i, [], [])))
                else:
                    call = (target, "org.devsync.Broker1.Device", "Approve",
                            GLib.Variant("(sa{sv})", ("nobody", {"auth.no_user_interaction": GLib.Variant("b", True)})))
                try:
                    connection.call_sync("org.devsync.Broker1", *call, None, Gio.DBusCallFlags.NONE, -1, None)
                    name = "ok"
                except GLib.Error as error:
                    name = Gio.DBusError.get_remote_error(error) or error.message
                outcome[name] = outcome.get(name, 0) + 1
            results.append(outcome)
        print(json.dumps(results), flush=True)
        sys.stdin.read()
        """

    /// Runs ``script`` as nobody; returns the running client and its outcomes, one dictionary per connection.
    static func attack(
        _ broker: BrokerFixture, _ mode: String, target: DBusObjectPath = .root, counts: [Int]
    ) async throws -> (client: BackgroundClient, outcomes: [[String: Int]]) {
        let file = broker.bus.directory.appendingPathComponent("attack.py")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let client = try BackgroundClient(
            .nobody, "/usr/bin/python3", [file.path, mode, broker.bus.address, target.rawValue] + counts.map(String.init))
        let line = await client.firstLine()
        let outcomes = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [[String: Int]]
        return (client, outcomes ?? [["unreadable output: \(line)": 1]])
    }

    /// How many match rules the broker's connection holds, as the bus daemon counts them.
    static func matchRules(of broker: BrokerFixture) async throws -> UInt32? {
        let stats = try await broker.client.call(
            destination: "org.freedesktop.DBus", path: try DBusObjectPath("/org/freedesktop/DBus"),
            interface: "org.freedesktop.DBus.Debug.Stats", member: "GetConnectionStats",
            arguments: [.string(await broker.server.uniqueName)])
        return stats.first?["MatchRules"]?.uint32
    }

    /// Whether the actions of the device at `path` are available (an engine of its owner handles it).
    static func available(_ broker: BrokerFixture, _ path: DBusObjectPath) async throws -> Bool {
        let actions = try await broker.deviceProperty(path, "Actions").arrayElements ?? []
        return actions.first?.structureFields?[3] == .bool(true)
    }

    static let limitsExceeded = "org.devsync.Broker1.Error.LimitsExceeded"

    @Test("engine registrations are bounded per connection (8) and per uid (16); the broker's match rules stay fixed and root's engine still registers")
    func registrationFlood() async throws {
        try await withBroker(bus: try await Self.limitedBus()) { broker in
            // A device of nobody shows when nobody's engines come and go.
            let device = await broker.arrive(TestDevice.observation(serial: "F1", plugin: "any-plugin"))
            _ = try await broker.call(device, BrokerContract.deviceInterface, "Approve", [.string("nobody"), .vardict([:])])
            let root = try await TestEngine.start(on: broker.bus)
            let rules = try #require(try await Self.matchRules(of: broker))

            // The report's 600 paths on one connection, then two more connections of the same uid.
            let (attacker, outcomes) = try await Self.attack(broker, "register", counts: [600, 20, 5])
            #expect(outcomes == [
                ["ok": 8, Self.limitsExceeded: 592], ["ok": 8, Self.limitsExceeded: 12], [Self.limitsExceeded: 5],
            ])
            #expect(try await Self.available(broker, device))
            #expect(try await Self.matchRules(of: broker) == rules, "the broker's rules do not grow with engines")

            // Everyone else still registers while the attacker is connected: root, on another connection.
            let second = try await TestEngine.start(on: broker.bus, plugins: ["mtp"])
            #expect(try await Self.matchRules(of: broker) == rules)

            // The attacker's engines go with its connections (seen through the one NameOwnerChanged rule), and
            // the uid may register again.
            let unavailable: @Sendable (DBusMessage) -> Bool = {
                $0.isSignal("org.freedesktop.DBus.Properties", "PropertiesChanged", path: device)
                    && $0.arguments[1]["Actions"]?.arrayElements?.first?.structureFields?[3] == .bool(false)
            }
            let before = await broker.signals.all(where: unavailable).count
            await attacker.finish()
            _ = await broker.signals.wait(for: before + 1, where: unavailable)
            let (again, outcomesAgain) = try await Self.attack(broker, "register", counts: [9])
            #expect(outcomesAgain == [["ok": 8, Self.limitsExceeded: 1]])
            await again.finish()
            await second.connection.close()
            await root.connection.close()
        }
    }

    @Test("callers on many open connections do not grow the broker's match rules (the credential cache)")
    func callerFlood() async throws {
        try await withBroker(bus: try await Self.limitedBus()) { broker in
            let device = await broker.arrive(TestDevice.observation(serial: "F2"))
            _ = try await broker.call(device, BrokerContract.deviceInterface, "Approve", [.string("root"), .vardict([:])])
            // Twice the limit of connections, each one refused, each kept open.
            let connections = Array(repeating: 1, count: 2 * Self.matchRuleLimit)
            let (attacker, outcomes) = try await Self.attack(broker, "approve", target: device, counts: connections)
            #expect(outcomes == Array(repeating: ["org.devsync.Broker1.Error.NotAuthorized": 1], count: connections.count))
            let rules = try #require(try await Self.matchRules(of: broker))
            #expect(rules <= 3, "one rule for every caller's departure, whatever their number")
            let engine = try await TestEngine.start(on: broker.bus)
            #expect(try await Self.available(broker, device))
            #expect(try await Self.matchRules(of: broker) == rules + 2, "the engines' two rules, once")
            await attacker.finish()
            await engine.connection.close()
        }
    }

    @Test("RegisterEngine refuses long lists of plugins or data types")
    func longLists() async throws {
        try await withBroker { broker in
            let engine = try await broker.bus.connect("engine")
            func register(plugins: [String], datatypes: [String]) async -> String? {
                await errorName {
                    _ = try await engine.call(
                        destination: BrokerContract.busName, path: BrokerContract.managerPath,
                        interface: BrokerContract.managerInterface, member: "RegisterEngine",
                        arguments: [.objectPath(TestEngine.path), .strings(plugins), .strings(datatypes)])
                }
            }
            let many = (0...BrokerService.maxEngineNames).map { "plugin\($0)" }
            #expect(await register(plugins: many, datatypes: []) == "org.devsync.Broker1.Error.InvalidArgs")
            let long = String(repeating: "x", count: BrokerService.maxEngineNameBytes + 1)
            #expect(await register(plugins: [], datatypes: [long]) == "org.devsync.Broker1.Error.InvalidArgs")
            #expect(await register(plugins: Array(many.dropLast()), datatypes: ["contacts"]) == nil)
            await engine.close()
        }
    }
}
