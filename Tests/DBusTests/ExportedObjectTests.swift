// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import FoundationXML
import Testing

@Suite("Exported objects answer real clients")
struct ExportedObjectTests {
    @Test("busctl calls a method with the right signature and gets the reply")
    func methodCall() async throws {
        try await ExportedTestObject.with { fixture in
            let result = try await fixture.bus.busctl(
                "call", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "Greet", "sa{sv}",
                "world", "1", "punctuation", "s", "?")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "s \"Hello, world?\"\n")
        }
    }

    @Test("gdbus calls a method and gets the reply")
    func gdbusCall() async throws {
        try await ExportedTestObject.with { fixture in
            let result = try await fixture.bus.gdbus(
                "call", "--dest", fixture.serverName, "--object-path", TestObject.path.rawValue, "--method",
                "\(TestObject.interfaceName).Greet", "gdbus", "{'punctuation': <'.'>}")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "('Hello, gdbus.',)\n")
        }
    }

    @Test("a call with the wrong signature gets InvalidArgs with a sentence")
    func wrongSignature() async throws {
        try await ExportedTestObject.with { fixture in
            let result = try await fixture.bus.busctl(
                "call", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "Greet", "i", "3")
            #expect(result.status != 0)
            #expect(
                result.stderr.contains("takes arguments of signature 'sa{sv}', but the call carried 'i'"),
                "\(result.stderr)")
            let client = try await fixture.bus.connect("client")
            await #expect {
                _ = try await client.callTestObject(fixture, "Greet", [.int32(3)])
            } throws: { ($0 as? DBusError)?.name == DBusError.Name.invalidArgs }
            await client.close()
        }
    }

    @Test("an unknown method, interface or object gets the standard error")
    func unknownMethod() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            func errorName(_ path: DBusObjectPath, _ interface: String, _ member: String) async -> String? {
                do {
                    _ = try await client.call(
                        destination: fixture.serverName, path: path, interface: interface, member: member)
                    return nil
                } catch {
                    return (error as? DBusError)?.name
                }
            }
            #expect(await errorName(TestObject.path, TestObject.interfaceName, "Nope") == DBusError.Name.unknownMethod)
            #expect(await errorName(TestObject.path, "org.example.Other", "Greet") == DBusError.Name.unknownInterface)
            #expect(
                await errorName(try DBusObjectPath("/nowhere"), TestObject.interfaceName, "Greet")
                    == DBusError.Name.unknownObject)
            await client.close()
            let result = try await fixture.bus.busctl(
                "call", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "Nope")
            #expect(result.stderr.contains("has no method 'Nope'"), "\(result.stderr)")
        }
    }

    @Test("a handler's DBusError reaches the caller with its name and sentence")
    func namedError() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            do {
                _ = try await client.callTestObject(fixture, "Fail")
                Issue.record("the call should fail")
            } catch let error as DBusError {
                #expect(error == DBusError(name: "org.example.Error.Broken", message: "it broke on purpose"))
            }
            await client.close()
            let result = try await fixture.bus.gdbus(
                "call", "--dest", fixture.serverName, "--object-path", TestObject.path.rawValue, "--method",
                "\(TestObject.interfaceName).Fail")
            #expect(result.status != 0)
            #expect(result.stderr.contains("org.example.Error.Broken"), "\(result.stderr)")
        }
    }

    @Test("introspection lists declared methods, properties, signals, the standard interfaces and children")
    func introspection() async throws {
        try await ExportedTestObject.with { fixture in
            let result = try await fixture.bus.busctl("introspect", fixture.serverName, TestObject.path.rawValue)
            #expect(result.status == 0, "\(result.stderr)")
            for expected in [
                "org.example.Test", ".Greet", "sa{sv}", ".Name", "writable", ".Version", ".Poked",
                "org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer",
            ] {
                #expect(result.stdout.contains(expected), "\(expected)")
            }
            let client = try await fixture.bus.connect("client")
            let xml = try await client.call(
                destination: fixture.serverName, path: try DBusObjectPath("/org/example"),
                interface: "org.freedesktop.DBus.Introspectable", member: "Introspect"
            ).first?.string ?? ""
            await client.close()
            let document = try XMLDocument(xmlString: xml)
            let children = try document.nodes(forXPath: "/node/node/@name").compactMap { $0.stringValue }
            #expect(children == ["Test"])
        }
    }

    @Test("introspection XML escapes hostile argument names")
    func introspectionEscaping() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let hostile = "a<b>&\"c'"
            try await server.export(
                [DBusInterface("org.example.Hostile", methods: [DBusMethod("M", inputs: [DBusArgument(hostile, .string)]) { _ in [] }])],
                at: try DBusObjectPath("/h"))
            let client = try await bus.connect("client")
            let xml = try await client.call(
                destination: await server.uniqueName, path: try DBusObjectPath("/h"),
                interface: "org.freedesktop.DBus.Introspectable", member: "Introspect"
            ).first?.string ?? ""
            let document = try XMLDocument(xmlString: xml)
            let names = try document.nodes(forXPath: "//method[@name='M']/arg/@name").compactMap { $0.stringValue }
            #expect(names == [hostile])
            await client.close()
            await server.close()
        }
    }

    @Test("gdbus pings the object through org.freedesktop.DBus.Peer")
    func ping() async throws {
        try await ExportedTestObject.with { fixture in
            let result = try await fixture.bus.gdbus(
                "call", "--dest", fixture.serverName, "--object-path", TestObject.path.rawValue, "--method",
                "org.freedesktop.DBus.Peer.Ping")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "()\n")
        }
    }

    @Test("an invalid interface name is refused at export")
    func invalidInterfaceName() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            await #expect(throws: DBusError.self) {
                try await server.export([DBusInterface("not-an-interface")], at: .root)
            }
            await server.close()
        }
    }
}
