// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Testing

@Suite("Stored properties and the kept GetManagedObjects reply")
struct StoredPropertiesTests {
    static let manager = try! DBusObjectPath("/org/example/Devices")
    static let interfaceName = "org.example.Device"

    static func device(name: String, tags: [String] = ["a", "b"]) -> DBusInterface {
        DBusInterface(
            interfaceName,
            properties: [
                DBusProperty("Name", type: .string, value: .string(name)),
                DBusProperty("Tags", type: "as", value: .strings(tags)),
                DBusProperty("Extra", type: "a{sv}", value: .vardict(["n": .int32(1), "big": .uint64(.max)])),
                DBusProperty("Slots", type: "a(sb)", value: .array(.structure([.string, .boolean]), [.structure([.string("x"), .bool(true)])])),
            ])
    }

    /// GetManagedObjects as the binding's client decodes it: path → interface → properties.
    static func managedObjects(_ client: DBusConnection, _ server: String) async throws -> [DBusObjectPath: [String: [String: DBusValue]]] {
        let reply = try await client.call(
            destination: server, path: manager, interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
        return try reply.decode([DBusObjectPath: [String: [String: DBusValue]]].self)
    }

    @Test("a stored property changed with setProperties shows in Get, GetAll and GetManagedObjects and is signalled")
    func changeIsSeenEverywhere() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            await server.exportObjectManager(at: Self.manager)
            let first = Self.manager.appending(escaping: "one")
            let second = Self.manager.appending(escaping: "two")
            try await server.export([Self.device(name: "first")], at: first)
            try await server.export([Self.device(name: "second")], at: second)
            let name = await server.uniqueName
            let client = try await bus.connect("client")
            let before = try await Self.managedObjects(client, name)
            #expect(before[first]?[Self.interfaceName]?["Name"] == .string("first"))
            #expect(before[second]?[Self.interfaceName]?["Extra"] == .vardict(["n": .int32(1), "big": .uint64(.max)]))
            #expect(before[second]?[Self.interfaceName]?["Slots"]?.arrayElements == [.structure([.string("x"), .bool(true)])])

            let changes = try await client.signals(
                matching: DBusMatchRule(sender: name, path: first, interface: "org.freedesktop.DBus.Properties"))
            var iterator = changes.makeAsyncIterator()
            let changed = try await server.setProperties(
                ["Name": .string("renamed"), "Tags": .strings(["a", "b"])], interface: Self.interfaceName, at: first)
            #expect(changed == ["Name": .string("renamed")], "an unchanged value is not reported")
            let signal = try #require(await iterator.next())
            let (interface, values, invalidated) = try signal.arguments.decode(String.self, [String: DBusValue].self, [String].self)
            #expect(interface == Self.interfaceName)
            #expect(values == ["Name": .string("renamed")])
            #expect(invalidated.isEmpty)

            let after = try await Self.managedObjects(client, name)
            #expect(after[first]?[Self.interfaceName]?["Name"] == .string("renamed"))
            #expect(after[second]?[Self.interfaceName]?["Name"] == .string("second"))
            let get = try await bus.busctl("get-property", name, first.rawValue, Self.interfaceName, "Name")
            #expect(get.stdout == "s \"renamed\"\n", "\(get.stderr)")
            let all = try await bus.gdbus(
                "call", "--dest", name, "--object-path", first.rawValue, "--method",
                "org.freedesktop.DBus.Properties.GetAll", Self.interfaceName)
            #expect(all.stdout.contains("'Name': <'renamed'>"), "\(all.stdout) \(all.stderr)")

            try await server.unexport(at: second)
            #expect(try await Self.managedObjects(client, name).keys.sorted() == [first])
            try await server.export([Self.device(name: "back")], at: second)
            #expect(try await Self.managedObjects(client, name)[second]?[Self.interfaceName]?["Name"] == .string("back"))
            await client.close()
            await server.close()
        }
    }

    @Test("setProperties refuses unknown objects and properties, getter properties and wrong types, changing nothing")
    func refusals() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let path = try DBusObjectPath("/org/example/Mixed")
            let interface = DBusInterface(
                Self.interfaceName,
                properties: [
                    DBusProperty("Name", type: .string, value: "stored"),
                    DBusProperty("Computed", type: .uint32, get: { .uint32(3) }),
                ])
            try await server.export([interface], at: path)
            func refusal(_ values: [String: DBusValue], at target: DBusObjectPath = path) async -> String? {
                do {
                    try await server.setProperties(values, interface: Self.interfaceName, at: target)
                    return nil
                } catch {
                    return error.name
                }
            }
            #expect(await refusal(["Name": .string("new"), "Missing": .bool(true)]) == DBusError.Name.unknownProperty)
            #expect(await refusal(["Name": .string("new"), "Computed": .uint32(4)]) == DBusError.Name.invalidArgs)
            #expect(await refusal(["Name": .uint32(4)]) == DBusError.Name.invalidArgs)
            #expect(await refusal(["Name": .string("new")], at: try DBusObjectPath("/nowhere")) == DBusError.Name.unknownObject)
            let get = try await bus.busctl("get-property", await server.uniqueName, path.rawValue, Self.interfaceName, "Name")
            #expect(get.stdout == "s \"stored\"\n", "\(get.stderr)")
            await #expect(throws: DBusError.self) {
                try await server.export(
                    [DBusInterface(Self.interfaceName, properties: [DBusProperty("Name", type: .string, value: .bool(true))])],
                    at: path)
            }
            await server.close()
        }
    }

    @Test("hostile strings in stored properties reach libdbus and sd-bus clients as valid UTF-8")
    func hostileStrings() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            await server.exportObjectManager(at: Self.manager)
            let path = Self.manager.appending(escaping: TestObject.hostileText)
            try await server.export([Self.device(name: TestObject.hostileText, tags: [TestObject.hostileText])], at: path)
            let name = await server.uniqueName
            let client = try await bus.connect("client")
            let objects = try await Self.managedObjects(client, name)
            #expect(objects[path]?[Self.interfaceName]?["Name"] == .string(TestObject.hostileTextSent))
            #expect(objects[path]?[Self.interfaceName]?["Tags"] == .strings([TestObject.hostileTextSent]))
            let result = try await bus.busctl(
                "--json=short", "call", name, Self.manager.rawValue, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
            #expect(result.status == 0, "\(result.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let all = ((json?["data"] as? [Any])?.first as? [String: [String: [String: [String: Any]]]]) ?? [:]
            #expect(all[path.rawValue]?[Self.interfaceName]?["Name"]?["data"] as? String == TestObject.hostileTextSent)
            await client.close()
            await server.close()
        }
    }
    @Test("EmitsChangedSignal is introspected and followed: invalidates names the property, false stays quiet, const refuses a change")
    func emitsChangedSignal() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let path = try DBusObjectPath("/org/example/Annotated")
            try await server.export(
                [DBusInterface(
                    Self.interfaceName,
                    properties: [
                        DBusProperty("Id", type: .string, value: .string("a")).emitting(.const),
                        DBusProperty("Level", type: .uint32, value: .uint32(1)).emitting(.true),
                        DBusProperty("Blob", type: "ay", value: .array(.byte, [])).emitting(.invalidates),
                        DBusProperty("Clock", type: .uint64, value: .uint64(0)).emitting(.false),
                        DBusProperty("Plain", type: .boolean, value: .bool(false)),
                    ])],
                at: path)
            let name = await server.uniqueName
            let client = try await bus.connect("client")
            let xml = try await client.call(
                destination: name, path: path, interface: "org.freedesktop.DBus.Introspectable", member: "Introspect"
            ).first?.string ?? ""
            for (property, value) in [("Id", "const"), ("Level", "true"), ("Blob", "invalidates"), ("Clock", "false")] {
                let annotation = """
                    <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="\(value)"/>
                    """
                let declaration = xml.components(separatedBy: "<property name=\"\(property)\"").last ?? ""
                #expect(declaration.prefix(200).contains(annotation), "\(property): \(xml)")
            }
            #expect(!(xml.components(separatedBy: "<property name=\"Plain\"").last ?? "").prefix(60).contains("annotation"))

            let changes = try await client.signals(
                matching: DBusMatchRule(sender: name, path: path, interface: "org.freedesktop.DBus.Properties"))
            var iterator = changes.makeAsyncIterator()
            let changed = try await server.setProperties(
                ["Id": .string("a"), "Level": .uint32(2), "Blob": .array(.byte, [.byte(1)]), "Clock": .uint64(5),
                 "Plain": .bool(true)],
                interface: Self.interfaceName, at: path)
            #expect(Set(changed.keys) == ["Level", "Blob", "Clock", "Plain"])
            let signal = try #require(await iterator.next())
            let (_, values, invalidated) = try signal.arguments.decode(String.self, [String: DBusValue].self, [String].self)
            #expect(values == ["Level": .uint32(2), "Plain": .bool(true)])
            #expect(invalidated == ["Blob"])
            await #expect(throws: DBusError.self) {
                try await server.setProperties(["Id": .string("b")], interface: Self.interfaceName, at: path)
            }
            let id = try await client.call(
                destination: name, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string(Self.interfaceName), .string("Id")])
            #expect(id.first?.unwrapped == .string("a"))
            await client.close()
            await server.close()
        }
    }
}
