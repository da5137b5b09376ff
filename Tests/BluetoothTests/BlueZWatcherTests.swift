// SPDX-License-Identifier: Apache-2.0
import DBus
import Foundation
import DeviceRegistry
import Logging
import Testing
@testable import Bluetooth

/// The watcher against dbusmock's bluez5 template, each test on its own private bus.
@Suite("BlueZ watcher", .serialized)
struct BlueZWatcherTests {
    static let phoneAddress = "00:1A:7D:DA:71:13"
    static let phonePath = "/org/bluez/hci0/dev_00_1A_7D_DA_71_13"
    static let pdaAddress = "00:07:E0:11:22:33"
    static let pdaPath = "/org/bluez/hci0/dev_00_07_E0_11_22_33"
    static let adapterPath = "/org/bluez/hci0"
    static let syncMLUUID = "00000002-0000-1000-8000-0002ee000002"

    /// Starts a watcher on its own connection to `bus`; the caller closes the connection to end it.
    /// Pairing waits for ServicesResolved, which dbusmock never sets, or `settleWindow`: short here, so that
    /// the tests of other things are not slowed; the settle tests pass their own.
    static func watch(
        _ bus: MockBlueZBus, logs: LogRecords = LogRecords(), lookup: (any SyncServiceLookup)? = nil,
        settleWindow: Duration = .milliseconds(100)
    ) async throws -> (EventRecorder, DBusConnection) {
        let connection = try await bus.connect()
        let watcher = BlueZWatcher(
            connection: connection, logger: logs.logger(), serviceLookup: lookup, settleWindow: settleWindow)
        return (EventRecorder(watcher.events()), connection)
    }

