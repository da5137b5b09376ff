// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DevsyncTestSupport
import DeviceRegistry
import Foundation
import Testing

@Suite("Reading the broker: Manager, devices and properties", .timeLimit(.minutes(1)))
struct BrokerReadingTests {
    @Test("the Manager reports Version 1, the approval policy and the daemon's version")
    func managerProperties() async throws {
        try await withBroker(policy: .auto) { broker in
            let version = try await broker.bus.busctl(
                "get-property", BrokerContract.busName, BrokerContract.managerPath.rawValue,
                BrokerContract.managerInterface, "Version")
            #expect(version.stdout == "u 1\n", "\(version.stderr)")
            let policy = try await broker.property(BrokerContract.managerPath, BrokerContract.managerInterface, "Policy")
            #expect(policy == .string("auto"))
            let daemonVersion = try await broker.bus.busctl(
                "get-property", BrokerContract.busName, BrokerContract.managerPath.rawValue,
                BrokerContract.managerInterface, "DaemonVersion")
            #expect(daemonVersion.stdout == "s \"\(BrokerFixture.daemonVersion)\"\n", "\(daemonVersion.stderr)")
        }
    }

    @Test("ListDevices returns every device path, through busctl and gdbus")
    func listDevices() async throws {
        try await withBroker { broker in
            await broker.arrive(TestDevice.observation(serial: "B2"))
            await broker.arrive(TestDevice.observation(serial: "A1"))
            let busctl = try await broker.bus.busctl(
                "call", BrokerContract.busName, BrokerContract.managerPath.rawValue, BrokerContract.managerInterface,
                "ListDevices")
            #expect(busctl.stdout == "ao 2 \"\(TestDevice.path(serial: "A1"))\" \"\(TestDevice.path(serial: "B2"))\"\n", "\(busctl.stderr)")
            let gdbus = try await broker.bus.gdbus(
                "call", "--dest", BrokerContract.busName, "--object-path", BrokerContract.managerPath.rawValue,
                "--method", "\(BrokerContract.managerInterface).ListDevices")
            #expect(gdbus.stdout == "([objectpath '\(TestDevice.path(serial: "A1"))', '\(TestDevice.path(serial: "B2"))'],)\n", "\(gdbus.stderr)")
        }
    }

