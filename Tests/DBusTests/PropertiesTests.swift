// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Properties and the object manager")
struct PropertiesTests {
    @Test("busctl reads a property and gdbus reads them all")
    func getAndGetAll() async throws {
        try await ExportedTestObject.with { fixture in
            let get = try await fixture.bus.busctl(
                "get-property", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "Version")
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.stdout == "u 7\n")
            let all = try await fixture.bus.gdbus(
                "call", "--dest", fixture.serverName, "--object-path", TestObject.path.rawValue, "--method",
                "org.freedesktop.DBus.Properties.GetAll", TestObject.interfaceName)
            #expect(all.status == 0, "\(all.stderr)")
            #expect(all.stdout.contains("'Name': <'initial'>"), "\(all.stdout)")
            #expect(all.stdout.contains("'Version': <uint32 7>"), "\(all.stdout)")
        }
    }

    @Test("Set changes a writable property and emits PropertiesChanged")
    func setEmitsChanged() async throws {
        try await ExportedTestObject.with { fixture in
            let watcher = try await fixture.bus.connect("watcher")
            let changes = try await watcher.signals(
                matching: DBusMatchRule(
                    sender: fixture.serverName, path: TestObject.path, interface: "org.freedesktop.DBus.Properties",
                    member: "PropertiesChanged"))
            let set = try await fixture.bus.busctl(
                "set-property", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "Name", "s",
                "renamed")
            #expect(set.status == 0, "\(set.stderr)")
            var iterator = changes.makeAsyncIterator()
            let signal = try #require(await iterator.next())
            let (interface, changed, invalidated) = try signal.arguments.decode(
                String.self, [String: DBusValue].self, [String].self)
            #expect(interface == TestObject.interfaceName)
            #expect(changed["Name"] == .string("renamed"))
            #expect(invalidated.isEmpty)
            let get = try await fixture.bus.busctl(
                "get-property", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "Name")
            #expect(get.stdout == "s \"renamed\"\n")
            await watcher.close()
        }
    }

    @Test("Set refuses read-only properties, wrong types and unknown properties")
    func setRefusals() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            func setError(_ name: String, _ value: DBusValue) async -> String? {
                do {
                    _ = try await client.call(
                        destination: fixture.serverName, path: TestObject.path,
                        interface: "org.freedesktop.DBus.Properties", member: "Set",
                        arguments: [.string(TestObject.interfaceName), .string(name), .variant(value)])
                    return nil
                } catch {
                    return (error as? DBusError)?.name
                }
            }
            #expect(await setError("Version", .uint32(8)) == DBusError.Name.propertyReadOnly)
            #expect(await setError("Name", .int32(8)) == DBusError.Name.invalidArgs)
            #expect(await setError("Missing", .int32(8)) == DBusError.Name.unknownProperty)
            await client.close()
        }
    }

    @Test("emitPropertiesChanged reaches a subscriber on another connection")
    func explicitPropertiesChanged() async throws {
        try await ExportedTestObject.with { fixture in
            let watcher = try await fixture.bus.connect("watcher")
            let changes = try await watcher.signals(
                matching: DBusMatchRule(path: TestObject.path, interface: "org.freedesktop.DBus.Properties"))
            try await fixture.server.emitPropertiesChanged(
                path: TestObject.path, interface: TestObject.interfaceName, changed: ["Version": .uint32(9)],
                invalidated: ["Name"])
            var iterator = changes.makeAsyncIterator()
            let signal = try #require(await iterator.next())
            #expect(signal.member == "PropertiesChanged")
            #expect(signal.arguments[1]["Version"] == .uint32(9))
            #expect(signal.arguments[2].arrayElements == [.string("Name")])
            await watcher.close()
        }
    }

    @Test("the object manager returns 1,000 objects and its children are introspectable")
    func objectManagerThousandObjects() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let manager = try DBusObjectPath("/org/example/Devices")
            await server.exportObjectManager(at: manager)
            for index in 0..<1000 {
                let device = DBusInterface(
                    "org.example.Device",
                    properties: [
                        DBusProperty("Index", type: .uint32, get: { .uint32(UInt32(index)) }),
                        DBusProperty("Name", type: .string, get: { .string("device \(index)") }),
                    ])
                try await server.export([device], at: manager.appending(escaping: "dev-\(index)"))
            }
            let name = await server.uniqueName
            let result = try await bus.busctl(
                "--json=short", "call", name, manager.rawValue, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
            #expect(result.status == 0, "\(result.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(json?["type"] as? String == "a{oa{sa{sv}}}")
            let objects = ((json?["data"] as? [Any])?.first as? [String: Any]) ?? [:]
            #expect(objects.count == 1000)
            let device = objects["/org/example/Devices/dev_2d42"] as? [String: [String: [String: Any]]]
            #expect(device?["org.example.Device"]?["Name"]?["data"] as? String == "device 42")

            let client = try await bus.connect("client")
            let xml = try await client.call(
                destination: name, path: manager, interface: "org.freedesktop.DBus.Introspectable", member: "Introspect"
            ).first?.string ?? ""
            #expect(xml.contains("<node name=\"dev_2d999\"/>"))
            #expect(xml.contains("org.freedesktop.DBus.ObjectManager"))
            await client.close()
            await server.close()
        }
    }

    @Test("exporting and unexporting below a manager emits InterfacesAdded and InterfacesRemoved")
    func interfacesAddedAndRemoved() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let manager = try DBusObjectPath("/org/example/Devices")
            await server.exportObjectManager(at: manager)
            let watcher = try await bus.connect("watcher")
            let signals = try await watcher.signals(
                matching: DBusMatchRule(path: manager, interface: "org.freedesktop.DBus.ObjectManager"))
            var iterator = signals.makeAsyncIterator()
            let path = manager.appending(escaping: "usb 1-2")
            try await server.export(
                [DBusInterface("org.example.Device", properties: [DBusProperty("Vendor", type: .string, get: { "Palm" })])],
                at: path)
            let added = try #require(await iterator.next())
            #expect(added.member == "InterfacesAdded")
            let (addedPath, interfaces) = try added.arguments.decode(
                DBusObjectPath.self, [String: [String: DBusValue]].self)
            #expect(addedPath == path)
            #expect(interfaces["org.example.Device"]?["Vendor"] == .string("Palm"))
            try await server.unexport(at: path)
            let removed = try #require(await iterator.next())
            #expect(removed.member == "InterfacesRemoved")
            #expect(try removed.arguments.decode(DBusObjectPath.self, [String].self) == (path, ["org.example.Device"]))
            await watcher.close()
            await server.close()
        }
    }

    @Test("InterfacesAdded of stored properties comes from the nearest manager and carries only the interfaces added")
    func interfacesAddedFromNearestManager() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let outer = try DBusObjectPath("/org/example")
            let inner = try DBusObjectPath("/org/example/Devices")
            await server.exportObjectManager(at: outer)
            await server.exportObjectManager(at: inner)
            let watcher = try await bus.connect("watcher")
            let signals = try await watcher.signals(
                matching: DBusMatchRule(interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesAdded"))
            var iterator = signals.makeAsyncIterator()
            let path = inner.appending(escaping: "usb 1-2")
            let device = DBusInterface("org.example.Device", properties: [
                DBusProperty("Vendor", type: .string, value: "Pa\u{0}lm"),
                DBusProperty("Interfaces", type: .array(.byte), value: .array(.byte, [.byte(8), .byte(255)])),
            ])
            try await server.export([device], at: path)
            let first = try #require(await iterator.next())
            #expect(first.path == inner)
            let (firstPath, interfaces) = try first.arguments.decode(DBusObjectPath.self, [String: [String: DBusValue]].self)
            #expect(firstPath == path)
            #expect(interfaces["org.example.Device"]?["Vendor"] == .string("Pa\u{FFFD}lm"))
            #expect(interfaces["org.example.Device"]?["Interfaces"] == .array(.byte, [.byte(8), .byte(255)]))
            let battery = DBusInterface("org.example.Battery", properties: [DBusProperty("Level", type: .uint32, value: .uint32(80))])
            try await server.export([device, battery], at: path)
            let second = try #require(await iterator.next())
            #expect(second.path == inner)
            let (_, added) = try second.arguments.decode(DBusObjectPath.self, [String: [String: DBusValue]].self)
            #expect(added == ["org.example.Battery": ["Level": .uint32(80)]])
            await watcher.close()
            await server.close()
        }
    }

    @Test("a deferred property is built when read, listed by GetManagedObjects and changed with setStoredProperties")
    func deferredStoredProperty() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let manager = try DBusObjectPath("/org/example/Devices")
            await server.exportObjectManager(at: manager)
            let path = manager.appending(escaping: "usb 1-3")
            let shared = DBusProperty("Model", type: .string, value: .string("unused")).emitting(.true)
            let device = DBusInterface("org.example.Device", properties: [
                shared.storing(.deferred { .string("Tungsten") }),
                DBusProperty("Serial", type: .string, value: .string("S1")).emitting(.const),
            ])
            try await server.export([device], at: path)
            let client = try await bus.connect("client")
            let name = await server.uniqueName
            let get = try await client.call(
                destination: name, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string("org.example.Device"), .string("Model")])
            #expect(get == [.variant(.string("Tungsten"))])
            let objects = try await client.call(
                destination: name, path: manager, interface: "org.freedesktop.DBus.ObjectManager",
                member: "GetManagedObjects", arguments: [])
            guard case .dictionary(_, _, let listed) = try #require(objects.first) else {
                Issue.record("GetManagedObjects did not return a dictionary")
                return
            }
            let entry = listed[.objectPath(path)]?.stringDictionary?["org.example.Device"]?.stringDictionary
            #expect(entry?["Model"] == .string("Tungsten"))
            let changes = try await client.signals(
                matching: DBusMatchRule(path: path, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
            var iterator = changes.makeAsyncIterator()
            let changed = try await server.setStoredProperties(
                ["Model": .deferred { .string("Zire") }], interface: "org.example.Device", at: path)
            #expect(changed == ["Model": .string("Zire")])
            let signal = try #require(await iterator.next())
            let (_, values, _) = try signal.arguments.decode(String.self, [String: DBusValue].self, [String].self)
            #expect(values == ["Model": .string("Zire")])
            let again = try await client.call(
                destination: name, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string("org.example.Device"), .string("Model")])
            #expect(again == [.variant(.string("Zire"))])
            // The declaration shared with `shared` keeps its name, type and annotation; the copy's value is its own.
            #expect(shared.value == .string("unused"))
            await client.close()
            await server.close()
        }
    }

    @Test("an export builds no deferred value: it is built when read")
    func exportLeavesDeferredValuesUnbuilt() async throws {
        final class Counter: Sendable { let value = Atomic<Int>(0) }
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let path = try DBusObjectPath("/org/example/Device")
            let builds = Counter()
            let device = DBusInterface("org.example.Device", properties: [
                DBusProperty("Model", type: .string, stored: .deferred {
                    builds.value.add(1, ordering: .relaxed)
                    return .string("Tungsten")
                }),
            ])
            try await server.export([device], at: path)
            #expect(builds.value.load(ordering: .relaxed) == 0, "exporting (and announcing) built no deferred value")
            let client = try await bus.connect("client")
            let name = await server.uniqueName
            let get = try await client.call(
                destination: name, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string("org.example.Device"), .string("Model")])
            #expect(get == [.variant(.string("Tungsten"))])
            #expect(builds.value.load(ordering: .relaxed) == 1)
            await client.close()
            await server.close()
        }
    }

    @Test("an export's announcement goes out before its InterfacesAdded")
    func announcementBeforeInterfacesAdded() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let manager = try DBusObjectPath("/org/example/Devices")
            await server.exportObjectManager(at: manager)
            let watcher = try await bus.connect("watcher")
            let signals = try await watcher.signals(matching: DBusMatchRule(path: manager))
            var iterator = signals.makeAsyncIterator()
            let path = manager.appending(escaping: "usb 1-4")
            try await server.export(
                [DBusInterface("org.example.Device", properties: [DBusProperty("Vendor", type: .string, value: .string("Palm"))])],
                at: path,
                announcement: DBusSignalEmission(
                    path: manager, interface: "org.example.Manager", member: "DeviceAdded", arguments: [.objectPath(path)]))
            let first = try #require(await iterator.next())
            let second = try #require(await iterator.next())
            #expect(first.member == "DeviceAdded")
            #expect(second.member == "InterfacesAdded")
            await watcher.close()
            await server.close()
        }
    }
}