    /// A private bus with bluez5 running and watched from the start, then one adapter (hci0) added; the watcher's
    /// connection is closed once `body` returns.
    static func withWatchedAdapter(
        logs: LogRecords = LogRecords(), lookup: (any SyncServiceLookup)? = nil,
        settleWindow: Duration = .milliseconds(100),
        _ body: (MockBlueZBus, EventRecorder) async throws -> Void
    ) async throws {
        try await withMockBus { bus in
            try await bus.startBlueZ()
            let (events, connection) = try await watch(bus, logs: logs, lookup: lookup, settleWindow: settleWindow)
            do {
                try await bus.addAdapter()
                try await body(bus, events)
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
        }
    }

    /// Adds the phone (alias K750i) to hci0 and pairs it.
    static func pairPhone(_ bus: MockBlueZBus, deviceClass: Int32 = 0x5A_020C) async throws {
        try await bus.addDevice(phoneAddress, alias: "K750i")
        try await bus.pairDevice(phoneAddress, deviceClass: deviceClass)
    }

    @Test("adapters and unpaired devices are not devices to sync: nothing is reported until one pairs")
    func unpairedIsNothing() async throws {
        try await Self.withWatchedAdapter { bus, events in
            try await bus.addDevice(Self.pdaAddress, alias: "Tungsten T3")
            try await Self.pairPhone(bus)
            // The first event is the phone's pairing: the adapter and both unpaired arrivals produced none.
            let arrival = try await events.nextArrival()
            #expect(arrival.sourceKey == Self.phonePath)
        }
    }

    @Test("pairing is plugging in: the arrival carries the Device1 properties in devsync's vocabulary")
    func pairingArrives() async throws {
        try await Self.withWatchedAdapter { bus, events in
            try await Self.pairPhone(bus)
            let arrival = try await events.nextArrival()

            #expect(arrival.transport == .bluetooth)
            #expect(arrival.sourceKey == Self.phonePath)
            let properties = arrival.properties
            #expect(properties.string(PropertyKey.infoSubsystem) == "bluetooth")
            #expect(properties.string(PropertyKey.bluetoothAddress) == Self.phoneAddress)
            #expect(properties.string(PropertyKey.bluetoothName) == "K750i")
            #expect(properties.int(PropertyKey.bluetoothClass) == 0x5A_020C)
            #expect(properties.string(PropertyKey.bluetoothMajorClass) == "phone")
            #expect(properties.string(PropertyKey.bluetoothMinorClass) == "smartphone")
            #expect(properties.string(PropertyKey.bluetoothModalias) == "bluetooth:v000Fp1200d1436")
            #expect(properties.int(PropertyKey.bluetoothVendorID) == 0x000F)
            #expect(properties.bool(PropertyKey.bluetoothPaired) == true)
            #expect(properties.bool(PropertyKey.bluetoothConnected) == false)
            #expect(properties.strlist(PropertyKey.bluetoothUUIDs)?.contains("00001105-0000-1000-8000-00805f9b34fb") == true)
        }
    }

    /// Returns once the watcher has read BlueZ's objects and follows its signals: a PDA, added with the
    /// "ServicesResolved" a known device has, arrives. (A pairing made while the watcher still reads the objects
    /// would be in its snapshot: a device BlueZ already knew.)
    static func watcherFollowsSignals(_ bus: MockBlueZBus, _ events: EventRecorder) async throws {
        try await bus.addDevice(pdaAddress, alias: "Tungsten T3")
        try await bus.update(pdaPath, interface: BlueZ.deviceInterface, ["ServicesResolved": .bool(true)])
        try await bus.pairDevice(pdaAddress)
        #expect(try await events.nextArrival().sourceKey == pdaPath)
    }

    @Test("a device paired while watched is announced once BlueZ resolved its services, with the identity it had by then")
    func pairingSettles() async throws {
        // A window far longer than the events' bound: an arrival before ServicesResolved would be the mistake.
        let logs = LogRecords()
        try await Self.withWatchedAdapter(logs: logs, settleWindow: .seconds(600)) { bus, events in
            try await Self.watcherFollowsSignals(bus, events)
            try await Self.pairPhone(bus)
            // As bluetoothd after Paired: the device's own class, Device ID and services, then ServicesResolved.
            try await bus.update(Self.phonePath, interface: BlueZ.deviceInterface, [
                "Class": .uint32(0x5A_0204), "Modalias": "bluetooth:v0001p0060d0100",
                "UUIDs": .strings([Self.syncMLUUID, "0x1105"]),
            ])
            try await bus.update(Self.phonePath, interface: BlueZ.deviceInterface, ["ServicesResolved": .bool(true)])
            let arrival = try await events.nextArrival()
            #expect(arrival.properties.string(PropertyKey.bluetoothModalias) == "bluetooth:v0001p0060d0100")
            #expect(arrival.properties.int(PropertyKey.bluetoothClass) == 0x5A_0204)
            #expect(arrival.properties.strlist(PropertyKey.bluetoothUUIDs)?.contains(Self.syncMLUUID) == true)
            // Later changes still follow.
            try await bus.update(Self.phonePath, interface: BlueZ.deviceInterface, ["Alias": "Anna's Nokia"])
            #expect(try await events.nextChange().properties.string(PropertyKey.bluetoothName) == "Anna's Nokia")
        }
    }

    @Test("a paired device whose services are never resolved is announced when the settle window ends; one paired before the watch at once")
    func settleWindowBounds() async throws {
        let logs = LogRecords()
        try await Self.withWatchedAdapter(logs: logs, settleWindow: .milliseconds(300)) { bus, events in
            try await Self.watcherFollowsSignals(bus, events)
            try await Self.pairPhone(bus)
            let arrival = try await events.nextArrival()
            #expect(arrival.sourceKey == Self.phonePath)
            #expect(await logs.first(.info, containing: "did not resolve its services in time") != nil)
        }
        try await withMockBus { bus in
            try await bus.startBlueZ()
            try await bus.addAdapter()
            try await Self.pairPhone(bus)
            // Known paired from the snapshot: BlueZ described it long ago; no window, however long.
            let (events, connection) = try await Self.watch(bus, settleWindow: .seconds(600))
            let arrival = try await events.nextArrival()
            #expect(arrival.sourceKey == Self.phonePath)
            await connection.close()
        }
    }

    @Test("a present device's changes are published: connecting, a new alias, a SyncML UUID")
    func changesArePublished() async throws {
        try await Self.withWatchedAdapter { bus, events in
            try await Self.pairPhone(bus)
            _ = try await events.nextArrival()

            try await bus.connectDevice(Self.phonePath)
            let connected = try await events.nextChange()
            #expect(connected.sourceKey == Self.phonePath)
            #expect(connected.properties.bool(PropertyKey.bluetoothConnected) == true)

            try await bus.update(Self.phonePath, interface: BlueZ.deviceInterface, ["Alias": "Anna's phone"])
            let renamed = try await events.nextChange()
            #expect(renamed.properties.string(PropertyKey.bluetoothName) == "Anna's phone")
            #expect(renamed.properties.string(PropertyKey.infoProduct) == "K750i")

            try await bus.update(
                Self.phonePath, interface: BlueZ.deviceInterface, ["UUIDs": .strings([Self.syncMLUUID, "0x1104"])])
            let syncML = try await events.nextChange()
            #expect(
                syncML.properties.strlist(PropertyKey.bluetoothUUIDs)
                    == [Self.syncMLUUID, "00001104-0000-1000-8000-00805f9b34fb"])
        }
    }