    @Test("a device's path is its uid escaped into one element")
    func devicePath() {
        #expect(BrokerContract.devicePath(uid: "bt-00:11:22:33:44:55").rawValue
            == "/org/devsync/Broker1/devices/bt_2d00_3a11_3a22_3a33_3a44_3a55")
        #expect(TestDevice.path(serial: "A1").rawValue == "/org/devsync/Broker1/devices/usb_2d0830_2d0060_2dA1")
    }

    @Test("DeviceByUid finds a device by uid or unique prefix, else NoSuchDevice")
    func deviceByUid() async throws {
        try await withBroker { broker in
            await broker.arrive(TestDevice.observation(serial: "AAA1"))
            await broker.arrive(TestDevice.observation(serial: "AAB2"))
            let exact = try await broker.call(
                BrokerContract.managerPath, BrokerContract.managerInterface, "DeviceByUid",
                [.string(TestDevice.uid(serial: "AAA1"))])
            #expect(exact == [.objectPath(TestDevice.path(serial: "AAA1"))])
            let prefix = try await broker.bus.gdbus(
                "call", "--dest", BrokerContract.busName, "--object-path", BrokerContract.managerPath.rawValue,
                "--method", "\(BrokerContract.managerInterface).DeviceByUid", "usb-0830-0060-AAB")
            #expect(prefix.stdout == "(objectpath '\(TestDevice.path(serial: "AAB2"))',)\n", "\(prefix.stderr)")
            let ambiguous = try await broker.bus.busctl(
                "call", BrokerContract.busName, BrokerContract.managerPath.rawValue, BrokerContract.managerInterface,
                "DeviceByUid", "s", "usb-0830-0060-AA")
            #expect(ambiguous.status != 0)
            #expect(ambiguous.stderr.contains("2 devices have a uid starting with"), "\(ambiguous.stderr)")
            let unknown = await errorName {
                _ = try await broker.call(
                    BrokerContract.managerPath, BrokerContract.managerInterface, "DeviceByUid", [.string("bt-nothing")])
            }
            #expect(unknown == "org.devsync.Broker1.Error.NoSuchDevice")
        }
    }

    @Test("a device object carries every contract property with its type")
    func deviceProperties() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "P1"))
            let all = try await broker.call(
                path, "org.freedesktop.DBus.Properties", "GetAll", [.string(BrokerContract.deviceInterface)])
            let properties = try #require(all.first?.stringDictionary)
            #expect(properties["Uid"] == .string("usb-0830-0060-P1"))
            #expect(properties["Vendor"] == .string("Palm"))
            #expect(properties["Model"] == .string("Tungsten T"))
            #expect(properties["Kind"] == .string("pda"))
            #expect(properties["Transport"] == .string("usb"))
            #expect(properties["Plugin"] == .string("palm-sync"))
            #expect(properties["DataTypes"] == .strings(["contacts", "calendar"]))
            #expect(properties["Owner"] == .string(""))
            #expect(properties["SuggestedOwner"] == .string(""))
            #expect(properties["Status"] == .string("pending"))
            #expect(properties["Present"] == .bool(true))
            #expect(properties["StableId"] == .bool(true))
            #expect(properties["FirstSeen"] == .uint64(1_700_000_000))
            #expect(properties["LastSeen"] == .uint64(1_700_000_000))
            #expect(properties["Profile"] == .string("test.fdi:7"))
            #expect(properties["Actions"]?.signature == "a(ssasb)")
            let actions = try #require(properties["Actions"]?.arrayElements)
            #expect(actions.map { $0.structureFields?[0].string } == ["sync-contacts", "sync-calendar", "sync-all"])
            #expect(actions.map { $0.structureFields?[3].bool } == [false, false, false])
            let typed = try #require(properties["Properties"]?.stringDictionary)
            #expect(typed["usb.vendor_id"] == .int32(0x0830))
            #expect(typed["usb.max_power"] == .uint64(500))
            #expect(typed["sync.ignore"] == .bool(false))
            #expect(typed["usb.speed"] == .double(12))
            #expect(typed["sync.datatypes"] == .strings(["contacts", "calendar"]))
            #expect(typed["usb.serial"] == .string("P1"))
            #expect(properties.count == 17)

            let busctl = try await broker.bus.busctl(
                "get-property", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Actions")
            #expect(busctl.stdout.hasPrefix("a(ssasb) 3 \"sync-contacts\" \"Sync contacts\" 1 \"contacts\" false"), "\(busctl.stdout)\(busctl.stderr)")
        }
    }

    @Test("a call with the wrong signature gets the standard InvalidArgs")
    func wrongSignature() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "W1"))
            let result = try await broker.bus.busctl(
                "call", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Approve", "s", "root")
            #expect(result.status != 0)
            #expect(result.stderr.contains("a{sv}"), "\(result.stderr)")
            let name = await errorName {
                _ = try await broker.call(BrokerContract.managerPath, BrokerContract.managerInterface, "DeviceByUid", [.int32(3)])
            }
            #expect(name == DBusError.Name.invalidArgs)
        }
    }

    @Test("a call on a device that is gone gets UnknownObject")
    func unknownDevice() async throws {
        try await withBroker { broker in
            let name = await errorName {
                _ = try await broker.call(
                    TestDevice.path(serial: "NOPE"), BrokerContract.deviceInterface, "Reject", [.vardict([:])])
            }
            #expect(name == DBusError.Name.unknownObject)
        }
    }

    @Test("a second broker is told clearly that the name is taken")
    func nameTaken() async throws {
        try await withBroker { broker in
            let other = try await broker.bus.connect("second")
            await #expect {
                try await BrokerService.requestBusName(on: other)
            } throws: { error in
                guard let error = error as? BrokerError else { return false }
                return error.code == .nameTaken && error.message.contains("already owned by process")
            }
            await other.close()
        }
    }
}
