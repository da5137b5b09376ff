// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DeviceRegistry
import DevsyncTestSupport
import Foundation
import Testing

@Suite("What the broker puts on the wire", .timeLimit(.minutes(1)))
struct BrokerWireTests {
    @Test("hostile device strings (control characters, NUL, 64 KiB) arrive as valid, bounded text")
    func hostileStrings() async throws {
        let huge = String(repeating: "é", count: 32 * 1024)
        let hostile = "Palm\u{1B}[2J\u{0}\u{7}\u{85}OS"
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(
                serial: "H1", vendor: hostile, model: huge,
                extra: ["info.product": .string("a\u{0}b"), "usb.interfaces": .strlist([hostile, huge])]))
            let vendor = try await broker.bus.busctl(
                "--json=short", "get-property", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface,
                "Vendor")
            #expect(vendor.status == 0, "\(vendor.stderr)")
            let vendorJSON = try JSONSerialization.jsonObject(with: Data(vendor.stdout.utf8)) as? [String: Any]
            #expect(vendorJSON?["data"] as? String == DeviceText.sanitize(hostile))
            #expect(vendorJSON?["data"] as? String == "Palm\u{FFFD}[2J\u{FFFD}\u{FFFD}\u{FFFD}OS")

            let model = try await broker.deviceProperty(path, "Model").string ?? ""
            #expect(model.utf8.count <= DeviceText.maximumStringBytes)
            #expect(model.allSatisfy { $0 == "é" } && !model.isEmpty)

            let all = try await broker.bus.busctl(
                "--json=short", "get-property", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface,
                "Properties")
            #expect(all.status == 0, "\(all.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [String: Any]
            let entries = try #require(object?["data"] as? [String: [String: Any]])
            #expect(entries["info.product"]?["data"] as? String == "a\u{FFFD}b")
            let interfaces = entries["usb.interfaces"]?["data"] as? [String]
            #expect(interfaces?.first == DeviceText.sanitize(hostile))
            #expect(interfaces?.last?.utf8.count ?? .max <= DeviceText.maximumStringBytes)
        }
    }

    @Test("a device whose uid needs escaping gets a valid path that names it back")
    func escapedUid() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "A b/ü\u{0}"))
            #expect(DBusObjectPath.isValid(path.rawValue))
            let uid = try await broker.deviceProperty(path, "Uid").string ?? ""
            #expect(path == BrokerContract.devicePath(uid: uid))
            #expect(DBusObjectPath.unescapeElement(path.lastElement ?? "") == uid)
        }
    }

    @Test("1,000 devices come back correctly from GetManagedObjects")
    func thousandDevices() async throws {
        try await withBroker { broker in
            let serials = (0..<1000).map { String(format: "SN%04d", $0) }
            for serial in serials { await broker.registry.handle(.arrived(TestDevice.observation(serial: serial))) }
            _ = await broker.signals.wait(for: 1000) { $0.isSignal(BrokerContract.managerInterface, "DeviceAdded") }
            let reply = try await broker.call(
                BrokerContract.managerPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
            guard case .dictionary(_, _, let objects) = try #require(reply.first) else {
                Issue.record("GetManagedObjects did not return a dictionary")
                return
            }
            #expect(objects.count == 1000)
            for serial in serials {
                let path = TestDevice.path(serial: serial)
                let interfaces = objects[.objectPath(path)]?.stringDictionary
                let device = interfaces?[BrokerContract.deviceInterface]?.stringDictionary
                #expect(device?["Uid"] == .string(TestDevice.uid(serial: serial)))
                #expect(device?.count == 17)
            }

            // The reply is kept between calls; a change to one device must show in the next one.
            await broker.registry.handle(.changed(TestDevice.observation(serial: "SN0042", vendor: "Changed")))
            _ = await broker.signals.wait {
                $0.isSignal("org.freedesktop.DBus.Properties", "PropertiesChanged", path: TestDevice.path(serial: "SN0042"))
            }
            let again = try await broker.call(
                BrokerContract.managerPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
            guard case .dictionary(_, _, let objectsAgain) = try #require(again.first) else {
                Issue.record("GetManagedObjects did not return a dictionary")
                return
            }
            func vendor(_ serial: String) -> DBusValue? {
                objectsAgain[.objectPath(TestDevice.path(serial: serial))]?[BrokerContract.deviceInterface]?["Vendor"]
            }
            #expect(vendor("SN0042") == .string("Changed"))
            #expect(vendor("SN0043") == .string("Palm"))
        }
    }
}