    @Test("unpairing, RemoveDevice and removing the adapter are unplugging: each device departs once")
    func departures() async throws {
        try await Self.withWatchedAdapter { bus, events in
            try await bus.addDevice(Self.phoneAddress, alias: "K750i")
            try await bus.addDevice(Self.pdaAddress, alias: "Tungsten T3")
            try await bus.pairDevice(Self.phoneAddress)
            #expect(try await events.nextArrival().sourceKey == Self.phonePath)

            try await bus.update(Self.phonePath, interface: BlueZ.deviceInterface, ["Paired": false])
            #expect(try await events.nextDeparture() == Self.phonePath)

            try await bus.pairDevice(Self.phoneAddress)
            #expect(try await events.nextArrival().sourceKey == Self.phonePath)
            try await bus.removeDevice(Self.phonePath)
            #expect(try await events.nextDeparture() == Self.phonePath)

            try await bus.pairDevice(Self.pdaAddress, deviceClass: 0x10_0114)
            #expect(try await events.nextArrival().sourceKey == Self.pdaPath)
            try await bus.removeAdapter()
            #expect(try await events.nextDeparture() == Self.pdaPath)
            // A barrier: the next thing seen is the new adapter's device, so nothing else followed the removal.
            try await bus.addAdapter("hci1")
            try await bus.addDevice(Self.phoneAddress, alias: "K750i", adapter: "hci1")
            try await bus.pairDevice(Self.phoneAddress, adapter: "hci1")
            #expect(try await events.nextArrival().sourceKey == "/org/bluez/hci1/dev_00_1A_7D_DA_71_13")
        }
    }

    @Test("an adapter powered off takes its devices away; powered on again, they arrive again")
    func adapterPower() async throws {
        try await Self.withWatchedAdapter { bus, events in
            try await Self.pairPhone(bus)
            _ = try await events.nextArrival()
            try await bus.update(Self.adapterPath, interface: BlueZ.adapterInterface, ["Powered": false])
            #expect(try await events.nextDeparture() == Self.phonePath)
            try await bus.update(Self.adapterPath, interface: BlueZ.adapterInterface, ["Powered": true])
            let again = try await events.nextArrival()
            #expect(again.sourceKey == Self.phonePath)
            #expect(again.properties.bool(PropertyKey.bluetoothPaired) == true)
        }
    }

    @Test("devices already paired when the watcher starts arrive from GetManagedObjects, once each")
    func initialSnapshot() async throws {
        try await withMockBus { bus in
            try await bus.startBlueZ()
            try await bus.addAdapter()
            try await bus.addDevice(Self.phoneAddress, alias: "K750i")
            try await bus.addDevice(Self.pdaAddress, alias: "Tungsten T3")
            try await bus.pairDevice(Self.phoneAddress)
            let (events, connection) = try await Self.watch(bus)
            let arrival = try await events.nextArrival()
            #expect(arrival.sourceKey == Self.phonePath)
            #expect(arrival.properties.string(PropertyKey.bluetoothMajorClass) == "phone")
            #expect(arrival.properties.int(PropertyKey.bluetoothVendorID) == 0x000F)
            // The next event is the PDA's pairing: the phone did not arrive twice.
            try await bus.pairDevice(Self.pdaAddress, deviceClass: 0x10_0114)
            #expect(try await events.nextArrival().sourceKey == Self.pdaPath)
            await connection.close()
        }
    }

    @Test("a bluetoothd crash departs its devices; the restarted one's devices arrive once, without duplicates")
    func bluetoothdRestart() async throws {
        try await Self.withWatchedAdapter { bus, events in
            try await bus.addDevice(Self.phoneAddress, alias: "K750i")
            try await bus.addDevice(Self.pdaAddress, alias: "Tungsten T3")
            try await bus.pairDevice(Self.phoneAddress)
            try await bus.pairDevice(Self.pdaAddress, deviceClass: 0x10_0114)
            // In pairing order from the signals, or in path order if the watcher's first snapshot already saw both.
            let arrived = Set([try await events.nextArrival().sourceKey, try await events.nextArrival().sourceKey])
            #expect(arrived == [Self.phonePath, Self.pdaPath])

            await bus.killBlueZ()
            let departed = Set([try await events.nextDeparture(), try await events.nextDeparture()])
            #expect(departed == [Self.phonePath, Self.pdaPath])

            // The new bluetoothd announces its objects while the watcher reads them: signals and snapshot overlap.
            try await bus.startBlueZ()
            try await bus.addAdapter()
            try await Self.pairPhone(bus)
            #expect(try await events.nextArrival().sourceKey == Self.phonePath)
            try await bus.addDevice(Self.pdaAddress, alias: "Tungsten T3")
            try await bus.pairDevice(Self.pdaAddress, deviceClass: 0x10_0114)
            // Had the phone arrived twice, that second arrival would come here instead of the PDA's.
            #expect(try await events.nextArrival().sourceKey == Self.pdaPath)

            // Restarted again, with the devices already paired before the watcher hears of it.
            await bus.killBlueZ()
            _ = try await events.nextDeparture()
            _ = try await events.nextDeparture()
        }
    }

    @Test("with no BlueZ at start the watcher says so once and waits; a later bluetoothd's devices arrive")
    func noBlueZAtStart() async throws {
        try await withMockBus { bus in
            let logs = LogRecords()
            let (events, connection) = try await Self.watch(bus, logs: logs)
            // BlueZ starts only once the watcher has looked and found it absent; started sooner, it would be there
            // at start (this raced under load).
            let giveUp = ContinuousClock.now + .seconds(30)
            while logs.messages(.info, containing: "BlueZ is not running").isEmpty, ContinuousClock.now < giveUp {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await bus.startBlueZ()
            try await bus.addAdapter()
            try await Self.pairPhone(bus)
            #expect(try await events.nextArrival().sourceKey == Self.phonePath)
            #expect(logs.messages(.info, containing: "BlueZ is not running").count == 1)
            #expect(logs.messages(.error, containing: "").isEmpty)
            await connection.close()
        }
    }

    @Test("a hostile name (escape sequences, 64 KiB) arrives sanitized and bounded")
    func hostileName() async throws {
        try await Self.withWatchedAdapter { bus, events in
            let hostile = "\u{1B}[2J\u{1B}]0;pwned\u{07}evil\r\n" + String(repeating: "A\u{7F}\u{1B}", count: 64 * 1024 / 3)
            try await bus.addDevice(Self.phoneAddress, alias: hostile)
            try await bus.pairDevice(Self.phoneAddress)
            let arrival = try await events.nextArrival()
            let name = try #require(arrival.properties.string(PropertyKey.bluetoothName))
            #expect(name.utf8.count <= 512)
            #expect(!name.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
            #expect(name.contains("evil"))
            #expect(arrival.properties.string(PropertyKey.infoProduct).map { $0.utf8.count <= 512 } == true)
        }
    }

    @Test("SDP channels of a paired device's sync services are published as bluetooth.channel.* in a change")
    func syncChannels() async throws {
        let phone = BluetoothAddress(Self.phoneAddress)!
        let lookup = FakeSyncServiceLookup([
            phone: .success([
                SyncService(kind: .irmcSync, rfcommChannel: 11),
                SyncService(kind: .objectPush, rfcommChannel: 9),
                SyncService(kind: .objectPush, rfcommChannel: 12),
                SyncService(kind: .syncMLClient, rfcommChannel: 7),
            ])
        ])
        try await Self.withWatchedAdapter(lookup: lookup) { bus, events in
            try await Self.pairPhone(bus)
            let arrival = try await events.nextArrival()
            #expect(!arrival.properties.contains(PropertyKey.bluetoothChannelPrefix + "irmc-sync"))
            let found = try await events.nextChange()
            #expect(found.sourceKey == Self.phonePath)
            #expect(found.properties.int("bluetooth.channel.irmc-sync") == 11)
            #expect(found.properties.int("bluetooth.channel.obex-object-push") == 9, "the first record wins")
            #expect(found.properties.int("bluetooth.channel.syncml-client") == 7)
            #expect(!found.properties.contains("bluetooth.channel.pbap-pse"))
            #expect(lookup.addressesAsked == [phone])

            // Channels stay with later changes, and a change of unrelated properties does not look up again.
            try await bus.connectDevice(Self.phonePath)
            let connected = try await events.nextChange()
            #expect(connected.properties.int("bluetooth.channel.irmc-sync") == 11)
            #expect(lookup.addressesAsked == [phone])
        }
    }

    @Test("a device without sync UUIDs is not paged, and a failed lookup is logged and publishes no channels")
    func syncChannelFailures() async throws {
        let phone = BluetoothAddress(Self.phoneAddress)!
        let lookup = FakeSyncServiceLookup([phone: .failure(SDPLookupError(.unreachable, address: phone, reason: "out of range"))])
        let logs = LogRecords()
        try await Self.withWatchedAdapter(logs: logs, lookup: lookup) { bus, events in
            try await bus.addDevice(Self.pdaAddress, alias: "Tungsten T3")
            try await bus.update(Self.pdaPath, interface: BlueZ.deviceInterface, ["Paired": true])
            #expect(try await events.nextArrival().sourceKey == Self.pdaPath)

            try await Self.pairPhone(bus)
            #expect(try await events.nextArrival().sourceKey == Self.phonePath)
            let logged = await logs.first(.info, containing: "SDP lookup failed")
            #expect(logged != nil)
            #expect(lookup.addressesAsked == [phone], "the PDA lists no sync UUID, so it is not paged")
            // The barrier: the connection's change comes next, and it has no channels.
            try await bus.connectDevice(Self.phonePath)
            let connected = try await events.nextChange()
            #expect(connected.properties.bool(PropertyKey.bluetoothConnected) == true)
            #expect(!connected.properties.dictionary.keys.contains { $0.hasPrefix(PropertyKey.bluetoothChannelPrefix) })
        }
    }
}
